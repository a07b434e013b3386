//! TLS set-up that the client and the server share: the one crypto provider, the ALPN id, PEM
//! files read under a size cap, and a client configuration over given trust anchors. It only
//! builds rustls values (and reads a PEM file when asked to); pumping TLS over a socket is
//! `fetch::connect`'s and `serve::transport`'s job.

use std::fmt;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, RootCertStore};

use crate::proto::limits::MAX_PEM_FILE;

/// The only application protocol spoken (RFC 7301; `http/1.1` is its registered id).
pub(crate) const ALPN_HTTP11: &[u8] = b"http/1.1";

/// The aws-lc-rs provider: the crate's one crypto backend (rustls' default).
pub(crate) fn provider() -> CryptoProvider {
    rustls::crypto::aws_lc_rs::default_provider()
}

/// A client configuration trusting `roots`, TLS 1.2 and 1.3, ALPN offering only `http/1.1`.
pub(crate) fn client_config(roots: RootCertStore) -> Arc<ClientConfig> {
    let mut config = ClientConfig::builder_with_provider(Arc::new(provider()))
        .with_safe_default_protocol_versions()
        // Invariant: the aws-lc-rs default provider supports rustls' safe default versions.
        .expect("aws-lc-rs supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
    Arc::new(config)
}

/// Why a PEM file could not be read.
#[derive(Debug)]
pub(crate) enum PemFileError {
    /// Opening or reading failed.
    Read(io::Error),
    /// The file is larger than `MAX_PEM_FILE`.
    TooLarge,
}

impl fmt::Display for PemFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PemFileError::Read(e) => write!(f, "{e}"),
            PemFileError::TooLarge => write!(f, "larger than {MAX_PEM_FILE} bytes"),
        }
    }
}

/// Read a whole PEM file, at most `MAX_PEM_FILE` bytes: a mistaken `--cacert /dev/zero` or a
/// log file must not be read whole (rustls' own `pem_file_iter` reads lines without a cap).
pub(crate) fn read_pem_file(path: &Path) -> Result<Vec<u8>, PemFileError> {
    let file = std::fs::File::open(path).map_err(PemFileError::Read)?;
    let mut bytes = Vec::new();
    file.take(MAX_PEM_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(PemFileError::Read)?;
    if bytes.len() as u64 > MAX_PEM_FILE {
        return Err(PemFileError::TooLarge);
    }
    Ok(bytes)
}

/// A PEM parse failure in words (rustls' own Display prints the offending line as a byte list).
pub(crate) fn describe_pem_error(e: &rustls::pki_types::pem::Error) -> String {
    use rustls::pki_types::pem::Error as P;
    match e {
        P::MissingSectionEnd { .. } => "a -----BEGIN line has no matching -----END line".into(),
        P::IllegalSectionStart { .. } => "a malformed -----BEGIN line".into(),
        P::Base64Decode(_) => "a PEM block holds invalid base64".into(),
        P::Io(e) => e.to_string(),
        P::NoItemsFound => "no PEM block of the expected kind".into(),
        P::SectionTooLarge => "a PEM block is too large".into(),
        _ => "not a valid PEM file".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn pem_errors_read_as_english() {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::CertificateDer;
        let table: [(&[u8], &str); 3] = [
            (
                b"-----BEGIN CERTIFICATE-----\nAAAA\n",
                "a -----BEGIN line has no matching -----END line",
            ),
            (
                b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
                "a PEM block holds invalid base64",
            ),
            (
                b"-----BEGIN CERTIFICATE\nAAAA\n-----END CERTIFICATE-----\n",
                "a malformed -----BEGIN line",
            ),
        ];
        for (pem, want) in table {
            let got = CertificateDer::pem_slice_iter(pem)
                .find_map(Result::err)
                .map(|e| describe_pem_error(&e));
            assert_eq!(got.as_deref(), Some(want), "{pem:?}");
        }
    }

    #[test]
    fn pem_files_are_read_up_to_the_cap() {
        let mut small = tempfile::NamedTempFile::new().expect("temp file");
        small.write_all(b"-----BEGIN X-----\n").expect("write");
        assert_eq!(
            read_pem_file(small.path()).expect("reads"),
            b"-----BEGIN X-----\n"
        );
        let big = tempfile::NamedTempFile::new().expect("temp file");
        big.as_file().set_len(MAX_PEM_FILE + 1).expect("grow");
        assert!(matches!(
            read_pem_file(big.path()),
            Err(PemFileError::TooLarge)
        ));
        let missing = read_pem_file(Path::new("/nonexistent/rawhttp/ca.pem"));
        assert!(matches!(missing, Err(PemFileError::Read(_))));
    }
}
