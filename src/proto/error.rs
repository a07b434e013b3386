//! What the sans-IO parsers reject: `ProtoError`, small, `Copy` and comparable so unit tables
//! can `assert_eq!` on it (ARCHITECTURE.md rule 6). The crate's `Error` wraps it as
//! `Error::Protocol`; mapping it to an exit code or a status is the callers' job.

use std::fmt;

/// What the sans-IO parsers in `proto` reject. Small and `Copy` so tests can `assert_eq!` on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtoError {
    /// The head grew past the caller's byte cap before its blank line.
    HeadTooLarge {
        /// The cap that was exceeded, in bytes.
        limit: usize,
    },
    /// More header fields than the caller's cap.
    TooManyHeaders {
        /// The cap on the number of fields.
        limit: usize,
    },
    /// The status line is not `HTTP/1.x NNN reason`.
    BadStatusLine,
    /// The request line is not `METHOD SP target SP HTTP/x.y`.
    BadRequestLine,
    /// The request line is longer than the cap (414).
    UriTooLong {
        /// The cap on the request line, in bytes.
        limit: usize,
    },
    /// A version other than HTTP/1.0 or HTTP/1.1 (505).
    UnsupportedVersion,
    /// A field name or value with bytes RFC 9110 §5 forbids.
    BadHeader,
    /// Whitespace between a field name and its colon (RFC 9112 §5.1).
    WhitespaceBeforeColon,
    /// A line folded with obs-fold (RFC 9112 §5.2).
    ObsFold,
    /// HTTP/1.1 request without Host, or with more than one (RFC 9112 §3.2).
    MissingHost,
    /// HTTP/1.1 request with more than one Host (RFC 9112 §3.2).
    RepeatedHost,
    /// Content-Length that is not plain digits, or too big for u64.
    BadContentLength,
    /// Several Content-Length values that disagree (RFC 9112 §6.3 rule 5).
    ConflictingContentLength,
    /// Content-Length and Transfer-Encoding in one request (RFC 9112 §6.3 rule 3).
    LengthWithTransferEncoding,
    /// A transfer coding other than chunked (501 in a request).
    UnknownTransferCoding,
    /// A chunk-size line that is not hex, overflows, or is too long.
    BadChunkSize,
    /// Chunk data not followed by CRLF.
    BadChunkEnd,
    /// The trailer section is malformed or over its cap.
    BadTrailer,
    /// A Range or Content-Range header that cannot be parsed.
    BadRange,
    /// The response starts with a TLS record: plain HTTP was sent to a TLS port.
    TlsRecord,
}

impl fmt::Display for ProtoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtoError::HeadTooLarge { limit } => write!(f, "head larger than {limit} bytes"),
            ProtoError::TooManyHeaders { limit } => write!(f, "more than {limit} header fields"),
            ProtoError::BadStatusLine => f.write_str("malformed status line"),
            ProtoError::BadRequestLine => f.write_str("malformed request line"),
            ProtoError::UriTooLong { limit } => write!(f, "request line longer than {limit} bytes"),
            ProtoError::UnsupportedVersion => f.write_str("unsupported HTTP version"),
            ProtoError::BadHeader => f.write_str("malformed header field"),
            ProtoError::WhitespaceBeforeColon => f.write_str("whitespace before a header colon"),
            ProtoError::ObsFold => f.write_str("folded header line"),
            ProtoError::MissingHost => f.write_str("missing Host header"),
            ProtoError::RepeatedHost => f.write_str("repeated Host header"),
            ProtoError::BadContentLength => f.write_str("malformed Content-Length"),
            ProtoError::ConflictingContentLength => {
                f.write_str("conflicting Content-Length values")
            }
            ProtoError::LengthWithTransferEncoding => {
                f.write_str("Content-Length together with Transfer-Encoding")
            }
            ProtoError::UnknownTransferCoding => f.write_str("unsupported transfer coding"),
            ProtoError::BadChunkSize => f.write_str("malformed chunk size"),
            ProtoError::BadChunkEnd => f.write_str("chunk not terminated by CRLF"),
            ProtoError::BadTrailer => f.write_str("malformed trailer section"),
            ProtoError::BadRange => f.write_str("malformed range"),
            ProtoError::TlsRecord => {
                f.write_str("the server speaks TLS on this port; use an https:// URL")
            }
        }
    }
}

impl std::error::Error for ProtoError {}
