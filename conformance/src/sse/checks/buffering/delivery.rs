//! How events were delivered over an observation: the delivery observation
//! (several connections to the stream on one clock) and its judgement, which the
//! `sse/buffering/held-events` and `sse/buffering/lag` checks read.
//!
//! # Why several connections
//!
//! Arrival times alone cannot show that an event was held: a server that writes
//! three events at once after a silence looks, on one connection, exactly like a
//! proxy that held three events produced a second apart. Numeric ids do not help
//! by themselves either: they give the order of production, not its time. A
//! delay is proven only by a sign that the event existed earlier than it arrived.
//! The judgement uses three such signs, each an upper bound on the moment the
//! event existed:
//!
//! 1. **Another connection had it earlier.** The same event (same id, type and
//!    data) arrived on another of the probe's connections at an earlier moment: it
//!    existed then. Ids are what join the connections.
//! 2. **A replay.** A companion connection resumes with `Last-Event-ID` set to the
//!    id *before* the last one the first connection has received, so the server
//!    must replay at least one event that the probe already holds: those existed
//!    before the request, so nothing but holding keeps them behind the response
//!    head.
//! 3. **The time in its data.** When every event's data carries a timestamp near
//!    the probe's clock (RFC 3339, or Unix seconds or milliseconds), the event
//!    existed by that time plus the smallest delay any event showed (which absorbs
//!    the difference between the two clocks) plus the timestamp's resolution.
//!
//! An event's lag is its arrival minus the later of that bound and its
//! connection's response head. A server that legitimately sends bursts sends the
//! same burst to every connection at the same moment and writes a replay at
//! once, so it shows no lag. Connections whose ids do not name one shared stream
//! (a per-connection counter restarting at 1, a backlog sent to every new client)
//! give no sign of kind 1 or 2: the guard in [`shared_stream`] finds them.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

use crate::http::ClientError;
use crate::sse::capture::{Capture, SeenKind};
use crate::sse::probe::{Delivery, SseProbe, Timeline, header, read_stream, read_stream_until};

/// An event that arrives this long after the earliest sign that it existed was
/// held back.
pub(crate) const LATE: Duration = Duration::from_millis(500);

/// A verdict of holding needs this many reads with a late event: one delayed
/// read can be a lost TCP segment.
pub(crate) const OCCASIONS: usize = 2;

/// Events whose arrivals are this close came in one read.
const TOGETHER: Duration = Duration::from_millis(3);

/// Companion connections, opened at a third and two thirds of the window.
const COMPANIONS: u32 = 2;

/// A number in the data further than this from the probe's clock (in seconds)
/// is not the event's time.
const CLOCK_SLACK: f64 = 600.0;

/// Makes the delivery observation: a first connection read for the whole
/// window, and [`COMPANIONS`] more, each opened just after the first connection
/// received an event, resuming from the id before the last one it had (see the
/// module docs), and read until the window ends.
pub(crate) async fn observe(probe: &SseProbe) -> Result<Delivery, ClientError> {
    let started = SystemTime::now();
    let t0 = Instant::now();
    let window = probe.options.observe;
    let max_bytes = probe.options.max_body_bytes;
    let response = probe.open(&[]).await?;
    let (tx, rx) = watch::channel(Recent::default());
    let examined = Cell::new(0usize);
    let recent = RefCell::new(Recent::default());
    // Called before each read: publishes the two newest ids the stream set.
    let publish = move |capture: &Capture| {
        let seen = &capture.seen;
        let from = examined.replace(seen.len());
        let mut recent = recent.borrow_mut();
        let mut changed = false;
        for item in seen.get(from..).unwrap_or_default() {
            if let SeenKind::Event {
                id, sets_id: true, ..
            } = &item.kind
                && !id.is_empty()
            {
                recent.before_last = recent.last.replace(id.clone());
                changed = true;
            }
        }
        if changed {
            tx.send_replace(recent.clone());
        }
        false
    };
    let first = read_stream_until(response, t0, window, max_bytes, publish);
    let companions =
        (1..=COMPANIONS).map(|n| companion(probe, t0, window * n / (COMPANIONS + 1), rx.clone()));
    let (first, companions) =
        futures::future::join(first, futures::future::join_all(companions)).await;
    let mut connections = vec![Timeline {
        capture: first,
        opened_at: Duration::ZERO,
        resumed_from: None,
    }];
    connections.extend(companions.into_iter().flatten());
    Ok(Delivery {
        started,
        connections,
    })
}

/// The two newest ids the first connection received.
#[derive(Debug, Clone, Default)]
struct Recent {
    last: Option<String>,
    before_last: Option<String>,
}

/// One companion: waits until `not_before`, then for the first connection's next
/// event, then resumes from the id before its last. `None` when the window ended
/// first or the request failed (the judgement goes on with the others).
async fn companion(
    probe: &SseProbe,
    t0: Instant,
    not_before: Duration,
    mut ids: watch::Receiver<Recent>,
) -> Option<Timeline> {
    let window = probe.options.observe;
    tokio::time::sleep_until((t0 + not_before).into()).await;
    ids.borrow_and_update();
    // Waits for the next event at most a third of the window.
    let give_up = (t0 + window.saturating_sub(Duration::from_secs(1)))
        .min(Instant::now() + window / (COMPANIONS + 1));
    let _ = tokio::time::timeout_at(give_up.into(), ids.changed()).await;
    let recent = ids.borrow().clone();
    let resume = recent.before_last.or(recent.last);
    let pair = resume.as_deref().and_then(|id| header("last-event-id", id));
    let resumed_from = pair.as_ref().and(resume);
    let opened_at = t0.elapsed();
    if opened_at + Duration::from_millis(500) >= window {
        return None;
    }
    let started = Instant::now();
    let response = probe.open(pair.as_slice()).await.ok()?;
    let capture = read_stream(
        response,
        started,
        window.saturating_sub(opened_at),
        probe.options.max_body_bytes,
    )
    .await;
    Some(Timeline {
        capture,
        opened_at,
        resumed_from,
    })
}

/// What shows that an event existed before it arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sign {
    /// It arrived earlier on this other connection (by index).
    OtherConnection(usize),
    /// It was replayed to a connection that asked after the first one had it.
    Replayed(usize),
    /// The time in its data.
    DataTime,
}

/// One event as one connection received it, and what is known of when it existed.
#[derive(Debug, Clone)]
pub(crate) struct Arrival {
    /// The connection (0 is the first).
    pub(crate) conn: usize,
    /// When it arrived, on the observation's clock.
    pub(crate) at: Duration,
    /// Where it began in its connection's body.
    pub(crate) offset: u64,
    /// Its id, when its block set one.
    pub(crate) id: String,
    /// The read that completed it (an index into [`Judgement::reads`]).
    pub(crate) read: usize,
    /// The earliest sign that it existed, and what the sign is.
    pub(crate) existed_by: Option<(Duration, Sign)>,
    /// How long after that sign (or its connection's response head, if later) it
    /// arrived.
    pub(crate) lag: Duration,
}

/// One read: events that arrived together on one connection.
#[derive(Debug, Clone)]
pub(crate) struct Read {
    /// The connection.
    pub(crate) conn: usize,
    /// When it arrived, on the observation's clock.
    pub(crate) at: Duration,
    /// How long the connection had been silent before it (no byte at all).
    pub(crate) silence: Duration,
    /// Its events: indices into [`Judgement::arrivals`].
    pub(crate) events: Vec<usize>,
}

/// The judgement of a delivery observation.
#[derive(Debug, Clone)]
pub(crate) struct Judgement {
    /// Every event every connection received, connection by connection.
    pub(crate) arrivals: Vec<Arrival>,
    /// The reads, connection by connection.
    pub(crate) reads: Vec<Read>,
    /// How many connections there were, and the id each resumed from.
    pub(crate) resumed_from: Vec<Option<String>>,
    /// Events matched on several connections, or why ids could not be used.
    pub(crate) shared: Result<usize, String>,
    /// Events judged by the time in their data, or why times could not be used.
    pub(crate) stamped: Result<usize, String>,
}

type Key<'a> = (&'a str, &'a str, &'a str);

impl Judgement {
    /// Judges an observation.
    pub(crate) fn of(delivery: &Delivery) -> Judgement {
        let mut arrivals = Vec::new();
        let mut reads: Vec<Read> = Vec::new();
        let mut keys: Vec<Option<Key<'_>>> = Vec::new();
        for (conn, timeline) in delivery.connections.iter().enumerate() {
            read_events(conn, timeline, &mut arrivals, &mut reads, &mut keys);
        }
        let mut judgement = Judgement {
            arrivals,
            reads,
            resumed_from: delivery
                .connections
                .iter()
                .map(|t| t.resumed_from.clone())
                .collect(),
            shared: Ok(0),
            stamped: Ok(0),
        };
        judgement.shared = judgement.sign_by_other_connections(delivery, &keys);
        judgement.stamped = judgement.sign_by_data_times(delivery);
        for a in &mut judgement.arrivals {
            let timeline = &delivery.connections[a.conn];
            let head = timeline.opened_at + timeline.capture.head_at;
            if let Some((existed, _)) = a.existed_by {
                a.lag = a.at.saturating_sub(existed.max(head));
            }
        }
        judgement
    }

    /// The events some sign dated.
    pub(crate) fn judged(&self) -> impl Iterator<Item = &Arrival> {
        self.arrivals.iter().filter(|a| a.existed_by.is_some())
    }

    /// The events that arrived [`LATE`] or later.
    pub(crate) fn late(&self) -> impl Iterator<Item = &Arrival> {
        self.judged().filter(|a| a.lag >= LATE)
    }

    /// Why nothing could be dated, when nothing was.
    pub(crate) fn undated_because(&self) -> String {
        let ids = match &self.shared {
            Ok(_) => "no event arrived on two connections".to_owned(),
            Err(why) => why.clone(),
        };
        let times = match &self.stamped {
            Ok(_) => "no time in the data".to_owned(),
            Err(why) => why.clone(),
        };
        format!("{ids}; {times}")
    }

    /// A connection's name in messages.
    pub(crate) fn connection(&self, conn: usize) -> String {
        match self.resumed_from.get(conn) {
            Some(Some(id)) => format!("connection {} (resumed after id {id:?})", conn + 1),
            _ => format!("connection {}", conn + 1),
        }
    }

    /// Sign 1 and 2: the same event earlier on another connection.
    fn sign_by_other_connections(
        &mut self,
        delivery: &Delivery,
        keys: &[Option<Key<'_>>],
    ) -> Result<usize, String> {
        if keys.iter().all(Option::is_none) {
            return Err("no event set an id of its own".to_owned());
        }
        // A key seen twice on one connection cannot be matched.
        let mut seen_on: HashMap<(usize, Key<'_>), usize> = HashMap::new();
        for (a, key) in self.arrivals.iter().zip(keys) {
            if let Some(key) = key {
                *seen_on.entry((a.conn, *key)).or_default() += 1;
            }
        }
        let ambiguous: HashSet<Key<'_>> = seen_on
            .iter()
            .filter(|(_, n)| **n > 1)
            .map(|((_, key), _)| *key)
            .collect();
        shared_stream(&self.arrivals, keys, delivery)?;
        let mut earliest: HashMap<Key<'_>, (Duration, usize)> = HashMap::new();
        let mut connections: HashMap<Key<'_>, usize> = HashMap::new();
        for (a, key) in self.arrivals.iter().zip(keys) {
            let Some(key) = key.filter(|k| !ambiguous.contains(k)) else {
                continue;
            };
            *connections.entry(key).or_default() += 1;
            let first = earliest.entry(key).or_insert((a.at, a.conn));
            if a.at < first.0 {
                *first = (a.at, a.conn);
            }
        }
        let mut matched = 0;
        for (a, key) in self.arrivals.iter_mut().zip(keys) {
            let Some(key) = key.filter(|k| connections.get(k).is_some_and(|n| *n > 1)) else {
                continue;
            };
            let (at, conn) = earliest[&key];
            let opened_at = delivery.connections[a.conn].opened_at;
            let sign = if at < opened_at {
                Sign::Replayed(conn)
            } else {
                Sign::OtherConnection(conn)
            };
            a.existed_by = Some((at, sign));
            matched += 1;
        }
        Ok(matched)
    }

    /// Sign 3: the time in the data, when every event has one.
    fn sign_by_data_times(&mut self, delivery: &Delivery) -> Result<usize, String> {
        if self.arrivals.is_empty() {
            return Err("no events".to_owned());
        }
        let start = delivery
            .started
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let found: Vec<Option<(f64, f64)>> = self
            .arrivals
            .iter()
            .zip(event_data(delivery))
            .map(|(a, data)| data_time(data, start + a.at.as_secs_f64()))
            .collect();
        let with = found.iter().filter(|f| f.is_some()).count();
        if with == 0 {
            return Err("no time in the data".to_owned());
        }
        if with < found.len() {
            return Err(format!(
                "only {with} of {} events have a time near the probe's clock in their data",
                found.len()
            ));
        }
        let stamps: Vec<(f64, f64)> = found.into_iter().flatten().collect();
        // The times must move forward on each connection, as emission times do.
        for pair in self.arrivals.windows(2).zip(stamps.windows(2)) {
            let ([a, b], [(ta, res), (tb, _)]) = pair else {
                continue;
            };
            if a.conn == b.conn && tb + res < *ta {
                return Err("the times in the data go backwards".to_owned());
            }
        }
        // The smallest delay any event showed: network time plus clock offset.
        let base = self
            .arrivals
            .iter()
            .zip(&stamps)
            .map(|(a, (t, _))| start + a.at.as_secs_f64() - t)
            .fold(f64::INFINITY, f64::min);
        let mut dated = 0;
        for (a, (t, res)) in self.arrivals.iter_mut().zip(&stamps) {
            let existed = t + res + base - start;
            let opened_at = delivery.connections[a.conn].opened_at.as_secs_f64();
            // An event older than the request is history (a replay, a backlog).
            if existed < opened_at || !existed.is_finite() {
                continue;
            }
            let existed = Duration::from_secs_f64(existed.max(0.0));
            if a.existed_by.is_none_or(|(e, _)| existed < e) {
                a.existed_by = Some((existed, Sign::DataTime));
            }
            dated += 1;
        }
        Ok(dated)
    }
}

/// Events of a connection, on the observation's clock, grouped into reads.
fn read_events<'a>(
    conn: usize,
    timeline: &'a Timeline,
    arrivals: &mut Vec<Arrival>,
    reads: &mut Vec<Read>,
    keys: &mut Vec<Option<Key<'a>>>,
) {
    let c = &timeline.capture;
    let head = timeline.opened_at + c.head_at;
    let mut chunk = 0;
    let mut last_byte = head;
    let mut open_read: Option<usize> = None;
    for seen in &c.seen {
        let SeenKind::Event {
            event_type,
            data,
            id,
            sets_id,
        } = &seen.kind
        else {
            continue;
        };
        let at = timeline.opened_at + seen.at;
        let joins =
            open_read.is_some_and(|r| at <= reads[r].at + TOGETHER && reads[r].conn == conn);
        if !joins {
            // The silence before this read: since the last byte before it.
            while let Some((chunk_at, _)) = c.chunks.get(chunk) {
                let chunk_at = timeline.opened_at + *chunk_at;
                if chunk_at + TOGETHER >= at {
                    break;
                }
                last_byte = chunk_at;
                chunk += 1;
            }
            reads.push(Read {
                conn,
                at,
                silence: at.saturating_sub(last_byte),
                events: Vec::new(),
            });
            open_read = Some(reads.len() - 1);
        }
        let read = open_read.unwrap_or_default();
        reads[read].events.push(arrivals.len());
        keys.push((*sets_id && !id.is_empty()).then_some((
            id.as_str(),
            event_type.as_str(),
            data.as_str(),
        )));
        arrivals.push(Arrival {
            conn,
            at,
            offset: seen.offset,
            id: if *sets_id { id.clone() } else { String::new() },
            read,
            existed_by: None,
            lag: Duration::ZERO,
        });
    }
}

/// The data of every event, in the order of [`read_events`].
fn event_data(delivery: &Delivery) -> impl Iterator<Item = &str> {
    delivery.connections.iter().flat_map(|t| {
        t.capture.seen.iter().filter_map(|s| match &s.kind {
            SeenKind::Event { data, .. } => Some(data.as_str()),
            _ => None,
        })
    })
}

/// Whether the connections' ids name one shared stream. Events a later
/// connection received that the first one had before the later one's request
/// must be a replay: the events after the id it resumed from, in order, first.
/// Anything else (ids restarting at 1 per connection, a backlog sent to every new
/// client) means equal ids need not be one event produced once.
fn shared_stream(
    arrivals: &[Arrival],
    keys: &[Option<Key<'_>>],
    delivery: &Delivery,
) -> Result<(), String> {
    let first: Vec<(Duration, Key<'_>)> = arrivals
        .iter()
        .zip(keys)
        .filter(|(a, _)| a.conn == 0)
        .filter_map(|(a, k)| k.map(|k| (a.at, k)))
        .collect();
    for (conn, timeline) in delivery.connections.iter().enumerate().skip(1) {
        let before: Vec<Key<'_>> = first
            .iter()
            .filter(|(at, _)| *at < timeline.opened_at)
            .map(|(_, k)| *k)
            .collect();
        let known: HashSet<Key<'_>> = before.iter().copied().collect();
        let own: Vec<Key<'_>> = arrivals
            .iter()
            .zip(keys)
            .filter(|(a, _)| a.conn == conn)
            .filter_map(|(_, k)| *k)
            .collect();
        let old: Vec<Key<'_>> = own.iter().copied().filter(|k| known.contains(k)).collect();
        if old.is_empty() {
            continue;
        }
        let after = timeline
            .resumed_from
            .as_deref()
            .and_then(|from| before.iter().rposition(|k| k.0 == from))
            .map_or(&[][..], |i| &before[i + 1..]);
        let replay = old.len() <= after.len() && old == after[..old.len()] && own.starts_with(&old);
        if !replay {
            return Err(format!(
                "the ids are not one shared stream (connection {} got id {:?}, which \
                 connection 1 had before it connected, and not as a replay)",
                conn + 1,
                old[0].0
            ));
        }
    }
    Ok(())
}

/// The first time in `text` within [`CLOCK_SLACK`] of `near` (Unix seconds):
/// an RFC 3339 date-time, or a Unix time in seconds (10 digits, any fraction) or
/// milliseconds (13 digits). Returns the time and its resolution, in seconds.
pub(crate) fn data_time(text: &str, near: f64) -> Option<(f64, f64)> {
    let s = text.as_bytes();
    let mut i = 0;
    while i < s.len() {
        let starts_word = i == 0 || !s[i - 1].is_ascii_alphanumeric();
        if !(starts_word && s[i].is_ascii_digit()) {
            i += 1;
            continue;
        }
        let mut end = i;
        while s.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
        let found = rfc3339(&s[i..]).or_else(|| unix_time(s, i, end));
        if let Some((t, res)) = found
            && (t - near).abs() <= CLOCK_SLACK
        {
            return Some((t, res));
        }
        i = end;
    }
    None
}

/// A Unix time in seconds (10 digits, optional fraction) or milliseconds (13
/// digits) in `s[start..end]`, not followed by a letter or digit.
fn unix_time(s: &[u8], start: usize, end: usize) -> Option<(f64, f64)> {
    let digits = std::str::from_utf8(&s[start..end]).ok()?;
    let whole: f64 = digits.parse().ok()?;
    let next = s.get(end).copied();
    match digits.len() {
        13 if !next.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'.') => {
            Some((whole / 1000.0, 0.001))
        }
        10 => {
            let mut frac_end = end;
            if next == Some(b'.') {
                frac_end += 1;
                while s.get(frac_end).is_some_and(u8::is_ascii_digit) {
                    frac_end += 1;
                }
            }
            if s.get(frac_end).is_some_and(u8::is_ascii_alphanumeric) {
                return None;
            }
            let frac_digits = frac_end.saturating_sub(end + 1);
            let value: f64 = std::str::from_utf8(&s[start..frac_end])
                .ok()?
                .parse()
                .ok()?;
            Some((value, 10f64.powi(-(frac_digits.min(9) as i32))))
        }
        _ => None,
    }
}

/// An RFC 3339 date-time at the start of `s` (`2026-12-06T16:54:13.123Z`; a
/// space for the `T`, no zone for UTC), as Unix seconds and its resolution.
fn rfc3339(s: &[u8]) -> Option<(f64, f64)> {
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = s.get(from..from + len)?;
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| std::str::from_utf8(part).ok()?.parse().ok())?
    };
    let punct = |at: usize, any: &[u8]| s.get(at).is_some_and(|b| any.contains(b));
    if !(punct(4, b"-")
        && punct(7, b"-")
        && punct(10, b"Tt ")
        && punct(13, b":")
        && punct(16, b":"))
    {
        return None;
    }
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut at = 19;
    let mut fraction = 0.0;
    let mut resolution = 1.0;
    if punct(at, b".,") {
        let mut end = at + 1;
        while s.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
        let digits = end - at - 1;
        if digits == 0 {
            return None;
        }
        let text = std::str::from_utf8(&s[at + 1..end.min(at + 10)]).ok()?;
        fraction = text.parse::<f64>().ok()? / 10f64.powi(text.len() as i32);
        resolution = 10f64.powi(-(digits.min(9) as i32));
        at = end;
    }
    let zone = match s.get(at) {
        Some(b'Z' | b'z') => 0,
        Some(sign @ (b'+' | b'-')) => {
            let hours = num(at + 1, 2)?;
            let minutes = if punct(at + 3, b":") {
                num(at + 4, 2)?
            } else {
                num(at + 3, 2)?
            };
            let offset = (hours * 60 + minutes) * 60;
            if *sign == b'+' { offset } else { -offset }
        }
        _ => 0,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - zone;
    Some((seconds as f64 + fraction, resolution))
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sse::capture::BodyEnd;

    /// A connection opened at `opened` ms whose events (`id`, data) arrive at the
    /// given ms after `opened`, one chunk each.
    fn connection(opened: u64, resumed: Option<&str>, events: &[(u64, &str, &str)]) -> Timeline {
        let mut c = Capture::new(200, "HTTP/1.1", Vec::new(), Duration::from_millis(1));
        let mut last = Duration::from_millis(1);
        for (ms, id, data) in events {
            last = Duration::from_millis(*ms);
            c.push(last, format!("id: {id}\ndata: {data}\n\n").as_bytes());
        }
        c.finish(BodyEnd::WindowOver, last + Duration::from_millis(10));
        Timeline {
            capture: c,
            opened_at: Duration::from_millis(opened),
            resumed_from: resumed.map(str::to_owned),
        }
    }

    fn judge(connections: Vec<Timeline>) -> Judgement {
        Judgement::of(&Delivery {
            started: UNIX_EPOCH + Duration::from_secs(1_800_000_000),
            connections,
        })
    }

    fn late_ids(j: &Judgement) -> Vec<(usize, String, u64)> {
        j.late()
            .map(|a| (a.conn, a.id.clone(), a.lag.as_millis() as u64))
            .collect()
    }

    #[test]
    fn the_same_bursts_on_every_connection_are_not_holding() {
        // A server that writes three events at once every 3 s: every connection
        // gets each burst at the same moment.
        let burst = |at: u64| [(at, "1", "a"), (at, "2", "b"), (at, "3", "c")];
        let mut first = burst(1000).to_vec();
        first.extend([(4000, "4", "d"), (4000, "5", "e"), (4000, "6", "f")]);
        let j = judge(vec![
            connection(0, None, &first),
            connection(
                2000,
                Some("2"),
                &[
                    (2, "3", "c"),
                    (2000, "4", "d"),
                    (2000, "5", "e"),
                    (2000, "6", "f"),
                ],
            ),
        ]);
        assert_eq!(j.shared, Ok(8), "4 events, each on both connections");
        assert_eq!(late_ids(&j), []);
        assert_eq!(j.reads.iter().filter(|r| r.events.len() == 3).count(), 3);
    }

    #[test]
    fn an_event_another_connection_had_earlier_is_late() {
        // Connection 1 gets 2 and 3 together at 2 s; connection 2 had 2 at 1 s.
        let j = judge(vec![
            connection(
                0,
                None,
                &[(500, "1", "a"), (2000, "2", "b"), (2000, "3", "c")],
            ),
            connection(700, Some("0"), &[(300, "2", "b"), (1300, "3", "c")]),
        ]);
        assert_eq!(late_ids(&j), [(0, "2".to_owned(), 1000)]);
        let read = &j.reads[j.arrivals[1].read];
        assert_eq!(read.events.len(), 2);
        assert_eq!(read.silence, Duration::from_millis(1500));
    }

    #[test]
    fn a_replayed_event_held_behind_the_head_is_late() {
        // Connection 2 resumes after "1"; "2", which connection 1 had at 0.5 s,
        // comes 0.7 s after its head.
        let j = judge(vec![
            connection(
                0,
                None,
                &[(250, "1", "a"), (500, "2", "b"), (1400, "3", "c")],
            ),
            connection(600, Some("1"), &[(700, "2", "b"), (800, "3", "c")]),
        ]);
        let late: Vec<_> = j
            .late()
            .map(|a| (a.conn, a.id.as_str(), a.existed_by.map(|e| e.1)))
            .collect();
        assert_eq!(late, [(1, "2", Some(Sign::Replayed(0)))]);
    }

    #[test]
    fn per_connection_counters_are_not_one_stream() {
        // sse-starlette: every connection counts from 1 with the same data.
        let j = judge(vec![
            connection(
                0,
                None,
                &[
                    (500, "1", "tick 1"),
                    (1000, "2", "tick 2"),
                    (1500, "3", "tick 3"),
                ],
            ),
            connection(
                1200,
                Some("2"),
                &[(500, "1", "tick 1"), (1000, "2", "tick 2")],
            ),
        ]);
        assert!(
            j.shared.as_ref().is_err_and(|e| e.contains("id \"1\"")),
            "{:?}",
            j.shared
        );
        assert_eq!(j.judged().count(), 0);
        assert!(j.undated_because().contains("no time in the data"));
    }

    #[test]
    fn a_backlog_sent_to_every_client_is_not_a_replay() {
        // Every new client first gets the last two events, whatever it asked:
        // connection 2 resumed after "3" and got "2" and "3" again, later.
        let j = judge(vec![
            connection(
                0,
                None,
                &[(100, "1", "a"), (500, "2", "b"), (900, "3", "c")],
            ),
            connection(
                1000,
                Some("3"),
                &[(900, "2", "b"), (900, "3", "c"), (1000, "4", "d")],
            ),
        ]);
        assert!(j.shared.is_err(), "{:?}", j.shared);
        assert_eq!(late_ids(&j), []);
    }

    #[test]
    fn times_in_the_data_date_events_without_ids() {
        let start = 1_800_000_000.0;
        let at = |s: f64| format!("{{\"time\": \"{}\"}}", iso(start + s));
        // Produced every 0.2 s; the third is held until 1.0 s with the fourth.
        let events = [
            (200, at(0.2)),
            (400, at(0.4)),
            (1000, at(0.6)),
            (1000, at(0.8)),
            (1200, at(1.2)),
        ];
        let mut c = Capture::new(200, "HTTP/1.1", Vec::new(), Duration::from_millis(1));
        for (ms, data) in &events {
            c.push(
                Duration::from_millis(*ms),
                format!("data: {data}\n\n").as_bytes(),
            );
        }
        c.finish(BodyEnd::WindowOver, Duration::from_millis(1300));
        let j = judge(vec![Timeline {
            capture: c,
            opened_at: Duration::ZERO,
            resumed_from: None,
        }]);
        assert_eq!(j.stamped, Ok(5));
        let lags: Vec<u64> = j
            .arrivals
            .iter()
            .map(|a| a.lag.as_millis() as u64)
            .collect();
        // 1 ms of resolution is taken off in the events' favour.
        assert!(lags[2] >= 390 && lags[2] <= 400, "{lags:?}");
        assert!(lags[0] == 0 && lags[1] == 0 && lags[4] == 0, "{lags:?}");
    }

    /// `s` Unix seconds as RFC 3339 with milliseconds.
    fn iso(s: f64) -> String {
        let secs = s.floor() as i64;
        let ms = ((s - secs as f64) * 1000.0).round() as i64;
        let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        // Only dates in 2027 are needed here.
        let mut day = days - days_from_civil(2027, 1, 1);
        let mut month = 1;
        let lengths = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        while day >= lengths[month - 1] {
            day -= lengths[month - 1];
            month += 1;
        }
        format!(
            "2027-{month:02}-{:02}T{:02}:{:02}:{:02}.{ms:03}Z",
            day + 1,
            rem / 3600,
            rem % 3600 / 60,
            rem % 60
        )
    }

    #[test]
    fn data_times_are_found_near_the_clock_only() {
        let near = 1_800_000_000.0;
        assert_eq!(
            data_time("at 2027-01-15T08:00:00Z", near),
            Some((near, 1.0))
        );
        let t = data_time(r#"{"t":"2027-01-15T09:00:00.250+01:00"}"#, near).unwrap();
        assert!(
            (t.0 - (near + 0.25)).abs() < 1e-6 && (t.1 - 0.001).abs() < 1e-12,
            "{t:?}"
        );
        assert_eq!(
            data_time("ts=1800000000123;", near),
            Some((1_800_000_000.123, 0.001))
        );
        assert_eq!(
            data_time("1800000001.5", near),
            Some((1_800_000_001.5, 0.1))
        );
        assert_eq!(data_time("id 1700000000123 far from now", near), None);
        assert_eq!(data_time("event 24 line 2 of 3", near), None);
        assert_eq!(data_time("x1800000000", near), None);
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }
}
