//! The red-team table shared by every server's tests: planted secrets that
//! must never reach a host, and look-alikes (ordinary diagnostic text) that
//! must reach it intact, each row with where that real-world shape is seen.
//!
//! `mcp-kit/tests/redteam.rs` runs the table through the redaction core in
//! every format (raw text, JSON values, JSON and YAML text, documents inside
//! strings, cut text); each server's `tests/redteam.rs` plants it in the data
//! the server reads and runs it through its tools and output modes. Each test
//! prints `leaked N / planted M, masked look-alikes K / L` per channel and
//! fails on any leak or on more than 2 % of look-alikes masked.

mod table;

pub use table::{LOOK_ALIKES, PLANTED};

/// The share of look-alikes that may be masked, in percent.
pub const MAX_MASKED_PERCENT: f64 = 2.0;

/// Collapses runs of whitespace to one space, so a look-alike spread over
/// lines is found in a table cell that joined them.
pub fn normalize(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Leaks and masked look-alikes of one channel (a tool in one output mode).
#[derive(Debug, Default)]
pub struct Report {
    /// What was tried: `"list configmaps output=json"`.
    pub channel: String,
    /// Planted secrets checked.
    pub planted: usize,
    /// The rows whose secret reached the output.
    pub leaked: Vec<String>,
    /// Look-alikes checked.
    pub look_alikes: usize,
    /// The look-alikes that did not reach the output intact.
    pub masked: Vec<String>,
}

impl Report {
    /// An empty report for `channel`.
    pub fn new(channel: impl Into<String>) -> Self {
        Self {
            channel: channel.into(),
            ..Self::default()
        }
    }

    /// Checks planted row `i` against `output`: a leak when its secret is in it.
    pub fn planted(&mut self, i: usize, output: &str) {
        let (seen, text, secret) = PLANTED[i];
        self.planted += 1;
        if output.contains(secret) {
            self.leaked
                .push(format!("#{i} ({seen}): {text:?} leaked {secret:?}"));
        }
    }

    /// Records whether look-alike row `i` came through intact.
    pub fn look_alike(&mut self, i: usize, intact: bool) {
        let (seen, text) = LOOK_ALIKES[i];
        self.look_alikes += 1;
        if !intact {
            self.masked.push(format!("#{i} ({seen}): {text:?}"));
        }
    }

    /// Checks look-alike row `i` in free text: found whole, whitespace
    /// normalized, in `output`.
    pub fn look_alike_in_text(&mut self, i: usize, output: &str) {
        let intact = normalize(output).contains(&normalize(LOOK_ALIKES[i].1));
        self.look_alike(i, intact);
    }

    /// Adds another report's figures to this one.
    pub fn absorb(&mut self, other: Report) {
        self.planted += other.planted;
        self.look_alikes += other.look_alikes;
        let tag = other.channel;
        self.leaked
            .extend(other.leaked.into_iter().map(|l| format!("[{tag}] {l}")));
        self.masked
            .extend(other.masked.into_iter().map(|l| format!("[{tag}] {l}")));
    }

    /// The masked share of look-alikes, in percent.
    pub fn masked_percent(&self) -> f64 {
        if self.look_alikes == 0 {
            return 0.0;
        }
        self.masked.len() as f64 * 100.0 / self.look_alikes as f64
    }

    /// `channel: leaked N / planted M, masked look-alikes K / L`.
    pub fn summary(&self) -> String {
        format!(
            "{}: leaked {} / planted {}, masked look-alikes {} / {}",
            self.channel,
            self.leaked.len(),
            self.planted,
            self.masked.len(),
            self.look_alikes
        )
    }

    /// Prints the summary (and every leak and masked look-alike) and whether
    /// the report passes: no leak, at most [`MAX_MASKED_PERCENT`] masked.
    pub fn print(&self) -> bool {
        println!("{}", self.summary());
        for l in &self.leaked {
            println!("  LEAK {l}");
        }
        for m in &self.masked {
            println!("  MASKED {m}");
        }
        self.passes()
    }

    /// No leak, at most [`MAX_MASKED_PERCENT`] of look-alikes masked.
    pub fn passes(&self) -> bool {
        self.leaked.is_empty() && self.masked_percent() <= MAX_MASKED_PERCENT
    }
}
