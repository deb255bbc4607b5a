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
