//! The check model: what a conformance check is, and what running one found.
//!
//! A [`Check`](crate::registry::Check) is one requirement of a specification tested against a server. It
//! has a stable string ID (`sse/reconnect/last-event-id-replay`: suite, area,
//! name — IDs never change meaning, so reports can be diffed across versions), a
//! title, the [`Source`] of the rule, the requirement quoted as a sentence, and a
//! [`Level`]. Running it gives an [`Outcome`]: a [`Verdict`], a one-line message
//! and, for every verdict but pass, [`Evidence`] — what was expected, what was
//! seen, and a short [`Transcript`] of the bytes with their timings. A check
//! that is an Autobahn|Testsuite case also carries Autobahn's [`Grades`].
//!
//! The model is protocol-neutral: the SSE suite and the WebSocket suite both
//! describe their checks with it, and the runner and the reports handle both.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::ws::autobahn::grades::Grades;

/// How strongly the source requires what a check tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    /// A MUST: failing it is a failure.
    Must,
    /// A SHOULD (or the ecosystem's firm practice): failing it is a warning, a
    /// failure under `--strict`.
    Should,
    /// Measured and reported, never judged.
    Info,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
            Level::Info => "INFO",
        })
    }
}

/// Where the rule a check tests comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// A section of the WHATWG HTML Living Standard, e.g. `9.2.6`.
    Whatwg(&'static str),
    /// A section of an RFC, e.g. `(6455, "5.1")`.
    Rfc(u16, &'static str),
    /// The ecosystem's documented practice: what it is and where it is written.
    Practice(&'static str),
}

impl Source {
    /// Whether the citation says where to look (a non-empty section or reference).
    pub fn is_cited(&self) -> bool {
        match self {
            Source::Whatwg(section) | Source::Rfc(_, section) => !section.trim().is_empty(),
            Source::Practice(reference) => !reference.trim().is_empty(),
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Whatwg(section) => write!(f, "WHATWG HTML §{section}"),
            Source::Rfc(number, section) => write!(f, "RFC {number} §{section}"),
            Source::Practice(reference) => write!(f, "practice: {reference}"),
        }
    }
}

/// What a check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The requirement is met.
    Pass,
    /// Measured, not judged (an INFO check).
    Info,
    /// The check does not apply to this server (the reason is in the message).
    Skipped,
    /// A SHOULD is not met.
    Warn,
    /// A MUST is not met (or a SHOULD under `--strict`).
    Fail,
    /// The harness could not run the check: network error, timeout, interruption.
    Error,
}

impl Verdict {
    /// How good a verdict is, for baseline comparison: a higher rank is worse.
    /// Pass, info and skipped rank alike (nothing wrong was found).
    pub fn badness(self) -> u8 {
        match self {
            Verdict::Pass | Verdict::Info | Verdict::Skipped => 0,
            Verdict::Warn => 1,
            Verdict::Error => 2,
            Verdict::Fail => 3,
        }
    }

    /// Whether this verdict makes the run fail: failures and harness errors always;
    /// warnings under `strict`.
    pub fn fails_run(self, strict: bool) -> bool {
        match self {
            Verdict::Fail | Verdict::Error => true,
            Verdict::Warn => strict,
            Verdict::Pass | Verdict::Info | Verdict::Skipped => false,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Pass => "pass",
            Verdict::Info => "info",
            Verdict::Skipped => "skipped",
            Verdict::Warn => "warn",
            Verdict::Fail => "fail",
            Verdict::Error => "error",
        })
    }
}

/// Which way bytes went, in a transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From the probe to the server.
    Sent,
    /// From the server to the probe.
    Received,
    /// The probe's own remark (a reconnect, a timeout).
    Note,
}

/// One entry of a transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptEntry {
    /// Milliseconds since the check started.
    pub at_ms: u64,
    /// Which way.
    pub direction: Direction,
    /// The bytes, escaped as printable text (`\r`, `\n`, `\xNN`), or the note.
    pub text: String,
}

/// A short record of what went over the wire, with timings. It keeps at most
/// [`Transcript::MAX_BYTES`] of escaped text in at most [`Transcript::MAX_ENTRIES`]
/// entries, then counts what it left out, so evidence stays readable — and small
/// — whatever the server sends: a flood of six million messages is one line,
/// "… 6.0M more entries not shown".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transcript {
    /// The entries, in time order.
    pub entries: Vec<TranscriptEntry>,
    /// Bytes received or sent that the transcript did not keep.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub omitted_bytes: u64,
    /// Entries (reads, writes, notes) the transcript did not keep.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub omitted_entries: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Transcript {
    /// The most escaped text a transcript keeps.
    pub const MAX_BYTES: usize = 4096;

    /// The most entries a transcript keeps; the last few are kept for notes, so
    /// that how a flooded exchange ended is still shown.
    pub const MAX_ENTRIES: usize = 64;

    /// The most text of notes a transcript keeps (apart from
    /// [`Transcript::MAX_BYTES`] of bytes), so that how a flooded exchange ended
    /// is still shown.
    pub const MAX_NOTES_BYTES: usize = 1024;

    /// Entries kept for notes once bytes have filled the rest.
    const NOTE_ENTRIES: usize = 8;

    /// The longest note kept.
    const MAX_NOTE_BYTES: usize = 256;

    /// Text kept in entries of bytes (`notes` false) or in notes.
    fn kept(&self, notes: bool) -> usize {
        self.entries
            .iter()
            .filter(|e| (e.direction == Direction::Note) == notes)
            .map(|e| e.text.len())
            .sum()
    }

    /// Records bytes sent or received at `at` since the check started.
    pub fn bytes(&mut self, at: Duration, direction: Direction, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if self.entries.len() >= Self::MAX_ENTRIES - Self::NOTE_ENTRIES {
            self.omitted_entries += 1;
            self.omitted_bytes += bytes.len() as u64;
            return;
        }
        let room = Self::MAX_BYTES.saturating_sub(self.kept(false));
        let mut text = String::new();
        let mut used = 0;
        for &b in bytes {
            let piece = escape_byte(b);
            if text.len() + piece.len() > room {
                break;
            }
            text.push_str(&piece);
            used += 1;
        }
        self.omitted_bytes += (bytes.len() - used) as u64;
        if text.is_empty() {
            self.omitted_entries += 1;
        } else {
            self.entries.push(TranscriptEntry {
                at_ms: millis(at),
                direction,
                text,
            });
        }
    }

    /// Records a remark of the probe's own (cut at 256 bytes). The same remark
    /// twice in a row, or one past [`Transcript::MAX_ENTRIES`], is counted, not
    /// kept.
    pub fn note(&mut self, at: Duration, note: impl Into<String>) {
        let mut text = note.into();
        crate::budget::truncate(&mut text, Self::MAX_NOTE_BYTES);
        let repeated = self
            .entries
            .last()
            .is_some_and(|e| e.direction == Direction::Note && e.text == text);
        let full = self.kept(true) + text.len() > Self::MAX_NOTES_BYTES;
        if repeated || full || self.entries.len() >= Self::MAX_ENTRIES {
            self.omitted_entries += 1;
            return;
        }
        self.entries.push(TranscriptEntry {
            at_ms: millis(at),
            direction: Direction::Note,
            text,
        });
    }

    /// Holds a transcript built elsewhere (deserialised, or filled through its
    /// public fields) to the same bounds, counting what it drops.
    pub fn bound(&mut self) {
        let (mut bytes_room, mut notes_room) = (Self::MAX_BYTES, Self::MAX_NOTES_BYTES);
        let before = self.entries.len();
        let mut omitted_bytes = 0;
        self.entries.truncate(Self::MAX_ENTRIES);
        self.entries.retain_mut(|entry| {
            let room = if entry.direction == Direction::Note {
                &mut notes_room
            } else {
                &mut bytes_room
            };
            if entry.text.len() > *room {
                if entry.direction != Direction::Note {
                    omitted_bytes += entry.text.len() as u64;
                }
                return false;
            }
            *room -= entry.text.len();
            true
        });
        self.omitted_bytes += omitted_bytes;
        self.omitted_entries += (before - self.entries.len()) as u64;
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Escapes one byte for a transcript: printable ASCII as is, `\r` `\n` `\t` `\\`,
/// everything else as `\xNN`.
fn escape_byte(b: u8) -> String {
    match b {
        b'\r' => "\\r".to_owned(),
        b'\n' => "\\n".to_owned(),
        b'\t' => "\\t".to_owned(),
        b'\\' => "\\\\".to_owned(),
        0x20..=0x7E => char::from(b).to_string(),
        _ => format!("\\x{b:02x}"),
    }
}

/// What a non-passing check saw, against what it expected.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// What the requirement calls for, concretely.
    pub expected: String,
    /// What the server did.
    pub actual: String,
    /// The bytes that show it.
    pub transcript: Transcript,
}

/// The result of running one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The verdict.
    pub verdict: Verdict,
    /// One line: what was found, or why the check was skipped.
    pub message: String,
    /// What was expected and seen; present for every verdict but pass.
    pub evidence: Option<Evidence>,
    /// Autobahn|Testsuite's grades, for a check that is an Autobahn case
    /// (`None` for the others, and for a case the harness could not finish).
    pub grades: Option<Grades>,
    /// Measurements a check reports beside its verdict, by name (the Autobahn
    /// cases give `duration_ms`, the compression cases their byte counts).
    /// Empty for most checks.
    pub facts: BTreeMap<String, serde_json::Value>,
}

impl Outcome {
    /// The requirement is met.
    pub fn pass(message: impl Into<String>) -> Self {
        Outcome {
            verdict: Verdict::Pass,
            message: message.into(),
            evidence: None,
            grades: None,
            facts: BTreeMap::new(),
        }
    }

    /// The requirement is not met. The verdict is [`Verdict::Fail`]; the runner turns
    /// it into [`Verdict::Warn`] for SHOULD-level checks unless `--strict`.
    pub fn fail(message: impl Into<String>, evidence: Evidence) -> Self {
        Outcome {
            verdict: Verdict::Fail,
            message: message.into(),
            evidence: Some(evidence),
            grades: None,
            facts: BTreeMap::new(),
        }
    }

    /// A measurement, not a judgement.
    pub fn info(message: impl Into<String>, evidence: Evidence) -> Self {
        Outcome {
            verdict: Verdict::Info,
            message: message.into(),
            evidence: Some(evidence),
            grades: None,
            facts: BTreeMap::new(),
        }
    }

    /// The check does not apply, and why.
    pub fn skipped(reason: impl Into<String>) -> Self {
        let reason = reason.into();
        Outcome {
            verdict: Verdict::Skipped,
            message: reason.clone(),
            evidence: Some(Evidence {
                expected: "a server the check applies to".to_owned(),
                actual: reason,
                transcript: Transcript::default(),
            }),
            grades: None,
            facts: BTreeMap::new(),
        }
    }

    /// The harness could not run the check (network, timeout, interruption).
    pub fn error(message: impl Into<String>, transcript: Transcript) -> Self {
        let message = message.into();
        Outcome {
            verdict: Verdict::Error,
            message: message.clone(),
            evidence: Some(Evidence {
                expected: "the check to run to completion".to_owned(),
                actual: message,
                transcript,
            }),
            grades: None,
            facts: BTreeMap::new(),
        }
    }

    /// Sets Autobahn's grades (see [`Outcome::grades`]).
    #[must_use]
    pub fn with_grades(mut self, grades: Grades) -> Self {
        self.grades = Some(grades);
        self
    }

    /// Adds a fact (see [`Outcome::facts`]).
    #[must_use]
    pub fn with_fact(mut self, name: &str, value: impl Into<serde_json::Value>) -> Self {
        self.facts.insert(name.to_owned(), value.into());
        self
    }

    /// The outcome held to the bounds of one check result
    /// ([`budget`](crate::budget)): message, expected and actual cut to their
    /// maximum lengths (saying how much was left out), the transcript to its
    /// bounds. The runner applies it to every outcome, whatever the check built.
    #[must_use]
    pub fn bounded(mut self) -> Self {
        use crate::budget::{MAX_ACTUAL_BYTES, MAX_EXPECTED_BYTES, MAX_MESSAGE_BYTES, truncate};
        truncate(&mut self.message, MAX_MESSAGE_BYTES);
        if let Some(e) = &mut self.evidence {
            truncate(&mut e.expected, MAX_EXPECTED_BYTES);
            truncate(&mut e.actual, MAX_ACTUAL_BYTES);
            e.transcript.bound();
        }
        self
    }

    /// Applies the check's level: a failed SHOULD is a warning unless `strict`; an
    /// INFO check never fails (its failures are information).
    pub fn graded(mut self, level: Level, strict: bool) -> Self {
        if self.verdict == Verdict::Fail {
            self.verdict = match level {
                Level::Must => Verdict::Fail,
                Level::Should if strict => Verdict::Fail,
                Level::Should => Verdict::Warn,
                Level::Info => Verdict::Info,
            };
        }
        self
    }
}

/// The description of a check: everything but how to run it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckInfo {
    /// The stable ID: `suite/area/name`, lowercase, `-` between words.
    pub id: &'static str,
    /// Other names for the check, e.g. Autobahn|Testsuite's case number `7.9.3`.
    pub aliases: &'static [&'static str],
    /// A short title.
    pub title: &'static str,
    /// Where the rule comes from.
    pub source: Source,
    /// The requirement, quoted or stated as one sentence.
    pub requirement: &'static str,
    /// How strongly it is required.
    pub level: Level,
}

/// The suite and the area of a check ID: its first two `/`-separated components
/// (`sse/reconnect/prompt` → `("sse", "reconnect")`).
pub fn suite_and_area(id: &str) -> (&str, &str) {
    let mut parts = id.split('/');
    (parts.next().unwrap_or(""), parts.next().unwrap_or(""))
}

impl CheckInfo {
    /// The suite: the first component of the ID (`sse`, `ws`).
    pub fn suite(&self) -> &'static str {
        suite_and_area(self.id).0
    }

    /// The area: the second component of the ID (`headers`, `reconnect`, ...).
    pub fn area(&self) -> &'static str {
        suite_and_area(self.id).1
    }

    /// Whether the ID has the documented shape: three or more `/`-separated
    /// components of lowercase ASCII letters, digits and `-`.
    pub fn id_is_well_formed(&self) -> bool {
        let parts: Vec<&str> = self.id.split('/').collect();
        parts.len() >= 3
            && parts.iter().all(|p| {
                !p.is_empty()
                    && !p.starts_with('-')
                    && !p.ends_with('-')
                    && p.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_should_is_a_warning_unless_strict_and_info_never_fails() {
        let failed = || Outcome::fail("x", Evidence::default());
        assert_eq!(failed().graded(Level::Must, false).verdict, Verdict::Fail);
        assert_eq!(failed().graded(Level::Should, false).verdict, Verdict::Warn);
        assert_eq!(failed().graded(Level::Should, true).verdict, Verdict::Fail);
        assert_eq!(failed().graded(Level::Info, true).verdict, Verdict::Info);
        assert_eq!(
            Outcome::pass("ok").graded(Level::Must, true).verdict,
            Verdict::Pass
        );
    }

    #[test]
    fn only_failures_errors_and_strict_warnings_fail_a_run() {
        assert!(Verdict::Fail.fails_run(false));
        assert!(Verdict::Error.fails_run(false));
        assert!(!Verdict::Warn.fails_run(false));
        assert!(Verdict::Warn.fails_run(true));
        for v in [Verdict::Pass, Verdict::Info, Verdict::Skipped] {
            assert!(!v.fails_run(true));
        }
    }

    #[test]
    fn transcripts_escape_bytes_and_stay_bounded() {
        let mut t = Transcript::default();
        t.bytes(
            Duration::from_millis(5),
            Direction::Received,
            b"data: a\r\n\xff",
        );
        assert_eq!(t.entries[0].text, "data: a\\r\\n\\xff");
        assert_eq!(t.entries[0].at_ms, 5);
        t.bytes(Duration::ZERO, Direction::Received, &vec![b'x'; 10_000]);
        let kept: usize = t.entries.iter().map(|e| e.text.len()).sum();
        assert!(kept <= Transcript::MAX_BYTES);
        assert_eq!(
            t.omitted_bytes,
            10_000 - (Transcript::MAX_BYTES as u64 - 15)
        );
    }

    #[test]
    fn a_flood_is_counted_not_kept_and_the_last_notes_still_show() {
        let mut t = Transcript::default();
        for i in 0..1_000_000u64 {
            t.bytes(Duration::from_millis(i), Direction::Received, b"\x81\x01a");
        }
        t.note(Duration::ZERO, "the server closed TCP");
        assert_eq!(t.entries.len(), Transcript::MAX_ENTRIES - 7);
        assert_eq!(
            t.omitted_entries,
            1_000_000 - (Transcript::MAX_ENTRIES as u64 - 8)
        );
        assert_eq!(t.entries.last().unwrap().text, "the server closed TCP");
        // The same remark again is counted once more, not repeated.
        t.note(Duration::ZERO, "the server closed TCP");
        assert_eq!(t.entries.len(), Transcript::MAX_ENTRIES - 7);
        // Notes are cut, and their total is bounded too.
        for i in 0..100 {
            t.note(Duration::ZERO, format!("{i} {}", "x".repeat(1000)));
        }
        let notes: usize = t
            .entries
            .iter()
            .filter(|e| e.direction == Direction::Note)
            .map(|e| e.text.len())
            .sum();
        assert!(notes <= Transcript::MAX_NOTES_BYTES, "{notes}");
        assert!(t.entries.len() <= Transcript::MAX_ENTRIES);
    }

    #[test]
    fn a_transcript_built_by_hand_is_held_to_the_bounds() {
        let mut t = Transcript::default();
        for _ in 0..200 {
            t.entries.push(TranscriptEntry {
                at_ms: 0,
                direction: Direction::Sent,
                text: "y".repeat(100),
            });
        }
        t.bound();
        assert_eq!(t.entries.len(), Transcript::MAX_BYTES / 100);
        assert_eq!(
            t.omitted_entries,
            200 - (Transcript::MAX_BYTES / 100) as u64
        );
        let outcome = Outcome::fail(
            "m".repeat(10_000),
            Evidence {
                expected: "e".repeat(10_000),
                actual: "é".repeat(10_000),
                transcript: t,
            },
        )
        .bounded();
        assert!(outcome.message.len() <= crate::budget::MAX_MESSAGE_BYTES + 40);
        let e = outcome.evidence.unwrap();
        assert!(e.expected.len() <= crate::budget::MAX_EXPECTED_BYTES + 40);
        assert!(e.actual.ends_with("more bytes not kept)"), "{}", e.actual);
    }

    #[test]
    fn ids_have_a_documented_shape() {
        let info = |id| CheckInfo {
            id,
            aliases: &[],
            title: "t",
            source: Source::Whatwg("9.2.6"),
            requirement: "r",
            level: Level::Must,
        };
        assert!(info("sse/reconnect/last-event-id-replay").id_is_well_formed());
        assert_eq!(info("sse/reconnect/x").area(), "reconnect");
        for bad in ["sse/x", "SSE/a/b", "sse//b", "sse/a/b c", "sse/a/-b"] {
            assert!(!info(bad).id_is_well_formed(), "{bad}");
        }
    }

    #[test]
    fn sources_cite_a_place() {
        assert_eq!(Source::Rfc(6455, "5.1").to_string(), "RFC 6455 §5.1");
        assert_eq!(Source::Whatwg("9.2.6").to_string(), "WHATWG HTML §9.2.6");
        assert!(!Source::Practice(" ").is_cited());
    }
}
