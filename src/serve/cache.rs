//! A per-loop cache of small whole-file 200 responses, so a hit costs one stat(2) instead of
//! openat2 + fstat + pread + close (measured: those four were ~24% of the server's CPU for a
//! 1 KiB file under wrk). Correct when files change: every hit first stats the request's path
//! and is used only when the file there is still the same inode with the same size, mtime and
//! ctime (any write, chmod, rename over or symlink retarget changes one of them); files changed
//! less than `SETTLE` ago are never cached, so a write within one timestamp tick of our read
//! cannot go unnoticed ("racy git"). What to answer stays `respond`'s decision.

use std::collections::HashMap;
use std::fs::{File, Metadata};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::files::resolve_target;
use super::respond::{respond, BodySource, Response, Site};
use crate::proto::request::RequestHead;

/// Largest body kept: the size that goes out inline with the head anyway.
const MAX_BODY: u64 = 16 * 1024;
/// Entries per loop (at most MAX_BODY each: 4 MiB per loop); the map is cleared when full.
const MAX_ENTRIES: usize = 256;
/// A file whose ctime is this recent may still be being written: not cached. Far above the
/// coarse timestamp tick (1-10 ms).
const SETTLE: Duration = Duration::from_millis(100);

/// Request fields that make a response depend on more than the path: not cached.
const VARYING: [&str; 6] = [
    "range",
    "if-range",
    "if-match",
    "if-none-match",
    "if-modified-since",
    "if-unmodified-since",
];

/// What identifies a file's content for our purposes.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Identity {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Identity {
    fn of(m: &Metadata) -> Identity {
        Identity {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        }
    }

    /// Changed within SETTLE of `now`, or dated in the future (Last-Modified is clamped to the
    /// clock then, so the head would drift).
    fn is_settled(&self, now: SystemTime) -> bool {
        let at = |(s, ns): (i64, i64)| {
            u64::try_from(s)
                .ok()
                .map(|s| UNIX_EPOCH + Duration::new(s, ns.clamp(0, 999_999_999) as u32))
        };
        match (at(self.ctime), at(self.mtime)) {
            (Some(c), Some(m)) => c + SETTLE <= now && m <= now,
            _ => false,
        }
    }
}

struct Entry {
    path: PathBuf,
    identity: Identity,
    /// The GET head's fields; the `Date` value is replaced on every hit.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// One loop's cache.
#[derive(Default)]
pub struct FileCache {
    entries: HashMap<String, Entry>,
}

impl FileCache {
    /// `respond`, answered from the cache when the request and the file allow it.
    pub fn respond(&mut self, site: &Site, req: &RequestHead, usable: bool) -> Response {
        let get = req.method == "GET";
        if !usable
            || !(get || req.method == "HEAD")
            || VARYING.iter().any(|h| req.headers.get(h).is_some())
        {
            return respond(site, req);
        }
        if let Some(resp) = self.hit(req, get) {
            return resp;
        }
        let mut resp = respond(site, req);
        if get {
            resp = self.fill(site, req, resp);
        }
        resp
    }

    fn hit(&mut self, req: &RequestHead, get: bool) -> Option<Response> {
        let entry = self.entries.get(&req.target)?;
        let fresh = std::fs::metadata(&entry.path)
            .map(|m| Identity::of(&m) == entry.identity)
            .unwrap_or(false);
        if !fresh {
            self.entries.remove(&req.target);
            return None;
        }
        let date = super::reply::http_date_now();
        let headers = entry
            .headers
            .iter()
            .map(|(n, v)| match n.eq_ignore_ascii_case("date") {
                true => (n.clone(), date.clone()),
                false => (n.clone(), v.clone()),
            })
            .collect();
        let body = match get {
            true => BodySource::Bytes(entry.body.clone()),
            false => BodySource::None,
        };
        Some(Response {
            status: 200,
            headers,
            body,
        })
    }

    /// Keep a copy of a small whole-file 200 answer; the response goes out unchanged.
    fn fill(&mut self, site: &Site, req: &RequestHead, resp: Response) -> Response {
        let BodySource::File {
            file,
            offset: 0,
            len,
        } = &resp.body
        else {
            return resp;
        };
        if resp.status != 200 || *len > MAX_BODY {
            return resp;
        }
        // Directory targets answer with their index.html: the path to re-stat is not the
        // target's, so they are left uncached.
        let Some(safe) = resolve_target(&req.target, site.hidden)
            .ok()
            .filter(|s| !s.dir_form)
        else {
            return resp;
        };
        let Some((identity, body)) = snapshot(file, *len) else {
            return resp;
        };
        if self.entries.len() >= MAX_ENTRIES {
            self.entries.clear();
        }
        let entry = Entry {
            path: site.root.join(&safe.rel),
            identity,
            headers: resp.headers.clone(),
            body: body.clone(),
        };
        self.entries.insert(req.target.clone(), entry);
        Response {
            status: resp.status,
            headers: resp.headers,
            body: BodySource::Bytes(body),
        }
    }
}

/// The file's bytes and identity, when it held still (same identity before and after the read)
/// and has settled.
fn snapshot(file: &File, len: u64) -> Option<(Identity, Vec<u8>)> {
    let before = Identity::of(&file.metadata().ok()?);
    if before.size != len || !before.is_settled(SystemTime::now()) {
        return None;
    }
    let mut body = vec![0; len as usize];
    file.read_exact_at(&mut body, 0).ok()?;
    let after = Identity::of(&file.metadata().ok()?);
    (after == before).then_some((before, body))
}
