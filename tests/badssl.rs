//! The local badssl (`serve --self-signed --write-ca CA.pem --tls-fault NAME`) against real
//! clients that trust CA.pem: rawhttp fetch (exit 60 and the reason), curl (exit 60) and
//! Python's ssl module must all refuse the first four. A self-signed `CA:TRUE` leaf that is
//! CA.pem itself is accepted by all three (as OpenSSL does), refused by webpki alone.

mod serve_cli;

use serve_cli::{curl, fetch, path_str, run, stderr_lines, tls_fault_serve, Serve};
use std::process::Command;

/// Python's default verifying context with only `ca` trusted: `accepted` or the reason.
const PYTHON_CLIENT: &str = r#"
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[1])
try:
    with socket.create_connection(("127.0.0.1", int(sys.argv[3])), timeout=20) as s:
        with ctx.wrap_socket(s, server_hostname=sys.argv[2]):
            print("accepted")
except ssl.SSLCertVerificationError as e:
    print("refused:", e.verify_message)
"#;

fn python(ca: &std::path::Path, host: &str, port: u16) -> String {
    let out = run(Command::new("python3").args([
        "-c",
        PYTHON_CLIENT,
        path_str(ca),
        host,
        &port.to_string(),
    ]));
    assert!(out.status.success(), "python: {:?}", stderr_lines(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// What each client says about one certificate fault.
struct Verdicts {
    saved: bool,
    fetch_code: Option<i32>,
    fetch_stderr: Vec<String>,
    curl_code: Option<i32>,
    python: String,
}

fn verdicts(fault: &str) -> Verdicts {
    let (server, _dirs, ca) = tls_fault_serve(fault);
    let url = server.at_localhost("hello.txt");
    let out_dir = tempfile::tempdir().expect("temp dir");
    let dest = out_dir.path().join("hello.txt");
    let f = fetch(&["--cacert", path_str(&ca), "-o", path_str(&dest), &url]);
    let c = curl(&["--cacert", path_str(&ca), "-o", "/dev/null", &url]);
    Verdicts {
        saved: dest.exists(),
        fetch_code: f.status.code(),
        fetch_stderr: stderr_lines(&f),
        curl_code: c.status.code(),
        python: python(&ca, "localhost", server.addr.port()),
    }
}

#[test]
fn every_client_refuses_the_four_certificate_faults() {
    for (fault, fetch_words, python_words) in [
        (
            "expired",
            "expired on Mon, 01 Jan 2001",
            "certificate has expired",
        ),
        (
            "not-yet-valid",
            "not valid before",
            "certificate is not yet valid",
        ),
        (
            "wrong-host",
            "the certificate is for wrong.host.invalid, not localhost",
            "Hostname mismatch",
        ),
        ("untrusted", "unknown issuer", "unable to get local issuer"),
    ] {
        let v = verdicts(fault);
        assert!(!v.saved, "{fault}: fetch left a file");
        assert_eq!(v.fetch_code, Some(60), "{fault}: {:?}", v.fetch_stderr);
        assert_eq!(v.fetch_stderr.len(), 1, "{fault}: {:?}", v.fetch_stderr);
        let line = &v.fetch_stderr[0];
        assert!(
            line.contains("certificate not trusted") && line.contains(fetch_words),
            "{fault}: {line}"
        );
        assert_eq!(v.curl_code, Some(60), "{fault}: curl");
        assert!(
            v.python.starts_with("refused:") && v.python.contains(python_words),
            "{fault}: python said {}",
            v.python
        );
    }
}

/// A self-signed `CA:TRUE` leaf that is itself CA.pem: OpenSSL (curl, Python) finds the very
/// certificate among its trust anchors and accepts it, and so does rawhttp fetch, which trusts a
/// `--cacert` certificate presented as the leaf. webpki alone refuses a CA certificate used as
/// an end entity: a rustls client trusting the CA only as a root (the fixture's
/// `client_tls_config()`) says 60. README records the split.
#[test]
fn a_self_signed_ca_leaf_is_accepted_through_cacert_and_refused_by_webpki_roots() {
    let v = verdicts("self-signed-leaf");
    assert_eq!(v.fetch_code, Some(0), "{:?}", v.fetch_stderr);
    assert!(v.saved, "fetch saved the body");
    assert_eq!(v.curl_code, Some(0), "curl");
    assert_eq!(v.python, "accepted");
    let server = rawhttp::serve::Server::in_memory()
        .tls_self_signed_leaf()
        .start()
        .expect("start");
    let got = rawhttp::fetch::Request::get(server.url())
        .tls_config(server.client_tls_config())
        .send();
    let err = got.expect_err("webpki roots refuse a CA as end entity");
    assert_eq!(err.exit_code(), 60, "{err}");
}

#[test]
fn the_ca_still_works_for_a_healthy_server() {
    // The same flags without a fault serve normally: the refusals above are the fault's.
    let root = serve_cli::docroot();
    let ca_dir = tempfile::tempdir().expect("temp dir");
    let ca = ca_dir.path().join("CA.pem");
    let args = ["--self-signed", "--write-ca", path_str(&ca), "-p", "0"];
    let server = Serve::start(&[&args[..], &[path_str(root.path())]].concat());
    assert_eq!(python(&ca, "localhost", server.addr.port()), "accepted");
}

#[test]
fn tls_version_limits_what_is_offered() {
    let root = serve_cli::docroot();
    let ca_dir = tempfile::tempdir().expect("temp dir");
    let ca = ca_dir.path().join("CA.pem");
    let args = [
        "--self-signed",
        "--write-ca",
        path_str(&ca),
        "--tls-version",
        "1.2",
        "-p",
        "0",
        path_str(root.path()),
    ];
    let server = Serve::start(&args);
    let url = server.at_localhost("hello.txt");
    let ok = curl(&["--cacert", path_str(&ca), "--tlsv1.2", "-o", "-", &url]);
    assert_eq!(ok.stdout, b"hello, world\n", "{:?}", stderr_lines(&ok));
    let tls13 = curl(&["--cacert", path_str(&ca), "--tlsv1.3", "-o", "-", &url]);
    assert_eq!(tls13.status.code(), Some(35), "TLS 1.3 only client");
}

#[test]
fn tls_version_without_tls_is_a_usage_error() {
    let root = serve_cli::docroot();
    let out = run(Command::new(serve_cli::BIN).args([
        "serve",
        "-p",
        "0",
        "--tls-version",
        "1.2",
        path_str(root.path()),
    ]));
    assert_eq!(out.status.code(), Some(2));
    let lines = stderr_lines(&out);
    assert!(lines[0].contains("--tls-version needs HTTPS"), "{lines:?}");
}
