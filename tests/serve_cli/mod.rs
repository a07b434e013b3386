//! Shared by tests/serve_tls.rs and tests/faults.rs: run `rawhttp serve` as a child on port 0
//! and wait for its ready line, run curl / `rawhttp fetch` against it, make docroots.
#![allow(dead_code)] // each test file uses a different subset

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_rawhttp");

/// How long a server gets to print its ready line, and a client to finish.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// A running `rawhttp serve`; SIGTERM and reaped on drop.
pub struct Serve {
    child: Child,
    /// The base URL from the ready line, e.g. `https://127.0.0.1:43121/`.
    pub url: String,
    pub addr: SocketAddr,
}

impl Serve {
    /// Start `rawhttp serve --log off ARGS` and wait (on its stdout, not a sleep) for the ready
    /// line `serving DIR at URL`.
    pub fn start(args: &[&str]) -> Serve {
        let mut child = Command::new(BIN)
            .arg("serve")
            .args(["--log", "off"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("rawhttp serve starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = match rx.recv_timeout(READY_TIMEOUT) {
            Ok(line) if line.starts_with("serving ") => line,
            other => {
                let _ = child.kill();
                panic!("no ready line from rawhttp serve {args:?}: {other:?}");
            }
        };
        let url = line
            .split_whitespace()
            .last()
            .expect("URL in ready line")
            .to_string();
        let parsed = url::Url::parse(&url).expect("ready line URL parses");
        let addr = parsed.socket_addrs(|| None).expect("URL has an address")[0];
        Serve { child, url, addr }
    }

    /// `url` joined with `path` (no leading slash).
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// The same URL with `localhost` as host, for certificate name checks.
    pub fn at_localhost(&self, path: &str) -> String {
        format!("https://localhost:{}/{path}", self.addr.port())
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        // SAFETY: kill(2) with our own, not yet reaped, child's pid.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let _ = self.child.wait();
    }
}

/// Run a command to completion with a deadline, killing it past the deadline.
pub fn run(cmd: &mut Command) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("command starts");
    let pid = child.id();
    let (tx, rx) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if rx.recv_timeout(READY_TIMEOUT * 3).is_err() {
            // Deadline passed: stop the child. SAFETY: kill(2) on a pid not yet reaped, since
            // wait_with_output signals this thread only after reaping it.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGKILL);
            }
        }
    });
    let output = child.wait_with_output().expect("command runs");
    let _ = tx.send(());
    let _ = watchdog.join();
    output
}

/// `curl -sS ARGS`.
pub fn curl(args: &[&str]) -> Output {
    run(Command::new("curl").arg("-sS").args(args))
}

/// `rawhttp fetch ARGS`.
pub fn fetch(args: &[&str]) -> Output {
    run(Command::new(BIN).arg("fetch").args(args))
}

/// A docroot: hello.txt, small.txt (1000 bytes) and big.bin (200 KiB of varied bytes).
pub fn docroot() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("hello.txt"), b"hello, world\n").expect("write");
    std::fs::write(dir.path().join("small.txt"), small()).expect("write");
    std::fs::write(dir.path().join("big.bin"), big()).expect("write");
    dir
}

/// small.txt's content: 1000 bytes of digits and newlines.
pub fn small() -> Vec<u8> {
    (0..1000u32)
        .map(|i| {
            if i % 50 == 49 {
                b'\n'
            } else {
                b'0' + (i % 10) as u8
            }
        })
        .collect()
}

/// big.bin's content: 200 KiB from a xorshift generator (every byte value, no pattern).
pub fn big() -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9;
    (0..200 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

/// Send `request` on a fresh connection and read until the server closes.
pub fn raw_exchange(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(READY_TIMEOUT)).expect("timeout");
    s.write_all(request).expect("send");
    let mut out = Vec::new();
    s.read_to_end(&mut out).expect("read to close");
    out
}

/// Split a response into (head text, body bytes) at the first blank line.
pub fn split_response(bytes: &[u8]) -> (String, Vec<u8>) {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete head");
    let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
    (head, bytes[end + 4..].to_vec())
}

pub fn stderr_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(String::from)
        .collect()
}
