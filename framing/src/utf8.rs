//! Incremental UTF-8 validation across fragments (RFC 6455 §5.6, §8.1).
//!
//! RFC 6455 §5.6: "Note that a particular text frame might include a partial UTF-8
//! sequence; however, the whole message MUST contain valid UTF-8." A receiver that waits
//! for the end of the message before validating is slow to fail (Autobahn calls it
//! NON-STRICT); [`Utf8Validator`] checks each fragment as it arrives with the crate's fast
//! check ([`str_from_utf8`]: AVX-512 where the CPU has it, else simdutf8), locates an
//! error with simdutf8's `compat` API, and carries at most three bytes of a code point cut
//! by a fragment boundary into the next fragment.

use simdutf8::compat;

/// Where a byte stream stopped being UTF-8.
///
/// `valid_up_to` and `error_len` mean what they mean in [`std::str::Utf8Error`], counted
/// from the start of the message; `rejected_at` is the byte that proved it: the first byte
/// after which no continuation can make the stream valid.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Utf8Error {
    /// The stream is valid UTF-8 up to this position.
    pub valid_up_to: u64,
    /// The length of the invalid sequence at `valid_up_to` (1 to 3), or `None` when the
    /// stream ended inside a code point.
    pub error_len: Option<u8>,
    /// The position of the byte that made the stream invalid: `valid_up_to` when that byte
    /// cannot start a code point, the byte after the valid prefix of the sequence when it
    /// breaks one, and the stream length when the stream ended inside a code point.
    pub rejected_at: u64,
}

/// The bytes as `&str` if they are valid UTF-8 — [`core::str::from_utf8`]'s verdict, with
/// the widest vectors the CPU has: AVX-512 (F, BW and VBMI, as on AMD Zen 4 and Intel Ice
/// Lake and later) in one pass of 64 bytes at a time, otherwise simdutf8 (AVX2 or SSE4.2,
/// chosen at run time). The same check validates every text payload the crate hands out.
///
/// ```
/// use pulsecheck_ws::str_from_utf8;
///
/// assert_eq!(str_from_utf8("z\u{fc}rich \u{1F600}".as_bytes()), Some("z\u{fc}rich \u{1F600}"));
/// assert_eq!(str_from_utf8(b"\xED\xA0\x80"), None); // a surrogate
/// assert_eq!(str_from_utf8(b"cut \xE2\x82"), None); // ends inside a code point
/// ```
#[must_use]
pub fn str_from_utf8(bytes: &[u8]) -> Option<&str> {
    crate::fast_utf8::to_str(bytes)
}

/// An incremental UTF-8 validator: feed it fragments, then [`finish`](Self::finish).
///
/// Fails at the first fragment that contains an invalid byte, never later.
///
/// ```
/// use pulsecheck_ws::Utf8Validator;
///
/// // "€" is E2 82 AC; split it across three fragments.
/// let mut v = Utf8Validator::new();
/// v.feed(b"price: \xE2")?;
/// v.feed(b"\x82")?;
/// v.feed(b"\xAC")?;
/// v.finish()?;
///
/// let mut v = Utf8Validator::new();
/// v.feed(b"ok \xE2\x82")?;
/// let err = v.feed(b"A").unwrap_err(); // the 'A' breaks the code point
/// assert_eq!((err.valid_up_to, err.error_len, err.rejected_at), (3, Some(2), 5));
/// # Ok::<(), pulsecheck_ws::Utf8Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Utf8Validator {
    /// The bytes of a code point cut at the end of the last fragment (at most 3 used).
    carry: [u8; 4],
    carry_len: u8,
    /// Bytes fed so far.
    pos: u64,
    failed: Option<Utf8Error>,
}

/// The length of the sequence a lead byte announces (RFC 3629 §4); 1 for a byte that
/// starts no multi-byte sequence.
const fn sequence_len(lead: u8) -> usize {
    match lead {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => 1,
    }
}

/// Whether `seq` is a valid UTF-8 sequence or a valid start of one (RFC 3629 §4, the
/// table of well-formed sequences): a lead byte, then at most as many continuation bytes
/// as it announces, the first one in the range the lead allows (no overlong forms, no
/// surrogates, nothing above U+10FFFF).
fn is_sequence_prefix(seq: &[u8]) -> bool {
    let Some((&lead, rest)) = seq.split_first() else {
        return false;
    };
    let second = match lead {
        0xC2..=0xDF | 0xE1..=0xEC | 0xEE..=0xEF | 0xF1..=0xF3 => 0x80..=0xBF,
        0xE0 => 0xA0..=0xBF,
        0xED => 0x80..=0x9F,
        0xF0 => 0x90..=0xBF,
        0xF4 => 0x80..=0x8F,
        _ => return false,
    };
    rest.len() < sequence_len(lead)
        && rest.first().is_none_or(|b| second.contains(b))
        && rest.iter().skip(1).all(|b| (0x80..=0xBF).contains(b))
}

/// Where a code point cut by the end of `bytes` starts: the position of a lead byte among
/// the last three whose sequence needs more bytes than follow it; `bytes.len()` when the
/// bytes do not end inside a sequence (or end in bytes no sequence can start with, which
/// validation then rejects).
fn incomplete_tail_start(bytes: &[u8]) -> usize {
    let len = bytes.len();
    for back in 1..=len.min(3) {
        let b = bytes[len - back];
        if b & 0xC0 == 0x80 {
            continue; // a continuation byte: the lead is further back
        }
        return if sequence_len(b) > back {
            len - back
        } else {
            len
        };
    }
    len
}

/// simdutf8's block: it checks input in blocks of this many bytes, and copies a last,
/// partial block into a block of its own first.
const BLOCK: usize = 64;

/// Whether `buf[start..end]` is valid UTF-8, given that `buf[validated..start]` is (bytes
/// already validated, which end on a code point boundary).
///
/// simdutf8 copies the last partial block of its input into a zeroed block of its own
/// before checking it: a fixed cost per call, paid once per fragment (a wide load of
/// narrow stores, which waits for them to retire). Instead, the check starts up to 63
/// bytes early, inside the bytes already validated, so that it covers whole blocks and
/// ends where the new bytes end. That start must be a code point boundary, i.e. not a
/// continuation byte (in valid UTF-8 every other byte starts a code point): then the
/// bytes from there to `start` are whole valid code points, and the longer range is
/// valid exactly when the new bytes are. When no such start lies among the validated
/// bytes (near the start of the message), the new bytes are checked alone. (The AVX-512
/// check reads a last partial block with a masked load and needs no such start; there the
/// early start only adds at most 63 bytes to the check. It is kept for CPUs on simdutf8.)
fn is_utf8_after(buf: &[u8], validated: usize, start: usize, end: usize) -> bool {
    let len = end.saturating_sub(start);
    let mut block_start = end.checked_sub(len.next_multiple_of(BLOCK));
    // Two tries: one block further back if the first start is inside a code point.
    for _ in 0..2 {
        let Some(at) = block_start.filter(|&at| at >= validated) else {
            break;
        };
        match buf.get(at..end) {
            Some(blocks @ [first, ..]) if first & 0xC0 != 0x80 => {
                return crate::fast_utf8::to_str(blocks).is_some();
            }
            _ => block_start = at.checked_sub(BLOCK),
        }
    }
    buf.get(start..end)
        .is_some_and(|bytes| crate::fast_utf8::to_str(bytes).is_some())
}

/// Builds the error for an invalid sequence found at `bytes[valid_up_to]`, where `bytes`
/// starts at stream position `base`.
pub(crate) fn invalid_at(
    base: u64,
    bytes: &[u8],
    valid_up_to: usize,
    error_len: usize,
) -> Utf8Error {
    // A byte that can start a code point (C2..F4) is rejected by a later byte: the one
    // after its valid prefix. Any other byte is rejected by itself.
    let starts_sequence = matches!(bytes.get(valid_up_to), Some(0xC2..=0xF4));
    let rejected = if starts_sequence {
        valid_up_to.saturating_add(error_len)
    } else {
        valid_up_to
    };
    Utf8Error {
        valid_up_to: base.saturating_add(valid_up_to as u64),
        error_len: u8::try_from(error_len).ok(),
        rejected_at: base.saturating_add(rejected as u64),
    }
}

impl Utf8Validator {
    /// A validator at the start of a message.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            carry: [0; 4],
            carry_len: 0,
            pos: 0,
            failed: None,
        }
    }

    /// Bytes fed so far.
    #[must_use]
    pub const fn position(&self) -> u64 {
        self.pos
    }

    /// Whether the bytes fed so far end on a code point boundary.
    #[must_use]
    pub const fn is_boundary(&self) -> bool {
        self.carry_len == 0
    }

    /// Validates the next fragment.
    ///
    /// # Errors
    ///
    /// The first invalid sequence, as soon as the fragment that proves it arrives. After an
    /// error the validator keeps returning it.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), Utf8Error> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let result = self.feed_inner(chunk);
        if let Err(e) = result {
            self.failed = Some(e);
        }
        result
    }

    /// [`feed`](Self::feed) for bytes that lie right after the ones fed before, in one
    /// buffer: feeds `buf[from..]`, where `buf[..from]` ends with the bytes fed so far.
    ///
    /// A code point cut by the previous fragment is then validated in place, together
    /// with the new bytes, by one call of the fast check, instead of being completed
    /// from the carry first; that call covers whole 64-byte blocks, reaching back into
    /// the bytes fed before when they allow it (see `is_utf8_after`). Only a fragment
    /// that fails the fast check goes through [`feed`](Self::feed), which locates the
    /// error. The verdict and the state after it are the same as `feed`'s.
    pub(crate) fn feed_in_buffer(&mut self, buf: &[u8], from: usize) -> Result<(), Utf8Error> {
        let carried = usize::from(self.carry_len);
        let (Some(start), Some(chunk)) = (from.checked_sub(carried), buf.get(from..)) else {
            return self.feed(buf.get(from..).unwrap_or_default());
        };
        let region = buf.get(start..).unwrap_or_default();
        debug_assert_eq!(region.get(..carried), self.carry.get(..carried));
        let whole = incomplete_tail_start(region);
        let tail = region.get(whole..).unwrap_or_default();
        // The bytes fed so far, all valid, lie at `buf[validated..from]`.
        let validated = from.saturating_sub(usize::try_from(self.pos).unwrap_or(usize::MAX));
        if self.failed.is_some()
            || (whole > 0 && !is_utf8_after(buf, validated, start, start.saturating_add(whole)))
            || !(tail.is_empty() || is_sequence_prefix(tail))
        {
            return self.feed(chunk);
        }
        // Valid so far: the new bytes are fed; what is cut at the end is carried.
        self.pos = self.pos.saturating_add(chunk.len() as u64);
        // At most three bytes, copied one by one (a copy of a run-time length is a call).
        if let Some(&b) = tail.first() {
            self.carry[0] = b;
        }
        if let Some(&b) = tail.get(1) {
            self.carry[1] = b;
        }
        if let Some(&b) = tail.get(2) {
            self.carry[2] = b;
        }
        self.carry_len = tail.len().min(3) as u8;
        Ok(())
    }

    fn feed_inner(&mut self, chunk: &[u8]) -> Result<(), Utf8Error> {
        let mut rest = chunk;
        if self.carry_len > 0 {
            // Complete the code point cut at the end of the previous fragment.
            let have = usize::from(self.carry_len);
            let need = sequence_len(self.carry[0]).saturating_sub(have);
            let take = need.min(rest.len());
            let (taken, after) = rest.split_at(take);
            let mut seq = self.carry;
            let Some(slot) = seq.get_mut(have..have + take) else {
                return Ok(()); // unreachable: have + need <= 4
            };
            slot.copy_from_slice(taken);
            let seq = seq.get(..have + take).unwrap_or_default();
            let start = self.pos.saturating_sub(have as u64);
            // The table check settles a valid sequence (or a valid start of one);
            // `compat` only describes an error.
            let checked = if is_sequence_prefix(seq) && seq.len() == sequence_len(self.carry[0]) {
                Ok("")
            } else {
                compat::from_utf8(seq)
            };
            match checked {
                Ok(_) => {
                    self.carry_len = 0;
                    self.pos = self.pos.saturating_add(take as u64);
                    rest = after;
                }
                Err(e) => match e.error_len() {
                    // Still incomplete: the whole (short) chunk went into the carry.
                    None => {
                        self.carry[..seq.len()].copy_from_slice(seq);
                        self.carry_len = seq.len() as u8;
                        self.pos = self.pos.saturating_add(take as u64);
                        return Ok(());
                    }
                    Some(n) => return Err(invalid_at(start, seq, e.valid_up_to(), n)),
                },
            }
        }
        // The fast check on everything but a code point cut at the end (the common
        // case, valid text, then costs one pass of the fast check); only a
        // fragment that fails it pays for `compat`, which locates the error.
        let whole = incomplete_tail_start(rest);
        let (body, tail) = rest.split_at(whole);
        if crate::fast_utf8::to_str(body).is_none() {
            // Locate the error in the whole fragment: when `body` ends inside a code
            // point, the tail's first byte (a lead byte) is what breaks it.
            return Err(match compat::from_utf8(rest) {
                Err(e) => invalid_at(self.pos, rest, e.valid_up_to(), e.error_len().unwrap_or(1)),
                // Unreachable: a fragment whose body is invalid is invalid.
                Ok(_) => invalid_at(self.pos, rest, 0, 1),
            });
        }
        let tail_at = self.pos.saturating_add(whole as u64);
        self.pos = self.pos.saturating_add(rest.len() as u64);
        if tail.is_empty() {
            return Ok(());
        }
        // The start of a code point that the next fragment completes: it must be a
        // valid start so far (E0 80, say, can never become valid), and is carried.
        if is_sequence_prefix(tail) {
            let n = tail.len().min(3);
            self.carry[..n].copy_from_slice(&tail[..n]);
            self.carry_len = n as u8;
            return Ok(());
        }
        match compat::from_utf8(tail) {
            Err(e) if e.error_len().is_none() => {
                let n = tail.len().min(3);
                self.carry[..n].copy_from_slice(&tail[..n]);
                self.carry_len = n as u8;
                Ok(())
            }
            Err(e) => Err(invalid_at(
                tail_at,
                tail,
                e.valid_up_to(),
                e.error_len().unwrap_or(1),
            )),
            // Unreachable: `incomplete_tail_start` only cuts before an incomplete sequence.
            Ok(_) => Ok(()),
        }
    }

    /// Declares the end of the message.
    ///
    /// # Errors
    ///
    /// When the message ended inside a code point (`error_len == None`), or an earlier
    /// fragment was invalid.
    pub fn finish(&self) -> Result<(), Utf8Error> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        if self.carry_len > 0 {
            return Err(Utf8Error {
                valid_up_to: self.pos.saturating_sub(u64::from(self.carry_len)),
                error_len: None,
                rejected_at: self.pos,
            });
        }
        Ok(())
    }
}

impl core::fmt::Display for Utf8Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.error_len {
            Some(n) => write!(
                f,
                "invalid UTF-8: {n}-byte invalid sequence at byte {} (rejected at byte {})",
                self.valid_up_to, self.rejected_at
            ),
            None => write!(
                f,
                "invalid UTF-8: ends inside a code point starting at byte {}",
                self.valid_up_to
            ),
        }
    }
}

impl std::error::Error for Utf8Error {}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chunks: &[&[u8]]) -> Result<(), (usize, Utf8Error)> {
        let mut v = Utf8Validator::new();
        for (i, c) in chunks.iter().enumerate() {
            v.feed(c).map_err(|e| (i, e))?;
        }
        v.finish().map_err(|e| (chunks.len(), e))
    }

    #[test]
    fn rfc6455_5_6_text_frame_may_end_inside_a_code_point() {
        // U+1F600 F0 9F 98 80 split at every position, and across four fragments.
        let s = "a😀b".as_bytes();
        for cut in 0..=s.len() {
            assert_eq!(run(&[&s[..cut], &s[cut..]]), Ok(()), "cut {cut}");
        }
        assert_eq!(run(&[b"a\xF0", b"\x9F", b"\x98", b"\x80b"]), Ok(()));
        assert_eq!(run(&[b"", b"\xF0", b"", b"\x9F\x98", b"", b"\x80"]), Ok(()));
    }

    #[test]
    fn rfc6455_8_1_fails_in_the_fragment_holding_the_bad_byte() {
        // E0 must be followed by A0..BF: 80 is rejected where it arrives, fragment 1.
        let err = run(&[b"xy\xE0", b"\x80\x80", b"ok"]).unwrap_err();
        assert_eq!(
            err,
            (
                1,
                Utf8Error {
                    valid_up_to: 2,
                    error_len: Some(1),
                    rejected_at: 3
                }
            )
        );
        // A byte that can never appear (FF) is rejected at itself.
        let err = run(&[b"ab", b"c\xFF"]).unwrap_err();
        assert_eq!(err.1.rejected_at, 3);
        assert_eq!(err.0, 1);
        // Invalid lead already in a fragment's tail fails fast in that fragment.
        assert_eq!(run(&[b"ab\xF5", b""]).unwrap_err().0, 0);
        // Surrogates (ED A0..BF) are invalid in UTF-8.
        let err = run(&[b"\xED", b"\xA0\x80"]).unwrap_err();
        assert_eq!((err.0, err.1.valid_up_to, err.1.rejected_at), (1, 0, 1));
    }

    #[test]
    fn rfc6455_5_6_message_ending_inside_a_code_point_is_invalid() {
        let err = run(&[b"abc\xE2\x82"]).unwrap_err();
        assert_eq!(
            err,
            (
                1,
                Utf8Error {
                    valid_up_to: 3,
                    error_len: None,
                    rejected_at: 5
                }
            )
        );
    }

    #[test]
    fn rfc6455_8_1_a_code_point_broken_by_a_lead_byte_that_ends_the_fragment() {
        // F0 90 80 is a valid start; the C2 that ends the fragment breaks it (std: a
        // 3-byte invalid sequence at 1), though C2 alone would be a valid cut start.
        let err = run(&[b"a\xF0\x90\x80\xC2", b"\x80"]).unwrap_err();
        assert_eq!(
            err,
            (
                0,
                Utf8Error {
                    valid_up_to: 1,
                    error_len: Some(3),
                    rejected_at: 4
                }
            )
        );
    }

    #[test]
    fn sequence_prefix_table_agrees_with_std_on_every_short_sequence() {
        // Every lead byte >= 0x80 followed by up to two bytes (all 2- and 3-byte
        // sequences, and every 3-byte start of a 4-byte one) and, for 4-byte leads, every
        // continuation: valid or a valid start of a code point, exactly as std decides.
        let std_says = |seq: &[u8]| match core::str::from_utf8(seq) {
            Ok(text) => text.chars().count() == 1,
            Err(e) => e.valid_up_to() == 0 && e.error_len().is_none(),
        };
        for lead in 0x80..=0xFFu8 {
            assert_eq!(is_sequence_prefix(&[lead]), std_says(&[lead]), "{lead:x}");
            for b1 in 0..=0xFFu8 {
                let two = [lead, b1];
                assert_eq!(is_sequence_prefix(&two), std_says(&two), "{two:x?}");
                for b2 in 0..=0xFFu8 {
                    let three = [lead, b1, b2];
                    assert_eq!(is_sequence_prefix(&three), std_says(&three), "{three:x?}");
                }
            }
        }
        for b3 in 0..=0xFFu8 {
            for start in [[0xF0, 0x90, 0x80], [0xF4, 0x8F, 0xBF], [0xF3, 0xBF, 0xBF]] {
                let four = [start[0], start[1], start[2], b3];
                assert_eq!(is_sequence_prefix(&four), std_says(&four), "{four:x?}");
            }
        }
    }

    #[test]
    fn errors_are_sticky() {
        let mut v = Utf8Validator::new();
        let e = v.feed(b"\x80").unwrap_err();
        assert_eq!(v.feed(b"fine"), Err(e));
        assert_eq!(v.finish(), Err(e));
    }
}
