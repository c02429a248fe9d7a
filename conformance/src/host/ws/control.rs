//! The host's side of a control exchange (`/getCaseCount`, `/getCaseInfo`,
//! `/getCaseStatus`, `/updateReports`, `/stopServer`, and every refused
//! request): a correct `101 Switching Protocols`, at most one text message, a
//! Close, and the closing handshake (RFC 6455 §7.1.1: the server closes TCP
//! once the client's Close has come, or after a short wait).
//!
//! Every step is bounded in time and memory: writes by [`WRITE_TIMEOUT`], the
//! wait for the client's Close by [`CLOSE_LINGER`], and a client's frames are
//! read through a reader that refuses anything above [`MAX_CLIENT_FRAME`].

use std::time::Duration;

use pulsecheck_ws::handshake::{ServerResponse, validate_client_request, write_rejection};
use pulsecheck_ws::{
    Assembled, CloseCode, FrameConfig, Opcode, Role, Status, StreamReader, encode_message,
    write_close_body,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::http::RawIo;

use super::session::RequestHead;

/// How long one write to a client may take.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the host waits for the client's Close (or its end of TCP) after
/// sending its own, before it closes TCP anyway.
pub const CLOSE_LINGER: Duration = Duration::from_secs(2);

/// The largest frame a client may send on a control connection (its Close, a
/// ping, a pong); a larger one ends the wait at once.
pub const MAX_CLIENT_FRAME: u64 = 4096;

/// The most bytes of a close reason (RFC 6455 §5.5: a control frame's payload is
/// at most 125 bytes, 2 of them the code).
pub const MAX_REASON_BYTES: usize = 123;

/// The `Server` field of the host's answers.
const SERVER: &str = concat!("pulsecheck/", env!("CARGO_PKG_VERSION"));

/// An upgraded control connection.
pub struct Control {
    io: Box<dyn RawIo>,
    /// Bytes the client sent that have not been read as frames yet.
    received: Vec<u8>,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control").finish_non_exhaustive()
    }
}

/// Answers the opening handshake of `head`: a correct 101 when it is a valid
/// WebSocket request (RFC 6455 §4.2.2), then the exchange goes on; otherwise the
/// HTTP error the framing crate gives for what is wrong (400, or 426 for a
/// version other than 13), the connection is closed, and `None` is returned.
pub async fn accept(
    mut io: Box<dyn RawIo>,
    head: &RequestHead,
    leftover: Vec<u8>,
) -> Option<Control> {
    let mut answer = Vec::with_capacity(256);
    let valid = match validate_client_request(&head.raw) {
        Ok(Status::Complete((request, _))) => {
            let mut response = ServerResponse::accept(&request, &[]);
            response.headers.push(("Server", SERVER));
            response.write(&mut answer);
            true
        }
        Ok(Status::Partial) => {
            // The head was complete when read: httparse agrees with itself.
            answer.extend_from_slice(&plain_answer(400, "Bad Request", "incomplete request head"));
            false
        }
        Err(error) => {
            write_rejection(error, &mut answer);
            false
        }
    };
    if !write(&mut io, &answer).await {
        return None;
    }
    if !valid {
        finish_http(io).await;
        return None;
    }
    Some(Control {
        io,
        received: leftover,
    })
}

impl Control {
    /// Sends one text message (an unmasked, unfragmented frame); `false` when
    /// the client is gone.
    pub async fn send_text(&mut self, text: &str) -> bool {
        let mut frame = Vec::with_capacity(text.len() + 10);
        encode_message(&mut frame, Opcode::TEXT, None, text.as_bytes());
        write(&mut self.io, &frame).await
    }

    /// Sends a Close with `code` and `reason` (cut to [`MAX_REASON_BYTES`]),
    /// waits up to [`CLOSE_LINGER`] for the client's Close or the end of its
    /// side, then closes TCP.
    pub async fn close(mut self, code: u16, reason: &str) {
        let mut body = Vec::with_capacity(2 + MAX_REASON_BYTES);
        write_close_body(&mut body, CloseCode(code), cut_reason(reason).as_bytes());
        let mut frame = Vec::with_capacity(body.len() + 2);
        encode_message(&mut frame, Opcode::CLOSE, None, &body);
        if write(&mut self.io, &frame).await {
            let _in_time = tokio::time::timeout(CLOSE_LINGER, self.until_client_closes()).await;
        }
        let _ = tokio::time::timeout(WRITE_TIMEOUT, self.io.shutdown()).await;
    }

    /// Reads the client's frames, discarding them, until its Close, the end of
    /// its side, or a frame the host will not read.
    async fn until_client_closes(&mut self) {
        let config = FrameConfig::new(Role::Client)
            .with_max_frame_payload(MAX_CLIENT_FRAME)
            .with_max_message_size(MAX_CLIENT_FRAME);
        let mut reader = StreamReader::new(config);
        let mut buf = std::mem::take(&mut self.received);
        let mut chunk = [0_u8; 4096];
        loop {
            let mut start = 0;
            loop {
                let rest = buf.get_mut(start..).unwrap_or_default();
                match reader.read(rest) {
                    Ok(Status::Complete((frame, used))) => {
                        if matches!(frame.event, Assembled::Close(_)) {
                            return;
                        }
                        start += used;
                    }
                    Ok(Status::Partial) => break,
                    // A violation, or a frame too large to read: stop reading.
                    Err(_) => return,
                }
            }
            buf.drain(..start.min(buf.len()));
            match self.io.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            }
        }
    }
}

/// `reason` cut to [`MAX_REASON_BYTES`] on a character boundary.
pub fn cut_reason(reason: &str) -> &str {
    if reason.len() <= MAX_REASON_BYTES {
        return reason;
    }
    let mut cut = MAX_REASON_BYTES;
    while !reason.is_char_boundary(cut) {
        cut -= 1;
    }
    reason.get(..cut).unwrap_or_default()
}

/// Writes `bytes` within [`WRITE_TIMEOUT`]; `false` when that failed.
pub async fn write(io: &mut Box<dyn RawIo>, bytes: &[u8]) -> bool {
    matches!(
        tokio::time::timeout(WRITE_TIMEOUT, io.write_all(bytes)).await,
        Ok(Ok(()))
    )
}

/// Ends a plain HTTP exchange whose answer has been written: closes the host's
/// side, then reads (and discards) until the client closes its side, for up to
/// [`CLOSE_LINGER`], so that the answer is not lost to a reset.
pub async fn finish_http(mut io: Box<dyn RawIo>) {
    let _ = tokio::time::timeout(WRITE_TIMEOUT, io.shutdown()).await;
    let drain = async {
        let mut chunk = [0_u8; 4096];
        while let Ok(n) = io.read(&mut chunk).await {
            if n == 0 {
                break;
            }
        }
    };
    let _in_time = tokio::time::timeout(CLOSE_LINGER, drain).await;
}

/// A plain HTTP answer with a short text body, closing the connection.
pub fn plain_answer(status: u16, reason: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} {reason}\r\nServer: {SERVER}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_cut_on_a_character_boundary() {
        assert_eq!(cut_reason("short"), "short");
        let long = "é".repeat(100);
        let cut = cut_reason(&long);
        assert!(cut.len() <= MAX_REASON_BYTES && cut.len() >= MAX_REASON_BYTES - 1);
        assert!(long.starts_with(cut));
    }

    #[test]
    fn a_plain_answer_has_its_length() {
        let answer = String::from_utf8(plain_answer(404, "Not Found", "no such page")).unwrap();
        assert!(answer.starts_with("HTTP/1.1 404 Not Found\r\n"));
        assert!(answer.contains("Content-Length: 12\r\n"));
        assert!(answer.ends_with("\r\n\r\nno such page"));
    }
}
