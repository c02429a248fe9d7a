//! Self-tests of the SSE suite against the reference server: every check passes
//! (or is information, or skipped with a reason) against the conformant server,
//! and every check fails against the fault it exists to detect. A table ties each
//! check to its fault; a test keeps the table complete.

use std::sync::Arc;
use std::time::Duration;

use pulsecheck::check::Verdict;
use pulsecheck::http::{Client, ClientConfig};
use pulsecheck::registry::{Pattern, lint, select};
use pulsecheck::report::CheckResult;
use pulsecheck::runner::{RunOptions, run};
use pulsecheck::serve::sse::{Fault, SseServerConfig, start};
use pulsecheck::sse::checks::CHECKS;
use pulsecheck::sse::probe::{ProbeOptions, SseProbe};
use url::Url;

/// One self-test: a server (clean or with a fault), how to probe it, and what the
/// check must find.
struct Case {
    check: &'static str,
    fault: Option<&'static str>,
    /// Appended to the events URL (`?limit=5`, or a wrong path).
    path: &'static str,
    observe_secs: u64,
    /// The reference server's time between events.
    event_interval_ms: u64,
    max_connections: usize,
    h2c: bool,
    /// `--origin`: the origin the CORS checks judge for.
    origin: Option<&'static str>,
    expect: Expect,
}

enum Expect {
    Verdict(Verdict),
    /// An INFO check's message contains this.
    Says(&'static str),
    /// The check fails, and its message contains this.
    FailsSaying(&'static str),
}

const fn case(check: &'static str, fault: &'static str) -> Case {
    Case {
        check,
        fault: Some(fault),
        path: "",
        observe_secs: 3,
        event_interval_ms: 40,
        max_connections: 256,
        h2c: false,
        origin: None,
        expect: Expect::Verdict(Verdict::Fail),
    }
}

/// A case against `held-until-next` with events 0.7 s apart, so that an event
/// held until the next one is 0.7 s late, beyond the 0.5 s the delivery checks
/// allow.
const fn held_until_next(check: &'static str) -> Case {
    Case {
        observe_secs: 6,
        event_interval_ms: 700,
        ..case(check, "held-until-next")
    }
}

/// The origin the CORS self-tests name with `--origin`.
const PAGE_ORIGIN: &str = "https://app.example";

/// Checks the reference server cannot break, and why.
const CANNOT_BE_FAULTED: &[(&str, &str)] = &[
    (
        "sse/http2/connection-headers",
        "hyper removes connection-specific headers from every HTTP/2 response",
    ),
    (
        "sse/http1/framing",
        "hyper frames every response of the reference server; tests/cli.rs breaks the framing with a raw server",
    ),
];

fn fault_cases() -> Vec<Case> {
    vec![
        Case {
            path: "/../nope",
            fault: None,
            ..case("sse/response/status", "")
        },
        case("sse/response/content-type", "wrong-content-type"),
        case("sse/response/charset", "charset-latin1"),
        case("sse/response/cache-control", "no-cache-control"),
        case("sse/format/utf8", "invalid-utf8"),
        case("sse/format/bom", "bom-mid-stream"),
        case("sse/format/line-endings", "mixed-line-endings"),
        case("sse/format/known-fields", "unknown-field"),
        case("sse/format/orphan-lines", "raw-newline-in-data"),
        case("sse/format/line-length", "never-ends-line"),
        Case {
            path: "?limit=5",
            ..case("sse/format/event-termination", "cuts-last-event")
        },
        case("sse/retry/digits", "bad-retry"),
        Case {
            path: "?limit=5",
            ..case("sse/retry/kept", "retry-in-dropped-block")
        },
        Case {
            expect: Expect::FailsSaying("in a block without data"),
            ..case("sse/retry/kept", "retry-only-block")
        },
        case("sse/ids/no-nul", "id-with-nul"),
        case("sse/ids/unique", "duplicate-ids"),
        Case {
            expect: Expect::Says("not increasing"),
            ..case("sse/ids/increasing", "duplicate-ids")
        },
        Case {
            expect: Expect::Says("fit the proposed Last-Event-ID safelist"),
            fault: None,
            ..case("sse/ids/cors-safe", "")
        },
        Case {
            observe_secs: 17,
            ..case("sse/heartbeat/interval", "no-heartbeat")
        },
        case("sse/buffering/first-bytes", "buffered"),
        case("sse/buffering/compression", "gzip-buffered"),
        held_until_next("sse/buffering/held-events"),
        held_until_next("sse/buffering/lag"),
        case("sse/buffering/x-accel-buffering", "held-until-next"),
        Case {
            expect: Expect::Verdict(Verdict::Pass),
            ..held_until_next("sse/buffering/first-bytes")
        },
        case("sse/reconnect/prompt", "reconnect-refused"),
        case(
            "sse/reconnect/last-event-id-replay",
            "ignores-last-event-id",
        ),
        case("sse/reconnect/last-event-id-replay", "replay-gap"),
        case("sse/reconnect/last-event-id-replay", "replay-duplicates"),
        // Only a resumption from an id shorter than the newest shows this one.
        Case {
            expect: Expect::FailsSaying("missed event(s) never came"),
            ..case(
                "sse/reconnect/last-event-id-replay",
                "ids-compared-as-strings",
            )
        },
        case("sse/reconnect/unknown-id", "error-on-unknown-id"),
        case("sse/reconnect/empty-id", "error-on-empty-id"),
        // Asked for a page's origin, a server without CORS fails …
        Case {
            origin: Some(PAGE_ORIGIN),
            ..case("sse/cors/allow-origin", "no-cors")
        },
        Case {
            origin: Some(PAGE_ORIGIN),
            ..case("sse/cors/preflight", "no-cors")
        },
        // … not asked, it looks same-origin, which is no fault.
        Case {
            expect: Expect::Says("looks same-origin"),
            ..case("sse/cors/allow-origin", "no-cors")
        },
        Case {
            expect: Expect::Says("looks same-origin"),
            ..case("sse/cors/preflight", "no-cors")
        },
        // A server that serves other origins is judged without being asked.
        Case {
            expect: Expect::FailsSaying("does not allow Last-Event-ID"),
            ..case("sse/cors/preflight", "preflight-without-last-event-id")
        },
        Case {
            expect: Expect::Verdict(Verdict::Pass),
            ..case("sse/cors/allow-origin", "preflight-without-last-event-id")
        },
        case("sse/robustness/dropped-burst", "dies-after-drops"),
        Case {
            fault: None,
            max_connections: 4,
            ..case("sse/robustness/concurrent-streams", "")
        },
        Case {
            fault: None,
            h2c: true,
            expect: Expect::Verdict(Verdict::Pass),
            ..case("sse/http2/connection-headers", "")
        },
    ]
}

/// Starts the server a case asks for and runs the checks matching `only` on it.
async fn probe(case: &Case, only: &str) -> Vec<CheckResult> {
    let fault = case
        .fault
        .map(|f| f.parse::<Fault>().expect("a known fault"));
    let server = start(SseServerConfig {
        event_interval: Duration::from_millis(case.event_interval_ms),
        heartbeat_interval: Duration::from_millis(if fault.is_some() { 15_000 } else { 500 }),
        max_connections: case.max_connections,
        fault,
        ..SseServerConfig::default()
    })
    .await
    .expect("the reference server starts");
    let url = Url::parse(&format!("{}{}", server.url(), case.path)).expect("a URL");
    let client = Client::new(ClientConfig {
        http2_prior_knowledge: case.h2c,
        response_timeout: Duration::from_secs(4),
        ..ClientConfig::default()
    })
    .expect("a client");
    let options = ProbeOptions {
        observe: Duration::from_secs(case.observe_secs),
        origin: case.origin.map(str::to_owned),
        ..ProbeOptions::default()
    };
    let probe = Arc::new(SseProbe::new(client, url, options));
    let only = [Pattern::new(only).expect("a pattern")];
    let selected: Vec<_> = select(CHECKS, &only, &[]).into_iter().copied().collect();
    let run = run(
        probe,
        &selected,
        RunOptions {
            jobs: 8,
            check_timeout: Duration::from_secs(40),
            deadline: Duration::from_secs(60),
            strict: true,
            progress: false,
        },
    )
    .await;
    drop(server);
    run.results
}

#[test]
fn the_catalogue_is_consistent_and_every_check_has_a_self_test() {
    assert_eq!(lint(CHECKS), Vec::<String>::new());
    let cases = fault_cases();
    for check in CHECKS {
        let id = check.info.id;
        let tested = cases.iter().any(|c| {
            c.check == id
                && match c.expect {
                    Expect::Verdict(Verdict::Fail) | Expect::FailsSaying(_) => true,
                    Expect::Says(_) => true, // an INFO check's finding
                    Expect::Verdict(_) => false,
                }
        });
        let exempt = CANNOT_BE_FAULTED.iter().any(|(c, _)| *c == id);
        assert!(tested || exempt, "{id} has no self-test that makes it fail");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_check_passes_against_the_clean_reference_server() {
    let clean = Case {
        fault: None,
        observe_secs: 3,
        ..case("", "")
    };
    let results = probe(&clean, "*").await;
    // With ?limit the server ends the stream, so the end-of-stream checks judge too.
    let limited = Case {
        fault: None,
        path: "?limit=20",
        ..case("", "")
    };
    let ended = probe(&limited, "sse/{format/event-termination,retry/kept}").await;
    let mut problems = Vec::new();
    for r in results.iter().chain(&ended) {
        let fine = matches!(r.verdict, Verdict::Pass | Verdict::Info | Verdict::Skipped);
        if !fine {
            problems.push(format!("{}: {} — {}", r.id, r.verdict, r.message));
        }
    }
    assert!(
        problems.is_empty(),
        "the clean server failed: {problems:#?}"
    );
    for r in &ended {
        assert_eq!(r.verdict, Verdict::Pass, "{}: {}", r.id, r.message);
    }
    // Checks that can judge in a 3 s window must pass, not skip.
    for id in [
        "sse/response/status",
        "sse/reconnect/last-event-id-replay",
        "sse/heartbeat/interval",
        "sse/ids/unique",
        "sse/buffering/held-events",
        "sse/buffering/lag",
        "sse/buffering/x-accel-buffering",
        "sse/retry/kept",
        "sse/cors/allow-origin",
        "sse/cors/preflight",
    ] {
        let r = results.iter().find(|r| r.id == id).expect("the check ran");
        assert_eq!(r.verdict, Verdict::Pass, "{id}: {}", r.message);
    }
    let said = |id: &str| {
        let r = results.iter().find(|r| r.id == id).expect("the check ran");
        (r.verdict, r.message.clone())
    };
    // The replay is tried from the earliest, a middle and the last id (and from
    // the last shorter id too when the ids seen grew a digit, which depends on
    // how many came in the window).
    let (_, replay) = said("sse/reconnect/last-event-id-replay");
    assert!(
        [
            "(the earliest id seen)",
            "(an id in the middle)",
            "(the last id seen)"
        ]
        .iter()
        .all(|point| replay.contains(point)),
        "{replay}"
    );
    // The retry goes with the first event.
    let (_, retry) = said("sse/retry/kept");
    assert!(retry.contains("sent with an event"), "{retry}");
    // What kept the stream alive is named, never "0 heartbeat comment(s)".
    let (_, heartbeat) = said("sse/heartbeat/interval");
    assert!(
        heartbeat.contains("heartbeat comments kept it alive"),
        "{heartbeat}"
    );
    // An endless stream is information, with how to test an end.
    let (verdict, end) = said("sse/format/event-termination");
    assert_eq!(verdict, Verdict::Info, "{end}");
    assert!(
        end.contains("endless stream") && end.contains("?limit="),
        "{end}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skips_name_the_real_cause() {
    // The server ends the stream after five events (0.2 s), long before the 5 s
    // observation, and sends no heartbeat meanwhile (a faulty server's heartbeat
    // here is 15 s; its fault does not touch the body): the checks that needed
    // more say so, not "observe longer".
    let ended = Case {
        fault: Some("no-cache-control"),
        path: "?limit=5",
        observe_secs: 5,
        ..case("", "")
    };
    let results = probe(&ended, "sse/{heartbeat/interval,retry/kept}").await;
    let heartbeat = results
        .iter()
        .find(|r| r.id == "sse/heartbeat/interval")
        .expect("the check ran");
    assert_eq!(heartbeat.verdict, Verdict::Skipped, "{}", heartbeat.message);
    assert!(
        heartbeat
            .message
            .starts_with("the server ended the stream after ")
            && !heartbeat.message.contains("--observe"),
        "{}",
        heartbeat.message
    );
    // A short observation is named as the cause when it is one.
    let short = Case {
        fault: Some("no-heartbeat"),
        observe_secs: 2,
        ..case("", "")
    };
    let results = probe(&short, "sse/heartbeat/interval").await;
    assert!(
        results[0]
            .message
            .starts_with("the 2.0 s observation (--observe) ended")
            && results[0].message.contains("observe at least 16 s"),
        "{}",
        results[0].message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_check_fails_against_its_fault() {
    let cases = fault_cases();
    let runs = cases
        .iter()
        .map(|c| async move { (c, probe(c, c.check).await) });
    let mut problems = Vec::new();
    for (case, results) in futures::future::join_all(runs).await {
        let label = format!(
            "{} against {}",
            case.check,
            case.fault.unwrap_or("the clean server")
        );
        let Some(r) = results.iter().find(|r| r.id == case.check) else {
            problems.push(format!("{label}: the check did not run"));
            continue;
        };
        let ok = match &case.expect {
            Expect::Verdict(v) => r.verdict == *v,
            Expect::Says(text) => r.verdict == Verdict::Info && r.message.contains(text),
            Expect::FailsSaying(text) => r.verdict == Verdict::Fail && r.message.contains(text),
        };
        if !ok {
            problems.push(format!("{label}: got {} — {}", r.verdict, r.message));
        }
        if r.verdict == Verdict::Fail {
            let e = r.evidence.as_ref().expect("a failure carries evidence");
            assert!(!e.expected.is_empty() && !e.actual.is_empty(), "{label}");
        }
    }
    assert!(
        problems.is_empty(),
        "self-tests that did not see their fault: {problems:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_servers_get_outcomes_not_hangs() {
    // A line that never ends, a 48 MiB event, a head and then nothing: the whole
    // suite still finishes within its time bounds, and every check reports.
    let started = std::time::Instant::now();
    let runs = ["never-ends-line", "huge-event", "stalls"].map(|fault| async move {
        let hostile = Case {
            observe_secs: 2,
            ..case("", fault)
        };
        (fault, probe(&hostile, "*").await)
    });
    for (fault, results) in futures::future::join_all(runs).await {
        assert_eq!(results.len(), CHECKS.len(), "{fault}");
        assert!(
            results.iter().all(|r| !r.message.contains("panicked")),
            "{fault}: a check panicked"
        );
        let judged = results.iter().any(|r| r.verdict == Verdict::Fail);
        assert!(judged, "{fault}: nothing failed against a hostile server");
    }
    assert!(
        started.elapsed() < Duration::from_secs(50),
        "took {:?}",
        started.elapsed()
    );
}
