//! Reading the inside of a log record or a span: the human message and the
//! error it carries, wherever the logger put them.
//!
//! In real services the cause of a failure is rarely in a log record's body
//! alone. A Java, Python or .NET logger bridged to OpenTelemetry writes
//! `Request failed` as the body and the real text in the record's
//! `exception.type` / `exception.message` / `exception.stacktrace`
//! attributes; a service logging JSON or logfmt to stdout, unparsed by the
//! collector, leaves a body like `{"level":"error","ts":…,"msg":"…","error":"…"}`
//! whose timestamps would make every line its own template. This module
//! turns both into one readable form, [`Readable`]: the message, the error's
//! type and message, and the top frame of its stack. Mining templates on
//! [`Readable::template_text`] groups lines by what they say, and a new error
//! behind an old message (`Request failed` with a new exception) becomes a new
//! template.
//!
//! Formats read from the body, as the libraries print them: Spring Boot /
//! logstash-logback-encoder JSON (`message`, `stack_trace`), Elastic Common
//! Schema (`error.type`, `error.message`, `error.stack_trace`), Go zap (`msg`,
//! `error`, `stacktrace`), Node pino and bunyan (`msg`, `err{type,message,stack}`),
//! Serilog compact JSON (`@m`/`@mt`, `@l`, `@x`), Python json-logger
//! (`message`, `exc_info`) and structlog (`event`, `exception`), and logfmt
//! (logrus, go-kit: `level=error msg="…" error="…"`).
//!
//! The record's level may also live only in the body: [`crate::severity`]
//! reads it, so that severity filters work on logs the collector did not parse.

use std::sync::LazyLock;

use serde_json::Value;

mod body;

use self::body::text_of;
pub use self::body::{BodyFields, LEVEL_KEYS, parse_body, parse_logfmt};
use crate::model::LogRow;
use crate::stack::parse_stack;

/// A log record or span exception in readable form.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Readable {
    /// The human message (the body, or its `message`/`msg`/`event` field).
    pub message: String,
    /// The error's type (`java.lang.IllegalStateException`, `ZeroDivisionError`).
    pub error_type: String,
    /// The error's message, possibly several lines.
    pub error_message: String,
    /// The top frame of the error's stack, e.g. `at com.acme.Pay.charge(Pay.java:88)`.
    pub top_frame: String,
    /// The innermost cause its stack names (`Caused by:`, `--->`,
    /// `[cause]:`, a Python chain's first exception), `Type: message`.
    pub root_cause: String,
    /// Other fields of a structured body, for a record's line.
    pub context: Vec<(String, String)>,
}

impl Readable {
    /// The error as ` — type: first line of message`, leaving out what the
    /// message already says; `None` when there is nothing to add.
    pub fn error_suffix(&self) -> Option<String> {
        let first = first_line(&self.error_message);
        let kind = self.error_type.trim();
        let has = |part: &str| !part.is_empty() && self.message.contains(part);
        // A type is already said when its full or simple name is in the message.
        let simple = kind.rsplit(['.', '$']).next().unwrap_or(kind);
        let kind_said = kind.is_empty() || has(kind) || (simple.len() >= 8 && has(simple));
        let msg_said = first.is_empty() || has(first);
        match (kind_said, msg_said) {
            (true, true) => None,
            (false, true) => Some(format!(" — {kind}")),
            (true, false) => Some(format!(" — {first}")),
            (false, false) => Some(format!(" — {kind}: {first}")),
        }
    }

    /// The innermost cause as ` ← caused by Type: first line`, unless the
    /// message or the error already says it.
    pub fn cause_suffix(&self) -> Option<String> {
        let cause = first_line(&self.root_cause);
        if cause.is_empty() {
            return None;
        }
        // Said already when its message (or, for a bare type, the type) is.
        let (kind, msg) = cause.split_once(": ").unwrap_or((cause, ""));
        let told = |part: &str| {
            !part.is_empty() && (self.message.contains(part) || self.error_message.contains(part))
        };
        let said = if msg.trim().is_empty() {
            told(kind) || self.error_type == kind
        } else {
            told(msg.trim())
        };
        (!said).then(|| format!(" ← caused by {cause}"))
    }

    /// The text templates are mined from: the message plus the error and its
    /// innermost cause, never the stack (frames and line numbers would split
    /// one error into many).
    pub fn template_text(&self) -> String {
        let mut out = self.head();
        if let Some(c) = self.cause_suffix() {
            out.push_str(&c);
        }
        out
    }

    /// The message plus the error.
    fn head(&self) -> String {
        match self.error_suffix() {
            // A structured body with an error but no message: the error alone.
            Some(s) if self.message.is_empty() => s.trim_start_matches(" — ").to_string(),
            Some(s) => format!("{}{s}", self.message),
            None => self.message.clone(),
        }
    }

    /// The text a reader sees: the message and the error, the top frame
    /// (where the error was raised), then the innermost cause.
    pub fn line(&self) -> String {
        let mut out = self.head();
        if !self.top_frame.is_empty() {
            out.push_str(&format!(" ({})", self.top_frame));
        }
        if let Some(c) = self.cause_suffix() {
            out.push_str(&c);
        }
        out
    }

    /// One record as `search_logs` shows it: [`Self::line`] plus the body's
    /// other fields as `key=value` (quoted when they hold spaces).
    pub fn record_line(&self) -> String {
        let mut out = self.line();
        for (k, v) in &self.context {
            if v.contains(' ') || v.is_empty() {
                out.push_str(&format!(" {k}={v:?}"));
            } else {
                out.push_str(&format!(" {k}={v}"));
            }
        }
        out
    }

    /// Whether any error detail was found.
    pub fn has_error(&self) -> bool {
        !(self.error_type.is_empty() && self.error_message.is_empty())
    }
}

fn first_line(text: &str) -> &str {
    text.trim_start().lines().next().unwrap_or("").trim_end()
}

// ---------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------

/// Fills the error's type and message from its stack when they are missing.
fn complete(r: &mut Readable, stack: &str) {
    if stack.trim().is_empty() {
        return;
    }
    let s = parse_stack(stack);
    if r.error_type.is_empty() {
        r.error_type = s.error_type;
    }
    if r.error_message.is_empty() && !s.error_message.is_empty() {
        r.error_message = s.error_message;
    }
    r.top_frame = s.top_frame;
    r.root_cause = s.root_cause;
}

/// A log record in readable form: the structured body's message and error
/// fields, and the OpenTelemetry `exception.*` attributes (which win, being
/// what the application itself recorded).
pub fn log_view(row: &LogRow) -> Readable {
    let attr = |k: &str| row.attributes_string.get(k).map_or("", String::as_str);
    // Redacted before it is taken apart: once a JSON body's fields are
    // flattened (`detail.value=…`), the pair `{"name": "DB_PASS", "value": …}`
    // that said the value is a secret is gone.
    let raw_body = mcp_kit::redact::redact(&row.body);
    let body = parse_body(&raw_body);
    // A structured body without a message but with an error reads as the
    // error; one with neither stays as it is (an access log's JSON, say).
    let message = match &body {
        Some(b) => match &b.message {
            Some(m) => m.clone(),
            None if !(b.error_type.is_empty()
                && b.error_message.is_empty()
                && b.stack.is_empty()) =>
            {
                String::new()
            }
            None => raw_body.to_string(),
        },
        None => raw_body.to_string(),
    };
    let mut r = Readable {
        message,
        error_type: attr("exception.type").to_string(),
        error_message: attr("exception.message").to_string(),
        top_frame: String::new(),
        root_cause: String::new(),
        context: Vec::new(),
    };
    let mut stack = attr("exception.stacktrace").to_string();
    if let Some(b) = body {
        if r.error_type.is_empty() && r.error_message.is_empty() {
            r.error_type = b.error_type;
            r.error_message = b.error_message;
        }
        if stack.is_empty() {
            stack = b.stack;
        }
        r.context = b.context;
    }
    // A logs pipeline that parsed ECS JSON into attributes (SigNoz's JSON
    // parser writes `attributes_string`) leaves the error there.
    if r.error_type.is_empty() && r.error_message.is_empty() {
        r.error_type = attr("error.type").to_string();
        r.error_message = attr("error.message").to_string();
    }
    if stack.is_empty() {
        stack = attr("error.stack_trace").to_string();
    }
    complete(&mut r, &stack);
    if r.message.is_empty() && !r.has_error() {
        // Only a stack nobody could read a type from: the body as it is.
        r.message = raw_body.to_string();
    }
    r
}

/// The `exception` event of a span, from SigNoz's `events` column (JSON
/// strings `{"name":"exception","attributeMap":{"exception.type":…}}`).
pub fn span_exception(events: &[String]) -> Option<Readable> {
    events.iter().find_map(|e| {
        let v: Value = serde_json::from_str(e).ok()?;
        if v.get("name").and_then(Value::as_str) != Some("exception") {
            return None;
        }
        let attrs = v.get("attributeMap")?;
        let get = |k: &str| attrs.get(k).and_then(text_of).unwrap_or_default();
        let mut r = Readable {
            error_type: get("exception.type"),
            error_message: get("exception.message"),
            ..Readable::default()
        };
        complete(&mut r, &get("exception.stacktrace"));
        r.has_error().then_some(r)
    })
}

/// An error span's exception in one line, `Type: first line of message`,
/// for grouping error spans whose status message is empty (Java and .NET
/// auto-instrumentation often set none). Reads only the event's
/// `exception.type` and `exception.message`, so that
/// [`SQL_EXCEPTION_SUMMARY`] can say exactly the same in ClickHouse.
pub fn exception_summary(events: &[String]) -> String {
    let Some(attrs) = events.iter().find_map(|e| {
        let v: Value = serde_json::from_str(e).ok()?;
        (v.get("name").and_then(Value::as_str) == Some("exception")).then_some(v)
    }) else {
        return String::new();
    };
    let get = |k: &str| {
        attrs
            .get("attributeMap")
            .and_then(|m| m.get(k))
            .and_then(Value::as_str)
            .unwrap_or("")
    };
    let kind = get("exception.type");
    let first = get("exception.message")
        .split('\n')
        .next()
        .unwrap_or("")
        .trim_matches([' ', '\r', '\t']);
    match (kind.is_empty(), first.is_empty()) {
        (false, false) => format!("{kind}: {first}"),
        (false, true) => kind.to_string(),
        _ => first.to_string(),
    }
}

/// [`exception_summary`] in ClickHouse SQL over `signoz_index_v3.events`
/// (one expression; ClickHouse evaluates the repeated parts once).
pub static SQL_EXCEPTION_SUMMARY: LazyLock<String> = LazyLock::new(|| {
    let ev = "arrayFirst(e -> JSONExtractString(e, 'name') = 'exception', events)";
    let kind = format!("JSONExtractString({ev}, 'attributeMap', 'exception.type')");
    let msg = format!(
        "trim(BOTH ' \\r\\t' FROM splitByChar('\\n', \
         JSONExtractString({ev}, 'attributeMap', 'exception.message'))[1])"
    );
    format!(
        "multiIf({kind} != '' AND {msg} != '', concat({kind}, ': ', {msg}), {kind} != '', {kind}, {msg})"
    )
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::severity::body_severity;

    fn row(body: &str) -> LogRow {
        LogRow {
            body: body.to_string(),
            ..LogRow::default()
        }
    }

    fn view(body: &str) -> Readable {
        log_view(&row(body))
    }

    #[test]
    fn spring_boot_logstash_json() {
        let body = r#"{"@timestamp":"2024-05-01T11:02:00.123Z","@version":"1","message":"Failed to post entry 4481","logger_name":"com.acme.ledger.LedgerService","thread_name":"http-nio-8080-exec-1","level":"ERROR","level_value":40000,"stack_trace":"org.springframework.jdbc.CannotGetJdbcConnectionException: Failed to obtain JDBC Connection\n\tat org.springframework.jdbc.datasource.DataSourceUtils.getConnection(DataSourceUtils.java:84)\n\tat com.acme.ledger.LedgerRepository.insert(LedgerRepository.java:57)"}"#;
        let v = view(body);
        assert_eq!(
            v.template_text(),
            "Failed to post entry 4481 — org.springframework.jdbc.CannotGetJdbcConnectionException: Failed to obtain JDBC Connection"
        );
        assert_eq!(
            v.top_frame,
            "at org.springframework.jdbc.datasource.DataSourceUtils.getConnection(DataSourceUtils.java:84)"
        );
        assert_eq!(body_severity(body), 17);
    }

    /// Temporal's Go SDK logs through zap with a capitalised `Error` key.
    #[test]
    fn a_capitalised_error_key_is_the_error() {
        let body = r#"{"level":"error","ts":1773311894.0,"msg":"Failed to process workflow task.","Namespace":"offers","WorkflowType":"OfferApproval","Error":"[TMPRL1100] nondeterministic workflow: history event is ActivityTaskScheduled, replay command is TimerStarted"}"#;
        let v = view(body);
        assert!(
            v.template_text().starts_with(
                "Failed to process workflow task. — [TMPRL1100] nondeterministic workflow"
            ),
            "{}",
            v.template_text()
        );
    }

    #[test]
    fn the_innermost_cause_is_said_after_the_error() {
        // Logback's logstash encoder: the wrapper on top, the reason at the bottom.
        let body = r#"{"message":"Request processing failed","level":"ERROR","stack_trace":"org.springframework.web.util.NestedServletException: Request processing failed\n\tat org.springframework.web.servlet.FrameworkServlet.processRequest(FrameworkServlet.java:1014)\nCaused by: org.springframework.dao.DataAccessResourceFailureException: could not acquire connection\n\tat a.B.c(B.java:1)\nCaused by: org.postgresql.util.PSQLException: FATAL: remaining connection slots are reserved for non-replication superuser connections\n\tat org.postgresql.core.v3.ConnectionFactoryImpl.doAuthentication(ConnectionFactoryImpl.java:693)"}"#;
        let v = view(body);
        assert_eq!(
            v.template_text(),
            "Request processing failed — org.springframework.web.util.NestedServletException ← caused by org.postgresql.util.PSQLException: FATAL: remaining connection slots are reserved for non-replication superuser connections"
        );
        assert!(
            v.line().contains("(at org.springframework.web.servlet.FrameworkServlet.processRequest(FrameworkServlet.java:1014)) ← caused by org.postgresql"),
            "{}",
            v.line()
        );
        // A cause the message already says is not repeated.
        let said = r#"{"message":"db down: Connection refused","stack_trace":"java.lang.RuntimeException: db down\n\tat a.B.c(B.java:1)\nCaused by: java.net.ConnectException: Connection refused\n\tat d.E.f(E.java:2)"}"#;
        assert_eq!(view(said).cause_suffix(), None);
    }

    #[test]
    fn rust_tracing_json() {
        // tracing-subscriber's JSON formatter: the message and fields nested.
        let body = r#"{"timestamp":"2026-06-21T12:18:00.135Z","level":"ERROR","fields":{"message":"batch insert failed","error":"bad response: Code: 243. DB::Exception: Cannot reserve 1.00 MiB, not enough space. (NOT_ENOUGH_SPACE)","rows":5000},"target":"readings_writer::sink"}"#;
        let v = view(body);
        assert_eq!(
            v.template_text(),
            "batch insert failed — bad response: Code: 243. DB::Exception: Cannot reserve 1.00 MiB, not enough space. (NOT_ENOUGH_SPACE)"
        );
        assert_eq!(body_severity(body), 17);
    }

    #[test]
    fn ecs_json() {
        // ecs-logging-java / Spring Boot 3.4 `logging.structured.format.console=ecs`.
        let body = r#"{"@timestamp":"2024-05-01T11:02:00.123Z","log.level":"ERROR","process.thread.name":"main","service.name":"ledger","log.logger":"com.acme.ledger.Boot","message":"Application run failed","error.type":"java.lang.IllegalStateException","error.message":"Failed to bind properties under 'spring.datasource'","error.stack_trace":"java.lang.IllegalStateException: Failed to bind properties under 'spring.datasource'\n\tat org.springframework.boot.context.properties.bind.Binder.bind(Binder.java:388)\n","ecs.version":"8.11"}"#;
        let v = view(body);
        assert_eq!(
            v.template_text(),
            "Application run failed — java.lang.IllegalStateException: Failed to bind properties under 'spring.datasource'"
        );
        assert!(
            v.top_frame.starts_with("at org.springframework.boot"),
            "{v:?}"
        );
        assert_eq!(body_severity(body), 17);
    }

    #[test]
    fn go_zap_production_json() {
        let body = r#"{"level":"error","ts":1714561440.123456,"caller":"proxy/upstream.go:142","msg":"upstream request failed","upstream":"inventory","error":"dial tcp 10.96.87.14:8080: connect: connection refused","stacktrace":"main.(*Proxy).forward\n\t/app/proxy/upstream.go:142\nnet/http.HandlerFunc.ServeHTTP\n\t/usr/local/go/src/net/http/server.go:2166"}"#;
        let v = view(body);
        assert_eq!(
            v.template_text(),
            "upstream request failed — dial tcp 10.96.87.14:8080: connect: connection refused"
        );
        assert_eq!(
            v.top_frame,
            "main.(*Proxy).forward (/app/proxy/upstream.go:142)"
        );
        assert_eq!(body_severity(body), 17);
        // A record's line keeps the other fields, not the logger's plumbing.
        assert_eq!(
            v.record_line(),
            "upstream request failed — dial tcp 10.96.87.14:8080: connect: connection refused \
             (main.(*Proxy).forward (/app/proxy/upstream.go:142)) upstream=inventory"
        );
        let warn = r#"{"level":"warn","ts":1714561440.1,"caller":"x.go:1","msg":"slow"}"#;
        assert_eq!(body_severity(warn), 13);
    }

    /// Sidekiq's JSON (and flat dotted keys from flattening formatters): the error's class
    /// and message are templated with the message, not left as context.
    #[test]
    fn sidekiq_and_flat_error_fields() {
        let body = r#"{"ts":"2024-05-01T11:07:00.123Z","pid":7,"tid":"owx3","lvl":"WARN","msg":"job failed","ctx":{"class":"ManifestSyncJob"},"error_class":"Redis::TimeoutError","error_message":"Connection timed out"}"#;
        let v = view(body);
        assert_eq!(
            v.template_text(),
            "job failed — Redis::TimeoutError: Connection timed out"
        );
        assert!(!v.record_line().contains("error_class="), "{v:?}");
        let dotted = r#"{"level":"error","msg":"charge failed","exception.class":"Stripe::CardError","err.message":"card declined"}"#;
        assert_eq!(
            view(dotted).template_text(),
            "charge failed — Stripe::CardError: card declined"
        );
        let logfmt = r#"level=error msg="job failed" error_class=Net::ReadTimeout error_message="read timeout""#;
        assert_eq!(
            view(logfmt).template_text(),
            "job failed — Net::ReadTimeout: read timeout"
        );
    }

    #[test]
    fn node_pino_and_numeric_levels() {
        let body = r#"{"level":50,"time":1714561500123,"pid":7,"hostname":"notifier-5c9f7","err":{"type":"Error","message":"connect ECONNREFUSED 10.96.12.7:6379","stack":"Error: connect ECONNREFUSED 10.96.12.7:6379\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16)","errno":-111,"code":"ECONNREFUSED"},"msg":"send failed"}"#;
        let v = view(body);
        assert_eq!(
            v.template_text(),
            "send failed — Error: connect ECONNREFUSED 10.96.12.7:6379"
        );
        assert_eq!(
            v.top_frame,
            "at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16)"
        );
        assert_eq!(body_severity(body), 17);
        assert_eq!(body_severity(r#"{"level":40,"msg":"x"}"#), 13);
        assert_eq!(body_severity(r#"{"level":30,"msg":"x"}"#), 9);
        assert_eq!(body_severity(r#"{"level":60,"msg":"x"}"#), 21);
    }

    #[test]
    fn logrus_logfmt() {
        let body = r#"time="2024-05-01T11:06:30Z" level=error msg="job failed" error="pq: password authentication failed for user \"app\"" job=reindex"#;
        let v = view(body);
        assert_eq!(
            v.template_text(),
            r#"job failed — pq: password authentication failed for user "app""#
        );
        assert_eq!(body_severity(body), 17);
        assert!(v.record_line().ends_with(r#""app" job=reindex"#), "{v:?}");
        assert_eq!(
            body_severity(r#"ts=2024-05-01T11:06:30Z lvl=warn msg="retrying" peer="db 2""#),
            13
        );
        // Ordinary text with a pair in it is text, not logfmt.
        let text = "charge failed for order ord-1 (merchant=m-1143, request_id=70016ef0)";
        assert_eq!(parse_body(text), None);
        assert_eq!(view(text).template_text(), text);
    }

    #[test]
    fn python_json_logger_and_structlog() {
        let tb = "Traceback (most recent call last):\n  File \"/app/billing/invoice.py\", line 42, in run\n    total = compute(items)\n  File \"/app/billing/calc.py\", line 17, in compute\n    return sum(i.amount for i in items) / len(items)\nZeroDivisionError: division by zero";
        let body = serde_json::json!({
            "asctime": "2024-05-01 11:07:00,412", "levelname": "ERROR", "name": "billing.invoice",
            "message": "invoice run failed", "exc_info": tb,
        })
        .to_string();
        let v = view(&body);
        assert_eq!(
            v.template_text(),
            "invoice run failed — ZeroDivisionError: division by zero"
        );
        assert_eq!(
            v.top_frame,
            r#"File "/app/billing/calc.py", line 17, in compute"#
        );
        assert_eq!(body_severity(&body), 17);
        // structlog JSONRenderer with format_exc_info.
        let body = serde_json::json!({
            "event": "payment sync failed", "level": "error", "timestamp": "2024-05-01T11:07:00Z",
            "exception": tb,
        })
        .to_string();
        assert_eq!(
            view(&body).template_text(),
            "payment sync failed — ZeroDivisionError: division by zero"
        );
        // structlog dict_tracebacks.
        let body = r#"{"event":"payment sync failed","level":"error","exception":[{"exc_type":"KeyError","exc_value":"'amount'","frames":[{"filename":"/app/sync.py","lineno":9,"name":"sync"}]}]}"#;
        let v = view(body);
        assert_eq!(
            v.template_text(),
            "payment sync failed — KeyError: 'amount'"
        );
        assert_eq!(v.top_frame, r#"File "/app/sync.py", line 9, in sync"#);
    }

    #[test]
    fn serilog_compact_json() {
        let body = r#"{"@t":"2024-05-01T11:07:00.1234567Z","@mt":"Order {OrderId} failed","@m":"Order 42 failed","@l":"Error","@x":"System.InvalidOperationException: Sequence contains no elements\n   at System.Linq.ThrowHelper.ThrowNoElementsException()\n   at Shop.Orders.Handler.Handle(Order o) in /src/Handler.cs:line 42","OrderId":42}"#;
        let v = view(body);
        assert_eq!(
            v.template_text(),
            "Order 42 failed — System.InvalidOperationException: Sequence contains no elements"
        );
        // The runtime's own frame is passed over for the application's.
        assert_eq!(
            v.top_frame,
            "at Shop.Orders.Handler.Handle(Order o) in /src/Handler.cs:line 42"
        );
        assert_eq!(body_severity(body), 17);
    }

    /// Serilog's compact JSON without `@m` (the default of
    /// `CompactJsonFormatter`): the template is rendered with its
    /// properties, so a value only the properties hold (the peer's answer)
    /// is read; escaped braces, format and destructuring markers, and holes
    /// without a property stay as Serilog would print them.
    #[test]
    fn serilog_template_only_is_rendered_with_its_properties() {
        let body = r#"{"@t":"2026-03-03T10:08:28.894Z","@mt":"Lookup for {PatientId} failed with {StatusCode}: {ResponseBody} in {Elapsed:0.0} ms {{retry}} {@Ctx} {Missing}","@l":"Error","@x":"System.Net.Http.HttpRequestException: Response status code does not indicate success: 403 (Forbidden).","PatientId":"p-74807","StatusCode":403,"ResponseBody":"RBAC: access denied","Elapsed":12.5,"Ctx":{"a":1}}"#;
        let v = view(body);
        assert_eq!(
            v.message,
            "Lookup for p-74807 failed with 403: RBAC: access denied in 12.5 ms {retry} {@Ctx} {Missing}"
        );
        assert!(v.error_type.ends_with("HttpRequestException"), "{v:?}");
    }

    #[test]
    fn exception_attributes_win_and_are_not_repeated() {
        let mut r = row("Request failed");
        r.attributes_string.insert(
            "exception.type".into(),
            "java.lang.IllegalStateException".into(),
        );
        r.attributes_string.insert(
            "exception.message".into(),
            "Connection pool exhausted\n(details)".into(),
        );
        r.attributes_string.insert(
            "exception.stacktrace".into(),
            "java.lang.IllegalStateException: Connection pool exhausted\n\tat com.acme.Pay.charge(Pay.java:88)".into(),
        );
        let v = log_view(&r);
        assert_eq!(
            v.template_text(),
            "Request failed — java.lang.IllegalStateException: Connection pool exhausted"
        );
        assert_eq!(
            v.line(),
            "Request failed — java.lang.IllegalStateException: Connection pool exhausted (at com.acme.Pay.charge(Pay.java:88))"
        );
        // A body that already says it gets nothing appended.
        let mut r = row("MongoTimeoutException: Timed out waiting for a connection");
        r.attributes_string.insert(
            "exception.type".into(),
            "com.mongodb.MongoTimeoutException".into(),
        );
        assert_eq!(
            log_view(&r).template_text(),
            "MongoTimeoutException: Timed out waiting for a connection"
        );
        // A type alone that the body does not name is added.
        let mut r = row("authorize failed");
        r.attributes_string
            .insert("exception.type".into(), "tls_handshake".into());
        assert_eq!(
            log_view(&r).template_text(),
            "authorize failed — tls_handshake"
        );
    }

    #[test]
    fn an_error_without_a_message_reads_as_the_error() {
        let v = view(r#"{"level":"error","ts":1714561440.1,"error":"EOF"}"#);
        assert_eq!(v.template_text(), "EOF");
        let stack_only = r#"{"stack":"\tat a.B.c(B.java:1)"}"#;
        assert_eq!(view(stack_only).template_text(), stack_only);
        let access = r#"{"status":503,"path":"/pay"}"#;
        assert_eq!(view(access).template_text(), access);
    }

    #[test]
    fn ecs_fields_parsed_into_attributes() {
        let mut r = row("Application run failed");
        r.attributes_string.insert(
            "error.type".into(),
            "java.lang.IllegalStateException".into(),
        );
        r.attributes_string
            .insert("error.message".into(), "Failed to bind".into());
        assert_eq!(
            log_view(&r).template_text(),
            "Application run failed — java.lang.IllegalStateException: Failed to bind"
        );
    }

    #[test]
    fn span_exception_events() {
        let ev = r#"{"name":"exception","timeUnixNano":1,"attributeMap":{"exception.type":"java.lang.IllegalStateException","exception.message":"pool exhausted","exception.stacktrace":"java.lang.IllegalStateException: pool exhausted\n\tat com.acme.Pay.charge(Pay.java:88)"},"isError":true}"#;
        let other = r#"{"name":"retry","timeUnixNano":1}"#;
        let v = span_exception(&[other.to_string(), ev.to_string()]).unwrap();
        assert_eq!(v.error_type, "java.lang.IllegalStateException");
        assert_eq!(v.top_frame, "at com.acme.Pay.charge(Pay.java:88)");
        assert_eq!(span_exception(&[other.to_string()]), None);
        assert_eq!(span_exception(&["not json".to_string()]), None);
    }

    #[test]
    fn exception_summaries_for_grouping() {
        let ev = |attrs: &str| {
            vec![format!(
                r#"{{"name":"exception","attributeMap":{{{attrs}}}}}"#
            )]
        };
        assert_eq!(
            exception_summary(&ev(
                r#""exception.type":"E","exception.message":" boom \r\nat x""#
            )),
            "E: boom"
        );
        assert_eq!(exception_summary(&ev(r#""exception.type":"E""#)), "E");
        assert_eq!(exception_summary(&ev(r#""exception.message":"m""#)), "m");
        assert_eq!(exception_summary(&[r#"{"name":"retry"}"#.to_string()]), "");
    }
}
