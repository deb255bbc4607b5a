//! The bot's doors, tried as an attacker would, on a real `sre-agent serve`
//! process: no token → 401, a foreign `Host` → 403 (DNS rebinding), a body
//! a browser can send cross-site (`text/plain`) → 415, 2 MB → 413, a burst
//! of 1,000 alerts → at most the rate limit become incidents; and without a
//! token the bot refuses to listen beyond loopback.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::{Command, Stdio};

use incident_store::{IncidentFilter, Store};
use serde_json::Value;
use support::{Server, alert_payload, http};

const TOKEN: &str = "webhook-test-token-42";

/// One webhook body holding `n` distinct firing alerts.
fn burst(n: usize) -> String {
    let one: Value = serde_json::from_str(&alert_payload("burst-0", "Burst", "firing")).unwrap();
    let mut body = one.clone();
    let alerts: Vec<Value> = (0..n)
        .map(|i| {
            let mut a = one["alerts"][0].clone();
            a["fingerprint"] = Value::from(format!("burst-{i}"));
            a["labels"]["alertname"] = Value::from(format!("Burst{i}"));
            a
        })
        .collect();
    body["alerts"] = Value::from(alerts);
    body.to_string()
}

/// A webhook POST with this content type and body (credentials added by
/// the caller).
fn webhook(
    client: &reqwest::Client,
    url: &str,
    content_type: &str,
    body: String,
) -> reqwest::RequestBuilder {
    client
        .post(url)
        .header("content-type", content_type)
        .body(body)
}

/// The status a request gets.
async fn status(request: reqwest::RequestBuilder) -> u16 {
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_closed_to_strangers_and_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("sre.db").display());
    let server = Server::spawn(
        &support::serve_args(
            &db,
            &[
                "--webhook-rate",
                "60",
                "--test-investigation-delay-ms",
                "600000",
                "--allowed-hosts",
                "sre-agent.sre.svc",
            ],
        ),
        &[("SRE_AGENT_WEBHOOK_TOKEN", TOKEN.to_string())],
    );
    let client = http();
    let url = server.url("/webhook/alertmanager");
    let payload = alert_payload("guard-1", "GuardTest", "firing");

    // No credentials, wrong credentials.
    assert_eq!(
        status(webhook(&client, &url, "application/json", payload.clone())).await,
        401
    );
    assert_eq!(
        status(
            webhook(&client, &url, "application/json", payload.clone())
                .bearer_auth("not-the-token")
        )
        .await,
        401
    );

    // A body a browser sends cross-site without a preflight.
    assert_eq!(
        status(webhook(&client, &url, "text/plain", payload.clone()).bearer_auth(TOKEN)).await,
        415
    );

    // 2 MB: refused unread, so the connection is closed, not reused for
    // the next request (which would then fail mid-flight).
    let big = webhook(
        &client,
        &url,
        "application/json",
        " ".repeat(2 * 1024 * 1024),
    )
    .bearer_auth(TOKEN)
    .send()
    .await
    .unwrap();
    assert_eq!(big.status(), 413);
    assert_eq!(
        big.headers()
            .get("connection")
            .and_then(|v| v.to_str().ok()),
        Some("close")
    );

    // DNS rebinding: a foreign name is refused on every route; the names
    // the bot is given and IP literals are served.
    for path in [
        "/",
        "/audit",
        "/metrics",
        "/readyz",
        "/webhook/alertmanager",
    ] {
        let r = client
            .get(server.url(path))
            .header("host", "attacker.example")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{path}");
    }
    for host in ["localhost", "sre-agent.sre.svc:8080", "127.0.0.1"] {
        let r = client
            .get(server.url("/healthz"))
            .header("host", host)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{host}");
    }

    // Basic auth with the token as password is accepted (Alertmanager's
    // http_config.basic_auth).
    assert_eq!(
        status(
            webhook(&client, &url, "application/json", payload.clone())
                .basic_auth("alertmanager", Some(TOKEN))
        )
        .await,
        200
    );

    // 1,000 alerts in one burst: 59 more fit in this minute's bucket (60 when
    // the test ran slowly enough for the bucket to refill one token).
    let r = webhook(&client, &url, "application/json", burst(1000))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "60");
    let body: Value = r.json().await.unwrap();
    let accepted = body["accepted"].as_u64().unwrap_or(u64::MAX);
    assert!((59..=60).contains(&accepted), "{body}");
    // Another source has its own bucket.
    let signoz = server.url("/webhook/signoz");
    let one = alert_payload("guard-signoz", "SignozGuard", "firing");
    assert_eq!(
        status(webhook(&client, &signoz, "application/json", one).bearer_auth(TOKEN)).await,
        200
    );

    let store = Store::connect(&db).await.unwrap();
    let incidents = store
        .list_incidents(&IncidentFilter {
            limit: 5000,
            ..Default::default()
        })
        .await
        .unwrap();
    // The one alert before the burst, the burst's accepted ones, signoz's.
    assert_eq!(
        incidents.len() as u64,
        1 + accepted + 1,
        "alertmanager's within its rate + 1 from signoz"
    );

    let metrics = client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for want in [
        r#"sre_agent_requests_rejected_total{source="alertmanager",reason="unauthorized"} 2"#,
        r#"sre_agent_requests_rejected_total{source="alertmanager",reason="content_type"} 1"#,
        r#"sre_agent_requests_rejected_total{source="alertmanager",reason="rate_limited"} 1"#,
        r#"sre_agent_requests_rejected_total{source="any",reason="host"} 5"#,
    ] {
        assert!(metrics.contains(want), "{want} not in\n{metrics}");
    }
}

#[test]
fn without_a_token_the_bot_refuses_to_listen_beyond_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("sre.db").display());
    let out = Command::new(env!("CARGO_BIN_EXE_sre-agent"))
        .arg("serve")
        .args(["--listen", "0.0.0.0:0"])
        .args(support::serve_args(&db, &[]))
        .env_remove("SRE_AGENT_WEBHOOK_TOKEN")
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("refusing to accept alerts from anyone")
            && stderr.contains("--insecure-open-webhooks"),
        "{stderr}"
    );
}
