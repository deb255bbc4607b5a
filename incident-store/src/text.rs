//! Text helpers: full-text queries for both backends, the searchable text of
//! an RCA, and splitting Markdown runbooks into sections.

use sre_orchestrator::rca::Rca;

/// Words too common to say anything about similarity. PostgreSQL's `english`
/// configuration drops these itself; FTS5 does not, and an `OR` query with
/// `the` in it matches everything.
const STOP_WORDS: &[&str] = &[
    "and", "are", "but", "for", "from", "has", "have", "into", "is", "not", "of", "on", "or",
    "than", "that", "the", "then", "there", "this", "was", "were", "what", "when", "which",
    "while", "why", "with",
];

/// The words of a text, as FTS tokenizers see them (alphanumeric runs).
pub(crate) fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// An FTS5 `MATCH` expression for a user's search: every word required
/// (like `websearch_to_tsquery`), `or` between two words makes either do.
/// Each word is quoted, so no user input is ever FTS5 syntax. `None` when
/// there is nothing to search for.
pub(crate) fn fts5_search(query: &str) -> Option<String> {
    let mut out = String::new();
    let mut pending_or = false;
    for word in words(query) {
        if word == "or" {
            pending_or = !out.is_empty();
            continue;
        }
        if !out.is_empty() {
            out.push_str(if pending_or { " OR " } else { " AND " });
        }
        pending_or = false;
        out.push('"');
        out.push_str(&word);
        out.push('"');
    }
    (!out.is_empty()).then_some(out)
}

/// The distinctive words of a text, for "anything like this" queries.
pub(crate) fn keywords(text: &str, max: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in words(text) {
        if w.chars().count() < 3 || STOP_WORDS.contains(&w.as_str()) || out.contains(&w) {
            continue;
        }
        out.push(w);
        if out.len() == max {
            break;
        }
    }
    out
}

/// An FTS5 expression matching any of the words.
pub(crate) fn fts5_any(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("\"{w}\""))
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// A `websearch_to_tsquery` text matching any of the words.
pub(crate) fn websearch_any(words: &[String]) -> String {
    words.join(" or ")
}

/// What of an RCA is searchable: its summary, root cause (with the kind's
/// underscores as spaces, so `oom_killed` is found by "oom"), the
/// alternatives, the evidence and the affected services.
pub(crate) fn rca_text(rca: &Rca) -> String {
    let mut parts = vec![
        rca.summary.clone(),
        rca.root_cause.component.clone(),
        rca.root_cause.kind.replace('_', " "),
        rca.root_cause.description.clone(),
    ];
    for alt in &rca.alternatives {
        parts.push(alt.kind.replace('_', " "));
        parts.push(alt.description.clone());
    }
    for e in &rca.evidence {
        parts.push(e.detail.clone());
    }
    parts.extend(rca.affected_services.iter().cloned());
    parts.join("\n")
}

/// A Markdown runbook, split for indexing.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ParsedRunbook {
    /// The first `# ` heading, else the file name.
    pub title: String,
    /// (heading, body) per section with a non-empty body.
    pub sections: Vec<(String, String)>,
}

/// Splits Markdown into sections at ATX headings (`#` … `######`), ignoring
/// `#` lines inside fenced code blocks (shell comments in a runbook are not
/// headings). Text before the first heading belongs to a section named after
/// the title.
pub(crate) fn split_markdown(text: &str, file_stem: &str) -> ParsedRunbook {
    let mut title: Option<String> = None;
    let mut sections: Vec<(String, String)> = Vec::new();
    let mut heading: Option<String> = None;
    let mut body = String::new();
    let mut fence: Option<&str> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if let Some(open) = fence {
            if trimmed.starts_with(open) {
                fence = None;
            }
            body.push_str(line);
            body.push('\n');
            continue;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fence = Some(&trimmed[..3]);
            body.push_str(line);
            body.push('\n');
            continue;
        }
        if let Some(h) = atx_heading(line) {
            sections.push((
                heading.take().unwrap_or_default(),
                std::mem::take(&mut body),
            ));
            if title.is_none() && line.starts_with("# ") {
                title = Some(h.clone());
            }
            heading = Some(h);
            continue;
        }
        body.push_str(line);
        body.push('\n');
    }
    sections.push((heading.unwrap_or_default(), body));
    let title = title.unwrap_or_else(|| file_stem.to_string());
    let sections = sections
        .into_iter()
        .filter(|(_, b)| !b.trim().is_empty())
        .map(|(h, b)| {
            let h = if h.is_empty() { title.clone() } else { h };
            (h, b.trim().to_string())
        })
        .collect();
    ParsedRunbook { title, sections }
}

/// The text of an ATX heading line, if it is one.
fn atx_heading(line: &str) -> Option<String> {
    let hashes = line.chars().take_while(|&c| c == '#').count();
    if !(1..=6).contains(&hashes) {
        return None;
    }
    let rest = &line[hashes..];
    if !(rest.is_empty() || rest.starts_with(' ') || rest.starts_with('\t')) {
        return None;
    }
    let text = rest.trim().trim_end_matches('#').trim();
    (!text.is_empty()).then(|| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fts5_queries_are_quoted_and_anded() {
        assert_eq!(
            fts5_search("OOM \"killed\" -x").as_deref(),
            Some(r#""oom" AND "killed" AND "x""#)
        );
        assert_eq!(
            fts5_search("dns or tls").as_deref(),
            Some(r#""dns" OR "tls""#)
        );
        assert_eq!(fts5_search("  *** "), None);
        assert_eq!(fts5_search("or"), None);
    }

    #[test]
    fn keywords_drop_noise() {
        assert_eq!(
            keywords("Why is the checkout pod OOM-killed? the checkout", 10),
            vec!["checkout", "pod", "oom", "killed"]
        );
    }

    #[test]
    fn markdown_sections_skip_code_comments() {
        let md = "intro text\n# Checkout runbook\n\n## Symptoms\nPods restart.\n\n## Fix\n```sh\n# not a heading\nkubectl rollout undo\n```\n##NotHeading\n";
        let rb = split_markdown(md, "checkout");
        assert_eq!(rb.title, "Checkout runbook");
        let headings: Vec<_> = rb.sections.iter().map(|(h, _)| h.as_str()).collect();
        assert_eq!(headings, ["Checkout runbook", "Symptoms", "Fix"]);
        assert!(rb.sections[2].1.contains("# not a heading"));
        assert!(rb.sections[2].1.contains("##NotHeading"));
        assert_eq!(split_markdown("just text", "notes").title, "notes");
    }
}
