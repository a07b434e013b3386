//! Content ETags (fixtures' `reproducible_validators`) remembered per file identity: hashing a
//! whole file on every request made a fixture's big files slow to serve. Only the cache; the
//! hashing itself is `respond`'s.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::Metadata;
use std::io;
use std::os::unix::fs::MetadataExt;

/// What the filesystem says identifies a file's content: device, inode, size, mtime and ctime
/// (both with nanoseconds). A rewrite changes mtime or, even when mtime is put back
/// (`touch -d`, `cp -p`), ctime, which no user can set.
pub type ContentKey = (u64, u64, u64, i64, i64, i64, i64);

/// Entries per event-loop thread before the cache starts over (a fixture serves a few files;
/// this only bounds a pathological folder).
const MAX_ENTRIES: usize = 4096;

thread_local! {
    /// Per thread, so lookups take no lock; a file's tag is computed at most once per loop.
    static TAGS: RefCell<HashMap<ContentKey, String>> = RefCell::new(HashMap::new());
}

/// The key of a file from its metadata.
pub fn content_key(meta: &Metadata) -> ContentKey {
    (
        meta.dev(),
        meta.ino(),
        meta.size(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ctime(),
        meta.ctime_nsec(),
    )
}

/// The tag for the file described by `meta`: remembered, or made by `hash` and remembered.
pub fn cached(meta: &Metadata, hash: impl FnOnce() -> io::Result<String>) -> io::Result<String> {
    let key = content_key(meta);
    if let Some(tag) = TAGS.with(|t| t.borrow().get(&key).cloned()) {
        return Ok(tag);
    }
    let tag = hash()?;
    TAGS.with(|t| {
        let mut tags = t.borrow_mut();
        if tags.len() >= MAX_ENTRIES {
            tags.clear();
        }
        tags.insert(key, tag.clone());
    });
    Ok(tag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn a_file_is_hashed_once_until_it_changes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("f");
        std::fs::write(&path, b"one").expect("write");
        let hashed = Cell::new(0);
        let tag = |content: &str| {
            hashed.set(hashed.get() + 1);
            Ok(content.to_string())
        };
        let meta = std::fs::metadata(&path).expect("stat");
        assert_eq!(cached(&meta, || tag("one")).expect("tag"), "one");
        assert_eq!(cached(&meta, || tag("never")).expect("tag"), "one");
        assert_eq!(hashed.get(), 1);
        // Same size, mtime put back: ctime still moves, so the key changes.
        let mtime = std::fs::File::open(&path)
            .and_then(|f| f.metadata())
            .and_then(|m| m.modified())
            .expect("mtime");
        std::fs::write(&path, b"two").expect("rewrite");
        let f = std::fs::File::options()
            .write(true)
            .open(&path)
            .expect("open");
        f.set_modified(mtime).expect("restore mtime");
        let meta2 = std::fs::metadata(&path).expect("stat");
        assert_eq!(meta2.modified().expect("mtime"), mtime);
        assert_ne!(content_key(&meta), content_key(&meta2));
        assert_eq!(cached(&meta2, || tag("two")).expect("tag"), "two");
        assert_eq!(hashed.get(), 2);
    }

    #[test]
    fn a_failed_hash_is_not_remembered() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("g");
        std::fs::write(&path, b"g").expect("write");
        let meta = std::fs::metadata(&path).expect("stat");
        let failed = cached(&meta, || Err(io::ErrorKind::Other.into()));
        assert!(failed.is_err());
        assert_eq!(cached(&meta, || Ok("g".into())).expect("tag"), "g");
    }
}
