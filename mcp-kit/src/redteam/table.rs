//! The red-team table: planted secrets and look-alikes, each with where that
//! shape is seen. Included by `redteam.rs`; edit rows here.
//!
//! Rules for rows: every secret is unique in the table (a leak is attributed
//! by finding the secret in an output) and at least 6 characters long; no
//! look-alike contains a planted secret.
//!
//! The rows live in one file per family (`table/*.rs`); this file joins them
//! into the two tables the tests read.

mod look_alikes;
mod planted_config;
mod planted_text;

/// (where the shape is seen, the text as it appears there, the secret in it).
type Planted = (&'static str, &'static str, &'static str);
/// (where the text is seen, text that looks secret-ish but is not).
type LookAlike = (&'static str, &'static str);

const PLANTED_PARTS: &[&[Planted]] = &[planted_config::ROWS, planted_text::ROWS];

/// How many rows `parts` hold together.
const fn total<T>(parts: &[&[T]]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < parts.len() {
        n += parts[i].len();
        i += 1;
    }
    n
}

/// The rows of `parts`, in order, as one array (a `const` slice cannot be
/// built from several otherwise).
const fn concat<const N: usize>(parts: &[&[Planted]]) -> [Planted; N] {
    let mut out = [("", "", ""); N];
    let (mut i, mut at) = (0, 0);
    while i < parts.len() {
        let mut j = 0;
        while j < parts[i].len() {
            out[at] = parts[i][j];
            at += 1;
            j += 1;
        }
        i += 1;
    }
    out
}

/// (where the shape is seen, the text as it appears there, the secret in it).
pub const PLANTED: &[Planted] = &concat::<{ total(PLANTED_PARTS) }>(PLANTED_PARTS);

/// (where the text is seen, text that looks secret-ish but is not).
pub const LOOK_ALIKES: &[LookAlike] = look_alikes::ROWS;
