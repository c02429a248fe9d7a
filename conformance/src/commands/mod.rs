//! The `probe`, `list`, `serve` and `host` commands (the `decode` commands live in
//! `main.rs`, beside the input handling they share).

pub(crate) mod args;
pub(crate) mod baseline;
pub(crate) mod child;
pub(crate) mod host;
pub(crate) mod host_sse;
pub(crate) mod output;
pub(crate) mod probe;
pub(crate) mod serve;
