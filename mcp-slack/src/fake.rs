//! A fake of the Slack Web API methods this crate uses, for tests (feature
//! `fake`).
//!
//! No usable fake exists on the registries, so this one is written from
//! Slack's public method docs (api.slack.com/methods). It is an axum server
//! on `127.0.0.1`, port 0, serving `POST|GET /api/{method}` the way Slack
//! does:
//!
//! * arguments from the query string, a JSON body or a form body;
//! * `Authorization: Bearer <token>` (or a `token` argument) checked on
//!   every call: none is `not_authed`, a wrong one `invalid_auth`, and
//!   `search.messages` with the bot token is `not_allowed_token_type`;
//! * replies with HTTP 200 and `{"ok": false, "error": "…"}` for API errors
//!   (`channel_not_found`, `not_in_channel`, `thread_not_found`,
//!   `invalid_thread_ts`,
//!   `message_not_found`, `cant_update_message`, `already_reacted`,
//!   `user_not_found`, `users_not_found`, `invalid_blocks`, `no_text`,
//!   `msg_too_long`, `unknown_method`);
//! * message `ts` values like `1732400000.000100`, strictly increasing;
//! * cursor pagination: `limit` and `cursor` in, `response_metadata.next_cursor`
//!   out (an empty string on the last page, as Slack does);
//! * scriptable failures: [`FakeSlack::rate_limit`] answers HTTP 429 with a
//!   `Retry-After` header and `{"ok":false,"error":"ratelimited"}`, and
//!   [`FakeSlack::fail_next`] makes the next call to a method fail with a
//!   given error code;
//! * a record of every call ([`FakeSlack::calls`]) so tests can assert on
//!   what was posted;
//! * Socket Mode: `apps.connections.open` with the app-level token
//!   ([`APP_TOKEN`]) and the WebSocket endpoint its URL points at, which
//!   sends `hello`, lets the test push `events_api`, `slash_commands` and
//!   `interactive` envelopes and `disconnect` messages, and records the
//!   client's acknowledgements (see [`socket_mode`]);
//! * message metadata (`chat.postMessage`'s `metadata`, returned by
//!   `conversations.history`/`replies` only with `include_all_metadata`),
//!   `views.open` (modals, recorded: [`FakeSlack::views`]) and
//!   `usergroups.users.list` ([`FakeSlack::add_usergroup`]).
//!
//! The seeded workspace ([`FakeSlack::start`]) has an `#alerts-prod` channel
//! with an Alertmanager alert and a thread under it, an `#incidents`
//! channel, a `#random` channel the bot is not in, a private `#secret-ops`,
//! and a few users. Everything can be added to with the `add_*` methods.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

/// The bot token the fake accepts.
pub const BOT_TOKEN: &str = "xoxb-0000000000-fake-bot-token";
/// The user token the fake accepts.
pub const USER_TOKEN: &str = "xoxp-0000000000-fake-user-token";
/// The bot's user ID.
pub const BOT_USER_ID: &str = "U0BOT00001";
/// The bot's bot ID.
pub const BOT_ID: &str = "B0BOT00001";
/// Team ID of the fake workspace.
pub const TEAM_ID: &str = "T0FAKE0001";
/// The app-level token (`xapp-…`, scope `connections:write`) the fake
/// accepts for `apps.connections.open`.
pub const APP_TOKEN: &str = "xapp-1-A0FAKEAPP1-0000000000-fake-app-token";
/// The app's ID.
pub const APP_ID: &str = "A0FAKEAPP1";

pub mod socket_mode;

pub use socket_mode::{SocketConnection, SocketReply};

/// One call the fake received.
#[derive(Debug, Clone)]
pub struct RecordedCall {
    /// `GET` or `POST`.
    pub http_method: String,
    /// The Web API method, e.g. `chat.postMessage`.
    pub method: String,
    /// The token presented, if any.
    pub token: Option<String>,
    /// The arguments, merged from the query string and the body.
    pub args: Map<String, Value>,
    /// The HTTP status answered.
    pub status: u16,
    /// The `error` answered, if any.
    pub error: Option<String>,
}

#[derive(Debug, Clone)]
struct Channel {
    id: String,
    name: String,
    is_private: bool,
    is_member: bool,
    topic: String,
}

#[derive(Debug, Clone)]
struct User {
    id: String,
    name: String,
    real_name: String,
    display_name: String,
    email: String,
    title: String,
    tz: String,
    is_bot: bool,
}

#[derive(Debug, Default)]
struct Scripted {
    /// Per method: how many more 429s to answer, and the Retry-After.
    rate_limits: HashMap<String, (u32, u64)>,
    /// Per method: errors to answer next, in order.
    failures: HashMap<String, VecDeque<String>>,
    /// Per method: most items per page, whatever `limit` asks (Slack may
    /// return fewer items than asked).
    page_caps: HashMap<String, usize>,
}

#[derive(Debug)]
struct World {
    /// Where the fake listens (for the Socket Mode URLs it hands out).
    addr: SocketAddr,
    channels: Vec<Channel>,
    users: Vec<User>,
    /// Per channel: every message (top level and replies), by ts.
    messages: HashMap<String, BTreeMap<String, Value>>,
    next_ts: (u64, u32),
    calls: Vec<RecordedCall>,
    scripted: Scripted,
    socket: socket_mode::SocketWorld,
    /// User groups (`S…`) and their member user IDs.
    usergroups: HashMap<String, Vec<String>>,
    /// Every view opened with `views.open`, as sent.
    views: Vec<Value>,
}

impl World {
    fn new_ts(&mut self) -> String {
        let (secs, micros) = self.next_ts;
        self.next_ts = (secs + 1, micros);
        format!("{secs}.{micros:06}")
    }

    fn channel(&self, id_or_name: &str) -> Option<&Channel> {
        let key = id_or_name.trim_start_matches('#');
        self.channels.iter().find(|c| c.id == key || c.name == key)
    }
}

/// A running fake Slack Web API.
#[derive(Clone)]
pub struct FakeSlack {
    addr: SocketAddr,
    world: Arc<Mutex<World>>,
    stop: CancellationToken,
}

impl std::fmt::Debug for FakeSlack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeSlack")
            .field("addr", &self.addr)
            .finish()
    }
}

/// A message to seed with [`FakeSlack::add_message`].
#[derive(Debug, Clone, Default)]
pub struct SeedMessage {
    /// Author user ID (or none for a bot message with `username`).
    pub user: Option<String>,
    /// Bot ID for bot messages.
    pub bot_id: Option<String>,
    /// Display name for bot messages (e.g. `alertmanager`).
    pub username: Option<String>,
    /// Text.
    pub text: String,
    /// Thread parent ts, for a reply.
    pub thread_ts: Option<String>,
    /// Legacy attachments, as Slack stores them.
    pub attachments: Option<Value>,
    /// Blocks.
    pub blocks: Option<Value>,
}

impl FakeSlack {
    /// Starts the fake with the seeded workspace on 127.0.0.1, port 0.
    pub async fn start() -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let fake = Self {
            addr,
            world: Arc::new(Mutex::new(World {
                addr,
                channels: Vec::new(),
                users: Vec::new(),
                messages: HashMap::new(),
                next_ts: (1_732_400_000, 100),
                calls: Vec::new(),
                scripted: Scripted::default(),
                socket: socket_mode::SocketWorld::default(),
                usergroups: HashMap::new(),
                views: Vec::new(),
            })),
            stop: CancellationToken::new(),
        };
        fake.seed();
        let router = Router::new()
            .route("/api/{method}", any(handle))
            .route("/link/", get(socket_mode::upgrade))
            .with_state(fake.clone());
        let stop = fake.stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await;
        });
        Ok(fake)
    }

    /// The Web API base URL, `http://127.0.0.1:PORT/api/`.
    pub fn api_url(&self) -> String {
        format!("http://{}/api/", self.addr)
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops serving.
    pub fn stop(&self) {
        self.stop.cancel();
    }

    fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn seed(&self) {
        for (id, name, private, member, topic) in [
            (
                "C0ALERTS01",
                "alerts-prod",
                false,
                true,
                "Prometheus alerts for prod",
            ),
            (
                "C0INCIDENT",
                "incidents",
                false,
                true,
                "Incident coordination",
            ),
            ("C0RANDOM01", "random", false, false, "Anything"),
            ("G0SECRET01", "secret-ops", true, true, "Private"),
        ] {
            self.add_channel(id, name, private, member, topic);
        }
        for (id, name, real, email, title, bot) in [
            (
                "U0ALICE001",
                "alice",
                "Alice Ops",
                "alice@example.com",
                "SRE",
                false,
            ),
            (
                "U0BOB00001",
                "bob",
                "Bob Dev",
                "bob@example.com",
                "Backend engineer",
                false,
            ),
            (
                "U0CAROL001",
                "carol",
                "Carol Lead",
                "carol@example.com",
                "Eng manager",
                false,
            ),
            (BOT_USER_ID, "sre-agent", "SRE Agent", "", "", true),
        ] {
            self.add_user(id, name, real, email, title, bot);
        }
        let alert = self.add_message(
            "C0ALERTS01",
            SeedMessage {
                bot_id: Some("B0ALERTMGR".into()),
                username: Some("alertmanager".into()),
                attachments: Some(json!([{
                    "color": "danger",
                    "fallback": "[FIRING:1] KubePodCrashLooping checkout (prod critical)",
                    "title": "[FIRING:1] KubePodCrashLooping checkout-7d9f8b6c5-x2x9z (prod critical)",
                    "title_link": "http://alertmanager.example.com/#/alerts?receiver=slack",
                    "text": "*Alert:* Pod is crash looping - `critical`\n*Description:* Pod prod/checkout-7d9f8b6c5-x2x9z is restarting 2.5 times / 10 minutes.",
                    "mrkdwn_in": ["fallback", "pretext", "text"]
                }])),
                ..Default::default()
            },
        );
        for (user, text) in [
            ("U0ALICE001", "looking, checkout pods are OOMKilled"),
            (
                "U0BOB00001",
                "deployed checkout v2.14 at 02:55, could be related",
            ),
        ] {
            self.add_message(
                "C0ALERTS01",
                SeedMessage {
                    user: Some(user.into()),
                    text: text.into(),
                    thread_ts: Some(alert.clone()),
                    ..Default::default()
                },
            );
        }
        self.add_message(
            "C0INCIDENT",
            SeedMessage {
                user: Some("U0CAROL001".into()),
                text: "Declaring SEV2 for checkout errors. <@U0ALICE001> is IC.".into(),
                ..Default::default()
            },
        );
        self.add_message(
            "G0SECRET01",
            SeedMessage {
                user: Some("U0CAROL001".into()),
                text: "private checkout discussion".into(),
                ..Default::default()
            },
        );
    }

    /// Adds a channel.
    pub fn add_channel(
        &self,
        id: &str,
        name: &str,
        is_private: bool,
        is_member: bool,
        topic: &str,
    ) {
        let mut w = self.world();
        w.channels.push(Channel {
            id: id.into(),
            name: name.into(),
            is_private,
            is_member,
            topic: topic.into(),
        });
        w.messages.entry(id.into()).or_default();
    }

    /// Adds a user.
    pub fn add_user(
        &self,
        id: &str,
        name: &str,
        real_name: &str,
        email: &str,
        title: &str,
        is_bot: bool,
    ) {
        self.world().users.push(User {
            id: id.into(),
            name: name.into(),
            real_name: real_name.into(),
            display_name: name.into(),
            email: email.into(),
            title: title.into(),
            tz: "Europe/Berlin".into(),
            is_bot,
        });
    }

    /// Adds a message to a channel and returns its ts.
    pub fn add_message(&self, channel: &str, m: SeedMessage) -> String {
        let mut w = self.world();
        let ts = w.new_ts();
        let mut msg = json!({"type": "message", "ts": ts, "text": m.text});
        if let Some(u) = m.user {
            msg["user"] = json!(u);
        }
        if let Some(b) = m.bot_id {
            msg["bot_id"] = json!(b);
            msg["subtype"] = json!("bot_message");
        }
        if let Some(u) = m.username {
            msg["username"] = json!(u);
        }
        if let Some(a) = m.attachments {
            msg["attachments"] = a;
        }
        if let Some(b) = m.blocks {
            msg["blocks"] = b;
        }
        insert_message(&mut w, channel, msg, m.thread_ts.as_deref(), false);
        ts
    }

    /// Makes the next `times` calls to `method` answer HTTP 429 with
    /// `Retry-After: retry_after_secs`.
    pub fn rate_limit(&self, method: &str, times: u32, retry_after_secs: u64) {
        self.world()
            .scripted
            .rate_limits
            .insert(method.into(), (times, retry_after_secs));
    }

    /// Makes the next call to `method` fail with `error`.
    pub fn fail_next(&self, method: &str, error: &str) {
        self.world()
            .scripted
            .failures
            .entry(method.into())
            .or_default()
            .push_back(error.into());
    }

    /// Makes `method` return at most `n` items per page, whatever the
    /// caller's `limit` (Slack documents that it may return fewer).
    pub fn cap_page_size(&self, method: &str, n: usize) {
        self.world()
            .scripted
            .page_caps
            .insert(method.into(), n.max(1));
    }

    /// Every call received so far.
    pub fn calls(&self) -> Vec<RecordedCall> {
        self.world().calls.clone()
    }

    /// The calls to one method.
    pub fn calls_to(&self, method: &str) -> Vec<RecordedCall> {
        self.world()
            .calls
            .iter()
            .filter(|c| c.method == method)
            .cloned()
            .collect()
    }

    /// Adds a user group (`S…`) with its members, for
    /// `usergroups.users.list`.
    pub fn add_usergroup(&self, id: &str, members: &[&str]) {
        self.world()
            .usergroups
            .insert(id.into(), members.iter().map(|m| m.to_string()).collect());
    }

    /// Every view opened with `views.open` (the `view` argument as sent,
    /// plus the `trigger_id`), oldest first.
    pub fn views(&self) -> Vec<Value> {
        self.world().views.clone()
    }

    /// Every message of a channel (replies included), oldest first.
    pub fn messages(&self, channel: &str) -> Vec<Value> {
        self.world()
            .messages
            .get(channel)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }
}

fn insert_message(
    w: &mut World,
    channel: &str,
    mut msg: Value,
    thread_ts: Option<&str>,
    broadcast: bool,
) {
    let ts = msg["ts"].as_str().unwrap_or_default().to_string();
    let msgs = w.messages.entry(channel.into()).or_default();
    if let Some(parent_ts) = thread_ts {
        msg["thread_ts"] = json!(parent_ts);
        if broadcast {
            msg["subtype"] = json!("thread_broadcast");
        }
        if let Some(parent) = msgs.get_mut(parent_ts) {
            parent["thread_ts"] = json!(parent_ts);
            let count = parent["reply_count"].as_u64().unwrap_or(0) + 1;
            parent["reply_count"] = json!(count);
            parent["latest_reply"] = json!(ts);
            let user = msg["user"].clone();
            if let Some(users) = parent["reply_users"].as_array_mut() {
                if !users.contains(&user) {
                    users.push(user);
                }
            } else {
                parent["reply_users"] = json!([user]);
            }
            parent["reply_users_count"] =
                json!(parent["reply_users"].as_array().map_or(0, Vec::len));
        }
    }
    msgs.insert(ts, msg);
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

fn parse_args(
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

fn arg_str<'a>(args: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    args.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn arg_usize(args: &Map<String, Value>, key: &str) -> Option<usize> {
    match args.get(key)? {
        Value::Number(n) => n.as_u64().map(|n| n as usize),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn arg_bool(args: &Map<String, Value>, key: &str) -> bool {
    match args.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true" || s == "1",
        _ => false,
    }
}

/// A JSON array argument given as JSON or as a JSON string (form bodies).
fn arg_json_array(args: &Map<String, Value>, key: &str) -> Result<Option<Vec<Value>>, ()> {
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
const PAGE_CAP: &str = "\u{0}page_cap";

fn cursor_encode(offset: usize) -> String {
    hex::encode(format!("offset:{offset}"))
}

fn cursor_decode(cursor: Option<&str>) -> Result<usize, ()> {
    let Some(c) = cursor else { return Ok(0) };
    let bytes = hex::decode(c).map_err(|_| ())?;
    let text = String::from_utf8(bytes).map_err(|_| ())?;
    text.strip_prefix("offset:")
        .and_then(|n| n.parse().ok())
        .ok_or(())
}

/// Pages `items` per `limit`/`cursor`; `Err` is `invalid_cursor`.
fn paginate(
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

fn ok(body: Value) -> Response {
    let mut body = body;
    body["ok"] = json!(true);
    (StatusCode::OK, axum::Json(body)).into_response()
}

fn fail(error: &str) -> Response {
    (
        StatusCode::OK,
        axum::Json(json!({"ok": false, "error": error})),
    )
        .into_response()
}

fn ts_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let parse = |t: &str| {
        let (s, m) = t.split_once('.').unwrap_or((t, "0"));
        (s.parse::<u64>().unwrap_or(0), m.parse::<u64>().unwrap_or(0))
    };
    parse(a).cmp(&parse(b))
}

async fn handle(
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

fn dispatch(
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
        "search.messages" if !is_user => Err("not_allowed_token_type"),
        "search.messages" => search(w, args),
        _ => Err("unknown_method"),
    };
    match result {
        Ok(body) => (ok(body), None),
        Err(e) => error(e),
    }
}

fn channel_json(c: &Channel) -> Value {
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

fn user_json(u: &User) -> Value {
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
fn member_channel(w: &World, args: &Map<String, Value>) -> Result<String, &'static str> {
    let Some(id) = arg_str(args, "channel") else {
        return Err("channel_not_found");
    };
    let c = w.channel(id).ok_or("channel_not_found")?;
    if !c.is_member {
        return Err("not_in_channel");
    }
    Ok(c.id.clone())
}

fn validate_content(
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

fn post_message(w: &mut World, args: &Map<String, Value>) -> Result<Value, &'static str> {
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
fn message_metadata(args: &Map<String, Value>) -> Result<Option<Value>, &'static str> {
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
fn strip_metadata(messages: &mut [Value], args: &Map<String, Value>) {
    if !arg_bool(args, "include_all_metadata") {
        for m in messages {
            if let Some(o) = m.as_object_mut() {
                o.remove("metadata");
            }
        }
    }
}

/// `views.open`: a modal needs a trigger, a title and blocks.
fn open_view(w: &mut World, args: &Map<String, Value>) -> Result<Value, &'static str> {
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

fn update_message(w: &mut World, args: &Map<String, Value>) -> Result<Value, &'static str> {
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

fn in_window(ts: &str, args: &Map<String, Value>) -> bool {
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

fn history(w: &mut World, args: &Map<String, Value>) -> Result<Value, &'static str> {
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

fn replies(w: &mut World, args: &Map<String, Value>) -> Result<Value, &'static str> {
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

fn list_channels(w: &mut World, args: &Map<String, Value>) -> Result<Value, &'static str> {
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

fn add_reaction(w: &mut World, args: &Map<String, Value>) -> Result<Value, &'static str> {
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

fn search(w: &mut World, args: &Map<String, Value>) -> Result<Value, &'static str> {
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
