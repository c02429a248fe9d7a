//! Autobahn's 301 cases of groups 1–7, 9 and 10 played as the server against a
//! client under test, as `wstest -m fuzzingserver` plays them: the same case
//! table and engine as the probe's ([`crate::ws::autobahn`]), the frames
//! unmasked, the client's frames required to be masked, and the host closing TCP
//! once the close handshake is done (RFC 6455 §7.1.1). The grades are
//! Autobahn's in that role: a server closing TCP itself is what it is meant to
//! do, so `FAILED BY CLIENT` cannot occur.

use crate::check::{CheckInfo, Evidence, Outcome, Transcript};
use crate::registry::{Check, CheckFuture};
use crate::ws::autobahn::fuzzer::{self, Behavior, CloseBehavior};
use crate::ws::autobahn::{case_of, cases, outcome_of, take_budget, with_grades};

use super::session::ClientSession;

/// The cases as checks of a client, in Autobahn's order.
pub fn checks() -> Vec<Check<ClientSession>> {
    cases()
        .map(|(_, info)| Check {
            info,
            run: play_case,
        })
        .collect()
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
        let conn = match upgrade.accept().await {
            Ok(conn) => conn,
            Err(e) => {
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
                return with_grades(outcome, Behavior::Failed, CloseBehavior::Failed, None, 0);
            }
        };
        // A client under Autobahn's protocol echoes every message.
        let result = fuzzer::play(case, conn.into_duplex(), true).await;
        outcome_of(case, result)
    })
}
