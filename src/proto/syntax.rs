//! The byte classes of HTTP field syntax (RFC 9110 §5.5, §5.6) and URI escapes (RFC 3986
//! §2.1), shared by the head parsers here, fetch's request builder and serve's path decoder so
//! each rule is written once. Predicates and slicing only: no field or path is parsed here.

/// tchar (RFC 9110 §5.6.2): the bytes of a token, such as a method or a field name.
pub fn is_tchar(b: u8) -> bool {
    // A `matches!` over ranges compiles to a few comparisons: this runs per header-name byte.
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

/// token = 1*tchar (RFC 9110 §5.6.2): what a method and a field name must be.
pub fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// field-vchar / SP / HTAB (RFC 9110 §5.5): every byte but controls and DEL may be in a field
/// value (obs-text, 0x80-0xFF, included).
pub fn is_field_vchar(b: u8) -> bool {
    b == b'\t' || b == b' ' || (0x21..=0x7e).contains(&b) || b >= 0x80
}

/// `s` without OWS (SP / HTAB, RFC 9110 §5.6.3) at either end.
pub fn trim_ows(s: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = s.iter().position(|b| !is_ows(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|b| !is_ows(b)).map_or(start, |i| i + 1);
    &s[start..end]
}

/// `1*DIGIT` as a u64: no sign, no spaces, no overflow. Rust's `str::parse` would also take
/// a leading `+`, which a Content-Length (RFC 9110 §8.6) or a range position (§14.1.1) must
/// not have: accepting what a peer's parser refuses is how lengths get smuggled (ARCHITECTURE.md rule 2).
pub fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |acc, &b| {
        let digit = b.is_ascii_digit().then(|| u64::from(b - b'0'))?;
        acc.checked_mul(10)?.checked_add(digit)
    })
}

/// The value of one HEXDIG, either case (RFC 3986 §2.1; chunk sizes too, RFC 9112 §7.1).
pub fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The byte a `%XX` escape at the start of `s` stands for (RFC 3986 §2.1); `None` when `s`
/// does not start with a complete one. What to do with a bad escape is the caller's policy.
pub fn percent_escape(s: &[u8]) -> Option<u8> {
    match s {
        [b'%', hi, lo, ..] => Some(hex_value(*hi)? << 4 | hex_value(*lo)?),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_tchar_only_and_never_empty() {
        let table: &[(&[u8], bool)] = &[
            (b"GET", true),
            (b"X-Custom_1.2~", true),
            (b"!#$%&'*+-.^_`|~", true),
            (b"", false),
            (b"a b", false),
            (b"a:b", false),
            (b"(a)", false),
            (b"caf\xc3\xa9", false),
        ];
        for (input, want) in table {
            assert_eq!(is_token(input), *want, "{input:?}");
        }
    }

    #[test]
    fn ows_is_trimmed_at_both_ends_only() {
        let table: &[(&[u8], &[u8])] = &[
            (b"", b""),
            (b" \t ", b""),
            (b"a", b"a"),
            (b" \ta b\t ", b"a b"),
            (b"\r a \r", b"\r a \r"),
        ];
        for (input, want) in table {
            assert_eq!(trim_ows(input), *want, "{input:?}");
        }
    }

    #[test]
    fn field_values_refuse_controls_and_del_only() {
        let allowed: Vec<u8> = (0..=255u8).filter(|&b| is_field_vchar(b)).collect();
        assert!(allowed.contains(&b'\t') && allowed.contains(&b' ') && allowed.contains(&0xff));
        assert!(![0u8, b'\r', b'\n', 0x1f, 0x7f]
            .iter()
            .any(|b| allowed.contains(b)));
        assert_eq!(allowed.len(), 256 - 32 - 1 + 1);
    }

    #[test]
    fn decimals_are_plain_digits_within_u64() {
        let table: &[(&[u8], Option<u64>)] = &[
            (b"0", Some(0)),
            (b"007", Some(7)),
            (b"18446744073709551615", Some(u64::MAX)),
            (b"18446744073709551616", None),
            (b"", None),
            (b"+5", None),
            (b"-1", None),
            (b" 5", None),
            (b"5a", None),
            (b"0x5", None),
            (b"\xd9\xa3", None),
        ];
        for (input, want) in table {
            assert_eq!(parse_decimal(input), *want, "{input:?}");
        }
    }

    #[test]
    fn percent_escapes_need_two_hex_digits() {
        let table: &[(&[u8], Option<u8>)] = &[
            (b"%41", Some(b'A')),
            (b"%2f/", Some(b'/')),
            (b"%2F", Some(b'/')),
            (b"%00", Some(0)),
            (b"%ff", Some(0xff)),
            (b"%4", None),
            (b"%", None),
            (b"%g1", None),
            (b"%1g", None),
            (b"41", None),
            (b"", None),
        ];
        for (input, want) in table {
            assert_eq!(percent_escape(input), *want, "{input:?}");
        }
    }
}
