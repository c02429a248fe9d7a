//! What only a client must do (RFC 6455 §4.1, §5.1, §5.3, §7): checks Autobahn
//! never makes.

use crate::registry::Check;

use super::session::ClientSession;

/// The client-duty checks, in the order they are played.
pub fn checks() -> Vec<Check<ClientSession>> {
    Vec::new()
}
