//! People working an incident in the portal in a real headless Chromium,
//! driven over the DevTools protocol (`browser::Browser`): the list
//! filtered with its form, search typed into, a responder acknowledging,
//! assigning and noting with the mouse, another moving the incident on
//! with the keyboard alone, an approver running a remediation step, and a
//! viewer and a cross-site page refused. Who is signed in is what an
//! authenticating proxy would add (`X-Forwarded-Email` and groups, set on
//! every request the browser makes); everything else is Chromium's own.
//! Each step is checked in the page and in the store, and screenshots are
//! written to `target/portal-clicks/`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod browser;
mod support;

use std::time::Duration;

use browser::Browser;
use incident_store::{Store, Workflow};
use support::{Server, http, new_alert, wait_for};

const WAIT: Duration = Duration::from_secs(90);
const USER: &str = "X-Forwarded-Email";
const GROUPS: &str = "X-Forwarded-Groups";

/// Signs the browser in as `email` in `groups`, as the proxy would.
async fn sign_in(b: &mut Browser, email: &str, groups: &str) {
    b.set_headers(&[(USER, email), (GROUPS, groups)]).await;
}

/// Writes a screenshot for people to look at and checks it is a real one.
async fn keep_screenshot(b: &mut Browser, name: &str) {
    let dir = support::root().join("target/portal-clicks");
    std::fs::create_dir_all(&dir).unwrap();
    let png = b.screenshot(&dir.join(format!("{name}.png"))).await;
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{name}: not a PNG");
    assert!(
        png.len() > 20_000,
        "{name}: near-empty ({} bytes)",
        png.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_work_an_incident_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("sre.db").display());
    let flags = [
        "--poll-ms",
        "100",
        "--portal-token",
        "clicks-test-token",
        "--trusted-user-header",
        USER,
        "--trusted-groups-header",
        GROUPS,
        "--responder-groups",
        "oncall,sre",
        "--approver-groups",
        "sre-leads",
        "--allow-writes",
    ];
    let server = Server::spawn(&support::serve_args(&db, &flags), &[]);
    let client = http();
    let store = Store::connect(&db).await.unwrap();
    let id = new_alert(
        &client,
        &server,
        "fp-clicks-1",
        "checkout error rate above 5%",
    )
    .await;
    wait_for("the RCA", WAIT, || {
        let store = store.clone();
        async move {
            store
                .get_incident(id)
                .await
                .unwrap()
                .and_then(|i| i.rca)
                .map(|_| ())
        }
    })
    .await;
    let page = server.url(&format!("/incidents/{id}"));
    let mut b = Browser::launch().await;

    // A viewer: the list, filtered with its own form; no forms to work the
    // incident; a form forged into the page is refused by the server.
    sign_in(&mut b, "vic@example.com", "devs").await;
    b.goto(&server.url("/")).await;
    assert!(b.text().await.contains("checkout error rate above 5%"));
    b.eval("document.querySelector('select[name=workflow]').value = 'resolved'")
        .await;
    b.click_and_load("main form button[type=submit]").await;
    assert!(
        b.url().await.contains("workflow=resolved"),
        "{}",
        b.url().await
    );
    assert!(
        b.text().await.contains("No incidents."),
        "{}",
        b.text().await
    );
    b.eval("document.querySelector('select[name=workflow]').value = 'open'")
        .await;
    b.click_and_load("main form button[type=submit]").await;
    assert!(b.text().await.contains("checkout error rate above 5%"));
    b.click_and_load(&format!("a[href=\"/incidents/{id}\"]"))
        .await;
    assert!(!b.has("form[method=post][action$=move]").await);
    assert!(b.text().await.contains("Sign in as a responder"));
    b.eval(&format!(
        "(() => {{ const f = document.createElement('form'); f.method = 'post'; \
         f.action = '/incidents/{id}/move'; f.innerHTML = \
         '<input name=action value=resolve><button id=forged>go</button>'; \
         document.querySelector('main').prepend(f); }})()"
    ))
    .await;
    b.click_and_load("#forged").await;
    assert!(
        b.text()
            .await
            .contains("Only responders can work incidents"),
        "{}",
        b.text().await
    );
    assert_eq!(store.workflow(id).await.unwrap(), Some(Workflow::Open));

    // Search, typed into the field and sent with Enter.
    b.goto(&server.url("/search")).await;
    b.click("input[name=q]").await;
    b.type_text("cart").await;
    b.enter_and_load().await;
    assert!(
        b.text().await.contains("result(s) for"),
        "{}",
        b.text().await
    );
    assert!(b.has("mark").await, "the words found are marked");

    // A responder, with the mouse: acknowledge, assign, note.
    sign_in(&mut b, "ana@example.com", "devs, oncall").await;
    b.goto(&page).await;
    b.click_and_load("button[value=acknowledge]").await;
    let said = format!("Incident #{id} acknowledged by ana@example.com.");
    assert!(b.text().await.contains(&said), "{}", b.text().await);
    assert!(b.has(".wf-acknowledged").await);
    assert_eq!(
        store.workflow(id).await.unwrap(),
        Some(Workflow::Acknowledged)
    );
    b.click("input[name=owner]").await;
    b.eval("document.activeElement.select()").await;
    b.type_text("ben@example.com").await;
    b.click_and_load("form[action$=assign] button").await;
    assert!(
        b.text().await.contains(&format!(
            "Incident #{id} is assigned to ben@example.com (by ana@example.com)."
        )),
        "{}",
        b.text().await
    );
    b.click("textarea[name=body]").await;
    b.type_text("rolled back to r41").await;
    b.click_and_load("form[action$=notes] button").await;
    assert!(b.text().await.contains("rolled back to r41"));
    let got = store.get_incident(id).await.unwrap().unwrap();
    assert_eq!(got.owner.as_deref(), Some("ben@example.com"));
    assert_eq!(store.notes(id).await.unwrap().len(), 1);
    // The pictures are drawn, not just present: each SVG has a size.
    let drawn = b
        .eval(
            "Array.from(document.querySelectorAll('#pictures svg')).filter(s => \
             { const r = s.getBoundingClientRect(); return r.width > 100 && r.height > 40; }).length",
        )
        .await;
    assert!(drawn.as_u64().unwrap() >= 3, "pictures drawn: {drawn}");
    keep_screenshot(&mut b, "responder-after-note").await;

    // A cross-site page posting to the portal for the same signed-in person
    // (the proxy's cookie would go with it): refused.
    let forged = format!(
        "data:text/html,<form method=post action=\"{}/move\"><input name=action value=resolve>\
         <button id=go>go</button></form>",
        page
    );
    b.goto(&forged).await;
    b.click_and_load("#go").await;
    assert!(
        b.text().await.contains("cross-site request refused"),
        "{}",
        b.text().await
    );
    assert_eq!(
        store.workflow(id).await.unwrap(),
        Some(Workflow::Acknowledged)
    );

    // Another responder, keyboard only: Tab from the top of the page (the
    // skip link first) to "Mark mitigated", Enter; then on to "Resolve".
    sign_in(&mut b, "ben@example.com", "sre").await;
    b.goto(&page).await;
    let stops = b.tab_to("button \"Mark mitigated\"", 80).await;
    assert_eq!(stops[0], "a \"Skip to content\"", "{stops:#?}");
    b.enter_and_load().await;
    assert!(
        b.text().await.contains(&format!(
            "Incident #{id} marked mitigated by ben@example.com."
        )),
        "{}",
        b.text().await
    );
    b.tab_to("button \"Resolve\"", 80).await;
    b.enter_and_load().await;
    assert_eq!(store.workflow(id).await.unwrap(), Some(Workflow::Resolved));
    keep_screenshot(&mut b, "keyboard-resolved").await;

    // An approver runs a remediation step; a responder has no such button.
    assert!(!b.has("form[action$=approve]").await);
    sign_in(&mut b, "lee@example.com", "sre-leads").await;
    b.goto(&page).await;
    b.click_and_load("form[action$=approve] button").await;
    let text = b.text().await;
    assert!(
        text.contains(&format!("lee@example.com approved incident #{id} step ")),
        "{text}"
    );
    let run = wait_for("the approved step to run", WAIT, || {
        let store = store.clone();
        async move {
            store
                .remediation_runs(id)
                .await
                .unwrap()
                .into_iter()
                .find(|r| r.status != "running")
        }
    })
    .await;
    assert_eq!(
        (run.status.as_str(), run.approved_by.as_str()),
        ("succeeded", "lee@example.com")
    );
    keep_screenshot(&mut b, "approver-ran-step").await;

    // Every change is in the audit log with its person.
    let audit = store.audit_log(50).await.unwrap();
    for (actor, action) in [
        ("vic@example.com", "portal.denied"),
        ("ana@example.com", "incident.acknowledge"),
        ("ana@example.com", "incident.assign"),
        ("ben@example.com", "incident.mitigate"),
        ("ben@example.com", "incident.resolve"),
        ("lee@example.com", "remediation.approve"),
    ] {
        assert!(
            audit.iter().any(|e| e.actor == actor && e.action == action),
            "no {action} by {actor} in {audit:#?}"
        );
    }
}
