//! Black-box tests of `rawhttp fetch` against raw replies from fixtures/responses/: body framing
//! (README "Framing is checked"), the exit code and one stderr line of every failure, and the atomic-save
//! promise (a failure leaves the destination as it was, and no NAME.part behind). These are the
//! corner cases no well-behaved server sends (malformed heads, bad chunk lines, conflicting
//! lengths, 1xx, huge heads, bytes trickled one by one); scenarios that are one of the README's
//! faults run against rawhttp's own server in fetch_faults.rs. No server runs inside this
//! process but the small replay one: large_body_is_streamed_in_bounded_memory measures it.

mod support;

use support::*;

const BODY: &[u8] = b"hello, world\n";

/// Fetch `server`'s `/` into `out.txt` in a fresh directory, with `extra` flags.
fn fetch_to_file(server: &ReplayServer, extra: &[&str]) -> (Outcome, tempfile::TempDir) {
    fetch_url_to_file(&server.url("/"), extra)
}

/// The reply is saved as BODY, quietly, promptly, with exit 0 and no leftovers.
fn assert_saves_body(reply: Reply) -> Outcome {
    let server = ReplayServer::single(reply);
    assert_url_saves(&server.url("/"), &[], BODY)
}

/// The reply fails with `code`: see `support::assert_url_fails_and_keeps_destination`.
fn assert_fails_and_keeps_destination(reply: Reply, code: i32, extra: &[&str]) {
    let server = ReplayServer::single(reply);
    assert_url_fails_and_keeps_destination(&server.url("/"), code, extra);
}

// ---- bodies that must be saved ----

#[test]
fn content_length_body_is_saved() {
    assert_saves_body(Reply::file("length.http"));
}

#[test]
fn chunked_body_with_an_extension_is_decoded() {
    assert_saves_body(Reply::file("chunked.http").then(After::Hold));
}

#[test]
fn chunked_wins_over_content_length() {
    assert_saves_body(Reply::file("chunked-and-length.http").then(After::Hold));
}

#[test]
fn trailers_are_read_and_not_saved_as_body() {
    assert_saves_body(Reply::file("trailers.http").then(After::Hold));
}

#[test]
fn repeated_identical_content_length_is_accepted() {
    assert_saves_body(Reply::file("same-length-twice.http").then(After::Hold));
}

#[test]
fn interim_1xx_responses_are_skipped() {
    assert_saves_body(Reply::file("interim-then-200.http").then(After::Hold));
}

#[test]
fn no_content_on_a_kept_alive_socket_finishes_promptly() {
    let server = ReplayServer::single(Reply::file("no-content-keepalive.http").then(After::Hold));
    let (out, dir) = fetch_to_file(&server, &[]);
    out.assert_ok().assert_faster_than(PROMPT);
    // A 204 has no body even though this one claims Content-Length: 13.
    let saved = read(dir.path(), "out.txt").unwrap_or_default();
    assert_eq!(saved, b"", "a 204 body was saved");
    assert_no_part_files(dir.path());
}

#[test]
fn not_modified_on_a_kept_alive_socket_finishes_promptly() {
    let server = ReplayServer::single(Reply::file("not-modified-keepalive.http").then(After::Hold));
    let (out, dir) = fetch_to_file(&server, &[]);
    out.assert_ok().assert_faster_than(PROMPT);
    assert_eq!(read(dir.path(), "out.txt").unwrap_or_default(), b"");
    assert_no_part_files(dir.path());
}

// ---- failures: exit code, one stderr line, destination untouched ----

#[test]
fn chunked_body_cut_mid_chunk_is_a_truncation_18() {
    assert_fails_and_keeps_destination(Reply::file("cut-chunk.http"), 18, &[]);
}

#[test]
fn chunked_body_without_last_chunk_is_a_truncation_18() {
    assert_fails_and_keeps_destination(Reply::file("missing-last-chunk.http"), 18, &[]);
}

#[test]
fn bad_chunk_size_is_a_protocol_error_8() {
    assert_fails_and_keeps_destination(Reply::file("bad-chunk-size.http"), 8, &[]);
}

#[test]
fn conflicting_content_length_fields_are_8() {
    assert_fails_and_keeps_destination(Reply::file("conflicting-length.http"), 8, &[]);
}

#[test]
fn conflicting_content_length_list_is_8() {
    assert_fails_and_keeps_destination(Reply::file("conflicting-length-list.http"), 8, &[]);
}

#[test]
fn signed_content_length_is_8() {
    assert_fails_and_keeps_destination(Reply::file("plus-length.http"), 8, &[]);
}

#[test]
fn malformed_status_line_is_8() {
    assert_fails_and_keeps_destination(Reply::file("bad-status-line.http"), 8, &[]);
}

#[test]
fn non_http_status_line_is_8() {
    assert_fails_and_keeps_destination(Reply::file("icy-status-line.http"), 8, &[]);
}

#[test]
fn http2_status_line_is_8() {
    assert_fails_and_keeps_destination(Reply::file("http2-status-line.http"), 8, &[]);
}

#[test]
fn folded_header_is_8() {
    assert_fails_and_keeps_destination(Reply::file("obs-fold.http"), 8, &[]);
}

#[test]
fn control_byte_in_a_header_value_is_8() {
    assert_fails_and_keeps_destination(Reply::file("ctl-in-header.http"), 8, &[]);
}

#[test]
fn head_over_64_kib_is_56() {
    assert_fails_and_keeps_destination(Reply::file("huge-head.http").then(After::Hold), 56, &[]);
}

#[test]
fn more_than_100_header_fields_is_56() {
    assert_fails_and_keeps_destination(Reply::file("too-many-headers.http"), 56, &[]);
}

#[test]
fn empty_reply_is_52() {
    assert_fails_and_keeps_destination(Reply::bytes(Vec::new()), 52, &[]);
}

#[test]
fn bytes_after_the_content_length_are_not_saved() {
    assert_saves_body(Reply::file("length-extra.http").then(After::Hold));
}

#[test]
fn zero_content_length_on_a_kept_alive_socket_saves_an_empty_file() {
    let server = ReplayServer::single(Reply::file("zero-length-keepalive.http").then(After::Hold));
    let (out, dir) = fetch_to_file(&server, &[]);
    out.assert_ok().assert_faster_than(PROMPT);
    assert_eq!(read(dir.path(), "out.txt").as_deref(), Some(&b""[..]));
    assert_no_part_files(dir.path());
}

#[test]
fn bare_lf_line_ends_in_the_head_are_accepted() {
    // RFC 9112 §2.2: a recipient MAY take a lone LF as a line end in the head (curl does).
    assert_saves_body(Reply::file("bare-lf-head.http"));
}

#[test]
fn obs_text_in_a_header_value_is_accepted() {
    assert_saves_body(Reply::file("obs-text-header.http"));
}

#[test]
fn bare_lf_in_chunked_framing_is_8() {
    // Chunk lines must end in CRLF (see proto/chunked.rs for why no bare LF there).
    assert_fails_and_keeps_destination(Reply::file("chunked-bare-lf.http"), 8, &[]);
}

#[test]
fn reset_before_any_response_byte_is_56() {
    assert_fails_and_keeps_destination(Reply::bytes(Vec::new()).then(After::Reset), 56, &[]);
}

#[test]
fn endless_interim_responses_fail_promptly() {
    let server = ReplayServer::single(Reply::file("endless-interim.http").then(After::Hold));
    let (out, dir) = fetch_to_file(&server, &[]);
    assert_ne!(out.code, 0, "{out:?}");
    out.assert_fails(out.code, None).assert_faster_than(PROMPT);
    assert!(names(dir.path()).is_empty());
}

/// A chunked reply of `body` cut into chunks of the given sizes (cycled), with extensions.
fn chunked_reply(body: &[u8], sizes: &[usize]) -> Vec<u8> {
    let mut out = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    let mut rest = body;
    for size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at((*size).min(rest.len()));
        out.extend_from_slice(format!("{:x};n=v\r\n", chunk.len()).as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
        rest = tail;
    }
    out.extend_from_slice(b"0\r\nX-Trailer: yes\r\n\r\n");
    out
}

#[test]
fn large_chunked_body_with_odd_chunk_sizes_is_decoded_exactly() {
    let body: Vec<u8> = (0..400_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let reply = chunked_reply(&body, &[1, 7, 4096, 65_536, 3, 16_385, 100_000]);
    let server = ReplayServer::single(Reply::bytes(reply).then(After::Hold));
    let (out, dir) = fetch_to_file(&server, &[]);
    out.assert_ok().assert_faster_than(PROMPT);
    let saved = read(dir.path(), "out.txt").expect("saved");
    assert!(
        saved == body,
        "decoded body differs ({} vs {} bytes)",
        saved.len(),
        body.len()
    );
}

#[test]
fn content_length_overflowing_u64_is_8() {
    assert_fails_and_keeps_destination(Reply::file("huge-length.http"), 8, &[]);
}

#[test]
fn chunk_size_overflowing_u64_is_8() {
    assert_fails_and_keeps_destination(Reply::file("chunk-size-overflow.http"), 8, &[]);
}

#[test]
fn chunk_line_over_its_cap_is_8() {
    assert_fails_and_keeps_destination(Reply::file("long-chunk-extension.http"), 8, &[]);
}

#[test]
fn trailer_section_over_its_cap_is_8() {
    let reply = Reply::file("huge-trailers.http").then(After::Hold);
    assert_fails_and_keeps_destination(reply, 8, &[]);
}

#[test]
fn replies_trickled_a_byte_at_a_time_are_parsed_across_every_split() {
    for fixture in [
        "length-keepalive.http",
        "chunked.http",
        "trailers.http",
        "interim-then-200.http",
        "bare-lf-head.http",
    ] {
        assert_saves_body(Reply::file(fixture).trickled().then(After::Hold));
    }
    assert_saves_body(Reply::file("until-eof.http").trickled());
}

#[test]
fn trickled_truncation_is_still_18() {
    assert_fails_and_keeps_destination(Reply::file("cut-chunk.http").trickled(), 18, &[]);
}

/// Run `rawhttp fetch ARGS` and return (exit code, peak RSS in KiB) of that child, measured by
/// wait4(2). `--max-time` in ARGS is the guard against a hang.
// The child is reaped by wait4 (to get its rusage), which clippy cannot see.
#[allow(clippy::zombie_processes)]
fn fetch_with_peak_rss(args: &[&str]) -> (i32, i64) {
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_rawhttp"))
        .arg("fetch")
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn rawhttp");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain old data that wait4 fills in; all-zero is a valid value of it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointers to locals; `pid` is our unreaped child (`child` never waits on it).
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid, "wait4 failed");
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    (code, usage.ru_maxrss)
}

/// Where the file at `path` first differs from `len` pattern bytes (read in blocks, so this
/// process stays small), or None.
fn first_difference(path: &std::path::Path, len: u64) -> Option<u64> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).ok()?;
    let (mut block, mut at) = (vec![0u8; 1 << 16], 0u64);
    loop {
        let n = file.read(&mut block).ok()?;
        if n == 0 {
            return (at != len).then_some(at);
        }
        for (k, &b) in block[..n].iter().enumerate() {
            if at + k as u64 >= len || b != pattern_byte(at + k as u64) {
                return Some(at + k as u64);
            }
        }
        at += n as u64;
    }
}

/// Peak RSS of this process so far (VmHWM), in KiB.
fn own_peak_rss_kib() -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .unwrap_or("");
    line.split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[test]
fn large_body_is_streamed_in_bounded_memory() {
    const SIZE: u64 = 48 << 20;
    const LIMIT_KIB: i64 = 16 * 1024;
    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {SIZE}\r\n\r\n");
    let server = ReplayServer::single(Reply::pattern(head, SIZE).then(After::Hold));
    let dir = tempdir();
    let dest = dir.path().join("big.bin");
    // The child's ru_maxrss also counts this process's peak (its pre-exec image), so that
    // must be under the limit for the measurement to mean anything.
    let own = own_peak_rss_kib();
    assert!(own < LIMIT_KIB / 2, "test process already at {own} KiB");
    let url = server.url("/big");
    let (code, peak_kib) = fetch_with_peak_rss(&["-m", "15", "-o", &dest.to_string_lossy(), &url]);
    assert_eq!(code, 0);
    assert_eq!(
        first_difference(&dest, SIZE),
        None,
        "saved body differs from the pattern"
    );
    // A client holding the body would need 48 MiB; a streaming one needs a few buffers
    // (the limit leaves room for a debug build and allocator slack).
    assert!(
        peak_kib < LIMIT_KIB,
        "peak RSS {peak_kib} KiB for a 48 MiB body"
    );
}

#[test]
fn trickled_huge_head_is_refused_promptly() {
    let reply = Reply::file("huge-head.http").trickled().then(After::Hold);
    let server = ReplayServer::single(reply);
    let (out, dir) = fetch_to_file(&server, &[]);
    out.assert_fails(56, None).assert_faster_than(PROMPT);
    assert!(names(dir.path()).is_empty());
}

#[test]
fn stale_part_file_is_replaced_not_appended_to() {
    let server = ReplayServer::single(Reply::file("length.http"));
    let dir = tempdir();
    std::fs::write(
        dir.path().join("out.txt.part"),
        b"stale bytes from an earlier run\n",
    )
    .expect("write stale part");
    let out = fetch(dir.path(), &["-o", "out.txt", &server.url("/")]);
    out.assert_ok();
    assert_eq!(read(dir.path(), "out.txt").as_deref(), Some(BODY));
    assert_no_part_files(dir.path());
}

#[test]
fn fifo_destination_is_written_directly() {
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let server = ReplayServer::single(Reply::file("length.http"));
    let dir = tempdir();
    let fifo = dir.path().join("pipe");
    let c_path = std::ffi::CString::new(fifo.to_string_lossy().as_bytes()).expect("path");
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0, "mkfifo");
    let reader_path = fifo.clone();
    // Blocks in open() until a writer comes: the client, or the unblocking below.
    let reader = std::thread::spawn(move || std::fs::read(reader_path));
    let out = fetch(dir.path(), &["-o", "pipe", &server.url("/")]);
    // If the client never opened the FIFO, pair the reader with a writer so the test ends;
    // with no reader left this open fails (ENXIO), which is fine.
    let _ = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo);
    let got = reader.join().expect("reader thread").expect("read fifo");
    out.assert_ok();
    assert_eq!(got, BODY);
    let kind = std::fs::symlink_metadata(&fifo).expect("stat").file_type();
    assert!(kind.is_fifo(), "the FIFO was replaced");
    assert_no_part_files(dir.path());
}
