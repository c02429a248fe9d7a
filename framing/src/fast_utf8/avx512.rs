//! UTF-8 validation 64 bytes at a time with AVX-512 (F, BW and VBMI), optionally fused with
//! unmasking: part of the audited `fast_utf8` module.
//!
//! The algorithm is Keiser and Lemire's ("Validating UTF-8 In Less Than One Instruction Per
//! Byte", Software: Practice and Experience, 2021), the one simdutf8 runs with AVX2: every
//! byte is classified together with the byte before it by three 16-entry table lookups
//! (the high nibble of the previous byte, its low nibble, the high nibble of this byte),
//! whose AND is non-zero exactly for the invalid two-byte patterns; a second check says
//! where a third or fourth byte of a sequence must be a continuation byte, and the last
//! three bytes of the input must not begin an unfinished sequence. "The previous byte"
//! crosses the 64-byte block boundary: one `vpermt2b` (VBMI) per distance picks it from the
//! block and the one before, where AVX2 code needs two instructions per 32 bytes.
//!
//! Why it is ours and not a crate's: simdutf8 stops at AVX2, and on the benchmark's mixed
//! text (17% of the bytes non-ASCII) this loop validates 43–47 GB/s where simdutf8 validates
//! 21.7–22.1 GB/s (1 KiB and 64 KiB inputs, both in one program, alternating, two rounds);
//! the C++ simdutf library's AVX-512 kernel, through the `simdutf` crate, measured 22–26 GB/s
//! in an earlier run of the same program (beside simdutf8 at 18–19.5). At exactly 64 bytes it
//! is slower than simdutf8 (12.4–13.1 against 16.2–16.8 GB/s: one block is a chain of
//! dependent instructions). The frame reader validates a masked payload of any length
//! fused with its unmasking ([`unmask_is_utf8`]), so a text frame is read once instead of
//! twice, and that is faster at every size it was measured at: `ws/tiny` (payloads of
//! 0–125 bytes) went from 935–942 to 619–624 µs per run (`fast_utf8`'s module docs).
//!
//! Every function here is only ever called after `is_x86_feature_detected!` found all three
//! extensions (`fast_utf8::has_avx512_utf8`). Their only `unsafe` operations are the loads
//! and stores, each on a `&[u8; 64]` / `&mut [u8; 64]` or, for the last partial block, a
//! masked load or store whose mask covers exactly the slice's length (AVX-512 masked
//! accesses do not touch the bytes their mask excludes, nor fault on them).

use core::arch::x86_64::{
    __m512i, _mm512_and_si512, _mm512_loadu_si512, _mm512_mask_storeu_epi8,
    _mm512_maskz_loadu_epi8, _mm512_maskz_mov_epi8, _mm512_movepi8_mask, _mm512_or_si512,
    _mm512_permutex2var_epi8, _mm512_set1_epi8, _mm512_set1_epi64, _mm512_setzero_si512,
    _mm512_shuffle_epi8, _mm512_srli_epi16, _mm512_storeu_si512, _mm512_subs_epu8,
    _mm512_ternarylogic_epi64, _mm512_test_epi8_mask, _mm512_xor_si512,
};

// The error classes of one (previous byte, byte) pair, as Keiser and Lemire number them.
/// `11______ 0_______` or `11______ 11______`: a lead byte not followed by a continuation.
const TOO_SHORT: u8 = 1 << 0;
/// `0_______ 10______`: a continuation byte after ASCII.
const TOO_LONG: u8 = 1 << 1;
/// `11100000 100_____`: a three-byte sequence that encodes a two-byte value.
const OVERLONG_3: u8 = 1 << 2;
/// `11110100 1001____`, `11110100 101_____`, `11110101+ 10______`: above U+10FFFF.
const TOO_LARGE: u8 = 1 << 3;
/// `11101101 101_____`: a surrogate (U+D800 to U+DFFF).
const SURROGATE: u8 = 1 << 4;
/// `1100000_ 10______`: a two-byte sequence that encodes an ASCII value.
const OVERLONG_2: u8 = 1 << 5;
/// `11110101+ 1000____`: above U+10FFFF, continuation in `1000____`.
const TOO_LARGE_1000: u8 = 1 << 6;
/// `11110000 1000____`: a four-byte sequence that encodes a three-byte value (shares the
/// bit with [`TOO_LARGE_1000`]: the two never come from the same lead byte's low nibble).
const OVERLONG_4: u8 = 1 << 6;
/// `10______ 10______`: two continuation bytes, which is only an error when no lead byte
/// two or three back asks for them (the second check settles that).
const TWO_CONTS: u8 = 1 << 7;
/// The classes every low nibble of the previous byte allows.
const CARRY: u8 = TOO_SHORT | TOO_LONG | TWO_CONTS;

/// Classes by the previous byte's high nibble.
const BYTE_1_HIGH: [u8; 16] = [
    // 0_______: ASCII
    TOO_LONG,
    TOO_LONG,
    TOO_LONG,
    TOO_LONG,
    TOO_LONG,
    TOO_LONG,
    TOO_LONG,
    TOO_LONG,
    // 10______: continuation
    TWO_CONTS,
    TWO_CONTS,
    TWO_CONTS,
    TWO_CONTS,
    // 1100____: two-byte lead, C0 and C1 overlong
    TOO_SHORT | OVERLONG_2,
    // 1101____: two-byte lead
    TOO_SHORT,
    // 1110____: three-byte lead
    TOO_SHORT | OVERLONG_3 | SURROGATE,
    // 1111____: four-byte lead
    TOO_SHORT | TOO_LARGE | TOO_LARGE_1000 | OVERLONG_4,
];

/// Classes by the previous byte's low nibble.
const BYTE_1_LOW: [u8; 16] = [
    // ____0000
    CARRY | OVERLONG_3 | OVERLONG_2 | OVERLONG_4,
    // ____0001
    CARRY | OVERLONG_2,
    // ____001_
    CARRY,
    CARRY,
    // ____0100
    CARRY | TOO_LARGE,
    // ____0101 to ____1111 (except ____1101)
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    // ____1101: ED, the surrogates' lead
    CARRY | TOO_LARGE | TOO_LARGE_1000 | SURROGATE,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
    CARRY | TOO_LARGE | TOO_LARGE_1000,
];

/// Classes by this byte's high nibble.
const BYTE_2_HIGH: [u8; 16] = [
    // 0_______: ASCII
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    // 1000____
    TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE_1000 | OVERLONG_4,
    // 1001____
    TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE,
    // 101_____
    TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE,
    TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE,
    // 11______: a lead byte
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
    TOO_SHORT,
];

/// A 16-entry table repeated in each 128-bit lane (`vpshufb` looks up within lanes).
const fn lanes(table: [u8; 16]) -> [u8; 64] {
    let mut out = [0u8; 64];
    let mut i = 0;
    while i < 64 {
        out[i] = table[i % 16];
        i += 1;
    }
    out
}

/// `vpermt2b` indices that shift a block right by `n` bytes, filling from the end of the
/// block before: byte `i` takes byte `i - n` of the block, or byte `64 - n + i` of the one
/// before (index bit 6 picks the second operand).
const fn shift_indices(n: usize) -> [u8; 64] {
    let mut out = [0u8; 64];
    let mut i = 0;
    while i < 64 {
        out[i] = if i >= n {
            (i - n) as u8
        } else {
            (128 - n + i) as u8
        };
        i += 1;
    }
    out
}

/// Subtracted (saturating) from the last block: non-zero exactly where one of the last
/// three bytes is a lead byte whose sequence cannot fit before the end (a 4-byte lead in
/// the last three, a 3-byte lead in the last two, a 2-byte lead last).
const INCOMPLETE_MAX: [u8; 64] = {
    let mut out = [0xFF; 64];
    out[61] = 0b1111_0000 - 1;
    out[62] = 0b1110_0000 - 1;
    out[63] = 0b1100_0000 - 1;
    out
};

/// The tables, in the 64-byte form the loop uses.
static TABLES: [[u8; 64]; 7] = [
    lanes(BYTE_1_HIGH),
    lanes(BYTE_1_LOW),
    lanes(BYTE_2_HIGH),
    shift_indices(1),
    shift_indices(2),
    shift_indices(3),
    INCOMPLETE_MAX,
];

/// The validator's registers: the constants, the previous block, and what is wrong so far.
struct Checker {
    byte_1_high: __m512i,
    byte_1_low: __m512i,
    byte_2_high: __m512i,
    shift_1: __m512i,
    shift_2: __m512i,
    shift_3: __m512i,
    incomplete_max: __m512i,
    low_nibble: __m512i,
    third_byte: __m512i,
    fourth_byte: __m512i,
    high_bit: __m512i,
    /// The block before (zeros at the start: ASCII, as if the input followed ASCII).
    prev: __m512i,
    /// Non-zero where the block before ended inside a sequence.
    prev_incomplete: __m512i,
    /// Non-zero once anything was invalid.
    error: __m512i,
}

impl Checker {
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
    fn new() -> Checker {
        let table = |i: usize| {
            // SAFETY: `TABLES[i]` is a `[u8; 64]`, valid for the 64-byte unaligned load.
            unsafe { _mm512_loadu_si512(TABLES[i].as_ptr().cast()) }
        };
        Checker {
            byte_1_high: table(0),
            byte_1_low: table(1),
            byte_2_high: table(2),
            shift_1: table(3),
            shift_2: table(4),
            shift_3: table(5),
            incomplete_max: table(6),
            low_nibble: _mm512_set1_epi8(0x0F),
            // Only `111_____` (a third byte must follow it two later) stays >= 0x80.
            third_byte: _mm512_set1_epi8((0xE0u8 - 0x80) as i8),
            // Only `1111____` (a fourth byte must follow it three later) stays >= 0x80.
            fourth_byte: _mm512_set1_epi8((0xF0u8 - 0x80) as i8),
            high_bit: _mm512_set1_epi8(0x80u8 as i8),
            prev: _mm512_setzero_si512(),
            prev_incomplete: _mm512_setzero_si512(),
            error: _mm512_setzero_si512(),
        }
    }

    /// Checks the next 64 bytes of the input.
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
    #[inline]
    fn block(&mut self, input: __m512i) {
        if _mm512_movepi8_mask(input) == 0 {
            // All ASCII: only a sequence left open by the block before can be wrong.
            self.error = _mm512_or_si512(self.error, self.prev_incomplete);
            self.prev_incomplete = _mm512_setzero_si512();
        } else {
            let prev1 = _mm512_permutex2var_epi8(input, self.shift_1, self.prev);
            let prev2 = _mm512_permutex2var_epi8(input, self.shift_2, self.prev);
            let prev3 = _mm512_permutex2var_epi8(input, self.shift_3, self.prev);
            let high = |v: __m512i| _mm512_and_si512(_mm512_srli_epi16::<4>(v), self.low_nibble);
            let b1h = _mm512_shuffle_epi8(self.byte_1_high, high(prev1));
            let b1l =
                _mm512_shuffle_epi8(self.byte_1_low, _mm512_and_si512(prev1, self.low_nibble));
            let b2h = _mm512_shuffle_epi8(self.byte_2_high, high(input));
            // 0x80: a AND b AND c.
            let special = _mm512_ternarylogic_epi64::<0x80>(b1h, b1l, b2h);
            // Where a continuation must be (a 3- or 4-byte lead two or three back) ...
            let must23 = _mm512_or_si512(
                _mm512_subs_epu8(prev2, self.third_byte),
                _mm512_subs_epu8(prev3, self.fourth_byte),
            );
            // ... it must be exactly where TWO_CONTS (bit 7) was found: XOR, then OR into
            // the error (0xF6: a OR (b XOR c)).
            let must23_80 = _mm512_and_si512(must23, self.high_bit);
            self.error = _mm512_ternarylogic_epi64::<0xF6>(self.error, must23_80, special);
            self.prev_incomplete = _mm512_subs_epu8(input, self.incomplete_max);
        }
        self.prev = input;
    }

    /// Whether everything checked was valid and ended on a character boundary.
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
    #[inline]
    fn valid_at_end(&self) -> bool {
        let error = _mm512_or_si512(self.error, self.prev_incomplete);
        _mm512_test_epi8_mask(error, error) == 0
    }
}

/// The mask of the first `len < 64` bytes of a block.
#[inline]
const fn first_bytes(len: usize) -> u64 {
    (1u64 << len) - 1
}

/// Whether `bytes` is valid UTF-8.
///
/// # Safety
///
/// The CPU must support AVX-512F, AVX-512BW and AVX-512VBMI.
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
pub(super) unsafe fn is_utf8(bytes: &[u8]) -> bool {
    let mut checker = Checker::new();
    let (blocks, tail) = bytes.as_chunks::<64>();
    for block in blocks {
        // SAFETY: `block` is a `&[u8; 64]`, valid for the 64-byte unaligned load.
        checker.block(unsafe { _mm512_loadu_si512(block.as_ptr().cast()) });
    }
    if !tail.is_empty() {
        // SAFETY: the mask selects the first `tail.len() < 64` bytes, all in `tail`;
        // the others are neither read nor faulted on, and load as zero (ASCII, which
        // cannot complete a cut sequence, so the verdict is the tail's own).
        checker.block(unsafe {
            _mm512_maskz_loadu_epi8(first_bytes(tail.len()), tail.as_ptr().cast())
        });
    }
    checker.valid_at_end()
}

/// XORs `data` with `word` (the masking key repeated, at phase 0 at `data[0]`) in place,
/// and says whether the result is valid UTF-8: one pass over the bytes.
///
/// # Safety
///
/// The CPU must support AVX-512F, AVX-512BW and AVX-512VBMI.
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
pub(super) unsafe fn unmask_is_utf8(data: &mut [u8], word: u64) -> bool {
    let key = _mm512_set1_epi64(i64::from_ne_bytes(word.to_ne_bytes()));
    let mut checker = Checker::new();
    let (blocks, tail) = data.as_chunks_mut::<64>();
    // Every block starts at a multiple of 64 bytes, so at the key's phase 0.
    for block in blocks {
        // SAFETY: `block` is a `&mut [u8; 64]`, valid for the 64-byte unaligned load and
        // store, and nothing else refers to it while they run.
        let plain = unsafe {
            let plain = _mm512_xor_si512(_mm512_loadu_si512(block.as_ptr().cast()), key);
            _mm512_storeu_si512(block.as_mut_ptr().cast(), plain);
            plain
        };
        checker.block(plain);
    }
    if !tail.is_empty() {
        let mask = first_bytes(tail.len());
        // SAFETY: the mask selects the first `tail.len() < 64` bytes, all in `tail`, for
        // both the load and the store; the other bytes are neither read, written nor
        // faulted on.
        let plain = unsafe {
            let masked = _mm512_maskz_loadu_epi8(mask, tail.as_ptr().cast());
            // The padding is zeroed again after the XOR: it is checked as ASCII.
            let plain = _mm512_maskz_mov_epi8(mask, _mm512_xor_si512(masked, key));
            _mm512_mask_storeu_epi8(tail.as_mut_ptr().cast(), mask, plain);
            plain
        };
        checker.block(plain);
    }
    checker.valid_at_end()
}

#[cfg(test)]
mod tests {
    use super::super::{to_str, unmask_to_str};
    use proptest::prelude::*;

    /// Both entry points against the standard library, on `bytes` placed at every offset
    /// from 0 to 66 after ASCII (so every sequence crosses every block position), and
    /// followed by ASCII or by nothing. Called through the module's dispatchers, which run
    /// this file's loops on a CPU with AVX-512 F, BW and VBMI (as the machines these
    /// benchmarks ran on) and simdutf8 elsewhere: either way the test checks what the
    /// crate uses.
    fn agrees_with_std(bytes: &[u8]) {
        let key = [0x9a, 0x01, 0xff, 0x5c];
        for offset in 0..=66 {
            for after in [0, 1, 70] {
                let mut input = vec![b'a'; offset];
                input.extend_from_slice(bytes);
                input.resize(input.len() + after, b'z');
                let expected = core::str::from_utf8(&input).is_ok();
                assert_eq!(
                    to_str(&input).is_some(),
                    expected,
                    "{offset} {after} {input:02x?}"
                );
                let mut masked = input.clone();
                crate::mask::unmask_naive(&mut masked, key, 0);
                let (plain, text) = unmask_to_str(&mut masked, key);
                let valid = text.is_some();
                assert_eq!((valid, plain), (expected, &input[..]), "{offset} {after}");
            }
        }
    }

    #[test]
    fn every_one_and_two_byte_sequence() {
        for a in 0..=255u8 {
            agrees_with_std(&[a]);
            for b in [
                0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC2, 0xE0, 0xF0, 0xFF,
            ] {
                agrees_with_std(&[a, b]);
            }
        }
    }

    #[test]
    fn every_lead_with_every_boundary_continuation() {
        // The continuation values where the classes change, after every lead byte, in
        // sequences of two to five bytes (too short, exact, too long).
        let conts = [0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0];
        for lead in 0xC0..=0xFFu8 {
            for &c1 in &conts {
                for &c2 in &conts {
                    agrees_with_std(&[lead, c1, c2]);
                    for &c3 in &[0x80, 0xBF, 0x41] {
                        agrees_with_std(&[lead, c1, c2, c3]);
                        agrees_with_std(&[lead, c1, c2, c3, 0x80]);
                    }
                }
            }
        }
    }

    #[test]
    fn valid_text_of_every_width_at_every_length() {
        let text = "aé€😀ß中🙂z".repeat(40);
        for len in 0..=text.len() {
            // Every prefix, valid or cut inside a character.
            let bytes = &text.as_bytes()[..len];
            assert_eq!(
                to_str(bytes).is_some(),
                core::str::from_utf8(bytes).is_ok(),
                "{len}"
            );
        }
    }

    proptest! {
        #[test]
        fn random_text_with_damage(
            chars in proptest::collection::vec(any::<char>(), 0..200),
            damage in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..3),
        ) {
            let mut bytes: Vec<u8> = chars.iter().collect::<String>().into_bytes();
            for (at, byte) in damage {
                if !bytes.is_empty() {
                    let at = at % bytes.len();
                    bytes[at] = byte;
                }
            }
            agrees_with_std(&bytes);
        }

        #[test]
        fn random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            agrees_with_std(&bytes);
        }
    }
}
