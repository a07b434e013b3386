//! Fuzz `proto::request_head::parse_request_head` (+ `error_status` on its errors, and
//! `request_framing` and `serve::files::resolve_target` on the heads it accepts).
//!
//! Checks: no panic; `used` within the buffer and its caps; the request line is well formed
//! (tchar method, target of visible ASCII or UTF-8, HTTP/1.0 or 1.1); an HTTP/1.1 head has
//! exactly one Host; a complete head parses the same from exactly its own bytes and every
//! checked strict prefix of it needs more; `error_status` is one of 400, 414, 431, 501, 505.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rawhttp::proto::framing::{request_framing, BodyKind};
use rawhttp::proto::limits::{MAX_REQUEST_HEAD, MAX_REQUEST_HEADERS, MAX_REQUEST_LINE};
use rawhttp::proto::request_head::{error_status, parse_request_head, RequestHead};
use rawhttp::serve::files::resolve_target;

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn check_head(head: &RequestHead, used: usize, len: usize) {
    assert!(used <= len, "used {used} of {len}");
    // Leading CRLFs + request line + CRLF + header section: each part is capped.
    assert!(
        used <= 2 * (MAX_REQUEST_LINE + 2) + MAX_REQUEST_HEAD,
        "used {used}"
    );
    assert!(head.headers.len() <= MAX_REQUEST_HEADERS);
    assert!(!head.method.is_empty() && head.method.bytes().all(is_tchar));
    assert!(!head.target.is_empty());
    // Visible ASCII, or raw UTF-8 (tolerated since curl sends `/café` as typed); never a
    // control byte, SP or DEL. The String type already guarantees valid UTF-8.
    let visible = |b: u8| (0x21..=0x7e).contains(&b) || b >= 0x80;
    assert!(head.target.bytes().all(visible), "{:?}", head.target);
    assert!(head.minor_version <= 1);
    let hosts = head.headers.count("host");
    assert!(hosts <= 1, "{hosts} Host fields accepted");
    if head.minor_version == 1 {
        assert_eq!(hosts, 1, "HTTP/1.1 head without Host accepted");
    }
    // The server hands the target to path resolution next: it must not panic there either.
    let _ = resolve_target(&head.target, false);
    // Framing must decide without panicking, and a request is never read until EOF.
    if let Ok(kind) = request_framing(&head.headers) {
        assert_ne!(kind, BodyKind::UntilEof);
    }
}

fuzz_target!(|data: &[u8]| {
    let result = parse_request_head(data);
    match &result {
        Ok(None) => {}
        Ok(Some((head, used))) => {
            check_head(head, *used, data.len());
            let again = parse_request_head(&data[..*used]);
            assert_eq!(again, result, "re-parse of the head alone differs");
            for n in [0, used / 2, used.saturating_sub(1)] {
                if n < *used {
                    assert_eq!(parse_request_head(&data[..n]), Ok(None), "prefix {n}");
                }
            }
        }
        Err(e) => {
            let status = error_status(*e);
            assert!(
                [400, 414, 431, 501, 505].contains(&status),
                "{e:?} -> {status}"
            );
        }
    }
});
