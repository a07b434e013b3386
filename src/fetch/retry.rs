//! Retry decisions for `--retry`, as pure functions: which failures are transient, how long to
//! wait before the next attempt (exponential backoff with jitter, or `Retry-After`), and whether
//! another attempt still fits. No sleeping and no I/O here: `transfer` applies the answers.

use std::time::{Duration, SystemTime};

use crate::Error;

/// First backoff step (curl's: 1 s, doubling).
pub const FIRST_DELAY: Duration = Duration::from_secs(1);
/// Longest backoff step (curl caps its doubling at 10 minutes).
pub const MAX_DELAY: Duration = Duration::from_secs(600);

/// How a transfer retries (`--retry N`, `--retry-delay`, `--retry-max-time`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 = none).
    pub max_retries: u32,
    /// A fixed wait between attempts instead of the exponential backoff (curl's
    /// `--retry-delay`).
    pub fixed_delay: Option<Duration>,
    /// No retry starts after this long since the first attempt (`--retry-max-time`).
    pub max_time: Option<Duration>,
}

/// HTTP statuses worth another try: 408 Request Timeout, 429 Too Many Requests (RFC 6585 §4),
/// and the 5xx that describe a passing state of the server or a gateway (curl's set).
pub(crate) fn is_transient_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// Failures that may go away by themselves: name resolution, connecting, timeouts, resets,
/// truncation (18), an empty reply, and the transient statuses. Never TLS trust, usage, file
/// or framing errors: repeating them gives the same answer.
pub(crate) fn is_transient(error: &Error) -> bool {
    match error {
        Error::AtUrl { error, .. } => is_transient(error),
        Error::Resolve { .. }
        | Error::Connect(_)
        | Error::Timeout(_)
        | Error::Truncated { .. }
        | Error::EmptyReply
        | Error::Receive(_) => true,
        Error::HttpStatus(status) => is_transient_status(*status),
        // A proxy that dropped the CONNECT, or answered 502/503/504, may do better later; a
        // 407 (credentials) or 403 (policy) will not change by itself.
        Error::ProxyTunnel { status, .. } => status.is_none_or(is_transient_status),
        _ => false,
    }
}

/// The wait before retry number `retry` (0-based): `Retry-After` when the server gave one
/// (RFC 9110 §10.2.3), else the fixed delay, else 1 s doubling per retry up to 10 minutes,
/// scaled by `jitter` in [0, 1) into the upper half of the step ("equal jitter"), so many
/// clients failing together do not come back together.
pub fn next_delay(
    policy: &RetryPolicy,
    retry: u32,
    retry_after: Option<Duration>,
    jitter: f64,
) -> Duration {
    if let Some(wait) = retry_after {
        return wait.min(MAX_DELAY);
    }
    if let Some(fixed) = policy.fixed_delay {
        return fixed;
    }
    let step = FIRST_DELAY
        .checked_mul(1u32.checked_shl(retry).unwrap_or(u32::MAX))
        .unwrap_or(MAX_DELAY)
        .min(MAX_DELAY);
    let jitter = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        0.0
    };
    step.mul_f64(0.5 + jitter / 2.0)
}

/// Whether retry number `retry` (0-based) may start after waiting `delay`, `elapsed` after
/// the first attempt began.
pub fn may_retry(policy: &RetryPolicy, retry: u32, elapsed: Duration, delay: Duration) -> bool {
    if retry >= policy.max_retries {
        return false;
    }
    match policy.max_time {
        Some(limit) => elapsed.saturating_add(delay) <= limit,
        None => true,
    }
}

/// `Retry-After` as a wait: delay-seconds or an HTTP date (RFC 9110 §10.2.3), relative to
/// `now`. A date in the past is no wait; anything unparsable is ignored (`None`).
pub fn parse_retry_after(value: &[u8], now: SystemTime) -> Option<Duration> {
    let text = std::str::from_utf8(value).ok()?.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(text.parse().unwrap_or(u64::MAX)));
    }
    let when = httpdate::parse_http_date(text).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A number in [0, 1) that differs between calls, for jitter: no randomness crate needed for
/// this, the standard library's per-process random hasher keys are enough.
pub fn jitter() -> f64 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    fn proxy_tunnel(status: Option<u16>) -> Error {
        Error::ProxyTunnel {
            status,
            why: "x".into(),
        }
    }

    #[test]
    fn transient_failures_are_the_issue_list() {
        let table: Vec<Error> = vec![
            Error::Resolve {
                host: "h".into(),
                why: "x".into(),
            },
            Error::Connect("refused".into()),
            Error::Timeout("t"),
            Error::Receive(io::ErrorKind::ConnectionReset.into()),
            Error::Truncated {
                received: 1,
                expected: Some(2),
            },
            Error::EmptyReply,
            Error::HttpStatus(408),
            Error::HttpStatus(429),
            Error::HttpStatus(500),
            Error::HttpStatus(502),
            Error::HttpStatus(503),
            Error::HttpStatus(504),
            Error::EmptyReply.at_url("http://a/"),
            proxy_tunnel(Some(502)),
            proxy_tunnel(None),
        ];
        for error in table {
            assert!(is_transient(&error), "{error:?}");
        }
    }

    #[test]
    fn other_failures_are_not_retried() {
        let table: Vec<Error> = vec![
            Error::HttpStatus(501),
            Error::HttpStatus(404),
            Error::HttpStatus(403),
            Error::CertNotTrusted("unknown issuer".into()),
            Error::TlsHandshake("x".into()),
            Error::Usage("x".into()),
            Error::Write(io::ErrorKind::Other.into()),
            Error::Protocol(crate::ProtoError::BadChunkSize),
            Error::ResumeImpossible("x".into()),
            Error::HttpStatus(404).at_url("http://a/"),
            proxy_tunnel(Some(407)),
            proxy_tunnel(Some(403)),
            Error::ProxyResolve {
                proxy: "http://[x".into(),
                why: "x".into(),
            },
        ];
        for error in table {
            assert!(!is_transient(&error), "{error:?}");
        }
    }

    #[test]
    fn backoff_doubles_from_one_second_up_to_ten_minutes_with_jitter() {
        let p = RetryPolicy {
            max_retries: 100,
            ..RetryPolicy::default()
        };
        let secs = |retry, jitter| next_delay(&p, retry, None, jitter).as_secs_f64();
        let table = [
            (0, 0.999_999, 1.0),
            (0, 0.0, 0.5),
            (1, 0.999_999, 2.0),
            (3, 0.999_999, 8.0),
            (3, 0.5, 6.0),
            (9, 0.999_999, 512.0),
            (10, 0.999_999, 600.0),
            (31, 0.999_999, 600.0),
            (32, 0.999_999, 600.0),
            (u32::MAX, 0.0, 300.0),
            (2, f64::NAN, 2.0),
            (2, 7.0, 4.0),
        ];
        for (retry, jitter, want) in table {
            let got = secs(retry, jitter);
            assert!(
                (got - want).abs() < 0.001,
                "{retry} {jitter}: {got} != {want}"
            );
        }
    }

    #[test]
    fn retry_after_and_fixed_delays_win_over_backoff() {
        let fixed = RetryPolicy {
            max_retries: 3,
            fixed_delay: Some(Duration::from_millis(250)),
            max_time: None,
        };
        let d = |p: &RetryPolicy, after| next_delay(p, 5, after, 0.3);
        assert_eq!(d(&fixed, None), Duration::from_millis(250));
        assert_eq!(
            d(&fixed, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
        assert_eq!(
            d(&RetryPolicy::default(), Some(Duration::from_secs(86_400))),
            MAX_DELAY
        );
        assert_eq!(
            d(&RetryPolicy::default(), Some(Duration::ZERO)),
            Duration::ZERO
        );
    }

    #[test]
    fn retries_stop_at_the_count_and_the_time_limit() {
        let p = RetryPolicy {
            max_retries: 2,
            fixed_delay: None,
            max_time: Some(Duration::from_secs(10)),
        };
        let s = Duration::from_secs;
        assert!(may_retry(&p, 0, s(0), s(1)));
        assert!(may_retry(&p, 1, s(8), s(2)));
        assert!(!may_retry(&p, 1, s(9), s(2)), "would start past the limit");
        assert!(!may_retry(&p, 2, s(0), s(0)), "count used up");
        let unlimited = RetryPolicy {
            max_time: None,
            ..p
        };
        assert!(may_retry(&unlimited, 1, s(1_000_000), s(600)));
        assert!(!may_retry(&RetryPolicy::default(), 0, s(0), s(0)));
    }

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").expect("date");
        let table: [(&[u8], Option<u64>); 10] = [
            (b"120", Some(120)),
            (b" 0 ", Some(0)),
            (b"Sun, 06 Nov 1994 08:50:37 GMT", Some(60)),
            (b"Sun, 06 Nov 1994 08:49:00 GMT", Some(0)),
            (b"Sunday, 06-Nov-94 08:49:47 GMT", Some(10)),
            (b"99999999999999999999999", Some(u64::MAX)),
            (b"-5", None),
            (b"1.5", None),
            (b"", None),
            (b"\xff", None),
        ];
        for (value, want) in table {
            assert_eq!(
                parse_retry_after(value, now).map(|d| d.as_secs()),
                want,
                "{}",
                String::from_utf8_lossy(value)
            );
        }
    }

    #[test]
    fn jitter_stays_in_the_unit_interval() {
        for _ in 0..1000 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j), "{j}");
        }
    }
}
