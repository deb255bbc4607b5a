//! The layout of the vocabulary index, in a file of its own because two
//! programs must agree on it bit for bit: `build.rs` places every token by
//! it (`#[path]`-included there), and the counter probes the index with it.
//! Platform-independent: little-endian words, wrapping 64-bit arithmetic.
//!
//! A slot is a `u64`: the token's rank and length, then either its bytes
//! themselves (tokens of up to [`INLINE_MAX`] bytes: a probe for them never
//! leaves the index) or where they start in the byte table and a tag (more
//! bits of the hash). A probe compares length and tag first, so it reads a
//! token's bytes only when they are almost certainly the ones it looks for.
//! An empty slot is 0 (no token is empty).

/// The odd multiplier of Fibonacci hashing (2^64 / φ).
const K: u64 = 0x9E37_79B9_7F4A_7C15;

/// Bits of the index (2^18 = 262,144 slots for 199,998 tokens).
pub(super) const INDEX_BITS: u32 = 18;

/// Bits of a slot's rank, length, offset and tag, from the lowest.
pub(super) const RANK_BITS: u32 = 18;
/// See [`RANK_BITS`].
pub(super) const LEN_BITS: u32 = 8;
/// See [`RANK_BITS`].
pub(super) const OFFSET_BITS: u32 = 21;
/// See [`RANK_BITS`].
pub(super) const TAG_BITS: u32 = 64 - RANK_BITS - LEN_BITS - OFFSET_BITS;

/// Tokens of up to this many bytes are stored in their slot.
pub(super) const INLINE_MAX: usize = 4;

const LEN_SHIFT: u32 = RANK_BITS;
const BODY_SHIFT: u32 = RANK_BITS + LEN_BITS;
const TAG_SHIFT: u32 = BODY_SHIFT + OFFSET_BITS;

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
        h = (h ^ word(rest)).wrapping_mul(K).rotate_left(29);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    h ^= h >> 33;
    h = h.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    h ^ (h >> 33)
}

/// Up to 8 bytes as a zero-padded little-endian word, by overlapping
/// fixed-size loads (a variable-length copy would cost a `memcpy` call and a
/// store-forwarding stall on the hottest path). 0 past 8 bytes.
#[inline]
pub(super) fn word(bytes: &[u8]) -> u64 {
    let n = bytes.len();
    match bytes {
        [] => 0,
        [a] => u64::from(*a),
        [a, b] => u64::from(*a) | u64::from(*b) << 8,
        [a, b, c] => u64::from(*a) | u64::from(*b) << 8 | u64::from(*c) << 16,
        [a, b, c, d, ..] if n <= 8 => {
            let lo = u64::from(u32::from_le_bytes([*a, *b, *c, *d]));
            let hi = match bytes.get(n - 4..) {
                Some(&[e, f, g, h]) => u64::from(u32::from_le_bytes([e, f, g, h])),
                _ => 0,
            };
            // The loads overlap on 8 - n bytes, identical in both: OR is exact.
            lo | hi << ((n - 4) * 8)
        }
        _ => 0,
    }
}

/// The first slot to probe for `hash`: its top [`INDEX_BITS`] bits.
pub(super) fn home(hash: u64) -> usize {
    (hash >> (64 - INDEX_BITS)) as usize
}

/// What a slot holding `bytes` (whose hash is `hash`) has under the mask:
/// (bits, mask). For a short token, its length and bytes; for a longer
/// one, its length and tag (the hash's low bits).
pub(super) fn key(hash: u64, bytes: &[u8]) -> (u64, u64) {
    let len = (bytes.len() as u64) << LEN_SHIFT;
    if bytes.len() <= INLINE_MAX {
        let inline = word(bytes) << BODY_SHIFT;
        (inline | len, !((1 << LEN_SHIFT) - 1))
    } else {
        let tag = (hash & ((1 << TAG_BITS) - 1)) << TAG_SHIFT;
        let mask = ((1 << LEN_BITS) - 1) << LEN_SHIFT | ((1 << TAG_BITS) - 1) << TAG_SHIFT;
        (tag | len, mask)
    }
}

/// A slot for the token `bytes` of `rank`, at `offset` in the byte table.
#[allow(dead_code)] // build.rs writes the slots; the counter only reads them.
pub(super) fn slot(hash: u64, rank: u32, offset: usize, bytes: &[u8]) -> u64 {
    let (key, _) = key(hash, bytes);
    let offset = if bytes.len() <= INLINE_MAX {
        0
    } else {
        (offset as u64) << BODY_SHIFT
    };
    key | offset | u64::from(rank)
}

/// A slot's rank.
pub(super) fn rank(slot: u64) -> u32 {
    (slot & ((1 << RANK_BITS) - 1)) as u32
}

/// A slot's length in bytes.
#[cfg_attr(not(test), allow(dead_code))] // the vocabulary test reads slots back
pub(super) fn len(slot: u64) -> usize {
    ((slot >> LEN_SHIFT) & ((1 << LEN_BITS) - 1)) as usize
}

/// A slot's token, when it is stored in the slot.
#[cfg_attr(not(test), allow(dead_code))] // the vocabulary test reads slots back
pub(super) fn inline(slot: u64) -> Option<[u8; INLINE_MAX]> {
    (len(slot) <= INLINE_MAX).then(|| ((slot >> BODY_SHIFT) as u32).to_le_bytes())
}

/// Where a slot's token starts in the byte table, when it is not inline.
pub(super) fn offset(slot: u64) -> usize {
    ((slot >> BODY_SHIFT) & ((1 << OFFSET_BITS) - 1)) as usize
}
