//! The two small header fields with meaning of their own: the opcode and the RSV bits.

use core::fmt;

/// A frame opcode: any 4-bit value, including the reserved ones.
///
/// The raw decoder reports whatever opcode a peer sent, so this type can hold all sixteen
/// values; [`Opcode::is_reserved`] says whether a validator must reject it.
///
/// ```
/// use pulsecheck_ws::Opcode;
///
/// assert!(Opcode::TEXT.is_data());
/// assert!(Opcode::PING.is_control());
/// assert!(Opcode::from_bits(0x3).is_reserved());
/// assert_eq!(Opcode::from_bits(0xF1), Opcode::TEXT); // only the low 4 bits count
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Opcode(u8);

impl Opcode {
    /// `%x0`: a continuation frame (RFC 6455 §5.2).
    pub const CONTINUATION: Self = Self(0x0);
    /// `%x1`: a text frame.
    pub const TEXT: Self = Self(0x1);
    /// `%x2`: a binary frame.
    pub const BINARY: Self = Self(0x2);
    /// `%x8`: a connection close.
    pub const CLOSE: Self = Self(0x8);
    /// `%x9`: a ping.
    pub const PING: Self = Self(0x9);
    /// `%xA`: a pong.
    pub const PONG: Self = Self(0xA);

    /// The opcode held in the low four bits of `bits`; the high bits are ignored, so the
    /// first header byte can be passed as is.
    #[must_use]
    pub const fn from_bits(bits: u8) -> Self {
        Self(bits & 0x0F)
    }

    /// The opcode `value` if it fits in four bits, `None` otherwise.
    #[must_use]
    pub const fn new(value: u8) -> Option<Self> {
        if value <= 0x0F {
            Some(Self(value))
        } else {
            None
        }
    }

    /// The 4-bit value, `0..=15`.
    #[must_use]
    pub const fn get(self) -> u8 {
        self.0
    }

    /// Whether this is a control opcode.
    ///
    /// RFC 6455 §5.5: "Control frames are identified by opcodes where the most significant
    /// bit of the opcode is 1."
    #[must_use]
    pub const fn is_control(self) -> bool {
        self.0 & 0x08 != 0
    }

    /// Whether this is a data opcode (continuation, text, binary, or reserved `%x3-7`).
    ///
    /// RFC 6455 §5.6: "Data frames (e.g., non-control frames) are identified by opcodes
    /// where the most significant bit of the opcode is 0."
    #[must_use]
    pub const fn is_data(self) -> bool {
        !self.is_control()
    }

    /// Whether RFC 6455 leaves this opcode undefined (`%x3-7`, `%xB-F`).
    ///
    /// RFC 6455 §5.2: "If an unknown opcode is received, the receiving endpoint MUST _Fail
    /// the WebSocket Connection_."
    #[must_use]
    pub const fn is_reserved(self) -> bool {
        matches!(self.0, 0x3..=0x7 | 0xB..=0xF)
    }

    /// A lowercase name: `continuation`, `text`, `binary`, `close`, `ping`, `pong`,
    /// `reserved-data` or `reserved-control`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self.0 {
            0x0 => "continuation",
            0x1 => "text",
            0x2 => "binary",
            0x8 => "close",
            0x9 => "ping",
            0xA => "pong",
            0x3..=0x7 => "reserved-data",
            _ => "reserved-control",
        }
    }
}

impl fmt::Debug for Opcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Opcode({:#x} {})", self.0, self.name())
    }
}

impl fmt::Display for Opcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_reserved() {
            write!(f, "{}({:#x})", self.name(), self.0)
        } else {
            f.write_str(self.name())
        }
    }
}

/// The three reserved bits RSV1–RSV3 as a 3-bit number: RSV1 is `0b100`, RSV3 is `0b001`.
///
/// RFC 6455 §5.2: "MUST be 0 unless an extension is negotiated that defines meanings for
/// non-zero values." The same type describes which bits a negotiated extension allows
/// (permessage-deflate, RFC 7692, allows [`Rsv::RSV1`]).
///
/// ```
/// use pulsecheck_ws::Rsv;
///
/// let sent = Rsv::RSV1.union(Rsv::RSV3);
/// assert_eq!(sent.bits(), 0b101);
/// assert!(!Rsv::RSV1.contains(sent));
/// assert_eq!(sent.to_string(), "RSV1|RSV3");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Rsv(u8);

impl Rsv {
    /// No bit set.
    pub const NONE: Self = Self(0);
    /// RSV1 (the `0x40` bit of the first header byte).
    pub const RSV1: Self = Self(0b100);
    /// RSV2 (the `0x20` bit).
    pub const RSV2: Self = Self(0b010);
    /// RSV3 (the `0x10` bit).
    pub const RSV3: Self = Self(0b001);
    /// All three bits.
    pub const ALL: Self = Self(0b111);

    /// The bits held in the low three bits of `bits`; higher bits are ignored.
    #[must_use]
    pub const fn from_bits(bits: u8) -> Self {
        Self(bits & 0b111)
    }

    /// The 3-bit number, `0..=7`.
    #[must_use]
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether no bit is set.
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether every bit of `other` is also set in `self`.
    #[must_use]
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// The bits set in either.
    #[must_use]
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// The bits of `self` that are not in `other`.
    #[must_use]
    pub const fn difference(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }
}

impl fmt::Debug for Rsv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Rsv({:#05b})", self.0)
    }
}

impl fmt::Display for Rsv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("none");
        }
        let mut first = true;
        for (bit, name) in [
            (Self::RSV1, "RSV1"),
            (Self::RSV2, "RSV2"),
            (Self::RSV3, "RSV3"),
        ] {
            if self.contains(bit) {
                if !first {
                    f.write_str("|")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6455_5_2_opcode_table_classifies_all_sixteen_values() {
        let defined = [0x0, 0x1, 0x2, 0x8, 0x9, 0xA];
        for v in 0..=15u8 {
            let op = Opcode::from_bits(v);
            assert_eq!(op.get(), v);
            assert_eq!(op.is_reserved(), !defined.contains(&v), "{v:#x}");
            assert_eq!(op.is_control(), v >= 8, "{v:#x}");
        }
        assert_eq!(Opcode::new(16), None);
        assert_eq!(Opcode::new(15), Some(Opcode::from_bits(15)));
        assert_eq!(Opcode::from_bits(0x3).to_string(), "reserved-data(0x3)");
        assert_eq!(Opcode::from_bits(0xB).to_string(), "reserved-control(0xb)");
    }

    #[test]
    fn rsv_bits_set_algebra() {
        assert_eq!(Rsv::from_bits(0xFF), Rsv::ALL);
        assert_eq!(Rsv::ALL.difference(Rsv::RSV1), Rsv::RSV2.union(Rsv::RSV3));
        assert!(Rsv::NONE.is_empty());
        assert_eq!(Rsv::NONE.to_string(), "none");
        assert_eq!(Rsv::ALL.to_string(), "RSV1|RSV2|RSV3");
    }
}
