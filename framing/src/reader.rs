//! An incremental reader of a frame stream over a caller-owned buffer.

use crate::Status;
use crate::error::Violation;
use crate::fast_utf8::unmask_to_str;
use crate::header::{FrameConfig, FrameHeader, parse_header_inner};
use crate::mask::unmask;
use crate::message::{Assembled, FailAt, Failure, MessageAssembler, MessageKind};
use crate::opcode::Opcode;

/// One frame read from the stream, and what it meant.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Decoded<'a> {
    /// Stream offset of the frame's first header byte.
    pub offset: u64,
    /// The frame's header.
    pub header: FrameHeader,
    /// The frame's payload, unmasked: in place in the caller's buffer, or, for a frame the
    /// reader copied into its message buffer (a fragment of a data message, or a text frame
    /// whose payload arrived over several reads), in that buffer. The caller's bytes of a
    /// copied frame are left as they came (masked, if the frame was).
    pub payload: &'a [u8],
    /// The frame's meaning: a fragment, a complete message, a ping, a pong, a close.
    pub event: Assembled<'a>,
}

/// The state of a stream when its bytes ran out: did it end cleanly?
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct EndOfStream {
    /// Stream offset just after the last complete frame.
    pub offset: u64,
    /// Bytes after the last complete frame that were never consumed: a frame cut short by
    /// the end of the stream, or, after a violation, everything from the violating frame
    /// on. 0 when the stream ended at a frame boundary.
    pub trailing_bytes: usize,
    /// The type of a fragmented message that was started but not finished.
    pub message_in_progress: Option<MessageKind>,
    /// Whether a Close frame was received.
    pub close_received: bool,
    /// The violation that stopped the reader, if any.
    pub violation: Option<Violation>,
}

impl EndOfStream {
    /// Whether the stream ended exactly at the end of a frame.
    #[must_use]
    pub const fn at_frame_boundary(&self) -> bool {
        self.trailing_bytes == 0
    }

    /// No violation, and the stream ended at a frame boundary with no fragmented message in
    /// progress.
    #[must_use]
    pub const fn is_clean(&self) -> bool {
        self.trailing_bytes == 0 && self.message_in_progress.is_none() && self.violation.is_none()
    }
}

/// Reads the frames one side of a connection sent, from a buffer the caller fills: the
/// parser, unmasking and [`MessageAssembler`] behind one incremental call. No I/O.
///
/// Call [`read`](Self::read) with the unconsumed bytes; on `Complete((decoded, n))` use the
/// frame, then drop `n` bytes from the front of the buffer; on `Partial` read more bytes,
/// append them, and call again with the same unconsumed bytes in front. The reader only
/// modifies the bytes of the frame it returns (unmasking them in place when it hands the
/// payload out from there) and of an incomplete frame it will hand out in place (unmasking
/// what has arrived while it is still in the cache). The unconsumed bytes must be passed
/// back unchanged: while a text frame is incomplete, the reader copies what has arrived
/// into its message buffer, validating it, and remembers how much it took; while another
/// data frame is incomplete, it remembers how much of it it unmasked. (Changed bytes give
/// a wrong message, never undefined behaviour: text is only ever handed out from bytes
/// that were validated where they are.)
///
/// # When a violation is reported
///
/// Like a byte-at-a-time reader, as soon as the byte that decides it is in the buffer, and
/// [`Violation::offset`] is that byte:
///
/// 1. first header byte: RSV bits, reserved opcode, fragmented control frame, a data frame
///    after a Close, a continuation with no message, a new message inside a fragmented one;
/// 2. second header byte: the mask bit against the sender's role;
/// 3. first byte of a 64-bit length: its top bit;
/// 4. last length byte: minimal encoding, control frame length, frame size, message size;
/// 5. payload bytes of a text message: the byte that makes it invalid UTF-8, even before the
///    frame is complete;
/// 6. last byte of the frame: a text message ending inside a code point, a Close body
///    (1 byte, invalid code, invalid UTF-8 reason).
///
/// After a violation every call returns it again: RFC 6455 §7.1.7 "An endpoint MUST NOT
/// continue to attempt to process data (including a responding Close frame) from the remote
/// endpoint after being instructed to _Fail the WebSocket Connection_."
///
/// ```
/// use pulsecheck_ws::{Assembled, FrameConfig, Role, Status, StreamReader};
///
/// // RFC 6455 §5.7: a fragmented unmasked text message, then a close.
/// let stream = [0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f, 0x88, 0x02, 0x03, 0xe8];
/// let mut reader = StreamReader::new(FrameConfig::new(Role::Server));
/// let mut buf = Vec::new();
/// let mut texts = Vec::new();
/// for chunk in stream.chunks(4) {
///     // Bytes arrive in chunks of 4: append, then read every complete frame.
///     buf.extend_from_slice(chunk);
///     let mut start = 0;
///     while let Status::Complete((frame, used)) = reader.read(&mut buf[start..])? {
///         if let Assembled::Message(m) = frame.event {
///             texts.push(m.text().unwrap().to_owned());
///         }
///         start += used;
///     }
///     buf.drain(..start);
/// }
/// assert_eq!(texts, ["Hello"]);
/// let end = reader.finish(&buf);
/// assert!(end.is_clean() && end.close_received);
/// # Ok::<(), pulsecheck_ws::Violation>(())
/// ```
#[derive(Clone, Debug)]
pub struct StreamReader {
    config: FrameConfig,
    assembler: MessageAssembler,
    /// Stream offset of the next byte the caller passes (after what `read` returned and
    /// `release` took).
    offset: u64,
    /// The incomplete text frame at the front of the buffer, being copied as it arrives.
    pending: Option<Pending>,
    /// Payload bytes of the incomplete frame at the front of the buffer already unmasked
    /// in place (a data frame that is handed out in place once complete).
    unmasked: usize,
    violation: Option<Violation>,
}

/// An incomplete text frame whose payload the reader copies (and validates) into the
/// assembler's message buffer as it arrives.
#[derive(Clone, Copy, Debug)]
struct Pending {
    header: FrameHeader,
    header_len: usize,
    /// Stream offset of the frame's first header byte.
    frame_offset: u64,
    /// Payload bytes copied so far.
    copied: usize,
    /// Set by [`StreamReader::release`]: the caller dropped the header and this many
    /// payload bytes, so its buffer starts at this payload byte.
    released: Option<usize>,
}

impl Pending {
    /// The stream offset of payload byte `i` and of the frame's last byte, for a failure.
    fn locate(&self, f: Failure) -> u64 {
        let payload_len = usize::try_from(self.header.payload_len).unwrap_or(usize::MAX);
        locate(f, self.frame_offset, self.header_len, payload_len)
    }
}

impl StreamReader {
    /// A reader at offset 0 of a stream of frames described by `config`.
    #[must_use]
    pub const fn new(config: FrameConfig) -> Self {
        Self {
            config,
            assembler: MessageAssembler::new(config.max_message_size),
            offset: 0,
            pending: None,
            unmasked: 0,
            violation: None,
        }
    }

    /// The configuration.
    #[must_use]
    pub const fn config(&self) -> &FrameConfig {
        &self.config
    }

    /// Stream offset of the next unconsumed byte (the sum of the `n` returned so far by
    /// [`read`](Self::read) and [`release`](Self::release)).
    #[must_use]
    pub const fn offset(&self) -> u64 {
        self.offset
    }

    /// The violation that stopped the reader, if any.
    #[must_use]
    pub const fn violation(&self) -> Option<Violation> {
        self.violation
    }

    /// The message assembler (what is in progress, whether a Close was received).
    #[must_use]
    pub const fn assembler(&self) -> &MessageAssembler {
        &self.assembler
    }

    /// After [`read`](Self::read) returned `Partial`: how many bytes at the front of the
    /// unconsumed buffer the reader has taken and no longer needs, which the caller may
    /// now drop like the `n` of a complete frame. The next `read` continues after them.
    ///
    /// A text frame that is still incomplete is copied into the reader's message buffer
    /// (and validated) as its bytes arrive, so the caller need not keep them: a read loop
    /// that drops them moves less when it makes room for the next read, and holds at most
    /// one read's worth of such a frame instead of all of it. Returns 0 when there is
    /// nothing to take (no frame in progress, or one whose bytes the reader does not copy
    /// before it is complete: binary, control, or extension-encoded text). Calling it is
    /// optional; a loop that never does keeps the frame's bytes until it is complete, as
    /// [`read`](Self::read) describes.
    ///
    /// ```
    /// use pulsecheck_ws::{Assembled, FrameConfig, Role, Status, StreamReader};
    ///
    /// // A text frame "Hello" arriving in reads of 3 bytes.
    /// let stream = [0x81, 0x05, b'H', b'e', b'l', b'l', b'o'];
    /// let mut reader = StreamReader::new(FrameConfig::new(Role::Server));
    /// let mut buf = Vec::new();
    /// let mut most_held = 0;
    /// for chunk in stream.chunks(3) {
    ///     buf.extend_from_slice(chunk);
    ///     most_held = most_held.max(buf.len());
    ///     let mut start = 0;
    ///     loop {
    ///         match reader.read(&mut buf[start..])? {
    ///             Status::Complete((frame, used)) => {
    ///                 if let Assembled::Message(m) = frame.event {
    ///                     assert_eq!(m.text(), Some("Hello"));
    ///                 }
    ///                 start += used;
    ///             }
    ///             Status::Partial => {
    ///                 start += reader.release();
    ///                 break;
    ///             }
    ///         }
    ///     }
    ///     buf.drain(..start);
    /// }
    /// assert_eq!(most_held, 3);
    /// assert!(reader.finish(&buf).is_clean());
    /// # Ok::<(), pulsecheck_ws::Violation>(())
    /// ```
    pub fn release(&mut self) -> usize {
        if self.violation.is_some() {
            return 0;
        }
        let Some(pending) = &mut self.pending else {
            return 0;
        };
        let taken = match pending.released {
            None => pending.header_len.saturating_add(pending.copied),
            Some(released) => pending.copied.saturating_sub(released),
        };
        pending.released = Some(pending.copied);
        self.offset = self.offset.saturating_add(taken as u64);
        taken
    }

    /// Reads the next frame from the front of `buf` (the unconsumed bytes).
    ///
    /// # Errors
    ///
    /// The first [`Violation`] of the stream, located at the byte that decided it.
    pub fn read<'a>(
        &'a mut self,
        buf: &'a mut [u8],
    ) -> Result<Status<(Decoded<'a>, usize)>, Violation> {
        if let Some(v) = self.violation {
            return Err(v);
        }
        if let Some(pending) = self.pending
            && let Some(released) = pending.released
        {
            return self.read_released(buf, pending, released);
        }
        let frame_offset = self.offset;
        let (header, header_len) =
            match parse_header_inner(buf, &self.config, Some(&self.assembler)) {
                Ok(Status::Complete(done)) => done,
                Ok(Status::Partial) => return Ok(Status::Partial),
                Err((error, at)) => {
                    let v = Violation {
                        offset: frame_offset.saturating_add(at as u64),
                        frame_offset,
                        error,
                    };
                    self.violation = Some(v);
                    return Err(v);
                }
            };
        let payload_len = usize::try_from(header.payload_len).unwrap_or(usize::MAX);
        let total = header_len.saturating_add(payload_len);

        if buf.len() < total {
            // Incomplete frame: copy and validate the text that has arrived, so invalid
            // UTF-8 fails as early as a byte-at-a-time reader would.
            let pending = match self.pending {
                Some(pending) => Some(pending),
                None => self.assembler.begin_partial(&header).then_some(Pending {
                    header,
                    header_len,
                    frame_offset,
                    copied: 0,
                    released: None,
                }),
            };
            if let Some(pending) = pending {
                let have = buf.get(header_len..).unwrap_or_default();
                let new = have.get(pending.copied..).unwrap_or_default();
                return self.copy_arrived(pending, new);
            }
            // A data frame that will be handed out in place: unmask what has arrived now,
            // while it is in the cache, rather than all of it once complete.
            if let Some(key) = header.mask
                && !header.opcode.is_control()
                && !MessageAssembler::copies(&header, false)
                && let Some(arrived) = buf.get_mut(header_len..)
                && let Some(new) = arrived.get_mut(self.unmasked..)
            {
                unmask(new, key, self.unmasked);
                self.unmasked = arrived.len();
            }
            return Ok(Status::Partial);
        }
        let Some(payload) = buf.get_mut(header_len..total) else {
            return Ok(Status::Partial); // unreachable: checked just above
        };
        let partial = self.pending.take().map(|p| p.copied);
        if MessageAssembler::copies(&header, partial.is_some()) {
            // Unmasked as it is copied.
            let rest = payload.get(partial.unwrap_or(0)..).unwrap_or_default();
            return match self.assembler.accept_copied(
                &header,
                header.payload_len,
                rest,
                header.mask,
                partial,
            ) {
                Ok((event, payload)) => {
                    self.offset = frame_offset.saturating_add(total as u64);
                    Ok(Status::Complete((
                        Decoded {
                            offset: frame_offset,
                            header,
                            payload,
                            event,
                        },
                        total,
                    )))
                }
                Err(f) => Err(record(
                    &mut self.violation,
                    locate(f, frame_offset, header_len, payload_len),
                    frame_offset,
                    f,
                )),
            };
        }
        // RFC 6455 §5.3 / §6.2: "A server MUST remove masking for data frames received
        // from a client as described in Section 5.3." Text to be validated is unmasked
        // and validated in one step (for a short payload, in one 64-byte block).
        // Bytes of it unmasked while it was incomplete (never validated text: that is
        // copied while incomplete).
        let unmasked = core::mem::take(&mut self.unmasked);
        let (payload, checked): (&'a [u8], _) = match header.mask {
            Some(key) if header.opcode == Opcode::TEXT && header.rsv.is_empty() => {
                unmask_to_str(payload, key)
            }
            Some(key) => {
                if let Some(rest) = payload.get_mut(unmasked..) {
                    unmask(rest, key, unmasked);
                }
                (payload, None)
            }
            None => (payload, None),
        };
        match self.assembler.accept_in_place(&header, payload, checked) {
            Ok(event) => {
                self.offset = frame_offset.saturating_add(total as u64);
                Ok(Status::Complete((
                    Decoded {
                        offset: frame_offset,
                        header,
                        payload,
                        event,
                    },
                    total,
                )))
            }
            Err(f) => Err(record(
                &mut self.violation,
                locate(f, frame_offset, header_len, payload_len),
                frame_offset,
                f,
            )),
        }
    }

    /// Copies `new`, the payload bytes of an incomplete text frame that arrived since the
    /// last call, into the message buffer, validating them.
    fn copy_arrived<'a>(
        &mut self,
        mut pending: Pending,
        new: &[u8],
    ) -> Result<Status<(Decoded<'a>, usize)>, Violation> {
        if let Err(f) = self
            .assembler
            .push_partial(new, pending.header.mask, pending.copied)
        {
            let v = record(
                &mut self.violation,
                pending.locate(f),
                pending.frame_offset,
                f,
            );
            return Err(v);
        }
        pending.copied = pending.copied.saturating_add(new.len());
        self.pending = Some(pending);
        Ok(Status::Partial)
    }

    /// [`read`](Self::read) after [`release`](Self::release): `buf` starts at payload
    /// byte `released` of the pending frame.
    fn read_released<'a>(
        &'a mut self,
        buf: &'a mut [u8],
        pending: Pending,
        released: usize,
    ) -> Result<Status<(Decoded<'a>, usize)>, Violation> {
        let header = pending.header;
        let payload_len = usize::try_from(header.payload_len).unwrap_or(usize::MAX);
        // What the caller still has to pass, of which the first bytes may be copied.
        let remaining = payload_len.saturating_sub(released);
        let already = pending.copied.saturating_sub(released);
        let Some(rest) = buf.get(..remaining) else {
            let new = buf.get(already..).unwrap_or_default();
            return self.copy_arrived(pending, new);
        };
        let new = rest.get(already..).unwrap_or_default();
        let frame_offset = pending.frame_offset;
        match self.assembler.accept_copied(
            &header,
            header.payload_len,
            new,
            header.mask,
            Some(pending.copied),
        ) {
            Ok((event, payload)) => {
                // Kept until here: after a violation, `finish` still counts the released
                // bytes of the frame as trailing.
                self.pending = None;
                self.offset = self.offset.saturating_add(remaining as u64);
                Ok(Status::Complete((
                    Decoded {
                        offset: frame_offset,
                        header,
                        payload,
                        event,
                    },
                    remaining,
                )))
            }
            Err(f) => Err(record(
                &mut self.violation,
                pending.locate(f),
                frame_offset,
                f,
            )),
        }
    }

    /// Describes the end of the stream, given the bytes that were never consumed.
    #[must_use]
    pub fn finish(&self, unconsumed: &[u8]) -> EndOfStream {
        // Bytes of an incomplete frame that `release` took are trailing bytes too.
        let (offset, released) = match self.pending {
            Some(Pending {
                frame_offset,
                released: Some(_),
                ..
            }) => (frame_offset, self.offset.saturating_sub(frame_offset)),
            _ => (self.offset, 0),
        };
        EndOfStream {
            offset,
            trailing_bytes: unconsumed
                .len()
                .saturating_add(usize::try_from(released).unwrap_or(usize::MAX)),
            message_in_progress: self.assembler.in_progress(),
            close_received: self.assembler.close_received(),
            violation: self.violation,
        }
    }
}

/// Records the violation a frame committed in `slot` (the reader stays failed) and
/// returns it. A free function on the one field, so the caller may still hold a borrow of
/// the assembler.
#[cold]
fn record(slot: &mut Option<Violation>, offset: u64, frame_offset: u64, f: Failure) -> Violation {
    let v = Violation {
        offset,
        frame_offset,
        error: f.error,
    };
    *slot = Some(v);
    v
}

/// The stream offset of the byte that decided a failure in the frame at `frame_offset`.
fn locate(f: Failure, frame_offset: u64, header_len: usize, payload_len: usize) -> u64 {
    let payload_start = frame_offset.saturating_add(header_len as u64);
    match f.at {
        FailAt::Payload(i) => payload_start.saturating_add(i),
        FailAt::FrameEnd => payload_start
            .saturating_add(payload_len as u64)
            .saturating_sub(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::encode_frame;
    use crate::error::ProtocolError;
    use crate::header::Role;
    use crate::opcode::Opcode;

    fn frame(out: &mut Vec<u8>, opcode: Opcode, fin: bool, mask: Option<[u8; 4]>, p: &[u8]) {
        let mut h = FrameHeader::new(opcode, p.len() as u64);
        h.fin = fin;
        h.mask = mask;
        encode_frame(out, &h, p).unwrap();
    }

    /// Feeds `data` one byte at a time and returns the first violation and the number of
    /// bytes that had been revealed when it was reported.
    fn first_violation(config: FrameConfig, data: &[u8]) -> Option<(Violation, usize)> {
        let mut reader = StreamReader::new(config);
        let mut buf = Vec::new();
        for (i, &b) in data.iter().enumerate() {
            buf.push(b);
            loop {
                match reader.read(&mut buf) {
                    Ok(Status::Complete((_, n))) => {
                        buf.drain(..n);
                    }
                    Ok(Status::Partial) => break,
                    Err(v) => return Some((v, i + 1)),
                }
            }
        }
        None
    }

    #[test]
    fn rfc6455_8_1_invalid_utf8_fails_before_the_frame_is_complete() {
        let key = [0x11, 0x22, 0x33, 0x44];
        let mut data = Vec::new();
        let mut payload = b"valid text ".to_vec();
        payload.push(0xC0); // never valid
        payload.extend_from_slice(&[b'x'; 100]);
        frame(&mut data, Opcode::TEXT, true, Some(key), &payload);
        let (v, revealed) = first_violation(FrameConfig::new(Role::Client), &data).unwrap();
        assert_eq!(v.offset, 6 + 11);
        assert_eq!(revealed, 6 + 12, "reported as soon as the bad byte arrived");
        assert_eq!(
            v.error,
            ProtocolError::InvalidUtf8 {
                valid_up_to: 11,
                error_len: Some(1)
            }
        );
        assert_eq!(v.close_code().get(), 1007);
    }

    #[test]
    fn rfc6455_5_4_fragment_offsets_and_end_state() {
        let mut data = Vec::new();
        frame(
            &mut data,
            Opcode::TEXT,
            false,
            None,
            "κό".as_bytes()[..3].as_ref(),
        );
        frame(&mut data, Opcode::PING, true, None, b"hi");
        frame(
            &mut data,
            Opcode::CONTINUATION,
            true,
            None,
            &"κό".as_bytes()[3..],
        );
        frame(&mut data, Opcode::BINARY, false, None, b"\x00");
        let mut reader = StreamReader::new(FrameConfig::new(Role::Server));
        let mut offsets = Vec::new();
        let mut events = Vec::new();
        let mut start = 0;
        while let Ok(Status::Complete((d, n))) = reader.read(&mut data[start..]) {
            offsets.push(d.offset);
            events.push(match d.event {
                Assembled::Message(m) => format!("message {}", m.text().unwrap_or("?")),
                other => format!("{other:?}"),
            });
            start += n;
        }
        assert_eq!(offsets, [0, 5, 9, 12]);
        assert_eq!(
            events,
            ["Fragment", "Ping([104, 105])", "message κό", "Fragment"]
        );
        let end = reader.finish(&data[start..]);
        assert_eq!(end.message_in_progress, Some(MessageKind::Binary));
        assert!(!end.is_clean());
        assert_eq!(end.offset, 15);
    }

    #[test]
    fn rfc6455_5_3_frames_unmasked_as_they_arrive_are_unmasked_once() {
        // A binary message (handed out in place: unmasked as it arrives) and a binary
        // message in two fragments (copied when complete: unmasked as it is copied, so
        // the arrived bytes must not have been unmasked in place too), in every chunking.
        let key = Some([0x11, 0x22, 0x33, 0x44]);
        let payload: Vec<u8> = (0..200u8).collect();
        let mut data = Vec::new();
        frame(&mut data, Opcode::BINARY, true, key, &payload);
        frame(&mut data, Opcode::BINARY, false, key, &payload[..77]);
        frame(&mut data, Opcode::CONTINUATION, true, key, &payload[77..]);
        for step in [1, 2, 3, 7, 64, 150, data.len()] {
            let mut reader = StreamReader::new(FrameConfig::new(Role::Client));
            let mut buf = Vec::new();
            let mut messages = Vec::new();
            for chunk in data.chunks(step) {
                buf.extend_from_slice(chunk);
                let mut start = 0;
                while let Ok(Status::Complete((d, n))) = reader.read(&mut buf[start..]) {
                    if let Assembled::Message(m) = d.event {
                        messages.push(m.data().to_vec());
                    }
                    start += n;
                }
                buf.drain(..start);
            }
            assert_eq!(messages, [payload.clone(), payload.clone()], "step {step}");
            assert!(reader.finish(&buf).is_clean());
        }
    }

    #[test]
    fn bytes_changed_between_reads_never_become_unchecked_text() {
        // A caller that breaks the contract (changes bytes the reader already took) gets a
        // wrong message at worst: the text handed out is the bytes that were validated.
        let key = [0x01, 0x02, 0x03, 0x04];
        for opcodes in [
            &[Opcode::TEXT][..],
            &[Opcode::TEXT, Opcode::CONTINUATION][..],
        ] {
            let mut data = Vec::new();
            for (i, &opcode) in opcodes.iter().enumerate() {
                let fin = i + 1 == opcodes.len();
                frame(&mut data, opcode, fin, Some(key), "héllo wörld".as_bytes());
            }
            let last_start = data.len() - 6 - "héllo wörld".len();
            let mut reader = StreamReader::new(FrameConfig::new(Role::Client));
            let mut start = 0;
            // Every frame before the last whole, then the last in two reads.
            while start < last_start {
                let Ok(Status::Complete((_, n))) = reader.read(&mut data[start..last_start]) else {
                    panic!("a complete fragment");
                };
                start += n;
            }
            let cut = last_start + 6 + 5;
            assert_eq!(reader.read(&mut data[start..cut]), Ok(Status::Partial));
            // Break "é" in the bytes the reader has already validated.
            data[last_start + 6 + 2] ^= 0x40;
            let Ok(Status::Complete((decoded, _))) = reader.read(&mut data[start..]) else {
                panic!("a complete message");
            };
            let Assembled::Message(message) = decoded.event else {
                panic!("a message");
            };
            let text = message.text().unwrap();
            assert!(core::str::from_utf8(text.as_bytes()).is_ok());
            assert!(text.ends_with("héllo wörld"), "{text:?}");
        }
    }

    #[test]
    fn violation_is_sticky_and_located() {
        let mut data = Vec::new();
        frame(&mut data, Opcode::TEXT, true, None, b"ok");
        frame(&mut data, Opcode::CONTINUATION, true, None, b"no");
        let mut reader = StreamReader::new(FrameConfig::new(Role::Server));
        let Ok(Status::Complete((_, n))) = reader.read(&mut data) else {
            panic!()
        };
        let v = reader.read(&mut data[n..]).unwrap_err();
        assert_eq!((v.offset, v.frame_offset), (4, 4));
        assert_eq!(v.error, ProtocolError::UnexpectedContinuation);
        assert_eq!(reader.read(&mut []), Err(v));
        assert_eq!(reader.finish(&[]).violation, Some(v));
    }

    #[test]
    fn close_body_errors_are_located_at_the_last_byte() {
        let mut data = Vec::new();
        frame(&mut data, Opcode::CLOSE, true, None, b"\x03\xe8\xff");
        let (v, revealed) = first_violation(FrameConfig::new(Role::Server), &data).unwrap();
        assert_eq!((v.offset, revealed), (4, 5));
        assert_eq!(v.close_code().get(), 1007);
    }
}
