//! Response head parsing over httparse into an owned `ResponseHead`; `Ok(None)` means "need more".
//! (Request heads, with the server's stricter rules, are in `request.rs`.)

use super::{Headers, ProtoError};

/// A parsed status line and header section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor_version: u8,
    pub status: u16,
    pub reason: String,
    pub headers: Headers,
}

/// Parse a response head from the start of `buf`. `Ok(None)`: incomplete, read more (the caller
/// enforces its byte cap with `max_head`, reported as `HeadTooLarge` once `buf` exceeds it
/// without a complete head). `Ok(Some((head, used)))`: `used` bytes were the head.
pub fn parse_response_head(
    buf: &[u8],
    max_head: usize,
    max_headers: usize,
) -> Result<Option<(ResponseHead, usize)>, ProtoError> {
    let _ = (buf, max_head, max_headers);
    todo!("issue 2: proto helper")
}
