//! The violations the reference WebSocket server can commit on request, one per
//! check of the WebSocket suite, so every check can be shown to fail (or warn) on
//! the fault it exists to catch.

use core::fmt;
use core::str::FromStr;
use std::time::Duration;

use crate::serve::UnknownFault;

/// How long [`Fault::PongsLate`] holds a pong before it sends it.
pub(crate) const LATE_PONG: Duration = Duration::from_secs(2);

/// How many late pongs [`Fault::PongsLate`] holds at once; pings beyond that are
/// not answered at all (memory stays bounded whatever a client sends).
pub(crate) const MAX_LATE_PONGS: usize = 32;

/// How many frames [`Fault::FragmentsEcho`] cuts each echoed message into.
pub(crate) const ECHO_FRAGMENTS: usize = 3;

/// The subprotocol [`Fault::PicksUnofferedSubprotocol`] selects (or, if a client
/// happens to offer it, [`UNOFFERED_PROTOCOL_ALT`]).
pub(crate) const UNOFFERED_PROTOCOL: &str = "pulsecheck-unoffered";

/// The subprotocol [`Fault::PicksUnofferedSubprotocol`] selects when the client
/// offered [`UNOFFERED_PROTOCOL`].
pub(crate) const UNOFFERED_PROTOCOL_ALT: &str = "pulsecheck-unoffered-2";

/// The masking key [`Fault::MasksServerFrames`] puts on every frame.
pub(crate) const SERVER_MASK: [u8; 4] = [0x5a, 0x3c, 0x96, 0x0f];

/// One way for the reference WebSocket server to break the rules of PROTOCOL.md §3
/// (RFC 6455), chosen with `--fault NAME`.
///
/// Each fault changes one thing; everything else stays as the clean server does
/// it. [`Fault::description`] says what the server does, what a client sees, and
/// which check of the suite it should trip. [`Fault::FragmentsEcho`] is the one
/// fault that breaks no rule: it exists to show that the checks grade a legal but
/// unusual server as informational, not as a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// Echoes unmasked client frames instead of failing the connection.
    AcceptsUnmaskedFrames,
    /// Never validates text: invalid UTF-8 is echoed as text.
    SkipsUtf8Validation,
    /// Validates text only once the whole message has arrived (Autobahn's
    /// NON-STRICT), not at the first invalid byte.
    Utf8AtMessageEnd,
    /// Answers a Close carrying an invalid code with that same code.
    EchoesInvalidCloseCodes,
    /// Answers every ping 2 s late.
    PongsLate,
    /// Never answers pings.
    NoPong,
    /// After the closing handshake, leaves the TCP connection open.
    NeverClosesTcp,
    /// Masks every frame it sends.
    MasksServerFrames,
    /// Answers the opening handshake with a wrong `Sec-WebSocket-Accept`.
    WrongAccept,
    /// Answers 101 to a request with `Sec-WebSocket-Version: 12` (or any other
    /// version) instead of 426.
    IgnoresVersion,
    /// Selects a subprotocol the client did not offer.
    PicksUnofferedSubprotocol,
    /// Answers `Sec-WebSocket-Extensions: permessage-deflate` though the client
    /// did not ask for it.
    EnablesDeflate,
    /// Echoes each message in several frames (legal; informational).
    FragmentsEcho,
    /// Answers a Close with close code 1005, which must never be on the wire.
    ClosesWith1005,
    /// Closes TCP without replying to a Close.
    DropsOnClose,
}

impl Fault {
    /// Every fault, in catalogue order.
    pub const ALL: [Fault; 15] = [
        Fault::AcceptsUnmaskedFrames,
        Fault::SkipsUtf8Validation,
        Fault::Utf8AtMessageEnd,
        Fault::EchoesInvalidCloseCodes,
        Fault::PongsLate,
        Fault::NoPong,
        Fault::NeverClosesTcp,
        Fault::MasksServerFrames,
        Fault::WrongAccept,
        Fault::IgnoresVersion,
        Fault::PicksUnofferedSubprotocol,
        Fault::EnablesDeflate,
        Fault::FragmentsEcho,
        Fault::ClosesWith1005,
        Fault::DropsOnClose,
    ];

    /// The fault's stable kebab-case name, as `--fault` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Fault::AcceptsUnmaskedFrames => "accepts-unmasked-frames",
            Fault::SkipsUtf8Validation => "skips-utf8-validation",
            Fault::Utf8AtMessageEnd => "utf8-at-message-end",
            Fault::EchoesInvalidCloseCodes => "echoes-invalid-close-codes",
            Fault::PongsLate => "pongs-late",
            Fault::NoPong => "no-pong",
            Fault::NeverClosesTcp => "never-closes-tcp",
            Fault::MasksServerFrames => "masks-server-frames",
            Fault::WrongAccept => "wrong-accept",
            Fault::IgnoresVersion => "ignores-version",
            Fault::PicksUnofferedSubprotocol => "picks-unoffered-subprotocol",
            Fault::EnablesDeflate => "enables-deflate",
            Fault::FragmentsEcho => "fragments-echo",
            Fault::ClosesWith1005 => "closes-with-1005",
            Fault::DropsOnClose => "drops-on-close",
        }
    }

    /// What the server does wrong, what a client sees, and which check of the
    /// suite it should trip.
    pub fn description(self) -> &'static str {
        match self {
            Fault::AcceptsUnmaskedFrames => {
                "Treats an unmasked client frame as if it were masked with a zero key and \
                 echoes it, instead of failing the connection. A client sending an unmasked \
                 frame gets its echo and no Close. Trips the masking check (RFC 6455 §5.1: \
                 \"The server MUST close the connection upon receiving a frame that is not \
                 masked.\"); Autobahn has no case for it."
            }
            Fault::SkipsUtf8Validation => {
                "Never validates text messages: every text message is echoed as text, valid \
                 or not. A client sending invalid UTF-8 gets it back in a text frame instead \
                 of a Close 1007. Fails the UTF-8 checks (RFC 6455 §8.1; Autobahn 6.3.*, \
                 6.4.*, 6.6.*, 6.8.* and the other invalid-UTF-8 cases of group 6)."
            }
            Fault::Utf8AtMessageEnd => {
                "Validates a text message only when its last byte has arrived, then closes \
                 with 1007 if it is invalid: nothing is echoed, but the failure comes late. A \
                 client that sends an invalid fragment and waits sees no Close until it \
                 finishes the message. Graded NON-STRICT (warn) by the fail-fast UTF-8 checks \
                 (Autobahn 6.4.1-6.4.4); every other UTF-8 check passes."
            }
            Fault::EchoesInvalidCloseCodes => {
                "Answers a Close whose code must not be on the wire (0-999, 1004-1006, \
                 1015, 1016-2999, 5000 and above) with a Close carrying the same code, \
                 instead of 1002. Trips the invalid-close-code checks (RFC 6455 §7.4; \
                 Autobahn 7.9.*, which expect 1002 or a dropped connection)."
            }
            Fault::PongsLate => {
                "Answers every ping with the right pong, but 2 s after the ping arrived \
                 (data is echoed meanwhile, so the pong arrives after later echoes). Trips \
                 the ping checks that wait for a pong (RFC 6455 §5.5.2: \"as soon as \
                 practical\"; Autobahn's ping cases close after 1 s, before the pong) and \
                 shows in the measured pong latency."
            }
            Fault::NoPong => {
                "Ignores pings: never sends a pong, otherwise behaves. A client sending a \
                 ping and then a message gets the echo and no pong. Fails the ping checks \
                 (RFC 6455 §5.5.2: \"Upon receipt of a Ping frame, an endpoint MUST send a \
                 Pong frame in response\"; the Autobahn cases that expect a pong: 2.1-2.6, \
                 2.9-2.11, 5.6-5.8)."
            }
            Fault::NeverClosesTcp => {
                "Answers a Close correctly, then keeps the TCP connection open (reading and \
                 discarding) until the client closes it. A client waiting for the server's \
                 FIN waits until its own timeout. Trips the check that the server closes \
                 TCP first (RFC 6455 §7.1.1: \"the server SHOULD close the underlying TCP \
                 connection first\")."
            }
            Fault::MasksServerFrames => {
                "Sets the MASK bit, with a fixed key, on every frame it sends. A conformant \
                 client fails the connection at the first frame. Trips the server-masking \
                 check (RFC 6455 §5.1: \"A server MUST NOT mask any frames that it sends to \
                 the client.\") and every echo check."
            }
            Fault::WrongAccept => {
                "Computes `Sec-WebSocket-Accept` over the key plus a trailing space, like a \
                 server that keeps the header's whitespace. Every client refuses the \
                 connection. Trips the accept-key check (RFC 6455 §4.2.2, §4.1)."
            }
            Fault::IgnoresVersion => {
                "Accepts any `Sec-WebSocket-Version` (12, 8, ...) as if it were 13 and answers \
                 101, instead of 426 with `Sec-WebSocket-Version: 13`. Trips the version \
                 check (RFC 6455 §4.2.2, §4.4)."
            }
            Fault::PicksUnofferedSubprotocol => {
                "Answers every handshake with `Sec-WebSocket-Protocol: pulsecheck-unoffered`, \
                 offered or not. A client refuses the connection. Trips the subprotocol \
                 check (RFC 6455 §4.2.2: the value \"MUST be derived from the client's \
                 handshake\")."
            }
            Fault::EnablesDeflate => {
                "Answers every handshake with `Sec-WebSocket-Extensions: permessage-deflate` \
                 (then sends uncompressed frames, which the extension allows). A client that \
                 did not offer it refuses the connection. Trips the unrequested-extension \
                 check (RFC 6455 §9.1: \"A server MUST NOT respond with any extension not \
                 requested by the client.\")."
            }
            Fault::FragmentsEcho => {
                "Echoes every message in three frames (an empty message in two), each \
                 control frame still whole. Legal (RFC 6455 §5.4), so every echo check must \
                 still pass; checks that look at the frame structure of echoes report it as \
                 info."
            }
            Fault::ClosesWith1005 => {
                "Answers every Close with a Close carrying code 1005 (\"no status \
                 received\"), as a server that echoes its API's local code would. A \
                 conformant client fails the connection on it. Trips the close-code checks \
                 (RFC 6455 §7.4.1: 1005 \"MUST NOT be set as a status code in a Close \
                 control frame by an endpoint\"; Autobahn 7.1.*, 7.3.*, 7.7.*)."
            }
            Fault::DropsOnClose => {
                "Closes the TCP connection at once when a Close arrives, without sending a \
                 Close back. The client sees end of stream where it expected a Close. Trips \
                 the closing-handshake checks (RFC 6455 §5.5.1: \"the endpoint MUST send a \
                 Close frame in response\"; Autobahn 7.* grade the close as unclean)."
            }
        }
    }

    /// Whether the fault changes the frames a client sends before the reader sees
    /// them (the reader itself is the framing crate's, unchanged).
    pub(crate) fn rewrites_input(self) -> bool {
        matches!(
            self,
            Fault::AcceptsUnmaskedFrames | Fault::SkipsUtf8Validation | Fault::Utf8AtMessageEnd
        )
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Fault {
    type Err = UnknownFault;

    /// Parses a fault by its kebab-case [`Fault::name`] (exact match).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        crate::serve::parse_fault(s, &Fault::ALL, Fault::name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut names: Vec<&str> = Fault::ALL.iter().map(|f| f.name()).collect();
        for fault in Fault::ALL {
            assert_eq!(fault.name().parse::<Fault>(), Ok(fault));
            assert_eq!(fault.to_string(), fault.name());
            assert!(!fault.description().is_empty());
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Fault::ALL.len());
    }

    #[test]
    fn unknown_names_list_the_known_ones() {
        let msg = "NoPong".parse::<Fault>().unwrap_err().to_string();
        assert!(msg.starts_with("unknown fault `NoPong`; known faults: accepts-unmasked-frames, "));
        assert!(msg.ends_with("drops-on-close"));
    }
}
