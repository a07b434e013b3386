//! Path safety of `rawhttp serve` end to end: a generated corpus of thousands of traversal
//! targets (encoded dots and separators, double encoding, overlong UTF-8, NUL, absolute-form,
//! symlinks that leave the root) against a real server, with a sentinel file just outside the
//! root: zero responses may contain the sentinel, none may be a 5xx, and the server must still
//! answer afterwards.

mod serve_cli;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use serve_cli::Serve;

/// The server under test (see tests/serve_cli/mod.rs).
fn serve(dir: &Path, extra: &[&str]) -> Serve {
    Serve::dir(dir, extra)
}

/// The secret just outside the root; random per run so no fixture can contain it by chance.
fn sentinel() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("SENTINEL-{nanos:x}-{}", std::process::id())
}

/// top/sentinel.txt and top/rootx/sentinel.txt (a sibling whose name extends the root's, to
/// catch string-prefix checks) outside; top/root served, with symlinks pointing out of it.
fn layout(secret: &str, links: bool) -> tempfile::TempDir {
    let top = tempfile::tempdir().unwrap();
    let root = top.path().join("root");
    std::fs::create_dir_all(root.join("a/b")).unwrap();
    std::fs::create_dir_all(top.path().join("rootx")).unwrap();
    std::fs::write(top.path().join("sentinel.txt"), secret).unwrap();
    std::fs::write(top.path().join("rootx/sentinel.txt"), secret).unwrap();
    std::fs::write(root.join("index.html"), b"root index").unwrap();
    std::fs::write(root.join("a/b/c.txt"), b"c").unwrap();
    if !links {
        return top;
    }
    let link = |to: &str, at: &str| std::os::unix::fs::symlink(to, root.join(at)).unwrap();
    link("..", "escape");
    link("../sentinel.txt", "a-link");
    link("../../../sentinel.txt", "a/b/up-link");
    link("../rootx", "sib");
    link(
        top.path().join("sentinel.txt").to_str().unwrap(),
        "abs-link",
    );
    top
}

/// Thousands of targets: dot spellings x separator spellings x depth x what follows, in
/// origin-form and absolute-form, plus symlink routes out of the root.
fn corpus() -> Vec<String> {
    let dots = [
        "..",
        "%2e%2e",
        "%2E%2E",
        "%2e.",
        ".%2e",
        "%2E.",
        ".%2E",
        "%252e%252e",
        "%c0%ae%c0%ae",
        "%e0%80%ae%e0%80%ae",
        "%c0%2e%c0%2e",
        "..%00",
        "%2e%2e%00",
        "...",
        ".",
        "%2e",
        "..%20",
        "..;",
        "%u002e%u002e",
    ];
    let seps = [
        "/", "%2f", "%2F", "\\", "%5c", "%5C", "//", "/./", "%252f", "%c0%af", "/%2e/", "%00/",
    ];
    let tails = [
        "sentinel.txt",
        "rootx/sentinel.txt",
        "root/../sentinel.txt",
        "sentinel.txt%00.html",
        "sentinel.txt?x=/../..",
        "sentinel.txt#x",
        "%73entinel.txt",
        "root/escape/sentinel.txt",
    ];
    let mut out = Vec::new();
    for dot in dots {
        for sep in seps {
            for depth in 1..=4 {
                for tail in tails {
                    let path = format!("/{}{tail}", format!("{dot}{sep}").repeat(depth));
                    if depth <= 2 {
                        out.push(format!("http://127.0.0.1{path}"));
                    }
                    out.push(path);
                }
            }
        }
    }
    let symlink_routes = [
        "/escape/sentinel.txt",
        "/escape/rootx/sentinel.txt",
        "/escape/root/escape/sentinel.txt",
        "/a-link",
        "/a/b/up-link",
        "/sib/sentinel.txt",
        "/abs-link",
        "/escape/",
        "/sib/",
        "/escape",
        "/%65scape/sentinel.txt",
        "/a/../escape/sentinel.txt",
        "/a/b/../../sib/sentinel.txt",
    ];
    for route in symlink_routes {
        out.push(route.to_string());
        out.push(format!("http://127.0.0.1{route}"));
        out.push(format!("//{}", &route[1..]));
    }
    out.push("*".to_string());
    out.push(format!("/{}", "../".repeat(2000)));
    out.push(format!("/{}sentinel.txt", "%2e%2e/".repeat(1000)));
    out
}

/// A keep-alive client that reconnects whenever the server closes.
struct Client {
    addr: SocketAddr,
    sock: Option<TcpStream>,
}

impl Client {
    /// (status, whole response bytes) for a GET of `target`.
    fn get(&mut self, target: &str) -> (u16, Vec<u8>) {
        let raw = format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        for _attempt in 0..2 {
            let sock = self.sock.get_or_insert_with(|| {
                let s = TcpStream::connect(self.addr).expect("connect");
                // Safety net against a hung server, not synchronisation.
                s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                s
            });
            if sock.write_all(raw.as_bytes()).is_ok() {
                if let Some(reply) = read_reply(sock) {
                    let closes = String::from_utf8_lossy(&reply).contains("Connection: close");
                    if closes {
                        self.sock = None;
                    }
                    let status = std::str::from_utf8(&reply[9..12]).unwrap().parse().unwrap();
                    return (status, reply);
                }
            }
            self.sock = None; // closed under us (after an earlier error reply): reconnect once
        }
        panic!("no response for {target:?}");
    }
}

/// One response framed by Content-Length; None when the connection closed before any byte.
fn read_reply(sock: &mut TcpStream) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        if let Some(end) = out.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&out[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap());
            if out.len() >= end + 4 + len {
                return Some(out);
            }
        }
        match sock.read(&mut buf) {
            Ok(0) | Err(_) if out.is_empty() => return None,
            Ok(0) => panic!("closed mid-response: {:?}", String::from_utf8_lossy(&out)),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => panic!("read: {e}"),
        }
    }
}

fn run_corpus(extra: &[&str], links: bool) -> BTreeMap<u16, usize> {
    let secret = sentinel();
    let top = layout(&secret, links);
    let mut server = serve(&top.path().join("root"), extra);
    let targets = corpus();
    assert!(targets.len() > 5000, "{} targets", targets.len());
    let mut client = Client {
        addr: server.addr,
        sock: None,
    };
    let mut statuses = BTreeMap::new();
    for target in &targets {
        let (status, reply) = client.get(target);
        assert!(
            !reply.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "leak for {target:?}"
        );
        assert!(status < 500, "{status} for {target:?}");
        *statuses.entry(status).or_insert(0) += 1;
    }
    // Alive and still serving afterwards.
    let (status, reply) = Client {
        addr: server.addr,
        sock: None,
    }
    .get("/index.html");
    assert_eq!(status, 200);
    assert!(reply.ends_with(b"root index"));
    assert!(server.is_running(), "server exited");
    statuses
}

#[test]
fn generated_traversal_corpus_never_leaks_the_sentinel() {
    let statuses = run_corpus(&[], true);
    eprintln!("statuses: {statuses:?}");
    // Refusals of both kinds were exercised (a corpus that only hit one path proves little).
    assert!(
        statuses.get(&400).is_some_and(|&n| n > 1000),
        "{statuses:?}"
    );
    assert!(
        statuses.get(&404).is_some_and(|&n| n > 1000),
        "{statuses:?}"
    );
}

#[test]
fn hidden_files_allowed_still_never_leaks() {
    // --hidden lifts the dotfile rule, which must not open any other door.
    run_corpus(&["--hidden"], true);
}

#[test]
fn dot_segments_alone_never_escape_even_when_following_symlinks() {
    // --follow-symlinks opens with plain openat (no RESOLVE_BENEATH): only the lexical
    // resolution in `files` stands between these targets and the sentinel.
    run_corpus(&["--follow-symlinks", "--hidden"], false);
}
