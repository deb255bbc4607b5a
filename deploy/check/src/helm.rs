//! A small Helm renderer: the Go-template subset the chart under
//! `deploy/helm/sre-agent` uses, so the chart is checked here without the
//! `helm` binary (no package registry this project's machines reach ships it).
//!
//! Supported, with Go template semantics: text and `{{ pipeline }}` actions
//! with the `{{-` / `-}}` trim markers; `{{/* comments */}}`; `if` / `else if`
//! / `else` / `end`; `range` over a list or map (`.` is the element) with
//! `else`; `with`; operands `.`, `$`, `.a.b`, `$.a.b`, string, integer and
//! boolean literals and `( pipeline )`; and the functions `quote`, `toYaml`,
//! `indent`, `nindent`, `default`, `not`, `and`, `or`, `eq`, `ne`, `join`,
//! `required` and `toString`. Anything else (`define`, `include`, variables,
//! other functions) is an error naming the template and what it met, so the
//! chart cannot rely on something this renderer would silently get wrong.
//!
//! [`render_chart`] merges `values.yaml` with overrides, renders every
//! `templates/*.yaml` (files starting with `_` are partials and skipped) and
//! returns the objects, as [`crate::render`] does for kustomize.

use std::path::Path;

use serde_json::{Map, Value};

/// The release a chart is rendered for.
#[derive(Debug, Clone)]
pub struct Release {
    /// `.Release.Name`.
    pub name: String,
    /// `.Release.Namespace`.
    pub namespace: String,
}

/// Deep-merges `over` into `base` (maps merge, everything else replaces).
pub fn merge_values(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(slot) => merge_values(slot, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

/// `a.b.c=value` as a nested map, the way `helm --set` reads it for
/// booleans, integers and plain strings.
pub fn set_value(path: &str, value: &str) -> Value {
    let leaf = match value {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        v => v
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(v.to_string())),
    };
    path.rsplit('.').fold(leaf, |acc, key| {
        let mut m = Map::new();
        m.insert(key.to_string(), acc);
        Value::Object(m)
    })
}

/// Renders the chart in `dir` with `values.yaml` merged with each of
/// `overrides` in turn; returns the objects of every template.
pub fn render_chart(
    dir: &Path,
    release: &Release,
    overrides: &[Value],
) -> Result<Vec<Value>, String> {
    let chart = crate::read_yaml(&dir.join("Chart.yaml"))?;
    let chart = chart.into_iter().next().unwrap_or(Value::Null);
    let mut values = crate::read_yaml(&dir.join("values.yaml"))?
        .into_iter()
        .next()
        .unwrap_or_else(|| Value::Object(Map::new()));
    for o in overrides {
        merge_values(&mut values, o);
    }
    let root = serde_json::json!({
        "Values": values,
        "Release": {
            "Name": release.name,
            "Namespace": release.namespace,
            "Service": "Helm",
        },
        "Chart": {
            "Name": chart.get("name").cloned().unwrap_or(Value::Null),
            "Version": chart.get("version").cloned().unwrap_or(Value::Null),
            "AppVersion": chart.get("appVersion").cloned().unwrap_or(Value::Null),
        },
    });
    let mut files: Vec<_> = std::fs::read_dir(dir.join("templates"))
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().to_string());
            name.is_some_and(|n| n.ends_with(".yaml") && !n.starts_with('_'))
        })
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let rendered =
            render_template(&text, &root).map_err(|e| format!("{}: {e}", file.display()))?;
        out.extend(
            crate::split_yaml(&rendered)
                .map_err(|e| format!("{} (rendered): {e}\n{rendered}", file.display()))?,
        );
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Lexing and parsing
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Piece {
    Text(String),
    Action(String),
}

/// Splits a template into text and actions, applying the trim markers.
fn lex(src: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut rest = src;
    let mut trim_next = false;
    while let Some(start) = rest.find("{{") {
        let mut text = &rest[..start];
        if trim_next {
            text = text.trim_start();
        }
        let after = &rest[start + 2..];
        let (trim_prev, body_start) = match after.strip_prefix("- ") {
            Some(_) => (true, 2),
            None => (false, 0),
        };
        if trim_prev {
            text = text.trim_end();
        }
        pieces.push(Piece::Text(text.to_string()));
        let end = after
            .find("}}")
            .ok_or_else(|| "an action is not closed with }}".to_string())?;
        let mut body = &after[body_start..end];
        trim_next = body.ends_with(" -");
        if trim_next {
            body = &body[..body.len() - 2];
        }
        let body = body.trim();
        if !(body.starts_with("/*") && body.ends_with("*/")) {
            pieces.push(Piece::Action(body.to_string()));
        }
        rest = &after[end + 2..];
    }
    pieces.push(Piece::Text(if trim_next {
        rest.trim_start().to_string()
    } else {
        rest.to_string()
    }));
    Ok(pieces)
}

#[derive(Debug, Clone)]
enum Arg {
    Dot(Vec<String>),
    Root(Vec<String>),
    Str(String),
    Int(i64),
    Bool(bool),
    Sub(Vec<Cmd>),
}

#[derive(Debug, Clone)]
enum Cmd {
    Call(String, Vec<Arg>),
    Operand(Arg),
}

type Pipeline = Vec<Cmd>;

#[derive(Debug, Clone)]
enum Node {
    Text(String),
    Output(Pipeline),
    If(Vec<(Pipeline, Vec<Node>)>, Vec<Node>),
    Range(Pipeline, Vec<Node>, Vec<Node>),
    With(Pipeline, Vec<Node>, Vec<Node>),
}

const FUNCTIONS: &[&str] = &[
    "quote", "toYaml", "indent", "nindent", "default", "not", "and", "or", "eq", "ne", "join",
    "required", "toString",
];

fn tokens(src: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = src.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '"' {
            let mut s = String::from('"');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' && i + 1 < chars.len() {
                    s.push(chars[i]);
                    i += 1;
                }
                s.push(chars[i]);
                i += 1;
            }
            if i >= chars.len() {
                return Err(format!("unterminated string in `{src}`"));
            }
            s.push('"');
            i += 1;
            out.push(s);
        } else if "()|".contains(c) {
            out.push(c.to_string());
            i += 1;
        } else {
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() && !"()|\"".contains(chars[i]) {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
        }
    }
    Ok(out)
}

fn parse_pipeline(toks: &[String], pos: &mut usize) -> Result<Pipeline, String> {
    let mut cmds = Vec::new();
    loop {
        let mut words = Vec::new();
        while *pos < toks.len() && toks[*pos] != "|" && toks[*pos] != ")" {
            if toks[*pos] == "(" {
                *pos += 1;
                let sub = parse_pipeline(toks, pos)?;
                if toks.get(*pos).map(String::as_str) != Some(")") {
                    return Err("unbalanced parentheses".into());
                }
                *pos += 1;
                words.push(Err(Arg::Sub(sub)));
            } else {
                words.push(Ok(toks[*pos].clone()));
                *pos += 1;
            }
        }
        if words.is_empty() {
            return Err("empty command in a pipeline".into());
        }
        let mut it = words.into_iter();
        let first = it.next().ok_or("empty command")?;
        let args: Result<Vec<Arg>, String> = it
            .map(|w| match w {
                Ok(t) => parse_arg(&t),
                Err(a) => Ok(a),
            })
            .collect();
        let args = args?;
        let cmd = match first {
            Ok(word) if FUNCTIONS.contains(&word.as_str()) => Cmd::Call(word, args),
            Ok(word)
                if word.chars().next().is_some_and(char::is_alphabetic)
                    && word != "true"
                    && word != "false" =>
            {
                return Err(format!(
                    "function `{word}` is not implemented by deploy/check's renderer"
                ));
            }
            Ok(word) => {
                if !args.is_empty() {
                    return Err(format!("`{word}` takes no arguments"));
                }
                Cmd::Operand(parse_arg(&word)?)
            }
            Err(sub) => {
                if !args.is_empty() {
                    return Err("a parenthesised pipeline takes no arguments".into());
                }
                Cmd::Operand(sub)
            }
        };
        cmds.push(cmd);
        if toks.get(*pos).map(String::as_str) == Some("|") {
            *pos += 1;
        } else {
            return Ok(cmds);
        }
    }
}

fn field_path(s: &str) -> Vec<String> {
    s.split('.')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

fn parse_arg(t: &str) -> Result<Arg, String> {
    if let Some(rest) = t.strip_prefix('$') {
        if !(rest.is_empty() || rest.starts_with('.')) {
            return Err(format!("variables ({t}) are not implemented"));
        }
        return Ok(Arg::Root(field_path(rest)));
    }
    if t.starts_with('.') {
        return Ok(Arg::Dot(field_path(t)));
    }
    if t.starts_with('"') {
        let inner = &t[1..t.len() - 1];
        return Ok(Arg::Str(
            inner
                .replace("\\\"", "\"")
                .replace("\\n", "\n")
                .replace("\\\\", "\\"),
        ));
    }
    match t {
        "true" => return Ok(Arg::Bool(true)),
        "false" => return Ok(Arg::Bool(false)),
        _ => {}
    }
    t.parse::<i64>()
        .map(Arg::Int)
        .map_err(|_| format!("cannot read operand `{t}`"))
}

fn parse_action(body: &str) -> Result<Pipeline, String> {
    let toks = tokens(body)?;
    let mut pos = 0;
    let p = parse_pipeline(&toks, &mut pos)?;
    if pos != toks.len() {
        return Err(format!("unexpected `{}` in `{body}`", toks[pos]));
    }
    Ok(p)
}

/// What ended a block: `end`, `else`, or `else if PIPELINE`.
enum Stop {
    End,
    Else,
    ElseIf(Pipeline),
    Eof,
}

fn parse_nodes(pieces: &[Piece], pos: &mut usize) -> Result<(Vec<Node>, Stop), String> {
    let mut nodes = Vec::new();
    while *pos < pieces.len() {
        let piece = pieces[*pos].clone();
        *pos += 1;
        let action = match piece {
            Piece::Text(t) => {
                if !t.is_empty() {
                    nodes.push(Node::Text(t));
                }
                continue;
            }
            Piece::Action(a) => a,
        };
        let (word, rest) = action
            .split_once(char::is_whitespace)
            .map(|(w, r)| (w, r.trim()))
            .unwrap_or((action.as_str(), ""));
        match word {
            "end" => return Ok((nodes, Stop::End)),
            "else" if rest.is_empty() => return Ok((nodes, Stop::Else)),
            "else" => {
                let Some(cond) = rest.strip_prefix("if ") else {
                    return Err(format!("`{action}` is not implemented"));
                };
                return Ok((nodes, Stop::ElseIf(parse_action(cond)?)));
            }
            "if" => {
                let mut branches = Vec::new();
                let mut cond = parse_action(rest)?;
                loop {
                    let (body, stop) = parse_nodes(pieces, pos)?;
                    branches.push((cond, body));
                    match stop {
                        Stop::End => break nodes.push(Node::If(branches, Vec::new())),
                        Stop::ElseIf(c) => cond = c,
                        Stop::Else => {
                            let (otherwise, stop) = parse_nodes(pieces, pos)?;
                            if !matches!(stop, Stop::End) {
                                return Err("`if … else` without `end`".into());
                            }
                            break nodes.push(Node::If(branches, otherwise));
                        }
                        Stop::Eof => return Err("`if` without `end`".into()),
                    }
                }
            }
            "range" | "with" => {
                if rest.contains(":=") {
                    return Err(format!("variables in `{action}` are not implemented"));
                }
                let p = parse_action(rest)?;
                let (body, stop) = parse_nodes(pieces, pos)?;
                let otherwise = match stop {
                    Stop::End => Vec::new(),
                    Stop::Else => {
                        let (o, s) = parse_nodes(pieces, pos)?;
                        if !matches!(s, Stop::End) {
                            return Err(format!("`{word}` without `end`"));
                        }
                        o
                    }
                    _ => return Err(format!("`{word}` without `end`")),
                };
                nodes.push(if word == "range" {
                    Node::Range(p, body, otherwise)
                } else {
                    Node::With(p, body, otherwise)
                });
            }
            "define" | "template" | "block" | "include" | "break" | "continue" => {
                return Err(format!(
                    "`{word}` is not implemented by deploy/check's renderer"
                ));
            }
            _ => nodes.push(Node::Output(parse_action(&action)?)),
        }
    }
    Ok((nodes, Stop::Eof))
}

// ---------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------

/// Go template truth: false, 0, nil, and empty strings, lists and maps are false.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
    }
}

/// How `{{ value }}` prints a value; maps and lists need `toYaml`.
fn print(v: &Value) -> Result<String, String> {
    Ok(match v {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(f)) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
            (None, Some(f)) => f.to_string(),
            _ => n.to_string(),
        },
        Value::String(s) => s.clone(),
        Value::Array(_) | Value::Object(_) => {
            return Err("a list or map printed without toYaml".into());
        }
    })
}

fn lookup(mut v: &Value, path: &[String]) -> Value {
    for key in path {
        match v.get(key) {
            Some(next) => v = next,
            None => return Value::Null,
        }
    }
    v.clone()
}

fn to_yaml(v: &Value) -> Result<String, String> {
    if v.is_null() {
        return Ok("null".into());
    }
    let s = serde_yaml_ng::to_string(v).map_err(|e| e.to_string())?;
    Ok(s.trim_end_matches('\n').to_string())
}

fn indent(n: &Value, text: &Value) -> Result<String, String> {
    let n = n.as_i64().ok_or("indent needs a number")?;
    let pad = " ".repeat(usize::try_from(n).map_err(|_| "negative indent")?);
    Ok(print(text)?
        .split('\n')
        .map(|l| format!("{pad}{l}"))
        .collect::<Vec<_>>()
        .join("\n"))
}

fn quote(s: &str) -> String {
    let mut out = String::from('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

struct Ctx<'a> {
    root: &'a Value,
}

impl Ctx<'_> {
    fn arg(&self, a: &Arg, dot: &Value) -> Result<Value, String> {
        Ok(match a {
            Arg::Dot(p) => lookup(dot, p),
            Arg::Root(p) => lookup(self.root, p),
            Arg::Str(s) => Value::String(s.clone()),
            Arg::Int(i) => Value::from(*i),
            Arg::Bool(b) => Value::Bool(*b),
            Arg::Sub(p) => self.pipeline(p, dot)?,
        })
    }

    fn pipeline(&self, p: &Pipeline, dot: &Value) -> Result<Value, String> {
        let mut piped: Option<Value> = None;
        for cmd in p {
            piped = Some(match cmd {
                Cmd::Operand(a) => {
                    if piped.is_some() {
                        return Err("an operand cannot take piped input".into());
                    }
                    self.arg(a, dot)?
                }
                Cmd::Call(f, args) => {
                    let mut vals: Vec<Value> = args
                        .iter()
                        .map(|a| self.arg(a, dot))
                        .collect::<Result<_, _>>()?;
                    if let Some(v) = piped.take() {
                        vals.push(v);
                    }
                    call(f, &vals)?
                }
            });
        }
        piped.ok_or_else(|| "empty pipeline".into())
    }

    fn nodes(&self, nodes: &[Node], dot: &Value, out: &mut String) -> Result<(), String> {
        for n in nodes {
            match n {
                Node::Text(t) => out.push_str(t),
                Node::Output(p) => out.push_str(&print(&self.pipeline(p, dot)?)?),
                Node::If(branches, otherwise) => {
                    let mut done = false;
                    for (cond, body) in branches {
                        if truthy(&self.pipeline(cond, dot)?) {
                            self.nodes(body, dot, out)?;
                            done = true;
                            break;
                        }
                    }
                    if !done {
                        self.nodes(otherwise, dot, out)?;
                    }
                }
                Node::Range(p, body, otherwise) => {
                    let items: Vec<Value> = match self.pipeline(p, dot)? {
                        Value::Array(a) => a,
                        Value::Object(m) => m.into_iter().map(|(_, v)| v).collect(),
                        Value::Null => Vec::new(),
                        other => return Err(format!("range over {other}")),
                    };
                    if items.is_empty() {
                        self.nodes(otherwise, dot, out)?;
                    }
                    for item in &items {
                        self.nodes(body, item, out)?;
                    }
                }
                Node::With(p, body, otherwise) => {
                    let v = self.pipeline(p, dot)?;
                    if truthy(&v) {
                        self.nodes(body, &v, out)?;
                    } else {
                        self.nodes(otherwise, dot, out)?;
                    }
                }
            }
        }
        Ok(())
    }
}

fn call(f: &str, a: &[Value]) -> Result<Value, String> {
    let want = |n: usize| {
        if a.len() == n {
            Ok(())
        } else {
            Err(format!("{f} takes {n} arguments, got {}", a.len()))
        }
    };
    Ok(match f {
        "quote" => Value::String(
            a.iter()
                .filter(|v| !v.is_null())
                .map(|v| print(v).map(|s| quote(&s)))
                .collect::<Result<Vec<_>, _>>()?
                .join(" "),
        ),
        "toString" => {
            want(1)?;
            Value::String(print(&a[0])?)
        }
        "toYaml" => {
            want(1)?;
            Value::String(to_yaml(&a[0])?)
        }
        "indent" => {
            want(2)?;
            Value::String(indent(&a[0], &a[1])?)
        }
        "nindent" => {
            want(2)?;
            Value::String(format!("\n{}", indent(&a[0], &a[1])?))
        }
        "default" => {
            want(2)?;
            if truthy(&a[1]) {
                a[1].clone()
            } else {
                a[0].clone()
            }
        }
        "required" => {
            want(2)?;
            if a[1].is_null() || a[1] == Value::String(String::new()) {
                return Err(format!("required: {}", print(&a[0])?));
            }
            a[1].clone()
        }
        "not" => {
            want(1)?;
            Value::Bool(!truthy(&a[0]))
        }
        "and" => a
            .iter()
            .find(|v| !truthy(v))
            .or(a.last())
            .cloned()
            .ok_or("and needs arguments")?,
        "or" => a
            .iter()
            .find(|v| truthy(v))
            .or(a.last())
            .cloned()
            .ok_or("or needs arguments")?,
        "eq" | "ne" => {
            want(2)?;
            let same = match (&a[0], &a[1]) {
                (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
                (x, y) => x == y,
            };
            Value::Bool(same == (f == "eq"))
        }
        "join" => {
            want(2)?;
            let sep = print(&a[0])?;
            let items = a[1].as_array().ok_or("join needs a list")?;
            Value::String(
                items
                    .iter()
                    .map(print)
                    .collect::<Result<Vec<_>, _>>()?
                    .join(&sep),
            )
        }
        _ => return Err(format!("function `{f}` is not implemented")),
    })
}

/// Renders one template text against `root` (`.Values`, `.Release`, `.Chart`).
pub fn render_template(text: &str, root: &Value) -> Result<String, String> {
    let pieces = lex(text)?;
    let mut pos = 0;
    let (nodes, stop) = parse_nodes(&pieces, &mut pos)?;
    if !matches!(stop, Stop::Eof) {
        return Err("`end` or `else` without a block".into());
    }
    let mut out = String::new();
    Ctx { root }.nodes(&nodes, root, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn r(t: &str, root: Value) -> String {
        render_template(t, &root).unwrap()
    }

    #[test]
    fn trim_markers_and_conditions_behave_like_go_templates() {
        let root =
            json!({"Values": {"on": true, "off": false, "n": 0, "name": "x", "l": ["a", "b"]}});
        assert_eq!(
            r("a\n{{- if .Values.on }}\nb{{ end }}", root.clone()),
            "a\nb"
        );
        assert_eq!(
            r(
                "a {{- if .Values.off }}b{{ else }} c{{ end -}}  \n d",
                root.clone()
            ),
            "a cd"
        );
        assert_eq!(
            r(
                "{{ if .Values.n }}1{{ else if .Values.name }}2{{ else }}3{{ end }}",
                root.clone()
            ),
            "2"
        );
        assert_eq!(
            r("{{ range .Values.l }}[{{ . }}]{{ end }}", root.clone()),
            "[a][b]"
        );
        assert_eq!(
            r(
                "{{ range .Values.none }}x{{ else }}empty{{ end }}",
                root.clone()
            ),
            "empty"
        );
        assert_eq!(
            r(
                "{{ with .Values.name }}{{ . }}{{ $.Values.n }}{{ end }}",
                root.clone()
            ),
            "x0"
        );
        assert_eq!(
            r(
                "{{ and .Values.on .Values.name }}|{{ or .Values.off .Values.n }}",
                root.clone()
            ),
            "x|0"
        );
        assert_eq!(
            r("{{ not (eq .Values.name \"x\") }}", root.clone()),
            "false"
        );
        assert_eq!(r("{{/* note */}}{{ .Values.name | quote }}", root), "\"x\"");
    }

    #[test]
    fn functions_format_like_helm() {
        let root =
            json!({"Values": {"m": {"b": 1, "a": "s"}, "l": ["x", "y"], "port": 8080, "e": ""}});
        assert_eq!(
            r("k:{{ toYaml .Values.m | nindent 2 }}", root.clone()),
            "k:\n  a: s\n  b: 1"
        );
        assert_eq!(r("{{ .Values.port }}", root.clone()), "8080");
        assert_eq!(r("{{ join \",\" .Values.l }}", root.clone()), "x,y");
        assert_eq!(r("{{ .Values.e | default \"d\" }}", root.clone()), "d");
        assert_eq!(r("{{ quote \"a\\\"b\" }}", root.clone()), "\"a\\\"b\"");
        assert!(render_template("{{ .Values.m }}", &root).is_err());
        assert!(render_template("{{ required \"set e\" .Values.e }}", &root).is_err());
    }

    #[test]
    fn what_is_not_implemented_is_refused() {
        let root = json!({});
        for t in [
            "{{ include \"x\" . }}",
            "{{ define \"x\" }}{{ end }}",
            "{{ $x := 1 }}",
            "{{ range $i, $v := .Values.l }}{{ end }}",
            "{{ upper \"a\" }}",
            "{{ if true }}",
            "{{ end }}",
        ] {
            assert!(render_template(t, &root).is_err(), "{t} was accepted");
        }
    }

    #[test]
    fn set_values_merge_into_defaults() {
        let mut v = json!({"writes": {"enabled": false, "keep": 1}});
        merge_values(&mut v, &set_value("writes.enabled", "true"));
        assert_eq!(v, json!({"writes": {"enabled": true, "keep": 1}}));
    }
}
