//! Entra ID access tokens for Azure OpenAI, refreshed before they expire.
//!
//! An [`EntraCredential`] gets tokens for the Cognitive Services scope
//! (`https://cognitiveservices.azure.com/.default`) from one of three
//! sources and caches them:
//!
//! * **Workload identity** (AKS): the projected service-account token in
//!   `AZURE_FEDERATED_TOKEN_FILE` is exchanged at
//!   `{AZURE_AUTHORITY_HOST}/{AZURE_TENANT_ID}/oauth2/v2.0/token` for an
//!   access token of the app `AZURE_CLIENT_ID` (the client-credentials grant
//!   with a JWT-bearer client assertion). The file is read again for every
//!   exchange, because kubelet rotates it.
//! * **Managed identity**: the instance metadata service
//!   (`GET {imds}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=…`
//!   with `Metadata: true`), or, where `IDENTITY_ENDPOINT` and
//!   `IDENTITY_HEADER` are set (App Service, Container Apps, Functions), that
//!   endpoint with `api-version=2019-08-01` and the `X-IDENTITY-HEADER`
//!   header. A user-assigned identity is chosen by its client id.
//! * **Azure CLI** (laptops): `az account get-access-token --resource
//!   https://cognitiveservices.azure.com --output json`.
//!
//! [`EntraSource::Auto`] tries, in order, workload identity (when its
//! variables are set), the App Service managed identity (when its variables
//! are set), the Azure CLI (when `az` is on `PATH`) and last the metadata
//! service; the first that gives a token is kept for the life of the
//! process. So a laptop never waits on the metadata address, and a pod with
//! neither workload identity nor `az` ends with its managed identity.
//!
//! The cache refreshes a token five minutes before it expires (or at half
//! its life when it lives less than ten minutes); concurrent requests share
//! one refresh (the cache is behind an async lock held during the fetch); a
//! refresh that fails while the old token is still valid keeps the old one;
//! and a request the endpoint refused with 401 asks for one fresh token
//! ([`EntraCredential::refresh_rejected`]) before giving up. A failure is an
//! [`EntraError`] naming the source and what it lacks
//! ("workload identity: AZURE_FEDERATED_TOKEN_FILE is not set"), never a
//! panic; the investigation then keeps its deterministic RCA.
//!
//! # Why not the `azure_identity` crate
//!
//! The issue asked for the Azure SDK's identity crate; version 1.0.0 was
//! evaluated and not used, because it could not be tested here and would not
//! fit the client:
//!
//! * Its metadata-service endpoint is a constant (`169.254.169.254`), with
//!   no way to point it elsewhere, so the managed-identity path could not be
//!   run against a local fake, and tests must never touch that address.
//! * Its authority host must be `https`, so the workload-identity exchange
//!   cannot be pointed at a plain-HTTP fake on 127.0.0.1 either (the
//!   workspace has no certificate generator for a TLS fake).
//! * Each credential keeps its own cache with no way to bypass it, so the
//!   one forced refresh after a 401 (a revoked token, a changed role
//!   assignment) would get the same cached token back until five minutes
//!   before its expiry.
//! * With its default features it brings a second HTTP stack with the
//!   aws-lc-rs crypto provider, which the workspace keeps out (one rustls
//!   provider per process); without them it needs a transport adapter
//!   written for it.
//!
//! The three protocols are small, public and stable (the Microsoft identity
//! platform's client-credentials grant with a federated assertion, the
//! managed-identity token endpoints, and the Azure CLI's JSON output), so
//! they are implemented here over the workspace's own `reqwest`, each
//! endpoint overridable, and tested against fakes on loopback
//! (`sre-orchestrator/tests/entra.rs`).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Mutex as StdMutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use serde::Deserialize;

/// The resource Azure OpenAI tokens are issued for.
pub const COGNITIVE_SERVICES_RESOURCE: &str = "https://cognitiveservices.azure.com";
/// The public cloud's authority host (`AZURE_AUTHORITY_HOST` overrides it).
pub const DEFAULT_AUTHORITY_HOST: &str = "https://login.microsoftonline.com";
/// The instance metadata service (the `imds_endpoint` setting overrides it).
pub const DEFAULT_IMDS_ENDPOINT: &str = "http://169.254.169.254";
/// How long before expiry a token is refreshed.
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(300);

const WORKLOAD: &str = "workload identity";
const APP_SERVICE: &str = "managed identity (App Service)";
const IMDS: &str = "managed identity (IMDS)";
const CLI: &str = "Azure CLI";

/// Where tokens come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EntraSource {
    /// Workload identity, App Service managed identity, Azure CLI, metadata
    /// service: the first that gives a token.
    #[default]
    Auto,
    /// AKS workload identity only.
    Workload,
    /// Managed identity only (App Service variables if set, else the
    /// metadata service).
    Managed,
    /// The Azure CLI only.
    Cli,
}

impl FromStr for EntraSource {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "auto" => Ok(Self::Auto),
            "workload" | "workload_identity" => Ok(Self::Workload),
            "managed" | "managed_identity" => Ok(Self::Managed),
            "cli" | "azure_cli" | "az" => Ok(Self::Cli),
            other => Err(format!(
                "Entra ID source must be `auto`, `workload`, `managed` or `cli`, not `{other}`"
            )),
        }
    }
}

impl fmt::Display for EntraSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Workload => "workload",
            Self::Managed => "managed",
            Self::Cli => "cli",
        })
    }
}

/// Why no token could be had.
#[derive(Debug, thiserror::Error)]
pub enum EntraError {
    /// The source lacks what it needs (a variable, a file, the `az` program).
    #[error("{credential}: {reason}")]
    NotConfigured {
        /// The source, e.g. `workload identity`.
        credential: &'static str,
        /// What is missing.
        reason: String,
    },
    /// The source was asked and failed (unreachable, refused, bad answer).
    #[error("{credential}: {reason}")]
    Failed {
        /// The source.
        credential: &'static str,
        /// What happened (never the token).
        reason: String,
    },
    /// `auto`: every source was tried or skipped.
    #[error("no Entra ID source gave a token: {}", .tried.join("; "))]
    NoneWorked {
        /// Each source and why it gave nothing.
        tried: Vec<String>,
    },
}

/// An access token and how long it lives from when it was received.
#[derive(Clone)]
pub struct AccessToken {
    secret: String,
    lifetime: Duration,
}

impl AccessToken {
    /// A token living `lifetime` from now.
    pub fn new(secret: impl Into<String>, lifetime: Duration) -> Self {
        Self {
            secret: secret.into(),
            lifetime,
        }
    }
    /// The token (sent as `Authorization: Bearer`).
    pub fn secret(&self) -> &str {
        &self.secret
    }
    /// How long it lives from when it was received.
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("secret", &"<redacted>")
            .field("lifetime", &self.lifetime)
            .finish()
    }
}

/// One way of getting a token (no caching: [`EntraCredential`] caches).
pub trait TokenSource: Send + Sync + fmt::Debug {
    /// What it is, for messages (`workload identity`, `Azure CLI`…).
    fn name(&self) -> String;
    /// Asks for a fresh token.
    fn fetch(&self) -> BoxFuture<'_, Result<AccessToken, EntraError>>;
}

/// What configuration says about Entra ID; the rest comes from the
/// environment (the variables the Azure SDKs read).
#[derive(Debug, Clone, Default)]
pub struct EntraSettings {
    /// Which source.
    pub source: EntraSource,
    /// The resource tokens are for (default [`COGNITIVE_SERVICES_RESOURCE`]).
    pub resource: Option<String>,
    /// The client id of a user-assigned managed identity, or of the
    /// workload-identity app (default `AZURE_CLIENT_ID`).
    pub client_id: Option<String>,
    /// The tenant (default `AZURE_TENANT_ID`).
    pub tenant_id: Option<String>,
    /// The authority host (default `AZURE_AUTHORITY_HOST`, else
    /// [`DEFAULT_AUTHORITY_HOST`]).
    pub authority_host: Option<String>,
    /// The metadata service's base URL (default [`DEFAULT_IMDS_ENDPOINT`]).
    pub imds_endpoint: Option<String>,
    /// The Azure CLI program (default `az` found on `PATH`).
    pub az_program: Option<PathBuf>,
}

/// Tokens from one source, cached and refreshed ahead of expiry.
pub struct EntraCredential {
    source: Box<dyn TokenSource>,
    cache: tokio::sync::Mutex<Option<Cached>>,
    margin: Duration,
    fetches: AtomicU64,
}

struct Cached {
    token: AccessToken,
    /// When to get a new one.
    refresh_at: Instant,
    /// Until when it may still be sent if getting a new one fails: a little
    /// before it expires, so it does not expire in flight.
    usable_until: Instant,
}

impl fmt::Debug for EntraCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntraCredential")
            .field("source", &self.source.name())
            .field("margin", &self.margin)
            .finish_non_exhaustive()
    }
}

impl EntraCredential {
    /// Tokens from `source`.
    pub fn new(source: Box<dyn TokenSource>) -> Self {
        Self {
            source,
            cache: tokio::sync::Mutex::new(None),
            margin: DEFAULT_REFRESH_MARGIN,
            fetches: AtomicU64::new(0),
        }
    }

    /// The source `settings` choose, with the process environment.
    pub fn from_environment(settings: &EntraSettings) -> Result<Self, EntraError> {
        Self::from_settings(settings, |name| {
            std::env::var(name).ok().filter(|v| !v.is_empty())
        })
    }

    /// The source `settings` choose, with variables read through `env`
    /// (tests pass their own). Fails only when no HTTP client can be built;
    /// what is missing is reported when a token is asked for.
    pub fn from_settings(
        settings: &EntraSettings,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, EntraError> {
        let http = http_client()?;
        let resource = settings
            .resource
            .clone()
            .unwrap_or_else(|| COGNITIVE_SERVICES_RESOURCE.into());
        let client_id = settings
            .client_id
            .clone()
            .or_else(|| env("AZURE_CLIENT_ID"));
        let workload = || WorkloadIdentity {
            authority_host: settings
                .authority_host
                .clone()
                .or_else(|| env("AZURE_AUTHORITY_HOST"))
                .unwrap_or_else(|| DEFAULT_AUTHORITY_HOST.into()),
            tenant_id: settings
                .tenant_id
                .clone()
                .or_else(|| env("AZURE_TENANT_ID")),
            client_id: client_id.clone(),
            token_file: env("AZURE_FEDERATED_TOKEN_FILE").map(PathBuf::from),
            scope: format!("{}/.default", resource.trim_end_matches('/')),
            http: http.clone(),
        };
        let app_service = || match (env("IDENTITY_ENDPOINT"), env("IDENTITY_HEADER")) {
            (Some(endpoint), Some(header)) => Ok(ManagedIdentity::app_service(
                endpoint,
                header,
                client_id.clone(),
                resource.clone(),
                http.clone(),
            )),
            (None, _) => Err("IDENTITY_ENDPOINT is not set".to_string()),
            (Some(_), None) => Err("IDENTITY_HEADER is not set".to_string()),
        };
        let imds = || {
            ManagedIdentity::imds(
                settings
                    .imds_endpoint
                    .clone()
                    .unwrap_or_else(|| DEFAULT_IMDS_ENDPOINT.into()),
                client_id.clone(),
                resource.clone(),
                http.clone(),
            )
        };
        let cli = || AzureCli {
            program: settings
                .az_program
                .clone()
                .or_else(|| find_on_path("az", env("PATH").as_deref())),
            resource: resource.clone(),
            tenant_id: settings.tenant_id.clone(),
            timeout: Duration::from_secs(30),
        };
        let source: Box<dyn TokenSource> = match settings.source {
            EntraSource::Workload => Box::new(workload()),
            EntraSource::Managed => match app_service() {
                Ok(m) => Box::new(m),
                Err(_) => Box::new(imds()),
            },
            EntraSource::Cli => Box::new(cli()),
            EntraSource::Auto => {
                let mut sources: Vec<Box<dyn TokenSource>> = Vec::new();
                let mut skipped = Vec::new();
                let w = workload();
                if w.token_file.is_some() {
                    sources.push(Box::new(w));
                } else {
                    skipped.push(format!("{WORKLOAD}: AZURE_FEDERATED_TOKEN_FILE is not set"));
                }
                match app_service() {
                    Ok(m) => sources.push(Box::new(m)),
                    Err(why) => skipped.push(format!("{APP_SERVICE}: {why}")),
                }
                let c = cli();
                if c.program.is_some() {
                    sources.push(Box::new(c));
                } else {
                    skipped.push(format!("{CLI}: `az` is not on PATH"));
                }
                sources.push(Box::new(imds()));
                Box::new(Chain {
                    sources,
                    skipped,
                    chosen: StdMutex::new(None),
                })
            }
        };
        Ok(Self::new(source))
    }

    /// Refresh this long before expiry (default five minutes; a token that
    /// lives less than twice this is refreshed at half its life).
    pub fn with_refresh_margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// The source, for messages.
    pub fn source_name(&self) -> String {
        self.source.name()
    }

    /// How many tokens were fetched so far (cache misses).
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// A token valid for a while yet: the cached one, or a fresh one when it
    /// is due for refresh. Concurrent callers share one fetch.
    pub async fn token(&self) -> Result<String, EntraError> {
        let mut cache = self.cache.lock().await;
        let now = Instant::now();
        if let Some(c) = cache.as_ref()
            && now < c.refresh_at
        {
            return Ok(c.token.secret.clone());
        }
        match self.fetch().await {
            Ok(fresh) => Ok(self.store(&mut cache, fresh)),
            Err(e) => match cache.as_ref() {
                // Refreshing ahead failed, but the token still works: use it
                // and try again on the next request.
                Some(c) if Instant::now() < c.usable_until => {
                    tracing::warn!(error = %e, "Entra ID token refresh failed; the current token is still valid");
                    Ok(c.token.secret.clone())
                }
                _ => Err(e),
            },
        }
    }

    /// A token other than `rejected` (which the endpoint answered 401 to):
    /// the cached one if another request already refreshed it, else a fresh
    /// one.
    pub async fn refresh_rejected(&self, rejected: &str) -> Result<String, EntraError> {
        let mut cache = self.cache.lock().await;
        if let Some(c) = cache.as_ref()
            && c.token.secret != rejected
            && Instant::now() < c.refresh_at
        {
            return Ok(c.token.secret.clone());
        }
        *cache = None;
        let fresh = self.fetch().await?;
        Ok(self.store(&mut cache, fresh))
    }

    async fn fetch(&self) -> Result<AccessToken, EntraError> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let token = self.source.fetch().await?;
        tracing::debug!(
            source = %self.source.name(),
            lifetime_secs = token.lifetime.as_secs(),
            "got an Entra ID token"
        );
        Ok(token)
    }

    fn store(&self, cache: &mut Option<Cached>, token: AccessToken) -> String {
        let now = Instant::now();
        let life = token.lifetime;
        let refresh_in = life.saturating_sub(self.margin).max(life / 2);
        let secret = token.secret.clone();
        let in_flight = Duration::from_secs(10).min(life / 4);
        *cache = Some(Cached {
            refresh_at: now + refresh_in,
            usable_until: now + life.saturating_sub(in_flight),
            token,
        });
        secret
    }
}

fn http_client() -> Result<reqwest::Client, EntraError> {
    crate::ensure_crypto_provider();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .connect_timeout(Duration::from_secs(3))
        .build()
        .map_err(|e| EntraError::Failed {
            credential: "Entra ID",
            reason: format!("cannot build an HTTP client: {e}"),
        })
}

/// `name` in one of `path`'s directories.
fn find_on_path(name: &str, path: Option<&str>) -> Option<PathBuf> {
    let path = path?;
    std::env::split_paths(path).find_map(|dir| {
        let candidates = if cfg!(windows) {
            vec![
                dir.join(format!("{name}.cmd")),
                dir.join(format!("{name}.exe")),
            ]
        } else {
            vec![dir.join(name)]
        };
        candidates.into_iter().find(|p| p.is_file())
    })
}

/// A number that may come as a JSON string (the managed-identity endpoints
/// send `"expires_in": "3599"`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Number {
    Int(i64),
    Text(String),
}

impl Number {
    fn get(&self) -> Option<i64> {
        match self {
            Number::Int(n) => Some(*n),
            Number::Text(t) => t.trim().parse().ok(),
        }
    }
}

/// A token endpoint's answer (Entra's v2 endpoint and the managed-identity
/// endpoints share these fields).
#[derive(Debug, Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<Number>,
    #[serde(default)]
    expires_on: Option<Number>,
}

/// How long a token lives: `expires_in` (immune to clock skew), else
/// `expires_on` (Unix seconds) from now.
fn lifetime(expires_in: Option<&Number>, expires_on: Option<&Number>) -> Option<Duration> {
    if let Some(secs) = expires_in.and_then(Number::get) {
        return Some(Duration::from_secs(secs.max(0).unsigned_abs()));
    }
    let on = expires_on.and_then(Number::get)?;
    let now = jiff::Timestamp::now().as_second();
    Some(Duration::from_secs((on - now).max(0).unsigned_abs()))
}

fn parse_token_answer(credential: &'static str, body: &str) -> Result<AccessToken, EntraError> {
    let answer: TokenAnswer = serde_json::from_str(body).map_err(|e| EntraError::Failed {
        credential,
        reason: format!("the token endpoint's answer is not a token: {e}"),
    })?;
    if answer.access_token.is_empty() {
        return Err(EntraError::Failed {
            credential,
            reason: "the token endpoint sent an empty access_token".into(),
        });
    }
    let life =
        lifetime(answer.expires_in.as_ref(), answer.expires_on.as_ref()).ok_or_else(|| {
            EntraError::Failed {
                credential,
                reason: "the token endpoint's answer has neither expires_in nor expires_on".into(),
            }
        })?;
    Ok(AccessToken::new(answer.access_token, life))
}

/// The useful part of an error body: OAuth's `error` and
/// `error_description` (first line: Entra appends trace and correlation
/// ids), else the start of the body.
fn error_summary(body: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let field = |v: &serde_json::Value| v.as_str().map(str::to_string);
    let code = field(&value["error"]).or_else(|| field(&value["error"]["code"]));
    let description = field(&value["error_description"])
        .or_else(|| field(&value["error"]["message"]))
        .map(|d| d.lines().next().unwrap_or_default().trim().to_string());
    let text = match (code, description) {
        (Some(c), Some(d)) => format!("{c}: {d}"),
        (Some(c), None) => c,
        (None, Some(d)) => d,
        (None, None) => body.trim().to_string(),
    };
    text.chars().take(300).collect()
}

/// Sends `request` (built anew for each try), retrying 429 and 5xx (and the
/// statuses `extra_retry` names) twice with a short backoff; returns the
/// body of a success.
async fn send(
    credential: &'static str,
    url: &str,
    extra_retry: &[u16],
    request: impl Fn() -> reqwest::RequestBuilder,
) -> Result<String, EntraError> {
    let mut attempt = 0u32;
    loop {
        let failed = |reason: String| EntraError::Failed { credential, reason };
        let response = request()
            .send()
            .await
            .map_err(|e| failed(format!("{url} unreachable: {}", error_chain(&e))))?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|e| failed(format!("{url}: cannot read the answer: {e}")))?;
        if status.is_success() {
            return Ok(body);
        }
        let retryable = status.as_u16() == 429
            || status.is_server_error()
            || extra_retry.contains(&status.as_u16());
        if !retryable || attempt >= 2 {
            return Err(failed(format!(
                "{url} answered {}: {}",
                status.as_u16(),
                error_summary(&body)
            )));
        }
        tokio::time::sleep(Duration::from_millis(300 << attempt)).await;
        attempt += 1;
    }
}

/// An error and its causes on one line (reqwest's own message says little:
/// "error sending request").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

mod sources;
use sources::Chain;
pub use sources::{AzureCli, ManagedIdentity, WorkloadIdentity};

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::sources::local_expiry;
    use super::*;

    #[test]
    fn sources_by_name() {
        assert_eq!("auto".parse(), Ok(EntraSource::Auto));
        assert_eq!("workload-identity".parse(), Ok(EntraSource::Workload));
        assert_eq!("Managed".parse(), Ok(EntraSource::Managed));
        assert_eq!("azure_cli".parse(), Ok(EntraSource::Cli));
        assert!("kerberos".parse::<EntraSource>().is_err());
    }

    #[test]
    fn lifetimes_from_numbers_or_strings() {
        let in_ = |v: serde_json::Value| serde_json::from_value::<Number>(v).unwrap();
        assert_eq!(
            lifetime(Some(&in_(serde_json::json!("3599"))), None),
            Some(Duration::from_secs(3599))
        );
        assert_eq!(
            lifetime(Some(&in_(serde_json::json!(60))), None),
            Some(Duration::from_secs(60))
        );
        let soon = jiff::Timestamp::now().as_second() + 120;
        let life = lifetime(None, Some(&in_(serde_json::json!(soon.to_string())))).unwrap();
        assert!(life <= Duration::from_secs(120) && life >= Duration::from_secs(110));
        assert_eq!(lifetime(None, None), None);
    }

    #[test]
    fn the_cli_local_expiry() {
        let later = jiff::Zoned::now()
            .checked_add(jiff::SignedDuration::from_secs(1800))
            .unwrap();
        let text = later
            .datetime()
            .strftime("%Y-%m-%d %H:%M:%S.%f")
            .to_string();
        let life = local_expiry(&text).unwrap();
        assert!(
            life <= Duration::from_secs(1800) && life >= Duration::from_secs(1790),
            "{text}: {life:?}"
        );
        assert_eq!(local_expiry("tomorrow"), None);
    }

    #[test]
    fn error_bodies_are_summarised() {
        let entra = r#"{"error":"invalid_client","error_description":"AADSTS700016: Application with identifier 'x' was not found.\r\nTrace ID: 1\r\nCorrelation ID: 2","error_codes":[700016]}"#;
        assert_eq!(
            error_summary(entra),
            "invalid_client: AADSTS700016: Application with identifier 'x' was not found."
        );
        let imds = r#"{"error":"invalid_request","error_description":"Identity not found"}"#;
        assert_eq!(error_summary(imds), "invalid_request: Identity not found");
        assert_eq!(error_summary("Bad Gateway"), "Bad Gateway");
    }

    #[test]
    fn tokens_never_show_in_debug() {
        let t = AccessToken::new("eyJ0eXAiOiJKV1Qi.secret", Duration::from_secs(1));
        assert!(!format!("{t:?}").contains("secret\""));
        assert!(!format!("{t:?}").contains("eyJ0"));
    }

    #[test]
    fn path_lookup() {
        let dir = std::env::temp_dir().join(format!("entra-path-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("az"), "#!/bin/sh\n").unwrap();
        let path = std::env::join_paths([Path::new("/nonexistent"), &dir])
            .unwrap()
            .into_string()
            .unwrap();
        if cfg!(unix) {
            assert_eq!(find_on_path("az", Some(&path)), Some(dir.join("az")));
        }
        assert_eq!(find_on_path("az", Some("/nonexistent")), None);
        assert_eq!(find_on_path("az", None), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
