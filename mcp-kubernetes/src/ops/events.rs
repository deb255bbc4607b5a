//! `events`: by namespace, object, type and age — deduplicated with counts, newest first.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Deserialize;
use serde_json::Value;

use crate::error::{K8sError, Result};
use crate::target::{Target, kinds};
use crate::value::{Table, age, s, ts};

/// Options of [`events`].
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
pub struct EventsOptions {
    /// Namespace; all allowed namespaces when absent.
    pub namespace: Option<String>,
    /// Only events about this object: `KIND/NAME` (e.g. `pod/web-1`, `deployment/web`) or a bare name.
    pub object: Option<String>,
    /// `Warning` or `Normal`.
    pub event_type: Option<String>,
    /// Only these reasons, comma-separated and case-insensitive, e.g.
    /// `FailedScheduling,Evicted,OOMKilling,BackOff,FailedMount,Unhealthy`. With no namespace
    /// this searches every allowed namespace (and cluster-scoped objects such as Nodes).
    pub reasons: Option<String>,
    /// Only events seen within this window: a duration such as `30m`, `2h`, `1d`,
    /// `1h30m`; a bare number is seconds.
    pub since: Option<String>,
    /// Extra field selector passed to the API server.
    pub field_selector: Option<String>,
    /// Most groups shown (default 60).
    pub limit: Option<usize>,
}

/// Reads a `since` argument in the workspace's duration grammar
/// ([`mcp_kit::duration`]) as whole seconds, rounded up.
pub(crate) fn since_secs(text: &str) -> Result<i64> {
    let secs = mcp_kit::duration::parse_secs(text)
        .map_err(|e| K8sError::InvalidArgument(format!("since: {e}")))?;
    // The grammar caps a duration at i64::MAX nanoseconds, so this holds.
    Ok(i64::try_from(secs).unwrap_or(i64::MAX))
}

/// Events with the same object, type, reason and message, merged.
#[derive(Debug, Clone, PartialEq)]
pub struct EventGroup {
    /// Namespace.
    pub namespace: String,
    /// `Kind/name` of the involved object.
    pub object: String,
    /// `Normal` / `Warning`.
    pub event_type: String,
    /// Reason.
    pub reason: String,
    /// Message.
    pub message: String,
    /// Total occurrences.
    pub count: i64,
    /// First seen.
    pub first: Option<Timestamp>,
    /// Last seen.
    pub last: Option<Timestamp>,
}

fn last_seen(e: &Value) -> Option<Timestamp> {
    [
        ts(e, "/series/lastObservedTime"),
        ts(e, "/lastTimestamp"),
        ts(e, "/eventTime"),
        ts(e, "/firstTimestamp"),
        ts(e, "/metadata/creationTimestamp"),
    ]
    .into_iter()
    .flatten()
    .max()
}

fn first_seen(e: &Value) -> Option<Timestamp> {
    ts(e, "/firstTimestamp")
        .or_else(|| ts(e, "/eventTime"))
        .or_else(|| ts(e, "/metadata/creationTimestamp"))
}

/// Deduplicates events; newest first.
pub fn dedupe(events: &[Value]) -> Vec<EventGroup> {
    let mut groups: BTreeMap<(String, String, String, String, String), EventGroup> =
        BTreeMap::new();
    for e in events {
        let object = format!(
            "{}/{}",
            s(e, "/involvedObject/kind"),
            s(e, "/involvedObject/name")
        );
        let ns = crate::value::opt_s(e, "/involvedObject/namespace")
            .unwrap_or(crate::value::namespace(e))
            .to_string();
        let key = (
            ns.clone(),
            object.clone(),
            s(e, "/type").to_string(),
            s(e, "/reason").to_string(),
            s(e, "/message").trim().to_string(),
        );
        let count = crate::value::opt_i(e, "/series/count")
            .or_else(|| crate::value::opt_i(e, "/count"))
            .unwrap_or(1)
            .max(1);
        let (first, last) = (first_seen(e), last_seen(e));
        let g = groups.entry(key.clone()).or_insert_with(|| EventGroup {
            namespace: ns,
            object,
            event_type: key.2.clone(),
            reason: key.3.clone(),
            message: key.4.clone(),
            count: 0,
            first,
            last,
        });
        g.count += count;
        g.first = match (g.first, first) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        g.last = g.last.max(last);
    }
    let mut out: Vec<EventGroup> = groups.into_values().collect();
    out.sort_by(|a, b| b.last.cmp(&a.last).then_with(|| a.object.cmp(&b.object)));
    out
}

/// Characters of event messages one table may hold in all.
const MESSAGE_CHARS: usize = 20_000;

/// Renders event groups as a table.
pub fn render(
    now: Timestamp,
    groups: &[EventGroup],
    with_ns: bool,
    limit: usize,
    indent: &str,
) -> String {
    let mut t = Table::new(&[
        "LAST",
        "FIRST",
        "TYPE",
        "REASON",
        "NAMESPACE",
        "OBJECT",
        "COUNT",
        "MESSAGE",
    ]);
    // Whole messages up to 1,000 characters while the table is short; a long
    // table shares ~20,000 characters of messages (~5,000 tokens) so it
    // stays within the response budget, never under 240 a message.
    let shown = groups.len().min(limit).max(1);
    let cap = (MESSAGE_CHARS / shown).clamp(240, 1_000);
    for g in groups.iter().take(limit) {
        t.row(vec![
            age(now, g.last),
            age(now, g.first),
            g.event_type.clone(),
            g.reason.clone(),
            if with_ns {
                g.namespace.clone()
            } else {
                String::new()
            },
            g.object.clone(),
            g.count.to_string(),
            crate::value::clip_middle(&g.message, cap),
        ]);
    }
    let mut out = t.render(indent);
    if groups.len() > limit {
        out.push_str(&format!(
            "{indent}… {} older groups not shown (raise limit or filter)\n",
            groups.len() - limit
        ));
    }
    out
}

/// Lists events; see [`EventsOptions`].
pub async fn events(t: &Target, o: &EventsOptions) -> Result<String> {
    let ns = o.namespace.as_deref().filter(|n| !n.is_empty());
    let mut fields: Vec<String> = o
        .field_selector
        .iter()
        .filter(|f| !f.is_empty())
        .cloned()
        .collect();
    if let Some(obj) = o.object.as_deref().filter(|x| !x.is_empty()) {
        match obj.split_once('/') {
            Some((k, n)) => {
                let r = t.resolve(k).await?;
                fields.push(format!("involvedObject.kind={}", r.kind));
                fields.push(format!("involvedObject.name={n}"));
            }
            None => fields.push(format!("involvedObject.name={obj}")),
        }
    }
    if let Some(ty) = o.event_type.as_deref().filter(|x| !x.is_empty()) {
        let ty = if ty.eq_ignore_ascii_case("warning") {
            "Warning"
        } else if ty.eq_ignore_ascii_case("normal") {
            "Normal"
        } else {
            ty
        };
        fields.push(format!("type={ty}"));
    }
    let fs = fields.join(",");
    let listed = t
        .list(
            &kinds::events(),
            ns,
            None,
            Some(fs.as_str()).filter(|f| !f.is_empty()),
        )
        .await?;
    let now = t.now();
    let listed_empty = listed.items.is_empty();
    let mut items = listed.items;
    if let Some(since) = o.since.as_deref().filter(|x| !x.is_empty()) {
        let secs = since_secs(since)?;
        items.retain(|e| last_seen(e).is_some_and(|l| l.as_second() >= now.as_second() - secs));
    }
    let reasons: Vec<String> = o
        .reasons
        .iter()
        .flat_map(|r| r.split(','))
        .map(|r| r.trim().to_ascii_lowercase())
        .filter(|r| !r.is_empty())
        .collect();
    if !reasons.is_empty() {
        items.retain(|e| reasons.contains(&s(e, "/reason").to_ascii_lowercase()));
    }
    let groups = dedupe(&items);
    let raw: i64 = items
        .iter()
        .map(|e| crate::value::opt_i(e, "/count").unwrap_or(1).max(1))
        .sum();
    let scope = match ns {
        Some(ns) => format!("namespace {ns}"),
        None => "all allowed namespaces".into(),
    };
    let mut head = format!(
        "# events in {scope} (context {}){}{}{}{}: {} groups from {} events ({raw} occurrences), newest first\n",
        t.context(),
        o.object
            .as_deref()
            .map(|x| format!(", object {x}"))
            .unwrap_or_default(),
        o.event_type
            .as_deref()
            .map(|x| format!(", type {x}"))
            .unwrap_or_default(),
        if reasons.is_empty() {
            String::new()
        } else {
            format!(", reasons {}", o.reasons.as_deref().unwrap_or(""))
        },
        o.since
            .as_deref()
            .map(|x| format!(", last {x}"))
            .unwrap_or_default(),
        groups.len(),
        items.len(),
    );
    if groups.is_empty() {
        if let Some(ns) = ns
            && listed_empty
            && t.namespace_exists(ns).await == Some(false)
        {
            return Err(t.no_such_namespace(ns).await);
        }
        head.push_str("no matching events (events expire after about an hour by default)\n");
        return Ok(head);
    }
    head.push_str(&render(
        now,
        &groups,
        ns.is_none(),
        o.limit.unwrap_or(60),
        "",
    ));
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_in_seconds() {
        // The documented forms: units, compounds and bare seconds.
        assert_eq!(since_secs("90").unwrap(), 90);
        assert_eq!(since_secs("15m").unwrap(), 900);
        assert_eq!(since_secs("1h30m").unwrap(), 5400);
        assert_eq!(since_secs("500ms").unwrap(), 1, "rounded up");
        let err = since_secs("5x").unwrap_err().to_string();
        assert!(err.contains("since: `5x`: unknown unit `x`"), "{err}");
        assert!(since_secs("h").is_err());
    }
}
