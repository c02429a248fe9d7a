//! `--baseline FILE`, the same for every command that writes a report: a saved
//! JSON report of the same target, read before the run; after it, only a check
//! whose verdict got worse fails the run.

use std::path::Path;

use pulsecheck::report::{Comparison, Report};

/// Reads the baseline at `path`, refusing a report of another target or suite
/// unless `any_target` (`--baseline-any-target`). `target` is what this run's
/// report will call the peer, `suites` the suites it runs.
pub(crate) fn read(
    path: Option<&Path>,
    target: &str,
    suites: &[&str],
    any_target: bool,
) -> Result<Option<Report>, String> {
    let Some(path) = path else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the baseline {}: {e}", path.display()))?;
    let baseline = Report::from_json(&text)
        .map_err(|e| format!("{} is not a pulsecheck JSON report: {e}", path.display()))?;
    if !any_target && let Some(why) = baseline.mismatch(target, suites) {
        return Err(format!(
            "the baseline {} does not fit this run: {why}; pass --baseline-any-target to compare anyway",
            path.display()
        ));
    }
    Ok(Some(baseline))
}

/// The exit code of a finished run: with a baseline, 1 on any regression (the
/// comparison goes to stderr); without, 1 when the report failed. A run that was
/// stopped early (Ctrl-C, the deadline) is 1 either way.
pub(crate) fn exit_code(baseline: Option<&Report>, report: &Report, stopped: bool) -> u8 {
    match baseline {
        Some(baseline) => {
            let comparison = Comparison::new(baseline, report);
            eprint!("{}", comparison.to_human());
            u8::from(comparison.has_regressions() || stopped)
        }
        None => u8::from(report.failed() || stopped),
    }
}
