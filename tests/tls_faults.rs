//! TLS-level faults (`serve --self-signed --tls-fault handshake-alert|handshake-stall|
//! no-close-notify`, `Server::tls_fault`) against curl and rawhttp fetch, both trusting the CA:
//! the failure is the fault's, not the certificate's.

mod serve_cli;

use std::time::{Duration, Instant};

use rawhttp::serve::badssl::TlsFault;
use rawhttp::serve::Server;
use serve_cli::{curl, fetch, path_str, stderr_lines, tls_fault_serve};

/// curl's and rawhttp fetch's exit codes and fetch's stderr for big.bin on a faulty server.
fn codes(fault: &str, extra: &[&str]) -> (Option<i32>, Option<i32>, Vec<String>) {
    let (server, _dirs, ca) = tls_fault_serve(fault);
    let url = server.at_localhost("big.bin");
    let out = tempfile::tempdir().expect("temp dir");
    let dest = out.path().join("big.bin");
    let c = curl(
        &[
            &["--cacert", path_str(&ca), "-o", "/dev/null"],
            extra,
            &[&url],
        ]
        .concat(),
    );
    let f = fetch(
        &[
            &["--cacert", path_str(&ca), "-o", path_str(&dest)],
            extra,
            &[&url],
        ]
        .concat(),
    );
    assert!(!dest.exists(), "{fault}: fetch saved a file");
    (c.status.code(), f.status.code(), stderr_lines(&f))
}

#[test]
fn a_handshake_alert_is_exit_35_for_curl_and_fetch() {
    let (curl_code, fetch_code, lines) = codes("handshake-alert", &[]);
    assert_eq!(curl_code, Some(35));
    assert_eq!(fetch_code, Some(35), "{lines:?}");
    assert!(lines[0].contains("TLS handshake failed"), "{lines:?}");
}

#[test]
fn a_stalled_handshake_times_out_in_curl_and_fetch() {
    // Nothing but a timeout can end a silent handshake: exit 28 for both (curl's
    // --connect-timeout, fetch's connect timeout, which covers the TLS handshake).
    let started = Instant::now();
    let (curl_code, fetch_code, lines) = codes("handshake-stall", &["--connect-timeout", "1"]);
    assert_eq!(curl_code, Some(28));
    assert_eq!(fetch_code, Some(28), "{lines:?}");
    assert!(lines[0].contains("timed out"), "{lines:?}");
    assert!(started.elapsed() < Duration::from_secs(15));
}

#[test]
fn a_close_without_close_notify_mid_body_is_a_truncation() {
    let (curl_code, fetch_code, lines) = codes("no-close-notify", &[]);
    // Both see a Content-Length body end early at a bare FIN: 18 ("transfer closed with N
    // bytes remaining" in curl), not a clean end of stream.
    assert_eq!(curl_code, Some(18));
    assert_eq!(fetch_code, Some(18), "{lines:?}");
}

#[test]
fn tls_faults_from_the_builder() {
    let body = vec![b'x'; 100_000];
    let server = Server::in_memory()
        .file("big", body)
        .tls_fault(TlsFault::NoCloseNotify)
        .start()
        .expect("start");
    let got = rawhttp::fetch::Request::get(server.url().join("big").expect("url"))
        .tls_config(server.client_tls_config())
        .send()
        .and_then(|mut r| {
            let mut sink = Vec::new();
            std::io::Read::read_to_end(&mut r, &mut sink).map_err(rawhttp::Error::Io)
        });
    // Half the body, then a bare FIN: the reader says so instead of returning a short body.
    let err = got.expect_err("a cut body is an error");
    assert!(
        err.to_string().contains("received 50000 of 100000 bytes"),
        "{err}"
    );

    let stalled = Server::in_memory()
        .tls_fault(TlsFault::HandshakeStall)
        .start()
        .expect("start");
    let got = rawhttp::fetch::Request::get(stalled.url())
        .tls_config(stalled.client_tls_config())
        .connect_timeout(Duration::from_millis(300))
        .send();
    assert_eq!(got.err().map(|e| e.exit_code()), Some(28));
}
