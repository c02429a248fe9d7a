//! The SSE suite as a value: the checks of [`super::checks`] against an event
//! stream at an `http` or `https` URL.

use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::check::CheckInfo;
use crate::suite::{
    ProbeFuture, ProbeSetup, ProbeSuite, Suite, first_contact, infos_of, lint_checks, run_selected,
};

use super::checks::CHECKS;
use super::probe::{ProbeOptions, SseProbe};

/// The default `--observe` of an event stream (the heartbeat check needs 16 s).
pub const DEFAULT_OBSERVE: Duration = Duration::from_secs(20);

/// The SSE suite.
#[derive(Debug)]
pub struct SseSuite;

/// The one SSE suite.
pub static SSE: SseSuite = SseSuite;

impl Suite for SseSuite {
    fn name(&self) -> &'static str {
        "sse"
    }

    fn describes(&self) -> &'static str {
        "event-stream servers (WHATWG HTML §9.2)"
    }

    fn infos(&self) -> Vec<CheckInfo> {
        infos_of(CHECKS)
    }

    fn lint(&self) -> Vec<String> {
        lint_checks(CHECKS)
    }
}

impl ProbeSuite for SseSuite {
    fn schemes(&self) -> &'static [&'static str] {
        &["http", "https"]
    }

    fn probe<'a>(&'a self, setup: &'a ProbeSetup, url: Url, display: &'a str) -> ProbeFuture<'a> {
        Box::pin(async move {
            let options = ProbeOptions {
                observe: setup.observe.unwrap_or(DEFAULT_OBSERVE),
                origin: setup.origin.clone(),
                ..ProbeOptions::default()
            };
            let probe = Arc::new(SseProbe::new(setup.client.clone(), url, options));
            // An unreachable target, or one that does not speak HTTP, is a usage
            // problem, not a conformance failure. A server that accepts but holds
            // its answer is reachable (and buffered): the checks judge it.
            let contact = first_contact(probe.open(&[]).await.map(drop), display)?;
            Ok(run_selected(probe, CHECKS, setup, contact).await)
        })
    }
}
