//! Compressed messages reused across the compression cases that send them.
//!
//! Forty of the 216 cases send the same 1000 JSON messages of 128 KiB (12.1 and
//! the seven parameter sets of 13, each as 10, 15, 16, 17 and 18, which differ
//! only in how the compressed payload is cut into frames), and every JSON
//! message from 16 B to 64 KiB is sent by 8 or 16. When pulsecheck's compressor resets its
//! context after each message (it always does as a client: Autobahn's offers
//! say `client_no_context_takeover`), a message's compressed bytes depend on the
//! message and the compressor's settings alone, so a case may send what another
//! one compressed: the same bytes, without compressing again.
//!
//! The cases sharing messages run side by side (the scheduler puts them next to
//! each other), each at its peer's pace, so the cache keeps the most recent
//! messages (first in, first out) up to [`CAPACITY`] bytes: a case that falls
//! behind the others by more than that compresses its own. A compressor that
//! keeps its context never shares.

use std::collections::{HashMap, VecDeque};
use std::sync::{LazyLock, Mutex};

use pulsecheck_ws::deflate::{CodecConfig, DeflateError};

use super::payloads::Corpus;
use crate::ws::connection::MessageData;
use crate::ws::deflate::Deflater;

/// The compressed bytes the cache keeps at most.
pub const CAPACITY: usize = 4 << 20;

/// Which message, compressed how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    codec: CodecConfig,
    corpus: Corpus,
    len: usize,
    index: usize,
}

/// Values kept by key, oldest first in `order`, up to a total weight.
struct Fifo<K, V> {
    kept: HashMap<K, V>,
    order: VecDeque<K>,
    weight: usize,
    capacity: usize,
    hits: u64,
    misses: u64,
}

/// The compressed messages kept.
static CACHE: LazyLock<Mutex<Ring>> = LazyLock::new(|| Mutex::new(Ring::new(CAPACITY)));

/// Compressed messages in one buffer of fixed size, written round and round:
/// a new message overwrites the oldest. One allocation for the run, so that
/// messages of every size coming and going do not fragment the heap (kept as
/// separate allocations, 4 MiB of them cost 50 MiB of resident memory).
struct Ring {
    bytes: Vec<u8>,
    /// Where each kept message starts, counted in bytes ever written (its
    /// place in `bytes` is that modulo the capacity), and its length.
    kept: HashMap<Key, (u64, usize)>,
    /// The keys in the order written.
    order: VecDeque<Key>,
    /// Bytes ever written (the next message starts here or at the next turn).
    head: u64,
    hits: u64,
    misses: u64,
}

impl Ring {
    fn new(capacity: usize) -> Self {
        Ring {
            bytes: vec![0; capacity],
            kept: HashMap::new(),
            order: VecDeque::new(),
            head: 0,
            hits: 0,
            misses: 0,
        }
    }

    fn capacity(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// Appends the message of `key` to `out`, if kept.
    fn copy(&mut self, key: &Key, out: &mut Vec<u8>) -> bool {
        let cap = self.capacity();
        let found = self.kept.get(key).and_then(|&(at, len)| {
            let start = usize::try_from(at % cap).ok()?;
            self.bytes.get(start..start + len)
        });
        match found {
            Some(bytes) => {
                out.extend_from_slice(bytes);
                self.hits += 1;
                true
            }
            None => {
                self.misses += 1;
                false
            }
        }
    }

    /// Keeps `bytes` as the message of `key`, over the oldest; a message
    /// longer than a sixteenth of the capacity is not kept.
    fn keep(&mut self, key: Key, bytes: &[u8]) {
        let (cap, len) = (self.capacity(), bytes.len() as u64);
        if len == 0 || len > cap / 16 || self.kept.contains_key(&key) {
            return;
        }
        // A message never wraps: it starts at the next turn when it would.
        let mut at = self.head;
        if at % cap + len > cap {
            at = at.next_multiple_of(cap);
        }
        self.head = at + len;
        // Drop what the new bytes overwrite: whatever starts before head - cap.
        while let Some(oldest) = self.order.front() {
            match self.kept.get(oldest) {
                Some(&(start, _)) if start + cap >= self.head => break,
                _ => {
                    if let Some(gone) = self.order.pop_front() {
                        self.kept.remove(&gone);
                    }
                }
            }
        }
        let start = usize::try_from(at % cap).unwrap_or(0);
        if let Some(place) = self.bytes.get_mut(start..start + bytes.len()) {
            place.copy_from_slice(bytes);
            self.kept.insert(key, (at, bytes.len()));
            self.order.push_back(key);
        }
    }
}

/// The most sent messages whose length and digest are kept (about 100 bytes
/// each): what an echo is compared with.
pub const SENT_KEPT: usize = 4 * 1024;

/// A sent message: its corpus, its length in units and its index.
type SentKey = (Corpus, usize, usize);

/// The length, digest and head of sent messages: computing the digest of the
/// same 128 KiB again for each case that sends it is a tenth of what a case
/// costs the probe.
static SENT: LazyLock<Mutex<Fifo<SentKey, MessageData>>> =
    LazyLock::new(|| Mutex::new(Fifo::new(SENT_KEPT)));

/// How often the cache of compressed messages answered, for measurements:
/// (reused, compressed).
pub fn counts() -> (u64, u64) {
    CACHE.lock().map_or((0, 0), |c| (c.hits, c.misses))
}

/// Appends to `out` message `index` of `corpus` in messages of `len` units
/// (`message`, its bytes), compressed by `deflater`: bytes another case
/// compressed the same way when the cache has them, compressed now otherwise
/// (and kept for the others when `deflater` resets after each message).
///
/// # Errors
///
/// Only a broken zlib build fails to compress.
pub fn compress(
    deflater: &mut Deflater,
    corpus: Corpus,
    len: usize,
    index: usize,
    message: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), DeflateError> {
    let codec = deflater.config();
    if !codec.no_context_takeover {
        return deflater.compress(message, out);
    }
    let key = Key {
        codec,
        corpus,
        len,
        index,
    };
    if CACHE.lock().is_ok_and(|mut cache| cache.copy(&key, out)) {
        return Ok(());
    }
    let start = out.len();
    deflater.compress(message, out)?;
    if let Ok(mut cache) = CACHE.lock() {
        cache.keep(key, out.get(start..).unwrap_or_default());
    }
    Ok(())
}

/// What a [`Fifo`] counts of a value.
trait Weight {
    fn weight(&self) -> usize;
}

impl Weight for MessageData {
    fn weight(&self) -> usize {
        1
    }
}

impl<K: Copy + Eq + std::hash::Hash, V: Clone + Weight> Fifo<K, V> {
    fn new(capacity: usize) -> Self {
        Fifo {
            kept: HashMap::new(),
            order: VecDeque::new(),
            weight: 0,
            capacity,
            hits: 0,
            misses: 0,
        }
    }

    /// The value of `key`, if kept (counted as a hit or a miss).
    fn get(&mut self, key: &K) -> Option<V> {
        let found = self.kept.get(key).cloned();
        if found.is_some() {
            self.hits += 1;
        } else {
            self.misses += 1;
        }
        found
    }

    /// Keeps `value`, dropping the oldest beyond the capacity; one heavier than
    /// a sixteenth of it is not kept.
    fn keep(&mut self, key: K, value: V) {
        let weight = value.weight();
        if weight > self.capacity / 16 {
            return;
        }
        if let Some(old) = self.kept.insert(key, value) {
            // Computed twice at once by two cases: one copy, counted once.
            self.weight -= old.weight();
        } else {
            self.order.push_back(key);
        }
        self.weight += weight;
        while self.weight > self.capacity {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some(gone) = self.kept.remove(&oldest) {
                self.weight -= gone.weight();
            }
        }
    }
}

/// Message `index` of `corpus` in messages of `len` units (`message`, its
/// bytes) as an echo is compared with it: kept from another case that sent it,
/// or computed now.
pub fn sent(corpus: Corpus, len: usize, index: usize, message: &[u8]) -> MessageData {
    // Short messages cost less to digest than to look up.
    if message.len() < 1024 {
        return MessageData::of(message);
    }
    let key = (corpus, len, index);
    if let Some(data) = SENT.lock().ok().and_then(|mut s| s.get(&key)) {
        return data;
    }
    let data = MessageData::of(message);
    if let Ok(mut kept) = SENT.lock() {
        kept.keep(key, data.clone());
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;
    use pulsecheck_ws::Role;
    use pulsecheck_ws::deflate::{Agreement, WindowBits};

    fn deflater(reset: bool, bits: u8) -> Deflater {
        let agreement = Agreement {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: WindowBits::MAX,
            client_max_window_bits: WindowBits::new(bits).expect("bits"),
        };
        Deflater::new(&agreement, Role::Client, reset)
    }

    /// Every message of a case, compressed through the cache.
    fn case(deflater: &mut Deflater, corpus: Corpus, len: usize, count: usize) -> Vec<Vec<u8>> {
        (0..count)
            .map(|k| {
                let message = corpus.message(k, len);
                let mut out = vec![0xAA];
                compress(deflater, corpus, len, k, &message, &mut out).expect("compresses");
                out.remove(0);
                out
            })
            .collect()
    }

    #[test]
    fn reused_bytes_are_the_bytes_compressing_again_gives() {
        // Cases of their own (window 11 and 10), so that other tests' entries
        // do not count.
        let (hits, _) = counts();
        let first = case(&mut deflater(true, 11), Corpus::Html, 3000, 50);
        let second = case(&mut deflater(true, 11), Corpus::Html, 3000, 50);
        assert_eq!(first, second);
        assert!(
            counts().0 >= hits + 50,
            "the second case reused the first's"
        );
        // And they are what a deflater of its own produces.
        let mut own = deflater(true, 11);
        for (k, bytes) in first.iter().enumerate() {
            let mut fresh = Vec::new();
            own.compress(&Corpus::Html.message(k, 3000), &mut fresh)
                .expect("compresses");
            assert_eq!(&fresh, bytes, "message {k}");
        }
        // Other settings are other keys.
        let narrow = case(&mut deflater(true, 10), Corpus::Html, 3000, 5);
        assert_ne!(narrow[0], first[0]);
    }

    #[test]
    fn a_deflater_that_keeps_its_context_compresses_its_own() {
        let mut keeps = deflater(false, 15);
        assert!(!keeps.config().no_context_takeover);
        let sent = case(&mut keeps, Corpus::Prose, 2000, 3);
        let mut again = deflater(false, 15);
        for (k, bytes) in sent.iter().enumerate() {
            let mut fresh = Vec::new();
            again
                .compress(&Corpus::Prose.message(k, 2000), &mut fresh)
                .expect("compresses");
            assert_eq!(&fresh, bytes);
        }
    }

    fn key(index: usize) -> Key {
        Key {
            codec: CodecConfig::new(),
            corpus: Corpus::Pdf,
            len: 1,
            index,
        }
    }

    #[test]
    fn the_ring_keeps_the_newest_messages_intact() {
        let capacity = 1000;
        let mut ring = Ring::new(capacity);
        // Lengths that do not divide the capacity: messages start at the next
        // turn rather than wrap.
        let message = |i: usize| vec![u8::try_from(i % 251).unwrap(); 37 + i % 23];
        for i in 0..500 {
            ring.keep(key(i), &message(i));
            assert_eq!(ring.bytes.len(), capacity);
            assert_eq!(ring.order.len(), ring.kept.len());
            // Everything still kept reads back as written.
            let kept: Vec<Key> = ring.order.iter().copied().collect();
            for k in kept {
                let mut out = Vec::new();
                assert!(ring.copy(&k, &mut out));
                assert_eq!(out, message(k.index), "message {} after {i}", k.index);
            }
            assert!(ring.copy(&key(i), &mut Vec::new()), "the newest is kept");
        }
        // The oldest are gone, and the kept ones fit in the capacity.
        assert!(!ring.copy(&key(0), &mut Vec::new()));
        let kept: usize = ring.kept.values().map(|&(_, len)| len).sum();
        assert!(kept <= capacity && kept > capacity / 2, "{kept}");
        // Too big a message is not kept at all.
        ring.keep(key(1000), &[1; 200]);
        assert!(!ring.copy(&key(1000), &mut Vec::new()));
    }

    #[test]
    fn the_sent_messages_kept_are_bounded() {
        let mut sent: Fifo<usize, MessageData> = Fifo::new(32);
        for i in 0..100 {
            sent.keep(i, MessageData::of(&[1, 2, 3]));
        }
        assert_eq!(
            (sent.kept.len(), sent.order.len(), sent.weight),
            (32, 32, 32)
        );
        assert!(sent.get(&99).is_some() && sent.get(&0).is_none());
    }

    #[test]
    fn a_kept_sent_message_is_the_message() {
        for _ in 0..2 {
            let message = Corpus::Bitmap.message(7, 4096);
            assert_eq!(
                sent(Corpus::Bitmap, 4096, 7, &message),
                MessageData::of(&message)
            );
        }
    }
}
