//! The small model of the cluster the engine reasons over.
//!
//! Built from the `list … output=json` answers of the evidence pack (pods,
//! Services, NetworkPolicies, events, in every namespace read): which
//! workload owns which pod and on which node, which claims it mounts, what
//! its containers' states are; which Service selects which pods and at which
//! address; which policy admits whom. Errors name peers by Service name,
//! DNS name, ClusterIP or pod IP, and [`World::resolve`] turns any of them
//! into the component an engineer would look at.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::Value;

use super::collect::EvidencePack;
use super::policy::policy_from;
pub use super::policy::{Policy, PolicyPeer};
use super::rules::{owner_of, same_component};

pub use super::objects::{Certificate, Container, Event, IngressRoute, Pod, Service, selects};
use super::objects::{
    certificate_from, event_from, ingress_routes, json_docs, labels_at, pod_from, str_at,
};
pub(super) use super::objects::{job_owner, replicaset_owner};

pub use super::mesh::MeshPolicy;

/// The cluster as far as the evidence pack shows it.
#[derive(Debug, Clone, Default)]
pub struct World {
    /// Pods.
    pub pods: Vec<Pod>,
    /// Services.
    pub services: Vec<Service>,
    /// NetworkPolicies.
    pub policies: Vec<Policy>,
    /// Calico's GlobalNetworkPolicies (listed when calls time out or are
    /// refused).
    pub calico: Vec<super::calico::GlobalPolicy>,
    /// Events of the namespace in scope.
    pub events: Vec<Event>,
    /// cert-manager Certificates of the namespaces read (listed when a
    /// client failed a TLS handshake).
    pub certificates: Vec<Certificate>,
    /// Service-mesh AuthorizationPolicies of the namespaces read (listed
    /// when a sidecar denied a call).
    pub authz: Vec<MeshPolicy>,
    /// The labels of each namespace read (what a policy's
    /// `namespaceSelector` matches).
    pub namespaces: BTreeMap<String, BTreeMap<String, String>>,
    /// The Ingresses' routes (listed when the alert names a URL).
    pub routes: Vec<IngressRoute>,
    /// HorizontalPodAutoscalers (listed when a pod is at its CPU limit).
    pub autoscalers: Vec<super::autoscalers::Autoscaler>,
}

/// Of several restricting policies, the newest is the change; of several
/// applied together (within a minute of the newest: a policy set applied
/// at once), the most restrictive, by `peers` (a default deny admits no
/// one; an allow rule beside it only adds).
fn the_change(policies: Vec<&Policy>, peers: impl Fn(&Policy) -> usize) -> Option<&Policy> {
    let newest = policies.iter().filter_map(|p| p.created).max();
    let together = |p: &Policy| match (newest, p.created) {
        (Some(n), Some(c)) => n.duration_since(c) <= jiff::SignedDuration::from_mins(1),
        (None, _) => true,
        (Some(_), None) => false,
    };
    policies
        .into_iter()
        .filter(|p| together(p))
        .max_by_key(|p| (std::cmp::Reverse(peers(p)), p.created))
}

/// A network policy that drops a caller's calls (see
/// [`World::blocking_policy`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Blocker {
    /// The policy's name.
    pub name: String,
    /// Its namespace; empty for a cluster-wide policy.
    pub namespace: String,
    /// When it was created.
    pub created: Option<Timestamp>,
    /// Its kind: `NetworkPolicy`, `GlobalNetworkPolicy` or `Calico
    /// NetworkPolicy` (namespaced, `projectcalico.org/v3`).
    pub kind: &'static str,
    /// Whether it stops the caller's egress (else the callee's ingress).
    pub egress: bool,
}

impl Blocker {
    fn of(p: &Policy, egress: bool) -> Blocker {
        Blocker {
            name: p.name.clone(),
            namespace: p.namespace.clone(),
            created: p.created,
            kind: "NetworkPolicy",
            egress,
        }
    }

    fn global(p: &super::calico::GlobalPolicy, egress: bool) -> Blocker {
        Blocker {
            name: p.name.clone(),
            namespace: p.namespace.clone().unwrap_or_default(),
            created: p.created,
            kind: if p.namespace.is_some() {
                "Calico NetworkPolicy"
            } else {
                "GlobalNetworkPolicy"
            },
            egress,
        }
    }

    /// What it does to `caller`'s calls to `peer`, in words.
    pub fn why(&self, peer: &str, caller: &str) -> String {
        match self.kind {
            "NetworkPolicy" if self.egress => format!(
                "NetworkPolicy {} selects {caller}'s pods and lets none of them reach the pods behind {peer} on their port",
                self.name
            ),
            "NetworkPolicy" => format!(
                "NetworkPolicy {} selects the pods behind {peer} and admits none of {caller}'s pods",
                self.name
            ),
            "Calico NetworkPolicy" => format!(
                "Calico NetworkPolicy {} in namespace {} drops {caller}'s connections to the pods behind {peer}",
                self.name, self.namespace
            ),
            kind => format!(
                "Calico {kind} {} drops {caller}'s connections to the pods behind {peer}",
                self.name
            ),
        }
    }
}

/// Keeps the first of the items with the same key, in order.
fn dedup_by<T, K: Ord>(items: &mut Vec<T>, key: impl Fn(&T) -> K) {
    let mut seen = std::collections::BTreeSet::new();
    items.retain(|x| seen.insert(key(x)));
}

impl World {
    /// Reads the `list … output=json` answers of the pack.
    pub fn from_pack(pack: &EvidencePack) -> World {
        World::from_outputs(&pack.outputs)
    }

    /// Reads the `list … output=json` answers among `outputs` (the
    /// collector calls it between rounds, before there is a pack).
    pub fn from_outputs(outputs: &[super::collect::Output]) -> World {
        let mut w = World::default();
        for o in outputs
            .iter()
            .filter(|o| o.name == "list" && !o.outcome.is_error)
        {
            if o.args.get("output").and_then(Value::as_str) != Some("json") {
                continue;
            }
            let kind = o.args.get("kind").and_then(Value::as_str).unwrap_or("");
            for doc in json_docs(&o.outcome.text) {
                match kind {
                    "pods" => w.pods.push(pod_from(&doc)),
                    "services" => w.services.push(Service {
                        name: str_at(&doc, "/metadata/name").unwrap_or("").to_string(),
                        namespace: str_at(&doc, "/metadata/namespace")
                            .unwrap_or("")
                            .to_string(),
                        selector: labels_at(&doc, "/spec/selector"),
                        cluster_ip: str_at(&doc, "/spec/clusterIP")
                            .filter(|ip| *ip != "None")
                            .map(str::to_string),
                        ports: doc
                            .pointer("/spec/ports")
                            .and_then(Value::as_array)
                            .map(|ports| {
                                ports
                                    .iter()
                                    .filter_map(|p| {
                                        Some((
                                            str_at(p, "/name").unwrap_or("").to_string(),
                                            p.get("port")?.as_u64()?,
                                        ))
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                        target_ports: doc
                            .pointer("/spec/ports")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                            .filter_map(|p| p.get("targetPort")?.as_u64())
                            .collect(),
                        pod_ports: doc
                            .pointer("/spec/ports")
                            .and_then(Value::as_array)
                            .map(|ports| {
                                ports
                                    .iter()
                                    .map(|p| match p.get("targetPort") {
                                        None => p.get("port")?.as_u64(),
                                        Some(t) => t.as_u64(),
                                    })
                                    .collect::<Option<Vec<u64>>>()
                            })
                            .unwrap_or(Some(Vec::new())),
                    }),
                    "networkpolicies" => w.policies.push(policy_from(&doc)),
                    super::calico::GLOBAL_NETWORK_POLICIES | super::calico::NETWORK_POLICIES => {
                        w.calico.push(super::calico::GlobalPolicy::from_value(&doc));
                    }
                    "ingresses" => w.routes.extend(ingress_routes(&doc)),
                    super::autoscalers::AUTOSCALERS => w
                        .autoscalers
                        .push(super::autoscalers::Autoscaler::from_value(&doc)),
                    "events" => w.events.push(event_from(&doc)),
                    super::leads::CERTIFICATES => w.certificates.push(certificate_from(&doc)),
                    super::leads::AUTHORIZATION_POLICIES => {
                        w.authz.push(MeshPolicy::from_value(&doc));
                    }
                    "namespaces" => {
                        let name = str_at(&doc, "/metadata/name").unwrap_or("").to_string();
                        let mut labels = labels_at(&doc, "/metadata/labels");
                        // Kubernetes puts it on every namespace (1.21+).
                        labels
                            .entry("kubernetes.io/metadata.name".into())
                            .or_insert_with(|| name.clone());
                        w.namespaces.insert(name, labels);
                    }
                    _ => {}
                }
            }
        }
        // The same object read twice (a namespace's list and a cluster-wide
        // one, a selector's few pods and the namespace's) counts once.
        dedup_by(&mut w.pods, |p| (p.namespace.clone(), p.name.clone()));
        dedup_by(&mut w.services, |s| (s.namespace.clone(), s.name.clone()));
        dedup_by(&mut w.policies, |p| (p.namespace.clone(), p.name.clone()));
        dedup_by(&mut w.calico, |p| (p.namespace.clone(), p.name.clone()));
        dedup_by(&mut w.certificates, |c| {
            (c.namespace.clone(), c.name.clone())
        });
        dedup_by(&mut w.authz, |p| (p.namespace.clone(), p.name.clone()));
        dedup_by(&mut w.events, |e| {
            (
                e.namespace.clone(),
                e.object.clone(),
                e.reason.clone(),
                e.first,
                e.message.clone(),
            )
        });
        w
    }

    /// The names of the workloads (pod owners) and Services read: what a
    /// name found in an object's name can stand for.
    pub fn component_names(&self) -> impl Iterator<Item = &str> {
        self.pods
            .iter()
            .map(|p| p.owner.as_str())
            .chain(self.services.iter().map(|s| s.name.as_str()))
    }

    /// The one namespace `component` (a workload, Service or
    /// NetworkPolicy) lives in, when the objects read agree on one.
    pub fn namespace_of(&self, component: &str) -> Option<&str> {
        let mut found = self
            .pods
            .iter()
            .filter(|p| same_component(&p.owner, component))
            .map(|p| p.namespace.as_str())
            .chain(
                self.services
                    .iter()
                    .filter(|s| s.name == component)
                    .map(|s| s.namespace.as_str()),
            )
            .chain(
                self.policies
                    .iter()
                    .filter(|p| p.name == component)
                    .map(|p| p.namespace.as_str()),
            )
            .filter(|ns| !ns.is_empty());
        let first = found.next()?;
        found.all(|ns| ns == first).then_some(first)
    }

    /// The owner of a pod, by name.
    pub fn owner(&self, pod: &str) -> String {
        self.pods
            .iter()
            .find(|p| p.name == pod)
            .map_or_else(|| owner_of(pod), |p| p.owner.clone())
    }

    /// The pods a Service selects.
    pub fn backends<'a>(&'a self, svc: &'a Service) -> impl Iterator<Item = &'a Pod> + 'a {
        self.pods.iter().filter(move |p| {
            p.namespace == svc.namespace
                && !svc.selector.is_empty()
                && selects(&svc.selector, &p.labels)
        })
    }

    /// The workloads behind the Ingress route that serves `host` and
    /// `path` (the most specific one, as an ingress controller chooses):
    /// what a probe of that URL reaches. Empty when no route serves it.
    pub fn served_by(&self, host: &str, path: &str) -> Vec<String> {
        let Some(route) = self
            .routes
            .iter()
            .filter_map(|r| Some((r.serves(host, path)?, r)))
            .max_by_key(|(len, _)| *len)
            .map(|(_, r)| r)
        else {
            return Vec::new();
        };
        match self.resolve(&format!("{}.{}", route.service, route.namespace)) {
            Some((_, workloads)) if !workloads.is_empty() => workloads,
            _ => vec![route.service.clone()],
        }
    }

    /// The hosts of the Ingress routes that lead to `workload` (by its
    /// Service): where its requests come in from outside.
    pub fn hosts_in_front_of(&self, workload: &str) -> Vec<String> {
        let mut hosts: Vec<String> = self
            .routes
            .iter()
            .filter_map(|r| {
                let host = r.host.as_deref()?;
                self.served_by(host, &r.path)
                    .iter()
                    .any(|w| same_component(w, workload))
                    .then(|| host.to_string())
            })
            .collect();
        hosts.sort();
        hosts.dedup();
        hosts
    }

    /// What a peer named in an error is: a Service (by name, DNS name or
    /// ClusterIP) or a pod (by IP), as `(service, workloads behind it)`.
    pub fn resolve(&self, peer: &str) -> Option<(Option<&Service>, Vec<String>)> {
        if let Some(workloads) = self.running_as(peer) {
            return Some((None, workloads));
        }
        let host = host_of(peer);
        if host.is_empty() {
            return None;
        }
        let is_ip = host.bytes().all(|b| b.is_ascii_digit() || b == b'.');
        let svc = if is_ip {
            self.services
                .iter()
                .find(|s| s.cluster_ip.as_deref() == Some(host.as_str()))
        } else {
            // `name`, `name.ns`, `name.ns.svc.cluster.local`, and a
            // StatefulSet pod's `pod.name.ns.svc…`.
            let labels: Vec<&str> = host.split('.').collect();
            let (name, ns) = match labels.as_slice() {
                [_, name, ns, "svc", ..] => (*name, Some(*ns)),
                [name, ns, ..] if *ns != "svc" => (*name, Some(*ns)),
                [name, ..] => (*name, None),
                [] => ("", None),
            };
            self.services
                .iter()
                .find(|s| s.name == name && ns.is_none_or(|n| n == s.namespace))
        };
        if let Some(s) = svc {
            let mut workloads: Vec<String> = self.backends(s).map(|p| p.owner.clone()).collect();
            workloads.sort();
            workloads.dedup();
            return Some((Some(s), workloads));
        }
        if is_ip {
            return self
                .pods
                .iter()
                .find(|p| p.ip.as_deref() == Some(host.as_str()))
                .map(|p| (None, vec![p.owner.clone()]));
        }
        let name = host.split('.').next().unwrap_or("");
        self.pods
            .iter()
            .find(|p| same_component(&p.owner, name))
            .map(|p| (None, vec![p.owner.clone()]))
    }

    /// The workload (else the Service) a cluster DNS name stands for:
    /// `nats.messaging.svc`, `orders.shop.svc.cluster.local`, a StatefulSet
    /// pod's `db-0.db.data.svc`. Traces name a peer they have no spans of
    /// (a broker, a database, a service without instrumentation) by the
    /// address the client dialled; that name is the same thing as the
    /// workload the cluster runs, and evidence about either must meet.
    /// Only names with a `svc` label are taken: a bare or external name
    /// (`api.shipengine.com`) is not the cluster's to claim.
    pub fn cluster_dns_owner(&self, host: &str) -> Option<String> {
        if !host_of(host).split('.').any(|l| l == "svc") {
            return None;
        }
        match self.resolve(host)? {
            (Some(_), workloads) if workloads.len() == 1 => workloads.into_iter().next(),
            (Some(svc), _) => Some(svc.name.clone()),
            (None, _) => None,
        }
    }

    /// The kind `rollout_history` reads `owner` in `namespace` as: an Argo
    /// `rollout` when the cluster's events name a Rollout of that name
    /// there (its ReplicaSets' pods look like a Deployment's), else a
    /// `deployment`.
    pub fn workload_kind(&self, namespace: &str, owner: &str) -> &'static str {
        if self.argo_rollouts(namespace).any(|r| r == owner) {
            "rollout"
        } else {
            "deployment"
        }
    }

    /// The Argo Rollouts the events read name in `namespace`.
    pub fn argo_rollouts<'a>(&'a self, namespace: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let mut seen: Vec<&str> = Vec::new();
        self.events
            .iter()
            .filter(move |e| e.object_kind == "Rollout" && e.namespace == namespace)
            .map(|e| e.object.as_str())
            .filter(move |o| {
                let new = !seen.contains(o);
                seen.push(o);
                new
            })
    }

    /// The workloads whose pods run as the Kubernetes identity `who`
    /// (`system:serviceaccount:NAMESPACE:NAME`, as the API server names the
    /// caller it refuses), when it is one and any pod read runs as it.
    pub fn running_as(&self, who: &str) -> Option<Vec<String>> {
        let (namespace, account) = who
            .strip_prefix("system:serviceaccount:")?
            .split_once(':')?;
        let mut workloads: Vec<String> = self
            .pods
            .iter()
            .filter(|p| p.namespace == namespace && p.service_account == account)
            .map(|p| p.owner.clone())
            .collect();
        workloads.sort();
        workloads.dedup();
        (!workloads.is_empty()).then_some(workloads)
    }

    /// The one data store of `system` (`redis`, `postgresql`, …) a client in
    /// `namespace` would use: the workload behind the Services serving that
    /// system there (else anywhere, when only one exists), when it is one
    /// workload and not `client` itself.
    pub fn store_of_system(&self, system: &str, namespace: &str, client: &str) -> Option<String> {
        let owners = |local: bool| {
            let mut owners: Vec<String> = self
                .services
                .iter()
                .filter(|s| s.serves(system) && (!local || s.namespace == namespace))
                .flat_map(|s| self.backends(s).map(|p| p.owner.clone()))
                .collect();
            owners.sort();
            owners.dedup();
            owners
        };
        let local = owners(true);
        let found = if local.is_empty() {
            owners(false)
        } else {
            local
        };
        match found.as_slice() {
            [one] if !same_component(one, client) => Some(one.clone()),
            _ => None,
        }
    }

    /// A network policy that drops the calls of the workload `caller` to a
    /// ready backend of `svc`: a Calico GlobalNetworkPolicy that denies
    /// them (see [`super::calico`]), or a NetworkPolicy that selects the
    /// backend, or the caller, and admits none of the other side. `None`
    /// when the caller's pods are unknown, or when any policy may admit
    /// them.
    pub fn blocking_policy(&self, svc: &Service, caller: &str) -> Option<Blocker> {
        let callers: Vec<&Pod> = self.pods.iter().filter(|p| p.owner == caller).collect();
        let caller_pod = *callers.first()?;
        let caller_ns = caller_pod.namespace.clone();
        let backend = self.backends(svc).find(|p| p.phase == "Running")?;
        fn end<'a>(w: &'a World, p: &'a Pod) -> super::policy::Endpoint<'a> {
            super::policy::Endpoint {
                namespace: &p.namespace,
                ns_labels: w.namespaces.get(&p.namespace),
                labels: &p.labels,
                ip: p.ip.as_deref(),
            }
        }
        // Ingress: the policies that select the backend. Policies add up:
        // traffic is allowed when any selecting policy admits it.
        let ingress: Vec<&Policy> = self
            .policies
            .iter()
            .filter(|p| {
                p.ingress_restricted
                    && p.namespace == backend.namespace
                    && selects(&p.pod_selector, &backend.labels)
            })
            .collect();
        // Egress: the policies that select the caller.
        let egress: Vec<&Policy> = self
            .policies
            .iter()
            .filter(|p| {
                p.egress_restricted
                    && p.namespace == caller_ns
                    && selects(&p.pod_selector, &caller_pod.labels)
            })
            .collect();
        // The ports a call to the Service may arrive on (which one the
        // caller used is not known: a policy admits when it admits any).
        let ports: Option<Vec<u16>> = (!svc.ports.is_empty()).then(|| {
            svc.ports
                .iter()
                .map(|(_, p)| *p)
                .chain(svc.target_ports.iter().copied())
                .filter_map(|p| u16::try_from(p).ok())
                .collect()
        });
        // Policies see the pod's port, after the Service's translation
        // (unknown when a targetPort is a name).
        let pod_ports: Option<Vec<u16>> = svc.pod_ports.as_ref().map(|ports| {
            ports
                .iter()
                .filter_map(|p| u16::try_from(*p).ok())
                .collect()
        });
        // Calico evaluates its own policies of an order below 1000 first
        // (the Kubernetes ones sit at 1000 in the default tier); a rule
        // of theirs that allows ends the evaluation of that direction.
        let mut allowed = [false, false];
        let mut denied: Vec<Blocker> = Vec::new();
        for (i, (direction, k8s_selects)) in [
            (super::calico::Direction::Egress, !egress.is_empty()),
            (super::calico::Direction::Ingress, !ingress.is_empty()),
        ]
        .into_iter()
        .enumerate()
        {
            match super::calico::verdict(
                &self.calico,
                direction,
                &end(self, caller_pod),
                &end(self, backend),
                pod_ports.as_deref().unwrap_or_default(),
                k8s_selects,
            ) {
                super::calico::Verdict::Denied(p) => denied.push(Blocker::global(
                    p,
                    direction == super::calico::Direction::Egress,
                )),
                super::calico::Verdict::Allowed => allowed[i] = true,
                _ => {}
            }
        }
        // Both ways denied: the newer policy is the change (an old one
        // that drops these calls too was not what broke them today).
        if let Some(b) = denied.into_iter().max_by_key(|b| b.created) {
            return Some(b);
        }
        let [egress_allowed, ingress_allowed] = allowed;
        let ingress = if ingress_allowed { Vec::new() } else { ingress };
        let egress = if egress_allowed { Vec::new() } else { egress };
        if !ingress.is_empty()
            && !callers.iter().any(|c| {
                ingress
                    .iter()
                    .any(|p| p.admits_on(&end(self, c), ports.as_deref()))
            })
        {
            return the_change(ingress, |p| p.from.len()).map(|p| Blocker::of(p, false));
        }
        if !egress.is_empty()
            && !egress
                .iter()
                .any(|p| p.permits_on(&end(self, backend), pod_ports.as_deref()))
        {
            return the_change(egress, |p| p.to.len()).map(|p| Blocker::of(p, true));
        }
        None
    }

    /// A service-mesh AuthorizationPolicy that refuses every call the
    /// workload `caller` makes to the workload `callee`: a DENY policy
    /// that names the caller, or, when ALLOW policies guard the callee,
    /// the newest of them when none admits the caller (see
    /// [`super::mesh`]). `None` when either side's pods are unknown or any
    /// policy may admit the caller.
    pub fn denying_mesh_policy(&self, callee: &str, caller: &str) -> Option<&MeshPolicy> {
        let from = self
            .pods
            .iter()
            .find(|p| same_component(&p.owner, caller))?;
        let to = self
            .pods
            .iter()
            .find(|p| same_component(&p.owner, callee))?;
        let who = super::mesh::Caller {
            namespace: &from.namespace,
            service_account: &from.service_account,
        };
        // The root namespace's policies (`istio-system`) apply mesh-wide.
        let guarding: Vec<&MeshPolicy> = self
            .authz
            .iter()
            .filter(|p| {
                (p.namespace == to.namespace || p.namespace == "istio-system")
                    && selects(&p.selector, &to.labels)
            })
            .collect();
        if let Some(deny) = guarding.iter().find(|p| p.denies_all_from(who)) {
            return Some(deny);
        }
        let allows: Vec<&MeshPolicy> = guarding
            .into_iter()
            .filter(|p| p.action == "ALLOW")
            .collect();
        if !allows.is_empty() && allows.iter().all(|p| p.allows_nothing_from(who)) {
            return allows.into_iter().max_by_key(|p| p.created);
        }
        None
    }

    /// The pods whose containers the engine should read the logs of: those
    /// of `subject`, then unhealthy ones, at most `cap`. Each as (pod,
    /// container, previous).
    pub fn log_targets(
        &self,
        subject: Option<&str>,
        since: Timestamp,
        cap: usize,
    ) -> Vec<(String, String, String, bool)> {
        let mut out = Vec::new();
        let mut seen_owner: BTreeMap<String, usize> = BTreeMap::new();
        let is_subject =
            |p: &Pod| subject.is_some_and(|s| same_component(&p.owner, s) || p.name == s);
        // A pod started during the incident is a change: a migration Job, a
        // batch run, a new replica. What it says is read too, after the
        // subject and the unhealthy.
        let is_new = |p: &Pod| p.created.is_some_and(|c| c >= since);
        let mut pods: Vec<&Pod> = self
            .pods
            .iter()
            .filter(|p| is_subject(p) || p.unhealthy() || is_new(p))
            .collect();
        pods.sort_by_key(|p| {
            let rank = if is_subject(p) {
                0
            } else if p.unhealthy() {
                1
            } else {
                2
            };
            // Within a workload, its failing pods say why; healthy ones
            // of an older revision say nothing new.
            (rank, !p.unhealthy(), !is_new(p), p.name.clone())
        });
        for p in pods {
            // Two pods per workload tell as much as ten.
            let n = seen_owner.entry(p.owner.clone()).or_default();
            if *n >= 2 {
                continue;
            }
            *n += 1;
            for c in &p.containers {
                let crashed = c.restarts > 0 || c.terminated.as_ref().is_some_and(|t| t.1 != 0);
                if crashed {
                    out.push((p.namespace.clone(), p.name.clone(), c.name.clone(), true));
                }
                if c.running || (crashed && !c.init) || is_subject(p) && !c.init {
                    out.push((p.namespace.clone(), p.name.clone(), c.name.clone(), false));
                }
            }
        }
        out.truncate(cap);
        out
    }
}

/// The host of a peer as an error names it: `http://orders.shop.svc:8080/x`
/// is `orders.shop.svc`, lower case.
fn host_of(peer: &str) -> String {
    peer.trim_start_matches("http://")
        .trim_start_matches("https://")
        .split(['/', ':'])
        .next()
        .unwrap_or(peer)
        .to_lowercase()
}

#[cfg(test)]
#[path = "world_tests.rs"]
mod tests;
