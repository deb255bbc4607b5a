//! Look-alikes: text that looks secret-ish but is not, and that an
//! investigation needs to read unmasked.

use super::LookAlike;

pub(super) const ROWS: &[LookAlike] = &[
    // --- kubelet, containerd and scheduler messages ---------------------------
    (
        "containerd image pull error",
        r#"Failed to pull image "registry.example.com/app:1.2": failed to pull and unpack image "registry.example.com/app:1.2": failed to resolve reference "registry.example.com/app:1.2": failed to authorize: failed to fetch oauth token: unexpected status from GET request to https://registry.example.com/oauth2/token?scope=repository%3Aapp%3Apull&service=registry: 401 Unauthorized"#,
    ),
    (
        "containerd image pull error (anonymous token)",
        r#"failed to fetch anonymous token: unexpected status from GET request to https://auth.example.io/token?scope=repository%3Alibrary%2Fnginx%3Apull&service=registry.example.io: 429 Too Many Requests"#,
    ),
    (
        "kubelet pull message",
        "Successfully pulled image \"nginx:1.27\" in 2.1s (2.1s including waiting). Image size: 72 MB.",
    ),
    (
        "kubelet image digest",
        "Container image \"ghcr.io/acme/api@sha256:3b5a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a\" already present on machine",
    ),
    (
        "image digest in an event",
        "image digest sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    ),
    (
        "kubelet secret volume",
        "MountVolume.SetUp failed for volume \"db-creds\" : secret \"db-creds\" not found",
    ),
    (
        "kubelet secret missing",
        "Error: secret \"api-token\" not found",
    ),
    (
        "kubelet configmap key missing",
        "Error: couldn't find key password in ConfigMap shop/app-config",
    ),
    (
        "kubelet env from secret",
        "Error: couldn't find key DB_PASSWORD in Secret shop/db-creds",
    ),
    (
        "kubelet OOM",
        "Container cart failed liveness probe, will be restarted; OOMKilled exit code 137",
    ),
    (
        "kubelet probe",
        "Readiness probe failed: HTTP probe failed with statuscode: 503",
    ),
    (
        "kubelet probe with token path",
        "Liveness probe failed: Get \"http://10.0.3.4:8080/healthz?token_check=skip\": context deadline exceeded",
    ),
    (
        "scheduler",
        "0/12 nodes are available: 3 Insufficient memory, 4 node(s) had untolerated taint {node.kubernetes.io/disk-pressure: }, 5 node(s) didn't match Pod's node affinity/selector. preemption: 0/12 nodes are available: 12 Preemption is not helpful for scheduling.",
    ),
    (
        "scheduler PVC",
        "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
    ),
    (
        "kubelet sandbox",
        "Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox \"3f2a9c8e1b7d\": plugin type=\"calico\" failed (add): error getting ClusterInformation: connection is unauthorized: Unauthorized",
    ),
    (
        "service account token projection",
        "MountVolume.SetUp failed for volume \"kube-api-access-x2x9z\" : failed to fetch token: serviceaccounts \"api\" is forbidden",
    ),
    (
        "HPA",
        "failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API",
    ),
    (
        "cert-manager",
        "Issuing certificate as Secret does not exist; secretName: api-tls",
    ),
    (
        "ingress-nginx",
        "error obtaining PEM from secret shop/api-tls: secret shop/api-tls was not found",
    ),
    (
        "external-secrets",
        "could not get secret data from provider: secret key password does not exist",
    ),
    ("Secret not found", "Secret \"db-creds\" not found"),
    (
        "RBAC denial",
        "secrets is forbidden: User \"system:serviceaccount:ops:agent\" cannot list resource \"secrets\" in API group \"\" in the namespace \"shop\"",
    ),
    (
        "webhook denial",
        "admission webhook \"validate.kyverno.svc\" denied the request: secret must set immutable: true",
    ),
    (
        "eviction",
        "The node was low on resource: ephemeral-storage. Threshold quantity: 10Gi, available: 3412Ki.",
    ),
    (
        "CrashLoopBackOff",
        "Back-off restarting failed container api in pod api-7f9c6d5b48-q588p_shop(5d1c2b3a-aaaa-4bbb-8ccc-1234567890ab)",
    ),
    // --- Database and auth errors ------------------------------------------
    (
        "PostgreSQL auth failure",
        r#"FATAL:  password authentication failed for user "app""#,
    ),
    (
        "PostgreSQL pg_hba",
        "FATAL: no pg_hba.conf entry for host \"10.0.1.5\", user \"app\", database \"orders\", no encryption",
    ),
    (
        "MySQL auth failure",
        "ERROR 1045 (28000): Access denied for user 'root'@'10.0.0.7' (using password: YES)",
    ),
    (
        "MySQL auth failure, no password",
        "Access denied for user 'app'@'%' (using password: NO)",
    ),
    (
        "MongoDB auth failure",
        "Authentication failed. code=18 codeName=AuthenticationFailed mechanism=SCRAM-SHA-256",
    ),
    ("Redis auth failure", "NOAUTH Authentication required."),
    (
        "Redis wrong password",
        "WRONGPASS invalid username-password pair or user is disabled.",
    ),
    (
        "Kafka SASL failure",
        "SaslAuthenticationException: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512",
    ),
    (
        "LDAP failure",
        "LDAP: error code 49 - 80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 52e, v4563",
    ),
    (
        "password policy",
        "password is too short: minimum length is 12",
    ),
    (
        "password expired",
        "password is expired for user svc-report",
    ),
    ("password incorrect", "password is incorrect"),
    ("password reset", "password reset email sent to user 42"),
    (
        "password attempts",
        "invalid password for user alice (attempt 3)",
    ),
    ("passwordless", "passwordless login enabled for admins"),
    ("token expired", "jwt validation failed: token expired"),
    ("token is expired", "the token is expired, re-authenticate"),
    (
        "oauth token error",
        "failed to fetch oauth token: unexpected status from POST request to https://login.example.com/oauth2/v2.0/token: 400 Bad Request",
    ),
    ("token refresh", "token refresh failed: invalid_grant"),
    (
        "token bucket",
        "rate limiter: token bucket full, dropping request",
    ),
    ("token bucket refill", "token bucket refilled: 50 tokens"),
    ("bearer missing", "Bearer token missing from request"),
    (
        "authorization denied",
        "authorization=denied reason=missing_scope",
    ),
    ("authorization failed", "authorization failed: Bearer"),
    ("basic auth required", "401 Basic authentication required"),
    (
        "WWW-Authenticate header",
        "WWW-Authenticate: Bearer realm=\"api\", error=\"invalid_token\"",
    ),
    ("auth method", "auth_method=scram-sha-256"),
    ("auth result", "auth=failed user=bob"),
    ("basic_auth flag", "basic_auth=true"),
    ("session expired", "session expired after 30m"),
    ("cookie missing", "cookie=missing redirecting to /login"),
    ("sig verification", "signature verified for event Ev01ABC"),
    (
        "sig mismatch",
        "webhook signature mismatch: expected v1, got none",
    ),
    ("secret count", "secrets=14 configmaps=32"),
    ("pass counter", "pass=1204 fail=3 skip=0"),
    ("test runner summary", "tests: pass=118 fail=2"),
    ("LLM gateway", "max_tokens=512 temperature=0.2"),
    ("LLM usage", "prompt_tokens: 1234 completion_tokens: 87"),
    ("tokenizer", "loaded tokenizer o200k_base in 41ms"),
    ("tokenizer config", "tokenizer=bpe vocab=200019"),
    ("keyspace stats", "keyspace_hits=1200 keyspace_misses=30"),
    ("cache key", "key=user:42 hit=true"),
    ("primary key", "primary_key=id"),
    (
        "partition key",
        "partition_key=tenant_id sort_key=created_at",
    ),
    (
        "RabbitMQ routing key",
        "routing_key=orders.created exchange=events",
    ),
    (
        "idempotency key",
        "Idempotency-Key: 7c9e6679-7425-40de-944b-e07fc1f90ae7",
    ),
    ("monkey", "monkey=banana"),
    ("turkey", "turkey: roasted"),
    // --- References to secrets (what an investigation needs) -----------------
    ("secretName", "secretName: db-credentials"),
    ("secretKeyRef", "secretKeyRef: {name: db, key: password}"),
    ("password file", "password_file: /run/secrets/db_password"),
    (
        "token path",
        "token_path=/var/run/secrets/kubernetes.io/serviceaccount/token",
    ),
    ("password from env", "password: ${DB_PASSWORD}"),
    ("empty password", "password: \"\""),
    ("placeholder", "api_key: <your key here>"),
    ("already redacted", "token: [REDACTED]"),
    ("masked", "PASSWORD=****"),
    ("Helm template", "password: {{ .Values.db.password }}"),
    ("CLI flag to a file", "--password-file /run/secrets/db"),
    (
        "CLI flag stdin",
        "docker login --password-stdin -u ci registry.example",
    ),
    (
        "CLI flag with an env reference",
        "--api-token $(cat /var/run/token)",
    ),
    ("docker run uid:gid", "docker run -u 1000:1000 app:1.2"),
    ("mysql -p prompt", "mysql -h db -u root -p orders"),
    ("Vault path", "vault kv get -field=password secret/shop/db"),
    (
        "vault login method",
        "vault login -method=kubernetes role=api",
    ),
    (
        "aws configure set region",
        "aws configure set region eu-west-1",
    ),
    ("redis CONFIG SET maxmemory", "CONFIG SET maxmemory 2gb"),
    ("SQL grant", "GRANT SELECT ON orders TO reporting;"),
    (
        "SQL password column",
        "SELECT id, password_hash FROM users WHERE id = 42",
    ),
    (
        "SQL password change statement without value",
        "ALTER USER app PASSWORD EXPIRE;",
    ),
    ("Secret key list", "keys: password,username (2)"),
    ("Secret size marker", "password: [hidden: 24 bytes]"),
    (
        "Kubernetes env from",
        "env DB_PASSWORD from secret db-creds/password",
    ),
    // --- Identifiers, hashes, digests -----------------------------------------
    (
        "git commit",
        "commit 3f2a9c8e1b7d4f6a0e5c2b9d8a7f6e5d4c3b2a19",
    ),
    (
        "deploy revision",
        "deployed revision a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
    ),
    (
        "request id",
        "request_id=550e8400-e29b-41d4-a716-446655440000",
    ),
    (
        "trace ids",
        "trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7",
    ),
    (
        "traceparent",
        "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    ),
    (
        "image by digest",
        "image: ghcr.io/acme/checkout@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    ),
    ("image tag", "image: registry.example/payments:v2.14.3-rc1"),
    (
        "base64 file name",
        "pulling aGVsbG8td29ybGQ=.png from cache",
    ),
    (
        "x-request-id",
        "x-request-id: 7f3c2a1b-9d8e-4f6a-b5c4-d3e2f1a0b9c8",
    ),
    ("uid", "k8s uid 3b6c9a5e-1f2d-4e8a-9b7c-0d1e2f3a4b5c"),
    ("sha1", "sha1: da39a3ee5e6b4b0d3255bfef95601890afd80709"),
    ("span", "span 7a085853722dc6d2 took 340ms"),
    ("etag", "ETag: \"33a64df551425fcc55e4d42a148795d9f25f89d4\""),
    ("content hash", "pod-template-hash=7f9c6d5b48"),
    ("resourceVersion", "resourceVersion: \"184467440737\""),
    (
        "ssh public key",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl user@host",
    ),
    (
        "certificate",
        "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQsw\n-----END CERTIFICATE-----",
    ),
    (
        "public key",
        "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----",
    ),
    (
        "kubeconfig CA",
        "certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t",
    ),
    (
        "kubeconfig client cert",
        "client-certificate-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg",
    ),
    (
        "AWS ARN",
        "arn:aws:iam::123456789012:role/app-secrets-reader",
    ),
    (
        "AWS secret ARN",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf",
    ),
    ("Stripe publishable key", "pk_live_Publishable0123456789"),
    ("AKIA explained", "AKIA is the prefix of AWS access keys"),
    ("sk- alone", "sk-"),
    ("skip", "skip this step"),
    (
        "OpenTelemetry attribute",
        "http.request.header.authorization_present=true",
    ),
    // --- URLs and hosts -------------------------------------------------------
    (
        "query string",
        "GET /api/v1/orders?page=2&limit=50 200 12ms",
    ),
    ("search URL", "https://example.com/path?q=search+terms"),
    ("health URL", "http://checkout.prod.svc:8080/healthz"),
    (
        "Mongo URI without credentials",
        "mongodb://db-0.db:27017,db-1.db:27017/orders?replicaSet=rs0",
    ),
    (
        "Postgres URI without password",
        "postgres://app@pg.internal:5432/orders",
    ),
    ("email", "user@example.com sent a message"),
    ("URL with port", "http://10.0.0.5:9090/metrics"),
    ("git SSH URL", "git@github.com:acme/app.git"),
    (
        "OAuth authorize URL",
        "https://login.example.com/oauth2/authorize?client_id=app&response_type=code&state=xyz",
    ),
    (
        "token endpoint URL",
        "POST https://auth.example.com/oauth/token 200 41ms",
    ),
    (
        "secrets manager endpoint",
        "dial tcp: lookup secretsmanager.eu-west-1.amazonaws.com: no such host",
    ),
    (
        "vault endpoint",
        "Get \"https://vault.vault.svc:8200/v1/auth/token/lookup-self\": dial tcp 10.0.0.9:8200: connect: connection refused",
    ),
    // --- Application logs and metrics -----------------------------------------
    (
        "OOM",
        "pod checkout-7d9f8b6c5-x2x9z OOMKilled exit code 137",
    ),
    ("node", "node ip-10-0-1-23.ec2.internal NotReady"),
    ("connection refused", "connection refused to db:5432"),
    ("conn pool", "conn_max=100 conn_idle=10"),
    (
        "HikariCP",
        "HikariPool-1 - Connection is not available, request timed out after 30000ms.",
    ),
    ("Go error", "dial tcp 10.0.2.7:6379: i/o timeout"),
    (
        "Java exception",
        "java.net.SocketTimeoutException: Read timed out at sun.nio.ch.NioSocketImpl.timedRead",
    ),
    (
        "Python exception",
        "botocore.exceptions.NoCredentialsError: Unable to locate credentials",
    ),
    (
        "AWS SDK error",
        "ExpiredTokenException: The security token included in the request is expired",
    ),
    (
        "AWS SDK error 2",
        "InvalidSignatureException: The request signature we calculated does not match the signature you provided.",
    ),
    (
        "Azure error",
        "AuthorizationFailure: This request is not authorized to perform this operation.",
    ),
    (
        "GCP error",
        "google.auth.exceptions.RefreshError: ('invalid_grant: Token has been expired or revoked.')",
    ),
    (
        "Stripe error",
        "No signatures found matching the expected signature for payload",
    ),
    ("Slack API error", "slack api error: invalid_auth"),
    (
        "Slack API error 2",
        "not_authed: no authentication token provided",
    ),
    (
        "GitHub API error",
        "GET https://api.github.example/repos/acme/app: 401 Bad credentials",
    ),
    (
        "npm error",
        "npm ERR! code E401 Unable to authenticate, need: Basic realm=\"registry\"",
    ),
    ("TLS error", "x509: certificate signed by unknown authority"),
    ("TLS handshake", "remote error: tls: bad certificate"),
    (
        "Envoy",
        "upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: delayed connect error: 111",
    ),
    (
        "gRPC",
        "rpc error: code = Unauthenticated desc = invalid token",
    ),
    (
        "gRPC 2",
        "rpc error: code = PermissionDenied desc = missing scope orders.write",
    ),
    ("istio", "RBAC: access denied"),
    ("rate limit", "429 Too Many Requests: retry after 30s"),
    (
        "metrics",
        "http_requests_total{code=\"500\",route=\"/pay\"} 1234",
    ),
    ("latency", "p99=842ms p50=61ms errors=3.4%"),
    ("memory", "heap_inuse=512Mi limit=1Gi gc_pause=12ms"),
    (
        "JSON log",
        "{\"level\":\"error\",\"msg\":\"payment declined\",\"code\":\"card_declined\",\"order\":\"ord_8823\"}",
    ),
    (
        "JSON log with a secretRef",
        "{\"kind\":\"ExternalSecret\",\"spec\":{\"secretStoreRef\":{\"name\":\"vault\"}}}",
    ),
    ("logfmt", "level=warn msg=\"retrying\" attempt=3 backoff=2s"),
    (
        "env list",
        "env:\n- name: LOG_LEVEL\n  value: info\n- name: DB_HOST\n  value: pg",
    ),
    ("env JSON", "{\"name\":\"PORT\",\"value\":\"8080\"}"),
    ("DB host", "DB_HOST=postgres.default.svc.cluster.local"),
    ("DB user", "DB_USER=app"),
    ("log level", "LOG_LEVEL=debug"),
    ("feature flag", "FEATURE_NEW_CHECKOUT=true"),
    ("timeout", "READ_TIMEOUT=30s"),
    ("Slack message", "deploy of api v2.3 finished, all green"),
    (
        "Slack message about a password",
        "I reset my password, it works now",
    ),
    (
        "Slack message about tokens",
        "we are out of LLM tokens for today",
    ),
    (
        "Slack message about secrets",
        "the secrets rotation job ran at 02:00",
    ),
    (
        "MongoDB document",
        "{\"_id\": \"u42\", \"email\": \"a@example.com\", \"passwordChangedAt\": \"2025-05-01\"}",
    ),
    (
        "MongoDB document 2",
        "{\"order\": \"ord_42\", \"status\": \"paid\", \"token_count\": 3}",
    ),
    (
        "MongoDB slow query",
        "Slow query: {find: \"orders\", filter: {customerId: 42}} planSummary: COLLSCAN keysExamined:0 docsExamined:250000",
    ),
    (
        "MongoDB command",
        "command orders.$cmd command: createIndexes { key: { customerId: 1 } }",
    ),
    (
        "Kafka consumer",
        "consumer group orders-svc lag=12000 partition=3",
    ),
    (
        "RabbitMQ",
        "connection <0.1234.0> (10.0.0.4:5672 -> 10.0.0.9:33012): user 'orders' authenticated and granted access to vhost '/'",
    ),
    (
        "sshd",
        "Accepted publickey for ops from 10.0.0.3 port 51234 ssh2: ED25519 SHA256:AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg",
    ),
    (
        "sshd failure",
        "Failed password for invalid user admin from 203.0.113.9 port 40022 ssh2",
    ),
    (
        "sudo",
        "pam_unix(sudo:auth): authentication failure; logname= uid=1000 euid=0 tty=/dev/pts/0 ruser=ops rhost= user=ops",
    ),
    (
        "cron",
        "CRON[2211]: (root) CMD (/usr/local/bin/rotate-secrets --dry-run)",
    ),
    (
        "terraform plan",
        "# aws_secretsmanager_secret.db will be created",
    ),
    ("helm", "Release \"api\" has been upgraded. Happy Helming!"),
    (
        "argo",
        "ComparisonError: failed to load target state: rpc error: code = Unknown desc = authentication required",
    ),
    (
        "kubectl",
        "error: You must be logged in to the server (Unauthorized)",
    ),
    (
        "curl verbose",
        "> GET /healthz HTTP/1.1\n> Host: api\n< HTTP/1.1 200 OK",
    ),
    (
        "curl",
        "curl -s -o /dev/null -w '%{http_code}' https://api.internal/health",
    ),
    ("base64 in text", "decoded payload length 44 (base64)"),
    ("uuid token word", "tokenId=3 tokensUsed=812"),
    ("pin in text", "pin the version to 1.2.3"),
    ("secret word in text", "the secretary filed the report"),
    ("key word", "the key is in the shared vault under ops/db"),
    ("key rotation", "api key rotation scheduled for 2025-07-01"),
];
