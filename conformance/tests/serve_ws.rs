//! The reference WebSocket server, read over real sockets: the clean server does
//! what PROTOCOL.md §3 asks, and every fault shows the symptom its check looks for
//! (and the clean server does not).
//!
//! tokio-tungstenite is the client where a well-behaved client will do; the
//! invalid cases write raw bytes with the framing crate's encoder and read the
//! answers with its reader, as a client (`Role::Server` frames).

use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt as _, StreamExt as _};
use pulsecheck::serve::ws::{self, Fault, RunningServer, WsServerConfig};
use pulsecheck_ws::handshake::{ClientRequest, HandshakeError, validate_server_response};
use pulsecheck_ws::{
    Assembled, CloseCode, FrameConfig, FrameHeader, LengthEncoding, MessageKind, Opcode,
    ProtocolError, Role, Rsv, Status, StreamReader, encode_frame, write_close_body,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep, timeout, timeout_at};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as TungsteniteCode;

/// How long anything that should happen may take on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(5);
/// How long "nothing happens" is watched for.
const QUIET: Duration = Duration::from_millis(300);
/// The masking key of every frame the raw client sends.
const MASK: [u8; 4] = [0x11, 0x22, 0x33, 0x44];

const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CONTINUATION: u8 = 0x0;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xA;

fn config(fault: Option<Fault>) -> WsServerConfig {
    WsServerConfig {
        fault,
        ..WsServerConfig::default()
    }
}

async fn server(config: WsServerConfig) -> RunningServer {
    ws::start(config).await.expect("the server starts")
}

/// A masked frame.
fn frame(opcode: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
    let mut header = FrameHeader::new(Opcode::from_bits(opcode), payload.len() as u64);
    header.fin = fin;
    header.mask = Some(MASK);
    encoded(&header, payload)
}

fn encoded(header: &FrameHeader, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_frame(&mut out, header, payload).expect("the length fits");
    out
}

/// A masked Close with `code` and `reason`.
fn close(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    write_close_body(&mut body, CloseCode(code), reason);
    frame(CLOSE, true, &body)
}

/// What the raw client read next.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Got {
    Message {
        kind: MessageKind,
        data: Vec<u8>,
        frames: u64,
    },
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    /// A valid Close, with its code.
    Close(Option<u16>),
    /// The server's bytes broke a rule the framing crate's reader checks.
    Violation(ProtocolError),
    /// The server closed TCP (FIN).
    Eof,
    /// The connection was reset.
    Reset,
    /// Nothing within the time given.
    Silence,
}

fn text(data: &str) -> Got {
    Got::Message {
        kind: MessageKind::Text,
        data: data.as_bytes().to_vec(),
        frames: 1,
    }
}

/// Sends the request and reads the response head; returns the connection, the
/// head and the bytes after it.
async fn exchange(server: &RunningServer, request: &[u8]) -> (TcpStream, Vec<u8>, Vec<u8>) {
    let mut tcp = TcpStream::connect(server.local_addr()).await.unwrap();
    tcp.write_all(request).await.unwrap();
    let mut buf = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return (tcp, buf, rest);
        }
        let mut chunk = [0; 4096];
        let n = timeout_at(deadline, tcp.read(&mut chunk))
            .await
            .expect("a response head in time")
            .unwrap();
        assert!(n > 0, "the server closed before its head: {buf:?}");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// A raw client on an upgraded connection.
struct Raw {
    tcp: TcpStream,
    reader: StreamReader,
    buf: Vec<u8>,
}

impl Raw {
    /// Sends `request` and returns what the client validator makes of the answer,
    /// and the connection.
    async fn handshake(
        server: &RunningServer,
        request: &ClientRequest<'_>,
    ) -> (Result<Option<String>, HandshakeError>, Raw) {
        let mut wire = Vec::new();
        request.write(&mut wire);
        let (tcp, head, rest) = exchange(server, &wire).await;
        let verdict = match validate_server_response(&head, request) {
            Ok(Status::Complete((answer, used))) => {
                assert_eq!(used, head.len());
                assert!(answer.extensions.is_empty(), "{:?}", answer.extensions);
                Ok(answer.protocol.map(str::to_owned))
            }
            Ok(Status::Partial) => panic!("a complete head is partial"),
            Err(e) => Err(e),
        };
        let raw = Raw {
            tcp,
            reader: StreamReader::new(FrameConfig::new(Role::Server)),
            buf: rest,
        };
        (verdict, raw)
    }

    /// A connection with a correct handshake.
    async fn connect(server: &RunningServer) -> Raw {
        let request = ClientRequest::new("127.0.0.1", "/", *b"pulsecheck nonce");
        let (verdict, raw) = Raw::handshake(server, &request).await;
        assert_eq!(verdict, Ok(None));
        raw
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.tcp.write_all(bytes).await.unwrap();
    }

    /// The next message, control frame, violation or end, within `within`.
    async fn next(&mut self, within: Duration) -> Got {
        let deadline = Instant::now() + within;
        loop {
            let read = match self.reader.read(&mut self.buf) {
                Ok(Status::Complete((frame, used))) => {
                    let got = match frame.event {
                        Assembled::Fragment => None,
                        Assembled::Message(m) => Some(Got::Message {
                            kind: m.kind(),
                            data: m.data().to_vec(),
                            frames: m.frames(),
                        }),
                        Assembled::Ping(p) => Some(Got::Ping(p.to_vec())),
                        Assembled::Pong(p) => Some(Got::Pong(p.to_vec())),
                        Assembled::Close(c) => Some(Got::Close(c.code.map(CloseCode::get))),
                    };
                    Some((got, used))
                }
                Ok(Status::Partial) => None,
                Err(v) => return Got::Violation(v.error),
            };
            if let Some((got, used)) = read {
                self.buf.drain(..used);
                match got {
                    Some(got) => return got,
                    None => continue,
                }
            }
            let mut chunk = vec![0; 64 * 1024];
            match timeout_at(deadline, self.tcp.read(&mut chunk)).await {
                Err(_) => return Got::Silence,
                Ok(Ok(0)) => return Got::Eof,
                Ok(Err(_)) => return Got::Reset,
                Ok(Ok(n)) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Sends `bytes`, then expects a Close with `code` and the server's FIN.
    async fn expect_failure(&mut self, bytes: &[u8], code: u16, case: &str) {
        self.send(bytes).await;
        assert_eq!(self.next(PATIENCE).await, Got::Close(Some(code)), "{case}");
        assert_eq!(self.next(PATIENCE).await, Got::Eof, "{case}");
    }
}

/// Waits until the server counts `n` open connections.
async fn active_becomes(server: &RunningServer, n: usize) {
    let deadline = Instant::now() + PATIENCE;
    while server.active_connections() != n {
        assert!(
            Instant::now() < deadline,
            "{} open, not {n}",
            server.active_connections()
        );
        sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn url_names_the_loopback_port() {
    let server = server(config(None)).await;
    assert_eq!(
        server.url(),
        format!("ws://127.0.0.1:{}/", server.local_addr().port())
    );
    assert_eq!(server.active_connections(), 0);
    server.shutdown().await;
}

#[tokio::test]
async fn invalid_configurations_are_refused() {
    for bad in [
        WsServerConfig {
            max_message_size: 0,
            ..WsServerConfig::default()
        },
        WsServerConfig {
            ping_interval: Some(Duration::ZERO),
            ..WsServerConfig::default()
        },
        WsServerConfig {
            max_connections: 0,
            ..WsServerConfig::default()
        },
        WsServerConfig {
            idle_timeout: Some(Duration::ZERO),
            ..WsServerConfig::default()
        },
    ] {
        let err = ws::start(bad).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    }
}

#[tokio::test]
async fn compression_faults_need_deflate_and_enables_deflate_needs_none() {
    let deflate = Some(pulsecheck_ws::deflate::ServerPolicy::default());
    for fault in Fault::ALL {
        let without = ws::start(config(Some(fault))).await;
        assert_eq!(
            without.is_err(),
            fault.needs_deflate(),
            "{fault} without deflate"
        );
        let with = ws::start(WsServerConfig {
            deflate,
            ..config(Some(fault))
        })
        .await;
        assert_eq!(
            with.is_err(),
            fault == Fault::EnablesDeflate,
            "{fault} with deflate"
        );
    }
}

#[tokio::test]
async fn tungstenite_client_gets_its_messages_pongs_and_close_back() {
    let server = server(config(None)).await;
    let (mut client, response) = tokio_tungstenite::connect_async(server.url().as_str())
        .await
        .expect("the handshake succeeds");
    assert_eq!(response.status(), 101);
    assert!(response.headers().get("sec-websocket-protocol").is_none());
    active_becomes(&server, 1).await;

    let big: Vec<u8> = (0..4 << 20).map(|i: u32| (i % 251) as u8).collect();
    for message in [
        Message::text("héllo, wörld"),
        Message::text(""),
        Message::binary(vec![0_u8, 0xff, 0x80]),
        Message::binary(Vec::new()),
        Message::binary(big),
    ] {
        client.send(message.clone()).await.unwrap();
        let echo = timeout(PATIENCE, client.next()).await.unwrap().unwrap();
        assert_eq!(echo.unwrap(), message);
    }

    client
        .send(Message::Ping(Bytes::from_static(b"are you there")))
        .await
        .unwrap();
    let pong = timeout(PATIENCE, client.next()).await.unwrap().unwrap();
    assert_eq!(
        pong.unwrap(),
        Message::Pong(Bytes::from_static(b"are you there"))
    );

    client
        .close(Some(CloseFrame {
            code: TungsteniteCode::Away,
            reason: "bye".into(),
        }))
        .await
        .unwrap();
    let reply = timeout(PATIENCE, client.next()).await.unwrap().unwrap();
    let Message::Close(Some(reply)) = reply.unwrap() else {
        panic!("a Close with a code")
    };
    assert_eq!(reply.code, TungsteniteCode::Away);
    // The stream ends: the server closed TCP.
    assert!(timeout(PATIENCE, client.next()).await.unwrap().is_none());
    // The server's FIN came first; once the client closes its side, the
    // connection is released.
    drop(client);
    active_becomes(&server, 0).await;
    server.shutdown().await;
}

#[tokio::test]
async fn fragmented_messages_are_echoed_whole_and_pings_between_fragments_answered() {
    let server = server(config(None)).await;
    let mut raw = Raw::connect(&server).await;
    // RFC 6455 §5.4: control frames may be injected between fragments. The pong
    // comes before the message is finished.
    raw.send(&frame(TEXT, false, b"Hel")).await;
    raw.send(&frame(PING, true, b"mid-message")).await;
    assert_eq!(raw.next(PATIENCE).await, Got::Pong(b"mid-message".to_vec()));
    raw.send(&frame(CONTINUATION, false, b"l")).await;
    // "λ" (CE BB) cut between two fragments is fine.
    raw.send(&frame(CONTINUATION, false, b"o \xce")).await;
    raw.send(&frame(CONTINUATION, true, b"\xbb")).await;
    assert_eq!(raw.next(PATIENCE).await, text("Hello λ"));

    // A binary message in four fragments, one frame in several TCP writes.
    let data: Vec<u8> = (0..200_000_u32).map(|i| (i % 256) as u8).collect();
    let parts: Vec<&[u8]> = data.chunks(50_000).collect();
    for (i, part) in parts.iter().enumerate() {
        let opcode = if i == 0 { BINARY } else { CONTINUATION };
        let bytes = frame(opcode, i == parts.len() - 1, part);
        for piece in bytes.chunks(7_000) {
            raw.send(piece).await;
        }
    }
    let expected = Got::Message {
        kind: MessageKind::Binary,
        data: data.clone(),
        frames: 1,
    };
    assert_eq!(raw.next(PATIENCE).await, expected);

    // Unsolicited pongs get nothing back.
    raw.send(&frame(0xA, true, b"unsolicited")).await;
    raw.send(&frame(TEXT, true, b"after")).await;
    assert_eq!(raw.next(PATIENCE).await, text("after"));
    server.shutdown().await;
}

#[tokio::test]
async fn invalid_utf8_fails_fast_with_1007() {
    let server = server(config(None)).await;
    // A frame announcing 10 bytes, of which only "a\xff" arrive: the Close comes
    // before the frame is complete.
    let mut raw = Raw::connect(&server).await;
    let mut partial = frame(TEXT, true, b"a\xffcdefghij");
    partial.truncate(2 + 4 + 2);
    raw.expect_failure(&partial, 1007, "inside a frame").await;

    // The second fragment makes it invalid; the message is not finished.
    let mut raw = Raw::connect(&server).await;
    raw.send(&frame(TEXT, false, b"ok \xe2\x82")).await;
    raw.expect_failure(&frame(CONTINUATION, false, b"A"), 1007, "across fragments")
        .await;

    // A message that ends inside a code point.
    let mut raw = Raw::connect(&server).await;
    raw.expect_failure(&frame(TEXT, true, b"abc\xe2\x82"), 1007, "truncated")
        .await;
    server.shutdown().await;
}

#[tokio::test]
async fn protocol_violations_close_with_the_framing_crates_code_then_tcp() {
    let server = server(config(None)).await;
    let unmasked = {
        let header = FrameHeader::new(Opcode::TEXT, 2);
        encoded(&header, b"hi")
    };
    let rsv1 = {
        let mut header = FrameHeader::new(Opcode::TEXT, 2);
        header.rsv = Rsv::RSV1;
        header.mask = Some(MASK);
        encoded(&header, b"hi")
    };
    let non_minimal = {
        let mut header = FrameHeader::new(Opcode::BINARY, 5);
        header.length_encoding = LengthEncoding::Extended16;
        header.mask = Some(MASK);
        encoded(&header, b"hello")
    };
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("unmasked client frame", unmasked, 1002),
        ("reserved opcode 3", frame(0x3, true, b""), 1002),
        ("reserved opcode 0xB", frame(0xB, true, b""), 1002),
        ("RSV1 without extension", rsv1, 1002),
        ("non-minimal length", non_minimal, 1002),
        (
            "continuation with no message",
            frame(CONTINUATION, true, b"x"),
            1002,
        ),
        ("fragmented ping", frame(PING, false, b""), 1002),
        ("ping of 126 bytes", frame(PING, true, &[b'p'; 126]), 1002),
        ("close body of 1 byte", frame(CLOSE, true, b"\x03"), 1002),
        ("close code 999", close(999, b""), 1002),
        ("close code 1005", close(1005, b""), 1002),
        ("close code 1016", close(1016, b""), 1002),
        ("close code 5000", close(5000, b""), 1002),
        // The framing crate's table: invalid UTF-8 in a close reason is 1007.
        ("close reason not UTF-8", close(1000, b"\xff"), 1007),
    ];
    for (case, bytes, code) in &cases {
        let mut raw = Raw::connect(&server).await;
        raw.expect_failure(bytes, *code, case).await;
    }
    // A new message inside a fragmented one.
    let mut raw = Raw::connect(&server).await;
    raw.send(&frame(TEXT, false, b"a")).await;
    raw.expect_failure(&frame(BINARY, true, b"b"), 1002, "interleaved")
        .await;
    drop(raw);
    active_becomes(&server, 0).await;
    server.shutdown().await;
}

#[tokio::test]
async fn messages_above_the_limit_close_with_1009() {
    let server = server(WsServerConfig {
        max_message_size: 1024,
        ..WsServerConfig::default()
    })
    .await;
    let mut raw = Raw::connect(&server).await;
    raw.send(&frame(BINARY, true, &[7; 1024])).await;
    let at_limit = Got::Message {
        kind: MessageKind::Binary,
        data: vec![7; 1024],
        frames: 1,
    };
    assert_eq!(raw.next(PATIENCE).await, at_limit);
    // Decided by the length field: the payload never needs to arrive.
    let mut header_only = frame(BINARY, true, &[0; 2000]);
    header_only.truncate(2 + 2 + 4);
    raw.expect_failure(&header_only, 1009, "one frame").await;

    let mut raw = Raw::connect(&server).await;
    raw.send(&frame(TEXT, false, &[b'a'; 600])).await;
    raw.expect_failure(&frame(CONTINUATION, true, &[b'b'; 600]), 1009, "fragments")
        .await;
    server.shutdown().await;
}

#[tokio::test]
async fn close_is_echoed_and_the_server_closes_tcp_first() {
    let server = server(config(None)).await;
    let cases: [(&str, Vec<u8>, u16); 6] = [
        ("1000 with a reason", close(1000, b"bye"), 1000),
        ("empty body", frame(CLOSE, true, b""), 1000),
        ("1001", close(1001, b""), 1001),
        ("1012 (IANA)", close(1012, b"restart"), 1012),
        ("3000", close(3000, b""), 3000),
        ("4999", close(4999, b""), 4999),
    ];
    for (case, bytes, code) in &cases {
        let mut raw = Raw::connect(&server).await;
        raw.send(&frame(TEXT, true, b"last words")).await;
        assert_eq!(raw.next(PATIENCE).await, text("last words"), "{case}");
        // The client keeps its side open: the FIN it reads is the server's.
        raw.expect_failure(bytes, *code, case).await;
    }
    active_becomes(&server, 0).await;
    server.shutdown().await;
}

#[tokio::test]
async fn bad_handshakes_get_426_or_400() {
    let server = server(config(None)).await;
    let valid = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    let cases = [
        (
            "version 12",
            valid.replace("Version: 13", "Version: 12"),
            "426",
        ),
        (
            "no version",
            valid.replace("Sec-WebSocket-Version: 13\r\n", ""),
            "426",
        ),
        (
            "key of 15 bytes",
            valid.replace("dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25j"),
            "400",
        ),
        (
            "key not base64",
            valid.replace("dGhlIHNhbXBsZSBub25jZQ==", "not a key!"),
            "400",
        ),
        (
            "no key",
            valid.replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", ""),
            "400",
        ),
        (
            "no Upgrade",
            valid.replace("Upgrade: websocket\r\n", ""),
            "400",
        ),
        ("POST", valid.replace("GET", "POST"), "400"),
        ("not HTTP", "\x16\x03\x01 hello\r\n\r\n".to_owned(), "400"),
    ];
    for (case, request, status) in &cases {
        let (mut tcp, head, _) = exchange(&server, request.as_bytes()).await;
        let head = String::from_utf8(head).unwrap();
        assert!(
            head.starts_with(&format!("HTTP/1.1 {status} ")),
            "{case}: {head}"
        );
        if *status == "426" {
            assert!(
                head.contains("\r\nSec-WebSocket-Version: 13\r\n"),
                "{case}: {head}"
            );
        }
        let mut rest = Vec::new();
        let read = timeout(PATIENCE, tcp.read_to_end(&mut rest)).await;
        assert!(matches!(read, Ok(Ok(0))), "{case}: the server closes");
    }
    // Upgrade and Connection tokens are case-insensitive.
    let lower = valid
        .replace("websocket", "WebSocket")
        .replace("Connection: Upgrade", "connection: keep-alive, upgrade");
    let (_tcp, head, _) = exchange(&server, lower.as_bytes()).await;
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    assert!(head.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    server.shutdown().await;
}

#[tokio::test]
async fn only_an_offered_subprotocol_is_selected_and_no_extension() {
    let server = server(WsServerConfig {
        subprotocols: vec!["chat".to_owned(), "superchat".to_owned()],
        ..WsServerConfig::default()
    })
    .await;
    let nonce = *b"0123456789abcdef";
    for (offered, selected) in [
        (vec!["superchat", "chat"], Some("superchat")),
        (vec!["other", "chat"], Some("chat")),
        (vec!["other"], None),
        (vec![], None),
    ] {
        let mut request = ClientRequest::new("127.0.0.1", "/", nonce);
        request.protocols = offered.clone();
        request.extensions = vec!["permessage-deflate; client_max_window_bits"];
        let (verdict, _raw) = Raw::handshake(&server, &request).await;
        assert_eq!(verdict, Ok(selected.map(str::to_owned)), "{offered:?}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn idle_clients_get_pinged_only_when_asked() {
    let pinging = server(WsServerConfig {
        ping_interval: Some(Duration::from_millis(100)),
        ..WsServerConfig::default()
    })
    .await;
    let mut raw = Raw::connect(&pinging).await;
    let got = raw.next(PATIENCE).await;
    assert_eq!(got, Got::Ping(b"pulsecheck idle ping".to_vec()));
    pinging.shutdown().await;

    let quiet = server(config(None)).await;
    let mut raw = Raw::connect(&quiet).await;
    assert_eq!(raw.next(QUIET).await, Got::Silence);
    quiet.shutdown().await;
}

#[tokio::test]
async fn idle_clients_are_closed_with_1001_only_when_silent_that_long() {
    let timeout_after = Duration::from_millis(500);
    let server = server(WsServerConfig {
        idle_timeout: Some(timeout_after),
        ..WsServerConfig::default()
    })
    .await;
    // A silent client: Close 1001, then the server's FIN.
    let mut raw = Raw::connect(&server).await;
    let opened = Instant::now();
    assert_eq!(raw.next(PATIENCE).await, Got::Close(Some(1001)));
    let after = opened.elapsed();
    assert!(
        after >= timeout_after - Duration::from_millis(50),
        "{after:?}"
    );
    assert_eq!(raw.next(PATIENCE).await, Got::Eof);

    // A client that sends every 100 ms for more than twice the timeout stays.
    let mut raw = Raw::connect(&server).await;
    let busy_until = Instant::now() + timeout_after * 5 / 2;
    while Instant::now() < busy_until {
        sleep(Duration::from_millis(100)).await;
        raw.send(&frame(TEXT, true, b"still here")).await;
        assert_eq!(raw.next(PATIENCE).await, text("still here"));
    }
    // Then silent: closed.
    assert_eq!(raw.next(PATIENCE).await, Got::Close(Some(1001)));
    server.shutdown().await;
}

#[tokio::test]
async fn with_pings_the_idle_timeout_closes_only_clients_that_do_not_answer() {
    let timeout_after = Duration::from_millis(600);
    let server = server(WsServerConfig {
        ping_interval: Some(Duration::from_millis(150)),
        idle_timeout: Some(timeout_after),
        ..WsServerConfig::default()
    })
    .await;
    // A client that answers every ping with its pong is heard from: it stays.
    let mut answering = Raw::connect(&server).await;
    let watch_until = Instant::now() + timeout_after * 5 / 2;
    let mut pings = 0;
    loop {
        let left = watch_until.saturating_duration_since(Instant::now());
        match answering.next(left).await {
            Got::Ping(payload) => {
                pings += 1;
                answering.send(&frame(PONG, true, &payload)).await;
            }
            Got::Silence => break,
            other => panic!("an answering client got {other:?} after {pings} pings"),
        }
    }
    assert!(pings >= 3, "{pings} pings");

    // A client that never answers is closed after the idle timeout.
    let mut silent = Raw::connect(&server).await;
    let opened = Instant::now();
    let mut pings = 0;
    let got = loop {
        match silent.next(PATIENCE).await {
            Got::Ping(_) => pings += 1,
            other => break other,
        }
    };
    let after = opened.elapsed();
    assert_eq!(got, Got::Close(Some(1001)), "after {pings} pings");
    assert!(pings >= 2, "{pings} pings");
    assert!(
        after >= timeout_after - Duration::from_millis(50),
        "{after:?}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_says_going_away() {
    let server = server(config(None)).await;
    let mut raw = Raw::connect(&server).await;
    active_becomes(&server, 1).await;
    let stopping = tokio::spawn(server.shutdown());
    assert_eq!(raw.next(PATIENCE).await, Got::Close(Some(1001)));
    assert_eq!(raw.next(PATIENCE).await, Got::Eof);
    timeout(PATIENCE, stopping).await.unwrap().unwrap();
}

/// Runs the probe that shows `fault`'s symptom against `server`; returns whether
/// the symptom showed, and what was seen.
async fn shows_symptom(fault: Fault, server: &RunningServer) -> (bool, String) {
    let nonce = *b"symptom nonce 16";
    match fault {
        Fault::AcceptsUnmaskedFrames => {
            let mut raw = Raw::connect(server).await;
            raw.send(&encoded(&FrameHeader::new(Opcode::TEXT, 2), b"hi"))
                .await;
            let got = raw.next(PATIENCE).await;
            (got == text("hi"), format!("{got:?}"))
        }
        Fault::SkipsUtf8Validation => {
            let mut raw = Raw::connect(server).await;
            raw.send(&frame(TEXT, true, b"a\xffb")).await;
            let got = raw.next(PATIENCE).await;
            let echoed = matches!(got, Got::Violation(ProtocolError::InvalidUtf8 { .. }));
            (echoed, format!("{got:?}"))
        }
        Fault::Utf8AtMessageEnd => {
            let mut raw = Raw::connect(server).await;
            raw.send(&frame(TEXT, false, b"a\xff")).await;
            let first = raw.next(QUIET).await;
            raw.send(&frame(CONTINUATION, true, b"b")).await;
            let then = raw.next(PATIENCE).await;
            let late = first == Got::Silence && then == Got::Close(Some(1007));
            (late, format!("{first:?} then {then:?}"))
        }
        Fault::EchoesInvalidCloseCodes => {
            let mut raw = Raw::connect(server).await;
            raw.send(&close(999, b"")).await;
            let got = raw.next(PATIENCE).await;
            let echoed = got
                == Got::Violation(ProtocolError::InvalidCloseCode {
                    code: CloseCode(999),
                });
            (echoed, format!("{got:?}"))
        }
        Fault::PongsLate => {
            let mut raw = Raw::connect(server).await;
            let sent = Instant::now();
            raw.send(&frame(PING, true, b"late?")).await;
            let got = raw.next(PATIENCE).await;
            let after = sent.elapsed();
            let late = got == Got::Pong(b"late?".to_vec()) && after >= Duration::from_millis(1500);
            (late, format!("{got:?} after {after:?}"))
        }
        Fault::NoPong => {
            let mut raw = Raw::connect(server).await;
            raw.send(&frame(PING, true, b"p")).await;
            raw.send(&frame(TEXT, true, b"after the ping")).await;
            let got = raw.next(PATIENCE).await;
            (got == text("after the ping"), format!("{got:?}"))
        }
        Fault::NeverClosesTcp => {
            let mut raw = Raw::connect(server).await;
            raw.send(&close(1000, b"")).await;
            let reply = raw.next(PATIENCE).await;
            let then = raw.next(QUIET).await;
            let open = reply == Got::Close(Some(1000)) && then == Got::Silence;
            (open, format!("{reply:?} then {then:?}"))
        }
        Fault::MasksServerFrames => {
            let mut raw = Raw::connect(server).await;
            raw.send(&frame(TEXT, true, b"m")).await;
            let got = raw.next(PATIENCE).await;
            (
                got == Got::Violation(ProtocolError::MaskedServerFrame),
                format!("{got:?}"),
            )
        }
        Fault::WrongAccept => {
            let request = ClientRequest::new("127.0.0.1", "/", nonce);
            let (verdict, _raw) = Raw::handshake(server, &request).await;
            (
                verdict == Err(HandshakeError::AcceptMismatch),
                format!("{verdict:?}"),
            )
        }
        Fault::IgnoresVersion => {
            let mut request = ClientRequest::new("127.0.0.1", "/", nonce);
            request.version = "12";
            let (verdict, mut raw) = Raw::handshake(server, &request).await;
            let mut upgraded = verdict == Ok(None);
            if upgraded {
                // And it then speaks version 13 on that connection.
                raw.send(&frame(TEXT, true, b"v12")).await;
                upgraded = raw.next(PATIENCE).await == text("v12");
            }
            (upgraded, format!("{verdict:?}"))
        }
        Fault::PicksUnofferedSubprotocol => {
            let mut request = ClientRequest::new("127.0.0.1", "/", nonce);
            request.protocols = vec!["chat"];
            let (verdict, _raw) = Raw::handshake(server, &request).await;
            (
                verdict == Err(HandshakeError::UnrequestedSubprotocol),
                format!("{verdict:?}"),
            )
        }
        Fault::EnablesDeflate => {
            let request = ClientRequest::new("127.0.0.1", "/", nonce);
            let (verdict, _raw) = Raw::handshake(server, &request).await;
            (
                verdict == Err(HandshakeError::UnrequestedExtension),
                format!("{verdict:?}"),
            )
        }
        Fault::FragmentsEcho => {
            let mut raw = Raw::connect(server).await;
            raw.send(&frame(TEXT, true, b"hello")).await;
            let got = raw.next(PATIENCE).await;
            let fragmented = match &got {
                Got::Message { kind, data, frames } => {
                    *kind == MessageKind::Text && data == b"hello" && *frames >= 2
                }
                _ => false,
            };
            (fragmented, format!("{got:?}"))
        }
        Fault::ClosesWith1005 => {
            let mut raw = Raw::connect(server).await;
            raw.send(&close(1000, b"")).await;
            let got = raw.next(PATIENCE).await;
            let wrong = got
                == Got::Violation(ProtocolError::InvalidCloseCode {
                    code: CloseCode(1005),
                });
            (wrong, format!("{got:?}"))
        }
        Fault::DropsOnClose => {
            let mut raw = Raw::connect(server).await;
            raw.send(&close(1000, b"")).await;
            let got = raw.next(PATIENCE).await;
            (got == Got::Eof, format!("{got:?}"))
        }
        Fault::StopsEchoing => {
            // One message more than it echoes, then a ping: the last two get
            // nothing.
            let mut raw = Raw::connect(server).await;
            let mut wire = Vec::new();
            for i in 0..=ws::ECHOES_BEFORE_STOPPING {
                wire.extend(frame(TEXT, true, format!("message {i}").as_bytes()));
            }
            wire.extend(frame(PING, true, b"still there?"));
            raw.send(&wire).await;
            let mut echoes = 0;
            while echoes < ws::ECHOES_BEFORE_STOPPING
                && matches!(raw.next(PATIENCE).await, Got::Message { .. })
            {
                echoes += 1;
            }
            let then = raw.next(QUIET).await;
            let stuck = echoes == ws::ECHOES_BEFORE_STOPPING && then == Got::Silence;
            (stuck, format!("{echoes} echoes, then {then:?}"))
        }
        Fault::SlowEchoes => {
            // 100 messages at once: at least 100 holds of SLOW_ECHO, one after
            // the other.
            const MESSAGES: u32 = 100;
            let mut raw = Raw::connect(server).await;
            let mut wire = Vec::new();
            for i in 0..MESSAGES {
                wire.extend(frame(TEXT, true, format!("message {i}").as_bytes()));
            }
            let sent = Instant::now();
            raw.send(&wire).await;
            let mut echoes = 0;
            while echoes < MESSAGES && matches!(raw.next(PATIENCE).await, Got::Message { .. }) {
                echoes += 1;
            }
            let took = sent.elapsed();
            let slow = echoes == MESSAGES && took >= ws::SLOW_ECHO * MESSAGES;
            (slow, format!("{echoes} echoes in {took:?}"))
        }
        // The compression faults need --deflate; each fails its ws/deflate check
        // in probe_deflate.rs (FAULTS).
        other => unreachable!("{other} is a compression fault, tested in probe_deflate.rs"),
    }
}

#[tokio::test]
async fn every_fault_shows_its_symptom_and_the_clean_server_does_not() {
    let clean = std::sync::Arc::new(server(config(None)).await);
    let mut probes = JoinSet::new();
    for fault in Fault::ALL.into_iter().filter(|f| !f.needs_deflate()) {
        let clean = std::sync::Arc::clone(&clean);
        probes.spawn(async move {
            let faulty = server(config(Some(fault))).await;
            let with_fault = shows_symptom(fault, &faulty).await;
            let without = shows_symptom(fault, &clean).await;
            faulty.shutdown().await;
            (fault, with_fault, without)
        });
    }
    let mut failures = Vec::new();
    while let Some(done) = probes.join_next().await {
        let (fault, (shown, seen), (clean_shown, clean_seen)) = done.unwrap();
        if !shown {
            failures.push(format!("{fault}: no symptom, saw {seen}"));
        }
        if clean_shown {
            failures.push(format!(
                "{fault}: the clean server shows it too: {clean_seen}"
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A masked frame with `rsv`.
fn frame_rsv(opcode: u8, rsv: Rsv, payload: &[u8]) -> Vec<u8> {
    let mut header = FrameHeader::new(Opcode::from_bits(opcode), payload.len() as u64);
    header.rsv = rsv;
    header.mask = Some(MASK);
    encoded(&header, payload)
}

/// A connection to a `--deflate` server offering `offer`: the accepted
/// extensions and the raw client, reading RSV1 frames.
async fn offering(server: &RunningServer, offer: &str) -> (Vec<String>, Raw) {
    let mut request = ClientRequest::new("127.0.0.1", "/", *b"pulsecheck nonce");
    request.extensions = vec![offer];
    let mut wire = Vec::new();
    request.write(&mut wire);
    let (tcp, head, rest) = exchange(server, &wire).await;
    let Ok(Status::Complete((answer, _))) = validate_server_response(&head, &request) else {
        panic!("a 101: {}", String::from_utf8_lossy(&head));
    };
    let extensions = answer.extensions.iter().map(|e| (*e).to_owned()).collect();
    let reader = StreamReader::new(FrameConfig::new(Role::Server).with_allowed_rsv(Rsv::RSV1));
    (
        extensions,
        Raw {
            tcp,
            reader,
            buf: rest,
        },
    )
}

#[tokio::test]
async fn with_deflate_messages_are_inflated_echoes_compressed_and_rsv1_judged() {
    use pulsecheck_ws::deflate::{CodecConfig, Compressor, Decompressor};
    let server = server(WsServerConfig {
        deflate: Some(pulsecheck_ws::deflate::ServerPolicy::default()),
        max_message_size: 1 << 20,
        ..WsServerConfig::default()
    })
    .await;
    let (agreed, mut raw) = offering(&server, "permessage-deflate; client_max_window_bits").await;
    assert_eq!(agreed, ["permessage-deflate"]);
    // RFC 7692 §7.2.3.1: "Hello" compressed; the echo is compressed as zlib does it.
    let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    raw.send(&frame_rsv(TEXT, Rsv::RSV1, &hello)).await;
    let mut inflate = Decompressor::new(CodecConfig::new());
    let mut echoes = Vec::new();
    // An uncompressed message is legal and taken as it is (RFC 7692 §6.2).
    raw.send(&frame(TEXT, true, b"plain Hello")).await;
    for _ in 0..2 {
        let Got::Message { kind, data, .. } = raw.next(PATIENCE).await else {
            panic!("an echo");
        };
        assert_eq!(kind, MessageKind::Text);
        let mut message = Vec::new();
        inflate.decompress(&data, &mut message).unwrap();
        echoes.push(String::from_utf8(message).unwrap());
    }
    assert_eq!(echoes, ["Hello", "plain Hello"]);
    // RFC 7692 §6.1: RSV1 on a control frame fails the connection.
    raw.expect_failure(&frame_rsv(PING, Rsv::RSV1, b"p"), 1002, "RSV1 ping")
        .await;

    // A message that inflates past max_message_size gets 1009.
    let (_, mut raw) = offering(&server, "permessage-deflate").await;
    let mut bomb = Vec::new();
    Compressor::new(CodecConfig::new())
        .compress(&vec![0; 2 << 20], &mut bomb)
        .unwrap();
    raw.expect_failure(&frame_rsv(BINARY, Rsv::RSV1, &bomb), 1009, "bomb")
        .await;

    // An offer declined (an unknown parameter): no extension, RSV1 stays illegal.
    let (agreed, mut raw) = offering(&server, "permessage-deflate; x_unknown").await;
    assert!(agreed.is_empty(), "{agreed:?}");
    raw.expect_failure(&frame_rsv(TEXT, Rsv::RSV1, &hello), 1002, "RSV1 unagreed")
        .await;
    server.shutdown().await;
}
