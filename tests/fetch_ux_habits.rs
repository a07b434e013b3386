//! curl habits beyond output naming: `-R`/`-z` (wget's `-N`), `--limit-rate`, `-v` and
//! `--compressed`, each against a scripted loopback server and, where the behaviour must match,
//! against curl itself.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use support::scripted::ScriptedServer;
use support::*;

const DAY0: &str = "Sun, 06 Nov 1994 08:49:37 GMT";
const PAGE: &[u8] = b"<p>fresh page</p>\n";

fn day0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(784111777)
}

/// 304 when the request's If-Modified-Since is DAY0 (the page's date), else the page.
fn dated_server() -> ScriptedServer {
    ScriptedServer::start(|conn| {
        let Some(req) = conn.request() else { return };
        if req.header("if-modified-since").as_deref() == Some(DAY0) {
            conn.send(b"HTTP/1.1 304 Not Modified\r\nConnection: close\r\n\r\n");
            return;
        }
        let head = format!(
            "HTTP/1.1 200 OK\r\nLast-Modified: {DAY0}\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n",
            PAGE.len()
        );
        conn.send(head.as_bytes());
        conn.send(PAGE);
    })
}

fn mtime(dir: &Path, name: &str) -> SystemTime {
    std::fs::metadata(dir.join(name))
        .and_then(|m| m.modified())
        .expect("mtime")
}

#[test]
fn remote_time_dates_the_file_as_curl_does() {
    let server = dated_server();
    let url = server.url("/page.html");
    let dir = tempdir();
    fetch(dir.path(), &["-R", "-o", "ours.html", &url]).assert_ok();
    let curl = Command::new("curl")
        .args(["-sS", "-R", "-o", "curls.html", &url])
        .current_dir(dir.path())
        .status()
        .expect("curl runs");
    assert!(curl.success());
    assert_eq!(mtime(dir.path(), "ours.html"), day0());
    assert_eq!(
        mtime(dir.path(), "ours.html"),
        mtime(dir.path(), "curls.html")
    );
    // Without -R the file is dated now.
    fetch(dir.path(), &["-o", "plain.html", &url]).assert_ok();
    assert_ne!(mtime(dir.path(), "plain.html"), day0());
}

#[test]
fn time_cond_sends_the_files_date_and_a_304_keeps_it() {
    let server = dated_server();
    let url = server.url("/page.html");
    let dir = tempdir();
    // First run: no file yet, so no condition (with a warning, as curl).
    let out = fetch(
        dir.path(),
        &["-R", "-z", "page.html", "-o", "page.html", &url],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("fetching unconditionally"), "{out:?}");
    assert_eq!(read(dir.path(), "page.html").as_deref(), Some(PAGE));
    // Second run: the file's date goes out, the 304 leaves it as it was.
    std::fs::write(dir.path().join("page.html"), b"kept\n").expect("edit");
    let f = std::fs::File::options()
        .write(true)
        .open(dir.path().join("page.html"))
        .expect("open");
    f.set_modified(day0()).expect("set mtime");
    drop(f);
    let out = fetch(dir.path(), &["-z", "page.html", "-o", "page.html", &url]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("not modified"), "{out:?}");
    assert_eq!(
        read(dir.path(), "page.html").as_deref(),
        Some(&b"kept\n"[..])
    );
    // A date works as well as a file; a leading '-' asks for If-Unmodified-Since.
    fetch(dir.path(), &["-s", "-z", DAY0, "-o", "d.html", &url]).assert_ok();
    fetch(
        dir.path(),
        &["-z", &format!("-{DAY0}"), "-o", "u.html", &url],
    )
    .assert_ok();
    let seen = server.seen();
    let ims: Vec<Option<String>> = seen.iter().map(|s| s.header("if-modified-since")).collect();
    assert_eq!(ims, [None, Some(DAY0.into()), Some(DAY0.into()), None]);
    assert_eq!(seen[3].header("if-unmodified-since").as_deref(), Some(DAY0));
}

#[test]
fn limit_rate_keeps_the_average_under_the_rate() {
    const LEN: u64 = 40 * 1024;
    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {LEN}\r\n\r\n");
    let server = ReplayServer::single(Reply::pattern(head, LEN));
    let dir = tempdir();
    let url = server.url("/blob");
    // 40 KiB at 20 KiB/s cannot end before 2 s (the last byte is due then); a lower bound
    // only, so a slow machine cannot make it fail.
    let out = fetch(dir.path(), &["--limit-rate", "20k", "-o", "blob", &url]);
    out.assert_ok();
    assert!(out.elapsed >= Duration::from_millis(1900), "{out:?}");
    let body = read(dir.path(), "blob").expect("saved");
    assert_eq!(body.len() as u64, LEN);
    assert!(body
        .iter()
        .enumerate()
        .all(|(i, &b)| b == pattern_byte(i as u64)));
    let bad = fetch(dir.path(), &["--limit-rate", "fast", &url]);
    assert_eq!(bad.code, 2, "{bad:?}");
}

/// curl's `-v` lines for one transfer: its `< ` lines and its request line, `\r` dropped.
fn curl_verbose(args: &[&str]) -> String {
    let out = Command::new("curl")
        .args(["-sS", "-v", "-o", "/dev/null"])
        .args(args)
        .output()
        .expect("curl runs");
    String::from_utf8_lossy(&out.stderr).replace('\r', "")
}

fn lines_with<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.starts_with(prefix)).collect()
}

#[test]
fn verbose_shows_heads_like_curl_on_stderr_only() {
    let server = ReplayServer::single(Reply::file("length.http"));
    let url = server.url("/v.txt");
    let dir = tempdir();
    let out = fetch(dir.path(), &["-v", &url]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, b"hello, world\n", "stdout holds the body only");
    let theirs = curl_verbose(&[&url]);
    assert_eq!(lines_with(&out.stderr, "< "), lines_with(&theirs, "< "));
    let ours_req = lines_with(&out.stderr, "> ");
    let curl_req = lines_with(&theirs, "> ");
    assert_eq!(ours_req[..2], curl_req[..2], "request line and Host");
    assert_eq!(ours_req.last(), Some(&"> "));
    let port = server.port();
    assert!(
        out.stderr.contains(&format!(
            "* Connected to 127.0.0.1 (127.0.0.1) port {port}\n"
        )),
        "{}",
        out.stderr
    );
    // Without -v, none of it.
    let quiet = fetch(dir.path(), &[&url]);
    assert!(!quiet.stderr.contains("> "), "{quiet:?}");
}

#[test]
fn verbose_shows_the_tls_facts_curl_shows() {
    let server = tls_fault_server();
    let dir = tempdir();
    let ca = write_fixture_ca(&server, dir.path());
    let url = url_of(&server, "hello.txt");
    let out = fetch(dir.path(), &["-v", "--cacert", &ca, "-o", "h.txt", &url]);
    assert_eq!(out.code, 0, "{out:?}");
    // rawhttp sends Connection: close on a lone request; ask curl for the same.
    let theirs = curl_verbose(&["-H", "Connection: close", "--cacert", &ca, &url]);
    for needle in [
        "* SSL connection using TLSv1.3 / ",
        "* ALPN: server accepted http/1.1\n",
        "*  subject: ",
        "*  expire date: ",
        "*  issuer: ",
    ] {
        assert!(out.stderr.contains(needle), "{needle:?} in {}", out.stderr);
    }
    // The same facts as curl's, word for word: version, cipher suite, ALPN, subject, issuer.
    for prefix in [
        "* SSL connection",
        "* ALPN: server",
        "*  subject:",
        "*  issuer:",
    ] {
        assert_eq!(
            lines_with(&out.stderr, prefix),
            lines_with(&theirs, prefix),
            "{prefix}"
        );
    }
    // The status line and the header names match curl's, in order (Date values may differ).
    let names = |text: &str| -> Vec<String> {
        lines_with(text, "< ")
            .iter()
            .map(|l| l.split(':').next().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(names(&out.stderr), names(&theirs));
}

/// Text worth compressing, different in every line so the codings have real work.
fn plain_text() -> Vec<u8> {
    (0..4000)
        .map(|i| format!("line {i}: the quick brown fox {}\n", i * 7919 % 1013))
        .collect::<String>()
        .into_bytes()
}

fn encode(coding: &str, data: &[u8]) -> Vec<u8> {
    use flate2::{write, Compression};
    use std::io::Write;
    match coding {
        "gzip" => {
            let mut e = write::GzEncoder::new(Vec::new(), Compression::default());
            e.write_all(data).expect("gzip");
            e.finish().expect("gzip")
        }
        "deflate" => {
            let mut e = write::ZlibEncoder::new(Vec::new(), Compression::default());
            e.write_all(data).expect("zlib");
            e.finish().expect("zlib")
        }
        "raw-deflate" => {
            let mut e = write::DeflateEncoder::new(Vec::new(), Compression::default());
            e.write_all(data).expect("deflate");
            e.finish().expect("deflate")
        }
        "br" => {
            let mut out = Vec::new();
            let mut e = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
            e.write_all(data).expect("br");
            drop(e);
            out
        }
        "zstd" => zstd::encode_all(data, 3).expect("zstd"),
        other => panic!("no encoder for {other}"),
    }
}

/// `/CODING[/cut|/short]`: the plain text encoded with CODING (raw-deflate is sent as
/// `deflate`), when the request accepts it; `cut` sends half the stream with a matching
/// Content-Length, `short` announces more than it sends. Anything else: the text as is.
fn encoding_server() -> ScriptedServer {
    ScriptedServer::start(|conn| {
        let Some(req) = conn.request() else { return };
        let accepted = req.header("accept-encoding").unwrap_or_default();
        let mut parts = req.target().trim_start_matches('/').split('/');
        let coding = parts.next().unwrap_or("");
        let how = parts.next().unwrap_or("");
        let label = match coding {
            "bomb" => "gzip",
            other => other.trim_start_matches("raw-"),
        };
        if coding.is_empty() || !accepted.contains(label) {
            conn.ok(&plain_text());
            return;
        }
        let mut body = if coding == "bomb" {
            encode("gzip", &vec![0u8; 4 << 20])
        } else if coding == "compress" {
            b"\x1f\x9d whatever".to_vec()
        } else {
            encode(coding, &plain_text())
        };
        if how == "cut" {
            body.truncate(body.len() / 2);
        }
        let announced = body.len() + if how == "short" { 100 } else { 0 };
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Encoding: {label}\r\nContent-Length: {announced}\r\n\
             Connection: close\r\n\r\n"
        );
        conn.send(head.as_bytes());
        conn.send(&body);
    })
}

#[test]
fn compressed_saves_the_same_decoded_bytes_as_curl() {
    let server = encoding_server();
    let dir = tempdir();
    for coding in ["gzip", "deflate", "br", "zstd"] {
        let url = server.url(&format!("/{coding}"));
        fetch(dir.path(), &["--compressed", "-o", "ours", &url]).assert_ok();
        let curl = Command::new("curl")
            .args(["-sS", "--compressed", "-o", "curls", &url])
            .current_dir(dir.path())
            .status()
            .expect("curl runs");
        assert!(curl.success(), "curl {coding}");
        let ours = read(dir.path(), "ours").expect("ours");
        assert_eq!(ours, plain_text(), "{coding}");
        assert_eq!(Some(ours), read(dir.path(), "curls"), "{coding} as curl");
    }
    // Raw deflate, which some servers send as "deflate", decodes too.
    let url = server.url("/raw-deflate");
    fetch(dir.path(), &["--compressed", "-o", "raw", &url]).assert_ok();
    assert_eq!(read(dir.path(), "raw"), Some(plain_text()));
    // The request said what it accepts, as curl's does.
    let sent = server.seen()[0].header("accept-encoding");
    assert_eq!(sent.as_deref(), Some("gzip, deflate, br, zstd"));
}

#[test]
fn without_compressed_nothing_changes() {
    let server = encoding_server();
    let dir = tempdir();
    let url = server.url("/gzip");
    // No Accept-Encoding goes out, so the server sends the text as is ...
    fetch(dir.path(), &["-o", "plain", &url]).assert_ok();
    assert_eq!(read(dir.path(), "plain"), Some(plain_text()));
    assert_eq!(server.seen()[0].header("accept-encoding"), None);
    // ... and a body the server chose to encode is saved as served.
    fetch(
        dir.path(),
        &["-H", "Accept-Encoding: gzip", "-o", "raw", &url],
    )
    .assert_ok();
    assert_eq!(read(dir.path(), "raw"), Some(encode("gzip", &plain_text())));
}

#[test]
fn compressed_bodies_keep_truncation_and_size_limits() {
    let server = encoding_server();
    for coding in ["gzip", "br", "zstd", "deflate"] {
        // The compressed stream ends early although the framing is complete: 18.
        let url = server.url(&format!("/{coding}/cut"));
        assert_url_fails_and_keeps_destination(&url, 18, &["--compressed"]);
        // The framing itself is short: 18, as without --compressed.
        let url = server.url(&format!("/{coding}/short"));
        assert_url_fails_and_keeps_destination(&url, 18, &["--compressed"]);
    }
    // 4 MiB of zeros in a few KiB: --max-filesize counts decoded bytes.
    let url = server.url("/bomb");
    assert_url_fails_and_keeps_destination(&url, 63, &["--compressed", "--max-filesize", "1M"]);
    // A coding we cannot undo: 61, as curl.
    let url = server.url("/compress");
    assert_url_fails_and_keeps_destination(
        &url,
        61,
        &["--compressed", "-H", "Accept-Encoding: compress"],
    );
}

#[test]
fn verbose_shows_every_hop_of_a_redirect_chain() {
    let server = ReplayServer::start(
        vec![
            (
                "/from",
                Reply::bytes("HTTP/1.1 302 Found\r\nLocation: /to\r\nContent-Length: 0\r\n\r\n"),
            ),
            ("/to", Reply::file("length.http")),
        ],
        None,
    );
    let dir = tempdir();
    let out = fetch(dir.path(), &["-v", "-L", "-o", "x", &server.url("/from")]);
    assert_eq!(out.code, 0, "{out:?}");
    let requests = lines_with(&out.stderr, "> GET ");
    assert_eq!(requests, ["> GET /from HTTP/1.1", "> GET /to HTTP/1.1"]);
    let statuses = lines_with(&out.stderr, "< HTTP/");
    assert_eq!(statuses, ["< HTTP/1.1 302 Found", "< HTTP/1.1 200 OK"]);
    assert_eq!(
        read(dir.path(), "x").as_deref(),
        Some(&b"hello, world\n"[..])
    );
}

#[test]
fn compressed_transfers_restart_instead_of_resuming_a_part_file() {
    let server = encoding_server();
    let dir = tempdir();
    std::fs::write(
        dir.path().join("out.part"),
        b"decoded bytes of an earlier try",
    )
    .expect("part");
    let url = server.url("/gzip");
    fetch(dir.path(), &["-C", "--compressed", "-o", "out", &url]).assert_ok();
    assert_eq!(read(dir.path(), "out"), Some(plain_text()));
    assert_eq!(
        server.seen()[0].header("range"),
        None,
        "no Range for a decoded part"
    );
    assert_no_part_files(dir.path());
}
