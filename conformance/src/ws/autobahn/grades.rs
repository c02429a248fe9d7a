//! Autobahn|Testsuite's grades of a played case, as one typed value.
//!
//! The fuzzer grades a case into [`Behavior`] and [`CloseBehavior`] and notes
//! the peer's close code; [`Grades`] carries the three from the case's
//! [`Outcome`](crate::check::Outcome) into the report's
//! [`CheckResult`](crate::report::CheckResult), and every writer reads them
//! from there: the JSON report, Autobahn's `index.json` and per-case files,
//! the HTML page, `/getCaseStatus`. The facts beside them keep only
//! measurements (durations, byte counts).
//!
//! In JSON the grades are an object with Autobahn's own field names and words:
//!
//! ```json
//! {"behavior": "NON-STRICT", "behaviorClose": "OK", "remoteCloseCode": 1007}
//! ```
//!
//! `behavior` is one of `OK`, `NON-STRICT`, `FAILED`, `INFORMATIONAL`,
//! `UNIMPLEMENTED`; `behaviorClose` one of `OK`, `FAILED`, `UNCLEAN`,
//! `WRONG CODE`, `FAILED BY CLIENT`, `INFORMATIONAL`, `UNIMPLEMENTED`;
//! `remoteCloseCode` the code of the peer's Close, `null` when it sent none (or
//! a Close without a code).

use serde::{Deserialize, Serialize};

use super::fuzzer::{Behavior, CloseBehavior};

/// Autobahn's grades of one case: what the peer did with the frames, how the
/// connection ended, and the code the peer closed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grades {
    /// Autobahn's `behavior`.
    pub behavior: Behavior,
    /// Autobahn's `behaviorClose`.
    #[serde(rename = "behaviorClose")]
    pub behavior_close: CloseBehavior,
    /// Autobahn's `remoteCloseCode`: the code of the peer's Close, if it sent one
    /// with a code.
    #[serde(rename = "remoteCloseCode")]
    pub remote_close_code: Option<u16>,
}

impl Grades {
    /// What a case gets when it could not be played or finished: the opening
    /// handshake failed, or the harness gave up on it (FAILED both ways, no
    /// close code), so that no report ever mistakes it for OK.
    pub const FAILED: Grades = Grades {
        behavior: Behavior::Failed,
        behavior_close: CloseBehavior::Failed,
        remote_close_code: None,
    };

    /// What a case gets when the peer takes no part in it (a peer that does not
    /// echo, in a case that grades an echo): UNIMPLEMENTED both ways.
    pub const UNIMPLEMENTED: Grades = Grades {
        behavior: Behavior::Unimplemented,
        behavior_close: CloseBehavior::Unimplemented,
        remote_close_code: None,
    };

    /// The grades of a played case.
    pub fn new(behavior: Behavior, behavior_close: CloseBehavior, code: Option<u16>) -> Self {
        Grades {
            behavior,
            behavior_close,
            remote_close_code: code,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    const BEHAVIORS: [Behavior; 5] = [
        Behavior::Ok,
        Behavior::NonStrict,
        Behavior::Failed,
        Behavior::Informational,
        Behavior::Unimplemented,
    ];

    const CLOSES: [CloseBehavior; 7] = [
        CloseBehavior::Ok,
        CloseBehavior::Failed,
        CloseBehavior::Unclean,
        CloseBehavior::WrongCode,
        CloseBehavior::FailedByClient,
        CloseBehavior::Informational,
        CloseBehavior::Unimplemented,
    ];

    /// Fails to compile when a grade is added and the lists above miss it.
    #[allow(dead_code)]
    fn every_grade_is_listed(b: Behavior, c: CloseBehavior) {
        match b {
            Behavior::Ok
            | Behavior::NonStrict
            | Behavior::Failed
            | Behavior::Informational
            | Behavior::Unimplemented => {}
        }
        match c {
            CloseBehavior::Ok
            | CloseBehavior::Failed
            | CloseBehavior::Unclean
            | CloseBehavior::WrongCode
            | CloseBehavior::FailedByClient
            | CloseBehavior::Informational
            | CloseBehavior::Unimplemented => {}
        }
    }

    #[test]
    fn grades_serialise_with_autobahns_names_and_words() {
        let grades = Grades::new(Behavior::NonStrict, CloseBehavior::WrongCode, Some(1007));
        assert_eq!(
            serde_json::to_value(grades).unwrap(),
            json!({"behavior": "NON-STRICT", "behaviorClose": "WRONG CODE", "remoteCloseCode": 1007})
        );
        // No close code is null, as Autobahn writes it.
        assert_eq!(
            serde_json::to_value(Grades::FAILED).unwrap(),
            json!({"behavior": "FAILED", "behaviorClose": "FAILED", "remoteCloseCode": null})
        );
        assert_eq!(
            serde_json::to_value(Grades::new(
                Behavior::Ok,
                CloseBehavior::FailedByClient,
                None
            ))
            .unwrap()["behaviorClose"],
            "FAILED BY CLIENT"
        );
    }

    #[test]
    fn every_grade_is_written_as_it_displays_and_reads_back() {
        for b in BEHAVIORS {
            let value = serde_json::to_value(b).unwrap();
            assert_eq!(value, Value::from(b.to_string()));
            assert_eq!(serde_json::from_value::<Behavior>(value).unwrap(), b);
        }
        for c in CLOSES {
            let value = serde_json::to_value(c).unwrap();
            assert_eq!(value, Value::from(c.to_string()));
            assert_eq!(serde_json::from_value::<CloseBehavior>(value).unwrap(), c);
        }
    }

    #[test]
    fn grades_read_back_and_refuse_a_word_autobahn_never_writes() {
        for grades in [
            Grades::new(Behavior::Ok, CloseBehavior::Ok, Some(1000)),
            Grades::FAILED,
            Grades::UNIMPLEMENTED,
        ] {
            let text = serde_json::to_string(&grades).unwrap();
            assert_eq!(serde_json::from_str::<Grades>(&text).unwrap(), grades);
        }
        // A missing close code is none.
        let read: Grades =
            serde_json::from_str(r#"{"behavior": "OK", "behaviorClose": "UNCLEAN"}"#).unwrap();
        assert_eq!(read.remote_close_code, None);
        let wrong = r#"{"behavior": "Ok", "behaviorClose": "OK", "remoteCloseCode": null}"#;
        let e = serde_json::from_str::<Grades>(wrong).unwrap_err();
        assert!(e.to_string().contains("unknown variant `Ok`"), "{e}");
        let wrong = r#"{"behavior": "OK", "behaviorClose": "WRONG-CODE"}"#;
        assert!(serde_json::from_str::<Grades>(wrong).is_err());
    }
}
