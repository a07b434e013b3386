//! The progress bar `rawhttp fetch` draws on a terminal while a body goes to a file, and the one
//! summary line (name, size, time, rate) it leaves behind, as curl and wget do; with `-Z`, a
//! [`Board`] of one line per active transfer plus a total (indicatif's MultiProgress). Nothing
//! here is drawn unless stderr is a terminal.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{HumanBytes, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::interrupt;

/// A bar on stderr and when it started.
pub(super) struct Progress {
    bar: ProgressBar,
    started: Instant,
    /// Part of a [`Board`]: the board owns the terminal state.
    on_board: bool,
}

/// `{bar}` templates for a known and an unknown length.
fn style(total: Option<u64>, prefix: &str) -> Option<ProgressStyle> {
    let template = match total {
        Some(_) => format!(
            "{prefix}{{bar:30}} {{bytes}}/{{total_bytes}} {{binary_bytes_per_sec}} eta {{eta}}"
        ),
        None => format!("{prefix}{{spinner}} {{bytes}} {{binary_bytes_per_sec}}"),
    };
    ProgressStyle::with_template(&template).ok()
}

/// `-Z` on a terminal: one line per active transfer and a total line below them.
pub(super) struct Board {
    multi: MultiProgress,
    total: ProgressBar,
    started: Instant,
    files: AtomicU64,
    bytes: AtomicU64,
}

impl Board {
    /// A board on stderr; `None` unless stderr is a terminal and `-s` is off.
    pub(super) fn start(silent: bool) -> Option<Board> {
        if silent || !std::io::stderr().is_terminal() {
            return None;
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let total = multi.add(ProgressBar::new_spinner());
        // A constant template: a failure would only lose the style.
        if let Ok(style) = ProgressStyle::with_template("total: {msg}") {
            total.set_style(style);
        }
        total.set_message("starting");
        interrupt::set_progress_drawn(true);
        Some(Board {
            multi,
            total,
            started: Instant::now(),
            files: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        })
    }

    /// A line for one transfer (inserted above the total).
    pub(super) fn bar(&self, name: &str, total: Option<u64>) -> Progress {
        let bar = self
            .multi
            .insert_before(&self.total, ProgressBar::new(total.unwrap_or(0)));
        if total.is_none() {
            bar.unset_length();
        }
        let name: String = name.chars().take(24).collect();
        if let Some(style) = style(total, &format!("{name:<24} ")) {
            bar.set_style(style);
        }
        Progress {
            bar,
            started: Instant::now(),
            on_board: true,
        }
    }

    /// A transfer ended: its line goes, the total counts it.
    pub(super) fn done(&self, progress: Progress) {
        let bytes = progress.bar.position();
        progress.bar.finish_and_clear();
        self.multi.remove(&progress.bar);
        let files = self.files.fetch_add(1, Ordering::Relaxed) + 1;
        let all = self.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        self.total
            .set_message(format!("{files} done, {}", HumanBytes(all)));
    }

    /// Clear the board and leave one summary line.
    pub(super) fn finish(self) {
        self.total.finish_and_clear();
        let _ = self.multi.clear();
        interrupt::set_progress_drawn(false);
        let files = self.files.load(Ordering::Relaxed);
        let name = format!("{files} transfers");
        let line = summary_line(
            &name,
            self.bytes.load(Ordering::Relaxed),
            self.started.elapsed(),
        );
        let _ = writeln!(std::io::stderr(), "{line}");
    }
}

impl Progress {
    /// A bar for a body of `total` bytes (a spinner when unknown); `None` unless stderr is a
    /// terminal, the body goes to a file and `-s` is off.
    pub(super) fn start(silent: bool, to_file: bool, total: Option<u64>) -> Option<Progress> {
        if silent || !to_file || !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
        // The templates are fixed; a failure would only lose the style, not the transfer.
        if let Some(style) = style(total, "") {
            bar.set_style(style);
        }
        interrupt::set_progress_drawn(true);
        Some(Progress {
            bar,
            started: Instant::now(),
            on_board: false,
        })
    }

    pub(super) fn inc(&self, n: u64) {
        self.bar.inc(n);
    }

    /// Clear the bar; what it counted is left for [`Finished::print_summary`].
    pub(super) fn finish(self) -> Finished {
        let bytes = self.bar.position();
        self.bar.finish_and_clear();
        if !self.on_board {
            interrupt::set_progress_drawn(false);
        }
        Finished {
            bytes,
            took: self.started.elapsed(),
        }
    }
}

/// A transfer whose bar was cleared.
pub(super) struct Finished {
    bytes: u64,
    took: Duration,
}

impl Finished {
    /// The one line left on the terminal once the file is in place.
    pub(super) fn print_summary(&self, saved_as: &Path) {
        let line = summary_line(&saved_as.display().to_string(), self.bytes, self.took);
        let _ = writeln!(std::io::stderr(), "{line}");
    }
}

/// `NAME: 1.50 MiB in 0.4 s (3.75 MiB/s)`.
pub(super) fn summary_line(name: &str, bytes: u64, took: Duration) -> String {
    let secs = took.as_secs_f64();
    let rate = if secs > 0.0 {
        (bytes as f64 / secs) as u64
    } else {
        bytes
    };
    format!(
        "{name}: {} in {secs:.1} s ({}/s)",
        HumanBytes(bytes),
        HumanBytes(rate)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_names_size_time_and_rate() {
        assert_eq!(
            summary_line("a.bin", 3 << 20, Duration::from_secs(2)),
            "a.bin: 3.00 MiB in 2.0 s (1.50 MiB/s)"
        );
        assert_eq!(
            summary_line("x", 13, Duration::ZERO),
            "x: 13 B in 0.0 s (13 B/s)"
        );
    }
}
