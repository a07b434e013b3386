//! What the binary says when it is used wrongly or needs to tell the user something: clap's
//! whole message on the one usage line (exit 2), `serve 9000` hinting at `-p`, and
//! `--self-signed` without `--write-ca` naming where the CA is.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use support::*;

/// `rawhttp ARGS` must exit 2 with one `rawhttp: usage: ` line holding every `needles`.
fn assert_usage(args: &[&str], needles: &[&str]) {
    let dir = tempdir();
    let out = rawhttp(dir.path(), args);
    out.assert_fails_without_url(2);
    assert!(out.stderr.starts_with("rawhttp: usage: "), "{out:?}");
    for needle in needles {
        out.assert_stderr_contains(needle);
    }
}

#[test]
fn usage_errors_keep_everything_clap_said_on_one_line() {
    assert_usage(&["fetch"], &["required", "<URLS>"]);
    assert_usage(&["serve", "--log", "foo"], &["common, json, off"]);
    assert_usage(&["servee"], &["similar subcommand", "'serve'"]);
    // An unknown flag (`-x` was one until it became curl's --proxy, as SPEC names it).
    assert_usage(&["fetch", "-y"], &["'-y'", "usage: rawhttp fetch"]);
}

#[test]
fn serving_a_missing_all_digit_folder_suggests_the_port_flag() {
    let dir = tempdir();
    let out = rawhttp(dir.path(), &["serve", "9000"]);
    out.assert_fails_without_url(2);
    out.assert_stderr_contains("did you mean -p 9000?");
    let out = rawhttp(dir.path(), &["serve", "nothing-here"]);
    out.assert_fails_without_url(2);
    assert!(!out.stderr.contains("did you mean"), "{out:?}");
}

#[test]
fn self_signed_without_write_ca_names_a_ca_file_clients_can_use() {
    let root = tempdir();
    std::fs::write(root.path().join("hello.txt"), b"hello, world\n").expect("write");
    let mut child = Command::new(env!("CARGO_BIN_EXE_rawhttp"))
        .args(["serve", "-p", "0", "--log", "off", "--self-signed"])
        .arg(root.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn serve");
    let mut note = String::new();
    let stderr = child.stderr.take().expect("stderr");
    BufReader::new(stderr).read_line(&mut note).expect("note");
    let mut ready = String::new();
    let stdout = child.stdout.take().expect("stdout");
    BufReader::new(stdout).read_line(&mut ready).expect("ready");
    let ca = note
        .split_whitespace()
        .skip_while(|w| *w != "--cacert")
        .nth(1)
        .expect("a --cacert path in the note")
        .to_string();
    let url = ready.trim().rsplit(' ').next().expect("url").to_string();
    let out = fetch(root.path(), &["--cacert", &ca, &format!("{url}hello.txt")]);
    // SAFETY: kill(2) on our own child, not yet reaped.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let status = child.wait().expect("wait");
    out.assert_ok();
    assert_eq!(out.stdout, b"hello, world\n");
    assert_eq!(status.code(), Some(0));
    assert!(
        !std::path::Path::new(&ca).exists(),
        "temporary CA left behind"
    );
}
