//! The server's certificates: a PEM chain and key loaded and checked against each other
//! (`--tls-cert`/`--tls-key`), and the CA and leaf parameters `--self-signed` starts from
//! (`badssl` signs them, spoiled when a fault asks). Configurations are `tls_config`'s; pumping
//! a rustls connection is `transport`'s. No I/O beyond reading the two PEM files once at start.

use std::path::Path;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::tls_config::server_config_with;
use crate::error::Error;
use crate::proto::limits::MAX_PEM_FILE;
use crate::tls::{provider, PemFileError};

/// Load a PEM chain and key (PKCS#8, RSA or EC), serving `versions` (`serve --tls-version`).
/// Errors are `Error::Usage` with a clear reason (missing file, empty chain, no key, key not
/// matching the certificate).
pub(crate) fn load_server_config_for(
    cert: &Path,
    key: &Path,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Result<Arc<rustls::ServerConfig>, Error> {
    let chain = read_chain(cert)?;
    let key_der = read_key(key)?;
    let provider = provider();
    let certified = certify(&provider, chain, key_der, cert, key)?;
    let resolver = Arc::new(SingleCertAndKey::from(certified));
    server_config_with(provider, resolver, versions).map(Arc::new)
}

/// The certificate chain in `path`: every CERTIFICATE block, leaf first; none is an error.
fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let bytes = read_pem_file(path, "certificate")?;
    let chain = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            let why = crate::tls::describe_pem_error(&e);
            usage(format!("certificate file {}: {why}", path.display()))
        })?;
    if chain.is_empty() {
        // A key where the chain should be is the common mix-up: say so.
        let hint = match PrivateKeyDer::from_pem_slice(&bytes) {
            Ok(_) => "; it holds a private key: --tls-cert and --tls-key swapped?",
            Err(_) => "",
        };
        return Err(usage(format!(
            "certificate file {} holds no PEM certificate (empty chain){hint}",
            path.display()
        )));
    }
    Ok(chain)
}

/// The first private key in `path`: PKCS#8 (`PRIVATE KEY`), RSA (`RSA PRIVATE KEY`, PKCS#1) or
/// EC (`EC PRIVATE KEY`, SEC1).
fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, Error> {
    let bytes = read_pem_file(path, "key")?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| match e {
        pem::Error::NoItemsFound => usage(format!(
            "key file {} holds no PEM private key (PKCS#8, RSA or EC)",
            path.display()
        )),
        other => usage(format!(
            "key file {}: {}",
            path.display(),
            crate::tls::describe_pem_error(&other)
        )),
    })
}

/// Read a whole PEM file, at most `MAX_PEM_FILE` bytes; `what` names it in errors.
fn read_pem_file(path: &Path, what: &str) -> Result<Vec<u8>, Error> {
    crate::tls::read_pem_file(path).map_err(|e| match e {
        PemFileError::Read(e) => usage(format!("cannot read {what} file {}: {e}", path.display())),
        PemFileError::TooLarge => usage(format!(
            "{what} file {} is larger than {MAX_PEM_FILE} bytes",
            path.display()
        )),
    })
}

/// Pair the chain with its key, checking explicitly that the key belongs to the leaf: rustls
/// would otherwise only notice at the first handshake, and a server that starts but fails every
/// connection is worse than one that refuses to start.
fn certify(
    provider: &CryptoProvider,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    cert_path: &Path,
    key_path: &Path,
) -> Result<CertifiedKey, Error> {
    let signing_key = provider.key_provider.load_private_key(key).map_err(|e| {
        usage(format!(
            "key file {}: unusable private key: {e}",
            key_path.display()
        ))
    })?;
    let certified = CertifiedKey::new(chain, signing_key);
    match certified.keys_match() {
        Ok(()) => Ok(certified),
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            Err(usage(format!(
                "key file {} does not match the certificate in {}",
                key_path.display(),
                cert_path.display()
            )))
        }
        // Unknown: the key cannot report its public half; rustls accepts it, so do we.
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => Ok(certified),
        Err(e) => Err(usage(format!(
            "certificate file {}: unusable certificate: {e}",
            cert_path.display()
        ))),
    }
}

/// A fresh ECDSA P-256 CA, able to sign leaf certificates only.
pub(crate) fn make_ca() -> Result<rcgen::CertifiedIssuer<'static, rcgen::KeyPair>, rcgen::Error> {
    make_ca_named("rawhttp self-signed CA")
}

/// [`make_ca`] with the common name `name`.
pub(crate) fn make_ca_named(
    name: &str,
) -> Result<rcgen::CertifiedIssuer<'static, rcgen::KeyPair>, rcgen::Error> {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    rcgen::CertifiedIssuer::self_signed(params, rcgen::KeyPair::generate()?)
}

/// The leaf's parameters: SANs localhost, 127.0.0.1 and ::1, server authentication only.
pub(crate) fn leaf_params() -> Result<rcgen::CertificateParams, rcgen::Error> {
    let names = ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec();
    let mut params = rcgen::CertificateParams::new(names)?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    Ok(params)
}

fn usage(why: String) -> Error {
    Error::Usage(why)
}

/// Generating a certificate is not the user's fault: a runtime failure (exit 1).
pub(crate) fn generation_failed(e: impl std::fmt::Display) -> Error {
    Error::Io(std::io::Error::other(format!(
        "cannot make a self-signed certificate: {e}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::badssl::{self, SelfSigned};
    use crate::serve::tls_config::TLS_VERSIONS;
    use rustls::ServerConfig;

    /// `--tls-cert`/`--tls-key` with the default versions.
    fn load_server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, Error> {
        load_server_config_for(cert, key, TLS_VERSIONS)
    }

    /// `--self-signed` without a fault.
    fn self_signed() -> Result<SelfSigned, Error> {
        badssl::self_signed(None, None)
    }
    use std::io::Write;

    /// A temporary file holding `content`.
    fn file(content: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        f.write_all(content).expect("write temp file");
        f
    }

    /// A self-signed certificate and its key, as (cert PEM, PKCS#8 key PEM, key pair).
    fn generated() -> (String, String, rcgen::KeyPair) {
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .and_then(|p| p.self_signed(&key))
            .expect("certificate");
        (cert.pem(), key.serialize_pem(), key)
    }

    fn usage_message(result: Result<Arc<ServerConfig>, Error>) -> String {
        match result {
            Err(Error::Usage(why)) => why,
            Err(other) => panic!("expected a usage error, got {other:?}"),
            Ok(_) => panic!("expected a usage error, got a configuration"),
        }
    }

    #[test]
    fn server_prefers_aes128_gcm_over_the_clients_order() {
        let config = self_signed().expect("self-signed").config;
        assert!(config.ignore_client_order);
        let first = config.crypto_provider().cipher_suites[0].suite();
        assert_eq!(first, rustls::CipherSuite::TLS13_AES_128_GCM_SHA256);
    }

    #[test]
    fn generated_pair_loads_with_alpn_and_resumption() {
        let (cert, key, _) = generated();
        let (c, k) = (file(cert.as_bytes()), file(key.as_bytes()));
        let config = load_server_config(c.path(), k.path()).expect("loads");
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
        assert!(config.ticketer.enabled());
    }

    /// Run openssl (a test dependency, like curl) to make key encodings rcgen does not write.
    fn openssl(args: &[&str], dir: &Path) {
        let status = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stderr(std::process::Stdio::null())
            .status()
            .expect("openssl runs (it is a test dependency)");
        assert!(status.success(), "openssl {args:?} failed");
    }

    /// A key in `kind`'s traditional encoding and a certificate for it, made by openssl.
    fn openssl_pair(dir: &Path, kind: &str) -> (std::path::PathBuf, std::path::PathBuf) {
        let genkey: &[&str] = match kind {
            "rsa" => &["genrsa", "-traditional", "-out", "key.pem", "2048"],
            _ => &[
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
                "key.pem",
            ],
        };
        openssl(genkey, dir);
        let req = ["req", "-x509", "-key", "key.pem", "-subj", "/CN=localhost"];
        openssl(
            &[&req[..], &["-days", "2", "-out", "cert.pem"]].concat(),
            dir,
        );
        (dir.join("cert.pem"), dir.join("key.pem"))
    }

    #[test]
    fn rsa_pkcs1_and_ec_sec1_keys_load() {
        for (kind, marker) in [
            ("rsa", "BEGIN RSA PRIVATE KEY"),
            ("ec", "BEGIN EC PRIVATE KEY"),
        ] {
            let dir = tempfile::tempdir().expect("temp dir");
            let (cert, key) = openssl_pair(dir.path(), kind);
            let pem = std::fs::read_to_string(&key).expect("key written");
            assert!(pem.contains(marker), "{kind}: {pem}");
            load_server_config(&cert, &key).expect("traditional key loads");
        }
    }

    #[test]
    fn chain_with_several_certificates_loads() {
        let ss = self_signed().expect("self-signed");
        let key = rcgen::KeyPair::generate().expect("key");
        let leaf = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .and_then(|p| p.self_signed(&key))
            .expect("leaf");
        let chain = format!("{}{}", leaf.pem(), ss.ca_pem);
        let (c, k) = (file(chain.as_bytes()), file(key.serialize_pem().as_bytes()));
        load_server_config(c.path(), k.path()).expect("chain loads");
    }

    #[test]
    fn mismatched_pair_is_refused() {
        let (cert, _, _) = generated();
        let (_, other_key, _) = generated();
        let (c, k) = (file(cert.as_bytes()), file(other_key.as_bytes()));
        let why = usage_message(load_server_config(c.path(), k.path()));
        assert!(why.contains("does not match the certificate"), "{why}");
    }

    #[test]
    fn missing_files_are_named() {
        let (_, key, _) = generated();
        let k = file(key.as_bytes());
        let missing = Path::new("/nonexistent/rawhttp-test/cert.pem");
        let why = usage_message(load_server_config(missing, k.path()));
        assert!(
            why.starts_with("cannot read certificate file /nonexistent"),
            "{why}"
        );

        let (cert, _, _) = generated();
        let c = file(cert.as_bytes());
        let why = usage_message(load_server_config(c.path(), missing));
        assert!(
            why.starts_with("cannot read key file /nonexistent"),
            "{why}"
        );
    }

    #[test]
    fn empty_chain_is_refused() {
        let (_, key, _) = generated();
        for content in [&b""[..], key.as_bytes(), b"not a pem file\n"] {
            let (c, k) = (file(content), file(key.as_bytes()));
            let why = usage_message(load_server_config(c.path(), k.path()));
            assert!(why.contains("empty chain"), "{why}");
        }
    }

    #[test]
    fn swapped_files_are_pointed_out() {
        let (cert, key, _) = generated();
        let (c, k) = (file(key.as_bytes()), file(cert.as_bytes()));
        let why = usage_message(load_server_config(c.path(), k.path()));
        assert!(why.contains("swapped?"), "{why}");
    }

    #[test]
    fn key_file_without_key_is_refused() {
        let (cert, _, _) = generated();
        let (c, k) = (file(cert.as_bytes()), file(cert.as_bytes()));
        let why = usage_message(load_server_config(c.path(), k.path()));
        assert!(why.contains("holds no PEM private key"), "{why}");
    }

    #[test]
    fn garbage_inside_pem_markers_is_refused() {
        let (cert, _, _) = generated();
        let bad_key = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        let (c, k) = (file(cert.as_bytes()), file(bad_key.as_bytes()));
        let why = usage_message(load_server_config(c.path(), k.path()));
        assert!(why.contains("unusable private key"), "{why}");
    }

    #[test]
    fn self_signed_leaf_is_trusted_through_its_ca() {
        let ss = self_signed().expect("self-signed");
        assert!(ss.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert_eq!(ss.config.alpn_protocols, vec![b"http/1.1".to_vec()]);
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ss.ca_der.clone()).expect("CA parses");
        let client = client(&roots, &rustls::version::TLS13);
        for name in ["localhost", "127.0.0.1", "::1"] {
            handshake(&ss, &client, name);
        }
    }

    /// A client trusting only `roots`, restricted to `version`, keeping its own session cache.
    fn client(
        roots: &rustls::RootCertStore,
        version: &'static rustls::SupportedProtocolVersion,
    ) -> Arc<rustls::ClientConfig> {
        let client = rustls::ClientConfig::builder_with_provider(Arc::new(provider()))
            .with_protocol_versions(&[version])
            .expect("versions")
            .with_root_certificates(roots.clone())
            .with_no_client_auth();
        Arc::new(client)
    }

    /// An in-memory handshake between `client` (for server name `name`) and the server config;
    /// returns how the handshake went (full or resumed).
    fn handshake(
        ss: &SelfSigned,
        client: &Arc<rustls::ClientConfig>,
        name: &str,
    ) -> rustls::HandshakeKind {
        let server_name = rustls_pki_types::ServerName::try_from(name.to_string()).expect("name");
        let mut c = rustls::ClientConnection::new(client.clone(), server_name).expect("client");
        let mut s = rustls::ServerConnection::new(ss.config.clone()).expect("server");
        for _ in 0..10 {
            pump(&mut c, &mut s);
        }
        assert!(!c.is_handshaking(), "handshake with {name} did not finish");
        c.handshake_kind().expect("handshake done")
    }

    #[test]
    fn reconnecting_clients_resume_with_tls12_and_tls13() {
        let ss = self_signed().expect("self-signed");
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ss.ca_der.clone()).expect("CA parses");
        for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
            let client = client(&roots, version);
            let first = handshake(&ss, &client, "localhost");
            assert_eq!(first, rustls::HandshakeKind::Full, "{version:?}");
            let again = handshake(&ss, &client, "localhost");
            assert_eq!(again, rustls::HandshakeKind::Resumed, "{version:?}");
        }
    }

    fn pump(c: &mut rustls::ClientConnection, s: &mut rustls::ServerConnection) {
        let mut buf = Vec::new();
        while c.wants_write() {
            c.write_tls(&mut buf).expect("client writes");
        }
        let mut rd = &buf[..];
        while !rd.is_empty() {
            s.read_tls(&mut rd).expect("server reads");
        }
        s.process_new_packets().expect("server accepts");
        buf.clear();
        while s.wants_write() {
            s.write_tls(&mut buf).expect("server writes");
        }
        let mut rd = &buf[..];
        while !rd.is_empty() {
            c.read_tls(&mut rd).expect("client reads");
        }
        c.process_new_packets().expect("client accepts the server");
    }
}
