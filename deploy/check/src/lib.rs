//! Test-only crate: renders the Kubernetes manifests under `deploy/kustomize`
//! and checks them (`cargo test -p deploy-check`).
//!
//! No `kustomize` or cluster is needed. [`render`] is a small kustomize for
//! exactly the features the manifests use (`resources`, `components`,
//! `patches` as JSON 6902 with a `target`, `images`, `namespace`) and refuses
//! any other kustomization key, so a manifest can never rely on something this
//! crate silently ignores. When `kubectl` is on the `PATH`, a test compares
//! [`render`] with `kubectl kustomize`.
//!
//! Every object is parsed into its `k8s-openapi` type; an unknown kind fails,
//! and so does a field the type does not know (the typed value is serialised
//! again and compared with the YAML, so a misspelt field cannot hide).
//!
//! Each `check_*` function returns the problems it found, one sentence each;
//! an empty list means the check passed. The unit tests at the bottom feed
//! each one a bad manifest.
//!
//! The crate is laid out by concern: `objects` (YAML to typed objects),
//! `kustomize` (the renderer), [`helm`] (the chart renderer), `workload`
//! (helpers over typed objects), `check` (one module per kind of check) and
//! `project` (what this project's renderings must satisfy). Everything the
//! integration tests use is re-exported here.

use std::path::{Path, PathBuf};

mod check;
pub mod helm;
mod kustomize;
mod objects;
mod project;
mod workload;

pub use check::{
    ConfiguredServer, check_bot_config, check_flags, check_grants_reads, check_hpa,
    check_network_policies, check_probes, check_read_only, check_resources, check_secret_refs,
    check_secrets_are_placeholders, check_security, check_selectors, check_slack_manifest,
    check_writes_enabled, clap_flags, routes_in_source,
};
pub use kustomize::{json_patch, read_kustomization, render};
pub use objects::{Object, parse_all, parse_object, read_yaml, split_yaml};
pub use project::{
    BOT, BOT_CONFIG, READ_BY_THE_INVESTIGATION, SERVERS, check_every_deployment_scaled,
    check_rendering, check_server_flags, example_secrets,
};
pub use workload::{arg_value, quantity, selects};

/// Problems found by a check; empty when it passed.
pub type Problems = Vec<String>;

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

#[cfg(test)]
mod tests;
