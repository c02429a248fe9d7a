//! The `probe`, `list` and `serve` commands (the `decode` commands live in
//! `main.rs`, beside the input handling they share).

pub(crate) mod args;
pub(crate) mod output;
pub(crate) mod probe;
pub(crate) mod serve;
