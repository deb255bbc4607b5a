//! What the server may touch: the channel allowlist, and the per-channel
//! write rate limit.
//!
//! Both apply to every tool, reads included: a model that may read
//! `#incidents` has no business reading `#hr-private`, and a runaway agent
//! loop must not flood an alert channel at 3 a.m. The limit is enforced here,
//! by the server, whatever Slack's own limits would allow.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Whether `s` looks like a Slack conversation ID (`C…`, `G…`, `D…`).
pub fn looks_like_channel_id(s: &str) -> bool {
    s.len() >= 9
        && s.starts_with(['C', 'G', 'D'])
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// Normalises a channel reference as people write it: `#incidents`,
/// `incidents`, `<#C0123ABCD|incidents>` or `C0123ABCD`.
pub fn normalise_channel(s: &str) -> String {
    let s = s.trim();
    let s = s
        .strip_prefix("<#")
        .and_then(|r| r.strip_suffix('>'))
        .map(|r| r.split('|').next().unwrap_or(r))
        .unwrap_or(s);
    let s = s.trim_start_matches('#').trim();
    if looks_like_channel_id(s) {
        s.to_string()
    } else {
        s.to_lowercase()
    }
}

/// The channels tools may read and write, by name or ID.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelAllowlist {
    all: bool,
    ids: HashSet<String>,
    names: HashSet<String>,
}

impl ChannelAllowlist {
    /// From flag values: names (`incidents`, `#incidents`), IDs
    /// (`C0123ABCD`) or `*` for every channel the app can see.
    pub fn new<S: AsRef<str>>(entries: &[S]) -> Self {
        let mut list = Self::default();
        for entry in entries {
            let entry = entry.as_ref().trim();
            if entry.is_empty() {
                continue;
            }
            if entry == "*" {
                list.all = true;
                continue;
            }
            let n = normalise_channel(entry);
            if looks_like_channel_id(&n) {
                list.ids.insert(n);
            } else {
                list.names.insert(n);
            }
        }
        list
    }

    /// Whether nothing at all is allowed.
    pub fn is_empty(&self) -> bool {
        !self.all && self.ids.is_empty() && self.names.is_empty()
    }

    /// Whether every channel is allowed.
    pub fn allows_all(&self) -> bool {
        self.all
    }

    /// Whether the channel with this ID (and name, if known) is allowed.
    pub fn allows(&self, id: &str, name: Option<&str>) -> bool {
        self.all
            || self.ids.contains(id)
            || name.is_some_and(|n| self.names.contains(&n.to_lowercase()))
    }

    /// Whether an ID is allowed by ID alone (no name needed).
    pub fn allows_id(&self, id: &str) -> bool {
        self.all || self.ids.contains(id)
    }

    /// The allowlist as people wrote it, for error messages.
    pub fn describe(&self) -> String {
        if self.all {
            return "* (every channel the app can see)".into();
        }
        let mut items: Vec<String> = self.names.iter().map(|n| format!("#{n}")).collect();
        items.extend(self.ids.iter().cloned());
        items.sort();
        if items.is_empty() {
            "(none)".into()
        } else {
            items.join(", ")
        }
    }
}

/// A sliding-window limit on writes per channel.
#[derive(Debug)]
pub struct WriteLimiter {
    per_window: u32,
    window: Duration,
    hits: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl WriteLimiter {
    /// At most `per_minute` writes per channel in any 60 seconds (0 blocks
    /// every write).
    pub fn per_minute(per_minute: u32) -> Self {
        Self::new(per_minute, Duration::from_secs(60))
    }

    /// At most `per_window` writes per channel in any `window`.
    pub fn new(per_window: u32, window: Duration) -> Self {
        Self {
            per_window,
            window,
            hits: Mutex::new(HashMap::new()),
        }
    }

    /// The configured limit per minute-window.
    pub fn limit(&self) -> u32 {
        self.per_window
    }

    /// Takes a write slot for `channel`, or says how long until one frees.
    pub fn try_acquire(&self, channel: &str) -> Result<(), Duration> {
        self.try_acquire_at(channel, Instant::now())
    }

    fn try_acquire_at(&self, channel: &str, now: Instant) -> Result<(), Duration> {
        let mut hits = self
            .hits
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let q = hits.entry(channel.to_string()).or_default();
        while q
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            q.pop_front();
        }
        if (q.len() as u64) < u64::from(self.per_window) {
            q.push_back(now);
            Ok(())
        } else {
            let wait = q
                .front()
                .map(|t| self.window.saturating_sub(now.duration_since(*t)))
                .unwrap_or(self.window);
            Err(wait)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowlist_by_name_and_id() {
        let list = ChannelAllowlist::new(&["#Incidents", "C0ALERTS01", " "]);
        assert!(list.allows("C999999999", Some("incidents")));
        assert!(list.allows("C0ALERTS01", None));
        assert!(!list.allows("C0RANDOM01", Some("random")));
        assert!(!list.is_empty());
        assert!(ChannelAllowlist::new::<&str>(&[]).is_empty());
        assert!(ChannelAllowlist::new(&["*"]).allows("CANY000000", None));
    }

    #[test]
    fn channel_references_normalise() {
        assert_eq!(normalise_channel("<#C0123ABCD|incidents>"), "C0123ABCD");
        assert_eq!(normalise_channel(" #Alerts-Prod "), "alerts-prod");
        assert_eq!(normalise_channel("C0123ABCD"), "C0123ABCD");
        assert!(!looks_like_channel_id("general"));
    }

    #[test]
    fn limiter_slides() {
        let l = WriteLimiter::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        assert!(l.try_acquire_at("C1", t0).is_ok());
        assert!(l.try_acquire_at("C1", t0 + Duration::from_secs(10)).is_ok());
        let wait = l
            .try_acquire_at("C1", t0 + Duration::from_secs(20))
            .unwrap_err();
        assert_eq!(wait, Duration::from_secs(40));
        // Another channel has its own budget.
        assert!(l.try_acquire_at("C2", t0 + Duration::from_secs(20)).is_ok());
        // The first hit leaves the window after 60 s.
        assert!(l.try_acquire_at("C1", t0 + Duration::from_secs(61)).is_ok());
    }
}
