//! Shared pieces of pulsecheck's benchmarks: deterministic workloads and the
//! adapters that drive each peer crate through the same work as ours.
#![forbid(unsafe_code)]

pub mod ours;
pub mod peers;
pub mod rng;
pub mod workloads;
pub mod ws;
