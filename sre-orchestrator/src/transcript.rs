//! Record and replay: every tool call and LLM exchange of an investigation,
//! kept in a [`Transcript`] that can drive the same investigation again with
//! no backend and no LLM.
//!
//! The investigation code never talks to the [`Registry`] or the
//! [`LlmClient`] directly; it talks to a [`ToolSource`] and a [`ChatModel`].
//! Live runs wrap the real ones in [`Recording`]; replays use [`Replay`],
//! which answers from a transcript. That one seam gives three things: the
//! portal's "full transcript" of an incident, regression tests and
//! evaluations that run without servers, and token figures for LLM
//! investigations that can be re-measured without paying for them again.
//!
//! Tool calls are replayed by *what* was asked (tool name and arguments,
//! compared as canonical JSON), not by order: the deterministic engine calls
//! sources in parallel, so the order of a recording is not stable. LLM
//! exchanges are replayed in order within their *thread* (one conversation,
//! known by its first message: the routing question, one specialist, the
//! synthesis), since each depends on the previous; several specialists
//! talk to the model at once, so threads interleave in any order.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::llm::{Completion, LlmClient, LlmError, Message, ToolSpec};
use crate::rca::DataGap;
use crate::registry::{Registry, ToolOutcome};

/// A tool as an investigation sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolInfo {
    /// `server.tool`.
    pub qualified: String,
    /// The tool's description.
    pub description: String,
    /// Its JSON Schema for arguments.
    pub input_schema: serde_json::Value,
    /// Whether the server marks it read-only.
    #[serde(default)]
    pub read_only: bool,
}

impl ToolInfo {
    /// The tool's own name, without the server prefix.
    pub fn name(&self) -> &str {
        self.qualified
            .split_once('.')
            .map_or(self.qualified.as_str(), |(_, t)| t)
    }

    /// The server's name.
    pub fn server(&self) -> &str {
        self.qualified.split_once('.').map_or("", |(s, _)| s)
    }
}

/// What [`ToolSource::call`] returns.
pub type ToolReply<'a> = BoxFuture<'a, ToolOutcome>;

/// What [`ChatModel::chat`] returns.
pub type ChatReply<'a> = BoxFuture<'a, Result<Completion, LlmError>>;

/// Where an investigation's tools come from.
pub trait ToolSource: Send + Sync {
    /// The tools available.
    fn tools(&self) -> Vec<ToolInfo>;
    /// Calls `server.tool`. Never fails: errors are outcomes.
    fn call<'a>(&'a self, qualified: &'a str, args: Value) -> ToolReply<'a>;
    /// Sources that failed so far.
    fn gaps(&self) -> Vec<DataGap>;
}

/// The LLM an investigation talks to.
pub trait ChatModel: Send + Sync {
    /// One chat completion.
    fn chat<'a>(&'a self, messages: &'a [Message], tools: &'a [ToolSpec]) -> ChatReply<'a>;
}

impl ToolSource for Registry {
    fn tools(&self) -> Vec<ToolInfo> {
        Registry::tools(self)
            .into_iter()
            .map(|t| ToolInfo {
                description: t.tool.description.as_deref().unwrap_or("").to_string(),
                input_schema: serde_json::Value::Object((*t.tool.input_schema).clone()),
                read_only: t
                    .tool
                    .annotations
                    .as_ref()
                    .and_then(|a| a.read_only_hint)
                    .unwrap_or(false),
                qualified: t.qualified,
            })
            .collect()
    }

    fn call<'a>(&'a self, qualified: &'a str, args: Value) -> ToolReply<'a> {
        Box::pin(Registry::call(self, qualified, args))
    }

    fn gaps(&self) -> Vec<DataGap> {
        Registry::gaps(self)
    }
}

impl ChatModel for LlmClient {
    fn chat<'a>(&'a self, messages: &'a [Message], tools: &'a [ToolSpec]) -> ChatReply<'a> {
        Box::pin(LlmClient::chat(self, messages, tools))
    }
}

// Shared sources (the bot's long-lived registry and LLM client) are used
// through `Arc`s; these let a per-job `Recording` own one.
impl<T: ToolSource + ?Sized> ToolSource for Arc<T> {
    fn tools(&self) -> Vec<ToolInfo> {
        (**self).tools()
    }

    fn call<'a>(&'a self, qualified: &'a str, args: Value) -> ToolReply<'a> {
        (**self).call(qualified, args)
    }

    fn gaps(&self) -> Vec<DataGap> {
        (**self).gaps()
    }
}

impl<M: ChatModel + ?Sized> ChatModel for Arc<M> {
    fn chat<'a>(&'a self, messages: &'a [Message], tools: &'a [ToolSpec]) -> ChatReply<'a> {
        (**self).chat(messages, tools)
    }
}

/// One recorded exchange.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Entry {
    /// A tool call and what it returned.
    ToolCall {
        /// `server.tool`.
        tool: String,
        /// The arguments sent.
        args: serde_json::Value,
        /// What came back.
        outcome: ToolOutcome,
    },
    /// One LLM request and its answer.
    Llm {
        /// Which conversation this request belongs to (see [`thread_of`]);
        /// absent in recordings made before specialists ran side by side,
        /// whose exchanges replay in plain order.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        thread: Option<String>,
        /// How many messages were sent (the messages themselves are the
        /// earlier entries plus the prompts, so they are not repeated).
        messages: usize,
        /// The last message sent, for reading the transcript.
        last: Option<Message>,
        /// The completion, when it succeeded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        completion: Option<Completion>,
        /// The error, when it failed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
}

/// Everything an investigation exchanged with its tools and its LLM.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    /// Format version.
    pub version: u32,
    /// The tools that were available.
    pub tools: Vec<ToolInfo>,
    /// Sources that were missing or failed.
    #[serde(default)]
    pub gaps: Vec<DataGap>,
    /// The exchanges, in the order they completed.
    pub entries: Vec<Entry>,
    /// The alert investigated, so that a recording replays on its own
    /// (`sre-agent investigate --replay FILE`); absent in recordings made
    /// before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<crate::alert::Alert>,
    /// The moment the investigation ran at ("now" for its windows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub now: Option<jiff::Timestamp>,
}

impl Transcript {
    /// The current format version.
    pub const VERSION: u32 = 1;

    /// Reads a transcript from JSON.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Number of tool calls recorded.
    pub fn tool_calls(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| matches!(e, Entry::ToolCall { .. }))
            .count()
    }

    /// LLM tokens used, summed over the recorded completions.
    pub fn llm_usage(&self) -> crate::llm::Usage {
        let mut usage = crate::llm::Usage::default();
        for e in &self.entries {
            if let Entry::Llm {
                completion: Some(c),
                ..
            } = e
            {
                usage += c.usage;
            }
        }
        usage
    }
}

/// A shared, growing transcript.
pub type TranscriptLog = Arc<Mutex<Transcript>>;

fn push(log: &TranscriptLog, entry: Entry) {
    log.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .entries
        .push(entry);
}

/// Records every call made through a tool source and a model.
pub struct Recording<T, M = NoModel> {
    tools: T,
    model: Option<M>,
    log: TranscriptLog,
}

/// A model type for recordings without an LLM.
#[derive(Debug, Clone, Copy)]
pub struct NoModel;

impl ChatModel for NoModel {
    fn chat<'a>(&'a self, _messages: &'a [Message], _tools: &'a [ToolSpec]) -> ChatReply<'a> {
        Box::pin(async {
            Err(LlmError::Unreachable {
                url: String::new(),
                reason: "no LLM configured".into(),
            })
        })
    }
}

impl<T: ToolSource> Recording<T, NoModel> {
    /// Records tool calls only.
    pub fn tools_only(tools: T) -> Self {
        Self::new(tools, None)
    }
}

impl<T: ToolSource, M: ChatModel> Recording<T, M> {
    /// Records calls to `tools` and, when given, `model`.
    pub fn new(tools: T, model: Option<M>) -> Self {
        let transcript = Transcript {
            version: Transcript::VERSION,
            tools: tools.tools(),
            gaps: tools.gaps(),
            entries: Vec::new(),
            alert: None,
            now: None,
        };
        Self {
            tools,
            model,
            log: Arc::new(Mutex::new(transcript)),
        }
    }

    /// The model side, when a model was given.
    pub fn model(&self) -> Option<RecordingModel<'_, M>> {
        self.model.as_ref().map(|m| RecordingModel {
            model: m,
            log: &self.log,
        })
    }

    /// The transcript so far (gaps refreshed from the tool source).
    pub fn transcript(&self) -> Transcript {
        let mut t = self
            .log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        t.gaps = self.tools.gaps();
        t
    }

    /// The wrapped tool source.
    pub fn inner(&self) -> &T {
        &self.tools
    }

    /// Unwraps the tool source (to shut it down).
    pub fn into_inner(self) -> T {
        self.tools
    }
}

impl<T: ToolSource, M: ChatModel> ToolSource for Recording<T, M> {
    fn tools(&self) -> Vec<ToolInfo> {
        self.tools.tools()
    }

    fn call<'a>(&'a self, qualified: &'a str, args: Value) -> ToolReply<'a> {
        Box::pin(async move {
            let outcome = self.tools.call(qualified, args.clone()).await;
            push(
                &self.log,
                Entry::ToolCall {
                    tool: qualified.to_string(),
                    args,
                    outcome: outcome.clone(),
                },
            );
            outcome
        })
    }

    fn gaps(&self) -> Vec<DataGap> {
        self.tools.gaps()
    }
}

/// The model half of a [`Recording`].
pub struct RecordingModel<'r, M> {
    model: &'r M,
    log: &'r TranscriptLog,
}

impl<M: ChatModel> ChatModel for RecordingModel<'_, M> {
    fn chat<'a>(&'a self, messages: &'a [Message], tools: &'a [ToolSpec]) -> ChatReply<'a> {
        Box::pin(async move {
            let result = self.model.chat(messages, tools).await;
            push(
                self.log,
                Entry::Llm {
                    thread: Some(thread_of(messages)),
                    messages: messages.len(),
                    last: messages.last().cloned(),
                    completion: result.as_ref().ok().cloned(),
                    error: result.as_ref().err().map(|e| e.to_string()),
                },
            );
            result
        })
    }
}

/// Answers tool calls and LLM requests from a transcript.
pub struct Replay {
    tools: Vec<ToolInfo>,
    gaps: Vec<DataGap>,
    calls: Mutex<BTreeMap<(String, String), VecDeque<ToolOutcome>>>,
    llm: Mutex<VecDeque<Exchange>>,
}

/// One recorded LLM exchange: its thread, and the completion or the error.
type Exchange = (Option<String>, Result<Completion, String>);

/// The conversation a request belongs to: a short digest of its first
/// message (a specialist's system prompt names its category; the routing
/// question and the synthesis have their own). Stable across runs and
/// builds (FNV-1a), so recordings replay on any machine.
pub fn thread_of(messages: &[Message]) -> String {
    let first = messages
        .first()
        .map(|m| format!("{}:{}", m.role, m.content.as_deref().unwrap_or("")))
        .unwrap_or_default();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in first.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

impl Replay {
    /// A replay of `transcript`.
    pub fn new(transcript: &Transcript) -> Self {
        let mut calls: BTreeMap<(String, String), VecDeque<ToolOutcome>> = BTreeMap::new();
        let mut llm = VecDeque::new();
        for e in &transcript.entries {
            match e {
                Entry::ToolCall {
                    tool,
                    args,
                    outcome,
                } => calls
                    .entry((tool.clone(), canonical(args)))
                    .or_default()
                    .push_back(outcome.clone()),
                Entry::Llm {
                    thread,
                    completion,
                    error,
                    ..
                } => llm.push_back((
                    thread.clone(),
                    match (completion, error) {
                        (Some(c), _) => Ok(c.clone()),
                        (None, e) => Err(e.clone().unwrap_or_default()),
                    },
                )),
            }
        }
        Self {
            tools: transcript.tools.clone(),
            gaps: transcript.gaps.clone(),
            calls: Mutex::new(calls),
            llm: Mutex::new(llm),
        }
    }

    /// Whether the recording holds LLM exchanges.
    pub fn has_llm(&self) -> bool {
        !self
            .llm
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_empty()
    }
}

impl ToolSource for Replay {
    fn tools(&self) -> Vec<ToolInfo> {
        self.tools.clone()
    }

    fn call<'a>(&'a self, qualified: &'a str, args: Value) -> ToolReply<'a> {
        let key = (qualified.to_string(), canonical(&args));
        let mut calls = self
            .calls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let outcome = match calls.get_mut(&key) {
            // The last recorded answer is kept for calls repeated more often
            // in the replay than in the recording.
            Some(queue) if queue.len() > 1 => queue.pop_front(),
            Some(queue) => queue.front().cloned(),
            None => None,
        };
        let outcome = outcome.unwrap_or_else(|| ToolOutcome {
            text: format!(
                "{qualified} with arguments {} is not in the recording",
                key.1
            ),
            is_error: true,
            elapsed_ms: 0,
        });
        Box::pin(async move { outcome })
    }

    fn gaps(&self) -> Vec<DataGap> {
        self.gaps.clone()
    }
}

impl ChatModel for Replay {
    fn chat<'a>(&'a self, messages: &'a [Message], _tools: &'a [ToolSpec]) -> ChatReply<'a> {
        let thread = thread_of(messages);
        let next = {
            let mut queue = self
                .llm
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            // The next exchange of this conversation; an exchange recorded
            // without a thread matches any.
            queue
                .iter()
                .position(|(t, _)| t.as_ref().is_none_or(|t| *t == thread))
                .and_then(|i| queue.remove(i))
                .map(|(_, answer)| answer)
        };
        Box::pin(async move {
            match next {
                Some(Ok(c)) => Ok(c),
                Some(Err(e)) => Err(LlmError::Unreachable {
                    url: "replay".into(),
                    reason: e,
                }),
                None => Err(LlmError::Unreachable {
                    url: "replay".into(),
                    reason: "the recording has no more LLM exchanges".into(),
                }),
            }
        })
    }
}

/// JSON with object keys sorted at every level, so that equal arguments
/// compare equal whatever order they were written in.
pub fn canonical(value: &serde_json::Value) -> String {
    fn sort(v: &serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(map) => {
                let sorted: BTreeMap<&String, serde_json::Value> =
                    map.iter().map(|(k, v)| (k, sort(v))).collect();
                serde_json::Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
            }
            serde_json::Value::Array(items) => {
                serde_json::Value::Array(items.iter().map(sort).collect())
            }
            other => other.clone(),
        }
    }
    sort(value).to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn exchange(thread: Option<&str>, answer: &str) -> Entry {
        Entry::Llm {
            thread: thread.map(|t| thread_of(&[Message::system(t)])),
            messages: 2,
            last: None,
            completion: Some(Completion {
                message: Message {
                    role: "assistant".into(),
                    content: Some(answer.into()),
                    tool_calls: Vec::new(),
                    tool_call_id: None,
                },
                finish_reason: "stop".into(),
                usage: crate::llm::Usage::default(),
            }),
            error: None,
        }
    }

    async fn ask(replay: &Replay, system: &str) -> String {
        replay
            .chat(&[Message::system(system)], &[])
            .await
            .unwrap()
            .message
            .content
            .unwrap()
    }

    #[tokio::test]
    async fn interleaved_conversations_replay_each_in_its_own_order() {
        // Recorded as two specialists happened to interleave.
        let t = Transcript {
            version: Transcript::VERSION,
            entries: vec![
                exchange(Some("network"), "n1"),
                exchange(Some("database"), "d1"),
                exchange(Some("database"), "d2"),
                exchange(Some("network"), "n2"),
            ],
            ..Transcript::default()
        };
        // Replayed in another interleaving.
        let replay = Replay::new(&t);
        assert_eq!(ask(&replay, "database").await, "d1");
        assert_eq!(ask(&replay, "database").await, "d2");
        assert_eq!(ask(&replay, "network").await, "n1");
        assert_eq!(ask(&replay, "network").await, "n2");
        assert!(
            replay
                .chat(&[Message::system("network")], &[])
                .await
                .is_err()
        );
        // A recording from before threads replays in plain order.
        let old = Transcript {
            entries: vec![exchange(None, "first"), exchange(None, "second")],
            ..Transcript::default()
        };
        let replay = Replay::new(&old);
        assert_eq!(ask(&replay, "anything").await, "first");
        assert_eq!(ask(&replay, "else").await, "second");
    }
}
