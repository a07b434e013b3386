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
mod tests {
    use super::*;
    use MethodKind::*;

    const ETAG: &str = "\"c-1\"";
    const LM: &str = "Sun, 06 Nov 1994 08:49:37 GMT";
    const NOW: &str = "Sun, 06 Nov 1994 08:50:00 GMT";

    fn at(date: &str) -> SystemTime {
        httpdate::parse_http_date(date).unwrap()
    }

    fn headers(fields: &[(&str, &str)]) -> Headers {
        let mut h = Headers::new();
        for (n, v) in fields {
            h.push(n, v.as_bytes());
        }
        h
    }

    /// A 12-byte hello.txt: the answer to `method` with `fields`.
    fn hello(method: MethodKind, fields: &[(&str, &str)]) -> (Response, FileSpans) {
        let facts = FileFacts {
            name: "hello.txt",
            len: 12,
            validators: validators(12, at(LM), Some(ETAG.to_string()), at(NOW)),
        };
        file_reply(method, &headers(fields), facts, "B", at(NOW))
    }

    type Want = (u16, Option<&'static str>, Option<&'static str>, FileSpans);
    type FileCase = (MethodKind, &'static [(&'static str, &'static str)], Want);

    /// Request fields -> status, Content-Range, Content-Length, the file's spans.
    const FILE_CASES: &[FileCase] = &[
        (
            Get,
            &[],
            (
                200,
                None,
                Some("12"),
                FileSpans::Span { offset: 0, len: 12 },
            ),
        ),
        (
            Head,
            &[],
            (
                200,
                None,
                Some("12"),
                FileSpans::Span { offset: 0, len: 12 },
            ),
        ),
        (
            Get,
            &[("Range", "bytes=0-4")],
            (
                206,
                Some("bytes 0-4/12"),
                Some("5"),
                FileSpans::Span { offset: 0, len: 5 },
            ),
        ),
        (
            Get,
            &[("Range", "bytes=-3")],
            (
                206,
                Some("bytes 9-11/12"),
                Some("3"),
                FileSpans::Span { offset: 9, len: 3 },
            ),
        ),
        (
            Head,
            &[("Range", "bytes=0-4")],
            (
                200,
                None,
                Some("12"),
                FileSpans::Span { offset: 0, len: 12 },
            ),
        ),
        (
            Get,
            &[("Range", "lines=1-2")],
            (
                200,
                None,
                Some("12"),
                FileSpans::Span { offset: 0, len: 12 },
            ),
        ),
        (
            Get,
            &[("Range", "bytes=12-")],
            (416, Some("bytes */12"), Some("26"), FileSpans::Nothing),
        ),
        (
            Get,
            &[("If-None-Match", ETAG)],
            (304, None, None, FileSpans::Nothing),
        ),
        (
            Get,
            &[("If-Modified-Since", LM)],
            (304, None, None, FileSpans::Nothing),
        ),
        (
            Get,
            &[("If-Match", "\"nope\"")],
            (412, None, Some("24"), FileSpans::Nothing),
        ),
        (
            Get,
            &[("Range", "bytes=0-4"), ("If-Range", "\"old\"")],
            (
                200,
                None,
                Some("12"),
                FileSpans::Span { offset: 0, len: 12 },
            ),
        ),
    ];

    #[test]
    fn file_answers() {
        for (method, fields, (status, range, length, spans)) in FILE_CASES {
            let (head, got) = hello(*method, fields);
            let case = format!("{method:?} {fields:?}");
            assert_eq!(head.status, *status, "{case}");
            assert_eq!(head.header("content-range"), *range, "{case}");
            assert_eq!(head.header("content-length"), *length, "{case}");
            assert_eq!(&got, spans, "{case}");
            assert_eq!(head.header("date"), Some(NOW), "{case}");
            let validated = matches!(status, 200 | 206 | 304);
            assert_eq!(head.header("etag"), validated.then_some(ETAG), "{case}");
            assert_eq!(
                head.header("last-modified"),
                validated.then_some(LM),
                "{case}"
            );
        }
        let (head, spans) = hello(Get, &[("Range", "bytes=0-0,6-10")]);
        let multipart = Some("multipart/byteranges; boundary=B");
        assert_eq!((head.status, head.header("content-type")), (206, multipart));
        assert!(matches!(spans, FileSpans::Multipart { ref parts, .. } if parts.len() == 2));
    }

    #[test]
    fn last_modified_never_passes_now_and_etags_come_from_metadata_by_default() {
        let future = at(NOW) + Duration::from_secs(3600);
        let v = validators(12, future, None, at(NOW));
        assert_eq!(v.modified, at(NOW));
        assert_eq!(
            v.etag,
            etag_from_metadata(12, future),
            "the real mtime names the version"
        );
        let v = validators(12, at(LM), Some(ETAG.into()), at(NOW));
        assert_eq!((v.etag.as_str(), v.modified), (ETAG, at(LM)));
    }

    #[test]
    fn methods_and_refusals() {
        let now = at(NOW);
        let r = method_reply(Options, now).unwrap();
        assert_eq!((r.status, r.header("allow")), (204, Some(ALLOW)));
        assert!(r.header("content-length").is_none() && r.body.is_empty());
        let r = method_reply(Other, now).unwrap();
        assert_eq!((r.status, r.header("allow")), (405, Some(ALLOW)));
        assert!(method_reply(Get, now).is_none() && method_reply(Head, now).is_none());
        let r = plain_error(404, now);
        assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
        assert!(matches!(r.body, BodySource::Bytes(ref b) if b == b"404 Not Found\n"));
        assert!(plain_error(304, now).header("content-length").is_none());
    }

    #[test]
    fn errors_dress_as_pages_for_browsers_only() {
        let now = at(NOW);
        let browser: Option<&[u8]> = Some(b"text/html,*/*;q=0.8");
        let mut r = plain_error(416, now).with("Content-Range", "bytes */12");
        dress_error(&mut r, browser);
        assert_eq!(r.header("content-type"), Some(HTML));
        assert_eq!(r.header("content-range"), Some("bytes */12"));
        let declared: u64 = r.header("content-length").unwrap().parse().unwrap();
        assert_eq!(declared, r.body.len());
        assert!(r.header("content-security-policy").is_some());
        let mut tool = plain_error(404, now);
        dress_error(&mut tool, Some(b"*/*"));
        assert_eq!(
            tool.header("content-type"),
            Some("text/plain; charset=utf-8")
        );
        let mut moved = Response::new(404, now).body(BodySource::Bytes(b"theirs".to_vec()));
        dress_error(&mut moved, browser);
        assert!(
            moved.header("content-type").is_none(),
            "only our own bodies are replaced"
        );
    }

    #[test]
    fn redirects_keep_the_query_and_stay_local() {
        let path = SafePath {
            rel: "a b/evil.example".to_string(),
            dir_form: false,
            query: Some("x=1"),
        };
        let r = redirect_to_dir(&path, at(NOW));
        assert_eq!(r.status, 301);
        assert_eq!(r.header("location"), Some("/a%20b/evil.example/?x=1"));
    }

    #[test]
    fn open_errors_become_statuses() {
        let table: &[(i32, u16)] = &[
            (libc::ENOENT, 404),
            (libc::ENOTDIR, 404),
            (libc::ELOOP, 404),
            (libc::EXDEV, 404),
            (libc::EINVAL, 404),
            (libc::EACCES, 403),
            (libc::EMFILE, 503),
            (libc::EIO, 500),
        ];
        for (errno, want) in table {
            let e = io::Error::from_raw_os_error(*errno);
            assert_eq!(io_status(&e), *want, "{e}");
        }
    }

    #[test]
    fn classifies_methods_case_sensitively() {
        assert_eq!(classify_method("GET"), Get);
        assert_eq!(classify_method("HEAD"), Head);
        assert_eq!(classify_method("OPTIONS"), Options);
        assert_eq!(classify_method("get"), Other);
        assert_eq!(classify_method("POST"), Other);
        assert_eq!(classify_method("DELETE"), Other);
    }

    #[test]
    fn content_types_by_extension() {
        let table = [
            ("index.html", "text/html; charset=utf-8"),
            ("a/b.TXT", "text/plain; charset=utf-8"),
            ("app.js", "text/javascript; charset=utf-8"),
            ("data.json", "application/json; charset=utf-8"),
            ("logo.png", "image/png"),
            ("logo.svg", "image/svg+xml; charset=utf-8"),
            ("archive.tar.gz", "application/gzip"),
            ("noext", "application/octet-stream"),
            ("weird.zzzz", "application/octet-stream"),
        ];
        for (name, want) in table {
            assert_eq!(content_type(name), want, "{name}");
        }
    }

    #[test]
    fn etags_are_strong_and_change_with_size_or_time() {
        let t = UNIX_EPOCH + Duration::new(1, 5);
        assert_eq!(etag_from_metadata(255, t), "\"ff-3b9aca05\"");
        assert_ne!(etag_from_metadata(255, t), etag_from_metadata(254, t));
        assert_ne!(
            etag_from_metadata(255, t),
            etag_from_metadata(255, t + Duration::from_nanos(1))
        );
        assert_eq!(
            etag_from_digest(&[0xab; 32]),
            format!("\"{}\"", "ab".repeat(16))
        );
    }

    #[test]
    fn only_a_streamed_listing_left_as_is_gets_framed_here() {
        use crate::serve::dirread::{DirReader, ListRules};
        use crate::serve::dirstream::ListingBody;
        use crate::serve::listing::Format;
        use WireFraming::*;
        let dir = tempfile::tempdir().unwrap();
        let listing = || {
            let rules = ListRules {
                root: dir.path().to_path_buf(),
                hidden: false,
                follow_symlinks: false,
            };
            let handle = std::fs::File::open(dir.path()).unwrap();
            let reader = DirReader::open(&rules, "", &handle).unwrap();
            let format = Format::Json {
                order: Default::default(),
            };
            let body = ListingBody::new(reader, Vec::new(), format, None, None);
            Response::new(200, at(NOW)).body(BodySource::Listing(Box::new(body)))
        };
        let bytes = || plain_error(404, at(NOW));
        let cases = [
            (listing(), AsIs, 1, Chunked, Some("chunked")),
            (listing(), AsIs, 0, UntilClose, None),
            (listing(), UntilClose, 1, UntilClose, None),
            (bytes(), AsIs, 1, AsIs, None),
            (bytes(), Chunked, 1, Chunked, None),
        ];
        for (mut response, framing, minor, want, field) in cases {
            let got = unknown_length_framing(&mut response, framing, minor);
            assert_eq!(got, want, "{framing:?} HTTP/1.{minor}");
            assert_eq!(response.header("transfer-encoding"), field);
        }
    }
}
