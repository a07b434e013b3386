//! A throwaway test PKI made with rcgen at test time: one trusted CA and leaves that are good,
//! self-signed (unknown issuer), for the wrong host, or expired. Nothing is written to the repo.

use std::sync::{Arc, OnceLock};

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::ServerConfig;

/// The leaves a TLS replay server can present.
#[derive(Clone, Copy, Debug)]
pub enum Leaf {
    /// Signed by the test CA, for localhost and 127.0.0.1.
    Good,
    /// Self-signed for localhost and 127.0.0.1: no trust anchor knows it.
    SelfSigned,
    /// Signed by the test CA, but only for wrong.example.
    WrongHost,
    /// Signed by the test CA for 127.0.0.1, valid 2000-2001 only.
    Expired,
}

pub struct TestPki {
    /// The CA certificate clients trust with --cacert.
    pub ca_pem: String,
    good: Arc<ServerConfig>,
    self_signed: Arc<ServerConfig>,
    wrong_host: Arc<ServerConfig>,
    expired: Arc<ServerConfig>,
}

impl TestPki {
    /// The PKI for this test binary, made once.
    pub fn get() -> &'static TestPki {
        static PKI: OnceLock<TestPki> = OnceLock::new();
        PKI.get_or_init(TestPki::generate)
    }

    pub fn server_config(&self, leaf: Leaf) -> Arc<ServerConfig> {
        match leaf {
            Leaf::Good => self.good.clone(),
            Leaf::SelfSigned => self.self_signed.clone(),
            Leaf::WrongHost => self.wrong_host.clone(),
            Leaf::Expired => self.expired.clone(),
        }
    }

    fn generate() -> TestPki {
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "rawhttp test CA");
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA cert");
        let issuer = Issuer::new(ca_params, ca_key);
        let local = || vec!["localhost".to_string(), "127.0.0.1".to_string()];

        let mut expired = CertificateParams::new(local()).expect("params");
        expired.not_before = date_time_ymd(2000, 1, 1);
        expired.not_after = date_time_ymd(2001, 1, 1);

        TestPki {
            ca_pem: ca_cert.pem(),
            good: signed(local(), &issuer),
            self_signed: self_signed(local()),
            wrong_host: signed(vec!["wrong.example".to_string()], &issuer),
            expired: signed_params(expired, &issuer),
        }
    }
}

fn signed(names: Vec<String>, issuer: &Issuer<'_, KeyPair>) -> Arc<ServerConfig> {
    signed_params(CertificateParams::new(names).expect("leaf params"), issuer)
}

fn signed_params(params: CertificateParams, issuer: &Issuer<'_, KeyPair>) -> Arc<ServerConfig> {
    let key = KeyPair::generate().expect("leaf key");
    let cert = params.signed_by(&key, issuer).expect("leaf cert");
    server_config(cert.der().clone(), &key)
}

fn self_signed(names: Vec<String>) -> Arc<ServerConfig> {
    let key = KeyPair::generate().expect("key");
    let cert = CertificateParams::new(names)
        .expect("params")
        .self_signed(&key)
        .expect("self-signed cert");
    server_config(cert.der().clone(), &key)
}

fn server_config(cert: CertificateDer<'static>, key: &KeyPair) -> Arc<ServerConfig> {
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let mut config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .expect("server config");
    // Offered so the replay server can record whether the client asked for http/1.1; a client
    // offering no ALPN still connects.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}
