//! Reading signature files: TOML, with the file and line of the first
//! problem (see the format in the parent module's docs).

use serde::Deserialize;
use toml::Spanned;

use super::*;

/// The built-in catalogue; `validate` as in [`parse_file`].
pub(super) fn parse_builtin(validate: bool) -> Result<Catalogue, SignatureError> {
    let mut all = Vec::new();
    for (origin, text) in BUILTIN_FILES {
        all.extend(parse_file(text, origin, validate)?);
    }
    Catalogue::build(all, "built-in signatures")
}

/// One `[[signature]]` table as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSignature {
    id: Spanned<String>,
    kind: Spanned<String>,
    strength: Spanned<i64>,
    #[serde(default)]
    stack: String,
    #[serde(default)]
    fields: Option<Spanned<Vec<Field>>>,
    #[serde(default)]
    culprit: Culprit,
    pattern: Spanned<String>,
    example: Spanned<String>,
    #[serde(default)]
    source: String,
    #[serde(default)]
    case_sensitive: bool,
}

/// A signature file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    signature: Vec<RawSignature>,
}

/// Parses one file; `validate` also compiles every pattern and checks it
/// against its example (skipped for the built-in catalogue at run time, whose
/// test does it).
pub(super) fn parse_file(
    text: &str,
    origin: &str,
    validate: bool,
) -> Result<Vec<Signature>, SignatureError> {
    let raw: RawFile = toml::from_str(text).map_err(|e| SignatureError::Syntax {
        origin: origin.to_string(),
        line: e.span().map_or(0, |s| line_of(text, s.start)),
        message: e.message().trim().to_string(),
    })?;
    let lines = Lines::of(text);
    raw.signature
        .into_iter()
        .map(|r| compile(r, &lines, origin, validate))
        .collect()
}

fn compile(
    r: RawSignature,
    lines: &Lines,
    origin: &str,
    validate: bool,
) -> Result<Signature, SignatureError> {
    let id = r.id.get_ref().clone();
    let line = |span: std::ops::Range<usize>| lines.line(span.start);
    let origin_s = origin.to_string();

    if !KINDS.contains(&r.kind.get_ref().as_str()) {
        return Err(SignatureError::UnknownKind {
            origin: origin_s,
            line: line(r.kind.span()),
            id,
            kind: r.kind.into_inner(),
        });
    }
    let strength = *r.strength.get_ref();
    if !(1..=5).contains(&strength) {
        return Err(SignatureError::Strength {
            origin: origin_s,
            line: line(r.strength.span()),
            id,
            strength,
        });
    }
    let pattern_line = line(r.pattern.span());
    let flags = if r.case_sensitive { "(?-u)" } else { "(?i-u)" };
    let full = format!("{flags}{}", r.pattern.get_ref());
    let fields = match r.fields {
        None => Field::DEFAULT.to_vec(),
        Some(f) if f.get_ref().is_empty() => {
            return Err(SignatureError::NoFields {
                origin: origin_s,
                line: line(f.span()),
                id,
            });
        }
        Some(f) => {
            let mut v = f.into_inner();
            v.dedup();
            v
        }
    };
    let field_mask = fields.iter().fold(0, |m, f| m | f.bit());
    let signature = Signature {
        line: line(r.id.span()),
        id,
        kind: r.kind.into_inner(),
        strength: strength as u8,
        fields,
        culprit: r.culprit,
        stack: r.stack,
        example: r.example.get_ref().clone(),
        source: r.source,
        literals: required_literals(r.pattern.get_ref()),
        pattern: r.pattern.get_ref().clone(),
        full,
        regex: OnceLock::new(),
        field_mask,
        origin: origin_s,
        tier: 0,
    };
    if !validate {
        return Ok(signature);
    }
    let id = signature.id.clone();
    let origin_s = signature.origin.clone();
    let regex = Regex::new(&signature.full).map_err(|e| {
        // Report the error against the pattern as written, without the flags.
        let message = match Regex::new(r.pattern.get_ref()) {
            Err(plain) => plain.to_string(),
            Ok(_) => e.to_string(),
        };
        SignatureError::Pattern {
            origin: origin_s.clone(),
            line: pattern_line,
            id: id.clone(),
            message,
        }
    })?;
    if r.culprit == Culprit::Peer && !regex.capture_names().any(|n| n == Some("peer")) {
        return Err(SignatureError::MissingPeerGroup {
            origin: origin_s,
            line: pattern_line,
            id,
        });
    }
    if !regex.is_match(truncate_bytes(r.example.get_ref(), MAX_TEXT).as_bytes()) {
        return Err(SignatureError::ExampleMismatch {
            origin: origin_s,
            line: line(r.example.span()),
            id,
            example: r.example.into_inner(),
        });
    }
    let _ = signature.regex.set(Some(regex));
    Ok(signature)
}

/// The 1-based line of byte offset `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    Lines::of(text).line(at)
}

/// Where each line of a text starts, to turn many offsets into lines.
struct Lines(Vec<usize>);

impl Lines {
    fn of(text: &str) -> Lines {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Lines(starts)
    }

    /// The 1-based line of byte offset `at`.
    fn line(&self, at: usize) -> usize {
        self.0.partition_point(|&start| start <= at).max(1)
    }
}
