//! Fuzz `--input-file` lines: `fetch::input::parse_line`.
//!
//! Input: the line (lossy UTF-8).
//! Checks: blank and `#` lines give nothing, others an entry; the URL is non-empty, has no
//! space or tab, never starts with `#`, and is the line's first word; a name, when present, is
//! non-empty and trimmed; writing the entry back as `URL<TAB>NAME` parses to the same entry.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rawhttp::fetch::input::{parse_line, Entry};

fuzz_target!(|data: &[u8]| {
    let line = String::from_utf8_lossy(data);
    let trimmed = line.trim();
    let Some(entry) = parse_line(&line) else {
        assert!(
            trimmed.is_empty() || trimmed.starts_with('#'),
            "{line:?} skipped"
        );
        return;
    };
    let Entry { url, name } = &entry;
    assert!(!url.is_empty() && !url.starts_with('#'), "{entry:?}");
    assert!(!url.contains([' ', '\t']), "{entry:?}");
    assert!(trimmed.starts_with(url.as_str()), "{entry:?} from {line:?}");
    if let Some(name) = name {
        assert!(!name.is_empty() && name.trim() == name, "{entry:?}");
    }
    let again = match name {
        Some(name) => format!("{url}\t{name}"),
        None => url.clone(),
    };
    assert_eq!(parse_line(&again).as_ref(), Some(&entry), "{again:?}");
});
