//! The hash of the vocabulary index, in a file of its own because two
//! programs must agree on it bit for bit: `build.rs` places every token of
//! the vocabulary by it (`#[path]`-included there), and the counter probes
//! the index with it. Platform-independent: little-endian words, wrapping
//! 64-bit arithmetic.

/// The odd multiplier of Fibonacci hashing (2^64 / φ).
const K: u64 = 0x9E37_79B9_7F4A_7C15;

/// Bits of the index (2^18 = 262,144 slots for 199,998 tokens).
pub(super) const INDEX_BITS: u32 = 18;

/// Bits of a slot that hold `rank + 1` (0 is an empty slot); the other
/// 32 - 18 = 14 bits hold a tag, more bits of the hash, so a probe that
/// meets another token almost never reads that token's bytes.
pub(super) const RANK_BITS: u32 = 18;

/// Hashes a token's bytes: eight bytes at a time (the last word
/// zero-padded, the length folded in so padding cannot collide), then
/// MurmurHash3's 64-bit finalizer.
pub(super) fn hash(bytes: &[u8]) -> u64 {
    let mut h = (bytes.len() as u64).wrapping_mul(K);
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        h = (h ^ u64::from_le_bytes(word))
            .wrapping_mul(K)
            .rotate_left(29);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut word = [0u8; 8];
        word[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(word))
            .wrapping_mul(K)
            .rotate_left(29);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    h ^= h >> 33;
    h = h.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    h ^ (h >> 33)
}

/// The first slot to probe for `hash`: its top [`INDEX_BITS`] bits.
pub(super) fn home(hash: u64) -> usize {
    (hash >> (64 - INDEX_BITS)) as usize
}

/// The tag stored beside a rank: the hash's low bits.
pub(super) fn tag(hash: u64) -> u32 {
    (hash as u32) & ((1 << (32 - RANK_BITS)) - 1)
}
