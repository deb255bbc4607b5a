//! The token sources behind [`super::EntraCredential`]: AKS workload identity
//! (a federated service-account token exchanged at the authority), managed
//! identity (App Service's endpoint or the instance metadata service), the
//! Azure CLI for laptops, and the chain that tries them in that order. Each
//! only fetches; caching and refresh before expiry are the credential's.

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::future::BoxFuture;
use serde::Deserialize;

use super::*;

/// AKS workload identity: a federated service-account token exchanged for
/// an access token.
#[derive(Debug)]
pub struct WorkloadIdentity {
    pub(super) authority_host: String,
    pub(super) tenant_id: Option<String>,
    pub(super) client_id: Option<String>,
    pub(super) token_file: Option<PathBuf>,
    pub(super) scope: String,
    pub(super) http: reqwest::Client,
}

impl WorkloadIdentity {
    async fn get(&self) -> Result<AccessToken, EntraError> {
        let missing = |what: &str| EntraError::NotConfigured {
            credential: WORKLOAD,
            reason: format!("{what} is not set"),
        };
        let file = self
            .token_file
            .as_ref()
            .ok_or_else(|| missing("AZURE_FEDERATED_TOKEN_FILE"))?;
        let tenant = self
            .tenant_id
            .as_deref()
            .ok_or_else(|| missing("AZURE_TENANT_ID"))?;
        let client_id = self
            .client_id
            .as_deref()
            .ok_or_else(|| missing("AZURE_CLIENT_ID"))?;
        let assertion = read_assertion(file)?;
        let url = format!(
            "{}/{tenant}/oauth2/v2.0/token",
            self.authority_host.trim_end_matches('/')
        );
        let form = [
            ("client_id", client_id),
            ("grant_type", "client_credentials"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion.as_str()),
            ("scope", self.scope.as_str()),
        ];
        let body = send(WORKLOAD, &url, &[], || self.http.post(&url).form(&form)).await?;
        parse_token_answer(WORKLOAD, &body)
    }
}

fn read_assertion(file: &Path) -> Result<String, EntraError> {
    let text = std::fs::read_to_string(file).map_err(|e| EntraError::NotConfigured {
        credential: WORKLOAD,
        reason: format!(
            "cannot read AZURE_FEDERATED_TOKEN_FILE {}: {e}",
            file.display()
        ),
    })?;
    let assertion = text.trim();
    if assertion.is_empty() {
        return Err(EntraError::NotConfigured {
            credential: WORKLOAD,
            reason: format!("AZURE_FEDERATED_TOKEN_FILE {} is empty", file.display()),
        });
    }
    Ok(assertion.to_string())
}

impl TokenSource for WorkloadIdentity {
    fn name(&self) -> String {
        WORKLOAD.into()
    }
    fn fetch(&self) -> BoxFuture<'_, Result<AccessToken, EntraError>> {
        Box::pin(self.get())
    }
}

/// A managed identity, from the metadata service or an App Service style
/// identity endpoint.
#[derive(Debug)]
pub struct ManagedIdentity {
    kind: ManagedKind,
    pub(super) client_id: Option<String>,
    pub(super) resource: String,
    pub(super) http: reqwest::Client,
}

#[derive(Debug)]
enum ManagedKind {
    Imds { endpoint: String },
    AppService { endpoint: String, header: String },
}

impl ManagedIdentity {
    /// The metadata service at `endpoint` (e.g. [`DEFAULT_IMDS_ENDPOINT`]).
    pub(super) fn imds(
        endpoint: String,
        client_id: Option<String>,
        resource: String,
        http: reqwest::Client,
    ) -> Self {
        Self {
            kind: ManagedKind::Imds { endpoint },
            client_id,
            resource,
            http,
        }
    }

    /// `IDENTITY_ENDPOINT` with `IDENTITY_HEADER`.
    pub(super) fn app_service(
        endpoint: String,
        header: String,
        client_id: Option<String>,
        resource: String,
        http: reqwest::Client,
    ) -> Self {
        Self {
            kind: ManagedKind::AppService { endpoint, header },
            client_id,
            resource,
            http,
        }
    }

    fn credential(&self) -> &'static str {
        match self.kind {
            ManagedKind::Imds { .. } => IMDS,
            ManagedKind::AppService { .. } => APP_SERVICE,
        }
    }

    async fn get(&self) -> Result<AccessToken, EntraError> {
        let credential = self.credential();
        let mut query = vec![("resource", self.resource.as_str())];
        if let Some(id) = &self.client_id {
            query.push(("client_id", id.as_str()));
        }
        let body = match &self.kind {
            ManagedKind::Imds { endpoint } => {
                let url = format!(
                    "{}/metadata/identity/oauth2/token",
                    endpoint.trim_end_matches('/')
                );
                query.insert(0, ("api-version", "2018-02-01"));
                // The metadata service asks clients to retry 404 and 410
                // (the identity is still being set up) as well.
                send(credential, &url, &[404, 410], || {
                    self.http.get(&url).query(&query).header("Metadata", "true")
                })
                .await?
            }
            ManagedKind::AppService { endpoint, header } => {
                query.insert(0, ("api-version", "2019-08-01"));
                send(credential, endpoint, &[], || {
                    self.http
                        .get(endpoint)
                        .query(&query)
                        .header("X-IDENTITY-HEADER", header)
                })
                .await?
            }
        };
        parse_token_answer(credential, &body)
    }
}

impl TokenSource for ManagedIdentity {
    fn name(&self) -> String {
        match &self.kind {
            ManagedKind::Imds { endpoint } => format!("{IMDS} at {endpoint}"),
            ManagedKind::AppService { endpoint, .. } => format!("{APP_SERVICE} at {endpoint}"),
        }
    }
    fn fetch(&self) -> BoxFuture<'_, Result<AccessToken, EntraError>> {
        Box::pin(self.get())
    }
}

/// The signed-in Azure CLI user.
#[derive(Debug)]
pub struct AzureCli {
    pub(super) program: Option<PathBuf>,
    pub(super) resource: String,
    pub(super) tenant_id: Option<String>,
    pub(super) timeout: Duration,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CliToken {
    access_token: String,
    /// Unix seconds (Azure CLI 2.54 and later).
    #[serde(default, rename = "expires_on")]
    expires_on: Option<Number>,
    /// Local time, `2024-01-31 13:45:10.000000` (all versions).
    #[serde(default, rename = "expiresOn")]
    expires_on_local: Option<String>,
}

impl AzureCli {
    async fn get(&self) -> Result<AccessToken, EntraError> {
        let failed = |reason: String| EntraError::Failed {
            credential: CLI,
            reason,
        };
        let program = self
            .program
            .as_ref()
            .ok_or_else(|| EntraError::NotConfigured {
                credential: CLI,
                reason: "`az` is not on PATH (install the Azure CLI and run `az login`)".into(),
            })?;
        let mut command = tokio::process::Command::new(program);
        command
            .args(["account", "get-access-token", "--resource"])
            .arg(&self.resource)
            .args(["--output", "json"])
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        if let Some(tenant) = &self.tenant_id {
            command.args(["--tenant", tenant]);
        }
        let output = tokio::time::timeout(self.timeout, command.output())
            .await
            .map_err(|_| {
                failed(format!(
                    "`az account get-access-token` did not finish within {:?}",
                    self.timeout
                ))
            })?
            .map_err(|e| failed(format!("cannot run {}: {e}", program.display())))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let message = stderr
                .lines()
                .map(str::trim)
                .find(|l| l.starts_with("ERROR"))
                .or_else(|| stderr.lines().map(str::trim).find(|l| !l.is_empty()))
                .unwrap_or("no message")
                .chars()
                .take(300)
                .collect::<String>();
            return Err(failed(format!(
                "`az account get-access-token` failed ({}): {message}",
                output.status
            )));
        }
        let token: CliToken = serde_json::from_slice(&output.stdout).map_err(|e| {
            failed(format!(
                "`az account get-access-token` printed no token: {e}"
            ))
        })?;
        let life = lifetime(None, token.expires_on.as_ref())
            .or_else(|| token.expires_on_local.as_deref().and_then(local_expiry))
            .ok_or_else(|| {
                failed(
                    "`az account get-access-token` printed no expiry (expires_on / expiresOn)"
                        .into(),
                )
            })?;
        Ok(AccessToken::new(token.access_token, life))
    }
}

/// The Azure CLI's `expiresOn`: local time without a zone.
pub(super) fn local_expiry(text: &str) -> Option<Duration> {
    let civil: jiff::civil::DateTime = text.trim().parse().ok()?;
    let when = civil.to_zoned(jiff::tz::TimeZone::system()).ok()?;
    let secs = when.timestamp().as_second() - jiff::Timestamp::now().as_second();
    Some(Duration::from_secs(secs.max(0).unsigned_abs()))
}

impl TokenSource for AzureCli {
    fn name(&self) -> String {
        CLI.into()
    }
    fn fetch(&self) -> BoxFuture<'_, Result<AccessToken, EntraError>> {
        Box::pin(self.get())
    }
}

/// `auto`: the sources in order; the first that gives a token is kept.
#[derive(Debug)]
pub(super) struct Chain {
    pub(super) sources: Vec<Box<dyn TokenSource>>,
    pub(super) skipped: Vec<String>,
    pub(super) chosen: StdMutex<Option<usize>>,
}

impl Chain {
    fn chosen(&self) -> Option<usize> {
        *self
            .chosen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn get(&self) -> Result<AccessToken, EntraError> {
        if let Some(i) = self.chosen()
            && let Some(source) = self.sources.get(i)
        {
            return source.fetch().await;
        }
        let mut tried = self.skipped.clone();
        for (i, source) in self.sources.iter().enumerate() {
            match source.fetch().await {
                Ok(token) => {
                    tracing::info!(source = %source.name(), "Entra ID tokens come from this source");
                    *self
                        .chosen
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(i);
                    return Ok(token);
                }
                Err(e) => tried.push(e.to_string()),
            }
        }
        Err(EntraError::NoneWorked { tried })
    }
}

impl TokenSource for Chain {
    fn name(&self) -> String {
        match self.chosen().and_then(|i| self.sources.get(i)) {
            Some(s) => format!("auto: {}", s.name()),
            None => format!(
                "auto: {}",
                self.sources
                    .iter()
                    .map(|s| s.name())
                    .collect::<Vec<_>>()
                    .join(", then ")
            ),
        }
    }
    fn fetch(&self) -> BoxFuture<'_, Result<AccessToken, EntraError>> {
        Box::pin(self.get())
    }
}
