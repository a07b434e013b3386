//! Interop: files served by real peers (`python3 -m http.server`, and `rawhttp serve` over http
//! and https) fetched by rawhttp and by curl come out byte-identical, and identical to the
//! source files.

mod serve_cli;
mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};

use serve_cli::{first_line, Serve};
use support::*;

/// `python3 -m http.server` on 127.0.0.1, any free port; killed (by its handle) when dropped.
struct PythonServer {
    child: Child,
    port: u16,
}

impl PythonServer {
    fn start(root: &Path) -> PythonServer {
        // -u: unbuffered, so the "Serving HTTP on ... port N" line arrives as soon as it listens.
        let mut child = Command::new("python3")
            .args([
                "-u",
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                "0",
                "--directory",
            ])
            .arg(root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m http.server (is python3 installed?)");
        let line = first_line(&mut child);
        let Some(port) = line.as_deref().and_then(parse_port) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no port in python's ready line {line:?}");
        };
        PythonServer { child, port }
    }

    fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for PythonServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The port in `Serving HTTP on 127.0.0.1 port 43121 (http://127.0.0.1:43121/) ...`.
fn parse_port(line: &str) -> Option<u16> {
    let after = line.split(" port ").nth(1)?;
    after.split_whitespace().next()?.parse().ok()
}

/// Deterministic pseudo-random bytes (xorshift64*), so a failure reproduces.
fn random_bytes(len: usize, mut seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        out.extend_from_slice(&seed.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

#[test]
fn python_served_files_match_between_rawhttp_and_curl() {
    let root = tempdir();
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("empty.bin", Vec::new()),
        ("small.txt", b"hello, interop\n".to_vec()),
        ("odd.bin", random_bytes(65_537, 7)),
        ("big.bin", random_bytes(1 << 20, 42)),
    ];
    for (name, bytes) in &files {
        std::fs::write(root.path().join(name), bytes).expect("write source file");
    }
    let server = PythonServer::start(root.path());
    assert_same_as_curl(&server.url(""), &files, &[]);
}

#[test]
fn python_missing_file_is_22_like_curl_fail() {
    let root = tempdir();
    let server = PythonServer::start(root.path());
    let work = tempdir();
    let url = server.url("nope.txt");
    fetch(work.path(), &["-o", "out.txt", &url]).assert_fails(22, Some(&url));
    assert!(names(work.path()).is_empty());
}

/// `rawhttp serve -p 0 [--self-signed --write-ca CA] ROOT` (see tests/serve_cli/mod.rs).
fn rawhttp_serve(root: &Path, write_ca: Option<&Path>) -> Serve {
    let (root, ca) = (root.to_string_lossy(), write_ca.map(Path::to_string_lossy));
    let mut args = vec!["-p", "0"];
    if let Some(ca) = ca.as_deref() {
        args.extend(["--self-signed", "--write-ca", ca]);
    }
    args.push(&root);
    Serve::start(&args)
}

/// Fetch every file from `base` with rawhttp and curl (`extra` flags for both) and compare.
fn assert_same_as_curl(base: &str, files: &[(&str, Vec<u8>)], extra: &[&str]) {
    let work = tempdir();
    for (name, source) in files {
        let url = format!("{base}{name}");
        let ours = format!("rawhttp-{name}");
        let mut args = extra.to_vec();
        args.extend_from_slice(&["-o", &ours, &url]);
        fetch(work.path(), &args).assert_ok();
        let theirs = format!("curl-{name}");
        let status = Command::new("curl")
            .args(["-sS", "--fail"])
            .args(extra)
            .args(["-o", &theirs, &url])
            .current_dir(work.path())
            .status()
            .expect("run curl");
        assert!(status.success(), "curl failed on {url}");
        let ours = read(work.path(), &ours).expect("rawhttp output");
        let theirs = read(work.path(), &theirs).expect("curl output");
        assert!(
            ours == theirs,
            "{name}: rawhttp and curl differ ({} vs {} bytes)",
            ours.len(),
            theirs.len()
        );
        assert!(ours == *source, "{name}: differs from the source file");
    }
    assert_no_part_files(work.path());
}

fn sample_files(root: &Path) -> Vec<(&'static str, Vec<u8>)> {
    let files = vec![
        ("empty.bin", Vec::new()),
        ("small.txt", b"hello, interop\n".to_vec()),
        ("big.bin", random_bytes(1 << 20, 99)),
    ];
    for (name, bytes) in &files {
        std::fs::write(root.join(name), bytes).expect("write source file");
    }
    files
}

#[test]
fn rawhttp_serve_files_match_between_rawhttp_and_curl_over_http() {
    let root = tempdir();
    let files = sample_files(root.path());
    let server = rawhttp_serve(root.path(), None);
    assert!(server.url.starts_with("http://"), "{}", server.url);
    assert_same_as_curl(&server.url, &files, &[]);
}

#[test]
fn rawhttp_serve_files_match_between_rawhttp_and_curl_over_https() {
    let root = tempdir();
    let files = sample_files(root.path());
    let ca_dir = tempdir();
    let ca = ca_dir.path().join("ca.pem");
    let server = rawhttp_serve(root.path(), Some(&ca));
    assert!(server.url.starts_with("https://"), "{}", server.url);
    assert_same_as_curl(&server.url, &files, &["--cacert", &ca.to_string_lossy()]);
}
