//! What the unit tests share.

/// Marsaglia's xorshift32 from `seed` (not 0): the fixed stream of numbers
/// the randomised tests draw from, the same on every run.
pub(crate) fn xorshift32(mut x: u32) -> impl FnMut() -> u32 {
    move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    }
}

/// Marsaglia's xorshift64 (shifts 13, 7, 17) from `seed` (not 0).
pub(crate) fn xorshift64(mut x: u64) -> impl FnMut() -> u64 {
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}
