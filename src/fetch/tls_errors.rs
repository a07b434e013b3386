//! English for TLS failures: rustls and webpki errors turned into the `<why>` of the one stderr
//! line (`certificate not trusted: expired on …`), never a Debug dump. Pure functions over error
//! values; nothing here touches a socket.

use std::time::{Duration, UNIX_EPOCH};

use rustls::pki_types::{ServerName, UnixTime};
use rustls::{CertificateError, Error as TlsError};

/// Why a certificate was refused, as a user reads it after `certificate not trusted: `.
pub(super) fn describe_certificate_error(e: &CertificateError) -> String {
    use CertificateError as C;
    #[allow(deprecated)] // rustls still returns the context-free variants in places
    let why = match e {
        C::BadEncoding => "the certificate is malformed".into(),
        C::Expired => "the certificate has expired".into(),
        C::ExpiredContext { not_after, .. } => format!("expired on {}", date(*not_after)),
        C::NotValidYet => "the certificate is not valid yet".into(),
        C::NotValidYetContext { not_before, .. } => {
            format!("not valid before {}", date(*not_before))
        }
        C::Revoked => "the certificate has been revoked".into(),
        C::UnhandledCriticalExtension => {
            "the certificate has a critical extension this client does not understand".into()
        }
        C::UnknownIssuer => UNKNOWN_ISSUER.into(),
        C::UnknownRevocationStatus => "the certificate's revocation status is unknown".into(),
        C::ExpiredRevocationList | C::ExpiredRevocationListContext { .. } => {
            "the certificate revocation list has expired".into()
        }
        C::BadSignature => "the certificate's signature does not verify".into(),
        C::UnsupportedSignatureAlgorithm
        | C::UnsupportedSignatureAlgorithmContext { .. }
        | C::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
            "the certificate is signed with an unsupported algorithm".into()
        }
        C::NotValidForName => "the certificate is not valid for this host name".into(),
        C::NotValidForNameContext {
            expected,
            presented,
        } => wrong_host(expected, presented),
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => NOT_FOR_SERVERS.into(),
        C::InvalidOcspResponse => "the server's OCSP response is invalid".into(),
        C::ApplicationVerificationFailure => "the certificate was refused".into(),
        C::Other(other) => match other.0.downcast_ref::<webpki::Error>() {
            Some(e) => describe_webpki_error(e).into(),
            None => format!("the certificate was refused: {}", other.0),
        },
        _ => "the certificate could not be verified".into(),
    };
    why
}

const UNKNOWN_ISSUER: &str =
    "unknown issuer: no trusted authority signed it (trust its CA, or the certificate itself, \
     with --cacert)";
const NOT_FOR_SERVERS: &str =
    "the certificate is not meant for TLS servers (its extended key usage)";

/// webpki's own errors, which rustls passes on as `CertificateError::Other`.
pub(super) fn describe_webpki_error(e: &webpki::Error) -> &'static str {
    use webpki::Error as W;
    #[allow(deprecated)]
    match e {
        W::CaUsedAsEndEntity => {
            "the server presented a CA certificate (CA:TRUE) as its own; give that exact \
             certificate with --cacert to trust it"
        }
        W::EndEntityUsedAsCa => "a server certificate was used to sign another certificate",
        W::PathLenConstraintViolated => {
            "the chain is longer than an authority in it allows (path length constraint)"
        }
        W::NameConstraintViolation => {
            "the host name is outside the names its authority may certify (name constraints)"
        }
        W::RequiredEkuNotFound | W::RequiredEkuNotFoundContext(_) | W::EmptyEkuExtension => {
            NOT_FOR_SERVERS
        }
        W::CertDistrusted => "the certificate is distrusted",
        W::CertRevoked => "the certificate has been revoked",
        W::UnknownIssuer => UNKNOWN_ISSUER,
        W::CertExpired { .. } | W::InvalidCertValidity => "the certificate has expired",
        W::CertNotValidYet { .. } => "the certificate is not valid yet",
        W::CertNotValidForName(_) => "the certificate is not valid for this host name",
        W::InvalidSignatureForPublicKey => "the certificate's signature does not verify",
        W::UnsupportedSignatureAlgorithm
        | W::UnsupportedSignatureAlgorithmContext(_)
        | W::UnsupportedSignatureAlgorithmForPublicKey
        | W::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            "the certificate is signed with an unsupported algorithm"
        }
        W::MaximumPathDepthExceeded
        | W::MaximumPathBuildCallsExceeded
        | W::MaximumSignatureChecksExceeded
        | W::MaximumNameConstraintComparisonsExceeded => {
            "the certificate chain is too long or too complex to verify"
        }
        W::UnknownRevocationStatus => "the certificate's revocation status is unknown",
        W::BadDer
        | W::BadDerTime
        | W::TrailingData(_)
        | W::MalformedDnsIdentifier
        | W::MalformedExtensions
        | W::MalformedNameConstraint
        | W::ExtensionValueInvalid
        | W::InvalidSerialNumber
        | W::SignatureAlgorithmMismatch => "the certificate is malformed",
        _ => "the certificate could not be verified",
    }
}

/// `issued for a.example, b.example, not 127.0.0.1`: the names the certificate holds (its
/// subjectAltName entries, RFC 6125 §6.4: the only names checked) and the one asked for.
fn wrong_host(expected: &ServerName<'_>, presented: &[String]) -> String {
    let wanted = server_name_text(expected);
    let names: Vec<String> = presented.iter().filter_map(|p| presented_name(p)).collect();
    if names.is_empty() {
        return format!("the certificate names no host (no subjectAltName), not {wanted}");
    }
    format!("the certificate is for {}, not {wanted}", names.join(", "))
}

/// A host name or IP address as the user typed it.
fn server_name_text(name: &ServerName<'_>) -> String {
    match name {
        ServerName::DnsName(d) => d.as_ref().to_string(),
        ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
        _ => "this host".into(),
    }
}

/// webpki reports presented names in its Debug form (`DnsName("a.example")`,
/// `IpAddress(127.0.0.1)`); keep the name, drop kinds a host is never matched against.
pub(super) fn presented_name(debug: &str) -> Option<String> {
    let inner = |prefix: &str| {
        debug
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(')'))
    };
    if let Some(quoted) = inner("DnsName(") {
        return Some(quoted.trim_matches('"').to_string());
    }
    inner("IpAddress(").map(str::to_string)
}

/// A certificate date as an HTTP date (RFC 9110 §5.6.7), clamped to what the format holds.
fn date(t: UnixTime) -> String {
    // The last second of 9999: later dates do not fit the format (and httpdate refuses them).
    const LAST: u64 = 253_402_300_799;
    let secs = t.as_secs().min(LAST);
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(secs))
}

/// Why a TLS handshake (or a later record) failed, for exit 35 and receive errors.
pub(super) fn describe_tls_error(e: &TlsError) -> String {
    match e {
        TlsError::InvalidCertificate(c) => describe_certificate_error(c),
        TlsError::InvalidMessage(_) => {
            "the reply is not TLS (is it a plain HTTP server on an https URL?)".into()
        }
        TlsError::InappropriateMessage { .. } | TlsError::InappropriateHandshakeMessage { .. } => {
            "the server sent an unexpected TLS message".into()
        }
        TlsError::PeerIncompatible(_) => {
            "the server offers no TLS version or cipher suite this client accepts".into()
        }
        TlsError::PeerMisbehaved(_) => "the server broke the TLS protocol".into(),
        TlsError::AlertReceived(alert) => format!(
            "the server refused the connection (TLS alert: {})",
            camel_to_words(&format!("{alert:?}"))
        ),
        TlsError::NoCertificatesPresented => "the server sent no certificate".into(),
        TlsError::DecryptError => "a TLS record did not decrypt".into(),
        TlsError::PeerSentOversizedRecord => "the server sent an oversized TLS record".into(),
        TlsError::NoApplicationProtocol => "the server does not speak HTTP/1.1 (ALPN)".into(),
        TlsError::General(why) => why.clone(),
        _ => "the TLS connection failed".into(),
    }
}

/// `HandshakeFailure` -> `handshake failure`; `Unknown(42)` stays as it is.
pub(super) fn camel_to_words(name: &str) -> String {
    if !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return name.to_string();
    }
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push(' ');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::DnsName;
    use rustls::{AlertDescription, OtherError};
    use std::sync::Arc;

    fn at(secs: u64) -> UnixTime {
        UnixTime::since_unix_epoch(Duration::from_secs(secs))
    }

    fn dns(name: &str) -> ServerName<'static> {
        ServerName::DnsName(DnsName::try_from(name.to_string()).expect("valid name"))
    }

    fn other(e: webpki::Error) -> CertificateError {
        CertificateError::Other(OtherError(Arc::new(e)))
    }

    #[test]
    fn certificate_dates_and_names_read_as_english() {
        let ip = ServerName::IpAddress(std::net::IpAddr::from([127, 0, 0, 1]).into());
        let table: Vec<(CertificateError, &str)> = vec![
            (
                CertificateError::ExpiredContext {
                    time: at(1_700_000_000),
                    not_after: at(978_307_200),
                },
                "expired on Mon, 01 Jan 2001 00:00:00 GMT",
            ),
            (
                CertificateError::NotValidYetContext {
                    time: at(0),
                    not_before: at(u64::MAX),
                },
                "not valid before Fri, 31 Dec 9999 23:59:59 GMT",
            ),
            (
                CertificateError::NotValidForNameContext {
                    expected: ip.clone(),
                    presented: vec![
                        r#"DnsName("wrong.example")"#.into(),
                        "IpAddress(10.0.0.1)".into(),
                        "DirectoryName".into(),
                    ],
                },
                "the certificate is for wrong.example, 10.0.0.1, not 127.0.0.1",
            ),
            (
                CertificateError::NotValidForNameContext {
                    expected: dns("localhost"),
                    presented: vec![],
                },
                "the certificate names no host (no subjectAltName), not localhost",
            ),
        ];
        for (error, want) in table {
            assert_eq!(describe_certificate_error(&error), want, "{error:?}");
        }
    }

    #[test]
    fn certificate_errors_read_as_english() {
        let table: Vec<(CertificateError, &str)> = vec![
            (CertificateError::UnknownIssuer, UNKNOWN_ISSUER),
            (
                CertificateError::Revoked,
                "the certificate has been revoked",
            ),
            (
                CertificateError::BadSignature,
                "the certificate's signature does not verify",
            ),
            (
                other(webpki::Error::CaUsedAsEndEntity),
                "the server presented a CA certificate (CA:TRUE) as its own; give that exact \
                 certificate with --cacert to trust it",
            ),
            (other(webpki::Error::EmptyEkuExtension), NOT_FOR_SERVERS),
            (other(webpki::Error::BadDer), "the certificate is malformed"),
        ];
        for (error, want) in table {
            assert_eq!(describe_certificate_error(&error), want, "{error:?}");
        }
    }

    #[test]
    fn no_description_is_a_debug_dump() {
        let errors = [
            CertificateError::Expired,
            CertificateError::NotValidYet,
            CertificateError::NotValidForName,
            CertificateError::UnhandledCriticalExtension,
            CertificateError::BadEncoding,
            CertificateError::ApplicationVerificationFailure,
            other(webpki::Error::EndEntityUsedAsCa),
            other(webpki::Error::PathLenConstraintViolated),
            other(webpki::Error::MaximumPathDepthExceeded),
        ];
        for e in errors {
            let why = describe_certificate_error(&e);
            assert!(!looks_like_debug(&why), "{why}");
            assert!(why.starts_with(char::is_lowercase), "{why}");
        }
        assert!(looks_like_debug("Other(OtherError(CaUsedAsEndEntity))"));
        assert!(looks_like_debug(r#"DnsName("x")"#));
    }

    /// A Rust identifier glued in camel case (`OtherError`), or a quoted or braced field.
    fn looks_like_debug(s: &str) -> bool {
        let camel = s
            .as_bytes()
            .windows(2)
            .any(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase());
        camel || s.contains("(\"") || s.contains('{')
    }

    #[test]
    fn tls_errors_read_as_english() {
        let alert = TlsError::AlertReceived(AlertDescription::HandshakeFailure);
        assert_eq!(
            describe_tls_error(&alert),
            "the server refused the connection (TLS alert: handshake failure)"
        );
        let plain = TlsError::InvalidMessage(rustls::InvalidMessage::InvalidContentType);
        assert_eq!(
            describe_tls_error(&plain),
            "the reply is not TLS (is it a plain HTTP server on an https URL?)"
        );
        assert_eq!(camel_to_words("Unknown(42)"), "Unknown(42)");
        assert_eq!(camel_to_words("BadCertificate"), "bad certificate");
    }

    #[test]
    fn presented_names_keep_hosts_only() {
        assert_eq!(
            presented_name(r#"DnsName("a.example")"#),
            Some("a.example".into())
        );
        assert_eq!(presented_name("IpAddress(::1)"), Some("::1".into()));
        assert_eq!(presented_name("Unsupported(0x86)"), None);
        assert_eq!(presented_name(""), None);
    }
}
