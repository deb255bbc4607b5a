//! `sre-agent serve` on SQLite with the Slack fake and the
//! oom-after-limit-change scenario: webhooks, dedup, resolution, signed
//! slash commands, Slack retries, bad signatures, feedback buttons,
//! questions in the thread, probes and metrics. The bot runs as a real
//! process; the test reads the fake's record of Web API calls and the store.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use incident_store::{IncidentFilter, IncidentStatus, Store, Verdict};
use mcp_slack::fake::{BOT_TOKEN, FakeSlack, SeedMessage};
use serde_json::{Value, json};
use support::{
    SECRET, Server, alert_payload, command_form, http, interaction_form, new_alert, post_slack,
    wait_for,
};

const WAIT: Duration = Duration::from_secs(90);

fn post_texts(fake: &FakeSlack) -> Vec<String> {
    fake.calls_to("chat.postMessage")
        .iter()
        .filter(|c| c.error.is_none())
        .map(|c| {
            c.args
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_end_to_end_on_sqlite_with_the_slack_fake() {
    let fake = FakeSlack::start().await.unwrap();
    // Carol approves through the on-call user group.
    fake.add_usergroup("S0ONCALL01", &["U0CAROL001", "U0DAVE00001"]);
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("sre.db").display());
    let server = Server::spawn(
        &support::serve_args(
            &db,
            &[
                "--slack-channel",
                "C0ALERTS01",
                "--slack-post-interval-ms",
                "0",
                "--poll-ms",
                "100",
                "--public-url",
                "https://portal.example.com",
                "--allow-writes",
                "--approvers",
                // Alice by the e-mail on her Slack profile (any case), Carol
                // through the on-call user group.
                "Alice@Example.com,S0ONCALL01",
            ],
        ),
        &[
            ("SLACK_BOT_TOKEN", BOT_TOKEN.to_string()),
            ("SLACK_SIGNING_SECRET", SECRET.to_string()),
            ("SLACK_API_URL", fake.api_url()),
        ],
    );
    let client = http();
    let store = Store::connect(&db).await.unwrap();

    // Probes.
    let r = client.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = client.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);

    // 1. An Alertmanager webhook: recorded, then one "investigating…" post
    //    and one chat.update with the RCA.
    let incident_id = new_alert(&client, &server, "fp-oom-1", "checkout error rate above 5%").await;
    let payload = alert_payload("fp-oom-1", "checkout error rate above 5%", "firing");

    let update = wait_for("the RCA chat.update", WAIT, || {
        let fake = fake.clone();
        async move {
            fake.calls_to("chat.update")
                .into_iter()
                .find(|c| c.error.is_none())
        }
    })
    .await;
    let posts = fake.calls_to("chat.postMessage");
    assert_eq!(posts.len(), 1, "exactly one post: {posts:?}");
    let placeholder_text = posts[0].args["text"].as_str().unwrap();
    assert!(
        placeholder_text.contains("Investigating"),
        "{placeholder_text}"
    );
    let alerts_channel = fake.messages("C0ALERTS01");
    let placeholder_ts = alerts_channel
        .iter()
        .find(|m| {
            m["text"]
                .as_str()
                .unwrap_or("")
                .contains(&format!("incident #{incident_id}"))
                || m["text"]
                    .as_str()
                    .unwrap_or("")
                    .contains("Root cause analysis")
        })
        .map(|m| m["ts"].as_str().unwrap().to_string())
        .expect("the bot's message in #alerts-prod");
    assert_eq!(
        update.args["ts"].as_str().unwrap(),
        placeholder_ts,
        "the update edits the placeholder"
    );
    let blocks = update.args["blocks"].to_string();
    assert!(blocks.contains("Root cause analysis"), "{blocks}");
    assert!(
        blocks.contains("rca_confirm") && blocks.contains("rca_reject"),
        "{blocks}"
    );
    assert!(
        blocks.contains("https://portal.example.com/incidents/"),
        "{blocks}"
    );
    assert!(
        blocks.to_lowercase().contains("cart"),
        "the scenario's root cause is cart: {blocks}"
    );

    let incident = support::wait_done(&store, incident_id, WAIT).await;
    let root = &incident.rca.as_ref().unwrap().root_cause;
    assert!(root.component.contains("cart"), "{root:?}");
    assert_eq!(incident.slack.as_ref().unwrap().ts, placeholder_ts);
    assert!(
        store.transcript(incident_id).await.unwrap().is_some(),
        "transcript stored"
    );
    // The RCA's pictures follow under the message, as PNG files uploaded in
    // Slack's three steps, each with its words as alt text.
    let shared = support::wait_pictures_in_thread(&fake, "C0ALERTS01", &placeholder_ts, WAIT).await;
    assert_eq!(
        shared["text"],
        format!("Pictures for incident #{incident_id}: call path, error rate, timeline.")
    );
    let files = shared["files"].as_array().unwrap();
    assert_eq!(files.len(), 3, "{shared}");
    for (file, title) in files.iter().zip(["Call path", "Error rate", "Timeline"]) {
        let got = fake.file(file["id"].as_str().unwrap()).unwrap();
        assert_eq!(got.title.as_deref(), Some(title));
        assert!(
            got.bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
            "{title}: not a PNG"
        );
        assert!(
            got.bytes.len() > 5_000,
            "{title}: {} bytes",
            got.bytes.len()
        );
        assert!(
            got.alt_txt.as_deref().is_some_and(|a| a.len() > 20),
            "{title}: {got:?}"
        );
    }
    assert!(
        files[0]["alt_txt"].as_str().unwrap().contains("cart"),
        "the call path's alt text names the cause: {shared}"
    );

    // 2. The same alert again within the window: a duplicate, no new post.
    let r = client
        .post(server.url("/webhook/alertmanager"))
        .header("content-type", "application/json")
        .body(payload.clone())
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["results"][0]["result"]["outcome"], "duplicate",
        "{body}"
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        fake.calls_to("chat.postMessage").len(),
        1,
        "no post for a duplicate"
    );

    // 3. Resolved: the incident is marked resolved.
    let resolved = alert_payload("fp-oom-1", "checkout error rate above 5%", "resolved");
    let r = client
        .post(server.url("/webhook/signoz"))
        .header("content-type", "application/json")
        .body(resolved)
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["results"][0]["result"]["outcome"], "resolved",
        "{body}"
    );
    let i = store.get_incident(incident_id).await.unwrap().unwrap();
    assert_eq!(i.status, IncidentStatus::Resolved);
    assert!(i.resolved_at.is_some());

    // 4. Bad signature: 401 on every Slack route.
    for path in [
        "/slack/events",
        "/slack/commands",
        "/slack/interactions",
        "/slack/interactive",
    ] {
        let r = post_slack(
            &client,
            &server.url(path),
            "application/x-www-form-urlencoded",
            "a=b",
            "wrong-secret",
            &[],
        )
        .await;
        assert_eq!(r.status(), 401, "{path}");
    }

    // 5. A signed slash command queues an on-demand job; Slack's redelivery
    //    (same trigger id) does not queue a second.
    let form = command_form(
        "investigate service=checkout since=30m why 5xx?",
        "trig-1",
        "U0ALICE001",
        "C0INCIDENT",
    );
    let r = post_slack(
        &client,
        &server.url("/slack/commands"),
        "application/x-www-form-urlencoded",
        &form,
        SECRET,
        &[],
    )
    .await;
    assert_eq!(r.status(), 200);
    let reply: Value = r.json().await.unwrap();
    assert_eq!(reply["response_type"], "ephemeral");
    let text = reply["text"].as_str().unwrap().to_string();
    assert!(text.contains("incident #"), "{text}");
    let r = post_slack(
        &client,
        &server.url("/slack/commands"),
        "application/x-www-form-urlencoded",
        &form,
        SECRET,
        &[("x-slack-retry-num", "1".into())],
    )
    .await;
    let reply2: Value = r.json().await.unwrap();
    assert_eq!(
        reply2["text"].as_str().unwrap(),
        text,
        "same incident on redelivery"
    );
    let on_demand: Vec<_> = store
        .list_incidents(&IncidentFilter::default())
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i.on_demand)
        .collect();
    assert_eq!(on_demand.len(), 1, "one job for the command and its retry");
    assert_eq!(on_demand[0].reply_channel.as_deref(), Some("C0INCIDENT"));
    wait_for("the on-demand RCA in #incidents", WAIT, || {
        let fake = fake.clone();
        async move {
            fake.messages("C0INCIDENT")
                .into_iter()
                .find(|m| m["blocks"].to_string().contains("Root cause analysis"))
        }
    })
    .await;

    // The memory: incident #1 had the same root cause, so the on-demand
    // RCA says it was seen before (evidence from the store, LLM or not).
    let again = support::wait_done(&store, on_demand[0].id, WAIT).await;
    let evidence = &again.rca.as_ref().unwrap().evidence;
    assert!(
        evidence.iter().any(|e| e.source == "memory"
            && e.detail
                .starts_with(&format!("seen before: #{incident_id} "))),
        "{evidence:#?}"
    );

    // 6. An alert posted in Slack, delivered twice (Slack's retry): one
    //    incident, answered in the alert's thread.
    let mut event: Value = serde_json::from_str(
        &std::fs::read_to_string(
            support::root().join("fixtures/slack/event_callback_alert_message.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let alert_ts = fake.add_message(
        "C0ALERTS01",
        SeedMessage {
            user: None,
            bot_id: Some("B07AMGR0001".into()),
            username: Some("Alertmanager".into()),
            text: String::new(),
            thread_ts: None,
            attachments: Some(event["event"]["attachments"].clone()),
            blocks: None,
        },
    );
    event["event_id"] = json!("Ev-slack-alert-1");
    event["event"]["ts"] = json!(alert_ts);
    event["event"]["event_ts"] = json!(alert_ts);
    let before = store
        .list_incidents(&IncidentFilter::default())
        .await
        .unwrap()
        .len();
    let body = event.to_string();
    let r = post_slack(
        &client,
        &server.url("/slack/events"),
        "application/json",
        &body,
        SECRET,
        &[],
    )
    .await;
    assert_eq!(r.status(), 200);
    let r = post_slack(
        &client,
        &server.url("/slack/events"),
        "application/json",
        &body,
        SECRET,
        &[
            ("x-slack-retry-num", "1".into()),
            ("x-slack-retry-reason", "http_timeout".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), 200);
    let all = store
        .list_incidents(&IncidentFilter::default())
        .await
        .unwrap();
    assert_eq!(
        all.len(),
        before + 1,
        "one incident for the event and its retry"
    );
    let slack_incident = all
        .iter()
        .find(|i| i.alert.name == "KubeDeploymentReplicasMismatch")
        .expect("the Slack alert's incident")
        .clone();
    let reply = support::wait_rca_in_thread(&fake, "C0ALERTS01", &alert_ts, WAIT).await;
    // The pictures go to the same thread, after the RCA.
    support::wait_pictures_in_thread(&fake, "C0ALERTS01", &alert_ts, WAIT).await;
    let thread_replies: Vec<_> = fake
        .messages("C0ALERTS01")
        .into_iter()
        .filter(|m| {
            m["thread_ts"].as_str() == Some(alert_ts.as_str())
                && m["ts"].as_str() != Some(alert_ts.as_str())
                && m["subtype"] != "file_share"
        })
        .collect();
    assert_eq!(
        thread_replies.len(),
        1,
        "one RCA message in the alert's thread: {thread_replies:?}"
    );

    // 7. Buttons: "confirm" records feedback; "wrong" asks why in a modal
    //    (or, with no trigger to open one, in the thread), and the answer is
    //    kept as the reason.
    let click = |action: &str, user: &str| {
        json!({
            "type": "block_actions",
            "user": {"id": user, "username": "alice", "team_id": "T0FAKE0001"},
            "api_app_id": "A0FAKEAPP1",
            "container": {"type": "message", "message_ts": placeholder_ts, "channel_id": "C0ALERTS01", "is_ephemeral": false},
            "trigger_id": "1.2.3",
            "team": {"id": "T0FAKE0001", "domain": "fake"},
            "channel": {"id": "C0ALERTS01", "name": "alerts-prod"},
            "message": {"type": "message", "ts": placeholder_ts, "text": "rca"},
            "response_url": "https://hooks.slack.com/actions/x",
            "actions": [{"action_id": action, "block_id": "rca_feedback", "value": incident_id.to_string(), "type": "button", "action_ts": "1.2"}]
        })
    };
    let r = post_slack(
        &client,
        &server.url("/slack/interactions"),
        "application/x-www-form-urlencoded",
        &interaction_form(&click("rca_confirm", "U0ALICE001")),
        SECRET,
        &[],
    )
    .await;
    assert_eq!(r.status(), 200);
    let fb = store.feedback(incident_id).await.unwrap();
    assert_eq!(fb.len(), 1);
    assert_eq!(fb[0].verdict, Verdict::Confirmed);
    assert_eq!(fb[0].user, "U0ALICE001");

    let r = post_slack(
        &client,
        &server.url("/slack/interactive"),
        "application/x-www-form-urlencoded",
        &interaction_form(&click("rca_reject", "U0BOB00001")),
        SECRET,
        &[],
    )
    .await;
    assert_eq!(r.status(), 200);
    let modal = wait_for("the \"what was it?\" modal", WAIT, || {
        let fake = fake.clone();
        async move { fake.views().into_iter().next() }
    })
    .await;
    assert_eq!(modal["trigger_id"], "1.2.3", "{modal}");
    assert_eq!(modal["callback_id"], "sre_rca_wrong", "{modal}");
    let submission = json!({
        "type": "view_submission",
        "team": {"id": "T0FAKE0001", "domain": "fake"},
        "user": {"id": "U0BOB00001", "username": "bob", "team_id": "T0FAKE0001"},
        "api_app_id": "A0FAKEAPP1",
        "trigger_id": "4.5.6",
        "view": {
            "id": "V000000001", "type": "modal", "callback_id": modal["callback_id"],
            "private_metadata": modal["private_metadata"], "hash": "1.a",
            "state": {"values": {"actual": {"text": {"type": "plain_text_input", "value": "the payments DB failover"}}}}
        }
    });
    let r = post_slack(
        &client,
        &server.url("/slack/interactive"),
        "application/x-www-form-urlencoded",
        &interaction_form(&submission),
        SECRET,
        &[],
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "", "an empty 200 closes the modal");
    let fb = store.feedback(incident_id).await.unwrap();
    assert_eq!(fb.len(), 3, "{fb:?}");
    assert_eq!(
        (fb[2].verdict, fb[2].user.as_str(), fb[2].comment.as_deref()),
        (
            Verdict::Wrong,
            "U0BOB00001",
            Some("the payments DB failover")
        )
    );
    // Without a trigger (the modal cannot open) the bot asks in the thread.
    let mut no_trigger = click("rca_reject", "U0BOB00001");
    no_trigger.as_object_mut().unwrap().remove("trigger_id");
    let r = post_slack(
        &client,
        &server.url("/slack/interactive"),
        "application/x-www-form-urlencoded",
        &interaction_form(&no_trigger),
        SECRET,
        &[],
    )
    .await;
    assert_eq!(r.status(), 200);
    wait_for("the bot to ask why", WAIT, || {
        let fake = fake.clone();
        async move {
            post_texts(&fake)
                .into_iter()
                .find(|t| t.contains("What was the actual root cause"))
        }
    })
    .await;
    let why = json!({
        "type": "event_callback", "team_id": "T0FAKE0001", "api_app_id": "A0FAKEAPP1", "event_id": "Ev-why-1", "event_time": 1,
        "event": {"type": "message", "user": "U0BOB00001", "text": "it was the node's disk, not cart", "ts": "1732409999.000100",
                  "thread_ts": placeholder_ts, "channel": "C0ALERTS01", "channel_type": "channel", "event_ts": "1732409999.000100"}
    });
    let r = post_slack(
        &client,
        &server.url("/slack/events"),
        "application/json",
        &why.to_string(),
        SECRET,
        &[],
    )
    .await;
    assert_eq!(r.status(), 200);
    let fb = store.feedback(incident_id).await.unwrap();
    assert_eq!(fb.len(), 5, "{fb:?}");
    assert_eq!(fb[4].verdict, Verdict::Wrong);
    assert_eq!(
        fb[4].comment.as_deref(),
        Some("it was the node's disk, not cart")
    );

    // 8. A question to the bot in the incident's thread is answered from the RCA.
    let ask = json!({
        "type": "event_callback", "team_id": "T0FAKE0001", "api_app_id": "A0FAKEAPP1", "event_id": "Ev-ask-1", "event_time": 1,
        "event": {"type": "app_mention", "user": "U0ALICE001", "text": "<@U0BOT00001> how do we fix it?", "ts": "1732409999.000200",
                  "thread_ts": alert_ts, "channel": "C0ALERTS01", "event_ts": "1732409999.000200"}
    });
    let r = post_slack(
        &client,
        &server.url("/slack/events"),
        "application/json",
        &ask.to_string(),
        SECRET,
        &[],
    )
    .await;
    assert_eq!(r.status(), 200);
    let answer = wait_for("the answer in the thread", WAIT, || {
        let fake = fake.clone();
        async move {
            post_texts(&fake)
                .into_iter()
                .find(|t| t.contains(&format!("Incident #{}", slack_incident.id)))
        }
    })
    .await;
    assert!(answer.contains("Root cause"), "{answer}");
    assert!(
        answer.contains("What to do"),
        "a fix question gets the remediation: {answer}"
    );
    let _ = reply;

    // 9. Remediation (--allow-writes): the RCA's rollback step has an
    //    "approve and run" button; a non-approver's click runs nothing; an
    //    approver's click runs mcp-kubernetes' `rollout_undo` (against the
    //    scenario's fixture API server) once, whatever the clicks after it;
    //    each click and the result are audit-logged.
    let rca = incident.rca.as_ref().unwrap();
    let step = rca
        .remediation
        .iter()
        .position(|r| r.tool.as_ref().is_some_and(|t| t.tool == "rollout_undo"))
        .unwrap_or_else(|| panic!("the OOM RCA offers a runnable rollback: {rca:?}"));
    assert!(
        blocks.contains(&format!("sre_approve_remediation_{step}")),
        "{blocks}"
    );
    let approve = |user: &str| {
        let mut p = click(&format!("sre_approve_remediation_{step}"), user);
        p["actions"][0]["value"] = json!(format!("{incident_id}:{step}"));
        p
    };
    for user in ["U0BOB00001", "U0ALICE001"] {
        let r = post_slack(
            &client,
            &server.url("/slack/interactions"),
            "application/x-www-form-urlencoded",
            &interaction_form(&approve(user)),
            SECRET,
            &[],
        )
        .await;
        assert_eq!(r.status(), 200);
    }
    let ran = wait_for("the remediation's result in the thread", WAIT, || {
        let fake = fake.clone();
        async move {
            post_texts(&fake)
                .into_iter()
                .find(|t| t.contains(&format!("Step {} of incident #{incident_id}", step + 1)))
        }
    })
    .await;
    assert!(
        ran.contains("ran (approved by <@U0ALICE001>)") && ran.contains("rolled back Deployment"),
        "the rollback ran through the write tool: {ran}"
    );
    // A second click (or the same click on another replica) runs nothing,
    // even by an approver (Carol is one through the S0ONCALL01 group).
    let r = post_slack(
        &client,
        &server.url("/slack/interactions"),
        "application/x-www-form-urlencoded",
        &interaction_form(&approve("U0CAROL001")),
        SECRET,
        &[],
    )
    .await;
    assert_eq!(r.status(), 200);
    wait_for("the bot to say it already ran", WAIT, || {
        let fake = fake.clone();
        async move {
            post_texts(&fake)
                .into_iter()
                .find(|t| t.contains("<@U0CAROL001>") && t.contains("not run twice"))
        }
    })
    .await;
    let runs = store.remediation_runs(incident_id).await.unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(
        (
            runs[0].step,
            runs[0].status.as_str(),
            runs[0].approved_by.as_str(),
            runs[0].tool.as_str()
        ),
        // Recorded by e-mail: the name the portal's proxy gives her too.
        (step, "succeeded", "alice@example.com", "k8s.rollout_undo")
    );
    let audit = store.audit_log(10).await.unwrap();
    let entry = |actor: &str, action: &str| {
        audit
            .iter()
            .find(|e| e.actor == actor && e.action == action)
            .unwrap_or_else(|| panic!("no {action} by {actor} in {audit:?}"))
            .clone()
    };
    assert!(
        entry("bob@example.com", "remediation.approve")
            .result
            .starts_with("refused: not an approver")
    );
    let approved = entry("alice@example.com", "remediation.approve");
    assert!(
        approved
            .result
            .starts_with("approved; running k8s.rollout_undo"),
        "{approved:?}"
    );
    assert!(
        approved
            .target
            .contains(&format!("incident #{incident_id}"))
    );
    let run = entry("alice@example.com", "remediation.run");
    assert!(run.result.starts_with("succeeded: rolled back"), "{run:?}");
    assert!(run.target.starts_with("k8s.rollout_undo"), "{run:?}");
    assert!(
        entry("carol@example.com", "remediation.approve")
            .result
            .starts_with("refused: already run")
    );
    let remediation = audit
        .iter()
        .filter(|e| e.action.starts_with("remediation."))
        .count();
    assert_eq!(remediation, 4, "{audit:?}");
    // The alert's resolving (step 3) moved the incident's workflow, on record.
    assert!(
        audit
            .iter()
            .any(|e| e.action == "incident.resolve" && e.result == "open → resolved"),
        "{audit:?}"
    );

    // 10. Metrics.
    let text = client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        "sre_agent_alerts_received_total{source=\"alertmanager\",outcome=\"new\"} 1",
        "sre_agent_alerts_received_total{source=\"alertmanager\",outcome=\"duplicate\"} 1",
        "sre_agent_investigations_total{outcome=\"done\"}",
        "sre_agent_investigation_duration_seconds_bucket",
        "sre_agent_tool_call_duration_seconds_count{server=\"k8s\"}",
        "sre_agent_feedback_total",
        "sre_agent_incidents{status=\"resolved\"} 1",
        "sre_agent_remediations_run_total{outcome=\"succeeded\"} 1",
        "sre_agent_slack_socket_connections 0",
    ] {
        assert!(text.contains(needle), "missing {needle} in\n{text}");
    }
}

/// A replica that died after posting "investigating…" but before recording
/// the message's ts: the retry finds its message by the incident metadata
/// and edits it, so the channel still gets one message for the incident.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_reuses_the_message_a_dead_replica_posted_but_never_recorded() {
    let fake = FakeSlack::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("sre.db").display());
    let store = Store::connect(&db).await.unwrap();
    let alert = sre_orchestrator::alert::parse_webhook(&alert_payload(
        "fp-orphan",
        "checkout error rate above 5%",
        "firing",
    ))
    .unwrap()
    .remove(0);
    let id = store
        .enqueue_alert(&alert, "{}", Duration::from_secs(600))
        .await
        .unwrap()
        .incident_id()
        .unwrap();
    // The dead replica's claim (its lease runs out at once) and its post.
    let job = store
        .claim_job("dead-replica", Duration::from_millis(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.attempt, 1);
    let api = mcp_slack::SlackApi::new(mcp_slack::SlackApiConfig {
        base_url: fake.api_url(),
        bot_token: Some(BOT_TOKEN.into()),
        user_token: None,
        retry: Default::default(),
    });
    let orphan = api
        .post_message(&mcp_slack::api::PostMessage {
            channel: "C0ALERTS01".into(),
            text: format!("Investigating… (incident #{id})"),
            blocks: None,
            thread_ts: None,
            reply_broadcast: None,
            unfurl_links: false,
            metadata: Some(
                json!({"event_type": "sre_agent_incident", "event_payload": {"incident_id": id}}),
            ),
        })
        .await
        .unwrap();
    // Another incident's message in the channel must not be taken for it.
    api.post_message(&mcp_slack::api::PostMessage {
        channel: "C0ALERTS01".into(),
        text: "Investigating… (incident #999)".into(),
        blocks: None,
        thread_ts: None,
        reply_broadcast: None,
        unfurl_links: false,
        metadata: Some(
            json!({"event_type": "sre_agent_incident", "event_payload": {"incident_id": 999}}),
        ),
    })
    .await
    .unwrap();
    let before = fake.messages("C0ALERTS01").len();
    store.close().await;

    let server = Server::spawn(
        &support::serve_args(
            &db,
            &[
                "--slack-channel",
                "C0ALERTS01",
                "--slack-post-interval-ms",
                "0",
                "--poll-ms",
                "100",
                "--retry-backoff-secs",
                "0",
            ],
        ),
        &[
            ("SLACK_BOT_TOKEN", BOT_TOKEN.to_string()),
            ("SLACK_API_URL", fake.api_url()),
        ],
    );
    let store = Store::connect(&db).await.unwrap();
    let done = support::wait_done(&store, id, WAIT).await;
    let recorded = done.slack.expect("the message is recorded");
    assert_eq!(recorded.ts, orphan.ts, "the orphan message was adopted");
    let messages: Vec<Value> = fake
        .messages("C0ALERTS01")
        .into_iter()
        .filter(|m| m["subtype"] != "file_share")
        .collect();
    assert_eq!(messages.len(), before, "no second message: {messages:?}");
    let edited = messages
        .iter()
        .find(|m| m["ts"].as_str() == Some(orphan.ts.as_str()))
        .unwrap();
    assert!(
        edited["blocks"].to_string().contains("Root cause analysis"),
        "the RCA replaced the orphan: {edited}"
    );
    assert!(
        server
            .log()
            .contains("found the message an earlier attempt posted"),
        "{}",
        server.log()
    );
}
