//! Offline incident scenarios: recorded data served by the real servers,
//! in-process.
//!
//! A scenario folder (`fixtures/scenarios/NAME/`, format in that folder's
//! README) holds an alert, a cluster snapshot, telemetry and optionally
//! MongoDB's recorded replies. [`Scenario::registry`] starts the same server
//! code the binaries run — mcp-kubernetes on its fixture API server,
//! mcp-signoz on its embedded OTLP store, mcp-mongodb on its snapshot
//! backend — each behind `mcp_kit::Guarded` exactly as the binaries wrap
//! them, and connects them through in-memory pipes. No binary, network,
//! Python or external service is involved, which is what lets the README's
//! first command work on a fresh machine.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use jiff::Timestamp;
use mcp_kit::{Budget, Guarded, ToolPolicy};
use serde::{Deserialize, Serialize};
use sre_orchestrator::alert::{self, Alert};
use sre_orchestrator::engine::rules::same_component;
use sre_orchestrator::rca::Rca;
use sre_orchestrator::registry::Registry;
use sre_orchestrator::router::Category;

/// The true root cause of a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expected {
    /// The category of the true cause.
    pub category: Category,
    /// The component at fault.
    pub component: String,
    /// Other names for the same component.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The failure kind.
    pub kind: String,
    /// One sentence.
    #[serde(default)]
    pub summary: String,
}

impl Expected {
    /// Whether an RCA root cause (component, kind) names this cause.
    pub fn matches(&self, component: &str, kind: &str) -> bool {
        kind == self.kind
            && std::iter::once(&self.component)
                .chain(self.aliases.iter())
                .any(|c| same_component(c, component))
    }

    /// The rank (1-based) of the true cause in an RCA: the root cause is 1,
    /// alternatives follow.
    pub fn rank_in(&self, rca: &Rca) -> Option<usize> {
        std::iter::once(&rca.root_cause)
            .chain(rca.alternatives.iter())
            .position(|rc| self.matches(&rc.component, &rc.kind))
            .map(|i| i + 1)
    }
}

/// `scenario.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// A title.
    pub title: String,
    /// What happened, for people.
    #[serde(default)]
    pub description: String,
    /// The moment the investigation runs at.
    pub now: Timestamp,
    /// The namespace.
    #[serde(default)]
    pub namespace: Option<String>,
    /// The alerting service.
    #[serde(default)]
    pub service: Option<String>,
    /// The alert file, relative to the folder (default `alert.json`).
    #[serde(default)]
    pub alert: Option<String>,
    /// The true cause (absent for scenarios recorded without one).
    #[serde(default)]
    pub expected: Option<Expected>,
}

/// A loaded scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Its folder.
    pub dir: PathBuf,
    /// Its name (the folder's name).
    pub name: String,
    /// `scenario.toml`.
    pub manifest: Manifest,
}

impl Scenario {
    /// Reads `DIR/scenario.toml`.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join("scenario.toml");
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read {} (is {} a scenario folder?)",
                path.display(),
                dir.display()
            )
        })?;
        let manifest: Manifest =
            toml::from_str(&text).with_context(|| format!("{} is not valid", path.display()))?;
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| dir.display().to_string());
        Ok(Self {
            dir: dir.to_path_buf(),
            name,
            manifest,
        })
    }

    /// Every scenario under `root` (folders holding a `scenario.toml`),
    /// sorted by name.
    pub fn discover(root: &Path) -> Result<Vec<Self>> {
        if root.join("scenario.toml").is_file() {
            return Ok(vec![Self::load(root)?]);
        }
        let mut out = Vec::new();
        let entries = std::fs::read_dir(root)
            .with_context(|| format!("cannot read scenario folder {}", root.display()))?;
        for entry in entries {
            let path = entry?.path();
            if path.join("scenario.toml").is_file() {
                out.push(Self::load(&path)?);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        if out.is_empty() {
            bail!(
                "no scenarios (folders with a scenario.toml) under {}",
                root.display()
            );
        }
        Ok(out)
    }

    /// The scenario's alert, parsed like a live webhook.
    pub fn alert(&self) -> Result<Alert> {
        let file = self.manifest.alert.as_deref().unwrap_or("alert.json");
        let path = self.dir.join(file);
        let body = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let mut alerts = alert::parse_webhook(&body)
            .with_context(|| format!("{} is not an alert webhook", path.display()))?;
        if alerts.is_empty() {
            bail!("{} holds no alerts", path.display());
        }
        let mut alert = alerts.remove(0);
        if alert.service.is_none() {
            alert.service = self.manifest.service.clone();
        }
        if alert.namespace.is_none() {
            alert.namespace = self.manifest.namespace.clone();
        }
        Ok(alert)
    }

    /// Starts the scenario's servers in-process and connects them. With
    /// `writes`, the Kubernetes server also offers its write tools (their
    /// changes land in the fixture API server's memory), so approved
    /// remediations can be tried on the offline demo.
    pub async fn registry(&self, call_timeout: Duration, writes: bool) -> Result<Registry> {
        let served = Recorded::in_folder(&self.dir)
            .serve(Some(self.manifest.now), call_timeout, writes)
            .await?;
        Ok(served.registry)
    }
}

/// Data recorded from an incident, served by the real servers in-process:
/// a scenario's folders, or what `investigate --k8s-dump/--telemetry-dir/
/// --mongodb-snapshot` names for a post-mortem. Each part is optional; the
/// investigation sees the tools of the parts given.
#[derive(Debug, Clone, Default)]
pub struct Recorded {
    /// A cluster: an mcp-kubernetes snapshot folder, a `kubectl cluster-info
    /// dump --output-directory` tree or `kubectl get -o json|yaml` files.
    pub k8s: Option<PathBuf>,
    /// Telemetry files: OTLP/JSON or SigNoz rows exported as JSONEachRow.
    pub telemetry: Option<PathBuf>,
    /// MongoDB's recorded replies (mcp-mongodb's snapshot format).
    pub mongodb: Option<PathBuf>,
}

/// Whether `dir` is a folder with a file somewhere below it.
fn holds_a_file(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            let path = e.path();
            path.is_file() || (path.is_dir() && holds_a_file(&path))
        })
    })
}

/// [`Recorded`] data being served.
pub struct Served {
    /// The connected in-process servers.
    pub registry: Registry,
    /// The newest moment the data knows: the later of the cluster
    /// snapshot's clock and the telemetry's end. A post-mortem runs "now" at
    /// this moment unless told otherwise.
    pub newest: Option<Timestamp>,
}

impl Recorded {
    /// A scenario folder's parts: `k8s/`, `telemetry/`, `mongodb/`, those
    /// that exist and hold a file. An empty folder says the incident has no
    /// such data (a Kubernetes-only incident's `telemetry/`): the
    /// investigation runs without that server, as without the folder.
    pub fn in_folder(dir: &Path) -> Self {
        let part = |name: &str| Some(dir.join(name)).filter(|p| holds_a_file(p));
        Self {
            k8s: part("k8s"),
            telemetry: part("telemetry"),
            mongodb: part("mongodb"),
        }
    }

    /// Whether no part is given.
    pub fn is_empty(&self) -> bool {
        self.k8s.is_none() && self.telemetry.is_none() && self.mongodb.is_none()
    }

    /// Refuses a part that is not a readable folder, naming its flag.
    pub fn check(&self) -> Result<()> {
        for (flag, dir) in [
            ("--k8s-dump", &self.k8s),
            ("--telemetry-dir", &self.telemetry),
            ("--mongodb-snapshot", &self.mongodb),
        ] {
            if let Some(dir) = dir
                && !dir.is_dir()
            {
                bail!("{flag} {}: not a folder", dir.display());
            }
        }
        Ok(())
    }

    /// Loads each part and starts its server in-process, behind
    /// `mcp_kit::Guarded` as the binaries wrap them. `now` pins the
    /// telemetry's clock (default: the end of the data).
    pub async fn serve(
        &self,
        now: Option<Timestamp>,
        call_timeout: Duration,
        writes: bool,
    ) -> Result<Served> {
        let mut registry = Registry::new(call_timeout);
        let mut newest: Option<Timestamp> = None;
        let budget = Budget::new(8000);
        if let Some(k8s) = &self.k8s {
            let opts = mcp_kubernetes::clusters::ConnectOptions {
                snapshot: Some(k8s.clone()),
                timeout: Some(Duration::from_secs(20)),
                ..Default::default()
            };
            let clusters = mcp_kubernetes::clusters::Clusters::connect(
                &opts,
                mcp_kubernetes::Policy::default(),
            )
            .await
            .with_context(|| format!("cannot load the cluster snapshot {}", k8s.display()))?;
            newest = newest.max(clusters.snapshot_clock().await);
            let server = mcp_kubernetes::server::KubeServer::new(Arc::new(clusters));
            registry
                .add_in_process("k8s", guard(server, budget, &[], writes)?)
                .await;
        }
        if let Some(telemetry) = &self.telemetry {
            let mut store = mcp_signoz::EmbeddedStore::load_dir(telemetry)
                .with_context(|| format!("cannot load telemetry {}", telemetry.display()))?;
            if let Some(now) = now {
                store = store.with_now(now.as_nanosecond() as i64);
            }
            let end = mcp_signoz::Store::now(&store).await.ok();
            newest = newest.max(end.and_then(|n| Timestamp::from_nanosecond(i128::from(n)).ok()));
            let ops = mcp_signoz::Signoz::new(
                mcp_signoz::AnyStore::Embedded(Arc::new(store)),
                mcp_signoz::Limits {
                    budget,
                    max_pattern_lines: 100_000,
                },
            );
            let server = mcp_signoz::SignozServer::new(ops, false);
            registry
                .add_in_process(
                    "signoz",
                    guard(server, budget, &[mcp_signoz::server::RAW_SQL_TOOL], false)?,
                )
                .await;
        }
        if let Some(mongo) = &self.mongodb {
            let snapshot = mcp_mongodb::snapshot::Snapshot::open(mongo)
                .with_context(|| format!("cannot load MongoDB snapshot {}", mongo.display()))?;
            let server = mcp_mongodb::MongoServer::new(
                Arc::new(snapshot),
                mcp_mongodb::allow::Allowlist::new(Vec::new(), Vec::new()),
                budget,
                mcp_mongodb::Limits {
                    max_documents: 200,
                    max_time_ms: 5000,
                },
            );
            registry
                .add_in_process("mongo", guard(server, budget, &[], false)?)
                .await;
        }
        Ok(Served { registry, newest })
    }
}

fn guard<S: mcp_kit::KitServer>(
    server: S,
    budget: Budget,
    disable: &[&str],
    allow_writes: bool,
) -> Result<Guarded<S>> {
    let policy = ToolPolicy {
        allow_writes,
        enable: Vec::new(),
        disable: disable.iter().map(|s| s.to_string()).collect(),
    };
    Guarded::new(server, &policy, budget).map_err(|e| anyhow::anyhow!("{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An empty part folder is no part (a Kubernetes-only incident's
    /// `telemetry/`); a part whose files sit in subfolders is one.
    #[test]
    fn an_empty_part_folder_is_no_part() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        for part in ["k8s", "telemetry", "mongodb/admin"] {
            std::fs::create_dir_all(root.join(part)).expect("mkdir");
        }
        std::fs::write(root.join("k8s/pods.json"), "{}").expect("write");
        std::fs::write(root.join("mongodb/admin/serverStatus.json"), "{}").expect("write");
        let parts = Recorded::in_folder(root);
        assert_eq!(parts.k8s, Some(root.join("k8s")));
        assert_eq!(parts.telemetry, None);
        assert_eq!(parts.mongodb, Some(root.join("mongodb")));
        assert!(Recorded::in_folder(&root.join("absent")).is_empty());
    }
}
