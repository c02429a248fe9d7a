//! What only a client must do (RFC 6455 §4.1, §5.1, §5.3, §5.5.1, §7; RFC 7692
//! §5, §7): checks Autobahn|Testsuite never makes.
//!
//! Each check takes one connection of the client under test (its request head
//! already read by the host), writes the response itself — the correct 101, or
//! the broken one it exists to send — and plays a few frames. The client follows
//! Autobahn's client protocol: it echoes every text and binary message, answers
//! pings and handles the close. Verdicts are decided from the bytes the client
//! sends back, and the evidence carries them.
//!
//! | area | file | what |
//! |---|---|---|
//! | `request` | `duties/request.rs` | the opening request: GET, HTTP/1.1, Host, Upgrade, Connection, version 13, a 16-byte key, fresh per connection |
//! | `masking` | `duties/masking.rs` | every client frame masked with varied keys; a masked server frame fails the connection |
//! | `handshake` | `duties/handshake.rs` | responses a client must refuse; a frame in the same write as the 101 is delivered |
//! | `close` | `duties/close.rs` | the server's Close answered, TCP left to the server, invalid close codes and reasons refused |
//! | `deflate` | `duties/deflate.rs` | permessage-deflate responses a client must refuse (unoffered, unknown or repeated parameters, invalid window bits) and valid ones it must take (a smaller server window, `server_no_context_takeover` unasked); skipped for a client that does not offer it |
//!
//! Every wait is bounded (2 s for an answer: a client that never answers fails
//! with a message saying so) and what a client sends is held in bounded memory
//! (`duties/wire.rs`: one frame or message of at most 64 KiB, one read, the
//! first 256 frame headers).

mod close;
mod deflate;
mod handshake;
mod masking;
mod request;
mod wire;

use crate::check::{Outcome, Transcript};
use crate::registry::Check;

use super::session::ClientSession;
use wire::ClientWire;

/// The client-duty checks, in the order they are played.
pub fn checks() -> Vec<Check<ClientSession>> {
    let mut checks = Vec::new();
    checks.extend(request::checks());
    checks.extend(masking::checks());
    checks.extend(handshake::checks());
    checks.extend(close::checks());
    checks.extend(deflate::checks());
    checks
}

/// The session's connection; `None` when another check already played it.
fn take(session: &ClientSession) -> Option<ClientWire> {
    session.take().map(ClientWire::new)
}

/// The outcome of a check whose session's connection was already played.
fn already_played() -> Outcome {
    Outcome::error(
        "the connection was already played by another check",
        Transcript::default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Source;
    use crate::registry::lint;

    #[test]
    fn the_catalogue_is_sound_and_every_check_cites_rfc_6455_or_7692() {
        let checks = checks();
        assert_eq!(lint(&checks), Vec::<String>::new());
        for c in &checks {
            assert_eq!(c.info.suite(), "ws-client", "{}", c.info.id);
            let cited = match c.info.source {
                Source::Rfc(6455, _) => true,
                Source::Rfc(7692, _) => c.info.area() == "deflate",
                _ => false,
            };
            assert!(cited, "{}: {:?}", c.info.id, c.info.source);
        }
        let areas: std::collections::BTreeSet<&str> =
            checks.iter().map(|c| c.info.area()).collect();
        assert_eq!(
            areas.into_iter().collect::<Vec<_>>(),
            ["close", "deflate", "handshake", "masking", "request"]
        );
    }
}
