//! Self-tests of the permessage-deflate checks (`ws/deflate/*`) and Autobahn's
//! compression cases (groups 12 and 13), against the reference server
//! `serve ws --deflate` and its faults: every check passes against the clean
//! server and fails against the fault it exists for; the compression cases pass
//! against the clean server, fail against a server that corrupts its echoes or
//! keeps its context where it agreed not to, are stopped by `--check-timeout`
//! when the server stops echoing and spared when it echoes slowly, and are
//! UNIMPLEMENTED (skipped, never failed) against `serve ws` without `--deflate`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pulsecheck::check::Verdict;
use pulsecheck::http::{Client, ClientConfig};
use pulsecheck::registry::{Check, Pattern, lint, select};
use pulsecheck::report::CheckResult;
use pulsecheck::runner::{RunOptions, run};
use pulsecheck::serve::ws::{Fault, SLOW_ECHO, WsServerConfig, start};
use pulsecheck::ws::autobahn::fuzzer::{Behavior, CloseBehavior};
use pulsecheck::ws::checks::WsProbe;
use pulsecheck::ws::deflate_checks::CHECKS;
use pulsecheck_ws::deflate::ServerPolicy;
use url::Url;

/// Each check and a fault of `serve ws --deflate` that must make it fail.
const FAULTS: &[(&str, Fault)] = &[
    (
        "ws/deflate/unknown-parameter-declined",
        Fault::AcceptsUnknownParameters,
    ),
    (
        "ws/deflate/unknown-parameter-declined",
        Fault::RefusesInvalidOffers,
    ),
    (
        "ws/deflate/duplicate-parameter-declined",
        Fault::AcceptsDuplicateParameters,
    ),
    (
        "ws/deflate/duplicate-parameter-declined",
        Fault::RefusesInvalidOffers,
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
    // Inflated and echoed: the check's "it inflated the message" failure.
    ("ws/deflate/bomb-refused", Fault::NoBombLimit),
];

const OPTIONS: RunOptions = RunOptions {
    jobs: 16,
    check_timeout: Duration::from_secs(60),
    deadline: Duration::from_secs(120),
    strict: true,
    progress: false,
};

/// `serve ws --deflate` with `fault`.
fn deflating(fault: Option<Fault>) -> WsServerConfig {
    WsServerConfig {
        deflate: Some(ServerPolicy::default()),
        fault,
        ..WsServerConfig::default()
    }
}

/// The reference server started with `config` on a runtime of its own
/// (inflating a bomb or compressing 1000 echoes must not hold up the probe's
/// tasks); it stops when the returned sender is dropped.
async fn start_server(config: WsServerConfig) -> (Url, tokio::sync::oneshot::Sender<()>) {
    let (url_tx, url_rx) = tokio::sync::oneshot::channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async move {
            let server = start(config).await.expect("the reference server starts");
            let _ = url_tx.send(server.url());
            let _ = stopped.await;
            server.shutdown().await;
        });
    });
    let url = url_rx.await.expect("the server starts");
    (Url::parse(&url).expect("a URL"), stop)
}

/// Runs `checks` matching `only` against a server started with `config`, with
/// `options`.
async fn probe_with(
    config: WsServerConfig,
    checks: &[Check<WsProbe>],
    only: &[&str],
    options: RunOptions,
) -> Vec<CheckResult> {
    let (url, _stop) = start_server(config).await;
    let client = Client::new(ClientConfig::default()).expect("a client");
    let probe = Arc::new(WsProbe::new(client, url, Duration::from_secs(3)));
    let only: Vec<Pattern> = only
        .iter()
        .map(|p| Pattern::new(p).expect("a pattern"))
        .collect();
    let selected: Vec<_> = select(checks, &only, &[]).into_iter().copied().collect();
    assert!(!selected.is_empty(), "{only:?} selects checks");
    run(probe, &selected, options).await.results
}

/// Runs `checks` matching `only` against `serve ws --deflate` with `fault`.
async fn probe(fault: Option<Fault>, checks: &[Check<WsProbe>], only: &[&str]) -> Vec<CheckResult> {
    probe_with(deflating(fault), checks, only, OPTIONS).await
}

/// What went wrong with the results that are not `ok`, with the end of each
/// one's transcript, for an assertion.
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
    for (check, fault) in FAULTS {
        assert!(fault.needs_deflate(), "{fault}");
        assert!(CHECKS.iter().any(|c| c.info.id == *check), "{check}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_check_passes_against_the_clean_server() {
    let results = probe(None, CHECKS, &["*"]).await;
    assert_eq!(results.len(), CHECKS.len());
    let problems = problems(&results, |r| r.verdict == Verdict::Pass);
    assert!(problems.is_empty(), "serve ws --deflate: {problems:#?}");
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

/// The small subcases (16 B to 1 KiB messages) of every compression case
/// group: quick in a debug build. All 216 are measured in release (README).
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
        Some(Fault::CorruptsCompressedEchoes),
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

/// Runs `only` of the compression cases against `serve ws --deflate` with
/// `fault`, with `check_timeout`.
async fn with_timeout(fault: Fault, only: &str, check_timeout: Duration) -> Vec<CheckResult> {
    let options = RunOptions {
        check_timeout,
        ..OPTIONS
    };
    probe_with(
        deflating(Some(fault)),
        &compression_checks(),
        &[only],
        options,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_stops_echoing_mid_case_is_stopped_by_the_check_timeout() {
    // 12.1.1's own timer is 60 s; the check timeout, 2 s without an echo.
    let started = Instant::now();
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
    let started = Instant::now();
    let results = with_timeout(Fault::SlowEchoes, "12.1.1", Duration::from_secs(1)).await;
    let took = started.elapsed();
    assert!(
        took >= 1000 * SLOW_ECHO,
        "the server was not slow: {took:?}"
    );
    let problems = problems(&results, |r| r.verdict == Verdict::Pass);
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(results[0].facts["messages_echoed"], 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_keeps_its_context_fails_where_it_agreed_not_to() {
    // 13.2, 13.5, 13.6 and 13.7 agree to server_no_context_takeover; the others
    // do not, and pass.
    let results = probe(
        Some(Fault::KeepsContext),
        &compression_checks(),
        &["13.*.3"],
    )
    .await;
    assert_eq!(results.len(), 7);
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
async fn a_server_without_compression_gets_skips_and_unimplemented_never_failures() {
    // `serve ws` without --deflate declines every offer.
    let mut checks = compression_checks();
    checks.extend(CHECKS.iter().copied());
    let results = probe_with(WsServerConfig::default(), &checks, &["*"], OPTIONS).await;
    assert_eq!(results.len(), 216 + CHECKS.len());
    let problems = problems(&results, |r| {
        if CHECKS.iter().any(|c| c.info.id == r.id) {
            r.verdict == Verdict::Skipped
                && r.message.contains("does not negotiate permessage-deflate")
        } else {
            r.verdict == Verdict::Skipped
                && r.grades.is_some_and(|g| {
                    (g.behavior, g.behavior_close) == (Behavior::Unimplemented, CloseBehavior::Ok)
                })
        }
    });
    assert!(problems.is_empty(), "{problems:#?}");
}
