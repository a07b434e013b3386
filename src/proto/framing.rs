//! Body framing decided by pure functions (RFC 9112 §6.3): no loops, no I/O.

use super::{Headers, ProtoError};

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
    let _ = (method, status, headers);
    todo!("issue 2: proto helper")
}

/// Framing of a request body as a server must see it (RFC 9112 §6.3): `LengthWithTransferEncoding`
/// when both are present, `UnknownTransferCoding` unless the codings end in chunked, `NoBody`
/// when neither is present.
pub fn request_framing(headers: &Headers) -> Result<BodyKind, ProtoError> {
    let _ = headers;
    todo!("issue 2: proto helper")
}

/// Parse every Content-Length value: `Ok(None)` when absent, `BadContentLength` for anything but
/// 1*DIGIT (no sign, no spaces inside, no overflow), `ConflictingContentLength` when the values
/// (including comma-separated lists) disagree.
pub fn parse_content_length(headers: &Headers) -> Result<Option<u64>, ProtoError> {
    let _ = headers;
    todo!("issue 2: proto helper")
}
