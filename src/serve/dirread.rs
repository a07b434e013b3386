//! Reading a directory in bounded batches through its already-opened descriptor, each entry
//! with its metadata as a request for it would see it. It renders nothing (`listing`) and
//! shares nothing (`dirstream`).

use std::fs::{File, ReadDir};
use std::io;
use std::path::PathBuf;

use super::entries::{Entry, Kind};
use super::files::is_requestable_name;
use super::open::{open_beneath, read_dir_of};

/// Entries read (and stat'ed) per step: a few milliseconds of work at most, so other
/// connections on the loop wait no longer than that.
pub const READ_BATCH: usize = 128;

/// The site settings a listing depends on, copied out of `Site` once per listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRules {
    /// The served folder (canonical).
    pub root: PathBuf,
    /// Dotfiles are listed (`--hidden`).
    pub hidden: bool,
    /// Symlinks leaving the root are listed (`--follow-symlinks`).
    pub follow_symlinks: bool,
}

/// A directory being read through its already-opened (and already checked) descriptor.
#[derive(Debug)]
pub struct DirReader {
    read: ReadDir,
    rules: ListRules,
    rel: String,
    exhausted: bool,
}

impl DirReader {
    /// Start reading `dir` (the directory `rel` names under the root) via /proc/self/fd, so a
    /// path swapped since the open cannot redirect the read.
    pub fn open(rules: &ListRules, rel: &str, dir: &File) -> io::Result<DirReader> {
        Ok(DirReader {
            read: read_dir_of(dir, &rules.root, rel)?,
            rules: rules.clone(),
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
            if (name.starts_with('.') && !self.rules.hidden) || !is_requestable_name(&name) {
                continue;
            }
            let Some((kind, meta)) = entry_metadata(&self.rules, &self.rel, &name, &entry) else {
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
    rules: &ListRules,
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
    let meta = open_beneath(&rules.root, rules.follow_symlinks, &path)
        .ok()?
        .metadata()
        .ok()?;
    Some((Kind::Symlink, meta))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn reads_what_a_request_could_open_in_bounded_batches() {
        let top = tempfile::tempdir().unwrap();
        let root = top.path().join("root");
        std::fs::create_dir_all(root.join("d/sub")).unwrap();
        std::fs::write(root.join("d/a.txt"), b"abc").unwrap();
        std::fs::write(root.join("d/.dot"), b"x").unwrap();
        std::fs::write(root.join("d/bad\nname"), b"x").unwrap();
        std::fs::write(top.path().join("secret"), b"s").unwrap();
        symlink("a.txt", root.join("d/in")).unwrap();
        symlink("../../secret", root.join("d/out")).unwrap();
        let rules = ListRules {
            root: root.canonicalize().unwrap(),
            hidden: false,
            follow_symlinks: false,
        };
        let dir = File::open(root.join("d")).unwrap();
        let mut reader = DirReader::open(&rules, "d", &dir).unwrap();
        let mut got = Vec::new();
        while !reader.is_exhausted() {
            let before = got.len();
            reader.read_into(&mut got, 2);
            assert!(got.len() - before <= 2, "bounded");
        }
        got.sort_by(|a, b| a.name.cmp(&b.name));
        let seen: Vec<(&str, Kind, u64)> = got
            .iter()
            .map(|e| (e.name.as_str(), e.kind, e.size))
            .collect();
        let want = [
            ("a.txt", Kind::File, 3),
            ("in", Kind::Symlink, 3),
            ("sub", Kind::Dir, 0),
        ];
        assert_eq!(
            seen, want,
            "no dotfile, no CR/LF name, no link leaving the root"
        );
    }
}
