//! A WebSocket client for the client-duty self-tests: it follows Autobahn's
//! client protocol (echo every text and binary message, answer pings, answer
//! the Close) and is correct by default, or carries one chosen [`Fault`] — the
//! client bug a check exists to catch.
//!
//! It offers permessage-deflate (RFC 7692) as [`run_offering`] is told: none, or as
//! its fault needs ([`offer_for`]), checks the response with the framing crate's
//! `accept_response` (leniently, under a negotiation fault) and then
//! decompresses the messages that have RSV1 and compresses its echoes.
//!
//! Written on raw bytes and the framing crate, with every read bounded (5 s,
//! 64 KiB), so a test never hangs on it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use pulsecheck_ws::deflate::{
    Agreement, ClientWindowOffer, CodecConfig, DeflateOffer, DeflateResponse, PERMESSAGE_DEFLATE,
    Parameter, PerMessageDeflate, WindowBits, accept_response, is_token, parse_extensions,
};
use pulsecheck_ws::handshake::{accept_key, encode_key};
use pulsecheck_ws::{
    CloseCode, FrameHeader, Opcode, Role, Rsv, Status, decode_header, encode_frame, unmask,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One bug of a WebSocket client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// The opening request uses POST.
    PostMethod,
    /// The opening request is HTTP/1.0.
    Http10,
    /// The opening request has no Host.
    NoHost,
    /// The opening request has no Upgrade.
    NoUpgrade,
    /// The opening request has no Connection.
    NoConnection,
    /// The opening request says Sec-WebSocket-Version: 8.
    Version8,
    /// The key is the base64 of 12 bytes.
    ShortKey,
    /// Every connection sends the same key.
    RepeatedKey,
    /// Frames go unmasked.
    Unmasked,
    /// Every frame has the same masking key.
    FixedMask,
    /// Masked server frames are read like unmasked ones.
    AcceptsMaskedFrames,
    /// Any status is taken for 101 (and what follows the head for frames).
    AcceptsNon101,
    /// The Upgrade header of the response is not checked.
    IgnoresUpgrade,
    /// The Connection header of the response is not checked.
    IgnoresConnection,
    /// Sec-WebSocket-Accept is not checked (wrong or missing is fine).
    IgnoresAccept,
    /// A subprotocol it never offered is taken.
    AcceptsUnofferedSubprotocol,
    /// An extension it never offered is taken.
    AcceptsUnofferedExtension,
    /// The bytes that came after the response head, in the same read, are lost.
    DropsFrameWith101,
    /// The server's Close is not answered.
    NoCloseAnswer,
    /// After answering the Close, TCP is closed at once.
    ClosesTcpFirst,
    /// Close codes are not checked: the code is echoed, valid or not.
    AcceptsInvalidCloseCodes,
    /// Close reasons are not checked for UTF-8.
    AcceptsInvalidCloseReason,
    /// It offers no permessage-deflate, yet takes a response accepting it (as
    /// if it had offered a plain one); other unoffered extensions it refuses.
    AcceptsUnofferedDeflate,
    /// Parameters of permessage-deflate it does not know are dropped.
    AcceptsUnknownDeflateParameter,
    /// A repeated permessage-deflate parameter is read once.
    AcceptsDuplicateDeflateParameter,
    /// It offers `permessage-deflate` alone, yet takes a
    /// `client_max_window_bits` in the response.
    AcceptsUnofferedClientWindow,
    /// A `server_max_window_bits` it cannot read is dropped (the window is 15).
    AcceptsInvalidServerWindow,
    /// A `client_max_window_bits` without a value in the response is dropped.
    AcceptsBareClientWindow,
    /// A response whose `server_max_window_bits` is not what it offered (15
    /// when it offered none) is refused.
    RefusesSmallerServerWindow,
    /// A response with `server_no_context_takeover` it did not ask for is
    /// refused.
    RefusesUnrequestedServerNoContextTakeover,
    /// A compressed message is echoed as its compressed bytes, without RSV1.
    EchoesCompressedBytes,
}

/// The offer the client makes unless told otherwise (and the one websockets,
/// ws and Chromium make).
pub(crate) const DEFAULT_OFFER: &str = "permessage-deflate; client_max_window_bits";

/// The offer a fault needs for its check to apply: none, or one without
/// `client_max_window_bits`, or [`DEFAULT_OFFER`].
pub(crate) fn offer_for(fault: Option<Fault>) -> Option<&'static str> {
    match fault {
        Some(Fault::AcceptsUnofferedDeflate) => None,
        Some(Fault::AcceptsUnofferedClientWindow) => Some("permessage-deflate"),
        _ => Some(DEFAULT_OFFER),
    }
}

/// How long any one read waits.
const READ_WAIT: Duration = Duration::from_secs(5);

/// The largest response head and frame the client holds.
const MAX_BYTES: usize = 64 * 1024;

/// `N` bytes from the standard library's randomly keyed hasher.
fn random<const N: usize>() -> [u8; N] {
    use std::hash::{BuildHasher, RandomState};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut out = [0; N];
    for chunk in out.chunks_mut(8) {
        let word = RandomState::new()
            .hash_one(COUNTER.fetch_add(1, Ordering::Relaxed))
            .to_le_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
    out
}

struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
    fault: Option<Fault>,
    /// The codecs of an agreed permessage-deflate.
    deflate: Option<PerMessageDeflate>,
}

impl Client {
    fn has(&self, fault: Fault) -> bool {
        self.fault == Some(fault)
    }

    /// Reads more bytes; `false` at the end of the stream, an error or after
    /// [`READ_WAIT`].
    async fn fill(&mut self) -> bool {
        if self.buf.len() > MAX_BYTES {
            return false;
        }
        let mut chunk = [0; 4096];
        match tokio::time::timeout(READ_WAIT, self.stream.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
            _ => false,
        }
    }

    fn mask(&self) -> Option<[u8; 4]> {
        match self.fault {
            Some(Fault::Unmasked) => None,
            Some(Fault::FixedMask) => Some([0x11, 0x22, 0x33, 0x44]),
            _ => Some(random()),
        }
    }

    async fn send(&mut self, opcode: Opcode, payload: &[u8]) -> std::io::Result<()> {
        self.send_with(opcode, Rsv::NONE, payload).await
    }

    async fn send_with(&mut self, opcode: Opcode, rsv: Rsv, payload: &[u8]) -> std::io::Result<()> {
        let mut header = FrameHeader::new(opcode, payload.len() as u64);
        header.mask = self.mask();
        header.rsv = rsv;
        let mut out = Vec::new();
        encode_frame(&mut out, &header, payload).expect("a minimal header");
        self.stream.write_all(&out).await
    }

    /// Echoes a data message: compressed (RSV1) when permessage-deflate was
    /// agreed.
    async fn echo(&mut self, opcode: Opcode, message: &[u8]) -> std::io::Result<()> {
        let Some(codec) = self.deflate.as_mut() else {
            return self.send(opcode, message).await;
        };
        let mut payload = Vec::new();
        codec
            .compressor
            .compress(message, &mut payload)
            .map_err(std::io::Error::other)?;
        self.send_with(opcode, Rsv::RSV1, &payload).await
    }

    async fn send_close(&mut self, code: Option<u16>) -> std::io::Result<()> {
        let body = code.map(|c| c.to_be_bytes().to_vec()).unwrap_or_default();
        self.send(Opcode::CLOSE, &body).await
    }

    /// Fails the connection: a Close with `code`, then TCP closed.
    async fn fail(&mut self, code: u16) {
        let _ = self.send_close(Some(code)).await;
        let _ = self.stream.shutdown().await;
    }

    /// Waits (bounded) for the server to close TCP.
    async fn await_server_close(&mut self) {
        self.buf.clear();
        while self.fill().await {
            self.buf.clear();
        }
    }
}

/// The opening request, with the request faults applied and `offer` as its
/// `Sec-WebSocket-Extensions`; and its key.
fn request(addr: SocketAddr, fault: Option<Fault>, offer: Option<&str>) -> (Vec<u8>, String) {
    let has = |f| fault == Some(f);
    let key = if has(Fault::RepeatedKey) {
        encode_key(*b"pulsecheck fixed")
    } else if has(Fault::ShortKey) {
        encode_key(random::<16>())[..16].to_owned()
    } else {
        encode_key(random())
    };
    let mut lines = vec![format!(
        "{} /runCase?case=1&agent=test {}",
        if has(Fault::PostMethod) {
            "POST"
        } else {
            "GET"
        },
        if has(Fault::Http10) {
            "HTTP/1.0"
        } else {
            "HTTP/1.1"
        }
    )];
    if !has(Fault::NoHost) {
        lines.push(format!("Host: {addr}"));
    }
    if !has(Fault::NoUpgrade) {
        lines.push("Upgrade: websocket".into());
    }
    if !has(Fault::NoConnection) {
        lines.push("Connection: Upgrade".into());
    }
    lines.push(format!("Sec-WebSocket-Key: {key}"));
    let version = if has(Fault::Version8) { "8" } else { "13" };
    lines.push(format!("Sec-WebSocket-Version: {version}"));
    if let Some(offer) = offer {
        lines.push(format!("Sec-WebSocket-Extensions: {offer}"));
    }
    let mut out = lines.join("\r\n");
    out.push_str("\r\n\r\n");
    (out.into_bytes(), key)
}

/// Whether the response head (status, headers) is one the client takes, with
/// its faults, and the permessage-deflate agreed (if any); the reason when it
/// is not.
fn acceptable(
    status: u16,
    headers: &[(String, String)],
    key: &str,
    fault: Option<Fault>,
    offers: &[DeflateOffer],
) -> Result<Option<Agreement>, String> {
    let has = |f| fault == Some(f);
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    };
    if status != 101 && !has(Fault::AcceptsNon101) {
        return Err(format!("status {status}"));
    }
    if !header("upgrade").is_some_and(|u| u.eq_ignore_ascii_case("websocket"))
        && !has(Fault::IgnoresUpgrade)
    {
        return Err("no Upgrade: websocket".into());
    }
    let connection = header("connection").unwrap_or("");
    if !connection
        .split(',')
        .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
        && !has(Fault::IgnoresConnection)
    {
        return Err("no Connection: Upgrade".into());
    }
    if header("sec-websocket-accept") != Some(accept_key(key).as_str())
        && !has(Fault::IgnoresAccept)
    {
        return Err("wrong or missing Sec-WebSocket-Accept".into());
    }
    if header("sec-websocket-protocol").is_some() && !has(Fault::AcceptsUnofferedSubprotocol) {
        return Err("a subprotocol that was not offered".into());
    }
    if has(Fault::AcceptsUnofferedExtension) {
        // Whatever the header says, the connection runs uncompressed.
        return Ok(None);
    }
    let extensions: Vec<&str> = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("sec-websocket-extensions"))
        .map(|(_, v)| v.as_str())
        .collect();
    negotiate(&extensions, offers, fault)
}

/// The client's side of RFC 7692 §7 on the response's
/// `Sec-WebSocket-Extensions` values, with the negotiation faults applied.
fn negotiate(
    values: &[&str],
    offers: &[DeflateOffer],
    fault: Option<Fault>,
) -> Result<Option<Agreement>, String> {
    let has = |f| fault == Some(f);
    let items = parse_extensions(values.iter().copied()).map_err(|e| e.to_string())?;
    if items.iter().any(|i| i.name != PERMESSAGE_DEFLATE) {
        return Err("an extension that was not offered".into());
    }
    // The values as this client reads them: what a fault overlooks is dropped.
    let lenient: Vec<String> = items
        .iter()
        .map(|item| {
            let mut seen: Vec<&str> = Vec::new();
            let mut value = item.name.to_owned();
            for (name, v) in &item.params {
                let known = Parameter::from_name(name).is_some();
                let readable = DeflateResponse::from_params(&[(name, v.clone())]).is_ok();
                let drop = (has(Fault::AcceptsUnknownDeflateParameter) && !known)
                    || (has(Fault::AcceptsDuplicateDeflateParameter) && seen.contains(name))
                    || (has(Fault::AcceptsInvalidServerWindow)
                        && *name == "server_max_window_bits"
                        && !readable)
                    || (has(Fault::AcceptsBareClientWindow)
                        && *name == "client_max_window_bits"
                        && v.is_none());
                seen.push(name);
                if drop {
                    continue;
                }
                value.push_str("; ");
                value.push_str(name);
                match v {
                    Some(v) if is_token(v) => value.push_str(&format!("={v}")),
                    Some(v) => value.push_str(&format!("={v:?}")),
                    None => {}
                }
            }
            value
        })
        .collect();
    let mut offers = offers.to_vec();
    if has(Fault::AcceptsUnofferedDeflate) && offers.is_empty() {
        offers.push(DeflateOffer::default());
    }
    if has(Fault::AcceptsUnofferedClientWindow) {
        for o in &mut offers {
            if o.client_max_window_bits == ClientWindowOffer::NotOffered {
                o.client_max_window_bits = ClientWindowOffer::Supported;
            }
        }
    }
    let Some(agreement) =
        accept_response(&offers, lenient.iter().map(String::as_str)).map_err(|e| e.to_string())?
    else {
        return Ok(None);
    };
    if has(Fault::RefusesSmallerServerWindow)
        && !offers.iter().any(|o| {
            o.server_max_window_bits.unwrap_or(WindowBits::MAX) == agreement.server_max_window_bits
        })
    {
        return Err("a server_max_window_bits other than offered".into());
    }
    if has(Fault::RefusesUnrequestedServerNoContextTakeover)
        && agreement.server_no_context_takeover
        && !offers.iter().any(|o| o.server_no_context_takeover)
    {
        return Err("server_no_context_takeover, not asked for".into());
    }
    Ok(Some(agreement))
}

/// Connects to `addr` and plays the client's side until the connection ends,
/// with `offer` as the request's `Sec-WebSocket-Extensions` (none: no
/// extension offered; [`offer_for`] gives the one a fault needs): `Ok` with
/// how it ended, `Err` when the server could not be reached.
pub(crate) async fn run_offering(
    addr: SocketAddr,
    fault: Option<Fault>,
    offer: Option<&str>,
) -> Result<String, String> {
    let offers: Vec<DeflateOffer> = match offer {
        None => Vec::new(),
        Some(offer) => parse_extensions([offer])
            .map_err(|e| format!("the offer {offer:?}: {e}"))?
            .iter()
            .filter(|i| i.name == PERMESSAGE_DEFLATE)
            .map(|i| DeflateOffer::from_params(&i.params))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("the offer {offer:?}: {e}"))?,
    };
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let _ = stream.set_nodelay(true);
    let mut client = Client {
        stream,
        buf: Vec::new(),
        fault,
        deflate: None,
    };
    let (request, key) = request(addr, fault, offer);
    client
        .stream
        .write_all(&request)
        .await
        .map_err(|e| format!("write: {e}"))?;

    // The response head.
    let (head_len, status, headers) = loop {
        let mut storage = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut storage);
        match response.parse(&client.buf) {
            Ok(httparse::Status::Complete(len)) => {
                let headers: Vec<(String, String)> = response
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_owned(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect();
                break (len, response.code.unwrap_or(0), headers);
            }
            Ok(httparse::Status::Partial) => {
                if !client.fill().await {
                    return Ok("no response".into());
                }
            }
            Err(e) => return Ok(format!("malformed response: {e}")),
        }
    };
    match acceptable(status, &headers, &key, fault, &offers) {
        Ok(agreement) => {
            client.deflate = agreement.map(|a| {
                PerMessageDeflate::new(
                    &a,
                    Role::Client,
                    CodecConfig::default().with_max_message_size(MAX_BYTES),
                )
            });
        }
        Err(why) => {
            // Fail the WebSocket Connection: it never opened, so no Close frame.
            let _ = client.stream.shutdown().await;
            return Ok(format!("refused: {why}"));
        }
    }
    client.buf.drain(..head_len);
    if client.has(Fault::DropsFrameWith101) {
        client.buf.clear();
    }
    frames(&mut client).await
}

/// The frame loop: echo, pong, answer the Close.
async fn frames(client: &mut Client) -> Result<String, String> {
    // A fragmented message in progress: its opcode, whether it is compressed,
    // its payload so far.
    let mut fragments: Option<(Opcode, bool, Vec<u8>)> = None;
    loop {
        let Status::Complete((header, header_len)) = decode_header(&client.buf) else {
            if client.fill().await {
                continue;
            }
            return Ok("the connection ended".into());
        };
        if header.payload_len > MAX_BYTES as u64 {
            client.fail(1009).await;
            return Ok("frame too big".into());
        }
        let total = header_len + header.payload_len as usize;
        if client.buf.len() < total {
            if client.fill().await {
                continue;
            }
            return Ok("the connection ended mid-frame".into());
        }
        let mut payload = client.buf[header_len..total].to_vec();
        client.buf.drain(..total);
        if let Some(key) = header.mask {
            if !client.has(Fault::AcceptsMaskedFrames) {
                client.fail(1002).await;
                return Ok("refused a masked frame".into());
            }
            unmask(&mut payload, key, 0);
        }
        let io = |e: std::io::Error| format!("write: {e}");
        // RFC 7692 §6.1: RSV1 only on the first frame of a data message, and
        // only when permessage-deflate was agreed.
        let rsv1 = header.rsv.contains(Rsv::RSV1);
        let first_of_message = matches!(header.opcode, Opcode::TEXT | Opcode::BINARY);
        if rsv1 && (client.deflate.is_none() || !first_of_message) {
            client.fail(1002).await;
            return Ok("refused RSV1".into());
        }
        let message = match header.opcode {
            Opcode::PING => {
                client.send(Opcode::PONG, &payload).await.map_err(io)?;
                None
            }
            Opcode::PONG => None,
            Opcode::CLOSE => return close(client, &payload).await,
            Opcode::TEXT | Opcode::BINARY if header.fin => Some((header.opcode, rsv1, payload)),
            Opcode::TEXT | Opcode::BINARY => {
                fragments = Some((header.opcode, rsv1, payload));
                None
            }
            Opcode::CONTINUATION => {
                let Some((opcode, compressed, mut data)) = fragments.take() else {
                    client.fail(1002).await;
                    return Ok("a continuation with no message".into());
                };
                data.extend_from_slice(&payload);
                if header.fin {
                    Some((opcode, compressed, data))
                } else {
                    fragments = Some((opcode, compressed, data));
                    None
                }
            }
            _ => {
                client.fail(1002).await;
                return Ok("a reserved opcode".into());
            }
        };
        let Some((opcode, compressed, data)) = message else {
            continue;
        };
        if compressed && client.has(Fault::EchoesCompressedBytes) {
            client.send(opcode, &data).await.map_err(io)?;
            continue;
        }
        let data = match (compressed, client.deflate.as_mut()) {
            (true, Some(codec)) => {
                let mut out = Vec::new();
                if let Err(e) = codec.decompressor.decompress(&data, &mut out) {
                    client.fail(1002).await;
                    return Ok(format!("a message that does not decompress: {e}"));
                }
                out
            }
            _ => data,
        };
        client.echo(opcode, &data).await.map_err(io)?;
    }
}

/// Answers the server's Close (with the close faults applied).
async fn close(client: &mut Client, body: &[u8]) -> Result<String, String> {
    let code = body.get(..2).map(|c| u16::from_be_bytes([c[0], c[1]]));
    let reason = body.get(2..).unwrap_or_default();
    if body.len() == 1 {
        client.fail(1002).await;
        return Ok("a 1-byte Close body".into());
    }
    if let Some(c) = code
        && !CloseCode(c).is_valid_on_wire()
        && !client.has(Fault::AcceptsInvalidCloseCodes)
    {
        client.fail(1002).await;
        return Ok(format!("refused the close code {c}"));
    }
    if std::str::from_utf8(reason).is_err() && !client.has(Fault::AcceptsInvalidCloseReason) {
        client.fail(1007).await;
        return Ok("refused a close reason that is not UTF-8".into());
    }
    if client.has(Fault::NoCloseAnswer) {
        client.await_server_close().await;
        return Ok("did not answer the Close".into());
    }
    let _ = client.send_close(code).await;
    if client.has(Fault::ClosesTcpFirst) {
        let _ = client.stream.shutdown().await;
        return Ok("closed TCP first".into());
    }
    client.await_server_close().await;
    Ok("closed normally".into())
}
