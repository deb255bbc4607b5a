//! Compact text: aligned columns, one line per record, units on every number.

/// A table whose columns are padded to their widest cell. Columns whose
/// header starts with `>` are right-aligned (the `>` is dropped).
#[derive(Debug, Clone, Default)]
pub struct Table {
    headers: Vec<String>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these headers.
    pub fn new(headers: &[&str]) -> Self {
        Self {
            right: headers.iter().map(|h| h.starts_with('>')).collect(),
            headers: headers
                .iter()
                .map(|h| h.trim_start_matches('>').to_string())
                .collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (missing cells are empty).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    fn widths(&self) -> Vec<usize> {
        let n = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate().take(n) {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
        widths
    }

    /// The character offset at which column `col` starts in rendered lines.
    pub fn column_start(&self, col: usize) -> usize {
        self.widths().iter().take(col).map(|w| w + 2).sum()
    }

    /// Header line and row lines, separately (for paging).
    pub fn lines(&self) -> (String, Vec<String>) {
        let n = self.headers.len();
        let widths = self.widths();
        let fmt = |cells: &[String]| {
            let mut line = String::new();
            for (i, width) in widths.iter().enumerate() {
                let cell = cells.get(i).map_or("", String::as_str);
                let pad = width.saturating_sub(cell.chars().count());
                let last = i + 1 == n;
                if i > 0 {
                    line.push_str("  ");
                }
                if self.right[i] {
                    line.push_str(&" ".repeat(pad));
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    if !last {
                        line.push_str(&" ".repeat(pad));
                    }
                }
            }
            line.trim_end().to_string()
        };
        (
            fmt(&self.headers),
            self.rows.iter().map(|r| fmt(r)).collect(),
        )
    }

    /// The whole table as text.
    pub fn render(&self) -> String {
        let (h, rows) = self.lines();
        let mut out = h;
        for r in rows {
            out.push('\n');
            out.push_str(&r);
        }
        out
    }
}

/// `12.3%`.
pub fn pct(part: u64, whole: u64) -> String {
    if whole == 0 {
        "-".into()
    } else {
        format!("{:.1}%", part as f64 * 100.0 / whole as f64)
    }
}

/// A rate per second with sensible precision: `0.25/s`, `12.5/s`, `1,234/s`.
pub fn rate(count: u64, span_ns: i64) -> String {
    if span_ns <= 0 {
        return "-".into();
    }
    let r = count as f64 / (span_ns as f64 / 1e9);
    format!("{}/s", num(r))
}

/// A number with three significant digits, no exponent for everyday sizes.
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 1e12 {
        format!("{:.3e}", v)
    } else if a >= 1e9 {
        format!("{}G", trimmed(v / 1e9))
    } else if a >= 1e6 {
        // `2.709M`, not `2.709e6` beside plain integers: a column people compare.
        format!("{}M", trimmed(v / 1e6))
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 0.01 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}

/// Up to three decimals, trailing zeros dropped (`2.709`, `4.7`, `12`).
fn trimmed(v: f64) -> String {
    let t = format!("{v:.3}");
    t.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// One line: newlines and tabs shown as `⏎` and spaces, cut to `max` chars.
///
/// Secrets are masked **before** the cut ([`clip`]): cut first, a token
/// split at the boundary would no longer look like one to the kit's
/// redaction, and its prefix would leak.
pub fn one_line(text: &str, max: usize) -> String {
    let text = mcp_kit::redact::redact(text);
    let mut out = String::with_capacity(text.len().min(max + 3));
    for (n, ch) in text.trim_end().chars().enumerate() {
        if n >= max {
            out.push('…');
            break;
        }
        match ch {
            '\n' => out.push_str(" ⏎ "),
            '\r' => {}
            '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// [`one_line`], but a text longer than `max` keeps its start and its end
/// with ` … ` between: an error wrapped several times says what failed
/// first and why last, and the why is what a reader needs.
pub fn one_line_ends(text: &str, max: usize) -> String {
    let whole = one_line(text, text.len());
    if whole.chars().count() <= max {
        return whole;
    }
    // A stack trace's frames go first: its messages (`Caused by: …`, the
    // exception's own line) say what failed, and they sit in the middle a
    // plain cut drops.
    let whole = one_line(&frames_folded(text), text.len());
    let n = whole.chars().count();
    if n <= max {
        return whole;
    }
    let head = max * 2 / 5;
    let tail = max.saturating_sub(head + 3);
    let start: String = whole.chars().take(head).collect();
    let end: String = whole.chars().skip(n - tail).collect();
    format!("{} … {}", start.trim_end(), end.trim_start())
}

/// Whether `line` is a stack frame: Java's and .NET's and Node's `at …`,
/// Java's `... 23 more`, Python's `File "…", line N`, Go's `\t/src/x.go:12`.
fn is_frame(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("at ")
        || t.starts_with("File \"")
        || (t.starts_with("... ") && t.ends_with(" more"))
        || (line.starts_with('\t') && t.contains(".go:"))
}

/// `text` with each run of stack frames after its first frame folded into
/// `… N frames` (a frame's indented continuation, Python's source line,
/// counts with it; a `Caused by:` or ` ---> ` message ends the run).
fn frames_folded(text: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut folded = 0usize;
    let mut in_run = false;
    let flush = |out: &mut Vec<String>, folded: &mut usize| {
        if *folded > 0 {
            out.push(format!("  … {folded} frames"));
            *folded = 0;
        }
    };
    for line in text.lines() {
        let t = line.trim_start();
        let message = t.starts_with("Caused by") || t.starts_with("--->");
        let continuation = in_run && !message && line.starts_with([' ', '\t']) && !t.is_empty();
        if is_frame(line) || continuation {
            if in_run {
                folded += 1;
            } else {
                out.push(line.to_string());
                in_run = true;
            }
        } else {
            flush(&mut out, &mut folded);
            in_run = false;
            out.push(line.to_string());
        }
    }
    flush(&mut out, &mut folded);
    out.join("\n")
}

/// At most `max` characters of `text`, with `…` when cut; secrets are
/// masked before the cut (see [`one_line`]).
pub fn clip(text: &str, max: usize) -> String {
    let text = mcp_kit::redact::redact(text);
    if text.chars().count() > max {
        text.chars().take(max).chain(['…']).collect()
    } else {
        text.into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns() {
        let mut t = Table::new(&["NAME", ">N"]);
        t.row(vec!["a".into(), "1".into()]);
        t.row(vec!["long name".into(), "100".into()]);
        assert_eq!(t.render(), "NAME         N\na            1\nlong name  100");
        assert_eq!((t.column_start(0), t.column_start(1)), (0, 11));
    }

    #[test]
    fn numbers() {
        assert_eq!(pct(1, 3), "33.3%");
        assert_eq!(pct(1, 0), "-");
        assert_eq!(rate(30, 60_000_000_000), "0.50/s");
        assert_eq!(num(1234.5), "1234");
        // Large values with a suffix people read (and `parse::count` in the engine reads),
        // not `2.709e6` beside plain integers.
        assert_eq!(num(2_709_000.0), "2.709M");
        assert_eq!(num(4_700_000.0), "4.7M");
        assert_eq!(num(-1_500_000_000.0), "-1.5G");
        assert_eq!(num(3.2e13), "3.200e13");
        assert_eq!(one_line("a\nb\tc", 100), "a ⏎ b c");
        assert_eq!(one_line("abcdef", 3), "abc…");
        assert_eq!(one_line_ends("abcdef", 10), "abcdef");
        let wrapped = format!(
            "rpc error: code = Unavailable desc = {} dial tcp 10.0.0.9:5432: connect: connection refused",
            "x".repeat(300)
        );
        let cut = one_line_ends(&wrapped, 200);
        assert!(cut.chars().count() <= 200, "{cut}");
        assert!(cut.starts_with("rpc error: code = Unavailable"), "{cut}");
        assert!(cut.ends_with("connect: connection refused"), "{cut}");
    }

    /// A long stack trace cut to a line keeps the messages between the
    /// frames: MinIO's answer is in the middle of Flink's WARN.
    #[test]
    fn a_cut_stack_trace_keeps_its_messages() {
        let mut text = String::from(
            "WARN CheckpointFailureManager - Failed to complete checkpoint 18750\norg.apache.flink.util.SerializedThrowable: Storage backend has reached its minimum free drive threshold. (Service: Amazon S3; Status Code: 507; Error Code: XMinioStorageFull)\n",
        );
        for i in 0..40 {
            text.push_str(&format!("\tat com.amazonaws.http.AmazonHttpClient$RequestExecutor.f{i}(AmazonHttpClient.java:{i}) ~[?:?]\n"));
        }
        text.push_str("Caused by: java.io.IOException: upload failed\n\tat x.Y.z(Y.java:1)\n\tat x.Y.w(Y.java:2)\n");
        let cut = one_line_ends(&text, 500);
        assert!(cut.contains("XMinioStorageFull"), "{cut}");
        assert!(cut.contains("Caused by: java.io.IOException"), "{cut}");
        assert!(cut.contains("… 39 frames"), "{cut}");
        let python = "Traceback (most recent call last):\n  File \"/app/a.py\", line 41, in f\n    g()\n  File \"/app/b.py\", line 9, in g\n    raise E\nRefreshError: 403";
        assert_eq!(
            frames_folded(python),
            "Traceback (most recent call last):\n  File \"/app/a.py\", line 41, in f\n  … 3 frames\nRefreshError: 403"
        );
    }

    #[test]
    fn secrets_are_masked_before_the_cut() {
        let token = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTQyIn0.c2lnbmF0dXJlLXNlY3JldA";
        for text in [
            format!("upstream said 401: {token} was rejected"),
            "login failed: password=Hunter2-Correct-Horse-Battery".to_string(),
        ] {
            // Every cut point, including those inside the secret.
            for max in 20..text.len() {
                for out in [one_line(&text, max), clip(&text, max)] {
                    for leak in ["eyJhbGciOi", "Hunter2", "c2lnbmF0dXJl"] {
                        assert!(!out.contains(leak), "cut at {max}: {out}");
                    }
                }
            }
        }
    }
}
