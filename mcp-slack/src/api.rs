//! The Slack Web API client: slack-morphism's hyper client, aimed at a
//! configurable base URL, with bounded `Retry-After` retries and cursor
//! pagination.
//!
//! slack-morphism's connector can target any base URL
//! (`with_slack_api_url`), so tests point it at the fake
//! ([`crate::fake`]) on `http://127.0.0.1:…/api`. Its own rate controller is
//! not used: it throttles proactively by method tier, which would slow a
//! 3 a.m. investigation for no gain, and retries 429s without an upper bound
//! on the wait. Instead every call here retries a 429 at most
//! [`RetryPolicy::max_retries`] times, waiting what Slack's `Retry-After`
//! says, and gives up at once (with the wait in the error) when Slack asks
//! for longer than [`RetryPolicy::max_wait`].
//!
//! The HTTP client is built on first use, never at start-up.
//!
//! Methods slack-morphism does not model (`search.messages`), and posts whose
//! Block Kit JSON must reach Slack byte for byte, go through its generic
//! session calls with request and response types defined here.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use slack_morphism::errors::SlackClientError;
use slack_morphism::hyper_tokio::{SlackClientHyperConnector, SlackClientHyperHttpsConnector};
use slack_morphism::prelude::*;

use crate::error::SlackError;

/// The public Slack Web API.
pub const DEFAULT_API_URL: &str = "https://slack.com/api/";

/// How 429 answers are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Longest `Retry-After` worth waiting for; longer asks fail at once.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            max_wait: Duration::from_secs(30),
        }
    }
}

/// What the client needs to know.
#[derive(Clone)]
pub struct SlackApiConfig {
    /// Web API base URL, e.g. `https://slack.com/api/`.
    pub base_url: String,
    /// Bot token (`xoxb-…`).
    pub bot_token: Option<String>,
    /// User token (`xoxp-…`), for `search.messages`.
    pub user_token: Option<String>,
    /// 429 handling.
    pub retry: RetryPolicy,
}

impl std::fmt::Debug for SlackApiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackApiConfig")
            .field("base_url", &self.base_url)
            .field("bot_token", &self.bot_token.as_ref().map(|_| "[set]"))
            .field("user_token", &self.user_token.as_ref().map(|_| "[set]"))
            .field("retry", &self.retry)
            .finish()
    }
}

type Client = SlackClient<SlackClientHyperHttpsConnector>;

/// A cheap-to-clone Slack Web API client.
#[derive(Clone)]
pub struct SlackApi {
    inner: Arc<Inner>,
}

struct Inner {
    config: SlackApiConfig,
    bot: Option<SlackApiToken>,
    user: Option<SlackApiToken>,
    client: OnceLock<Result<Client, String>>,
}

impl std::fmt::Debug for SlackApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackApi")
            .field("config", &self.inner.config)
            .finish()
    }
}

/// Which token a call uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// The bot token.
    Bot,
    /// The user token.
    User,
}

/// One page of a cursor-paginated listing.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// The cursor of the next page, if any.
    pub next_cursor: Option<String>,
}

fn token(value: Option<&str>) -> Option<SlackApiToken> {
    value
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| SlackApiToken::new(SlackApiTokenValue(t.to_string())))
}

impl<T> Page<T> {
    /// A page of `items`; the next cursor is read from Slack's response
    /// metadata, where an empty one means this was the last page.
    fn new(items: Vec<T>, meta: Option<&SlackResponseMetadata>) -> Self {
        Page {
            items,
            next_cursor: meta
                .and_then(|m| m.next_cursor.as_ref())
                .map(|c| c.0.clone())
                .filter(|c| !c.is_empty()),
        }
    }
}

/// A page cursor as slack-morphism takes it.
fn cursor_id(cursor: Option<&str>) -> Option<SlackCursorId> {
    cursor.map(|c| SlackCursorId(c.to_string()))
}

/// A request to `chat.postMessage` with the blocks passed through verbatim.
#[derive(Debug, Clone, Serialize)]
pub struct PostMessage {
    /// Channel ID.
    pub channel: String,
    /// Text: the message, or the notification fallback when blocks are given.
    pub text: String,
    /// Block Kit blocks, sent as given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocks: Option<Vec<serde_json::Value>>,
    /// Reply in this thread.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread_ts: Option<String>,
    /// Also show a thread reply in the channel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_broadcast: Option<bool>,
    /// Do not unfurl links (keeps alert threads compact).
    pub unfurl_links: bool,
    /// Message metadata, `{"event_type": …, "event_payload": {…}}`: lets the
    /// poster find its own message again (`include_all_metadata`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
}

/// A request to `chat.update`.
#[derive(Debug, Clone, Serialize)]
pub struct UpdateMessage {
    /// Channel ID.
    pub channel: String,
    /// The message's ts.
    pub ts: String,
    /// New text.
    pub text: String,
    /// New blocks, sent as given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocks: Option<Vec<serde_json::Value>>,
}

/// Where a posted or updated message is.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Posted {
    /// Channel ID.
    pub channel: String,
    /// Message ts.
    pub ts: String,
}

/// One `search.messages` match.
#[derive(Debug, Clone, Deserialize)]
pub struct SearchMatch {
    /// The message ts.
    pub ts: String,
    /// Text.
    #[serde(default)]
    pub text: String,
    /// Author's user ID.
    #[serde(default)]
    pub user: Option<String>,
    /// Author's user name.
    #[serde(default)]
    pub username: Option<String>,
    /// The channel.
    pub channel: SearchChannel,
    /// Link to the message.
    #[serde(default)]
    pub permalink: Option<String>,
}

/// The channel of a search match.
#[derive(Debug, Clone, Deserialize)]
pub struct SearchChannel {
    /// Channel ID.
    pub id: String,
    /// Channel name.
    #[serde(default)]
    pub name: Option<String>,
}

/// Result of `search.messages`.
#[derive(Debug, Clone, Deserialize)]
pub struct SearchResult {
    /// Matches and totals.
    pub messages: SearchMessages,
}

/// The `messages` part of a search result.
#[derive(Debug, Clone, Deserialize)]
pub struct SearchMessages {
    /// Total matches in the workspace.
    #[serde(default)]
    pub total: u64,
    /// This page's matches.
    #[serde(default)]
    pub matches: Vec<SearchMatch>,
}

impl SlackApi {
    /// A client; nothing is contacted and no HTTP client is built yet.
    pub fn new(config: SlackApiConfig) -> Self {
        let bot = token(config.bot_token.as_deref());
        let user = token(config.user_token.as_deref());
        Self {
            inner: Arc::new(Inner {
                config,
                bot,
                user,
                client: OnceLock::new(),
            }),
        }
    }

    /// Whether a bot token is configured.
    pub fn has_bot_token(&self) -> bool {
        self.inner.bot.is_some()
    }

    /// Whether a user token is configured.
    pub fn has_user_token(&self) -> bool {
        self.inner.user.is_some()
    }

    /// The configuration.
    pub fn config(&self) -> &SlackApiConfig {
        &self.inner.config
    }

    /// The underlying slack-morphism client (built on first use), e.g. for
    /// Socket Mode.
    pub fn client(&self) -> Result<&Client, SlackError> {
        self.inner
            .client
            .get_or_init(|| build_client(&self.inner.config.base_url))
            .as_ref()
            .map_err(|e| SlackError::Client(e.clone()))
    }

    /// Whether a token of `kind` is configured; the error says how to set
    /// one.
    pub fn require_token(&self, kind: TokenKind) -> Result<(), SlackError> {
        self.token(kind).map(|_| ())
    }

    fn token(&self, kind: TokenKind) -> Result<&SlackApiToken, SlackError> {
        match kind {
            TokenKind::Bot => self.inner.bot.as_ref().ok_or(SlackError::NoBotToken),
            TokenKind::User => self.inner.user.as_ref().ok_or(SlackError::NoUserToken),
        }
    }

    /// Runs `call` with a session for `kind`, retrying 429s per the policy.
    pub async fn call<'a, T, F, Fut>(
        &'a self,
        method: &str,
        kind: TokenKind,
        call: F,
    ) -> Result<T, SlackError>
    where
        F: Fn(SlackClientSession<'a, SlackClientHyperHttpsConnector>) -> Fut,
        Fut: Future<Output = Result<T, SlackClientError>> + 'a,
    {
        let token = self.token(kind)?;
        let client = self.client()?;
        let policy = self.inner.config.retry;
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            match call(client.open_session(token)).await {
                Ok(value) => return Ok(value),
                Err(SlackClientError::RateLimitError(e)) => {
                    let wait = e.retry_after.unwrap_or(Duration::from_secs(1));
                    if attempts > policy.max_retries || wait > policy.max_wait {
                        return Err(SlackError::RateLimited {
                            method: method.to_string(),
                            retry_after: wait,
                            attempts,
                        });
                    }
                    tracing::info!(
                        method,
                        wait_secs = wait.as_secs(),
                        attempt = attempts,
                        "Slack answered 429; waiting Retry-After"
                    );
                    tokio::time::sleep(wait).await;
                }
                Err(e) => {
                    return Err(SlackError::from_client_at(
                        method,
                        &self.inner.config.base_url,
                        e,
                    ));
                }
            }
        }
    }

    /// `chat.postMessage`.
    pub async fn post_message(&self, req: &PostMessage) -> Result<Posted, SlackError> {
        self.call("chat.postMessage", TokenKind::Bot, |s| async move {
            s.http_session_api
                .http_post("chat.postMessage", req, None)
                .await
        })
        .await
    }

    /// `chat.update`.
    pub async fn update_message(&self, req: &UpdateMessage) -> Result<Posted, SlackError> {
        self.call("chat.update", TokenKind::Bot, |s| async move {
            s.http_session_api.http_post("chat.update", req, None).await
        })
        .await
    }

    /// `reactions.add`.
    pub async fn add_reaction(
        &self,
        channel: &str,
        ts: &str,
        name: &str,
    ) -> Result<(), SlackError> {
        let req = SlackApiReactionsAddRequest::new(
            SlackChannelId(channel.to_string()),
            SlackReactionName(name.to_string()),
            SlackTs(ts.to_string()),
        );
        let req = &req;
        self.call("reactions.add", TokenKind::Bot, |s| async move {
            s.reactions_add(req).await
        })
        .await
        .map(|_| ())
    }

    /// One page of `conversations.history`, newest first.
    pub async fn history_page(
        &self,
        channel: &str,
        oldest: Option<&str>,
        latest: Option<&str>,
        limit: u16,
        cursor: Option<&str>,
    ) -> Result<(Page<SlackHistoryMessage>, bool), SlackError> {
        let req = SlackApiConversationsHistoryRequest::new()
            .with_channel(SlackChannelId(channel.to_string()))
            .with_limit(limit)
            .opt_oldest(oldest.map(|t| SlackTs(t.to_string())))
            .opt_latest(latest.map(|t| SlackTs(t.to_string())))
            .opt_cursor(cursor_id(cursor));
        let req = &req;
        let res = self
            .call("conversations.history", TokenKind::Bot, |s| async move {
                s.conversations_history(req).await
            })
            .await?;
        let has_more = res.has_more.unwrap_or(false);
        Ok((
            Page::new(res.messages, res.response_metadata.as_ref()),
            has_more,
        ))
    }

    /// One page of `conversations.replies` (the parent first).
    pub async fn replies_page(
        &self,
        channel: &str,
        thread_ts: &str,
        limit: u16,
        cursor: Option<&str>,
    ) -> Result<Page<SlackHistoryMessage>, SlackError> {
        let req = SlackApiConversationsRepliesRequest::new(
            SlackChannelId(channel.to_string()),
            SlackTs(thread_ts.to_string()),
        )
        .with_limit(limit)
        .opt_cursor(cursor_id(cursor));
        let req = &req;
        let res = self
            .call("conversations.replies", TokenKind::Bot, |s| async move {
                s.conversations_replies(req).await
            })
            .await?;
        Ok(Page::new(res.messages, res.response_metadata.as_ref()))
    }

    /// One page of `conversations.list` (public and private channels the
    /// token can see, archived ones excluded).
    pub async fn channels_page(
        &self,
        cursor: Option<&str>,
    ) -> Result<Page<SlackChannelInfo>, SlackError> {
        let req = SlackApiConversationsListRequest::new()
            .with_limit(200)
            .with_exclude_archived(true)
            .with_types(vec![
                SlackConversationType::Public,
                SlackConversationType::Private,
            ])
            .opt_cursor(cursor_id(cursor));
        let req = &req;
        let res = self
            .call("conversations.list", TokenKind::Bot, |s| async move {
                s.conversations_list(req).await
            })
            .await?;
        Ok(Page::new(res.channels, res.response_metadata.as_ref()))
    }

    /// One page of `users.list`.
    pub async fn users_page(&self, cursor: Option<&str>) -> Result<Page<SlackUser>, SlackError> {
        let req = SlackApiUsersListRequest::new()
            .with_limit(200)
            .opt_cursor(cursor_id(cursor));
        let req = &req;
        let res = self
            .call("users.list", TokenKind::Bot, |s| async move {
                s.users_list(req).await
            })
            .await?;
        Ok(Page::new(res.members, res.response_metadata.as_ref()))
    }

    /// `users.info`.
    pub async fn user_info(&self, user: &str) -> Result<SlackUser, SlackError> {
        let req = SlackApiUsersInfoRequest::new(SlackUserId(user.to_string()));
        let req = &req;
        self.call("users.info", TokenKind::Bot, |s| async move {
            s.users_info(req).await
        })
        .await
        .map(|r| r.user)
    }

    /// `users.lookupByEmail`.
    pub async fn user_by_email(&self, email: &str) -> Result<SlackUser, SlackError> {
        let req = SlackApiUsersLookupByEmailRequest::new(EmailAddress(email.to_string()));
        let req = &req;
        self.call("users.lookupByEmail", TokenKind::Bot, |s| async move {
            s.users_lookup_by_email(req).await
        })
        .await
        .map(|r| r.user)
    }

    /// `search.messages` with the user token, one page of `count` matches
    /// (1-100), newest first.
    pub async fn search_messages(
        &self,
        query: &str,
        count: u16,
    ) -> Result<SearchResult, SlackError> {
        let count = count.clamp(1, 100).to_string();
        let params = vec![
            ("query", Some(query)),
            ("count", Some(count.as_str())),
            ("sort", Some("timestamp")),
            ("sort_dir", Some("desc")),
            ("highlight", Some("false")),
        ];
        let params = &params;
        self.call("search.messages", TokenKind::User, |s| async move {
            s.http_session_api
                .http_get("search.messages", params, None)
                .await
        })
        .await
    }

    /// Follows cursors from the first page until `want` items or the end;
    /// returns the items and whether more remained. `page` gets this client
    /// and the cursor, so a caller names the method and nothing else.
    pub async fn collect<'a, T, F, Fut>(
        &'a self,
        want: usize,
        mut page: F,
    ) -> Result<(Vec<T>, bool), SlackError>
    where
        F: FnMut(&'a SlackApi, Option<String>) -> Fut,
        Fut: Future<Output = Result<Page<T>, SlackError>> + 'a,
    {
        let mut items = Vec::new();
        let mut cursor = None;
        loop {
            let p = page(self, cursor.take()).await?;
            items.extend(p.items);
            match p.next_cursor {
                Some(next) if items.len() < want => cursor = Some(next),
                Some(_) => return Ok((items, true)),
                None => return Ok((items, false)),
            }
        }
    }

    /// Every item, following cursors to the end (see [`SlackApi::collect`]).
    pub async fn all<'a, T, F, Fut>(&'a self, page: F) -> Result<Vec<T>, SlackError>
    where
        F: FnMut(&'a SlackApi, Option<String>) -> Fut,
        Fut: Future<Output = Result<Page<T>, SlackError>> + 'a,
    {
        Ok(self.collect(usize::MAX, page).await?.0)
    }
}

/// The TLS settings of every connection to Slack (Web API and Socket Mode):
/// the workspace's one crypto provider (ring) and the system's CA
/// certificates. Without any, connections are still attempted (and fail with
/// a certificate error), so `http://` test servers keep working.
///
/// Built once per process (reading the system's certificates is I/O) and
/// cloned for each client.
pub(crate) fn tls_config() -> Result<rustls::ClientConfig, String> {
    static CONFIG: std::sync::OnceLock<Result<rustls::ClientConfig, String>> =
        std::sync::OnceLock::new();
    CONFIG.get_or_init(load_tls_config).clone()
}

fn load_tls_config() -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    for error in &found.errors {
        tracing::debug!(%error, "while loading system CA certificates");
    }
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        tracing::warn!("no system CA certificates; HTTPS to Slack will fail");
    }
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Builds the HTTPS-or-HTTP client aimed at `base_url`.
fn build_client(base_url: &str) -> Result<Client, String> {
    let builder = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls_config()?);
    let https = builder
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .build();
    let connector =
        SlackClientHyperConnector::from(https).with_slack_api_url(base_url.trim_end_matches('/'));
    Ok(SlackClient::new(connector))
}
