//! Fuzz `Retry-After` and the retry timing it feeds: `fetch::retry::{parse_retry_after,
//! next_delay, may_retry}`.
//!
//! Input: bytes 0-7 a clock (seconds since the epoch, below year 10000), byte 8 a retry
//! number, byte 9 a jitter, the rest the field value.
//! Checks: delay-seconds (1*DIGIT after trimming) give exactly that many seconds (saturating
//! at u64::MAX); otherwise the value is an HTTP-date exactly when httpdate parses it, and the
//! wait is the date minus the clock, never negative; the next delay never exceeds 10 minutes
//! with or without Retry-After, and backoff without it is at least half its step; may_retry
//! refuses once the retries are spent or the wait would pass --retry-max-time.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rawhttp::fetch::retry::{
    may_retry, next_delay, parse_retry_after, RetryPolicy, FIRST_DELAY, MAX_DELAY,
};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn check_value(value: &[u8], now: SystemTime) -> Option<Duration> {
    let got = parse_retry_after(value, now);
    let Ok(text) = std::str::from_utf8(value) else {
        assert_eq!(got, None, "non-UTF-8 accepted");
        return got;
    };
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let secs = text.parse::<u64>().unwrap_or(u64::MAX);
        assert_eq!(got, Some(Duration::from_secs(secs)), "{text:?}");
        return got;
    }
    match httpdate::parse_http_date(text) {
        Ok(when) => {
            let want = when.duration_since(now).unwrap_or(Duration::ZERO);
            assert_eq!(got, Some(want), "{text:?}");
        }
        Err(_) => assert_eq!(got, None, "{text:?} accepted"),
    }
    got
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 10 {
        return;
    }
    let clock = u64::from_le_bytes(data[..8].try_into().unwrap_or([0; 8])) % 253_402_300_799;
    let now = UNIX_EPOCH + Duration::from_secs(clock);
    let (retry, jitter) = (u32::from(data[8]), f64::from(data[9]) / 256.0);
    let retry_after = check_value(&data[10..], now);
    let policy = RetryPolicy {
        max_retries: u32::from(data[9] % 8),
        fixed_delay: None,
        max_time: Some(Duration::from_secs(u64::from(data[8]) * 3)),
    };
    let delay = next_delay(&policy, retry, retry_after, jitter);
    assert!(delay <= MAX_DELAY, "{delay:?}");
    if retry_after.is_none() {
        let step = FIRST_DELAY
            .saturating_mul(1u32.checked_shl(retry).unwrap_or(u32::MAX))
            .min(MAX_DELAY);
        assert!(
            delay >= step / 2 && delay <= step,
            "{delay:?} for step {step:?}"
        );
    }
    let elapsed = Duration::from_secs(u64::from(data[9]));
    let may = may_retry(&policy, retry, elapsed, delay);
    if retry >= policy.max_retries || elapsed + delay > policy.max_time.unwrap_or(Duration::MAX) {
        assert!(!may, "retry {retry} allowed past the policy {policy:?}");
    } else {
        assert!(may, "retry {retry} refused within the policy {policy:?}");
    }
});
