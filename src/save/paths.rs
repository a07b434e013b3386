//! URL -> local path inside the save folder, and local path -> relative link, as pure functions
//! (no filesystem calls). The mapping is wget's layout (`-p -k -E`, `--restrict-file-names=unix`)
//! made safe by construction: every path it returns is relative, never empty, has no `.` or `..`
//! component and no control byte, so joining it to DIR can never leave DIR.

use std::path::PathBuf;

use url::Url;

use super::state::DocKind;
use crate::fetch::save::percent_decode;

/// A site path that would land in save's own state folder is renamed.
pub use super::state::STATE_DIR;
/// Folder (inside DIR) holding files from origins other than the start URL's (`--span-hosts`).
pub(crate) const OTHER_HOSTS: &str = "_hosts";
/// Longest file name component (NAME_MAX 255, minus room for `.part` and `.html`).
const MAX_COMPONENT: usize = 240;

/// The local path (relative to DIR) for `url`. `start` is the start URL: its origin's files
/// sit at the top of DIR; other origins go under `_hosts/HOST_PORT/`. The query becomes part
/// of the name after `@`. As wget `-E`, HTML gets `index.html` / `.html` and CSS `.css` when
/// the name lacks it: a browser reading from disk knows a file's type only by its extension,
/// and ignores a style sheet named `style.css@v=2`.
pub fn local_path(url: &Url, start: &Url, kind: DocKind) -> PathBuf {
    let mut parts: Vec<String> = Vec::new();
    if url.origin() != start.origin() {
        parts.push(OTHER_HOSTS.to_string());
        let host = url.host_str().unwrap_or("host");
        let port = url.port_or_known_default().unwrap_or(0);
        parts.push(clean_component(&format!("{host}_{port}")));
    }
    let segments: Vec<&str> = url.path_segments().map(|s| s.collect()).unwrap_or_default();
    let (last, dirs) = segments.split_last().unwrap_or((&"", &[]));
    for seg in dirs.iter().filter(|s| !s.is_empty()) {
        parts.push(decoded_component(seg));
    }
    let mut name = if last.is_empty() {
        String::new()
    } else {
        decoded_component(last)
    };
    if let Some(query) = url.query() {
        if name.is_empty() {
            name.push_str("index.html");
        }
        name.push('@');
        name.push_str(&clean_query(query));
    }
    if name.is_empty() {
        name.push_str("index.html");
    } else if kind == DocKind::Html && !has_extension(&name, &[".html", ".htm"]) {
        name.push_str(".html");
    } else if kind == DocKind::Css && !has_extension(&name, &[".css"]) {
        name.push_str(".css");
    }
    parts.push(cap_length(name));
    if parts.first().is_some_and(|p| p == STATE_DIR) {
        parts[0] = format!("_{STATE_DIR}");
    }
    parts.iter().collect()
}

/// One path segment percent-decoded (once) and cleaned; undecodable bytes keep their escape.
fn decoded_component(segment: &str) -> String {
    let bytes = percent_decode(segment.as_bytes());
    let text = match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(_) => segment.to_string(),
    };
    clean_component(&text)
}

/// A file-name component: no `/`, `\` or control bytes (replaced by `_`), never `.`/`..`/empty
/// (a leading `_` is added), at most `MAX_COMPONENT` bytes.
fn clean_component(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| match c {
            '/' | '\\' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    if out.is_empty() || out == "." || out == ".." {
        out.insert(0, '_');
    }
    cap_length(out)
}

/// A query as wget's `--restrict-file-names=unix` keeps it: as sent, `/` escaped as `%2F`.
fn clean_query(query: &str) -> String {
    query
        .chars()
        .map(|c| match c {
            '/' => "%2F".to_string(),
            c if c.is_control() => "_".to_string(),
            c => c.to_string(),
        })
        .collect()
}

fn has_extension(name: &str, extensions: &[&str]) -> bool {
    let lower = name.to_ascii_lowercase();
    extensions.iter().any(|e| lower.ends_with(e))
}

/// Cut to `MAX_COMPONENT` bytes at a character boundary.
fn cap_length(mut name: String) -> String {
    if name.len() > MAX_COMPONENT {
        let mut cut = MAX_COMPONENT;
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        name.truncate(cut);
    }
    name
}

/// The link from the file at `from` to the file at `to` (both relative to DIR, as
/// [`local_path`] returns them), percent-encoded so a browser reading `from` from disk finds
/// `to`: `css/site.css` -> `img/a.png` is `../img/a.png`.
pub fn relative_link(from: &std::path::Path, to: &std::path::Path) -> String {
    let from_dirs: Vec<_> = from
        .parent()
        .map(|p| p.iter().collect())
        .unwrap_or_default();
    let to_parts: Vec<_> = to.iter().collect();
    let (to_last, to_dirs) = match to_parts.split_last() {
        Some(split) => split,
        None => return String::from("./"),
    };
    let common = from_dirs
        .iter()
        .zip(to_dirs.iter())
        .take_while(|(a, b)| a == b)
        .count();
    let mut link = "../".repeat(from_dirs.len() - common);
    for dir in &to_dirs[common..] {
        link.push_str(&encode_component(&dir.to_string_lossy()));
        link.push('/');
    }
    link.push_str(&encode_component(&to_last.to_string_lossy()));
    link
}

/// Escape what a relative URL reference cannot carry literally (RFC 3986 §2): `%`, `?`, `#`,
/// blanks, quotes, non-ASCII. A leading name with `:` gets `./` so it is not read as a scheme.
fn encode_component(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        let keep = b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b);
        if keep && b != b'\'' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.contains(':') {
        out.insert_str(0, "./");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn map(url: &str, html: bool) -> String {
        let kind = if html { DocKind::Html } else { DocKind::Other };
        map_kind(url, kind)
    }

    fn map_kind(url: &str, kind: DocKind) -> String {
        let start = Url::parse("http://site.test/").expect("valid");
        let url = Url::parse(url).expect("valid");
        local_path(&url, &start, kind)
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn urls_map_to_wget_layout() {
        let table = [
            ("http://site.test/", true, "index.html"),
            ("http://site.test/", false, "index.html"),
            ("http://site.test/css/site.css", false, "css/site.css"),
            ("http://site.test/img/a.png#frag", false, "img/a.png"),
            ("http://site.test/docs/", true, "docs/index.html"),
            ("http://site.test/about", true, "about.html"),
            ("http://site.test/about", false, "about"),
            ("http://site.test/page.php?id=1", true, "page.php@id=1.html"),
            ("http://site.test/style.css?v=2", false, "style.css@v=2"),
            ("http://site.test/?q=1", true, "index.html@q=1.html"),
            ("http://site.test/a.HTM", true, "a.HTM"),
            ("http://site.test/with%20space.txt", false, "with space.txt"),
            ("http://site.test/a//b", false, "a/b"),
            ("http://site.test/q?a/b", false, "q@a%2Fb"),
            (
                "http://other.test:8080/x.png",
                false,
                "_hosts/other.test_8080/x.png",
            ),
            (
                "https://site.test/x.png",
                false,
                "_hosts/site.test_443/x.png",
            ),
            (
                "http://site.test/.rawhttp-save/x",
                false,
                "_.rawhttp-save/x",
            ),
        ];
        for (url, html, want) in table {
            assert_eq!(map(url, html), want, "{url}");
        }
        assert_eq!(
            map_kind("http://site.test/s.css?v=2", DocKind::Css),
            "s.css@v=2.css"
        );
        assert_eq!(
            map_kind("http://site.test/a/S.CSS", DocKind::Css),
            "a/S.CSS"
        );
        assert_eq!(
            map_kind("http://site.test/style", DocKind::Css),
            "style.css"
        );
    }

    #[test]
    fn hostile_urls_stay_inside_dir() {
        let table = [
            ("http://site.test/../../../../etc/x", "etc/x"),
            ("http://site.test/%2e%2e/%2e%2e/x", "x"),
            ("http://site.test/a/%2F..%2F..%2Fetc", "a/_.._.._etc"),
            ("http://site.test/a/..%5c..%5cx", "a/.._.._x"),
            ("http://site.test/%00x/%0a", "_x/_"),
            ("http://site.test/%ff%fe", "%ff%fe"),
            ("http://site.test/a/%2e%2e%2f", "a/.._"),
            ("http://site.test/a/%2e%2e", "index.html"),
        ];
        for (url, want) in table {
            let got = map(url, false);
            assert_eq!(got, want, "{url}");
            let path = Path::new(&got);
            assert!(path.is_relative(), "{url}");
            assert!(
                path.components()
                    .all(|c| matches!(c, std::path::Component::Normal(_))),
                "{url} -> {got}"
            );
        }
        let long = format!("http://site.test/{}", "x".repeat(1000));
        assert_eq!(map(&long, true).len(), MAX_COMPONENT);
    }

    #[test]
    fn relative_links_walk_up_and_down() {
        let table = [
            ("index.html", "css/site.css", "css/site.css"),
            ("css/site.css", "img/a.png", "../img/a.png"),
            ("a/b/c.html", "a/d.png", "../d.png"),
            ("a/b/c.html", "a/b/e.png", "e.png"),
            ("index.html", "index.html", "index.html"),
            ("x.html", "with space.txt", "with%20space.txt"),
            ("x.html", "style.css@v=2", "style.css@v=2"),
            ("x.html", "a?b#c%.png", "a%3Fb%23c%25.png"),
            ("x.html", "c:d.png", "./c:d.png"),
            ("x.html", "é.png", "%C3%A9.png"),
        ];
        for (from, to, want) in table {
            assert_eq!(relative_link(Path::new(from), Path::new(to)), want);
        }
    }
}
