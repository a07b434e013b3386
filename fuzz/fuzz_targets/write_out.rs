//! Fuzz the pure decisions of `rawhttp fetch` batches: the `-w` format parser, `Retry-After`,
//! the resume verdict, `--input-file` lines and the `NAME.part.meta` reader.
//!
//! Input: the whole input as text (lossy UTF-8) for the parsers, its first bytes as numbers
//! for the resume verdict.
//! Checks: a parsed format renders without panicking and its text pieces are never empty; a
//! format without `%` or `\` parses to itself; a Retry-After wait is never in the past;
//! `judge` accepts a 206 only when its Content-Range starts at the offset; an input line's URL
//! has no blanks; a validator survives being written to its meta file and read back.
#![no_main]

use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use rawhttp::fetch::input::parse_line;
use rawhttp::fetch::resume::{judge, ResumeVerdict, Validator};
use rawhttp::fetch::retry::parse_retry_after;
use rawhttp::fetch::writeout::{parse_format, render, Piece, Record};
use rawhttp::proto::range::parse_content_range;

fn check_format(text: &str) {
    let Ok(pieces) = parse_format(text) else {
        return;
    };
    for piece in &pieces {
        if let Piece::Text(t) = piece {
            assert!(!t.is_empty(), "empty text piece from {text:?}");
        }
    }
    let _ = render(&pieces, &Record::new("http://a/"));
    if !text.contains(['%', '\\']) {
        let plain: Vec<Piece> = match text.is_empty() {
            true => Vec::new(),
            false => vec![Piece::Text(text.to_string())],
        };
        assert_eq!(pieces, plain);
    }
}

fn check_resume(data: &[u8], text: &str) {
    let status = match data.first() {
        Some(b) => 200 + u16::from(*b % 4) * 2 + u16::from(*b >= 128) * 210, // 200..206, 410..416
        None => 206,
    };
    let offset = data.get(1).map_or(0, |b| u64::from(*b));
    let saved = data.get(2).map(|b| u64::from(*b));
    let verdict = judge(status, Some(text.as_bytes()), offset, saved);
    if verdict == ResumeVerdict::Append {
        let range = parse_content_range(text.as_bytes()).expect("accepted range parses");
        assert_eq!(range.span.map(|s| s.start), Some(offset));
        if saved.is_some() {
            assert_eq!(range.complete, saved);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    check_format(&text);
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let _ = parse_retry_after(data, now);
    check_resume(data, &text);
    if let Some(entry) = parse_line(&text) {
        assert!(!entry.url.is_empty() && !entry.url.contains([' ', '\t']));
    }
    let v = Validator::from_meta(&text);
    assert_eq!(Validator::from_meta(&v.to_meta()), v);
});
