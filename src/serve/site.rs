//! What is served and how: the site's settings, fixed for a server's life and shared by every
//! loop thread. Plain data: no decision and no I/O lives here.

use std::path::PathBuf;
use std::time::SystemTime;

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
    pub routes: Vec<super::routes::Route>,
}
