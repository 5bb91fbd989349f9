//! The one random source: delimiters, jitter, tokens.

/// 64 random bits. RandomState is seeded from the OS's random source, without a dependency.
pub fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u8(0);
    h.finish()
}
