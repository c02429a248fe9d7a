//! Where lines for a case's driver come from when the client is not a
//! process whose stdout the host reads: the browser page POSTs what its
//! `EventSource` dispatched, an sse-contract-tests service POSTs its
//! callbacks. The [`Inbox`] maps a case number to the channel its
//! [`super::driver::Launched::lines`] reads, so that those requests, on any
//! connection, reach the case they belong to.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use tokio::sync::mpsc;

/// How many lines wait for a case before the sender waits.
const QUEUE: usize = 64;

/// The most numbered lines held back, per case, waiting for an earlier one.
pub const MAX_HELD: usize = 256;

/// Numbered lines of one case: the next number due, and those that came early.
#[derive(Debug)]
struct Numbered {
    next: u64,
    early: BTreeMap<u64, Vec<u8>>,
}

impl Default for Numbered {
    fn default() -> Self {
        Numbered {
            next: 1,
            early: BTreeMap::new(),
        }
    }
}

/// The open cases' line channels, by case number.
#[derive(Debug, Default)]
pub struct Inbox {
    senders: Mutex<HashMap<u64, mpsc::Sender<Vec<u8>>>>,
    numbered: Mutex<HashMap<u64, Numbered>>,
}

impl Inbox {
    /// Opens case `case`: lines delivered to it come out of the receiver.
    pub fn open(&self, case: u64) -> mpsc::Receiver<Vec<u8>> {
        let (sender, receiver) = mpsc::channel(QUEUE);
        self.senders
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(case, sender);
        receiver
    }

    /// Closes case `case`: later lines for it are dropped.
    pub fn close(&self, case: u64) {
        self.senders
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&case);
        self.numbered
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&case);
    }

    /// Delivers line number `number` (1, 2, …) of case `case` in number
    /// order: a line that comes before an earlier one waits for it (at most
    /// [`MAX_HELD`]; past that, lines go in arrival order). A test service's
    /// callbacks are numbered so, and may arrive on parallel connections.
    pub async fn deliver_numbered(&self, case: u64, number: u64, line: Vec<u8>) -> bool {
        let ready: Vec<Vec<u8>> = {
            let mut numbered = self.numbered.lock().unwrap_or_else(|e| e.into_inner());
            let slot = numbered.entry(case).or_default();
            if number < slot.next || slot.early.len() >= MAX_HELD {
                vec![line]
            } else {
                slot.early.insert(number, line);
                let mut ready = Vec::new();
                while let Some(line) = slot.early.remove(&slot.next) {
                    ready.push(line);
                    slot.next += 1;
                }
                ready
            }
        };
        for line in ready {
            if !self.deliver(case, line).await {
                return false;
            }
        }
        true
    }

    /// Delivers one line to case `case`; false when the case is not open.
    pub async fn deliver(&self, case: u64, line: Vec<u8>) -> bool {
        let sender = self
            .senders
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&case)
            .cloned();
        match sender {
            Some(sender) => sender.send(line).await.is_ok(),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_reach_their_open_case_only() {
        let inbox = Inbox::default();
        let mut one = inbox.open(1);
        assert!(inbox.deliver(1, b"a".to_vec()).await);
        assert!(!inbox.deliver(2, b"b".to_vec()).await);
        assert_eq!(one.recv().await.as_deref(), Some(&b"a"[..]));
        inbox.close(1);
        assert!(!inbox.deliver(1, b"c".to_vec()).await);
        assert_eq!(one.recv().await, None);
    }

    #[tokio::test]
    async fn numbered_lines_come_out_in_number_order() {
        let inbox = Inbox::default();
        let mut lines = inbox.open(4);
        assert!(inbox.deliver_numbered(4, 2, b"two".to_vec()).await);
        assert!(inbox.deliver_numbered(4, 3, b"three".to_vec()).await);
        assert!(lines.try_recv().is_err(), "2 and 3 wait for 1");
        assert!(inbox.deliver_numbered(4, 1, b"one".to_vec()).await);
        for want in [&b"one"[..], b"two", b"three"] {
            assert_eq!(lines.recv().await.as_deref(), Some(want));
        }
    }
}
