//! Where a body lands: destination names (`-O`, `-J`) reduced to plain file names, and the
//! atomic sink that writes `NAME.part` and renames it over `NAME` only on success. It does not
//! know about HTTP: the caller decides whether a transfer succeeded.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

use url::Url;

use super::interrupt;
use crate::proto::syntax::percent_escape;
use crate::Error;

/// The name used when a URL ends in `/` or nothing usable is left after sanitising.
pub const DEFAULT_NAME: &str = "index.html";
/// Longest file name most filesystems accept (NAME_MAX), leaving room for `.part`.
const MAX_NAME: usize = 250;

/// Decode `%XX` escapes once; a `%` not followed by two hex digits stays as it is.
pub fn percent_decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut rest = s;
    while let Some(&b) = rest.first() {
        match percent_escape(rest) {
            Some(decoded) => {
                out.push(decoded);
                rest = &rest[3..]; // an escape is three bytes: `%` and two hex digits
            }
            None => {
                out.push(b);
                rest = &rest[1..];
            }
        }
    }
    out
}

/// Reduce a name from the network to a plain file name: the part after the last `/` or `\`,
/// without control bytes or surrounding blanks; `None` when nothing usable (``, `.`, `..`) is
/// left. Names are kept under NAME_MAX (cut at a character boundary when they are UTF-8).
pub fn sanitize(name: &[u8]) -> Option<Vec<u8>> {
    let last = name
        .rsplit(|&b| b == b'/' || b == b'\\')
        .next()
        .unwrap_or(name);
    let clean: Vec<u8> = last
        .iter()
        .copied()
        .filter(|&b| b >= 0x20 && b != 0x7f)
        .collect();
    let trimmed = clean.trim_ascii();
    if trimmed.is_empty() || trimmed == b"." || trimmed == b".." {
        return None;
    }
    let mut cut = trimmed.len().min(MAX_NAME);
    if let Ok(s) = std::str::from_utf8(trimmed) {
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
    }
    // Cutting can end the name inside a run of blanks: trim again (found by fuzz/names).
    Some(trimmed[..cut].trim_ascii_end().to_vec())
}

/// `-O`: the URL's last path segment, percent-decoded and sanitised; `index.html` when empty.
/// The query is never part of it.
pub fn remote_name(url: &Url) -> OsString {
    let segment = url
        .path_segments()
        .and_then(|mut s| s.next_back())
        .unwrap_or("");
    let name = sanitize(&percent_decode(segment.as_bytes()))
        .unwrap_or_else(|| DEFAULT_NAME.as_bytes().to_vec());
    OsString::from_vec(name)
}

/// `-J`: the file name a Content-Disposition value suggests, `filename*` (RFC 8187) before
/// `filename` (RFC 6266 §4.3), sanitised. Leading dots are stripped: a server never gets to
/// choose a hidden file such as `.bashrc` (RFC 6266 §4.3 asks recipients to guard against
/// names with special meaning). `None` when it names nothing usable.
pub fn disposition_name(value: &[u8]) -> Option<OsString> {
    let params = disposition_params(value);
    let find = |key: &str| params.iter().find(|(k, _)| k == key).map(|(_, v)| v);
    let extended = find("filename*").and_then(|v| decode_ext_value(v));
    let name = extended.or_else(|| find("filename").cloned())?;
    let plain = sanitize(&name)?;
    let visible = plain.iter().position(|&b| b != b'.' && b != b' ')?;
    sanitize(&plain[visible..]).map(OsString::from_vec)
}

/// `type; name=value; name="quoted \" value"` -> lower-case names with unquoted values.
fn disposition_params(value: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut params = Vec::new();
    let Some(first) = value.iter().position(|&b| b == b';') else {
        return params;
    };
    let mut rest = &value[first + 1..];
    while !rest.is_empty() {
        let rest_trimmed = rest.trim_ascii_start();
        let name_end = rest_trimmed
            .iter()
            .position(|&b| b == b'=' || b == b';')
            .unwrap_or(rest_trimmed.len());
        let name = String::from_utf8_lossy(rest_trimmed[..name_end].trim_ascii()).to_lowercase();
        let after = &rest_trimmed[name_end..];
        if after.first() != Some(&b'=') {
            rest = after.get(1..).unwrap_or(&[]);
            continue;
        }
        let (val, remainder) = param_value(after[1..].trim_ascii_start());
        params.push((name, val));
        rest = remainder;
    }
    params
}

/// One parameter value (token or quoted-string, RFC 9110 §5.6.4) and what follows its `;`.
fn param_value(s: &[u8]) -> (Vec<u8>, &[u8]) {
    if s.first() == Some(&b'"') {
        let mut out = Vec::new();
        let mut i = 1;
        while i < s.len() && s[i] != b'"' {
            if s[i] == b'\\' && i + 1 < s.len() {
                i += 1;
            }
            out.push(s[i]);
            i += 1;
        }
        let after = &s[(i + 1).min(s.len())..];
        let next = after
            .iter()
            .position(|&b| b == b';')
            .map_or(&[][..], |p| &after[p + 1..]);
        return (out, next);
    }
    let end = s.iter().position(|&b| b == b';').unwrap_or(s.len());
    let next = s.get(end + 1..).unwrap_or(&[]);
    (s[..end].trim_ascii().to_vec(), next)
}

/// RFC 8187 ext-value: `charset'lang'pct-encoded`; UTF-8 and ISO-8859-1 are understood.
fn decode_ext_value(v: &[u8]) -> Option<Vec<u8>> {
    let mut parts = v.splitn(3, |&b| b == b'\'');
    let charset = parts.next()?;
    let _language = parts.next()?;
    let bytes = percent_decode(parts.next()?);
    if charset.eq_ignore_ascii_case(b"utf-8") {
        String::from_utf8(bytes).ok().map(String::into_bytes)
    } else if charset.eq_ignore_ascii_case(b"iso-8859-1") {
        Some(
            bytes
                .iter()
                .map(|&b| b as char)
                .collect::<String>()
                .into_bytes(),
        )
    } else {
        None
    }
}

/// Where one transfer's output goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
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
pub struct Sink {
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
pub fn part_path(path: &Path) -> Option<PathBuf> {
    let mut name = path.file_name()?.to_os_string();
    name.push(".part");
    Some(path.with_file_name(name))
}

impl Sink {
    /// Open the destination. Regular files (or absent ones) go through `NAME.part`.
    pub fn open(dest: &Destination) -> Result<Sink, Error> {
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
        let file = match create() {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                fs::remove_file(&part).map_err(|e| write_error(&part, e))?;
                create()
            }
            other => other,
        }
        .map_err(|e| write_error(&part, e))?;
        Ok(Self::tracked_part(file, part, path, no_clobber, claim))
    }

    fn tracked_part(
        file: File,
        part: PathBuf,
        path: &Path,
        no_clobber: bool,
        claim: Claim,
    ) -> Sink {
        let tracked = interrupt::register(&part);
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
    pub fn open_part_at(path: &Path, offset: u64) -> Result<Sink, Error> {
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
        let file = open().map_err(|e| write_error(&part, e))?;
        Ok(Self::tracked_part(file, part, path, false, claim))
    }

    /// Keep `NAME.part` when this sink is dropped uncommitted (and on SIGINT/SIGTERM), so a
    /// later attempt can resume it. No effect on other outputs.
    pub fn keep_part_on_failure(&mut self, yes: bool) {
        self.keep_part_on_interrupt(yes);
        if let SinkKind::Part { keep, .. } = &mut self.kind {
            *keep = yes;
        }
    }

    /// The `NAME.part` being written (`None` for stdout and devices).
    pub fn part_path(&self) -> Option<&Path> {
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
    pub fn keep_part_on_interrupt(&mut self, keep: bool) {
        if let SinkKind::Part { tracked, .. } = &self.kind {
            interrupt::set_keep(*tracked, keep);
        }
    }

    /// The final path of a file output (`None` for stdout).
    pub fn path(&self) -> Option<&Path> {
        match &self.kind {
            SinkKind::Part { path, .. } => Some(path),
            _ => None,
        }
    }

    /// Set the modification time of a file output before it is committed (`-R`), so the file
    /// appears under its name already dated. Stdout and special files are left alone.
    pub fn set_modified(&self, time: std::time::SystemTime) -> Result<(), Error> {
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
    pub fn is_file(&self) -> bool {
        !matches!(self.kind, SinkKind::Stdout(_))
    }

    /// Write all of `bytes`; a failure is exit 23.
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<(), Error> {
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
    pub fn commit(mut self) -> Result<(), Error> {
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
pub fn ensure_dir(dir: &Path) -> Result<(), Error> {
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

    fn name(url: &str) -> String {
        let url = Url::parse(url).expect("test URLs are valid");
        remote_name(&url).to_string_lossy().into_owned()
    }

    #[test]
    fn remote_names_come_from_the_last_segment() {
        let table = [
            ("http://a/", "index.html"),
            ("http://a", "index.html"),
            ("http://a/dir/", "index.html"),
            ("http://a/dir/file.tar.gz", "file.tar.gz"),
            ("http://a/f.txt?x=1&y=/etc/passwd", "f.txt"),
            ("http://a/f.txt#frag", "f.txt"),
            ("http://a/hello%20world.txt", "hello world.txt"),
            ("http://a/x%2F..%2Fetc%2Fpasswd", "passwd"),
            ("http://a/%2E%2E", "index.html"),
            ("http://a/..%5Cwin.ini", "win.ini"),
            ("http://a/bad%0Aname", "badname"),
            ("http://a/%00x", "x"),
            ("http://a/100%", "100%"),
            ("http://a/%zz", "%zz"),
            ("http://a/caf%C3%A9", "café"),
        ];
        for (url, want) in table {
            assert_eq!(name(url), want, "{url}");
        }
    }

    #[test]
    fn sanitize_leaves_plain_names_only() {
        let table: [(&[u8], Option<&[u8]>); 10] = [
            (b"report.pdf", Some(b"report.pdf")),
            (b"../../etc/passwd", Some(b"passwd")),
            (b"C:\\Windows\\evil.exe", Some(b"evil.exe")),
            (b"..", None),
            (b".", None),
            (b"dir/", None),
            (b"", None),
            (b" spaced .txt ", Some(b"spaced .txt")),
            (b"a\x1b[31mred\x7f", Some(b"a[31mred")),
            (b"\xff\xfe.bin", Some(b"\xff\xfe.bin")),
        ];
        for (input, want) in table {
            assert_eq!(sanitize(input).as_deref(), want, "{input:?}");
        }
        let long = "é".repeat(200);
        let cut = sanitize(long.as_bytes()).expect("kept");
        assert!(cut.len() <= MAX_NAME);
        assert!(std::str::from_utf8(&cut).is_ok());
        // A cut at NAME_MAX that lands in blanks leaves none at the end (fuzz/names finding).
        let mut blank_at_cut = vec![b'a'; MAX_NAME - 1];
        blank_at_cut.extend_from_slice(b"  b");
        let cut = sanitize(&blank_at_cut).expect("kept");
        assert_eq!(cut, vec![b'a'; MAX_NAME - 1]);
    }

    #[test]
    fn content_disposition_names() {
        let table: [(&[u8], Option<&str>); 15] = [
            (b"attachment; filename=\"a.txt\"", Some("a.txt")),
            (b"attachment; filename=a.txt", Some("a.txt")),
            (b"attachment;filename=a.txt;size=3", Some("a.txt")),
            (b"attachment; FILENAME=\"q\\\"x.txt\"", Some("q\"x.txt")),
            (b"attachment; filename=\"x;y.txt\"; a=b", Some("x;y.txt")),
            (
                b"attachment; filename=\"plain.txt\"; filename*=UTF-8''%E2%82%AC%20rates.txt",
                Some("€ rates.txt"),
            ),
            (
                b"attachment; filename*=iso-8859-1'en'%A3.txt",
                Some("£.txt"),
            ),
            (b"attachment; filename*=koi8-r''x; filename=y", Some("y")),
            (b"attachment; filename=\"../../.bashrc\"", Some("bashrc")),
            (b"attachment; filename=\"...\"", None),
            (b"attachment; filename=\". .x\"", Some("x")),
            (b"attachment; filename=\"/etc/passwd\"", Some("passwd")),
            (b"attachment; filename=\"..\"", None),
            (b"inline", None),
            (b"attachment; filename=\"unterminated", Some("unterminated")),
        ];
        for (value, want) in table {
            let got = disposition_name(value).map(|n| n.to_string_lossy().into_owned());
            assert_eq!(got.as_deref(), want, "{}", String::from_utf8_lossy(value));
        }
    }

    #[test]
    fn percent_decoding_is_single_and_lenient() {
        assert_eq!(percent_decode(b"%41%2541"), b"A%41");
        assert_eq!(percent_decode(b"%4"), b"%4");
        assert_eq!(percent_decode(b"%"), b"%");
        assert_eq!(percent_decode(b"a%g1"), b"a%g1");
    }

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
