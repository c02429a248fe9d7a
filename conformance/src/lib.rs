//! # pulsecheck
//!
//! A conformance and fuzz test suite for the two web push protocols: Server-Sent
//! Events (`text/event-stream`, WHATWG HTML §9.2) and WebSocket (RFC 6455), as one
//! native binary.
//!
//! This crate holds the `pulsecheck` command and the pieces behind it. Today that is
//! the stream decoders ([`decode`]), which show what a parser made of a captured
//! stream, item by item, as JSON Lines:
//!
//! ```
//! use pulsecheck::decode::sse::{DecodeOptions, decode_to_string};
//!
//! let jsonl = decode_to_string(b"id: 1\ndata: hi\n\n", &DecodeOptions::default())?;
//! assert_eq!(
//!     jsonl,
//!     "{\"kind\":\"event\",\"type\":\"message\",\"data\":\"hi\",\"last_event_id\":\"1\",\"offset\":0}\n\
//!      {\"kind\":\"end\",\"last_event_id\":\"1\",\"retry_ms\":null,\"discarded_partial_event\":false,\"bytes\":16}\n"
//! );
//! # Ok::<(), pulsecheck_sse::Error>(())
//! ```
//!
//! The parsers themselves live in their own crates, usable without this one:
//! `pulsecheck-sse` (event streams) and `pulsecheck-ws` (WebSocket frames).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod check;
pub mod decode;
pub mod http;
pub mod registry;
pub mod report;
pub mod runner;
pub mod serve;
pub mod sse;
