//! What is served and how: the site's settings, fixed for a server's life and shared by every
//! loop thread, and the two things they add to any answer: canned routes and extra fields.
//! No I/O lives here.

use std::path::PathBuf;
use std::time::SystemTime;

use super::response::Response;
use super::routes::{self, Route};
use crate::proto::request_head::RequestHead;

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
    /// Canned replies (`--routes`, `Server::route`), tried before the files.
    pub routes: Vec<Route>,
}

impl Site {
    /// The response of the first canned route matching `req`, with the site's own fields;
    /// `None` lets the request fall through to the files.
    pub fn route(&self, req: &RequestHead) -> Option<Response> {
        let mut response = routes::answer(&self.routes, req)?;
        self.add_headers(&mut response);
        Some(response)
    }

    /// `--cors` and `-H` extras. An extra replaces a default of the same name (e.g. `Server`),
    /// except framing fields, which only the responder may set (a wrong one would desync the
    /// peer).
    pub fn add_headers(&self, response: &mut Response) {
        if self.cors {
            response
                .headers
                .push(("Access-Control-Allow-Origin".to_string(), "*".to_string()));
        }
        for (name, value) in &self.extra_headers {
            let framing = ["content-length", "transfer-encoding", "connection"];
            if framing.iter().any(|f| name.eq_ignore_ascii_case(f)) {
                continue;
            }
            response.remove_header(name);
            response.headers.push((name.clone(), value.clone()));
        }
    }
}
