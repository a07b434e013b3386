//! `rawhttp serve` HTTP semantics over raw sockets: every status code the README names (200, 206 single
//! and multipart, 301, 304, 400s, 403, 404, 405, 412, 414, 416, 431, 501, 505, OPTIONS 204),
//! HEAD, listings in HTML and JSON, escaping, dotfiles, symlinks, --cors and -H.

mod serve_cli;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serve_cli::Serve;

fn serve(dir: &Path, extra: &[&str]) -> Serve {
    Serve::dir(dir, extra)
}

/// `serve` as an unprivileged user: as root, through `setpriv` as nobody (root reads every
/// file, so permission answers are only observable without it).
fn serve_unprivileged(dir: &Path) -> Serve {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return serve(dir, &[]);
    }
    // Spawning fails here without setpriv (util-linux) installed.
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(serve_cli::BIN)
        .arg("serve")
        .arg(dir)
        .args(["-p", "0", "--log", "off"]);
    Serve::spawn(cmd)
}

fn www() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/www"))
}

/// One parsed response.
#[derive(Debug)]
struct Reply {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// Send `raw` and read one response: the head, then Content-Length body bytes, or everything
/// until the server closes when there is no Content-Length (or for HEAD, whose requests here
/// say `Connection: close`).
fn exchange(addr: SocketAddr, raw: &[u8]) -> Reply {
    let mut s = TcpStream::connect(addr).expect("connect");
    // A safety net so a hung server fails the test instead of hanging it (not synchronisation).
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(raw).expect("send");
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        if let Some(want) = wanted_len(&out) {
            if out.len() >= want {
                break;
            }
        }
        let n = s.read(&mut buf).expect("read response");
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    parse_reply(&out)
}

/// Head length + Content-Length, once the head is complete and has one.
fn wanted_len(out: &[u8]) -> Option<usize> {
    let end = out.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&out[..end]);
    let len = head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse::<usize>().ok())?
    })?;
    Some(end + len)
}

fn parse_reply(out: &[u8]) -> Reply {
    let end = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no head in {:?}", String::from_utf8_lossy(out)));
    let head = String::from_utf8_lossy(&out[..end]).into_owned();
    let status = head
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {head:?}"));
    assert!(head.starts_with("HTTP/1.1 "), "{head}");
    Reply {
        status,
        head,
        body: out[end + 4..].to_vec(),
    }
}

/// A GET (or other method) with Host and Connection: close plus `fields`.
fn request(addr: SocketAddr, method: &str, target: &str, fields: &[&str]) -> Reply {
    let mut raw = format!("{method} {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    for f in fields {
        raw.push_str(f);
        raw.push_str("\r\n");
    }
    raw.push_str("\r\n");
    exchange(addr, raw.as_bytes())
}

fn get(addr: SocketAddr, target: &str, fields: &[&str]) -> Reply {
    request(addr, "GET", target, fields)
}

#[test]
fn get_and_head_a_file() {
    let s = serve(www(), &[]);
    let r = get(s.addr, "/hello.txt", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, std::fs::read(www().join("hello.txt")).unwrap());
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(r.header("content-length"), Some("13"));
    assert_eq!(r.header("accept-ranges"), Some("bytes"));
    assert_eq!(r.header("server"), Some("rawhttp"));
    assert!(httpdate::parse_http_date(r.header("date").unwrap()).is_ok());
    assert!(httpdate::parse_http_date(r.header("last-modified").unwrap()).is_ok());
    let etag = r.header("etag").unwrap();
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "strong: {etag}"
    );

    let h = request(s.addr, "HEAD", "/hello.txt", &[]);
    assert_eq!(h.status, 200);
    assert_eq!(h.header("content-length"), Some("13"));
    assert_eq!(h.header("etag"), Some(etag));
    assert!(h.body.is_empty(), "HEAD has no body");

    let j = get(s.addr, "/data.json", &[]);
    assert_eq!(
        j.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    let e = get(s.addr, "/empty.txt", &[]);
    assert_eq!((e.status, e.header("content-length")), (200, Some("0")));
    assert!(e.body.is_empty());
    let e = get(s.addr, "/empty.txt", &["Range: bytes=0-"]);
    assert_eq!(
        (e.status, e.header("content-range")),
        (416, Some("bytes */0"))
    );
    let b = get(s.addr, "/bytes.bin", &[]);
    assert_eq!(b.header("content-type"), Some("application/octet-stream"));
    assert_eq!(b.body, std::fs::read(www().join("bytes.bin")).unwrap());
}

#[test]
fn index_html_and_listings() {
    let s = serve(www(), &[]);
    let r = get(s.addr, "/", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, std::fs::read(www().join("index.html")).unwrap());

    let r = get(s.addr, "/docs", &[]);
    assert_eq!((r.status, r.header("location")), (301, Some("/docs/")));
    let r = get(s.addr, "/docs?sort=name", &[]);
    assert_eq!(
        (r.status, r.header("location")),
        (301, Some("/docs/?sort=name"))
    );
    let r = get(s.addr, "/odd%20names", &[]);
    assert_eq!(r.header("location"), Some("/odd%20names/"));

    let r = get(s.addr, "/docs/", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    let html = String::from_utf8(r.body).unwrap();
    assert!(
        html.contains("<a href=\"./alphabet.txt\">alphabet.txt</a>"),
        "{html}"
    );
    assert!(html.find("alphabet.txt") < html.find("notes.md"), "sorted");

    let r = get(s.addr, "/odd%20names/", &[]);
    let html = String::from_utf8(r.body).unwrap();
    assert!(html.contains(
        "<a href=\"./%3Cb%3E%26amp%3B%20%22q%22.txt\">&lt;b&gt;&amp;amp; &quot;q&quot;.txt</a>"
    ));
    assert!(!html.contains("<b>"), "names are escaped: {html}");
    // The encoded href fetches the file.
    let r = get(s.addr, "/odd%20names/%3Cb%3E%26amp%3B%20%22q%22.txt", &[]);
    assert_eq!((r.status, r.body.as_slice()), (200, &b"odd\n"[..]));

    let r = get(
        s.addr,
        "/docs/",
        &["Accept: text/html;q=0.5, application/json"],
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alphabet.txt", "notes.md"]);
    assert_eq!(v[0]["size"], 27);
    let r = get(
        s.addr,
        "/docs/",
        &["Accept: application/json;q=0.5, text/html"],
    );
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));

    let root = String::from_utf8(get(s.addr, "/odd%20names/../", &[]).body).unwrap();
    assert!(
        root.contains("rawhttp fixture docroot"),
        "dot segments resolve inside"
    );
}

#[test]
fn listing_off_and_hidden_files() {
    let s = serve(www(), &["--no-listing"]);
    assert_eq!(get(s.addr, "/docs/", &[]).status, 404);
    assert_eq!(get(s.addr, "/", &[]).status, 200, "index.html still served");
    assert_eq!(get(s.addr, "/.hidden", &[]).status, 404);
    assert_eq!(get(s.addr, "/%2ehidden", &[]).status, 404);
    let listing = String::from_utf8(get(serve(www(), &[]).addr, "/", &[]).body).unwrap();
    assert!(!listing.contains(".hidden"));

    let s = serve(www(), &["--hidden"]);
    let r = get(s.addr, "/.hidden", &[]);
    assert_eq!((r.status, r.body.as_slice()), (200, &b"hidden\n"[..]));
    let r = get(s.addr, "/docs/", &["Accept: application/json"]);
    assert_eq!(r.status, 200);
}

#[test]
fn single_and_multipart_ranges() {
    let s = serve(www(), &[]);
    let data = std::fs::read(www().join("bytes.bin")).unwrap();
    let r = get(s.addr, "/bytes.bin", &["Range: bytes=10-19"]);
    assert_eq!(r.status, 206);
    assert_eq!(r.header("content-range"), Some("bytes 10-19/4096"));
    assert_eq!(r.header("content-length"), Some("10"));
    assert_eq!(r.body, &data[10..20]);
    let r = get(s.addr, "/bytes.bin", &["Range: bytes=-5"]);
    assert_eq!((r.status, r.body.as_slice()), (206, &data[4091..]));
    let r = get(s.addr, "/bytes.bin", &["Range: bytes=4000-"]);
    assert_eq!(r.header("content-range"), Some("bytes 4000-4095/4096"));

    let r = get(s.addr, "/bytes.bin", &["Range: bytes=0-1, 100-102, -3"]);
    assert_eq!(r.status, 206);
    let ct = r.header("content-type").unwrap();
    let boundary = ct
        .strip_prefix("multipart/byteranges; boundary=")
        .unwrap_or_else(|| panic!("{ct}"));
    assert_eq!(
        r.header("content-length")
            .unwrap()
            .parse::<usize>()
            .unwrap(),
        r.body.len()
    );
    let parts = split_multipart(&r.body, boundary);
    let want: Vec<(String, &[u8])> = vec![
        ("bytes 0-1/4096".into(), &data[0..2]),
        ("bytes 100-102/4096".into(), &data[100..103]),
        ("bytes 4093-4095/4096".into(), &data[4093..]),
    ];
    assert_eq!(parts.len(), 3);
    for ((range, body), (want_range, want_body)) in parts.iter().zip(&want) {
        assert_eq!(range, want_range);
        assert_eq!(body.as_slice(), *want_body);
    }

    // Overlapping and adjacent ranges coalesce into one part.
    let r = get(s.addr, "/bytes.bin", &["Range: bytes=0-9,5-14,15-19"]);
    assert_eq!(
        (r.status, r.header("content-range")),
        (206, Some("bytes 0-19/4096"))
    );

    // 416, unknown units, syntax errors, too many ranges, HEAD.
    let r = get(s.addr, "/bytes.bin", &["Range: bytes=4096-"]);
    assert_eq!(
        (r.status, r.header("content-range")),
        (416, Some("bytes */4096"))
    );
    for ignored in ["Range: pages=1-2", "Range: bytes=9-1", "Range: bytes=x"] {
        let r = get(s.addr, "/bytes.bin", &[ignored]);
        assert_eq!((r.status, r.body.len()), (200, 4096), "{ignored}");
    }
    let many = (0..17)
        .map(|i| format!("{}-{}", i * 10, i * 10))
        .collect::<Vec<_>>();
    let r = get(
        s.addr,
        "/bytes.bin",
        &[&format!("Range: bytes={}", many.join(","))],
    );
    assert_eq!(r.status, 200, "more than MAX_RANGES parts: whole file");
    let r = request(s.addr, "HEAD", "/bytes.bin", &["Range: bytes=0-1"]);
    assert_eq!((r.status, r.header("content-length")), (200, Some("4096")));
}

/// Parts of a multipart/byteranges body: (Content-Range, bytes).
fn split_multipart(body: &[u8], boundary: &str) -> Vec<(String, Vec<u8>)> {
    let delimiter = format!("--{boundary}");
    let text = body;
    let mut parts = Vec::new();
    let mut rest = text;
    assert!(
        rest.starts_with(delimiter.as_bytes()),
        "starts with the delimiter"
    );
    loop {
        rest = &rest[delimiter.len()..];
        if rest.starts_with(b"--\r\n") {
            assert_eq!(rest.len(), 4, "nothing after the close delimiter");
            return parts;
        }
        let head_end = rest.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8_lossy(&rest[..head_end]).into_owned();
        let range = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Range: "))
            .unwrap()
            .to_string();
        let body_start = head_end + 4;
        let next = format!("\r\n{delimiter}");
        let body_len = rest[body_start..]
            .windows(next.len())
            .position(|w| w == next.as_bytes())
            .unwrap();
        parts.push((range, rest[body_start..body_start + body_len].to_vec()));
        rest = &rest[body_start + body_len + 2..];
    }
}

#[test]
fn conditional_requests() {
    let s = serve(www(), &[]);
    let first = get(s.addr, "/hello.txt", &[]);
    let etag = first.header("etag").unwrap().to_string();
    let lm = first.header("last-modified").unwrap().to_string();

    let r = get(s.addr, "/hello.txt", &[&format!("If-None-Match: {etag}")]);
    assert_eq!((r.status, r.body.len()), (304, 0));
    assert_eq!(r.header("etag"), Some(etag.as_str()));
    let r = get(s.addr, "/hello.txt", &[&format!("If-None-Match: W/{etag}")]);
    assert_eq!(r.status, 304, "weak comparison");
    assert_eq!(
        get(s.addr, "/hello.txt", &["If-None-Match: \"x\""]).status,
        200
    );
    assert_eq!(
        get(s.addr, "/hello.txt", &[&format!("If-Modified-Since: {lm}")]).status,
        304
    );
    let r = get(
        s.addr,
        "/hello.txt",
        &["If-None-Match: \"x\"", &format!("If-Modified-Since: {lm}")],
    );
    assert_eq!(
        r.status, 200,
        "If-Modified-Since ignored with If-None-Match"
    );

    assert_eq!(get(s.addr, "/hello.txt", &["If-Match: \"x\""]).status, 412);
    assert_eq!(
        get(s.addr, "/hello.txt", &[&format!("If-Match: {etag}")]).status,
        200
    );
    let past = "If-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT";
    assert_eq!(get(s.addr, "/hello.txt", &[past]).status, 412);
    let r = request(
        s.addr,
        "DELETE",
        "/hello.txt",
        &[&format!("If-None-Match: {etag}")],
    );
    assert_eq!(r.status, 405, "method checked first");

    let r = get(
        s.addr,
        "/hello.txt",
        &["Range: bytes=0-4", &format!("If-Range: {etag}")],
    );
    assert_eq!((r.status, r.body.as_slice()), (206, &b"hello"[..]));
    let r = get(
        s.addr,
        "/hello.txt",
        &["Range: bytes=0-4", &format!("If-Range: {lm}")],
    );
    assert_eq!(r.status, 206);
    let r = get(
        s.addr,
        "/hello.txt",
        &["Range: bytes=0-4", "If-Range: \"old\""],
    );
    assert_eq!((r.status, r.body.len()), (200, 13));
}

#[test]
fn methods() {
    let s = serve(www(), &[]);
    let r = request(s.addr, "OPTIONS", "*", &[]);
    assert_eq!(
        (r.status, r.header("allow")),
        (204, Some("GET, HEAD, OPTIONS"))
    );
    let r = request(s.addr, "OPTIONS", "/hello.txt", &[]);
    assert_eq!(r.status, 204);
    for method in ["POST", "PUT", "DELETE", "PATCH", "get"] {
        let r = request(s.addr, method, "/hello.txt", &["Content-Length: 0"]);
        assert_eq!(
            (r.status, r.header("allow")),
            (405, Some("GET, HEAD, OPTIONS")),
            "{method}"
        );
    }
}

#[test]
fn strict_input_gets_400() {
    let s = serve(www(), &[]);
    let cases: &[&[u8]] = &[
        b"GET /hello.txt HTTP/1.1\r\nConnection: close\r\n\r\n",
        b"GET /hello.txt HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        b"GET /hello.txt HTTP/1.1\r\nHost : a\r\n\r\n",
        b"GET /hello.txt HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n",
        b"GET /hello.txt HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n",
        b"GET /hel\x01lo.txt HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /hello.txt HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n",
        b"GET /hello.txt HTTP/1.1\nHost: a\n\n",
        b"GET  /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /hello.txt HTTP/x\r\nHost: a\r\n\r\n",
        b"GET /hello.txt%00 HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /hello%zz.txt HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /docs%2falphabet.txt HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /docs\\alphabet.txt HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /%c0%ae%c0%ae/ HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET hello.txt HTTP/1.1\r\nHost: a\r\n\r\n",
        b"POST /hello.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        b"POST /hello.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"POST /hello.txt HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\na",
    ];
    for raw in cases {
        let r = exchange(s.addr, raw);
        assert_eq!(r.status, 400, "{:?}", String::from_utf8_lossy(raw));
    }
}

#[test]
fn limits_and_versions() {
    let s = serve(www(), &[]);
    let long = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(9000));
    assert_eq!(exchange(s.addr, long.as_bytes()).status, 414);
    // No CRLF at all yet, already past the cap: 414 without waiting for the line to end.
    let partial = format!("GET /{}", "a".repeat(9000));
    assert_eq!(exchange(s.addr, partial.as_bytes()).status, 414);
    let big = format!(
        "GET / HTTP/1.1\r\nHost: a\r\nX: {}\r\n\r\n",
        "v".repeat(33 * 1024)
    );
    assert_eq!(exchange(s.addr, big.as_bytes()).status, 431);
    let mut many = String::from("GET / HTTP/1.1\r\nHost: a\r\n");
    for i in 0..100 {
        many.push_str(&format!("X-{i}: v\r\n"));
    }
    many.push_str("\r\n");
    assert_eq!(exchange(s.addr, many.as_bytes()).status, 431);

    let te = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n";
    assert_eq!(exchange(s.addr, te).status, 501);
    for version in ["HTTP/2.0", "HTTP/1.2", "HTTP/3"] {
        let raw = format!("GET / {version}\r\nHost: a\r\n\r\n");
        assert_eq!(exchange(s.addr, raw.as_bytes()).status, 505, "{version}");
    }
    // HTTP/1.0 needs no Host.
    let r = exchange(s.addr, b"GET /hello.txt HTTP/1.0\r\n\r\n");
    assert_eq!((r.status, r.body.len()), (200, 13));
}

#[test]
fn not_found_forbidden_and_symlinks() {
    let top = tempfile::tempdir().unwrap();
    let root = top.path().join("root");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("inside.txt"), b"inside").unwrap();
    std::fs::write(top.path().join("outside.txt"), b"OUTSIDE").unwrap();
    std::os::unix::fs::symlink("inside.txt", root.join("link-in")).unwrap();
    std::os::unix::fs::symlink("../outside.txt", root.join("link-out")).unwrap();
    std::os::unix::fs::symlink(top.path(), root.join("dir-out")).unwrap();

    let s = serve(&root, &[]);
    assert_eq!(get(s.addr, "/missing.txt", &[]).status, 404);
    assert_eq!(get(s.addr, "/inside.txt/", &[]).status, 404);
    let r = get(s.addr, "/link-in", &[]);
    assert_eq!((r.status, r.body.as_slice()), (200, &b"inside"[..]));
    for target in [
        "/link-out",
        "/dir-out/outside.txt",
        "/../outside.txt",
        "/%2e%2e/outside.txt",
    ] {
        let r = get(s.addr, target, &[]);
        assert_eq!(r.status, 404, "{target}");
        assert!(!r.body.windows(7).any(|w| w == b"OUTSIDE"), "{target}");
    }

    let s = serve(&root, &["--follow-symlinks"]);
    let r = get(s.addr, "/link-out", &[]);
    assert_eq!((r.status, r.body.as_slice()), (200, &b"OUTSIDE"[..]));
    assert_eq!(
        get(s.addr, "/../outside.txt", &[]).status,
        404,
        "still no .."
    );
}

#[test]
fn cors_and_extra_headers() {
    let s = serve(
        www(),
        &[
            "--cors",
            "-H",
            "X-Fixture: yes",
            "-H",
            "Cache-Control: no-store",
        ],
    );
    let r = get(s.addr, "/hello.txt", &[]);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(r.header("x-fixture"), Some("yes"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let r = get(s.addr, "/missing", &[]);
    assert_eq!(r.header("x-fixture"), Some("yes"), "on errors too");
}

#[test]
fn keep_alive_serves_several_answers_in_order() {
    let s = serve(www(), &[]);
    let mut sock = TcpStream::connect(s.addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let raw = "GET /hello.txt HTTP/1.1\r\nHost: a\r\n\r\n\
               HEAD /bytes.bin HTTP/1.1\r\nHost: a\r\n\r\n\
               GET /missing HTTP/1.1\r\nHost: a\r\n\r\n\
               GET /hello.txt HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1\r\nConnection: close\r\n\r\n";
    sock.write_all(raw.as_bytes()).unwrap();
    let mut all = Vec::new();
    sock.read_to_end(&mut all).unwrap();
    let text = String::from_utf8_lossy(&all);
    let statuses: Vec<&str> = text
        .match_indices("HTTP/1.1 ")
        .map(|(i, _)| &text[i + 9..i + 12])
        .collect();
    assert_eq!(statuses, ["200", "200", "404", "206"], "{text}");
    assert!(text.ends_with("\r\n\r\nhe"), "{text}");
}

#[test]
fn utf8_names_raw_or_encoded() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("café.txt"), b"cafe").unwrap();
    let s = serve(dir.path(), &[]);
    let r = get(s.addr, "/caf%C3%A9.txt", &[]);
    assert_eq!((r.status, r.body.as_slice()), (200, &b"cafe"[..]));
    let r = exchange(
        s.addr,
        "GET /café.txt HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".as_bytes(),
    );
    assert_eq!((r.status, r.body.as_slice()), (200, &b"cafe"[..]));
    // Not UTF-8 (raw or encoded): 400.
    let r = exchange(s.addr, b"GET /caf\xe9.txt HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(r.status, 400);
    let r = get(s.addr, "/caf%E9.txt", &[]);
    assert_eq!(r.status, 400);
    let listing = String::from_utf8(get(s.addr, "/", &[]).body).unwrap();
    assert!(
        listing.contains("<a href=\"./caf%C3%A9.txt\">café.txt</a>"),
        "{listing}"
    );
}

#[test]
fn unreadable_files_and_directories_are_403() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let mode = |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m));
    mode(dir.path(), 0o755).unwrap();
    std::fs::write(dir.path().join("open.txt"), b"open").unwrap();
    mode(&dir.path().join("open.txt"), 0o644).unwrap();
    std::fs::write(dir.path().join("locked.txt"), b"locked").unwrap();
    mode(&dir.path().join("locked.txt"), 0o000).unwrap();
    std::fs::create_dir(dir.path().join("locked-dir")).unwrap();
    std::fs::write(dir.path().join("locked-dir/x.txt"), b"x").unwrap();
    mode(&dir.path().join("locked-dir"), 0o000).unwrap();

    let s = serve_unprivileged(dir.path());
    let r = get(s.addr, "/open.txt", &[]);
    assert_eq!((r.status, r.body.as_slice()), (200, &b"open"[..]));
    for target in ["/locked.txt", "/locked-dir/x.txt", "/locked-dir/"] {
        let r = get(s.addr, target, &[]);
        assert_eq!(r.status, 403, "{target}");
        assert!(!r.body.windows(6).any(|w| w == b"locked"), "{target}");
    }
    mode(&dir.path().join("locked-dir"), 0o755).unwrap(); // let TempDir clean up
}

#[test]
fn absolute_form_and_http_1_0_keep_alive() {
    let s = serve(www(), &[]);
    let r = get(s.addr, "http://example.test/hello.txt", &[]);
    assert_eq!((r.status, r.body.len()), (200, 13));
    let r = get(s.addr, "http://example.test/../hello.txt", &[]);
    assert_eq!(r.status, 404);

    // An HTTP/1.0 client asking for keep-alive is told so, and the connection stays usable.
    let mut sock = TcpStream::connect(s.addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    sock.write_all(b"GET /hello.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        .unwrap();
    let mut first = vec![0u8; 4096];
    let mut got = 0;
    while !first[..got].ends_with(b"hello, world\n") {
        let n = sock.read(&mut first[got..]).unwrap();
        assert!(
            n > 0,
            "closed: {:?}",
            String::from_utf8_lossy(&first[..got])
        );
        got += n;
    }
    let reply = parse_reply(&first[..got]);
    assert_eq!(reply.header("connection"), Some("keep-alive"));
    sock.write_all(b"GET /hello.txt HTTP/1.0\r\n\r\n").unwrap();
    let mut rest = Vec::new();
    sock.read_to_end(&mut rest).unwrap();
    let second = parse_reply(&rest);
    assert_eq!((second.status, second.body.len()), (200, 13));
    assert_eq!(second.header("connection"), Some("close"));
}
