//! The MCP layer: thin rmcp tools over the [operations](crate::ops), served through the
//! shared kit (`mcp-kit`), which gates write tools, validates arguments, redacts secrets
//! and holds every result to the response budget.

use std::sync::Arc;

use mcp_kit::rmcp::handler::server::router::tool::ToolRouter;
use mcp_kit::rmcp::handler::server::wrapper::Parameters;
use mcp_kit::rmcp::{tool, tool_router};
use mcp_kit::{KitServer, ServerDescription};
use serde::Deserialize;

use crate::Target;
use crate::clusters::Clusters;
use crate::error::Result;
use crate::ops::{describe, events, health, history, list, logs, namespaces, nodes, usage, write};

/// Arguments of a tool: its own options plus the optional `context`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct Args<T> {
    /// Kubeconfig context (cluster) to query; the server's default context when absent. See the `contexts` tool.
    #[serde(default)]
    pub context: Option<String>,
    /// The tool's own arguments.
    #[serde(flatten)]
    pub args: T,
}

/// Arguments of tools that take nothing but the context.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
pub struct NoArgs {}

/// The Kubernetes MCP server.
#[derive(Clone)]
pub struct KubeServer {
    clusters: Arc<Clusters>,
}

impl std::fmt::Debug for KubeServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeServer")
            .field("clusters", &self.clusters)
            .finish()
    }
}

const INSTRUCTIONS: &str = "Kubernetes for incident investigation. Start with `workload_health` on the affected \
namespace: it lists deterministic findings (CrashLoopBackOff, OOMKilled, image pull errors, unschedulable pods, \
stuck rollouts, failed Jobs, CronJobs stuck or not succeeding, pending PVCs, NotReady nodes, HPAs at max, Services without endpoints) with evidence \
and start times. Then `describe` the objects it names, read `logs` (use `previous=true` for crashed containers, \
`grep` to filter, `mode=patterns` to summarise), `events`, and `rollout_history` to see what changed. `list` \
summarises healthy pods per owner and lists unhealthy ones individually (the same pods `workload_health` names). \
Beyond one namespace: `workload_health` without a namespace covers the cluster, `events` without a namespace and \
with `reasons` finds e.g. FailedScheduling or Evicted anywhere, `nodes` shows each node with the pods it hosts. Secret values and env var values that could be \
secrets are never shown. Every tool takes an optional `context` (see `contexts`).";

impl KubeServer {
    /// A server over a set of clusters.
    pub fn new(clusters: Arc<Clusters>) -> Self {
        Self { clusters }
    }

    /// The clusters served.
    pub fn clusters(&self) -> &Clusters {
        &self.clusters
    }

    /// The cluster a tool's `context` names. Its error, like every tool's,
    /// reaches the host as the text of an `isError` result (see
    /// [`K8sError`](crate::error::K8sError)'s `IntoContents`).
    async fn target<T>(&self, args: &Args<T>) -> Result<Target> {
        self.clusters.target(args.context.as_deref()).await
    }
}

#[tool_router]
impl KubeServer {
    #[tool(
        description = "List the kubeconfig contexts (clusters) this server can query, marking the default. Does not contact any cluster.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn contexts(&self, Parameters(_a): Parameters<NoArgs>) -> String {
        self.clusters.contexts()
    }

    #[tool(
        description = "List the namespaces this server may read (the server's namespace allow/deny policy applies), with status and age.",
        annotations(read_only_hint = true)
    )]
    async fn namespaces(&self, Parameters(a): Parameters<Args<NoArgs>>) -> Result<String> {
        namespaces::namespaces(&self.target(&a).await?).await
    }

    #[tool(
        description = "List objects of any kind (pods, deployments, nodes, events, persistentvolumes, storageclasses, CRDs such as certificates.cert-manager.io) with label/field selectors; pods of one node with node=NAME (any namespace when namespace is absent). Default output is a compact table with the columns that matter; for pods, unhealthy or restarting pods are listed one per line with their reason and healthy pods are summarised per owner. output=yaml|json returns sanitized objects (no managedFields, no last-applied annotation, no env or Secret values).",
        annotations(read_only_hint = true)
    )]
    async fn list(&self, Parameters(a): Parameters<Args<list::ListOptions>>) -> Result<String> {
        list::list(&self.target(&a).await?, &a.args).await
    }

    #[tool(
        description = "Describe one object: conditions, owner chain, related events (deduplicated, with counts); for pods the container states, last termination reason and exit code, restarts, resources and probes; for Deployments/StatefulSets/DaemonSets the rollout status, ReplicaSets and pod health; endpoints for Services; capacity, pressure and pods for Nodes.",
        annotations(read_only_hint = true)
    )]
    async fn describe(
        &self,
        Parameters(a): Parameters<Args<describe::DescribeOptions>>,
    ) -> Result<String> {
        describe::describe(&self.target(&a).await?, &a.args).await
    }

    #[tool(
        description = "Pod logs of one container: previous instance (after a crash), since a duration, last N lines, a case-insensitive regex grep, a byte cap keeping the newest lines; mode=patterns returns log templates with counts instead of lines.",
        annotations(read_only_hint = true)
    )]
    async fn logs(&self, Parameters(a): Parameters<Args<logs::LogsOptions>>) -> Result<String> {
        logs::logs(&self.target(&a).await?, &a.args).await
    }

    #[tool(
        description = "Events by namespace (or every allowed namespace and cluster-scoped objects when absent), object (KIND/NAME), type (Warning/Normal), reasons (e.g. reasons=FailedScheduling,Evicted,OOMKilling,BackOff) and age; identical events are merged with total counts and first/last seen, newest first.",
        annotations(read_only_hint = true)
    )]
    async fn events(
        &self,
        Parameters(a): Parameters<Args<events::EventsOptions>>,
    ) -> Result<String> {
        events::events(&self.target(&a).await?, &a.args).await
    }

    #[tool(
        description = "Rollout history of a Deployment, StatefulSet, DaemonSet or Argo Rollout: revisions with creation time, images and change-cause, and what changed between consecutive revisions (images, env var names — values never shown —, resources, probes, restarts); a Rollout's canary state (phase, step, weight) first.",
        annotations(read_only_hint = true)
    )]
    async fn rollout_history(
        &self,
        Parameters(a): Parameters<Args<history::HistoryOptions>>,
    ) -> Result<String> {
        history::rollout_history(&self.target(&a).await?, &a.args).await
    }

    #[tool(
        description = "Deterministic health findings over a namespace, or cluster-wide (every allowed namespace, plus nodes) when namespace is absent; only problems are listed, min_severity narrows them: CrashLoopBackOff, OOMKilled, ImagePullBackOff, unschedulable/pending pods with the scheduler's reason, failing probes, high restarts, unavailable replicas and stuck rollouts, failed Jobs, CronJobs whose run hangs past two periods or that have not succeeded for three, pending PVCs, NotReady nodes and node pressure, HPAs at max, Services with no ready endpoints, cert-manager Certificates expired or not Ready, ExternalSecrets that do not sync (where those operators are installed). Each finding has severity, object, reason, evidence and start time. The best first call in an investigation.",
        annotations(read_only_hint = true)
    )]
    async fn workload_health(
        &self,
        Parameters(a): Parameters<Args<health::HealthOptions>>,
    ) -> Result<String> {
        health::workload_health(&self.target(&a).await?, &a.args).await
    }

    #[tool(
        description = "Nodes (all, one by name, or problems_only) with their non-healthy conditions, taints, pod requests against allocatable CPU and memory, and the pods they host from every allowed namespace: unhealthy ones by name with their reason, the rest counted per namespace and owner. For noisy neighbours, node pressure and evictions, and pods kept off a node.",
        annotations(read_only_hint = true)
    )]
    async fn nodes(&self, Parameters(a): Parameters<Args<nodes::NodesOptions>>) -> Result<String> {
        nodes::nodes(&self.target(&a).await?, &a.args).await
    }

    #[tool(
        description = "Live CPU and memory usage from metrics.k8s.io for pods (against requests and limits) or nodes (against allocatable), sorted by memory or CPU. Says so clearly when the metrics API is not installed.",
        annotations(read_only_hint = true)
    )]
    async fn resource_usage(
        &self,
        Parameters(a): Parameters<Args<usage::UsageOptions>>,
    ) -> Result<String> {
        usage::resource_usage(&self.target(&a).await?, &a.args).await
    }

    #[tool(
        description = "Rollout restart a Deployment, StatefulSet or DaemonSet (like `kubectl rollout restart`): every pod is replaced following the rollout strategy. Limited to the write-allowed namespaces.",
        annotations(read_only_hint = false, destructive_hint = true, idempotent_hint = false)
    )]
    async fn rollout_restart(
        &self,
        Parameters(a): Parameters<Args<write::WorkloadRef>>,
    ) -> Result<String> {
        write::rollout_restart(&self.target(&a).await?, &a.args).await
    }

    #[tool(
        description = "Scale a Deployment or StatefulSet to a number of replicas. Limited to the write-allowed namespaces.",
        annotations(read_only_hint = false, destructive_hint = true, idempotent_hint = true)
    )]
    async fn scale(&self, Parameters(a): Parameters<Args<write::ScaleOptions>>) -> Result<String> {
        write::scale(&self.target(&a).await?, &a.args).await
    }

    #[tool(
        description = "Roll a Deployment, StatefulSet or DaemonSet back to an earlier revision (default: the one before the current), like `kubectl rollout undo`. See rollout_history for revisions. Limited to the write-allowed namespaces.",
        annotations(read_only_hint = false, destructive_hint = true, idempotent_hint = false)
    )]
    async fn rollout_undo(
        &self,
        Parameters(a): Parameters<Args<write::UndoOptions>>,
    ) -> Result<String> {
        write::rollout_undo(&self.target(&a).await?, &a.args).await
    }

    #[tool(
        description = "Delete one pod (its controller, if any, creates a replacement). Limited to the write-allowed namespaces.",
        annotations(read_only_hint = false, destructive_hint = true, idempotent_hint = false)
    )]
    async fn delete_pod(
        &self,
        Parameters(a): Parameters<Args<write::DeletePodOptions>>,
    ) -> Result<String> {
        write::delete_pod(&self.target(&a).await?, &a.args).await
    }
}

impl KitServer for KubeServer {
    fn tools() -> ToolRouter<Self> {
        Self::tool_router()
    }

    fn description() -> ServerDescription {
        ServerDescription {
            name: "mcp-kubernetes",
            version: env!("CARGO_PKG_VERSION"),
            instructions: INSTRUCTIONS,
        }
    }
}
