//! Reports of a run, whatever ran it (`probe`, `host ws`): JSON (stable,
//! documented, diffable) and human text here, one file per other writer —
//! JUnit XML (`junit.rs`), Autobahn|Testsuite's `index.json` and per-case files
//! ([`AutobahnReports`], `autobahn.rs`), a self-contained HTML page
//! ([`Report::to_html`], `html.rs`) — and the comparison with a saved baseline.
//!
//! # The JSON report
//!
//! One object; checks in ID order, so the same server gives the same bytes except
//! in the timing fields (`duration_ms`), which a baseline comparison ignores.
//!
//! ```json
//! {
//!   "tool": "pulsecheck 0.1.0",          // name and version that wrote it
//!   "target": "http://127.0.0.1:8080/events",
//!   "strict": false,                     // --strict: SHOULD failures fail
//!   "summary": {"pass": 20, "fail": 1, "warn": 2, "info": 3, "skipped": 1, "error": 0},
//!   "checks": [
//!     {
//!       "id": "sse/headers/content-type",       // stable; never changes meaning
//!       "aliases": [],                          // e.g. Autobahn case numbers
//!       "title": "...", "level": "MUST",        // MUST | SHOULD | INFO
//!       "source": "WHATWG HTML §9.2.3",
//!       "requirement": "...",                   // the rule, as a sentence
//!       "verdict": "fail",                      // pass | info | skipped | warn | fail | error
//!       "message": "...",                       // one line: what was found
//!       "evidence": {                           // absent on pass
//!         "expected": "...", "actual": "...",
//!         "transcript": {"entries": [{"at_ms": 3, "direction": "received", "text": "data: a\\n"}],
//!                        "omitted_bytes": 0,      // absent when 0: bytes not kept
//!                        "omitted_entries": 0}    // absent when 0: reads, writes, notes not kept
//!       },
//!       "grades": {"behavior": "OK",            // absent unless an Autobahn case:
//!                  "behaviorClose": "OK",       // Autobahn's grades, in its words
//!                  "remoteCloseCode": 1000},    // (the peer's close code, or null)
//!       "facts": {"duration_ms": 3},            // absent when none: measurements
//!       "duration_ms": 12                       // timing: ignored by --baseline
//!     }
//!   ],
//!   "duration_ms": 2345                         // timing: ignored by --baseline
//! }
//! ```
//!
//! `grades` ([`Grades`]) holds Autobahn|Testsuite's grades of a check that is
//! one of its cases: `behavior` is `OK`, `NON-STRICT`, `FAILED`,
//! `INFORMATIONAL` or `UNIMPLEMENTED`; `behaviorClose` is `OK`, `FAILED`,
//! `UNCLEAN`, `WRONG CODE`, `FAILED BY CLIENT`, `INFORMATIONAL` or
//! `UNIMPLEMENTED`; `remoteCloseCode` is a number or null. A case the harness
//! could not finish (an `error`) has none. `facts` holds measurements only, by
//! name: `duration_ms` of an Autobahn case, the byte counts of a compression
//! case (`bytes_sent`, `bytes_sent_compressed`, `bytes_received`,
//! `bytes_received_compressed`, `messages_echoed`), the timings of a client's
//! close (`close_answer_ms`, ...).
//!
//! Reports written before the grades had their own field carried them as
//! strings among the facts. They still read, as written (their old facts stay
//! facts, `grades` is absent): `--baseline` compares verdicts only, so such a
//! report remains a baseline.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::check::{CheckInfo, Evidence, Level, Outcome, Verdict, suite_and_area};
use crate::ws::autobahn::grades::Grades;

mod autobahn;
mod html;
mod junit;
#[cfg(test)]
mod testing;

pub use autobahn::{AutobahnReports, autobahn_report_file, autobahn_reports};

/// How many checks ended with each verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Checks that passed.
    pub pass: usize,
    /// Checks that failed.
    pub fail: usize,
    /// SHOULD-level checks not met.
    pub warn: usize,
    /// Measurements.
    pub info: usize,
    /// Checks that did not apply.
    pub skipped: usize,
    /// Checks the harness could not run.
    pub error: usize,
}

impl Summary {
    fn count(&mut self, verdict: Verdict) {
        match verdict {
            Verdict::Pass => self.pass += 1,
            Verdict::Fail => self.fail += 1,
            Verdict::Warn => self.warn += 1,
            Verdict::Info => self.info += 1,
            Verdict::Skipped => self.skipped += 1,
            Verdict::Error => self.error += 1,
        }
    }

    /// Total checks counted.
    pub fn total(&self) -> usize {
        self.pass + self.fail + self.warn + self.info + self.skipped + self.error
    }
}

/// One check's entry in a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The check's stable ID.
    pub id: String,
    /// Other names (Autobahn case numbers).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Title.
    pub title: String,
    /// MUST, SHOULD or INFO.
    pub level: Level,
    /// Where the rule comes from.
    pub source: String,
    /// The rule.
    pub requirement: String,
    /// What the check found.
    pub verdict: Verdict,
    /// One line about it.
    pub message: String,
    /// Expected, actual and transcript; absent on pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    /// Autobahn|Testsuite's grades, for a check that is an Autobahn case;
    /// absent for the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grades: Option<Grades>,
    /// Measurements beside the verdict (an Autobahn case's `duration_ms`, a
    /// compression case's byte counts); absent when none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub facts: BTreeMap<String, serde_json::Value>,
    /// How long the check took (ignored by baseline comparison).
    pub duration_ms: u64,
}

impl CheckResult {
    /// The entry for a check's outcome.
    pub fn new(info: &CheckInfo, outcome: Outcome, duration_ms: u64) -> Self {
        CheckResult {
            id: info.id.to_owned(),
            aliases: info.aliases.iter().map(|a| (*a).to_owned()).collect(),
            title: info.title.to_owned(),
            level: info.level,
            source: info.source.to_string(),
            requirement: info.requirement.to_owned(),
            verdict: outcome.verdict,
            message: outcome.message,
            evidence: outcome.evidence,
            grades: outcome.grades,
            facts: outcome.facts,
            duration_ms,
        }
    }
}

/// A whole run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The tool and version that wrote the report.
    pub tool: String,
    /// What was probed.
    pub target: String,
    /// Whether SHOULD failures count as failures.
    pub strict: bool,
    /// Verdict counts.
    pub summary: Summary,
    /// Every check that ran (or was interrupted), in ID order.
    pub checks: Vec<CheckResult>,
    /// How long the run took (ignored by baseline comparison).
    pub duration_ms: u64,
}

impl Report {
    /// A report of `checks` (sorted here by ID) against `target`.
    pub fn new(target: &str, strict: bool, mut checks: Vec<CheckResult>, duration_ms: u64) -> Self {
        checks.sort_by(|a, b| a.id.cmp(&b.id));
        let mut summary = Summary::default();
        for c in &checks {
            summary.count(c.verdict);
        }
        Report {
            tool: format!("pulsecheck {}", env!("CARGO_PKG_VERSION")),
            target: target.to_owned(),
            strict,
            summary,
            checks,
            duration_ms,
        }
    }

    /// Whether the run failed: any failure or harness error, or a warning under
    /// `--strict`.
    pub fn failed(&self) -> bool {
        self.checks.iter().any(|c| c.verdict.fails_run(self.strict))
    }

    /// The JSON report, pretty-printed, with a final newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Reads a JSON report (a saved baseline).
    pub fn from_json(text: &str) -> Result<Report, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The human report: checks grouped by area; every non-pass with its
    /// Requirement / Expected / Actual and transcript; a summary line last.
    pub fn to_human(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "pulsecheck: {}", self.target);
        let mut areas: BTreeMap<String, Vec<&CheckResult>> = BTreeMap::new();
        for c in &self.checks {
            let (suite, area) = suite_and_area(&c.id);
            areas.entry(format!("{suite}/{area}")).or_default().push(c);
        }
        for (area, checks) in &areas {
            let _ = writeln!(out, "\n{area}");
            for c in checks {
                // Aliases (Autobahn case numbers) follow the ID: `ws/close/... [7.9.3]`.
                let aliases = if c.aliases.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", c.aliases.join(", "))
                };
                let _ = writeln!(
                    out,
                    "  {:<7} {:<6} {}{aliases}  {}",
                    c.verdict.to_string().to_uppercase(),
                    c.level.to_string(),
                    c.id,
                    c.message
                );
                if matches!(c.verdict, Verdict::Fail | Verdict::Warn | Verdict::Error) {
                    let _ = writeln!(
                        out,
                        "          Requirement: {} ({})",
                        c.requirement, c.source
                    );
                    if let Some(e) = &c.evidence {
                        let _ = writeln!(out, "          Expected:    {}", e.expected);
                        let _ = writeln!(out, "          Actual:      {}", e.actual);
                        for entry in &e.transcript.entries {
                            let _ = writeln!(out, "          {}", transcript_line(entry));
                        }
                        if let Some(left_out) = left_out(&e.transcript) {
                            let _ = writeln!(out, "                    … {left_out} not shown");
                        }
                    }
                }
            }
        }
        let _ = writeln!(out, "\n{}", self.summary_line());
        out
    }

    /// The last line of the human report: the counts, the time, `— FAILED` when the
    /// run failed, and, when there are warnings, that they do not fail the run
    /// without `--strict` (under `--strict` a SHOULD not met is graded a failure, so
    /// there are none).
    pub fn summary_line(&self) -> String {
        let s = &self.summary;
        let warn = match s.warn {
            0 => "0 warn".to_owned(),
            n if self.strict => format!("{n} warn"),
            n => format!("{n} warn (do not fail the run without --strict)"),
        };
        format!(
            "{} checks: {} pass, {} fail, {warn}, {} info, {} skipped, {} error in {:.1} s{}",
            s.total(),
            s.pass,
            s.fail,
            s.info,
            s.skipped,
            s.error,
            self.duration_ms as f64 / 1000.0,
            if self.failed() { " — FAILED" } else { "" }
        )
    }

    /// The suites this report's checks belong to (`sse`, `ws`): its protocols.
    pub fn suites(&self) -> BTreeSet<&str> {
        self.checks
            .iter()
            .map(|c| suite_and_area(&c.id).0)
            .collect()
    }

    /// Why this report (a saved baseline) is not a report of `target` probed with the
    /// `suites` of a new run, if it is not: another URL, or another protocol (no suite
    /// in common). URLs are compared as URLs (`http://h/e` and `http://h:80/e` are the
    /// same); two runs against the built-in reference servers are the same target,
    /// whatever ports the servers had.
    pub fn mismatch(&self, target: &str, suites: &[&str]) -> Option<String> {
        let mine = self.suites();
        if !mine.is_empty() && !suites.iter().any(|s| mine.contains(s)) {
            return Some(format!(
                "it holds {} checks, and this run is {}",
                protocols(mine.iter().copied()),
                protocols(suites.iter().copied())
            ));
        }
        if same_target(&self.target, target) {
            None
        } else {
            Some(format!(
                "it is a report of {}, not of {target}",
                self.target
            ))
        }
    }
}

/// What the built-in reference servers are called in a report's `target`.
pub const BUILT_IN_TARGET: &str = "(built-in reference servers)";

/// Whether two report targets name the same server (see [`Report::mismatch`]).
fn same_target(a: &str, b: &str) -> bool {
    if a.ends_with(BUILT_IN_TARGET) || b.ends_with(BUILT_IN_TARGET) {
        return a.ends_with(BUILT_IN_TARGET) && b.ends_with(BUILT_IN_TARGET);
    }
    let normal = |t: &str| match url::Url::parse(t.trim()) {
        Ok(mut url) => {
            url.set_fragment(None);
            url.to_string()
        }
        Err(_) => t.trim().to_owned(),
    };
    normal(a) == normal(b)
}

/// Suites in words: "event-stream (sse/…)", "WebSocket (ws/…)".
fn protocols<'a>(suites: impl Iterator<Item = &'a str>) -> String {
    let words: Vec<String> = suites
        .map(|s| match s {
            "sse" => "event-stream (sse/…)".to_owned(),
            "ws" => "WebSocket (ws/…)".to_owned(),
            other => format!("{other}/…"),
        })
        .collect();
    words.join(" and ")
}

/// What a transcript left out, for people: "4193806 more bytes", "6.7M more
/// entries", "812 more bytes and 6.7M more entries"; `None` when it kept
/// everything.
fn left_out(t: &crate::check::Transcript) -> Option<String> {
    match (t.omitted_entries, t.omitted_bytes) {
        (0, 0) => None,
        (0, bytes) => Some(format!("{bytes} more bytes")),
        (entries, 0) => Some(format!("{} more entries", crate::budget::count(entries))),
        (entries, bytes) => Some(format!(
            "{bytes} more bytes and {} more entries",
            crate::budget::count(entries)
        )),
    }
}

/// How a transcript entry's direction is shown: `>` sent, `<` received, `#` a note.
fn arrow(direction: crate::check::Direction) -> &'static str {
    match direction {
        crate::check::Direction::Sent => ">",
        crate::check::Direction::Received => "<",
        crate::check::Direction::Note => "#",
    }
}

/// A transcript entry as every report shows it: the time, the direction, the
/// escaped bytes or the note (`     3 ms < data: a\n`).
fn transcript_line(entry: &crate::check::TranscriptEntry) -> String {
    format!(
        "{:>6} ms {} {}",
        entry.at_ms,
        arrow(entry.direction),
        entry.text
    )
}

/// A check whose verdict changed between a baseline and this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The check.
    pub id: String,
    /// Its verdict in the baseline.
    pub from: Verdict,
    /// Its verdict now.
    pub to: Verdict,
}

/// How a run compares with a saved baseline. Timings are ignored; only verdicts
/// count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Checks whose verdict got worse (see [`Verdict::badness`]).
    pub regressions: Vec<Change>,
    /// Checks whose verdict got better.
    pub improvements: Vec<Change>,
    /// Checks whose verdict changed without getting better or worse (pass ↔ info ↔ skipped).
    pub other_changes: Vec<Change>,
    /// Checks in this run but not in the baseline.
    pub added: Vec<String>,
    /// Checks in the baseline but not in this run.
    pub missing: Vec<String>,
}

impl Comparison {
    /// Compares `current` with `baseline`, check by check.
    pub fn new(baseline: &Report, current: &Report) -> Self {
        let before: BTreeMap<&str, Verdict> = baseline
            .checks
            .iter()
            .map(|c| (c.id.as_str(), c.verdict))
            .collect();
        let now: BTreeMap<&str, Verdict> = current
            .checks
            .iter()
            .map(|c| (c.id.as_str(), c.verdict))
            .collect();
        let mut cmp = Comparison::default();
        for (id, &to) in &now {
            match before.get(id) {
                None => cmp.added.push((*id).to_owned()),
                Some(&from) if from != to => {
                    let change = Change {
                        id: (*id).to_owned(),
                        from,
                        to,
                    };
                    match to.badness().cmp(&from.badness()) {
                        std::cmp::Ordering::Greater => cmp.regressions.push(change),
                        std::cmp::Ordering::Less => cmp.improvements.push(change),
                        std::cmp::Ordering::Equal => cmp.other_changes.push(change),
                    }
                }
                Some(_) => {}
            }
        }
        cmp.missing = before
            .keys()
            .filter(|id| !now.contains_key(*id))
            .map(|id| (*id).to_owned())
            .collect();
        cmp
    }

    /// Whether anything got worse.
    pub fn has_regressions(&self) -> bool {
        !self.regressions.is_empty()
    }

    /// The comparison as text for the terminal or a CI log.
    pub fn to_human(&self) -> String {
        let mut out = String::new();
        let mut section = |title: &str, changes: &[Change]| {
            if !changes.is_empty() {
                let _ = writeln!(out, "{title}:");
                for c in changes {
                    let _ = writeln!(out, "  {}: {} -> {}", c.id, c.from, c.to);
                }
            }
        };
        section("Regressions", &self.regressions);
        section("Improvements", &self.improvements);
        section("Other changes", &self.other_changes);
        if !self.added.is_empty() {
            let _ = writeln!(
                out,
                "New checks (not in the baseline): {}",
                self.added.join(", ")
            );
        }
        if !self.missing.is_empty() {
            let _ = writeln!(
                out,
                "Not run (in the baseline): {}",
                self.missing.join(", ")
            );
        }
        if out.is_empty() {
            out.push_str("Same verdicts as the baseline.\n");
        } else if self.has_regressions() {
            out.push_str(
                "Either a regression, or an intended change: then save this run as the new baseline.\n",
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{report, ws_report};
    use super::*;

    #[test]
    fn json_is_sorted_and_round_trips() {
        let r = report(Verdict::Fail, Verdict::Warn, false);
        assert_eq!(r.checks[0].id, "sse/headers/content-type");
        assert_eq!(Report::from_json(&r.to_json()).unwrap(), r);
        assert!(r.to_json().contains("\"verdict\": \"fail\""));
    }

    #[test]
    fn grades_are_their_own_field_and_facts_keep_the_measurements() {
        let r = ws_report();
        assert_eq!(Report::from_json(&r.to_json()).unwrap(), r);
        let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        let check = |id: &str| {
            json["checks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["id"] == id)
                .unwrap()
                .clone()
        };
        let warned = check("ws/utf8/fail-fast-inside-a-frame");
        assert_eq!(
            warned["grades"],
            serde_json::json!({"behavior": "NON-STRICT", "behaviorClose": "OK", "remoteCloseCode": 1007})
        );
        assert_eq!(warned["facts"], serde_json::json!({"duration_ms": 1003}));
        // No grades, no field: the probe's own check, and a case the harness
        // could not finish.
        assert!(check("ws/handshake/accept").get("grades").is_none());
        assert!(check("ws/ping/empty-payload").get("grades").is_none());
        let unplayed = check("ws/limits/text-64kib");
        assert_eq!(unplayed["grades"]["behaviorClose"], "UNIMPLEMENTED");
        assert_eq!(
            unplayed["grades"]["remoteCloseCode"],
            serde_json::Value::Null
        );
        assert!(unplayed.get("facts").is_none());
    }

    #[test]
    fn a_report_of_the_old_shape_still_reads_and_is_still_a_baseline() {
        // Grades as string facts, as reports were written before `grades`.
        let mut old: serde_json::Value = serde_json::from_str(&ws_report().to_json()).unwrap();
        for check in old["checks"].as_array_mut().unwrap() {
            let object = check.as_object_mut().unwrap();
            if let Some(grades) = object.remove("grades") {
                let facts = object
                    .entry("facts")
                    .or_insert_with(|| serde_json::json!({}));
                for (name, value) in grades.as_object().unwrap() {
                    facts[name] = value.clone();
                }
            }
        }
        let old = Report::from_json(&old.to_string()).unwrap();
        assert!(old.checks.iter().all(|c| c.grades.is_none()));
        let warned = old.checks.iter().find(|c| c.aliases == ["6.4.3"]).unwrap();
        assert_eq!(warned.facts["behavior"], "NON-STRICT");
        let cmp = Comparison::new(&old, &ws_report());
        assert!(!cmp.has_regressions());
        assert_eq!(cmp.to_human(), "Same verdicts as the baseline.\n");
    }

    #[test]
    fn a_run_fails_on_failures_and_on_warnings_only_when_strict() {
        assert!(report(Verdict::Fail, Verdict::Pass, false).failed());
        assert!(!report(Verdict::Pass, Verdict::Warn, false).failed());
        assert!(report(Verdict::Pass, Verdict::Warn, true).failed());
    }

    #[test]
    fn human_report_shows_requirement_expected_actual_and_transcript() {
        let text = report(Verdict::Fail, Verdict::Pass, false).to_human();
        assert!(text.contains("sse/headers\n  FAIL"));
        assert!(text.contains(
            "Requirement: The response must have the text/event-stream type. (WHATWG HTML §9.2.3)"
        ));
        assert!(text.contains("Expected:    x"));
        assert!(text.contains("3 ms < <&>\\x01\\n"));
        assert!(text.ends_with(
            "2 checks: 1 pass, 1 fail, 0 warn, 0 info, 0 skipped, 0 error in 0.0 s — FAILED\n"
        ));
    }

    #[test]
    fn the_summary_says_what_warnings_do_to_the_run() {
        let lenient = report(Verdict::Pass, Verdict::Warn, false);
        assert!(lenient.to_human().ends_with(
            "2 checks: 1 pass, 0 fail, 1 warn (do not fail the run without --strict), 0 info, 0 skipped, 0 error in 0.0 s\n"
        ));
        let clean = report(Verdict::Pass, Verdict::Pass, false);
        assert!(clean.summary_line().contains(" 0 warn, "));
    }

    #[test]
    fn a_baseline_of_another_target_or_protocol_is_named() {
        let base = report(Verdict::Pass, Verdict::Pass, false);
        assert_eq!(base.mismatch("http://127.0.0.1:1/events", &["sse"]), None);
        // The same URL written differently is the same target.
        assert_eq!(base.mismatch("HTTP://127.0.0.1:1/events#x", &["sse"]), None);
        assert_eq!(
            base.mismatch("http://127.0.0.1:2/events", &["sse"])
                .as_deref(),
            Some("it is a report of http://127.0.0.1:1/events, not of http://127.0.0.1:2/events")
        );
        assert_eq!(
            base.mismatch("ws://127.0.0.1:1/events", &["ws"]).as_deref(),
            Some("it holds event-stream (sse/…) checks, and this run is WebSocket (ws/…)")
        );
        let mut built_in = base.clone();
        built_in.target =
            format!("http://127.0.0.1:5/events and ws://127.0.0.1:6/ {BUILT_IN_TARGET}");
        assert_eq!(
            built_in.mismatch(
                &format!("http://127.0.0.1:7/events and ws://127.0.0.1:8/ {BUILT_IN_TARGET}"),
                &["sse", "ws"]
            ),
            None
        );
        assert!(
            built_in
                .mismatch("http://127.0.0.1:5/events", &["sse"])
                .is_some()
        );
    }

    #[test]
    fn baseline_comparison_ignores_timings_and_names_each_change() {
        let baseline = report(Verdict::Pass, Verdict::Warn, false);
        let mut same = report(Verdict::Pass, Verdict::Warn, false);
        same.duration_ms = 999;
        same.checks[0].duration_ms = 500;
        let cmp = Comparison::new(&baseline, &same);
        assert!(!cmp.has_regressions());
        assert_eq!(cmp.to_human(), "Same verdicts as the baseline.\n");

        let worse = report(Verdict::Fail, Verdict::Pass, false);
        let cmp = Comparison::new(&baseline, &worse);
        assert_eq!(
            cmp.regressions,
            [Change {
                id: "sse/headers/content-type".into(),
                from: Verdict::Pass,
                to: Verdict::Fail
            }]
        );
        assert_eq!(cmp.improvements.len(), 1);
        assert!(
            cmp.to_human()
                .contains("Regressions:\n  sse/headers/content-type: pass -> fail")
        );
    }
}
