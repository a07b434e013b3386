//! Fuzz the names a server or a URL chooses for a saved file: `fetch::save::{sanitize,
//! disposition_name, remote_name, percent_decode}` (`-O`, `-J`).
//!
//! Input: byte 0 % 3 picks the function (sanitize, Content-Disposition value, URL), the rest is
//! its argument (a URL as lossy UTF-8, parsed by `url`; unparsable URLs are skipped).
//! Checks: a name is never empty, `.` or `..`, has no `/`, NUL or other control byte, no
//! leading or trailing blank, fits NAME_MAX with `.part` added, is one plain path component,
//! and joined to a directory stays in it; UTF-8 input gives a UTF-8 name; a
//! Content-Disposition name never starts with `.`; `percent_decode` never grows its input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rawhttp::fetch::save::{disposition_name, percent_decode, remote_name, sanitize};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path};

fn check_name(name: &[u8], from_utf8: bool) {
    assert!(
        !name.is_empty() && name != b"." && name != b"..",
        "{name:?}"
    );
    assert!(
        !name.iter().any(|&b| b == b'/' || b < 0x20 || b == 0x7f),
        "{name:?}"
    );
    assert_eq!(name.trim_ascii(), name, "surrounding blanks in {name:?}");
    assert!(name.len() + ".part".len() <= 255, "{} bytes", name.len());
    if from_utf8 {
        assert!(
            std::str::from_utf8(name).is_ok(),
            "{name:?} cut inside a character"
        );
    }
    let path = Path::new(std::ffi::OsStr::from_bytes(name));
    let mut components = path.components();
    assert!(
        matches!(components.next(), Some(Component::Normal(_))),
        "{name:?}"
    );
    assert!(
        components.next().is_none(),
        "{name:?} has several components"
    );
    let dir = Path::new("/dl");
    assert_eq!(dir.join(path).parent(), Some(dir), "{name:?}");
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let utf8 = std::str::from_utf8(rest).is_ok();
    match pick % 3 {
        0 => {
            assert!(percent_decode(rest).len() <= rest.len());
            if let Some(name) = sanitize(rest) {
                check_name(&name, utf8);
            }
        }
        1 => {
            if let Some(name) = disposition_name(rest) {
                let name = name.as_bytes();
                // filename* may decode to anything, so only a UTF-8 decode is required UTF-8.
                check_name(name, false);
                assert!(!name.starts_with(b"."), "hidden {name:?}");
            }
        }
        _ => {
            let Ok(url) = url::Url::parse(&String::from_utf8_lossy(rest)) else {
                return;
            };
            let name = remote_name(&url);
            check_name(name.as_bytes(), false);
        }
    }
});
