//! What the interop tests (`interop_sse.rs`, `interop_ws.rs`, `interop_nginx.rs`,
//! `interop_ws_clients.rs`, and `host_ws.rs` for Chromium) share: installing what a test needs on first use ([`ensure`], which runs
//! `setup.sh`), starting a server and learning its URL from the line it prints,
//! the one-line-per-check rendering of a report, and the README tables that
//! explain every verdict other than pass.
//!
//! Each test includes this file with `#[path = "interop/harness.rs"] mod harness;`
//! and keeps its own `insta::assert_snapshot!`, so the snapshots name the test.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};

use pulsecheck::check::Verdict;
use pulsecheck::report::Report;
use url::Url;

/// How long a server may take to say it listens.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// The script that installs the servers.
pub(crate) const SETUP: &str = "conformance/tests/interop/setup.sh";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate sits in the workspace")
        .to_path_buf()
}

/// Where `setup.sh` installs: `$PULSECHECK_INTEROP_DIR`, else `target/interop`.
pub(crate) fn interop_dir() -> PathBuf {
    std::env::var_os("PULSECHECK_INTEROP_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/interop"))
}

/// `conformance/tests/interop/`: the servers' sources and the README.
pub(crate) fn scripts() -> PathBuf {
    workspace().join("conformance/tests/interop")
}

/// Installs `component` (`sse-starlette`, `better-sse`, `websockets`, `ws`,
/// `nginx`, `chromium`) with the pinned versions, by running `setup.sh COMPONENT`, once per
/// test process. The script takes a file lock, so test binaries starting at once
/// never install the same thing together, and its stamps make a run with
/// nothing to do take a few milliseconds. Fails the test with the script's own
/// words (which name the missing tool: python3, npm, apt-get…) when it cannot
/// install.
pub(crate) fn ensure(component: &str) {
    static DONE: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut done = DONE.lock().unwrap_or_else(PoisonError::into_inner);
    if done.iter().any(|c| c == component) {
        return;
    }
    let script = workspace().join(SETUP);
    let output = Command::new("bash")
        .arg(&script)
        .arg(component)
        .env("PULSECHECK_INTEROP_DIR", interop_dir())
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {SETUP} to install {component}: bash does not start ({e})")
        });
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "cannot install {component} for the interop tests: `{SETUP} {component}` \
         exited with {}:\n{said}",
        output.status
    );
    // Shown with the test's output when it fails: what was installed, or found.
    eprint!("{said}");
    done.push(component.to_owned());
}

/// Fails the test when `path`, which `setup.sh` installs, is missing.
pub(crate) fn installed(path: PathBuf, what: &str) -> PathBuf {
    assert!(
        path.exists(),
        "{what} is not installed ({} is missing), though {SETUP} said it was: \
         remove {} and run the test again",
        path.display(),
        interop_dir().display()
    );
    path
}

/// A running server; dropping it kills the process, whatever path the test takes.
pub(crate) struct Server {
    /// The name of its snapshot and log.
    pub(crate) name: &'static str,
    child: Child,
    log: PathBuf,
    /// The endpoint's URL, as the server printed it.
    pub(crate) url: String,
    /// What the server printed after the URL: the library versions it loaded.
    pub(crate) versions: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `command` (stderr to a log file), waits for its
    /// `listening on URL (versions)` line, then until the port accepts connections.
    pub(crate) fn start(name: &'static str, mut command: Command) -> Server {
        let log = interop_dir().join(format!("{name}.log"));
        let stderr = std::fs::File::create(&log).expect("the log file can be created");
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the {name} server: {e}"));
        let mut server = Server {
            name,
            child,
            log,
            url: String::new(),
            versions: String::new(),
        };
        let stdout = server.child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        // Reads the ready line, then drains stdout so the server never blocks on it.
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            for _ in lines {}
        });
        let line = match rx.recv_timeout(START_TIMEOUT) {
            Ok(line) => line,
            Err(_) => server.fail("did not print its `listening on` line"),
        };
        let Some((url, versions)) = line
            .strip_prefix("listening on ")
            .and_then(|rest| rest.split_once(' '))
        else {
            server.fail(&format!(
                "printed {line:?}, not `listening on URL (versions)`"
            ))
        };
        server.url = url.to_owned();
        server.versions = versions.to_owned();
        server.wait_until_it_answers();
        server
    }

    /// The port in the URL the server printed.
    pub(crate) fn port(&self) -> u16 {
        Url::parse(&self.url)
            .ok()
            .and_then(|u| u.port())
            .unwrap_or_else(|| self.fail(&format!("printed a URL without a port: {}", self.url)))
    }

    fn wait_until_it_answers(&mut self) {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port()));
        let started = Instant::now();
        while TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err() {
            if started.elapsed() > START_TIMEOUT {
                self.fail(&format!("does not accept connections on {addr}"));
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                self.fail(&format!("exited ({status})"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Fails the test with the end of the server's stderr.
    pub(crate) fn fail(&self, what: &str) -> ! {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        panic!(
            "the {} server {what}.\n\
             Its stderr ({}):\n{}",
            self.name,
            self.log.display(),
            tail.join("\n")
        );
    }
}

/// The snapshot text: target and versions, one line per check (`id verdict
/// message`, each through `normalise`), the verdict counts.
pub(crate) fn render(
    server: &Server,
    report: &Report,
    normalise: impl Fn(&str) -> String,
) -> String {
    let mut out = format!(
        "target: {} {}\n",
        normalise(&report.target),
        server.versions
    );
    for c in &report.checks {
        out.push_str(&format!(
            "{:<38} {:<7} {}\n",
            c.id,
            c.verdict.to_string(),
            normalise(&c.message)
        ));
    }
    let s = report.summary;
    out.push_str(&format!(
        "{} checks: {} pass, {} fail, {} warn, {} info, {} skipped, {} error\n",
        s.total(),
        s.pass,
        s.fail,
        s.warn,
        s.info,
        s.skipped,
        s.error
    ));
    out
}

/// The README's table rows under the heading that starts with `## {heading} `:
/// `(check id, verdict)` from lines like ``| `sse/cors/allow-origin` | warn | … |``.
fn explained(heading: &str) -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(scripts().join("README.md")).expect("the README");
    let heading = format!("## {heading} ");
    let mut rows = Vec::new();
    let mut inside = false;
    for line in readme.lines() {
        if line.starts_with("## ") {
            inside = line.starts_with(&heading);
            continue;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if inside && cells.len() > 3 && cells[1].starts_with('`') {
            rows.push((cells[1].trim_matches('`').to_owned(), cells[2].to_owned()));
        }
    }
    rows
}

/// Fails the test unless the README's table under `## {heading} …` names every
/// verdict other than pass in `report`, and nothing else.
pub(crate) fn assert_explained(heading: &str, server: &Server, report: &Report, text: &str) {
    assert_explained_for(heading, server.name, report, text, &[Verdict::Pass]);
}

/// [`assert_explained`] for a report of `name` that no [`Server`] of the
/// harness produced (a client under `pulsecheck host ws` or `host sse`); the
/// verdicts in `needs_no_row` need no row (a row that is there must still be
/// right).
pub(crate) fn assert_explained_for(
    heading: &str,
    name: &str,
    report: &Report,
    text: &str,
    needs_no_row: &[Verdict],
) {
    let rows = explained(heading);
    let mut unexplained = Vec::new();
    for c in &report.checks {
        let verdict = c.verdict.to_string();
        let row = rows.iter().any(|(id, v)| *id == c.id && *v == verdict);
        if !needs_no_row.contains(&c.verdict) && !row {
            unexplained.push(format!("{} {verdict}: {}", c.id, c.message));
        }
    }
    for (id, verdict) in &rows {
        let got = report.checks.iter().find(|c| c.id == *id);
        if got.is_none_or(|c| c.verdict.to_string() != *verdict) {
            unexplained.push(format!(
                "the README explains {id} {verdict}, but {name} got {}",
                got.map_or("no such check".to_owned(), |c| c.verdict.to_string())
            ));
        }
    }
    assert!(
        unexplained.is_empty(),
        "conformance/tests/interop/README.md must explain, under `## {heading} …`, each \
         verdict other than pass that {} gets, and only those:\n{}\n\nThe whole report:\n{text}",
        name,
        unexplained.join("\n")
    );
}

/// A multi-threaded runtime for one probe.
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("a runtime")
}

/// Where the number starting at `i` ends: digits, then `.` and digits if any
/// (`12`, `0.5`).
pub(crate) fn number_end(s: &[u8], i: usize) -> usize {
    let digits_from = |mut end: usize| {
        while s.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
        end
    };
    let end = digits_from(i);
    if s.get(end) == Some(&b'.') && s.get(end + 1).is_some_and(u8::is_ascii_digit) {
        digits_from(end + 1)
    } else {
        end
    }
}

/// Units of a duration and the placeholder a number in them becomes, longest
/// first.
const DURATION_UNITS: &[(&str, &str)] = &[
    (" ms", "<ms>"),
    ("ms", "<ms>"),
    (" µs", "<µs>"),
    ("µs", "<µs>"),
    (" us", "<µs>"),
    ("us", "<µs>"),
    (" ns", "<µs>"),
    ("ns", "<µs>"),
    (" s", "<s>"),
    ("s", "<s>"),
];

/// Whether a token may start at `s[i]`: at the start of the line, or after a
/// byte that belongs to no word, number or base64 value.
fn token_start(s: &[u8], i: usize) -> bool {
    i == 0 || !(s[i - 1].is_ascii_alphanumeric() || matches!(s[i - 1], b'.' | b'+' | b'/' | b'='))
}

/// Takes run-to-run variation out of one report line: `:port` becomes
/// `:<port>`, each duration (`12 ms`, `0.5 s`, `120µs`) its unit's placeholder,
/// and whatever `token` recognises where a token starts (its length in bytes
/// and what replaces it: a fresh key, a UUID) that replacement.
pub(crate) fn normalise_line(
    line: &str,
    port: Option<u16>,
    token: impl Fn(&[u8], usize) -> Option<(usize, &'static str)>,
) -> String {
    let line = match port {
        Some(port) => line.replace(&format!(":{port}"), ":<port>"),
        None => line.to_owned(),
    };
    let s = line.as_bytes();
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    while i < s.len() {
        if token_start(s, i) {
            if let Some((len, placeholder)) = token(s, i) {
                out.push_str(placeholder);
                i += len;
                continue;
            }
            if s[i].is_ascii_digit() {
                let end = number_end(s, i);
                let rest = &line[end..];
                let unit = DURATION_UNITS.iter().find(|(unit, _)| {
                    rest.strip_prefix(unit)
                        .is_some_and(|r| !r.starts_with(|c: char| c.is_alphanumeric()))
                });
                match unit {
                    Some((unit, placeholder)) => {
                        out.push_str(placeholder);
                        i = end + unit.len();
                    }
                    None => {
                        out.push_str(&line[i..end]);
                        i = end;
                    }
                }
                continue;
            }
        }
        let c = line[i..].chars().next().expect("i is on a char boundary");
        out.push(c);
        i += c.len_utf8();
    }
    out
}
