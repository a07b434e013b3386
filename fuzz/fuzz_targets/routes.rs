//! Fuzz `serve::routes::parse_json`, the `--routes FILE` reader (a local file, but one people
//! generate from scripts and paste from tickets).
//!
//! Input: the whole file, as UTF-8 (other bytes are not a routes file: read_to_string fails
//! first). `body_file` names resolve under a folder that does not exist, so no file is read.
//! Checks: no panic; the verdict agrees with a reference reading of the same JSON: a document
//! that is not an array of objects, an entry with an unknown key, no `path`, a `path` not
//! starting with `/`, a status outside 200..=599, or a header value with a byte RFC 9110 §5.5
//! forbids (CR, LF, NUL: response splitting) is refused; an accepted file has one route per entry,
//! each with the status the entry asked for (200 when absent).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rawhttp::serve::routes::parse_json;
use serde_json::Value;
use std::path::Path;

const KEYS: [&str; 8] = [
    "method",
    "path",
    "status",
    "headers",
    "body",
    "body_file",
    "query",
    "request_headers",
];

/// Whether the reference says this entry must be refused (a subset of the real rules: the
/// ones a route must never get past), and otherwise the status it must carry.
fn must_refuse(entry: &Value) -> Option<bool> {
    let Value::Object(map) = entry else {
        return Some(true);
    };
    if map.keys().any(|k| !KEYS.contains(&k.as_str())) {
        return Some(true);
    }
    match map.get("path") {
        Some(Value::String(p)) if p.starts_with('/') => {}
        _ => return Some(true),
    }
    let status = match map.get("status") {
        None => 200,
        Some(v) => match v.as_u64() {
            Some(n) => n,
            None => return Some(true),
        },
    };
    if !(200..=599).contains(&status) {
        return Some(true);
    }
    if let Some(Value::Object(headers)) = map.get("headers") {
        let splits = |s: &str| s.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0));
        if headers
            .values()
            .any(|v| matches!(v, Value::String(s) if splits(s)))
        {
            return Some(true);
        }
    }
    // Other rules (types of the optional keys, body_file) may refuse it too: no verdict.
    None
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let got = parse_json(text, Path::new("/nonexistent-rawhttp-fuzz"));
    let Ok(Value::Array(entries)) = serde_json::from_str::<Value>(text) else {
        assert!(got.is_err(), "not a JSON array, yet accepted: {text:?}");
        return;
    };
    if entries.iter().any(|e| must_refuse(e) == Some(true)) {
        assert!(got.is_err(), "accepted a route the rules refuse: {text:?}");
        return;
    }
    if let Ok(routes) = got {
        assert_eq!(routes.len(), entries.len());
        for (route, entry) in routes.iter().zip(&entries) {
            let want = entry.get("status").and_then(Value::as_u64).unwrap_or(200);
            assert_eq!(u64::from(route.reply().code()), want, "{text:?}");
        }
    }
});
