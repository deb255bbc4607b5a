//! Unit tests: each check is fed a bad manifest, made from one good fixture by
//! a single replacement.

use std::collections::BTreeSet;

use serde_json::Value;

use super::*;
use crate::kustomize::split_image;

fn objects(yaml: &str) -> Vec<Object> {
    parse_all(&split_yaml(yaml).unwrap()).unwrap()
}

const GOOD: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: mcp-x, namespace: ns}
spec:
  selector: {matchLabels: {app: mcp-x}}
  template:
    metadata: {labels: {app: mcp-x, app.kubernetes.io/component: mcp-server}}
    spec:
      securityContext: {runAsNonRoot: true, runAsUser: 65532}
      containers:
        - name: c
          image: example/mcp-x:1.0
          args: ["--allowed-hosts", "mcp-x.ns.svc"]
          ports: [{name: http, containerPort: 8080}]
          livenessProbe: {httpGet: {path: /healthz, port: http}}
          readinessProbe: {httpGet: {path: /readyz, port: 8080}}
          resources:
            requests: {cpu: 10m, memory: 32Mi}
            limits: {cpu: "1", memory: 256Mi}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {drop: [ALL]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: bot, namespace: ns}
spec:
  selector: {matchLabels: {app: bot}}
  template:
    metadata: {labels: {app: bot}}
    spec:
      securityContext: {runAsNonRoot: true}
      volumes: [{name: config, configMap: {name: cfg}}]
      containers:
        - name: c
          image: example/bot:1.0
          ports: [{name: http, containerPort: 8080}]
          livenessProbe: {httpGet: {path: /healthz, port: http}}
          readinessProbe: {httpGet: {path: /readyz, port: http}}
          resources:
            requests: {cpu: 100m, memory: 128Mi}
            limits: {cpu: "1", memory: 512Mi}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {drop: [ALL]}
---
apiVersion: v1
kind: Service
metadata: {name: mcp-x, namespace: ns}
spec:
  selector: {app: mcp-x}
  ports: [{port: 8080, targetPort: http}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: ns}
data:
  config.toml: |
    [[servers]]
    name = "x"
    transport = "http"
    url = "http://mcp-x.ns.svc:8080/mcp"
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: mcp, namespace: ns}
spec:
  podSelector: {matchLabels: {app.kubernetes.io/component: mcp-server}}
  policyTypes: [Ingress]
  ingress:
    - from: [{podSelector: {matchLabels: {app: bot}}}]
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: sre-agent, namespace: ns}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: sre-agent}
  minReplicas: 2
  maxReplicas: 10
  metrics:
    - {type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}}
    - {type: Resource, resource: {name: memory, target: {type: Utilization, averageUtilization: 80}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: sre-agent, namespace: ns}
spec:
  replicas: 2
  selector: {matchLabels: {app: sre-agent}}
  template:
    metadata: {labels: {app: sre-agent}}
    spec:
      securityContext: {runAsNonRoot: true}
      containers:
        - name: c
          image: example/sre-agent:1.0
          ports: [{name: http, containerPort: 8080}]
          livenessProbe: {httpGet: {path: /healthz, port: http}}
          readinessProbe: {httpGet: {path: /readyz, port: http}}
          resources:
            requests: {cpu: 100m, memory: 128Mi}
            limits: {cpu: "1", memory: 512Mi}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {drop: [ALL]}
"#;

/// The good fixture with `from` replaced by `to` (which must occur).
fn bad(from: &str, to: &str) -> Vec<Object> {
    assert!(GOOD.contains(from), "fixture lacks {from}");
    objects(&GOOD.replacen(from, to, 1))
}

/// Asserts that one of `problems` contains `needle`.
#[track_caller]
fn reports(problems: &Problems, needle: &str) {
    assert!(
        problems.iter().any(|p| p.contains(needle)),
        "no problem mentions {needle:?}: {problems:?}"
    );
}

/// Runs `check` on the good fixture with each `(from, to)` replacement made,
/// and asserts that it reports the problem named by the third element.
#[track_caller]
fn each_bad(check: impl Fn(&[Object]) -> Problems, cases: &[(&str, &str, &str)]) {
    for (from, to, needle) in cases {
        reports(&check(&bad(from, to)), needle);
    }
}

/// Runs `check` on `base` with each `(from, to)` replacement made (all
/// occurrences), and asserts that it reports the problem named by the third.
#[track_caller]
fn each_replaced(check: fn(&[Object]) -> Problems, base: &str, cases: &[(&str, &str, &str)]) {
    for (from, to, needle) in cases {
        assert!(base.contains(from), "fixture lacks {from}");
        reports(&check(&objects(&base.replace(from, to))), needle);
    }
}

#[test]
fn the_good_fixture_passes_every_check() {
    let o = objects(GOOD);
    assert_eq!(check_probes(&o), Problems::new());
    assert_eq!(check_resources(&o), Problems::new());
    assert_eq!(check_security(&o), Problems::new());
    assert_eq!(check_read_only(&o), Problems::new());
    assert_eq!(check_hpa(&o), Problems::new());
    assert_eq!(check_selectors(&o), Problems::new());
    assert_eq!(check_network_policies(&o, "bot"), Problems::new());
    assert_eq!(check_bot_config(&o, "cfg", "bot"), Problems::new());
}

#[test]
fn unknown_kinds_and_fields_fail_to_parse() {
    let e = parse_object(
        &serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}),
    );
    assert!(e.unwrap_err().contains("unknown kind"));
    let e = parse_all(&split_yaml(&GOOD.replacen("livenessProbe", "livenessProbes", 1)).unwrap());
    assert!(e.unwrap_err()[0].contains("livenessProbes"));
    let e = parse_all(
        &split_yaml(&GOOD.replacen(
            "apiVersion: autoscaling/v2",
            "apiVersion: autoscaling/v1",
            1,
        ))
        .unwrap(),
    );
    assert!(e.unwrap_err()[0].contains("unknown kind"));
}

#[test]
fn a_missing_or_wrong_probe_fails() {
    each_bad(
        check_probes,
        &[
            (
                "livenessProbe: {httpGet: {path: /healthz, port: http}}\n          readinessProbe: {httpGet: {path: /readyz, port: 8080}}",
                "readinessProbe: {httpGet: {path: /readyz, port: 8080}}",
                "no HTTP liveness probe",
            ),
            (
                "path: /readyz, port: 8080",
                "path: /healthz, port: 8080",
                "readiness probe path",
            ),
            (
                "path: /readyz, port: 8080",
                "path: /readyz, port: 9090",
                "not a container port",
            ),
        ],
    );
}

#[test]
fn missing_or_inverted_resources_fail() {
    each_bad(
        check_resources,
        &[
            (
                "limits: {cpu: \"1\", memory: 256Mi}",
                "limits: {cpu: \"1\"}",
                "no memory limit",
            ),
            (
                "requests: {cpu: 10m, memory: 32Mi}",
                "requests: {memory: 32Mi}",
                "no cpu request",
            ),
            (
                "requests: {cpu: 10m, memory: 32Mi}",
                "requests: {cpu: 10m, memory: 1Gi}",
                "not above the limit",
            ),
        ],
    );
}

#[test]
fn root_writable_or_privileged_containers_fail() {
    let root = (
        "securityContext: {runAsNonRoot: true, runAsUser: 65532}",
        "securityContext: {runAsUser: 0}",
    );
    each_bad(
        check_security,
        &[
            (root.0, root.1, "runAsNonRoot"),
            (root.0, root.1, "runAsUser 0"),
            (
                "readOnlyRootFilesystem: true",
                "readOnlyRootFilesystem: false",
                "readOnlyRootFilesystem",
            ),
            (
                "capabilities: {drop: [ALL]}",
                "capabilities: {drop: [NET_RAW]}",
                "drop ALL",
            ),
            (
                "allowPrivilegeEscalation: false",
                "allowPrivilegeEscalation: true",
                "allowPrivilegeEscalation",
            ),
            (
                "image: example/mcp-x:1.0",
                "image: example/mcp-x:latest",
                "latest",
            ),
        ],
    );
}

const READ_ROLE: &str = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: read}
rules:
  - apiGroups: [""]
    resources: [pods, pods/log]
    verbs: [get, list, watch]
"#;

#[test]
fn write_verbs_secrets_and_allow_writes_fail_the_read_only_check() {
    assert_eq!(check_read_only(&objects(READ_ROLE)), Problems::new());
    each_replaced(
        check_read_only,
        READ_ROLE,
        &[
            ("watch", "patch", "verb `patch`"),
            ("pods/log", "secrets", "`secrets`"),
        ],
    );
    let p = check_read_only(&objects(
        &READ_ROLE
            .replace("kind: ClusterRole", "kind: Role")
            .replace("verbs: [get", "verbs: [\"*\", get"),
    ));
    reports(&p, "verb `*`");
    each_bad(
        check_read_only,
        &[(
            "args: [\"--allowed-hosts\"",
            "args: [\"--allow-writes\", \"--allowed-hosts\"",
            "--allow-writes",
        )],
    );
}

const WRITES: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: mcp-kubernetes}
spec:
  selector: {matchLabels: {app: k}}
  template:
    metadata: {labels: {app: k}}
    spec:
      serviceAccountName: mcp-kubernetes
      containers: [{name: c, image: "k:1", args: ["--allow-writes"]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: write}
rules:
  - {apiGroups: [apps], resources: [deployments, statefulsets, daemonsets], verbs: [patch]}
  - {apiGroups: [""], resources: [pods], verbs: [delete]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: write}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: write}
subjects: [{kind: ServiceAccount, name: mcp-kubernetes, namespace: ns}]
"#;

#[test]
fn the_writes_check_wants_the_flag_the_rules_and_nothing_more() {
    assert_eq!(check_writes_enabled(&objects(WRITES)), Problems::new());
    each_replaced(
        check_writes_enabled,
        WRITES,
        &[
            ("\"--allow-writes\"", "\"--x\"", "no --allow-writes"),
            ("verbs: [delete]", "verbs: [get]", "delete /pods"),
            ("verbs: [patch]", "verbs: [patch, create]", "verb `create`"),
            (
                "name: mcp-kubernetes, namespace",
                "name: other, namespace",
                "no role bound",
            ),
        ],
    );
}

const SECRET: &str = r#"
apiVersion: v1
kind: Secret
metadata: {name: s}
stringData:
  token: REPLACE_ME
"#;

#[test]
fn real_looking_secret_values_fail() {
    assert_eq!(
        check_secrets_are_placeholders(&objects(SECRET)),
        Problems::new()
    );
    each_replaced(
        check_secrets_are_placeholders,
        SECRET,
        &[
            ("REPLACE_ME", "xoxb-1234-5678-abcdef", "real-looking"),
            (
                "stringData:\n  token: REPLACE_ME",
                "data:\n  token: aHVudGVyMg==",
                "`data`",
            ),
        ],
    );
}

#[test]
fn a_secret_key_missing_from_the_example_fails() {
    let deployment = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  selector: {matchLabels: {app: d}}
  template:
    metadata: {labels: {app: d}}
    spec:
      containers:
        - name: c
          env: [{name: T, valueFrom: {secretKeyRef: {name: s, key: token}}}]
      volumes: [{name: v, secret: {secretName: s, items: [{key: token, path: t}]}}]
"#;
    let d = objects(deployment);
    assert_eq!(check_secret_refs(&d, &objects(SECRET)), Problems::new());
    let p = check_secret_refs(&d, &objects(&SECRET.replace("token:", "other:")));
    assert_eq!(p.len(), 2, "{p:?}");
}

#[test]
fn wrong_hpa_bounds_or_targets_fail() {
    each_bad(
        check_hpa,
        &[
            ("minReplicas: 2", "minReplicas: 1", "minReplicas"),
            ("maxReplicas: 10", "maxReplicas: 20", "maxReplicas"),
            ("averageUtilization: 70", "averageUtilization: 90", "cpu 70"),
            (
                "kind: Deployment, name: sre-agent}",
                "kind: Deployment, name: nope}",
                "does not exist",
            ),
        ],
    );
    reports(
        &check_hpa(&objects(READ_ROLE)),
        "no HorizontalPodAutoscaler",
    );
}

#[test]
fn a_service_selecting_nothing_or_a_missing_port_fails() {
    each_bad(
        check_selectors,
        &[
            (
                "selector: {app: mcp-x}",
                "selector: {app: mcp-y}",
                "matches no workload",
            ),
            ("targetPort: http", "targetPort: metrics", "not a port of"),
            (
                "selector: {matchLabels: {app: mcp-x}}",
                "selector: {matchLabels: {app: other}}",
                "its own pod template",
            ),
        ],
    );
}

#[test]
fn mcp_ingress_open_to_others_fails() {
    each_bad(
        |o| check_network_policies(o, "bot"),
        &[
            (
                "podSelector: {matchLabels: {app: bot}}",
                "ipBlock: {cidr: 0.0.0.0/0}",
                "other than the bot",
            ),
            (
                "- from: [{podSelector: {matchLabels: {app: bot}}}]",
                "- ports: [{port: 8080}]",
                "lets anyone",
            ),
            (
                "policyTypes: [Ingress]",
                "policyTypes: [Egress]",
                "no NetworkPolicy",
            ),
            (
                "podSelector: {matchLabels: {app: bot}}",
                "podSelector: {}",
                "other than the bot",
            ),
        ],
    );
}

#[test]
fn bot_config_urls_must_reach_services_the_servers_accept() {
    const URL: &str = "http://mcp-x.ns.svc:8080/mcp";
    each_bad(
        |o| check_bot_config(o, "cfg", "bot"),
        &[
            (URL, "http://mcp-z.ns.svc:8080/mcp", "no Service mcp-z"),
            (URL, "http://mcp-z.ns.svc:8080/mcp", "reaches no Service"),
            (URL, "http://mcp-x.ns.svc:9000/mcp", "port Some(9000)"),
            (URL, "http://mcp-x.ns.svc:8080/", "/mcp"),
            (URL, "http://mcp-x:8080/mcp", "--allowed-hosts"),
            (URL, "http://mcp-x.other.svc:8080/mcp", "namespace other"),
            (
                "configMap: {name: cfg}",
                "configMap: {name: other}",
                "does not mount",
            ),
        ],
    );
}

#[test]
fn flags_are_read_from_clap_structs_and_unknown_ones_fail() {
    let src = "struct Cli {\n    /// doc\n    #[arg(long)]\n    allowed_hosts: Vec<String>,\n    #[command(flatten)]\n    kit: KitArgs,\n}\n";
    let flags = clap_flags(src, "Cli");
    assert_eq!(flags, BTreeSet::from(["--allowed-hosts".to_string()]));
    let o = objects(GOOD);
    assert_eq!(check_flags(&o, "mcp-x", &flags), Problems::new());
    let p = check_flags(&o, "mcp-x", &BTreeSet::new());
    assert!(
        p.iter().any(|p| p.contains("unknown flag --allowed-hosts")),
        "{p:?}"
    );
}

#[test]
fn slack_manifest_scopes_and_urls_are_checked() {
    let m: Value = serde_yaml_ng::from_str(
        r#"
features:
  slash_commands: [{command: /sre, url: "https://x.example/slack/commands"}]
oauth_config: {scopes: {bot: [chat:write, commands]}}
settings:
  event_subscriptions: {request_url: "https://x.example/slack/events", bot_events: [app_mention]}
  interactivity: {is_enabled: true, request_url: "https://x.example/slack/interactions"}
"#,
    )
    .unwrap();
    let routes = routes_in_source(
        r#"Router::new().route("/slack/events", post(a)).route("/slack/commands", post(b)).route("/slack/interactions", post(c))"#,
    );
    assert_eq!(routes.len(), 3);
    let scopes = ["chat:write", "commands"];
    assert_eq!(
        check_slack_manifest(&m, &scopes, &["app_mention"], &routes),
        Problems::new()
    );
    let p = check_slack_manifest(&m, &["chat:write"], &["app_mention"], &routes);
    assert!(p.iter().any(|p| p.contains("extra")), "{p:?}");
    let p = check_slack_manifest(&m, &scopes, &[], &routes);
    assert!(p.iter().any(|p| p.contains("app_mention")), "{p:?}");
    let p = check_slack_manifest(&m, &scopes, &["app_mention"], &routes[..2]);
    assert!(p.iter().any(|p| p.contains("/slack/interactions")), "{p:?}");
}

#[test]
fn json_patches_apply_and_fail_on_missing_paths() {
    use serde_json::json;
    let mut doc = json!({"spec": {"args": ["a"]}});
    for op in [
        json!({"op": "add", "path": "/spec/args/-", "value": "b"}),
        json!({"op": "add", "path": "/spec/x", "value": {"k": 1}}),
        json!({"op": "replace", "path": "/spec/args/0", "value": "z"}),
    ] {
        json_patch(&mut doc, &op).unwrap();
    }
    assert_eq!(doc, json!({"spec": {"args": ["z", "b"], "x": {"k": 1}}}));
    for op in [
        json!({"op": "add", "path": "/nope/x", "value": 1}),
        json!({"op": "replace", "path": "/spec/y", "value": 1}),
    ] {
        assert!(json_patch(&mut doc, &op).is_err(), "{op}");
    }
    json_patch(&mut doc, &json!({"op": "remove", "path": "/spec/x"})).unwrap();
    assert_eq!(doc, json!({"spec": {"args": ["z", "b"]}}));
}

#[test]
fn images_are_split_and_quantities_read() {
    assert_eq!(
        split_image("ghcr.io/a/b:1.0"),
        ("ghcr.io/a/b", Some(":1.0"))
    );
    assert_eq!(split_image("localhost:5000/b"), ("localhost:5000/b", None));
    assert_eq!(split_image("b@sha256:ab"), ("b", Some("@sha256:ab")));
    assert_eq!(quantity("10m"), Some(0.01));
    assert_eq!(quantity("32Mi"), Some(32.0 * 1024.0 * 1024.0));
    assert_eq!(quantity("1"), Some(1.0));
}
