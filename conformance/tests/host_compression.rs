//! Autobahn's compression cases (groups 12 and 13) played as the server against
//! real compressing clients, the way `wstest -m fuzzingserver` plays them: the
//! Python websockets client and the Node ws client from the registries, each
//! written as its Autobahn client script is (`conformance/tests/interop/*/client.*`),
//! each offering `permessage-deflate; client_max_window_bits` by default.
//!
//! A debug build compresses slowly, so the tests play the small subcases (16 B
//! to 1 KiB messages: 48 of the 216); `--ignored` plays all 216 (use a release
//! build: `cargo test --release --test host_compression -- --ignored`).

#[path = "interop/harness.rs"]
#[allow(
    dead_code,
    reason = "this test uses the install helpers, not the servers or the rendering"
)]
mod harness;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use harness::{ensure, installed, interop_dir, scripts};
use pulsecheck::host::ws::autobahn::compression_checks;
use pulsecheck::host::ws::session::ClientSession;
use pulsecheck::registry::{Check, Pattern, select};

/// One case's grades and message.
#[derive(Debug, Clone)]
struct Graded {
    behavior: String,
    close: String,
    message: String,
}

#[path = "support/case_host.rs"]
mod case_host;

use case_host::{grade_words, serve_cases};

/// Serves each case on its own connection; sends each case's grades.
async fn host(
    cases: Arc<Vec<Check<ClientSession>>>,
) -> (String, tokio::sync::mpsc::Receiver<(String, Graded)>) {
    let (url, mut outcomes) = serve_cases(cases, "interop").await;
    let (tx, rx) = tokio::sync::mpsc::channel(512);
    tokio::spawn(async move {
        while let Some((number, outcome)) = outcomes.recv().await {
            let (behavior, close) = grade_words(&outcome);
            let graded = Graded {
                behavior,
                close,
                message: format!(
                    "{}{}",
                    outcome.message,
                    outcome
                        .evidence
                        .map(|e| format!(" — {}", e.actual))
                        .unwrap_or_default()
                ),
            };
            if tx.send((number, graded)).await.is_err() {
                return;
            }
        }
    });
    (url, rx)
}

/// Plays the cases matching `only` against the client `command` starts (given
/// the base URL and the case numbers as arguments); their grades by number.
async fn play(mut command: Command, only: &str) -> BTreeMap<String, Graded> {
    let pattern = [Pattern::new(only).expect("a pattern")];
    let all = compression_checks();
    let cases: Vec<_> = select(&all, &pattern, &[]).into_iter().copied().collect();
    let numbers: Vec<String> = cases.iter().map(|c| c.info.aliases[0].to_owned()).collect();
    let (url, mut results) = host(Arc::new(cases)).await;
    let started = Instant::now();
    let mut client = command
        .arg(&url)
        .args(&numbers)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("the client starts");
    let mut grades = BTreeMap::new();
    while grades.len() < numbers.len() {
        let Ok(Some((n, g))) = tokio::time::timeout(Duration::from_secs(600), results.recv()).await
        else {
            break;
        };
        grades.insert(n, g);
    }
    let _ = client.kill();
    let _ = client.wait();
    eprintln!(
        "{} cases in {:.1} s",
        numbers.len(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(grades.len(), numbers.len(), "every case was played");
    grades
}

fn websockets_client() -> Command {
    ensure("websockets");
    let dir = interop_dir().join("websockets-venv");
    let python = installed(dir.join("bin/python"), "websockets");
    let mut command = Command::new(python);
    command.arg(scripts().join("websockets_py/client.py"));
    command
}

fn ws_client() -> Command {
    ensure("ws");
    let modules = installed(interop_dir().join("ws-node/node_modules"), "ws");
    let mut command = Command::new("node");
    command
        .env("NODE_PATH", &modules)
        .arg(scripts().join("ws_node/client.cjs"));
    command
}

/// The cases not OK/OK, with why.
fn departures(grades: &BTreeMap<String, Graded>) -> Vec<String> {
    grades
        .iter()
        .filter(|(_, g)| (g.behavior.as_str(), g.close.as_str()) != ("OK", "OK"))
        .map(|(n, g)| format!("{n}: {} / {}: {}", g.behavior, g.close, g.message))
        .collect()
}

/// The small subcases of every group: 16 B to 1 KiB messages.
const SMALL: &str = "1[23].*.[1-4]";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_websockets_client_echoes_every_compressed_message() {
    let grades = play(websockets_client(), SMALL).await;
    assert_eq!(grades.len(), 48);
    let departures = departures(&grades);
    assert!(departures.is_empty(), "{departures:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ws_client_echoes_every_compressed_message() {
    let grades = play(ws_client(), SMALL).await;
    assert_eq!(grades.len(), 48);
    let departures = departures(&grades);
    assert!(departures.is_empty(), "{departures:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "216 cases, 10.9 GB each way: run with --release"]
async fn all_216_cases_against_the_websockets_client() {
    let grades = play(websockets_client(), "*").await;
    let departures = departures(&grades);
    assert!(departures.is_empty(), "{departures:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "216 cases, 10.9 GB each way: run with --release"]
async fn all_216_cases_against_the_ws_client() {
    let grades = play(ws_client(), "*").await;
    let departures = departures(&grades);
    assert!(departures.is_empty(), "{departures:#?}");
}
