//! Test-only helpers for the unit tables of `proto` and its callers (compiled only under
//! `cfg(test)`): the deterministic generator behind the mutation tests.

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
