//! `pulsecheck host sse`: the SSE client suite.
//!
//! Reconnection, `retry` and `Last-Event-ID` are things the *client* does
//! (WHATWG HTML §9.2.3–9.2.4): a server can only offer them. This module is
//! the server side of testing them. For each case the host starts the client
//! under test (a driver command, [`driver::Launch`]) with the case's own URL,
//! `/case/<n>/<case id>`; [`server`] plays the case's [`script`] across the
//! client's connections (request 1 gets one reply, request 2 the next…) and
//! records every request; [`play`] waits, bounded, until the case is decided
//! and judges from the wire — and, for the parser cases, from the events the
//! driver printed ([`driver::DriverLines`]). [`cases`] is the catalogue, as
//! data: a script and a judge per case.

pub mod cases;
pub mod driver;
pub mod inbox;
pub mod page;
pub mod play;
pub mod script;
pub mod server;
pub mod service;
pub mod side;
pub mod suite;
