//! Checking an LLM's conclusion against the evidence before it is adopted.
//!
//! The specialist's answer is text from a model that read text from the
//! observed systems — log lines, events, documents anyone can write into.
//! A model that invents a name, follows instructions planted in a log line,
//! or talks itself into a red herring produces an answer that *looks* like
//! an RCA. The on-call engineer reads it at 3 a.m.; so before it replaces the
//! deterministic engine's conclusion it has to pass checks a reviewer would
//! make, all mechanical:
//!
//! 1. **The component exists.** Its name (or one of its names: workload,
//!    pod, service, `db.collection`, `kind/name`) appears in what the tools
//!    returned — the engine's evidence pack or the specialist's own calls.
//! 2. **The kind is one the engine knows** ([`kinds::ALL`]), so the RCA
//!    stays comparable, routable and evaluable.
//! 3. **Every citation exists, and the claim is cited.** The briefing numbers
//!    the engine's evidence `E1…`, and each tool result the specialist gets
//!    is numbered `T1…`; the answer cites them by id. An unknown id is a
//!    fabrication; at least one cited item must name the component. (An
//!    answer that only confirms the engine's verdict may cite nothing: the
//!    engine's own evidence backs it, and is what the RCA shows.) Cited
//!    items holding text that addresses the model ("ignore previous
//!    instructions…") are not evidence of anything but an injection attempt.
//! 4. **Overturning needs new evidence.** The engine already weighed every
//!    item of its pack. A model that names another cause from the same pack
//!    is re-weighing, which the engine's scores do better; to overturn a
//!    deterministic verdict the model must cite something it found itself
//!    (a `T` item) that names its component.
//! 5. **Steps that would write match the engine's own.** A suggested command
//!    that changes the system (`kubectl scale/delete/patch/rollout…`, a
//!    database write) must be one the engine itself proposes for that kind
//!    and component ([`kinds::remediation`]); `kubectl scale … --replicas=0`
//!    as a "low-risk step" for a missing index is exactly what an injection
//!    looks like.
//!
//! An answer that fails is not adopted: the caller keeps the deterministic
//! RCA and records what the model proposed and why it was refused. Whatever
//! model text *is* adopted goes through [`Book::sanitize`] first: no Slack
//! mass mentions (`<!channel>`, `<!here>`, `<!everyone>`, user groups, user
//! mentions) and no links to hosts that the evidence never mentioned.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use regex::Regex;
use serde::Deserialize;

use crate::engine::rules::{Suspect, owner_of, same_component};
use crate::engine::world::World;
use crate::engine::{Deterministic, kinds};
use crate::rca::{Risk, RootCause};

/// How many suspects the briefing shows, with how many signals each, and
/// how many symptoms: the engine's items numbered `E…` are exactly these.
pub const BRIEFED_SUSPECTS: usize = 5;
/// See [`BRIEFED_SUSPECTS`].
pub const BRIEFED_SIGNALS: usize = 3;
/// See [`BRIEFED_SUSPECTS`].
pub const BRIEFED_SYMPTOMS: usize = 4;

/// One citable piece of evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// `E3` (the engine's) or `T2` (a specialist's tool result).
    pub id: String,
    /// The tool it came from.
    pub source: String,
    /// What it says (one line for `E` items; the tool's text for `T` items).
    pub detail: String,
    /// Whether it holds text addressed to a model.
    pub suspicious: bool,
}

/// Everything an answer is checked against.
#[derive(Debug, Clone, Default)]
pub struct Book {
    items: Vec<Item>,
    names: BTreeSet<String>,
    namespace: Option<String>,
    /// The cluster as read: where a named component lives.
    world: World,
    det_root: Option<RootCause>,
    tool_results: usize,
}

/// An answer as the model gives it (the JSON object the prompt asks for).
#[derive(Debug, Clone, Deserialize)]
pub struct Answer {
    /// One line.
    #[serde(default)]
    pub summary: Option<String>,
    /// The root cause.
    pub root_cause: RootCause,
    /// 0–1.
    #[serde(default)]
    pub confidence: Option<f64>,
    /// Citations.
    #[serde(default)]
    pub evidence: Vec<Cited>,
    /// Suggested steps.
    #[serde(default)]
    pub remediation: Vec<Step>,
    /// Other candidates.
    #[serde(default)]
    pub alternatives: Vec<RootCause>,
}

/// A citation: an evidence id, with or without a comment.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Cited {
    /// `"E3"`.
    Id(String),
    /// `{"id": "E3", "detail": "why it matters"}`.
    Item {
        /// The id.
        #[serde(default)]
        id: Option<String>,
        /// The model's comment (not shown: the evidence's own text is).
        #[serde(default)]
        detail: Option<String>,
        /// Older answers named a source instead of an id.
        #[serde(default)]
        source: Option<String>,
    },
}

impl Cited {
    /// The cited id, if any.
    pub fn id(&self) -> Option<&str> {
        match self {
            Cited::Id(id) => Some(id.trim()),
            Cited::Item { id, .. } => id.as_deref().map(str::trim),
        }
    }
}

/// A suggested step.
#[derive(Debug, Clone, Deserialize)]
pub struct Step {
    /// What to do.
    pub action: String,
    /// `low`, `medium` or `high`.
    #[serde(default)]
    pub risk: Option<String>,
    /// A command for a person to run.
    #[serde(default)]
    pub command: Option<String>,
}

impl Answer {
    /// Reads the first JSON object in the model's text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let start = text.find('{').ok_or("no JSON object in the answer")?;
        let end = text.rfind('}').ok_or("no JSON object in the answer")?;
        if end < start {
            return Err("no JSON object in the answer".into());
        }
        serde_json::from_str(&text[start..=end]).map_err(|e| e.to_string())
    }
}

/// Whether the answer confirms the deterministic root cause.
pub fn agrees(a: &RootCause, b: &RootCause) -> bool {
    a.kind == b.kind
        && names_of(&a.component)
            .iter()
            .any(|n| same_component(n, &b.component))
}

fn regex(cell: &'static OnceLock<Option<Regex>>, pattern: &str) -> Option<&'static Regex> {
    cell.get_or_init(|| Regex::new(pattern).ok()).as_ref()
}

/// A component's names: itself, without a `kind/` or `namespace/kind/`
/// prefix, and its workload when it is a pod.
fn names_of(component: &str) -> Vec<String> {
    let c = component.trim().to_lowercase();
    let mut out = vec![c.clone()];
    if let Some(last) = c.rsplit('/').next()
        && last != c
    {
        out.push(last.to_string());
    }
    let owner = owner_of(out.last().map_or(c.as_str(), String::as_str));
    if !out.contains(&owner) {
        out.push(owner);
    }
    out.retain(|n| !n.is_empty());
    out
}

/// Text that talks to a model rather than about a system.
fn addresses_a_model(text: &str) -> bool {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    regex(
        &RE,
        r"(?i)(ignore|disregard|forget)\s+(all\s+|any\s+)?(the\s+)?(previous|prior|above|earlier)\s+(instructions|prompts?|context|messages)|\byou are now\b|\bnew instructions\b|\bsystem prompt\b|\b(ai|llm|language model|assistant)s?\b[^.\n]{0,40}\b(must|should)\s+(report|answer|say|conclude)|\breport (the )?root cause as\b",
    )
    .is_some_and(|re| re.is_match(text))
}

/// Whether a command would change the system.
pub fn writes(command: &str) -> bool {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    regex(
        &RE,
        r"(?ix)
        \bkubectl\b.*\b(scale|delete|patch|apply|create|replace|edit|set|label|annotate|cordon|uncordon|drain|taint|exec|cp|run|expose|autoscale|rollout\s+(undo|restart|pause|resume))\b
        | \bhelm\s+(install|upgrade|uninstall|delete|rollback)\b
        | \b(mongo|mongosh)\b.*\b(drop|dropDatabase|deleteOne|deleteMany|remove|update\w*|insert\w*|replaceOne|createIndex|dropIndex|killOp|shutdownServer|renameCollection)\b
        | \bdb\.[\w.]*\.(drop|deleteOne|deleteMany|remove|update\w*|insert\w*|replaceOne|createIndex|dropIndex|renameCollection)\s*\(
        | \bdb\.(killOp|shutdownServer|dropDatabase)\s*\(
        | \b(psql|mysql)\b.*\b(drop|delete|update|insert|alter|truncate)\b
        | \bcurl\b.*(-X\s*|--request\s+)(POST|PUT|PATCH|DELETE)\b
        | \brm\s+-[a-z]*r",
    )
    .is_some_and(|re| re.is_match(command))
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Book {
    /// The engine's evidence, numbered `E1…` in ranking order: the signals
    /// of the top suspects, then the symptoms. Every output of the pack
    /// counts for names and hosts.
    pub fn from_engine(det: &Deterministic, namespace: Option<&str>) -> Self {
        let mut book = Book {
            namespace: namespace.map(str::to_string),
            world: World::from_pack(&det.pack),
            det_root: (det.rca.root_cause.kind != "unknown").then(|| det.rca.root_cause.clone()),
            ..Book::default()
        };
        let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
        let signals = det
            .analysis
            .suspects
            .iter()
            .take(BRIEFED_SUSPECTS)
            .flat_map(|s| s.signals.iter().take(BRIEFED_SIGNALS))
            .map(|s| (s.source.clone(), s.detail.clone()));
        let symptoms = det
            .analysis
            .symptoms
            .iter()
            .take(BRIEFED_SYMPTOMS)
            .map(|e| (e.source.clone(), e.detail.clone()));
        for (source, detail) in signals.chain(symptoms) {
            if seen.insert((source.clone(), detail.clone())) {
                let id = format!("E{}", book.items.len() + 1);
                book.push(id, source, detail);
            }
        }
        for s in &det.analysis.suspects {
            book.learn(&s.component);
        }
        for o in &det.pack.outputs {
            if !o.outcome.is_error {
                book.learn(&o.outcome.text);
            }
        }
        book
    }

    fn push(&mut self, id: String, source: String, detail: String) {
        self.learn(&detail);
        let suspicious = addresses_a_model(&detail);
        self.items.push(Item {
            id,
            source,
            detail,
            suspicious,
        });
    }

    /// Records the names in a text (tokens, pods' workloads, hosts), so
    /// that they count as known and links to those hosts survive
    /// [`Book::sanitize`]. (How other model text — a follow-up answer in a
    /// thread — can be sanitized against what it was shown.)
    pub fn learn(&mut self, text: &str) {
        for token in text.split(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c))) {
            let t = token.trim_matches(|c: char| c == '.' || c == '-' || c == '_');
            if t.len() < 2 || t.chars().all(|c| c.is_ascii_digit()) {
                continue;
            }
            let t = t.to_lowercase();
            let owner = owner_of(&t);
            if owner != t {
                self.names.insert(owner);
            }
            self.names.insert(t);
        }
    }

    /// Numbers a tool result the specialist received (`T1`, `T2`…) and
    /// returns its id.
    pub fn add_tool_result(&mut self, tool: &str, text: &str) -> String {
        self.tool_results += 1;
        let id = format!("T{}", self.tool_results);
        self.push(id.clone(), tool.to_string(), text.to_string());
        id
    }

    /// The engine's items (`E…`), for the briefing.
    pub fn engine_items(&self) -> impl Iterator<Item = &Item> {
        self.items.iter().filter(|i| i.id.starts_with('E'))
    }

    /// The id of the engine's item with this source and detail.
    pub fn id_of(&self, source: &str, detail: &str) -> Option<&str> {
        self.engine_items()
            .find(|i| i.source == source && i.detail == detail)
            .map(|i| i.id.as_str())
    }

    /// An item by id.
    pub fn item(&self, id: &str) -> Option<&Item> {
        self.items.iter().find(|i| i.id.eq_ignore_ascii_case(id))
    }

    /// Whether a component is named anywhere in the evidence.
    pub fn knows(&self, component: &str) -> bool {
        names_of(component).iter().any(|n| {
            self.names.contains(n) || self.names.iter().any(|known| same_component(known, n))
        })
    }

    fn mentions(text: &str, component: &str) -> bool {
        let mut probe = Book::default();
        probe.learn(text);
        probe.knows(component)
    }

    /// The checks of the module's essay; `Err` holds every reason the
    /// answer cannot be adopted.
    pub fn check(&self, answer: &Answer) -> Result<(), Vec<String>> {
        let mut why = Vec::new();
        let rc = &answer.root_cause;
        let component = rc.component.trim();
        if component.is_empty() {
            why.push("it names no component".to_string());
        } else if !self.knows(component) {
            why.push(format!(
                "`{component}` appears nowhere in the evidence or the cluster"
            ));
        }
        if kinds::category(&rc.kind).is_none() {
            why.push(format!(
                "kind `{}` is not in the engine's vocabulary",
                rc.kind
            ));
        }
        let cited: Vec<&str> = answer.evidence.iter().filter_map(Cited::id).collect();
        let unknown: Vec<&str> = cited
            .iter()
            .copied()
            .filter(|id| self.item(id).is_none())
            .collect();
        let confirms = self.det_root.as_ref().is_some_and(|d| agrees(rc, d));
        if cited.is_empty() && !confirms {
            why.push("it cites no evidence by id".into());
        } else if !unknown.is_empty() {
            why.push(format!(
                "it cites evidence that does not exist ({})",
                unknown.join(", ")
            ));
        }
        let items: Vec<&Item> = cited.iter().filter_map(|id| self.item(id)).collect();
        let flagged: Vec<&str> = items
            .iter()
            .filter(|i| i.suspicious)
            .map(|i| i.id.as_str())
            .collect();
        if !flagged.is_empty() {
            why.push(format!(
                "it relies on {} , which holds text addressed to the model (a possible prompt injection)",
                flagged.join(", ")
            ));
        }
        let naming: Vec<&&Item> = items
            .iter()
            .filter(|i| !i.suspicious && Self::mentions(&i.detail, component))
            .collect();
        if !cited.is_empty() && unknown.is_empty() && naming.is_empty() && !component.is_empty() {
            why.push(format!(
                "none of the evidence it cites mentions `{component}`"
            ));
        }
        if let Some(det) = &self.det_root
            && !agrees(rc, det)
            && !naming.iter().any(|i| i.id.starts_with('T'))
        {
            why.push(format!(
                "it overturns the engine's conclusion ({} {}) without evidence of its own: no tool result it gathered and cites names `{component}`",
                det.component, det.kind
            ));
        }
        for step in &answer.remediation {
            let Some(command) = step.command.as_deref() else {
                continue;
            };
            if writes(command) && self.allowed_write(rc, command).is_none() {
                why.push(format!(
                    "step `{}` would change the system and is not a step the engine allows for {} {}",
                    squash(command).chars().take(120).collect::<String>(),
                    rc.kind,
                    component
                ));
            }
        }
        if why.is_empty() { Ok(()) } else { Err(why) }
    }

    /// The engine's own step this write command matches, with its risk.
    pub fn allowed_write(&self, rc: &RootCause, command: &str) -> Option<Risk> {
        let kind = kinds::ALL.iter().map(|(k, _)| *k).find(|k| *k == rc.kind)?;
        let command = squash(command);
        names_of(&rc.component).iter().find_map(|name| {
            let suspect = Suspect {
                component: name.clone(),
                kind,
                score: 0.0,
                signals: Vec::new(),
            };
            let ns = self.world.namespace_of(name).or(self.namespace.as_deref());
            kinds::remediation(&suspect, ns)
                .into_iter()
                .find(|step| {
                    step.command.as_deref().is_some_and(|c| {
                        let pattern = regex::escape(&squash(c)).replace("<N>", r"\d+");
                        Regex::new(&format!("^{pattern}$")).is_ok_and(|re| re.is_match(&command))
                    })
                })
                .map(|step| step.risk)
        })
    }

    /// Model text made safe to post: Slack mass mentions, user-group and
    /// user mentions removed, links to hosts the evidence never mentioned
    /// replaced by a note.
    pub fn sanitize(&self, text: &str) -> String {
        static SPECIAL: OnceLock<Option<Regex>> = OnceLock::new();
        static BARE: OnceLock<Option<Regex>> = OnceLock::new();
        static LINK: OnceLock<Option<Regex>> = OnceLock::new();
        static URL: OnceLock<Option<Regex>> = OnceLock::new();
        let mut out = text.to_string();
        if let Some(re) = regex(&SPECIAL, r"<(!|@|#)[^>]*>") {
            // Channel links (`<#C…>`) are harmless; the others notify people.
            out = re
                .replace_all(&out, |c: &regex::Captures<'_>| {
                    if &c[1] == "#" {
                        c[0].to_string()
                    } else {
                        String::new()
                    }
                })
                .into_owned();
        }
        if let Some(re) = regex(&BARE, r"(?i)(^|[^\w@])@(channel|here|everyone)\b") {
            out = re.replace_all(&out, "$1").into_owned();
        }
        let allowed = |url: &str| -> bool {
            let host = url
                .split_once("://")
                .map_or(url, |(_, rest)| rest)
                .split(['/', '?', '#', ':'])
                .next()
                .unwrap_or_default()
                .rsplit('@')
                .next()
                .unwrap_or_default()
                .to_lowercase();
            !host.is_empty() && self.names.contains(&host)
        };
        if let Some(re) = regex(&LINK, r"<(https?://[^|>\s]+)(?:\|([^>]*))?>") {
            out = re
                .replace_all(&out, |c: &regex::Captures<'_>| {
                    if allowed(&c[1]) {
                        c[0].to_string()
                    } else {
                        let label = c.get(2).map_or("", |m| m.as_str());
                        format!("{label} [link removed]").trim_start().to_string()
                    }
                })
                .into_owned();
        }
        if let Some(re) = regex(&URL, r"https?://[^\s<>|()\[\]]+") {
            out = re
                .replace_all(&out, |c: &regex::Captures<'_>| {
                    if allowed(&c[0]) {
                        c[0].to_string()
                    } else {
                        "[link removed]".to_string()
                    }
                })
                .into_owned();
        }
        out.trim().to_string()
    }
}

#[cfg(test)]
#[path = "verify_tests.rs"]
mod tests;
