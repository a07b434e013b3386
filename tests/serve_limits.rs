//! Serving under pressure (issue 13, issue 9's "also fix"): the connection table, per-address
//! caps, descriptor limits, confused clients, timeouts, TLS ports spoken to in plain text, a
//! stalled access log. The built binary on port 0, raw sockets on loopback.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A `rawhttp serve` child; killed and reaped on drop.
struct Served {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn docroot() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.txt"), b"hello\n").unwrap();
    std::fs::write(dir.path().join("100k.bin"), pattern(100 * 1024)).unwrap();
    dir
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 251) as u8).collect()
}

/// `rawhttp serve DOCROOT -p 0 ARGS` with stderr as given; waits for the ready line.
fn serve_with(cmd: Command, stderr: Stdio) -> Served {
    let dir = docroot();
    let mut cmd = cmd;
    cmd.arg(dir.path()).args(["-p", "0"]);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let mut ready = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert!(ready.starts_with("serving "), "no ready line: {ready:?}");
    let addr = ready
        .trim()
        .rsplit("//")
        .next()
        .unwrap()
        .trim_end_matches('/')
        .parse()
        .unwrap();
    Served {
        child,
        addr,
        _dir: dir,
    }
}

fn rawhttp_serve(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rawhttp"));
    cmd.arg("serve").args(args);
    cmd
}

fn serve(args: &[&str]) -> Served {
    let mut all = vec!["--log", "off"];
    all.extend_from_slice(args);
    serve_with(rawhttp_serve(&all), Stdio::inherit())
}

/// Lines of a piped stderr, as they come.
fn stderr_lines(err: ChildStderr) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Every line until the writer closes its end (or 10 s pass without a line).
fn until_closed(log: &mpsc::Receiver<String>) -> Vec<String> {
    let mut lines = Vec::new();
    while let Ok(line) = log.recv_timeout(Duration::from_secs(10)) {
        lines.push(line);
    }
    lines
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n")
}

/// A response read off a stream: status, head text, body (by Content-Length).
struct Reply {
    status: u16,
    head: String,
    body: Vec<u8>,
}

fn read_reply(r: &mut impl BufRead) -> Reply {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        let n = r.read_line(&mut line).unwrap();
        assert!(n > 0, "connection closed inside a head: {head:?}");
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let status = head[9..12].parse().unwrap();
    let len = head
        .lines()
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body).unwrap();
    Reply { status, head, body }
}

/// True when the peer closed (EOF or reset) before `within`; bytes before the close are kept.
fn closes_within(s: &mut TcpStream, within: Duration) -> bool {
    s.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return false
            }
            Err(_) => return true,
        }
    }
}

/// Send `request`, read one reply; whether the server then closed (EOF within 5 s).
fn status_and_close(addr: SocketAddr, request: &[u8]) -> (u16, bool) {
    let mut c = connect(addr);
    c.write_all(request).unwrap();
    let mut r = BufReader::new(c.try_clone().unwrap());
    let reply = read_reply(&mut r);
    let mut rest = Vec::new();
    r.get_mut()
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let closed = r.read_to_end(&mut rest).is_ok() && rest.is_empty();
    (reply.status, closed)
}

#[test]
fn userinfo_in_an_absolute_target_is_refused_with_400_then_close() {
    let s = serve(&[]);
    let req = b"GET http://u:p@x/hello.txt HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_eq!(status_and_close(s.addr, req), (400, true));
    // Without userinfo the same absolute-form target is served.
    let req = b"GET http://x/hello.txt HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_eq!(status_and_close(s.addr, req).0, 200);
}

#[test]
fn connect_and_a_bad_target_close_the_connection_after_the_reply() {
    let s = serve(&[]);
    let connect_req = b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n";
    assert_eq!(status_and_close(s.addr, connect_req), (405, true));
    // A target the path rules refuse (an encoded slash) is a 400 from the responder.
    assert_eq!(
        status_and_close(s.addr, get("/a%2Fb").as_bytes()),
        (400, true)
    );
    // Other methods we do not serve are plain 405s: the connection stays usable.
    let mut c = connect(s.addr);
    let mut r = BufReader::new(c.try_clone().unwrap());
    c.write_all(b"DELETE /hello.txt HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert_eq!(read_reply(&mut r).status, 405);
    c.write_all(get("/hello.txt").as_bytes()).unwrap();
    assert_eq!(read_reply(&mut r).body, b"hello\n");
}

#[test]
fn a_partial_head_at_the_header_deadline_gets_408_and_silence_gets_nothing() {
    let s = serve(&["--header-timeout", "1"]);
    let mut partial = connect(s.addr);
    partial.write_all(b"GET /hello.txt HTTP/1.1\r\nHo").unwrap();
    let mut silent = connect(s.addr);
    let t = Instant::now();
    let mut r = BufReader::new(partial.try_clone().unwrap());
    let reply = read_reply(&mut r);
    assert_eq!(reply.status, 408, "{}", reply.head);
    assert!(
        t.elapsed() >= Duration::from_millis(800),
        "{:?}",
        t.elapsed()
    );
    assert!(reply
        .head
        .to_ascii_lowercase()
        .contains("connection: close"));
    assert!(closes_within(&mut partial, Duration::from_secs(5)));
    // The silent one is closed too, without a byte.
    let mut got = Vec::new();
    silent
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let _ = silent.read_to_end(&mut got);
    assert!(got.is_empty(), "{:?}", String::from_utf8_lossy(&got));
}

#[test]
fn a_response_cut_short_by_the_stop_grace_is_logged_with_the_bytes_sent() {
    let mut cmd = rawhttp_serve(&["--faults", "--threads", "1"]);
    cmd.args(["--log", "common"]);
    let mut s = serve_with(cmd, Stdio::piped());
    let log = stderr_lines(s.child.stderr.take().unwrap());
    let mut c = connect(s.addr);
    // 100 KiB at 10 KiB/s: ten seconds, longer than the 5-s grace.
    c.write_all(get("/100k.bin?rate=10240").as_bytes()).unwrap();
    let mut r = BufReader::new(c);
    let mut status = String::new();
    r.read_line(&mut status).unwrap();
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(s.child.id() as i32, libc::SIGTERM) };
    let mut rest = Vec::new();
    r.get_mut()
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let _ = r.read_to_end(&mut rest);
    let split = rest.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let received = rest.len() - split - 4;
    assert!(received > 0 && received < 100 * 1024, "{received}");
    assert_eq!(s.child.wait().unwrap().code(), Some(0));
    let lines = until_closed(&log);
    let line = lines
        .iter()
        .find(|l| l.contains("GET /100k.bin?rate=10240"))
        .unwrap_or_else(|| panic!("no log line for the cut response: {lines:?}"));
    assert!(
        line.ends_with(&format!("\" 200 {received}")),
        "{line} (client received {received})"
    );
}
