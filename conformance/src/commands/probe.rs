//! `pulsecheck probe [URL]` and `pulsecheck list`.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use pulsecheck::check::{CheckInfo, Level};
use pulsecheck::http::{Client, ClientConfig, parse_header_arg};
use pulsecheck::registry::Pattern;
use pulsecheck::report::{BUILT_IN_TARGET, Report};
use pulsecheck::runner::{Deadline, RunOptions, RunResult};
use pulsecheck::serve::sse::{SseServerConfig, start};
use pulsecheck::sse::probe::parse_origin;
use pulsecheck::sse::suite::{DEFAULT_OBSERVE, SSE};
use pulsecheck::suite::{self, ProbeSetup, ProbeSuite, Suite};
use pulsecheck::ws::checks::WsProbe;
use pulsecheck::ws::suite::WS;
use pulsecheck_ws::Role;
use url::Url;

use super::args::parse;
use super::baseline;
use super::output::{Destination, Format, print_or_exit, write_report};

/// Arguments of `probe`.
#[derive(Debug, Args)]
pub(crate) struct ProbeArgs {
    /// The server to probe: an event stream (http, https) or a WebSocket endpoint
    /// (ws, wss). Without one, pulsecheck starts its SSE reference server on
    /// loopback and probes that.
    pub(crate) url: Option<String>,
    /// How long to watch: an event stream (default 20 s; the heartbeat check needs
    /// 16 s), or an idle WebSocket connection for the heartbeat checks (default 2 s).
    /// A duration: 35s, 2m, 500ms, 1.5s, or plain seconds; above 0, at most 24 h.
    #[arg(long, value_name = "DURATION", value_parser = parse::seconds, allow_hyphen_values = true)]
    pub(crate) observe: Option<Duration>,
    /// Checks run at once (they mostly wait on the network): 1 to 1024.
    #[arg(long, short = 'j', default_value_t = 32, value_parser = parse::jobs, allow_hyphen_values = true)]
    pub(crate) jobs: usize,
    /// How long one check may take (default 60 s, or the observation window plus
    /// 30 s when that is longer); a compression case, how long it may go
    /// without an echo. A duration, as for --observe.
    #[arg(long, value_name = "DURATION", value_parser = parse::seconds, allow_hyphen_values = true)]
    pub(crate) check_timeout: Option<Duration>,
    /// How long the whole probe may take, connecting included (default 300 s, or
    /// the check timeout plus 60 s when that is longer). A duration, as for
    /// --observe. What did not finish by then is reported as such.
    #[arg(long, value_name = "DURATION", value_parser = parse::seconds, allow_hyphen_values = true)]
    pub(crate) deadline: Option<Duration>,
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
    /// Write the report to FILE instead of stdout (checked before the run starts).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// With --format autobahn: write Autobahn's index.json, one JSON file per case
    /// and index.html (the HTML report) into DIR, created if missing (checked
    /// before the run starts).
    #[arg(long, value_name = "DIR")]
    pub(crate) outdir: Option<PathBuf>,
    /// Compare with a saved JSON report of the same target: exit 1 on any
    /// regression (not on known failures).
    #[arg(long, value_name = "FILE")]
    pub(crate) baseline: Option<PathBuf>,
    /// Compare with --baseline even when it is a report of another target or
    /// protocol.
    #[arg(long, requires = "baseline")]
    pub(crate) baseline_any_target: bool,
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
    #[arg(long, value_name = "URL", value_parser = parse_origin)]
    pub(crate) origin: Option<String>,
}

/// Runs a probe; returns the exit code: 0 all required checks pass (or, with
/// `--baseline`, no regression), 1 failures or regressions, 2 usage errors, an
/// unreachable target, or a target that does not speak the protocol.
pub(crate) fn run_probe(args: &ProbeArgs) -> u8 {
    match probe(args) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("pulsecheck: {message}");
            2
        }
    }
}

/// What the probe is pointed at.
enum Target {
    /// No URL: the built-in reference servers, every probe suite.
    BuiltIn,
    /// A URL, and the suite that probes its scheme.
    Url(Url, &'static dyn ProbeSuite),
}

impl Target {
    fn parse(url: Option<&str>) -> Result<Self, String> {
        let Some(text) = url else {
            return Ok(Target::BuiltIn);
        };
        let url = Url::parse(text).map_err(|e| format!("invalid URL {text:?}: {e}"))?;
        let suite = suite::for_url(&url, text)?;
        Ok(Target::Url(url, suite))
    }

    /// The suites a run against this target uses.
    fn suites(&self) -> Vec<&'static dyn ProbeSuite> {
        match self {
            Target::BuiltIn => suite::probe_suites().to_vec(),
            Target::Url(_, suite) => vec![*suite],
        }
    }
}

fn probe(args: &ProbeArgs) -> Result<u8, String> {
    let started = std::time::Instant::now();
    let observe = args.observe.unwrap_or(DEFAULT_OBSERVE);
    let ws_observe = args.observe.unwrap_or(WsProbe::DEFAULT_OBSERVE);
    // Checks that watch for the whole window need the window and some more.
    let check_timeout = args.check_timeout.unwrap_or_else(|| {
        Duration::from_secs(60).max(observe.max(ws_observe) + Duration::from_secs(30))
    });
    let limit = args
        .deadline
        .unwrap_or_else(|| Duration::from_secs(300).max(check_timeout + Duration::from_secs(60)));
    let deadline = Deadline {
        at: started + limit,
        limit,
    };

    let target = Target::parse(args.url.as_deref())?;
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
    // A pattern must match a check of some suite the run uses.
    let infos: Vec<CheckInfo> = target.suites().iter().flat_map(|s| s.infos()).collect();
    let unknown: Vec<&Pattern> = only
        .iter()
        .filter(|p| !infos.iter().any(|info| p.matches(info)))
        .collect();
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
    let baseline = read_baseline(args, &target)?;
    // Before the run: a report that cannot be written must not cost a probe.
    let output = Destination::open(args.format, args.output.as_deref(), args.outdir.as_deref())?;
    let client = Client::new(ClientConfig {
        insecure: args.insecure,
        ca_certs: args.cacert.clone(),
        http2_prior_knowledge: args.http2_prior_knowledge,
        headers,
        deadline: Some(deadline.at),
        ..ClientConfig::default()
    })
    .map_err(|e| e.to_string())?;
    let setup = ProbeSetup {
        client,
        observe: args.observe,
        origin: args.origin.clone(),
        only,
        skip,
        run_options: RunOptions {
            jobs: args.jobs,
            check_timeout,
            deadline: limit,
            strict: args.strict,
            progress: true,
        },
        deadline,
    };

    let runtime =
        tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the runtime: {e}"))?;
    let ran = runtime.block_on(async {
        match &target {
            Target::Url(url, suite) => {
                let display = args.url.clone().unwrap_or_default();
                let result = suite.probe(&setup, url.clone(), &display).await?;
                Ok((display, result))
            }
            Target::BuiltIn => probe_built_in(&setup).await,
        }
    });
    // Whatever still runs (a name lookup on a blocking thread, a server's
    // connection task) must not hold the exit: the deadline is the deadline.
    runtime.shutdown_background();
    let (display, result) = ran?;
    let elapsed = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let report = Report::new(&display, args.strict, result.results, elapsed);
    finish(
        args,
        &report,
        Ended {
            interrupted: result.interrupted,
            deadline: result.deadline_reached.then_some(deadline),
        },
        baseline,
        output,
    )
}

/// Reads `--baseline` and refuses a report of another target or protocol unless
/// `--baseline-any-target` is given.
fn read_baseline(args: &ProbeArgs, target: &Target) -> Result<Option<Report>, String> {
    let name = match (target, &args.url) {
        (Target::BuiltIn, _) | (_, None) => BUILT_IN_TARGET.to_owned(),
        (_, Some(url)) => url.clone(),
    };
    baseline::read(
        args.baseline.as_deref(),
        &name,
        &suite_names(target),
        args.baseline_any_target,
    )
}

/// The names of the suites a run against `target` uses.
fn suite_names(target: &Target) -> Vec<&'static str> {
    target.suites().iter().map(|s| s.name()).collect()
}

/// No URL: both probe suites against the built-in reference servers, on
/// loopback, in this process, within the one deadline.
async fn probe_built_in(setup: &ProbeSetup) -> Result<(String, RunResult), String> {
    let server = start(SseServerConfig::default())
        .await
        .map_err(|e| format!("cannot start the reference server: {e}"))?;
    let sse_url = server.url();
    eprintln!("pulsecheck: no URL given; probing the built-in reference server at {sse_url}");
    let url = Url::parse(&sse_url).map_err(|e| e.to_string())?;
    let mut result = SSE.probe(setup, url, &sse_url).await?;
    server.shutdown().await;

    let ws_server = pulsecheck::serve::ws::start(pulsecheck::serve::ws::WsServerConfig::default())
        .await
        .map_err(|e| format!("cannot start the WebSocket reference server: {e}"))?;
    let ws_url = ws_server.url();
    eprintln!("pulsecheck: and the built-in WebSocket reference server at {ws_url}");
    let url = Url::parse(&ws_url).map_err(|e| e.to_string())?;
    let ws_result = WS.probe(setup, url, &ws_url).await?;
    ws_server.shutdown().await;
    result.results.extend(ws_result.results);
    result.interrupted |= ws_result.interrupted;
    result.deadline_reached |= ws_result.deadline_reached;
    Ok((format!("{sse_url} and {ws_url} {BUILT_IN_TARGET}"), result))
}

/// How a run ended early, if it did.
struct Ended {
    /// Ctrl-C stopped it.
    interrupted: bool,
    /// The overall deadline stopped it.
    deadline: Option<Deadline>,
}

/// Writes the report and returns the exit code.
fn finish(
    args: &ProbeArgs,
    report: &Report,
    ended: Ended,
    baseline: Option<Report>,
    mut output: Destination,
) -> Result<u8, String> {
    let agent = args.agent.as_deref().unwrap_or(&report.target);
    // The probe is the client of the server it tests.
    write_report(report, args.format, agent, Role::Client, &mut output)?;
    if ended.interrupted {
        eprintln!("pulsecheck: interrupted; the report shows what finished");
    }
    if let Some(deadline) = ended.deadline {
        eprintln!(
            "pulsecheck: the overall deadline of {} s (--deadline) passed; the report shows what finished",
            deadline.limit.as_secs_f64()
        );
    }
    match &baseline {
        Some(_) => Ok(baseline::exit_code(
            baseline.as_ref(),
            report,
            ended.interrupted || ended.deadline.is_some(),
        )),
        None => Ok(baseline::exit_code(None, report, ended.interrupted)),
    }
}

/// Arguments of `list`.
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
    /// List only this suite: sse, ws (servers) or ws-client (clients, `host
    /// ws`); repeatable. Default: every suite.
    #[arg(long, value_name = "NAME")]
    pub(crate) suite: Vec<String>,
}

/// Prints the catalogue of checks, suite by suite. A reader that goes away
/// (`| head -1`) ends the output quietly.
pub(crate) fn run_list(args: &ListArgs) -> u8 {
    let names: Vec<&str> = suite::all().iter().map(|s| s.name()).collect();
    if let Some(unknown) = args.suite.iter().find(|n| !names.contains(&n.as_str())) {
        eprintln!(
            "pulsecheck: no suite is called {unknown:?}; the suites are {}",
            names.join(", ")
        );
        return 2;
    }
    let suites: Vec<&dyn Suite> = suite::all()
        .into_iter()
        .filter(|s| args.suite.is_empty() || args.suite.iter().any(|n| n == s.name()))
        .collect();
    let problems: Vec<String> = suites.iter().flat_map(|s| s.lint()).collect();
    if !problems.is_empty() {
        eprintln!(
            "pulsecheck: the catalogue is inconsistent: {}",
            problems.join("; ")
        );
        return 2;
    }
    let mut text = String::new();
    if args.json {
        let list: Vec<_> = suites
            .iter()
            .flat_map(|suite| {
                suite
                    .infos()
                    .into_iter()
                    .map(move |info| (suite.name(), info))
            })
            .map(|(suite, info)| {
                serde_json::json!({
                    "suite": suite,
                    "id": info.id,
                    "aliases": info.aliases,
                    "title": info.title,
                    "level": info.level,
                    "source": info.source.to_string(),
                    "requirement": info.requirement,
                })
            })
            .collect();
        text.push_str(&serde_json::to_string_pretty(&list).unwrap_or_default());
        text.push('\n');
    } else {
        for suite in suites {
            let infos = suite.infos();
            let _ = writeln!(
                text,
                "# {}: {} ({} checks)",
                suite.name(),
                suite.describes(),
                infos.len()
            );
            for info in infos {
                let level = match info.level {
                    Level::Must => "MUST",
                    Level::Should => "SHOULD",
                    Level::Info => "INFO",
                };
                let id = match info.aliases {
                    [] => info.id.to_owned(),
                    aliases => format!("{} [{}]", info.id, aliases.join(", ")),
                };
                let _ = writeln!(text, "{id:<40} {level:<6} {}", info.title);
                let _ = writeln!(
                    text,
                    "{:<40} {:<6} {} — {}",
                    "", "", info.source, info.requirement
                );
            }
        }
    }
    print_or_exit(&text, 0)
}
