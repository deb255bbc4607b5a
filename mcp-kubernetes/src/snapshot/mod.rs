//! Offline snapshots: a recorded cluster served by a local fixture API server.

pub mod selector;
pub mod server;
pub mod store;

pub use server::FixtureServer;
pub use store::Snapshot;
