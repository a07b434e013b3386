//! The CONNECT tunnel through an HTTP proxy for https URLs (RFC 9110 §9.3.6): ask for
//! `CONNECT host:port`, accept any 2xx, and hand back the socket as a byte pipe to the origin.
//! TLS with the origin is `connect`'s job afterwards; which proxy to use is `proxy`'s.

use std::net::TcpStream;

use super::body::{Incoming, TimedStream};
use super::connect::Stream;
use super::exchange::{read_final_head, write_request};
use super::proxy::Proxy;
use super::request_writer;
use super::trace::{TraceEvent, Tracer};
use crate::proto::response_head::ResponseHead;
use crate::proto::Headers;
use crate::Error;

/// One tunnel to ask a proxy for.
pub(super) struct Tunnel<'a> {
    /// The proxy asked.
    pub(super) proxy: &'a Proxy,
    /// The origin as `host:port` (the authority-form target of CONNECT).
    pub(super) authority: String,
    /// Sent as `User-Agent`, as on the request itself.
    pub(super) user_agent: &'a str,
    /// Told the CONNECT request and reply heads (`-v`).
    pub(super) trace: Option<&'a Tracer>,
}

impl Tunnel<'_> {
    /// Send CONNECT on `timed` (the plain connection to the proxy) and return the socket once
    /// the proxy answered 2xx with nothing after its head.
    pub(super) fn open(&self, mut timed: TimedStream) -> Result<TcpStream, Error> {
        let bytes = self.request_bytes();
        self.emit(&TraceEvent::RequestHead(&bytes));
        write_request(&mut timed, &bytes).map_err(|e| self.no_reply(e))?;
        let mut incoming = Incoming::new(timed);
        let (head, raw) = read_final_head(&mut incoming).map_err(|e| self.no_reply(e))?;
        self.emit(&TraceEvent::ResponseHead(&raw));
        if !(200..300).contains(&head.status) {
            return Err(Error::ProxyTunnel {
                status: Some(head.status),
                why: self.refusal(&head),
            });
        }
        // Nothing may follow the reply: the origin's TLS server speaks only after our hello.
        let extra = incoming.has_buffered();
        match incoming.source.stream {
            Stream::Plain(tcp) if !extra => Ok(tcp),
            _ => Err(Error::ProxyTunnel {
                status: None,
                why: format!(
                    "proxy {} sent bytes after its CONNECT reply",
                    self.proxy.authority()
                ),
            }),
        }
    }

    /// The CONNECT request head, with the proxy URL's credentials.
    fn request_bytes(&self) -> Vec<u8> {
        let mut headers = Headers::new();
        headers.push("Host", self.authority.as_bytes());
        headers.push("User-Agent", self.user_agent.as_bytes());
        if let Some(auth) = self.proxy.authorization() {
            headers.push("Proxy-Authorization", auth.as_bytes());
        }
        request_writer::request_bytes_to("CONNECT", &self.authority, false, &headers)
    }

    /// No usable reply: a timeout stays a timeout, anything else is a tunnel failure.
    fn no_reply(&self, e: Error) -> Error {
        match e {
            Error::Timeout(_) => e,
            other => Error::ProxyTunnel {
                status: None,
                why: format!(
                    "no valid reply to CONNECT {} from proxy {}: {other}",
                    self.authority,
                    self.proxy.authority()
                ),
            },
        }
    }

    /// A proxy's refusal of CONNECT in words: 407 is the common one (RFC 9110 §15.5.8).
    fn refusal(&self, head: &ResponseHead) -> String {
        let said = format!(
            "proxy {} answered {} {} to CONNECT {}",
            self.proxy.authority(),
            head.status,
            head.reason,
            self.authority
        );
        match (head.status, self.proxy.credentials().is_some()) {
            (407, false) => {
                format!("{said} (it wants credentials: http://USER:PASSWORD@host:port)")
            }
            (407, true) => format!("{said} (it refused the credentials in the proxy URL)"),
            _ => said,
        }
    }

    fn emit(&self, event: &TraceEvent<'_>) {
        if let Some(tracer) = self.trace {
            tracer.emit(event);
        }
    }
}
