//! Shared test setup: the `shop-300` snapshot served by the fixture API server.
//!
//! No real API server can run on the machines these tests run on, so every test drives the
//! real `kube` client over HTTP against the crate's fixture API server (see
//! `mcp_kubernetes::snapshot`), which serves recorded objects the way the API server does.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::Arc;

use mcp_kubernetes::snapshot::{FixtureServer, Snapshot};
use mcp_kubernetes::{Policy, Target};

/// `fixtures/k8s/shop-300`.
pub fn shop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/k8s/shop-300")
}

/// A running fixture server and a target on it.
pub struct Fixture {
    pub server: FixtureServer,
    pub target: Target,
}

pub async fn shop_with(policy: Policy) -> Fixture {
    let snap = Snapshot::load(&shop_dir()).expect("load shop-300");
    let server = FixtureServer::start(snap)
        .await
        .expect("start fixture server");
    let target = Target::new(server.client().unwrap(), "shop-prod")
        .with_policy(Arc::new(policy))
        .with_clock(server.now().await);
    Fixture { server, target }
}

pub async fn shop() -> Fixture {
    shop_with(Policy {
        allow_secrets: true,
        ..Policy::default()
    })
    .await
}
