//! Hostile event-stream servers: each answers every request the same way.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use super::server::{Rng, park, read_head, serve, write_batches_forever, write_forever};

/// The head of a close-delimited event stream.
const STREAM_HEAD: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\r\n";

/// Tiny valid events (`data: x`), as fast as loopback allows.
pub(crate) fn event_flood() -> SocketAddr {
    serve(|mut s, _| {
        if read_head(&mut s).is_some() && s.write_all(STREAM_HEAD).is_ok() {
            write_forever(&mut s, &b"data: x\n\n".repeat(8192));
        }
    })
}

/// Tiny valid events, each with its own increasing id, as fast as loopback allows.
pub(crate) fn event_flood_with_ids() -> SocketAddr {
    serve(|mut s, _| {
        if read_head(&mut s).is_some() && s.write_all(STREAM_HEAD).is_ok() {
            let mut id = 0u64;
            write_batches_forever(&mut s, |batch| {
                while batch.len() < 60 * 1024 {
                    id += 1;
                    let _ = write!(batch, "id: {id}\ndata: x\n\n");
                }
            });
        }
    })
}

/// A chunked body announcing a chunk of about 17 TB, then events inside it forever.
pub(crate) fn huge_chunk() -> SocketAddr {
    serve(|mut s, _| {
        let head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffff\r\n";
        if read_head(&mut s).is_some() && s.write_all(head).is_ok() {
            write_forever(&mut s, &b"data: x\n\n".repeat(8192));
        }
    })
}

/// A response head sent one byte every 300 ms, never finished.
pub(crate) fn slowloris_head() -> SocketAddr {
    serve(|mut s, _| {
        if read_head(&mut s).is_some() {
            for byte in b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nX-Slow: "
                .iter()
                .chain(std::iter::repeat(&b'a'))
            {
                if s.write_all(&[*byte]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(300));
            }
        }
    })
}

/// A status line, then header lines forever.
pub(crate) fn endless_headers() -> SocketAddr {
    serve(|mut s, _| {
        if read_head(&mut s).is_some() && s.write_all(b"HTTP/1.1 200 OK\r\n").is_ok() {
            write_forever(
                &mut s,
                &b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n".repeat(1024),
            );
        }
    })
}

/// An event stream whose first line never ends.
pub(crate) fn endless_line() -> SocketAddr {
    serve(|mut s, _| {
        if read_head(&mut s).is_some()
            && s.write_all(STREAM_HEAD).is_ok()
            && s.write_all(b"data: ").is_ok()
        {
            write_forever(&mut s, &[b'a'; 64 * 1024]);
        }
    })
}

/// A chunked event stream: one good chunk with an event, then a chunk-size line
/// `size` (not a hexadecimal number, or one that overflows), then the connection
/// stays open.
pub(crate) fn bad_chunk_size(size: &'static str) -> SocketAddr {
    serve(move |mut s, _| {
        if read_head(&mut s).is_none() {
            return;
        }
        let body = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nid: 1\ndata: ok\n\n\r\n{size}\r\ndata: after\n\n\r\n"
        );
        if s.write_all(body.as_bytes()).is_ok() {
            park(s);
        }
    })
}

/// `Content-Length` announces a gigabyte; three events come, then the server
/// closes.
pub(crate) fn lying_content_length() -> SocketAddr {
    serve(|mut s, _| {
        if read_head(&mut s).is_some() {
            let _ = s.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 1000000000\r\n\r\nid: 1\ndata: a\n\nid: 2\ndata: b\n\nid: 3\ndata: c\n\n",
            );
        }
    })
}

/// `Content-Encoding: gzip` on every response, and a gzip stream that inflates
/// to an endless run of events (about 1000 times its size).
pub(crate) fn gzip_bomb() -> SocketAddr {
    serve(|mut s, _| {
        if read_head(&mut s).is_none() {
            return;
        }
        let head =
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Encoding: gzip\r\n\r\n";
        if s.write_all(head).is_err() {
            return;
        }
        let mut gz = flate2::write::GzEncoder::new(s, flate2::Compression::best());
        let events = b"data: x\n\n".repeat(8192);
        while gz.write_all(&events).is_ok() && gz.flush().is_ok() {}
    })
}

/// Every request redirected to itself.
pub(crate) fn redirect_loop() -> SocketAddr {
    serve(|mut s, n| {
        if read_head(&mut s).is_some() {
            let _ = write!(
                s,
                "HTTP/1.1 302 Found\r\nLocation: /events?hop={n}\r\nContent-Length: 0\r\n\r\n"
            );
        }
    })
}

/// Random bytes where a TLS ServerHello should be (for an `https://` URL).
pub(crate) fn tls_garbage() -> SocketAddr {
    serve(|mut s, n| {
        let mut rng = Rng::new(n);
        let garbage: Vec<u8> = (0..4096).map(|_| rng.below(256) as u8).collect();
        let _ = s.write_all(&garbage);
        park(s);
    })
}

/// A server that speaks another protocol (an SSH banner), whatever is asked.
pub(crate) fn not_http() -> SocketAddr {
    serve(|mut s, _| {
        let _ = s.write_all(b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5\r\n");
        park(s);
    })
}
