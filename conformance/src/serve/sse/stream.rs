//! One event stream: the task that writes a response body, clean or with its
//! fault, and the output stage that passes chunks on, holds them (the buffering
//! faults) or compresses them.

use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use pulsecheck_sse::encode::{encode_comment, encode_retry};
use tokio::sync::{broadcast, mpsc};
use tokio::time::{Instant, Interval, MissedTickBehavior};

use super::Shared;
use super::events::{Event, Subscription, three_lines};
use super::fault::{
    BUFFER_BYTES, DEFAULT_END_AFTER, Fault, HUGE_EVENT_BYTES, QUIET_AFTER, SLOW_HEARTBEAT,
};
use crate::serve::stopped;

/// The client went away (the response body was dropped) before the stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Gone;

/// How the output stage treats what the stream writes.
#[derive(Debug)]
enum Mode {
    /// Every write is one body frame, passed on at once.
    Plain,
    /// Writes are held until [`BUFFER_BYTES`] accumulate ([`Fault::Buffered`]).
    Buffered(Vec<u8>),
    /// Writes go through a gzip compressor that is never flushed
    /// ([`Fault::GzipBuffered`]). Boxed: flate2's zlib-rs backend, which
    /// pulsecheck-ws enables, makes the encoder too big to hold inline.
    Gzip(Box<GzEncoder<Vec<u8>>>),
    /// An event is held until the next one is written, then both go out in one
    /// frame ([`Fault::HeldUntilNext`]). `held` keeps the held event and whatever
    /// was written behind it; `holding` says whether an event is waiting.
    HeldUntilNext {
        /// The held bytes.
        held: Vec<u8>,
        /// Whether `held` starts with an event waiting for its successor.
        holding: bool,
    },
}

/// The output stage: writes become body frames on a bounded channel that the
/// response body reads, so a client that reads slowly slows the stream down and
/// memory stays bounded.
#[derive(Debug)]
pub(crate) struct Out {
    tx: mpsc::Sender<Bytes>,
    mode: Mode,
}

/// How a response is to be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// As produced, one frame per write.
    Plain,
    /// Held back in 8 KiB batches.
    Buffered,
    /// Gzip-compressed without flushing.
    Gzip,
    /// Each event held until the next one, then both released.
    HeldUntilNext,
}

impl Out {
    /// An output stage that writes to `tx`.
    pub(crate) fn new(tx: mpsc::Sender<Bytes>, encoding: Encoding) -> Out {
        let mode = match encoding {
            Encoding::Plain => Mode::Plain,
            Encoding::Buffered => Mode::Buffered(Vec::with_capacity(BUFFER_BYTES * 2)),
            Encoding::Gzip => {
                Mode::Gzip(Box::new(GzEncoder::new(Vec::new(), Compression::default())))
            }
            Encoding::HeldUntilNext => Mode::HeldUntilNext {
                held: Vec::new(),
                holding: false,
            },
        };
        Out { tx, mode }
    }

    async fn send(tx: &mpsc::Sender<Bytes>, bytes: Bytes) -> Result<(), Gone> {
        tx.send(bytes).await.map_err(|_| Gone)
    }

    /// Writes one whole event; fails once the client has gone. Only
    /// [`Mode::HeldUntilNext`] treats events apart from other writes.
    async fn write_event(&mut self, bytes: Bytes) -> Result<(), Gone> {
        let Out {
            tx,
            mode: Mode::HeldUntilNext { held, holding },
        } = self
        else {
            return self.write(bytes).await;
        };
        held.extend_from_slice(&bytes);
        if *holding {
            // The next event came: the held one goes out with it.
            *holding = false;
            let pair = Bytes::from(core::mem::take(held));
            return Out::send(tx, pair).await;
        }
        *holding = true;
        if tx.is_closed() { Err(Gone) } else { Ok(()) }
    }

    /// Writes bytes; fails once the client has gone.
    async fn write(&mut self, bytes: Bytes) -> Result<(), Gone> {
        let Out { tx, mode } = self;
        match mode {
            // Nothing waits: pass it on. Something waits: queue behind it.
            Mode::HeldUntilNext { held, holding } => {
                if !*holding {
                    return Out::send(tx, bytes).await;
                }
                held.extend_from_slice(&bytes);
                if tx.is_closed() { Err(Gone) } else { Ok(()) }
            }
            Mode::Plain => Out::send(tx, bytes).await,
            Mode::Buffered(held) => {
                held.extend_from_slice(&bytes);
                if held.len() >= BUFFER_BYTES {
                    let batch = Bytes::from(core::mem::take(held));
                    return Out::send(tx, batch).await;
                }
                if tx.is_closed() { Err(Gone) } else { Ok(()) }
            }
            Mode::Gzip(encoder) => {
                // Writing into a Vec cannot fail.
                if encoder.write_all(&bytes).is_err() {
                    return Err(Gone);
                }
                let compressed = core::mem::take(encoder.get_mut());
                if !compressed.is_empty() {
                    return Out::send(tx, Bytes::from(compressed)).await;
                }
                if tx.is_closed() { Err(Gone) } else { Ok(()) }
            }
        }
    }

    /// Lets out whatever is held, at the end of the response.
    async fn finish(&mut self) -> Result<(), Gone> {
        let Out { tx, mode } = self;
        let rest = match mode {
            Mode::Plain => return Ok(()),
            Mode::Buffered(held) | Mode::HeldUntilNext { held, .. } => core::mem::take(held),
            Mode::Gzip(encoder) => {
                if encoder.try_finish().is_err() {
                    return Err(Gone);
                }
                core::mem::take(encoder.get_mut())
            }
        };
        if rest.is_empty() {
            return Ok(());
        }
        Out::send(tx, Bytes::from(rest)).await
    }

    /// Resolves when the client has gone.
    async fn closed(&self) {
        self.tx.closed().await;
    }
}

/// What one response is to send, decided by the request handler.
#[derive(Debug)]
pub(crate) struct Plan {
    /// The server's fault, if any.
    pub(crate) fault: Option<Fault>,
    /// The `retry` value to announce.
    pub(crate) retry_ms: u64,
    /// The heartbeat period (before faults change it).
    pub(crate) heartbeat: Duration,
    /// `?limit=N`: live events to send after the replay before ending.
    pub(crate) limit: Option<u64>,
    /// An event never to send ([`Fault::ReplayGap`]).
    pub(crate) skip_id: Option<u64>,
    /// The replay and the live subscription.
    pub(crate) subscription: Subscription,
}

/// Runs one stream until it ends, the client goes away, or the server stops.
/// Returns [`Gone`] only when the client went away first.
pub(crate) async fn run(shared: Arc<Shared>, plan: Plan, out: Out) -> Result<(), Gone> {
    let mut stop = shared.stop.subscribe();
    let Plan {
        fault,
        retry_ms,
        heartbeat,
        limit,
        skip_id,
        subscription,
    } = plan;
    let mut writer = Writer {
        fault,
        retry_ms,
        retry_line: retry_line(fault, retry_ms),
        skip_id,
        out,
        n_sent: 0,
        prev_id: None,
    };
    let heartbeat = match fault {
        Some(Fault::NoHeartbeat) => None,
        Some(Fault::SlowHeartbeat) => Some(SLOW_HEARTBEAT),
        _ => Some(heartbeat),
    };
    let end_after = match fault {
        Some(Fault::CutsLastEvent | Fault::RetryInDroppedBlock) => {
            Some(limit.unwrap_or(DEFAULT_END_AFTER).max(1))
        }
        _ => limit,
    };
    let quiet_after = match fault {
        Some(Fault::NoHeartbeat | Fault::SlowHeartbeat) => Some(QUIET_AFTER),
        _ => None,
    };
    let live = Live {
        shared: Arc::clone(&shared),
        heartbeat,
        end_after,
        quiet_after,
    };
    tokio::select! {
        result = writer.stream(subscription, live) => result,
        () = stopped(&mut stop) => Ok(()),
    }
}

/// The rules of the live part of a stream.
#[derive(Debug)]
struct Live {
    shared: Arc<Shared>,
    heartbeat: Option<Duration>,
    end_after: Option<u64>,
    quiet_after: Option<u64>,
}

/// The heartbeat comment, as clients see it: a comment line (WHATWG §9.2.6).
fn heartbeat_bytes() -> Bytes {
    let mut out = Vec::with_capacity(12);
    encode_comment(&mut out, " heartbeat");
    Bytes::from(out)
}

/// Ticks of an optional interval; never, without one.
async fn tick(interval: &mut Option<Interval>) {
    match interval {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending::<()>().await,
    }
}

/// 128 KiB of `x`, the endless line of [`Fault::NeverEndsLine`].
static XS: [u8; 128 << 10] = [b'x'; 128 << 10];

/// How often [`Fault::NeverEndsLine`] sends another [`XS`] (about 25 MB/s).
const XS_PERIOD: Duration = Duration::from_millis(5);

/// The length of one line of [`Fault::HugeEvent`]'s data, line end included.
const HUGE_LINE: usize = 1024;

/// 64 KiB of `data: xxx…` lines, [`HUGE_LINE`] bytes each.
static HUGE_LINES: [u8; 64 << 10] = huge_lines();

const fn huge_lines() -> [u8; 64 << 10] {
    let mut out = [b'x'; 64 << 10];
    let mut line = 0;
    while line < out.len() {
        out[line] = b'd';
        out[line + 1] = b'a';
        out[line + 2] = b't';
        out[line + 3] = b'a';
        out[line + 4] = b':';
        out[line + 5] = b' ';
        out[line + HUGE_LINE - 1] = b'\n';
        line += HUGE_LINE;
    }
    out
}

/// The `retry` lines a stream sends in the block of its first event: `retry: N`,
/// two invalid values under [`Fault::BadRetry`], none under the faults that send
/// their `retry` elsewhere.
fn retry_line(fault: Option<Fault>, retry_ms: u64) -> Option<Bytes> {
    let mut out = Vec::with_capacity(32);
    match fault {
        Some(Fault::RetryInDroppedBlock | Fault::RetryOnlyBlock | Fault::Stalls) => return None,
        Some(Fault::BadRetry) => {
            out.extend_from_slice(format!("retry: {retry_ms}ms\nretry: +{retry_ms}\n").as_bytes());
        }
        _ => encode_retry(&mut out, retry_ms),
    }
    Some(Bytes::from(out))
}

/// Writes one stream's events, with the content faults applied.
#[derive(Debug)]
struct Writer {
    fault: Option<Fault>,
    retry_ms: u64,
    /// The `retry` lines still to send, in the block of the next event written.
    retry_line: Option<Bytes>,
    skip_id: Option<u64>,
    out: Out,
    /// Events sent on this stream so far.
    n_sent: u64,
    /// The id written with the last event sent.
    prev_id: Option<u64>,
}

impl Writer {
    /// The whole stream: preamble, replay, live events and heartbeats, end.
    async fn stream(&mut self, subscription: Subscription, live: Live) -> Result<(), Gone> {
        if self.fault == Some(Fault::Stalls) {
            self.out.closed().await;
            return Err(Gone);
        }
        self.preamble().await?;
        match self.fault {
            Some(Fault::NeverEndsLine) => return self.never_end_line().await,
            Some(Fault::HugeEvent) => self.huge_event().await?,
            _ => {}
        }
        let Subscription {
            replay,
            live: mut receiver,
            cursor,
            ..
        } = subscription;
        for event in &replay {
            self.emit(event, false).await?;
        }
        drop(replay);
        if live.end_after == Some(0) {
            return self.end().await;
        }
        let mut heartbeat = live.heartbeat.map(|period| {
            let mut interval = tokio::time::interval_at(Instant::now() + period, period);
            interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
            interval
        });
        let heartbeat_bytes = heartbeat_bytes();
        let mut cursor = cursor;
        let mut sent_live = 0u64;
        loop {
            let events = tokio::select! {
                biased;
                () = self.out.closed() => return Err(Gone),
                () = tick(&mut heartbeat) => {
                    self.out.write(heartbeat_bytes.clone()).await?;
                    continue;
                }
                received = receiver.recv() => match received {
                    Ok(event) => vec![event],
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        match live.shared.events.catch_up(cursor) {
                            Some(events) => events,
                            // What this client missed has left the log: end the
                            // response; it reconnects with its Last-Event-ID.
                            None => return self.end().await,
                        }
                    }
                    // The generator stopped: the server is shutting down.
                    Err(broadcast::error::RecvError::Closed) => return self.end().await,
                },
            };
            for event in events {
                if event.id <= cursor {
                    continue;
                }
                cursor = event.id;
                if live.quiet_after.is_some_and(|quiet| sent_live >= quiet) {
                    continue;
                }
                sent_live += 1;
                let last = live.end_after.is_some_and(|n| sent_live >= n);
                self.emit(&event, last).await?;
                if last {
                    return self.end().await;
                }
            }
        }
    }

    /// What comes before the events: nothing on a clean stream (its `retry` goes
    /// with the first event); under [`Fault::RetryOnlyBlock`], `retry: N` and a
    /// blank line, a block without data.
    async fn preamble(&mut self) -> Result<(), Gone> {
        if self.fault != Some(Fault::RetryOnlyBlock) {
            return Ok(());
        }
        let mut out = Vec::with_capacity(24);
        encode_retry(&mut out, self.retry_ms);
        out.push(b'\n');
        self.out.write(Bytes::from(out)).await
    }

    /// `bytes`, after the `retry` lines if they are still to be sent: they join
    /// the block that `bytes` begins.
    fn with_retry(&mut self, bytes: Bytes) -> Bytes {
        match self.retry_line.take() {
            Some(retry) => {
                let mut out = Vec::with_capacity(retry.len() + bytes.len());
                out.extend_from_slice(&retry);
                out.extend_from_slice(&bytes);
                Bytes::from(out)
            }
            None => bytes,
        }
    }

    /// The end of a response that ends.
    async fn end(&mut self) -> Result<(), Gone> {
        if self.fault == Some(Fault::RetryInDroppedBlock) {
            let mut out = Vec::with_capacity(24);
            encode_retry(&mut out, self.retry_ms);
            self.out.write(Bytes::from(out)).await?;
        }
        self.out.finish().await
    }

    /// [`Fault::NeverEndsLine`]: `data: ` and then `x` forever.
    async fn never_end_line(&mut self) -> Result<(), Gone> {
        let start = self.with_retry(Bytes::from_static(b"data: "));
        self.out.write(start).await?;
        let mut interval = tokio::time::interval(XS_PERIOD);
        interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                () = self.out.closed() => return Err(Gone),
                _ = interval.tick() => self.out.write(Bytes::from_static(&XS)).await?,
            }
        }
    }

    /// [`Fault::HugeEvent`]: one event whose data is [`HUGE_EVENT_BYTES`] long.
    async fn huge_event(&mut self) -> Result<(), Gone> {
        let start = self.with_retry(Bytes::from_static(b"event: huge\n"));
        self.out.write(start).await?;
        for _ in 0..HUGE_EVENT_BYTES / HUGE_LINES.len() {
            self.out.write(Bytes::from_static(&HUGE_LINES)).await?;
        }
        self.out.write(Bytes::from_static(b"\n")).await
    }

    /// Sends one event (unless it is the one to skip).
    async fn emit(&mut self, event: &Event, last: bool) -> Result<(), Gone> {
        if self.skip_id == Some(event.id) {
            return Ok(());
        }
        let n = self.n_sent;
        self.n_sent += 1;
        let (bytes, id) = render(self.fault, event, n, self.prev_id, last);
        self.prev_id = Some(id);
        let bytes = self.with_retry(bytes);
        self.out.write_event(bytes).await
    }
}

/// How one event's bytes differ from the clean encoding.
#[derive(Debug, Clone, Copy)]
struct Tweaks<'a> {
    bom: bool,
    crlf: bool,
    id: &'a [u8],
    unknown_fields: bool,
    data_suffix: &'static [u8],
    raw_newlines: bool,
    terminated: bool,
}

impl<'a> Tweaks<'a> {
    fn clean(event: &'a Event) -> Tweaks<'a> {
        Tweaks {
            bom: false,
            crlf: false,
            id: event.id_text.as_bytes(),
            unknown_fields: false,
            data_suffix: b"",
            raw_newlines: false,
            terminated: true,
        }
    }
}

/// The bytes of an event written with `tweaks`; with none, the clean encoding.
fn write_event(event: &Event, lines: &[String], tweaks: &Tweaks<'_>) -> Vec<u8> {
    let eol: &[u8] = if tweaks.crlf { b"\r\n" } else { b"\n" };
    let mut out = Vec::with_capacity(event.encoded.len() + 32);
    let field = |out: &mut Vec<u8>, name: &[u8], value: &[u8]| {
        out.extend_from_slice(name);
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(eol);
    };
    if tweaks.bom {
        out.extend_from_slice("\u{feff}".as_bytes());
    }
    if let Some(event_type) = event.event_type {
        field(&mut out, b"event", event_type.as_bytes());
    }
    field(&mut out, b"id", tweaks.id);
    if tweaks.unknown_fields {
        field(&mut out, b"Data", b"shadow");
        field(&mut out, b"foo", b"bar");
    }
    if tweaks.raw_newlines {
        let mut value = lines.join("\n").into_bytes();
        value.extend_from_slice(tweaks.data_suffix);
        field(&mut out, b"data", &value);
    } else {
        let count = lines.len();
        for (i, line) in lines.iter().enumerate() {
            let mut value = line.as_bytes().to_vec();
            if i + 1 == count {
                value.extend_from_slice(tweaks.data_suffix);
            }
            field(&mut out, b"data", &value);
        }
    }
    if tweaks.terminated {
        out.extend_from_slice(eol);
    }
    out
}

/// The bytes one event is sent as on a stream with `fault`, as the `n`-th event
/// of the stream (from 0), and the id it is sent with.
fn render(
    fault: Option<Fault>,
    event: &Event,
    n: u64,
    prev_id: Option<u64>,
    last: bool,
) -> (Bytes, u64) {
    let clean = (event.encoded.clone(), event.id);
    let Some(fault) = fault else {
        return clean;
    };
    let afflicted = Fault::afflicts(n);
    let mut tweaks = Tweaks::clean(event);
    let mut id = event.id;
    let duplicate;
    let nul_id;
    let forced_lines;
    let mut lines = &event.lines;
    match fault {
        Fault::RawNewlineInData if afflicted || event.lines.len() > 1 => {
            tweaks.raw_newlines = true;
            if event.lines.len() == 1 {
                forced_lines = three_lines(event.id);
                lines = &forced_lines;
            }
        }
        Fault::MixedLineEndings if n % 2 == 1 => tweaks.crlf = true,
        Fault::InvalidUtf8 if afflicted => tweaks.data_suffix = b" \xff\xfe",
        Fault::BomMidStream if afflicted => tweaks.bom = true,
        Fault::UnknownField if afflicted => tweaks.unknown_fields = true,
        Fault::IdWithNul if afflicted => {
            nul_id = format!("{}\0", event.id);
            tweaks.id = nul_id.as_bytes();
        }
        Fault::DuplicateIds if n % 4 == 1 => match prev_id {
            Some(prev) => {
                id = prev;
                duplicate = prev.to_string();
                tweaks.id = duplicate.as_bytes();
            }
            None => return clean,
        },
        Fault::UnterminatedEvents if afflicted => tweaks.terminated = false,
        Fault::CutsLastEvent if last => {
            // Without the blank line and the last data line's LF: the stream
            // ends inside the event's last line.
            let cut = event.encoded.len().saturating_sub(2);
            return (event.encoded.slice(..cut), event.id);
        }
        _ => return clean,
    }
    (Bytes::from(write_event(event, lines, &tweaks)), id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(fault: Fault, id: u64, n: u64, prev: Option<u64>, last: bool) -> Vec<u8> {
        render(Some(fault), &Event::new(id), n, prev, last)
            .0
            .to_vec()
    }

    #[test]
    fn untweaked_writing_is_the_clean_encoding() {
        for id in 1..=24 {
            let event = Event::new(id);
            assert_eq!(
                write_event(&event, &event.lines, &Tweaks::clean(&event)),
                event.encoded.to_vec(),
                "event {id}"
            );
        }
    }

    #[test]
    fn content_faults_spoil_afflicted_events_only() {
        assert_eq!(
            rendered(Fault::RawNewlineInData, 5, 0, None, false),
            b"id: 5\ndata: event 5\nline 2 of 3\nline 3 of 3\n\n"
        );
        assert_eq!(
            rendered(Fault::RawNewlineInData, 5, 1, None, false),
            b"id: 5\ndata: event 5\n\n"
        );
        assert_eq!(
            rendered(Fault::MixedLineEndings, 3, 1, None, false),
            b"event: tick\r\nid: 3\r\ndata: event 3\r\n\r\n"
        );
        assert_eq!(
            rendered(Fault::InvalidUtf8, 4, 0, None, false),
            b"id: 4\ndata: event 4\ndata: line 2 of 3\ndata: line 3 of 3 \xff\xfe\n\n"
        );
        assert_eq!(
            rendered(Fault::BomMidStream, 1, 4, None, false),
            b"\xef\xbb\xbfid: 1\ndata: event 1\n\n"
        );
        assert_eq!(
            rendered(Fault::UnknownField, 1, 0, None, false),
            b"id: 1\nData: shadow\nfoo: bar\ndata: event 1\n\n"
        );
        assert_eq!(
            rendered(Fault::IdWithNul, 1, 0, None, false),
            b"id: 1\0\ndata: event 1\n\n"
        );
        assert_eq!(
            rendered(Fault::DuplicateIds, 2, 1, Some(1), false),
            b"id: 1\ndata: event 2\n\n"
        );
        assert_eq!(
            rendered(Fault::UnterminatedEvents, 1, 0, None, false),
            b"id: 1\ndata: event 1\n"
        );
        assert_eq!(
            rendered(Fault::CutsLastEvent, 1, 3, None, true),
            b"id: 1\ndata: event 1"
        );
        assert_eq!(
            rendered(Fault::CutsLastEvent, 1, 3, None, false),
            b"id: 1\ndata: event 1\n\n"
        );
    }

    #[tokio::test]
    async fn held_events_go_out_in_pairs_with_what_was_written_behind_them() {
        let (tx, mut rx) = mpsc::channel(16);
        let mut out = Out::new(tx, Encoding::HeldUntilNext);
        let mut sent = || {
            let mut frames = Vec::new();
            while let Ok(frame) = rx.try_recv() {
                frames.push(frame.to_vec());
            }
            frames
        };
        out.write(Bytes::from_static(b"retry: 3000\n\n"))
            .await
            .unwrap();
        assert_eq!(
            sent(),
            [b"retry: 3000\n\n".to_vec()],
            "nothing held: at once"
        );
        out.write_event(Bytes::from_static(b"id: 1\n\n"))
            .await
            .unwrap();
        out.write(Bytes::from_static(b": hb\n")).await.unwrap();
        assert!(
            sent().is_empty(),
            "the event waits, and the comment behind it"
        );
        out.write_event(Bytes::from_static(b"id: 2\n\n"))
            .await
            .unwrap();
        assert_eq!(sent(), [b"id: 1\n\n: hb\nid: 2\n\n".to_vec()]);
        out.write_event(Bytes::from_static(b"id: 3\n\n"))
            .await
            .unwrap();
        assert!(sent().is_empty());
        out.finish().await.unwrap();
        assert_eq!(sent(), [b"id: 3\n\n".to_vec()], "the end lets it out");
    }

    #[test]
    fn huge_lines_are_data_lines() {
        for line in HUGE_LINES.chunks(HUGE_LINE) {
            assert!(line.starts_with(b"data: x"));
            assert!(line.ends_with(b"x\n"));
            assert_eq!(line.iter().filter(|b| **b == b'\n').count(), 1);
        }
        assert_eq!(HUGE_EVENT_BYTES % HUGE_LINES.len(), 0);
    }
}
