//! Reference servers: what `pulsecheck serve` runs, and what `pulsecheck probe`
//! starts in-process when it is given no URL.
//!
//! Each server is conformant by default and can commit one named fault on request,
//! so that every check of the suite can be shown to pass against the clean server
//! and to fail (or warn) against the fault it exists to catch.

pub mod sse;
pub mod ws;
