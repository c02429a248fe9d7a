//! `pulsecheck host ws`: the WebSocket client suite.
//!
//! The client under test drives the run the way it drives Autobahn's
//! `wstest -m fuzzingserver`: it asks for the case count, connects once per case
//! to `/runCase?case=N&agent=A`, echoes what it receives, and finally asks for the
//! reports. Each connection becomes a [`session::ClientSession`]; the case's
//! check ([`catalogue`]) takes the upgrade from it and plays the case.

pub mod catalogue;
pub mod duties;
pub mod session;
pub mod fuzzingserver;
