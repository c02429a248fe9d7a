//! Where the commands' output goes: a run's report, in the format asked for, to
//! the file of `-o FILE` or the directory of `--outdir DIR` (both opened before
//! the run starts) or to stdout, where a reader that went away (`| head -1`)
//! ends the output quietly instead of a panic. Every command that runs checks
//! (`probe`, `host ws`) writes its report through [`write_report`].

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use clap::ValueEnum;
use pulsecheck::report::{Report, autobahn_reports};
use pulsecheck_ws::Role;

/// The file `-o FILE` names, opened before the run so that a path that cannot
/// be written is refused at once, not after a long run whose report would then
/// be lost. An existing file keeps its content until the report replaces it; a
/// file created here and never written (the run stopped with a usage error) is
/// removed again. It can be written more than once (`host ws` writes its report
/// at each `/updateReports`); each write replaces the last.
#[derive(Debug)]
pub(crate) struct ReportFile {
    path: PathBuf,
    file: File,
    created: bool,
    written: bool,
}

impl ReportFile {
    /// Opens (or creates) `path` for writing, without truncating it yet.
    pub(crate) fn open(path: &Path) -> Result<Self, String> {
        let existed = path.symlink_metadata().is_ok();
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| cannot_write(path, &e))?;
        Ok(ReportFile {
            path: path.to_path_buf(),
            file,
            created: !existed,
            written: false,
        })
    }

    /// Replaces the file's content with `text`.
    pub(crate) fn write(&mut self, text: &str) -> Result<(), String> {
        self.written = true;
        let file = &mut self.file;
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(text.as_bytes()))
            .and_then(|()| file.flush())
            .map_err(|e| cannot_write(&self.path, &e))
    }
}

impl Drop for ReportFile {
    fn drop(&mut self) {
        if self.created && !self.written {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The directory `--outdir DIR` names, where Autobahn|Testsuite's report files
/// go: its `index.json`, one `<agent>_case_<1_1_1>.json` per case, and
/// `index.html` (the HTML report). Created and checked before the run (by
/// opening its `index.json`); directories created here and never written to are
/// removed again. Files of earlier runs that this run does not replace (cases it
/// did not run) stay, as they do in Autobahn's directory.
#[derive(Debug)]
pub(crate) struct ReportDir {
    path: PathBuf,
    index: Option<ReportFile>,
    /// The directories this created, deepest first.
    created: Vec<PathBuf>,
    written: bool,
}

impl ReportDir {
    /// Creates `path` (and its missing parents) and opens its `index.json`.
    pub(crate) fn open(path: &Path) -> Result<Self, String> {
        let created: Vec<PathBuf> = path
            .ancestors()
            .filter(|dir| !dir.as_os_str().is_empty())
            .take_while(|dir| dir.symlink_metadata().is_err())
            .map(Path::to_path_buf)
            .collect();
        let mut dir = ReportDir {
            path: path.to_path_buf(),
            index: None,
            created,
            written: false,
        };
        std::fs::create_dir_all(path).map_err(|e| dir.cannot_write(&e))?;
        dir.index = Some(ReportFile::open(&path.join("index.json"))?);
        Ok(dir)
    }

    /// Writes Autobahn's files of every agent's run (`harness`: the role
    /// pulsecheck played) and the HTML report; returns how many case files it
    /// wrote. `index.json` comes last, so that it never names a file not yet
    /// written.
    fn write(&mut self, runs: &[(&str, &Report)], harness: Role) -> Result<usize, String> {
        self.written = true;
        let files = autobahn_reports(runs, harness);
        for (name, text) in &files.cases {
            std::fs::write(self.path.join(name), text).map_err(|e| self.cannot_write(&e))?;
        }
        std::fs::write(
            self.path.join("index.html"),
            one_report(runs).to_html(SystemTime::now()),
        )
        .map_err(|e| self.cannot_write(&e))?;
        if let Some(index) = &mut self.index {
            index.write(&files.index)?;
        }
        Ok(files.cases.len())
    }

    fn cannot_write(&self, e: &io::Error) -> String {
        format!("cannot write the reports into {}: {e}", self.path.display())
    }
}

impl Drop for ReportDir {
    fn drop(&mut self) {
        if self.written {
            return;
        }
        // The index first (it removes itself when it created the file), then the
        // directories, each only if empty.
        drop(self.index.take());
        for dir in &self.created {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// Where a run's report goes: the file of `-o FILE`, the directory of `--outdir
/// DIR`, or stdout. Opened before the run, so that a report that cannot be
/// written does not cost a run.
#[derive(Debug)]
pub(crate) enum Destination {
    /// Stdout.
    Stdout,
    /// `-o FILE`.
    File(ReportFile),
    /// `--outdir DIR` (with `--format autobahn`).
    Dir(ReportDir),
}

impl Destination {
    /// The destination of `-o` and `--outdir`, opened; refuses both at once, and
    /// `--outdir` with another format than `autobahn` (it holds Autobahn's
    /// files).
    pub(crate) fn open(
        format: Format,
        output: Option<&Path>,
        outdir: Option<&Path>,
    ) -> Result<Self, String> {
        match (output, outdir) {
            (None, None) => Ok(Destination::Stdout),
            (Some(file), None) => ReportFile::open(file).map(Destination::File),
            (Some(_), Some(_)) => Err(
                "-o FILE and --outdir DIR are both given: --outdir writes index.json, index.html and a file per case; leave out -o".to_owned(),
            ),
            (None, Some(dir)) if format == Format::Autobahn => {
                ReportDir::open(dir).map(Destination::Dir)
            }
            (None, Some(_)) => Err(format!(
                "--outdir DIR holds Autobahn|Testsuite's report files and goes with --format autobahn (not {}); write one {} report with -o FILE",
                format.name(),
                format.name()
            )),
        }
    }
}

/// Writes `report` in `format` to `destination` ([`write_reports`] for one
/// run).
pub(crate) fn write_report(
    report: &Report,
    format: Format,
    agent: &str,
    harness: Role,
    destination: &mut Destination,
) -> Result<(), String> {
    write_reports(&[(agent, report)], format, harness, destination)
}

/// Writes the reports of several runs (an agent's name and its report each) in
/// `format` to `destination`. `harness` is the role pulsecheck played
/// (`Role::Client` for `probe`, `Role::Server` for `host ws`: Autobahn's
/// `isServer`). Autobahn's files hold every agent, as Autobahn's do; the other
/// formats give each run in turn (HTML: one page of every run's checks). A
/// report written to a file or directory leaves the summary lines on stderr;
/// one printed to a reader that went away (`| head`) is not an error. A
/// destination can be written again (each write replaces the last).
pub(crate) fn write_reports(
    runs: &[(&str, &Report)],
    format: Format,
    harness: Role,
    destination: &mut Destination,
) -> Result<(), String> {
    let summaries = || {
        for (_, report) in runs {
            eprintln!("{}", report.summary_line());
        }
    };
    match destination {
        Destination::Stdout => {
            print(&render_runs(runs, format, harness))
                .map_err(|e| format!("cannot write the report: {e}"))?;
        }
        Destination::File(file) => {
            file.write(&render_runs(runs, format, harness))?;
            summaries();
        }
        Destination::Dir(dir) => {
            let cases = dir.write(runs, harness)?;
            summaries();
            eprintln!(
                "pulsecheck: wrote index.json, index.html and {cases} case report{} into {}",
                if cases == 1 { "" } else { "s" },
                dir.path.display()
            );
        }
    }
    Ok(())
}

/// Several runs as one text in `format`.
fn render_runs(runs: &[(&str, &Report)], format: Format, harness: Role) -> String {
    match (runs, format) {
        ([(agent, report)], _) => render(report, format, agent),
        (_, Format::Autobahn) => {
            let mut index = autobahn_reports(runs, harness).index;
            index.push('\n');
            index
        }
        (_, Format::Html) => render(&one_report(runs), format, ""),
        _ => runs
            .iter()
            .map(|(agent, report)| render(report, format, agent))
            .collect::<Vec<_>>()
            .join(if format == Format::Human { "\n" } else { "" }),
    }
}

/// Several runs as one report: every run's checks, each ID under its agent's
/// name when there are several (`agent: ws/...`).
fn one_report(runs: &[(&str, &Report)]) -> Report {
    if let [(_, report)] = runs {
        return (*report).clone();
    }
    let target = runs
        .iter()
        .map(|(agent, _)| *agent)
        .collect::<Vec<_>>()
        .join(", ");
    let strict = runs.iter().any(|(_, r)| r.strict);
    let duration = runs.iter().map(|(_, r)| r.duration_ms).max().unwrap_or(0);
    let checks = runs
        .iter()
        .flat_map(|(agent, report)| {
            report.checks.iter().cloned().map(move |mut c| {
                c.id = format!("{agent}: {}", c.id);
                c
            })
        })
        .collect();
    Report::new(&target, strict, checks, duration)
}

fn cannot_write(path: &Path, e: &io::Error) -> String {
    format!("cannot write the report to {}: {e}", path.display())
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Grouped by area, failures with Requirement / Expected / Actual.
    Human,
    /// The JSON report (schema in the `pulsecheck::report` docs).
    Json,
    /// JUnit XML, for CI test views.
    Junit,
    /// Autobahn|Testsuite's `index.json` for the parity cases:
    /// `{agent: {case: {behavior, behaviorClose, duration, remoteCloseCode,
    /// reportfile}}}`; with `--outdir DIR`, also its per-case files and
    /// `index.html`.
    Autobahn,
    /// One self-contained HTML page: a matrix of the checks by group and
    /// verdict, every non-pass expandable to its evidence.
    Html,
}

impl Format {
    /// The format's name on the command line.
    fn name(self) -> String {
        self.to_possible_value()
            .map(|v| v.get_name().to_owned())
            .unwrap_or_default()
    }
}

/// The report as text in `format`; `agent` names the implementation under test
/// in Autobahn's `index.json`; an HTML report says it was written now.
pub(crate) fn render(report: &Report, format: Format, agent: &str) -> String {
    match format {
        Format::Human => report.to_human(),
        Format::Json => report.to_json(),
        Format::Junit => report.to_junit(),
        Format::Autobahn => report.to_autobahn_index(agent),
        Format::Html => report.to_html(SystemTime::now()),
    }
}

/// What became of text written to stdout.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Printed {
    /// All of it was written.
    All,
    /// The reader went away (a closed pipe): the rest is not wanted.
    ReaderGone,
}

/// Writes `text` to stdout. A closed pipe is not an error (`pulsecheck list | head
/// -1` reads what it wants and closes); any other failure is.
pub(crate) fn print(text: &str) -> io::Result<Printed> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(Printed::All),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(Printed::ReaderGone),
        Err(e) => Err(e),
    }
}

/// Writes `text` to stdout and returns `code`, or 2 with a message when stdout
/// cannot be written for another reason than a closed pipe.
pub(crate) fn print_or_exit(text: &str, code: u8) -> u8 {
    match print(text) {
        Ok(_) => code,
        Err(e) => {
            eprintln!("pulsecheck: cannot write output: {e}");
            2
        }
    }
}

#[cfg(test)]
mod tests {
    use pulsecheck::check::{CheckInfo, Level, Outcome, Source};
    use pulsecheck::report::CheckResult;
    use pulsecheck::ws::autobahn::fuzzer::{Behavior, CloseBehavior};
    use pulsecheck::ws::autobahn::grades::Grades;

    use super::*;

    fn temp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("pulsecheck-output-{}-{name}", std::process::id()))
    }

    #[test]
    fn a_report_file_is_checked_before_and_written_after() {
        let path = temp("new.json");
        let mut file = ReportFile::open(&path).unwrap();
        assert!(path.exists(), "opened before the run");
        file.write("report\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "report\n");

        // An existing file keeps its content until the new report replaces it.
        std::fs::write(&path, "an old, longer report\n").unwrap();
        let mut file = ReportFile::open(&path).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "an old, longer report\n"
        );
        file.write("a newer, longer report\n").unwrap();
        // Written again (`host ws` at each /updateReports): replaced, not appended
        // or overlaid.
        file.write("new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
        drop(file);
        assert!(path.exists(), "written: kept");
        // Not removed when it existed before, even if not written.
        drop(ReportFile::open(&path).unwrap());
        assert!(path.exists());
        std::fs::remove_file(&path).unwrap();

        // Created and abandoned: removed.
        drop(ReportFile::open(&path).unwrap());
        assert!(!path.exists());
    }

    #[test]
    fn an_unwritable_path_is_refused_with_its_name() {
        let err = ReportFile::open(Path::new("/nonexistent-dir/x.json")).unwrap_err();
        assert!(
            err.starts_with("cannot write the report to /nonexistent-dir/x.json: "),
            "{err}"
        );
        let dir = std::env::temp_dir();
        assert!(ReportFile::open(&dir).is_err());
    }

    /// A report of one Autobahn case that passed and one of the probe's own
    /// checks that failed.
    fn report() -> Report {
        let case = CheckInfo {
            id: "ws/framing/text-0-bytes",
            aliases: &["1.1.1"],
            title: "A text message of 0 bytes is echoed",
            source: Source::Rfc(6455, "5.2"),
            requirement: "A data message is echoed.",
            level: Level::Must,
        };
        let own = CheckInfo {
            id: "ws/handshake/accept",
            aliases: &[],
            title: "The accept key",
            source: Source::Rfc(6455, "4.2.2"),
            requirement: "Sec-WebSocket-Accept is the key's hash.",
            level: Level::Must,
        };
        let graded = Outcome::pass("behavior OK, close OK")
            .with_grades(Grades::new(Behavior::Ok, CloseBehavior::Ok, Some(1000)))
            .with_fact("duration_ms", 2);
        let failed = Outcome::fail("wrong key <b>", pulsecheck::check::Evidence::default());
        Report::new(
            "ws://127.0.0.1:9/",
            false,
            vec![
                CheckResult::new(&case, graded, 3),
                CheckResult::new(&own, failed, 1),
            ],
            5,
        )
    }

    #[test]
    fn an_outdir_gets_autobahns_files_and_the_html_report() {
        let dir = temp("outdir").join("a/b");
        let mut to = Destination::open(Format::Autobahn, None, Some(&dir)).expect("creatable");
        assert!(dir.join("index.json").exists(), "checked before the run");
        for _ in 0..2 {
            write_report(
                &report(),
                Format::Autobahn,
                "My Agent",
                Role::Client,
                &mut to,
            )
            .unwrap();
        }
        drop(to);
        let index: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("index.json")).unwrap())
                .unwrap();
        assert_eq!(
            index["My Agent"]["1.1.1"]["reportfile"],
            "my_agent_case_1_1_1.json"
        );
        let case: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("my_agent_case_1_1_1.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(case["isServer"], false);
        assert_eq!(case["behavior"], "OK");
        let page = std::fs::read_to_string(dir.join("index.html")).unwrap();
        assert!(page.contains("wrong key &lt;b&gt;"));
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["index.html", "index.json", "my_agent_case_1_1_1.json"]
        );
        std::fs::remove_dir_all(temp("outdir")).unwrap();
    }

    #[test]
    fn an_outdir_never_written_is_removed_again_unless_it_was_there() {
        let top = temp("abandoned");
        drop(ReportDir::open(&top.join("x/y")).unwrap());
        assert!(!top.exists(), "every directory it created is gone");

        std::fs::create_dir_all(&top).unwrap();
        std::fs::write(top.join("index.json"), "{}").unwrap();
        drop(ReportDir::open(&top).unwrap());
        assert_eq!(
            std::fs::read_to_string(top.join("index.json")).unwrap(),
            "{}"
        );
        std::fs::remove_dir_all(&top).unwrap();
    }

    #[test]
    fn an_outdir_goes_with_the_autobahn_format_alone_and_must_be_writable() {
        let dir = temp("refused");
        let err = Destination::open(Format::Html, None, Some(&dir)).unwrap_err();
        assert!(
            err.contains("goes with --format autobahn (not html)"),
            "{err}"
        );
        let err =
            Destination::open(Format::Autobahn, Some(&dir.join("f")), Some(&dir)).unwrap_err();
        assert!(
            err.contains("-o FILE and --outdir DIR are both given"),
            "{err}"
        );
        assert!(!dir.exists(), "nothing created for a refused destination");

        // A directory under a file cannot be made, whoever runs the test.
        let file = temp("a-file");
        std::fs::write(&file, "").unwrap();
        let under = file.join("reports");
        let err = Destination::open(Format::Autobahn, None, Some(&under)).unwrap_err();
        assert!(
            err.starts_with(&format!(
                "cannot write the reports into {}: ",
                under.display()
            )),
            "{err}"
        );
        std::fs::remove_file(&file).unwrap();
    }
}
