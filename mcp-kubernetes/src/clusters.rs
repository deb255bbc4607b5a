//! Where clusters come from: a kubeconfig (honouring `KUBECONFIG`, `--kubeconfig`,
//! `--context`), the in-cluster service account, or an offline snapshot folder.
//!
//! Nothing here touches the network when the server starts: the kubeconfig file is parsed,
//! and a [`Target`] (with its `kube::Client`) is built the first time a tool names a context.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::error::{K8sError, Result};
use crate::policy::Policy;
use crate::snapshot::{FixtureServer, Snapshot};
use crate::target::Target;
use crate::value::Table;

/// How to connect.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// Kubeconfig path (`--kubeconfig`); else `KUBECONFIG`, else `~/.kube/config`, else in-cluster.
    pub kubeconfig: Option<PathBuf>,
    /// Default context (`--context`); else the kubeconfig's current context.
    pub context: Option<String>,
    /// Serve this snapshot folder instead of a live cluster (`--snapshot`).
    pub snapshot: Option<PathBuf>,
    /// Per-call timeout; default 20 s.
    pub timeout: Option<Duration>,
}

enum Source {
    Kubeconfig {
        config: Box<Kubeconfig>,
        origin: String,
    },
    InCluster,
    Snapshot {
        server: Arc<FixtureServer>,
        context: String,
        dir: PathBuf,
    },
    Unavailable(String),
}

/// All the clusters one server can reach, keyed by context name.
pub struct Clusters {
    source: Source,
    default_context: Option<String>,
    policy: Arc<Policy>,
    timeout: Duration,
    cache: tokio::sync::Mutex<HashMap<String, Target>>,
}

impl std::fmt::Debug for Clusters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clusters")
            .field("default_context", &self.default_context)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

const IN_CLUSTER: &str = "in-cluster";

impl Clusters {
    /// Prepares the cluster set without contacting any cluster. Snapshots are loaded and
    /// their fixture server started here (loopback only).
    pub async fn connect(opts: &ConnectOptions, policy: Policy) -> Result<Self> {
        let timeout = opts.timeout.unwrap_or(Duration::from_secs(20));
        let policy = Arc::new(policy);
        let source = if let Some(dir) = &opts.snapshot {
            let snap = Snapshot::load(dir)?;
            let context = snap.context.clone();
            let server = FixtureServer::start(snap).await?;
            Source::Snapshot {
                server: Arc::new(server),
                context,
                dir: dir.clone(),
            }
        } else {
            Self::kubeconfig_source(opts.kubeconfig.as_deref())
        };
        let default_context = match &source {
            Source::Kubeconfig { config, .. } => opts
                .context
                .clone()
                .or_else(|| config.current_context.clone()),
            Source::Snapshot { context, .. } => Some(context.clone()),
            Source::InCluster => Some(IN_CLUSTER.into()),
            Source::Unavailable(_) => opts.context.clone(),
        };
        if let (Source::Kubeconfig { config, origin }, Some(ctx)) = (&source, &opts.context)
            && !config.contexts.iter().any(|c| &c.name == ctx)
        {
            return Err(K8sError::Config(format!(
                "context {ctx:?} is not in the kubeconfig ({origin})"
            )));
        }
        Ok(Self {
            source,
            default_context,
            policy,
            timeout,
            cache: tokio::sync::Mutex::new(HashMap::new()),
        })
    }

    fn kubeconfig_source(path: Option<&Path>) -> Source {
        let read = match path {
            Some(p) => Kubeconfig::read_from(p).map(|k| Some((k, p.display().to_string()))),
            None => match Kubeconfig::from_env() {
                Ok(Some(k)) => Ok(Some((k, "$KUBECONFIG".to_string()))),
                Ok(None) => {
                    let home = std::env::var_os("HOME").map(PathBuf::from);
                    match home
                        .map(|h| h.join(".kube").join("config"))
                        .filter(|p| p.exists())
                    {
                        Some(p) => {
                            Kubeconfig::read_from(&p).map(|k| Some((k, p.display().to_string())))
                        }
                        None => Ok(None),
                    }
                }
                Err(e) => Err(e),
            },
        };
        match read {
            Ok(Some((config, origin))) => Source::Kubeconfig {
                config: Box::new(config),
                origin,
            },
            Ok(None) if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() => Source::InCluster,
            Ok(None) => Source::Unavailable(
                "no kubeconfig found (checked --kubeconfig, $KUBECONFIG, ~/.kube/config) and not running inside a cluster".into(),
            ),
            Err(e) => Source::Unavailable(format!("cannot read kubeconfig: {e}")),
        }
    }

    /// The policy shared by all targets.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The context used when a tool names none.
    pub fn default_context(&self) -> Option<&str> {
        self.default_context.as_deref()
    }

    /// The target for `context` (or the default), built on first use.
    pub async fn target(&self, context: Option<&str>) -> Result<Target> {
        let name = match context
            .filter(|c| !c.is_empty())
            .or(self.default_context.as_deref())
        {
            Some(n) => n.to_string(),
            None => {
                return Err(match &self.source {
                    Source::Unavailable(why) => K8sError::Config(why.clone()),
                    _ => K8sError::Config(
                        "no context given and the kubeconfig has no current-context".into(),
                    ),
                });
            }
        };
        let mut cache = self.cache.lock().await;
        if let Some(t) = cache.get(&name) {
            return Ok(t.clone());
        }
        let target = self.build(&name).await?;
        cache.insert(name, target.clone());
        Ok(target)
    }

    async fn build(&self, name: &str) -> Result<Target> {
        let (client, server, clock) = match &self.source {
            Source::Unavailable(why) => return Err(K8sError::Config(why.clone())),
            Source::Snapshot {
                server, context, ..
            } => {
                if name != context {
                    return Err(K8sError::Config(format!(
                        "this server serves a snapshot; its only context is {context:?}"
                    )));
                }
                (
                    server.client()?,
                    format!("snapshot at http://{}", server.addr()),
                    Some(server.now().await),
                )
            }
            Source::InCluster => {
                if name != IN_CLUSTER {
                    return Err(K8sError::Config(format!(
                        "running with in-cluster credentials; the only context is {IN_CLUSTER:?}"
                    )));
                }
                let mut config = kube::Config::incluster()
                    .map_err(|e| K8sError::Config(format!("in-cluster configuration: {e}")))?;
                self.tune(&mut config);
                let server = config.cluster_url.to_string();
                let client = kube::Client::try_from(config)
                    .map_err(|e| K8sError::Config(format!("in-cluster client: {e}")))?;
                (client, server, None)
            }
            Source::Kubeconfig { config, origin } => {
                if !config.contexts.iter().any(|c| c.name == name) {
                    let known: Vec<&str> =
                        config.contexts.iter().map(|c| c.name.as_str()).collect();
                    return Err(K8sError::Config(format!(
                        "unknown context {name:?} (kubeconfig {origin} has: {})",
                        known.join(", ")
                    )));
                }
                let opts = KubeConfigOptions {
                    context: Some(name.to_string()),
                    ..Default::default()
                };
                let mut cfg = kube::Config::from_custom_kubeconfig((**config).clone(), &opts)
                    .await
                    .map_err(|e| K8sError::Config(format!("context {name:?}: {e}")))?;
                self.tune(&mut cfg);
                let server = cfg.cluster_url.to_string();
                let client = kube::Client::try_from(cfg).map_err(|e| {
                    K8sError::Config(format!("context {name:?}: cannot build a client: {e}"))
                })?;
                (client, server, None)
            }
        };
        let mut t = Target::new(client, name)
            .with_server(server)
            .with_policy(self.policy.clone())
            .with_timeout(self.timeout);
        if let Some(now) = clock {
            t = t.with_clock(now);
        }
        Ok(t)
    }

    fn tune(&self, config: &mut kube::Config) {
        config.connect_timeout = Some(self.timeout.min(Duration::from_secs(10)));
        config.read_timeout = Some(self.timeout);
        config.write_timeout = Some(self.timeout);
    }

    /// The `contexts` tool: every context with its cluster and default namespace; no network.
    pub fn contexts(&self) -> String {
        match &self.source {
            Source::Snapshot { context, dir, .. } => format!(
                "serving an offline snapshot of {}\n* {context} (the only context)\n",
                dir.display()
            ),
            Source::InCluster => {
                format!("running inside a cluster with its service account\n* {IN_CLUSTER}\n")
            }
            Source::Unavailable(why) => format!("no clusters available: {why}\n"),
            Source::Kubeconfig { config, origin } => {
                let mut t = Table::new(&["", "CONTEXT", "CLUSTER", "SERVER", "NAMESPACE"]);
                for c in &config.contexts {
                    let ctx = c.context.as_ref();
                    let cluster = ctx.map(|x| x.cluster.as_str()).unwrap_or("");
                    let server = config
                        .clusters
                        .iter()
                        .find(|cl| cl.name == cluster)
                        .and_then(|cl| cl.cluster.as_ref())
                        .and_then(|cl| cl.server.clone())
                        .unwrap_or_default();
                    t.row(vec![
                        if Some(&c.name) == self.default_context.as_ref() {
                            "*".into()
                        } else {
                            String::new()
                        },
                        c.name.clone(),
                        cluster.to_string(),
                        server,
                        ctx.and_then(|x| x.namespace.clone()).unwrap_or_default(),
                    ]);
                }
                format!(
                    "# {} contexts from {origin} (* = default for tools called without `context`)\n{}",
                    config.contexts.len(),
                    t.render("")
                )
            }
        }
    }
}
