//! `search_traces`, `get_trace` and `service_dependencies`: spans, one
//! trace as a tree, and the call graph.

use super::{
    DepsArgs, MINUTE, OpError, OpResult, Signoz, TraceArgs, TracesArgs, attrs, duration_arg, order,
};
use crate::model::{Order, SpanQuery, span_kind};
use crate::render::{Table, pct, rate};
use crate::store::Store;
use crate::time::{fmt_duration, fmt_range, fmt_ts};
use crate::trace_view::{error_detail, render_trace, status};

impl<S: Store> Signoz<S> {
    /// Spans matching a search, one line each.
    pub async fn search_traces(&self, a: &TracesArgs) -> OpResult {
        let range = self
            .window(a.from.as_deref(), a.to.as_deref(), 15 * MINUTE)
            .await?;
        let limit = a.limit.unwrap_or(50).clamp(1, 500) as usize;
        let order = order(a.order.as_deref(), true)?;
        let q = SpanQuery {
            range,
            service: a.service.clone().filter(|s| !s.is_empty()),
            operation: a.operation.clone().filter(|s| !s.is_empty()),
            min_duration: a
                .min_duration
                .as_deref()
                .map(|d| duration_arg(d, "min_duration").map(|n| n.max(0) as u64))
                .transpose()?,
            errors_only: a.errors_only.unwrap_or(false),
            attributes: attrs(&a.attributes)?,
            limit,
            order,
        };
        let rows = self.store.spans(&q).await?;
        if rows.is_empty() {
            return Ok(format!(
                "No spans match in {}. Widen the window or loosen the filters.",
                fmt_range(&range)
            ));
        }
        let mut t = Table::new(&[
            "TIME",
            "TRACE",
            "SERVICE",
            "OPERATION",
            "KIND",
            ">DURATION",
            "STATUS",
        ]);
        for s in &rows {
            t.row(vec![
                fmt_ts(s.timestamp),
                s.trace_id.clone(),
                s.service().to_string(),
                s.name.clone(),
                span_kind::name(s.kind).to_string(),
                fmt_duration(s.duration_nano as f64),
                status(s),
            ]);
        }
        let (header, mut lines) = t.lines();
        // An error span's exception goes under its row, in the same page.
        for (line, s) in lines.iter_mut().zip(&rows) {
            if let Some(d) = error_detail(s) {
                line.push_str("\n  ");
                line.push_str(&d);
            }
        }
        let intro = format!(
            "{} spans in {}, {} first{}",
            rows.len(),
            fmt_range(&range),
            match order {
                Order::Newest => "newest",
                Order::Oldest => "oldest",
                Order::Slowest => "slowest",
            },
            if rows.len() == limit {
                format!(" (limit {limit} reached)")
            } else {
                String::new()
            }
        );
        Ok(self.paged(
            &intro,
            "signoz spans",
            &header,
            &lines,
            a.cursor.unwrap_or(0) as usize,
            "service, operation, errors_only, min_duration, a shorter window",
        ))
    }

    /// One trace as a span tree with the critical path and errors marked.
    pub async fn get_trace(&self, a: &TraceArgs) -> OpResult {
        let id = a.trace_id.trim().to_ascii_lowercase();
        if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(OpError::Invalid(format!(
                "trace_id `{}` must be 32 hex digits",
                a.trace_id
            )));
        }
        const MAX_SPANS: usize = 2000;
        let spans = self.store.trace(&id, MAX_SPANS).await?;
        if spans.is_empty() {
            return Ok(format!("Trace {id} not found."));
        }
        Ok(render_trace(&id, &spans, spans.len() == MAX_SPANS))
    }

    /// The service call graph with calls, errors and p99 per edge.
    pub async fn service_dependencies(&self, a: &DepsArgs) -> OpResult {
        let range = self
            .window(a.from.as_deref(), a.to.as_deref(), 15 * MINUTE)
            .await?;
        let graph = self.store.dependencies(range).await?;
        // Per-minute aggregates answer for the window's whole minutes.
        let range = graph.range;
        let mut edges = graph.edges;
        if let Some(s) = a.service.as_deref().filter(|s| !s.is_empty()) {
            edges.retain(|e| e.parent == s || e.child == s);
        }
        if edges.is_empty() {
            return Ok(format!(
                "No calls between services in {} (spans need parent/child links across services).",
                fmt_range(&range)
            ));
        }
        // UNREACHED and SERVER only when some edge has them: the usual graph stays as it was.
        let any_unreached = edges.iter().any(|e| e.unreached > 0);
        let any_server = edges.iter().any(|e| !e.server.is_empty());
        // CLIENT-P99 and NOTE likewise: only when the caller's side tells something the
        // callee's spans do not (a client p99 well above P99, calls with no server span).
        let any_client = edges.iter().any(client_side_slower);
        let any_client_err = edges.iter().any(client_side_errors);
        let notes: Vec<String> = edges.iter().map(edge_note).collect();
        let any_note = notes.iter().any(|n| !n.is_empty());
        let mut head = vec![
            "CALLER", "CALLEE", ">CALLS", ">RATE", ">ERRORS", ">ERR%", ">P99",
        ];
        if any_client {
            head.push(">CLIENT-P99");
        }
        if any_client_err {
            head.push(">CLIENT-ERR");
        }
        if any_unreached {
            head.push(">UNREACHED");
        }
        if any_server {
            head.push("SERVER");
        }
        if any_note {
            head.push("NOTE");
        }
        let mut t = Table::new(&head);
        for (e, note) in edges.iter().zip(&notes) {
            // The callee cell stays `<db.system> (db)` for databases (what readers of this
            // table match on); the server is its own column.
            let mut row = vec![
                e.parent.clone(),
                if e.external {
                    format!("{} (db)", e.child)
                } else {
                    e.child.clone()
                },
                e.calls.to_string(),
                rate(e.calls, range.len()),
                e.errors.to_string(),
                pct(e.errors, e.calls),
                fmt_duration(e.p99),
            ];
            if any_client {
                row.push(e.client_p99.map_or("-".into(), fmt_duration));
            }
            if any_client_err {
                row.push(e.client_errors.map_or("-".into(), |n| n.to_string()));
            }
            if any_unreached {
                row.push(e.unreached.to_string());
            }
            if any_server {
                row.push(if e.server.is_empty() {
                    "-".into()
                } else {
                    e.server.clone()
                });
            }
            if any_note {
                row.push(if note.is_empty() {
                    "-".into()
                } else {
                    note.clone()
                });
            }
            t.row(row);
        }
        let mut source = if graph.aggregated {
            "SigNoz's per-minute aggregates, whole minutes; P99: callee span duration; (db): \
             a callee that is no service in the window (db.system, messaging.system)"
                .to_string()
        } else {
            "P99: callee span duration; (db): client spans with db.system".to_string()
        };
        if any_unreached {
            source.push_str(
                "; UNREACHED: client spans the callee never recorded (dropped, refused or \
                 denied before it, or an untraced peer), named from peer.service, \
                 server.address, net.peer.name or the URL host, counted in CALLS and ERRORS",
            );
        }
        if any_server {
            source.push_str("; SERVER: the database's server.address or net.peer.name");
        }
        if any_client {
            source.push_str(
                "; CLIENT-P99: the caller's client spans (the unanswered ones too when at \
                 least 1% of calls), where dial and connect timeouts show",
            );
        }
        if any_client_err {
            source.push_str(
                "; CLIENT-ERR: errors the caller's client spans recorded, where a caller that \
                 gave up (its own timeout) on a callee that answered late shows",
            );
        }
        Ok(format!(
            "Service calls in {} ({source})\n{}",
            fmt_range(&range),
            t.render()
        ))
    }
}

/// Whether the caller's client spans recorded more errors than the callee's spans: calls
/// the caller abandoned (its timeout) while the callee went on and answered OK.
fn client_side_errors(e: &crate::model::EdgeRow) -> bool {
    e.client_errors.is_some_and(|c| c > e.errors)
}

/// Whether an edge's client-side p99 is well above its P99 (1.5x and 50 ms more): time
/// spent before or around the callee that its own spans do not show.
fn client_side_slower(e: &crate::model::EdgeRow) -> bool {
    e.client_p99
        .is_some_and(|c| c >= e.p99 * 1.5 && c - e.p99 >= 50e6)
}

/// What an edge's unanswered calls were: connection failures the client recorded, or
/// calls no server span answered at all (a peer that is not traced, or that the calls
/// never reached). Empty when every call was answered.
fn edge_note(e: &crate::model::EdgeRow) -> String {
    if e.external || e.unreached == 0 {
        String::new()
    } else if e.conn_errors > 0 {
        format!(
            "connection errors: {} (timeout/refused/reset)",
            e.conn_errors
        )
    } else if e.unreached == e.calls {
        "no server spans (untraced peer or never reached)".into()
    } else {
        String::new()
    }
}
