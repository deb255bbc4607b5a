//! The response budget's token counts are the real `o200k_base` counts: the
//! budget's own counter (`src/tokens/`: hand-written pre-tokenizer, static
//! vocabulary tables generated at build time) must agree with `tiktoken-rs`
//! (a port of OpenAI's own implementation) on every text file of the
//! repository's fixtures (logs, JSON, YAML, Markdown: what tool results are
//! made of), on edge cases of the pre-tokenizer (contractions, digit runs,
//! whitespace runs, CJK, emoji, invalid-looking punctuation), on thousands of
//! generated strings aimed at the pre-tokenizer's rules, and on the 16
//! Loghub-2k logs when they are present.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use mcp_kit::budget::count_tokens;

fn reference() -> tiktoken_rs::CoreBPE {
    tiktoken_rs::o200k_base().unwrap()
}

fn text_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            text_files(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("log" | "json" | "jsonl" | "yaml" | "toml" | "md")
        ) {
            out.push(path);
        }
    }
}

#[test]
fn counts_match_tiktoken_rs_on_every_fixture() {
    let bpe = reference();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let mut files = Vec::new();
    text_files(&root, &mut files);
    files.sort();
    assert!(files.len() > 100, "fixtures not found under {root:?}");
    let (mut bytes, mut tokens) = (0usize, 0usize);
    for file in &files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        // The first 64 KiB: far past any budget, and keeps the debug-build
        // reference quick.
        let mut end = text.len().min(64 * 1024);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let text = &text[..end];
        let want = bpe.encode_ordinary(text).len();
        assert_eq!(count_tokens(text), want, "{file:?}");
        bytes += text.len();
        tokens += want;
    }
    assert!(tokens > 100_000, "{tokens} tokens in {bytes} bytes");
}

#[test]
fn counts_match_tiktoken_rs_on_pre_tokenizer_edge_cases() {
    let bpe = reference();
    let cases = [
        "",
        " ",
        "\n\n\n",
        "   leading and trailing   ",
        "tabs\tand\r\nCRLF\r\n",
        "I'm sure they'll say it's fine, DON'T WE'VE",
        "1234567890123 3.14159 -42 1e10 0x7fffffff",
        "pod/checkout-7d9f8b6c5-x2x9z OOMKilled exit=137",
        "2024-06-01T14:59:59.123456Z ERROR [main] c.e.Checkout: timeout after 30000ms",
        "{\"level\":\"error\",\"msg\":\"connection refused\",\"attempt\":3}",
        "日本語のテキスト、そして中文文本。한국어 텍스트",
        "emoji 🔥🚨✅ and combining é (e\u{301})",
        "ünïcödé CAPITALS and MiXeD cAsE words",
        "    indented code();\n\tfn main() { println!(\"hi\"); }",
        "!!!???...---___***",
        "a\u{a0}non-breaking\u{2003}em space\u{200b}zero width",
    ];
    for case in cases {
        assert_eq!(
            count_tokens(case),
            bpe.encode_ordinary(case).len(),
            "{case:?}"
        );
    }
}

/// A deterministic generator (SplitMix64), so a failure names a case that
/// reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Fragments aimed at the pattern's rules: each class of letters (Lu, Ll, Lt,
/// Lm, Lo, marks), numbers of every kind, contractions in every case,
/// whitespace of every kind before letters, punctuation, newlines and the end
/// of the text, `/` after newlines, control bytes.
const FRAGMENTS: &[&str] = &[
    // Words, case changes, contractions.
    "hello",
    "World",
    "HTTP",
    "HTTPServer",
    "iPhone",
    "camelCaseWord",
    "ALLCAPS",
    "a",
    "Z",
    "'s",
    "'S",
    "'t",
    "'T",
    "'re",
    "'RE",
    "'rE",
    "'ve",
    "'VE",
    "'m",
    "'M",
    "'ll",
    "'LL",
    "'lL",
    "'d",
    "'D",
    "'ſ",
    "'x",
    "'",
    "''",
    "\u{2019}s",
    "don't",
    "WE'LL",
    "it's",
    "'e",
    // Numbers.
    "1",
    "12",
    "123",
    "1234567",
    "3.14",
    "-42",
    "1e10",
    "0x7f",
    "\u{663}\u{664}\u{665}",
    "\u{2460}",
    "\u{216b}",
    "\u{bd}",
    "\u{1d7d8}",
    "\u{2070}",
    // Whitespace.
    " ",
    "  ",
    "   ",
    "\t",
    "\t\t",
    "\r\n",
    "\n",
    "\r",
    "\n\n",
    " \n ",
    "\r\n\t",
    " \t ",
    "\u{a0}",
    "\u{3000}",
    "\u{2028}",
    "\u{2029}",
    "\u{85}",
    "\u{b}",
    "\u{c}",
    "\u{2003}",
    "\u{200b}",
    "\u{feff}",
    // Punctuation and symbols.
    ".",
    ",",
    "/",
    "//",
    "...",
    "!?",
    "-",
    "_",
    "(",
    ")",
    "{",
    "}",
    "\"",
    "#",
    "@",
    "=",
    "==>",
    "/\n",
    "\\",
    "|",
    "$",
    "%",
    "^",
    "&",
    "*",
    "+",
    "<",
    ">",
    "~",
    "`",
    ":",
    ";",
    "\u{2014}",
    "\u{20ac}",
    "\u{a9}",
    "\u{2192}",
    "\u{300c}",
    "\u{3002}",
    // Control bytes.
    "\0",
    "\u{1}",
    "\u{1b}[0m",
    "\u{7f}",
    "\u{1c}",
    "\u{1f}",
    // Scripts, marks, emoji.
    "日本語",
    "中文文本",
    "ひらがな",
    "カタカナー",
    "한국어",
    "々",
    "e\u{301}",
    "\u{301}",
    "\u{300}\u{301}",
    "a\u{20dd}",
    "\u{93f}",
    "क्षि",
    "Ελληνικά",
    "Русский",
    "ΣΑΣ",
    "\u{1c5}",
    "\u{1c4}",
    "\u{2b0}",
    "ß",
    "İstanbul",
    "ﬁ",
    "\u{212a}",
    "ſ",
    "العربية",
    "עברית",
    "ไทย",
    "🔥",
    "👍🏽",
    "👨\u{200d}👩\u{200d}👧",
    "🇫🇷",
    "❤\u{fe0f}",
    "\u{10400}",
    "\u{10428}",
];

/// One generated string: fragments, sometimes a random code point, sometimes
/// a long run of one fragment (pieces past the counter's stack merge).
fn generated(rng: &mut Rng) -> String {
    let mut text = String::new();
    let parts = 1 + rng.below(24);
    for _ in 0..parts {
        match rng.below(20) {
            0 => {
                let c = loop {
                    let cp = match rng.below(3) {
                        0 => rng.below(0x80),
                        1 => rng.below(0x1_0000),
                        _ => rng.below(0x11_0000),
                    };
                    if let Some(c) = char::from_u32(cp as u32) {
                        break c;
                    }
                };
                text.push(c);
            }
            1 => {
                let fragment = rng.pick(FRAGMENTS);
                let times = 20 + rng.below(200);
                text.push_str(&fragment.repeat(times));
            }
            _ => text.push_str(rng.pick(FRAGMENTS)),
        }
    }
    text
}

#[test]
fn counts_match_tiktoken_rs_on_generated_strings() {
    let bpe = reference();
    let mut rng = Rng(0x5EED_0200_CAFE);
    for case in 0..4_000 {
        let text = generated(&mut rng);
        assert_eq!(
            count_tokens(&text),
            bpe.encode_ordinary(&text).len(),
            "case {case}: {text:?}"
        );
    }
}

#[test]
fn counts_match_tiktoken_rs_on_loghub_2k() {
    let dir = std::env::var_os("LOGHUB_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/loghub-2k"),
        PathBuf::from,
    );
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("skipped: no Loghub-2k logs at {dir:?} (set LOGHUB_DIR)");
        return;
    };
    let bpe = reference();
    let mut logs = 0;
    for entry in entries {
        let name = entry.unwrap().file_name();
        let path = dir
            .join(&name)
            .join(format!("{}_2k.log", name.to_string_lossy()));
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        assert_eq!(
            count_tokens(&text),
            bpe.encode_ordinary(&text).len(),
            "{path:?}"
        );
        logs += 1;
    }
    assert_eq!(logs, 16, "Loghub-2k logs under {dir:?}");
}
