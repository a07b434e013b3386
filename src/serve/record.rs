//! What the server keeps of a request: for the fixture library, a bounded log the event loops
//! push into and tests read or wait on; for `--echo`, the request's own bytes sent back as the
//! response. (Nothing here touches a socket.)

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::respond::{BodySource, Response};
use crate::proto::request_head::RequestHead;

/// One request as the server saw it.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let server = rawhttp::serve::Server::in_memory().file("a.txt", "a").start()?;
/// rawhttp::fetch::Request::get(server.url().join("a.txt?x=1")?).send()?;
/// let seen = &server.requests()[0];
/// assert_eq!((seen.method.as_str(), seen.path()), ("GET", "/a.txt"));
/// assert_eq!(seen.version, "HTTP/1.1");
/// assert!(seen.peer.ip().is_loopback());
/// assert!(seen.tls.is_none());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// The method, as sent (`GET`).
    pub method: String,
    /// The request target, as sent (`/a/b.txt?x=1`).
    pub target: String,
    /// The header fields in arrival order (values decoded lossily as UTF-8).
    pub headers: Vec<(String, String)>,
    /// Request body bytes received (read or drained).
    pub body_len: u64,
    /// Same id = same TCP connection (keep-alive reuse); ids count up from 1 per server.
    pub connection_id: u64,
    /// The request's protocol version: `HTTP/1.1` or `HTTP/1.0`.
    pub version: String,
    /// The client's address and port.
    pub peer: SocketAddr,
    /// What the TLS handshake agreed on (`None` over plain HTTP).
    pub tls: Option<TlsDetails>,
}

/// The TLS side of a recorded request.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let server = rawhttp::serve::Server::in_memory().file("a", "a").self_signed_tls().start()?;
/// let url = url::Url::parse(&format!("https://localhost:{}/a", server.addr().port()))?;
/// rawhttp::fetch::Request::get(url).tls_config(server.client_tls_config()).send()?;
/// let tls = server.requests()[0].tls.clone().expect("over TLS");
/// assert_eq!(tls.sni.as_deref(), Some("localhost"));
/// assert_eq!(tls.alpn.as_deref(), Some("http/1.1"));
/// assert_eq!(tls.version, "TLSv1.3");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsDetails {
    /// The server name the client asked for (SNI; clients send none for IP addresses).
    pub sni: Option<String>,
    /// The application protocol agreed by ALPN (`http/1.1`), if the client offered any.
    pub alpn: Option<String>,
    /// The protocol version: `TLSv1.2` or `TLSv1.3`.
    pub version: String,
}

impl RecordedRequest {
    /// `head` as the log keeps it, with `body_len` body bytes, on connection `connection_id`
    /// from `peer` (`tls`: what its handshake agreed on).
    pub(crate) fn new(
        head: &RequestHead,
        body_len: u64,
        connection_id: u64,
        peer: SocketAddr,
        tls: Option<TlsDetails>,
    ) -> RecordedRequest {
        let headers = head
            .headers
            .iter()
            .map(|(n, v)| (n.to_string(), String::from_utf8_lossy(v).into_owned()))
            .collect();
        RecordedRequest {
            method: head.method.clone(),
            target: head.target.clone(),
            headers,
            body_len,
            connection_id,
            version: format!("HTTP/1.{}", head.minor_version),
            peer,
            tls,
        }
    }

    /// The target's path, without the query (`/a/b.txt` for `/a/b.txt?x=1`, and for
    /// `http://host/a/b.txt?x=1`).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = rawhttp::serve::Server::in_memory().start()?;
    /// rawhttp::fetch::Request::get(server.url().join("a/b.txt?x=1")?).send()?;
    /// assert_eq!(server.requests()[0].path(), "/a/b.txt");
    /// # Ok(())
    /// # }
    /// ```
    pub fn path(&self) -> &str {
        crate::proto::target::path_and_query(&self.target).0
    }

    /// The first value of header `name` (case-insensitive, RFC 9110 §5.1).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = rawhttp::serve::Server::in_memory().start()?;
    /// rawhttp::fetch::Request::get(server.url()).header("X-Test", "1").send()?;
    /// assert_eq!(server.requests()[0].header("x-test"), Some("1"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Entries kept by default before the oldest are dropped (`Server::request_log_cap`): enough
/// for any functional test, bounded for a fixture hammered by a load test.
///
/// ```
/// assert_eq!(rawhttp::serve::record::DEFAULT_LOG_CAP, 10_000);
/// ```
pub const DEFAULT_LOG_CAP: usize = 10_000;

/// The shared, bounded request log: the event loops push, tests read and wait (through
/// [`ServerHandle::requests`](super::ServerHandle::requests) and
/// [`ServerHandle::wait_for_requests`](super::ServerHandle::wait_for_requests)).
///
/// ```
/// let log = rawhttp::serve::record::RequestLog::default();
/// let engine_side = log.clone(); // clones share the same entries
/// # let _ = engine_side;
/// ```
#[derive(Debug, Clone)]
pub struct RequestLog {
    inner: Arc<(Mutex<LogState>, Condvar)>,
}

#[derive(Debug)]
struct LogState {
    entries: VecDeque<RecordedRequest>,
    cap: usize,
    /// Oldest entries dropped to stay within `cap`.
    dropped: u64,
}

impl Default for RequestLog {
    fn default() -> RequestLog {
        RequestLog::with_cap(DEFAULT_LOG_CAP)
    }
}

impl RequestLog {
    /// An empty log keeping at most `cap` entries (at least one).
    pub(crate) fn with_cap(cap: usize) -> RequestLog {
        let state = LogState {
            entries: VecDeque::new(),
            cap: cap.max(1),
            dropped: 0,
        };
        RequestLog {
            inner: Arc::new((Mutex::new(state), Condvar::new())),
        }
    }

    /// A poisoned lock only means a thread panicked while holding it; the entries are intact.
    fn state(&self) -> MutexGuard<'_, LogState> {
        self.inner.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Append one request, dropping the oldest beyond the cap (said once on stderr), and wake
    /// waiters.
    pub(crate) fn push(&self, request: RecordedRequest) {
        let mut state = self.state();
        if state.entries.len() >= state.cap {
            state.entries.pop_front();
            if state.dropped == 0 {
                eprintln!(
                    "rawhttp fixture: request log full ({} entries): dropping the oldest",
                    state.cap
                );
            }
            state.dropped += 1;
        }
        state.entries.push_back(request);
        drop(state);
        self.inner.1.notify_all();
    }

    /// The requests kept, in arrival order.
    pub(crate) fn snapshot(&self) -> Vec<RecordedRequest> {
        self.state().entries.iter().cloned().collect()
    }

    /// How many of the oldest requests were dropped to respect the cap.
    pub(crate) fn dropped(&self) -> u64 {
        self.state().dropped
    }

    /// Block until `n` requests have arrived in all (dropped ones count) or `timeout` passed;
    /// the kept requests on success.
    pub(crate) fn wait_for(&self, n: usize, timeout: Duration) -> Option<Vec<RecordedRequest>> {
        let deadline = Instant::now() + timeout;
        let mut state = self.state();
        loop {
            let arrived = state.entries.len() as u64 + state.dropped;
            if arrived >= n as u64 {
                return Some(state.entries.iter().cloned().collect());
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            state = match self.inner.1.wait_timeout(state, left) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }
}

/// `--echo PREFIX`: whether a request for `target` is answered with its own bytes (its path
/// is PREFIX or below it; `/echo` does not cover `/echoes`).
pub(crate) fn is_echo(prefix: Option<&str>, target: &str) -> bool {
    let Some(prefix) = prefix else {
        return false;
    };
    let (path, _) = crate::proto::target::path_and_query(target);
    path.starts_with(prefix)
        && (prefix.ends_with('/')
            || path.len() == prefix.len()
            || path.as_bytes()[prefix.len()] == b'/')
}

/// `--echo`: the request's own bytes back as text/plain.
pub(crate) fn echo_response(bytes: Vec<u8>) -> Response {
    Response {
        status: 200,
        headers: vec![
            ("Date".to_string(), super::clock::http_date_now()),
            ("Server".to_string(), "rawhttp".to_string()),
            (
                "Content-Type".to_string(),
                "text/plain; charset=utf-8".to_string(),
            ),
            ("Content-Length".to_string(), bytes.len().to_string()),
        ],
        body: BodySource::Bytes(bytes),
    }
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
            version: "HTTP/1.1".into(),
            peer: SocketAddr::from(([127, 0, 0, 1], 1)),
            tls: None,
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
    fn echo_covers_its_path_and_below_only() {
        let cases = [
            (Some("/echo"), "/echo", true),
            (Some("/echo"), "/echo/x?y", true),
            (Some("/echo"), "/echo?x", true),
            (Some("/echo"), "/echoes", false),
            (Some("/echo/"), "/echo/x", true),
            (Some("/"), "/anything", true),
            (None, "/echo", false),
        ];
        for (prefix, target, want) in cases {
            assert_eq!(is_echo(prefix, target), want, "{prefix:?} {target}");
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
        log.push(request("/1"));
        log.push(request("/2"));
        let targets: Vec<String> = log.snapshot().into_iter().map(|r| r.target).collect();
        assert_eq!(targets, ["/1", "/2"]);
    }

    #[test]
    fn log_drops_the_oldest_beyond_its_cap_and_counts_them() {
        let log = RequestLog::with_cap(2);
        for t in ["/1", "/2", "/3", "/4"] {
            log.push(request(t));
        }
        let targets: Vec<String> = log.snapshot().into_iter().map(|r| r.target).collect();
        assert_eq!(targets, ["/3", "/4"]);
        assert_eq!(log.dropped(), 2);
        // Dropped entries still count as arrived.
        assert_eq!(log.wait_for(4, Duration::ZERO).map(|v| v.len()), Some(2));
    }

    #[test]
    fn waiting_returns_when_a_pusher_delivers_and_times_out_otherwise() {
        let log = RequestLog::default();
        assert_eq!(log.wait_for(1, Duration::from_millis(10)), None);
        let pusher = log.clone();
        let thread = std::thread::spawn(move || {
            for t in ["/1", "/2"] {
                pusher.push(request(t));
            }
        });
        let got = log
            .wait_for(2, Duration::from_secs(20))
            .expect("two arrive");
        assert_eq!(got.len(), 2);
        thread.join().expect("pusher");
    }
}
