//! Masking of variable tokens before clustering.
//!
//! Every whitespace-separated token goes through [`mask_token`], a single forward scan over its
//! bytes. There are no regular expressions here on purpose: the masker runs on every line, and a
//! dozen regexes per token would cost more than the whole clustering step. The scan answers one
//! question per token, "is this a value or a word?", with rules that hold across log sources:
//!
//! - a token containing an ASCII digit is a value: numbers, IPv4/IPv6 addresses with or without
//!   ports, hex, UUIDs, durations (`12ms`, `1.5s`), sizes, timestamps, block and container ids,
//!   host names such as `node-246`. Words with digits that are *not* values (`HTTP/1.1`, `utf8`)
//!   are rare in messages and merely become `<*>`, which is harmless for grouping;
//! - absolute paths (`/var/log/x`, `C:\Windows\...`), URLs (`scheme://...`) and e-mail addresses
//!   are values even without digits, because their alphabetic parts are just as variable;
//! - in `key=value` the key is kept and only the value is judged, so `uid=0` becomes `uid=<*>`
//!   and the template stays readable;
//! - surrounding punctuation (`[...]`, `(...)`, quotes, a trailing `,`/`;`/`:`/`.`) is kept, so
//!   `[10.0.0.1]` becomes `[<*>]`.
//!
//! What stays a word: anything made of letters and ordinary punctuation (`error`, `true`,
//! `com.example.Foo`, `re-try`). Whether such a word is a constant or a variable is decided
//! later by the clustering, from how it varies between similar lines.

/// The wildcard written in place of a variable.
pub const WILDCARD: &str = "<*>";

/// How a token came out of the masker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// Unchanged word.
    Literal,
    /// Some part was replaced by `<*>` but punctuation or a key stayed (`uid=<*>`, `[<*>]`).
    Partial,
    /// The whole token is `<*>`.
    Wildcard,
}

#[inline]
fn is_open(b: u8) -> bool {
    matches!(b, b'(' | b'[' | b'{' | b'<' | b'"' | b'\'')
}

#[inline]
fn is_close(b: u8) -> bool {
    matches!(b, b')' | b']' | b'}' | b'>' | b'"' | b'\'')
}

#[inline]
fn closes(open: u8, close: u8) -> bool {
    matches!(
        (open, close),
        (b'(', b')') | (b'[', b']') | (b'{', b'}') | (b'<', b'>') | (b'"', b'"') | (b'\'', b'\'')
    )
}

#[inline]
fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
}

/// What a token core (a token without its surrounding punctuation) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A word: kept.
    Word,
    /// A value: replaced by `<*>` as a whole.
    Value,
    /// Several parts joined by `:`, `,`, `|` or `;` where some part holds a digit
    /// (`index:0`, `a|12|b`): each part is judged on its own.
    Compound,
}

#[inline]
fn is_delim(b: u8) -> bool {
    matches!(b, b':' | b',' | b'|' | b';')
}

/// Decides what `core` is, in one pass over its bytes.
#[inline]
fn classify(core: &[u8]) -> Kind {
    let mut digit = false;
    let mut slash = false;
    let mut dot = false;
    let mut delim = false;
    let mut at = None;
    let mut dot_after_at = false;
    // Bytes that cannot appear in a number, address, hex id, UUID or time stamp.
    let mut wordy = false;
    for (i, &b) in core.iter().enumerate() {
        match b {
            b'0'..=b'9' => digit = true,
            // Hex digits, `0x`, signs, ISO time stamps (`T`, `Z`), IPv6 in brackets.
            b'a'..=b'f' | b'A'..=b'F' | b'x' | b'T' | b'Z' | b'-' | b'_' | b'+' | b'[' | b']' => {}
            b'.' => {
                dot = true;
                dot_after_at |= at.is_some();
            }
            b':' if core[i + 1..].starts_with(b"//") => return Kind::Value, // URL
            b':' | b',' | b'|' | b';' => delim = true,
            b'/' => slash = true,
            b'\\' => return Kind::Value, // Windows path
            b'@' => {
                at = Some(i);
                wordy = true;
            }
            _ => wordy = true,
        }
    }
    if delim && wordy {
        if digit && is_host_port(core) {
            return Kind::Value;
        }
        // `index:0`, `ret:false`, `a|12|b`: parts are judged one by one.
        return Kind::Compound;
    }
    if digit {
        // A number, address, time stamp or id with digits: one value; but an
        // error code (`ORA-00942`, `E11000`, `HHH90000025`, `AADSTS700016`)
        // names the error, and masking it would merge different failures
        // into one template.
        return if is_error_code(core) {
            Kind::Word
        } else {
            Kind::Value
        };
    }
    let value = (core.len() > 1 && core[0] == b'/') // absolute path
        || (slash && dot) // relative path, URL, Java component `pkg.name/.Activity`
        || (at.is_some_and(|i| i > 0) && dot_after_at) // e-mail address
        || is_date_word(core)
        || is_literal_value(core);
    if value { Kind::Value } else { Kind::Word }
}

/// `dir/file.ext:LINE` or `dir/file.ext:LINE:COL`: where the first `:` is. The path has a
/// `/` and ends in a short alphabetic extension (`.rs`, `.go`, `.py`), so host names with a
/// port (`db-1.svc:5432`, no `/`) and URLs (`://`) are not taken for one.
fn source_location(core: &[u8]) -> Option<usize> {
    let colon = core.iter().position(|&b| b == b':')?;
    let (path, rest) = (&core[..colon], &core[colon..]);
    let numbers: Vec<&[u8]> = rest[1..].split(|&b| b == b':').collect();
    let path_ok = path.contains(&b'/')
        && path
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'_' | b'-'));
    let ext = path.rsplit(|&b| b == b'.').next()?;
    let ext_ok = path.contains(&b'.')
        && (1..=5).contains(&ext.len())
        && ext.iter().all(u8::is_ascii_alphabetic);
    let numbers_ok = (1..=2).contains(&numbers.len())
        && numbers
            .iter()
            .all(|n| !n.is_empty() && n.iter().all(u8::is_ascii_digit));
    (path_ok && ext_ok && numbers_ok).then_some(colon)
}

/// An error code as vendors print them: one to eight capital letters, an
/// optional `-` or `_`, then three to nine digits, nothing else (`ORA-00942`,
/// `E11000`, `HHH90000025`, `CS0246`, `AADSTS700016`, `PGRST301`). Host
/// names and ids are lower case or mix letters and digits (`node-246`,
/// `a1b2c3`), so they stay values.
#[inline]
fn is_error_code(core: &[u8]) -> bool {
    let letters = core.iter().take_while(|b| b.is_ascii_uppercase()).count();
    let mut rest = &core[letters..];
    if let [b'-' | b'_', tail @ ..] = rest {
        rest = tail;
    }
    (1..=8).contains(&letters)
        && (3..=9).contains(&rest.len())
        && rest.iter().all(u8::is_ascii_digit)
}

/// `host.name:port`: a dotted or dashed name, one colon, digits.
#[inline]
fn is_host_port(core: &[u8]) -> bool {
    let Some(colon) = core.iter().position(|&b| b == b':') else {
        return false;
    };
    let (host, port) = (&core[..colon], &core[colon + 1..]);
    !port.is_empty()
        && port.iter().all(u8::is_ascii_digit)
        && host
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && host.iter().any(|&b| b == b'.' || b == b'-')
}

/// Units printed after a number (`5.2 KB`, `12 ms`): [`crate::Miner`] folds them into the value.
#[inline]
pub(crate) fn is_unit(core: &[u8]) -> bool {
    matches!(
        core,
        b"B" | b"KB"
            | b"kB"
            | b"MB"
            | b"GB"
            | b"TB"
            | b"PB"
            | b"KiB"
            | b"MiB"
            | b"GiB"
            | b"TiB"
            | b"ns"
            | b"us"
            | b"ms"
            | b"s"
            | b"sec"
            | b"secs"
    )
}

/// `true`, `false`, `null`, `none`, `nil` in any case: values by nature.
#[inline]
fn is_literal_value(w: &[u8]) -> bool {
    matches!(w.len(), 3..=5)
        && [&b"true"[..], b"false", b"null", b"none", b"nil"]
            .iter()
            .any(|v| w.eq_ignore_ascii_case(v))
}

/// English month and weekday abbreviations: parts of a timestamp printed inside a message.
#[inline]
fn is_date_word(w: &[u8]) -> bool {
    matches!(
        w,
        b"Jan"
            | b"Feb"
            | b"Mar"
            | b"Apr"
            | b"May"
            | b"Jun"
            | b"Jul"
            | b"Aug"
            | b"Sep"
            | b"Oct"
            | b"Nov"
            | b"Dec"
            | b"Mon"
            | b"Tue"
            | b"Wed"
            | b"Thu"
            | b"Fri"
            | b"Sat"
            | b"Sun"
    )
}

/// Masks one token (no whitespace inside) into `out`, returning its shape.
///
/// `out` receives the masked text; for a [`Shape::Literal`] token that is the token itself.
pub(crate) fn mask_token(tok: &[u8], out: &mut Vec<u8>) -> Shape {
    // Leading openers are peeled off; a trailing closer is peeled only when it closes one of them,
    // so `LOCAL(0),` keeps its `)` with the value and masks like `10.0.0.1,` does.
    let mut start = 0;
    while start < tok.len() && start < 8 && is_open(tok[start]) {
        start += 1;
    }
    let mut open = start;
    let mut end = tok.len();
    while end > start {
        let b = tok[end - 1];
        if matches!(b, b',' | b';' | b':' | b'.' | b'!' | b'?') {
            end -= 1;
        } else if open > 0 && is_close(b) && closes(tok[open - 1], b) {
            open -= 1;
            end -= 1;
        } else if is_close(b) && !tok[start..end - 1].iter().any(|&o| closes(o, b)) {
            // A closer nothing in the token opened (`200)` of `(threshold 200);`) belongs
            // to the sentence, not to the value: it stays in the template.
            end -= 1;
        } else {
            break;
        }
    }
    let core = &tok[start..end];
    if core.is_empty() {
        // `()`, `[]`, `""`: an empty value, the same shape as a filled one.
        if start > 0 && start == end && start < tok.len() {
            out.extend_from_slice(&tok[..start]);
            out.extend_from_slice(WILDCARD.as_bytes());
            out.extend_from_slice(&tok[end..]);
            return Shape::Partial;
        }
        out.extend_from_slice(tok);
        return Shape::Literal;
    }
    // key=value: keep the key, judge the value on its own.
    if let Some(eq) = core.iter().position(|&b| b == b'=')
        && eq > 0
        && core[..eq].iter().all(|&b| is_key_byte(b))
    {
        let value = &core[eq + 1..];
        out.extend_from_slice(&tok[..start + eq + 1]);
        let shape = if value.is_empty() {
            Shape::Literal
        } else {
            match mask_token(value, out) {
                Shape::Literal => Shape::Literal,
                _ => Shape::Partial,
            }
        };
        out.extend_from_slice(&tok[end..]);
        return shape;
    }
    // A source location (`src/handlers/manifest.rs:214:37`, a Rust panic's or a Go
    // stack's): the file is the signal and stays; only line and column vary.
    if let Some(colon) = source_location(core) {
        out.extend_from_slice(&tok[..start + colon]);
        for _ in core[colon..].iter().filter(|&&b| b == b':') {
            out.push(b':');
            out.extend_from_slice(WILDCARD.as_bytes());
        }
        out.extend_from_slice(&tok[end..]);
        return Shape::Partial;
    }
    let kind = classify(core);
    if kind == Kind::Compound {
        out.extend_from_slice(&tok[..start]);
        let mut shape = Shape::Literal;
        let mut seg = 0;
        for i in 0..=core.len() {
            if i == core.len() || is_delim(core[i]) {
                if i > seg && mask_token(&core[seg..i], out) != Shape::Literal {
                    shape = Shape::Partial;
                }
                if i < core.len() {
                    out.push(core[i]);
                }
                seg = i + 1;
            }
        }
        out.extend_from_slice(&tok[end..]);
        return shape;
    }
    if kind == Kind::Value {
        out.extend_from_slice(&tok[..start]);
        out.extend_from_slice(WILDCARD.as_bytes());
        out.extend_from_slice(&tok[end..]);
        if start == 0 && end == tok.len() {
            Shape::Wildcard
        } else {
            Shape::Partial
        }
    } else {
        out.extend_from_slice(tok);
        Shape::Literal
    }
}

/// Splits `line` at ASCII whitespace and masks each token into `buf`, recording each token's
/// byte range in `buf` and its shape. At most `max_tokens` tokens: the last one takes the rest of
/// the line. A unit after a number (`5.2 KB,`) is folded into the number's token (`<*>,`), so
/// `5.2 KB` and `93 B` have the same shape.
pub(crate) fn mask_tokens(
    line: &str,
    max_tokens: usize,
    buf: &mut Vec<u8>,
    spans: &mut Vec<(u32, u32)>,
    shapes: &mut Vec<Shape>,
) {
    buf.clear();
    spans.clear();
    shapes.clear();
    let max = max_tokens.max(1);
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= bytes.len() {
            break;
        }
        let start = i;
        if spans.len() + 1 == max {
            i = bytes.len();
            while i > start && bytes[i - 1].is_ascii_whitespace() {
                i -= 1;
            }
        } else {
            while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                i += 1;
            }
        }
        let tok = &bytes[start..i];
        if buf.ends_with(WILDCARD.as_bytes()) {
            let mut end = tok.len();
            while end > 0
                && (is_close(tok[end - 1]) || is_delim(tok[end - 1]) || tok[end - 1] == b'.')
            {
                end -= 1;
            }
            if let (Some(last), Some(shape)) = (spans.last_mut(), shapes.last_mut())
                && is_unit(&tok[..end])
            {
                if end < tok.len() {
                    buf.extend_from_slice(&tok[end..]);
                    last.1 = buf.len() as u32;
                    *shape = Shape::Partial;
                }
                continue;
            }
        }
        let s = buf.len();
        let shape = mask_token(tok, buf);
        spans.push((s as u32, buf.len() as u32));
        shapes.push(shape);
    }
}

/// Masks every variable token of `line` and returns the masked line, tokens joined by one space.
///
/// This is the same masking [`crate::Miner`] applies before clustering; it is public so callers
/// can show or test it.
///
/// ```
/// assert_eq!(
///     log_patterns::mask_line("connect to 10.0.0.7:5432 took 12 ms, uid=0"),
///     "connect to <*> took <*>, uid=<*>"
/// );
/// ```
pub fn mask_line(line: &str) -> String {
    let (mut buf, mut spans, mut shapes) = (Vec::new(), Vec::new(), Vec::new());
    mask_tokens(line, usize::MAX, &mut buf, &mut spans, &mut shapes);
    let mut out = Vec::with_capacity(buf.len() + spans.len());
    for (i, &(s, e)) in spans.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(&buf[s as usize..e as usize]);
    }
    // Masking only cuts at ASCII bytes and inserts ASCII, so the text stays UTF-8.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(tok: &str) -> String {
        let mut out = Vec::new();
        mask_token(tok.as_bytes(), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn numbers_and_durations() {
        for (raw, masked) in [
            ("42", "<*>"),
            ("-17", "<*>"),
            ("3.14", "<*>"),
            ("1e-9", "<*>"),
            ("12ms", "<*>"),
            ("1.5s", "<*>"),
            ("250µs", "<*>"),
            ("100%", "<*>"),
            ("(1.23", "(<*>"),
            ("00:01", "<*>"),
            ("2024-05-01T12:00:00Z", "<*>"),
        ] {
            assert_eq!(m(raw), masked, "{raw}");
        }
    }

    #[test]
    fn error_codes_are_words() {
        for (raw, masked) in [
            ("ORA-00942:", "ORA-00942:"),
            ("E11000", "E11000"),
            ("HHH90000025:", "HHH90000025:"),
            ("(AADSTS700016)", "(AADSTS700016)"),
            ("code=PGRST301", "code=PGRST301"),
            // Not codes: lower case, mixed, too short, a hex id.
            ("node-246", "<*>"),
            ("R16", "<*>"),
            ("A1B2C3", "<*>"),
            ("DEADBEEF", "DEADBEEF"),
            ("blk_-1608999687919862906", "<*>"),
        ] {
            assert_eq!(m(raw), masked, "{raw}");
        }
    }

    #[test]
    fn addresses() {
        for (raw, masked) in [
            ("10.0.0.1", "<*>"),
            ("10.0.0.1:8080", "<*>"),
            ("[173.234.31.186]", "[<*>]"),
            ("/10.10.34.11:45307", "<*>"),
            ("fe80::1ff:fe23:4567:890a", "<*>"),
            ("[::1]:443", "[<*>"),
            ("proxy.example.com:5070", "<*>"),
            ("db-1.internal:5432,", "<*>,"),
            ("00:1b:44:11:3a:b7", "<*>"),
        ] {
            assert_eq!(m(raw), masked, "{raw}");
        }
    }

    #[test]
    fn ids_and_hex() {
        for (raw, masked) in [
            ("0x7fed806eb5d", "<*>"),
            ("deadbeef01", "<*>"),
            ("req-38101a0b-2096-447d-96ea-a692162415ae", "<*>"),
            ("38101a0b-2096-447d-96ea-a692162415ae,", "<*>,"),
            ("blk_-6952295868487656571", "<*>"),
            ("node-246", "<*>"),
            ("LOCAL(0),", "<*>,"),
        ] {
            assert_eq!(m(raw), masked, "{raw}");
        }
    }

    #[test]
    fn paths_urls_emails() {
        for (raw, masked) in [
            ("/etc/httpd/conf/workers.properties", "<*>"),
            ("C:\\Windows\\winsxs", "<*>"),
            ("https://example.com/a?b=c", "<*>"),
            ("http://localhost:8080", "<*>"),
            ("alice@example.com", "<*>"),
            ("(/var/log)", "(<*>)"),
            ("src/main.rs", "<*>"),
            ("com.example/.MainActivity", "<*>"),
        ] {
            assert_eq!(m(raw), masked, "{raw}");
        }
    }

    #[test]
    fn key_values_and_compounds() {
        for (raw, masked) in [
            ("uid=0", "uid=<*>"),
            ("(uid=0)", "(uid=<*>)"),
            ("lock=233570404,", "lock=<*>,"),
            ("ruser=", "ruser="),
            ("tty=NODEVssh", "tty=NODEVssh"),
            ("rhost=218.188.2.4", "rhost=<*>"),
            ("ret:false", "ret:<*>"),
            ("index:0", "index:<*>"),
            ("ok|12|done", "ok|<*>|done"),
            ("()", "(<*>)"),
            ("status=true", "status=<*>"),
            ("Jun", "<*>"),
        ] {
            assert_eq!(m(raw), masked, "{raw}");
        }
    }

    #[test]
    fn words_stay() {
        for w in [
            "error",
            "Connection",
            "refused,",
            "com.example.Foo",
            "re-try",
            "to:",
            "/",
            "(done)",
            "@",
            "a@b",
            "--",
            "<*>",
            "user:",
            "read/write",
            "façade",
            "June",
            "Monday",
            "trueish",
            "decade",
            "a:b",
        ] {
            assert_eq!(m(w), w, "{w} must not be masked");
        }
    }

    #[test]
    fn whole_lines() {
        assert_eq!(
            mask_line("Received connection request /10.10.34.11:45307"),
            "Received connection request <*>"
        );
        assert_eq!(
            mask_line("session opened for user root by (uid=0)"),
            "session opened for user root by (uid=<*>)"
        );
        assert_eq!(
            mask_line("Block rdd_2 stored (estimated size 5.2 KB, free 317.1 MB)"),
            "Block <*> stored (estimated size <*>, free <*>)"
        );
        // A closer the value did not open stays: it is the sentence's.
        assert_eq!(
            mask_line("queue depth high (threshold 200); requesting more workers"),
            "queue depth high (threshold <*>); requesting more workers"
        );
        assert_eq!(m("200)"), "<*>)");
        assert_eq!(m("\"12ms\")"), "\"<*>\")");
        // A source location keeps its file; line and column vary.
        assert_eq!(
            mask_line("panicked at src/handlers/manifest.rs:214:37:"),
            "panicked at src/handlers/manifest.rs:<*>:<*>:"
        );
        assert_eq!(m("(pkg/store/db.go:88)"), "(pkg/store/db.go:<*>)");
        assert_eq!(m("db-1.internal:5432"), "<*>");
        assert_eq!(m("http://x.example/a.js:1"), "<*>");
        assert_eq!(mask_line("  spaced \t out  "), "spaced out");
        assert_eq!(mask_line(""), "");
    }
}
