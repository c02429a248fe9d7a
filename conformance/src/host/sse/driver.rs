//! The client under test, as the cases see it: something [`Launch`] starts
//! with a case's URL, whose stdout lines arrive on a channel, which ends when
//! its [`Launched`] is dropped.
//!
//! # The driver contract
//!
//! A driver connects to `PULSECHECK_URL` with the library under test, lets the
//! library reconnect as it does, and may print what the library dispatched on
//! stdout, one JSON object per line, in the shape `pulsecheck decode sse`
//! prints:
//!
//! ```text
//! {"kind":"event","type":"message","data":"hello","last_event_id":"1"}
//! {"kind":"error","error":"HTTP 204"}
//! ```
//!
//! Other kinds (`comment`, `retry`, `end`) are accepted and not judged. A
//! driver that prints no events still runs every case judged on the wire; the
//! cases judged on events are skipped for it. It runs until killed.

use std::future::Future;
use std::pin::Pin;

use serde_json::Value;
use tokio::sync::mpsc;

/// The longest stdout line read from a driver (a 5 MB event, as JSON, fits).
pub const MAX_LINE_BYTES: usize = 8 * 1024 * 1024;

/// The most events a case keeps.
pub const MAX_EVENTS_KEPT: usize = 1024;

/// How the client under test exited, as a phrase (`exited with status 3`).
pub type ExitFuture = Pin<Box<dyn Future<Output = String> + Send>>;

/// A started driver.
pub struct Launched {
    /// Its stdout, line by line (without the line end), at most
    /// [`MAX_LINE_BYTES`] each (longer lines are cut).
    pub lines: mpsc::Receiver<Vec<u8>>,
    /// Resolves when it exits.
    pub exit: ExitFuture,
    /// The end of its output, for messages (indented lines; empty when none).
    pub output_tail: Box<dyn Fn() -> String + Send + Sync>,
    /// Dropped: the driver (and whatever it started) is ended.
    pub guard: Box<dyn Send + Sync>,
    /// When set, the case's replies wait until it resolves (at most
    /// [`super::server::HOLD_LIMIT`]): the client is not ready when it
    /// connects (a test service still sending `listen` commands).
    pub ready: Option<ReadyFuture>,
}

/// Resolves when a started client is ready for the case's stream.
pub type ReadyFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

impl std::fmt::Debug for Launched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Launched").finish_non_exhaustive()
    }
}

/// Starts the client under test for one case.
pub trait Launch: Send + Sync {
    /// Starts it with `url` as `PULSECHECK_URL`.
    ///
    /// # Errors
    ///
    /// It cannot be started (the sentence says why).
    fn launch(&self, url: &str) -> Result<Launched, String>;

    /// Why this client cannot run the case `case_id` (it is then skipped with
    /// that reason); none when it can. A test service's capabilities gate
    /// cases this way.
    fn skip_reason(&self, case_id: &str) -> Option<String> {
        let _ = case_id;
        None
    }
}

/// An event the driver says its library dispatched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatchedEvent {
    /// `type`.
    pub event_type: String,
    /// `data`.
    pub data: String,
    /// `last_event_id`.
    pub last_event_id: String,
}

impl DispatchedEvent {
    /// The event, short, for messages (data cut at 60 characters).
    pub fn describe(&self) -> String {
        let mut data: String = self.data.chars().take(60).collect();
        if data.len() < self.data.len() {
            data.push_str(&format!("… ({} bytes)", self.data.len()));
        }
        format!(
            "{{type {:?}, data {data:?}, last_event_id {:?}}}",
            self.event_type, self.last_event_id
        )
    }
}

/// What a driver printed during one case.
#[derive(Debug, Clone, Default)]
pub struct DriverLines {
    /// Its events, in order (at most [`MAX_EVENTS_KEPT`]).
    pub events: Vec<DispatchedEvent>,
    /// Events past [`MAX_EVENTS_KEPT`].
    pub events_dropped: usize,
    /// Its `error` lines' texts (at most 16).
    pub errors: Vec<String>,
    /// Lines that are not the contract's JSON objects.
    pub garbage: usize,
    /// The first of them (cut at 200 bytes).
    pub first_garbage: Option<String>,
}

impl DriverLines {
    /// Takes one stdout line.
    pub fn take(&mut self, line: &[u8]) {
        let trimmed = line.trim_ascii();
        if trimmed.is_empty() {
            return;
        }
        let value: Option<Value> = serde_json::from_slice(trimmed).ok();
        let kind = value
            .as_ref()
            .and_then(|v| v.get("kind"))
            .and_then(Value::as_str);
        let text = |key: &str| {
            value
                .as_ref()
                .and_then(|v| v.get(key))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        match kind {
            Some("event") => match (text("data"), text("type")) {
                (Some(data), event_type) => {
                    if self.events.len() < MAX_EVENTS_KEPT {
                        self.events.push(DispatchedEvent {
                            event_type: event_type.unwrap_or_else(|| "message".to_owned()),
                            data,
                            last_event_id: text("last_event_id").unwrap_or_default(),
                        });
                    } else {
                        self.events_dropped += 1;
                    }
                }
                (None, _) => self.garbage_line(trimmed),
            },
            Some("error") => {
                if self.errors.len() < 16 {
                    let mut error = text("error").unwrap_or_default();
                    crate::budget::truncate(&mut error, 200);
                    self.errors.push(error);
                }
            }
            Some(_) => {}
            None => self.garbage_line(trimmed),
        }
    }

    fn garbage_line(&mut self, line: &[u8]) {
        self.garbage += 1;
        if self.first_garbage.is_none() {
            let mut text = String::from_utf8_lossy(line).into_owned();
            crate::budget::truncate(&mut text, 200);
            self.first_garbage = Some(text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_lines_are_taken_and_the_rest_counted() {
        let mut lines = DriverLines::default();
        lines.take(br#"{"kind":"event","type":"ping","data":"a\nb","last_event_id":"7"}"#);
        lines.take(br#"{"kind":"event","data":"x"}"#);
        lines.take(br#"{"kind":"error","error":"HTTP 204"}"#);
        lines.take(br#"{"kind":"comment","text":""}"#);
        lines.take(b"connecting...");
        lines.take(br#"{"kind":"event"}"#);
        lines.take(b"  ");
        assert_eq!(lines.events.len(), 2);
        assert_eq!(lines.events[0].data, "a\nb");
        assert_eq!(lines.events[1].event_type, "message");
        assert_eq!(lines.errors, ["HTTP 204"]);
        assert_eq!(lines.garbage, 2);
        assert_eq!(lines.first_garbage.as_deref(), Some("connecting..."));
    }
}
