//! The WebSocket conformance suite (work in progress): the probe's connection,
//! which sends any bytes and reads the server's through the framing crate.

pub mod checks;
pub mod connection;
