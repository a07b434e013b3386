//! Directory listings as HTML (a sortable table: names escaped, hrefs percent-encoded) or JSON.
//! Pure: `respond` and `dirstream` read and sort the entries (`entries`) and pass them in;
//! rendering can go row by row, so a huge listing is produced as the socket drains.

use std::fmt::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use super::accept::prefers_json;
use super::entries::{parse_order, wants_json_query, Entry, Kind, Order, SortKey};
use super::files::{encode_segment, SafePath};
use super::log::civil;
use super::page::{self, escape_html};

/// Which listing a request gets, and in what order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// The HTML page for `display_path` (decoded, `/a/b/`) in `order`.
    Html {
        /// The directory's path as shown (decoded, `/a/b/`).
        display_path: String,
        /// How entries are sorted.
        order: Order,
    },
    /// The JSON array.
    Json {
        /// How entries are sorted.
        order: Order,
    },
}

impl Format {
    /// JSON when Accept prefers it or the query says `format=json` (the page's own link),
    /// else the page; in the order the query asks.
    pub fn of(accept: Option<&[u8]>, path: &SafePath) -> Format {
        let order = parse_order(path.query);
        if prefers_json(accept) || wants_json_query(path.query) {
            return Format::Json { order };
        }
        // The decoded path people see: `/` or `/a/b/`.
        let display_path = match path.rel.is_empty() {
            true => "/".to_string(),
            false => format!("/{}/", path.rel),
        };
        Format::Html {
            display_path,
            order,
        }
    }

    /// The entries' order.
    pub fn order(&self) -> Order {
        match self {
            Format::Html { order, .. } | Format::Json { order } => *order,
        }
    }

    /// Whether this is the JSON array.
    pub fn is_json(&self) -> bool {
        matches!(self, Format::Json { .. })
    }

    /// The Content-Type of this listing.
    pub fn content_type(&self) -> &'static str {
        match self {
            Format::Json { .. } => "application/json",
            Format::Html { .. } => page::HTML,
        }
    }

    /// The whole listing of `entries` (already filtered and sorted) at once.
    pub fn render(&self, entries: &[Entry]) -> Vec<u8> {
        match self {
            Format::Json { .. } => render_json(entries),
            Format::Html {
                display_path,
                order,
            } => {
                let page = Page {
                    display_path,
                    order: *order,
                    capped: None,
                };
                render_page(&page, entries)
            }
        }
    }
}

/// What a listing page says around its rows.
#[derive(Debug, Clone, Copy)]
pub struct Page<'a> {
    /// The decoded directory path shown to people: `/` or `/a/b/`.
    pub display_path: &'a str,
    /// The order the rows come in (marks the sorted column and flips its link).
    pub order: Order,
    /// The directory holds more entries than the page shows: the page lists this many.
    pub capped: Option<usize>,
}

/// An HTML page listing `entries` of the directory `display_path` (decoded, with a trailing
/// slash), in the order given.
#[cfg(test)]
pub fn render_html(display_path: &str, entries: &[Entry]) -> Vec<u8> {
    let page = Page {
        display_path,
        order: Order::default(),
        capped: None,
    };
    render_page(&page, entries)
}

/// The whole page at once (small directories).
pub fn render_page(page: &Page, entries: &[Entry]) -> Vec<u8> {
    let mut out = String::with_capacity(2048 + entries.len() * 200);
    push_page_start(page, &mut out);
    let mut counts = Counts::default();
    for e in entries {
        push_row(e, &mut out);
        counts.add(e);
    }
    push_page_end(counts, &mut out);
    out.into_bytes()
}

/// Directories and files listed so far, for the footer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Directories (and links to them).
    pub dirs: u64,
    /// Everything else.
    pub files: u64,
}

impl Counts {
    /// Count one listed entry.
    pub fn add(&mut self, e: &Entry) {
        match e.is_dir {
            true => self.dirs += 1,
            false => self.files += 1,
        }
    }
}

/// Head, breadcrumb, the cap note, the table head with its sort links, the parent row.
pub fn push_page_start(page: &Page, out: &mut String) {
    let title = format!("Index of {}", page.display_path);
    page::push_head(&title, out);
    out.push_str("<body><header><h1>Index of ");
    push_breadcrumb(page.display_path, out);
    out.push_str("</h1></header>\n<main>\n");
    if let Some(shown) = page.capped {
        let _ = writeln!(
            out,
            "<p class=\"note\">This directory is large: the first {shown} entries read are \
             shown, sorted. The complete list streams as \
             <a href=\"?format=json\">JSON</a>.</p>"
        );
    }
    out.push_str("<table>\n<thead><tr>");
    push_sort_header(page.order, SortKey::Name, "Name", "", out);
    push_sort_header(page.order, SortKey::Size, "Size", " class=\"n\"", out);
    push_sort_header(
        page.order,
        SortKey::Modified,
        "Modified",
        " class=\"t\"",
        out,
    );
    out.push_str("</tr></thead>\n<tbody>\n");
    if page.display_path != "/" {
        out.push_str(
            "<tr><td><a href=\"../\">../</a></td><td class=\"n\"></td><td class=\"t\"></td></tr>\n",
        );
    }
}

/// `/ a / b /` with each part a relative link to that level (relative, so the page also works
/// behind a proxy that mounts the server under a prefix).
fn push_breadcrumb(display_path: &str, out: &mut String) {
    let segments: Vec<&str> = display_path.split('/').filter(|s| !s.is_empty()).collect();
    let up = |n: usize, out: &mut String| match n {
        0 => out.push_str("./"),
        n => (0..n).for_each(|_| out.push_str("../")),
    };
    out.push_str("<a href=\"");
    up(segments.len(), out);
    out.push_str("\">/</a>");
    for (i, segment) in segments.iter().enumerate() {
        out.push_str("<a href=\"");
        up(segments.len() - i - 1, out);
        out.push_str("\">");
        out.push_str(&escape_html(segment));
        out.push_str("</a>/");
    }
}

/// A column head linking to this column's sort: ascending first, flipped when already sorted
/// by it (no JavaScript: the link is the control).
fn push_sort_header(order: Order, key: SortKey, label: &str, class: &str, out: &mut String) {
    let current = order.key == key;
    let next = if current && !order.desc {
        "desc"
    } else {
        "asc"
    };
    let param = match key {
        SortKey::Name => "name",
        SortKey::Size => "size",
        SortKey::Modified => "modified",
    };
    let (aria, arrow) = match (current, order.desc) {
        (false, _) => ("", ""),
        (true, false) => (" aria-sort=\"ascending\"", " ↑"),
        (true, true) => (" aria-sort=\"descending\"", " ↓"),
    };
    let _ = write!(
        out,
        "<th{class}{aria}><a href=\"?sort={param}&amp;order={next}\">{label}{arrow}</a></th>"
    );
}

/// One table row: link (dirs with a slash), human size with exact bytes in `title`, date.
pub fn push_row(e: &Entry, out: &mut String) {
    let slash = if e.is_dir { "/" } else { "" };
    out.push_str("<tr><td><a href=\"./");
    encode_segment(&e.name, out);
    out.push_str(slash);
    out.push_str("\">");
    out.push_str(&escape_html(&e.name));
    out.push_str(slash);
    out.push_str("</a></td>");
    match e.is_dir {
        true => out.push_str("<td class=\"n\">—</td>"),
        false => {
            let _ = write!(
                out,
                "<td class=\"n\" title=\"{} bytes\">{}</td>",
                e.size,
                human_size(e.size)
            );
        }
    }
    out.push_str("<td class=\"t\">");
    if let Some(t) = e.modified.and_then(unix_seconds) {
        let c = civil(t);
        let _ = write!(
            out,
            "<time datetime=\"{}\">{:04}-{:02}-{:02} {:02}:{:02}</time>",
            rfc3339_secs(t),
            c.year,
            c.month,
            c.day,
            c.hour,
            c.min
        );
    }
    out.push_str("</td></tr>\n");
}

/// Close the table; the footer counts what was listed.
pub fn push_page_end(counts: Counts, out: &mut String) {
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let _ = write!(
        out,
        "</tbody></table>\n</main>\n<footer>{}, {} · rawhttp</footer>\n</body></html>\n",
        plural(counts.dirs, "directory", "directories"),
        plural(counts.files, "file", "files")
    );
}

/// `200 MiB`, `1.5 KiB`, `27 B`: binary units as people read them; one decimal below ten.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    let text = match value < 9.95 {
        true => format!("{value:.1}"),
        false => format!("{value:.0}"),
    };
    let text = text.strip_suffix(".0").unwrap_or(&text);
    format!("{text} {}", UNITS[unit])
}

fn unix_seconds(t: SystemTime) -> Option<u64> {
    t.duration_since(UNIX_EPOCH).ok().map(|d| d.as_secs())
}

/// RFC 3339 `date-time` in UTC, to the second: `2026-12-06T09:23:37Z`.
pub fn rfc3339(t: SystemTime) -> Option<String> {
    unix_seconds(t).map(rfc3339_secs)
}

fn rfc3339_secs(secs: u64) -> String {
    let c = civil(secs);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        c.year, c.month, c.day, c.hour, c.min, c.sec
    )
}

/// A JSON array of `{"name", "type": "file"|"dir"|"symlink", "size", "modified"}` objects
/// (modified as RFC 3339, null when unknown).
pub fn render_json(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + entries.len() * 96);
    out.push(b'[');
    for (i, e) in entries.iter().enumerate() {
        push_json_entry(e, i == 0, &mut out);
    }
    out.extend_from_slice(b"]\n");
    out
}

/// One JSON array element, with its leading comma unless `first`.
pub fn push_json_entry(e: &Entry, first: bool, out: &mut Vec<u8>) {
    if !first {
        out.push(b',');
    }
    let kind = match e.kind {
        Kind::File => "file",
        Kind::Dir => "dir",
        Kind::Symlink => "symlink",
    };
    let value = serde_json::json!({
        "name": e.name,
        "type": kind,
        "size": e.size,
        "modified": e.modified.and_then(rfc3339),
    });
    // Writing a Value into a Vec cannot fail (no I/O, string keys only).
    let _ = serde_json::to_writer(&mut *out, &value);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, is_dir: bool) -> Entry {
        Entry {
            name: name.to_string(),
            kind: if is_dir { Kind::Dir } else { Kind::File },
            is_dir,
            size: 3,
            modified: Some(UNIX_EPOCH + std::time::Duration::from_secs(7)),
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
        let file_row = "&quot;x&quot;.txt</a></td><td class=\"n\" title=\"3 bytes\">3 B</td>\
                        <td class=\"t\"><time datetime=\"1970-01-01T00:00:07Z\">\
                        1970-01-01 00:00</time></td></tr>";
        assert!(html.contains(file_row), "{html}");
        let dir_row = "a b#?/</a></td><td class=\"n\">—</td><td class=\"t\"><time";
        assert!(html.contains(dir_row), "{html}");
        assert!(!render_html("/", &[]).windows(6).any(|w| w == b"../\">."));
    }

    #[test]
    fn every_byte_the_target_grammar_forbids_is_encoded_in_hrefs() {
        // RFC 3986 §3.3: a segment is pchar only; tab, space, controls, `%`, `#`, `?`, DEL
        // and non-ASCII must travel percent-encoded or the link answers 400.
        let html = render_html("/", &[entry("a\tb %#?\u{7f}é", false)]);
        let html = String::from_utf8(html).unwrap();
        assert!(
            html.contains("href=\"./a%09b%20%25%23%3F%7F%C3%A9\""),
            "{html}"
        );
    }

    #[test]
    fn page_has_table_sort_links_breadcrumb_and_style() {
        let page = Page {
            display_path: "/a b/c/",
            order: Order {
                key: SortKey::Size,
                desc: false,
            },
            capped: Some(10),
        };
        let html = String::from_utf8(render_page(&page, &[entry("f", false)])).unwrap();
        let crumbs = "<h1>Index of <a href=\"../../\">/</a><a href=\"../\">a b</a>/\
                      <a href=\"./\">c</a>/</h1>";
        assert!(html.contains(crumbs), "{html}");
        assert!(html.contains("<a href=\"?sort=name&amp;order=asc\">Name</a>"));
        assert!(html.contains(
            "<th class=\"n\" aria-sort=\"ascending\"><a href=\"?sort=size&amp;order=desc\">Size ↑</a>"
        ));
        assert!(html.contains("<a href=\"?sort=modified&amp;order=asc\">Modified</a>"));
        assert!(html.contains("first 10 entries"), "{html}");
        assert!(html.contains("<a href=\"?format=json\">JSON</a>"));
        assert!(html.contains(&format!("<style>{}</style>", page::STYLE)));
        assert!(html.contains("0 directories, 1 file · rawhttp"), "{html}");
        assert_eq!(html.matches("<style>").count(), 1);
        assert!(!html.contains("<script") && !html.contains("src="));
        let root = String::from_utf8(render_html("/", &[])).unwrap();
        assert!(
            root.contains("<h1>Index of <a href=\"./\">/</a></h1>"),
            "{root}"
        );
    }

    #[test]
    fn json_lists_names_types_sizes_and_rfc3339_dates() {
        let mut link = entry("l", false);
        link.kind = Kind::Symlink;
        link.modified = None;
        let json = render_json(&[entry("d", true), entry("\"q\"", false), link]);
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v[0]["name"], "d");
        assert_eq!(v[0]["type"], "dir");
        assert_eq!(v[1]["name"], "\"q\"");
        assert_eq!(v[1]["type"], "file");
        assert_eq!(v[1]["size"], 3);
        // Issue 10: RFC 3339, no longer Unix seconds.
        assert_eq!(v[1]["modified"], "1970-01-01T00:00:07Z");
        assert_eq!(v[2]["type"], "symlink");
        assert_eq!(v[2]["modified"], serde_json::Value::Null);
        assert_eq!(render_json(&[]), b"[]\n");
    }

    #[test]
    fn rfc3339_and_human_sizes() {
        let at = |s: u64| rfc3339(UNIX_EPOCH + std::time::Duration::from_secs(s));
        assert_eq!(at(951_827_696).as_deref(), Some("2000-02-29T12:34:56Z"));
        assert_eq!(at(0).as_deref(), Some("1970-01-01T00:00:00Z"));
        let before = UNIX_EPOCH - std::time::Duration::from_secs(1);
        assert_eq!(rfc3339(before), None);
        let table: &[(u64, &str)] = &[
            (0, "0 B"),
            (1023, "1023 B"),
            (1024, "1 KiB"),
            (1536, "1.5 KiB"),
            (10 * 1024, "10 KiB"),
            (209_715_200, "200 MiB"),
            (5 * (1 << 30), "5 GiB"),
            (u64::MAX, "16 EiB"),
        ];
        for (bytes, want) in table {
            assert_eq!(human_size(*bytes), *want, "{bytes}");
        }
    }
}
