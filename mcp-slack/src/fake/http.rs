//! The HTTP side of the fake: authentication, arguments from the query
//! string or a JSON or form body, cursors and pages, and the dispatch from a
//! Web API method name to its implementation in `methods`.

use std::collections::VecDeque;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::methods::*;
use super::world::World;
use super::{APP_TOKEN, BOT_TOKEN, BOT_USER_ID, TEAM_ID, USER_TOKEN, socket_mode};
use super::{FakeSlack, RecordedCall};

pub(super) fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

pub(super) fn parse_args(
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Map<String, Value>, String> {
    let mut args = Map::new();
    if let Some(q) = query {
        for (k, v) in
            serde_urlencoded::from_str::<Vec<(String, String)>>(q).map_err(|e| e.to_string())?
        {
            args.insert(k, Value::String(v));
        }
    }
    if body.is_empty() {
        return Ok(args);
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.starts_with("application/json") {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => args.extend(map),
            _ => return Err("invalid_json".into()),
        }
    } else {
        for (k, v) in serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
            .map_err(|_| "invalid_form_data".to_string())?
        {
            args.insert(k, Value::String(v));
        }
    }
    Ok(args)
}

pub(super) fn arg_str<'a>(args: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    args.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

pub(super) fn arg_usize(args: &Map<String, Value>, key: &str) -> Option<usize> {
    match args.get(key)? {
        Value::Number(n) => n.as_u64().map(|n| n as usize),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

pub(super) fn arg_bool(args: &Map<String, Value>, key: &str) -> bool {
    match args.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true" || s == "1",
        _ => false,
    }
}

/// A JSON array argument given as JSON or as a JSON string (form bodies).
pub(super) fn arg_json_array(
    args: &Map<String, Value>,
    key: &str,
) -> Result<Option<Vec<Value>>, ()> {
    match args.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => Ok(Some(a.clone())),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Array(a)) => Ok(Some(a)),
            _ => Err(()),
        },
        Some(_) => Err(()),
    }
}

/// Internal argument carrying a scripted page cap.
pub(super) const PAGE_CAP: &str = "\u{0}page_cap";

pub(super) fn cursor_encode(offset: usize) -> String {
    hex::encode(format!("offset:{offset}"))
}

pub(super) fn cursor_decode(cursor: Option<&str>) -> Result<usize, ()> {
    let Some(c) = cursor else { return Ok(0) };
    let bytes = hex::decode(c).map_err(|_| ())?;
    let text = String::from_utf8(bytes).map_err(|_| ())?;
    text.strip_prefix("offset:")
        .and_then(|n| n.parse().ok())
        .ok_or(())
}

/// Pages `items` per `limit`/`cursor`; `Err` is `invalid_cursor`.
pub(super) fn paginate(
    items: Vec<Value>,
    args: &Map<String, Value>,
    default_limit: usize,
    max_limit: usize,
) -> Result<(Vec<Value>, String, bool), ()> {
    let cap = args
        .get(PAGE_CAP)
        .and_then(Value::as_u64)
        .map_or(usize::MAX, |c| c as usize);
    let limit = arg_usize(args, "limit")
        .filter(|l| *l > 0)
        .unwrap_or(default_limit)
        .min(max_limit)
        .min(cap);
    let offset = cursor_decode(arg_str(args, "cursor"))?;
    if offset > items.len() {
        return Err(());
    }
    let end = (offset + limit).min(items.len());
    let more = end < items.len();
    let next = if more {
        cursor_encode(end)
    } else {
        String::new()
    };
    Ok((items[offset..end].to_vec(), next, more))
}

pub(super) fn ok(body: Value) -> Response {
    let mut body = body;
    body["ok"] = json!(true);
    (StatusCode::OK, axum::Json(body)).into_response()
}

pub(super) fn fail(error: &str) -> Response {
    (
        StatusCode::OK,
        axum::Json(json!({"ok": false, "error": error})),
    )
        .into_response()
}

pub(super) fn ts_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let parse = |t: &str| {
        let (s, m) = t.split_once('.').unwrap_or((t, "0"));
        (s.parse::<u64>().unwrap_or(0), m.parse::<u64>().unwrap_or(0))
    };
    parse(a).cmp(&parse(b))
}

pub(super) async fn handle(
    State(fake): State<FakeSlack>,
    Path(method): Path<String>,
    http_method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let args = parse_args(query.as_deref(), &headers, &body);
    let token = bearer(&headers).or_else(|| {
        args.as_ref()
            .ok()
            .and_then(|a| arg_str(a, "token").map(str::to_string))
    });
    let mut args = args.unwrap_or_default();
    args.remove("token");
    let mut w = fake.world();
    let mut effective = args.clone();
    if let Some(cap) = w.scripted.page_caps.get(&method) {
        effective.insert(PAGE_CAP.into(), json!(cap));
    }
    let response = dispatch(&mut w, &method, &http_method, token.as_deref(), &effective);
    let error = response.1.clone();
    w.calls.push(RecordedCall {
        http_method: http_method.to_string(),
        method,
        token,
        args,
        status: response.0.status().as_u16(),
        error,
    });
    response.0
}

pub(super) fn dispatch(
    w: &mut World,
    method: &str,
    http_method: &Method,
    token: Option<&str>,
    args: &Map<String, Value>,
) -> (Response, Option<String>) {
    if let Some((left, retry_after)) = w.scripted.rate_limits.get_mut(method)
        && *left > 0
    {
        *left -= 1;
        let mut r = (
            StatusCode::TOO_MANY_REQUESTS,
            axum::Json(json!({"ok": false, "error": "ratelimited"})),
        )
            .into_response();
        if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return (r, Some("ratelimited".into()));
    }
    let error = |e: &str| (fail(e), Some(e.to_string()));
    let Some(token) = token else {
        return error("not_authed");
    };
    let (is_user, is_app) = match token {
        BOT_TOKEN => (false, false),
        USER_TOKEN => (true, false),
        APP_TOKEN => (false, true),
        _ => return error("invalid_auth"),
    };
    // An app-level token is good for apps.connections.open only, and that
    // method takes nothing else.
    if is_app != (method == "apps.connections.open") {
        return error("not_allowed_token_type");
    }
    if let Some(e) = w
        .scripted
        .failures
        .get_mut(method)
        .and_then(VecDeque::pop_front)
    {
        return error(&e);
    }
    let result = match method {
        "auth.test" => Ok(json!({
            "url": "https://fake.slack.com/", "team": "Fake", "team_id": TEAM_ID,
            "user": if is_user { "alice" } else { "sre-agent" },
            "user_id": if is_user { "U0ALICE001" } else { BOT_USER_ID },
        })),
        // Slack documents `insecure_request` for anything but POST.
        "apps.connections.open" if http_method != Method::POST => Err("insecure_request"),
        "apps.connections.open" => Ok(socket_mode::open(w)),
        "chat.postMessage" => post_message(w, args),
        "chat.update" => update_message(w, args),
        "conversations.history" => history(w, args),
        "conversations.replies" => replies(w, args),
        "conversations.list" => list_channels(w, args),
        "conversations.info" => match arg_str(args, "channel").and_then(|c| w.channel(c)) {
            Some(c) => Ok(json!({"channel": channel_json(c)})),
            None => Err("channel_not_found"),
        },
        "reactions.add" => add_reaction(w, args),
        "users.info" => {
            match arg_str(args, "user").and_then(|u| w.users.iter().find(|x| x.id == u)) {
                Some(u) => Ok(json!({"user": user_json(u)})),
                None => Err("user_not_found"),
            }
        }
        "users.lookupByEmail" => match arg_str(args, "email").and_then(|e| {
            w.users
                .iter()
                .find(|x| !x.email.is_empty() && x.email.eq_ignore_ascii_case(e))
        }) {
            Some(u) => Ok(json!({"user": user_json(u)})),
            None => Err("users_not_found"),
        },
        "users.list" => {
            let all: Vec<Value> = w.users.iter().map(user_json).collect();
            match paginate(all, args, 100, 1000) {
                Ok((members, next, _)) => {
                    Ok(json!({"members": members, "response_metadata": {"next_cursor": next}}))
                }
                Err(()) => Err("invalid_cursor"),
            }
        }
        "usergroups.users.list" => match arg_str(args, "usergroup") {
            None => Err("invalid_arguments"),
            Some(group) => match w.usergroups.get(group) {
                Some(users) => Ok(json!({"users": users})),
                None => Err("no_such_subteam"),
            },
        },
        "views.open" => open_view(w, args),
        "files.getUploadURLExternal" => super::files::get_upload_url(w, args),
        "files.completeUploadExternal" => super::files::complete_upload(w, args),
        "search.messages" if !is_user => Err("not_allowed_token_type"),
        "search.messages" => search(w, args),
        _ => Err("unknown_method"),
    };
    match result {
        Ok(body) => (ok(body), None),
        Err(e) => error(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        assert_eq!(cursor_decode(Some(&cursor_encode(42))), Ok(42));
        assert!(cursor_decode(Some("zz")).is_err());
        assert_eq!(cursor_decode(None), Ok(0));
    }

    #[test]
    fn ts_compare_is_numeric() {
        assert_eq!(
            ts_cmp("1732400001.000100", "1732400000.999999"),
            std::cmp::Ordering::Greater
        );
    }
}
