//! Autobahn|Testsuite's fuzzingserver protocol (`wstest -m fuzzingserver`): the
//! request targets a client under test connects to, parsed into a typed
//! [`FuzzingRequest`], and the case a request names resolved against the
//! selected cases.
//!
//! Every path is a WebSocket upgrade on the one port (PROTOCOL.md §4, "Autobahn's
//! client mode"):
//!
//! | target | what the host does |
//! |---|---|
//! | `/getCaseCount` | one text message, the number of selected cases as JSON, then Close |
//! | `/runCase?case=N&agent=A` | the N-th selected case (1-based) plays the connection |
//! | `/runCase?casetuple=1.2.3&agent=A` | the case with that Autobahn number (or check ID) |
//! | `/getCaseInfo?case=N` | `{"id": …, "description": …}`, then Close |
//! | `/getCaseStatus?case=N&agent=A` | `{"behavior": …}` once the case has a result, then Close |
//! | `/updateReports[?agent=A][&shutdownOnComplete=true]` | writes the reports, then Close |
//! | `/stopServer` | Close, and the host ends |
//!
//! Parameters are `application/x-www-form-urlencoded` (percent-escapes and `+`
//! decoded); parameters the protocol does not know are ignored, as Autobahn
//! ignores them. A request the host cannot serve gets a [`RequestError`] or a
//! [`CaseError`] whose text is the reason of the Close that refuses it.

use std::fmt;

use crate::check::CheckInfo;
use crate::registry::Check;

/// The longest agent name accepted, in bytes (after decoding).
pub const MAX_AGENT_BYTES: usize = 128;

/// The close code of a refused request: 1008, policy violation (RFC 6455 §7.4.1:
/// "an endpoint is terminating the connection because it has received a message
/// that violates its policy").
pub const REFUSED: u16 = 1008;

/// The paths the host answers, for messages.
const KNOWN_PATHS: &str =
    "/getCaseCount /runCase /getCaseInfo /getCaseStatus /updateReports /stopServer";

/// The longest piece of a client's text quoted in a message, escaped (a close
/// reason holds at most 123 bytes).
const QUOTED_BYTES: usize = 40;

/// The longest piece of an unknown path quoted (the message lists the known ones
/// too).
const QUOTED_PATH_BYTES: usize = 16;

/// How a request names a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseRef {
    /// `case=N`: the N-th selected case, counting from 1, in catalogue order.
    Number(u64),
    /// `casetuple=1.2.3`: the case with this Autobahn number, or this check ID.
    Named(String),
}

impl fmt::Display for CaseRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaseRef::Number(n) => write!(f, "case {n}"),
            CaseRef::Named(name) => write!(f, "casetuple {}", quoted(name)),
        }
    }
}

/// Why a [`CaseRef`] names no selected case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseError {
    /// `case=N` outside `1..=count`.
    OutOfRange {
        /// The number given.
        number: u64,
        /// How many cases are selected.
        count: usize,
    },
    /// `casetuple=` names no selected case.
    Unknown {
        /// The name given.
        name: String,
    },
}

impl fmt::Display for CaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaseError::OutOfRange { number, count: 0 } => {
                write!(f, "case {number} is out of range: no case is selected")
            }
            CaseError::OutOfRange { number, count } => {
                write!(f, "case {number} is out of range 1..={count}")
            }
            CaseError::Unknown { name } => write!(
                f,
                "casetuple {} is no selected case's Autobahn number (1.1.1) or check ID",
                quoted(name)
            ),
        }
    }
}

impl std::error::Error for CaseError {}

impl CaseRef {
    /// The index (from 0) of the case this names among `selected`.
    ///
    /// # Errors
    ///
    /// A number outside `1..=selected.len()`, or a name that is no selected
    /// check's ID or alias.
    pub fn resolve<Ctx>(&self, selected: &[Check<Ctx>]) -> Result<usize, CaseError> {
        match self {
            CaseRef::Number(number) => usize::try_from(*number)
                .ok()
                .and_then(|n| n.checked_sub(1))
                .filter(|&index| index < selected.len())
                .ok_or(CaseError::OutOfRange {
                    number: *number,
                    count: selected.len(),
                }),
            CaseRef::Named(name) => selected
                .iter()
                .position(|c| c.info.id == name || c.info.aliases.contains(&name.as_str()))
                .ok_or_else(|| CaseError::Unknown { name: name.clone() }),
        }
    }
}

/// The name a case goes by in the protocol (`getCaseInfo`'s `id`): its Autobahn
/// case number (the first alias made of dot-separated numbers, such as `7.9.3`),
/// or its check ID when it has none.
pub fn case_id(info: &CheckInfo) -> &'static str {
    info.aliases
        .iter()
        .copied()
        .find(|a| is_autobahn_number(a))
        .unwrap_or(info.id)
}

/// `1.2.3`: two or more dot-separated decimal numbers.
fn is_autobahn_number(text: &str) -> bool {
    let mut parts = 0;
    for part in text.split('.') {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        parts += 1;
    }
    parts >= 2
}

/// One request of the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FuzzingRequest {
    /// `/getCaseCount`.
    GetCaseCount,
    /// `/runCase?case=N&agent=A`: play the case on this connection.
    RunCase {
        /// The case.
        case: CaseRef,
        /// The agent the result is filed under.
        agent: String,
    },
    /// `/getCaseInfo?case=N`.
    GetCaseInfo {
        /// The case.
        case: CaseRef,
    },
    /// `/getCaseStatus?case=N&agent=A`.
    GetCaseStatus {
        /// The case.
        case: CaseRef,
        /// The agent whose result is asked for.
        agent: String,
    },
    /// `/updateReports[?agent=A][&shutdownOnComplete=true]`.
    UpdateReports {
        /// Only this agent's report; every agent's when absent.
        agent: Option<String>,
        /// End the host once the reports are written.
        shutdown_on_complete: bool,
    },
    /// `/stopServer`.
    StopServer,
}

impl FuzzingRequest {
    /// Whether the request plays a case (the case answers the handshake) rather
    /// than a control exchange (the host answers it).
    pub fn is_case(&self) -> bool {
        matches!(self, FuzzingRequest::RunCase { .. })
    }
}

/// Why a request target is not a request of the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    /// A path the protocol does not have.
    UnknownPath {
        /// The path as sent.
        path: String,
    },
    /// A request that needs a case names none.
    MissingCase {
        /// The path.
        path: &'static str,
    },
    /// Both `case=` and `casetuple=`.
    CaseAndTuple,
    /// `case=` is not a whole number.
    NotANumber {
        /// The value given.
        value: String,
    },
    /// `casetuple=` is empty.
    EmptyTuple,
    /// A request that needs an agent names none.
    MissingAgent {
        /// The path.
        path: &'static str,
    },
    /// `agent=` is empty.
    EmptyAgent,
    /// `agent=` is longer than [`MAX_AGENT_BYTES`].
    AgentTooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// A parameter given more than once.
    Repeated {
        /// Its name.
        param: &'static str,
    },
    /// `shutdownOnComplete=` is neither `true` nor `false`.
    BadFlag {
        /// The value given.
        value: String,
    },
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::UnknownPath { path } => {
                write!(
                    f,
                    "unknown path {}; known: {KNOWN_PATHS}",
                    quoted_at_most(path, QUOTED_PATH_BYTES)
                )
            }
            RequestError::MissingCase { path } => {
                write!(f, "{path} needs case=N (from 1) or casetuple=X.Y.Z")
            }
            RequestError::CaseAndTuple => f.write_str("give case= or casetuple=, not both"),
            RequestError::NotANumber { value } => write!(
                f,
                "case={} is not a case number (a whole number from 1)",
                quoted(value)
            ),
            RequestError::EmptyTuple => f.write_str("casetuple= is empty"),
            RequestError::MissingAgent { path } => write!(f, "{path} needs agent=NAME"),
            RequestError::EmptyAgent => f.write_str("agent= is empty; name the client under test"),
            RequestError::AgentTooLong { len } => write!(
                f,
                "the agent name is {len} bytes long; at most {MAX_AGENT_BYTES}"
            ),
            RequestError::Repeated { param } => write!(f, "{param}= is given more than once"),
            RequestError::BadFlag { value } => write!(
                f,
                "shutdownOnComplete={} must be true or false",
                quoted(value)
            ),
        }
    }
}

impl std::error::Error for RequestError {}

/// The parameters the protocol knows, each at most once.
#[derive(Debug, Default)]
struct Params {
    case: Option<String>,
    casetuple: Option<String>,
    agent: Option<String>,
    shutdown_on_complete: Option<String>,
}

impl Params {
    fn parse(query: &str) -> Result<Params, RequestError> {
        let mut params = Params::default();
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let (slot, param) = match name.as_ref() {
                "case" => (&mut params.case, "case"),
                "casetuple" => (&mut params.casetuple, "casetuple"),
                "agent" => (&mut params.agent, "agent"),
                "shutdownOnComplete" => (&mut params.shutdown_on_complete, "shutdownOnComplete"),
                _ => continue,
            };
            if slot.is_some() {
                return Err(RequestError::Repeated { param });
            }
            *slot = Some(value.into_owned());
        }
        Ok(params)
    }

    fn case(&self, path: &'static str) -> Result<CaseRef, RequestError> {
        match (&self.case, &self.casetuple) {
            (Some(_), Some(_)) => Err(RequestError::CaseAndTuple),
            (Some(number), None) => {
                let digits = !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit());
                digits
                    .then(|| number.parse().ok())
                    .flatten()
                    .map(CaseRef::Number)
                    .ok_or_else(|| RequestError::NotANumber {
                        value: number.clone(),
                    })
            }
            (None, Some(name)) if name.is_empty() => Err(RequestError::EmptyTuple),
            (None, Some(name)) => Ok(CaseRef::Named(name.clone())),
            (None, None) => Err(RequestError::MissingCase { path }),
        }
    }

    fn agent(&self) -> Result<Option<String>, RequestError> {
        match &self.agent {
            None => Ok(None),
            Some(agent) if agent.trim().is_empty() => Err(RequestError::EmptyAgent),
            Some(agent) if agent.len() > MAX_AGENT_BYTES => {
                Err(RequestError::AgentTooLong { len: agent.len() })
            }
            Some(agent) => Ok(Some(agent.clone())),
        }
    }

    fn required_agent(&self, path: &'static str) -> Result<String, RequestError> {
        self.agent()?.ok_or(RequestError::MissingAgent { path })
    }

    fn shutdown_on_complete(&self) -> Result<bool, RequestError> {
        match self.shutdown_on_complete.as_deref() {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(other) => Err(RequestError::BadFlag {
                value: other.to_owned(),
            }),
        }
    }
}

/// Parses a request target (`/runCase?case=3&agent=tungstenite`).
///
/// # Errors
///
/// A [`RequestError`] naming what is wrong: an unknown path, a missing, empty,
/// repeated or malformed parameter.
pub fn parse(target: &str) -> Result<FuzzingRequest, RequestError> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let params = Params::parse(query)?;
    match path {
        "/getCaseCount" => Ok(FuzzingRequest::GetCaseCount),
        "/runCase" => Ok(FuzzingRequest::RunCase {
            case: params.case("/runCase")?,
            agent: params.required_agent("/runCase")?,
        }),
        "/getCaseInfo" => Ok(FuzzingRequest::GetCaseInfo {
            case: params.case("/getCaseInfo")?,
        }),
        "/getCaseStatus" => Ok(FuzzingRequest::GetCaseStatus {
            case: params.case("/getCaseStatus")?,
            agent: params.required_agent("/getCaseStatus")?,
        }),
        "/updateReports" => Ok(FuzzingRequest::UpdateReports {
            agent: params.agent()?,
            shutdown_on_complete: params.shutdown_on_complete()?,
        }),
        "/stopServer" => Ok(FuzzingRequest::StopServer),
        other => Err(RequestError::UnknownPath {
            path: other.to_owned(),
        }),
    }
}

/// A client's text in quotes, escaped, cut to [`QUOTED_BYTES`].
fn quoted(text: &str) -> String {
    quoted_at_most(text, QUOTED_BYTES)
}

/// A client's text in quotes, escaped (`\n`, `\u{1}`), cut to `max` bytes of
/// escaped text (on a character boundary) with `…` when longer.
fn quoted_at_most(text: &str, max: usize) -> String {
    let escaped: String = text.escape_debug().collect();
    if escaped.len() <= max {
        return format!("\"{escaped}\"");
    }
    let mut cut = max;
    while !escaped.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("\"{}…\"", escaped.get(..cut).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{Level, Outcome, Source};

    fn named(id: &'static str, aliases: &'static [&'static str]) -> Check<()> {
        Check {
            info: CheckInfo {
                id,
                aliases,
                title: "t",
                source: Source::Rfc(6455, "5.1"),
                requirement: "r",
                level: Level::Must,
            },
            run: |_, _| Box::pin(async { Outcome::pass("ok") }),
        }
    }

    fn run_case(case: CaseRef, agent: &str) -> FuzzingRequest {
        FuzzingRequest::RunCase {
            case,
            agent: agent.to_owned(),
        }
    }

    #[test]
    fn every_path_of_the_protocol_parses() {
        assert_eq!(parse("/getCaseCount"), Ok(FuzzingRequest::GetCaseCount));
        assert_eq!(
            parse("/runCase?case=3&agent=Tungstenite"),
            Ok(run_case(CaseRef::Number(3), "Tungstenite"))
        );
        assert_eq!(
            parse("/runCase?agent=ws&casetuple=7.9.3"),
            Ok(run_case(CaseRef::Named("7.9.3".into()), "ws"))
        );
        assert_eq!(
            parse("/getCaseInfo?case=12"),
            Ok(FuzzingRequest::GetCaseInfo {
                case: CaseRef::Number(12)
            })
        );
        assert_eq!(
            parse("/getCaseStatus?case=1&agent=a"),
            Ok(FuzzingRequest::GetCaseStatus {
                case: CaseRef::Number(1),
                agent: "a".into()
            })
        );
        assert_eq!(
            parse("/updateReports?agent=a&shutdownOnComplete=true"),
            Ok(FuzzingRequest::UpdateReports {
                agent: Some("a".into()),
                shutdown_on_complete: true
            })
        );
        assert_eq!(
            parse("/updateReports"),
            Ok(FuzzingRequest::UpdateReports {
                agent: None,
                shutdown_on_complete: false
            })
        );
        assert_eq!(parse("/stopServer"), Ok(FuzzingRequest::StopServer));
        assert!(parse("/runCase?case=1&agent=a").unwrap().is_case());
        assert!(!parse("/getCaseCount").unwrap().is_case());
    }

    #[test]
    fn parameters_are_form_decoded_and_unknown_ones_ignored() {
        assert_eq!(
            parse("/runCase?case=1&agent=Chrome%20120+headless&x=y&cb=123"),
            Ok(run_case(CaseRef::Number(1), "Chrome 120 headless"))
        );
        assert_eq!(
            parse("/runCase?case=1&agent=%C3%A9t%C3%A9"),
            Ok(run_case(CaseRef::Number(1), "été"))
        );
    }

    #[test]
    fn bad_requests_say_what_is_wrong() {
        let reason = |target: &str| parse(target).unwrap_err().to_string();
        assert_eq!(
            reason("/runcase?case=1&agent=a"),
            "unknown path \"/runcase\"; known: /getCaseCount /runCase /getCaseInfo /getCaseStatus /updateReports /stopServer"
        );
        assert_eq!(
            reason("/runCase?agent=a"),
            "/runCase needs case=N (from 1) or casetuple=X.Y.Z"
        );
        assert_eq!(reason("/runCase?case=1"), "/runCase needs agent=NAME");
        assert_eq!(
            reason("/runCase?case=1&agent="),
            "agent= is empty; name the client under test"
        );
        assert_eq!(
            reason("/runCase?case=1&agent=+"),
            "agent= is empty; name the client under test"
        );
        assert_eq!(
            reason("/getCaseStatus?case=1"),
            "/getCaseStatus needs agent=NAME"
        );
        assert_eq!(
            reason("/getCaseInfo?case=%2B1"),
            "case=\"+1\" is not a case number (a whole number from 1)"
        );
        for bad in ["abc", "-1", "1.5", "", "99999999999999999999999"] {
            assert_eq!(
                reason(&format!("/getCaseInfo?case={bad}")),
                format!("case={bad:?} is not a case number (a whole number from 1)"),
            );
        }
        assert_eq!(
            reason("/getCaseInfo?case=1&casetuple=1.1.1"),
            "give case= or casetuple=, not both"
        );
        assert_eq!(reason("/getCaseInfo?casetuple="), "casetuple= is empty");
        assert_eq!(
            reason("/runCase?case=1&case=2&agent=a"),
            "case= is given more than once"
        );
        assert_eq!(
            reason("/runCase?case=1&agent=a&agent=b"),
            "agent= is given more than once"
        );
        assert_eq!(
            reason("/updateReports?shutdownOnComplete=yes"),
            "shutdownOnComplete=\"yes\" must be true or false"
        );
        let long = "x".repeat(MAX_AGENT_BYTES + 1);
        assert_eq!(
            reason(&format!("/runCase?case=1&agent={long}")),
            "the agent name is 129 bytes long; at most 128"
        );
        assert!(
            parse(&format!(
                "/runCase?case=1&agent={}",
                "x".repeat(MAX_AGENT_BYTES)
            ))
            .is_ok()
        );
    }

    #[test]
    fn every_reason_fits_a_close_frame() {
        // A close reason holds at most 123 bytes (RFC 6455 §5.5: control payloads
        // are at most 125 bytes, 2 of them the code).
        let long = format!("/{}", "é".repeat(5000));
        let errors = [
            parse(&long).unwrap_err().to_string(),
            parse("/%01%02%03%04%05%06%07%08%09%10")
                .unwrap_err()
                .to_string(),
            parse(&format!("/getCaseInfo?case={}", "%00".repeat(100)))
                .unwrap_err()
                .to_string(),
            parse(&format!("/getCaseInfo?case={}", "9".repeat(5000)))
                .unwrap_err()
                .to_string(),
            parse(&format!(
                "/updateReports?shutdownOnComplete={}",
                "y".repeat(5000)
            ))
            .unwrap_err()
            .to_string(),
            CaseError::Unknown {
                name: "é".repeat(5000),
            }
            .to_string(),
        ];
        for reason in errors {
            assert!(reason.len() <= 123, "{} bytes: {reason}", reason.len());
        }
    }

    #[test]
    fn cases_resolve_by_number_alias_or_id() {
        let selected = [
            named("ws/framing/a", &["1.1.1"]),
            named("ws/framing/b", &["1.1.2"]),
            named("ws/client/key", &[]),
        ];
        assert_eq!(CaseRef::Number(1).resolve(&selected), Ok(0));
        assert_eq!(CaseRef::Number(3).resolve(&selected), Ok(2));
        assert_eq!(CaseRef::Named("1.1.2".into()).resolve(&selected), Ok(1));
        assert_eq!(
            CaseRef::Named("ws/client/key".into()).resolve(&selected),
            Ok(2)
        );
        let err = |r: CaseRef| r.resolve(&selected).unwrap_err().to_string();
        assert_eq!(err(CaseRef::Number(0)), "case 0 is out of range 1..=3");
        assert_eq!(err(CaseRef::Number(400)), "case 400 is out of range 1..=3");
        assert_eq!(
            err(CaseRef::Number(u64::MAX)),
            format!("case {} is out of range 1..=3", u64::MAX)
        );
        assert_eq!(
            err(CaseRef::Named("9.9.9".into())),
            "casetuple \"9.9.9\" is no selected case's Autobahn number (1.1.1) or check ID"
        );
        let none: [Check<()>; 0] = [];
        assert_eq!(
            CaseRef::Number(1).resolve(&none).unwrap_err().to_string(),
            "case 1 is out of range: no case is selected"
        );
    }

    #[test]
    fn a_case_goes_by_its_autobahn_number_or_its_id() {
        assert_eq!(case_id(&named("ws/a/b", &["x", "7.9.3"]).info), "7.9.3");
        assert_eq!(case_id(&named("ws/a/b", &["1."]).info), "ws/a/b");
        assert_eq!(case_id(&named("ws/a/b", &[]).info), "ws/a/b");
        assert_eq!(CaseRef::Number(4).to_string(), "case 4");
        assert_eq!(
            CaseRef::Named("1.2.3".into()).to_string(),
            "casetuple \"1.2.3\""
        );
    }
}
