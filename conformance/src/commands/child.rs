//! The client under test as a child process (`host ws -- CMD ARGS…`): started in
//! a process group of its own, its output kept (the last [`TAIL_BYTES`] of
//! stdout and stderr together, so that its output never mixes with the report
//! on stdout), its end awaited without blocking the runtime, and the whole group
//! killed when the run ends, so nothing it started outlives the run.

use std::collections::VecDeque;
use std::io::Read;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

/// How much of the child's output is kept (the end of it).
pub(crate) const TAIL_BYTES: usize = 4096;

/// The last [`TAIL_BYTES`] the child wrote.
#[derive(Debug, Default)]
struct Tail {
    bytes: VecDeque<u8>,
    dropped: bool,
}

impl Tail {
    fn push(&mut self, chunk: &[u8]) {
        self.bytes.extend(chunk);
        let over = self.bytes.len().saturating_sub(TAIL_BYTES);
        if over > 0 {
            self.bytes.drain(..over);
            self.dropped = true;
        }
    }
}

/// A running (or finished) client command.
#[derive(Debug)]
pub(crate) struct ClientProcess {
    /// The command line, for messages.
    line: String,
    group: rustix::process::Pid,
    exit: Option<oneshot::Receiver<std::io::Result<ExitStatus>>>,
    status: Option<Result<ExitStatus, String>>,
    output: Arc<Mutex<Tail>>,
}

impl ClientProcess {
    /// Starts `argv` with `env` added to the environment, stdin empty, stdout
    /// and stderr kept, in a new process group.
    pub(crate) fn spawn(argv: &[String], env: &[(&str, String)]) -> Result<Self, String> {
        Self::spawn_with_lines(argv, env, None)
    }

    /// [`ClientProcess::spawn`], and each stdout line (without its line end,
    /// cut at `max_line` bytes) also sent to `lines` (`host sse`: a driver's
    /// JSON events). The reader waits while the channel is full, so what the
    /// command prints is held to the channel's bound.
    pub(crate) fn spawn_with_lines(
        argv: &[String],
        env: &[(&str, String)],
        lines: Option<(tokio::sync::mpsc::Sender<Vec<u8>>, usize)>,
    ) -> Result<Self, String> {
        let line = shell_words(argv);
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| "no command to run after --".to_owned())?;
        let mut command = Command::new(program);
        command
            .args(args)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start `{line}`: {e}"))?;
        let group = rustix::process::Pid::from_child(&child);
        let output = Arc::new(Mutex::new(Tail::default()));
        if let Some(stdout) = child.stdout.take() {
            match lines {
                Some((sender, max_line)) => {
                    keep_tail_and_lines(stdout, Arc::clone(&output), sender, max_line);
                }
                None => keep_tail(stdout, Arc::clone(&output)),
            }
        }
        if let Some(stderr) = child.stderr.take() {
            keep_tail(stderr, Arc::clone(&output));
        }
        let (exited, exit) = oneshot::channel();
        std::thread::spawn(move || {
            let _ = exited.send(child.wait());
        });
        Ok(ClientProcess {
            line,
            group,
            exit: Some(exit),
            status: None,
            output,
        })
    }

    /// The command line.
    pub(crate) fn line(&self) -> &str {
        &self.line
    }

    /// Waits until the command has exited (cancel-safe: call again after a
    /// `select!` dropped it).
    pub(crate) async fn wait(&mut self) -> Result<ExitStatus, String> {
        if let Some(status) = &self.status {
            return status.clone();
        }
        let status = match self.exit.as_mut() {
            Some(exit) => match exit.await {
                Ok(Ok(status)) => Ok(status),
                Ok(Err(e)) => Err(format!("cannot wait for `{}`: {e}", self.line)),
                Err(_) => Err(format!("lost track of `{}`", self.line)),
            },
            None => Err(format!("lost track of `{}`", self.line)),
        };
        self.exit = None;
        self.status = Some(status.clone());
        status
    }

    /// Kills every process of the command's group (the command, and whatever it
    /// started); a group already gone is not an error.
    pub(crate) fn kill_group(&self) {
        let _ = rustix::process::kill_process_group(self.group, rustix::process::Signal::KILL);
    }

    /// The end of what the command wrote (stdout and stderr as they came),
    /// indented for a message; empty when it wrote nothing.
    pub(crate) fn output_tail(&self) -> String {
        let tail = self.output.lock().unwrap_or_else(|e| e.into_inner());
        let bytes: Vec<u8> = tail.bytes.iter().copied().collect();
        let text = String::from_utf8_lossy(&bytes);
        let text = text.trim_end();
        if text.is_empty() {
            return String::new();
        }
        let mut out = String::new();
        if tail.dropped {
            out.push_str("    …\n");
        }
        for line in text.lines() {
            out.push_str("    ");
            out.push_str(line);
            out.push('\n');
        }
        out
    }
}

/// Keeps the end of what `reader` yields in `tail`, on a thread of its own
/// (until the pipe closes: when every process of the group holding it is gone).
fn keep_tail(mut reader: impl Read + Send + 'static, tail: Arc<Mutex<Tail>>) {
    std::thread::spawn(move || {
        let mut chunk = [0_u8; 4096];
        loop {
            match reader.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => tail
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(chunk.get(..n).unwrap_or_default()),
            }
        }
    });
}

/// [`keep_tail`], and each line sent to `lines` (cut at `max_line` bytes;
/// sending stops when the receiver is gone, the tail goes on).
fn keep_tail_and_lines(
    mut reader: impl Read + Send + 'static,
    tail: Arc<Mutex<Tail>>,
    lines: tokio::sync::mpsc::Sender<Vec<u8>>,
    max_line: usize,
) {
    std::thread::spawn(move || {
        let mut chunk = [0_u8; 64 * 1024];
        let mut line: Vec<u8> = Vec::new();
        let mut sending = true;
        loop {
            let n = match reader.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let bytes = chunk.get(..n).unwrap_or_default();
            tail.lock().unwrap_or_else(|e| e.into_inner()).push(bytes);
            for piece in bytes.split_inclusive(|b| *b == b'\n') {
                let (body, ends) = match piece.strip_suffix(b"\n") {
                    Some(body) => (body, true),
                    None => (piece, false),
                };
                let room = max_line.saturating_sub(line.len());
                line.extend_from_slice(body.get(..room.min(body.len())).unwrap_or_default());
                if ends {
                    let done = std::mem::take(&mut line);
                    if sending && lines.blocking_send(done).is_err() {
                        sending = false;
                    }
                }
            }
        }
        if sending && !line.is_empty() {
            let _ = lines.blocking_send(line);
        }
    });
}

/// A command line as a shell would take it back (for reports).
pub(crate) fn shell_line(argv: &[String]) -> String {
    shell_words(argv)
}

/// A command line as a shell would take it back: words with spaces, quotes or
/// other special characters in single quotes.
fn shell_words(argv: &[String]) -> String {
    let plain = |w: &str| {
        !w.is_empty()
            && w.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@%+,".contains(&b))
    };
    argv.iter()
        .map(|w| {
            if plain(w) {
                w.clone()
            } else {
                format!("'{}'", w.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// How a command exited, for messages: `exited with status 3`, `was killed by
/// signal 9`.
pub(crate) fn describe_exit(status: &ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt as _;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        (None, None) => format!("ended ({status})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn sh(script: &str) -> Vec<String> {
        vec!["sh".into(), "-c".into(), script.into()]
    }

    #[tokio::test]
    async fn its_exit_status_and_output_tail_are_kept() {
        let mut child = ClientProcess::spawn(
            &sh("echo \"url $PULSECHECK_URL\"; echo oops >&2; exit 3"),
            &[("PULSECHECK_URL", "ws://127.0.0.1:1".to_owned())],
        )
        .unwrap();
        let status = child.wait().await.unwrap();
        assert_eq!(describe_exit(&status), "exited with status 3");
        // Cancel-safe and repeatable.
        assert_eq!(child.wait().await.unwrap().code(), Some(3));
        // The readers may finish a moment after the exit.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let tail = child.output_tail();
        assert!(tail.contains("    url ws://127.0.0.1:1\n"), "{tail}");
        assert!(tail.contains("    oops\n"), "{tail}");
    }

    #[tokio::test]
    async fn the_tail_is_bounded() {
        let mut child = ClientProcess::spawn(
            &sh("i=0; while [ $i -lt 2000 ]; do echo line $i; i=$((i+1)); done"),
            &[],
        )
        .unwrap();
        child.wait().await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let tail = child.output_tail();
        assert!(tail.starts_with("    …\n"), "{tail}");
        assert!(tail.trim_end().ends_with("line 1999"), "{tail}");
        assert!(tail.len() < TAIL_BYTES + 2048);
    }

    #[tokio::test]
    async fn killing_the_group_ends_what_the_command_started() {
        let mut child = ClientProcess::spawn(&sh("sleep 1000 & sleep 1000 & wait"), &[]).unwrap();
        let still = tokio::time::timeout(Duration::from_millis(200), child.wait()).await;
        assert!(still.is_err(), "still running");
        let began = Instant::now();
        child.kill_group();
        let status = child.wait().await.unwrap();
        assert_eq!(describe_exit(&status), "was killed by signal 9");
        assert!(began.elapsed() < Duration::from_secs(5));
        // Killing a group that is gone is not an error.
        child.kill_group();
    }

    #[tokio::test]
    async fn stdout_lines_are_sent_cut_and_kept_in_the_tail() {
        let (sender, mut lines) = tokio::sync::mpsc::channel(4);
        let mut child = ClientProcess::spawn_with_lines(
            &sh("echo one; echo 0123456789; printf last"),
            &[],
            Some((sender, 4)),
        )
        .unwrap();
        child.wait().await.unwrap();
        let mut got = Vec::new();
        while let Some(line) = lines.recv().await {
            got.push(String::from_utf8(line).unwrap());
        }
        assert_eq!(got, ["one", "0123", "last"]);
        assert!(child.output_tail().contains("0123456789"));
    }

    #[test]
    fn command_lines_read_as_a_shell_would_take_them() {
        let words =
            |w: &[&str]| shell_words(&w.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
        assert_eq!(words(&["sleep", "1000"]), "sleep 1000");
        assert_eq!(
            words(&["sh", "-c", "echo $X; exit 3"]),
            "sh -c 'echo $X; exit 3'"
        );
        assert_eq!(words(&["it's", ""]), "'it'\\''s' ''");
    }

    #[test]
    fn a_command_that_does_not_exist_is_named() {
        let err = ClientProcess::spawn(&["/nonexistent/client".to_owned()], &[]).unwrap_err();
        assert!(
            err.starts_with("cannot start `/nonexistent/client`: "),
            "{err}"
        );
        assert_eq!(
            ClientProcess::spawn(&[], &[]).unwrap_err(),
            "no command to run after --"
        );
    }
}
