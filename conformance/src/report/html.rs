//! The HTML report: one self-contained page (inline CSS and a few lines of
//! script, nothing fetched, so it opens from `file://` and from a CI artefact)
//! for a person to read.
//!
//! - A header: the target, when the report was written, how long the run took,
//!   the verdict counts, and whether the run failed.
//! - A matrix: one row per group of checks — the ID up to its last `/`
//!   (`ws/handshake`), or an Autobahn case number up to its last `.` (`6.4`) —
//!   with the count of each verdict and one coloured link per check.
//! - The checks, group by group: a pass on one line; every other verdict a
//!   `<details>` that opens to the title, requirement, source, expected, actual,
//!   Autobahn's grades (for its cases), facts and the transcript, shown as the
//!   human report shows it.
//! - Check boxes that hide the checks of a verdict (the page works without
//!   script; it then shows everything).
//!
//! Everything the report holds is escaped, so bytes a hostile server sent (which
//! end up in messages and transcripts) are shown, never run. The page holds each
//! piece of the report once; a report is bounded ([`crate::budget`]), and the page
//! is within a small factor of it (escaping `<` takes four bytes).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::check::Verdict;

use super::autobahn::autobahn_number;
use super::{CheckResult, Report, left_out, transcript_line};

/// The verdicts in the order the matrix shows them: the ones that need a look
/// first.
const VERDICTS: [Verdict; 6] = [
    Verdict::Fail,
    Verdict::Error,
    Verdict::Warn,
    Verdict::Info,
    Verdict::Skipped,
    Verdict::Pass,
];

impl Report {
    /// The HTML report; `written` is the time it shows as when the report was
    /// written (in UTC).
    pub fn to_html(&self, written: SystemTime) -> String {
        let groups = groups(&self.checks);
        let mut out = String::with_capacity(8192 + self.checks.len() * 512);
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>pulsecheck: {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
            html(&self.target)
        );
        self.write_header(&mut out, written);
        write_matrix(&mut out, &groups);
        out.push_str("<main>\n");
        for (n, group) in groups.iter().enumerate() {
            let _ = writeln!(
                out,
                "<section class=\"group\" id=\"g-{n}\">\n<h2>{}{}</h2>",
                html(&group.name),
                html(&group.subtitle())
            );
            for check in &group.checks {
                write_check(&mut out, check);
            }
            out.push_str("</section>\n");
        }
        let _ = write!(
            out,
            "</main>\n<script>{SCRIPT}</script>\n</body>\n</html>\n"
        );
        out
    }

    /// The header: what ran against what, when, how long, the counts, the verdict
    /// of the run, and the filters.
    fn write_header(&self, out: &mut String, written: SystemTime) {
        let failing = self
            .checks
            .iter()
            .filter(|c| c.verdict.fails_run(self.strict))
            .count();
        let verdict = match failing {
            0 => "PASSED: no check fails the run (exit status 0)".to_owned(),
            1 => "FAILED: 1 check fails the run (exit status 1)".to_owned(),
            n => format!("FAILED: {n} checks fail the run (exit status 1)"),
        };
        let warnings = if self.strict {
            "--strict: a SHOULD not met fails the run"
        } else {
            "a SHOULD not met is a warning (it fails the run only under --strict)"
        };
        let _ = write!(
            out,
            "<header>\n<h1>pulsecheck report</h1>\n\
             <p class=\"run {}\">{}</p>\n<dl class=\"run\">\n\
             <dt>Target</dt><dd>{}</dd>\n<dt>Written</dt><dd>{}</dd>\n\
             <dt>Duration</dt><dd>{:.1} s</dd>\n<dt>Warnings</dt><dd>{}</dd>\n\
             <dt>Tool</dt><dd>{}</dd>\n</dl>\n<p class=\"summary\">{}</p>\n",
            if failing == 0 { "passed" } else { "failed" },
            html(&verdict),
            html(&self.target),
            utc(written),
            self.duration_ms as f64 / 1000.0,
            html(warnings),
            html(&self.tool),
            html(&self.summary_line())
        );
        out.push_str("<form id=\"filters\">Show:");
        for verdict in VERDICTS {
            let count = self.checks.iter().filter(|c| c.verdict == verdict).count();
            let _ = write!(
                out,
                " <label class=\"badge v-{verdict}\"><input type=\"checkbox\" data-verdict=\"{verdict}\" checked> {verdict} {count}</label>"
            );
        }
        out.push_str(
            " <button type=\"button\" id=\"expand\">open all</button> \
             <button type=\"button\" id=\"collapse\">close all</button></form>\n</header>\n",
        );
    }
}

/// Checks that share a group.
struct Group<'a> {
    /// `ws/handshake`, or `6.4` for Autobahn cases.
    name: String,
    /// Whether the group holds Autobahn cases (named by number).
    autobahn: bool,
    /// Its checks, Autobahn cases in Autobahn's order, others in ID order.
    checks: Vec<&'a CheckResult>,
}

impl Group<'_> {
    /// What an Autobahn group's checks are, by ID (` · ws/utf8`); nothing for
    /// the others, whose name says it.
    fn subtitle(&self) -> String {
        if !self.autobahn {
            return String::new();
        }
        let mut prefixes: Vec<&str> = self.checks.iter().map(|c| id_group(&c.id)).collect();
        prefixes.dedup();
        format!(" · {}", prefixes.join(", "))
    }

    /// The verdict of the group's checks that needs a look first.
    fn worst(&self) -> Verdict {
        VERDICTS
            .into_iter()
            .find(|v| self.checks.iter().any(|c| c.verdict == *v))
            .unwrap_or(Verdict::Pass)
    }
}

/// The group of a check: its Autobahn number up to the last `.` (`6.4` for
/// `6.4.3`, `2` for `2.1`), else its ID up to the last `/`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum GroupKey {
    /// A group of the checks' own IDs.
    Id(String),
    /// A group of Autobahn cases.
    Autobahn(Vec<u32>),
}

/// The check's Autobahn case number's parts, if it is one.
fn case_number(check: &CheckResult) -> Option<Vec<u32>> {
    check.aliases.iter().find_map(|a| autobahn_number(a))
}

/// An ID up to its last `/` (`ws/handshake` for `ws/handshake/accept`).
fn id_group(id: &str) -> &str {
    id.rsplit_once('/').map_or(id, |(group, _)| group)
}

/// The report's checks by group: groups of IDs first (in ID order), then the
/// Autobahn groups in Autobahn's order.
fn groups(checks: &[CheckResult]) -> Vec<Group<'_>> {
    let mut by_key: BTreeMap<GroupKey, Vec<&CheckResult>> = BTreeMap::new();
    for check in checks {
        let key = match case_number(check) {
            Some(parts) => GroupKey::Autobahn(parts[..parts.len() - 1].to_vec()),
            None => GroupKey::Id(id_group(&check.id).to_owned()),
        };
        by_key.entry(key).or_default().push(check);
    }
    by_key
        .into_iter()
        .map(|(key, mut checks)| {
            // Cases by number; checks keep their ID order (a stable sort).
            checks.sort_by_cached_key(|c| case_number(c));
            let (name, autobahn) = match key {
                GroupKey::Id(name) => (name, false),
                GroupKey::Autobahn(parts) => (dotted(&parts), true),
            };
            Group {
                name,
                autobahn,
                checks,
            }
        })
        .collect()
}

/// `6.4` for `[6, 4]`.
fn dotted(parts: &[u32]) -> String {
    let parts: Vec<String> = parts.iter().map(u32::to_string).collect();
    parts.join(".")
}

/// The matrix: a row per group, a column per verdict, and a link per check.
fn write_matrix(out: &mut String, groups: &[Group<'_>]) {
    out.push_str("<table class=\"matrix\">\n<thead><tr><th>group</th>");
    for verdict in VERDICTS {
        let _ = write!(out, "<th class=\"v-{verdict}\">{verdict}</th>");
    }
    out.push_str("<th>checks</th></tr></thead>\n<tbody>\n");
    for (n, group) in groups.iter().enumerate() {
        let _ = write!(
            out,
            "<tr class=\"v-{}\"><th><a href=\"#g-{n}\">{}</a></th>",
            group.worst(),
            html(&group.name)
        );
        for verdict in VERDICTS {
            match group.checks.iter().filter(|c| c.verdict == verdict).count() {
                0 => out.push_str("<td></td>"),
                count => {
                    let _ = write!(out, "<td class=\"v-{verdict}\">{count}</td>");
                }
            }
        }
        out.push_str("<td class=\"chips\">");
        for check in &group.checks {
            // A case by the last part of its number, a check by the last of its ID.
            let short = match case_number(check) {
                Some(parts) => parts.last().map(u32::to_string).unwrap_or_default(),
                None => check.id.rsplit('/').next().unwrap_or_default().to_owned(),
            };
            let _ = write!(
                out,
                "<a class=\"chip v-{}\" href=\"#c-{}\" title=\"{}: {}\">{}</a>",
                check.verdict,
                html(&check.id),
                html(&name_of(check)),
                check.verdict,
                html(&short)
            );
        }
        out.push_str("</td></tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

/// A check's name for people: its ID, and its aliases after it.
fn name_of(check: &CheckResult) -> String {
    if check.aliases.is_empty() {
        check.id.clone()
    } else {
        format!("{} [{}]", check.id, check.aliases.join(", "))
    }
}

/// One check: a line for a pass, a `<details>` for everything else.
fn write_check(out: &mut String, check: &CheckResult) {
    let line = format!(
        "<span class=\"badge v-{}\">{}</span> <span class=\"level\">{}</span> <code>{}</code> {}",
        check.verdict,
        check.verdict.to_string().to_uppercase(),
        check.level,
        html(&name_of(check)),
        html(&check.message)
    );
    if check.verdict == Verdict::Pass {
        let _ = writeln!(
            out,
            "<div class=\"check v-pass\" id=\"c-{}\">{line}</div>",
            html(&check.id)
        );
        return;
    }
    let _ = write!(
        out,
        "<details class=\"check v-{}\" id=\"c-{}\">\n<summary>{line}</summary>\n<dl>\n",
        check.verdict,
        html(&check.id)
    );
    let mut row = |term: &str, text: &str| {
        let _ = writeln!(out, "<dt>{term}</dt><dd>{}</dd>", html(text));
    };
    row("Title", &check.title);
    row("Requirement", &check.requirement);
    row("Source", &check.source);
    if let Some(evidence) = &check.evidence {
        row("Expected", &evidence.expected);
        row("Actual", &evidence.actual);
    }
    if let Some(grades) = &check.grades {
        let code = grades
            .remote_close_code
            .map_or("none".to_owned(), |c| c.to_string());
        row(
            "Grades",
            &format!(
                "behavior: {}, behaviorClose: {}, remoteCloseCode: {code}",
                grades.behavior, grades.behavior_close
            ),
        );
    }
    if !check.facts.is_empty() {
        let facts: Vec<String> = check
            .facts
            .iter()
            .map(|(name, value)| match value {
                serde_json::Value::String(s) => format!("{name}: {s}"),
                other => format!("{name}: {other}"),
            })
            .collect();
        row("Facts", &facts.join(", "));
    }
    row("Took", &format!("{} ms", check.duration_ms));
    out.push_str("</dl>\n");
    if let Some(evidence) = &check.evidence {
        let transcript = &evidence.transcript;
        if !transcript.entries.is_empty() || left_out(transcript).is_some() {
            out.push_str("<pre class=\"transcript\">");
            for entry in &transcript.entries {
                let _ = writeln!(out, "{}", html(&transcript_line(entry)));
            }
            if let Some(left_out) = left_out(transcript) {
                let _ = writeln!(out, "          … {} not shown", html(&left_out));
            }
            out.push_str("</pre>\n");
        }
    }
    out.push_str("</details>\n");
}

/// Escapes text for HTML content and quoted attribute values.
fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `2026-01-02 03:04:05 UTC`.
fn utc(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (year, month, day) = civil_from_days(secs / 86_400);
    let rem = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// The date `days` after 1970-01-01, in the proleptic Gregorian calendar (the
/// inverse of the usual days-from-civil count, by 400-year eras).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // Months counted from March, so that February's leap day comes last.
    let march_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * march_month + 2) / 5 + 1;
    let month = if march_month < 10 {
        march_month + 3
    } else {
        march_month - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// The page's style: a colour per verdict, and the rules the filters use.
const CSS: &str = "
:root{--pass:#1b6e35;--pass-bg:#dcf1e2;--fail:#b3261e;--fail-bg:#fadcd9;--error:#7a1fa0;--error-bg:#f0ddf6;
--warn:#8a5a00;--warn-bg:#fff0c2;--info:#0b57a4;--info-bg:#dbe9f9;--skipped:#55595e;--skipped-bg:#e9eaec}
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#1d1d1f;margin:0 auto;max-width:1280px;padding:1em 1.5em}
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.1em;margin:1.4em 0 .4em;border-bottom:1px solid #ddd}
dl.run{display:grid;grid-template-columns:max-content 1fr;gap:.1em 1em;margin:.5em 0}dl.run dt{font-weight:600}dl.run dd{margin:0}
p.run{font-weight:700;font-size:1.15em;padding:.3em .6em;border-radius:4px;display:inline-block;margin:.3em 0}
p.run.passed{background:var(--pass-bg);color:var(--pass)}p.run.failed{background:var(--fail-bg);color:var(--fail)}
.v-pass{--c:var(--pass);--bg:var(--pass-bg)}.v-fail{--c:var(--fail);--bg:var(--fail-bg)}.v-error{--c:var(--error);--bg:var(--error-bg)}
.v-warn{--c:var(--warn);--bg:var(--warn-bg)}.v-info{--c:var(--info);--bg:var(--info-bg)}.v-skipped{--c:var(--skipped);--bg:var(--skipped-bg)}
.badge,.chip{background:var(--bg);color:var(--c);border:1px solid var(--c);border-radius:3px;padding:0 .35em;font-weight:600;white-space:nowrap}
.chip{display:inline-block;margin:1px;font-size:.8em;text-decoration:none;min-width:1.2em;text-align:center}
#filters{margin:.6em 0}#filters label{cursor:pointer;margin-right:.2em}
table.matrix{border-collapse:collapse;width:100%;margin:1em 0}
.matrix th,.matrix td{border:1px solid #ddd;padding:.2em .4em;text-align:center;vertical-align:top}
.matrix tbody th{text-align:left;white-space:nowrap;border-left:4px solid var(--c)}
.matrix td.chips{text-align:left}.matrix td[class^=v-]{background:var(--bg);color:var(--c);font-weight:600}
.check{margin:.15em 0}details.check{border-left:4px solid var(--c);padding-left:.5em}summary{cursor:pointer}
.level{color:#666;font-size:.85em}code{font-size:.95em}
details dl{display:grid;grid-template-columns:max-content 1fr;gap:.1em 1em;margin:.4em 0 .4em 1em}details dt{font-weight:600}details dd{margin:0}
pre.transcript{background:#f5f6f8;border:1px solid #e1e3e6;padding:.5em;margin:.3em 0 .8em 1em;white-space:pre-wrap;word-break:break-all;font-size:.85em}
body.hide-pass .v-pass.check,body.hide-pass .chip.v-pass,body.hide-fail .v-fail.check,body.hide-fail .chip.v-fail,
body.hide-error .v-error.check,body.hide-error .chip.v-error,body.hide-warn .v-warn.check,body.hide-warn .chip.v-warn,
body.hide-info .v-info.check,body.hide-info .chip.v-info,body.hide-skipped .v-skipped.check,body.hide-skipped .chip.v-skipped{display:none}
";

/// The page's script: the verdict filters, opening a check the address names,
/// and opening or closing every shown check.
const SCRIPT: &str = "
(function () {
  var body = document.body;
  document.querySelectorAll('#filters input[data-verdict]').forEach(function (box) {
    function apply() { body.classList.toggle('hide-' + box.getAttribute('data-verdict'), !box.checked); }
    box.addEventListener('change', apply);
    apply();
  });
  function openNamed() {
    var target = document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (target && target.tagName === 'DETAILS') { target.open = true; }
  }
  window.addEventListener('hashchange', openNamed);
  openNamed();
  function setAll(open) {
    document.querySelectorAll('details.check').forEach(function (d) {
      if (d.offsetParent !== null) { d.open = open; }
    });
  }
  document.getElementById('expand').addEventListener('click', function () { setAll(true); });
  document.getElementById('collapse').addEventListener('click', function () { setAll(false); });
})();
";

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::testing::{report, ws_report};
    use super::*;
    use crate::check::{Direction, Evidence, Transcript};

    /// 2026-01-02 03:04:05 UTC.
    fn written() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_767_323_045)
    }

    #[test]
    fn dates_are_utc_calendar_dates() {
        assert_eq!(utc(UNIX_EPOCH), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(written()), "2026-01-02 03:04:05 UTC");
        // A leap day, and the last second of a century year that is no leap year.
        assert_eq!(
            utc(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29 00:00:00 UTC"
        );
        assert_eq!(
            utc(UNIX_EPOCH + Duration::from_secs(4_107_542_399)),
            "2100-02-28 23:59:59 UTC"
        );
        assert_eq!(
            utc(UNIX_EPOCH + Duration::from_secs(4_107_542_400)),
            "2100-03-01 00:00:00 UTC"
        );
    }

    #[test]
    fn a_hostile_servers_bytes_are_shown_not_run() {
        let page = ws_report().to_html(written());
        // The transcript, the expected text and the note, escaped.
        assert!(
            page.contains("     2 ms &lt; \\x81\\x19&lt;script&gt;alert(1)&lt;/script&gt;\n"),
            "{page}"
        );
        assert!(page.contains("OK: text of 125 bytes &#39;hello &lt;b&gt;&#39;"));
        assert!(page.contains("# the server closed TCP &amp; left"));
        assert!(page.contains("a Close 1007 &quot;at the end&quot;"));
        // The page's only script is its own.
        assert_eq!(page.matches("<script").count(), 1);
        assert!(!page.contains("<b>"));

        // Markup in every field a report carries, the target and ID included.
        let mut hostile = ws_report();
        hostile.target = "ws://x/\"><script>t()</script>".into();
        for check in &mut hostile.checks {
            check.message = "<img src=x onerror=m()>".into();
            check.requirement = "</dd><script>r()</script>".into();
            check.title = "<svg onload=t()>".into();
            check.aliases.push("'\"><i>".into());
            check
                .facts
                .insert("x".into(), "<script>f()</script>".into());
            if let Some(e) = &mut check.evidence {
                e.actual = "<iframe src=a>".into();
            }
        }
        hostile.checks[0].id = "ws/x/\"><script>i()</script>".into();
        let page = hostile.to_html(written());
        assert_eq!(page.matches("<script").count(), 1, "{page}");
        for tag in ["<img", "<svg", "<iframe", "<i>"] {
            assert!(!page.contains(tag), "{tag} in {page}");
        }
    }

    #[test]
    fn the_header_gives_target_date_duration_counts_and_verdict() {
        let page = ws_report().to_html(written());
        assert!(page.contains("<title>pulsecheck: ws://127.0.0.1:9001/</title>"));
        assert!(page.contains("<dt>Written</dt><dd>2026-01-02 03:04:05 UTC</dd>"));
        assert!(page.contains("<dt>Duration</dt><dd>1.2 s</dd>"));
        assert!(
            page.contains(
                "<p class=\"run failed\">FAILED: 2 checks fail the run (exit status 1)</p>"
            )
        );
        assert!(page.contains("data-verdict=\"warn\" checked> warn 1</label>"));
        assert!(page.contains("data-verdict=\"pass\" checked> pass 3</label>"));
        let clean = report(Verdict::Pass, Verdict::Warn, false).to_html(written());
        assert!(clean.contains("PASSED: no check fails the run (exit status 0)"));
        let strict = report(Verdict::Pass, Verdict::Warn, true).to_html(written());
        assert!(strict.contains("FAILED: 1 check fails the run"));
    }

    #[test]
    fn the_matrix_groups_ids_by_prefix_and_cases_by_number() {
        let names: Vec<String> = groups(&ws_report().checks)
            .into_iter()
            .map(|g| format!("{} {}", g.name, g.worst()))
            .collect();
        assert_eq!(
            names,
            [
                "ws/handshake pass",
                "1.1 fail",
                "2 error",
                "6.4 warn",
                "7.13 info",
                "9.1 skipped",
                "10.1 pass"
            ]
        );
        let page = ws_report().to_html(written());
        assert!(page.contains(
            "<tr class=\"v-fail\"><th><a href=\"#g-1\">1.1</a></th><td class=\"v-fail\">1</td>"
        ));
        assert!(page.contains(
            "<a class=\"chip v-fail\" href=\"#c-ws/framing/text-125-bytes\" title=\"ws/framing/text-125-bytes [1.1.2]: fail\">2</a>"
        ));
        assert!(page.contains("<h2>6.4 · ws/utf8</h2>"));
    }

    #[test]
    fn a_pass_is_one_line_and_every_other_verdict_opens_to_its_evidence() {
        let page = ws_report().to_html(written());
        assert_eq!(page.matches("<details class=\"check").count(), 5);
        assert_eq!(page.matches("<div class=\"check v-pass\"").count(), 3);
        let warn = page
            .split("<details class=\"check v-warn\"")
            .nth(1)
            .and_then(|rest| rest.split("</details>").next())
            .unwrap();
        for row in [
            "<dt>Requirement</dt><dd>A data message is echoed unchanged; the probe&#39;s Close 1000 is answered.</dd>",
            "<dt>Source</dt><dd>RFC 6455 §5.2</dd>",
            "<dt>Expected</dt><dd>OK: a Close 1007 at the invalid byte; NON-STRICT: at the message&#39;s end</dd>",
            "<dt>Grades</dt><dd>behavior: NON-STRICT, behaviorClose: OK, remoteCloseCode: 1007</dd>",
            "<dt>Facts</dt><dd>duration_ms: 1003</dd>",
        ] {
            assert!(warn.contains(row), "{row} in {warn}");
        }
        // A case with no close code says so; a check with no grades has no row.
        assert!(page.contains(
            "<dt>Grades</dt><dd>behavior: UNIMPLEMENTED, behaviorClose: UNIMPLEMENTED, remoteCloseCode: none</dd>"
        ));
        assert_eq!(page.matches("<dt>Grades</dt>").count(), 4);
    }

    #[test]
    fn what_a_transcript_left_out_is_said() {
        let mut report = report(Verdict::Fail, Verdict::Pass, false);
        let evidence = report.checks[0].evidence.as_mut().unwrap();
        evidence.transcript.omitted_bytes = 812;
        evidence.transcript.omitted_entries = 3;
        let page = report.to_html(written());
        assert!(page.contains("          … 812 more bytes and 3 more entries not shown\n"));
    }

    #[test]
    fn the_page_stays_within_a_small_factor_of_the_bounded_report() {
        // Every check at its bounds, with bytes that escaping lengthens most.
        let mut report = ws_report();
        for check in &mut report.checks {
            let mut transcript = Transcript::default();
            for i in 0..Transcript::MAX_ENTRIES as u64 {
                transcript.bytes(Duration::from_millis(i), Direction::Received, &[b'<'; 512]);
                transcript.note(Duration::from_millis(i), "<".repeat(300));
            }
            check.verdict = Verdict::Fail;
            check.evidence = Some(Evidence {
                expected: "&".repeat(crate::budget::MAX_EXPECTED_BYTES),
                actual: "&".repeat(crate::budget::MAX_ACTUAL_BYTES),
                transcript,
            });
        }
        let json = report.to_json().len();
        let page = report.to_html(written()).len();
        assert!(page < 6 * json, "{page} bytes of HTML for {json} of JSON");
        let per_check = (page - CSS.len() - SCRIPT.len()) / report.checks.len();
        let bound = 5
            * (Transcript::MAX_BYTES
                + Transcript::MAX_NOTES_BYTES
                + crate::budget::MAX_EXPECTED_BYTES
                + crate::budget::MAX_ACTUAL_BYTES)
            + 4096;
        assert!(per_check < bound, "{per_check} bytes per check");
    }

    #[test]
    fn a_small_report_renders_as_its_snapshot() {
        // Not the crate's version: the snapshot must not change with each release.
        let mut report = ws_report();
        report.tool = "pulsecheck (test)".into();
        insta::with_settings!({
            snapshot_path => "../../../fixtures/reports",
            prepend_module_to_snapshot => false,
            omit_expression => true,
            description => "pulsecheck's HTML report of a small fixed WebSocket report \
                            (conformance/src/report/testing.rs, ws_report)",
        }, {
            insta::assert_snapshot!("report.html", report.to_html(written()));
        });
    }
}
