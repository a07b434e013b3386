//! Request + file metadata -> status, headers and body plan: pure, table-tested (no I/O).
//! It does not open files or format listings (`respond`, `listing`), nor read the clock
//! (`clock`): everything takes its inputs as arguments.

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::clock::unix_secs;
use crate::proto::range::{plan_ranges, RangePlan};
use crate::proto::Headers;

/// The methods this server implements (RFC 9110 §9.1: method names are case-sensitive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodKind {
    /// GET.
    Get,
    /// HEAD: GET's head without the body.
    Head,
    /// OPTIONS: 204 with `Allow`.
    Options,
    /// Anything else: 405 with `Allow`.
    Other,
}

/// The `Allow` value for 405 and OPTIONS (RFC 9110 §10.2.1).
pub const ALLOW: &str = "GET, HEAD, OPTIONS";

/// Which of our methods `method` is, compared exactly: `get` is not GET (RFC 9110 §9.1).
pub fn classify_method(method: &str) -> MethodKind {
    match method {
        "GET" => MethodKind::Get,
        "HEAD" => MethodKind::Head,
        "OPTIONS" => MethodKind::Options,
        _ => MethodKind::Other,
    }
}

/// A representation's validators (RFC 9110 §8.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validators {
    /// A strong entity-tag, quotes included.
    pub etag: String,
    /// Last modification, compared at one-second resolution as HTTP dates are.
    pub modified: SystemTime,
}

/// What a GET or HEAD of an existing file gets after preconditions and Range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// 304 Not Modified.
    NotModified,
    /// 412 Precondition Failed.
    PreconditionFailed,
    /// 200 (`Whole`), 206 (`Single`/`Multi`) or 416 (`Unsatisfiable`).
    Send(RangePlan),
}

/// Evaluate the preconditions in RFC 9110 §13.2.2 order, then the Range (§14.2: GET only, and
/// only when If-Range, if present, matches). `len` is the representation's length.
pub fn decide(method: MethodKind, headers: &Headers, v: &Validators, len: u64) -> Decision {
    let get_or_head = matches!(method, MethodKind::Get | MethodKind::Head);
    // Step 1-2: If-Match, else If-Unmodified-Since.
    if headers.count("if-match") > 0 {
        if !etag_lines_match(headers, "if-match", &v.etag, true) {
            return Decision::PreconditionFailed;
        }
    } else if let Some(since) = header_date(headers, "if-unmodified-since") {
        if unix_secs(v.modified) > unix_secs(since) {
            return Decision::PreconditionFailed;
        }
    }
    // Step 3-4: If-None-Match (weak comparison, §13.1.2), else If-Modified-Since (GET/HEAD).
    if headers.count("if-none-match") > 0 {
        if etag_lines_match(headers, "if-none-match", &v.etag, false) {
            return match get_or_head {
                true => Decision::NotModified,
                false => Decision::PreconditionFailed,
            };
        }
    } else if let Some(since) = header_date(headers, "if-modified-since").filter(|_| get_or_head) {
        if unix_secs(v.modified) <= unix_secs(since) {
            return Decision::NotModified;
        }
    }
    // Step 5: Range, for GET only, guarded by If-Range.
    match headers.get("range") {
        Some(range) if method == MethodKind::Get && if_range_matches(headers, v) => {
            Decision::Send(plan_ranges(range, len))
        }
        _ => Decision::Send(RangePlan::Whole),
    }
}

/// §13.1.5: no If-Range, or one that matches by strong comparison (an entity-tag) or exactly
/// (an HTTP date equal to Last-Modified). A weak or malformed validator never matches.
fn if_range_matches(headers: &Headers, v: &Validators) -> bool {
    let Some(value) = headers.get_str("if-range") else {
        return true;
    };
    if value.starts_with('"') {
        return value == v.etag;
    }
    match httpdate::parse_http_date(value) {
        Ok(date) => unix_secs(date) == unix_secs(v.modified),
        Err(_) => false,
    }
}

/// Whether any field line of the list-valued `name` matches: several If-Match or
/// If-None-Match lines mean their comma-joined list (RFC 9110 §5.3), not just the first one
/// (found by fuzz/preconditions).
fn etag_lines_match(headers: &Headers, name: &str, etag: &str, strong: bool) -> bool {
    headers
        .get_all(name)
        .any(|line| etag_list_matches(line, etag, strong))
}

/// Whether `*` or any entity-tag of a comma-separated list matches `etag` (§13.1.1, §13.1.2).
/// `strong`: strong comparison (both must be strong). A malformed list matches nothing.
fn etag_list_matches(list: &[u8], etag: &str, strong: bool) -> bool {
    let Ok(list) = std::str::from_utf8(list) else {
        return false;
    };
    if list.trim() == "*" {
        return true;
    }
    let ours = etag.as_bytes();
    list.split(',')
        .map(|t| t.trim_matches([' ', '\t']))
        .any(|t| match t.strip_prefix("W/") {
            Some(weak) => !strong && weak.as_bytes() == ours,
            None => t.as_bytes() == ours,
        })
}

fn header_date(headers: &Headers, name: &str) -> Option<SystemTime> {
    // §13.1.3/§13.1.4: an invalid date is ignored, as is a list of several values.
    if headers.count(name) != 1 {
        return None;
    }
    httpdate::parse_http_date(headers.get_str(name)?).ok()
}

/// A strong ETag from size and modification time (nanoseconds): it changes whenever either
/// does, without reading the file (as nginx's `"mtime-size"`, with sub-second precision).
pub fn etag_from_metadata(len: u64, modified: SystemTime) -> String {
    let nanos = modified
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_nanos();
    format!("\"{len:x}-{nanos:x}\"")
}

/// A strong ETag from a content digest (fixture servers: reproducible across runs).
pub fn etag_from_digest(digest: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(2 * 16 + 2);
    out.push('"');
    for b in digest.iter().take(16) {
        // Writing into a String cannot fail.
        let _ = write!(out, "{b:02x}");
    }
    out.push('"');
    out
}

/// Content-Type from the file name's extension (mime_guess); textual types say UTF-8 so
/// browsers do not guess; unknown extensions are `application/octet-stream`.
pub fn content_type(name: &str) -> Cow<'static, str> {
    let mime = mime_guess::from_path(name)
        .first_raw()
        .unwrap_or("application/octet-stream");
    // The common textual types without a format! on the hot path.
    let common = match mime {
        "text/html" => "text/html; charset=utf-8",
        "text/plain" => "text/plain; charset=utf-8",
        "text/css" => "text/css; charset=utf-8",
        "text/javascript" => "text/javascript; charset=utf-8",
        "application/json" => "application/json; charset=utf-8",
        _ => "",
    };
    let textual = mime.starts_with("text/")
        || matches!(
            mime,
            "application/javascript" | "application/json" | "application/xml" | "image/svg+xml"
        );
    match (common, textual) {
        ("", true) => Cow::Owned(format!("{mime}; charset=utf-8")),
        ("", false) => Cow::Borrowed(mime),
        (common, _) => Cow::Borrowed(common),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::range::ByteSpan;
    use Decision::*;
    use MethodKind::*;

    const ETAG: &str = "\"a-1\"";
    const LM: &str = "Sun, 06 Nov 1994 08:49:37 GMT";
    const EARLIER: &str = "Sun, 06 Nov 1994 08:49:36 GMT";
    const LATER: &str = "Sun, 06 Nov 1994 08:49:38 GMT";

    fn validators() -> Validators {
        Validators {
            etag: ETAG.to_string(),
            // Sub-second part: dates compare at one-second resolution.
            modified: httpdate::parse_http_date(LM).unwrap() + Duration::from_millis(500),
        }
    }

    fn decide_with(method: MethodKind, fields: &[(&str, &str)]) -> Decision {
        let mut h = Headers::new();
        for (n, v) in fields {
            h.push(n, v.as_bytes());
        }
        decide(method, &h, &validators(), 10)
    }

    const WHOLE: Decision = Send(RangePlan::Whole);
    const FIRST_TWO: Decision = Send(RangePlan::Single(ByteSpan { start: 0, len: 2 }));

    type Case<'a> = (MethodKind, &'a [(&'a str, &'a str)], Decision);

    /// Requests and what they get, in RFC 9110 §13.2.2 order of evaluation.
    const CASES: &[Case] = &[
        (Get, &[], WHOLE),
        // If-Match: strong comparison, `*`, lists; a failure is 412 whatever follows.
        (Get, &[("If-Match", ETAG)], WHOLE),
        (Get, &[("If-Match", "*")], WHOLE),
        (Get, &[("If-Match", "\"x\", \"a-1\"")], WHOLE),
        (Get, &[("If-Match", "W/\"a-1\"")], PreconditionFailed),
        (Get, &[("If-Match", "\"b\"")], PreconditionFailed),
        // Several field lines are one list (RFC 9110 §5.3).
        (Get, &[("If-Match", "\"b\""), ("If-Match", ETAG)], WHOLE),
        (
            Get,
            &[("If-None-Match", "\"b\""), ("If-None-Match", ETAG)],
            NotModified,
        ),
        (
            Get,
            &[("If-Match", "\"b\""), ("If-None-Match", "\"b\"")],
            PreconditionFailed,
        ),
        // If-Unmodified-Since only without If-Match; invalid dates ignored.
        (Get, &[("If-Unmodified-Since", LM)], WHOLE),
        (Get, &[("If-Unmodified-Since", LATER)], WHOLE),
        (Get, &[("If-Unmodified-Since", EARLIER)], PreconditionFailed),
        (Get, &[("If-Unmodified-Since", "yesterday")], WHOLE),
        (
            Get,
            &[("If-Match", ETAG), ("If-Unmodified-Since", EARLIER)],
            WHOLE,
        ),
        // If-None-Match: weak comparison; 304 for GET/HEAD, 412 otherwise.
        (Get, &[("If-None-Match", ETAG)], NotModified),
        (Head, &[("If-None-Match", "W/\"a-1\"")], NotModified),
        (Get, &[("If-None-Match", "*")], NotModified),
        (Get, &[("If-None-Match", "\"b\", \"a-1\"")], NotModified),
        (Get, &[("If-None-Match", "\"b\"")], WHOLE),
        (Other, &[("If-None-Match", ETAG)], PreconditionFailed),
        // If-Modified-Since only without If-None-Match, GET/HEAD only.
        (Get, &[("If-Modified-Since", LM)], NotModified),
        (Head, &[("If-Modified-Since", LATER)], NotModified),
        (Get, &[("If-Modified-Since", EARLIER)], WHOLE),
        (Get, &[("If-Modified-Since", "garbage")], WHOLE),
        (
            Get,
            &[("If-None-Match", "\"b\""), ("If-Modified-Since", LM)],
            WHOLE,
        ),
        (Other, &[("If-Modified-Since", LM)], WHOLE),
        // Range: GET only, If-Range strong etag or exact date.
        (Get, &[("Range", "bytes=0-1")], FIRST_TWO),
        (Head, &[("Range", "bytes=0-1")], WHOLE),
        (
            Get,
            &[("Range", "bytes=0-1"), ("If-Range", ETAG)],
            FIRST_TWO,
        ),
        (
            Get,
            &[("Range", "bytes=0-1"), ("If-Range", "W/\"a-1\"")],
            WHOLE,
        ),
        (Get, &[("Range", "bytes=0-1"), ("If-Range", "\"b\"")], WHOLE),
        (Get, &[("Range", "bytes=0-1"), ("If-Range", LM)], FIRST_TWO),
        (Get, &[("Range", "bytes=0-1"), ("If-Range", EARLIER)], WHOLE),
        (
            Get,
            &[("Range", "bytes=0-1"), ("If-Range", "nonsense")],
            WHOLE,
        ),
        (
            Get,
            &[("Range", "bytes=50-")],
            Send(RangePlan::Unsatisfiable),
        ),
        (
            Get,
            &[("Range", "bytes=50-"), ("If-None-Match", ETAG)],
            NotModified,
        ),
        (
            Get,
            &[("Range", "bytes=0-1"), ("If-Match", "\"b\"")],
            PreconditionFailed,
        ),
    ];

    #[test]
    fn preconditions_in_rfc_9110_order() {
        for (method, fields, want) in CASES {
            assert_eq!(&decide_with(*method, fields), want, "{method:?} {fields:?}");
        }
    }

    #[test]
    fn classifies_methods_case_sensitively() {
        assert_eq!(classify_method("GET"), Get);
        assert_eq!(classify_method("HEAD"), Head);
        assert_eq!(classify_method("OPTIONS"), Options);
        assert_eq!(classify_method("get"), Other);
        assert_eq!(classify_method("POST"), Other);
        assert_eq!(classify_method("DELETE"), Other);
    }

    #[test]
    fn content_types_by_extension() {
        let table = [
            ("index.html", "text/html; charset=utf-8"),
            ("a/b.TXT", "text/plain; charset=utf-8"),
            ("app.js", "text/javascript; charset=utf-8"),
            ("data.json", "application/json; charset=utf-8"),
            ("logo.png", "image/png"),
            ("logo.svg", "image/svg+xml; charset=utf-8"),
            ("archive.tar.gz", "application/gzip"),
            ("noext", "application/octet-stream"),
            ("weird.zzzz", "application/octet-stream"),
        ];
        for (name, want) in table {
            assert_eq!(content_type(name), want, "{name}");
        }
    }

    #[test]
    fn etags_are_strong_and_change_with_size_or_time() {
        let t = UNIX_EPOCH + Duration::new(1, 5);
        assert_eq!(etag_from_metadata(255, t), "\"ff-3b9aca05\"");
        assert_ne!(etag_from_metadata(255, t), etag_from_metadata(254, t));
        assert_ne!(
            etag_from_metadata(255, t),
            etag_from_metadata(255, t + Duration::from_nanos(1))
        );
        assert_eq!(
            etag_from_digest(&[0xab; 32]),
            format!("\"{}\"", "ab".repeat(16))
        );
    }
}
