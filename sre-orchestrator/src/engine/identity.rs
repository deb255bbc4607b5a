//! A cloud refusing the identity a pod presents is that identity's failure.
//!
//! On GKE, EKS and AKS a pod reaches the cloud's APIs as the cloud account
//! its Kubernetes ServiceAccount is bound to (Workload Identity, IRSA or EKS
//! Pod Identity, Azure Workload Identity). When the binding goes (an
//! authoritative IAM binding replaced by Terraform, a trust policy whose
//! condition names the wrong namespace, a federated credential deleted),
//! every pod running as that ServiceAccount fails to get a token, in the
//! words of the metadata server or the STS:
//! `Permission 'iam.serviceAccounts.getAccessToken' denied`,
//! `Unable to generate access token; IAM returned 403`,
//! `WebIdentityErr: failed to retrieve credentials`,
//! `Not authorized to perform sts:AssumeRoleWithWebIdentity`,
//! `AADSTS70021: No matching federated identity record found`. The peer
//! such a line names (`iam`, the metadata server, `sts`) is not what broke,
//! nor are the workloads: the ServiceAccount's binding is, and every
//! workload running as it fails the same way. So those refusals move to the
//! one ServiceAccount (other than `default`) the refused workloads' pods run
//! as, and add up there.

use super::moves::move_signals;
use super::rules::{Signal, same_component};
use super::world::World;

/// Lower-case fragments of a cloud refusing to exchange a pod's identity
/// for a token (GCP's metadata server and IAM Credentials API, AWS STS,
/// EKS Pod Identity, Microsoft Entra ID).
const REFUSED_IDENTITY: &[&str] = &[
    "iam.serviceaccounts.getaccesstoken",
    "unable to generate access token",
    "webidentityerr",
    "assumerolewithwebidentity",
    "assumeroleforpodidentity",
    "invalididentitytoken",
    "no matching federated identity record",
    "aadsts70021",
    "workloadidentitycredential authentication failed",
];

/// Whether `text` reports a cloud refusing a workload identity.
fn refused(text: &str) -> bool {
    let t = text.to_lowercase();
    REFUSED_IDENTITY.iter().any(|c| t.contains(c))
}

/// The workload whose refusal `s` reports: its component when that is a
/// workload of the cluster, else the workload whose pod or name its detail
/// names (a peer's signal says who was refused).
fn refused_workload<'w>(s: &Signal, world: &'w World) -> Option<&'w str> {
    let owners = || world.pods.iter().map(|p| p.owner.as_str());
    if let Some(o) = owners().find(|o| same_component(o, &s.component)) {
        return Some(o);
    }
    world
        .pods
        .iter()
        .find(|p| s.detail.contains(p.name.as_str()))
        .map(|p| p.owner.as_str())
        .or_else(|| {
            owners()
                .filter(|o| o.len() >= 4)
                .find(|o| s.detail.contains(o))
        })
}

/// Hosts that exchange a pod's identity for a token: the metadata servers
/// (GCE/GKE, AWS IMDS, Azure IMDS) and the token services. A refusal they
/// answer is a refused identity whatever its words.
const IDENTITY_HOSTS: &[&str] = &[
    "metadata.google.internal",
    "169.254.169.254",
    "iamcredentials.googleapis.com",
    "sts.googleapis.com",
    "oauth2.googleapis.com",
    "sts.amazonaws.com",
    "login.microsoftonline.com",
];

/// Whether `host` is a cloud's API (what a workload without a token can no
/// longer call), by the providers' domains.
fn cloud_api(host: &str) -> bool {
    [
        ".googleapis.com",
        ".amazonaws.com",
        ".windows.net",
        ".azure.com",
    ]
    .iter()
    .any(|d| host.ends_with(d))
}

fn identity_host(host: &str) -> bool {
    IDENTITY_HOSTS.contains(&host) || (host.starts_with("sts.") && host.ends_with(".amazonaws.com"))
}

/// The one ServiceAccount other than `default` that `workload`'s pods run as.
fn account_of(workload: &str, world: &World) -> Option<String> {
    let mut accounts: Vec<&str> = world
        .pods
        .iter()
        .filter(|p| p.owner == workload)
        .map(|p| p.service_account.as_str())
        .collect();
    accounts.sort_unstable();
    accounts.dedup();
    match accounts.as_slice() {
        [account] if *account != "default" => Some((*account).to_string()),
        _ => None,
    }
}

/// The workloads the cloud refused their identity.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Refused {
    /// (workload, the ServiceAccount it runs as), each refused workload.
    pub(super) workloads: Vec<(String, String)>,
    /// The same pairs, for the workloads whose containers exited on the
    /// refusal (a previous instance's log says so): their restarts are the
    /// account's failure too.
    pub(super) died: Vec<(String, String)>,
}

/// Moves the refused-identity signals to the ServiceAccount the refused
/// workloads run as (see the module docs), and the failed calls of those
/// workloads to the cloud's APIs with them.
pub(super) fn attribute(signals: &mut Vec<Signal>, world: &World) -> Refused {
    // A token service's refusal, not its rate limit or its outage.
    let refusal = |s: &Signal| {
        s.weight > 0.0
            && (refused(&s.detail)
                || (identity_host(&s.component)
                    && matches!(s.kind, "authorization_denied" | "credentials_expired")))
    };
    // The refused workloads and the account each runs as.
    let mut refused_as: Vec<(String, String)> = Vec::new();
    let mut died: Vec<(String, String)> = Vec::new();
    for s in signals.iter().filter(|s| refusal(s)) {
        let Some(workload) = refused_workload(s, world) else {
            continue;
        };
        let Some(account) = account_of(workload, world) else {
            continue;
        };
        let pair = (workload.to_string(), account);
        if s.detail.starts_with("previous container ") && !died.contains(&pair) {
            died.push(pair.clone());
        }
        if !refused_as.contains(&pair) {
            refused_as.push(pair);
        }
    }
    let account_for = |s: &Signal| {
        let workload = refused_workload(s, world)?;
        refused_as
            .iter()
            .find(|(w, _)| w == workload)
            .map(|(_, a)| a.clone())
    };
    // (signal index, account): the refusals, and the refused workloads'
    // failed calls to the cloud's APIs.
    let picks: Vec<(usize, String)> = signals
        .iter()
        .enumerate()
        .filter(|(_, s)| refusal(s) || (s.weight > 0.0 && cloud_api(&s.component)))
        .filter_map(|(i, s)| Some((i, account_for(s)?)))
        .collect();
    let mut accounts: Vec<String> = picks.iter().map(|(_, a)| a.clone()).collect();
    accounts.sort();
    accounts.dedup();
    for account in accounts {
        let mine: Vec<usize> = picks
            .iter()
            .filter(|(_, a)| *a == account)
            .map(|(i, _)| *i)
            .collect();
        let runs: Vec<&str> = refused_as
            .iter()
            .filter(|(_, a)| *a == account)
            .map(|(w, _)| w.as_str())
            .collect();
        let runs = runs.join(", ");
        move_signals(
            signals,
            &account,
            |i, _| mine.contains(&i),
            |s| {
                format!(
                    "the cloud refused the identity of ServiceAccount {account}, which {runs} runs as: {}",
                    s.detail
                )
            },
        );
        for s in signals.iter_mut().filter(|s| s.component == account) {
            s.kind = "authorization_denied";
        }
    }
    Refused {
        workloads: refused_as,
        died,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::engine::world::Pod;

    fn pod(name: &str, owner: &str, account: &str) -> Pod {
        Pod {
            name: name.into(),
            namespace: "billing".into(),
            owner: owner.into(),
            phase: "Running".into(),
            service_account: account.into(),
            ..Pod::default()
        }
    }

    fn signal(component: &str, kind: &'static str, detail: &str) -> Signal {
        Signal {
            component: component.into(),
            kind,
            weight: 2.0,
            source: "signoz.service_health".into(),
            detail: detail.into(),
            at: None,
        }
    }

    const REFUSED: &str = "RefreshError: Unable to generate access token; IAM returned 403 Forbidden: Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).";

    /// Two workloads running as one ServiceAccount, refused a token: their
    /// refusals (on them, or on the peer the line names) add up on the
    /// account; a workload running as `default` and a plain 403 stay.
    #[test]
    fn refused_identities_are_the_service_account_they_run_as() {
        let world = World {
            pods: vec![
                pod(
                    "statement-renderer-74qd2f5xv8-9mhsh",
                    "statement-renderer",
                    "billing-gcs",
                ),
                pod(
                    "invoice-exporter-dhnj7nbklq-prpwc",
                    "invoice-exporter",
                    "billing-gcs",
                ),
                pod("ledger-sync-xdgz5bp78n-cq5xg", "ledger-sync", "default"),
            ],
            ..World::default()
        };
        let mut signals = vec![
            signal(
                "iam",
                "authorization_denied",
                &format!("statement-renderer's failing spans (61x): {REFUSED}"),
            ),
            signal(
                "invoice-exporter",
                "dependency_unreachable",
                &format!("export failed: {REFUSED}"),
            ),
            signal("ledger-sync", "authorization_denied", REFUSED),
            signal(
                "statement-renderer",
                "authorization_denied",
                "HTTP 403 from ledger",
            ),
        ];
        signals.push(signal(
            "storage.googleapis.com",
            "dependency_unreachable",
            "statement-renderer's calls to storage.googleapis.com fail fast (44% of them)",
        ));
        signals.push(signal("metadata.google.internal", "authorization_denied", "previous container invoice-exporter-dhnj7nbklq-prpwc/exporter logged (1x): google.auth.exceptions.RefreshError: (\"Failed to retrieve http://metadata.google.internal/computeMetadata/v1/inst…"));
        signals.push(signal(
            "storage.googleapis.com",
            "dependency_unreachable",
            "ledger-sync's calls to storage.googleapis.com fail fast",
        ));
        signals.push(signal(
            "login.microsoftonline.com",
            "rate_limited",
            "invoice-exporter got 429 Too Many Requests",
        ));
        let refused = attribute(&mut signals, &world);
        let pair = |w: &str| (w.to_string(), "billing-gcs".to_string());
        assert_eq!(
            refused,
            Refused {
                workloads: vec![pair("statement-renderer"), pair("invoice-exporter")],
                died: vec![pair("invoice-exporter")],
            }
        );
        let on: Vec<&Signal> = signals
            .iter()
            .filter(|s| s.component == "billing-gcs")
            .collect();
        assert_eq!(on.len(), 4);
        assert!(on.iter().all(|s| {
            s.kind == "authorization_denied"
                && s.detail
                    .starts_with("the cloud refused the identity of ServiceAccount billing-gcs")
        }));
        assert!(
            signals
                .iter()
                .any(|s| s.component == "ledger-sync" && s.weight == 2.0)
        );
        assert!(
            signals
                .iter()
                .any(|s| s.component == "statement-renderer" && s.weight == 2.0)
        );
        // A token service's rate limit is no refusal.
        assert!(
            signals
                .iter()
                .any(|s| s.component == "login.microsoftonline.com")
        );
        // ledger-sync was not refused: its calls to the cloud stay its own.
        assert!(
            signals
                .iter()
                .any(|s| s.component == "storage.googleapis.com" && s.weight == 2.0)
        );
    }

    #[test]
    fn the_clouds_words_for_a_refused_identity_are_known() {
        for line in [
            "WebIdentityErr: failed to retrieve credentials\ncaused by: AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity",
            "AADSTS70021: No matching federated identity record found for presented assertion.",
            REFUSED,
        ] {
            assert!(refused(line), "{line}");
        }
        assert!(!refused(
            "AccessDenied: Access Denied (Service: S3, Status Code: 403)"
        ));
    }
}
