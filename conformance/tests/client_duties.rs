//! Self-tests of the client-duty checks of `pulsecheck host ws`: each check is
//! played in this process on a loopback connection from a test client
//! (`support/ws_client.rs`), as the host would play it. Every check passes
//! against the correct client and fails against the client fault it exists
//! to catch (a table ties them, and a test keeps the table complete); a
//! well-behaved real client, tokio-tungstenite, passes them all; and a client
//! that never answers gets its verdicts within the checks' bounded waits.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::join_all;
use futures::{SinkExt, StreamExt};
use pulsecheck::check::{Outcome, Verdict};
use pulsecheck::host::ws::duties::checks;
use pulsecheck::host::ws::session::{AgentHistory, ClientSession, RequestHead, Upgrade};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[path = "support/ws_client.rs"]
mod ws_client;

use ws_client::Fault;

/// Each check and the client fault that must make it fail.
const FAULTS: &[(&str, Fault)] = &[
    ("ws-client/request/method-get", Fault::PostMethod),
    ("ws-client/request/http-version", Fault::Http10),
    ("ws-client/request/host", Fault::NoHost),
    ("ws-client/request/upgrade", Fault::NoUpgrade),
    ("ws-client/request/connection", Fault::NoConnection),
    ("ws-client/request/version-13", Fault::Version8),
    ("ws-client/request/key-16-bytes", Fault::ShortKey),
    ("ws-client/request/key-fresh", Fault::RepeatedKey),
    ("ws-client/masking/frames-masked", Fault::Unmasked),
    ("ws-client/masking/keys-vary", Fault::FixedMask),
    (
        "ws-client/masking/masked-text-refused",
        Fault::AcceptsMaskedFrames,
    ),
    (
        "ws-client/masking/masked-ping-refused",
        Fault::AcceptsMaskedFrames,
    ),
    ("ws-client/handshake/status-200", Fault::AcceptsNon101),
    ("ws-client/handshake/status-403", Fault::AcceptsNon101),
    ("ws-client/handshake/no-upgrade", Fault::IgnoresUpgrade),
    (
        "ws-client/handshake/no-connection",
        Fault::IgnoresConnection,
    ),
    ("ws-client/handshake/accept-wrong", Fault::IgnoresAccept),
    ("ws-client/handshake/accept-missing", Fault::IgnoresAccept),
    (
        "ws-client/handshake/unoffered-subprotocol",
        Fault::AcceptsUnofferedSubprotocol,
    ),
    (
        "ws-client/handshake/unoffered-extension",
        Fault::AcceptsUnofferedExtension,
    ),
    (
        "ws-client/handshake/frame-with-101",
        Fault::DropsFrameWith101,
    ),
    ("ws-client/close/answered", Fault::NoCloseAnswer),
    (
        "ws-client/close/leaves-tcp-to-server",
        Fault::ClosesTcpFirst,
    ),
    (
        "ws-client/close/invalid-code-999",
        Fault::AcceptsInvalidCloseCodes,
    ),
    (
        "ws-client/close/invalid-code-1005",
        Fault::AcceptsInvalidCloseCodes,
    ),
    (
        "ws-client/close/invalid-code-1006",
        Fault::AcceptsInvalidCloseCodes,
    ),
    (
        "ws-client/close/invalid-code-1015",
        Fault::AcceptsInvalidCloseCodes,
    ),
    (
        "ws-client/close/invalid-code-1016",
        Fault::AcceptsInvalidCloseCodes,
    ),
    (
        "ws-client/close/invalid-code-2999",
        Fault::AcceptsInvalidCloseCodes,
    ),
    (
        "ws-client/close/invalid-code-5000",
        Fault::AcceptsInvalidCloseCodes,
    ),
    (
        "ws-client/close/invalid-reason-utf8",
        Fault::AcceptsInvalidCloseReason,
    ),
    (
        "ws-client/deflate/unoffered",
        Fault::AcceptsUnofferedDeflate,
    ),
    (
        "ws-client/deflate/unknown-parameter",
        Fault::AcceptsUnknownDeflateParameter,
    ),
    (
        "ws-client/deflate/duplicate-parameter",
        Fault::AcceptsDuplicateDeflateParameter,
    ),
    (
        "ws-client/deflate/client-max-window-bits-unoffered",
        Fault::AcceptsUnofferedClientWindow,
    ),
    (
        "ws-client/deflate/server-max-window-bits-16",
        Fault::AcceptsInvalidServerWindow,
    ),
    (
        "ws-client/deflate/server-max-window-bits-7",
        Fault::AcceptsInvalidServerWindow,
    ),
    (
        "ws-client/deflate/server-max-window-bits-leading-zero",
        Fault::AcceptsInvalidServerWindow,
    ),
    (
        "ws-client/deflate/server-max-window-bits-not-decimal",
        Fault::AcceptsInvalidServerWindow,
    ),
    (
        "ws-client/deflate/client-max-window-bits-no-value",
        Fault::AcceptsBareClientWindow,
    ),
    (
        "ws-client/deflate/smaller-server-window-accepted",
        Fault::RefusesSmallerServerWindow,
    ),
    (
        "ws-client/deflate/server-no-context-takeover-accepted",
        Fault::RefusesUnrequestedServerNoContextTakeover,
    ),
];

/// What the correct client offers, in turn: nothing, a plain
/// permessage-deflate, and permessage-deflate with `client_max_window_bits`
/// (what websockets, ws and Chromium offer). Every check must pass against
/// at least one, and be skipped, never failed, by the others: a client that
/// does not offer permessage-deflate skips what needs it, and each offer
/// skips what it makes legal.
const CORRECT_OFFERS: &[Option<&str>] = &[
    None,
    Some("permessage-deflate"),
    Some(ws_client::DEFAULT_OFFER),
];

/// The check that needs earlier connections of the same agent.
const KEY_FRESH: &str = "ws-client/request/key-fresh";

/// The longest request head the test host reads.
const MAX_HEAD: usize = 16 * 1024;

/// Reads a request head the way the host does (bounded), and builds the
/// upgrade a check takes.
async fn read_upgrade(mut stream: TcpStream) -> Upgrade {
    let mut buf = Vec::new();
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        assert!(buf.len() < MAX_HEAD, "a request head over {MAX_HEAD} bytes");
        let mut chunk = [0; 4096];
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk))
            .await
            .expect("the request head within 5 s")
            .expect("read");
        assert!(n > 0, "the client closed before its request head ended");
        buf.extend_from_slice(&chunk[..n]);
    };
    let mut storage = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Request::new(&mut storage);
    parsed.parse(&buf[..end]).expect("an HTTP request head");
    let request = RequestHead {
        method: parsed.method.unwrap_or_default().to_owned(),
        target: parsed.path.unwrap_or_default().to_owned(),
        version: parsed.version.unwrap_or_default(),
        headers: parsed
            .headers
            .iter()
            .map(|h| {
                let value = String::from_utf8_lossy(h.value).into_owned();
                (h.name.to_ascii_lowercase(), value)
            })
            .collect(),
        raw: buf[..end].to_vec(),
    };
    Upgrade {
        io: Box::new(stream),
        request,
        leftover: buf[end..].to_vec(),
        received_at: Instant::now(),
    }
}

/// Plays check `id` on one connection from `client`, as the host does: the
/// agent's `history` is the session's, and the connection's key is added to
/// it after the check. The outcome, and how long the check took.
async fn play<F, Fut>(id: &str, history: &Arc<AgentHistory>, client: F) -> (Outcome, Duration)
where
    F: FnOnce(SocketAddr) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let check = checks()
        .into_iter()
        .find(|c| c.info.id == id)
        .unwrap_or_else(|| panic!("no check {id}"));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("an address");
    let client = tokio::spawn(client(addr));
    let (stream, _) = tokio::time::timeout(Duration::from_secs(5), listener.accept())
        .await
        .expect("the client connects within 5 s")
        .expect("accept");
    let _ = stream.set_nodelay(true);
    let upgrade = read_upgrade(stream).await;
    let key = upgrade
        .request
        .header("sec-websocket-key")
        .map(str::to_owned);
    let session = ClientSession::new("test", Arc::clone(history), upgrade);
    let started = Instant::now();
    let outcome = tokio::time::timeout(Duration::from_secs(15), (check.run)(&session, &check.info))
        .await
        .unwrap_or_else(|_| panic!("{id}: the check did not end within 15 s"));
    let took = started.elapsed();
    drop(session);
    if let Some(key) = key {
        history.remember_key(key.trim());
    }
    tokio::time::timeout(Duration::from_secs(15), client)
        .await
        .unwrap_or_else(|_| panic!("{id}: the test client did not end"))
        .expect("the test client does not panic");
    (outcome, took)
}

/// The test client with `fault` (none: the correct client), offering what
/// the fault needs.
fn test_client(
    fault: Option<Fault>,
) -> impl FnOnce(SocketAddr) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> {
    offering(fault, ws_client::offer_for(fault))
}

/// The test client with `fault`, offering `offer`.
fn offering(
    fault: Option<Fault>,
    offer: Option<&'static str>,
) -> impl FnOnce(SocketAddr) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> {
    move |addr| {
        Box::pin(async move {
            let _ = ws_client::run_offering(addr, fault, offer).await;
        })
    }
}

/// Plays `id` against the client with `fault`, after one earlier connection of
/// the same agent when the check compares with earlier keys.
async fn verdict_of(
    id: &'static str,
    fault: Option<Fault>,
) -> (&'static str, Option<Fault>, Outcome) {
    let history = Arc::new(AgentHistory::default());
    if id == KEY_FRESH {
        let (earlier, _) = play("ws-client/request/host", &history, test_client(fault)).await;
        assert_eq!(earlier.verdict, Verdict::Pass, "{earlier:?}");
    }
    let (outcome, _) = play(id, &history, test_client(fault)).await;
    (id, fault, outcome)
}

/// "id against fault: verdict — message (expected: …; actual: …)", for failures.
fn describe(id: &str, fault: Option<Fault>, outcome: &Outcome) -> String {
    let evidence = outcome
        .evidence
        .as_ref()
        .map(|e| format!(" (expected: {}; actual: {})", e.expected, e.actual))
        .unwrap_or_default();
    format!(
        "{id} against {fault:?}: {} — {}{evidence}",
        outcome.verdict, outcome.message
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_check_passes_against_the_correct_client() {
    let runs = checks().into_iter().flat_map(|c| {
        CORRECT_OFFERS.iter().map(move |offer| async move {
            let history = Arc::new(AgentHistory::default());
            if c.info.id == KEY_FRESH {
                play("ws-client/request/host", &history, offering(None, *offer)).await;
            }
            let (outcome, _) = play(c.info.id, &history, offering(None, *offer)).await;
            (c.info.id, *offer, outcome)
        })
    });
    let outcomes = join_all(runs).await;
    let mut wrong: Vec<String> = outcomes
        .iter()
        .filter(|(_, _, o)| !matches!(o.verdict, Verdict::Pass | Verdict::Skipped))
        .map(|(id, offer, o)| format!("offering {offer:?}: {}", describe(id, None, o)))
        .collect();
    for c in checks() {
        if !outcomes
            .iter()
            .any(|(id, _, o)| *id == c.info.id && o.verdict == Verdict::Pass)
        {
            wrong.push(format!("{}: passed with no offer", c.info.id));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The permessage-deflate duties that a client skips with each offer of
/// [`CORRECT_OFFERS`], and why: the skips are the rule, not an accident.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deflate_duties_skip_what_an_offer_makes_legal() {
    let deflate: Vec<&'static str> = checks()
        .iter()
        .map(|c| c.info.id)
        .filter(|id| id.starts_with("ws-client/deflate/"))
        .collect();
    let expected_skips = |offer: Option<&str>| -> Vec<&'static str> {
        match offer {
            None => deflate
                .iter()
                .copied()
                .filter(|id| *id != "ws-client/deflate/unoffered")
                .collect(),
            Some("permessage-deflate") => vec![
                "ws-client/deflate/unoffered",
                "ws-client/deflate/client-max-window-bits-no-value",
            ],
            Some(_) => vec![
                "ws-client/deflate/unoffered",
                "ws-client/deflate/client-max-window-bits-unoffered",
            ],
        }
    };
    for offer in CORRECT_OFFERS {
        let runs = deflate.iter().map(|id| async move {
            let history = Arc::new(AgentHistory::default());
            let (outcome, _) = play(id, &history, offering(None, *offer)).await;
            (*id, outcome)
        });
        let skipped: Vec<&str> = join_all(runs)
            .await
            .into_iter()
            .filter(|(_, o)| o.verdict == Verdict::Skipped)
            .map(|(id, _)| id)
            .collect();
        assert_eq!(skipped, expected_skips(*offer), "offering {offer:?}");
    }
}

/// `deflate/unoffered` is not `handshake/unoffered-extension` again: a client
/// that refuses an extension it does not know but takes permessage-deflate,
/// which it knows, unoffered passes the one and fails the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_knows_deflate_passes_the_generic_check_and_fails_the_deflate_one() {
    let fault = Some(Fault::AcceptsUnofferedDeflate);
    let (_, _, generic) = verdict_of("ws-client/handshake/unoffered-extension", fault).await;
    assert_eq!(generic.verdict, Verdict::Pass, "{generic:?}");
    let (_, _, deflate) = verdict_of("ws-client/deflate/unoffered", fault).await;
    assert_eq!(deflate.verdict, Verdict::Fail, "{deflate:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_check_fails_against_the_fault_it_exists_for() {
    let runs = FAULTS
        .iter()
        .map(|(id, fault)| verdict_of(id, Some(*fault)));
    let wrong: Vec<String> = join_all(runs)
        .await
        .into_iter()
        .filter(|(_, _, o)| o.verdict != Verdict::Fail || o.evidence.is_none())
        .map(|(id, f, o)| describe(id, f, &o))
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_check_has_a_fault() {
    let ids: Vec<&str> = checks().iter().map(|c| c.info.id).collect();
    let without: Vec<&&str> = ids
        .iter()
        .filter(|id| !FAULTS.iter().any(|(f, _)| f == *id))
        .collect();
    assert!(without.is_empty(), "checks without a fault: {without:?}");
    let unknown: Vec<&str> = FAULTS
        .iter()
        .map(|(id, _)| *id)
        .filter(|id| !ids.contains(id))
        .collect();
    assert!(unknown.is_empty(), "faults of unknown checks: {unknown:?}");
}

#[tokio::test]
async fn a_first_connection_has_no_earlier_key_to_compare() {
    let history = Arc::new(AgentHistory::default());
    let (outcome, _) = play(KEY_FRESH, &history, test_client(Some(Fault::RepeatedKey))).await;
    assert_eq!(outcome.verdict, Verdict::Skipped, "{outcome:?}");
    assert!(outcome.message.contains("first connection of this agent"));
    // The second connection with the same key is caught, and says how long ago.
    let (outcome, _) = play(KEY_FRESH, &history, test_client(Some(Fault::RepeatedKey))).await;
    assert_eq!(outcome.verdict, Verdict::Fail, "{outcome:?}");
    assert!(
        outcome
            .message
            .contains("already sent 1 connection(s) earlier"),
        "{}",
        outcome.message
    );
}

/// Taking a valid response is not enough: the acceptance duties fail a client
/// that then gets the compressed messages wrong.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_acceptance_duties_fail_a_client_that_does_not_decompress() {
    for id in [
        "ws-client/deflate/smaller-server-window-accepted",
        "ws-client/deflate/server-no-context-takeover-accepted",
    ] {
        let (_, _, outcome) = verdict_of(id, Some(Fault::EchoesCompressedBytes)).await;
        assert_eq!(outcome.verdict, Verdict::Fail, "{id}: {outcome:?}");
        assert!(
            outcome.message.contains("differ from it"),
            "{id}: {}",
            outcome.message
        );
    }
}

/// tokio-tungstenite as the client under test, written like tungstenite's
/// Autobahn client example: echo text and binary messages until the
/// connection ends (tungstenite answers pings and the Close itself).
async fn tungstenite_client(addr: SocketAddr) {
    let url = format!("ws://{addr}/runCase?case=1&agent=tokio-tungstenite");
    let Ok((mut ws, _)) = tokio_tungstenite::connect_async(url).await else {
        return;
    };
    while let Some(Ok(message)) = ws.next().await {
        if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err() {
            return;
        }
    }
}

/// Where tokio-tungstenite 0.30 does not pass, and why, from its bytes and
/// its source; every other `ws-client/deflate/` check is skipped, as
/// tungstenite offers no permessage-deflate.
const TUNGSTENITE_DEPARTURES: &[(&str, Verdict, &str)] = &[
    (
        "ws-client/handshake/unoffered-extension",
        Verdict::Fail,
        "it echoes the text frame sent after a 101 with `Sec-WebSocket-Extensions: \
         pulsecheck-unoffered`, an extension it never offered: tungstenite's \
         `VerifyData::verify_response` (src/handshake/client.rs) has step 5 of RFC 6455 \
         §4.1 as a `// TODO`, so it never reads that header",
    ),
    (
        "ws-client/deflate/unoffered",
        Verdict::Fail,
        "the same: it takes `Sec-WebSocket-Extensions: permessage-deflate`, which it \
         never offered, and echoes the text frame",
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_tungstenite_passes_every_check_but_its_known_departures() {
    let runs = checks().into_iter().map(|c| async move {
        let history = Arc::new(AgentHistory::default());
        if c.info.id == KEY_FRESH {
            play("ws-client/request/host", &history, tungstenite_client).await;
        }
        let (outcome, _) = play(c.info.id, &history, tungstenite_client).await;
        (c.info.id, outcome)
    });
    let wrong: Vec<String> = join_all(runs)
        .await
        .into_iter()
        .filter(|(id, o)| {
            let otherwise = if id.starts_with("ws-client/deflate/") {
                Verdict::Skipped
            } else {
                Verdict::Pass
            };
            let expected = TUNGSTENITE_DEPARTURES
                .iter()
                .find(|(d, _, _)| d == id)
                .map_or(otherwise, |(_, v, _)| *v);
            o.verdict != expected
        })
        .map(|(id, o)| describe(id, None, &o))
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A client that sends a valid opening request, then never answers nor
/// closes: it drops what it receives until the server closes (at most 10 s).
async fn silent_client(addr: SocketAddr) {
    let Ok(mut stream) = TcpStream::connect(addr).await else {
        return;
    };
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).await.is_err() {
        return;
    }
    let mut sink = [0; 4096];
    let until_eof = async { while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {} };
    let _ = tokio::time::timeout(Duration::from_secs(10), until_eof).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_answers_gets_verdicts_not_hangs() {
    let runs = checks().into_iter().map(|c| async move {
        let history = Arc::new(AgentHistory::default());
        let (outcome, took) = play(c.info.id, &history, silent_client).await;
        (c.info.id, outcome, took)
    });
    for (id, outcome, took) in join_all(runs).await {
        // Two waits at most (frame-with-101 sends a second frame after the
        // first wait), the normal close's wait, and slack for a loaded machine.
        assert!(took < Duration::from_secs(7), "{id} took {took:?}");
        assert_ne!(outcome.verdict, Verdict::Error, "{id}: {outcome:?}");
        // (The non-101 answers end the server's side of TCP, as HTTP servers
        // do: this client then closes, which is a refusal.)
        let waits_for_an_answer = (id.starts_with("ws-client/handshake/")
            && !id.contains("/status-"))
            || id.contains("/masked-")
            || id.contains("/invalid-")
            || id.ends_with("/frames-masked")
            || id.ends_with("/answered")
            || id == "ws-client/deflate/unoffered";
        if waits_for_an_answer {
            assert_eq!(outcome.verdict, Verdict::Fail, "{id}: {outcome:?}");
            assert!(
                outcome.message.contains("2 s"),
                "{id}: the message names the wait: {}",
                outcome.message
            );
        }
    }
}

/// A client that sends a valid opening request and, whatever the answer,
/// announces a 1 TiB binary frame and streams it until the server goes away
/// (at most 10 s).
async fn flooding_client(addr: SocketAddr) {
    let Ok(mut stream) = TcpStream::connect(addr).await else {
        return;
    };
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    // FIN, binary; masked, 64-bit length 2^40; a zero key.
    let mut header = vec![0x82, 0xff];
    header.extend_from_slice(&(1u64 << 40).to_be_bytes());
    header.extend_from_slice(&[0; 4]);
    let flood = async {
        stream.write_all(request.as_bytes()).await?;
        stream.write_all(&header).await?;
        let zeros = vec![0; 64 * 1024];
        loop {
            stream.write_all(&zeros).await?;
        }
        #[allow(unreachable_code)]
        Ok::<(), std::io::Error>(())
    };
    let _ = tokio::time::timeout(Duration::from_secs(10), flood).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_client_is_judged_from_the_header_of_its_frame() {
    let runs = checks().into_iter().map(|c| async move {
        let history = Arc::new(AgentHistory::default());
        let (outcome, took) = play(c.info.id, &history, flooding_client).await;
        (c.info.id, outcome, took)
    });
    for (id, outcome, took) in join_all(runs).await {
        assert!(took < Duration::from_secs(7), "{id} took {took:?}");
        assert_ne!(outcome.verdict, Verdict::Error, "{id}: {outcome:?}");
        // Its one frame is masked; it answers nothing it should.
        let expected = match id {
            "ws-client/masking/frames-masked" => Verdict::Pass,
            "ws-client/handshake/accept-wrong" | "ws-client/close/answered" => Verdict::Fail,
            _ => continue,
        };
        assert_eq!(outcome.verdict, expected, "{id}: {outcome:?}");
        assert!(
            outcome.message.contains("1099511627776"),
            "{id}: {}",
            outcome.message
        );
    }
}
