//! The response budget's token counts are the real `o200k_base` counts: the
//! `tiktoken` crate the budget uses (hand-written pre-tokenizer, layered
//! vocabulary) must agree with `tiktoken-rs` (a port of OpenAI's own
//! implementation) on every text file of the repository's fixtures (logs,
//! JSON, YAML, Markdown: what tool results are made of) and on edge cases of
//! the pre-tokenizer (contractions, digit runs, whitespace runs, CJK, emoji,
//! invalid-looking punctuation).
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
