//! The fake's state: the workspace (channels, users, messages), what tests
//! scripted (rate limits, failures, page caps) and every call it received.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;

use serde_json::{Value, json};

use super::RecordedCall;
use super::socket_mode;

#[derive(Debug, Clone)]
pub(super) struct Channel {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) is_private: bool,
    pub(super) is_member: bool,
    pub(super) topic: String,
}

#[derive(Debug, Clone)]
pub(super) struct User {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) real_name: String,
    pub(super) display_name: String,
    pub(super) email: String,
    pub(super) title: String,
    pub(super) tz: String,
    pub(super) is_bot: bool,
}

#[derive(Debug, Default)]
pub(super) struct Scripted {
    /// Per method: how many more 429s to answer, and the Retry-After.
    pub(super) rate_limits: HashMap<String, (u32, u64)>,
    /// Per method: errors to answer next, in order.
    pub(super) failures: HashMap<String, VecDeque<String>>,
    /// Per method: most items per page, whatever `limit` asks (Slack may
    /// return fewer items than asked).
    pub(super) page_caps: HashMap<String, usize>,
}

#[derive(Debug)]
pub(super) struct World {
    /// Where the fake listens (for the Socket Mode URLs it hands out).
    pub(super) addr: SocketAddr,
    pub(super) channels: Vec<Channel>,
    pub(super) users: Vec<User>,
    /// Per channel: every message (top level and replies), by ts.
    pub(super) messages: HashMap<String, BTreeMap<String, Value>>,
    pub(super) next_ts: (u64, u32),
    pub(super) calls: Vec<RecordedCall>,
    pub(super) scripted: Scripted,
    pub(super) socket: socket_mode::SocketWorld,
    /// User groups (`S…`) and their member user IDs.
    pub(super) usergroups: HashMap<String, Vec<String>>,
    /// Every view opened with `views.open`, as sent.
    pub(super) views: Vec<Value>,
    /// Files by id, from `files.getUploadURLExternal` on.
    pub(super) files: HashMap<String, super::files::FakeFile>,
    /// The last file id handed out.
    pub(super) next_file: u64,
}

impl World {
    pub(super) fn new_ts(&mut self) -> String {
        let (secs, micros) = self.next_ts;
        self.next_ts = (secs + 1, micros);
        format!("{secs}.{micros:06}")
    }

    pub(super) fn channel(&self, id_or_name: &str) -> Option<&Channel> {
        let key = id_or_name.trim_start_matches('#');
        self.channels.iter().find(|c| c.id == key || c.name == key)
    }
}

pub(super) fn insert_message(
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
