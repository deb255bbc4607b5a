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
}

/// `Type: message` where `Type` looks like a class or error name
/// (`java.lang.IllegalStateException`, `Error`, `pq.Error`, `ValueError`).
fn split_type(line: &str) -> Option<(&str, &str)> {
    let (kind, msg) = match line.split_once(": ") {
        Some((k, m)) => (k, m),
        None => (line.trim_end_matches(':'), ""),
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

/// Reads a stack trace as the JVM, .NET, Node, Python or Go print it.
pub fn parse_stack(text: &str) -> Stack {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut out = Stack::default();
    if lines.is_empty() {
        return out;
    }
    if lines[0]
        .trim_start()
        .starts_with("Traceback (most recent call last)")
    {
        // Python: the most recent call is last, the error is the last line.
        if let Some(last) = lines.iter().skip(1).rev().find(|l| !l.starts_with(' ')) {
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
    // JVM, .NET and Node: the first `at …` line is the innermost frame.
    if let Some(frame) = lines
        .iter()
        .map(|l| l.trim())
        .find(|l| l.starts_with("at "))
    {
        out.top_frame = frame.to_string();
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
}
