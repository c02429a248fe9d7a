//! The page that tests a browser's `EventSource`: `GET /` on the host's port
//! serves `page.html` (self-contained), whose script asks the host what to do
//! (`GET /page/next?after=SEQ`, a long poll) and does it: `open` a case — a
//! `new EventSource(url)` with a listener for every event type the cases send
//! — or `close` it, or stop when the run is `done`. Every event the browser
//! dispatches, and every `error` event, goes back as one contract line
//! (`{"kind":"event","type","data","last_event_id"}`, the shape of
//! [`super::driver`]) in a POST to `/page/lines/<case>`, one case's lines in
//! order. So the cases judged on dispatched events run in a browser too.
//!
//! The [`PageBoard`] is the [`Launch`] of a run in a browser: starting a case
//! posts `open` for the page, ending it posts `close`. A browser keeps at most
//! six connections per host: the long poll takes one, the lines' POSTs one,
//! so a run through the page plays at most [`PAGE_JOBS`] cases at once.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::Notify;

use super::cases::{CASES, Expect};
use super::driver::{Launch, Launched};
use super::inbox::Inbox;

/// The page.
pub const PAGE: &str = include_str!("page.html");

/// The most cases a browser plays at once (each holds a connection).
pub const PAGE_JOBS: usize = 4;

/// How long a long poll waits for a command.
pub const POLL_WAIT: Duration = Duration::from_secs(20);

/// What the page is told to do.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PageCommand {
    /// Open an `EventSource` on the case's path.
    Open { case: u64, path: String },
    /// Close the case's `EventSource`.
    Close(u64),
    /// The run is over.
    Done,
}

#[derive(Debug, Default)]
struct BoardState {
    /// Commands not yet acknowledged by the page, with their sequence numbers.
    pending: VecDeque<(u64, PageCommand)>,
    next_seq: u64,
    /// The page has polled at least once.
    polled: bool,
    /// Cases whose `open` the page has received.
    taken: HashSet<u64>,
}

#[derive(Debug)]
struct BoardInner {
    state: Mutex<BoardState>,
    changed: Notify,
    inbox: Arc<Inbox>,
}

impl BoardInner {
    fn push(&self, command: PageCommand) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.next_seq += 1;
        let seq = state.next_seq;
        state.pending.push_back((seq, command));
        drop(state);
        self.changed.notify_waiters();
    }
}

/// The commands for the page, and the [`Launch`] of a run in a browser.
#[derive(Debug, Clone)]
pub struct PageBoard {
    inner: Arc<BoardInner>,
}

/// Every event type the cases send (`message` first): the page listens for
/// each, since an `EventSource` dispatches an event only to its type's
/// listeners.
pub fn event_types() -> Vec<&'static str> {
    let mut types = vec!["message"];
    for case in CASES {
        if let Expect::Events(events) = case.expect {
            for (event_type, _, _) in events {
                if !types.contains(event_type) {
                    types.push(event_type);
                }
            }
        }
    }
    types
}

/// The case number in a URL or path `…/case/<n>/…`.
fn case_of(url: &str) -> Option<(u64, String)> {
    let at = url.find("/case/")?;
    let path = url.get(at..)?.to_owned();
    let number = path
        .strip_prefix("/case/")?
        .split(['/', '?'])
        .next()?
        .parse()
        .ok()?;
    Some((number, path))
}

impl PageBoard {
    /// A board whose lines go to `inbox`.
    pub fn new(inbox: Arc<Inbox>) -> Self {
        PageBoard {
            inner: Arc::new(BoardInner {
                state: Mutex::default(),
                changed: Notify::new(),
                inbox,
            }),
        }
    }

    /// Tells the page the run is over.
    pub fn finish(&self) {
        self.inner.push(PageCommand::Done);
    }

    /// Waits until a page has polled, at most `limit`; whether one has.
    pub async fn wait_for_page(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let changed = self.inner.changed.notified();
            if self
                .inner
                .state
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .polled
            {
                return true;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return false;
            }
        }
    }

    /// The answer to `GET /page/next?after=SEQ`: the commands after `after`
    /// (those up to it are acknowledged and forgotten), waiting up to
    /// [`POLL_WAIT`] for one. JSON: `{"seq":N,"commands":[…]}`.
    pub async fn next(&self, after: u64) -> Value {
        let deadline = tokio::time::Instant::now() + POLL_WAIT;
        loop {
            let changed = self.inner.changed.notified();
            {
                let mut state = self.inner.state.lock().unwrap_or_else(|e| e.into_inner());
                let first_poll = !state.polled;
                state.polled = true;
                while state.pending.front().is_some_and(|(seq, _)| *seq <= after) {
                    state.pending.pop_front();
                }
                if !state.pending.is_empty() || tokio::time::Instant::now() >= deadline {
                    let commands: Vec<Value> = state
                        .pending
                        .iter()
                        .map(|(_, command)| match command {
                            PageCommand::Open { case, path } => {
                                json!({"open": case, "url": path, "types": event_types()})
                            }
                            PageCommand::Close(case) => json!({"close": case}),
                            PageCommand::Done => json!({"done": true}),
                        })
                        .collect();
                    let opened: Vec<u64> = state
                        .pending
                        .iter()
                        .filter_map(|(_, c)| match c {
                            PageCommand::Open { case, .. } => Some(*case),
                            _ => None,
                        })
                        .collect();
                    state.taken.extend(opened);
                    let seq = state.pending.back().map_or(after, |(seq, _)| *seq);
                    drop(state);
                    if first_poll {
                        self.inner.changed.notify_waiters();
                    }
                    return json!({"seq": seq, "commands": commands});
                }
                if first_poll {
                    self.inner.changed.notify_waiters();
                }
            }
            let _ = tokio::time::timeout_at(deadline, changed).await;
        }
    }

    /// The inbox the page's lines go to.
    pub fn inbox(&self) -> &Arc<Inbox> {
        &self.inner.inbox
    }
}

/// Ends a case in the page when the case drops it.
struct CloseInPage {
    inner: Arc<BoardInner>,
    case: u64,
}

impl Drop for CloseInPage {
    fn drop(&mut self) {
        self.inner.inbox.close(self.case);
        self.inner.push(PageCommand::Close(self.case));
    }
}

impl Launch for PageBoard {
    fn launch(&self, url: &str) -> Result<Launched, String> {
        let (case, path) =
            case_of(url).ok_or_else(|| format!("{url} is not a case URL of the host"))?;
        let lines = self.inner.inbox.open(case);
        self.inner.push(PageCommand::Open { case, path });
        let inner = Arc::clone(&self.inner);
        Ok(Launched {
            lines,
            // A page never exits; the run ends its cases.
            exit: Box::pin(std::future::pending()),
            output_tail: Box::new(move || {
                let state = inner.state.lock().unwrap_or_else(|e| e.into_inner());
                if !state.polled {
                    "  (no browser has opened the page)".to_owned()
                } else if !state.taken.contains(&case) {
                    "  (the page has not taken this case)".to_owned()
                } else {
                    String::new()
                }
            }),
            guard: Box::new(CloseInPage {
                inner: Arc::clone(&self.inner),
                case,
            }),
            ready: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_is_self_contained_and_speaks_the_protocol() {
        for needle in [
            "/page/next?after=",
            "/page/lines/",
            "new EventSource(",
            "lastEventId",
            "dataset.done",
        ] {
            assert!(PAGE.contains(needle), "the page lacks {needle}");
        }
        assert!(!PAGE.contains("src=\"http") && !PAGE.contains("href=\"http"));
    }

    #[test]
    fn every_event_type_of_the_cases_is_listened_for() {
        let types = event_types();
        assert_eq!(types.first(), Some(&"message"));
        assert!(types.contains(&"ping") && types.contains(&"e"), "{types:?}");
    }

    #[tokio::test]
    async fn cases_open_and_close_in_order_and_polls_acknowledge() {
        let board = PageBoard::new(Arc::default());
        let launched = board
            .launch("http://127.0.0.1:1/case/7/sse-client/x")
            .unwrap();
        let first = board.next(0).await;
        assert_eq!(first["commands"][0]["open"], 7);
        assert_eq!(first["commands"][0]["url"], "/case/7/sse-client/x");
        assert!(board.wait_for_page(Duration::from_millis(10)).await);
        assert!((launched.output_tail)().is_empty());
        drop(launched);
        let seq = first["seq"].as_u64().unwrap();
        let second = board.next(seq).await;
        assert_eq!(second["commands"].as_array().unwrap().len(), 1);
        assert_eq!(second["commands"][0]["close"], 7);
        board.finish();
        let third = board.next(second["seq"].as_u64().unwrap()).await;
        assert_eq!(third["commands"][0]["done"], true);
    }

    #[tokio::test]
    async fn lines_posted_for_a_case_reach_its_driver_lines() {
        let board = PageBoard::new(Arc::default());
        let mut launched = board.launch("http://h/case/3/id").unwrap();
        assert!(board.inbox().deliver(3, b"{}".to_vec()).await);
        assert_eq!(launched.lines.recv().await.as_deref(), Some(&b"{}"[..]));
    }
}
