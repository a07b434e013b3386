//! A consumer of the library: another project's test, written only against rawhttp's public API
//! (`rawhttp::serve::Server`, `rawhttp::fetch::Request`, the re-exported `url`) as SPEC's last
//! section shows. Integration tests are separate crates, so anything private would not compile
//! here; `cargo test` builds and runs it.

use std::io::Read;
use std::time::Duration;

use rawhttp::serve::badssl::TlsVersion;
use rawhttp::serve::routes::{Reply, Route};
use rawhttp::serve::Server;

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

/// SPEC's example, line for line.
#[test]
fn the_spec_example_runs_as_written() -> Result {
    let server = rawhttp::serve::Server::new("fixtures/www")
        .self_signed_tls()
        .start()?; // 127.0.0.1:0
    let url: url::Url = server.url(); // https://127.0.0.1:PORT/
    let mut response = rawhttp::fetch::Request::get(url.join("hello.txt")?)
        .tls_config(server.client_tls_config()) // Arc<rustls::ClientConfig> trusting this server only
        .send()?;
    assert_eq!(response.status(), 200); // also: response.headers()
    let mut body = Vec::new();
    response.read_to_end(&mut body)?; // Response is an io::Read over the body
    let addr = server.addr(); // std::net::SocketAddr
    drop(server); // stops: listener closed, in-flight finished
    assert_eq!(body, std::fs::read("fixtures/www/hello.txt")?);
    assert!(std::net::TcpStream::connect(addr).is_err());
    Ok(())
}

/// What a consumer testing its own HTTP client would write: a mocked API over TLS, certificate
/// checks against a local badssl, and assertions on what arrived.
#[test]
fn a_client_under_test_against_a_mock_api() -> Result {
    let api = Server::in_memory()
        .route(
            "GET",
            "/v1/items",
            Reply::status(200)
                .header("Content-Type", "application/json")
                .body(r#"[{"id":1}]"#),
        )
        .add_route(
            Route::new(
                "POST",
                "/v1/items",
                Reply::status(201).header("Location", "/v1/items/2"),
            )
            .request_header("Authorization", "Bearer secret"),
        )
        .tls_version(TlsVersion::Tls13)
        .start()?;
    let items = api.url().join("v1/items")?;
    let mut got = rawhttp::fetch::Request::get(items.clone())
        .tls_config(api.client_tls_config())
        .send()?;
    let mut body = String::new();
    got.read_to_string(&mut body)?;
    assert_eq!(body, r#"[{"id":1}]"#);
    let created = rawhttp::fetch::Request::new("POST", items)
        .header("Authorization", "Bearer secret")
        .tls_config(api.client_tls_config())
        .send()?;
    assert_eq!(created.status(), 201);
    assert_eq!(created.headers().get_str("Location"), Some("/v1/items/2"));

    let seen = api.wait_for_requests(2, Duration::from_secs(10))?;
    assert_eq!(seen[1].method, "POST");
    assert_eq!(seen[1].header("authorization"), Some("Bearer secret"));
    let tls = seen[0].tls.as_ref().ok_or("TLS details recorded")?;
    assert_eq!(tls.version, "TLSv1.3");
    assert_eq!(api.dropped_requests(), 0);

    let expired = Server::in_memory().tls_expired().start()?;
    let refused = rawhttp::fetch::Request::get(expired.url())
        .tls_config(expired.client_tls_config())
        .send();
    let err = refused.err().ok_or("an expired certificate is refused")?;
    assert_eq!(err.exit_code(), 60);
    assert!(err.to_string().contains("expired"), "{err}");
    Ok(())
}
