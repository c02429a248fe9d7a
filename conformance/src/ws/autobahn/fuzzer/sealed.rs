//! Decided is decided: a case whose grades can no longer change does not wait out
//! Autobahn's fallback timers (up to 10 s in groups 1 and 10, 1–3 s elsewhere),
//! and it ends with the grades Autobahn gives after waiting.
//!
//! Autobahn grades a case when its connection is lost (§1.4, §1.5 of
//! `fixtures/ws/autobahn-cases.md`). Two things seal grades before that.
//!
//! **`behavior` is FAILED for good.** `behavior` compares the whole list of
//! received events with each accepted list (OK, and NON-STRICT where there is
//! one). Events are only ever appended, so once what arrived begins no accepted
//! list (a text echo of a binary message, a wrong payload, a message where a pong
//! was due, an extra event) or the server flooded the probe, no later event can
//! make a list match, and the per-case overrides only ever demote to FAILED. What
//! is still open is `behaviorClose` and the server's close code. In a case where
//! the probe is the side that closes, Autobahn would now wait for the case's
//! `killAfter` or `closeAfter` timer, send that timer's Close (1001, or an empty
//! body) and grade the close handshake that follows. The probe does the same
//! thing without the wait:
//!
//! 1. it lets the server be quiet for a grace period first ([`QUIET`] plus twice
//!    the longest time the server took to answer the probe's writes), so a Close or
//!    a dropped connection the server was about to send still counts as the
//!    server's (closing first is the server's mistake in these cases, and it stays
//!    FAILED);
//! 2. it sends the case's remaining frames without their pauses (5.19 and 5.20
//!    pause 1 s in the middle of a message), and gives the server the same grace
//!    to answer them;
//! 3. it fires the timer: the same Close as Autobahn's, answered by the server
//!    and timed by the real 1 s close-handshake timers, so `behaviorClose` and
//!    `remoteCloseCode` come from the server's real answer.
//!
//! A server that keeps sending gets no more than four graces after the seal.
//!
//! **Every grade is fixed while closing.** Once the server's Close is in, its
//! code is known. Every flag that how TCP ends can still set (`wasClean`,
//! `droppedByMe`) is tried; when the grades come out the same for each, and
//! `behavior` cannot change either (FAILED for good, FAILED by a per-case
//! override of the close grade, or a case graded on one echo, as no data frame
//! may follow a Close), the probe closes TCP at once instead of waiting up to
//! the kill timer for the server to. The common case: a server that sent its
//! Close first where the probe was to close, or that let the probe fail the
//! connection; `behaviorClose` is FAILED whatever TCP does next.
//!
//! Cases where the server must close first are not hurried: whether the server
//! closes before the timer is exactly what they grade, and their timers are 1 s
//! at most.
//!
//! What no probe can know without waiting is whether a quiet server would have
//! closed on its own before the timer (an idle timeout shorter than the 10 s of
//! 1.1.6): such a server gets `behaviorClose` FAILED from Autobahn and the grade
//! of its answer to the probe's Close here. [`Pace::Autobahn`] waits as Autobahn
//! does, for those who need that too.

use std::time::Duration;

use tokio::time::Instant;

use super::{Expectation, Fuzzer, State, Timer};

/// The shortest quiet spell after which a server that sealed a case as FAILED is
/// taken to have nothing more to say on its own.
const QUIET: Duration = Duration::from_millis(100);

/// Whether sealed grades (and answers a pause waits for) end a wait early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pace {
    /// As soon as the grades are sealed (see the module's text), and a pause
    /// that waits for answers as soon as they are in (`answered.rs`); the
    /// default.
    #[default]
    Sealed,
    /// Only when Autobahn would: every timer and pause is waited out, sealed or
    /// not.
    Autobahn,
}

/// A wait the probe cut short because the grades were already sealed, or
/// because what the wait was for had arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortcut {
    /// The wait, e.g. "the case's kill timer".
    pub wait: &'static str,
    /// How much of it was left.
    pub left: Duration,
    /// Why it could end early.
    pub reason: ShortcutReason,
}

/// Why a wait ended before its time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShortcutReason {
    /// The grades were sealed (this module's text).
    Sealed,
    /// The pause waited for answers, and they had arrived (`answered.rs`).
    Answered,
}

impl Fuzzer<'_> {
    /// Notes that the probe just wrote.
    pub(super) fn note_write(&mut self) {
        let now = Instant::now();
        self.last_activity = now;
        self.last_write = Some(now);
        self.awaiting_answer = true;
    }

    /// Notes that an event from the server is being handled; the first since
    /// the probe's last write times the server's answer.
    pub(super) fn note_event(&mut self) {
        let now = Instant::now();
        self.last_activity = now;
        if self.awaiting_answer
            && let Some(wrote) = self.last_write
        {
            let took = now.duration_since(wrote);
            self.answer_time = Some(self.answer_time.map_or(took, |t| t.max(took)));
            self.awaiting_answer = false;
        }
    }

    /// Whether `behavior` is FAILED whatever arrives from now on.
    pub(super) fn failed_for_good(&self) -> bool {
        match &self.case.expect {
            Expectation::Informational => false,
            _ if self.not_recorded > 0 => true,
            Expectation::Events { ok, non_strict } => {
                !super::begins(&self.received, ok)
                    && non_strict
                        .as_ref()
                        .is_none_or(|n| !super::begins(&self.received, n))
            }
            Expectation::Length { .. } | Expectation::RoundTrips => false,
            Expectation::Echoes => self.computed == Some(super::Behavior::Failed),
        }
    }

    /// Remembers when `behavior` became FAILED for good.
    pub(super) fn mark_if_failed_for_good(&mut self) {
        if self.failed_since.is_none() && self.failed_for_good() {
            self.failed_since = Some(Instant::now());
        }
    }

    /// When the case's pauses and timer stop being waited for: while the
    /// connection is open in a case the probe is to close, once `behavior` is
    /// FAILED for good and the server has been quiet for the grace.
    pub(super) fn hurry_at(&self) -> Option<Instant> {
        if self.pace != Pace::Sealed
            || self.state != State::Open
            || !self.case.close.by_fuzzer
            || (self.timer.is_none() && self.resume_at.is_none())
        {
            return None;
        }
        let since = self.failed_since?;
        let grace = QUIET + 2 * self.answer_time.unwrap_or(QUIET);
        Some((self.last_activity + grace).min(since + 4 * grace))
    }

    /// Records that `wait` was cut short with `left` to go.
    pub(super) fn cut_short(&mut self, wait: &'static str, left: Duration) {
        let note = format!(
            "behavior was FAILED for good (what arrived begins no accepted list): {wait} was \
             cut {:.1} s short, once the server had been quiet",
            left.as_secs_f64()
        );
        self.conn.note(note.clone());
        self.notes.push(note);
        self.shortcuts.push(Shortcut {
            wait,
            left,
            reason: ShortcutReason::Sealed,
        });
    }

    /// Whether no event can change `behavior` any more, the server's Close being
    /// in (or the close grade fails it anyway, [`Fuzzer::close_fails_behavior`]).
    fn behavior_fixed(&self) -> bool {
        match &self.case.expect {
            // Left to end as they do: the grades are information whatever TCP
            // does, there is nothing to gain, and a clean server closes TCP itself.
            Expectation::Informational => false,
            // Graded on data messages only; RFC 6455 §5.5.1 allows none after
            // the server's Close (the probe fails the connection on one).
            Expectation::Length { .. } | Expectation::RoundTrips | Expectation::Echoes => true,
            Expectation::Events { .. } => self.failed_for_good(),
        }
    }

    /// Closes TCP at once when, the server's Close being in, every way TCP can
    /// still end gives the same grades.
    pub(super) async fn end_if_sealed(&mut self) {
        if self.pace != Pace::Sealed
            || self.state != State::Closing
            || !self.received_close
            || !self.deferred.is_empty()
            || self.case.expect == Expectation::Informational
        {
            return;
        }
        // The server closes TCP; the probe gives up waiting; the probe's kill
        // timer closes it without a timeout.
        let grades = self.grade_ending(false, false);
        if [(true, true), (false, true)]
            .into_iter()
            .any(|(timed_out, dropped)| self.grade_ending(timed_out, dropped) != grades)
            || !(self.behavior_fixed() || self.close_fails_behavior(grades.1))
        {
            return;
        }
        // The soonest deadline that would have closed TCP for the server.
        let now = Instant::now();
        let waiting = [
            self.timer
                .filter(|(_, t)| matches!(t, Timer::KillAfter(_)))
                .map(|(at, _)| at),
            self.close_deadline,
            self.drop_deadline,
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(now)
        .saturating_duration_since(now);
        let (behavior, close) = grades;
        let note = format!(
            "the grades were sealed at behavior {behavior}, close {close} whatever TCP did \
             next, so the probe closed TCP instead of waiting up to {:.1} s more for the \
             server to",
            waiting.as_secs_f64()
        );
        self.conn.note(note.clone());
        self.notes.push(note);
        self.shortcuts.push(Shortcut {
            wait: "the server's closing of TCP",
            left: waiting,
            reason: ShortcutReason::Sealed,
        });
        self.drop_tcp().await;
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Event, Expected, Payload, begins, equals};
    use crate::ws::connection::MessageData;

    fn text(s: &str) -> Event {
        Event::Message {
            binary: false,
            data: MessageData::of(s.as_bytes()),
        }
    }

    fn expect_text(s: &str) -> Expected {
        Expected::Message {
            binary: false,
            data: Payload::text(s),
        }
    }

    #[test]
    fn what_arrived_seals_a_list_only_when_it_begins_it_no_more() {
        let ok = [Expected::Pong(b"p".to_vec()), expect_text("m")];
        assert!(begins(&[], &ok), "nothing yet begins every list");
        assert!(begins(&[Event::Pong(b"p".to_vec())], &ok));
        assert!(begins(&[Event::Pong(b"p".to_vec()), text("m")], &ok));
        // The message before the pong: no later event can repair the order.
        assert!(!begins(&[text("m")], &ok));
        // One event too many.
        let all = [Event::Pong(b"p".to_vec()), text("m"), text("m")];
        assert!(!begins(&all, &ok));
        assert!(!equals(&all, &ok));
    }

    #[test]
    fn a_binary_echo_of_the_same_bytes_does_not_begin_a_text_list() {
        let binary = Event::Message {
            binary: true,
            data: MessageData::of(b"m"),
        };
        assert!(!begins(&[binary], &[expect_text("m")]));
        assert!(!begins(&[text("n")], &[expect_text("m")]), "wrong payload");
        assert!(!begins(&[text("mm")], &[expect_text("m")]), "wrong length");
    }
}
