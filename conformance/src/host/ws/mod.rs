//! `pulsecheck host ws`: the WebSocket client suite.
//!
//! The client under test drives the run the way it drives Autobahn's
//! `wstest -m fuzzingserver`: it asks for the case count, connects once per case
//! to `/runCase?case=N&agent=A`, echoes what it receives, and finally asks for the
//! reports. Each connection becomes a [`session::ClientSession`]; the case's
//! check ([`catalogue`]) takes the upgrade from it and plays the case.
//!
//! [`server`] listens, reads each request head ([`head`]) and routes it:
//! [`fuzzingserver`] parses the protocol's requests, [`control`] answers the
//! requests the host itself answers, [`agents`] keeps every agent's results, and
//! [`page`] serves the page that runs the same loop in a browser.

pub mod agents;
pub mod autobahn;
pub mod catalogue;
pub mod control;
pub mod duties;
pub mod fuzzingserver;
pub mod head;
pub mod page;
pub mod server;
pub mod session;
pub mod suite;
