//! The WebSocket conformance suite: Autobahn|Testsuite's cases ([`autobahn`]), the
//! checks beyond them ([`checks`]), and the probe's connection, which sends any
//! bytes and reads the server's through the framing crate ([`connection`]).

pub mod autobahn;
pub mod checks;
pub mod connection;

use std::sync::LazyLock;

use crate::registry::Check;
use checks::WsProbe;

static ALL: LazyLock<Vec<Check<WsProbe>>> = LazyLock::new(|| {
    let mut all = checks::CHECKS.to_vec();
    all.extend(autobahn::checks());
    all
});

/// Every WebSocket check: those beyond Autobahn, then Autobahn's 301 cases.
pub fn all_checks() -> &'static [Check<WsProbe>] {
    &ALL
}
