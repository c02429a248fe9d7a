//! Close codes and Close frame bodies (RFC 6455 §5.5.1, §7.4, and the IANA registry).

use core::fmt;

use crate::error::ProtocolError;

/// A close status code: any `u16`, as it appears on the wire.
///
/// The type does not restrict the value (a probe must be able to send 1005 or 0 on
/// purpose); [`CloseCode::class`] says what RFC 6455 §7.4 and the IANA "WebSocket Close Code
/// Number" registry make of it.
///
/// ```
/// use pulsecheck_ws::{CloseCode, CloseCodeClass};
///
/// assert_eq!(CloseCode::NORMAL.class(), CloseCodeClass::Defined);
/// assert!(CloseCode(4001).is_valid_on_wire());
/// assert!(CloseCode(4001).is_private());
/// assert!(!CloseCode::NO_STATUS_RECEIVED.is_valid_on_wire()); // 1005 is local-only
/// assert_eq!(CloseCode(1016).class(), CloseCodeClass::Reserved);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct CloseCode(pub u16);

/// What RFC 6455 §7.4 and the IANA registry say about a close code's value.
#[non_exhaustive]
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum CloseCodeClass {
    /// Defined by the protocol and valid on the wire: 1000–1003, 1007–1011 (RFC 6455
    /// §7.4.1) and 1012–1014 (registered with IANA after the RFC).
    Defined,
    /// 3000–3999: RFC 6455 §7.4.2 "reserved for use by libraries, frameworks, and
    /// applications. These status codes are registered directly with IANA." Valid on the
    /// wire.
    Registered,
    /// 4000–4999: RFC 6455 §7.4.2 "reserved for private use and thus can't be registered."
    /// Valid on the wire.
    Private,
    /// 1005, 1006, 1015: RFC 6455 §7.4.1 "is a reserved value and MUST NOT be set as a
    /// status code in a Close control frame by an endpoint." They exist only inside an
    /// implementation, to report "no code", "abnormal closure" and "TLS failure".
    LocalOnly,
    /// Never valid on the wire: 0–999 ("not used"), 1004 ("Reserved"), 1016–2999 (reserved
    /// for this protocol, unassigned), and 5000 and above (outside every range of §7.4.2).
    Reserved,
}

impl CloseCode {
    /// 1000: "a normal closure, meaning that the purpose for which the connection was
    /// established has been fulfilled."
    pub const NORMAL: Self = Self(1000);
    /// 1001: an endpoint is "going away", such as a server going down or a browser leaving
    /// a page.
    pub const GOING_AWAY: Self = Self(1001);
    /// 1002: "terminating the connection due to a protocol error."
    pub const PROTOCOL_ERROR: Self = Self(1002);
    /// 1003: "received a type of data it cannot accept."
    pub const UNSUPPORTED_DATA: Self = Self(1003);
    /// 1004: "Reserved. The specific meaning might be defined in the future."
    pub const RESERVED: Self = Self(1004);
    /// 1005: local-only, "no status code was actually present."
    pub const NO_STATUS_RECEIVED: Self = Self(1005);
    /// 1006: local-only, "the connection was closed abnormally".
    pub const ABNORMAL_CLOSURE: Self = Self(1006);
    /// 1007: "received data within a message that was not consistent with the type of the
    /// message (e.g., non-UTF-8 \[RFC3629\] data within a text message)."
    pub const INVALID_PAYLOAD: Self = Self(1007);
    /// 1008: "received a message that violates its policy."
    pub const POLICY_VIOLATION: Self = Self(1008);
    /// 1009: "received a message that is too big for it to process."
    pub const MESSAGE_TOO_BIG: Self = Self(1009);
    /// 1010: sent by a client that expected the server to negotiate an extension. RFC 6455
    /// §7.4.1: "this status code is not used by the server".
    pub const MANDATORY_EXTENSION: Self = Self(1010);
    /// 1011: "a server is terminating the connection because it encountered an unexpected
    /// condition".
    pub const INTERNAL_ERROR: Self = Self(1011);
    /// 1012 (IANA): Service Restart.
    pub const SERVICE_RESTART: Self = Self(1012);
    /// 1013 (IANA): Try Again Later.
    pub const TRY_AGAIN_LATER: Self = Self(1013);
    /// 1014 (IANA): Bad Gateway, the server acted as a gateway and got an invalid response
    /// upstream.
    pub const BAD_GATEWAY: Self = Self(1014);
    /// 1015: local-only, "failure to perform a TLS handshake".
    pub const TLS_HANDSHAKE: Self = Self(1015);

    /// The numeric value.
    #[must_use]
    pub const fn get(self) -> u16 {
        self.0
    }

    /// Classifies the code per RFC 6455 §7.4 and the IANA registry (see PROTOCOL.md §3).
    #[must_use]
    pub const fn class(self) -> CloseCodeClass {
        match self.0 {
            // RFC 6455 §7.4.1 and IANA: 1000-1003, 1007-1011 defined; 1012-1014 registered
            // after the RFC.
            1000..=1003 | 1007..=1014 => CloseCodeClass::Defined,
            // RFC 6455 §7.4.1: 1005, 1006, 1015 "MUST NOT be set as a status code in a Close
            // control frame by an endpoint."
            1005 | 1006 | 1015 => CloseCodeClass::LocalOnly,
            // RFC 6455 §7.4.2: "reserved for use by libraries, frameworks, and applications."
            3000..=3999 => CloseCodeClass::Registered,
            // RFC 6455 §7.4.2: "reserved for private use and thus can't be registered."
            4000..=4999 => CloseCodeClass::Private,
            // RFC 6455 §7.4.2: "Status codes in the range 0-999 are not used."; 1004
            // "Reserved."; 1016-2999 unassigned; >= 5000 outside every range.
            _ => CloseCodeClass::Reserved,
        }
    }

    /// Whether an endpoint may put this code in a Close frame: 1000–1003, 1007–1014,
    /// 3000–4999.
    #[must_use]
    pub const fn is_valid_on_wire(self) -> bool {
        matches!(
            self.class(),
            CloseCodeClass::Defined | CloseCodeClass::Registered | CloseCodeClass::Private
        )
    }

    /// Whether the code is reserved: 0–999, 1004, 1016–2999, 5000 and above.
    #[must_use]
    pub const fn is_reserved(self) -> bool {
        matches!(self.class(), CloseCodeClass::Reserved)
    }

    /// Whether the code is local-only: 1005, 1006, 1015.
    #[must_use]
    pub const fn is_local_only(self) -> bool {
        matches!(self.class(), CloseCodeClass::LocalOnly)
    }

    /// Whether the code is in the private-use range 4000–4999.
    #[must_use]
    pub const fn is_private(self) -> bool {
        matches!(self.class(), CloseCodeClass::Private)
    }

    /// The registered name of a code the RFC or IANA defines, e.g. `"Normal Closure"`.
    #[must_use]
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            1000 => "Normal Closure",
            1001 => "Going Away",
            1002 => "Protocol Error",
            1003 => "Unsupported Data",
            1004 => "Reserved",
            1005 => "No Status Received",
            1006 => "Abnormal Closure",
            1007 => "Invalid Frame Payload Data",
            1008 => "Policy Violation",
            1009 => "Message Too Big",
            1010 => "Mandatory Extension",
            1011 => "Internal Error",
            1012 => "Service Restart",
            1013 => "Try Again Later",
            1014 => "Bad Gateway",
            1015 => "TLS Handshake",
            _ => return None,
        })
    }
}

impl From<u16> for CloseCode {
    fn from(value: u16) -> Self {
        Self(value)
    }
}

impl From<CloseCode> for u16 {
    fn from(value: CloseCode) -> Self {
        value.0
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{} ({name})", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}

/// A decoded, valid Close frame body.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct CloseFrame<'a> {
    /// The status code, or `None` for an empty body (an application reports 1005 then).
    pub code: Option<CloseCode>,
    /// The reason, empty when absent. At most 123 bytes of valid UTF-8.
    pub reason: &'a str,
}

/// The largest reason a Close frame can carry: 125 bytes of control payload minus the
/// 2-byte code.
pub const MAX_CLOSE_REASON: usize = 123;

/// Parses a Close frame body (already unmasked).
///
/// RFC 6455 §5.5.1: "If there is a body, the first two bytes of the body MUST be a 2-byte
/// unsigned integer (in network byte order) representing a status code with value /code/
/// defined in Section 7.4. Following the 2-byte integer, the body MAY contain UTF-8-encoded
/// data with value /reason/".
///
/// Errors, in the order they are checked: a body longer than 125 bytes
/// ([`ProtocolError::ControlFrameTooLong`]), a 1-byte body
/// ([`ProtocolError::CloseBodyTooShort`]), a code that is not valid on the wire
/// ([`ProtocolError::InvalidCloseCode`]), a reason that is not UTF-8
/// ([`ProtocolError::InvalidCloseReason`]).
///
/// ```
/// use pulsecheck_ws::{parse_close_body, CloseCode, ProtocolError};
///
/// let close = parse_close_body(b"\x03\xe8bye").unwrap();
/// assert_eq!(close.code, Some(CloseCode::NORMAL));
/// assert_eq!(close.reason, "bye");
/// assert_eq!(parse_close_body(b"\x03"), Err(ProtocolError::CloseBodyTooShort));
/// assert_eq!(
///     parse_close_body(b"\x03\xed"),
///     Err(ProtocolError::InvalidCloseCode { code: CloseCode(1005) })
/// );
/// ```
pub fn parse_close_body(body: &[u8]) -> Result<CloseFrame<'_>, ProtocolError> {
    // RFC 6455 §5.5: "All control frames MUST have a payload length of 125 bytes or less".
    if body.len() > 125 {
        return Err(ProtocolError::ControlFrameTooLong {
            len: body.len() as u64,
        });
    }
    match body {
        [] => Ok(CloseFrame {
            code: None,
            reason: "",
        }),
        // RFC 6455 §5.5.1: "the first two bytes of the body MUST be a 2-byte unsigned
        // integer": one byte cannot hold it.
        [_] => Err(ProtocolError::CloseBodyTooShort),
        [hi, lo, reason @ ..] => {
            let code = CloseCode(u16::from_be_bytes([*hi, *lo]));
            // RFC 6455 §7.4.1: 1005/1006/1015 "MUST NOT be set as a status code in a Close
            // control frame"; §7.4.2 gives the other ranges (PROTOCOL.md §3).
            if !code.is_valid_on_wire() {
                return Err(ProtocolError::InvalidCloseCode { code });
            }
            // RFC 6455 §8.1: "When an endpoint is to interpret a byte stream as UTF-8 but
            // finds that the byte stream is not, in fact, a valid UTF-8 stream, that
            // endpoint MUST _Fail the WebSocket Connection_."
            match simdutf8::compat::from_utf8(reason) {
                Ok(reason) => Ok(CloseFrame {
                    code: Some(code),
                    reason,
                }),
                Err(e) => Err(ProtocolError::InvalidCloseReason {
                    valid_up_to: e.valid_up_to() as u64,
                    error_len: e.error_len().and_then(|n| u8::try_from(n).ok()),
                }),
            }
        }
    }
}

/// Appends a Close body to `out`: the code in network byte order, then `reason` verbatim.
///
/// Nothing is checked, so a probe can send a reserved code, a reason that is not UTF-8 or
/// is longer than 123 bytes. For a 1-byte body, encode the byte as the payload directly.
pub fn write_close_body(out: &mut Vec<u8>, code: CloseCode, reason: &[u8]) {
    out.extend_from_slice(&code.0.to_be_bytes());
    out.extend_from_slice(reason);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6455_7_4_every_code_has_exactly_the_documented_class() {
        for v in 0..=u16::MAX {
            let code = CloseCode(v);
            let expected = match v {
                1000..=1003 | 1007..=1014 => CloseCodeClass::Defined,
                1005 | 1006 | 1015 => CloseCodeClass::LocalOnly,
                3000..=3999 => CloseCodeClass::Registered,
                4000..=4999 => CloseCodeClass::Private,
                0..=999 | 1004 | 1016..=2999 | 5000.. => CloseCodeClass::Reserved,
            };
            assert_eq!(code.class(), expected, "{v}");
            let on_wire = matches!(v, 1000..=1003 | 1007..=1014 | 3000..=4999);
            assert_eq!(code.is_valid_on_wire(), on_wire, "{v}");
            assert_eq!(code.is_private(), (4000..=4999).contains(&v), "{v}");
            assert_eq!(code.is_local_only(), matches!(v, 1005 | 1006 | 1015), "{v}");
        }
    }

    #[test]
    fn rfc6455_7_4_1_named_constants_have_their_values_and_names() {
        assert_eq!(CloseCode::NORMAL.get(), 1000);
        assert_eq!(CloseCode::PROTOCOL_ERROR.get(), 1002);
        assert_eq!(CloseCode::INVALID_PAYLOAD.get(), 1007);
        assert_eq!(CloseCode::MESSAGE_TOO_BIG.get(), 1009);
        assert_eq!(CloseCode::TLS_HANDSHAKE.get(), 1015);
        assert_eq!(CloseCode::BAD_GATEWAY.to_string(), "1014 (Bad Gateway)");
        assert_eq!(CloseCode(4000).to_string(), "4000");
        assert_eq!(CloseCode(1016).name(), None);
    }

    #[test]
    fn rfc6455_5_5_1_close_body_forms() {
        assert_eq!(
            parse_close_body(b""),
            Ok(CloseFrame {
                code: None,
                reason: ""
            })
        );
        assert_eq!(
            parse_close_body(b"\x0f\xa0"),
            Ok(CloseFrame {
                code: Some(CloseCode(4000)),
                reason: ""
            })
        );
        assert_eq!(
            parse_close_body(b"\xff"),
            Err(ProtocolError::CloseBodyTooShort)
        );
        for bad in [
            0u16,
            999,
            1004,
            1005,
            1006,
            1015,
            1016,
            2999,
            5000,
            u16::MAX,
        ] {
            let body = bad.to_be_bytes();
            assert_eq!(
                parse_close_body(&body),
                Err(ProtocolError::InvalidCloseCode {
                    code: CloseCode(bad)
                })
            );
        }
        assert_eq!(
            parse_close_body(b"\x03\xe8ok\xff"),
            Err(ProtocolError::InvalidCloseReason {
                valid_up_to: 2,
                error_len: Some(1)
            })
        );
        // A reason ending inside a code point is invalid too.
        assert_eq!(
            parse_close_body(b"\x03\xe8\xe2\x82"),
            Err(ProtocolError::InvalidCloseReason {
                valid_up_to: 0,
                error_len: None
            })
        );
    }

    #[test]
    fn rfc6455_5_5_close_reason_is_at_most_123_bytes() {
        let mut body = vec![0x03, 0xe8];
        body.extend(std::iter::repeat_n(b'a', MAX_CLOSE_REASON));
        assert_eq!(parse_close_body(&body).map(|c| c.reason.len()), Ok(123));
        body.push(b'a');
        assert_eq!(
            parse_close_body(&body),
            Err(ProtocolError::ControlFrameTooLong { len: 126 })
        );
    }

    #[test]
    fn write_close_body_writes_any_code() {
        let mut out = Vec::new();
        write_close_body(&mut out, CloseCode::NO_STATUS_RECEIVED, b"\xff");
        assert_eq!(out, b"\x03\xed\xff");
    }
}
