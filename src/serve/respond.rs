//! From a parsed request to a `Response`: the only serve module that reads the filesystem for
//! answers (open, metadata, directory listing); every decision is delegated to `files`/`reply`.

use std::fs::File;
use std::path::PathBuf;
use std::time::SystemTime;

use crate::proto::request::RequestHead;

/// What is served and how: fixed for a server's life, shared by every loop thread.
#[derive(Debug, Clone, Default)]
pub struct Site {
    /// The served folder, canonicalized once at start.
    pub root: PathBuf,
    /// HTML/JSON listing for directories without index.html (`--no-listing` turns it off).
    pub listing: bool,
    /// Serve dotfiles (`--hidden`).
    pub hidden: bool,
    /// Follow symlinks that leave the root (`--follow-symlinks`).
    pub follow_symlinks: bool,
    /// `Access-Control-Allow-Origin: *` (`--cors`).
    pub cors: bool,
    /// Extra response headers (`-H`).
    pub extra_headers: Vec<(String, String)>,
    /// Library fixtures: every file reports this modification time (reproducible validators).
    pub fixed_mtime: Option<SystemTime>,
    /// Library fixtures: ETag from a hash of the content instead of size and mtime.
    pub content_etag: bool,
}

/// A response ready to be sent: status, header fields, and where the body bytes come from.
/// `headers` include Content-Length (for HEAD, the GET length) and Date; the connection adds
/// `Connection: close` when it decides to close.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: BodySource,
}

/// Where a response's body bytes come from.
#[derive(Debug)]
pub enum BodySource {
    /// Nothing after the head (HEAD, 204, 304, or an empty body).
    None,
    /// Bytes built in memory (listings, error pages, small files if cached).
    Bytes(Vec<u8>),
    /// `len` bytes of `file` from `offset`: sent with sendfile(2) on plain connections.
    File { file: File, offset: u64, len: u64 },
    /// multipart/byteranges: each part is a part head then a span of `file`; `tail` closes it.
    Multipart {
        file: File,
        parts: Vec<Part>,
        tail: Vec<u8>,
    },
}

/// One part of a multipart/byteranges body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub head: Vec<u8>,
    pub offset: u64,
    pub len: u64,
}

impl BodySource {
    /// Total body bytes this source will produce.
    pub fn len(&self) -> u64 {
        match self {
            BodySource::None => 0,
            BodySource::Bytes(b) => b.len() as u64,
            BodySource::File { len, .. } => *len,
            BodySource::Multipart { parts, tail, .. } => {
                parts
                    .iter()
                    .map(|p| p.head.len() as u64 + p.len)
                    .sum::<u64>()
                    + tail.len() as u64
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Answer one request (GET/HEAD/OPTIONS/405, files, ranges, preconditions, listings, redirects).
pub fn respond(site: &Site, req: &RequestHead) -> Response {
    let _ = (site, req);
    todo!("issue 3: serve-pure helper")
}

/// A small text/plain error response (400, 404, 414, 431, 501, 505 ...).
pub fn error_response(status: u16) -> Response {
    let _ = status;
    todo!("issue 3: serve-pure helper")
}

impl Response {
    /// Append the status line and header fields (and the blank line) to `out`.
    /// `close` adds `Connection: close`.
    pub fn write_head(&self, minor_version: u8, close: bool, out: &mut Vec<u8>) {
        let _ = (minor_version, close, out);
        todo!("issue 3: serve-pure helper")
    }
}
