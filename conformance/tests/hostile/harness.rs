//! Runs the `pulsecheck` binary as a user would and measures what the run cost:
//! exit code, wall time, peak resident memory (the kernel's accounting of that
//! one child, from `wait4`) and the size of the report it wrote.
//!
//! About the peak: Linux starts a child's `ru_maxrss` at the peak of the process
//! it was spawned from (the `vfork`ed child shares the test's memory until its
//! `exec`), so the figure is the larger of the child's true peak and the test
//! process's own size when it spawned the child. The harness keeps that small:
//! it resets its own peak (`/proc/self/clear_refs`) right before each spawn, and
//! no test holds a large buffer meanwhile (spawns and report scans take turns, and
//! a report is scanned line by line, never held). The figure is thus never below
//! the true peak, and above it only when the child stayed smaller than the test
//! process (a few MiB).
//!
//! `PULSECHECK_HOSTILE_BIN` runs another build instead of the one Cargo built (to
//! measure an older binary against the same servers); `PULSECHECK_HOSTILE_LOG`
//! names a file to which every run appends one tab-separated line (case, peak RSS
//! in KiB, report bytes, exit code, wall seconds).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The memory one run of pulsecheck may use, whatever the peer does.
pub(crate) const MAX_RSS_BYTES: u64 = 64 << 20;

/// The largest report one run may write.
pub(crate) const MAX_REPORT_BYTES: u64 = 16 << 20;

/// Time a run may take past its `--deadline`: starting the process, writing the
/// report, and a loaded 2-core machine.
pub(crate) const GRACE: Duration = Duration::from_millis(2500);

/// The most of one line kept for assertions and messages.
const MAX_LINE: usize = 2048;

/// Held while spawning (so the child's peak starts from a small test process) and
/// while scanning a report (the only sizeable buffer a test holds).
static TURNS: Mutex<()> = Mutex::new(());

/// What one run did and cost.
#[derive(Debug)]
pub(crate) struct Run {
    /// The case, for messages.
    pub(crate) name: String,
    /// The exit code; `None` when a signal ended the process.
    pub(crate) code: Option<i32>,
    /// The signal that ended it, if one did.
    pub(crate) signal: Option<i32>,
    /// From spawning to reaping.
    pub(crate) wall: Duration,
    /// Peak resident set size, in bytes (see the module docs).
    pub(crate) max_rss: u64,
    /// Size of the report written with `-o`.
    pub(crate) report_bytes: u64,
    /// The report's lines that name something the case looks for (each cut at
    /// 2 KiB), then its last 12 lines.
    pub(crate) found: Vec<String>,
    /// The report's last lines (each cut at 2 KiB).
    pub(crate) tail: Vec<String>,
    /// Lines of stderr (each cut at 2 KiB, at most 50).
    pub(crate) stderr: Vec<String>,
    /// Whether the harness had to kill it (it outlived its deadline by far).
    pub(crate) killed: bool,
    /// The test process's own RSS when it spawned the run (a floor of `max_rss`).
    pub(crate) spawned_from: u64,
}

impl Run {
    /// Every kept line of the report or stderr that contains `needle`
    /// (case-insensitive; the needle must have been asked for when running).
    pub(crate) fn lines_with(&self, needle: &str) -> Vec<&str> {
        let needle = needle.to_ascii_lowercase();
        self.found
            .iter()
            .chain(&self.stderr)
            .filter(|l| l.to_ascii_lowercase().contains(&needle))
            .map(String::as_str)
            .collect()
    }

    /// The kept lines that contain every `|`-separated part of `symptom`
    /// (case-insensitive): `"FAIL|sse/format/utf8"` is a failed UTF-8 check.
    pub(crate) fn lines_naming(&self, symptom: &str) -> Vec<&str> {
        let mut parts = symptom.split('|');
        let first = parts.next().unwrap_or_default();
        let rest: Vec<String> = parts.map(str::to_ascii_lowercase).collect();
        self.lines_with(first)
            .into_iter()
            .filter(|l| {
                let lower = l.to_ascii_lowercase();
                rest.iter().all(|p| lower.contains(p.as_str()))
            })
            .collect()
    }

    /// A summary for assertion messages: the numbers and the report's last lines.
    pub(crate) fn summary(&self) -> String {
        format!(
            "{}: exit {:?} (signal {:?}{}), {:.2} s, peak RSS {:.1} MiB (the test process had {:.1} MiB when it spawned it), report {} bytes\n--- report (last lines):\n{}\n--- stderr:\n{}",
            self.name,
            self.code,
            self.signal,
            if self.killed {
                ", killed by the harness"
            } else {
                ""
            },
            self.wall.as_secs_f64(),
            self.max_rss as f64 / f64::from(1 << 20),
            self.spawned_from as f64 / f64::from(1 << 20),
            self.report_bytes,
            self.tail.join("\n"),
            self.stderr
                .iter()
                .take(12)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        )
    }
}

/// The binary under test.
fn binary() -> PathBuf {
    std::env::var_os("PULSECHECK_HOSTILE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_pulsecheck")))
}

fn scratch(name: &str, what: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "pulsecheck-hostile-{}-{name}.{what}",
        std::process::id()
    ))
}

/// Calls `line` with each line of the file (cut at [`MAX_LINE`] bytes), reading
/// it in pieces: a report of any size is scanned in constant memory.
fn scan_lines(path: &Path, mut line: impl FnMut(String)) {
    let Ok(mut file) = std::fs::File::open(path) else {
        return;
    };
    let mut current = Vec::new();
    let mut piece = vec![0u8; 64 * 1024];
    loop {
        let n = match file.read(&mut piece) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for &b in &piece[..n] {
            if b == b'\n' {
                line(String::from_utf8_lossy(&current).into_owned());
                current.clear();
            } else if current.len() < MAX_LINE {
                current.push(b);
            }
        }
    }
    if !current.is_empty() {
        line(String::from_utf8_lossy(&current).into_owned());
    }
}

/// This process's resident set size, in bytes (0 where `/proc` cannot say).
fn own_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

/// Prints a failed assertion's message without a backtrace. The default hook
/// may resolve one from the test binary's debug information, which leaves some
/// 50 MiB in this process: every child spawned after a failure would then start
/// from that peak (see the module docs).
fn quiet_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| std::panic::set_hook(Box::new(|info| eprintln!("{info}"))));
}

/// Resets this process's peak RSS to its current size (Linux 4.0+; a no-op
/// where `/proc` does not allow it, which only makes the figures larger).
fn reset_own_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Runs `pulsecheck ARGS -o REPORT`, keeping the report lines that contain one
/// of `needles` (case-insensitive; of a `|`-separated symptom, its first part). Kills the run if it is still going
/// `deadline + 10 s` after it started: a hang is reported, not waited out.
pub(crate) fn pulsecheck(name: &str, args: &[&str], deadline: Duration, needles: &[&str]) -> Run {
    let report_path = scratch(name, "report");
    let stderr_path = scratch(name, "stderr");
    let _ = std::fs::remove_file(&report_path);
    let stderr_file = std::fs::File::create(&stderr_path).expect("a scratch file for stderr");
    quiet_panics();
    let (started, pid, own_rss) = {
        let _turn = TURNS.lock().unwrap_or_else(|e| e.into_inner());
        reset_own_peak();
        let own_rss = own_rss_bytes();
        let started = Instant::now();
        #[allow(
            clippy::zombie_processes,
            reason = "reaped below with wait4, which reports its rusage"
        )]
        let child = Command::new(binary())
            .args(args)
            .arg("-o")
            .arg(&report_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr_file)
            .spawn()
            .expect("the pulsecheck binary starts");
        let pid = i32::try_from(child.id()).expect("a pid fits in pid_t");
        (started, pid, own_rss)
    };
    let hard_limit = deadline + Duration::from_secs(10);
    let mut killed = false;
    let reaped = loop {
        if let Some(reaped) = reap::wait(pid) {
            break reaped;
        }
        if !killed && started.elapsed() > hard_limit {
            reap::kill(pid);
            killed = true;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let wall = started.elapsed();
    let report_bytes = std::fs::metadata(&report_path).map_or(0, |m| m.len());
    let needles: Vec<String> = needles
        .iter()
        .map(|n| n.split('|').next().unwrap_or_default().to_ascii_lowercase())
        .collect();
    let (mut found, mut tail, mut stderr) =
        (Vec::new(), std::collections::VecDeque::new(), Vec::new());
    {
        let _turn = TURNS.lock().unwrap_or_else(|e| e.into_inner());
        scan_lines(&report_path, |line| {
            let lower = line.to_ascii_lowercase();
            if found.len() < 1000 && needles.iter().any(|n| lower.contains(n.as_str())) {
                found.push(line.clone());
            }
            tail.push_back(line);
            if tail.len() > 12 {
                tail.pop_front();
            }
        });
        scan_lines(&stderr_path, |line| {
            if stderr.len() < 50 {
                stderr.push(line);
            }
        });
    }
    let _ = std::fs::remove_file(&report_path);
    let _ = std::fs::remove_file(&stderr_path);
    let run = Run {
        name: name.to_owned(),
        code: reaped.code,
        signal: reaped.signal,
        wall,
        max_rss: reaped.max_rss_kib.saturating_mul(1024),
        report_bytes,
        found,
        tail: tail.into(),
        stderr,
        killed,
        spawned_from: own_rss,
    };
    log(&run);
    run
}

/// Appends the run's figures to `PULSECHECK_HOSTILE_LOG`, if set.
fn log(run: &Run) {
    let Some(path) = std::env::var_os("PULSECHECK_HOSTILE_LOG") else {
        return;
    };
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(
            f,
            "{}\t{}\t{}\t{}\t{:.2}",
            run.name,
            run.max_rss / 1024,
            run.report_bytes,
            run.code
                .map_or_else(|| format!("signal {:?}", run.signal), |c| c.to_string()),
            run.wall.as_secs_f64()
        );
    }
}

/// Asserts the bounds every hostile-peer run must keep: it exited by itself with
/// `code`, within its deadline plus [`GRACE`], under [`MAX_RSS_BYTES`] of memory,
/// with a report under [`MAX_REPORT_BYTES`], and a line of the report (or of
/// stderr) names the symptom (see [`Run::lines_naming`]).
pub(crate) fn assert_bounded(run: &Run, code: i32, deadline: Duration, symptom: &str) {
    let summary = run.summary();
    // The figures, for `cargo test --test hostile -- --nocapture` (captured otherwise).
    println!("{}", summary.lines().next().unwrap_or_default());
    assert!(!run.killed, "the run hung and was killed\n{summary}");
    assert!(
        run.max_rss <= MAX_RSS_BYTES,
        "peak RSS {:.1} MiB is over the 64 MiB budget\n{summary}",
        run.max_rss as f64 / f64::from(1 << 20)
    );
    assert!(
        run.report_bytes <= MAX_REPORT_BYTES,
        "the report is {} bytes, over 16 MiB\n{summary}",
        run.report_bytes
    );
    assert!(
        run.wall <= deadline + GRACE,
        "the run took {:.2} s with --deadline {:.0}\n{summary}",
        run.wall.as_secs_f64(),
        deadline.as_secs_f64()
    );
    assert_eq!(run.code, Some(code), "exit code\n{summary}");
    assert!(
        !run.lines_naming(symptom).is_empty(),
        "no line names the symptom {symptom:?}\n{summary}"
    );
}

/// `wait4` on one child: its exit status and its own resource usage (unlike
/// `getrusage(RUSAGE_CHILDREN)`, which sums every child reaped so far).
#[allow(unsafe_code)]
mod reap {
    /// How a child ended and its peak memory.
    pub(crate) struct Reaped {
        pub(crate) code: Option<i32>,
        pub(crate) signal: Option<i32>,
        pub(crate) max_rss_kib: u64,
    }

    /// Reaps `pid` if it has exited.
    pub(crate) fn wait(pid: i32) -> Option<Reaped> {
        let mut status: libc::c_int = 0;
        // SAFETY: an all-zero rusage is a valid value of this plain C struct.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `status` and `usage` are valid for writes for the whole call; `pid`
        // is a child of this process that nothing else reaps.
        let reaped = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if reaped == -1 {
            let error = std::io::Error::last_os_error();
            assert!(
                error.kind() == std::io::ErrorKind::Interrupted,
                "wait4({pid}) failed: {error}"
            );
            return None;
        }
        if reaped != pid {
            return None;
        }
        let exited = libc::WIFEXITED(status);
        Some(Reaped {
            code: exited.then(|| libc::WEXITSTATUS(status)),
            signal: libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status)),
            // Linux reports ru_maxrss in KiB.
            max_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
        })
    }

    /// Sends SIGKILL to `pid`.
    pub(crate) fn kill(pid: i32) {
        // SAFETY: kill has no memory-safety preconditions; `pid` is our unreaped
        // child, so the number cannot have been reused.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
}
