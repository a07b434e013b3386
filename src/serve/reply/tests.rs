//! Unit tables for `reply`: file answers, methods, error pages, redirects, errno statuses,
//! streamed-listing framing.

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
