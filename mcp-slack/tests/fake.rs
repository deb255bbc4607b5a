//! The fake Slack Web API itself, over raw HTTP: form bodies, auth errors,
//! cursors, 429s — what the bot's tests will rely on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mcp_slack::fake::{self, FakeSlack};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One HTTP/1.1 request; returns the status, the raw head and the JSON body.
async fn raw(
    fake: &FakeSlack,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, Value) {
    let mut stream = tokio::net::TcpStream::connect(fake.addr()).await.unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).await.unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (
        status,
        head.to_string(),
        serde_json::from_str(body).unwrap(),
    )
}

const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

#[tokio::test]
async fn form_bodies_and_token_arguments_work_like_slack() {
    let fake = FakeSlack::start().await.unwrap();
    let blocks = serde_urlencoded::to_string([("blocks", r#"[{"type":"divider"}]"#)]).unwrap();
    let body = format!(
        "token={}&channel=C0INCIDENT&text=hello%20there&{blocks}",
        fake::BOT_TOKEN
    );
    let (status, _, v) = raw(&fake, "POST", "/api/chat.postMessage", &[FORM], &body).await;
    assert_eq!(status, 200);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["channel"], "C0INCIDENT");
    assert_eq!(v["message"]["text"], "hello there");
    assert_eq!(v["message"]["blocks"][0]["type"], "divider");
    let ts = v["ts"].as_str().unwrap();
    assert!(ts.len() == 17 && ts.as_bytes()[10] == b'.', "{ts}");
    // ts values increase.
    let (_, _, v2) = raw(&fake, "POST", "/api/chat.postMessage", &[FORM], &body).await;
    assert!(v2["ts"].as_str().unwrap() > ts);
    let call = &fake.calls_to("chat.postMessage")[0];
    assert_eq!(call.token.as_deref(), Some(fake::BOT_TOKEN));
    assert!(
        !call.args.contains_key("token"),
        "the token is not an argument"
    );
}

#[tokio::test]
async fn auth_errors() {
    let fake = FakeSlack::start().await.unwrap();
    let (status, _, v) = raw(&fake, "GET", "/api/conversations.list", &[], "").await;
    assert_eq!(
        (status, v["ok"].clone(), v["error"].clone()),
        (200, false.into(), "not_authed".into())
    );
    let (_, _, v) = raw(
        &fake,
        "GET",
        "/api/conversations.list",
        &[("authorization", "Bearer xoxb-nope")],
        "",
    )
    .await;
    assert_eq!(v["error"], "invalid_auth");
    let bot = format!("Bearer {}", fake::BOT_TOKEN);
    let (_, _, v) = raw(
        &fake,
        "GET",
        "/api/search.messages?query=x",
        &[("authorization", &bot)],
        "",
    )
    .await;
    assert_eq!(v["error"], "not_allowed_token_type");
    let (_, _, v) = raw(
        &fake,
        "POST",
        "/api/chat.postMessage",
        &[("authorization", &bot), FORM],
        "channel=C0RANDOM01&text=x",
    )
    .await;
    assert_eq!(v["error"], "not_in_channel");
    let (_, _, v) = raw(
        &fake,
        "POST",
        "/api/chat.postMessage",
        &[("authorization", &bot), FORM],
        "channel=C0NOPE0000&text=x",
    )
    .await;
    assert_eq!(v["error"], "channel_not_found");
    let (_, _, v) = raw(
        &fake,
        "POST",
        "/api/chat.postMessage",
        &[("authorization", &bot), FORM],
        "channel=C0INCIDENT",
    )
    .await;
    assert_eq!(v["error"], "no_text");
    let (_, _, v) = raw(
        &fake,
        "GET",
        "/api/nope.nope",
        &[("authorization", &bot)],
        "",
    )
    .await;
    assert_eq!(v["error"], "unknown_method");
}

#[tokio::test]
async fn cursors_page_through_and_end_with_an_empty_cursor() {
    let fake = FakeSlack::start().await.unwrap();
    let bot = format!("Bearer {}", fake::BOT_TOKEN);
    let mut cursor = String::new();
    let mut seen = Vec::new();
    for _ in 0..10 {
        let path = format!("/api/users.list?limit=3&cursor={cursor}");
        let (_, _, v) = raw(&fake, "GET", &path, &[("authorization", &bot)], "").await;
        seen.extend(
            v["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["id"].as_str().unwrap().to_string()),
        );
        cursor = v["response_metadata"]["next_cursor"]
            .as_str()
            .unwrap()
            .to_string();
        if cursor.is_empty() {
            break;
        }
    }
    assert_eq!(
        seen,
        ["U0ALICE001", "U0BOB00001", "U0CAROL001", fake::BOT_USER_ID]
    );
    let (_, _, v) = raw(
        &fake,
        "GET",
        "/api/users.list?cursor=garbage",
        &[("authorization", &bot)],
        "",
    )
    .await;
    assert_eq!(v["error"], "invalid_cursor");
}

#[tokio::test]
async fn scripted_429_carries_retry_after() {
    let fake = FakeSlack::start().await.unwrap();
    fake.rate_limit("conversations.history", 1, 7);
    let bot = format!("Bearer {}", fake::BOT_TOKEN);
    let path = "/api/conversations.history?channel=C0INCIDENT";
    let (status, head, v) = raw(&fake, "GET", path, &[("authorization", &bot)], "").await;
    assert_eq!(status, 429);
    assert!(
        head.to_ascii_lowercase().contains("retry-after: 7"),
        "{head}"
    );
    assert_eq!(v["error"], "ratelimited");
    let (status, _, v) = raw(&fake, "GET", path, &[("authorization", &bot)], "").await;
    assert_eq!((status, v["ok"].clone()), (200, true.into()));
}

#[tokio::test]
async fn apps_connections_open_wants_the_app_token_and_post() {
    let fake = FakeSlack::start().await.unwrap();
    let app = format!("Bearer {}", fake::APP_TOKEN);
    let bot = format!("Bearer {}", fake::BOT_TOKEN);
    let (status, _, v) = raw(
        &fake,
        "POST",
        "/api/apps.connections.open",
        &[("authorization", &app)],
        "",
    )
    .await;
    assert_eq!((status, v["ok"].clone()), (200, true.into()), "{v}");
    let url = v["url"].as_str().unwrap();
    let prefix = format!("ws://{}/link/?ticket=", fake.addr());
    assert!(url.starts_with(&prefix), "{url}");
    assert!(url.ends_with("&app_id=A0FAKEAPP1"), "{url}");
    for (method, auth, error) in [
        ("POST", Some(bot.as_str()), "not_allowed_token_type"),
        ("POST", Some("Bearer xapp-1-nope"), "invalid_auth"),
        ("POST", None, "not_authed"),
        ("GET", Some(app.as_str()), "insecure_request"),
    ] {
        let headers: Vec<(&str, &str)> = auth.map(|a| ("authorization", a)).into_iter().collect();
        let (status, _, v) = raw(&fake, method, "/api/apps.connections.open", &headers, "").await;
        assert_eq!(
            (status, v["ok"].clone(), v["error"].clone()),
            (200, false.into(), error.into()),
            "{method} {auth:?}"
        );
    }
    // The app token is good for nothing else.
    let (_, _, v) = raw(
        &fake,
        "POST",
        "/api/chat.postMessage",
        &[("authorization", &app), FORM],
        "channel=C0INCIDENT&text=hi",
    )
    .await;
    assert_eq!(v["error"], "not_allowed_token_type", "{v}");
}

/// The status of a WebSocket handshake to `path` (nothing else is read).
async fn upgrade_status(fake: &FakeSlack, path: &str, handshake: bool) -> u16 {
    let mut stream = tokio::net::TcpStream::connect(fake.addr()).await.unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    if handshake {
        req.push_str(
            "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
        );
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    head.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn socket_mode_urls_are_single_use() {
    let fake = FakeSlack::start().await.unwrap();
    let app = format!("Bearer {}", fake::APP_TOKEN);
    let (_, _, v) = raw(
        &fake,
        "POST",
        "/api/apps.connections.open",
        &[("authorization", &app)],
        "",
    )
    .await;
    let url = v["url"].as_str().unwrap();
    let path = url.strip_prefix(&format!("ws://{}", fake.addr())).unwrap();
    // Not a handshake: refused, and the ticket is not used up.
    assert!((400..500).contains(&upgrade_status(&fake, path, false).await));
    assert_eq!(upgrade_status(&fake, path, true).await, 101);
    assert_eq!(upgrade_status(&fake, path, true).await, 401, "reused");
    assert_eq!(
        upgrade_status(&fake, "/link/?ticket=made-up&app_id=A0FAKEAPP1", true).await,
        401
    );
    assert_eq!(fake.socket_refused().len(), 2);
    let conns = fake
        .wait_until(std::time::Duration::from_secs(5), |f| {
            Some(f.socket_connections()).filter(|c| !c.is_empty())
        })
        .await
        .unwrap();
    assert_eq!(conns.len(), 1);
    assert_eq!(conns[0].query, path.trim_start_matches("/link/?"));
}

#[tokio::test]
async fn metadata_modals_and_user_groups_work_like_slack() {
    let fake = FakeSlack::start().await.unwrap();
    let auth = format!("Bearer {}", fake::BOT_TOKEN);
    let json = |v: Value| v.to_string();
    let hdrs = [
        ("content-type", "application/json"),
        ("authorization", auth.as_str()),
    ];
    // Message metadata: kept, returned only with include_all_metadata.
    let meta = serde_json::json!({"event_type": "sre_agent_incident", "event_payload": {"incident_id": 7}});
    let (_, _, v) = raw(
        &fake,
        "POST",
        "/api/chat.postMessage",
        &hdrs,
        &json(serde_json::json!({"channel": "C0INCIDENT", "text": "x", "metadata": meta})),
    )
    .await;
    assert_eq!(v["ok"], true, "{v}");
    let (_, _, v) = raw(
        &fake,
        "POST",
        "/api/chat.postMessage",
        &hdrs,
        &json(serde_json::json!({"channel": "C0INCIDENT", "text": "x", "metadata": {"event_type": 3}})),
    )
    .await;
    assert_eq!(v["error"], "invalid_metadata_format", "{v}");
    let q = |all: bool| {
        format!(
            "/api/conversations.history?channel=C0INCIDENT{}",
            if all {
                "&include_all_metadata=true"
            } else {
                ""
            }
        )
    };
    let (_, _, plain) = raw(&fake, "GET", &q(false), &hdrs[1..], "").await;
    assert!(plain["messages"][0].get("metadata").is_none(), "{plain}");
    let (_, _, with) = raw(&fake, "GET", &q(true), &hdrs[1..], "").await;
    assert_eq!(with["messages"][0]["metadata"], meta, "{with}");
    // views.open: a modal needs a trigger, a title and blocks.
    let modal = serde_json::json!({"type": "modal", "title": {"type": "plain_text", "text": "t"}, "blocks": []});
    let (_, _, v) = raw(
        &fake,
        "POST",
        "/api/views.open",
        &hdrs,
        &json(serde_json::json!({"trigger_id": "1.2", "view": modal})),
    )
    .await;
    assert_eq!(v["ok"], true, "{v}");
    assert!(v["view"]["id"].as_str().unwrap().starts_with('V'));
    let (_, _, v) = raw(
        &fake,
        "POST",
        "/api/views.open",
        &hdrs,
        &json(serde_json::json!({"view": modal})),
    )
    .await;
    assert_eq!(v["error"], "invalid_arguments", "{v}");
    let (_, _, v) = raw(
        &fake,
        "POST",
        "/api/views.open",
        &hdrs,
        &json(serde_json::json!({"trigger_id": "1.2", "view": {"type": "home"}})),
    )
    .await;
    assert_eq!(v["error"], "invalid_arguments", "{v}");
    assert_eq!(fake.views().len(), 1);
    assert_eq!(fake.views()[0]["trigger_id"], "1.2");
    // usergroups.users.list.
    fake.add_usergroup("S0ONCALL01", &["U0ALICE001"]);
    let (_, _, v) = raw(
        &fake,
        "GET",
        "/api/usergroups.users.list?usergroup=S0ONCALL01",
        &hdrs[1..],
        "",
    )
    .await;
    assert_eq!(v["users"], serde_json::json!(["U0ALICE001"]), "{v}");
    let (_, _, v) = raw(
        &fake,
        "GET",
        "/api/usergroups.users.list?usergroup=S0NOPE",
        &hdrs[1..],
        "",
    )
    .await;
    assert_eq!(v["error"], "no_such_subteam", "{v}");
}

/// Files in Slack's three steps: an upload URL for a declared name and
/// length, the bytes POSTed to it without a token, then completion shares
/// them in a thread as one `file_share` message. Completing a file whose
/// bytes never came, or the same file twice, is `file_not_found`; a missing
/// length is `invalid_arguments`.
#[tokio::test]
async fn files_upload_in_three_steps_like_slack() {
    let fake = FakeSlack::start().await.unwrap();
    let auth = format!("Bearer {}", fake::BOT_TOKEN);
    let auth = ("authorization", auth.as_str());
    let (_, _, v) = raw(
        &fake,
        "GET",
        "/api/files.getUploadURLExternal?filename=path.png",
        &[auth],
        "",
    )
    .await;
    assert_eq!(v["error"], "invalid_arguments", "{v}");
    let (_, _, v) = raw(
        &fake,
        "GET",
        "/api/files.getUploadURLExternal?filename=path.png&length=4&alt_txt=the%20path",
        &[auth],
        "",
    )
    .await;
    assert_eq!(v["ok"], true, "{v}");
    let id = v["file_id"].as_str().unwrap().to_string();
    let url = v["upload_url"].as_str().unwrap();
    let path = url
        .split_once(&fake.addr().to_string())
        .unwrap()
        .1
        .to_string();

    // Not uploaded yet: nothing to complete.
    let complete = format!(
        r#"{{"files":[{{"id":"{id}","title":"Path"}}],"channel_id":"C0ALERTS01","initial_comment":"pictures"}}"#
    );
    let json = ("content-type", "application/json");
    let (_, _, v) = raw(
        &fake,
        "POST",
        "/api/files.completeUploadExternal",
        &[auth, json],
        &complete,
    )
    .await;
    assert_eq!(v["error"], "file_not_found", "{v}");

    // The bytes, without a token: the URL is the credential. Slack answers
    // in plain text, which `raw` cannot read as JSON, so read it by hand.
    let mut stream = tokio::net::TcpStream::connect(fake.addr()).await.unwrap();
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: image/png\r\nContent-Length: 4\r\n\r\nPNG!"
    );
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).await.unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.ends_with("OK - 4"), "{out}");

    let (_, _, v) = raw(
        &fake,
        "POST",
        "/api/files.completeUploadExternal",
        &[auth, json],
        &complete,
    )
    .await;
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["files"][0]["id"], id.as_str());
    let shared = fake
        .messages("C0ALERTS01")
        .into_iter()
        .find(|m| m["subtype"] == "file_share")
        .expect("a file_share message");
    assert_eq!(shared["text"], "pictures");
    assert_eq!(shared["files"][0]["title"], "Path");
    assert_eq!(shared["files"][0]["mimetype"], "image/png");
    let file = fake.file(&id).unwrap();
    assert_eq!(
        (file.bytes.as_slice(), file.alt_txt.as_deref()),
        (&b"PNG!"[..], Some("the path"))
    );
    // Once only.
    let (_, _, v) = raw(
        &fake,
        "POST",
        "/api/files.completeUploadExternal",
        &[auth, json],
        &complete,
    )
    .await;
    assert_eq!(v["error"], "file_not_found", "{v}");
}
