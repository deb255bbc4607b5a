//! The response budget: one ceiling on the size of every tool result.
//!
//! MCP hosts paste tool results into a model's context window, where every
//! token costs money, latency and attention. Peer servers return whole pod
//! lists (hundreds of thousands of tokens) or unbounded query results; ours
//! never do. Each server has a budget in **tokens**, counted exactly as a
//! real BPE tokenizer counts them (`o200k_base`, the encoding of current
//! OpenAI models, by the kit's own counter in `src/tokens/`, whose counts
//! `tests/tokens.rs` checks against `tiktoken-rs`) so the figure means what
//! hosts mean by it.
//!
//! # Honest truncation
//!
//! A result that does not fit is cut at a line boundary and ends with a footer
//! that says what was cut and how to get the rest:
//!
//! ```text
//! [truncated by the response budget: showing lines 1-212 of 5,000 (~3,990 of ~94,120 tokens).
//!  Narrow the request (filters, a shorter time range, a lower limit) or call again with cursor="212".]
//! ```
//!
//! Tools that can page call [`Budget::page`] with their own cursor; every other
//! result is still guarded by [`Budget::enforce`], applied by the kit to every
//! result after the tool returns, so no tool can exceed the budget by mistake.
//!
//! # Cost
//!
//! The counter has nothing to load: its vocabulary and tables are static
//! data generated at build time (~3.6 MiB in the binary, paged in where
//! lookups land; see `src/tokens/mod.rs`). A byte-level BPE token always
//! covers at least one byte, so a text of `n` bytes has at most `n` tokens:
//! results whose byte length is within the budget (most of them) are never
//! tokenized at all.

/// Default budget for one tool result, in tokens.
pub const DEFAULT_MAX_TOKENS: usize = 8_000;

/// Tokens kept free for the truncation footer.
const FOOTER_RESERVE: usize = 80;

/// Counts the tokens of `text` with the `o200k_base` encoding, as ordinary
/// text (the counter's tables are compiled in: nothing to load, nothing that
/// can be missing; see `src/tokens/mod.rs`).
pub fn count_tokens(text: &str) -> usize {
    crate::tokens::count(text)
}

/// A ceiling on the size of one tool result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    max_tokens: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_TOKENS)
    }
}

/// One page of lines cut to fit a [`Budget`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The text: the lines that fit, then a truncation footer if any were cut.
    pub text: String,
    /// Index of the first line not shown, when the page is incomplete.
    pub next_cursor: Option<usize>,
}

impl Budget {
    /// A budget of `max_tokens` tokens per result (at least 200).
    pub fn new(max_tokens: usize) -> Self {
        Self {
            max_tokens: max_tokens.max(200),
        }
    }

    /// The ceiling, in tokens.
    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    /// Whether `text` fits, without tokenizing when its length proves it.
    pub fn fits(&self, text: &str) -> bool {
        text.len() <= self.max_tokens || count_tokens(text) <= self.max_tokens
    }

    /// Renders `lines[start..]` under a `header`, as many as fit, with an
    /// honest footer when some are left. `how_to_narrow` completes the sentence
    /// "Narrow the request (…)" with this tool's own filters.
    ///
    /// The cursor in the footer is the index of the first line not shown; a
    /// tool passes it back as `start` on the next call.
    pub fn page<S: AsRef<str>>(
        &self,
        header: &str,
        lines: &[S],
        start: usize,
        how_to_narrow: &str,
    ) -> Page {
        let start = start.min(lines.len());
        let rest = &lines[start..];
        let total_bytes: usize =
            header.len() + rest.iter().map(|l| l.as_ref().len() + 1).sum::<usize>();
        if total_bytes <= self.max_tokens {
            return Page {
                text: join(header, rest),
                next_cursor: None,
            };
        }
        let limit = self.max_tokens.saturating_sub(FOOTER_RESERVE);
        let mut used = if header.is_empty() {
            0
        } else {
            count_tokens(header) + 1
        };
        let mut shown = 0;
        let mut total_tokens = used;
        let mut full = false;
        for line in rest {
            let cost = count_tokens(line.as_ref()) + 1;
            // Keep counting past the cut: the footer reports the total.
            total_tokens += cost;
            if !full && used + cost <= limit {
                used += cost;
                shown += 1;
            } else {
                full = true;
            }
        }
        if shown == rest.len() {
            return Page {
                text: join(header, rest),
                next_cursor: None,
            };
        }
        let mut text = join(header, &rest[..shown]);
        let next = start + shown;
        text.push_str(&format!(
            "\n[truncated by the response budget: showing lines {}-{} of {} (~{} of ~{} tokens). \
             Narrow the request ({how_to_narrow}) or call again with cursor=\"{next}\".]",
            start + 1,
            next,
            group(lines.len()),
            group(used),
            group(total_tokens),
        ));
        Page {
            text,
            next_cursor: Some(next),
        }
    }

    /// Cuts any text to fit, at a line boundary, with an honest footer. This is
    /// the guard the kit applies to every tool result; tools that can page
    /// should use [`Budget::page`] first so the footer offers a cursor.
    pub fn enforce(&self, text: &str) -> Option<String> {
        if self.fits(text) {
            return None;
        }
        let limit = self.max_tokens.saturating_sub(FOOTER_RESERVE);
        let mut used = 0;
        let mut cut = 0;
        let mut lines_shown = 0;
        let total_lines = text.lines().count();
        for line in text.split_inclusive('\n') {
            let cost = count_tokens(line);
            if used + cost > limit {
                break;
            }
            used += cost;
            cut += line.len();
            lines_shown += 1;
        }
        let mut out = String::with_capacity(cut + 200);
        if lines_shown == 0 {
            // A single enormous line: cut inside it, on a char boundary.
            let mut end = (limit * 3).min(text.len());
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            out.push_str(&text[..end]);
            out.push_str(" …");
            used = count_tokens(&out);
        } else {
            out.push_str(text[..cut].trim_end_matches('\n'));
        }
        out.push_str(&format!(
            "\n[truncated by the response budget: showing {} of {} lines (~{} of ~{} tokens). \
             Narrow the request (filters, a shorter time range, a lower limit) to see the rest.]",
            group(lines_shown),
            group(total_lines),
            group(used),
            group(count_tokens(text)),
        ));
        Some(out)
    }
}

fn join<S: AsRef<str>>(header: &str, lines: &[S]) -> String {
    let mut out = String::with_capacity(
        header.len() + lines.iter().map(|l| l.as_ref().len() + 1).sum::<usize>(),
    );
    if !header.is_empty() {
        out.push_str(header);
    }
    for line in lines {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(line.as_ref());
    }
    out
}

/// `12345` → `12,345`.
pub fn group(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_results_pass_untouched() {
        let budget = Budget::new(1000);
        assert!(budget.enforce("short\ntext").is_none());
        let page = budget.page("NAME", &["a", "b"], 0, "x");
        assert_eq!(page.text, "NAME\na\nb");
        assert_eq!(page.next_cursor, None);
    }

    #[test]
    fn page_cuts_at_line_boundary_and_says_how_much() {
        let lines: Vec<String> = (0..5000)
            .map(|i| format!("pod-{i} Running 0 restarts node-{}", i % 7))
            .collect();
        let budget = Budget::new(2000);
        let page = budget.page("NAME STATUS", &lines, 0, "a label selector");
        assert!(
            count_tokens(&page.text) <= 2000,
            "{}",
            count_tokens(&page.text)
        );
        let next = page.next_cursor.expect("must be cut");
        assert!(next > 50 && next < 5000);
        assert!(page.text.contains("of 5,000"));
        assert!(page.text.contains(&format!("cursor=\"{next}\"")));
        assert!(page.text.contains("a label selector"));
        // Every shown line is whole.
        let shown: Vec<&str> = page.text.lines().skip(1).take(next).collect();
        assert_eq!(
            shown,
            lines[..next].iter().map(String::as_str).collect::<Vec<_>>()
        );
        // The next page starts where this one stopped.
        let page2 = budget.page("NAME STATUS", &lines, next, "x");
        assert!(page2.text.lines().nth(1) == Some(lines[next].as_str()));
    }

    #[test]
    fn enforce_never_exceeds_the_budget() {
        let text: String = (0..3000)
            .map(|i| format!("line {i} with some words\n"))
            .collect();
        let budget = Budget::new(500);
        let out = budget.enforce(&text).expect("cut");
        assert!(count_tokens(&out) <= 500);
        assert!(out.contains("[truncated by the response budget: showing"));
        assert!(out.contains("of 3,000 lines"));
    }

    #[test]
    fn enforce_cuts_one_huge_line() {
        let text = "x".repeat(200_000);
        let out = Budget::new(300).enforce(&text).expect("cut");
        assert!(count_tokens(&out) <= 300, "{}", count_tokens(&out));
        assert!(out.contains("showing 0 of 1 lines"));
    }

    #[test]
    fn groups_thousands() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(1234567), "1,234,567");
    }
}
