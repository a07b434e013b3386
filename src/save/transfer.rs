//! One file of a save: request it (with the validators of the last save) through fetch's
//! transfer loop (retries, `-w` record, `.part` + rename), into `DIR/PATH`, or (HTML, CSS) into
//! the state folder as the original whose links are then listed; the rewritten copy is written
//! once every file is known. Runs on a batch worker; all HTTP is `fetch`'s.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use url::Url;

use super::css::rewrite_css;
use super::html::rewrite_html;
use super::links::{LinkKind, Linker};
use super::paths::local_path;
use super::state::{original_file, DocKind, Entry, State};
use crate::fetch::args::ClientOptions;
use crate::fetch::batch::{Context, Job};
use crate::fetch::resume::meta_path;
use crate::fetch::sink::{ensure_dir, part_path, Destination, Sink};
use crate::fetch::transfer::{transfer, Output, TransferOptions};
use crate::fetch::writeout::Record;
use crate::fetch::{Origin, Pool, Request, Response};
use crate::proto::limits::MAX_REDIRECTS;
use crate::Error;

/// HTML and CSS bigger than this are saved as they are, links not followed: they are held
/// in memory while their links are found.
pub(super) const MAX_DOCUMENT: u64 = 16 << 20;

/// A URL to save.
#[derive(Debug)]
pub(super) struct SaveJob {
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

/// What became of a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Landing {
    /// Saved now, or unchanged on disk (304).
    Saved,
    /// Another URL of this run already saved to the same local path (`/` and `/index.html`):
    /// nothing was written, links to this URL lead to that file.
    Alias,
    /// Fetched only for its links (`keep` false), nothing kept.
    Walked,
}

/// A URL done.
#[derive(Debug)]
pub(super) struct Done {
    /// Where it is and how to treat it next time.
    pub entry: Entry,
    /// Where redirects led (links in it are relative to this).
    pub final_url: Url,
    /// Links found in it (HTML, CSS).
    pub links: Vec<(Url, LinkKind)>,
    /// What became of it.
    pub landing: Landing,
}

/// What every worker shares.
#[derive(Debug)]
pub(super) struct Shared {
    /// The save folder.
    pub dir: PathBuf,
    /// The start URL (its origin's files sit at the top of DIR).
    pub start: Url,
    /// Connection flags, parsed.
    pub client: ClientOptions,
    /// Retries (`--retry*`), as fetch runs them.
    pub transfer: TransferOptions,
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
    /// Body bytes received so far (for the summary).
    pub received: AtomicU64,
    /// Names for pages walked but not kept.
    pub walked: AtomicU64,
}

/// Save one URL through fetch's transfer loop (retries, `-w` record); the record's file name
/// is the saved copy's.
pub(super) fn save_one(
    job: &SaveJob,
    ctx: &Context<'_>,
    shared: &Shared,
) -> (Record, Result<Done, Error>) {
    if let Some(wait) = shared.wait {
        if shared.started.swap(true, Ordering::Relaxed) {
            std::thread::sleep(wait);
        }
    }
    let previous = shared
        .previous
        .get(job.url.as_str())
        .filter(|e| job.keep && is_on_disk(&shared.dir, e));
    let request = shared
        .client
        .request("GET", job.url.clone())
        .pool(shared.pool.clone())
        .connection_close(ctx.last_for_origin())
        .follow_redirects(MAX_REDIRECTS);
    let request = conditional(request, previous);
    let mut out = SaveOutput {
        job,
        shared,
        previous,
        mine: None,
        landed: None,
    };
    let (mut record, result) = transfer(&request, &shared.transfer, &mut out);
    let result = match result {
        Ok(()) => out.done(),
        Err(e) => {
            out.clean_up();
            Err(e)
        }
    };
    record.filename_effective = match &result {
        Ok(done) if done.landing == Landing::Saved => {
            Some(shared.dir.join(&done.entry.path).display().to_string())
        }
        _ => None,
    };
    (record, result)
}

/// A re-save asks with the last copy's validators: the server answers 304 when nothing
/// changed (RFC 9110 §13.1.2, §13.1.3).
fn conditional(mut request: Request, previous: Option<&Entry>) -> Request {
    if let Some(e) = previous {
        if let Some(etag) = &e.etag {
            request = request.header("If-None-Match", etag);
        }
        if let Some(date) = &e.last_modified {
            request = request.header("If-Modified-Since", date);
        }
    }
    request
}

/// Where the body of the answer went.
enum Landed {
    /// 304: the file on disk stands.
    Unchanged(Entry),
    /// Another URL has the path.
    Alias(Entry),
    /// A page not kept that turned out not to be a document: nothing to do.
    Nothing(Entry, Url),
    /// The body is in `file` (DIR/PATH, or the original of a document).
    File {
        entry: Entry,
        url: Url,
        file: PathBuf,
    },
}

/// fetch's [`Output`] for a save: status policy, local names, where bodies go.
struct SaveOutput<'a> {
    job: &'a SaveJob,
    shared: &'a Shared,
    previous: Option<&'a Entry>,
    /// The path this URL claimed (kept across retries).
    mine: Option<PathBuf>,
    landed: Option<Landed>,
}

impl Output for SaveOutput<'_> {
    fn resume_path(&self) -> Option<PathBuf> {
        None
    }

    fn open(&mut self, response: &Response) -> Result<Option<Sink>, Error> {
        self.landed = None;
        let url = response.url().clone();
        match (response.status(), self.previous) {
            (304, Some(entry)) => {
                let mut entry = entry.clone();
                if let Some(etag) = response.headers().get_str("etag") {
                    entry.etag = Some(etag.to_string());
                }
                self.landed = Some(Landed::Unchanged(entry));
                return Ok(None);
            }
            (200..=299, _) => {}
            (status, _) => return Err(Error::HttpStatus(status).at_url(url.as_str())),
        }
        let entry = self.entry_for(response);
        if self.job.keep && !self.claim(&entry.path) {
            self.landed = Some(Landed::Alias(entry));
            return Ok(None);
        }
        let file = match (entry.kind.has_links(), self.job.keep) {
            (true, true) => original_file(&self.shared.dir, &entry.path),
            (false, true) => self.shared.dir.join(&entry.path),
            (true, false) => self.walk_file(),
            (false, false) => {
                self.landed = Some(Landed::Nothing(entry, url));
                return Ok(None);
            }
        };
        let sink = open_sink(&file)?;
        self.landed = Some(Landed::File { entry, url, file });
        Ok(Some(sink))
    }

    fn before_write(&mut self, block: &[u8]) -> Result<(), Error> {
        self.shared
            .received
            .fetch_add(block.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

impl SaveOutput<'_> {
    /// The entry a 2xx answer gets: its kind (large documents are kept as they are) and name.
    fn entry_for(&self, response: &Response) -> Entry {
        let mut kind = doc_kind(response);
        if response.content_length().is_some_and(|n| n > MAX_DOCUMENT) {
            kind = DocKind::Other;
        }
        let headers = response.headers();
        Entry {
            path: local_path(&self.job.url, &self.shared.start, kind),
            kind,
            etag: headers.get_str("etag").map(str::to_string),
            last_modified: headers.get_str("last-modified").map(str::to_string),
        }
    }

    /// Take `path` for this URL (again, on a retry); false when another URL has it.
    fn claim(&mut self, path: &Path) -> bool {
        if self.mine.as_deref() == Some(path) {
            return true;
        }
        let mut claimed = self
            .shared
            .claimed
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let fresh = claimed.insert(path.to_path_buf());
        if fresh {
            self.mine = Some(path.to_path_buf());
        }
        fresh
    }

    /// A private name under the state folder for a page read only for its links.
    fn walk_file(&self) -> PathBuf {
        let n = self.shared.walked.fetch_add(1, Ordering::Relaxed);
        self.shared
            .dir
            .join(super::paths::STATE_DIR)
            .join("walk")
            .join(n.to_string())
    }

    /// The transfer failed for good: no part file (and no resume note) stays behind, since
    /// save never resumes (fetch keeps them for `--retry`'s sake).
    fn clean_up(&self) {
        if let Some(Landed::File { file, .. }) = &self.landed {
            if let Some(part) = part_path(file) {
                let _ = std::fs::remove_file(meta_path(&part));
                let _ = std::fs::remove_file(part);
            }
        }
    }

    /// The transfer succeeded: find the links of what landed.
    fn done(mut self) -> Result<Done, Error> {
        let done = |entry, final_url, links, landing| Done {
            entry,
            final_url,
            links,
            landing,
        };
        match self.landed.take() {
            None => Err(Error::Io(std::io::Error::other("no response was handled"))),
            Some(Landed::Alias(entry)) => Ok(done(
                entry,
                self.job.url.clone(),
                Vec::new(),
                Landing::Alias,
            )),
            Some(Landed::Nothing(entry, url)) => Ok(done(entry, url, Vec::new(), Landing::Walked)),
            Some(Landed::Unchanged(entry)) => {
                let original = original_file(&self.shared.dir, &entry.path);
                let links = match entry.kind.has_links() {
                    true => read_links(entry.kind, &original, &self.job.url)?,
                    false => Vec::new(),
                };
                Ok(done(entry, self.job.url.clone(), links, Landing::Saved))
            }
            Some(Landed::File {
                mut entry,
                url,
                file,
            }) => {
                let links = match entry.kind.has_links() {
                    true => self.document_links(&mut entry, &url, &file)?,
                    false => Vec::new(),
                };
                let landing = if self.job.keep {
                    Landing::Saved
                } else {
                    Landing::Walked
                };
                Ok(done(entry, url, links, landing))
            }
        }
    }

    /// The links of a document just received. A walked page's file is removed; a document
    /// over `MAX_DOCUMENT` (sent without a length) is moved into place as it is.
    fn document_links(
        &self,
        entry: &mut Entry,
        url: &Url,
        file: &Path,
    ) -> Result<Vec<(Url, LinkKind)>, Error> {
        let size = std::fs::metadata(file).map_err(Error::Io)?.len();
        if size > MAX_DOCUMENT {
            entry.kind = DocKind::Other;
            if !self.job.keep {
                let _ = std::fs::remove_file(file);
                return Ok(Vec::new());
            }
            move_into_place(file, &self.shared.dir.join(&entry.path))?;
            return Ok(Vec::new());
        }
        let links = read_links(entry.kind, file, url)?;
        if !self.job.keep {
            let _ = std::fs::remove_file(file);
        } else if links.is_empty() {
            // Nothing to rewrite (most style sheets): the original is the copy, moved into
            // place now instead of written again later; next time it counts as a plain file.
            entry.kind = DocKind::Other;
            move_into_place(file, &self.shared.dir.join(&entry.path))?;
        }
        Ok(links)
    }
}

/// Rename a finished original over its place in DIR (a whole file replaces a whole file).
fn move_into_place(file: &Path, target: &Path) -> Result<(), Error> {
    if let Some(parent) = target.parent() {
        ensure_dir(parent)?;
    }
    std::fs::rename(file, target).map_err(Error::Io)
}

/// The links of the document in `file`, relative to `url`.
fn read_links(kind: DocKind, file: &Path, url: &Url) -> Result<Vec<(Url, LinkKind)>, Error> {
    let body = std::fs::read(file).map_err(Error::Io)?;
    Ok(find_links(kind, &body, url))
}

/// The file and (for HTML/CSS) its original are both still there.
fn is_on_disk(dir: &Path, e: &Entry) -> bool {
    dir.join(&e.path).is_file() && (!e.kind.has_links() || original_file(dir, &e.path).is_file())
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

/// Write `bytes` to `path` through `.part` + rename (parents created).
pub(super) fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
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
pub(super) fn find_links(kind: DocKind, body: &[u8], url: &Url) -> Vec<(Url, LinkKind)> {
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
