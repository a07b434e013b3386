//! Fuzz `proto::range`: `parse_range`, `satisfy`, `plan_ranges` and `parse_content_range`.
//!
//! Input: byte 0 picks how the representation length is read (two bytes, mostly small, or
//! eight, any u64), the rest is the field value.
//! Checks: an accepted range set has 1..=MAX_RANGES specs with last >= first; every span
//! lies within the length (start + len <= length, computed without overflow) and is non-empty;
//! a multi-part plan is sorted, disjoint, non-adjacent, with 2..=MAX_RANGES parts; the plan is
//! `Whole` exactly when the value is not a usable bytes range, and `Unsatisfiable` exactly when
//! no spec is satisfiable; a Content-Range span is non-empty, inside its complete length, and
//! its last byte is computable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rawhttp::proto::limits::MAX_RANGES;
use rawhttp::proto::range::{
    parse_content_range, parse_range, plan_ranges, satisfy, ByteSpan, RangePlan, RangeSpec,
};

fn check_span(span: ByteSpan, len: u64) {
    assert!(span.len >= 1, "{span:?}");
    let end = span.start.checked_add(span.len).expect("span end overflows");
    assert!(end <= len, "{span:?} outside {len}");
    assert_eq!(span.last(), end - 1);
}

fn check_plan(value: &[u8], len: u64) {
    let specs = match parse_range(value) {
        Ok(Some(specs)) => specs,
        Ok(None) | Err(_) => {
            assert_eq!(plan_ranges(value, len), RangePlan::Whole);
            return;
        }
    };
    assert!((1..=MAX_RANGES).contains(&specs.len()), "{} specs", specs.len());
    let mut satisfiable = 0;
    for spec in &specs {
        if let RangeSpec::FromTo { first, last: Some(last) } = spec {
            assert!(last >= first, "{spec:?}");
        }
        if let Some(span) = satisfy(*spec, len) {
            check_span(span, len);
            satisfiable += 1;
        }
    }
    match plan_ranges(value, len) {
        RangePlan::Whole => panic!("a parsed bytes range planned as Whole"),
        RangePlan::Unsatisfiable => assert_eq!(satisfiable, 0),
        RangePlan::Single(span) => {
            assert!(satisfiable >= 1);
            check_span(span, len);
        }
        RangePlan::Multi(spans) => {
            assert!((2..=MAX_RANGES).contains(&spans.len()) && spans.len() <= satisfiable);
            for pair in spans.windows(2) {
                check_span(pair[0], len);
                assert!(pair[0].start + pair[0].len < pair[1].start, "{spans:?}");
            }
            spans.last().into_iter().for_each(|s| check_span(*s, len));
        }
    }
}

fn check_content_range(value: &[u8]) {
    let Ok(cr) = parse_content_range(value) else {
        return;
    };
    match (cr.span, cr.complete) {
        (None, complete) => assert!(complete.is_some(), "bytes */* accepted"),
        (Some(span), Some(complete)) => check_span(span, complete),
        (Some(span), None) => {
            assert!(span.len >= 1);
            let end = span.start.checked_add(span.len);
            assert!(end.is_some(), "span end overflows: {span:?}");
            let _ = span.last();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let (len, value) = if pick & 1 == 0 {
        let Some((n, value)) = rest.split_first_chunk::<2>() else {
            return;
        };
        (u64::from(u16::from_be_bytes(*n)), value)
    } else {
        let Some((n, value)) = rest.split_first_chunk::<8>() else {
            return;
        };
        (u64::from_be_bytes(*n), value)
    };
    check_plan(value, len);
    check_content_range(value);
});
