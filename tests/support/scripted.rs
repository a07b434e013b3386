//! A loopback server whose every connection runs a test's script: read request heads one by
//! one, answer, hold, or close at any point. It counts accepted connections and records each
//! request head with the connection it came on, so tests can assert keep-alive reuse, retries
//! and the Range / If-Range a client sent. For misbehaviour the fixture server cannot produce.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// One request head as received: which connection (0-based, in accept order) and the bytes.
#[derive(Debug, Clone)]
pub struct Seen {
    pub conn: usize,
    pub head: String,
}

impl Seen {
    /// The request target (`/a?b`).
    pub fn target(&self) -> &str {
        self.head.split(' ').nth(1).unwrap_or("")
    }

    /// The first value of header `name`, case-insensitively.
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.split("\r\n").skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

#[derive(Default)]
struct Shared {
    accepted: AtomicUsize,
    seen: Mutex<Vec<Seen>>,
    stop: AtomicBool,
}

/// One accepted connection, handed to the script.
pub struct Conn {
    pub index: usize,
    stream: TcpStream,
    pending: Vec<u8>,
    shared: Arc<Shared>,
}

impl Conn {
    /// The next request head (recorded), or `None` when the client closed first.
    pub fn request(&mut self) -> Option<Seen> {
        loop {
            if let Some(end) = find(&self.pending, b"\r\n\r\n") {
                let head: Vec<u8> = self.pending.drain(..end + 4).collect();
                let seen = Seen {
                    conn: self.index,
                    head: String::from_utf8_lossy(&head).into_owned(),
                };
                self.shared.seen.lock().expect("seen").push(seen.clone());
                return Some(seen);
            }
            let mut buf = [0u8; 4096];
            match self.stream.read(&mut buf) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
            }
        }
    }

    /// Write bytes (errors ignored: the client may have gone).
    pub fn send(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes);
    }

    /// A 200 with `body` and Content-Length, keeping the connection.
    pub fn ok(&mut self, body: &[u8]) {
        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
        self.send(head.as_bytes());
        self.send(body);
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The server; dropping it stops accepting.
pub struct ScriptedServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl ScriptedServer {
    /// Run `script` on every accepted connection, each on its own thread. The connection is
    /// closed when the script returns.
    pub fn start(script: impl Fn(&mut Conn) + Send + Sync + 'static) -> ScriptedServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shared = Arc::new(Shared::default());
        let script = Arc::new(script);
        let state = shared.clone();
        thread::spawn(move || {
            for stream in listener.incoming() {
                if state.stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                // Safety net only: a client that never closes cannot pin the thread forever.
                let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
                let index = state.accepted.fetch_add(1, Ordering::SeqCst);
                let (script, shared) = (script.clone(), state.clone());
                thread::spawn(move || {
                    let mut conn = Conn {
                        index,
                        stream,
                        pending: Vec::new(),
                        shared,
                    };
                    script(&mut conn);
                });
            }
        });
        ScriptedServer { addr, shared }
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Request heads received so far, in arrival order.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().expect("seen").clone()
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept so its thread sees the flag and ends.
        let _ = TcpStream::connect(self.addr);
    }
}
