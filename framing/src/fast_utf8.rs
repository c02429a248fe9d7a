//! The crate's only `unsafe` code: UTF-8 to `&str` without validating twice, validation and
//! unmasking with AVX-512 (the `avx512` submodule's loads and stores), and unmasking with
//! the CPU's widest vectors.
//!
//! Every `from_utf8_unchecked` here produces a `&str` whose validity was proven *inside
//! this module*, by code that saw exactly the bytes handed out; nothing outside can ask for
//! a `&str` of bytes it merely claims are valid. Debug builds (every test, property test
//! and fuzz run) re-check each one with the standard library.
//!
//! **Short payloads ([`to_str`]).** simdutf8 hands inputs shorter than its 64-byte block
//! to the standard library's byte-at-a-time validator, which is slow on mixed text.
//! Measured on the `ws/tiny` benchmark (text frames of 0–125 bytes, median 19): that
//! validator took 47% of the time per frame. Copying the payload into a zero-padded
//! 64-byte block lets the SIMD path run, and padding cannot change the verdict: NUL
//! bytes are ASCII, so valid text stays valid, and a sequence cut at the payload's end is
//! still cut (a NUL is not a continuation byte). The `&str` simdutf8 returns borrows the
//! block, so producing one that borrows the payload needs `from_utf8_unchecked`.
//! [`unmask_to_str`] does the same for a masked text frame, unmasking it in the block on
//! the way (`ws/tiny`, perf samples inside the timed run, median of three: 1331–1483 →
//! 1197–1231 µs per run, the floor 976): unmasking the payload in place in words, a
//! half word and bytes, then copying it into the block, stalled the copy's wide loads
//! behind the narrow stores.
//!
//! **Validating with AVX-512 (`avx512`).** On a CPU with AVX-512F, BW and VBMI (AMD Zen 4,
//! Intel Ice Lake and later), [`to_str`] and [`unmask_to_str`] run our own
//! port of simdutf8's algorithm to 64-byte vectors, which validates about twice as fast on
//! mixed text, and for a masked frame unmasks in the same pass. Measured with the profile
//! driver (p10 of 200 runs, the old and new binaries alternating from one path, three
//! rounds; AMD EPYC Zen 4): `ws/64kib-text` in place 228.6–230.1 → 101.5–103.4 µs
//! (sockudo-ws 230.6), in the read loop 292.8–300.3 → 185.5–192.1 µs (sockudo-ws (copy)
//! 281.4); `ws/1kib-text` 67.7–68.0 → 33.5–33.9 µs; `ws/fragmented-text` 215.4–217.6 →
//! 139.6–140.3 µs; `ws/tiny` 935–942 → 619–624 µs. Other CPUs keep the paths below.
//!
//! **Assembled messages ([`MessageBuf`]).** Text that arrives in pieces — the fragments
//! of a message, or a frame that spans several reads — is validated piece by piece as it
//! arrives, so invalid UTF-8 fails at the first bad byte; validating the joined message
//! again only to produce a `&str` cost a whole extra pass (`ws/fragmented-text`:
//! 4.6 → 6.1 GB/s without it). [`MessageBuf`] owns both the bytes and the validator: the
//! only way to add bytes is [`MessageBuf::push`], which validates exactly the bytes it
//! stored, so when the validator accepts the whole message, the buffer *is* valid UTF-8.
//!
//! **Unmasking with the CPU's widest vectors ([`xor_words_wide`], [`copy_xor_words_wide`]).**
//! The portable unmask in mask.rs is compiled for the baseline x86-64 target, where LLVM
//! turns it into 16-byte SSE2 operations. The same Rust compiled with AVX2 enabled works
//! on 32 bytes at a time; calling it is `unsafe` because a CPU without AVX2 would fault,
//! so it is called only after `is_x86_feature_detected!` found AVX2 (a cached flag).
//! Measured on `ws/fragmented-text` in place (perf samples inside the timed run of the
//! profile driver, median of three): 338 → 311 µs per run, sockudo-ws (which unmasks with
//! AVX-512) 294–309 µs in the same minutes.
//!
//! On a CPU with AVX-512F the in-place XOR goes 64 bytes at a time
//! ([`xor_words_avx512`], intrinsics: an unaligned load, XOR and store per block, the
//! pointers taken from `&mut [u8; 64]`). Measured with the profile driver on an AMD EPYC
//! (Zen 4), each binary run from the same path, p10 of 200 runs, two rounds: the read-loop
//! rows `ws/64kib-binary` 88.8–90.5 → 83.6–84.0 µs and `ws/16mib-binary` 467–468 →
//! 439–441 µs, the others within the noise. The copying XOR stays at AVX2: with AVX-512
//! it made `ws/fragmented-text` 3–7% slower.
#![allow(unsafe_code)]

use crate::mask::{copy_unmask, copy_xor_words_portable, xor_words_portable};

#[cfg(target_arch = "x86_64")]
mod avx512;

/// Whether the CPU runs the AVX-512 validator (`avx512`): AVX-512F, BW and VBMI.
#[cfg(target_arch = "x86_64")]
#[inline]
fn has_avx512_utf8() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
        && std::arch::is_x86_feature_detected!("avx512vbmi")
}

/// XORs `data` with `word` (see [`xor_words_portable`]) using AVX-512F or AVX2 when the
/// CPU has it.
#[inline]
pub(crate) fn xor_words_wide(data: &mut [u8], word: u64) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: `xor_words_avx512` is compiled with AVX-512F enabled; the requirement
        // for calling it is that the CPU supports AVX-512F, checked just above (its
        // own `unsafe` block has its own SAFETY note).
        unsafe { xor_words_avx512(data, word) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: `xor_words_avx2` is safe code compiled with AVX2 enabled; the only
        // requirement for calling it is that the CPU supports AVX2, checked just above.
        unsafe { xor_words_avx2(data, word) };
        return;
    }
    xor_words_portable(data, word);
}

/// Copies `src` into `dst` XORed with `word` (see [`copy_xor_words_portable`]) using AVX2
/// when the CPU has it.
#[inline]
pub(crate) fn copy_xor_words_wide(dst: &mut [u8], src: &[u8], word: u64) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: as in `xor_words_wide`: safe code compiled with AVX2, which the CPU
        // was just found to support.
        unsafe { copy_xor_words_avx2(dst, src, word) };
        return;
    }
    copy_xor_words_portable(dst, src, word);
}

/// [`xor_words_portable`] compiled with AVX2 (it is always inlined, so LLVM vectorises
/// it at 32 bytes here).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn xor_words_avx2(data: &mut [u8], word: u64) {
    xor_words_portable(data, word);
}

/// [`copy_xor_words_portable`] compiled with AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn copy_xor_words_avx2(dst: &mut [u8], src: &[u8], word: u64) {
    copy_xor_words_portable(dst, src, word);
}
use crate::utf8::{Utf8Error, Utf8Validator};

/// The payload as `&str` if it is valid UTF-8.
#[inline]
pub(crate) fn to_str(bytes: &[u8]) -> Option<&str> {
    #[cfg(target_arch = "x86_64")]
    if has_avx512_utf8() {
        // SAFETY: the CPU supports the three extensions `avx512::is_utf8` is compiled
        // for, checked just above.
        if !unsafe { avx512::is_utf8(bytes) } {
            return None;
        }
        debug_assert!(core::str::from_utf8(bytes).is_ok());
        // SAFETY: `avx512::is_utf8` just accepted exactly these bytes.
        return Some(unsafe { core::str::from_utf8_unchecked(bytes) });
    }
    let mut block = [0u8; 64];
    let Some(prefix) = block.get_mut(..bytes.len()) else {
        return simdutf8::basic::from_utf8(bytes).ok();
    };
    prefix.copy_from_slice(bytes);
    simdutf8::basic::from_utf8(&block).ok()?;
    debug_assert!(core::str::from_utf8(bytes).is_ok());
    // SAFETY: `block` starts with `bytes` and is valid UTF-8; a prefix of valid UTF-8
    // followed only by NUL bytes is itself valid UTF-8 (see the module docs).
    Some(unsafe { core::str::from_utf8_unchecked(bytes) })
}

/// `LEN_MASK[64 - n..128 - n]` is `n` bytes of 0xFF followed by zeros: the key of a
/// payload of `n <= 64` bytes, ANDed with it, leaves the padding of its block at zero.
static LEN_MASK: [u8; 128] = {
    let mut mask = [0u8; 128];
    let mut i = 0;
    while i < 64 {
        mask[i] = 0xFF;
        i += 1;
    }
    mask
};

/// Unmasks a text frame's whole payload in place (`key` at phase 0) and returns it, with
/// the payload as text if it is valid UTF-8.
///
/// A payload of at most 64 bytes (most WebSocket messages) is unmasked and validated in
/// one zero-padded block, as [`to_str`] validates: copied in, XORed with the key (ANDed
/// with a length mask, so the padding stays NUL) in eight fixed words, validated, and
/// copied back. Unmasking the payload in place first, in words, a half word and bytes,
/// and then copying it into the block made the copy's wide loads wait for the narrow
/// stores to retire (a store-forwarding stall on every tiny frame).
#[inline]
pub(crate) fn unmask_to_str(payload: &mut [u8], key: [u8; 4]) -> (&[u8], Option<&str>) {
    #[cfg(target_arch = "x86_64")]
    if has_avx512_utf8() {
        // SAFETY: checked just above, as in `to_str`.
        let valid = unsafe { avx512::unmask_is_utf8(payload, crate::mask::key_word(key)) };
        let payload: &[u8] = payload;
        if !valid {
            return (payload, None);
        }
        debug_assert!(core::str::from_utf8(payload).is_ok());
        // SAFETY: `avx512::unmask_is_utf8` checked the bytes it stored into `payload`,
        // which are what `payload` now holds.
        return (
            payload,
            Some(unsafe { core::str::from_utf8_unchecked(payload) }),
        );
    }
    let len = payload.len();
    let mut block = [0u8; 64];
    let (Some(prefix), Some(len_mask)) = (
        block.get_mut(..len),
        LEN_MASK.get(64usize.saturating_sub(len)..128usize.saturating_sub(len)),
    ) else {
        // Unaligned: the validation right after loads the payload in wide vectors,
        // which would wait for the narrow stores of an aligning head to retire.
        crate::mask::xor_words(payload, crate::mask::key_word(key));
        let payload: &[u8] = payload;
        return (payload, to_str(payload));
    };
    prefix.copy_from_slice(payload);
    let word = crate::mask::key_word(key);
    let (words, _) = block.as_chunks_mut::<8>();
    let (masks, _) = len_mask.as_chunks::<8>();
    for (w, m) in words.iter_mut().zip(masks) {
        *w = (u64::from_ne_bytes(*w) ^ (word & u64::from_ne_bytes(*m))).to_ne_bytes();
    }
    let Some(unmasked) = block.get(..len) else {
        return (payload, None); // unreachable: `prefix` had this length
    };
    payload.copy_from_slice(unmasked);
    let payload: &[u8] = payload;
    if simdutf8::basic::from_utf8(&block).is_err() {
        return (payload, None);
    }
    debug_assert!(core::str::from_utf8(payload).is_ok());
    // SAFETY: `block` is `payload` (copied from it just above) followed only by NUL
    // bytes (the length mask kept the key off them), and is valid UTF-8; so `payload`
    // is valid UTF-8, as in `to_str`.
    (
        payload,
        Some(unsafe { core::str::from_utf8_unchecked(payload) }),
    )
}

/// Bytes copied, unmasked and validated per step of [`MessageBuf::push`]: small enough
/// that the validator reads them from the L1/L2 cache right after the copy wrote them.
const PUSH_BLOCK: usize = 16 << 10;

/// The bytes of a message being assembled, and — for text — the UTF-8 state of exactly
/// those bytes.
///
/// The message is `bytes[..len]`. The bytes after it are left from earlier, longer
/// messages: `bytes` only ever grows, so storing a message writes into memory that is
/// already initialised instead of zeroing it first (a memset per fragment, 5% of
/// `ws/fragmented-text`), and is never read past `len`.
///
/// Invariant (what makes [`MessageBuf::text`] sound): while `utf8` is `Some`, it has been
/// fed every byte of `bytes[..len]`, in order, and nothing else. The fields are private to
/// this module, and every method keeps it: [`start`](Self::start) and
/// [`clear`](Self::clear) empty the message and the validator; [`push`](Self::push) feeds
/// the validator the very bytes it stored after `len` (after unmasking them, as they are
/// stored) before it moves `len` past them, and, when the validator rejects them, restores
/// `len` and the validator to what they were before the call.
#[derive(Clone, Debug, Default)]
pub(crate) struct MessageBuf {
    bytes: Vec<u8>,
    len: usize,
    utf8: Option<Utf8Validator>,
}

impl MessageBuf {
    /// An empty buffer.
    pub(crate) const fn new() -> Self {
        Self {
            bytes: Vec::new(),
            len: 0,
            utf8: None,
        }
    }

    /// Empties the buffer for a new message, validated as UTF-8 when `text`.
    pub(crate) fn start(&mut self, text: bool) {
        self.len = 0;
        self.utf8 = text.then(Utf8Validator::new);
    }

    /// Empties the buffer (keeping its memory).
    pub(crate) fn clear(&mut self) {
        self.start(false);
    }

    /// The bytes so far.
    pub(crate) fn bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }

    /// Whether the message is validated as UTF-8.
    pub(crate) const fn is_text(&self) -> bool {
        self.utf8.is_some()
    }

    /// Appends `src`, unmasked with `key` if given (`src[0]` being byte `phase` of its
    /// frame's payload), and validates what it appended when the message is text. With
    /// `last`, these are the message's last bytes: text must not end inside a code point.
    ///
    /// # Errors
    ///
    /// The first invalid sequence, with positions counted from the start of the message;
    /// the buffer is then as it was before the call.
    pub(crate) fn push(
        &mut self,
        src: &[u8],
        key: Option<[u8; 4]>,
        phase: usize,
        last: bool,
    ) -> Result<(), Utf8Error> {
        let before = (self.len, self.utf8);
        let mut phase = phase;
        for piece in src.chunks(PUSH_BLOCK) {
            let start = self.len;
            let end = start.saturating_add(piece.len());
            if self.bytes.len() < end {
                // Only past the longest message so far: new memory is zeroed once.
                self.bytes.resize(end, 0);
            }
            let Some(stored) = self.bytes.get_mut(start..end) else {
                break; // unreachable: resized just above
            };
            match key {
                // One pass that copies and unmasks.
                Some(key) => {
                    copy_unmask(stored, piece, key, phase);
                }
                None => stored.copy_from_slice(piece),
            }
            phase = phase.wrapping_add(piece.len());
            let message = self.bytes.get(..end).unwrap_or_default();
            if let Some(validator) = &mut self.utf8
                && let Err(e) = validator.feed_in_buffer(message, start)
            {
                self.len = before.0;
                self.utf8 = before.1;
                return Err(e);
            }
            self.len = end;
        }
        if last
            && let Some(validator) = &self.utf8
            && let Err(e) = validator.finish()
        {
            self.len = before.0;
            self.utf8 = before.1;
            return Err(e);
        }
        Ok(())
    }

    /// The whole message as text: `None` when it is not validated (binary, or text an
    /// extension encoded), or when it is not (yet) valid UTF-8 as a whole.
    pub(crate) fn text(&self) -> Option<&str> {
        self.utf8.as_ref()?.finish().ok()?;
        let bytes = self.bytes();
        debug_assert!(core::str::from_utf8(bytes).is_ok());
        // SAFETY: by the type's invariant the validator was fed exactly `bytes[..len]`,
        // which `bytes()` returns, in order; `finish` returning `Ok` means it found no
        // invalid sequence and the bytes end on a character boundary, i.e. they are valid
        // UTF-8 (the validator is property-tested against `std::str::from_utf8` in utf8.rs).
        Some(unsafe { core::str::from_utf8_unchecked(bytes) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_std_on_short_and_long_inputs() {
        let cases: [&[u8]; 9] = [
            b"",
            b"hello",
            "h\u{e9}llo \u{1F600}".as_bytes(),
            b"\xC3",
            b"abc\xE2\x82",
            b"\xED\xA0\x80",
            b"\xC0\x80",
            b"\x80",
            &[b'a'; 200],
        ];
        for case in cases {
            assert_eq!(to_str(case), core::str::from_utf8(case).ok(), "{case:?}");
        }
    }

    #[test]
    fn unmask_to_str_unmasks_like_the_byte_loop_and_validates_like_std_at_every_length() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        let text = "aé€😀bc".repeat(10);
        for len in 0..=80 {
            for plain in [
                &text.as_bytes()[..len.min(text.len())],
                &[b'x', 0xFF, b'y'].repeat(27)[..len],
            ] {
                let mut masked = plain.to_vec();
                crate::mask::unmask_naive(&mut masked, key, 0);
                let (payload, checked) = unmask_to_str(&mut masked, key);
                assert_eq!(payload, plain, "{len}");
                assert_eq!(checked, core::str::from_utf8(plain).ok(), "{len}");
            }
        }
    }

    #[test]
    fn message_buf_is_text_only_when_every_stored_byte_was_validated() {
        let key = [0x11, 0x22, 0x33, 0x44];
        let text = "κόσμε, \u{1F600}".as_bytes();
        let mut masked = text.to_vec();
        crate::mask::unmask(&mut masked, key, 0);
        let mut buf = MessageBuf::new();
        buf.start(true);
        // Cut inside the two-byte κ and inside the emoji, in three pieces.
        for (from, to) in [(0, 1), (1, 14), (14, text.len())] {
            let last = to == text.len();
            assert_eq!(buf.push(&masked[from..to], Some(key), from, last), Ok(()));
            // Cut inside a code point (κ, then the emoji): not text yet.
            assert_eq!(buf.text().is_some(), last);
        }
        assert_eq!(buf.bytes(), text);
        assert_eq!(buf.text(), Some("κόσμε, \u{1F600}"));

        // Ending inside a code point is an error, and the bytes are taken back.
        buf.start(true);
        buf.push(b"ab", None, 0, false).unwrap();
        let err = buf.push(b"\xE2\x82", None, 2, true).unwrap_err();
        assert_eq!((err.valid_up_to, err.error_len), (2, None));
        assert_eq!(buf.text(), Some("ab"));

        // A rejected push leaves the buffer as it was.
        buf.start(true);
        buf.push(b"ok ", None, 0, false).unwrap();
        let err = buf.push(b"x\xFFy", None, 0, true).unwrap_err();
        assert_eq!(err.valid_up_to, 4);
        assert_eq!(buf.bytes(), b"ok ");
        assert_eq!(buf.text(), Some("ok "));

        // Binary: never text.
        buf.start(false);
        buf.push(b"\xFF", None, 0, true).unwrap();
        assert_eq!(buf.text(), None);
    }

    #[test]
    fn message_buf_never_shows_the_bytes_of_an_earlier_longer_message() {
        // The buffer keeps its memory initialised past the message: a shorter message
        // after a longer one must show its own bytes only, and be text on its own.
        let mut buf = MessageBuf::new();
        buf.start(true);
        buf.push("€€€€".as_bytes(), None, 0, true).unwrap();
        buf.start(true);
        buf.push(b"ab", None, 0, false).unwrap();
        assert_eq!(buf.bytes(), b"ab");
        assert_eq!(buf.text(), Some("ab"));
        // A rejected push after a longer message leaves the shorter one as it was.
        assert!(buf.push(b"\xFF", None, 2, true).is_err());
        assert_eq!(buf.text(), Some("ab"));
        buf.clear();
        assert_eq!(buf.bytes(), b"");
    }

    #[test]
    fn message_buf_validates_across_push_blocks() {
        // A character cut at the 16 KiB block boundary inside one push.
        let mut text = vec![b'a'; PUSH_BLOCK - 1];
        text.extend_from_slice("é".as_bytes());
        text.extend_from_slice(&[b'b'; 10]);
        let mut buf = MessageBuf::new();
        buf.start(true);
        buf.push(&text, None, 0, true).unwrap();
        assert_eq!(buf.text().map(str::len), Some(text.len()));
        let mut bad = text.clone();
        bad[PUSH_BLOCK] = b'x'; // the continuation byte of é, replaced
        buf.start(true);
        let err = buf.push(&bad, None, 0, true).unwrap_err();
        assert_eq!(err.valid_up_to, (PUSH_BLOCK - 1) as u64);
        assert!(buf.bytes().is_empty());
    }
}

/// [`xor_words_portable`] with AVX-512: 64 bytes per load, XOR and store. Written with
/// intrinsics: the portable loop compiled with AVX-512 enabled measured no faster than
/// AVX2 in place (twice, interleaved, before the benchmark's read loops were freed of
/// their heap-layout effect), and this loop is what the figures in the module docs are for.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn xor_words_avx512(data: &mut [u8], word: u64) {
    use core::arch::x86_64::{
        _mm512_loadu_si512, _mm512_set1_epi64, _mm512_storeu_si512, _mm512_xor_si512,
    };
    // Every 64-byte block starts at a multiple of 8 bytes, so at the key's phase 0.
    let key = _mm512_set1_epi64(i64::from_ne_bytes(word.to_ne_bytes()));
    let (blocks, tail) = data.as_chunks_mut::<64>();
    for block in blocks {
        // SAFETY: `block` is a `&mut [u8; 64]`: its pointer is valid for reads and writes
        // of 64 bytes, which is what the unaligned load and store access (they need no
        // alignment), and nothing else refers to it while they run.
        unsafe {
            let v = _mm512_loadu_si512(block.as_ptr().cast());
            _mm512_storeu_si512(block.as_mut_ptr().cast(), _mm512_xor_si512(v, key));
        }
    }
    xor_words_portable(tail, word);
}
