//! The WebSocket checks beyond Autobahn|Testsuite: the opening handshake, masking,
//! non-minimal lengths, the newer close codes, the closing of TCP, ping/pong and
//! heartbeats. Each sends its own bytes on its own connection; the idle
//! observations of the heartbeat checks last [`WsProbe::observe`].

use std::time::Duration;

use pulsecheck_ws::handshake::{accept_key, encode_key};
use pulsecheck_ws::{LengthEncoding, ProtocolError};
use tokio::sync::OnceCell;
use tokio::time::Instant;
use url::Url;

use crate::check::{Evidence, Outcome, Source, Transcript};
use crate::http::Client;
use crate::registry::{Check, check};
use crate::ws::connection::{WsConnection, WsError, WsEvent, open, random_bytes, raw_handshake};
use crate::ws::describe;

/// Everything the WebSocket checks run against.
///
/// Two waits. Opening a connection (TCP, TLS, the opening handshake up to its
/// 101) and the echoes of checks that need one get [`wait`](Self::wait). A check
/// that sent something and waits for the server's reaction to it — a Pong, a
/// Close, the connection failing — waits the connection's [`AnswerWait`]:
/// [`AnswerWait::ROUND_TRIPS`] times as long as that connection took to open, at
/// least [`AnswerWait::FLOOR`], at most `wait`. Opening takes at least one round
/// trip, so a server over a slow link gets 20 of its round trips, and one on
/// loopback (well under a millisecond) gets 1 s, where a server that never
/// answers would otherwise cost the full `wait` per check. The rule is stated in
/// every message that reports a missing answer ("no pong within 1.0 s (20 × the
/// 0.4 ms the connection took to open, at least 1 s)").
pub struct WsProbe {
    /// Connections (TCP, TLS with `--cacert`/`--insecure`).
    pub client: Client,
    /// The endpoint (`ws://` or `wss://`).
    pub url: Url,
    /// How long to wait for a connection to open (TCP, TLS, the 101) and for
    /// echoes; also the most an [`AnswerWait`] can be.
    pub wait: Duration,
    /// How long the heartbeat checks watch an idle connection (`--observe`);
    /// [`WsProbe::DEFAULT_OBSERVE`] unless set with [`WsProbe::with_observe`].
    pub observe: Duration,
    /// Whether the server echoes, and what it answered the echo probe with.
    echo: OnceCell<Result<(bool, String), String>>,
    /// The idle client that answers pings, watched once for both checks that
    /// need it (`ws/heartbeat/server-pings` and `ws/heartbeat/idle-timeout`).
    answering: OnceCell<Result<IdleWatch, String>>,
}

impl WsProbe {
    /// The default [`observe`](Self::observe) window: short on purpose, so the
    /// whole suite runs in seconds. Keepalives and idle timeouts in the field
    /// are tens of seconds (socket.io pings every 25 s; nginx closes a proxied
    /// connection after 60 s without data): seeing them takes a longer window.
    pub const DEFAULT_OBSERVE: Duration = Duration::from_secs(2);

    /// The longest [`observe`](Self::observe) window honoured: a day.
    pub const MAX_OBSERVE: Duration = Duration::from_secs(24 * 60 * 60);

    /// A probe of `url`, observing idle connections for
    /// [`DEFAULT_OBSERVE`](Self::DEFAULT_OBSERVE).
    pub fn new(client: Client, url: Url, wait: Duration) -> Self {
        WsProbe {
            client,
            url,
            wait,
            observe: Self::DEFAULT_OBSERVE,
            echo: OnceCell::new(),
            answering: OnceCell::new(),
        }
    }

    /// The same probe, watching idle connections for `observe` (at most
    /// [`MAX_OBSERVE`](Self::MAX_OBSERVE)).
    #[must_use]
    pub fn with_observe(mut self, observe: Duration) -> Self {
        self.observe = observe;
        self
    }

    /// Opens a connection with a standard handshake.
    pub async fn open(&self) -> Result<WsConnection, WsError> {
        open(&self.client, &self.url, self.wait).await
    }

    /// Opens a connection with a standard handshake, timing it: the connection,
    /// and how long to wait on it for the server's reaction to what is sent.
    pub async fn open_timed(&self) -> Result<(WsConnection, AnswerWait), WsError> {
        let started = Instant::now();
        let conn = self.open().await?;
        Ok((conn, AnswerWait::new(started.elapsed(), self.wait)))
    }

    /// Whether the server echoes messages (checked once): checks that need an
    /// echo are skipped on servers that do not.
    pub async fn echoes(&self) -> Result<bool, &str> {
        self.echo_answer().await.map(|(echoes, _)| echoes)
    }

    /// Whether the server echoes, and what it answered the echo probe with (in a
    /// sentence), checked once.
    async fn echo_answer(&self) -> Result<(bool, &str), &str> {
        self.echo
            .get_or_init(|| async {
                let mut conn = self.open().await.map_err(|e| e.to_string())?;
                let probe = b"pulsecheck echo probe";
                conn.send_message(1, probe)
                    .await
                    .map_err(|e| e.to_string())?;
                let deadline = Instant::now() + self.wait;
                loop {
                    match conn.next_event(deadline).await {
                        WsEvent::Ping(_) | WsEvent::Pong(_) => {}
                        event @ WsEvent::Message { .. } => {
                            let echoes =
                                matches!(&event, WsEvent::Message { data, .. } if *data == probe);
                            return Ok((echoes, event.to_string()));
                        }
                        event => return Ok((false, event.to_string())),
                    }
                }
            })
            .await
            .as_ref()
            .map(|(echoes, answer)| (*echoes, answer.as_str()))
            .map_err(String::as_str)
    }

    /// What an idle client that answers pings saw (watched once).
    async fn answering_watch(&self) -> Result<&IdleWatch, &str> {
        self.answering
            .get_or_init(|| watch_idle(self, Pongs::Answered))
            .await
            .as_ref()
            .map_err(String::as_str)
    }

    /// The request line and `Host` of a hand-written handshake.
    fn request_start(&self) -> String {
        let host = self.url.host_str().unwrap_or("localhost");
        let host = match self.url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_owned(),
        };
        let path = &self.url[url::Position::BeforePath..url::Position::AfterQuery];
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n")
    }
}

/// How long a check waits for the server to react to what it sent on a
/// connection (a Pong, a Close, the connection failing): [`ROUND_TRIPS`] times as
/// long as the connection took to open (TCP, TLS, the opening handshake: at least
/// one round trip), at least [`FLOOR`], at most the probe's
/// [`wait`](WsProbe::wait). Measured on each connection as it opens, so a server
/// that slows down under the suite's load gets more time too.
///
/// [`ROUND_TRIPS`]: AnswerWait::ROUND_TRIPS
/// [`FLOOR`]: AnswerWait::FLOOR
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnswerWait {
    /// How long the connection took to open.
    opening: Duration,
    /// The probe's wait, the cap.
    cap: Duration,
}

impl AnswerWait {
    /// How many openings' worth a reaction gets.
    pub const ROUND_TRIPS: u32 = 20;

    /// The shortest answer wait: what a server on loopback gets, however fast
    /// it opened.
    pub const FLOOR: Duration = Duration::from_secs(1);

    /// The answer wait of a connection that took `opening` to open, capped at
    /// `cap` (the probe's [`wait`](WsProbe::wait)).
    pub fn new(opening: Duration, cap: Duration) -> Self {
        AnswerWait { opening, cap }
    }

    /// How long to wait.
    pub fn duration(&self) -> Duration {
        self.opening
            .saturating_mul(Self::ROUND_TRIPS)
            .max(Self::FLOOR)
            .min(self.cap)
    }

    /// When a wait starting now ends.
    pub fn deadline(&self) -> Instant {
        Instant::now() + self.duration()
    }
}

/// "1.0 s (20 × the 0.4 ms the connection took to open, at least 1 s)", "1.6 s
/// (20 × the 80.0 ms the connection took to open)", "5.0 s (the probe's wait;
/// 20 × the 400.0 ms the connection took to open is longer)".
impl std::fmt::Display for AnswerWait {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scaled = self.opening.saturating_mul(Self::ROUND_TRIPS);
        let rule = format!(
            "{} × the {:.1} ms the connection took to open",
            Self::ROUND_TRIPS,
            ms(self.opening)
        );
        let wait = self.duration();
        write!(f, "{:.1} s (", secs(wait))?;
        if wait == self.cap && scaled > self.cap {
            write!(f, "the probe's wait; {rule} is longer)")
        } else if scaled < Self::FLOOR && wait == Self::FLOOR {
            write!(f, "{rule}, at least {:.0} s)", secs(Self::FLOOR))
        } else if wait < scaled.max(Self::FLOOR) {
            write!(f, "the probe's wait)")
        } else {
            write!(f, "{rule})")
        }
    }
}

/// The WebSocket checks beyond Autobahn|Testsuite.
pub const CHECKS: &[Check<WsProbe>] = &[
    check!(
        "ws/handshake/accept",
        "Sec-WebSocket-Accept is right",
        Source::Rfc(6455, "4.2.2"),
        Must,
        "The server answers 101 with Sec-WebSocket-Accept = base64(SHA-1(key + \"258EAFA5-E914-47DA-95CA-C5AB0DC85B11\")).",
        handshake_accept
    ),
    check!(
        "ws/handshake/version",
        "Another version is refused with the versions supported",
        Source::Rfc(6455, "4.2.2"),
        Must,
        "A version the server does not understand gets an appropriate HTTP error code (such as 426 Upgrade Required) and a |Sec-WebSocket-Version| header field indicating the version(s) the server is capable of understanding.",
        handshake_version
    ),
    check!(
        "ws/handshake/missing-key",
        "A handshake without a key is refused",
        Source::Rfc(6455, "4.2.1"),
        Must,
        "A handshake without Sec-WebSocket-Key is not a valid opening handshake: the server returns an error such as 400 Bad Request and does not upgrade.",
        handshake_missing_key
    ),
    check!(
        "ws/handshake/malformed-key",
        "A key that is not 16 bytes in base64 is refused",
        Source::Rfc(6455, "4.2.1"),
        Should,
        "Sec-WebSocket-Key, when decoded, is 16 bytes in length; a server refuses other keys with 400.",
        handshake_malformed_key
    ),
    check!(
        "ws/handshake/token-case",
        "Upgrade and Connection tokens are case-insensitive",
        Source::Rfc(6455, "4.2.1"),
        Must,
        "Upgrade: websocket and the Upgrade token of Connection are treated as ASCII case-insensitive values, within comma-separated lists.",
        handshake_token_case
    ),
    check!(
        "ws/handshake/subprotocol",
        "Only an offered subprotocol is selected",
        Source::Rfc(6455, "4.2.2"),
        Must,
        "The server selects one or none of the subprotocols the client offered.",
        handshake_subprotocol
    ),
    check!(
        "ws/handshake/no-unrequested-extension",
        "No extension the client did not offer",
        Source::Rfc(6455, "9.1"),
        Must,
        "The server's Sec-WebSocket-Extensions only names extensions the client offered; none when none were offered.",
        handshake_extensions
    ),
    check!(
        "ws/masking/unmasked-client-frame",
        "An unmasked client frame fails the connection",
        Source::Rfc(6455, "5.1"),
        Must,
        "The server MUST close the connection upon receiving a frame that is not masked.",
        unmasked_client_frame
    ),
    check!(
        "ws/masking/server-frames-unmasked",
        "Server frames are not masked",
        Source::Rfc(6455, "5.1"),
        Must,
        "A server MUST NOT mask any frames that it sends to the client.",
        server_frames_unmasked
    ),
    check!(
        "ws/framing/non-minimal-16",
        "A non-minimal 16-bit length fails the connection",
        Source::Rfc(6455, "5.2"),
        Should,
        "The minimal number of bytes MUST be used to encode the length (a 16-bit length below 126 breaks it); a strict endpoint fails the connection on such a frame.",
        non_minimal_16
    ),
    check!(
        "ws/framing/non-minimal-64",
        "A non-minimal 64-bit length fails the connection",
        Source::Rfc(6455, "5.2"),
        Should,
        "The minimal number of bytes MUST be used to encode the length (a 64-bit length below 65536 breaks it); a strict endpoint fails the connection on such a frame.",
        non_minimal_64
    ),
    check!(
        "ws/framing/length-top-bit",
        "A 64-bit length with its top bit set fails the connection",
        Source::Rfc(6455, "5.2"),
        Must,
        "The most significant bit MUST be 0 in a 64-bit payload length; such a frame fails the connection (1002, or 1009 as too big).",
        length_top_bit
    ),
    check!(
        "ws/ping/pong",
        "A ping is answered with a pong carrying its payload",
        Source::Rfc(6455, "5.5.2"),
        Must,
        "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in response, with identical Application data.",
        ping_pong
    ),
    check!(
        "ws/close/new-iana-codes",
        "Close codes 1012-1014 are accepted",
        Source::Rfc(6455, "7.4.2"),
        Should,
        "1012, 1013 and 1014 are registered close codes (IANA); a Close carrying one is answered with a Close, not a protocol error.",
        close_new_codes
    ),
    check!(
        "ws/close/code-1015-refused",
        "Close code 1015 on the wire is a protocol error",
        Source::Rfc(6455, "7.4.1"),
        Must,
        "1015 is a reserved value and MUST NOT be set as a status code in a Close control frame by an endpoint.",
        close_1015
    ),
    check!(
        "ws/close/server-closes-tcp",
        "The server closes TCP after the close handshake",
        Source::Rfc(6455, "7.1.1"),
        Should,
        "The underlying TCP connection, in most normal cases, SHOULD be closed first by the server.",
        server_closes_tcp
    ),
    check!(
        "ws/echo/detected",
        "Whether the server echoes",
        Source::Practice(
            "Autobahn|Testsuite and most WebSocket test suites need an echo endpoint; checks that need one are skipped on servers that do not echo"
        ),
        Info,
        "A text message sent to the endpoint comes back unchanged.",
        echo_detected
    ),
    check!(
        "ws/robustness/drop-mid-message",
        "A client dropping TCP mid-message leaves the server working",
        Source::Rfc(6455, "7.1.1"),
        Should,
        "When a client's TCP connection drops in the middle of a frame, new connections are still served.",
        drop_mid_message
    ),
    check!(
        "ws/robustness/concurrent-echo",
        "Concurrent connections all echo",
        Source::Practice("a WebSocket endpoint serves many long-lived connections at once"),
        Should,
        "Every one of 8 concurrent connections gets its own message echoed.",
        concurrent_echo
    ),
    check!(
        "ws/heartbeat/pong-latency",
        "How fast pings are answered",
        Source::Rfc(6455, "5.5.3"),
        Info,
        "A Pong frame sent in response to a Ping frame must have identical \"Application data\" as found in the message body of the Ping frame being replied to (§5.5.3), sent as soon as is practical (§5.5.2); 10 pings in a row measure how soon.",
        pong_latency
    ),
    check!(
        "ws/heartbeat/server-pings",
        "Whether and how often the server pings an idle client",
        Source::Rfc(6455, "5.5.2"),
        Info,
        "A Ping frame MAY be sent by an endpoint at any time after the connection is established and before the connection is closed. (Servers use it as a keepalive; an idle client that answers each ping counts them.)",
        server_pings
    ),
    check!(
        "ws/heartbeat/idle-timeout",
        "Whether the server closes an idle connection",
        Source::Rfc(6455, "7.1.2"),
        Info,
        "To _Start the WebSocket Closing Handshake_ with a status code /code/ and an optional close reason /reason/, an endpoint MUST send a Close control frame; a server closing an idle connection does so (1001 \"going away\", §7.4.1) or drops TCP. An idle client that answers pings sees whether, when and how.",
        idle_timeout
    ),
    check!(
        "ws/heartbeat/unanswered-pings",
        "Whether the server drops a client that never answers pings",
        Source::Rfc(6455, "5.5.2"),
        Info,
        "NOTE: A Ping frame may serve either as a keepalive or as a means to verify that the remote endpoint is still responsive. A client that never answers shows whether the server detects the dead peer, and after how long.",
        unanswered_pings
    ),
];

fn no_connection(e: impl std::fmt::Display) -> Outcome {
    Outcome::error(
        format!("could not open a connection: {e}"),
        Transcript::default(),
    )
}

fn evidence(
    conn: &WsConnection,
    expected: impl Into<String>,
    actual: impl Into<String>,
) -> Evidence {
    Evidence {
        expected: expected.into(),
        actual: actual.into(),
        transcript: conn.transcript.clone(),
    }
}

/// Sends a hand-written handshake; the reply or an error outcome.
async fn handshake(
    probe: &WsProbe,
    headers: &str,
) -> Result<(WsConnection, crate::ws::connection::HandshakeReply), Outcome> {
    let request = format!("{}{headers}\r\n", probe.request_start());
    raw_handshake(&probe.client, &probe.url, request.as_bytes(), probe.wait)
        .await
        .map_err(|e| match e {
            // RFC 6455 §4.2.1: a handshake the server will not take gets "an HTTP
            // response with an appropriate error code", not a silent close.
            WsError::NoResponse(transcript) => Outcome::fail(
                "the server closed the connection without an HTTP response",
                Evidence {
                    expected: "an HTTP response (101 for a valid handshake, an error status such as 400 or 426 otherwise)".into(),
                    actual: "the connection closed before any response byte".into(),
                    transcript,
                },
            ),
            e => no_connection(&e),
        })
}

fn standard_headers(key: &str, version: &str) -> String {
    format!(
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: {version}\r\n"
    )
}

/// A standard handshake with a fresh key, the given version and `extra` header
/// lines; the key (for the expected accept), the connection and the reply.
async fn keyed_handshake(
    probe: &WsProbe,
    version: &str,
    extra: &str,
) -> Result<(String, WsConnection, crate::ws::connection::HandshakeReply), Outcome> {
    let key = encode_key(random_bytes());
    let (conn, reply) = handshake(
        probe,
        &format!("{}{extra}", standard_headers(&key, version)),
    )
    .await?;
    Ok((key, conn, reply))
}

/// `None` when the server echoes; otherwise the outcome of a check that needs one.
async fn require_echo(probe: &WsProbe) -> Option<Outcome> {
    match probe.echoes().await {
        Ok(true) => None,
        Ok(false) => Some(Outcome::skipped("the server does not echo")),
        Err(e) => Some(no_connection(e)),
    }
}

async fn handshake_accept(probe: &WsProbe) -> Outcome {
    let (key, conn, reply) = match keyed_handshake(probe, "13", "").await {
        Ok(r) => r,
        Err(o) => return o,
    };
    let expected = accept_key(&key);
    match (reply.status, reply.header("sec-websocket-accept")) {
        (101, Some(a)) if a.trim() == expected => {
            Outcome::pass(format!("101 with Sec-WebSocket-Accept {expected}"))
        }
        (status, accept) => {
            let accept = accept.map_or("absent".to_owned(), |a| format!("\"{a}\""));
            Outcome::fail(
                format!("status {status}, Sec-WebSocket-Accept {accept}"),
                evidence(
                    &conn,
                    format!("101 and Sec-WebSocket-Accept: {expected}"),
                    format!("status {status}, Sec-WebSocket-Accept {accept}"),
                ),
            )
        }
    }
}

async fn handshake_version(probe: &WsProbe) -> Outcome {
    let (_, conn, reply) = match keyed_handshake(probe, "12", "").await {
        Ok(r) => r,
        Err(o) => return o,
    };
    let versions = reply.header("sec-websocket-version").unwrap_or("");
    let lists_13 = versions.split(',').any(|v| v.trim() == "13");
    if (400..500).contains(&reply.status) && lists_13 {
        Outcome::pass(format!(
            "{} with Sec-WebSocket-Version: {versions}",
            reply.status
        ))
    } else if reply.status == 101 {
        Outcome::fail(
            "version 12 was upgraded",
            evidence(
                &conn,
                "426 Upgrade Required with Sec-WebSocket-Version: 13",
                "101 Switching Protocols",
            ),
        )
    } else {
        Outcome::fail(
            format!(
                "status {}, Sec-WebSocket-Version {versions:?}",
                reply.status
            ),
            evidence(
                &conn,
                "426 Upgrade Required with Sec-WebSocket-Version: 13",
                format!(
                    "status {}, Sec-WebSocket-Version {versions:?}",
                    reply.status
                ),
            ),
        )
    }
}

/// A refused handshake: any 4xx, and certainly not 101.
fn refused(conn: &WsConnection, status: u16, what: &str) -> Outcome {
    if (400..500).contains(&status) {
        Outcome::pass(format!("{what}: refused with {status}"))
    } else {
        Outcome::fail(
            format!("{what}: status {status}"),
            evidence(
                conn,
                "a 4xx answer (400 Bad Request), no upgrade",
                format!("status {status}"),
            ),
        )
    }
}

async fn handshake_missing_key(probe: &WsProbe) -> Outcome {
    match handshake(
        probe,
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n",
    )
    .await
    {
        Ok((conn, reply)) => refused(&conn, reply.status, "no Sec-WebSocket-Key"),
        Err(o) => o,
    }
}

async fn handshake_malformed_key(probe: &WsProbe) -> Outcome {
    // 12 bytes in base64: valid base64, wrong length.
    match handshake(probe, &standard_headers("AAAAAAAAAAAAAAAA", "13")).await {
        Ok((conn, reply)) => refused(&conn, reply.status, "a 12-byte key"),
        Err(o) => o,
    }
}

async fn handshake_token_case(probe: &WsProbe) -> Outcome {
    let key = encode_key(random_bytes());
    let headers = format!(
        "Upgrade: WebSocket\r\nConnection: keep-alive, UPGRADE\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
    );
    let (conn, reply) = match handshake(probe, &headers).await {
        Ok(r) => r,
        Err(o) => return o,
    };
    if reply.status == 101
        && reply
            .header("sec-websocket-accept")
            .is_some_and(|a| a.trim() == accept_key(&key))
    {
        Outcome::pass("Upgrade: WebSocket and Connection: keep-alive, UPGRADE accepted")
    } else {
        Outcome::fail(
            format!("status {}", reply.status),
            evidence(
                &conn,
                "101: tokens are case-insensitive",
                format!("status {}", reply.status),
            ),
        )
    }
}

async fn handshake_subprotocol(probe: &WsProbe) -> Outcome {
    let extra = "Sec-WebSocket-Protocol: pulsecheck.a, pulsecheck.b\r\n";
    let (_, conn, reply) = match keyed_handshake(probe, "13", extra).await {
        Ok(r) => r,
        Err(o) => return o,
    };
    match reply.header("sec-websocket-protocol") {
        None => Outcome::pass(format!("status {}; no subprotocol selected", reply.status)),
        Some(p) if matches!(p.trim(), "pulsecheck.a" | "pulsecheck.b") => {
            Outcome::pass(format!("selected the offered {p}"))
        }
        Some(p) => Outcome::fail(
            format!("selected {p:?}, which was not offered"),
            evidence(
                &conn,
                "pulsecheck.a, pulsecheck.b or none",
                format!("Sec-WebSocket-Protocol: {p}"),
            ),
        ),
    }
}

async fn handshake_extensions(probe: &WsProbe) -> Outcome {
    let (_, conn, reply) = match keyed_handshake(probe, "13", "").await {
        Ok(r) => r,
        Err(o) => return o,
    };
    match reply.header("sec-websocket-extensions") {
        None => Outcome::pass("no extension answered to a handshake that offered none"),
        Some(e) => Outcome::fail(
            format!("answered Sec-WebSocket-Extensions: {e}"),
            evidence(
                &conn,
                "no Sec-WebSocket-Extensions",
                format!("Sec-WebSocket-Extensions: {e}"),
            ),
        ),
    }
}

/// After sending something the server must reject: did it fail the connection
/// (a Close, ideally 1002, or dropping TCP) without echoing?
async fn expect_failed_connection(
    mut conn: WsConnection,
    wait: AnswerWait,
    what: &str,
    codes: &[u16],
) -> Outcome {
    let deadline = wait.deadline();
    loop {
        match conn.next_event(deadline).await {
            WsEvent::Close { code, .. } => {
                return if code.is_none_or(|c| codes.contains(&c)) {
                    Outcome::pass(format!(
                        "{what}: the server closed with {}",
                        code.map_or("no code".into(), |c| c.to_string())
                    ))
                } else {
                    let code = code.map_or("no code".into(), |c| c.to_string());
                    let expected = codes
                        .iter()
                        .map(u16::to_string)
                        .collect::<Vec<_>>()
                        .join(" or ");
                    Outcome::fail(
                        format!("{what}: closed with {code}, not {expected}"),
                        evidence(
                            &conn,
                            "Close with an expected code, or the connection dropped",
                            format!("Close {code}"),
                        ),
                    )
                };
            }
            WsEvent::Eof => {
                return Outcome::pass(format!("{what}: the server dropped the connection"));
            }
            WsEvent::Ping(_) | WsEvent::Pong(_) => {}
            WsEvent::Message { .. } => {
                return Outcome::fail(
                    format!("{what}: the server answered as if nothing was wrong"),
                    evidence(
                        &conn,
                        "the connection failed (Close 1002 or dropped)",
                        "a data message",
                    ),
                );
            }
            WsEvent::Violation(v) => {
                return Outcome::fail(
                    format!(
                        "{what}: the server's own frames break {}",
                        v.error.section()
                    ),
                    evidence(&conn, "the connection failed cleanly", v.error.to_string()),
                );
            }
            WsEvent::Compression(e) => {
                return Outcome::fail(
                    format!("{what}: the server's compressed data breaks RFC 7692"),
                    evidence(&conn, "the connection failed cleanly", e.to_string()),
                );
            }
            WsEvent::Timeout => {
                return Outcome::fail(
                    format!("{what}: no reaction within {wait}"),
                    evidence(
                        &conn,
                        "the connection failed (Close 1002 or dropped)",
                        "silence",
                    ),
                );
            }
        }
    }
}

async fn unmasked_client_frame(probe: &WsProbe) -> Outcome {
    let (mut conn, wait) = match probe.open_timed().await {
        Ok(c) => c,
        Err(e) => return no_connection(&e),
    };
    if let Err(e) = conn.send_frame(true, 1, b"unmasked", false, None).await {
        return Outcome::error(format!("could not send: {e}"), conn.transcript.clone());
    }
    expect_failed_connection(conn, wait, "unmasked text frame", &[1002]).await
}

async fn server_frames_unmasked(probe: &WsProbe) -> Outcome {
    let mut conn = match probe.open().await {
        Ok(c) => c,
        Err(e) => return no_connection(&e),
    };
    let _ = conn.send_message(1, b"mask?").await;
    let deadline = Instant::now() + probe.wait;
    match conn.next_event(deadline).await {
        WsEvent::Violation(v) if v.error == ProtocolError::MaskedServerFrame => Outcome::fail(
            "the server masked its frame",
            evidence(&conn, "unmasked server frames", v.error.to_string()),
        ),
        WsEvent::Message { .. } | WsEvent::Ping(_) | WsEvent::Pong(_) => {
            Outcome::pass("the server's frames came unmasked")
        }
        WsEvent::Close { .. } => Outcome::pass("the server's Close came unmasked"),
        other => Outcome::skipped(format!("the server sent no frame to inspect ({other})")),
    }
}

/// Sends a 20-byte text frame with a forced length encoding and expects failure.
async fn forced_length(probe: &WsProbe, header: &[u8], what: &str, codes: &[u16]) -> Outcome {
    let (mut conn, wait) = match probe.open_timed().await {
        Ok(c) => c,
        Err(e) => return no_connection(&e),
    };
    let key = random_bytes::<4>();
    let payload = b"non-minimal length!!";
    let mut frame = header.to_vec();
    frame.extend_from_slice(&key);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    if let Err(e) = conn.send_raw(&frame).await {
        return Outcome::error(format!("could not send: {e}"), conn.transcript.clone());
    }
    expect_failed_connection(conn, wait, what, codes).await
}

async fn non_minimal_16(probe: &WsProbe) -> Outcome {
    // FIN + text, MASK + 126, then 20 as a 16-bit length.
    forced_length(
        probe,
        &[0x81, 0xFE, 0x00, 20],
        "20 bytes with a 16-bit length",
        &[1002],
    )
    .await
}

async fn non_minimal_64(probe: &WsProbe) -> Outcome {
    forced_length(
        probe,
        &[0x81, 0xFF, 0, 0, 0, 0, 0, 0, 0, 20],
        "20 bytes with a 64-bit length",
        &[1002],
    )
    .await
}

async fn length_top_bit(probe: &WsProbe) -> Outcome {
    forced_length(
        probe,
        &[0x81, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 20],
        "a 64-bit length with its top bit set",
        &[1002, 1009],
    )
    .await
}

async fn ping_pong(probe: &WsProbe) -> Outcome {
    let (mut conn, wait) = match probe.open_timed().await {
        Ok(c) => c,
        Err(e) => return no_connection(&e),
    };
    let payload = b"pulsecheck ping \x00\xff";
    let sent = Instant::now();
    if let Err(e) = conn
        .send_frame(true, 9, payload, true, Some(LengthEncoding::Short))
        .await
    {
        return Outcome::error(format!("could not send: {e}"), conn.transcript.clone());
    }
    let deadline = wait.deadline();
    loop {
        match conn.next_event(deadline).await {
            WsEvent::Pong(data) if data == payload => {
                return Outcome::pass(format!(
                    "pong with the same payload after {} ms",
                    sent.elapsed().as_millis()
                ));
            }
            WsEvent::Pong(data) => {
                return Outcome::fail(
                    "the pong's payload differs",
                    evidence(
                        &conn,
                        format!("a Pong with {}", describe::payload(payload)),
                        format!("a Pong with {}", describe::payload(&data)),
                    ),
                );
            }
            WsEvent::Ping(_) => {}
            WsEvent::Timeout => {
                return Outcome::fail(
                    format!("no pong within {wait}"),
                    evidence(
                        &conn,
                        "a Pong with the ping's payload",
                        format!("nothing within {wait}"),
                    ),
                );
            }
            other => {
                return Outcome::fail(
                    format!("no pong: {other}"),
                    evidence(&conn, "a Pong with the ping's payload", other.to_string()),
                );
            }
        }
    }
}

/// Sends a Close with `code`; returns the connection, what came back within the
/// connection's answer wait, and that wait.
async fn close_with(
    probe: &WsProbe,
    code: u16,
) -> Result<(WsConnection, WsEvent, AnswerWait), Outcome> {
    let (mut conn, wait) = probe.open_timed().await.map_err(|e| no_connection(&e))?;
    let mut body = code.to_be_bytes().to_vec();
    body.extend_from_slice(b"pulsecheck");
    if let Err(e) = conn.send_frame(true, 8, &body, true, None).await {
        return Err(Outcome::error(
            format!("could not send: {e}"),
            conn.transcript.clone(),
        ));
    }
    let deadline = wait.deadline();
    let event = loop {
        match conn.next_event(deadline).await {
            WsEvent::Ping(_) | WsEvent::Pong(_) => {}
            other => break other,
        }
    };
    Ok((conn, event, wait))
}

/// What came back, for people: a missing answer says how long it was awaited.
fn answer(event: &WsEvent, wait: AnswerWait) -> String {
    match event {
        WsEvent::Timeout => format!("nothing within {wait}"),
        other => other.to_string(),
    }
}

async fn close_new_codes(probe: &WsProbe) -> Outcome {
    for code in [1012u16, 1013, 1014] {
        let (conn, event, wait) = match close_with(probe, code).await {
            Ok(r) => r,
            Err(o) => return o,
        };
        match event {
            WsEvent::Close {
                code: Some(1002), ..
            }
            | WsEvent::Eof => {
                return Outcome::fail(
                    format!("a Close with {code} was treated as an error"),
                    evidence(
                        &conn,
                        "a Close in answer (echoing the code is customary)",
                        event.to_string(),
                    ),
                );
            }
            WsEvent::Timeout => {
                return Outcome::fail(
                    format!("a Close with {code} got no answer"),
                    evidence(
                        &conn,
                        "a Close in answer (echoing the code is customary)",
                        answer(&event, wait),
                    ),
                );
            }
            WsEvent::Close { .. } => {}
            other => {
                return Outcome::fail(
                    format!("a Close with {code} got {other}"),
                    evidence(&conn, "a Close in answer", other.to_string()),
                );
            }
        }
    }
    Outcome::pass("Close 1012, 1013 and 1014 each answered with a Close")
}

async fn close_1015(probe: &WsProbe) -> Outcome {
    let (conn, event, wait) = match close_with(probe, 1015).await {
        Ok(r) => r,
        Err(o) => return o,
    };
    match event {
        WsEvent::Close {
            code: Some(1002), ..
        } => Outcome::pass("answered with Close 1002"),
        WsEvent::Eof => Outcome::pass("the server dropped the connection"),
        other => Outcome::fail(
            format!("Close 1015 got {}", answer(&other, wait)),
            evidence(
                &conn,
                "Close 1002 (protocol error) or the connection dropped",
                answer(&other, wait),
            ),
        ),
    }
}

async fn server_closes_tcp(probe: &WsProbe) -> Outcome {
    let (mut conn, event, wait) = match close_with(probe, 1000).await {
        Ok(r) => r,
        Err(o) => return o,
    };
    match event {
        WsEvent::Close { .. } => {
            let started = Instant::now();
            if conn
                .wait_for_eof(Instant::now() + Duration::from_secs(2))
                .await
            {
                Outcome::pass(format!(
                    "TCP closed {} ms after the Close",
                    started.elapsed().as_millis()
                ))
            } else {
                Outcome::fail(
                    "the server left TCP open after the close handshake",
                    evidence(
                        &conn,
                        "the server closes TCP first",
                        "TCP still open 2 s after the Close",
                    ),
                )
            }
        }
        WsEvent::Eof => Outcome::fail(
            "the server dropped TCP without answering the Close",
            evidence(
                &conn,
                "a Close in answer, then TCP closed",
                "TCP closed with no Close",
            ),
        ),
        other => Outcome::fail(
            format!("no Close in answer: {}", answer(&other, wait)),
            evidence(
                &conn,
                "a Close in answer, then TCP closed",
                answer(&other, wait),
            ),
        ),
    }
}

async fn echo_detected(probe: &WsProbe) -> Outcome {
    match probe.echo_answer().await {
        Ok((true, _)) => Outcome::info(
            "the server echoes text messages",
            Evidence {
                expected: "an echo".into(),
                actual: "an echo".into(),
                transcript: Transcript::default(),
            },
        ),
        Ok((false, answer)) => Outcome::info(
            format!(
                "the server does not echo (the echo probe got {answer}); echo-based checks are skipped"
            ),
            Evidence {
                expected: "an echo".into(),
                actual: format!("no echo: {answer}"),
                transcript: Transcript::default(),
            },
        ),
        Err(e) => no_connection(e),
    }
}

/// Sends a message on a fresh connection; whether it came back unchanged.
async fn echo_once(probe: &WsProbe, message: &[u8]) -> Result<(), String> {
    let mut conn = probe.open().await.map_err(|e| e.to_string())?;
    conn.send_message(1, message)
        .await
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + probe.wait;
    loop {
        match conn.next_event(deadline).await {
            WsEvent::Message { data, .. } if data == message => return Ok(()),
            WsEvent::Message { data, .. } => {
                return Err(format!(
                    "a different message came back ({} bytes)",
                    data.len()
                ));
            }
            WsEvent::Ping(_) | WsEvent::Pong(_) => {}
            other => return Err(format!("no echo: {other}")),
        }
    }
}

async fn drop_mid_message(probe: &WsProbe) -> Outcome {
    if let Some(outcome) = require_echo(probe).await {
        return outcome;
    }
    let mut conn = match probe.open().await {
        Ok(c) => c,
        Err(e) => return no_connection(&e),
    };
    // The header of a masked 1000-byte text frame and 10 of its bytes, then gone.
    let mut partial = vec![0x81, 0xFE, 0x03, 0xE8];
    partial.extend_from_slice(&random_bytes::<4>());
    partial.extend_from_slice(&[0x41; 10]);
    let _ = conn.send_raw(&partial).await;
    drop(conn);
    tokio::time::sleep(Duration::from_millis(50)).await;
    match echo_once(probe, b"still there?").await {
        Ok(()) => Outcome::pass("after a client vanished mid-frame, a new connection echoed"),
        Err(why) => Outcome::fail(
            format!("after a client vanished mid-frame: {why}"),
            Evidence {
                expected: "a new connection served".into(),
                actual: why,
                transcript: Transcript::default(),
            },
        ),
    }
}

async fn concurrent_echo(probe: &WsProbe) -> Outcome {
    if let Some(outcome) = require_echo(probe).await {
        return outcome;
    }
    let messages: Vec<Vec<u8>> = (0..8)
        .map(|i| format!("pulsecheck concurrent {i}").into_bytes())
        .collect();
    let results = futures::future::join_all(messages.iter().map(|m| echo_once(probe, m))).await;
    let failures: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    if failures.is_empty() {
        Outcome::pass("8 concurrent connections each got their own echo")
    } else {
        Outcome::fail(
            format!(
                "{} of 8 concurrent connections failed: {}",
                failures.len(),
                failures[0]
            ),
            Evidence {
                expected: "8 echoes".into(),
                actual: failures.join("; "),
                transcript: Transcript::default(),
            },
        )
    }
}

/// How many pings `ws/heartbeat/pong-latency` sends, one at a time.
const LATENCY_PINGS: usize = 10;

/// Milliseconds, for latencies.
fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Seconds, for the idle observations.
fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// The middle of sorted samples (the mean of the two middle ones for an even
/// count).
fn median(sorted: &[Duration]) -> Duration {
    let mid = sorted.len() / 2;
    match (sorted.get(mid.wrapping_sub(1)), sorted.get(mid)) {
        (Some(a), Some(b)) if sorted.len().is_multiple_of(2) => a.saturating_add(*b) / 2,
        (_, Some(m)) => *m,
        _ => Duration::ZERO,
    }
}

async fn pong_latency(probe: &WsProbe) -> Outcome {
    let (mut conn, wait) = match probe.open_timed().await {
        Ok(c) => c,
        Err(e) => return no_connection(&e),
    };
    // Each pong is awaited for the connection's answer wait (as ws/ping/pong
    // awaits its one), and the whole series for `wait`: a server that pongs late
    // or never costs one answer wait, a slow one at most `wait`, not ten times it.
    let series_end = Instant::now() + probe.wait;
    let mut latencies = Vec::with_capacity(LATENCY_PINGS);
    let mut other_pongs = 0_usize;
    let mut missing = None;
    'pings: for i in 1..=LATENCY_PINGS {
        let payload = format!("pulsecheck heartbeat {i}").into_bytes();
        let sent = Instant::now();
        if let Err(e) = conn.send_frame(true, 9, &payload, true, None).await {
            missing = Some((i, format!("could not send it: {e}")));
            break;
        }
        let deadline = wait.deadline().min(series_end);
        loop {
            let event = if Instant::now() < deadline {
                conn.next_event(deadline).await
            } else {
                WsEvent::Timeout
            };
            match event {
                WsEvent::Pong(data) if data == payload => {
                    latencies.push(sent.elapsed());
                    break;
                }
                // RFC 6455 §5.5.3: "A Pong frame MAY be sent unsolicited."
                WsEvent::Pong(_) => other_pongs = other_pongs.saturating_add(1),
                WsEvent::Ping(data) => {
                    let _ = conn.send_frame(true, 10, &data, true, None).await;
                }
                WsEvent::Message { .. } => {}
                WsEvent::Timeout if deadline == series_end => {
                    let why = format!(
                        "no pong before the {:.1} s for the whole series ran out",
                        secs(probe.wait)
                    );
                    missing = Some((i, why));
                    break 'pings;
                }
                WsEvent::Timeout => {
                    missing = Some((i, format!("no pong within {wait}")));
                    break 'pings;
                }
                other => {
                    missing = Some((i, format!("{other} instead of a pong")));
                    break 'pings;
                }
            }
        }
    }
    latencies.sort_unstable();
    let mut message = match (latencies.first(), latencies.last()) {
        (Some(min), Some(max)) => format!(
            "{} of {LATENCY_PINGS} pings answered with their payload: min {:.2} ms, median {:.2} ms, max {:.2} ms",
            latencies.len(),
            ms(*min),
            ms(median(&latencies)),
            ms(*max)
        ),
        _ => format!("0 of {LATENCY_PINGS} pings answered"),
    };
    if let Some((i, why)) = &missing {
        message.push_str(&format!(
            "; ping {i}: {why} (ws/ping/pong judges missing pongs)"
        ));
    }
    if other_pongs > 0 {
        message.push_str(&format!(
            "; {other_pongs} pong(s) with another payload ignored"
        ));
    }
    Outcome::info(
        message.clone(),
        evidence(
            &conn,
            "a Pong with each ping's payload, as soon as is practical",
            message,
        ),
    )
}

/// Whether an idle client answers the server's pings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pongs {
    /// With a pong carrying the ping's payload, as a browser does.
    Answered,
    /// Not at all, as a dead peer.
    Ignored,
}

/// How an idle connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum IdleEnd {
    /// The server sent a Close.
    Close {
        /// Its code, if the body had one.
        code: Option<u16>,
        /// Its reason.
        reason: String,
    },
    /// TCP closed (or was reset) without a Close.
    Dropped,
    /// The server's frames broke a rule of RFC 6455.
    Violation(String),
}

/// When the server's pings came, in constant memory whatever it sends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct PingTimes {
    /// How many came.
    count: usize,
    /// When the first came, since the connection opened.
    first: Duration,
    /// When the last came.
    last: Duration,
    /// The shortest and longest gap between two pings.
    gaps: Option<(Duration, Duration)>,
}

impl PingTimes {
    fn record(&mut self, at: Duration) {
        if self.count == 0 {
            self.first = at;
        } else {
            let gap = at.saturating_sub(self.last);
            let (min, max) = self.gaps.unwrap_or((gap, gap));
            self.gaps = Some((min.min(gap), max.max(gap)));
        }
        self.last = at;
        self.count = self.count.saturating_add(1);
    }

    /// "no ping within 2.0 s", "1 ping in 2.0 s, after 1.50 s", "pinged every
    /// 0.50 s (4 pings in 2.0 s, first after 0.50 s, gaps 0.49-0.51 s)".
    fn describe(&self, observed: Duration) -> String {
        match (self.count, self.gaps) {
            (0, _) => format!("no ping within {:.1} s", secs(observed)),
            (n, Some((min, max))) => {
                let gaps = u32::try_from(n.saturating_sub(1)).unwrap_or(u32::MAX);
                let every = self.last.saturating_sub(self.first) / gaps.max(1);
                format!(
                    "pinged every {:.2} s ({n} pings in {:.1} s, first after {:.2} s, gaps {:.2}-{:.2} s)",
                    secs(every),
                    secs(observed),
                    secs(self.first),
                    secs(min),
                    secs(max)
                )
            }
            (_, None) => format!(
                "1 ping in {:.1} s, after {:.2} s",
                secs(observed),
                secs(self.first)
            ),
        }
    }
}

/// What an idle client saw of the server during [`WsProbe::observe`].
#[derive(Debug, Clone)]
struct IdleWatch {
    /// The window.
    window: Duration,
    /// The pings that came.
    pings: PingTimes,
    /// Data messages that came (some servers send their heartbeats as data).
    messages: usize,
    /// How the connection ended and when (since it opened); `None` when it was
    /// open for the whole window.
    end: Option<(Duration, IdleEnd)>,
    /// What went over the wire.
    transcript: Transcript,
}

impl IdleWatch {
    /// How long the connection was watched: the window, or until it ended.
    fn observed(&self) -> Duration {
        self.end.as_ref().map_or(self.window, |(at, _)| *at)
    }

    /// What the server sent while the client was idle.
    fn describe_pings(&self) -> String {
        let mut text = self.pings.describe(self.observed());
        if self.messages > 0 {
            text.push_str(&format!("; {} data message(s) meanwhile", self.messages));
        }
        text
    }

    /// "kept open for the whole 2.0 s window", "closed after 1.00 s with 1001
    /// \"idle\"", "dropped TCP after 1.00 s without a Close".
    fn describe_end(&self) -> String {
        match &self.end {
            None => format!("kept open for the whole {:.1} s window", secs(self.window)),
            Some((at, IdleEnd::Close { code, reason })) => {
                let code = code.map_or("a Close without a code".to_owned(), |c| c.to_string());
                let reason = if reason.is_empty() {
                    String::new()
                } else {
                    format!(" {reason:?}")
                };
                format!("closed after {:.2} s with {code}{reason}", secs(*at))
            }
            Some((at, IdleEnd::Dropped)) => {
                format!("dropped TCP after {:.2} s without a Close", secs(*at))
            }
            Some((at, IdleEnd::Violation(e))) => {
                format!("broke RFC 6455 after {:.2} s: {e}", secs(*at))
            }
        }
    }

    /// `text`, and when it depends on the window's length, how to widen it.
    fn windowed(&self, text: String) -> String {
        if self.end.is_none() {
            format!("{text}; --observe extends the window")
        } else {
            text
        }
    }
}

/// Opens a connection, sends nothing, and watches it for [`WsProbe::observe`]
/// (answering the server's pings or not); every wait ends with the window.
async fn watch_idle(probe: &WsProbe, pongs: Pongs) -> Result<IdleWatch, String> {
    let mut conn = probe.open().await.map_err(|e| e.to_string())?;
    let window = probe.observe.min(WsProbe::MAX_OBSERVE);
    let opened = Instant::now();
    let deadline = opened + window;
    let mut watch = IdleWatch {
        window,
        pings: PingTimes::default(),
        messages: 0,
        end: None,
        transcript: Transcript::default(),
    };
    // Checked before each read too: a server that never stops sending would
    // otherwise keep the reads from timing out.
    while watch.end.is_none() && Instant::now() < deadline {
        let event = conn.next_event(deadline).await;
        let at = opened.elapsed();
        watch.end = match event {
            WsEvent::Timeout => break,
            WsEvent::Ping(payload) => {
                watch.pings.record(at);
                let answered = match pongs {
                    Pongs::Answered => conn.send_frame(true, 10, &payload, true, None).await,
                    Pongs::Ignored => Ok(()),
                };
                answered.err().map(|_| (at, IdleEnd::Dropped))
            }
            WsEvent::Pong(_) => None,
            WsEvent::Message { .. } => {
                watch.messages = watch.messages.saturating_add(1);
                None
            }
            WsEvent::Close { code, reason } => {
                // The client's half of the closing handshake (§5.5.1).
                let _ = conn.send_frame(true, 8, &[], true, None).await;
                Some((at, IdleEnd::Close { code, reason }))
            }
            WsEvent::Eof => Some((at, IdleEnd::Dropped)),
            WsEvent::Violation(v) => Some((at, IdleEnd::Violation(v.error.to_string()))),
            WsEvent::Compression(e) => Some((at, IdleEnd::Violation(e.to_string()))),
        };
    }
    watch.transcript = conn.transcript;
    Ok(watch)
}

/// The info outcome of an idle observation: `describe` says what was seen.
fn idle_info(
    watch: Result<&IdleWatch, &str>,
    expected: &str,
    describe: impl FnOnce(&IdleWatch) -> String,
) -> Outcome {
    match watch {
        Ok(watch) => {
            let message = describe(watch);
            Outcome::info(
                message.clone(),
                Evidence {
                    expected: expected.to_owned(),
                    actual: message,
                    transcript: watch.transcript.clone(),
                },
            )
        }
        Err(e) => no_connection(e),
    }
}

async fn server_pings(probe: &WsProbe) -> Outcome {
    idle_info(
        probe.answering_watch().await,
        "pings at some interval, or none (a server MAY ping)",
        |w| {
            let mut text = w.describe_pings();
            if w.end.is_some() {
                text.push_str(&format!("; then {}", w.describe_end()));
            }
            w.windowed(text)
        },
    )
}

async fn idle_timeout(probe: &WsProbe) -> Outcome {
    idle_info(
        probe.answering_watch().await,
        "the idle connection kept open, or closed with a Close (1001)",
        |w| {
            w.windowed(format!(
                "an idle client answering pings: {}; {}",
                w.describe_end(),
                w.describe_pings()
            ))
        },
    )
}

async fn unanswered_pings(probe: &WsProbe) -> Outcome {
    let watch = watch_idle(probe, Pongs::Ignored).await;
    idle_info(
        watch.as_ref().map_err(String::as_str),
        "a client that never answers pings dropped after some time, or kept",
        |w| {
            let text = if w.pings.count == 0 {
                format!(
                    "{}, so none went unanswered; {}",
                    w.describe_pings(),
                    w.describe_end()
                )
            } else {
                format!(
                    "{} unanswered ping(s): {}; {}",
                    w.pings.count,
                    w.describe_end(),
                    w.describe_pings()
                )
            };
            w.windowed(text)
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_answer_wait_is_20_openings_at_least_1_s_at_most_the_wait() {
        let wait = Duration::from_secs(5);
        let loopback = AnswerWait::new(Duration::from_micros(400), wait);
        assert_eq!(loopback.duration(), Duration::from_secs(1));
        assert_eq!(
            loopback.to_string(),
            "1.0 s (20 × the 0.4 ms the connection took to open, at least 1 s)"
        );
        let remote = AnswerWait::new(millis(80), wait);
        assert_eq!(remote.duration(), millis(1600));
        assert_eq!(
            remote.to_string(),
            "1.6 s (20 × the 80.0 ms the connection took to open)"
        );
        let slow = AnswerWait::new(millis(400), wait);
        assert_eq!(slow.duration(), wait);
        assert_eq!(
            slow.to_string(),
            "5.0 s (the probe's wait; 20 × the 400.0 ms the connection took to open is longer)"
        );
        let short_wait = AnswerWait::new(millis(1), millis(500));
        assert_eq!(short_wait.duration(), millis(500));
        assert_eq!(short_wait.to_string(), "0.5 s (the probe's wait)");
    }

    #[test]
    fn median_of_odd_even_and_no_samples() {
        assert_eq!(median(&[millis(1), millis(2), millis(9)]), millis(2));
        assert_eq!(
            median(&[millis(1), millis(3), millis(5), millis(9)]),
            millis(4)
        );
        assert_eq!(median(&[millis(7)]), millis(7));
        assert_eq!(median(&[]), Duration::ZERO);
    }

    #[test]
    fn ping_times_give_the_mean_interval_and_the_gap_range() {
        let mut pings = PingTimes::default();
        assert_eq!(pings.describe(millis(2000)), "no ping within 2.0 s");
        pings.record(millis(500));
        assert_eq!(
            pings.describe(millis(2000)),
            "1 ping in 2.0 s, after 0.50 s"
        );
        pings.record(millis(1000));
        pings.record(millis(1600));
        assert_eq!(
            pings.describe(millis(2000)),
            "pinged every 0.55 s (3 pings in 2.0 s, first after 0.50 s, gaps 0.50-0.60 s)"
        );
    }
}
