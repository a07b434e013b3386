//! A loopback server that answers each connection with canned raw bytes (plain or TLS), then
//! closes, holds the socket open, or resets it; it records the request bytes it received.
//! It is deliberately dumb: no HTTP semantics beyond finding the end of the request head.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use rustls::{ServerConfig, ServerConnection, StreamOwned};

/// A raw response file from fixtures/responses/.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/responses")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// What the server does once the reply bytes are written.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum After {
    /// Close cleanly (FIN; over TLS, close_notify first).
    Close,
    /// Over TLS: close the TCP socket without close_notify (a truncation attack's shape).
    CloseWithoutNotify,
    /// Keep the socket open until the client closes it (keep-alive, or a stall).
    Hold,
    /// Reset the connection (SO_LINGER 0, then close: RST).
    Reset,
}

/// One canned answer.
#[derive(Clone, Debug)]
pub struct Reply {
    pub bytes: Vec<u8>,
    pub after: After,
    /// Write one byte per write(2) with Nagle off, so the client sees the reply in many
    /// small segments (heads and chunk lines split at every possible place).
    pub trickle: bool,
    /// After `bytes`, this many bytes of `pattern_byte(i)`, generated while sending so a big
    /// body never sits in the test process's memory.
    pub pattern_len: u64,
}

/// Byte `i` of a generated pattern body.
pub fn pattern_byte(i: u64) -> u8 {
    (i % 251) as u8
}

impl Reply {
    pub fn file(name: &str) -> Reply {
        Reply::bytes(fixture(name))
    }
    pub fn bytes(bytes: impl Into<Vec<u8>>) -> Reply {
        Reply {
            bytes: bytes.into(),
            after: After::Close,
            trickle: false,
            pattern_len: 0,
        }
    }
    /// `head` followed by a generated body of `len` pattern bytes.
    pub fn pattern(head: impl Into<Vec<u8>>, len: u64) -> Reply {
        let mut reply = Reply::bytes(head);
        reply.pattern_len = len;
        reply
    }
    pub fn trickled(mut self) -> Reply {
        self.trickle = true;
        self
    }
    pub fn then(mut self, after: After) -> Reply {
        self.after = after;
        self
    }
}

type Routes = Arc<Vec<(String, Reply)>>;

/// What a TLS client told us in its handshake: SNI host name and the negotiated ALPN protocol.
#[derive(Clone, Debug, PartialEq)]
pub struct Handshake {
    pub sni: Option<String>,
    pub alpn: Option<Vec<u8>>,
}

/// Shared between the server handle and its connection threads.
#[derive(Default)]
struct Record {
    requests: Mutex<Vec<Vec<u8>>>,
    handshakes: Mutex<Vec<Handshake>>,
}

/// A running replay server on 127.0.0.1:0; stops accepting when dropped.
pub struct ReplayServer {
    addr: SocketAddr,
    scheme: &'static str,
    record: Arc<Record>,
    stop: Arc<AtomicBool>,
}

impl ReplayServer {
    /// Answer every request with `reply`.
    pub fn single(reply: Reply) -> ReplayServer {
        ReplayServer::start(vec![("/", reply)], None)
    }

    /// Answer a request whose path starts with the longest matching route prefix; 404 otherwise.
    /// With `tls`, every connection is a rustls server connection first.
    pub fn start(routes: Vec<(&str, Reply)>, tls: Option<Arc<ServerConfig>>) -> ReplayServer {
        ReplayServer::start_at("127.0.0.1:0", routes, tls)
    }

    /// Like `start`, on another loopback address (e.g. `[::1]:0`).
    pub fn start_at(
        bind: &str,
        routes: Vec<(&str, Reply)>,
        tls: Option<Arc<ServerConfig>>,
    ) -> ReplayServer {
        let listener = TcpListener::bind(bind).unwrap_or_else(|e| panic!("bind {bind}: {e}"));
        let addr = listener.local_addr().expect("local_addr");
        let mut routes: Vec<(String, Reply)> = routes
            .into_iter()
            .map(|(p, r)| (p.to_string(), r))
            .collect();
        // Longest prefix first, so "/a/b" wins over "/".
        routes.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        let server = ReplayServer {
            addr,
            scheme: if tls.is_some() { "https" } else { "http" },
            record: Arc::default(),
            stop: Arc::default(),
        };
        let (record, stop) = (server.record.clone(), server.stop.clone());
        let routes: Routes = Arc::new(routes);
        thread::spawn(move || accept_loop(listener, routes, tls, record, stop));
        server
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:PORT` + `path` (or https for a TLS server).
    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{}", self.scheme, self.addr, path)
    }

    /// The raw request heads received so far, in arrival order.
    pub fn requests(&self) -> Vec<Vec<u8>> {
        self.record
            .requests
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// The completed TLS handshakes so far, in arrival order.
    pub fn handshakes(&self) -> Vec<Handshake> {
        self.record
            .handshakes
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }
}

impl Drop for ReplayServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept so its thread sees the flag and ends.
        let _ = TcpStream::connect(self.addr);
    }
}

fn accept_loop(
    listener: TcpListener,
    routes: Routes,
    tls: Option<Arc<ServerConfig>>,
    record: Arc<Record>,
    stop: Arc<AtomicBool>,
) {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let (routes, tls, record) = (routes.clone(), tls.clone(), record.clone());
        thread::spawn(move || {
            // Safety net only: a client that never closes cannot pin the thread forever.
            let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
            match tls {
                Some(config) => serve_tls(stream, config, &routes, &record),
                None => serve_plain(stream, &routes, &record),
            }
        });
    }
}

fn serve_plain(mut stream: TcpStream, routes: &Routes, record: &Record) {
    let Some(head) = read_head(&mut stream) else {
        return;
    };
    let reply = route(routes, &head);
    let _ = stream.set_nodelay(reply.trickle);
    if let Ok(mut r) = record.requests.lock() {
        r.push(head);
    }
    if write_reply(&mut stream, &reply).is_err() {
        return;
    }
    finish(&stream, reply.after);
}

fn serve_tls(stream: TcpStream, config: Arc<ServerConfig>, routes: &Routes, record: &Record) {
    let Ok(conn) = ServerConnection::new(config) else {
        return;
    };
    let mut tls = StreamOwned::new(conn, stream);
    // A failed handshake (the client refused our certificate) shows up here as an error.
    let Some(head) = read_head(&mut tls) else {
        return;
    };
    let reply = route(routes, &head);
    let handshake = Handshake {
        sni: tls.conn.server_name().map(str::to_string),
        alpn: tls.conn.alpn_protocol().map(<[u8]>::to_vec),
    };
    if let (Ok(mut r), Ok(mut h)) = (record.requests.lock(), record.handshakes.lock()) {
        r.push(head);
        h.push(handshake);
    }
    if tls
        .write_all(&reply.bytes)
        .and_then(|_| tls.flush())
        .is_err()
    {
        return;
    }
    if reply.after == After::Close {
        tls.conn.send_close_notify();
        let _ = tls.conn.complete_io(&mut tls.sock);
    }
    finish(&tls.sock, reply.after);
}

/// Write the reply at once, or a byte at a time when trickling.
fn write_reply(stream: &mut impl Write, reply: &Reply) -> std::io::Result<()> {
    if !reply.trickle {
        stream.write_all(&reply.bytes)?;
        write_pattern(stream, reply.pattern_len)?;
        return stream.flush();
    }
    for byte in &reply.bytes {
        stream.write_all(std::slice::from_ref(byte))?;
        stream.flush()?;
    }
    Ok(())
}

fn write_pattern(stream: &mut impl Write, len: u64) -> std::io::Result<()> {
    let mut block = [0u8; 64 * 1024];
    let mut sent = 0u64;
    while sent < len {
        let n = (len - sent).min(block.len() as u64) as usize;
        for (k, b) in block[..n].iter_mut().enumerate() {
            *b = pattern_byte(sent + k as u64);
        }
        stream.write_all(&block[..n])?;
        sent += n as u64;
    }
    Ok(())
}

/// Close, hold or reset once the reply is out.
fn finish(stream: &TcpStream, after: After) {
    match after {
        After::Close | After::CloseWithoutNotify => {
            let _ = stream.shutdown(Shutdown::Write);
            drain(stream);
        }
        After::Hold => drain(stream),
        After::Reset => {
            let _ = socket2::SockRef::from(stream).set_linger(Some(Duration::ZERO));
        }
    }
}

/// Read until the peer closes (or the safety timeout), so closing never races unread bytes.
fn drain(mut stream: &TcpStream) {
    let mut buf = [0u8; 4096];
    while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
}

/// Bytes up to and including the blank line ending the request head; `None` if the peer left
/// first. Something that does not look like HTTP (a TLS ClientHello) is answered at once, as a
/// real server answers 400 to garbage.
fn read_head(stream: &mut impl Read) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => n,
        };
        head.extend_from_slice(&buf[..n]);
        if !head[0].is_ascii_uppercase() {
            return Some(head);
        }
        if let Some(end) = find(&head, b"\r\n\r\n") {
            head.truncate(end + 4);
            return Some(head);
        }
        if head.len() > 1 << 20 {
            return Some(head);
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The reply for the request's path (longest route prefix), or a plain 404.
/// A head that is not HTTP (a TLS ClientHello) is routed as `/`.
fn route(routes: &Routes, head: &[u8]) -> Reply {
    let is_http = head.first().is_some_and(u8::is_ascii_uppercase);
    let target = match head.split(|&b| b == b' ').nth(1) {
        Some(target) if is_http => target,
        _ => b"/",
    };
    let path = String::from_utf8_lossy(target.split(|&b| b == b'?').next().unwrap_or(b"/"));
    routes
        .iter()
        .find(|(prefix, _)| path.starts_with(prefix.as_str()))
        .map(|(_, r)| r.clone())
        .unwrap_or_else(|| {
            Reply::bytes(
                &b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"[..],
            )
        })
}
