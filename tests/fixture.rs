//! The fixture library (`rawhttp::serve::Server`) as another project's tests would use it:
//! TLS trust through `client_tls_config()`, recorded requests with connection ids, in-memory
//! files, reproducible validators, library fault rules, echo, and a clean stop.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use rawhttp::serve::faults::Faults;
use rawhttp::serve::{Server, ServerHandle};

const WAIT: Duration = Duration::from_secs(20);

/// Read until the peer closes.
fn read_all(mut r: impl Read) -> Vec<u8> {
    let mut out = Vec::new();
    r.read_to_end(&mut out).expect("read to close");
    out
}

/// A GET with `Connection: close` on a fresh plain connection; (head, body).
fn get(addr: SocketAddr, target: &str) -> (String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(WAIT)).expect("timeout");
    let request = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(request.as_bytes()).expect("send");
    split(&read_all(s))
}

fn split(bytes: &[u8]) -> (String, Vec<u8>) {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a whole head");
    (
        String::from_utf8_lossy(&bytes[..end]).into_owned(),
        bytes[end + 4..].to_vec(),
    )
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// A TLS connection to the fixture trusting only its CA, as `rustls::StreamOwned`.
fn tls_connect(server: &ServerHandle) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let name = rustls_pki_types::ServerName::try_from("localhost").expect("name");
    let conn = rustls::ClientConnection::new(server.client_tls_config(), name).expect("client");
    let tcp = TcpStream::connect(server.addr()).expect("connect");
    tcp.set_read_timeout(Some(WAIT)).expect("timeout");
    rustls::StreamOwned::new(conn, tcp)
}

#[test]
fn spec_example_tls_fixture_with_recorded_keep_alive() -> Result<(), Box<dyn std::error::Error>> {
    let server = Server::new("fixtures/www").self_signed_tls().start()?;
    let url: url::Url = server.url();
    assert_eq!(url.scheme(), "https");
    assert_eq!(url.port(), Some(server.addr().port()));
    assert!(server.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));

    let mut response = rawhttp::fetch::Request::get(url.join("hello.txt")?)
        .tls_config(server.client_tls_config())
        .send()?;
    assert_eq!(response.status(), 200);
    let mut body = Vec::new();
    response.read_to_end(&mut body)?;
    let on_disk = std::fs::read("fixtures/www/hello.txt")?;
    assert_eq!(body, on_disk);

    // Two pipelined requests on one TLS connection, then one on another connection.
    let mut tls = tls_connect(&server);
    let host = server.addr();
    let two = format!(
        "GET /hello.txt HTTP/1.1\r\nHost: {host}\r\n\r\n\
         HEAD /hello.txt?again HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    );
    tls.write_all(two.as_bytes())?;
    let both = read_all(&mut tls);
    assert_eq!(tls.conn.alpn_protocol(), Some(&b"http/1.1"[..]));
    assert_eq!(both.windows(9).filter(|w| w == b"HTTP/1.1 ").count(), 2);
    let mut other = tls_connect(&server);
    other.write_all(
        format!("GET /x HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
    )?;
    read_all(&mut other);

    let seen: Vec<_> = server
        .requests()
        .into_iter()
        .map(|r| (r.method, r.target, r.connection_id))
        .collect();
    let first = seen[0].2;
    assert_eq!(
        seen,
        [
            ("GET".into(), "/hello.txt".into(), first),
            ("GET".into(), "/hello.txt".into(), first + 1),
            ("HEAD".into(), "/hello.txt?again".into(), first + 1),
            ("GET".into(), "/x".into(), first + 2),
        ]
    );
    assert_eq!(first, 1, "connection ids count from 1 per server");

    let addr = server.addr();
    drop(server);
    let refused = TcpStream::connect(addr).expect_err("port closed after drop");
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    Ok(())
}

#[test]
fn recorded_requests_carry_headers_and_body_length() {
    let server = Server::in_memory()
        .file("a.txt", "a")
        .start()
        .expect("start");
    let mut s = TcpStream::connect(server.addr()).expect("connect");
    s.set_read_timeout(Some(WAIT)).expect("timeout");
    let request = "GET /a.txt HTTP/1.1\r\nHost: h\r\nX-Test: yes\r\nContent-Length: 3\r\n\
                   Connection: close\r\n\r\nabc";
    s.write_all(request.as_bytes()).expect("send");
    read_all(s);
    let seen = server.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].header("x-test"), Some("yes"));
    assert_eq!(seen[0].body_len, 3);
    assert_eq!(seen[0].path(), "/a.txt");
}

#[test]
fn in_memory_files_are_served_and_removed_at_shutdown() {
    let server = Server::in_memory()
        .file("a/b.txt", "nested")
        .file("/.well-known/c", vec![0u8, 1, 2])
        .file("a/b.txt", "replaced")
        .start()
        .expect("start");
    assert_eq!(server.url().scheme(), "http");
    assert_eq!(server.ca_pem(), "");
    let (head, body) = get(server.addr(), "/a/b.txt");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, b"replaced");
    assert_eq!(get(server.addr(), "/.well-known/c").1, [0, 1, 2]);
    assert!(get(server.addr(), "/missing").0.starts_with("HTTP/1.1 404"));

    let root = server.root().to_path_buf();
    assert!(root.join("a/b.txt").is_file());
    server.shutdown();
    server.shutdown(); // idempotent
    assert!(!root.exists(), "temporary folder left behind");
}

#[test]
fn bad_fixture_paths_are_usage_errors() {
    for bad in ["../escape", "a/../../b", ""] {
        let got = Server::in_memory().file(bad, "x").start();
        assert!(
            matches!(got, Err(rawhttp::Error::Usage(_))),
            "{bad:?}: {got:?}"
        );
    }
}

#[test]
fn reproducible_validators_match_across_servers() {
    let start = || {
        Server::in_memory()
            .file("v.txt", "same bytes")
            .reproducible_validators()
            .start()
            .expect("start")
    };
    let (one, two) = (start(), start());
    let (head1, _) = get(one.addr(), "/v.txt");
    let (head2, _) = get(two.addr(), "/v.txt");
    let etag = header(&head1, "etag").expect("ETag");
    assert!(etag.starts_with('"'), "strong ETag: {etag}");
    assert_eq!(Some(etag), header(&head2, "etag"));
    assert_eq!(
        header(&head1, "last-modified"),
        Some("Sun, 09 Sep 2001 01:46:40 GMT")
    );
    assert_eq!(
        header(&head2, "last-modified"),
        Some("Sun, 09 Sep 2001 01:46:40 GMT")
    );

    let other = Server::in_memory()
        .file("v.txt", "different!")
        .reproducible_validators()
        .start()
        .expect("start");
    let (head3, _) = get(other.addr(), "/v.txt");
    assert_ne!(header(&head3, "etag"), Some(etag), "same size, other bytes");
}

#[test]
fn nth_rule_fails_only_that_request() {
    let server = Server::in_memory()
        .file("r.txt", "retry me")
        .fault_for_nth(
            "r.txt",
            2,
            Faults {
                status: Some(503),
                ..Faults::default()
            },
        )
        .start()
        .expect("start");
    let statuses: Vec<String> = (0..3)
        .map(|_| {
            get(server.addr(), "/r.txt")
                .0
                .lines()
                .next()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert!(statuses[0].starts_with("HTTP/1.1 200"), "{statuses:?}");
    assert!(statuses[1].starts_with("HTTP/1.1 503"), "{statuses:?}");
    assert!(statuses[2].starts_with("HTTP/1.1 200"), "{statuses:?}");
}

#[test]
fn path_rule_and_query_faults() {
    let truncate = Faults {
        truncate: Some(2),
        ..Faults::default()
    };
    let server = Server::in_memory()
        .file("cut.txt", "0123456789")
        .file("whole.txt", "0123456789")
        .fault_for_path("/cut.txt", truncate)
        .query_faults()
        .start()
        .expect("start");
    let (head, body) = get(server.addr(), "/cut.txt");
    assert_eq!(
        header(&head, "content-length"),
        Some("10"),
        "full length announced"
    );
    assert_eq!(body, b"01");
    assert_eq!(get(server.addr(), "/whole.txt").1, b"0123456789");
    let (head, body) = get(server.addr(), "/whole.txt?chunked&status=418");
    assert!(head.starts_with("HTTP/1.1 418"), "{head}");
    assert_eq!(header(&head, "transfer-encoding"), Some("chunked"));
    assert_eq!(body, b"a\r\n0123456789\r\n0\r\n\r\n");
}

#[test]
fn echo_path_returns_request_bytes() {
    let server = Server::in_memory().echo("/echo").start().expect("start");
    let request = "GET /echo/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let mut s = TcpStream::connect(server.addr()).expect("connect");
    s.set_read_timeout(Some(WAIT)).expect("timeout");
    s.write_all(request.as_bytes()).expect("send");
    let (head, body) = split(&read_all(s));
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, request.as_bytes());
}

#[test]
fn shutdown_finishes_the_response_in_flight() {
    let server = Server::in_memory()
        .file("slow.txt", vec![b's'; 1000])
        .fault_for_path(
            "slow.txt",
            Faults {
                rate: Some(2000),
                ..Faults::default()
            },
        )
        .start()
        .expect("start");
    let addr = server.addr();
    let (head_seen, wait_head) = mpsc::channel();
    let client = std::thread::spawn(move || {
        let mut s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(WAIT)).expect("timeout");
        s.write_all(b"GET /slow.txt HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("send");
        let mut first = [0u8; 1];
        s.read_exact(&mut first).expect("head starts");
        head_seen.send(()).expect("main waits");
        let mut rest = read_all(s);
        rest.insert(0, first[0]);
        rest
    });
    wait_head.recv_timeout(WAIT).expect("response started");
    server.shutdown();
    let (_, body) = split(&client.join().expect("client thread"));
    assert_eq!(body.len(), 1000, "in-flight body cut by shutdown");
}

#[test]
fn handle_is_shared_across_threads() {
    let server = Arc::new(
        Server::in_memory()
            .file("t.txt", "t")
            .start()
            .expect("start"),
    );
    std::thread::scope(|scope| {
        for _ in 0..4 {
            let server = &server;
            scope.spawn(move || assert_eq!(get(server.addr(), "/t.txt").1, b"t"));
        }
    });
    let mut ids: Vec<u64> = server.requests().iter().map(|r| r.connection_id).collect();
    ids.sort_unstable();
    assert_eq!(ids, [1, 2, 3, 4]);
}

/// Run by `keep_env_keeps_the_fixture_serving_after_the_test` in a child process only.
#[test]
#[ignore = "helper: runs in a child process with RAWHTTP_FIXTURE_KEEP=1"]
fn keep_env_helper() {
    let server = Server::in_memory()
        .file("k.txt", "kept")
        .start()
        .expect("start");
    drop(server); // with the variable set, this announces and blocks instead of stopping
}

#[test]
fn keep_env_keeps_the_fixture_serving_after_the_test() {
    use std::io::BufRead;
    let mut child = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args(["--ignored", "--exact", "keep_env_helper", "--nocapture"])
        .env(rawhttp::serve::fixture::KEEP_ENV, "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("child test runs");
    let stderr = child.stderr.take().expect("piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let mut kept = None;
    while kept.is_none() {
        match rx.recv_timeout(WAIT) {
            Ok(line) => {
                kept = line
                    .strip_prefix("rawhttp fixture: kept serving at ")
                    .map(String::from)
            }
            Err(e) => {
                let _ = child.kill();
                panic!("no keep line from the child: {e}");
            }
        }
    }
    let url = url::Url::parse(
        kept.as_deref()
            .and_then(|l| l.split(' ').next())
            .unwrap_or(""),
    );
    let addr = url.expect("URL").socket_addrs(|| None).expect("address")[0];
    let body = get(addr, "/k.txt").1;
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(body, b"kept", "the dropped fixture still serves");
}

#[test]
fn faults_apply_over_tls_to_every_request() {
    let server = Server::in_memory()
        .file("a.txt", "0123456789")
        .faults(Faults {
            truncate: Some(4),
            ..Faults::default()
        })
        .self_signed_tls()
        .start()
        .expect("start");
    for _ in 0..2 {
        let url = server.url().join("a.txt").expect("url");
        let mut response = rawhttp::fetch::Request::get(url)
            .tls_config(server.client_tls_config())
            .send()
            .expect("head arrives");
        assert_eq!(response.content_length(), Some(10), "full length announced");
        let mut body = Vec::new();
        let got = response.read_to_end(&mut body);
        assert!(got.is_err(), "a cut TLS body read as complete: {body:?}");
        assert_eq!(body, b"0123", "bytes before the cut");
    }
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn a_plain_fixture_trusts_nothing_over_tls() {
    let tls = Server::in_memory()
        .file("a.txt", "a")
        .self_signed_tls()
        .start()
        .expect("tls");
    let plain = Server::in_memory()
        .file("a.txt", "a")
        .start()
        .expect("plain");
    let got = rawhttp::fetch::Request::get(tls.url().join("a.txt").expect("url"))
        .tls_config(plain.client_tls_config())
        .send();
    assert!(
        matches!(got, Err(ref e) if e.exit_code() == 60),
        "{:?}",
        got.err()
    );
    // and another TLS fixture's trust does not carry over either: each CA is fresh
    let other = Server::in_memory()
        .self_signed_tls()
        .start()
        .expect("other");
    let got = rawhttp::fetch::Request::get(tls.url().join("a.txt").expect("url"))
        .tls_config(other.client_tls_config())
        .send();
    assert!(
        matches!(got, Err(ref e) if e.exit_code() == 60),
        "{:?}",
        got.err()
    );
}

#[test]
fn shutdown_does_not_wait_for_idle_keep_alive_connections() {
    let server = Server::in_memory()
        .file("a.txt", "a")
        .start()
        .expect("start");
    let mut idle = TcpStream::connect(server.addr()).expect("connect");
    idle.set_read_timeout(Some(WAIT)).expect("timeout");
    idle.write_all(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("send");
    let mut response = [0u8; 512];
    let n = idle.read(&mut response).expect("response");
    assert!(
        response[..n].ends_with(b"\r\n\r\na"),
        "{:?}",
        String::from_utf8_lossy(&response[..n])
    );
    // The connection now sits idle in keep-alive; stopping must not wait for it.
    let started = std::time::Instant::now();
    server.shutdown();
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "shutdown waited {took:?} for an idle connection"
    );
    assert_eq!(
        idle.read(&mut response).expect("orderly close"),
        0,
        "idle connection closed"
    );
}
