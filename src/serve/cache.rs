//! A per-loop cache of whole-file 200 responses, so a hit costs one ioctl instead of
//! openat2 + fstat + pread + close (measured: those four were ~24% of the server's CPU for a
//! 1 KiB file under wrk) or a statx path walk (13% when hits were re-validated by stat).
//! Small bodies are kept in memory; larger ones keep their open descriptor, lent to each
//! response as a dup (sendfile needs no open, statx nor final close per request: 3 of the 6
//! syscalls a 100 KiB answer made, as lighttpd's and nginx's open-file caches avoid them).
//!
//! Correct when files change: before a file is read into the cache, inotify(7) watches are put
//! on it and on every directory from it up to the root, and the path is checked to still name
//! the file that was read. Every hit first asks the kernel whether any watch has fired
//! (FIONREAD on the inotify descriptor); if so, the whole cache is dropped. The kernel queues an
//! event inside the writer's own syscall, so a client that changes a file and then asks for it
//! always sees the change. Paths through symlinks are not cached (their targets' directories are
//! not watched), nor files dated in the future (their Last-Modified is clamped to the clock, so
//! the cached head would drift). inotify does not see changes made by
//! another host on a network file system; nginx's open_file_cache has the same blind spot.
//! What to answer stays `reply`'s decision, made through `respond`.

use std::collections::HashMap;
use std::ffi::CString;
use std::fs::{File, Metadata};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::files::{resolve_target, SafePath};
use super::respond::{respond, respond_to};
use super::response::{BodySource, Response};
use super::site::Site;
use crate::proto::request_head::RequestHead;

/// Largest body kept in memory: the size that goes out inline with the head anyway.
const MAX_BODY: u64 = 16 * 1024;
/// Open descriptors kept per loop for larger files. Few, as they come out of the
/// `FD_RESERVE` that connections leave free; once full, further large files are simply not
/// kept (no eviction, so a working set of many large files cannot make every miss a fill).
const MAX_FILES: usize = 8;
/// Entries per loop (at most MAX_BODY each: 4 MiB per loop); the map is cleared when full.
const MAX_ENTRIES: usize = 256;

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

    /// Dated no later than `now` (Last-Modified is clamped to the clock for future dates, so
    /// a cached head would drift). No settle time is needed: a write still under way when we
    /// read fires a watch registered before the read.
    fn is_past(&self, now: SystemTime) -> bool {
        let at = |(s, ns): (i64, i64)| {
            u64::try_from(s)
                .ok()
                .map(|s| UNIX_EPOCH + Duration::new(s, ns.clamp(0, 999_999_999) as u32))
        };
        matches!((at(self.ctime), at(self.mtime)), (Some(c), Some(m)) if c <= now && m <= now)
    }
}

struct Entry {
    /// The GET head's fields; the `Date` value is replaced on every hit.
    headers: Vec<(String, String)>,
    body: Kept,
}

/// A cached body.
enum Kept {
    /// A small file's bytes.
    Bytes(Vec<u8>),
    /// A larger file's descriptor (offset unused: sendfile and pread name their own).
    File { file: File, len: u64 },
}

impl Kept {
    /// The body of a GET answered from this entry; `None` when no descriptor is left for the dup.
    fn lend(&self) -> Option<BodySource> {
        Some(match self {
            Kept::Bytes(body) => BodySource::Bytes(body.clone()),
            Kept::File { file, len } => BodySource::File {
                file: file.try_clone().ok()?,
                offset: 0,
                len: *len,
            },
        })
    }
}

/// One loop's cache.
#[derive(Default)]
pub struct FileCache {
    entries: HashMap<String, Entry>,
    /// How many entries hold a descriptor (`Kept::File`).
    files: usize,
    /// Watches every cached file and its directories; `None` until the first fill, and again
    /// after a change dropped everything (closing the descriptor drops all its watches).
    watcher: Option<Watcher>,
}

impl FileCache {
    /// `respond`, answered from the cache when the request and the file allow it.
    pub fn respond(&mut self, site: &Site, req: &RequestHead, usable: bool) -> Response {
        // One check per request, whatever it asks for: a hit is then known fresh, and the
        // descriptors of changed or deleted files are let go at once (a deleted file's space
        // is not held until its path is asked again).
        if !self.entries.is_empty() && self.watcher.as_ref().is_none_or(Watcher::has_fired) {
            self.forget_all();
        }
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
        // Resolved once: `respond_to` answers from it and `fill` re-stats the path it names.
        let target = resolve_target(&req.target, site.hidden);
        let resp = respond_to(site, req, &target);
        match (get, &target) {
            (true, Ok(path)) => self.fill(site, req, path, resp),
            _ => resp,
        }
    }

    fn hit(&mut self, req: &RequestHead, get: bool) -> Option<Response> {
        // Fresh: `respond` dropped everything if any watch had fired.
        let entry = self.entries.get(&req.target)?;
        let body = match get {
            true => entry.body.lend(),
            false => Some(BodySource::None),
        };
        let Some(body) = body else {
            // No descriptor left for the dup: give back the kept ones too, since they come out
            // of the same table as the connections' (the request is then answered uncached).
            self.forget_all();
            return None;
        };
        let date = super::clock::http_date_now();
        let headers = entry
            .headers
            .iter()
            .map(|(n, v)| match n.eq_ignore_ascii_case("date") {
                true => (n.clone(), date.clone()),
                false => (n.clone(), v.clone()),
            })
            .collect();
        Some(Response {
            status: 200,
            headers,
            body,
        })
    }

    /// Keep a whole-file 200 answer (small: its bytes; larger: its descriptor); the response
    /// goes out unchanged.
    fn fill(
        &mut self,
        site: &Site,
        req: &RequestHead,
        safe: &SafePath,
        resp: Response,
    ) -> Response {
        let Some(kept) = self.keep(&site.root, safe, &resp) else {
            return resp;
        };
        let body = match &kept {
            Kept::Bytes(bytes) => BodySource::Bytes(bytes.clone()),
            Kept::File { .. } => {
                self.files += 1;
                resp.body
            }
        };
        let entry = Entry {
            headers: resp.headers.clone(),
            body: kept,
        };
        // A hit whose dup failed fills again: the entry it replaces may hold a descriptor.
        if let Some(Entry {
            body: Kept::File { .. },
            ..
        }) = self.entries.insert(req.target.clone(), entry)
        {
            self.files -= 1;
        }
        Response {
            status: resp.status,
            headers: resp.headers,
            body,
        }
    }

    /// What to keep of `resp`, after putting watches on its file: `None` when it is not a
    /// whole-file 200 answer, the cache has no room, or the file cannot be shown to be stable.
    /// `safe` is the resolved target (under `root`) the answer is for.
    fn keep(&mut self, root: &Path, safe: &SafePath, resp: &Response) -> Option<Kept> {
        let BodySource::File {
            file,
            offset: 0,
            len,
        } = &resp.body
        else {
            return None;
        };
        let small = *len <= MAX_BODY;
        if resp.status != 200 || (!small && self.files >= MAX_FILES) {
            return None;
        }
        // Directory targets answer with their index.html: the path to re-stat is not the
        // target's, so they are left uncached.
        if safe.dir_form {
            return None;
        }
        if self.entries.len() >= MAX_ENTRIES {
            self.forget_all();
        }
        let path = root.join(&safe.rel);
        if self.watcher.is_none() {
            self.watcher = Watcher::new();
        }
        // Watches first, then the checks and the read: a change after this point fires a
        // watch; one before it is seen by the checks or is in the bytes read.
        if !self.watcher.as_ref()?.watch_up_to(root, &path) {
            return None;
        }
        match small {
            true => snapshot(file, *len, &path).map(Kept::Bytes),
            false => named_still(file, *len, &path)
                .and_then(|_| file.try_clone().ok())
                .map(|file| Kept::File { file, len: *len }),
        }
    }
}

impl FileCache {
    /// Drop every entry and every watch.
    fn forget_all(&mut self) {
        self.entries.clear();
        self.files = 0;
        self.watcher = None;
    }
}

/// The file's identity, when `path` still names this very file without passing through a
/// symlink, it has the length answered, and it is not dated in the future.
fn named_still(file: &File, len: u64, path: &Path) -> Option<Identity> {
    let before = Identity::of(&file.metadata().ok()?);
    if before.size != len || !before.is_past(SystemTime::now()) {
        return None;
    }
    // A rename over the path between `respond`'s open and our watches would leave us holding
    // the old file: the path must still name what we read, with no symlink on the way.
    let named = Identity::of(&std::fs::metadata(path).ok()?);
    if named != before || std::fs::canonicalize(path).ok()? != path {
        return None;
    }
    Some(before)
}

/// The file's bytes, when `named_still` holds and the file held still (same identity before
/// and after the read).
fn snapshot(file: &File, len: u64, path: &Path) -> Option<Vec<u8>> {
    let before = named_still(file, len, path)?;
    let mut body = vec![0; len as usize];
    file.read_exact_at(&mut body, 0).ok()?;
    let after = Identity::of(&file.metadata().ok()?);
    (after == before).then_some(body)
}

/// An inotify(7) instance whose watches cover the cached files.
struct Watcher {
    fd: OwnedFd,
}

/// Everything that changes what a path names or holds: content, attributes (chmod, utimes),
/// entries created, deleted or renamed in a watched directory, the watched object itself
/// deleted or moved. Our own opens and reads (IN_OPEN, IN_ACCESS, IN_CLOSE_NOWRITE) are left out.
const WATCH_MASK: u32 = libc::IN_MODIFY
    | libc::IN_ATTRIB
    | libc::IN_CLOSE_WRITE
    | libc::IN_CREATE
    | libc::IN_DELETE
    | libc::IN_MOVED_FROM
    | libc::IN_MOVED_TO
    | libc::IN_DELETE_SELF
    | libc::IN_MOVE_SELF;

impl Watcher {
    /// A fresh instance, or `None` when the system refuses one (then nothing is cached).
    fn new() -> Option<Watcher> {
        // SAFETY: inotify_init1 takes flags only; a non-negative result is a new descriptor
        // that we own from here on.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        // SAFETY: see above; `fd` is valid and not owned elsewhere.
        (fd >= 0).then(|| Watcher {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Watch `path` and each directory above it up to and including `root`.
    fn watch_up_to(&self, root: &Path, path: &Path) -> bool {
        path.ancestors()
            .take_while(|dir| dir.starts_with(root))
            .all(|dir| self.add(dir))
    }

    fn add(&self, path: &Path) -> bool {
        let Ok(c_path) = CString::new(path.as_os_str().as_bytes()) else {
            return false;
        };
        // SAFETY: a valid inotify descriptor and a NUL-terminated path that outlives the call.
        unsafe { libc::inotify_add_watch(self.fd.as_raw_fd(), c_path.as_ptr(), WATCH_MASK) >= 0 }
    }

    /// Whether any watch has fired since the instance was made (or the kernel cannot say).
    fn has_fired(&self) -> bool {
        let mut pending: libc::c_int = 0;
        // SAFETY: FIONREAD on an inotify descriptor writes one int, the bytes of queued events.
        let rc = unsafe { libc::ioctl(self.fd.as_raw_fd(), libc::FIONREAD, &mut pending) };
        rc != 0 || pending > 0
    }
}
