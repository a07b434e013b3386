//! `rawhttp fetch` at scale, black-box over loopback: batches from argv and `--input-file`
//! over kept-alive connections (`-Z` and in order), failures that do not stop the others,
//! `--fail-early`, `-w` and `%{json}`, `--expect-sha256`, and curl producing the same bytes.

mod support;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use rawhttp::serve::{Server, ServerHandle};
use sha2::{Digest, Sha256};
use support::scripted::ScriptedServer;
use support::*;

/// A fixture with `f0.txt` .. `f{n-1}.txt`, each a few distinct lines.
fn files_server(n: usize) -> ServerHandle {
    let mut server = Server::in_memory();
    for i in 0..n {
        server = server.file(&format!("f{i}.txt"), body(i));
    }
    server.start().expect("fixture")
}

fn body(i: usize) -> Vec<u8> {
    format!("file {i}\n").repeat(i % 7 + 1).into_bytes()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `rawhttp fetch ARGS` in `cwd` with `stdin` fed to it.
fn fetch_with_stdin(cwd: &Path, args: &[&str], stdin: &[u8]) -> Outcome {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rawhttp"))
        .arg("fetch")
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("feed stdin");
    let out = child.wait_with_output().expect("wait");
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: std::time::Duration::ZERO,
    }
}

#[test]
fn a_sequential_batch_uses_one_connection_and_closes_it_on_the_last_url() {
    let server = files_server(5);
    let dir = tempdir();
    let mut args = vec!["--remote-name-all".to_string()];
    args.extend((0..5).map(|i| url_of(&server, &format!("f{i}.txt"))));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    fetch(dir.path(), &args).assert_ok();
    for i in 0..5 {
        assert_eq!(read(dir.path(), &format!("f{i}.txt")), Some(body(i)));
    }
    let seen = server.requests();
    let ids: BTreeSet<u64> = seen.iter().map(|r| r.connection_id).collect();
    assert_eq!(ids.len(), 1, "{seen:?}");
    let close: Vec<Option<&str>> = seen.iter().map(|r| r.header("connection")).collect();
    assert_eq!(close, [None, None, None, None, Some("close")]);
}

#[test]
fn a_parallel_input_file_saves_every_url_over_at_most_parallel_max_connections() {
    let server = files_server(60);
    let dir = tempdir();
    let mut list = String::from("# sixty files, one blank line\n\n");
    for i in 0..60 {
        list.push_str(&format!("{}\n", url_of(&server, &format!("f{i}.txt"))));
    }
    std::fs::write(dir.path().join("list.txt"), list).expect("list");
    fetch(
        dir.path(),
        &[
            "-Z",
            "--parallel-max",
            "4",
            "--input-file",
            "list.txt",
            "--output-dir",
            "out",
        ],
    )
    .assert_ok();
    for i in 0..60 {
        assert_eq!(
            read(&dir.path().join("out"), &format!("f{i}.txt")),
            Some(body(i))
        );
    }
    assert_no_part_files(dir.path());
    let seen = server.requests();
    assert_eq!(seen.len(), 60);
    let ids: BTreeSet<u64> = seen.iter().map(|r| r.connection_id).collect();
    assert!(
        ids.len() <= 4,
        "{} connections for -Z --parallel-max 4",
        ids.len()
    );
}

#[test]
fn stdin_input_names_land_in_the_output_dir() {
    let server = files_server(3);
    let dir = tempdir();
    let list = format!(
        "{}\tfirst.txt\n  # comment\n{}   second name.txt\n{}\n",
        url_of(&server, "f0.txt"),
        url_of(&server, "f1.txt"),
        url_of(&server, "f2.txt"),
    );
    let out = fetch_with_stdin(
        dir.path(),
        &["--input-file", "-", "--output-dir", "d"],
        list.as_bytes(),
    );
    out.assert_ok();
    let d = dir.path().join("d");
    assert_eq!(read(&d, "first.txt"), Some(body(0)));
    assert_eq!(read(&d, "second name.txt"), Some(body(1)));
    assert_eq!(read(&d, "f2.txt"), Some(body(2)));
    assert_eq!(names(dir.path()).len(), 3);
}

#[test]
fn one_failure_does_not_stop_the_others_and_fail_early_does() {
    let server = files_server(3);
    let dir = tempdir();
    let missing = url_of(&server, "missing.txt");
    let urls = [
        url_of(&server, "f0.txt"),
        missing.clone(),
        url_of(&server, "f1.txt"),
        // Two URLs saved under one name: with -Z they take turns on f2.txt.part.
        url_of(&server, "f2.txt?again"),
        url_of(&server, "f2.txt"),
    ];
    for parallel in [false, true] {
        let run = tempdir();
        let mut args: Vec<&str> = vec!["--remote-name-all"];
        if parallel {
            args.push("-Z");
        }
        args.extend(urls.iter().map(String::as_str));
        let out = fetch(run.path(), &args);
        assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
        assert_eq!(out.code, 22, "{out:?}");
        assert!(out.stderr.contains(&missing), "{out:?}");
        assert_eq!(names(run.path()), ["f0.txt", "f1.txt", "f2.txt"]);
    }
    // Last failure's code: 22 (404) then 7 (refused) -> 7.
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}/x", l.local_addr().expect("addr"))
    };
    let out = fetch(dir.path(), &["-o", "a", &missing, "-o", "b", &refused]);
    assert_eq!(out.code, 7, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 2, "{out:?}");
    let early = tempdir();
    let out = fetch(
        early.path(),
        &[
            "--fail-early",
            "--remote-name-all",
            &urls[0],
            &missing,
            &urls[2],
        ],
    );
    assert_eq!(out.code, 22, "{out:?}");
    assert_eq!(names(early.path()), ["f0.txt"], "stopped after the 404");
    let _ = server.addr();
}

#[test]
fn write_out_prints_curl_variables_and_a_json_record_per_transfer() {
    let server = files_server(2);
    let dir = tempdir();
    let (a, b) = (url_of(&server, "f0.txt"), url_of(&server, "f1.txt"));
    let format = "%{http_code} %{size_download} %{url_effective} %{filename_effective} \
                  %{num_redirects} %{remote_ip} %{exitcode}\\n";
    let out = fetch(
        dir.path(),
        &["-w", format, "-o", "a.txt", &a, "-o", "b.txt", &b],
    );
    out.assert_ok();
    let want = format!(
        "200 {} {a} a.txt 0 127.0.0.1 0\n200 {} {b} b.txt 0 127.0.0.1 0\n",
        body(0).len(),
        body(1).len()
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), want);
    std::fs::write(dir.path().join("fmt"), "%{json}\\n").expect("format file");
    let out = fetch(
        dir.path(),
        &["-w", "@fmt", "-o", "a.txt", &a, "-o", "b.txt", &b],
    );
    out.assert_ok();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let records: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(records.len(), 2, "{stdout}");
    assert_eq!(records[0]["verdict"], "complete");
    assert_eq!(records[0]["sha256"], sha256_hex(&body(0)));
    assert_eq!(records[0]["connection_reused"], false);
    assert_eq!(records[1]["connection_reused"], true);
    assert_eq!(records[1]["retries"], 0);
    assert_eq!(records[1]["resumed_from"], 0);
    assert_eq!(records[1]["http_code"], 200);
    assert_eq!(records[1]["filename_effective"], "b.txt");
    for key in [
        "time_namelookup",
        "time_connect",
        "time_appconnect",
        "time_starttransfer",
        "time_total",
    ] {
        assert!(records[0][key].as_f64().is_some(), "{key}: {stdout}");
    }
    assert!(
        records[0]["time_total"].as_f64() >= records[0]["time_starttransfer"].as_f64(),
        "{stdout}"
    );
    let out = fetch(dir.path(), &["-w", "%{nope}", &a]);
    out.assert_fails_without_url(2);
}

#[test]
fn json_says_unverified_for_an_until_eof_body_and_truncated_for_a_short_one() {
    let server = fault_server();
    let dir = tempdir();
    let eof = url_of(&server, "hello.txt?no-length");
    let cut = url_of(&server, "hello.txt?truncate=4");
    let out = fetch(
        dir.path(),
        &["-w", "%{json}\\n", "-o", "a", &eof, "-o", "b", &cut],
    );
    assert_eq!(out.code, 18, "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let records: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(records[0]["verdict"], "unverified", "{stdout}");
    assert_eq!(records[1]["verdict"], "truncated", "{stdout}");
    assert_eq!(records[1]["exitcode"], 18, "{stdout}");
    assert!(records[1]["errormsg"]
        .as_str()
        .is_some_and(|m| m.contains("cut short")));
    assert_eq!(read(dir.path(), "a").as_deref(), Some(HELLO));
    assert_eq!(read(dir.path(), "b"), None);
}

#[test]
fn expect_sha256_saves_a_match_and_leaves_the_destination_on_a_mismatch() {
    let server = fault_server();
    let dir = tempdir();
    let url = url_of(&server, "hello.txt");
    let good = sha256_hex(HELLO);
    fetch(
        dir.path(),
        &["--expect-sha256", &good, "-o", "ok.txt", &url],
    )
    .assert_ok();
    assert_eq!(read(dir.path(), "ok.txt").as_deref(), Some(HELLO));
    std::fs::write(dir.path().join("old.txt"), b"old").expect("seed");
    let bad = sha256_hex(b"something else");
    let out = fetch(
        dir.path(),
        &["--expect-sha256", &bad, "-o", "old.txt", &url],
    );
    out.assert_fails(32, None)
        .assert_stderr_contains("checksum mismatch");
    assert_eq!(read(dir.path(), "old.txt").as_deref(), Some(&b"old"[..]));
    assert_no_part_files(dir.path());
    // Even with --retry (which keeps part files of failed transfers): wrong bytes go.
    let out = fetch(
        dir.path(),
        &[
            "--retry",
            "2",
            "--expect-sha256",
            &bad,
            "-o",
            "old.txt",
            &url,
        ],
    );
    out.assert_fails(32, None);
    assert_no_part_files(dir.path());
    assert_eq!(server.requests().len(), 3, "a mismatch is not retried");
    let out = fetch(dir.path(), &["--expect-sha256", "abc", &url]);
    out.assert_fails_without_url(2);
}

#[test]
fn a_kept_alive_connection_closed_under_the_batch_is_retried_once_on_a_fresh_one() {
    // Every connection answers one request, then closes without saying so.
    let server = ScriptedServer::start(|conn| {
        if conn.request().is_some() {
            conn.ok(b"one\n");
        }
    });
    let dir = tempdir();
    let (a, b) = (server.url("/a"), server.url("/b"));
    fetch(dir.path(), &["-o", "a", &a, "-o", "b", &b]).assert_ok();
    assert_eq!(read(dir.path(), "b").as_deref(), Some(&b"one\n"[..]));
    assert_eq!(server.accepted(), 2);
}

#[test]
fn curl_and_rawhttp_save_the_same_batch_byte_for_byte() {
    let server = files_server(20);
    let (ours, theirs) = (tempdir(), tempdir());
    let urls: Vec<String> = (0..20)
        .map(|i| url_of(&server, &format!("f{i}.txt")))
        .collect();
    let mut args = vec!["-Z", "--remote-name-all"];
    args.extend(urls.iter().map(String::as_str));
    fetch(ours.path(), &args).assert_ok();
    let status = Command::new("curl")
        .args(["-sS", "-Z", "--remote-name-all"])
        .args(&urls)
        .current_dir(theirs.path())
        .status()
        .expect("curl runs");
    assert!(status.success());
    assert_eq!(names(ours.path()), names(theirs.path()));
    for name in names(ours.path()) {
        assert_eq!(
            read(ours.path(), &name),
            read(theirs.path(), &name),
            "{name}"
        );
    }
}

#[test]
fn parallel_progress_shows_a_line_per_transfer_and_a_total_only_on_a_terminal() {
    let server = fault_server();
    let dir = tempdir();
    let bin = env!("CARGO_BIN_EXE_rawhttp");
    // Slow bodies (13 bytes at 13 B/s) so the board is drawn while both run.
    let a = url_of(&server, "hello.txt?rate=13");
    let shell = format!("{bin} fetch -Z -o a.txt '{a}' -o b.txt '{a}'");
    let shown = on_a_terminal(dir.path(), &shell);
    assert!(shown.contains("total: "), "no total line: {shown:?}");
    assert!(
        shown.contains("hello.txt"),
        "no per-transfer line: {shown:?}"
    );
    let last = shown.trim_end().rsplit(['\n', '\r']).next().unwrap_or("");
    let last = last.trim_start_matches("\x1b[2K");
    assert!(
        last.starts_with("2 transfers: 26 B in "),
        "no summary last: {shown:?}"
    );
    assert_eq!(read(dir.path(), "a.txt").as_deref(), Some(HELLO));
    assert_eq!(read(dir.path(), "b.txt").as_deref(), Some(HELLO));
    let quiet = on_a_terminal(dir.path(), &format!("{bin} fetch -s -Z -o c.txt '{a}'"));
    assert_eq!(quiet, "", "-s draws nothing");
}
