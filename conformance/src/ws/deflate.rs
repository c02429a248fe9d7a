//! permessage-deflate (RFC 7692) on pulsecheck's side of a connection, in either
//! role: opening a connection with offers, the [`Inflater`] a
//! [`WsConnection`] decompresses the peer's
//! messages with, and the [`Deflater`] that compresses pulsecheck's own. The codec
//! is the framing crate's ([`pulsecheck_ws::deflate`]); what is here is the
//! bookkeeping a conformance probe needs on top: which frame may carry RSV1,
//! decompressed text validated as UTF-8, the peer's compressed sizes kept as
//! evidence, and every failure named with its rule and close code.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pulsecheck_ws::deflate::{
    Agreement, CodecConfig, Compressor, Decompressor, DeflateError, DeflateOffer, FrameCompression,
    ResponseError, Rsv1Error, accept_response, check_rsv1,
};
use pulsecheck_ws::handshake::{HandshakeError, validate_server_response};
use pulsecheck_ws::{
    FrameConfig, FrameHeader, Opcode, Role, Rsv, Status, Utf8Error, Utf8Validator,
};
use url::Url;

use crate::http::Client;
use crate::ws::connection::{
    HandshakeReply, MessageBuilder, WsConnection, WsError, append_frame, raw_handshake, request_for,
};

/// The largest message pulsecheck inflates: the framing crate's default message
/// limit, so that compression does not change what size a peer may send.
pub const MAX_INFLATED: usize = FrameConfig::DEFAULT_MAX_MESSAGE_SIZE as usize;

/// How much compressed input is inflated at a time: with DEFLATE's best ratio
/// (about 1:1032) one piece yields at most about 1 MiB, which is what a
/// decompression bomb costs before the message limit stops it.
const INFLATE_INPUT: usize = 1024;

/// The peer's compressed messages recorded with their sizes.
pub const RECENT: usize = 64;

/// The most compressed bytes of one message a strict inflater audits.
pub const AUDITED: usize = 1 << 20;

/// The level pulsecheck compresses with. Any valid DEFLATE stream is
/// conformant, whatever the level; level 1 (zlib's fast strategy: real LZ77
/// matches and Huffman blocks, within the agreed window) costs a fraction of
/// the default 6, which matters when a case compresses 128 MB.
pub const LEVEL: u32 = 1;

/// Why pulsecheck fails a connection over the peer's compressed data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompressionError {
    /// RSV1 where RFC 7692 §6.1 forbids it (a control frame, a continuation).
    #[error("{0}")]
    Rsv1(Rsv1Error),
    /// The message inflates past [`MAX_INFLATED`] bytes (a decompression bomb, or
    /// just too big): inflating stopped there.
    #[error("the compressed message inflates to more than {limit} bytes (close 1009)")]
    TooBig {
        /// The limit in bytes.
        limit: usize,
    },
    /// The payload is not DEFLATE data, or it refers back past what the agreed
    /// window and context allow (a peer keeping its context after agreeing not to).
    #[error("the compressed message does not decompress: {0}")]
    Corrupt(String),
    /// A compressed text message is not UTF-8 once inflated (RFC 6455 §8.1).
    #[error(
        "the compressed text message is not UTF-8 once inflated: invalid at byte {valid_up_to} (close 1007)"
    )]
    InvalidUtf8 {
        /// The inflated message is valid up to this byte.
        valid_up_to: u64,
    },
}

impl CompressionError {
    /// The close code to fail the connection with: 1002 for RSV1 misplaced, 1009
    /// for a message too big, 1007 for data that does not decompress or is not
    /// UTF-8 (as Node's ws and the framing crate answer).
    pub fn close_code(&self) -> u16 {
        match self {
            CompressionError::Rsv1(e) => e.close_code().get(),
            CompressionError::TooBig { .. } => 1009,
            CompressionError::Corrupt(_) | CompressionError::InvalidUtf8 { .. } => 1007,
        }
    }

    fn from_deflate(e: DeflateError) -> Self {
        match e {
            DeflateError::MessageTooBig { limit } => CompressionError::TooBig { limit },
            other => CompressionError::Corrupt(other.to_string()),
        }
    }

    fn from_utf8(e: Utf8Error) -> Self {
        CompressionError::InvalidUtf8 {
            valid_up_to: e.valid_up_to,
        }
    }
}

/// One message the peer sent on a compressing connection, as it came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireMessage {
    /// Whether its first frame had RSV1 (it was compressed).
    pub compressed: bool,
    /// Its payload bytes on the wire (all frames).
    pub wire: u64,
    /// Its length once inflated.
    pub len: u64,
    /// How far back its compressed data refers, when audited
    /// ([`Inflater::strict`]) and compressed.
    pub farthest: Option<u32>,
}

/// What the peer sent on a compressing connection: counts, and the sizes of its
/// most recent messages (the last [`RECENT`]), shared between the connection's
/// reader and a check that judges them.
#[derive(Debug, Default)]
pub struct InflateStats {
    inner: Mutex<StatsInner>,
}

#[derive(Debug, Default)]
struct StatsInner {
    compressed: u64,
    uncompressed: u64,
    wire: u64,
    inflated: u64,
    recent: VecDeque<WireMessage>,
}

impl InflateStats {
    fn add(&self, message: WireMessage) {
        if let Ok(mut s) = self.inner.lock() {
            if message.compressed {
                s.compressed += 1;
            } else {
                s.uncompressed += 1;
            }
            s.wire += message.wire;
            s.inflated += message.len;
            if s.recent.len() == RECENT {
                s.recent.pop_front();
            }
            s.recent.push_back(message);
        }
    }

    /// Messages received compressed and uncompressed.
    pub fn counts(&self) -> (u64, u64) {
        self.inner
            .lock()
            .map(|s| (s.compressed, s.uncompressed))
            .unwrap_or_default()
    }

    /// Payload bytes on the wire and once inflated, over all messages.
    pub fn bytes(&self) -> (u64, u64) {
        self.inner
            .lock()
            .map(|s| (s.wire, s.inflated))
            .unwrap_or_default()
    }

    /// The most recent messages, oldest first.
    pub fn recent(&self) -> Vec<WireMessage> {
        self.inner
            .lock()
            .map(|s| s.recent.iter().copied().collect())
            .unwrap_or_default()
    }
}

/// Decompresses what the peer sends on a connection where permessage-deflate was
/// agreed, frame piece by frame piece, in bounded memory; checks RSV1 on every
/// frame (RFC 7692 §6.1) and validates inflated text as UTF-8.
pub struct Inflater {
    codec: Decompressor,
    /// The message in progress started with RSV1.
    compressed: bool,
    /// The message in progress is text.
    text: bool,
    utf8: Utf8Validator,
    /// The compressed bytes of the message in progress, kept to audit how far
    /// back it refers ([`Inflater::strict`]); `None` when not auditing.
    audit: Option<Vec<u8>>,
    /// Bytes of the peer's earlier messages in the same LZ77 window (0 when
    /// its context is reset after each message).
    history: u64,
    /// Payload bytes of the message in progress on the wire.
    wire: u64,
    /// Its bytes once inflated.
    inflated: u64,
    scratch: Vec<u8>,
    stats: Arc<InflateStats>,
}

impl std::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inflater")
            .field("config", self.codec.config())
            .finish_non_exhaustive()
    }
}

impl Inflater {
    /// The inflater for what the peer of `role` sends under `agreement`.
    pub fn new(agreement: &Agreement, role: Role) -> Self {
        let (bits, reset) = agreement.receiving(role);
        let config = CodecConfig::new()
            .with_max_message_size(MAX_INFLATED)
            .with_window_bits(bits)
            .with_no_context_takeover(reset);
        Inflater {
            codec: Decompressor::new(config),
            compressed: false,
            text: false,
            utf8: Utf8Validator::new(),
            audit: None,
            history: 0,
            wire: 0,
            inflated: 0,
            scratch: Vec::new(),
            stats: Arc::default(),
        }
    }

    /// The same inflater, also auditing how far back each compressed message
    /// refers ([`WireMessage::farthest`], from
    /// [`deflate_window`](crate::ws::deflate_window)): zlib inflates a reference
    /// beyond the agreed window without complaint when the bytes are in the
    /// output it is writing. Keeps each message's compressed bytes (up to
    /// [`AUDITED`]); for checks of a few messages.
    #[must_use]
    pub fn strict(mut self) -> Self {
        self.audit = Some(Vec::new());
        self
    }

    /// What was received so far (a handle that stays valid after the inflater
    /// moved into the connection).
    pub fn stats(&self) -> Arc<InflateStats> {
        Arc::clone(&self.stats)
    }

    /// The reader's configuration for the peer's frames: RSV1 has a meaning.
    pub fn frame_config(sender: Role) -> FrameConfig {
        FrameConfig::new(sender).with_allowed_rsv(Rsv::RSV1)
    }

    /// A data frame's header: RSV1 only on a first frame, which says whether the
    /// message is compressed.
    ///
    /// # Errors
    ///
    /// RSV1 on a continuation frame.
    pub fn on_header(&mut self, header: &FrameHeader) -> Result<(), CompressionError> {
        match check_rsv1(header.opcode, header.rsv, true).map_err(CompressionError::Rsv1)? {
            FrameCompression::CompressedMessage => {
                self.compressed = true;
                self.text = header.opcode == Opcode::TEXT;
                self.utf8 = Utf8Validator::new();
                self.wire = 0;
                self.inflated = 0;
            }
            FrameCompression::UncompressedMessage => {
                self.compressed = false;
                self.wire = 0;
                self.inflated = 0;
            }
            FrameCompression::NotAMessageStart => {}
        }
        Ok(())
    }

    /// A control frame's header: never RSV1.
    ///
    /// # Errors
    ///
    /// RSV1 on a control frame.
    pub fn on_control(&self, header: &FrameHeader) -> Result<(), CompressionError> {
        check_rsv1(header.opcode, header.rsv, true)
            .map(|_| ())
            .map_err(CompressionError::Rsv1)
    }

    /// The next payload bytes of the message in progress, into `message`
    /// (inflated when the message is compressed).
    ///
    /// # Errors
    ///
    /// Data that does not decompress, too much of it, or text that is not UTF-8.
    pub fn feed(
        &mut self,
        bytes: &[u8],
        message: &mut MessageBuilder,
    ) -> Result<(), CompressionError> {
        self.wire += bytes.len() as u64;
        if !self.compressed {
            self.inflated += bytes.len() as u64;
            message.feed(bytes);
            return Ok(());
        }
        if let Some(audit) = &mut self.audit
            && audit.len() < AUDITED
        {
            audit.extend_from_slice(bytes);
        }
        for piece in bytes.chunks(INFLATE_INPUT) {
            self.scratch.clear();
            self.codec
                .feed(piece, &mut self.scratch)
                .map_err(CompressionError::from_deflate)?;
            self.take_scratch(message)?;
        }
        Ok(())
    }

    /// The end of the message in progress.
    ///
    /// # Errors
    ///
    /// As [`Inflater::feed`], or text that ends inside a character.
    pub fn finish(&mut self, message: &mut MessageBuilder) -> Result<(), CompressionError> {
        let mut farthest = None;
        if self.compressed
            && let Some(audit) = &mut self.audit
        {
            if audit.len() < AUDITED {
                audit.extend_from_slice(&pulsecheck_ws::deflate::SYNC_TAIL);
                farthest = crate::ws::deflate_window::reach(audit, self.history)
                    .ok()
                    .map(|r| r.farthest);
            }
            audit.clear();
        }
        if self.compressed {
            self.scratch.clear();
            self.codec
                .finish(&mut self.scratch)
                .map_err(CompressionError::from_deflate)?;
            self.take_scratch(message)?;
            if self.text {
                self.utf8.finish().map_err(CompressionError::from_utf8)?;
            }
        }
        self.stats.add(WireMessage {
            compressed: self.compressed,
            wire: self.wire,
            len: self.inflated,
            farthest,
        });
        if self.compressed {
            self.history = if self.codec.config().no_context_takeover {
                0
            } else {
                self.history + self.inflated
            };
        }
        self.compressed = false;
        Ok(())
    }

    fn take_scratch(&mut self, message: &mut MessageBuilder) -> Result<(), CompressionError> {
        if self.scratch.is_empty() {
            return Ok(());
        }
        if self.text {
            self.utf8
                .feed(&self.scratch)
                .map_err(CompressionError::from_utf8)?;
        }
        self.inflated += self.scratch.len() as u64;
        message.feed(&self.scratch);
        Ok(())
    }
}

/// Compresses pulsecheck's messages under an agreement, and frames them with RSV1
/// on the first frame only (RFC 7692 §6.1).
pub struct Deflater {
    codec: Compressor,
    role: Role,
}

impl std::fmt::Debug for Deflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deflater")
            .field("role", &self.role)
            .field("config", self.codec.config())
            .finish()
    }
}

impl Deflater {
    /// The deflater `role` sends with under `agreement`; `reset` forces no context
    /// takeover (a client that offered `client_no_context_takeover` keeps to its
    /// word even when the server did not echo it, RFC 7692 §7.1.1.2).
    pub fn new(agreement: &Agreement, role: Role, reset: bool) -> Self {
        Deflater {
            codec: Compressor::new(Self::config_for(agreement, role, reset)),
            role,
        }
    }

    /// The settings [`Deflater::new`] compresses with for the same arguments.
    pub fn config_for(agreement: &Agreement, role: Role, reset: bool) -> CodecConfig {
        let (bits, agreed_reset) = agreement.sending(role);
        CodecConfig::new()
            .with_level(LEVEL)
            .with_window_bits(bits)
            .with_no_context_takeover(agreed_reset || reset)
    }

    /// The role it sends as (which decides masking).
    pub fn role(&self) -> Role {
        self.role
    }

    /// Forgets the context: it compresses as a new deflater of the same
    /// settings would, without allocating its state again.
    pub fn reset(&mut self) {
        self.codec.reset();
    }

    /// The settings it compresses with (window, level, whether it resets its
    /// context after each message).
    pub fn config(&self) -> CodecConfig {
        *self.codec.config()
    }

    /// The compressed payload of `message`.
    ///
    /// # Errors
    ///
    /// Only a broken zlib build fails to compress.
    pub fn compress(&mut self, message: &[u8], out: &mut Vec<u8>) -> Result<(), DeflateError> {
        self.codec.compress(message, out)
    }

    /// The frames of one compressed message whose compressed payload is
    /// `payload`, cut as Autobahn's `sendMessage` cuts a message (frames of
    /// `fragment_size`, an empty FIN frame after a whole multiple), RSV1 on the
    /// first, appended to `out`.
    pub fn frames(
        &self,
        opcode: Opcode,
        payload: &[u8],
        fragment_size: Option<usize>,
        out: &mut Vec<u8>,
    ) {
        append_frames(self.role, opcode, Rsv::RSV1, payload, fragment_size, out);
    }
}

/// The frames of a message from `sender`, the first with `rsv`, cut as
/// Autobahn's `sendMessage` cuts it (see
/// [`message_frames`](crate::ws::autobahn::fuzzer::message_frames)), appended to
/// `out`.
pub fn append_frames(
    sender: Role,
    opcode: Opcode,
    rsv: Rsv,
    payload: &[u8],
    fragment_size: Option<usize>,
    out: &mut Vec<u8>,
) {
    let size = match fragment_size {
        Some(size) if size > 0 && payload.len() > size => size,
        _ => {
            append_frame(out, sender, true, opcode, rsv, payload);
            return;
        }
    };
    let mut start = 0;
    loop {
        let end = (start + size).min(payload.len());
        let fin = start + size > payload.len();
        let (op, bits) = if start == 0 {
            (opcode, rsv)
        } else {
            (Opcode::CONTINUATION, Rsv::NONE)
        };
        append_frame(
            out,
            sender,
            fin,
            op,
            bits,
            payload.get(start..end).unwrap_or_default(),
        );
        if fin {
            return;
        }
        start += size;
    }
}

/// What the server answered to a handshake that offered extensions.
pub struct Offered {
    /// The connection, when the server upgraded it (whether or not the response
    /// is one the client can accept).
    pub conn: WsConnection,
    /// The response.
    pub reply: HandshakeReply,
    /// The agreement: `Ok(None)` when the server accepted no permessage-deflate
    /// offer; an error when its response is one a client must fail.
    pub agreement: Result<Option<Agreement>, ResponseError>,
}

/// Opens a connection to `url` offering `extensions` (each an RFC 6455 §9.1
/// element, written verbatim), and reads the server's permessage-deflate answer
/// against `offers` (the offers the client stands by, in its order: the
/// well-formed ones among `extensions`).
///
/// # Errors
///
/// The connection or the handshake failed (not 101, a wrong accept key, an
/// extension never offered).
pub async fn open_offering(
    client: &Client,
    url: &Url,
    extensions: &[&str],
    offers: &[DeflateOffer],
    limit: Duration,
) -> Result<Offered, WsError> {
    let (mut request, _) = request_for(url, &[]);
    request.extensions = extensions.to_vec();
    let mut bytes = Vec::new();
    request.write(&mut bytes);
    let (conn, reply) = raw_handshake(client, url, &bytes, limit).await?;
    let handshake = match validate_server_response(reply.head.as_bytes(), &request) {
        Ok(Status::Complete((handshake, _))) => handshake,
        Ok(Status::Partial) => return Err(WsError::Handshake("incomplete response head".into())),
        Err(e @ HandshakeError::NotSwitchingProtocols { .. }) => {
            return Err(WsError::Handshake(e.to_string()));
        }
        Err(e) => return Err(WsError::Handshake(format!("{e} (status {})", reply.status))),
    };
    let agreement = accept_response(offers, handshake.extensions.iter().copied());
    Ok(Offered {
        conn,
        reply,
        agreement,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pulsecheck_ws::deflate::{DeflateResponse, WindowBits};

    fn agreement() -> Agreement {
        Agreement::from_response(&DeflateResponse::default())
    }

    fn header(opcode: Opcode, fin: bool, rsv: Rsv) -> FrameHeader {
        let mut h = FrameHeader::new(opcode, 0);
        h.fin = fin;
        h.rsv = rsv;
        h
    }

    fn inflate(
        inflater: &mut Inflater,
        opcode: Opcode,
        payload: &[u8],
    ) -> Result<MessageBuilder, CompressionError> {
        let mut message = MessageBuilder::default();
        inflater.on_header(&header(opcode, true, Rsv::RSV1))?;
        inflater.feed(payload, &mut message)?;
        inflater.finish(&mut message)?;
        Ok(message)
    }

    #[test]
    fn what_the_deflater_sends_the_inflater_reads_in_both_roles() {
        for (role, reset) in [(Role::Client, true), (Role::Server, false)] {
            let mut deflater = Deflater::new(&agreement(), role, reset);
            let mut inflater = Inflater::new(&agreement(), role.peer());
            let stats = inflater.stats();
            for text in ["Hello", "Hello", "", "Hello, Hello, Hello"] {
                let mut payload = Vec::new();
                deflater.compress(text.as_bytes(), &mut payload).unwrap();
                let message = inflate(&mut inflater, Opcode::TEXT, &payload).unwrap();
                assert!(message.finish() == text.as_bytes(), "{role} {text:?}");
            }
            assert_eq!(stats.counts(), (4, 0));
            assert_eq!(stats.bytes().1, 5 + 5 + 19);
        }
    }

    #[test]
    fn rsv1_belongs_on_first_frames_only() {
        let mut inflater = Inflater::new(&agreement(), Role::Server);
        assert!(
            inflater
                .on_header(&header(Opcode::TEXT, false, Rsv::RSV1))
                .is_ok()
        );
        assert_eq!(
            inflater.on_header(&header(Opcode::CONTINUATION, true, Rsv::RSV1)),
            Err(CompressionError::Rsv1(Rsv1Error::OnContinuation))
        );
        let ping = header(Opcode::PING, true, Rsv::RSV1);
        let e = inflater.on_control(&ping).unwrap_err();
        assert_eq!(e.close_code(), 1002);
        assert!(
            inflater
                .on_control(&header(Opcode::PING, true, Rsv::NONE))
                .is_ok()
        );
    }

    #[test]
    fn an_uncompressed_message_passes_through() {
        let mut inflater = Inflater::new(&agreement(), Role::Server);
        let mut message = MessageBuilder::default();
        inflater
            .on_header(&header(Opcode::BINARY, true, Rsv::NONE))
            .unwrap();
        inflater.feed(b"plain", &mut message).unwrap();
        inflater.finish(&mut message).unwrap();
        assert!(message.finish() == b"plain");
        assert_eq!(inflater.stats().counts(), (0, 1));
    }

    #[test]
    fn a_bomb_stops_at_the_limit_and_bad_data_or_text_fail() {
        let mut deflater = Deflater::new(&agreement(), Role::Client, true);
        let mut bomb = Vec::new();
        deflater
            .compress(&vec![0u8; MAX_INFLATED + 1], &mut bomb)
            .unwrap();
        let mut inflater = Inflater::new(&agreement(), Role::Server);
        let e = inflate(&mut inflater, Opcode::BINARY, &bomb).unwrap_err();
        assert_eq!(
            (e.close_code(), e),
            (
                1009,
                CompressionError::TooBig {
                    limit: MAX_INFLATED
                }
            )
        );

        let mut inflater = Inflater::new(&agreement(), Role::Server);
        let e = inflate(&mut inflater, Opcode::BINARY, &[0xff, 0xff, 0xff]).unwrap_err();
        assert_eq!(e.close_code(), 1007, "{e}");

        let mut payload = Vec::new();
        deflater.compress(b"ok \xff", &mut payload).unwrap();
        let mut inflater = Inflater::new(&agreement(), Role::Server);
        let e = inflate(&mut inflater, Opcode::TEXT, &payload).unwrap_err();
        assert_eq!(e, CompressionError::InvalidUtf8 { valid_up_to: 3 });
    }

    #[test]
    fn a_peer_that_keeps_its_context_after_agreeing_not_to_is_caught() {
        let agreed = Agreement {
            server_no_context_takeover: true,
            ..agreement()
        };
        // The server compresses as if it had not agreed.
        let mut server = Deflater::new(&agreement(), Role::Server, false);
        let mut client = Inflater::new(&agreed, Role::Client);
        let text = b"a message long enough to be referred back to by the next one";
        let mut first = Vec::new();
        server.compress(text, &mut first).unwrap();
        assert!(inflate(&mut client, Opcode::TEXT, &first).is_ok());
        let mut second = Vec::new();
        server.compress(text, &mut second).unwrap();
        assert!(second.len() < first.len() / 2, "it refers back");
        assert!(matches!(
            inflate(&mut client, Opcode::TEXT, &second),
            Err(CompressionError::Corrupt(_))
        ));
    }

    #[test]
    fn compressed_frames_carry_rsv1_on_the_first_only() {
        let deflater = Deflater::new(&agreement(), Role::Server, false);
        let mut out = Vec::new();
        deflater.frames(Opcode::TEXT, &[7; 600], Some(256), &mut out);
        // 256 + 256 + 88: three frames, the first RSV1 + TEXT, no FIN.
        assert_eq!(out[0], 0x41);
        assert_eq!(out[2 + 2 + 256], 0x00);
        assert_eq!(out[2 * (4 + 256)], 0x80);
        let window = WindowBits::new(9).unwrap();
        let small = Agreement {
            server_max_window_bits: window,
            ..agreement()
        };
        assert_eq!(
            Deflater::new(&small, Role::Server, false)
                .codec
                .config()
                .window_bits,
            window
        );
    }
}
