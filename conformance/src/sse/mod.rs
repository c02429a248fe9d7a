//! The SSE conformance suite: what a probe observes of an event-stream endpoint,
//! and the checks that judge it.

pub mod capture;
pub mod checks;
pub mod probe;
pub mod suite;
