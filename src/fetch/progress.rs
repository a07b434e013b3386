//! The progress bar `rawhttp fetch` draws on a terminal while a body goes to a file, and the one
//! summary line (name, size, time, rate) it leaves behind, as curl and wget do. Nothing here is
//! drawn unless stderr is a terminal.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::interrupt;

/// A bar on stderr and when it started.
pub struct Progress {
    bar: ProgressBar,
    started: Instant,
}

impl Progress {
    /// A bar for a body of `total` bytes (a spinner when unknown); `None` unless stderr is a
    /// terminal, the body goes to a file and `-s` is off.
    pub fn start(silent: bool, to_file: bool, total: Option<u64>) -> Option<Progress> {
        if silent || !to_file || !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
        let template = match total {
            Some(_) => "{bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
            None => "{spinner} {bytes} {binary_bytes_per_sec}",
        };
        // The templates are constants; a failure would only lose the style, not the transfer.
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        interrupt::set_progress_drawn(true);
        Some(Progress {
            bar,
            started: Instant::now(),
        })
    }

    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
    }

    /// Clear the bar; what it counted is left for [`Finished::print_summary`].
    pub fn finish(self) -> Finished {
        let bytes = self.bar.position();
        self.bar.finish_and_clear();
        interrupt::set_progress_drawn(false);
        Finished {
            bytes,
            took: self.started.elapsed(),
        }
    }
}

/// A transfer whose bar was cleared.
pub struct Finished {
    bytes: u64,
    took: Duration,
}

impl Finished {
    /// The one line left on the terminal once the file is in place.
    pub fn print_summary(&self, saved_as: &Path) {
        let line = summary_line(&saved_as.display().to_string(), self.bytes, self.took);
        let _ = writeln!(std::io::stderr(), "{line}");
    }
}

/// `NAME: 1.50 MiB in 0.4 s (3.75 MiB/s)`.
pub fn summary_line(name: &str, bytes: u64, took: Duration) -> String {
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
