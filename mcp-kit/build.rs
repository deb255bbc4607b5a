//! Generates the response budget's `o200k_base` tables (see `src/tokens/mod.rs`).
//!
//! Into `OUT_DIR`, all read by `include_bytes!`/`include!` and never parsed
//! at run time:
//!
//! * `o200k_bytes.bin`: the bytes of the 199,998 ordinary tokens, in rank
//!   order, back to back, enumerated from the `tiktoken` crate's copy of the
//!   vocabulary (a build-dependency only);
//! * `o200k_index.bin`: an open-addressing hash index over them (`u64` LE
//!   slots: rank, length, then the bytes or their offset and a tag; see
//!   `src/tokens/index.rs`);
//! * `o200k_pairs.bin`: the rank of every two-byte token by its bytes (`u32`
//!   LE, 65,536 of them, `u32::MAX` where none);
//! * `o200k_tables.rs`: the token count and the pre-tokenizer's character
//!   classes as a two-level table (see `src/tokens/classes.rs`).

use std::collections::HashMap;
use std::error::Error;
use std::fmt::Write as _;
use std::path::PathBuf;

#[allow(dead_code)]
#[path = "src/tokens/classes.rs"]
mod classes;
#[allow(dead_code)]
#[path = "src/tokens/index.rs"]
mod index;

/// Ordinary tokens of `o200k_base` (ranks 0..199,998; 199,999 and 200,018
/// are special tokens, which the budget never counts as such).
const TOKENS: usize = 199_998;

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=src/tokens/classes.rs");
    println!("cargo::rerun-if-changed=src/tokens/index.rs");
    let out = PathBuf::from(std::env::var("OUT_DIR")?);

    // The vocabulary, rank by rank.
    let bpe = tiktoken::encoding::o200k_base();
    if bpe.vocab_size() != TOKENS {
        return Err(format!("o200k_base has {} tokens, not {TOKENS}", bpe.vocab_size()).into());
    }
    let mut bytes = Vec::new();
    let mut spans = Vec::with_capacity(TOKENS);
    for rank in 0..TOKENS as u32 {
        let token = bpe.decode(&[rank]);
        if token.is_empty() || token.len() >= 1 << index::LEN_BITS {
            return Err(format!(
                "o200k_base's token of rank {rank} has {} bytes",
                token.len()
            )
            .into());
        }
        spans.push((bytes.len(), token.len()));
        bytes.extend_from_slice(&token);
    }
    if bytes.len() >= 1 << index::OFFSET_BITS || TOKENS >= 1 << index::RANK_BITS {
        return Err("o200k_base does not fit the index's slots".into());
    }
    let token = |rank: usize| {
        let (offset, len) = spans[rank];
        &bytes[offset..offset + len]
    };

    // The index: linear probing from each token's home slot.
    let slots = 1usize << index::INDEX_BITS;
    let mut table = vec![0u64; slots];
    let mut longest_probe = 0;
    for (rank, &(offset, len)) in spans.iter().enumerate() {
        let h = index::hash(token(rank));
        let mut at = index::home(h);
        let mut probes = 1;
        while table[at] != 0 {
            if token(index::rank(table[at]) as usize) == token(rank) {
                return Err(format!("o200k_base has rank {rank}'s bytes twice").into());
            }
            at = (at + 1) & (slots - 1);
            probes += 1;
        }
        longest_probe = probes.max(longest_probe);
        table[at] = index::slot(h, rank as u32, offset, &bytes[offset..offset + len]);
    }

    // Two-byte tokens by their bytes, for the merges' first pass.
    let mut pairs = vec![u32::MAX; 1 << 16];
    for (rank, &(offset, len)) in spans.iter().enumerate() {
        if len == 2 {
            pairs[usize::from(bytes[offset]) << 8 | usize::from(bytes[offset + 1])] = rank as u32;
        }
    }

    let table: Vec<u8> = table.iter().flat_map(|slot| slot.to_le_bytes()).collect();
    let pairs: Vec<u8> = pairs.iter().flat_map(|rank| rank.to_le_bytes()).collect();
    std::fs::write(out.join("o200k_bytes.bin"), &bytes)?;
    std::fs::write(out.join("o200k_index.bin"), &table)?;
    std::fs::write(out.join("o200k_pairs.bin"), &pairs)?;

    // The character classes: flags per code point, then blocks of
    // 2^BLOCK_BITS code points stored once each.
    let mut flags = vec![0u8; 0x11_0000];
    for (pattern, flag) in classes::CLASSES {
        let hir = regex_syntax::parse(pattern)?;
        let regex_syntax::hir::HirKind::Class(regex_syntax::hir::Class::Unicode(class)) =
            hir.kind()
        else {
            return Err(format!("{pattern} is not a Unicode class").into());
        };
        for range in class.ranges() {
            for f in &mut flags[range.start() as usize..=range.end() as usize] {
                *f |= flag;
            }
        }
    }
    let block = 1usize << classes::BLOCK_BITS;
    let mut blocks: Vec<&[u8]> = Vec::new();
    let mut ids: HashMap<&[u8], u16> = HashMap::new();
    let mut block_of = Vec::with_capacity(flags.len() / block);
    for chunk in flags.chunks(block) {
        let id = match ids.get(chunk) {
            Some(&id) => id,
            None => {
                let id = u16::try_from(blocks.len())?;
                blocks.push(chunk);
                ids.insert(chunk, id);
                id
            }
        };
        block_of.push(id);
    }
    let mut rs = String::new();
    writeln!(rs, "// Generated by mcp-kit/build.rs: do not edit.")?;
    writeln!(rs, "/// Ordinary tokens of `o200k_base`.")?;
    writeln!(rs, "#[cfg_attr(not(test), allow(dead_code))]")?;
    writeln!(rs, "pub(super) const TOKENS: usize = {TOKENS};")?;
    writeln!(
        rs,
        "/// Longest probe sequence of the index (a miss stops at an empty slot before)."
    )?;
    writeln!(
        rs,
        "pub(super) const LONGEST_PROBE: usize = {longest_probe};"
    )?;
    writeln!(
        rs,
        "/// The flags of ASCII characters (one load on the common path)."
    )?;
    let ascii: Vec<String> = flags[..128].iter().map(u8::to_string).collect();
    writeln!(
        rs,
        "pub(super) static ASCII: [u8; 128] = [{}];",
        ascii.join(", ")
    )?;
    writeln!(rs, "/// The block of each 2^BLOCK_BITS code points.")?;
    writeln!(
        rs,
        "pub(super) static BLOCK_OF: [u16; {}] = [",
        block_of.len()
    )?;
    for ids in block_of.chunks(32) {
        let line: Vec<String> = ids.iter().map(u16::to_string).collect();
        writeln!(rs, "    {},", line.join(", "))?;
    }
    writeln!(rs, "];")?;
    writeln!(
        rs,
        "/// The flags of each code point of each distinct block."
    )?;
    writeln!(
        rs,
        "pub(super) static BLOCKS: [u8; {}] = [",
        blocks.len() * block
    )?;
    for b in &blocks {
        let line: Vec<String> = b.iter().map(u8::to_string).collect();
        writeln!(rs, "    {},", line.join(", "))?;
    }
    writeln!(rs, "];")?;
    std::fs::write(out.join("o200k_tables.rs"), rs)?;
    Ok(())
}
