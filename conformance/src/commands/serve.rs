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
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("pulsecheck: cannot start the runtime: {e}");
            return 2;
        }
    };
    runtime.block_on(async {
        let server = match start(config).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("pulsecheck: cannot serve on {}: {e}", args.addr);
                return 2;
            }
        };
        println!(
            "serving {}{} (Ctrl-C to stop)",
            server.url(),
            fault
                .map(|f| format!(" with fault {}", f.name()))
                .unwrap_or_default()
        );
        let _ = tokio::signal::ctrl_c().await;
        server.shutdown().await;
        0
    })
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
        fault,
        ..WsServerConfig::default()
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("pulsecheck: cannot start the runtime: {e}");
            return 2;
        }
    };
    runtime.block_on(async {
        let server = match start_ws(config).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("pulsecheck: cannot serve on {}: {e}", args.addr);
                return 2;
            }
        };
        println!(
            "serving {}{} (Ctrl-C to stop)",
            server.url(),
            fault
                .map(|f| format!(" with fault {}", f.name()))
                .unwrap_or_default()
        );
        let _ = tokio::signal::ctrl_c().await;
        server.shutdown().await;
        0
    })
}
