//! The section of a pod: status line, a table of (init) containers with their state and
//! last termination, then per container its resources, probes, environment (secret-looking
//! values hidden) and waiting or termination messages. A file of its own because it is the
//! description read most and the longest.

use jiff::Timestamp;
use serde_json::Value;

use crate::ops::pods;
use crate::value::{Table, age, ago, arr, clip, i, map_pairs, opt_i, opt_s, s, ts};

fn container_state(c: &Value, now: Timestamp) -> String {
    if let Some(r) = c.pointer("/state/running") {
        return format!("Running {}", age(now, ts(r, "/startedAt")));
    }
    if let Some(w) = c.pointer("/state/waiting") {
        return format!("Waiting: {}", s(w, "/reason"));
    }
    if let Some(tm) = c.pointer("/state/terminated") {
        return format!(
            "Terminated: {} (exit {})",
            s(tm, "/reason"),
            i(tm, "/exitCode")
        );
    }
    "-".into()
}

fn last_state(c: &Value, now: Timestamp) -> String {
    match c.pointer("/lastState/terminated") {
        Some(tm) => {
            let ran = match (ts(tm, "/startedAt"), ts(tm, "/finishedAt")) {
                (Some(a), Some(b)) => format!(
                    ", ran {}",
                    crate::value::fmt_secs(b.as_second() - a.as_second())
                ),
                _ => String::new(),
            };
            format!(
                "{} exit {} {}{ran}",
                opt_s(tm, "/reason").unwrap_or("Terminated"),
                i(tm, "/exitCode"),
                ago(now, ts(tm, "/finishedAt"))
            )
        }
        None => String::new(),
    }
}

fn resources_line(c: &Value) -> String {
    let part = |ptr: &str| {
        let m = map_pairs(c, ptr);
        if m.is_empty() { "-".to_string() } else { m }
    };
    format!(
        "requests {} · limits {}",
        part("/resources/requests"),
        part("/resources/limits")
    )
}

fn probe_text(p: &Value) -> String {
    let how = if let Some(h) = p.get("httpGet") {
        format!(
            "http-get :{}{}",
            h.get("port")
                .map(|x| x.to_string().trim_matches('"').to_string())
                .unwrap_or_default(),
            s(h, "/path")
        )
    } else if let Some(tcp) = p.get("tcpSocket") {
        format!(
            "tcp :{}",
            tcp.get("port")
                .map(|x| x.to_string().trim_matches('"').to_string())
                .unwrap_or_default()
        )
    } else if p.get("exec").is_some() {
        "exec".to_string()
    } else if p.get("grpc").is_some() {
        format!("grpc :{}", i(p, "/grpc/port"))
    } else {
        "?".to_string()
    };
    format!(
        "{how} delay={}s period={}s timeout={}s fail={}",
        i(p, "/initialDelaySeconds"),
        opt_i(p, "/periodSeconds").unwrap_or(10),
        opt_i(p, "/timeoutSeconds").unwrap_or(1),
        opt_i(p, "/failureThreshold").unwrap_or(3)
    )
}

pub(super) fn pod_section(now: Timestamp, pod: &Value) -> String {
    let (r, tot) = pods::ready(pod);
    let mut out = format!(
        "status: {} · ready {r}/{tot} · restarts {} · phase {} · node {} · IP {} · QoS {} · started {}\n",
        pods::status(pod),
        pods::restarts(pod),
        s(pod, "/status/phase"),
        opt_s(pod, "/spec/nodeName").unwrap_or("<unscheduled>"),
        opt_s(pod, "/status/podIP").unwrap_or("-"),
        opt_s(pod, "/status/qosClass").unwrap_or("-"),
        ago(now, ts(pod, "/status/startTime")),
    );
    if let Some(msg) = opt_s(pod, "/status/message") {
        out.push_str(&format!(
            "message: {} {}\n",
            s(pod, "/status/reason"),
            clip(msg, 200)
        ));
    }
    // What admission controllers and operators wrote on the pod (`kubernetes.io/
    // limit-ranger: LimitRanger plugin set: cpu limit for container app`, a sidecar's
    // status, a restart reason), as `kubectl describe pod` shows them.
    out.push_str(&super::sections::annotations(pod));
    for (label, spec_ptr, st_ptr) in [
        (
            "init containers",
            "/spec/initContainers",
            "/status/initContainerStatuses",
        ),
        (
            "containers",
            "/spec/containers",
            "/status/containerStatuses",
        ),
    ] {
        let specs = arr(pod, spec_ptr);
        if specs.is_empty() {
            continue;
        }
        out.push_str(&format!("{label}:\n"));
        let mut t = Table::new(&[
            "NAME",
            "IMAGE",
            "STATE",
            "READY",
            "RESTARTS",
            "LAST TERMINATION",
        ]);
        for c in specs {
            let st = arr(pod, st_ptr)
                .iter()
                .find(|x| s(x, "/name") == s(c, "/name"));
            let null = Value::Null;
            let st = st.unwrap_or(&null);
            t.row(vec![
                s(c, "/name").into(),
                // One pod: the whole reference, registry included (a pull
                // from docker.io and from a mirror fail differently).
                s(c, "/image").into(),
                container_state(st, now),
                st.get("ready")
                    .and_then(Value::as_bool)
                    .map(|b| b.to_string())
                    .unwrap_or("-".into()),
                i(st, "/restartCount").to_string(),
                last_state(st, now),
            ]);
        }
        out.push_str(&t.render("  "));
        for c in specs {
            let cname = s(c, "/name");
            let st = arr(pod, st_ptr).iter().find(|x| s(x, "/name") == cname);
            let mut lines = vec![resources_line(c)];
            for (kind, ptr) in [
                ("liveness", "/livenessProbe"),
                ("readiness", "/readinessProbe"),
                ("startup", "/startupProbe"),
            ] {
                if let Some(p) = c.pointer(ptr) {
                    lines.push(format!("{kind} {}", probe_text(p)));
                }
            }
            if let Some(env) = crate::ops::detail::env_line(c) {
                lines.push(env);
            }
            // The command line says how the process was told to behave (`--batch-size=50000
            // --write-concern=1`); redacted with the rest of the answer.
            let words =
                |ptr: &str| -> Vec<&str> { arr(c, ptr).iter().filter_map(Value::as_str).collect() };
            let (command, args) = (words("/command"), words("/args"));
            if !command.is_empty() || !args.is_empty() {
                let all: Vec<&str> = command.into_iter().chain(args).collect();
                lines.push(format!("command: {}", clip(&all.join(" "), 300)));
            }
            if let Some(msg) = st.and_then(|x| opt_s(x, "/state/waiting/message")) {
                lines.push(format!("waiting: {}", crate::value::message(msg)));
            }
            if let Some(msg) = st.and_then(|x| opt_s(x, "/lastState/terminated/message")) {
                lines.push(format!(
                    "last termination message: {}",
                    crate::value::message(msg)
                ));
            }
            out.push_str(&format!("  {cname}: {}\n", lines.join("\n    ")));
        }
    }
    if let Some(line) = pod
        .get("spec")
        .and_then(crate::ops::detail::scheduling_line)
    {
        out.push_str(&line);
        out.push('\n');
    }
    let claims: Vec<&str> = arr(pod, "/spec/volumes")
        .iter()
        .filter_map(|v| opt_s(v, "/persistentVolumeClaim/claimName"))
        .collect();
    if !claims.is_empty() {
        out.push_str(&format!(
            "persistent volume claims: {}\n",
            claims.join(", ")
        ));
    }
    // The Secrets and ConfigMaps mounted as files (a pooler's userlist, a
    // TLS pair, a config file): by name, never their contents.
    let mounted: Vec<String> = arr(pod, "/spec/volumes")
        .iter()
        .filter_map(|v| {
            let (what, name) = if let Some(n) = opt_s(v, "/secret/secretName") {
                ("secret", n)
            } else if let Some(n) = opt_s(v, "/configMap/name") {
                ("configmap", n)
            } else {
                return None;
            };
            let at: Vec<String> = specs_mounting(pod, s(v, "/name"));
            Some(if at.is_empty() {
                format!("{what} {name}")
            } else {
                format!("{what} {name} at {}", at.join(", "))
            })
        })
        .collect();
    if !mounted.is_empty() {
        out.push_str(&format!(
            "mounted: {}\n",
            crate::value::clip(&mounted.join(", "), 400)
        ));
    }
    out
}

/// Where the pod's containers mount volume `volume` (`container:/path`).
fn specs_mounting(pod: &Value, volume: &str) -> Vec<String> {
    arr(pod, "/spec/containers")
        .iter()
        .flat_map(|c| {
            arr(c, "/volumeMounts")
                .iter()
                .filter(|m| s(m, "/name") == volume)
                .map(|m| format!("{}:{}", s(c, "/name"), s(m, "/mountPath")))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn mounted_secrets_and_configmaps_are_named_with_their_paths() {
        let now: Timestamp = "2026-03-02T10:40:00Z".parse().unwrap();
        let pod = json!({
            "metadata": {"name": "pgb-0", "namespace": "data"},
            "spec": {
                "nodeSelector": {"pool": "db"},
                "containers": [{"name": "pgbouncer", "image": "pgbouncer:1.23",
                    "volumeMounts": [{"name": "userlist", "mountPath": "/etc/pgbouncer/userlist.txt"}]}],
                "volumes": [
                    {"name": "userlist", "secret": {"secretName": "permits-pgbouncer-userlist"}},
                    {"name": "conf", "configMap": {"name": "pgbouncer-ini"}},
                    {"name": "tmp", "emptyDir": {}}
                ]
            },
            "status": {"phase": "Running"}
        });
        let out = pod_section(now, &pod);
        assert!(
            out.contains("mounted: secret permits-pgbouncer-userlist at pgbouncer:/etc/pgbouncer/userlist.txt, configmap pgbouncer-ini\n"),
            "{out}"
        );
        assert!(out.contains("scheduling: node selector pool=db\n"), "{out}");
    }
}
