//! An absolute-form request target (`GET http://host/a?q HTTP/1.1`, RFC 9112 §3.2.2) meets the
//! same rules as its origin-form twin (`GET /a?q`): library fault rules by path, `truncate` in
//! the query, canned routes, echo and the recorded path. Raw bytes on a socket, since no client
//! sends absolute-form to a server that is not a proxy unless made to.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use rawhttp::serve::faults::Faults;
use rawhttp::serve::routes::Reply;
use rawhttp::serve::Server;

const WAIT: Duration = Duration::from_secs(20);

/// Send `GET TARGET HTTP/1.1` with `Connection: close`; (head, body) once the server closes.
fn get(addr: SocketAddr, target: &str) -> (String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(WAIT)).expect("timeout");
    let request = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(request.as_bytes()).expect("send");
    let mut out = Vec::new();
    s.read_to_end(&mut out).expect("read to close");
    let end = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a whole head");
    let head = String::from_utf8_lossy(&out[..end]).into_owned();
    (head, out[end + 4..].to_vec())
}

fn truncate(n: u64) -> Faults {
    Faults {
        truncate: Some(n),
        ..Faults::default()
    }
}

#[test]
fn a_path_fault_rule_applies_to_an_absolute_form_request() {
    let server = Server::in_memory()
        .file("cut.txt", "0123456789")
        .file("whole.txt", "0123456789")
        .fault_for_path("/cut.txt", truncate(2))
        .start()
        .expect("start");
    let addr = server.addr();
    let (head, body) = get(addr, &format!("http://{addr}/cut.txt"));
    assert!(head.contains("Content-Length: 10"), "{head}");
    assert_eq!(body, b"01", "the /cut.txt rule cuts the body after 2 bytes");
    let (_, body) = get(addr, &format!("http://{addr}/whole.txt"));
    assert_eq!(body, b"0123456789", "other paths are whole");
    let paths: Vec<String> = server.requests().iter().map(|r| r.path().into()).collect();
    assert_eq!(paths, ["/cut.txt", "/whole.txt"]);
}

#[test]
fn a_query_fault_and_a_case_insensitive_scheme_apply_too() {
    let server = Server::in_memory()
        .file("a", "0123456789")
        .query_faults()
        .start()
        .expect("start");
    let addr = server.addr();
    let (head, body) = get(addr, &format!("HTTP://{addr}/a?truncate=5"));
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, b"01234");
}

#[test]
fn routes_and_echo_match_an_absolute_form_target() {
    let server = Server::in_memory()
        .route("GET", "/api", Reply::status(201).body("made\n"))
        .echo("/echo")
        .start()
        .expect("start");
    let addr = server.addr();
    let (head, body) = get(addr, &format!("http://{addr}/api"));
    assert!(head.starts_with("HTTP/1.1 201"), "{head}");
    assert_eq!(body, b"made\n");
    let (head, body) = get(addr, &format!("http://{addr}/echo/1"));
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        body.starts_with(b"GET http://"),
        "the request's bytes: {body:?}"
    );
}
