//! Reading a directory in batches, and a listing body produced as the socket drains (issue 13:
//! a 100,000-entry directory must neither be rendered before the first byte nor held per
//! connection). The connection pulls one piece at a time and yields the loop between pieces;
//! what the rows look like is `listing`'s business.

use std::fs::{File, ReadDir};
use std::io;
use std::os::fd::AsRawFd;
use std::path::PathBuf;

use super::files::is_requestable_name;
use super::listing::{self, Counts, Entry, Order, Page};
use super::respond::{entry_metadata, Site};
use crate::proto::limits;

/// Entries read (and stat'ed) per step: a few milliseconds of work at most, so other
/// connections on the loop wait no longer than that.
const READ_BATCH: usize = 256;
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
    Html { display_path: String, order: Order },
    /// The JSON array.
    Json { order: Order },
}

/// Where a listing body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading entries to sort, up to `LISTING_SORT_CAP`.
    Collecting,
    /// Rendering the sorted entries from `next`.
    Emitting {
        next: usize,
    },
    /// JSON past the cap: the rest in directory order, as read.
    Streaming,
    Finished,
}

/// A directory listing rendered piece by piece. Memory: the entries held for sorting (at most
/// `LISTING_SORT_CAP`, dropped once rendered) plus one piece.
#[derive(Debug)]
pub struct ListingBody {
    reader: DirReader,
    format: Format,
    held: Vec<Entry>,
    phase: Phase,
    counts: Counts,
    /// JSON elements written (the first has no comma).
    written: u64,
}

impl ListingBody {
    /// A body continuing from `reader`, with `held` the entries already read.
    pub fn new(reader: DirReader, held: Vec<Entry>, format: Format) -> ListingBody {
        ListingBody {
            reader,
            format,
            held,
            phase: Phase::Collecting,
            counts: Counts::default(),
            written: 0,
        }
    }

    /// Append the next piece (possibly nothing while entries are being read) to `out`;
    /// true once the body is complete. Each call is bounded work (`READ_BATCH` entries read,
    /// or about `PIECE` bytes rendered), so the caller can yield between calls.
    pub fn fill(&mut self, out: &mut Vec<u8>) -> bool {
        match self.phase {
            Phase::Collecting => self.collect(out),
            Phase::Emitting { next } => self.emit(next, out),
            Phase::Streaming => self.stream(out),
            Phase::Finished => {}
        }
        self.phase == Phase::Finished
    }

    fn collect(&mut self, out: &mut Vec<u8>) {
        let room = limits::LISTING_SORT_CAP.saturating_sub(self.held.len());
        self.reader.read_into(&mut self.held, room.min(READ_BATCH));
        let capped = self.held.len() >= limits::LISTING_SORT_CAP && !self.reader.is_exhausted();
        if !(capped || self.reader.is_exhausted()) {
            return;
        }
        // Past the cap, JSON keeps directory order so its rows can stream on after the
        // held ones; the page shows the held entries sorted and says so.
        let json_capped = capped && matches!(self.format, Format::Json { .. });
        if !json_capped {
            let order = self.order();
            listing::sort_entries(&mut self.held, order);
        }
        let mut start = String::new();
        match &self.format {
            Format::Html {
                display_path,
                order,
            } => {
                let page = Page {
                    display_path,
                    order: *order,
                    capped: capped.then_some(self.held.len()),
                };
                listing::push_page_start(&page, &mut start);
            }
            Format::Json { .. } => start.push('['),
        }
        out.extend_from_slice(start.as_bytes());
        self.phase = Phase::Emitting { next: 0 };
    }

    fn order(&self) -> Order {
        match &self.format {
            Format::Html { order, .. } | Format::Json { order } => *order,
        }
    }

    fn emit(&mut self, mut next: usize, out: &mut Vec<u8>) {
        let mut html = String::new();
        while next < self.held.len() && out.len() + html.len() < PIECE {
            let e = &self.held[next];
            match self.format {
                Format::Html { .. } => listing::push_row(e, &mut html),
                Format::Json { .. } => listing::push_json_entry(e, self.written == 0, out),
            }
            self.counts.add(e);
            self.written += 1;
            next += 1;
        }
        out.extend_from_slice(html.as_bytes());
        if next < self.held.len() {
            self.phase = Phase::Emitting { next };
            return;
        }
        // Rendered: give the entries' memory back now, not when the client finally reads.
        self.held = Vec::new();
        match self.reader.is_exhausted() || matches!(self.format, Format::Html { .. }) {
            true => self.finish(out),
            false => self.phase = Phase::Streaming,
        }
    }

    fn stream(&mut self, out: &mut Vec<u8>) {
        let mut batch = Vec::with_capacity(READ_BATCH);
        self.reader.read_into(&mut batch, READ_BATCH);
        for e in &batch {
            listing::push_json_entry(e, self.written == 0, out);
            self.written += 1;
        }
        if self.reader.is_exhausted() {
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
    }
}
