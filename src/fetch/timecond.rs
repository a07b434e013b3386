//! `-z/--time-cond` and `-R/--remote-time`: the page-saving habit wget calls `-N`. Turns the
//! flag's value into a conditional request field and a response's Last-Modified into a file
//! time. Pure: the caller looks up file times.

use std::path::Path;
use std::time::SystemTime;

/// A conditional GET from `-z` (RFC 9110 §13.1.3, §13.1.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TimeCond {
    /// `If-Modified-Since`, or `If-Unmodified-Since` for curl's `-z -DATE`.
    pub field: &'static str,
    /// The HTTP-date to send (IMF-fixdate, RFC 9110 §5.6.7).
    pub date: String,
}

/// `-z VALUE` as curl reads it: the modification time of the file VALUE when it exists, else
/// VALUE as a date (any of RFC 9110 §5.6.7's three forms); a leading `-` asks for an older
/// copy instead. `None` when it is neither (curl then fetches unconditionally, with a warning).
pub(super) fn parse_time_cond(
    value: &str,
    mtime_of: impl Fn(&Path) -> Option<SystemTime>,
) -> Option<TimeCond> {
    let (field, rest) = match value.strip_prefix('-') {
        Some(rest) => ("If-Unmodified-Since", rest),
        None => ("If-Modified-Since", value),
    };
    let time = mtime_of(Path::new(rest)).or_else(|| httpdate::parse_http_date(rest.trim()).ok())?;
    Some(TimeCond {
        field,
        date: httpdate::fmt_http_date(time),
    })
}

/// The time `-R` gives a saved file: the response's Last-Modified, when it is a valid date.
pub(super) fn remote_time(last_modified: Option<&[u8]>) -> Option<SystemTime> {
    let text = std::str::from_utf8(last_modified?).ok()?;
    httpdate::parse_http_date(text.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    const DAY0: &str = "Sun, 06 Nov 1994 08:49:37 GMT";

    fn day0() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(784111777)
    }

    #[test]
    fn time_conditions_come_from_files_then_dates() {
        let file = |p: &Path| (p == Path::new("page.html")).then(day0);
        let cond = |v: &str| parse_time_cond(v, file).map(|c| (c.field, c.date));
        let ims = "If-Modified-Since";
        assert_eq!(cond("page.html"), Some((ims, DAY0.into())));
        assert_eq!(cond(DAY0), Some((ims, DAY0.into())));
        assert_eq!(
            cond("Sunday, 06-Nov-94 08:49:37 GMT"),
            Some((ims, DAY0.into()))
        );
        assert_eq!(cond("Sun Nov  6 08:49:37 1994"), Some((ims, DAY0.into())));
        assert_eq!(
            cond(&format!("-{DAY0}")),
            Some(("If-Unmodified-Since", DAY0.into()))
        );
        assert_eq!(
            cond("-page.html"),
            Some(("If-Unmodified-Since", DAY0.into()))
        );
        for neither in [
            "missing.html",
            "",
            "-",
            "yesterday",
            "Sun, 32 Nov 1994 08:49:37 GMT",
        ] {
            assert_eq!(cond(neither), None, "{neither:?}");
        }
    }

    #[test]
    fn remote_time_is_a_valid_last_modified_or_nothing() {
        assert_eq!(remote_time(Some(DAY0.as_bytes())), Some(day0()));
        assert_eq!(
            remote_time(Some(b" Sun, 06 Nov 1994 08:49:37 GMT ")),
            Some(day0())
        );
        assert_eq!(remote_time(Some(b"not a date")), None);
        assert_eq!(remote_time(Some(b"\xff")), None);
        assert_eq!(remote_time(None), None);
    }
}
