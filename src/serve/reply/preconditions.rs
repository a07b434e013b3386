//! Preconditions (RFC 9110 §13.2.2) and Range (§14.2) for one representation: which of 304,
//! 412, 200, 206 or 416 a GET or HEAD gets. Pure; `reply` turns the decision into a response.

use std::time::SystemTime;

use super::super::clock::unix_secs;
use super::MethodKind;
use crate::proto::range::{plan_ranges, RangePlan};
use crate::proto::Headers;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::range::ByteSpan;
    use std::time::Duration;
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
}
