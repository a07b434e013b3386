//! Request + file metadata -> status, headers and body plan: the responder's decisions, pure
//! and table-tested. It opens no file and reads no clock: the shell (`respond`) passes the
//! metadata, the validators and `now` in, and attaches the open file to the spans decided here.
//! Preconditions live in `preconditions`, the 200/206 plans in `ranges`.

mod preconditions;
mod ranges;

use std::borrow::Cow;
use std::io;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use preconditions::{decide, Decision, Validators};

use super::accept::accepts_html;
use super::clock;
use super::faults::WireFraming;
use super::files::{url_path, SafePath};
use super::page::{self, HTML};
use super::response::{BodySource, FileSpans, Response};
use crate::proto::range::RangePlan;
use crate::proto::status::{has_body, reason};
use crate::proto::Headers;

/// The methods this server implements (RFC 9110 §9.1: method names are case-sensitive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodKind {
    /// GET.
    Get,
    /// HEAD: GET's head without the body.
    Head,
    /// OPTIONS: 204 with `Allow`.
    Options,
    /// Anything else: 405 with `Allow`.
    Other,
}

/// The `Allow` value for 405 and OPTIONS (RFC 9110 §10.2.1).
pub const ALLOW: &str = "GET, HEAD, OPTIONS";

/// Which of our methods `method` is, compared exactly: `get` is not GET (RFC 9110 §9.1).
pub fn classify_method(method: &str) -> MethodKind {
    match method {
        "GET" => MethodKind::Get,
        "HEAD" => MethodKind::Head,
        "OPTIONS" => MethodKind::Options,
        _ => MethodKind::Other,
    }
}

/// A file as the shell found it: its name (for Content-Type), length and validators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileFacts<'a> {
    /// The path relative to the root (its extension gives the type).
    pub name: &'a str,
    /// Size in bytes.
    pub len: u64,
    /// ETag and Last-Modified.
    pub validators: Validators,
}

/// Preconditions, then ranges, for one regular file (RFC 9110 §13.2.2, §14): the head, and
/// which bytes of the file follow it. `boundary` separates multipart parts.
pub fn file_reply(
    method: MethodKind,
    headers: &Headers,
    file: FileFacts,
    boundary: &str,
    now: SystemTime,
) -> (Response, FileSpans) {
    let FileFacts {
        name,
        len,
        validators,
    } = file;
    let decision = decide(method, headers, &validators, len);
    // Every answer below builds at most one validated head, so the ETag moves into it.
    let validated = move |status: u16| {
        Response::new(status, now)
            .with("Last-Modified", clock::http_date(validators.modified))
            .with("ETag", validators.etag)
    };
    match decision {
        Decision::NotModified => (validated(304), FileSpans::Nothing),
        Decision::PreconditionFailed => (plain_error(412, now), FileSpans::Nothing),
        Decision::Send(RangePlan::Unsatisfiable) => {
            let unsatisfiable =
                plain_error(416, now).with("Content-Range", format!("bytes */{len}"));
            (unsatisfiable, FileSpans::Nothing)
        }
        Decision::Send(plan) => {
            let content_type = content_type(name);
            ranges::send_plan(validated, plan, len, &content_type, boundary)
        }
    }
}

/// A file's validators (RFC 9110 §8.8): `content_etag` when the content was hashed (fixtures),
/// else one from size and mtime; never a Last-Modified later than `now` (§8.8.2.1: a file from
/// the future).
pub fn validators(
    len: u64,
    modified: SystemTime,
    content_etag: Option<String>,
    now: SystemTime,
) -> Validators {
    Validators {
        etag: content_etag.unwrap_or_else(|| etag_from_metadata(len, modified)),
        modified: modified.min(now),
    }
}

/// The answer a method gets whatever the target: 405 with Allow for methods we do not
/// implement, 204 with Allow for OPTIONS (RFC 9110 §9.1, §9.3.7, §10.2.1). `None` for GET and
/// HEAD, which the target decides.
pub fn method_reply(method: MethodKind, now: SystemTime) -> Option<Response> {
    match method {
        MethodKind::Other => Some(plain_error(405, now).with("Allow", ALLOW)),
        MethodKind::Options => Some(Response::new(204, now).with("Allow", ALLOW)),
        MethodKind::Get | MethodKind::Head => None,
    }
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

/// A small text/plain error response (400, 404, 414, 431, 501, 505 ...).
pub fn plain_error(status: u16, now: SystemTime) -> Response {
    let response = Response::new(status, now);
    if !has_body(status) {
        return response; // RFC 9110 §6.4.1: these never carry content
    }
    let body = format!("{status} {}\n", reason(status)).into_bytes();
    response
        .with("Content-Type", "text/plain; charset=utf-8")
        .with("Content-Length", body.len().to_string())
        .body(BodySource::Bytes(body))
}

/// An error answer (4xx/5xx) as a small HTML page for a browser (its Accept names
/// `text/html`), keeping its other fields (Allow, Content-Range); everyone else keeps the
/// plain text. Only our own error bodies are replaced; neither names a filesystem path.
pub fn dress_error(response: &mut Response, accept: Option<&[u8]>) {
    if response.status < 400 || !accepts_html(accept) {
        return;
    }
    let plain = format!("{} {}\n", response.status, reason(response.status));
    if !matches!(&response.body, BodySource::Bytes(b) if b == plain.as_bytes()) {
        return;
    }
    let body = page::error_html(response.status);
    response.remove_header("content-type");
    response.remove_header("content-length");
    push_page_policy(response);
    let fields = [
        ("Content-Type", HTML.to_string()),
        ("Content-Length", body.len().to_string()),
    ];
    for (name, value) in fields {
        response.headers.push((name.to_string(), value));
    }
    response.body = BodySource::Bytes(body);
}

/// RFC 9110 §15.4.2: 301 to the slash form, query kept, built from the resolved path so the
/// Location is always a local absolute path.
pub fn redirect_to_dir(path: &SafePath, now: SystemTime) -> Response {
    let mut location = url_path(&path.rel, true);
    if let Some(query) = path.query {
        location.push('?');
        location.push_str(query);
    }
    let body = format!("moved to {location}\n").into_bytes();
    Response::new(301, now)
        .with("Location", &location)
        .with("Content-Type", "text/plain; charset=utf-8")
        .with("Content-Length", body.len().to_string())
        .body(BodySource::Bytes(body))
}

/// A listing's 200 head without its framing: it varies with Accept, is never stale, and an
/// HTML one may load nothing but its own stylesheet.
pub fn listing_head(content_type: &str, now: SystemTime) -> Response {
    let mut response = Response::new(200, now)
        .with("Content-Type", content_type)
        .with("Vary", "Accept")
        .with("Cache-Control", "no-cache");
    if content_type == HTML {
        push_page_policy(&mut response);
    }
    response
}

/// Our pages' CSP, and no MIME sniffing (a listing is never reinterpreted as something else).
fn push_page_policy(response: &mut Response) {
    let fields = [
        ("Content-Security-Policy", page::content_security_policy()),
        ("X-Content-Type-Options", "nosniff"),
    ];
    for (name, value) in fields {
        response.headers.push((name.to_string(), value.to_string()));
    }
}

/// The status for a failed open/stat: missing (or refused by RESOLVE_BENEATH) is 404,
/// permission is 403, running out of descriptors 503, anything else 500.
pub fn io_status(e: &io::Error) -> u16 {
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

/// A strong ETag from size and modification time (nanoseconds): it changes whenever either
/// does, without reading the file (as nginx's `"mtime-size"`, with sub-second precision).
pub fn etag_from_metadata(len: u64, modified: SystemTime) -> String {
    let nanos = modified
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_nanos();
    format!("\"{len:x}-{nanos:x}\"")
}

/// A strong ETag from a content digest (fixture servers: reproducible across runs).
pub fn etag_from_digest(digest: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(2 * 16 + 2);
    out.push('"');
    for b in digest.iter().take(16) {
        // Writing into a String cannot fail.
        let _ = write!(out, "{b:02x}");
    }
    out.push('"');
    out
}

/// Content-Type from the file name's extension (mime_guess); textual types say UTF-8 so
/// browsers do not guess; unknown extensions are `application/octet-stream`.
pub fn content_type(name: &str) -> Cow<'static, str> {
    let mime = mime_guess::from_path(name)
        .first_raw()
        .unwrap_or("application/octet-stream");
    // The common textual types without a format! on the hot path.
    let common = match mime {
        "text/html" => "text/html; charset=utf-8",
        "text/plain" => "text/plain; charset=utf-8",
        "text/css" => "text/css; charset=utf-8",
        "text/javascript" => "text/javascript; charset=utf-8",
        "application/json" => "application/json; charset=utf-8",
        _ => "",
    };
    let textual = mime.starts_with("text/")
        || matches!(
            mime,
            "application/javascript" | "application/json" | "application/xml" | "image/svg+xml"
        );
    match (common, textual) {
        ("", true) => Cow::Owned(format!("{mime}; charset=utf-8")),
        ("", false) => Cow::Borrowed(mime),
        (common, _) => Cow::Borrowed(common),
    }
}

#[cfg(test)]
mod tests;
