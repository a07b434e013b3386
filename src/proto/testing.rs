//! Test-only helpers for the unit tables of `proto` and its callers (compiled only under
//! `cfg(test)`): the deterministic generator behind the mutation tests, the request-head
//! refusal the request tables check.

use super::request_head::parse_request_head;
use super::ProtoError;

/// xorshift64 (Marsaglia 2003): deterministic, so a failing mutated input reproduces from its
/// seed, and no dependency is needed for it.
pub fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}

/// The error `parse_request_head` refuses `head` with; panics (failing the test) when it
/// parses or needs more.
pub fn request_head_error(head: &[u8]) -> ProtoError {
    match parse_request_head(head) {
        Err(e) => e,
        other => panic!(
            "expected an error for {:?}, got {other:?}",
            String::from_utf8_lossy(head)
        ),
    }
}
