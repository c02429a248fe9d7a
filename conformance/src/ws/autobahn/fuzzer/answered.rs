//! A pause that is there for an answer ends when the answer is in.
//!
//! 5.19 and 5.20 send two fragments of a text message and ping 1, pause 1 s,
//! then send the rest of the message with ping 2 among its fragments. The
//! pause is there so that pong 1 arrives while the message is still
//! incomplete (`fixtures/ws/autobahn-cases.md`, row 5.19: "The first pong is
//! expected during the pause. Only the order is checked, not the timing."):
//! the one accepted list is pong 1, pong 2, the message, and no timeout tag
//! is recorded. At [`Pace::Sealed`](super::Pace) the pause ends as soon as the
//! first events of that list (pong 1) are in ([`WaitFor::Answers`]); the rest
//! of the case is played exactly as after the full pause.
//!
//! **Why the grades are Autobahn's.** The only thing that changes is when the
//! peer receives the frames after the pause: the same bytes, in the same order,
//! with the same chops, only sooner. Grades read the order of events and how
//! the connection ends, never times. So they can differ only if the peer does
//! something, in the part of the pause that is skipped, that is not an answer
//! to a frame it already had — anything else it does comes after the next
//! frames reach it, at either pace:
//!
//! - Answers to the frames before the pause. A peer that handles frames in the
//!   order they arrive has handled fragments 1 and 2 when it pongs ping 1 (they
//!   come before the ping on the wire), so pong 1 is the last answer the frames
//!   before the pause can have. A peer that handles them late, on a task of its
//!   own: what it sends then is either an event, which no accepted list holds
//!   at that place (a pong 2 or the whole message cannot be sent before their
//!   frames arrived), so `behavior` is FAILED at either pace; or its Close or
//!   end of TCP, so the peer closed first where the fuzzer was to close:
//!   `behaviorClose` FAILED at either pace, and `behavior` FAILED too, as the
//!   events stop short of the list (a peer that refuses the message cannot
//!   also echo it whole).
//! - Answers to what the fuzzer sends in the pause: its pongs to the peer's
//!   pings, sent at either pace; a pong needs no answer.
//! - What the peer does on its own, on a clock: a Close or dropped TCP from an
//!   idle or reassembly timeout shorter than the pause, an unsolicited pong.
//!   This is the one thing that can differ: Autobahn would see it in the pause
//!   (FAILED), the fuzzer may have played the case to its end before the timer
//!   fires. No probe can know it without waiting the pause out, as with the
//!   idle timeout `sealed.rs` names; [`Pace::Autobahn`](super::Pace) waits.
//!
//! A peer that answers ping 1 late (after the pause) or never gets the whole
//! pause, as in Autobahn; one that sends something else first (its echo
//! overtaking the pong, a wrong payload) seals `behavior` FAILED, and
//! `sealed.rs` hurries the pause instead.

use std::time::Duration;

use tokio::time::Instant;

use super::{Expectation, Fuzzer, Pace, Shortcut, ShortcutReason, State, Step};

/// What ends a [`Step::Wait`] besides its time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitFor {
    /// Only its time: whether the connection is still open when the time is
    /// up is what the case grades (6.4.x record a timeout tag then).
    Time,
    /// Also, at [`Pace::Sealed`], the arrival of the first this many events of
    /// the case's OK list: the pause is there for them to arrive in, and only
    /// their order is graded (5.19, 5.20). Only for a pause that records no
    /// tag.
    Answers(usize),
}

impl Fuzzer<'_> {
    /// The events the current pause waits for, if it ends on them.
    fn awaited_answers(&self) -> Option<usize> {
        if self.pace != Pace::Sealed || self.state != State::Open || self.resume_at.is_none() {
            return None;
        }
        match self.case.steps.get(self.next_step.checked_sub(1)?) {
            Some(Step::Wait {
                tag: None,
                until: WaitFor::Answers(n),
                ..
            }) => Some(*n),
            _ => None,
        }
    }

    /// Notes when the current pause's answers are all in: the first events
    /// received are the first ones the OK list expects (one more would seal
    /// `behavior` FAILED or be an answer to a frame not sent yet).
    pub(super) fn mark_if_answered(&mut self) {
        if self.answered_at.is_some() {
            return;
        }
        let Some(n) = self.awaited_answers() else {
            return;
        };
        let Expectation::Events { ok, .. } = &self.case.expect else {
            return;
        };
        let in_ = match (self.received.get(..n), ok.get(..n)) {
            (Some(received), Some(expected)) => super::begins(received, expected),
            _ => false,
        };
        if in_ {
            self.answered_at = Some(Instant::now());
        }
    }

    /// Records that the pause ended with `left` to go, its answers being in.
    pub(super) fn cut_answered(&mut self, left: Duration) {
        let note = format!(
            "what the pause waited for had arrived (the events of the OK list before it), \
             so the case went on {:.1} s early: Autobahn grades their order, not their timing",
            left.as_secs_f64()
        );
        self.conn.note(note.clone());
        self.notes.push(note);
        self.shortcuts.push(Shortcut {
            wait: "the pause for the answers to the frames before it",
            left,
            reason: ShortcutReason::Answered,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Expectation, Expected, Step};
    use super::WaitFor;
    use crate::ws::autobahn::cases::all;

    /// A pause that ends on answers records no tag (a tag is graded on time),
    /// and waits for pongs the case expects before any message: what the frames
    /// before the pause can be answered with, nothing the frames after it
    /// prompt.
    #[test]
    fn pauses_that_end_on_answers_wait_only_for_pongs_to_earlier_pings() {
        let mut found = Vec::new();
        for named in all() {
            let case = &named.case;
            for (i, step) in case.steps.iter().enumerate() {
                let Step::Wait { tag, until, .. } = step else {
                    continue;
                };
                let WaitFor::Answers(n) = until else {
                    continue;
                };
                assert_eq!(*tag, None, "{}", case.number);
                let Expectation::Events { ok, non_strict } = &case.expect else {
                    panic!("{}: graded on events", case.number);
                };
                assert!(non_strict.is_none(), "{}", case.number);
                let awaited = ok.get(..*n).expect("as many expected events");
                let pings_before = case
                    .steps
                    .get(..i)
                    .unwrap_or_default()
                    .iter()
                    .filter(|s| {
                        matches!(s, Step::Frame { opcode, .. } if *opcode == pulsecheck_ws::Opcode::PING)
                    })
                    .count();
                assert!(
                    awaited.iter().all(|e| matches!(e, Expected::Pong(_))) && *n <= pings_before,
                    "{}: {awaited:?}",
                    case.number
                );
                found.push(case.number.clone());
            }
        }
        found.sort();
        assert_eq!(found, ["5.19", "5.20"]);
    }
}
