//! Table-driven redaction tests: planted secrets that must be masked, and
//! look-alikes that must pass untouched.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mcp_kit::redact::{is_secret_key, redact, redact_json};

/// (context the secret appears in, the secret itself). The secret must not
/// survive redaction; the surrounding text should.
const PLANTED: &[(&str, &str)] = &[
    // Key rules: env, YAML, JSON, query strings, headers.
    ("DB_PASSWORD=hunter2", "hunter2"),
    ("export POSTGRES_PASSWORD='Tr0ub4dor&3'", "Tr0ub4dor&3"),
    ("password: correct-horse-battery", "correct-horse-battery"),
    ("  passwd = letmein42", "letmein42"),
    ("{\"password\": \"p@ss w0rd!\"}", "p@ss w0rd!"),
    ("{\"db_pass\":\"s3cr3t-value\"}", "s3cr3t-value"),
    ("MYSQL_PWD=rootpw123", "rootpw123"),
    ("client_secret=Zx9yW8vU7tS6", "Zx9yW8vU7tS6"),
    ("clientSecret: abcDEF123456ghi", "abcDEF123456ghi"),
    ("api_key=4f9a8b7c6d5e4f3a", "4f9a8b7c6d5e4f3a"),
    ("X-API-Key: live_8c1f2e3d4c5b", "live_8c1f2e3d4c5b"),
    ("apiKey: \"k-12345-abcdef\"", "k-12345-abcdef"),
    ("GITHUB_TOKEN=plainvalue123", "plainvalue123"),
    ("x-auth-token: 00d1e5f0a9b8", "00d1e5f0a9b8"),
    (
        "https://api.example.com/v1/items?token=abc123def456&page=2",
        "abc123def456",
    ),
    (
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
    (
        "AWS_SECRET_ACCESS_KEY=je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
        "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
    ),
    (
        "private_key: MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
    ),
    ("credentials=user1:pw-from-vault", "user1:pw-from-vault"),
    ("SESSION_SECRET=keyboard-cat-secret", "keyboard-cat-secret"),
    ("session_id=8f14e45fceea167a", "8f14e45fceea167a"),
    ("Cookie: sid=1; cookie=Zm9vYmFyYmF6", "Zm9vYmFyYmF6"),
    ("REDIS_PASS=redispw!", "redispw!"),
    ("signing_key: hmac-k3y-0987", "hmac-k3y-0987"),
    ("encryption_key=AES256-key-material", "AES256-key-material"),
    ("passphrase: open-sesame-42", "open-sesame-42"),
    (
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq==;EndpointSuffix=core.windows.net",
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq==",
    ),
    (
        "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789+/=",
        "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789+/=",
    ),
    (
        "https://acct.blob.core.windows.net/c/b?sv=2022-11-02&sig=AbCdEf%2BGhIjKlMnOp%3D&se=2026",
        "AbCdEf%2BGhIjKlMnOp%3D",
    ),
    // Kubernetes env name/value pairs, YAML and JSON.
    (
        "env:\n- name: DB_PASSWORD\n  value: hunter2\n- name: LOG_LEVEL\n  value: info",
        "hunter2",
    ),
    (
        "{\"name\":\"STRIPE_SECRET\",\"value\":\"whsec_abc123\"}",
        "whsec_abc123",
    ),
    (
        "{\"name\": \"API_TOKEN\", \"value\": \"tok-998877\"}",
        "tok-998877",
    ),
    // URLs and connection strings with passwords.
    (
        "mongodb://app:s3cr3tpass@db-0.db:27017/orders?replicaSet=rs0",
        "s3cr3tpass",
    ),
    (
        "postgres://admin:P%40ssw0rd@pg.internal:5432/app",
        "P%40ssw0rd",
    ),
    ("redis://:onlypassword@cache:6379/0", "onlypassword"),
    ("amqp://guest:guestpw@rabbit:5672/", "guestpw"),
    ("connecting to mysql://root:toor@10.0.0.5/db failed", "toor"),
    (
        "https://deploy:ghp_notreallyatoken@github.example/x.git",
        "ghp_notreallyatoken",
    ),
    // Shape rules: tokens recognisable on their own.
    (
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    ),
    (
        "token eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJpc3MiOiJrOHMiLCJzdWIiOiJzYSJ9.c2lnbmF0dXJlLXZhbHVlLWhlcmU in header",
        "eyJpc3MiOiJrOHMiLCJzdWIiOiJzYSJ9",
    ),
    (
        "curl -H 'Authorization: Bearer sk_abc123def456ghi789'",
        "sk_abc123def456ghi789",
    ),
    (
        "Authorization: Basic dXNlcjpwYXNzd29yZDEyMw==",
        "dXNlcjpwYXNzd29yZDEyMw==",
    ),
    (
        "slack token xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    ),
    (
        "user token xoxp-1111-2222-3333-abcdef0123456789",
        "xoxp-1111-2222-3333-abcdef0123456789",
    ),
    (
        "app token xapp-1-A0123456789-1234567890123-abcdef0123456789abcdef",
        "xapp-1-A0123456789-1234567890123-abcdef0123456789abcdef",
    ),
    (
        "posting to https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
        "T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
    ),
    (
        "using ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
        "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
    ),
    (
        "pat github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGH",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGH",
    ),
    (
        "gitlab glpat-xYz123AbC456dEf789Gh",
        "glpat-xYz123AbC456dEf789Gh",
    ),
    (
        "aws key AKIAIOSFODNN7EXAMPLE in use",
        "AKIAIOSFODNN7EXAMPLE",
    ),
    ("sts ASIAY34FZKBOKMUTVV7A expired", "ASIAY34FZKBOKMUTVV7A"),
    (
        "maps key AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
        "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
    ),
    (
        "oauth ya29.a0AfH6SMBx3kT9q7Yl2vLzQ-abcdefghijk",
        "ya29.a0AfH6SMBx3kT9q7Yl2vLzQ-abcdefghijk",
    ),
    (
        "OPENAI key sk-proj-abcdefghijklmnopqrstuvwxyz012345",
        "sk-proj-abcdefghijklmnopqrstuvwxyz012345",
    ),
    (
        "stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc",
        "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    ),
    (
        "sendgrid SG.ngeVfQFYQlKU0ufo8x5d1A.TwL2iGABf9DHoTf-09kqeF8tAmbihYzrnopKc-1s5cr4",
        "SG.ngeVfQFYQlKU0ufo8x5d1A.TwL2iGABf9DHoTf-09kqeF8tAmbihYzrnopKc-1s5cr4",
    ),
    (
        "npm_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8 published",
        "npm_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
    ),
    (
        "azure secret abc8Q~dEfGhIjKlMnOpQrStUvWxYz0123456789ab",
        "abc8Q~dEfGhIjKlMnOpQrStUvWxYz0123456789ab",
    ),
    (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA75s\nZm9vYmFy\n-----END RSA PRIVATE KEY-----",
        "MIIEpAIBAAKCAQEA75s",
    ),
    (
        "{\"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMIIEvgIBADANBgkqhkiG\\n-----END PRIVATE KEY-----\\n\"}",
        "MIIEvgIBADANBgkqhkiG",
    ),
    (
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----",
        "b3BlbnNzaC1rZXktdjEAAAAA",
    ),
    (
        "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk\n-----END EC PRIVATE KEY-----",
        "MHcCAQEEIBkg4LVWM9nuwNSk",
    ),
];

/// Text that looks secret-ish but is not, and must come out unchanged.
const LOOK_ALIKES: &[&str] = &[
    // FreeRADIUS numbers its requests in brackets after the log's subsystem.
    "Auth: (88231) Login incorrect (Failed retrieving values required to evaluate condition)",
    "commit 3f2a9c8e1b7d4f6a0e5c2b9d8a7f6e5d4c3b2a19",
    "deployed revision a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
    "request_id=550e8400-e29b-41d4-a716-446655440000",
    "trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7",
    "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "image: ghcr.io/acme/checkout@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "image: registry.example/payments:v2.14.3-rc1",
    "pulling aGVsbG8td29ybGQ=.png from cache",
    "loaded tokenizer o200k_base in 41ms",
    "tokenizer=bpe vocab=200019",
    "max_tokens=4096 temperature=0.2",
    "prompt_tokens: 1234",
    "secretName: db-credentials",
    "secretKeyRef: {name: db, key: password}",
    "password_file: /run/secrets/db_password",
    "token_path=/var/run/secrets/kubernetes.io/serviceaccount/token",
    "password reset email sent to user 42",
    "invalid password for user alice (attempt 3)",
    "the secretary filed the report",
    "passwordless login enabled",
    "token bucket refilled: 50 tokens",
    "keyspace_hits=1200 keyspace_misses=30",
    "key=user:42 hit=true",
    "primary_key=id",
    "monkey=banana",
    "turkey: roasted",
    "DB_HOST=postgres.default.svc.cluster.local",
    "DB_USER=app",
    "LOG_LEVEL=debug",
    "env:\n- name: LOG_LEVEL\n  value: info\n- name: DB_HOST\n  value: pg",
    "{\"name\":\"PORT\",\"value\":\"8080\"}",
    "GET /api/v1/orders?page=2&limit=50 200 12ms",
    "https://example.com/path?q=search+terms",
    "http://checkout.prod.svc:8080/healthz",
    "mongodb://db-0.db:27017,db-1.db:27017/orders?replicaSet=rs0",
    "user@example.com sent a message",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl user@host",
    "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQsw\n-----END CERTIFICATE-----",
    "pod checkout-7d9f8b6c5-x2x9z OOMKilled exit code 137",
    "node ip-10-0-1-23.ec2.internal NotReady",
    "Bearer token missing from request",
    "authorization failed: Bearer",
    "skip this step",
    "sk-",
    "AKIA is the prefix of AWS access keys",
    "password: ${DB_PASSWORD}",
    "password: \"\"",
    "api_key: <your key here>",
    "token: [REDACTED]",
    "PASSWORD=****",
    "session expired after 30m",
    "connection refused to db:5432",
    "conn_max=100 conn_idle=10",
    "auth_method=scram-sha-256",
    "signature verified for event Ev01ABC",
    "jwt validation failed: token expired",
    "x-request-id: 7f3c2a1b-9d8e-4f6a-b5c4-d3e2f1a0b9c8",
    "k8s uid 3b6c9a5e-1f2d-4e8a-9b7c-0d1e2f3a4b5c",
    "sha1: da39a3ee5e6b4b0d3255bfef95601890afd80709",
    "span 7a085853722dc6d2 took 340ms",
];

#[test]
fn planted_secrets_are_masked() {
    assert!(PLANTED.len() >= 50, "need at least 50 planted secrets");
    let mut failures = Vec::new();
    for (text, secret) in PLANTED {
        assert!(
            text.contains(secret),
            "bad table row: {text:?} lacks {secret:?}"
        );
        let out = redact(text);
        if out.contains(secret) || !out.contains("[REDACTED") {
            failures.push(format!("{text:?}\n    -> {out:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "secrets survived:\n{}",
        failures.join("\n")
    );
}

#[test]
fn look_alikes_are_untouched() {
    assert!(LOOK_ALIKES.len() >= 50, "need at least 50 look-alikes");
    let mut failures = Vec::new();
    for text in LOOK_ALIKES {
        let out = redact(text);
        if out != *text {
            failures.push(format!("{text:?}\n    -> {out:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "look-alikes changed:\n{}",
        failures.join("\n")
    );
}

#[test]
fn surrounding_text_is_kept() {
    assert_eq!(
        redact("DB_PASSWORD=hunter2 DB_USER=app"),
        "DB_PASSWORD=[REDACTED] DB_USER=app"
    );
    assert_eq!(
        redact("{\"password\":\"x1y2\",\"user\":\"bob\"}"),
        "{\"password\":\"[REDACTED]\",\"user\":\"bob\"}"
    );
    assert_eq!(
        redact("mongodb://app:pw123@db:27017/x"),
        "mongodb://app:[REDACTED]@db:27017/x"
    );
}

#[test]
fn redaction_keeps_json_valid() {
    let text = r#"{"env":[{"name":"DB_PASSWORD","value":"hun\"ter2"}],"password":"a\"b"}"#;
    let out = redact(text);
    let parsed: serde_json::Value = serde_json::from_str(&out).expect("still JSON");
    assert_eq!(parsed["env"][0]["value"], "[REDACTED]");
    assert_eq!(parsed["password"], "[REDACTED]");
}

#[test]
fn json_values_are_redacted_by_key_and_shape() {
    let mut value = serde_json::json!({
        "apiKey": "abc123xyz",
        "nested": {"url": "postgres://u:pw9@h/db", "count": 3},
        "list": ["xoxb-123456789012-abcdefghijkl", "plain"],
        "secretName": "db-creds",
    });
    redact_json(&mut value);
    assert_eq!(value["apiKey"], "[REDACTED]");
    assert_eq!(value["nested"]["url"], "postgres://u:[REDACTED]@h/db");
    assert_eq!(value["nested"]["count"], 3);
    assert_eq!(value["list"][0], "[REDACTED]");
    assert_eq!(value["list"][1], "plain");
    assert_eq!(value["secretName"], "db-creds");
}

#[test]
fn secret_keys_are_judged_by_their_last_components() {
    for key in [
        "password",
        "DB_PASSWORD",
        "apiKey",
        "x-api-key",
        "client_secret",
        "AccountKey",
        "GITHUB_TOKEN",
    ] {
        assert!(is_secret_key(key), "{key} should be secret");
    }
    for key in [
        "tokenizer",
        "max_tokens",
        "secretName",
        "password_file",
        "token_path",
        "keyspace",
        "primary",
    ] {
        assert!(!is_secret_key(key), "{key} should not be secret");
    }
}

#[test]
fn pairs_inside_other_values_are_found() {
    assert_eq!(
        redact("logs of checkout-1: DB_PASSWORD=hunter2 connection refused"),
        "logs of checkout-1: DB_PASSWORD=[REDACTED] connection refused"
    );
    assert_eq!(
        redact("ERROR: config=api_key=abc123xyz"),
        "ERROR: config=api_key=[REDACTED]"
    );
}

/// A pod's Secret volume is a structure, not a secret value: its JSON stays
/// parseable (the engine reads `list … output=json`), and a real secret
/// value next to it is still masked.
#[test]
fn structures_under_secret_keys_stay_well_formed_json() {
    let pod = r#"{"volumes":[{"name":"app-code","secret":{"defaultMode":493,"secretName":"data-processor-app"}},{"name":"x","projected":{"sources":[{"secret":{"name":"s"}}]}}],"env":[{"name":"A","secret":"hunter2hunter2"}]}"#;
    let out = redact(pod);
    let v: serde_json::Value = serde_json::from_str(&out).expect("still JSON");
    assert_eq!(
        v["volumes"][0]["secret"]["secretName"],
        "data-processor-app"
    );
    assert_eq!(v["env"][0]["secret"], "[REDACTED]");
}
