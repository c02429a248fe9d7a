//! The host's server: one port (plain TCP, or TLS with [`tls_config`]) where
//! clients under test speak Autobahn|Testsuite's fuzzingserver protocol
//! ([`fuzzingserver`]) and browsers load the test page
//! ([`page`]).
//!
//! ```no_run
//! use pulsecheck::host::ws::{catalogue, server};
//!
//! # async fn demo() -> std::io::Result<()> {
//! let mut host = server::start(server::HostConfig::new(catalogue::checks().to_vec())).await?;
//! println!("clients connect to {}/getCaseCount", host.url());
//! while let Some(event) = host.next_event().await {
//!     match event {
//!         server::HostEvent::UpdateReports(request) => {
//!             // Write request.reports somewhere, then tell the client.
//!             request.reply(Ok("reports written".to_owned()));
//!         }
//!         server::HostEvent::StopRequested(_) => break,
//!     }
//! }
//! host.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! # What it does with a connection
//!
//! It reads the request head (at most 16 KiB, within [`HEAD_TIMEOUT`], TLS
//! handshake included), then:
//!
//! * a request that is not a WebSocket upgrade gets the page (`GET /`) or a plain
//!   404 / 405;
//! * `/runCase` hands the connection, its request still unanswered, to the case's
//!   check ([`ClientSession`]), which answers the handshake and plays the case
//!   under the check timeout; the result is filed under the agent. The
//!   connection's `Sec-WebSocket-Key` is remembered in the agent's
//!   [`AgentHistory`](super::session::AgentHistory) once the case has been
//!   played, so a check sees the keys of the agent's earlier connections;
//! * the other paths are answered by the host: a correct 101, the message, a
//!   Close 1000 ([`control`]). `/getCaseStatus` waits (at most the
//!   check timeout and 5 s) while the case is being played. `/updateReports`
//!   hands the reports to the host's owner ([`HostEvent::UpdateReports`]) and
//!   closes with the owner's answer as the reason (1000, or 1011 when they could
//!   not be written). `/stopServer`, and `/updateReports` with
//!   `shutdownOnComplete=true`, are answered first and then reported as
//!   [`HostEvent::StopRequested`]: the owner ends the host;
//! * a request the host cannot serve (an unknown path or case, a missing or empty
//!   agent, a bad number) gets a correct 101 and a Close 1008 whose reason says
//!   what was wrong; one that is not a valid WebSocket handshake gets 400 (426 for
//!   another version than 13).
//!
//! # Bounds
//!
//! At most [`MAX_CONNECTIONS`] TCP connections are open at once (more are closed
//! as soon as they are accepted), at most [`MAX_CONTROL`] control exchanges run
//! at once (more get a Close 1013, try again later), every wait is bounded, and
//! the results kept are bounded by [`MAX_AGENTS`](super::agents::MAX_AGENTS)
//! agents of one bounded result per case.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, oneshot, watch};

use crate::http::RawIo;
use crate::registry::Check;
use crate::report::Report;
use crate::runner::run_one;
use crate::serve::listener::BoundedListener;
use crate::serve::{TaskToken, client_address, stop_and_wait, stopped};

use super::agents::{Agents, CaseStatus, NEVER_RAN};
use super::control::{self, Control, plain_answer};
use super::fuzzingserver::{self, CaseRef, FuzzingRequest, REFUSED, case_id};
use super::head::{HeadRead, read_head, wants_websocket};
use super::page;
use super::session::{ClientSession, RequestHead, Upgrade};

/// How long a client may take to send its request head, the TLS handshake
/// included.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// The most TCP connections open at once; more are closed as soon as accepted.
pub const MAX_CONNECTIONS: usize = 512;

/// The most control exchanges at once; more get a Close 1013 (try again later).
pub const MAX_CONTROL: usize = 64;

/// How long `/updateReports` waits for the owner to take the reports, and again
/// for its answer.
pub const REPORTS_WAIT: Duration = Duration::from_secs(30);

/// What `/getCaseStatus` waits beyond the check timeout for a case being played.
const STATUS_MARGIN: Duration = Duration::from_secs(5);

/// Close code 1000: normal closure.
const NORMAL: u16 = 1000;
/// Close code 1011: the host could not do what was asked.
const INTERNAL: u16 = 1011;
/// Close code 1013: try again later.
const TRY_AGAIN_LATER: u16 = 1013;

/// What the host serves and how.
#[derive(Clone)]
pub struct HostConfig {
    /// Where to listen. Default `127.0.0.1:0` (any free port).
    pub addr: SocketAddr,
    /// The selected cases, in the order `/runCase?case=N` numbers them.
    pub checks: Vec<Check<ClientSession>>,
    /// How long one case may take. Default [`HostConfig::DEFAULT_CHECK_TIMEOUT`].
    pub check_timeout: Duration,
    /// Whether SHOULD failures are failures.
    pub strict: bool,
    /// Serve TLS (`wss://`, and the page over `https://`) with this
    /// configuration ([`tls_config`]).
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

impl fmt::Debug for HostConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostConfig")
            .field("addr", &self.addr)
            .field("checks", &self.checks.len())
            .field("check_timeout", &self.check_timeout)
            .field("strict", &self.strict)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl HostConfig {
    /// The default time one case may take.
    pub const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_secs(60);

    /// Hosting `checks` on a free loopback port, without TLS.
    pub fn new(checks: Vec<Check<ClientSession>>) -> Self {
        HostConfig {
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            checks,
            check_timeout: Self::DEFAULT_CHECK_TIMEOUT,
            strict: false,
            tls: None,
        }
    }
}

/// Loads a TLS identity: the certificate chain (PEM, leaf first) and its
/// private key (PEM: PKCS#8, PKCS#1 or SEC1).
///
/// # Errors
///
/// A sentence naming the file and what is wrong with it.
pub fn tls_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, String> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("cannot read the certificate {}: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!(
            "the certificate file {} holds no PEM CERTIFICATE block",
            cert.display()
        ));
    }
    let private = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("cannot read the private key {}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| {
            format!(
                "{} and {} do not make a TLS identity: {e}",
                cert.display(),
                key.display()
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// What the host asks of its owner.
#[derive(Debug)]
pub enum HostEvent {
    /// A client asked for the reports (`/updateReports`): write them and
    /// [`reply`](ReportsRequest::reply).
    UpdateReports(ReportsRequest),
    /// A client asked the host to end, and has had its answer.
    StopRequested(StopReason),
}

/// Why a client asked the host to end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// `/stopServer`.
    StopServer,
    /// `/updateReports?…&shutdownOnComplete=true`.
    ShutdownOnComplete {
        /// The agent named in the request, if any.
        agent: Option<String>,
    },
}

/// `/updateReports`: the reports to write, and where the answer goes.
#[derive(Debug)]
pub struct ReportsRequest {
    /// The agent named in the request; every agent's reports when `None`.
    pub agent: Option<String>,
    /// Whether the client asked the host to end once the reports are written
    /// (a [`HostEvent::StopRequested`] follows the answer).
    pub shutdown_on_complete: bool,
    /// Whether the agent (every agent with results, when none is named) has a
    /// result for every selected case.
    pub complete: bool,
    /// The report of the named agent, or of every agent with results (in name
    /// order); cases without a result are errors saying they were not run.
    pub reports: Vec<Report>,
    reply: oneshot::Sender<Result<String, String>>,
}

impl ReportsRequest {
    /// Answers the client: `Ok` with a short note (the reason of a Close 1000),
    /// or `Err` saying why the reports could not be written (a Close 1011).
    pub fn reply(self, outcome: Result<String, String>) {
        let _ = self.reply.send(outcome);
    }
}

/// What the host's tasks share.
struct Shared {
    checks: Vec<Check<ClientSession>>,
    check_timeout: Duration,
    strict: bool,
    tls: Option<tokio_rustls::TlsAcceptor>,
    agents: Arc<Agents>,
    control: Arc<Semaphore>,
    events: mpsc::Sender<HostEvent>,
    stop: watch::Sender<bool>,
}

/// A host started by [`start`]. Dropping it stops the host too, without
/// waiting.
pub struct RunningHost {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    events: mpsc::Receiver<HostEvent>,
    done: mpsc::Receiver<()>,
}

impl fmt::Debug for RunningHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunningHost")
            .field("local_addr", &self.local_addr)
            .field("cases", &self.shared.checks.len())
            .finish_non_exhaustive()
    }
}

impl RunningHost {
    /// The address the host listens on (with the port chosen when it was 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The base URL clients connect to, without a path: `ws://127.0.0.1:9001`
    /// (`wss://` with TLS). An unspecified listening address is given as
    /// loopback.
    pub fn url(&self) -> String {
        let scheme = if self.shared.tls.is_some() {
            "wss"
        } else {
            "ws"
        };
        format!("{scheme}://{}", client_address(self.local_addr))
    }

    /// The URL of the page that tests a browser: `http://127.0.0.1:9001/`
    /// (`https://` with TLS).
    pub fn page_url(&self) -> String {
        let scheme = if self.shared.tls.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}/", client_address(self.local_addr))
    }

    /// The selected cases, in `/runCase?case=N` order.
    pub fn checks(&self) -> &[Check<ClientSession>] {
        &self.shared.checks
    }

    /// The next thing the host asks of its owner; `None` once the host has
    /// stopped.
    pub async fn next_event(&mut self) -> Option<HostEvent> {
        self.events.recv().await
    }

    /// The agents with results (or a case being played), in name order.
    pub fn agents(&self) -> Vec<String> {
        self.shared.agents.names()
    }

    /// How many selected cases of `agent` have a result.
    pub fn results_kept(&self, agent: &str) -> usize {
        self.shared.agents.results_kept(agent)
    }

    /// How many results have been filed so far, over all agents; it grows with
    /// every case played, so a change says the reports changed.
    pub fn results_filed(&self) -> u64 {
        self.shared.agents.stored()
    }

    /// Whether `agent` (every agent with results, when `None`) has a result for
    /// every selected case.
    pub fn complete(&self, agent: Option<&str>) -> bool {
        self.shared.agents.complete(agent)
    }

    /// The report of `agent`; a case it has no result for is an error saying
    /// `missing` (for example [`NEVER_RAN`], or that the deadline passed).
    pub fn report(&self, agent: &str, missing: &str) -> Report {
        self.shared
            .agents
            .report(agent, &self.shared.checks, self.shared.strict, missing)
    }

    /// Stops accepting, ends every connection (a case being played is stopped
    /// and keeps no result), and waits up to 5 s for the host's tasks to end.
    pub async fn shutdown(mut self) {
        stop_and_wait(&self.shared.stop, &mut self.done).await;
    }
}

impl Drop for RunningHost {
    fn drop(&mut self) {
        self.shared.stop.send_replace(true);
    }
}

/// Starts the host on the current tokio runtime.
///
/// # Errors
///
/// The address cannot be bound.
pub async fn start(config: HostConfig) -> io::Result<RunningHost> {
    let listener = TcpListener::bind(config.addr).await?;
    let local_addr = listener.local_addr()?;
    let (events_in, events) = mpsc::channel(16);
    let (stop, _) = watch::channel(false);
    let shared = Arc::new(Shared {
        agents: Arc::new(Agents::new(config.checks.len())),
        checks: config.checks,
        check_timeout: config.check_timeout,
        strict: config.strict,
        tls: config.tls.map(tokio_rustls::TlsAcceptor::from),
        control: Arc::new(Semaphore::new(MAX_CONTROL)),
        events: events_in,
        stop,
    });
    let (token, done) = TaskToken::new();
    let listener = BoundedListener::new(listener, MAX_CONNECTIONS);
    tokio::spawn(accept(listener, Arc::clone(&shared), token));
    Ok(RunningHost {
        local_addr,
        shared,
        events,
        done,
    })
}

/// Accepts connections and serves each on its own task, until the host stops.
async fn accept(listener: BoundedListener, shared: Arc<Shared>, token: TaskToken) {
    let mut stop = shared.stop.subscribe();
    loop {
        let (tcp, counted) = tokio::select! {
            admitted = listener.accept() => admitted,
            () = stopped(&mut stop) => return,
        };
        let shared = Arc::clone(&shared);
        let token = token.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            serve(tcp, shared, stop).await;
            drop(counted);
            drop(token);
        });
    }
}

/// Serves one TCP connection: TLS and the request head, then the route.
async fn serve(tcp: TcpStream, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    // Frames of a case are small and must leave at once.
    let _ = tcp.set_nodelay(true);
    let opened = async {
        let mut io: Box<dyn RawIo> = match &shared.tls {
            Some(acceptor) => Box::new(acceptor.accept(tcp).await.ok()?),
            None => Box::new(tcp),
        };
        let read = read_head(&mut io).await;
        Some((io, read))
    };
    let (mut io, read) = tokio::select! {
        opened = tokio::time::timeout(HEAD_TIMEOUT, opened) => match opened {
            Ok(Some(opened)) => opened,
            _ => return,
        },
        () = stopped(&mut stop) => return,
    };
    let answer = match read {
        HeadRead::Gone => return,
        HeadRead::TooLarge => plain_answer(
            431,
            "Request Header Fields Too Large",
            &format!(
                "the request head is over {} KiB or {} fields\n",
                super::head::MAX_HEAD / 1024,
                super::head::MAX_HEADERS
            ),
        ),
        HeadRead::Malformed(reason) => plain_answer(400, "Bad Request", &format!("{reason}\n")),
        HeadRead::Complete { head, leftover, at } => {
            tokio::select! {
                () = route(io, head, leftover, at, &shared) => {}
                () = stopped(&mut stop) => {}
            }
            return;
        }
    };
    if control::write(&mut io, &answer).await {
        control::finish_http(io).await;
    }
}

/// Sends a request where it belongs: the page, a case, a control exchange, or a
/// refusal.
async fn route(
    mut io: Box<dyn RawIo>,
    head: RequestHead,
    leftover: Vec<u8>,
    at: Instant,
    shared: &Arc<Shared>,
) {
    if !wants_websocket(&head) {
        if control::write(&mut io, &page::answer(&head)).await {
            control::finish_http(io).await;
        }
        return;
    }
    let request = match fuzzingserver::parse(&head.target) {
        Ok(request) => request,
        Err(e) => return refuse(io, &head, leftover, REFUSED, &e.to_string()).await,
    };
    match request {
        FuzzingRequest::RunCase { case, agent } => match case.resolve(&shared.checks) {
            Ok(index) => play(io, head, leftover, at, index, agent, shared).await,
            Err(e) => refuse(io, &head, leftover, REFUSED, &e.to_string()).await,
        },
        other => {
            let Ok(_permit) = Arc::clone(&shared.control).try_acquire_owned() else {
                let reason = format!(
                    "too many control connections at once (at most {MAX_CONTROL}); try again"
                );
                return refuse(io, &head, leftover, TRY_AGAIN_LATER, &reason).await;
            };
            remember_key(shared, &other, &head);
            if let Some(control) = control::accept(io, &head, leftover).await {
                exchange(control, other, shared).await;
            }
        }
    }
}

/// Answers a request with a correct 101 and a Close with `code` and `reason`.
async fn refuse(
    io: Box<dyn RawIo>,
    head: &RequestHead,
    leftover: Vec<u8>,
    code: u16,
    reason: &str,
) {
    if let Some(control) = control::accept(io, head, leftover).await {
        control.close(code, reason).await;
    }
}

/// A control request naming a known agent adds its key to the agent's history.
fn remember_key(shared: &Shared, request: &FuzzingRequest, head: &RequestHead) {
    let agent = match request {
        FuzzingRequest::GetCaseStatus { agent, .. } => Some(agent.as_str()),
        FuzzingRequest::UpdateReports { agent, .. } => agent.as_deref(),
        _ => None,
    };
    if let (Some(agent), Some(key)) = (agent, head.header("sec-websocket-key"))
        && let Some(history) = shared.agents.history(agent)
    {
        history.remember_key(key);
    }
}

/// Plays case `index` for `agent` on the connection, and files the result.
async fn play(
    io: Box<dyn RawIo>,
    head: RequestHead,
    leftover: Vec<u8>,
    at: Instant,
    index: usize,
    agent: String,
    shared: &Arc<Shared>,
) {
    let Some(check) = shared.checks.get(index).copied() else {
        return;
    };
    let playing = match shared.agents.begin(&agent, index) {
        Ok(playing) => playing,
        Err(e) => return refuse(io, &head, leftover, REFUSED, &e.to_string()).await,
    };
    let key = head.header("sec-websocket-key").map(str::to_owned);
    let history = playing.history();
    let upgrade = Upgrade {
        io,
        request: head,
        leftover,
        received_at: at,
    };
    let session = Arc::new(ClientSession::new(agent, Arc::clone(&history), upgrade));
    let result = run_one(session, check, shared.check_timeout, shared.strict).await;
    if let Some(key) = key {
        history.remember_key(&key);
    }
    playing.finish(result);
}

/// Answers a control request on an upgraded connection.
async fn exchange(mut control: Control, request: FuzzingRequest, shared: &Arc<Shared>) {
    match request {
        FuzzingRequest::GetCaseCount => {
            if control.send_text(&shared.checks.len().to_string()).await {
                control.close(NORMAL, "").await;
            }
        }
        FuzzingRequest::GetCaseInfo { case } => match case.resolve(&shared.checks) {
            Err(e) => control.close(REFUSED, &e.to_string()).await,
            Ok(index) => {
                let info = shared.checks.get(index).map(|c| c.info);
                let text = info.map_or_else(String::new, |info| {
                    serde_json::json!({
                        "id": case_id(&info),
                        "description": info.title,
                        "check": info.id,
                        "requirement": info.requirement,
                    })
                    .to_string()
                });
                if control.send_text(&text).await {
                    control.close(NORMAL, "").await;
                }
            }
        },
        FuzzingRequest::GetCaseStatus { case, agent } => match case.resolve(&shared.checks) {
            Err(e) => control.close(REFUSED, &e.to_string()).await,
            Ok(index) => case_status(control, shared, &case, index, &agent).await,
        },
        FuzzingRequest::UpdateReports {
            agent,
            shutdown_on_complete,
        } => {
            match reports(shared, agent.clone(), shutdown_on_complete).await {
                Ok(note) => control.close(NORMAL, &note).await,
                Err(why) => control.close(INTERNAL, &why).await,
            }
            if shutdown_on_complete {
                let reason = StopReason::ShutdownOnComplete { agent };
                tell(shared, HostEvent::StopRequested(reason)).await;
            }
        }
        FuzzingRequest::StopServer => {
            control.close(NORMAL, "the host stops").await;
            tell(shared, HostEvent::StopRequested(StopReason::StopServer)).await;
        }
        FuzzingRequest::RunCase { .. } => {
            control
                .close(INTERNAL, "a case is not a control request")
                .await;
        }
    }
}

/// `/getCaseStatus`: waits while the case is being played (at most the check
/// timeout and [`STATUS_MARGIN`]), then answers with its grade.
async fn case_status(
    mut control: Control,
    shared: &Shared,
    case: &CaseRef,
    index: usize,
    agent: &str,
) {
    let mut changes = shared.agents.changes();
    changes.borrow_and_update();
    let waited = shared.check_timeout + STATUS_MARGIN;
    let until = tokio::time::Instant::now() + waited;
    let status = loop {
        let status = shared.agents.status(agent, index);
        if status != CaseStatus::Running {
            break status;
        }
        match tokio::time::timeout_at(until, changes.changed()).await {
            Ok(Ok(())) => {}
            _ => break status,
        }
    };
    let name = shared.checks.get(index).map_or("", |c| case_id(&c.info));
    match status {
        CaseStatus::Done(behavior) => {
            let text = serde_json::json!({ "behavior": behavior }).to_string();
            if control.send_text(&text).await {
                control.close(NORMAL, "").await;
            }
        }
        CaseStatus::NotRun => {
            let reason = format!("{case} ({name}) has no result for agent {agent:?}: not run");
            control.close(REFUSED, &reason).await;
        }
        CaseStatus::Running => {
            let reason = format!(
                "{case} ({name}) is still being played after {} s",
                waited.as_secs()
            );
            control.close(TRY_AGAIN_LATER, &reason).await;
        }
    }
}

/// `/updateReports`: hands the reports to the owner and waits for its answer.
async fn reports(
    shared: &Shared,
    agent: Option<String>,
    shutdown_on_complete: bool,
) -> Result<String, String> {
    let names = match &agent {
        Some(name) => vec![name.clone()],
        None => shared.agents.names(),
    };
    let reports = names
        .iter()
        .map(|name| {
            shared
                .agents
                .report(name, &shared.checks, shared.strict, NEVER_RAN)
        })
        .collect();
    let (reply, answer) = oneshot::channel();
    let request = ReportsRequest {
        complete: shared.agents.complete(agent.as_deref()),
        agent,
        shutdown_on_complete,
        reports,
        reply,
    };
    let sent = tokio::time::timeout(
        REPORTS_WAIT,
        shared.events.send(HostEvent::UpdateReports(request)),
    )
    .await;
    if !matches!(sent, Ok(Ok(()))) {
        return Err("the reports were not written: the host's owner does not take them".into());
    }
    match tokio::time::timeout(REPORTS_WAIT, answer).await {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(_)) => Err("the reports were not written".into()),
        Err(_) => Err(format!(
            "the reports were not written within {} s",
            REPORTS_WAIT.as_secs()
        )),
    }
}

/// Tells the owner something that needs no answer (bounded: an owner that
/// reads no events does not hold the connection).
async fn tell(shared: &Shared, event: HostEvent) {
    let _ = tokio::time::timeout(REPORTS_WAIT, shared.events.send(event)).await;
}
