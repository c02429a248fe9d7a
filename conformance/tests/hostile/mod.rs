//! Hostile peers for `tests/hostile.rs`: the servers, and the harness that runs
//! the `pulsecheck` binary against them and measures what it cost.

pub(crate) mod harness;
pub(crate) mod server;
pub(crate) mod sse;
pub(crate) mod ws;
