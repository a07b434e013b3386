//! Fuzz `proto::framing::{response_framing, request_framing, parse_content_length}` on header
//! lists built from the fuzz bytes.
//!
//! Input: byte 0 picks the method, bytes 1-2 the status (0..=999), the rest is split on `\n`
//! into fields; each line's first byte picks the field name (mostly Content-Length or
//! Transfer-Encoding in some spelling) and the rest is the value.
//! Checks: `parse_content_length` equals an independent oracle; response framing follows
//! RFC 9112 §6.3 (no body for HEAD/1xx/204/304, Transfer-Encoding never errs and beats
//! Content-Length, else the Content-Length verdict or UntilEof); request framing refuses both
//! together, never reads until EOF, and otherwise agrees with the Content-Length verdict.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rawhttp::proto::framing::{
    parse_content_length, request_framing, response_framing, BodyKind,
};
use rawhttp::proto::{Headers, ProtoError};

const METHODS: [&str; 4] = ["GET", "HEAD", "head", "POST"];
const NAMES: [&str; 6] = [
    "Content-Length",
    "content-length",
    "Transfer-Encoding",
    "TRANSFER-ENCODING",
    "Host",
    "X-Other",
];

fn build_headers(fields: &[u8]) -> Headers {
    let mut headers = Headers::new();
    if fields.is_empty() {
        return headers;
    }
    for line in fields.split(|&b| b == b'\n') {
        if let [pick, value @ ..] = line {
            headers.push(NAMES[usize::from(*pick) % NAMES.len()], value);
        }
    }
    headers
}

/// The Content-Length rule restated plainly: every comma-separated member, OWS-trimmed, is
/// 1*DIGIT fitting a u64, and all members agree.
fn oracle_content_length(headers: &Headers) -> Result<Option<u64>, ProtoError> {
    let mut found = None;
    for value in headers.get_all("content-length") {
        for member in value.split(|&b| b == b',') {
            let member = trim_ows(member);
            if member.is_empty() || !member.iter().all(u8::is_ascii_digit) {
                return Err(ProtoError::BadContentLength);
            }
            // All ASCII digits, so the text is UTF-8 and parse only fails on overflow.
            let text = std::str::from_utf8(member).map_err(|_| ProtoError::BadContentLength)?;
            let n: u64 = text.parse().map_err(|_| ProtoError::BadContentLength)?;
            if found.is_some_and(|m| m != n) {
                return Err(ProtoError::ConflictingContentLength);
            }
            found = Some(n);
        }
    }
    Ok(found)
}

fn trim_ows(s: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = s.iter().position(|b| !is_ows(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|b| !is_ows(b)).map_or(start, |e| e + 1);
    &s[start..end.max(start)]
}

fn check_response(method: &str, status: u16, headers: &Headers, cl: Result<Option<u64>, ProtoError>) {
    let got = response_framing(method, status, headers);
    let no_body = method.eq_ignore_ascii_case("HEAD")
        || (100..200).contains(&status)
        || status == 204
        || status == 304;
    if no_body {
        assert_eq!(got, Ok(BodyKind::NoBody));
    } else if headers.count("transfer-encoding") > 0 {
        assert!(matches!(got, Ok(BodyKind::Chunked | BodyKind::UntilEof)), "{got:?}");
    } else {
        let want = cl.map(|n| n.map_or(BodyKind::UntilEof, BodyKind::Length));
        assert_eq!(got, want);
    }
}

fn check_request(headers: &Headers, cl: Result<Option<u64>, ProtoError>) {
    let got = request_framing(headers);
    let te = headers.count("transfer-encoding") > 0;
    if te && headers.count("content-length") > 0 {
        assert_eq!(got, Err(ProtoError::LengthWithTransferEncoding));
    } else if te {
        assert!(
            matches!(got, Ok(BodyKind::Chunked) | Err(ProtoError::UnknownTransferCoding)),
            "{got:?}"
        );
    } else {
        let want = cl.map(|n| n.map_or(BodyKind::NoBody, BodyKind::Length));
        assert_eq!(got, want);
    }
}

fuzz_target!(|data: &[u8]| {
    let [m, s1, s2, fields @ ..] = data else {
        return;
    };
    let method = METHODS[usize::from(*m) % METHODS.len()];
    let status = u16::from_be_bytes([*s1, *s2]) % 1000;
    let headers = build_headers(fields);
    let cl = parse_content_length(&headers);
    assert_eq!(cl, oracle_content_length(&headers), "{headers:?}");
    check_response(method, status, &headers, cl);
    check_request(&headers, cl);
});
