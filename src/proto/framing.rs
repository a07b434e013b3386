//! Body framing decided by pure functions (RFC 9112 §6.3): no loops, no I/O. Decoding the body
//! is someone else's job (`chunked.rs`, the client's body reader).

use super::syntax::{parse_decimal, trim_ows};
use super::{status, Headers, ProtoError};

/// How the body of a message is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// No body at all (HEAD, 1xx, 204, 304, or a request without length).
    NoBody,
    /// Exactly this many bytes.
    Length(u64),
    /// Transfer-Encoding: chunked.
    Chunked,
    /// Until the connection closes (responses only; the body is then "unverified").
    UntilEof,
}

/// Framing of a response to a request with method `method` (RFC 9112 §6.3 rules 1-7).
/// Chunked wins over Content-Length; Content-Length is digits only; conflicting values are an
/// error; a non-chunked final coding means read until EOF.
pub fn response_framing(
    method: &str,
    status: u16,
    headers: &Headers,
) -> Result<BodyKind, ProtoError> {
    // Rule 1: responses to HEAD, 1xx, 204 and 304 end at the blank line whatever their
    // headers say (a 304 or a HEAD answer may carry the Content-Length of the full body).
    if method.eq_ignore_ascii_case("HEAD") || !status::has_body(status) {
        return Ok(BodyKind::NoBody);
    }
    // Rule 4: Transfer-Encoding overrides Content-Length; chunked last means chunked, any
    // other final coding means the body runs until the server closes.
    if let Some(chunked) = final_coding_is_chunked(headers) {
        return Ok(if chunked {
            BodyKind::Chunked
        } else {
            BodyKind::UntilEof
        });
    }
    // Rules 5-7: a valid Content-Length, else read until close.
    Ok(match parse_content_length(headers)? {
        Some(n) => BodyKind::Length(n),
        None => BodyKind::UntilEof,
    })
}

/// Framing of a request body as a server must see it (RFC 9112 §6.3): `LengthWithTransferEncoding`
/// when both are present, `UnknownTransferCoding` unless the codings end in chunked, `NoBody`
/// when neither is present.
pub fn request_framing(headers: &Headers) -> Result<BodyKind, ProtoError> {
    let chunked = final_coding_is_chunked(headers);
    // Rule 3: a request with both is a smuggling attempt or a broken client; either way the
    // server must not guess which one its peer honoured.
    if chunked.is_some() && headers.count("content-length") > 0 {
        return Err(ProtoError::LengthWithTransferEncoding);
    }
    match chunked {
        Some(true) => Ok(BodyKind::Chunked),
        // Rule 4: a request whose final coding is not chunked has no reliable length (400/501).
        Some(false) => Err(ProtoError::UnknownTransferCoding),
        // Rule 6: a request with neither has no body.
        None => Ok(match parse_content_length(headers)? {
            Some(n) => BodyKind::Length(n),
            None => BodyKind::NoBody,
        }),
    }
}

/// Parse every Content-Length value: `Ok(None)` when absent, `BadContentLength` for anything but
/// 1*DIGIT (no sign, no spaces inside, no overflow), `ConflictingContentLength` when the values
/// (including comma-separated lists) disagree.
///
/// Optional whitespace around a value and around list members is not part of it (RFC 9110
/// §5.5, §5.6.1), so ` 5 ` and `5, 5` are 5; an empty member is refused rather than skipped,
/// since a length is never legitimately empty.
pub fn parse_content_length(headers: &Headers) -> Result<Option<u64>, ProtoError> {
    let mut found: Option<u64> = None;
    for value in headers.get_all("content-length") {
        for member in value.split(|&b| b == b',') {
            let n = parse_decimal(trim_ows(member)).ok_or(ProtoError::BadContentLength)?;
            match found {
                // RFC 9112 §6.3 rule 5: differing values are unrecoverable framing errors.
                Some(m) if m != n => return Err(ProtoError::ConflictingContentLength),
                _ => found = Some(n),
            }
        }
    }
    Ok(found)
}

/// `Some(true)` when Transfer-Encoding is present and its final coding is chunked,
/// `Some(false)` when present with another final coding (or no coding at all), `None` when absent.
fn final_coding_is_chunked(headers: &Headers) -> Option<bool> {
    if headers.count("transfer-encoding") == 0 {
        return None;
    }
    // The codings form one list across all fields, in order (RFC 9110 §5.3); empty members are
    // skipped (RFC 9110 §5.6.1); parameters after `;` do not change the coding's name.
    let last = headers
        .get_all("transfer-encoding")
        .flat_map(|v| v.split(|&b| b == b','))
        .map(|m| trim_ows(m.split(|&b| b == b';').next().unwrap_or(m)))
        .filter(|m| !m.is_empty())
        .last();
    Some(last.is_some_and(|c| c.eq_ignore_ascii_case(b"chunked")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use BodyKind::*;

    type Fields<'a> = &'a [(&'a str, &'a str)];
    type Verdict = Result<BodyKind, ProtoError>;
    type LengthVerdict = Result<Option<u64>, ProtoError>;

    fn headers(fields: &[(&str, &str)]) -> Headers {
        let mut h = Headers::new();
        for (n, v) in fields {
            h.push(n, v.as_bytes());
        }
        h
    }

    #[test]
    fn content_length_table() {
        let bad = Err(ProtoError::BadContentLength);
        let conflict = Err(ProtoError::ConflictingContentLength);
        let cases: &[(&[&str], LengthVerdict)] = &[
            (&[], Ok(None)),
            (&["5"], Ok(Some(5))),
            (&["0"], Ok(Some(0))),
            (&["007"], Ok(Some(7))),
            (&[" 5"], Ok(Some(5))),
            (&["5 \t"], Ok(Some(5))),
            (&["5, 5"], Ok(Some(5))),
            (&["5 ,5 , 5"], Ok(Some(5))),
            (&["5", "5"], Ok(Some(5))),
            (&["18446744073709551615"], Ok(Some(u64::MAX))),
            (&["18446744073709551616"], bad),
            (&["99999999999999999999999"], bad),
            (&["+5"], bad),
            (&["-1"], bad),
            (&["5 6"], bad),
            (&["0x5"], bad),
            (&["5a"], bad),
            (&[""], bad),
            (&["  "], bad),
            (&["5,"], bad),
            (&["5,,5"], bad),
            (&["\u{663}"], bad),
            (&["5, 6"], conflict),
            (&["5", "6"], conflict),
            (&["5", "5, 6"], conflict),
            (&["5", "+5"], bad),
        ];
        for (values, want) in cases {
            let fields: Vec<_> = values.iter().map(|v| ("Content-Length", *v)).collect();
            assert_eq!(parse_content_length(&headers(&fields)), *want, "{values:?}");
        }
    }

    /// (method, status, fields) -> the response's framing (RFC 9112 §6.3).
    const RESPONSE_CASES: &[(&str, u16, Fields, Verdict)] = &[
        ("GET", 200, &[("Content-Length", "10")], Ok(Length(10))),
        ("GET", 200, &[("content-length", "0")], Ok(Length(0))),
        ("GET", 200, &[], Ok(UntilEof)),
        ("HEAD", 200, &[("Content-Length", "10")], Ok(NoBody)),
        ("head", 200, &[("Transfer-Encoding", "chunked")], Ok(NoBody)),
        ("GET", 100, &[], Ok(NoBody)),
        // Found by fuzzing: a code below 100 is no 1xx; its Content-Length is read as usual.
        (
            "POST",
            0,
            &[("Content-Length", "")],
            Err(ProtoError::BadContentLength),
        ),
        ("GET", 99, &[("Content-Length", "5")], Ok(Length(5))),
        ("GET", 103, &[("Content-Length", "5")], Ok(NoBody)),
        ("GET", 204, &[("Content-Length", "5")], Ok(NoBody)),
        ("GET", 304, &[("Content-Length", "5")], Ok(NoBody)),
        ("GET", 304, &[("Content-Length", "+5")], Ok(NoBody)),
        ("GET", 200, &[("Transfer-Encoding", "chunked")], Ok(Chunked)),
        ("GET", 200, &[("Transfer-Encoding", "CHUNKED")], Ok(Chunked)),
        (
            "GET",
            200,
            &[("Transfer-Encoding", "gzip, chunked")],
            Ok(Chunked),
        ),
        (
            "GET",
            200,
            &[
                ("Transfer-Encoding", "gzip"),
                ("Transfer-Encoding", "chunked"),
            ],
            Ok(Chunked),
        ),
        (
            "GET",
            200,
            &[("Transfer-Encoding", "chunked ,")],
            Ok(Chunked),
        ),
        (
            "GET",
            200,
            &[("Transfer-Encoding", "chunked"), ("Content-Length", "5")],
            Ok(Chunked),
        ),
        (
            "GET",
            200,
            &[("Content-Length", "x"), ("Transfer-Encoding", "chunked")],
            Ok(Chunked),
        ),
        (
            "GET",
            200,
            &[("Transfer-Encoding", "chunked, gzip")],
            Ok(UntilEof),
        ),
        ("GET", 200, &[("Transfer-Encoding", "gzip")], Ok(UntilEof)),
        ("GET", 200, &[("Transfer-Encoding", "")], Ok(UntilEof)),
        (
            "GET",
            200,
            &[("Transfer-Encoding", "gzip"), ("Content-Length", "5")],
            Ok(UntilEof),
        ),
        (
            "GET",
            200,
            &[("Content-Length", "+5")],
            Err(ProtoError::BadContentLength),
        ),
        (
            "GET",
            404,
            &[("Content-Length", "5, 6")],
            Err(ProtoError::ConflictingContentLength),
        ),
        ("POST", 201, &[("Content-Length", "3")], Ok(Length(3))),
    ];

    #[test]
    fn response_framing_table() {
        for (method, status, fields, want) in RESPONSE_CASES {
            let got = response_framing(method, *status, &headers(fields));
            assert_eq!(got, *want, "{method} {status} {fields:?}");
        }
    }

    #[test]
    fn request_framing_table() {
        let cases: &[(Fields, Verdict)] = &[
            (&[], Ok(NoBody)),
            (&[("Content-Length", "12")], Ok(Length(12))),
            (&[("Content-Length", "0")], Ok(Length(0))),
            (&[("Transfer-Encoding", "chunked")], Ok(Chunked)),
            (&[("Transfer-Encoding", "gzip, chunked")], Ok(Chunked)),
            (
                &[("Transfer-Encoding", "gzip")],
                Err(ProtoError::UnknownTransferCoding),
            ),
            (
                &[("Transfer-Encoding", "chunked, gzip")],
                Err(ProtoError::UnknownTransferCoding),
            ),
            (
                &[("Transfer-Encoding", "")],
                Err(ProtoError::UnknownTransferCoding),
            ),
            (
                &[("Transfer-Encoding", "chunked"), ("Content-Length", "5")],
                Err(ProtoError::LengthWithTransferEncoding),
            ),
            (
                &[("Content-Length", "5"), ("Transfer-Encoding", "gzip")],
                Err(ProtoError::LengthWithTransferEncoding),
            ),
            (
                &[("Content-Length", "-1")],
                Err(ProtoError::BadContentLength),
            ),
            (
                &[("Content-Length", "1"), ("Content-Length", "2")],
                Err(ProtoError::ConflictingContentLength),
            ),
        ];
        for (fields, want) in cases {
            assert_eq!(request_framing(&headers(fields)), *want, "{fields:?}");
        }
    }
}
