//! An absolute-form request target (`GET http://host/a?q HTTP/1.1`, RFC 9112 §3.2.2) meets the
//! same rules as its origin-form twin (`GET /a?q`): library fault rules by path, `truncate` in
//! the query, canned routes, echo and the recorded path. Raw bytes on a socket, since no client
//! sends absolute-form to a server that is not a proxy unless made to.

mod serve_cli;

use std::net::SocketAddr;

use rawhttp::serve::faults::Faults;
use rawhttp::serve::routes::Reply;
use rawhttp::serve::Server;
use serve_cli::{raw_exchange, split_response};

/// Send `GET TARGET HTTP/1.1` with `Connection: close`; (head, body) once the server closes.
fn get(addr: SocketAddr, target: &str) -> (String, Vec<u8>) {
    let request = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    split_response(&raw_exchange(addr, request.as_bytes()))
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
