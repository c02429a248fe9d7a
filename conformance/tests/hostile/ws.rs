//! Hostile WebSocket servers: each completes the opening handshake (refusing one
//! without a key), then misbehaves.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use pulsecheck_ws::handshake::accept_key;

use super::server::{Rng, discard_forever, park, read_head, serve, write_batches_forever};

/// Answers the opening handshake; `false` when there was none to answer.
fn upgrade(s: &mut TcpStream) -> bool {
    let Some(head) = read_head(s) else {
        return false;
    };
    let Some(key) = super::server::header(&head, "sec-websocket-key") else {
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        return false;
    };
    let reply = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(key)
    );
    s.write_all(reply.as_bytes()).is_ok()
}

/// The header of an unmasked server frame announcing `len` bytes.
fn frame_header(out: &mut Vec<u8>, fin: bool, opcode: u8, len: u64) {
    out.push(if fin { 0x80 } else { 0 } | opcode);
    match len {
        0..=125 => out.push(len as u8),
        126..=0xFFFF => {
            out.push(126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(127);
            out.extend_from_slice(&len.to_be_bytes());
        }
    }
}

/// An unmasked server frame.
fn frame(out: &mut Vec<u8>, fin: bool, opcode: u8, payload: &[u8]) {
    frame_header(out, fin, opcode, payload.len() as u64);
    out.extend_from_slice(payload);
}

/// Reads and drops what the client sends, on a thread of its own.
fn discard_in_background(s: &TcpStream) {
    if let Ok(mut reader) = s.try_clone() {
        std::thread::spawn(move || discard_forever(&mut reader));
    }
}

/// One-byte text messages and pings, alternating, as fast as loopback allows.
pub(crate) fn frame_and_ping_flood() -> SocketAddr {
    serve(|mut s, _| {
        if upgrade(&mut s) {
            discard_in_background(&s);
            write_batches_forever(&mut s, |batch| {
                while batch.len() < 60 * 1024 {
                    frame(batch, true, 0x1, b"a");
                    frame(batch, true, 0x9, b"p");
                }
            });
        }
    })
}

/// A 16 MiB binary message as the first thing on every connection.
pub(crate) fn huge_message_first() -> SocketAddr {
    serve(|mut s, _| {
        if upgrade(&mut s) {
            discard_in_background(&s);
            let mut head = Vec::new();
            frame_header(&mut head, true, 0x2, 16 << 20);
            if s.write_all(&head).is_err() {
                return;
            }
            let chunk = [b'a'; 64 * 1024];
            for _ in 0..256 {
                if s.write_all(&chunk).is_err() {
                    return;
                }
            }
            park(s);
        }
    })
}

/// A text message whose continuation frames never stop (none has FIN).
pub(crate) fn endless_fragments() -> SocketAddr {
    serve(|mut s, _| {
        if upgrade(&mut s) {
            discard_in_background(&s);
            let mut first = Vec::new();
            frame(&mut first, false, 0x1, b"a");
            if s.write_all(&first).is_err() {
                return;
            }
            let mut continuation = Vec::new();
            frame(&mut continuation, false, 0x0, &[b'a'; 16 * 1024]);
            let batch = continuation.repeat(4);
            while s.write_all(&batch).is_ok() {}
        }
    })
}

/// A binary frame claiming `len` bytes (2^63 has the forbidden top bit set;
/// 2^63 - 1 is merely far too big), then bytes of it until the client goes away.
pub(crate) fn frame_claim(len: u64) -> SocketAddr {
    serve(move |mut s, _| {
        if upgrade(&mut s) {
            discard_in_background(&s);
            let mut head = Vec::new();
            frame_header(&mut head, true, 0x2, len);
            if s.write_all(&head).is_ok() {
                super::server::write_forever(&mut s, &[0u8; 64 * 1024]);
            }
        }
    })
}

/// Completes the handshake, then never reads again (and never closes): the
/// client's writes fill the socket buffers and stall.
pub(crate) fn stops_reading() -> SocketAddr {
    serve(|mut s, _| {
        if upgrade(&mut s) {
            park(s);
        }
    })
}

/// After the handshake, drops TCP at a random point: at once, after reading some
/// of what the client sent (unread bytes make the kernel send a reset), or in the
/// middle of a frame of its own.
pub(crate) fn random_drops() -> SocketAddr {
    serve(|mut s, n| {
        let mut rng = Rng::new(n + 1);
        if !upgrade(&mut s) {
            return;
        }
        match rng.below(3) {
            0 => {}
            1 => {
                let _ = s.set_read_timeout(Some(Duration::from_millis(rng.below(200) + 1)));
                let mut some = vec![0u8; rng.below(64) as usize + 1];
                let _ = s.read(&mut some);
            }
            _ => {
                let mut half = Vec::new();
                frame_header(&mut half, true, 0x1, 1000);
                half.extend_from_slice(&[b'a'; 10]);
                let _ = s.write_all(&half);
                std::thread::sleep(Duration::from_millis(rng.below(100)));
            }
        }
    })
}
