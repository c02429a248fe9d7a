//! Masking and unmasking (RFC 6455 §5.3), fast and naive.
//!
//! RFC 6455 §5.3: "Octet i of the transformed data ("transformed-octet-i") is the XOR of
//! octet i of the original data ("original-octet-i") with octet at index i modulo 4 of the
//! masking key ("masking-key-octet-j")". Masking and unmasking are the same operation.
//!
//! The fast functions XOR eight bytes at a time as `u64` words, which LLVM turns into
//! vector instructions; for payloads of 256 bytes and more, [`unmask`] first unmasks the
//! head before the first 64-byte aligned address, so that the vectors it loads and stores
//! after it are aligned, and rotates the key so byte `i` of the
//! payload still meets `key[(offset + i) % 4]`. No `unsafe` is needed here; payloads of
//! 128 bytes and more go through the same loops compiled with AVX2, or an AVX-512 loop,
//! when the CPU has them (`fast_utf8.rs`, the crate's audited `unsafe` module, makes that
//! call). [`unmask_naive`] is the byte loop the property tests compare them with.

/// The key as seen from payload position `offset`: `rotated[i] == key[(offset + i) % 4]`.
///
/// One register rotation (the bytes move towards index 0 by `offset % 4`), not four
/// table lookups: it runs once per frame, which shows on tiny frames.
#[inline]
const fn rotate(key: [u8; 4], offset: usize) -> [u8; 4] {
    let shift = 8 * (offset % 4) as u32;
    let word = u32::from_ne_bytes(key);
    let rotated = if cfg!(target_endian = "little") {
        word.rotate_right(shift)
    } else {
        word.rotate_left(shift)
    };
    rotated.to_ne_bytes()
}

/// The rotated key repeated over eight bytes, in memory order.
#[inline]
pub(crate) const fn key_word(key: [u8; 4]) -> u64 {
    // Both halves equal: the same bytes in memory whatever the byte order.
    let half = u32::from_ne_bytes(key) as u64;
    half << 32 | half
}

/// Unmasks (or masks) `data` in place with `key`, where `data[0]` is byte `offset` of the
/// payload.
///
/// `offset` lets a caller unmask a payload in pieces: unmasking `p[..k]` with offset 0 and
/// `p[k..]` with offset `k` is the same as unmasking `p` at once.
///
/// ```
/// use pulsecheck_ws::unmask;
///
/// // RFC 6455 §5.7: "Hello" masked with 37 fa 21 3d.
/// let key = [0x37, 0xfa, 0x21, 0x3d];
/// let mut payload = [0x7f, 0x9f, 0x4d, 0x51, 0x58];
/// let (head, tail) = payload.split_at_mut(2);
/// unmask(head, key, 0);
/// unmask(tail, key, 2);
/// assert_eq!(&payload, b"Hello");
/// ```
pub fn unmask(data: &mut [u8], key: [u8; 4], offset: usize) {
    let key = rotate(key, offset);
    // Short payloads (most WebSocket messages): unaligned words. x86-64 and AArch64
    // load and store unaligned u64s at full speed; aligning first costs more than it
    // saves below a few cache lines.
    if data.len() < ALIGN_ABOVE {
        xor_words(data, key_word(key));
        return;
    }
    // Bytes before the first 64-byte aligned address (a cache line), so that the wide
    // stores of the rest (32 or 64 bytes) never straddle a line. Measured with 32-byte
    // alignment and AVX2 against 8-byte: 64 KiB binary frames in place 4% faster, 1 KiB
    // ones 5%; 64 came with the AVX-512 loop (its figures are in fast_utf8.rs).
    // `align_offset` may in principle return usize::MAX ("cannot align"); `min` turns
    // that into "do it all in the head".
    let head_len = data.as_ptr().align_offset(64).min(data.len());
    let (head, body) = data.split_at_mut(head_len);
    xor_words_portable(head, key_word(key));
    xor_words(body, key_word(rotate(key, head_len)));
}

/// Payloads at least this long are unmasked with aligned vectors.
const ALIGN_ABOVE: usize = 256;

/// XORs `data` with `word` (the key repeated, at phase 0 for `data[0]`): with the CPU's
/// widest vectors when the payload is long enough for them to pay
/// ([`crate::fast_utf8::xor_words_wide`]), otherwise [`xor_words_portable`].
#[inline]
pub(crate) fn xor_words(data: &mut [u8], word: u64) {
    if data.len() >= WIDE_ABOVE {
        crate::fast_utf8::xor_words_wide(data, word);
    } else {
        xor_words_portable(data, word);
    }
}

/// Payloads at least this long are unmasked with the CPU's widest vectors (AVX2 on
/// x86-64 when it has it): below it, the run-time feature check and the wider loop's
/// set-up cost more than they save (tiny frames are mostly under 32 bytes).
const WIDE_ABOVE: usize = 128;

/// [`xor_words`] in portable Rust, eight bytes at a time as `u64` words, which LLVM
/// vectorises at the width the target allows; whole words keep the key's phase, so the
/// tail starts at phase 0 too. Always inlined, so that a caller compiled for wider
/// vectors gets them here too.
#[inline(always)]
pub(crate) fn xor_words_portable(data: &mut [u8], word: u64) {
    let (words, tail) = data.as_chunks_mut::<8>();
    for chunk in words {
        *chunk = (u64::from_ne_bytes(*chunk) ^ word).to_ne_bytes();
    }
    // The tail (at most 7 bytes, often all a tiny frame has): four at once, then bytes.
    let key = word.to_ne_bytes();
    let (quads, rest) = tail.as_chunks_mut::<4>();
    let half = (word as u32).to_ne_bytes();
    for quad in quads {
        *quad = (u32::from_ne_bytes(*quad) ^ u32::from_ne_bytes(half)).to_ne_bytes();
    }
    for (byte, k) in rest.iter_mut().zip(key) {
        *byte ^= k;
    }
}

/// Copies `src` into `dst`, unmasking on the way, where `src[0]` is byte `offset` of the
/// payload. Processes `min(dst.len(), src.len())` bytes and returns that count.
///
/// For callers that copy the payload anyway (into a message buffer, or an encoder writing
/// a masked frame): one pass instead of a copy and an in-place XOR.
///
/// ```
/// use pulsecheck_ws::copy_unmask;
///
/// let key = [0x37, 0xfa, 0x21, 0x3d];
/// let masked = [0x7f, 0x9f, 0x4d, 0x51, 0x58];
/// let mut plain = [0u8; 5];
/// assert_eq!(copy_unmask(&mut plain, &masked, key, 0), 5);
/// assert_eq!(&plain, b"Hello");
/// ```
pub fn copy_unmask(dst: &mut [u8], src: &[u8], key: [u8; 4], offset: usize) -> usize {
    let n = dst.len().min(src.len());
    let (dst, _) = dst.split_at_mut(n);
    let (src, _) = src.split_at(n);
    let word = key_word(rotate(key, offset));
    if n >= WIDE_ABOVE {
        crate::fast_utf8::copy_xor_words_wide(dst, src, word);
    } else {
        copy_xor_words_portable(dst, src, word);
    }
    n
}

/// Copies `src` into `dst` (of equal length) XORed with `word` (the key repeated, at
/// phase 0 for `src[0]`), eight bytes at a time; always inlined, as
/// [`xor_words_portable`].
#[inline(always)]
pub(crate) fn copy_xor_words_portable(dst: &mut [u8], src: &[u8], word: u64) {
    let (dst_words, dst_tail) = dst.as_chunks_mut::<8>();
    let (src_words, src_tail) = src.as_chunks::<8>();
    for (d, s) in dst_words.iter_mut().zip(src_words) {
        *d = (u64::from_ne_bytes(*s) ^ word).to_ne_bytes();
    }
    let key = word.to_ne_bytes();
    for ((d, s), k) in dst_tail.iter_mut().zip(src_tail).zip(key) {
        *d = s ^ k;
    }
}

/// The literal byte loop of RFC 6455 §5.3, the reference for [`unmask`] and
/// [`copy_unmask`]: `data[i] ^= key[(offset + i) % 4]`.
pub fn unmask_naive(data: &mut [u8], key: [u8; 4], offset: usize) {
    for (i, byte) in data.iter_mut().enumerate() {
        // "j = i MOD 4; transformed-octet-i = original-octet-i XOR masking-key-octet-j"
        let j = offset.wrapping_add(i) % 4;
        *byte ^= key[j];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    /// RFC 6455 §5.3, exhaustively over small sizes: every length 0..=300, every start
    /// alignment 0..64 inside a buffer (long payloads are unmasked from the first 64-byte
    /// aligned address on), every key phase 0..4 (and a large offset).
    #[test]
    fn rfc6455_5_3_fast_unmask_equals_naive_at_every_length_alignment_and_offset() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        let mut backing = pattern(372, 7);
        for len in 0..=300 {
            for align in 0..64 {
                for offset in [0, 1, 2, 3, 4, 5, usize::MAX - 1] {
                    let original = backing.clone();
                    let mut expected = original[align..align + len].to_vec();
                    unmask_naive(&mut expected, key, offset);

                    unmask(&mut backing[align..align + len], key, offset);
                    assert_eq!(
                        &backing[align..align + len],
                        &expected[..],
                        "{len} {align} {offset}"
                    );
                    // Bytes around the slice are untouched.
                    assert_eq!(&backing[..align], &original[..align]);
                    assert_eq!(&backing[align + len..], &original[align + len..]);

                    let mut copied = vec![0u8; len];
                    let src = &original[align..align + len];
                    assert_eq!(copy_unmask(&mut copied, src, key, offset), len);
                    assert_eq!(copied, expected);

                    backing = original;
                }
            }
        }
    }

    #[test]
    fn masking_twice_is_identity_and_pieces_compose() {
        let key = [1, 2, 3, 0xff];
        let plain = pattern(97, 3);
        let mut data = plain.clone();
        unmask(&mut data, key, 0);
        assert_ne!(data, plain);
        for cut in 0..=data.len() {
            let mut d = data.clone();
            let (a, b) = d.split_at_mut(cut);
            unmask(a, key, 0);
            unmask(b, key, cut);
            assert_eq!(d, plain, "cut {cut}");
        }
    }

    #[test]
    fn copy_unmask_stops_at_the_shorter_slice() {
        let mut dst = [0u8; 3];
        assert_eq!(copy_unmask(&mut dst, &[1, 1, 1, 1, 1], [1, 0, 1, 0], 0), 3);
        assert_eq!(dst, [0, 1, 0]);
        let mut dst = [9u8; 6];
        assert_eq!(copy_unmask(&mut dst, &[1, 1], [1, 0, 1, 0], 1), 2);
        assert_eq!(dst, [1, 0, 9, 9, 9, 9]);
    }
}
