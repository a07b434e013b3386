//! `rawhttp serve --faults`: one test per fault, each showing what a client sees (curl's or
//! `rawhttp fetch`'s exit code, timing, head or body), and `--echo`.

mod serve_cli;

use serve_cli::{curl, fetch, path_str, raw_exchange, split_response, stderr_lines, Serve};

/// A `--faults` server over a fresh docroot (kept alive by the returned TempDir).
fn faulty() -> (Serve, tempfile::TempDir) {
    on_docroot(&["--faults"])
}

/// `rawhttp serve --threads 1 -p 0 EXTRA` over a fresh docroot (kept alive by the TempDir).
fn on_docroot(extra: &[&str]) -> (Serve, tempfile::TempDir) {
    let root = serve_cli::docroot();
    let mut args = vec!["--threads", "1", "-p", "0"];
    args.extend_from_slice(extra);
    args.push(path_str(root.path()));
    (Serve::start(&args), root)
}

/// curl `url` to stdout with `-w FORMAT` appended after a 0x01 marker (the last one in the
/// output: write-out comes after the body); (exit code, body, write-out).
fn curl_w(url: &str, extra: &[&str], format: &str) -> (Option<i32>, Vec<u8>, String) {
    let w = format!("\u{1}{format}");
    let mut args = extra.to_vec();
    args.extend(["-o", "-", "-w", &w, url]);
    let out = curl(&args);
    let split = out
        .stdout
        .iter()
        .rposition(|&b| b == 1)
        .expect("write-out marker");
    let written = String::from_utf8_lossy(&out.stdout[split + 1..]).into_owned();
    (out.status.code(), out.stdout[..split].to_vec(), written)
}

fn seconds(s: &str) -> f64 {
    s.trim().parse().expect("curl prints seconds")
}

/// `rawhttp fetch -o FILE url` into a fresh folder: (exit code, saved bytes if any).
fn fetch_to_file(url: &str, extra: &[&str]) -> (Option<i32>, Option<Vec<u8>>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let dest = dir.path().join("out");
    let mut args = extra.to_vec();
    args.extend(["-o", path_str(&dest), url]);
    let out = fetch(&args);
    let code = out.status.code();
    if code != Some(0) {
        assert_eq!(
            stderr_lines(&out).len(),
            1,
            "one error line: {:?}",
            stderr_lines(&out)
        );
    }
    (code, std::fs::read(&dest).ok())
}

#[test]
fn delay_holds_the_head_back() {
    let (server, _root) = faulty();
    let (code, body, t) = curl_w(
        &server.at("hello.txt?delay=600"),
        &[],
        "%{time_starttransfer}",
    );
    assert_eq!(code, Some(0));
    assert_eq!(body, b"hello, world\n");
    assert!(seconds(&t) >= 0.6, "first byte after {t} s");
    let (_, _, t) = curl_w(&server.at("hello.txt"), &[], "%{time_starttransfer}");
    assert!(seconds(&t) < 0.6, "undelayed first byte after {t} s");
}

#[test]
fn rate_throttles_the_body() {
    let (server, _root) = faulty();
    // 1000 bytes at 1000 B/s: the last slice cannot leave before 0.9 s.
    let (code, body, t) = curl_w(&server.at("small.txt?rate=1000"), &[], "%{time_total}");
    assert_eq!(code, Some(0));
    assert_eq!(body, serve_cli::small());
    assert!(seconds(&t) >= 0.8, "1000 bytes at 1000 B/s took {t} s");
    let started = std::time::Instant::now();
    let (code, saved) = fetch_to_file(&server.at("small.txt?rate=2000"), &[]);
    assert_eq!(code, Some(0));
    assert_eq!(saved, Some(serve_cli::small()));
    assert!(
        started.elapsed().as_secs_f64() >= 0.35,
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn truncate_announces_the_length_and_closes_early() {
    let (server, _root) = faulty();
    let url = server.at("big.bin?truncate=100");
    let (code, body, size) = curl_w(&url, &[], "%{size_download}");
    assert_eq!(code, Some(18), "curl: partial file");
    assert_eq!(size.trim(), "100");
    assert_eq!(body, serve_cli::big()[..100]);
    let (code, saved) = fetch_to_file(&url, &[]);
    assert_eq!(code, Some(18), "fetch: transfer cut short");
    assert_eq!(saved, None, "a cut transfer must not be saved");
}

#[test]
fn reset_sends_rst_after_n_bytes() {
    let (server, _root) = faulty();
    let url = server.at("big.bin?reset=100");
    let (code, _, _) = curl_w(&url, &[], "%{size_download}");
    assert_eq!(code, Some(56), "curl: failure receiving (reset)");
    let (code, saved) = fetch_to_file(&url, &[]);
    assert_eq!(code, Some(56), "fetch: receive failed");
    assert_eq!(saved, None);
}

#[test]
fn stall_sends_the_head_then_nothing() {
    let (server, _root) = faulty();
    let url = server.at("hello.txt?stall");
    let (code, _, http_code) = curl_w(&url, &["-m", "1"], "%{http_code}");
    assert_eq!(code, Some(28), "curl: timeout");
    assert_eq!(http_code, "200", "the head was sent");
    let (code, saved) = fetch_to_file(&url, &["--read-timeout", "1"]);
    assert_eq!(code, Some(28), "fetch: timeout");
    assert_eq!(saved, None);
}

/// The head curl received for `url` (lower-cased), and the body.
fn head_and_body(url: &str, extra: &[&str]) -> (Option<i32>, String, Vec<u8>) {
    let mut args = extra.to_vec();
    args.extend(["-D", "/dev/stderr", "-o", "-", url]);
    let out = curl(&args);
    let head = String::from_utf8_lossy(&out.stderr).to_ascii_lowercase();
    (out.status.code(), head, out.stdout)
}

#[test]
fn chunked_replaces_content_length() {
    let (server, _root) = faulty();
    let url = server.at("big.bin?chunked");
    let (code, head, body) = head_and_body(&url, &[]);
    assert_eq!(code, Some(0));
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    assert!(!head.contains("content-length"), "{head}");
    assert!(body == serve_cli::big(), "chunked body differs");
    let (code, saved) = fetch_to_file(&url, &[]);
    assert_eq!(code, Some(0));
    assert!(saved == Some(serve_cli::big()), "fetch body differs");
}

#[test]
fn no_length_closes_after_the_body() {
    let (server, _root) = faulty();
    let url = server.at("big.bin?no-length");
    let (code, head, body) = head_and_body(&url, &[]);
    assert_eq!(code, Some(0));
    assert!(!head.contains("content-length"), "{head}");
    assert!(!head.contains("transfer-encoding"), "{head}");
    assert!(body == serve_cli::big(), "close-delimited body differs");
    // On the wire: read to EOF on a keep-alive request; the server must close.
    let request = format!(
        "GET /big.bin?no-length HTTP/1.1\r\nHost: {}\r\n\r\n",
        server.addr
    );
    let (_, raw_body) = split_response(&raw_exchange(server.addr, request.as_bytes()));
    assert!(raw_body == serve_cli::big(), "raw body differs");
}

#[test]
fn ignore_range_answers_200_with_everything() {
    let (server, _root) = faulty();
    let (_, body, plain) = curl_w(&server.at("small.txt"), &["-r", "0-9"], "%{http_code}");
    assert_eq!(
        (plain.as_str(), body.len()),
        ("206", 10),
        "ranges work without the fault"
    );
    let url = server.at("small.txt?ignore-range");
    let (code, body, status) = curl_w(&url, &["-r", "0-9"], "%{http_code}");
    assert_eq!(code, Some(0));
    assert_eq!(status, "200");
    assert_eq!(body, serve_cli::small());
}

#[test]
fn status_answers_the_code_with_the_file() {
    let (server, _root) = faulty();
    let url = server.at("hello.txt?status=503");
    let (code, body, status) = curl_w(&url, &[], "%{http_code}");
    assert_eq!((code, status.as_str()), (Some(0), "503"));
    assert_eq!(body, b"hello, world\n");
    let (code, saved) = fetch_to_file(&url, &[]);
    assert_eq!((code, saved), (Some(22), None), "fetch fails on 503");
    let (code, saved) = fetch_to_file(&url, &["--no-fail"]);
    assert_eq!(code, Some(0));
    assert_eq!(saved.as_deref(), Some(&b"hello, world\n"[..]));
}

#[test]
fn faults_combine() {
    let (server, _root) = faulty();
    let url = server.at("big.bin?delay=300&truncate=10&x=1");
    let (code, body, t) = curl_w(&url, &[], "%{time_starttransfer}");
    assert_eq!(code, Some(18));
    assert_eq!(body, serve_cli::big()[..10]);
    assert!(seconds(&t) >= 0.3, "first byte after {t} s");
}

#[test]
fn without_faults_flag_the_parameters_are_ordinary_queries() {
    let (server, _root) = on_docroot(&[]);
    let (code, body, _) = curl_w(&server.at("big.bin?truncate=10&status=503"), &[], "");
    assert_eq!(code, Some(0));
    assert!(body == serve_cli::big(), "body altered without --faults");
}

#[test]
fn echo_returns_the_exact_request_bytes() {
    let (server, _root) = on_docroot(&["--echo", "/echo"]);
    let request = format!(
        "POST /echo/x?y=1 HTTP/1.1\r\nHost: {}\r\nX-Odd:  spaced \t\r\ncontent-length: 5\r\n\
         Connection: close\r\n\r\nhello",
        server.addr
    );
    let (head, body) = split_response(&raw_exchange(server.addr, request.as_bytes()));
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain"),
        "{head}"
    );
    assert_eq!(String::from_utf8_lossy(&body), request);
    // outside the echo path, files are served as usual
    let (code, body, _) = curl_w(&server.at("hello.txt"), &[], "");
    assert_eq!((code, body.as_slice()), (Some(0), &b"hello, world\n"[..]));
}
