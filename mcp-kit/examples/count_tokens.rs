//! Measures the response budget's tokenizer: what loading it costs, how fast
//! it counts, and the counts themselves (so two builds can be compared).
//!
//! ```text
//! cargo build --release -p mcp-kit --example count_tokens
//! target/release/examples/count_tokens [LOGHUB_DIR]            # load, then 16 logs x 20 counts
//! heaptrack target/release/examples/count_tokens --once [DIR]  # load + one 30 KB count
//! ```
//!
//! The text of each count is the first 30 KB (cut at a line end) of one of
//! the 16 Loghub-2k logs (`LOGHUB_DIR`, default `../shared/data/loghub-2k`
//! from the workspace root). `--once` loads the tokenizer and counts the first
//! log once, for heap profilers. Resident memory comes from
//! `/proc/self/status` (`VmRSS`, `VmHWM` the peak, and at the end `RssAnon`
//! and `RssFile`: heap and the like, and pages mapped from files such as the
//! binary's own read-only data).

use std::path::PathBuf;
use std::time::Instant;

use log_patterns::accuracy::LOGHUB_2K as LOGS;
use mcp_kit::budget::count_tokens;

/// Bytes of each log counted at a time.
const TEXT_BYTES: usize = 30 * 1024;

/// Timed counts of each text (the median is reported).
const RUNS: usize = 20;

fn main() {
    let mut once = false;
    let mut dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/loghub-2k"
    ));
    for arg in std::env::args().skip(1) {
        if arg == "--once" {
            once = true;
        } else {
            dir = PathBuf::from(arg);
        }
    }
    let texts: Vec<(&str, String)> = LOGS
        .iter()
        .take(if once { 1 } else { LOGS.len() })
        .filter_map(|name| {
            let path = dir.join(name).join(format!("{name}_2k.log"));
            match std::fs::read_to_string(&path) {
                Ok(text) => Some((*name, head(&text))),
                Err(err) => {
                    eprintln!("skipped {}: {err}", path.display());
                    None
                }
            }
        })
        .collect();
    if texts.is_empty() {
        eprintln!("no Loghub-2k log under {}", dir.display());
        std::process::exit(2);
    }

    let before = memory();
    let started = Instant::now();
    let tokens = count_tokens("warm up");
    let load = started.elapsed();
    let after = memory();
    println!(
        "load: {:.2} ms ({tokens} tokens); RSS {:.1} -> {:.1} MB, peak {:.1} -> {:.1} MB",
        load.as_secs_f64() * 1e3,
        mb(before.0),
        mb(after.0),
        mb(before.1),
        mb(after.1),
    );

    if once {
        let (name, text) = &texts[0];
        println!(
            "{name}: {} bytes, {} tokens",
            text.len(),
            count_tokens(text)
        );
        return;
    }

    let (mut all_bytes, mut all_tokens, mut all_secs) = (0usize, 0usize, 0.0f64);
    println!("| log | bytes | tokens | median count (ms) | MB/s |");
    println!("|---|---|---|---|---|");
    for (name, text) in &texts {
        let mut times = Vec::with_capacity(RUNS);
        let mut tokens = 0;
        for _ in 0..RUNS {
            let started = Instant::now();
            tokens = std::hint::black_box(count_tokens(std::hint::black_box(text)));
            times.push(started.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        let median = times[RUNS / 2];
        println!(
            "| {name} | {} | {tokens} | {:.3} | {:.1} |",
            text.len(),
            median * 1e3,
            mb(text.len() as u64) / median,
        );
        all_bytes += text.len();
        all_tokens += tokens;
        all_secs += median;
    }
    let end = memory();
    println!(
        "all {} logs: {all_bytes} bytes, {all_tokens} tokens, {:.3} ms per 30 KB, {:.1} MB/s; \
         RSS {:.1} MB (anonymous {:.1}, file-backed {:.1}), peak {:.1} MB",
        texts.len(),
        all_secs * 1e3 / texts.len() as f64,
        mb(all_bytes as u64) / all_secs,
        mb(end.0),
        mb(end.2),
        mb(end.3),
        mb(end.1),
    );
}

/// The first [`TEXT_BYTES`] of `text`, cut after a line end.
fn head(text: &str) -> String {
    if text.len() <= TEXT_BYTES {
        return text.to_string();
    }
    let mut end = TEXT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let end = text[..end].rfind('\n').map_or(end, |i| i + 1);
    text[..end].to_string()
}

/// (`VmRSS`, `VmHWM`, `RssAnon`, `RssFile`) in bytes, or zeros where
/// `/proc` is absent.
fn memory() -> (u64, u64, u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .map_or(0, |kb| kb * 1024)
    };
    (
        field("VmRSS:"),
        field("VmHWM:"),
        field("RssAnon:"),
        field("RssFile:"),
    )
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
