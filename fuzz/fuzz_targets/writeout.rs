//! Fuzz the `-w` format: `fetch::writeout::{parse_format, render}` and `Record::to_json`.
//!
//! Input: byte 0 picks how the rest splits (format text, then after 0xFF a URL and after a
//! second 0xFF an error message, all lossy UTF-8).
//! Checks: `parse_format` agrees with a naive char-by-char reference parser (same pieces, or
//! both refuse); pieces never hold empty or adjacent text; printing the pieces back as a format
//! (escaping `%` and `\`) parses to the same pieces; rendering a record fills every variable and
//! copies text as is; `%{json}` is valid JSON whose strings round-trip the URL, error message
//! and file name whatever bytes they hold.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rawhttp::fetch::writeout::{parse_format, render, Piece, Record, Var};

const NAMES: [(&str, Var); 21] = [
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

/// curl's `-w` syntax as the SPEC states it, over a char vector with indices.
fn reference(format: &str) -> Option<Vec<Piece>> {
    let c: Vec<char> = format.chars().collect();
    let (mut pieces, mut text, mut i) = (Vec::new(), String::new(), 0);
    while i < c.len() {
        let next = c.get(i + 1).copied();
        if c[i] == '%' && next == Some('{') {
            let Some(close) = (i + 2..c.len()).find(|&j| c[j] == '}') else {
                text.extend(&c[i..]);
                break;
            };
            let name: String = c[i + 2..close].iter().collect();
            let var = NAMES.iter().find(|(n, _)| *n == name)?.1;
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
            }
            pieces.push(Piece::Var(var));
            i = close + 1;
            continue;
        }
        let escaped = match (c[i], next) {
            ('%', Some('%')) => Some('%'),
            ('\\', Some('n')) => Some('\n'),
            ('\\', Some('r')) => Some('\r'),
            ('\\', Some('t')) => Some('\t'),
            ('\\', Some('\\')) => Some('\\'),
            _ => None,
        };
        match escaped {
            Some(e) => (text.push(e), i += 2),
            None => (text.push(c[i]), i += 1),
        };
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Some(pieces)
}

/// The pieces written back as a format that means them.
fn unparse(pieces: &[Piece]) -> String {
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Var(v) => {
                let name = NAMES.iter().find(|(_, n)| n == v).map_or("?", |(n, _)| *n);
                out.push_str(&format!("%{{{name}}}"));
            }
            Piece::Text(t) => t.chars().for_each(|c| match c {
                '%' => out.push_str("%%"),
                '\\' => out.push_str("\\\\"),
                c => out.push(c),
            }),
        }
    }
    out
}

fn check_json(record: &Record) {
    let json: serde_json::Value =
        serde_json::from_str(&record.to_json()).expect("%{json} is not JSON");
    assert_eq!(json["url"].as_str(), Some(record.url.as_str()));
    assert_eq!(json["errormsg"].as_str(), Some(record.errormsg.as_str()));
    assert_eq!(
        json["filename_effective"].as_str(),
        record.filename_effective.as_deref()
    );
}

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |&b| b == 0xff).map(String::from_utf8_lossy);
    let format = parts.next().unwrap_or_default();
    let url = parts.next().unwrap_or_default();
    let message = parts.next().unwrap_or_default();
    let parsed = parse_format(&format).ok();
    assert_eq!(parsed, reference(&format), "{format:?}");
    let Some(pieces) = parsed else {
        return;
    };
    for pair in pieces.windows(2) {
        let both_text = matches!(pair, [Piece::Text(_), Piece::Text(_)]);
        assert!(!both_text, "adjacent text pieces for {format:?}");
    }
    assert!(!pieces.contains(&Piece::Text(String::new())));
    assert_eq!(parse_format(&unparse(&pieces)).ok().as_ref(), Some(&pieces));
    let mut record = Record::new(&url);
    record.errormsg = message.to_string();
    record.filename_effective = Some(message.chars().rev().collect());
    check_json(&record);
    let rendered = render(&pieces, &record);
    if pieces.iter().all(|p| matches!(p, Piece::Text(_))) {
        let text: String = pieces
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.as_str(),
                Piece::Var(_) => "",
            })
            .collect();
        assert_eq!(rendered, text);
    }
});
