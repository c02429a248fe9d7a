//! Hosting cases for a client under test: pulsecheck is the server, the client
//! connects, and each case is played on the client's connection by the same
//! engine the probe uses against servers, in the other role.
//!
//! [`ws`] speaks Autobahn|Testsuite's fuzzingserver protocol, so the client
//! scripts WebSocket libraries already keep run unchanged.

pub mod sse;
pub mod ws;
