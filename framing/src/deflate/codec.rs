//! Compressing and decompressing message payloads (RFC 7692 §7.2), with flate2 on its
//! zlib-rs backend (the backend that supports window bits below 15 for raw DEFLATE).

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::params::WindowBits;
use crate::close::CloseCode;

/// The four octets a sync flush ends with, stripped by the sender and appended back by the
/// receiver. RFC 7692 §7.2.1: "Remove 4 octets (that are 0x00 0x00 0xff 0xff) from the
/// tail end."
pub const SYNC_TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The most output one inflate call may produce. The output buffer grows by doubling but
/// never past the message limit plus one byte, so a bomb costs at most that much memory.
const INFLATE_PIECE: usize = 32 * 1024;

/// Decompression failed; the connection must be failed with [`DeflateError::close_code`].
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeflateError {
    /// The message inflates to more than the configured limit. Decompression stopped at
    /// the limit. RFC 6455 §7.4.1: 1009 "indicates that an endpoint is terminating the
    /// connection because it has received a message that is too big for it to process."
    #[error(
        "the decompressed message exceeds the {limit}-byte limit (RFC 6455 §7.4.1, close 1009)"
    )]
    MessageTooBig {
        /// The limit in bytes.
        limit: usize,
    },
    /// The payload is not valid DEFLATE data (RFC 1951), as the inflater reports it.
    #[error("invalid DEFLATE data: {0} (RFC 7692 §7.2.2)")]
    Corrupt(String),
    /// The compressor failed (only on a broken zlib build).
    #[error("compression failed: {0}")]
    Compress(String),
}

impl DeflateError {
    /// The close code to fail the connection with: 1009 for a message over the limit,
    /// 1007 (invalid payload data, as Node's ws does) for undecodable data, 1011 for a
    /// local compressor failure.
    #[must_use]
    pub const fn close_code(&self) -> CloseCode {
        match self {
            Self::MessageTooBig { .. } => CloseCode::MESSAGE_TOO_BIG,
            Self::Corrupt(_) => CloseCode::INVALID_PAYLOAD,
            Self::Compress(_) => CloseCode::INTERNAL_ERROR,
        }
    }
}

/// Settings of one direction's compressor or decompressor. Grows without breaking users:
/// start from [`CodecConfig::new`] and use the `with_*` methods.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub struct CodecConfig {
    /// The LZ77 window agreed for this direction.
    pub window_bits: WindowBits,
    /// Reset the context after every message (`*_no_context_takeover` agreed).
    pub no_context_takeover: bool,
    /// zlib compression level, 0–9 (compressor only).
    pub level: u32,
    /// The largest decompressed message, in bytes (decompressor only).
    pub max_message_size: usize,
}

impl CodecConfig {
    /// Window 15, context takeover, level 6, a 64 MiB message limit.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            window_bits: WindowBits::MAX,
            no_context_takeover: false,
            level: 6,
            max_message_size: 64 << 20,
        }
    }

    /// Sets [`CodecConfig::window_bits`].
    #[must_use]
    pub const fn with_window_bits(mut self, bits: WindowBits) -> Self {
        self.window_bits = bits;
        self
    }

    /// Sets [`CodecConfig::no_context_takeover`].
    #[must_use]
    pub const fn with_no_context_takeover(mut self, on: bool) -> Self {
        self.no_context_takeover = on;
        self
    }

    /// Sets [`CodecConfig::level`] (clamped to 9).
    #[must_use]
    pub const fn with_level(mut self, level: u32) -> Self {
        self.level = if level > 9 { 9 } else { level };
        self
    }

    /// Sets [`CodecConfig::max_message_size`].
    #[must_use]
    pub const fn with_max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }
}

impl Default for CodecConfig {
    fn default() -> Self {
        Self::new()
    }
}

/// Compresses the messages one endpoint sends (RFC 7692 §7.2.1).
///
/// Window 8 is compressed with zlib's window 9 (see [`WindowBits::for_zlib`]).
pub struct Compressor {
    inner: Compress,
    config: CodecConfig,
}

impl core::fmt::Debug for Compressor {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Compressor")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Compressor {
    /// A compressor for `config`.
    #[must_use]
    pub fn new(config: CodecConfig) -> Self {
        Self {
            inner: Compress::new_with_window_bits(
                Compression::new(config.level),
                false,
                config.window_bits.for_zlib(),
            ),
            config,
        }
    }

    /// The settings.
    #[must_use]
    pub const fn config(&self) -> &CodecConfig {
        &self.config
    }

    /// Forgets the context (as after each message with no context takeover): what it
    /// compresses next is what a new compressor of the same settings would give, and
    /// its memory is reused rather than allocated again.
    pub fn reset(&mut self) {
        self.inner.reset();
    }

    /// Appends the payload of one compressed message to `out`: DEFLATE with a sync flush,
    /// the trailing `00 00 ff ff` removed. With no context takeover the context is reset
    /// afterwards.
    ///
    /// # Errors
    /// [`DeflateError::Compress`] if zlib reports a failure.
    pub fn compress(&mut self, message: &[u8], out: &mut Vec<u8>) -> Result<(), DeflateError> {
        let start = out.len();
        let before_in = self.inner.total_in();
        let mut consumed = 0usize;
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve((message.len() - consumed) / 2 + 64);
            }
            self.inner
                .compress_vec(&message[consumed..], out, FlushCompress::Sync)
                .map_err(|e| DeflateError::Compress(e.to_string()))?;
            consumed = usize::try_from(self.inner.total_in() - before_in).unwrap_or(usize::MAX);
            // A sync flush is complete when all input is used and output space is left.
            if consumed >= message.len() && out.len() < out.capacity() {
                break;
            }
        }
        //= RFC 7692 §7.2.1: "If the resulting data does not end with an empty DEFLATE block
        //= with no compression (the "BTYPE" bits are set to 00), append an empty DEFLATE
        //= block with no compression to the tail end."
        // zlib skips a sync flush that directly follows another (an empty message after a
        // message, with the context kept), so the output is then empty; the stream is
        // byte-aligned after the previous flush, so the empty stored block is 00 00 00 ff ff.
        if out.len() < start + 4 || out[out.len() - 4..] != SYNC_TAIL {
            out.extend_from_slice(&[0x00, 0x00, 0x00, 0xff, 0xff]);
        }
        //= RFC 7692 §7.2.1: "Remove 4 octets (that are 0x00 0x00 0xff 0xff) from the tail end."
        out.truncate(out.len() - 4);
        if self.config.no_context_takeover {
            self.inner.reset();
        }
        Ok(())
    }
}

/// Decompresses the messages one endpoint receives (RFC 7692 §7.2.2), in bounded memory.
///
/// Feed the payload of each frame of a compressed message with [`Decompressor::feed`]
/// and end the message with [`Decompressor::finish`]; or give the whole payload to
/// [`Decompressor::decompress`].
///
/// A DEFLATE block with BFINAL set (RFC 7692 §7.2.3.4) ends zlib's stream; the
/// decompressor then starts a new stream primed with the last window of output, so what
/// follows (the `00` octet the RFC's example appends, the next message, or more blocks)
/// still decodes and may still refer back.
pub struct Decompressor {
    inner: Decompress,
    config: CodecConfig,
    /// Bytes produced for the current message.
    produced: usize,
    /// No payload byte has reached the current stream since it was restarted after BFINAL,
    /// or none has been fed for the current message: the `00 00 ff ff` tail is then not
    /// appended (alone, it would open a stored block that swallows the next message).
    restarted_empty: bool,
    /// Payload bytes fed for the current message.
    fed: usize,
    /// The latest output, at least one window of it once that much was produced (at most
    /// two windows), to prime a stream restarted after BFINAL.
    history: Vec<u8>,
}

impl core::fmt::Debug for Decompressor {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Decompressor")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Decompressor {
    /// A decompressor for `config`.
    #[must_use]
    pub fn new(config: CodecConfig) -> Self {
        Self {
            inner: Decompress::new_with_window_bits(false, config.window_bits.for_zlib()),
            config,
            produced: 0,
            restarted_empty: false,
            fed: 0,
            history: Vec::new(),
        }
    }

    /// The settings.
    #[must_use]
    pub const fn config(&self) -> &CodecConfig {
        &self.config
    }

    /// Inflates one piece of the current message's payload, appending to `out`.
    ///
    /// # Errors
    /// The data is not DEFLATE, or the message passes the size limit; either way the
    /// connection must be failed, and this decompressor is no longer usable.
    pub fn feed(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), DeflateError> {
        self.fed = self.fed.saturating_add(payload.len());
        self.inflate(payload, out, FlushDecompress::None)
    }

    /// Ends the current message: inflates the `00 00 ff ff` tail (RFC 7692 §7.2.2:
    /// "Append 4 octets of 0x00 0x00 0xff 0xff to the tail end of the payload of the
    /// message") and resets the context when no context takeover was agreed.
    ///
    /// A compressed message with an empty payload is taken as an empty message. No
    /// compliant sender produces one (an empty message compresses to at least `00`), but
    /// appending the tail to nothing would leave the inflater inside a stored block.
    ///
    /// # Errors
    /// As [`Decompressor::feed`].
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), DeflateError> {
        let fed = core::mem::take(&mut self.fed);
        if fed > 0 && !self.restarted_empty {
            self.inflate(&SYNC_TAIL, out, FlushDecompress::Sync)?;
        }
        if self.config.no_context_takeover {
            self.inner.reset(false);
            self.history.clear();
            self.restarted_empty = false;
        }
        self.produced = 0;
        Ok(())
    }

    /// Decompresses a whole message payload: [`Decompressor::feed`] then
    /// [`Decompressor::finish`].
    ///
    /// # Errors
    /// As [`Decompressor::feed`].
    pub fn decompress(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), DeflateError> {
        self.feed(payload, out)?;
        self.finish(out)
    }

    fn window(&self) -> usize {
        1 << self.config.window_bits.for_zlib()
    }

    fn remember(&mut self, bytes: &[u8]) {
        let window = self.window();
        if bytes.len() >= window {
            self.history.clear();
            self.history
                .extend_from_slice(&bytes[bytes.len() - window..]);
        } else {
            self.history.extend_from_slice(bytes);
            if self.history.len() > 2 * window {
                let excess = self.history.len() - window;
                self.history.drain(..excess);
            }
        }
    }

    /// Starts a new stream after BFINAL, primed with the last window of output.
    fn restart(&mut self) -> Result<(), DeflateError> {
        self.inner.reset(false);
        let keep = self.history.len().saturating_sub(self.window());
        if self.history.len() > keep {
            self.inner
                .set_dictionary(&self.history[keep..])
                .map_err(|e| DeflateError::Corrupt(e.to_string()))?;
        }
        self.restarted_empty = true;
        Ok(())
    }

    fn inflate(
        &mut self,
        mut input: &[u8],
        out: &mut Vec<u8>,
        flush: FlushDecompress,
    ) -> Result<(), DeflateError> {
        let limit = self.config.max_message_size;
        let mut piece = input.len().saturating_mul(2).max(256);
        loop {
            // Room for at most one byte past the limit, so passing it is detected without
            // producing more; pieces start near the input's size and double while the
            // inflater keeps filling them.
            let room = limit
                .saturating_sub(self.produced)
                .saturating_add(1)
                .min(INFLATE_PIECE)
                .min(piece);
            piece = piece.saturating_mul(2);
            let before_in = self.inner.total_in();
            let before_out = self.inner.total_out();
            let start = out.len();
            // Grow by doubling, but never past what the limit lets this message reach.
            let needed = start + room;
            if needed > out.capacity() {
                let ceiling = (start - self.produced.min(start))
                    .saturating_add(limit)
                    .saturating_add(1);
                let target = out.capacity().saturating_mul(2).min(ceiling).max(needed);
                out.reserve_exact(target - start);
            }
            out.resize(needed, 0);
            let status = self
                .inner
                .decompress(input, &mut out[start..], flush)
                .map_err(|e| DeflateError::Corrupt(e.to_string()));
            let made = usize::try_from(self.inner.total_out() - before_out).unwrap_or(room);
            out.truncate(start + made.min(room));
            let status = status?;
            let used = usize::try_from(self.inner.total_in() - before_in).unwrap_or(usize::MAX);
            input = input.get(used..).unwrap_or_default();
            if used > 0 {
                self.restarted_empty = false;
            }
            self.produced += made;
            if self.produced > limit {
                // Keep exactly `limit` bytes of this message; what passed it came from this
                // call, so `over <= made`.
                let over = self.produced - limit;
                out.truncate(out.len().saturating_sub(over));
                self.produced = limit;
                return Err(DeflateError::MessageTooBig { limit });
            }
            self.remember(&out[start..]);
            if status == Status::StreamEnd {
                //= RFC 7692 §7.2.3.4: "Using a DEFLATE Block with BFINAL Set to 1"
                self.restart()?;
                if input.is_empty() {
                    return Ok(());
                }
                continue;
            }
            // Done when the input is used up and the output was not the bottleneck.
            if input.is_empty() && made < room {
                return Ok(());
            }
            if used == 0 && made == 0 {
                // No progress with input and room left: zlib wants more input.
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(b: u8) -> WindowBits {
        WindowBits::new(b).unwrap()
    }

    fn roundtrip_pair(config: CodecConfig) -> (Compressor, Decompressor) {
        (Compressor::new(config), Decompressor::new(config))
    }

    //= RFC 7692 §7.2.3.1: "A Message Compressed Using 1 Compressed DEFLATE Block"
    //= type=test
    #[test]
    fn rfc7692_hello() {
        let (mut c, mut d) = roundtrip_pair(CodecConfig::new());
        let mut out = Vec::new();
        c.compress(b"Hello", &mut out).unwrap();
        assert_eq!(out, [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
        let mut plain = Vec::new();
        d.decompress(&out, &mut plain).unwrap();
        assert_eq!(plain, b"Hello");
        // The same message in two frames: f2 48 cd, then c9 c9 07 00.
        let mut d = Decompressor::new(CodecConfig::new());
        let mut plain = Vec::new();
        d.feed(&[0xf2, 0x48, 0xcd], &mut plain).unwrap();
        d.feed(&[0xc9, 0xc9, 0x07, 0x00], &mut plain).unwrap();
        d.finish(&mut plain).unwrap();
        assert_eq!(plain, b"Hello");
    }

    //= RFC 7692 §7.2.3.2: "Sharing LZ77 Sliding Window"
    //= type=test
    #[test]
    fn rfc7692_shared_window() {
        let mut d = Decompressor::new(CodecConfig::new());
        let mut plain = Vec::new();
        d.decompress(&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], &mut plain)
            .unwrap();
        d.decompress(&[0xf2, 0x00, 0x11, 0x00, 0x00], &mut plain)
            .unwrap();
        assert_eq!(plain, b"HelloHello");
        // The same second message fails without the shared window.
        let mut fresh = Decompressor::new(CodecConfig::new().with_no_context_takeover(true));
        let mut plain = Vec::new();
        fresh
            .decompress(&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], &mut plain)
            .unwrap();
        assert!(
            fresh
                .decompress(&[0xf2, 0x00, 0x11, 0x00, 0x00], &mut plain)
                .is_err()
        );
        // Our compressor produces exactly the RFC's second message.
        let mut c = Compressor::new(CodecConfig::new());
        let mut out = Vec::new();
        c.compress(b"Hello", &mut out).unwrap();
        out.clear();
        c.compress(b"Hello", &mut out).unwrap();
        assert_eq!(out, [0xf2, 0x00, 0x11, 0x00, 0x00]);
    }

    //= RFC 7692 §7.2.3.3: "Using a DEFLATE Block with No Compression"
    //= type=test
    #[test]
    fn rfc7692_stored_block() {
        let mut d = Decompressor::new(CodecConfig::new());
        let mut plain = Vec::new();
        d.decompress(
            &[
                0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
            ],
            &mut plain,
        )
        .unwrap();
        assert_eq!(plain, b"Hello");
    }

    //= RFC 7692 §7.2.3.4: "Using a DEFLATE Block with BFINAL Set to 1"
    //= type=test
    #[test]
    fn rfc7692_bfinal_then_shared_window() {
        // The RFC's payload: a final block with "Hello", then 00 so the appended tail
        // makes an empty stored block.
        let rfc = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
        // Without the 00 octet, as some senders do.
        let bare = &rfc[..7];
        for payload in [&rfc[..], bare] {
            let mut d = Decompressor::new(CodecConfig::new());
            let mut plain = Vec::new();
            d.decompress(payload, &mut plain).unwrap();
            assert_eq!(plain, b"Hello");
            // The next message may refer back into the previous one.
            d.decompress(&[0xf2, 0x00, 0x11, 0x00, 0x00], &mut plain)
                .unwrap();
            assert_eq!(plain, b"HelloHello");
            d.decompress(payload, &mut plain).unwrap();
            assert_eq!(plain, b"HelloHelloHello");
        }
        // Garbage after the final block is a new stream, and invalid.
        let mut d = Decompressor::new(CodecConfig::new());
        let err = d.decompress(
            &[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0xff, 0xff],
            &mut Vec::new(),
        );
        assert!(matches!(err, Err(DeflateError::Corrupt(_))), "{err:?}");
    }

    //= RFC 7692 §7.2.3.5: "Two DEFLATE Blocks in One Message"
    //= type=test
    #[test]
    fn rfc7692_two_blocks() {
        let mut d = Decompressor::new(CodecConfig::new());
        let mut plain = Vec::new();
        let payload = [
            0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00,
        ];
        d.decompress(&payload, &mut plain).unwrap();
        assert_eq!(plain, b"Hello");
    }

    #[test]
    fn empty_message_roundtrips() {
        let (mut c, mut d) = roundtrip_pair(CodecConfig::new());
        for _ in 0..3 {
            let mut out = Vec::new();
            c.compress(b"", &mut out).unwrap();
            let mut plain = Vec::new();
            d.decompress(&out, &mut plain).unwrap();
            assert!(plain.is_empty());
        }
    }

    #[test]
    fn empty_payload_is_an_empty_message() {
        let mut c = Compressor::new(CodecConfig::new());
        let mut d = Decompressor::new(CodecConfig::new());
        let mut plain = Vec::new();
        for message in [&b"Hello"[..], b"", b"Hello"] {
            let mut payload = Vec::new();
            c.compress(message, &mut payload).unwrap();
            d.decompress(&payload, &mut plain).unwrap();
            // A peer's empty payload between messages changes nothing.
            d.decompress(&[], &mut plain).unwrap();
            d.feed(&[], &mut plain).unwrap();
            d.finish(&mut plain).unwrap();
        }
        assert_eq!(plain, b"HelloHello");
    }

    #[test]
    fn corrupt_data_fails_with_1007() {
        let mut d = Decompressor::new(CodecConfig::new());
        let err = d
            .decompress(&[0xff, 0xff, 0xff, 0xff], &mut Vec::new())
            .unwrap_err();
        assert!(matches!(err, DeflateError::Corrupt(_)), "{err:?}");
        assert_eq!(err.close_code().get(), 1007);
    }

    #[test]
    fn bomb_stops_at_the_limit_in_bounded_memory() {
        // 64 MiB of zeros in one message of 64 sync-flushed pieces, about 64 KiB compressed.
        let mut c = Compressor::new(CodecConfig::new().with_level(9));
        let zeros = vec![0u8; 1 << 20];
        let mut payload = Vec::new();
        for _ in 0..64 {
            c.compress(&zeros, &mut payload).unwrap();
            payload.extend_from_slice(&SYNC_TAIL);
        }
        assert!(payload.len() < 200_000, "{}", payload.len());
        let limit = 1 << 20;
        let mut d = Decompressor::new(CodecConfig::new().with_max_message_size(limit));
        let mut out = Vec::new();
        let err = d.decompress(&payload, &mut out).unwrap_err();
        assert_eq!(err, DeflateError::MessageTooBig { limit });
        assert_eq!(err.close_code().get(), 1009);
        assert_eq!(out.len(), limit);
        assert!(out.capacity() <= limit + 1, "{}", out.capacity());
        // Exactly at the limit is fine.
        let mut d = Decompressor::new(CodecConfig::new().with_max_message_size(limit));
        let mut exact = Vec::new();
        Compressor::new(CodecConfig::new())
            .compress(&zeros, &mut exact)
            .unwrap();
        let mut out = Vec::new();
        d.decompress(&exact, &mut out).unwrap();
        assert_eq!(out.len(), limit);
        // The limit counts across the frames of one message, not per frame.
        let mut d = Decompressor::new(CodecConfig::new().with_max_message_size(limit - 1));
        let mut out = Vec::new();
        let (a, b) = exact.split_at(exact.len() / 2);
        let first = d.feed(a, &mut out);
        let second = first
            .and_then(|()| d.feed(b, &mut out))
            .and_then(|()| d.finish(&mut out));
        assert_eq!(
            second,
            Err(DeflateError::MessageTooBig { limit: limit - 1 })
        );
        // A caller that goes on after the error gets errors or garbage, never a panic.
        let _ = d.finish(&mut out);
        let _ = d.decompress(&exact, &mut out);
        let _ = d.decompress(b"\xff", &mut out);
    }

    #[test]
    fn window_8_output_fits_a_256_byte_window() {
        // zlib compresses "window 8" with its window 9 (see WindowBits::for_zlib).
        let config = CodecConfig::new().with_window_bits(bits(8));
        let pattern: Vec<u8> = (0..200u32).map(|i| (i * 7 % 251) as u8).collect();
        let text: Vec<u8> = pattern.iter().copied().cycle().take(20_000).collect();
        let mut out = Vec::new();
        Compressor::new(config).compress(&text, &mut out).unwrap();
        assert!(out.len() < text.len() / 2, "{}", out.len());
        let mut plain = Vec::new();
        Decompressor::new(config)
            .decompress(&out, &mut plain)
            .unwrap();
        assert_eq!(plain, text);
    }
}
