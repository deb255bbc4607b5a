//! The prefilter: which signatures can match a text at all, from the literals
//! their patterns require (see the catalogue's essay in the parent module).

use regex::bytes::{RegexSet, RegexSetBuilder};

use super::Signature;

/// The candidate finder of a catalogue (see the module's essay).
pub(super) struct Prefilter {
    pub(super) set: RegexSet,
    pub(super) owner: Vec<usize>,
    pub(super) always: Vec<usize>,
}

impl Prefilter {
    pub(super) fn of(
        signatures: &[Signature],
        size_limit: usize,
    ) -> Result<Prefilter, regex::Error> {
        let mut literals = Vec::new();
        let mut owner = Vec::new();
        let mut always = Vec::new();
        for (i, s) in signatures.iter().enumerate() {
            match &s.literals {
                Some(lits) => {
                    for l in lits {
                        literals.push(format!("(?-u){}", regex::escape(l)));
                        owner.push(i);
                    }
                }
                None => always.push(i),
            }
        }
        let set = RegexSetBuilder::new(literals)
            .size_limit(size_limit)
            .dfa_size_limit(SET_DFA_SIZE_LIMIT)
            .build()?;
        Ok(Prefilter { set, owner, always })
    }
}

/// Compiled size limits of the set: a few hundred patterns need more than the
/// defaults (10 MiB, 2 MiB).
pub(super) const SET_SIZE_LIMIT: usize = 64 << 20;
const SET_DFA_SIZE_LIMIT: usize = 16 << 20;

/// The shortest literal worth prefiltering on: shorter ones match nearly
/// every text and save nothing.
const MIN_LITERAL: usize = 3;

/// The literals a text must contain (ASCII-lowercased) for `pattern` to
/// match it: one per top-level alternative, the longest run of plain
/// characters in it. `None` when some alternative has no such run (or the
/// pattern uses flags this simple reading does not follow), in which case
/// the signature is tried on every text.
///
/// This reads a conservative subset of the syntax: groups, classes, `.`,
/// anchors and escapes other than escaped punctuation end a run; a character
/// made optional by `?`, `*` or `{0,...}` is dropped from it. Whatever it
/// returns is a necessary condition for a match, never a sufficient one.
pub(super) fn required_literals(pattern: &str) -> Option<Vec<String>> {
    if pattern.contains("(?x") || pattern.contains("(?u") || pattern.contains("(?-x") {
        return None;
    }
    let mut out = Vec::new();
    for alternative in split_top_level(pattern) {
        let lit = longest_run(alternative)?;
        if lit.len() < MIN_LITERAL {
            return None;
        }
        out.push(lit);
    }
    Some(out)
}

/// `pattern` split at its top-level `|`.
fn split_top_level(pattern: &str) -> Vec<&str> {
    let b = pattern.as_bytes();
    let (mut depth, mut in_class, mut i, mut start) = (0usize, false, 0usize, 0usize);
    let mut parts = Vec::new();
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'[' if !in_class => {
                in_class = true;
                // A `]` right after `[` or `[^` is a literal.
                if b.get(i + 1) == Some(&b'^') {
                    i += 1;
                }
                if b.get(i + 1) == Some(&b']') {
                    i += 1;
                }
            }
            b']' if in_class => in_class = false,
            b'(' if !in_class => depth += 1,
            b')' if !in_class => depth = depth.saturating_sub(1),
            b'|' if !in_class && depth == 0 => {
                parts.push(&pattern[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(&pattern[start..]);
    parts
}

/// The longest run of plain characters in one alternative, lowercased;
/// `None` if the alternative cannot be read.
fn longest_run(alt: &str) -> Option<String> {
    let chars: Vec<char> = alt.chars().collect();
    let (mut best, mut run) = (String::new(), String::new());
    let end_run = |run: &mut String, best: &mut String| {
        if run.len() > best.len() {
            *best = run.clone();
        }
        run.clear();
    };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        // The character (if any) this token contributes, and where it ends.
        let (lit, next) = match c {
            '\\' => {
                let e = *chars.get(i + 1)?;
                if matches!(e, 'x' | 'u' | 'U' | 'p' | 'P') {
                    return None;
                }
                let lit = match e {
                    'n' => Some('\n'),
                    't' => Some('\t'),
                    e if e.is_ascii_punctuation() => Some(e),
                    _ => None,
                };
                (lit, i + 2)
            }
            '[' => {
                let mut j = i + 1;
                if chars.get(j) == Some(&'^') {
                    j += 1;
                }
                if chars.get(j) == Some(&']') {
                    j += 1;
                }
                while j < chars.len() && chars[j] != ']' {
                    if chars[j] == '\\' {
                        j += 1;
                    }
                    j += 1;
                }
                if j >= chars.len() {
                    return None;
                }
                (None, j + 1)
            }
            '(' => {
                let (mut depth, mut j, mut in_class) = (0usize, i, false);
                loop {
                    match *chars.get(j)? {
                        '\\' => j += 1,
                        '[' if !in_class => in_class = true,
                        ']' if in_class => in_class = false,
                        '(' if !in_class => depth += 1,
                        ')' if !in_class => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
                (None, j + 1)
            }
            '.' | '^' | '$' => (None, i + 1),
            ')' | '|' | '*' | '+' | '?' | '{' => return None,
            c => (Some(c), i + 1),
        };
        // A quantifier after the token.
        let (optional, repeated, after) = match chars.get(next) {
            Some('?') | Some('*') => (true, true, next + 1),
            Some('+') => (false, true, next + 1),
            Some('{') => {
                let close = chars[next..].iter().position(|&c| c == '}')? + next;
                let min: String = chars[next + 1..close]
                    .iter()
                    .take_while(|c| c.is_ascii_digit())
                    .collect();
                (min.is_empty() || min == "0", true, close + 1)
            }
            _ => (false, false, next),
        };
        // A lazy or possessive marker after the quantifier.
        let after = if repeated && chars.get(after) == Some(&'?') {
            after + 1
        } else {
            after
        };
        match lit {
            Some(l) if !optional => {
                run.push(l.to_ascii_lowercase());
                if repeated {
                    end_run(&mut run, &mut best);
                }
            }
            _ => end_run(&mut run, &mut best),
        }
        i = after;
    }
    end_run(&mut run, &mut best);
    Some(best)
}
