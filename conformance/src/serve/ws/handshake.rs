//! The opening handshake (RFC 6455 §4.2), on the framing crate's helpers: read the
//! request head, validate it, answer 101 or an HTTP error, with the handshake
//! faults applied.

use pulsecheck_ws::Status;
use pulsecheck_ws::handshake::{
    HandshakeError, ServerResponse, accept_key, validate_client_request, write_rejection,
};
use tokio::io::AsyncReadExt as _;
use tokio::net::TcpStream;

use pulsecheck_ws::deflate::Agreement;

use super::WsServerConfig;
use super::deflate::{Negotiated, negotiate};
use super::fault::{Fault, UNOFFERED_PROTOCOL, UNOFFERED_PROTOCOL_ALT};

/// The largest request head accepted; a longer one gets 431.
const MAX_HEAD: usize = 16 * 1024;

/// What reading and answering the opening handshake came to.
#[derive(Debug)]
pub(crate) enum Handshake {
    /// A complete, valid request (or one a fault pretends is valid): the response
    /// to send, and the bytes the client sent after its head (its first frames).
    Accept {
        /// The `101 Switching Protocols` head.
        response: Vec<u8>,
        /// Bytes after the request head.
        leftover: Vec<u8>,
        /// The permessage-deflate agreement, when an offer was accepted.
        agreement: Option<Agreement>,
    },
    /// An invalid request: the HTTP error to send before closing.
    Reject(Vec<u8>),
    /// The client went away (or failed at the TCP level) before its head was
    /// complete.
    Gone,
}

/// Reads the request head from `tcp` and decides the answer (without sending it:
/// the caller checks capacity first).
pub(crate) async fn read(tcp: &mut TcpStream, config: &WsServerConfig) -> Handshake {
    let mut buf = Vec::with_capacity(1024);
    loop {
        match answer(&buf, config) {
            Ok(Status::Complete(accepted)) => return accepted,
            Ok(Status::Partial) => {}
            Err(error) => {
                let mut out = Vec::new();
                // RFC 6455 §4.2.2: a version it does not speak gets "an appropriate HTTP
                // error code (such as 426 Upgrade Required) and a |Sec-WebSocket-Version|
                // header field indicating the version(s) the server is capable of
                // understanding"; RFC 6455 §4.2.1: any other problem gets "an HTTP
                // response with an appropriate error code (such as 400 Bad Request)".
                write_rejection(error, &mut out);
                return Handshake::Reject(out);
            }
        }
        if buf.len() >= MAX_HEAD {
            return Handshake::Reject(head_too_large());
        }
        let room = MAX_HEAD - buf.len();
        let mut chunk = [0_u8; 2048];
        let want = room.min(chunk.len());
        let Some(chunk) = chunk.get_mut(..want) else {
            return Handshake::Gone;
        };
        match tcp.read(chunk).await {
            Ok(0) | Err(_) => return Handshake::Gone,
            Ok(n) => buf.extend_from_slice(chunk.get(..n).unwrap_or_default()),
        }
    }
}

/// The answer to a request head, once it is complete.
fn answer(buf: &[u8], config: &WsServerConfig) -> Result<Status<Handshake>, HandshakeError> {
    match validate_client_request(buf) {
        Ok(Status::Complete((request, used))) => Ok(Status::Complete(respond(
            &request,
            config,
            buf.get(used..).unwrap_or_default(),
        ))),
        Ok(Status::Partial) => Ok(Status::Partial),
        Err(HandshakeError::UnsupportedVersion) if config.fault == Some(Fault::IgnoresVersion) => {
            // The fault reads any version as 13: validate the request again with its
            // version rewritten, so every other rule still applies.
            let patched = claim_version_13(buf);
            match validate_client_request(&patched)? {
                Status::Complete((request, used)) => Ok(Status::Complete(respond(
                    &request,
                    config,
                    patched.get(used..).unwrap_or_default(),
                ))),
                Status::Partial => Ok(Status::Partial),
            }
        }
        Err(e) => Err(e),
    }
}

/// The answer to a valid request: the 101 head with the extension agreed (if
/// any) and the handshake faults applied, or the error a negotiation fault
/// answers with. `leftover` are the bytes after the head.
fn respond(
    request: &pulsecheck_ws::handshake::ClientHandshake<'_>,
    config: &WsServerConfig,
    leftover: &[u8],
) -> Handshake {
    let supported: Vec<&str> = config.subprotocols.iter().map(String::as_str).collect();
    // RFC 6455 §4.2.2: the subprotocol "MUST be derived from the client's handshake,
    // specifically by selecting one of the values from the |Sec-WebSocket-Protocol|
    // field"; `accept` takes the first offered one the server supports, and accepts
    // no extension.
    let mut response = ServerResponse::accept(request, &supported);
    // RFC 7692 §5: the server accepts at most one permessage-deflate offer, the
    // first it can, and declines the others; without `deflate` it declines all
    // (RFC 6455 §9.1: "A server MUST NOT respond with any extension not requested",
    // and it need accept none).
    let negotiated = match &config.deflate {
        Some(policy) => negotiate(policy, &request.extensions, config.fault),
        None => Negotiated::Declined,
    };
    let agreement = match &negotiated {
        Negotiated::Refused(status) => return Handshake::Reject(refusal(status)),
        Negotiated::Declined => None,
        Negotiated::Accepted {
            response: value,
            agreement,
        } => {
            response.extensions = Some(value.as_str());
            Some(*agreement)
        }
    };
    match config.fault {
        Some(Fault::WrongAccept) => {
            // A server that hashes the header value with its trailing whitespace.
            response.accept = accept_key(&format!("{} ", request.key));
        }
        Some(Fault::PicksUnofferedSubprotocol) => {
            response.protocol = Some(if request.protocols.contains(&UNOFFERED_PROTOCOL) {
                UNOFFERED_PROTOCOL_ALT
            } else {
                UNOFFERED_PROTOCOL
            });
        }
        Some(Fault::EnablesDeflate) => response.extensions = Some("permessage-deflate"),
        _ => {}
    }
    let mut out = Vec::with_capacity(256);
    response.write(&mut out);
    Handshake::Accept {
        response: out,
        leftover: leftover.to_vec(),
        agreement,
    }
}

/// An HTTP error with this status line and no body, for a negotiation fault
/// that refuses the handshake.
fn refusal(status: &str) -> Vec<u8> {
    format!("HTTP/1.1 {status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").into_bytes()
}

/// The request head with every `Sec-WebSocket-Version` line replaced by one saying
/// 13 (for [`Fault::IgnoresVersion`]); the bytes after the head are kept as they
/// are.
fn claim_version_13(buf: &[u8]) -> Vec<u8> {
    const NAME: &[u8] = b"sec-websocket-version:";
    let mut out = Vec::with_capacity(buf.len().saturating_add(8));
    let mut rest = buf;
    while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
        let (line, after) = rest.split_at(nl.saturating_add(1));
        rest = after;
        let is_version = line
            .get(..NAME.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(NAME));
        if is_version {
            out.extend_from_slice(b"Sec-WebSocket-Version: 13\r\n");
        } else {
            out.extend_from_slice(line);
        }
        if line == b"\r\n" || line == b"\n" {
            break;
        }
    }
    out.extend_from_slice(rest);
    out
}

/// `431 Request Header Fields Too Large` (RFC 6585 §5), for a head over
/// [`MAX_HEAD`].
fn head_too_large() -> Vec<u8> {
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n\
      Connection: close\r\n\
      Content-Length: 0\r\n\r\n"
        .to_vec()
}

/// `503 Service Unavailable`, for a request beyond the connection limit.
pub(crate) fn over_capacity() -> Vec<u8> {
    b"HTTP/1.1 503 Service Unavailable\r\n\
      Retry-After: 1\r\n\
      Connection: close\r\n\
      Content-Length: 0\r\n\r\n"
        .to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_rewrite_touches_only_the_version_lines_of_the_head() {
        let request = b"GET / HTTP/1.1\r\nHost: a\r\nsec-websocket-VERSION:  12\r\n\r\n\x81\x80";
        assert_eq!(
            claim_version_13(request),
            b"GET / HTTP/1.1\r\nHost: a\r\nSec-WebSocket-Version: 13\r\n\r\n\x81\x80"
        );
        // A body line that looks like the header is not part of the head.
        let request = b"GET / HTTP/1.1\n\nSec-WebSocket-Version: 12\n";
        assert_eq!(claim_version_13(request), request);
    }
}
