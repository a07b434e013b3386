//! Request head parsing for the server, with the strict input rules the README lists (RFC 9112 §2-§5).
//! Bytes in, a `RequestHead` out; it does not decide body framing (`framing`) nor map targets
//! to files (`serve::files`).

use super::limits::MAX_REQUEST_LINE;
use super::request_fields::{check_host, find_field_section, parse_fields};
use super::syntax::is_token;
use super::target::has_userinfo;
use super::{Headers, ProtoError};

/// A parsed request line and header section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    /// The method, case-sensitive (RFC 9110 §9.1).
    pub method: String,
    /// The request target exactly as sent (origin-form, absolute-form, `*`).
    pub target: String,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor_version: u8,
    /// The header fields, in order.
    pub headers: Headers,
}

/// Parse a request head from the start of `buf`. `Ok(None)`: incomplete. Caps come from
/// `proto::limits` (request line -> `UriTooLong`, head bytes / field count -> `HeadTooLarge` /
/// `TooManyHeaders`), checked on partial input too so a trickled head cannot grow unbounded.
/// On success the `usize` is the number of bytes the head used (blank line included).
pub fn parse_request_head(buf: &[u8]) -> Result<Option<(RequestHead, usize)>, ProtoError> {
    let start = match skip_leading_empty_lines(buf)? {
        Some(start) => start,
        None => return Ok(None),
    };
    let Some((line, fields_start)) = split_request_line(buf, start)? else {
        return Ok(None);
    };
    let (method, target, minor_version) = parse_request_line(line)?;
    let Some(section) = find_field_section(buf, fields_start)? else {
        return Ok(None);
    };
    let headers = parse_fields(&buf[fields_start..section.lines_end], section.count)?;
    check_host(&headers, minor_version)?;
    let head = RequestHead {
        method,
        target,
        minor_version,
        headers,
    };
    Ok(Some((head, section.end)))
}

/// The status a server answers for a parse error: 400, 414, 431, 501 or 505.
pub fn error_status(e: ProtoError) -> u16 {
    match e {
        ProtoError::UriTooLong { .. } => 414,
        ProtoError::HeadTooLarge { .. } | ProtoError::TooManyHeaders { .. } => 431,
        ProtoError::UnsupportedVersion => 505,
        ProtoError::UnknownTransferCoding => 501,
        _ => 400,
    }
}

/// RFC 9112 §2.2: a server SHOULD ignore at least one empty line (CRLF) before the request
/// line (clients sometimes send one after a POST body). Returns where the request line starts.
fn skip_leading_empty_lines(buf: &[u8]) -> Result<Option<usize>, ProtoError> {
    let mut i = 0;
    loop {
        match buf.get(i..) {
            Some([b'\r', b'\n', ..]) => i += 2,
            Some([b'\r']) => return Ok(None),
            Some([b'\r', ..]) | Some([b'\n', ..]) => return Err(ProtoError::BadRequestLine),
            Some([]) => return Ok(None),
            _ => break,
        }
        // Empty lines count towards the request-line cap, so CRLF floods are bounded too.
        if i > MAX_REQUEST_LINE {
            return Err(ProtoError::UriTooLong {
                limit: MAX_REQUEST_LINE,
            });
        }
    }
    Ok(Some(i))
}

/// The request line without its CRLF, and where the field lines start; `Ok(None)` while the
/// line is incomplete but still within `MAX_REQUEST_LINE` (414 past it, even on partial input).
fn split_request_line(buf: &[u8], start: usize) -> Result<Option<(&[u8], usize)>, ProtoError> {
    let rest = &buf[start..];
    let too_long = Err(ProtoError::UriTooLong {
        limit: MAX_REQUEST_LINE,
    });
    let Some(lf) = rest.iter().position(|&b| b == b'\n') else {
        let pending = rest.len() - usize::from(rest.last() == Some(&b'\r'));
        return if pending > MAX_REQUEST_LINE {
            too_long
        } else {
            Ok(None)
        };
    };
    // RFC 9112 §2.2: lines end in CRLF; a bare LF is refused (no lenient line splitting).
    if lf == 0 || rest[lf - 1] != b'\r' {
        return Err(ProtoError::BadRequestLine);
    }
    let line = &rest[..lf - 1];
    if line.len() > MAX_REQUEST_LINE {
        return too_long;
    }
    Ok(Some((line, start + lf + 1)))
}

/// `method SP request-target SP HTTP-version` (RFC 9112 §3), exactly one SP between parts.
fn parse_request_line(line: &[u8]) -> Result<(String, String, u8), ProtoError> {
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ProtoError::BadRequestLine);
    };
    if !is_token(method) {
        return Err(ProtoError::BadRequestLine);
    }
    // RFC 3986 targets are visible ASCII; control bytes and DEL are refused. Raw UTF-8 is
    // tolerated (curl sends `/café` as typed, and nginx serves it), anything else 8-bit is not.
    if target.is_empty()
        || !target
            .iter()
            .all(|&b| (0x21..=0x7e).contains(&b) || b >= 0x80)
    {
        return Err(ProtoError::BadRequestLine);
    }
    let target = std::str::from_utf8(target).map_err(|_| ProtoError::BadRequestLine)?;
    if has_userinfo(target) {
        return Err(ProtoError::BadRequestLine);
    }
    let minor = parse_version(version)?;
    // The method is tchar, hence ASCII: this conversion cannot fail.
    let method = String::from_utf8_lossy(method).into_owned();
    Ok((method, target.to_string(), minor))
}

/// `HTTP/1.0` -> 0, `HTTP/1.1` -> 1; another well-formed version (`HTTP/2.0`, `HTTP/1.2`,
/// `HTTP/3`) is `UnsupportedVersion` (505, RFC 9110 §15.6.6); anything else is malformed (400).
/// HTTP-name is case-sensitive (RFC 9112 §2.3).
fn parse_version(version: &[u8]) -> Result<u8, ProtoError> {
    match version {
        b"HTTP/1.1" => Ok(1),
        b"HTTP/1.0" => Ok(0),
        [b'H', b'T', b'T', b'P', b'/', rest @ ..] if is_version_number(rest) => {
            Err(ProtoError::UnsupportedVersion)
        }
        _ => Err(ProtoError::BadRequestLine),
    }
}

/// `DIGIT [ "." DIGIT ]`: the shapes real HTTP versions take (1.1, 2, 2.0, 3).
fn is_version_number(v: &[u8]) -> bool {
    match v {
        [d] => d.is_ascii_digit(),
        [a, b'.', b] => a.is_ascii_digit() && b.is_ascii_digit(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::testing::{request_head_error as err, xorshift};
    use ProtoError::*;

    const GOOD: &[u8] = b"GET /a/b?c=d HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\nX-Empty:\r\nX-Ows: \t v a l \t\r\n\r\n";

    fn parse(b: &[u8]) -> Result<Option<(RequestHead, usize)>, ProtoError> {
        parse_request_head(b)
    }

    #[test]
    fn parses_a_full_head() {
        let mut buf = GOOD.to_vec();
        buf.extend_from_slice(b"BODY");
        let (head, used) = parse(&buf).unwrap().unwrap();
        assert_eq!(used, GOOD.len());
        assert_eq!(head.method, "GET");
        assert_eq!(head.target, "/a/b?c=d");
        assert_eq!(head.minor_version, 1);
        assert_eq!(head.headers.get("host"), Some(&b"example.com"[..]));
        assert_eq!(head.headers.get("x-empty"), Some(&b""[..]));
        assert_eq!(head.headers.get("x-ows"), Some(&b"v a l"[..]));
        assert_eq!(head.headers.len(), 4);
    }

    /// Heads that parse: (input, method, target, minor version).
    const VALID_SHAPES: &[(&[u8], &str, &str, u8)] = &[
        (b"GET / HTTP/1.0\r\n\r\n", "GET", "/", 0),
        (b"HEAD /x HTTP/1.0\r\nHost: a\r\n\r\n", "HEAD", "/x", 0),
        (
            b"OPTIONS * HTTP/1.1\r\nHost: a:80\r\n\r\n",
            "OPTIONS",
            "*",
            1,
        ),
        (
            b"GET http://a/b HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET",
            "http://a/b",
            1,
        ),
        (b"\r\nGET / HTTP/1.1\r\nHost: \r\n\r\n", "GET", "/", 1),
        // `@` after the authority is only path or query data.
        (
            b"GET http://a/b@c?d@e HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET",
            "http://a/b@c?d@e",
            1,
        ),
        (b"GET /u@x HTTP/1.1\r\nHost: a\r\n\r\n", "GET", "/u@x", 1),
        (
            b"\r\n\r\nPOST /%41 HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
            "POST",
            "/%41",
            1,
        ),
        (
            b"GET / HTTP/1.1\r\nhOsT: a\r\nX: \xff\xfe obs-text\r\n\r\n",
            "GET",
            "/",
            1,
        ),
        (
            b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET",
            "/caf\u{e9}",
            1,
        ),
    ];

    #[test]
    fn accepts_the_valid_shapes() {
        for (input, method, target, minor) in VALID_SHAPES {
            let (head, used) = parse(input).unwrap().unwrap();
            assert_eq!(
                (head.method.as_str(), head.target.as_str()),
                (*method, *target)
            );
            assert_eq!(head.minor_version, *minor);
            assert_eq!(used, input.len());
        }
    }

    /// Request lines RFC 9112 §2-§3 and the README's strict rules refuse, and why.
    const LINE_REFUSALS: &[(&[u8], ProtoError)] = &[
        (b"GET / HTTP/1.1\n", BadRequestLine),
        (b"GET / HTTP/1.1\rX\r\n", BadRequestLine),
        (b"\n", BadRequestLine),
        (b"\rGET / HTTP/1.1\r\n", BadRequestLine),
        (b"GET  / HTTP/1.1\r\n", BadRequestLine),
        (b"GET / HTTP/1.1 \r\n", BadRequestLine),
        (b" GET / HTTP/1.1\r\n", BadRequestLine),
        (b"GET /\r\n", BadRequestLine),
        (b"GET\r\n", BadRequestLine),
        (b"\r\n\r\n\r\nGE(T / HTTP/1.1\r\n", BadRequestLine),
        (b"GET /a\x01b HTTP/1.1\r\n", BadRequestLine),
        (b"GET /a\x00b HTTP/1.1\r\n", BadRequestLine),
        (b"GET /a\x7f HTTP/1.1\r\n", BadRequestLine),
        (b"GET /\xff HTTP/1.1\r\n", BadRequestLine),
        (b"GET /\xc0\xae HTTP/1.1\r\n", BadRequestLine),
        (b"GET /\xc3 HTTP/1.1\r\n", BadRequestLine),
        (b"GET /a\tb HTTP/1.1\r\n", BadRequestLine),
        (b"GET /a\rb HTTP/1.1\r\n", BadRequestLine),
        (b"GET /a HTTP/x\r\n", BadRequestLine),
        (b"GET /a http/1.1\r\n", BadRequestLine),
        (b"GET /a HTTP/1.10\r\n", BadRequestLine),
        (b"GET /a HTTP/1.\r\n", BadRequestLine),
        (b"GET /a HTTPS/1.1\r\n", BadRequestLine),
        (b"GET /a HTTP/2.0\r\n", UnsupportedVersion),
        (b"GET /a HTTP/1.2\r\n", UnsupportedVersion),
        (b"GET /a HTTP/0.9\r\n", UnsupportedVersion),
        (b"GET /a HTTP/2\r\n", UnsupportedVersion),
        (b"GET /a HTTP/3\r\n", UnsupportedVersion),
        (b"GET http://u:p@x/index.txt HTTP/1.1\r\n", BadRequestLine),
        (b"GET http://u@x HTTP/1.1\r\n", BadRequestLine),
        (b"GET HTTPS://@x/ HTTP/1.1\r\n", BadRequestLine),
        (b"CONNECT u@x:443 HTTP/1.1\r\n", BadRequestLine),
    ];

    #[test]
    fn refuses_what_spec_calls_strict_input() {
        for (input, want) in LINE_REFUSALS {
            assert_eq!(err(input), *want, "{:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn maps_errors_to_statuses() {
        let table = [
            (BadRequestLine, 400),
            (MissingHost, 400),
            (RepeatedHost, 400),
            (ObsFold, 400),
            (WhitespaceBeforeColon, 400),
            (BadHeader, 400),
            (ConflictingContentLength, 400),
            (LengthWithTransferEncoding, 400),
            (BadContentLength, 400),
            (UriTooLong { limit: 1 }, 414),
            (HeadTooLarge { limit: 1 }, 431),
            (TooManyHeaders { limit: 1 }, 431),
            (UnknownTransferCoding, 501),
            (UnsupportedVersion, 505),
        ];
        for (e, status) in table {
            assert_eq!(error_status(e), status, "{e:?}");
        }
    }

    #[test]
    fn request_line_cap_gives_414_on_partial_and_complete_input() {
        let mut line = b"GET /".to_vec();
        line.resize(MAX_REQUEST_LINE - " HTTP/1.1".len(), b'a');
        line.extend_from_slice(b" HTTP/1.1");
        assert_eq!(line.len(), MAX_REQUEST_LINE);
        let mut ok = line.clone();
        ok.extend_from_slice(b"\r\nHost: a\r\n\r\n");
        assert!(parse(&ok).unwrap().is_some());
        // One byte more, complete: 414.
        let mut long = b"GET /a".to_vec();
        long.extend_from_slice(&line[5..]);
        let mut complete = long.clone();
        complete.extend_from_slice(b"\r\nHost: a\r\n\r\n");
        let too_long = ProtoError::UriTooLong {
            limit: MAX_REQUEST_LINE,
        };
        assert_eq!(err(&complete), too_long);
        // Partial, no CRLF yet: exactly at the cap (or cap + CR) still waits, one past fails.
        assert_eq!(parse(&line).unwrap(), None);
        assert_eq!(parse(&[&line[..], b"\r"].concat()).unwrap(), None);
        assert_eq!(err(&vec![b'a'; MAX_REQUEST_LINE + 1]), too_long);
        assert_eq!(err(&b"\r\n".repeat(MAX_REQUEST_LINE)), too_long);
    }

    #[test]
    fn every_prefix_of_a_valid_head_needs_more() {
        for input in [GOOD, b"\r\nGET / HTTP/1.0\r\n\r\n".as_slice()] {
            for n in 0..input.len() {
                assert_eq!(parse(&input[..n]).unwrap(), None, "prefix {n}");
            }
            assert!(parse(input).unwrap().is_some());
        }
    }

    #[test]
    fn every_prefix_of_an_invalid_head_needs_more_or_fails_the_same_way() {
        let table: &[&[u8]] = &[
            b"GET / HTTP/1.1\r\nHost: a\r\nHost : b\r\n\r\n",
            b"GET / HTTP/2.0\r\nHost: a\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n",
        ];
        for input in table {
            let want = err(input);
            for n in 0..input.len() {
                match parse(&input[..n]) {
                    Ok(None) => {}
                    Err(e) => assert_eq!(e, want, "prefix {n}"),
                    Ok(Some(_)) => panic!("prefix {n} parsed"),
                }
            }
        }
    }

    #[test]
    fn byte_by_byte_feeding_gives_the_same_head() {
        let whole = parse(GOOD).unwrap().unwrap();
        let mut buf = Vec::new();
        let mut got = None;
        for &b in GOOD {
            assert!(got.is_none(), "parsed before the last byte");
            buf.push(b);
            got = parse(&buf).unwrap();
        }
        assert_eq!(got, Some(whole));
    }

    /// Mutations of a valid head (flipped, inserted, deleted bytes from a fixed-seed xorshift):
    /// never a panic, a success always consumes a prefix, and feeding the input byte by byte
    /// reaches the same verdict as parsing it whole.
    #[test]
    fn mutated_heads_never_panic_and_parse_the_same_incrementally() {
        let mut next = xorshift(0x9e37_79b9_7f4a_7c15);
        let alphabet = b"\r\n :\t\x00\x7f\x80/%HTP1.0GETa";
        for _ in 0..3000 {
            let mut input = GOOD.to_vec();
            for _ in 0..(next() % 4 + 1) {
                let at = (next() as usize) % input.len();
                let byte = alphabet[(next() as usize) % alphabet.len()];
                match next() % 3 {
                    0 => input[at] = byte,
                    1 => input.insert(at, byte),
                    _ => {
                        input.remove(at);
                    }
                }
            }
            let whole = parse(&input);
            if let Ok(Some((_, used))) = &whole {
                assert!(*used <= input.len());
            }
            let mut verdict = Ok(None);
            for n in 1..=input.len() {
                verdict = parse(&input[..n]);
                if !matches!(verdict, Ok(None)) {
                    break;
                }
            }
            assert_eq!(verdict, whole, "{:?}", String::from_utf8_lossy(&input));
        }
    }

    #[test]
    fn pipelined_heads_report_their_own_length() {
        let two = [GOOD, b"GET /2 HTTP/1.1\r\nHost: b\r\n\r\n"].concat();
        let (first, used) = parse(&two).unwrap().unwrap();
        assert_eq!(first.target, "/a/b?c=d");
        let (second, used2) = parse(&two[used..]).unwrap().unwrap();
        assert_eq!(second.target, "/2");
        assert_eq!(used + used2, two.len());
    }
}
