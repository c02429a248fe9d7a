//! What the server sent, in words: the [`Display`](std::fmt::Display) of
//! [`WsEvent`], for check messages and evidence. Payloads are quoted escaped and
//! cut (a 16 MB message is its length and first bytes, never a list of numbers);
//! a violation names its rule, its section and the byte where it happened.

use std::fmt;

use pulsecheck_ws::MessageKind;

use crate::http::quote;
use crate::ws::connection::{MessageData, WsEvent};

/// How many payload bytes a description quotes.
const QUOTED: usize = 32;

/// A payload as `N bytes "…"` (or `no payload`), escaped and cut.
pub fn payload(data: &[u8]) -> String {
    match data.len() {
        0 => "no payload".to_owned(),
        1 => format!("1 byte \"{}\"", quote(data, QUOTED)),
        n => format!("{n} bytes \"{}\"", quote(data, QUOTED)),
    }
}

/// A message's payload as `N bytes "…"`: its length, and the first bytes the
/// probe kept of it (at most 64, of which 32 are quoted).
fn message(data: &MessageData) -> String {
    let head = data.head();
    match data.len() {
        0 => "no payload".to_owned(),
        1 => format!("1 byte \"{}\"", quote(head, QUOTED)),
        n => format!("{n} bytes \"{}\"", quote(head, QUOTED)),
    }
}

impl fmt::Display for WsEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WsEvent::Message {
                kind: MessageKind::Text,
                data,
            } => write!(f, "a text message of {}", message(data)),
            WsEvent::Message {
                kind: MessageKind::Binary,
                data,
            } => write!(f, "a binary message of {}", message(data)),
            WsEvent::Ping(data) => write!(f, "a Ping with {}", payload(data)),
            WsEvent::Pong(data) => write!(f, "a Pong with {}", payload(data)),
            WsEvent::Close { code: None, .. } => f.write_str("a Close without a status code"),
            WsEvent::Close {
                code: Some(code),
                reason,
            } if reason.is_empty() => write!(f, "a Close with code {code}"),
            WsEvent::Close {
                code: Some(code),
                reason,
            } => write!(
                f,
                "a Close with code {code} and reason \"{}\"",
                quote(reason.as_bytes(), QUOTED)
            ),
            WsEvent::Violation(v) => write!(
                f,
                "a violation of {} at byte {} (in the frame at byte {}): {}",
                v.error.section(),
                v.offset,
                v.frame_offset,
                v.error
            ),
            WsEvent::Compression(e) => write!(f, "compressed data that breaks RFC 7692: {e}"),
            WsEvent::Eof => f.write_str("the server closed the TCP connection"),
            WsEvent::Timeout => f.write_str("nothing within the time limit"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pulsecheck_ws::{ProtocolError, Violation};

    #[test]
    fn events_read_as_sentences_never_as_debug() {
        let big = WsEvent::Message {
            kind: MessageKind::Binary,
            data: MessageData::of(&vec![97; 16 << 20]),
        };
        let text = big.to_string();
        assert!(
            text.starts_with("a binary message of 16777216 bytes \"aaaa"),
            "{text}"
        );
        assert!(text.len() < 100, "{text}");
        assert!(!text.contains("[97"));

        let violation = WsEvent::Violation(Violation {
            offset: 10,
            frame_offset: 2,
            error: ProtocolError::FrameTooBig {
                len: 70_000,
                max: 65_536,
            },
        });
        let text = violation.to_string();
        assert!(
            text.starts_with(
                "a violation of RFC 6455 §7.4.1 at byte 10 (in the frame at byte 2): "
            )
        );
        assert!(!text.contains("FrameTooBig"), "{text}");

        assert_eq!(
            WsEvent::Close {
                code: Some(1000),
                reason: "bye\n".into()
            }
            .to_string(),
            "a Close with code 1000 and reason \"bye\\n\""
        );
        assert_eq!(
            WsEvent::Pong(b"\x00\xffok".to_vec()).to_string(),
            "a Pong with 4 bytes \"\\x00\\xffok\""
        );
        assert_eq!(
            WsEvent::Ping(Vec::new()).to_string(),
            "a Ping with no payload"
        );
    }
}
