//! Where RSV1, the "Per-Message Compressed" bit, may be set (RFC 7692 §6).

use crate::opcode::{Opcode, Rsv};

/// What a frame's RSV1 bit says about its message, once it has passed
/// [`check_rsv1`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum FrameCompression {
    /// The first frame of a compressed message: decompress the message.
    CompressedMessage,
    /// The first frame of an uncompressed message, legal on a compressing connection
    /// (RFC 7692 §6: "An endpoint MAY send uncompressed messages").
    UncompressedMessage,
    /// A continuation or control frame: it inherits (or has) no compression state.
    NotAMessageStart,
}

/// RSV1 is set where RFC 7692 forbids it. Each fails the connection with 1002.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Rsv1Error {
    /// RSV1 on a control frame. RFC 7692 §6.1: "An endpoint MUST NOT set the 'Per-Message
    /// Compressed' bit of control frames and non-first fragments of a data message."
    #[error("RSV1 set on a {0} frame (RFC 7692 §6.1)")]
    OnControlFrame(Opcode),
    /// RSV1 on a continuation frame (same rule, RFC 7692 §6.1).
    #[error("RSV1 set on a continuation frame (RFC 7692 §6.1)")]
    OnContinuation,
    /// RSV1 without permessage-deflate negotiated. RFC 6455 §5.2: "MUST be 0 unless an
    /// extension is negotiated that defines meanings for non-zero values."
    #[error("RSV1 set but no extension was negotiated (RFC 6455 §5.2)")]
    NotNegotiated,
}

/// Checks RSV1 of a frame against RFC 7692 §6 and says whether it starts a compressed
/// message. `deflate_negotiated` is whether permessage-deflate is in force on the
/// connection. RSV2 and RSV3 are not looked at: they belong to other extensions.
///
/// # Errors
/// The rule the bit breaks; fail the connection with 1002 (RFC 6455 §7.4.1).
///
/// ```
/// use pulsecheck_ws::deflate::{FrameCompression, Rsv1Error, check_rsv1};
/// use pulsecheck_ws::{Opcode, Rsv};
///
/// assert_eq!(check_rsv1(Opcode::TEXT, Rsv::RSV1, true), Ok(FrameCompression::CompressedMessage));
/// assert_eq!(check_rsv1(Opcode::CONTINUATION, Rsv::RSV1, true), Err(Rsv1Error::OnContinuation));
/// ```
pub fn check_rsv1(
    opcode: Opcode,
    rsv: Rsv,
    deflate_negotiated: bool,
) -> Result<FrameCompression, Rsv1Error> {
    let rsv1 = rsv.contains(Rsv::RSV1);
    if !rsv1 {
        return Ok(if opcode.is_control() || opcode == Opcode::CONTINUATION {
            FrameCompression::NotAMessageStart
        } else {
            FrameCompression::UncompressedMessage
        });
    }
    if !deflate_negotiated {
        return Err(Rsv1Error::NotNegotiated);
    }
    //= RFC 7692 §6.1: "An endpoint MUST NOT set the 'Per-Message Compressed' bit of control
    //= frames and non-first fragments of a data message."
    if opcode.is_control() {
        return Err(Rsv1Error::OnControlFrame(opcode));
    }
    if opcode == Opcode::CONTINUATION {
        return Err(Rsv1Error::OnContinuation);
    }
    Ok(FrameCompression::CompressedMessage)
}

impl Rsv1Error {
    /// The close code: 1002, protocol error (RFC 6455 §7.4.1).
    #[must_use]
    pub const fn close_code(self) -> crate::close::CloseCode {
        crate::close::CloseCode::PROTOCOL_ERROR
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsv1_table_over_every_opcode() {
        for bits in 0..16u8 {
            let opcode = Opcode::from_bits(bits);
            for rsv_bits in 0..8u8 {
                let rsv = Rsv::from_bits(rsv_bits);
                for negotiated in [false, true] {
                    let got = check_rsv1(opcode, rsv, negotiated);
                    let rsv1 = rsv_bits & 0b100 != 0;
                    let want = match (rsv1, negotiated) {
                        (false, _) if opcode.is_control() || bits == 0 => {
                            Ok(FrameCompression::NotAMessageStart)
                        }
                        (false, _) => Ok(FrameCompression::UncompressedMessage),
                        (true, false) => Err(Rsv1Error::NotNegotiated),
                        (true, true) if opcode.is_control() => {
                            Err(Rsv1Error::OnControlFrame(opcode))
                        }
                        (true, true) if bits == 0 => Err(Rsv1Error::OnContinuation),
                        (true, true) => Ok(FrameCompression::CompressedMessage),
                    };
                    assert_eq!(got, want, "{opcode} {rsv} {negotiated}");
                }
            }
        }
        assert_eq!(Rsv1Error::OnContinuation.close_code().get(), 1002);
    }
}
