//! The request target (RFC 9112 §3.2): its form, its path and its query, by slicing the string.
//! It does not decode `%XX` nor resolve dot segments: mapping a path to a file is
//! `serve::files`'s job.

/// The path and query of an origin-form or absolute-form request target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetParts<'a> {
    /// `absolute-path`, up to the first `?`; empty for `http://host` and `http://host?q`, which
    /// name the root (RFC 9112 §3.2.2).
    pub path: &'a str,
    /// The query without its `?`; `None` when the target has no `?`.
    pub query: Option<&'a str>,
}

/// Split an origin-form (`/a?q`) or absolute-form (`http://host/a?q`, RFC 9112 §3.2.2; http
/// and https, the scheme in any case) target into path and query. `None` for the forms that
/// name no path: asterisk-form (`*`), authority-form (`host:443`), another scheme. A `#` is
/// left where it stands (no client sends a fragment, RFC 9112 §3.2; the caller decides).
pub fn split_target(target: &str) -> Option<TargetParts<'_>> {
    let path_and_query = origin_part(target)?;
    Some(match path_and_query.split_once('?') {
        Some((path, query)) => TargetParts {
            path,
            query: Some(query),
        },
        None => TargetParts {
            path: path_and_query,
            query: None,
        },
    })
}

/// The `(path, query)` a rule matches and a log shows: the fragment dropped, then split as
/// [`split_target`] does (absolute-form included, so `GET http://host/a?x` is `/a` and `x`); a
/// target in another form (`*`, authority-form) is split at its `?` as it stands; a missing
/// query is `""`.
/// The empty path of `http://host` is `/`, as RFC 3986 §6.2.3 normalises it.
pub fn path_and_query(target: &str) -> (&str, &str) {
    let target = target.split('#').next().unwrap_or(target);
    match split_target(target) {
        Some(TargetParts { path: "", query }) => ("/", query.unwrap_or("")),
        Some(parts) => (parts.path, parts.query.unwrap_or("")),
        None => target.split_once('?').unwrap_or((target, "")),
    }
}

/// An absolute-form (`http://u:p@host/`) or authority-form (`u@host:443`) target with userinfo:
/// RFC 9110 §4.2.4 says a recipient SHOULD treat it as an error (it is how phishing links hide
/// the real host), so it is refused with 400 rather than served as if it were absent.
pub fn has_userinfo(target: &str) -> bool {
    if target.starts_with('/') || target == "*" {
        return false;
    }
    let after_scheme = target.split_once("://").map_or(target, |(_, rest)| rest);
    let authority_end = after_scheme
        .find(['/', '?', '#'])
        .unwrap_or(after_scheme.len());
    after_scheme[..authority_end].contains('@')
}

/// The `absolute-path [ "?" query ]` part: origin-form as is, absolute-form (http/https only)
/// without its scheme and authority.
fn origin_part(target: &str) -> Option<&str> {
    if target.starts_with('/') {
        return Some(target);
    }
    let after_scheme = strip_prefix_ignore_case(target, "http://")
        .or_else(|| strip_prefix_ignore_case(target, "https://"))?;
    let path_start = after_scheme.find(['/', '?']).unwrap_or(after_scheme.len());
    // `http://host?q` has an empty path: the root, with its query.
    Some(&after_scheme[path_start..])
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    type Split = Option<(&'static str, Option<&'static str>)>;

    /// target -> (path, query) or `None` (no path).
    const SPLITS: &[(&str, Split)] = &[
        ("/", Some(("/", None))),
        ("/a/b.txt", Some(("/a/b.txt", None))),
        ("/a?", Some(("/a", Some("")))),
        ("/a?x=1&y=../..", Some(("/a", Some("x=1&y=../..")))),
        ("/a?x?y", Some(("/a", Some("x?y")))),
        ("/a#f", Some(("/a#f", None))),
        ("/a?q#f", Some(("/a", Some("q#f")))),
        ("http://host/a?truncate=5", Some(("/a", Some("truncate=5")))),
        ("HTTPS://host:8443/x?q", Some(("/x", Some("q")))),
        ("hTtP://host/", Some(("/", None))),
        ("http://host", Some(("", None))),
        ("http://host?q=1", Some(("", Some("q=1")))),
        ("http://[::1]:80/a", Some(("/a", None))),
        ("http:/a", None),
        ("http:", None),
        ("ftp://host/a", None),
        ("*", None),
        ("host:443", None),
        ("", None),
        ("a/b", None),
        ("h\u{e9}://x/", None),
    ];

    #[test]
    fn split_target_table() {
        for (target, want) in SPLITS {
            let got = split_target(target).map(|p| (p.path, p.query));
            assert_eq!(got, *want, "{target:?}");
        }
    }

    /// target -> (path, query) as rules and logs see it.
    const MATCHED: &[(&str, (&str, &str))] = &[
        ("/a", ("/a", "")),
        ("/a?x=1", ("/a", "x=1")),
        ("/a#f?x=1", ("/a", "")),
        ("/a?x=1#f", ("/a", "x=1")),
        ("http://host/a?truncate=5", ("/a", "truncate=5")),
        ("http://host#f", ("/", "")),
        ("http://host?x", ("/", "x")),
        ("*", ("*", "")),
        ("host:443", ("host:443", "")),
        ("#", ("", "")),
        ("?x", ("", "x")),
        ("*?x", ("*", "x")),
    ];

    #[test]
    fn path_and_query_table() {
        for (target, want) in MATCHED {
            assert_eq!(path_and_query(target), *want, "{target:?}");
        }
    }

    #[test]
    fn userinfo_only_in_the_authority() {
        let cases: &[(&str, bool)] = &[
            ("/u@x", false),
            ("*", false),
            ("http://u:p@x/", true),
            ("http://u@x", true),
            ("u@host:443", true),
            ("http://a/b@c?d@e", false),
            ("http://a?x@y", false),
            ("http://a#x@y", false),
            ("host:443", false),
        ];
        for &(target, want) in cases {
            assert_eq!(has_userinfo(target), want, "{target:?}");
        }
    }
}
