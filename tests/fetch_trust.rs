//! Trust as a new user meets it: a self-signed certificate made with `openssl req -x509` (it
//! carries `CA:TRUE`) given with `--cacert` is accepted when the server presents exactly that
//! certificate, as curl and Python accept it, with host names and dates still checked; and every
//! exit-60 line says in English why (the names a certificate holds, the date it expired).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use rcgen::{date_time_ymd, BasicConstraints, CertificateParams, IsCa, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use support::*;

const BODY: &[u8] = b"hello, world\n";

/// `openssl req -x509` in `dir` for `san` (e.g. `DNS:localhost,IP:127.0.0.1`): returns the
/// certificate and key paths. Checks the scenario: the certificate says `CA:TRUE`.
fn openssl_self_signed(dir: &Path, stem: &str, san: &str) -> (PathBuf, PathBuf) {
    let cert = dir.join(format!("{stem}.pem"));
    let key = dir.join(format!("{stem}-key.pem"));
    let status = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
        .args(["-subj", "/CN=rawhttp test", "-addext"])
        .arg(format!("subjectAltName={san}"))
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("run openssl (installed by .ci/run)");
    assert!(status.status.success(), "openssl req: {status:?}");
    let text = Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in"])
        .arg(&cert)
        .output()
        .expect("openssl x509");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("CA:TRUE"), "openssl made no CA:TRUE: {text}");
    (cert, key)
}

/// A TLS replay server presenting the PEM certificate and key at these paths.
fn serve_pem(cert: &Path, key: &Path) -> ReplayServer {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .expect("cert file")
        .collect::<Result<_, _>>()
        .expect("cert PEM");
    let key = PrivateKeyDer::from_pem_file(key).expect("key PEM");
    ReplayServer::start(
        vec![("/", Reply::file("length.http"))],
        Some(config(certs, key)),
    )
}

fn config(certs: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> Arc<ServerConfig> {
    let config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server config");
    Arc::new(config)
}

/// A self-signed `CA:TRUE` certificate from rcgen, valid `from`..`until` (years), written to
/// `dir/stem.pem`, and a server presenting it. openssl 3.0's `req` cannot back-date.
fn rcgen_self_signed_ca(dir: &Path, stem: &str, from: i32, until: i32) -> (PathBuf, ReplayServer) {
    let key = KeyPair::generate().expect("key");
    let mut params =
        CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.not_before = date_time_ymd(from, 1, 1);
    params.not_after = date_time_ymd(until, 1, 1);
    let cert = params.self_signed(&key).expect("self-signed");
    let path = dir.join(format!("{stem}.pem"));
    std::fs::write(&path, cert.pem()).expect("write pem");
    let key = PrivateKeyDer::try_from(key.serialize_der()).expect("key der");
    let server = ReplayServer::start(
        vec![("/", Reply::file("length.http"))],
        Some(config(vec![cert.der().clone()], key)),
    );
    (path, server)
}

fn fetch_with_cacert(dir: &Path, cacert: &Path, url: &str) -> Outcome {
    let ca = cacert.to_string_lossy();
    fetch(dir, &["--cacert", &ca, "-o", "out.txt", url])
}

/// The one stderr line of a failed run, checked to contain `want` and no Debug dump.
fn assert_refusal_says(out: &Outcome, url: &str, want: &str) {
    out.assert_fails(60, Some(url));
    let line = out.stderr.trim_end();
    assert!(
        line.starts_with("rawhttp: certificate not trusted: "),
        "{line}"
    );
    assert!(line.contains(want), "{line:?} should say {want:?}");
    for debug in ["Error(", "Context", "Some(", "\"", "{"] {
        assert!(!line.contains(debug), "Debug dump in {line:?}");
    }
}

#[test]
fn an_openssl_self_signed_certificate_in_cacert_is_trusted_as_curl_and_python_do() {
    let dir = tempdir();
    let (cert, key) = openssl_self_signed(dir.path(), "self", "DNS:localhost,IP:127.0.0.1");
    let server = serve_pem(&cert, &key);
    for url in [
        server.url("/"),
        format!("https://localhost:{}/", server.port()),
    ] {
        let out = fetch_with_cacert(dir.path(), &cert, &url);
        out.assert_ok();
        assert_eq!(read(dir.path(), "out.txt").as_deref(), Some(BODY));
        std::fs::remove_file(dir.path().join("out.txt")).expect("remove");
        let curl = Command::new("curl")
            .args(["-sS", "--cacert"])
            .arg(&cert)
            .arg(&url)
            .output()
            .expect("run curl");
        assert!(curl.status.success(), "curl refused: {curl:?}");
        assert_eq!(curl.stdout, BODY);
        let python = Command::new("python3")
            .args(["-c", PYTHON_GET])
            .arg(&cert)
            .arg(&url)
            .output()
            .expect("run python3");
        assert!(python.status.success(), "python refused: {python:?}");
        assert_eq!(python.stdout, BODY);
    }
}

/// Python's own TLS stack (OpenSSL) with the certificate as its only CA file.
const PYTHON_GET: &str = "import ssl, sys, urllib.request\n\
ctx = ssl.create_default_context(cafile=sys.argv[1])\n\
sys.stdout.buffer.write(urllib.request.urlopen(sys.argv[2], context=ctx).read())\n";

#[test]
fn a_pinned_certificate_is_still_checked_for_the_host_name() {
    let dir = tempdir();
    let (cert, key) = openssl_self_signed(dir.path(), "named", "DNS:localhost");
    let server = serve_pem(&cert, &key);
    let url = server.url("/");
    let out = fetch_with_cacert(dir.path(), &cert, &url);
    assert_refusal_says(
        &out,
        &url,
        "the certificate is for localhost, not 127.0.0.1",
    );
    assert!(names(dir.path()).iter().all(|n| n != "out.txt"));
    let curl = Command::new("curl")
        .args(["-sS", "--cacert"])
        .arg(&cert)
        .arg(&url)
        .output()
        .expect("run curl");
    assert_eq!(curl.status.code(), Some(60), "curl agrees: {curl:?}");
}

#[test]
fn a_pinned_certificate_is_still_checked_for_its_dates() {
    let dir = tempdir();
    let (expired, server) = rcgen_self_signed_ca(dir.path(), "expired", 2000, 2001);
    let url = server.url("/");
    let out = fetch_with_cacert(dir.path(), &expired, &url);
    assert_refusal_says(&out, &url, "expired on Mon, 01 Jan 2001 00:00:00 GMT");
    let (future, server) = rcgen_self_signed_ca(dir.path(), "future", 2990, 2999);
    let url = server.url("/");
    let out = fetch_with_cacert(dir.path(), &future, &url);
    assert_refusal_says(&out, &url, "not valid before Fri, 01 Jan 2990 00:00:00 GMT");
}

#[test]
fn only_a_byte_identical_certificate_is_trusted_as_a_leaf() {
    let dir = tempdir();
    let (cert, key) = openssl_self_signed(dir.path(), "served", "DNS:localhost,IP:127.0.0.1");
    let (other, _) = openssl_self_signed(dir.path(), "other", "DNS:localhost,IP:127.0.0.1");
    let server = serve_pem(&cert, &key);
    let url = server.url("/");
    let out = fetch_with_cacert(dir.path(), &other, &url);
    assert_refusal_says(&out, &url, "CA certificate (CA:TRUE)");
    assert!(
        server.requests().is_empty(),
        "a request went to an untrusted server"
    );
}

#[test]
fn without_cacert_a_self_signed_ca_leaf_is_refused_in_english() {
    let dir = tempdir();
    let (cert, key) = openssl_self_signed(dir.path(), "alone", "DNS:localhost,IP:127.0.0.1");
    let server = serve_pem(&cert, &key);
    let url = server.url("/");
    let out = fetch(dir.path(), &["-o", "out.txt", &url]);
    assert_refusal_says(&out, &url, "give that exact certificate with --cacert");
}

#[test]
fn exit_60_lines_name_the_cause() {
    let dir = tempdir();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &TestPki::get().ca_pem).expect("write ca");
    let cases = [
        (
            Leaf::WrongHost,
            "the certificate is for wrong.example, not 127.0.0.1",
        ),
        (Leaf::Expired, "expired on Mon, 01 Jan 2001 00:00:00 GMT"),
        (
            Leaf::SelfSigned,
            "unknown issuer: no trusted authority signed it",
        ),
    ];
    for (leaf, want) in cases {
        let config = TestPki::get().server_config(leaf);
        let server = ReplayServer::start(vec![("/", Reply::file("length.http"))], Some(config));
        let url = server.url("/");
        let out = fetch_with_cacert(dir.path(), &ca, &url);
        assert_refusal_says(&out, &url, want);
    }
}

#[test]
fn a_broken_cacert_file_is_exit_77_in_words() {
    let server = tls_server_good();
    let url = server.url("/");
    let dir = tempdir();
    let cases: [(&str, &str); 3] = [
        (
            "-----BEGIN CERTIFICATE-----\nAAAA\n",
            "a -----BEGIN line has no matching -----END line",
        ),
        (
            "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
            "a PEM block holds invalid base64",
        ),
        (
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "the certificate is malformed",
        ),
    ];
    for (pem, want) in cases {
        let ca = dir.path().join("broken.pem");
        std::fs::write(&ca, pem).expect("write");
        let out = fetch_with_cacert(dir.path(), &ca, &url);
        out.assert_fails(77, Some(&url));
        assert!(out.stderr.contains(want), "{out:?} should say {want:?}");
        assert!(!out.stderr.contains('['), "Debug dump: {out:?}");
    }
}

fn tls_server_good() -> ReplayServer {
    let config = TestPki::get().server_config(Leaf::Good);
    ReplayServer::start(vec![("/", Reply::file("length.http"))], Some(config))
}
