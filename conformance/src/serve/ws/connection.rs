//! One upgraded connection, on the wire layer the probe and the host use
//! ([`WsConnection`] in the server role): its reader, the framing crate's
//! [`FrameStream`](pulsecheck_ws::streaming::FrameStream) set for client frames,
//! decodes what the client sends; the connection echoes messages, answers pings,
//! and closes, with the framing faults applied.

use std::collections::VecDeque;
use std::io;
use std::time::Duration;

use pulsecheck_ws::deflate::{Agreement, FrameCompression, Rsv1Error, check_rsv1};
use pulsecheck_ws::streaming::Piece;
use pulsecheck_ws::{
    Assembled, CloseCode, FrameHeader, MessageKind, Opcode, ProtocolError, Role, Rsv, Status,
    decode_header, encode_frame, write_close_body,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::{Instant, sleep, sleep_until, timeout};

use super::WsServerConfig;
use super::deflate::ServerCodecs;
use super::fault::{
    ECHO_FRAGMENTS, ECHOES_BEFORE_STOPPING, Fault, LATE_PONG, MAX_LATE_PONGS, SERVER_MASK,
    SLOW_ECHO,
};
use crate::serve::stopped;
use crate::ws::connection::{WsConnection, mask_for};

/// Where the buffers start, and what they shrink back to after a big message.
const BUFFER_START: usize = 64 * 1024;

/// A buffer this large is given back once it is mostly empty again (after a big
/// message).
const SHRINK_ABOVE: usize = 4 << 20;

/// How long the server keeps reading (and discarding) after it has closed its
/// side, waiting for the client to close its side too.
const CLOSE_LINGER: Duration = Duration::from_secs(2);

/// How long the Close of a server that stops may take to leave.
const GOING_AWAY_WRITE: Duration = Duration::from_secs(1);

/// The payload of the pings [`WsServerConfig::ping_interval`] sends.
const IDLE_PING: &[u8] = b"pulsecheck idle ping";

/// Room kept in front of a message being received for the header of its echo:
/// the longest unmasked header (2 bytes, and 8 of extended length).
const HEADROOM: usize = 10;

/// From this size on, an echo is sent from where the message was received,
/// after what is queued, instead of being copied into the queue.
const ECHO_IN_PLACE: usize = 64 * 1024;

/// What [`Connection::process`] came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Everything that has arrived is handled: wait for more.
    NeedBytes,
    /// An echo is ready, in place or queued: send it (after [`SLOW_ECHO`] for
    /// [`Fault::SlowEchoes`]), then go on handling what has arrived.
    SendEcho,
    /// A frame decided how the connection ends.
    End(End),
}

/// How the connection ends, once a frame has decided it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The client sent a valid Close and the server answered it.
    Replied,
    /// The client broke a rule; the server sent its Close.
    Failed,
    /// The client sent a Close and [`Fault::DropsOnClose`] answers nothing.
    Dropped,
    /// A message arrived after [`ECHOES_BEFORE_STOPPING`] echoes and
    /// [`Fault::StopsEchoing`] stops answering.
    Stuck,
}

/// The state of one upgraded connection.
pub(crate) struct Connection {
    /// The wire: what the client sent, decoded by the shared reader; what the
    /// server sends.
    conn: WsConnection,
    fault: Option<Fault>,
    ping_interval: Option<Duration>,
    idle_timeout: Option<Duration>,
    /// Bytes to send.
    out: Vec<u8>,
    /// The data message being received: [`HEADROOM`] bytes, then its payload so
    /// far, echoed when it is complete (at most `max_message_size` bytes: the
    /// reader refuses more from the length fields).
    message: Vec<u8>,
    /// Where the echo built in place in `message` starts, once it is ready to
    /// be sent after `out`.
    echo_at: Option<usize>,
    /// Whether the reader is inside a data frame (between its header and its
    /// end); otherwise the next unread byte starts a frame.
    in_frame: bool,
    /// Whether an input-rewriting fault has already looked at the header of the
    /// frame the reader takes next.
    header_rewritten: bool,
    /// The codecs of permessage-deflate, when it was agreed.
    codecs: Option<ServerCodecs>,
    /// Whether the message in progress is compressed (its first frame had RSV1).
    compressed: bool,
    /// The compressed payload of an echo.
    deflated: Vec<u8>,
    /// Whether the message in progress was sent as text and rewritten as binary by
    /// [`Fault::SkipsUtf8Validation`] or [`Fault::Utf8AtMessageEnd`].
    text_as_binary: bool,
    /// How many messages have been echoed, counted for [`Fault::StopsEchoing`].
    echoed: usize,
    /// Pongs [`Fault::PongsLate`] holds, with the time each is due.
    late_pongs: VecDeque<(Instant, Vec<u8>)>,
    /// When the client last sent anything (or the server last pinged it).
    last_heard: Instant,
    /// When the client last sent anything (the server's pings do not count).
    last_received: Instant,
}

impl Connection {
    /// A connection whose handshake is done: `tcp` after the 101 was sent;
    /// `leftover` are the bytes the client sent after its request head;
    /// `agreement` the permessage-deflate parameters agreed, if any.
    pub(crate) fn new(
        tcp: TcpStream,
        config: &WsServerConfig,
        leftover: Vec<u8>,
        agreement: Option<Agreement>,
    ) -> Self {
        // A server reads client frames: the reader is set for the client's role,
        // so every frame must be masked (RFC 6455 §5.1). No RSV bit is allowed
        // unless permessage-deflate was agreed, which gives RSV1 a meaning (§5.2;
        // RFC 7692 §6). The message limit bounds frames too (compressed, as they
        // come; the inflater bounds them inflated).
        let mut conn = WsConnection::over(Box::new(tcp), Role::Server, leftover)
            .limit_messages(config.max_message_size);
        if agreement.is_some() {
            conn = conn.allow_rsv(Rsv::RSV1);
        }
        let max_inflated = usize::try_from(config.max_message_size).unwrap_or(usize::MAX);
        Self {
            conn,
            codecs: agreement.map(|a| ServerCodecs::new(&a, max_inflated, config.fault)),
            compressed: false,
            deflated: Vec::new(),
            fault: config.fault,
            ping_interval: config.ping_interval,
            idle_timeout: config.idle_timeout,
            out: Vec::new(),
            message: Vec::new(),
            echo_at: None,
            in_frame: false,
            header_rewritten: false,
            text_as_binary: false,
            echoed: 0,
            late_pongs: VecDeque::new(),
            last_heard: Instant::now(),
            last_received: Instant::now(),
        }
    }

    /// Serves the connection until it ends or the server stops.
    pub(crate) async fn run(mut self, stop: &mut watch::Receiver<bool>) {
        loop {
            let step = self.process();
            if step == Step::SendEcho && self.fault == Some(Fault::SlowEchoes) {
                tokio::select! {
                    () = sleep(SLOW_ECHO) => {}
                    () = stopped(stop) => return,
                }
            }
            if self.flush(stop).await.is_err() {
                return;
            }
            match step {
                Step::NeedBytes => {}
                Step::SendEcho => continue,
                Step::End(End::Replied) if self.fault == Some(Fault::NeverClosesTcp) => {
                    self.hold_open(stop).await;
                    return;
                }
                Step::End(End::Stuck) => {
                    self.hold_open(stop).await;
                    return;
                }
                Step::End(End::Replied | End::Failed | End::Dropped) => {
                    self.linger_close(stop).await;
                    return;
                }
            }
            let pong_due = self.late_pongs.front().map(|(due, _)| *due);
            let ping_due = self
                .ping_interval
                .and_then(|every| self.last_heard.checked_add(every));
            let idle_due = self
                .idle_timeout
                .and_then(|after| self.last_received.checked_add(after));
            tokio::select! {
                () = stopped(stop) => {
                    // RFC 6455 §7.4.1: 1001 "indicates that an endpoint is "going
                    // away", such as a server going down".
                    write_close(&mut self.out, self.fault, CloseCode::GOING_AWAY);
                    let _sent = timeout(GOING_AWAY_WRITE, self.conn.send_raw(&self.out)).await;
                    self.conn.shutdown_tcp().await;
                    return;
                }
                // The client went away without a closing handshake when this is
                // false.
                more = self.conn.receive() => {
                    if !more {
                        return;
                    }
                    self.last_heard = Instant::now();
                    self.last_received = self.last_heard;
                }
                () = sleep_until(pong_due.unwrap_or_else(Instant::now)), if pong_due.is_some() => {
                    self.send_due_pongs();
                }
                () = sleep_until(ping_due.unwrap_or_else(Instant::now)), if ping_due.is_some() => {
                    write_frame(&mut self.out, self.fault, true, Opcode::PING, IDLE_PING);
                    self.last_heard = Instant::now();
                }
                () = sleep_until(idle_due.unwrap_or_else(Instant::now)), if idle_due.is_some() => {
                    // RFC 6455 §7.4.1: 1001 "indicates that an endpoint is "going
                    // away""; the server closes TCP first (§7.1.1).
                    write_close(&mut self.out, self.fault, CloseCode::GOING_AWAY);
                    if self.flush(stop).await.is_ok() {
                        self.linger_close(stop).await;
                    }
                    return;
                }
            }
        }
    }

    /// Handles every piece the reader can decode from what has arrived, queueing
    /// the answers in `out`, until it needs more bytes, an echo built in place is
    /// to be sent, or a frame decides how the connection ends.
    fn process(&mut self) -> Step {
        loop {
            if !self.in_frame && !self.rewrite() {
                return Step::NeedBytes;
            }
            let fault = self.fault;
            let piece = match self.conn.next_piece() {
                Ok(Status::Partial) => return Step::NeedBytes,
                Ok(Status::Complete(piece)) => piece,
                Err(violation) => {
                    // RFC 6455 §7.1.7: "An endpoint MUST NOT continue to attempt to
                    // process data (including a responding Close frame) from the remote
                    // endpoint after being instructed to _Fail the WebSocket
                    // Connection_." The code is the framing crate's one table:
                    // 1007 for invalid UTF-8, 1009 above the size limit, 1002 otherwise.
                    let code = match (fault, violation.error) {
                        (
                            Some(Fault::EchoesInvalidCloseCodes),
                            ProtocolError::InvalidCloseCode { code },
                        ) => code,
                        _ => violation.close_code(),
                    };
                    write_close(&mut self.out, fault, code);
                    return Step::End(End::Failed);
                }
            };
            match piece {
                Piece::Header { header, .. } => {
                    self.in_frame = true;
                    self.header_rewritten = false;
                    if self.codecs.is_some() {
                        match rsv1(fault, &header) {
                            Ok(FrameCompression::CompressedMessage) => self.compressed = true,
                            Ok(FrameCompression::UncompressedMessage) => self.compressed = false,
                            Ok(FrameCompression::NotAMessageStart) => {}
                            Err(code) => {
                                write_close(&mut self.out, fault, code);
                                return Step::End(End::Failed);
                            }
                        }
                    }
                    if header.opcode != Opcode::CONTINUATION {
                        self.message.clear();
                        self.message.resize(HEADROOM, 0);
                        // The first frame's length is known (and within the limit):
                        // the whole message when it is the only frame.
                        let first = usize::try_from(header.payload_len).unwrap_or(0);
                        self.message.reserve(first);
                    }
                }
                Piece::Payload(bytes) => self.message.extend_from_slice(bytes),
                Piece::End(end) => {
                    self.in_frame = false;
                    let Some(message) = end.message else {
                        continue;
                    };
                    if fault == Some(Fault::StopsEchoing) && self.echoed >= ECHOES_BEFORE_STOPPING {
                        return Step::End(End::Stuck);
                    }
                    self.echoed = self.echoed.saturating_add(1);
                    let text = message.kind == MessageKind::Text || self.text_as_binary;
                    let data = self.message.get(HEADROOM..).unwrap_or_default();
                    let opcode = if text { Opcode::TEXT } else { Opcode::BINARY };
                    if let Some(codecs) = &mut self.codecs {
                        self.deflated.clear();
                        if let Err(e) = codecs.echo(data, self.compressed, text, &mut self.deflated)
                        {
                            write_close(&mut self.out, fault, e.close_code());
                            return Step::End(End::Failed);
                        }
                        //= RFC 7692 §6.1: the compressed echo has RSV1 on its first
                        //= frame, and on no other.
                        echo(&mut self.out, fault, opcode, Rsv::RSV1, &self.deflated);
                        self.compressed = false;
                        self.release_message();
                        if self.deflated.capacity() > SHRINK_ABOVE {
                            self.deflated = Vec::new();
                        }
                        if fault == Some(Fault::SlowEchoes) {
                            return Step::SendEcho;
                        }
                        continue;
                    }
                    if text
                        && fault == Some(Fault::Utf8AtMessageEnd)
                        && core::str::from_utf8(data).is_err()
                    {
                        write_close(&mut self.out, fault, CloseCode::INVALID_PAYLOAD);
                        return Step::End(End::Failed);
                    }
                    if data.len() >= ECHO_IN_PLACE
                        && let Some(at) = echo_in_place(&mut self.message, fault, opcode)
                    {
                        self.echo_at = Some(at);
                        return Step::SendEcho;
                    }
                    let data = self.message.get(HEADROOM..).unwrap_or_default();
                    echo(&mut self.out, fault, opcode, Rsv::NONE, data);
                    self.release_message();
                    if fault == Some(Fault::SlowEchoes) {
                        return Step::SendEcho;
                    }
                }
                Piece::Control { header, event, .. } => {
                    self.header_rewritten = false;
                    if self.codecs.is_some()
                        && let Err(code) = rsv1(fault, &header)
                    {
                        write_close(&mut self.out, fault, code);
                        return Step::End(End::Failed);
                    }
                    match event {
                        // RFC 6455 §5.5.3: "A response to an unsolicited Pong frame is
                        // not expected."
                        Assembled::Pong(_) | Assembled::Fragment | Assembled::Message(_) => {}
                        // RFC 6455 §5.5.2: "Upon receipt of a Ping frame, an endpoint MUST
                        // send a Pong frame in response, unless it already received a Close
                        // frame. It SHOULD respond with Pong frame as soon as is
                        // practical." and §5.5.3: "A Pong frame sent in response to a Ping
                        // frame must have identical "Application data" as found in the
                        // message body of the Ping frame being replied to." The pong leaves
                        // with this batch of frames, before the server waits for more
                        // bytes: between fragments too.
                        Assembled::Ping(payload) => match fault {
                            Some(Fault::NoPong) => {}
                            Some(Fault::PongsLate) => {
                                if self.late_pongs.len() < MAX_LATE_PONGS {
                                    self.late_pongs
                                        .push_back((Instant::now() + LATE_PONG, payload.to_vec()));
                                }
                            }
                            _ => write_frame(&mut self.out, fault, true, Opcode::PONG, payload),
                        },
                        // RFC 6455 §5.5.1: "If an endpoint receives a Close frame and did
                        // not previously send a Close frame, the endpoint MUST send a Close
                        // frame in response. (When sending a Close frame in response, the
                        // endpoint typically echos the status code it received.)" An empty
                        // body has no code to echo: 1000 (normal closure) then.
                        Assembled::Close(close) => {
                            if fault == Some(Fault::DropsOnClose) {
                                return Step::End(End::Dropped);
                            }
                            let code = if fault == Some(Fault::ClosesWith1005) {
                                CloseCode::NO_STATUS_RECEIVED
                            } else {
                                close.code.unwrap_or(CloseCode::NORMAL)
                            };
                            write_close(&mut self.out, fault, code);
                            return Step::End(End::Replied);
                        }
                    }
                }
            }
        }
    }

    /// Applies an input-rewriting fault to the next frame, at the front of the
    /// unread bytes, once its header is complete; returns whether the reader may
    /// look at the frame. Called between frames only.
    ///
    /// The reader stays the shared one, unchanged: the faults change what it is
    /// given. [`Fault::AcceptsUnmaskedFrames`] sets the MASK bit of an unmasked
    /// frame and inserts an all-zero key (XOR with zero leaves the payload as
    /// sent); [`Fault::SkipsUtf8Validation`] and [`Fault::Utf8AtMessageEnd`] turn a
    /// text frame into a binary one (which the reader does not validate) and
    /// remember that the message was text.
    fn rewrite(&mut self) -> bool {
        let Some(fault) = self.fault.filter(|f| f.rewrites_input()) else {
            return true;
        };
        if self.header_rewritten {
            return true;
        }
        let unread = self.conn.unread_mut();
        // The whole header first: the reader decides the mask rule at the second
        // byte, before an unmasked header could be rewritten.
        let Status::Complete((header, header_len)) = decode_header(unread) else {
            return false;
        };
        self.header_rewritten = true;
        if fault == Fault::AcceptsUnmaskedFrames {
            if header.mask.is_none() {
                if let Some(second) = unread.get_mut(1) {
                    *second |= 0x80;
                }
                unread.splice(header_len..header_len, [0_u8; 4]);
            }
        } else if header.opcode == Opcode::TEXT && header.rsv.is_empty() {
            if let Some(first) = unread.get_mut(0) {
                *first = (*first & 0xF0) | Opcode::BINARY.get();
            }
            self.text_as_binary = true;
        } else if header.opcode == Opcode::BINARY {
            self.text_as_binary = false;
        }
        true
    }

    /// Queues the late pongs that are due.
    fn send_due_pongs(&mut self) {
        let now = Instant::now();
        while let Some((due, _)) = self.late_pongs.front() {
            if *due > now {
                break;
            }
            if let Some((_, payload)) = self.late_pongs.pop_front() {
                write_frame(&mut self.out, self.fault, true, Opcode::PONG, &payload);
            }
        }
    }

    /// Forgets the message just echoed, and gives memory back after a big one.
    fn release_message(&mut self) {
        self.message.clear();
        if self.message.capacity() > SHRINK_ABOVE {
            // Freed, not shrunk: the allocator may then keep the block for the next
            // big message instead of mapping fresh pages for it.
            self.message = Vec::new();
        }
    }

    /// Sends what is queued, then the echo built in place if one is ready,
    /// unless the server stops first.
    async fn flush(&mut self, stop: &mut watch::Receiver<bool>) -> io::Result<()> {
        if !self.out.is_empty() {
            tokio::select! {
                written = self.conn.send_raw(&self.out) => written?,
                () = stopped(stop) => return Err(io::ErrorKind::Interrupted.into()),
            }
            self.out.clear();
            if self.out.capacity() > SHRINK_ABOVE {
                self.out.shrink_to(BUFFER_START);
            }
        }
        if let Some(at) = self.echo_at.take() {
            let frame = self.message.get(at..).unwrap_or_default();
            tokio::select! {
                written = self.conn.send_raw(frame) => written?,
                () = stopped(stop) => return Err(io::ErrorKind::Interrupted.into()),
            }
            self.release_message();
        }
        Ok(())
    }

    /// Closes the server's side of TCP, then reads and discards until the client
    /// closes its side (at most [`CLOSE_LINGER`]), as [`linger_close`] does.
    async fn linger_close(&mut self, stop: &mut watch::Receiver<bool>) {
        self.conn.shutdown_tcp().await;
        let deadline = Instant::now() + CLOSE_LINGER;
        tokio::select! {
            _ = self.conn.discard_until_eof(deadline) => {}
            () = stopped(stop) => {}
        }
    }

    /// [`Fault::NeverClosesTcp`] and [`Fault::StopsEchoing`]: reads and discards
    /// until the client closes the connection (or the server stops).
    async fn hold_open(&mut self, stop: &mut watch::Receiver<bool>) {
        // Far enough never to matter: the client or the server ends it.
        let far = Instant::now() + Duration::from_secs(86_400);
        tokio::select! {
            _ = self.conn.discard_until_eof(far) => {}
            () = stopped(stop) => {}
        }
    }
}

/// Closes the server's side of `tcp`, then reads and discards until the client
/// closes its side (at most [`CLOSE_LINGER`]).
///
/// RFC 6455 §7.1.1: "the server SHOULD close the underlying TCP connection first";
/// the FIN goes now. Reading on until the client's FIN keeps the socket from being
/// dropped with unread bytes, which would send a reset that can destroy the
/// server's last frames before the client reads them.
pub(crate) async fn linger_close(tcp: &mut TcpStream, stop: &mut watch::Receiver<bool>) {
    let _closed = tcp.shutdown().await;
    let mut scratch = vec![0_u8; 4096];
    let drain = async {
        loop {
            match tcp.read(&mut scratch).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    };
    tokio::select! {
        _ = timeout(CLOSE_LINGER, drain) => {}
        () = stopped(stop) => {}
    }
}

/// RFC 7692 §6.1 on a frame of a compressing connection: what its RSV1 says,
/// or the close code when the bit is where it must not be. The RSV1 faults
/// take such a frame as if the bit were clear.
fn rsv1(fault: Option<Fault>, header: &FrameHeader) -> Result<FrameCompression, CloseCode> {
    //= RFC 7692 §6.1: "An endpoint MUST NOT set the "Per-Message Compressed" bit
    //= of control frames and non-first fragments of a data message. An endpoint
    //= receiving such a frame MUST _Fail the WebSocket Connection_."
    match check_rsv1(header.opcode, header.rsv, true) {
        Ok(compression) => Ok(compression),
        Err(Rsv1Error::OnControlFrame(_)) if fault == Some(Fault::IgnoresRsv1OnControl) => {
            Ok(FrameCompression::NotAMessageStart)
        }
        Err(Rsv1Error::OnContinuation) if fault == Some(Fault::IgnoresRsv1OnContinuation) => {
            Ok(FrameCompression::NotAMessageStart)
        }
        Err(e) => Err(e.close_code()),
    }
}

/// Queues one frame as the server sends it: unmasked (RFC 6455 §5.1: "A server
/// MUST NOT mask any frames that it sends to the client."), except that
/// [`Fault::MasksServerFrames`] masks it with [`SERVER_MASK`].
fn write_frame(out: &mut Vec<u8>, fault: Option<Fault>, fin: bool, opcode: Opcode, payload: &[u8]) {
    write_frame_rsv(out, fault, fin, opcode, Rsv::NONE, payload);
}

/// Queues one frame as [`write_frame`] does, with `rsv` set.
fn write_frame_rsv(
    out: &mut Vec<u8>,
    fault: Option<Fault>,
    fin: bool,
    opcode: Opcode,
    rsv: Rsv,
    payload: &[u8],
) {
    let mut header = FrameHeader::new(opcode, payload.len() as u64);
    header.fin = fin;
    header.rsv = rsv;
    header.mask = if fault == Some(Fault::MasksServerFrames) {
        Some(SERVER_MASK)
    } else {
        mask_for(Role::Server)
    };
    // The minimal length encoding holds every length: this cannot fail.
    let _written = encode_frame(out, &header, payload);
}

/// Turns `message` ([`HEADROOM`] bytes, then a payload) into the echo of the
/// payload, one frame with `opcode`, by writing its header into the headroom;
/// returns where the frame starts. `None` (nothing changed) when the echo is not
/// one unmasked frame: [`Fault::FragmentsEcho`], [`Fault::MasksServerFrames`].
fn echo_in_place(message: &mut [u8], fault: Option<Fault>, opcode: Opcode) -> Option<usize> {
    if matches!(fault, Some(Fault::FragmentsEcho | Fault::MasksServerFrames))
        || mask_for(Role::Server).is_some()
    {
        return None;
    }
    let len = message.len().checked_sub(HEADROOM)?;
    let mut header_bytes = Vec::with_capacity(HEADROOM);
    FrameHeader::new(opcode, len as u64)
        .write(&mut header_bytes)
        .ok()?;
    let at = HEADROOM.checked_sub(header_bytes.len())?;
    message
        .get_mut(at..HEADROOM)?
        .copy_from_slice(&header_bytes);
    Some(at)
}

/// Queues a Close carrying `code` and no reason.
fn write_close(out: &mut Vec<u8>, fault: Option<Fault>, code: CloseCode) {
    let mut body = Vec::with_capacity(2);
    write_close_body(&mut body, code, b"");
    write_frame(out, fault, true, Opcode::CLOSE, &body);
}

/// Queues the echo of a message: one frame with the message's opcode, or, for
/// [`Fault::FragmentsEcho`], [`ECHO_FRAGMENTS`] frames (two for a message of one
/// byte or none); `rsv` on the first frame only (RSV1 for a compressed echo).
fn echo(out: &mut Vec<u8>, fault: Option<Fault>, opcode: Opcode, rsv: Rsv, data: &[u8]) {
    if fault != Some(Fault::FragmentsEcho) {
        write_frame_rsv(out, fault, true, opcode, rsv, data);
        return;
    }
    // RFC 6455 §5.4: "A fragmented message consists of a single frame with the FIN bit
    // clear and an opcode other than 0, followed by zero or more frames with the FIN
    // bit clear and the opcode set to 0, and terminated by a single frame with the FIN
    // bit set and an opcode of 0."
    let size = data.len().div_ceil(ECHO_FRAGMENTS).max(1);
    let mut pieces: Vec<&[u8]> = data.chunks(size).collect();
    while pieces.len() < 2 {
        pieces.push(&[]);
    }
    let last = pieces.len().saturating_sub(1);
    for (i, piece) in pieces.into_iter().enumerate() {
        let (opcode, rsv) = if i == 0 {
            (opcode, rsv)
        } else {
            (Opcode::CONTINUATION, Rsv::NONE)
        };
        write_frame_rsv(out, fault, i == last, opcode, rsv, piece);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pulsecheck_ws::{FrameConfig, StreamReader};

    /// A connection whose client has already sent `messages` small masked text
    /// messages (they wait in the read buffer), served with `fault`.
    async fn connection_with(fault: Fault, messages: usize) -> (Connection, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let mut sent = Vec::new();
        for i in 0..messages {
            let payload = format!("message {i}");
            let mut header = FrameHeader::new(Opcode::TEXT, payload.len() as u64);
            header.mask = Some([1, 2, 3, 4]);
            encode_frame(&mut sent, &header, payload.as_bytes()).unwrap();
        }
        let config = WsServerConfig {
            fault: Some(fault),
            ..WsServerConfig::default()
        };
        (Connection::new(server, &config, sent, None), client)
    }

    /// How many echo frames `out` holds.
    fn frames_in(out: &mut [u8]) -> usize {
        let mut reader = StreamReader::new(FrameConfig::new(Role::Server));
        let (mut start, mut frames) = (0, 0);
        while let Ok(Status::Complete((_, used))) = reader.read(&mut out[start..]) {
            start += used;
            frames += 1;
        }
        assert_eq!(start, out.len());
        frames
    }

    #[tokio::test]
    async fn stops_echoing_after_its_count_and_is_then_stuck() {
        let (mut conn, _client) =
            connection_with(Fault::StopsEchoing, ECHOES_BEFORE_STOPPING + 2).await;
        assert_eq!(conn.process(), Step::End(End::Stuck));
        assert_eq!(frames_in(&mut conn.out), ECHOES_BEFORE_STOPPING);
    }

    #[tokio::test]
    async fn slow_echoes_stop_after_every_echo_to_be_held() {
        let (mut conn, _client) = connection_with(Fault::SlowEchoes, 3).await;
        for _ in 0..3 {
            conn.out.clear();
            assert_eq!(conn.process(), Step::SendEcho);
            assert_eq!(frames_in(&mut conn.out), 1);
        }
        conn.out.clear();
        assert_eq!(conn.process(), Step::NeedBytes);
        assert!(conn.out.is_empty());
    }

    #[test]
    fn fragmented_echo_reassembles_to_the_message() {
        for len in [0, 1, 2, 3, 5, 300] {
            let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut out = Vec::new();
            echo(
                &mut out,
                Some(Fault::FragmentsEcho),
                Opcode::BINARY,
                Rsv::NONE,
                &data,
            );
            let mut reader = StreamReader::new(FrameConfig::new(Role::Server));
            let mut start = 0;
            let mut frames = 0;
            let message = loop {
                let Ok(Status::Complete((frame, used))) = reader.read(&mut out[start..]) else {
                    panic!("a complete frame");
                };
                start += used;
                frames += 1;
                if let Assembled::Message(m) = frame.event {
                    break (m.kind(), m.data().to_vec(), m.frames());
                }
            };
            assert_eq!(message, (MessageKind::Binary, data, frames), "{len}");
            assert!(frames >= 2, "{len}");
            assert_eq!(start, out.len());
        }
    }
}
