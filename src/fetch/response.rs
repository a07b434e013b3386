//! What `Request::send` hands back: the final head, the body as `io::Read`, and the lease that
//! puts a fully read connection back into its pool. It reads no head itself (`exchange` did).

use std::io::{self, Read};
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use super::body::{Body, TimedStream};
use super::pool::{Pool, Route};
use crate::proto::framing::BodyKind;
use crate::proto::limits;
use crate::proto::response_head::ResponseHead;
use crate::proto::Headers;
use crate::Error;

/// When each phase of the last request ended, measured from its start (curl's `-w` times).
/// A reused connection has no name lookup, connect or TLS phase: those stay zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timings {
    /// Name resolved.
    pub namelookup: Duration,
    /// TCP connected.
    pub connect: Duration,
    /// TLS handshake done (zero for plain HTTP).
    pub appconnect: Duration,
    /// Final response head received.
    pub starttransfer: Duration,
}

/// A response whose head has been read; the body is read through `io::Read` (or
/// [`Response::read_body`], which keeps the crate's error).
#[derive(Debug)]
pub struct Response {
    pub(super) url: Url,
    pub(super) head: ResponseHead,
    pub(super) raw_head: Vec<u8>,
    pub(super) timings: Timings,
    pub(super) history: Vec<Vec<u8>>,
    pub(super) body: Body<TimedStream>,
    pub(super) lease: Lease,
}

/// Where a response's connection may go back to once its body has been read.
#[derive(Debug)]
pub(super) struct Lease {
    /// `None` when the connection may not persist (no pool, or a side said close).
    pub(super) pool: Option<Arc<Pool>>,
    pub(super) route: Route,
    /// The connection came from the pool.
    pub(super) reused: bool,
}

impl Response {
    /// The status code.
    pub fn status(&self) -> u16 {
        self.head.status
    }

    /// The reason phrase.
    pub fn reason(&self) -> &str {
        &self.head.reason
    }

    /// The header fields, in wire order.
    pub fn headers(&self) -> &Headers {
        &self.head.headers
    }

    /// The parsed head (version, status, reason, headers).
    pub fn head(&self) -> &ResponseHead {
        &self.head
    }

    /// The head exactly as received (for `-i` / `-D`).
    pub fn raw_head(&self) -> &[u8] {
        &self.raw_head
    }

    /// Raw heads of the redirect responses followed before this one, oldest first.
    pub fn redirect_heads(&self) -> &[Vec<u8>] {
        &self.history
    }

    /// The URL this response came from (after redirects).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// How the body is delimited.
    pub fn body_kind(&self) -> BodyKind {
        self.body.kind()
    }

    /// The announced body length, when framed by Content-Length.
    pub fn content_length(&self) -> Option<u64> {
        match self.body.kind() {
            BodyKind::Length(n) => Some(n),
            _ => None,
        }
    }

    /// Body bytes read so far.
    pub fn body_received(&self) -> u64 {
        self.body.received()
    }

    /// The whole body has been read.
    pub fn is_complete(&self) -> bool {
        self.body.is_done()
    }

    /// The body was read to the end its framing announced (Content-Length or last chunk).
    /// A body delimited by the connection closing is never verified.
    pub fn is_verified(&self) -> bool {
        self.body.is_verified()
    }

    /// Trailer fields of a chunked body, once it has been read.
    pub fn trailers(&self) -> &Headers {
        self.body.trailers()
    }

    /// Whether the connection is TLS.
    pub fn is_tls(&self) -> bool {
        self.body.incoming.source.stream.is_tls()
    }

    /// The request went over a kept-alive connection from the pool.
    pub fn connection_reused(&self) -> bool {
        self.lease.reused
    }

    /// Phase times of the request that got this response (the last hop's, after redirects).
    pub fn timings(&self) -> Timings {
        self.timings
    }

    /// The server's address (`None` if the socket cannot tell).
    pub fn remote_addr(&self) -> Option<std::net::SocketAddr> {
        self.body.incoming.source.stream.tcp().peer_addr().ok()
    }

    /// Give the connection back to the request's pool, when there is one, the body was read
    /// to its verified end, nothing follows it, and neither side said `close`. Otherwise the
    /// connection is closed. Returns whether it was pooled.
    pub fn release(self) -> bool {
        let Response { body, lease, .. } = self;
        let Some(pool) = lease.pool else {
            return false;
        };
        // Bytes after the body (or an unfinished body) leave the connection out of step.
        if !body.is_verified() || body.incoming.has_buffered() {
            return false;
        }
        pool.put_route(lease.route, body.incoming.source.stream);
        true
    }

    /// Read and drop the rest of a small body (a redirect's or an error page's), then
    /// [`release`](Self::release). Larger bodies are not read: the connection is closed.
    pub fn discard(mut self) -> bool {
        if self.lease.pool.is_none() {
            return false;
        }
        let mut left = limits::MAX_DRAINED_REDIRECT_BODY;
        let mut buf = [0u8; 8192];
        while !self.body.is_done() {
            match self.body.read(&mut buf) {
                Ok(n) if n > 0 && (n as u64) <= left => left -= n as u64,
                _ => return false,
            }
        }
        self.release()
    }

    /// Read body bytes; `Ok(0)` at the end. Errors carry the URL.
    pub fn read_body(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        self.body.read(buf).map_err(|e| e.at_url(self.url.as_str()))
    }
}

/// The io::ErrorKind that best describes a crate error inside `io::Read`.
fn io_kind(e: &Error) -> io::ErrorKind {
    match e {
        Error::AtUrl { error, .. } => io_kind(error),
        Error::Timeout(_) => io::ErrorKind::TimedOut,
        Error::Truncated { .. } => io::ErrorKind::UnexpectedEof,
        Error::Protocol(_) => io::ErrorKind::InvalidData,
        Error::Receive(inner) => inner.kind(),
        _ => io::ErrorKind::Other,
    }
}

impl Read for Response {
    /// The crate's `Error` is kept as the source (`io::Error::into_inner` + downcast).
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_body(buf)
            .map_err(|e| io::Error::new(io_kind(&e), e))
    }
}
