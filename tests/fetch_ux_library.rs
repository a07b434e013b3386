//! The library as another crate's tests use it: `rawhttp::url` re-exported, body read errors
//! turned back into `rawhttp::Error` in one step, and error texts that name no CLI flag.

mod support;

use std::io::Read;

use rawhttp::fetch::Request;
use support::*;

#[test]
fn url_is_reexported_and_a_body_error_converts_back_in_one_step() {
    let server = ReplayServer::single(Reply::bytes(
        "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
    ));
    let url: rawhttp::url::Url = server.url("/x").parse().expect("url");
    let mut response = Request::get(url).send().expect("head arrives");
    let mut body = Vec::new();
    let e = response
        .read_to_end(&mut body)
        .map_err(rawhttp::Error::from)
        .expect_err("the body is cut short");
    assert_eq!(e.exit_code(), 18, "{e}");
    assert!(
        e.to_string()
            .starts_with("transfer cut short: received 5 of 10 bytes"),
        "{e}"
    );
}

#[test]
fn library_errors_name_settings_not_flags() {
    let server = ReplayServer::single(Reply::bytes(
        "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
    ));
    let url: rawhttp::url::Url = server.url("/x").parse().expect("url");
    let e = Request::get(url.clone())
        .max_filesize(10)
        .send()
        .expect_err("too large");
    assert_eq!(e.exit_code(), 63);
    assert!(!e.to_string().contains("--"), "{e}");
    let stall = ReplayServer::single(Reply::bytes("HTTP/1.1 200 OK\r\n").then(After::Hold));
    let url: rawhttp::url::Url = stall.url("/x").parse().expect("url");
    let e = Request::get(url)
        .read_timeout(std::time::Duration::from_millis(200))
        .send()
        .expect_err("no head");
    assert_eq!(e.exit_code(), 28);
    assert!(e.to_string().contains("read timeout"), "{e}");
    assert!(!e.to_string().contains("--"), "{e}");
}

#[test]
fn a_raw_space_in_a_url_is_refused_as_curl_does() {
    let dir = tempdir();
    let out = fetch(dir.path(), &["-o", "x", "http://127.0.0.1:9/a b"]);
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("a space in the URL"), "{out:?}");
    assert!(out.stderr.contains("%20"), "{out:?}");
    assert!(names(dir.path()).is_empty());
}

/// Plain HTTP to a TLS port whose server answers with a TLS alert (rustls does; OpenSSL closes
/// silently, exit 52; rawhttp serve and nginx answer a plain-text 400): the error says the
/// server speaks TLS and suggests https://.
#[test]
fn plain_http_to_a_tls_port_says_the_server_speaks_tls() {
    let tls = TestPki::get().server_config(Leaf::Good);
    let server = ReplayServer::start(vec![("/", Reply::file("length.http"))], Some(tls));
    let dir = tempdir();
    let url = server.url("/hello.txt").replacen("https://", "http://", 1);
    assert!(url.starts_with("http://"), "{url}");
    let out = fetch(dir.path(), &["-o", "x", &url]);
    assert_eq!(out.code, 8, "{out:?}");
    assert!(out.stderr.contains("speaks TLS"), "{out:?}");
    assert!(out.stderr.contains("https://"), "{out:?}");
    assert!(names(dir.path()).is_empty());
}

#[test]
fn faults_are_built_by_name() {
    use rawhttp::serve::faults::Faults;
    let server = rawhttp::serve::Server::in_memory()
        .file("hello.txt", HELLO)
        .faults(Faults::new().truncate(5))
        .start()
        .expect("start");
    let url: rawhttp::url::Url = url_of(&server, "hello.txt").parse().expect("url");
    let mut response = Request::get(url).send().expect("head");
    let mut body = Vec::new();
    let e = response
        .read_to_end(&mut body)
        .map_err(rawhttp::Error::from)
        .expect_err("cut after 5 bytes");
    assert_eq!(e.exit_code(), 18, "{e}");
    assert_eq!(body, &HELLO[..5]);
}
