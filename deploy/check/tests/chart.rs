//! The Helm chart under `deploy/helm/sre-agent`, rendered by deploy/check's
//! renderer (`deploy_check::helm`) and put through the same checks as the
//! kustomize tree (`check_rendering`), plus what only the chart has.
//! With `helm` on the PATH, a test also compares with `helm template`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use deploy_check::helm::{Release, render_chart, set_value};
use deploy_check::*;
use serde_json::{Value, json};

const NAMESPACE: &str = "sre-agent";

fn chart() -> PathBuf {
    workspace_root().join("deploy/helm/sre-agent")
}

fn release() -> Release {
    Release {
        name: "sre-agent".into(),
        namespace: NAMESPACE.into(),
    }
}

fn raw(sets: &[(&str, &str)]) -> Vec<Value> {
    let overrides: Vec<Value> = sets.iter().map(|(k, v)| set_value(k, v)).collect();
    render_chart(&chart(), &release(), &overrides).unwrap_or_else(|e| panic!("render: {e}"))
}

fn rendered(sets: &[(&str, &str)]) -> Vec<Object> {
    parse_all(&raw(sets)).unwrap_or_else(|p| panic!("{sets:?}:\n  {}", p.join("\n  ")))
}

fn assert_ok(what: &str, problems: Problems) {
    assert!(problems.is_empty(), "{what}:\n  {}", problems.join("\n  "));
}

fn example() -> Vec<Object> {
    example_secrets().unwrap()
}

fn kustomized(dir: &str) -> Vec<Value> {
    render(&workspace_root().join("deploy/kustomize").join(dir)).unwrap()
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind}/{name}"))
}

#[test]
fn default_values_pass_every_check_and_are_read_only() {
    let objects = rendered(&[]);
    assert_ok("chart defaults", check_rendering(&objects, &example()));
    assert_ok("chart defaults: read-only", check_read_only(&objects));
    assert!(
        !check_writes_enabled(&objects).is_empty(),
        "the defaults must not enable mcp-kubernetes's writes"
    );
    assert_ok(
        "chart defaults: autoscaling",
        check_every_deployment_scaled(&objects, (2, 10), (70, 80)),
    );
    assert_eq!(
        objects.iter().filter(|o| o.kind() == "Deployment").count(),
        5
    );
    // Namespaced objects are in the release's namespace, the others have none.
    for o in &objects {
        let cluster = matches!(o.kind(), "ClusterRole" | "ClusterRoleBinding");
        let ns = o.meta().namespace.as_deref();
        assert_eq!(ns.is_none(), cluster, "{}: namespace {ns:?}", o.id());
        if !cluster {
            assert_eq!(ns, Some(NAMESPACE), "{}", o.id());
        }
    }
}

#[test]
fn writes_enabled_adds_exactly_the_write_access() {
    let writes = rendered(&[("writes.enabled", "true")]);
    assert_ok("writes.enabled", check_rendering(&writes, &example()));
    assert_ok("writes.enabled: writes", check_writes_enabled(&writes));
    let base: BTreeSet<String> = rendered(&[]).iter().map(Object::id).collect();
    let added: Vec<String> = writes
        .iter()
        .map(Object::id)
        .filter(|id| !base.contains(id))
        .collect();
    assert_eq!(
        added,
        [
            "ClusterRole/sre-agent-mcp-kubernetes-write",
            "ClusterRoleBinding/sre-agent-mcp-kubernetes-write"
        ]
    );
    // The same arguments and rules as the kustomize writes overlay.
    let ours = raw(&[("writes.enabled", "true")]);
    let theirs = kustomized("overlays/writes-enabled");
    for (kind, name, pointer) in [
        (
            "Deployment",
            "mcp-kubernetes",
            "/spec/template/spec/containers/0/args",
        ),
        ("ClusterRole", "sre-agent-mcp-kubernetes-write", "/rules"),
    ] {
        assert_eq!(
            find(&ours, kind, name).pointer(pointer),
            find(&theirs, kind, name).pointer(pointer),
            "{kind}/{name} {pointer}"
        );
    }
}

#[test]
fn auth_proxy_mirrors_the_kustomize_overlay() {
    let sets = [("authProxy.enabled", "true")];
    let objects = rendered(&sets);
    assert_ok("authProxy.enabled", check_rendering(&objects, &example()));
    assert_ok("authProxy.enabled: read-only", check_read_only(&objects));
    // Off by default: no sidecar, no portal port.
    let off = raw(&[]);
    let bot = find(&off, "Deployment", BOT);
    assert_eq!(
        bot.pointer("/spec/template/spec/containers")
            .and_then(Value::as_array)
            .map(Vec::len),
        Some(1)
    );
    // On: the same sidecar, bot flags, Service port and policy port as
    // deploy/kustomize/overlays/auth-proxy.
    let ours = raw(&sets);
    let theirs = kustomized("overlays/auth-proxy");
    for (kind, name, pointer) in [
        ("Deployment", BOT, "/spec/template/spec/containers/1"),
        ("Deployment", BOT, "/spec/template/spec/containers/0/args"),
        ("Service", BOT, "/spec/ports"),
        ("NetworkPolicy", "sre-agent-bot", "/spec/ingress/0/ports"),
    ] {
        assert_eq!(
            find(&ours, kind, name).pointer(pointer),
            find(&theirs, kind, name).pointer(pointer),
            "{kind}/{name} {pointer}"
        );
    }
    // Approver groups become one flag each.
    let over = json!({"authProxy": {"enabled": true, "approverGroups": ["sre-leads"]}});
    let approvers = render_chart(&chart(), &release(), &[over]).unwrap();
    let args = find(&approvers, "Deployment", BOT)
        .pointer("/spec/template/spec/containers/0/args")
        .unwrap()
        .to_string();
    assert!(args.contains("--approver-groups=sre-leads"), "{args}");
}

/// The chart's objects say what the kustomize base says: the same containers
/// (image, flags, env and Secret keys, ports, probes, resources, security,
/// mounts), pod security and volumes, Service ports, RBAC rules,
/// NetworkPolicies and config.toml; the chart adds labels, an image pull
/// policy, spread constraints and, for the servers, autoscalers, budgets and
/// session affinity.
#[test]
fn default_values_mirror_the_kustomize_base() {
    let ours = raw(&[]);
    let theirs = kustomized("base");
    let mut compared = 0;
    for t in &theirs {
        let kind = t["kind"].as_str().unwrap();
        let name = t["metadata"]["name"].as_str().unwrap();
        let o = find(&ours, kind, name);
        let same = |pointer: &str| {
            assert_eq!(
                o.pointer(pointer),
                t.pointer(pointer),
                "{kind}/{name} {pointer} differs from deploy/kustomize/base"
            );
        };
        match kind {
            "Deployment" => {
                let mut containers = o["spec"]["template"]["spec"]["containers"].clone();
                for c in containers.as_array_mut().unwrap() {
                    c.as_object_mut().unwrap().remove("imagePullPolicy");
                }
                assert_eq!(
                    Some(&containers),
                    t.pointer("/spec/template/spec/containers"),
                    "{name}: containers"
                );
                for p in [
                    "/spec/selector",
                    "/spec/template/metadata/labels",
                    "/spec/template/spec/securityContext",
                    "/spec/template/spec/volumes",
                    "/spec/template/spec/serviceAccountName",
                    "/spec/template/spec/automountServiceAccountToken",
                    "/spec/template/spec/terminationGracePeriodSeconds",
                ] {
                    same(p);
                }
            }
            "Service" => {
                same("/spec/ports");
                same("/spec/selector");
            }
            "ClusterRole" => same("/rules"),
            "ClusterRoleBinding" => {
                same("/roleRef");
                same("/subjects");
            }
            "NetworkPolicy" | "HorizontalPodAutoscaler" | "PodDisruptionBudget" => same("/spec"),
            "ServiceAccount" => same("/automountServiceAccountToken"),
            "ConfigMap" => {
                let toml_of = |v: &Value| -> toml::Value {
                    toml::from_str(v["data"]["config.toml"].as_str().unwrap()).unwrap()
                };
                assert_eq!(toml_of(o), toml_of(t), "{name}: config.toml");
            }
            other => panic!("kind {other} is not compared; teach this test"),
        }
        compared += 1;
    }
    assert!(compared >= 20, "compared only {compared} objects");
    // What the chart adds: one autoscaler and one budget per server.
    let ids = |v: &[Value]| -> BTreeSet<String> {
        v.iter()
            .map(|o| format!("{}/{}", o["kind"], o["metadata"]["name"]))
            .collect()
    };
    let extra: BTreeSet<String> = ids(&ours).difference(&ids(&theirs)).cloned().collect();
    let mut expected = BTreeSet::new();
    for (server, _) in SERVERS {
        expected.insert(format!("\"HorizontalPodAutoscaler\"/\"{server}\""));
        expected.insert(format!("\"PodDisruptionBudget\"/\"{server}\""));
    }
    assert_eq!(extra, expected);
}

#[test]
fn values_change_what_they_name() {
    let objects = raw(&[
        ("image.registry", "registry.example/team"),
        ("image.tag", "9.9.9"),
        ("slack.allowedChannels", "ops"),
        ("autoscaling.maxReplicas", "4"),
    ]);
    let bot = find(&objects, "Deployment", "sre-agent");
    assert_eq!(
        bot["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example/team/sre-agent:9.9.9"
    );
    let slack = find(&objects, "Deployment", "mcp-slack");
    let args: Vec<String> =
        serde_json::from_value(slack["spec"]["template"]["spec"]["containers"][0]["args"].clone())
            .unwrap();
    assert_eq!(arg_value(&args, "--allowed-channels"), Some("ops"));
    assert_eq!(
        find(&objects, "HorizontalPodAutoscaler", "mcp-slack")["spec"]["maxReplicas"],
        4
    );
    // Another namespace moves every DNS name with it, and the checks still pass.
    let other = Release {
        name: "x".into(),
        namespace: "ops-tools".into(),
    };
    let raws = render_chart(&chart(), &other, &[]).unwrap();
    let objects = parse_all(&raws).unwrap();
    assert_ok("namespace ops-tools", check_rendering(&objects, &example()));
    let text = serde_json::to_string(&raws).unwrap();
    assert!(
        !text.contains("sre-agent.svc"),
        "a DNS name kept the default namespace"
    );
}

#[test]
fn in_cluster_postgresql_is_reached_by_the_bot_only() {
    let raws = raw(&[("postgresql.inCluster.enabled", "true")]);
    let objects = parse_all(&raws).unwrap_or_else(|p| panic!("{}", p.join("\n")));
    // Its password Secret joins the example's names and keys.
    let mut secrets = example();
    secrets.extend(
        parse_all(&[json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "sre-agent-postgresql", "namespace": NAMESPACE},
            "stringData": {"password": "REPLACE_ME"}
        })])
        .unwrap(),
    );
    assert_ok("postgresql.inCluster", check_rendering(&objects, &secrets));
    let sts = find(&raws, "StatefulSet", "sre-agent-postgresql");
    let pod = &sts["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"],
        true
    );
    assert_eq!(
        sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"],
        "8Gi"
    );
    // The bot's URL names the Service and its port.
    let svc = find(&raws, "Service", "sre-agent-postgresql");
    assert_eq!(svc["spec"]["ports"][0]["port"], 5432);
    let env =
        &find(&raws, "Deployment", "sre-agent")["spec"]["template"]["spec"]["containers"][0]["env"];
    let url = env
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "DATABASE_URL")
        .and_then(|e| e["value"].as_str())
        .unwrap();
    assert!(
        url.contains("@sre-agent-postgresql.sre-agent.svc.cluster.local:5432/"),
        "{url}"
    );
    // Only the bot's pods may connect.
    let policy = objects
        .iter()
        .find_map(|o| match o {
            Object::NetworkPolicy(p)
                if p.metadata.name.as_deref() == Some("sre-agent-postgresql") =>
            {
                Some(p)
            }
            _ => None,
        })
        .expect("a NetworkPolicy for PostgreSQL");
    let spec = policy.spec.as_ref().unwrap();
    let peers: Vec<_> = spec
        .ingress
        .iter()
        .flatten()
        .flat_map(|r| r.from.clone().unwrap_or_default())
        .collect();
    assert_eq!(peers.len(), 1);
    let bot_labels = BTreeMap::from([("app.kubernetes.io/name".to_string(), BOT.to_string())]);
    assert!(selects(
        peers[0].pod_selector.as_ref().unwrap(),
        &bot_labels
    ));
    assert!(peers[0].namespace_selector.is_none());
    // The external URL's Secret is no longer read.
    assert!(!serde_json::to_string(env).unwrap().contains("sre-agent-db"));
}

#[test]
fn service_monitor_scrapes_the_bot_metrics_port() {
    assert!(
        !raw(&[]).iter().any(|o| o["kind"] == "ServiceMonitor"),
        "the ServiceMonitor is off by default"
    );
    let raws = raw(&[("serviceMonitor.enabled", "true")]);
    let (monitors, rest): (Vec<Value>, Vec<Value>) = raws
        .into_iter()
        .partition(|o| o["apiVersion"] == "monitoring.coreos.com/v1");
    assert_eq!(monitors.len(), 1);
    let m = &monitors[0];
    let svc = find(&rest, "Service", BOT);
    for (k, v) in m["spec"]["selector"]["matchLabels"].as_object().unwrap() {
        assert_eq!(&svc["metadata"]["labels"][k], v, "selector label {k}");
    }
    let port = m["spec"]["endpoints"][0]["port"].as_str().unwrap();
    assert!(
        svc["spec"]["ports"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == port)
    );
    assert_eq!(m["spec"]["endpoints"][0]["path"], "/metrics");
    assert_ok(
        "serviceMonitor.enabled",
        check_rendering(&parse_all(&rest).unwrap(), &example()),
    );
}

#[test]
fn values_schema_accepts_the_defaults_and_refuses_mistakes() {
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(chart().join("values.schema.json")).unwrap())
            .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let values = read_yaml(&chart().join("values.yaml")).unwrap().remove(0);
    let errors: Vec<String> = validator
        .iter_errors(&values)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "values.yaml: {errors:?}");
    for (what, bad) in [
        ("a string for a boolean", set_value("writes.enabled", "yes")),
        ("an unknown key", set_value("writes.enable", "true")),
        (
            "a misspelt top-level key",
            set_value("serviceMonitors.enabled", "true"),
        ),
        (
            "a percentage over 100",
            set_value("autoscaling.targetCPUUtilizationPercentage", "170"),
        ),
        (
            "an unknown LLM provider",
            set_value("bot.llm.provider", "llama"),
        ),
    ] {
        let mut v = values.clone();
        helm::merge_values(&mut v, &bad);
        assert!(!validator.is_valid(&v), "the schema accepted {what}");
    }
}

/// With `helm` installed, `helm template` renders what deploy/check renders
/// (skipped without it: no package registry this project's machines reach
/// ships it).
#[test]
fn render_agrees_with_helm_template() {
    for sets in [vec![], vec![("writes.enabled", "true")]] {
        let mut cmd = std::process::Command::new("helm");
        cmd.args(["template", "sre-agent"])
            .arg(chart())
            .args(["--namespace", NAMESPACE]);
        for (k, v) in &sets {
            cmd.args(["--set", &format!("{k}={v}")]);
        }
        let output = match cmd.output() {
            Ok(o) if o.status.success() => o,
            Ok(o) => panic!(
                "helm template failed: {}",
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => {
                eprintln!("skipped: helm not runnable ({e})");
                return;
            }
        };
        let theirs = split_yaml(&String::from_utf8_lossy(&output.stdout)).unwrap();
        let ours = raw(&sets);
        let key = |v: &Value| format!("{}/{}", v["kind"], v["metadata"]["name"]);
        let theirs: BTreeMap<String, &Value> = theirs.iter().map(|v| (key(v), v)).collect();
        let ours: BTreeMap<String, &Value> = ours.iter().map(|v| (key(v), v)).collect();
        assert_eq!(theirs, ours, "{sets:?}");
    }
}
