//! Fuzz `serve::files::resolve_target` (request target -> path under the root) and `url_path`.
//!
//! Input: byte 0's low bit is `hidden` (`--hidden`), the rest is the target (any bytes, made
//! UTF-8 lossily, since the server hands resolve_target a `&str`).
//! Checks on an accepted path: no empty, `.` or `..` segment, no NUL, control byte (but HTAB,
//! which a name may hold) or `\`, no
//! leading or trailing `/`; as a `Path` it has only normal components, so joined to a root it
//! stays beneath it; without `hidden` no segment starts with `.`; the root is always dir-form;
//! the query is the target's text after the first `?`; and the canonical URL of the result
//! resolves back to the same path.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rawhttp::serve::files::{resolve_target, url_path, SafePath};
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

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let hidden = flags & 1 == 1;
    let target = String::from_utf8_lossy(rest);
    let Ok(path) = resolve_target(&target, hidden) else {
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
