//! Spans as people read them: the STATUS cell, the exception line under an
//! error span, and a whole trace as a tree.
//!
//! An error span's status message says *that* a call failed; the span's
//! `exception` event (OpenTelemetry semantic conventions: `exception.type`,
//! `exception.message`, `exception.stacktrace`) usually says *why*. Java and
//! .NET auto-instrumentation often set no status message at all and record
//! only the event, so without it an error span reads as a bare `ERROR`. The
//! exception goes on its own indented line under the span's row, whitespace
//! collapsed so that column readers (two spaces separate columns) see one
//! cell they skip, and the table's columns stay as they were.

use std::collections::{BTreeSet, HashMap};

use mcp_kit::untrusted;

use crate::model::{SpanRow, span_kind};
use crate::render::{Table, one_line_ends};
use crate::structured;
use crate::time::{fmt_duration, fmt_ts};

/// Longest exception line, in characters.
const DETAIL_CHARS: usize = 300;

fn framed(source: &str, body: &str) -> String {
    if body.is_empty() {
        String::new()
    } else {
        untrusted::frame(source, body)
    }
}

fn short_id(id: &str) -> &str {
    id.get(..16).unwrap_or(id)
}

/// The STATUS cell: `ERROR <status message>`, or `ok` with the HTTP code.
pub fn status(s: &SpanRow) -> String {
    if s.has_error {
        if s.status_message.is_empty() {
            "ERROR".into()
        } else {
            // Wrapped errors put the reason last (`rpc error: … desc = …:
            // connect: connection refused`): a cut keeps both ends.
            format!("ERROR {}", one_line_ends(&s.status_message, 200))
        }
    } else {
        let code = s
            .attributes_number
            .get("http.response.status_code")
            .or_else(|| s.attributes_number.get("http.status_code"));
        code.map_or("ok".into(), |c| format!("ok {c}"))
    }
}

/// The exception line of an error span: `↳ exception Type: message (top
/// frame)`, leaving out what the status message already says; `None` for
/// spans without an error or an exception event, or when the status says it
/// all and no frame is known.
pub fn error_detail(s: &SpanRow) -> Option<String> {
    if !s.has_error {
        return None;
    }
    let ex = structured::span_exception(&s.events)?;
    let said = |part: &str| part.is_empty() || s.status_message.contains(part);
    let msg = ex.error_message.trim().lines().next().unwrap_or("").trim();
    let kind = if said(&ex.error_type) {
        ""
    } else {
        ex.error_type.as_str()
    };
    let msg = if said(msg) { "" } else { msg };
    let text = match (kind.is_empty(), msg.is_empty()) {
        (false, false) => format!("{kind}: {msg}"),
        (false, true) => kind.to_string(),
        (true, false) => msg.to_string(),
        (true, true) if ex.top_frame.is_empty() => return None,
        (true, true) => String::new(),
    };
    let mut line = match (text.is_empty(), ex.top_frame.is_empty()) {
        (false, false) => format!("exception {text} ({})", ex.top_frame),
        (false, true) => format!("exception {text}"),
        _ => format!("exception {}", ex.top_frame),
    };
    // The innermost cause, unless the status already says it; at the end,
    // which a cut to length keeps.
    if let Some(c) = ex.cause_suffix().filter(|c| {
        let told = c.trim_start_matches(" ← caused by ");
        let msg = told.split_once(": ").map_or(told, |(_, m)| m).trim();
        !s.status_message.contains(msg)
    }) {
        line.push_str(&c);
    }
    Some(format!(
        "↳ {}",
        collapse(&one_line_ends(&line, DETAIL_CHARS))
    ))
}

/// Runs of whitespace as one space.
fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Renders `t` with each row's detail line under it, indented to the start
/// of column `col`.
pub fn with_details(t: &Table, details: &[Option<String>], col: usize) -> String {
    let (header, rows) = t.lines();
    let indent = t.column_start(col);
    let mut out = header;
    for (i, row) in rows.iter().enumerate() {
        out.push('\n');
        out.push_str(row);
        if let Some(Some(d)) = details.get(i) {
            out.push('\n');
            out.push_str(&" ".repeat(indent + 2));
            out.push_str(d);
        }
    }
    out
}

/// Renders a trace: one line per span, indented by depth, the critical path
/// (from the root, always the child that finishes last) marked `*`, errors
/// marked `!`.
pub fn render_trace(id: &str, spans: &[SpanRow], cut: bool) -> String {
    let ids: HashMap<&str, usize> = spans
        .iter()
        .enumerate()
        .map(|(i, s)| (s.span_id.as_str(), i))
        .collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); spans.len()];
    let mut roots = Vec::new();
    for (i, s) in spans.iter().enumerate() {
        match ids.get(s.parent_span_id.as_str()) {
            Some(&p) if !s.parent_span_id.is_empty() && p != i => children[p].push(i),
            _ => roots.push(i),
        }
    }
    let end = |i: usize| spans[i].timestamp + spans[i].duration_nano as i64;
    let t0 = spans.iter().map(|s| s.timestamp).min().unwrap_or(0);
    let t1 = (0..spans.len()).map(end).max().unwrap_or(t0);
    // Critical path: from the longest root, follow the last-finishing child.
    let mut critical = vec![false; spans.len()];
    if let Some(&root) = roots
        .iter()
        .max_by_key(|&&r| (spans[r].duration_nano, std::cmp::Reverse(r)))
    {
        let mut cur = root;
        loop {
            critical[cur] = true;
            match children[cur]
                .iter()
                .copied()
                .max_by_key(|&c| (end(c), std::cmp::Reverse(c)))
            {
                Some(next) => cur = next,
                None => break,
            }
        }
    }
    let services: BTreeSet<&str> = spans.iter().map(SpanRow::service).collect();
    let errors = spans.iter().filter(|s| s.has_error).count();
    let mut out = format!(
        "Trace {id}: {} spans, {} services, {}, {} errors, started {}Z{}\n",
        spans.len(),
        services.len(),
        fmt_duration((t1 - t0) as f64),
        errors,
        fmt_ts(t0),
        if cut { " (first 2000 spans only)" } else { "" }
    );
    out.push_str("* critical path  ! error\n");
    let mut t = Table::new(&[">START", ">DURATION", "", "SPAN", "STATUS"]);
    // Per table row: the exception line shown under it, if any.
    let mut details: Vec<Option<String>> = Vec::new();
    let mut stack: Vec<(usize, usize)> = roots.iter().rev().map(|&r| (r, 0)).collect();
    let mut seen = vec![false; spans.len()];
    while let Some((i, depth)) = stack.pop() {
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        let s = &spans[i];
        let mark = format!(
            "{}{}",
            if critical[i] { "*" } else { " " },
            if s.has_error { "!" } else { " " }
        );
        let kind = match s.kind {
            span_kind::CLIENT => " (client)",
            span_kind::PRODUCER => " (producer)",
            span_kind::CONSUMER => " (consumer)",
            _ => "",
        };
        t.row(vec![
            format!("+{}", fmt_duration((s.timestamp - t0) as f64)),
            fmt_duration(s.duration_nano as f64),
            mark,
            format!(
                "{}{} {}{kind}",
                "  ".repeat(depth.min(20)),
                s.service(),
                s.name
            ),
            status(s),
        ]);
        details.push(error_detail(s));
        let mut kids = children[i].clone();
        kids.sort_by(|&a, &b| {
            spans[a]
                .timestamp
                .cmp(&spans[b].timestamp)
                .then_with(|| spans[a].span_id.cmp(&spans[b].span_id))
        });
        for &k in kids.iter().rev() {
            stack.push((k, depth + 1));
        }
    }
    out.push_str(&framed(
        &format!("trace {}", short_id(id)),
        &with_details(&t, &details, 3),
    ));
    out
}
