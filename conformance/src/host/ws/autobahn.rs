//! Autobahn's cases played as the server against a client under test, as
//! `wstest -m fuzzingserver` plays them: the 301 cases of groups 1–7, 9 and 10
//! and the 216 compression cases of groups 12 and 13, from the same case table
//! and engine as the probe's ([`crate::ws::autobahn`]), the frames unmasked, the
//! client's frames required to be masked, and the host closing TCP once the
//! close handshake is done (RFC 6455 §7.1.1). The grades are Autobahn's in that
//! role: a server closing TCP itself is what it is meant to do, so `FAILED BY
//! CLIENT` cannot occur.
//!
//! In a compression case the host answers the client's permessage-deflate
//! offers the way Autobahn's server does for that case
//! ([`DeflateHandshake::accept`]); a client that offers nothing that fits gets
//! no extension and the case is UNIMPLEMENTED (skipped: not a failure of a
//! client that does not compress).

use pulsecheck_ws::Role;

use crate::check::{CheckInfo, Evidence, Outcome, Transcript};
use crate::registry::{Check, CheckFuture};
use crate::ws::autobahn::fuzzer::{self, Behavior, CloseBehavior, Pace};
use crate::ws::autobahn::handshake::{DeflateHandshake, Handshake};
use crate::ws::autobahn::{
    case_of, cases, compression_cases, outcome_of, take_budget, with_compression, with_grades,
};

use super::session::{ClientSession, Upgrade};

/// The 301 cases of groups 1–10 as checks of a client, in Autobahn's order.
pub fn checks() -> Vec<Check<ClientSession>> {
    cases()
        .map(|(_, info)| Check {
            info,
            run: play_case,
        })
        .collect()
}

/// The 216 compression cases as checks of a client, in Autobahn's order.
pub fn compression_checks() -> Vec<Check<ClientSession>> {
    compression_cases()
        .map(|(_, info)| Check {
            info,
            run: play_case,
        })
        .collect()
}

/// FAILED: the client's opening request could not be answered.
fn refused(e: &dyn std::fmt::Display) -> Outcome {
    let mut transcript = Transcript::default();
    transcript.note(std::time::Duration::ZERO, e.to_string());
    let outcome = Outcome::fail(
        format!("FAILED: {e}"),
        Evidence {
            expected: "a valid opening request, then the case".into(),
            actual: e.to_string(),
            transcript,
        },
    );
    with_grades(outcome, Behavior::Failed, CloseBehavior::Failed, None, 0)
}

fn play_case<'a>(session: &'a ClientSession, info: &'a CheckInfo) -> CheckFuture<'a> {
    Box::pin(async move {
        let Some(named) = case_of(info) else {
            return Outcome::error(
                format!("{} is not an Autobahn case", info.id),
                Transcript::default(),
            );
        };
        let Some(upgrade) = session.take() else {
            return Outcome::error(
                "the case's connection was already played",
                Transcript::default(),
            );
        };
        let case = &named.case;
        let _heavy = take_budget(case).await;
        if let Handshake::Deflate(deflate) = &case.handshake {
            return play_compression_case(upgrade, case, deflate).await;
        }
        let conn = match upgrade.accept().await {
            Ok(conn) => conn,
            Err(e) => return refused(&e),
        };
        // A client under Autobahn's protocol echoes every message.
        let result = fuzzer::play(case, conn.into_duplex(), true).await;
        outcome_of(case, result)
    })
}

/// A compression case as the server: answer the client's offers as the case
/// says, then play with the agreed codecs.
async fn play_compression_case(
    upgrade: Upgrade,
    case: &fuzzer::Case,
    deflate: &DeflateHandshake,
) -> Outcome {
    let offers: Vec<String> = upgrade
        .request
        .headers_named("sec-websocket-extensions")
        .map(str::to_owned)
        .collect();
    // A header that breaks RFC 6455 §9.1 is declined whole: no extension.
    let (accepted, declined) = match deflate.accept(offers.iter().map(String::as_str)) {
        Ok(accepted) => (accepted, None),
        Err(e) => (None, Some(e)),
    };
    let mut conn = match upgrade
        .accept_with(accepted.as_ref().map(|a| a.response.as_str()))
        .await
    {
        Ok(conn) => conn,
        Err(e) => return refused(&e),
    };
    let offered = if offers.is_empty() {
        "no Sec-WebSocket-Extensions".to_owned()
    } else {
        format!("Sec-WebSocket-Extensions: {}", offers.join(", "))
    };
    let (deflater, stats, answer) = match &accepted {
        Some(accepted) => {
            let (deflater, inflater) = deflate.codecs(&accepted.agreement, Role::Server);
            let stats = inflater.stats();
            conn.inflate_with(inflater);
            (
                Some(deflater),
                Some(stats),
                format!("\"{}\"", accepted.response),
            )
        }
        None => (None, None, "no extension".to_owned()),
    };
    let mut duplex = conn.into_duplex();
    let mut note = format!("the client offered {offered}; the host answered {answer}");
    if let Some(e) = declined {
        note.push_str(&format!(" (its header breaks RFC 6455 §9.1: {e})"));
    }
    duplex.note(note);
    let result = fuzzer::play_negotiated(case, duplex, true, deflater, Pace::Sealed).await;
    with_compression(outcome_of(case, result.clone()), &result, stats.as_deref())
}
