//! TLS configuration for the server: PEM loading, key/cert checks, self-signed certificates.
//! (Pumping a rustls connection on the event loop is `transport`'s job.)

use std::path::Path;
use std::sync::Arc;

use crate::error::Error;

/// A fresh CA and a leaf for localhost, 127.0.0.1 and ::1, made at start.
pub struct SelfSigned {
    /// Server configuration presenting the leaf (ALPN http/1.1; TLS 1.2 and 1.3).
    pub config: Arc<rustls::ServerConfig>,
    /// PEM of the certificate clients must trust (`--write-ca`).
    pub ca_pem: String,
    /// The same trust anchor, DER, for building client configurations.
    pub ca_der: rustls_pki_types::CertificateDer<'static>,
}

/// Load a PEM chain and key (PKCS#8, RSA or EC). Errors are `Error::Usage` with a clear reason
/// (missing file, empty chain, no key, key not matching the certificate).
pub fn load_server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, Error> {
    let _ = (cert, key);
    todo!("issue 4: tls helper")
}

/// Make a fresh self-signed setup (ECDSA P-256, via rcgen).
pub fn self_signed() -> Result<SelfSigned, Error> {
    todo!("issue 4: tls helper")
}
