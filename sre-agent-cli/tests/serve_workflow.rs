//! Working an incident: `sre-agent serve` (a real process, SQLite, the Slack
//! fake) behind a pretend authenticating proxy. Responders acknowledge,
//! note and assign from the portal; a viewer, the shared token and a
//! cross-site form are refused; a second acknowledge is told it was late;
//! the RCA message's Resolve button and `/sre reopen|resolve N` make the
//! same moves from Slack, and the incident's Slack thread hears of each
//! change. A second bot that trusts another
//! proxy network ignores the same user header.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use incident_store::{Store, Workflow};
use mcp_slack::fake::{BOT_TOKEN, FakeSlack};
use serde_json::Value;
use support::{SECRET, Server, command_form, http, new_alert, post_slack, wait_for};

const WAIT: Duration = Duration::from_secs(90);
const TOKEN: &str = "workflow-test-token";
const USER: &str = "X-Forwarded-Email";
const GROUPS: &str = "X-Forwarded-Groups";

/// A form POST as the proxy would pass it on for `email` in `groups`, from
/// the portal's own page.
async fn post_as(
    client: &reqwest::Client,
    server: &Server,
    path: &str,
    form: &[(&str, &str)],
    email: &str,
    groups: &str,
) -> reqwest::Response {
    client
        .post(server.url(path))
        .header(USER, email)
        .header(GROUPS, groups)
        .header("sec-fetch-site", "same-origin")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(form).unwrap())
        .send()
        .await
        .unwrap()
}

async fn page_as(
    client: &reqwest::Client,
    server: &Server,
    path: &str,
    email: &str,
    groups: &str,
) -> String {
    let r = client
        .get(server.url(path))
        .header(USER, email)
        .header(GROUPS, groups)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.text().await.unwrap()
}

fn location(r: &reqwest::Response) -> String {
    let loc = r.headers()["location"].to_str().unwrap();
    let query = loc.split_once('?').map_or("", |(_, q)| q);
    let query = query.split('#').next().unwrap_or("");
    let said: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
    said.into_iter()
        .find(|(k, _)| k == "said")
        .map(|(_, v)| v)
        .unwrap_or_default()
}

fn thread_texts(fake: &FakeSlack, channel: &str, ts: &str) -> Vec<String> {
    fake.messages(channel)
        .into_iter()
        .filter(|m| m["thread_ts"].as_str() == Some(ts))
        .filter_map(|m| m["text"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responders_work_incidents_from_the_portal_and_slack() {
    let fake = FakeSlack::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("sre.db").display());
    let flags = [
        "--slack-channel",
        "C0ALERTS01",
        "--slack-post-interval-ms",
        "0",
        "--poll-ms",
        "100",
        "--portal-token",
        TOKEN,
        "--trusted-user-header",
        USER,
        "--trusted-groups-header",
        GROUPS,
        "--responder-groups",
        "oncall,sre",
        "--approver-groups",
        "sre-leads",
        "--approvers",
        "Kim@example.com",
        "--no-slack-pictures",
        "--allow-writes",
    ];
    let envs = [
        ("SLACK_BOT_TOKEN", BOT_TOKEN.to_string()),
        ("SLACK_SIGNING_SECRET", SECRET.to_string()),
        ("SLACK_API_URL", fake.api_url()),
    ];
    let mut server = Server::spawn(&support::serve_args(&db, &flags), &envs);
    let client = http();
    let store = Store::connect(&db).await.unwrap();

    let id = new_alert(&client, &server, "fp-wf-1", "checkout error rate above 5%").await;
    let slack = wait_for("the RCA posted in Slack", WAIT, || {
        let store = store.clone();
        async move {
            store
                .get_incident(id)
                .await
                .unwrap()
                .filter(|i| i.rca.is_some())
                .and_then(|i| i.slack)
        }
    })
    .await;
    let move_path = format!("/incidents/{id}/move");
    let page_path = format!("/incidents/{id}");

    // A responder acknowledges: post/redirect/get, and the page says so.
    let r = post_as(
        &client,
        &server,
        &move_path,
        &[("action", "acknowledge")],
        "ana@example.com",
        "devs, oncall",
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        location(&r),
        format!("Incident #{id} acknowledged by ana@example.com.")
    );
    let page = page_as(&client, &server, &page_path, "ana@example.com", "oncall").await;
    assert!(page.contains("wf-acknowledged"), "{page}");
    assert!(
        page.contains(r#"value="mitigate""#),
        "offers the next moves"
    );
    assert!(!page.contains(r#"value="acknowledge""#), "not the one made");

    // A form that is not the form (no action) gets the portal's 400 page,
    // and a move that is not one says which are.
    let r = post_as(
        &client,
        &server,
        &move_path,
        &[("act", "x")],
        "ana@example.com",
        "oncall",
    )
    .await;
    assert_eq!(r.status(), 400);
    let body = r.text().await.unwrap();
    assert!(body.contains("The form could not be read"), "{body}");
    assert!(body.contains("missing field"), "{body}");
    let r = post_as(
        &client,
        &server,
        &move_path,
        &[("action", "escalate")],
        "ana@example.com",
        "oncall",
    )
    .await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("is not a move"));

    // A second responder is late, and told.
    let r = post_as(
        &client,
        &server,
        &move_path,
        &[("action", "acknowledge")],
        "ben@example.com",
        "sre",
    )
    .await;
    assert_eq!(
        location(&r),
        format!("Incident #{id}: already acknowledged; nothing changed.")
    );

    // Notes and an owner.
    for note in [
        "rolled back to r41",
        "https://grafana.example/d/checkout",
        "paging <!channel>",
    ] {
        let r = post_as(
            &client,
            &server,
            &format!("/incidents/{id}/notes"),
            &[("body", note)],
            "ben@example.com",
            "sre",
        )
        .await;
        assert_eq!(r.status(), 303);
    }
    let r = post_as(
        &client,
        &server,
        &format!("/incidents/{id}/assign"),
        &[("owner", "ben@example.com")],
        "ana@example.com",
        "oncall",
    )
    .await;
    assert_eq!(
        location(&r),
        format!("Incident #{id} is assigned to ben@example.com (by ana@example.com).")
    );
    let page = page_as(&client, &server, &page_path, "ana@example.com", "oncall").await;
    assert!(page.contains("rolled back to r41"), "{page}");
    assert!(
        page.contains(r#"<a href="https://grafana.example/d/checkout" rel="noopener noreferrer">"#),
        "a note that is one link shows as a link"
    );
    assert!(
        page.contains("<strong>Owner: </strong>ben@example.com"),
        "{page}"
    );

    // An approver runs a remediation step from the portal; a responder sees
    // no button and is refused.
    assert!(!page.contains("Approve and run step"), "{page}");
    // Kim is on --approvers by e-mail (as she would be for Slack), in no
    // approver group: the same name makes her an approver here.
    let kim_page = page_as(&client, &server, &page_path, "kim@example.com", "oncall").await;
    assert!(kim_page.contains("Approve and run step"), "{kim_page}");
    let lead_page = page_as(&client, &server, &page_path, "lee@example.com", "sre-leads").await;
    let step = lead_page
        .split(r#"name="step" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("an approve button for an approver")
        .to_string();
    let approve_path = format!("/incidents/{id}/approve");
    let r = post_as(
        &client,
        &server,
        &approve_path,
        &[("step", &step)],
        "ana@example.com",
        "oncall",
    )
    .await;
    assert_eq!(r.status(), 403);
    let r = post_as(
        &client,
        &server,
        &approve_path,
        &[("step", &step)],
        "lee@example.com",
        "sre-leads",
    )
    .await;
    let said = location(&r);
    assert!(
        said.starts_with(&format!("lee@example.com approved incident #{id} step ")),
        "{said}"
    );
    let step_no: usize = step.parse().unwrap();
    let run = wait_for("the approved step to run", WAIT, || {
        let store = store.clone();
        async move {
            store
                .remediation_runs(id)
                .await
                .unwrap()
                .into_iter()
                .find(|r| r.step == step_no && r.status != "running")
        }
    })
    .await;
    assert_eq!(
        (run.status.as_str(), run.approved_by.as_str()),
        ("succeeded", "lee@example.com")
    );
    let r = post_as(
        &client,
        &server,
        &approve_path,
        &[("step", &step)],
        "lee@example.com",
        "sre-leads",
    )
    .await;
    assert!(
        location(&r).contains("was already approved by lee@example.com (succeeded)"),
        "{}",
        location(&r)
    );

    // Refused: a viewer (not in a responder group), the shared token (reads
    // only), and a form posted from another site. Nothing changes.
    let r = post_as(
        &client,
        &server,
        &move_path,
        &[("action", "resolve")],
        "vic@example.com",
        "devs",
    )
    .await;
    assert_eq!(r.status(), 403);
    let r = client
        .post(server.url(&move_path))
        .bearer_auth(TOKEN)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("action=resolve")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = client
        .post(server.url(&move_path))
        .header(USER, "ana@example.com")
        .header(GROUPS, "oncall")
        .header("sec-fetch-site", "cross-site")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("action=resolve")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = post_as(
        &client,
        &server,
        &move_path,
        &[("action", "close")],
        "ana@example.com",
        "oncall",
    )
    .await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        store.workflow(id).await.unwrap(),
        Some(Workflow::Acknowledged)
    );
    // The viewer's page has no forms; the token still reads.
    let r = client
        .get(server.url(&page_path))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let viewer_page = r.text().await.unwrap();
    assert!(!viewer_page.contains(r#"method="post""#), "{viewer_page}");

    // From Slack: the RCA message's Resolve button, then `/sre reopen N`
    // and `/sre resolve N`, each answered to the person.
    let rca_message = fake
        .messages(&slack.channel)
        .into_iter()
        .find(|m| m["ts"].as_str() == Some(slack.ts.as_str()))
        .unwrap();
    let resolve = rca_message["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().unwrap().clone())
        .find(|e| e["text"]["text"] == "Resolve")
        .expect("a Resolve button on the RCA message");
    let click = serde_json::json!({
        "type": "block_actions",
        "user": {"id": "U0BOB00001", "username": "bob", "team_id": "T0FAKE0001"},
        "api_app_id": "A0FAKEAPP1",
        "container": {"type": "message", "message_ts": slack.ts, "channel_id": slack.channel, "is_ephemeral": false},
        "trigger_id": "1.2.3",
        "team": {"id": "T0FAKE0001", "domain": "fake"},
        "channel": {"id": slack.channel, "name": "alerts"},
        "message": {"type": "message", "ts": slack.ts, "text": "rca"},
        "response_url": "https://hooks.slack.com/actions/x",
        "actions": [resolve]
    });
    let r = post_slack(
        &client,
        &server.url("/slack/interactions"),
        "application/x-www-form-urlencoded",
        &support::interaction_form(&click),
        SECRET,
        &[],
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(store.workflow(id).await.unwrap(), Some(Workflow::Resolved));
    let commands = [
        (
            format!("reopen {id}"),
            "U0CAROL001",
            format!("Incident #{id} reopened by <@U0CAROL001>."),
        ),
        (
            format!("resolve {id}"),
            "U0BOB00001",
            format!("Incident #{id} resolved by <@U0BOB00001>."),
        ),
    ];
    for (n, (text, user, said)) in commands.into_iter().enumerate() {
        let form = command_form(&text, &format!("trig-wf-{n}"), user, "C0ALERTS01");
        let r = post_slack(
            &client,
            &server.url("/slack/commands"),
            "application/x-www-form-urlencoded",
            &form,
            SECRET,
            &[],
        )
        .await;
        let reply: Value = r.json().await.unwrap();
        assert_eq!(reply["response_type"], "ephemeral");
        assert_eq!(reply["text"], said);
    }
    assert_eq!(store.workflow(id).await.unwrap(), Some(Workflow::Resolved));

    // The incident's thread heard of every change, in order.
    let want = [
        format!("Incident #{id} acknowledged by ana@example.com."),
        format!("ben@example.com noted on incident #{id}: rolled back to r41"),
        format!("Incident #{id} is assigned to ben@example.com (by ana@example.com)."),
        format!("Incident #{id} resolved by <@U0BOB00001>."),
        format!("Incident #{id} reopened by <@U0CAROL001>."),
    ];
    let ran = format!(
        ":white_check_mark: Step {} of incident #{id} ran (approved by lee@example.com):",
        step_no + 1
    );
    let got = wait_for("the workflow messages in the thread", WAIT, || {
        let fake = fake.clone();
        let (channel, ts) = (slack.channel.clone(), slack.ts.clone());
        let (want, ran) = (want.clone(), ran.clone());
        async move {
            let texts = thread_texts(&fake, &channel, &ts);
            // Resolved twice: by the button, then again after the reopening.
            let twice = texts.iter().filter(|t| **t == want[3]).count() == 2;
            let ran = texts.iter().any(|t| t.starts_with(&ran));
            (twice && ran && want.iter().all(|w| texts.contains(w))).then_some(texts)
        }
    })
    .await;
    let at = |w: &str| got.iter().position(|t| t == w).unwrap();
    assert!(want.windows(2).all(|p| at(&p[0]) < at(&p[1])), "{got:?}");
    // What people type reaches Slack escaped: no channel-wide ping.
    assert!(
        got.contains(&format!(
            "ben@example.com noted on incident #{id}: paging &lt;!channel&gt;"
        )),
        "{got:?}"
    );
    assert!(!got.iter().any(|t| t.contains("<!channel>")), "{got:?}");
    // The refused attempts never reached the thread.
    assert!(!got.iter().any(|t| t.contains("already")), "{got:?}");

    // The audit log has each move with its person, the refusals too.
    let audit = store.audit_log(50).await.unwrap();
    let has = |actor: &str, action: &str, result: &str| {
        audit
            .iter()
            .any(|e| e.actor == actor && e.action == action && e.result.starts_with(result))
    };
    assert!(has(
        "ana@example.com",
        "incident.acknowledge",
        "open → acknowledged"
    ));
    assert!(has(
        "ben@example.com",
        "incident.acknowledge",
        "refused: already"
    ));
    assert!(has("vic@example.com", "portal.denied", "not a responder"));
    assert!(has("portal token", "portal.denied", "not a responder"));
    // Slack users are on record by their profile's e-mail (`users.info`),
    // the name the portal's proxy gives the same people; Slack itself
    // showed them by mention (above).
    assert!(has(
        "bob@example.com",
        "incident.resolve",
        "acknowledged → resolved"
    ));
    assert!(has(
        "carol@example.com",
        "incident.reopen",
        "resolved → open"
    ));
    assert!(
        !audit.iter().any(|e| e.actor.starts_with("<@")),
        "{audit:?}"
    );
    assert!(has(
        "lee@example.com",
        "remediation.approve",
        "approved; running"
    ));
    assert!(has("lee@example.com", "remediation.run", "succeeded"));
    assert!(has("ana@example.com", "portal.denied", "not an approver"));
    // --no-slack-pictures: nothing was uploaded, all along.
    assert!(fake.calls_to("files.getUploadURLExternal").is_empty());
    assert!(fake.calls_to("files.completeUploadExternal").is_empty());
    assert!(server.terminate(Duration::from_secs(20)));

    // Another bot on the same store that trusts only a proxy network this
    // test never comes from: the same header names nobody.
    let mut elsewhere: Vec<&str> = flags.to_vec();
    elsewhere.extend(["--trusted-proxies", "192.0.2.0/24"]);
    let mut other = Server::spawn(&support::serve_args(&db, &elsewhere), &envs);
    let r = client
        .get(other.url(&page_path))
        .header(USER, "ana@example.com")
        .header(GROUPS, "oncall")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = post_as(
        &client,
        &other,
        &move_path,
        &[("action", "reopen")],
        "ana@example.com",
        "oncall",
    )
    .await;
    assert_eq!(r.status(), 401);
    assert_eq!(store.workflow(id).await.unwrap(), Some(Workflow::Resolved));
    assert!(other.terminate(Duration::from_secs(20)));
}
