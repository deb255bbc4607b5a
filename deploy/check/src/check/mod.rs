//! The checks, one module per kind. Each `check_*` function returns the
//! problems it found, one sentence each; an empty list means it passed.

mod config;
mod pods;
mod rbac;
mod secrets;
mod services;

pub use config::{
    ConfiguredServer, check_bot_config, check_flags, check_slack_manifest, clap_flags,
    routes_in_source,
};
pub use pods::{check_probes, check_resources, check_security};
pub use rbac::{check_grants_reads, check_read_only, check_writes_enabled};
pub use secrets::{check_secret_refs, check_secrets_are_placeholders};
pub use services::{check_hpa, check_network_policies, check_selectors};
