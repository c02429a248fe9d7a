//! `pulsecheck probe [URL]` and `pulsecheck list`.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use pulsecheck::check::Level;
use pulsecheck::http::{Client, ClientConfig, ClientError, Phase, parse_header_arg, quote};
use pulsecheck::registry::{Check, Pattern, lint, select, unmatched};
use pulsecheck::report::{BUILT_IN_TARGET, Comparison, Report};
use pulsecheck::runner::{Deadline, RunOptions, RunResult, not_run, run_until};
use pulsecheck::serve::sse::{SseServerConfig, start};
use pulsecheck::sse::checks::CHECKS;
use pulsecheck::sse::probe::{ProbeOptions, SseProbe, parse_origin};
use pulsecheck::ws::all_checks;
use pulsecheck::ws::checks::WsProbe;
use pulsecheck::ws::connection::request_for;
use pulsecheck_ws::Role;
use url::Url;

use super::args::parse;
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
    /// 30 s when that is longer). A duration, as for --observe.
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

/// The default `--observe` of an event stream.
const DEFAULT_OBSERVE: Duration = Duration::from_secs(20);

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
    /// No URL: the built-in reference servers, both suites.
    BuiltIn,
    /// An event stream (`http`, `https`).
    Stream(Url),
    /// A WebSocket endpoint (`ws`, `wss`).
    Socket(Url),
}

impl Target {
    fn parse(url: Option<&str>) -> Result<Self, String> {
        let Some(text) = url else {
            return Ok(Target::BuiltIn);
        };
        let url = Url::parse(text).map_err(|e| format!("invalid URL {text:?}: {e}"))?;
        match url.scheme() {
            "http" | "https" => Ok(Target::Stream(url)),
            "ws" | "wss" => Ok(Target::Socket(url)),
            other => Err(format!(
                "{text}: pulsecheck does not probe {other}:// URLs; use http or https for an event stream, ws or wss for a WebSocket endpoint"
            )),
        }
    }

    /// The suites a run against this target uses.
    fn suites(&self) -> &'static [&'static str] {
        match self {
            Target::BuiltIn => &["sse", "ws"],
            Target::Stream(_) => &["sse"],
            Target::Socket(_) => &["ws"],
        }
    }
}

/// Everything a run needs, settled before it starts.
struct Plan<'a> {
    args: &'a ProbeArgs,
    only: Vec<Pattern>,
    skip: Vec<Pattern>,
    client: Client,
    observe: Duration,
    ws_observe: Duration,
    run_options: RunOptions,
    deadline: Deadline,
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
    let unknown = match target {
        Target::Socket(_) => unmatched(all_checks(), &only),
        Target::Stream(_) => unmatched(CHECKS, &only),
        // Both suites run against the reference servers.
        Target::BuiltIn => unmatched(CHECKS, &only)
            .into_iter()
            .filter(|p| unmatched(all_checks(), std::slice::from_ref(*p)).len() == 1)
            .collect(),
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
    let plan = Plan {
        args,
        only,
        skip,
        client,
        observe,
        ws_observe,
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
            Target::Stream(url) => {
                let display = args.url.clone().unwrap_or_default();
                let result = probe_stream(&plan, url.clone(), &display).await?;
                Ok((display, result))
            }
            Target::Socket(url) => {
                let display = args.url.clone().unwrap_or_default();
                let result = probe_socket(&plan, url.clone(), &display).await?;
                Ok((display, result))
            }
            Target::BuiltIn => probe_built_in(&plan).await,
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
    let Some(path) = &args.baseline else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the baseline {}: {e}", path.display()))?;
    let baseline = Report::from_json(&text)
        .map_err(|e| format!("{} is not a pulsecheck JSON report: {e}", path.display()))?;
    let name = match (target, &args.url) {
        (Target::BuiltIn, _) | (_, None) => BUILT_IN_TARGET.to_owned(),
        (_, Some(url)) => url.clone(),
    };
    if !args.baseline_any_target
        && let Some(why) = baseline.mismatch(&name, target.suites())
    {
        return Err(format!(
            "the baseline {} does not fit this run: {why}; pass --baseline-any-target to compare anyway",
            path.display()
        ));
    }
    Ok(Some(baseline))
}

/// How the first request to a target went, before any check runs.
enum FirstContact {
    /// It answered (or holds its answer, which the checks judge): run the checks.
    Answered,
    /// The overall deadline passed before it answered; the reason says what it was
    /// still waiting for.
    DeadlinePassed(String),
}

/// Sorts the error of the first request: the deadline passing, a target that does
/// not speak the protocol (exit 2, "unusable target"), one that cannot be reached
/// (exit 2), or a server that answers late, whose checks will say so.
fn first_contact(result: Result<(), ClientError>, display: &str) -> Result<FirstContact, String> {
    match result {
        Ok(()) | Err(ClientError::Timeout { .. }) => Ok(FirstContact::Answered),
        Err(ClientError::Deadline { phase, .. }) => {
            let waiting = match phase {
                Phase::Resolve => format!("the host name of {display} was still being resolved"),
                Phase::Connect => format!("the TCP connection to {display} was still being opened"),
                Phase::TlsHandshake => {
                    format!("the TLS handshake with {display} was still under way")
                }
                Phase::ResponseHead => format!(
                    "the server at {display} had not sent its response head (status line and headers)"
                ),
                _ => format!("the first request to {display} had no answer"),
            };
            Ok(FirstContact::DeadlinePassed(waiting))
        }
        Err(e) if e.is_unusable_target() => {
            Err(format!("unusable target {display}: {}", clause(&e)))
        }
        // A server that broke HTTP after its head is testable; the checks say how.
        Err(ClientError::Http { .. } | ClientError::Malformed { .. }) => Ok(FirstContact::Answered),
        Err(e) => Err(format!("cannot reach {display}: {}", clause(&e))),
    }
}

/// An error's sentence as a clause after a colon: first letter in lower case, no
/// final period.
fn clause(e: &dyn std::fmt::Display) -> String {
    let text = e.to_string();
    let text = text.strip_suffix('.').unwrap_or(&text);
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Probes an event stream with the SSE checks.
async fn probe_stream(plan: &Plan<'_>, url: Url, display: &str) -> Result<RunResult, String> {
    let selected: Vec<_> = select(CHECKS, &plan.only, &plan.skip)
        .into_iter()
        .copied()
        .collect();
    let options = ProbeOptions {
        observe: plan.observe,
        origin: plan.args.origin.clone(),
        ..ProbeOptions::default()
    };
    let probe = Arc::new(SseProbe::new(plan.client.clone(), url, options));
    // An unreachable target, or one that does not speak HTTP, is a usage problem,
    // not a conformance failure. A server that accepts but holds its answer is
    // reachable (and buffered): the checks judge it.
    let contact = first_contact(probe.open(&[]).await.map(drop), display)?;
    Ok(run_after(probe, &selected, plan, contact).await)
}

/// Probes a WebSocket endpoint with the WebSocket checks.
async fn probe_socket(plan: &Plan<'_>, url: Url, display: &str) -> Result<RunResult, String> {
    let selected: Vec<_> = select(all_checks(), &plan.only, &plan.skip)
        .into_iter()
        .copied()
        .collect();
    // The first contact is a standard opening handshake: a server that does not
    // answer it in HTTP, or refuses to switch protocols, cannot be tested.
    let (_, request) = request_for(&url, &[]);
    let reply = plan.client.request_head_raw(&url, &request).await;
    let contact = match reply {
        Ok(reply) if reply.status != 101 => {
            return Err(format!(
                "unusable target {display}: the server does not speak WebSocket there: it answered the opening handshake with {} {}, not 101 Switching Protocols (RFC 6455 §4.2.2)",
                reply.status,
                quote(reply.reason.as_bytes(), 48)
            ));
        }
        other => first_contact(other.map(drop), display)?,
    };
    let probe = Arc::new(
        WsProbe::new(plan.client.clone(), url, Duration::from_secs(5))
            .with_observe(plan.ws_observe),
    );
    Ok(run_after(probe, &selected, plan, contact).await)
}

/// Runs the checks, or, when the deadline passed during the first contact, reports
/// every one of them as not finished and why.
async fn run_after<Ctx: Send + Sync + 'static>(
    ctx: Arc<Ctx>,
    selected: &[Check<Ctx>],
    plan: &Plan<'_>,
    contact: FirstContact,
) -> RunResult {
    match contact {
        FirstContact::Answered => run_until(ctx, selected, plan.run_options, plan.deadline).await,
        FirstContact::DeadlinePassed(waiting) => RunResult {
            results: not_run(
                selected,
                &format!("{}: {waiting}", plan.deadline.unfinished()),
                plan.args.strict,
            ),
            interrupted: false,
            deadline_reached: true,
            elapsed: plan.deadline.limit,
        },
    }
}

/// No URL: both suites against the built-in reference servers, on loopback, in
/// this process, within the one deadline.
async fn probe_built_in(plan: &Plan<'_>) -> Result<(String, RunResult), String> {
    let server = start(SseServerConfig::default())
        .await
        .map_err(|e| format!("cannot start the reference server: {e}"))?;
    let sse_url = server.url();
    eprintln!("pulsecheck: no URL given; probing the built-in reference server at {sse_url}");
    let url = Url::parse(&sse_url).map_err(|e| e.to_string())?;
    let mut result = probe_stream(plan, url, &sse_url).await?;
    server.shutdown().await;

    let ws_server = pulsecheck::serve::ws::start(pulsecheck::serve::ws::WsServerConfig::default())
        .await
        .map_err(|e| format!("cannot start the WebSocket reference server: {e}"))?;
    let ws_url = ws_server.url();
    eprintln!("pulsecheck: and the built-in WebSocket reference server at {ws_url}");
    let url = Url::parse(&ws_url).map_err(|e| e.to_string())?;
    let ws_result = probe_socket(plan, url, &ws_url).await?;
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
    let stopped = ended.interrupted || ended.deadline.is_some();
    Ok(match baseline {
        Some(baseline) => {
            let comparison = Comparison::new(&baseline, report);
            eprint!("{}", comparison.to_human());
            u8::from(comparison.has_regressions() || stopped)
        }
        None => u8::from(report.failed() || ended.interrupted),
    })
}

/// Arguments of `list`.
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Prints the catalogue of checks. A reader that goes away (`| head -1`) ends
/// the output quietly.
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
    let infos = CHECKS
        .iter()
        .map(|c| c.info)
        .chain(all_checks().iter().map(|c| c.info));
    let mut text = String::new();
    if args.json {
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
        text.push_str(&serde_json::to_string_pretty(&list).unwrap_or_default());
        text.push('\n');
    } else {
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
    print_or_exit(&text, 0)
}
