//! A request's header section (RFC 9112 §5, RFC 9110 §5): found within the caps, each field
//! line parsed strictly, Host checked. The request line and the head as a whole are
//! `request_head`'s; this module never sees the request line.

use super::limits::{MAX_REQUEST_HEAD, MAX_REQUEST_HEADERS};
use super::syntax::{is_field_vchar, is_token, trim_ows};
use super::{Headers, ProtoError};

/// Where a complete header section lies in the buffer.
pub(super) struct FieldSection {
    /// Number of field lines.
    pub(super) count: usize,
    /// Offset just past the last field line's CRLF (where the blank line starts).
    pub(super) lines_end: usize,
    /// Offset just past the blank line: the head's length.
    pub(super) end: usize,
}

/// Find the blank line that ends the field lines, checking every line ends in CRLF; `Ok(None)`
/// while incomplete. The header section (field lines and the blank line) is capped at
/// `MAX_REQUEST_HEAD` bytes and `MAX_REQUEST_HEADERS` lines, on partial input too (431). Only
/// offsets are kept: the lines are parsed once the section is known to be complete and within
/// the caps, without collecting them first (this runs for every request the server reads).
pub(super) fn find_field_section(
    buf: &[u8],
    start: usize,
) -> Result<Option<FieldSection>, ProtoError> {
    let mut count = 0;
    let mut pos = start;
    while let Some(lf) = buf[pos..].iter().position(|&b| b == b'\n') {
        let end = pos + lf + 1;
        if end - start > MAX_REQUEST_HEAD {
            return Err(head_too_large());
        }
        if lf == 0 || buf[pos + lf - 1] != b'\r' {
            return Err(ProtoError::BadHeader); // bare LF (RFC 9112 §2.2)
        }
        if lf == 1 {
            // A line that is only CRLF: the end of the header section (RFC 9112 §2.1).
            let lines_end = pos;
            return Ok(Some(FieldSection {
                count,
                lines_end,
                end,
            }));
        }
        if count == MAX_REQUEST_HEADERS {
            return Err(ProtoError::TooManyHeaders {
                limit: MAX_REQUEST_HEADERS,
            });
        }
        count += 1;
        pos = end;
    }
    if buf.len() - start > MAX_REQUEST_HEAD {
        return Err(head_too_large());
    }
    Ok(None)
}

pub(super) fn head_too_large() -> ProtoError {
    ProtoError::HeadTooLarge {
        limit: MAX_REQUEST_HEAD,
    }
}

/// Parse `count` field lines, each ending in CRLF (`find_field_section` checked that).
pub(super) fn parse_fields(lines: &[u8], count: usize) -> Result<Headers, ProtoError> {
    let mut headers = Headers::with_capacity(count);
    // Every line ends in LF, so the piece after the last one is empty and skipped.
    for line in lines.split(|&b| b == b'\n').take(count) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let (name, value) = parse_field(line)?;
        headers.push(name, value);
    }
    Ok(headers)
}

/// `field-name ":" OWS field-value OWS` (RFC 9112 §5). A leading SP/HTAB is obs-fold (§5.2)
/// (or whitespace after the start line, §2.2), refused either way; whitespace before the colon
/// is refused (§5.1); values hold only HTAB, SP, VCHAR and obs-text (RFC 9110 §5.5).
fn parse_field(line: &[u8]) -> Result<(&str, &[u8]), ProtoError> {
    if matches!(line.first(), Some(b' ' | b'\t')) {
        return Err(ProtoError::ObsFold);
    }
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or(ProtoError::BadHeader)?;
    let name = &line[..colon];
    if !is_token(name) {
        return Err(name_error(name));
    }
    let value = trim_ows(&line[colon + 1..]);
    if !value.iter().all(|&b| is_field_vchar(b)) {
        return Err(ProtoError::BadHeader);
    }
    // tchar is ASCII, so the name is valid UTF-8.
    let name = std::str::from_utf8(name).map_err(|_| ProtoError::BadHeader)?;
    Ok((name, value))
}

/// Why a field name is not a token: a token followed by whitespace is whitespace before the
/// colon, which RFC 9112 §5.1 says a server MUST reject (one hop may strip it, another not);
/// anything else is a malformed name. (A leading space was already refused as obs-fold.)
fn name_error(name: &[u8]) -> ProtoError {
    let trimmed = trim_ows(name);
    if trimmed.len() < name.len() && is_token(trimmed) {
        ProtoError::WhitespaceBeforeColon
    } else {
        ProtoError::BadHeader
    }
}

/// RFC 9112 §3.2: 400 for an HTTP/1.1 request without Host, and for any request with more than
/// one Host line or an invalid Host value.
pub(super) fn check_host(headers: &Headers, minor_version: u8) -> Result<(), ProtoError> {
    let mut hosts = headers.get_all("host");
    match (hosts.next(), hosts.next()) {
        (None, _) if minor_version >= 1 => Err(ProtoError::MissingHost),
        (None, _) => Ok(()),
        (Some(_), Some(_)) => Err(ProtoError::RepeatedHost),
        (Some(host), None) if is_valid_host(host) => Ok(()),
        (Some(_), None) => Err(ProtoError::BadHeader),
    }
}

/// `uri-host [ ":" port ]` (RFC 3986 §3.2.2): reg-name, IPv4 or bracketed IP literal characters.
/// Empty is allowed (RFC 9112 §3.2: a target without authority sends an empty Host).
fn is_valid_host(host: &[u8]) -> bool {
    host.iter().all(|&b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'['
                    | b']'
                    | b'%'
            )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::request_head::parse_request_head as parse;
    use crate::proto::testing::request_head_error as err;
    use ProtoError::*;

    /// Header sections RFC 9112 §3.2 and §5 and RFC 9110 §5 refuse, and why.
    const FIELD_REFUSALS: &[(&[u8], ProtoError)] = &[
        (b"GET / HTTP/1.1\r\n\r\n", MissingHost),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
            RepeatedHost,
        ),
        (
            b"GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n",
            RepeatedHost,
        ),
        (b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", BadHeader),
        (b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", BadHeader),
        (b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", WhitespaceBeforeColon),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nX\t: 1\r\n\r\n",
            WhitespaceBeforeColon,
        ),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n  2\r\n\r\n", ObsFold),
        (b"GET / HTTP/1.1\r\n Host: a\r\n\r\n", ObsFold),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n", BadHeader),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", BadHeader),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fb\r\n\r\n", BadHeader),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", BadHeader),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX: ab\n\r\n", BadHeader),
        (b"GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", BadHeader),
        (b"GET / HTTP/1.1\r\nHost: a\r\n: empty\r\n\r\n", BadHeader),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX(y): 1\r\n\r\n", BadHeader),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX y: 1\r\n\r\n", BadHeader),
    ];

    #[test]
    fn refuses_malformed_fields_and_hosts() {
        for (input, want) in FIELD_REFUSALS {
            assert_eq!(err(input), *want, "{:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn header_caps_give_431_on_partial_and_complete_input() {
        let too_many = ProtoError::TooManyHeaders {
            limit: MAX_REQUEST_HEADERS,
        };
        let mut head = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
        for i in 1..MAX_REQUEST_HEADERS {
            head.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        assert!(parse(&[&head[..], b"\r\n"].concat()).unwrap().is_some());
        head.extend_from_slice(b"X-last: v\r\n");
        assert_eq!(err(&head), too_many, "partial");
        assert_eq!(err(&[&head[..], b"\r\n"].concat()), too_many);

        let too_large = head_too_large();
        let mut big = b"GET / HTTP/1.1\r\nHost: a\r\nX: ".to_vec();
        big.resize(16 + MAX_REQUEST_HEAD, b'v');
        assert_eq!(parse(&big).unwrap(), None, "exactly at the cap, partial");
        big.push(b'v');
        assert_eq!(err(&big), too_large, "partial");
        assert_eq!(err(&[&big[..], b"\r\n\r\n"].concat()), too_large);
        // A section of exactly MAX_REQUEST_HEAD bytes (blank line included) is accepted.
        let mut exact = b"GET / HTTP/1.1\r\nHost: a\r\nX: ".to_vec();
        exact.resize(16 + MAX_REQUEST_HEAD - 4, b'v');
        exact.extend_from_slice(b"\r\n\r\n");
        assert!(parse(&exact).unwrap().is_some());
    }
}
