//! Where lines for a case's driver come from when the client is not a
//! process whose stdout the host reads: the browser page POSTs what its
//! `EventSource` dispatched, an sse-contract-tests service POSTs its
//! callbacks. The [`Inbox`] maps a case number to the channel its
//! [`super::driver::Launched::lines`] reads, so that those requests, on any
//! connection, reach the case they belong to.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::mpsc;

/// How many lines wait for a case before the sender waits.
const QUEUE: usize = 64;

/// The open cases' line channels, by case number.
#[derive(Debug, Default)]
pub struct Inbox {
    senders: Mutex<HashMap<u64, mpsc::Sender<Vec<u8>>>>,
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
}
