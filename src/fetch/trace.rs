//! What `-v` shows, as curl does: connection facts (`* `), the request head sent (`> `) and
//! every response head received (`< `). The client reports [`TraceEvent`]s to an optional
//! [`Tracer`]; formatting them into lines is a pure function here. Nothing goes to stdout.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::pki_types::CertificateDer;

/// One thing worth showing about a request as it happens.
#[derive(Debug)]
pub enum TraceEvent<'a> {
    /// A new TCP connection to `addr` for `host`.
    Connected {
        /// The host name from the URL.
        host: &'a str,
        /// The address connected to.
        addr: SocketAddr,
    },
    /// A kept-alive connection from the pool is used again.
    Reused {
        /// The host name from the URL.
        host: &'a str,
        /// The address of the reused connection.
        addr: SocketAddr,
    },
    /// The TLS handshake finished.
    Tls(&'a TlsFacts),
    /// The request head as written.
    RequestHead(&'a [u8]),
    /// A response head as received (redirects and the final one).
    ResponseHead(&'a [u8]),
}

/// What the TLS handshake settled, and who the server's certificate says it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFacts {
    /// `TLSv1.3`.
    pub version: String,
    /// `TLS_AES_256_GCM_SHA384` (the IANA name).
    pub cipher: String,
    /// The protocol the server chose by ALPN (RFC 7301), if any.
    pub alpn: Option<String>,
    /// The leaf certificate's subject and issuer (RFC 4514 strings) and expiry.
    pub subject: Option<String>,
    /// The leaf certificate's issuer (RFC 4514).
    pub issuer: Option<String>,
    /// The leaf certificate's expiry.
    pub not_after: Option<SystemTime>,
}

impl TlsFacts {
    /// The facts of a finished handshake.
    pub fn of(conn: &rustls::CommonState) -> TlsFacts {
        let leaf = conn.peer_certificates().and_then(|c| c.first());
        let (subject, issuer, not_after) = leaf.map_or((None, None, None), certificate_facts);
        TlsFacts {
            version: conn
                .protocol_version()
                .map_or("unknown".into(), version_name),
            cipher: conn
                .negotiated_cipher_suite()
                .map_or("unknown".into(), |s| iana_name(&format!("{:?}", s.suite()))),
            alpn: conn
                .alpn_protocol()
                .map(|p| String::from_utf8_lossy(p).into_owned()),
            subject,
            issuer,
            not_after,
        }
    }
}

/// `TLSv1.2` / `TLSv1.3`, as curl and OpenSSL name them.
fn version_name(v: rustls::ProtocolVersion) -> String {
    match v {
        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".into(),
        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".into(),
        other => format!("{other:?}"),
    }
}

/// rustls calls TLS 1.3 suites `TLS13_AES_...`; their registered name (RFC 8446 §B.4), which
/// curl and OpenSSL print, is `TLS_AES_...`.
fn iana_name(rustls_name: &str) -> String {
    match rustls_name.strip_prefix("TLS13_") {
        Some(rest) => format!("TLS_{rest}"),
        None => rustls_name.to_string(),
    }
}

type CertFacts = (Option<String>, Option<String>, Option<SystemTime>);

/// Subject, issuer and notAfter of a DER certificate; nothing when it does not parse (it
/// was verified already, or verification is off and it may be anything).
fn certificate_facts(der: &CertificateDer<'_>) -> CertFacts {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der.as_ref()) else {
        return (None, None, None);
    };
    let secs = cert.validity().not_after.timestamp();
    let not_after = u64::try_from(secs)
        .ok()
        .and_then(|s| UNIX_EPOCH.checked_add(Duration::from_secs(s)));
    (
        Some(cert.subject().to_string()),
        Some(cert.issuer().to_string()),
        not_after,
    )
}

/// A callback that receives every [`TraceEvent`] of a request (`Request::trace`).
#[derive(Clone)]
pub struct Tracer(Arc<dyn Fn(&TraceEvent<'_>) + Send + Sync>);

impl Tracer {
    /// Call `f` with each event, on the thread that sends the request.
    pub fn new(f: impl Fn(&TraceEvent<'_>) + Send + Sync + 'static) -> Tracer {
        Tracer(Arc::new(f))
    }

    /// Report one event.
    pub fn emit(&self, event: &TraceEvent<'_>) {
        (self.0)(event)
    }
}

impl fmt::Debug for Tracer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Tracer")
    }
}

/// An event as curl's `-v` lines, each ending in `\n`: `* ` facts, `> ` request and `< `
/// response head lines (the blank line that ends a head included, as a bare prefix).
pub fn verbose_lines(event: &TraceEvent<'_>) -> String {
    match event {
        TraceEvent::Connected { host, addr } => {
            format!(
                "* Connected to {host} ({}) port {}\n",
                addr.ip(),
                addr.port()
            )
        }
        TraceEvent::Reused { host, addr } => format!(
            "* Re-using existing connection with host {host} ({}) port {}\n",
            addr.ip(),
            addr.port()
        ),
        TraceEvent::Tls(facts) => tls_lines(facts),
        TraceEvent::RequestHead(head) => prefixed("> ", head),
        TraceEvent::ResponseHead(head) => prefixed("< ", head),
    }
}

fn tls_lines(t: &TlsFacts) -> String {
    let mut out = format!("* SSL connection using {} / {}\n", t.version, t.cipher);
    match &t.alpn {
        Some(p) => out.push_str(&format!("* ALPN: server accepted {p}\n")),
        None => out.push_str("* ALPN: server did not agree on a protocol\n"),
    }
    out.push_str("* Server certificate:\n");
    let unknown = || "(unparsable)".to_string();
    out.push_str(&format!(
        "*  subject: {}\n",
        t.subject.clone().unwrap_or_else(unknown)
    ));
    let expiry = t.not_after.map_or_else(unknown, httpdate::fmt_http_date);
    out.push_str(&format!("*  expire date: {expiry}\n"));
    out.push_str(&format!(
        "*  issuer: {}\n",
        t.issuer.clone().unwrap_or_else(unknown)
    ));
    out
}

/// Each line of a head with `prefix`, line ends normalised to `\n`; bytes that are not
/// printable ASCII are shown escaped so a hostile head cannot drive the terminal.
fn prefixed(prefix: &str, head: &[u8]) -> String {
    let mut out = String::new();
    let text = head.strip_suffix(b"\n").unwrap_or(head);
    for line in text.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        out.push_str(prefix);
        for &b in line {
            match b {
                b' '..=b'~' | b'\t' => out.push(b as char),
                _ => out.push_str(&format!("\\x{b:02x}")),
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_become_prefixed_lines_ending_with_a_bare_prefix() {
        let req = TraceEvent::RequestHead(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(verbose_lines(&req), "> GET / HTTP/1.1\n> Host: a\n> \n");
        let resp = TraceEvent::ResponseHead(b"HTTP/1.1 200 OK\nX: y\n\n");
        assert_eq!(verbose_lines(&resp), "< HTTP/1.1 200 OK\n< X: y\n< \n");
        let hostile = TraceEvent::ResponseHead(b"HTTP/1.1 200 \x1b[2J\xff\r\n\r\n");
        assert_eq!(
            verbose_lines(&hostile),
            "< HTTP/1.1 200 \\x1b[2J\\xff\n< \n"
        );
    }

    #[test]
    fn connection_and_tls_facts_read_like_curl() {
        let addr: SocketAddr = "[::1]:8443".parse().expect("addr");
        assert_eq!(
            verbose_lines(&TraceEvent::Connected {
                host: "localhost",
                addr
            }),
            "* Connected to localhost (::1) port 8443\n"
        );
        let facts = TlsFacts {
            version: "TLSv1.3".into(),
            cipher: iana_name("TLS13_AES_128_GCM_SHA256"),
            alpn: Some("http/1.1".into()),
            subject: Some("CN=localhost".into()),
            issuer: None,
            not_after: Some(UNIX_EPOCH + Duration::from_secs(784111777)),
        };
        assert_eq!(
            verbose_lines(&TraceEvent::Tls(&facts)),
            "* SSL connection using TLSv1.3 / TLS_AES_128_GCM_SHA256\n\
             * ALPN: server accepted http/1.1\n\
             * Server certificate:\n\
             *  subject: CN=localhost\n\
             *  expire date: Sun, 06 Nov 1994 08:49:37 GMT\n\
             *  issuer: (unparsable)\n"
        );
    }
}
