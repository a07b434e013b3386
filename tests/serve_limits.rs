//! Serving under pressure (issue 13, issue 9's "also fix"): the connection table, per-address
//! caps, descriptor limits, confused clients, timeouts, TLS ports spoken to in plain text, a
//! stalled access log. The built binary on port 0, raw sockets on loopback.

mod serve_cli;
mod support;

use serve_cli::Serve;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::wire::{closes_within, connect, get, read_reply};

/// A `rawhttp serve` child (the shared helper's, killed on drop) and its docroot.
struct Served {
    serve: Serve,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for Served {
    type Target = Serve;
    fn deref(&self) -> &Serve {
        &self.serve
    }
}

impl std::ops::DerefMut for Served {
    fn deref_mut(&mut self) -> &mut Serve {
        &mut self.serve
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
fn serve_with(mut cmd: Command, stderr: Stdio) -> Served {
    let dir = docroot();
    cmd.arg(dir.path()).args(["-p", "0"]);
    Served {
        serve: Serve::spawn_with(cmd, stderr),
        _dir: dir,
    }
}

fn rawhttp_serve(args: &[&str]) -> Command {
    Serve::command(args)
}

fn serve(args: &[&str]) -> Served {
    let mut all = vec!["--log", "off"];
    all.extend_from_slice(args);
    serve_with(rawhttp_serve(&all), Stdio::inherit())
}

/// Every line until the writer closes its end (or 10 s pass without a line).
fn until_closed(log: &mpsc::Receiver<String>) -> Vec<String> {
    let mut lines = Vec::new();
    while let Ok(line) = log.recv_timeout(Duration::from_secs(10)) {
        lines.push(line);
    }
    lines
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
    let log = s.stderr_lines();
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

/// `n` connections that each got one answer and now sit idle in keep-alive.
fn idle_connections(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    (0..n)
        .map(|_| {
            let mut c = connect(addr);
            c.write_all(get("/hello.txt").as_bytes()).unwrap();
            let reply = read_reply(&mut BufReader::new(c.try_clone().unwrap()));
            assert_eq!(reply.body, b"hello\n");
            c
        })
        .collect()
}

/// A new client's request is answered within `within` (read timeout), body checked.
fn served_within(addr: SocketAddr, within: Duration) -> Duration {
    let t = Instant::now();
    let mut c = connect(addr);
    c.set_read_timeout(Some(within)).unwrap();
    c.write_all(get("/hello.txt").as_bytes()).unwrap();
    let reply = read_reply(&mut BufReader::new(c));
    assert_eq!(reply.body, b"hello\n");
    t.elapsed()
}

#[test]
fn idle_keep_alive_connections_make_room_at_the_connection_cap_oldest_first() {
    let s = serve(&["--max-connections", "4", "--threads", "1"]);
    let mut held = idle_connections(s.addr, 4);
    // The table is full of idle keep-alive connections; a new client is still served at once
    // (before: it waited for the 60-s idle timeout).
    served_within(s.addr, Duration::from_secs(3));
    // The one idle the longest made room; the newest is still open and usable.
    assert!(closes_within(&mut held[0], Duration::from_secs(3)));
    let newest = held.last_mut().unwrap();
    newest.write_all(get("/hello.txt").as_bytes()).unwrap();
    let reply = read_reply(&mut BufReader::new(newest.try_clone().unwrap()));
    assert_eq!(reply.body, b"hello\n");
}

#[test]
fn idle_connections_of_another_loop_make_room_too() {
    // Two loops, each with its own SO_REUSEPORT queue: whichever gets the new client, an idle
    // connection somewhere is closed for it.
    let s = serve(&["--max-connections", "4", "--threads", "2"]);
    let mut held = idle_connections(s.addr, 4);
    for _ in 0..6 {
        let mut c = connect(s.addr);
        c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        c.write_all(get("/hello.txt").as_bytes()).unwrap();
        let reply = read_reply(&mut BufReader::new(c.try_clone().unwrap()));
        assert_eq!(reply.body, b"hello\n");
        // Kept open and idle: the next new client needs room again.
        held.push(c);
    }
}

#[test]
fn connections_mid_request_or_mid_response_are_never_closed_to_make_room() {
    let s = serve(&["--max-connections", "2", "--threads", "1", "--faults"]);
    // One mid-request (half a head), one mid-response (a stall fault: head sent, no body).
    let mut mid_request = connect(s.addr);
    mid_request
        .write_all(b"GET /hello.txt HTTP/1.1\r\n")
        .unwrap();
    let mut mid_response = connect(s.addr);
    mid_response
        .write_all(get("/hello.txt?stall").as_bytes())
        .unwrap();
    let mut line = String::new();
    let mut r = BufReader::new(mid_response.try_clone().unwrap());
    r.read_line(&mut line).unwrap();
    assert!(line.starts_with("HTTP/1.1 200"), "{line}");
    // A third client waits: neither busy connection is sacrificed.
    let mut third = connect(s.addr);
    third.write_all(get("/hello.txt").as_bytes()).unwrap();
    third
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut byte = [0u8; 1];
    let err = third.read(&mut byte).unwrap_err();
    assert!(matches!(
        err.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    ));
    // The half-sent request completes and is answered in full ...
    mid_request.write_all(b"Host: t\r\n\r\n").unwrap();
    let reply = read_reply(&mut BufReader::new(mid_request.try_clone().unwrap()));
    assert_eq!(reply.body, b"hello\n");
    // ... after which it is idle, and makes room for the waiting client.
    third
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    assert_eq!(read_reply(&mut BufReader::new(third)).body, b"hello\n");
    assert!(closes_within(&mut mid_request, Duration::from_secs(3)));
}

#[test]
fn per_address_cap_closes_the_excess_at_accept() {
    let s = serve(&["--max-connections-per-ip", "2", "--threads", "1"]);
    let mut held = idle_connections(s.addr, 2);
    // The third from the same address is closed without a reply.
    let mut third = connect(s.addr);
    let _ = third.write_all(get("/hello.txt").as_bytes());
    let mut got = Vec::new();
    third
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let result = third.read_to_end(&mut got);
    assert!(got.is_empty(), "{:?}", String::from_utf8_lossy(&got));
    assert!(
        !matches!(&result, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock
            || e.kind() == std::io::ErrorKind::TimedOut),
        "not closed: {result:?}"
    );
    // A held one still works; once one goes, a new one is admitted.
    held[1].write_all(get("/hello.txt").as_bytes()).unwrap();
    let reply = read_reply(&mut BufReader::new(held[1].try_clone().unwrap()));
    assert_eq!(reply.body, b"hello\n");
    drop(held.remove(0));
    served_within(s.addr, Duration::from_secs(3));
}

#[test]
fn loopback_is_exempt_from_the_default_per_address_cap() {
    let s = serve(&["--threads", "1"]);
    // More than the default 256 from 127.0.0.1, all held open at once and all served.
    let held = idle_connections(s.addr, 300);
    assert_eq!(held.len(), 300);
}

/// `rawhttp serve` started with RLIMIT_NOFILE set to `soft`/`hard` (as `ulimit -n` would).
fn serve_with_nofile(soft: u64, hard: u64, args: &[&str]) -> Served {
    use std::os::unix::process::CommandExt;
    let mut all = vec!["--log", "off", "--threads", "1"];
    all.extend_from_slice(args);
    let mut cmd = rawhttp_serve(&all);
    // SAFETY: setrlimit is async-signal-safe; the closure allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: soft,
                rlim_max: hard,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    serve_with(cmd, Stdio::piped())
}

/// The soft and hard "Max open files" of a running process.
fn nofile_of(pid: u32) -> (u64, u64) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let nums: Vec<u64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    (nums[0], nums[1])
}

/// Stop the server and collect everything it wrote on stderr.
fn stop_and_collect_stderr(mut s: Served) -> String {
    let err = s.child.stderr.take().unwrap();
    let _ = s.child.kill();
    let _ = s.child.wait();
    let mut text = String::new();
    BufReader::new(err).read_to_string(&mut text).unwrap();
    text
}

#[test]
fn a_low_soft_descriptor_limit_is_raised_to_the_hard_limit_quietly() {
    let s = serve_with_nofile(64, 4096, &["--max-connections", "1000"]);
    assert_eq!(nofile_of(s.child.id()), (4096, 4096));
    served_within(s.addr, Duration::from_secs(5));
    assert_eq!(stop_and_collect_stderr(s), "");
}

#[test]
fn max_connections_beyond_the_hard_descriptor_limit_is_warned_about() {
    let s = serve_with_nofile(64, 200, &["--max-connections", "1000"]);
    assert_eq!(nofile_of(s.child.id()), (200, 200));
    served_within(s.addr, Duration::from_secs(5));
    let err = stop_and_collect_stderr(s);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("rawhttp: serve: warning: --max-connections 1000 needs"),
        "{err}"
    );
    assert!(err.contains("only 200 are allowed"), "{err}");
}

#[test]
fn plain_http_on_the_tls_port_gets_a_readable_400_then_close() {
    let s = serve(&["--self-signed"]);
    let mut c = connect(s.addr);
    c.write_all(get("/hello.txt").as_bytes()).unwrap();
    let mut all = Vec::new();
    c.read_to_end(&mut all).unwrap();
    let text = String::from_utf8_lossy(&all);
    assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{text:?}");
    assert!(text.contains("The plain HTTP request was sent to HTTPS port"));
    assert!(text.to_ascii_lowercase().contains("connection: close"));
    // curl, told http:// for an https:// server, sees the same 400.
    let out = Command::new("curl")
        .args([
            "-s",
            "--max-time",
            "10",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
        ])
        .arg(format!("http://{}/hello.txt", s.addr))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "400");
    // And HTTPS on the same port still works.
    let out = Command::new("curl")
        .args(["-sk", "--max-time", "10"])
        .arg(format!("https://{}/hello.txt", s.addr))
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"hello\n");
}

#[test]
fn a_stalled_log_pipe_neither_stops_serving_nor_loses_count_of_dropped_lines() {
    let cmd = rawhttp_serve(&["--threads", "1", "--log", "common"]);
    // stderr is a pipe nobody reads until the end.
    let mut s = serve_with(cmd, Stdio::piped());
    let mut c = connect(s.addr);
    let mut r = BufReader::new(c.try_clone().unwrap());
    // 200 lines of about 4 KiB: far more than the pipe (64 KiB) and the backlog (256 KiB).
    let target = format!("/hello.txt?{}", "q".repeat(4000));
    let requests = 200;
    for _ in 0..requests {
        c.write_all(get(&target).as_bytes()).unwrap();
        // Answered promptly every time (the read timeout is 10 s): the log never blocks.
        assert_eq!(read_reply(&mut r).body, b"hello\n");
    }
    // Now read the log: the lines that were kept, then the count of those dropped.
    let log = s.stderr_lines();
    let mut kept = 0u64;
    let dropped: u64 = loop {
        let line = log
            .recv_timeout(Duration::from_secs(10))
            .expect("a line saying how many log lines were dropped");
        if line.contains("\"GET /hello.txt?q") {
            kept += 1;
            continue;
        }
        let n = line
            .strip_prefix("rawhttp: serve: ")
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("unexpected line {line:?}"));
        assert!(line.ends_with("access log lines dropped: stderr was not keeping up"));
        break n;
    };
    assert!(dropped > 0 && kept > 0, "kept {kept}, dropped {dropped}");
    assert_eq!(kept + dropped, requests);
}

#[test]
fn a_body_cut_off_by_the_header_deadline_gets_408_too() {
    let s = serve(&["--header-timeout", "1"]);
    let mut c = connect(s.addr);
    c.write_all(b"POST /hello.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
        .unwrap();
    let reply = read_reply(&mut BufReader::new(c.try_clone().unwrap()));
    assert_eq!(reply.status, 408, "{}", reply.head);
    assert!(closes_within(&mut c, Duration::from_secs(5)));
}
