//! Ctrl-C (SIGINT) and SIGTERM during `rawhttp fetch`: remove every `NAME.part` still being
//! written (unless it is kept for a resume), leave the terminal at the start of a clean line,
//! and exit 130 / 143 as a shell expects (128 + the signal number). Only the binary installs
//! the handler; library users keep their own signal disposition.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// One part file being written.
pub(crate) struct Entry {
    id: u64,
    part: PathBuf,
    /// Left in place on a signal (a later `-C` / `--retry` resumes from it).
    keep: bool,
}

static PARTS: Mutex<Vec<Entry>> = Mutex::new(Vec::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(1);
/// Default `keep` for part files registered from now on (see [`keep_part_files`]).
static KEEP_BY_DEFAULT: AtomicBool = AtomicBool::new(false);
/// A progress bar may be mid-line on stderr.
static PROGRESS_DRAWN: AtomicBool = AtomicBool::new(false);

/// The registry, even if a thread panicked while holding it (entries are plain data).
pub(crate) fn registry() -> MutexGuard<'static, Vec<Entry>> {
    PARTS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Hook for resumable transfers (`-C`, `--retry`): with `true`, part files registered from now
/// on survive SIGINT/SIGTERM so the next run can continue them. Default `false`: a signal
/// removes them, as every other failure does.
pub(crate) fn keep_part_files(keep: bool) {
    KEEP_BY_DEFAULT.store(keep, Ordering::Relaxed);
}

/// Track `part` until [`unregister_in`]; returns its id. Callers create the file while they
/// hold the guard `parts` came from, so a signal never finds a part file not yet tracked.
pub(crate) fn register_in(parts: &mut Vec<Entry>, part: &Path) -> u64 {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let keep = KEEP_BY_DEFAULT.load(Ordering::Relaxed);
    parts.push(Entry {
        id,
        part: part.to_path_buf(),
        keep,
    });
    id
}

/// Change whether part file `id` survives a signal.
pub(crate) fn set_keep(id: u64, keep: bool) {
    if let Some(e) = registry().iter_mut().find(|e| e.id == id) {
        e.keep = keep;
    }
}

/// Stop tracking `id` (renamed into place or removed). Callers that rename pass the guard
/// they held during the rename, so a signal never sees a half-done commit.
pub(crate) fn unregister_in(parts: &mut Vec<Entry>, id: u64) {
    parts.retain(|e| e.id != id);
}

/// Note whether a progress bar is on the terminal (so a signal ends its line).
pub(crate) fn set_progress_drawn(drawn: bool) {
    PROGRESS_DRAWN.store(drawn, Ordering::Relaxed);
}

/// Install the SIGINT/SIGTERM handler thread. `quiet` (`-s` without `-S`) drops the message.
pub(crate) fn install(quiet: bool) -> std::io::Result<()> {
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            on_signal(signal, quiet);
        }
    });
    Ok(())
}

/// Remove the part files, finish the terminal line, exit 128 + signal. The registry lock is
/// held until exit, so no commit can rename a part file under our feet.
fn on_signal(signal: i32, quiet: bool) -> ! {
    let parts = registry();
    let mut removed = Vec::new();
    for e in parts.iter().filter(|e| !e.keep) {
        if std::fs::remove_file(&e.part).is_ok() {
            removed.push(e.part.display().to_string());
        }
    }
    let mut err = std::io::stderr().lock();
    if PROGRESS_DRAWN.load(Ordering::Relaxed) && std::io::stderr().is_terminal() {
        // Carriage return and erase-line: the bar's half-drawn line goes away.
        let _ = err.write_all(b"\r\x1b[2K");
    }
    if !quiet {
        let name = if signal == SIGINT {
            "SIGINT"
        } else {
            "SIGTERM"
        };
        let what = if removed.is_empty() {
            String::new()
        } else {
            format!(", removed {}", removed.join(", "))
        };
        let _ = writeln!(err, "rawhttp: interrupted: {name}{what}");
    }
    let _ = err.flush();
    std::process::exit(128 + signal);
}
