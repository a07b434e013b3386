//! The access log: one line per response in Common Log Format or JSON, collected in a per-loop
//! buffer and written to stderr once per poll wake-up (not one syscall per request).
//! It formats; it does not decide what happened to a response.

use std::io::Write;
use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use super::LogFormat;

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
    buf: Vec<u8>,
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
            stamp_secs: u64::MAX,
            clf_stamp: String::new(),
            iso_stamp: String::new(),
        }
    }

    /// Whether lines are written at all.
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
