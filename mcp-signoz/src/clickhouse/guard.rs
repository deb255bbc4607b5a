//! The first raw SQL guard: a lexical check that runs before anything is
//! sent to ClickHouse, even `EXPLAIN AST`.
//!
//! [`check_sql`] splits the query into tokens the way ClickHouse's lexer
//! does (comments and string literals are not words: `'INTO OUTFILE'` is a
//! string, `/* FORMAT */` a comment) and refuses what a read-only SELECT
//! never needs:
//!
//! * clauses that write or change the server: `INTO OUTFILE`, `FROM INFILE`,
//!   `FORMAT` (the server picks the output format itself, so any `FORMAT`
//!   clause is refused), `SETTINGS`;
//! * statements other than a query: `SET`, `SYSTEM`, `KILL`, `OPTIMIZE`,
//!   `ATTACH`, `DETACH` (and anything not starting with `SELECT`/`WITH`);
//! * functions that reach files, processes or the network, as table
//!   functions or scalar ones (`file(`, `url(`, `s3(`, `remote(`,
//!   `remoteSecure(`, `mysql(`, `postgresql(`, `hdfs(`, `input(`,
//!   `executable(`, … see [`FORBIDDEN_FUNCTIONS`]);
//! * more than one statement.
//!
//! Keywords are matched case-insensitively. Where ClickHouse and this lexer
//! could read the same text differently, the query is refused instead of
//! guessed at: nested `/*` comments, `#` comments, heredoc strings (`$$`),
//! a backslash outside a string, control characters inside a `--` comment,
//! unterminated strings and comments. The ClickHouse parser (`EXPLAIN AST`,
//! [`super::check_ast`]) then checks the tables the query reads.

use crate::store::{StoreError, StoreResult};

/// Functions that read or write files, run programs or open connections.
/// Compared in lower case.
pub const FORBIDDEN_FUNCTIONS: &[&str] = &[
    "file",
    "filecluster",
    "url",
    "urlcluster",
    "s3",
    "s3cluster",
    "gcs",
    "oss",
    "cosn",
    "remote",
    "remotesecure",
    "cluster",
    "clusterallreplicas",
    "mysql",
    "postgresql",
    "mongodb",
    "redis",
    "sqlite",
    "jdbc",
    "odbc",
    "hdfs",
    "hdfscluster",
    "azureblobstorage",
    "azureblobstoragecluster",
    "iceberg",
    "icebergs3",
    "deltalake",
    "hudi",
    "input",
    "executable",
];

/// Keywords refused wherever they appear as a word, and why.
const FORBIDDEN_WORDS: &[(&str, &str)] = &[
    ("INTO", "`INTO` (INTO OUTFILE) writes a file"),
    ("OUTFILE", "`INTO OUTFILE` writes a file"),
    ("INFILE", "`INFILE` reads a file"),
    (
        "FORMAT",
        "a `FORMAT` clause is not accepted (it can write files and the server chooses the output format)",
    ),
    ("SETTINGS", "`SETTINGS` changes server settings"),
    ("SET", "`SET` changes server settings"),
    ("SYSTEM", "`SYSTEM` statements act on the server"),
    ("KILL", "`KILL` stops queries or mutations"),
    ("OPTIMIZE", "`OPTIMIZE` rewrites table data"),
    ("ATTACH", "`ATTACH` adds tables or databases"),
    ("DETACH", "`DETACH` removes tables or databases"),
];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A bare word: keyword or identifier, as written.
    Word(String),
    /// A quoted identifier (`"x"`, `` `x` ``) or a string literal.
    Quoted,
    /// A number.
    Number,
    /// Any other character.
    Punct(char),
}

fn refuse(why: impl Into<String>) -> StoreError {
    StoreError::Invalid(format!(
        "refused: {}; query_sql runs one read-only SELECT",
        why.into()
    ))
}

fn is_word_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || !c.is_ascii()
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '$' || !c.is_ascii()
}

/// The tokens of `sql`, without comments and whitespace.
fn tokens(sql: &str) -> StoreResult<Vec<Token>> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == '-' && next == Some('-') {
            // To the end of the line; a comment holding other line breaks
            // could end earlier for ClickHouse than here.
            i += 2;
            while i < chars.len() && chars[i] != '\n' {
                if chars[i].is_control() && chars[i] != '\t' {
                    return Err(refuse("a `--` comment holds a control character"));
                }
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            loop {
                match (chars.get(i), chars.get(i + 1)) {
                    (Some('*'), Some('/')) => {
                        i += 2;
                        break;
                    }
                    (Some('/'), Some('*')) => {
                        return Err(refuse("nested `/*` comments are not accepted"));
                    }
                    (Some(_), _) => i += 1,
                    (None, _) => return Err(refuse("a `/*` comment is not closed")),
                }
            }
        } else if matches!(c, '\'' | '"' | '`') {
            // ClickHouse: a backslash escapes the next character, and the
            // quote doubled stands for itself.
            i += 1;
            loop {
                match chars.get(i) {
                    Some('\\') => i += 2,
                    Some(&q) if q == c && chars.get(i + 1) == Some(&c) => i += 2,
                    Some(&q) if q == c => {
                        i += 1;
                        break;
                    }
                    Some(_) => i += 1,
                    None => return Err(refuse(format!("a {c}…{c} literal is not closed"))),
                }
            }
            out.push(Token::Quoted);
        } else if c.is_ascii_digit() {
            // Digits and dots only: what follows (`e5`, `x1F`) is lexed as a
            // word, so `1FORMAT` still shows its keyword.
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            out.push(Token::Number);
        } else if is_word_start(c) {
            let start = i;
            while i < chars.len() && is_word_char(chars[i]) {
                i += 1;
            }
            out.push(Token::Word(chars[start..i].iter().collect()));
        } else if c == '#' {
            return Err(refuse("`#` comments are not accepted; use `--` or `/* */`"));
        } else if c == '$' {
            return Err(refuse(
                "`$` outside a name (heredoc strings, parameters) is not accepted",
            ));
        } else if c == '\\' {
            return Err(refuse("a backslash outside a string is not accepted"));
        } else {
            out.push(Token::Punct(c));
            i += 1;
        }
    }
    Ok(out)
}

/// Refuses SQL that is not one plain read-only SELECT (see the module docs).
/// `sql` is the query as given, a trailing `;` allowed.
pub fn check_sql(sql: &str) -> StoreResult<()> {
    let mut toks = tokens(sql)?;
    while toks.last() == Some(&Token::Punct(';')) {
        toks.pop();
    }
    if toks.contains(&Token::Punct(';')) {
        return Err(StoreError::Invalid(
            "one statement only (no `;` inside)".into(),
        ));
    }
    let first = toks.iter().find(|t| **t != Token::Punct('('));
    match first {
        Some(Token::Word(w))
            if w.eq_ignore_ascii_case("SELECT") || w.eq_ignore_ascii_case("WITH") => {}
        _ => {
            return Err(StoreError::Invalid(
                "only SELECT queries are allowed".into(),
            ));
        }
    }
    for (i, tok) in toks.iter().enumerate() {
        let Token::Word(word) = tok else {
            continue;
        };
        // `system.tables`, `t.format`: names, not keywords (the tables are
        // the AST check's business).
        let after_dot = i > 0 && toks[i - 1] == Token::Punct('.');
        let before_dot = toks.get(i + 1) == Some(&Token::Punct('.'));
        if after_dot || before_dot {
            continue;
        }
        let call = toks.get(i + 1) == Some(&Token::Punct('('));
        let lower = word.to_ascii_lowercase();
        if call && FORBIDDEN_FUNCTIONS.contains(&lower.as_str()) {
            return Err(refuse(format!(
                "table function `{word}` is not allowed, nor any function `{word}(`: it reads \
                 files, runs programs or opens connections"
            )));
        }
        // `format(…)` is also a string function; only the clause is refused.
        if lower == "format" && call {
            continue;
        }
        if let Some((_, why)) = FORBIDDEN_WORDS
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(word))
        {
            return Err(refuse(*why));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(sql: &str) -> String {
        match check_sql(sql) {
            Err(e) => e.to_string(),
            Ok(()) => panic!("not refused: {sql}"),
        }
    }

    #[test]
    fn plain_selects_pass() {
        for ok in [
            "SELECT 1",
            "select count() from signoz_logs.logs_v2;",
            "WITH x AS (SELECT 1) SELECT * FROM x",
            "(SELECT 1) UNION ALL (SELECT 2)",
            "SELECT resource_string_service$$name FROM signoz_traces.signoz_index_v3",
            "SELECT * FROM system.tables",
            "SELECT t.format, t.settings FROM signoz_logs.logs_v2 AS t",
            "SELECT format('{} {}', 'a', 'b')",
            "SELECT formatDateTime(now(), '%F'), urlHash('x'), fileSize",
            // Keywords in strings, quoted names and comments are not keywords.
            "SELECT 'INTO OUTFILE ''/tmp/x''' AS s",
            "SELECT 'it\\'s FORMAT JSON; SET x = 1' AS s",
            "SELECT \"FORMAT\", `SETTINGS` FROM signoz_logs.logs_v2",
            "SELECT 1 /* INTO OUTFILE 'x' FORMAT CSV */",
            "SELECT 1 -- SETTINGS readonly = 0; SYSTEM SHUTDOWN",
            "SELECT 'a;b'",
            "SELECT 1e5, 0x1F, 1.5",
        ] {
            assert!(check_sql(ok).is_ok(), "{ok}: {:?}", check_sql(ok));
        }
    }

    #[test]
    fn writes_settings_and_statements_are_refused() {
        for (bad, why) in [
            ("SELECT 1 INTO OUTFILE '/tmp/x'", "INTO OUTFILE"),
            ("select 1 into outfile '/tmp/x' TRUNCATE", "INTO OUTFILE"),
            ("SELECT 1 INTO/**/OUTFILE '/tmp/x'", "INTO OUTFILE"),
            ("SELECT 1 INTO--x\nOUTFILE '/tmp/x'", "INTO OUTFILE"),
            ("SELECT 1 /* a */ Into OutFile 'x'", "INTO OUTFILE"),
            ("SELECT * FROM t FROM INFILE '/etc/passwd'", "INFILE"),
            ("SELECT 1 FORMAT CSV", "FORMAT"),
            ("SELECT 1 format JSONEachRow", "FORMAT"),
            ("SELECT 1 1FORMAT CSV", "FORMAT"),
            ("SELECT 1 FORMAT Native INTO OUTFILE 'x'", "FORMAT"),
            ("SELECT 1 SETTINGS readonly = 0", "SETTINGS"),
            ("SELECT 1 settings max_execution_time = 1000", "SETTINGS"),
            ("SET readonly = 0", "only SELECT"),
            ("SELECT 1; SET readonly = 0", "one statement only"),
            ("SYSTEM SHUTDOWN", "only SELECT"),
            ("SELECT 1 SYSTEM", "`SYSTEM`"),
            ("KILL QUERY WHERE 1", "only SELECT"),
            ("OPTIMIZE TABLE t FINAL", "only SELECT"),
            ("ATTACH TABLE t", "only SELECT"),
            ("DETACH TABLE t", "only SELECT"),
            ("/* x */ set x = 1", "only SELECT"),
            ("SELECT 1 UNION ALL SELECT 2 SETTINGS a = 1", "SETTINGS"),
        ] {
            let e = refused(bad);
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn file_and_network_functions_are_refused() {
        for f in [
            "file",
            "url",
            "s3",
            "remote",
            "remoteSecure",
            "mysql",
            "postgresql",
            "hdfs",
            "input",
            "executable",
            "URL",
            "S3Cluster",
        ] {
            for sql in [
                format!("SELECT * FROM {f}('x', 'CSV', 'a String')"),
                format!("SELECT {f}('/etc/passwd')"),
                format!(
                    "SELECT * FROM signoz_logs.logs_v2 WHERE body IN (SELECT * FROM {f} ('x'))"
                ),
                format!("SELECT * FROM {f}/* c */('x')"),
                format!("SELECT * FROM {f}--c\n('x')"),
            ] {
                let e = refused(&sql);
                assert!(
                    e.contains(&format!("table function `{f}` is not allowed")),
                    "{sql}: {e}"
                );
            }
        }
    }

    #[test]
    fn ambiguous_lexing_is_refused() {
        for (bad, why) in [
            // Nested comments: ClickHouse and a flat reading would disagree.
            ("SELECT 1 /* /* */ ' */ INTO OUTFILE 'f' -- '", "nested"),
            ("SELECT 1 /* unterminated", "not closed"),
            ("SELECT 'unterminated", "not closed"),
            ("SELECT 'a\\", "not closed"),
            ("SELECT 1 # '\nINTO OUTFILE 'x' -- '", "`#`"),
            ("SELECT $$ ' $$ INTO OUTFILE 'x' -- '", "heredoc"),
            (
                "SELECT 1 -- x\r' \nINTO OUTFILE 'x' -- '",
                "control character",
            ),
            ("SELECT 1 \\ 2", "backslash"),
        ] {
            let e = refused(bad);
            assert!(e.contains(why), "{bad}: {e}");
        }
    }
}
