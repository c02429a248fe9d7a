//! Self-tests of the Autobahn parity cases against the reference echo server: the
//! clean server gets OK in every graded case, and each fault changes exactly the
//! cases it should, with the grade it should. The expected sets are derived from
//! the case table (what each case expects), not listed by hand, except where a
//! fault concerns named cases.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use pulsecheck::check::Verdict;
use pulsecheck::http::{Client, ClientConfig};
use pulsecheck::report::CheckResult;
use pulsecheck::runner::{RunOptions, run};
use pulsecheck::serve::ws::{Fault, WsServerConfig, start};
use pulsecheck::ws::autobahn::cases::{NamedCase, all};
use pulsecheck::ws::autobahn::fuzzer::{CloseBehavior, Expectation, Step, Timer};
use pulsecheck::ws::autobahn::grades::Grades;
use pulsecheck::ws::checks::WsProbe;
use url::Url;

#[path = "support/loopback.rs"]
mod loopback;

const OPTIONS: RunOptions = RunOptions {
    jobs: 32,
    check_timeout: Duration::from_secs(60),
    deadline: Duration::from_secs(120),
    strict: true,
    progress: false,
};

async fn play_all(fault: Option<&str>) -> Vec<CheckResult> {
    let fault = fault.map(|f| f.parse::<Fault>().expect("a known fault"));
    let server = start(WsServerConfig {
        fault,
        ..WsServerConfig::default()
    })
    .await
    .expect("the reference server starts");
    let url = Url::parse(&server.url()).expect("a URL");
    let client = Client::new(ClientConfig::default()).expect("a client");
    let probe = Arc::new(WsProbe::new(client, url, Duration::from_secs(5)));
    let checks = pulsecheck::ws::autobahn::checks();
    let results = run(probe, &checks, OPTIONS).await.results;
    drop(server);
    results
}

/// The case numbers whose verdict is `verdict`.
fn with_verdict(results: &[CheckResult], verdict: Verdict) -> BTreeSet<String> {
    results
        .iter()
        .filter(|r| r.verdict == verdict)
        .filter_map(|r| r.aliases.first().cloned())
        .collect()
}

fn numbers(cases: impl Iterator<Item = NamedCase>) -> BTreeSet<String> {
    cases.map(|c| c.case.number).collect()
}

fn informational() -> BTreeSet<String> {
    numbers(
        all()
            .into_iter()
            .filter(|c| c.case.expect == Expectation::Informational),
    )
}

fn explain(results: &[CheckResult], numbers: &BTreeSet<String>) -> String {
    results
        .iter()
        .filter(|r| r.aliases.first().is_some_and(|n| numbers.contains(n)))
        .map(|r| format!("{} {}: {}", r.aliases[0], r.verdict, r.message))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Asserts that exactly `want` got `verdict` (and lists the differences).
fn assert_exactly(results: &[CheckResult], verdict: Verdict, want: &BTreeSet<String>, what: &str) {
    let got = with_verdict(results, verdict);
    let missing: BTreeSet<_> = want.difference(&got).cloned().collect();
    let extra: BTreeSet<_> = got.difference(want).cloned().collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: {verdict} expected but not got:\n{}\n{verdict} got but not expected:\n{}",
        explain(results, &missing),
        explain(results, &extra)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clean_server_gets_ok_everywhere() {
    let results = play_all(None).await;
    assert_eq!(results.len(), 301);
    assert_exactly(&results, Verdict::Info, &informational(), "clean server");
    assert_eq!(
        with_verdict(&results, Verdict::Pass).len(),
        301 - informational().len(),
        "{}",
        explain(
            &results,
            &results
                .iter()
                .filter(|r| !matches!(r.verdict, Verdict::Pass | Verdict::Info))
                .filter_map(|r| r.aliases.first().cloned())
                .collect()
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skipping_utf8_validation_fails_every_invalid_utf8_case_and_only_those() {
    let results = play_all(Some("skips-utf8-validation")).await;
    // The cases where invalid UTF-8 must make the server close first.
    let invalid = numbers(
        all()
            .into_iter()
            .filter(|c| c.case.close.wrong_endpoint_fatal),
    );
    assert!(invalid.len() > 70, "{}", invalid.len());
    assert_exactly(&results, Verdict::Fail, &invalid, "skips-utf8-validation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validating_utf8_at_the_message_end_is_non_strict_in_6_4() {
    let results = play_all(Some("utf8-at-message-end")).await;
    let fail_fast: BTreeSet<String> = ["6.4.1", "6.4.2", "6.4.3", "6.4.4"]
        .map(String::from)
        .into();
    assert_exactly(&results, Verdict::Warn, &fail_fast, "utf8-at-message-end");
    assert_exactly(
        &results,
        Verdict::Fail,
        &BTreeSet::new(),
        "utf8-at-message-end",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echoing_invalid_close_codes_fails_7_9() {
    let results = play_all(Some("echoes-invalid-close-codes")).await;
    let invalid_codes: BTreeSet<String> = (1..=9).map(|i| format!("7.9.{i}")).collect();
    assert_exactly(
        &results,
        Verdict::Fail,
        &invalid_codes,
        "echoes-invalid-close-codes",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_pongs_fails_the_cases_that_expect_one() {
    let results = play_all(Some("no-pong")).await;
    let expecting_pongs = numbers(all().into_iter().filter(|c| {
        match &c.case.expect {
            Expectation::Events { ok, .. } => ok
                .iter()
                .any(|e| matches!(e, pulsecheck::ws::autobahn::fuzzer::Expected::Pong(_))),
            _ => false,
        }
    }));
    assert_eq!(expecting_pongs.len(), 13, "{expecting_pongs:?}");
    assert_exactly(&results, Verdict::Fail, &expecting_pongs, "no-pong");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_closes_tcp_fails_every_case_the_probe_closes() {
    let results = play_all(Some("never-closes-tcp")).await;
    // The fault keeps TCP open after answering a valid Close; in the cases where
    // the probe closes and a clean close is required, the server must close TCP
    // within 1 s of its answer. (A server failing the connection itself, on an
    // invalid Close or a violation, still closes TCP.)
    let graded: BTreeSet<String> = numbers(
        all()
            .into_iter()
            .filter(|c| c.case.close.by_fuzzer && c.case.close.clean),
    )
    .difference(&informational())
    .cloned()
    .collect();
    assert_exactly(&results, Verdict::Fail, &graded, "never-closes-tcp");
    // Which of the probe's timers falls due first decides the grade, as in
    // Autobahn: a kill timer of 1 s or less, set before the server's answer,
    // comes before the 1 s server-drop timeout and drops TCP with the close still
    // clean (FAILED BY CLIENT); otherwise the timeout does (UNCLEAN).
    let short_kill: BTreeSet<String> = numbers(all().into_iter().filter(|c| {
        c.case
            .steps
            .iter()
            .any(|s| matches!(s, Step::Timer(Timer::KillAfter(d)) if *d <= Duration::from_secs(1)))
    }));
    for r in &results {
        if r.verdict == Verdict::Fail {
            let close = r.grades.map(|g| g.behavior_close);
            let number = r.aliases.first().cloned().unwrap_or_default();
            let want = if short_kill.contains(&number) {
                CloseBehavior::FailedByClient
            } else {
                CloseBehavior::Unclean
            };
            assert_eq!(close, Some(want), "{number}: {}", r.message);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fragmenting_echoes_changes_nothing() {
    // RFC 6455 §5.4 lets a server fragment its echo; Autobahn compares messages.
    let results = play_all(Some("fragments-echo")).await;
    assert_exactly(&results, Verdict::Fail, &BTreeSet::new(), "fragments-echo");
    assert_exactly(&results, Verdict::Warn, &BTreeSet::new(), "fragments-echo");
}

/// A server that never echoes (it reads and answers control frames, as
/// tokio-tungstenite does, and sends nothing else): the cases that grade an echo
/// are skipped with the reason; the others are graded as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_server_that_does_not_echo_echo_cases_are_skipped() {
    use futures::StreamExt;
    let addr = loopback::serve(|stream| async move {
        if let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await {
            while let Some(Ok(_)) = ws.next().await {}
        }
    })
    .await;
    let url = Url::parse(&format!("ws://{addr}/")).expect("a URL");
    let client = Client::new(ClientConfig::default()).expect("a client");
    let probe = Arc::new(WsProbe::new(client, url, Duration::from_secs(2)));
    let checks = pulsecheck::ws::autobahn::checks();
    let results = run(probe, &checks, OPTIONS).await.results;
    let needs_echo = numbers(all().into_iter().filter(|c| c.case.expect.needs_echo()));
    assert_exactly(&results, Verdict::Skipped, &needs_echo, "no echo");
    for r in results.iter().filter(|r| r.verdict == Verdict::Skipped) {
        assert!(r.message.contains("does not echo"), "{}", r.message);
        assert_eq!(r.grades, Some(Grades::UNIMPLEMENTED));
    }
    // What remains is graded: 2.5 (a ping too long) gets a real verdict.
    let ping_too_long = results
        .iter()
        .find(|r| r.aliases == ["2.5"])
        .expect("2.5 ran");
    assert_eq!(
        ping_too_long.verdict,
        Verdict::Pass,
        "{}",
        ping_too_long.message
    );
}
