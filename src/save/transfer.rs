//! One file of a save: request it (with the validators of the last save), then either stream
//! it to `DIR/PATH` through `.part` + rename, or (HTML, CSS) keep the original under the state
//! folder and list its links; the rewritten copy is written once every file is known. Runs on
//! a batch worker; all HTTP is `fetch`'s.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use url::Url;

use super::css::rewrite_css;
use super::html::{rewrite_html, LinkKind, Linker};
use super::paths::local_path;
use super::state::{original_file, DocKind, Entry, State};
use crate::fetch::args::ClientOptions;
use crate::fetch::batch::{Context, Job};
use crate::fetch::body::BUF_SIZE;
use crate::fetch::save::{ensure_dir, Destination, Sink};
use crate::fetch::{Origin, Pool, Response};
use crate::proto::limits::MAX_REDIRECTS;
use crate::Error;

/// HTML and CSS bigger than this are saved as they are, links not followed: they are held
/// in memory while their links are found.
pub const MAX_DOCUMENT: u64 = 16 << 20;

/// A URL to save.
#[derive(Debug)]
pub struct SaveJob {
    /// Without fragment.
    pub url: Url,
    /// Page depth (the start page is 0).
    pub depth: u32,
    /// Written to DIR (false: a page rejected by `--accept`/`--reject`, walked for links).
    pub keep: bool,
}

impl Job for SaveJob {
    fn origin(&self) -> Option<Origin> {
        Origin::of(&self.url)
    }
}

/// A file saved (or found unchanged).
#[derive(Debug)]
pub struct Done {
    /// Where it is and how to treat it next time.
    pub entry: Entry,
    /// Where redirects led (links in it are relative to this).
    pub final_url: Url,
    /// Links found in it (HTML, CSS).
    pub links: Vec<(Url, LinkKind)>,
    /// Body bytes received.
    pub bytes: u64,
    /// Another URL of this run already saved to the same local path (`/` and `/index.html`):
    /// nothing was written, links to this URL lead to that file.
    pub alias: bool,
}

/// What every worker shares.
#[derive(Debug)]
pub struct Shared {
    /// The save folder.
    pub dir: PathBuf,
    /// The start URL (its origin's files sit at the top of DIR).
    pub start: Url,
    /// Connection flags, parsed.
    pub client: ClientOptions,
    /// Kept-alive connections.
    pub pool: Arc<Pool>,
    /// The last save's state (validators).
    pub previous: State,
    /// Local paths taken in this run: two URLs never write one file.
    pub claimed: Mutex<HashSet<PathBuf>>,
    /// `--wait`: pause between requests.
    pub wait: Option<Duration>,
    /// A request went out already (for `--wait`).
    pub started: AtomicBool,
    /// Body bytes received so far (for the progress display).
    pub received: AtomicU64,
}

/// Save one URL.
pub fn save_one(job: &SaveJob, ctx: &Context<'_>, shared: &Shared) -> Result<Done, Error> {
    if let Some(wait) = shared.wait {
        if shared.started.swap(true, Ordering::Relaxed) {
            std::thread::sleep(wait);
        }
    }
    let previous = shared
        .previous
        .get(job.url.as_str())
        .filter(|e| job.keep && is_on_disk(&shared.dir, e));
    let mut request = shared
        .client
        .request("GET", job.url.clone())
        .pool(shared.pool.clone())
        .connection_close(ctx.last_for_origin())
        .follow_redirects(MAX_REDIRECTS);
    if let Some(e) = previous {
        // RFC 9110 §13.1.2 / §13.1.3: the server answers 304 when nothing changed.
        if let Some(etag) = &e.etag {
            request = request.header("If-None-Match", etag);
        }
        if let Some(date) = &e.last_modified {
            request = request.header("If-Modified-Since", date);
        }
    }
    let response = request.send()?;
    let at = response.url().as_str().to_string();
    match (response.status(), previous) {
        (304, Some(entry)) => {
            let done = unchanged(job, shared, entry.clone(), &response);
            response.discard();
            done
        }
        (200..=299, _) => save_body(job, shared, response),
        (status, _) => {
            response.discard();
            Err(Error::HttpStatus(status).at_url(&at))
        }
    }
    .map_err(|e| e.at_url(&at))
}

/// The file and (for HTML/CSS) its original are both still there.
fn is_on_disk(dir: &Path, e: &Entry) -> bool {
    dir.join(&e.path).is_file() && (!e.kind.has_links() || original_file(dir, &e.path).is_file())
}

/// 304: the file on disk stands; its links come from the kept original.
fn unchanged(
    job: &SaveJob,
    shared: &Shared,
    mut entry: Entry,
    response: &Response,
) -> Result<Done, Error> {
    if !claim(shared, &entry.path) {
        return Ok(alias(entry, job.url.clone()));
    }
    let headers = response.headers();
    if let Some(etag) = headers.get_str("etag") {
        entry.etag = Some(etag.to_string());
    }
    let mut links = Vec::new();
    if entry.kind.has_links() {
        let original = std::fs::read(original_file(&shared.dir, &entry.path)).map_err(Error::Io)?;
        links = find_links(entry.kind, &original, &job.url);
    }
    Ok(Done {
        entry,
        final_url: job.url.clone(),
        links,
        bytes: 0,
        alias: false,
    })
}

/// 2xx: write the body, or hold a document to find its links.
fn save_body(job: &SaveJob, shared: &Shared, mut response: Response) -> Result<Done, Error> {
    let final_url = response.url().clone();
    let mut kind = doc_kind(&response);
    if response.content_length().is_some_and(|n| n > MAX_DOCUMENT) {
        kind = DocKind::Other;
    }
    let path = local_path(&job.url, &shared.start, kind);
    let entry = Entry {
        etag: response.headers().get_str("etag").map(str::to_string),
        last_modified: response
            .headers()
            .get_str("last-modified")
            .map(str::to_string),
        path,
        kind,
    };
    if job.keep && !claim(shared, &entry.path) {
        response.discard();
        return Ok(alias(entry, final_url));
    }
    let (bytes, links) = if kind.has_links() {
        let body = read_document(&mut response, shared)?;
        let links = find_links(kind, &body, &final_url);
        if job.keep {
            write_file(&original_file(&shared.dir, &entry.path), &body)?;
        }
        (body.len() as u64, links)
    } else if job.keep {
        (
            stream_to(&shared.dir.join(&entry.path), &mut response, shared)?,
            Vec::new(),
        )
    } else {
        (0, Vec::new())
    };
    response.release();
    Ok(Done {
        entry,
        final_url,
        links,
        bytes,
        alias: false,
    })
}

/// HTML by `text/html` or `application/xhtml+xml`, CSS by `text/css` (RFC 9110 §8.3).
fn doc_kind(response: &Response) -> DocKind {
    let value = response.headers().get_str("content-type").unwrap_or("");
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "text/html" | "application/xhtml+xml" => DocKind::Html,
        "text/css" => DocKind::Css,
        _ => DocKind::Other,
    }
}

/// Take `path` for this run; false when another URL took it already.
fn claim(shared: &Shared, path: &Path) -> bool {
    let mut claimed = shared.claimed.lock().unwrap_or_else(|p| p.into_inner());
    claimed.insert(path.to_path_buf())
}

/// A URL whose local path another URL of this run has.
fn alias(entry: Entry, final_url: Url) -> Done {
    Done {
        entry,
        final_url,
        links: Vec::new(),
        bytes: 0,
        alias: true,
    }
}

/// The whole body of a document, refused over `MAX_DOCUMENT`.
fn read_document(response: &mut Response, shared: &Shared) -> Result<Vec<u8>, Error> {
    let mut body = Vec::new();
    let mut buf = vec![0u8; BUF_SIZE];
    loop {
        let n = response.read_body(&mut buf)?;
        if n == 0 {
            return Ok(body);
        }
        shared.received.fetch_add(n as u64, Ordering::Relaxed);
        body.extend_from_slice(&buf[..n]);
        if body.len() as u64 > MAX_DOCUMENT {
            return Err(Error::FileTooLarge {
                limit: MAX_DOCUMENT,
            });
        }
    }
}

/// Stream the body to `path` through `.part`; the bytes written.
fn stream_to(path: &Path, response: &mut Response, shared: &Shared) -> Result<u64, Error> {
    let mut sink = open_sink(path)?;
    let mut buf = vec![0u8; BUF_SIZE];
    let mut total = 0u64;
    loop {
        let n = response.read_body(&mut buf)?;
        if n == 0 {
            break;
        }
        shared.received.fetch_add(n as u64, Ordering::Relaxed);
        sink.write_all(&buf[..n])?;
        total += n as u64;
    }
    sink.commit()?;
    Ok(total)
}

/// Write `bytes` to `path` through `.part` + rename (parents created).
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let mut sink = open_sink(path)?;
    sink.write_all(bytes)?;
    sink.commit()
}

fn open_sink(path: &Path) -> Result<Sink, Error> {
    if let Some(parent) = path.parent() {
        ensure_dir(parent)?;
    }
    Sink::open(&Destination::File {
        path: path.to_path_buf(),
        no_clobber: false,
    })
}

/// Collects links, changes nothing.
#[derive(Default)]
struct Collect(Vec<(Url, LinkKind)>);

impl Linker for Collect {
    fn link(&mut self, url: Url, kind: LinkKind) -> Option<String> {
        self.0.push((url, kind));
        None
    }
}

/// The links of a document at `url` (a document lol_html gives up on has none).
pub fn find_links(kind: DocKind, body: &[u8], url: &Url) -> Vec<(Url, LinkKind)> {
    let mut collect = Collect::default();
    match kind {
        DocKind::Html => {
            let _ = rewrite_html(body, url, &mut collect);
        }
        DocKind::Css => {
            rewrite_css(&String::from_utf8_lossy(body), url, &mut collect);
        }
        DocKind::Other => {}
    }
    collect.0
}
