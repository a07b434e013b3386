//! Run the built `rawhttp fetch` binary with a watchdog and assert on what a user sees:
//! exit code, the one stderr line, stdout, and the files on disk.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// A child that runs longer than this is killed and the test fails: no test needs half of it.
const WATCHDOG: Duration = Duration::from_secs(20);

/// A framed reply on a socket the server keeps open must still end promptly.
pub const PROMPT: Duration = Duration::from_secs(5);

/// What a destination holds before a transfer that must fail, to show it survives.
const OLD: &[u8] = b"old bytes that must survive a failed transfer\n";

/// What one run of the binary did.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
    pub elapsed: Duration,
}

/// `rawhttp fetch ARGS...` run in `cwd`.
pub fn fetch(cwd: &Path, args: &[&str]) -> Outcome {
    let mut all = vec!["fetch"];
    all.extend_from_slice(args);
    rawhttp(cwd, &all)
}

/// `rawhttp fetch ARGS...` run in `cwd` with these environment variables set.
pub fn fetch_env(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Outcome {
    let mut all = vec!["fetch"];
    all.extend_from_slice(args);
    rawhttp_env(cwd, &all, env)
}

/// The variables that send `rawhttp fetch` (and curl) through a proxy: removed from every run
/// so a proxy set on the test machine never stands between a test and its loopback server.
pub const PROXY_VARIABLES: [&str; 8] = [
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
];

/// `rawhttp ARGS...` run in `cwd` with stdin closed, killed after `WATCHDOG`.
pub fn rawhttp(cwd: &Path, args: &[&str]) -> Outcome {
    rawhttp_env(cwd, args, &[])
}

/// [`rawhttp`] with these environment variables set (and no proxy variable but those).
pub fn rawhttp_env(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Outcome {
    let start = Instant::now();
    let mut command = Command::new(env!("CARGO_BIN_EXE_rawhttp"));
    for name in PROXY_VARIABLES {
        command.env_remove(name);
    }
    let child = command
        .envs(env.iter().copied())
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rawhttp");
    let pid = child.id() as libc::pid_t;
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let output: Output = match rx.recv_timeout(WATCHDOG) {
        Ok(result) => result.expect("wait for rawhttp"),
        Err(_) => {
            // SAFETY: kill(2) has no memory-safety preconditions. The pid is our own child and
            // cannot have been reused: the waiting thread has not reaped it (it is still in wait).
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("rawhttp {args:?} still running after {WATCHDOG:?}");
        }
    };
    Outcome {
        code: output.status.code().unwrap_or(-1),
        stdout: output.stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        elapsed: start.elapsed(),
    }
}

impl Outcome {
    /// Exit 0 and nothing on stderr.
    pub fn assert_ok(&self) -> &Self {
        assert_eq!(self.code, 0, "expected success, got {self:?}");
        assert_eq!(self.stderr, "", "expected a quiet stderr: {self:?}");
        self
    }

    /// Exit `code` and exactly one stderr line `rawhttp: <what failed>: <why> (<url>)`.
    /// `url` = None checks only that the line ends with a parenthesised URL.
    pub fn assert_fails(&self, code: i32, url: Option<&str>) -> &Self {
        assert_eq!(self.code, code, "wrong exit code: {self:?}");
        self.assert_one_error_line();
        let line = self.stderr.trim_end_matches('\n');
        match url {
            Some(url) => assert!(
                line.ends_with(&format!(" ({url})")),
                "stderr must end with ({url}): {line:?}"
            ),
            None => assert!(
                line.ends_with(')') && line.contains(" ("),
                "stderr must end with (URL): {line:?}"
            ),
        }
        self
    }

    /// Exit `code` and exactly one `rawhttp: ` line on stderr (usage errors have no URL).
    pub fn assert_fails_without_url(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "wrong exit code: {self:?}");
        self.assert_one_error_line();
        self
    }

    fn assert_one_error_line(&self) {
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "stderr must be one line: {:?}", self.stderr);
        let line = lines[0];
        assert!(
            line.starts_with("rawhttp: "),
            "stderr must start with 'rawhttp: ': {line:?}"
        );
        // `<what failed>: <why>` after the prefix.
        assert!(
            line["rawhttp: ".len()..].contains(": "),
            "no '<what>: <why>' in {line:?}"
        );
    }

    pub fn assert_stderr_contains(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.to_lowercase().contains(&needle.to_lowercase()),
            "stderr should mention {needle:?}: {:?}",
            self.stderr
        );
        self
    }

    pub fn assert_faster_than(&self, limit: Duration) -> &Self {
        assert!(
            self.elapsed < limit,
            "took {:?} (limit {limit:?}): {self:?}",
            self.elapsed
        );
        self
    }
}

/// The bytes of `dir/name`, or None when it does not exist.
pub fn read(dir: &Path, name: &str) -> Option<Vec<u8>> {
    std::fs::read(dir.join(name)).ok()
}

/// Assert that no `*.part` file is left anywhere under `dir`.
pub fn assert_no_part_files(dir: &Path) {
    for entry in walk(dir) {
        assert!(
            !entry.to_string_lossy().ends_with(".part"),
            "left behind: {}",
            entry.display()
        );
    }
}

/// Every regular file under `dir`, recursively.
pub fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// File names (relative to `dir`) under `dir`, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    walk(dir)
        .iter()
        .filter_map(|p| p.strip_prefix(dir).ok())
        .map(|p| p.to_string_lossy().into_owned())
        .collect()
}

/// Fetch `url` into `out.txt` in a fresh directory, with `extra` flags.
pub fn fetch_url_to_file(url: &str, extra: &[&str]) -> (Outcome, tempfile::TempDir) {
    let dir = super::tempdir();
    let mut args = vec!["-o", "out.txt"];
    args.extend_from_slice(extra);
    args.push(url);
    let out = fetch(dir.path(), &args);
    (out, dir)
}

/// `url` is saved as `body`, quietly, promptly, with exit 0 and no leftovers.
pub fn assert_url_saves(url: &str, extra: &[&str], body: &[u8]) -> Outcome {
    let (out, dir) = fetch_url_to_file(url, extra);
    out.assert_ok().assert_faster_than(PROMPT);
    assert_eq!(read(dir.path(), "out.txt").as_deref(), Some(body));
    assert_no_part_files(dir.path());
    assert_eq!(names(dir.path()), ["out.txt"]);
    out
}

/// Fetching `url` fails with `code` and one stderr line naming the URL; an existing
/// destination keeps its old bytes, an absent one stays absent, and no NAME.part is left.
pub fn assert_url_fails_and_keeps_destination(url: &str, code: i32, extra: &[&str]) {
    let dir = super::tempdir();
    std::fs::write(dir.path().join("existing.txt"), OLD).expect("write old file");
    for dest in ["existing.txt", "fresh.txt"] {
        let mut args = vec!["-o", dest];
        args.extend_from_slice(extra);
        args.push(url);
        fetch(dir.path(), &args).assert_fails(code, Some(url));
    }
    assert_eq!(
        read(dir.path(), "existing.txt").as_deref(),
        Some(OLD),
        "old bytes clobbered"
    );
    assert_eq!(
        read(dir.path(), "fresh.txt"),
        None,
        "a failed transfer created its file"
    );
    assert_no_part_files(dir.path());
    assert_eq!(names(dir.path()), ["existing.txt"]);
}

/// Run a shell command under a pseudo-terminal (script(1)); what the terminal showed.
pub fn on_a_terminal(cwd: &Path, shell: &str) -> String {
    let out = Command::new("script")
        .args(["-qec", shell, "/dev/null"])
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .expect("script(1) runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}
