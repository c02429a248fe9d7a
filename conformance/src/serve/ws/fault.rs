//! The violations the reference WebSocket server can commit on request, one per
//! check of the WebSocket suite, so every check can be shown to fail (or warn) on
//! the fault it exists to catch; and two ways of being slow or stuck, so the
//! runner's `--check-timeout` can be shown to stop a stuck server and spare a
//! slow one.

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

/// How many messages of a connection [`Fault::StopsEchoing`] echoes before it
/// stops.
pub const ECHOES_BEFORE_STOPPING: usize = 100;

/// How long [`Fault::SlowEchoes`] holds each echo before it sends it.
pub const SLOW_ECHO: Duration = Duration::from_millis(4);

/// One way for the reference WebSocket server to break the rules of PROTOCOL.md §3
/// (RFC 6455), chosen with `--fault NAME`.
///
/// Each fault changes one thing; everything else stays as the clean server does
/// it. [`Fault::description`] says what the server does, what a client sees, and
/// which check of the suite it should trip. [`Fault::FragmentsEcho`] and
/// [`Fault::SlowEchoes`] break no rule: they exist to show that the checks grade
/// a legal but unusual server as informational, not as a failure, and that a
/// slow server is not cut short. [`Fault::StopsEchoing`] hangs: it exists to show
/// that a check waiting on it is stopped by `--check-timeout`.
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
    /// Echoes the first [`ECHOES_BEFORE_STOPPING`] messages of a connection,
    /// then reads and discards everything, the connection left open (a server
    /// that hangs).
    StopsEchoing,
    /// Waits [`SLOW_ECHO`] before sending each echo: correct, but slow.
    SlowEchoes,
    /// With `--deflate`: accepts an offer with a parameter it does not know,
    /// ignoring the parameter.
    AcceptsUnknownParameters,
    /// With `--deflate`: accepts an offer with a repeated parameter, taking the
    /// last value.
    AcceptsDuplicateParameters,
    /// With `--deflate`: answers 400 to a handshake with an offer it must
    /// decline.
    RefusesInvalidOffers,
    /// With `--deflate`: agrees to `server_no_context_takeover` without saying so.
    ForgetsServerNoContextTakeover,
    /// With `--deflate`: answers `server_no_context_takeover`, then keeps its
    /// context anyway.
    KeepsContext,
    /// With `--deflate`: answers `server_max_window_bits=15` whatever was
    /// offered.
    RaisesServerWindow,
    /// With `--deflate`: answers the offered `server_max_window_bits`, then
    /// compresses with a 15-bit window.
    IgnoresServerWindow,
    /// With `--deflate`: answers `client_max_window_bits=15` to offers without
    /// it.
    AnswersClientWindow,
    /// With `--deflate`: looks at the first permessage-deflate offer only.
    FirstOfferOnly,
    /// With `--deflate`: answers 500 to an offer of 8-bit windows.
    RefusesWindow8,
    /// With `--deflate`: takes control frames with RSV1.
    IgnoresRsv1OnControl,
    /// With `--deflate`: takes continuation frames with RSV1.
    IgnoresRsv1OnContinuation,
    /// With `--deflate`: inflates every message, RSV1 or not.
    InflatesUncompressed,
    /// With `--deflate`: inflates a message whatever it inflates to (up to a
    /// hard stop of 1 GiB) and echoes it.
    NoBombLimit,
    /// With `--deflate`: flips the last bit of every message it inflates before
    /// echoing it.
    CorruptsCompressedEchoes,
}

impl Fault {
    /// Every fault, in catalogue order.
    pub const ALL: [Fault; 32] = [
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
        Fault::StopsEchoing,
        Fault::SlowEchoes,
        Fault::AcceptsUnknownParameters,
        Fault::AcceptsDuplicateParameters,
        Fault::RefusesInvalidOffers,
        Fault::ForgetsServerNoContextTakeover,
        Fault::KeepsContext,
        Fault::RaisesServerWindow,
        Fault::IgnoresServerWindow,
        Fault::AnswersClientWindow,
        Fault::FirstOfferOnly,
        Fault::RefusesWindow8,
        Fault::IgnoresRsv1OnControl,
        Fault::IgnoresRsv1OnContinuation,
        Fault::InflatesUncompressed,
        Fault::NoBombLimit,
        Fault::CorruptsCompressedEchoes,
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
            Fault::StopsEchoing => "stops-echoing",
            Fault::SlowEchoes => "slow-echoes",
            Fault::AcceptsUnknownParameters => "accepts-unknown-parameters",
            Fault::AcceptsDuplicateParameters => "accepts-duplicate-parameters",
            Fault::RefusesInvalidOffers => "refuses-invalid-offers",
            Fault::ForgetsServerNoContextTakeover => "forgets-server-no-context-takeover",
            Fault::KeepsContext => "keeps-context",
            Fault::RaisesServerWindow => "raises-server-window",
            Fault::IgnoresServerWindow => "ignores-server-window",
            Fault::AnswersClientWindow => "answers-client-window",
            Fault::FirstOfferOnly => "first-offer-only",
            Fault::RefusesWindow8 => "refuses-window-8",
            Fault::IgnoresRsv1OnControl => "ignores-rsv1-on-control",
            Fault::IgnoresRsv1OnContinuation => "ignores-rsv1-on-continuation",
            Fault::InflatesUncompressed => "inflates-uncompressed",
            Fault::NoBombLimit => "no-bomb-limit",
            Fault::CorruptsCompressedEchoes => "corrupts-compressed-echoes",
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
            Fault::StopsEchoing => {
                "Echoes the first 100 messages of each connection, then reads and discards \
                 everything (messages, pings, a Close) and leaves the connection open until \
                 the client closes it, as a server whose handler hangs does; with or without \
                 --deflate. A client waiting for the 101st echo waits until its own timeout. \
                 Breaks RFC 6455 §5.5.1 and §5.5.2 once stuck (no Close or pong in \
                 response); it exists to show that a compression case stuck waiting for \
                 its echoes (Autobahn 12.*, 13.* send 1000 messages) ends as an error once \
                 --check-timeout passes without one, instead of hanging the run."
            }
            Fault::SlowEchoes => {
                "Holds each echo 4 ms before sending it (what is queued with it, a pong, \
                 waits too); with or without --deflate. Legal, only slow: 1000 pipelined \
                 messages take 4 s or more. It exists to show that a case whose server keeps \
                 answering is not cut short by --check-timeout (the time allowed without \
                 an echo, not in total): every check passes, later."
            }
            Fault::AcceptsUnknownParameters => {
                "(--deflate) Drops the parameters of a permessage-deflate offer it does not \
                 know and accepts the rest, as servers that look up only the names they \
                 use do. Fails ws/deflate/unknown-parameter-declined (RFC 7692 §7: a server \
                 \"MUST decline\" an offer with a parameter not defined for it)."
            }
            Fault::AcceptsDuplicateParameters => {
                "(--deflate) Takes the last of repeated parameters of an offer and accepts \
                 it. Fails ws/deflate/duplicate-parameter-declined (RFC 7692 §7: an offer \
                 with \"multiple extension parameters with the same name\" is declined)."
            }
            Fault::RefusesInvalidOffers => {
                "(--deflate) Answers 400 Bad Request to a handshake with an offer it cannot \
                 accept (unknown or repeated parameter, invalid value) instead of declining \
                 the offer and completing the handshake. Fails \
                 ws/deflate/invalid-value-declined, and the unknown- and \
                 duplicate-parameter checks (RFC 7692 §7: decline, not fail)."
            }
            Fault::ForgetsServerNoContextTakeover => {
                "(--deflate) Resets its context as offered but leaves \
                 `server_no_context_takeover` out of its answer. Fails \
                 ws/deflate/server-no-context-takeover-echoed (RFC 7692 §7.1.1.1: the \
                 server accepts it \"by including\" it in the response)."
            }
            Fault::KeepsContext => {
                "(--deflate) Answers `server_no_context_takeover`, then compresses each \
                 echo with the context of the ones before: a client that reset its \
                 window cannot inflate the second echo. Fails \
                 ws/deflate/server-no-context-takeover-honoured (RFC 7692 §7.1.1.1) and \
                 Autobahn 13.2.*, 13.5.*-13.7.*."
            }
            Fault::RaisesServerWindow => {
                "(--deflate) Answers `server_max_window_bits=15` to any offer that limits \
                 it. Fails ws/deflate/server-max-window-bits-kept (RFC 7692 §7.1.2.1: \
                 \"the same or smaller value as the offer\")."
            }
            Fault::IgnoresServerWindow => {
                "(--deflate) Answers the offered `server_max_window_bits`, then compresses \
                 with a 32 KiB window anyway: its echoes refer back farther than the \
                 client's window. Fails ws/deflate/server-max-window-bits-kept (RFC 7692 \
                 §7.1.2.1)."
            }
            Fault::AnswersClientWindow => {
                "(--deflate) Adds `client_max_window_bits=15` to its answer when the offer \
                 had none. Fails ws/deflate/client-max-window-bits-only-when-offered (RFC \
                 7692 §7.1.2.2: the response \"MUST NOT include\" it then)."
            }
            Fault::FirstOfferOnly => {
                "(--deflate) Looks at the first permessage-deflate offer only: when it must \
                 decline it, it declines compression altogether. Fails \
                 ws/deflate/offer-list-fallback (RFC 7692 §5: offers in order of \
                 preference)."
            }
            Fault::RefusesWindow8 => {
                "(--deflate) Answers 500 to an offer with a window of 8 bits, as servers \
                 whose zlib refuses an 8-bit window have. Fails ws/deflate/window-bits-8 \
                 (RFC 7692 §7.1.2: 8 is valid; decline or accept it)."
            }
            Fault::IgnoresRsv1OnControl => {
                "(--deflate) Takes a control frame with RSV1 as if the bit were clear (a \
                 ping is answered). Fails ws/deflate/rsv1-on-control-frame (RFC 7692 §6.1: \
                 \"MUST _Fail the WebSocket Connection_\")."
            }
            Fault::IgnoresRsv1OnContinuation => {
                "(--deflate) Takes a continuation frame with RSV1 as part of its compressed \
                 message. Fails ws/deflate/rsv1-on-continuation (RFC 7692 §6.1)."
            }
            Fault::InflatesUncompressed => {
                "(--deflate) Inflates every message on a compressing connection, RSV1 or \
                 not: an uncompressed message does not inflate and fails the connection \
                 with 1007. Fails ws/deflate/uncompressed-message-accepted (RFC 7692 §6.2: \
                 only messages with RSV1 are decompressed)."
            }
            Fault::NoBombLimit => {
                "(--deflate) Inflates a compressed message whatever it inflates to (up to a \
                 hard stop of 1 GiB) and echoes it: a 256 KiB bomb costs it 256 MiB and \
                 seconds of CPU. Fails ws/deflate/bomb-refused (RFC 6455 §10.4: limits \
                 \"SHOULD\" apply after decompression too; 1009)."
            }
            Fault::CorruptsCompressedEchoes => {
                "(--deflate) Flips the last bit of every message it inflates before \
                 compressing the echo: the echo decompresses, to the wrong bytes. Fails \
                 every compression case (Autobahn 12.*, 13.*: an echo that differs)."
            }
        }
    }

    /// Whether the fault is one of permessage-deflate's, which only a server
    /// started with [`WsServerConfig::deflate`](super::WsServerConfig::deflate)
    /// can commit.
    pub fn needs_deflate(self) -> bool {
        matches!(
            self,
            Fault::AcceptsUnknownParameters
                | Fault::AcceptsDuplicateParameters
                | Fault::RefusesInvalidOffers
                | Fault::ForgetsServerNoContextTakeover
                | Fault::KeepsContext
                | Fault::RaisesServerWindow
                | Fault::IgnoresServerWindow
                | Fault::AnswersClientWindow
                | Fault::FirstOfferOnly
                | Fault::RefusesWindow8
                | Fault::IgnoresRsv1OnControl
                | Fault::IgnoresRsv1OnContinuation
                | Fault::InflatesUncompressed
                | Fault::NoBombLimit
                | Fault::CorruptsCompressedEchoes
        )
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
        assert!(msg.ends_with("corrupts-compressed-echoes"));
    }
}
