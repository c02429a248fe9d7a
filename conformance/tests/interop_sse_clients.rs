//! Interop tests: `pulsecheck host sse` against real SSE client libraries from
//! the registries, each through a small driver kept in
//! `conformance/tests/interop/sse_clients/` — the Node `eventsource` package
//! (npm), httpx-sse (PyPI) and reqwest-eventsource (crates.io) — and against
//! headless Chromium (Debian's `chromium`) through the page, `host sse --page`.
//!
//! Each test installs its client on first use with the pinned versions
//! (`setup.sh COMPONENT`, through the harness's `ensure`), runs
//! `pulsecheck host sse --format json -o FILE -- DRIVER` exactly as a user
//! would, and compares the verdicts — one line per case, `id verdict`, no
//! messages and so no timings — with a reviewed insta snapshot in
//! `fixtures/interop/`. `conformance/tests/interop/README.md` explains every
//! verdict other than pass and info from the wire, under a heading per client
//! (`## SSE client NAME …`), and the test keeps that table in step.
//!
//! LaunchDarkly's protocol is tested the same way: `sse_service/service.cjs` is a
//! test service of the sse-contract-tests protocol around the same Node
//! `eventsource`, and `host sse --service URL` driven through it must give the
//! verdicts its direct driver gets, with the capabilities gating what they name.

#[path = "interop/harness.rs"]
#[allow(
    dead_code,
    reason = "this test uses the install helpers, not the servers or the rendering"
)]
mod harness;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use harness::{Server, ensure, installed, interop_dir, scripts};
use pulsecheck::check::Verdict;
use pulsecheck::report::Report;

/// A client under test: its name (snapshot and README heading), what its
/// driver is, and the command that runs it.
struct Client {
    name: &'static str,
    pins: &'static str,
    /// A browser, run with `--page`.
    page: bool,
    /// A test service's URL, run with `--service` (no command).
    service: Option<String>,
    command: Vec<String>,
}

fn path(p: PathBuf) -> String {
    p.display().to_string()
}

fn eventsource_node() -> Client {
    ensure("eventsource-node");
    let modules = installed(
        interop_dir().join("sse-clients/eventsource-node/node_modules"),
        "eventsource",
    );
    installed(modules.join("eventsource"), "eventsource");
    Client {
        name: "eventsource-node",
        pins: "eventsource 4.1.1 on Node's fetch (sse_clients/eventsource_node/package-lock.json)",
        page: false,
        service: None,
        command: vec![
            "env".to_owned(),
            format!("NODE_PATH={}", modules.display()),
            "node".to_owned(),
            path(scripts().join("sse_clients/eventsource_node/driver.cjs")),
        ],
    }
}

fn httpx_sse() -> Client {
    ensure("httpx-sse");
    let python = installed(
        interop_dir().join("sse-clients/httpx-sse-venv/bin/python"),
        "httpx-sse",
    );
    Client {
        name: "httpx-sse",
        pins: "httpx-sse 0.4.3 on httpx 0.29.0 (sse_clients/httpx_sse/requirements.txt)",
        page: false,
        service: None,
        command: vec![
            path(python),
            "-u".to_owned(),
            path(scripts().join("sse_clients/httpx_sse/driver.py")),
        ],
    }
}

fn reqwest_eventsource() -> Client {
    ensure("reqwest-eventsource");
    let binary = installed(
        interop_dir().join("sse-clients/reqwest-eventsource"),
        "the reqwest-eventsource driver",
    );
    Client {
        name: "reqwest-eventsource",
        pins: "reqwest-eventsource 0.6.0 on reqwest 0.12.28 (sse_clients/reqwest_eventsource/Cargo.lock)",
        page: false,
        service: None,
        command: vec![path(binary)],
    }
}

fn chromium() -> Client {
    ensure("chromium");
    let chromium = installed(PathBuf::from("/usr/bin/chromium"), "chromium");
    let profile = interop_dir().join("chromium-sse-profile");
    Client {
        name: "chromium",
        pins: "Debian's chromium, headless, EventSource on the page of host sse --page",
        page: true,
        service: None,
        command: vec![
            path(chromium),
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            format!("--user-data-dir={}", profile.display()),
            // Replaced by "$PULSECHECK_PAGE_URL" in the `sh -c` line `host` runs.
            "PAGE_URL".to_owned(),
        ],
    }
}

/// Runs the whole suite against `client`, as a user does; returns the report
/// and how long the run took.
fn host(client: &Client) -> (Report, Duration) {
    // One client at a time: the cases measure reconnection delays, and three
    // suites of 8 cases at once on a 2-core machine would measure the machine.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let out = interop_dir().join(format!("host-sse-{}.json", client.name));
    let started = Instant::now();
    let mut command = Command::new(env!("CARGO_BIN_EXE_pulsecheck"));
    command
        .args([
            "host",
            "sse",
            "--format",
            "json",
            "--deadline",
            "120s",
            "-o",
        ])
        .arg(&out);
    if client.page {
        // The browser opens the page whose URL the host gives it.
        let argv: Vec<String> = client
            .command
            .iter()
            .map(|a| {
                if a == "PAGE_URL" {
                    "\"$PULSECHECK_PAGE_URL\"".to_owned()
                } else {
                    format!("'{a}'")
                }
            })
            .collect();
        command
            .arg("--page")
            .args(["--", "sh", "-c", &format!("exec {}", argv.join(" "))]);
    } else if let Some(service) = &client.service {
        command.args(["--service", service]);
    } else {
        command.arg("--").args(&client.command);
    }
    let run = command.output().expect("pulsecheck runs");
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&run.stderr);
    let code = run.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "host sse -- {} exited {code}:\n{stderr}",
        client.name
    );
    let json = std::fs::read_to_string(&out).expect("the report was written");
    let report = Report::from_json(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
    eprintln!(
        "{}: {} cases in {:.1} s",
        client.name,
        report.checks.len(),
        took.as_secs_f64()
    );
    (report, took)
}

/// The snapshot text: the client, then `id verdict` per case, then the counts.
fn render(client: &Client, report: &Report) -> String {
    let mut text = format!("client: {}\n", client.pins);
    for c in &report.checks {
        text.push_str(&format!("{:<50} {}\n", c.id, c.verdict));
    }
    let s = report.summary;
    text.push_str(&format!(
        "{} cases: {} pass, {} fail, {} warn, {} info, {} skipped, {} error\n",
        s.total(),
        s.pass,
        s.fail,
        s.warn,
        s.info,
        s.skipped,
        s.error
    ));
    text
}

fn interop(client: Client) {
    let (report, _) = host(&client);
    assert_eq!(
        report.checks.len(),
        pulsecheck::host::sse::cases::CASES.len(),
        "every case ran"
    );
    let text = render(&client, &report);
    let errors: Vec<String> = report
        .checks
        .iter()
        .filter(|c| c.verdict == Verdict::Error)
        .map(|c| format!("{}: {}", c.id, c.message))
        .collect();
    assert!(
        errors.is_empty(),
        "cases that could not be run: {errors:#?}"
    );
    harness::assert_explained_for(
        &format!("SSE client {}", client.name),
        client.name,
        &report,
        &text,
        &[Verdict::Pass, Verdict::Info],
    );
    insta::with_settings!({
        snapshot_path => "../../fixtures/interop",
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => format!(
            "pulsecheck host sse -- the {} driver of conformance/tests/interop/sse_clients/; \
             every verdict but pass and info is explained in its README.md",
            client.name
        ),
    }, {
        insta::assert_snapshot!(format!("sse-client-{}", client.name), text);
    });
}

#[test]
fn eventsource_on_node() {
    interop(eventsource_node());
}

#[test]
fn httpx_sse_on_python() {
    interop(httpx_sse());
}

#[test]
fn chromium_headless_through_the_page() {
    interop(chromium());
}

#[test]
fn reqwest_eventsource_in_rust() {
    interop(reqwest_eventsource());
}

/// Starts the sse-contract-tests service of `sse_service/` with `capabilities`.
fn test_service(name: &'static str, capabilities: &str) -> Server {
    ensure("eventsource-node");
    let modules = installed(
        interop_dir().join("sse-clients/eventsource-node/node_modules"),
        "eventsource",
    );
    let mut command = Command::new("node");
    command
        .env("NODE_PATH", &modules)
        .arg(scripts().join("sse_service/service.cjs"))
        .args(["0", capabilities]);
    Server::start(name, command)
}

fn verdicts(report: &Report) -> Vec<(String, Verdict)> {
    report
        .checks
        .iter()
        .map(|c| (c.id.clone(), c.verdict))
        .collect()
}

#[test]
fn a_launchdarkly_test_service_gets_the_verdicts_of_its_client() {
    let service = test_service("sse-service", "event-type-listeners,bom");
    let through_service = Client {
        name: "sse-service",
        pins: "the sse-contract-tests service of sse_service/ around eventsource 4.1.1",
        page: false,
        service: Some(service.url.clone()),
        command: Vec::new(),
    };
    let (by_service, _) = host(&through_service);
    let (direct, _) = host(&eventsource_node());
    // The same client, driven through its test service or directly: the same
    // verdicts, case by case (the default reconnection time is info either way).
    assert_eq!(
        verdicts(&by_service),
        verdicts(&direct),
        "through the service:\n{}\ndirectly:\n{}",
        render(&through_service, &by_service),
        render(&eventsource_node(), &direct)
    );
}

#[test]
fn a_test_service_s_capabilities_gate_the_cases() {
    let service = test_service("sse-service-bare", "");
    let bare = Client {
        name: "sse-service-bare",
        pins: "the sse-contract-tests service of sse_service/, no capabilities",
        page: false,
        service: Some(service.url.clone()),
        command: Vec::new(),
    };
    let (report, _) = host(&bare);
    let verdict = |id: &str| {
        report
            .checks
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.verdict)
            .unwrap_or_else(|| panic!("no case {id}"))
    };
    // Without `bom` the BOM cases are not run.
    assert_eq!(verdict("sse-client/stream/bom"), Verdict::Skipped);
    assert_eq!(verdict("sse-client/stream/bom-split"), Verdict::Skipped);
    // Without `event-type-listeners` no `listen` command is sent, and this
    // EventSource-like client hears only `message` events.
    assert_eq!(verdict("sse-client/events/type-reset"), Verdict::Fail);
    assert_eq!(verdict("sse-client/events/one-byte-chunks"), Verdict::Fail);
    // The rest runs as for any client.
    assert_eq!(verdict("sse-client/events/multi-line-data"), Verdict::Pass);
    assert_eq!(verdict("sse-client/retry/honoured"), Verdict::Pass);
    assert_eq!(verdict("sse-client/status/204-stops"), Verdict::Pass);
}
