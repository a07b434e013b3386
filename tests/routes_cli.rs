//! `rawhttp serve --routes FILE` driven by curl: canned replies matched on method, path, query
//! and request headers; everything else falls through to the files.

mod serve_cli;

use serve_cli::{curl, path_str, run, stderr_lines, Serve, BIN};
use std::process::Command;

const ROUTES: &str = r#"[
  {"method": "GET", "path": "/api/x", "status": 201, "headers": {"X-Made": "yes"},
   "body": "made\n"},
  {"method": "GET", "path": "/api/q", "query": "page=2", "body": "page two\n"},
  {"method": "POST", "path": "/api/login", "status": 303,
   "headers": {"Location": "/home"}, "request_headers": {"X-Token": "t"}},
  {"method": "GET", "path": "/hello.txt", "request_headers": {"Accept": "application/json"},
   "headers": {"Content-Type": "application/json"}, "body_file": "hello.json"}
]"#;

/// A server over a docroot with hello.txt and the routes above (body_file next to the JSON).
fn routed() -> (Serve, [tempfile::TempDir; 2]) {
    let root = serve_cli::docroot();
    let conf = tempfile::tempdir().expect("temp dir");
    let routes = conf.path().join("routes.json");
    std::fs::write(&routes, ROUTES).expect("write routes");
    std::fs::write(conf.path().join("hello.json"), b"{\"hello\":\"world\"}").expect("write");
    let server = Serve::dir(root.path(), &["--routes", path_str(&routes)]);
    (server, [root, conf])
}

/// `curl -i` output split into (status line + fields, body).
fn curl_i(args: &[&str]) -> (String, Vec<u8>) {
    let out = curl(&[&["-i"], args].concat());
    assert!(
        out.status.success(),
        "curl {args:?}: {:?}",
        stderr_lines(&out)
    );
    serve_cli::split_response(&out.stdout)
}

#[test]
fn curl_gets_the_canned_replies() {
    let (server, _dirs) = routed();
    let (head, body) = curl_i(&[&server.at("api/x")]);
    assert!(head.starts_with("HTTP/1.1 201 Created"), "{head}");
    assert!(head.contains("X-Made: yes"), "{head}");
    assert_eq!(body, b"made\n");

    let (head, body) = curl_i(&[&server.at("api/q?x=1&page=2")]);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, b"page two\n");

    let (head, _) = curl_i(&["-X", "POST", "-H", "X-Token: t", &server.at("api/login")]);
    assert!(head.starts_with("HTTP/1.1 303"), "{head}");
    assert!(head.contains("Location: /home"), "{head}");

    let json = ["-H", "Accept: application/json"];
    let (head, body) = curl_i(&[&json[..], &[&server.at("hello.txt")]].concat());
    assert!(head.contains("Content-Type: application/json"), "{head}");
    assert_eq!(body, b"{\"hello\":\"world\"}");
}

#[test]
fn unmatched_requests_fall_through_to_files() {
    let (server, _dirs) = routed();
    // Same path, headers not matching: the file.
    let (head, body) = curl_i(&[&server.at("hello.txt")]);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, b"hello, world\n");
    // Query not matching, wrong method, missing request header: no such file, 404 / 405.
    let (head, _) = curl_i(&[&server.at("api/q?page=3")]);
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    let (head, _) = curl_i(&["-X", "DELETE", &server.at("api/x")]);
    assert!(head.starts_with("HTTP/1.1 405"), "{head}");
    let (head, _) = curl_i(&["-X", "POST", &server.at("api/login")]);
    assert!(head.starts_with("HTTP/1.1 405"), "{head}");
}

#[test]
fn a_bad_routes_file_is_exit_2_with_one_line() {
    let root = serve_cli::docroot();
    let conf = tempfile::tempdir().expect("temp dir");
    let routes = conf.path().join("routes.json");
    std::fs::write(&routes, r#"[{"path": "/a", "staus": 201}]"#).expect("write");
    let out = run(Command::new(BIN).args([
        "serve",
        "-p",
        "0",
        "--routes",
        path_str(&routes),
        path_str(root.path()),
    ]));
    assert_eq!(out.status.code(), Some(2));
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("unknown key \"staus\""), "{lines:?}");
}

/// `serve -b A -b B -p 0`: one ready line per address, both on the same port, both serving.
#[test]
fn several_bind_addresses_share_the_port_and_each_get_a_ready_line() {
    use std::io::{BufRead, BufReader};
    let root = serve_cli::docroot();
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--log",
            "off",
            "-p",
            "0",
            "-b",
            "127.0.0.1",
            "-b",
            "127.0.0.2",
        ])
        .arg(root.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("serve starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let lines: Vec<String> = BufReader::new(stdout)
            .lines()
            .take(2)
            .map_while(Result::ok)
            .collect();
        let _ = tx.send(lines);
    });
    let lines = rx.recv_timeout(std::time::Duration::from_secs(20));
    let urls: Vec<String> = lines
        .unwrap_or_default()
        .iter()
        .filter_map(|l| l.split_whitespace().last().map(String::from))
        .collect();
    let ok = urls.len() == 2
        && urls[0].starts_with("http://127.0.0.1:")
        && urls[1] == urls[0].replace("127.0.0.1", "127.0.0.2");
    let bodies: Vec<Vec<u8>> = urls
        .iter()
        .map(|u| curl(&[&format!("{u}hello.txt")]).stdout)
        .collect();
    let _ = child.kill();
    let _ = child.wait();
    assert!(ok, "ready lines: {urls:?}");
    assert!(bodies.iter().all(|b| b == b"hello, world\n"), "{bodies:?}");
}
