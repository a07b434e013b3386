//! Directory listings as HTML (names escaped, hrefs percent-encoded) or JSON, and the Accept
//! negotiation between them. Pure: `respond` reads the directory and passes the entries in.

use std::time::{SystemTime, UNIX_EPOCH};

use super::files::encode_segment;

/// One directory entry as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The file name.
    pub name: String,
    /// A directory (listed with a trailing slash).
    pub is_dir: bool,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, when the filesystem gives one.
    pub modified: Option<SystemTime>,
}

/// Drop dotfiles unless `hidden`, then sort: directories first, then by name.
pub fn prepare(mut entries: Vec<Entry>, hidden: bool) -> Vec<Entry> {
    entries.retain(|e| hidden || !e.name.starts_with('.'));
    entries.sort_by(|a, b| b.is_dir.cmp(&a.is_dir).then_with(|| a.name.cmp(&b.name)));
    entries
}

/// Whether `Accept` prefers `application/json` over `text/html` by q-value (RFC 9110 §12.5.1:
/// the most specific matching media range gives a type its q). Ties and no Accept: HTML.
pub fn prefers_json(accept: Option<&[u8]>) -> bool {
    let Some(accept) = accept.and_then(|a| std::str::from_utf8(a).ok()) else {
        return false;
    };
    quality(accept, "application", "json") > quality(accept, "text", "html")
}

/// The q-value (in thousandths) `accept` gives `kind/sub`; 0 when no range matches.
fn quality(accept: &str, kind: &str, sub: &str) -> u16 {
    let mut best: Option<(u8, u16)> = None; // (specificity, q)
    for range in accept.split(',') {
        let mut params = range.split(';');
        let media = params.next().unwrap_or("").trim();
        let Some((t, s)) = media.split_once('/') else {
            continue;
        };
        let specificity = match (t, s) {
            _ if t.eq_ignore_ascii_case(kind) && s.eq_ignore_ascii_case(sub) => 2,
            _ if t.eq_ignore_ascii_case(kind) && s == "*" => 1,
            ("*", "*") => 0,
            _ => continue,
        };
        let q = params
            .filter_map(|p| p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")))
            .find_map(parse_q)
            .unwrap_or(1000);
        match best {
            Some((spec, _)) if spec >= specificity => {}
            _ => best = Some((specificity, q)),
        }
    }
    best.map_or(0, |(_, q)| q)
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )` in thousandths.
fn parse_q(q: &str) -> Option<u16> {
    let (int, frac) = q.split_once('.').unwrap_or((q, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac_value = format!("{frac:0<3}").parse::<u16>().ok()?;
    match int {
        "0" => Some(frac_value),
        "1" if frac_value == 0 => Some(1000),
        _ => None,
    }
}

/// An HTML page listing `entries` of the directory at `url_path` (already percent-encoded,
/// with a trailing slash); `display_path` is the decoded path shown to people.
pub fn render_html(display_path: &str, entries: &[Entry]) -> Vec<u8> {
    let title = escape_html(display_path);
    let mut out = String::with_capacity(256 + entries.len() * 96);
    out.push_str("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of ");
    out.push_str(&title);
    out.push_str("</title></head>\n<body><h1>Index of ");
    out.push_str(&title);
    out.push_str("</h1>\n<ul>\n");
    if display_path != "/" {
        out.push_str("<li><a href=\"../\">../</a></li>\n");
    }
    for e in entries {
        let slash = if e.is_dir { "/" } else { "" };
        out.push_str("<li><a href=\"./");
        encode_segment(&e.name, &mut out);
        out.push_str(slash);
        out.push_str("\">");
        out.push_str(&escape_html(&e.name));
        out.push_str(slash);
        out.push_str("</a>");
        push_details(e, &mut out);
        out.push_str("</li>\n");
    }
    out.push_str("</ul>\n</body></html>\n");
    out.into_bytes()
}

/// ` — SIZE bytes, DATE` after a file's link (directories: the date only), as autoindex does.
fn push_details(e: &Entry, out: &mut String) {
    use std::fmt::Write;
    if !e.is_dir {
        let _ = write!(out, " — {} bytes", e.size);
    }
    if let Some(t) = e.modified {
        let sep = if e.is_dir { " — " } else { ", " };
        let _ = write!(out, "{sep}{}", httpdate::fmt_http_date(t));
    }
}

/// A JSON array of `{"name", "type": "file"|"dir", "size", "modified"}` objects (modified in
/// Unix seconds, null when unknown).
pub fn render_json(entries: &[Entry]) -> Vec<u8> {
    let list: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| {
            let modified = e
                .modified
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map(|d| d.as_secs());
            serde_json::json!({
                "name": e.name,
                "type": if e.is_dir { "dir" } else { "file" },
                "size": e.size,
                "modified": modified,
            })
        })
        .collect();
    let mut out = serde_json::Value::Array(list).to_string().into_bytes();
    out.push(b'\n');
    out
}

/// Escape text for HTML element content and double-quoted attributes.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, is_dir: bool) -> Entry {
        Entry {
            name: name.to_string(),
            is_dir,
            size: 3,
            modified: Some(UNIX_EPOCH + std::time::Duration::from_secs(7)),
        }
    }

    #[test]
    fn negotiates_json_only_when_preferred() {
        let table: &[(Option<&str>, bool)] = &[
            (None, false),
            (Some("application/json"), true),
            (Some("text/html"), false),
            (Some("*/*"), false),
            (Some("text/html, application/json"), false),
            (Some("text/html;q=0.9, application/json"), true),
            (Some("application/json;q=0.5, text/html;q=0.4"), true),
            (Some("application/json;q=0.5, text/*;q=0.6"), false),
            (Some("application/*, text/html;q=0.1"), true),
            (Some("application/json;q=0, */*"), false),
            (Some("application/json; q=1.000, text/html; q=0.999"), true),
            (Some("application/json;q=2, text/html;q=0.5"), true),
            (Some("APPLICATION/JSON"), true),
            (Some("garbage"), false),
        ];
        for (accept, want) in table {
            assert_eq!(prefers_json(accept.map(str::as_bytes)), *want, "{accept:?}");
        }
    }

    #[test]
    fn html_escapes_names_and_encodes_hrefs() {
        let entries = [entry("<b>&\"x\".txt", false), entry("a b#?", true)];
        let html = String::from_utf8(render_html("/d<i>/", &entries)).unwrap();
        assert!(html.contains("Index of /d&lt;i&gt;/"), "{html}");
        assert!(html
            .contains("<a href=\"./%3Cb%3E%26%22x%22.txt\">&lt;b&gt;&amp;&quot;x&quot;.txt</a>"));
        assert!(html.contains("<a href=\"./a%20b%23%3F/\">a b#?/</a>"));
        assert!(html.contains("href=\"../\""));
        assert!(
            html.contains("</a> — 3 bytes, Thu, 01 Jan 1970 00:00:07 GMT</li>"),
            "{html}"
        );
        assert!(
            html.contains("a b#?/</a> — Thu, 01 Jan 1970 00:00:07 GMT</li>"),
            "{html}"
        );
        assert!(!render_html("/", &[]).windows(6).any(|w| w == b"../\">."));
    }

    #[test]
    fn json_lists_names_types_sizes() {
        let json = render_json(&[entry("d", true), entry("\"q\"", false)]);
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v[0]["name"], "d");
        assert_eq!(v[0]["type"], "dir");
        assert_eq!(v[1]["name"], "\"q\"");
        assert_eq!(v[1]["type"], "file");
        assert_eq!(v[1]["size"], 3);
        assert_eq!(v[1]["modified"], 7);
    }

    #[test]
    fn prepare_hides_dotfiles_and_sorts_directories_first() {
        let all = vec![
            entry("b", false),
            entry(".env", false),
            entry("z", true),
            entry("a", false),
        ];
        let names = |v: Vec<Entry>| v.into_iter().map(|e| e.name).collect::<Vec<_>>();
        assert_eq!(names(prepare(all.clone(), false)), ["z", "a", "b"]);
        assert_eq!(names(prepare(all, true)), ["z", ".env", "a", "b"]);
    }
}
