//! `pulsecheck host ws [-- CMD ARGS…]`: host the WebSocket client suite for
//! clients that speak Autobahn|Testsuite's fuzzingserver protocol, and for
//! browsers (the page at `/`).
//!
//! With a command, the command is the client under test: it is started with
//! `PULSECHECK_URL` (and `PULSECHECK_PAGE_URL`, `PULSECHECK_AGENT`) in its
//! environment, in a process group of its own, and the run ends when it exits,
//! when an agent that has played every case asks for its reports (or a client
//! asks the host to stop; the command then has 2 s to exit before its group is
//! killed: a browser never exits), or at `--deadline`. The report is written
//! once, at the end.
//!
//! Without a command the host serves until a client asks it to stop
//! (`/stopServer`, `shutdownOnComplete=true`), Ctrl-C or `--deadline`, and
//! writes the reports at every `/updateReports` (and at the end, when results
//! came since).
//!
//! Exit codes: 0 every required check passed, 1 failures (or the run was
//! interrupted), 2 usage, a command that could not be started, or no case run.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use pulsecheck::host::ws::agents::NEVER_RAN;
use pulsecheck::host::ws::catalogue;
use pulsecheck::host::ws::fuzzingserver::MAX_AGENT_BYTES;
use pulsecheck::host::ws::server::{self, HostConfig, HostEvent, RunningHost};
use pulsecheck::registry::choose;
use pulsecheck::report::Report;
use pulsecheck::runner::Deadline;

use super::args::parse;
use super::baseline;
use super::child::{ClientProcess, describe_exit};
use pulsecheck_ws::Role;

use super::output::{self, Destination, Format};

/// Arguments of `host ws`.
#[derive(Debug, Args)]
pub(crate) struct HostWsArgs {
    /// Where to listen; a port of 0 picks a free one (the URL is printed on
    /// stderr).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9001")]
    pub(crate) addr: SocketAddr,
    /// Host only cases whose ID or alias matches (glob; repeatable).
    /// `/runCase?case=N` numbers the selected cases, in catalogue order.
    #[arg(long, value_name = "GLOB")]
    pub(crate) only: Vec<String>,
    /// Leave out cases whose ID or alias matches (glob; repeatable).
    #[arg(long, value_name = "GLOB")]
    pub(crate) skip: Vec<String>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub(crate) format: Format,
    /// Report only this agent (the `agent=` the client gives), and give the
    /// name to the command as PULSECHECK_AGENT. Default: every agent, one
    /// report after the other.
    #[arg(long, value_name = "NAME")]
    pub(crate) agent: Option<String>,
    /// Write the report to FILE instead of stdout (checked before the host
    /// starts; rewritten at every /updateReports).
    #[arg(long, short = 'o', value_name = "FILE", conflicts_with = "outdir")]
    pub(crate) output: Option<PathBuf>,
    /// With --format autobahn: write Autobahn's index.json, a file per case
    /// and index.html into DIR.
    #[arg(long, value_name = "DIR")]
    pub(crate) outdir: Option<PathBuf>,
    /// Compare with a saved JSON report of this client: exit 1 on any
    /// regression (not on known failures).
    #[arg(long, value_name = "FILE")]
    pub(crate) baseline: Option<PathBuf>,
    /// Compare with --baseline even when it is a report of another agent or
    /// suite.
    #[arg(long, requires = "baseline")]
    pub(crate) baseline_any_target: bool,
    /// Serve TLS (wss://, and the page over https://) with this certificate
    /// chain (PEM, leaf first).
    #[arg(long, value_name = "FILE", requires = "key")]
    pub(crate) cert: Option<PathBuf>,
    /// The private key of --cert (PEM).
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub(crate) key: Option<PathBuf>,
    /// How long the whole run may take (default with a command: 10 min;
    /// without one: no limit). A duration: 90s, 10m, 1h, or plain seconds.
    /// What finished by then is reported.
    #[arg(long, value_name = "DURATION", value_parser = parse::seconds, allow_hyphen_values = true)]
    pub(crate) deadline: Option<Duration>,
    /// How long one case may take (default 60 s); a compression case, how long
    /// it may go without an echo. A duration, as for --deadline.
    #[arg(long, value_name = "DURATION", value_parser = parse::seconds, allow_hyphen_values = true)]
    pub(crate) check_timeout: Option<Duration>,
    /// SHOULD-level failures fail the run.
    #[arg(long)]
    pub(crate) strict: bool,
    /// The client under test, started with PULSECHECK_URL=ws://ADDR (the base
    /// URL: the client appends /getCaseCount, /runCase?…), PULSECHECK_PAGE_URL
    /// (the page for a browser) and PULSECHECK_AGENT (--agent) in its
    /// environment.
    #[arg(last = true, value_name = "CMD")]
    pub(crate) command: Vec<String>,
}

/// The default `--deadline` of a run with a command.
const COMMAND_DEADLINE: Duration = Duration::from_secs(600);

/// How long a command has to exit on its own once its run is over.
const EXIT_GRACE: Duration = Duration::from_secs(2);

/// Runs `host ws`; returns the exit code.
pub(crate) fn run_host_ws(args: &HostWsArgs) -> u8 {
    match host_ws(args) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("pulsecheck: {message}");
            2
        }
    }
}

fn host_ws(args: &HostWsArgs) -> Result<u8, String> {
    let selected = choose(catalogue::checks(), &args.only, &args.skip, "client")?;
    if let Some(agent) = &args.agent
        && (agent.trim().is_empty() || agent.len() > MAX_AGENT_BYTES)
    {
        return Err(format!(
            "--agent must be a name of 1 to {MAX_AGENT_BYTES} bytes"
        ));
    }
    let tls = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => Some(server::tls_config(cert, key)?),
        _ => None,
    };
    // Before the host starts: a report that cannot be written must not cost a run.
    // The agent is known only when --agent names it: otherwise the baseline's
    // own agent is taken on trust, and only its suite is checked.
    let baseline = baseline::read(
        args.baseline.as_deref(),
        args.agent.as_deref().unwrap_or(""),
        &["ws-client"],
        args.baseline_any_target || args.agent.is_none(),
    )?;
    if let (Some(b), None) = (&baseline, &args.agent)
        && !args.baseline_any_target
        && !b.suites().contains("ws-client")
        && !b.suites().contains("ws")
    {
        return Err(format!(
            "the baseline {} is not a report of the WebSocket client suite; pass --baseline-any-target to compare anyway",
            args.baseline
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        ));
    }
    let mut sink = ReportSink {
        destination: Destination::open(
            args.format,
            args.output.as_deref(),
            args.outdir.as_deref(),
        )?,
        baseline,
    };
    let mut config = HostConfig::new(selected);
    config.addr = args.addr;
    config.check_timeout = args
        .check_timeout
        .unwrap_or(HostConfig::DEFAULT_CHECK_TIMEOUT);
    config.strict = args.strict;
    config.tls = tls;
    let runtime =
        tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the runtime: {e}"))?;
    let result = runtime.block_on(host_session(args, config, &mut sink));
    // A case still being played, a connection still closing: they must not hold
    // the exit.
    runtime.shutdown_background();
    result
}

/// How a run ended.
#[derive(Debug)]
enum Ending {
    /// The command exited (or could no longer be waited for).
    CommandExited(Result<std::process::ExitStatus, String>),
    /// The run was over (an agent complete, or a stop request) and the command
    /// had [`EXIT_GRACE`] to exit.
    Over,
    /// A client asked the host to stop (no command).
    StopRequested,
    /// `--deadline` passed.
    Deadline(Deadline),
    /// Ctrl-C.
    Interrupted,
}

/// One step of the session loop.
enum Step {
    Event(Option<HostEvent>),
    CommandExited(Result<std::process::ExitStatus, String>),
    GraceOver,
    DeadlinePassed,
    Interrupted,
}

/// Starts the host and runs the session.
async fn host_session(
    args: &HostWsArgs,
    config: HostConfig,
    sink: &mut ReportSink,
) -> Result<u8, String> {
    let addr = config.addr;
    let host = server::start(config)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    eprintln!(
        "pulsecheck: hosting the WebSocket client suite at {} ({} cases; open {} in a browser)",
        host.url(),
        host.checks().len(),
        host.page_url()
    );
    run_session(args, host, sink).await
}

/// Serves clients (and runs the command) until the run ends; writes the
/// reports; returns the exit code.
async fn run_session(
    args: &HostWsArgs,
    mut host: RunningHost,
    sink: &mut ReportSink,
) -> Result<u8, String> {
    let with_command = !args.command.is_empty();
    let deadline = args
        .deadline
        .or(with_command.then_some(COMMAND_DEADLINE))
        .map(Deadline::after);
    let mut command = if with_command {
        Some(ClientProcess::spawn(
            &args.command,
            &command_env(args, &host),
        )?)
    } else {
        None
    };

    let mut written_at: Option<u64> = None;
    let mut grace: Option<tokio::time::Instant> = None;
    // One listener for the whole run: a Ctrl-C while a step is handled is not
    // lost.
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let ending = loop {
        let step = tokio::select! {
            event = host.next_event() => Step::Event(event),
            status = exited(command.as_mut()) => Step::CommandExited(status),
            () = sleep_until(grace) => Step::GraceOver,
            () = sleep_until(deadline.map(|d| d.at.into())) => Step::DeadlinePassed,
            _ = &mut ctrl_c => Step::Interrupted,
        };
        match step {
            Step::Event(Some(HostEvent::UpdateReports(request))) => {
                if command.is_some() {
                    let ends =
                        request.complete && (args.agent.is_none() || args.agent == request.agent);
                    request.reply(Ok("the reports are written when the run ends".to_owned()));
                    if ends {
                        grace.get_or_insert_with(|| tokio::time::Instant::now() + EXIT_GRACE);
                    }
                } else {
                    let filed = host.results_filed();
                    let reports = wanted(request.reports.clone(), args.agent.as_deref());
                    let outcome = match (&args.agent, reports.is_empty()) {
                        (Some(only), true) => Ok(format!(
                            "no report written: this host reports agent {only:?} only (--agent)"
                        )),
                        (None, true) => Ok("no report written: no agent has run a case".to_owned()),
                        (_, false) => write_reports(&mut sink.destination, &reports, args.format),
                    };
                    match &outcome {
                        Ok(_) if !reports.is_empty() => written_at = Some(filed),
                        Ok(_) => {}
                        Err(e) => eprintln!("pulsecheck: {e}"),
                    }
                    request.reply(outcome);
                }
            }
            Step::Event(Some(HostEvent::StopRequested(_))) => {
                if command.is_none() {
                    break Ending::StopRequested;
                }
                grace.get_or_insert_with(|| tokio::time::Instant::now() + EXIT_GRACE);
            }
            Step::Event(None) => break Ending::StopRequested,
            Step::CommandExited(status) => break Ending::CommandExited(status),
            Step::GraceOver => break Ending::Over,
            Step::DeadlinePassed => match deadline {
                Some(deadline) => break Ending::Deadline(deadline),
                None => break Ending::Over,
            },
            Step::Interrupted => break Ending::Interrupted,
        }
    };
    if let Some(command) = &command {
        command.kill_group();
    }
    finish(args, host, command.as_mut(), &ending, sink, written_at).await
}

/// The environment of the command: where the host is, and the agent name.
fn command_env(args: &HostWsArgs, host: &RunningHost) -> Vec<(&'static str, String)> {
    let mut page = host.page_url();
    let mut env = vec![("PULSECHECK_URL", host.url())];
    if let Some(agent) = &args.agent {
        page.push_str("?agent=");
        page.extend(url::form_urlencoded::byte_serialize(agent.as_bytes()));
        env.push(("PULSECHECK_AGENT", agent.clone()));
    }
    env.push(("PULSECHECK_PAGE_URL", page));
    env
}

/// Resolves when the command exits; never without one.
async fn exited(command: Option<&mut ClientProcess>) -> Result<std::process::ExitStatus, String> {
    match command {
        Some(command) => command.wait().await,
        None => std::future::pending().await,
    }
}

/// Resolves at `at`; never without it.
async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The reports of `--agent` only, when given.
fn wanted(reports: Vec<Report>, agent: Option<&str>) -> Vec<Report> {
    match agent {
        Some(agent) => reports.into_iter().filter(|r| r.target == agent).collect(),
        None => reports,
    }
}

/// Writes the final reports and returns the exit code.
async fn finish(
    args: &HostWsArgs,
    host: RunningHost,
    mut command: Option<&mut ClientProcess>,
    ending: &Ending,
    sink: &mut ReportSink,
    written_at: Option<u64>,
) -> Result<u8, String> {
    // What the command did, once its group is gone.
    let exit = match (&mut command, ending) {
        (Some(_), Ending::CommandExited(status)) => Some(status.clone()),
        (Some(command), _) => tokio::time::timeout(EXIT_GRACE, command.wait()).await.ok(),
        (None, _) => None,
    };
    let missing = match ending {
        Ending::Deadline(deadline) => deadline.unfinished(),
        Ending::Interrupted => "interrupted (Ctrl-C) before the client ran this case".to_owned(),
        Ending::CommandExited(Ok(status)) => format!(
            "not run: the client command {} before it ran this case",
            describe_exit(status)
        ),
        _ => NEVER_RAN.to_owned(),
    };
    let names = match &args.agent {
        Some(agent) => vec![agent.clone()],
        None => host.agents(),
    };
    let ran: usize = names.iter().map(|name| host.results_kept(name)).sum();
    let reports: Vec<Report> = names
        .iter()
        .map(|name| host.report(name, &missing))
        .collect();
    let filed = host.results_filed();
    host.shutdown().await;

    let shows = if ran > 0 {
        "; the report shows what finished"
    } else {
        ""
    };
    if let Ending::Deadline(deadline) = ending {
        let killed = if command.is_some() {
            " and the client command was killed"
        } else {
            ""
        };
        eprintln!(
            "pulsecheck: the overall deadline of {} s (--deadline) passed{killed}{shows}",
            deadline.limit.as_secs_f64(),
        );
    }
    if matches!(ending, Ending::Interrupted) {
        eprintln!("pulsecheck: interrupted{shows}");
    }
    if let (Some(command), Some(Ok(status))) = (&command, &exit)
        && !status.success()
        && ran > 0
    {
        eprintln!(
            "pulsecheck: the client command `{}` {}",
            command.line(),
            describe_exit(status)
        );
    }
    if ran == 0 {
        let why = nothing_ran(args, &names, command.as_deref(), exit.as_ref());
        eprintln!("pulsecheck: {why}");
        return Ok(2);
    }
    if command.is_some() || written_at != Some(filed) {
        write_reports(&mut sink.destination, &reports, args.format)?;
    }
    let stopped = matches!(ending, Ending::Interrupted);
    Ok(reports
        .iter()
        .map(|report| baseline::exit_code(sink.baseline.as_ref(), report, stopped))
        .max()
        .unwrap_or(0))
}

/// Why no case was run, with what the command said.
fn nothing_ran(
    args: &HostWsArgs,
    agents: &[String],
    command: Option<&ClientProcess>,
    exit: Option<&Result<std::process::ExitStatus, String>>,
) -> String {
    let mut text = match (&args.agent, agents.is_empty()) {
        (Some(agent), _) => format!("no case was run by agent {agent:?} (--agent)"),
        (None, true) => "no case was run: no client connected to /runCase".to_owned(),
        (None, false) => "no case was run".to_owned(),
    };
    if let Some(command) = command {
        match exit {
            Some(Ok(status)) => {
                text.push_str(&format!(
                    "; the client command `{}` {}",
                    command.line(),
                    describe_exit(status)
                ));
            }
            Some(Err(e)) => text.push_str(&format!("; {e}")),
            None => text.push_str(&format!(
                "; the client command `{}` was killed",
                command.line()
            )),
        }
        let tail = command.output_tail();
        if tail.is_empty() {
            text.push_str(" (it wrote nothing)");
        } else {
            text.push_str("; its output ended with:\n");
            text.push_str(tail.trim_end());
        }
    }
    text
}

/// Where the reports go, and the baseline they are compared with.
#[derive(Debug)]
struct ReportSink {
    /// `-o`, `--outdir` or stdout.
    destination: Destination,
    /// `--baseline`, read before the host started.
    baseline: Option<Report>,
}

/// Writes `reports` (one per agent) in `format` to `destination`: the one
/// place where the host's reports are written. Returns a note for the client
/// (the reason of the Close that answers `/updateReports`).
fn write_reports(
    destination: &mut Destination,
    reports: &[Report],
    format: Format,
) -> Result<String, String> {
    let runs: Vec<(&str, &Report)> = reports.iter().map(|r| (r.target.as_str(), r)).collect();
    output::write_reports(&runs, format, Role::Server, destination)?;
    let agents = match reports.len() {
        1 => "1 agent".to_owned(),
        n => format!("{n} agents"),
    };
    let place = match destination {
        Destination::Stdout => "stdout".to_owned(),
        Destination::File(_) => "the report file".to_owned(),
        Destination::Dir(_) => "the report directory".to_owned(),
    };
    Ok(format!("reports of {agents} written to {place}"))
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Instant;

    use futures::StreamExt as _;
    use pulsecheck::check::{CheckInfo, Level, Outcome, Source};
    use pulsecheck::host::ws::control;

    use pulsecheck::host::ws::session::ClientSession;
    use pulsecheck::registry::Check;

    use super::*;

    /// A case that answers the handshake, closes, and passes.
    fn played(id: &'static str) -> Check<ClientSession> {
        Check {
            info: CheckInfo {
                id,
                aliases: &[],
                title: "Plays a handshake and a close",
                source: Source::Rfc(6455, "7.1.1"),
                requirement: "The client answers the server's Close.",
                level: Level::Must,
            },
            run: |session, _| {
                Box::pin(async move {
                    let Some(upgrade) = session.take() else {
                        return Outcome::error("no connection", Default::default());
                    };
                    match control::accept(upgrade.io, &upgrade.request, upgrade.leftover).await {
                        Some(connection) => {
                            connection.close(1000, "").await;
                            Outcome::pass("played")
                        }
                        None => Outcome::fail("no valid handshake", Default::default()),
                    }
                })
            },
        }
    }

    fn args(command: &[&str], output: &Path) -> HostWsArgs {
        HostWsArgs {
            addr: "127.0.0.1:0".parse().unwrap(),
            only: Vec::new(),
            skip: Vec::new(),
            format: Format::Json,
            agent: None,
            output: Some(output.to_path_buf()),
            outdir: None,
            baseline: None,
            baseline_any_target: false,
            cert: None,
            key: None,
            deadline: None,
            check_timeout: None,
            strict: false,
            command: command.iter().map(|w| (*w).to_owned()).collect(),
        }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("pulsecheck-host-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Runs the session on its own task with two played cases.
    async fn session(args: HostWsArgs) -> (String, tokio::task::JoinHandle<Result<u8, String>>) {
        let host = server::start(HostConfig::new(vec![played("t/a/one"), played("t/a/two")]))
            .await
            .unwrap();
        let url = host.url();
        let task = tokio::spawn(async move {
            let mut sink = ReportSink {
                destination: Destination::open(
                    args.format,
                    args.output.as_deref(),
                    args.outdir.as_deref(),
                )?,
                baseline: None,
            };
            run_session(&args, host, &mut sink).await
        });
        (url, task)
    }

    /// Connects to `path` and reads until the host closes.
    async fn visit(base: &str, path: &str) -> u16 {
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("{base}{path}"))
            .await
            .unwrap();
        let mut code = 1006;
        while let Some(Ok(message)) = ws.next().await {
            if let tokio_tungstenite::tungstenite::Message::Close(Some(frame)) = message {
                code = u16::from(frame.code);
            }
        }
        code
    }

    async fn read_when_written(path: &Path) -> String {
        for _ in 0..100 {
            if let Ok(text) = std::fs::read_to_string(path)
                && text.ends_with('\n')
            {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{} was never written", path.display());
    }

    fn report(path: &Path) -> Report {
        Report::from_json(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_command_that_never_exits_is_killed_once_its_agent_is_complete() {
        let dir = temp_dir("complete");
        let (url_file, output) = (dir.join("url"), dir.join("report.json"));
        let script = format!(
            "echo \"$PULSECHECK_URL\" > {}; exec sleep 1000",
            url_file.display()
        );
        let (base, task) = session(args(&["sh", "-c", &script], &output)).await;
        assert_eq!(read_when_written(&url_file).await.trim(), base);

        for n in 1..=2 {
            assert_eq!(
                visit(&base, &format!("/runCase?case={n}&agent=x")).await,
                1000
            );
        }
        let began = Instant::now();
        assert_eq!(visit(&base, "/updateReports?agent=x").await, 1000);
        assert_eq!(task.await.unwrap(), Ok(0));
        let waited = began.elapsed();
        assert!(
            waited >= Duration::from_millis(1500) && waited < Duration::from_secs(5),
            "{waited:?}"
        );
        let written = report(&output);
        assert_eq!((written.target.as_str(), written.summary.pass), ("x", 2));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_deadline_reports_what_finished() {
        let dir = temp_dir("deadline");
        let (url_file, output) = (dir.join("url"), dir.join("report.json"));
        let script = format!(
            "echo \"$PULSECHECK_URL\" > {}; exec sleep 1000",
            url_file.display()
        );
        let mut a = args(&["sh", "-c", &script], &output);
        a.deadline = Some(Duration::from_millis(1500));
        let began = Instant::now();
        let (base, task) = session(a).await;
        read_when_written(&url_file).await;
        assert_eq!(visit(&base, "/runCase?case=1&agent=x").await, 1000);
        assert_eq!(task.await.unwrap(), Ok(1));
        assert!(began.elapsed() < Duration::from_secs(5));
        let written = report(&output);
        assert_eq!((written.summary.pass, written.summary.error), (1, 1));
        let unfinished = written.checks.iter().find(|c| c.id == "t/a/two").unwrap();
        assert!(
            unfinished.message.contains("(--deadline)"),
            "{}",
            unfinished.message
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn without_a_command_reports_are_written_at_each_update_until_stopped() {
        let dir = temp_dir("serve");
        let output = dir.join("report.json");
        let (base, task) = session(args(&[], &output)).await;
        assert_eq!(visit(&base, "/runCase?case=1&agent=x").await, 1000);
        assert_eq!(visit(&base, "/updateReports?agent=x").await, 1000);
        let first = report(&output);
        assert_eq!((first.summary.pass, first.summary.error), (1, 1));
        assert!(!task.is_finished());
        assert_eq!(visit(&base, "/runCase?case=2&agent=x").await, 1000);
        assert_eq!(visit(&base, "/stopServer").await, 1000);
        // Results came after the last update: the end writes them.
        assert_eq!(task.await.unwrap(), Ok(0));
        assert_eq!(report(&output).summary.pass, 2);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_command_that_exits_early_leaves_its_cases_not_run() {
        let dir = temp_dir("early");
        let output = dir.join("report.json");
        let (_, task) = session(args(&["sh", "-c", "echo giving up >&2; exit 3"], &output)).await;
        assert_eq!(task.await.unwrap(), Ok(2));
        // Nothing ran: no report is written (the file made to check it is removed).
        assert!(!output.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn several_agents_make_one_autobahn_index() {
        let dir = temp_dir("autobahn");
        let mut a = args(&[], &dir.join("unused"));
        a.output = None;
        a.outdir = Some(dir.join("reports"));
        a.format = Format::Autobahn;
        let (base, task) = session(a).await;
        for agent in ["a", "b"] {
            visit(&base, &format!("/runCase?case=1&agent={agent}")).await;
        }
        assert_eq!(
            visit(&base, "/updateReports?shutdownOnComplete=true").await,
            1000
        );
        assert_eq!(task.await.unwrap(), Ok(1));
        let index = std::fs::read_to_string(dir.join("reports/index.json")).unwrap();
        let index: serde_json::Value = serde_json::from_str(&index).unwrap();
        let agents: Vec<&String> = index.as_object().unwrap().keys().collect();
        assert_eq!(agents, ["a", "b"]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
