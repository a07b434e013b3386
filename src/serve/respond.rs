//! From a parsed request to a `Response`: the only serve module that reads the filesystem for
//! answers (open, metadata, directory listing); every decision is delegated to `files`/`reply`.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::OnceLock;
use std::time::SystemTime;

use super::accept;
use super::clock;
use super::dirstream::{self, DirKey, DirReader, Format, ListingBody};
use super::entries::{self, Entry};
use super::faults::WireFraming;
use super::files::{resolve_target, url_path, SafePath};
use super::listing;
use super::open::open_beneath;
use super::page;
use super::reply::{self, Decision, MethodKind, Validators, ALLOW};
pub use super::site::Site;
use crate::proto::limits;
use crate::proto::range::{ByteSpan, RangePlan};
use crate::proto::request_head::RequestHead;
use crate::proto::status;

/// A response ready to be sent: status, header fields, and where the body bytes come from.
/// `headers` include Content-Length (for HEAD, the GET length) and Date; the connection adds
/// `Connection: close` when it decides to close.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header fields, in order.
    pub headers: Vec<(String, String)>,
    /// Where the body comes from.
    pub body: BodySource,
}

/// Where a response's body bytes come from.
#[derive(Debug)]
pub enum BodySource {
    /// Nothing after the head (HEAD, 204, 304, or an empty body).
    None,
    /// Bytes built in memory (listings, error pages, small files if cached).
    Bytes(Vec<u8>),
    /// `len` bytes of `file` from `offset`: sent with sendfile(2) on plain connections.
    File {
        /// The open file.
        file: File,
        /// Where the bytes start.
        offset: u64,
        /// How many bytes.
        len: u64,
    },
    /// A directory listing produced as the socket drains (length unknown: chunked, or
    /// close-delimited for HTTP/1.0).
    Listing(Box<ListingBody>),
    /// multipart/byteranges: each part is a part head then a span of `file`; `tail` closes it.
    Multipart {
        /// The open file the parts come from.
        file: File,
        /// Each range's part head and span.
        parts: Vec<Part>,
        /// The closing boundary.
        tail: Vec<u8>,
    },
}

/// How a body of unknown length (a streamed listing) is framed when the faults left it as is:
/// chunked for HTTP/1.1 (RFC 9112 §7.1), else until close (HTTP/1.0 has no chunked coding,
/// RFC 9112 §6.3 rule 8).
pub fn unknown_length_framing(
    response: &mut Response,
    framing: WireFraming,
    minor_version: u8,
) -> WireFraming {
    if framing != WireFraming::AsIs || !matches!(response.body, BodySource::Listing(_)) {
        return framing;
    }
    if minor_version == 0 {
        return WireFraming::UntilClose;
    }
    let field = ("Transfer-Encoding".to_string(), "chunked".to_string());
    response.headers.push(field);
    WireFraming::Chunked
}

/// One part of a multipart/byteranges body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The part's boundary and header fields.
    pub head: Vec<u8>,
    /// Where the span starts in the file.
    pub offset: u64,
    /// Span length in bytes.
    pub len: u64,
}

impl BodySource {
    /// Total body bytes this source will produce (0 for a listing, whose length is unknown).
    pub fn len(&self) -> u64 {
        match self {
            BodySource::None | BodySource::Listing(_) => 0,
            BodySource::Bytes(b) => b.len() as u64,
            BodySource::File { len, .. } => *len,
            BodySource::Multipart { parts, tail, .. } => {
                parts
                    .iter()
                    .map(|p| p.head.len() as u64 + p.len)
                    .sum::<u64>()
                    + tail.len() as u64
            }
        }
    }

    /// No body bytes at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Answer one request (GET/HEAD/OPTIONS/405, files, ranges, preconditions, listings, redirects).
/// Never panics on request data; a path refusal is 400 or 404 (see `files`), never a 5xx.
pub fn respond(site: &Site, req: &RequestHead) -> Response {
    let method = reply::classify_method(&req.method);
    let mut response = match method {
        MethodKind::Other => error_response(405).with("Allow", ALLOW),
        MethodKind::Options => Response::new(204).with("Allow", ALLOW),
        MethodKind::Get | MethodKind::Head => match resolve_target(&req.target, site.hidden) {
            Ok(path) => serve_path(site, req, method, &path),
            Err(refusal) => error_response(refusal.status()),
        },
    };
    dress_error(&mut response, req.headers.get("accept"));
    add_site_headers(site, &mut response);
    if method == MethodKind::Head {
        // RFC 9110 §9.3.2: the same head as GET (Content-Length included), no body.
        response.body = BodySource::None;
    }
    response
}

/// A small text/plain error response (400, 404, 414, 431, 501, 505 ...).
pub fn error_response(status: u16) -> Response {
    let response = Response::new(status);
    if !status::has_body(status) {
        return response; // RFC 9110 §6.4.1: these never carry content
    }
    let body = format!("{status} {}\n", status::reason(status)).into_bytes();
    response
        .with("Content-Type", "text/plain; charset=utf-8")
        .with("Content-Length", body.len().to_string())
        .body(BodySource::Bytes(body))
}

/// An error answer (4xx/5xx) as a small HTML page for a browser (its Accept names
/// `text/html`), keeping its other fields (Allow, Content-Range); everyone else keeps the
/// plain text. Only our own error bodies are replaced; neither names a filesystem path.
fn dress_error(response: &mut Response, accept: Option<&[u8]>) {
    if response.status < 400 || !accept::accepts_html(accept) {
        return;
    }
    let plain = format!("{} {}\n", response.status, status::reason(response.status));
    if !matches!(&response.body, BodySource::Bytes(b) if b == plain.as_bytes()) {
        return;
    }
    let body = page::error_html(response.status);
    response.headers.retain(|(n, _)| {
        !(n.eq_ignore_ascii_case("content-type") || n.eq_ignore_ascii_case("content-length"))
    });
    let dressed = std::mem::replace(response, Response::new(0));
    *response = with_page_policy(dressed)
        .with("Content-Type", HTML)
        .with("Content-Length", body.len().to_string())
        .body(BodySource::Bytes(body));
}

impl Response {
    /// Append the status line and header fields (and the blank line) to `out`.
    /// `close` adds `Connection: close`; an HTTP/1.0 peer kept alive gets
    /// `Connection: keep-alive` (RFC 9112 §9.3, appendix C.2.2). The status line always says
    /// HTTP/1.1, our version (RFC 9110 §6.2).
    pub fn write_head(&self, minor_version: u8, close: bool, out: &mut Vec<u8>) {
        let size: usize = self
            .headers
            .iter()
            .map(|(n, v)| n.len() + v.len() + 4)
            .sum();
        out.reserve(size + 64);
        out.extend_from_slice(b"HTTP/1.1 ");
        out.extend_from_slice(&status_digits(self.status));
        out.push(b' ');
        out.extend_from_slice(status::reason(self.status).as_bytes());
        out.extend_from_slice(b"\r\n");
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        if close {
            out.extend_from_slice(b"Connection: close\r\n");
        } else if minor_version == 0 {
            out.extend_from_slice(b"Connection: keep-alive\r\n");
        }
        out.extend_from_slice(b"\r\n");
    }

    /// A response with `Server` and `Date` (RFC 9110 §6.6.1: an origin server with a clock
    /// MUST send Date) and no body yet.
    fn new(status: u16) -> Response {
        // Room for a file response's fields (Server, Date, Last-Modified, ETag, Content-Type,
        // Accept-Ranges, Content-Length, Connection) so the vector is allocated once.
        let mut headers = Vec::with_capacity(8);
        headers.push(("Server".to_string(), "rawhttp".to_string()));
        headers.push(("Date".to_string(), clock::http_date_now()));
        Response {
            status,
            headers,
            body: BodySource::None,
        }
    }

    /// Append a field; an owned value (a formatted length, a date) moves in without a copy.
    fn with(mut self, name: &str, value: impl Into<String>) -> Response {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    fn body(mut self, body: BodySource) -> Response {
        self.body = body;
        self
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Three ASCII digits; statuses outside 100..=999 cannot be built here, clamp defensively.
fn status_digits(status: u16) -> [u8; 3] {
    let s = status.clamp(100, 999);
    [
        b'0' + (s / 100) as u8,
        b'0' + (s / 10 % 10) as u8,
        b'0' + (s % 10) as u8,
    ]
}

/// `--cors` and `-H` extras. An extra replaces a default of the same name (e.g. `Server`),
/// except framing fields, which only the responder may set (a wrong one would desync the peer).
pub(crate) fn add_site_headers(site: &Site, response: &mut Response) {
    if site.cors {
        response
            .headers
            .push(("Access-Control-Allow-Origin".to_string(), "*".to_string()));
    }
    for (name, value) in &site.extra_headers {
        let framing = ["content-length", "transfer-encoding", "connection"];
        if framing.iter().any(|f| name.eq_ignore_ascii_case(f)) {
            continue;
        }
        response
            .headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        response.headers.push((name.clone(), value.clone()));
    }
}

/// Open what `path` names and answer for a file, a directory (redirect, index, listing) or
/// nothing servable.
fn serve_path(site: &Site, req: &RequestHead, method: MethodKind, path: &SafePath) -> Response {
    let file = match open_beneath(site, &path.rel) {
        Ok(file) => file,
        Err(e) => return error_response(io_status(&e)),
    };
    let meta = match file.metadata() {
        Ok(meta) => meta,
        Err(e) => return error_response(io_status(&e)),
    };
    if meta.is_dir() {
        if !path.dir_form {
            return redirect_to_dir(path);
        }
        return serve_dir(site, req, method, path, &file);
    }
    // A file asked for as a directory (`/a.txt/`) does not exist, as for open(2) (ENOTDIR);
    // FIFOs, sockets and devices are not ours to serve.
    if path.dir_form || !meta.is_file() {
        return error_response(404);
    }
    serve_file(site, req, method, &path.rel, file, &meta)
}

/// RFC 9110 §15.4.2: 301 to the slash form, query kept, built from the resolved path so the
/// Location is always a local absolute path.
fn redirect_to_dir(path: &SafePath) -> Response {
    let mut location = url_path(&path.rel, true);
    if let Some(query) = path.query {
        location.push('?');
        location.push_str(query);
    }
    let body = format!("moved to {location}\n").into_bytes();
    Response::new(301)
        .with("Location", &location)
        .with("Content-Type", "text/plain; charset=utf-8")
        .with("Content-Length", body.len().to_string())
        .body(BodySource::Bytes(body))
}

/// index.html when there is one, else a listing (or 404 with `--no-listing`).
fn serve_dir(
    site: &Site,
    req: &RequestHead,
    method: MethodKind,
    path: &SafePath,
    dir: &File,
) -> Response {
    let index = match path.rel.is_empty() {
        true => "index.html".to_string(),
        false => format!("{}/index.html", path.rel),
    };
    if let Ok(file) = open_beneath(site, &index) {
        if let Ok(meta) = file.metadata() {
            if meta.is_file() {
                return serve_file(site, req, method, &index, file, &meta);
            }
        }
    }
    if !site.listing {
        return error_response(404);
    }
    let format = listing_format(req, path);
    let key = DirKey::of(site, dir, entries::parse_order(path.query));
    // JSON may stream past the sort cap from a reader of its own.
    let spare = |format: &Format| match format {
        Format::Json { .. } => DirReader::open(site, &path.rel, dir).ok(),
        Format::Html { .. } => None,
    };
    let content_type = format_type(&format);
    if let Some(shared) = key.and_then(dirstream::shared_listing) {
        let spare = spare(&format);
        let body = ListingBody::join(shared, format, spare);
        return listing_head(content_type).body(BodySource::Listing(Box::new(body)));
    }
    let mut reader = match DirReader::open(site, &path.rel, dir) {
        Ok(reader) => reader,
        Err(e) => return error_response(io_status(&e)),
    };
    let mut entries = Vec::new();
    reader.read_into(&mut entries, limits::LISTING_INLINE_ENTRIES);
    if reader.is_exhausted() {
        return listing_response(site, req, path, entries);
    }
    // Too big to build at once: the body renders as the socket drains (issue 13).
    let spare = spare(&format);
    let body = ListingBody::new(reader, entries, format, key, spare);
    listing_head(content_type).body(BodySource::Listing(Box::new(body)))
}

fn listing_format(req: &RequestHead, path: &SafePath) -> Format {
    let order = entries::parse_order(path.query);
    match wants_json_listing(req, path) {
        true => Format::Json { order },
        false => Format::Html {
            display_path: display_path(path),
            order,
        },
    }
}

fn format_type(format: &Format) -> &'static str {
    match format {
        Format::Json { .. } => "application/json",
        Format::Html { .. } => HTML,
    }
}

fn listing_response(
    site: &Site,
    req: &RequestHead,
    path: &SafePath,
    entries: Vec<Entry>,
) -> Response {
    let order = entries::parse_order(path.query);
    let entries = entries::prepare_by(entries, site.hidden, order);
    let (body, content_type) = match wants_json_listing(req, path) {
        true => (listing::render_json(&entries), "application/json"),
        false => {
            let display = display_path(path);
            let page = listing::Page {
                display_path: &display,
                order,
                capped: None,
            };
            (listing::render_page(&page, &entries), HTML)
        }
    };
    listing_head(content_type)
        .with("Content-Length", body.len().to_string())
        .body(BodySource::Bytes(body))
}

const HTML: &str = "text/html; charset=utf-8";

/// JSON when Accept prefers it or the query says `format=json` (the page's own link).
fn wants_json_listing(req: &RequestHead, path: &SafePath) -> bool {
    accept::prefers_json(req.headers.get("accept")) || entries::wants_json_query(path.query)
}

/// The decoded path people see: `/` or `/a/b/`.
fn display_path(path: &SafePath) -> String {
    match path.rel.is_empty() {
        true => "/".to_string(),
        false => format!("/{}/", path.rel),
    }
}

/// A listing's 200 head without its framing: it varies with Accept, is never stale, and an
/// HTML one may load nothing but its own stylesheet.
fn listing_head(content_type: &str) -> Response {
    let response = Response::new(200)
        .with("Content-Type", content_type)
        .with("Vary", "Accept")
        .with("Cache-Control", "no-cache");
    match content_type == HTML {
        true => with_page_policy(response),
        false => response,
    }
}

/// Our pages' CSP, and no MIME sniffing (a listing is never reinterpreted as something else).
fn with_page_policy(response: Response) -> Response {
    response
        .with("Content-Security-Policy", page::content_security_policy())
        .with("X-Content-Type-Options", "nosniff")
}

/// Validators, preconditions and ranges for one regular file.
fn serve_file(
    site: &Site,
    req: &RequestHead,
    method: MethodKind,
    name: &str,
    file: File,
    meta: &std::fs::Metadata,
) -> Response {
    let len = meta.len();
    let validators = file_validators(site, &file, meta);
    let decision = reply::decide(method, &req.headers, &validators, len);
    // Every response below builds at most one validated head, so the ETag moves into it.
    let validated = move |status: u16| {
        Response::new(status)
            .with("Last-Modified", clock::http_date(validators.modified))
            .with("ETag", validators.etag)
    };
    match decision {
        Decision::NotModified => validated(304),
        Decision::PreconditionFailed => error_response(412),
        Decision::Send(RangePlan::Unsatisfiable) => {
            let mut response = error_response(416);
            response
                .headers
                .push(("Content-Range".to_string(), format!("bytes */{len}")));
            response
        }
        Decision::Send(plan) => {
            let content_type = reply::content_type(name);
            send_plan(validated, plan, file, len, &content_type)
        }
    }
}

/// A file's validators (RFC 9110 §8.8): the ETag from size and mtime, or from a content hash
/// for fixtures; never a Last-Modified later than our Date (§8.8.2.1: a file from the future).
fn file_validators(site: &Site, file: &File, meta: &std::fs::Metadata) -> Validators {
    let len = meta.len();
    let modified = site
        .fixed_mtime
        .or_else(|| meta.modified().ok())
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let etag = match site.content_etag {
        true => super::etag_cache::cached(meta, || content_etag(file, len))
            .unwrap_or_else(|_| reply::etag_from_metadata(len, modified)),
        false => reply::etag_from_metadata(len, modified),
    };
    Validators {
        etag,
        modified: modified.min(SystemTime::now()),
    }
}

/// 200 whole, 206 single span, or 206 multipart/byteranges (RFC 9110 §14.6, §15.3.7).
fn send_plan(
    validated: impl FnOnce(u16) -> Response,
    plan: RangePlan,
    file: File,
    len: u64,
    content_type: &str,
) -> Response {
    match plan {
        RangePlan::Single(span) => validated(206)
            .with("Content-Type", content_type)
            .with("Content-Range", content_range(span, len))
            .with("Content-Length", span.len.to_string())
            .body(BodySource::File {
                file,
                offset: span.start,
                len: span.len,
            }),
        RangePlan::Multi(spans) => {
            let boundary = boundary();
            let (parts, tail) = multipart_parts(&spans, len, content_type, boundary);
            let body = BodySource::Multipart { file, parts, tail };
            validated(206)
                .with(
                    "Content-Type",
                    format!("multipart/byteranges; boundary={boundary}"),
                )
                .with("Content-Length", body.len().to_string())
                .body(body)
        }
        // `Whole`; `Unsatisfiable` is answered by the caller.
        _ => validated(200)
            .with("Content-Type", content_type)
            .with("Accept-Ranges", "bytes")
            .with("Content-Length", len.to_string())
            .body(BodySource::File {
                file,
                offset: 0,
                len,
            }),
    }
}

fn content_range(span: ByteSpan, len: u64) -> String {
    format!("bytes {}-{}/{len}", span.start, span.last())
}

/// Part heads (RFC 9110 §14.6) and the closing delimiter. The first part starts with the
/// delimiter itself, later ones with CRLF + delimiter (RFC 2046 §5.1.1).
fn multipart_parts(
    spans: &[ByteSpan],
    len: u64,
    content_type: &str,
    boundary: &str,
) -> (Vec<Part>, Vec<u8>) {
    let parts = spans
        .iter()
        .enumerate()
        .map(|(i, span)| Part {
            head: format!(
                "{}--{boundary}\r\nContent-Type: {content_type}\r\nContent-Range: {}\r\n\r\n",
                if i == 0 { "" } else { "\r\n" },
                content_range(*span, len)
            )
            .into_bytes(),
            offset: span.start,
            len: span.len,
        })
        .collect();
    (parts, format!("\r\n--{boundary}--\r\n").into_bytes())
}

/// A per-process multipart boundary: 20 hex digits from the clock and pid, fixed for the
/// process's life (it need only be unlikely in file data, RFC 2046 §5.1.1).
fn boundary() -> &'static str {
    static BOUNDARY: OnceLock<String> = OnceLock::new();
    BOUNDARY.get_or_init(|| {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let mixed = (nanos as u64) ^ (u64::from(std::process::id()) << 40);
        format!("rawhttp-{mixed:016x}")
    })
}

/// ETag from the SHA-256 of the content (fixtures: stable across copies and runs).
fn content_etag(file: &File, len: u64) -> io::Result<String> {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    let mut buf = vec![0u8; 64 * 1024];
    let mut offset = 0u64;
    while offset < len {
        let n = file.read_at(&mut buf, offset)?;
        if n == 0 {
            break;
        }
        ctx.update(&buf[..n]);
        offset += n as u64;
    }
    Ok(reply::etag_from_digest(ctx.finish().as_ref()))
}

/// The status for a failed open/stat: missing (or refused by RESOLVE_BENEATH) is 404,
/// permission is 403, running out of descriptors 503, anything else 500.
fn io_status(e: &io::Error) -> u16 {
    match e.raw_os_error() {
        Some(libc::ENOENT | libc::ENOTDIR | libc::ENAMETOOLONG | libc::ELOOP | libc::EXDEV) => 404,
        // A name with a NUL byte cannot exist (`open_beneath` reports it as EINVAL).
        Some(libc::EINVAL) => 404,
        Some(libc::EACCES | libc::EPERM) => 403,
        Some(libc::EMFILE | libc::ENFILE) => 503,
        _ if e.kind() == io::ErrorKind::NotFound => 404,
        _ if e.kind() == io::ErrorKind::PermissionDenied => 403,
        _ => 500,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::Headers;
    use std::os::unix::fs::symlink;

    /// root/{hello.txt, index-less dir sub/, dir with index idx/, .secret, link-in, link-out};
    /// outside/secret.txt sits beside root.
    fn fixture() -> (tempfile::TempDir, Site) {
        let top = tempfile::tempdir().unwrap();
        let root = top.path().join("root");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::create_dir_all(root.join("idx")).unwrap();
        std::fs::create_dir_all(top.path().join("outside")).unwrap();
        std::fs::write(root.join("hello.txt"), b"hello world\n").unwrap();
        std::fs::write(root.join("sub/a b.txt"), b"a").unwrap();
        std::fs::write(root.join("idx/index.html"), b"<p>idx</p>").unwrap();
        std::fs::write(root.join(".secret"), b"dot").unwrap();
        std::fs::write(top.path().join("outside/secret.txt"), b"SENTINEL").unwrap();
        symlink("hello.txt", root.join("link-in")).unwrap();
        symlink(root.join("hello.txt"), root.join("link-abs-in")).unwrap();
        symlink("../outside/secret.txt", root.join("link-out")).unwrap();
        let site = Site {
            root: root.canonicalize().unwrap(),
            listing: true,
            ..Site::default()
        };
        (top, site)
    }

    fn request(method: &str, target: &str, fields: &[(&str, &str)]) -> RequestHead {
        let mut headers = Headers::new();
        headers.push("Host", b"x");
        for (n, v) in fields {
            headers.push(n, v.as_bytes());
        }
        RequestHead {
            method: method.to_string(),
            target: target.to_string(),
            minor_version: 1,
            headers,
        }
    }

    fn body_of(response: Response) -> Vec<u8> {
        match response.body {
            BodySource::None => Vec::new(),
            BodySource::Bytes(b) => b,
            BodySource::Listing(mut body) => {
                let mut out = Vec::new();
                while !body.fill(&mut out) {}
                out
            }
            BodySource::File { file, offset, len } => {
                let mut buf = vec![0; len as usize];
                file.read_exact_at(&mut buf, offset).unwrap();
                buf
            }
            BodySource::Multipart { file, parts, tail } => {
                let mut out = Vec::new();
                for p in parts {
                    out.extend_from_slice(&p.head);
                    let mut buf = vec![0; p.len as usize];
                    file.read_exact_at(&mut buf, p.offset).unwrap();
                    out.extend_from_slice(&buf);
                }
                out.extend_from_slice(&tail);
                out
            }
        }
    }

    fn get(site: &Site, target: &str, fields: &[(&str, &str)]) -> (u16, Response) {
        let r = respond(site, &request("GET", target, fields));
        (r.status, r)
    }

    #[test]
    fn serves_files_with_validators() {
        let (_t, site) = fixture();
        let (status, r) = get(&site, "/hello.txt", &[]);
        assert_eq!(status, 200);
        assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
        assert_eq!(r.header("content-length"), Some("12"));
        assert_eq!(r.header("accept-ranges"), Some("bytes"));
        assert!(r.header("etag").unwrap().starts_with("\"c-"));
        assert!(r.header("last-modified").is_some() && r.header("date").is_some());
        assert_eq!(body_of(r), b"hello world\n");
    }

    #[test]
    fn head_has_the_get_length_and_no_body() {
        let (_t, site) = fixture();
        let r = respond(&site, &request("HEAD", "/hello.txt", &[]));
        assert_eq!((r.status, r.header("content-length")), (200, Some("12")));
        assert!(matches!(r.body, BodySource::None));
        let r = respond(&site, &request("HEAD", "/missing", &[]));
        assert_eq!(r.status, 404);
        assert!(r.header("content-length").is_some() && matches!(r.body, BodySource::None));
    }

    #[test]
    fn methods() {
        let (_t, site) = fixture();
        let r = respond(&site, &request("OPTIONS", "*", &[]));
        assert_eq!((r.status, r.header("allow")), (204, Some(ALLOW)));
        assert!(r.header("content-length").is_none());
        let r = respond(&site, &request("DELETE", "/hello.txt", &[]));
        assert_eq!((r.status, r.header("allow")), (405, Some(ALLOW)));
        assert_eq!(respond(&site, &request("GET", "*", &[])).status, 400);
    }

    #[test]
    fn errors_are_pages_for_browsers_and_text_for_tools() {
        let (_t, site) = fixture();
        let browser = [("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")];
        type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], u16);
        let cases: &[Case] = &[
            ("GET", "/missing.txt", &[], 404),
            ("DELETE", "/hello.txt", &[], 405),
            ("GET", "/%00", &[], 400),
            ("GET", "/hello.txt", &[("Range", "bytes=99-")], 416),
        ];
        for (method, target, extra, status) in cases {
            let plain = respond(&site, &request(method, target, extra));
            assert_eq!(plain.status, *status, "{target}");
            assert_eq!(
                plain.header("content-type"),
                Some("text/plain; charset=utf-8")
            );
            let mut fields = extra.to_vec();
            fields.extend_from_slice(&browser);
            let r = respond(&site, &request(method, target, &fields));
            assert_eq!(r.status, *status);
            assert_eq!(r.header("content-type"), Some(HTML));
            assert!(r.header("content-security-policy").is_some());
            // Fields that belong to the status stay.
            assert_eq!(r.header("allow"), plain.header("allow"));
            assert_eq!(r.header("content-range"), plain.header("content-range"));
            let declared: usize = r.header("content-length").unwrap().parse().unwrap();
            let body = String::from_utf8(body_of(r)).unwrap();
            assert_eq!(body.len(), declared);
            assert!(body.contains(&format!("<h1>{status} ")), "{body}");
            let root = site.root.to_string_lossy();
            assert!(
                !body.contains(root.as_ref()) && !body.contains("missing"),
                "{body}"
            );
        }
        // A 200 is never dressed; HEAD keeps the page's length and no body.
        let (s, r) = get(&site, "/hello.txt", &browser);
        assert_eq!(
            (s, r.header("content-type")),
            (200, Some("text/plain; charset=utf-8"))
        );
        let r = respond(&site, &request("HEAD", "/nope", &browser));
        assert_eq!(r.header("content-type"), Some(HTML));
        assert!(r.body.is_empty());
    }

    #[test]
    fn ranges_and_preconditions() {
        let (_t, site) = fixture();
        let (s, r) = get(&site, "/hello.txt", &[("Range", "bytes=0-4")]);
        assert_eq!((s, r.header("content-range")), (206, Some("bytes 0-4/12")));
        let etag = r.header("etag").unwrap().to_string();
        assert_eq!(body_of(r), b"hello");
        let (s, r) = get(&site, "/hello.txt", &[("Range", "bytes=0-0,6-10")]);
        assert_eq!(s, 206);
        let ct = r.header("content-type").unwrap().to_string();
        let boundary = ct
            .strip_prefix("multipart/byteranges; boundary=")
            .unwrap()
            .to_string();
        let declared: usize = r.header("content-length").unwrap().parse().unwrap();
        let body = String::from_utf8(body_of(r)).unwrap();
        assert_eq!(body.len(), declared);
        let want = format!(
            "--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 0-0/12\r\n\r\nh\
             \r\n--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 6-10/12\r\n\r\nworld\
             \r\n--{boundary}--\r\n"
        );
        assert_eq!(body, want);
        let (s, r) = get(&site, "/hello.txt", &[("Range", "bytes=12-")]);
        assert_eq!((s, r.header("content-range")), (416, Some("bytes */12")));
        assert_eq!(get(&site, "/hello.txt", &[("Range", "lines=1-2")]).0, 200);
        assert_eq!(get(&site, "/hello.txt", &[("If-None-Match", &etag)]).0, 304);
        assert_eq!(get(&site, "/hello.txt", &[("If-Match", "\"nope\"")]).0, 412);
        let r = get(&site, "/hello.txt", &[("If-None-Match", &etag)]).1;
        assert!(matches!(r.body, BodySource::None) && r.header("content-length").is_none());
    }

    #[test]
    fn directories() {
        let (_t, site) = fixture();
        let (s, r) = get(&site, "/sub?x=1", &[]);
        assert_eq!((s, r.header("location")), (301, Some("/sub/?x=1")));
        let (s, r) = get(&site, "/idx/", &[]);
        assert_eq!(
            (s, r.header("content-type")),
            (200, Some("text/html; charset=utf-8"))
        );
        assert_eq!(body_of(r), b"<p>idx</p>");
        let (s, r) = get(&site, "/", &[]);
        assert_eq!(s, 200);
        let html = String::from_utf8(body_of(r)).unwrap();
        assert!(html.contains("hello.txt") && html.contains("href=\"./sub/\""));
        assert!(!html.contains(".secret"));
        let (s, r) = get(&site, "/sub/", &[("Accept", "application/json")]);
        assert_eq!(
            (s, r.header("content-type")),
            (200, Some("application/json"))
        );
        let v: serde_json::Value = serde_json::from_slice(&body_of(r)).unwrap();
        assert_eq!(v[0]["name"], "a b.txt");
        let no_listing = Site {
            listing: false,
            ..site.clone()
        };
        assert_eq!(get(&no_listing, "/sub/", &[]).0, 404);
        assert_eq!(get(&no_listing, "/idx/", &[]).0, 200);
        assert_eq!(get(&site, "/hello.txt/", &[]).0, 404);
    }

    #[test]
    fn listings_never_describe_what_lies_outside() {
        let (_t, site) = fixture();
        let (_, r) = get(&site, "/", &[("Accept", "application/json")]);
        let v: serde_json::Value = serde_json::from_slice(&body_of(r)).unwrap();
        let names: Vec<&str> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            ["idx", "sub", "hello.txt", "link-abs-in", "link-in"],
            "link-out (outside) and .secret (hidden) are not listed"
        );
        let follow = Site {
            follow_symlinks: true,
            ..site.clone()
        };
        let (_, r) = get(&follow, "/", &[("Accept", "application/json")]);
        let v: serde_json::Value = serde_json::from_slice(&body_of(r)).unwrap();
        assert!(v
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "link-out"));
    }

    #[test]
    fn path_safety_and_symlinks() {
        let (_t, site) = fixture();
        for (target, want) in [
            ("/../outside/secret.txt", 404),
            ("/%2e%2e/outside/secret.txt", 404),
            ("/..%2foutside/secret.txt", 400),
            ("/%00", 400),
            ("/%zz", 400),
            ("/.secret", 404),
            ("/link-out", 404),
            ("/link-in", 200),
            ("/link-abs-in", 200),
            ("/missing", 404),
        ] {
            let (s, r) = get(&site, target, &[]);
            assert_eq!(s, want, "{target}");
            assert!(!body_of(r).windows(8).any(|w| w == b"SENTINEL"), "{target}");
        }
        let hidden = Site {
            hidden: true,
            ..site.clone()
        };
        assert_eq!(get(&hidden, "/.secret", &[]).0, 200);
        let follow = Site {
            follow_symlinks: true,
            ..site.clone()
        };
        let (s, r) = get(&follow, "/link-out", &[]);
        assert_eq!((s, body_of(r)), (200, b"SENTINEL".to_vec()));
    }

    #[test]
    fn last_modified_is_never_in_the_future() {
        let (_t, site) = fixture();
        let future = SystemTime::now() + std::time::Duration::from_secs(86_400 * 365);
        let f = File::options()
            .write(true)
            .open(site.root.join("hello.txt"))
            .unwrap();
        f.set_modified(future).unwrap();
        let (_, r) = get(&site, "/hello.txt", &[]);
        let lm = httpdate::parse_http_date(r.header("last-modified").unwrap()).unwrap();
        let date = httpdate::parse_http_date(r.header("date").unwrap()).unwrap();
        assert!(lm <= date, "{lm:?} > {date:?}");
    }

    #[test]
    fn fixture_sites_have_reproducible_validators() {
        let (_t, mut site) = fixture();
        site.content_etag = true;
        site.fixed_mtime = Some(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1));
        let (_, r) = get(&site, "/hello.txt", &[]);
        assert_eq!(
            r.header("last-modified"),
            Some("Thu, 01 Jan 1970 00:00:01 GMT")
        );
        // SHA-256("hello world\n") starts a948904f2f0f479b8f8197694b30184b.
        assert_eq!(
            r.header("etag"),
            Some("\"a948904f2f0f479b8f8197694b30184b\"")
        );
    }

    #[test]
    fn site_headers_are_added_but_never_framing() {
        let (_t, mut site) = fixture();
        site.cors = true;
        site.extra_headers = vec![
            ("X-Test".into(), "1".into()),
            ("Server".into(), "custom".into()),
            ("Content-Length".into(), "0".into()),
        ];
        let (_, r) = get(&site, "/hello.txt", &[]);
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
        assert_eq!(r.header("x-test"), Some("1"));
        assert_eq!(r.header("server"), Some("custom"));
        assert_eq!(r.header("content-length"), Some("12"));
    }

    #[test]
    fn writes_heads() {
        let r = error_response(404);
        let mut out = Vec::new();
        r.write_head(1, true, &mut out);
        let head = String::from_utf8(out).unwrap();
        assert!(head.starts_with("HTTP/1.1 404 Not Found\r\nServer: rawhttp\r\nDate: "));
        assert!(head.ends_with(
            "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 14\r\nConnection: close\r\n\r\n"
        ));
        let mut out = Vec::new();
        error_response(431).write_head(0, false, &mut out);
        let head = String::from_utf8(out).unwrap();
        assert!(head.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(head.ends_with("Connection: keep-alive\r\n\r\n"));
        let mut out = Vec::new();
        error_response(304).write_head(1, false, &mut out);
        assert!(!String::from_utf8(out).unwrap().contains("Content-Length"));
        let mut body = Vec::new();
        error_response(505).body_bytes_for_tests(&mut body);
        assert_eq!(body, b"505 HTTP Version Not Supported\n");
    }

    impl Response {
        fn body_bytes_for_tests(self, out: &mut Vec<u8>) {
            if let BodySource::Bytes(b) = self.body {
                out.extend_from_slice(&b);
            }
        }
    }

    #[test]
    fn content_etag_reads_the_whole_file() {
        // Larger than the 64 KiB read buffer, differing only in the last byte.
        let data = [vec![7u8; 200_000], vec![8u8]].concat();
        let mut f = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut f, &data).unwrap();
        let want = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &data);
        let got = content_etag(&f, data.len() as u64).unwrap();
        assert_eq!(got, reply::etag_from_digest(want.as_ref()));
        let other = [vec![7u8; 200_000], vec![9u8]].concat();
        let mut g = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut g, &other).unwrap();
        assert_ne!(content_etag(&g, other.len() as u64).unwrap(), got);
    }
}
