//! Interop tests: `pulsecheck probe` against real third-party SSE servers.
//!
//! Each test starts one server from the registries on 127.0.0.1 — sse-starlette
//! under uvicorn (PyPI), better-sse on Express (npm) — written as the library's own
//! docs show (`conformance/tests/interop/*/`), probes it with every SSE check exactly
//! as `pulsecheck probe URL --observe 6 -j 8` does, and compares a timing-free rendering
//! of the report with a reviewed insta snapshot in `fixtures/interop/`.
//! `conformance/tests/interop/README.md` explains every verdict other than pass, and a
//! test keeps that table in step with what the servers get.
//!
//! Each test installs its server on first use, with the pinned versions, by running
//! `conformance/tests/interop/setup.sh` for it (into `target/interop/`, or
//! `$PULSECHECK_INTEROP_DIR`); later runs find the stamps and go straight on. When
//! a tool is missing (python3, npm) the test fails and names it: it never passes
//! by skipping.
//!
//! # The rendering
//!
//! One line per check, `id verdict message`, after a line naming the target and the
//! library versions the server reported, and before the verdict counts. [`normalise`]
//! takes out what changes from run to run:
//!
//! - the server's port becomes `<port>`;
//! - a UUID (better-sse's event ids) becomes `<uuid>`;
//! - a number of milliseconds or seconds (`3 ms`, `0.5 s`) becomes `<ms>` or `<s>`;
//! - a count that grows with how long the stream was read (`451 bytes`, `12 ids`,
//!   `12 events`, `10 reads`, `49 CRLF`) becomes `<n>`, except 0, which says that
//!   something never appeared;
//! - the Last-Event-ID replay check's message keeps its first finding only (how
//!   many points it resumed from depends on how many events came while it
//!   watched), with every id and count in it as `<id>` and `<n>`, and its lists
//!   of ids as `(<ids>)`: which events it saw depends on timing.
//!
//! Verdicts that need a longer look than 6 s are skipped, stably: the heartbeat
//! check needs 16 s (both servers pass it then; see the README).

#[path = "interop/harness.rs"]
mod harness;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use harness::{Server, ensure, installed, interop_dir, scripts};
use pulsecheck::http::{Client, ClientConfig};
use pulsecheck::registry::select;
use pulsecheck::report::Report;
use pulsecheck::runner::{RunOptions, run};
use pulsecheck::sse::checks::CHECKS;
use pulsecheck::sse::probe::{ProbeOptions, SseProbe};
use url::Url;

/// How long the main observation reads each stream (`--observe`).
const OBSERVE: Duration = Duration::from_secs(6);

fn sse_starlette() -> Server {
    ensure("sse-starlette");
    let dir = interop_dir();
    let python = installed(dir.join("venv/bin/python"), "sse-starlette");
    installed(dir.join("venv/.pulsecheck-stamp"), "sse-starlette");
    let mut command = Command::new(python);
    command
        .arg(scripts().join("sse_starlette/server.py"))
        .args(["--port", "0"]);
    Server::start("sse-starlette", command)
}

fn better_sse() -> Server {
    ensure("better-sse");
    let modules = installed(interop_dir().join("node/node_modules"), "better-sse");
    installed(modules.join("better-sse"), "better-sse");
    installed(interop_dir().join("node/.pulsecheck-stamp"), "better-sse");
    let mut command = Command::new("node");
    command
        .env("NODE_PATH", &modules)
        .arg(scripts().join("better_sse/server.cjs"))
        .arg("0");
    Server::start("better-sse", command)
}

/// Probes `url` with every SSE check, as `pulsecheck probe URL --observe 6 -j 8` does.
async fn probe(url: &str) -> Report {
    let client = Client::new(ClientConfig::default()).expect("a client");
    let target = Url::parse(url).expect("the server printed a URL");
    let options = ProbeOptions {
        observe: OBSERVE,
        ..ProbeOptions::default()
    };
    let probe = Arc::new(SseProbe::new(client, target, options));
    // As the CLI does: the target must answer before the checks run.
    if let Err(e) = probe.open(&[]).await {
        panic!("{url} does not answer: {e}");
    }
    let selected: Vec<_> = select(CHECKS, &[], &[]).into_iter().copied().collect();
    let started = Instant::now();
    let result = run(
        Arc::clone(&probe),
        &selected,
        RunOptions {
            jobs: 8,
            check_timeout: Duration::from_secs(30),
            deadline: Duration::from_secs(60),
            strict: false,
            progress: false,
        },
    )
    .await;
    let elapsed = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Report::new(url, false, result.results, elapsed)
}

/// Whether `s[at..]` starts a UUID (8-4-4-4-12 hex digits).
fn uuid_at(s: &[u8], at: usize) -> bool {
    const GROUPS: [usize; 5] = [8, 4, 4, 4, 12];
    let mut i = at;
    for (n, len) in GROUPS.iter().enumerate() {
        if n > 0 {
            if s.get(i) != Some(&b'-') {
                return false;
            }
            i += 1;
        }
        match s.get(i..i + len) {
            Some(group) if group.iter().all(u8::is_ascii_hexdigit) => i += len,
            _ => return false,
        }
    }
    !s.get(i).is_some_and(u8::is_ascii_alphanumeric)
}

/// Words after a count that grows with the observation window.
const WINDOW_COUNTS: &[&str] = &[
    " bytes",
    " ids",
    " numeric ids",
    " distinct ids",
    " events",
    " reads",
    " LF",
    " CRLF",
    " CR",
];

/// The replay check's message without what depends on timing (see the module
/// docs), or `None` for other messages.
fn normalise_replay(message: &str) -> Option<String> {
    if !(message.starts_with("after Last-Event-ID") || message.starts_with("resumed from")) {
        return None;
    }
    let head = message.split("; ").next().unwrap_or(message);
    let mut out = String::with_capacity(head.len());
    let mut chars = head.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                for quoted in chars.by_ref() {
                    if quoted == '"' {
                        break;
                    }
                }
                out.push_str("\"<id>\"");
            }
            '(' if chars.peek() == Some(&'i') => {
                let rest: String = chars.clone().take(4).collect();
                if rest.starts_with("id ") || rest.starts_with("ids ") {
                    for inner in chars.by_ref() {
                        if inner == ')' {
                            break;
                        }
                    }
                    out.push_str("(<ids>)");
                } else {
                    out.push(c);
                }
            }
            d if d.is_ascii_digit() => {
                while chars.peek().is_some_and(char::is_ascii_digit) {
                    chars.next();
                }
                out.push_str("<n>");
            }
            other => out.push(other),
        }
    }
    Some(out)
}

/// Takes run-to-run variation out of a report line (see the module docs): the
/// harness's normaliser, with UUIDs and window counts as its tokens.
fn normalise(line: &str, port: u16) -> String {
    if let Some(replay) = normalise_replay(line) {
        return replay;
    }
    harness::normalise_line(line, Some(port), |s, i| {
        if uuid_at(s, i) {
            return Some((36, "<uuid>"));
        }
        if !s[i].is_ascii_digit() {
            return None;
        }
        let end = harness::number_end(s, i);
        let counts = s.get(end..).is_some_and(|rest| {
            WINDOW_COUNTS.iter().any(|w| {
                rest.strip_prefix(w.as_bytes())
                    .is_some_and(|r| !r.first().is_some_and(u8::is_ascii_alphanumeric))
            })
        });
        (counts && &s[i..end] != b"0").then_some((end - i, "<n>"))
    })
}

/// Probes a started server, checks every non-pass verdict is explained in the
/// README, and compares the rendering with the snapshot.
fn interop(server: Server) {
    let report = harness::runtime().block_on(probe(&server.url));
    assert_eq!(report.checks.len(), CHECKS.len(), "every check ran");
    let port = server.port();
    let text = harness::render(&server, &report, |line| normalise(line, port));
    harness::assert_explained(server.name, &server, &report, &text);

    insta::with_settings!({
        snapshot_path => "../../fixtures/interop",
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => format!(
            "pulsecheck probe --observe 6 against the {} app of conformance/tests/interop/; \
             every verdict but pass is explained in its README.md",
            server.name
        ),
    }, {
        insta::assert_snapshot!(server.name, text);
    });
    drop(server);
}

#[test]
fn sse_starlette_under_uvicorn() {
    interop(sse_starlette());
}

#[test]
fn better_sse_on_express() {
    interop(better_sse());
}

#[test]
fn the_normaliser_strips_timings_ports_ids_and_window_counts() {
    let cases = [
        (
            "plain: head after 3 ms, first bytes after 12ms",
            "plain: head after <ms>, first bytes after <ms>",
        ),
        (
            "longest silence 0.5 s (uncompressed 1.0 s); 6 s observation",
            "longest silence <s> (uncompressed <s>); <s> observation",
        ),
        ("0 LF, 49 CRLF, 0 CR", "0 LF, <n> CRLF, 0 CR"),
        ("12 events, 12 distinct ids", "<n> events, <n> distinct ids"),
        (
            "10 reads, 0 of them with several events",
            "<n> reads, 0 of them with several events",
        ),
        (
            "all 6 ids are safe; 451 bytes",
            "all <n> ids are safe; <n> bytes",
        ),
        (
            "target http://127.0.0.1:4242/sse, 200 OK, 8 concurrent streams, 3 streams",
            "target http://127.0.0.1:<port>/sse, 200 OK, 8 concurrent streams, 3 streams",
        ),
        (
            "after Last-Event-ID \"ebb678a1-2bbf-4d09-a5a3-6ade65150818\" (the earliest id seen): 2 of the 2 missed event(s) never came (ids \"ebb678a1-2bbf-4d09-a5a3-6ade65150818\", \"x\"); the other 1 point(s) replayed exactly",
            "after Last-Event-ID \"<id>\" (the earliest id seen): <n> of the <n> missed event(s) never came (<ids>)",
        ),
        (
            "after Last-Event-ID \"1\" (the earliest id seen): 1 event(s) the client already had came again (id 1); also wrong from 2 of the other 2 point(s)",
            "after Last-Event-ID \"<id>\" (the earliest id seen): <n> event(s) the client already had came again (<ids>)",
        ),
        (
            "id 834fddb4-7887-42e9-82b0-05179625011a, HTTP/1.1, retry: 3000",
            "id <uuid>, HTTP/1.1, retry: 3000",
        ),
    ];
    for (line, want) in cases {
        assert_eq!(normalise(line, 4242), want, "{line}");
    }
}
