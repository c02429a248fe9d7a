//! The report files as a user gets them from the binary: `--format html -o FILE`,
//! and `--format autobahn --outdir DIR` (Autobahn|Testsuite's `index.json`, a file
//! per case, `index.html`), against `pulsecheck serve ws` in its own process.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn pulsecheck(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pulsecheck"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `pulsecheck serve ws` running in a process of its own, stopped when dropped.
struct ReferenceServer {
    child: Child,
    url: String,
}

impl ReferenceServer {
    /// Starts the WebSocket reference server, with `fault` if given, and reads
    /// the URL it prints ("serving ws://127.0.0.1:PORT/ …").
    fn start(fault: Option<&str>) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_pulsecheck"));
        command.args(["serve", "ws"]);
        if let Some(fault) = fault {
            command.args(["--fault", fault]);
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the server starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .split_whitespace()
            .nth(1)
            .filter(|url| url.starts_with("ws://127.0.0.1:"))
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .to_owned();
        ReferenceServer { child, url }
    }
}

impl Drop for ReferenceServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("pulsecheck-reports-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn format_html_writes_one_page_with_each_failure_and_its_transcript() {
    // A server that echoes invalid UTF-8 fails the UTF-8 checks.
    let server = ReferenceServer::start(Some("skips-utf8-validation"));
    let dir = scratch("html");
    std::fs::create_dir_all(&dir).unwrap();
    let page_path = dir.join("report.html");
    let out = pulsecheck(&[
        "probe",
        &server.url,
        "--only",
        "ws/utf8/*",
        "--only",
        "ws/handshake/accept",
        "--format",
        "html",
        "-o",
        page_path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains(" — FAILED"), "{}", stderr(&out));
    let page = std::fs::read_to_string(&page_path).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>\n"));
    assert!(page.ends_with("</html>\n"));
    assert!(page.contains(&format!("<dt>Target</dt><dd>{}</dd>", server.url)));
    assert!(page.contains("<p class=\"run failed\">FAILED: "));
    // Self-contained: nothing to fetch.
    for external in ["src=", "href=\"http", "@import", "url("] {
        assert!(!page.contains(external), "{external}");
    }
    // The matrix has the handshake group and the UTF-8 cases' groups.
    assert!(page.contains("<a href=\"#g-0\">ws/handshake</a>"));
    assert!(page.contains("<h2>6.3 · ws/utf8</h2>"), "no group 6.3");
    // A failure opens to its evidence, the bytes escaped as the human report shows
    // them.
    let failure = page
        .split("<details class=\"check v-fail\"")
        .nth(1)
        .and_then(|rest| rest.split("</details>").next())
        .expect("a failure");
    for part in [
        "<dt>Requirement</dt>",
        "<dt>Expected</dt>",
        "<dt>Actual</dt>",
        "<pre class=\"transcript\">",
    ] {
        assert!(failure.contains(part), "{part} in {failure}");
    }
    assert!(
        failure.contains(" ms &gt; \\x81"),
        "a sent frame in {failure}"
    );
    // The handshake check passed: one line.
    assert!(page.contains("<div class=\"check v-pass\" id=\"c-ws/handshake/accept\">"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn format_autobahn_with_an_outdir_writes_autobahns_files() {
    let server = ReferenceServer::start(None);
    let dir = scratch("autobahn").join("reports");
    let out = pulsecheck(&[
        "probe",
        &server.url,
        "--only",
        "1.1.*",
        "--only",
        "2.1",
        "--only",
        "ws/handshake/accept",
        "--format",
        "autobahn",
        "--agent",
        "Test Agent 1.0",
        "--outdir",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "wrote index.json, index.html and 9 case reports into {}",
            dir.display()
        )),
        "{}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty(), "the report went into the directory");

    let index = read_json(&dir.join("index.json"));
    let cases = index["Test Agent 1.0"]
        .as_object()
        .expect("the agent's cases");
    // Autobahn's cases only, keys sorted as Autobahn sorts them.
    let numbers: Vec<&str> = cases.keys().map(String::as_str).collect();
    assert_eq!(
        numbers,
        [
            "1.1.1", "1.1.2", "1.1.3", "1.1.4", "1.1.5", "1.1.6", "1.1.7", "1.1.8", "2.1"
        ]
    );
    for (running, number) in numbers.iter().enumerate() {
        let entry = &cases[*number];
        assert_eq!(entry["behavior"], "OK", "{number}: {entry}");
        assert_eq!(entry["behaviorClose"], "OK", "{number}: {entry}");
        assert_eq!(entry["remoteCloseCode"], 1000, "{number}: {entry}");
        let file = format!("test_agent_1_0_case_{}.json", number.replace('.', "_"));
        assert_eq!(entry["reportfile"], file.as_str());
        // The case's own file, with Autobahn's fields.
        let case = read_json(&dir.join(&file));
        assert_eq!(case["id"], *number);
        assert_eq!(case["case"], running + 1);
        assert_eq!(case["agent"], "Test Agent 1.0");
        assert_eq!(case["isServer"], false);
        assert_eq!(case["behavior"], "OK");
        assert_eq!(case["duration"], entry["duration"]);
        assert!(case["description"].as_str().is_some_and(|d| !d.is_empty()));
    }
    let page = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(page.contains("<p class=\"run passed\">PASSED: "));
    assert!(page.contains("<a href=\"#g-0\">ws/handshake</a>"));
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        11,
        "index.json, index.html, 9 cases"
    );
    std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
}

#[test]
fn an_outdir_is_refused_before_the_run_unless_it_can_be_written() {
    let dir = scratch("refused");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("a-file");
    std::fs::write(&file, "").unwrap();
    let under_a_file = file.join("reports");
    let cases = [
        (
            vec!["--format", "autobahn", "--outdir", under_a_file.to_str().unwrap()],
            format!("cannot write the reports into {}: ", under_a_file.display()),
        ),
        (
            vec!["--format", "html", "--outdir", dir.to_str().unwrap()],
            "--outdir DIR holds Autobahn|Testsuite's report files and goes with --format autobahn (not html)".to_owned(),
        ),
    ];
    for (args, says) in cases {
        let started = Instant::now();
        let mut all = vec!["probe"];
        all.extend(args);
        let out = pulsecheck(&all);
        assert_eq!(out.status.code(), Some(2), "{all:?}");
        assert!(stderr(&out).contains(&says), "{all:?}: {}", stderr(&out));
        // Refused at once: no probe of the reference servers ran.
        assert!(started.elapsed() < Duration::from_secs(3));
        assert!(
            !stderr(&out).contains("reference server"),
            "{}",
            stderr(&out)
        );
    }
    let entries: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(entries.len(), 1, "nothing but the file");
    std::fs::remove_dir_all(&dir).unwrap();
}
