//! The character classes of the `o200k_base` pre-tokenizer pattern, as flags.
//!
//! Like `index.rs`, this file is shared with `build.rs`: the build parses each
//! class of [`CLASSES`] with `regex-syntax` (the parser of the `regex` crate,
//! whose Unicode tables `tiktoken-rs` and OpenAI's patterns are matched with)
//! and writes, for every code point, the OR of the flags of the classes that
//! contain it, as a two-level table the pre-tokenizer reads in O(1).

/// `[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]`: the "upper" run of the letter rules.
pub(super) const UPPER: u8 = 1;
/// `[\p{Ll}\p{Lm}\p{Lo}\p{M}]`: the "lower" run of the letter rules.
pub(super) const LOWER: u8 = 2;
/// `[^\r\n\p{L}\p{N}]`: what may precede a word (a space, a mark, `.` …).
pub(super) const PREFIX: u8 = 4;
/// `[^\s\p{L}\p{N}]`: punctuation, symbols, marks, control characters.
pub(super) const PUNCT: u8 = 8;
/// `\s`: Unicode `White_Space`.
pub(super) const SPACE: u8 = 16;
/// `[\r\n]`.
pub(super) const NEWLINE: u8 = 32;
/// `\p{N}`.
pub(super) const DIGIT: u8 = 64;

/// Every class of the pattern, written as in the pattern, and its flag
/// (read by `build.rs`, and by a test against the `regex` crate).
#[cfg_attr(not(test), allow(dead_code))]
pub(super) const CLASSES: [(&str, u8); 7] = [
    (r"[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]", UPPER),
    (r"[\p{Ll}\p{Lm}\p{Lo}\p{M}]", LOWER),
    (r"[^\r\n\p{L}\p{N}]", PREFIX),
    (r"[^\s\p{L}\p{N}]", PUNCT),
    (r"\s", SPACE),
    (r"[\r\n]", NEWLINE),
    (r"\p{N}", DIGIT),
];

/// Code points per block of the two-level table.
pub(super) const BLOCK_BITS: u32 = 6;
