//! Stack traces as the JVM, .NET, Node, Python and Go print them: the error's
//! type and message, and the frame nearest to where it was raised — the one
//! line of a stack a reader needs next to the error.

/// What a stack trace text says: the error's type and message (from its
/// first line for JVM/.NET/Node, its last line for Python) and its top frame.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stack {
    /// Error type, when the text names one.
    pub error_type: String,
    /// Error message.
    pub error_message: String,
    /// The frame nearest to where the error was raised.
    pub top_frame: String,
    /// The innermost cause the trace names, `Type: message`: the last
    /// `Caused by:` of a JVM trace, the last `--->` inner exception of a
    /// .NET one, Node's last `[cause]:`, or the first exception of a Python
    /// chain ("The above exception was the direct cause of…"). Empty when
    /// the error has no cause. It is usually the line that says why: a
    /// `DataAccessResourceFailureException` is the wrapper, the
    /// `SocketTimeoutException` under it the reason.
    pub root_cause: String,
}

/// `Type: message` where `Type` looks like a class or error name
/// (`java.lang.IllegalStateException`, `Error`, `pq.Error`, `ValueError`).
fn split_type(line: &str) -> Option<(&str, &str)> {
    let (kind, msg) = match line.split_once(": ") {
        Some((k, m)) => (k, m),
        None => (line.trim_end_matches(':'), ""),
    };
    // .NET prints an exception with an error code of its own between the
    // type and the colon: `SqlException (0x80131904): Execution Timeout
    // Expired.`, `Win32Exception (258): Unknown error 258`. The code is the
    // HRESULT or Win32 error, not part of the type's name.
    let kind = match kind.strip_suffix(')').and_then(|k| k.rsplit_once(" (")) {
        Some((name, code))
            if !code.is_empty()
                && (code.chars().all(|c| c.is_ascii_digit() || c == '-')
                    || code.strip_prefix("0x").is_some_and(|h| {
                        !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit())
                    })) =>
        {
            name
        }
        _ => kind,
    };
    let ok = !kind.is_empty()
        && kind.len() <= 200
        && kind.chars().next().is_some_and(char::is_alphabetic)
        && kind
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '$' | '_'))
        // A bare word followed by nothing is a type only when it reads as one.
        && (!msg.is_empty() || kind.contains('.') || kind.ends_with("Error") || kind.ends_with("Exception"));
    ok.then_some((kind, msg))
}

/// Python's words between two exceptions of one chain.
const PY_CHAINED: [&str; 2] = [
    "The above exception was the direct cause of the following exception:",
    "During handling of the above exception, another exception occurred:",
];

/// The innermost cause in a trace's lines (see [`Stack::root_cause`]).
fn root_cause(lines: &[&str]) -> String {
    let mut cause = "";
    for l in lines {
        let t = l.trim();
        if let Some(c) = t.strip_prefix("Caused by: ") {
            cause = c;
        } else if let Some(c) = t.strip_prefix("[cause]: ") {
            // Node prints the cause's stack after it; its own head is the cause.
            cause = c.trim_start_matches('[').trim_end_matches(['{', ' ']);
        }
        // .NET: `Outer: msg ---> Inner: msg` on the first line, or
        // ` ---> Inner: msg` lines; the last arrow is the innermost.
        if let Some((_, inner)) = t.rsplit_once("---> ") {
            cause = inner;
        }
    }
    if cause.is_empty()
        && lines.iter().any(|l| PY_CHAINED.contains(&l.trim()))
        && let Some(first) = lines
            .iter()
            .skip(1)
            .map(|l| l.trim_end())
            .find(|l| !l.starts_with(' ') && !l.starts_with("Traceback"))
    {
        cause = first;
    }
    let cause = cause.trim();
    // `Caused by: Type: msg` reads as the type and message; `... 12 more` and
    // the like are not causes.
    if split_type(cause).is_some() || cause.contains(' ') {
        cause.to_string()
    } else {
        String::new()
    }
}

/// Whether a stack frame (`at …`) is in the platform's own libraries: the
/// JDK's (`java.`, `javax.`, `jdk.`, `sun.`, `com.sun.`, also with a module
/// prefix `java.base/`), .NET's base class library (`System.`,
/// `Microsoft.`), Node's internals (`node:internal/…`). Such a frame is
/// where the runtime noticed the error (`System.Nullable`1.get_Value()`,
/// `sun.security.ssl.Alert.createSSLException`), not the code that caused
/// it; error trackers show the first frame outside them ("in-app") for the
/// same reason.
fn platform_frame(frame: &str) -> bool {
    const PLATFORM: &[&str] = &[
        "java.",
        "javax.",
        "jdk.",
        "sun.",
        "com.sun.",
        "System.",
        "Microsoft.",
        "node:",
    ];
    let f = frame.trim_start_matches("at ").trim_start_matches("async ");
    // A module prefix (`java.base/java.net.Socket…`) names the JDK module.
    let f = f
        .split_once('/')
        .filter(|(m, _)| !m.contains('('))
        .map_or(f, |(m, rest)| {
            if PLATFORM.iter().any(|p| m.starts_with(p)) {
                m
            } else {
                rest
            }
        });
    PLATFORM.iter().any(|p| f.starts_with(p)) || f.contains("(node:") || f.contains("(internal/")
}

/// Reads a stack trace as the JVM, .NET, Node, Python or Go print it.
pub fn parse_stack(text: &str) -> Stack {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut out = Stack {
        root_cause: root_cause(&lines),
        ..Stack::default()
    };
    if lines.is_empty() {
        return out;
    }
    if lines[0]
        .trim_start()
        .starts_with("Traceback (most recent call last)")
    {
        // Python: the most recent call is last, the error follows its frame:
        // the first line not indented after the last `File "…"`. A message
        // may run on over lines of its own (pydantic's `ValidationError: 1
        // validation error for Model` then the field's name, unindented),
        // so the last line is the error only when no frame is found.
        let last_frame = lines
            .iter()
            .rposition(|l| l.trim_start().starts_with("File \""));
        let error_line = match last_frame {
            Some(i) => lines[i + 1..].iter().find(|l| !l.starts_with(' ')),
            None => lines.iter().skip(1).rev().find(|l| !l.starts_with(' ')),
        };
        if let Some(last) = error_line {
            if let Some((k, m)) = split_type(last.trim()) {
                out.error_type = k.to_string();
                out.error_message = m.to_string();
            } else {
                out.error_message = last.trim().to_string();
            }
        }
        if let Some(frame) = lines
            .iter()
            .rev()
            .map(|l| l.trim())
            .find(|l| l.starts_with("File \""))
        {
            out.top_frame = frame.to_string();
        }
        return out;
    }
    let head = lines[0].trim();
    if !head.starts_with("at ")
        && let Some((k, m)) = split_type(head)
    {
        out.error_type = k.to_string();
        out.error_message = m.to_string();
    }
    // JVM, .NET and Node: the first `at …` line is the innermost frame;
    // the first outside the platform's own libraries is where the code that
    // failed called it.
    let frames: Vec<&str> = lines
        .iter()
        .map(|l| l.trim())
        .filter(|l| l.starts_with("at "))
        .collect();
    if let Some(frame) = frames
        .iter()
        .find(|f| !platform_frame(f))
        .or(frames.first())
    {
        out.top_frame = (*frame).to_string();
        return out;
    }
    // Go (zap's `stacktrace`, a panic): a function line, then a tab-indented
    // `file:line` line.
    for pair in lines.windows(2) {
        let (func, file) = (pair[0], pair[1]);
        if !func.starts_with(char::is_whitespace)
            && file.starts_with('\t')
            && file.contains(".go:")
            && !func.starts_with("goroutine ")
        {
            let loc = file.trim().split(" +0x").next().unwrap_or("").trim();
            out.top_frame = format!("{} ({loc})", func.trim());
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stacks_without_types() {
        let s = parse_stack("\tat a.B.c(B.java:1)");
        assert_eq!(
            (s.error_type.as_str(), s.top_frame.as_str()),
            ("", "at a.B.c(B.java:1)")
        );
        assert_eq!(parse_stack(""), Stack::default());
        let go = parse_stack("goroutine 1 [running]:\nmain.main()\n\t/app/main.go:12 +0x1d");
        assert_eq!(go.top_frame, "main.main() (/app/main.go:12)");
    }

    #[test]
    fn jvm_dotnet_and_python() {
        let java = "java.lang.IllegalStateException: pool exhausted\n\tat com.acme.Pool.borrow(Pool.java:88)\n\tat com.acme.Pay.charge(Pay.java:41)\nCaused by: java.net.SocketTimeoutException: timeout\n\tat java.net.Socket.read(Socket.java:1)";
        let s = parse_stack(java);
        assert_eq!(
            (
                s.error_type.as_str(),
                s.error_message.as_str(),
                s.top_frame.as_str()
            ),
            (
                "java.lang.IllegalStateException",
                "pool exhausted",
                "at com.acme.Pool.borrow(Pool.java:88)"
            )
        );
        // An error code between the type and the colon is not the type's.
        let coded = parse_stack(
            "Microsoft.Data.SqlClient.SqlException (0x80131904): Execution Timeout Expired.  The timeout period elapsed prior to completion of the operation or the server is not responding.\n ---> System.ComponentModel.Win32Exception (258): Unknown error 258\n   at Microsoft.Data.SqlClient.SqlConnection.OnError(SqlException exception)",
        );
        assert_eq!(
            (coded.error_type.as_str(), coded.error_message.as_str()),
            (
                "Microsoft.Data.SqlClient.SqlException",
                "Execution Timeout Expired.  The timeout period elapsed prior to completion of the operation or the server is not responding."
            )
        );
        assert_eq!(split_type("Handler (v2): ready"), None);
        let dotnet = "System.TimeoutException: The operation has timed out.\n   at Npgsql.NpgsqlConnector.Connect() in /src/Npgsql/NpgsqlConnector.cs:line 912";
        let s = parse_stack(dotnet);
        assert_eq!(s.error_type, "System.TimeoutException");
        assert!(
            s.top_frame.ends_with("NpgsqlConnector.cs:line 912"),
            "{s:?}"
        );
        let py = "Traceback (most recent call last):\n  File \"/app/a.py\", line 3, in <module>\n    main()\nKeyError: 'amount'";
        let s = parse_stack(py);
        assert_eq!(
            (
                s.error_type.as_str(),
                s.error_message.as_str(),
                s.top_frame.as_str()
            ),
            (
                "KeyError",
                "'amount'",
                r#"File "/app/a.py", line 3, in <module>"#
            )
        );
    }

    /// A Python error whose message runs over lines of its own (pydantic's
    /// field name, unindented, then the detail) is the line after the last
    /// frame, not the last line.
    #[test]
    fn a_python_error_is_the_line_after_the_last_frame() {
        let py = "Traceback (most recent call last):\n  File \"/app/preview.py\", line 88, in preview\n    register = RegisterRead.model_validate(row)\npydantic_core._pydantic_core.ValidationError: 1 validation error for RegisterRead\nregister_id\n  Field required [type=missing, input_value={'mpan': '1012'}, input_type=dict]";
        let s = parse_stack(py);
        assert_eq!(
            (s.error_type.as_str(), s.error_message.as_str()),
            (
                "pydantic_core._pydantic_core.ValidationError",
                "1 validation error for RegisterRead"
            )
        );
    }

    /// The top frame shown is the first outside the platform's libraries:
    /// the application's call, not where the runtime noticed; a stack of
    /// platform frames only keeps its first.
    #[test]
    fn the_top_frame_is_the_first_outside_the_platform() {
        let dotnet = "System.InvalidOperationException: Nullable object must have a value.\n   at System.Nullable`1.get_Value()\n   at Vetwise.Rx.RepeatPolicy.Next(Rx rx) in /src/Rx/RepeatPolicy.cs:line 57";
        assert_eq!(
            parse_stack(dotnet).top_frame,
            "at Vetwise.Rx.RepeatPolicy.Next(Rx rx) in /src/Rx/RepeatPolicy.cs:line 57"
        );
        let java = "javax.net.ssl.SSLHandshakeException: PKIX path validation failed\n\tat java.base/sun.security.ssl.Alert.createSSLException(Alert.java:131)\n\tat java.base/sun.security.ssl.TransportContext.fatal(TransportContext.java:378)\n\tat com.lendshelf.drm.LicenceClient.fetch(LicenceClient.java:88)";
        assert_eq!(
            parse_stack(java).top_frame,
            "at com.lendshelf.drm.LicenceClient.fetch(LicenceClient.java:88)"
        );
        let node = "Error: connect ECONNREFUSED 10.0.0.1:443\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1595:16)\n    at async Client.send (/app/src/client.js:41:9)";
        assert_eq!(
            parse_stack(node).top_frame,
            "at async Client.send (/app/src/client.js:41:9)"
        );
        let only = "java.lang.NullPointerException\n\tat java.util.Objects.requireNonNull(Objects.java:209)";
        assert_eq!(
            parse_stack(only).top_frame,
            "at java.util.Objects.requireNonNull(Objects.java:209)"
        );
    }

    #[test]
    fn the_innermost_cause_of_each_runtime() {
        let java = "org.springframework.dao.DataAccessResourceFailureException: Unable to acquire JDBC Connection\n\tat org.springframework.orm.jpa.vendor.HibernateJpaDialect.convert(HibernateJpaDialect.java:277)\nCaused by: org.hibernate.exception.JDBCConnectionException: Unable to acquire JDBC Connection\n\tat org.hibernate.exception.internal.SQLStateConversionDelegate.convert(SQLStateConversionDelegate.java:112)\n\t... 48 more\nCaused by: java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out after 30000ms.\n\tat com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool.java:696)\n\t... 52 more";
        let s = parse_stack(java);
        assert_eq!(
            s.error_type,
            "org.springframework.dao.DataAccessResourceFailureException"
        );
        assert_eq!(
            s.root_cause,
            "java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out after 30000ms."
        );
        let dotnet = "System.InvalidOperationException: An exception has been raised that is likely due to a transient failure.\n ---> Npgsql.NpgsqlException (0x80004005): Failed to connect to 10.0.3.7:5432\n ---> System.Net.Sockets.SocketException (111): Connection refused\n   at Npgsql.Internal.NpgsqlConnector.Connect(NpgsqlTimeout timeout)\n   --- End of inner exception stack trace ---";
        assert_eq!(
            parse_stack(dotnet).root_cause,
            "System.Net.Sockets.SocketException (111): Connection refused"
        );
        let node = "Error: fetch failed\n    at node:internal/deps/undici/undici:12345:11\n  [cause]: Error: connect ECONNREFUSED 10.0.0.5:6379\n      at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16) {";
        assert_eq!(
            parse_stack(node).root_cause,
            "Error: connect ECONNREFUSED 10.0.0.5:6379"
        );
        let py = "Traceback (most recent call last):\n  File \"/app/db.py\", line 9, in get\n    conn = pool.getconn()\npsycopg2.OperationalError: connection to server at \"pg\" (10.0.0.9), port 5432 failed: FATAL:  too many connections for role \"app\"\n\nThe above exception was the direct cause of the following exception:\n\nTraceback (most recent call last):\n  File \"/app/api.py\", line 20, in handler\n    raise ServiceUnavailable(\"db down\") from e\napp.errors.ServiceUnavailable: db down";
        let s = parse_stack(py);
        assert_eq!(s.error_type, "app.errors.ServiceUnavailable");
        assert!(
            s.root_cause
                .starts_with("psycopg2.OperationalError: connection to server"),
            "{s:?}"
        );
        // No cause: nothing invented.
        assert_eq!(
            parse_stack("java.lang.IllegalStateException: x\n\tat a.B.c(B.java:1)").root_cause,
            ""
        );
    }
}
