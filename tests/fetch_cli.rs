//! Black-box tests of `rawhttp fetch`'s command line: the request it writes (checked on what
//! rawhttp's own fixture recorded or echoed back, or on the bytes the replay server recorded),
//! where bodies land (-o, -O, -J, --output-dir, stdout), heads (-i, -D, -I), redirects (-L,
//! --max-redirs, loops; crafted Locations stay on raw replies) and argument/URL/connect errors.

mod support;

use std::net::TcpListener;
use std::path::Path;

use rawhttp::serve::ServerHandle;
use support::*;

const BODY: &[u8] = b"hello, world\n";
const OLD: &[u8] = b"old bytes that must survive a failed transfer\n";

fn length_server() -> ReplayServer {
    ReplayServer::single(Reply::file("length.http"))
}

/// The one request `server` received, as (request line, lower-case fields).
fn only_request(server: &ReplayServer) -> (String, Vec<(String, String)>) {
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "expected one request: {requests:?}");
    (request_line(&requests[0]), request_fields(&requests[0]))
}

/// The one request the fixture `server` recorded, as (method, target, lower-case fields).
fn only_recorded(server: &ServerHandle) -> (String, String, Vec<(String, String)>) {
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "expected one request: {requests:?}");
    let r = &requests[0];
    let fields = r
        .headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
        .collect();
    (r.method.clone(), r.target.clone(), fields)
}

fn values<'a>(fields: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    fields
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

// ---- the request on the wire ----

#[test]
fn default_request_is_origin_form_with_the_documented_headers() {
    // The echo fixture answers with the request's exact bytes, so out.txt is what was sent.
    let server = echo_server();
    let dir = tempdir();
    let url = url_of(&server, "dir/file.txt?q=1&r=a%20b#fragment");
    fetch(dir.path(), &["-o", "out.txt", &url]).assert_ok();
    let sent = read(dir.path(), "out.txt").expect("echoed request saved");
    assert!(sent.ends_with(b"\r\n\r\n"), "{sent:?}");
    assert_eq!(
        request_line(&sent),
        "GET /dir/file.txt?q=1&r=a%20b HTTP/1.1"
    );
    let fields = request_fields(&sent);
    let host = server.addr().to_string();
    assert_eq!(values(&fields, "host"), [host.as_str()]);
    assert_eq!(
        values(&fields, "user-agent"),
        [default_user_agent().as_str()]
    );
    assert_eq!(values(&fields, "accept"), ["*/*"]);
    assert_eq!(values(&fields, "connection"), ["close"]);
    assert_eq!(fields.len(), 4, "unexpected fields: {fields:?}");
    let (method, target, recorded) = only_recorded(&server);
    assert_eq!(
        (method.as_str(), target.as_str()),
        ("GET", "/dir/file.txt?q=1&r=a%20b")
    );
    assert_eq!(recorded, fields);
}

#[test]
fn header_flag_adds_replaces_and_removes() {
    let server = fault_server();
    let dir = tempdir();
    let args = [
        "-o",
        "out.txt",
        "-H",
        "X-Extra: one two",
        "-H",
        "user-agent: mine/1.0",
        "-H",
        "Accept:",
        &url_of(&server, "hello.txt"),
    ];
    fetch(dir.path(), &args).assert_ok();
    let (_, _, fields) = only_recorded(&server);
    assert_eq!(values(&fields, "x-extra"), ["one two"]);
    assert_eq!(values(&fields, "user-agent"), ["mine/1.0"]);
    assert_eq!(values(&fields, "accept"), Vec::<&str>::new());
    assert_eq!(values(&fields, "connection"), ["close"]);
    assert_eq!(read(dir.path(), "out.txt").as_deref(), Some(HELLO));
}

#[test]
fn host_header_can_be_replaced() {
    let server = fault_server();
    let dir = tempdir();
    let url = url_of(&server, "hello.txt");
    fetch(dir.path(), &["-H", "Host: other.example", "-o", "o", &url]).assert_ok();
    let (_, _, fields) = only_recorded(&server);
    assert_eq!(values(&fields, "host"), ["other.example"]);
}

#[test]
fn header_with_a_line_break_is_refused_not_injected() {
    let server = fault_server();
    let dir = tempdir();
    let url = url_of(&server, "hello.txt");
    for header in [
        "X-A: b\r\nInjected: 1",
        "X-A: b\nInjected: 1",
        "X-A: b\rInjected: 1",
    ] {
        fetch(dir.path(), &["-H", header, "-o", "o", &url]).assert_fails_without_url(2);
    }
    let out = fetch(dir.path(), &["-A", "ua\r\nInjected: 1", "-o", "o", &url]);
    out.assert_fails_without_url(2);
    assert!(
        server.requests().is_empty(),
        "a request went out: {:?}",
        server.requests()
    );
}

#[test]
fn header_without_a_colon_is_a_usage_error_2() {
    let dir = tempdir();
    fetch(dir.path(), &["-H", "NoColonHere", "http://127.0.0.1:1/"]).assert_fails_without_url(2);
}

#[test]
fn user_agent_flag_sets_the_user_agent() {
    let server = fault_server();
    let dir = tempdir();
    let url = url_of(&server, "hello.txt");
    fetch(dir.path(), &["-A", "agent/2", "-o", "o", &url]).assert_ok();
    let (_, _, fields) = only_recorded(&server);
    assert_eq!(values(&fields, "user-agent"), ["agent/2"]);
}

#[test]
fn http10_flag_sends_http10_and_reads_until_eof() {
    let server = ReplayServer::single(Reply::file("http10-until-eof.http"));
    let dir = tempdir();
    fetch(
        dir.path(),
        &["--http1.0", "-o", "out.txt", &server.url("/x")],
    )
    .assert_ok();
    let (line, _) = only_request(&server);
    assert_eq!(line, "GET /x HTTP/1.0");
    assert_eq!(read(dir.path(), "out.txt").as_deref(), Some(BODY));
}

#[test]
fn ipv6_literal_host_is_bracketed() {
    let server = ReplayServer::start_at("[::1]:0", vec![("/", Reply::file("length.http"))], None);
    let dir = tempdir();
    let url = server.url("/v6");
    assert!(url.starts_with("http://[::1]:"), "{url}");
    fetch(dir.path(), &["-o", "out.txt", &url]).assert_ok();
    let (line, fields) = only_request(&server);
    assert_eq!(line, "GET /v6 HTTP/1.1");
    let host = format!("[::1]:{}", server.port());
    assert_eq!(values(&fields, "host"), [host.as_str()]);
}

#[test]
fn resolve_overrides_the_address_and_host_keeps_the_name() {
    let server = fault_server();
    let dir = tempdir();
    let (ip, port) = (server.addr().ip(), server.addr().port());
    let resolve = format!("fetch-test.invalid:{port}:{ip}");
    let url = format!("http://fetch-test.invalid:{port}/hello.txt");
    fetch(dir.path(), &["--resolve", &resolve, "-o", "out.txt", &url]).assert_ok();
    let (_, target, fields) = only_recorded(&server);
    assert_eq!(target, "/hello.txt");
    let host = format!("fetch-test.invalid:{port}");
    assert_eq!(values(&fields, "host"), [host.as_str()]);
    assert_eq!(read(dir.path(), "out.txt").as_deref(), Some(BODY));
}

#[test]
fn authorization_is_dropped_when_a_redirect_changes_origin() {
    // The redirect names another origin in its Location: crafted bytes; the target is ours.
    let target = fault_server();
    let location = format!(
        "HTTP/1.1 302 Found\r\nLocation: {}\r\nContent-Length: 0\r\n\r\n",
        url_of(&target, "hello.txt")
    );
    let first = ReplayServer::single(Reply::bytes(location.into_bytes()));
    let dir = tempdir();
    let args = [
        "-L",
        "-H",
        "Authorization: Bearer secret",
        "-o",
        "out.txt",
        &first.url("/"),
    ];
    fetch(dir.path(), &args).assert_ok();
    let (_, first_fields) = only_request(&first);
    assert_eq!(values(&first_fields, "authorization"), ["Bearer secret"]);
    let (method, path, target_fields) = only_recorded(&target);
    assert_eq!((method.as_str(), path.as_str()), ("GET", "/hello.txt"));
    assert_eq!(values(&target_fields, "authorization"), Vec::<&str>::new());
    let host = target.addr().to_string();
    assert_eq!(values(&target_fields, "host"), [host.as_str()]);
    assert_eq!(read(dir.path(), "out.txt").as_deref(), Some(BODY));
}

// ---- where the body goes ----

#[test]
fn dash_output_writes_the_body_to_stdout() {
    let server = length_server();
    let dir = tempdir();
    let out = fetch(dir.path(), &["-o", "-", &server.url("/")]);
    out.assert_ok();
    assert_eq!(out.stdout, BODY);
    assert!(
        names(dir.path()).is_empty(),
        "files were created: {:?}",
        names(dir.path())
    );
}

#[test]
fn include_writes_the_head_before_the_body() {
    let server = length_server();
    let dir = tempdir();
    let out = fetch(dir.path(), &["-i", "-o", "-", &server.url("/")]);
    out.assert_ok();
    let head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\n";
    assert_eq!(out.stdout, [&head[..], BODY].concat());
}

#[test]
fn include_with_a_chunked_body_shows_the_head_and_the_decoded_body() {
    let server = ReplayServer::single(Reply::file("chunked.http").then(After::Hold));
    let dir = tempdir();
    let out = fetch(dir.path(), &["-i", "-o", "-", &server.url("/")]);
    out.assert_ok();
    let head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n";
    assert_eq!(out.stdout, [&head[..], BODY].concat());
}

#[test]
fn dump_header_writes_the_head_to_a_file() {
    let server = length_server();
    let dir = tempdir();
    fetch(
        dir.path(),
        &["-D", "head.txt", "-o", "body.txt", &server.url("/")],
    )
    .assert_ok();
    let head = read(dir.path(), "head.txt").expect("head.txt written");
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head:?}");
    assert!(head.contains("Content-Length: 13\r\n"), "{head:?}");
    assert_eq!(read(dir.path(), "body.txt").as_deref(), Some(BODY));
}

#[test]
fn head_flag_sends_head_and_shows_the_head() {
    let server = fault_server();
    let dir = tempdir();
    let out = fetch(dir.path(), &["-I", &url_of(&server, "hello.txt")]);
    out.assert_ok();
    let (method, target, _) = only_recorded(&server);
    assert_eq!((method.as_str(), target.as_str()), ("HEAD", "/hello.txt"));
    // As with curl -I, the head is what is shown.
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.starts_with("HTTP/1.1 200 OK"), "stdout: {shown:?}");
}

#[test]
fn output_flags_pair_with_urls_in_order() {
    let server = fault_server();
    let dir = tempdir();
    let (a, b) = (
        url_of(&server, "hello.txt?status=404"),
        url_of(&server, "missing.txt"),
    );
    fetch(
        dir.path(),
        &["--no-fail", "-o", "one.txt", "-o", "two.txt", &a, &b],
    )
    .assert_ok();
    assert_eq!(read(dir.path(), "one.txt").as_deref(), Some(BODY));
    let two = read(dir.path(), "two.txt").expect("two.txt saved");
    assert_ne!(two, BODY, "two.txt got the first URL's body");
    let targets: Vec<String> = targets(&server).into_iter().map(|(_, t)| t).collect();
    assert_eq!(targets, ["/hello.txt?status=404", "/missing.txt"]);
}

#[test]
fn dev_null_destination_is_written_directly() {
    let server = length_server();
    let dir = tempdir();
    fetch(dir.path(), &["-o", "/dev/null", &server.url("/")]).assert_ok();
    use std::os::unix::fs::FileTypeExt;
    let kind = std::fs::metadata("/dev/null")
        .expect("stat /dev/null")
        .file_type();
    assert!(kind.is_char_device(), "/dev/null was replaced");
}

#[test]
fn destination_that_is_a_directory_is_a_write_error_23() {
    let server = length_server();
    let dir = tempdir();
    std::fs::create_dir(dir.path().join("out.txt")).expect("mkdir");
    let url = server.url("/");
    fetch(dir.path(), &["-o", "out.txt", &url]).assert_fails(23, Some(&url));
    assert!(dir.path().join("out.txt").is_dir());
    assert_no_part_files(dir.path());
}

#[test]
fn destination_in_a_missing_directory_is_a_write_error_23() {
    let server = length_server();
    let dir = tempdir();
    let url = server.url("/");
    fetch(dir.path(), &["-o", "no-such-dir/out.txt", &url]).assert_fails(23, Some(&url));
    assert!(names(dir.path()).is_empty(), "{:?}", names(dir.path()));
}

/// Run `-O URL` with `--output-dir out` and return the names created under the temp dir.
fn remote_name(path: &str, extra: &[&str]) -> (Vec<String>, tempfile::TempDir) {
    let server = length_server();
    let dir = tempdir();
    let url = server.url(path);
    let mut args = vec!["--output-dir", "out", "-O"];
    args.extend_from_slice(extra);
    args.push(&url);
    fetch(dir.path(), &args).assert_ok();
    assert_no_part_files(dir.path());
    (names(dir.path()), dir)
}

#[test]
fn remote_name_is_percent_decoded_and_drops_the_query() {
    let (names, dir) = remote_name("/files/na%20me.txt?x=1&y=2", &[]);
    assert_eq!(names, ["out/na me.txt"]);
    assert_eq!(
        read(&dir.path().join("out"), "na me.txt").as_deref(),
        Some(BODY)
    );
}

#[test]
fn remote_name_lands_in_the_working_directory_without_output_dir() {
    let server = length_server();
    let dir = tempdir();
    fetch(dir.path(), &["-O", &server.url("/some/file.bin")]).assert_ok();
    assert_eq!(names(dir.path()), ["file.bin"]);
    assert_eq!(read(dir.path(), "file.bin").as_deref(), Some(BODY));
}

#[test]
fn remote_name_is_index_html_for_an_empty_last_segment() {
    assert_eq!(remote_name("/dir/", &[]).0, ["out/index.html"]);
    assert_eq!(remote_name("/", &[]).0, ["out/index.html"]);
}

/// A name that is one plain file name: no separators, not `.`/`..`, no control bytes.
fn assert_plain_name(names: &[String]) {
    assert_eq!(names.len(), 1, "expected exactly one file: {names:?}");
    let name = names[0]
        .strip_prefix("out/")
        .unwrap_or_else(|| panic!("outside out/: {names:?}"));
    assert!(!name.contains('/') && !name.contains('\\'), "{name:?}");
    assert!(name != "." && name != ".." && !name.is_empty(), "{name:?}");
    assert!(
        !name.chars().any(char::is_control),
        "control bytes in {name:?}"
    );
}

#[test]
fn remote_name_with_encoded_slashes_stays_in_the_output_dir() {
    assert_plain_name(&remote_name("/a/..%2F..%2Fevil.txt", &[]).0);
    assert_plain_name(&remote_name("/a/%2e%2e", &[]).0);
    assert_plain_name(&remote_name("/a/x%0Ay%01z.txt", &[]).0);
}

#[test]
fn output_dir_is_created() {
    let server = length_server();
    let dir = tempdir();
    fetch(
        dir.path(),
        &["--output-dir", "a/b/c", "-O", &server.url("/f.txt")],
    )
    .assert_ok();
    assert_eq!(
        read(&dir.path().join("a/b/c"), "f.txt").as_deref(),
        Some(BODY)
    );
}

/// `-O -J` against a reply with a Content-Disposition; returns the names under the temp dir.
fn header_name(fixture: &str, dir: &Path) -> (Outcome, Vec<String>) {
    let server = ReplayServer::single(Reply::file(fixture));
    let url = server.url("/from-url.txt");
    let out = fetch(dir, &["--output-dir", "out", "-O", "-J", &url]);
    assert_no_part_files(dir);
    (out, names(dir))
}

#[test]
fn content_disposition_name_is_used() {
    let dir = tempdir();
    let (out, names) = header_name("cd-plain.http", dir.path());
    out.assert_ok();
    assert_eq!(names, ["out/report.csv"]);
}

#[test]
fn content_disposition_directories_are_stripped() {
    let dir = tempdir();
    let (out, names) = header_name("cd-dotdot.http", dir.path());
    out.assert_ok();
    assert_eq!(names, ["out/x"]);
    let dir = tempdir();
    let (out, names) = header_name("cd-absolute.http", dir.path());
    out.assert_ok();
    assert_eq!(names, ["out/passwd"]);
}

#[test]
fn content_disposition_control_bytes_are_removed() {
    for fixture in ["cd-control.http", "cd-tab.http"] {
        let dir = tempdir();
        let (out, names) = header_name(fixture, dir.path());
        out.assert_ok();
        assert_plain_name(&names);
    }
}

#[test]
fn content_disposition_filename_star_is_preferred() {
    let dir = tempdir();
    let (out, names) = header_name("cd-utf8.http", dir.path());
    out.assert_ok();
    assert_eq!(names, ["out/naïve résumé.txt"]);
}

#[test]
fn remote_header_name_without_disposition_uses_the_url_name() {
    let dir = tempdir();
    let (out, names) = header_name("length.http", dir.path());
    out.assert_ok();
    assert_eq!(names, ["out/from-url.txt"]);
}

#[test]
fn content_disposition_never_clobbers() {
    let dir = tempdir();
    std::fs::create_dir(dir.path().join("out")).expect("mkdir");
    std::fs::write(dir.path().join("out/report.csv"), OLD).expect("write");
    let (out, names) = header_name("cd-plain.http", dir.path());
    assert_eq!(
        read(&dir.path().join("out"), "report.csv").as_deref(),
        Some(OLD)
    );
    if out.code == 0 {
        // Saving under another name is the only acceptable success.
        assert_eq!(names.len(), 2, "{names:?}");
    } else {
        out.assert_fails(out.code, None);
        assert_eq!(names, ["out/report.csv"]);
    }
}

// ---- redirects ----

fn chain_server() -> ReplayServer {
    ReplayServer::start(
        vec![
            ("/chain/step1", Reply::file("redirect-301.http")),
            ("/chain/step2", Reply::file("redirect-302.http")),
            ("/chain/step3", Reply::file("redirect-303.http")),
            ("/chain/step4", Reply::file("redirect-307.http")),
            ("/chain/step5", Reply::file("redirect-308.http")),
            ("/final", Reply::file("length.http")),
            ("/r307", Reply::file("redirect-307-to-final.http")),
            ("/loop", Reply::file("redirect-loop.http")),
            ("/ping", Reply::file("redirect-ping.http")),
            ("/pong", Reply::file("redirect-pong.http")),
            ("/nowhere", Reply::file("redirect-without-location.http")),
            ("/to-ftp", Reply::file("redirect-to-ftp.http")),
            ("/with-fragment", Reply::file("redirect-with-fragment.http")),
            ("/raw-bytes", Reply::file("redirect-raw-bytes.http")),
        ],
        None,
    )
}

#[test]
fn location_follows_a_chain_of_relative_redirects() {
    let server = chain_server();
    let dir = tempdir();
    fetch(
        dir.path(),
        &["-L", "-o", "out.txt", &server.url("/chain/step1")],
    )
    .assert_ok();
    assert_eq!(read(dir.path(), "out.txt").as_deref(), Some(BODY));
    let lines: Vec<String> = server.requests().iter().map(|r| request_line(r)).collect();
    assert_eq!(
        lines,
        [
            "GET /chain/step1 HTTP/1.1",
            "GET /chain/step2 HTTP/1.1",
            "GET /chain/step3?q=1 HTTP/1.1",
            "GET /chain/step4 HTTP/1.1",
            "GET /chain/step5 HTTP/1.1",
            "GET /final HTTP/1.1",
        ]
    );
}

#[test]
fn redirect_307_keeps_the_method() {
    let server = chain_server();
    let dir = tempdir();
    fetch(dir.path(), &["-L", "-I", &server.url("/r307")]).assert_ok();
    let lines: Vec<String> = server.requests().iter().map(|r| request_line(r)).collect();
    assert_eq!(lines, ["HEAD /r307 HTTP/1.1", "HEAD /final HTTP/1.1"]);
}

#[test]
fn without_location_flag_the_redirect_itself_is_saved() {
    let server = chain_server();
    let dir = tempdir();
    fetch(dir.path(), &["-o", "out.txt", &server.url("/chain/step1")]).assert_ok();
    assert_eq!(
        read(dir.path(), "out.txt").as_deref(),
        Some(&b"moved\n"[..])
    );
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn max_redirs_caps_the_chain_with_47() {
    let server = chain_server();
    let dir = tempdir();
    std::fs::write(dir.path().join("out.txt"), OLD).expect("write");
    let url = server.url("/chain/step1");
    fetch(
        dir.path(),
        &["-L", "--max-redirs", "4", "-o", "out.txt", &url],
    )
    .assert_fails(47, None);
    assert_eq!(read(dir.path(), "out.txt").as_deref(), Some(OLD));
    fetch(
        dir.path(),
        &["-L", "--max-redirs", "5", "-o", "out.txt", &url],
    )
    .assert_ok();
    assert_eq!(read(dir.path(), "out.txt").as_deref(), Some(BODY));
    assert_no_part_files(dir.path());
}

#[test]
fn redirect_loops_are_47() {
    let server = chain_server();
    let dir = tempdir();
    std::fs::write(dir.path().join("out.txt"), OLD).expect("write");
    for path in ["/loop", "/ping"] {
        let url = server.url(path);
        fetch(dir.path(), &["-L", "-o", "out.txt", &url]).assert_fails(47, None);
        assert_eq!(read(dir.path(), "out.txt").as_deref(), Some(OLD));
    }
    // Loop detection or the default cap of 20: either way no more than 21 requests per run.
    assert!(
        server.requests().len() <= 42,
        "{} requests",
        server.requests().len()
    );
    assert_no_part_files(dir.path());
}

#[test]
fn redirect_target_drops_the_fragment_and_encodes_raw_bytes() {
    let server = chain_server();
    let dir = tempdir();
    for path in ["/with-fragment", "/raw-bytes"] {
        fetch(dir.path(), &["-L", "-o", "out.txt", &server.url(path)]).assert_ok();
    }
    let lines: Vec<String> = server.requests().iter().map(|r| request_line(r)).collect();
    assert_eq!(
        lines,
        [
            "GET /with-fragment HTTP/1.1",
            "GET /final?x=1 HTTP/1.1",
            "GET /raw-bytes HTTP/1.1",
            "GET /final-caf%C3%A9%20x HTTP/1.1",
        ]
    );
}

#[test]
fn max_redirs_zero_refuses_the_first_redirect() {
    let server = chain_server();
    let dir = tempdir();
    let url = server.url("/chain/step1");
    fetch(
        dir.path(),
        &["-L", "--max-redirs", "0", "-o", "out.txt", &url],
    )
    .assert_fails(47, None);
    assert!(names(dir.path()).is_empty());
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn redirect_without_location_is_the_final_response() {
    let server = chain_server();
    let dir = tempdir();
    fetch(
        dir.path(),
        &["-L", "-o", "out.txt", &server.url("/nowhere")],
    )
    .assert_ok();
    assert_eq!(
        read(dir.path(), "out.txt").as_deref(),
        Some(&b"no where\n"[..])
    );
}

#[test]
fn redirect_to_an_unsupported_scheme_is_1() {
    let server = chain_server();
    let dir = tempdir();
    std::fs::write(dir.path().join("out.txt"), OLD).expect("write");
    let out = fetch(dir.path(), &["-L", "-o", "out.txt", &server.url("/to-ftp")]);
    out.assert_fails(1, None);
    assert_eq!(read(dir.path(), "out.txt").as_deref(), Some(OLD));
    assert_no_part_files(dir.path());
}

// ---- messages ----

#[test]
fn silent_hides_the_error_line_and_show_error_brings_it_back() {
    let server = fault_server();
    let dir = tempdir();
    let url = url_of(&server, "hello.txt?status=404");
    let out = fetch(dir.path(), &["-s", "-o", "out.txt", &url]);
    assert_eq!((out.code, out.stderr.as_str()), (22, ""), "{out:?}");
    fetch(dir.path(), &["-s", "-S", "-o", "out.txt", &url]).assert_fails(22, Some(&url));
    assert!(names(dir.path()).is_empty());
}

// ---- argument, URL and connection errors ----

#[test]
fn malformed_url_is_3() {
    let dir = tempdir();
    fetch(dir.path(), &["-o", "o", "http://[zz]/"]).assert_fails_without_url(3);
    fetch(dir.path(), &["-o", "o", "http://"]).assert_fails_without_url(3);
    assert!(names(dir.path()).is_empty());
}

#[test]
fn unsupported_scheme_is_1() {
    let dir = tempdir();
    fetch(dir.path(), &["-o", "o", "ftp://127.0.0.1/x"]).assert_fails_without_url(1);
    assert!(names(dir.path()).is_empty());
}

#[test]
fn unknown_flag_is_a_usage_error_2_on_one_line() {
    let dir = tempdir();
    fetch(dir.path(), &["--no-such-flag", "http://127.0.0.1/"]).assert_fails_without_url(2);
}

#[test]
fn connection_refused_is_7() {
    // A port that was just free: bind it, note it, close it.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind")
        .port();
    let dir = tempdir();
    std::fs::write(dir.path().join("out.txt"), OLD).expect("write");
    let url = format!("http://127.0.0.1:{port}/");
    fetch(dir.path(), &["-o", "out.txt", &url]).assert_fails(7, Some(&url));
    assert_eq!(read(dir.path(), "out.txt").as_deref(), Some(OLD));
    assert_no_part_files(dir.path());
}
