//! # pulsecheck
//!
//! A conformance and fuzz test suite for the two web push protocols: Server-Sent
//! Events (`text/event-stream`, WHATWG HTML §9.2) and WebSocket (RFC 6455), as one
//! native binary.
//!
//! This crate holds the `pulsecheck` command and everything behind it, in layers a
//! newcomer can read in order:
//!
//! - [`check`]: what a check is (a stable ID, a title, the [`check::Source`] of its
//!   rule, the requirement quoted, a [`check::Level`]) and what running one finds
//!   (a [`check::Verdict`] with [`check::Evidence`]: expected, actual, a transcript);
//! - [`registry`]: suites as lists of checks, `--only`/`--skip` globs, a lint that
//!   keeps the catalogue honest;
//! - [`runner`]: checks run concurrently under timeouts and a deadline, every one
//!   accounted for, Ctrl-C included;
//! - [`budget`]: the memory budget of a run, and where each bound is enforced;
//! - [`report`]: JSON (documented schema), human text, JUnit XML, and the
//!   comparison with a saved baseline;
//! - [`http`]: the probe's HTTP client (hyper, rustls, HTTP/2), which shows the
//!   bytes with their timings;
//! - [`sse`]: the SSE suite — what a probe observes and the checks that judge it;
//! - [`serve`]: reference servers, conformant or with a chosen fault, for
//!   self-tests and for `pulsecheck probe` with no URL;
//! - [`decode`]: captured streams as JSON Lines, item by item:
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

pub mod budget;
pub mod check;
pub mod decode;
pub mod host;
pub mod http;
pub mod registry;
pub mod report;
pub mod runner;
pub mod serve;
pub mod sse;
pub mod suite;
pub mod ws;
