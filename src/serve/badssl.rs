//! A local badssl.com: fresh self-signed TLS set-ups whose certificate or handshake is wrong in
//! one chosen way, so a client's certificate checks can be tested offline (`serve
//! --tls-fault`, `Server::tls_expired()` …). It only builds rustls configurations from rcgen
//! certificates; pumping bytes (and the `handshake-stall` / `no-close-notify` behaviour) is
//! `transport`'s and `conn`'s job.

use std::sync::Arc;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

use super::certs::{generation_failed, leaf_params, make_ca, make_ca_named};
use super::faults::{FaultPlan, FaultRule, Faults};
use super::tls_config::{server_config_with, TLS_VERSIONS};
use crate::error::Error;
use crate::tls::provider;

/// What is wrong with a TLS fixture (`serve --self-signed --tls-fault NAME`).
///
/// The first five are certificate faults: the CA written by `--write-ca` (and trusted by
/// [`ServerHandle::client_tls_config`](super::ServerHandle::client_tls_config)) stays what a
/// client would trust, so a verifying client must refuse. The last three are TLS-level faults
/// with a valid certificate.
///
/// ```
/// use rawhttp::serve::badssl::TlsFault;
/// assert!(TlsFault::Expired.is_certificate_fault());
/// assert!(!TlsFault::HandshakeAlert.is_certificate_fault());
/// ```
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsFault {
    /// The leaf expired (valid 2000-01-01 to 2001-01-01).
    Expired,
    /// The leaf is not valid yet (from the year 4000).
    NotYetValid,
    /// The leaf names only `wrong.host.invalid`: not localhost, 127.0.0.1 or ::1.
    WrongHost,
    /// The leaf is signed by a second CA the client does not trust.
    Untrusted,
    /// The leaf is self-signed and marked `CA:TRUE`; the "CA" written for clients is that very
    /// certificate. OpenSSL clients (curl, Python) and `rawhttp fetch --cacert` accept a
    /// certificate byte-identical to a trusted one; webpki with it as a root (rustls, the
    /// fixture's client configuration) refuses a CA used as an end entity.
    SelfSignedLeaf,
    /// The server answers the ClientHello with a fatal alert (`access_denied`).
    HandshakeAlert,
    /// The server accepts the TCP connection and never says a TLS word.
    HandshakeStall,
    /// Every response body is cut in the middle and TCP closed without a TLS `close_notify`
    /// (RFC 8446 §6.1): a truncation attack a client must notice.
    NoCloseNotify,
}

impl TlsFault {
    /// Whether the fault is in the certificate (the client must refuse it) rather than in the
    /// handshake or the close.
    ///
    /// ```
    /// assert!(rawhttp::serve::badssl::TlsFault::Untrusted.is_certificate_fault());
    /// ```
    pub fn is_certificate_fault(self) -> bool {
        !matches!(
            self,
            TlsFault::HandshakeAlert | TlsFault::HandshakeStall | TlsFault::NoCloseNotify
        )
    }
}

/// Add what the TLS-level faults need from the connections to `plan`: the handshake stall,
/// or a rule cutting every body without close_notify. True when `plan` changed.
pub(crate) fn add_to_plan(fault: Option<TlsFault>, plan: &mut FaultPlan) -> bool {
    match fault {
        Some(TlsFault::HandshakeStall) => plan.handshake_stall = true,
        Some(TlsFault::NoCloseNotify) => plan.rules.push(FaultRule {
            path: None,
            nth: None,
            faults: Faults {
                no_close_notify: true,
                ..Faults::default()
            },
        }),
        _ => return false,
    }
    true
}

/// The TLS protocol version a fixture offers (`serve --tls-version 1.2`); by default both.
///
/// ```
/// let v: rawhttp::serve::badssl::TlsVersion = "1.2".parse().unwrap();
/// assert_eq!(v, rawhttp::serve::badssl::TlsVersion::Tls12);
/// ```
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsVersion {
    /// TLS 1.2 only (RFC 5246).
    #[value(name = "1.2")]
    Tls12,
    /// TLS 1.3 only (RFC 8446).
    #[value(name = "1.3")]
    Tls13,
}

impl TlsVersion {
    /// The rustls protocol version list for this choice.
    pub(crate) fn versions(self) -> &'static [&'static rustls::SupportedProtocolVersion] {
        static TLS12: [&rustls::SupportedProtocolVersion; 1] = [&rustls::version::TLS12];
        static TLS13: [&rustls::SupportedProtocolVersion; 1] = [&rustls::version::TLS13];
        match self {
            TlsVersion::Tls12 => &TLS12,
            TlsVersion::Tls13 => &TLS13,
        }
    }
}

impl std::str::FromStr for TlsVersion {
    type Err = Error;

    /// `1.2`, `1.3` (also `tls1.2`, `TLSv1.3`).
    fn from_str(s: &str) -> Result<TlsVersion, Error> {
        let lower = s.to_ascii_lowercase();
        match lower.trim_start_matches("tls").trim_start_matches('v') {
            "1.2" => Ok(TlsVersion::Tls12),
            "1.3" => Ok(TlsVersion::Tls13),
            _ => Err(Error::Usage(format!(
                "bad TLS version {s:?}: expected 1.2 or 1.3"
            ))),
        }
    }
}

/// A fresh CA and a leaf for localhost, 127.0.0.1 and ::1, made at start (see [`self_signed`]).
pub struct SelfSigned {
    /// Server configuration presenting the leaf (ALPN http/1.1; TLS 1.2 and 1.3 unless a
    /// version was chosen).
    pub config: Arc<rustls::ServerConfig>,
    /// PEM of the certificate clients must trust (`--write-ca`).
    pub ca_pem: String,
    /// The same trust anchor, DER, for building client configurations.
    pub ca_der: rustls_pki_types::CertificateDer<'static>,
}

/// A fresh CA and a leaf for localhost, 127.0.0.1 and ::1, spoiled by `fault`, offering only
/// `version` when given. `ca_pem` is what a client should trust.
///
/// ```
/// use rawhttp::serve::badssl::{self_signed, TlsFault, TlsVersion};
/// let made = self_signed(Some(TlsFault::WrongHost), Some(TlsVersion::Tls13))?;
/// assert!(made.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
/// assert_eq!(made.config.alpn_protocols, vec![b"http/1.1".to_vec()]);
/// # Ok::<(), rawhttp::Error>(())
/// ```
pub fn self_signed(
    fault: Option<TlsFault>,
    version: Option<TlsVersion>,
) -> Result<SelfSigned, Error> {
    let ca = make_ca().map_err(generation_failed)?;
    let leaf_key = rcgen::KeyPair::generate().map_err(generation_failed)?;
    let mut params = leaf_params().map_err(generation_failed)?;
    spoil(&mut params, fault);
    let (leaf, ca_pem, ca_der) = match fault {
        Some(TlsFault::SelfSignedLeaf) => {
            let cert = params.self_signed(&leaf_key).map_err(generation_failed)?;
            let (pem, der) = (cert.pem(), cert.der().clone());
            (der.clone(), pem, der)
        }
        Some(TlsFault::Untrusted) => {
            // Another name too: a same-named issuer would read as a bad signature, not unknown.
            let stranger = make_ca_named("rawhttp untrusted CA").map_err(generation_failed)?;
            let cert = params
                .signed_by(&leaf_key, &stranger)
                .map_err(generation_failed)?;
            (cert.der().clone(), ca.pem(), ca.der().clone())
        }
        _ => {
            let cert = params
                .signed_by(&leaf_key, &ca)
                .map_err(generation_failed)?;
            (cert.der().clone(), ca.pem(), ca.der().clone())
        }
    };
    let provider = provider();
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let signing_key = provider
        .key_provider
        .load_private_key(key_der)
        .map_err(generation_failed)?;
    let certified = CertifiedKey::new(vec![leaf], signing_key);
    let resolver: Arc<dyn ResolvesServerCert> = match fault {
        Some(TlsFault::HandshakeAlert) => Arc::new(NoCertificate),
        _ => Arc::new(SingleCertAndKey::from(certified)),
    };
    let versions = version.map_or(TLS_VERSIONS, TlsVersion::versions);
    Ok(SelfSigned {
        config: Arc::new(server_config_with(provider, resolver, versions)?),
        ca_pem,
        ca_der,
    })
}

/// Change the leaf's parameters as a certificate fault asks (the others leave them alone).
fn spoil(params: &mut rcgen::CertificateParams, fault: Option<TlsFault>) {
    match fault {
        Some(TlsFault::Expired) => {
            params.not_before = rcgen::date_time_ymd(2000, 1, 1);
            params.not_after = rcgen::date_time_ymd(2001, 1, 1);
        }
        Some(TlsFault::NotYetValid) => {
            params.not_before = rcgen::date_time_ymd(4000, 1, 1);
            params.not_after = rcgen::date_time_ymd(4001, 1, 1);
        }
        Some(TlsFault::WrongHost) => {
            // Invariant: the literal is ASCII, so it is a valid IA5String.
            let name = "wrong.host.invalid".try_into().expect("ASCII name");
            params.subject_alt_names = vec![rcgen::SanType::DnsName(name)];
            params.distinguished_name = rcgen::DistinguishedName::new();
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, "wrong.host.invalid");
        }
        Some(TlsFault::SelfSignedLeaf) => {
            // RFC 5280 §4.2.1.9: cA TRUE; keyCertSign so it is a usable CA as well.
            params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            params.key_usages.push(rcgen::KeyUsagePurpose::KeyCertSign);
            params.use_authority_key_identifier_extension = false;
        }
        _ => {}
    }
}

/// A certificate resolver that finds nothing: rustls then ends the handshake with a fatal
/// `access_denied` alert (RFC 8446 §6.2) right after the ClientHello.
#[derive(Debug)]
struct NoCertificate;

impl ResolvesServerCert for NoCertificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Handshake in memory with a client trusting `ca_der`; the client's error, if any.
    fn verdict(made: &SelfSigned, name: &str) -> Option<rustls::Error> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(made.ca_der.clone()).expect("CA parses");
        let client = crate::tls::client_config(roots);
        let server_name = rustls_pki_types::ServerName::try_from(name.to_string()).expect("name");
        let mut c = rustls::ClientConnection::new(client, server_name).expect("client");
        let mut s = rustls::ServerConnection::new(made.config.clone()).expect("server");
        for _ in 0..10 {
            let mut buf = Vec::new();
            while c.wants_write() {
                c.write_tls(&mut buf).expect("client writes");
            }
            s.read_tls(&mut &buf[..]).expect("server reads");
            let server_failed = s.process_new_packets().is_err();
            buf.clear();
            while s.wants_write() {
                s.write_tls(&mut buf).expect("server writes");
            }
            c.read_tls(&mut &buf[..]).expect("client reads");
            if let Err(e) = c.process_new_packets() {
                return Some(e);
            }
            if server_failed {
                return Some(rustls::Error::General("server failed".into()));
            }
        }
        assert!(!c.is_handshaking(), "handshake did not finish");
        None
    }

    #[test]
    fn each_certificate_fault_is_refused_by_a_trusting_client() {
        use rustls::CertificateError as C;
        type Expect = fn(&C) -> bool;
        let table: [(TlsFault, Expect); 5] = [
            (TlsFault::Expired, |e| matches!(e, C::ExpiredContext { .. })),
            (TlsFault::NotYetValid, |e| {
                matches!(e, C::NotValidYetContext { .. })
            }),
            (TlsFault::WrongHost, |e| {
                matches!(e, C::NotValidForNameContext { .. })
            }),
            (TlsFault::Untrusted, |e| matches!(e, C::UnknownIssuer)),
            (TlsFault::SelfSignedLeaf, |e| matches!(e, C::Other(_))),
        ];
        for (fault, expected) in table {
            let made = self_signed(Some(fault), None).expect("generated");
            match verdict(&made, "localhost") {
                Some(rustls::Error::InvalidCertificate(e)) => {
                    assert!(expected(&e), "{fault:?}: {e:?}")
                }
                other => panic!("{fault:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn tls_level_faults_keep_a_valid_certificate() {
        for fault in [TlsFault::HandshakeStall, TlsFault::NoCloseNotify] {
            let made = self_signed(Some(fault), None).expect("generated");
            assert_eq!(verdict(&made, "127.0.0.1"), None, "{fault:?}");
        }
        let alert = self_signed(Some(TlsFault::HandshakeAlert), None).expect("generated");
        let got = verdict(&alert, "localhost");
        assert_eq!(
            got,
            Some(rustls::Error::AlertReceived(
                rustls::AlertDescription::AccessDenied
            ))
        );
    }

    #[test]
    fn versions_parse_and_restrict() {
        for (text, want) in [
            ("1.2", Some(TlsVersion::Tls12)),
            ("TLSv1.3", Some(TlsVersion::Tls13)),
            ("tls1.2", Some(TlsVersion::Tls12)),
            ("1.1", None),
            ("", None),
        ] {
            assert_eq!(text.parse::<TlsVersion>().ok(), want, "{text}");
        }
        let made = self_signed(None, Some(TlsVersion::Tls12)).expect("generated");
        assert_eq!(verdict(&made, "::1"), None);
    }
}
