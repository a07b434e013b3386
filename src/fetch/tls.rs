//! The client's rustls configuration: webpki-roots plus `--cacert` anchors, or (with `-k`) a
//! verifier that checks handshake signatures but not the certificate chain. No sockets here.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::tls::{self, read_pem_file, ALPN_HTTP11};
use crate::Error;

/// Build the client configuration: the webpki roots, extra anchors from `cacert`, or no chain
/// verification when `insecure`. ALPN offers only `http/1.1` (we speak nothing else).
pub fn client_config(cacert: Option<&Path>, insecure: bool) -> Result<Arc<ClientConfig>, Error> {
    if !insecure {
        return Ok(tls::client_config(root_store(cacert)?));
    }
    let provider = Arc::new(tls::provider());
    let mut config = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::TlsHandshake(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(NoChainCheck(provider)))
        .with_no_client_auth();
    config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
    Ok(Arc::new(config))
}

/// webpki-roots (already parsed trust anchors: cheap) plus every certificate in `cacert`, a
/// file read under `MAX_PEM_FILE` like the server's PEM files.
fn root_store(cacert: Option<&Path>) -> Result<RootCertStore, Error> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = cacert {
        let shown = path.display();
        let pem = read_pem_file(path).map_err(|e| Error::CaCert(format!("{shown}: {e}")))?;
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| Error::CaCert(format!("{shown}: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| Error::CaCert(format!("{shown}: {e}")))?;
            added += 1;
        }
        if added == 0 {
            return Err(Error::CaCert(format!("{shown}: no PEM certificate in it")));
        }
    }
    Ok(roots)
}

/// `-k`: accept any certificate chain, like curl's `--insecure`, but still check that the
/// server holds the key of the certificate it sent.
#[derive(Debug)]
struct NoChainCheck(Arc<CryptoProvider>);

impl ServerCertVerifier for NoChainCheck {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn cacert_problems_are_exit_77() {
        let missing = Path::new("/nonexistent/ca.pem");
        assert_eq!(
            client_config(Some(missing), false)
                .map(|_| ())
                .map_err(|e| e.exit_code()),
            Err(77)
        );
        let mut empty = tempfile::NamedTempFile::new().expect("tempfile");
        empty.write_all(b"not a certificate\n").expect("write");
        let got = client_config(Some(empty.path()), false).map(|_| ());
        assert_eq!(got.map_err(|e| e.exit_code()), Err(77));
        let mut garbage = tempfile::NamedTempFile::new().expect("tempfile");
        garbage
            .write_all(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
            .expect("write");
        let got = client_config(Some(garbage.path()), false).map(|_| ());
        assert_eq!(got.map_err(|e| e.exit_code()), Err(77));
    }

    #[test]
    fn default_and_insecure_configs_build_with_alpn() {
        for insecure in [false, true] {
            let config = client_config(None, insecure).expect("builds");
            assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
        }
    }
}
