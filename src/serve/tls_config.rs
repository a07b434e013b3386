//! The server's rustls configuration around a certificate resolver: TLS 1.3 and 1.2, ALPN
//! `http/1.1`, session resumption, and our cipher-suite order. Where the certificate comes from
//! is `certs`'s (or `badssl`'s) business.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::server::ServerSessionMemoryCache;
use rustls::ServerConfig;

use crate::error::Error;
use crate::proto::limits::TLS_SESSION_CACHE;
use crate::tls::ALPN_HTTP11;

/// Both versions served by default, newest first.
pub(crate) const TLS_VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// A server configuration presenting what `resolver` picks, offering `versions`: ALPN
/// `http/1.1`, resumption by stateless tickets (TLS 1.2 and 1.3) plus a session-id cache for
/// TLS 1.2 clients without tickets, AES-128-GCM first.
pub(crate) fn server_config_with(
    provider: CryptoProvider,
    resolver: Arc<dyn rustls::server::ResolvesServerCert>,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Result<ServerConfig, Error> {
    let mut config = ServerConfig::builder_with_provider(Arc::new(prefer_aes128(provider)))
        .with_protocol_versions(versions)
        .map_err(|e| Error::Usage(format!("TLS configuration: {e}")))?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
    config.ticketer = rustls::crypto::aws_lc_rs::Ticketer::new()
        .map_err(|e| Error::Io(std::io::Error::other(format!("TLS ticket keys: {e}"))))?;
    config.session_storage = ServerSessionMemoryCache::new(TLS_SESSION_CACHE);
    // One TLS 1.3 ticket per handshake is enough for the next reconnect and halves the
    // post-handshake work of rustls' default of two (handshake rate matters to the benchmark).
    config.send_tls13_tickets = 1;
    // Our order, not the client's: OpenSSL clients list AES-256-GCM-SHA384 first, whose SHA-384
    // key schedule was ~17% of a handshake's CPU here; AES-128-GCM is as strong for this use
    // and first in Mozilla's server recommendations too.
    config.ignore_client_order = true;
    Ok(config)
}

/// The provider with its AES-128-GCM suites moved to the front (order otherwise kept).
fn prefer_aes128(mut provider: CryptoProvider) -> CryptoProvider {
    use rustls::CipherSuite::{
        TLS13_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    };
    let is_aes128 = |s: &rustls::SupportedCipherSuite| {
        matches!(
            s.suite(),
            TLS13_AES_128_GCM_SHA256
                | TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
                | TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
        )
    };
    provider.cipher_suites.sort_by_key(|s| !is_aes128(s));
    provider
}
