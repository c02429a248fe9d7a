//! The host's HTTP/1.1 server: raw tokio on loopback, so that every byte and
//! every write is the script's. Each case has its own path, `/case/<n>/…`;
//! the server plays the case's [`Script`] across its requests and records
//! each of them in the case's [`CaseWire`] (bounded: [`MAX_REQUESTS_KEPT`]).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};

use super::page::PageBoard;
use super::script::{LAST_CHUNK, Script, Step, chunk_bytes, head_bytes};
use super::side;
use crate::host::ws::head::{HeadRead, read_head};
use crate::serve::listener::BoundedListener;

/// The most requests a case keeps (later ones are counted).
pub const MAX_REQUESTS_KEPT: usize = 64;

/// The most TCP connections open at once; more are closed as soon as they are
/// accepted, so a client that opens connections without end is bounded.
pub const MAX_CONNECTIONS: usize = 512;

/// The longest a held case holds its replies.
pub const HOLD_LIMIT: Duration = Duration::from_secs(5);

/// How long a client may take to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(5);

/// One request a client made, as the cases judge it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenRequest {
    /// When its head was complete, since the case began.
    pub at: Duration,
    /// The method.
    pub method: String,
    /// The request target.
    pub target: String,
    /// `Accept`, if sent.
    pub accept: Option<String>,
    /// `Cache-Control`, if sent.
    pub cache_control: Option<String>,
    /// `Last-Event-ID`, if sent (invalid UTF-8 as U+FFFD).
    pub last_event_id: Option<String>,
    /// The time since the previous request's connection ended (none for the
    /// first request, or when the previous one had not ended).
    pub since_previous_end: Option<Duration>,
}

impl SeenRequest {
    /// One line for a transcript.
    pub fn describe(&self, number: usize) -> String {
        let gap = match self.since_previous_end {
            Some(gap) => format!(
                ", {} ms after the previous connection ended",
                gap.as_millis()
            ),
            None => String::new(),
        };
        let field = |name: &str, value: &Option<String>| match value {
            Some(v) => format!("; {name}: {v:?}"),
            None => format!("; no {name}"),
        };
        format!(
            "request {number}{gap}: {} {}{}{}{}",
            self.method,
            self.target,
            field("Accept", &self.accept),
            field("Cache-Control", &self.cache_control),
            field("Last-Event-ID", &self.last_event_id),
        )
    }
}

/// What the server saw of one case's requests.
#[derive(Debug, Default, Clone)]
pub struct WireLog {
    /// The requests, in arrival order (at most [`MAX_REQUESTS_KEPT`]).
    pub requests: Vec<SeenRequest>,
    /// Every request, kept or not.
    pub total: usize,
    /// When each request's connection ended, by request index (none while
    /// it is open).
    pub ended: Vec<Option<Duration>>,
    /// When the latest connection ended.
    last_end: Option<Instant>,
}

/// One case on the wire: its script, its log, and the signal that it is over.
#[derive(Debug)]
pub struct CaseWire {
    /// The case's number in its path.
    pub number: u64,
    script: Script,
    began: Instant,
    log: Mutex<WireLog>,
    /// Signalled at every request and every connection end.
    pub changed: Notify,
    over: watch::Sender<bool>,
    /// False while the case holds its replies (see [`SseHostServer::open_held_case`]).
    ready: watch::Sender<bool>,
}

impl CaseWire {
    /// A copy of the log.
    pub fn log(&self) -> WireLog {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// When the case began.
    pub fn began(&self) -> Instant {
        self.began
    }

    /// Lets a held case play its replies.
    pub fn release(&self) {
        self.ready.send_replace(true);
    }

    /// Ends the case: held connections close, later requests get 404.
    pub fn finish(&self) {
        self.over.send_replace(true);
    }

    fn record(&self, request: SeenRequest) -> usize {
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        let index = log.total;
        log.total += 1;
        if log.requests.len() < MAX_REQUESTS_KEPT {
            let since = log.last_end.map(|end| end.elapsed());
            let open_before = log.ended.iter().any(Option::is_none);
            log.requests.push(SeenRequest {
                since_previous_end: if open_before { None } else { since },
                ..request
            });
            log.ended.push(None);
        }
        drop(log);
        self.changed.notify_waiters();
        index
    }

    fn ended(&self, index: usize) {
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        let at = self.began.elapsed();
        if let Some(slot) = log.ended.get_mut(index) {
            *slot = Some(at);
        }
        log.last_end = Some(Instant::now());
        drop(log);
        self.changed.notify_waiters();
    }
}

/// The running server.
#[derive(Debug)]
pub struct SseHostServer {
    addr: SocketAddr,
    cases: Arc<Mutex<HashMap<u64, Arc<CaseWire>>>>,
    next: AtomicU64,
    task: tokio::task::JoinHandle<()>,
    board: PageBoard,
}

impl SseHostServer {
    /// Listens on `addr` and serves until dropped.
    ///
    /// # Errors
    ///
    /// The address cannot be bound.
    pub async fn start(addr: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let listener = BoundedListener::new(listener, MAX_CONNECTIONS);
        let cases: Arc<Mutex<HashMap<u64, Arc<CaseWire>>>> = Arc::default();
        let routes = Arc::clone(&cases);
        let board = PageBoard::new(Arc::default());
        let pages = board.clone();
        let task = tokio::spawn(async move {
            loop {
                let (stream, admitted) = listener.accept().await;
                let routes = Arc::clone(&routes);
                let pages = pages.clone();
                tokio::spawn(async move {
                    serve_connection(stream, routes, pages).await;
                    drop(admitted);
                });
            }
        });
        Ok(SseHostServer {
            addr,
            cases,
            next: AtomicU64::new(1),
            task,
            board,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The page's board (the page at `/`, the lines of the page and of a
    /// test service's callbacks).
    pub fn board(&self) -> &PageBoard {
        &self.board
    }

    /// Opens a case with `script`; its URL is `http://ADDR/case/<number>/<name>`.
    pub fn open_case(&self, script: Script) -> Arc<CaseWire> {
        let wire = self.open_held_case(script);
        wire.release();
        wire
    }

    /// [`open_case`](Self::open_case), holding the replies until
    /// [`CaseWire::release`] (at most [`HOLD_LIMIT`]): its requests are
    /// recorded when they come, answered once released. A client that must be
    /// told more after it starts (a test service's `listen` commands) gets it
    /// before the stream begins.
    pub fn open_held_case(&self, script: Script) -> Arc<CaseWire> {
        let number = self.next.fetch_add(1, Ordering::Relaxed);
        let (over, _) = watch::channel(false);
        let (ready, _) = watch::channel(false);
        let wire = Arc::new(CaseWire {
            number,
            script,
            began: Instant::now(),
            log: Mutex::new(WireLog::default()),
            changed: Notify::new(),
            over,
            ready,
        });
        self.cases
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(number, Arc::clone(&wire));
        wire
    }

    /// Closes a case: it is forgotten, its held connections end.
    pub fn close_case(&self, wire: &CaseWire) {
        wire.finish();
        self.cases
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&wire.number);
    }

    /// The URL of a case.
    pub fn case_url(&self, wire: &CaseWire, name: &str) -> String {
        format!("http://{}/case/{}/{name}", self.addr, wire.number)
    }
}

impl Drop for SseHostServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The case number in a target `/case/<n>/…`.
fn case_number(target: &str) -> Option<u64> {
    let rest = target.strip_prefix("/case/")?;
    rest.split(['/', '?']).next()?.parse().ok()
}

async fn serve_connection(
    mut stream: TcpStream,
    routes: Arc<Mutex<HashMap<u64, Arc<CaseWire>>>>,
    board: PageBoard,
) {
    let _ = stream.set_nodelay(true);
    let head = match tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut stream)).await {
        Ok(HeadRead::Complete { head, leftover, .. }) => {
            if side::is_side_route(&head.target) {
                side::answer(&mut stream, &head, leftover, &board).await;
                let _ = stream.shutdown().await;
                return;
            }
            head
        }
        Ok(HeadRead::TooLarge) => {
            let _ = stream
                .write_all(b"HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
                .await;
            return;
        }
        Ok(HeadRead::Malformed(_)) => {
            let _ = stream
                .write_all(
                    b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
                )
                .await;
            return;
        }
        Ok(HeadRead::Gone) | Err(_) => return,
    };
    let wire = case_number(&head.target).and_then(|n| {
        routes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&n)
            .cloned()
    });
    let Some(wire) = wire else {
        let _ = stream
            .write_all(b"HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 38\r\n\r\nno such case (it may be over already)\n")
            .await;
        return;
    };
    let over = wire.over.subscribe();
    if *over.borrow() {
        return;
    }
    let index = wire.record(SeenRequest {
        at: wire.began.elapsed(),
        method: head.method.clone(),
        target: head.target.clone(),
        accept: head.header("accept").map(str::to_owned),
        cache_control: head.header("cache-control").map(str::to_owned),
        last_event_id: head.header("last-event-id").map(str::to_owned),
        since_previous_end: None,
    });
    let mut ready = wire.ready.subscribe();
    let _ = tokio::time::timeout(HOLD_LIMIT, ready.wait_for(|ready| *ready)).await;
    play_reply(&mut stream, wire.script.reply(index), over).await;
    let _ = stream.shutdown().await;
    wire.ended(index);
}

/// Plays one reply; returns when the connection is to close.
async fn play_reply(stream: &mut TcpStream, reply: &[Step], mut over: watch::Receiver<bool>) {
    for step in reply {
        let written = match *step {
            Step::Head {
                status,
                content_type,
                location,
                body,
            } => write(stream, &head_bytes(status, content_type, location, body)).await,
            Step::Chunk(data) => write(stream, &chunk_bytes(data)).await,
            Step::Bytewise(text) => {
                let mut ok = true;
                for byte in text {
                    ok = write(stream, &chunk_bytes(std::slice::from_ref(byte))).await;
                    if !ok {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                ok
            }
            Step::BigEvent(size) => write_big_event(stream, size).await,
            Step::Pause(ms) => {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                true
            }
            Step::End => {
                write(stream, LAST_CHUNK).await;
                return;
            }
            Step::Drop => return,
            Step::Hold => {
                hold(stream, &mut over).await;
                return;
            }
        };
        if !written {
            return;
        }
    }
}

async fn write(stream: &mut TcpStream, bytes: &[u8]) -> bool {
    stream.write_all(bytes).await.is_ok() && stream.flush().await.is_ok()
}

async fn write_big_event(stream: &mut TcpStream, size: usize) -> bool {
    const PIECE: usize = 64 * 1024;
    if !write(stream, &chunk_bytes(b"data: ")).await {
        return false;
    }
    let piece = vec![b'a'; PIECE];
    let mut left = size;
    while left > 0 {
        let n = left.min(PIECE);
        if !write(stream, &chunk_bytes(piece.get(..n).unwrap_or_default())).await {
            return false;
        }
        left -= n;
    }
    write(stream, &chunk_bytes(b"\n\n")).await
}

/// Keeps the connection until the case is over or the client closes it
/// (what it sends is read and dropped).
async fn hold(stream: &mut TcpStream, over: &mut watch::Receiver<bool>) {
    let mut sink = [0_u8; 1024];
    loop {
        tokio::select! {
            read = stream.read(&mut sink) => match read {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            },
            changed = over.changed() => {
                if changed.is_err() || *over.borrow() {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::sse::script::STREAM;

    async fn get(addr: SocketAddr, target: &str, extra: &str) -> Vec<u8> {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(
            format!("GET {target} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n{extra}\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn requests_get_their_replies_in_turn_and_are_recorded() {
        let server = SseHostServer::start("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let wire = server.open_case(Script {
            replies: &[&[STREAM, Step::Chunk(b"id: 1\n\n"), Step::End]],
            then: &[Step::Head {
                status: 204,
                content_type: None,
                location: None,
                body: false,
            }],
        });
        let target = format!("/case/{}/t", wire.number);
        let first = get(server.addr(), &target, "").await;
        let text = String::from_utf8_lossy(&first);
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(text.ends_with("7\r\nid: 1\n\n\r\n0\r\n\r\n"), "{text}");
        let second = get(server.addr(), &target, "Last-Event-ID: 1\r\n").await;
        assert!(second.starts_with(b"HTTP/1.1 204 "));
        let log = wire.log();
        assert_eq!(log.total, 2);
        assert_eq!(log.requests[0].accept.as_deref(), Some("text/event-stream"));
        assert_eq!(log.requests[1].last_event_id.as_deref(), Some("1"));
        assert!(log.requests[1].since_previous_end.is_some());
        server.close_case(&wire);
        let gone = get(server.addr(), &target, "").await;
        assert!(gone.starts_with(b"HTTP/1.1 404 "));
    }

    #[tokio::test]
    async fn a_held_case_answers_only_once_released() {
        let server = SseHostServer::start("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let script = Script {
            replies: &[],
            then: &[STREAM, Step::End],
        };
        // Released before any request: the release is kept.
        let early = server.open_held_case(script);
        early.release();
        let target = format!("/case/{}/t", early.number);
        let answer = tokio::time::timeout(Duration::from_secs(2), get(server.addr(), &target, ""))
            .await
            .expect("a case released before its request answers at once");
        assert!(answer.starts_with(b"HTTP/1.1 200 OK\r\n"));
        // Held: the request is recorded, the answer waits for the release.
        let held = server.open_held_case(script);
        let target = format!("/case/{}/t", held.number);
        let addr = server.addr();
        let request = tokio::spawn(async move { get(addr, &target, "").await });
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(held.log().total, 1);
        assert!(!request.is_finished());
        held.release();
        let answer = tokio::time::timeout(Duration::from_secs(2), request)
            .await
            .unwrap()
            .unwrap();
        assert!(answer.starts_with(b"HTTP/1.1 200 OK\r\n"));
    }
}
