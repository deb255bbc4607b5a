//! `sre-agent`: investigate an alert from a laptop, evaluate the engine on
//! recorded scenarios, list the configured MCP servers.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use sre_agent_cli::config::{self, FileConfig, server_binary};
use sre_agent_cli::report::{self, ProgressDisplay};
use sre_agent_cli::scenario::{Recorded, Scenario, Served};
use sre_agent_cli::{eval, exit, memory};
use sre_orchestrator::alert::{self, Alert};
use sre_orchestrator::investigate::{Options, investigate_with};
use sre_orchestrator::registry::{Registry, ServerConfig, ServerTransport};
use sre_orchestrator::transcript::{ChatModel, Recording, Replay, ToolSource, Transcript};

mod cli_llm;
use cli_llm::{LlmArgs, llm_client, llm_phase};

#[derive(Debug, Parser)]
#[command(
    name = "sre-agent",
    version,
    about = "An SRE agent: investigates alerts across Kubernetes, SigNoz and MongoDB and writes a root-cause analysis",
    after_help = "Exit codes: 0 an RCA was produced · 1 internal error · 2 bad input or configuration · 3 no data source could be reached · 4 eval accuracy below the baseline"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log level for stderr logs (`warn`, `info`, `debug`).
    #[arg(long, global = true, default_value = "warn", env = "SRE_AGENT_LOG")]
    log_level: String,
    /// Export the agent's own traces (investigations, tool calls, LLM
    /// requests) over OTLP/HTTP to this collector, e.g.
    /// `http://otel-collector:4318`. Also on when OTEL_EXPORTER_OTLP_ENDPOINT
    /// or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set; the other OTEL_*
    /// variables (OTEL_SERVICE_NAME, OTEL_EXPORTER_OTLP_HEADERS…) apply.
    #[arg(long, global = true, value_name = "URL")]
    otlp_endpoint: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Investigate an alert or a question, and print the RCA.
    Investigate(Box<InvestigateArgs>),
    /// Run every scenario under each DIR and score the ranked root causes.
    Eval(EvalArgs),
    /// Generate randomized incident scenarios (a fault catalogue in random worlds).
    Simulate(sre_agent_cli::simulate::SimulateArgs),
    /// Run the bot: alert webhooks, Slack, the portal, probes and metrics on one port.
    Serve(Box<ServeCmd>),
    /// MCP servers.
    Mcp {
        #[command(subcommand)]
        command: McpCommand,
    },
}

#[derive(Debug, Subcommand)]
enum McpCommand {
    /// The configured servers and their tools.
    List(SourceArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    /// A readable report (colour on a terminal).
    Text,
    /// The RCA as JSON.
    Json,
    /// The RCA as Markdown.
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum EvalFormat {
    /// Per-set and per-category accuracy, then the misses.
    Table,
    /// Every scenario's score and the summaries, as JSON.
    Json,
}

#[derive(Debug, Args)]
struct SourceArgs {
    /// Config file (servers, LLM, defaults).
    #[arg(long, short = 'c', env = "SRE_AGENT_CONFIG")]
    config: Option<PathBuf>,
    /// Offline demo: a scenario folder (fixtures/scenarios/NAME). Starts the
    /// servers in-process on its recorded data; no network, no binaries.
    #[arg(long, conflicts_with_all = ["kube_context", "clickhouse_url", "mongodb_uri"])]
    scenario: Option<PathBuf>,
    /// After the fact: a cluster as `kubectl cluster-info dump
    /// --output-directory DIR` wrote it (or `kubectl get -o json|yaml`
    /// files, or an mcp-kubernetes snapshot folder). "Now" defaults to the
    /// newest moment in the recorded data (docs/post-mortem.md).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["scenario", "kube_context"])]
    k8s_dump: Option<PathBuf>,
    /// After the fact: telemetry files (OTLP/JSON from a Collector's file
    /// exporter, or SigNoz tables exported as JSONEachRow).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["scenario", "clickhouse_url"])]
    telemetry_dir: Option<PathBuf>,
    /// After the fact: MongoDB replies recorded in mcp-mongodb's snapshot
    /// format.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["scenario", "mongodb_uri"])]
    mongodb_snapshot: Option<PathBuf>,
    /// Live: spawn mcp-kubernetes on this kubeconfig context.
    #[arg(long)]
    kube_context: Option<String>,
    /// Live: spawn mcp-signoz against this SigNoz ClickHouse URL (password in
    /// MCP_SIGNOZ_CLICKHOUSE_PASSWORD).
    #[arg(long)]
    clickhouse_url: Option<String>,
    /// Live: spawn mcp-mongodb on this URI (better: set MONGODB_URI_FOR_AGENT
    /// so the URI stays out of the process list).
    #[arg(long, env = "MONGODB_URI_FOR_AGENT", hide_env_values = true)]
    mongodb_uri: Option<String>,
    /// Per-tool-call timeout, seconds.
    #[arg(long, default_value_t = 30)]
    tool_timeout: u64,
    /// A signature file of your own (repeatable; the format of
    /// sre-orchestrator/signatures/*.toml), in front of the built-in
    /// catalogue; also `[engine] signatures` in the config file.
    #[arg(long = "signatures", value_name = "FILE")]
    signatures: Vec<PathBuf>,
}

#[derive(Debug, Args)]
struct InvestigateArgs {
    /// An alert webhook payload (Alertmanager or SigNoz JSON); `-` reads stdin.
    #[arg(long, conflicts_with_all = ["service", "question"])]
    alert: Option<String>,
    /// On demand: the service to investigate.
    #[arg(long)]
    service: Option<String>,
    /// On demand: how far back, a duration such as 30m, 2h or 1h30m (a bare
    /// number is seconds).
    #[arg(long)]
    since: Option<String>,
    /// On demand: the question.
    #[arg(long)]
    question: Option<String>,
    /// Namespace, when the alert names none.
    #[arg(long, short = 'n')]
    namespace: Option<String>,
    #[command(flatten)]
    sources: SourceArgs,
    #[command(flatten)]
    llm: LlmArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Write the output to this file instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Record every tool call and LLM exchange to this file.
    #[arg(long)]
    record: Option<PathBuf>,
    /// Replay a recording instead of calling any server or LLM.
    #[arg(long, conflicts_with = "record")]
    replay: Option<PathBuf>,
    /// Post the RCA to Slack: CHANNEL or CHANNEL/THREAD_TS (token in SLACK_BOT_TOKEN).
    #[arg(long)]
    post_to_slack: Option<String>,
    /// Slack Web API base URL (tests point it at a fake).
    #[arg(long, env = "SLACK_API_URL", default_value = "https://slack.com/api", hide = true)]
    slack_api_url: String,
    /// "Now" for the investigation (RFC 3339); scenarios bring their own.
    #[arg(long)]
    now: Option<String>,
    /// Incident memory: a past investigation with the same root cause is
    /// cited ("seen before: #12 …") and similar ones are given to the LLM.
    /// Default: a local SQLite file (`$XDG_DATA_HOME/sre-agent/incidents.db`,
    /// else `~/.local/share/…`) that each live investigation is added to;
    /// none for --scenario and --replay. `sqlite://PATH` another file;
    /// `postgres://…` the team's `serve` store, read only and never
    /// migrated; `off` none.
    #[arg(long, env = "SRE_AGENT_STORE", value_name = "URL|off")]
    store: Option<String>,
}

#[derive(Debug, Args)]
struct ServeCmd {
    #[command(flatten)]
    serve: sre_agent_cli::serve::ServeArgs,
    #[command(flatten, next_help_heading = "Data sources")]
    sources: SourceArgs,
    #[command(flatten, next_help_heading = "LLM")]
    llm: LlmArgs,
}

#[derive(Debug, Args)]
struct EvalArgs {
    /// Folders of scenarios (or single scenarios); each is one set.
    #[arg(required = true, num_args = 1..)]
    dirs: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = EvalFormat::Table)]
    format: EvalFormat,
    /// Fail (exit 4) if accuracy is below this baseline file's floors
    /// (overall, and per set name when the file has `sets`; JSON or TOML).
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// Write the current accuracy as the new baseline file (overall and per
    /// set, with the scenarios each set got right).
    #[arg(long)]
    write_baseline: Option<PathBuf>,
    /// A signature file of your own (repeatable), in front of the built-in
    /// catalogue, to measure what it changes.
    #[arg(long = "signatures", value_name = "FILE")]
    signatures: Vec<PathBuf>,
    /// Replay the sets with people's feedback: run them once, give each
    /// answer the verdict a person would (confirmed when right, wrong when
    /// not), run them again with those verdicts as the ranking's prior for
    /// incidents of the same alert, and print what changed.
    #[arg(long, conflicts_with_all = ["baseline", "write_baseline"])]
    learn: bool,
    /// Scenarios run at once. More finish a large set sooner; the timings
    /// in the report are comparable between runs of one at a time only.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    jobs: u16,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    sre_orchestrator::ensure_crypto_provider();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::INTERNAL);
        }
    };
    // Logs on stderr; trace export when configured. Dropped (flushed)
    // before the runtime its export requests run on.
    let telemetry = match sre_agent_cli::telemetry::init(
        &cli.log_level,
        cli.otlp_endpoint.as_deref(),
        runtime.handle(),
    ) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(exit::BAD_INPUT);
        }
    };
    let code = match runtime.block_on(run(cli.command)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let code = exit::classify(&e);
            eprintln!("error: {e:#}");
            ExitCode::from(code)
        }
    };
    telemetry.shutdown();
    code
}

async fn run(command: Command) -> Result<u8> {
    match command {
        Command::Investigate(args) => run_investigate(*args).await,
        Command::Eval(args) => run_eval(args).await,
        Command::Simulate(args) => run_simulate(args),
        Command::Serve(args) => run_serve(*args).await,
        Command::Mcp {
            command: McpCommand::List(args),
        } => run_mcp_list(args).await,
    }
}

/// Connects the sources: a scenario's in-process servers, or live servers
/// from the config file and flags.
/// What every command reads before it connects: the config file and the
/// scenario, each read once.
struct Setup {
    file: FileConfig,
    scenario: Option<Scenario>,
    /// Recorded data to serve in-process: the scenario's, or the
    /// post-mortem flags'.
    recorded: Option<Recorded>,
}

impl Setup {
    fn load(args: &SourceArgs) -> Result<Self> {
        let file = match &args.config {
            Some(p) => FileConfig::load(p).map_err(exit::bad_input)?,
            None => FileConfig::default(),
        };
        let scenario = args
            .scenario
            .as_deref()
            .map(Scenario::load)
            .transpose()
            .map_err(exit::bad_input)?;
        let files: Vec<PathBuf> = file
            .engine
            .signatures
            .iter()
            .chain(&args.signatures)
            .cloned()
            .collect();
        config::install_signatures(&files).map_err(exit::bad_input)?;
        let recorded = match &scenario {
            Some(s) => Some(Recorded::in_folder(&s.dir)),
            None => {
                let flags = Recorded {
                    k8s: args.k8s_dump.clone(),
                    telemetry: args.telemetry_dir.clone(),
                    mongodb: args.mongodb_snapshot.clone(),
                };
                flags.check().map_err(exit::bad_input)?;
                Some(flags).filter(|r| !r.is_empty())
            }
        };
        Ok(Self {
            file,
            scenario,
            recorded,
        })
    }
}

/// Connects the data sources. `writes` (only `serve --allow-writes`) starts
/// our Kubernetes server with its write tools, which the bot runs solely for
/// an approved remediation step; investigations never see them.
///
/// Recorded data (a scenario, or the post-mortem flags) is served
/// in-process; `now` pins its telemetry's clock. Without any source, the
/// current kubeconfig context (or the in-cluster service account) is used,
/// as kubectl would.
async fn connect(
    args: &SourceArgs,
    file: &FileConfig,
    recorded: Option<&Recorded>,
    now: Option<jiff::Timestamp>,
    writes: bool,
) -> Result<Served> {
    let timeout = Duration::from_secs(args.tool_timeout.max(1));
    if let Some(recorded) = recorded {
        return recorded
            .serve(now, timeout, writes)
            .await
            .map_err(exit::bad_input);
    }
    let mut configs: Vec<ServerConfig> = file
        .servers
        .iter()
        .map(|s| s.to_config())
        .collect::<Result<_>>()
        .map_err(exit::bad_input)?;
    // Flags name our own servers, spawned over stdio; they replace a server
    // of the same name from the file.
    let nothing_given = configs.is_empty()
        && args.kube_context.is_none()
        && args.clickhouse_url.is_none()
        && args.mongodb_uri.is_none();
    let mut ours = |name: &str, binary: &str, args: Vec<String>, env: Vec<(String, String)>| {
        configs.retain(|c| c.name != name);
        configs.push(ServerConfig {
            name: name.into(),
            transport: ServerTransport::Stdio {
                command: server_binary(binary),
                args,
                env: env.into_iter().collect(),
            },
        });
    };
    if let Some(ctx) = &args.kube_context {
        ours(
            "k8s",
            "mcp-kubernetes",
            [
                vec!["--context".to_string(), ctx.clone()],
                if writes {
                    vec!["--allow-writes".to_string()]
                } else {
                    Vec::new()
                },
            ]
            .concat(),
            Vec::new(),
        );
    }
    if let Some(url) = &args.clickhouse_url {
        ours(
            "signoz",
            "mcp-signoz",
            vec!["--clickhouse-url".into(), url.clone()],
            Vec::new(),
        );
    }
    if let Some(uri) = &args.mongodb_uri {
        // The URI goes in the environment, not the process list.
        ours(
            "mongo",
            "mcp-mongodb",
            Vec::new(),
            vec![("MONGODB_URI".into(), uri.clone())],
        );
    }
    if nothing_given && let Some(which) = config::default_kube() {
        eprintln!("no sources given: using {which} (--kube-context picks another)");
        ours(
            "k8s",
            "mcp-kubernetes",
            if writes {
                vec!["--allow-writes".to_string()]
            } else {
                Vec::new()
            },
            Vec::new(),
        );
    }
    if configs.is_empty() {
        return Err(exit::bad_input(anyhow::anyhow!(
            "no data sources: give --scenario DIR for the offline demo, --k8s-dump / --telemetry-dir / --mongodb-snapshot DIR for recorded data, or --kube-context / --clickhouse-url / --mongodb-uri, or servers in a config file (--config); no kubeconfig was found either"
        )));
    }
    let mut registry = Registry::new(timeout);
    registry
        .connect_all(&configs, Duration::from_secs(20))
        .await;
    if registry.servers().is_empty() {
        let why: Vec<String> = registry
            .gaps()
            .iter()
            .map(|g| format!("{}: {}", g.source, g.reason))
            .collect();
        return Err(exit::unreachable(anyhow::anyhow!(
            "no data source could be reached: {}",
            why.join("; ")
        )));
    }
    Ok(Served {
        registry,
        newest: None,
    })
}

fn read_alert(args: &InvestigateArgs) -> Result<Option<Alert>> {
    if let Some(path) = &args.alert {
        let body = if path == "-" {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("cannot read the alert from stdin")?;
            s
        } else {
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read alert file {path}"))?
        };
        let mut alerts = alert::parse_webhook(&body)
            .with_context(|| format!("{path} is not an Alertmanager or SigNoz webhook payload"))?;
        if alerts.is_empty() {
            bail!("{path} holds no alerts");
        }
        if alerts.len() > 1 {
            tracing::warn!(
                count = alerts.len(),
                "the payload holds several alerts; investigating the first"
            );
        }
        return Ok(Some(alerts.remove(0)));
    }
    if args.service.is_some() || args.question.is_some() {
        return Ok(Some(alert::on_demand(
            args.service.as_deref(),
            args.since.as_deref(),
            args.question.as_deref(),
            args.namespace.as_deref(),
        )?));
    }
    Ok(None)
}

async fn run_investigate(args: InvestigateArgs) -> Result<u8> {
    let Setup {
        file,
        scenario,
        recorded,
    } = Setup::load(&args.sources)?;
    let asked_now: Option<jiff::Timestamp> = args
        .now
        .as_deref()
        .map(|t| {
            t.parse()
                .with_context(|| format!("--now `{t}` is not an RFC 3339 time"))
        })
        .transpose()
        .map_err(exit::bad_input)?;
    // A recording brings the alert and the moment it was made for.
    let replayed = match &args.replay {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read recording {}", path.display()))
                .map_err(exit::bad_input)?;
            Some(
                Transcript::from_json(&text)
                    .with_context(|| format!("{} is not a recording", path.display()))
                    .map_err(exit::bad_input)?,
            )
        }
        None => None,
    };
    let alert = match read_alert(&args).map_err(exit::bad_input)? {
        Some(a) => a,
        None => match (&scenario, replayed.as_ref().and_then(|t| t.alert.clone())) {
            (Some(s), _) => s.alert().map_err(exit::bad_input)?,
            (None, Some(a)) => a,
            (None, None) => {
                return Err(exit::bad_input(anyhow::anyhow!(
                    "nothing to investigate: give --alert FILE, --service/--question, or --scenario DIR{}",
                    if replayed.is_some() {
                        " (this recording was made before recordings kept their alert)"
                    } else {
                        ""
                    }
                )));
            }
        },
    };
    let scenario_now = scenario.as_ref().map(|s| s.manifest.now);
    // Recorded data is served before "now" is fixed: a post-mortem runs at
    // the newest moment the data knows, unless told otherwise.
    let served = match &replayed {
        Some(_) => None,
        None => Some(
            connect(
                &args.sources,
                &file,
                recorded.as_ref(),
                asked_now.or(scenario_now),
                false,
            )
            .await?,
        ),
    };
    let data_now = served.as_ref().and_then(|s| s.newest);
    let now = asked_now
        .or(scenario_now)
        .or_else(|| replayed.as_ref().and_then(|t| t.now))
        .or(data_now)
        .unwrap_or_else(jiff::Timestamp::now);
    let mut options = Options {
        now,
        default_namespace: args
            .namespace
            .clone()
            .or_else(|| scenario.as_ref().and_then(|s| s.manifest.namespace.clone()))
            .or_else(|| file.namespace.clone()),
        max_steps: args.llm.max_steps.max(1),
        context: None,
        limits: file.engine.limits(),
        priors: Vec::new(),
    };
    let phase = llm_phase(&args.llm, &file);
    let hidden = !std::io::stderr().is_terminal();
    let progress = ProgressDisplay::new(hidden);
    if scenario.is_none() && asked_now.is_none() && data_now == Some(now) {
        // Said even to scripts: every window of the answer counts back from it.
        eprintln!(
            "post-mortem: investigating as of {now}, the newest moment in the recorded data (--now to change)"
        );
    }
    // A demo, a post-mortem or a replay must not depend on (or add to) this
    // machine's past unless asked.
    let offline = recorded.is_some() || replayed.is_some();
    let memory = match memory::choose_store(args.store.as_deref(), offline)
        .map_err(|e| exit::bad_input(anyhow::anyhow!(e)))?
    {
        Some(url) => match memory::open_for_investigate(&url, Duration::from_secs(5)).await {
            Ok(m) => Some(m),
            Err(why) => {
                // Said even to scripts: the answer lacks what memory adds.
                eprintln!("{why}");
                None
            }
        },
        None => None,
    };
    let past = match &memory {
        Some(m) => {
            let past = memory::similar(&m.store, &alert, None).await;
            options.context = memory::context(&m.store, &alert, &past, true).await;
            options.priors = memory::priors(&past);
            progress.line(&format!(
                "memory: {} similar past incident(s) in {}",
                past.len(),
                m.shown
            ));
            past
        }
        None => Vec::new(),
    };

    let (mut outcome, transcript) = match (&replayed, served) {
        (Some(transcript), _) => {
            let replay = Replay::new(transcript);
            let model: Option<&dyn ChatModel> = if replay.has_llm() {
                Some(&replay)
            } else {
                None
            };
            let outcome =
                investigate_with(&alert, &replay, model, &options, &phase, &progress).await;
            (outcome, None)
        }
        (None, served) => {
            let registry = served
                .map(|s| s.registry)
                .context("no data sources were connected")?;
            let client = llm_client(&args.llm, &file)?;
            if client.is_none() {
                progress.line("no LLM configured: deterministic analysis only");
            }
            let recording = Recording::new(registry, client);
            let model = recording.model();
            let model_ref: Option<&dyn ChatModel> = model.as_ref().map(|m| m as &dyn ChatModel);
            let outcome =
                investigate_with(&alert, &recording, model_ref, &options, &phase, &progress).await;
            let mut transcript = recording.transcript();
            transcript.alert = Some(alert.clone());
            transcript.now = Some(now);
            (outcome, Some((transcript, recording)))
        }
    };
    progress.finish();
    memory::seen_before(&mut outcome.rca, &past);
    memory::ranked_lower(&mut outcome.rca, &options.priors);

    let mut all_failed = false;
    if let Some((t, recording)) = transcript {
        if let Some(path) = &args.record {
            let json = serde_json::to_string_pretty(&t)?;
            std::fs::write(path, json)
                .with_context(|| format!("cannot write recording {}", path.display()))?;
        }
        all_failed = t.tool_calls() > 0
            && t.entries.iter().all(|e| match e {
                sre_orchestrator::transcript::Entry::ToolCall { outcome, .. } => outcome.is_error,
                _ => true,
            });
        // An investigation that reached nothing taught nothing.
        if let Some(m) = memory.as_ref().filter(|m| m.writable && !all_failed)
            && let Err(e) = m.store.record_investigation(&alert, &outcome.rca, &t).await
        {
            eprintln!("could not keep this investigation in {}: {e}", m.shown);
        }
        recording.into_inner().shutdown().await;
    }
    if let Some(m) = &memory {
        m.store.close().await;
    }

    let rendered = match args.format {
        Format::Json => serde_json::to_string_pretty(&outcome)?,
        Format::Markdown => outcome.rca.to_markdown(),
        Format::Text => report::terminal(
            &outcome,
            args.out.is_none() && std::io::stdout().is_terminal(),
        ),
    };
    match &args.out {
        Some(path) => std::fs::write(path, &rendered)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => println!("{rendered}"),
    }
    if let Some(target) = &args.post_to_slack {
        let posted =
            sre_agent_cli::slack::post_rca(&args.slack_api_url, target, &alert, &outcome.rca)
                .await?;
        eprintln!(
            "posted to Slack: channel {} ts {}",
            posted.channel, posted.ts
        );
    }
    if all_failed {
        return Ok(exit::UNREACHABLE);
    }
    Ok(exit::OK)
}

async fn run_serve(cmd: ServeCmd) -> Result<u8> {
    let Setup {
        file,
        scenario,
        recorded,
    } = Setup::load(&cmd.sources)?;
    let scenario_now = scenario.as_ref().map(|s| s.manifest.now);
    let served = connect(
        &cmd.sources,
        &file,
        recorded.as_ref(),
        scenario_now,
        cmd.serve.allow_writes,
    )
    .await?;
    let registry = std::sync::Arc::new(served.registry);
    let llm = llm_client(&cmd.llm, &file)?.map(std::sync::Arc::new);
    let sources = sre_agent_cli::serve::Sources {
        tools: registry.clone(),
        llm,
        // Recorded data is investigated at its own "now".
        now: scenario_now.or(served.newest),
        default_namespace: scenario
            .as_ref()
            .and_then(|s| s.manifest.namespace.clone())
            .or_else(|| file.namespace.clone()),
        max_steps: cmd.llm.max_steps.max(1),
        limits: file.engine.limits(),
        llm_phase: llm_phase(&cmd.llm, &file),
    };
    let served = sre_agent_cli::serve::run(cmd.serve, sources).await;
    match std::sync::Arc::try_unwrap(registry) {
        Ok(r) => r.shutdown().await,
        Err(_) => tracing::debug!("MCP servers still referenced at exit; not shut down cleanly"),
    }
    served.map_err(exit::bad_input)?;
    Ok(exit::OK)
}

async fn run_eval(args: EvalArgs) -> Result<u8> {
    config::install_signatures(&args.signatures).map_err(exit::bad_input)?;
    let mut sets = Vec::new();
    for dir in &args.dirs {
        let scenarios = Scenario::discover(dir).map_err(exit::bad_input)?;
        sets.push((eval::set_name(dir), dir.display().to_string(), scenarios));
    }
    if args.learn {
        let learning = sre_agent_cli::learn::replay(&sets).await;
        match args.format {
            EvalFormat::Json => println!("{}", serde_json::to_string_pretty(&learning)?),
            EvalFormat::Table => print!("{}", sre_agent_cli::learn::table(&learning)),
        }
        // Feedback on other alerts must change nothing: if it did, the
        // prior leaks, and that is a bug, not a finding.
        let passes = [&learning.new_incidents, &learning.recurring];
        let leaked = passes.iter().any(|p| !p.unmatched_changed.is_empty());
        let failed = passes.iter().any(|p| !p.errors.is_empty());
        return Ok(if leaked || failed {
            exit::INTERNAL
        } else {
            exit::OK
        });
    }
    let report = eval::run_sets_jobs(&sets, None, usize::from(args.jobs)).await;
    match args.format {
        EvalFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        EvalFormat::Table => print!("{}", eval::table(&report)),
    }
    if let Some(path) = &args.write_baseline {
        let baseline = eval::Baseline::from_report(&report);
        let text = if path.extension().is_some_and(|e| e == "toml") {
            toml::to_string(&baseline)?
        } else {
            serde_json::to_string_pretty(&baseline)? + "\n"
        };
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.baseline {
        let baseline = eval::Baseline::load(path).map_err(exit::bad_input)?;
        if let Err(below) = eval::check(&report, &baseline) {
            eprintln!("eval: {}", below.message);
            if !below.regressed.is_empty() {
                eprintln!("eval: regressed (right in the baseline, wrong now):");
                for r in &below.regressed {
                    eprintln!("  {r}");
                }
            }
            return Ok(exit::BELOW_BASELINE);
        }
        eprintln!(
            "eval: top-1 {:.0}% / top-3 {:.0}% meet the baseline",
            report.overall.top1 * 100.0,
            report.overall.top3 * 100.0,
        );
    }
    if report.scenarios.iter().any(|s| s.error.is_some()) {
        return Ok(exit::INTERNAL);
    }
    Ok(exit::OK)
}

fn run_simulate(args: sre_agent_cli::simulate::SimulateArgs) -> Result<u8> {
    let started = std::time::Instant::now();
    let made = sre_agent_cli::simulate::run(&args).map_err(exit::bad_input)?;
    let mut kinds: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for g in &made {
        *kinds.entry(g.kind).or_default() += 1;
    }
    eprintln!(
        "simulate: {} scenarios (seed {}) in {} in {:.1}s; {} fault kinds",
        made.len(),
        args.seed,
        args.out.display(),
        started.elapsed().as_secs_f64(),
        kinds.len()
    );
    Ok(exit::OK)
}

async fn run_mcp_list(args: SourceArgs) -> Result<u8> {
    let Setup { file, recorded, .. } = Setup::load(&args)?;
    let registry = connect(&args, &file, recorded.as_ref(), None, false)
        .await?
        .registry;
    let tools = ToolSource::tools(&registry);
    for server in registry.servers() {
        println!("{server}");
        for t in tools.iter().filter(|t| t.server() == server) {
            let first = t.description.lines().next().unwrap_or("");
            println!(
                "  {:<32} {}{}",
                t.qualified,
                if t.read_only { "" } else { "[write] " },
                first
            );
        }
    }
    for g in registry.gaps() {
        println!("{} (unavailable: {})", g.source, g.reason);
    }
    registry.shutdown().await;
    Ok(exit::OK)
}
