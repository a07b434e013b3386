//! Smoke tests of the fetch library API and CLI against a one-shot loopback server that
//! replies with fixed bytes. (The full black-box suite is tests/fetch_*.rs.)

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::Command;
use std::thread::{self, JoinHandle};

use rawhttp::fetch::Request;

/// Accept one connection, read the request head, answer `reply`, close. Joins to the request.
fn serve_once(reply: &'static [u8]) -> (SocketAddr, JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let handle = thread::spawn(move || {
        let (mut sock, _) = listener.accept().expect("accept");
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = sock.read(&mut buf).expect("read request");
            if n == 0 {
                break;
            }
            request.extend_from_slice(&buf[..n]);
        }
        sock.write_all(reply).expect("write reply");
        request
    });
    (addr, handle)
}

fn url(addr: SocketAddr, path: &str) -> url::Url {
    url::Url::parse(&format!("http://{addr}{path}")).expect("valid URL")
}

#[test]
fn content_length_body_and_the_request_sent() {
    let (addr, server) = serve_once(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Y: z\r\n\r\nhello");
    let mut response = Request::get(url(addr, "/a/b?c=d#frag"))
        .header("X-Test", "1")
        .send()
        .expect("send");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers().get("x-y"), Some(&b"z"[..]));
    let mut body = Vec::new();
    response.read_to_end(&mut body).expect("body");
    assert_eq!(body, b"hello");
    assert!(response.is_verified());
    let request = String::from_utf8(server.join().expect("server")).expect("ascii request");
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        request,
        format!(
            "GET /a/b?c=d HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: rawhttp/{version}\r\n\
             Accept: */*\r\nConnection: close\r\nX-Test: 1\r\n\r\n"
        )
    );
}

#[test]
fn chunked_body_with_trailers_after_an_interim_response() {
    let (addr, _server) = serve_once(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
          5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Sum: 1\r\n\r\n",
    );
    let mut response = Request::get(url(addr, "/")).send().expect("send");
    assert_eq!(response.status(), 200);
    let mut body = String::new();
    response.read_to_string(&mut body).expect("body");
    assert_eq!(body, "hello, world");
    assert!(response.is_verified());
    assert_eq!(response.trailers().get("x-sum"), Some(&b"1"[..]));
}

#[test]
fn a_cut_chunked_body_is_an_error_not_an_end() {
    let (addr, _server) =
        serve_once(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    let mut response = Request::get(url(addr, "/")).send().expect("send");
    let mut body = Vec::new();
    let err = response.read_to_end(&mut body).expect_err("cut");
    assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
    let inner = err.into_inner().expect("crate error inside");
    let inner = inner.downcast::<rawhttp::Error>().expect("rawhttp::Error");
    assert_eq!(inner.exit_code(), 18);
}

#[test]
fn cli_saves_a_body_and_keeps_the_old_file_on_truncation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("page.txt");
    let (addr, _server) = serve_once(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nnew");
    let status = Command::new(env!("CARGO_BIN_EXE_rawhttp"))
        .args(["fetch", "-s", "-o"])
        .arg(&out)
        .arg(url(addr, "/").as_str())
        .status()
        .expect("run rawhttp");
    assert_eq!(status.code(), Some(0));
    assert_eq!(std::fs::read(&out).expect("saved"), b"new");

    let (addr, _server) = serve_once(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\ncut");
    let output = Command::new(env!("CARGO_BIN_EXE_rawhttp"))
        .args(["fetch", "-o"])
        .arg(&out)
        .arg(url(addr, "/").as_str())
        .output()
        .expect("run rawhttp");
    assert_eq!(output.status.code(), Some(18));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("rawhttp: transfer cut short"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&out).expect("still there"), b"new");
    assert!(!dir.path().join("page.txt.part").exists());
}
