//! Renderers: server replies in, compact text out.
//!
//! Every renderer is a pure function of the replies, so the live and the
//! recorded backends share them, and the insta snapshots in `tests/` pin what
//! people read. Conventions: one line per item, aligned columns, units on
//! every number, problems flagged in CAPITALS (`COLLSCAN`, `LAGGING`,
//! `UNUSED`), `n/a` where the server did not report a value.

pub mod explain;
pub mod log;
pub mod ops;
pub mod repl;
pub mod slow;
pub mod stats;
pub mod status;

/// A rendered table: summary line(s) and column header, then one line per
/// item, so long lists can be paged by the response budget.
#[derive(Debug, Clone)]
pub struct Report {
    /// Summary line(s) and the column header.
    pub header: String,
    /// One line per item.
    pub lines: Vec<String>,
}

impl Report {
    /// A summary with nothing under it.
    pub fn summary(header: String) -> Self {
        Report {
            header,
            lines: Vec::new(),
        }
    }

    /// A table under `summary`: the summary and the column header are the
    /// header, one line per row follows.
    pub fn table(summary: &str, columns: &[&str], rows: &[Vec<String>]) -> Self {
        let (head, lines) = crate::fmt::table(columns, rows);
        Report {
            header: format!("{summary}\n{head}"),
            lines,
        }
    }

    /// The whole report as one text.
    pub fn text(&self) -> String {
        let mut out = self.header.clone();
        for line in &self.lines {
            out.push('\n');
            out.push_str(line);
        }
        out
    }
}
