//! `rawhttp serve` over TLS against real peers: curl, `rawhttp fetch` and openssl s_client,
//! with a self-signed CA written by `--write-ca`; bad certificate/key files fail at start.

mod serve_cli;

use serve_cli::{curl, fetch, path_str, run, stderr_lines, Serve, BIN};
use std::process::Command;

/// A self-signed server over a fresh docroot, the folders to keep alive (docroot, CA's folder)
/// and the CA file clients must trust.
fn self_signed() -> (Serve, [tempfile::TempDir; 2], std::path::PathBuf) {
    self_signed_with(&[])
}

/// `self_signed` with `extra` flags (e.g. `-b ::1`).
fn self_signed_with(extra: &[&str]) -> (Serve, [tempfile::TempDir; 2], std::path::PathBuf) {
    let root = serve_cli::docroot();
    let ca_dir = tempfile::tempdir().expect("temp dir");
    let ca = ca_dir.path().join("ca.pem");
    let mut args = vec!["--self-signed", "--write-ca", path_str(&ca), "-p", "0"];
    args.extend_from_slice(extra);
    args.push(path_str(root.path()));
    let server = Serve::start(&args);
    (server, [root, ca_dir], ca)
}

#[test]
fn curl_and_fetch_trust_the_written_ca_and_get_identical_bytes() {
    let (server, [root, _ca_dir], ca) = self_signed();
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    let ca_pem = std::fs::read_to_string(&ca).expect("--write-ca wrote the CA");
    assert!(
        ca_pem.starts_with("-----BEGIN CERTIFICATE-----"),
        "{ca_pem}"
    );

    let out_dir = tempfile::tempdir().expect("temp dir");
    let by_curl = out_dir.path().join("curl.bin");
    let by_fetch = out_dir.path().join("fetch.bin");
    // localhost checks the DNS SAN; 127.0.0.1 (below) the IP SAN.
    let url = server.at_localhost("big.bin");
    let c = curl(&[
        "--fail",
        "--cacert",
        path_str(&ca),
        "-o",
        path_str(&by_curl),
        &url,
    ]);
    assert!(c.status.success(), "curl: {:?}", stderr_lines(&c));
    let f = fetch(&[
        "--cacert",
        path_str(&ca),
        "-o",
        path_str(&by_fetch),
        &server.at("big.bin"),
    ]);
    assert!(f.status.success(), "fetch: {:?}", stderr_lines(&f));

    let want = std::fs::read(root.path().join("big.bin")).expect("source");
    assert!(
        std::fs::read(&by_curl).expect("curl output") == want,
        "curl bytes differ"
    );
    assert!(
        std::fs::read(&by_fetch).expect("fetch output") == want,
        "fetch bytes differ"
    );
}

#[test]
fn clients_without_the_ca_refuse_the_server() {
    let (server, _root, _ca) = self_signed();
    let c = curl(&["-o", "/dev/null", &server.at_localhost("hello.txt")]);
    assert_eq!(c.status.code(), Some(60), "curl without --cacert");
    let f = fetch(&["-o", "-", &server.at("hello.txt")]);
    assert_eq!(f.status.code(), Some(60), "fetch without --cacert");
}

/// `openssl s_client` against the server with extra flags; (exit success, stdout+stderr).
fn s_client(server: &Serve, ca: &std::path::Path, extra: &[&str]) -> (bool, String) {
    let connect = server.addr.to_string();
    let out = run(Command::new("openssl")
        .args(["s_client", "-connect", &connect, "-servername", "localhost"])
        .args([
            "-alpn",
            "http/1.1",
            "-CAfile",
            path_str(ca),
            "-verify_return_error",
        ])
        .args(extra));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn openssl_sees_alpn_http11_and_tls13() {
    let (server, _root, ca) = self_signed();
    let (ok, text) = s_client(&server, &ca, &[]);
    assert!(ok, "{text}");
    assert!(text.contains("ALPN protocol: http/1.1"), "{text}");
    assert!(text.contains("TLSv1.3"), "{text}");
    // OpenSSL lists AES-256 first; the server's own preference (cheaper handshakes) wins.
    assert!(text.contains("TLS_AES_128_GCM_SHA256"), "{text}");
    assert!(text.contains("Verify return code: 0 (ok)"), "{text}");
}

#[test]
fn openssl_tls12_works_and_tls11_is_refused() {
    let (server, _root, ca) = self_signed();
    let (ok, text) = s_client(&server, &ca, &["-tls1_2"]);
    assert!(ok, "{text}");
    assert!(text.contains("Protocol  : TLSv1.2"), "{text}");
    assert!(text.contains("ECDHE-ECDSA-AES128-GCM-SHA256"), "{text}");
    assert!(text.contains("ALPN protocol: http/1.1"), "{text}");

    // SECLEVEL=0 lets the client offer TLS 1.1 at all, so the refusal is the server's.
    let (ok, text) = s_client(&server, &ca, &["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"]);
    assert!(!ok, "TLS 1.1 handshake succeeded: {text}");
    // The server's alert (rustls answers a TLS 1.1-only hello with handshake_failure).
    let alerted = ["alert protocol version", "alert handshake failure"];
    assert!(alerted.iter().any(|a| text.contains(a)), "{text}");
    assert!(text.contains("No ALPN negotiated"), "{text}");
}

/// `rawhttp serve --tls-cert CERT --tls-key KEY -p 0 DIR`, which must fail at start.
fn serve_with(cert: &std::path::Path, key: &std::path::Path) -> (Option<i32>, Vec<String>) {
    let root = tempfile::tempdir().expect("temp dir");
    let out = run(Command::new(BIN)
        .args(["serve", "-p", "0", "--tls-cert"])
        .args([
            path_str(cert),
            "--tls-key",
            path_str(key),
            path_str(root.path()),
        ]));
    assert!(
        out.stdout.is_empty(),
        "ready line printed: {:?}",
        out.stdout
    );
    (out.status.code(), stderr_lines(&out))
}

/// A key and certificate made by openssl in `dir` (named `NAME.key`, `NAME.crt`).
fn openssl_pair(dir: &std::path::Path, name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let (key, crt) = (
        dir.join(format!("{name}.key")),
        dir.join(format!("{name}.crt")),
    );
    let out = run(Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-subj", "/CN=localhost", "-days", "2", "-keyout"])
        .args([path_str(&key), "-out", path_str(&crt)]));
    assert!(
        out.status.success(),
        "openssl req: {:?}",
        stderr_lines(&out)
    );
    (crt, key)
}

#[test]
fn bad_certificate_or_key_files_give_one_line_and_exit_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (crt, key) = openssl_pair(dir.path(), "a");
    let (_, other_key) = openssl_pair(dir.path(), "b");
    let missing = dir.path().join("missing.pem");
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, b"").expect("write");
    let cases = [
        ("missing cert", &missing, &key, "missing.pem"),
        ("missing key", &crt, &missing, "missing.pem"),
        ("mismatched pair", &crt, &other_key, "does not match"),
        ("empty chain", &empty, &key, "empty chain"),
        ("no key in key file", &crt, &crt, "no PEM private key"),
    ];
    for (what, cert, key, needle) in cases {
        let (code, lines) = serve_with(cert, key);
        assert_eq!(code, Some(2), "{what}: {lines:?}");
        assert_eq!(lines.len(), 1, "{what}: {lines:?}");
        assert!(lines[0].starts_with("rawhttp: "), "{what}: {lines:?}");
        assert!(lines[0].contains(needle), "{what}: {lines:?}");
    }
    // and the good pair does start (the refusals above are about the files, not the flags)
    let root = tempfile::tempdir().expect("temp dir");
    let server = Serve::start(&[
        "--tls-cert",
        path_str(&crt),
        "--tls-key",
        path_str(&key),
        "-p",
        "0",
        path_str(root.path()),
    ]);
    assert!(server.url.starts_with("https://"), "{}", server.url);
}

#[test]
fn the_self_signed_certificate_names_ipv6_loopback_too() {
    let (server, _dirs, ca) = self_signed_with(&["-b", "::1"]);
    assert!(server.url.starts_with("https://[::1]:"), "{}", server.url);
    let url = server.at("hello.txt");
    let c = curl(&["--fail", "--cacert", path_str(&ca), "-o", "-", &url]);
    assert_eq!(c.stdout, b"hello, world\n", "curl: {:?}", stderr_lines(&c));
    let f = fetch(&["--cacert", path_str(&ca), "-o", "-", &url]);
    assert_eq!(f.stdout, b"hello, world\n", "fetch: {:?}", stderr_lines(&f));
}

/// Serve `root` with `cert`/`key` and fetch hello.txt with curl trusting only `trust`.
fn curl_through(cert: &std::path::Path, key: &std::path::Path, trust: &std::path::Path) -> Vec<u8> {
    let root = serve_cli::docroot();
    let server = Serve::start(&[
        "--tls-cert",
        path_str(cert),
        "--tls-key",
        path_str(key),
        "-p",
        "0",
        path_str(root.path()),
    ]);
    let c = curl(&[
        "--fail",
        "--cacert",
        path_str(trust),
        "-o",
        "-",
        &server.at("hello.txt"),
    ]);
    assert!(c.status.success(), "curl: {:?}", stderr_lines(&c));
    c.stdout
}

#[test]
fn a_chain_with_an_intermediate_is_sent_whole() {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let ca_params = |name: &str| {
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(rcgen::DnType::CommonName, name);
        p
    };
    let root_ca =
        CertifiedIssuer::self_signed(ca_params("root"), KeyPair::generate().expect("key"))
            .expect("root");
    let middle = CertifiedIssuer::signed_by(
        ca_params("intermediate"),
        KeyPair::generate().expect("key"),
        &root_ca,
    )
    .expect("intermediate");
    let leaf_key = KeyPair::generate().expect("key");
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .and_then(|p| p.signed_by(&leaf_key, &middle))
        .expect("leaf");

    let dir = tempfile::tempdir().expect("temp dir");
    let (chain, key, trust) = (
        dir.path().join("chain.pem"),
        dir.path().join("key.pem"),
        dir.path().join("root.pem"),
    );
    std::fs::write(&chain, format!("{}{}", leaf.pem(), middle.pem())).expect("write");
    std::fs::write(&key, leaf_key.serialize_pem()).expect("write");
    std::fs::write(&trust, root_ca.pem()).expect("write");
    assert_eq!(curl_through(&chain, &key, &trust), b"hello, world\n");
}

#[test]
fn an_rsa_pkcs1_key_serves() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (crt, key8, key1) = (
        dir.path().join("c.pem"),
        dir.path().join("k8.pem"),
        dir.path().join("k1.pem"),
    );
    let made = run(Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
        ])
        .args([
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-days",
            "2",
            "-keyout",
        ])
        .args([path_str(&key8), "-out", path_str(&crt)]));
    assert!(
        made.status.success(),
        "openssl req: {:?}",
        stderr_lines(&made)
    );
    let converted = run(Command::new("openssl").args([
        "rsa",
        "-traditional",
        "-in",
        path_str(&key8),
        "-out",
        path_str(&key1),
    ]));
    assert!(
        converted.status.success(),
        "openssl rsa: {:?}",
        stderr_lines(&converted)
    );
    let pem = std::fs::read_to_string(&key1).expect("key");
    assert!(pem.starts_with("-----BEGIN RSA PRIVATE KEY-----"), "{pem}");
    assert_eq!(curl_through(&crt, &key1, &crt), b"hello, world\n");
}
