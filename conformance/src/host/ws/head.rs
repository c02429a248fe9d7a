//! Reading a client's request head, bounded: at most [`MAX_HEAD`] bytes and
//! [`MAX_HEADERS`] header fields, parsed with httparse. What the client sent
//! after its head (frames sent before the answer) is kept for the case.

use std::time::Instant;

use tokio::io::{AsyncRead, AsyncReadExt as _};

use super::session::RequestHead;

/// The largest request head accepted, in bytes; a longer one gets 431.
pub const MAX_HEAD: usize = 16 * 1024;

/// The most header fields accepted; more get 431.
pub const MAX_HEADERS: usize = 64;

/// What reading a request head came to.
#[derive(Debug)]
pub enum HeadRead {
    /// A complete head.
    Complete {
        /// The head.
        head: RequestHead,
        /// Bytes read after the head.
        leftover: Vec<u8>,
        /// When the head was complete.
        at: Instant,
    },
    /// Over [`MAX_HEAD`] bytes or [`MAX_HEADERS`] fields: answer 431.
    TooLarge,
    /// Not HTTP: answer 400, with the reason.
    Malformed(String),
    /// The connection ended (or failed) before the head was complete.
    Gone,
}

/// Reads one request head from `io`. The caller bounds the time it may take.
pub async fn read_head<R: AsyncRead + Unpin + ?Sized>(io: &mut R) -> HeadRead {
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    let mut chunk = [0_u8; 4096];
    loop {
        let room = MAX_HEAD.saturating_sub(buf.len());
        if room == 0 {
            return HeadRead::TooLarge;
        }
        let want = room.min(chunk.len());
        let Some(space) = chunk.get_mut(..want) else {
            return HeadRead::TooLarge;
        };
        let n = match io.read(space).await {
            Ok(0) | Err(_) => return HeadRead::Gone,
            Ok(n) => n,
        };
        let searched_from = buf.len().saturating_sub(3);
        buf.extend_from_slice(space.get(..n).unwrap_or_default());
        // Parse only once the end of a head may have arrived: a client that
        // sends its head a byte at a time costs one scan, not one parse, per
        // byte.
        let tail = buf.get(searched_from..).unwrap_or_default();
        if memchr::memmem::find(tail, b"\n\r\n").is_none()
            && memchr::memmem::find(tail, b"\n\n").is_none()
        {
            continue;
        }
        match parse(&buf) {
            Parsed::Complete(head, used) => {
                let leftover = buf.get(used..).unwrap_or_default().to_vec();
                return HeadRead::Complete {
                    head,
                    leftover,
                    at: Instant::now(),
                };
            }
            Parsed::Partial => {}
            Parsed::TooManyHeaders => return HeadRead::TooLarge,
            Parsed::Malformed(reason) => return HeadRead::Malformed(reason),
        }
    }
}

enum Parsed {
    Complete(RequestHead, usize),
    Partial,
    TooManyHeaders,
    Malformed(String),
}

fn parse(buf: &[u8]) -> Parsed {
    let mut storage = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut storage);
    match request.parse(buf) {
        Ok(httparse::Status::Complete(used)) => {
            let head = RequestHead {
                method: request.method.unwrap_or_default().to_owned(),
                target: request.path.unwrap_or_default().to_owned(),
                version: request.version.unwrap_or_default(),
                headers: request
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_ascii_lowercase(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect(),
                raw: buf.get(..used).unwrap_or_default().to_vec(),
            };
            Parsed::Complete(head, used)
        }
        Ok(httparse::Status::Partial) => Parsed::Partial,
        Err(httparse::Error::TooManyHeaders) => Parsed::TooManyHeaders,
        Err(e) => Parsed::Malformed(format!("not an HTTP/1.x request head ({e})")),
    }
}

/// Whether the request asks for a WebSocket: an `Upgrade` field with the token
/// `websocket` (ASCII case-insensitive, RFC 6455 §4.2.1).
pub fn wants_websocket(head: &RequestHead) -> bool {
    head.headers_named("upgrade").any(|value| {
        value
            .split(',')
            .any(|token| token.trim().eq_ignore_ascii_case("websocket"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read_all(bytes: &[u8]) -> HeadRead {
        let mut reader = bytes;
        read_head(&mut reader).await
    }

    #[tokio::test]
    async fn a_head_is_read_with_what_follows_it() {
        let sent = b"GET /runCase?case=1&agent=a HTTP/1.1\r\nHost: x\r\nUpgrade: WebSocket\r\n\r\n\x81\x80abcd";
        let HeadRead::Complete { head, leftover, .. } = read_all(sent).await else {
            panic!("complete");
        };
        assert_eq!(head.method, "GET");
        assert_eq!(head.target, "/runCase?case=1&agent=a");
        assert_eq!(head.version, 1);
        assert_eq!(head.header("host"), Some("x"));
        assert!(wants_websocket(&head));
        assert_eq!(leftover, b"\x81\x80abcd");
        assert_eq!(head.raw.len(), sent.len() - 6);
    }

    #[tokio::test]
    async fn a_head_that_arrives_a_byte_at_a_time_is_read() {
        let (mut client, mut server) = tokio::io::duplex(1);
        let writer = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt as _;
            for b in b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" {
                client.write_all(&[*b]).await.unwrap();
            }
            client
        });
        let HeadRead::Complete { head, leftover, .. } = read_head(&mut server).await else {
            panic!("complete");
        };
        assert_eq!(head.target, "/");
        assert!(leftover.is_empty());
        assert!(!wants_websocket(&head));
        drop(writer.await);
    }

    #[tokio::test]
    async fn oversized_malformed_and_cut_heads_are_told_apart() {
        let mut big = b"GET / HTTP/1.1\r\n".to_vec();
        while big.len() <= MAX_HEAD {
            big.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        assert!(matches!(read_all(&big).await, HeadRead::TooLarge));
        let mut many = b"GET / HTTP/1.1\r\n".to_vec();
        for n in 0..=MAX_HEADERS {
            many.extend_from_slice(format!("X-{n}: y\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert!(matches!(read_all(&many).await, HeadRead::TooLarge));
        let HeadRead::Malformed(reason) = read_all(b"\x16\x03\x01 hello\r\n\r\n").await else {
            panic!("malformed");
        };
        assert!(
            reason.starts_with("not an HTTP/1.x request head"),
            "{reason}"
        );
        assert!(matches!(
            read_all(b"GET / HTTP/1.1\r\nHost").await,
            HeadRead::Gone
        ));
    }
}
