//! Fuzz `proto::syntax` against oracles written from the RFC text, not from the code.
//!
//! Input: any bytes, used whole and as the argument of every function.
//! Checks: `is_tchar`/`is_token` match RFC 9110 §5.6.2's list; `is_field_vchar` matches §5.5
//! (VCHAR / obs-text / SP / HTAB); `trim_ows` strips exactly the leading and trailing SP/HTAB;
//! `parse_decimal` is `Some` exactly for 1*DIGIT that fits a u64, with std's value;
//! `hex_value` agrees with `u8::from_str_radix(_, 16)` on one byte; `percent_escape` is `Some`
//! exactly for `%` followed by two HEXDIG (std's radix parser, which would take a `+`, is not
//! asked unless both are hex digits), with their value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rawhttp::proto::syntax::{
    hex_value, is_field_vchar, is_tchar, is_token, parse_decimal, percent_escape, trim_ows,
};

fn oracle_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn oracle_vchar(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | 0x21..=0x7e | 0x80..=0xff)
}

fn oracle_trim(s: &[u8]) -> &[u8] {
    let mut s = s;
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

fn oracle_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

fn oracle_hex(b: u8) -> Option<u8> {
    if !b.is_ascii_hexdigit() {
        return None;
    }
    u8::from_str_radix(std::str::from_utf8(&[b]).ok()?, 16).ok()
}

fn oracle_escape(s: &[u8]) -> Option<u8> {
    match s {
        [b'%', hi, lo, ..] if hi.is_ascii_hexdigit() && lo.is_ascii_hexdigit() => {
            u8::from_str_radix(std::str::from_utf8(&[*hi, *lo]).ok()?, 16).ok()
        }
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    for &b in data {
        assert_eq!(is_tchar(b), oracle_tchar(b), "{b:#x}");
        assert_eq!(is_field_vchar(b), oracle_vchar(b), "{b:#x}");
        assert_eq!(hex_value(b), oracle_hex(b), "{b:#x}");
    }
    assert_eq!(
        is_token(data),
        !data.is_empty() && data.iter().all(|&b| oracle_tchar(b))
    );
    assert_eq!(trim_ows(data), oracle_trim(data));
    assert_eq!(parse_decimal(data), oracle_decimal(data));
    for start in 0..data.len().min(64) {
        let s = &data[start..];
        assert_eq!(percent_escape(s), oracle_escape(s), "{s:?}");
        assert_eq!(
            parse_decimal(&s[..s.len().min(21)]),
            oracle_decimal(&s[..s.len().min(21)])
        );
    }
});
