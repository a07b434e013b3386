//! Black-box HTTPS tests of `rawhttp fetch` against a rustls replay server whose certificates
//! come from a CA made at test time: trust via --cacert, refusals (60), handshake failure (35),
//! a bad --cacert (77), -k, and truncation without close_notify. Faults over TLS (truncation
//! and reset mid-body, a body ended by close_notify) run against rawhttp's own TLS fixture.

mod support;

use std::path::Path;

use support::*;

const BODY: &[u8] = b"hello, world\n";
const OLD: &[u8] = b"old bytes that must survive a failed transfer\n";

fn tls_server(leaf: Leaf, reply: Reply) -> ReplayServer {
    let config = TestPki::get().server_config(leaf);
    ReplayServer::start(vec![("/", reply)], Some(config))
}

/// Write the test CA to `dir/ca.pem` and return its path as a string.
fn write_ca(dir: &Path) -> String {
    let path = dir.join("ca.pem");
    std::fs::write(&path, &TestPki::get().ca_pem).expect("write ca.pem");
    path.to_string_lossy().into_owned()
}

/// Fetch `url` into an existing out.txt with --cacert: returns the outcome; checks no .part.
fn fetch_over_old_file(url: &str, extra: &[&str]) -> (Outcome, tempfile::TempDir) {
    let dir = tempdir();
    std::fs::write(dir.path().join("out.txt"), OLD).expect("write");
    let ca = write_ca(dir.path());
    let mut args = vec!["--cacert", ca.as_str(), "-o", "out.txt"];
    args.extend_from_slice(extra);
    args.push(url);
    let out = fetch(dir.path(), &args);
    assert_no_part_files(dir.path());
    (out, dir)
}

fn assert_refused_with(leaf: Leaf, code: i32) {
    let server = tls_server(leaf, Reply::file("length.http"));
    let url = server.url("/");
    let (out, dir) = fetch_over_old_file(&url, &[]);
    out.assert_fails(code, Some(&url));
    assert_eq!(read(dir.path(), "out.txt").as_deref(), Some(OLD));
    assert!(
        server.requests().is_empty(),
        "a request was sent over an untrusted connection"
    );
}

#[test]
fn trusted_through_cacert_succeeds() {
    let server = tls_server(Leaf::Good, Reply::file("length.http"));
    let (out, dir) = fetch_over_old_file(&server.url("/"), &[]);
    out.assert_ok();
    assert_eq!(read(dir.path(), "out.txt").as_deref(), Some(BODY));
}

#[test]
fn trusted_through_cacert_by_host_name() {
    let server = tls_server(Leaf::Good, Reply::file("length.http"));
    let url = format!("https://localhost:{}/", server.port());
    let (out, dir) = fetch_over_old_file(&url, &[]);
    out.assert_ok();
    assert_eq!(read(dir.path(), "out.txt").as_deref(), Some(BODY));
}

#[test]
fn unknown_issuer_is_60() {
    assert_refused_with(Leaf::SelfSigned, 60);
}

#[test]
fn wrong_host_is_60() {
    assert_refused_with(Leaf::WrongHost, 60);
}

#[test]
fn expired_certificate_is_60() {
    assert_refused_with(Leaf::Expired, 60);
}

#[test]
fn plain_http_server_on_an_https_url_is_35() {
    let server = ReplayServer::single(Reply::file("not-found.http"));
    let url = format!("https://127.0.0.1:{}/", server.port());
    let (out, dir) = fetch_over_old_file(&url, &[]);
    out.assert_fails(35, Some(&url));
    assert_eq!(read(dir.path(), "out.txt").as_deref(), Some(OLD));
}

#[test]
fn unreadable_cacert_is_77() {
    let server = tls_server(Leaf::Good, Reply::file("length.http"));
    let dir = tempdir();
    let missing = dir.path().join("missing.pem");
    let out = fetch(
        dir.path(),
        &[
            "--cacert",
            &missing.to_string_lossy(),
            "-o",
            "out.txt",
            &server.url("/"),
        ],
    );
    out.assert_fails_without_url(77);
    assert!(names(dir.path()).is_empty());
}

#[test]
fn cacert_without_certificates_is_77() {
    let server = tls_server(Leaf::Good, Reply::file("length.http"));
    let dir = tempdir();
    std::fs::write(dir.path().join("junk.pem"), "this is not a certificate\n").expect("write");
    let out = fetch(
        dir.path(),
        &["--cacert", "junk.pem", "-o", "out.txt", &server.url("/")],
    );
    out.assert_fails_without_url(77);
    assert_eq!(names(dir.path()), ["junk.pem"]);
}

#[test]
fn insecure_warns_on_stderr_and_succeeds() {
    let server = tls_server(Leaf::SelfSigned, Reply::file("length.http"));
    let dir = tempdir();
    let out = fetch(dir.path(), &["-k", "-o", "out.txt", &server.url("/")]);
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "expected one warning line: {:?}",
        out.stderr
    );
    assert!(lines[0].starts_with("rawhttp: "), "{:?}", lines[0]);
    assert_eq!(read(dir.path(), "out.txt").as_deref(), Some(BODY));
}

#[test]
fn close_without_notify_before_content_length_is_18() {
    let reply = Reply::file("truncated.http").then(After::CloseWithoutNotify);
    let server = tls_server(Leaf::Good, reply);
    let url = server.url("/");
    let (out, dir) = fetch_over_old_file(&url, &[]);
    out.assert_fails(18, Some(&url));
    assert_eq!(read(dir.path(), "out.txt").as_deref(), Some(OLD));
}

#[test]
fn close_without_notify_ending_an_until_eof_body_is_accepted() {
    let reply = Reply::file("until-eof.http").then(After::CloseWithoutNotify);
    let server = tls_server(Leaf::Good, reply);
    let (out, dir) = fetch_over_old_file(&server.url("/"), &[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(read(dir.path(), "out.txt").as_deref(), Some(BODY));
}

/// Fetch `path_and_query` from a TLS fixture trusted through --cacert, over an existing out.txt.
fn fetch_from_tls_fixture(
    path_and_query: &str,
    extra: &[&str],
) -> (Outcome, tempfile::TempDir, String) {
    let server = tls_fault_server();
    let url = url_of(&server, path_and_query);
    assert!(url.starts_with("https://"), "{url}");
    let dir = tempdir();
    std::fs::write(dir.path().join("out.txt"), OLD).expect("write");
    let ca = write_fixture_ca(&server, dir.path());
    let mut args = vec!["--cacert", ca.as_str(), "-o", "out.txt"];
    args.extend_from_slice(extra);
    args.push(&url);
    let out = fetch(dir.path(), &args);
    assert_no_part_files(dir.path());
    (out, dir, url)
}

#[test]
fn close_notify_before_content_length_is_18() {
    // The fixture announces 13 bytes, sends 5, then closes properly (close_notify, FIN): an
    // authenticated end of stream still leaves the body short.
    let (out, dir, url) = fetch_from_tls_fixture("hello.txt?truncate=5", &[]);
    out.assert_fails(18, Some(&url));
    assert_eq!(read(dir.path(), "out.txt").as_deref(), Some(OLD));
}

#[test]
fn reset_mid_body_over_tls_is_56() {
    let (out, dir, url) = fetch_from_tls_fixture("hello.txt?reset=5", &[]);
    out.assert_fails(56, Some(&url));
    assert_eq!(read(dir.path(), "out.txt").as_deref(), Some(OLD));
}

#[test]
fn close_notify_ending_an_until_eof_body_is_accepted() {
    let (out, dir, _) = fetch_from_tls_fixture("hello.txt?no-length", &[]);
    out.assert_ok();
    assert_eq!(read(dir.path(), "out.txt").as_deref(), Some(HELLO));
}

#[test]
fn stall_after_the_head_over_tls_is_28() {
    let (out, dir, url) = fetch_from_tls_fixture("hello.txt?stall", &["--read-timeout", "1"]);
    out.assert_fails(28, Some(&url));
    assert_eq!(read(dir.path(), "out.txt").as_deref(), Some(OLD));
}

#[test]
fn chunked_fixture_body_over_tls_on_a_kept_alive_socket_finishes() {
    let keep_alive = ["-H", "Connection: keep-alive"];
    let (out, dir, _) = fetch_from_tls_fixture("hello.txt?chunked", &keep_alive);
    out.assert_ok();
    assert_eq!(read(dir.path(), "out.txt").as_deref(), Some(HELLO));
}

#[test]
fn chunked_body_over_tls_on_a_kept_alive_socket_finishes() {
    let server = tls_server(Leaf::Good, Reply::file("chunked.http").then(After::Hold));
    let (out, dir) = fetch_over_old_file(&server.url("/"), &[]);
    out.assert_ok();
    assert_eq!(read(dir.path(), "out.txt").as_deref(), Some(BODY));
}

/// A TLS server whose reply redirects to `target` (a plain http URL).
fn downgrade_server(target: &str) -> ReplayServer {
    let reply = format!("HTTP/1.1 302 Found\r\nLocation: {target}\r\nContent-Length: 0\r\n\r\n");
    tls_server(Leaf::Good, Reply::bytes(reply.into_bytes()))
}

#[test]
fn redirect_from_https_to_http_is_refused() {
    let plain = ReplayServer::single(Reply::file("length.http"));
    let server = downgrade_server(&plain.url("/plain"));
    let (out, dir) = fetch_over_old_file(&server.url("/"), &["-L"]);
    assert_ne!(out.code, 0, "{out:?}");
    out.assert_fails(out.code, None);
    assert_eq!(read(dir.path(), "out.txt").as_deref(), Some(OLD));
    assert!(plain.requests().is_empty(), "the downgrade was followed");
}

#[test]
fn redirect_from_https_to_http_is_followed_with_insecure() {
    let plain = ReplayServer::single(Reply::file("length.http"));
    let server = downgrade_server(&plain.url("/plain"));
    let (out, dir) = fetch_over_old_file(&server.url("/"), &["-L", "-k"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(read(dir.path(), "out.txt").as_deref(), Some(BODY));
    assert_eq!(plain.requests().len(), 1);
}

#[test]
fn sni_is_sent_for_names_not_ip_literals_and_alpn_is_http11() {
    let server = tls_server(Leaf::Good, Reply::file("length.http"));
    fetch_over_old_file(&server.url("/"), &[]).0.assert_ok();
    let by_name = format!("https://localhost:{}/", server.port());
    fetch_over_old_file(&by_name, &[]).0.assert_ok();
    let http11 = Some(b"http/1.1".to_vec());
    assert_eq!(
        server.handshakes(),
        [
            Handshake {
                sni: None,
                alpn: http11.clone()
            },
            Handshake {
                sni: Some("localhost".to_string()),
                alpn: http11
            },
        ]
    );
}

#[test]
fn server_silent_during_the_handshake_is_a_connect_timeout_28() {
    // Accepts TCP, reads the ClientHello, never answers.
    let server = ReplayServer::single(Reply::bytes(Vec::new()).then(After::Hold));
    let url = format!("https://127.0.0.1:{}/", server.port());
    let (out, dir) = fetch_over_old_file(&url, &["--connect-timeout", "1"]);
    out.assert_fails(28, Some(&url));
    assert_eq!(read(dir.path(), "out.txt").as_deref(), Some(OLD));
}

#[test]
fn trickled_chunked_body_over_tls_is_decoded() {
    let reply = Reply::file("trailers.http").trickled().then(After::Hold);
    let server = tls_server(Leaf::Good, reply);
    let (out, dir) = fetch_over_old_file(&server.url("/"), &[]);
    out.assert_ok();
    assert_eq!(read(dir.path(), "out.txt").as_deref(), Some(BODY));
}
