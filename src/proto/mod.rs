//! Sans-IO HTTP/1.1: bytes in, values out. Nothing here touches a socket, a file or a clock.

pub mod chunked;
mod error;
pub mod framing;
pub mod headers;
pub mod limits;
pub mod range;
mod request_fields;
pub mod request_head;
pub mod response_head;
pub mod status;
pub mod syntax;
pub mod target;
#[cfg(test)]
pub(crate) mod testing;

pub use error::ProtoError;
pub use headers::Headers;
