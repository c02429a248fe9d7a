//! A small permessage-deflate echo server for the self-tests of the compression
//! checks, written on the framing crate alone: it negotiates as RFC 7692 asks
//! (`negotiate_server` with the default policy: every valid offer accepted, the
//! first one that fits), echoes every message compressed under the agreement,
//! fails the connection on RSV1 where §6.1 forbids it, and stops a message that
//! inflates past 1 MiB with 1009. Each [`Fault`] breaks one of those rules, the
//! way real servers have.

use std::net::SocketAddr;

use pulsecheck_ws::deflate::{
    Agreement, CodecConfig, DeflateError, DeflateResponse, PERMESSAGE_DEFLATE, PerMessageDeflate,
    ServerPolicy, WindowBits, check_rsv1, negotiate_server, parse_extensions,
};
use pulsecheck_ws::handshake::{ServerResponse, validate_client_request};
use pulsecheck_ws::{
    Assembled, CloseCode, FrameConfig, MessageKind, Opcode, Role, Rsv, Status, StreamReader,
    encode_message, write_close_body,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How the server departs from RFC 7692.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// Ignores parameters it does not know and accepts the offer.
    AcceptsUnknownParameters,
    /// Takes the last of repeated parameters and accepts the offer.
    AcceptsDuplicateParameters,
    /// Answers 400 to a handshake with an offer it cannot parse.
    RefusesInvalidOffers,
    /// Agrees to server_no_context_takeover without saying so.
    ForgetsServerNoContextTakeover,
    /// Answers server_no_context_takeover, then keeps its context anyway.
    KeepsContext,
    /// Answers server_max_window_bits=15 whatever was offered.
    RaisesServerWindow,
    /// Answers the offered server_max_window_bits, compresses with 15.
    IgnoresServerWindow,
    /// Answers client_max_window_bits=15 to offers without it.
    AnswersClientWindow,
    /// Looks at the first offer only.
    FirstOfferOnly,
    /// Fails the handshake (500) on a window of 8 bits.
    RefusesWindow8,
    /// Takes control frames with RSV1.
    IgnoresRsv1OnControl,
    /// Takes continuation frames with RSV1.
    IgnoresRsv1OnContinuation,
    /// Inflates every message, RSV1 or not.
    InflatesUncompressed,
    /// Stops answering on a message too big to inflate.
    StallsOnLargeMessages,
    /// Declines every offer (a server without compression).
    Declines,
    /// Flips a byte of every echo before compressing it.
    CorruptsEchoes,
    /// Echoes the first [`ECHOED_BEFORE_STOPPING`] messages, then reads and
    /// drops everything, the connection left open (a server that hangs).
    StopsEchoing,
    /// Waits [`SLOW_ECHO`] before each echo: correct, but slow.
    SlowEchoes,
}

/// How many messages [`Fault::StopsEchoing`] echoes.
const ECHOED_BEFORE_STOPPING: usize = 100;

/// How long [`Fault::SlowEchoes`] waits before each echo.
pub(crate) const SLOW_ECHO: std::time::Duration = std::time::Duration::from_millis(4);

/// The largest message the server inflates.
const LIMIT: usize = 1 << 20;

/// Starts the server on a runtime of its own (its compressing must not hold up
/// the probe's tasks); returns its address. It serves until the process ends.
pub(crate) async fn start(fault: Option<Fault>) -> SocketAddr {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async move {
            let addr = crate::loopback::serve(move |tcp| serve(tcp, fault)).await;
            let _ = tx.send(addr);
            std::future::pending::<()>().await;
        });
    });
    rx.await.expect("the server starts")
}

async fn serve(mut tcp: TcpStream, fault: Option<Fault>) {
    let mut buf = Vec::new();
    let head_len = loop {
        let mut chunk = [0u8; 4096];
        match tcp.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        if buf.len() > 64 * 1024 {
            return;
        }
    };
    let head = buf[..head_len].to_vec();
    buf.drain(..head_len);
    let Ok(Status::Complete((request, _))) = validate_client_request(&head) else {
        let _ = tcp
            .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
            .await;
        return;
    };
    let values: Vec<&str> = request.extensions.clone();
    let negotiated = match negotiate(&values, fault) {
        Ok(n) => n,
        Err(status) => {
            let _ = tcp
                .write_all(format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\n\r\n").as_bytes())
                .await;
            return;
        }
    };
    let mut response = ServerResponse::accept(&request, &[]);
    let answer = negotiated.as_ref().map(|(r, _)| r.clone());
    response.extensions = answer.as_deref();
    let mut out = Vec::new();
    response.write(&mut out);
    if tcp.write_all(&out).await.is_err() {
        return;
    }
    let agreement = negotiated.map(|(_, a)| a);
    echo(tcp, buf, agreement, fault).await;
}

/// The response value and agreement, `None` to decline, or an HTTP status.
fn negotiate(
    values: &[&str],
    fault: Option<Fault>,
) -> Result<Option<(String, Agreement)>, &'static str> {
    if fault == Some(Fault::Declines) {
        return Ok(None);
    }
    let items = parse_extensions(values.iter().copied()).map_err(|_| "400 Bad Request")?;
    let offers: Vec<_> = items
        .iter()
        .filter(|i| i.name == PERMESSAGE_DEFLATE)
        .collect();
    let eight = |v: &str| v.contains("window_bits=8");
    if fault == Some(Fault::RefusesWindow8) && values.iter().any(|v| eight(v)) {
        return Err("500 Internal Server Error");
    }
    // Rewrites each offer as the faulty server reads it.
    let known = [
        "server_no_context_takeover",
        "client_no_context_takeover",
        "server_max_window_bits",
        "client_max_window_bits",
    ];
    let rewritten: Vec<String> = offers
        .iter()
        .take(if fault == Some(Fault::FirstOfferOnly) {
            1
        } else {
            usize::MAX
        })
        .map(|item| {
            let mut params: Vec<String> = Vec::new();
            for (name, value) in &item.params {
                if fault == Some(Fault::AcceptsUnknownParameters) && !known.contains(name) {
                    continue;
                }
                if fault == Some(Fault::AcceptsDuplicateParameters) {
                    params.retain(|p| p.split('=').next() != Some(*name));
                }
                params.push(match value {
                    Some(v) => format!("{name}={v}"),
                    None => (*name).to_owned(),
                });
            }
            std::iter::once(PERMESSAGE_DEFLATE.to_owned())
                .chain(params)
                .collect::<Vec<_>>()
                .join("; ")
        })
        .collect();
    let outcome = negotiate_server(
        &ServerPolicy::default(),
        rewritten.iter().map(String::as_str),
    )
    .map_err(|_| "400 Bad Request")?;
    if fault == Some(Fault::RefusesInvalidOffers) && !outcome.declined.is_empty() {
        return Err("400 Bad Request");
    }
    let Some((_, response, agreement)) = outcome.accepted else {
        return Ok(None);
    };
    let response = match fault {
        Some(Fault::ForgetsServerNoContextTakeover) => DeflateResponse {
            server_no_context_takeover: false,
            ..response
        },
        Some(Fault::RaisesServerWindow) if response.server_max_window_bits.is_some() => {
            DeflateResponse {
                server_max_window_bits: Some(WindowBits::MAX),
                ..response
            }
        }
        Some(Fault::AnswersClientWindow) if response.client_max_window_bits.is_none() => {
            DeflateResponse {
                client_max_window_bits: Some(WindowBits::MAX),
                ..response
            }
        }
        _ => response,
    };
    // The agreement the server keeps to: what it answered, except where the
    // fault is to keep to something else.
    let mut kept = Agreement::from_response(&response);
    if fault == Some(Fault::ForgetsServerNoContextTakeover) {
        kept.server_no_context_takeover = agreement.server_no_context_takeover;
    }
    Ok(Some((response.to_string(), kept)))
}

/// Echoes messages until the client closes or breaks a rule.
async fn echo(
    mut tcp: TcpStream,
    mut buf: Vec<u8>,
    agreement: Option<Agreement>,
    fault: Option<Fault>,
) {
    let config = FrameConfig::new(Role::Client).with_allowed_rsv(if agreement.is_some() {
        Rsv::RSV1
    } else {
        Rsv::NONE
    });
    let mut reader = StreamReader::new(config);
    let mut codecs = agreement.map(|a| {
        let mut codecs = PerMessageDeflate::new(
            &a,
            Role::Server,
            CodecConfig::new().with_max_message_size(LIMIT),
        );
        let (bits, reset) = a.sending(Role::Server);
        let send = codecs
            .compressor
            .config()
            .with_window_bits(if fault == Some(Fault::IgnoresServerWindow) {
                WindowBits::MAX
            } else {
                bits
            })
            .with_no_context_takeover(reset && fault != Some(Fault::KeepsContext));
        codecs.compressor = pulsecheck_ws::deflate::Compressor::new(send);
        codecs
    });
    let mut out = Vec::new();
    let mut echoed = 0usize;
    loop {
        let mut start = 0;
        loop {
            out.clear();
            let step = match reader.read(&mut buf[start..]) {
                Ok(Status::Complete((decoded, used))) => {
                    start += used;
                    let header = decoded.header;
                    let skip_rsv1 = (header.opcode.is_control()
                        && fault == Some(Fault::IgnoresRsv1OnControl))
                        || (header.opcode == Opcode::CONTINUATION
                            && fault == Some(Fault::IgnoresRsv1OnContinuation));
                    if codecs.is_some()
                        && !skip_rsv1
                        && check_rsv1(header.opcode, header.rsv, true).is_err()
                    {
                        Step::Close(CloseCode::PROTOCOL_ERROR)
                    } else {
                        match decoded.event {
                            Assembled::Message(_)
                                if fault == Some(Fault::StopsEchoing)
                                    && echoed >= ECHOED_BEFORE_STOPPING =>
                            {
                                Step::Stall
                            }
                            Assembled::Message(m) => {
                                echoed += 1;
                                let opcode = if m.kind() == MessageKind::Text {
                                    Opcode::TEXT
                                } else {
                                    Opcode::BINARY
                                };
                                let compressed = m.rsv().contains(Rsv::RSV1)
                                    || fault == Some(Fault::InflatesUncompressed);
                                reply(&mut codecs, opcode, m.data(), compressed, fault, &mut out)
                            }
                            Assembled::Ping(p) => {
                                encode_message(&mut out, Opcode::PONG, None, p);
                                Step::Go
                            }
                            Assembled::Close(_) => Step::Close(CloseCode::NORMAL),
                            _ => Step::Go,
                        }
                    }
                }
                Ok(Status::Partial) => break,
                Err(v) => Step::Close(v.close_code()),
            };
            match step {
                Step::Go => {
                    if fault == Some(Fault::SlowEchoes) && !out.is_empty() {
                        tokio::time::sleep(SLOW_ECHO).await;
                    }
                    if !out.is_empty() && tcp.write_all(&out).await.is_err() {
                        return;
                    }
                    // Compressing is CPU work: let the other connections (and
                    // their close handshakes) in between messages.
                    tokio::task::yield_now().await;
                }
                Step::Stall => {
                    // Reads and drops until the client gives up.
                    let mut sink = [0u8; 4096];
                    while matches!(tcp.read(&mut sink).await, Ok(n) if n > 0) {}
                    return;
                }
                Step::Close(code) => {
                    let mut body = Vec::new();
                    write_close_body(&mut body, code, b"");
                    encode_message(&mut out, Opcode::CLOSE, None, &body);
                    let _ = tcp.write_all(&out).await;
                    let _ = tcp.shutdown().await;
                    return;
                }
            }
        }
        buf.drain(..start);
        let mut chunk = [0u8; 16 * 1024];
        match tcp.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

enum Step {
    Go,
    Stall,
    Close(CloseCode),
}

/// The echo of one message into `out`.
fn reply(
    codecs: &mut Option<PerMessageDeflate>,
    opcode: Opcode,
    data: &[u8],
    compressed: bool,
    fault: Option<Fault>,
    out: &mut Vec<u8>,
) -> Step {
    let Some(codecs) = codecs else {
        encode_message(out, opcode, None, data);
        return Step::Go;
    };
    let mut message = Vec::new();
    if compressed {
        match codecs.decompressor.decompress(data, &mut message) {
            Ok(()) => {}
            Err(DeflateError::MessageTooBig { .. })
                if fault == Some(Fault::StallsOnLargeMessages) =>
            {
                return Step::Stall;
            }
            Err(e) => return Step::Close(e.close_code()),
        }
    } else {
        message.extend_from_slice(data);
    }
    if fault == Some(Fault::CorruptsEchoes)
        && let Some(b) = message.last_mut()
    {
        *b ^= 0x01;
    }
    let mut payload = Vec::new();
    if codecs.compressor.compress(&message, &mut payload).is_err() {
        return Step::Close(CloseCode::INTERNAL_ERROR);
    }
    // One frame, RSV1 set (RFC 7692 §6.1), unmasked.
    let mut header = pulsecheck_ws::FrameHeader::new(opcode, payload.len() as u64);
    header.rsv = Rsv::RSV1;
    let _ = pulsecheck_ws::encode_frame(out, &header, &payload);
    Step::Go
}
