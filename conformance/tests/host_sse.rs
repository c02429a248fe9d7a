//! `pulsecheck host sse` with the binary: every case fails against the fault
//! of `examples/sse_client.rs` it exists for and passes for the correct
//! client; drivers that crash, print garbage or never connect get errors.

use std::path::PathBuf;
use std::process::Command;

use pulsecheck::check::Verdict;
use pulsecheck::report::Report;

fn client() -> PathBuf {
    let mut path = std::env::current_exe().unwrap();
    path.pop();
    if path.ends_with("deps") {
        path.pop();
    }
    path.join("examples").join("sse_client")
}

/// Runs `host sse` with `only` and the client with `fault`; returns the exit
/// code and the report.
fn host(only: &[&str], driver: &[String]) -> (i32, Option<Report>, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pulsecheck"));
    cmd.args(["host", "sse", "--format", "json", "--strict", "--jobs", "8"]);
    for o in only {
        cmd.args(["--only", o]);
    }
    cmd.arg("--").args(driver);
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (
        out.status.code().unwrap_or(-1),
        Report::from_json(&stdout).ok(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn faulty(fault: &str) -> Vec<String> {
    vec![
        client().display().to_string(),
        "--fault".into(),
        fault.into(),
    ]
}

/// Each fault, and the cases that must fail against it.
const FAULTS: &[(&str, &[&str])] = &[
    ("post", &["sse-client/request/method-get"]),
    ("no-accept", &["sse-client/request/accept"]),
    ("no-cache-control", &["sse-client/request/cache-control"]),
    ("sends-initial-id", &["sse-client/request/no-last-event-id"]),
    (
        "no-reconnect",
        &[
            "sse-client/reconnect/after-end",
            "sse-client/reconnect/after-drop",
            "sse-client/last-event-id/last-id",
        ],
    ),
    ("storm", &["sse-client/reconnect/backoff-bounded"]),
    (
        "ignores-retry",
        &[
            "sse-client/retry/honoured",
            "sse-client/retry/leading-zeros",
            "sse-client/retry/retry-only-block",
        ],
    ),
    ("ignores-retry-short", &["sse-client/retry/honoured-long"]),
    ("lax-retry", &["sse-client/retry/invalid-ignored"]),
    (
        "retry-only-with-data",
        &["sse-client/retry/retry-only-block"],
    ),
    ("latin1-id", &["sse-client/last-event-id/utf-8"]),
    ("accepts-nul-id", &["sse-client/last-event-id/nul-ignored"]),
    (
        "empty-last-event-id",
        &[
            "sse-client/last-event-id/empty-resets",
            "sse-client/last-event-id/bare-id-resets",
        ],
    ),
    ("bare-id-kept", &["sse-client/last-event-id/bare-id-resets"]),
    ("empty-id-kept", &["sse-client/last-event-id/empty-resets"]),
    (
        "forgets-id-only",
        &["sse-client/last-event-id/id-only-block"],
    ),
    (
        "keeps-partial-id",
        &[
            "sse-client/last-event-id/partial-event-discarded",
            "sse-client/stream/crlf-lines",
        ],
    ),
    (
        "keeps-bom",
        &["sse-client/stream/bom", "sse-client/stream/bom-split"],
    ),
    ("lf-only", &["sse-client/stream/cr-lines"]),
    ("splits-crlf", &["sse-client/stream/crlf-split"]),
    (
        "retries-after-status",
        &[
            "sse-client/status/204-stops",
            "sse-client/status/404-stops",
            "sse-client/status/500-stops",
            "sse-client/status/503-stops",
        ],
    ),
    (
        "no-content-type-check",
        &["sse-client/status/wrong-content-type-stops"],
    ),
    ("no-redirects", &["sse-client/redirect/*"]),
    (
        "joins-data-with-space",
        &["sse-client/events/multi-line-data"],
    ),
    ("ignores-empty-data", &["sse-client/events/empty-data"]),
    ("type-not-reset", &["sse-client/events/type-reset"]),
    (
        "case-insensitive-fields",
        &["sse-client/events/unknown-fields"],
    ),
    ("comments-as-data", &["sse-client/events/comments"]),
    ("strips-all-spaces", &["sse-client/events/leading-space"]),
    ("drops-nul", &["sse-client/events/nul-in-data"]),
    ("strict-utf8", &["sse-client/events/invalid-utf-8"]),
    ("no-event-id", &["sse-client/events/id-on-events"]),
    ("chunk-ends-line", &["sse-client/events/one-byte-chunks"]),
    ("max-1mb", &["sse-client/events/large-event"]),
];

#[test]
fn the_correct_client_passes_every_case() {
    let (code, report, stderr) = host(&[], &[client().display().to_string()]);
    let report = report.unwrap_or_else(|| panic!("no report: {stderr}"));
    let bad: Vec<_> = report
        .checks
        .iter()
        .filter(|c| !matches!(c.verdict, Verdict::Pass | Verdict::Info))
        .map(|c| format!("{} {}: {}", c.id, c.verdict, c.message))
        .collect();
    assert!(bad.is_empty(), "{bad:#?}");
    assert_eq!(code, 0);
}

#[test]
fn every_case_fails_against_its_fault() {
    let mut wrong = Vec::new();
    for (fault, cases) in FAULTS {
        let (code, report, stderr) = host(cases, &faulty(fault));
        let Some(report) = report else {
            wrong.push(format!("{fault}: no report ({stderr})"));
            continue;
        };
        for check in &report.checks {
            if check.verdict != Verdict::Fail {
                wrong.push(format!(
                    "{fault}: {} is {} ({})",
                    check.id, check.verdict, check.message
                ));
            }
        }
        if code != 1 {
            wrong.push(format!("{fault}: exit {code}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// Cases that measure without judging: no fault can fail them.
const INFO_ONLY: &[&str] = &["sse-client/retry/default", "sse-client/retry/empty-value"];

#[test]
fn every_case_has_a_fault() {
    let globs: Vec<globset::GlobMatcher> = FAULTS
        .iter()
        .flat_map(|(_, cases)| cases.iter())
        .map(|c| globset::Glob::new(c).unwrap().compile_matcher())
        .collect();
    let missing: Vec<&str> = pulsecheck::host::sse::cases::CASES
        .iter()
        .map(|c| c.info.id)
        .filter(|id| !INFO_ONLY.contains(id) && !globs.iter().any(|g| g.is_match(id)))
        .collect();
    assert!(missing.is_empty(), "cases without a fault: {missing:?}");
}

#[test]
fn a_driver_that_crashes_is_an_error_with_its_output_and_exit_2() {
    let sh = |s: &str| vec!["sh".to_owned(), "-c".to_owned(), s.to_owned()];
    let (code, report, stderr) = host(&["sse-client/request/accept"], &sh("echo boom >&2; exit 3"));
    assert_eq!(code, 2, "{stderr}");
    assert!(report.is_none());
    assert!(
        stderr.contains("exited with status 3") && stderr.contains("boom"),
        "{stderr}"
    );
}

#[test]
fn a_driver_that_prints_garbage_gets_an_error_on_event_cases() {
    let script = format!("{} | sed -u 's/^/garbage /'", client().display());
    let (code, report, stderr) = host(
        &["sse-client/events/type-reset", "sse-client/request/accept"],
        &["sh".to_owned(), "-c".to_owned(), script],
    );
    let report = report.unwrap_or_else(|| panic!("{stderr}"));
    let verdict = |id: &str| report.checks.iter().find(|c| c.id == id).unwrap().verdict;
    assert_eq!(verdict("sse-client/events/type-reset"), Verdict::Error);
    assert_eq!(verdict("sse-client/request/accept"), Verdict::Pass);
    assert_eq!(code, 1);
}

#[test]
fn a_driver_that_prints_nothing_is_skipped_on_event_cases() {
    let script = format!("{} > /dev/null", client().display());
    let (code, report, stderr) = host(
        &["sse-client/events/type-reset"],
        &["sh".to_owned(), "-c".to_owned(), script],
    );
    let report = report.unwrap_or_else(|| panic!("{stderr}"));
    assert_eq!(
        report.checks[0].verdict,
        Verdict::Skipped,
        "{}",
        report.checks[0].message
    );
    assert_eq!(code, 0);
}

#[test]
fn a_baseline_fails_only_regressions() {
    let only = "sse-client/retry/honoured";
    let dir = std::env::temp_dir().join(format!(
        "pulsecheck-host-sse-baseline-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let run = |driver: &[String], baseline: Option<&std::path::Path>, any: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pulsecheck"));
        cmd.args(["host", "sse", "--format", "json", "--only", only]);
        if let Some(b) = baseline {
            cmd.arg("--baseline").arg(b);
        }
        if any {
            cmd.arg("--baseline-any-target");
        }
        cmd.arg("--").args(driver);
        let out = cmd.output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let correct = vec![client().display().to_string()];
    let broken = faulty("ignores-retry");
    // A baseline of the broken client: its known failure does not fail the run.
    let (code, json, err) = run(&broken, None, false);
    assert_eq!(code, 1, "{err}");
    let known = dir.join("broken.json");
    std::fs::write(&known, json).unwrap();
    let (code, _, err) = run(&broken, Some(&known), false);
    assert_eq!(code, 0, "a known failure is not a regression: {err}");
    // A baseline of the correct client (another command line, so compared on
    // purpose): the broken one regresses.
    let (code, json, err) = run(&correct, None, false);
    assert_eq!(code, 0, "{err}");
    let good = dir.join("good.json");
    std::fs::write(&good, json).unwrap();
    let (code, _, err) = run(&broken, Some(&good), true);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(only), "the regression is named: {err}");
    // Without --baseline-any-target, a baseline of another client is refused
    // before the run.
    let (code, _, err) = run(&broken, Some(&good), false);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--baseline-any-target"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
