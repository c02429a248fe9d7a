//! The JUnit XML report, for CI test views.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::check::{Verdict, suite_and_area};

use super::{CheckResult, Report, left_out, transcript_line};

impl Report {
    /// The JUnit XML report: one `testsuite` per suite, one `testcase` per check
    /// (class name = area); fail → `failure`, error → `error`, skipped → `skipped`,
    /// warn → passed with the warning in `system-out` unless `--strict`.
    pub fn to_junit(&self) -> String {
        let mut suites: BTreeMap<&str, Vec<&CheckResult>> = BTreeMap::new();
        for c in &self.checks {
            suites
                .entry(c.id.split('/').next().unwrap_or(""))
                .or_default()
                .push(c);
        }
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            out,
            "<testsuites name=\"pulsecheck\" tests=\"{}\" time=\"{:.3}\">",
            self.checks.len(),
            self.duration_ms as f64 / 1000.0
        );
        for (suite, checks) in suites {
            let count = |f: &dyn Fn(&CheckResult) -> bool| checks.iter().filter(|c| f(c)).count();
            let failures =
                count(&|c| c.verdict.fails_run(self.strict) && c.verdict != Verdict::Error);
            let errors = count(&|c| c.verdict == Verdict::Error);
            let skipped = count(&|c| c.verdict == Verdict::Skipped);
            let _ = writeln!(
                out,
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\">",
                xml(suite),
                checks.len()
            );
            for c in checks {
                let area = suite_and_area(&c.id).1;
                let _ = write!(
                    out,
                    "    <testcase classname=\"{}.{}\" name=\"{}\" time=\"{:.3}\"",
                    xml(suite),
                    xml(area),
                    xml(&c.id),
                    c.duration_ms as f64 / 1000.0
                );
                let detail = || {
                    let mut d = format!("Requirement: {} ({})\n", c.requirement, c.source);
                    if let Some(e) = &c.evidence {
                        let _ = writeln!(d, "Expected: {}\nActual: {}", e.expected, e.actual);
                        for entry in &e.transcript.entries {
                            let _ = writeln!(d, "{}", transcript_line(entry));
                        }
                        if let Some(left_out) = left_out(&e.transcript) {
                            let _ = writeln!(d, "… {left_out} not shown");
                        }
                    }
                    d
                };
                let tag = match c.verdict {
                    Verdict::Error => Some("error"),
                    v if v.fails_run(self.strict) => Some("failure"),
                    Verdict::Skipped => Some("skipped"),
                    _ => None,
                };
                match tag {
                    Some("skipped") => {
                        let _ = writeln!(
                            out,
                            ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                            xml(&c.message)
                        );
                    }
                    Some(tag) => {
                        let _ = writeln!(
                            out,
                            ">\n      <{tag} message=\"{}\">{}</{tag}>\n    </testcase>",
                            xml(&c.message),
                            xml(&detail())
                        );
                    }
                    None if c.verdict == Verdict::Pass => {
                        let _ = writeln!(out, "/>");
                    }
                    None => {
                        let _ = writeln!(
                            out,
                            ">\n      <system-out>{}: {}\n{}</system-out>\n    </testcase>",
                            c.verdict,
                            xml(&c.message),
                            xml(&detail())
                        );
                    }
                }
            }
            let _ = writeln!(out, "  </testsuite>");
        }
        out.push_str("</testsuites>\n");
        out
    }
}

/// Escapes text for XML attributes and content; writes the characters XML 1.0
/// forbids as `\u{..}`.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testing::report;
    use crate::check::Verdict;

    #[test]
    fn junit_marks_failures_and_escapes_text() {
        let xml = report(Verdict::Fail, Verdict::Warn, false).to_junit();
        assert!(xml.contains(
            "<testsuite name=\"sse\" tests=\"2\" failures=\"1\" errors=\"0\" skipped=\"0\">"
        ));
        assert!(xml.contains("<failure message=\"found fail\">"));
        assert!(xml.contains("&lt;&amp;&gt;"));
        assert!(xml.contains("<system-out>warn: found warn"));
        assert!(xml.contains("3 ms &lt; &lt;&amp;&gt;"), "{xml}");
        let strict = report(Verdict::Pass, Verdict::Warn, true).to_junit();
        assert!(strict.contains("failures=\"1\""));
    }
}
