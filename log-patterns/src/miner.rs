//! The streaming miner: tokenizing, masking, the fixed-depth lookup and template updates.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::mask::{Shape, WILDCARD, mask_tokens};

/// Identifies a template inside one [`Miner`].
///
/// Ids are dense indexes handed out in order of first appearance. When the miner later merges two
/// templates, the id of the absorbed one keeps working: [`Miner::resolve`] and [`Miner::template`]
/// follow it to the surviving template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TemplateId(pub u32);

/// Settings of a [`Miner`].
///
/// The defaults are the configuration measured in `BENCHMARKS.md`: one setting for every log
/// source. Change them only with a reason measured on your own data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// A position becomes a variable when templates that agree everywhere else show at least
    /// this many different words there. Fewer distinct words (`opened`/`closed`) are taken as
    /// different events.
    pub min_values: usize,
    /// ...and when those templates share at least this many literal words elsewhere, so that
    /// two-word messages are not merged on a single shared word. With twice `min_values`
    /// distinct words, one shared literal word is enough.
    pub min_context: usize,
    /// Lines longer than this many tokens are cut: the tail joins the last token. Bounds the
    /// work per line on pathological input (a stack trace flattened into one line).
    pub max_tokens: usize,
    /// Capacity of the cache from a masked line's fingerprint to its template. Repeated shapes,
    /// the bulk of real logs, skip the candidate search entirely. Zero disables the cache.
    pub cache_capacity: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            min_values: 4,
            min_context: 3,
            max_tokens: 128,
            cache_capacity: 1 << 16,
        }
    }
}

/// A mined template as seen from outside.
#[derive(Debug, Clone, Copy)]
pub struct Template<'a> {
    miner: &'a Miner,
    id: TemplateId,
}

impl<'a> Template<'a> {
    fn cluster(&self) -> &'a Cluster {
        &self.miner.clusters[self.id.0 as usize]
    }

    /// The template's id (after merges, the surviving id).
    pub fn id(&self) -> TemplateId {
        self.id
    }

    /// The template text: the masked tokens joined by single spaces, variables as `<*>`.
    pub fn text(&self) -> String {
        self.cluster().text()
    }

    /// How many lines this template absorbed.
    pub fn count(&self) -> u64 {
        self.cluster().count
    }

    /// The earliest timestamp given to [`Miner::add_at`] for a line of this template.
    pub fn first_seen(&self) -> Option<i64> {
        self.cluster().first_seen
    }

    /// The latest timestamp given to [`Miner::add_at`] for a line of this template.
    pub fn last_seen(&self) -> Option<i64> {
        self.cluster().last_seen
    }

    /// The first raw line that created this template.
    pub fn sample(&self) -> &'a str {
        &self.cluster().sample
    }
}

#[derive(Debug, Clone)]
struct Cluster {
    /// Per position: hash of the masked token, or [`WILD`].
    tokens: Vec<u64>,
    /// Per position: the masked token text shown in the template.
    words: Vec<Box<str>>,
    count: u64,
    first_seen: Option<i64>,
    last_seen: Option<i64>,
    sample: Box<str>,
    /// Bucket this cluster lives in, to remove it from there on merge.
    leaf: u64,
}

impl Cluster {
    fn text(&self) -> String {
        let mut s = String::with_capacity(self.words.iter().map(|w| w.len() + 1).sum());
        for (i, w) in self.words.iter().enumerate() {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(w);
        }
        s
    }

    fn touch(&mut self, ts: Option<i64>) {
        self.count += 1;
        if let Some(ts) = ts {
            self.first_seen = Some(self.first_seen.map_or(ts, |f| f.min(ts)));
            self.last_seen = Some(self.last_seen.map_or(ts, |l| l.max(ts)));
        }
    }
}

/// Template position generalized to "anything". Real token hashes are never 0 or 1.
const WILD: u64 = 0;
/// A token the masker replaced entirely by `<*>`: a value of its own, matching only itself.
const MASKED: u64 = 1;

/// Keys that are already hashes need no second hashing.
#[derive(Default)]
struct NoHash(u64);

impl Hasher for NoHash {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are used; this path folds anything else reasonably anyway.
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type FastMap<V> = HashMap<u64, V, BuildHasherDefault<NoHash>>;

const K: u64 = 0xf135_7aea_2e62_a9c5;

#[inline]
fn mix(h: u64, x: u64) -> u64 {
    (h.rotate_left(26) ^ x).wrapping_mul(K)
}

#[inline]
fn pos_hash(pos: usize, token: u64) -> u64 {
    mix(mix(0x7f4a_7c15_9e37_79b9, pos as u64), token)
}

#[inline]
fn leaf_key(len: usize, first: u64) -> u64 {
    mix(mix(0x51_7cc1_b727_220a, len as u64), first)
}

/// A small multiplicative hash over 8-byte words; tokens are short, so this beats SipHash by far.
#[inline]
fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h = bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = mix(h, u64::from_le_bytes(w));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = mix(h, u64::from_le_bytes(w));
    }
    h ^= h >> 29;
    if h <= MASKED { 2 } else { h }
}

/// Streaming log template miner. See the crate documentation for the design.
#[derive(Debug, Clone)]
pub struct Miner {
    config: Config,
    clusters: Vec<Cluster>,
    /// Union-find parent links; `parent[i] == i` for live templates.
    parent: Vec<u32>,
    leaves: FastMap<Vec<u32>>,
    cache: FastMap<u32>,
    lines: u64,
    /// Live templates (not merged into another).
    live: usize,
    /// Templates created since the last consolidation, and how many trigger the next one.
    pending: usize,
    next_consolidation: usize,
    // Scratch buffers reused across lines so `add` does not allocate on the fast path.
    buf: Vec<u8>,
    spans: Vec<(u32, u32)>,
    shapes: Vec<Shape>,
    hashes: Vec<u64>,
}

impl Default for Miner {
    fn default() -> Self {
        Self::new(Config::default())
    }
}

impl Miner {
    /// A miner with the given settings.
    pub fn new(config: Config) -> Self {
        Self {
            config,
            clusters: Vec::new(),
            parent: Vec::new(),
            leaves: FastMap::default(),
            cache: FastMap::default(),
            lines: 0,
            live: 0,
            pending: 0,
            next_consolidation: 64,
            buf: Vec::new(),
            spans: Vec::new(),
            shapes: Vec::new(),
            hashes: Vec::new(),
        }
    }

    /// The settings this miner runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Adds one line (without trailing newline) and returns the template it joined.
    pub fn add(&mut self, line: &str) -> TemplateId {
        self.add_inner(line, None)
    }

    /// Like [`Miner::add`], recording `ts_millis` (any monotone clock the caller likes) as the
    /// time the line was seen, for [`Template::first_seen`] and [`Template::last_seen`].
    pub fn add_at(&mut self, line: &str, ts_millis: i64) -> TemplateId {
        self.add_inner(line, Some(ts_millis))
    }

    /// Total number of lines added.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Follows merges: the id of the live template that `id` now belongs to.
    pub fn resolve(&self, id: TemplateId) -> TemplateId {
        let mut i = id.0;
        while let Some(&p) = self.parent.get(i as usize) {
            if p == i {
                break;
            }
            i = p;
        }
        TemplateId(i)
    }

    /// The live template `id` belongs to, or `None` for an id this miner never handed out.
    pub fn template(&self, id: TemplateId) -> Option<Template<'_>> {
        if (id.0 as usize) < self.clusters.len() {
            Some(Template {
                miner: self,
                id: self.resolve(id),
            })
        } else {
            None
        }
    }

    /// All live templates, in order of first appearance.
    pub fn templates(&self) -> impl Iterator<Item = Template<'_>> + '_ {
        self.parent
            .iter()
            .enumerate()
            .filter(|&(i, &p)| p as usize == i)
            .map(move |(i, _)| Template {
                miner: self,
                id: TemplateId(i as u32),
            })
    }

    /// Number of live templates.
    pub fn len(&self) -> usize {
        self.live
    }

    /// True when no line was added yet.
    pub fn is_empty(&self) -> bool {
        self.clusters.is_empty()
    }

    /// Tokenizes and masks `line` into the scratch buffers; returns the fingerprint.
    fn prepare(&mut self, line: &str) -> u64 {
        mask_tokens(
            line,
            self.config.max_tokens,
            &mut self.buf,
            &mut self.spans,
            &mut self.shapes,
        );
        self.hashes.clear();
        let mut sig = 0x9e37_79b9_7f4a_7c15u64;
        for (&(s, e), &shape) in self.spans.iter().zip(&self.shapes) {
            let h = if shape == Shape::Wildcard {
                MASKED
            } else {
                hash_bytes(&self.buf[s as usize..e as usize])
            };
            self.hashes.push(h);
            sig = mix(sig, h);
        }
        mix(sig, self.hashes.len() as u64)
    }

    fn add_inner(&mut self, line: &str, ts: Option<i64>) -> TemplateId {
        self.lines += 1;
        let sig = self.prepare(line);
        if let Some(&id) = self.cache.get(&sig) {
            let root = self.resolve(TemplateId(id));
            self.clusters[root.0 as usize].touch(ts);
            return root;
        }
        let leaf = leaf_key(
            self.hashes.len(),
            self.hashes.first().copied().unwrap_or(WILD),
        );
        let id = match self.best_match(leaf) {
            Some(id) => {
                self.clusters[id as usize].touch(ts);
                id
            }
            None => {
                let id = self.create(line, leaf, ts);
                self.pending += 1;
                if self.pending >= self.next_consolidation {
                    self.consolidate();
                }
                self.resolve(TemplateId(id)).0
            }
        };
        if self.config.cache_capacity > 0 {
            if self.cache.len() >= self.config.cache_capacity {
                self.cache.clear();
            }
            self.cache.insert(sig, id);
        }
        TemplateId(id)
    }

    /// The most specific live template of which the prepared line is an instance: every
    /// position equal, or a variable in the template.
    fn best_match(&self, leaf: u64) -> Option<u32> {
        let mut best: Option<(u32, usize)> = None;
        for key in [leaf, self.wild_leaf_key()] {
            let Some(cands) = self.leaves.get(&key) else {
                continue;
            };
            'cand: for &c in cands {
                let mut wild = 0usize;
                for (a, b) in self.clusters[c as usize].tokens.iter().zip(&self.hashes) {
                    if *a == WILD {
                        wild += 1;
                    } else if a != b {
                        continue 'cand;
                    }
                }
                if best.is_none_or(|(_, w)| wild < w) {
                    best = Some((c, wild));
                }
            }
            if key == leaf && best.is_some_and(|(_, w)| w == 0) {
                break;
            }
        }
        best.map(|b| b.0)
    }

    fn wild_leaf_key(&self) -> u64 {
        leaf_key(self.hashes.len(), WILD)
    }

    /// Merges templates that turned out to be one event with a variable position.
    ///
    /// [`Miner::add`] calls this on its own at growing intervals (amortized cost stays linear
    /// in the number of templates); call it before reading templates to include the latest
    /// lines' evidence. It is idempotent: a second call right after the first does nothing.
    pub fn consolidate(&mut self) {
        self.pending = 0;
        let mut entries: Vec<(u64, u32, u32)> = Vec::new();
        let mut touched = vec![false; self.clusters.len()];
        loop {
            // Every (template, position) pair gets the fingerprint of the template with that
            // position blanked; templates sharing a fingerprint differ at most there. The sum of
            // per-position hashes lets one pass compute all blanked fingerprints of a template.
            entries.clear();
            for (i, c) in self.clusters.iter().enumerate() {
                if self.parent[i] as usize != i {
                    continue;
                }
                let base = mix(0x2545_f491_4f6c_dd1d, c.tokens.len() as u64);
                let sum = c
                    .tokens
                    .iter()
                    .enumerate()
                    .fold(0u64, |s, (j, &t)| s.wrapping_add(pos_hash(j, t)));
                for (p, &t) in c.tokens.iter().enumerate() {
                    let key = mix(mix(base, p as u64), sum.wrapping_sub(pos_hash(p, t)));
                    entries.push((key, p as u32, i as u32));
                }
            }
            entries.sort_unstable();
            touched.iter_mut().for_each(|t| *t = false);
            touched.resize(self.clusters.len(), false);
            let (mut changed, mut again) = (false, false);
            let mut fam: Vec<u32> = Vec::new();
            for group in entries.chunk_by(|a, b| a.0 == b.0 && a.1 == b.1) {
                if group.len() < 2 {
                    continue;
                }
                fam.clear();
                fam.extend(group.iter().map(|e| e.2));
                if fam.iter().any(|&c| touched[c as usize]) {
                    again = true;
                    continue;
                }
                let p = group[0].1 as usize;
                if !self.is_variable(&fam, p) {
                    continue;
                }
                let root = fam[0];
                for &c in &fam[1..] {
                    self.merge(root, c);
                    touched[c as usize] = true;
                }
                touched[root as usize] = true;
                changed = true;
            }
            if !(changed && again) {
                break;
            }
        }
        self.next_consolidation = (self.live / 2).max(64);
    }

    /// Decides whether templates `fam`, equal except at position `p`, are one event.
    fn is_variable(&self, fam: &[u32], p: usize) -> bool {
        let mut vals: Vec<u64> = fam
            .iter()
            .map(|&i| self.clusters[i as usize].tokens[p])
            .collect();
        if vals.contains(&WILD) {
            return true; // already decided a variable for one of them
        }
        vals.sort_unstable();
        vals.dedup();
        let first = &self.clusters[fam[0] as usize].tokens;
        let context = first
            .iter()
            .enumerate()
            .filter(|&(j, &x)| j != p && x > MASKED)
            .count();
        let (min_values, min_context) = (self.config.min_values.max(2), self.config.min_context);
        (vals.len() >= min_values && context >= min_context)
            || (vals.len() >= 2 * min_values && context >= 1)
            || (context >= 1 && self.same_shape(fam, p))
            || (context >= min_context && vals.contains(&MASKED) && self.dotted(fam, p))
    }

    /// True when every member that is not a masked value holds a dotted name at `p`: next to
    /// an address, `ns.example.org` is a host name rather than a word of the message.
    fn dotted(&self, fam: &[u32], p: usize) -> bool {
        fam.iter().all(|&i| {
            let c = &self.clusters[i as usize];
            c.tokens[p] == MASKED || c.words[p].contains('.')
        })
    }

    /// True when one member holds `pre<*>suf` at `p` and every other member a literal with the
    /// same `pre` and `suf`, e.g. `rhost=<*>` next to `rhost=example.org`, or `(<*>)` next to `()`.
    fn same_shape(&self, fam: &[u32], p: usize) -> bool {
        let words = || fam.iter().map(|&i| &*self.clusters[i as usize].words[p]);
        let Some(pattern) = words().find(|w| w.len() > WILDCARD.len() && w.contains(WILDCARD))
        else {
            return false;
        };
        let Some((pre, suf)) = pattern.split_once(WILDCARD) else {
            return false;
        };
        words().all(|w| w.len() >= pre.len() + suf.len() && w.starts_with(pre) && w.ends_with(suf))
    }

    /// Folds template `child` into `root`: positions where they differ become variables.
    fn merge(&mut self, root: u32, child: u32) {
        let (ri, ci) = (root as usize, child as usize);
        if ri == ci || self.clusters[ri].tokens.len() != self.clusters[ci].tokens.len() {
            return; // only a 64-bit fingerprint collision could get here
        }
        self.parent[ci] = root;
        // The absorbed template's text and sample are never read again: free them.
        let c = &mut self.clusters[ci];
        let (tokens, count, first, last, child_leaf) = (
            std::mem::take(&mut c.tokens),
            c.count,
            c.first_seen,
            c.last_seen,
            c.leaf,
        );
        c.words = Vec::new();
        c.sample = "".into();
        let r = &mut self.clusters[ri];
        r.count += count;
        r.first_seen = match (r.first_seen, first) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        r.last_seen = match (r.last_seen, last) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        for ((t, w), c) in r.tokens.iter_mut().zip(r.words.iter_mut()).zip(&tokens) {
            if t != c {
                *t = WILD;
                *w = WILDCARD.into();
            }
        }
        if let Some(v) = self.leaves.get_mut(&child_leaf) {
            v.retain(|&x| x != child);
        }
        self.live -= 1;
        let r = &self.clusters[root as usize];
        let want = leaf_key(r.tokens.len(), r.tokens.first().copied().unwrap_or(WILD));
        if r.leaf != want {
            let old = r.leaf;
            if let Some(v) = self.leaves.get_mut(&old) {
                v.retain(|&x| x != root);
            }
            self.leaves.entry(want).or_default().push(root);
            self.clusters[root as usize].leaf = want;
        }
    }

    fn create(&mut self, line: &str, leaf: u64, ts: Option<i64>) -> u32 {
        let id = self.clusters.len() as u32;
        let words = self
            .spans
            .iter()
            .map(|&(s, e)| String::from_utf8_lossy(&self.buf[s as usize..e as usize]).into())
            .collect();
        let mut c = Cluster {
            tokens: self.hashes.clone(),
            words,
            count: 0,
            first_seen: None,
            last_seen: None,
            sample: line.into(),
            leaf,
        };
        c.touch(ts);
        self.clusters.push(c);
        self.parent.push(id);
        self.live += 1;
        self.leaves.entry(leaf).or_default().push(id);
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(m: &Miner) -> Vec<(String, u64)> {
        m.templates().map(|t| (t.text(), t.count())).collect()
    }

    #[test]
    fn variable_words_merge_and_event_words_do_not() {
        let mut m = Miner::default();
        let users = ["alice", "bob", "carol", "dave", "erin", "frank"];
        for (i, u) in users.iter().enumerate() {
            m.add(&format!("session opened for user {u} by (uid={i})"));
            m.add(&format!("session closed for user {u}"));
        }
        m.add("Accepted password for root from 10.0.0.1 port 22 ssh2");
        m.add("Accepted password for root from 10.0.0.2 port 2222 ssh2");
        m.consolidate();
        assert_eq!(
            texts(&m),
            [
                ("session opened for user <*> by (uid=<*>)".to_owned(), 6),
                ("session closed for user <*>".to_owned(), 6),
                (
                    "Accepted password for root from <*> port <*> <*>".to_owned(),
                    2
                ),
            ]
        );
    }

    #[test]
    fn few_distinct_words_stay_apart() {
        let mut m = Miner::default();
        for i in 0..10 {
            m.add(&format!("worker {i} state changed to RUNNING"));
            m.add(&format!("worker {i} state changed to STOPPED"));
        }
        m.consolidate();
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn ids_follow_merges_and_lines_after_a_merge_join_directly() {
        let mut m = Miner::default();
        let first = m.add("cache miss for key alpha in region east");
        for k in ["beta", "gamma", "delta", "epsilon"] {
            m.add(&format!("cache miss for key {k} in region east"));
        }
        m.consolidate();
        let root = m.resolve(first);
        let t = m.template(first).unwrap();
        assert_eq!(t.id(), root);
        assert_eq!(t.text(), "cache miss for key <*> in region east");
        assert_eq!(t.sample(), "cache miss for key alpha in region east");
        let later = m.add("cache miss for key zeta in region east");
        assert_eq!(later, root);
        assert_eq!(m.template(root).unwrap().count(), 6);
        assert_eq!(m.len(), 1);
        assert!(m.template(TemplateId(999)).is_none());
    }

    #[test]
    fn first_and_last_seen() {
        let mut m = Miner::default();
        m.add_at("disk /dev/sda1 full", 2_000);
        m.add_at("disk /dev/sdb1 full", 1_000);
        m.add_at("disk /dev/sdc1 full", 3_000);
        m.add("disk /dev/sdd1 full");
        let t = m.templates().next().unwrap();
        assert_eq!(
            (t.count(), t.first_seen(), t.last_seen()),
            (4, Some(1_000), Some(3_000))
        );
        assert_eq!(m.lines(), 4);
    }

    #[test]
    fn streaming_consolidates_on_its_own() {
        // No explicit consolidate(): the periodic passes must keep the template count small.
        let mut m = Miner::default();
        for i in 0..5_000 {
            let user = format!("user{}", char::from(b'a' + (i % 26) as u8)).repeat(1 + i % 3);
            m.add(&format!("login failed for {user} from host"));
        }
        assert!(m.len() < 80, "{} templates", m.len());
    }

    #[test]
    fn long_lines_are_cut_and_empty_lines_work() {
        let mut m = Miner::new(Config {
            max_tokens: 4,
            ..Config::default()
        });
        let a = m.add("a b c d e f g");
        let b = m.add("a b c d e f g");
        assert_eq!(a, b);
        assert_eq!(m.template(a).unwrap().text(), "a b c d e f g");
        let e = m.add("");
        assert_eq!(m.template(e).unwrap().text(), "");
        assert_eq!(m.add("   "), e);
    }

    #[test]
    fn hash_never_collides_with_markers() {
        assert!(hash_bytes(b"") > MASKED);
        assert!(hash_bytes(b"<*>") > MASKED);
    }
}
