//! Where clusters come from: a kubeconfig (honouring `KUBECONFIG`, `--kubeconfig`,
//! `--context`), the in-cluster service account, or an offline snapshot folder.
//!
//! Nothing here touches the network when the server starts, and the kubeconfig is not even
//! parsed (unless `--context` names something its text does not contain): it is parsed on
//! first use (a tool call, or [`Clusters::default_context`]), and a [`Target`] (with its
//! `kube::Client`) is built the first time a tool names a context. Parsing a kubeconfig runs the YAML deserializer, whose
//! code alone is ~2 MB of resident pages; a server a host starts but never calls does not pay it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use jiff::Timestamp;
use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::error::{K8sError, Result};
use crate::policy::Policy;
use crate::snapshot::{FixtureServer, Snapshot};
use crate::target::Target;
use crate::value::Table;

/// Sets the client's proxy the way kubectl chooses it (see [`crate::proxy`]), replacing
/// what `kube` derived from the same settings.
fn set_proxy(config: &mut kube::Config, kubeconfig_proxy: Option<&str>) -> Result<()> {
    let (https_proxy, no_proxy) = crate::proxy::from_env();
    config.proxy_url = crate::proxy::effective_proxy(
        kubeconfig_proxy,
        https_proxy.as_deref(),
        no_proxy.as_deref(),
        &config.cluster_url,
    )
    .map_err(K8sError::Config)?;
    Ok(())
}

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

/// Where a kubeconfig is read from.
enum KubeconfigFrom {
    /// One file (`--kubeconfig` or `~/.kube/config`).
    File(PathBuf),
    /// The files listed in `$KUBECONFIG`, merged.
    Env,
}

impl KubeconfigFrom {
    /// Whether the text of the kubeconfig file(s) contains `name` anywhere; no YAML parsing.
    fn mentions(&self, name: &str) -> bool {
        let paths: Vec<PathBuf> = match self {
            KubeconfigFrom::File(p) => vec![p.clone()],
            KubeconfigFrom::Env => std::env::var_os("KUBECONFIG")
                .map(|v| std::env::split_paths(&v).collect())
                .unwrap_or_default(),
        };
        paths
            .iter()
            .filter(|p| !p.as_os_str().is_empty())
            .any(|p| std::fs::read_to_string(p).is_ok_and(|text| text.contains(name)))
    }
}

enum Source {
    /// A kubeconfig, parsed on first use (see the module docs).
    Kubeconfig {
        from: KubeconfigFrom,
        origin: String,
        parsed: OnceLock<std::result::Result<Box<Kubeconfig>, String>>,
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
            // The kubeconfig's current context is looked up when first needed.
            Source::Kubeconfig { .. } => opts.context.clone(),
            Source::Snapshot { context, .. } => Some(context.clone()),
            Source::InCluster => Some(IN_CLUSTER.into()),
            Source::Unavailable(_) => opts.context.clone(),
        };
        // A `--context` that the kubeconfig lacks is a start-up error. The kubeconfig is only
        // parsed here when its text does not even contain the name (a typo): a name that occurs
        // is checked properly on first use, where an unknown one is reported with the known ones.
        if let (Source::Kubeconfig { from, origin, .. }, Some(ctx)) = (&source, &opts.context)
            && !from.mentions(ctx)
            && let Ok(config) = Self::parsed(&source)
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

    /// The clock of a served snapshot (its `capturedAt`, else the newest timestamp in it);
    /// `None` for a live cluster. A post-mortem investigation runs at this moment.
    pub async fn snapshot_clock(&self) -> Option<Timestamp> {
        match &self.source {
            Source::Snapshot { server, .. } => Some(server.now().await),
            _ => None,
        }
    }

    /// The parsed kubeconfig (read on the first call), or why it cannot be read.
    fn parsed(source: &Source) -> std::result::Result<&Kubeconfig, &str> {
        let Source::Kubeconfig { from, parsed, .. } = source else {
            return Err("no kubeconfig");
        };
        let read = parsed.get_or_init(|| {
            let read = match from {
                KubeconfigFrom::File(p) => Kubeconfig::read_from(p).map(Some),
                KubeconfigFrom::Env => Kubeconfig::from_env(),
            };
            match read {
                Ok(Some(k)) => Ok(Box::new(k)),
                Ok(None) => Err("cannot read kubeconfig: $KUBECONFIG lists no file".into()),
                Err(e) => Err(format!("cannot read kubeconfig: {e}")),
            }
        });
        read.as_deref().map_err(String::as_str)
    }

    /// Chooses the kubeconfig (or the in-cluster account) without parsing anything; the same
    /// order as kubectl: `--kubeconfig`, `$KUBECONFIG`, `~/.kube/config`, in-cluster.
    fn kubeconfig_source(path: Option<&Path>) -> Source {
        let lazy = |from, origin| Source::Kubeconfig {
            from,
            origin,
            parsed: OnceLock::new(),
        };
        if let Some(p) = path {
            return lazy(
                KubeconfigFrom::File(p.to_path_buf()),
                p.display().to_string(),
            );
        }
        // What `Kubeconfig::from_env` reads: the non-empty entries of $KUBECONFIG.
        if std::env::var_os("KUBECONFIG")
            .is_some_and(|v| std::env::split_paths(&v).any(|p| !p.as_os_str().is_empty()))
        {
            return lazy(KubeconfigFrom::Env, "$KUBECONFIG".to_string());
        }
        let home = std::env::var_os("HOME").map(PathBuf::from);
        if let Some(p) = home
            .map(|h| h.join(".kube").join("config"))
            .filter(|p| p.exists())
        {
            let origin = p.display().to_string();
            return lazy(KubeconfigFrom::File(p), origin);
        }
        if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
            Source::InCluster
        } else {
            Source::Unavailable(
                "no kubeconfig found (checked --kubeconfig, $KUBECONFIG, ~/.kube/config) and not running inside a cluster".into(),
            )
        }
    }

    /// The policy shared by all targets.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The context used when a tool names none (`--context`, else the kubeconfig's current
    /// context, which reads the kubeconfig if that has not happened yet).
    pub fn default_context(&self) -> Option<&str> {
        match (&self.default_context, &self.source) {
            (Some(c), _) => Some(c),
            (None, Source::Kubeconfig { .. }) => Self::parsed(&self.source)
                .ok()
                .and_then(|k| k.current_context.as_deref()),
            (None, _) => None,
        }
    }

    /// The target for `context` (or the default), built on first use.
    pub async fn target(&self, context: Option<&str>) -> Result<Target> {
        let name = match context.filter(|c| !c.is_empty()).or(self.default_context()) {
            Some(n) => n.to_string(),
            None => {
                return Err(match (&self.source, Self::parsed(&self.source)) {
                    (Source::Unavailable(why), _) => K8sError::Config(why.clone()),
                    (Source::Kubeconfig { .. }, Err(why)) => K8sError::Config(why.to_string()),
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
                set_proxy(&mut config, None)?;
                let server = config.cluster_url.to_string();
                let client = kube::Client::try_from(config)
                    .map_err(|e| K8sError::Config(format!("in-cluster client: {e}")))?;
                (client, server, None)
            }
            Source::Kubeconfig { origin, .. } => {
                let config =
                    Self::parsed(&self.source).map_err(|why| K8sError::Config(why.into()))?;
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
                let mut cfg = kube::Config::from_custom_kubeconfig(config.clone(), &opts)
                    .await
                    .map_err(|e| K8sError::Config(format!("context {name:?}: {e}")))?;
                self.tune(&mut cfg);
                let kubeconfig_proxy = config
                    .contexts
                    .iter()
                    .find(|c| c.name == name)
                    .and_then(|c| c.context.as_ref())
                    .and_then(|ctx| config.clusters.iter().find(|cl| cl.name == ctx.cluster))
                    .and_then(|cl| cl.cluster.as_ref())
                    .and_then(|cl| cl.proxy_url.as_deref());
                set_proxy(&mut cfg, kubeconfig_proxy)
                    .map_err(|e| K8sError::Config(format!("context {name:?}: {e}")))?;
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
        // (timeouts; the proxy is set by `set_proxy`)
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
            Source::Kubeconfig { origin, .. } => {
                let config = match Self::parsed(&self.source) {
                    Ok(c) => c,
                    Err(why) => return format!("no clusters available: {why}\n"),
                };
                let default = self.default_context();
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
                        if Some(c.name.as_str()) == default {
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
