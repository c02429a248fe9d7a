//! How far back a DEFLATE stream refers: a small decoder of RFC 1951 that
//! follows the blocks and codes of a compressed message and reports the
//! largest back-reference distance, without producing the message.
//!
//! zlib (and zlib-rs) cannot tell: an inflater copies a reference from the
//! output it is writing whatever its window bits, so a peer that agreed to
//! `server_max_window_bits=10` and compresses with a 32 KiB window decompresses
//! fine here and fails in a client with a 1 KiB window. The checks of the agreed
//! window ask this module instead. It decodes bit by bit (as the RFC describes
//! the codes, not as fast inflaters do): meant for the few messages of a check.

/// Why a stream could not be followed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    /// Block type 3 (RFC 1951 §3.2.3: reserved).
    #[error("reserved block type 3")]
    ReservedBlockType,
    /// A stored block whose NLEN is not the complement of LEN (§3.2.4).
    #[error("stored block length {0} does not match its complement")]
    StoredLength(u16),
    /// Code lengths that do not make a prefix code, or a symbol no code has.
    #[error("invalid Huffman code")]
    InvalidCode,
    /// A length or distance symbol outside the table (286, 287; 30, 31).
    #[error("invalid length or distance symbol {0}")]
    InvalidSymbol(u16),
    /// A distance beyond everything produced so far.
    #[error("distance {distance} before the start of the stream (position {position})")]
    BeforeStart {
        /// The distance.
        distance: u32,
        /// Bytes produced before it.
        position: u64,
    },
}

/// What a stream refers back to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reach {
    /// The largest distance of any back-reference (0 when none).
    pub farthest: u32,
    /// Bytes the stream produces.
    pub produced: u64,
}

struct Bits<'a> {
    data: &'a [u8],
    at: usize,
    bit: u32,
}

impl Bits<'_> {
    /// The next `n` bits (LSB first, RFC 1951 §3.1.1), `None` at the end.
    fn take(&mut self, n: u32) -> Option<u32> {
        let mut value = 0;
        for i in 0..n {
            let byte = *self.data.get(self.at)?;
            value |= u32::from((byte >> self.bit) & 1) << i;
            self.bit += 1;
            if self.bit == 8 {
                self.bit = 0;
                self.at += 1;
            }
        }
        Some(value)
    }

    fn align(&mut self) {
        if self.bit != 0 {
            self.bit = 0;
            self.at += 1;
        }
    }
}

/// A canonical Huffman code (RFC 1951 §3.2.2): how many codes of each length,
/// and the symbols in code order.
struct Code {
    counts: [u16; 16],
    symbols: Vec<u16>,
}

impl Code {
    fn new(lengths: &[u8]) -> Result<Code, AuditError> {
        let mut counts = [0u16; 16];
        for &l in lengths {
            counts[usize::from(l)] += 1;
        }
        counts[0] = 0;
        // Over-subscribed lengths are not a prefix code.
        let mut left: i32 = 1;
        for &count in &counts[1..] {
            left = left * 2 - i32::from(count);
            if left < 0 {
                return Err(AuditError::InvalidCode);
            }
        }
        let mut symbols = Vec::with_capacity(lengths.len());
        for len in 1..16u8 {
            for (symbol, &l) in lengths.iter().enumerate() {
                if l == len {
                    symbols.push(symbol as u16);
                }
            }
        }
        Ok(Code { counts, symbols })
    }

    /// Decodes one symbol, bit by bit; `None` at the end of the input.
    fn decode(&self, bits: &mut Bits<'_>) -> Option<Result<u16, AuditError>> {
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= bits.take(1)? as i32;
            let count = i32::from(self.counts[len]);
            if code - count < first {
                return Some(
                    self.symbols
                        .get((index + code - first) as usize)
                        .copied()
                        .ok_or(AuditError::InvalidCode),
                );
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        Some(Err(AuditError::InvalidCode))
    }
}

const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_BASE: [u32; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

/// The order of the code length code lengths (RFC 1951 §3.2.7).
const CLEN_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

/// Follows `stream` (raw DEFLATE, as a permessage-deflate payload with its
/// `00 00 ff ff` tail, or without: the end of the input ends the audit) and
/// reports how far back it refers. `history` is what came before it in the
/// same LZ77 window (0 for a message compressed on its own): references into
/// it are allowed.
///
/// # Errors
///
/// A stream that is not DEFLATE.
pub fn reach(stream: &[u8], history: u64) -> Result<Reach, AuditError> {
    let mut bits = Bits {
        data: stream,
        at: 0,
        bit: 0,
    };
    let mut reach = Reach::default();
    let mut produced = history;
    loop {
        let Some(last) = bits.take(1) else {
            break;
        };
        let Some(kind) = bits.take(2) else {
            break;
        };
        let ended = match kind {
            0 => stored(&mut bits, &mut produced)?,
            1 => {
                let mut lengths = [0u8; 288];
                lengths[..144].fill(8);
                lengths[144..256].fill(9);
                lengths[256..280].fill(7);
                lengths[280..].fill(8);
                let literal = Code::new(&lengths)?;
                let distance = Code::new(&[5u8; 30])?;
                codes(&mut bits, &literal, &distance, &mut produced, &mut reach)?
            }
            2 => {
                let Some((literal, distance)) = dynamic_codes(&mut bits)? else {
                    break;
                };
                codes(&mut bits, &literal, &distance, &mut produced, &mut reach)?
            }
            _ => return Err(AuditError::ReservedBlockType),
        };
        if ended || last == 1 {
            break;
        }
    }
    reach.produced = produced - history;
    Ok(reach)
}

/// A stored block; true when the input ended inside it.
fn stored(bits: &mut Bits<'_>, produced: &mut u64) -> Result<bool, AuditError> {
    bits.align();
    let (Some(len), Some(nlen)) = (bits.take(16), bits.take(16)) else {
        return Ok(true);
    };
    if len != !nlen & 0xffff {
        return Err(AuditError::StoredLength(len as u16));
    }
    let available = bits.data.len().saturating_sub(bits.at);
    let taken = available.min(len as usize);
    bits.at += taken;
    *produced += taken as u64;
    Ok(taken < len as usize)
}

/// The two codes of a dynamic block (RFC 1951 §3.2.7); `None` at the end.
fn dynamic_codes(bits: &mut Bits<'_>) -> Result<Option<(Code, Code)>, AuditError> {
    let (Some(hlit), Some(hdist), Some(hclen)) = (bits.take(5), bits.take(5), bits.take(4)) else {
        return Ok(None);
    };
    let (nlit, ndist) = (hlit as usize + 257, hdist as usize + 1);
    let mut clen = [0u8; 19];
    for &i in CLEN_ORDER.iter().take(hclen as usize + 4) {
        let Some(l) = bits.take(3) else {
            return Ok(None);
        };
        clen[i] = l as u8;
    }
    let clen_code = Code::new(&clen)?;
    let mut lengths = vec![0u8; nlit + ndist];
    let mut i = 0;
    while i < lengths.len() {
        let Some(symbol) = clen_code.decode(bits) else {
            return Ok(None);
        };
        let symbol = symbol?;
        let (value, repeat) = match symbol {
            0..=15 => (symbol as u8, 1),
            16 => {
                let previous = *lengths
                    .get(i.wrapping_sub(1))
                    .ok_or(AuditError::InvalidCode)?;
                (previous, 3 + bits.take(2).unwrap_or(0) as usize)
            }
            17 => (0, 3 + bits.take(3).unwrap_or(0) as usize),
            _ => (0, 11 + bits.take(7).unwrap_or(0) as usize),
        };
        if i + repeat > lengths.len() {
            return Err(AuditError::InvalidCode);
        }
        lengths[i..i + repeat].fill(value);
        i += repeat;
    }
    Ok(Some((
        Code::new(&lengths[..nlit])?,
        Code::new(&lengths[nlit..])?,
    )))
}

/// The codes of a compressed block; true when the input ended inside it.
fn codes(
    bits: &mut Bits<'_>,
    literal: &Code,
    distance: &Code,
    produced: &mut u64,
    reach: &mut Reach,
) -> Result<bool, AuditError> {
    loop {
        let Some(symbol) = literal.decode(bits) else {
            return Ok(true);
        };
        let symbol = symbol?;
        match symbol {
            0..=255 => *produced += 1,
            256 => return Ok(false),
            _ => {
                let i = usize::from(symbol - 257);
                let (Some(&base), Some(&extra)) = (LENGTH_BASE.get(i), LENGTH_EXTRA.get(i)) else {
                    return Err(AuditError::InvalidSymbol(symbol));
                };
                let Some(more) = bits.take(u32::from(extra)) else {
                    return Ok(true);
                };
                let length = u64::from(base) + u64::from(more);
                let Some(d) = distance.decode(bits) else {
                    return Ok(true);
                };
                let d = usize::from(d?);
                let (Some(&base), Some(&extra)) = (DIST_BASE.get(d), DIST_EXTRA.get(d)) else {
                    return Err(AuditError::InvalidSymbol(d as u16));
                };
                let Some(more) = bits.take(u32::from(extra)) else {
                    return Ok(true);
                };
                let dist = base + more;
                if u64::from(dist) > *produced {
                    return Err(AuditError::BeforeStart {
                        distance: dist,
                        position: *produced,
                    });
                }
                reach.farthest = reach.farthest.max(dist);
                *produced += length;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn deflate(data: &[u8], bits: u8, level: u32) -> Vec<u8> {
        let mut z =
            flate2::Compress::new_with_window_bits(flate2::Compression::new(level), false, bits);
        let mut out = Vec::with_capacity(data.len() + 1024);
        z.compress_vec(data, &mut out, flate2::FlushCompress::Sync)
            .unwrap();
        out
    }

    fn varied(n: usize, mut state: u64) -> Vec<u8> {
        (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                b"abcdefghijklmnopqrstuvwxyz .,"[(state >> 59) as usize % 29]
            })
            .collect()
    }

    #[test]
    fn a_repeat_at_a_distance_is_seen_with_a_wide_window_only() {
        let half = varied(4096, 11);
        let message = [half.clone(), half].concat();
        let wide = reach(&deflate(&message, 15, 6), 0).unwrap();
        assert_eq!(wide.farthest, 4096);
        assert_eq!(wide.produced, 8192);
        let narrow = reach(&deflate(&message, 10, 6), 0).unwrap();
        assert!(narrow.farthest <= 1024, "{narrow:?}");
        assert_eq!(narrow.produced, 8192);
    }

    #[test]
    fn every_block_type_and_level_is_followed() {
        let text = varied(20_000, 3);
        for level in [0, 1, 6, 9] {
            let r = reach(&deflate(&text, 15, level), 0).unwrap();
            assert_eq!(r.produced, 20_000, "level {level}");
        }
        // The RFC 7692 §7.2.3.1 example: "Hello" in a fixed block.
        let hello = reach(&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], 0).unwrap();
        assert_eq!(
            hello,
            Reach {
                farthest: 0,
                produced: 5
            }
        );
        // §7.2.3.2: the second "Hello" refers 5 bytes back into the first.
        let second = reach(&[0xf2, 0x00, 0x11, 0x00, 0x00], 5).unwrap();
        assert_eq!(
            second,
            Reach {
                farthest: 5,
                produced: 5
            }
        );
        assert!(matches!(
            reach(&[0xf2, 0x00, 0x11, 0x00, 0x00], 0),
            Err(AuditError::BeforeStart { .. })
        ));
        // zlib's flate2 writer, dynamic blocks, many of them.
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&[text.clone(), text].concat()).unwrap();
        let r = reach(&e.finish().unwrap(), 0).unwrap();
        assert_eq!((r.produced, r.farthest), (40_000, 20_000));
    }

    #[test]
    fn garbage_is_an_error_or_an_early_end_never_a_panic() {
        assert_eq!(reach(&[0xff], 0), Err(AuditError::ReservedBlockType));
        let mut state = 1u64;
        for _ in 0..2000 {
            let junk: Vec<u8> = (0..64)
                .map(|_| {
                    state = state
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1);
                    (state >> 56) as u8
                })
                .collect();
            let _ = reach(&junk, 0);
        }
    }
}
