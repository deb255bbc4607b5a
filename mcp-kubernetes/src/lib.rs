//! Read-only-by-default Kubernetes MCP server built for incident investigation.
//!
//! # Design
//!
//! At 3 a.m. an on-call engineer (or the orchestrator investigating an alert) needs the few
//! facts that explain an incident, not the cluster's full state. Popular Kubernetes MCP
//! servers hand back raw API objects: listing pods returns hundreds of thousands of tokens,
//! logs cannot be filtered, secrets leak through env vars, and reads cannot be scoped. This
//! crate is built the other way round:
//!
//! * **Compact by construction.** Every [operation](ops) renders text for a reader with
//!   limited attention: one line per object, aligned columns, no noise. Listing pods names
//!   every unhealthy or restarting pod with its reason and summarises healthy pods per owning
//!   workload, so 300 pods fit in a few kilobytes (see `BENCHMARKS.md`). `yaml`/`json` are
//!   available on request, stripped of `managedFields` and last-applied annotations.
//! * **Deterministic findings.** [`ops::health`] reads status the way an SRE does and emits
//!   findings with severity, evidence and start time — the same input always gives the same
//!   output, so the orchestrator can diff and cite them.
//! * **Safe by default.** Secret values and literal env var values that could be secrets
//!   never leave the crate ([`sanitize`]; settings such as `OPTIMIZER_TIMEOUT=2s` are shown); Secrets cannot be read at all unless enabled; a namespace allow/deny
//!   policy ([`Policy`]) is enforced by the server before any request, for reads and writes;
//!   write tools exist only with `--allow-writes`. The shared kit then redacts by pattern and
//!   holds every result to the response budget, and log text is framed as untrusted data.
//! * **Plain functions.** Each operation is an `async fn(&Target, &Options) -> Result<String>`
//!   over a `kube::Client` wrapped in a [`Target`] (context name, policy, timeout, clock), so
//!   the MCP tools in [`server`] are thin wrappers and the orchestrator can call the same
//!   functions directly. Errors ([`K8sError`]) name the context, and for RBAC denials the
//!   verb and resource that were forbidden.
//! * **One code path, live or offline.** Everything goes through `kube`'s dynamic API and
//!   discovery, so CRDs work like built-in kinds. An offline snapshot is served by a small
//!   fixture API server ([`snapshot`]) on 127.0.0.1, and the very same client code runs
//!   against it; that is also how the tests run, since no real API server can run on the
//!   machines that build this crate.
//! * **Lazy.** Starting the server only finds the kubeconfig; it is parsed on the first tool
//!   call (or at start when `--context` names something its text does not contain, so a typo
//!   still fails at once). `initialize` and `tools/list` never touch a cluster, and an
//!   unreachable cluster is reported in the tool result, with a timeout on every call.
//! * **Small per call.** `workload_health` parses the lists it reads through field masks
//!   ([`projection`]), keeping only the fields its checks use, and identical lists in flight
//!   at once are fetched once and shared ([`Target::list_shared`]).
//!
//! # Connecting
//!
//! Kubeconfig (`--kubeconfig`, else `$KUBECONFIG`, else `~/.kube/config`; `--context` picks
//! the default context) or the in-cluster service account. Proxies as kubectl: a cluster's
//! `proxy-url`, else `HTTPS_PROXY` unless `NO_PROXY` covers the API server ([`proxy`]). Every tool takes an optional
//! `context`, so one server serves several clusters; the `contexts` tool lists them.
//!
//! # Snapshot folder format (`--snapshot DIR`)
//!
//! ```text
//! DIR/
//!   snapshot.yaml            optional: capturedAt: RFC 3339 (the clock for ages; default: the
//!                            latest timestamp found), context: NAME (default "snapshot"),
//!                            forbidden: [nodes, pods/log, …] (answer 403 to reproduce RBAC)
//!   *.yaml | *.yml | *.json  manifests, anywhere below DIR: single objects, multi-document
//!                            YAML, `kind: List` / `*List` documents (e.g. `kubectl get -A -o
//!                            yaml`), concatenated JSON; the `kubectl cluster-info dump
//!                            --output-directory` layout (NAMESPACE/pods.json, …) works as is.
//!                            CustomResourceDefinitions define their kinds; PodMetrics and
//!                            NodeMetrics (metrics.k8s.io/v1beta1, e.g. from `kubectl get --raw
//!                            /apis/metrics.k8s.io/v1beta1/pods`) enable `resource_usage`.
//!   logs/NAMESPACE/POD/CONTAINER.log            current container log
//!   logs/NAMESPACE/POD/CONTAINER.previous.log   previous (crashed) instance
//!   NAMESPACE/POD/logs.txt                      cluster-info dump logs (the default container)
//! ```
//!
//! Log lines may start with an RFC 3339 timestamp (as `kubectl logs --timestamps` writes
//! them); `since` is then honoured relative to the snapshot's clock, and the timestamps are
//! stripped unless asked for. `fixtures/k8s/shop-300` (made by `fixtures/k8s/generate.rs`)
//! is an example.

pub mod clusters;
pub mod error;
pub mod ops;
pub mod policy;
pub mod projection;
pub mod proxy;
pub mod sanitize;
pub mod server;
pub mod snapshot;
pub mod target;
pub mod value;

pub use error::{K8sError, Result};
pub use policy::Policy;
pub use target::Target;
