//! Errors, written for the person (or model) reading a tool result: each names the
//! context, and for RBAC denials the verb and resource that were forbidden.

use mcp_kit::rmcp::model::{ContentBlock, IntoContents};

/// Everything that can go wrong in this crate.
#[derive(Debug, Clone, thiserror::Error)]
pub enum K8sError {
    /// The API server could not be reached (DNS, TCP, TLS, proxy).
    #[error("cluster of context {context:?} ({server}) is unreachable: {detail}")]
    Unreachable {
        /// Context name.
        context: String,
        /// API server URL.
        server: String,
        /// What failed.
        detail: String,
    },
    /// The API server did not answer in time.
    #[error(
        "timed out after {secs}s waiting for the API server of context {context:?} ({server}) to {verb} {resource}"
    )]
    Timeout {
        /// Context name.
        context: String,
        /// API server URL.
        server: String,
        /// Seconds waited.
        secs: u64,
        /// Verb attempted.
        verb: String,
        /// Resource attempted.
        resource: String,
    },
    /// RBAC denied the request.
    #[error(
        "forbidden in context {context:?}: RBAC does not allow verb {verb:?} on resource {resource:?}{scope}: {message}"
    )]
    Forbidden {
        /// Context name.
        context: String,
        /// Verb denied (get, list, patch, delete…).
        verb: String,
        /// Resource denied, e.g. `pods/log` or `deployments.apps`.
        resource: String,
        /// ` in namespace "x"` or ` (cluster-wide)`.
        scope: String,
        /// The API server's message.
        message: String,
    },
    /// The credentials were rejected.
    #[error(
        "unauthorized in context {context:?}: the API server rejected the credentials ({message})"
    )]
    Unauthorized {
        /// Context name.
        context: String,
        /// The API server's message.
        message: String,
    },
    /// The object or resource does not exist.
    #[error("not found in context {context:?}: {message}")]
    NotFound {
        /// Context name.
        context: String,
        /// What was not found.
        message: String,
    },
    /// Any other API error.
    #[error(
        "API error in context {context:?} ({verb} {resource}): HTTP {code} {reason}: {message}"
    )]
    Api {
        /// Context name.
        context: String,
        /// Verb attempted.
        verb: String,
        /// Resource attempted.
        resource: String,
        /// HTTP status code.
        code: u16,
        /// Machine-readable reason.
        reason: String,
        /// The API server's message.
        message: String,
    },
    /// The namespace policy of this server refuses the namespace.
    #[error("namespace {namespace:?} is not allowed by this server's namespace policy ({why})")]
    NamespaceDenied {
        /// The namespace refused.
        namespace: String,
        /// Which rule refused it.
        why: String,
    },
    /// Secrets are disabled.
    #[error(
        "reading Secrets is disabled on this server; start it with --allow-secrets to see Secret names and keys (values are never returned)"
    )]
    SecretsDisabled,
    /// The resource type given is unknown to the cluster's discovery.
    #[error("unknown resource type {kind:?} in context {context:?}{hint}")]
    UnknownKind {
        /// What was asked for.
        kind: String,
        /// Context name.
        context: String,
        /// Suggestions.
        hint: String,
    },
    /// The metrics API is not installed or not answering.
    #[error(
        "the metrics API (metrics.k8s.io) is not available in context {context:?}: {detail}. Install metrics-server (or check `kubectl get apiservice v1beta1.metrics.k8s.io`) to get usage figures"
    )]
    MetricsUnavailable {
        /// Context name.
        context: String,
        /// Why.
        detail: String,
    },
    /// A tool argument is invalid.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Connection configuration (kubeconfig, context name) is unusable.
    #[error("configuration: {0}")]
    Config(String),
    /// A snapshot folder could not be loaded or served.
    #[error("snapshot: {0}")]
    Snapshot(String),
}

/// A tool that fails answers with `error: ` and this message as its one text
/// block, in a result marked `isError`: rmcp turns a tool's
/// `Result<String, K8sError>` into that (the kit's convention, see
/// `mcp_kit`'s crate docs). The `error: ` prefix is this server's wording
/// since its first release; hosts' transcripts show it.
impl IntoContents for K8sError {
    fn into_contents(self) -> Vec<ContentBlock> {
        vec![ContentBlock::text(format!("error: {self}"))]
    }
}

/// Result alias.
pub type Result<T, E = K8sError> = std::result::Result<T, E>;
