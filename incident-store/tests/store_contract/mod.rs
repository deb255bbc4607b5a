//! The store's contract, one function a behaviour, each run by `store.rs`
//! once per backend; and the helpers they share (a store on either backend,
//! alerts and RCAs to feed it).

use std::collections::BTreeMap;
use std::time::Duration;

use incident_store::{Backend, Store, StoreOptions};
use sre_orchestrator::alert::{Alert, AlertSource, AlertStatus};
use sre_orchestrator::rca::{Evidence, Mode, Rca, RootCause};
use sre_orchestrator::router::Category;

use crate::support_pg;

pub mod jobs;
pub mod records;
pub mod workflow;

pub const HOUR: Duration = Duration::from_secs(3600);

/// A connected store and whatever keeps its database alive.
pub struct Env {
    pub store: Store,
    pub _keep: Box<dyn std::any::Any + Send>,
}

pub async fn open(backend: Backend, options: StoreOptions) -> Env {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("store.db").display());
            let store = Store::connect_with(&url, options).await.unwrap();
            Env {
                store,
                _keep: Box::new(dir),
            }
        }
        Backend::Postgres => {
            let cluster = support_pg::shared();
            let url = cluster.fresh_database().await;
            let store = Store::connect_with(&url, options).await.unwrap();
            assert_eq!(store.backend(), Backend::Postgres);
            Env {
                store,
                _keep: Box::new(cluster),
            }
        }
    }
}

pub fn options() -> StoreOptions {
    StoreOptions {
        max_connections: 4,
        ..StoreOptions::default()
    }
}

pub fn alert(name: &str, service: &str, fingerprint: &str, status: AlertStatus) -> Alert {
    Alert {
        source: AlertSource::Alertmanager,
        name: name.into(),
        status,
        severity: Some("critical".into()),
        service: Some(service.into()),
        namespace: Some("shop".into()),
        summary: format!("{name} on {service}"),
        description: None,
        labels: BTreeMap::from([("alertname".into(), name.into())]),
        annotations: BTreeMap::new(),
        starts_at: None,
        fingerprint: fingerprint.into(),
        link: None,
        question: None,
        lookback_secs: None,
    }
}

pub fn firing(name: &str, service: &str, fingerprint: &str) -> Alert {
    alert(name, service, fingerprint, AlertStatus::Firing)
}

pub fn rca(summary: &str, component: &str, kind: &str, description: &str, evidence: &str) -> Rca {
    Rca {
        summary: summary.into(),
        category: Category::Application,
        root_cause: RootCause {
            component: component.into(),
            kind: kind.into(),
            description: description.into(),
        },
        alternatives: vec![],
        confidence: 0.8,
        evidence: vec![Evidence {
            source: "k8s.workload_health".into(),
            detail: evidence.into(),
            link: None,
        }],
        timeline: vec![],
        remediation: vec![],
        affected_services: vec![component.into()],
        data_gaps: vec![],
        mode: Mode::Deterministic,
        incomplete: None,
        figures: Default::default(),
    }
}

/// Enqueues, claims and completes one alert; returns the incident id.
pub async fn investigate(store: &Store, alert: &Alert, rca: &Rca) -> i64 {
    let id = store
        .enqueue_alert(alert, "{}", HOUR)
        .await
        .unwrap()
        .incident_id()
        .unwrap();
    let job = store.claim_job("w", HOUR).await.unwrap().unwrap();
    assert_eq!(job.incident.id, id);
    store
        .complete_job(&job, rca, &serde_json::json!({"steps": []}))
        .await
        .unwrap();
    id
}
