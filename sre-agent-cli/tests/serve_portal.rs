//! The portal in a real headless Chromium: the incident list, search, an
//! incident's page reached through a link taken from the list's DOM, the
//! token → cookie sign-in, HTML escaping, and a screenshot.
//!
//! Chromium comes from `scripts/setup-test-deps.sh` (Debian's `chromium`);
//! without it this test fails, saying so (`browser::chromium`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod browser;
mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use browser::{chromium, run_chromium};
use incident_store::{IncidentFilter, IncidentStatus, Store};
use support::{Server, http, wait_for};

const TOKEN: &str = "portal-test-token-123";

async fn dump_dom(url: String) -> String {
    tokio::task::spawn_blocking(move || run_chromium(&["--dump-dom".into(), url]))
        .await
        .unwrap()
}

async fn screenshot(url: String, file: PathBuf) {
    tokio::task::spawn_blocking(move || {
        run_chromium(&[
            format!("--screenshot={}", file.display()),
            // Tall enough for the page down to the timeline (pictures included).
            "--window-size=1280,3200".into(),
            "--hide-scrollbars".into(),
            url,
        ])
    })
    .await
    .unwrap();
}

/// The first `href="/incidents/N"` in a DOM dump.
fn first_incident_href(dom: &str) -> Option<String> {
    let start = dom.find("href=\"/incidents/")? + "href=\"".len();
    let end = dom[start..].find('"')? + start;
    Some(dom[start..end].to_string())
}

/// axe-core, as `scripts/setup-test-deps.sh` installs it from npm.
fn axe_source() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../.cache/npm/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "axe-core is not installed ({}: {e}): the portal's accessibility check needs it. \
             Run scripts/setup-test-deps.sh (npm ci of mcp-kit/conformance).",
            path.display()
        )
    })
}

/// Runs axe-core (every rule of WCAG 2 A/AA and best practices) on `html`
/// in headless Chromium and returns its violations as "rule (impact): help
/// × nodes". The page is saved to a file with axe appended; Chromium runs
/// it, and the result comes back in the dumped DOM.
async fn axe_violations(html: &str, axe: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("page.html");
    let runner = "<script>axe.run(document).then(function (r) {\
        document.body.setAttribute('data-axe', JSON.stringify(r.violations.map(function (v) {\
        return v.id + ' (' + v.impact + '): ' + v.help + ' × ' + v.nodes.length + ' ' +\
        v.nodes.map(function (n) { return n.target.join(' '); }).join(', '); })));\
        document.body.setAttribute('data-axe-done', 'yes'); });</script>";
    let page = html.replacen(
        "</body>",
        &format!("<script>{axe}</script>{runner}</body>"),
        1,
    );
    std::fs::write(&file, page).unwrap();
    let url = format!("file://{}", file.display());
    let dom = tokio::task::spawn_blocking(move || {
        run_chromium(&[
            "--virtual-time-budget=20000".into(),
            "--dump-dom".into(),
            url,
        ])
    })
    .await
    .unwrap();
    assert!(dom.contains(r#"data-axe-done="yes""#), "axe did not finish");
    let start = dom.find(r#"data-axe=""#).unwrap() + r#"data-axe=""#.len();
    let end = dom[start..].find('"').unwrap() + start;
    let json = dom[start..end]
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    serde_json::from_str(&json).unwrap()
}

/// The form fields of `dom` that name nothing a screen reader could read:
/// neither an `aria-label` nor a `<label>` around them (hidden inputs carry
/// no meaning for people).
fn unlabelled_fields(dom: &str) -> Vec<String> {
    let mut out = Vec::new();
    for tag in ["<input", "<select", "<textarea"] {
        for (at, _) in dom.match_indices(tag) {
            let end = dom[at..].find('>').map_or(dom.len(), |e| at + e + 1);
            let element = &dom[at..end];
            let in_label =
                dom[..at].rfind("<label").unwrap_or(0) > dom[..at].rfind("</label>").unwrap_or(0);
            if !element.contains("aria-label=")
                && !element.contains(r#"type="hidden""#)
                && !in_label
            {
                out.push(element.to_string());
            }
        }
    }
    out
}

fn write_runbook(dir: &Path) {
    std::fs::write(
        dir.join("oom.md"),
        "# OOMKilled pods\n\n## Symptoms\nPods restart with exit code 137.\n\n## Fix\n- Raise the memory limit\n```\nkubectl set resources deploy/cart --limits=memory=512Mi\n```\n",
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portal_in_headless_chromium() {
    let chromium = chromium();
    let dir = tempfile::tempdir().unwrap();
    let runbooks = dir.path().join("runbooks");
    std::fs::create_dir_all(&runbooks).unwrap();
    write_runbook(&runbooks);
    let db = format!("sqlite://{}", dir.path().join("sre.db").display());
    let server = Server::spawn(
        &support::serve_args(
            &db,
            &[
                "--portal-token",
                TOKEN,
                "--runbooks",
                &runbooks.display().to_string(),
                "--poll-ms",
                "100",
            ],
        ),
        &[],
    );
    let client = http();
    for (fp, name) in [
        ("portal-1", "checkout error rate above 5%"),
        ("portal-2", "<script>alert(1)</script> & friends"),
    ] {
        support::new_alert(&client, &server, fp, name).await;
    }
    let store = Store::connect(&db).await.unwrap();
    wait_for(
        "both incidents investigated",
        Duration::from_secs(90),
        || {
            let store = store.clone();
            async move {
                let all = store
                    .list_incidents(&IncidentFilter::default())
                    .await
                    .unwrap();
                (all.len() == 2 && all.iter().all(|i| i.status == IncidentStatus::Done))
                    .then_some(())
            }
        },
    )
    .await;

    // Without the token: the sign-in page, no data.
    let dom = dump_dom(server.url("/")).await;
    assert!(dom.contains("Sign in"), "{dom}");
    assert!(!dom.contains("checkout error rate"), "{dom}");
    let r = client.get(server.url("/")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = client
        .get(server.url("/"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // The list (?token= sets the cookie and redirects to the clean URL).
    let dom = dump_dom(server.url(&format!("/?token={TOKEN}"))).await;
    assert!(dom.contains("<h1>Incidents</h1>"), "{dom}");
    assert!(dom.contains("checkout error rate above 5%"), "{dom}");
    assert!(
        dom.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; friends"),
        "escaped alert name: {dom}"
    );
    assert!(
        !dom.contains("<script>alert(1)"),
        "unescaped HTML in the page"
    );

    // Keyboard and screen reader basics: a skip link to the content, and
    // every filter names what it filters.
    assert!(
        dom.contains(r##"<a class="skip" href="#content">Skip to content</a>"##),
        "{dom}"
    );
    assert!(dom.contains(r#"<main id="content">"#), "{dom}");
    assert_eq!(unlabelled_fields(&dom), Vec::<String>::new());

    // Filters.
    let dom = dump_dom(server.url(&format!("/?status=failed&token={TOKEN}"))).await;
    assert!(dom.contains("No incidents."), "{dom}");
    let dom = dump_dom(server.url(&format!(
        "/?status=done&category=resource&service=checkout&token={TOKEN}"
    )))
    .await;
    assert!(dom.contains("checkout error rate above 5%"), "{dom}");

    // Search, then follow the result's link.
    let dom = dump_dom(server.url(&format!("/search?q=cart&token={TOKEN}"))).await;
    assert!(dom.contains("result(s) for"), "{dom}");
    assert_eq!(unlabelled_fields(&dom), Vec::<String>::new());
    assert!(
        dom.to_lowercase().contains("<mark>cart</mark>"),
        "the words found are marked in the snippet: {dom}"
    );
    // Runbooks answer the same search, their matched words marked too.
    let found = dump_dom(server.url(&format!("/search?q=memory+limit&token={TOKEN}"))).await;
    assert!(found.contains("<h2>Runbooks</h2>"), "{found}");
    assert!(
        found.contains(r#"href="/runbooks/view?path=oom.md""#),
        "{found}"
    );
    assert!(
        found.to_lowercase().contains("<mark>memory</mark>"),
        "{found}"
    );
    let href = first_incident_href(&dom)
        .unwrap_or_else(|| panic!("no incident link in the search results: {dom}"));
    let detail = dump_dom(server.url(&format!("{href}?token={TOKEN}"))).await;
    for needle in [
        "Root cause analysis",
        "Evidence",
        "Timeline",
        "What to do",
        "Transcript",
        "Feedback",
        "cart",
    ] {
        assert!(
            detail.contains(needle),
            "{needle} missing from {href}: {detail}"
        );
    }
    // In the order an on-call engineer reads: the cause, what to do, the
    // evidence, the pictures, the timeline, the transcript.
    let at = |id: &str| {
        detail
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("no #{id} on {href}: {detail}"))
    };
    let order = [
        "rca",
        "remediation",
        "evidence",
        "pictures",
        "timeline",
        "transcript",
    ];
    for pair in order.windows(2) {
        assert!(at(pair[0]) < at(pair[1]), "{} after {}", pair[0], pair[1]);
    }
    // The pictures, as SVG the browser parsed: the call path with the cause
    // outlined, the error-rate chart, the timeline strip.
    for picture in ["call-path", "error-chart", "timeline-strip"] {
        let start = at(picture);
        let svg = &detail[detail[..start].rfind("<svg").expect("an svg element")..];
        assert!(svg.starts_with("<svg"), "#{picture} is not an svg");
    }
    assert!(
        detail.contains("class=\"hop cause\""),
        "no cause on the path: {detail}"
    );

    // Runbooks list and page.
    let dom = dump_dom(server.url(&format!("/runbooks?token={TOKEN}"))).await;
    assert!(dom.contains("OOMKilled pods"), "{dom}");
    let dom = dump_dom(server.url(&format!("/runbooks?q=exit+code&token={TOKEN}"))).await;
    assert!(
        dom.contains(r#"<a href="/runbooks/view?path=oom.md">OOMKilled pods</a> § Symptoms"#),
        "{dom}"
    );
    assert!(dom.contains("<mark>exit</mark>"), "{dom}");
    let dom = dump_dom(server.url(&format!("/runbooks/view?path=oom.md&token={TOKEN}"))).await;
    assert!(dom.contains("kubectl set resources"), "{dom}");
    let r = client
        .get(server.url("/runbooks/view?path=../sre.db"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "no escape from the runbooks folder");

    // A screenshot of the incident page.
    let png = dir.path().join("incident.png");
    screenshot(server.url(&format!("{href}?token={TOKEN}")), png.clone()).await;
    let bytes = std::fs::read(&png).unwrap_or_else(|e| {
        panic!(
            "no screenshot at {} ({e}); chromium: {}",
            png.display(),
            chromium.display()
        )
    });
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(
        bytes.len() > 20_000,
        "a near-empty screenshot ({} bytes)",
        bytes.len()
    );
    // Keep a copy for people to look at.
    let keep = support::root().join("target/serve-portal-incident.png");
    let _ = std::fs::copy(&png, &keep);

    // An automated accessibility check (axe-core) of each kind of page.
    let axe = axe_source();
    for path in [
        "/".to_string(),
        "/search?q=cart".to_string(),
        href.clone(),
        "/runbooks".to_string(),
        "/audit".to_string(),
    ] {
        let html = client
            .get(server.url(&path))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let violations = axe_violations(&html, &axe).await;
        assert!(violations.is_empty(), "{path}: {violations:#?}");
    }
}
