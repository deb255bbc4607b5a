//! Logs on stderr and, when configured, OTLP trace export of the agent
//! itself: one span per investigation, per tool call and per LLM request
//! (the spans are declared in `sre-orchestrator`, under the target
//! [`TRACE_TARGET`]).
//!
//! # Configuration, the OpenTelemetry way
//!
//! Export is **off** unless one of these is set:
//!
//! * `--otlp-endpoint URL`: the collector's base URL (`http://otel-collector:4318`);
//!   traces go to `URL/v1/traces`, as with `OTEL_EXPORTER_OTLP_ENDPOINT`.
//! * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (the full URL, used as given) or
//!   `OTEL_EXPORTER_OTLP_ENDPOINT` (the base URL).
//!
//! `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none` turn it off
//! again. The other standard variables apply: `OTEL_SERVICE_NAME` (default
//! `sre-agent`), `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_EXPORTER_OTLP_HEADERS` /
//! `OTEL_EXPORTER_OTLP_TRACES_HEADERS` (e.g. an API key for a SaaS backend),
//! `OTEL_EXPORTER_OTLP_TIMEOUT`, `OTEL_EXPORTER_OTLP_COMPRESSION`,
//! `OTEL_TRACES_SAMPLER`, `OTEL_BSP_*`. The transport is OTLP/HTTP with
//! protobuf bodies (port 4318), over the workspace's one HTTP client and
//! TLS stack; gRPC is not built in.
//!
//! # Costs
//!
//! Off, the subscriber is exactly the log subscriber it always was, and the
//! orchestrator's spans are disabled at their call sites (their fields are
//! not even evaluated). On, spans go through a batch processor: a background
//! thread sends them every few seconds, and [`Telemetry::shutdown`] flushes
//! what is left before the process exits.
//!
//! # What is exported
//!
//! Only the spans under [`TRACE_TARGET`], never log events, and the spans
//! carry names, counts and outcomes only: the tool's name but not its
//! arguments or result, the model and token counts but not the prompt.
//! The spans never reach the stderr log, so logs read as before.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{Layer as _, fmt};

pub use sre_orchestrator::investigate::TRACE_TARGET;

/// `service.name` unless `OTEL_SERVICE_NAME` or `OTEL_RESOURCE_ATTRIBUTES`
/// name the service.
pub const DEFAULT_SERVICE_NAME: &str = "sre-agent";

/// How long the exit waits for the last spans to be sent.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// Why logging or trace export could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// `--otlp-endpoint` is not an HTTP(S) URL.
    #[error("--otlp-endpoint `{0}` is not an http:// or https:// URL")]
    BadEndpoint(String),
    /// The OTLP exporter rejected its configuration (flag or `OTEL_*`).
    #[error("OTLP trace export: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    /// The HTTP client could not be built.
    #[error("OTLP trace export: cannot build the HTTP client: {0}")]
    Client(String),
    /// A global subscriber was already installed.
    #[error("cannot install the log subscriber: {0}")]
    Subscriber(String),
}

/// Whether and where spans are exported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Export {
    /// No export (the default).
    Off,
    /// Export; the exporter reads the endpoint (and headers, timeout…) from
    /// the `OTEL_EXPORTER_OTLP_*` variables.
    FromEnv,
    /// Export to this traces URL (from `--otlp-endpoint`).
    Endpoint(String),
}

impl Export {
    /// Decides from the flag and the environment (`env` looks a variable
    /// up; empty values count as unset).
    pub fn resolve(
        flag: Option<&str>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, TelemetryError> {
        let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        if var("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
            return Ok(Self::Off);
        }
        if var("OTEL_TRACES_EXPORTER").is_some_and(|v| v.trim().eq_ignore_ascii_case("none")) {
            return Ok(Self::Off);
        }
        if let Some(base) = flag.map(str::trim).filter(|f| !f.is_empty()) {
            if !(base.starts_with("http://") || base.starts_with("https://")) {
                return Err(TelemetryError::BadEndpoint(base.to_string()));
            }
            let base = base.trim_end_matches('/');
            let url = if base.ends_with("/v1/traces") {
                base.to_string()
            } else {
                format!("{base}/v1/traces")
            };
            return Ok(Self::Endpoint(url));
        }
        if var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some()
            || var("OTEL_EXPORTER_OTLP_ENDPOINT").is_some()
        {
            return Ok(Self::FromEnv);
        }
        Ok(Self::Off)
    }
}

/// Keeps trace export alive; [`Telemetry::shutdown`] (or dropping it)
/// flushes the spans not yet sent and stops the exporter. Shut it down
/// while the Tokio runtime given to [`init`] is still running: the export
/// requests run on it.
#[derive(Debug)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Whether spans are exported.
    pub fn exporting(&self) -> bool {
        self.provider.is_some()
    }

    /// Sends what is buffered (waiting at most 5 s) and stops.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(e) = provider.shutdown_with_timeout(SHUTDOWN_TIMEOUT)
        {
            tracing::warn!(error = %e, "OTLP trace export: spans may have been lost at exit");
        }
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The stderr log's filter: `level` (`warn`, `info`, `sre_orchestrator=debug`…),
/// never the exported spans.
fn log_filter(level: &str) -> EnvFilter {
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("warn"));
    if level.contains(TRACE_TARGET) {
        return filter;
    }
    match format!("{TRACE_TARGET}=off").parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    }
}

/// Installs the global subscriber: the stderr log at `log_level`, plus OTLP
/// export of the orchestrator's spans when the flag or the environment ask
/// for it. `runtime` runs the export requests.
pub fn init(
    log_level: &str,
    otlp_endpoint: Option<&str>,
    runtime: &tokio::runtime::Handle,
) -> Result<Telemetry, TelemetryError> {
    let export = Export::resolve(otlp_endpoint, |name| std::env::var(name).ok())?;
    if export == Export::Off {
        tracing_subscriber::fmt()
            .with_env_filter(log_filter(log_level))
            .with_writer(std::io::stderr)
            .try_init()
            .map_err(|e| TelemetryError::Subscriber(e.to_string()))?;
        return Ok(Telemetry { provider: None });
    }
    let mut notes = Vec::new();
    let provider = provider(&export, runtime, &mut notes)?;
    let spans = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("sre-agent"))
        .with_threads(false)
        .with_location(false)
        .with_target(false)
        .with_filter(filter_fn(|meta| {
            meta.is_span() && meta.target() == TRACE_TARGET
        }));
    let log = fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(log_filter(log_level));
    tracing_subscriber::registry()
        .with(log)
        .with(spans)
        .try_init()
        .map_err(|e| TelemetryError::Subscriber(e.to_string()))?;
    for note in notes {
        tracing::warn!("{note}");
    }
    Ok(Telemetry {
        provider: Some(provider),
    })
}

fn provider(
    export: &Export,
    runtime: &tokio::runtime::Handle,
    notes: &mut Vec<String>,
) -> Result<SdkTracerProvider, TelemetryError> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    for var in [
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
    ] {
        if let Some(p) = env(var) {
            if !p.trim().eq_ignore_ascii_case("http/protobuf") {
                notes.push(format!(
                    "OTLP trace export: {var}={p} is not supported; sending http/protobuf"
                ));
            }
            break;
        }
    }
    // The exporter applies the timeout to its retries; the client enforces
    // it per request.
    let timeout = [
        "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
        "OTEL_EXPORTER_OTLP_TIMEOUT",
    ]
    .into_iter()
    .find_map(|var| env(var).and_then(|v| v.trim().parse::<u64>().ok()))
    .map_or(Duration::from_secs(10), Duration::from_millis);
    sre_orchestrator::ensure_crypto_provider();
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| TelemetryError::Client(e.to_string()))?;
    let mut exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_http_client(OnRuntime {
            client,
            runtime: runtime.clone(),
        });
    if let Export::Endpoint(url) = export {
        exporter = exporter.with_endpoint(url.clone());
    }
    let exporter = exporter.build()?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource())
        .build())
}

/// The SDK's resource (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`,
/// the SDK's own attributes), named `sre-agent` when nothing names it.
fn resource() -> Resource {
    let detected = Resource::builder().build();
    let named = detected
        .get(&opentelemetry::Key::from_static_str("service.name"))
        .is_some_and(|name| !name.as_str().starts_with("unknown_service"));
    let mut builder = Resource::builder()
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")));
    if !named {
        builder = builder.with_service_name(DEFAULT_SERVICE_NAME);
    }
    builder.build()
}

/// The workspace's async reqwest client, driven on the Tokio runtime: the
/// SDK's batch processor exports from its own thread, where an async client
/// has no reactor, so each request is spawned onto the runtime and the
/// processor's thread waits for it.
#[derive(Debug)]
struct OnRuntime {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

impl HttpClient for OnRuntime {
    // What `#[async_trait]` expands `async fn send_bytes` to.
    fn send_bytes<'life0, 'async_trait>(
        &'life0 self,
        request: Request<Bytes>,
    ) -> Pin<Box<dyn Future<Output = Result<Response<Bytes>, HttpError>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        let client = self.client.clone();
        let task = self
            .runtime
            .spawn(async move { client.send_bytes(request).await });
        Box::pin(async move {
            match task.await {
                Ok(result) => result,
                Err(e) => Err(HttpError::from(e.to_string())),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(flag: Option<&str>, vars: &[(&str, &str)]) -> Export {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Export::resolve(flag, |name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn off_unless_configured() {
        assert_eq!(resolve(None, &[]), Export::Off);
        assert_eq!(
            resolve(None, &[("OTEL_EXPORTER_OTLP_ENDPOINT", "")]),
            Export::Off,
            "an empty value is unset"
        );
        assert_eq!(
            resolve(None, &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318")]),
            Export::FromEnv
        );
        assert_eq!(
            resolve(
                None,
                &[(
                    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                    "http://c:4318/v1/traces"
                )]
            ),
            Export::FromEnv
        );
    }

    #[test]
    fn the_flag_is_a_base_url_like_the_variable() {
        assert_eq!(
            resolve(Some("http://collector:4318/"), &[]),
            Export::Endpoint("http://collector:4318/v1/traces".into())
        );
        assert_eq!(
            resolve(Some("https://otlp.example.com/v1/traces"), &[]),
            Export::Endpoint("https://otlp.example.com/v1/traces".into())
        );
        assert!(matches!(
            Export::resolve(Some("collector:4318"), |_| None),
            Err(TelemetryError::BadEndpoint(_))
        ));
    }

    #[test]
    fn the_standard_switches_turn_it_off() {
        for off in [
            ("OTEL_SDK_DISABLED", "true"),
            ("OTEL_TRACES_EXPORTER", "none"),
        ] {
            assert_eq!(
                resolve(
                    Some("http://c:4318"),
                    &[off, ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318")]
                ),
                Export::Off,
                "{off:?}"
            );
        }
    }

    #[test]
    fn the_log_never_shows_the_exported_spans() {
        let filter = log_filter("info").to_string();
        assert!(filter.contains(&format!("{TRACE_TARGET}=off")), "{filter}");
        let asked = format!("info,{TRACE_TARGET}=info");
        assert!(!log_filter(&asked).to_string().contains("=off"));
    }
}
