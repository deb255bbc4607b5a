//! The real manifests under `deploy/kustomize`, rendered and checked.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use deploy_check::*;
use serde_json::Value;

/// Every rendering the project ships.
const OVERLAYS: [&str; 4] = [
    "base",
    "overlays/aks",
    "overlays/writes-enabled",
    "overlays/auth-proxy",
];

fn kustomize() -> PathBuf {
    workspace_root().join("deploy/kustomize")
}

fn rendered(dir: &str) -> Vec<Object> {
    let raws = render(&kustomize().join(dir)).unwrap_or_else(|e| panic!("render {dir}: {e}"));
    parse_all(&raws).unwrap_or_else(|p| panic!("{dir}:\n  {}", p.join("\n  ")))
}

fn example() -> Vec<Object> {
    example_secrets().unwrap()
}

fn assert_ok(what: &str, problems: Problems) {
    assert!(problems.is_empty(), "{what}:\n  {}", problems.join("\n  "));
}

/// The checks every rendering must pass (shared with the Helm chart's test).
fn common_checks(dir: &str, objects: &[Object]) {
    assert_ok(dir, check_rendering(objects, &example()));
}

#[test]
fn base_passes_every_check_and_is_read_only() {
    let base = rendered("base");
    common_checks("base", &base);
    assert_ok("base: read-only", check_read_only(&base));
    assert!(
        !check_writes_enabled(&base).is_empty(),
        "the base must not enable mcp-kubernetes's writes"
    );
}

#[test]
fn the_read_role_lets_the_investigation_list_what_it_reads() {
    for dir in ["base", "overlays/aks"] {
        let objects = rendered(dir);
        assert_ok(
            &format!("{dir}: grants"),
            check_grants_reads(&objects, READ_BY_THE_INVESTIGATION),
        );
    }
}

#[test]
fn aks_overlay_passes_every_check_and_is_read_only() {
    let aks = rendered("overlays/aks");
    common_checks("overlays/aks", &aks);
    assert_ok("overlays/aks: read-only", check_read_only(&aks));
    assert!(aks.iter().any(|o| o.kind() == "Ingress"));
}

#[test]
fn auth_proxy_overlay_signs_people_in_on_loopback_only() {
    let objects = rendered("overlays/auth-proxy");
    common_checks("overlays/auth-proxy", &objects);
    assert_ok("overlays/auth-proxy: read-only", check_read_only(&objects));
    let bot = objects
        .iter()
        .find_map(|o| match o {
            Object::Deployment(d) if d.metadata.name.as_deref() == Some(BOT) => Some(d),
            _ => None,
        })
        .unwrap();
    let pod = bot.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
    let container = |n: &str| pod.containers.iter().find(|c| c.name == n).unwrap();
    let args = |n: &str| container(n).args.clone().unwrap_or_default();
    // The proxy's one upstream is the bot on loopback, and it passes who
    // signed in.
    let proxy = args("oauth2-proxy");
    assert!(
        proxy.contains(&"--upstream=http://127.0.0.1:8080/".to_string()),
        "{proxy:?}"
    );
    assert!(proxy.contains(&"--pass-user-headers=true".to_string()));
    // The bot believes the headers, from loopback only: the default, which
    // the overlay must not widen.
    let own = args(BOT);
    assert!(
        own.contains(&"--trusted-user-header=X-Forwarded-Email".to_string()),
        "{own:?}"
    );
    assert!(own.iter().any(|a| a.starts_with("--responder-groups=")));
    assert!(
        !own.iter().any(|a| a.starts_with("--trusted-proxies")),
        "{own:?}"
    );
    // The portal port is the proxy's, through the Service, the Ingress and
    // the NetworkPolicy.
    let svc = objects
        .iter()
        .find_map(|o| match o {
            Object::Service(s) if s.metadata.name.as_deref() == Some(BOT) => Some(s),
            _ => None,
        })
        .unwrap();
    let portal = svc
        .spec
        .as_ref()
        .unwrap()
        .ports
        .iter()
        .flatten()
        .find(|p| p.name.as_deref() == Some("portal"))
        .unwrap();
    assert_eq!(portal.port, 4180);
    let proxy_port = container("oauth2-proxy")
        .ports
        .iter()
        .flatten()
        .find(|p| p.name.as_deref() == Some("portal"))
        .unwrap();
    assert_eq!(proxy_port.container_port, 4180);
    let ingress = objects
        .iter()
        .find_map(|o| match o {
            Object::Ingress(i) => Some(serde_json::to_string(i).unwrap()),
            _ => None,
        })
        .expect("an Ingress for the portal");
    assert!(ingress.contains(r#""name":"portal""#), "{ingress}");
    let policy = objects
        .iter()
        .find_map(|o| match o {
            Object::NetworkPolicy(p) if p.metadata.name.as_deref() == Some("sre-agent-bot") => {
                Some(p)
            }
            _ => None,
        })
        .unwrap();
    let ports = serde_json::to_string(&policy.spec.as_ref().unwrap().ingress).unwrap();
    assert!(ports.contains("4180") && ports.contains("8080"), "{ports}");
}

#[test]
fn writes_enabled_overlay_adds_exactly_the_write_access() {
    let writes = rendered("overlays/writes-enabled");
    common_checks("overlays/writes-enabled", &writes);
    assert_ok(
        "overlays/writes-enabled: writes",
        check_writes_enabled(&writes),
    );
    // Everything but the component's own objects and mcp-kubernetes is as in the base.
    let base: BTreeSet<String> = rendered("base").iter().map(Object::id).collect();
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
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
}

#[test]
fn every_manifest_file_parses_and_write_rules_live_only_in_the_component() {
    let mut files = Vec::new();
    yaml_files(&kustomize(), &mut files);
    assert!(files.len() >= 10, "found only {files:?}");
    let components = kustomize().join("components");
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        if name == "kustomization.yaml" {
            read_kustomization(file.parent().unwrap()).unwrap();
            continue;
        }
        let docs = read_yaml(&file).unwrap();
        if name.ends_with(".patch.yaml") {
            assert!(
                matches!(docs.as_slice(), [Value::Array(_)]),
                "{}: a patch is one list of JSON 6902 operations",
                file.display()
            );
            continue;
        }
        let objects = parse_all(&docs)
            .unwrap_or_else(|p| panic!("{}:\n  {}", file.display(), p.join("\n  ")));
        if !file.starts_with(&components) {
            assert_ok(
                &format!("{} (outside components/)", file.display()),
                check_read_only(&objects),
            );
        }
    }
}

#[test]
fn the_secret_example_holds_placeholders_only_and_is_never_applied() {
    let example = example();
    assert!(example.iter().all(|o| o.kind() == "Secret"));
    assert_ok(
        "secret.example.yaml",
        check_secrets_are_placeholders(&example),
    );
    let mut files = Vec::new();
    yaml_files(&kustomize(), &mut files);
    for file in files.iter().filter(|f| f.ends_with("kustomization.yaml")) {
        let k = read_kustomization(file.parent().unwrap()).unwrap();
        let listed = format!("{:?} {:?}", k.get("resources"), k.get("components"));
        assert!(
            !listed.contains("secret.example"),
            "{} applies the example Secrets",
            file.display()
        );
    }
}

#[test]
fn mcp_servers_are_started_with_flags_they_have() {
    for dir in OVERLAYS {
        assert_ok(&format!("{dir}: flags"), check_server_flags(&rendered(dir)));
    }
}

#[test]
fn slack_app_manifest_asks_exactly_the_needed_scopes_and_uses_the_intake_routes() {
    let root = workspace_root();
    let manifest = read_yaml(&root.join("deploy/slack/app-manifest.yaml")).unwrap();
    let intake = std::fs::read_to_string(root.join("mcp-slack/src/intake/mod.rs")).unwrap();
    let routes = routes_in_source(&intake);
    assert!(routes.contains(&"/slack/events".to_string()), "{routes:?}");
    // docs/slack-app.md justifies each one.
    let scopes = [
        "app_mentions:read",
        "channels:history",
        "channels:read",
        "chat:write",
        "commands",
        "files:write",
        "groups:history",
        "groups:read",
        "users:read",
        "users:read.email",
        "usergroups:read",
    ];
    let events = ["app_mention", "message.channels", "message.groups"];
    assert_ok(
        "deploy/slack/app-manifest.yaml",
        check_slack_manifest(&manifest[0], &scopes, &events, &routes),
    );
}

/// [`render`] gives what `kubectl kustomize` gives (skipped without kubectl).
#[test]
fn render_agrees_with_kubectl_kustomize() {
    for dir in OVERLAYS {
        let path = kustomize().join(dir);
        let output = match std::process::Command::new("kubectl")
            .arg("kustomize")
            .arg(&path)
            .output()
        {
            Ok(o) if o.status.success() => o,
            Ok(o) => panic!(
                "kubectl kustomize {dir} failed: {}",
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => {
                eprintln!("skipped: kubectl not runnable ({e})");
                return;
            }
        };
        let theirs = split_yaml(&String::from_utf8_lossy(&output.stdout)).unwrap();
        let ours = render(&path).unwrap();
        let key = |v: &Value| {
            format!(
                "{}/{}/{}",
                v["kind"].as_str().unwrap_or(""),
                v["metadata"]["namespace"].as_str().unwrap_or(""),
                v["metadata"]["name"].as_str().unwrap_or("")
            )
        };
        let theirs: BTreeMap<String, &Value> = theirs.iter().map(|v| (key(v), v)).collect();
        let ours: BTreeMap<String, &Value> = ours.iter().map(|v| (key(v), v)).collect();
        assert_eq!(
            theirs.keys().collect::<Vec<_>>(),
            ours.keys().collect::<Vec<_>>(),
            "{dir}: objects differ"
        );
        for (k, v) in &theirs {
            assert_eq!(
                Some(v),
                ours.get(k),
                "{dir}: {k} differs from kubectl kustomize"
            );
        }
    }
}
