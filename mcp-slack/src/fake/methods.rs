//! The Web API methods the fake implements, each over the world and its
//! arguments, answering the JSON body or Slack's error code.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::http::*;
use super::world::{Channel, User, World, insert_message};
use super::{BOT_ID, BOT_USER_ID, TEAM_ID};

pub(super) fn channel_json(c: &Channel) -> Value {
    json!({
        "id": c.id, "name": c.name, "name_normalized": c.name,
        "is_channel": !c.is_private, "is_group": c.is_private, "is_im": false, "is_mpim": false,
        "is_private": c.is_private, "is_archived": false, "is_general": c.name == "general",
        "is_member": c.is_member, "created": 1_700_000_000, "creator": "U0CAROL001",
        "num_members": 12,
        "topic": {"value": c.topic, "creator": "U0CAROL001", "last_set": 1_700_000_000},
        "purpose": {"value": "", "creator": "", "last_set": 0},
    })
}

pub(super) fn user_json(u: &User) -> Value {
    json!({
        "id": u.id, "team_id": TEAM_ID, "name": u.name, "deleted": false,
        "real_name": u.real_name, "tz": u.tz, "tz_label": "Central European Time", "tz_offset": 3600,
        "is_admin": false, "is_owner": false, "is_bot": u.is_bot, "is_app_user": false,
        "updated": 1_700_000_000,
        "profile": {
            "title": u.title, "real_name": u.real_name, "real_name_normalized": u.real_name,
            "display_name": u.display_name, "display_name_normalized": u.display_name,
            "email": if u.email.is_empty() { Value::Null } else { json!(u.email) },
            "status_text": "", "status_emoji": "", "team": TEAM_ID,
        },
    })
}

/// A channel the bot may read or post to, or the error Slack gives.
pub(super) fn member_channel(w: &World, args: &Map<String, Value>) -> Result<String, &'static str> {
    let Some(id) = arg_str(args, "channel") else {
        return Err("channel_not_found");
    };
    let c = w.channel(id).ok_or("channel_not_found")?;
    if !c.is_member {
        return Err("not_in_channel");
    }
    Ok(c.id.clone())
}

pub(super) fn validate_content(
    args: &Map<String, Value>,
) -> Result<(String, Option<Vec<Value>>), &'static str> {
    let text = arg_str(args, "text").unwrap_or_default().to_string();
    let blocks = arg_json_array(args, "blocks").map_err(|()| "invalid_blocks_format")?;
    if let Some(b) = &blocks
        && (b.len() > 50
            || b.iter()
                .any(|x| x.get("type").and_then(Value::as_str).is_none()))
    {
        return Err("invalid_blocks");
    }
    if text.is_empty()
        && blocks.as_ref().is_none_or(Vec::is_empty)
        && args.get("attachments").is_none()
    {
        return Err("no_text");
    }
    if text.chars().count() > 40_000 {
        return Err("msg_too_long");
    }
    Ok((text, blocks))
}

pub(super) fn post_message(
    w: &mut World,
    args: &Map<String, Value>,
) -> Result<Value, &'static str> {
    let channel = member_channel(w, args)?;
    let (text, blocks) = validate_content(args)?;
    let thread_ts = arg_str(args, "thread_ts").map(str::to_string);
    if let Some(t) = &thread_ts
        && !w.messages.get(&channel).is_some_and(|m| m.contains_key(t))
    {
        return Err("invalid_thread_ts");
    }
    let ts = w.new_ts();
    let mut msg = json!({
        "type": "message", "ts": ts, "text": text, "user": BOT_USER_ID, "bot_id": BOT_ID,
        "app_id": "A0FAKEAPP1", "team": TEAM_ID,
        "bot_profile": {"id": BOT_ID, "name": "sre-agent", "app_id": "A0FAKEAPP1", "deleted": false, "team_id": TEAM_ID, "updated": 1_700_000_000},
    });
    if let Some(b) = blocks {
        msg["blocks"] = Value::Array(b);
    }
    if let Some(m) = message_metadata(args)? {
        msg["metadata"] = m;
    }
    insert_message(
        w,
        &channel,
        msg.clone(),
        thread_ts.as_deref(),
        arg_bool(args, "reply_broadcast"),
    );
    let stored = w
        .messages
        .get(&channel)
        .and_then(|m| m.get(&ts))
        .cloned()
        .unwrap_or(msg);
    Ok(json!({"channel": channel, "ts": ts, "message": stored}))
}

/// `chat.postMessage`'s `metadata`: `{event_type, event_payload}`, as JSON
/// or a JSON string (form posts).
pub(super) fn message_metadata(args: &Map<String, Value>) -> Result<Option<Value>, &'static str> {
    let m = match args.get("metadata") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => serde_json::from_str(s).map_err(|_| "invalid_metadata_format")?,
        Some(v) => v.clone(),
    };
    if !m["event_type"].is_string() || !m["event_payload"].is_object() {
        return Err("invalid_metadata_format");
    }
    Ok(Some(m))
}

/// Slack returns message metadata only to callers asking for it.
pub(super) fn strip_metadata(messages: &mut [Value], args: &Map<String, Value>) {
    if !arg_bool(args, "include_all_metadata") {
        for m in messages {
            if let Some(o) = m.as_object_mut() {
                o.remove("metadata");
            }
        }
    }
}

/// `views.open`: a modal needs a trigger, a title and blocks.
pub(super) fn open_view(w: &mut World, args: &Map<String, Value>) -> Result<Value, &'static str> {
    let trigger = arg_str(args, "trigger_id").ok_or("invalid_arguments")?;
    if trigger.is_empty() {
        return Err("invalid_trigger_id");
    }
    let view = match args.get("view") {
        Some(Value::String(s)) => serde_json::from_str(s).map_err(|_| "invalid_arguments")?,
        Some(v @ Value::Object(_)) => v.clone(),
        _ => return Err("invalid_arguments"),
    };
    if view["type"] != json!("modal") || !view["title"].is_object() || !view["blocks"].is_array() {
        return Err("invalid_arguments");
    }
    let id = format!("V{:09}", w.views.len() + 1);
    let mut recorded = view.clone();
    recorded["trigger_id"] = json!(trigger);
    w.views.push(recorded);
    let mut out = view;
    out["id"] = json!(id);
    out["team_id"] = json!(TEAM_ID);
    Ok(json!({"view": out}))
}

pub(super) fn update_message(
    w: &mut World,
    args: &Map<String, Value>,
) -> Result<Value, &'static str> {
    let channel = member_channel(w, args)?;
    let ts = arg_str(args, "ts").ok_or("message_not_found")?.to_string();
    let (text, blocks) = validate_content(args)?;
    let msg = w
        .messages
        .get_mut(&channel)
        .and_then(|m| m.get_mut(&ts))
        .ok_or("message_not_found")?;
    if msg["bot_id"] != json!(BOT_ID) {
        return Err("cant_update_message");
    }
    msg["text"] = json!(text);
    match blocks {
        Some(b) => msg["blocks"] = Value::Array(b),
        None => {
            if let Some(o) = msg.as_object_mut() {
                o.remove("blocks");
            }
        }
    }
    msg["edited"] = json!({"user": BOT_USER_ID, "ts": ts});
    let message = msg.clone();
    Ok(json!({"channel": channel, "ts": ts, "text": text, "message": message}))
}

pub(super) fn in_window(ts: &str, args: &Map<String, Value>) -> bool {
    let inclusive = arg_bool(args, "inclusive");
    let after = arg_str(args, "oldest").is_none_or(|o| match ts_cmp(ts, o) {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Equal => inclusive,
        std::cmp::Ordering::Less => false,
    });
    let before = arg_str(args, "latest").is_none_or(|l| match ts_cmp(ts, l) {
        std::cmp::Ordering::Less => true,
        std::cmp::Ordering::Equal => inclusive,
        std::cmp::Ordering::Greater => false,
    });
    after && before
}

pub(super) fn history(w: &mut World, args: &Map<String, Value>) -> Result<Value, &'static str> {
    let channel = member_channel(w, args)?;
    let mut top: Vec<Value> = w
        .messages
        .get(&channel)
        .map(|m| {
            m.values()
                .filter(|v| {
                    let ts = v["ts"].as_str().unwrap_or_default();
                    let reply = v["thread_ts"].as_str().is_some_and(|t| t != ts);
                    (!reply || v["subtype"] == json!("thread_broadcast")) && in_window(ts, args)
                })
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    top.sort_by(|a, b| {
        ts_cmp(
            b["ts"].as_str().unwrap_or_default(),
            a["ts"].as_str().unwrap_or_default(),
        )
    });
    let (mut messages, next, more) =
        paginate(top, args, 100, 999).map_err(|()| "invalid_cursor")?;
    strip_metadata(&mut messages, args);
    Ok(json!({
        "messages": messages, "has_more": more, "pin_count": 0,
        "response_metadata": {"next_cursor": next},
    }))
}

pub(super) fn replies(w: &mut World, args: &Map<String, Value>) -> Result<Value, &'static str> {
    let channel = member_channel(w, args)?;
    let given = arg_str(args, "ts").ok_or("thread_not_found")?.to_string();
    let msgs = w.messages.get(&channel).ok_or("thread_not_found")?;
    // `ts` may be the parent or any reply: Slack returns the whole thread.
    let ts = msgs
        .get(&given)
        .and_then(|m| m["thread_ts"].as_str())
        .map_or(given.clone(), str::to_string);
    let parent = msgs.get(&ts).ok_or("thread_not_found")?;
    let mut thread = vec![parent.clone()];
    thread.extend(
        msgs.values()
            .filter(|v| {
                v["thread_ts"].as_str() == Some(ts.as_str())
                    && v["ts"].as_str() != Some(ts.as_str())
            })
            .cloned(),
    );
    thread.retain(|v| {
        in_window(v["ts"].as_str().unwrap_or_default(), args)
            || v["ts"].as_str() == Some(ts.as_str())
    });
    let (mut messages, next, more) =
        paginate(thread, args, 1000, 1000).map_err(|()| "invalid_cursor")?;
    strip_metadata(&mut messages, args);
    Ok(json!({"messages": messages, "has_more": more, "response_metadata": {"next_cursor": next}}))
}

pub(super) fn list_channels(
    w: &mut World,
    args: &Map<String, Value>,
) -> Result<Value, &'static str> {
    let types = arg_str(args, "types")
        .unwrap_or("public_channel")
        .to_string();
    let all: Vec<Value> = w
        .channels
        .iter()
        .filter(|c| {
            (c.is_private && types.contains("private_channel") && c.is_member)
                || (!c.is_private && types.contains("public_channel"))
        })
        .map(channel_json)
        .collect();
    let (channels, next, _) = paginate(all, args, 100, 1000).map_err(|()| "invalid_cursor")?;
    Ok(json!({"channels": channels, "response_metadata": {"next_cursor": next}}))
}

pub(super) fn add_reaction(
    w: &mut World,
    args: &Map<String, Value>,
) -> Result<Value, &'static str> {
    let channel = member_channel(w, args)?;
    let ts = arg_str(args, "timestamp")
        .ok_or("message_not_found")?
        .to_string();
    let name = arg_str(args, "name").ok_or("invalid_name")?.to_string();
    if name.contains(':') || name.contains(' ') {
        return Err("invalid_name");
    }
    let msg = w
        .messages
        .get_mut(&channel)
        .and_then(|m| m.get_mut(&ts))
        .ok_or("message_not_found")?;
    let reactions = msg
        .as_object_mut()
        .ok_or("message_not_found")?
        .entry("reactions")
        .or_insert_with(|| json!([]));
    let list = reactions.as_array_mut().ok_or("message_not_found")?;
    if let Some(r) = list.iter_mut().find(|r| r["name"] == json!(name)) {
        if r["users"]
            .as_array()
            .is_some_and(|u| u.contains(&json!(BOT_USER_ID)))
        {
            return Err("already_reacted");
        }
        let count = r["count"].as_u64().unwrap_or(0) + 1;
        r["count"] = json!(count);
        if let Some(u) = r["users"].as_array_mut() {
            u.push(json!(BOT_USER_ID));
        }
    } else {
        list.push(json!({"name": name, "users": [BOT_USER_ID], "count": 1}));
    }
    Ok(json!({}))
}

pub(super) fn search(w: &mut World, args: &Map<String, Value>) -> Result<Value, &'static str> {
    let query = arg_str(args, "query").ok_or("no_query")?.to_string();
    let mut terms = Vec::new();
    let mut in_channel = None;
    for word in query.split_whitespace() {
        if let Some(c) = word.strip_prefix("in:") {
            in_channel = Some(c.trim_start_matches('#').to_string());
        } else {
            terms.push(word.to_lowercase());
        }
    }
    let mut matches = Vec::new();
    for c in &w.channels {
        if in_channel
            .as_deref()
            .is_some_and(|n| n != c.name && n != c.id)
        {
            continue;
        }
        for m in w.messages.get(&c.id).into_iter().flat_map(BTreeMap::values) {
            let mut haystack = m["text"].as_str().unwrap_or_default().to_lowercase();
            haystack.push(' ');
            haystack.push_str(&m["attachments"].to_string().to_lowercase());
            if terms.iter().all(|t| haystack.contains(t)) {
                let ts = m["ts"].as_str().unwrap_or_default();
                let user = m["user"].as_str().map(str::to_string);
                let username = user
                    .as_deref()
                    .and_then(|u| w.users.iter().find(|x| x.id == u))
                    .map(|u| u.name.clone())
                    .or_else(|| m["username"].as_str().map(str::to_string));
                matches.push(json!({
                    "type": "message", "ts": ts, "text": m["text"], "user": user, "username": username,
                    "channel": {"id": c.id, "name": c.name, "is_private": c.is_private},
                    "permalink": format!("https://fake.slack.com/archives/{}/p{}", c.id, ts.replace('.', "")),
                }));
            }
        }
    }
    matches.sort_by(|a, b| {
        ts_cmp(
            b["ts"].as_str().unwrap_or_default(),
            a["ts"].as_str().unwrap_or_default(),
        )
    });
    let total = matches.len();
    let count = arg_usize(args, "count").unwrap_or(20).clamp(1, 100);
    let page = arg_usize(args, "page").unwrap_or(1).max(1);
    let start = ((page - 1) * count).min(total);
    let end = (start + count).min(total);
    let pages = total.div_ceil(count).max(1);
    Ok(json!({
        "query": query,
        "messages": {
            "total": total,
            "matches": matches[start..end],
            "paging": {"count": count, "total": total, "page": page, "pages": pages},
            "pagination": {"total_count": total, "page": page, "per_page": count, "page_count": pages, "first": start + 1, "last": end},
        },
    }))
}
