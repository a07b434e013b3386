//! A tiny loopback HTTP proxy (threads, std::net) that records every request head it receives.
//! Plain-HTTP requests (absolute-form) get a canned reply naming the target, kept alive, so a
//! test sees where a request was meant to go without any origin; `CONNECT` opens a byte tunnel
//! to a loopback origin, or is refused with a configured status (407, 502 ...).

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// How the proxy answers `CONNECT`.
#[derive(Clone, Copy, Debug)]
pub enum OnConnect {
    /// `200 Connection Established`, then a byte pipe to the (loopback) authority.
    Tunnel,
    /// This status line (e.g. `407 Proxy Authentication Required`), then close.
    Refuse(&'static str),
}

#[derive(Default)]
struct Log {
    heads: Mutex<Vec<Vec<u8>>>,
    connections: AtomicUsize,
}

/// A running proxy on 127.0.0.1:0; stops accepting when dropped.
pub struct TestProxy {
    addr: SocketAddr,
    log: Arc<Log>,
    stop: Arc<AtomicBool>,
}

impl TestProxy {
    pub fn start(on_connect: OnConnect) -> TestProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let proxy = TestProxy {
            addr: listener.local_addr().expect("proxy addr"),
            log: Arc::default(),
            stop: Arc::default(),
        };
        let (log, stop) = (proxy.log.clone(), proxy.stop.clone());
        thread::spawn(move || {
            for stream in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                log.connections.fetch_add(1, Ordering::SeqCst);
                let log = log.clone();
                thread::spawn(move || serve(stream, &log, on_connect));
            }
        });
        proxy
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `127.0.0.1:PORT`
    pub fn authority(&self) -> String {
        self.addr.to_string()
    }

    /// Every request head received, in arrival order.
    pub fn heads(&self) -> Vec<Vec<u8>> {
        self.log.heads.lock().map(|h| h.clone()).unwrap_or_default()
    }

    /// The request lines received, in arrival order.
    pub fn request_lines(&self) -> Vec<String> {
        self.heads()
            .iter()
            .map(|h| super::request_line(h))
            .collect()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.log.connections.load(Ordering::SeqCst)
    }
}

impl Drop for TestProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

/// One client connection: heads until it closes, or a tunnel.
fn serve(mut client: TcpStream, log: &Log, on_connect: OnConnect) {
    // Safety net only: a client that never closes cannot pin the thread forever.
    let _ = client.set_read_timeout(Some(Duration::from_secs(30)));
    while let Some(head) = read_head(&mut client) {
        if let Ok(mut heads) = log.heads.lock() {
            heads.push(head.clone());
        }
        let line = super::request_line(&head);
        let mut parts = line.split(' ');
        let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        if method == "CONNECT" {
            connect(client, target, on_connect);
            return;
        }
        let body = format!("proxied {target}\n");
        let reply = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let close = super::request_fields(&head)
            .iter()
            .any(|(n, v)| n == "connection" && v.eq_ignore_ascii_case("close"));
        if client.write_all(reply.as_bytes()).is_err() || close {
            return;
        }
    }
}

/// Bytes up to and including the blank line; `None` at EOF or past 64 KiB.
fn read_head(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    // One byte at a time: nothing after the head (a tunnel's first TLS bytes) is swallowed.
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 64 * 1024 || stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    Some(head)
}

fn connect(mut client: TcpStream, authority: &str, on_connect: OnConnect) {
    let refuse = |client: &mut TcpStream, status: &str| {
        let reply = format!(
            "HTTP/1.1 {status}\r\nProxy-Authenticate: Basic realm=\"test\"\r\n\
             Content-Length: 0\r\n\r\n"
        );
        let _ = client.write_all(reply.as_bytes());
    };
    if let OnConnect::Refuse(status) = on_connect {
        return refuse(&mut client, status);
    }
    // Loopback only: the tests never reach out of the machine.
    let local = ["127.0.0.1:", "localhost:", "[::1]:"];
    let upstream = match local.iter().any(|p| authority.starts_with(p)) {
        true => TcpStream::connect(authority).ok(),
        false => None,
    };
    let Some(upstream) = upstream else {
        return refuse(&mut client, "502 Bad Gateway");
    };
    if client
        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        .is_err()
    {
        return;
    }
    pipe(client, upstream);
}

/// Copy both ways until either side closes.
fn pipe(client: TcpStream, upstream: TcpStream) {
    let (Ok(mut c2), Ok(mut u2)) = (client.try_clone(), upstream.try_clone()) else {
        return;
    };
    let up = thread::spawn(move || {
        let mut client = client;
        let mut upstream = upstream;
        let _ = io::copy(&mut client, &mut upstream);
        let _ = upstream.shutdown(Shutdown::Write);
    });
    let _ = io::copy(&mut u2, &mut c2);
    let _ = c2.shutdown(Shutdown::Write);
    let _ = up.join();
}
