//! Range request parsing and satisfiability (RFC 9110 §14): bytes in, byte spans out.
//! It does not evaluate If-Range or other preconditions (`serve::reply`) nor read files.
//!
//! Decisions (RFC 9110 leaves them to the server):
//! - a Range with another unit, or with a syntax error, is ignored: 200 with the whole
//!   representation (§14.2: "a server MAY ignore the Range header field");
//! - more than `limits::MAX_RANGES` range specs: ignored too (200 whole), as nginx does past
//!   `max_ranges`, so a request cannot make us assemble thousands of parts;
//! - overlapping or adjacent spans are coalesced after sorting them by offset (§14.3 and
//!   §15.3.7.2 allow it), so `bytes=0-,0-,0-` costs one part and parts never repeat bytes;
//!   when one span remains the answer is a single-part 206;
//! - specs that are not satisfiable are dropped; when none remains: 416 with
//!   `Content-Range: bytes */LEN` (§15.5.17).

use super::limits::MAX_RANGES;
use super::syntax::parse_decimal;
use super::ProtoError;

/// One `range-spec` as written: `first-last`, `first-` or `-suffix` (RFC 9110 §14.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeSpec {
    /// `first-last` (`last` = None for `first-`), both inclusive.
    FromTo {
        /// First byte offset.
        first: u64,
        /// Last byte offset, inclusive (`None`: to the end).
        last: Option<u64>,
    },
    /// `-suffix`: the last `suffix` bytes.
    Suffix(u64),
}

/// A satisfiable span of a representation: `len` bytes from `start` (len >= 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSpan {
    /// Offset of the first byte.
    pub start: u64,
    /// Number of bytes (at least 1).
    pub len: u64,
}

impl ByteSpan {
    /// The last byte position (inclusive), as Content-Range writes it.
    pub fn last(&self) -> u64 {
        self.start + self.len - 1
    }
}

/// What to send for a GET with a Range header, given the representation's length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangePlan {
    /// Ignore the Range: 200 with everything.
    Whole,
    /// 206 with one span.
    Single(ByteSpan),
    /// 206 multipart/byteranges, spans sorted and disjoint (2..=MAX_RANGES of them).
    Multi(Vec<ByteSpan>),
    /// 416 with `Content-Range: bytes */LEN`.
    Unsatisfiable,
}

/// Parse a Range field value. `Ok(None)`: a unit other than `bytes` (ignored, §14.2).
/// `Err(BadRange)`: not a valid `bytes=` range set, or more than `MAX_RANGES` specs.
pub fn parse_range(value: &[u8]) -> Result<Option<Vec<RangeSpec>>, ProtoError> {
    let value = std::str::from_utf8(value).map_err(|_| ProtoError::BadRange)?;
    let Some((unit, set)) = value.trim().split_once('=') else {
        return Err(ProtoError::BadRange);
    };
    // Range units are case-insensitive (RFC 9110 §14.1); `unit` must be a token.
    if !unit.eq_ignore_ascii_case("bytes") {
        let is_token = !unit.is_empty() && unit.bytes().all(|b| b.is_ascii_alphanumeric());
        return if is_token {
            Ok(None)
        } else {
            Err(ProtoError::BadRange)
        };
    }
    let mut specs = Vec::new();
    // `1#range-spec`: empty list elements are allowed and skipped (RFC 9110 §5.6.1.2).
    for element in set.split(',').map(|e| e.trim_matches([' ', '\t'])) {
        if element.is_empty() {
            continue;
        }
        if specs.len() == MAX_RANGES {
            return Err(ProtoError::BadRange);
        }
        specs.push(parse_spec(element)?);
    }
    if specs.is_empty() {
        return Err(ProtoError::BadRange);
    }
    Ok(Some(specs))
}

/// `first-last` / `first-` / `-suffix`, digits only (no sign, no spaces), `last >= first`.
fn parse_spec(spec: &str) -> Result<RangeSpec, ProtoError> {
    let (first, last) = spec.split_once('-').ok_or(ProtoError::BadRange)?;
    match (first.is_empty(), last.is_empty()) {
        (true, true) => Err(ProtoError::BadRange),
        (true, false) => Ok(RangeSpec::Suffix(parse_digits(last)?)),
        (false, true) => Ok(RangeSpec::FromTo {
            first: parse_digits(first)?,
            last: None,
        }),
        (false, false) => {
            let (first, last) = (parse_digits(first)?, parse_digits(last)?);
            if last < first {
                return Err(ProtoError::BadRange);
            }
            Ok(RangeSpec::FromTo {
                first,
                last: Some(last),
            })
        }
    }
}

/// A range position: `1*DIGIT` (RFC 9110 §14.1.1), no sign, no overflow.
fn parse_digits(s: &str) -> Result<u64, ProtoError> {
    parse_decimal(s.as_bytes()).ok_or(ProtoError::BadRange)
}

/// The part of `spec` inside a representation of `len` bytes, if any (RFC 9110 §14.1.1:
/// `first-` and `first-last` need first < len; a suffix needs a non-zero suffix and length;
/// `last` and long suffixes are clamped to the representation).
pub fn satisfy(spec: RangeSpec, len: u64) -> Option<ByteSpan> {
    match spec {
        RangeSpec::FromTo { first, last } if first < len => {
            let last = last.map_or(len - 1, |l| l.min(len - 1));
            Some(ByteSpan {
                start: first,
                len: last - first + 1,
            })
        }
        RangeSpec::FromTo { .. } => None,
        RangeSpec::Suffix(0) => None,
        RangeSpec::Suffix(_) if len == 0 => None,
        RangeSpec::Suffix(n) => {
            let n = n.min(len);
            Some(ByteSpan {
                start: len - n,
                len: n,
            })
        }
    }
}

/// Decide what a GET with `Range: value` gets for a representation of `len` bytes.
pub fn plan_ranges(value: &[u8], len: u64) -> RangePlan {
    let specs = match parse_range(value) {
        Ok(Some(specs)) => specs,
        Ok(None) | Err(_) => return RangePlan::Whole,
    };
    let mut spans: Vec<ByteSpan> = specs.into_iter().filter_map(|s| satisfy(s, len)).collect();
    coalesce(&mut spans);
    match spans.len() {
        0 => RangePlan::Unsatisfiable,
        1 => RangePlan::Single(spans[0]),
        _ => RangePlan::Multi(spans),
    }
}

/// Sort spans by offset and merge those that overlap or touch.
fn coalesce(spans: &mut Vec<ByteSpan>) {
    spans.sort_by_key(|s| s.start);
    let mut merged: Vec<ByteSpan> = Vec::with_capacity(spans.len());
    for span in spans.drain(..) {
        match merged.last_mut() {
            Some(prev) if span.start <= prev.start + prev.len => {
                let end = (prev.start + prev.len).max(span.start + span.len);
                prev.len = end - prev.start;
            }
            _ => merged.push(span),
        }
    }
    *spans = merged;
}

/// A `Content-Range: bytes first-last/complete` (or `*/complete`) value (RFC 9110 §14.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentRange {
    /// None for `bytes */LEN` (unsatisfied range).
    pub span: Option<ByteSpan>,
    /// None for `/*` (unknown length).
    pub complete: Option<u64>,
}

/// Parse a Content-Range value; `BadRange` when malformed or self-contradictory.
pub fn parse_content_range(value: &[u8]) -> Result<ContentRange, ProtoError> {
    let value = std::str::from_utf8(value).map_err(|_| ProtoError::BadRange)?;
    let rest = value.trim();
    let rest = match rest.get(..6) {
        Some(unit) if unit.eq_ignore_ascii_case("bytes ") => &rest[6..],
        _ => return Err(ProtoError::BadRange),
    };
    let (range, complete) = rest.split_once('/').ok_or(ProtoError::BadRange)?;
    let complete = match complete {
        "*" => None,
        n => Some(parse_digits(n)?),
    };
    let span = match range {
        "*" if complete.is_some() => None,
        _ => {
            let (first, last) = range.split_once('-').ok_or(ProtoError::BadRange)?;
            let (first, last) = (parse_digits(first)?, parse_digits(last)?);
            if last < first || complete.is_some_and(|c| last >= c) {
                return Err(ProtoError::BadRange);
            }
            // The peer's digits must not overflow our arithmetic: the exclusive end (last + 1)
            // must fit a u64, so `0-18446744073709551615/*` (2^64 bytes) and even
            // `1-18446744073709551615/*` (whose `ByteSpan::last` would overflow) are refused.
            let end = last.checked_add(1).ok_or(ProtoError::BadRange)?;
            Some(ByteSpan {
                start: first,
                len: end - first,
            })
        }
    };
    Ok(ContentRange { span, complete })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::testing::xorshift;
    use RangePlan::*;

    fn span(start: u64, len: u64) -> ByteSpan {
        ByteSpan { start, len }
    }

    #[test]
    fn parses_range_sets() {
        use RangeSpec::*;
        type Parsed = Result<Option<Vec<RangeSpec>>, ProtoError>;
        let table: &[(&str, Parsed)] = &[
            (
                "bytes=0-499",
                Ok(Some(vec![FromTo {
                    first: 0,
                    last: Some(499),
                }])),
            ),
            (
                "BYTES=5-",
                Ok(Some(vec![FromTo {
                    first: 5,
                    last: None,
                }])),
            ),
            ("bytes=-20", Ok(Some(vec![Suffix(20)]))),
            (
                " bytes= 1-2 , ,\t-3 ,",
                Ok(Some(vec![
                    FromTo {
                        first: 1,
                        last: Some(2),
                    },
                    Suffix(3),
                ])),
            ),
            ("items=0-5", Ok(None)),
            ("none=x", Ok(None)),
            ("bytes=", Err(ProtoError::BadRange)),
            ("bytes=,", Err(ProtoError::BadRange)),
            ("bytes=-", Err(ProtoError::BadRange)),
            ("bytes=5-1", Err(ProtoError::BadRange)),
            ("bytes=+1-2", Err(ProtoError::BadRange)),
            ("bytes=1 -2", Err(ProtoError::BadRange)),
            ("bytes=a-b", Err(ProtoError::BadRange)),
            ("bytes=1-2-3", Err(ProtoError::BadRange)),
            ("bytes=99999999999999999999-", Err(ProtoError::BadRange)),
            ("bytes 0-1", Err(ProtoError::BadRange)),
            ("=0-1", Err(ProtoError::BadRange)),
            ("by tes=0-1", Err(ProtoError::BadRange)),
        ];
        for (input, want) in table {
            assert_eq!(&parse_range(input.as_bytes()), want, "{input}");
        }
    }

    #[test]
    fn caps_the_number_of_specs() {
        let at_cap = format!("bytes={}", vec!["0-0"; MAX_RANGES].join(","));
        assert_eq!(
            parse_range(at_cap.as_bytes()).unwrap().unwrap().len(),
            MAX_RANGES
        );
        let over = format!("{at_cap},1-1");
        assert_eq!(parse_range(over.as_bytes()), Err(ProtoError::BadRange));
    }

    #[test]
    fn plans_against_a_length() {
        let table: &[(&str, u64, RangePlan)] = &[
            ("bytes=0-0", 10, Single(span(0, 1))),
            ("bytes=0-99", 10, Single(span(0, 10))),
            ("bytes=9-", 10, Single(span(9, 1))),
            ("bytes=10-", 10, Unsatisfiable),
            ("bytes=10-20", 10, Unsatisfiable),
            ("bytes=-3", 10, Single(span(7, 3))),
            ("bytes=-30", 10, Single(span(0, 10))),
            ("bytes=-0", 10, Unsatisfiable),
            ("bytes=-1", 0, Unsatisfiable),
            ("bytes=0-", 0, Unsatisfiable),
            ("bytes=0-1,4-5", 10, Multi(vec![span(0, 2), span(4, 2)])),
            ("bytes=4-5,0-1", 10, Multi(vec![span(0, 2), span(4, 2)])),
            (
                "bytes=0-1,20-30,-2",
                10,
                Multi(vec![span(0, 2), span(8, 2)]),
            ),
            ("bytes=0-1,2-3", 10, Single(span(0, 4))),
            ("bytes=0-5,3-8", 10, Single(span(0, 9))),
            ("bytes=0-,0-,0-", 10, Single(span(0, 10))),
            ("bytes=2-3,0-9", 10, Single(span(0, 10))),
            ("bytes=0-0,-1", 1, Single(span(0, 1))),
            ("bytes=20-30,40-", 10, Unsatisfiable),
            ("bytes=5-1", 10, Whole),
            ("lines=1-2", 10, Whole),
            ("garbage", 10, Whole),
        ];
        for (input, len, want) in table {
            assert_eq!(
                &plan_ranges(input.as_bytes(), *len),
                want,
                "{input} of {len}"
            );
        }
        let too_many = format!("bytes={}", vec!["0-0"; MAX_RANGES + 1].join(","));
        assert_eq!(plan_ranges(too_many.as_bytes(), 10), Whole);
    }

    /// Random strings over the Range alphabet (fixed-seed xorshift): never a panic, and every
    /// planned span lies inside the representation, sorted and disjoint.
    #[test]
    fn random_range_values_plan_spans_inside_the_length() {
        let mut next = xorshift(0x2545_f491_4f6c_dd1d);
        let alphabet = b"bytes=0123456789-, \t";
        for _ in 0..5000 {
            let n = (next() % 24) as usize;
            let mut value = b"bytes=".to_vec();
            value.extend((0..n).map(|_| alphabet[(next() as usize) % alphabet.len()]));
            let len = next() % 2000;
            let spans = match plan_ranges(&value, len) {
                Single(s) => vec![s],
                Multi(v) => v,
                Whole | Unsatisfiable => continue,
            };
            let mut end = 0;
            for s in spans {
                assert!(
                    s.len > 0 && s.start >= end && s.start + s.len <= len,
                    "{value:?}"
                );
                end = s.start + s.len + 1;
            }
        }
    }

    #[test]
    fn parses_content_range() {
        let ok = |s: Option<ByteSpan>, c: Option<u64>| {
            Ok(ContentRange {
                span: s,
                complete: c,
            })
        };
        let table: &[(&str, Result<ContentRange, ProtoError>)] = &[
            ("bytes 0-9/10", ok(Some(span(0, 10)), Some(10))),
            ("bytes 5-5/*", ok(Some(span(5, 1)), None)),
            ("bytes */42", ok(None, Some(42))),
            ("Bytes 1-2/3", ok(Some(span(1, 2)), Some(3))),
            ("bytes 0-10/10", Err(ProtoError::BadRange)),
            ("bytes 5-4/10", Err(ProtoError::BadRange)),
            ("bytes */*", Err(ProtoError::BadRange)),
            ("bytes 0-1", Err(ProtoError::BadRange)),
            ("items 0-1/2", Err(ProtoError::BadRange)),
            ("bytes -1-2/3", Err(ProtoError::BadRange)),
            ("bytes", Err(ProtoError::BadRange)),
            ("bytes 0-18446744073709551615/*", Err(ProtoError::BadRange)),
            ("bytes 1-18446744073709551615/*", Err(ProtoError::BadRange)),
            (
                "bytes 1-18446744073709551614/*",
                ok(Some(span(1, u64::MAX - 1)), None),
            ),
        ];
        for (input, want) in table {
            assert_eq!(&parse_content_range(input.as_bytes()), want, "{input}");
        }
    }
}
