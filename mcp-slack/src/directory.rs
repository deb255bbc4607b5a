//! Caches of the workspace's channels and users, warmed in the background.
//!
//! Tools need channel names (the allowlist and people speak in names, the API
//! in IDs) and user names (a history line that says `U02AB3CD4` helps nobody).
//! Listing a large workspace takes many paginated calls, so the caches fill
//! in a background task ([`Directory::warm`]) started by the first tool call
//! that needs Slack — never at start-up (a server touches no backend before
//! its first tool call), and never delaying a reply: a peer server that
//! lists every user before answering keeps its host waiting for minutes. A tool that needs a channel before the warm-up
//! finished loads the list itself (once, shared); an unknown user is looked
//! up with `users.info` and remembered.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use slack_morphism::prelude::*;

use crate::api::SlackApi;
use crate::error::SlackError;
use crate::policy::{looks_like_channel_id, normalise_channel};

/// How old the channel list may be before an unknown name triggers a reload.
const CHANNEL_RELOAD_AFTER: Duration = Duration::from_secs(60);

/// How old the channel list may be before `list_channels` reloads it.
const CHANNEL_LIST_MAX_AGE: Duration = Duration::from_secs(10 * 60);

/// Most `users.info` look-ups one result may trigger.
pub const MAX_USER_LOOKUPS: usize = 25;

/// A channel, as the tools need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    /// Channel ID.
    pub id: String,
    /// Name without `#`, when known.
    pub name: Option<String>,
    /// Private channel.
    pub is_private: bool,
    /// The app is a member (can read history and post).
    pub is_member: bool,
    /// Topic.
    pub topic: String,
    /// Member count.
    pub members: Option<u64>,
}

impl Channel {
    /// `#name (ID)` or the ID.
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) => format!("#{n} ({})", self.id),
            None => self.id.clone(),
        }
    }
}

#[derive(Debug)]
struct ChannelIndex {
    by_id: HashMap<String, Channel>,
    by_name: HashMap<String, String>,
    loaded_at: Instant,
}

/// The channel and user caches.
#[derive(Debug, Clone)]
pub struct Directory {
    api: SlackApi,
    channels: Arc<RwLock<Option<Arc<ChannelIndex>>>>,
    channel_load: Arc<tokio::sync::Mutex<()>>,
    users: Arc<RwLock<HashMap<String, String>>>,
    /// Whether the whole user list was loaded once (by [`Directory::warm`]).
    users_loaded: Arc<std::sync::atomic::AtomicBool>,
}

fn channel_from(info: &SlackChannelInfo) -> Channel {
    Channel {
        id: info.id.0.clone(),
        name: info.name.clone(),
        is_private: info.flags.is_private.unwrap_or(false),
        is_member: info.flags.is_member.unwrap_or(false),
        topic: info
            .topic
            .as_ref()
            .map(|t| t.value.clone())
            .unwrap_or_default(),
        members: info.num_members,
    }
}

/// The name a person would recognise: display name, else real name, else
/// handle, else the ID.
pub fn user_display_name(user: &SlackUser) -> String {
    let profile = user.profile.as_ref();
    profile
        .and_then(|p| p.display_name.clone())
        .filter(|s| !s.is_empty())
        .or_else(|| user.name.clone().filter(|s| !s.is_empty()))
        .or_else(|| {
            profile
                .and_then(|p| p.real_name.clone())
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_else(|| user.id.0.clone())
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Directory {
    /// Empty caches over `api`.
    pub fn new(api: SlackApi) -> Self {
        Self {
            api,
            channels: Arc::new(RwLock::new(None)),
            channel_load: Arc::new(tokio::sync::Mutex::new(())),
            users: Arc::new(RwLock::new(HashMap::new())),
            users_loaded: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        }
    }

    /// The API client.
    pub fn api(&self) -> &SlackApi {
        &self.api
    }

    /// Fills both caches; meant for `tokio::spawn` on the first tool call.
    /// What is already loaded (the channel list by a tool, the user list by
    /// an earlier warm-up) is not loaded again. Failures are logged, not
    /// fatal: tools retry on demand.
    pub async fn warm(self) {
        let started = Instant::now();
        match self.channels().await.map(|c| c.len()) {
            Ok(n) => tracing::info!(
                channels = n,
                ms = started.elapsed().as_millis() as u64,
                "channel cache warm"
            ),
            Err(error) => tracing::warn!(%error, "could not list channels in the background"),
        }
        if self.users_loaded.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        let started = Instant::now();
        match self.load_users().await {
            Ok(n) => tracing::info!(
                users = n,
                ms = started.elapsed().as_millis() as u64,
                "user cache warm"
            ),
            Err(error) => tracing::warn!(%error, "could not list users in the background"),
        }
    }

    async fn load_users(&self) -> Result<usize, SlackError> {
        let users = self
            .api
            .all(|api, cursor| async move { api.users_page(cursor.as_deref()).await })
            .await?;
        let n = users.len();
        let mut cache = write(&self.users);
        for u in &users {
            cache.insert(u.id.0.clone(), user_display_name(u));
        }
        self.users_loaded
            .store(true, std::sync::atomic::Ordering::SeqCst);
        Ok(n)
    }

    async fn reload_channels_locked(&self) -> Result<usize, SlackError> {
        let list = self
            .api
            .all(|api, cursor| async move { api.channels_page(cursor.as_deref()).await })
            .await?;
        let mut by_id = HashMap::new();
        let mut by_name = HashMap::new();
        for info in &list {
            let c = channel_from(info);
            if let Some(n) = &c.name {
                by_name.insert(n.to_lowercase(), c.id.clone());
            }
            by_id.insert(c.id.clone(), c);
        }
        let n = by_id.len();
        *write(&self.channels) = Some(Arc::new(ChannelIndex {
            by_id,
            by_name,
            loaded_at: Instant::now(),
        }));
        Ok(n)
    }

    fn index(&self) -> Option<Arc<ChannelIndex>> {
        read(&self.channels).clone()
    }

    /// Every channel the app can see (loads the list if needed, and reloads
    /// it when older than ten minutes; a failed reload keeps the old list).
    pub async fn channels(&self) -> Result<Vec<Channel>, SlackError> {
        let index = match self.index() {
            Some(i) if i.loaded_at.elapsed() < CHANNEL_LIST_MAX_AGE => i,
            Some(old) => {
                let _guard = self.channel_load.lock().await;
                if let Err(error) = self.reload_channels_locked().await {
                    tracing::warn!(%error, "channel list reload failed; using the cached one");
                }
                self.index().unwrap_or(old)
            }
            None => {
                let _guard = self.channel_load.lock().await;
                if self.index().is_none() {
                    self.reload_channels_locked().await?;
                }
                self.index().ok_or_else(|| SlackError::Transport {
                    method: "conversations.list".into(),
                    message: "channel list unavailable".into(),
                })?
            }
        };
        let mut all: Vec<Channel> = index.by_id.values().cloned().collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(all)
    }

    fn lookup(&self, key: &str) -> Option<Channel> {
        let index = self.index()?;
        if looks_like_channel_id(key) {
            index.by_id.get(key).cloned()
        } else {
            index
                .by_name
                .get(key)
                .and_then(|id| index.by_id.get(id))
                .cloned()
        }
    }

    /// The cached name of a channel ID, if known (no API call).
    pub fn cached_channel_name(&self, id: &str) -> Option<String> {
        self.index()?.by_id.get(id)?.name.clone()
    }

    /// Resolves `#name`, `name`, `<#ID|name>` or an ID. `Ok(None)` means the
    /// app cannot see such a channel. An ID the list does not hold resolves
    /// to a channel without a name (the app may still be able to use it).
    pub async fn resolve_channel(&self, reference: &str) -> Result<Option<Channel>, SlackError> {
        let key = normalise_channel(reference);
        if let Some(c) = self.lookup(&key) {
            return Ok(Some(c));
        }
        let stale = self
            .index()
            .is_none_or(|i| i.loaded_at.elapsed() >= CHANNEL_RELOAD_AFTER);
        if stale {
            let _guard = self.channel_load.lock().await;
            // Another task may have loaded it while we waited.
            let still_stale = self
                .index()
                .is_none_or(|i| i.loaded_at.elapsed() >= CHANNEL_RELOAD_AFTER);
            if still_stale {
                self.reload_channels_locked().await?;
            }
            if let Some(c) = self.lookup(&key) {
                return Ok(Some(c));
            }
        }
        if looks_like_channel_id(&key) {
            return Ok(Some(Channel {
                id: key,
                name: None,
                is_private: false,
                is_member: true,
                topic: String::new(),
                members: None,
            }));
        }
        Ok(None)
    }

    /// The cached display name of a user ID, if known (no API call).
    pub fn cached_user_name(&self, id: &str) -> Option<String> {
        read(&self.users).get(id).cloned()
    }

    /// Makes sure the names of `ids` are cached, looking up at most
    /// [`MAX_USER_LOOKUPS`] unknown ones; failures leave the ID as is.
    pub async fn ensure_users<'a>(&self, ids: impl IntoIterator<Item = &'a str>) {
        let mut missing: Vec<String> = ids
            .into_iter()
            .filter(|id| self.cached_user_name(id).is_none())
            .map(str::to_string)
            .collect();
        missing.sort();
        missing.dedup();
        for id in missing.into_iter().take(MAX_USER_LOOKUPS) {
            match self.api.user_info(&id).await {
                Ok(user) => {
                    write(&self.users).insert(id, user_display_name(&user));
                }
                Err(error) => {
                    tracing::debug!(%error, user = %id, "users.info failed");
                    // Remember the ID itself so one result cannot retry it.
                    write(&self.users).insert(id.clone(), id);
                }
            }
        }
    }

    /// Remembers a user's name (from a `users.info` answer).
    pub fn remember_user(&self, user: &SlackUser) {
        write(&self.users).insert(user.id.0.clone(), user_display_name(user));
    }

    /// Finds users by handle, display name or real name (case-insensitive,
    /// `@` optional), scanning `users.list`.
    pub async fn find_users_by_name(&self, name: &str) -> Result<Vec<SlackUser>, SlackError> {
        let users = self
            .api
            .all(|api, cursor| async move { api.users_page(cursor.as_deref()).await })
            .await?;
        let wanted = name.trim().trim_start_matches('@').to_lowercase();
        let mut found = Vec::new();
        for u in users {
            self.remember_user(&u);
            let p = u.profile.as_ref();
            let names = [
                u.name.clone(),
                u.real_name.clone(),
                p.and_then(|p| p.display_name.clone()),
                p.and_then(|p| p.real_name.clone()),
            ];
            if names
                .iter()
                .flatten()
                .any(|n| !n.is_empty() && n.to_lowercase() == wanted)
            {
                found.push(u);
            }
        }
        Ok(found)
    }
}
