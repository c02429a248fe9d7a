//! The catalogue of checks, and choosing which to run.
//!
//! A suite is a list of [`Check`]s over a context type of its own (the SSE suite's
//! context holds the client, the target URL and shared observations of the
//! stream). `--only` and `--skip` take glob patterns (`*` any run of characters,
//! `/` included; `?` one character) matched against each check's ID and aliases.

use std::future::Future;
use std::pin::Pin;

use globset::GlobMatcher;

use crate::check::{CheckInfo, Outcome};

/// Declares a [`Check`] from its ID, title, source, level, requirement and the
/// `async fn(&Ctx) -> Outcome` that runs it.
macro_rules! check {
    ($id:literal, $title:literal, $source:expr, $level:ident, $requirement:literal, $run:ident) => {
        $crate::registry::Check {
            info: $crate::check::CheckInfo {
                id: $id,
                aliases: &[],
                title: $title,
                source: $source,
                requirement: $requirement,
                level: $crate::check::Level::$level,
            },
            run: |probe, _| Box::pin($run(probe)),
        }
    };
}
pub(crate) use check;

/// The future a check's run function returns.
pub type CheckFuture<'a> = Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>;

/// One check: its description, and how to run it against a suite's context.
pub struct Check<Ctx> {
    /// ID, title, source, requirement, level.
    pub info: CheckInfo,
    /// Runs the check, given its own description (table-driven checks, such as
    /// the Autobahn cases, find their row by it). It must not panic; network
    /// trouble is an error outcome.
    pub run: for<'a> fn(&'a Ctx, &'a CheckInfo) -> CheckFuture<'a>,
}

impl<Ctx> Clone for Check<Ctx> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<Ctx> Copy for Check<Ctx> {}

impl<Ctx> std::fmt::Debug for Check<Ctx> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Check")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

/// A glob over check IDs, from `--only` / `--skip`.
#[derive(Debug, Clone)]
pub struct Pattern {
    text: String,
    matcher: GlobMatcher,
}

impl Pattern {
    /// Parses a pattern; the error says what is wrong with it.
    pub fn new(text: &str) -> Result<Pattern, String> {
        let glob = globset::GlobBuilder::new(text)
            .literal_separator(false)
            .build()
            .map_err(|e| format!("invalid check pattern {text:?}: {e}"))?;
        Ok(Pattern {
            text: text.to_owned(),
            matcher: glob.compile_matcher(),
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the check's ID or one of its aliases matches.
    pub fn matches(&self, info: &CheckInfo) -> bool {
        self.matcher.is_match(info.id) || info.aliases.iter().any(|a| self.matcher.is_match(a))
    }
}

/// The checks to run: those matching any `only` pattern (all when `only` is
/// empty), minus those matching any `skip` pattern, in catalogue order.
pub fn select<'c, Ctx>(
    checks: &'c [Check<Ctx>],
    only: &[Pattern],
    skip: &[Pattern],
) -> Vec<&'c Check<Ctx>> {
    checks
        .iter()
        .filter(|c| only.is_empty() || only.iter().any(|p| p.matches(&c.info)))
        .filter(|c| !skip.iter().any(|p| p.matches(&c.info)))
        .collect()
}

/// Parses `--only`/`--skip` texts; the error names the bad pattern.
pub fn patterns(texts: &[String]) -> Result<Vec<Pattern>, String> {
    texts.iter().map(|p| Pattern::new(p)).collect()
}

/// The checks of one suite that `--only`/`--skip` choose, in catalogue order;
/// an `--only` pattern that matches none of them is refused as a typo
/// (`suite` names the suite in the message).
pub fn choose<Ctx>(
    checks: &[Check<Ctx>],
    only: &[String],
    skip: &[String],
    suite: &str,
) -> Result<Vec<Check<Ctx>>, String> {
    let (only, skip) = (patterns(only)?, patterns(skip)?);
    if let Some(p) = unmatched(checks, &only).first() {
        return Err(format!(
            "--only {:?} matches no case of the {suite} suite",
            p.as_str()
        ));
    }
    Ok(select(checks, &only, &skip).into_iter().copied().collect())
}

/// Patterns in `only` that match no check: almost always a typo the user wants
/// to hear about.
pub fn unmatched<'p, Ctx>(checks: &[Check<Ctx>], patterns: &'p [Pattern]) -> Vec<&'p Pattern> {
    patterns
        .iter()
        .filter(|p| !checks.iter().any(|c| p.matches(&c.info)))
        .collect()
}

/// Problems that make a catalogue dishonest: malformed or duplicate IDs and
/// aliases, a missing citation, an empty title or requirement. Empty when sound.
pub fn lint<Ctx>(checks: &[Check<Ctx>]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    for c in checks {
        let info = &c.info;
        if !info.id_is_well_formed() {
            problems.push(format!("{}: malformed ID", info.id));
        }
        for name in std::iter::once(info.id).chain(info.aliases.iter().copied()) {
            if !names.insert(name) {
                problems.push(format!("{}: name {name:?} used twice", info.id));
            }
        }
        if !info.source.is_cited() {
            problems.push(format!("{}: source cites nothing", info.id));
        }
        if info.title.trim().is_empty() {
            problems.push(format!("{}: no title", info.id));
        }
        if info.requirement.trim().is_empty() {
            problems.push(format!("{}: no requirement", info.id));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{Level, Source};

    fn check(id: &'static str, aliases: &'static [&'static str]) -> Check<()> {
        Check {
            info: CheckInfo {
                id,
                aliases,
                title: "t",
                source: Source::Rfc(6455, "7.4.1"),
                requirement: "r",
                level: Level::Must,
            },
            run: |_, _| Box::pin(async { Outcome::pass("ok") }),
        }
    }

    #[test]
    fn only_and_skip_match_ids_and_aliases_with_globs() {
        let checks = [
            check("sse/headers/content-type", &[]),
            check("sse/headers/cache-control", &[]),
            check("ws/close/code-1000", &["7.9.1"]),
        ];
        let p = |s| Pattern::new(s).unwrap();
        let ids = |v: Vec<&Check<()>>| v.iter().map(|c| c.info.id).collect::<Vec<_>>();
        assert_eq!(ids(select(&checks, &[], &[])).len(), 3);
        assert_eq!(
            ids(select(&checks, &[p("sse/*")], &[p("*cache*")])),
            ["sse/headers/content-type"]
        );
        assert_eq!(
            ids(select(&checks, &[p("7.9.*")], &[])),
            ["ws/close/code-1000"]
        );
        assert_eq!(unmatched(&checks, &[p("sse/typo/*")]).len(), 1);
        assert!(Pattern::new("sse/[").is_err());
    }

    #[test]
    fn lint_finds_duplicates_and_missing_citations() {
        let mut bad = check("sse/a/b", &["x"]);
        bad.info.source = Source::Whatwg("");
        let problems = lint(&[check("sse/a/b", &[]), bad, check("ws/c/d", &["x"])]);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(lint(&[check("sse/a/b", &[])]).is_empty());
    }
}
