//! `pulsecheck host ws`: the host speaks Autobahn|Testsuite's fuzzingserver
//! protocol to a tokio-tungstenite client playing the Autobahn client loop
//! (as tungstenite's `autobahn-client` example does), with a small catalogue of
//! cases made here (the real catalogue is tested by its own tests): the count,
//! cases echoed and graded, case information and status, reports, stopping, bad
//! requests each refused with a close code and a reason, several agents at
//! once, TLS, the page, and the host's bounds. The CLI's own tests (`-- CMD`,
//! exit codes) run the binary.

#[path = "interop/harness.rs"]
#[allow(
    dead_code,
    reason = "this test uses only the install helper, for Chromium"
)]
mod harness;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt as _, StreamExt as _};
use pulsecheck::check::{CheckInfo, Evidence, Level, Outcome, Source, Verdict};
use pulsecheck::host::ws::server::{
    self, HostConfig, HostEvent, ReportsRequest, RunningHost, StopReason,
};
use pulsecheck::host::ws::session::ClientSession;
use pulsecheck::http::RawIo;
use pulsecheck::registry::Check;
use pulsecheck::ws::autobahn::fuzzer::{Behavior, CloseBehavior};
use pulsecheck::ws::autobahn::grades::Grades;
use pulsecheck_ws::handshake::{ServerResponse, validate_client_request};
use pulsecheck_ws::{
    Assembled, CloseCode, FrameConfig, MessageKind, Opcode, Role, Status, StreamReader,
    encode_message, write_close_body,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

// ---------------------------------------------------------------------------
// The cases: a minimal server-side player on the framing crate.

/// Answers the client's handshake with a correct 101.
async fn open(session: &ClientSession) -> Option<(Box<dyn RawIo>, Vec<u8>)> {
    let mut upgrade = session.take()?;
    let Ok(Status::Complete((request, _))) = validate_client_request(&upgrade.request.raw) else {
        return None;
    };
    let mut answer = Vec::new();
    ServerResponse::accept(&request, &[]).write(&mut answer);
    upgrade.io.write_all(&answer).await.ok()?;
    Some((upgrade.io, upgrade.leftover))
}

/// What the client sent next.
#[derive(Debug, PartialEq, Eq)]
enum Received {
    Message(MessageKind, Vec<u8>),
    Close(Option<u16>),
    Control,
}

/// Reads the next message, control frame or Close of the client.
async fn receive(
    io: &mut Box<dyn RawIo>,
    reader: &mut StreamReader,
    buf: &mut Vec<u8>,
) -> Option<Received> {
    loop {
        let got = match reader.read(buf) {
            Ok(Status::Complete((frame, used))) => {
                let got = match frame.event {
                    Assembled::Message(m) => Received::Message(m.kind(), m.data().to_vec()),
                    Assembled::Close(c) => Received::Close(c.code.map(|c| c.0)),
                    _ => Received::Control,
                };
                Some((got, used))
            }
            Ok(Status::Partial) => None,
            Err(_) => return None,
        };
        if let Some((got, used)) = got {
            buf.drain(..used);
            if got != Received::Control {
                return Some(got);
            }
            continue;
        }
        let mut chunk = [0_u8; 4096];
        match io.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Sends a Close 1000, waits for the client's, and closes TCP.
async fn close(io: &mut Box<dyn RawIo>, reader: &mut StreamReader, buf: &mut Vec<u8>) -> bool {
    let mut body = Vec::new();
    write_close_body(&mut body, CloseCode(1000), b"");
    let mut frame = Vec::new();
    encode_message(&mut frame, Opcode::CLOSE, None, &body);
    if io.write_all(&frame).await.is_err() {
        return false;
    }
    let answered = matches!(
        tokio::time::timeout(Duration::from_secs(2), receive(io, reader, buf)).await,
        Ok(Some(Received::Close(_)))
    );
    let _ = io.shutdown().await;
    answered
}

fn client_frames() -> StreamReader {
    StreamReader::new(FrameConfig::new(Role::Client))
}

/// Sends one message and expects it echoed, then closes.
async fn echo_case(session: &ClientSession, opcode: Opcode, kind: MessageKind) -> Outcome {
    let Some((mut io, mut buf)) = open(session).await else {
        return Outcome::error("no valid handshake", Default::default());
    };
    let mut reader = client_frames();
    let sent = b"Hello, pulsecheck".to_vec();
    let mut frame = Vec::new();
    encode_message(&mut frame, opcode, None, &sent);
    if io.write_all(&frame).await.is_err() {
        return Outcome::error("write failed", Default::default());
    }
    let echoed = receive(&mut io, &mut reader, &mut buf).await;
    let closed = close(&mut io, &mut reader, &mut buf).await;
    match echoed {
        Some(Received::Message(k, data)) if k == kind && data == sent && closed => {
            Outcome::pass("echoed").with_grades(Grades::new(Behavior::Ok, CloseBehavior::Ok, None))
        }
        other => {
            Outcome::fail(format!("got {other:?}"), Evidence::default()).with_grades(Grades::FAILED)
        }
    }
}

/// Plays the handshake and a clean close, then fails.
async fn failing_case(session: &ClientSession) -> Outcome {
    if let Some((mut io, mut buf)) = open(session).await {
        close(&mut io, &mut client_frames(), &mut buf).await;
    }
    Outcome::fail("this case always fails", Evidence::default())
}

/// Closes at once, then takes 400 ms to grade.
async fn slow_case(session: &ClientSession) -> Outcome {
    if let Some((mut io, mut buf)) = open(session).await {
        close(&mut io, &mut client_frames(), &mut buf).await;
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    Outcome::pass("graded slowly")
}

/// Holds the connection open for 1.5 s.
async fn holding_case(session: &ClientSession) -> Outcome {
    if let Some((mut io, mut buf)) = open(session).await {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        close(&mut io, &mut client_frames(), &mut buf).await;
    }
    Outcome::pass("held")
}

/// Never ends.
async fn hanging_case(session: &ClientSession) -> Outcome {
    let _held = open(session).await;
    std::future::pending::<()>().await;
    Outcome::pass("never")
}

fn info(id: &'static str, aliases: &'static [&'static str], title: &'static str) -> CheckInfo {
    CheckInfo {
        id,
        aliases,
        title,
        source: Source::Rfc(6455, "5.6"),
        requirement: "The client echoes what it receives.",
        level: Level::Must,
    }
}

fn echo_text() -> Check<ClientSession> {
    Check {
        info: info("t/echo/text", &["1.1.1"], "Echo a text message"),
        run: |s, _| Box::pin(echo_case(s, Opcode::TEXT, MessageKind::Text)),
    }
}

fn echo_binary() -> Check<ClientSession> {
    Check {
        info: info("t/echo/binary", &["1.1.2"], "Echo a binary message"),
        run: |s, _| Box::pin(echo_case(s, Opcode::BINARY, MessageKind::Binary)),
    }
}

fn failing() -> Check<ClientSession> {
    Check {
        info: info("t/fail/always", &["1.1.3"], "Always fails"),
        run: |s, _| Box::pin(failing_case(s)),
    }
}

fn three_cases() -> Vec<Check<ClientSession>> {
    vec![echo_text(), echo_binary(), failing()]
}

// ---------------------------------------------------------------------------
// The host and its owner.

/// What the test's owner of the host saw.
#[derive(Debug)]
enum Seen {
    Reports {
        agent: Option<String>,
        complete: bool,
        shutdown: bool,
        targets: Vec<String>,
        passed: Vec<usize>,
    },
    Stop(StopReason),
}

/// Starts a host and an owner that answers every `/updateReports` with
/// "written" and ends at a stop request (returning the host).
async fn host(
    config: HostConfig,
) -> (
    String,
    mpsc::UnboundedReceiver<Seen>,
    tokio::task::JoinHandle<RunningHost>,
) {
    let mut host = server::start(config).await.expect("the host starts");
    let url = host.url();
    let (seen, events) = mpsc::unbounded_channel();
    let owner = tokio::spawn(async move {
        while let Some(event) = host.next_event().await {
            match event {
                HostEvent::UpdateReports(request) => {
                    let ReportsRequest {
                        agent,
                        complete,
                        shutdown_on_complete,
                        reports,
                        ..
                    } = &request;
                    let _ = seen.send(Seen::Reports {
                        agent: agent.clone(),
                        complete: *complete,
                        shutdown: *shutdown_on_complete,
                        targets: reports.iter().map(|r| r.target.clone()).collect(),
                        passed: reports.iter().map(|r| r.summary.pass).collect(),
                    });
                    request.reply(Ok("written".to_owned()));
                }
                HostEvent::StopRequested(reason) => {
                    let _ = seen.send(Seen::Stop(reason));
                    break;
                }
            }
        }
        host
    });
    (url, events, owner)
}

fn config(checks: Vec<Check<ClientSession>>) -> HostConfig {
    let mut config = HostConfig::new(checks);
    config.check_timeout = Duration::from_secs(5);
    config
}

// ---------------------------------------------------------------------------
// The client: Autobahn's client loop on tokio-tungstenite.

/// A control exchange: the text messages received, then the Close's code and
/// reason.
async fn control(base: &str, path: &str) -> (Vec<String>, u16, String) {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("{base}{path}"))
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut texts = Vec::new();
    let deadline = tokio::time::sleep(Duration::from_secs(20));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            message = ws.next() => match message {
                Some(Ok(Message::Text(text))) => texts.push(text.to_string()),
                Some(Ok(Message::Close(frame))) => {
                    let (code, reason) = frame
                        .map(|f| (u16::from(f.code), f.reason.to_string()))
                        .unwrap_or((1005, String::new()));
                    // Drain until the host closes TCP.
                    while let Some(Ok(_)) = ws.next().await {}
                    return (texts, code, reason);
                }
                Some(Ok(_)) => {}
                other => panic!("{path}: the connection ended without a Close: {other:?}"),
            },
            () = &mut deadline => panic!("{path}: no Close within 20 s"),
        }
    }
}

/// `/runCase`: echo every text and binary message until the connection ends.
/// A case may refuse the handshake (or a broken case drop it): the client goes
/// on, as tungstenite's example does.
async fn run_case(base: &str, query: &str) {
    let Ok((mut ws, _)) = tokio_tungstenite::connect_async(format!("{base}/runCase?{query}")).await
    else {
        return;
    };
    while let Some(Ok(message)) = ws.next().await {
        if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err() {
            break;
        }
    }
}

/// The whole loop for `agent`: count, every case, its status; the grades.
async fn client_loop(base: &str, agent: &str) -> Vec<String> {
    let (texts, code, _) = control(base, "/getCaseCount").await;
    assert_eq!(code, 1000);
    let count: usize = texts[0].parse().expect("a JSON number");
    let mut grades = Vec::new();
    for n in 1..=count {
        run_case(base, &format!("case={n}&agent={agent}")).await;
        let (texts, code, reason) =
            control(base, &format!("/getCaseStatus?case={n}&agent={agent}")).await;
        assert_eq!(code, 1000, "{reason}");
        let status: serde_json::Value = serde_json::from_str(&texts[0]).expect("JSON");
        grades.push(status["behavior"].as_str().expect("a behavior").to_owned());
    }
    grades
}

// ---------------------------------------------------------------------------

#[tokio::test]
async fn the_autobahn_client_loop_runs_and_every_result_is_filed() {
    let (base, mut seen, owner) = host(config(three_cases())).await;

    assert_eq!(
        client_loop(&base, "Tungstenite").await,
        ["OK", "OK", "FAILED"]
    );

    let (texts, code, _) = control(&base, "/getCaseInfo?case=1").await;
    assert_eq!(code, 1000);
    let case: serde_json::Value = serde_json::from_str(&texts[0]).unwrap();
    assert_eq!(case["id"], "1.1.1");
    assert_eq!(case["description"], "Echo a text message");
    assert_eq!(case["check"], "t/echo/text");
    let (texts, _, _) = control(&base, "/getCaseInfo?casetuple=t/fail/always").await;
    assert!(texts[0].contains("\"id\":\"1.1.3\""), "{texts:?}");

    // By Autobahn number: playing a case again replaces its result.
    run_case(&base, "casetuple=1.1.2&agent=Tungstenite").await;

    let (texts, code, reason) = control(&base, "/updateReports?agent=Tungstenite").await;
    assert!(texts.is_empty());
    assert_eq!((code, reason.as_str()), (1000, "written"));
    let Some(Seen::Reports {
        agent,
        complete,
        shutdown,
        targets,
        passed,
    }) = seen.recv().await
    else {
        panic!("the owner was asked for the reports");
    };
    assert_eq!(agent.as_deref(), Some("Tungstenite"));
    assert!(complete && !shutdown);
    assert_eq!(targets, ["Tungstenite"]);
    assert_eq!(passed, [2]);

    let (_, code, reason) = control(&base, "/stopServer").await;
    assert_eq!((code, reason.as_str()), (1000, "the host stops"));
    assert!(matches!(
        seen.recv().await,
        Some(Seen::Stop(StopReason::StopServer))
    ));
    let host = owner.await.unwrap();
    let report = host.report("Tungstenite", "never ran");
    assert_eq!(report.target, "Tungstenite");
    assert_eq!(
        (report.summary.pass, report.summary.fail),
        (2, 1),
        "{report:?}"
    );
    assert_eq!(host.results_filed(), 4);
    assert_eq!(host.agents(), ["Tungstenite"]);
    host.shutdown().await;
}

#[tokio::test]
async fn bad_requests_get_a_101_and_a_close_saying_what_was_wrong() {
    let (base, _seen, _owner) = host(config(three_cases())).await;
    let cases: &[(&str, u16, &str)] = &[
        (
            "/nothing",
            1008,
            "unknown path \"/nothing\"; known: /getCaseCount /runCase",
        ),
        (
            "/runCase?case=400&agent=a",
            1008,
            "case 400 is out of range 1..=3",
        ),
        (
            "/runCase?case=0&agent=a",
            1008,
            "case 0 is out of range 1..=3",
        ),
        ("/runCase?case=1", 1008, "/runCase needs agent=NAME"),
        ("/runCase?case=1&agent=", 1008, "agent= is empty"),
        ("/runCase?agent=a", 1008, "/runCase needs case=N"),
        (
            "/runCase?case=one&agent=a",
            1008,
            "case=\"one\" is not a case number",
        ),
        (
            "/getCaseInfo?casetuple=9.9.9",
            1008,
            "casetuple \"9.9.9\" is no selected case's",
        ),
        (
            "/getCaseStatus?case=2&agent=never",
            1008,
            "case 2 (1.1.2) has no result for agent \"never\": not run",
        ),
        (
            "/updateReports?shutdownOnComplete=soon",
            1008,
            "shutdownOnComplete=\"soon\" must be true or false",
        ),
    ];
    for &(path, code, reason) in cases {
        let (texts, got_code, got_reason) = control(&base, path).await;
        assert!(texts.is_empty(), "{path}: {texts:?}");
        assert_eq!(got_code, code, "{path}: {got_reason}");
        assert!(got_reason.starts_with(reason), "{path}: {got_reason}");
    }
    // The host still serves.
    assert_eq!(control(&base, "/getCaseCount").await.0, ["3"]);
}

/// Sends raw bytes and returns the whole answer.
async fn raw(base: &str, request: &[u8]) -> String {
    let addr = base.trim_start_matches("ws://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut answer))
        .await
        .expect("the host closes")
        .ok();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn plain_http_gets_the_page_or_a_plain_answer() {
    let (base, _seen, _owner) = host(config(three_cases())).await;
    let page = raw(&base, b"GET /?agent=x HTTP/1.1\r\nHost: h\r\n\r\n").await;
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
    assert!(page.contains("Content-Type: text/html; charset=utf-8"));
    assert!(page.contains("/getCaseCount") && page.ends_with("</html>\n"));

    let missing = raw(&base, b"GET /favicon.ico HTTP/1.1\r\nHost: h\r\n\r\n").await;
    assert!(
        missing.starts_with("HTTP/1.1 404 Not Found\r\n"),
        "{missing}"
    );
    let posted = raw(
        &base,
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
    )
    .await;
    assert!(
        posted.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"),
        "{posted}"
    );

    // An upgrade that is not a valid WebSocket handshake: the framing crate's
    // answer, not a 101.
    let keyless = raw(
        &base,
        b"GET /getCaseCount HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await;
    assert!(
        keyless.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{keyless}"
    );

    let mut big = b"GET / HTTP/1.1\r\n".to_vec();
    while big.len() < 20_000 {
        big.extend_from_slice(
            b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
        );
    }
    let too_large = raw(&base, &big).await;
    assert!(
        too_large.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
        "{too_large}"
    );
    let garbage = raw(&base, b"\x16\x03\x01\x02\x00\r\n\r\n").await;
    assert!(
        garbage.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{garbage}"
    );
}

#[tokio::test]
async fn get_case_status_waits_for_a_case_still_being_graded() {
    let slow = Check {
        info: info("t/slow/grading", &[], "Grades slowly"),
        run: |s, _| Box::pin(slow_case(s)),
    };
    let (base, _seen, _owner) = host(config(vec![slow])).await;
    let began = Instant::now();
    run_case(&base, "case=1&agent=a").await;
    let (texts, code, reason) = control(&base, "/getCaseStatus?case=1&agent=a").await;
    assert_eq!(code, 1000, "{reason}");
    assert_eq!(texts, [r#"{"behavior":"OK"}"#]);
    assert!(began.elapsed() >= Duration::from_millis(400));
    let (texts, _, _) = control(&base, "/getCaseInfo?case=1").await;
    assert!(texts[0].contains("\"id\":\"t/slow/grading\""), "{texts:?}");
}

#[tokio::test]
async fn a_case_that_hangs_or_panics_is_an_error_and_the_host_goes_on() {
    let hangs = Check {
        info: info("t/bug/hangs", &[], "Hangs"),
        run: |s, _| Box::pin(hanging_case(s)),
    };
    let panics = Check {
        info: info("t/bug/panics", &[], "Panics"),
        run: |_, _| Box::pin(async { panic!("a bug in a case") }),
    };
    let mut cfg = config(vec![hangs, panics, echo_text()]);
    cfg.check_timeout = Duration::from_millis(300);
    let (base, _seen, owner) = host(cfg).await;
    let began = Instant::now();
    assert_eq!(client_loop(&base, "a").await, ["FAILED", "FAILED", "OK"]);
    assert!(began.elapsed() < Duration::from_secs(10));
    control(&base, "/stopServer").await;
    let host = owner.await.unwrap();
    let report = host.report("a", "never ran");
    let message = |id: &str| {
        report
            .checks
            .iter()
            .find(|c| c.id == id)
            .map(|c| (c.verdict, c.message.clone()))
            .unwrap()
    };
    let (verdict, hung) = message("t/bug/hangs");
    assert_eq!(verdict, Verdict::Error);
    assert!(hung.contains("--check-timeout"), "{hung}");
    let (verdict, panicked) = message("t/bug/panics");
    assert_eq!(verdict, Verdict::Error);
    assert!(panicked.contains("panicked"), "{panicked}");
}

#[tokio::test]
async fn two_agents_run_at_once_and_each_has_a_report() {
    let (base, mut seen, owner) = host(config(three_cases())).await;
    let (a, b) = tokio::join!(client_loop(&base, "alpha"), client_loop(&base, "beta"));
    assert_eq!(a, ["OK", "OK", "FAILED"]);
    assert_eq!(b, ["OK", "OK", "FAILED"]);
    // No agent named: every agent's report.
    let (_, code, _) = control(&base, "/updateReports").await;
    assert_eq!(code, 1000);
    let Some(Seen::Reports {
        agent,
        complete,
        targets,
        ..
    }) = seen.recv().await
    else {
        panic!("reports");
    };
    assert_eq!(agent, None);
    assert!(complete);
    assert_eq!(targets, ["alpha", "beta"]);
    // An agent that ran nothing gets a report of cases not run.
    control(&base, "/updateReports?agent=gamma").await;
    let Some(Seen::Reports {
        complete,
        targets,
        passed,
        ..
    }) = seen.recv().await
    else {
        panic!("reports");
    };
    assert!(!complete);
    assert_eq!((targets, passed), (vec!["gamma".to_owned()], vec![0]));
    control(&base, "/stopServer").await;
    let host = owner.await.unwrap();
    let gamma = host.report("gamma", "never ran");
    assert_eq!(gamma.summary.error, 3);
    assert!(
        gamma.checks[0]
            .message
            .starts_with("never ran (/runCase?case=")
    );
}

#[tokio::test]
async fn shutdown_on_complete_is_answered_before_the_host_is_told_to_stop() {
    let (base, mut seen, owner) = host(config(vec![echo_text()])).await;
    assert_eq!(client_loop(&base, "a").await, ["OK"]);
    let (_, code, reason) = control(&base, "/updateReports?agent=a&shutdownOnComplete=true").await;
    assert_eq!((code, reason.as_str()), (1000, "written"));
    assert!(matches!(
        seen.recv().await,
        Some(Seen::Reports {
            complete: true,
            shutdown: true,
            ..
        })
    ));
    let Some(Seen::Stop(StopReason::ShutdownOnComplete { agent })) = seen.recv().await else {
        panic!("a stop request");
    };
    assert_eq!(agent.as_deref(), Some("a"));
    owner.await.unwrap().shutdown().await;
}

#[tokio::test]
async fn reports_the_owner_cannot_write_are_a_close_1011_with_its_reason() {
    let mut host = server::start(config(vec![echo_text()])).await.unwrap();
    let base = host.url();
    let owner = tokio::spawn(async move {
        if let Some(HostEvent::UpdateReports(request)) = host.next_event().await {
            request.reply(Err("cannot write the report to /x: denied".to_owned()));
        }
        host
    });
    let (_, code, reason) = control(&base, "/updateReports?agent=a").await;
    assert_eq!(
        (code, reason.as_str()),
        (1011, "cannot write the report to /x: denied")
    );
    owner.await.unwrap().shutdown().await;
}

#[tokio::test]
async fn control_exchanges_beyond_the_limit_are_asked_to_try_again() {
    let holding = Check {
        info: info("t/slow/holding", &[], "Holds the connection"),
        run: |s, _| Box::pin(holding_case(s)),
    };
    let (base, _seen, _owner) = host(config(vec![holding])).await;
    // A case being played makes every status request wait.
    let case = tokio::spawn({
        let base = base.clone();
        async move { run_case(&base, "case=1&agent=a").await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let waiting: Vec<_> = (0..server::MAX_CONTROL)
        .map(|_| {
            let base = base.clone();
            tokio::spawn(async move { control(&base, "/getCaseStatus?case=1&agent=a").await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, code, reason) = control(&base, "/getCaseCount").await;
    assert_eq!(code, 1013, "{reason}");
    assert!(
        reason.starts_with("too many control connections at once"),
        "{reason}"
    );
    case.await.unwrap();
    for waiter in waiting {
        let (texts, code, _) = waiter.await.unwrap();
        assert_eq!(
            (texts, code),
            (vec![r#"{"behavior":"OK"}"#.to_owned()], 1000)
        );
    }
    assert_eq!(control(&base, "/getCaseCount").await.0, ["1"]);
}

#[tokio::test]
async fn the_suite_is_hosted_over_tls() {
    let identity = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let dir = std::env::temp_dir().join(format!("pulsecheck-host-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, identity.cert.pem()).unwrap();
    std::fs::write(&key, identity.signing_key.serialize_pem()).unwrap();

    let mut cfg = config(vec![echo_text()]);
    cfg.tls = Some(server::tls_config(&cert, &key).expect("a TLS identity"));
    let (base, _seen, _owner) = host(cfg).await;
    assert!(base.starts_with("wss://127.0.0.1:"), "{base}");

    let mut roots = rustls::RootCertStore::empty();
    roots.add(identity.cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(tls));
    let addr = base.trim_start_matches("wss://").to_owned();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let stream = connector.connect(name, tcp).await.expect("a TLS handshake");
    let (mut ws, _) = tokio_tungstenite::client_async(format!("{base}/getCaseCount"), stream)
        .await
        .expect("an upgrade over TLS");
    let message = ws.next().await.unwrap().unwrap();
    assert_eq!(message.into_text().unwrap().as_str(), "1");

    // Bad identity files are refused with their names.
    let err = server::tls_config(&key, &key).unwrap_err();
    assert!(err.contains("holds no PEM CERTIFICATE block"), "{err}");
    let err = server::tls_config(&cert, &dir.join("missing.pem")).unwrap_err();
    assert!(err.starts_with("cannot read the private key"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------
// The CLI (whatever the catalogue holds: these tests run no case).

fn pulsecheck(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_pulsecheck"))
        .args(args)
        .output()
        .expect("pulsecheck runs")
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn cli_a_command_that_runs_no_case_exits_2_and_shows_its_output() {
    let out = pulsecheck(&[
        "host",
        "ws",
        "--addr",
        "127.0.0.1:0",
        "--",
        "sh",
        "-c",
        "echo \"client says $PULSECHECK_URL\" >&2; exit 3",
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with("pulsecheck: hosting the WebSocket client suite at ws://127.0.0.1:"),
        "{err}"
    );
    assert!(err.contains("in a browser)\n"), "{err}");
    assert!(
        err.contains("pulsecheck: no case was run: no client connected to /runCase; the client command `sh -c 'echo \"client says $PULSECHECK_URL\" >&2; exit 3'` exited with status 3; its output ended with:\n    client says ws://127.0.0.1:"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn cli_a_command_that_cannot_start_exits_2() {
    let out = pulsecheck(&[
        "host",
        "ws",
        "--addr",
        "127.0.0.1:0",
        "--",
        "/nonexistent/client",
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("pulsecheck: cannot start `/nonexistent/client`: No such file or directory"),
        "{err}"
    );
}

#[test]
fn cli_a_command_still_running_at_the_deadline_is_killed() {
    let began = Instant::now();
    let out = pulsecheck(&[
        "host",
        "ws",
        "--addr",
        "127.0.0.1:0",
        "--deadline",
        "1s",
        "--",
        "sleep",
        "1000",
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        began.elapsed() < Duration::from_secs(6),
        "{:?}",
        began.elapsed()
    );
    assert!(
        err.contains(
            "the overall deadline of 1 s (--deadline) passed and the client command was killed\n"
        ),
        "{err}"
    );
    assert!(
        err.contains("the client command `sleep 1000` was killed by signal 9"),
        "{err}"
    );
}

#[test]
fn cli_usage_errors_exit_2_with_a_reason() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--outdir", "/tmp/x"],
            "--outdir DIR holds Autobahn|Testsuite's report files and goes with --format autobahn",
        ),
        (
            &["--only", "nothing/such/*"],
            "--only \"nothing/such/*\" matches no case of the client suite",
        ),
        (&["--agent", ""], "--agent must be a name of 1 to 128 bytes"),
        (&["--deadline", "0"], "must be a duration above 0"),
        (&["--cert", "/tmp/c.pem"], "--key <FILE>"),
        (
            &["-o", "/nonexistent-dir/report.json"],
            "cannot write the report to /nonexistent-dir/report.json",
        ),
    ];
    for (extra, expected) in cases {
        let mut all = vec!["host", "ws", "--addr", "127.0.0.1:0"];
        all.extend_from_slice(extra);
        let out = pulsecheck(&all);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {err}");
        assert!(err.contains(expected), "{extra:?}: {err}");
        assert!(
            !err.contains("hosting"),
            "{extra:?} started the host: {err}"
        );
    }
    let out = pulsecheck(&["host", "ws", "--addr", "nowhere"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("invalid value 'nowhere' for '--addr <ADDR>'"));
    // A TLS identity that does not load.
    let out = pulsecheck(&[
        "host",
        "ws",
        "--addr",
        "127.0.0.1:0",
        "--cert",
        "/nonexistent/c.pem",
        "--key",
        "/nonexistent/k.pem",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot read the certificate /nonexistent/c.pem"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn cli_without_a_command_serves_until_stopped() {
    use std::io::BufRead as _;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pulsecheck"))
        .args(["host", "ws", "--addr", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("pulsecheck runs");
    let stderr = child.stderr.take().unwrap();
    let (first, mut lines) = tokio::task::spawn_blocking(move || {
        let mut lines = std::io::BufReader::new(stderr).lines();
        let first = lines.next().unwrap().unwrap();
        (first, lines)
    })
    .await
    .unwrap();
    // pulsecheck: hosting the WebSocket client suite at ws://127.0.0.1:PORT (N cases; open http://127.0.0.1:PORT/ in a browser)
    let base = first
        .split_whitespace()
        .find(|w| w.starts_with("ws://"))
        .unwrap_or_else(|| panic!("{first}"))
        .to_owned();
    let cases: usize = first
        .split('(')
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{first}"));
    let page_url = format!("{}/", base.replace("ws://", "http://"));
    assert!(
        first.ends_with(&format!("open {page_url} in a browser)")),
        "{first}"
    );

    assert_eq!(control(&base, "/getCaseCount").await.0, [cases.to_string()]);
    let page = raw(&base, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n").await;
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
    let (_, code, reason) = control(&base, "/stopServer").await;
    assert_eq!((code, reason.as_str()), (1000, "the host stops"));

    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    let rest: Vec<String> = lines.by_ref().map_while(Result::ok).collect();
    assert_eq!(status.code(), Some(2), "{rest:?}");
    assert_eq!(
        rest,
        ["pulsecheck: no case was run: no client connected to /runCase"]
    );
}

// ---------------------------------------------------------------------------
// The page, in a real browser.

#[tokio::test(flavor = "multi_thread")]
async fn the_page_runs_the_whole_loop_in_headless_chromium() {
    use std::os::unix::process::CommandExt as _;
    // Installed on first use (Debian's chromium, with apt-get) unless a
    // browser is named.
    let chromium = std::env::var_os("PULSECHECK_CHROMIUM").unwrap_or_else(|| {
        harness::ensure("chromium");
        "chromium".into()
    });
    let (base, mut seen, owner) = host(config(three_cases())).await;
    let page = format!(
        "{}/?agent=headless%20chromium&shutdownOnComplete=true",
        base.replace("ws://", "http://")
    );
    let profile = std::env::temp_dir().join(format!("pulsecheck-chromium-{}", std::process::id()));
    let mut browser = std::process::Command::new(&chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(&page)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "this test needs Chromium (Debian's chromium package, or PULSECHECK_CHROMIUM=PATH): {}: {e}",
                chromium.to_string_lossy()
            )
        });
    let group = rustix::process::Pid::from_child(&browser);
    let reports = tokio::time::timeout(Duration::from_secs(60), seen.recv()).await;
    let stop = tokio::time::timeout(Duration::from_secs(10), seen.recv()).await;
    let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
    let _ = tokio::task::spawn_blocking(move || browser.wait()).await;
    let _ = std::fs::remove_dir_all(&profile);
    let Ok(Some(Seen::Reports {
        agent,
        complete,
        shutdown,
        targets,
        passed,
    })) = reports
    else {
        panic!("the page never asked for the reports: {reports:?}");
    };
    assert_eq!(agent.as_deref(), Some("headless chromium"));
    assert!(complete && shutdown);
    assert_eq!(
        (targets, passed),
        (vec!["headless chromium".to_owned()], vec![2])
    );
    assert!(matches!(
        stop,
        Ok(Some(Seen::Stop(StopReason::ShutdownOnComplete { .. })))
    ));
    let host = owner.await.unwrap();
    let report = host.report("headless chromium", "never ran");
    assert_eq!((report.summary.pass, report.summary.fail), (2, 1));
}
