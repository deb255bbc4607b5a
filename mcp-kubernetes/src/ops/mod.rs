//! The operations. Each is a plain async function over a [`Target`](crate::Target) and an
//! options struct, returning the rendered text a person or model reads.

pub mod compact;
pub mod cronjobs;
pub mod describe;
pub mod detail;
pub mod endpoints;
pub mod events;
pub mod health;
pub mod history;
pub mod list;
pub mod logs;
pub mod namespaces;
pub mod nodes;
pub mod pods;
pub mod usage;
pub mod write;
