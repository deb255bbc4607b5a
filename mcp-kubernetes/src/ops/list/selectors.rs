//! Label selectors and NetworkPolicies in short text, as kubectl prints them. Shared by the
//! NetworkPolicy table here and by `describe` (selectors of workloads, policy sections).

use serde_json::Value;

use crate::value::{arr, opt_s, s};

/// A label selector (`matchLabels` and `matchExpressions`) as kubectl prints it; `""` for
/// the empty selector, which matches everything.
pub fn label_selector(sel: Option<&Value>) -> String {
    let Some(sel) = sel else {
        return String::new();
    };
    let mut parts: Vec<String> = sel
        .pointer("/matchLabels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default();
    for e in arr(sel, "/matchExpressions") {
        let vals: Vec<&str> = arr(e, "/values").iter().filter_map(Value::as_str).collect();
        let k = s(e, "/key");
        parts.push(match s(e, "/operator") {
            "In" => format!("{k} in ({})", vals.join(",")),
            "NotIn" => format!("{k} notin ({})", vals.join(",")),
            "Exists" => k.to_string(),
            "DoesNotExist" => format!("!{k}"),
            _ => continue,
        });
    }
    parts.join(",")
}

/// A NetworkPolicy's policy types: `spec.policyTypes`, else what the API server defaults
/// (Ingress, plus Egress when there are egress rules).
pub fn policy_types(o: &Value) -> Vec<String> {
    let declared: Vec<String> = arr(o, "/spec/policyTypes")
        .iter()
        .filter_map(Value::as_str)
        .map(String::from)
        .collect();
    if !declared.is_empty() {
        return declared;
    }
    let mut t = vec!["Ingress".to_string()];
    if o.pointer("/spec/egress").is_some() {
        t.push("Egress".into());
    }
    t
}

/// One direction of a NetworkPolicy in short: `-` when the policy does not restrict it,
/// `DENY ALL` when it does with no rule, else each rule's peers and ports (`app=web,
/// ns(team=x) pods(app=y), 10.0.0.0/8 except 10.1.0.0/16 on 8080/TCP`), rules separated
/// by `;`.
pub fn policy_rules(o: &Value, types: &[String], direction: &str) -> String {
    if !types.iter().any(|t| t == direction) {
        return "-".into();
    }
    let (rules_ptr, peers_key) = if direction == "Ingress" {
        ("/spec/ingress", "from")
    } else {
        ("/spec/egress", "to")
    };
    let rules = arr(o, rules_ptr);
    if rules.is_empty() {
        return "DENY ALL".into();
    }
    let rules: Vec<String> = rules
        .iter()
        .map(|r| {
            let peers: Vec<String> = arr(r, &format!("/{peers_key}"))
                .iter()
                .map(|p| {
                    if let Some(ip) = p.get("ipBlock") {
                        let except: Vec<&str> = arr(ip, "/except")
                            .iter()
                            .filter_map(Value::as_str)
                            .collect();
                        if except.is_empty() {
                            s(ip, "/cidr").to_string()
                        } else {
                            format!("{} except {}", s(ip, "/cidr"), except.join(","))
                        }
                    } else {
                        let ns = p.get("namespaceSelector").map(|n| {
                            match label_selector(Some(n)).as_str() {
                                "" => "all namespaces".to_string(),
                                sel => match sel.strip_prefix("kubernetes.io/metadata.name=") {
                                    Some(one) if !one.contains(',') => format!("ns {one}"),
                                    _ => format!("ns({sel})"),
                                },
                            }
                        });
                        let in_ns = p.get("namespaceSelector").is_some();
                        let pods = p.get("podSelector").map(|n| {
                            match (label_selector(Some(n)).as_str(), in_ns) {
                                ("", true) => "all pods".to_string(),
                                ("", false) => "all pods of this namespace".to_string(),
                                (sel, _) => format!("pods({sel})"),
                            }
                        });
                        match (ns, pods) {
                            (Some(n), Some(p)) => format!("{n} {p}"),
                            (Some(n), None) => n,
                            (None, Some(p)) => p,
                            (None, None) => "?".into(),
                        }
                    }
                })
                .collect();
            let ports: Vec<String> = arr(r, "/ports")
                .iter()
                .map(|p| {
                    let port = p
                        .get("port")
                        .map(|x| x.to_string().trim_matches('"').to_string())
                        .unwrap_or("*".into());
                    let end = crate::value::opt_i(p, "/endPort")
                        .map(|e| format!("-{e}"))
                        .unwrap_or_default();
                    format!("{port}{end}/{}", opt_s(p, "/protocol").unwrap_or("TCP"))
                })
                .collect();
            let who = if peers.is_empty() {
                "anywhere".to_string()
            } else {
                peers.join(", ")
            };
            if ports.is_empty() {
                who
            } else {
                format!("{who} on {}", ports.join(","))
            }
        })
        .collect();
    rules.join("; ")
}
