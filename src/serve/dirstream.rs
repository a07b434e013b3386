//! Reading a directory in batches, and a listing body produced as the socket drains (issue 13:
//! a 100,000-entry directory must neither be rendered before the first byte nor held per
//! connection). The connection pulls one piece at a time and yields the loop between pieces;
//! what the rows look like is `listing`'s business.

use std::cell::RefCell;
use std::fs::{File, ReadDir};
use std::io;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use super::entries::{self, Entry, Kind, Order};
use super::files::is_requestable_name;
use super::listing::{self, Counts, Page};
use super::open::open_beneath;
use super::site::Site;
use crate::proto::limits;

/// Entries read (and stat'ed) per step: a few milliseconds of work at most, so other
/// connections on the loop wait no longer than that.
const READ_BATCH: usize = 128;
/// Bytes rendered per piece: enough to fill a socket buffer in a few pieces, small enough that
/// a connection that does not read holds little.
const PIECE: usize = 32 * 1024;

/// A directory being read through its already-opened (and already checked) descriptor.
#[derive(Debug)]
pub struct DirReader {
    read: ReadDir,
    site: Site,
    rel: String,
    exhausted: bool,
}

impl DirReader {
    /// Start reading `dir` (the directory `rel` names under the root) via /proc/self/fd, so a
    /// path swapped since the open cannot redirect the read.
    pub fn open(site: &Site, rel: &str, dir: &File) -> io::Result<DirReader> {
        let via_fd = PathBuf::from(format!("/proc/self/fd/{}", dir.as_raw_fd()));
        let read = match std::fs::read_dir(&via_fd) {
            Ok(read) => read,
            Err(_) => std::fs::read_dir(site.root.join(rel))?,
        };
        Ok(DirReader {
            read,
            site: site.clone(),
            rel: rel.to_string(),
            exhausted: false,
        })
    }

    /// Whether every entry has been read.
    pub fn is_exhausted(&self) -> bool {
        self.exhausted
    }

    /// Append up to `n` more listable entries to `out`. Dotfiles (unless `--hidden`), names
    /// no target could name (not UTF-8, CR, LF, other controls, `\`) and symlinks leaving the root are
    /// skipped; they count against `n`, so one call is bounded work whatever the directory.
    pub fn read_into(&mut self, out: &mut Vec<Entry>, n: usize) {
        for _ in 0..n {
            let Some(item) = self.read.next() else {
                self.exhausted = true;
                return;
            };
            let Ok(entry) = item else {
                continue;
            };
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if (name.starts_with('.') && !self.site.hidden) || !is_requestable_name(&name) {
                continue;
            }
            let Some((kind, meta)) = entry_metadata(&self.site, &self.rel, &name, &entry) else {
                continue;
            };
            out.push(Entry {
                name,
                kind,
                is_dir: meta.is_dir(),
                size: if meta.is_dir() { 0 } else { meta.len() },
                modified: meta.modified().ok(),
            });
        }
    }
}

/// An entry's metadata as a request for it would see it: a symlink is resolved the way
/// `open_beneath` resolves it, and one that leaves the root (or dangles) is not listed, so a
/// listing never reveals the size, date or type of anything outside the root.
fn entry_metadata(
    site: &Site,
    rel: &str,
    name: &str,
    entry: &std::fs::DirEntry,
) -> Option<(Kind, std::fs::Metadata)> {
    let own = entry.metadata().ok()?; // lstat: no symlink followed
    if !own.file_type().is_symlink() {
        let kind = if own.is_dir() { Kind::Dir } else { Kind::File };
        return Some((kind, own));
    }
    let path = match rel.is_empty() {
        true => name.to_string(),
        false => format!("{rel}/{name}"),
    };
    let meta = open_beneath(site, &path).ok()?.metadata().ok()?;
    Some((Kind::Symlink, meta))
}

/// Which listing a body renders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// The HTML page for `display_path` (decoded, `/a/b/`) in `order`.
    Html {
        /// The directory's path as shown (decoded, `/a/b/`).
        display_path: String,
        /// How entries are sorted.
        order: Order,
    },
    /// The JSON array.
    Json {
        /// How entries are sorted.
        order: Order,
    },
}

impl Format {
    fn order(&self) -> Order {
        match self {
            Format::Html { order, .. } | Format::Json { order } => *order,
        }
    }

    fn is_json(&self) -> bool {
        matches!(self, Format::Json { .. })
    }
}

/// A directory's entries, read and sorted: what listings render.
#[derive(Debug)]
pub struct Snapshot {
    entries: Vec<Entry>,
    /// The directory holds more than `LISTING_SORT_CAP` entries; `entries` are the first read.
    capped: bool,
}

/// One directory listed in one order, read once for every connection of the loop thread
/// that asks for it while it is fresh (issue 13: 50 clients asking at once for a huge
/// directory share one read and one sort, and each holds only a cursor). Whichever sharer
/// runs advances the read. Dropped with its last sharer.
#[derive(Debug)]
pub struct SharedListing {
    state: Mutex<Shared>,
}

#[derive(Debug)]
enum Shared {
    /// Entries being read (at most `LISTING_SORT_CAP`).
    Reading { reader: DirReader, held: Vec<Entry> },
    /// Read and sorted, at that instant.
    Sorted(Arc<Snapshot>, Instant),
}

/// What makes a listing shareable: the same directory, unchanged (an entry added, removed or
/// renamed moves its mtime and ctime), listed in the same order under the same site rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirKey {
    dev: u64,
    ino: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    order: Order,
    hidden: bool,
    follow_symlinks: bool,
}

impl DirKey {
    /// The key of the open directory `dir` in `order` (None when it cannot be stat'ed).
    pub fn of(site: &Site, dir: &File, order: Order) -> Option<DirKey> {
        use std::os::unix::fs::MetadataExt;
        let m = dir.metadata().ok()?;
        Some(DirKey {
            dev: m.dev(),
            ino: m.ino(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
            order,
            hidden: site.hidden,
            follow_symlinks: site.follow_symlinks,
        })
    }
}

/// How long a sorted listing takes new sharers (while it is being read, it takes them all).
/// A file changed in place does not touch its directory's times, so sizes and dates in a
/// listing may be this old, no older.
const SHARE_FRESH: Duration = Duration::from_secs(1);
/// Shared listings remembered per loop thread (weakly: only while some connection sends one).
const SHARED_PER_THREAD: usize = 32;

thread_local! {
    static SHARED: RefCell<Vec<(DirKey, Weak<SharedListing>)>> =
        const { RefCell::new(Vec::new()) };
}

/// A fresh listing of this directory in this order that a connection of this thread is
/// reading or sending.
pub fn shared_listing(key: DirKey) -> Option<Arc<SharedListing>> {
    SHARED.with(|cell| {
        let mut list = cell.borrow_mut();
        let now = Instant::now();
        list.retain(|(_, weak)| weak.upgrade().is_some_and(|s| s.is_fresh(now)));
        list.iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, weak)| weak.upgrade())
    })
}

fn publish(key: DirKey, shared: &Arc<SharedListing>) {
    SHARED.with(|cell| {
        let mut list = cell.borrow_mut();
        list.retain(|(k, weak)| *k != key && weak.strong_count() > 0);
        if list.len() >= SHARED_PER_THREAD {
            list.remove(0);
        }
        list.push((key, Arc::downgrade(shared)));
    });
}

impl SharedListing {
    /// Still being read, or sorted less than `SHARE_FRESH` ago.
    fn is_fresh(&self, now: Instant) -> bool {
        match &*self.state.lock().unwrap_or_else(|e| e.into_inner()) {
            Shared::Reading { .. } => true,
            Shared::Sorted(_, at) => now < *at + SHARE_FRESH,
        }
    }

    /// Read one more batch, or sort once everything (up to the cap) is read; the snapshot
    /// when it is ready.
    fn advance(&self, order: Order) -> Option<Arc<Snapshot>> {
        // A sharer that panicked mid-step cannot exist (panics abort the server), but a
        // poisoned lock still holds consistent data: every step leaves a valid state.
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (reader, held) = match &mut *state {
            Shared::Sorted(snapshot, _) => return Some(snapshot.clone()),
            Shared::Reading { reader, held } => (reader, held),
        };
        let room = limits::LISTING_SORT_CAP.saturating_sub(held.len());
        reader.read_into(held, room.min(READ_BATCH));
        let capped = held.len() >= limits::LISTING_SORT_CAP && !reader.is_exhausted();
        if !(capped || reader.is_exhausted()) {
            return None;
        }
        let mut entries = std::mem::take(held);
        entries::sort_entries(&mut entries, order);
        let snapshot = Arc::new(Snapshot { entries, capped });
        *state = Shared::Sorted(snapshot.clone(), Instant::now());
        Some(snapshot)
    }
}

/// Where a listing body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for the shared listing to be read and sorted (advancing it).
    Collecting,
    /// Writing the page start (or `[`).
    Start,
    /// Rendering the snapshot's entries from `next`.
    Emitting {
        next: usize,
    },
    /// JSON past the cap: every entry in directory order, as read.
    Streaming,
    Finished,
}

/// A directory listing rendered piece by piece: a cursor over a shared listing, plus one
/// piece; JSON of a directory past the sort cap streams from its own reader instead, holding
/// one batch.
#[derive(Debug)]
pub struct ListingBody {
    shared: Option<Arc<SharedListing>>,
    snapshot: Option<Arc<Snapshot>>,
    /// JSON only: a reader kept for streaming past the cap.
    stream: Option<DirReader>,
    format: Format,
    phase: Phase,
    counts: Counts,
    /// JSON elements written (the first has no comma).
    written: u64,
}

impl ListingBody {
    /// A body listing the directory `reader` reads (`held`: the entries already read); it is
    /// shared under `key` with later requests. `spare`: a second reader for JSON bodies.
    pub fn new(
        reader: DirReader,
        held: Vec<Entry>,
        format: Format,
        key: Option<DirKey>,
        spare: Option<DirReader>,
    ) -> ListingBody {
        let shared = Arc::new(SharedListing {
            state: Mutex::new(Shared::Reading { reader, held }),
        });
        if let Some(key) = key {
            publish(key, &shared);
        }
        ListingBody::join(shared, format, spare)
    }

    /// A body rendering a listing another connection started.
    pub fn join(
        shared: Arc<SharedListing>,
        format: Format,
        spare: Option<DirReader>,
    ) -> ListingBody {
        ListingBody {
            shared: Some(shared),
            snapshot: None,
            stream: spare,
            format,
            phase: Phase::Collecting,
            counts: Counts::default(),
            written: 0,
        }
    }

    /// Append the next piece (possibly nothing while entries are being read) to `out`;
    /// true once the body is complete. Each call is bounded work (`READ_BATCH` entries read,
    /// one sort, or about `PIECE` bytes rendered), so the caller can yield between calls.
    pub fn fill(&mut self, out: &mut Vec<u8>) -> bool {
        match self.phase {
            Phase::Collecting => self.collect(),
            Phase::Start => self.start(out),
            Phase::Emitting { next } => self.emit(next, out),
            Phase::Streaming => self.stream(out),
            Phase::Finished => {}
        }
        self.phase == Phase::Finished
    }

    fn collect(&mut self) {
        let Some(shared) = self.shared.as_ref() else {
            self.phase = Phase::Finished;
            return;
        };
        let Some(snapshot) = shared.advance(self.format.order()) else {
            return;
        };
        // Past the cap, JSON streams every entry in directory order from its own reader;
        // the page shows the snapshot's entries, sorted, and says so.
        if !(snapshot.capped && self.format.is_json()) {
            self.snapshot = Some(snapshot);
        }
        self.phase = Phase::Start;
    }

    fn start(&mut self, out: &mut Vec<u8>) {
        match &self.format {
            Format::Html {
                display_path,
                order,
            } => {
                let snapshot = self.snapshot.as_ref();
                let page = Page {
                    display_path,
                    order: *order,
                    capped: snapshot.filter(|s| s.capped).map(|s| s.entries.len()),
                };
                let mut start = String::new();
                listing::push_page_start(&page, &mut start);
                out.extend_from_slice(start.as_bytes());
            }
            Format::Json { .. } => out.push(b'['),
        }
        self.phase = match self.snapshot.is_some() {
            true => Phase::Emitting { next: 0 },
            false => Phase::Streaming,
        };
    }

    fn emit(&mut self, mut next: usize, out: &mut Vec<u8>) {
        let Some(snapshot) = self.snapshot.clone() else {
            return self.finish(out);
        };
        let mut html = String::new();
        while next < snapshot.entries.len() && out.len() + html.len() < PIECE {
            let e = &snapshot.entries[next];
            match self.format {
                Format::Html { .. } => listing::push_row(e, &mut html),
                Format::Json { .. } => listing::push_json_entry(e, self.written == 0, out),
            }
            self.counts.add(e);
            self.written += 1;
            next += 1;
        }
        out.extend_from_slice(html.as_bytes());
        match next < snapshot.entries.len() {
            true => self.phase = Phase::Emitting { next },
            false => self.finish(out),
        }
    }

    fn stream(&mut self, out: &mut Vec<u8>) {
        let Some(reader) = self.stream.as_mut() else {
            return self.finish(out);
        };
        let mut batch = Vec::with_capacity(READ_BATCH);
        reader.read_into(&mut batch, READ_BATCH);
        for e in &batch {
            listing::push_json_entry(e, self.written == 0, out);
            self.written += 1;
        }
        if reader.is_exhausted() {
            self.finish(out);
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        match self.format {
            Format::Html { .. } => {
                let mut end = String::new();
                listing::push_page_end(self.counts, &mut end);
                out.extend_from_slice(end.as_bytes());
            }
            Format::Json { .. } => out.extend_from_slice(b"]\n"),
        }
        self.phase = Phase::Finished;
        self.release();
    }

    /// Let go of the shared listing now, not when the client finally closes. The last sharer
    /// of a big one hands its pages back to the system (glibc keeps freed small blocks
    /// otherwise, and issue 13 wants memory back once clients leave).
    fn release(&mut self) {
        self.stream = None;
        self.snapshot = None;
        let Some(shared) = self.shared.take() else {
            return;
        };
        if Arc::strong_count(&shared) == 1 {
            drop(shared);
            trim_heap();
        }
    }
}

impl Drop for ListingBody {
    fn drop(&mut self) {
        self.release();
    }
}

/// Return free heap pages to the system (glibc's malloc_trim(3); other C libraries have no
/// such call and need none here).
fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; no pointer is passed.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::respond::{respond, BodySource};

    /// A root holding `big/` with `n` files `f1.txt` … `fN.txt` (and one dotfile).
    fn big_dir(n: usize) -> (tempfile::TempDir, Site) {
        let top = tempfile::tempdir().unwrap();
        let big = top.path().join("big");
        std::fs::create_dir(&big).unwrap();
        for i in 1..=n {
            std::fs::write(big.join(format!("f{i}.txt")), b"x").unwrap();
        }
        std::fs::write(big.join(".dot"), b"x").unwrap();
        let site = Site {
            root: top.path().canonicalize().unwrap(),
            listing: true,
            ..Site::default()
        };
        (top, site)
    }

    fn listing_body(site: &Site, target: &str, accept: &str) -> Box<ListingBody> {
        let mut headers = crate::proto::Headers::new();
        headers.push("Host", b"x");
        headers.push("Accept", accept.as_bytes());
        let req = crate::proto::request_head::RequestHead {
            method: "GET".to_string(),
            target: target.to_string(),
            minor_version: 1,
            headers,
        };
        let r = respond(site, &req);
        assert_eq!(r.status, 200);
        assert!(r.header("content-length").is_none());
        match r.body {
            BodySource::Listing(body) => body,
            other => panic!("not streamed: {other:?}"),
        }
    }

    /// Every piece, checking each is bounded work.
    fn drain(mut body: Box<ListingBody>) -> Vec<u8> {
        let mut all = Vec::new();
        loop {
            let mut piece = Vec::new();
            let done = body.fill(&mut piece);
            assert!(piece.len() < PIECE + 1024, "piece of {}", piece.len());
            all.extend_from_slice(&piece);
            if done {
                return all;
            }
        }
    }

    fn json_names(bytes: &[u8]) -> Vec<String> {
        let v: serde_json::Value = serde_json::from_slice(bytes).unwrap();
        let list = v.as_array().unwrap();
        list.iter()
            .map(|e| e["name"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn a_directory_past_the_inline_limit_streams_sorted() {
        let n = limits::LISTING_INLINE_ENTRIES + 200;
        let (_t, site) = big_dir(n);
        let html = drain(listing_body(
            &site,
            "/big/?sort=name&order=desc",
            "text/html",
        ));
        let html = String::from_utf8(html).unwrap();
        assert_eq!(html.matches("<tr><td><a href=\"./f").count(), n);
        let last = format!("<a href=\"./f{n}.txt\">");
        assert!(
            html.find(&last) < html.find("<a href=\"./f9.txt\">"),
            "natural, desc"
        );
        assert!(!html.contains(".dot") && !html.contains("first 10000"));
        assert!(html.ends_with("</html>\n"));
        let names = json_names(&drain(listing_body(&site, "/big/", "application/json")));
        assert_eq!(names.len(), n);
        assert_eq!(
            (names[0].as_str(), names[9].as_str()),
            ("f1.txt", "f10.txt")
        );
    }

    #[test]
    fn past_the_sort_cap_the_page_says_so_and_json_streams_everything() {
        let n = limits::LISTING_SORT_CAP + 300;
        let (_t, site) = big_dir(n);
        let html = drain(listing_body(&site, "/big/", "text/html"));
        let html = String::from_utf8(html).unwrap();
        let rows = html.matches("<tr><td><a href=\"./f").count();
        assert_eq!(rows, limits::LISTING_SORT_CAP);
        assert!(
            html.contains("the first 10000 entries read are shown"),
            "says so"
        );
        assert!(html.contains("<a href=\"?format=json\">JSON</a>"));
        let mut names = json_names(&drain(listing_body(&site, "/big/?format=json", "*/*")));
        assert_eq!(names.len(), n, "every entry");
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n, "each once");

        // While a page body holds the capped listing, JSON streams from the directory
        // (holding one batch) and a second page renders the shared snapshot without reading.
        let mut first = listing_body(&site, "/big/", "text/html");
        let mut piece = Vec::new();
        while first.snapshot.is_none() {
            first.fill(&mut piece);
        }
        let mut page = listing_body(&site, "/big/", "text/html");
        assert!(Arc::ptr_eq(
            page.shared.as_ref().unwrap(),
            first.shared.as_ref().unwrap()
        ));
        page.fill(&mut piece);
        assert!(page.snapshot.is_some(), "sorted already: no read, no sort");
        let json = listing_body(&site, "/big/?format=json", "*/*");
        assert!(json.stream.is_some());
        assert_eq!(json_names(&drain(json)).len(), n);
        let html = String::from_utf8(drain(page)).unwrap();
        assert_eq!(
            html.matches("<tr><td><a href=\"./f").count(),
            limits::LISTING_SORT_CAP
        );
        drop(first);
    }

    #[test]
    fn concurrent_listings_share_one_read_and_never_outlive_a_change() {
        let n = limits::LISTING_INLINE_ENTRIES + 10;
        let (t, site) = big_dir(n);
        // Two requests before anything is read share the reading.
        let mut first = listing_body(&site, "/big/?sort=size", "text/html");
        let mut second = listing_body(&site, "/big/?sort=size", "text/html");
        let same = |a: &ListingBody, b: &ListingBody| {
            Arc::ptr_eq(a.shared.as_ref().unwrap(), b.shared.as_ref().unwrap())
        };
        assert!(same(&first, &second), "shared");
        let other_order = listing_body(&site, "/big/?sort=name", "text/html");
        assert!(
            !same(&first, &other_order),
            "another order is read on its own"
        );
        // JSON within the cap renders the same listing.
        let json = listing_body(&site, "/big/?sort=size", "application/json");
        assert!(same(&first, &json));
        assert_eq!(json_names(&drain(json)).len(), n);
        let mut piece = Vec::new();
        first.fill(&mut piece);
        second.fill(&mut piece);
        // An entry added: the directory changed, the listing is read afresh.
        std::fs::write(t.path().join("big/new.txt"), b"new").unwrap();
        let fresh = listing_body(&site, "/big/?sort=size", "text/html");
        assert!(!same(&first, &fresh), "read afresh after a change");
        assert!(String::from_utf8(drain(fresh))
            .unwrap()
            .contains("./new.txt\""));
        let a = String::from_utf8(drain(first)).unwrap();
        let b = String::from_utf8(drain(second)).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.matches("<tr><td><a href=\"./f").count(), n);
        // Nobody holds it: nothing is kept.
        let dir = File::open(t.path().join("big")).unwrap();
        let order = Order {
            key: entries::SortKey::Size,
            desc: false,
        };
        let key = DirKey::of(&site, &dir, order).unwrap();
        assert!(shared_listing(key).is_none());
    }
}
