//! `logs`: pod logs cut to what matters — one container, the previous instance if asked,
//! a time window, a regex `grep`, a tail and a byte cap that keeps the newest lines — or,
//! in `patterns` mode, the log's templates with counts (via `log-patterns`).
//!
//! Log text is written by whoever controls the workload, so it is returned inside an
//! untrusted-data block.

use regex::RegexBuilder;
use serde::Deserialize;

use crate::error::{K8sError, Result};
use crate::target::{Target, kinds};
use crate::value::{arr, opt_s, s};

/// What `logs` returns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogMode {
    /// The lines themselves (default).
    #[default]
    Lines,
    /// Templates with counts, most frequent first.
    Patterns,
}

/// Options of [`logs`].
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
pub struct LogsOptions {
    /// Namespace; defaults to the context's namespace.
    pub namespace: Option<String>,
    /// Pod name.
    pub pod: String,
    /// Container; defaults to the pod's default container.
    pub container: Option<String>,
    /// Logs of the previous (crashed) instance.
    #[serde(default)]
    pub previous: bool,
    /// Only lines newer than this: a duration such as `15m`, `2h`, `1h30m`; a bare
    /// number is seconds.
    pub since: Option<String>,
    /// Last N lines returned (after `grep`); default 200.
    pub tail: Option<usize>,
    /// Regex; only matching lines are returned (case-insensitive).
    pub grep: Option<String>,
    /// Byte cap on the returned lines (newest kept); default 16000.
    pub max_bytes: Option<usize>,
    /// `lines` (default) or `patterns`.
    #[serde(default)]
    pub mode: LogMode,
}

/// Lines fetched from the API server when filtering or mining (the filter runs client-side).
pub const SCAN_LINES: i64 = 20_000;
/// Bytes fetched at most from the API server.
pub const SCAN_BYTES: i64 = 8 * 1024 * 1024;

/// Fetches and filters pod logs; see [`LogsOptions`].
pub async fn logs(t: &Target, o: &LogsOptions) -> Result<String> {
    if o.pod.is_empty() {
        return Err(K8sError::InvalidArgument("pod is required".into()));
    }
    let ns = o
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| t.client().default_namespace().to_string());
    let pod = t.get(&kinds::pods(), Some(&ns), &o.pod).await?;
    let containers: Vec<&str> = arr(&pod, "/spec/containers")
        .iter()
        .map(|c| s(c, "/name"))
        .collect();
    let inits: Vec<&str> = arr(&pod, "/spec/initContainers")
        .iter()
        .map(|c| s(c, "/name"))
        .collect();
    let container = match o.container.as_deref().filter(|c| !c.is_empty()) {
        Some(c) if containers.contains(&c) || inits.contains(&c) => c.to_string(),
        Some(c) => {
            return Err(K8sError::InvalidArgument(format!(
                "pod {ns}/{} has no container {c:?}; containers: {}{}",
                o.pod,
                containers.join(", "),
                if inits.is_empty() {
                    String::new()
                } else {
                    format!("; init containers: {}", inits.join(", "))
                }
            )));
        }
        None => opt_s(
            &pod,
            "/metadata/annotations/kubectl.kubernetes.io~1default-container",
        )
        .or(containers.first().copied())
        .unwrap_or_default()
        .to_string(),
    };
    let grep = match o.grep.as_deref().filter(|g| !g.is_empty()) {
        Some(g) => Some(
            RegexBuilder::new(g)
                .case_insensitive(true)
                .size_limit(1 << 20)
                .build()
                .map_err(|e| {
                    K8sError::InvalidArgument(format!("grep is not a valid regex: {e}"))
                })?,
        ),
        None => None,
    };
    let tail = o.tail.unwrap_or(200).max(1);
    let since = o
        .since
        .as_deref()
        .filter(|x| !x.is_empty())
        .map(super::events::since_secs)
        .transpose()?;
    let scan = grep.is_some() || o.mode == LogMode::Patterns;
    let lp = kube::api::LogParams {
        container: Some(container.clone()),
        previous: o.previous,
        since_seconds: since,
        tail_lines: Some(if scan { SCAN_LINES } else { tail as i64 }),
        limit_bytes: Some(SCAN_BYTES),
        ..Default::default()
    };
    // Redacted whole, before lines are picked: a private key spread over
    // lines is still whole here, and no tail can start inside it.
    let text = t.pod_logs(&ns, &o.pod, &lp).await?;
    let text = mcp_kit::redact::redact(&text).into_owned();
    let all: Vec<&str> = text.lines().collect();
    let mut head = format!(
        "# logs {ns}/{} container {container}{}",
        o.pod,
        if o.previous {
            " (previous instance)"
        } else {
            ""
        }
    );
    if containers.len() + inits.len() > 1 {
        head.push_str(&format!(" [containers: {}", containers.join(", ")));
        if !inits.is_empty() {
            head.push_str(&format!("; init containers: {}", inits.join(", ")));
        }
        head.push(']');
    }
    if let Some(since) = &o.since {
        head.push_str(&format!(" · since {since}"));
    }
    let source = format!("pod logs {ns}/{}/{container}", o.pod);

    if o.mode == LogMode::Patterns {
        let lines: Vec<&str> = match &grep {
            Some(re) => all.iter().copied().filter(|l| re.is_match(l)).collect(),
            None => all.clone(),
        };
        let mut miner = log_patterns::Miner::default();
        for l in &lines {
            miner.add(l);
        }
        miner.consolidate();
        let mut templates: Vec<(u64, String)> =
            miner.templates().map(|t| (t.count(), t.text())).collect();
        templates.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        let shown = templates.len().min(tail.min(60));
        head.push_str(&format!(
            " · {} lines scanned{} → {} templates (top {shown} by count)\n",
            all.len(),
            grep.as_ref()
                .map(|_| format!(", {} matched grep", lines.len()))
                .unwrap_or_default(),
            templates.len()
        ));
        let body: String = templates
            .iter()
            .take(shown)
            .map(|(c, t)| format!("{c:>7}  {t}\n"))
            .collect();
        return Ok(format!(
            "{head}{}\n",
            mcp_kit::untrusted::frame(&source, &body)
        ));
    }

    let matched: Vec<&str> = match &grep {
        Some(re) => all.iter().copied().filter(|l| re.is_match(l)).collect(),
        None => all.clone(),
    };
    let start = matched.len().saturating_sub(tail);
    let mut picked: Vec<&str> = matched[start..].to_vec();
    let max_bytes = o.max_bytes.unwrap_or(16_000).max(256);
    let mut dropped_bytes = 0usize;
    let mut size: usize = picked.iter().map(|l| l.len() + 1).sum();
    while size > max_bytes && !picked.is_empty() {
        let l = picked.remove(0);
        size -= l.len() + 1;
        dropped_bytes += 1;
    }
    match &grep {
        Some(re) => head.push_str(&format!(
            " · grep /{}/: {} of {} lines matched",
            re.as_str(),
            matched.len(),
            all.len()
        )),
        None => head.push_str(&format!(" · {} lines", all.len())),
    }
    head.push_str(&format!(", showing the last {}", picked.len()));
    if dropped_bytes > 0 {
        head.push_str(&format!(
            " ({dropped_bytes} older lines dropped by max_bytes={max_bytes})"
        ));
    }
    head.push('\n');
    if picked.is_empty() {
        head.push_str(if all.is_empty() {
            "(no log lines in this window)\n"
        } else {
            "(no lines matched)\n"
        });
        return Ok(head);
    }
    let mut body = picked.join("\n");
    body.push('\n');
    Ok(format!(
        "{head}{}\n",
        mcp_kit::untrusted::frame(&source, &body)
    ))
}
