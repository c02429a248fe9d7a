//! The WebSocket conformance suite: Autobahn|Testsuite's cases ([`autobahn`]), the
//! checks beyond them ([`checks`]), and the probe's connection, which sends any
//! bytes and reads the server's through the framing crate ([`connection`]).

pub mod autobahn;
pub mod checks;
pub mod connection;
pub mod deflate;
pub mod deflate_checks;
pub mod deflate_window;
pub mod describe;
pub mod suite;

use std::sync::LazyLock;

use crate::registry::Check;
use checks::WsProbe;

static ALL: LazyLock<Vec<Check<WsProbe>>> = LazyLock::new(|| {
    // The checks that watch for a while start first (with the Autobahn cases
    // that pause), so the run takes as long as the longest of them.
    let (watching, rest): (Vec<_>, Vec<_>) = checks::CHECKS
        .iter()
        .partition(|c| c.info.area() == "heartbeat");
    let mut all = watching;
    // The compression cases, heaviest first: against a server that compresses
    // they are the longest checks of the suite.
    all.extend(autobahn::compression_checks());
    all.extend(autobahn::checks());
    all.extend(rest);
    all.extend(deflate_checks::CHECKS.iter().cloned());
    all
});

/// Every WebSocket check: those beyond Autobahn and Autobahn's 517 cases (301
/// of groups 1–10, 216 of compression).
pub fn all_checks() -> &'static [Check<WsProbe>] {
    &ALL
}
