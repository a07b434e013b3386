//! Which servers the client trusts, as its rustls configuration: webpki-roots plus `--cacert`
//! anchors (a server whose leaf is byte-identical to a `--cacert` certificate is pinned and
//! trusted as OpenSSL does), or (with `-k`) a verifier that checks handshake signatures but not
//! the certificate chain. No sockets here; the TLS stream itself is `tls_stream`'s.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, OtherError, RootCertStore,
    SignatureScheme,
};

use super::tls_errors::describe_tls_error;
use crate::tls::{self, describe_pem_error, read_pem_file, ALPN_HTTP11};
use crate::Error;

/// Build the client configuration: the webpki roots, extra anchors from `cacert`, or no chain
/// verification when `insecure`. ALPN offers only `http/1.1` (we speak nothing else).
pub(super) fn client_config(
    cacert: Option<&Path>,
    insecure: bool,
) -> Result<Arc<ClientConfig>, Error> {
    if !insecure && cacert.is_none() {
        return Ok(tls::client_config(root_store(None)?.0));
    }
    let provider = Arc::new(tls::provider());
    let verifier: Arc<dyn ServerCertVerifier> = if insecure {
        Arc::new(NoChainCheck(provider.clone()))
    } else {
        let (roots, pinned) = root_store(cacert)?;
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| Error::CaCert(e.to_string()))?;
        Arc::new(TrustedOrPinned { webpki, pinned })
    };
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::TlsHandshake(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
    Ok(Arc::new(config))
}

/// webpki-roots (already parsed trust anchors: cheap) plus every certificate in `cacert`, a
/// file read under `MAX_PEM_FILE` like the server's PEM files; also those certificates as
/// they are, for [`TrustedOrPinned`].
fn root_store(
    cacert: Option<&Path>,
) -> Result<(RootCertStore, Vec<CertificateDer<'static>>), Error> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let mut pinned = Vec::new();
    if let Some(path) = cacert {
        let shown = path.display();
        let pem = read_pem_file(path).map_err(|e| Error::CaCert(format!("{shown}: {e}")))?;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert =
                cert.map_err(|e| Error::CaCert(format!("{shown}: {}", describe_pem_error(&e))))?;
            roots
                .add(cert.clone())
                .map_err(|e| Error::CaCert(format!("{shown}: {}", describe_tls_error(&e))))?;
            pinned.push(cert);
        }
        if pinned.is_empty() {
            return Err(Error::CaCert(format!("{shown}: no PEM certificate in it")));
        }
    }
    Ok((roots, pinned))
}

/// The webpki verifier, and then, for a leaf it refuses that is byte-identical to a `--cacert`
/// certificate, trust in that leaf as it is: what OpenSSL (so curl and Python) does with a
/// self-signed `openssl req -x509` certificate, which carries `CA:TRUE` and is therefore never
/// a valid end entity to webpki (RFC 5280 §4.2.1.9). Its validity dates and host names are
/// still checked (RFC 9525 §6.3); the handshake signature too, as for any certificate.
#[derive(Debug)]
struct TrustedOrPinned {
    webpki: Arc<WebPkiServerVerifier>,
    pinned: Vec<CertificateDer<'static>>,
}

impl ServerCertVerifier for TrustedOrPinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let refused = match self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Ok(verified) => return Ok(verified),
            Err(e) => e,
        };
        if !self
            .pinned
            .iter()
            .any(|p| p.as_ref() == end_entity.as_ref())
        {
            return Err(refused);
        }
        verify_pinned(end_entity, server_name, now)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// A pinned leaf is trusted for what it is, but only while valid and for the names it holds.
pub(super) fn verify_pinned(
    end_entity: &CertificateDer<'_>,
    server_name: &ServerName<'_>,
    now: UnixTime,
) -> Result<(), rustls::Error> {
    check_validity(end_entity, now)?;
    let cert = webpki::EndEntityCert::try_from(end_entity).map_err(webpki_refusal)?;
    cert.verify_is_valid_for_subject_name(server_name)
        .map_err(webpki_refusal)
}

/// notBefore <= now <= notAfter (RFC 5280 §4.1.2.5).
fn check_validity(der: &CertificateDer<'_>, now: UnixTime) -> Result<(), rustls::Error> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref())
        .map_err(|_| CertificateError::BadEncoding)?;
    let validity = cert.validity();
    let unix = |secs: i64| UnixTime::since_unix_epoch(Duration::from_secs(secs.max(0) as u64));
    let time = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    if time < validity.not_before.timestamp() {
        let not_before = unix(validity.not_before.timestamp());
        return Err(CertificateError::NotValidYetContext {
            time: now,
            not_before,
        }
        .into());
    }
    if time > validity.not_after.timestamp() {
        let not_after = unix(validity.not_after.timestamp());
        return Err(CertificateError::ExpiredContext {
            time: now,
            not_after,
        }
        .into());
    }
    Ok(())
}

/// A webpki refusal as rustls reports its own (the name context kept for the message).
fn webpki_refusal(e: webpki::Error) -> rustls::Error {
    match e {
        webpki::Error::CertNotValidForName(context) => CertificateError::NotValidForNameContext {
            expected: context.expected,
            presented: context.presented,
        }
        .into(),
        other => CertificateError::Other(OtherError(Arc::new(other))).into(),
    }
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
