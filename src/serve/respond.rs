//! From a parsed request to a `Response`: the I/O shell around `reply`. It resolves nothing
//! twice, opens through `open`, reads metadata, directories and (for fixtures) file content,
//! reads the clock once per request, and leaves every decision to `files` and `reply`.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::OnceLock;
use std::time::SystemTime;

use super::dirread::{DirReader, ListRules};
use super::dirstream::{self, DirKey, ListingBody};
use super::entries::{self, Entry};
use super::files::{resolve_target, Refusal, SafePath};
use super::listing::Format;
use super::open::open_beneath;
use super::reply::{self, FileFacts, MethodKind};
use super::response::{BodySource, Response};
use super::site::Site;
use crate::proto::limits;
use crate::proto::request_head::RequestHead;

/// One request being answered: what every step of the shell needs.
struct Ask<'a> {
    site: &'a Site,
    req: &'a RequestHead,
    method: MethodKind,
    /// The clock, read once for the whole answer (Date, and the Last-Modified clamp).
    now: SystemTime,
}

/// Answer one request (GET/HEAD/OPTIONS/405, files, ranges, preconditions, listings, redirects).
/// Never panics on request data; a path refusal is 400 or 404 (see `files`), never a 5xx.
pub fn respond(site: &Site, req: &RequestHead) -> Response {
    respond_to(site, req, &resolve_target(&req.target, site.hidden))
}

/// `respond` for a target the caller has resolved already (the cache needs the path too).
pub fn respond_to(
    site: &Site,
    req: &RequestHead,
    target: &Result<SafePath<'_>, Refusal>,
) -> Response {
    let ask = Ask {
        site,
        req,
        method: reply::classify_method(&req.method),
        now: SystemTime::now(),
    };
    let by_method = reply::method_reply(ask.method, ask.now);
    let mut response = match (by_method, target) {
        (Some(response), _) => response,
        (None, Ok(path)) => serve_path(&ask, path),
        (None, Err(refusal)) => reply::plain_error(refusal.status(), ask.now),
    };
    reply::dress_error(&mut response, req.headers.get("accept"));
    site.add_headers(&mut response);
    if ask.method == MethodKind::Head {
        // RFC 9110 §9.3.2: the same head as GET (Content-Length included), no body.
        response.body = BodySource::None;
    }
    response
}

/// A small text/plain error response dated now (for callers outside a request's answer).
pub fn error_response(status: u16) -> Response {
    reply::plain_error(status, SystemTime::now())
}

/// Open what `path` names and answer for a file, a directory (redirect, index, listing) or
/// nothing servable.
fn serve_path(ask: &Ask, path: &SafePath) -> Response {
    let opened = open_beneath(&ask.site.root, ask.site.follow_symlinks, &path.rel)
        .and_then(|f| Ok((f.metadata()?, f)));
    let (meta, file) = match opened {
        Ok(opened) => opened,
        Err(e) => return reply::plain_error(reply::io_status(&e), ask.now),
    };
    if meta.is_dir() {
        if !path.dir_form {
            return reply::redirect_to_dir(path, ask.now);
        }
        return serve_dir(ask, path, &file);
    }
    // A file asked for as a directory (`/a.txt/`) does not exist, as for open(2) (ENOTDIR);
    // FIFOs, sockets and devices are not ours to serve.
    if path.dir_form || !meta.is_file() {
        return reply::plain_error(404, ask.now);
    }
    serve_file(ask, &path.rel, file, &meta)
}

/// index.html when there is one, else a listing (or 404 with `--no-listing`).
fn serve_dir(ask: &Ask, path: &SafePath, dir: &File) -> Response {
    let index = match path.rel.is_empty() {
        true => "index.html".to_string(),
        false => format!("{}/index.html", path.rel),
    };
    if let Ok(file) = open_beneath(&ask.site.root, ask.site.follow_symlinks, &index) {
        if let Ok(meta) = file.metadata() {
            if meta.is_file() {
                return serve_file(ask, &index, file, &meta);
            }
        }
    }
    if !ask.site.listing {
        return reply::plain_error(404, ask.now);
    }
    serve_listing(ask, path, dir)
}

/// A directory's listing: built at once when small, else streamed as the socket drains (issue
/// 13), shared with other connections of this thread listing the same directory.
fn serve_listing(ask: &Ask, path: &SafePath, dir: &File) -> Response {
    let now = ask.now;
    let rules = ListRules {
        root: ask.site.root.clone(),
        hidden: ask.site.hidden,
        follow_symlinks: ask.site.follow_symlinks,
    };
    let format = Format::of(ask.req.headers.get("accept"), path);
    let key = DirKey::of(&rules, dir, format.order());
    // JSON may stream past the sort cap from a reader of its own.
    let spare = |format: &Format| match format {
        Format::Json { .. } => DirReader::open(&rules, &path.rel, dir).ok(),
        Format::Html { .. } => None,
    };
    let content_type = format.content_type();
    if let Some(shared) = key.and_then(dirstream::shared_listing) {
        let spare = spare(&format);
        let body = ListingBody::join(shared, format, spare);
        return reply::listing_head(content_type, now).body(BodySource::Listing(Box::new(body)));
    }
    let mut reader = match DirReader::open(&rules, &path.rel, dir) {
        Ok(reader) => reader,
        Err(e) => return reply::plain_error(reply::io_status(&e), now),
    };
    let mut entries = Vec::new();
    reader.read_into(&mut entries, limits::LISTING_INLINE_ENTRIES);
    if reader.is_exhausted() {
        return listing_response(ask, &format, entries);
    }
    let spare = spare(&format);
    let body = ListingBody::new(reader, entries, format, key, spare);
    reply::listing_head(content_type, now).body(BodySource::Listing(Box::new(body)))
}

/// A small listing, rendered at once.
fn listing_response(ask: &Ask, format: &Format, entries: Vec<Entry>) -> Response {
    let entries = entries::prepare_by(entries, ask.site.hidden, format.order());
    let body = format.render(&entries);
    reply::listing_head(format.content_type(), ask.now)
        .with("Content-Length", body.len().to_string())
        .body(BodySource::Bytes(body))
}

/// Validators (hashing the content for fixtures), then `reply`'s decision, then the file.
fn serve_file(ask: &Ask, name: &str, file: File, meta: &std::fs::Metadata) -> Response {
    let len = meta.len();
    let site = ask.site;
    let modified = site
        .fixed_mtime
        .or_else(|| meta.modified().ok())
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let content_etag = match site.content_etag {
        true => super::etag_cache::cached(meta, || content_etag(&file, len)).ok(),
        false => None,
    };
    let validators = reply::validators(len, modified, content_etag, ask.now);
    let facts = FileFacts {
        name,
        len,
        validators,
    };
    let (mut response, spans) =
        reply::file_reply(ask.method, &ask.req.headers, facts, boundary(), ask.now);
    response.attach(spans, file);
    response
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::Headers;
    use crate::serve::page::HTML;
    use crate::serve::reply::ALLOW;
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
