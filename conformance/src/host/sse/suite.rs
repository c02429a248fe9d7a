//! The SSE client suite as a value, hosted by `pulsecheck host sse`.

use crate::check::CheckInfo;
use crate::suite::{Suite, infos_of, lint_checks};

use super::cases::checks;

/// The SSE client suite.
#[derive(Debug)]
pub struct SseClientSuite;

/// The one SSE client suite.
pub static SSE_CLIENT: SseClientSuite = SseClientSuite;

impl Suite for SseClientSuite {
    fn name(&self) -> &'static str {
        "sse-client"
    }

    fn describes(&self) -> &'static str {
        "SSE clients (WHATWG HTML §9.2: the request, reconnection, retry, Last-Event-ID, statuses, redirects, parsing), hosted by `pulsecheck host sse -- DRIVER`"
    }

    fn infos(&self) -> Vec<CheckInfo> {
        infos_of(checks())
    }

    fn lint(&self) -> Vec<String> {
        lint_checks(checks())
    }
}
