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
//!   `usergroups.users.list` ([`FakeSlack::add_usergroup`]);
//! * file uploads in Slack's three steps (`files.getUploadURLExternal`, the
//!   upload URL, `files.completeUploadExternal`; see [`files`]), the bytes
//!   kept for the test ([`FakeSlack::file`]).
//!
//! The seeded workspace ([`FakeSlack::start`]) has an `#alerts-prod` channel
//! with an Alertmanager alert and a thread under it, an `#incidents`
//! channel, a `#random` channel the bot is not in, a private `#secret-ops`,
//! and a few users. Everything can be added to with the `add_*` methods.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::routing::{any, get, post};
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

pub mod files;
mod http;
mod methods;
mod seed;
pub mod socket_mode;
mod world;

use self::http::handle;
use self::world::{Channel, Scripted, User, World, insert_message};

pub use files::UploadedFile;
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
                files: HashMap::new(),
                next_file: 0,
            })),
            stop: CancellationToken::new(),
        };
        fake.seed();
        let router = Router::new()
            .route("/api/{method}", any(handle))
            .route("/link/", get(socket_mode::upgrade))
            .route("/upload/v1/{id}", post(files::upload))
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
