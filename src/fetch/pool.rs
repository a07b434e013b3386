//! Kept-alive connections per origin (RFC 9112 §9.3: HTTP/1.1 connections persist unless a side
//! says `close`), shared by every request of a batch — and by `save` — across threads.
//!
//! A connection enters the pool only when its response was read to the verified end and both
//! sides allowed persistence ([`crate::fetch::Response::release`] decides); it leaves again
//! through [`Pool::take`], which drops connections the server has closed meanwhile. The pool
//! never connects by itself and never sends anything: `client` does the HTTP.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use url::Url;

use super::connect::Stream;
use crate::proto::limits::{POOL_IDLE_TIMEOUT, POOL_MAX_IDLE};

/// Where a connection goes: scheme, host and port (RFC 9110 §4.3.1's origin). Two URLs with the
/// same origin may share a connection; any other difference (path, query) may not matter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    /// `https://` (TLS) rather than `http://`.
    pub https: bool,
    /// Lower-case host as the url crate normalises it (IPv6 literals in brackets).
    pub host: String,
    /// The port, default filled in.
    pub port: u16,
}

impl Origin {
    /// The origin of an http or https URL; `None` for other schemes or URLs without a host.
    pub fn of(url: &Url) -> Option<Origin> {
        let https = match url.scheme() {
            "http" => false,
            "https" => true,
            _ => return None,
        };
        Some(Origin {
            https,
            host: url.host_str()?.to_string(),
            port: url.port_or_known_default()?,
        })
    }
}

/// Where a pooled connection leads, which decides who may reuse it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Route {
    /// Straight to the origin server.
    Direct(Origin),
    /// To an HTTP proxy that forwards plain-HTTP requests (absolute-form targets, RFC 9112
    /// §3.2.2) for any origin: keyed by the proxy alone.
    Forward {
        /// The proxy's host (as in a URL) and port.
        proxy: String,
    },
    /// Through a proxy's CONNECT tunnel (RFC 9110 §9.3.6) to one origin, TLS end to end.
    Tunnel {
        /// The proxy's `host:port`.
        proxy: String,
        /// The origin at the end of the tunnel.
        origin: Origin,
    },
}

impl Route {
    /// Which pooled connections a request may use: its origin's, the proxy's (plain HTTP
    /// through a proxy, any origin), or a tunnel's to its origin through that proxy (`proxy`
    /// is the proxy's `host:port`).
    pub fn new(origin: Origin, proxy: Option<String>) -> Route {
        match proxy {
            None => Route::Direct(origin),
            Some(proxy) if !origin.https => Route::Forward { proxy },
            Some(proxy) => Route::Tunnel { proxy, origin },
        }
    }
}

/// One idle connection and when it became idle.
#[derive(Debug)]
struct Idle {
    route: Route,
    stream: Stream,
    since: Instant,
}

/// Idle kept-alive connections, keyed by origin. `Sync`: one pool serves every worker of a
/// batch. A pool is for requests made with the same connection settings (TLS configuration,
/// `--resolve`, address family); make one per set of settings.
#[derive(Debug)]
pub struct Pool {
    idle: Mutex<Vec<Idle>>,
    max_per_origin: usize,
    max_idle: usize,
    idle_timeout: Duration,
    opened: AtomicU64,
    reused: AtomicU64,
}

impl Default for Pool {
    fn default() -> Self {
        Pool::new(POOL_MAX_IDLE)
    }
}

impl Pool {
    /// A pool keeping at most `max_per_origin` idle connections to any one origin (a batch
    /// passes its parallelism: more could never be used at once) and `POOL_MAX_IDLE` in all.
    pub fn new(max_per_origin: usize) -> Pool {
        Pool {
            idle: Mutex::new(Vec::new()),
            max_per_origin: max_per_origin.max(1),
            max_idle: POOL_MAX_IDLE.max(max_per_origin),
            idle_timeout: POOL_IDLE_TIMEOUT,
            opened: AtomicU64::new(0),
            reused: AtomicU64::new(0),
        }
    }

    /// Forget idle connections after `timeout` instead of `POOL_IDLE_TIMEOUT`.
    pub fn idle_timeout(mut self, timeout: Duration) -> Pool {
        self.idle_timeout = timeout;
        self
    }

    /// The most recently used live connection to `origin`, if any. Connections the server has
    /// closed (or sent unexpected bytes on) and ones idle past the timeout are dropped here.
    pub fn take(&self, origin: &Origin) -> Option<Stream> {
        self.take_route(&Route::Direct(origin.clone()))
    }

    /// [`Pool::take`] for any route (through a proxy too).
    pub fn take_route(&self, route: &Route) -> Option<Stream> {
        loop {
            let candidate = self.pop(route)?;
            if candidate.since.elapsed() < self.idle_timeout && is_idle_and_open(&candidate.stream)
            {
                self.reused.fetch_add(1, Ordering::Relaxed);
                return Some(candidate.stream);
            }
        }
    }

    /// Remove and return the newest idle entry for `origin` (newest: least likely to have been
    /// closed by the server's idle timer).
    fn pop(&self, route: &Route) -> Option<Idle> {
        let mut idle = self.lock();
        let at = idle.iter().rposition(|i| &i.route == route)?;
        Some(idle.remove(at))
    }

    /// Keep `stream` for a later request to `origin`. The caller vouches that the previous
    /// response on it was read completely. Over the caps, the oldest idle connection goes.
    pub fn put(&self, origin: Origin, stream: Stream) {
        self.put_route(Route::Direct(origin), stream)
    }

    /// [`Pool::put`] for any route; a proxy's forwarding connections share its per-origin cap.
    pub fn put_route(&self, route: Route, stream: Stream) {
        let mut idle = self.lock();
        let same = idle.iter().filter(|i| i.route == route).count();
        if same >= self.max_per_origin {
            if let Some(at) = idle.iter().position(|i| i.route == route) {
                idle.remove(at);
            }
        }
        if idle.len() >= self.max_idle {
            idle.remove(0);
        }
        idle.push(Idle {
            route,
            stream,
            since: Instant::now(),
        });
    }

    /// Close every idle connection (also what dropping the pool does).
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// Idle connections held now.
    pub fn idle_count(&self) -> usize {
        self.lock().len()
    }

    /// Connections opened by requests using this pool.
    pub fn opened(&self) -> u64 {
        self.opened.load(Ordering::Relaxed)
    }

    /// Requests that went over a connection taken from this pool.
    pub fn reused(&self) -> u64 {
        self.reused.load(Ordering::Relaxed)
    }

    /// Count a fresh connection (called by `client` after connecting).
    pub(crate) fn note_opened(&self) {
        self.opened.fetch_add(1, Ordering::Relaxed);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Idle>> {
        // A panic while holding the lock cannot leave the Vec inconsistent (every critical
        // section is a single push/remove), so a poisoned lock is still usable.
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// An idle connection is usable when reading would block: EOF means the server closed it (its
/// keep-alive timer, RFC 9112 §9.5), and bytes nobody asked for mean it is out of step. One
/// non-blocking peek (`MSG_PEEK | MSG_DONTWAIT`) asks, without toggling the socket's mode.
fn is_idle_and_open(stream: &Stream) -> bool {
    use std::os::fd::AsRawFd;
    let fd = stream.tcp().as_raw_fd();
    let mut probe = [0u8; 1];
    // SAFETY: recv(2) writes at most 1 byte into `probe`, which lives across the call; `fd` is
    // the open socket `stream` owns for the whole call.
    let n = unsafe {
        libc::recv(
            fd,
            probe.as_mut_ptr().cast(),
            1,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::WouldBlock
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};

    fn origin(url: &str) -> Option<Origin> {
        Origin::of(&Url::parse(url).expect("test URL"))
    }

    #[test]
    fn origins_are_scheme_host_and_port() {
        let o = |https, host: &str, port| {
            Some(Origin {
                https,
                host: host.into(),
                port,
            })
        };
        assert_eq!(origin("http://A.example/x?y"), o(false, "a.example", 80));
        assert_eq!(origin("https://a.example/"), o(true, "a.example", 443));
        assert_eq!(origin("http://a.example:443/"), o(false, "a.example", 443));
        assert_eq!(origin("http://[::1]:8/"), o(false, "[::1]", 8));
        assert_eq!(origin("ftp://a.example/"), None);
        assert_ne!(origin("http://a/"), origin("https://a/"));
        assert_ne!(origin("http://a:1/"), origin("http://a:2/"));
    }

    /// A connected pair: (our client side, the server's side).
    fn pair(listener: &TcpListener) -> (Stream, TcpStream) {
        let client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (server, _) = listener.accept().expect("accept");
        (Stream::Plain(client), server)
    }

    #[test]
    fn take_returns_live_connections_newest_first_and_drops_closed_ones() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let a = origin("http://a/").expect("origin");
        let pool = Pool::new(4);
        let (first, server_first) = pair(&listener);
        let first_watch = first.tcp().try_clone().expect("clone");
        let (second, _server_second) = pair(&listener);
        let second_port = second.tcp().local_addr().expect("addr").port();
        pool.put(a.clone(), first);
        pool.put(a.clone(), second);
        assert!(pool.take(&origin("http://b/").expect("origin")).is_none());
        let got = pool.take(&a).expect("newest");
        assert_eq!(got.tcp().local_addr().expect("addr").port(), second_port);
        drop(server_first); // the server's idle timer closed the older one
        let mut probe = [0u8; 1];
        assert_eq!(first_watch.peek(&mut probe).expect("EOF arrives"), 0);
        assert!(pool.take(&a).is_none());
        assert_eq!(pool.idle_count(), 0);
        assert_eq!(pool.reused(), 1);
    }

    #[test]
    fn unexpected_bytes_or_age_make_a_connection_unusable() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let a = origin("http://a/").expect("origin");
        let pool = Pool::new(4);
        let (conn, mut server) = pair(&listener);
        let watch = conn.tcp().try_clone().expect("clone");
        server.write_all(b"HTTP/1.1 200 OK\r\n").expect("write");
        pool.put(a.clone(), conn);
        let pool2 = Pool::new(4).idle_timeout(Duration::ZERO);
        let (aged, _keep) = pair(&listener);
        pool2.put(a.clone(), aged);
        assert!(pool2.take(&a).is_none(), "idle past the timeout");
        let mut probe = [0u8; 1];
        assert_eq!(watch.peek(&mut probe).expect("bytes arrive"), 1);
        assert!(pool.take(&a).is_none(), "out of step");
    }

    #[test]
    fn routes_through_a_proxy_are_kept_apart_from_direct_ones() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let a = origin("https://a/").expect("origin");
        let pool = Pool::new(4);
        let forward = Route::Forward {
            proxy: "p:1".into(),
        };
        let tunnel = Route::Tunnel {
            proxy: "p:1".into(),
            origin: a.clone(),
        };
        let (c1, _s1) = pair(&listener);
        let (c2, _s2) = pair(&listener);
        pool.put_route(forward.clone(), c1);
        pool.put_route(tunnel.clone(), c2);
        assert!(
            pool.take(&a).is_none(),
            "a tunnel is not a direct connection"
        );
        let other = Route::Tunnel {
            proxy: "p:1".into(),
            origin: origin("https://b/").expect("origin"),
        };
        assert!(
            pool.take_route(&other).is_none(),
            "a tunnel leads to one origin"
        );
        assert!(pool.take_route(&tunnel).is_some());
        assert!(pool.take_route(&forward).is_some());
    }

    #[test]
    fn caps_evict_the_oldest() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let a = origin("http://a/").expect("origin");
        let pool = Pool::new(2);
        let mut servers = Vec::new();
        for _ in 0..3 {
            let (c, s) = pair(&listener);
            servers.push(s);
            pool.put(a.clone(), c);
        }
        assert_eq!(pool.idle_count(), 2);
        let mut others = Vec::new();
        for i in 0..POOL_MAX_IDLE + 1 {
            let (c, s) = pair(&listener);
            others.push(s);
            pool.put(origin(&format!("http://h{i}/")).expect("origin"), c);
        }
        assert_eq!(pool.idle_count(), POOL_MAX_IDLE);
        pool.clear();
        assert_eq!(pool.idle_count(), 0);
    }
}
