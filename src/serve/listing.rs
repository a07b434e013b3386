//! Directory listings as HTML (a sortable table: names escaped, hrefs percent-encoded) or JSON,
//! the Accept/query negotiation between them, and the natural sort order. Pure: `respond` and
//! `dirstream` read the directory and pass the entries in; rendering can go row by row, so a
//! huge listing is produced as the socket drains.

use std::cmp::Ordering;
use std::fmt::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use super::files::encode_segment;
use super::log::civil;
use super::page;

/// What a directory entry is, as the listing reports it (`type` in JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link that resolves inside the root (size and date are its target's).
    Symlink,
}

/// One directory entry as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The name, as the directory holds it (UTF-8; other names are not listed).
    pub name: String,
    /// What the entry itself is.
    pub kind: Kind,
    /// Whether it (or a symlink's target) is a directory: linked with a trailing slash.
    pub is_dir: bool,
    /// Bytes (0 for directories).
    pub size: u64,
    /// Modification time, when known.
    pub modified: Option<SystemTime>,
}

/// The column a listing is sorted by (`?sort=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SortKey {
    /// Natural, case-insensitive name order (`file2` before `file10`).
    #[default]
    Name,
    /// Size in bytes.
    Size,
    /// Modification time.
    Modified,
}

/// How a listing is ordered: a key and a direction; directories always come first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Order {
    /// The column.
    pub key: SortKey,
    /// `order=desc`.
    pub desc: bool,
}

/// `sort=name|size|modified` and `order=asc|desc` from a query string; anything else (unknown
/// values, other parameters) leaves the default, name ascending, as nginx's fancyindex does.
pub fn parse_order(query: Option<&str>) -> Order {
    let mut order = Order::default();
    for (name, value) in query_pairs(query) {
        match (name, value) {
            ("sort", "name") => order.key = SortKey::Name,
            ("sort", "size") => order.key = SortKey::Size,
            ("sort", "modified") => order.key = SortKey::Modified,
            ("order", "asc") => order.desc = false,
            ("order", "desc") => order.desc = true,
            _ => {}
        }
    }
    order
}

/// `format=json` in the query: the JSON listing by URL, so a page can link to it.
pub fn wants_json_query(query: Option<&str>) -> bool {
    query_pairs(query).any(|pair| pair == ("format", "json"))
}

fn query_pairs(query: Option<&str>) -> impl Iterator<Item = (&str, &str)> {
    query
        .unwrap_or("")
        .split('&')
        .map(|p| p.split_once('=').unwrap_or((p, "")))
}

/// Drop dotfiles unless `hidden`, then sort by name: directories first.
pub fn prepare(entries: Vec<Entry>, hidden: bool) -> Vec<Entry> {
    prepare_by(entries, hidden, Order::default())
}

/// Drop dotfiles unless `hidden`, then sort by `order`: directories first.
pub fn prepare_by(mut entries: Vec<Entry>, hidden: bool, order: Order) -> Vec<Entry> {
    entries.retain(|e| hidden || !e.name.starts_with('.'));
    sort_entries(&mut entries, order);
    entries
}

/// Sort in place: directories first, then by `order`'s key (ties by name), reversed for desc.
/// Each name's natural key is built once, so a comparison is a byte comparison (issue 13: a
/// 10,000-entry sort is one step of the event loop and must stay short).
pub fn sort_entries(entries: &mut Vec<Entry>, order: Order) {
    let mut keyed: Vec<(Vec<u8>, Entry)> = entries
        .drain(..)
        .map(|e| (natural_key(&e.name), e))
        .collect();
    keyed.sort_by(|(ka, a), (kb, b)| {
        let by_key = match order.key {
            SortKey::Name => Ordering::Equal,
            SortKey::Size => a.size.cmp(&b.size),
            SortKey::Modified => a.modified.cmp(&b.modified),
        };
        let by_key = by_key
            .then_with(|| ka.cmp(kb))
            .then_with(|| a.name.cmp(&b.name));
        let by_key = if order.desc { by_key.reverse() } else { by_key };
        b.is_dir.cmp(&a.is_dir).then(by_key)
    });
    entries.extend(keyed.into_iter().map(|(_, e)| e));
}

/// Natural, case-insensitive order: digit runs compare as numbers (`9` < `10`), letters
/// without case (`a` < `B` < `c`); names equal that way fall back to byte order, so the order
/// is total and the same on every request.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    natural_key(a).cmp(&natural_key(b)).then_with(|| a.cmp(b))
}

/// Bytes whose order is the natural order: letters lower-cased (UTF-8 keeps code point
/// order), each ASCII digit run as `0`, its length without leading zeros (4 bytes, big
/// endian), then those digits. The run starts with `0` so it sorts among other characters
/// exactly where its first digit would; two runs meet only each other at the same position.
pub fn natural_key(name: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(name.len() + 8);
    let mut rest = name;
    while let Some(c) = rest.chars().next() {
        if c.is_ascii_digit() {
            let (digits, after) = split_digits(rest);
            let value = digits.trim_start_matches('0');
            let len = u32::try_from(value.len()).unwrap_or(u32::MAX);
            key.push(b'0');
            key.extend_from_slice(&len.to_be_bytes());
            key.extend_from_slice(value.as_bytes());
            rest = after;
            continue;
        }
        if c.is_ascii() {
            key.push(c.to_ascii_lowercase() as u8);
        } else {
            let mut buf = [0u8; 4];
            for lower in c.to_lowercase() {
                key.extend_from_slice(lower.encode_utf8(&mut buf).as_bytes());
            }
        }
        rest = &rest[c.len_utf8()..];
    }
    key
}

/// The leading ASCII digit run and the rest (digits are one byte, so the split is on a char
/// boundary).
fn split_digits(s: &str) -> (&str, &str) {
    let end = s
        .bytes()
        .position(|c| !c.is_ascii_digit())
        .unwrap_or(s.len());
    s.split_at(end)
}

/// Whether `Accept` prefers `application/json` over `text/html` by q-value (RFC 9110 §12.5.1:
/// the most specific matching media range gives a type its q). Ties and no Accept: HTML.
pub fn prefers_json(accept: Option<&[u8]>) -> bool {
    let Some(accept) = accept.and_then(|a| std::str::from_utf8(a).ok()) else {
        return false;
    };
    quality(accept, "application", "json") > quality(accept, "text", "html")
}

/// Whether `Accept` names `text/html` itself with a q above 0: a browser. `*/*` (curl, scripts)
/// is not enough, so tools keep getting plain-text errors.
pub fn accepts_html(accept: Option<&[u8]>) -> bool {
    let Some(accept) = accept.and_then(|a| std::str::from_utf8(a).ok()) else {
        return false;
    };
    matches!(best_range(accept, "text", "html"), Some((2, q)) if q > 0)
}

/// The q-value (in thousandths) `accept` gives `kind/sub`; 0 when no range matches.
fn quality(accept: &str, kind: &str, sub: &str) -> u16 {
    best_range(accept, kind, sub).map_or(0, |(_, q)| q)
}

/// The most specific range matching `kind/sub` (2 exact, 1 `kind/*`, 0 `*/*`) and its q.
fn best_range(accept: &str, kind: &str, sub: &str) -> Option<(u8, u16)> {
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
    best
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
            kind: if is_dir { Kind::Dir } else { Kind::File },
            is_dir,
            size: 3,
            modified: Some(UNIX_EPOCH + std::time::Duration::from_secs(7)),
        }
    }

    fn names(v: &[Entry]) -> Vec<&str> {
        v.iter().map(|e| e.name.as_str()).collect()
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
    fn html_errors_only_for_clients_that_name_html() {
        let chromium = "text/html,application/xhtml+xml,application/xml;q=0.9,\
                        image/avif,image/webp,*/*;q=0.8";
        let table: &[(Option<&str>, bool)] = &[
            (None, false),
            (Some("*/*"), false),
            (Some("text/*"), false),
            (Some("text/plain"), false),
            (Some("text/html"), true),
            (Some("TEXT/HTML;q=0.5"), true),
            (Some("text/html;q=0"), false),
            (Some(chromium), true),
        ];
        for (accept, want) in table {
            assert_eq!(accepts_html(accept.map(str::as_bytes)), *want, "{accept:?}");
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

    #[test]
    fn prepare_hides_dotfiles_and_sorts_directories_first() {
        let all = vec![
            entry("b", false),
            entry(".env", false),
            entry("z", true),
            entry("a", false),
        ];
        assert_eq!(names(&prepare(all.clone(), false)), ["z", "a", "b"]);
        assert_eq!(names(&prepare(all, true)), ["z", ".env", "a", "b"]);
    }

    #[test]
    fn names_sort_naturally_and_without_case() {
        let table: &[(&str, &str, Ordering)] = &[
            ("a", "B", Ordering::Less),
            ("B", "a", Ordering::Greater),
            ("Zeta", "a", Ordering::Greater),
            ("9", "10", Ordering::Less),
            ("file2.txt", "file10.txt", Ordering::Less),
            ("x007", "x7", Ordering::Less), // equal numbers: byte order decides
            ("a", "a1", Ordering::Less),
            ("", "a", Ordering::Less),
            ("a", "a", Ordering::Equal),
            ("A", "a", Ordering::Less), // equal without case: byte order decides
            ("é", "f", Ordering::Greater),
            (
                "99999999999999999999999",
                "100000000000000000000000",
                Ordering::Less,
            ),
        ];
        for (a, b, want) in table {
            assert_eq!(natural_cmp(a, b), *want, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn sorts_by_each_key_both_ways_with_directories_first() {
        let mk = |name: &str, dir: bool, size: u64, secs: u64| Entry {
            size,
            modified: Some(UNIX_EPOCH + std::time::Duration::from_secs(secs)),
            ..entry(name, dir)
        };
        let all = vec![
            mk("b10", false, 5, 3),
            mk("B9", false, 50, 1),
            mk("a", false, 7, 2),
            mk("sub", true, 0, 9),
            mk("Docs", true, 0, 8),
        ];
        let by = |key, desc| {
            let mut v = all.clone();
            sort_entries(&mut v, Order { key, desc });
            names(&v).join(" ")
        };
        assert_eq!(by(SortKey::Name, false), "Docs sub a B9 b10");
        assert_eq!(by(SortKey::Name, true), "sub Docs b10 B9 a");
        assert_eq!(by(SortKey::Size, false), "Docs sub b10 a B9");
        assert_eq!(by(SortKey::Size, true), "sub Docs B9 a b10");
        assert_eq!(by(SortKey::Modified, false), "Docs sub B9 a b10");
        assert_eq!(by(SortKey::Modified, true), "sub Docs b10 a B9");
    }

    #[test]
    fn order_and_format_come_from_the_query() {
        let table: &[(Option<&str>, SortKey, bool)] = &[
            (None, SortKey::Name, false),
            (Some("sort=size"), SortKey::Size, false),
            (Some("sort=modified&order=desc"), SortKey::Modified, true),
            (Some("order=desc&sort=name"), SortKey::Name, true),
            (Some("sort=bogus&order=up"), SortKey::Name, false),
            (Some("x=1&&sort=size&order=asc"), SortKey::Size, false),
        ];
        for (query, key, desc) in table {
            assert_eq!(
                parse_order(*query),
                Order {
                    key: *key,
                    desc: *desc
                },
                "{query:?}"
            );
        }
        assert!(wants_json_query(Some("sort=size&format=json")));
        assert!(!wants_json_query(Some("format=jsonp")));
        assert!(!wants_json_query(None));
    }
}
