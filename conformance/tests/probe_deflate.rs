//! Self-tests of the permessage-deflate checks (`ws/deflate/*`) and Autobahn's
//! compression cases (groups 12 and 13), against a small compressing echo
//! server written on the framing crate (`support/deflate_server.rs`): every
//! check passes against the clean server and fails against the fault it exists
//! for; the compression cases pass against the clean server, fail against a
//! server that corrupts or keeps its context where it agreed not to, and are
//! UNIMPLEMENTED (skipped, never failed) against servers that do not compress —
//! this one declining, and pulsecheck's own reference server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use pulsecheck::check::Verdict;
use pulsecheck::http::{Client, ClientConfig};
use pulsecheck::registry::{Check, Pattern, lint, select};
use pulsecheck::report::CheckResult;
use pulsecheck::runner::{RunOptions, run};
use pulsecheck::ws::autobahn::fuzzer::{Behavior, CloseBehavior};
use pulsecheck::ws::checks::WsProbe;
use pulsecheck::ws::deflate_checks::CHECKS;
use url::Url;

#[path = "support/deflate_server.rs"]
mod deflate_server;
#[path = "support/loopback.rs"]
mod loopback;

use deflate_server::Fault;

/// Each check and the fault that must make it fail.
const FAULTS: &[(&str, Fault)] = &[
    (
        "ws/deflate/unknown-parameter-declined",
        Fault::AcceptsUnknownParameters,
    ),
    (
        "ws/deflate/duplicate-parameter-declined",
        Fault::AcceptsDuplicateParameters,
    ),
    (
        "ws/deflate/invalid-value-declined",
        Fault::RefusesInvalidOffers,
    ),
    (
        "ws/deflate/server-no-context-takeover-echoed",
        Fault::ForgetsServerNoContextTakeover,
    ),
    (
        "ws/deflate/server-no-context-takeover-honoured",
        Fault::KeepsContext,
    ),
    (
        "ws/deflate/server-max-window-bits-kept",
        Fault::RaisesServerWindow,
    ),
    (
        "ws/deflate/server-max-window-bits-kept",
        Fault::IgnoresServerWindow,
    ),
    (
        "ws/deflate/client-max-window-bits-only-when-offered",
        Fault::AnswersClientWindow,
    ),
    ("ws/deflate/offer-list-fallback", Fault::FirstOfferOnly),
    ("ws/deflate/window-bits-8", Fault::RefusesWindow8),
    (
        "ws/deflate/rsv1-on-control-frame",
        Fault::IgnoresRsv1OnControl,
    ),
    (
        "ws/deflate/rsv1-on-continuation",
        Fault::IgnoresRsv1OnContinuation,
    ),
    (
        "ws/deflate/uncompressed-message-accepted",
        Fault::InflatesUncompressed,
    ),
    ("ws/deflate/bomb-refused", Fault::StallsOnLargeMessages),
];

const OPTIONS: RunOptions = RunOptions {
    jobs: 16,
    check_timeout: Duration::from_secs(60),
    deadline: Duration::from_secs(120),
    strict: true,
    progress: false,
};

/// Runs `checks` matching `only` against `addr`.
async fn probe_at(url: Url, checks: &[Check<WsProbe>], only: &[&str]) -> Vec<CheckResult> {
    let client = Client::new(ClientConfig::default()).expect("a client");
    let probe = Arc::new(WsProbe::new(client, url, Duration::from_secs(3)));
    let only: Vec<Pattern> = only
        .iter()
        .map(|p| Pattern::new(p).expect("a pattern"))
        .collect();
    let selected: Vec<_> = select(checks, &only, &[]).into_iter().copied().collect();
    assert!(!selected.is_empty(), "{only:?} selects checks");
    run(probe, &selected, OPTIONS).await.results
}

fn url(addr: SocketAddr) -> Url {
    Url::parse(&format!("ws://{addr}/")).expect("a URL")
}

async fn probe(fault: Option<Fault>, checks: &[Check<WsProbe>], only: &[&str]) -> Vec<CheckResult> {
    let addr = deflate_server::start(fault).await;
    probe_at(url(addr), checks, only).await
}

fn problems(results: &[CheckResult], ok: impl Fn(&CheckResult) -> bool) -> Vec<String> {
    results
        .iter()
        .filter(|r| !ok(r))
        .map(|r| {
            let notes: Vec<String> = r
                .evidence
                .iter()
                .flat_map(|e| e.transcript.entries.iter().rev().take(6).rev())
                .map(|e| {
                    format!(
                        "{} ms {:?} {}",
                        e.at_ms,
                        e.direction,
                        e.text.chars().take(80).collect::<String>()
                    )
                })
                .collect();
            format!(
                "{} {:?}: {} — {} [{}]",
                r.id,
                r.aliases,
                r.verdict,
                r.message,
                notes.join(" | ")
            )
        })
        .collect()
}

#[test]
fn every_check_is_cited_and_has_a_fault() {
    assert_eq!(lint(CHECKS), Vec::<String>::new());
    for check in CHECKS {
        assert!(
            FAULTS.iter().any(|(c, _)| *c == check.info.id),
            "{} has no fault self-test",
            check.info.id
        );
        assert!(
            check.info.source.to_string().starts_with("RFC "),
            "{}",
            check.info.id
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_check_passes_against_the_clean_server() {
    let results = probe(None, CHECKS, &["*"]).await;
    assert_eq!(results.len(), CHECKS.len());
    let problems = problems(&results, |r| r.verdict == Verdict::Pass);
    assert!(problems.is_empty(), "the clean server: {problems:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_check_fails_against_its_fault() {
    let runs = FAULTS.iter().map(|(check, fault)| async move {
        (*check, *fault, probe(Some(*fault), CHECKS, &[check]).await)
    });
    let mut problems = Vec::new();
    for (check, fault, results) in futures::future::join_all(runs).await {
        match results.iter().find(|r| r.id == check) {
            Some(r) if r.verdict == Verdict::Fail => {
                let evidence = r.evidence.as_ref().expect("a failure has evidence");
                assert!(!evidence.actual.is_empty(), "{check}: evidence");
            }
            Some(r) => problems.push(format!(
                "{check} against {fault:?}: {} — {}",
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_check_is_skipped_on_a_server_that_does_not_compress() {
    let results = probe(Some(Fault::Declines), CHECKS, &["*"]).await;
    let problems = problems(&results, |r| r.verdict == Verdict::Skipped);
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(
        results[0]
            .message
            .contains("does not negotiate permessage-deflate")
    );
}

/// The small subcases (16 B to 1 KiB messages) of every compression case
/// group: quick in a debug build.
const SMALL: &[&str] = &["12.*.[1-4]", "13.*.[1-4]"];

fn compression_checks() -> Vec<Check<WsProbe>> {
    pulsecheck::ws::autobahn::compression_checks()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_compression_cases_pass_against_the_clean_server() {
    let results = probe(None, &compression_checks(), SMALL).await;
    assert_eq!(results.len(), 12 * 4);
    let problems = problems(&results, |r| r.verdict == Verdict::Pass);
    assert!(problems.is_empty(), "{problems:#?}");
    for r in &results {
        assert_eq!(r.grades.map(|g| g.behavior), Some(Behavior::Ok));
        assert_eq!(r.facts["messages_echoed"], 1000, "{}", r.id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_echo_fails_every_compression_case() {
    let results = probe(
        Some(Fault::CorruptsEchoes),
        &compression_checks(),
        &["12.*.1", "13.*.1"],
    )
    .await;
    assert_eq!(results.len(), 12);
    let problems = problems(&results, |r| {
        r.verdict == Verdict::Fail
            && r.grades.is_some_and(|g| g.behavior == Behavior::Failed)
            && r.evidence
                .as_ref()
                .is_some_and(|e| e.actual.contains("echo 1 of 1000"))
    });
    assert!(problems.is_empty(), "{problems:#?}");
}

/// Runs `only` of the compression cases against a server with `fault`, with
/// `check_timeout`.
async fn with_timeout(fault: Fault, only: &str, check_timeout: Duration) -> Vec<CheckResult> {
    let addr = deflate_server::start(Some(fault)).await;
    let client = Client::new(ClientConfig::default()).expect("a client");
    let probe = Arc::new(WsProbe::new(client, url(addr), Duration::from_secs(3)));
    let checks = compression_checks();
    let only = [Pattern::new(only).expect("a pattern")];
    let selected: Vec<_> = select(&checks, &only, &[]).into_iter().copied().collect();
    let options = RunOptions {
        check_timeout,
        ..OPTIONS
    };
    run(probe, &selected, options).await.results
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_stops_echoing_mid_case_is_stopped_by_the_check_timeout() {
    // 12.1.1's own timer is 60 s; the check timeout, 2 s without an echo.
    let started = std::time::Instant::now();
    let results = with_timeout(Fault::StopsEchoing, "12.1.1", Duration::from_secs(2)).await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "{took:?}");
    let [r] = &results[..] else {
        panic!("one case: {results:?}")
    };
    assert_eq!(r.verdict, Verdict::Error, "{}", r.message);
    assert!(
        r.message.contains("no progress for 2 s (--check-timeout)"),
        "{}",
        r.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_server_that_keeps_echoing_is_not_stopped_by_the_check_timeout() {
    // 1000 echoes at least 4 ms apart take 4 s or more, four times the check
    // timeout: each echo is progress.
    let started = std::time::Instant::now();
    let results = with_timeout(Fault::SlowEchoes, "12.1.1", Duration::from_secs(1)).await;
    let took = started.elapsed();
    assert!(
        took >= 1000 * deflate_server::SLOW_ECHO,
        "the server was not slow: {took:?}"
    );
    let problems = problems(&results, |r| r.verdict == Verdict::Pass);
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(results[0].facts["messages_echoed"], 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_keeps_its_context_fails_where_it_agreed_not_to() {
    // 13.2, 13.5 and 13.6 offer server_no_context_takeover; the others do not.
    let results = probe(
        Some(Fault::KeepsContext),
        &compression_checks(),
        &["13.*.3"],
    )
    .await;
    for r in &results {
        let agreed = ["13.2.3", "13.5.3", "13.6.3", "13.7.3"].contains(&r.aliases[0].as_str());
        let want = if agreed { Verdict::Fail } else { Verdict::Pass };
        assert_eq!(r.verdict, want, "{} {:?}: {}", r.id, r.aliases, r.message);
        if agreed {
            let actual = &r.evidence.as_ref().expect("evidence").actual;
            assert!(
                actual.contains("RFC 7692") && actual.contains("decompress"),
                "{actual}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_compression_cases_are_unimplemented_on_a_server_that_declines() {
    let results = probe(Some(Fault::Declines), &compression_checks(), &["*"]).await;
    assert_eq!(results.len(), 216);
    let problems = problems(&results, |r| {
        r.verdict == Verdict::Skipped
            && r.grades.is_some_and(|g| {
                (g.behavior, g.behavior_close) == (Behavior::Unimplemented, CloseBehavior::Ok)
            })
    });
    assert!(problems.is_empty(), "{problems:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_server_without_compression_fails_nothing() {
    use pulsecheck::serve::ws::{WsServerConfig, start};
    let server = start(WsServerConfig::default())
        .await
        .expect("the reference server starts");
    let url = Url::parse(&server.url()).expect("a URL");
    let mut checks = compression_checks();
    checks.extend(CHECKS.iter().copied());
    let results = probe_at(url, &checks, &["*"]).await;
    drop(server);
    assert_eq!(results.len(), 216 + CHECKS.len());
    let problems = problems(&results, |r| r.verdict == Verdict::Skipped);
    assert!(problems.is_empty(), "{problems:#?}");
    let unimplemented = results
        .iter()
        .filter(|r| {
            r.grades
                .is_some_and(|g| g.behavior == Behavior::Unimplemented)
        })
        .count();
    assert_eq!(unimplemented, 216);
}
