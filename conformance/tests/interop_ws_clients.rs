//! Interop tests: real WebSocket clients under `pulsecheck host ws`.
//!
//! Each test runs the real binary as a user would,
//! `pulsecheck host ws --addr 127.0.0.1:0 --format json -o FILE -- DRIVER`, where
//! DRIVER is a client written the way its library drives Autobahn's
//! fuzzingserver (`conformance/tests/interop/clients/`, and the
//! `autobahn_client` example of this package for tokio-tungstenite): the case
//! count, every case echoed, the reports. Headless Chromium runs the host's own
//! page instead. The test reads the JSON report, checks that every case was
//! played, and compares a rendering with a reviewed insta snapshot in
//! `fixtures/interop/` (`client-*.snap`); `conformance/tests/interop/README.md`
//! explains every verdict other than pass, from the wire, and a test keeps its
//! tables in step with the reports. tokio-tungstenite must moreover get
//! tungstenite's published client baseline on Autobahn's cases.
//!
//! Each test installs what it needs on first use (`setup.sh websockets`, `ws`,
//! `chromium`: the drivers reuse the interop servers' installs) and fails,
//! naming the missing tool, when it cannot: it never passes by skipping.
//!
//! # The rendering
//!
//! A line naming the agent and the library version, then one line per check
//! that did not pass, `id [case] verdict detail`, then the verdict counts. Only
//! the permessage-deflate duties (`ws-client/deflate/…`) may be skipped: for a
//! client that offers no permessage-deflate, or whose offer makes the check's
//! response legal. The
//! detail of an Autobahn case is its grades (`behavior`, `behaviorClose`) and
//! the close code the client sent, from the report's grades; that of a
//! client-duty check is its message with durations taken out. Durations are
//! left out everywhere: they are measured, not compared.

#[path = "interop/harness.rs"]
#[allow(
    dead_code,
    reason = "this test runs the binary: it uses the install helpers and the README tables"
)]
mod harness;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use harness::{ensure, installed, interop_dir, scripts};
use pulsecheck::check::Verdict;
use pulsecheck::report::{CheckResult, Report};
use pulsecheck::ws::autobahn::fuzzer::Behavior;

/// How long one client's whole run may take (`--deadline`). The slowest,
/// Chromium on a busy machine, takes well under a minute.
const DEADLINE: &str = "300s";

/// A client under test: the command `host ws` runs, and its names.
struct Client {
    /// The snapshot (`fixtures/interop/{name}.snap`) and the report file
    /// (`{name}.json` in the interop directory).
    name: &'static str,
    /// The README's table for it is under `## {heading} …`.
    heading: &'static str,
    /// `--agent`: the name the client gives the host.
    agent: &'static str,
    /// The library and its version, for the snapshot's first line.
    versions: String,
    /// The driver and its arguments.
    command: Vec<OsString>,
    /// Added to the driver's environment.
    env: Vec<(&'static str, OsString)>,
}

/// What a run gave: the report, how long the whole run took, what the host
/// printed on stderr.
struct Run {
    report: Report,
    wall: Duration,
    stderr: String,
}

/// Runs `pulsecheck host ws … -- DRIVER` for `client` and reads its report.
fn host_ws(client: &Client) -> Run {
    let file = interop_dir().join(format!("{}.json", client.name));
    let _ = std::fs::remove_file(&file);
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_pulsecheck"))
        .args(["host", "ws", "--addr", "127.0.0.1:0", "--format", "json"])
        // The compression cases (groups 12 and 13) have tests of their own
        // against compressing clients: tests/host_compression.rs.
        .args(["--skip", "12.*", "--skip", "13.*"])
        .args(["--agent", client.agent, "--deadline", DEADLINE, "-o"])
        .arg(&file)
        .arg("--")
        .args(&client.command)
        .envs(client.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .output()
        .expect("the pulsecheck binary starts");
    let wall = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let code = output.status.code();
    assert!(
        matches!(code, Some(0 | 1)),
        "`pulsecheck host ws -- {}` exited with {}, not 0 or 1; it said:\n{stderr}",
        client.name,
        output.status
    );
    let text = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("no report at {}: {e}\n{stderr}", file.display()));
    let report = Report::from_json(&text)
        .unwrap_or_else(|e| panic!("the report at {} is not JSON: {e}", file.display()));
    assert_eq!(
        code == Some(1),
        report.failed(),
        "the exit code says what the report says:\n{stderr}"
    );
    let catalogue = pulsecheck::host::ws::catalogue::checks()
        .iter()
        .filter(|c| {
            !c.info
                .aliases
                .iter()
                .any(|a| a.starts_with("12.") || a.starts_with("13."))
        })
        .count();
    // Only a permessage-deflate duty may be skipped: the client offered no
    // permessage-deflate, or offered what makes the check's response legal.
    let skipped: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| c.verdict == Verdict::Skipped && !c.id.starts_with("ws-client/deflate/"))
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(
        (report.summary.total(), report.summary.error, skipped),
        (catalogue, 0, Vec::<&str>::new()),
        "{} played every case, each to a verdict:\n{stderr}",
        client.name
    );
    eprintln!(
        "{} ({}): {} in {:.1} s",
        client.name,
        client.versions,
        report.summary_line(),
        wall.as_secs_f64()
    );
    Run {
        report,
        wall,
        stderr,
    }
}

/// `behavior`, `behaviorClose` and `remoteCloseCode` of an Autobahn case, if
/// `check` is one.
fn grades(check: &CheckResult) -> Option<(String, String, Option<u64>)> {
    let grades = check.grades?;
    Some((
        grades.behavior.to_string(),
        grades.behavior_close.to_string(),
        grades.remote_close_code.map(u64::from),
    ))
}

/// Replaces each duration (`12 ms`, `0.5 s`) in `line` with `<ms>` or `<s>`.
fn without_durations(line: &str) -> String {
    harness::normalise_line(line, None, |_, _| None)
}

/// The snapshot text (see the module docs).
fn render(client: &Client, report: &Report) -> String {
    let mut out = format!("agent: {} ({})\n", client.agent, client.versions);
    for c in report.checks.iter().filter(|c| c.verdict != Verdict::Pass) {
        let case = c.aliases.first().map_or("", String::as_str);
        let detail = match grades(c) {
            Some((behavior, close, code)) => format!(
                "behavior {behavior}, close {close}; the client's Close: {}",
                code.map_or("none".to_owned(), |c| c.to_string())
            ),
            None => without_durations(&c.message),
        };
        out.push_str(&format!(
            "{:<56} {:<7} {:<4} {detail}\n",
            c.id,
            case,
            c.verdict.to_string()
        ));
    }
    let s = report.summary;
    out.push_str(&format!(
        "{} checks: {} pass, {} fail, {} warn, {} info, {} skipped\n",
        s.total(),
        s.pass,
        s.fail,
        s.warn,
        s.info,
        s.skipped
    ));
    out
}

/// Cases whose grade for a client depends on how its reads fall (measured:
/// see the client's table in the README), with the client. Each is rendered as
/// NON-STRICT (warn) whether this run saw OK or NON-STRICT; any other grade
/// still shows. All four send a valid message and then a bad frame in chops
/// (one byte per write, or one frame per write): a client that parses all it
/// has read before its page or app echoes the message fails first (NON-STRICT)
/// when the message's last byte and the bad frame come in the same read, and
/// echoes first (OK) when they do not.
const RACES: &[(&str, &str, &str)] = &[
    (
        "client-websockets",
        "ws/reserved-bits/rsv2-rsv3-after-a-message-frame-chops",
        "3.3",
    ),
    (
        "client-websockets",
        "ws/reserved-bits/rsv1-after-a-message-octet-chops",
        "3.4",
    ),
    (
        "client-websockets",
        "ws/opcodes/reserved-7-after-a-message-octet-chops",
        "4.1.5",
    ),
    (
        "client-websockets",
        "ws/opcodes/reserved-15-after-a-message-octet-chops",
        "4.2.5",
    ),
    (
        "client-chromium",
        "ws/reserved-bits/rsv2-rsv3-after-a-message-frame-chops",
        "3.3",
    ),
    (
        "client-chromium",
        "ws/reserved-bits/rsv1-after-a-message-octet-chops",
        "3.4",
    ),
    (
        "client-chromium",
        "ws/opcodes/reserved-7-after-a-message-octet-chops",
        "4.1.5",
    ),
    (
        "client-chromium",
        "ws/opcodes/reserved-15-after-a-message-octet-chops",
        "4.2.5",
    ),
];

/// Renders each case of [`RACES`] for `client` as NON-STRICT when it was OK
/// or NON-STRICT.
fn settle_races(client: &str, report: Report) -> Report {
    let checks = report
        .checks
        .into_iter()
        .map(|mut c| {
            let racy = RACES
                .iter()
                .any(|(who, id, _)| *who == client && *id == c.id);
            let ok = grades(&c).is_some_and(|(b, close, _)| b == "OK" && close == "OK");
            if racy && ok {
                c.verdict = Verdict::Warn;
                if let Some(grades) = &mut c.grades {
                    grades.behavior = Behavior::NonStrict;
                }
            }
            c
        })
        .collect();
    Report::new(&report.target, report.strict, checks, report.duration_ms)
}

/// Runs `client`, checks that the README explains every verdict but pass,
/// compares the rendering with its snapshot, and returns the report.
fn interop(client: &Client) -> Report {
    let run = host_ws(client);
    let report = settle_races(client.name, run.report);
    let text = render(client, &report);
    harness::assert_explained_for(
        client.heading,
        client.name,
        &report,
        &text,
        &[Verdict::Pass],
    );
    insta::with_settings!({
        snapshot_path => "../../fixtures/interop",
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => format!(
            "pulsecheck host ws --format json -- <{} driver of conformance/tests/interop/>: \
             every check but those passed; each is explained in its README.md",
            client.name
        ),
    }, {
        insta::assert_snapshot!(client.name, text);
    });
    if run.wall > Duration::from_secs(120) {
        eprintln!(
            "{} took {:.0} s:\n{}",
            client.name,
            run.wall.as_secs_f64(),
            run.stderr
        );
    }
    report
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate sits in the workspace")
        .to_path_buf()
}

/// Builds this package's example `name` with the profile and target directory
/// of this test binary (a no-op after `cargo test`, which builds examples) and
/// returns its path.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    // <target-dir>/<profile>/deps/<test binary>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary is in <target>/<profile>/deps");
    let target_dir = profile_dir.parent().expect("a target directory");
    let profile = match profile_dir.file_name().and_then(|p| p.to_str()) {
        Some("debug") | None => "dev",
        Some(other) => other,
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(workspace())
        .args(["build", "--quiet", "-p", "pulsecheck", "--example", name])
        .args(["--profile", profile, "--message-format", "json"])
        .arg("--target-dir")
        .arg(target_dir)
        .stdin(Stdio::null())
        .output()
        .expect("cargo starts");
    assert!(
        output.status.success(),
        "cargo could not build the example {name}:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The compiler-artifact message of the example names its executable.
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == name)
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .unwrap_or_else(|| panic!("cargo built the example {name} but named no executable"))
}

/// The version of `package` in the workspace's Cargo.lock.
fn locked_version(package: &str) -> String {
    let lock = std::fs::read_to_string(workspace().join("Cargo.lock")).expect("Cargo.lock");
    let entry = format!("name = \"{package}\"\nversion = \"");
    let at = lock
        .find(&entry)
        .unwrap_or_else(|| panic!("{package} is not in Cargo.lock"))
        + entry.len();
    lock[at..].split('"').next().unwrap_or_default().to_owned()
}

/// What a command prints on stdout, trimmed.
fn says(program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the command starts");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn tokio_tungstenite() -> Client {
    Client {
        name: "client-tokio-tungstenite",
        heading: "Client: tokio-tungstenite",
        agent: "tokio-tungstenite",
        versions: format!("tokio-tungstenite {}", locked_version("tokio-tungstenite")),
        command: vec![example("autobahn_client").into()],
        env: Vec::new(),
    }
}

fn websockets() -> Client {
    ensure("websockets");
    let dir = interop_dir().join("websockets-venv");
    let python = installed(dir.join("bin/python"), "websockets");
    installed(dir.join(".pulsecheck-stamp"), "websockets");
    let version = says(
        &python,
        &[
            "-c",
            "from importlib.metadata import version; print(version('websockets'))",
        ],
    );
    Client {
        name: "client-websockets",
        heading: "Client: websockets",
        agent: "websockets",
        versions: format!("websockets {version}"),
        command: vec![
            python.into(),
            scripts().join("clients/websockets_client.py").into(),
        ],
        // The driver's docs say why; the verdicts are the same with 10 s.
        env: vec![("WEBSOCKETS_CLIENT_CLOSE_TIMEOUT", "1".into())],
    }
}

fn ws_node() -> Client {
    ensure("ws");
    let dir = interop_dir().join("ws-node");
    let modules = installed(dir.join("node_modules"), "ws");
    installed(modules.join("ws"), "ws");
    installed(dir.join(".pulsecheck-stamp"), "ws");
    let package = std::fs::read_to_string(modules.join("ws/package.json")).expect("ws's package");
    let version = serde_json::from_str::<serde_json::Value>(&package).expect("JSON")["version"]
        .as_str()
        .unwrap_or("?")
        .to_owned();
    Client {
        name: "client-ws-node",
        heading: "Client: ws",
        agent: "ws",
        versions: format!("ws {version}"),
        command: vec!["node".into(), scripts().join("clients/ws_client.js").into()],
        env: vec![("NODE_PATH", modules.into())],
    }
}

/// Headless Chromium opening the host's page, which plays the whole loop with
/// the browser's `WebSocket` (`PULSECHECK_CHROMIUM` names another binary).
fn chromium(profile: &Path) -> Client {
    let binary = std::env::var_os("PULSECHECK_CHROMIUM").unwrap_or_else(|| {
        ensure("chromium");
        "chromium".into()
    });
    // Chromium's version is not pinned (Debian ships security updates as new
    // versions): it is printed, not snapshotted.
    eprintln!("browser: {}", says(&binary, &["--version"]));
    // A browser never exits: the run ends when the page has asked for the
    // reports, and the host then ends the browser's process group.
    let script = "exec \"$0\" --headless=new --no-sandbox --disable-gpu --no-first-run \
                  --user-data-dir=\"$1\" \"$PULSECHECK_PAGE_URL\"";
    Client {
        name: "client-chromium",
        heading: "Client: Chromium",
        agent: "headless-chromium",
        versions: "Debian's chromium".to_owned(),
        command: vec![
            "sh".into(),
            "-c".into(),
            script.into(),
            binary,
            profile.as_os_str().to_owned(),
        ],
        env: Vec::new(),
    }
}

/// tungstenite's published client baseline for Autobahn's groups 1–10 without
/// compression: every case OK but these.
const TUNGSTENITE_BASELINE: &[(&str, &str, &str)] = &[
    // It checks UTF-8 once a frame is complete, not inside a frame arriving.
    ("6.4.3", "NON-STRICT", "OK"),
    ("6.4.4", "NON-STRICT", "OK"),
    // The cases Autobahn leaves open.
    ("7.1.6", "INFORMATIONAL", "INFORMATIONAL"),
    ("7.13.1", "INFORMATIONAL", "INFORMATIONAL"),
    ("7.13.2", "INFORMATIONAL", "INFORMATIONAL"),
];

#[test]
fn tokio_tungstenite_client() {
    let report = interop(&tokio_tungstenite());
    let mut departures = Vec::new();
    let mut cases = 0;
    for check in &report.checks {
        let (Some(case), Some((behavior, close, _))) = (check.aliases.first(), grades(check))
        else {
            continue;
        };
        cases += 1;
        let expected = TUNGSTENITE_BASELINE
            .iter()
            .find(|(n, _, _)| n == case)
            .map_or(("OK", "OK"), |(_, b, c)| (*b, *c));
        if (behavior.as_str(), close.as_str()) != expected {
            departures.push(format!(
                "{case} ({}): {behavior} / {close}, the baseline says {expected:?}",
                check.id
            ));
        }
    }
    assert_eq!(cases, 301, "every Autobahn case is graded");
    assert!(
        departures.is_empty(),
        "tokio-tungstenite departs from tungstenite's published client baseline:\n{}",
        departures.join("\n")
    );
}

#[test]
fn websockets_client() {
    interop(&websockets());
}

#[test]
fn ws_client_on_node() {
    interop(&ws_node());
}

#[test]
fn headless_chromium_through_the_page() {
    let profile = std::env::temp_dir().join(format!(
        "pulsecheck-chromium-clients-{}",
        std::process::id()
    ));
    let client = chromium(&profile);
    let report = std::panic::catch_unwind(|| interop(&client));
    let _ = std::fs::remove_dir_all(&profile);
    if let Err(panic) = report {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn durations_are_taken_out_of_duty_messages() {
    let cases = [
        (
            "answered with a Close 1000 \"pulsecheck: closing\" and closed TCP 0 ms later",
            "answered with a Close 1000 \"pulsecheck: closing\" and closed TCP <ms> later",
        ),
        (
            "left TCP open 1 s; 0.5 s; 12 ms",
            "left TCP open <s>; <s>; <ms>",
        ),
        (
            "a Close 1016 was answered with a Close 1016; 44 bytes; case 9.1.1 s2",
            "a Close 1016 was answered with a Close 1016; 44 bytes; case 9.1.1 s2",
        ),
    ];
    for (line, want) in cases {
        assert_eq!(without_durations(line), want, "{line}");
    }
}
