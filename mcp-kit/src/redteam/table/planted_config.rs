//! Planted secrets where configuration carries them: environment variables,
//! YAML, JSON, INI, TOML, HCL and properties files, URLs and connection
//! strings, HTTP headers.

use super::Planted;

pub(super) const ROWS: &[Planted] = &[
    // --- Environment variables, .env files, shell --------------------------
    (
        "12-factor app env var in a Deployment",
        "DB_PASSWORD=Vt9qLx2mWp",
        "Vt9qLx2mWp",
    ),
    (
        "shell profile / CI script",
        "export POSTGRES_PASSWORD='Rk8#nZq!w3'",
        "Rk8#nZq!w3",
    ),
    (
        ".env file of a Node service",
        "STRIPE_WEBHOOK_SECRET=\"sv7Kp2Qe9LmA\"",
        "sv7Kp2Qe9LmA",
    ),
    (
        "docker-compose environment list",
        "  - MYSQL_ROOT_PASSWORD=Mq4zT8uYx1",
        "Mq4zT8uYx1",
    ),
    (
        "systemd unit Environment= line",
        "Environment=\"REDIS_PASSWORD=Hs6fJ2kLp9\"",
        "Hs6fJ2kLp9",
    ),
    (
        "Grafana container env",
        "GF_SECURITY_ADMIN_PASSWORD=Gf3aDm1nPw",
        "Gf3aDm1nPw",
    ),
    (
        "RabbitMQ container env",
        "RABBITMQ_DEFAULT_PASS=Rb7mQp4sXz",
        "Rb7mQp4sXz",
    ),
    (
        "MinIO container env",
        "MINIO_SECRET_KEY=Mn1oSk9dQw2e",
        "Mn1oSk9dQw2e",
    ),
    (
        "Elasticsearch container env",
        "ELASTIC_PASSWORD=El4sTp8wQ2",
        "El4sTp8wQ2",
    ),
    (
        "Keycloak container env",
        "KEYCLOAK_ADMIN_PASSWORD=Kc7adm1nZq",
        "Kc7adm1nZq",
    ),
    (
        "Consul agent env",
        "CONSUL_HTTP_TOKEN=c0nsu1-7f3e-4b2a-9d1c",
        "c0nsu1-7f3e-4b2a-9d1c",
    ),
    (
        "Datadog agent env",
        "DD_APP_KEY=9f8e7d6c5b4a39281706f5e4d3c2b1a0",
        "9f8e7d6c5b4a39281706f5e4d3c2b1a0",
    ),
    (
        "Datadog agent env",
        "DD_API_KEY=0a1b2c3d4e5f60718293a4b5c6d7e8f9",
        "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
    ),
    (
        "Slack bot env",
        "SLACK_SIGNING_SECRET=8f742231b10e8888abcd99yyyzzz85a5",
        "8f742231b10e8888abcd99yyyzzz85a5",
    ),
    (
        "psql wrapper script",
        "PGPASSWORD=Pg5xQw8rTz psql -h db -U app",
        "Pg5xQw8rTz",
    ),
    (
        "Twilio env",
        "TWILIO_AUTH_TOKEN=4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d",
        "4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d",
    ),
    (
        "Heroku config var",
        "HEROKU_API_KEY=hk-3e2d1c0b-aaaa-4bbb-8ccc-9ddd",
        "hk-3e2d1c0b-aaaa-4bbb-8ccc-9ddd",
    ),
    (
        "session middleware env",
        "SESSION_SECRET=kb-cat-9Xw2-secret",
        "kb-cat-9Xw2-secret",
    ),
    // --- YAML and JSON configuration (also inside ConfigMaps) ---------------
    (
        "Spring Boot application.yaml in a ConfigMap",
        "spring:\n  datasource:\n    url: jdbc:postgresql://pg:5432/app\n    password: Sp7ringDsPw\n",
        "Sp7ringDsPw",
    ),
    (
        "Helm values.yaml",
        "auth:\n  rootPassword: HelmR00tPw9\n  username: app",
        "HelmR00tPw9",
    ),
    (
        "YAML value of several words",
        "passphrase: correct horse battery Zt9",
        "correct horse battery Zt9",
    ),
    (
        "YAML block scalar",
        "credentials: |\n  user=svc\n  secret-material-Bk4q\nnext: 1",
        "secret-material-Bk4q",
    ),
    (
        "Ansible vars with !vault",
        "db_password: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6638643965326435AnsVlt\n",
        "6638643965326435AnsVlt",
    ),
    (
        "Kubernetes env list in YAML",
        "env:\n- name: API_TOKEN\n  value: tok-Qx7Lm2Vb9\n- name: LOG_LEVEL\n  value: info",
        "tok-Qx7Lm2Vb9",
    ),
    (
        "ECS task definition env",
        "{\"name\": \"DB_PASS\", \"value\": \"EcsT4skPw8\"}",
        "EcsT4skPw8",
    ),
    (
        "JSON config file",
        "{\"database\": {\"password\": \"J50nCfgPw!\"}}",
        "J50nCfgPw!",
    ),
    (
        "JSON config file, escaped quote inside",
        "{\"api_key\": \"k3y-w1th-\\\"quote\"}",
        "k3y-w1th-",
    ),
    (
        "GCP service account key file",
        "{\"type\": \"service_account\", \"private_key_id\": \"1a2b\", \"client_secret\": \"GcpCl1entS3c\"}",
        "GcpCl1entS3c",
    ),
    (
        "docker config.json",
        "{\"auths\": {\"registry.example\": {\"auth\": \"ZG9ja2VyOkRrUjNnUHc=\"}}}",
        "ZG9ja2VyOkRrUjNnUHc=",
    ),
    (
        "kubeconfig user",
        "users:\n- name: ci\n  user:\n    token: kc-T0ken-8f7e6d5c4b3a",
        "kc-T0ken-8f7e6d5c4b3a",
    ),
    (
        "kubeconfig client key",
        "    client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVkKc2Vj",
        "LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVkKc2Vj",
    ),
    (
        "Terraform state",
        "\"attributes\": {\"master_password\": \"TfSt4tePw7\"}",
        "TfSt4tePw7",
    ),
    (
        "Argo CD repo secret rendered",
        "password: ArgoRep0Pw5",
        "ArgoRep0Pw5",
    ),
    (
        "Prometheus scrape config basic_auth",
        "basic_auth:\n  username: prom\n  password: Pr0mScr4pe",
        "Pr0mScr4pe",
    ),
    (
        "Alertmanager receiver",
        "slack_configs:\n- api_url: https://hooks.slack.com/services/T0AAAA000/B0BBBB000/AmGrXyZ0123456789abcdef",
        "T0AAAA000/B0BBBB000/AmGrXyZ0123456789abcdef",
    ),
    (
        "Fluent Bit output",
        "[OUTPUT]\n    Name es\n    HTTP_Passwd FlB1tEsPw3",
        "FlB1tEsPw3",
    ),
    // --- INI, TOML, HCL, properties, XML ------------------------------------
    (
        "INI file with a spaced value",
        "[database]\npassword = my db pass Qw1\nhost = db",
        "my db pass Qw1",
    ),
    (
        "pgbouncer / odbc ini",
        "[client]\npassword=In1CliPw4",
        "In1CliPw4",
    ),
    (
        "TOML config",
        "[server]\nsecret_key = \"T0mlSecK3y\"",
        "T0mlSecK3y",
    ),
    (
        "Vault agent HCL",
        "vault {\n  address = \"https://vault:8200\"\n  token = \"hvs.CAESIJ7xYp0w2nQ8fLkR4mTbVcUe\"\n}",
        "hvs.CAESIJ7xYp0w2nQ8fLkR4mTbVcUe",
    ),
    (
        "Terraform provider HCL",
        "provider \"postgresql\" {\n  password = \"HclPr0vPw6\"\n}",
        "HclPr0vPw6",
    ),
    (
        "Java properties",
        "spring.datasource.password=Pr0psDsPw2",
        "Pr0psDsPw2",
    ),
    (
        "Kafka JAAS config",
        "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"svc\" password=\"Ka7kaJaasPw\";",
        "Ka7kaJaasPw",
    ),
    (
        "Maven settings.xml",
        "<server><id>nexus</id><username>ci</username><password>MvnS3tt1ngs</password></server>",
        "MvnS3tt1ngs",
    ),
    (
        "Tomcat context.xml",
        "<Resource name=\"jdbc/app\" username=\"app\" password=\"T0mcatCtxPw\"/>",
        "T0mcatCtxPw",
    ),
    (
        "NuGet.config",
        "<add key=\"ClearTextPassword\" value=\"NuG3tPw9x\" />",
        "NuG3tPw9x",
    ),
    ("redis.conf", "requirepass R3disConfPw8", "R3disConfPw8"),
    (
        "redis.conf replica",
        "masterauth R3plAuthPw2",
        "R3plAuthPw2",
    ),
    (
        "pip.conf index URL",
        "index-url = https://ci:P1pIdxPw7@pypi.example.internal/simple",
        "P1pIdxPw7",
    ),
    (
        "npmrc auth token",
        "//npm.example.internal/:_authToken=NpmRcT0k3n55",
        "NpmRcT0k3n55",
    ),
    (
        ".pypirc",
        "[pypi]\nusername = __token__\npassword = pypi-AgEIcHlwaS5vcmcCJGFiY2RlZjEyLTM0NTYtNzg5MC1hYmNkZWYxMjM0NTY",
        "pypi-AgEIcHlwaS5vcmcCJGFiY2RlZjEyLTM0NTYtNzg5MC1hYmNkZWYxMjM0NTY",
    ),
    // --- URLs and connection strings ----------------------------------------
    (
        "MongoDB URI in an app log",
        "connecting to mongodb://app:M0ng0UriPw@db-0.db:27017/orders?replicaSet=rs0",
        "M0ng0UriPw",
    ),
    (
        "MongoDB Atlas SRV URI",
        "mongodb+srv://svc:Atl4sSrvPw@cluster0.example.mongodb.net/app",
        "Atl4sSrvPw",
    ),
    (
        "DATABASE_URL env",
        "DATABASE_URL=postgres://admin:P%40gUrlPw3@pg.internal:5432/app",
        "P%40gUrlPw3",
    ),
    (
        "AMQP URL with # in the password",
        "amqp://orders:Am#qpPw9x@rabbit:5672/vhost",
        "Am#qpPw9x",
    ),
    (
        "Redis URL with ? in the password",
        "rediss://default:Rd?s3cPw1@cache:6380/0",
        "Rd?s3cPw1",
    ),
    (
        "Celery broker URL with ! and $",
        "broker_url=redis://:Cel!ry$Pw4@redis:6379/1",
        "Cel!ry$Pw4",
    ),
    (
        "git clone with a token",
        "git clone https://oauth2:GitCl0neTk7@git.example.com/team/app.git",
        "GitCl0neTk7",
    ),
    (
        "MySQL URL in an error",
        "dial tcp: lookup mysql://root:MyR00tPw6@10.0.0.5/db failed",
        "MyR00tPw6",
    ),
    (
        "ADO.NET connection string",
        "Server=sql;Database=app;User Id=sa;Password=Ad0NetPw8;",
        "Ad0NetPw8",
    ),
    (
        "ODBC connection string",
        "Driver={ODBC Driver 18};Server=sql;Uid=app;Pwd=0dbcPwd22;",
        "0dbcPwd22",
    ),
    (
        "JDBC SQL Server URL",
        "jdbc:sqlserver://sql:1433;databaseName=app;user=sa;password=JdbcSqlPw4;",
        "JdbcSqlPw4",
    ),
    (
        "JDBC MySQL URL query",
        "jdbc:mysql://db:3306/app?user=app&password=JdbcMyPw77",
        "JdbcMyPw77",
    ),
    (
        "JDBC Oracle thin URL",
        "jdbc:oracle:thin:scott/0rclThinPw@db:1521/ORCL",
        "0rclThinPw",
    ),
    (
        "sqlplus command line",
        "sqlplus -s system/SqlPlusPw5@orcl @report.sql",
        "SqlPlusPw5",
    ),
    (
        "Azure Storage connection string",
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=QXp1cmVTdG9yYWdlS2V5MDEyMzQ1Njc4OQ==;EndpointSuffix=core.windows.net",
        "QXp1cmVTdG9yYWdlS2V5MDEyMzQ1Njc4OQ==",
    ),
    (
        "Azure Service Bus connection string",
        "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey=U2VydmljZUJ1c0tleTk4NzY1NDMyMQ=",
        "U2VydmljZUJ1c0tleTk4NzY1NDMyMQ=",
    ),
    (
        "Sentry DSN env",
        "SENTRY_DSN=https://5e7a9c1b3d@o12345.ingest.example.io/6789",
        "https://5e7a9c1b3d@o12345.ingest.example.io/6789",
    ),
    (
        "LDAP bind URL",
        "ldaps://cn=admin:Ld4pB1ndPw@ldap.internal:636",
        "Ld4pB1ndPw",
    ),
    (
        "SMTP URL",
        "smtp://mailer:Smtp5endPw@smtp.example.com:587",
        "Smtp5endPw",
    ),
    (
        "Elasticsearch URL in Fluentd log",
        "failed to flush to https://elastic:E5FluentdPw@es:9200/_bulk",
        "E5FluentdPw",
    ),
    (
        "Kafka SASL URL",
        "kafka://svc:K4fkaSaslPw@broker-0:9093",
        "K4fkaSaslPw",
    ),
    // --- HTTP headers and auth schemes --------------------------------------
    (
        "access log header dump",
        "Authorization: Bearer 8dJx2KqP9mWz4TcRv7Ln3YbQ",
        "8dJx2KqP9mWz4TcRv7Ln3YbQ",
    ),
    (
        "Basic auth header",
        "Authorization: Basic YWRtaW46QmFzaWNIZHJQdzE=",
        "YWRtaW46QmFzaWNIZHJQdzE=",
    ),
    (
        "GitHub API token scheme",
        "Authorization: token 3f9a7c2e1b8d4f6a0c5e9b7d2a4f8c1e6b3d9a7f",
        "3f9a7c2e1b8d4f6a0c5e9b7d2a4f8c1e6b3d9a7f",
    ),
    (
        "proxy auth header",
        "Proxy-Authorization: Basic cHJveHk6UHIweHlIZHI=",
        "cHJveHk6UHIweHlIZHI=",
    ),
    (
        "API gateway header",
        "X-API-Key: ak_live_7Hn3Qp9Xw2",
        "ak_live_7Hn3Qp9Xw2",
    ),
    (
        "Azure APIM header",
        "Ocp-Apim-Subscription-Key: 5c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f",
        "5c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f",
    ),
    (
        "Azure Functions header",
        "x-functions-key: AzFnK3y-9Qw2Lp7Zx",
        "AzFnK3y-9Qw2Lp7Zx",
    ),
    (
        "Datadog API header",
        "DD-APPLICATION-KEY: ddapp7e6f5a4b3c2d1e0f9a8b7c6d5e4f3",
        "ddapp7e6f5a4b3c2d1e0f9a8b7c6d5e4f3",
    ),
    (
        "Datadog API header",
        "DD-API-KEY: ddapi1f2e3d4c5b6a79808f7e6d5c4b3a2",
        "ddapi1f2e3d4c5b6a79808f7e6d5c4b3a2",
    ),
    (
        "Vault header",
        "X-Vault-Token: VltHdrT0k3n99",
        "VltHdrT0k3n99",
    ),
    (
        "cookie header",
        "Cookie: theme=dark; session_id=Ck5e55i0nX7q",
        "Ck5e55i0nX7q",
    ),
    (
        "Set-Cookie header",
        "Set-Cookie: JSESSIONID=Js3ss10nIdZ4; Path=/; HttpOnly",
        "Js3ss10nIdZ4",
    ),
    (
        "AWS SigV4 header",
        "Authorization: AWS4-HMAC-SHA256 Credential=AKIAQWERTYUIOPASDFGH/20250601/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024",
        "fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024",
    ),
    (
        "nginx proxy_set_header",
        "proxy_set_header Authorization \"Bearer Ngx9PrxyB34rerTk\";",
        "Ngx9PrxyB34rerTk",
    ),
    (
        "query-string token in an access log",
        "GET /export?format=csv&access_token=Qs4ccT0kenZ9 HTTP/1.1 200",
        "Qs4ccT0kenZ9",
    ),
    (
        "query-string api key",
        "GET /v1/geo?apikey=Qs4p1K3yX8&q=berlin 200",
        "Qs4p1K3yX8",
    ),
];
