//! Opening a request's file beneath the root: the only place that opens files (and reads
//! directories) for a request (openat2 with RESOLVE_BENEATH, and a checked fallback for
//! kernels without it). It decides nothing about the answer; `reply` maps its errors to
//! statuses.

use std::cell::RefCell;
use std::ffi::CString;
use std::fs::{File, ReadDir};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// `struct open_how` of openat2(2) (libc's is `non_exhaustive`).
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// O_NONBLOCK: opening a FIFO must not block the event loop; it is harmless for regular
/// files (reads and sendfile on them never return EAGAIN).
const OPEN_FLAGS: libc::c_int =
    libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NONBLOCK | libc::O_NOCTTY;

thread_local! {
    /// The root directory's fd, per thread (each loop thread opens it once).
    static ROOT_FD: RefCell<Option<(PathBuf, OwnedFd)>> = const { RefCell::new(None) };
}

/// Open `rel` (a clean relative path from `files`) inside the root. By default symlinks are
/// followed only while they stay beneath the root: openat2 with RESOLVE_BENEATH in one
/// syscall; where the kernel refuses (an escape, or an absolute symlink that may still land
/// inside) or lacks openat2, the slow path checks the canonical path against the canonical
/// root. `--follow-symlinks` uses plain openat (`rel` has no `..`, so only symlinks can leave).
pub fn open_beneath(root: &Path, follow_symlinks: bool, rel: &str) -> io::Result<File> {
    let c_rel = CString::new(if rel.is_empty() { "." } else { rel })
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let root_fd = root_fd(root)?;
    if follow_symlinks {
        return openat(root_fd, &c_rel);
    }
    let how = OpenHow {
        flags: OPEN_FLAGS as u64,
        mode: 0,
        resolve: libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS,
    };
    match openat2(root_fd, &c_rel, &how) {
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::EXDEV | libc::ENOSYS | libc::EPERM)
            ) =>
        {
            open_canonical_inside(root, rel)
        }
        other => other,
    }
}

/// The entries of `dir` (the directory `rel` names under `root`, opened by `open_beneath`),
/// read through its descriptor via /proc/self/fd so a path swapped since the open cannot
/// redirect the read; without /proc, by path.
pub fn read_dir_of(dir: &File, root: &Path, rel: &str) -> io::Result<ReadDir> {
    let via_fd = PathBuf::from(format!("/proc/self/fd/{}", dir.as_raw_fd()));
    match std::fs::read_dir(&via_fd) {
        Ok(read) => Ok(read),
        Err(_) => std::fs::read_dir(root.join(rel)),
    }
}

/// The slow path: canonicalize, require the result under the canonical root, then open the
/// canonical path without following any symlink (so a swap after the check fails instead).
fn open_canonical_inside(root: &Path, rel: &str) -> io::Result<File> {
    let root = root.canonicalize()?;
    let real = root.join(rel).canonicalize()?;
    if !real.starts_with(&root) {
        return Err(io::Error::from_raw_os_error(libc::EXDEV));
    }
    let c_real = CString::new(real.into_os_string().into_encoded_bytes())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let how = OpenHow {
        flags: OPEN_FLAGS as u64,
        mode: 0,
        resolve: libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS,
    };
    match openat2(libc::AT_FDCWD, &c_real, &how) {
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::EPERM)) => {
            // No openat2: O_NOFOLLOW at least refuses a final component swapped for a link.
            openat_flags(libc::AT_FDCWD, &c_real, OPEN_FLAGS | libc::O_NOFOLLOW)
        }
        other => other,
    }
}

/// The cached root fd of this thread, (re)opened when the root changes.
fn root_fd(root: &Path) -> io::Result<RawFd> {
    ROOT_FD.with(|cell| {
        let mut cached = cell.borrow_mut();
        if let Some((path, fd)) = cached.as_ref() {
            // Byte comparison: `Path == Path` would parse components on every request.
            if path.as_os_str() == root.as_os_str() {
                return Ok(fd.as_raw_fd());
            }
        }
        let fd: OwnedFd = File::open(root)?.into();
        let raw = fd.as_raw_fd();
        *cached = Some((root.to_path_buf(), fd));
        Ok(raw)
    })
}

/// Set once the kernel says it has no openat2 (before Linux 5.6): later calls skip straight to
/// the error instead of paying a failing syscall per request.
static OPENAT2_MISSING: AtomicBool = AtomicBool::new(false);

fn openat2(dir: RawFd, path: &CString, how: &OpenHow) -> io::Result<File> {
    if OPENAT2_MISSING.load(Ordering::Relaxed) {
        return Err(io::Error::from_raw_os_error(libc::ENOSYS));
    }
    // SAFETY: `path` is NUL-terminated, `how` is a live repr(C) open_how of the size passed.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir,
            path.as_ptr(),
            how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    if fd < 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::ENOSYS) {
            OPENAT2_MISSING.store(true, Ordering::Relaxed);
        }
        return Err(e);
    }
    // SAFETY: a non-negative return is a new descriptor that we alone own.
    Ok(unsafe { File::from_raw_fd(fd as RawFd) })
}

fn openat(dir: RawFd, path: &CString) -> io::Result<File> {
    openat_flags(dir, path, OPEN_FLAGS)
}

fn openat_flags(dir: RawFd, path: &CString, flags: libc::c_int) -> io::Result<File> {
    // SAFETY: `path` is NUL-terminated; openat does not keep the pointer.
    let fd = unsafe { libc::openat(dir, path.as_ptr(), flags) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a non-negative return is a new descriptor that we alone own.
    Ok(unsafe { File::from_raw_fd(fd) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// root/{hello.txt, dir/, link-in, link-abs-in, link-out}; outside/secret.txt beside root.
    fn fixture() -> (tempfile::TempDir, PathBuf) {
        let top = tempfile::tempdir().unwrap();
        let root = top.path().join("root");
        std::fs::create_dir_all(root.join("dir")).unwrap();
        std::fs::create_dir_all(top.path().join("outside")).unwrap();
        std::fs::write(root.join("hello.txt"), b"hello world\n").unwrap();
        std::fs::write(top.path().join("outside/secret.txt"), b"SENTINEL").unwrap();
        symlink("hello.txt", root.join("link-in")).unwrap();
        symlink(root.join("hello.txt"), root.join("link-abs-in")).unwrap();
        symlink("../outside/secret.txt", root.join("link-out")).unwrap();
        (top, root.canonicalize().unwrap())
    }

    /// Expected outcome per relative path: opened, or the errno.
    const CASES: &[(&str, Result<(), i32>)] = &[
        ("hello.txt", Ok(())),
        ("dir", Ok(())),
        ("", Ok(())), // the root itself
        ("link-in", Ok(())),
        ("link-abs-in", Ok(())),
        ("link-out", Err(libc::EXDEV)),
        ("missing", Err(libc::ENOENT)),
        ("hello.txt/x", Err(libc::ENOTDIR)),
        ("a\0b", Err(libc::EINVAL)),
    ];

    #[test]
    fn opens_beneath_the_root_only() {
        let (_t, root) = fixture();
        for (rel, want) in CASES {
            let got = open_beneath(&root, false, rel)
                .map(|_| ())
                .map_err(|e| e.raw_os_error());
            assert_eq!(got, want.map_err(Some), "{rel:?}");
        }
        let mut secret = String::new();
        let mut file = open_beneath(&root, true, "link-out").unwrap();
        io::Read::read_to_string(&mut file, &mut secret).unwrap();
        assert_eq!(secret, "SENTINEL");
    }

    #[test]
    fn the_fallback_without_openat2_keeps_symlinks_inside() {
        // What kernels before 5.6 (or seccomp filters without openat2) get.
        let (_t, root) = fixture();
        let open = |rel: &str| open_canonical_inside(&root, rel).map_err(|e| e.raw_os_error());
        assert!(open("hello.txt").is_ok());
        assert!(open("link-in").is_ok());
        assert!(open("link-abs-in").is_ok());
        assert!(open("").is_ok(), "the root itself");
        assert_eq!(open("link-out").err(), Some(Some(libc::EXDEV)));
        assert_eq!(open("missing").err(), Some(Some(libc::ENOENT)));
    }
}
