//! What the host sends on a connection, step by step, byte for byte.
//!
//! A [`Reply`] is the list of [`Step`]s one request gets: a status line and
//! headers, then body chunks (each written and flushed on its own, so that a
//! pause between two of them makes the client read them apart: a CRLF or a
//! BOM can be split across reads), then how the connection ends — the body's
//! proper end, a drop in the middle of it, or held open until the case is
//! over. Every 200 body is sent chunked, so that "the body ended" and "the
//! connection dropped" are different things on the wire.

/// One thing the host does on a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The status line and headers. A `body` response is sent with
    /// `Transfer-Encoding: chunked` (its chunks follow); any other with
    /// `Content-Length: 0`. `location` is sent as `Location` (relative to the
    /// request's path: `redirected` goes to `/case/<n>/redirected`).
    Head {
        /// The status code.
        status: u16,
        /// The `Content-Type`, or none.
        content_type: Option<&'static str>,
        /// The `Location`, for redirects.
        location: Option<&'static str>,
        /// Whether a chunked body follows.
        body: bool,
    },
    /// One body chunk, written and flushed on its own.
    Chunk(&'static [u8]),
    /// Each byte of the text as a chunk of its own, 2 ms apart.
    Bytewise(&'static [u8]),
    /// One event of `data: ` and this many `a` bytes, in 64 KiB chunks.
    BigEvent(usize),
    /// A pause, in milliseconds (so that the chunks before and after reach
    /// the client in reads of their own).
    Pause(u64),
    /// The body's proper end (the last chunk), then the connection closes.
    End,
    /// The connection closes in the middle of the body (no last chunk): a
    /// network error for the client.
    Drop,
    /// The connection stays open until the case is over.
    Hold,
}

/// What one request gets.
pub type Reply = &'static [Step];

/// The head of a 200 event stream.
pub const STREAM: Step = Step::Head {
    status: 200,
    content_type: Some("text/event-stream"),
    location: None,
    body: true,
};

/// A case's script: request `k` (0-based) gets `replies[k]`; requests past the
/// list get `then`.
#[derive(Debug, Clone, Copy)]
pub struct Script {
    /// The replies in request order.
    pub replies: &'static [Reply],
    /// The reply to every later request.
    pub then: Reply,
}

impl Script {
    /// The reply to request `index` (0-based).
    pub fn reply(&self, index: usize) -> Reply {
        self.replies.get(index).copied().unwrap_or(self.then)
    }
}

/// The reason phrase of the statuses the cases send.
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        404 => "Not Found",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// The bytes of a response head.
pub fn head_bytes(
    status: u16,
    content_type: Option<&str>,
    location: Option<&str>,
    body: bool,
) -> Vec<u8> {
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    if let Some(ct) = content_type {
        head.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    if let Some(location) = location {
        head.push_str(&format!("Location: {location}\r\n"));
    }
    head.push_str("Cache-Control: no-cache\r\nConnection: close\r\n");
    head.push_str(if body {
        "Transfer-Encoding: chunked\r\n\r\n"
    } else {
        "Content-Length: 0\r\n\r\n"
    });
    head.into_bytes()
}

/// One chunk of a chunked body.
pub fn chunk_bytes(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

/// The last chunk of a chunked body.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_and_chunks_are_http_1_1() {
        assert_eq!(
            head_bytes(204, None, None, false),
            b"HTTP/1.1 204 No Content\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
        );
        let head = String::from_utf8(head_bytes(302, None, Some("redirected"), false)).unwrap();
        assert!(head.contains("\r\nLocation: redirected\r\n"), "{head}");
        assert_eq!(chunk_bytes(b"data: x\n\n"), b"9\r\ndata: x\n\n\r\n");
        let script = Script {
            replies: &[&[STREAM, Step::End]],
            then: &[Step::Hold],
        };
        assert_eq!(script.reply(0).len(), 2);
        assert_eq!(script.reply(5), &[Step::Hold]);
    }
}
