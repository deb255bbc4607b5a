//! Fakes of the Entra ID token endpoints on 127.0.0.1 (the v2 token
//! endpoint, the instance metadata service, App Service's identity endpoint)
//! and the helpers `entra.rs` builds its credentials and LLM clients with.
//! The endpoints follow the Microsoft identity platform's public
//! documentation, as `entra.rs` describes.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use sre_orchestrator::fake_llm::FakeLlm;
use sre_orchestrator::llm::{
    Endpoint, EntraCredential, EntraSettings, EntraSource, LlmClient, Retry,
};

pub const TENANT: &str = "72f988bf-0000-4000-8000-2d7cd011db47";
pub const CLIENT: &str = "0f1e2d3c-0000-4000-8000-aabbccddeeff";
pub const ASSERTION: &str = "eyJhbGciOiJSUzI1NiJ9.projected-sa-token.sig";
pub const SCOPE: &str = "https://cognitiveservices.azure.com/.default";
pub const RESOURCE: &str = "https://cognitiveservices.azure.com";

/// One request a fake token endpoint received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub fields: BTreeMap<String, String>,
    pub headers: BTreeMap<String, String>,
}

#[derive(Default)]
struct FakeState {
    seen: Vec<Seen>,
    issued: u64,
    lifetime_secs: u64,
    delay: Duration,
    /// Statuses to answer with before issuing tokens again.
    fail: Vec<u16>,
}

/// **A fake** Entra ID token service: the v2 token endpoint, the metadata
/// service and an App Service identity endpoint, on 127.0.0.1.
pub struct FakeEntra {
    addr: SocketAddr,
    state: Arc<Mutex<FakeState>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeEntra {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Shared = State<Arc<Mutex<FakeState>>>;

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({
            "error": error,
            "error_description": format!("{description}\r\nTrace ID: 00000000\r\nCorrelation ID: 11111111"),
            "error_codes": [700211],
        })),
    )
        .into_response()
}

fn headers_of(h: &HeaderMap) -> BTreeMap<String, String> {
    h.iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect()
}

/// Records the request; returns the token to issue, or the failure status
/// scripted for this request.
async fn issue(state: &Arc<Mutex<FakeState>>, seen: Seen) -> Result<(String, u64), u16> {
    let delay = {
        let mut s = state.lock().unwrap();
        s.seen.push(seen);
        s.delay
    };
    tokio::time::sleep(delay).await;
    let mut s = state.lock().unwrap();
    if !s.fail.is_empty() {
        return Err(s.fail.remove(0));
    }
    s.issued += 1;
    Ok((format!("entra-token-{}", s.issued), s.lifetime_secs))
}

async fn v2_token(
    State(state): Shared,
    axum::extract::Path(tenant): axum::extract::Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let fields: BTreeMap<String, String> = serde_urlencoded::from_str(&body).unwrap_or_default();
    let seen = Seen {
        path: format!("/{tenant}/oauth2/v2.0/token"),
        fields: fields.clone(),
        headers: headers_of(&headers),
    };
    let field = |k: &str| fields.get(k).map(String::as_str).unwrap_or("");
    if headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| !v.starts_with("application/x-www-form-urlencoded"))
    {
        state.lock().unwrap().seen.push(seen);
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "AADSTS900144: The request body must be form-encoded.",
        );
    }
    if field("grant_type") != "client_credentials"
        || field("client_assertion_type")
            != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    {
        state.lock().unwrap().seen.push(seen);
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "AADSTS70003: The app requested an unsupported grant type.",
        );
    }
    if field("client_id") != CLIENT || !field("client_assertion").starts_with("eyJ") {
        state.lock().unwrap().seen.push(seen);
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "AADSTS700211: No matching federated identity record found for presented assertion issuer.",
        );
    }
    match issue(&state, seen).await {
        Ok((token, life)) => axum::Json(json!({
            "token_type": "Bearer",
            "expires_in": life,
            "ext_expires_in": life,
            "access_token": token,
        }))
        .into_response(),
        Err(status) => oauth_error(
            StatusCode::from_u16(status).unwrap(),
            "temporarily_unavailable",
            "AADSTS90033: A transient error has occurred.",
        ),
    }
}

async fn imds_token(
    State(state): Shared,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let seen = Seen {
        path: "/metadata/identity/oauth2/token".into(),
        fields: query.clone(),
        headers: headers_of(&headers),
    };
    if headers.get("metadata").and_then(|v| v.to_str().ok()) != Some("true") {
        state.lock().unwrap().seen.push(seen);
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Required metadata header not specified",
        );
    }
    if query.get("client_id").is_some_and(|c| c != CLIENT) {
        state.lock().unwrap().seen.push(seen);
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Identity not found",
        );
    }
    match issue(&state, seen).await {
        Ok((token, life)) => {
            let on = jiff::Timestamp::now().as_second() + life as i64;
            // The metadata service sends its numbers as strings.
            axum::Json(json!({
                "access_token": token,
                "client_id": CLIENT,
                "expires_in": life.to_string(),
                "expires_on": on.to_string(),
                "ext_expires_in": life.to_string(),
                "not_before": (on - life as i64).to_string(),
                "resource": query.get("resource"),
                "token_type": "Bearer",
            }))
            .into_response()
        }
        Err(status) => (StatusCode::from_u16(status).unwrap(), "busy").into_response(),
    }
}

async fn app_service_token(
    State(state): Shared,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let seen = Seen {
        path: "/msi/token".into(),
        fields: query.clone(),
        headers: headers_of(&headers),
    };
    if headers
        .get("x-identity-header")
        .and_then(|v| v.to_str().ok())
        != Some("identity-secret")
    {
        state.lock().unwrap().seen.push(seen);
        return (StatusCode::UNAUTHORIZED, "missing X-IDENTITY-HEADER").into_response();
    }
    match issue(&state, seen).await {
        Ok((token, life)) => axum::Json(json!({
            "access_token": token,
            "expires_on": (jiff::Timestamp::now().as_second() + life as i64).to_string(),
            "resource": query.get("resource"),
            "token_type": "Bearer",
            "client_id": CLIENT,
        }))
        .into_response(),
        Err(status) => (StatusCode::from_u16(status).unwrap(), "busy").into_response(),
    }
}

impl FakeEntra {
    pub async fn start(lifetime_secs: u64) -> Self {
        let state = Arc::new(Mutex::new(FakeState {
            lifetime_secs,
            ..FakeState::default()
        }));
        let app = Router::new()
            .route("/{tenant}/oauth2/v2.0/token", post(v2_token))
            .route("/metadata/identity/oauth2/token", get(imds_token))
            .route("/msi/token", get(app_service_token))
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, state, task }
    }
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }
    pub fn issued(&self) -> u64 {
        self.state.lock().unwrap().issued
    }
    pub fn set_delay(&self, d: Duration) {
        self.state.lock().unwrap().delay = d;
    }
    pub fn fail_next(&self, statuses: &[u16]) {
        self.state.lock().unwrap().fail = statuses.to_vec();
    }
}

/// An address on loopback where nothing listens.
pub async fn closed_port() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

pub fn env_of(vars: &[(&str, String)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    move |name| map.get(name).cloned()
}

pub fn token_file(dir: &Path, text: &str) -> String {
    let path = dir.join("azure-identity-token");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// The variables the AKS workload-identity webhook injects, pointed at the fake.
pub fn workload_env(fake: &FakeEntra, file: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AZURE_AUTHORITY_HOST", fake.url()),
        ("AZURE_TENANT_ID", TENANT.into()),
        ("AZURE_CLIENT_ID", CLIENT.into()),
        ("AZURE_FEDERATED_TOKEN_FILE", file.into()),
        ("PATH", "/nonexistent".into()),
    ]
}

pub fn settings(source: EntraSource) -> EntraSettings {
    EntraSettings {
        source,
        ..EntraSettings::default()
    }
}

pub fn azure_llm(fake: &FakeLlm, credential: Arc<EntraCredential>) -> LlmClient {
    LlmClient::new(
        Endpoint::AzureV1 {
            endpoint: fake.base_url(),
            model: "gpt-4o-sre".into(),
            api_key: None,
            bearer_token: None,
        },
        Duration::from_secs(5),
        Retry {
            max_retries: 2,
            base: Duration::from_millis(10),
            cap: Duration::from_secs(2),
        },
    )
    .unwrap()
    .with_entra(credential)
}
