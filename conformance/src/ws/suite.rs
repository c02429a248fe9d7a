//! The WebSocket server suite as a value: Autobahn's cases and the checks beyond
//! them ([`super::all_checks`]) against an endpoint at a `ws` or `wss` URL.

use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::check::CheckInfo;
use crate::http::quote;
use crate::suite::{
    ProbeFuture, ProbeSetup, ProbeSuite, Suite, first_contact, infos_of, lint_checks, run_selected,
};

use super::all_checks;
use super::checks::WsProbe;
use super::connection::request_for;

/// How long the probe waits for an opening handshake's answer.
const OPENING_WAIT: Duration = Duration::from_secs(5);

/// The WebSocket server suite.
#[derive(Debug)]
pub struct WsSuite;

/// The one WebSocket server suite.
pub static WS: WsSuite = WsSuite;

impl Suite for WsSuite {
    fn name(&self) -> &'static str {
        "ws"
    }

    fn describes(&self) -> &'static str {
        "WebSocket servers (RFC 6455; Autobahn|Testsuite's cases 1–10)"
    }

    fn infos(&self) -> Vec<CheckInfo> {
        infos_of(all_checks())
    }

    fn lint(&self) -> Vec<String> {
        lint_checks(all_checks())
    }
}

impl ProbeSuite for WsSuite {
    fn schemes(&self) -> &'static [&'static str] {
        &["ws", "wss"]
    }

    fn probe<'a>(&'a self, setup: &'a ProbeSetup, url: Url, display: &'a str) -> ProbeFuture<'a> {
        Box::pin(async move {
            // The first contact is a standard opening handshake: a server that
            // does not answer it in HTTP, or refuses to switch protocols, cannot be
            // tested.
            let (_, request) = request_for(&url, &[]);
            let reply = setup.client.request_head_raw(&url, &request).await;
            let contact = match reply {
                Ok(reply) if reply.status != 101 => {
                    return Err(format!(
                        "unusable target {display}: the server does not speak WebSocket there: it answered the opening handshake with {} {}, not 101 Switching Protocols (RFC 6455 §4.2.2)",
                        reply.status,
                        quote(reply.reason.as_bytes(), 48)
                    ));
                }
                other => first_contact(other.map(drop), display)?,
            };
            let probe = Arc::new(
                WsProbe::new(setup.client.clone(), url, OPENING_WAIT)
                    .with_observe(setup.observe.unwrap_or(WsProbe::DEFAULT_OBSERVE)),
            );
            Ok(run_selected(probe, all_checks(), setup, contact).await)
        })
    }
}
