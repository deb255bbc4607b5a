//! Checks that the manifests agree with the code: the bot's config file, the
//! servers' clap flags and the Slack app manifest.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::Value;

use crate::Problems;
use crate::check::services::is_mcp_server;
use crate::objects::string_list;
use crate::objects::{Object, name, ns};
use crate::workload::{
    arg_value, container_args, containers, deployments, map_selector, pod_labels, pod_spec, selects,
};

/// One server entry of the bot's config file.
#[derive(Debug, Clone, Deserialize)]
pub struct ConfiguredServer {
    /// Tool prefix.
    pub name: String,
    /// `http` or `stdio`.
    pub transport: String,
    /// The MCP endpoint for `http`.
    #[serde(default)]
    pub url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct BotConfig {
    #[serde(default)]
    servers: Vec<ConfiguredServer>,
}

/// The bot's config file (`config.toml` in ConfigMap `configmap`) lists every
/// MCP Service by a URL that resolves to it (`http://svc[.ns[.svc[.cluster.local]]]:port/mcp`),
/// on one of its ports, with a host the server accepts (`--allowed-hosts`);
/// the bot's Deployment mounts that ConfigMap.
pub fn check_bot_config(objects: &[Object], configmap: &str, bot: &str) -> Problems {
    let mut out = Vec::new();
    let Some(cm) = objects.iter().find_map(|o| match o {
        Object::ConfigMap(c) if name(&c.metadata) == configmap => Some(c),
        _ => None,
    }) else {
        return vec![format!("no ConfigMap/{configmap}")];
    };
    let Some(text) = cm.data.as_ref().and_then(|d| d.get("config.toml")) else {
        return vec![format!("ConfigMap/{configmap}: no config.toml")];
    };
    let config: BotConfig = match toml::from_str(text) {
        Ok(c) => c,
        Err(e) => return vec![format!("ConfigMap/{configmap}: config.toml: {e}")],
    };
    let mounted = deployments(objects)
        .filter(|d| name(&d.metadata) == bot)
        .flat_map(|d| {
            pod_spec(d)
                .and_then(|p| p.volumes.clone())
                .unwrap_or_default()
        })
        .any(|v| v.config_map.is_some_and(|c| c.name == configmap));
    if !mounted {
        out.push(format!(
            "Deployment/{bot} does not mount ConfigMap/{configmap}"
        ));
    }
    let mut referenced = BTreeSet::new();
    for server in &config.servers {
        let who = format!("config.toml server `{}`", server.name);
        if server.transport != "http" {
            continue;
        }
        let Some(url) = &server.url else {
            out.push(format!("{who}: no url"));
            continue;
        };
        let Some(rest) = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"))
        else {
            out.push(format!("{who}: url {url} is not http(s)"));
            continue;
        };
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<i32>().ok()),
            None => (
                authority,
                Some(if url.starts_with("https") { 443 } else { 80 }),
            ),
        };
        if path != "mcp" {
            out.push(format!(
                "{who}: url path is /{path}, the MCP endpoint is /mcp"
            ));
        }
        let parts: Vec<&str> = host.split('.').collect();
        let (svc_name, svc_ns) = match parts.as_slice() {
            [s] => (*s, ns(&cm.metadata)),
            [s, n] | [s, n, "svc"] | [s, n, "svc", "cluster", "local"] => (*s, *n),
            _ => {
                out.push(format!("{who}: host {host} is not a Service DNS name"));
                continue;
            }
        };
        let Some(svc) = objects.iter().find_map(|o| match o {
            Object::Service(s)
                if name(&s.metadata) == svc_name
                    && (ns(&s.metadata) == svc_ns || ns(&s.metadata).is_empty()) =>
            {
                Some(s)
            }
            _ => None,
        }) else {
            out.push(format!(
                "{who}: no Service {svc_name} in namespace {svc_ns}"
            ));
            continue;
        };
        referenced.insert(svc_name.to_string());
        let ports: Vec<i32> = svc
            .spec
            .iter()
            .flat_map(|s| s.ports.iter().flatten())
            .map(|p| p.port)
            .collect();
        if !port.is_some_and(|p| ports.contains(&p)) {
            out.push(format!(
                "{who}: port {port:?} is not a port of Service/{svc_name} {ports:?}"
            ));
        }
        let selector = map_selector(
            &svc.spec
                .as_ref()
                .and_then(|s| s.selector.clone())
                .unwrap_or_default(),
        );
        for d in deployments(objects).filter(|d| selects(&selector, &pod_labels(d))) {
            for c in containers(d) {
                let args = container_args(c);
                let hosts = arg_value(&args, "--allowed-hosts").unwrap_or("");
                let ok = hosts.split(',').any(|h| {
                    let h = h.trim();
                    h == "*" || h == host || h == authority
                });
                if !ok {
                    out.push(format!(
                        "{who}: host {host} is not in --allowed-hosts of Deployment/{}",
                        name(&d.metadata)
                    ));
                }
            }
        }
    }
    for d in deployments(objects).filter(|d| is_mcp_server(d)) {
        let served_by = objects.iter().any(|o| match o {
            Object::Service(s) => {
                referenced.contains(name(&s.metadata))
                    && selects(
                        &map_selector(
                            &s.spec
                                .as_ref()
                                .and_then(|s| s.selector.clone())
                                .unwrap_or_default(),
                        ),
                        &pod_labels(d),
                    )
            }
            _ => false,
        });
        if !served_by {
            out.push(format!(
                "Deployment/{}: the bot's config reaches no Service of it",
                name(&d.metadata)
            ));
        }
    }
    out
}

/// The long flags a clap struct declares: every field of `struct <name> {`
/// in `source`, except `#[command(flatten)]` ones, as `--field-name`.
pub fn clap_flags(source: &str, struct_name: &str) -> BTreeSet<String> {
    let mut flags = BTreeSet::new();
    let mut inside = false;
    let mut flatten = false;
    for line in source.lines() {
        let t = line.trim();
        if !inside {
            inside = t.contains(&format!("struct {struct_name} {{"));
            continue;
        }
        if line.starts_with('}') {
            break;
        }
        if t.starts_with("#[command(flatten") {
            flatten = true;
            continue;
        }
        let field = t
            .strip_prefix("pub(crate) ")
            .or_else(|| t.strip_prefix("pub "))
            .unwrap_or(t);
        if let Some((ident, _)) = field.split_once(':')
            && !ident.is_empty()
            && ident
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && line.starts_with("    ")
            && !line.starts_with("     ")
        {
            if !flatten {
                flags.insert(format!("--{}", ident.replace('_', "-")));
            }
            flatten = false;
        }
    }
    flags
}

/// Every `--flag` given to Deployment `deployment`'s own program, its first
/// container (as `kubectl` defaults to, and as the manifests' patches
/// address it: a sidecar comes after it and has flags of its own), is one of
/// `known`.
pub fn check_flags(objects: &[Object], deployment: &str, known: &BTreeSet<String>) -> Problems {
    let mut out = Vec::new();
    let Some(d) = deployments(objects).find(|d| name(&d.metadata) == deployment) else {
        return vec![format!("no Deployment/{deployment}")];
    };
    for c in containers(d).take(1) {
        for a in container_args(c) {
            let flag = a.split('=').next().unwrap_or("");
            if flag.starts_with("--") && !known.contains(flag) {
                out.push(format!(
                    "Deployment/{deployment} container {}: unknown flag {flag}",
                    c.name
                ));
            }
        }
    }
    out
}

/// The Slack app manifest: bot scopes are exactly `scopes`, events are among
/// `events`, the `/sre` command exists, and every request URL's path is a
/// route of the intake router (`routes`).
pub fn check_slack_manifest(
    manifest: &Value,
    scopes: &[&str],
    events: &[&str],
    routes: &[String],
) -> Problems {
    let mut out = Vec::new();
    let list = |pointer: &str| string_list(manifest.pointer(pointer));
    let got: BTreeSet<String> = list("/oauth_config/scopes/bot").into_iter().collect();
    let want: BTreeSet<String> = scopes.iter().map(|s| s.to_string()).collect();
    if got != want {
        out.push(format!(
            "bot scopes: extra {:?}, missing {:?}",
            got.difference(&want).collect::<Vec<_>>(),
            want.difference(&got).collect::<Vec<_>>()
        ));
    }
    if !list("/oauth_config/scopes/user").is_empty() {
        out.push("user scopes requested; none are needed by default".into());
    }
    for e in list("/settings/event_subscriptions/bot_events") {
        if !events.contains(&e.as_str()) {
            out.push(format!("event {e} is not handled"));
        }
    }
    let path_of = |url: &str| -> Option<String> {
        let rest = url.strip_prefix("https://")?;
        rest.find('/').map(|i| rest[i..].to_string())
    };
    let mut urls: Vec<(String, Option<&str>)> = vec![
        (
            "event_subscriptions.request_url".into(),
            manifest
                .pointer("/settings/event_subscriptions/request_url")
                .and_then(Value::as_str),
        ),
        (
            "interactivity.request_url".into(),
            manifest
                .pointer("/settings/interactivity/request_url")
                .and_then(Value::as_str),
        ),
    ];
    let commands = manifest
        .pointer("/features/slash_commands")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if !commands
        .iter()
        .any(|c| c.get("command").and_then(Value::as_str) == Some("/sre"))
    {
        out.push("no /sre slash command".into());
    }
    for c in &commands {
        urls.push((
            format!(
                "command {}",
                c.get("command").and_then(Value::as_str).unwrap_or("?")
            ),
            c.get("url").and_then(Value::as_str),
        ));
    }
    for (what, url) in urls {
        match url.and_then(path_of) {
            None => out.push(format!("{what}: no https URL")),
            Some(p) if !routes.contains(&p) => out.push(format!(
                "{what}: path {p} is not a route of the intake ({routes:?})"
            )),
            Some(_) => {}
        }
    }
    out
}

/// The paths of `.route("…", …)` calls in a Rust source file.
pub fn routes_in_source(source: &str) -> Vec<String> {
    source
        .split(".route(\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(str::to_string)
        .collect()
}
