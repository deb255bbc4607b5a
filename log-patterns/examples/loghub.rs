//! Loghub-2k benchmark: grouping accuracy and throughput of the default configuration.
//!
//! ```text
//! cargo run -p log-patterns --release --example loghub -- [DATA_DIR] [--passes N] [--errors NAME]
//! ```
//!
//! `DATA_DIR` defaults to `../shared/data/loghub-2k` relative to the workspace root. Each dataset
//! folder `X/` must hold `X_2k.log_structured_corrected.csv`; the `Content` column is mined and
//! the `EventId` column is the truth. `--errors NAME` lists the wrongly grouped truth templates of
//! one dataset, for error analysis.
//!
//! Throughput excludes file I/O. "cold" gives every pass a fresh miner (each pass discovers all
//! templates again, consolidations included); "warm" feeds all passes to one miner. The overall
//! figures are total lines over total time. `LP_VALUES` / `LP_CONTEXT` override
//! `Config::min_values` / `Config::min_context` for experiments; the published figures use none.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use log_patterns::Miner;
use log_patterns::accuracy::{LOGHUB_2K as DATASETS, grouping_accuracy};

struct Dataset {
    name: &'static str,
    contents: Vec<String>,
    truth: Vec<String>,
    templates: usize,
}

fn load(dir: &Path, name: &'static str) -> Result<Dataset, Box<dyn std::error::Error>> {
    let path = dir
        .join(name)
        .join(format!("{name}_2k.log_structured_corrected.csv"));
    let mut rdr = csv::Reader::from_path(&path)?;
    let headers = rdr.headers()?.clone();
    let col = |n: &str| {
        headers
            .iter()
            .position(|h| h == n)
            .ok_or_else(|| format!("{}: no column {n}", path.display()))
    };
    let (content, event) = (col("Content")?, col("EventId")?);
    let (mut contents, mut truth) = (Vec::new(), Vec::new());
    for rec in rdr.records() {
        let rec = rec?;
        contents.push(rec.get(content).unwrap_or_default().to_owned());
        truth.push(rec.get(event).unwrap_or_default().to_owned());
    }
    let mut distinct = truth.clone();
    distinct.sort();
    distinct.dedup();
    Ok(Dataset {
        name,
        contents,
        truth,
        templates: distinct.len(),
    })
}

fn config() -> log_patterns::Config {
    let mut c = log_patterns::Config::default();
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse().ok());
    if let Some(v) = env("LP_VALUES") {
        c.min_values = v;
    }
    if let Some(v) = env("LP_CONTEXT") {
        c.min_context = v;
    }
    c
}

fn mine(contents: &[String]) -> (Miner, Vec<u32>) {
    let mut miner = Miner::new(config());
    let ids: Vec<_> = contents.iter().map(|l| miner.add(l)).collect();
    miner.consolidate();
    let ids = ids.into_iter().map(|id| miner.resolve(id).0).collect();
    (miner, ids)
}

fn explain(d: &Dataset) {
    let (miner, ids) = mine(&d.contents);
    // truth -> predicted -> lines
    let mut by_truth: BTreeMap<&str, BTreeMap<u32, Vec<usize>>> = BTreeMap::new();
    let mut pred_size: HashMap<u32, usize> = HashMap::new();
    for (i, (t, &p)) in d.truth.iter().zip(&ids).enumerate() {
        by_truth.entry(t).or_default().entry(p).or_default().push(i);
        *pred_size.entry(p).or_default() += 1;
    }
    for (t, preds) in &by_truth {
        let total: usize = preds.values().map(Vec::len).sum();
        let ok = preds.len() == 1 && preds.keys().all(|p| pred_size[p] == total);
        if ok {
            continue;
        }
        println!(
            "== truth {t} ({total} lines) split into {} groups",
            preds.len()
        );
        for (p, lines) in preds {
            let tpl = miner
                .template(log_patterns::TemplateId(*p))
                .map(|t| t.text())
                .unwrap_or_default();
            println!(
                "   pred {p} [{} of {} lines]: {tpl}\n      e.g. {}",
                lines.len(),
                pred_size[p],
                d.contents[lines[0]]
            );
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/loghub-2k");
    let mut passes = 20usize;
    let mut errors = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--passes" => passes = args.next().and_then(|p| p.parse().ok()).unwrap_or(passes),
            "--errors" => errors = args.next(),
            _ => dir = PathBuf::from(a),
        }
    }
    let data: Vec<Dataset> = DATASETS
        .iter()
        .map(|n| load(&dir, n))
        .collect::<Result<_, _>>()?;
    if let Some(name) = errors {
        for d in data.iter().filter(|d| d.name == name) {
            explain(d);
        }
        return Ok(());
    }

    println!(
        "{:<12} {:>6} {:>9} {:>6} {:>7} {:>12} {:>12}",
        "dataset", "lines", "templates", "truth", "GA", "cold lines/s", "warm lines/s"
    );
    let (mut ga_sum, mut total_lines, mut total_secs, mut warm_secs) = (0.0, 0usize, 0.0, 0.0);
    for d in &data {
        let (miner, ids) = mine(&d.contents);
        let ga = grouping_accuracy(&d.truth, &ids);
        // Throughput: a fresh miner per pass, so every pass pays for discovering the templates.
        let start = Instant::now();
        let mut sink = 0u64;
        for _ in 0..passes {
            let mut m = Miner::new(config());
            for l in &d.contents {
                sink = sink.wrapping_add(u64::from(m.add(l).0));
            }
            m.consolidate();
            sink = sink.wrapping_add(m.len() as u64);
        }
        let secs = start.elapsed().as_secs_f64();
        // Warm: one miner sees the data `passes` times, as a long-running server would see a
        // steady stream of known shapes.
        let start = Instant::now();
        let mut m = Miner::new(config());
        for _ in 0..passes {
            for l in &d.contents {
                sink = sink.wrapping_add(u64::from(m.add(l).0));
            }
        }
        m.consolidate();
        let wsecs = start.elapsed().as_secs_f64();
        std::hint::black_box(sink);
        let n = d.contents.len() * passes;
        println!(
            "{:<12} {:>6} {:>9} {:>6} {:>7.4} {:>12.0} {:>12.0}",
            d.name,
            d.contents.len(),
            miner.len(),
            d.templates,
            ga,
            n as f64 / secs,
            n as f64 / wsecs
        );
        ga_sum += ga;
        total_lines += n;
        total_secs += secs;
        warm_secs += wsecs;
    }
    println!(
        "{:<12} {:>6} {:>9} {:>6} {:>7.4} {:>12.0} {:>12.0}",
        "average",
        "",
        "",
        "",
        ga_sum / data.len() as f64,
        total_lines as f64 / total_secs,
        total_lines as f64 / warm_secs
    );
    Ok(())
}
