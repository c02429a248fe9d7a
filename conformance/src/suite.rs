//! Suites as values: a suite is its name, its checks in their order, and how a
//! run builds its context from what the command line gives. The commands look a
//! suite up ([`for_url`], [`all`]) and dispatch on it; adding a suite is a new
//! value in its own file and a row in [`all`], not a branch in a command.
//!
//! Three suites exist: `sse` and `ws` probe a server at a URL
//! ([`ProbeSuite`]); `ws-client` is hosted for a client under test
//! (`pulsecheck host ws`), so it is listed and linted here but run by the host.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::check::CheckInfo;
use crate::http::{Client, ClientError, Phase};
use crate::registry::{Check, Pattern, lint, select};
use crate::runner::{Deadline, RunOptions, RunResult, not_run, run_until};

/// What every suite says about itself.
pub trait Suite: Sync {
    /// Its name, as reports and `--baseline` know it (`sse`, `ws`, `ws-client`).
    fn name(&self) -> &'static str;
    /// What it tests, for people.
    fn describes(&self) -> &'static str;
    /// Its checks' descriptions, in catalogue order.
    fn infos(&self) -> Vec<CheckInfo>;
    /// Problems that make its catalogue dishonest ([`lint`]).
    fn lint(&self) -> Vec<String>;
}

/// What the command line gives a probe, whatever the suite.
#[derive(Debug, Clone)]
pub struct ProbeSetup {
    /// The HTTP client (TLS settings, extra headers, the overall deadline).
    pub client: Client,
    /// `--observe`, if given (each suite has its own default).
    pub observe: Option<Duration>,
    /// `--origin`, for the SSE CORS checks.
    pub origin: Option<String>,
    /// `--only` patterns.
    pub only: Vec<Pattern>,
    /// `--skip` patterns.
    pub skip: Vec<Pattern>,
    /// Jobs, timeouts, strictness.
    pub run_options: RunOptions,
    /// The one deadline of the whole probe.
    pub deadline: Deadline,
}

/// The future a suite's probe returns: the run, or why the target cannot be
/// tested (exit 2).
pub type ProbeFuture<'a> = Pin<Box<dyn Future<Output = Result<RunResult, String>> + Send + 'a>>;

/// A suite that probes a server at a URL.
pub trait ProbeSuite: Suite {
    /// The URL schemes it probes.
    fn schemes(&self) -> &'static [&'static str];
    /// Makes first contact with `url` (an unreachable target or one that does
    /// not speak the protocol is an error, not a failed check), then runs the
    /// selected checks. `display` is the target as the user wrote it.
    fn probe<'a>(&'a self, setup: &'a ProbeSetup, url: Url, display: &'a str) -> ProbeFuture<'a>;
}

/// The suites that probe servers, in the order a run without a URL plays them.
pub fn probe_suites() -> [&'static dyn ProbeSuite; 2] {
    [&crate::sse::suite::SSE, &crate::ws::suite::WS]
}

/// Every suite, probed or hosted.
pub fn all() -> [&'static dyn Suite; 4] {
    [
        &crate::sse::suite::SSE,
        &crate::ws::suite::WS,
        &crate::host::ws::suite::WS_CLIENT,
        &crate::host::sse::suite::SSE_CLIENT,
    ]
}

/// The suite that probes `url`'s scheme.
///
/// # Errors
///
/// A scheme no suite probes, with what to use instead.
pub fn for_url(url: &Url, text: &str) -> Result<&'static dyn ProbeSuite, String> {
    probe_suites()
        .into_iter()
        .find(|s| s.schemes().contains(&url.scheme()))
        .ok_or_else(|| {
            format!(
                "{text}: pulsecheck does not probe {}:// URLs; use http or https for an event stream, ws or wss for a WebSocket endpoint",
                url.scheme()
            )
        })
}

/// The descriptions of `checks`.
pub fn infos_of<Ctx>(checks: &[Check<Ctx>]) -> Vec<CheckInfo> {
    checks.iter().map(|c| c.info).collect()
}

/// How the first request to a target went, before any check runs.
#[derive(Debug)]
pub enum FirstContact {
    /// It answered (or holds its answer, which the checks judge): run the checks.
    Answered,
    /// The overall deadline passed before it answered; the reason says what it was
    /// still waiting for.
    DeadlinePassed(String),
}

/// Sorts the error of the first request: the deadline passing, a target that
/// does not speak the protocol (an "unusable target"), one that cannot be
/// reached, or a server that answers late, whose checks will say so.
///
/// # Errors
///
/// The sentence for an unusable or unreachable target.
pub fn first_contact(
    result: Result<(), ClientError>,
    display: &str,
) -> Result<FirstContact, String> {
    match result {
        Ok(()) | Err(ClientError::Timeout { .. }) => Ok(FirstContact::Answered),
        Err(ClientError::Deadline { phase, .. }) => {
            let waiting = match phase {
                Phase::Resolve => format!("the host name of {display} was still being resolved"),
                Phase::Connect => format!("the TCP connection to {display} was still being opened"),
                Phase::TlsHandshake => {
                    format!("the TLS handshake with {display} was still under way")
                }
                Phase::ResponseHead => format!(
                    "the server at {display} had not sent its response head (status line and headers)"
                ),
            };
            Ok(FirstContact::DeadlinePassed(waiting))
        }
        Err(e) if e.is_unusable_target() => {
            Err(format!("unusable target {display}: {}", clause(&e)))
        }
        // A server that broke HTTP after its head is testable; the checks say how.
        Err(ClientError::Http { .. } | ClientError::Malformed { .. }) => Ok(FirstContact::Answered),
        Err(e) => Err(format!("cannot reach {display}: {}", clause(&e))),
    }
}

/// An error's sentence as a clause after a colon: first letter in lower case, no
/// final period.
pub fn clause(e: &dyn std::fmt::Display) -> String {
    let text = e.to_string();
    let text = text.strip_suffix('.').unwrap_or(&text);
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Runs the checks of `all` that `setup` selects against `ctx`, or, when the
/// deadline passed during the first contact, reports every one of them as not
/// finished and why.
pub async fn run_selected<Ctx: Send + Sync + 'static>(
    ctx: Arc<Ctx>,
    all: &[Check<Ctx>],
    setup: &ProbeSetup,
    contact: FirstContact,
) -> RunResult {
    let selected: Vec<Check<Ctx>> = select(all, &setup.only, &setup.skip)
        .into_iter()
        .copied()
        .collect();
    match contact {
        FirstContact::Answered => {
            run_until(ctx, &selected, setup.run_options, setup.deadline).await
        }
        FirstContact::DeadlinePassed(waiting) => RunResult {
            results: not_run(
                &selected,
                &format!("{}: {waiting}", setup.deadline.unfinished()),
                setup.run_options.strict,
            ),
            interrupted: false,
            deadline_reached: true,
            elapsed: setup.deadline.limit,
        },
    }
}

/// [`lint`] for a suite's checks.
pub fn lint_checks<Ctx>(checks: &[Check<Ctx>]) -> Vec<String> {
    lint(checks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scheme_has_one_suite_and_names_are_unique() {
        for scheme in ["http", "https", "ws", "wss"] {
            let url = Url::parse(&format!("{scheme}://example.test/")).unwrap();
            let suite = for_url(&url, "x").unwrap();
            assert!(suite.schemes().contains(&scheme));
        }
        let url = Url::parse("ftp://example.test/").unwrap();
        assert!(for_url(&url, "ftp://example.test/").is_err());
        let names: std::collections::BTreeSet<_> = all().iter().map(|s| s.name()).collect();
        assert_eq!(names.len(), all().len());
    }

    #[test]
    fn every_catalogue_is_sound() {
        for suite in all() {
            assert!(
                suite.lint().is_empty(),
                "{}: {:?}",
                suite.name(),
                suite.lint()
            );
            assert!(!suite.infos().is_empty(), "{}", suite.name());
        }
    }
}
