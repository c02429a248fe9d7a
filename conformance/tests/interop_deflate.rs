//! Interop tests of permessage-deflate: `pulsecheck probe` with the
//! `ws/deflate/*` checks and Autobahn's compression cases (groups 12 and 13)
//! against real compressing echo servers — websockets (PyPI), which compresses
//! by default, and ws (npm) started with `perMessageDeflate: true`
//! (`server.cjs --deflate`) — compared with reviewed snapshots in
//! `fixtures/interop/` (`deflate-websockets.snap`, `deflate-ws-node.snap`).
//! `conformance/tests/interop/README.md` explains every verdict other than pass.
//!
//! A debug build compresses slowly, so the snapshots hold the small subcases of
//! every compression group (16 B to 1 KiB messages, 48 of the 216 cases);
//! `--ignored` plays all 216 against each server and wants them all OK (use a
//! release build: `cargo test --release --test interop_deflate -- --ignored`).

#[path = "interop/harness.rs"]
#[allow(
    dead_code,
    reason = "this test uses the servers and the rendering, not every helper"
)]
mod harness;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use harness::{Server, ensure, installed, interop_dir, scripts};
use pulsecheck::check::Verdict;
use pulsecheck::http::{Client, ClientConfig};
use pulsecheck::registry::{Check, Pattern, select};
use pulsecheck::report::Report;
use pulsecheck::runner::{RunOptions, run};
use pulsecheck::ws::checks::WsProbe;
use url::Url;

/// The checks of the snapshots: the negotiation checks and the small
/// compression subcases.
const SNAPSHOT: &[&str] = &["ws/deflate/*", "1[23].*.[1-4]"];

fn checks(only: &[&str]) -> Vec<Check<WsProbe>> {
    let only: Vec<Pattern> = only
        .iter()
        .map(|p| Pattern::new(p).expect("a pattern"))
        .collect();
    select(pulsecheck::ws::all_checks(), &only, &[])
        .into_iter()
        .copied()
        .collect()
}

fn websockets_py() -> Server {
    ensure("websockets");
    let dir = interop_dir().join("websockets-venv");
    let python = installed(dir.join("bin/python"), "websockets");
    let mut command = Command::new(python);
    command
        .arg(scripts().join("websockets_py/server.py"))
        .args(["--port", "0"]);
    Server::start("deflate-websockets", command)
}

fn ws_node_deflate() -> Server {
    ensure("ws");
    let modules = installed(interop_dir().join("ws-node/node_modules"), "ws");
    let mut command = Command::new("node");
    command
        .env("NODE_PATH", &modules)
        .arg(scripts().join("ws_node/server.cjs"))
        .args(["0", "--deflate"]);
    Server::start("deflate-ws-node", command)
}

/// Probes `url` with `checks`, as `pulsecheck probe URL -j 16` does, each
/// check given `check_timeout`, the whole run `deadline`.
async fn probe(
    url: &str,
    checks: &[Check<WsProbe>],
    check_timeout: Duration,
    deadline: Duration,
) -> Report {
    let client = Client::new(ClientConfig::default()).expect("a client");
    let target = Url::parse(url).expect("the server printed a URL");
    let probe = Arc::new(WsProbe::new(client, target, Duration::from_secs(5)));
    let started = Instant::now();
    let result = run(
        probe,
        checks,
        RunOptions {
            jobs: 16,
            check_timeout,
            deadline,
            strict: false,
            progress: false,
        },
    )
    .await;
    assert!(!result.interrupted, "the run against {url} did not finish");
    let elapsed = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Report::new(url, false, result.results, elapsed)
}

/// Probes a started server with the snapshot's checks, checks that the
/// README's table under `## {heading} …` explains every non-pass, and compares
/// the rendering with the snapshot.
fn interop(server: Server, heading: &str) {
    let checks = checks(SNAPSHOT);
    let report = harness::runtime().block_on(probe(
        &server.url,
        &checks,
        Duration::from_secs(120),
        Duration::from_secs(480),
    ));
    assert_eq!(report.checks.len(), checks.len(), "every check ran");
    let port = format!(":{}", server.port());
    let text = harness::render(&server, &report, |line| line.replace(&port, ":<port>"));
    harness::assert_explained(heading, &server, &report, &text);
    insta::with_settings!({
        snapshot_path => "../../fixtures/interop",
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => format!(
            "pulsecheck probe -j 16 --only 'ws/deflate/*' --only '1[23].*.[1-4]' against the {} \
             echo server of conformance/tests/interop/, compressing; every verdict but pass is \
             explained in its README.md",
            server.name
        ),
    }, {
        insta::assert_snapshot!(server.name, text);
    });
    drop(server);
}

#[test]
fn websockets_compressing() {
    interop(websockets_py(), "permessage-deflate: websockets");
}

#[test]
fn ws_on_node_compressing() {
    interop(ws_node_deflate(), "permessage-deflate: ws");
}

/// All 216 compression cases against `server` with `pulsecheck probe`'s
/// default timeouts (60 s without progress per check, 300 s in all): every one
/// OK, and how long.
fn all_cases(server: Server) {
    let checks = checks(&["12.*", "13.*"]);
    assert_eq!(checks.len(), 216);
    let started = Instant::now();
    let report = harness::runtime().block_on(probe(
        &server.url,
        &checks,
        Duration::from_secs(60),
        Duration::from_secs(300),
    ));
    eprintln!(
        "216 compression cases against {} in {:.1} s",
        server.name,
        started.elapsed().as_secs_f64()
    );
    let departures: Vec<String> = report
        .checks
        .iter()
        .filter(|c| c.verdict != Verdict::Pass)
        .map(|c| format!("{} {:?}: {} — {}", c.id, c.aliases, c.verdict, c.message))
        .collect();
    assert!(departures.is_empty(), "{departures:#?}");
    drop(server);
}

#[test]
#[ignore = "216 cases, 10.9 GB each way: run with --release"]
fn all_216_cases_against_websockets() {
    all_cases(websockets_py());
}

#[test]
#[ignore = "216 cases, 10.9 GB each way: run with --release"]
fn all_216_cases_against_ws_on_node() {
    all_cases(ws_node_deflate());
}
