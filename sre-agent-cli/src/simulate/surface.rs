//! How errors look in each stack: the exception type, message and stack
//! trace a real client library prints for a semantic failure, and how each
//! stack formats a log line. Several wordings per failure, so that no single
//! string identifies a fault.

use super::world::{Engine, Stack};

/// A failure, before a stack words it.
#[derive(Debug, Clone)]
pub enum Failure {
    /// TCP connection refused.
    Refused {
        /// Host name the client used.
        host: String,
        /// Address it resolved to.
        ip: String,
        /// Port.
        port: u16,
    },
    /// TCP connect timed out (packets dropped).
    ConnectTimeout {
        /// Host name the client used.
        host: String,
        /// Address it resolved to.
        ip: String,
        /// Port.
        port: u16,
    },
    /// Waiting for a response timed out.
    ReadTimeout {
        /// Host name the client used.
        host: String,
        /// Milliseconds waited.
        ms: u64,
    },
    /// The name does not resolve.
    Dns {
        /// Host name the client used.
        host: String,
    },
    /// The server's certificate has expired.
    TlsExpired {
        /// Host name the client used.
        host: String,
        /// Certificate's NotAfter (RFC 3339).
        not_after: String,
        /// The client's clock (RFC 3339).
        now: String,
    },
    /// The data store rejected the credentials.
    AuthFailed {
        /// The data store engine.
        engine: Engine,
        /// The database user.
        user: String,
        /// Host name the client used.
        host: String,
    },
    /// The client's connection pool had no free connection.
    PoolExhausted {
        /// The data store engine.
        engine: Engine,
        /// Milliseconds waited.
        ms: u64,
        /// Pool size.
        size: u32,
    },
    /// An upstream answered with an HTTP error.
    Http {
        /// Host name the client used.
        host: String,
        /// HTTP status.
        status: u16,
    },
    /// The connection was closed mid-request.
    Reset {
        /// Host name the client used.
        host: String,
        /// Address it resolved to.
        ip: String,
        /// Port.
        port: u16,
    },
    /// An API answered 429.
    RateLimited {
        /// Host name the client used.
        host: String,
        /// Retry-After, seconds.
        retry_after: u32,
    },
    /// A mesh/API authorisation denial.
    Forbidden {
        /// Host name the client used.
        host: String,
    },
    /// Writing to disk failed for lack of space.
    NoSpace {
        /// File being written.
        path: String,
    },
    /// MongoDB could not satisfy the write concern in time.
    WriteConcern {
        /// Milliseconds waited.
        ms: u64,
    },
    /// A lock wait timed out.
    LockTimeout {
        /// The data store engine.
        engine: Engine,
        /// Table or collection.
        object: String,
    },
    /// An application exception, already worded: (type, message, frame).
    App {
        /// Exception type.
        ty: String,
        /// Message.
        msg: String,
        /// Stack trace.
        frame: String,
    },
}

/// A worded failure.
#[derive(Debug, Clone)]
pub struct Worded {
    /// `exception.type`.
    pub ty: String,
    /// `exception.message` (and the span status message).
    pub msg: String,
    /// `exception.stacktrace`.
    pub trace: String,
}

fn w(ty: &str, msg: String, trace: String) -> Worded {
    Worded {
        ty: ty.to_string(),
        msg,
        trace,
    }
}

/// Words `f` the way `stack`'s usual client libraries do. `variant` picks
/// among equivalent wordings.
pub fn word(stack: Stack, f: &Failure, variant: usize) -> Worded {
    use Failure::*;
    match (f, stack) {
        (Refused { ip, port, .. }, Stack::Go) => w("*net.OpError", format!("dial tcp {ip}:{port}: connect: connection refused"), "goroutine 41 [running]:\nnet.(*Dialer).DialContext\n\t/usr/local/go/src/net/dial.go:517".to_string()),
        (Refused { host, port, .. }, Stack::Java) => {
            if variant.is_multiple_of(2) {
                w("java.net.ConnectException", "Connection refused".into(), format!("java.net.ConnectException: Connection refused\n\tat java.base/sun.nio.ch.Net.pollConnect(Native Method)\n\tat org.springframework.web.client.RestTemplate.doExecute(RestTemplate.java:915)\n\t... I/O error on GET request for \"http://{host}:{port}\""))
            } else {
                w("org.springframework.web.client.ResourceAccessException", format!("I/O error on POST request for \"http://{host}:{port}/\": Connection refused"), "org.springframework.web.client.ResourceAccessException\n\tat org.springframework.web.client.RestTemplate.createResourceAccessException(RestTemplate.java:927)\nCaused by: java.net.ConnectException: Connection refused".into())
            }
        }
        (Refused { ip, port, .. }, Stack::Node) => w("Error", format!("connect ECONNREFUSED {ip}:{port}"), format!("Error: connect ECONNREFUSED {ip}:{port}\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1607:16)")),
        (Refused { host, port, .. }, Stack::Python) => w("requests.exceptions.ConnectionError", format!("HTTPConnectionPool(host='{host}', port={port}): Max retries exceeded with url: / (Caused by NewConnectionError('<urllib3.connection.HTTPConnection object at 0x7f3b2c1d9e50>: Failed to establish a new connection: [Errno 111] Connection refused'))"), "Traceback (most recent call last):\n  File \"/usr/local/lib/python3.12/site-packages/urllib3/connection.py\", line 198, in _new_conn\nConnectionRefusedError: [Errno 111] Connection refused".into()),
        (Refused { host, port, .. }, Stack::Plain) => w("System.Net.Http.HttpRequestException", format!("Connection refused ({host}:{port})"), "System.Net.Http.HttpRequestException: Connection refused\n ---> System.Net.Sockets.SocketException (111): Connection refused".into()),

        (ConnectTimeout { ip, port, .. }, Stack::Go) => w("*net.OpError", format!("dial tcp {ip}:{port}: i/o timeout"), String::new()),
        (ConnectTimeout { host, port, .. }, Stack::Java) => w("java.net.SocketTimeoutException", if variant.is_multiple_of(2) { "Connect timed out".into() } else { format!("connect timed out after 10000ms to {host}:{port}") }, "java.net.SocketTimeoutException: Connect timed out\n\tat java.base/sun.nio.ch.NioSocketImpl.timedFinishConnect(NioSocketImpl.java:546)".into()),
        (ConnectTimeout { ip, port, .. }, Stack::Node) => w("Error", format!("connect ETIMEDOUT {ip}:{port}"), format!("Error: connect ETIMEDOUT {ip}:{port}\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1607:16)")),
        (ConnectTimeout { host, port, .. }, Stack::Python) => w("httpx.ConnectTimeout", format!("timed out connecting to {host}:{port}"), "Traceback (most recent call last):\n  File \"/usr/local/lib/python3.12/site-packages/httpcore/_backends/sync.py\", line 207, in connect_tcp\nTimeoutError: timed out".into()),
        (ConnectTimeout { host, port, .. }, Stack::Plain) => w("System.Net.Http.HttpRequestException", format!("A connection attempt failed because the connected party did not properly respond after a period of time ({host}:{port})"), String::new()),

        (ReadTimeout { host, .. }, Stack::Go) => w("context.deadlineExceededError", format!("Get \"http://{host}/\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"), String::new()),
        (ReadTimeout { host, ms }, Stack::Java) => w("java.net.SocketTimeoutException", if variant.is_multiple_of(2) { "Read timed out".into() } else { format!("{host}: timeout after {ms} ms waiting for response") }, "java.net.SocketTimeoutException: Read timed out\n\tat java.base/sun.nio.ch.NioSocketImpl.timedRead(NioSocketImpl.java:278)".into()),
        (ReadTimeout { ms, .. }, Stack::Node) => w("AxiosError", format!("timeout of {ms}ms exceeded"), "AxiosError: timeout of 5000ms exceeded\n    at RedirectableRequest.handleRequestTimeout (/app/node_modules/axios/dist/node/axios.cjs:3136:16)".into()),
        (ReadTimeout { host, .. }, Stack::Python) => w("requests.exceptions.ReadTimeout", format!("HTTPConnectionPool(host='{host}', port=80): Read timed out. (read timeout=5)"), String::new()),
        (ReadTimeout { host, ms }, Stack::Plain) => w("System.Threading.Tasks.TaskCanceledException", format!("The request to {host} was canceled due to the configured HttpClient.Timeout of {} seconds elapsing.", ms / 1000), String::new()),

        (Dns { host }, Stack::Go) => w("*net.DNSError", format!("dial tcp: lookup {host} on 10.96.0.10:53: no such host"), String::new()),
        (Dns { host }, Stack::Java) => w("java.net.UnknownHostException", format!("{host}: Name or service not known"), String::new()),
        (Dns { host }, Stack::Node) => w("Error", format!("getaddrinfo ENOTFOUND {host}"), String::new()),
        (Dns { host }, Stack::Python) => w("socket.gaierror", format!("[Errno -2] Name or service not known: '{host}'"), String::new()),
        (Dns { host }, Stack::Plain) => w("System.Net.Sockets.SocketException", format!("Name or service not known ({host}:443)"), String::new()),

        (TlsExpired { host, not_after, now }, Stack::Go) => w("*tls.CertificateVerificationError", format!("Post \"https://{host}/\": tls: failed to verify certificate: x509: certificate has expired or is not yet valid: current time {now} is after {not_after}"), String::new()),
        (TlsExpired { .. }, Stack::Java) => w("javax.net.ssl.SSLHandshakeException", "PKIX path validation failed: java.security.cert.CertPathValidatorException: validity check failed".into(), "javax.net.ssl.SSLHandshakeException: PKIX path validation failed\nCaused by: java.security.cert.CertificateExpiredException: NotAfter: ...".into()),
        (TlsExpired { .. }, Stack::Node) => w("Error", "certificate has expired".into(), "Error: certificate has expired\n    at TLSSocket.onConnectSecure (node:_tls_wrap:1674:34) {\n  code: 'CERT_HAS_EXPIRED'\n}".into()),
        (TlsExpired { host, .. }, Stack::Python) => w("requests.exceptions.SSLError", format!("HTTPSConnectionPool(host='{host}', port=443): Max retries exceeded with url: / (Caused by SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired (_ssl.c:1000)')))"), String::new()),
        (TlsExpired { .. }, Stack::Plain) => w("System.Security.Authentication.AuthenticationException", "The remote certificate is invalid because of errors in the certificate chain: NotTimeValid".into(), String::new()),

        (AuthFailed { engine: Engine::Postgres, user, .. }, Stack::Python) => w("psycopg2.OperationalError", format!("connection to server at \"postgres\" (10.96.0.0), port 5432 failed: FATAL:  password authentication failed for user \"{user}\""), String::new()),
        (AuthFailed { engine: Engine::Postgres, user, .. }, Stack::Java) => w("org.postgresql.util.PSQLException", format!("FATAL: password authentication failed for user \"{user}\""), "org.postgresql.util.PSQLException: FATAL: password authentication failed for user\n\tat org.postgresql.core.v3.ConnectionFactoryImpl.doAuthentication(ConnectionFactoryImpl.java:693)".into()),
        (AuthFailed { engine: Engine::Postgres, user, .. }, Stack::Go) => w("*pgconn.PgError", format!("failed to connect to `user={user} database=app`: server error (FATAL: password authentication failed for user \"{user}\" (SQLSTATE 28P01))"), String::new()),
        (AuthFailed { engine: Engine::Postgres, user, .. }, _) => w("error", format!("password authentication failed for user \"{user}\""), String::new()),
        (AuthFailed { engine: Engine::Mongo, .. }, Stack::Java) => w("com.mongodb.MongoSecurityException", "Exception authenticating MongoCredential{mechanism=SCRAM-SHA-256, userName='app', source='admin', password=<hidden>, mechanismProperties=<hidden>}".into(), "Caused by: com.mongodb.MongoCommandException: Command failed with error 18 (AuthenticationFailed): 'Authentication failed.'".into()),
        (AuthFailed { engine: Engine::Mongo, .. }, Stack::Node) => w("MongoServerError", "Authentication failed.".into(), "MongoServerError: Authentication failed.\n    at Connection.onMessage (/app/node_modules/mongodb/lib/cmap/connection.js:202:26)".into()),
        (AuthFailed { engine: Engine::Mongo, .. }, _) => w("OperationFailure", "Authentication failed., full error: {'ok': 0.0, 'errmsg': 'Authentication failed.', 'code': 18, 'codeName': 'AuthenticationFailed'}".into(), String::new()),
        (AuthFailed { .. }, Stack::Node) => w("ReplyError", "WRONGPASS invalid username-password pair or user is disabled.".into(), String::new()),
        (AuthFailed { .. }, _) => w("redis.exceptions.AuthenticationError", "invalid username-password pair or user is disabled.".into(), String::new()),

        (PoolExhausted { ms, .. }, Stack::Java) => w("java.sql.SQLTransientConnectionException", format!("HikariPool-1 - Connection is not available, request timed out after {ms}ms."), format!("java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out after {ms}ms.\n\tat com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool.java:696)")),
        (PoolExhausted { size, ms, .. }, Stack::Python) => w("sqlalchemy.exc.TimeoutError", format!("QueuePool limit of size {size} overflow 10 reached, connection timed out, timeout {:.2} (Background on this error at: https://sqlalche.me/e/20/3o7r)", *ms as f64 / 1000.0), String::new()),
        (PoolExhausted { engine: Engine::Mongo, ms, size }, _) => w("MongoWaitQueueTimeoutError", format!("Timed out while checking out a connection from connection pool: maxPoolSize: {size}, timeout: {ms}ms"), String::new()),
        (PoolExhausted { .. }, Stack::Go) => w("*errors.errorString", "failed to acquire connection from pool: context deadline exceeded".into(), String::new()),
        (PoolExhausted { ms, .. }, Stack::Node) => w("KnexTimeoutError", format!("Knex: Timeout acquiring a connection. The pool is probably full. Are you missing a .transacting(trx) call? ({ms}ms)"), String::new()),
        (PoolExhausted { .. }, Stack::Plain) => w("System.InvalidOperationException", "Timeout expired.  The timeout period elapsed prior to obtaining a connection from the pool.  This may have occurred because all pooled connections were in use and max pool size was reached.".into(), String::new()),

        (Http { host, status }, Stack::Go) => w("*errors.errorString", format!("{host}: unexpected status {status} {}", reason(*status)), String::new()),
        (Http { host, status }, Stack::Java) => w(if *status >= 500 { "org.springframework.web.client.HttpServerErrorException$ServiceUnavailable" } else { "org.springframework.web.client.HttpClientErrorException" }, format!("{status} {}: \"{{\"error\":\"upstream {host} failed\"}}\"", reason(*status)), String::new()),
        (Http { status, .. }, Stack::Node) => w("AxiosError", format!("Request failed with status code {status}"), String::new()),
        (Http { host, status }, Stack::Python) => w("requests.exceptions.HTTPError", format!("{status} Server Error: {} for url: http://{host}/", reason(*status)), String::new()),
        (Http { host, status }, Stack::Plain) => w("System.Net.Http.HttpRequestException", format!("Response status code does not indicate success: {status} ({}) from {host}.", reason(*status)), String::new()),

        (Reset { ip, port, .. }, Stack::Go) => w("*url.Error", if variant.is_multiple_of(2) { format!("read tcp 10.244.0.1:44312->{ip}:{port}: read: connection reset by peer") } else { "EOF".into() }, String::new()),
        (Reset { .. }, Stack::Java) => w("java.net.SocketException", "Connection reset".into(), String::new()),
        (Reset { .. }, Stack::Node) => w("Error", "socket hang up".into(), "Error: socket hang up\n    at connResetException (node:internal/errors:787:14)\n  code: 'ECONNRESET'".into()),
        (Reset { .. }, Stack::Python) => w("requests.exceptions.ConnectionError", "('Connection aborted.', RemoteDisconnected('Remote end closed connection without response'))".into(), String::new()),
        (Reset { .. }, Stack::Plain) => w("System.IO.IOException", "Unable to read data from the transport connection: Connection reset by peer.".into(), String::new()),

        (RateLimited { host, retry_after }, Stack::Java) => w("org.springframework.web.client.HttpClientErrorException$TooManyRequests", format!("429 Too Many Requests: \"{{\"error\":{{\"type\":\"rate_limit_error\",\"message\":\"Too many requests\"}}}}\" (Retry-After: {retry_after}) from {host}"), String::new()),
        (RateLimited { host, .. }, Stack::Go) => w("*errors.errorString", format!("POST https://{host}/v1/: 429 Too Many Requests"), String::new()),
        (RateLimited { .. }, Stack::Node) => w("AxiosError", "Request failed with status code 429".into(), String::new()),
        (RateLimited { host, .. }, Stack::Python) => w("requests.exceptions.HTTPError", format!("429 Client Error: Too Many Requests for url: https://{host}/v2/"), String::new()),
        (RateLimited { .. }, Stack::Plain) => w("System.Net.Http.HttpRequestException", "Response status code does not indicate success: 429 (Too Many Requests).".into(), String::new()),

        (Forbidden { host }, Stack::Java) => w("org.springframework.web.client.HttpClientErrorException$Forbidden", format!("403 Forbidden: \"RBAC: access denied\" from {host}"), String::new()),
        (Forbidden { host }, Stack::Go) => w("*errors.errorString", format!("{host}: unexpected status 403 Forbidden: RBAC: access denied"), String::new()),
        (Forbidden { .. }, Stack::Node) => w("AxiosError", "Request failed with status code 403".into(), String::new()),
        (Forbidden { host }, Stack::Python) => w("requests.exceptions.HTTPError", format!("403 Client Error: Forbidden for url: http://{host}/"), String::new()),
        (Forbidden { .. }, Stack::Plain) => w("System.Net.Http.HttpRequestException", "Response status code does not indicate success: 403 (Forbidden).".into(), String::new()),

        (NoSpace { path }, Stack::Python) => w("OSError", format!("[Errno 28] No space left on device: '{path}'"), format!("Traceback (most recent call last):\n  File \"/app/worker.py\", line 88, in flush\n    with open('{path}', 'ab') as fh:\nOSError: [Errno 28] No space left on device: '{path}'")),
        (NoSpace { path }, Stack::Java) => w("java.io.IOException", "No space left on device".into(), format!("java.io.IOException: No space left on device\n\tat java.base/java.io.FileOutputStream.writeBytes(Native Method)\n\t(writing {path})")),
        (NoSpace { path }, Stack::Go) => w("*fs.PathError", format!("write {path}: no space left on device"), String::new()),
        (NoSpace { path }, Stack::Node) => w("Error", format!("ENOSPC: no space left on device, write '{path}'"), String::new()),
        (NoSpace { path }, Stack::Plain) => w("IOException", format!("could not write to file \"{path}\": No space left on device"), String::new()),

        (WriteConcern { ms }, Stack::Java) => w("com.mongodb.MongoWriteConcernException", format!("Write operation error on server mongodb-0: WriteConcernError{{code=64, codeName='WriteConcernFailed', message='waiting for replication timed out', details={{wtimeout: {ms}}}}}"), String::new()),
        (WriteConcern { .. }, Stack::Node) => w("MongoWriteConcernError", "waiting for replication timed out".into(), String::new()),
        (WriteConcern { .. }, Stack::Python) => w("pymongo.errors.WTimeoutError", "waiting for replication timed out, full error: {'code': 64, 'codeName': 'WriteConcernFailed', 'errmsg': 'waiting for replication timed out', 'errInfo': {'wtimeout': True}}".into(), String::new()),
        (WriteConcern { .. }, _) => w("mongo.WriteConcernError", "(WriteConcernFailed) waiting for replication timed out".into(), String::new()),

        (LockTimeout { engine: Engine::Postgres, object }, Stack::Java) => w("org.postgresql.util.PSQLException", format!("ERROR: canceling statement due to lock timeout\n  Where: while updating tuple (1841,7) in relation \"{object}\""), String::new()),
        (LockTimeout { engine: Engine::Postgres, object }, _) => w("OperationalError", format!("canceling statement due to lock timeout (relation \"{object}\")"), String::new()),
        (LockTimeout { object, .. }, Stack::Java) => w("com.mongodb.MongoExecutionTimeoutException", format!("Command failed with error 50 (MaxTimeMSExpired): 'operation exceeded time limit' on {object}"), String::new()),
        (LockTimeout { object, .. }, _) => w("MongoServerError", format!("operation exceeded time limit (MaxTimeMSExpired) on {object}"), String::new()),

        (App { ty, msg, frame }, _) => w(ty, msg.clone(), frame.clone()),
    }
}

/// Words a failure to reach a data store the way its client driver does
/// (connection refused, connect timeout, unknown host); other failures as
/// [`word`].
pub fn word_store(stack: Stack, engine: Engine, f: &Failure, variant: usize) -> Worded {
    let (host, ip, port, why) = match f {
        Failure::Refused { host, ip, port } => (host, ip.as_str(), *port, "refused"),
        Failure::ConnectTimeout { host, ip, port } => (host, ip.as_str(), *port, "timeout"),
        Failure::Dns { host } => (host, "", engine.port(), "dns"),
        _ => return word(stack, f, variant),
    };
    let go_err = match why {
        "refused" => format!("dial tcp {ip}:{port}: connect: connection refused"),
        "timeout" => format!("dial tcp {ip}:{port}: i/o timeout"),
        _ => format!("dial tcp: lookup {host} on 10.96.0.10:53: no such host"),
    };
    let java_cause = match why {
        "refused" => "java.net.ConnectException: Connection refused".to_string(),
        "timeout" => "java.net.SocketTimeoutException: Connect timed out".to_string(),
        _ => format!("java.net.UnknownHostException: {host}"),
    };
    let py_cause = match why {
        "refused" => "[Errno 111] Connection refused".to_string(),
        "timeout" => "timed out".to_string(),
        _ => "[Errno -2] Name or service not known".to_string(),
    };
    let node_cause = match why {
        "refused" => format!("connect ECONNREFUSED {ip}:{port}"),
        "timeout" => format!("connect ETIMEDOUT {ip}:{port}"),
        _ => format!("getaddrinfo ENOTFOUND {host}"),
    };
    match (engine, stack) {
        (Engine::Mongo, Stack::Java) => w(
            "com.mongodb.MongoTimeoutException",
            format!(
                "Timed out after 30000 ms while waiting to connect. Client view of cluster state is {{type=UNKNOWN, servers=[{{address={host}:{port}, type=UNKNOWN, state=CONNECTING, exception={{com.mongodb.MongoSocketOpenException: Exception opening socket}}, caused by {{{java_cause}}}}}]"
            ),
            String::new(),
        ),
        (Engine::Mongo, Stack::Python) => w(
            "pymongo.errors.ServerSelectionTimeoutError",
            format!(
                "{host}:{port}: {py_cause}, Timeout: 30s, Topology Description: <TopologyDescription id: 66f1, topology_type: Unknown, servers: [<ServerDescription ('{host}', {port}) server_type: Unknown, rtt: None>]>"
            ),
            String::new(),
        ),
        (Engine::Mongo, Stack::Node) => w("MongoServerSelectionError", node_cause, String::new()),
        (Engine::Mongo, _) => w(
            "topology.ServerSelectionError",
            format!(
                "server selection error: context deadline exceeded, current topology: {{ Type: Unknown, Servers: [{{ Addr: {host}:{port}, Type: Unknown, Last error: {go_err} }}, ] }}"
            ),
            String::new(),
        ),
        (Engine::Postgres, Stack::Java) if why == "refused" => w(
            "org.postgresql.util.PSQLException",
            format!(
                "Connection to {host}:{port} refused. Check that the hostname and port are correct and that the postmaster is accepting TCP/IP connections."
            ),
            String::new(),
        ),
        (Engine::Postgres, Stack::Java) => w(
            "org.postgresql.util.PSQLException",
            format!("The connection attempt failed. ({java_cause})"),
            String::new(),
        ),
        (Engine::Postgres, Stack::Python) => w(
            "psycopg2.OperationalError",
            format!(
                "connection to server at \"{host}\" ({ip}), port {port} failed: {}\n\tIs the server running on that host and accepting TCP/IP connections?",
                if why == "refused" {
                    "Connection refused"
                } else {
                    "timeout expired"
                }
            ),
            String::new(),
        ),
        (Engine::Postgres, Stack::Go) => w(
            "*pgconn.ConnectError",
            format!(
                "failed to connect to `host={host} user=app database=app`: dial error ({go_err})"
            ),
            String::new(),
        ),
        (Engine::Postgres, Stack::Plain) => w(
            "Npgsql.NpgsqlException",
            format!("Failed to connect to {ip}:{port}"),
            String::new(),
        ),
        (Engine::Redis, Stack::Java) => w(
            "io.lettuce.core.RedisConnectionException",
            format!("Unable to connect to {host}/<unresolved>:{port}"),
            format!(
                "io.lettuce.core.RedisConnectionException: Unable to connect\nCaused by: {java_cause}"
            ),
        ),
        (Engine::Redis, Stack::Python) => w(
            "redis.exceptions.ConnectionError",
            format!(
                "Error {} connecting to {host}:{port}. {}.",
                if why == "refused" { "111" } else { "110" },
                if why == "refused" {
                    "Connection refused"
                } else {
                    "Connection timed out"
                }
            ),
            String::new(),
        ),
        (Engine::Redis, Stack::Go) => w("*net.OpError", go_err, String::new()),
        (_, Stack::Node) => w("Error", node_cause, String::new()),
        _ => word(stack, f, variant),
    }
}

/// The reason phrase of an HTTP status.
pub fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    }
}

/// JSON string escaping.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\t' => o.push_str("\\t"),
            '\r' => o.push_str("\\r"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o
}

/// Formats an RFC 3339 UTC time with milliseconds from unix nanoseconds.
pub fn iso_ms(ns: i64) -> String {
    let ts =
        jiff::Timestamp::from_nanosecond(i128::from(ns)).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Formats an RFC 3339 UTC time (seconds) from unix seconds.
pub fn iso(s: i64) -> String {
    let ts = jiff::Timestamp::from_second(s).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// One log line as `stack` prints it on stdout, with the level name.
/// `fields` are structured key/values (printed by the JSON stacks).
pub fn log_line(
    stack: Stack,
    ns: i64,
    level: &str,
    logger: &str,
    msg: &str,
    exc: Option<&Worded>,
    fields: &[(&str, String)],
) -> String {
    let t = iso_ms(ns);
    match stack {
        Stack::Java => {
            let mut s = format!(
                "{{\"@timestamp\":\"{t}\",\"log.level\":\"{}\",\"message\":\"{}\",\"process.thread.name\":\"http-nio-8080-exec-{}\",\"log.logger\":\"{}\"",
                if level == "WARN" { "WARN" } else { level },
                esc(msg),
                (ns / 1000 % 40) + 1,
                esc(logger)
            );
            for (k, v) in fields {
                s.push_str(&format!(",\"{k}\":\"{}\"", esc(v)));
            }
            if let Some(e) = exc {
                s.push_str(&format!(
                    ",\"error.type\":\"{}\",\"error.message\":\"{}\",\"error.stack_trace\":\"{}\"",
                    esc(&e.ty),
                    esc(&e.msg),
                    esc(&e.trace)
                ));
            }
            s.push('}');
            s
        }
        Stack::Go => {
            let lvl = level.to_lowercase();
            let lvl = if lvl == "warn" {
                "warn".to_string()
            } else {
                lvl
            };
            let mut s = format!(
                "{{\"level\":\"{lvl}\",\"ts\":{:.6},\"caller\":\"{}\",\"msg\":\"{}\"",
                ns as f64 / 1e9,
                esc(logger),
                esc(msg)
            );
            for (k, v) in fields {
                s.push_str(&format!(",\"{k}\":\"{}\"", esc(v)));
            }
            if let Some(e) = exc {
                s.push_str(&format!(",\"error\":\"{}\"", esc(&e.msg)));
            }
            s.push('}');
            s
        }
        Stack::Node => {
            let n = match level {
                "DEBUG" => 20,
                "INFO" => 30,
                "WARN" => 40,
                "ERROR" => 50,
                _ => 60,
            };
            let mut s = format!(
                "{{\"level\":{n},\"time\":{},\"pid\":1,\"hostname\":\"{}\",\"msg\":\"{}\"",
                ns / 1_000_000,
                esc(logger),
                esc(msg)
            );
            for (k, v) in fields {
                s.push_str(&format!(",\"{k}\":\"{}\"", esc(v)));
            }
            if let Some(e) = exc {
                s.push_str(&format!(
                    ",\"err\":{{\"type\":\"{}\",\"message\":\"{}\",\"stack\":\"{}\"}}",
                    esc(&e.ty),
                    esc(&e.msg),
                    esc(&e.trace)
                ));
            }
            s.push('}');
            s
        }
        Stack::Python => {
            let mut s = format!(
                "{} {:<8} [{}] {}",
                &t.replace('T', " ")[..23],
                level.replace("WARN", "WARNING"),
                logger,
                msg
            );
            for (k, v) in fields {
                s.push_str(&format!(" {k}={v}"));
            }
            if let Some(e) = exc {
                if e.trace.is_empty() {
                    s.push_str(&format!(": {}: {}", e.ty, e.msg));
                } else {
                    s.push('\n');
                    s.push_str(&e.trace);
                }
            }
            s
        }
        Stack::Plain => {
            let lvl = match level {
                "INFO" => "info",
                "WARN" => "warn",
                "ERROR" => "fail",
                "DEBUG" => "dbug",
                _ => "crit",
            };
            let mut s = format!("{t} {lvl}: {logger}[0] {msg}");
            for (k, v) in fields {
                s.push_str(&format!(" {k}={v}"));
            }
            if let Some(e) = exc {
                s.push_str(&format!(" {}: {}", e.ty, e.msg));
            }
            s
        }
    }
}

/// A logger name for a component of a service, in the stack's convention.
pub fn logger(stack: Stack, service: &str, part: &str) -> String {
    let base = service.replace('-', "");
    match stack {
        Stack::Java => format!("com.acme.{base}.{}", part),
        Stack::Go => format!("{part}/handler.go:{}", 40 + service.len() * 3),
        Stack::Node => format!("{service}-{}", part.len() + 7),
        Stack::Python => format!("{}.{}", service.replace('-', "_"), part.to_lowercase()),
        Stack::Plain => format!("Acme.{}.{}", base, part),
    }
}
