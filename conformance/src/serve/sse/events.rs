//! The one event generator every connection shares, and the bounded log of recent
//! events that Last-Event-ID replay reads from.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use pulsecheck_sse::encode::{OutEvent, encode_event};
use tokio::sync::broadcast;

/// How many events a live subscriber may fall behind before it must catch up
/// from the log.
const BROADCAST_CAPACITY: usize = 256;

/// The event type every third event carries; the others are `message` events.
pub(crate) const TICK_TYPE: &str = "tick";

/// One generated event, with its clean encoding made once for every connection.
#[derive(Debug)]
pub(crate) struct Event {
    /// Decimal, unique, strictly increasing across the server, from its first id
    /// (1, or [`STRING_IDS_FIRST`](super::fault::STRING_IDS_FIRST) under
    /// [`Fault::IdsComparedAsStrings`](super::fault::Fault::IdsComparedAsStrings)).
    pub(crate) id: u64,
    /// `Some("tick")` on every third event.
    pub(crate) event_type: Option<&'static str>,
    /// The data's lines: one, or three on every fourth event.
    pub(crate) lines: Vec<String>,
    /// The id as text.
    pub(crate) id_text: String,
    /// The event as a clean stream writes it, blank line included.
    pub(crate) encoded: Bytes,
}

impl Event {
    /// The event with this id: every third a `tick`, every fourth with three data
    /// lines, so the checks of multi-line data and event types have something to
    /// see.
    pub(crate) fn new(id: u64) -> Event {
        let event_type = id.is_multiple_of(3).then_some(TICK_TYPE);
        let lines = if id.is_multiple_of(4) {
            three_lines(id)
        } else {
            vec![format!("event {id}")]
        };
        let id_text = id.to_string();
        let data = lines.join("\n");
        let mut out = Vec::with_capacity(data.len() + 32);
        let event = OutEvent {
            event_type,
            id: Some(&id_text),
            retry_ms: None,
            data: &data,
        };
        // The type is a constant word and the id is digits: neither can hold the
        // line break or NUL the encoder refuses.
        if encode_event(&mut out, &event).is_err() {
            out.clear();
        }
        Event {
            id,
            event_type,
            lines,
            id_text,
            encoded: Bytes::from(out),
        }
    }
}

/// The data lines of a multi-line event.
pub(crate) fn three_lines(id: u64) -> Vec<String> {
    vec![
        format!("event {id}"),
        "line 2 of 3".to_owned(),
        "line 3 of 3".to_owned(),
    ]
}

/// The recent events, oldest first, and the next id to give out.
#[derive(Debug)]
struct Log {
    events: VecDeque<Arc<Event>>,
    capacity: usize,
    next_id: u64,
}

/// What a new stream starts from: the events to replay, and a subscription to
/// the live events after them.
#[derive(Debug)]
pub(crate) struct Subscription {
    /// Whether the requested Last-Event-ID was in the log.
    pub(crate) found: bool,
    /// The events to replay, in order (empty when there is nothing to replay).
    pub(crate) replay: Vec<Arc<Event>>,
    /// Live events; every one has an id above `cursor`.
    pub(crate) live: broadcast::Receiver<Arc<Event>>,
    /// The last id produced when the subscription was taken.
    pub(crate) cursor: u64,
}

/// The generator's shared state: the log and the live channel.
#[derive(Debug)]
pub(crate) struct Events {
    log: Mutex<Log>,
    live: broadcast::Sender<Arc<Event>>,
}

impl Events {
    /// An empty log that keeps at most `capacity` events; the first event gets
    /// `first_id`.
    pub(crate) fn new(capacity: usize, first_id: u64) -> Events {
        let (live, _) = broadcast::channel(BROADCAST_CAPACITY);
        Events {
            log: Mutex::new(Log {
                events: VecDeque::with_capacity(capacity.min(4096)),
                capacity,
                next_id: first_id,
            }),
            live,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes the next event, logs it and sends it to every live subscriber. The
    /// lock is held across both, so a subscriber taken under the same lock sees
    /// every event exactly once, from the log or live.
    pub(crate) fn publish_next(&self) {
        let mut log = self.lock();
        let id = log.next_id;
        log.next_id = id.saturating_add(1);
        let event = Arc::new(Event::new(id));
        if log.capacity > 0 {
            if log.events.len() >= log.capacity {
                log.events.pop_front();
            }
            log.events.push_back(Arc::clone(&event));
        }
        // No receiver is not an error: nobody is connected.
        let _unheard = self.live.send(event);
    }

    /// Subscribes to live events and, when `last_id` is in the log, collects the
    /// events after it to replay first (starting with `last_id` itself when
    /// `include_last`), all under the lock that [`Events::publish_next`] takes.
    pub(crate) fn subscribe(&self, last_id: Option<u64>, include_last: bool) -> Subscription {
        let log = self.lock();
        let live = self.live.subscribe();
        let cursor = log.next_id.saturating_sub(1);
        let found = last_id.is_some_and(|id| contains(&log, id));
        let replay = match last_id {
            Some(id) if found => events_from(
                &log,
                if include_last {
                    id
                } else {
                    id.saturating_add(1)
                },
            ),
            _ => Vec::new(),
        };
        Subscription {
            found,
            replay,
            live,
            cursor,
        }
    }

    /// Subscribes like [`Events::subscribe`], but finds where to resume as a
    /// server that compares ids as strings does ([`Fault::IdsComparedAsStrings`]):
    /// from the newest logged event back to the first whose id, as a string, is
    /// not greater than `last_id`; the events after it are replayed (all of the
    /// log when there is none). Byte order is JavaScript's string order for the
    /// ASCII digits of the ids.
    ///
    /// [`Fault::IdsComparedAsStrings`]: super::fault::Fault::IdsComparedAsStrings
    pub(crate) fn subscribe_comparing_as_strings(&self, last_id: &[u8]) -> Subscription {
        let log = self.lock();
        let live = self.live.subscribe();
        let cursor = log.next_id.saturating_sub(1);
        let resume_after = log
            .events
            .iter()
            .rposition(|e| e.id_text.as_bytes() <= last_id);
        let skip = resume_after.map_or(0, |at| at + 1);
        Subscription {
            found: resume_after.is_some(),
            replay: log.events.iter().skip(skip).cloned().collect(),
            live,
            cursor,
        }
    }

    /// The logged events after `id`, for a subscriber that fell behind; `None`
    /// when some of them have already left the log.
    pub(crate) fn catch_up(&self, id: u64) -> Option<Vec<Arc<Event>>> {
        let log = self.lock();
        let first = log.events.front().map_or(log.next_id, |e| e.id);
        if first > id.saturating_add(1) {
            return None;
        }
        Some(events_from(&log, id.saturating_add(1)))
    }
}

/// Whether the event with this id is still in the log.
fn contains(log: &Log, id: u64) -> bool {
    match (log.events.front(), log.events.back()) {
        (Some(first), Some(last)) => first.id <= id && id <= last.id,
        _ => false,
    }
}

/// The logged events with an id of at least `first`, in order.
fn events_from(log: &Log, first: u64) -> Vec<Arc<Event>> {
    let Some(oldest) = log.events.front().map(|e| e.id) else {
        return Vec::new();
    };
    let skip = usize::try_from(first.saturating_sub(oldest)).unwrap_or(usize::MAX);
    log.events.iter().skip(skip).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_alternate_types_and_line_counts() {
        let one = Event::new(1);
        assert_eq!(&one.encoded[..], b"id: 1\ndata: event 1\n\n");
        let three = Event::new(3);
        assert_eq!(&three.encoded[..], b"event: tick\nid: 3\ndata: event 3\n\n");
        let four = Event::new(4);
        assert_eq!(
            &four.encoded[..],
            b"id: 4\ndata: event 4\ndata: line 2 of 3\ndata: line 3 of 3\n\n"
        );
    }

    #[test]
    fn the_log_is_bounded_and_replays_exactly_what_follows() {
        let events = Events::new(4, 1);
        for _ in 0..6 {
            events.publish_next();
        }
        let replay = |last, include| -> (bool, Vec<u64>) {
            let sub = events.subscribe(last, include);
            (sub.found, sub.replay.iter().map(|e| e.id).collect())
        };
        assert_eq!(replay(Some(2), false), (false, vec![]));
        assert_eq!(replay(Some(7), false), (false, vec![]));
        assert_eq!(replay(None, false), (false, vec![]));
        assert_eq!(replay(Some(3), false), (true, vec![4, 5, 6]));
        assert_eq!(replay(Some(4), true), (true, vec![4, 5, 6]));
        assert_eq!(replay(Some(6), false), (true, vec![]));
        assert_eq!(events.subscribe(None, false).cursor, 6);
        assert!(events.catch_up(1).is_none());
        assert_eq!(
            events
                .catch_up(2)
                .map(|v| v.iter().map(|e| e.id).collect::<Vec<_>>()),
            Some(vec![3, 4, 5, 6])
        );
    }

    #[test]
    fn comparing_ids_as_strings_loses_the_events_after_a_shorter_id() {
        let events = Events::new(64, 995);
        for _ in 0..10 {
            events.publish_next(); // 995 ..= 1004
        }
        let replay = |last: &[u8]| -> Vec<u64> {
            let sub = events.subscribe_comparing_as_strings(last);
            sub.replay.iter().map(|e| e.id).collect()
        };
        // "1004" <= "997" as strings: the newest event is taken for the client's.
        assert_eq!(replay(b"997"), Vec::<u64>::new());
        // Ids as long as the newest resume correctly.
        assert_eq!(replay(b"1001"), vec![1002, 1003, 1004]);
        assert_eq!(replay(b"1004"), Vec::<u64>::new());
        // Nothing compares lower than "0": everything is replayed.
        assert_eq!(replay(b"0").len(), 10);
        // The clean lookup of the same log replays what followed.
        let clean: Vec<u64> = events
            .subscribe(Some(997), false)
            .replay
            .iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(clean, (998..=1004).collect::<Vec<_>>());
    }

    #[test]
    fn a_zero_log_keeps_nothing() {
        let events = Events::new(0, 1);
        events.publish_next();
        assert!(!events.subscribe(Some(1), false).found);
        assert!(events.catch_up(0).is_none());
    }
}
