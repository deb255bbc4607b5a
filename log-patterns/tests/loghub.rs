//! Grouping accuracy on a few loghub-2k datasets, from the workspace's shared data folder.
//!
//! The data lives outside the repository (`../shared/data/loghub-2k` from the workspace root);
//! when it is absent the test prints why and passes.

use std::path::{Path, PathBuf};

use log_patterns::{Miner, accuracy::grouping_accuracy};

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/loghub-2k")
}

type Lines = (Vec<String>, Vec<String>);

fn load(dir: &Path, name: &str) -> Result<Lines, Box<dyn std::error::Error>> {
    let path = dir
        .join(name)
        .join(format!("{name}_2k.log_structured_corrected.csv"));
    let mut rdr = csv::Reader::from_path(&path)?;
    let headers = rdr.headers()?.clone();
    let col = |n: &str| headers.iter().position(|h| h == n).ok_or("missing column");
    let (content, event) = (col("Content")?, col("EventId")?);
    let mut out = (Vec::new(), Vec::new());
    for r in rdr.records() {
        let r = r?;
        out.0.push(r[content].to_owned());
        out.1.push(r[event].to_owned());
    }
    Ok(out)
}

#[test]
fn grouping_accuracy_on_loghub_samples() {
    let dir = data_dir();
    if !dir.is_dir() {
        println!("skipped: {} not found", dir.display());
        return;
    }
    for name in ["HDFS", "OpenSSH", "Linux", "Zookeeper"] {
        let (contents, truth) = load(&dir, name).unwrap();
        assert_eq!(contents.len(), 2000, "{name}");
        let mut miner = Miner::default();
        let ids: Vec<_> = contents.iter().map(|l| miner.add(l)).collect();
        miner.consolidate();
        let predicted: Vec<_> = ids.into_iter().map(|id| miner.resolve(id)).collect();
        let ga = grouping_accuracy(&truth, &predicted);
        println!("{name}: GA {ga:.4}, {} templates", miner.len());
        assert!(ga >= 0.85, "{name}: GA {ga:.4} below 0.85");
    }
}
