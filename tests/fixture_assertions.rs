//! The fixture library beyond httptest, from Rust: canned routes, what `requests()` records
//! (HTTP version, peer, TLS details), `wait_for_requests` with clients in other threads and
//! processes (no sleeps), the bounded log, and binding where asked.

mod serve_cli;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use rawhttp::serve::badssl::TlsVersion;
use rawhttp::serve::routes::{Reply, Route};
use rawhttp::serve::Server;
use serve_cli::{curl, path_str, stderr_lines};

const PATIENCE: Duration = Duration::from_secs(20);

/// Send a raw request and read the whole reply (the request asks the server to close).
fn raw(addr: std::net::SocketAddr, request: &[u8]) -> (String, std::net::SocketAddr) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(PATIENCE)).expect("timeout");
    let local = s.local_addr().expect("local address");
    s.write_all(request).expect("send");
    let mut out = Vec::new();
    s.read_to_end(&mut out).expect("read to close");
    (String::from_utf8_lossy(&out).into_owned(), local)
}

#[test]
fn routes_from_rust_match_method_path_query_and_headers() {
    let server = Server::in_memory()
        .file("api/x", "the file\n")
        .route(
            "GET",
            "/api/x",
            Reply::status(201).header("X-Made", "yes").body("made\n"),
        )
        .add_route(
            Route::new("PUT", "/api/x", Reply::status(204))
                .query("force=1")
                .request_header("X-Token", "t"),
        )
        .start()
        .expect("start");
    let (reply, _) = raw(
        server.addr(),
        b"GET /api/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    assert!(reply.starts_with("HTTP/1.1 201 Created\r\n"), "{reply}");
    assert!(reply.contains("\r\nX-Made: yes\r\n") && reply.ends_with("\r\n\r\nmade\n"));
    let put = "PUT /api/x?force=1 HTTP/1.1\r\nHost: a\r\nX-Token: t\r\nConnection: close\r\n\r\n";
    let (reply, _) = raw(server.addr(), put.as_bytes());
    assert!(reply.starts_with("HTTP/1.1 204 No Content\r\n"), "{reply}");
    // Without the header the PUT falls through to the files, which refuse the method.
    let put = "PUT /api/x?force=1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    let (reply, _) = raw(server.addr(), put.as_bytes());
    assert!(reply.starts_with("HTTP/1.1 405"), "{reply}");
}

#[test]
fn a_bad_route_is_refused_at_start() {
    let got = Server::in_memory()
        .route(
            "GET",
            "/a",
            Reply::status(200).header("Content-Length", "9"),
        )
        .start();
    assert!(matches!(got, Err(rawhttp::Error::Usage(_))), "{got:?}");
}

#[test]
fn requests_record_version_and_peer() {
    let server = Server::in_memory().file("a", "a").start().expect("start");
    let (_, local) = raw(server.addr(), b"GET /a HTTP/1.0\r\n\r\n");
    let seen = server
        .wait_for_requests(1, PATIENCE)
        .expect("the request is logged");
    assert_eq!(seen[0].version, "HTTP/1.0");
    assert_eq!(seen[0].peer, local);
    assert_eq!(seen[0].tls, None);
}

#[test]
fn requests_record_sni_alpn_and_tls_version_from_curl() {
    let server = Server::in_memory()
        .file("a", "a")
        .tls_version(TlsVersion::Tls12)
        .start()
        .expect("start");
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, server.ca_pem()).expect("write CA");
    let url = format!("https://localhost:{}/a", server.addr().port());
    let out = curl(&[
        "--cacert",
        path_str(&ca),
        "--http1.1",
        "-o",
        "/dev/null",
        &url,
    ]);
    assert!(out.status.success(), "{:?}", stderr_lines(&out));
    let seen = server.wait_for_requests(1, PATIENCE).expect("logged");
    let tls = seen[0].tls.clone().expect("TLS details");
    assert_eq!(tls.sni.as_deref(), Some("localhost"));
    assert_eq!(tls.alpn.as_deref(), Some("http/1.1"));
    assert_eq!(tls.version, "TLSv1.2");
}

#[test]
fn wait_for_requests_follows_a_client_in_another_process() {
    let server = Server::in_memory().file("a", "a").start().expect("start");
    let url = server.url().join("a").expect("url").to_string();
    // curl runs concurrently; the test blocks on the log, not on a sleep or on curl.
    let child = std::process::Command::new("curl")
        .args([
            "-sS",
            "-o",
            "/dev/null",
            "-o",
            "/dev/null",
            "-o",
            "/dev/null",
        ])
        .args([&url, &url, &url])
        .spawn()
        .expect("curl starts");
    let seen = server.wait_for_requests(3, PATIENCE).expect("three arrive");
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|r| r.path() == "/a"));
    let out = child.wait_with_output().expect("curl ends");
    assert!(out.status.success());
    // Not more than arrived: a short timeout says so.
    let got = server.wait_for_requests(4, Duration::from_millis(50));
    assert!(matches!(got, Err(rawhttp::Error::Timeout(_))), "{got:?}");
}

#[test]
fn the_log_is_bounded_and_counts_what_it_dropped() {
    let server = Server::in_memory()
        .request_log_cap(2)
        .start()
        .expect("start");
    for i in 0..5 {
        let request = format!("GET /{i} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        raw(server.addr(), request.as_bytes());
    }
    let seen = server.wait_for_requests(5, PATIENCE).expect("all counted");
    let targets: Vec<&str> = seen.iter().map(|r| r.target.as_str()).collect();
    assert_eq!(targets, ["/3", "/4"]);
    assert_eq!(server.dropped_requests(), 3);
}

#[test]
fn binding_several_addresses_shares_one_port() {
    let server = Server::in_memory()
        .file("a", "a")
        .bind("127.0.0.1:0")
        .bind("127.0.0.2:0")
        .start()
        .expect("start");
    let addrs = server.addrs().to_vec();
    assert_eq!(addrs.len(), 2);
    assert_eq!(addrs[0].port(), addrs[1].port());
    assert_eq!(server.url(), server.urls()[0]);
    for addr in addrs {
        let (reply, _) = raw(addr, b"GET /a HTTP/1.0\r\n\r\n");
        assert!(reply.starts_with("HTTP/1.1 200"), "{addr}: {reply}");
    }
    let bad = Server::in_memory().bind("localhost").start();
    assert!(matches!(bad, Err(rawhttp::Error::Usage(_))), "{bad:?}");
}

#[test]
fn binding_ipv6_loopback_moves_the_url() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback here: nothing to test");
        return;
    }
    let server = Server::in_memory()
        .file("a", "a")
        .bind("[::1]:0")
        .start()
        .expect("start");
    let url = server.url();
    assert_eq!(url.host_str(), Some("[::1]"));
    let (reply, _) = raw(server.addr(), b"GET /a HTTP/1.0\r\n\r\n");
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
}
