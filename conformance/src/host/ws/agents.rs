//! What the host keeps of each agent (client under test): one result slot per
//! selected case, the cases being played now, and its [`AgentHistory`].
//!
//! Memory is bounded whatever clients send: at most [`MAX_AGENTS`] agents, each
//! with one [`CheckResult`] per selected case (a result is itself bounded, see
//! [`budget`](crate::budget)); playing a case again replaces its result, as
//! Autobahn does.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::watch;

use crate::check::{Outcome, Transcript, Verdict};
use crate::registry::Check;
use crate::report::{CheckResult, Report};
use crate::ws::autobahn::fuzzer::Behavior;

use super::session::{AgentHistory, ClientSession};

/// The most agents the host keeps results for; a case for one more is refused.
pub const MAX_AGENTS: usize = 32;

/// The reason given for a selected case an agent never ran.
pub const NEVER_RAN: &str = "not run: the client never ran this case";

/// A case for a new agent when [`MAX_AGENTS`] already have results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyAgents;

impl fmt::Display for TooManyAgents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "this host already keeps the results of {MAX_AGENTS} agents; reuse an agent name"
        )
    }
}

impl std::error::Error for TooManyAgents {}

/// Where one case of one agent stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseStatus {
    /// It has a result; Autobahn's grade of it (see [`behavior`]).
    Done(Behavior),
    /// It is being played now (and has no result, or an older one).
    Running,
    /// It was never played for this agent.
    NotRun,
}

/// Autobahn's grade of a result (`/getCaseStatus`'s `behavior`): the
/// `behavior` of an Autobahn case's grades, or, for the other checks (and a case
/// the harness could not finish), pass → `OK`, warn → `NON-STRICT`, info →
/// `INFORMATIONAL`, anything else → `FAILED`.
pub fn behavior(result: &CheckResult) -> Behavior {
    if let Some(grades) = &result.grades {
        return grades.behavior;
    }
    match result.verdict {
        Verdict::Pass => Behavior::Ok,
        Verdict::Warn => Behavior::NonStrict,
        Verdict::Info => Behavior::Informational,
        Verdict::Fail | Verdict::Error | Verdict::Skipped => Behavior::Failed,
    }
}

/// One agent's record.
#[derive(Debug)]
struct AgentRecord {
    history: Arc<AgentHistory>,
    /// One slot per selected case, in selection order.
    results: Vec<Option<CheckResult>>,
    /// How many connections are playing each case now.
    running: Vec<u32>,
    /// When its first case began.
    first_began: Instant,
    /// When its last result came.
    last_result: Option<Instant>,
}

impl AgentRecord {
    fn new(cases: usize) -> Self {
        AgentRecord {
            history: Arc::new(AgentHistory::default()),
            results: vec![None; cases],
            running: vec![0; cases],
            first_began: Instant::now(),
            last_result: None,
        }
    }

    fn results_kept(&self) -> usize {
        self.results.iter().filter(|r| r.is_some()).count()
    }
}

/// Every agent's results; shared by the host's connections.
#[derive(Debug)]
pub struct Agents {
    cases: usize,
    records: Mutex<BTreeMap<String, AgentRecord>>,
    /// Counts every change (a case begun, ended or abandoned).
    changed: watch::Sender<u64>,
    /// Counts the results stored, over all agents.
    stored: watch::Sender<u64>,
}

impl Agents {
    /// An empty store for `cases` selected cases.
    pub fn new(cases: usize) -> Self {
        Agents {
            cases,
            records: Mutex::new(BTreeMap::new()),
            changed: watch::Sender::new(0),
            stored: watch::Sender::new(0),
        }
    }

    fn records(&self) -> MutexGuard<'_, BTreeMap<String, AgentRecord>> {
        // A panic while the lock was held cannot leave a record half-written
        // (every update is one assignment), so a poisoned lock is still sound.
        self.records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn note_change(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Marks case `index` of `agent` as being played, creating the agent's
    /// record on its first case. The returned guard files the result
    /// ([`Playing::finish`]); dropped without it, the case is no longer played
    /// and keeps whatever result it had.
    ///
    /// # Errors
    ///
    /// [`TooManyAgents`] for a new agent beyond [`MAX_AGENTS`].
    pub fn begin(self: &Arc<Self>, agent: &str, index: usize) -> Result<Playing, TooManyAgents> {
        let history = {
            let mut records = self.records();
            if !records.contains_key(agent) {
                if records.len() >= MAX_AGENTS {
                    return Err(TooManyAgents);
                }
                records.insert(agent.to_owned(), AgentRecord::new(self.cases));
            }
            let Some(record) = records.get_mut(agent) else {
                return Err(TooManyAgents);
            };
            if let Some(running) = record.running.get_mut(index) {
                *running = running.saturating_add(1);
            }
            Arc::clone(&record.history)
        };
        self.note_change();
        Ok(Playing {
            agents: Arc::clone(self),
            agent: agent.to_owned(),
            index,
            history,
            filed: false,
        })
    }

    /// Where case `index` of `agent` stands.
    pub fn status(&self, agent: &str, index: usize) -> CaseStatus {
        let records = self.records();
        let Some(record) = records.get(agent) else {
            return CaseStatus::NotRun;
        };
        if record.running.get(index).is_some_and(|&n| n > 0) {
            return CaseStatus::Running;
        }
        match record.results.get(index) {
            Some(Some(result)) => CaseStatus::Done(behavior(result)),
            _ => CaseStatus::NotRun,
        }
    }

    /// What the host remembers of `agent`, when it has a record.
    pub fn history(&self, agent: &str) -> Option<Arc<AgentHistory>> {
        self.records().get(agent).map(|r| Arc::clone(&r.history))
    }

    /// A receiver that sees every change of any agent's cases.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// How many results have been stored so far, over all agents (it only
    /// grows: a case played again counts again).
    pub fn stored(&self) -> u64 {
        *self.stored.borrow()
    }

    /// The agents with a record, in name order.
    pub fn names(&self) -> Vec<String> {
        self.records().keys().cloned().collect()
    }

    /// How many selected cases of `agent` have a result.
    pub fn results_kept(&self, agent: &str) -> usize {
        self.records()
            .get(agent)
            .map_or(0, AgentRecord::results_kept)
    }

    /// Whether `agent` (every agent with a record, when `None`, and at least
    /// one) has a result for every selected case and plays none now.
    pub fn complete(&self, agent: Option<&str>) -> bool {
        let records = self.records();
        let done = |r: &AgentRecord| {
            r.results.iter().all(Option::is_some) && r.running.iter().all(|&n| n == 0)
        };
        match agent {
            Some(name) => records.get(name).is_some_and(done),
            None => !records.is_empty() && records.values().all(done),
        }
    }

    /// The report of `agent` (target = its name): every selected check's
    /// result, or, for a case it has no result for, an error saying `missing`
    /// and the `/runCase` that would run it. An agent without a record gets a
    /// report of nothing but such errors.
    pub fn report(
        &self,
        agent: &str,
        checks: &[Check<ClientSession>],
        strict: bool,
        missing: &str,
    ) -> Report {
        let records = self.records();
        let record = records.get(agent);
        let results = checks
            .iter()
            .enumerate()
            .map(|(index, check)| {
                let kept = record.and_then(|r| r.results.get(index).cloned().flatten());
                kept.unwrap_or_else(|| {
                    // What `runner::not_run` gives, with the case's number.
                    let reason = format!("{missing} (/runCase?case={})", index + 1);
                    let outcome = Outcome::error(reason, Transcript::default());
                    CheckResult::new(&check.info, outcome.graded(check.info.level, strict), 0)
                })
            })
            .collect();
        let took = record
            .and_then(|r| r.last_result.map(|last| last.duration_since(r.first_began)))
            .unwrap_or_default();
        let ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
        Report::new(agent, strict, results, ms)
    }
}

/// A case being played for an agent; see [`Agents::begin`].
#[derive(Debug)]
pub struct Playing {
    agents: Arc<Agents>,
    agent: String,
    index: usize,
    history: Arc<AgentHistory>,
    filed: bool,
}

impl Playing {
    /// What the host remembers of the agent.
    pub fn history(&self) -> Arc<AgentHistory> {
        Arc::clone(&self.history)
    }

    /// Files the case's result (replacing an earlier one).
    pub fn finish(mut self, result: CheckResult) {
        {
            let mut records = self.agents.records();
            if let Some(record) = records.get_mut(&self.agent) {
                if let Some(slot) = record.results.get_mut(self.index) {
                    *slot = Some(result);
                }
                record.last_result = Some(Instant::now());
            }
        }
        self.agents.stored.send_modify(|n| *n = n.saturating_add(1));
        self.end();
    }

    fn end(&mut self) {
        if self.filed {
            return;
        }
        self.filed = true;
        {
            let mut records = self.agents.records();
            if let Some(running) = records
                .get_mut(&self.agent)
                .and_then(|r| r.running.get_mut(self.index))
            {
                *running = running.saturating_sub(1);
            }
        }
        self.agents.note_change();
    }
}

impl Drop for Playing {
    fn drop(&mut self) {
        self.end();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{CheckInfo, Level, Source};
    use crate::ws::autobahn::fuzzer::CloseBehavior;
    use crate::ws::autobahn::grades::Grades;

    fn check(id: &'static str) -> Check<ClientSession> {
        Check {
            info: CheckInfo {
                id,
                aliases: &[],
                title: "t",
                source: Source::Rfc(6455, "5.1"),
                requirement: "r",
                level: Level::Must,
            },
            run: |_, _| Box::pin(async { Outcome::pass("ok") }),
        }
    }

    fn result(c: &Check<ClientSession>, outcome: Outcome) -> CheckResult {
        CheckResult::new(&c.info, outcome, 1)
    }

    #[test]
    fn a_case_is_running_then_done_and_reports_fill_the_rest() {
        let checks = [check("ws/a/one"), check("ws/a/two")];
        let agents = Arc::new(Agents::new(2));
        assert_eq!(agents.status("x", 0), CaseStatus::NotRun);
        let playing = agents.begin("x", 0).unwrap();
        assert_eq!(agents.status("x", 0), CaseStatus::Running);
        assert!(!agents.complete(Some("x")));
        playing.finish(result(&checks[0], Outcome::pass("fine")));
        assert_eq!(agents.status("x", 0), CaseStatus::Done(Behavior::Ok));
        assert_eq!(agents.stored(), 1);
        assert_eq!(agents.results_kept("x"), 1);

        let report = agents.report("x", &checks, false, NEVER_RAN);
        assert_eq!(report.target, "x");
        assert_eq!(report.summary.pass, 1);
        assert_eq!(report.summary.error, 1);
        let missing = report.checks.iter().find(|c| c.id == "ws/a/two").unwrap();
        assert_eq!(
            missing.message,
            "not run: the client never ran this case (/runCase?case=2)"
        );

        // An agent never seen: every case not run.
        let nobody = agents.report("nobody", &checks, false, NEVER_RAN);
        assert_eq!(nobody.summary.error, 2);
        assert_eq!(agents.names(), ["x"]);
    }

    #[test]
    fn an_abandoned_case_keeps_its_earlier_result() {
        let checks = [check("ws/a/one")];
        let agents = Arc::new(Agents::new(1));
        agents
            .begin("x", 0)
            .unwrap()
            .finish(result(&checks[0], Outcome::pass("fine")));
        assert!(agents.complete(Some("x")) && agents.complete(None));
        let again = agents.begin("x", 0).unwrap();
        assert_eq!(agents.status("x", 0), CaseStatus::Running);
        assert!(!agents.complete(None));
        drop(again);
        assert_eq!(agents.status("x", 0), CaseStatus::Done(Behavior::Ok));
        assert!(!agents.complete(Some("y")));
    }

    #[test]
    fn agents_are_bounded() {
        let agents = Arc::new(Agents::new(1));
        for n in 0..MAX_AGENTS {
            drop(agents.begin(&format!("agent {n}"), 0).unwrap());
        }
        assert_eq!(agents.begin("one more", 0).unwrap_err(), TooManyAgents);
        // A known agent still plays.
        assert!(agents.begin("agent 0", 0).is_ok());
        assert_eq!(agents.names().len(), MAX_AGENTS);
    }

    #[test]
    fn behavior_comes_from_the_fact_or_the_verdict() {
        let c = check("ws/a/one");
        // The grades decide, whatever the verdict.
        let graded = Outcome::fail("x", Default::default()).with_grades(Grades::new(
            Behavior::NonStrict,
            CloseBehavior::Ok,
            Some(1007),
        ));
        assert_eq!(behavior(&result(&c, graded)), Behavior::NonStrict);
        let unplayed = Outcome::skipped("no echo").with_grades(Grades::UNIMPLEMENTED);
        assert_eq!(behavior(&result(&c, unplayed)), Behavior::Unimplemented);
        assert_eq!(behavior(&result(&c, Outcome::pass("ok"))), Behavior::Ok);
        let mut warned = Outcome::fail("x", Default::default());
        warned.verdict = Verdict::Warn;
        assert_eq!(behavior(&result(&c, warned)), Behavior::NonStrict);
        assert_eq!(
            behavior(&result(&c, Outcome::info("m", Default::default()))),
            Behavior::Informational
        );
        assert_eq!(
            behavior(&result(&c, Outcome::fail("x", Default::default()))),
            Behavior::Failed
        );
        assert_eq!(
            behavior(&result(&c, Outcome::error("x", Default::default()))),
            Behavior::Failed
        );
        // `/getCaseStatus` writes it in Autobahn's words.
        assert_eq!(
            serde_json::json!({ "behavior": Behavior::NonStrict }).to_string(),
            r#"{"behavior":"NON-STRICT"}"#
        );
    }
}
