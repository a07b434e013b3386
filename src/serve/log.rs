//! The access log: one line per response in Common Log Format or JSON, collected in a per-loop
//! buffer and written to stderr once per poll wake-up (not one syscall per request).
//! It formats; it does not decide what happened to a response.

use std::io::Write;
use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use super::LogFormat;

/// What one response line says.
pub struct Entry<'a> {
    pub peer: SocketAddr,
    /// `None` when the request could not be parsed.
    pub request: Option<(&'a str, &'a str, u8)>,
    pub status: u16,
    /// Body bytes sent (CLF `%b`).
    pub bytes: u64,
    pub micros: u64,
}

/// A loop's pending log lines and its cached timestamp (formatted once per second).
pub struct LogBuf {
    format: LogFormat,
    buf: Vec<u8>,
    stamp_secs: u64,
    clf_stamp: String,
    iso_stamp: String,
}

impl LogBuf {
    pub fn new(format: LogFormat) -> Self {
        LogBuf {
            format,
            buf: Vec::new(),
            stamp_secs: u64::MAX,
            clf_stamp: String::new(),
            iso_stamp: String::new(),
        }
    }

    pub fn is_on(&self) -> bool {
        self.format != LogFormat::Off
    }

    /// Append one line for a finished (or abandoned) response.
    pub fn push(&mut self, e: &Entry) {
        if !self.is_on() {
            return;
        }
        self.refresh_stamp();
        match self.format {
            LogFormat::Common => self.push_common(e),
            LogFormat::Json => self.push_json(e),
            LogFormat::Off => {}
        }
    }

    /// Write the collected lines with one write to stderr.
    pub fn flush(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let mut err = std::io::stderr().lock();
        // A closed or full stderr must not stop the server; the lines are dropped.
        let _ = err.write_all(&self.buf);
        self.buf.clear();
        if self.buf.capacity() > 256 * 1024 {
            self.buf.shrink_to(64 * 1024);
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
    fn push_common(&mut self, e: &Entry) {
        let _ = write!(self.buf, "{} - - [{}] \"", e.peer.ip(), self.clf_stamp);
        match e.request {
            Some((method, target, minor)) => {
                escape_clf(&mut self.buf, method);
                self.buf.push(b' ');
                escape_clf(&mut self.buf, target);
                let _ = write!(self.buf, " HTTP/1.{minor}");
            }
            None => self.buf.push(b'-'),
        }
        let _ = writeln!(self.buf, "\" {} {}", e.status, e.bytes);
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

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Quotes, backslashes and control bytes as `\xHH`, as nginx does, so a line stays one line.
fn escape_clf(out: &mut Vec<u8>, s: &str) {
    for &b in s.as_bytes() {
        if b == b'"' || b == b'\\' || b < 0x20 || b == 0x7f {
            let _ = write!(out, "\\x{b:02X}");
        } else {
            out.push(b);
        }
    }
}

struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u64,
    min: u64,
    sec: u64,
}

/// UTC calendar time from Unix seconds (Howard Hinnant's days-to-civil algorithm).
fn civil(secs: u64) -> Civil {
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
