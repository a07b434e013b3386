//! The chunked transfer coding (RFC 9112 §7.1): `decoder` reads a chunked body fed in pieces,
//! `encoder` writes one. Choosing chunked framing is `framing`'s decision, not theirs.

mod decoder;
mod encoder;

pub use decoder::ChunkedDecoder;
pub use encoder::{encode_chunk, encode_last_chunk, end_chunk, start_chunk, LAST_CHUNK};
