//! `-C` and `--retry`, black-box over loopback: a part file continues with Range + If-Range
//! carrying the saved validator; a changed file restarts (never a splice); a server ignoring
//! ranges restarts or, with `--no-restart`, exits 33 keeping the part; a 416 finishes only
//! when the sizes match; transient failures are retried with Retry-After honoured, and each
//! retry continues the bytes already saved.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rawhttp::serve::{Server, ServerHandle};
use sha2::Digest;
use support::scripted::ScriptedServer;
use support::*;

/// 20,000 bytes that differ from `version` to `version`.
fn content(version: u8) -> Vec<u8> {
    (0..20_000u32)
        .map(|i| (i.wrapping_mul(31) as u8) ^ version)
        .collect()
}

/// A fixture serving `big.bin` from a real folder (so a test can change it between runs).
fn folder_server(dir: &std::path::Path, bytes: &[u8]) -> ServerHandle {
    std::fs::write(dir.join("big.bin"), bytes).expect("seed");
    Server::new(dir).query_faults().start().expect("fixture")
}

fn part(dir: &std::path::Path) -> Option<Vec<u8>> {
    read(dir, "out.bin.part")
}

/// A first run cut short after 5,000 bytes with `-C`: the part file and its validator stay.
fn cut_first_run(server: &ServerHandle, dir: &std::path::Path) {
    let cut = url_of(server, "big.bin?truncate=5000");
    fetch(dir, &["-C", "-o", "out.bin", &cut]).assert_fails(18, None);
    assert_eq!(part(dir).map(|p| p.len()), Some(5000));
    assert!(dir.join("out.bin.part.meta").exists());
    assert_eq!(read(dir, "out.bin"), None);
}

#[test]
fn continue_appends_only_what_is_missing_with_range_and_if_range() {
    let served = tempdir();
    let server = folder_server(served.path(), &content(1));
    let dir = tempdir();
    cut_first_run(&server, dir.path());
    let url = url_of(&server, "big.bin");
    let out = fetch(
        dir.path(),
        &["-C", "-", "-o", "out.bin", "-w", "%{json}", &url],
    );
    out.assert_ok();
    assert_eq!(read(dir.path(), "out.bin"), Some(content(1)));
    assert_no_part_files(dir.path());
    assert!(!dir.path().join("out.bin.part.meta").exists());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["resumed_from"], 5000);
    assert_eq!(json["http_code"], 206);
    assert_eq!(json["size_download"], 15_000);
    let whole = sha2::Sha256::digest(content(1));
    let hex: String = whole.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(json["sha256"], hex, "the digest covers the kept bytes too");
    let seen = server.requests();
    let (first, last) = (&seen[0], &seen[seen.len() - 1]);
    assert_eq!(last.header("range"), Some("bytes=5000-"));
    let etag = first.header("if-range");
    assert_eq!(etag, None, "a fresh start sends no If-Range");
    assert!(last.header("if-range").is_some_and(|v| v.starts_with('"')));
}

#[test]
fn a_file_changed_between_runs_restarts_and_is_never_spliced() {
    let served = tempdir();
    let server = folder_server(served.path(), &content(1));
    let dir = tempdir();
    cut_first_run(&server, dir.path());
    let mut changed = content(2);
    changed.extend_from_slice(b"and longer now");
    std::fs::write(served.path().join("big.bin"), &changed).expect("change");
    let url = url_of(&server, "big.bin");
    // --no-restart: the new file is not spliced onto the old bytes, and the part stays.
    let out = fetch(dir.path(), &["-C", "--no-restart", "-o", "out.bin", &url]);
    out.assert_fails(33, Some(&url));
    assert_eq!(part(dir.path()).map(|p| p.len()), Some(5000));
    assert_eq!(read(dir.path(), "out.bin"), None);
    fetch(dir.path(), &["-C", "-o", "out.bin", &url]).assert_ok();
    assert_eq!(read(dir.path(), "out.bin"), Some(changed));
    assert_no_part_files(dir.path());
}

#[test]
fn a_server_ignoring_ranges_restarts_unless_no_restart() {
    let served = tempdir();
    let server = folder_server(served.path(), &content(3));
    let dir = tempdir();
    cut_first_run(&server, dir.path());
    let ignoring = url_of(&server, "big.bin?ignore-range");
    let out = fetch(
        dir.path(),
        &["-C", "--no-restart", "-o", "out.bin", &ignoring],
    );
    out.assert_fails(33, None)
        .assert_stderr_contains("cannot resume");
    assert_eq!(part(dir.path()), Some(content(3)[..5000].to_vec()));
    fetch(dir.path(), &["-C", "-o", "out.bin", &ignoring]).assert_ok();
    assert_eq!(read(dir.path(), "out.bin"), Some(content(3)));
    assert_no_part_files(dir.path());
}

#[test]
fn a_416_finishes_only_when_the_part_file_is_the_whole_file() {
    let served = tempdir();
    let server = folder_server(served.path(), &content(4));
    let url = url_of(&server, "big.bin");
    let dir = tempdir();
    std::fs::write(dir.path().join("out.bin.part"), content(4)).expect("whole part");
    let out = fetch(
        dir.path(),
        &["-C", "-o", "out.bin", "-w", "%{http_code}", &url],
    );
    out.assert_ok();
    assert_eq!(out.stdout, b"416");
    assert_eq!(read(dir.path(), "out.bin"), Some(content(4)));
    assert_no_part_files(dir.path());
    // A part file longer than the file: the 416's length disagrees, so start over.
    let mut longer = content(9);
    longer.extend_from_slice(&[0; 100]);
    std::fs::write(dir.path().join("out.bin.part"), longer).expect("long part");
    fetch(dir.path(), &["-C", "-o", "out.bin", &url]).assert_ok();
    assert_eq!(read(dir.path(), "out.bin"), Some(content(4)));
    assert_no_part_files(dir.path());
}

#[test]
fn part_files_stay_only_with_continue_or_retry() {
    let server = fault_server();
    let dir = tempdir();
    let cut = url_of(&server, "hello.txt?truncate=4");
    fetch(dir.path(), &["-o", "out.bin", &cut]).assert_fails(18, None);
    assert_no_part_files(dir.path());
    let out = fetch(
        dir.path(),
        &["--retry", "1", "--retry-delay", "0", "-o", "out.bin", &cut],
    );
    out.assert_fails(18, None);
    // The retry continued the 4 saved bytes with a range, itself cut after 4: 8 are kept.
    assert_eq!(part(dir.path()).as_deref(), Some(&HELLO[..8]));
}

/// A server that answers 503 (Retry-After: 1), then cuts a 200 short, then continues it with
/// a 206 only for the right Range and If-Range.
fn flaky_server() -> ScriptedServer {
    let count = Arc::new(AtomicUsize::new(0));
    ScriptedServer::start(move |conn| {
        while let Some(req) = conn.request() {
            match count.fetch_add(1, Ordering::SeqCst) {
                0 => conn.send(
                    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n\
                      Content-Length: 0\r\n\r\n",
                ),
                1 => {
                    conn.send(b"HTTP/1.1 200 OK\r\nETag: \"v1\"\r\nContent-Length: 10\r\n\r\n");
                    conn.send(b"0123");
                    return;
                }
                _ if req.header("range").as_deref() == Some("bytes=4-")
                    && req.header("if-range").as_deref() == Some("\"v1\"") =>
                {
                    conn.send(
                        b"HTTP/1.1 206 Partial Content\r\nETag: \"v1\"\r\n\
                          Content-Range: bytes 4-9/10\r\nContent-Length: 6\r\n\r\n456789",
                    );
                }
                _ => conn.send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"),
            }
        }
    })
}

#[test]
fn retries_honour_retry_after_and_continue_the_saved_bytes() {
    let server = flaky_server();
    let dir = tempdir();
    let url = server.url("/file");
    let started = Instant::now();
    let out = fetch(
        dir.path(),
        &[
            "--retry",
            "3",
            "--retry-delay",
            "0",
            "-o",
            "out.bin",
            "-w",
            "%{json}",
            &url,
        ],
    );
    out.assert_ok();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 not honoured"
    );
    assert_eq!(
        read(dir.path(), "out.bin").as_deref(),
        Some(&b"0123456789"[..])
    );
    assert_no_part_files(dir.path());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["retries"], 2);
    assert_eq!(json["resumed_from"], 4);
    assert_eq!(json["verdict"], "complete");
    let seen = server.seen();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(seen[2].header("range").as_deref(), Some("bytes=4-"));
}

#[test]
fn only_transient_failures_are_retried_and_only_as_often_as_asked() {
    let server = fault_server();
    let dir = tempdir();
    let quick = ["--retry", "2", "--retry-delay", "0"];
    let run = |query: &str| {
        let before = server.requests().len();
        let url = url_of(&server, query);
        let mut args = quick.to_vec();
        args.extend(["-o", "out.txt", &url]);
        let out = fetch(dir.path(), &args);
        (out, server.requests().len() - before)
    };
    let (out, requests) = run("hello.txt?status=404");
    out.assert_fails(22, None);
    assert_eq!(requests, 1, "404 is not transient");
    let (out, requests) = run("hello.txt?status=503");
    out.assert_fails(22, None);
    assert_eq!(requests, 3, "two retries after the first attempt");
    let (out, requests) = run("hello.txt?status=429");
    out.assert_fails(22, None);
    assert_eq!(requests, 3);
    // --retry-max-time: a retry that would start after it does not start.
    let url = url_of(&server, "hello.txt?status=503");
    let before = server.requests().len();
    let out = fetch(
        dir.path(),
        &[
            "--retry",
            "5",
            "--retry-delay",
            "30",
            "--retry-max-time",
            "1",
            &url,
        ],
    );
    out.assert_fails(22, None).assert_faster_than(PROMPT);
    assert_eq!(server.requests().len() - before, 1);
    assert_eq!(read(dir.path(), "out.txt"), None);
}

#[test]
fn an_interrupted_continue_keeps_its_part_file_for_the_next_run() {
    use std::process::{Command, Stdio};
    let server = fault_server();
    let dir = tempdir();
    let child = Command::new(env!("CARGO_BIN_EXE_rawhttp"))
        .args([
            "fetch",
            "-C",
            "-o",
            "out.txt",
            &url_of(&server, "hello.txt?stall"),
        ])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let part = dir.path().join("out.txt.part");
    let start = Instant::now();
    while !part.exists() {
        assert!(start.elapsed() < Duration::from_secs(15), "no part file");
        std::thread::sleep(Duration::from_millis(10));
    }
    // SAFETY: kill(2) on our own child, which has not been waited for yet.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(130));
    assert!(part.exists(), "-C keeps the part file on Ctrl-C");
    assert!(dir.path().join("out.txt.part.meta").exists());
    fetch(
        dir.path(),
        &["-C", "-o", "out.txt", &url_of(&server, "hello.txt")],
    )
    .assert_ok();
    assert_eq!(read(dir.path(), "out.txt").as_deref(), Some(HELLO));
    assert_no_part_files(dir.path());
}

#[test]
fn a_body_cut_after_reaching_stdout_is_not_retried_twice_onto_it() {
    let server = fault_server();
    let dir = tempdir();
    let url = url_of(&server, "hello.txt?truncate=5");
    let out = fetch(dir.path(), &["--retry", "3", "--retry-delay", "0", &url]);
    out.assert_fails(18, None);
    assert_eq!(
        out.stdout,
        &HELLO[..5],
        "the 5 bytes shown once, not once per attempt"
    );
    assert_eq!(server.requests().len(), 1);
}
