//! Real HTTP clients against `rawhttp serve`: curl, wget and Python's urllib fetch files
//! byte-identical, over keep-alive where the client reuses connections.

mod serve_cli;

use serve_cli::Serve;
use std::path::Path;
use std::process::{Command, Stdio};

/// A `rawhttp serve` child (the shared helper's, killed on drop) and its docroot.
struct Served {
    _serve: Serve,
    url: String,
    dir: tempfile::TempDir,
}

/// Files whose sizes straddle the inline-body and sendfile paths.
const FILES: [(&str, usize); 5] = [
    ("empty.txt", 0),
    ("small.txt", 100),
    ("16k.bin", 16 * 1024),
    ("16k1.bin", 16 * 1024 + 1),
    ("3m.bin", 3 * 1024 * 1024 + 7),
];

fn serve(extra: &[&str]) -> Served {
    let dir = tempfile::tempdir().unwrap();
    for (name, len) in FILES {
        let bytes: Vec<u8> = (0..len).map(|i| (i * 13 % 256) as u8).collect();
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    let serve = Serve::dir(dir.path(), extra);
    let url = serve.url.clone();
    Served {
        _serve: serve,
        url,
        dir,
    }
}

fn tool_available(name: &str) -> bool {
    Command::new(name)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn assert_same(served: &Path, fetched: &Path) {
    let a = std::fs::read(served).unwrap();
    let b = std::fs::read(fetched).unwrap();
    assert!(
        a == b,
        "{} differs ({} vs {} bytes)",
        fetched.display(),
        a.len(),
        b.len()
    );
}

#[test]
fn curl_fetches_every_file_byte_identical_on_one_connection() {
    assert!(tool_available("curl"), "curl is required");
    let s = serve(&[]);
    let out = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--fail", "-w", "%{num_connects}\n"]);
    for (name, _) in FILES {
        cmd.arg(format!("{}{name}", s.url))
            .arg("-o")
            .arg(out.path().join(name));
    }
    let result = cmd.output().unwrap();
    assert!(result.status.success(), "{result:?}");
    let connects: Vec<String> = String::from_utf8_lossy(&result.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    // Keep-alive: curl opened one connection and reused it for the rest.
    assert_eq!(
        connects.iter().filter(|c| *c == "1").count(),
        1,
        "{connects:?}"
    );
    for (name, _) in FILES {
        assert_same(&s.dir.path().join(name), &out.path().join(name));
    }
}

#[test]
fn wget_fetches_files_byte_identical() {
    assert!(tool_available("wget"), "wget is required");
    let s = serve(&[]);
    let out = tempfile::tempdir().unwrap();
    for (name, _) in FILES {
        let status = Command::new("wget")
            .arg("-q")
            .arg("-O")
            .arg(out.path().join(name))
            .arg(format!("{}{name}", s.url))
            .status()
            .unwrap();
        assert!(status.success(), "wget {name}");
        assert_same(&s.dir.path().join(name), &out.path().join(name));
    }
}

#[test]
fn python_urllib_fetches_files_byte_identical() {
    assert!(tool_available("python3"), "python3 is required");
    let s = serve(&[]);
    let out = tempfile::tempdir().unwrap();
    let script = "import sys, urllib.request\n\
                  base, dest = sys.argv[1], sys.argv[2]\n\
                  for name in sys.argv[3:]:\n\
                  \x20   with urllib.request.urlopen(base + name) as r:\n\
                  \x20       assert r.status == 200, r.status\n\
                  \x20       open(dest + '/' + name, 'wb').write(r.read())\n";
    let status = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&s.url)
        .arg(out.path())
        .args(FILES.map(|f| f.0))
        .status()
        .unwrap();
    assert!(status.success());
    for (name, _) in FILES {
        assert_same(&s.dir.path().join(name), &out.path().join(name));
    }
}

#[test]
fn curl_over_self_signed_tls_fetches_byte_identical() {
    assert!(tool_available("curl"), "curl is required");
    let ca_dir = tempfile::tempdir().unwrap();
    let ca = ca_dir.path().join("ca.pem");
    let s = serve(&["--self-signed", "--write-ca", ca.to_str().unwrap()]);
    assert!(s.url.starts_with("https://127.0.0.1:"), "{}", s.url);
    let out = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--fail", "--cacert"]).arg(&ca);
    for (name, _) in FILES {
        cmd.arg(format!("{}{name}", s.url))
            .arg("-o")
            .arg(out.path().join(name));
    }
    let result = cmd.output().unwrap();
    assert!(result.status.success(), "{result:?}");
    for (name, _) in FILES {
        assert_same(&s.dir.path().join(name), &out.path().join(name));
    }
}

#[test]
fn slow_readers_get_every_byte_over_plain_and_tls() {
    assert!(tool_available("curl"), "curl is required");
    let ca_dir = tempfile::tempdir().unwrap();
    let ca = ca_dir.path().join("ca.pem");
    let plain = serve(&[]);
    let tls = serve(&["--self-signed", "--write-ca", ca.to_str().unwrap()]);
    for s in [&plain, &tls] {
        let out = tempfile::tempdir().unwrap();
        let dest = out.path().join("3m.bin");
        // A throttled reader fills the socket buffers: the server must carry partial writes
        // (sendfile offsets, rustls records) across many writable edges.
        let status = Command::new("curl")
            .args(["-sS", "--fail", "--limit-rate", "4M", "--cacert"])
            .arg(&ca)
            .arg(format!("{}3m.bin", s.url))
            .arg("-o")
            .arg(&dest)
            .status()
            .unwrap();
        assert!(status.success(), "{}", s.url);
        assert_same(&s.dir.path().join("3m.bin"), &dest);
    }
}
