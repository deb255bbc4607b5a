//! The service call graph: SigNoz's per-minute aggregates when they cover
//! the window, parent/child joins over raw spans otherwise.
//!
//! SigNoz's schema migrator creates `signoz_traces.dependency_graph_minutes_v2`
//! (an AggregatingMergeTree: `src`, `dest`, `duration_quantiles_state`,
//! `error_count`, `total_count`, `timestamp` = the minute) and three
//! materialized views that fill it from `signoz_index_v3` as spans arrive:
//! service→service edges from parent/child spans, and service→`db.system` /
//! `messaging.system` edges from non-server spans. Reading it costs a few
//! thousand rows where the raw join reads every span of the window twice, so
//! it is preferred when
//!
//! * the table exists (older installs and test schemas may not have it),
//! * the window holds at least one whole minute (the aggregates' grain; the
//!   answer then covers those whole minutes and says so),
//! * it has rows at or before the window's first minute (so the views were
//!   already running then, and the window is not half-covered), and
//! * it has edges in the window.
//!
//! The aggregates do not say which `dest` is a database: a `dest` that is not
//! a service seen in the window's spans is marked external, as the raw
//! query marks client spans with `db.system`.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;

use clickhouse::Row;
use serde::Deserialize;

use super::{ClickHouseStore, SPAN_TIME, SVC};
use crate::model::{CallGraph, EdgeRow, SECOND, TimeRange, UnreachedRow};
use crate::store::{StoreError, StoreResult};

const MINUTE: i64 = 60 * SECOND;

/// Parent→child edges, from the aggregates or raw spans, with what the
/// parents that are client spans recorded (the aggregates hold none: zero
/// `client_calls`).
#[derive(Row, Deserialize)]
struct EdgeCh {
    parent: String,
    child: String,
    external: bool,
    calls: u64,
    errors: u64,
    p99: f64,
    client_calls: u64,
    client_p99: f64,
    client_errors: u64,
}

impl From<EdgeCh> for EdgeRow {
    fn from(r: EdgeCh) -> Self {
        let client = r.client_calls > 0;
        EdgeRow {
            external: r.external,
            client_p99: client.then_some(r.client_p99),
            client_errors: client.then_some(r.client_errors),
            ..EdgeRow::new(r.parent, r.child, r.calls, r.errors, r.p99)
        }
    }
}

#[derive(Row, Deserialize)]
struct DbEdgeCh {
    parent: String,
    child: String,
    server: String,
    calls: u64,
    errors: u64,
    p99: f64,
}

#[derive(Row, Deserialize)]
struct LostCh {
    parent: String,
    peer: String,
    calls: u64,
    errors: u64,
    p99: f64,
    conn_errors: u64,
}

#[derive(Row, Deserialize)]
struct CoveredCh {
    covered: u64,
}

#[derive(Row, Deserialize)]
struct ServiceCh {
    svc: String,
}

/// The whole minutes inside `range`, if there is at least one.
pub(crate) fn whole_minutes(range: TimeRange) -> Option<TimeRange> {
    let start = range.start.div_euclid(MINUTE) * MINUTE
        + if range.start.rem_euclid(MINUTE) == 0 {
            0
        } else {
            MINUTE
        };
    let end = range.end.div_euclid(MINUTE) * MINUTE;
    (end - start >= MINUTE).then(|| TimeRange::new(start, end))
}

/// Whether an error says the table is not there (ClickHouse code 60).
fn is_unknown_table(e: &StoreError) -> bool {
    matches!(e, StoreError::ClickHouse { message, .. }
        if message.contains("UNKNOWN_TABLE") || message.contains("Code: 60."))
}

impl ClickHouseStore {
    /// The call graph of `range`; see the module docs for which table.
    pub(super) async fn call_graph(&self, range: TimeRange) -> StoreResult<CallGraph> {
        if let Some(minutes) = whole_minutes(range)
            && !self.no_dependency_table.load(Ordering::Relaxed)
        {
            match self.aggregated_edges(minutes).await {
                Ok(Some(edges)) => {
                    return Ok(CallGraph {
                        edges,
                        range: minutes,
                        aggregated: true,
                    });
                }
                Ok(None) => {}
                Err(e @ StoreError::Timeout(_)) => return Err(e),
                Err(e) => {
                    if is_unknown_table(&e) {
                        self.no_dependency_table.store(true, Ordering::Relaxed);
                    }
                    tracing::debug!(error = %e, "dependency aggregates unusable; reading raw spans");
                }
            }
        }
        Ok(CallGraph {
            edges: self.raw_edges(range).await?,
            range,
            aggregated: false,
        })
    }

    /// Edges from the per-minute aggregates, or `None` when they do not
    /// cover `minutes` (see the module docs).
    async fn aggregated_edges(&self, minutes: TimeRange) -> StoreResult<Option<Vec<EdgeRow>>> {
        let agg = &self.tables.dependency_graph;
        let (a, b) = (minutes.start / SECOND, minutes.end / SECOND);
        let covered: Vec<CoveredCh> = self
            .fetch(
                self.client
                    .query(&format!(
                        "SELECT count() AS covered FROM (SELECT 1 FROM {agg} \
                         WHERE timestamp <= toDateTime({{a:Int64}}) LIMIT 1)"
                    ))
                    .param("a", a),
            )
            .await?;
        if covered.first().is_none_or(|c| c.covered == 0) {
            return Ok(None);
        }
        // quantiles(0.5, 0.75, 0.9, 0.95, 0.99): the fifth is p99.
        let sql = format!(
            "SELECT toString(src) AS parent, toString(dest) AS child, false AS external, \
             toUInt64(sum(total_count)) AS calls, toUInt64(sum(error_count)) AS errors, \
             toFloat64(quantilesMerge(0.5, 0.75, 0.9, 0.95, 0.99)(duration_quantiles_state)[5]) AS p99, \
             toUInt64(0) AS client_calls, toFloat64(0) AS client_p99, toUInt64(0) AS client_errors \
             FROM {agg} WHERE timestamp >= toDateTime({{a:Int64}}) AND timestamp < toDateTime({{b:Int64}}) \
             GROUP BY parent, child ORDER BY parent, child"
        );
        let rows: Vec<EdgeCh> = self
            .fetch(self.client.query(&sql).param("a", a).param("b", b))
            .await?;
        if rows.is_empty() {
            return Ok(None);
        }
        let services = self.services(minutes.with_previous()).await?;
        let edges: Vec<EdgeRow> = rows
            .into_iter()
            .map(|r| EdgeRow {
                external: !services.contains(&r.child),
                ..EdgeRow::from(r)
            })
            .collect();
        // The aggregates hold answered calls only: add the ones no callee saw.
        self.with_unreached(edges, minutes, &services)
            .await
            .map(Some)
    }

    /// Edges joined from raw spans: parent→child across services, client spans to
    /// databases (`db.system`, by server), and client spans no callee answered.
    async fn raw_edges(&self, range: TimeRange) -> StoreResult<Vec<EdgeRow>> {
        let t = &self.tables.spans;
        let sql = format!(
            "SELECT toString(A.svc) AS parent, toString(B.svc) AS child, false AS external, \
               count() AS calls, countIf(B.has_error) AS errors, \
               toFloat64(quantile(0.99)(B.duration_nano)) AS p99, \
               countIf(A.kind = 3) AS client_calls, \
               toFloat64(quantileIf(0.99)(A.duration_nano, A.kind = 3)) AS client_p99, \
               countIf(A.kind = 3 AND A.has_error) AS client_errors \
             FROM (SELECT trace_id, span_id, {SVC} AS svc, kind, has_error, duration_nano FROM {t} WHERE {SPAN_TIME}) AS A \
             INNER JOIN (SELECT trace_id, parent_span_id, {SVC} AS svc, has_error, duration_nano \
                         FROM {t} WHERE {SPAN_TIME} AND parent_span_id != '') AS B \
             ON A.trace_id = B.trace_id AND A.span_id = B.parent_span_id \
             WHERE A.svc != B.svc GROUP BY parent, child ORDER BY parent, child"
        );
        let query = self.span_time(self.client.query(&sql), range);
        let rows: Vec<EdgeCh> = self.fetch(query).await?;
        let mut edges: Vec<EdgeRow> = rows.into_iter().map(EdgeRow::from).collect();
        let sql = format!(
            "SELECT toString({SVC}) AS parent, attributes_string['db.system'] AS child, \
               if(attributes_string['server.address'] != '', attributes_string['server.address'], \
                  attributes_string['net.peer.name']) AS server, \
               count() AS calls, countIf(has_error) AS errors, \
               toFloat64(quantile(0.99)(duration_nano)) AS p99 \
             FROM {t} WHERE {SPAN_TIME} AND kind = 3 AND attributes_string['db.system'] != '' \
             GROUP BY parent, child, server ORDER BY parent, child, server"
        );
        let query = self.span_time(self.client.query(&sql), range);
        let db: Vec<DbEdgeCh> = self.fetch(query).await?;
        edges.extend(db.into_iter().map(|r| EdgeRow {
            external: true,
            server: r.server,
            client_p99: Some(r.p99),
            client_errors: Some(r.errors),
            ..EdgeRow::new(r.parent, r.child, r.calls, r.errors, r.p99)
        }));
        let services = self.services(range.with_previous()).await?;
        self.with_unreached(edges, range, &services).await
    }

    /// The services that recorded spans in `range`.
    async fn services(&self, range: TimeRange) -> StoreResult<BTreeSet<String>> {
        let sql = format!(
            "SELECT DISTINCT toString({SVC}) AS svc FROM {} WHERE {SPAN_TIME}",
            self.tables.spans
        );
        Ok(self
            .fetch::<ServiceCh>(self.span_time(self.client.query(&sql), range))
            .await?
            .into_iter()
            .map(|s| s.svc)
            .collect())
    }

    /// `edges` with the calls of `range` no callee answered merged in.
    async fn with_unreached(
        &self,
        mut edges: Vec<EdgeRow>,
        range: TimeRange,
        services: &BTreeSet<String>,
    ) -> StoreResult<Vec<EdgeRow>> {
        let lost = self.unreached(range).await?;
        crate::model::merge_unreached(&mut edges, lost, services);
        Ok(edges)
    }

    /// Client spans (not to a database) that no span of another service has as its
    /// parent, by caller and peer ([`crate::model::peer_of`], computed the same way).
    async fn unreached(&self, range: TimeRange) -> StoreResult<Vec<UnreachedRow>> {
        let t = &self.tables.spans;
        let attr = |k: &str| format!("attributes_string['{k}']");
        // url.full / http.url reduced to the host, lower-cased, as `url_host` does.
        // (`??` is a literal `?` for the clickhouse crate's query builder.)
        let host = |k: &str| {
            format!(
                "lower(replaceRegexpOne(replaceRegexpOne({a}, '^[^:/??#]*://', ''), \
                 '^(??:[^/??#]*@)??([^:/??#]*).*$', '\\\\1'))",
                a = attr(k)
            )
        };
        let peer = format!(
            "multiIf(trimBoth({}) != '', trimBoth({}), trimBoth({}) != '', trimBoth({}), \
             trimBoth({}) != '', trimBoth({}), {} != '', {}, {})",
            attr("peer.service"),
            attr("peer.service"),
            attr("server.address"),
            attr("server.address"),
            attr("net.peer.name"),
            attr("net.peer.name"),
            host("url.full"),
            host("url.full"),
            host("http.url"),
        );
        // A connection failure: the status message or an exception event names one
        // (`model::CONNECTION_ERROR_WORDS`, matched lower-cased as `is_connection_error` does).
        let words = crate::model::CONNECTION_ERROR_WORDS
            .iter()
            .map(|w| format!("'{w}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let conn = format!(
            "(multiSearchAny(lower(status_message), [{words}]) \
              OR arrayExists(e -> multiSearchAny(lower(e), [{words}]), \
                 arrayFilter(e -> JSONExtractString(e, 'name') = 'exception', events)))"
        );
        let sql = format!(
            "SELECT parent, peer, count() AS calls, countIf(has_error) AS errors, \
               toFloat64(quantile(0.99)(duration_nano)) AS p99, \
               countIf(has_error AND conn) AS conn_errors FROM ( \
               SELECT toString(C.svc) AS parent, C.peer AS peer, C.has_error AS has_error, \
                 C.duration_nano AS duration_nano, C.conn AS conn \
               FROM (SELECT trace_id, span_id, {SVC} AS svc, has_error, duration_nano, {peer} AS peer, \
                       {conn} AS conn \
                     FROM {t} WHERE {SPAN_TIME} AND kind = 3 AND attributes_string['db.system'] = '') AS C \
               LEFT ANTI JOIN ( \
                 SELECT DISTINCT P.trace_id AS trace_id, P.span_id AS span_id \
                 FROM (SELECT trace_id, span_id, {SVC} AS svc FROM {t} WHERE {SPAN_TIME}) AS P \
                 INNER JOIN (SELECT trace_id, parent_span_id, {SVC} AS svc FROM {t} \
                             WHERE {SPAN_TIME} AND parent_span_id != '') AS K \
                 ON P.trace_id = K.trace_id AND P.span_id = K.parent_span_id \
                 WHERE P.svc != K.svc) AS R \
               ON C.trace_id = R.trace_id AND C.span_id = R.span_id \
               WHERE C.peer != '') \
             GROUP BY parent, peer ORDER BY parent, peer"
        );
        let query = self.span_time(self.client.query(&sql), range);
        let rows: Vec<LostCh> = self.fetch(query).await?;
        Ok(rows
            .into_iter()
            .map(|r| UnreachedRow {
                parent: r.parent,
                peer: r.peer,
                calls: r.calls,
                errors: r.errors,
                p99: r.p99,
                conn_errors: r.conn_errors,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_shrink_to_whole_minutes() {
        let m = |n: i64| n * MINUTE;
        assert_eq!(
            whole_minutes(TimeRange::new(m(10), m(25))),
            Some(TimeRange::new(m(10), m(25)))
        );
        assert_eq!(
            whole_minutes(TimeRange::new(m(10) + 1, m(25) - 1)),
            Some(TimeRange::new(m(11), m(24)))
        );
        assert_eq!(whole_minutes(TimeRange::new(m(10) + 1, m(11) + 5)), None);
    }
}
