//! Self-tests of the WebSocket checks against the reference echo server: every
//! check passes against the conformant server and fails against the fault it
//! exists to detect. A table ties checks to faults; a test keeps it complete.
//! The heartbeat checks only measure (INFO): their tests run them against servers
//! configured to ping, to close idle connections or to pong late, and check the
//! numbers they report. The permessage-deflate checks and compression cases are
//! self-tested against `serve ws --deflate` in `probe_deflate.rs`.

use std::sync::Arc;
use std::time::Duration;

use pulsecheck::check::Verdict;
use pulsecheck::http::{Client, ClientConfig};
use pulsecheck::registry::{Pattern, lint, select};
use pulsecheck::report::CheckResult;
use pulsecheck::runner::{RunOptions, run};
use pulsecheck::serve::ws::{Fault, WsServerConfig, start};
use pulsecheck::ws::checks::{CHECKS, WsProbe};
use url::Url;

#[path = "support/loopback.rs"]
mod loopback;

/// Each check and the fault that must make it fail.
const FAULTS: &[(&str, &str)] = &[
    ("ws/handshake/accept", "wrong-accept"),
    ("ws/handshake/version", "ignores-version"),
    ("ws/handshake/subprotocol", "picks-unoffered-subprotocol"),
    ("ws/handshake/no-unrequested-extension", "enables-deflate"),
    (
        "ws/masking/unmasked-client-frame",
        "accepts-unmasked-frames",
    ),
    ("ws/masking/server-frames-unmasked", "masks-server-frames"),
    ("ws/ping/pong", "no-pong"),
    // 2 s late: after the 1 s a loopback server gets to answer.
    ("ws/ping/pong", "pongs-late"),
    ("ws/close/code-1015-refused", "echoes-invalid-close-codes"),
    ("ws/close/server-closes-tcp", "never-closes-tcp"),
];

/// Checks the reference server has no fault for yet, and why.
const NO_FAULT_YET: &[(&str, &str)] = &[
    (
        "ws/handshake/missing-key",
        "the server always validates the key",
    ),
    (
        "ws/handshake/malformed-key",
        "the server always validates the key",
    ),
    (
        "ws/handshake/token-case",
        "the server's token matching is fixed",
    ),
    (
        "ws/framing/non-minimal-16",
        "the framing crate always rejects non-minimal lengths; a careless server below fails it",
    ),
    (
        "ws/framing/non-minimal-64",
        "the framing crate always rejects non-minimal lengths; a careless server below fails it",
    ),
    (
        "ws/framing/length-top-bit",
        "the framing crate always rejects the top bit; a careless server below fails it",
    ),
    (
        "ws/close/new-iana-codes",
        "the server's close-code table is fixed",
    ),
    (
        "ws/echo/detected",
        "information only: the clean server echoes",
    ),
    (
        "ws/robustness/drop-mid-message",
        "the server releases every connection",
    ),
    (
        "ws/robustness/concurrent-echo",
        "the server has no connection limit below 8",
    ),
    (
        "ws/heartbeat/pong-latency",
        "information only: measured against pongs-late and no-pong below",
    ),
    (
        "ws/heartbeat/server-pings",
        "information only: measured against ping_interval below",
    ),
    (
        "ws/heartbeat/idle-timeout",
        "information only: measured against idle_timeout below",
    ),
    (
        "ws/heartbeat/unanswered-pings",
        "information only: measured against ping_interval with idle_timeout below",
    ),
];

async fn probe(fault: Option<&str>, only: &str) -> Vec<CheckResult> {
    let fault = fault.map(|f| f.parse::<Fault>().expect("a known fault"));
    let config = WsServerConfig {
        fault,
        ..WsServerConfig::default()
    };
    probe_with(config, WsProbe::DEFAULT_OBSERVE, only).await
}

/// Runs the checks matching `only` against a server started with `config`,
/// watching idle connections for `observe`.
async fn probe_with(config: WsServerConfig, observe: Duration, only: &str) -> Vec<CheckResult> {
    let server = start(config).await.expect("the reference server starts");
    let url = Url::parse(&server.url()).expect("a URL");
    let client = Client::new(ClientConfig::default()).expect("a client");
    let probe = WsProbe::new(client, url, Duration::from_secs(3)).with_observe(observe);
    let probe = Arc::new(probe);
    let only = [Pattern::new(only).expect("a pattern")];
    let selected: Vec<_> = select(CHECKS, &only, &[]).into_iter().copied().collect();
    let options = RunOptions {
        jobs: 16,
        check_timeout: Duration::from_secs(20),
        deadline: Duration::from_secs(40),
        strict: true,
        progress: false,
    };
    let results = run(probe, &selected, options).await.results;
    drop(server);
    results
}

#[test]
fn every_check_has_a_fault_or_a_reason() {
    assert_eq!(lint(CHECKS), Vec::<String>::new());
    for check in CHECKS {
        let id = check.info.id;
        let covered =
            FAULTS.iter().any(|(c, _)| *c == id) || NO_FAULT_YET.iter().any(|(c, _)| *c == id);
        assert!(covered, "{id} has neither a fault self-test nor a reason");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_check_passes_against_the_clean_server() {
    let results = probe(None, "*").await;
    assert_eq!(results.len(), CHECKS.len());
    let problems: Vec<String> = results
        .iter()
        .filter(|r| !matches!(r.verdict, Verdict::Pass | Verdict::Info))
        .map(|r| format!("{}: {} — {}", r.id, r.verdict, r.message))
        .collect();
    assert!(
        problems.is_empty(),
        "the clean server failed: {problems:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_check_fails_against_its_fault() {
    let runs = FAULTS
        .iter()
        .map(|(check, fault)| async move { (*check, *fault, probe(Some(fault), check).await) });
    let mut problems = Vec::new();
    for (check, fault, results) in futures::future::join_all(runs).await {
        match results.iter().find(|r| r.id == check) {
            Some(r) if r.verdict == Verdict::Fail => {
                assert!(
                    r.evidence.as_ref().is_some_and(|e| !e.actual.is_empty()),
                    "{check}: evidence"
                );
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

/// A careless echo server, on raw TCP: it answers every data frame twice and
/// trusts whatever length a frame claims, so a 64-bit length with its top bit set
/// leaves it waiting for 2^63 bytes, silent. Pings are answered, a Close echoed.
async fn start_trusting_echo() -> Url {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

    async fn serve(stream: tokio::net::TcpStream) -> std::io::Result<()> {
        let mut stream = BufReader::new(stream);
        let mut key = None;
        loop {
            let mut line = String::new();
            if stream.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("sec-websocket-key")
            {
                key = Some(value.trim().to_owned());
            }
            if line == "\r\n" {
                break;
            }
        }
        let accept = pulsecheck_ws::handshake::accept_key(&key.unwrap_or_default());
        let reply = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
        );
        stream.write_all(reply.as_bytes()).await?;
        loop {
            let mut head = [0u8; 2];
            stream.read_exact(&mut head).await?;
            let len = match head[1] & 0x7F {
                126 => u64::from(stream.read_u16().await?),
                127 => stream.read_u64().await?,
                n => u64::from(n),
            };
            let mut mask = [0u8; 4];
            stream.read_exact(&mut mask).await?;
            // The careless part: any length is believed, and awaited.
            let mut payload = Vec::new();
            (&mut stream).take(len).read_to_end(&mut payload).await?;
            for (i, byte) in payload.iter_mut().enumerate() {
                *byte ^= mask[i % 4];
            }
            let opcode = head[0] & 0x0F;
            let answers = match opcode {
                0..=2 => 2,
                8 | 9 => 1,
                _ => 0,
            };
            let mut frame = vec![0x80 | if opcode == 9 { 10 } else { opcode }];
            match payload.len() {
                n @ 0..=125 => frame.push(n as u8),
                n @ 126..=0xFFFF => {
                    frame.push(126);
                    frame.extend_from_slice(&(n as u16).to_be_bytes());
                }
                n => {
                    frame.push(127);
                    frame.extend_from_slice(&(n as u64).to_be_bytes());
                }
            }
            frame.extend_from_slice(&payload);
            for _ in 0..answers {
                stream.write_all(&frame).await?;
            }
            if opcode == 8 {
                return Ok(());
            }
        }
    }

    let addr = loopback::serve(serve).await;
    Url::parse(&format!("ws://{addr}/")).expect("a URL")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_believes_any_length_fails_the_framing_checks() {
    let url = start_trusting_echo().await;
    let client = Client::new(ClientConfig::default()).expect("a client");
    let probe = Arc::new(WsProbe::new(client, url, Duration::from_secs(3)));
    let only = [Pattern::new("ws/framing/*").expect("a pattern")];
    let selected: Vec<_> = select(CHECKS, &only, &[]).into_iter().copied().collect();
    let options = RunOptions {
        jobs: 4,
        check_timeout: Duration::from_secs(20),
        deadline: Duration::from_secs(40),
        strict: true,
        progress: false,
    };
    let results = run(probe, &selected, options).await.results;
    assert_eq!(results.len(), 3);
    for r in &results {
        assert_eq!(r.verdict, Verdict::Fail, "{}: {}", r.id, r.message);
    }
    let message = |id: &str| {
        results
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.message.clone())
            .unwrap_or_default()
    };
    // Non-minimal lengths are echoed (twice) as if nothing were wrong.
    let non_minimal = message("ws/framing/non-minimal-16");
    assert!(
        non_minimal.contains("answered as if nothing was wrong"),
        "{non_minimal}"
    );
    // The top-bit length leaves the server waiting, silent: the check waits the
    // connection's answer wait, not the probe's 3 s, and says so.
    let top_bit = message("ws/framing/length-top-bit");
    assert!(top_bit.contains("no reaction within "), "{top_bit}");
    assert!(
        top_bit.contains(" the connection took to open"),
        "{top_bit}"
    );
    let waited = number_after(&top_bit, "no reaction within ");
    assert!((1.0..3.0).contains(&waited), "{top_bit}");
}

/// The window of the heartbeat tests: long enough for several 0.3-0.5 s pings.
const OBSERVE: Duration = Duration::from_secs(3);

/// Runs the heartbeat checks against a server started with `config`.
async fn heartbeats(config: WsServerConfig) -> Vec<CheckResult> {
    probe_with(config, OBSERVE, "ws/heartbeat/*").await
}

/// Asserts that check `id` saw its idle connection open for the whole window.
fn assert_kept_open(results: &[CheckResult], id: &str) {
    let message = info(results, id);
    assert!(
        message.contains("kept open for the whole 3.0 s window"),
        "{message}"
    );
    assert!(
        message.ends_with("--observe extends the window"),
        "{message}"
    );
}

/// The message of the INFO result of check `id`.
fn info(results: &[CheckResult], id: &str) -> String {
    let r = results
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("{id} did not run"));
    assert_eq!(r.verdict, Verdict::Info, "{id}: {}", r.message);
    assert!(r.evidence.as_ref().is_some_and(|e| !e.actual.is_empty()));
    r.message.clone()
}

/// The number right after `marker` in `message`.
fn number_after(message: &str, marker: &str) -> f64 {
    let at = message
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker:?} in {message:?}"));
    let digits: String = message[at + marker.len()..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no number after {marker:?} in {message:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_checks_measure_a_server_that_neither_pings_nor_times_out() {
    let results = heartbeats(WsServerConfig::default()).await;
    let latency = info(&results, "ws/heartbeat/pong-latency");
    assert!(latency.starts_with("10 of 10 pings answered"), "{latency}");
    assert!(number_after(&latency, "max ") < 1000.0, "{latency}");
    assert!(number_after(&latency, "min ") <= number_after(&latency, "median "));
    let pings = info(&results, "ws/heartbeat/server-pings");
    assert!(pings.starts_with("no ping within 3.0 s"), "{pings}");
    assert!(pings.contains("--observe"), "{pings}");
    assert_kept_open(&results, "ws/heartbeat/idle-timeout");
    assert_kept_open(&results, "ws/heartbeat/unanswered-pings");
    let unanswered = info(&results, "ws/heartbeat/unanswered-pings");
    assert!(
        unanswered.starts_with("no ping within 3.0 s"),
        "{unanswered}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_pings_are_counted_at_their_interval() {
    let config = WsServerConfig {
        ping_interval: Some(Duration::from_millis(500)),
        ..WsServerConfig::default()
    };
    let results = heartbeats(config).await;
    let pings = info(&results, "ws/heartbeat/server-pings");
    let every = number_after(&pings, "pinged every ");
    assert!((0.45..=1.0).contains(&every), "{pings}");
    let count = number_after(&pings, "(");
    assert!((2.0..=7.0).contains(&count), "{pings}");
    let first = number_after(&pings, "first after ");
    assert!((0.45..=1.5).contains(&first), "{pings}");
    // Pinged, never closed, answering or not.
    assert_kept_open(&results, "ws/heartbeat/idle-timeout");
    assert_kept_open(&results, "ws/heartbeat/unanswered-pings");
    let unanswered = info(&results, "ws/heartbeat/unanswered-pings");
    assert!(number_after(&unanswered, "") >= 2.0, "{unanswered}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_timeout_is_measured_with_its_close_code() {
    let config = WsServerConfig {
        idle_timeout: Some(Duration::from_secs(1)),
        ..WsServerConfig::default()
    };
    let results = probe_with(config, OBSERVE, "ws/heartbeat/idle-timeout").await;
    let idle = info(&results, "ws/heartbeat/idle-timeout");
    let after = number_after(&idle, "closed after ");
    assert!((0.9..=2.5).contains(&after), "{idle}");
    assert!(idle.contains(" s with 1001"), "{idle}");
    assert!(!idle.contains("--observe"), "{idle}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_answers_pings_is_told_from_an_idle_one() {
    let config = WsServerConfig {
        ping_interval: Some(Duration::from_millis(300)),
        idle_timeout: Some(Duration::from_millis(1200)),
        ..WsServerConfig::default()
    };
    let results = heartbeats(config).await;
    // Its pongs keep the client that answers alive.
    assert_kept_open(&results, "ws/heartbeat/idle-timeout");
    let unanswered = info(&results, "ws/heartbeat/unanswered-pings");
    let pings = number_after(&unanswered, "");
    assert!((2.0..=5.0).contains(&pings), "{unanswered}");
    let after = number_after(&unanswered, "closed after ");
    assert!((1.1..=2.8).contains(&after), "{unanswered}");
    assert!(unanswered.contains(" s with 1001"), "{unanswered}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pong_latency_reports_late_and_missing_pongs() {
    let (late, none) = tokio::join!(
        probe(Some("pongs-late"), "ws/heartbeat/pong-latency"),
        probe(Some("no-pong"), "ws/heartbeat/pong-latency"),
    );
    // A pong 2 s late comes after the answer wait of a loopback connection (1 s,
    // as its opening takes well under 50 ms), so it counts as missing.
    for message in [late, none] {
        let message = info(&message, "ws/heartbeat/pong-latency");
        assert!(message.starts_with("0 of 10 pings answered"), "{message}");
        assert!(message.contains("ping 1: no pong within "), "{message}");
        assert!(
            message.contains(" the connection took to open"),
            "{message}"
        );
        let waited = number_after(&message, "no pong within ");
        assert!((1.0..2.0).contains(&waited), "{message}");
    }
}
