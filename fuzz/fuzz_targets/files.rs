//! Fuzz `serve::files::resolve_target` (request target -> path under the root) and `url_path`.
//!
//! Input: byte 0's low bit is `hidden` (`--hidden`), the rest is the target (any bytes, made
//! UTF-8 lossily, since the server hands resolve_target a `&str`).
//! Checks on an accepted path: no empty, `.` or `..` segment, no NUL, control byte (but HTAB,
//! which a name may hold) or `\`, no
//! leading or trailing `/`; as a `Path` it has only normal components, so joined to a root it
//! stays beneath it; without `hidden` no segment starts with `.`; the root is always dir-form;
//! the query is the target's text after the first `?`; and the canonical URL of the result
//! resolves back to the same path. Every target, accepted or refused, gets the same verdict
//! (path, dir-form, or refusal kind) from `reference`, a deliberately naive model written from
//! the module's rules: decode segment by segment, then walk a stack of names.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rawhttp::serve::files::{resolve_target, url_path, Refusal, SafePath};
use std::path::{Component, Path};

fn check_safe(path: &SafePath<'_>, target: &str, hidden: bool) {
    let rel = &path.rel;
    assert!(
        !rel.bytes()
            .any(|b| (b < 0x20 && b != b'\t') || b == 0x7f || b == b'\\'),
        "{rel:?}"
    );
    assert!(!rel.starts_with('/') && !rel.ends_with('/'), "{rel:?}");
    if !rel.is_empty() {
        for segment in rel.split('/') {
            assert!(
                !matches!(segment, "" | "." | ".."),
                "segment {segment:?} in {rel:?}"
            );
            assert!(
                hidden || !segment.starts_with('.'),
                "hidden {segment:?} served"
            );
        }
    }
    let normal = Path::new(rel)
        .components()
        .all(|c| matches!(c, Component::Normal(_)));
    assert!(normal, "{rel:?} is not a plain relative path");
    let root = Path::new("/srv/www");
    assert!(root.join(rel).starts_with(root), "{rel:?} leaves the root");
    if rel.is_empty() {
        assert!(path.dir_form, "the root must be dir-form");
    }
    if let Some(query) = path.query {
        let after = target.split_once('?').map(|(_, q)| q);
        assert_eq!(Some(query), after, "query of {target:?}");
    }
}

/// Percent-decode one raw segment the slow way; `None` for anything the server must refuse
/// as malformed: a bad escape, a decoded `/`, a backslash, DEL or control byte (raw or
/// escaped; only an escaped HTAB, `%09`, is a legal name byte), or a raw `#`.
fn reference_segment(raw: &str) -> Option<Vec<u8>> {
    let bytes = raw.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let (b, escaped) = if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            if !hex.bytes().all(|h| h.is_ascii_hexdigit()) {
                return None;
            }
            i += 3;
            (
                u8::from_str_radix(hex, 16).ok().filter(|&d| d != b'/')?,
                true,
            )
        } else if bytes[i] == b'#' {
            return None;
        } else {
            i += 1;
            (bytes[i - 1], false)
        };
        let tab_ok = escaped && b == b'\t';
        if (b < 0x20 && !tab_ok) || b == 0x7f || b == b'\\' {
            return None;
        }
        out.push(b);
    }
    Some(out)
}

/// The naive model of `resolve_target`: (rel, dir_form) or the refusal.
fn reference(target: &str, hidden: bool) -> Result<(String, bool), Refusal> {
    let lower = target.to_ascii_lowercase();
    let path = if target.starts_with('/') {
        target
    } else if let Some(scheme) = ["http://", "https://"]
        .iter()
        .find(|s| lower.starts_with(**s))
    {
        let rest = &target[scheme.len()..];
        &rest[rest.find(['/', '?']).unwrap_or(rest.len())..]
    } else {
        return Err(Refusal::BadRequest);
    };
    let path = path.split('?').next().unwrap_or("");
    let raw: Vec<&str> = path.split('/').collect();
    let mut decoded = Vec::new();
    for segment in &raw {
        let bytes = reference_segment(segment).ok_or(Refusal::BadRequest)?;
        decoded.push(String::from_utf8(bytes).map_err(|_| Refusal::BadRequest)?);
    }
    let mut stack: Vec<String> = Vec::new();
    for segment in &decoded {
        match segment.as_str() {
            "" | "." => {}
            ".." => {
                stack.pop().ok_or(Refusal::NotFound)?;
            }
            name => stack.push(name.to_string()),
        }
    }
    if !hidden && stack.iter().any(|s| s.starts_with('.')) {
        return Err(Refusal::NotFound);
    }
    let last = decoded.last().map_or("", String::as_str);
    let dir_form = matches!(last, "" | "." | "..") || stack.is_empty();
    Ok((stack.join("/"), dir_form))
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let hidden = flags & 1 == 1;
    let target = String::from_utf8_lossy(rest);
    let verdict = resolve_target(&target, hidden);
    assert_eq!(
        verdict
            .as_ref()
            .map(|p| (p.rel.clone(), p.dir_form))
            .map_err(|r| *r),
        reference(&target, hidden),
        "{target:?}"
    );
    let Ok(path) = verdict else {
        return;
    };
    check_safe(&path, &target, hidden);
    // Redirects send url_path(rel); following one must land on the same file.
    let canonical = url_path(&path.rel, path.dir_form);
    let again = resolve_target(&canonical, hidden)
        .unwrap_or_else(|r| panic!("canonical {canonical:?} of {target:?} refused: {r:?}"));
    assert_eq!(
        (&again.rel, again.dir_form),
        (&path.rel, path.dir_form),
        "{canonical:?}"
    );
    assert_eq!(again.query, None);
});
