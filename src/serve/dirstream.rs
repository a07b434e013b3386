//! Reading a directory in batches, and a listing body produced as the socket drains (issue 13:
//! a 100,000-entry directory must neither be rendered before the first byte nor held per
//! connection). The connection pulls one piece at a time and yields the loop between pieces;
//! what the rows look like is `listing`'s business.

use std::cell::RefCell;
use std::fs::{File, ReadDir};
use std::io;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use super::files::is_requestable_name;
use super::listing::{self, Counts, Entry, Order, Page};
use super::respond::{entry_metadata, Site};
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

/// A directory's entries read and sorted once, shared by every connection of the loop thread
/// that lists the same directory in the same order while it is fresh (issue 13: sort once per
/// directory change, not per request). Dropped with its last reader.
#[derive(Debug)]
pub struct Snapshot {
    entries: Vec<Entry>,
    /// The directory holds more than `LISTING_SORT_CAP` entries; `entries` are the first read.
    capped: bool,
}

impl Snapshot {
    /// Whether the directory held more entries than the snapshot.
    pub fn is_capped(&self) -> bool {
        self.capped
    }
}

/// What makes a snapshot reusable: the same directory, unchanged (an entry added, removed or
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

/// How long a snapshot answers new requests. A file changed in place does not touch its
/// directory's times, so sizes and dates in a snapshot may be this old, no older.
const SNAPSHOT_FRESH: Duration = Duration::from_secs(1);
/// Snapshots remembered per loop thread (weakly: only while some connection sends one).
const SNAPSHOTS_PER_THREAD: usize = 32;

thread_local! {
    static SNAPSHOTS: RefCell<Vec<(DirKey, Instant, Weak<Snapshot>)>> =
        const { RefCell::new(Vec::new()) };
}

/// A fresh snapshot of this directory in this order, if a connection of this thread holds one.
pub fn cached_snapshot(key: DirKey) -> Option<Arc<Snapshot>> {
    SNAPSHOTS.with(|cell| {
        let mut list = cell.borrow_mut();
        let now = Instant::now();
        list.retain(|(_, at, weak)| weak.strong_count() > 0 && now < *at + SNAPSHOT_FRESH);
        list.iter()
            .find(|(k, _, _)| *k == key)
            .and_then(|(_, _, weak)| weak.upgrade())
    })
}

fn publish(key: DirKey, snapshot: &Arc<Snapshot>) {
    SNAPSHOTS.with(|cell| {
        let mut list = cell.borrow_mut();
        list.retain(|(k, _, weak)| *k != key && weak.strong_count() > 0);
        if list.len() >= SNAPSHOTS_PER_THREAD {
            list.remove(0);
        }
        list.push((key, Instant::now(), Arc::downgrade(snapshot)));
    });
}

/// Where a listing body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading entries to sort, up to `LISTING_SORT_CAP`.
    Collecting,
    /// Writing the page start (or `[`).
    Start,
    /// Rendering the snapshot's entries from `next`.
    Emitting {
        next: usize,
    },
    /// JSON past the cap: the rest in directory order, as read.
    Streaming,
    Finished,
}

/// A directory listing rendered piece by piece. Memory: while collecting, the entries read
/// (at most `LISTING_SORT_CAP`); then a shared snapshot (one per directory and order on a
/// loop thread) and a cursor; plus one piece.
#[derive(Debug)]
pub struct ListingBody {
    reader: Option<DirReader>,
    format: Format,
    held: Vec<Entry>,
    snapshot: Option<Arc<Snapshot>>,
    /// Where to publish the snapshot once sorted.
    key: Option<DirKey>,
    phase: Phase,
    counts: Counts,
    /// JSON elements written (the first has no comma).
    written: u64,
}

impl ListingBody {
    /// A body continuing from `reader`, with `held` the entries already read; the sorted
    /// result is published under `key` for other connections.
    pub fn new(
        reader: DirReader,
        held: Vec<Entry>,
        format: Format,
        key: Option<DirKey>,
    ) -> ListingBody {
        ListingBody {
            reader: Some(reader),
            format,
            held,
            snapshot: None,
            key,
            phase: Phase::Collecting,
            counts: Counts::default(),
            written: 0,
        }
    }

    /// A body rendering a shared snapshot (no directory read at all). A capped snapshot
    /// serves the page only; JSON past the cap streams (`streaming`).
    pub fn from_snapshot(snapshot: Arc<Snapshot>, format: Format) -> ListingBody {
        let mut body = ListingBody::new_empty(format);
        body.snapshot = Some(snapshot);
        body.phase = Phase::Start;
        body
    }

    /// JSON of a directory known to be past the cap: every entry in directory order, holding
    /// nothing but the current batch.
    pub fn streaming(reader: DirReader, format: Format) -> ListingBody {
        let mut body = ListingBody::new_empty(format);
        body.reader = Some(reader);
        body.snapshot = Some(Arc::new(Snapshot {
            entries: Vec::new(),
            capped: true,
        }));
        body.phase = Phase::Start;
        body
    }

    fn new_empty(format: Format) -> ListingBody {
        ListingBody {
            reader: None,
            format,
            held: Vec::new(),
            snapshot: None,
            key: None,
            phase: Phase::Finished,
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
        let Some(reader) = self.reader.as_mut() else {
            self.phase = Phase::Finished;
            return;
        };
        let room = limits::LISTING_SORT_CAP.saturating_sub(self.held.len());
        reader.read_into(&mut self.held, room.min(READ_BATCH));
        let exhausted = reader.is_exhausted();
        let capped = self.held.len() >= limits::LISTING_SORT_CAP && !exhausted;
        if !(capped || exhausted) {
            return;
        }
        let entries = std::mem::take(&mut self.held);
        // Past the cap, JSON keeps directory order so its rows can stream on after the
        // held ones; the page shows the held entries sorted and says so.
        if capped && self.format.is_json() {
            self.snapshot = Some(Arc::new(Snapshot { entries, capped }));
        } else {
            let mut entries = entries;
            listing::sort_entries(&mut entries, self.format.order());
            let snapshot = Arc::new(Snapshot { entries, capped });
            if let Some(key) = self.key {
                publish(key, &snapshot);
            }
            self.snapshot = Some(snapshot);
        }
        self.phase = Phase::Start;
    }

    fn start(&mut self, out: &mut Vec<u8>) {
        let capped = self.snapshot.as_ref().is_some_and(|s| s.capped);
        match &self.format {
            Format::Html {
                display_path,
                order,
            } => {
                let shown = self.snapshot.as_ref().map_or(0, |s| s.entries.len());
                let page = Page {
                    display_path,
                    order: *order,
                    capped: capped.then_some(shown),
                };
                let mut start = String::new();
                listing::push_page_start(&page, &mut start);
                out.extend_from_slice(start.as_bytes());
            }
            Format::Json { .. } => out.push(b'['),
        }
        self.phase = Phase::Emitting { next: 0 };
    }

    fn emit(&mut self, mut next: usize, out: &mut Vec<u8>) {
        let Some(snapshot) = self.snapshot.clone() else {
            self.phase = Phase::Finished;
            return;
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
        if next < snapshot.entries.len() {
            self.phase = Phase::Emitting { next };
            return;
        }
        // Rendered: let go of the snapshot now, not when the client finally reads.
        self.release_snapshot();
        let more = self.reader.as_ref().is_some_and(|r| !r.is_exhausted());
        match more && self.format.is_json() {
            true => self.phase = Phase::Streaming,
            false => self.finish(out),
        }
    }

    fn stream(&mut self, out: &mut Vec<u8>) {
        let Some(reader) = self.reader.as_mut() else {
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
        self.reader = None;
        self.phase = Phase::Finished;
    }

    /// Drop our reference; the last reader of a big snapshot hands its pages back to the
    /// system (glibc keeps freed small blocks otherwise, and issue 13 wants memory back once
    /// clients leave).
    fn release_snapshot(&mut self) {
        let Some(snapshot) = self.snapshot.take() else {
            return;
        };
        let big = snapshot.entries.len() > limits::LISTING_INLINE_ENTRIES;
        if Arc::strong_count(&snapshot) == 1 && big {
            drop(snapshot);
            trim_heap();
        }
    }
}

impl Drop for ListingBody {
    fn drop(&mut self) {
        let held = self.held.len() > limits::LISTING_INLINE_ENTRIES;
        self.held = Vec::new();
        if held {
            trim_heap();
        }
        self.release_snapshot();
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
        let req = crate::proto::request::RequestHead {
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

        // While a page body holds the capped snapshot, JSON streams from the directory
        // (holding nothing) and a second page renders the snapshot without reading.
        let mut first = listing_body(&site, "/big/", "text/html");
        let mut piece = Vec::new();
        while first.snapshot.is_none() {
            first.fill(&mut piece);
        }
        let json = listing_body(&site, "/big/?format=json", "*/*");
        assert!(json.held.is_empty() && json.reader.is_some());
        assert_eq!(json_names(&drain(json)).len(), n);
        let page = listing_body(&site, "/big/", "text/html");
        assert!(page.reader.is_none(), "from the snapshot");
        let html = String::from_utf8(drain(page)).unwrap();
        assert_eq!(
            html.matches("<tr><td><a href=\"./f").count(),
            limits::LISTING_SORT_CAP
        );
        drop(first);
    }

    #[test]
    fn a_snapshot_is_shared_while_held_and_never_outlives_a_change() {
        let n = limits::LISTING_INLINE_ENTRIES + 10;
        let (t, site) = big_dir(n);
        let mut first = listing_body(&site, "/big/?sort=size", "text/html");
        let mut piece = Vec::new();
        while first.snapshot.is_none() {
            first.fill(&mut piece);
        }
        let same = listing_body(&site, "/big/?sort=size", "text/html");
        assert!(same.reader.is_none(), "shared");
        let other_order = listing_body(&site, "/big/?sort=name", "text/html");
        assert!(other_order.reader.is_some(), "another order is read afresh");
        // JSON of a directory within the cap renders the same snapshot.
        let json = listing_body(&site, "/big/?sort=size", "application/json");
        assert!(json.reader.is_none());
        assert_eq!(json_names(&drain(json)).len(), n);
        // An entry added: the directory changed, the snapshot is not reused.
        std::fs::write(t.path().join("big/new.txt"), b"new").unwrap();
        let fresh = listing_body(&site, "/big/?sort=size", "text/html");
        assert!(fresh.reader.is_some(), "read afresh after a change");
        assert!(String::from_utf8(drain(fresh))
            .unwrap()
            .contains("./new.txt\""));
        drop(first);
        drop(same);
        // Nobody holds it: nothing is kept.
        let key = DirKey::of(
            &site,
            &File::open(t.path().join("big")).unwrap(),
            Order {
                key: listing::SortKey::Size,
                desc: false,
            },
        );
        assert!(cached_snapshot(key.unwrap()).is_none());
    }
}
