//! Where a body lands: the atomic sink that writes `NAME.part` and renames it over `NAME` only
//! on success, standard output, or a device written in place. It does not know about HTTP: the
//! caller decides whether a transfer succeeded. Names come from `fetch::save`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

use super::interrupt;
use crate::Error;

/// Where one transfer's output goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Destination {
    /// Standard output (`-o -`).
    Stdout,
    /// A path; `no_clobber` when the name came from the server (`-J`).
    File {
        /// The file to write (via `NAME.part`).
        path: PathBuf,
        /// Refuse to replace an existing file.
        no_clobber: bool,
    },
}

/// Standard output as a `File`, so large bodies skip `Stdout`'s line buffering.
fn stdout_file() -> ManuallyDrop<File> {
    // SAFETY: fd 1 is open for the whole process; ManuallyDrop keeps us from closing it.
    ManuallyDrop::new(unsafe { File::from_raw_fd(1) })
}

/// An output being written. Dropping an uncommitted `Part` sink removes the `.part` file.
#[derive(Debug)]
pub(crate) struct Sink {
    kind: SinkKind,
}

#[derive(Debug)]
enum SinkKind {
    Stdout(ManuallyDrop<File>),
    /// Not a regular file (/dev/null, a FIFO, a terminal): written in place.
    Direct(File),
    /// `part` is renamed over `path` on commit.
    Part {
        file: Option<File>,
        part: PathBuf,
        path: PathBuf,
        no_clobber: bool,
        /// Registration with the signal handler (`interrupt`), which removes the part file.
        tracked: u64,
        /// Left in place when the transfer fails (`-C`, `--retry`: a later attempt resumes).
        keep: bool,
        /// No other sink of this process writes the same part file meanwhile.
        _claim: Option<Claim>,
    },
}

/// Part files being written by this process. Two transfers of one batch that name the same
/// file (`-Z` with a repeated URL) take turns instead of removing each other's part file.
static CLAIMED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
static RELEASED: Condvar = Condvar::new();

/// This process's exclusive use of one part file path, until dropped.
#[derive(Debug)]
struct Claim(PathBuf);

impl Claim {
    /// Wait until no other sink holds `part`, then hold it.
    fn new(part: &Path) -> Claim {
        // Plain data: a panic elsewhere cannot leave the list inconsistent.
        let mut held = CLAIMED.lock().unwrap_or_else(|p| p.into_inner());
        while held.iter().any(|p| p == part) {
            held = RELEASED.wait(held).unwrap_or_else(|p| p.into_inner());
        }
        held.push(part.to_path_buf());
        Claim(part.to_path_buf())
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut held = CLAIMED.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(at) = held.iter().position(|p| *p == self.0) {
            held.swap_remove(at);
        }
        RELEASED.notify_all();
    }
}

fn write_error(path: &Path, e: io::Error) -> Error {
    Error::Write(io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

/// `NAME.part` beside `NAME`.
pub(crate) fn part_path(path: &Path) -> Option<PathBuf> {
    let mut name = path.file_name()?.to_os_string();
    name.push(".part");
    Some(path.with_file_name(name))
}

impl Sink {
    /// Open the destination. Regular files (or absent ones) go through `NAME.part`.
    pub(crate) fn open(dest: &Destination) -> Result<Sink, Error> {
        let (path, no_clobber) = match dest {
            Destination::Stdout => {
                return Ok(Sink {
                    kind: SinkKind::Stdout(stdout_file()),
                })
            }
            Destination::File { path, no_clobber } => (path, *no_clobber),
        };
        match fs::metadata(path) {
            Ok(meta) if meta.is_dir() => {
                let e = io::Error::other("is a directory");
                return Err(write_error(path, e));
            }
            Ok(_) if no_clobber => {
                let e = io::Error::new(io::ErrorKind::AlreadyExists, "refusing to overwrite");
                return Err(write_error(path, e));
            }
            Ok(meta) if !meta.is_file() => {
                let file = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(|e| write_error(path, e))?;
                return Ok(Sink {
                    kind: SinkKind::Direct(file),
                });
            }
            _ => {}
        }
        Self::open_part(path, no_clobber)
    }

    /// A fresh `NAME.part` (a stale one from an earlier run is replaced).
    fn open_part(path: &Path, no_clobber: bool) -> Result<Sink, Error> {
        let bad_name = || write_error(path, io::ErrorKind::InvalidInput.into());
        let part = part_path(path).ok_or_else(bad_name)?;
        let claim = Claim::new(&part);
        // O_EXCL never follows a symlink planted as NAME.part; a stale part file is removed and
        // the create tried once more (not removed up front: that costs an unlink per file).
        let create = || OpenOptions::new().write(true).create_new(true).open(&part);
        // Created under the registry's lock: a signal now either comes before the file
        // exists or finds it tracked (the handler takes the same lock), never in between.
        let mut parts = interrupt::registry();
        let file = match create() {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                fs::remove_file(&part).map_err(|e| write_error(&part, e))?;
                create()
            }
            other => other,
        }
        .map_err(|e| write_error(&part, e))?;
        let tracked = interrupt::register_in(&mut parts, &part);
        Ok(Self::tracked_part(
            file, part, path, no_clobber, claim, tracked,
        ))
    }

    fn tracked_part(
        file: File,
        part: PathBuf,
        path: &Path,
        no_clobber: bool,
        claim: Claim,
        tracked: u64,
    ) -> Sink {
        Sink {
            kind: SinkKind::Part {
                file: Some(file),
                part,
                path: path.to_path_buf(),
                no_clobber,
                tracked,
                keep: false,
                _claim: Some(claim),
            },
        }
    }

    /// Continue `NAME.part` after its first `offset` bytes (a resume; 0 starts it over), for a
    /// destination that is (or will be) a regular file. The part file is created if missing
    /// and cut to `offset`, so bytes past it from a broken attempt never survive.
    pub(crate) fn open_part_at(path: &Path, offset: u64) -> Result<Sink, Error> {
        let bad_name = || write_error(path, io::ErrorKind::InvalidInput.into());
        let part = part_path(path).ok_or_else(bad_name)?;
        let claim = Claim::new(&part);
        let open = || -> io::Result<File> {
            let mut file = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .open(&part)?;
            if file.metadata()?.len() < offset {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "part file shrank",
                ));
            }
            file.set_len(offset)?;
            io::Seek::seek(&mut file, io::SeekFrom::Start(offset))?;
            Ok(file)
        };
        // Under the registry's lock, as in `open_part`: the file may be created here.
        let mut parts = interrupt::registry();
        let file = open().map_err(|e| write_error(&part, e))?;
        let tracked = interrupt::register_in(&mut parts, &part);
        Ok(Self::tracked_part(file, part, path, false, claim, tracked))
    }

    /// Keep `NAME.part` when this sink is dropped uncommitted (and on SIGINT/SIGTERM), so a
    /// later attempt can resume it. No effect on other outputs.
    pub(crate) fn keep_part_on_failure(&mut self, yes: bool) {
        self.keep_part_on_interrupt(yes);
        if let SinkKind::Part { keep, .. } = &mut self.kind {
            *keep = yes;
        }
    }

    /// The `NAME.part` being written (`None` for stdout and devices).
    pub(crate) fn part_path(&self) -> Option<&Path> {
        match &self.kind {
            SinkKind::Part {
                part,
                file: Some(_),
                ..
            } => Some(part),
            _ => None,
        }
    }

    /// Keep (or not) this sink's `NAME.part` when SIGINT/SIGTERM ends the process: the hook a
    /// resumable transfer (`-C`, `--retry`) uses. No effect on other outputs.
    pub(crate) fn keep_part_on_interrupt(&mut self, keep: bool) {
        if let SinkKind::Part { tracked, .. } = &self.kind {
            interrupt::set_keep(*tracked, keep);
        }
    }

    /// The final path of a file output (`None` for stdout).
    pub(crate) fn path(&self) -> Option<&Path> {
        match &self.kind {
            SinkKind::Part { path, .. } => Some(path),
            _ => None,
        }
    }

    /// Set the modification time of a file output before it is committed (`-R`), so the file
    /// appears under its name already dated. Stdout and special files are left alone.
    pub(crate) fn set_modified(&self, time: std::time::SystemTime) -> Result<(), Error> {
        match &self.kind {
            SinkKind::Part {
                file: Some(file),
                path,
                ..
            } => file.set_modified(time).map_err(|e| write_error(path, e)),
            _ => Ok(()),
        }
    }

    /// Whether the output is a file (for the progress bar).
    pub(crate) fn is_file(&self) -> bool {
        !matches!(self.kind, SinkKind::Stdout(_))
    }

    /// Write all of `bytes`; a failure is exit 23.
    pub(crate) fn write_all(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let result = match &mut self.kind {
            SinkKind::Stdout(f) => f.write_all(bytes),
            SinkKind::Direct(f) => f.write_all(bytes),
            SinkKind::Part { file: Some(f), .. } => f.write_all(bytes),
            SinkKind::Part { file: None, .. } => Ok(()),
        };
        result.map_err(|e| match &self.kind {
            SinkKind::Part { part, .. } => write_error(part, e),
            _ => Error::Write(e),
        })
    }

    /// The transfer succeeded: move `NAME.part` over `NAME` (without replacing an existing
    /// file when `no_clobber`).
    pub(crate) fn commit(mut self) -> Result<(), Error> {
        let SinkKind::Part {
            file,
            part,
            path,
            no_clobber,
            tracked,
            ..
        } = &mut self.kind
        else {
            return Ok(());
        };
        drop(file.take());
        // Held across the rename: a signal handler waits, then finds nothing left to remove.
        let mut parts = interrupt::registry();
        interrupt::unregister_in(&mut parts, *tracked);
        let moved = if *no_clobber {
            // A hard link fails when `path` exists, so a file appearing meanwhile survives.
            fs::hard_link(&*part, &*path).and_then(|()| fs::remove_file(&*part))
        } else {
            fs::rename(&*part, &*path)
        };
        let result = moved.map_err(|e| write_error(path, e));
        if result.is_err() {
            let _ = fs::remove_file(&*part);
        }
        drop(parts);
        // Nothing left for Drop to clean up.
        self.kind = SinkKind::Part {
            file: None,
            part: PathBuf::new(),
            path: PathBuf::new(),
            no_clobber: false,
            tracked: 0,
            keep: false,
            _claim: None,
        };
        result
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        if let SinkKind::Part {
            file,
            part,
            tracked,
            keep,
            ..
        } = &mut self.kind
        {
            if let Some(f) = file.take() {
                drop(f);
                let mut parts = interrupt::registry();
                if !*keep {
                    let _ = fs::remove_file(&*part);
                }
                interrupt::unregister_in(&mut parts, *tracked);
            }
        }
    }
}

/// Create `--output-dir` when missing. The last folder made or found is remembered, so a
/// batch saving thousands of files into one folder does not ask the filesystem each time.
pub(crate) fn ensure_dir(dir: &Path) -> Result<(), Error> {
    static LAST: Mutex<Option<PathBuf>> = Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(|p| p.into_inner());
    if last.as_deref() == Some(dir) {
        return Ok(());
    }
    fs::create_dir_all(dir).map_err(|e| write_error(dir, e))?;
    *last = Some(dir.to_path_buf());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_files_are_renamed_only_on_commit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out.bin");
        fs::write(&path, b"old").expect("seed");
        let dest = Destination::File {
            path: path.clone(),
            no_clobber: false,
        };
        let mut sink = Sink::open(&dest).expect("open");
        sink.write_all(b"new").expect("write");
        assert!(dir.path().join("out.bin.part").exists());
        drop(sink);
        assert_eq!(fs::read(&path).expect("read"), b"old");
        assert!(!dir.path().join("out.bin.part").exists());
        let mut sink = Sink::open(&dest).expect("open");
        sink.write_all(b"new").expect("write");
        sink.commit().expect("commit");
        assert_eq!(fs::read(&path).expect("read"), b"new");
        assert!(!dir.path().join("out.bin.part").exists());
    }

    #[test]
    fn no_clobber_refuses_existing_files_and_devices_are_written_directly() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("taken");
        fs::write(&path, b"mine").expect("seed");
        let dest = Destination::File {
            path: path.clone(),
            no_clobber: true,
        };
        assert_eq!(
            Sink::open(&dest).map(|_| ()).map_err(|e| e.exit_code()),
            Err(23)
        );
        assert_eq!(fs::read(&path).expect("read"), b"mine");
        let null = Destination::File {
            path: PathBuf::from("/dev/null"),
            no_clobber: false,
        };
        let mut sink = Sink::open(&null).expect("open /dev/null");
        sink.write_all(b"x").expect("write");
        sink.commit().expect("commit");
        assert!(!Path::new("/dev/null.part").exists());
    }
}
