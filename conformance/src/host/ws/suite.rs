//! The WebSocket client suite as a value: Autobahn's cases played as the server
//! and the client-duty checks ([`super::catalogue`]), hosted by
//! `pulsecheck host ws` for a client under test.

use crate::check::CheckInfo;
use crate::suite::{Suite, infos_of, lint_checks};

use super::catalogue::checks;

/// The WebSocket client suite.
#[derive(Debug)]
pub struct WsClientSuite;

/// The one WebSocket client suite.
pub static WS_CLIENT: WsClientSuite = WsClientSuite;

impl Suite for WsClientSuite {
    fn name(&self) -> &'static str {
        "ws-client"
    }

    fn describes(&self) -> &'static str {
        "WebSocket clients (RFC 6455; Autobahn's fuzzingserver cases 1–10 and the client's own duties), hosted by `pulsecheck host ws`"
    }

    fn infos(&self) -> Vec<CheckInfo> {
        infos_of(checks())
    }

    fn lint(&self) -> Vec<String> {
        lint_checks(checks())
    }
}
