//! The crate's `Error`: everything a user can hit, each mapping to one exit code (the README's
//! table). The sans-IO core's `ProtoError` lives in `proto` and is re-exported here, so
//! `rawhttp::error::ProtoError` keeps working.

use std::fmt;
use std::io;

pub use crate::proto::ProtoError;

/// Everything a user can hit. Display is short and lower-case: `<what failed>: <why>`;
/// `main` prefixes `rawhttp: ` and fetch appends ` (<url>)` through [`Error::AtUrl`].
#[derive(Debug)]
pub enum Error {
    /// Bad flag, argument or configuration (exit 2).
    Usage(String),
    /// A URL scheme other than http or https (exit 1).
    UnsupportedScheme(String),
    /// A URL that does not parse (exit 3).
    BadUrl(String),
    /// The host name did not resolve (exit 6).
    Resolve {
        /// The name that did not resolve.
        host: String,
        /// The resolver's reason.
        why: String,
    },
    /// Every address refused or failed (exit 7).
    Connect(String),
    /// The response could not be parsed or contradicts itself (exit 8; head caps are 56).
    Protocol(ProtoError),
    /// Body shorter than announced, or a chunked body cut off (exit 18).
    Truncated {
        /// Body bytes received before the end.
        received: u64,
        /// Bytes announced by Content-Length (`None` for a cut chunked body).
        expected: Option<u64>,
    },
    /// HTTP status >= 400 without --no-fail (exit 22).
    HttpStatus(u16),
    /// Writing the output failed (exit 23).
    Write(io::Error),
    /// A timeout fired; the string names which one (exit 28).
    Timeout(&'static str),
    /// Resume impossible (exit 33).
    ResumeImpossible(String),
    /// The TLS handshake failed for a reason other than trust (exit 35).
    TlsHandshake(String),
    /// Too many redirects, or a loop (exit 47).
    TooManyRedirects(String),
    /// The server closed without sending anything (exit 52).
    EmptyReply,
    /// Receiving failed: reset or read error (exit 56).
    Receive(io::Error),
    /// The server's certificate is not trusted (exit 60).
    CertNotTrusted(String),
    /// The body is larger than --max-filesize (exit 63).
    FileTooLarge {
        /// The `--max-filesize` limit.
        limit: u64,
    },
    /// --cacert unreadable or invalid (exit 77).
    CaCert(String),
    /// The server could not bind its address (exit 1).
    Bind(String),
    /// Any other runtime failure (exit 1).
    Io(io::Error),
    /// Another error, with the URL it happened on (same exit code as the inner error).
    AtUrl {
        /// The URL being fetched.
        url: String,
        /// What went wrong there.
        error: Box<Error>,
    },
    /// A redirect we will not follow: an https -> http downgrade without -k (exit 47).
    RedirectRefused(String),
    /// The saved bytes do not hash to `--expect-sha256` (exit 32; curl has no such code).
    ChecksumMismatch {
        /// The digest asked for, lower-case hex.
        expected: String,
        /// The digest of the bytes received, lower-case hex.
        got: String,
    },
    /// A compressed body (Content-Encoding) that does not decode (exit 61, as curl), or whose
    /// compressed stream ends early (`truncated`: exit 18, as any cut-off body).
    Decoding {
        /// What the decoder said.
        why: String,
        /// The compressed stream ended early (exit 18) rather than being corrupt (exit 61).
        truncated: bool,
    },
    /// The proxy's name did not resolve, or the proxy URL is malformed (exit 5, curl's).
    ProxyResolve {
        /// The proxy as given or as `host:port`.
        proxy: String,
        /// What the resolver or the URL parser said.
        why: String,
    },
    /// The proxy refused or broke a CONNECT tunnel (exit 56, as curl).
    ProxyTunnel {
        /// The proxy's status, when it answered at all.
        status: Option<u16>,
        /// What happened, in words.
        why: String,
    },
}

impl Error {
    /// The process exit code for this error (the README's table; curl's numbers).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => 2,
            Error::UnsupportedScheme(_) => 1,
            Error::BadUrl(_) => 3,
            Error::Resolve { .. } => 6,
            Error::Connect(_) => 7,
            Error::Protocol(ProtoError::HeadTooLarge { .. })
            | Error::Protocol(ProtoError::TooManyHeaders { .. }) => 56,
            Error::Protocol(_) => 8,
            Error::Truncated { .. } => 18,
            Error::HttpStatus(_) => 22,
            Error::Write(_) => 23,
            Error::Timeout(_) => 28,
            Error::ResumeImpossible(_) => 33,
            Error::TlsHandshake(_) => 35,
            Error::TooManyRedirects(_) => 47,
            Error::EmptyReply => 52,
            Error::Receive(_) => 56,
            Error::CertNotTrusted(_) => 60,
            Error::FileTooLarge { .. } => 63,
            Error::CaCert(_) => 77,
            Error::Bind(_) | Error::Io(_) => 1,
            Error::AtUrl { error, .. } => error.exit_code(),
            Error::RedirectRefused(_) => 47,
            Error::ChecksumMismatch { .. } => 32,
            Error::Decoding {
                truncated: true, ..
            } => 18,
            Error::Decoding { .. } => 61,
            Error::ProxyResolve { .. } => 5,
            Error::ProxyTunnel { .. } => 56,
        }
    }

    /// Wrap with the URL it happened on, once.
    pub fn at_url(self, url: &str) -> Error {
        match self {
            Error::AtUrl { .. } => self,
            other => Error::AtUrl {
                url: url.to_string(),
                error: Box::new(other),
            },
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(why) => write!(f, "usage: {why}"),
            Error::UnsupportedScheme(s) => write!(f, "unsupported scheme: {s}"),
            Error::BadUrl(why) => write!(f, "malformed URL: {why}"),
            Error::Resolve { host, why } => write!(f, "could not resolve host {host}: {why}"),
            Error::Connect(why) => write!(f, "connect failed: {why}"),
            Error::Protocol(e) => write!(f, "bad response: {e}"),
            Error::Truncated { received, expected } => write_truncated(f, *received, *expected),
            Error::HttpStatus(code) => write!(f, "server answered {code}: not saved"),
            Error::Write(e) => write!(f, "writing output failed: {e}"),
            Error::Timeout(which) => write!(f, "timed out: {which}"),
            Error::ResumeImpossible(why) => write!(f, "cannot resume: {why}"),
            Error::TlsHandshake(why) => write!(f, "TLS handshake failed: {why}"),
            Error::TooManyRedirects(why) => write!(f, "too many redirects: {why}"),
            Error::EmptyReply => f.write_str("empty reply: server closed without a response"),
            Error::Receive(e) => write!(f, "receive failed: {e}"),
            Error::CertNotTrusted(why) => write!(f, "certificate not trusted: {why}"),
            Error::FileTooLarge { limit } => {
                write!(f, "body too large: over the {limit}-byte limit")
            }
            Error::CaCert(why) => write!(f, "bad CA certificate file: {why}"),
            Error::Bind(why) => write!(f, "cannot listen: {why}"),
            Error::Io(e) => write!(f, "{e}"),
            Error::AtUrl { url, error } => write!(f, "{error} ({url})"),
            Error::RedirectRefused(why) => write!(f, "redirect refused: {why}"),
            Error::ChecksumMismatch { expected, got } => write!(
                f,
                "checksum mismatch: expected sha256 {expected}, got {got}; not saved"
            ),
            Error::Decoding {
                why,
                truncated: true,
            } => write!(f, "transfer cut short: compressed body ends early: {why}"),
            Error::Decoding { why, .. } => write!(f, "cannot decode the body: {why}"),
            Error::ProxyResolve { proxy, why } => {
                write!(f, "could not resolve proxy {proxy}: {why}")
            }
            Error::ProxyTunnel { why, .. } => write!(f, "proxy tunnel failed: {why}"),
        }
    }
}

/// `Error::Truncated`'s Display: how much came, and of how much when a length was announced.
fn write_truncated(
    f: &mut fmt::Formatter<'_>,
    received: u64,
    expected: Option<u64>,
) -> fmt::Result {
    match expected {
        Some(n) => write!(f, "transfer cut short: received {received} of {n} bytes"),
        None => write!(
            f,
            "transfer cut short: chunked body ended after {received} bytes"
        ),
    }
}

impl std::error::Error for Error {}

/// Recover the crate's error from an `io::Error`, as [`crate::fetch::Response`]'s `io::Read`
/// returns it: `response.read_to_end(&mut body).map_err(rawhttp::Error::from)?` gives back
/// the `Error` the body read failed with (truncation, timeout ...), one layer, not two. Any other
/// `io::Error` becomes [`Error::Io`].
impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        if !e.get_ref().is_some_and(|inner| inner.is::<Error>()) {
            return Error::Io(e);
        }
        let kind = e.kind();
        match e.into_inner().map(|inner| inner.downcast::<Error>()) {
            Some(Ok(inner)) => *inner,
            Some(Err(other)) => Error::Io(io::Error::new(kind, other)),
            None => Error::Io(kind.into()),
        }
    }
}

impl From<ProtoError> for Error {
    fn from(e: ProtoError) -> Self {
        Error::Protocol(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_caps_map_to_56_and_other_protocol_errors_to_8() {
        assert_eq!(
            Error::Protocol(ProtoError::HeadTooLarge { limit: 1 }).exit_code(),
            56
        );
        assert_eq!(
            Error::Protocol(ProtoError::TooManyHeaders { limit: 1 }).exit_code(),
            56
        );
        assert_eq!(Error::Protocol(ProtoError::BadChunkSize).exit_code(), 8);
    }

    #[test]
    fn an_io_error_gives_back_the_crate_error_it_carries() {
        let wrapped = io::Error::new(io::ErrorKind::UnexpectedEof, Error::EmptyReply);
        assert!(matches!(Error::from(wrapped), Error::EmptyReply));
        let plain = io::Error::new(io::ErrorKind::PermissionDenied, "nope");
        let e = Error::from(plain);
        assert_eq!(e.exit_code(), 1);
        assert_eq!(e.to_string(), "nope");
    }

    #[test]
    fn at_url_appends_the_url_and_keeps_the_code() {
        let e = Error::EmptyReply.at_url("http://x/").at_url("http://y/");
        assert_eq!(e.exit_code(), 52);
        assert_eq!(
            e.to_string(),
            "empty reply: server closed without a response (http://x/)"
        );
    }
}
