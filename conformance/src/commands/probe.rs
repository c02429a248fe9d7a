//! `pulsecheck probe [URL]` and `pulsecheck list`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use pulsecheck::check::Level;
use pulsecheck::http::{Client, ClientConfig, ClientError, parse_header_arg};
use pulsecheck::registry::{Pattern, lint, select, unmatched};
use pulsecheck::report::{Comparison, Report};
use pulsecheck::runner::{RunOptions, run};
use pulsecheck::serve::sse::{SseServerConfig, start};
use pulsecheck::sse::checks::CHECKS;
use pulsecheck::sse::probe::{ProbeOptions, SseProbe, parse_origin};
use pulsecheck::ws::all_checks;
use pulsecheck::ws::checks::WsProbe;
use url::Url;

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Grouped by area, failures with Requirement / Expected / Actual.
    Human,
    /// The JSON report (schema in the `pulsecheck::report` docs).
    Json,
    /// JUnit XML, for CI test views.
    Junit,
    /// Autobahn|Testsuite's `index.json` for the parity cases:
    /// `{agent: {case: {behavior, behaviorClose, remoteCloseCode, duration}}}`.
    Autobahn,
}

/// Arguments of `probe`.
#[derive(Debug, Args)]
pub(crate) struct ProbeArgs {
    /// The server to probe: an event stream (http, https) or a WebSocket endpoint
    /// (ws, wss). Without one, pulsecheck starts its SSE reference server on
    /// loopback and probes that.
    pub(crate) url: Option<String>,
    /// How long to watch, in seconds: an event stream (default 20; the heartbeat
    /// check needs 16), or an idle WebSocket connection for the heartbeat checks
    /// (default 2).
    #[arg(long, value_name = "SECS")]
    pub(crate) observe: Option<f64>,
    /// Checks run at once (they mostly wait on the network).
    #[arg(long, short = 'j', default_value_t = 32)]
    pub(crate) jobs: usize,
    /// Seconds one check may take (default 60, or the observation window plus 30
    /// when that is longer).
    #[arg(long, value_name = "SECS")]
    pub(crate) check_timeout: Option<f64>,
    /// Seconds the whole probe may take.
    #[arg(long, value_name = "SECS", default_value_t = 300.0)]
    pub(crate) deadline: f64,
    /// SHOULD-level failures fail the run.
    #[arg(long)]
    pub(crate) strict: bool,
    /// Run only checks whose ID or alias matches (glob; repeatable).
    #[arg(long, value_name = "GLOB")]
    pub(crate) only: Vec<String>,
    /// Skip checks whose ID or alias matches (glob; repeatable).
    #[arg(long, value_name = "GLOB")]
    pub(crate) skip: Vec<String>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub(crate) format: Format,
    /// The agent name under which `--format autobahn` files the cases (Autobahn's
    /// server name); default: the URL.
    #[arg(long, value_name = "NAME")]
    pub(crate) agent: Option<String>,
    /// Write the report to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Compare with a saved JSON report: exit 1 on any regression (not on known failures).
    #[arg(long, value_name = "FILE")]
    pub(crate) baseline: Option<PathBuf>,
    /// A request header for every request, e.g. 'Authorization: Bearer …' (repeatable).
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE")]
    pub(crate) headers: Vec<String>,
    /// Do not verify TLS certificates.
    #[arg(long)]
    pub(crate) insecure: bool,
    /// Trust the CA certificates in this PEM file (repeatable).
    #[arg(long, value_name = "FILE")]
    pub(crate) cacert: Vec<PathBuf>,
    /// Speak HTTP/2 over plain TCP (h2c) without negotiation.
    #[arg(long)]
    pub http2_prior_knowledge: bool,
    /// Judge CORS for a page at this origin (e.g. https://app.example); without it
    /// the CORS checks judge only a server that serves other origins.
    #[arg(long, value_name = "URL")]
    pub(crate) origin: Option<String>,
}

fn seconds(value: f64, flag: &str) -> Result<Duration, String> {
    if value.is_finite() && value > 0.0 && value < 86_400.0 {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(format!(
            "{flag} must be a number of seconds above 0 (got {value})"
        ))
    }
}

/// Runs a probe; returns the exit code: 0 all required checks pass (or, with
/// `--baseline`, no regression), 1 failures or regressions, 2 usage errors or an
/// unreachable target.
pub(crate) fn run_probe(args: &ProbeArgs) -> u8 {
    match probe(args) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("pulsecheck: {message}");
            2
        }
    }
}

fn probe(args: &ProbeArgs) -> Result<u8, String> {
    let observe = seconds(args.observe.unwrap_or(20.0), "--observe")?;
    let ws_observe = match args.observe {
        Some(secs) => seconds(secs, "--observe")?,
        None => WsProbe::DEFAULT_OBSERVE,
    };
    // Checks that watch for the whole window need the window and some more.
    let check_timeout = match args.check_timeout {
        Some(secs) => seconds(secs, "--check-timeout")?,
        None => Duration::from_secs(60).max(observe.max(ws_observe) + Duration::from_secs(30)),
    };

    let deadline = seconds(args.deadline, "--deadline")?;
    if args.jobs == 0 {
        return Err("--jobs must be at least 1".into());
    }
    let only = args
        .only
        .iter()
        .map(|p| Pattern::new(p))
        .collect::<Result<Vec<_>, _>>()?;
    let skip = args
        .skip
        .iter()
        .map(|p| Pattern::new(p))
        .collect::<Result<Vec<_>, _>>()?;
    let websocket = args
        .url
        .as_deref()
        .is_some_and(|u| u.starts_with("ws://") || u.starts_with("wss://"));
    let unknown = if websocket {
        unmatched(all_checks(), &only)
    } else if args.url.is_none() {
        // Both suites run against the reference servers.
        unmatched(CHECKS, &only)
            .into_iter()
            .filter(|p| unmatched(all_checks(), std::slice::from_ref(*p)).len() == 1)
            .collect()
    } else {
        unmatched(CHECKS, &only)
    };
    if let Some(p) = unknown.first() {
        return Err(format!(
            "--only {:?} matches no check (see `pulsecheck list`)",
            p.as_str()
        ));
    }
    let headers = args
        .headers
        .iter()
        .map(|h| parse_header_arg(h).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let baseline =
        match &args.baseline {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read the baseline {}: {e}", path.display()))?;
                Some(Report::from_json(&text).map_err(|e| {
                    format!("{} is not a pulsecheck JSON report: {e}", path.display())
                })?)
            }
            None => None,
        };
    let client = Client::new(ClientConfig {
        insecure: args.insecure,
        ca_certs: args.cacert.clone(),
        http2_prior_knowledge: args.http2_prior_knowledge,
        headers,
        ..ClientConfig::default()
    })
    .map_err(|e| e.to_string())?;
    let run_options = RunOptions {
        jobs: args.jobs,
        check_timeout,
        deadline,
        strict: args.strict,
        progress: true,
    };
    if websocket {
        return probe_websocket(
            args,
            client,
            &only,
            &skip,
            ws_observe,
            run_options,
            baseline,
        );
    }
    let selected: Vec<_> = select(CHECKS, &only, &skip).into_iter().copied().collect();
    let options = ProbeOptions {
        observe,
        origin: args.origin.as_deref().map(parse_origin).transpose()?,
        ..ProbeOptions::default()
    };

    let runtime =
        tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the runtime: {e}"))?;
    let (report, interrupted) = runtime.block_on(async {
        // Without a URL: the reference server, in this process, on loopback.
        let server = match &args.url {
            Some(_) => None,
            None => Some(
                start(SseServerConfig::default())
                    .await
                    .map_err(|e| format!("cannot start the reference server: {e}"))?,
            ),
        };
        let target = match (&args.url, &server) {
            (Some(url), _) => url.clone(),
            (None, Some(s)) => s.url(),
            (None, None) => return Err("no URL and no reference server".to_owned()),
        };
        let url = Url::parse(&target).map_err(|e| format!("invalid URL {target:?}: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "{target}: only http and https URLs are event streams"
            ));
        }
        if server.is_some() {
            eprintln!(
                "pulsecheck: no URL given; probing the built-in reference server at {target}"
            );
        }
        let probe = Arc::new(SseProbe::new(client, url, options));
        let started = Instant::now();
        // An unreachable target is a usage problem, not a conformance failure. A
        // server that accepts but holds its answer is reachable (and buffered).
        if let Err(e) = probe.open(&[]).await
            && !matches!(e, ClientError::Timeout { .. } | ClientError::Http { .. })
        {
            return Err(format!("cannot reach {target}: {e}"));
        }
        let mut result = run(Arc::clone(&probe), &selected, run_options).await;
        let mut target = target;
        if let Some(server) = server {
            server.shutdown().await;
            // No URL: the WebSocket reference server gets the WebSocket suite too.
            let ws_server =
                pulsecheck::serve::ws::start(pulsecheck::serve::ws::WsServerConfig::default())
                    .await
                    .map_err(|e| format!("cannot start the WebSocket reference server: {e}"))?;
            let ws_url = Url::parse(&ws_server.url()).map_err(|e| e.to_string())?;
            eprintln!("pulsecheck: and the built-in WebSocket reference server at {ws_url}");
            let ws_selected: Vec<_> = select(all_checks(), &only, &skip)
                .into_iter()
                .copied()
                .collect();
            let ws_probe = Arc::new(
                WsProbe::new(probe.client.clone(), ws_url.clone(), Duration::from_secs(5))
                    .with_observe(ws_observe),
            );
            let ws_result = run(ws_probe, &ws_selected, run_options).await;
            ws_server.shutdown().await;
            result.results.extend(ws_result.results);
            result.interrupted |= ws_result.interrupted;
            target = format!("{target} and {ws_url} (built-in reference servers)");
        }
        let elapsed = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Ok((
            Report::new(&target, args.strict, result.results, elapsed),
            result.interrupted,
        ))
    })?;

    finish(args, &report, interrupted, baseline)
}

/// Probes a WebSocket endpoint with the WebSocket checks.
fn probe_websocket(
    args: &ProbeArgs,
    client: Client,
    only: &[Pattern],
    skip: &[Pattern],
    observe: Duration,
    options: RunOptions,
    baseline: Option<Report>,
) -> Result<u8, String> {
    let target = args.url.clone().unwrap_or_default();
    let url = Url::parse(&target).map_err(|e| format!("invalid URL {target:?}: {e}"))?;
    let selected: Vec<_> = select(all_checks(), only, skip)
        .into_iter()
        .copied()
        .collect();
    let runtime =
        tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the runtime: {e}"))?;
    let (report, interrupted) = runtime.block_on(async {
        let started = Instant::now();
        if let Err(e) = client.connect_raw(&url).await {
            return Err(format!("cannot reach {target}: {e}"));
        }
        let probe =
            Arc::new(WsProbe::new(client, url, Duration::from_secs(5)).with_observe(observe));
        let result = run(probe, &selected, options).await;
        let elapsed = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Ok((
            Report::new(&target, args.strict, result.results, elapsed),
            result.interrupted,
        ))
    })?;
    finish(args, &report, interrupted, baseline)
}

/// Writes the report and returns the exit code.
fn finish(
    args: &ProbeArgs,
    report: &Report,
    interrupted: bool,
    baseline: Option<Report>,
) -> Result<u8, String> {
    let text = match args.format {
        Format::Human => report.to_human(),
        Format::Json => report.to_json(),
        Format::Junit => report.to_junit(),
        Format::Autobahn => {
            report.to_autobahn_index(args.agent.as_deref().unwrap_or(&report.target))
        }
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, &text)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            eprint!("{}", summary_line(report));
        }
        None => print!("{text}"),
    }
    if interrupted {
        eprintln!("pulsecheck: interrupted; the report shows what finished");
    }
    Ok(match baseline {
        Some(baseline) => {
            let comparison = Comparison::new(&baseline, report);
            eprint!("{}", comparison.to_human());
            u8::from(comparison.has_regressions() || interrupted)
        }
        None => u8::from(report.failed() || interrupted),
    })
}

fn summary_line(report: &Report) -> String {
    report
        .to_human()
        .lines()
        .last()
        .map(|l| format!("{l}\n"))
        .unwrap_or_default()
}

/// Arguments of `list`.
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Prints the catalogue of checks.
pub(crate) fn run_list(args: &ListArgs) -> u8 {
    let mut problems = lint(CHECKS);
    problems.extend(lint(all_checks()));
    if !problems.is_empty() {
        eprintln!(
            "pulsecheck: the catalogue is inconsistent: {}",
            problems.join("; ")
        );
        return 2;
    }
    if args.json {
        let infos = CHECKS
            .iter()
            .map(|c| c.info)
            .chain(all_checks().iter().map(|c| c.info));
        let list: Vec<_> = infos
            .map(|info| {
                serde_json::json!({
                    "id": info.id,
                    "aliases": info.aliases,
                    "title": info.title,
                    "level": info.level,
                    "source": info.source.to_string(),
                    "requirement": info.requirement,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&list).unwrap_or_default()
        );
    } else {
        for info in CHECKS
            .iter()
            .map(|c| c.info)
            .chain(all_checks().iter().map(|c| c.info))
        {
            let level = match info.level {
                Level::Must => "MUST",
                Level::Should => "SHOULD",
                Level::Info => "INFO",
            };
            let id = match info.aliases {
                [] => info.id.to_owned(),
                aliases => format!("{} [{}]", info.id, aliases.join(", ")),
            };
            println!("{id:<40} {level:<6} {}", info.title);
            println!(
                "{:<40} {:<6} {} — {}",
                "", "", info.source, info.requirement
            );
        }
    }
    0
}
