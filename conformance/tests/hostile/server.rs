//! A tiny blocking TCP server for hostile peers: each connection gets a thread
//! of its own and a handler that does whatever the case needs, as fast as
//! loopback allows. Nothing here is a conformant server; that is the point.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Connections a handler keeps open without serving them (servers that stop
/// reading): held here until the test process ends.
static PARKED: Mutex<Vec<TcpStream>> = Mutex::new(Vec::new());

/// Listens on a free loopback port; each accepted connection is handed to
/// `handle` with its sequence number, on its own thread.
pub(crate) fn serve(handle: impl Fn(TcpStream, u64) + Send + Sync + 'static) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let addr = listener.local_addr().expect("the bound address");
    let handle = std::sync::Arc::new(handle);
    let count = AtomicU64::new(0);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let handle = std::sync::Arc::clone(&handle);
            let n = count.fetch_add(1, Ordering::Relaxed);
            std::thread::spawn(move || handle(stream, n));
        }
    });
    addr
}

/// Keeps `stream` open, unread, until the process ends.
pub(crate) fn park(stream: TcpStream) {
    if let Ok(mut parked) = PARKED.lock() {
        parked.push(stream);
    }
}

/// Reads a request head (up to the blank line, at most 64 KiB, 5 s); `None` when
/// the client sent none.
pub(crate) fn read_head(stream: &mut TcpStream) -> Option<String> {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 64 * 1024 || stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    let _ = stream.set_read_timeout(None);
    Some(String::from_utf8_lossy(&head).into_owned())
}

/// The value of a request header (name case-insensitive).
pub(crate) fn header<'h>(head: &'h str, name: &str) -> Option<&'h str> {
    head.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Writes `bytes` again and again until the client goes away.
pub(crate) fn write_forever(stream: &mut TcpStream, bytes: &[u8]) {
    while stream.write_all(bytes).is_ok() {}
}

/// Writes batches made by `next` until the client goes away.
pub(crate) fn write_batches_forever(stream: &mut TcpStream, mut next: impl FnMut(&mut Vec<u8>)) {
    let mut batch = Vec::with_capacity(64 * 1024);
    loop {
        batch.clear();
        next(&mut batch);
        if stream.write_all(&batch).is_err() {
            return;
        }
    }
}

/// Reads and drops whatever the client sends, until it goes away.
pub(crate) fn discard_forever(stream: &mut TcpStream) {
    let mut sink = [0u8; 64 * 1024];
    while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
}

/// A small deterministic generator (xorshift64*), seeded per connection.
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator for connection `n`.
    pub(crate) fn new(n: u64) -> Self {
        Rng(n.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next number below `bound` (at least 1).
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % bound.max(1)
    }
}
