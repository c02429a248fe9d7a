//! `pulsecheck host sse -- CMD ARGS…`: the SSE client suite.
//!
//! For each case the host starts CMD with `PULSECHECK_URL` set to the case's
//! own URL, in a process group of its own; the client connects and reconnects
//! as its library does; the case is judged from its requests (and, for the
//! parser cases, from the events it prints: the driver contract is in
//! `pulsecheck::host::sse::driver`); the group is killed when the case is
//! decided. `--jobs` cases run at once.
//!
//! With `--page` the client is a browser: the page at `/` plays each case with
//! the browser's `EventSource` (`pulsecheck::host::sse::page`); CMD, if given,
//! is started once with `PULSECHECK_PAGE_URL` and ended after the run.
//!
//! With `--service URL` the client is driven through its sse-contract-tests
//! test service (`pulsecheck::host::sse::service`), LaunchDarkly's protocol.
//!
//! Exit codes: 0 every required check passed, 1 failures (or interrupted),
//! 2 usage, or no case could be run (the command cannot start, or it never
//! connected).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use pulsecheck::check::Verdict;
use pulsecheck::host::sse::cases;
use pulsecheck::host::sse::driver::{Launch, Launched, MAX_LINE_BYTES};
use pulsecheck::host::sse::page::{PAGE_JOBS, PageBoard};
use pulsecheck::host::sse::play::SseHost;
use pulsecheck::host::sse::server::SseHostServer;
use pulsecheck::host::sse::service::{self, ServiceLauncher};
use pulsecheck::registry::choose;
use pulsecheck::report::Report;
use pulsecheck::runner::{Deadline, RunOptions, run_until};
use pulsecheck_ws::Role;

use super::args::parse;
use super::child::{ClientProcess, describe_exit};
use super::output::{Destination, Format, write_report};

/// Arguments of `host sse`.
#[derive(Debug, Args)]
pub(crate) struct HostSseArgs {
    /// Where to listen; a port of 0 picks a free one.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub(crate) addr: SocketAddr,
    /// Run only cases whose ID matches (glob; repeatable).
    #[arg(long, value_name = "GLOB")]
    pub(crate) only: Vec<String>,
    /// Leave out cases whose ID matches (glob; repeatable).
    #[arg(long, value_name = "GLOB")]
    pub(crate) skip: Vec<String>,
    /// Cases run at once (each starts its own CMD).
    #[arg(long, value_name = "N", default_value = "8", value_parser = parse::jobs)]
    pub(crate) jobs: usize,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub(crate) format: Format,
    /// Write the report to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Compare with a saved JSON report of this client: exit 1 on any
    /// regression (not on known failures).
    #[arg(long, value_name = "FILE")]
    pub(crate) baseline: Option<PathBuf>,
    /// Compare with --baseline even when it is a report of another client or
    /// suite.
    #[arg(long, requires = "baseline")]
    pub(crate) baseline_any_target: bool,
    /// How long the whole run may take (default 5 min). A duration: 90s, 10m.
    #[arg(long, value_name = "DURATION", value_parser = parse::seconds, default_value = "300")]
    pub(crate) deadline: Duration,
    /// How long one case may take (default 30 s).
    #[arg(long, value_name = "DURATION", value_parser = parse::seconds, default_value = "30")]
    pub(crate) check_timeout: Duration,
    /// SHOULD-level failures fail the run.
    #[arg(long)]
    pub(crate) strict: bool,
    /// Play the cases in a browser: the page at / runs each case with the
    /// browser's own EventSource and reports what it dispatched. CMD, if
    /// given, is the browser, started once with PULSECHECK_PAGE_URL set to
    /// the page; without CMD, open the printed URL yourself. At most 4 cases
    /// at once (a browser's connections per host).
    #[arg(long, conflicts_with = "service")]
    pub(crate) page: bool,
    /// Drive the client through an sse-contract-tests test service at URL
    /// (LaunchDarkly's protocol: GET / capabilities, POST / a stream per case,
    /// callbacks to the host, DELETE when the case is over). Cases needing a
    /// capability the service does not declare are skipped.
    #[arg(long, value_name = "URL", conflicts_with = "command")]
    pub(crate) service: Option<url::Url>,
    /// The client under test: a driver, started once per case with
    /// PULSECHECK_URL set to the case's URL; with --page, the browser.
    #[arg(last = true, value_name = "CMD")]
    pub(crate) command: Vec<String>,
}

/// How long a browser started by `--page -- CMD` may take to open the page.
const PAGE_OPEN_LIMIT: Duration = Duration::from_secs(60);

/// Starts CMD as a [`ClientProcess`] per case.
struct CommandLauncher {
    argv: Vec<String>,
}

/// Kills the command's group when the case drops it.
struct KillOnDrop(Arc<Mutex<ClientProcess>>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .kill_group();
    }
}

impl Launch for CommandLauncher {
    fn launch(&self, url: &str) -> Result<Launched, String> {
        let (sender, lines) = tokio::sync::mpsc::channel(64);
        let process = ClientProcess::spawn_with_lines(
            &self.argv,
            &[("PULSECHECK_URL", url.to_owned())],
            Some((sender, MAX_LINE_BYTES)),
        )?;
        let process = Arc::new(Mutex::new(process));
        let waited = Arc::clone(&process);
        let tail = Arc::clone(&process);
        // The exit, polled: the process sits behind a lock shared with the guard.
        let exit = Box::pin(async move {
            loop {
                let status = {
                    let mut p = waited.lock().unwrap_or_else(|e| e.into_inner());
                    let wait = p.wait();
                    futures::FutureExt::now_or_never(wait)
                };
                match status {
                    Some(Ok(status)) => return describe_exit(&status),
                    Some(Err(e)) => return e,
                    None => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            }
        });
        Ok(Launched {
            lines,
            exit,
            output_tail: Box::new(move || {
                tail.lock().unwrap_or_else(|e| e.into_inner()).output_tail()
            }),
            guard: Box::new(KillOnDrop(process)),
            ready: None,
        })
    }
}

/// Serves the page: starts the browser (CMD) with its URL, or asks for one,
/// and waits until the page asks for work.
async fn open_page(
    args: &HostSseArgs,
    server: &SseHostServer,
    board: &PageBoard,
) -> Result<Option<ClientProcess>, String> {
    let page_url = format!("http://{}/", server.addr());
    if args.command.is_empty() {
        eprintln!("pulsecheck: open {page_url} in the browser under test");
        if board.wait_for_page(args.deadline).await {
            return Ok(None);
        }
        return Err(format!("no browser opened {page_url} before --deadline"));
    }
    let browser = ClientProcess::spawn(
        &args.command,
        &[
            ("PULSECHECK_PAGE_URL", page_url.clone()),
            ("PULSECHECK_URL", page_url.clone()),
        ],
    )?;
    eprintln!("pulsecheck: started the browser on {page_url}");
    if board.wait_for_page(PAGE_OPEN_LIMIT).await {
        return Ok(Some(browser));
    }
    let tail = browser.output_tail();
    browser.kill_group();
    Err(format!(
        "the browser did not open {page_url} within {} s; its output ended with:\n{}",
        PAGE_OPEN_LIMIT.as_secs(),
        tail.trim_end()
    ))
}

/// Runs `host sse`; returns the exit code.
pub(crate) fn run_host_sse(args: &HostSseArgs) -> u8 {
    match host_sse(args) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("pulsecheck: {message}");
            2
        }
    }
}

fn host_sse(args: &HostSseArgs) -> Result<u8, String> {
    let selected = choose(cases::checks(), &args.only, &args.skip, "sse-client")?;
    if selected.is_empty() {
        return Err("no case selected (--only/--skip)".to_owned());
    }
    if args.command.is_empty() && !args.page && args.service.is_none() {
        return Err(
            "give the client under test after `--` (a driver command), --page for a browser, or --service URL"
                .to_owned(),
        );
    }
    let baseline = super::baseline::read(
        args.baseline.as_deref(),
        &client_name(args),
        &["sse-client"],
        args.baseline_any_target,
    )?;
    let mut sink = Destination::open(args.format, args.output.as_deref(), None)?;
    let runtime =
        tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the runtime: {e}"))?;
    let began = Instant::now();
    let result = runtime.block_on(async {
        let server = SseHostServer::start(args.addr)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.addr))?;
        let jobs = if args.page {
            args.jobs.min(PAGE_JOBS)
        } else {
            args.jobs
        };
        eprintln!(
            "pulsecheck: hosting the SSE client suite at http://{} ({} cases, {jobs} at a time)",
            server.addr(),
            selected.len(),
        );
        let mut browser = None;
        let launcher: Arc<dyn Launch> = if args.page {
            let board = server.board().clone();
            browser = open_page(args, &server, &board).await?;
            Arc::new(board)
        } else if let Some(service) = &args.service {
            let status = service::status(service).await?;
            eprintln!(
                "pulsecheck: test service {service}{} with capabilities [{}]",
                if status.name.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", status.name)
                },
                status.capabilities.join(", ")
            );
            let host_base = format!("http://{}", server.addr());
            Arc::new(ServiceLauncher::new(
                service.clone(),
                status,
                &host_base,
                Arc::clone(server.board().inbox()),
            ))
        } else {
            Arc::new(CommandLauncher {
                argv: args.command.clone(),
            })
        };
        let host = Arc::new(SseHost { server, launcher });
        let options = RunOptions {
            jobs,
            check_timeout: args.check_timeout,
            deadline: args.deadline,
            strict: args.strict,
            progress: true,
        };
        let run = run_until(
            Arc::clone(&host),
            &selected,
            options,
            Deadline::after(args.deadline),
        )
        .await;
        if let Some(browser) = browser {
            // The page shows that the run is over, then the browser is ended.
            host.server.board().finish();
            tokio::time::sleep(Duration::from_millis(300)).await;
            browser.kill_group();
        }
        Ok::<_, String>(run)
    });
    runtime.shutdown_background();
    let run = result?;
    if run.results.iter().all(|r| r.verdict == Verdict::Error) {
        let first = run
            .results
            .first()
            .map(|r| r.message.clone())
            .unwrap_or_default();
        eprintln!("pulsecheck: no case could be run: {first}");
        return Ok(2);
    }
    let elapsed = u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX);
    let target = client_name(args);
    let report = Report::new(&target, args.strict, run.results, elapsed);
    write_report(&report, args.format, &target, Role::Server, &mut sink)?;
    Ok(super::baseline::exit_code(
        baseline.as_ref(),
        &report,
        run.interrupted,
    ))
}

/// What the report calls the client under test.
fn client_name(args: &HostSseArgs) -> String {
    match &args.service {
        Some(service) => format!("test service {service}"),
        None if args.command.is_empty() => "the browser on the page".to_owned(),
        None => super::child::shell_line(&args.command),
    }
}
