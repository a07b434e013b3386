//! Fuzz `proto::response_head::parse_response_head` with fuzz-chosen caps, small ones included.
//!
//! Input: byte 0 picks the head cap, byte 1 the field-count cap, the rest is the buffer.
//! Checks: no panic; `used` within the buffer and the cap; the field count within its cap;
//! status 100..=999 and minor version 0 or 1; `Ok(None)` only below the cap; a complete head
//! parses the same from exactly its own bytes; and every strict prefix of it needs more.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rawhttp::proto::response_head::parse_response_head;
use rawhttp::proto::limits::{MAX_RESPONSE_HEAD, MAX_RESPONSE_HEADERS};

/// Head caps: mostly small, so the cap paths (partial and complete heads past it) are hit.
fn caps(a: u8, b: u8) -> (usize, usize) {
    let max_head = match a {
        0..=199 => usize::from(a),
        200..=249 => usize::from(a) * 16,
        _ => MAX_RESPONSE_HEAD,
    };
    let max_headers = match b {
        0..=199 => usize::from(b % 8),
        _ => MAX_RESPONSE_HEADERS,
    };
    (max_head, max_headers)
}

fuzz_target!(|data: &[u8]| {
    let [a, b, buf @ ..] = data else {
        return;
    };
    let (max_head, max_headers) = caps(*a, *b);
    let result = parse_response_head(buf, max_head, max_headers);
    match &result {
        Ok(None) => assert!(buf.len() < max_head, "need-more at or past the cap"),
        Ok(Some((head, used))) => {
            assert!(*used <= buf.len() && *used <= max_head, "used {used}");
            assert!(head.headers.len() <= max_headers);
            assert!((100..=999).contains(&head.status), "status {}", head.status);
            assert!(head.minor_version <= 1);
            // The head is exactly its own bytes: nothing after `used` changed the answer.
            let again = parse_response_head(&buf[..*used], max_head, max_headers);
            assert_eq!(again, result, "re-parse of the head alone differs");
            // ARCHITECTURE.md rule 1: a strict prefix of a valid head is need-more, never an error.
            for n in [0, used / 2, used.saturating_sub(1)] {
                if n < *used {
                    let prefix = parse_response_head(&buf[..n], max_head, max_headers);
                    assert_eq!(prefix, Ok(None), "prefix {n} of a {used}-byte head");
                }
            }
        }
        Err(_) => {}
    }
});
