//! Incremental chunked-body decoder (RFC 9112 §7.1): `feed(input, output) -> (used, produced)`.

use super::{Headers, ProtoError};

/// Decodes a chunked body fed in arbitrary pieces, trailers included.
#[derive(Debug, Default)]
pub struct ChunkedDecoder {
    _todo: (),
}

impl ChunkedDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Consume bytes from `input`, write decoded body bytes to `output`. Returns
    /// `(used, produced)`. Making no progress is not an error: it means more input (or more
    /// output room) is needed. After the last chunk and trailers, `is_done()` is true and the
    /// decoder uses no more input (bytes after it belong to the next message).
    pub fn feed(&mut self, input: &[u8], output: &mut [u8]) -> Result<(usize, usize), ProtoError> {
        let _ = (input, output);
        todo!("issue 2: proto helper")
    }

    /// The last chunk and the trailer section have been read.
    pub fn is_done(&self) -> bool {
        todo!("issue 2: proto helper")
    }

    /// Trailer fields seen after the last chunk.
    pub fn trailers(&self) -> &Headers {
        todo!("issue 2: proto helper")
    }
}
