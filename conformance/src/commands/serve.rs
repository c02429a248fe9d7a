//! `pulsecheck serve sse`: the reference server, conformant or with one fault.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;
use pulsecheck::serve::sse::{Fault, SseServerConfig, start};

/// Arguments of `serve sse`.
#[derive(Debug, Args)]
pub(crate) struct ServeSseArgs {
    /// Where to listen (keep it on loopback).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub(crate) addr: SocketAddr,
    /// Commit one violation (see --list-faults).
    #[arg(long, value_name = "NAME")]
    pub(crate) fault: Option<String>,
    /// Milliseconds between events.
    #[arg(long, value_name = "MS", default_value_t = 250)]
    pub(crate) event_interval_ms: u64,
    /// Milliseconds between heartbeat comments (under 15000 unless a fault is set).
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    pub(crate) heartbeat_ms: u64,
    /// Print the faults and what each breaks, then exit.
    #[arg(long)]
    pub(crate) list_faults: bool,
}

/// Runs the server until Ctrl-C; returns the exit code.
pub(crate) fn run(args: &ServeSseArgs) -> u8 {
    if args.list_faults {
        for fault in Fault::ALL {
            println!("{:<24} {}", fault.name(), fault.description());
        }
        return 0;
    }
    let fault = match args.fault.as_deref().map(str::parse::<Fault>).transpose() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("pulsecheck: {e}");
            return 2;
        }
    };
    let config = SseServerConfig {
        addr: args.addr,
        event_interval: Duration::from_millis(args.event_interval_ms),
        heartbeat_interval: Duration::from_millis(args.heartbeat_ms),
        fault,
        ..SseServerConfig::default()
    };
    serve_until_ctrl_c(args.addr, fault.map(|f| f.name().to_owned()), start(config))
}

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
    /// Ping a client that has sent nothing for this many milliseconds.
    #[arg(long, value_name = "MS")]
    pub(crate) ping_interval: Option<u64>,
    /// Close (1001) a client that has sent nothing for this many milliseconds.
    #[arg(long, value_name = "MS")]
    pub(crate) idle_timeout: Option<u64>,
    /// Print the faults and what each breaks, then exit.
    #[arg(long)]
    pub(crate) list_faults: bool,
}

/// Runs the WebSocket echo server until Ctrl-C; returns the exit code.
pub(crate) fn run_ws(args: &ServeWsArgs) -> u8 {
    use pulsecheck::serve::ws::{Fault as WsFault, WsServerConfig, start as start_ws};
    if args.list_faults {
        for fault in WsFault::ALL {
            println!("{:<28} {}", fault.name(), fault.description());
        }
        return 0;
    }
    let fault = match args.fault.as_deref().map(str::parse::<WsFault>).transpose() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("pulsecheck: {e}");
            return 2;
        }
    };
    let config = WsServerConfig {
        addr: args.addr,
        subprotocols: args.subprotocols.clone(),
        ping_interval: args.ping_interval.map(Duration::from_millis),
        idle_timeout: args.idle_timeout.map(Duration::from_millis),
        fault,
        ..WsServerConfig::default()
    };
    serve_until_ctrl_c(
        args.addr,
        fault.map(|f| f.name().to_owned()),
        start_ws(config),
    )
}

/// Starts a server on a fresh runtime, prints its URL, and serves until Ctrl-C.
fn serve_until_ctrl_c<S, F>(addr: SocketAddr, fault: Option<String>, start: F) -> u8
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
        println!(
            "serving {}{} (Ctrl-C to stop)",
            server.url(),
            fault
                .map(|f| format!(" with fault {f}"))
                .unwrap_or_default()
        );
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
