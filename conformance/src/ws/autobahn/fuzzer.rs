//! The engine that plays one case: it sends the case's frames the way Autobahn's
//! fuzzing client does (same bytes, same chopping, same timers), records what the
//! server sends back, and grades `behavior` and `behaviorClose` by Autobahn's rules
//! (`fixtures/ws/autobahn-cases.md` §1 describes them; this file follows it section
//! by section). A case whose grades are sealed before its timers run out ends
//! early, with the grades Autobahn gives after waiting (`fuzzer/sealed.rs` says when
//! and how); a pause that is there for an answer ends when the answer is in
//! (`fuzzer/answered.rs`).

mod answered;
mod sealed;

use std::fmt;
use std::time::Duration;

use pulsecheck_ws::{FrameHeader, MessageKind, Opcode, Role, Rsv, copy_unmask, encode_frame};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::handshake::Handshake;
use super::payloads::Corpus;
use super::stream::{OutgoingFrames, STREAM_ABOVE};
use crate::budget::MAX_RECORDED_EVENTS;
use crate::check::Transcript;
use crate::ws::connection::{
    DuplexConnection, MessageData, WhileWriting, WsEvent, clear_keeping, frame_from, mask_for,
    own_name, peer_name,
};
use crate::ws::deflate::{Deflater, append_frames};

pub use answered::WaitFor;
pub use sealed::{Pace, Shortcut, ShortcutReason};

/// A payload, described rather than stored: the case table stays small and the
/// megabytes of the limits cases exist only while their case runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// These bytes.
    Bytes(Vec<u8>),
    /// `pattern` repeated until `len` bytes (the last copy may be partial), as
    /// Autobahn's `payload_len` does.
    Repeat {
        /// The bytes repeated.
        pattern: &'static [u8],
        /// The total length.
        len: usize,
    },
}

impl Payload {
    /// `text` as bytes.
    pub fn text(text: &str) -> Payload {
        Payload::Bytes(text.as_bytes().to_vec())
    }

    /// No bytes.
    pub fn empty() -> Payload {
        Payload::Bytes(Vec::new())
    }

    /// The length in bytes.
    pub fn len(&self) -> usize {
        match self {
            Payload::Bytes(b) => b.len(),
            Payload::Repeat { len, .. } => *len,
        }
    }

    /// Whether it has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Payload::Bytes(b) => b.clone(),
            Payload::Repeat { pattern, len } => {
                pattern.iter().copied().cycle().take(*len).collect()
            }
        }
    }
}

/// How a frame's bytes are written (Autobahn's `chopsize` and `sync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chop {
    /// Together with the frames around it.
    None,
    /// As one write of its own ("frame-wise chops").
    Frame,
    /// In writes of this many bytes, header included ("octet-wise chops" when 1).
    Octets(usize),
}

/// The fuzzer's fallback timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// Fail the connection after this long: Close 1001 if still open, else drop TCP.
    KillAfter(Duration),
    /// Close after this long (an empty Close) if still open.
    CloseAfter(Duration),
}

/// One thing a case does, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// One frame, valid or not, masked when the fuzzer is the client.
    Frame {
        /// The opcode (any 4-bit value).
        opcode: Opcode,
        /// FIN.
        fin: bool,
        /// RSV bits (Autobahn numbers them as a 3-bit value: 1 is RSV3).
        rsv: Rsv,
        /// The payload.
        payload: Payload,
        /// How it is written.
        chop: Chop,
    },
    /// A message, in frames of `fragment_size` bytes when it is longer than that
    /// (with Autobahn's trailing empty FIN frame when the length is a multiple).
    Message {
        /// 1 text, 2 binary.
        opcode: Opcode,
        /// The payload.
        payload: Payload,
        /// Fragment size; `None` for one frame.
        fragment_size: Option<usize>,
    },
    /// The fuzzer's own Close (not a reply) with this body: from now on the
    /// connection is closing and the fuzzer is the side that closed first.
    Close(Vec<u8>),
    /// The header of one frame announcing `len` bytes; its payload follows in
    /// [`Step::FrameData`] steps (Autobahn's streaming API).
    BeginFrame {
        /// The opcode.
        opcode: Opcode,
        /// FIN.
        fin: bool,
        /// The announced payload length.
        len: u64,
    },
    /// The next bytes of the frame begun by [`Step::BeginFrame`] (masked as it is).
    FrameData(Vec<u8>),
    /// Wait; then, if the connection is still open, record `("timeout", tag)` (when
    /// there is a tag) and go on; otherwise stop the script.
    Wait {
        /// How long.
        after: Duration,
        /// The tag recorded.
        tag: Option<&'static str>,
        /// What else may end it (`fuzzer/answered.rs`).
        until: WaitFor,
    },
    /// Start the fallback timer.
    Timer(Timer),
    /// Send `count` messages of `len` units of a corpus, each the next slice of
    /// it (Autobahn's compression cases, groups 12 and 13): compressed when
    /// permessage-deflate was agreed, the compressed payload cut into frames of
    /// `fragment_size`. Autobahn sends each after the previous one's echo; the
    /// probe keeps up to [`ECHO_WINDOW`] bytes and [`ECHO_WINDOW_MESSAGES`]
    /// messages in flight (one message at [`Pace::Autobahn`]), which changes
    /// nothing a correct peer sees but time.
    Echoes {
        /// Where the messages come from.
        corpus: Corpus,
        /// Units (characters of a text corpus, bytes of a binary one) per message.
        len: usize,
        /// How many.
        count: usize,
        /// Fragment size of the (compressed) payload; `None` for one frame.
        fragment_size: Option<usize>,
    },
    /// Send `count` messages one at a time, each after the previous one's echo
    /// (groups 9.7 and 9.8).
    RoundTrips {
        /// 1 text, 2 binary.
        opcode: Opcode,
        /// Each message's payload.
        payload: Payload,
        /// How many.
        count: usize,
    },
}

/// An event the fuzzer records (server pings and closes are not recorded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A complete (reassembled) data message.
    Message {
        /// Binary (opcode 2) or text.
        binary: bool,
        /// The payload: its length, digest and first bytes.
        data: MessageData,
    },
    /// A pong with its payload.
    Pong(Vec<u8>),
    /// A wait ended with the connection open.
    Timeout(&'static str),
}

/// An event a case expects, payloads described lazily.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// A message.
    Message {
        /// Binary or text.
        binary: bool,
        /// The payload.
        data: Payload,
    },
    /// A pong.
    Pong(Vec<u8>),
    /// A timeout tag.
    Timeout(&'static str),
}

/// How `behavior` is decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expectation {
    /// The recorded events must equal `ok` exactly (OK) or `non_strict` (NON-STRICT).
    Events {
        /// The events of a conformant server.
        ok: Vec<Expected>,
        /// The events of a server that is conformant but not strict, if any.
        non_strict: Option<Vec<Expected>>,
    },
    /// One message of this type and exact length (content not compared; 9.1–9.6).
    Length {
        /// Binary or text.
        binary: bool,
        /// The length.
        len: usize,
    },
    /// Every round trip of [`Step::RoundTrips`] echoed with the right type and length.
    RoundTrips,
    /// Every message of [`Step::Echoes`] echoed in order, type and bytes
    /// unchanged (Autobahn compares length and SHA-1; here length and digest).
    Echoes,
    /// Whatever happens, the result is information (7.1.6, 7.13.x): the spec
    /// leaves the behaviour open.
    Informational,
}

impl Expectation {
    /// Whether a server that does not echo cannot pass it.
    pub fn needs_echo(&self) -> bool {
        match self {
            Expectation::Events { ok, .. } => {
                ok.iter().any(|e| matches!(e, Expected::Message { .. }))
            }
            Expectation::Length { .. } | Expectation::RoundTrips | Expectation::Echoes => true,
            Expectation::Informational => false,
        }
    }
}

/// How `behaviorClose` is decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseExpectation {
    /// Whether the fuzzer must be the side that sends the first Close.
    pub by_fuzzer: bool,
    /// The codes accepted in the server's Close (an empty Close is always accepted).
    pub codes: Vec<u16>,
    /// Whether the close must be clean (Closes both ways, the server closing TCP).
    pub clean: bool,
    /// Whether `behavior` fails too when the server did not close first.
    pub wrong_endpoint_fatal: bool,
    /// Whether `behavior` fails too on a wrong close code (most of group 7).
    pub wrong_code_fatal: bool,
}

/// `behavior`: what the server did with the frames. Serialised as Autobahn
/// writes it (`OK`, `NON-STRICT`, ...), the same as its `Display`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING-KEBAB-CASE")]
pub enum Behavior {
    /// As required.
    Ok,
    /// Acceptable, not strict (a SHOULD or a desirable behaviour left open).
    NonStrict,
    /// Not as required.
    Failed,
    /// The spec leaves it open; reported as information.
    Informational,
    /// The peer took no part: no extension was negotiated in a compression case.
    /// Not a failure of a peer that does not compress.
    Unimplemented,
}

impl fmt::Display for Behavior {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Behavior::Ok => "OK",
            Behavior::NonStrict => "NON-STRICT",
            Behavior::Failed => "FAILED",
            Behavior::Informational => "INFORMATIONAL",
            Behavior::Unimplemented => "UNIMPLEMENTED",
        })
    }
}

/// `behaviorClose`: how the connection ended. Serialised as Autobahn writes
/// it (`OK`, `WRONG CODE`, ...), the same as its `Display`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING-KEBAB-CASE")]
pub enum CloseBehavior {
    /// As required.
    Ok,
    /// The wrong side closed first, or the handshake failed.
    Failed,
    /// A clean close was required and did not happen.
    Unclean,
    /// The server's Close carried a code not accepted here.
    #[serde(rename = "WRONG CODE")]
    WrongCode,
    /// The probe had to drop TCP itself.
    #[serde(rename = "FAILED BY CLIENT")]
    FailedByClient,
    /// The spec leaves it open.
    Informational,
    /// The case was never played: a peer that does not echo, in a case that
    /// grades an echo (pulsecheck's grade, paired with `behavior`
    /// UNIMPLEMENTED; a case Autobahn plays always gets a close grade).
    Unimplemented,
}

impl fmt::Display for CloseBehavior {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CloseBehavior::Ok => "OK",
            CloseBehavior::Failed => "FAILED",
            CloseBehavior::Unclean => "UNCLEAN",
            CloseBehavior::WrongCode => "WRONG CODE",
            CloseBehavior::FailedByClient => "FAILED BY CLIENT",
            CloseBehavior::Informational => "INFORMATIONAL",
            CloseBehavior::Unimplemented => "UNIMPLEMENTED",
        })
    }
}

/// One Autobahn case: what to send and how to grade it.
#[derive(Debug, Clone)]
pub struct Case {
    /// Autobahn's case number, e.g. `6.4.3`.
    pub number: String,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// How `behavior` is decided.
    pub expect: Expectation,
    /// How `behaviorClose` is decided.
    pub close: CloseExpectation,
    /// Whether the fuzzer sends Close 1000 as soon as the recorded events equal the
    /// expected ones (all but group 7, where the case closes itself).
    pub auto_close: bool,
    /// What the opening handshake must negotiate.
    pub handshake: Handshake,
}

impl Case {
    /// The data bytes the case sends at the least (frames, messages and round
    /// trips; not pings or closes): how heavy it is to play.
    pub fn bytes_sent(&self) -> usize {
        self.steps
            .iter()
            .map(|s| match s {
                Step::Frame { payload, .. } | Step::Message { payload, .. } => payload.len(),
                Step::RoundTrips { payload, count, .. } => payload.len() * count,
                Step::Echoes { len, count, .. } => len * count,
                _ => 0,
            })
            .sum()
    }

    /// The most data bytes the case has in flight at once: what the peer must
    /// hold to echo (for the run's budget of messages in flight).
    pub fn bytes_in_flight(&self) -> usize {
        self.steps
            .iter()
            .map(|s| match s {
                Step::Echoes { len, .. } => ECHO_WINDOW.max(4 * len),
                Step::RoundTrips { payload, .. } => payload.len(),
                Step::Frame { payload, .. } | Step::Message { payload, .. } => payload.len(),
                _ => 0,
            })
            .sum()
    }
}

/// The uncompressed bytes of [`Step::Echoes`] messages the probe keeps in
/// flight (at least one message): enough that the peer never waits for the
/// next message, few enough that it need not buffer much.
pub const ECHO_WINDOW: usize = 256 * 1024;

/// The most [`Step::Echoes`] messages in flight on one connection. The peer
/// works through what every concurrent case queued before it answers a Close,
/// which Autobahn gives 1 s: a few small messages per connection keep it busy
/// without making that wait long.
pub const ECHO_WINDOW_MESSAGES: usize = 16;

/// How a case's messages were compressed, both ways.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EchoSummary {
    /// Messages sent.
    pub sent: usize,
    /// Messages echoed as sent.
    pub echoed: usize,
    /// Their bytes before compression.
    pub plain: u64,
    /// Their payload bytes on the wire (compressed).
    pub wire: u64,
}

/// The result of playing a case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// The role the fuzzer played (the peer played the other).
    pub role: Role,
    /// `behavior`.
    pub behavior: Behavior,
    /// `behaviorClose`.
    pub behavior_close: CloseBehavior,
    /// The code of the server's Close, if it sent one with a code.
    pub remote_close_code: Option<u16>,
    /// From the end of the opening handshake to the end of the connection.
    pub duration: Duration,
    /// What was recorded.
    pub received: Vec<Event>,
    /// Why the grades are what they are, for the report.
    pub notes: Vec<String>,
    /// The waits the probe cut short because the grades were already sealed
    /// (none with [`Pace::Autobahn`]).
    pub shortcuts: Vec<Shortcut>,
    /// Both directions, in time order (bounded).
    pub transcript: Transcript,
    /// The messages of [`Step::Echoes`], if the case sends them.
    pub echoes: Option<EchoSummary>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    Closing,
    Closed,
}

/// The fuzzer's view of one connection.
struct Fuzzer<'c> {
    case: &'c Case,
    conn: DuplexConnection,
    /// The role the fuzzer plays: the client (a server under test) or the
    /// server (a client under test).
    role: Role,
    state: State,
    /// Data messages are recorded (false for servers that do not echo: what they
    /// send is not an answer to the case).
    record_messages: bool,
    received: Vec<Event>,
    closed_by_me: bool,
    failed_by_me: bool,
    dropped_by_me: bool,
    sent_close: bool,
    received_close: bool,
    timed_out: bool,
    remote_close_code: Option<u16>,
    /// Fires [`Timer`].
    timer: Option<(Instant, Timer)>,
    /// The close handshake must be answered by then.
    close_deadline: Option<Instant>,
    /// The server must close TCP by then.
    drop_deadline: Option<Instant>,
    /// The next step waits until then.
    resume_at: Option<Instant>,
    /// When what the current pause waits for arrived ([`WaitFor::Answers`]).
    answered_at: Option<Instant>,
    next_step: usize,
    /// The frame being streamed by BeginFrame / FrameData: key (a client's) and
    /// offset.
    streaming: Option<(Option<[u8; 4]>, usize)>,
    /// Writes not yet flushed (unchopped frames are written together).
    pending: Vec<u8>,
    round_trips: Option<RoundTrips>,
    /// Compresses the probe's messages, when permessage-deflate was agreed.
    deflater: Option<Deflater>,
    echoes: Option<Echoes>,
    computed: Option<Behavior>,
    notes: Vec<String>,
    /// Events that arrived while the probe was writing, handled next.
    deferred: std::collections::VecDeque<WsEvent>,
    /// Events that arrived after [`MAX_RECORDED_EVENTS`] were recorded: counted,
    /// not kept (the case fails).
    not_recorded: u64,
    /// Data messages from a server that does not echo: counted, not recorded.
    unrecorded_messages: u64,
    /// When the server closed, failed the connection or broke a rule, if it has.
    ending: Option<Instant>,
    /// The probe stopped writing in the middle of a frame (the server had closed):
    /// the stream can carry no other frame, so a Close becomes a dropped connection.
    abandoned: bool,
    /// Whether sealed grades end the case early.
    pace: Pace,
    /// The last time the probe wrote or an event from the server was handled.
    last_activity: Instant,
    /// When the probe last wrote.
    last_write: Option<Instant>,
    /// No event has arrived since the probe's last write.
    awaiting_answer: bool,
    /// The longest time from a write of the probe's to the server's next event:
    /// how long this server takes to answer, which sets the grace before an
    /// early close.
    answer_time: Option<Duration>,
    /// When `behavior` became FAILED for good, if it has.
    failed_since: Option<Instant>,
    /// The waits cut short.
    shortcuts: Vec<Shortcut>,
}

/// A deadline of the fuzzer's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Due {
    /// The pause before the case's next steps ends.
    Resume,
    /// The case's `killAfter` or `closeAfter` timer.
    Timer,
    /// The server must have answered the probe's Close.
    CloseAnswer,
    /// The server must have closed TCP after the close handshake.
    TcpClose,
}

struct RoundTrips {
    opcode: Opcode,
    payload: Vec<u8>,
    left: usize,
}

/// The messages of a [`Step::Echoes`] in progress.
struct Echoes {
    corpus: Corpus,
    len: usize,
    count: usize,
    fragment_size: Option<usize>,
    /// Each message sent and not yet echoed: what it must come back as.
    in_flight: std::collections::VecDeque<MessageData>,
    /// Their bytes.
    in_flight_bytes: usize,
    summary: EchoSummary,
    /// Reused for each message's compressed payload and frames.
    compressed: Vec<u8>,
    /// Reused for each message's bytes when they wrap around the end of the
    /// corpus (otherwise they are borrowed from it).
    plain: Vec<u8>,
}

/// The room the buffer of pending frames keeps between writes: a window of
/// echoes ([`ECHO_WINDOW`]) of the largest compression messages with room to
/// spare; what a larger write needed is given back.
const PENDING_KEPT: usize = 1 << 20;

/// Autobahn's close-handshake and server-drop timeouts.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Plays `case` on `conn` (just opened) and grades it, ending it as soon as its
/// grades are sealed ([`Pace::Sealed`]).
pub async fn play(case: &Case, conn: DuplexConnection, record_messages: bool) -> CaseResult {
    play_paced(case, conn, record_messages, Pace::Sealed).await
}

/// Plays `case` on `conn`, whose opening handshake agreed permessage-deflate
/// when `deflater` is given (its reader then inflates), at `pace`. A
/// compression case without an agreement is UNIMPLEMENTED, as in Autobahn.
pub async fn play_negotiated(
    case: &Case,
    conn: DuplexConnection,
    record_messages: bool,
    deflater: Option<Deflater>,
    pace: Pace,
) -> CaseResult {
    play_with(case, conn, record_messages, deflater, pace).await
}

/// Plays `case` on `conn` (just opened) and grades it, at `pace`:
/// [`Pace::Autobahn`] waits out every timer as Autobahn does, which is what proves
/// that the early grades of [`Pace::Sealed`] are the ones Autobahn gives.
pub async fn play_paced(
    case: &Case,
    conn: DuplexConnection,
    record_messages: bool,
    pace: Pace,
) -> CaseResult {
    play_with(case, conn, record_messages, None, pace).await
}

async fn play_with(
    case: &Case,
    conn: DuplexConnection,
    record_messages: bool,
    deflater: Option<Deflater>,
    pace: Pace,
) -> CaseResult {
    let started = Instant::now();
    let mut fuzzer = Fuzzer {
        case,
        role: conn.role(),
        conn,
        state: State::Open,
        record_messages,
        received: Vec::new(),
        closed_by_me: false,
        failed_by_me: false,
        dropped_by_me: false,
        sent_close: false,
        received_close: false,
        timed_out: false,
        remote_close_code: None,
        timer: None,
        close_deadline: None,
        drop_deadline: None,
        resume_at: None,
        answered_at: None,
        next_step: 0,
        streaming: None,
        pending: Vec::new(),
        round_trips: None,
        deflater,
        echoes: None,
        computed: None,
        notes: Vec::new(),
        deferred: std::collections::VecDeque::new(),
        not_recorded: 0,
        unrecorded_messages: 0,
        ending: None,
        abandoned: false,
        pace,
        last_activity: started,
        last_write: None,
        awaiting_answer: false,
        answer_time: None,
        failed_since: None,
        shortcuts: Vec::new(),
    };
    fuzzer.run_steps().await;
    while fuzzer.state != State::Closed {
        let deadline = fuzzer.next_deadline();
        let event = match (fuzzer.deferred.pop_front(), deadline) {
            (Some(event), _) => Some(event),
            (None, Some(at)) => tokio::select! {
                event = fuzzer.conn.next_event() => Some(event),
                () = tokio::time::sleep_until(at) => None,
            },
            (None, None) => Some(fuzzer.conn.next_event().await),
        };
        match event {
            Some(event) => fuzzer.on_event(event).await,
            None => fuzzer.on_time().await,
        }
        fuzzer.end_if_sealed().await;
    }
    let duration = started.elapsed();
    if fuzzer.not_recorded > 0 {
        fuzzer.notes.push(format!(
            "{} sent more than the {MAX_RECORDED_EVENTS} events a case records: {} more were counted, not recorded",
            peer_name(fuzzer.role),
            crate::budget::count(fuzzer.not_recorded)
        ));
    }
    if fuzzer.unrecorded_messages > 0 {
        let n = crate::budget::count(fuzzer.unrecorded_messages);
        fuzzer.conn.note(format!(
            "{n} data message(s) from a server that does not echo: not recorded"
        ));
    }
    let (behavior, behavior_close) = fuzzer.grade();
    let role = fuzzer.role;
    let Fuzzer {
        conn,
        received,
        remote_close_code,
        notes,
        shortcuts,
        echoes,
        deflater,
        ..
    } = fuzzer;
    if let Some(deflater) = deflater {
        super::recycle::give_back(deflater);
    }
    CaseResult {
        role,
        behavior,
        behavior_close,
        remote_close_code,
        duration,
        received,
        notes,
        shortcuts,
        transcript: conn.finish().await,
        echoes: echoes.map(|e| e.summary),
    }
}

impl Fuzzer<'_> {
    /// Runs steps until a wait, the end of the script, or a closed connection.
    async fn run_steps(&mut self) {
        while let Some(step) = self.case.steps.get(self.next_step) {
            if self.state == State::Closed {
                return;
            }
            self.next_step += 1;
            match step {
                Step::Frame {
                    opcode,
                    fin,
                    rsv,
                    payload,
                    chop,
                } if payload.len() > STREAM_ABOVE => {
                    let frames = OutgoingFrames::frame(self.role, *opcode, *fin, *rsv, payload);
                    self.send_streamed(frames, *chop).await;
                }
                Step::Frame {
                    opcode,
                    fin,
                    rsv,
                    payload,
                    chop,
                } => {
                    let frame = frame_from(self.role, *fin, *opcode, *rsv, &payload.to_bytes());
                    self.send(&frame, *chop).await;
                }
                Step::Message {
                    opcode,
                    payload,
                    fragment_size,
                } if payload.len() > STREAM_ABOVE => {
                    let frames =
                        OutgoingFrames::message(self.role, *opcode, payload, *fragment_size);
                    self.send_streamed(frames, Chop::None).await;
                }
                Step::Message {
                    opcode,
                    payload,
                    fragment_size,
                } => {
                    let bytes = payload.to_bytes();
                    for frame in message_frames(self.role, *opcode, &bytes, *fragment_size) {
                        self.pending.extend_from_slice(&frame);
                    }
                }
                Step::Close(body) => {
                    self.flush().await;
                    self.send_close(body.clone(), false).await;
                }
                Step::BeginFrame { opcode, fin, len } => {
                    let key = mask_for(self.role);
                    let mut header = FrameHeader::new(*opcode, *len);
                    header.fin = *fin;
                    header.mask = key;
                    let mut out = Vec::new();
                    // An announced length without its payload: encode the header only.
                    let _ = encode_frame(&mut out, &header, &[]);
                    self.streaming = Some((key, 0));
                    self.send(&out, Chop::Frame).await;
                }
                Step::FrameData(data) => {
                    let (key, offset) = self.streaming.unwrap_or((mask_for(self.role), 0));
                    self.streaming = Some((key, offset + data.len()));
                    match key {
                        Some(key) => {
                            let mut masked = vec![0; data.len()];
                            // Masking and unmasking are the same XOR (RFC 6455 §5.3).
                            copy_unmask(&mut masked, data, key, offset);
                            self.send(&masked, Chop::Frame).await;
                        }
                        None => self.send(data, Chop::Frame).await,
                    }
                }
                Step::Wait { after, .. } => {
                    self.flush().await;
                    self.resume_at = Some(Instant::now() + *after);
                    return;
                }
                Step::Timer(timer) => {
                    let after = match timer {
                        Timer::KillAfter(d) | Timer::CloseAfter(d) => *d,
                    };
                    self.timer = Some((Instant::now() + after, *timer));
                }
                Step::Echoes {
                    corpus,
                    len,
                    count,
                    fragment_size,
                } => {
                    if self.deflater.is_none()
                        && matches!(self.case.handshake, Handshake::Deflate(_))
                    {
                        // Autobahn: no extension in use, the case is
                        // UNIMPLEMENTED and closes at once.
                        self.computed = Some(Behavior::Unimplemented);
                        self.notes.push(format!(
                            "no permessage-deflate was agreed in the opening handshake: {} took no part",
                            peer_name(self.role)
                        ));
                        self.send_close(1000u16.to_be_bytes().to_vec(), false).await;
                        return;
                    }
                    self.echoes = Some(Echoes {
                        corpus: *corpus,
                        len: *len,
                        count: *count,
                        fragment_size: *fragment_size,
                        in_flight: std::collections::VecDeque::new(),
                        in_flight_bytes: 0,
                        summary: EchoSummary::default(),
                        compressed: Vec::new(),
                        plain: Vec::new(),
                    });
                    self.send_echoes().await;
                }
                Step::RoundTrips {
                    opcode,
                    payload,
                    count,
                } => {
                    let payload = payload.to_bytes();
                    self.pending.extend_from_slice(&frame_from(
                        self.role,
                        true,
                        *opcode,
                        Rsv::NONE,
                        &payload,
                    ));
                    self.round_trips = Some(RoundTrips {
                        opcode: *opcode,
                        payload,
                        left: *count,
                    });
                }
            }
        }
        self.flush().await;
    }

    /// After a wait: go on if still open.
    async fn resume(&mut self) {
        self.resume_at = None;
        self.answered_at = None;
        let tag = match self.case.steps.get(self.next_step.wrapping_sub(1)) {
            Some(Step::Wait { tag, .. }) => *tag,
            _ => None,
        };
        if self.state != State::Open {
            self.next_step = self.case.steps.len();
            return;
        }
        if let Some(tag) = tag {
            self.record(Event::Timeout(tag)).await;
        }
        self.run_steps().await;
    }

    async fn send(&mut self, bytes: &[u8], chop: Chop) {
        match chop {
            Chop::None => self.pending.extend_from_slice(bytes),
            Chop::Frame => {
                self.flush().await;
                self.write(bytes).await;
                tokio::task::yield_now().await;
            }
            Chop::Octets(size) => {
                self.flush().await;
                for piece in bytes.chunks(size.max(1)) {
                    self.write(piece).await;
                    tokio::task::yield_now().await;
                }
            }
        }
    }

    /// Writes frames generated piece by piece (a large payload is never built
    /// whole): in pieces of the chop size for octet-wise chops, of 64 KiB otherwise.
    async fn send_streamed(&mut self, mut frames: OutgoingFrames<'_>, chop: Chop) {
        self.flush().await;
        let size = match chop {
            Chop::Octets(size) => size.max(1),
            Chop::None | Chop::Frame => STREAM_ABOVE,
        };
        let mut piece = vec![0u8; size];
        loop {
            let n = frames.fill(&mut piece);
            if n == 0 || self.abandoned || self.state == State::Closed {
                return;
            }
            self.write(&piece[..n]).await;
            if matches!(chop, Chop::Octets(_)) {
                tokio::task::yield_now().await;
            }
        }
    }

    /// Writes the pending frames; the buffer is kept for the next ones (up to
    /// [`PENDING_KEPT`] bytes of room), not allocated again for each message.
    async fn flush(&mut self) {
        if !self.pending.is_empty() {
            let mut pending = std::mem::take(&mut self.pending);
            self.write(&pending).await;
            if self.pending.is_empty() {
                clear_keeping(&mut pending, PENDING_KEPT);
                self.pending = pending;
            }
        }
    }

    /// Writes, taking in what the server sends meanwhile: a server that echoes
    /// while the probe is still sending is read (no deadlock on full socket
    /// buffers). Once the server has closed (or broken a rule), the bytes still
    /// go out, as Autobahn's queued writes do, but only while the server takes
    /// them: a server that stops reading gets [`CLOSE_TIMEOUT`], then the rest
    /// is abandoned.
    async fn write(&mut self, bytes: &[u8]) {
        /// Events held while writing; beyond this the reader's channel waits.
        const MAX_DEFERRED: usize = 1024;
        let mut offset = 0;
        while let Some(rest) = bytes.get(offset..).filter(|r| !r.is_empty()) {
            if self.abandoned {
                return;
            }
            let deferred = &mut self.deferred;
            let ending = self.ending;
            let mut saw_end = false;
            let on_event = |event: WsEvent| {
                let ends = matches!(
                    event,
                    WsEvent::Close { .. } | WsEvent::Eof | WsEvent::Violation(_)
                );
                deferred.push_back(event);
                if ends && ending.is_none() {
                    saw_end = true;
                    WhileWriting::Stop
                } else if deferred.len() >= MAX_DEFERRED || ending.is_some() {
                    WhileWriting::StopListening
                } else {
                    WhileWriting::Continue
                }
            };
            let written = match ending {
                None => self.conn.write_watching(rest, on_event).await,
                Some(since) => {
                    let write = self.conn.write_watching(rest, on_event);
                    match tokio::time::timeout_at(since + CLOSE_TIMEOUT, write).await {
                        Ok(written) => written,
                        Err(_) => Ok(0),
                    }
                }
            };
            if saw_end {
                self.ending = Some(Instant::now());
            }
            match written {
                // A failed write means the server has gone: the reader reports it.
                Err(_) => return,
                Ok(0) if ending.is_some() => {
                    self.abandoned = true;
                    self.notes.push(format!(
                        "{} stopped reading after it closed; {} bytes were not sent",
                        peer_name(self.role),
                        rest.len()
                    ));
                    return;
                }
                Ok(n) => offset += n,
            }
            self.note_write();
        }
    }

    /// Sends a Close: the fuzzer's own (`reply` false) or its answer to the server's.
    async fn send_close(&mut self, body: Vec<u8>, reply: bool) {
        if self.state != State::Open {
            return;
        }
        if self.abandoned {
            // Half a frame is on the wire: no Close can follow it.
            self.drop_tcp().await;
            return;
        }
        self.flush().await;
        self.write(&self.control(Opcode::CLOSE, &body)).await;
        self.sent_close = true;
        self.state = State::Closing;
        if !reply {
            self.closed_by_me = true;
            self.close_deadline = Some(Instant::now() + CLOSE_TIMEOUT);
        }
    }

    /// Fails the connection as Autobahn does: a Close with `code` while open, a
    /// dropped TCP connection once closing.
    async fn fail(&mut self, code: u16, why: String) {
        self.notes.push(why);
        self.failed_by_me = true;
        if self.state == State::Open {
            self.send_close(code.to_be_bytes().to_vec(), false).await;
        } else {
            self.drop_tcp().await;
        }
    }

    async fn drop_tcp(&mut self) {
        self.dropped_by_me = true;
        self.conn.drop_tcp().await;
        self.state = State::Closed;
    }

    async fn record(&mut self, event: Event) {
        // A case expects a handful of events: a server that floods the probe fails
        // the case, and what it sends past the limit is counted, not kept (memory
        // stays bounded).
        if self.received.len() >= MAX_RECORDED_EVENTS {
            let first = self.not_recorded == 0;
            self.not_recorded = self.not_recorded.saturating_add(1);
            if first {
                self.mark_if_failed_for_good();
            }
            return;
        }
        self.received.push(event);
        self.mark_if_failed_for_good();
        self.mark_if_answered();
        // Auto-close: when what arrived is exactly what every expected list says.
        if self.case.auto_close
            && self.case.close.by_fuzzer
            && let Expectation::Events { ok, non_strict } = &self.case.expect
            && equals(&self.received, ok)
            && non_strict
                .as_ref()
                .is_none_or(|n| equals(&self.received, n))
        {
            self.send_close(1000u16.to_be_bytes().to_vec(), false).await;
        }
    }

    async fn on_event(&mut self, event: WsEvent) {
        self.note_event();
        match event {
            WsEvent::Message { kind, data } => {
                self.on_message(kind == MessageKind::Binary, data).await
            }
            WsEvent::Pong(payload) => self.record(Event::Pong(payload)).await,
            WsEvent::Ping(payload) => {
                if self.state == State::Open {
                    self.flush().await;
                    self.write(&self.control(Opcode::PONG, &payload)).await;
                }
            }
            WsEvent::Close { code, reason } => {
                self.ending.get_or_insert_with(Instant::now);
                self.received_close = true;
                self.remote_close_code = code;
                let code_text = code.map_or("no code".to_owned(), |c| c.to_string());
                match self.state {
                    State::Open => {
                        self.notes.push(format!(
                            "{} sent Close ({code_text}{}) first",
                            peer_name(self.role),
                            reason_suffix(&reason)
                        ));
                        self.send_close(1000u16.to_be_bytes().to_vec(), true).await;
                        if self.role == Role::Server {
                            // A server closes TCP once the close handshake is
                            // done (RFC 6455 §7.1.1), as Autobahn's does at once.
                            self.drop_tcp().await;
                            return;
                        }
                        // Autobahn waits for the server to close TCP until its
                        // killAfter fires; without one, as long as a kill would.
                        if !matches!(self.timer, Some((_, Timer::KillAfter(_)))) {
                            let after = 2 * CLOSE_TIMEOUT;
                            self.timer = Some((Instant::now() + after, Timer::KillAfter(after)));
                        }
                    }
                    State::Closing => {
                        self.close_deadline = None;
                        if self.role == Role::Server {
                            self.drop_tcp().await;
                        } else {
                            self.drop_deadline = Some(Instant::now() + CLOSE_TIMEOUT);
                        }
                    }
                    State::Closed => {}
                }
            }
            WsEvent::Violation(v) => {
                self.ending.get_or_insert_with(Instant::now);
                let code = v.close_code().get();
                let who = peer_name(self.role);
                self.fail(code, format!("{who} broke RFC 6455: {}", v.error))
                    .await;
            }
            WsEvent::Compression(e) => {
                self.ending.get_or_insert_with(Instant::now);
                let who = peer_name(self.role);
                self.fail(e.close_code(), format!("{who} broke RFC 7692: {e}"))
                    .await;
            }
            WsEvent::Eof | WsEvent::Timeout => {
                self.state = State::Closed;
            }
        }
    }

    async fn on_message(&mut self, binary: bool, data: MessageData) {
        if !self.record_messages {
            self.unrecorded_messages = self.unrecorded_messages.saturating_add(1);
            return;
        }
        if self.failed_by_me {
            return;
        }
        match &self.case.expect {
            Expectation::Length {
                binary: want_binary,
                len,
            } => {
                let (want_binary, len) = (*want_binary, *len);
                if binary == want_binary && data.len() == len {
                    self.computed = Some(Behavior::Ok);
                } else {
                    self.notes.push(format!(
                        "expected a {} message of {len} bytes, got a {} message of {} bytes",
                        kind(want_binary),
                        kind(binary),
                        data.len()
                    ));
                }
                self.send_close(1000u16.to_be_bytes().to_vec(), false).await;
            }
            Expectation::RoundTrips => {
                let Some(trips) = self.round_trips.as_mut() else {
                    return;
                };
                let want_binary = trips.opcode == Opcode::BINARY;
                if binary != want_binary || data.len() != trips.payload.len() {
                    self.notes.push(format!(
                        "round trip {} came back as a {} message of {} bytes",
                        trips.left,
                        kind(binary),
                        data.len()
                    ));
                    self.computed = Some(Behavior::Failed);
                    self.send_close(1000u16.to_be_bytes().to_vec(), false).await;
                    return;
                }
                trips.left = trips.left.saturating_sub(1);
                if trips.left == 0 {
                    self.computed = Some(Behavior::Ok);
                    self.send_close(1000u16.to_be_bytes().to_vec(), false).await;
                } else if self.state == State::Open {
                    let next = frame_from(self.role, true, trips.opcode, Rsv::NONE, &trips.payload);
                    self.write(&next).await;
                }
            }
            Expectation::Echoes => self.on_echo(binary, data).await,
            Expectation::Events { .. } | Expectation::Informational => {
                self.record(Event::Message { binary, data }).await;
            }
        }
    }

    /// Sends the next messages of [`Step::Echoes`] while the window allows.
    async fn send_echoes(&mut self) {
        let window = match self.pace {
            Pace::Sealed => ECHO_WINDOW,
            Pace::Autobahn => 0,
        };
        let role = self.role;
        while self.state == State::Open {
            let Some(echoes) = self.echoes.as_mut() else {
                return;
            };
            let sent = echoes.summary.sent;
            if sent >= echoes.count
                || (!echoes.in_flight.is_empty()
                    && (echoes.in_flight_bytes >= window
                        || echoes.in_flight.len() >= ECHO_WINDOW_MESSAGES))
            {
                break;
            }
            let corpus = echoes.corpus;
            let mut plain = std::mem::take(&mut echoes.plain);
            let message = corpus.message_in(sent, echoes.len, &mut plain);
            let opcode = if corpus.binary() {
                Opcode::BINARY
            } else {
                Opcode::TEXT
            };
            let want = super::reuse::sent(corpus, echoes.len, sent, message);
            echoes.in_flight.push_back(want);
            echoes.in_flight_bytes += message.len();
            echoes.summary.sent += 1;
            echoes.summary.plain += message.len() as u64;
            let mut compressed = std::mem::take(&mut echoes.compressed);
            compressed.clear();
            let fragment_size = echoes.fragment_size;
            let len = echoes.len;
            match &mut self.deflater {
                Some(deflater) => {
                    let done = super::reuse::compress(
                        deflater,
                        corpus,
                        len,
                        sent,
                        message,
                        &mut compressed,
                    );
                    if let Err(e) = done {
                        self.notes
                            .push(format!("{} could not compress: {e}", own_name(role)));
                        self.computed = Some(Behavior::Failed);
                        self.send_close(1000u16.to_be_bytes().to_vec(), false).await;
                        return;
                    }
                    deflater.frames(opcode, &compressed, fragment_size, &mut self.pending);
                }
                None => {
                    compressed.extend_from_slice(message);
                    append_frames(
                        role,
                        opcode,
                        Rsv::NONE,
                        &compressed,
                        fragment_size,
                        &mut self.pending,
                    );
                }
            }
            if let Some(echoes) = self.echoes.as_mut() {
                echoes.summary.wire += compressed.len() as u64;
                echoes.compressed = compressed;
                echoes.plain = plain;
            }
        }
        self.flush().await;
    }

    /// One echo of [`Step::Echoes`]: it must be the oldest message in flight.
    async fn on_echo(&mut self, binary: bool, data: MessageData) {
        let Some(echoes) = self.echoes.as_mut() else {
            self.notes.push(format!(
                "{} sent a message before any was sent to it",
                peer_name(self.role)
            ));
            self.computed = Some(Behavior::Failed);
            self.mark_if_failed_for_good();
            self.send_close(1000u16.to_be_bytes().to_vec(), false).await;
            return;
        };
        let number = echoes.summary.echoed + 1;
        let want_binary = echoes.corpus.binary();
        let problem = match echoes.in_flight.pop_front() {
            None => Some(format!(
                "message {number} arrived, but only {} of {} were sent",
                echoes.summary.sent, echoes.count
            )),
            Some(want) => {
                echoes.in_flight_bytes = echoes.in_flight_bytes.saturating_sub(want.len());
                if binary != want_binary {
                    Some(format!(
                        "echo {number} of {}: a {} message where a {} one was sent",
                        echoes.count,
                        kind(binary),
                        kind(want_binary)
                    ))
                } else if data.len() != want.len() {
                    Some(format!(
                        "echo {number} of {}: {} bytes where {} were sent",
                        echoes.count,
                        data.len(),
                        want.len()
                    ))
                } else if data != want {
                    Some(format!(
                        "echo {number} of {}: {} bytes as sent, but different ones (digest {:016x}, sent {:016x})",
                        echoes.count,
                        data.len(),
                        data.digest(),
                        want.digest()
                    ))
                } else {
                    None
                }
            }
        };
        if let Some(problem) = problem {
            self.notes.push(problem);
            self.computed = Some(Behavior::Failed);
            self.mark_if_failed_for_good();
            self.send_close(1000u16.to_be_bytes().to_vec(), false).await;
            return;
        }
        echoes.summary.echoed = number;
        // An echo is progress: the case's --check-timeout counts from here.
        crate::runner::made_progress();
        if number == echoes.count {
            self.computed = Some(Behavior::Ok);
            self.send_close(1000u16.to_be_bytes().to_vec(), false).await;
        } else {
            self.send_echoes().await;
        }
    }

    /// The fuzzer's own deadlines, each when it falls due: a pause ended once
    /// what it waits for has arrived (`answered.rs`), a pause or the case's
    /// timer hurried once `behavior` is FAILED for good (`sealed.rs`), the close
    /// timers as they are.
    fn deadlines(&self) -> [Option<(Instant, Due)>; 4] {
        let hurry = self.hurry_at();
        let hurried = |at: Instant| hurry.map_or(at, |h| at.min(h));
        let answered = |at: Instant| self.answered_at.map_or(at, |a| at.min(a));
        [
            self.resume_at
                .map(|at| (answered(hurried(at)), Due::Resume)),
            // The case's remaining frames go out (and are answered) first.
            self.timer.map(|(at, _)| {
                let at = if self.resume_at.is_none() {
                    hurried(at)
                } else {
                    at
                };
                (at, Due::Timer)
            }),
            self.close_deadline.map(|at| (at, Due::CloseAnswer)),
            self.drop_deadline.map(|at| (at, Due::TcpClose)),
        ]
    }

    /// When the next deadline falls due.
    fn next_deadline(&self) -> Option<Instant> {
        self.deadlines()
            .into_iter()
            .flatten()
            .map(|(at, _)| at)
            .min()
    }

    /// Runs the deadlines that have fallen due, earliest first, as Autobahn's
    /// timer callbacks run: one that ends the connection disarms the rest (a kill
    /// timer that drops TCP a moment before the server-drop timeout leaves the
    /// close clean, as in Autobahn).
    async fn on_time(&mut self) {
        while self.state != State::Closed {
            let now = Instant::now();
            let Some((at, due)) = self
                .deadlines()
                .into_iter()
                .flatten()
                .filter(|(at, _)| *at <= now)
                .min_by_key(|(at, _)| *at)
            else {
                return;
            };
            match due {
                Due::Resume => {
                    if let Some(set) = self.resume_at
                        && set > at
                    {
                        if self.answered_at.is_some_and(|a| a <= at) {
                            self.cut_answered(set - at);
                        } else {
                            self.cut_short("the pause before the case's next frames", set - at);
                        }
                    }
                    self.resume().await;
                }
                Due::Timer => self.on_timer(at).await,
                Due::CloseAnswer => {
                    self.close_deadline = None;
                    self.notes.push(format!(
                        "no Close came back within 1 s of {}'s Close",
                        own_name(self.role)
                    ));
                    self.timed_out = true;
                    self.drop_tcp().await;
                }
                Due::TcpClose => {
                    self.drop_deadline = None;
                    self.notes.push(format!(
                        "{} did not close TCP within 1 s of the close handshake",
                        peer_name(self.role)
                    ));
                    self.timed_out = true;
                    self.drop_tcp().await;
                }
            }
        }
    }

    /// The case's timer fires (at `at`, before it was set for if hurried).
    async fn on_timer(&mut self, at: Instant) {
        let Some((set, timer)) = self.timer.take() else {
            return;
        };
        if set > at {
            let name = match timer {
                Timer::KillAfter(_) => "the case's kill timer",
                Timer::CloseAfter(_) => "the case's close timer",
            };
            self.cut_short(name, set - at);
        }
        match (timer, self.state) {
            (Timer::KillAfter(_), State::Open) => {
                self.fail(
                    1001,
                    "the case's kill timer fired with the connection open".into(),
                )
                .await;
            }
            (Timer::KillAfter(_), State::Closing) => {
                self.notes.push(format!(
                    "{} had not closed TCP when the case's kill timer fired",
                    peer_name(self.role)
                ));
                self.drop_tcp().await;
            }
            (Timer::CloseAfter(d), State::Open) => {
                if let Some(echoes) = &self.echoes {
                    self.notes.push(format!(
                        "the case did not finish within {} s: {} of {} messages echoed",
                        d.as_secs(),
                        echoes.summary.echoed,
                        echoes.count
                    ));
                }
                self.notes
                    .push("the case's close timer fired with the connection open".into());
                self.send_close(Vec::new(), false).await;
            }
            _ => {}
        }
    }

    /// Autobahn's grading when the connection is lost (§1.4, §1.5).
    fn grade(&self) -> (Behavior, CloseBehavior) {
        self.grade_ending(self.timed_out, self.dropped_by_me)
    }

    /// The grades if the connection were lost now, with these two flags, which
    /// are the ones how TCP ends still sets: whether the probe gave up waiting
    /// (`wasClean` false) and whether it closed TCP itself.
    fn grade_ending(&self, timed_out: bool, dropped_by_me: bool) -> (Behavior, CloseBehavior) {
        let expect = &self.case.close;
        let was_clean = self.sent_close && self.received_close && !timed_out;
        let behavior_close = if self.closed_by_me != expect.by_fuzzer {
            CloseBehavior::Failed
        } else if expect.clean && !was_clean {
            CloseBehavior::Unclean
        } else if self
            .remote_close_code
            .is_some_and(|c| !expect.codes.contains(&c))
        {
            CloseBehavior::WrongCode
        } else if dropped_by_me && self.role == Role::Client {
            // Only a client is at fault for closing TCP itself: a server is
            // to (Autobahn's server role never gives FAILED BY CLIENT).
            CloseBehavior::FailedByClient
        } else {
            CloseBehavior::Ok
        };
        let mut behavior = match &self.case.expect {
            Expectation::Informational => {
                return (Behavior::Informational, CloseBehavior::Informational);
            }
            Expectation::Events { ok, non_strict } => {
                if equals(&self.received, ok) {
                    Behavior::Ok
                } else if non_strict
                    .as_ref()
                    .is_some_and(|n| equals(&self.received, n))
                {
                    Behavior::NonStrict
                } else {
                    Behavior::Failed
                }
            }
            Expectation::Length { .. } | Expectation::RoundTrips | Expectation::Echoes => {
                self.computed.unwrap_or(Behavior::Failed)
            }
        };
        if self.not_recorded > 0 || self.close_fails_behavior(behavior_close) {
            behavior = Behavior::Failed;
        }
        (behavior, behavior_close)
    }

    /// Whether the case's overrides make `behavior` FAILED with this close grade,
    /// whatever the events (§1.4): the wrong side closed in a UTF-8 case, or a
    /// wrong close code in group 7.
    fn close_fails_behavior(&self, behavior_close: CloseBehavior) -> bool {
        let expect = &self.case.close;
        (expect.wrong_endpoint_fatal && self.closed_by_me != expect.by_fuzzer)
            || (expect.wrong_code_fatal && behavior_close == CloseBehavior::WrongCode)
    }
}

/// Whether the recorded events equal the expected ones exactly (messages by
/// type, length, digest and first bytes: see [`MessageData`]).
fn equals(received: &[Event], expected: &[Expected]) -> bool {
    received.len() == expected.len() && begins(received, expected)
}

/// Whether the recorded events are the first ones expected (so that more events
/// could still make them equal).
fn begins(received: &[Event], expected: &[Expected]) -> bool {
    received.len() <= expected.len()
        && received.iter().zip(expected).all(|(r, e)| match (r, e) {
            (Event::Message { binary, data }, Expected::Message { binary: b, data: d }) => {
                binary == b && data.len() == d.len() && *data == d.message_data()
            }
            (Event::Pong(p), Expected::Pong(q)) => p == q,
            (Event::Timeout(t), Expected::Timeout(u)) => t == u,
            _ => false,
        })
}

fn kind(binary: bool) -> &'static str {
    if binary { "binary" } else { "text" }
}

fn reason_suffix(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(" {reason:?}")
    }
}

impl Fuzzer<'_> {
    /// A control frame from the fuzzer, FIN set, no RSV bit.
    fn control(&self, opcode: Opcode, payload: &[u8]) -> Vec<u8> {
        frame_from(self.role, true, opcode, Rsv::NONE, payload)
    }
}

/// The frames of a message from `sender` sent with `fragment_size`, as
/// Autobahn's `sendMessage` cuts it: frames of `fragment_size` bytes, FIN on the
/// one whose end passes the payload's end, so a length that is a multiple of the
/// size ends with an extra empty FIN frame.
pub fn message_frames(
    sender: Role,
    opcode: Opcode,
    payload: &[u8],
    fragment_size: Option<usize>,
) -> Vec<Vec<u8>> {
    let size = match fragment_size {
        Some(size) if size > 0 && payload.len() > size => size,
        _ => return vec![frame_from(sender, true, opcode, Rsv::NONE, payload)],
    };
    let mut frames = Vec::new();
    let mut start = 0;
    loop {
        let end = (start + size).min(payload.len());
        let fin = start + size > payload.len();
        let op = if start == 0 {
            opcode
        } else {
            Opcode::CONTINUATION
        };
        frames.push(frame_from(
            sender,
            fin,
            op,
            Rsv::NONE,
            payload.get(start..end).unwrap_or_default(),
        ));
        if fin {
            return frames;
        }
        start += size;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client frame, as the probe sends it.
    fn frame(opcode: u8, fin: bool, rsv: u8, payload: &[u8]) -> Vec<u8> {
        frame_from(
            Role::Client,
            fin,
            Opcode::from_bits(opcode),
            Rsv::from_bits(rsv),
            payload,
        )
    }

    fn headers(frames: &[Vec<u8>]) -> Vec<(u8, usize)> {
        frames
            .iter()
            .map(|f| (f[0], usize::from(f[1] & 0x7F)))
            .collect()
    }

    #[test]
    fn autobahn_rsv_numbers_are_bits_from_rsv3_up() {
        assert_eq!(frame(1, true, 1, b"x")[0], 0x91);
        assert_eq!(frame(1, true, 2, b"x")[0], 0xA1);
        assert_eq!(frame(1, true, 4, b"x")[0], 0xC1);
        assert_eq!(frame(8, true, 7, b"")[0], 0xF8);
        assert_eq!(frame(2, true, 5, b"")[0], 0xD2);
    }

    #[test]
    fn frames_are_masked_with_the_minimal_length() {
        let f = frame(9, true, 0, &[0xFE; 126]);
        assert_eq!(f[1], 0x80 | 126, "a 126-byte ping needs a 16-bit length");
        assert_eq!(f.len(), 2 + 2 + 4 + 126);
        let f = frame(1, true, 0, &[]);
        assert_eq!(
            f,
            [0x81, 0x80, f[2], f[3], f[4], f[5]],
            "mask key even when empty"
        );
    }

    #[test]
    fn a_multiple_of_the_fragment_size_ends_with_an_empty_fin_frame() {
        // 6.2.4: 11 one-byte frames, all FIN=0, then an empty continuation FIN=1.
        let frames = message_frames(Role::Client, Opcode::TEXT, &[b'a'; 11], Some(1));
        assert_eq!(frames.len(), 12);
        let h = headers(&frames);
        assert_eq!(h[0], (0x01, 1));
        assert!(h[1..11].iter().all(|&x| x == (0x00, 1)));
        assert_eq!(h[11], (0x80, 0));
        // 10.1.1: 65536 in 1300: 50 full frames then 536 bytes with FIN.
        let frames = message_frames(Role::Client, Opcode::TEXT, &[b'*'; 65536], Some(1300));
        assert_eq!(frames.len(), 51);
        assert_eq!(frames[50][0], 0x80);
        // 9.3.9: the size equals the length: one frame.
        assert_eq!(
            message_frames(Role::Client, Opcode::TEXT, &[0; 64], Some(64)).len(),
            1
        );
    }

    #[test]
    fn repeated_payloads_end_with_a_partial_copy() {
        let p = Payload::Repeat {
            pattern: b"BAsd7&jh23",
            len: 65536,
        };
        let bytes = p.to_bytes();
        assert_eq!(bytes.len(), 65536);
        assert_eq!(&bytes[65530..], b"BAsd7&");
    }
}
