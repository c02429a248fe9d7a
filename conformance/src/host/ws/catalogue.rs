//! The client suite's catalogue: Autobahn's 517 cases played as the server, in
//! Autobahn's order (groups 1–10, then the compression groups 12 and 13), then
//! the client-duty checks ([`super::duties`]).
//! `/runCase?case=N` indexes the selected checks in this order.

use std::sync::LazyLock;

use crate::registry::Check;

use super::session::ClientSession;

static CHECKS: LazyLock<Vec<Check<ClientSession>>> = LazyLock::new(|| {
    let mut checks = super::autobahn::checks();
    checks.extend(super::autobahn::compression_checks());
    checks.extend(super::duties::checks());
    checks
});

/// Every check of the client suite, in the order `/runCase?case=N` numbers them.
pub fn checks() -> &'static [Check<ClientSession>] {
    &CHECKS
}
