//! The library API's request: `Request` (a builder) and `send`, which picks a pooled or fresh
//! connection (through a proxy or its CONNECT tunnel when asked), follows redirects when asked,
//! and hands back a [`Response`]. One connection per request (`Connection: close`) unless a
//! [`Pool`] is given: then connections are kept alive and reused per origin (RFC 9112 §9.3).
//! No output files, no progress: that is the CLI's business.

use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::ClientConfig;
use url::{Host, Url};

use super::body::{Body, Incoming, TimedStream};
use super::connect::{self, connect_deadline, which_timeout, Family, ResolveOverride, Stream};
use super::exchange::{exchange, Answered};
use super::pool::{Origin, Pool, Route};
use super::proxy::{Proxies, Proxy};
use super::redirect::{next_hop, same_origin, Hop};
use super::request_writer::{self, HeaderEdit};
use super::response::{Lease, Response, Timings};
use super::trace::{TraceEvent, Tracer};
use super::tunnel::Tunnel;
use crate::proto::framing::{response_framing, BodyKind};
use crate::proto::limits;
use crate::proto::response_head::ResponseHead;
use crate::Error;

/// Header fields that only travel to the origin the user named (RFC 9110 §15.4: a client
/// should not forward credentials to another origin).
const ORIGIN_BOUND: [&str; 4] = ["authorization", "proxy-authorization", "cookie", "host"];

/// An HTTP request to send: `Request::get(url).header(..).send()`.
#[derive(Debug, Clone)]
pub struct Request {
    method: String,
    url: Url,
    edits: Vec<HeaderEdit>,
    user_agent: String,
    http10: bool,
    tls: Option<Arc<ClientConfig>>,
    cacert: Option<PathBuf>,
    insecure: bool,
    connect_timeout: Duration,
    read_timeout: Duration,
    max_time: Option<Duration>,
    resolve: Vec<ResolveOverride>,
    family: Family,
    max_filesize: Option<u64>,
    max_redirects: Option<u32>,
    pool: Option<Arc<Pool>>,
    close: bool,
    trace: Option<Tracer>,
    proxies: Proxies,
    /// Phase times of the request being sent (for `-w`), and when it started.
    timings: Timings,
    started: Instant,
}

impl Request {
    /// A request with `method` for `url`.
    pub fn new(method: &str, url: Url) -> Request {
        Request {
            method: method.to_string(),
            url,
            edits: Vec::new(),
            user_agent: request_writer::default_user_agent(),
            http10: false,
            tls: None,
            cacert: None,
            insecure: false,
            connect_timeout: limits::CONNECT_TIMEOUT,
            read_timeout: limits::READ_TIMEOUT,
            max_time: None,
            resolve: Vec::new(),
            family: Family::Any,
            max_filesize: None,
            max_redirects: None,
            pool: None,
            close: false,
            trace: None,
            proxies: Proxies::none(),
            timings: Timings::default(),
            started: Instant::now(),
        }
    }

    /// A GET request for `url`.
    pub fn get(url: Url) -> Request {
        Request::new("GET", url)
    }

    /// A HEAD request for `url`.
    pub fn head(url: Url) -> Request {
        Request::new("HEAD", url)
    }

    /// Change the method (a token; checked by `send`).
    pub fn method(mut self, method: &str) -> Request {
        self.method = method.to_string();
        self
    }

    /// Add a header field; the first one of a name replaces a default field of that name.
    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.edits
            .push(HeaderEdit::Set(name.to_string(), value.to_string()));
        self
    }

    /// Remove a default header field (`Host`, `User-Agent`, `Accept`, `Connection`).
    pub fn remove_header(mut self, name: &str) -> Request {
        self.edits.push(HeaderEdit::Remove(name.to_string()));
        self
    }

    /// Apply a parsed `-H` edit.
    pub fn header_edit(mut self, edit: HeaderEdit) -> Request {
        self.edits.push(edit);
        self
    }

    /// The `User-Agent` (default `rawhttp/<version>`).
    pub fn user_agent(mut self, ua: &str) -> Request {
        self.user_agent = ua.to_string();
        self
    }

    /// Send HTTP/1.0 instead of HTTP/1.1.
    pub fn http10(mut self, yes: bool) -> Request {
        self.http10 = yes;
        self
    }

    /// Use this TLS configuration for https URLs (e.g. one trusting a test server only).
    pub fn tls_config(mut self, config: Arc<ClientConfig>) -> Request {
        self.tls = Some(config);
        self
    }

    /// Trust the PEM certificates in `path` in addition to the webpki roots.
    pub fn cacert(mut self, path: impl Into<PathBuf>) -> Request {
        self.cacert = Some(path.into());
        self
    }

    /// Do not verify certificate chains; also allows https -> http redirects.
    pub fn insecure(mut self, yes: bool) -> Request {
        self.insecure = yes;
        self
    }

    /// Limit for the whole connect phase, TLS handshake included (default 10 s).
    pub fn connect_timeout(mut self, d: Duration) -> Request {
        self.connect_timeout = d;
        self
    }

    /// Longest wait for any bytes from the server (default 30 s).
    pub fn read_timeout(mut self, d: Duration) -> Request {
        self.read_timeout = d;
        self
    }

    /// Limit for the whole transfer, body included, from `send`.
    pub fn max_time(mut self, d: Duration) -> Request {
        self.max_time = Some(d);
        self
    }

    /// Connect to `addr` whenever `host:port` is asked for.
    pub fn resolve(mut self, pin: ResolveOverride) -> Request {
        self.resolve.push(pin);
        self
    }

    /// Restrict the address family.
    pub fn family(mut self, family: Family) -> Request {
        self.family = family;
        self
    }

    /// Fail (exit 63) once the body exceeds `bytes`, or up front when its length does.
    pub fn max_filesize(mut self, bytes: u64) -> Request {
        self.max_filesize = Some(bytes);
        self
    }

    /// Follow up to `max` redirects (loops are refused).
    pub fn follow_redirects(mut self, max: u32) -> Request {
        self.max_redirects = Some(max);
        self
    }

    /// Take connections from `pool` and keep them alive for it (no `Connection: close`). The
    /// connection goes back when the response is [`Response::release`]d after its body was
    /// read to the end. A request on a reused connection that the server closed before
    /// answering is sent once more on a fresh one, for idempotent methods only (RFC 9110
    /// §9.2.2, RFC 9112 §9.3.1).
    pub fn pool(mut self, pool: Arc<Pool>) -> Request {
        self.pool = Some(pool);
        self
    }

    /// With a pool: send `Connection: close` anyway (the last request a batch has for this
    /// origin), so the server closes at once instead of waiting on its idle timer.
    pub fn connection_close(mut self, yes: bool) -> Request {
        self.close = yes;
        self
    }

    /// Report connection facts and every head sent and received to `tracer`, as they happen
    /// (what `rawhttp fetch -v` prints; see [`super::trace::verbose_lines`]).
    pub fn trace(mut self, tracer: Tracer) -> Request {
        self.trace = Some(tracer);
        self
    }

    fn emit(&self, event: &TraceEvent<'_>) {
        if let Some(tracer) = &self.trace {
            tracer.emit(event);
        }
    }

    /// Report that a kept-alive connection is used again.
    fn emit_reused(&self, url: &Url, stream: &Stream) {
        // Asked only when tracing: getpeername(2) per reused request adds up in a batch.
        let Some(tracer) = &self.trace else {
            return;
        };
        if let Ok(addr) = stream.tcp().peer_addr() {
            let host = url.host_str().unwrap_or_default();
            tracer.emit(&TraceEvent::Reused { host, addr });
        }
    }

    /// Write the request, read the final head, and report both to the tracer.
    fn traced_exchange(
        &self,
        stream: Stream,
        bytes: &[u8],
        deadline: Option<Instant>,
    ) -> Result<Answered, (Error, bool)> {
        self.emit(&TraceEvent::RequestHead(bytes));
        let answered = exchange(stream, bytes, self.read_timeout, deadline)?;
        self.emit(&TraceEvent::ResponseHead(&answered.2));
        Ok(answered)
    }

    /// Send through these proxies (none by default; `rawhttp fetch` reads curl's variables
    /// with [`Proxies::from_settings`]). Plain HTTP goes to the proxy with absolute-form
    /// targets; HTTPS through a `CONNECT` tunnel, TLS end to end with the origin.
    pub fn proxies(mut self, proxies: Proxies) -> Request {
        self.proxies = proxies;
        self
    }

    /// The URL this request is for.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Send the request and read the response head (following redirects when asked). Errors
    /// carry the URL they happened on.
    pub fn send(mut self) -> Result<Response, Error> {
        // A limit too far away to represent is no limit.
        let deadline = self.max_time.and_then(|d| Instant::now().checked_add(d));
        let origin = self.url.clone();
        let mut visited: Vec<(String, Url)> = Vec::new();
        let mut history: Vec<Vec<u8>> = Vec::new();
        loop {
            let url = self.url.clone();
            let mut response = self
                .send_once(deadline, same_origin(&origin, &url))
                .map_err(|e| e.at_url(url.as_str()))?;
            let hop = match self.max_redirects {
                None => None,
                Some(max) => self
                    .next_hop(&response, &mut visited, max)
                    .map_err(|e| e.at_url(url.as_str()))?,
            };
            let Some(hop) = hop else {
                response.history = history;
                return Ok(response);
            };
            history.push(std::mem::take(&mut response.raw_head));
            response.discard();
            self.url = hop.url;
            self.method = hop.method;
        }
    }

    /// Where `response` redirects to, refusing loops and more than `max` hops.
    fn next_hop(
        &self,
        response: &Response,
        visited: &mut Vec<(String, Url)>,
        max: u32,
    ) -> Result<Option<Hop>, Error> {
        let location = response.head.headers.get("location");
        let hop = next_hop(
            response.status(),
            location,
            &self.url,
            &self.method,
            self.insecure,
        )?;
        let Some(hop) = hop else {
            return Ok(None);
        };
        visited.push((self.method.clone(), without_fragment(&self.url)));
        if visited.len() > max as usize {
            return Err(Error::TooManyRedirects(format!("more than {max} followed")));
        }
        if visited.contains(&(hop.method.clone(), without_fragment(&hop.url))) {
            return Err(Error::TooManyRedirects(format!("loop back to {}", hop.url)));
        }
        Ok(Some(hop))
    }

    /// One request on one connection: a pooled one when there is one, else a fresh one.
    fn send_once(&mut self, deadline: Option<Instant>, at_origin: bool) -> Result<Response, Error> {
        let url = self.url.clone();
        self.started = Instant::now();
        self.timings = Timings::default();
        request_writer::check_method(&self.method)?;
        let https = match url.scheme() {
            "http" => false,
            "https" => true,
            other => return Err(Error::UnsupportedScheme(other.to_string())),
        };
        let origin = Origin::of(&url).ok_or_else(|| Error::BadUrl("no host in URL".into()))?;
        let proxy = self.proxies.for_url(&url)?;
        let forward = proxy.as_ref().filter(|_| !https);
        let (bytes, persistent) = self.request_bytes(at_origin, forward)?;
        let route = Route::new(origin, proxy.as_ref().map(Proxy::authority));
        if let Some(stream) = self.pool.as_ref().and_then(|p| p.take_route(&route)) {
            self.emit_reused(&url, &stream);
            match self.traced_exchange(stream, &bytes, deadline) {
                Ok((incoming, head, raw)) => {
                    self.timings.starttransfer = self.started.elapsed();
                    let lease = self.lease(route, persistent, true);
                    return self.response(incoming, head, raw, lease);
                }
                // The server closed the idle connection as we reused it: nothing was
                // processed, so an idempotent request may go again (RFC 9110 §9.2.2).
                Err((_, true)) if is_idempotent(&self.method) => {}
                Err((e, _)) => return Err(e),
            }
        }
        let stream = self.connect(&url, https, proxy.as_ref(), deadline)?;
        if let Some(pool) = &self.pool {
            pool.note_opened();
        }
        let (incoming, head, raw) = self
            .traced_exchange(stream, &bytes, deadline)
            .map_err(|(e, _)| e)?;
        self.timings.starttransfer = self.started.elapsed();
        let lease = self.lease(route, persistent, false);
        self.response(incoming, head, raw, lease)
    }

    /// What the response needs to give its connection back, when there is a pool.
    fn lease(&self, route: Route, persistent: bool, reused: bool) -> Lease {
        Lease {
            pool: self.pool.clone().filter(|_| persistent),
            route,
            reused,
        }
    }

    /// Frame the body of a response whose head has been read.
    fn response(
        &self,
        incoming: Incoming<TimedStream>,
        head: ResponseHead,
        raw_head: Vec<u8>,
        mut lease: Lease,
    ) -> Result<Response, Error> {
        let kind = response_framing(&self.method, head.status, &head.headers)?;
        if let (BodyKind::Length(n), Some(limit)) = (kind, self.max_filesize) {
            if n > limit {
                return Err(Error::FileTooLarge { limit });
            }
        }
        // RFC 9112 §9.3: an HTTP/1.1 response persists unless it says close; HTTP/1.0 ones
        // are not kept (their keep-alive extension is not worth the ambiguity).
        if head.minor_version != 1 || head.headers.has_token("connection", "close") {
            lease.pool = None;
        }
        Ok(Response {
            url: self.url.clone(),
            head,
            raw_head,
            timings: self.timings,
            history: Vec::new(),
            body: Body::new(incoming, kind, self.max_filesize),
            lease,
        })
    }

    /// The request head; origin-bound fields are dropped away from the first origin; to a
    /// forwarding proxy the target is absolute-form, with the proxy URL's credentials. Also
    /// whether the connection may persist after it (a pool, no `Connection: close`, HTTP/1.1).
    fn request_bytes(
        &self,
        at_origin: bool,
        forward: Option<&Proxy>,
    ) -> Result<(Vec<u8>, bool), Error> {
        let mut edits = Vec::with_capacity(self.edits.len() + 1);
        // `connection_close` means "no later request for this origin"; a forwarding proxy's
        // connection may still serve the batch's other origins, so it stays open.
        let close = self.close && forward.is_none();
        let keep_alive = self.pool.is_some() && !close && !self.http10;
        if keep_alive {
            // HTTP/1.1 persists by default (RFC 9112 §9.3): the default `close` goes.
            edits.push(HeaderEdit::Remove("Connection".into()));
        }
        for edit in &self.edits {
            let name = match edit {
                HeaderEdit::Set(name, value) => {
                    request_writer::check_value(value)?;
                    name
                }
                HeaderEdit::Remove(name) => name,
            };
            request_writer::check_name(name)?;
            let bound = ORIGIN_BOUND.iter().any(|b| b.eq_ignore_ascii_case(name));
            if at_origin || !bound || matches!(edit, HeaderEdit::Remove(_)) {
                edits.push(edit.clone());
            }
        }
        request_writer::check_value(&self.user_agent)?;
        let mut headers = request_writer::request_headers(&self.url, &self.user_agent, &edits);
        let persistent = keep_alive && !headers.has_token("connection", "close");
        let target = match forward {
            Some(proxy) => {
                if let Some(auth) = proxy.authorization() {
                    if headers.get("proxy-authorization").is_none() {
                        headers.push("Proxy-Authorization", auth.as_bytes());
                    }
                }
                request_writer::absolute_target(&self.url)
            }
            None => request_writer::request_target(&self.url),
        };
        let bytes = request_writer::request_bytes_to(&self.method, &target, self.http10, &headers);
        Ok((bytes, persistent))
    }

    /// Resolve, race the addresses (of the proxy, when there is one), open a CONNECT tunnel
    /// for https through a proxy, and run the TLS handshake for https.
    fn connect(
        &mut self,
        url: &Url,
        https: bool,
        proxy: Option<&Proxy>,
        deadline: Option<Instant>,
    ) -> Result<Stream, Error> {
        let host = url
            .host()
            .ok_or_else(|| Error::BadUrl("no host in URL".into()))?;
        let port = url
            .port_or_known_default()
            .ok_or_else(|| Error::BadUrl("no port for this scheme".into()))?;
        let connect_deadline = connect_deadline(self.connect_timeout, deadline);
        let tcp = match proxy {
            None => self.dial(&host, port, connect_deadline),
            Some(proxy) => self.dial_proxy(proxy, connect_deadline),
        }
        .map_err(|e| which_timeout(e, deadline))?;
        self.timings.connect = self.started.elapsed();
        if let (Some(tracer), Ok(addr)) = (&self.trace, tcp.peer_addr()) {
            // Through a proxy, the connection is to the proxy (as curl -v says).
            let host = proxy.map_or(url.host_str().unwrap_or_default(), |p| p.host_str());
            tracer.emit(&TraceEvent::Connected { host, addr });
        }
        if !https {
            return Ok(Stream::Plain(tcp));
        }
        let tcp = match proxy {
            Some(proxy) => self
                .tunnel(tcp, proxy, url, port, connect_deadline)
                .map_err(|e| which_timeout(e, deadline))?,
            None => tcp,
        };
        let config = self.tls_client_config()?;
        let stream = connect::handshake(tcp, &host, config, connect_deadline)
            .map_err(|e| which_timeout(e, deadline))?;
        self.timings.appconnect = self.started.elapsed();
        if let Some(facts) = self.trace.as_ref().and_then(|_| stream.tls_facts()) {
            self.emit(&TraceEvent::Tls(&facts));
        }
        Ok(stream)
    }

    /// A TCP connection to `host:port` (`--resolve` and the family applied).
    fn dial(&mut self, host: &Host<&str>, port: u16, until: Instant) -> Result<TcpStream, Error> {
        let addrs = connect::resolve(host, port, &self.resolve, self.family)?;
        self.timings.namelookup = self.started.elapsed();
        connect::connect_any(&addrs, until, limits::CONNECT_ATTEMPT_DELAY)
    }

    /// A TCP connection to the proxy: its name not resolving is exit 5, as curl's.
    fn dial_proxy(&mut self, proxy: &Proxy, until: Instant) -> Result<TcpStream, Error> {
        let host = proxy.host().ok_or_else(|| Error::ProxyResolve {
            proxy: proxy.authority(),
            why: "no host".into(),
        })?;
        self.dial(&host, proxy.port(), until).map_err(|e| match e {
            Error::Resolve { why, .. } => Error::ProxyResolve {
                proxy: proxy.authority(),
                why,
            },
            // `why` names the address that failed: the proxy's.
            Error::Connect(why) => Error::Connect(format!("to proxy {why}")),
            other => other,
        })
    }

    /// Ask the proxy for a tunnel to the origin and hand back the socket, now a byte pipe to
    /// the origin (see [`Tunnel`]).
    fn tunnel(
        &self,
        tcp: TcpStream,
        proxy: &Proxy,
        url: &Url,
        port: u16,
        until: Instant,
    ) -> Result<TcpStream, Error> {
        let tunnel = Tunnel {
            proxy,
            authority: format!("{}:{port}", url.host_str().unwrap_or("")),
            user_agent: &self.user_agent,
            trace: self.trace.as_ref(),
        };
        tunnel.open(TimedStream::new(
            Stream::Plain(tcp),
            self.read_timeout,
            Some(until),
        ))
    }
    /// The TLS configuration, built once (roots are only loaded for https URLs).
    fn tls_client_config(&mut self) -> Result<Arc<ClientConfig>, Error> {
        if let Some(config) = &self.tls {
            return Ok(config.clone());
        }
        let config = super::trust::client_config(self.cacert.as_deref(), self.insecure)?;
        self.tls = Some(config.clone());
        Ok(config)
    }
}

fn without_fragment(url: &Url) -> Url {
    let mut url = url.clone();
    url.set_fragment(None);
    url
}

/// Methods whose repetition has the effect of one request (RFC 9110 §9.2.2).
pub(super) fn is_idempotent(method: &str) -> bool {
    matches!(
        method,
        "GET" | "HEAD" | "OPTIONS" | "TRACE" | "PUT" | "DELETE"
    )
}
