//! `pulsecheck serve sse`: the reference server, conformant or with one fault.

use std::net::SocketAddr;
use std::time::Duration;

use std::fmt::Write as _;

use clap::Args;
use pulsecheck::serve::sse::{Fault, SseServerConfig, start};

use super::args::{describe, parse};
use super::output::{print, print_or_exit};

/// Arguments of `serve sse`.
#[derive(Debug, Args)]
pub(crate) struct ServeSseArgs {
    /// Where to listen (keep it on loopback).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub(crate) addr: SocketAddr,
    /// Commit one violation (see --list-faults).
    #[arg(long, value_name = "NAME")]
    pub(crate) fault: Option<String>,
    /// Time between events: a duration (500ms, 1s, 1.5s) or plain milliseconds;
    /// above 0, at most 24 h.
    #[arg(long, value_name = "MS", default_value = "250", value_parser = parse::millis, allow_hyphen_values = true)]
    pub(crate) event_interval_ms: Duration,
    /// Time between heartbeat comments: a duration or plain milliseconds; above 0,
    /// and under 15 s unless a fault is set.
    #[arg(long, value_name = "MS", default_value = "10000", value_parser = parse::millis, allow_hyphen_values = true)]
    pub(crate) heartbeat_ms: Duration,
    /// Print the faults and what each breaks, then exit.
    #[arg(long)]
    pub(crate) list_faults: bool,
}

/// Runs the server until Ctrl-C; returns the exit code.
pub(crate) fn run(args: &ServeSseArgs) -> u8 {
    if args.list_faults {
        let mut text = String::new();
        for fault in Fault::ALL {
            let _ = writeln!(text, "{:<24} {}", fault.name(), fault.description());
        }
        return print_or_exit(&text, 0);
    }
    let fault = match args.fault.as_deref().map(str::parse::<Fault>).transpose() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("pulsecheck: {e}");
            return 2;
        }
    };
    if fault.is_none() && args.heartbeat_ms >= CLEAN_HEARTBEAT_LIMIT {
        eprintln!(
            "pulsecheck: --heartbeat-ms must be under {} for a clean server (got {}); a slower heartbeat is a fault (--fault slow-heartbeat)",
            describe(CLEAN_HEARTBEAT_LIMIT),
            describe(args.heartbeat_ms)
        );
        return 2;
    }
    let config = SseServerConfig {
        addr: args.addr,
        event_interval: args.event_interval_ms,
        heartbeat_interval: args.heartbeat_ms,
        fault,
        ..SseServerConfig::default()
    };
    serve_until_ctrl_c(
        args.addr,
        fault.map(|f| format!("fault {f}")),
        start(config),
    )
}

/// The heartbeat a clean reference server must keep under (the server refuses a
/// slower one without a fault).
const CLEAN_HEARTBEAT_LIMIT: Duration = Duration::from_secs(15);

/// Arguments of `serve ws`.
#[derive(Debug, Args)]
pub(crate) struct ServeWsArgs {
    /// Where to listen (keep it on loopback).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub(crate) addr: SocketAddr,
    /// Commit one violation (see --list-faults).
    #[arg(long, value_name = "NAME")]
    pub(crate) fault: Option<String>,
    /// Subprotocols the server may select (repeatable).
    #[arg(long = "subprotocol", value_name = "NAME")]
    pub(crate) subprotocols: Vec<String>,
    /// Ping a client that has sent nothing for this long: a duration (500ms, 2s) or
    /// plain milliseconds; above 0, at most 24 h.
    #[arg(long, value_name = "MS", value_parser = parse::millis, allow_hyphen_values = true)]
    pub(crate) ping_interval: Option<Duration>,
    /// Close (1001) a client that has sent nothing for this long: a duration or
    /// plain milliseconds; above 0, at most 24 h.
    #[arg(long, value_name = "MS", value_parser = parse::millis, allow_hyphen_values = true)]
    pub(crate) idle_timeout: Option<Duration>,
    /// Negotiate permessage-deflate (RFC 7692): accept the first valid offer,
    /// inflate compressed messages and compress every echo. Needed by the
    /// compression faults.
    #[arg(long)]
    pub(crate) deflate: bool,
    /// Print the faults and what each breaks, then exit.
    #[arg(long)]
    pub(crate) list_faults: bool,
}

/// Runs the WebSocket echo server until Ctrl-C; returns the exit code.
pub(crate) fn run_ws(args: &ServeWsArgs) -> u8 {
    use pulsecheck::serve::ws::{Fault as WsFault, WsServerConfig, start as start_ws};
    if args.list_faults {
        let mut text = String::new();
        for fault in WsFault::ALL {
            let _ = writeln!(text, "{:<34} {}", fault.name(), fault.description());
        }
        return print_or_exit(&text, 0);
    }
    let fault = match args.fault.as_deref().map(str::parse::<WsFault>).transpose() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("pulsecheck: {e}");
            return 2;
        }
    };
    match fault {
        Some(f) if f.needs_deflate() && !args.deflate => {
            eprintln!("pulsecheck: --fault {f} is a permessage-deflate fault: add --deflate");
            return 2;
        }
        Some(f @ WsFault::EnablesDeflate) if args.deflate => {
            eprintln!("pulsecheck: --fault {f} is a fault of a server without --deflate");
            return 2;
        }
        _ => {}
    }
    let config = WsServerConfig {
        addr: args.addr,
        subprotocols: args.subprotocols.clone(),
        ping_interval: args.ping_interval,
        idle_timeout: args.idle_timeout,
        deflate: args
            .deflate
            .then(pulsecheck_ws::deflate::ServerPolicy::default),
        fault,
        ..WsServerConfig::default()
    };
    let with = match (args.deflate, fault) {
        (false, None) => None,
        (false, Some(f)) => Some(format!("fault {f}")),
        (true, None) => Some("permessage-deflate".to_owned()),
        (true, Some(f)) => Some(format!("permessage-deflate and fault {f}")),
    };
    serve_until_ctrl_c(args.addr, with, start_ws(config))
}

/// Starts a server on a fresh runtime, prints its URL (and `with`: what it
/// serves beyond the clean default, e.g. `fault no-pong`), and serves until
/// Ctrl-C.
fn serve_until_ctrl_c<S, F>(addr: SocketAddr, with: Option<String>, start: F) -> u8
where
    F: std::future::Future<Output = std::io::Result<S>>,
    S: Served,
{
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("pulsecheck: cannot start the runtime: {e}");
            return 2;
        }
    };
    runtime.block_on(async {
        let server = match start.await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("pulsecheck: cannot serve on {addr}: {e}");
                return 2;
            }
        };
        // A closed stdout (the URL was not wanted) does not stop the server.
        let _ = print(&format!(
            "serving {}{} (Ctrl-C to stop)\n",
            server.url(),
            with.map(|w| format!(" with {w}")).unwrap_or_default()
        ));
        let _ = tokio::signal::ctrl_c().await;
        server.stop().await;
        0
    })
}

/// What `serve_until_ctrl_c` needs of a running reference server.
trait Served {
    fn url(&self) -> String;
    async fn stop(self);
}

impl Served for pulsecheck::serve::sse::RunningServer {
    fn url(&self) -> String {
        pulsecheck::serve::sse::RunningServer::url(self)
    }
    async fn stop(self) {
        self.shutdown().await;
    }
}

impl Served for pulsecheck::serve::ws::RunningServer {
    fn url(&self) -> String {
        pulsecheck::serve::ws::RunningServer::url(self)
    }
    async fn stop(self) {
        self.shutdown().await;
    }
}
