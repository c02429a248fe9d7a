//! # pulsecheck-sse
//!
//! A parser and encoder for Server-Sent Events, the `text/event-stream` format of
//! the WHATWG HTML Living Standard §9.2. It is exact to the specification's
//! interpretation algorithm (§9.2.6) under any chunking, it copies nothing it does
//! not have to, and it runs in time linear in its input.
//!
//! ```
//! use pulsecheck_sse::{Item, Parser};
//!
//! let stream = b": heartbeat\nretry: 3000\nid: 41\nevent: price\ndata: YHOO\ndata: +2\n\n";
//! let mut parser = Parser::new();
//! parser.feed(stream, |item| match item {
//!     Item::Event(event) => {
//!         assert_eq!(event.event_type, b"price");
//!         assert_eq!(event.data.to_str(), "YHOO\n+2");
//!         assert_eq!(event.last_event_id, b"41");
//!     }
//!     Item::Comment(comment) => assert_eq!(comment.text, b" heartbeat"),
//!     Item::Retry(retry) => assert_eq!(retry.ms, 3000),
//!     other => panic!("unexpected {other:?}"),
//! })?;
//! let end = parser.finish();
//! assert_eq!((end.last_event_id, end.retry_ms), (&b"41"[..], Some(3000)));
//! # Ok::<(), pulsecheck_sse::Error>(())
//! ```
//!
//! ## What it does
//!
//! [`Parser`] is a push parser: you feed it the bytes of one stream, in chunks of
//! any size, as they arrive; it calls you back with each [`Item`] in stream order:
//!
//! * [`Item::Event`] for every dispatched event — its type, its data lines and the
//!   stream's last event ID, exactly as a browser's `EventSource` would fire it;
//! * [`Item::Comment`] for every comment line (the heartbeats servers send);
//! * [`Item::Retry`] for every valid `retry` field;
//! * [`Item::Ignored`] for every line the algorithm ignores, and why: an invalid
//!   `retry`, an `id` containing NUL, an unknown field name, a line without a colon.
//!
//! Each item carries the byte offset of its line. When the stream ends,
//! [`Parser::finish`] gives the final [`End`] state: the last event ID, the
//! reconnection time, and whether an unfinished event was discarded. That is
//! everything a conformance probe needs to judge a server by what it sent.
//!
//! Every edge of §9.2.5–9.2.6 is handled, whatever the chunking: a byte-order mark
//! is stripped once, only at the very start, even when split across chunks; lines end
//! at CRLF, LF or a lone CR, and a CRLF split across chunks is one line end; a
//! final line ended by CR is not lost; `retry` accepts ASCII digits only; a bare
//! `id` resets the ID; an `id` with NUL is ignored; an `id`-only block still sets the
//! last event ID; unknown fields and colon-less lines are ignored, never errors;
//! invalid UTF-8 is decoded with U+FFFD and NUL bytes in data are kept.
//!
//! ## What it does not do
//!
//! No I/O, no reconnection, no HTTP: those belong to the caller (the `pulsecheck`
//! crate has a client). It never panics and never fails on malformed input — the
//! specification gives every byte sequence a meaning — but it does enforce the
//! limits in [`Config`], since a network peer can send a line that never ends.
//!
//! ## Zero copies
//!
//! Fields are handed out as byte slices. An event whose lines all arrived in the
//! chunk being fed borrows that chunk, multi-line data included ([`Data`] keeps the
//! lines and joins them only on request). Only the bytes that straddle a chunk
//! boundary are copied, into buffers the parser reuses, so steady-state parsing
//! allocates nothing. Text accessors ([`Text::to_str`], [`Data::to_str`])
//! decode UTF-8 lazily and borrow when the bytes are valid. Each chunk is
//! validated once (simdutf8); a field inside the validated part is handed out as a
//! piece of the `&str` the validator returned ([`Text::as_str`]), so it is never
//! validated twice — and the crate has no `unsafe` code.
//!
//! ## Writing streams
//!
//! [`encode`] writes events, comments and `retry` fields as valid event-stream
//! bytes; what it writes parses back to what was given.
//!
//! ## Crate features
//!
//! * `oracle` — a deliberately literal transcription of §9.2.6 (`oracle` module),
//!   the reference the property tests and fuzz targets compare the parser against.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
// Every type reachable from the public API can be named by users (`Text` once could not).
#![warn(unnameable_types)]

pub mod encode;
mod item;
mod parser;
mod text;
mod utf8;

#[cfg(any(test, feature = "oracle"))]
pub mod oracle;

#[cfg(feature = "oracle")]
#[doc(hidden)]
pub mod fuzzing;

#[cfg(test)]
mod proptests;

pub use item::{
    Comment, Data, DataLines, Event, IgnoreReason, Ignored, Item, OwnedEvent, Retry, Text,
};
pub use parser::{Config, Discarded, End, Error, LineEndings, Parser};
pub use text::decode_utf8_lossy;
