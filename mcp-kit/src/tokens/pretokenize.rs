//! The `o200k_base` pre-tokenizer, by hand: the text is cut into pieces
//! exactly where OpenAI's pattern cuts it, and BPE never merges across
//! pieces.
//!
//! The pattern (`tiktoken-rs`'s `O200K_BASE_PAT_STR`, OpenAI's
//! `o200k_base` `pat_str`) is seven alternatives tried in order at each
//! position, the first that matches winning (leftmost-first, as a
//! backtracking engine does):
//!
//! ```text
//! 1  [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?
//! 2  [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?
//! 3  \p{N}{1,3}
//! 4   ?[^\s\p{L}\p{N}]+[\r\n/]*
//! 5  \s*[\r\n]+
//! 6  \s+(?!\S)
//! 7  \s+
//! ```
//!
//! Each alternative is a function below that returns where its match ends,
//! resolving the pattern's backtracking explicitly:
//!
//! * In `[U]*[L]+` (1) the two classes overlap (`Lm`, `Lo` and marks are in
//!   both): the `U` run is taken whole, then a following `L` run; if none
//!   follows, the run gives back characters up to its last `L` character,
//!   which becomes the `L+`.
//! * The optional prefix `[^\r\n\p{L}\p{N}]?` is tried first with a
//!   character, then without. Only a mark is both a prefix and a letter of
//!   the runs, so only a mark can match 1 without its prefix.
//! * `\s*[\r\n]+` (5) ends after the last `\r`/`\n` of the whitespace run.
//! * `\s+(?!\S)` (6) is the whole run at the end of the text, the run but
//!   its last character before anything else (that character then prefixes
//!   the next word), and fails on a single character, which 7 takes.
//! * The case-insensitive contractions include `'ſ` (U+017F folds to `s`).
//!
//! Every character starts some alternative (letters 1 or 2, marks 1,
//! numbers 3, other non-space characters 4, whitespace 5–7), so the pieces
//! cover the text with no gap. `tests/tokens.rs` checks the result against
//! `tiktoken-rs`, which runs the pattern itself with `fancy-regex`.

use super::classes::{BLOCK_BITS, DIGIT, LOWER, NEWLINE, PREFIX, PUNCT, SPACE, UPPER};
use super::tables::{ASCII, BLOCK_OF, BLOCKS};

/// The class flags of the character that starts at byte `i` of `text`, and
/// its length in bytes; `(0, 0)` at the end of the text.
#[inline]
fn at(text: &str, i: usize) -> (u8, usize) {
    let Some(&byte) = text.as_bytes().get(i) else {
        return (0, 0);
    };
    if let Some(&f) = ASCII.get(usize::from(byte)) {
        return (f, 1);
    }
    match text.get(i..).and_then(|rest| rest.chars().next()) {
        Some(c) => (flags(u32::from(c)), c.len_utf8()),
        None => (0, 0),
    }
}

/// The class flags of a code point (see `classes.rs`).
#[inline]
fn flags(cp: u32) -> u8 {
    let block = BLOCK_OF
        .get((cp >> BLOCK_BITS) as usize)
        .copied()
        .unwrap_or(0);
    let offset = ((block as usize) << BLOCK_BITS) | (cp as usize & ((1 << BLOCK_BITS) - 1));
    BLOCKS.get(offset).copied().unwrap_or(0)
}

/// The end of the piece that starts at byte `i` of `text` (`i` on a
/// character boundary, before the end). Always past `i`.
pub(super) fn piece_end(text: &str, i: usize) -> usize {
    let (first, len) = at(text, i);
    let end = if first & PREFIX == 0 && first & (UPPER | LOWER) != 0 {
        // A letter: 1 without a prefix (1 always matches a lowercase letter or
        // an Lm/Lo one), else 2 (an uppercase run).
        letters_lower(text, i).or_else(|| letters_upper(text, i))
    } else if first & PREFIX != 0 {
        // A prefix, then 1 or 2; a mark may be the first letter of 1 instead.
        let word = letters_lower(text, i + len);
        let word = if word.is_none() && first & LOWER != 0 {
            letters_lower(text, i)
        } else {
            word
        };
        word.or_else(|| letters_upper(text, i + len))
    } else {
        None
    };
    let end = match end {
        Some(end) => contraction(text, end),
        None if first & DIGIT != 0 => digits(text, i),
        None if first & PUNCT != 0 => punctuation(text, i),
        None if text.as_bytes().get(i) == Some(&b' ') && at(text, i + 1).0 & PUNCT != 0 => {
            punctuation(text, i + 1)
        }
        None => whitespace(text, i),
    };
    // Every branch consumes the first character; the guard only makes
    // progress unconditional.
    end.max(i + len.max(1))
}

/// `[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+` from `j`,
/// as a backtracking engine matches it.
fn letters_lower(text: &str, j: usize) -> Option<usize> {
    let mut p = j;
    let mut last_lower_end = None;
    loop {
        let (f, len) = at(text, p);
        if f & UPPER == 0 {
            break;
        }
        p += len;
        if f & LOWER != 0 {
            last_lower_end = Some(p);
        }
    }
    let (f, len) = at(text, p);
    if f & LOWER == 0 {
        // Give back up to the run's last character that is also lowercase.
        return last_lower_end;
    }
    p += len;
    Some(run(text, p, LOWER))
}

/// `[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*` from `j`.
fn letters_upper(text: &str, j: usize) -> Option<usize> {
    let p = run(text, j, UPPER);
    (p > j).then(|| run(text, p, LOWER))
}

/// The end of the run of characters with `flag` from `p`.
#[inline]
fn run(text: &str, mut p: usize, flag: u8) -> usize {
    loop {
        let (f, len) = at(text, p);
        if f & flag == 0 {
            return p;
        }
        p += len;
    }
}

/// `(?i:'s|'t|'re|'ve|'m|'ll|'d)?` at `end`.
fn contraction(text: &str, end: usize) -> usize {
    let b = text.as_bytes();
    if b.get(end) != Some(&b'\'') {
        return end;
    }
    let second = b.get(end + 2).copied().unwrap_or(0);
    match b.get(end + 1).copied().unwrap_or(0) {
        b's' | b'S' | b't' | b'T' | b'm' | b'M' | b'd' | b'D' => end + 2,
        b'r' | b'R' | b'v' | b'V' if second | 0x20 == b'e' => end + 3,
        b'l' | b'L' if second | 0x20 == b'l' => end + 3,
        // U+017F LATIN SMALL LETTER LONG S, which case-folds to `s`.
        0xC5 if second == 0xBF => end + 3,
        _ => end,
    }
}

/// `\p{N}{1,3}` from `i`.
fn digits(text: &str, i: usize) -> usize {
    let mut p = i;
    for _ in 0..3 {
        let (f, len) = at(text, p);
        if f & DIGIT == 0 {
            break;
        }
        p += len;
    }
    p
}

/// `[^\s\p{L}\p{N}]+[\r\n/]*` from `j` (the optional space before is the
/// caller's).
fn punctuation(text: &str, j: usize) -> usize {
    let mut p = run(text, j, PUNCT);
    while matches!(text.as_bytes().get(p), Some(b'\r' | b'\n' | b'/')) {
        p += 1;
    }
    p
}

/// `\s*[\r\n]+|\s+(?!\S)|\s+` from `i`.
fn whitespace(text: &str, i: usize) -> usize {
    let (mut p, mut last_start, mut after_newline) = (i, i, None);
    loop {
        let (f, len) = at(text, p);
        if f & SPACE == 0 {
            break;
        }
        last_start = p;
        p += len;
        if f & NEWLINE != 0 {
            after_newline = Some(p);
        }
    }
    match after_newline {
        Some(end) => end,
        None if p < text.len() && last_start > i => last_start,
        None => p,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < text.len() {
            let end = piece_end(text, i);
            out.push(&text[i..end]);
            i = end;
        }
        out
    }

    #[test]
    fn cuts_like_the_pattern() {
        assert_eq!(
            pieces("Hello world's   end\n\n  x"),
            ["Hello", " world's", "  ", " end", "\n\n", " ", " x"]
        );
        assert_eq!(
            pieces("CamelCase HTTPServer"),
            ["Camel", "Case", " HTTPServer"]
        );
        assert_eq!(
            pieces("12345 a.b/\n/c"),
            ["123", "45", " a", ".b", "/\n/", "c"]
        );
        assert_eq!(pieces("x  \t"), ["x", "  \t"]);
        assert_eq!(pieces(" !? 7"), [" !?", " ", "7"]);
        assert_eq!(pieces("WE'LL it'ſ"), ["WE'LL", " it'ſ"]);
    }

    /// The flags table agrees with the `regex` crate on every code point.
    #[test]
    fn class_table_matches_the_regex_crate() {
        let classes: Vec<(regex::Regex, u8)> = super::super::classes::CLASSES
            .iter()
            .map(|(pattern, flag)| (regex::Regex::new(&format!("^{pattern}$")).unwrap(), *flag))
            .collect();
        let mut buf = [0u8; 4];
        for c in (0..=0x10_FFFF).filter_map(char::from_u32) {
            let text = c.encode_utf8(&mut buf);
            let want = classes
                .iter()
                .filter(|(re, _)| re.is_match(text))
                .fold(0, |acc, (_, flag)| acc | flag);
            assert_eq!(flags(u32::from(c)), want, "U+{:04X}", u32::from(c));
        }
    }

    /// The contractions' case folding is what `(?i:…)` folds.
    #[test]
    fn contractions_fold_like_the_regex_crate() {
        let re = regex::Regex::new("^(?i:'s|'t|'re|'ve|'m|'ll|'d)").unwrap();
        let letters: Vec<char> = (0..=0x10_FFFF)
            .filter_map(char::from_u32)
            .filter(|c| re.is_match(&format!("'{c}")) || re.is_match(&format!("'{c}e")))
            .chain(['l', 'L', 'ſ', 'K', 'é'])
            .collect();
        for a in &letters {
            for b in ['e', 'E', 'l', 'L', 'x', 'ſ'] {
                let text = format!("'{a}{b}");
                let want = re.find(&text).map_or(0, |m| m.end());
                assert_eq!(contraction(&text, 0), want, "{text:?}");
            }
        }
    }
}
