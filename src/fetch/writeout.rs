//! `-w, --write-out FORMAT`: the per-transfer [`Record`] and curl's format language over it.
//! [`parse_format`] is a pure function (fuzzed) turning the format into pieces; [`render`]
//! fills them from a record. `%{json}` is the whole record as one JSON object.

use std::net::IpAddr;
use std::time::Duration;

use crate::Error;

/// How far a saved body can be trusted (`verdict` in `%{json}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verdict {
    /// Ended where its framing said (Content-Length, last chunk, or no body by definition).
    Complete,
    /// Read until the connection closed: a cut connection would look the same.
    #[default]
    Unverified,
    /// Ended before its framing said.
    Truncated,
}

impl Verdict {
    /// The word used in `%{json}`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Complete => "complete",
            Verdict::Unverified => "unverified",
            Verdict::Truncated => "truncated",
        }
    }
}

/// What happened to one transfer: everything `-w` can print.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Record {
    /// The URL as given.
    pub url: String,
    /// The URL last fetched (after redirects).
    pub url_effective: String,
    /// Where the body was saved (none for stdout or when nothing was saved).
    pub filename_effective: Option<String>,
    /// The last response's status (0 when none arrived).
    pub http_code: u16,
    /// Body bytes received in the last attempt.
    pub size_download: u64,
    /// From the start of the last attempt to: name resolved, TCP connected, TLS done, first
    /// response byte, the end.
    pub time_namelookup: Duration,
    /// To TCP connected.
    pub time_connect: Duration,
    /// To TLS handshake done (0 for plain HTTP).
    pub time_appconnect: Duration,
    /// To the first response byte.
    pub time_starttransfer: Duration,
    /// To the end of the transfer.
    pub time_total: Duration,
    /// Redirects followed.
    pub num_redirects: u32,
    /// The server's address, when connected.
    pub remote_ip: Option<IpAddr>,
    /// The exit code this transfer alone would give (0 = success).
    pub exitcode: i32,
    /// The error's one line (empty on success).
    pub errormsg: String,
    /// How far the saved body can be trusted.
    pub verdict: Verdict,
    /// SHA-256 of the bytes saved (the whole file after a resume), lower-case hex.
    pub sha256: Option<String>,
    /// Attempts after the first.
    pub retries: u32,
    /// Bytes kept from an earlier part file (0 when not resumed).
    pub resumed_from: u64,
    /// The last attempt went over a kept-alive connection.
    pub connection_reused: bool,
}

impl Record {
    /// A record for `url` before anything happened.
    pub fn new(url: &str) -> Record {
        Record {
            url: url.to_string(),
            url_effective: url.to_string(),
            ..Record::default()
        }
    }

    /// Note the failure that ended the transfer.
    pub fn fail(&mut self, error: &Error) {
        self.exitcode = error.exit_code();
        self.errormsg = error.to_string();
        if error.exit_code() == 18 {
            self.verdict = Verdict::Truncated;
        }
    }

    /// The whole record as one JSON object (`%{json}`).
    pub fn to_json(&self) -> String {
        let secs = |d: Duration| d.as_secs_f64();
        serde_json::json!({
            "url": self.url,
            "url_effective": self.url_effective,
            "filename_effective": self.filename_effective,
            "http_code": self.http_code,
            "response_code": self.http_code,
            "size_download": self.size_download,
            "time_namelookup": secs(self.time_namelookup),
            "time_connect": secs(self.time_connect),
            "time_appconnect": secs(self.time_appconnect),
            "time_starttransfer": secs(self.time_starttransfer),
            "time_total": secs(self.time_total),
            "num_redirects": self.num_redirects,
            "remote_ip": self.remote_ip.map(|ip| ip.to_string()),
            "exitcode": self.exitcode,
            "errormsg": self.errormsg,
            "verdict": self.verdict.as_str(),
            "sha256": self.sha256,
            "retries": self.retries,
            "resumed_from": self.resumed_from,
            "connection_reused": self.connection_reused,
        })
        .to_string()
    }
}

/// A `%{name}` variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Var {
    /// `%{http_code}`.
    HttpCode,
    /// `%{size_download}`.
    SizeDownload,
    /// `%{time_namelookup}`.
    TimeNamelookup,
    /// `%{time_connect}`.
    TimeConnect,
    /// `%{time_appconnect}`.
    TimeAppconnect,
    /// `%{time_starttransfer}`.
    TimeStarttransfer,
    /// `%{time_total}`.
    TimeTotal,
    /// `%{url_effective}`.
    UrlEffective,
    /// `%{url}`.
    Url,
    /// `%{filename_effective}`.
    FilenameEffective,
    /// `%{num_redirects}`.
    NumRedirects,
    /// `%{remote_ip}`.
    RemoteIp,
    /// `%{exitcode}`.
    Exitcode,
    /// `%{errormsg}`.
    Errormsg,
    /// `%{json}`.
    Json,
    /// `%{verdict}`.
    Verdict,
    /// `%{sha256}`.
    Sha256,
    /// `%{retries}`.
    Retries,
    /// `%{resumed_from}`.
    ResumedFrom,
    /// `%{connection_reused}`.
    ConnectionReused,
}

/// Variable names, as curl spells them (plus the ones `%{json}` adds).
const VARS: [(&str, Var); 21] = [
    ("http_code", Var::HttpCode),
    ("response_code", Var::HttpCode),
    ("size_download", Var::SizeDownload),
    ("time_namelookup", Var::TimeNamelookup),
    ("time_connect", Var::TimeConnect),
    ("time_appconnect", Var::TimeAppconnect),
    ("time_starttransfer", Var::TimeStarttransfer),
    ("time_total", Var::TimeTotal),
    ("url_effective", Var::UrlEffective),
    ("url", Var::Url),
    ("filename_effective", Var::FilenameEffective),
    ("num_redirects", Var::NumRedirects),
    ("remote_ip", Var::RemoteIp),
    ("exitcode", Var::Exitcode),
    ("errormsg", Var::Errormsg),
    ("json", Var::Json),
    ("verdict", Var::Verdict),
    ("sha256", Var::Sha256),
    ("retries", Var::Retries),
    ("resumed_from", Var::ResumedFrom),
    ("connection_reused", Var::ConnectionReused),
];

/// One piece of a parsed format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Literal text.
    Text(String),
    /// A variable.
    Var(Var),
}

/// Parse a `-w` format: `%{name}` variables, `%%` for `%`, and the escapes `\n`, `\r`, `\t`,
/// `\\` (curl's). A `%` or `\` not starting one of these stays as it is; an unknown variable
/// name is an error (a typo would otherwise print nothing, silently).
pub fn parse_format(format: &str) -> Result<Vec<Piece>, Error> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut rest = format;
    while let Some(c) = rest.chars().next() {
        let after = &rest[c.len_utf8()..];
        match (c, after.chars().next()) {
            ('%', Some('{')) => {
                let Some(end) = after.find('}') else {
                    text.push_str(rest);
                    break;
                };
                let name = &after[1..end];
                let var = VARS
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| *v)
                    .ok_or_else(|| {
                        Error::Usage(format!("--write-out: unknown variable %{{{name}}}"))
                    })?;
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Var(var));
                rest = &after[end + 1..];
                continue;
            }
            ('%', Some('%')) => text.push('%'),
            ('\\', Some('n')) => text.push('\n'),
            ('\\', Some('r')) => text.push('\r'),
            ('\\', Some('t')) => text.push('\t'),
            ('\\', Some('\\')) => text.push('\\'),
            _ => {
                text.push(c);
                rest = after;
                continue;
            }
        }
        rest = &after[1..];
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

/// The format with `record`'s values filled in.
pub fn render(pieces: &[Piece], record: &Record) -> String {
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Var(v) => out.push_str(&value(*v, record)),
        }
    }
    out
}

fn value(var: Var, r: &Record) -> String {
    // curl prints times in seconds with six decimals.
    let secs = |d: Duration| format!("{:.6}", d.as_secs_f64());
    match var {
        Var::HttpCode => format!("{:03}", r.http_code),
        Var::SizeDownload => r.size_download.to_string(),
        Var::TimeNamelookup => secs(r.time_namelookup),
        Var::TimeConnect => secs(r.time_connect),
        Var::TimeAppconnect => secs(r.time_appconnect),
        Var::TimeStarttransfer => secs(r.time_starttransfer),
        Var::TimeTotal => secs(r.time_total),
        Var::UrlEffective => r.url_effective.clone(),
        Var::Url => r.url.clone(),
        Var::FilenameEffective => r.filename_effective.clone().unwrap_or_default(),
        Var::NumRedirects => r.num_redirects.to_string(),
        Var::RemoteIp => r.remote_ip.map(|ip| ip.to_string()).unwrap_or_default(),
        Var::Exitcode => r.exitcode.to_string(),
        Var::Errormsg => r.errormsg.clone(),
        Var::Json => r.to_json(),
        Var::Verdict => r.verdict.as_str().to_string(),
        Var::Sha256 => r.sha256.clone().unwrap_or_default(),
        Var::Retries => r.retries.to_string(),
        Var::ResumedFrom => r.resumed_from.to_string(),
        Var::ConnectionReused => r.connection_reused.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Piece::{Text, Var as V};

    fn t(s: &str) -> Piece {
        Text(s.to_string())
    }

    #[test]
    fn formats_parse_into_text_and_variables() {
        let table: Vec<(&str, Result<Vec<Piece>, i32>)> = vec![
            ("", Ok(vec![])),
            ("plain", Ok(vec![t("plain")])),
            ("%{http_code}\\n", Ok(vec![V(Var::HttpCode), t("\n")])),
            (
                "a %{url_effective} b",
                Ok(vec![t("a "), V(Var::UrlEffective), t(" b")]),
            ),
            ("%{json}", Ok(vec![V(Var::Json)])),
            ("100%%", Ok(vec![t("100%")])),
            ("100%", Ok(vec![t("100%")])),
            ("%x\\q\\", Ok(vec![t("%x\\q\\")])),
            ("\\t\\r\\\\", Ok(vec![t("\t\r\\")])),
            ("%{http_code", Ok(vec![t("%{http_code")])),
            ("é%{retries}ü", Ok(vec![t("é"), V(Var::Retries), t("ü")])),
            ("%{nope}", Err(2)),
            ("%{}", Err(2)),
            ("%{HTTP_CODE}", Err(2)),
        ];
        for (format, want) in table {
            let got = parse_format(format).map_err(|e| e.exit_code());
            assert_eq!(got, want, "{format:?}");
        }
    }

    /// Every prefix of a format parses without panicking (the fuzz target's property).
    #[test]
    fn every_prefix_parses_or_fails_cleanly() {
        let format = "x%{http_code}\\n%%é%{json}%{bad";
        for end in (0..=format.len()).filter(|&i| format.is_char_boundary(i)) {
            let _ = parse_format(&format[..end]);
        }
    }

    #[test]
    fn records_render_as_curl_prints_them() {
        let mut r = Record::new("http://a/x");
        r.http_code = 200;
        r.size_download = 13;
        r.time_total = Duration::from_millis(1500);
        r.remote_ip = Some("127.0.0.1".parse().expect("ip"));
        r.verdict = Verdict::Complete;
        let pieces =
            parse_format("%{http_code} %{size_download} %{time_total} %{remote_ip} %{verdict}")
                .expect("format");
        assert_eq!(render(&pieces, &r), "200 13 1.500000 127.0.0.1 complete");
        let json: serde_json::Value = serde_json::from_str(&r.to_json()).expect("json");
        assert_eq!(json["http_code"], 200);
        assert_eq!(json["verdict"], "complete");
        assert_eq!(json["sha256"], serde_json::Value::Null);
        assert_eq!(json["connection_reused"], false);
        r.fail(&Error::Truncated {
            received: 1,
            expected: Some(2),
        });
        assert_eq!(r.verdict, Verdict::Truncated);
        assert_eq!(r.exitcode, 18);
    }
}
