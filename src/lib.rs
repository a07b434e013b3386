//! rawhttp: fetch URLs, save pages and serve folders over HTTP/1.1 and HTTPS, on sockets we own.
//!
//! - [`fetch`]: a blocking HTTP/1.1 client on `std::net::TcpStream` (+ rustls), used by
//!   `rawhttp fetch` and callable from Rust ([`fetch::Request`]).
//! - [`serve`]: a static-file responder on mio event loops (+ rustls), used by `rawhttp serve`
//!   and as a test-fixture library ([`serve::Server`]).
//! - [`proto`]: the sans-IO HTTP/1.1 core both are built on.
//!
//! Deliberately left out (the README's "Deliberately left out" says why): request bodies,
//! HTTP/2 and HTTP/3, cookies, authentication schemes, CGI or any dynamic content.

#![warn(missing_docs)]

pub mod error;
pub mod fetch;
pub mod proto;
pub mod save;
pub mod serve;
mod tls;

pub use error::{Error, ProtoError};

/// The `url` crate, re-exported so `rawhttp::url::Url` works without adding it as a dependency
/// (and is always the version this crate's API takes).
pub use url;

/// The README's Rust example, compiled and run by `cargo test` so it keeps working as pasted.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
