//! Where the commands' output goes: the report file of `probe -o FILE`, opened
//! before the run starts, and stdout, where a reader that went away (`| head -1`)
//! ends the output quietly instead of a panic.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::ValueEnum;
use pulsecheck::report::Report;

/// The file `-o FILE` names, opened before the probe runs so that a path that
/// cannot be written is refused at once, not after a long probe whose report would
/// then be lost. An existing file keeps its content until the report replaces it;
/// a file created here and never written (the run stopped with a usage error) is
/// removed again.
#[derive(Debug)]
pub(crate) struct ReportFile {
    path: PathBuf,
    file: Option<File>,
    created: bool,
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
            file: Some(file),
            created: !existed,
        })
    }

    /// Replaces the file's content with `text`.
    pub(crate) fn write(mut self, text: &str) -> Result<(), String> {
        let Some(mut file) = self.file.take() else {
            return Ok(());
        };
        file.set_len(0)
            .and_then(|()| file.write_all(text.as_bytes()))
            .and_then(|()| file.flush())
            .map_err(|e| cannot_write(&self.path, &e))
    }
}

impl Drop for ReportFile {
    fn drop(&mut self) {
        if self.file.take().is_some() && self.created {
            let _ = std::fs::remove_file(&self.path);
        }
    }
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
    /// `{agent: {case: {behavior, behaviorClose, remoteCloseCode, duration}}}`.
    Autobahn,
}

/// The report as text in `format`; `agent` names the implementation under test
/// in Autobahn's `index.json`.
pub(crate) fn render(report: &Report, format: Format, agent: &str) -> String {
    match format {
        Format::Human => report.to_human(),
        Format::Json => report.to_json(),
        Format::Junit => report.to_junit(),
        Format::Autobahn => report.to_autobahn_index(agent),
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
    use super::*;

    fn temp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("pulsecheck-output-{}-{name}", std::process::id()))
    }

    #[test]
    fn a_report_file_is_checked_before_and_written_after() {
        let path = temp("new.json");
        let file = ReportFile::open(&path).unwrap();
        assert!(path.exists(), "opened before the run");
        file.write("report\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "report\n");

        // An existing file keeps its content until the new report replaces it.
        std::fs::write(&path, "an old, longer report\n").unwrap();
        let file = ReportFile::open(&path).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "an old, longer report\n"
        );
        file.write("new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
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
}
