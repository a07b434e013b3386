//! `--limit-rate`: keep a transfer's average at or under a byte rate, as curl does, by reading
//! in small slices and sleeping when ahead of schedule. The schedule is a pure function.

use std::time::{Duration, Instant};

/// A byte-rate budget for one transfer.
#[derive(Debug)]
pub(super) struct RateLimit {
    rate: u64,
    started: Instant,
    done: u64,
}

impl RateLimit {
    /// A budget of `rate` bytes per second from now (`rate` > 0).
    pub(super) fn new(rate: u64) -> RateLimit {
        RateLimit {
            rate: rate.max(1),
            started: Instant::now(),
            done: 0,
        }
    }

    /// How much to read at once: about an eighth of a second's worth, so the pace is smooth
    /// and the kernel's receive window, not only our reads, slows the sender down.
    pub(super) fn slice(&self, buf_len: usize) -> usize {
        let eighth = usize::try_from(self.rate / 8).unwrap_or(usize::MAX);
        eighth.clamp(1, buf_len.max(1))
    }

    /// Count `n` bytes done and sleep until the schedule allows them.
    pub(super) fn pace(&mut self, n: usize) {
        self.done = self.done.saturating_add(n as u64);
        let wait = ahead_by(self.done, self.rate, self.started.elapsed());
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
    }
}

/// How far ahead of `rate` bytes/s a transfer is that has done `done` bytes after `elapsed`.
pub(super) fn ahead_by(done: u64, rate: u64, elapsed: Duration) -> Duration {
    let rate = rate.max(1);
    // Integer arithmetic: exact, and no float that could overflow Duration.
    let nanos = u128::from(done % rate) * 1_000_000_000 / u128::from(rate);
    let due = Duration::new(done / rate, nanos as u32);
    due.saturating_sub(elapsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_waits_only_when_ahead() {
        let ms = Duration::from_millis;
        assert_eq!(ahead_by(1000, 1000, ms(0)), ms(1000));
        assert_eq!(ahead_by(1000, 1000, ms(400)), ms(600));
        assert_eq!(ahead_by(1000, 1000, ms(1500)), ms(0));
        assert_eq!(ahead_by(0, 1000, ms(0)), ms(0));
        assert_eq!(ahead_by(10, 0, ms(0)), Duration::from_secs(10));
        assert_eq!(
            ahead_by(u64::MAX, 1 << 30, ms(0)).as_secs(),
            (u64::MAX >> 30)
        );
    }

    #[test]
    fn slices_are_an_eighth_of_a_second_within_the_buffer() {
        assert_eq!(RateLimit::new(8000).slice(128 * 1024), 1000);
        assert_eq!(RateLimit::new(1).slice(128 * 1024), 1);
        assert_eq!(RateLimit::new(1 << 40).slice(128 * 1024), 128 * 1024);
        assert_eq!(RateLimit::new(8000).slice(0), 1);
    }
}
