//! Black-box tests of `rawhttp fetch` whose scenario is one of the README's faults, played by
//! rawhttp's own server (the fixture library, in-process, `?truncate=5` and friends): framing
//! that ends on a kept-alive connection, truncation (18), reset (56), stall and delay against
//! --read-timeout and -m (28), throttling, error statuses (22, --no-fail), --max-filesize (63).
//! Every failure asserts the exit code, the one stderr line and that the destination survives
//! with no NAME.part left. Raw corner cases no sane server sends are in fetch_framing.rs.

mod support;

use std::time::Duration;

use support::*;

/// Ask rawhttp's own server to keep the connection open after the response, so the client
/// must end the body by its framing (fetch sends `Connection: close` by default).
const KEEP_ALIVE: [&str; 2] = ["-H", "Connection: keep-alive"];

/// `url` is saved as the fixture's hello.txt, quietly, promptly, with no leftovers.
fn assert_url_saves_body(url: &str, extra: &[&str]) -> Outcome {
    assert_url_saves(url, extra, HELLO)
}

/// rawhttp's own server sends `hello.txt?QUERY` with the fault(s) QUERY names, and the fetch
/// fails with `code`: see `support::assert_url_fails_and_keeps_destination`.
fn assert_fault_fails(path_and_query: &str, code: i32, extra: &[&str]) {
    let server = fault_server();
    assert_url_fails_and_keeps_destination(&url_of(&server, path_and_query), code, extra);
}

#[test]
fn content_length_body_on_a_kept_alive_socket_ends_at_the_length() {
    let server = fault_server();
    assert_url_saves_body(&url_of(&server, "hello.txt"), &KEEP_ALIVE);
    assert_kept_alive(&server);
}

/// `server` saw one request, asking to keep the connection open.
fn assert_kept_alive(server: &rawhttp::serve::ServerHandle) {
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].header("connection"), Some("keep-alive"));
}

#[test]
fn chunked_body_is_decoded_and_ends_at_the_last_chunk() {
    let server = fault_server();
    assert_url_saves_body(&url_of(&server, "hello.txt?chunked"), &KEEP_ALIVE);
    assert_kept_alive(&server);
}

#[test]
fn body_without_length_is_read_until_eof() {
    let server = fault_server();
    assert_url_saves_body(&url_of(&server, "hello.txt?no-length"), &[]);
}

#[test]
fn head_request_ends_at_the_blank_line_despite_content_length() {
    // rawhttp's own server answers HEAD with Content-Length: 13 and keeps the connection open.
    let server = fault_server();
    let dir = tempdir();
    let url = url_of(&server, "hello.txt");
    let out = fetch(dir.path(), &["-I", KEEP_ALIVE[0], KEEP_ALIVE[1], &url]);
    out.assert_ok().assert_faster_than(PROMPT);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains("Content-Length: 13\r\n"), "{shown:?}");
    assert_eq!(targets(&server), [("HEAD".into(), "/hello.txt".into())]);
    assert_kept_alive(&server);
    assert!(names(dir.path()).is_empty(), "{:?}", names(dir.path()));
}

#[test]
fn no_fail_saves_the_error_body_and_exits_zero() {
    let server = fault_server();
    for status in ["404", "500"] {
        let url = url_of(&server, &format!("hello.txt?status={status}"));
        let (out, dir) = fetch_url_to_file(&url, &["--no-fail"]);
        out.assert_ok();
        assert_eq!(read(dir.path(), "out.txt").as_deref(), Some(HELLO));
        assert_no_part_files(dir.path());
    }
}

#[test]
fn fail_flag_is_accepted_for_curl_habits() {
    assert_fault_fails("hello.txt?status=404", 22, &["-f"]);
}

#[test]
fn short_content_length_body_is_a_truncation_18() {
    let server = fault_server();
    for cut in ["0", "5", "12"] {
        let url = url_of(&server, &format!("hello.txt?truncate={cut}"));
        assert_url_fails_and_keeps_destination(&url, 18, &[]);
    }
}

#[test]
fn not_found_is_22_and_not_saved() {
    assert_fault_fails("hello.txt?status=404", 22, &[]);
}

#[test]
fn server_error_is_22_and_not_saved() {
    assert_fault_fails("hello.txt?status=500", 22, &[]);
}

#[test]
fn stall_after_the_head_is_a_read_timeout_28() {
    assert_fault_fails("hello.txt?stall", 28, &["--read-timeout", "1"]);
}

#[test]
fn delay_before_the_head_beyond_the_read_timeout_is_28() {
    // The head comes 2.5 s after the request, well after the 1 s read timeout fired.
    assert_fault_fails("hello.txt?delay=2500", 28, &["--read-timeout", "1"]);
}

#[test]
fn delay_before_the_head_within_the_read_timeout_is_waited_for() {
    let server = fault_server();
    let url = url_of(&server, "hello.txt?delay=300");
    let out = assert_url_saves_body(&url, &[]);
    assert!(out.elapsed >= Duration::from_millis(300), "{out:?}");
    assert_url_saves_body(&url, &["--read-timeout", "5"]);
}

#[test]
fn throttled_body_is_saved_whole() {
    // 8 bytes per second (one may go at once): the 13 bytes take 1.5 s in many small reads.
    let server = fault_server();
    let out = assert_url_saves_body(&url_of(&server, "hello.txt?rate=8"), &[]);
    assert!(out.elapsed >= Duration::from_secs(1), "{out:?}");
}

#[test]
fn max_time_bounds_a_throttled_transfer_with_28() {
    // 2 bytes per second keep the read timeout quiet; only the whole-transfer limit fires.
    assert_fault_fails("hello.txt?rate=2", 28, &["-m", "1"]);
}

#[test]
fn reset_mid_body_is_a_receive_failure_56() {
    let server = fault_server();
    for cut in ["0", "5"] {
        let url = url_of(&server, &format!("hello.txt?reset={cut}"));
        assert_url_fails_and_keeps_destination(&url, 56, &[]);
    }
}

#[test]
fn body_over_max_filesize_is_63() {
    assert_fault_fails("hello.txt", 63, &["--max-filesize", "5"]);
}

#[test]
fn chunked_body_over_max_filesize_is_63_while_receiving() {
    // Chunked: no length announced up front, so the limit must be checked while receiving.
    assert_fault_fails("hello.txt?chunked", 63, &["--max-filesize", "5"]);
}

#[test]
fn body_without_length_over_max_filesize_is_63_while_receiving() {
    assert_fault_fails("hello.txt?no-length", 63, &["--max-filesize", "5"]);
}

#[test]
fn body_at_max_filesize_is_saved() {
    let server = fault_server();
    let url = url_of(&server, "hello.txt");
    assert_url_saves_body(&url, &["--max-filesize", "13"]);
}

#[test]
fn max_time_bounds_a_stalled_transfer_with_28() {
    assert_fault_fails("hello.txt?stall", 28, &["-m", "1"]);
}

#[test]
fn combined_delay_and_truncation_waits_then_fails_with_18() {
    // Faults combine: the head comes after 300 ms, then 5 of the 13 announced bytes and a close.
    let server = fault_server();
    let (out, dir) = fetch_url_to_file(&url_of(&server, "hello.txt?delay=300&truncate=5"), &[]);
    out.assert_fails(18, None);
    assert!(out.elapsed >= Duration::from_millis(300), "{out:?}");
    assert!(names(dir.path()).is_empty(), "{:?}", names(dir.path()));
}

/// Run `rawhttp fetch ARGS` under a pseudo-terminal (script(1)); returns what the terminal
/// showed (stderr and stdout together).
fn fetch_on_a_terminal(args: &str) -> String {
    let bin = env!("CARGO_BIN_EXE_rawhttp");
    let out = std::process::Command::new("script")
        .args(["-qec", &format!("{bin} fetch {args}"), "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("script(1) runs");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn progress_shows_only_on_a_terminal_and_only_for_files() {
    let server = fault_server();
    // 13 bytes at 26 B/s: about half a second, long enough for the bar to be drawn.
    let url = url_of(&server, "hello.txt?rate=26");
    let dir = tempdir();
    let out = dir.path().join("out.txt");
    let shown = fetch_on_a_terminal(&format!("-o '{}' '{url}'", out.display()));
    assert!(
        shown.contains("/13 B"),
        "no progress bar on the terminal: {shown:?}"
    );
    assert_eq!(std::fs::read(&out).expect("saved"), HELLO);

    let silent = fetch_on_a_terminal(&format!("-s -o '{}' '{url}'", out.display()));
    assert!(
        !silent.contains("/13 B"),
        "-s still drew progress: {silent:?}"
    );
    let to_stdout = fetch_on_a_terminal(&format!("'{url}'"));
    assert!(
        !to_stdout.contains("/13 B"),
        "progress drawn for stdout: {to_stdout:?}"
    );

    // Not a terminal: nothing on stderr at all.
    let piped = fetch(dir.path(), &["-o", "out.txt", &url]);
    assert_eq!(piped.code, 0, "{piped:?}");
    assert_eq!(piped.stderr, "", "stderr is not a terminal: {piped:?}");
}
