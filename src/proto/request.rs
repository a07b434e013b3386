//! Request head parsing for the server, with the strict input rules of SPEC.md (RFC 9112 §3, §5).

use super::{Headers, ProtoError};

/// A parsed request line and header section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    pub method: String,
    /// The request target exactly as sent (origin-form, absolute-form, `*`).
    pub target: String,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor_version: u8,
    pub headers: Headers,
}

/// Parse a request head from the start of `buf`. `Ok(None)`: incomplete. Caps come from
/// `proto::limits` (request line -> `UriTooLong`, head bytes / field count -> `HeadTooLarge` /
/// `TooManyHeaders`), checked on partial input too so a trickled head cannot grow unbounded.
pub fn parse_request_head(buf: &[u8]) -> Result<Option<(RequestHead, usize)>, ProtoError> {
    let _ = buf;
    todo!("issue 3: serve-pure helper")
}

/// The status a server answers for a parse error: 400, 414, 431, 501 or 505.
pub fn error_status(e: ProtoError) -> u16 {
    let _ = e;
    todo!("issue 3: serve-pure helper")
}
