//! The encoder: writes any frame, valid or deliberately invalid.
//!
//! A conformance suite has to send what a correct peer never would: reserved opcodes, RSV
//! bits, unmasked client frames, 16-bit encodings of 5-byte lengths, a 64-bit length with
//! its top bit set, 126-byte pings, 1-byte close bodies. So the encoder does not validate:
//! it writes the [`FrameHeader`] it is given, field by field, then the payload (masked with
//! the header's key when there is one). The only error is a length that the requested
//! encoding cannot physically hold.

use crate::header::{FrameHeader, LengthEncoding};
use crate::mask::copy_unmask;
use crate::opcode::Opcode;

/// The caller asked for something the wire format cannot express (not a peer's fault).
#[non_exhaustive]
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, thiserror::Error)]
pub enum EncodeError {
    /// `len` does not fit in `encoding`: over 125 for the 7-bit form, over 65535 for the
    /// 16-bit form. (Any length fits the 64-bit form, including ones with the top bit set.)
    #[error("payload length {len} cannot be written in the {encoding} length encoding")]
    LengthDoesNotFit {
        /// The length to write.
        len: u64,
        /// The encoding asked for.
        encoding: LengthEncoding,
    },
}

/// Appends a frame to `out`: `header` exactly as given, then `payload`, masked with
/// `header.mask` if set. Returns the number of bytes written.
///
/// `header.payload_len` is what the header announces; it may differ from `payload.len()`
/// on purpose (a truncated frame, a 2^63-byte announcement). Use [`FrameHeader::new`] for
/// the honest minimal header.
///
/// ```
/// use pulsecheck_ws::{encode_frame, FrameHeader, LengthEncoding, Opcode};
///
/// // RFC 6455 §5.7: the masked "Hello".
/// let mut header = FrameHeader::new(Opcode::TEXT, 5);
/// header.mask = Some([0x37, 0xfa, 0x21, 0x3d]);
/// let mut out = Vec::new();
/// encode_frame(&mut out, &header, b"Hello")?;
/// assert_eq!(out, [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
///
/// // A deliberately non-minimal length: 5 written in the 64-bit form.
/// header.mask = None;
/// header.length_encoding = LengthEncoding::Extended64;
/// out.clear();
/// encode_frame(&mut out, &header, b"Hello")?;
/// assert_eq!(&out[..10], [0x81, 0x7f, 0, 0, 0, 0, 0, 0, 0, 5]);
/// # Ok::<(), pulsecheck_ws::EncodeError>(())
/// ```
///
/// # Errors
///
/// [`EncodeError::LengthDoesNotFit`]; nothing is written then.
pub fn encode_frame(
    out: &mut Vec<u8>,
    header: &FrameHeader,
    payload: &[u8],
) -> Result<usize, EncodeError> {
    let start = out.len();
    header.write(out)?;
    match header.mask {
        Some(key) => {
            let at = out.len();
            out.resize(at.saturating_add(payload.len()), 0);
            if let Some(dst) = out.get_mut(at..) {
                // RFC 6455 §5.3: "the same steps are applied to mask the data as to unmask
                // the data."
                copy_unmask(dst, payload, key, 0);
            }
        }
        None => out.extend_from_slice(payload),
    }
    Ok(out.len() - start)
}

/// Appends a single-frame message (FIN set, no RSV bit, minimal length) carrying `payload`
/// with `opcode`, masked with `mask` if given. Returns the number of bytes written.
///
/// ```
/// use pulsecheck_ws::{encode_message, Opcode};
///
/// let mut out = Vec::new();
/// encode_message(&mut out, Opcode::PING, None, b"Hello");
/// assert_eq!(out, [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
/// ```
pub fn encode_message(
    out: &mut Vec<u8>,
    opcode: Opcode,
    mask: Option<[u8; 4]>,
    payload: &[u8],
) -> usize {
    let mut header = FrameHeader::new(opcode, payload.len() as u64);
    header.mask = mask;
    // The minimal encoding holds every length, so this cannot fail.
    encode_frame(out, &header, payload).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Status;
    use crate::header::decode_header;
    use crate::opcode::Rsv;

    #[test]
    fn rfc6455_5_2_encoder_writes_deliberately_invalid_headers() {
        let mut header = FrameHeader::new(Opcode::from_bits(0xF), 0);
        header.fin = false;
        header.rsv = Rsv::ALL;
        header.length_encoding = LengthEncoding::Extended64;
        header.payload_len = u64::MAX; // top bit set, announces far more than sent
        header.mask = Some([0, 0, 0, 0]);
        let mut out = Vec::new();
        assert_eq!(encode_frame(&mut out, &header, b"xy"), Ok(16));
        assert_eq!(&out[..2], [0x7F, 0xFF]);
        assert_eq!(decode_header(&out), Status::Complete((header, 14)));
        assert_eq!(&out[14..], b"xy");
    }

    #[test]
    fn length_that_does_not_fit_writes_nothing() {
        let mut header = FrameHeader::new(Opcode::BINARY, 200);
        header.length_encoding = LengthEncoding::Short;
        let mut out = vec![1];
        assert_eq!(
            encode_frame(&mut out, &header, &[0; 200]),
            Err(EncodeError::LengthDoesNotFit {
                len: 200,
                encoding: LengthEncoding::Short
            })
        );
        assert_eq!(out, [1]);
    }

    #[test]
    fn rfc6455_5_7_boundary_lengths_use_the_minimal_encoding() {
        for (len, header_len) in [(0, 2), (125, 2), (126, 4), (65535, 4), (65536, 10)] {
            let mut out = Vec::new();
            let payload = vec![0xAA; len];
            encode_message(&mut out, Opcode::BINARY, None, &payload);
            assert_eq!(out.len(), header_len + len, "{len}");
            let Status::Complete((h, n)) = decode_header(&out) else {
                panic!()
            };
            assert_eq!((h.payload_len, n), (len as u64, header_len));
            assert!(h.is_minimal_length());
        }
    }
}
