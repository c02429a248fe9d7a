//! Writing event streams.
//!
//! Each function appends valid `text/event-stream` bytes (WHATWG §9.2.5) to a
//! `Vec<u8>`; the caller owns the buffer and the I/O. What is written parses back
//! to what was given: data with embedded line breaks becomes several `data:` lines
//! (which the parser joins with LF, so CRLF and CR inside data come back as LF);
//! values that no stream could carry (a line break in an event type or id, a NUL
//! in an id) are refused rather than silently changed.
//!
//! ```
//! use pulsecheck_sse::encode::{encode_comment, encode_event, OutEvent};
//!
//! let mut out = Vec::new();
//! encode_comment(&mut out, " keepalive");
//! encode_event(&mut out, &OutEvent {
//!     event_type: Some("price"),
//!     id: Some("42"),
//!     retry_ms: Some(3000),
//!     data: "YHOO\n+2",
//! })?;
//! assert_eq!(out, b": keepalive\nevent: price\nid: 42\nretry: 3000\ndata: YHOO\ndata: +2\n\n");
//! # Ok::<(), pulsecheck_sse::encode::EncodeError>(())
//! ```

/// An event to write. `data` may contain line breaks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutEvent<'a> {
    /// The `event` field; `None` writes none (the client sees `message`).
    pub event_type: Option<&'a str>,
    /// The `id` field; `Some("")` resets the client's last event ID.
    pub id: Option<&'a str>,
    /// A `retry` field written with the event.
    pub retry_ms: Option<u64>,
    /// The event's data. An empty string still fires an event with empty data.
    pub data: &'a str,
}

/// A value that cannot be written as given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EncodeError {
    /// An event type containing CR or LF would end its line early and turn the
    /// rest into another field.
    EventTypeHasLineBreak,
    /// An id containing CR or LF would end its line early.
    IdHasLineBreak,
    /// An id containing NUL is ignored by clients (WHATWG §9.2.6).
    IdHasNul,
}

impl core::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            EncodeError::EventTypeHasLineBreak => "event type contains a line break",
            EncodeError::IdHasLineBreak => "id contains a line break",
            EncodeError::IdHasNul => "id contains NUL, which clients ignore",
        })
    }
}

impl std::error::Error for EncodeError {}

fn has_line_break(s: &str) -> bool {
    memchr::memchr2(b'\n', b'\r', s.as_bytes()).is_some()
}

/// Splits text at CRLF, LF and CR, the three line ends of WHATWG §9.2.5.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    core::iter::from_fn(move || {
        let s = rest?;
        match memchr::memchr2(b'\n', b'\r', s.as_bytes()) {
            None => {
                rest = None;
                Some(s)
            }
            Some(i) => {
                let skip = if s.as_bytes().get(i..i + 2) == Some(b"\r\n") {
                    2
                } else {
                    1
                };
                rest = s.get(i + skip..);
                s.get(..i)
            }
        }
    })
}

fn write_field(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    if value.is_empty() {
        out.extend_from_slice(b":\n");
    } else {
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.push(b'\n');
    }
}

/// Appends one event, ended by its blank line.
pub fn encode_event(out: &mut Vec<u8>, event: &OutEvent<'_>) -> Result<(), EncodeError> {
    if event.event_type.is_some_and(has_line_break) {
        return Err(EncodeError::EventTypeHasLineBreak);
    }
    if let Some(id) = event.id {
        if has_line_break(id) {
            return Err(EncodeError::IdHasLineBreak);
        }
        if id.as_bytes().contains(&0) {
            return Err(EncodeError::IdHasNul);
        }
    }
    out.reserve(event.data.len() + 16);
    if let Some(t) = event.event_type {
        write_field(out, "event", t);
    }
    if let Some(id) = event.id {
        write_field(out, "id", id);
    }
    if let Some(ms) = event.retry_ms {
        encode_retry(out, ms);
    }
    for line in lines(event.data) {
        write_field(out, "data", line);
    }
    out.push(b'\n');
    Ok(())
}

/// Appends a comment; text with line breaks becomes one comment line per line.
/// Clients ignore comments; servers send them as heartbeats.
pub fn encode_comment(out: &mut Vec<u8>, text: &str) {
    for line in lines(text) {
        out.push(b':');
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
}

/// Appends a `retry` field on its own. It takes effect when the client reads it;
/// it needs no blank line, though a stream should still end blocks with one.
pub fn encode_retry(out: &mut Vec<u8>, ms: u64) {
    out.extend_from_slice(b"retry: ");
    let mut digits = [0u8; 20];
    let mut n = ms;
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_line_breaks_of_every_kind_become_data_lines() {
        let mut out = Vec::new();
        encode_event(
            &mut out,
            &OutEvent {
                data: "a\r\nb\rc\n\nd",
                ..OutEvent::default()
            },
        )
        .unwrap();
        assert_eq!(out, b"data: a\ndata: b\ndata: c\ndata:\ndata: d\n\n");
    }

    #[test]
    fn empty_data_still_fires() {
        let mut out = Vec::new();
        encode_event(&mut out, &OutEvent::default()).unwrap();
        assert_eq!(out, b"data:\n\n");
    }

    #[test]
    fn leading_space_in_data_survives() {
        let mut out = Vec::new();
        encode_event(
            &mut out,
            &OutEvent {
                data: " x",
                ..OutEvent::default()
            },
        )
        .unwrap();
        assert_eq!(out, b"data:  x\n\n");
    }

    #[test]
    fn unwritable_values_are_refused() {
        let mut out = Vec::new();
        let bad_type = OutEvent {
            event_type: Some("a\nb"),
            ..OutEvent::default()
        };
        assert_eq!(
            encode_event(&mut out, &bad_type),
            Err(EncodeError::EventTypeHasLineBreak)
        );
        let bad_id = OutEvent {
            id: Some("1\r"),
            ..OutEvent::default()
        };
        assert_eq!(
            encode_event(&mut out, &bad_id),
            Err(EncodeError::IdHasLineBreak)
        );
        let nul_id = OutEvent {
            id: Some("1\0"),
            ..OutEvent::default()
        };
        assert_eq!(encode_event(&mut out, &nul_id), Err(EncodeError::IdHasNul));
        assert!(out.is_empty());
    }

    #[test]
    fn comments_split_per_line_and_retry_is_decimal() {
        let mut out = Vec::new();
        encode_comment(&mut out, "a\nb");
        encode_retry(&mut out, 0);
        encode_retry(&mut out, u64::MAX);
        assert_eq!(out, b":a\n:b\nretry: 0\nretry: 18446744073709551615\n");
    }
}
