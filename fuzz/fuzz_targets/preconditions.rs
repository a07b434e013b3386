//! Fuzz conditional and range requests against a model of RFC 9110 §13.2.2:
//! `serve::reply::decide`.
//!
//! Input: byte 0 % 4 the method (GET, HEAD, OPTIONS, other), bytes 1-4 the file's mtime
//! (seconds), bytes 5-6 its length; the rest split on `\n` into fields, each line's first byte
//! picking the name (If-Match, If-Unmodified-Since, If-None-Match, If-Modified-Since, Range,
//! If-Range, X-Other) and the rest being the value. Byte 7 picks the ETag among three, so a
//! fuzzed entity-tag can hit it.
//! Checks: `decide` equals the model, which reads the RFC: If-Match (every field line of it, a
//! list), else a single valid If-Unmodified-Since; If-None-Match (every line, weak comparison),
//! else a single valid If-Modified-Since for GET/HEAD; then Range for GET only when If-Range
//! is absent or matches (strong ETag, or a date equal to Last-Modified).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rawhttp::proto::range::{plan_ranges, RangePlan};
use rawhttp::proto::Headers;
use rawhttp::serve::reply::{decide, Decision, MethodKind, Validators};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const NAMES: [&str; 7] = [
    "If-Match",
    "If-Unmodified-Since",
    "if-none-match",
    "If-Modified-Since",
    "Range",
    "If-Range",
    "X-Other",
];
const ETAGS: [&str; 3] = ["\"abc\"", "\"1-2\"", "\"\""];

fn secs(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(-1, |d| d.as_secs() as i64)
}

/// §13.1.1/§13.1.2 over every field line: `*`, or a member equal to ours (weak: W/ ignored).
fn list_matches(headers: &Headers, name: &str, etag: &str, strong: bool) -> bool {
    headers.get_all(name).any(|line| {
        let Ok(line) = std::str::from_utf8(line) else {
            return false;
        };
        line.trim() == "*"
            || line.split(',').any(|member| {
                let member = member.trim_matches([' ', '\t']);
                member == etag || (!strong && member.strip_prefix("W/") == Some(etag))
            })
    })
}

/// A date precondition counts only as exactly one valid HTTP-date (§13.1.3, §13.1.4).
fn single_date(headers: &Headers, name: &str) -> Option<i64> {
    let mut lines = headers.get_all(name);
    let (Some(line), None) = (lines.next(), lines.next()) else {
        return None;
    };
    let text = std::str::from_utf8(line).ok()?.trim();
    httpdate::parse_http_date(text).ok().map(secs)
}

fn model(method: MethodKind, h: &Headers, v: &Validators, len: u64) -> Decision {
    let get_or_head = matches!(method, MethodKind::Get | MethodKind::Head);
    let modified = secs(v.modified);
    if h.count("if-match") > 0 {
        if !list_matches(h, "if-match", &v.etag, true) {
            return Decision::PreconditionFailed;
        }
    } else if single_date(h, "if-unmodified-since").is_some_and(|d| modified > d) {
        return Decision::PreconditionFailed;
    }
    if h.count("if-none-match") > 0 {
        if list_matches(h, "if-none-match", &v.etag, false) {
            return match get_or_head {
                true => Decision::NotModified,
                false => Decision::PreconditionFailed,
            };
        }
    } else if get_or_head && single_date(h, "if-modified-since").is_some_and(|d| modified <= d) {
        return Decision::NotModified;
    }
    let if_range_ok = match h.get_str("if-range") {
        None => true,
        Some(tag) if tag.starts_with('"') => tag == v.etag,
        Some(date) => httpdate::parse_http_date(date).is_ok_and(|d| secs(d) == modified),
    };
    match h.get("range") {
        Some(range) if method == MethodKind::Get && if_range_ok => {
            Decision::Send(plan_ranges(range, len))
        }
        _ => Decision::Send(RangePlan::Whole),
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let method = [
        MethodKind::Get,
        MethodKind::Head,
        MethodKind::Options,
        MethodKind::Other,
    ][usize::from(data[0] % 4)];
    let mtime = u32::from_be_bytes([data[1], data[2], data[3], data[4]]);
    let len = u64::from(u16::from_be_bytes([data[5], data[6]]));
    let v = Validators {
        etag: ETAGS[usize::from(data[7] % 3)].to_string(),
        modified: UNIX_EPOCH + Duration::from_secs(u64::from(mtime)),
    };
    let mut headers = Headers::new();
    for line in data[8..].split(|&b| b == b'\n') {
        if let Some((&pick, value)) = line.split_first() {
            headers.push(NAMES[usize::from(pick) % NAMES.len()], value);
        }
    }
    assert_eq!(
        decide(method, &headers, &v, len),
        model(method, &headers, &v, len),
        "{headers:?} {v:?}"
    );
});
