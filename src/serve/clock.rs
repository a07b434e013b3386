//! HTTP dates for response heads, formatted at most once per second per loop thread: the Date
//! field of every response and the last Last-Modified seen. The only serve module besides the
//! I/O shells that reads the clock (`http_date_now`); the decisions in `reply` take times as
//! arguments.

use std::cell::RefCell;
use std::thread::LocalKey;
use std::time::{SystemTime, UNIX_EPOCH};

thread_local! {
    /// The Date value of the current second: formatting once per second per thread keeps
    /// date formatting off the per-request path.
    static DATE_CACHE: RefCell<(i64, String)> = const { RefCell::new((i64::MIN, String::new())) };
    /// The last Last-Modified formatted: a hot file is asked for again and again.
    static MODIFIED_CACHE: RefCell<(i64, String)> = const { RefCell::new((i64::MIN, String::new())) };
}

/// `SystemTime` as an IMF-fixdate (Last-Modified), cached for the last second seen.
pub fn http_date(t: SystemTime) -> String {
    format_cached(&MODIFIED_CACHE, t)
}

/// The Date header value for `now` (RFC 9110 §6.6.1), cached per second.
pub fn http_date_at(now: SystemTime) -> String {
    format_cached(&DATE_CACHE, now)
}

/// The Date header value for the current time (RFC 9110 §6.6.1), cached per second.
pub fn http_date_now() -> String {
    http_date_at(SystemTime::now())
}

/// Whole seconds since the epoch, negative before it: HTTP dates have one-second resolution
/// (RFC 9110 §5.6.7), so validators are compared at that resolution, never in nanoseconds.
pub fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs_f64().ceil() as i64),
    }
}

/// `t` as an IMF-fixdate (RFC 9110 §5.6.7), formatted only when its second differs from the
/// one `cache` holds.
fn format_cached(cache: &'static LocalKey<RefCell<(i64, String)>>, t: SystemTime) -> String {
    let secs = unix_secs(t);
    cache.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.0 != secs {
            *cache = (secs, httpdate::fmt_http_date(t));
        }
        cache.1.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const LM: &str = "Sun, 06 Nov 1994 08:49:37 GMT";

    #[test]
    fn dates_are_imf_fixdate() {
        let t = httpdate::parse_http_date(LM).unwrap();
        assert_eq!(http_date(t), LM);
        let now = http_date_now();
        assert!(httpdate::parse_http_date(&now).is_ok(), "{now}");
        assert_eq!(http_date_at(t + Duration::from_millis(999)), LM);
    }

    #[test]
    fn the_cache_follows_the_second() {
        let t = httpdate::parse_http_date(LM).unwrap();
        assert_eq!(http_date_at(t), LM);
        let next = http_date_at(t + Duration::from_secs(1));
        assert_eq!(next, "Sun, 06 Nov 1994 08:49:38 GMT");
        assert_eq!(http_date_at(t), LM, "an earlier second is formatted again");
    }

    #[test]
    fn seconds_round_towards_the_past() {
        let table: &[(SystemTime, i64)] = &[
            (UNIX_EPOCH, 0),
            (UNIX_EPOCH + Duration::from_millis(1500), 1),
            (UNIX_EPOCH - Duration::from_millis(1), -1),
            (UNIX_EPOCH - Duration::from_secs(2), -2),
        ];
        for (t, want) in table {
            assert_eq!(unix_secs(*t), *want, "{t:?}");
        }
    }
}
