//! Autobahn|Testsuite's reports of the checks that are Autobahn cases (an alias
//! like `7.9.3`): its `index.json` and, per case, `<agent>_case_<7_9_3>.json`,
//! written as Autobahn writes them (keys sorted, three spaces of indent, non-ASCII
//! characters as `\uXXXX`, no final newline), so that CI comparing Autobahn's
//! files keeps working and `diff` against a file Autobahn wrote shows only what
//! differs.
//!
//! # `index.json`
//!
//! `{agent: {"7.9.3": {"behavior": "OK", "behaviorClose": "OK", "duration": 3,
//! "remoteCloseCode": 1002, "reportfile": "agent_case_7_9_3.json"}}}`, cases in
//! Autobahn's key order (as strings: `1.1.1`, `10.1.1`, `2.1`). `duration` is
//! the only timing, in its own field, so a comparison can drop it
//! (`jq -S 'del(.. | .duration?)'`, as tungstenite's CI does). A case skipped on a
//! server that does not echo is `UNIMPLEMENTED` (Autobahn's word for a case the
//! peer takes no part in); one the harness could not finish (an `error`, which
//! has no [`Grades`]) is `FAILED`, so a CI script never mistakes it for OK.
//!
//! # The per-case file
//!
//! Autobahn's per-case fields, as far as pulsecheck knows them; a field it
//! cannot know is left out rather than made up:
//!
//! | field | from |
//! |---|---|
//! | `agent` | `--agent` |
//! | `behavior`, `behaviorClose`, `remoteCloseCode` | the case's [`Grades`] |
//! | `case` | the case's place (from 1) among the run's cases in Autobahn's order |
//! | `description` | the check's title |
//! | `duration` | milliseconds the case took (timing) |
//! | `expectation` | the check's requirement |
//! | `expected`, `received` | the evidence's expected and actual (not on a pass) |
//! | `id` | the case number |
//! | `isServer` | whether pulsecheck was the server (`host ws`) or the client (`probe`) |
//! | `reportCompressionRatio` | true for the compression cases (groups 12, 13), as in Autobahn |
//! | `reportTime` | true for the performance and compression cases (groups 9, 12, 13), as in Autobahn |
//! | `result` | the check's message |
//! | `wirelog` | the transcript's octets: `["TO", [n, hex]]` sent, `["RO", [n, hex]]` received (not on a pass) |
//!
//! Autobahn's `expected` and `received` are lists of events; here they are the
//! sentences the evidence gives. The wire log holds what the bounded transcript
//! kept, each entry's hex cut at 64 bytes as Autobahn cuts it; the transcript's
//! notes are not octets and stay out (the HTML report shows them). A check fact
//! named like another of Autobahn's per-case fields (`closedByMe`, `droppedByMe`,
//! `wasClean`, ...) is written under that name.
//!
//! `reportTime` and `reportCompressionRatio` are Autobahn's switches for its
//! HTML summary: with `reportTime` it shows the case's duration under its
//! grade, with `reportCompressionRatio` the compression ratios of its
//! `trafficStats`. `trafficStats` itself is left out: its octet counts on the
//! wire and its frame counts are not measured here (a compression case's
//! facts hold the payload bytes both ways, before and after compression).

use std::fmt::Write as _;

use pulsecheck_ws::Role;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::check::{Direction, Verdict};
use crate::ws::autobahn::grades::Grades;

use super::{CheckResult, Report};

/// Autobahn's reports of a run (or of several agents' runs) as files, ready to
/// be written into one directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutobahnReports {
    /// `index.json`, each case naming its file in `reportfile`.
    pub index: String,
    /// Each case's file name ([`autobahn_report_file`]) and content, in
    /// Autobahn's order.
    pub cases: Vec<(String, String)>,
}

impl Report {
    /// Autobahn|Testsuite's `index.json` for the checks that are Autobahn cases,
    /// under `agent`, with `reportfile` null (no per-case file is written), and a
    /// final newline: what `--format autobahn` prints without `--outdir`.
    pub fn to_autobahn_index(&self, agent: &str) -> String {
        let mut text = autobahn_json(&Value::Object(
            [(
                agent.to_owned(),
                agent_index(agent, &autobahn_cases(self), false),
            )]
            .into_iter()
            .collect(),
        ));
        text.push('\n');
        text
    }

    /// Autobahn's `index.json` and one file per case, as Autobahn writes them
    /// into its report directory. `harness` is the role pulsecheck played:
    /// [`Role::Client`] when it probed a server, [`Role::Server`] when it hosted
    /// the cases for a client (Autobahn's `isServer`).
    pub fn to_autobahn_reports(&self, agent: &str, harness: Role) -> AutobahnReports {
        autobahn_reports(&[(agent, self)], harness)
    }
}

/// Autobahn's files of several agents' runs, as Autobahn writes them when
/// several clients ran (`/updateReports` writes every agent's): one `index.json`
/// with every agent's cases, and every agent's case files. `harness` is the role
/// pulsecheck played (see [`Report::to_autobahn_reports`]).
pub fn autobahn_reports(runs: &[(&str, &Report)], harness: Role) -> AutobahnReports {
    let mut index = Map::new();
    let mut files = Vec::new();
    for (agent, report) in runs {
        let cases = autobahn_cases(report);
        index.insert((*agent).to_owned(), agent_index(agent, &cases, true));
        files.extend(cases.iter().enumerate().map(|(i, case)| {
            (
                autobahn_report_file(agent, case.number),
                autobahn_json(&case_report(agent, i + 1, case, harness)),
            )
        }));
    }
    AutobahnReports {
        index: autobahn_json(&Value::Object(index)),
        cases: files,
    }
}

/// The name Autobahn gives a case's report file: the agent lower-cased, every
/// character but `a-z` and `0-9` a `_` (none at either end), then `_case_` and
/// the case number with `_` for `.`: `Tungstenite 0.30`, `1.1.1` →
/// `tungstenite_0_30_case_1_1_1.json`.
pub fn autobahn_report_file(agent: &str, number: &str) -> String {
    let spaced: String = agent
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                ' '
            }
        })
        .collect();
    format!(
        "{}_case_{}.json",
        spaced.trim_matches(' ').replace(' ', "_"),
        number.replace('.', "_")
    )
}

/// A check that is an Autobahn case.
struct AutobahnCase<'a> {
    /// Its number, as Autobahn writes it (`7.9.3`).
    number: &'a str,
    /// The number's parts, for Autobahn's order.
    parts: Vec<u32>,
    /// The check's result.
    check: &'a CheckResult,
}

impl AutobahnCase<'_> {
    /// A fact of the case, or `None`.
    fn fact(&self, name: &str) -> Option<Value> {
        self.check.facts.get(name).cloned()
    }

    /// The case's grades; [`Grades::FAILED`] when it has none (the harness
    /// could not finish it).
    fn grades(&self) -> Grades {
        self.check.grades.unwrap_or(Grades::FAILED)
    }

    /// The group the case belongs to (`12` for `12.1.3`).
    fn group(&self) -> Option<u32> {
        self.parts.first().copied()
    }

    /// Milliseconds the case took: its own measure, else the check's.
    fn duration(&self) -> Value {
        self.fact("duration_ms")
            .unwrap_or_else(|| self.check.duration_ms.into())
    }
}

/// The report's Autobahn cases, in Autobahn's order (`1.1.2` before `1.1.10`),
/// which numbers `/runCase?case=N`.
fn autobahn_cases(report: &Report) -> Vec<AutobahnCase<'_>> {
    let mut cases: Vec<AutobahnCase<'_>> = report
        .checks
        .iter()
        .filter_map(|check| {
            check.aliases.iter().find_map(|alias| {
                Some(AutobahnCase {
                    number: alias,
                    parts: autobahn_number(alias)?,
                    check,
                })
            })
        })
        .collect();
    cases.sort_by(|a, b| a.parts.cmp(&b.parts));
    cases
}

/// `Some([7, 9, 3])` for an Autobahn case number such as `7.9.3` (two parts at
/// least: `2.1` is one).
pub(super) fn autobahn_number(alias: &str) -> Option<Vec<u32>> {
    let parts: Option<Vec<u32>> = alias.split('.').map(|p| p.parse().ok()).collect();
    parts.filter(|p| p.len() >= 2)
}

/// An agent's entry in `index.json`: `{number: {behavior, behaviorClose,
/// duration, remoteCloseCode, reportfile}}`.
fn agent_index(agent: &str, cases: &[AutobahnCase<'_>], with_files: bool) -> Value {
    let by_case: Map<String, Value> = cases
        .iter()
        .map(|case| {
            let file = if with_files {
                autobahn_report_file(agent, case.number).into()
            } else {
                Value::Null
            };
            let grades = case.grades();
            let entry = json!({
                "behavior": grades.behavior,
                "behaviorClose": grades.behavior_close,
                "duration": case.duration(),
                "remoteCloseCode": grades.remote_close_code,
                "reportfile": file,
            });
            (case.number.to_owned(), entry)
        })
        .collect();
    Value::Object(by_case)
}

/// Autobahn's per-case fields that a check may carry as facts of the same name.
const PASSED_THROUGH: &[&str] = &[
    "closedByMe",
    "droppedByMe",
    "expectedClose",
    "failedByMe",
    "localCloseCode",
    "localCloseReason",
    "remoteCloseReason",
    "resultClose",
    "started",
    "wasClean",
    "wasCloseHandshakeTimeout",
    "wasNotCleanReason",
    "wasOpenHandshakeTimeout",
    "wasServerConnectionDropTimeout",
];

/// One case's report file (see the module docs for the fields).
fn case_report(agent: &str, running: usize, case: &AutobahnCase<'_>, harness: Role) -> Value {
    let check = case.check;
    let mut fields = Map::new();
    for name in PASSED_THROUGH {
        if let Some(value) = case.fact(name) {
            fields.insert((*name).to_owned(), value);
        }
    }
    let mut put = |name: &str, value: Value| {
        fields.insert(name.to_owned(), value);
    };
    let grades = case.grades();
    put("agent", agent.into());
    put("behavior", json!(grades.behavior));
    put("behaviorClose", json!(grades.behavior_close));
    put("case", running.into());
    put("description", check.title.clone().into());
    put("duration", case.duration());
    put("expectation", check.requirement.clone().into());
    put("id", case.number.into());
    put("isServer", (harness == Role::Server).into());
    put("remoteCloseCode", json!(grades.remote_close_code));
    put(
        "reportCompressionRatio",
        matches!(case.group(), Some(12 | 13)).into(),
    );
    put(
        "reportTime",
        matches!(case.group(), Some(9 | 12 | 13)).into(),
    );
    put("result", check.message.clone().into());
    if let Some(evidence) = check
        .evidence
        .as_ref()
        .filter(|_| check.verdict != Verdict::Pass)
    {
        put("expected", evidence.expected.clone().into());
        put("received", evidence.actual.clone().into());
        let wirelog = wirelog(&evidence.transcript);
        if !wirelog.is_empty() {
            put("wirelog", Value::Array(wirelog));
        }
    }
    Value::Object(fields)
}

/// The transcript's octets as Autobahn's wire log entries.
fn wirelog(transcript: &crate::check::Transcript) -> Vec<Value> {
    transcript
        .entries
        .iter()
        .filter_map(|entry| {
            let kind = match entry.direction {
                Direction::Sent => "TO",
                Direction::Received => "RO",
                Direction::Note => return None,
            };
            let octets = unescape(&entry.text);
            Some(json!([kind, [octets.len(), hex_log(&octets)]]))
        })
        .collect()
}

/// The bytes a transcript entry's text stands for (the inverse of its escaping:
/// `\r`, `\n`, `\t`, `\\`, `\xNN`, printable ASCII as is); any other character
/// stands for its UTF-8 bytes.
fn unescape(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let escaped = match rest.as_bytes() {
            [b'\\', b'r', ..] => Some((b'\r', 2)),
            [b'\\', b'n', ..] => Some((b'\n', 2)),
            [b'\\', b't', ..] => Some((b'\t', 2)),
            [b'\\', b'\\', ..] => Some((b'\\', 2)),
            [b'\\', b'x', hi, lo, ..] => {
                match (char::from(*hi).to_digit(16), char::from(*lo).to_digit(16)) {
                    (Some(hi), Some(lo)) => u8::try_from(hi * 16 + lo).ok().map(|b| (b, 4)),
                    _ => None,
                }
            }
            _ => None,
        };
        let used = match escaped {
            Some((byte, used)) => {
                out.push(byte);
                used
            }
            None => {
                out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                c.len_utf8()
            }
        };
        rest = &rest[used..];
    }
    out
}

/// Octets as Autobahn logs them: lowercase hex, the first 64 bytes and ` ...`
/// when there are more than 60.
fn hex_log(octets: &[u8]) -> String {
    let shown = if octets.len() > 60 {
        &octets[..octets.len().min(64)]
    } else {
        octets
    };
    let mut hex = String::with_capacity(shown.len() * 2 + 4);
    for b in shown {
        let _ = write!(hex, "{b:02x}");
    }
    if octets.len() > 60 {
        hex.push_str(" ...");
    }
    hex
}

/// JSON as Autobahn's Python writes it (`json.dumps(obj, sort_keys=True,
/// indent=3, separators=(',', ': '))`): keys sorted, three spaces of indent,
/// every character outside printable ASCII escaped, no final newline.
fn autobahn_json(value: &Value) -> String {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"   ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    // Serialising a `Value` into memory cannot fail.
    let _ = sorted(value).serialize(&mut serializer);
    ascii_only(&String::from_utf8_lossy(&out))
}

/// `value` with the keys of every object in sorted order (object keys keep their
/// insertion order otherwise).
fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.clone(), sorted(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// Escapes every character of serialised JSON outside printable ASCII as
/// `\uXXXX` (a surrogate pair above U+FFFF), as Python's `ensure_ascii` does.
/// Such characters occur only inside strings, so the JSON stays valid.
fn ascii_only(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if (' '..='~').contains(&c) || c == '\n' {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testing::{report, ws_report};
    use super::*;
    use crate::ws::autobahn::fuzzer::{Behavior, CloseBehavior};

    #[test]
    fn file_names_are_autobahns() {
        assert_eq!(
            autobahn_report_file("Tungstenite", "1.1.1"),
            "tungstenite_case_1_1_1.json"
        );
        assert_eq!(
            autobahn_report_file("  tokio-tungstenite 0.30! ", "12.1.10"),
            "tokio_tungstenite_0_30_case_12_1_10.json"
        );
        // Inner runs of other characters keep one `_` each, as Autobahn's do.
        assert_eq!(
            autobahn_report_file("ws://127.0.0.1:9001/", "2.1"),
            "ws___127_0_0_1_9001_case_2_1.json"
        );
        assert_eq!(autobahn_report_file("Ünï", "2.1"), "n_case_2_1.json");
    }

    #[test]
    fn the_index_sorts_keys_as_autobahn_and_names_each_file() {
        let reports = ws_report().to_autobahn_reports("Agent X", Role::Client);
        let index: Value = serde_json::from_str(&reports.index).unwrap();
        let cases = index["Agent X"].as_object().unwrap();
        // Autobahn sorts the case numbers as strings; the handshake check is no case.
        let numbers: Vec<&str> = cases.keys().map(String::as_str).collect();
        assert_eq!(
            numbers,
            [
                "1.1.1", "1.1.2", "10.1.1", "2.1", "6.4.3", "7.13.1", "9.1.1"
            ]
        );
        assert!(
            reports
                .index
                .starts_with("{\n   \"Agent X\": {\n      \"1.1.1\": {\n")
        );
        assert!(!reports.index.ends_with('\n'));
        let case = &cases["6.4.3"];
        assert_eq!(case["reportfile"], "agent_x_case_6_4_3.json");
        assert_eq!(case["behavior"], "NON-STRICT");
        assert_eq!(case["remoteCloseCode"], 1007);
        assert_eq!(case["duration"], 1003);
        // The harness could not finish 2.1: FAILED, never OK.
        assert_eq!(cases["2.1"]["behavior"], "FAILED");
        assert_eq!(cases["2.1"]["remoteCloseCode"], Value::Null);
        assert_eq!(cases["9.1.1"]["behavior"], "UNIMPLEMENTED");
        let keys: Vec<&str> = case
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "behavior",
                "behaviorClose",
                "duration",
                "remoteCloseCode",
                "reportfile"
            ]
        );
        // Printed without --outdir: no files to name.
        let printed = ws_report().to_autobahn_index("Agent X");
        let printed: Value = serde_json::from_str(&printed).unwrap();
        assert_eq!(printed["Agent X"]["6.4.3"]["reportfile"], Value::Null);
    }

    #[test]
    fn each_case_file_has_autobahns_fields_as_far_as_known() {
        let reports = ws_report().to_autobahn_reports("agent", Role::Client);
        let names: Vec<&str> = reports.cases.iter().map(|(n, _)| n.as_str()).collect();
        // In Autobahn's order, which numbers the cases.
        assert_eq!(
            names,
            [
                "agent_case_1_1_1.json",
                "agent_case_1_1_2.json",
                "agent_case_2_1.json",
                "agent_case_6_4_3.json",
                "agent_case_7_13_1.json",
                "agent_case_9_1_1.json",
                "agent_case_10_1_1.json",
            ]
        );
        let file = |name: &str| -> Value {
            let (_, text) = reports.cases.iter().find(|(n, _)| n == name).unwrap();
            serde_json::from_str(text).unwrap()
        };
        let pass = file("agent_case_1_1_1.json");
        let keys: Vec<&str> = pass
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "agent",
                "behavior",
                "behaviorClose",
                "case",
                "description",
                "duration",
                "expectation",
                "id",
                "isServer",
                "remoteCloseCode",
                "reportCompressionRatio",
                "reportTime",
                "result"
            ]
        );
        assert_eq!(pass["case"], 1);
        assert_eq!(pass["id"], "1.1.1");
        assert_eq!(pass["isServer"], false);
        assert_eq!(pass["reportTime"], false);
        assert_eq!(pass["reportCompressionRatio"], false);
        assert_eq!(pass["description"], "A text message of 0 bytes is echoed");

        let failed = file("agent_case_1_1_2.json");
        assert_eq!(failed["case"], 2);
        assert_eq!(failed["expected"], "OK: text of 125 bytes 'hello <b>'");
        assert_eq!(failed["received"], "text of 5 bytes 'hello'");
        // The octets both ways, in Autobahn's hex; the note is no octet.
        assert_eq!(
            failed["wirelog"],
            json!([
                ["TO", [11, "81850000000068656c6c6f"]],
                [
                    "RO",
                    [27, "81193c7363726970743e616c6572742831293c2f7363726970743e"]
                ]
            ])
        );
        assert_eq!(file("agent_case_9_1_1.json")["reportTime"], true);
        assert_eq!(file("agent_case_10_1_1.json")["case"], 7);

        let hosted = ws_report().to_autobahn_reports("agent", Role::Server);
        let (_, text) = &hosted.cases[0];
        assert!(text.contains("\"isServer\": true"), "{text}");
    }

    /// The result of Autobahn case 1.1.1 in [`ws_report`].
    fn case_1_1_1(report: &mut crate::report::Report) -> &mut crate::report::CheckResult {
        report
            .checks
            .iter_mut()
            .find(|c| c.aliases == ["1.1.1"])
            .expect("ws_report has case 1.1.1")
    }

    #[test]
    fn grades_are_read_from_the_typed_field_never_from_facts() {
        let mut report = ws_report();
        let check = case_1_1_1(&mut report);
        check.grades = Some(Grades::new(
            Behavior::NonStrict,
            CloseBehavior::WrongCode,
            Some(3000),
        ));
        // A fact of a grade's name is no grade (and no Autobahn field).
        check.facts.insert("behavior".into(), "OK".into());
        let reports = report.to_autobahn_reports("a", Role::Client);
        let index: Value = serde_json::from_str(&reports.index).unwrap();
        let entry = &index["a"]["1.1.1"];
        assert_eq!(entry["behavior"], "NON-STRICT");
        assert_eq!(entry["behaviorClose"], "WRONG CODE");
        assert_eq!(entry["remoteCloseCode"], 3000);
        let case: Value = serde_json::from_str(&reports.cases[0].1).unwrap();
        assert_eq!(
            (
                &case["behavior"],
                &case["behaviorClose"],
                &case["remoteCloseCode"]
            ),
            (&json!("NON-STRICT"), &json!("WRONG CODE"), &json!(3000))
        );
    }

    #[test]
    fn compression_cases_report_their_time_and_ratio_as_autobahn_does() {
        let mut report = ws_report();
        let template = case_1_1_1(&mut report).clone();
        for number in ["12.1.1", "13.7.18", "11.1.1"] {
            let mut check = template.clone();
            check.id = format!("ws/x/{}", number.replace('.', "-"));
            check.aliases = vec![number.to_owned()];
            check.facts.insert("bytes_sent".into(), 16_000.into());
            report.checks.push(check);
        }
        let reports = report.to_autobahn_reports("a", Role::Client);
        let file = |number: &str| -> Value {
            let name = autobahn_report_file("a", number);
            let (_, text) = reports.cases.iter().find(|(n, _)| *n == name).unwrap();
            serde_json::from_str(text).unwrap()
        };
        // Autobahn's compression cases (its case12_x_x.py) set both switches,
        // its performance cases (group 9) only `reportTime`, the others neither.
        for (number, time, ratio) in [
            ("12.1.1", true, true),
            ("13.7.18", true, true),
            ("9.1.1", true, false),
            ("11.1.1", false, false),
            ("1.1.1", false, false),
        ] {
            let case = file(number);
            assert_eq!(case["reportTime"], time, "{number}");
            assert_eq!(case["reportCompressionRatio"], ratio, "{number}");
            // The traffic statistics are not measured: left out, not made up.
            assert!(case.get("trafficStats").is_none(), "{number}");
            assert!(case.get("bytes_sent").is_none(), "{number}");
        }
        // The index is the same for every group.
        let index: Value = serde_json::from_str(&reports.index).unwrap();
        let mut same = index["a"]["1.1.1"].clone();
        same["reportfile"] = "a_case_12_1_1.json".into();
        assert_eq!(index["a"]["12.1.1"], same);
    }

    #[test]
    fn facts_named_like_autobahns_fields_are_passed_through() {
        let mut report = ws_report();
        let check = case_1_1_1(&mut report);
        check.facts.insert("droppedByMe".into(), false.into());
        check.facts.insert("wasClean".into(), true.into());
        check.facts.insert("somethingElse".into(), 1.into());
        let reports = report.to_autobahn_reports("a", Role::Server);
        let case: Value = serde_json::from_str(&reports.cases[0].1).unwrap();
        assert_eq!(case["droppedByMe"], false);
        assert_eq!(case["wasClean"], true);
        assert!(case.get("somethingElse").is_none());
        assert!(case.get("duration_ms").is_none());
    }

    #[test]
    fn several_agents_share_one_index_and_keep_their_own_files() {
        let (a, b) = (ws_report(), ws_report());
        let reports = autobahn_reports(&[("zed", &a), ("Alpha", &b)], Role::Server);
        let index: Value = serde_json::from_str(&reports.index).unwrap();
        let agents: Vec<&str> = index
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(agents, ["Alpha", "zed"], "sorted as Autobahn sorts");
        assert_eq!(index["zed"]["2.1"]["reportfile"], "zed_case_2_1.json");
        assert_eq!(index["Alpha"]["2.1"]["reportfile"], "alpha_case_2_1.json");
        assert_eq!(reports.cases.len(), 14);
        assert!(
            reports
                .cases
                .iter()
                .any(|(name, _)| name == "alpha_case_10_1_1.json")
        );
    }

    #[test]
    fn a_report_without_autobahn_cases_has_an_empty_index() {
        let reports =
            report(Verdict::Fail, Verdict::Pass, false).to_autobahn_reports("sse", Role::Client);
        assert_eq!(reports.index, "{\n   \"sse\": {}\n}");
        assert!(reports.cases.is_empty());
    }

    #[test]
    fn text_outside_printable_ascii_is_escaped_as_python_does() {
        let value = json!({"b": "é😀\u{7f}\n\"", "a": [1, {}]});
        assert_eq!(
            autobahn_json(&value),
            "{\n   \"a\": [\n      1,\n      {}\n   ],\n   \"b\": \"\\u00e9\\ud83d\\ude00\\u007f\\n\\\"\"\n}"
        );
    }

    #[test]
    fn transcript_text_unescapes_to_its_octets_and_long_ones_are_cut() {
        assert_eq!(unescape("a\\r\\n\\t\\\\\\x00\\xffz"), b"a\r\n\t\\\x00\xffz");
        // Not an escape: kept as written.
        assert_eq!(unescape("\\q\\x4"), b"\\q\\x4");
        assert_eq!(hex_log(&[0xab; 60]), "ab".repeat(60));
        assert_eq!(hex_log(&[0xab; 61]), format!("{} ...", "ab".repeat(61)));
        assert_eq!(hex_log(&[0xab; 100]), format!("{} ...", "ab".repeat(64)));
    }

    #[test]
    fn a_small_report_writes_its_snapshot_files() {
        let reports = ws_report().to_autobahn_reports("Agent X", Role::Client);
        let mut files = format!("index.json\n{}\n", reports.index);
        for (name, text) in &reports.cases {
            files.push_str(&format!("\n{name}\n{text}\n"));
        }
        insta::with_settings!({
            snapshot_path => "../../../fixtures/reports",
            prepend_module_to_snapshot => false,
            omit_expression => true,
            description => "Autobahn's index.json and per-case files (each after its name) \
                            of a small fixed WebSocket report (conformance/src/report/testing.rs, \
                            ws_report) under the agent `Agent X`",
        }, {
            insta::assert_snapshot!("autobahn", files);
        });
    }
}
