//! The MCP tools.
//!
//! Eight tools, four of them writes (hidden by the kit unless
//! `--allow-writes`). Every tool checks the channel allowlist; every write
//! also takes a slot from the per-channel rate limiter. Message text from
//! Slack is framed as untrusted data. Tools return `Result<String,
//! SlackError>`: a failure is an `isError` result whose text says what to do
//! (the kit's convention, see `mcp_kit`'s crate docs).

use std::sync::Arc;

use mcp_kit::rmcp::handler::server::router::tool::ToolRouter;
use mcp_kit::rmcp::handler::server::wrapper::Parameters;
use mcp_kit::rmcp::{tool, tool_router};
use mcp_kit::{KitServer, ServerDescription, untrusted};

use crate::api::{PostMessage, SlackApi, SlackApiConfig, TokenKind, UpdateMessage};
use crate::directory::{Channel, Directory, user_display_name};
use crate::error::SlackError;
use crate::format::{MessageView, mentioned_users, message_line, readable, ts_to_time};
use crate::policy::{ChannelAllowlist, WriteLimiter};

/// What a tool returns: its text, or the error the host shows as an
/// `isError` result.
type Result<T, E = SlackError> = std::result::Result<T, E>;

mod args;

pub use self::args::{
    AddReactionArgs, ChannelHistoryArgs, GetUserArgs, ListChannelsArgs, PostMessageArgs,
    ReadThreadArgs, SearchArgs, UpdateMessageArgs, is_ts, parse_time,
};
use self::args::{check_blocks, check_ts};

/// Most messages `channel_history` returns.
pub const MAX_HISTORY: u32 = 200;
/// Most messages `read_thread` returns.
pub const MAX_THREAD: u32 = 500;
/// Slack's limit on blocks per message.
pub const MAX_BLOCKS: usize = 50;

/// How the server is set up.
#[derive(Debug, Clone)]
pub struct SlackServerConfig {
    /// The Web API client settings.
    pub api: SlackApiConfig,
    /// Channels tools may use: names, IDs, or `*`.
    pub allowed_channels: Vec<String>,
    /// Writes per channel per minute.
    pub writes_per_minute: u32,
}

/// The Slack MCP server.
#[derive(Clone)]
pub struct SlackServer {
    inner: Arc<Inner>,
}

struct Inner {
    dir: Directory,
    allow: ChannelAllowlist,
    limiter: WriteLimiter,
    /// Whether the cache warm-up was started (on the first tool call that
    /// needs Slack, never at start-up).
    warm_started: std::sync::atomic::AtomicBool,
}

impl SlackServer {
    /// A server; contacts nothing.
    pub fn new(config: SlackServerConfig) -> Self {
        let api = SlackApi::new(config.api);
        Self {
            inner: Arc::new(Inner {
                dir: Directory::new(api),
                allow: ChannelAllowlist::new(&config.allowed_channels),
                limiter: WriteLimiter::per_minute(config.writes_per_minute),
                warm_started: std::sync::atomic::AtomicBool::new(false),
            }),
        }
    }

    /// The caches (e.g. to warm them in the background).
    pub fn directory(&self) -> &Directory {
        &self.inner.dir
    }

    fn api(&self) -> &SlackApi {
        self.inner.dir.api()
    }

    /// Starts warming the caches in the background, if a bot token is set
    /// and it was not started yet. Returns at once. The binary does not call
    /// this at start-up (a server touches no backend before the first tool
    /// call); the first tool call that needs Slack does.
    pub fn spawn_warm_up(&self) {
        use std::sync::atomic::Ordering;
        if self.api().has_bot_token() && !self.inner.warm_started.swap(true, Ordering::SeqCst) {
            tokio::spawn(self.inner.dir.clone().warm());
        }
    }

    fn name_of(&self) -> impl Fn(&str) -> Option<String> + '_ {
        |id: &str| self.inner.dir.cached_user_name(id)
    }

    /// Checks that the token `kind` is configured, then starts the cache
    /// warm-up: what every tool does before it talks to Slack.
    fn ready(&self, kind: TokenKind) -> Result<()> {
        self.api().require_token(kind)?;
        self.spawn_warm_up();
        Ok(())
    }

    /// The channel allowlist, unless it is empty; `hint` ends the error as
    /// each tool has always worded it.
    fn allowlist(&self, hint: &'static str) -> Result<&ChannelAllowlist> {
        let allow = &self.inner.allow;
        if allow.is_empty() {
            return Err(SlackError::NoChannelAllowed { hint });
        }
        Ok(allow)
    }

    /// Resolves a channel reference and checks the allowlist.
    async fn channel(&self, reference: &str) -> Result<Channel> {
        self.ready(TokenKind::Bot)?;
        let allow = self.allowlist(" (names or IDs, comma-separated, or `*` for all)")?;
        let key = crate::policy::normalise_channel(reference);
        if key.is_empty() {
            return Err(SlackError::BadArgument("`channel` is empty".into()));
        }
        let found = match self.inner.dir.resolve_channel(&key).await {
            Ok(c) => c,
            // An ID on the allowlist needs no listing; go on without a name.
            Err(_) if allow.allows_id(&key) => Some(Channel {
                id: key.clone(),
                name: None,
                is_private: false,
                is_member: true,
                topic: String::new(),
                members: None,
            }),
            Err(e) => return Err(e),
        };
        let Some(channel) = found else {
            return Err(SlackError::ChannelNotVisible {
                reference: reference.to_string(),
            });
        };
        if !allow.allows(&channel.id, channel.name.as_deref()) {
            return Err(SlackError::ChannelNotAllowed {
                channel: channel.label(),
                allowlist: allow.describe(),
            });
        }
        Ok(channel)
    }

    /// Resolves a channel for a write and takes a slot of its rate limit.
    async fn writable(&self, reference: &str) -> Result<Channel> {
        let channel = self.channel(reference).await?;
        if let Err(wait) = self.inner.limiter.try_acquire(&channel.id) {
            return Err(SlackError::WriteRateLimited {
                channel: channel.label(),
                limit: self.inner.limiter.limit(),
                wait_s: wait.as_secs().max(1),
            });
        }
        Ok(channel)
    }

    /// Names for every author and mention in `views`.
    async fn learn_names(&self, views: &[MessageView]) {
        let mut ids: Vec<String> = Vec::new();
        for v in views {
            ids.extend(v.user.clone());
            ids.extend(mentioned_users(&v.text));
        }
        self.inner
            .dir
            .ensure_users(ids.iter().map(String::as_str))
            .await;
    }

    fn lines(&self, views: &[MessageView], prefix_replies: Option<&str>) -> String {
        let name_of = self.name_of();
        views
            .iter()
            .map(|v| {
                let line = message_line(v, &name_of);
                match prefix_replies {
                    Some(parent) if v.ts != parent => format!("  ↳ {line}"),
                    _ => line,
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[tool_router]
impl SlackServer {
    /// Tool: a channel's messages.
    #[tool(
        description = "Messages of a channel, oldest first, one line each: ts, time, author, text, reply count. Page back with `before`.",
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    pub async fn channel_history(
        &self,
        Parameters(args): Parameters<ChannelHistoryArgs>,
    ) -> Result<String> {
        let channel = self.channel(&args.channel).await?;
        let now = jiff::Timestamp::now();
        let oldest = args
            .since
            .as_deref()
            .map(|s| parse_time("since", s, now))
            .transpose()?;
        let latest = args
            .before
            .as_deref()
            .map(|s| parse_time("before", s, now))
            .transpose()?;
        let limit = args.limit.unwrap_or(50).clamp(1, MAX_HISTORY) as usize;
        let (id, since, until) = (&channel.id, oldest.as_deref(), latest.as_deref());
        let (messages, more) = self
            .api()
            .collect(limit, |api, cursor| async move {
                api.history_page(id, since, until, limit.min(200) as u16, cursor.as_deref())
                    .await
                    .map(|(page, _)| page)
            })
            .await?;
        let more = more || messages.len() > limit;
        let mut views: Vec<MessageView> = messages
            .iter()
            .take(limit)
            .filter_map(|m| serde_json::to_value(m).ok())
            .map(|v| MessageView::from_json(&v))
            .collect();
        views.reverse(); // oldest first
        self.learn_names(&views).await;
        let mut out = format!(
            "{}: {} message(s), oldest first{}{}. Columns: ts, time (UTC), author, text, (thread replies).\n",
            channel.label(),
            views.len(),
            oldest
                .as_deref()
                .map(|t| format!(", since {}", ts_to_time(t)))
                .unwrap_or_default(),
            latest
                .as_deref()
                .map(|t| format!(", before {}", ts_to_time(t)))
                .unwrap_or_default(),
        );
        if views.is_empty() {
            out.push_str("No messages in this window.");
            return Ok(out);
        }
        let label = format!("slack messages in {}", channel.label());
        out.push_str(&untrusted::frame(&label, &self.lines(&views, None)));
        if more && let Some(first) = views.first() {
            out.push_str(&format!(
                "\nOlder messages exist: call again with before=\"{}\" to page back.",
                first.ts
            ));
        }
        Ok(out)
    }

    /// Tool: a thread.
    #[tool(
        description = "A thread: the parent message and its replies, one line each.",
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    pub async fn read_thread(
        &self,
        Parameters(args): Parameters<ReadThreadArgs>,
    ) -> Result<String> {
        let channel = self.channel(&args.channel).await?;
        let ts = check_ts("ts", &args.ts)?;
        let limit = args.limit.unwrap_or(100).clamp(1, MAX_THREAD) as usize;
        let (id, parent_ts) = (&channel.id, &ts);
        let (messages, more) = self
            .api()
            .collect(limit, |api, cursor| async move {
                api.replies_page(id, parent_ts, limit.min(200) as u16, cursor.as_deref())
                    .await
            })
            .await?;
        let more = more || messages.len() > limit;
        let views: Vec<MessageView> = messages
            .iter()
            .take(limit)
            .filter_map(|m| serde_json::to_value(m).ok())
            .map(|v| MessageView::from_json(&v))
            .collect();
        self.learn_names(&views).await;
        let parent = views.first().map(|v| v.ts.clone()).unwrap_or(ts);
        let mut out = format!(
            "Thread {parent} in {}: {} message(s) (parent first, replies marked ↳).\n",
            channel.label(),
            views.len()
        );
        let label = format!("slack thread {parent} in {}", channel.label());
        out.push_str(&untrusted::frame(
            &label,
            &self.lines(&views, Some(&parent)),
        ));
        if more {
            out.push_str(&format!(
                "\n[thread cut at {limit} messages; call again with a larger limit (max {MAX_THREAD})]"
            ));
        }
        Ok(out)
    }

    /// Tool: search messages (user token).
    #[tool(
        description = "Search messages with Slack's search syntax (needs a user token). Only allowed channels are shown.",
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    pub async fn search_messages(
        &self,
        Parameters(args): Parameters<SearchArgs>,
    ) -> Result<String> {
        self.ready(TokenKind::User)?;
        self.allowlist("")?;
        let query = args.query.trim();
        if query.is_empty() {
            return Err(SlackError::BadArgument("`query` is empty".into()));
        }
        let limit = args.limit.unwrap_or(20).clamp(1, 100);
        let result = self.api().search_messages(query, limit as u16).await?;
        let total = result.messages.total;
        let (allowed, hidden): (Vec<_>, Vec<_>) =
            result.messages.matches.into_iter().partition(|m| {
                let name = m
                    .channel
                    .name
                    .clone()
                    .or_else(|| self.inner.dir.cached_channel_name(&m.channel.id));
                self.inner.allow.allows(&m.channel.id, name.as_deref())
            });
        let views: Vec<(String, MessageView)> = allowed
            .iter()
            .map(|m| {
                let chan = m
                    .channel
                    .name
                    .as_ref()
                    .map(|n| format!("#{n}"))
                    .unwrap_or_else(|| m.channel.id.clone());
                (
                    chan,
                    MessageView {
                        ts: m.ts.clone(),
                        user: m.user.clone(),
                        username: m.username.clone(),
                        text: m.text.clone(),
                        reply_count: 0,
                        thread_ts: None,
                    },
                )
            })
            .collect();
        let just_views: Vec<MessageView> = views.iter().map(|(_, v)| v.clone()).collect();
        self.learn_names(&just_views).await;
        let mut out = format!(
            "Search `{query}`: {} match(es) shown from allowed channels ({total} in the workspace",
            views.len()
        );
        if !hidden.is_empty() {
            out.push_str(&format!(
                "; {} on this page hidden: their channels are outside the allowlist",
                hidden.len()
            ));
        }
        out.push_str("). Columns: channel, ts, time, author, text.\n");
        if views.is_empty() {
            out.push_str("No matches.");
            return Ok(out);
        }
        let name_of = self.name_of();
        let body = views
            .iter()
            .map(|(chan, v)| format!("{chan} {}", message_line(v, &name_of)))
            .collect::<Vec<_>>()
            .join("\n");
        out.push_str(&untrusted::frame("slack search results", &body));
        Ok(out)
    }

    /// Tool: the usable channels.
    #[tool(
        description = "Channels this server may use, with IDs, membership and topics.",
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    pub async fn list_channels(
        &self,
        Parameters(args): Parameters<ListChannelsArgs>,
    ) -> Result<String> {
        self.ready(TokenKind::Bot)?;
        let allow = self.allowlist(" (names or IDs, or `*` for all)")?;
        let filter = args
            .filter
            .as_deref()
            .map(|f| f.trim().trim_start_matches('#').to_lowercase());
        let channels = self.inner.dir.channels().await?;
        let shown: Vec<&Channel> = channels
            .iter()
            .filter(|c| allow.allows(&c.id, c.name.as_deref()))
            .filter(|c| {
                filter.as_deref().is_none_or(|f| {
                    c.name
                        .as_deref()
                        .is_some_and(|n| n.to_lowercase().contains(f))
                })
            })
            .collect();
        let mut out = format!(
            "{} channel(s) usable by this server (allowlist: {}). Columns: channel, visibility, app membership, members, topic.\n",
            shown.len(),
            allow.describe()
        );
        let lines: Vec<String> = shown
            .iter()
            .map(|c| {
                format!(
                    "{} {} {} {} {}",
                    c.label(),
                    if c.is_private { "private" } else { "public" },
                    if c.is_member {
                        "member"
                    } else {
                        "not-member(invite the app to read/post)"
                    },
                    c.members
                        .map(|m| format!("{m} members"))
                        .unwrap_or_else(|| "? members".into()),
                    readable(&c.topic.replace('\n', " "), &|_| None)
                )
                .trim_end()
                .to_string()
            })
            .collect();
        if lines.is_empty() {
            out.push_str("None: no channel the app can see matches the allowlist and filter.");
        } else {
            out.push_str(&untrusted::frame("slack channel list", &lines.join("\n")));
        }
        Ok(out)
    }

    /// Tool: look up a user.
    #[tool(
        description = "Look up a user by ID, name or email: names, title, time zone, status.",
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    pub async fn get_user(&self, Parameters(args): Parameters<GetUserArgs>) -> Result<String> {
        self.ready(TokenKind::Bot)?;
        let q = args.user.trim();
        let q = q
            .strip_prefix("<@")
            .and_then(|r| r.strip_suffix('>'))
            .map(|r| r.split('|').next().unwrap_or(r))
            .unwrap_or(q);
        if q.is_empty() {
            return Err(SlackError::BadArgument("`user` is empty".into()));
        }
        let is_id = q.len() >= 9
            && q.starts_with(['U', 'W', 'B'])
            && q.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        let users = if is_id {
            vec![self.api().user_info(q).await?]
        } else if q.contains('@') && !q.starts_with('@') && q.contains('.') {
            vec![self.api().user_by_email(q).await?]
        } else {
            self.inner.dir.find_users_by_name(q).await?
        };
        if users.is_empty() {
            return Err(SlackError::NoSuchUser {
                query: q.to_string(),
            });
        }
        let lines: Vec<String> = users
            .iter()
            .take(10)
            .map(|u| {
                self.inner.dir.remember_user(u);
                let p = u.profile.as_ref();
                let mut fields = vec![
                    format!("id={}", u.id.0),
                    format!("name=@{}", user_display_name(u)),
                ];
                if let Some(h) = &u.name {
                    fields.push(format!("handle={h}"));
                }
                if let Some(r) = u
                    .real_name
                    .clone()
                    .or_else(|| p.and_then(|p| p.real_name.clone()))
                {
                    fields.push(format!("real_name=\"{r}\""));
                }
                if let Some(t) = p.and_then(|p| p.title.clone()).filter(|t| !t.is_empty()) {
                    fields.push(format!("title=\"{t}\""));
                }
                if let Some(tz) = &u.tz {
                    fields.push(format!("tz={tz}"));
                }
                if let Some(s) = p
                    .and_then(|p| p.status_text.clone())
                    .filter(|s| !s.is_empty())
                {
                    fields.push(format!("status=\"{s}\""));
                }
                if u.flags.is_bot == Some(true) {
                    fields.push("bot".into());
                }
                if u.deleted == Some(true) {
                    fields.push("deactivated".into());
                }
                fields.join(" ")
            })
            .collect();
        Ok(untrusted::frame("slack user profile", &lines.join("\n")))
    }

    /// Tool (write): post or reply.
    #[tool(
        description = "Post a message (text, optional Block Kit blocks); with `thread_ts`, reply in that thread.",
        annotations(read_only_hint = false, destructive_hint = false, open_world_hint = true)
    )]
    pub async fn post_message(
        &self,
        Parameters(args): Parameters<PostMessageArgs>,
    ) -> Result<String> {
        if args.text.trim().is_empty() {
            return Err(SlackError::BadArgument(
                "`text` must not be empty (with blocks it is the notification fallback)".into(),
            ));
        }
        if let Some(b) = &args.blocks {
            check_blocks(b)?;
        }
        let thread_ts = args
            .thread_ts
            .as_deref()
            .map(|t| check_ts("thread_ts", t))
            .transpose()?;
        let channel = self.writable(&args.channel).await?;
        let req = PostMessage {
            channel: channel.id.clone(),
            text: args.text,
            blocks: args.blocks,
            thread_ts: thread_ts.clone(),
            reply_broadcast: args.reply_broadcast.filter(|b| *b && thread_ts.is_some()),
            unfurl_links: false,
            metadata: None,
        };
        let posted = self.api().post_message(&req).await?;
        Ok(match thread_ts {
            Some(t) => format!(
                "Replied in thread {t} in {}: ts={}",
                channel.label(),
                posted.ts
            ),
            None => format!("Posted to {}: ts={}", channel.label(), posted.ts),
        })
    }

    /// Tool (write): update a message.
    #[tool(
        description = "Replace the text (and blocks) of a message this app posted.",
        annotations(read_only_hint = false, destructive_hint = true, open_world_hint = true)
    )]
    pub async fn update_message(
        &self,
        Parameters(args): Parameters<UpdateMessageArgs>,
    ) -> Result<String> {
        if args.text.trim().is_empty() {
            return Err(SlackError::BadArgument("`text` must not be empty".into()));
        }
        if let Some(b) = &args.blocks {
            check_blocks(b)?;
        }
        let ts = check_ts("ts", &args.ts)?;
        let channel = self.writable(&args.channel).await?;
        let req = UpdateMessage {
            channel: channel.id.clone(),
            ts: ts.clone(),
            text: args.text,
            blocks: args.blocks,
        };
        self.api().update_message(&req).await?;
        Ok(format!("Updated message {ts} in {}", channel.label()))
    }

    /// Tool (write): add a reaction.
    #[tool(
        description = "Add an emoji reaction to a message.",
        annotations(read_only_hint = false, destructive_hint = false, open_world_hint = true)
    )]
    pub async fn add_reaction(
        &self,
        Parameters(args): Parameters<AddReactionArgs>,
    ) -> Result<String> {
        let ts = check_ts("ts", &args.ts)?;
        let name = args.name.trim().trim_matches(':').to_string();
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(SlackError::BadArgument(
                "`name` must be an emoji name like `eyes` (no spaces)".into(),
            ));
        }
        let channel = self.writable(&args.channel).await?;
        self.api().add_reaction(&channel.id, &ts, &name).await?;
        Ok(format!("Added :{name}: to {ts} in {}", channel.label()))
    }
}

impl KitServer for SlackServer {
    fn tools() -> ToolRouter<Self> {
        Self::tool_router()
    }

    fn description() -> ServerDescription {
        ServerDescription {
            name: "mcp-slack",
            version: env!("CARGO_PKG_VERSION"),
            instructions: "Slack for incident work. Channels are given by name (`incidents`) or ID; \
only channels on this server's allowlist can be read or written (list_channels shows them). \
Every message line starts with its ts: pass it as `ts`/`thread_ts` to read_thread, post_message \
(thread replies), update_message and add_reaction. Writes are rate-limited per channel.",
        }
    }
}
