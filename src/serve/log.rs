//! The access log: one line per response in Common Log Format or JSON, collected in a per-loop
//! buffer and written to stderr once per poll wake-up (not one syscall per request).
//! A stderr nobody reads never stalls the loop: writes that could block wait in a bounded
//! backlog, lines past it are dropped and counted (issue 9). It formats; it does not decide
//! what happened to a response.

use std::io::Write;
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::LogFormat;
use crate::proto::limits::{LOG_BACKLOG, LOG_EXIT_WAIT};

const STDERR: RawFd = 2;
/// Largest write made after poll(2) said "writable": a pipe then has at least one free page,
/// and writes of at most PIPE_BUF bytes into it never block (pipe(7)).
const SAFE_WRITE: usize = 4096;

/// What one response line says.
pub struct Entry<'a> {
    /// The client.
    pub peer: SocketAddr,
    /// `None` when the request could not be parsed.
    pub request: Option<(&'a str, &'a str, u8)>,
    /// The status sent.
    pub status: u16,
    /// Body bytes sent (CLF `%b`).
    pub bytes: u64,
    /// Time from the request to the last byte, in microseconds.
    pub micros: u64,
}

/// A loop's pending log lines and its cached timestamp (formatted once per second).
pub struct LogBuf {
    format: LogFormat,
    /// Lines not yet written (at most `LOG_BACKLOG` bytes).
    buf: Vec<u8>,
    /// Lines dropped because the backlog was full, not yet reported.
    dropped: u64,
    /// stderr can block (pipe, socket, terminal): write only what poll(2) says fits.
    may_block: bool,
    stamp_secs: u64,
    clf_stamp: String,
    iso_stamp: String,
}

impl LogBuf {
    /// An empty buffer writing `format`.
    pub fn new(format: LogFormat) -> Self {
        LogBuf {
            format,
            buf: Vec::new(),
            dropped: 0,
            may_block: format != LogFormat::Off && stderr_may_block(),
            stamp_secs: u64::MAX,
            clf_stamp: String::new(),
            iso_stamp: String::new(),
        }
    }

    /// Whether lines are written at all.
    pub fn is_on(&self) -> bool {
        self.format != LogFormat::Off
    }

    /// Append one line for a finished (or abandoned) response; dropped (and counted) when the
    /// backlog is full.
    pub fn push(&mut self, e: &Entry) {
        if !self.is_on() {
            return;
        }
        self.refresh_stamp();
        let before = self.buf.len();
        match self.format {
            LogFormat::Common => self.push_common(e),
            LogFormat::Json => self.push_json(e),
            LogFormat::Off => {}
        }
        if self.buf.len() > LOG_BACKLOG {
            self.buf.truncate(before);
            self.dropped += 1;
        }
    }

    /// Lines wait for stderr: the loop should come back soon to retry.
    pub fn has_backlog(&self) -> bool {
        !self.buf.is_empty()
    }

    /// Write what stderr takes without blocking (everything, for a file or /dev/null); the rest
    /// waits for the next call. Once the backlog is gone, dropped lines are reported.
    pub fn flush(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let written = match self.may_block {
            true => write_while_ready(&self.buf),
            false => {
                // A closed stderr must not stop the server: the lines are dropped.
                let _ = std::io::stderr().lock().write_all(&self.buf);
                self.buf.len()
            }
        };
        self.buf.drain(..written);
        if self.buf.is_empty() && self.dropped > 0 {
            let n = std::mem::take(&mut self.dropped);
            let _ = writeln!(
                self.buf,
                "rawhttp: serve: {n} access log lines dropped: stderr was not keeping up"
            );
            self.flush();
        }
        if self.buf.is_empty() && self.buf.capacity() > 256 * 1024 {
            self.buf.shrink_to(64 * 1024);
        }
    }

    /// The loop is ending: write what is left, waiting for stderr at most `LOG_EXIT_WAIT`.
    pub fn flush_at_exit(&mut self) {
        let until = Instant::now() + LOG_EXIT_WAIT;
        loop {
            self.flush();
            let left = until.saturating_duration_since(Instant::now());
            if self.buf.is_empty() || left.is_zero() || !wait_writable(left) {
                return;
            }
        }
    }

    fn refresh_stamp(&mut self) {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        if secs != self.stamp_secs {
            self.stamp_secs = secs;
            let t = civil(secs);
            self.clf_stamp = format!(
                "{:02}/{}/{}:{:02}:{:02}:{:02} +0000",
                t.day,
                MONTHS[t.month as usize - 1],
                t.year,
                t.hour,
                t.min,
                t.sec
            );
            self.iso_stamp = format!(
                "{}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                t.year, t.month, t.day, t.hour, t.min, t.sec
            );
        }
    }

    /// `host - - [date] "METHOD target HTTP/1.x" status bytes` (NCSA Common Log Format).
    /// One Common Log Format line, appended byte by byte: core::fmt was half the log's cost
    /// on the 1 KiB benchmark, so the hot fields (address, status, size) skip it.
    fn push_common(&mut self, e: &Entry) {
        push_ip(&mut self.buf, e.peer.ip());
        self.buf.extend_from_slice(b" - - [");
        self.buf.extend_from_slice(self.clf_stamp.as_bytes());
        self.buf.extend_from_slice(b"] \"");
        match e.request {
            Some((method, target, minor)) => {
                escape_clf(&mut self.buf, method);
                self.buf.push(b' ');
                escape_clf(&mut self.buf, target);
                self.buf.extend_from_slice(b" HTTP/1.");
                push_decimal(&mut self.buf, u64::from(minor));
            }
            None => self.buf.push(b'-'),
        }
        self.buf.extend_from_slice(b"\" ");
        push_decimal(&mut self.buf, u64::from(e.status));
        self.buf.push(b' ');
        push_decimal(&mut self.buf, e.bytes);
        self.buf.push(b'\n');
    }

    fn push_json(&mut self, e: &Entry) {
        let (method, target, version) = match e.request {
            Some((m, t, minor)) => (m, t, if minor == 0 { "1.0" } else { "1.1" }),
            None => ("", "", ""),
        };
        let line = serde_json::json!({
            "time": self.iso_stamp,
            "remote": e.peer.ip().to_string(),
            "method": method,
            "target": target,
            "version": version,
            "status": e.status,
            "bytes": e.bytes,
            "duration_us": e.micros,
        });
        let _ = writeln!(self.buf, "{line}");
    }
}

/// A pipe, socket or terminal can block a write; a regular file or /dev/null does not.
fn stderr_may_block() -> bool {
    // SAFETY: fstat writes one stat struct we own; isatty only reads the descriptor number.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(STDERR, &mut st) } != 0 {
        return false;
    }
    match st.st_mode & libc::S_IFMT {
        libc::S_IFREG => false,
        libc::S_IFCHR => (unsafe { libc::isatty(STDERR) }) == 1,
        _ => true,
    }
}

/// Write `buf` to stderr in pieces that cannot block, while poll(2) says there is room; the
/// number of bytes written (a write error drops everything: stderr is gone).
fn write_while_ready(buf: &[u8]) -> usize {
    let mut done = 0;
    while done < buf.len() && wait_writable(Duration::ZERO) {
        let piece = line_piece(&buf[done..]);
        // SAFETY: `piece` is a valid readable slice for its whole length.
        let n = unsafe { libc::write(STDERR, piece.as_ptr().cast(), piece.len()) };
        if n < 0 {
            match std::io::Error::last_os_error().kind() {
                std::io::ErrorKind::Interrupted => continue,
                std::io::ErrorKind::WouldBlock => break,
                _ => return buf.len(),
            }
        }
        done += n as usize;
    }
    done
}

/// At most `SAFE_WRITE` bytes from the front of `buf`, ending at a line end when one is in
/// reach, so lines from several loops never interleave mid-line (pipe writes up to PIPE_BUF
/// are atomic).
fn line_piece(buf: &[u8]) -> &[u8] {
    let piece = &buf[..buf.len().min(SAFE_WRITE)];
    match piece.iter().rposition(|&b| b == b'\n') {
        Some(end) => &piece[..=end],
        None => piece,
    }
}

/// Whether stderr can take a write within `within` (poll(2) for POLLOUT). An error or hang-up
/// counts as ready too: the write then fails and the backlog is dropped instead of retried.
fn wait_writable(within: Duration) -> bool {
    let mut fd = libc::pollfd {
        fd: STDERR,
        events: libc::POLLOUT,
        revents: 0,
    };
    let ms = within.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: one valid pollfd, count one.
    let n = unsafe { libc::poll(&mut fd, 1, ms) };
    n > 0 && fd.revents != 0
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Quotes, backslashes and control bytes as `\xHH`, as nginx does, so a line stays one line.
/// `n` in decimal, without core::fmt.
fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// An IPv4 address as dotted decimal without core::fmt; IPv6 (rarer) through Display.
fn push_ip(out: &mut Vec<u8>, ip: std::net::IpAddr) {
    match ip {
        std::net::IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                push_decimal(out, u64::from(octet));
            }
        }
        std::net::IpAddr::V6(v6) => {
            let _ = write!(out, "{v6}");
        }
    }
}

fn escape_clf(out: &mut Vec<u8>, s: &str) {
    for &b in s.as_bytes() {
        if b == b'"' || b == b'\\' || b < 0x20 || b == 0x7f {
            let _ = write!(out, "\\x{b:02X}");
        } else {
            out.push(b);
        }
    }
}

/// A UTC calendar instant, to the second.
pub(super) struct Civil {
    pub(super) year: i64,
    pub(super) month: u32,
    pub(super) day: u32,
    pub(super) hour: u64,
    pub(super) min: u64,
    pub(super) sec: u64,
}

/// UTC calendar time from Unix seconds (Howard Hinnant's days-to-civil algorithm).
pub(super) fn civil(secs: u64) -> Civil {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    Civil {
        year,
        month,
        day,
        hour: rem / 3600,
        min: rem % 3600 / 60,
        sec: rem % 60,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_match_known_instants() {
        let t = civil(0);
        assert_eq!((t.year, t.month, t.day, t.hour), (1970, 1, 1, 0));
        // 2000-02-29T12:34:56Z
        let t = civil(951_827_696);
        assert_eq!(
            (t.year, t.month, t.day, t.hour, t.min, t.sec),
            (2000, 2, 29, 12, 34, 56)
        );
        // 2026-11-22T02:32:29Z
        let t = civil(1_795_321_949);
        assert_eq!((t.year, t.month, t.day), (2026, 11, 22));
    }

    #[test]
    fn common_lines_escape_quotes_and_controls() {
        let mut log = LogBuf::new(LogFormat::Common);
        log.push(&Entry {
            peer: "127.0.0.1:5".parse().unwrap(),
            request: Some(("GET", "/a\"b\n", 1)),
            status: 200,
            bytes: 12,
            micros: 3,
        });
        let line = String::from_utf8(log.buf.clone()).unwrap();
        assert!(line.starts_with("127.0.0.1 - - ["), "{line}");
        assert!(
            line.ends_with("\"GET /a\\x22b\\x0A HTTP/1.1\" 200 12\n"),
            "{line}"
        );
    }

    #[test]
    fn numbers_and_addresses_match_display() {
        for n in [0, 7, 10, 200, 1024, 99_999, u64::MAX] {
            let mut out = Vec::new();
            push_decimal(&mut out, n);
            assert_eq!(out, n.to_string().into_bytes());
        }
        for ip in [
            "0.0.0.0",
            "127.0.0.1",
            "255.255.255.255",
            "10.20.3.4",
            "::1",
            "fe80::1",
        ] {
            let mut out = Vec::new();
            push_ip(&mut out, ip.parse().unwrap());
            assert_eq!(out, ip.as_bytes());
        }
    }

    #[test]
    fn a_full_backlog_drops_whole_lines_and_counts_them() {
        let mut log = LogBuf::new(LogFormat::Common);
        let target = format!("/{}", "a".repeat(1000));
        for _ in 0..400 {
            log.push(&Entry {
                peer: "127.0.0.1:5".parse().unwrap(),
                request: Some(("GET", &target, 1)),
                status: 200,
                bytes: 1,
                micros: 1,
            });
        }
        assert!(log.buf.len() <= LOG_BACKLOG, "{}", log.buf.len());
        let kept = log.buf.iter().filter(|&&b| b == b'\n').count() as u64;
        assert!(log.buf.ends_with(b"\n"));
        assert!(log.dropped > 0);
        assert_eq!(kept + log.dropped, 400);
    }

    #[test]
    fn json_lines_parse_back() {
        let mut log = LogBuf::new(LogFormat::Json);
        log.push(&Entry {
            peer: "[::1]:5".parse().unwrap(),
            request: None,
            status: 400,
            bytes: 0,
            micros: 1,
        });
        let v: serde_json::Value = serde_json::from_slice(&log.buf).unwrap();
        assert_eq!(v["status"], 400);
        assert_eq!(v["remote"], "::1");
    }
}
