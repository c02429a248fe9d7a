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
/// payload out from there). The unconsumed bytes must be passed back unchanged: while a
/// text frame is incomplete, the reader copies what has arrived into its message buffer,
/// validating it, and remembers how much it took. (Changed bytes give a wrong message,
/// never undefined behaviour: text is only ever handed out from bytes that were validated
/// where they are.)
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
    offset: u64,
    /// Payload bytes of the incomplete text frame at the front of the buffer already
    /// copied (and validated) into the assembler's message buffer.
    pending: Option<usize>,
    violation: Option<Violation>,
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
            violation: None,
        }
    }

    /// The configuration.
    #[must_use]
    pub const fn config(&self) -> &FrameConfig {
        &self.config
    }

    /// Stream offset of the next unconsumed byte (the sum of the `n` returned so far).
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
        let at_payload = |i: u64| {
            frame_offset
                .saturating_add(header_len as u64)
                .saturating_add(i)
        };
        let at_end = frame_offset.saturating_add(total as u64).saturating_sub(1);

        if buf.len() < total {
            // Incomplete frame: copy and validate the text that has arrived, so invalid
            // UTF-8 fails as early as a byte-at-a-time reader would.
            let copied = match self.pending {
                Some(copied) => Some(copied),
                None => self.assembler.begin_partial(&header).then_some(0),
            };
            if let Some(copied) = copied {
                let have = buf.get(header_len..).unwrap_or_default();
                let new = have.get(copied..).unwrap_or_default();
                if let Err(f) = self.assembler.push_partial(new, header.mask, copied) {
                    let v = Violation {
                        offset: failure_offset(f, at_payload, at_end),
                        frame_offset,
                        error: f.error,
                    };
                    self.violation = Some(v);
                    return Err(v);
                }
                self.pending = Some(copied.saturating_add(new.len()));
            }
            return Ok(Status::Partial);
        }
        let Some(payload) = buf.get_mut(header_len..total) else {
            return Ok(Status::Partial); // unreachable: checked just above
        };
        let partial = self.pending.take();
        if MessageAssembler::copies(&header, partial.is_some()) {
            // Unmasked as it is copied.
            return match self
                .assembler
                .accept_copied(&header, payload, header.mask, partial)
            {
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
                    failure_offset(f, at_payload, at_end),
                    frame_offset,
                    f,
                )),
            };
        }
        // RFC 6455 §5.3 / §6.2: "A server MUST remove masking for data frames received
        // from a client as described in Section 5.3." Text to be validated is unmasked
        // and validated in one step (for a short payload, in one 64-byte block).
        let (payload, checked): (&'a [u8], _) = match header.mask {
            Some(key) if header.opcode == Opcode::TEXT && header.rsv.is_empty() => {
                unmask_to_str(payload, key)
            }
            Some(key) => {
                unmask(payload, key, 0);
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
                failure_offset(f, at_payload, at_end),
                frame_offset,
                f,
            )),
        }
    }

    /// Describes the end of the stream, given the bytes that were never consumed.
    #[must_use]
    pub fn finish(&self, unconsumed: &[u8]) -> EndOfStream {
        EndOfStream {
            offset: self.offset,
            trailing_bytes: unconsumed.len(),
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

fn failure_offset(f: Failure, at_payload: impl Fn(u64) -> u64, at_end: u64) -> u64 {
    match f.at {
        FailAt::Payload(i) => at_payload(i),
        FailAt::FrameEnd => at_end,
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
