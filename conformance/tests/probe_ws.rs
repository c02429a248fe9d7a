//! Self-tests of the WebSocket checks against the reference echo server: every
//! check passes against the conformant server and fails against the fault it
//! exists to detect. A table ties checks to faults; a test keeps it complete.

use std::sync::Arc;
use std::time::Duration;

use pulsecheck::check::Verdict;
use pulsecheck::http::{Client, ClientConfig};
use pulsecheck::registry::{Pattern, lint, select};
use pulsecheck::report::CheckResult;
use pulsecheck::runner::{RunOptions, run};
use pulsecheck::serve::ws::{Fault, WsServerConfig, start};
use pulsecheck::ws::checks::{CHECKS, WsProbe};
use url::Url;

/// Each check and the fault that must make it fail.
const FAULTS: &[(&str, &str)] = &[
    ("ws/handshake/accept", "wrong-accept"),
    ("ws/handshake/version", "ignores-version"),
    ("ws/handshake/subprotocol", "picks-unoffered-subprotocol"),
    ("ws/handshake/no-unrequested-extension", "enables-deflate"),
    (
        "ws/masking/unmasked-client-frame",
        "accepts-unmasked-frames",
    ),
    ("ws/masking/server-frames-unmasked", "masks-server-frames"),
    ("ws/ping/pong", "no-pong"),
    ("ws/close/code-1015-refused", "echoes-invalid-close-codes"),
    ("ws/close/server-closes-tcp", "never-closes-tcp"),
];

/// Checks the reference server has no fault for yet, and why.
const NO_FAULT_YET: &[(&str, &str)] = &[
    (
        "ws/handshake/missing-key",
        "the server always validates the key",
    ),
    (
        "ws/handshake/malformed-key",
        "the server always validates the key",
    ),
    (
        "ws/handshake/token-case",
        "the server's token matching is fixed",
    ),
    (
        "ws/framing/non-minimal-16",
        "the framing crate always rejects non-minimal lengths",
    ),
    (
        "ws/framing/non-minimal-64",
        "the framing crate always rejects non-minimal lengths",
    ),
    (
        "ws/framing/length-top-bit",
        "the framing crate always rejects the top bit",
    ),
    (
        "ws/close/new-iana-codes",
        "the server's close-code table is fixed",
    ),
    (
        "ws/echo/detected",
        "information only: the clean server echoes",
    ),
    (
        "ws/robustness/drop-mid-message",
        "the server releases every connection",
    ),
    (
        "ws/robustness/concurrent-echo",
        "the server has no connection limit below 8",
    ),
];

async fn probe(fault: Option<&str>, only: &str) -> Vec<CheckResult> {
    let fault = fault.map(|f| f.parse::<Fault>().expect("a known fault"));
    let server = start(WsServerConfig {
        fault,
        ..WsServerConfig::default()
    })
    .await
    .expect("the reference server starts");
    let url = Url::parse(&server.url()).expect("a URL");
    let client = Client::new(ClientConfig::default()).expect("a client");
    let probe = Arc::new(WsProbe::new(client, url, Duration::from_secs(3)));
    let only = [Pattern::new(only).expect("a pattern")];
    let selected: Vec<_> = select(CHECKS, &only, &[]).into_iter().copied().collect();
    let options = RunOptions {
        jobs: 16,
        check_timeout: Duration::from_secs(20),
        deadline: Duration::from_secs(40),
        strict: true,
        progress: false,
    };
    let results = run(probe, &selected, options).await.results;
    drop(server);
    results
}

#[test]
fn every_check_has_a_fault_or_a_reason() {
    assert_eq!(lint(CHECKS), Vec::<String>::new());
    for check in CHECKS {
        let id = check.info.id;
        let covered =
            FAULTS.iter().any(|(c, _)| *c == id) || NO_FAULT_YET.iter().any(|(c, _)| *c == id);
        assert!(covered, "{id} has neither a fault self-test nor a reason");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_check_passes_against_the_clean_server() {
    let results = probe(None, "*").await;
    assert_eq!(results.len(), CHECKS.len());
    let problems: Vec<String> = results
        .iter()
        .filter(|r| !matches!(r.verdict, Verdict::Pass | Verdict::Info))
        .map(|r| format!("{}: {} — {}", r.id, r.verdict, r.message))
        .collect();
    assert!(
        problems.is_empty(),
        "the clean server failed: {problems:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_check_fails_against_its_fault() {
    let runs = FAULTS
        .iter()
        .map(|(check, fault)| async move { (*check, *fault, probe(Some(fault), check).await) });
    let mut problems = Vec::new();
    for (check, fault, results) in futures::future::join_all(runs).await {
        match results.iter().find(|r| r.id == check) {
            Some(r) if r.verdict == Verdict::Fail => {
                assert!(
                    r.evidence.as_ref().is_some_and(|e| !e.actual.is_empty()),
                    "{check}: evidence"
                );
            }
            Some(r) => problems.push(format!(
                "{check} against {fault}: {} — {}",
                r.verdict, r.message
            )),
            None => problems.push(format!("{check}: did not run")),
        }
    }
    assert!(
        problems.is_empty(),
        "self-tests that did not see their fault: {problems:#?}"
    );
}
