//! Black-box tests of `rawhttp fetch` under signals and on a terminal: SIGINT/SIGTERM remove
//! the part file and exit 130/143, the progress line is finished, a summary line stays behind,
//! and a binary body is refused on a terminal (pseudo-terminals come from script(1)).

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::*;

const OLD: &[u8] = b"old bytes that must survive an interrupted transfer\n";

/// Wait (bounded) until `path` exists: the transfer is under way.
fn wait_for(path: &Path) {
    let start = Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Start a fetch of a stalled body into `out.txt`, send `signal` once `out.txt.part` exists.
fn interrupted(signal: i32) -> (i32, String, tempfile::TempDir) {
    let server = fault_server();
    let dir = tempdir();
    std::fs::write(dir.path().join("out.txt"), OLD).expect("seed");
    let child = Command::new(env!("CARGO_BIN_EXE_rawhttp"))
        .args([
            "fetch",
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
    wait_for(&dir.path().join("out.txt.part"));
    // SAFETY: kill(2) on our own child, which has not been waited for yet.
    unsafe { libc::kill(child.id() as libc::pid_t, signal) };
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().unwrap_or(-1), stderr, dir)
}

#[test]
fn sigint_removes_the_part_file_and_exits_130() {
    let (code, stderr, dir) = interrupted(libc::SIGINT);
    assert_eq!(code, 130, "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert_eq!(read(dir.path(), "out.txt").as_deref(), Some(OLD));
    assert_no_part_files(dir.path());
}

#[test]
fn sigterm_removes_the_part_file_and_exits_143() {
    let (code, stderr, dir) = interrupted(libc::SIGTERM);
    assert_eq!(code, 143, "{stderr}");
    assert_eq!(read(dir.path(), "out.txt").as_deref(), Some(OLD));
    assert_no_part_files(dir.path());
}

#[test]
fn a_signal_on_a_terminal_ends_the_progress_line() {
    let server = fault_server();
    let dir = tempdir();
    let bin = env!("CARGO_BIN_EXE_rawhttp");
    let url = url_of(&server, "hello.txt?stall");
    // SIGTERM: a non-interactive shell starts background jobs with SIGINT ignored.
    let shell = format!(
        "{bin} fetch -o out.txt '{url}' & pid=$!; \
         while [ ! -e out.txt.part ]; do sleep 0.05; done; \
         kill -TERM $pid; wait $pid; echo \"rc=$?\""
    );
    let shown = on_a_terminal(dir.path(), &shell);
    assert!(shown.contains("rc=143"), "{shown:?}");
    assert_no_part_files(dir.path());
    // The line the message is on starts clean: the bar was erased first (CR, erase-line).
    let message = shown.find("rawhttp: interrupted").expect("message shown");
    assert!(
        shown[..message].ends_with("\r\x1b[2K"),
        "message not on a clean line: {shown:?}"
    );
}

#[test]
fn a_summary_line_stays_after_the_progress_bar() {
    let server = fault_server();
    let dir = tempdir();
    let bin = env!("CARGO_BIN_EXE_rawhttp");
    let url = url_of(&server, "hello.txt?rate=26");
    let shown = on_a_terminal(dir.path(), &format!("{bin} fetch -o out.txt '{url}'"));
    let last = shown.trim_end().rsplit(['\n', '\r']).next().unwrap_or("");
    let last = last.trim_start_matches("\x1b[2K");
    assert!(
        last.starts_with("out.txt: 13 B in ") && last.ends_with("/s)"),
        "no summary line last: {shown:?}"
    );
    assert_eq!(read(dir.path(), "out.txt").as_deref(), Some(HELLO));
    let quiet = on_a_terminal(dir.path(), &format!("{bin} fetch -s -o out.txt '{url}'"));
    assert!(!quiet.contains("out.txt: 13 B"), "{quiet:?}");
}

#[test]
fn a_binary_body_is_refused_on_a_terminal_unless_asked_for() {
    let server = rawhttp::serve::Server::in_memory()
        .file(
            "blob.bin",
            b"\x7fELF\x02\x01\x01\x00\x00\xff\xfe".as_slice(),
        )
        .file("text.txt", "caf\u{e9} ok\n".as_bytes())
        .start()
        .expect("fixture");
    let dir = tempdir();
    let bin = env!("CARGO_BIN_EXE_rawhttp");
    let blob = format!("{}blob.bin", server.url());
    let shown = on_a_terminal(dir.path(), &format!("{bin} fetch '{blob}'; echo \"rc=$?\""));
    assert!(shown.contains("rc=23"), "{shown:?}");
    assert!(shown.contains("-o FILE"), "{shown:?}");
    assert!(
        !shown.contains("ELF"),
        "binary reached the terminal: {shown:?}"
    );
    let forced = on_a_terminal(
        dir.path(),
        &format!("{bin} fetch -o - '{blob}'; echo \"rc=$?\""),
    );
    assert!(
        forced.contains("rc=0") && forced.contains("ELF"),
        "{forced:?}"
    );
    let text = format!("{}text.txt", server.url());
    let shown = on_a_terminal(dir.path(), &format!("{bin} fetch '{text}'; echo \"rc=$?\""));
    assert!(
        shown.contains("café ok") && shown.contains("rc=0"),
        "{shown:?}"
    );
    // Not a terminal: bytes pass through untouched.
    let piped = fetch(dir.path(), &[&blob]);
    piped.assert_ok();
    assert_eq!(piped.stdout, b"\x7fELF\x02\x01\x01\x00\x00\xff\xfe");
}
