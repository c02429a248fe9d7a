//! The reference SSE server, read over real sockets: the clean server does what
//! PROTOCOL.md §2 asks, and every fault shows the symptom its check looks for.

use std::io::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::response::Parts;
use http::{Method, Request, StatusCode, Version};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use pulsecheck::serve::sse::{self, Fault, RunningServer, SseServerConfig};
use pulsecheck_sse::{Config, Error, IgnoreReason, Item, OwnedEvent, Parser};
use tokio::net::TcpStream;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{Instant, sleep, timeout, timeout_at};

/// The generator's period in these tests.
const EVENT: Duration = Duration::from_millis(20);
/// The heartbeat period in these tests.
const HEARTBEAT: Duration = Duration::from_millis(100);
/// How long anything that should happen may take on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(5);
/// The most raw bytes a capture keeps (floods are parsed, not kept).
const RAW_LIMIT: usize = 1 << 20;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn config(fault: Option<Fault>) -> SseServerConfig {
    SseServerConfig {
        event_interval: EVENT,
        heartbeat_interval: HEARTBEAT,
        fault,
        ..SseServerConfig::default()
    }
}

async fn server(fault: Option<Fault>) -> RunningServer {
    sse::start(config(fault)).await.expect("the server starts")
}

/// What a stream's body held, as the parser saw it.
struct Capture {
    parser: Parser,
    raw: Vec<u8>,
    events: Vec<OwnedEvent>,
    comments: Vec<String>,
    /// `(ms, offset)` of every valid `retry`.
    retries: Vec<(u64, u64)>,
    /// `(reason, name, value)` of every ignored line.
    ignored: Vec<(IgnoreReason, Vec<u8>, Vec<u8>)>,
    error: Option<Error>,
}

impl Capture {
    fn new(config: Config) -> Capture {
        Capture {
            parser: Parser::with_config(config),
            raw: Vec::new(),
            events: Vec::new(),
            comments: Vec::new(),
            retries: Vec::new(),
            ignored: Vec::new(),
            error: None,
        }
    }

    fn feed(&mut self, chunk: &[u8]) {
        let room = RAW_LIMIT.saturating_sub(self.raw.len());
        self.raw.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let Capture {
            parser,
            events,
            comments,
            retries,
            ignored,
            error,
            ..
        } = self;
        if error.is_some() {
            return;
        }
        let fed = parser.feed(chunk, |item| match item {
            Item::Event(e) => events.push(e.to_owned()),
            Item::Comment(c) => comments.push(c.text.to_str().into_owned()),
            Item::Retry(r) => retries.push((r.ms, r.offset)),
            Item::Ignored(i) => ignored.push((i.reason, i.name.to_vec(), i.value.to_vec())),
            _ => {}
        });
        *error = fed.err();
    }

    fn ids(&self) -> Vec<u64> {
        self.events
            .iter()
            .map(|e| e.last_event_id.parse().expect("a decimal id"))
            .collect()
    }

    fn ignored(&self, reason: IgnoreReason, name: &[u8]) -> bool {
        self.ignored
            .iter()
            .any(|(r, n, _)| *r == reason && n == name)
    }
}

/// One response being read.
struct Stream {
    head: Parts,
    body: Incoming,
    connection: JoinHandle<()>,
    capture: Capture,
    ended: bool,
}

impl Drop for Stream {
    fn drop(&mut self) {
        // Closes the socket: the server sees the client go away.
        self.connection.abort();
    }
}

impl Stream {
    fn status(&self) -> StatusCode {
        self.head.status
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.head
            .headers
            .get(name)
            .map(|v| v.to_str().expect("a text header"))
    }

    /// Reads one body frame; false when the body ended or `deadline` passed.
    async fn step(&mut self, deadline: Instant) -> bool {
        if self.ended {
            return false;
        }
        match timeout_at(deadline, self.body.frame()).await {
            Err(_) => false,
            Ok(None | Some(Err(_))) => {
                self.ended = true;
                false
            }
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    self.capture.feed(&data);
                }
                true
            }
        }
    }

    /// Reads until `n` events have arrived; panics after [`PATIENCE`].
    async fn events(&mut self, n: usize) -> &Capture {
        let deadline = Instant::now() + PATIENCE;
        while self.capture.events.len() < n {
            assert!(
                self.step(deadline).await,
                "{} events, {n} expected (ended: {})",
                self.capture.events.len(),
                self.ended
            );
        }
        &self.capture
    }

    /// Reads whatever arrives for `duration`.
    async fn read_for(&mut self, duration: Duration) -> &Capture {
        let deadline = Instant::now() + duration;
        while self.step(deadline).await {}
        &self.capture
    }

    /// Reads until the body ends; panics after [`PATIENCE`].
    async fn until_end(&mut self) -> &Capture {
        let deadline = Instant::now() + PATIENCE;
        while self.step(deadline).await {}
        assert!(self.ended, "the response did not end");
        &self.capture
    }

    /// Reads until the parser stops at a limit; panics after [`PATIENCE`].
    async fn until_error(&mut self) -> Error {
        let deadline = Instant::now() + PATIENCE;
        while self.capture.error.is_none() {
            assert!(self.step(deadline).await, "no limit error");
        }
        self.capture.error.expect("an error")
    }
}

/// Sends one request on a new HTTP/1.1 connection and returns once the response
/// head has arrived.
async fn request_with(
    addr: SocketAddr,
    method: Method,
    target: &str,
    headers: &[(&str, &str)],
    parser: Config,
) -> Stream {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .expect("handshake");
    let connection = tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut request = Request::builder()
        .method(method)
        .uri(target)
        .header("host", addr.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = sender
        .send_request(request.body(Empty::<Bytes>::new()).unwrap())
        .await
        .expect("a response");
    let (head, body) = response.into_parts();
    Stream {
        head,
        body,
        connection,
        capture: Capture::new(parser),
        ended: false,
    }
}

async fn get(server: &RunningServer, target: &str, headers: &[(&str, &str)]) -> Stream {
    request_with(
        server.local_addr(),
        Method::GET,
        target,
        headers,
        Config::default(),
    )
    .await
}

/// Waits until the server counts `n` open streams.
async fn active_becomes(server: &RunningServer, n: usize) {
    let deadline = Instant::now() + PATIENCE;
    while server.active_connections() != n {
        assert!(
            Instant::now() < deadline,
            "{} streams open, {n} expected",
            server.active_connections()
        );
        sleep(ms(5)).await;
    }
}

fn assert_consecutive(ids: &[u64]) {
    for pair in ids.windows(2) {
        assert_eq!(pair[1], pair[0] + 1, "ids {ids:?}");
    }
}

#[tokio::test]
async fn clean_stream_has_the_sse_head_and_sends_retry_with_the_first_event() {
    let server = server(None).await;
    let mut stream = get(
        &server,
        "/events",
        &[
            ("accept", "text/event-stream"),
            ("accept-encoding", "gzip, br"),
        ],
    )
    .await;
    assert_eq!(stream.status(), StatusCode::OK);
    assert_eq!(stream.head.version, Version::HTTP_11);
    assert_eq!(
        stream.header("content-type"),
        Some("text/event-stream; charset=utf-8")
    );
    assert_eq!(stream.header("cache-control"), Some("no-cache"));
    assert_eq!(stream.header("x-accel-buffering"), Some("no"));
    for absent in [
        "content-encoding",
        "access-control-allow-origin",
        "content-length",
    ] {
        assert_eq!(stream.header(absent), None, "{absent}");
    }
    let capture = stream.events(4).await;
    // The retry is in the first event's block, not in a block without data.
    assert!(
        capture.raw.starts_with(b"retry: 3000\nid: "),
        "{:?}",
        capture.raw
    );
    assert_eq!(capture.retries, [(3000, 0)]);
    assert_eq!(capture.events[0].offset, 0);
    assert!(capture.ignored.is_empty(), "{:?}", capture.ignored);
    assert_consecutive(&capture.ids());
    server.shutdown().await;
}

#[tokio::test]
async fn ids_come_from_one_generator_across_concurrent_connections() {
    let server = server(None).await;
    let mut first = get(&server, "/events", &[]).await;
    first.events(3).await;
    let mut second = get(&server, "/events", &[]).await;
    let (a, b) = tokio::join!(first.events(12), second.events(8));
    let (a_ids, b_ids) = (a.ids(), b.ids());
    assert_consecutive(&a_ids);
    assert_consecutive(&b_ids);
    assert!(b_ids[0] > a_ids[0], "{a_ids:?} {b_ids:?}");
    let mut shared = 0;
    for event in &b.events {
        if let Some(same) = a
            .events
            .iter()
            .find(|e| e.last_event_id == event.last_event_id)
        {
            assert_eq!(
                same,
                &OwnedEvent {
                    offset: same.offset,
                    ..event.clone()
                }
            );
            shared += 1;
        }
    }
    assert!(shared > 0, "no id seen by both: {a_ids:?} {b_ids:?}");
    // Every third event is a `tick`; every fourth has three data lines.
    for event in a.events.iter().chain(&b.events) {
        let id: u64 = event.last_event_id.parse().unwrap();
        let kind = if id.is_multiple_of(3) {
            "tick"
        } else {
            "message"
        };
        assert_eq!(event.event_type, kind, "event {id}");
        assert_eq!(
            event.data.lines().count(),
            if id.is_multiple_of(4) { 3 } else { 1 }
        );
        assert!(event.data.starts_with(&format!("event {id}")));
    }
    server.shutdown().await;
}

#[tokio::test]
async fn limit_ends_the_response_after_n_events_on_an_event_boundary() {
    let server = server(None).await;
    let mut stream = get(&server, "/events?limit=5", &[]).await;
    let capture = stream.until_end().await;
    assert_eq!(capture.events.len(), 5);
    assert_consecutive(&capture.ids());
    assert!(capture.raw.ends_with(b"\n\n"));
    let end = capture.parser.finish();
    assert_eq!(end.discarded, None);
    assert_eq!(end.retry_ms, Some(3000));
    assert_eq!(end.line_endings.styles_used(), 1);

    let bad = get(&server, "/events?limit=five", &[]).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    server.shutdown().await;
}

/// Reads three events, stays away a few intervals, and reconnects with the last
/// id: returns it and the ids of the first `n` events after reconnecting.
async fn reconnect_after_absence(server: &RunningServer, n: usize) -> (u64, Vec<u64>) {
    let mut first = get(server, "/events?limit=3", &[]).await;
    let last = *first.until_end().await.ids().last().unwrap();
    drop(first);
    sleep(EVENT * 6).await;
    let header = last.to_string();
    let mut again = get(server, "/events", &[("last-event-id", &header)]).await;
    assert_eq!(again.status(), StatusCode::OK);
    let ids = again.events(n).await.ids();
    (last, ids[..n].to_vec())
}

#[tokio::test]
async fn last_event_id_replays_exactly_the_missed_events() {
    let server = server(None).await;
    let (last, ids) = reconnect_after_absence(&server, 10).await;
    let expected: Vec<u64> = (last + 1..=last + 10).collect();
    assert_eq!(ids, expected);
    server.shutdown().await;
}

#[tokio::test]
async fn unknown_malformed_and_empty_ids_get_200_and_live_events() {
    let server = server(None).await;
    for id in ["999999999", "", "abc", "+3", "99999999999999999999999"] {
        let mut stream = get(&server, "/events", &[("last-event-id", id)]).await;
        assert_eq!(stream.status(), StatusCode::OK, "Last-Event-ID {id:?}");
        assert_consecutive(&stream.events(2).await.ids());
    }
    server.shutdown().await;
}

#[tokio::test]
async fn cors_headers_answer_an_origin_and_a_preflight() {
    let server = server(None).await;
    let origin = "https://app.example";
    let mut stream = get(&server, "/events", &[("origin", origin)]).await;
    assert_eq!(stream.header("access-control-allow-origin"), Some(origin));
    assert_eq!(stream.header("vary"), Some("origin"));
    stream.events(1).await;

    let preflight = request_with(
        server.local_addr(),
        Method::OPTIONS,
        "/events",
        &[
            ("origin", origin),
            ("access-control-request-method", "GET"),
            (
                "access-control-request-headers",
                "last-event-id, cache-control",
            ),
        ],
        Config::default(),
    )
    .await;
    assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some(origin)
    );
    assert!(
        preflight
            .header("access-control-allow-methods")
            .unwrap()
            .contains("GET")
    );
    let allowed = preflight.header("access-control-allow-headers").unwrap();
    for name in ["last-event-id", "cache-control"] {
        assert!(allowed.split(", ").any(|a| a == name), "{allowed}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn other_paths_are_404_and_other_methods_405() {
    let server = server(None).await;
    let addr = server.local_addr();
    let missing = request_with(addr, Method::GET, "/", &[], Config::default()).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let post = request_with(addr, Method::POST, "/events", &[], Config::default()).await;
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(post.header("allow"), Some("GET, OPTIONS"));
    server.shutdown().await;
}

#[tokio::test]
async fn heartbeat_comments_arrive_between_events() {
    let server = server(None).await;
    let mut stream = get(&server, "/events", &[]).await;
    let capture = stream.read_for(HEARTBEAT * 4 + ms(50)).await;
    assert!(capture.comments.len() >= 2, "{:?}", capture.comments);
    assert!(capture.comments.iter().all(|c| c == " heartbeat"));
    server.shutdown().await;
}

#[tokio::test]
async fn dropped_clients_release_their_streams() {
    let server = server(None).await;
    let mut streams = Vec::new();
    for _ in 0..3 {
        let mut stream = get(&server, "/events", &[]).await;
        stream.events(1).await;
        streams.push(stream);
    }
    assert_eq!(server.active_connections(), 3);
    drop(streams);
    active_becomes(&server, 0).await;
    // A finished `?limit` stream is released too.
    let mut done = get(&server, "/events?limit=1", &[]).await;
    done.until_end().await;
    active_becomes(&server, 0).await;
    server.shutdown().await;
}

#[tokio::test]
async fn streams_beyond_max_connections_get_503() {
    let server = sse::start(SseServerConfig {
        max_connections: 2,
        ..config(None)
    })
    .await
    .unwrap();
    let mut a = get(&server, "/events", &[]).await;
    let b = get(&server, "/events", &[]).await;
    assert_eq!((a.status(), b.status()), (StatusCode::OK, StatusCode::OK));
    let refused = get(&server, "/events", &[]).await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.header("retry-after"), Some("1"));
    drop(b);
    active_becomes(&server, 1).await;
    let mut c = get(&server, "/events", &[]).await;
    assert_eq!(c.status(), StatusCode::OK);
    c.events(1).await;
    a.events(1).await;
    server.shutdown().await;
}

#[tokio::test]
async fn http2_prior_knowledge_streams_without_connection_headers() {
    let server = server(None).await;
    let tcp = TcpStream::connect(server.local_addr()).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .unwrap();
    let connection = tokio::spawn(async move {
        let _ = connection.await;
    });
    let url = format!("{}?limit=3", server.url());
    let request = |uri: &str| {
        Request::get(uri)
            .header("origin", "https://app.example")
            .body(Empty::<Bytes>::new())
            .unwrap()
    };
    let (head, body) = sender
        .send_request(request(&url))
        .await
        .unwrap()
        .into_parts();
    let mut limited = Stream {
        head,
        body,
        connection: tokio::spawn(async {}),
        capture: Capture::new(Config::default()),
        ended: false,
    };
    assert_eq!(limited.head.version, Version::HTTP_2);
    assert_eq!(limited.status(), StatusCode::OK);
    for absent in ["connection", "keep-alive", "transfer-encoding", "upgrade"] {
        assert_eq!(limited.header(absent), None, "{absent}");
    }
    assert_eq!(limited.header("cache-control"), Some("no-cache"));
    assert_eq!(
        limited.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    let capture = limited.until_end().await;
    assert_eq!(capture.events.len(), 3);
    assert_eq!(capture.parser.finish().discarded, None);

    // A second stream on the same connection, then the client goes away.
    let (head, body) = sender
        .send_request(request(&server.url()))
        .await
        .unwrap()
        .into_parts();
    let mut endless = Stream {
        head,
        body,
        connection,
        capture: Capture::new(Config::default()),
        ended: false,
    };
    endless.events(2).await;
    active_becomes(&server, 1).await;
    drop((endless, limited, sender));
    active_becomes(&server, 0).await;
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_ends_streams_and_closes_the_port() {
    let server = server(None).await;
    let addr = server.local_addr();
    assert_eq!(server.url(), format!("http://{addr}/events"));
    let mut stream = get(&server, "/events", &[]).await;
    stream.events(1).await;
    timeout(PATIENCE, server.shutdown())
        .await
        .expect("shutdown finishes");
    stream.until_end().await;
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn invalid_configurations_are_refused() {
    let refused = |config: SseServerConfig| async move {
        sse::start(config).await.map(drop).unwrap_err().kind()
    };
    let invalid = std::io::ErrorKind::InvalidInput;
    let zero = SseServerConfig {
        event_interval: Duration::ZERO,
        ..SseServerConfig::default()
    };
    assert_eq!(refused(zero).await, invalid);
    let no_heartbeat = SseServerConfig {
        heartbeat_interval: Duration::ZERO,
        ..SseServerConfig::default()
    };
    assert_eq!(refused(no_heartbeat).await, invalid);
    let slow = SseServerConfig {
        heartbeat_interval: Duration::from_secs(15),
        ..SseServerConfig::default()
    };
    assert_eq!(refused(slow.clone()).await, invalid);
    // A faulty server may be as slow as it likes.
    let faulty = sse::start(SseServerConfig {
        fault: Some(Fault::Stalls),
        ..slow
    })
    .await
    .unwrap();
    faulty.shutdown().await;
}

#[test]
fn faults_parse_by_their_names() {
    for fault in Fault::ALL {
        assert_eq!(fault.name().parse::<Fault>(), Ok(fault));
        assert_eq!(fault.to_string(), fault.name());
        assert!(fault.description().len() > 40, "{fault}");
    }
    assert!("h2-connection-header".parse::<Fault>().is_err());
}

/// Decompresses as much of a gzip stream as has arrived.
fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut decoder = flate2::write::GzDecoder::new(Vec::new());
    let _ = decoder.write_all(bytes);
    let _ = decoder.flush();
    decoder.get_ref().clone()
}

/// Shows the symptom `fault` exists to produce: what a check sees. The match is
/// exhaustive, so a new fault cannot be added without its test.
async fn symptom(fault: Fault) {
    let server = server(Some(fault)).await;
    let origin = ("origin", "https://app.example");
    match fault {
        Fault::Buffered => {
            // Nothing, not even the head, while less than 8 KiB is produced.
            let held = timeout(ms(300), get(&server, "/events", &[])).await;
            assert!(held.is_err(), "the head arrived");
            // A response that ends below 8 KiB comes out whole, once it has ended:
            // five events are four gaps of at least 15 ms (tokio lets a tick be up
            // to 5 ms late without shifting the next one).
            let started = Instant::now();
            let mut stream = get(&server, "/events?limit=5", &[]).await;
            assert!(started.elapsed() >= EVENT * 2, "{:?}", started.elapsed());
            assert_eq!(stream.header("x-accel-buffering"), None);
            assert_eq!(stream.until_end().await.events.len(), 5);
        }
        Fault::GzipBuffered => {
            let gzip = [("accept-encoding", "gzip, br")];
            let mut stream = get(&server, "/events", &gzip).await;
            assert_eq!(stream.header("content-encoding"), Some("gzip"));
            let raw = &stream.read_for(ms(400)).await.raw;
            assert!(gunzip(raw).is_empty(), "decoded {:?}", gunzip(raw));
            // Everything comes out when the response ends.
            let mut limited = get(&server, "/events?limit=3", &gzip).await;
            let stream_bytes = gunzip(&limited.until_end().await.raw);
            let mut capture = Capture::new(Config::default());
            capture.feed(&stream_bytes);
            assert_eq!(capture.events.len(), 3);
            // Without gzip in the request it is clean.
            let mut plain = get(&server, "/events", &[]).await;
            assert_eq!(plain.header("content-encoding"), None);
            plain.events(2).await;
        }
        Fault::HeldUntilNext => {
            // Every frame completes two events (the retry rides with the first).
            let mut stream = get(&server, "/events", &[]).await;
            assert_eq!(stream.header("x-accel-buffering"), None);
            let deadline = Instant::now() + PATIENCE;
            let mut counts = Vec::new();
            while stream.capture.events.len() < 6 && stream.step(deadline).await {
                counts.push(stream.capture.events.len());
            }
            counts.dedup();
            assert_eq!(counts, [2, 4, 6], "events after each frame");
            // The end lets the held event out: three events, not two.
            let mut limited = get(&server, "/events?limit=3", &[]).await;
            assert_eq!(limited.until_end().await.events.len(), 3);
        }
        Fault::NoHeartbeat | Fault::SlowHeartbeat => {
            let mut stream = get(&server, "/events", &[]).await;
            let capture = stream.read_for(HEARTBEAT * 6).await;
            assert!(capture.comments.is_empty(), "{:?}", capture.comments);
            let events = capture.events.len();
            assert!((1..=3).contains(&events), "{events} events: no silence");
        }
        Fault::BadRetry => {
            let mut stream = get(&server, "/events", &[]).await;
            let capture = stream.events(2).await;
            assert!(capture.retries.is_empty());
            let invalid: Vec<&[u8]> = capture
                .ignored
                .iter()
                .filter(|(r, n, _)| *r == IgnoreReason::InvalidRetry && n == b"retry")
                .map(|(_, _, v)| &v[..])
                .collect();
            assert_eq!(invalid, [&b"3000ms"[..], b"+3000"]);
            assert_eq!(capture.parser.finish().retry_ms, None);
        }
        Fault::RetryInDroppedBlock => {
            let mut stream = get(&server, "/events", &[]).await;
            let capture = stream.until_end().await;
            assert_eq!(capture.events.len(), 5);
            let [(3000, offset)] = capture.retries[..] else {
                panic!("{:?}", capture.retries)
            };
            let end = capture.parser.finish();
            let dropped = end.discarded.expect("an unfinished block");
            assert!(dropped.offset <= offset, "{dropped:?} retry at {offset}");
            assert!(!end.discarded_partial_event());
        }
        Fault::RetryOnlyBlock => {
            let mut stream = get(&server, "/events", &[]).await;
            let capture = stream.events(2).await;
            assert!(capture.raw.starts_with(b"retry: 3000\n\n"));
            assert_eq!(capture.retries, [(3000, 0)]);
            // The first event's block begins after the blank line.
            assert_eq!(capture.events[0].offset, 13);
        }
        Fault::IdsComparedAsStrings => {
            // The ids start at 990 and pass 999 within the first events.
            let mut first = get(&server, "/events", &[]).await;
            let deadline = Instant::now() + PATIENCE;
            while first.capture.ids().last().is_none_or(|id| *id < 1003) {
                assert!(first.step(deadline).await, "{:?}", first.capture.ids());
            }
            assert!(first.capture.ids()[0] < 1000, "{:?}", first.capture.ids());
            drop(first);
            // From a shorter id: the newest event compares lower as a string, so
            // nothing is replayed and 996 onwards are lost.
            let mut short = get(&server, "/events", &[("last-event-id", "995")]).await;
            let ids = short.events(2).await.ids();
            assert!(ids[0] > 1003, "after 995: {ids:?}");
            // From an id as long as the newest, the replay is right.
            let mut long = get(&server, "/events", &[("last-event-id", "1001")]).await;
            assert_eq!(long.events(2).await.ids(), [1002, 1003]);
        }
        Fault::IgnoresLastEventId => {
            let (last, ids) = reconnect_after_absence(&server, 2).await;
            assert!(ids[0] > last + 1, "after {last}: {ids:?}");
        }
        Fault::ReplayGap => {
            let (last, ids) = reconnect_after_absence(&server, 3).await;
            assert_eq!(ids, [last + 2, last + 3, last + 4]);
        }
        Fault::ReplayDuplicates => {
            let (last, ids) = reconnect_after_absence(&server, 3).await;
            assert_eq!(ids, [last, last + 1, last + 2]);
        }
        Fault::RawNewlineInData => {
            let mut stream = get(&server, "/events", &[]).await;
            let capture = stream.events(1).await;
            assert_eq!(capture.events[0].data.lines().count(), 1);
            assert!(capture.ignored(IgnoreReason::LineWithoutColon, b"line 2 of 3"));
            assert!(capture.ignored(IgnoreReason::LineWithoutColon, b"line 3 of 3"));
        }
        Fault::MixedLineEndings => {
            let mut stream = get(&server, "/events", &[]).await;
            let endings = stream.events(3).await.parser.finish().line_endings;
            assert!(endings.lf > 0 && endings.crlf > 0, "{endings:?}");
        }
        Fault::InvalidUtf8 => {
            let mut stream = get(&server, "/events", &[]).await;
            let capture = stream.events(1).await;
            assert!(std::str::from_utf8(&capture.raw).is_err());
            assert!(capture.events[0].data.contains('\u{fffd}'));
        }
        Fault::BomMidStream => {
            let mut stream = get(&server, "/events", &[]).await;
            let capture = stream.events(1).await;
            let bom = capture.raw.windows(3).position(|w| w == b"\xef\xbb\xbf");
            assert!(bom.is_some_and(|at| at > 0), "{bom:?}");
            assert!(!capture.parser.finish().bom);
            assert!(
                capture
                    .ignored
                    .iter()
                    .any(|(r, n, _)| *r == IgnoreReason::UnknownField
                        && n.starts_with(b"\xef\xbb\xbf")),
                "{:?}",
                capture.ignored
            );
        }
        Fault::UnknownField => {
            let mut stream = get(&server, "/events", &[]).await;
            let capture = stream.events(1).await;
            assert!(capture.ignored(IgnoreReason::UnknownField, b"Data"));
            assert!(capture.ignored(IgnoreReason::UnknownField, b"foo"));
        }
        Fault::IdWithNul => {
            let mut stream = get(&server, "/events", &[]).await;
            let capture = stream.events(1).await;
            assert!(capture.ignored(IgnoreReason::IdContainsNul, b"id"));
            assert_eq!(capture.events[0].last_event_id, "");
        }
        Fault::DuplicateIds => {
            let mut stream = get(&server, "/events", &[]).await;
            let ids = stream.events(2).await.ids();
            assert_eq!(ids[0], ids[1]);
        }
        Fault::CutsLastEvent => {
            let mut stream = get(&server, "/events", &[]).await;
            let capture = stream.until_end().await;
            assert_eq!(capture.events.len(), 4);
            assert!(capture.parser.finish().discarded_partial_event());
            let mut limited = get(&server, "/events?limit=2", &[]).await;
            let capture = limited.until_end().await;
            assert_eq!(capture.events.len(), 1);
            assert!(capture.parser.finish().discarded_partial_event());
        }
        Fault::UnterminatedEvents => {
            let mut stream = get(&server, "/events", &[]).await;
            let capture = stream.events(2).await;
            let merged = &capture.events[0].data;
            assert!(merged.matches("event ").count() >= 2, "{merged:?}");
        }
        Fault::NoCacheControl => {
            let stream = get(&server, "/events", &[]).await;
            assert_eq!(stream.status(), StatusCode::OK);
            assert_eq!(stream.header("cache-control"), None);
        }
        Fault::WrongContentType => {
            let stream = get(&server, "/events", &[]).await;
            assert_eq!(
                stream.header("content-type"),
                Some("text/plain; charset=utf-8")
            );
        }
        Fault::CharsetLatin1 => {
            let stream = get(&server, "/events", &[]).await;
            assert_eq!(
                stream.header("content-type"),
                Some("text/event-stream; charset=iso-8859-1")
            );
        }
        Fault::ErrorOnUnknownId | Fault::ErrorOnEmptyId => {
            let status = async |id: Option<&str>| {
                let headers: Vec<(&str, &str)> =
                    id.map(|id| ("last-event-id", id)).into_iter().collect();
                get(&server, "/events", &headers).await.status()
            };
            let (unknown, empty) = if fault == Fault::ErrorOnUnknownId {
                (StatusCode::INTERNAL_SERVER_ERROR, StatusCode::OK)
            } else {
                (StatusCode::OK, StatusCode::INTERNAL_SERVER_ERROR)
            };
            assert_eq!(status(Some("999999999")).await, unknown);
            assert_eq!(status(Some("")).await, empty);
            assert_eq!(status(None).await, StatusCode::OK);
        }
        Fault::NoCors => {
            let stream = get(&server, "/events", &[origin]).await;
            assert_eq!(stream.status(), StatusCode::OK);
            assert_eq!(stream.header("access-control-allow-origin"), None);
            let preflight = request_with(
                server.local_addr(),
                Method::OPTIONS,
                "/events",
                &[origin, ("access-control-request-method", "GET")],
                Config::default(),
            )
            .await;
            assert_eq!(preflight.status(), StatusCode::METHOD_NOT_ALLOWED);
            assert_eq!(preflight.header("access-control-allow-origin"), None);
        }
        Fault::PreflightWithoutLastEventId => {
            let stream = get(&server, "/events", &[origin]).await;
            assert_eq!(stream.header("access-control-allow-origin"), Some(origin.1));
            let preflight = request_with(
                server.local_addr(),
                Method::OPTIONS,
                "/events",
                &[
                    origin,
                    ("access-control-request-method", "GET"),
                    ("access-control-request-headers", "last-event-id"),
                ],
                Config::default(),
            )
            .await;
            assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
            let allowed = preflight.header("access-control-allow-headers").unwrap();
            assert!(allowed.contains("authorization"), "{allowed}");
            assert!(!allowed.contains("last-event-id"), "{allowed}");
        }
        Fault::ReconnectRefused => {
            let mut stream = get(&server, "/events", &[]).await;
            stream.events(1).await;
            drop(stream);
            active_becomes(&server, 0).await;
            let again = get(&server, "/events", &[]).await;
            assert_eq!(again.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(again.header("retry-after"), Some("5"));
        }
        Fault::DiesAfterDrops => {
            let mut streams = Vec::new();
            for _ in 0..10 {
                let stream = get(&server, "/events", &[]).await;
                assert_eq!(stream.status(), StatusCode::OK);
                streams.push(stream);
            }
            drop(streams);
            let deadline = Instant::now() + PATIENCE;
            while TcpStream::connect(server.local_addr()).await.is_ok() {
                assert!(Instant::now() < deadline, "still accepting");
                sleep(ms(10)).await;
            }
        }
        Fault::Stalls => {
            let mut stream = get(&server, "/events", &[]).await;
            assert_eq!(stream.status(), StatusCode::OK);
            assert!(stream.read_for(HEARTBEAT * 4).await.raw.is_empty());
            assert!(!stream.ended);
        }
        Fault::NeverEndsLine => {
            let parser = Config::default().with_max_line_len(256 << 10);
            let mut stream =
                request_with(server.local_addr(), Method::GET, "/events", &[], parser).await;
            assert!(matches!(
                stream.until_error().await,
                Error::LineTooLong { .. }
            ));
            assert!(stream.capture.events.is_empty());
        }
        Fault::HugeEvent => {
            let parser = Config::default().with_max_event_len(1 << 20);
            let mut stream =
                request_with(server.local_addr(), Method::GET, "/events", &[], parser).await;
            assert!(matches!(
                stream.until_error().await,
                Error::EventTooLarge { .. }
            ));
            assert!(stream.capture.events.is_empty());
        }
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_shows_its_symptom() {
    let mut cases = JoinSet::new();
    for fault in Fault::ALL {
        cases.spawn(async move { (fault, tokio::spawn(symptom(fault)).await) });
    }
    let mut failures = Vec::new();
    while let Some(case) = cases.join_next().await {
        let (fault, outcome) = case.expect("the case runs");
        if let Err(error) = outcome {
            failures.push(format!("{fault}: {error}"));
        }
    }
    failures.sort();
    assert!(failures.is_empty(), "{failures:#?}");
}
