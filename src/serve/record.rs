//! What the fixture library remembers of each request, so tests can assert on it. (The event
//! loops push; nothing here touches a socket.)

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

impl RecordedRequest {
    /// The target's path, without the query (`/a/b.txt` for `/a/b.txt?x=1`).
    pub fn path(&self) -> &str {
        let end = self.target.find(['?', '#']).unwrap_or(self.target.len());
        &self.target[..end]
    }

    /// The first value of header `name` (case-insensitive, RFC 9110 §5.1).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Shared, append-only log the event loops push into when recording is on.
pub type RequestLog = Arc<Mutex<Vec<RecordedRequest>>>;

/// Append one request to `log`. A poisoned lock only means a thread panicked while pushing; the
/// records already there are intact, so keep recording.
pub fn push(log: &RequestLog, request: RecordedRequest) {
    log.lock().unwrap_or_else(|e| e.into_inner()).push(request);
}

/// A copy of every request recorded so far, in arrival order.
pub fn snapshot(log: &RequestLog) -> Vec<RecordedRequest> {
    log.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(target: &str) -> RecordedRequest {
        RecordedRequest {
            method: "GET".into(),
            target: target.into(),
            headers: vec![("Host".into(), "x".into())],
            body_len: 0,
            connection_id: 1,
        }
    }

    #[test]
    fn path_drops_query_and_fragment() {
        for (target, path) in [
            ("/a/b.txt", "/a/b.txt"),
            ("/a?x=1", "/a"),
            ("/a#f", "/a"),
            ("?x", ""),
            ("*", "*"),
        ] {
            assert_eq!(request(target).path(), path, "{target}");
        }
    }

    #[test]
    fn header_lookup_ignores_case() {
        let r = request("/");
        assert_eq!(r.header("host"), Some("x"));
        assert_eq!(r.header("Accept"), None);
    }

    #[test]
    fn log_keeps_order() {
        let log = RequestLog::default();
        push(&log, request("/1"));
        push(&log, request("/2"));
        let targets: Vec<String> = snapshot(&log).into_iter().map(|r| r.target).collect();
        assert_eq!(targets, ["/1", "/2"]);
    }
}
