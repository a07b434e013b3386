//! Response head parsing over httparse into an owned `ResponseHead`; `Ok(None)` means "need more".
//! (Request heads, with the server's stricter rules, are in `request_head.rs`.) It does not decide
//! body framing (`framing.rs`) and never reads from a socket.

use super::syntax::{is_tchar, is_token};
use super::{Headers, ProtoError};

/// A parsed status line and header section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor_version: u8,
    /// The status code (100..=999).
    pub status: u16,
    /// The reason phrase, as sent (may be empty).
    pub reason: String,
    /// The header fields, in order.
    pub headers: Headers,
}

/// Parse a response head from the start of `buf`. `Ok(None)`: incomplete, read more (the caller
/// enforces its byte cap with `max_head`, reported as `HeadTooLarge` once `buf` exceeds it
/// without a complete head). `Ok(Some((head, used)))`: `used` bytes were the head.
///
/// Line ends may be CRLF or a bare LF (RFC 9112 §2.2 lets a recipient accept a lone LF in the
/// start-line and fields; httparse does). Leading empty lines are skipped (RFC 9112 §2.2).
pub fn parse_response_head(
    buf: &[u8],
    max_head: usize,
    max_headers: usize,
) -> Result<Option<(ResponseHead, usize)>, ProtoError> {
    // Only the first `max_head` bytes may hold the head: a complete head further out is
    // still too large, and bytes past the cap are never scanned.
    let window = &buf[..buf.len().min(max_head)];
    let mut slots = vec![httparse::EMPTY_HEADER; max_headers];
    let mut response = httparse::Response::new(&mut slots);
    match response.parse(window) {
        Ok(httparse::Status::Complete(used)) => owned_head(&response).map(|h| Some((h, used))),
        Ok(httparse::Status::Partial) if buf.len() >= max_head => {
            Err(ProtoError::HeadTooLarge { limit: max_head })
        }
        Ok(httparse::Status::Partial) => Ok(None),
        Err(e) => Err(classify(e, window, max_headers)),
    }
}

/// Copy a complete httparse response into owned values, checking what httparse leaves open.
fn owned_head(response: &httparse::Response<'_, '_>) -> Result<ResponseHead, ProtoError> {
    // httparse reads exactly three digits, so only the lower bound needs checking: RFC 9110
    // §15 defines 100..=599 and lets clients treat unknown classes; "000"-"099" mean nothing.
    let status = response.code.ok_or(ProtoError::BadStatusLine)?;
    if !(100..=999).contains(&status) {
        return Err(ProtoError::BadStatusLine);
    }
    let minor_version = response.version.ok_or(ProtoError::BadStatusLine)?;
    let mut headers = Headers::new();
    for field in response.headers.iter() {
        headers.push(field.name, field.value);
    }
    Ok(ResponseHead {
        minor_version,
        status,
        reason: response.reason.unwrap_or("").to_string(),
        headers,
    })
}

/// Map an httparse error to ours; header-name errors are told apart by looking at the line.
fn classify(e: httparse::Error, window: &[u8], max_headers: usize) -> ProtoError {
    match e {
        // Version: anything but HTTP/1.0 or HTTP/1.1; Status: code not 3 digits, bad reason.
        httparse::Error::Version | httparse::Error::Status | httparse::Error::Token
            if is_tls_record(window) =>
        {
            ProtoError::TlsRecord
        }
        httparse::Error::Version | httparse::Error::Status | httparse::Error::Token => {
            ProtoError::BadStatusLine
        }
        httparse::Error::TooManyHeaders => ProtoError::TooManyHeaders { limit: max_headers },
        httparse::Error::HeaderName => classify_bad_field(window),
        httparse::Error::HeaderValue | httparse::Error::NewLine => ProtoError::BadHeader,
    }
}

/// The bytes open a TLS record (RFC 8446 §5.1: content type 20-23, then legacy version 3.x):
/// plain HTTP was sent to a port that speaks TLS, and its alert or handshake came back.
fn is_tls_record(window: &[u8]) -> bool {
    match window {
        [kind, 3, ..] | [kind] => (20..=23).contains(kind),
        _ => false,
    }
}

/// Find the first field line httparse would refuse and say why: a line starting with
/// whitespace is obs-fold (RFC 9112 §5.2), a name followed by whitespace and a colon is
/// whitespace before the colon (RFC 9112 §5.1), anything else is a bad field.
fn classify_bad_field(window: &[u8]) -> ProtoError {
    let pieces: Vec<&[u8]> = window.split(|&b| b == b'\n').collect();
    let last = pieces.len().saturating_sub(1);
    let lines = pieces.iter().enumerate().map(|(i, l)| {
        let line = l.strip_suffix(b"\r").unwrap_or(l);
        (line, i < last)
    });
    // Skip leading empty lines, then the status line itself.
    for (line, complete) in lines.skip_while(|(l, _)| l.is_empty()).skip(1) {
        if line.first().is_some_and(|&b| b == b' ' || b == b'\t') {
            return ProtoError::ObsFold;
        }
        if !is_valid_field_line(line, complete) {
            return field_line_error(line);
        }
    }
    ProtoError::BadHeader
}

/// A `token ":" value` line whose name httparse accepts, or an incomplete one that could be.
fn is_valid_field_line(line: &[u8], complete: bool) -> bool {
    match line.iter().position(|&b| b == b':') {
        Some(colon) => is_token(&line[..colon]),
        None => !complete && line.iter().all(|&b| is_tchar(b)),
    }
}

fn field_line_error(line: &[u8]) -> ProtoError {
    let name_end = line
        .iter()
        .position(|&b| !is_tchar(b))
        .unwrap_or(line.len());
    let after = &line[name_end..];
    let rest = after.trim_ascii_start();
    if name_end > 0 && after.len() > rest.len() && (rest.is_empty() || rest[0] == b':') {
        ProtoError::WhitespaceBeforeColon
    } else {
        ProtoError::BadHeader
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::testing::xorshift;

    const MAX: usize = 64 * 1024;

    fn parse(buf: &[u8]) -> Result<Option<(ResponseHead, usize)>, ProtoError> {
        parse_response_head(buf, MAX, 100)
    }

    const VALID: &[&[u8]] = &[
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b c\r\n\r\n",
        b"HTTP/1.0 404 Not Found\r\n\r\n",
        b"HTTP/1.1 204\r\nDate: x\r\n\r\n",
        b"HTTP/1.1 200 OK\nContent-Length: 5\n\n",
        b"HTTP/1.1 999 Whatever\r\nA:\r\n\r\n",
        b"\r\nHTTP/1.1 100 Continue\r\n\r\n",
    ];

    #[test]
    fn valid_heads_parse_with_owned_fields() {
        let (head, used) = parse(VALID[0]).unwrap().unwrap();
        assert_eq!(used, VALID[0].len());
        assert_eq!(head.minor_version, 1);
        assert_eq!(head.status, 200);
        assert_eq!(head.reason, "OK");
        assert_eq!(head.headers.get("content-length"), Some(&b"5"[..]));
        assert_eq!(head.headers.get("x-a"), Some(&b"b c"[..]));
        let (head, _) = parse(VALID[1]).unwrap().unwrap();
        assert_eq!((head.minor_version, head.status), (0, 404));
        let (head, _) = parse(VALID[2]).unwrap().unwrap();
        assert_eq!((head.status, head.reason.as_str()), (204, ""));
        for buf in VALID {
            assert!(
                matches!(parse(buf), Ok(Some((_, n))) if n == buf.len()),
                "{buf:?}"
            );
        }
    }

    #[test]
    fn used_stops_at_the_blank_line() {
        let buf = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1";
        let (_, used) = parse(buf).unwrap().unwrap();
        assert_eq!(&buf[used..], b"abcHTTP/1.1");
    }

    #[test]
    fn every_strict_prefix_needs_more() {
        for buf in VALID {
            for n in 0..buf.len() {
                assert_eq!(parse(&buf[..n]), Ok(None), "prefix {n} of {buf:?}");
            }
        }
    }

    #[test]
    fn byte_by_byte_feeding_completes_exactly_at_the_end() {
        for buf in VALID {
            let mut acc = Vec::new();
            for (i, &b) in buf.iter().enumerate() {
                acc.push(b);
                match parse(&acc) {
                    Ok(None) => assert!(i + 1 < buf.len()),
                    Ok(Some((_, used))) => assert_eq!(used, buf.len()),
                    Err(e) => panic!("{e} at byte {i} of {buf:?}"),
                }
            }
        }
    }

    #[test]
    fn malformed_heads_are_rejected() {
        let cases: &[(&[u8], ProtoError)] = &[
            (b"HTTP/2.0 200 OK\r\n\r\n", ProtoError::BadStatusLine),
            (b"HTTP/1.2 200 OK\r\n\r\n", ProtoError::BadStatusLine),
            (b"HTTP/1.1 20 OK\r\n\r\n", ProtoError::BadStatusLine),
            (b"HTTP/1.1 2000 OK\r\n\r\n", ProtoError::BadStatusLine),
            (b"HTTP/1.1 099 Low\r\n\r\n", ProtoError::BadStatusLine),
            (b"HTTP/1.1 000 Zero\r\n\r\n", ProtoError::BadStatusLine),
            (b"HTTP/1.1 abc OK\r\n\r\n", ProtoError::BadStatusLine),
            (b"HTTP/1.1  200 OK\r\n\r\n", ProtoError::BadStatusLine),
            (b"ICY 200 OK\r\n\r\n", ProtoError::BadStatusLine),
            (b"hello world\r\n\r\n", ProtoError::BadStatusLine),
            // TLS records (alert, handshake) answering plain HTTP on a TLS port.
            (b"\x15\x03\x03\x00\x02\x02\x46", ProtoError::TlsRecord),
            (b"\x16\x03\x01\x00\x05", ProtoError::TlsRecord),
            (b"\x15", ProtoError::TlsRecord),
            (b"\x15\x02\x00", ProtoError::BadStatusLine),
            (b"\x18\x03\x03", ProtoError::BadStatusLine),
            (b"HTTP/1.1 200 O\x01K\r\n\r\n", ProtoError::BadStatusLine),
            (
                b"HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n",
                ProtoError::ObsFold,
            ),
            (
                b"HTTP/1.1 200 OK\r\nA: b\r\n\tfolded\r\n\r\n",
                ProtoError::ObsFold,
            ),
            (
                b"HTTP/1.1 200 OK\r\nA : b\r\n\r\n",
                ProtoError::WhitespaceBeforeColon,
            ),
            (
                b"HTTP/1.1 200 OK\r\nA\t: b\r\n\r\n",
                ProtoError::WhitespaceBeforeColon,
            ),
            (b"HTTP/1.1 200 OK\r\nA b: c\r\n\r\n", ProtoError::BadHeader),
            (b"HTTP/1.1 200 OK\r\n: empty\r\n\r\n", ProtoError::BadHeader),
            (b"HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", ProtoError::BadHeader),
            (b"HTTP/1.1 200 OK\r\nA(b): c\r\n\r\n", ProtoError::BadHeader),
            (
                b"HTTP/1.1 200 OK\r\nA: b\x00c\r\n\r\n",
                ProtoError::BadHeader,
            ),
            (b"HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n", ProtoError::BadHeader),
            (b"HTTP/1.1 200 OK\r\nA: b\r\n\rX", ProtoError::BadHeader),
        ];
        for (buf, want) in cases {
            assert_eq!(parse(buf), Err(*want), "{:?}", String::from_utf8_lossy(buf));
        }
    }

    #[test]
    fn head_cap_applies_to_partial_and_complete_heads() {
        let head = b"HTTP/1.1 200 OK\r\nA: b\r\n\r\n";
        let too_large = Err(ProtoError::HeadTooLarge { limit: 10 });
        assert_eq!(parse_response_head(&head[..9], 10, 100), Ok(None));
        assert_eq!(parse_response_head(&head[..10], 10, 100), too_large);
        assert_eq!(parse_response_head(head, 10, 100), too_large);
        // Exactly at the cap is fine.
        let fits = parse_response_head(head, head.len(), 100);
        assert!(matches!(fits, Ok(Some((_, n))) if n == head.len()));
        // A long header line that never ends is caught by the cap, not buffered forever.
        let mut long = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        long.resize(MAX + 1, b'a');
        assert_eq!(parse(&long), Err(ProtoError::HeadTooLarge { limit: MAX }));
    }

    #[test]
    fn field_count_cap_is_enforced() {
        let mut buf = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..3 {
            buf.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        buf.extend_from_slice(b"\r\n");
        assert!(matches!(parse_response_head(&buf, MAX, 3), Ok(Some(_))));
        assert_eq!(
            parse_response_head(&buf, MAX, 2),
            Err(ProtoError::TooManyHeaders { limit: 2 })
        );
        assert_eq!(
            parse_response_head(&buf, MAX, 0),
            Err(ProtoError::TooManyHeaders { limit: 0 })
        );
    }

    #[test]
    fn errors_show_up_on_partial_input_too() {
        assert_eq!(parse(b"HTTP/2"), Err(ProtoError::BadStatusLine));
        assert_eq!(
            parse(b"HTTP/1.1 200 OK\r\nA: b\r\n "),
            Err(ProtoError::ObsFold)
        );
    }

    /// Deterministic mutations of valid heads (xorshift): never a panic, and a complete head
    /// never claims more bytes than it was given.
    #[test]
    fn mutated_heads_never_panic_or_overreport() {
        let mut next = xorshift(0x2545_F491_4F6C_DD1D);
        for round in 0..4000 {
            let mut buf = VALID[round % VALID.len()].to_vec();
            for _ in 0..1 + next() % 3 {
                let at = (next() as usize) % buf.len();
                buf[at] = next() as u8;
            }
            let cut = (next() as usize) % (buf.len() + 1);
            for input in [&buf[..], &buf[..cut]] {
                if let Ok(Some((_, used))) = parse_response_head(input, 40, 3) {
                    assert!(used <= input.len().min(40));
                }
            }
        }
    }
}
