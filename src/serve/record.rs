//! What the fixture library remembers of each request, so tests can assert on it.

use std::sync::{Arc, Mutex};

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    /// Request body bytes received (read or drained).
    pub body_len: u64,
    /// Same id = same TCP connection (keep-alive reuse); ids count up from 1 per server.
    pub connection_id: u64,
}

/// Shared, append-only log the event loops push into when recording is on.
pub type RequestLog = Arc<Mutex<Vec<RecordedRequest>>>;
