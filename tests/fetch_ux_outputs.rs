//! Black-box tests of where `rawhttp fetch` puts (or does not put) bodies: responses without a
//! body keep an existing file (304, 204, after redirects, with -o/-O/-J/--output-dir), -o/-O
//! pair with URLs in order as curl does (compared with curl itself), --remote-name-all,
//! --create-dirs, server names that would be dotfiles, and heads shown on errors.

mod support;

use std::path::Path;
use std::process::Command;

use support::*;

const BODY: &[u8] = b"hello, world\n";
const CACHED: &[u8] = b"cached copy that a 304 must not touch\n";

const NOT_MODIFIED: &str =
    "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nContent-Length: 13\r\n\r\n";
const NO_CONTENT: &str = "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n";

/// `/nm/x.txt` 304, `/nc/x.txt` 204, `/redir/x.txt` 302 to the 304, `/ok/x.txt` 200.
fn bodiless_server() -> ReplayServer {
    ReplayServer::start(
        vec![
            ("/nm/", Reply::bytes(NOT_MODIFIED)),
            ("/nc/", Reply::bytes(NO_CONTENT)),
            (
                "/redir/",
                Reply::bytes(
                    "HTTP/1.1 302 Found\r\nLocation: /nm/x.txt\r\nContent-Length: 0\r\n\r\n",
                ),
            ),
            ("/ok/", Reply::file("length.http")),
        ],
        None,
    )
}

/// A directory holding `x.txt` and `out/x.txt` with `CACHED` in them.
fn cached_dir() -> tempfile::TempDir {
    let dir = tempdir();
    std::fs::write(dir.path().join("x.txt"), CACHED).expect("seed x.txt");
    std::fs::create_dir(dir.path().join("out")).expect("mkdir out");
    std::fs::write(dir.path().join("out/x.txt"), CACHED).expect("seed out/x.txt");
    dir
}

fn assert_cached(dir: &Path) {
    assert_eq!(read(dir, "x.txt").as_deref(), Some(CACHED), "x.txt changed");
    assert_eq!(
        read(dir, "out/x.txt").as_deref(),
        Some(CACHED),
        "out/x.txt changed"
    );
    assert_eq!(names(dir), ["out/x.txt", "x.txt"]);
}

#[test]
fn not_modified_keeps_the_file_for_every_way_of_naming_it() {
    let server = bodiless_server();
    let url = server.url("/nm/x.txt");
    let ways: [&[&str]; 5] = [
        &["-o", "x.txt"],
        &["-O"],
        &["-O", "-J"],
        &["--output-dir", "out", "-O"],
        &["--output-dir", "out", "-o", "x.txt"],
    ];
    for flags in ways {
        let dir = cached_dir();
        let mut args = flags.to_vec();
        args.push(&url);
        let out = fetch(dir.path(), &args);
        assert_eq!(out.code, 0, "{flags:?}: {out:?}");
        assert!(
            out.stderr.contains("not modified") && out.stderr.contains("x.txt"),
            "{flags:?}: no note on stderr: {out:?}"
        );
        assert_cached(dir.path());
    }
}

#[test]
fn not_modified_after_a_redirect_keeps_the_file() {
    let server = bodiless_server();
    for flags in [&["-L", "-o", "x.txt"][..], &["-L", "-O"]] {
        let dir = cached_dir();
        let mut args = flags.to_vec();
        let url = server.url("/redir/x.txt");
        args.push(&url);
        let out = fetch(dir.path(), &args);
        assert_eq!(out.code, 0, "{flags:?}: {out:?}");
        assert_cached(dir.path());
    }
}

#[test]
fn no_content_keeps_the_file_and_silent_hides_the_note() {
    let server = bodiless_server();
    let dir = cached_dir();
    let url = server.url("/nc/x.txt");
    let out = fetch(dir.path(), &["-o", "x.txt", &url]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("204"), "{out:?}");
    let quiet = fetch(dir.path(), &["-s", "-o", "x.txt", &url]);
    quiet.assert_ok();
    assert_cached(dir.path());
}

#[test]
fn head_request_keeps_an_existing_file_untouched_without_include() {
    // -I writes the head where the body would go (curl), so only the explicit head lands;
    // a plain GET answered 304 by the real fixture server (If-None-Match) keeps the file.
    let server = rawhttp::serve::Server::in_memory()
        .file("x.txt", BODY)
        .reproducible_validators()
        .start()
        .expect("fixture");
    let dir = cached_dir();
    let url = format!("{}x.txt", server.url());
    let head = fetch(dir.path(), &["-I", &url]);
    head.assert_ok();
    let text = String::from_utf8_lossy(&head.stdout).into_owned();
    let etag = text
        .lines()
        .find_map(|l| {
            l.strip_prefix("ETag: ")
                .or_else(|| l.strip_prefix("etag: "))
        })
        .expect("an ETag")
        .trim()
        .to_string();
    let inm = format!("If-None-Match: {etag}");
    let out = fetch(dir.path(), &["-H", &inm, "-o", "x.txt", &url]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("not modified"), "{out:?}");
    assert_cached(dir.path());
}

#[test]
fn a_server_chosen_dotfile_name_loses_its_dots() {
    let reply = "HTTP/1.1 200 OK\r\nContent-Disposition: attachment; filename=\".bashrc\"\r\n\
                 Content-Length: 13\r\n\r\nhello, world\n";
    let server = ReplayServer::single(Reply::bytes(reply));
    let dir = tempdir();
    fetch(dir.path(), &["-O", "-J", &server.url("/get/x.txt")]).assert_ok();
    assert_eq!(names(dir.path()), ["bashrc"]);
    assert_eq!(read(dir.path(), "bashrc").as_deref(), Some(BODY));
    // Nothing but dots: the URL's name instead.
    let reply = "HTTP/1.1 200 OK\r\nContent-Disposition: attachment; filename=\"...\"\r\n\
                 Content-Length: 13\r\n\r\nhello, world\n";
    let server = ReplayServer::single(Reply::bytes(reply));
    let dir = tempdir();
    fetch(dir.path(), &["-O", "-J", &server.url("/get/x.txt")]).assert_ok();
    assert_eq!(names(dir.path()), ["x.txt"]);
}

/// Run `curl ARGS` in `cwd`; (exit code, stdout).
fn curl(cwd: &Path, args: &[&str]) -> (i32, Vec<u8>) {
    let out = Command::new("curl")
        .args(["-s"])
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("curl runs");
    (out.status.code().unwrap_or(-1), out.stdout)
}

#[test]
fn output_flags_pair_with_urls_in_order_like_curl() {
    let server = ReplayServer::start(
        vec![
            (
                "/a/",
                Reply::bytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nA\n"),
            ),
            (
                "/b/",
                Reply::bytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nB\n"),
            ),
            (
                "/c/",
                Reply::bytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nC\n"),
            ),
        ],
        None,
    );
    let (a, b, c) = (
        server.url("/a/one.txt"),
        server.url("/b/two.txt"),
        server.url("/c/three.txt"),
    );
    let cases: [Vec<&str>; 4] = [
        vec!["-O", &a, "-o", "-", &b],
        vec![&a, "-o", "x", "-O", &b, &c],
        vec!["-O", &a, &b],
        vec!["-o", "first", &a, "-O", &b, "-o", "-", &c],
    ];
    for args in cases {
        let ours = tempdir();
        let theirs = tempdir();
        let out = fetch(ours.path(), &args);
        out.assert_ok();
        let (code, stdout) = curl(theirs.path(), &args);
        assert_eq!(code, 0, "curl {args:?}");
        assert_eq!(
            names(ours.path()),
            names(theirs.path()),
            "files for {args:?}"
        );
        for name in names(theirs.path()) {
            assert_eq!(
                read(ours.path(), &name),
                read(theirs.path(), &name),
                "{name}"
            );
        }
        assert_eq!(out.stdout, stdout, "stdout for {args:?}");
    }
}

#[test]
fn remote_name_all_names_every_url_without_its_own_output() {
    let server = ReplayServer::single(Reply::file("length.http"));
    let dir = tempdir();
    let (a, b) = (server.url("/one.txt"), server.url("/two.txt"));
    fetch(dir.path(), &["--remote-name-all", "-o", "first", &a, &b]).assert_ok();
    assert_eq!(names(dir.path()), ["first", "two.txt"]);
}

#[test]
fn create_dirs_makes_the_parents_of_an_output_path() {
    let server = ReplayServer::single(Reply::file("length.http"));
    let dir = tempdir();
    let url = server.url("/x");
    fetch(dir.path(), &["-o", "a/b/c.txt", &url]).assert_fails(23, None);
    fetch(dir.path(), &["--create-dirs", "-o", "a/b/c.txt", &url]).assert_ok();
    assert_eq!(read(dir.path(), "a/b/c.txt").as_deref(), Some(BODY));
}

#[test]
fn head_on_a_404_is_shown_as_curl_shows_it_and_still_exits_22() {
    let server = ReplayServer::single(Reply::file("not-found.http"));
    let dir = tempdir();
    let url = server.url("/missing");
    let out = fetch(dir.path(), &["-I", &url]);
    assert_eq!(out.code, 22, "{out:?}");
    let (code, curl_head) = curl(dir.path(), &["-I", &url]);
    assert_eq!(code, 0);
    assert_eq!(out.stdout, curl_head);
    assert!(out.stdout.starts_with(b"HTTP/1.1 404 Not Found\r\n"));
    // -i: the head, not the error body (not saved without --no-fail).
    let out = fetch(dir.path(), &["-i", &url]);
    assert_eq!(out.code, 22, "{out:?}");
    assert!(out.stdout.starts_with(b"HTTP/1.1 404"), "{out:?}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("not found\n"));
    // A file destination is still left alone.
    fetch(dir.path(), &["-i", "-o", "f.txt", &url]).assert_fails(22, None);
    assert!(names(dir.path()).is_empty());
}
