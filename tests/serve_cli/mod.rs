//! The one place tests start a running `rawhttp serve` as a child: on port 0, waiting for its
//! ready line (never a sleep), killed and reaped on drop. Also runs curl / `rawhttp fetch`
//! against it and makes docroots. Every serve test file uses it; only tests OF start-up itself
//! (a refused bind, two ready lines, a start that must fail) spawn the binary directly.
#![allow(dead_code)] // each test file uses a different subset

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_rawhttp");

/// How long a server gets to print its ready line, and a client to finish.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// A running `rawhttp serve`; killed and reaped on drop.
pub struct Serve {
    /// The process, for signals, `/proc/PID/…` and its piped stderr.
    pub child: Child,
    /// The whole ready line, newline included.
    pub ready: String,
    /// The base URL from the ready line, e.g. `https://127.0.0.1:43121/`.
    pub url: String,
    pub addr: SocketAddr,
}

impl Serve {
    /// Start `rawhttp serve --log off ARGS` and wait for the ready line `serving DIR at URL`.
    pub fn start(args: &[&str]) -> Serve {
        let mut cmd = Command::new(BIN);
        cmd.arg("serve").args(["--log", "off"]).args(args);
        Serve::spawn(cmd)
    }

    /// `rawhttp serve DIR -p 0 --log off EXTRA`.
    pub fn dir(dir: &Path, extra: &[&str]) -> Serve {
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .arg(dir)
            .args(["-p", "0", "--log", "off"])
            .args(extra);
        Serve::spawn(cmd)
    }

    /// `rawhttp serve ARGS`, to be completed and given to [`Serve::spawn`].
    pub fn command(args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.arg("serve").args(args);
        cmd
    }

    /// Run `cmd`, a complete `rawhttp serve` command line (possibly behind a wrapper such as
    /// setpriv), and wait for its ready line.
    pub fn spawn(cmd: Command) -> Serve {
        Serve::spawn_with(cmd, Stdio::inherit())
    }

    /// [`Serve::spawn`] with stderr as given (`Stdio::piped()` to read it from `child`).
    pub fn spawn_with(mut cmd: Command, stderr: Stdio) -> Serve {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
        let line = match first_line(&mut child) {
            Some(line) if line.starts_with("serving ") => line,
            other => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("no ready line from {cmd:?}: {other:?}");
            }
        };
        let url = line
            .split_whitespace()
            .last()
            .expect("URL in ready line")
            .to_string();
        let parsed = url::Url::parse(&url).expect("ready line URL parses");
        let addr = parsed.socket_addrs(|| None).expect("URL has an address")[0];
        Serve {
            child,
            ready: line,
            url,
            addr,
        }
    }

    /// The lines of the piped stderr as they come (stderr must have been piped).
    pub fn stderr_lines(&mut self) -> mpsc::Receiver<String> {
        let stderr = self.child.stderr.take().expect("stderr was piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        rx
    }

    /// Whether the server process is still running (it has not exited on its own).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
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
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The first line `child` writes on its (piped) stdout, waited for on a channel with a
/// deadline; None when it closes stdout first or the deadline passes.
pub fn first_line(child: &mut Child) -> Option<String> {
    let stdout: ChildStdout = child.stdout.take()?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    rx.recv_timeout(READY_TIMEOUT)
        .ok()
        .filter(|l| !l.is_empty())
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

/// A `serve --self-signed --write-ca CA.pem --tls-fault NAME` server over a fresh docroot, the
/// folders it lives in (kept until dropped), and the CA file clients trust.
pub fn tls_fault_serve(fault: &str) -> (Serve, [tempfile::TempDir; 2], std::path::PathBuf) {
    let root = docroot();
    let ca_dir = tempfile::tempdir().expect("temp dir");
    let ca = ca_dir.path().join("CA.pem");
    let args = [
        "--self-signed",
        "--write-ca",
        path_str(&ca),
        "--tls-fault",
        fault,
        "-p",
        "0",
        path_str(root.path()),
    ];
    (Serve::start(&args), [root, ca_dir], ca)
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
