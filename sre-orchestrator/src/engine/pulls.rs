//! An image pull the registry refused for its credentials is the pull
//! secret's failure, not the workload's.
//!
//! `ErrImagePull` says only that a pull failed; the event's message says
//! why. A tag that does not exist (`not found`, `manifest unknown`) or a
//! registry's rate limit (`toomanyrequests`) is the workload's or the
//! registry's business, and the workload stays the cause. A 401 (`failed to
//! fetch oauth token: … 401 Unauthorized`, `no basic auth credentials`,
//! `authentication required`) means the credentials the kubelet presented,
//! the pod's `imagePullSecrets`, were refused: an expired robot account, a
//! rotated token a refresh job never copied. The fix is that Secret, and
//! every workload pulling with it fails the same way, so the workloads'
//! pull failures move to the one Secret they share and add up there.
//! `pull access denied` is left alone: Docker Hub answers it for a
//! repository that does not exist as much as for missing credentials.

use super::moves::move_signals;
use super::rules::{Signal, same_component};
use super::world::World;

/// Lower-case fragments of a registry refusing the credentials (containerd,
/// CRI-O and Docker's wording).
const REFUSED_CREDENTIALS: &[&str] = &[
    "401 unauthorized",
    "status: 401",
    "failed to fetch oauth token",
    "failed to fetch anonymous token",
    "no basic auth credentials",
    "authentication required",
    "unauthorized: authentication",
    "invalid username/password",
    "incorrect username or password",
];

/// Moves each workload's `image_pull_error` signals to the one pull secret
/// its pods pull with, when its pods' pull failures say the registry refused
/// the credentials (see the module docs); returns (workload, secret) for each.
pub fn attribute(signals: &mut Vec<Signal>, world: &World) -> Vec<(String, String)> {
    let workloads: Vec<String> = {
        let mut w: Vec<String> = signals
            .iter()
            .filter(|s| s.kind == "image_pull_error" && s.weight > 0.0)
            .map(|s| s.component.clone())
            .collect();
        w.sort();
        w.dedup();
        w
    };
    let mut moved = Vec::new();
    for workload in workloads {
        let pods: Vec<&super::world::Pod> = world
            .pods
            .iter()
            .filter(|p| same_component(&p.owner, &workload))
            .collect();
        let refused = world.events.iter().any(|e| {
            pods.iter()
                .any(|p| p.name == e.object && p.namespace == e.namespace)
                && {
                    let m = e.message.to_lowercase();
                    REFUSED_CREDENTIALS.iter().any(|c| m.contains(c))
                }
        }) || signals.iter().any(|s| {
            s.kind == "image_pull_error" && same_component(&s.component, &workload) && {
                let d = s.detail.to_lowercase();
                REFUSED_CREDENTIALS.iter().any(|c| d.contains(c))
            }
        });
        if !refused {
            continue;
        }
        let mut secrets: Vec<&str> = pods
            .iter()
            .flat_map(|p| p.pull_secrets.iter().map(String::as_str))
            .collect();
        secrets.sort_unstable();
        secrets.dedup();
        let [secret] = secrets.as_slice() else {
            continue;
        };
        let secret = (*secret).to_string();
        moved.extend(move_signals(
            signals,
            &secret,
            |_, s| s.kind == "image_pull_error" && same_component(&s.component, &workload),
            |s| {
                format!(
                    "the registry refused the credentials of pull secret {secret}, which {} pulls with: {}",
                    s.component, s.detail
                )
            },
        ));
    }
    moved
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::engine::world::{Event, Pod};

    fn pod(name: &str, owner: &str, secrets: &[&str]) -> Pod {
        Pod {
            name: name.into(),
            namespace: "rooms".into(),
            owner: owner.into(),
            phase: "Pending".into(),
            pull_secrets: secrets.iter().map(|s| s.to_string()).collect(),
            ..Pod::default()
        }
    }

    fn failed(pod: &str, message: &str) -> Event {
        Event {
            kind_of_event: "Warning".into(),
            reason: "Failed".into(),
            message: message.into(),
            object_kind: "Pod".into(),
            object: pod.into(),
            namespace: "rooms".into(),
            count: 4,
            first: None,
            last: None,
            host: None,
        }
    }

    fn pull(component: &str) -> Signal {
        Signal {
            component: component.into(),
            kind: "image_pull_error",
            weight: 6.0,
            source: "k8s.events".into(),
            detail: "ErrImagePull".into(),
            at: None,
        }
    }

    const REFUSED: &str = "Failed to pull image \"harbor.example.net/rooms/booking-engine:4.12.0\": failed to pull and unpack image: failed to resolve reference: failed to authorize: failed to fetch oauth token: unexpected status from GET request to https://harbor.example.net/service/token: 401 Unauthorized";

    /// Two workloads whose pulls the registry refuses with the one secret
    /// they share: their failures add up on the secret, a weak copy stays.
    #[test]
    fn refused_credentials_are_the_shared_pull_secrets() {
        let world = World {
            pods: vec![
                pod(
                    "booking-engine-8xm5z-7875b",
                    "booking-engine",
                    &["harbor-pull"],
                ),
                pod("gm-console-mvjmc-w7pbh", "gm-console", &["harbor-pull"]),
            ],
            events: vec![
                failed("booking-engine-8xm5z-7875b", REFUSED),
                failed(
                    "gm-console-mvjmc-w7pbh",
                    &REFUSED.replace("booking-engine:4.12.0", "gm-console:2.3.9"),
                ),
            ],
            ..World::default()
        };
        let mut signals = vec![pull("booking-engine"), pull("gm-console")];
        let moved = attribute(&mut signals, &world);
        assert_eq!(moved.len(), 2, "{moved:?}");
        let on_secret: f64 = signals
            .iter()
            .filter(|s| s.component == "harbor-pull")
            .map(|s| s.weight)
            .sum();
        assert!((on_secret - 12.0).abs() < 1e-9, "{signals:?}");
        assert!(
            signals[0]
                .detail
                .starts_with("the registry refused the credentials of pull secret harbor-pull")
        );
    }

    /// A tag that does not exist, a rate limit, an ambiguous `pull access
    /// denied`, or no pull secret at all: the workload stays the cause.
    #[test]
    fn other_pull_failures_stay_the_workloads() {
        for (message, secrets) in [
            (
                "Failed to pull image \"r.io/a:9\": rpc error: code = NotFound desc = failed to resolve reference \"r.io/a:9\": r.io/a:9: not found",
                vec!["harbor-pull"],
            ),
            (
                "Failed to pull image \"docker.io/a/b:1\": toomanyrequests: You have reached your pull rate limit",
                vec!["harbor-pull"],
            ),
            (
                "Failed to pull image \"a/b\": pull access denied for a/b, repository does not exist or may require 'docker login'",
                vec!["harbor-pull"],
            ),
            (REFUSED, vec![]),
            (REFUSED, vec!["harbor-pull", "ecr-pull"]),
        ] {
            let mut pods = vec![pod("a-1", "a", &secrets)];
            if secrets.len() == 2 {
                pods = vec![
                    pod("a-1", "a", &secrets[..1]),
                    pod("a-2", "a", &secrets[1..]),
                ];
            }
            let world = World {
                pods,
                events: vec![failed("a-1", message)],
                ..World::default()
            };
            let mut signals = vec![pull("a")];
            assert!(attribute(&mut signals, &world).is_empty(), "{message}");
            assert_eq!(signals[0].component, "a");
        }
    }
}
