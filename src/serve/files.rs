//! Request target -> a path inside the root, or a refusal: a pure function, table-tested,
//! applied before any filesystem call (ARCHITECTURE.md rule 4, after darkhttpd's `make_safe_url`).
//! It does not open anything: `open` opens the result beneath the root fd (openat2), which
//! is where symlinks are checked.
//!
//! Refusals: malformed input (undecodable `%`, `%00`/NUL, encoded `/`, any `\`, control bytes,
//! invalid or overlong UTF-8, a target that is not origin- or absolute-form) is 400; a path that
//! would climb above the root, or names a dotfile while dotfiles are hidden, is 404, as if it did
//! not exist (it tells a prober nothing, and a traversal attempt never becomes a 5xx).

use crate::proto::syntax::percent_escape;
use crate::proto::target::{split_target, TargetParts};

/// Why a target cannot name a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Malformed target (400).
    BadRequest,
    /// Escapes the root or names a hidden file (404).
    NotFound,
}

impl Refusal {
    /// The status to answer with (400 or 404).
    pub fn status(self) -> u16 {
        match self {
            Refusal::BadRequest => 400,
            Refusal::NotFound => 404,
        }
    }
}

/// A target resolved to a path relative to the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafePath<'a> {
    /// Decoded segments joined by `/`, without leading or trailing slash, no `.`/`..`/empty
    /// segments; `""` is the root itself.
    pub rel: String,
    /// The path ended in `/` (or `/.`, `/..`): a directory was asked for.
    pub dir_form: bool,
    /// The raw query (without `?`), kept for redirects.
    pub query: Option<&'a str>,
}

/// Map a request target to a path inside the root (see the module comment for the rules).
/// `hidden`: whether dotfile segments may be served (`--hidden`).
pub fn resolve_target(target: &str, hidden: bool) -> Result<SafePath<'_>, Refusal> {
    let TargetParts { path, query } = split_target(target).ok_or(Refusal::BadRequest)?;
    let decoded = percent_decode(path)?;
    let decoded = String::from_utf8(decoded).map_err(|_| Refusal::BadRequest)?;
    let (rel, dir_form) = remove_dot_segments(&decoded)?;
    if !hidden && rel.split('/').any(|s| s.starts_with('.')) {
        return Err(Refusal::NotFound);
    }
    Ok(SafePath {
        dir_form: dir_form || rel.is_empty(),
        rel,
        query,
    })
}

/// Decode `%XX` once. Refuses undecodable escapes, NUL, encoded `/`, any `\` (raw or encoded,
/// Windows separators must not become a second separator anywhere), control bytes, and `#`
/// (a fragment is never sent, RFC 9112 §3.2).
fn percent_decode(path: &str) -> Result<Vec<u8>, Refusal> {
    let mut out = Vec::with_capacity(path.len());
    let mut rest = path.as_bytes();
    while let Some(&b) = rest.first() {
        if b == b'%' {
            let decoded = percent_escape(rest).ok_or(Refusal::BadRequest)?;
            if decoded == b'/' || is_refused_decoded(decoded) {
                return Err(Refusal::BadRequest);
            }
            out.push(decoded);
            rest = &rest[3..]; // an escape is three bytes: `%` and two hex digits
        } else {
            if is_refused_byte(b) || b == b'#' {
                return Err(Refusal::BadRequest);
            }
            out.push(b);
            rest = &rest[1..];
        }
    }
    Ok(out)
}

fn is_refused_byte(b: u8) -> bool {
    b < 0x20 || b == 0x7f || b == b'\\'
}

/// A decoded byte refused in a name. HTAB is the exception (issue 12): a legal, common enough
/// file-name byte that a listing links to as `%09`, and harmless once decoded (Location is
/// re-encoded, the access log escapes controls). CR, LF and the other controls stay refused.
fn is_refused_decoded(b: u8) -> bool {
    b != b'\t' && is_refused_byte(b)
}

/// Whether a request can name `name` (a listing links only to what it can serve).
pub fn is_requestable_name(name: &str) -> bool {
    !name.bytes().any(is_refused_decoded)
}

/// Resolve `.` and `..` and drop empty segments (RFC 3986 §5.2.4, but a `..` above the root is
/// refused instead of clamped). Returns the segments joined by `/` and whether the path names
/// a directory. The result is built in one string (a `..` cuts back to the previous `/`) rather
/// than collected and joined: this runs for every request. Decoded segments hold no `/`
/// (`percent_decode` refuses `%2F`), so cutting at the last `/` drops exactly one segment.
fn remove_dot_segments(path: &str) -> Result<(String, bool), Refusal> {
    let mut rel = String::with_capacity(path.len());
    let mut dir_form = false;
    for segment in path.split('/') {
        dir_form = matches!(segment, "" | "." | "..");
        match segment {
            "" | "." => {}
            ".." if rel.is_empty() => return Err(Refusal::NotFound),
            ".." => rel.truncate(rel.rfind('/').unwrap_or(0)),
            name => {
                if !rel.is_empty() {
                    rel.push('/');
                }
                rel.push_str(name);
            }
        }
    }
    Ok((rel, dir_form))
}

/// Percent-encode one path segment for a URL: everything but RFC 3986 unreserved characters.
pub fn encode_segment(segment: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in segment.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
}

/// The canonical URL path of `rel` (each segment encoded), with a trailing slash when `dir`.
/// Redirects use it rather than the raw target, so `//evil.example` can never become a
/// scheme-relative Location.
pub fn url_path(rel: &str, dir: bool) -> String {
    let mut out = String::with_capacity(rel.len() + 2);
    for segment in rel.split('/').filter(|s| !s.is_empty()) {
        out.push('/');
        encode_segment(segment, &mut out);
    }
    if dir || out.is_empty() {
        out.push('/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use Refusal::*;

    /// Expected outcome: Ok((rel, dir_form)) or a refusal.
    type Want<'a> = Result<(&'a str, bool), Refusal>;

    fn check(table: &[(&str, Want<'_>)], hidden: bool) {
        for (target, want) in table {
            let got = resolve_target(target, hidden).map(|p| (p.rel, p.dir_form));
            let want = want.map(|(r, d)| (r.to_string(), d));
            assert_eq!(got, want, "target {target:?}");
        }
    }

    #[test]
    fn ordinary_targets() {
        check(
            &[
                ("/", Ok(("", true))),
                ("/index.html", Ok(("index.html", false))),
                ("/a/b.txt?x=1&y=../..", Ok(("a/b.txt", false))),
                ("/dir/", Ok(("dir", true))),
                ("/dir", Ok(("dir", false))),
                ("/a%20b", Ok(("a b", false))),
                ("/caf%C3%A9", Ok(("café", false))),
                ("/café", Ok(("café", false))),
                ("/%41%42", Ok(("AB", false))),
                ("/a/./b", Ok(("a/b", false))),
                ("/a/b/../c", Ok(("a/c", false))),
                ("/a/b/..", Ok(("a", true))),
                ("/a/.", Ok(("a", true))),
                ("/a//b", Ok(("a/b", false))),
                ("/...", Err(NotFound)), // a dotfile name, not a dot segment
                ("/a..b", Ok(("a..b", false))),
                ("/%2525", Ok(("%25", false))),
                ("http://host/x/y", Ok(("x/y", false))),
                ("HTTPS://host:8443/x?q", Ok(("x", false))),
                ("http://host", Ok(("", true))),
                ("http://host?q=1", Ok(("", true))),
            ],
            false,
        );
    }

    /// Hostile targets and what they must resolve to (the generated long ones are added in
    /// `at_least_fifty_hostile_targets`).
    const HOSTILE: &[(&str, Want<'static>)] = &[
        // Plain and encoded dot segments above the root.
        ("/..", Err(NotFound)),
        ("/../", Err(NotFound)),
        ("/../etc/passwd", Err(NotFound)),
        ("/a/../../etc/passwd", Err(NotFound)),
        ("/./../x", Err(NotFound)),
        ("/%2e%2e/etc/passwd", Err(NotFound)),
        ("/%2E%2E/etc/passwd", Err(NotFound)),
        ("/%2e%2E/x", Err(NotFound)),
        ("/.%2e/x", Err(NotFound)),
        ("/%2e./x", Err(NotFound)),
        ("/a/%2e%2e/%2e%2e/x", Err(NotFound)),
        ("/%2e/%2e%2e/x", Err(NotFound)),
        // Double encoding decodes once: names with a literal %, inside the root.
        ("/%252e%252e/etc/passwd", Ok(("%2e%2e/etc/passwd", false))),
        ("/%252E%252E%252Fetc", Ok(("%2E%2E%2Fetc", false))),
        ("/%25%32%65%25%32%65/x", Ok(("%2e%2e/x", false))),
        // Encoded separators.
        ("/..%2f..%2fetc/passwd", Err(BadRequest)),
        ("/..%2F..%2Fetc", Err(BadRequest)),
        ("/a%2fb", Err(BadRequest)),
        ("/%2f", Err(BadRequest)),
        ("/%5c..%5c..%5cetc", Err(BadRequest)),
        ("/..%5C..%5Cx", Err(BadRequest)),
        ("/..\\..\\etc\\passwd", Err(BadRequest)),
        ("/a\\b", Err(BadRequest)),
        // NUL, controls, undecodable escapes.
        ("/%00", Err(BadRequest)),
        ("/index.html%00.txt", Err(BadRequest)),
        ("/a\0b", Err(BadRequest)),
        ("/%0a", Err(BadRequest)),
        ("/%0d%0aSet-Cookie:x", Err(BadRequest)),
        ("/%7f", Err(BadRequest)),
        ("/%1f", Err(BadRequest)),
        ("/a%09b", Ok(("a\tb", false))),
        ("/a\tb", Err(BadRequest)),
        ("/%", Err(BadRequest)),
        ("/%4", Err(BadRequest)),
        ("/%zz", Err(BadRequest)),
        ("/%%32%65", Err(BadRequest)),
        ("/%-1", Err(BadRequest)),
        ("/%+2", Err(BadRequest)),
        ("/a#frag", Err(BadRequest)),
        // Overlong and invalid UTF-8 (`%c0%ae` is an overlong '.', `%c0%af` an overlong '/').
        ("/%c0%ae%c0%ae/etc", Err(BadRequest)),
        ("/%c0%af", Err(BadRequest)),
        ("/%e0%80%ae", Err(BadRequest)),
        ("/%f0%80%80%ae", Err(BadRequest)),
        ("/%c1%9c", Err(BadRequest)),
        ("/%ff", Err(BadRequest)),
        ("/%ed%a0%80", Err(BadRequest)),
        ("/%80", Err(BadRequest)),
        // Absolute-form: only the path counts, and it is checked like any other.
        ("http://x/../", Err(NotFound)),
        ("http://x/../../etc/passwd", Err(NotFound)),
        ("http://x/%2e%2e/", Err(NotFound)),
        ("http://../../etc/passwd", Err(NotFound)),
        ("HtTp://x/a%2fb", Err(BadRequest)),
        ("ftp://x/etc/passwd", Err(BadRequest)),
        ("file:///etc/passwd", Err(BadRequest)),
        ("//etc/passwd", Ok(("etc/passwd", false))),
        ("///etc/passwd", Ok(("etc/passwd", false))),
        // Not a file target at all.
        ("*", Err(BadRequest)),
        ("", Err(BadRequest)),
        ("etc/passwd", Err(BadRequest)),
        ("../etc/passwd", Err(BadRequest)),
        ("example.com:443", Err(BadRequest)),
        ("C:\\Windows", Err(BadRequest)),
        // Dotfiles are hidden by default, encoded or not.
        ("/.env", Err(NotFound)),
        ("/.git/config", Err(NotFound)),
        ("/a/.htpasswd", Err(NotFound)),
        ("/%2egit/HEAD", Err(NotFound)),
        ("/.hidden/", Err(NotFound)),
        ("/.git/../index.html", Ok(("index.html", false))),
    ];

    #[test]
    fn at_least_fifty_hostile_targets() {
        let long_escape = format!("/{}", "../".repeat(4000));
        let long_name = format!("/{}", "a".repeat(8000));
        let deep_then_up = format!("{}{}", "/a".repeat(100), "/..".repeat(101));
        let deep_balanced = format!("{}{}/x", "/a".repeat(100), "/..".repeat(100));
        let mut table: Vec<(&str, Want)> = HOSTILE.to_vec();
        table.extend_from_slice(&[
            (long_escape.as_str(), Err(NotFound)),
            (deep_then_up.as_str(), Err(NotFound)),
            // Long but harmless: resolved lexically, left to the filesystem (404 there).
            (long_name.as_str(), Ok((&long_name[1..], false))),
            (deep_balanced.as_str(), Ok(("x", false))),
        ]);
        assert!(table.len() >= 50, "{} hostile targets", table.len());
        check(&table, false);
    }

    #[test]
    fn hidden_allows_dotfiles_but_never_escapes() {
        check(
            &[
                ("/.env", Ok((".env", false))),
                ("/.git/config", Ok((".git/config", false))),
                ("/.well-known/", Ok((".well-known", true))),
                ("/..", Err(NotFound)),
                ("/%2e%2e/x", Err(NotFound)),
            ],
            true,
        );
    }

    #[test]
    fn resolved_paths_never_hold_dot_segments_or_separators() {
        // Every combination of a few hostile pieces, three deep: whatever resolves must be a
        // clean relative path (the property `respond` relies on when it calls openat2).
        let pieces = [
            "..", ".", "%2e%2e", "%2E.", "a", "%252e", "%c0%ae", "%5c", "\\", "", ".x", "%00",
        ];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let target = format!("/{a}/{b}/{c}");
                    if let Ok(p) = resolve_target(&target, true) {
                        let clean = p.rel.split('/').all(|s| !matches!(s, "" | "." | ".."));
                        assert!(p.rel.is_empty() || clean, "{target} -> {:?}", p.rel);
                        assert!(!p.rel.contains(['\\', '\0']), "{target}");
                    }
                }
            }
        }
    }

    #[test]
    fn keeps_the_query_for_redirects() {
        let p = resolve_target("/dir?sort=name&x=%2F", false).unwrap();
        assert_eq!(p.query, Some("sort=name&x=%2F"));
        assert_eq!(resolve_target("/dir", false).unwrap().query, None);
    }

    #[test]
    fn url_paths_are_encoded_and_never_scheme_relative() {
        assert_eq!(url_path("", true), "/");
        assert_eq!(url_path("a b/c", true), "/a%20b/c/");
        assert_eq!(url_path("café", false), "/caf%C3%A9");
        assert_eq!(url_path("evil.example", true), "/evil.example/");
        assert_eq!(url_path("a?b#c%", false), "/a%3Fb%23c%25");
    }
}
