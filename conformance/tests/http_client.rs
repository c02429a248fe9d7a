//! The probe HTTP client (`pulsecheck::http`) against servers started in-process on
//! 127.0.0.1: raw tokio listeners where the test needs exact bytes and timing, hyper
//! (auto HTTP/1.1 + HTTP/2) behind rustls with an rcgen CA where it needs TLS or h2.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, HeaderValue};
use http::{StatusCode, Version};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use pulsecheck::http::{
    Client, ClientConfig, ClientError, Next, Phase, Response, TlsFailure, parse_header_arg,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

#[path = "support/pki.rs"]
mod pki;
use pki::Pki;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

async fn listen() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

fn url(addr: SocketAddr, path: &str) -> Url {
    Url::parse(&format!("http://{addr}{path}")).unwrap()
}

/// Reads a request head (up to the blank line) from a raw connection.
async fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
        match stream.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// The path of a request head's request line.
fn path_of(head: &str) -> &str {
    head.split(' ').nth(1).unwrap_or("")
}

/// A raw HTTP/1.1 server: every connection's request head goes to `respond`, whose
/// answer is written as is before the connection closes.
async fn serve_raw<F>(respond: F) -> SocketAddr
where
    F: Fn(&str, SocketAddr) -> String + Send + Sync + 'static,
{
    let (listener, addr) = listen().await;
    let respond = Arc::new(respond);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let respond = respond.clone();
            tokio::spawn(async move {
                let head = read_head(&mut stream).await;
                let answer = respond(&head, addr);
                let _ = stream.write_all(answer.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    addr
}

fn ok_text(body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn redirect(status: &str, location: &str) -> String {
    format!("HTTP/1.1 {status}\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n")
}

const STREAM_HEAD: &str = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n";

fn chunk(data: &str) -> String {
    format!("{:x}\r\n{data}\r\n", data.len())
}

/// Reads the whole body as text.
async fn body_text(response: &mut Response) -> String {
    let mut body = Vec::new();
    while let Some(chunk) = response.next_chunk().await.unwrap() {
        body.extend_from_slice(&chunk.bytes);
    }
    String::from_utf8(body).unwrap()
}

fn client(config: ClientConfig) -> Client {
    Client::new(config).unwrap()
}

/// Answers every request with `hello` and the version the server saw in `x-seen-version`.
async fn hello(
    request: http::Request<Incoming>,
) -> Result<http::Response<Full<Bytes>>, Infallible> {
    let mut response = http::Response::new(Full::new(Bytes::from_static(b"hello")));
    response.headers_mut().insert(
        "x-seen-version",
        HeaderValue::from_str(&format!("{:?}", request.version())).unwrap(),
    );
    Ok(response)
}

/// A hyper server (HTTP/1.1 and HTTP/2, chosen by what the client sends), behind TLS
/// when `tls` is given.
async fn serve_hyper(tls: Option<Arc<rustls::ServerConfig>>) -> SocketAddr {
    let (listener, addr) = listen().await;
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                match acceptor {
                    Some(acceptor) => {
                        // A client that rejects the certificate aborts here; that is the test.
                        if let Ok(stream) = acceptor.accept(stream).await {
                            let _ = builder
                                .serve_connection(TokioIo::new(stream), service_fn(hello))
                                .await;
                        }
                    }
                    None => {
                        let _ = builder
                            .serve_connection(TokioIo::new(stream), service_fn(hello))
                            .await;
                    }
                }
            });
        }
    });
    addr
}

fn https_url(addr: SocketAddr) -> Url {
    Url::parse(&format!("https://localhost:{}/", addr.port())).unwrap()
}

// ---------------------------------------------------------------------------
// Plain HTTP/1.1
// ---------------------------------------------------------------------------

#[tokio::test]
async fn plain_get_sends_configured_and_per_request_headers() {
    // The server answers with the request head it received.
    let addr = serve_raw(|head, _| ok_text(head)).await;
    let client = client(ClientConfig {
        headers: vec![
            parse_header_arg("Authorization: Bearer secret").unwrap(),
            parse_header_arg("Accept: */*").unwrap(),
        ],
        ..ClientConfig::default()
    });
    let mut response = client
        .get(
            &url(addr, "/events?x=1#frag"),
            &[(ACCEPT, HeaderValue::from_static("text/event-stream"))],
        )
        .await
        .unwrap();
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.version, Version::HTTP_11);
    assert_eq!(response.remote_addr, addr);
    assert_eq!(response.alpn, None);
    assert!(response.redirects.is_empty());
    assert_eq!(response.headers["content-type"], "text/plain");
    assert!(response.timing.connected_at <= response.timing.head_at);
    assert_eq!(response.timing.tls_at, None);

    let echoed = body_text(&mut response).await.to_ascii_lowercase();
    assert!(
        echoed.starts_with("get /events?x=1 http/1.1\r\n"),
        "{echoed}"
    );
    assert!(echoed.contains(&format!("host: {addr}\r\n")), "{echoed}");
    assert!(
        echoed.contains("authorization: bearer secret\r\n"),
        "{echoed}"
    );
    // The per-request Accept replaced the configured one.
    assert!(echoed.contains("accept: text/event-stream\r\n"), "{echoed}");
    assert!(!echoed.contains("accept: */*"), "{echoed}");
    assert!(echoed.contains("user-agent: pulsecheck/"), "{echoed}");
    // The body is over: End, and it stays over.
    assert_eq!(
        response
            .next_chunk_within(Duration::from_secs(1))
            .await
            .unwrap(),
        Next::End
    );
    assert!(response.next_chunk().await.unwrap().is_none());
}

#[tokio::test]
async fn request_with_another_method() {
    let addr = serve_raw(|head, _| ok_text(head)).await;
    let mut response = client(ClientConfig::default())
        .request(
            http::Method::OPTIONS,
            &url(addr, "/events"),
            &[(
                http::header::ORIGIN,
                HeaderValue::from_static("https://example.com"),
            )],
        )
        .await
        .unwrap();
    let echoed = body_text(&mut response).await.to_ascii_lowercase();
    assert!(
        echoed.starts_with("options /events http/1.1\r\n"),
        "{echoed}"
    );
    assert!(
        echoed.contains("origin: https://example.com\r\n"),
        "{echoed}"
    );
}

#[tokio::test]
async fn streamed_chunks_carry_increasing_arrival_times() {
    let (listener, addr) = listen().await;
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        read_head(&mut stream).await;
        stream.write_all(STREAM_HEAD.as_bytes()).await.unwrap();
        for i in 0..3 {
            let event = format!("data: {i}\n\n");
            stream.write_all(chunk(&event).as_bytes()).await.unwrap();
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        stream.write_all(b"0\r\n\r\n").await.unwrap();
    });
    let mut response = client(ClientConfig::default())
        .get(&url(addr, "/"), &[])
        .await
        .unwrap();
    let mut chunks = Vec::new();
    while let Some(chunk) = response.next_chunk().await.unwrap() {
        chunks.push(chunk);
    }
    let text: Vec<&[u8]> = chunks.iter().map(|c| &c.bytes[..]).collect();
    assert_eq!(text, [&b"data: 0\n\n"[..], b"data: 1\n\n", b"data: 2\n\n"]);
    assert!(response.timing.head_at <= chunks[0].at);
    for pair in chunks.windows(2) {
        assert!(pair[1].at > pair[0].at, "{:?}", chunks);
    }
    // Produced 150 ms apart, received apart: nothing held them back.
    assert!(
        chunks[2].at - chunks[0].at >= Duration::from_millis(250),
        "{chunks:?}"
    );
}

#[tokio::test]
async fn next_chunk_within_reports_idle_then_resumes() {
    let (listener, addr) = listen().await;
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        read_head(&mut stream).await;
        stream.write_all(STREAM_HEAD.as_bytes()).await.unwrap();
        stream
            .write_all(chunk(": hi\n\n").as_bytes())
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(600)).await;
        stream
            .write_all(chunk("data: late\n\n").as_bytes())
            .await
            .unwrap();
        stream.write_all(b"0\r\n\r\n").await.unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
    });
    let mut response = client(ClientConfig::default())
        .get(&url(addr, "/"), &[])
        .await
        .unwrap();
    let second = Duration::from_secs(2);
    let Next::Chunk(first) = response.next_chunk_within(second).await.unwrap() else {
        panic!("expected the first chunk");
    };
    assert_eq!(&first.bytes[..], b": hi\n\n");
    // The stream is silent now: Idle, not End, and the connection stays usable.
    let idle = response
        .next_chunk_within(Duration::from_millis(200))
        .await
        .unwrap();
    assert_eq!(idle, Next::Idle);
    let Next::Chunk(late) = response.next_chunk_within(second).await.unwrap() else {
        panic!("expected the late chunk");
    };
    assert_eq!(&late.bytes[..], b"data: late\n\n");
    assert!(late.at - first.at >= Duration::from_millis(500));
    assert_eq!(response.next_chunk_within(second).await.unwrap(), Next::End);
}

#[tokio::test]
async fn dropping_the_response_closes_the_connection() {
    let (listener, addr) = listen().await;
    let (closed_tx, closed_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        read_head(&mut stream).await;
        stream.write_all(STREAM_HEAD.as_bytes()).await.unwrap();
        stream
            .write_all(chunk("data: 1\n\n").as_bytes())
            .await
            .unwrap();
        // The client sends nothing more; a read ends only when it closes (EOF or reset).
        let mut buf = [0u8; 64];
        let outcome = tokio::time::timeout(Duration::from_secs(1), stream.read(&mut buf)).await;
        let _ = closed_tx.send(matches!(outcome, Ok(Ok(0)) | Ok(Err(_))));
    });
    let mut response = client(ClientConfig::default())
        .get(&url(addr, "/"), &[])
        .await
        .unwrap();
    assert!(response.next_chunk().await.unwrap().is_some());
    drop(response);
    let closed = tokio::time::timeout(Duration::from_secs(2), closed_rx)
        .await
        .unwrap()
        .unwrap();
    assert!(
        closed,
        "the server did not see the connection close within 1 s"
    );
}

/// A response body that never produces anything: a stream the server keeps open.
struct Silent;

impl hyper::body::Body for Silent {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Infallible>>> {
        std::task::Poll::Pending
    }
}

#[tokio::test]
async fn dropping_an_http2_response_closes_the_connection() {
    // h2c: hyper serves a stream that never ends; the connection future returns only
    // when the client's side of the TCP connection goes away.
    let (listener, addr) = listen().await;
    let (closed_tx, closed_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let service = service_fn(|_request: http::Request<Incoming>| async {
            Ok::<_, Infallible>(http::Response::new(Silent))
        });
        let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
            .serve_connection(TokioIo::new(stream), service)
            .await;
        let _ = closed_tx.send(());
    });
    let response = client(ClientConfig {
        http2_prior_knowledge: true,
        ..ClientConfig::default()
    })
    .get(&url(addr, "/"), &[])
    .await
    .unwrap();
    assert_eq!(response.version, Version::HTTP_2);
    drop(response);
    tokio::time::timeout(Duration::from_secs(1), closed_rx)
        .await
        .expect("the server still holds the connection 1 s after the drop")
        .unwrap();
}

// ---------------------------------------------------------------------------
// Redirects
// ---------------------------------------------------------------------------

#[tokio::test]
async fn redirect_chain_is_followed_and_recorded_in_order() {
    let addr = serve_raw(|head, addr| match path_of(head) {
        "/a" => redirect("301 Moved Permanently", "b?from=a"),
        "/b?from=a" => redirect("307 Temporary Redirect", &format!("http://{addr}/c")),
        "/c" => redirect("303 See Other", "/d"),
        "/d" => ok_text(head),
        _ => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_string(),
    })
    .await;
    let client = client(ClientConfig {
        headers: vec![parse_header_arg("Authorization: Bearer t").unwrap()],
        ..ClientConfig::default()
    });
    let mut response = client.get(&url(addr, "/a"), &[]).await.unwrap();
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.url, url(addr, "/d"));
    let hops: Vec<(u16, String, String)> = response
        .redirects
        .iter()
        .map(|r| {
            (
                r.status.as_u16(),
                r.from.path().into(),
                r.location.to_string(),
            )
        })
        .collect();
    assert_eq!(
        hops,
        [
            (301, "/a".into(), url(addr, "/b?from=a").to_string()),
            (307, "/b".into(), url(addr, "/c").to_string()),
            (303, "/c".into(), url(addr, "/d").to_string()),
        ]
    );
    assert!(response.timing.hop_started_at > Duration::ZERO);
    let echoed = body_text(&mut response).await.to_ascii_lowercase();
    // Same origin all along: the credentials went with every hop.
    assert!(echoed.contains("authorization: bearer t\r\n"), "{echoed}");
}

#[tokio::test]
async fn too_many_redirects_is_an_error_with_the_chain() {
    let addr = serve_raw(|_, _| redirect("302 Found", "/loop")).await;
    let err = client(ClientConfig {
        max_redirects: 3,
        ..ClientConfig::default()
    })
    .get(&url(addr, "/loop"), &[])
    .await
    .unwrap_err();
    let ClientError::TooManyRedirects { max, redirects, .. } = &err else {
        panic!("expected TooManyRedirects, got {err}");
    };
    assert_eq!(*max, 3);
    assert_eq!(redirects.len(), 3);
    assert!(err.to_string().contains("redirect loop"), "{err}");
}

// ---------------------------------------------------------------------------
// Failures
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let (listener, addr) = listen().await;
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        read_head(&mut stream).await;
        tokio::time::sleep(Duration::from_secs(10)).await;
        drop(stream);
    });
    let err = client(ClientConfig {
        response_timeout: Duration::from_millis(300),
        ..ClientConfig::default()
    })
    .get(&url(addr, "/"), &[])
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Timeout {
                phase: Phase::ResponseHead,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("Timed out after 300 ms waiting for the response headers"),
        "{err}"
    );
}

#[tokio::test]
async fn connection_refused_is_a_connect_error() {
    let (listener, addr) = listen().await;
    drop(listener);
    let err = client(ClientConfig::default())
        .get(&url(addr, "/"), &[])
        .await
        .unwrap_err();
    let ClientError::Connect {
        addr: tried,
        source,
        ..
    } = &err
    else {
        panic!("expected Connect, got {err}");
    };
    assert_eq!(*tried, addr);
    assert_eq!(source.kind(), std::io::ErrorKind::ConnectionRefused);
    assert!(
        err.to_string()
            .starts_with("Could not connect to 127.0.0.1"),
        "{err}"
    );
}

#[tokio::test]
async fn other_schemes_are_refused() {
    let client = client(ClientConfig::default());
    for target in ["ws://127.0.0.1:1/", "ftp://127.0.0.1/file"] {
        let err = client
            .get(&Url::parse(target).unwrap(), &[])
            .await
            .unwrap_err();
        assert!(
            matches!(err, ClientError::UnsupportedScheme { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("only http and https"), "{err}");
    }
}

#[tokio::test]
async fn a_redirect_to_another_scheme_is_refused() {
    let addr = serve_raw(|_, _| redirect("302 Found", "ws://127.0.0.1:1/")).await;
    let err = client(ClientConfig::default())
        .get(&url(addr, "/"), &[])
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::UnsupportedScheme { .. }),
        "{err}"
    );
}

#[test]
fn a_missing_ca_file_is_reported() {
    let err = Client::new(ClientConfig {
        ca_certs: vec![PathBuf::from("/nonexistent/ca.pem")],
        ..ClientConfig::default()
    })
    .unwrap_err();
    assert!(matches!(err, ClientError::CaCerts { .. }), "{err}");
    assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
}

// ---------------------------------------------------------------------------
// TLS and HTTP/2
// ---------------------------------------------------------------------------

#[tokio::test]
async fn https_trusts_a_ca_given_in_ca_certs() {
    let pki = Pki::new();
    let addr = serve_hyper(Some(pki.server_config(&[b"http/1.1"]))).await;
    let mut response = client(ClientConfig {
        ca_certs: vec![pki.ca_file.clone()],
        ..ClientConfig::default()
    })
    .get(&https_url(addr), &[])
    .await
    .unwrap();
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.version, Version::HTTP_11);
    assert_eq!(response.alpn.as_deref(), Some("http/1.1"));
    assert_eq!(response.remote_addr.port(), addr.port());
    let tls_at = response.timing.tls_at.unwrap();
    assert!(response.timing.connected_at <= tls_at && tls_at <= response.timing.head_at);
    assert_eq!(body_text(&mut response).await, "hello");
}

#[tokio::test]
async fn https_with_an_untrusted_certificate_names_cacert_and_insecure() {
    let pki = Pki::new();
    let addr = serve_hyper(Some(pki.server_config(&[b"http/1.1"]))).await;
    let err = client(ClientConfig::default())
        .get(&https_url(addr), &[])
        .await
        .unwrap_err();
    let ClientError::Tls { kind, .. } = &err else {
        panic!("expected a TLS error, got {err}");
    };
    assert_eq!(*kind, TlsFailure::UnknownIssuer);
    let message = err.to_string();
    assert!(message.contains("--cacert"), "{message}");
    assert!(message.contains("--insecure"), "{message}");
}

#[tokio::test]
async fn insecure_accepts_an_untrusted_certificate() {
    let pki = Pki::new();
    let addr = serve_hyper(Some(pki.server_config(&[b"http/1.1"]))).await;
    let mut response = client(ClientConfig {
        insecure: true,
        ..ClientConfig::default()
    })
    .get(&https_url(addr), &[])
    .await
    .unwrap();
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(body_text(&mut response).await, "hello");
}

#[tokio::test]
async fn https_uses_http2_when_the_server_picks_h2() {
    let pki = Pki::new();
    let addr = serve_hyper(Some(pki.server_config(&[b"h2", b"http/1.1"]))).await;
    let mut response = client(ClientConfig {
        ca_certs: vec![pki.ca_file.clone()],
        headers: vec![(AUTHORIZATION, HeaderValue::from_static("Bearer t"))],
        ..ClientConfig::default()
    })
    .get(&https_url(addr), &[])
    .await
    .unwrap();
    assert_eq!(response.version, Version::HTTP_2);
    assert_eq!(response.alpn.as_deref(), Some("h2"));
    assert_eq!(response.headers["x-seen-version"], "HTTP/2.0");
    assert_eq!(body_text(&mut response).await, "hello");
}

#[tokio::test]
async fn h2c_with_prior_knowledge() {
    let addr = serve_hyper(None).await;
    let mut response = client(ClientConfig {
        http2_prior_knowledge: true,
        ..ClientConfig::default()
    })
    .get(&url(addr, "/"), &[])
    .await
    .unwrap();
    assert_eq!(response.version, Version::HTTP_2);
    assert_eq!(response.alpn, None);
    assert_eq!(response.headers["x-seen-version"], "HTTP/2.0");
    assert_eq!(body_text(&mut response).await, "hello");

    // The same server without prior knowledge: HTTP/1.1.
    let response = client(ClientConfig::default())
        .get(&url(addr, "/"), &[])
        .await
        .unwrap();
    assert_eq!(response.version, Version::HTTP_11);
    assert_eq!(response.headers["x-seen-version"], "HTTP/1.1");
}

// ---------------------------------------------------------------------------
// Malformed answers, said in words; the overall deadline
// ---------------------------------------------------------------------------

/// Serves `answer` (raw bytes, any bytes) to every connection after its request head,
/// then keeps the connection open for a while.
async fn serve_bytes(answer: &'static [u8]) -> SocketAddr {
    let (listener, addr) = listen().await;
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                read_head(&mut stream).await;
                let _ = stream.write_all(answer).await;
                tokio::time::sleep(Duration::from_secs(5)).await;
            });
        }
    });
    addr
}

/// Reads a body until it ends or fails; returns the failure.
async fn body_error(response: &mut Response) -> ClientError {
    loop {
        match response.next_chunk().await {
            Ok(Some(_)) => {}
            Ok(None) => panic!("the body ended cleanly"),
            Err(e) => return e,
        }
    }
}

#[tokio::test]
async fn an_invalid_chunk_size_is_located_and_quoted() {
    for (size, says) in [
        (&b"zz"[..], "does not begin with a hexadecimal digit"),
        (b"-5", "does not begin with a hexadecimal digit"),
        (b"1ffffffffffffffff", "does not fit in 64 bits"),
    ] {
        let mut answer = STREAM_HEAD.as_bytes().to_vec();
        answer.extend_from_slice(chunk("data: a\n\n").as_bytes());
        let at = answer.len();
        answer.extend_from_slice(size);
        answer.extend_from_slice(b"\r\ndata: b\n\n\r\n");
        let addr = serve_bytes(answer.leak()).await;
        let mut response = client(ClientConfig::default())
            .get(&url(addr, "/"), &[])
            .await
            .unwrap();
        let err = body_error(&mut response).await;
        let ClientError::Malformed { problem, .. } = &err else {
            panic!("not located: {err}");
        };
        assert_eq!(problem.offset, at as u64, "{err}");
        assert_eq!(problem.rule, "RFC 9112 §7.1");
        assert!(!err.is_unusable_target(), "the head was fine: {err}");
        let text = err.to_string();
        assert!(
            text.starts_with(&format!("The chunked body is malformed at byte {at}: ")),
            "{text}"
        );
        assert!(text.contains(says), "{text}");
        let quoted = String::from_utf8_lossy(size).into_owned() + "\\r\\ndata: b";
        assert!(text.contains(&quoted), "{text}");
    }
}

#[tokio::test]
async fn a_body_shorter_than_its_content_length_is_named() {
    let addr =
        serve_raw(|_, _| "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789".to_owned())
            .await;
    let mut response = client(ClientConfig::default())
        .get(&url(addr, "/"), &[])
        .await
        .unwrap();
    let err = body_error(&mut response).await;
    assert!(
        err.to_string()
            .contains("closed after 10 of the 100 bytes the Content-Length announced"),
        "{err}"
    );
}

#[tokio::test]
async fn a_server_that_does_not_speak_http_is_an_unusable_target() {
    let addr = serve_bytes(b"SSH-2.0-OpenSSH_9.6\r\n").await;
    let err = client(ClientConfig::default())
        .get(&url(addr, "/"), &[])
        .await
        .unwrap_err();
    assert!(err.is_unusable_target(), "{err}");
    assert!(!err.is_unreachable(), "{err}");
    assert_eq!(
        err.to_string(),
        "The server does not speak HTTP: it answered with \"SSH-2.0-OpenSSH_9.6\\r\\n\" where a status line such as \"HTTP/1.1 200 OK\" belongs (RFC 9112 §4)."
    );
    // The same through a raw request (a WebSocket handshake's first contact).
    let err = client(ClientConfig::default())
        .request_head_raw(&url(addr, "/"), b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap_err();
    assert!(err.is_unusable_target(), "{err}");
    assert!(err.to_string().contains("SSH-2.0-OpenSSH_9.6"), "{err}");

    // A server that closes without a byte is no better.
    let closes = serve_raw(|_, _| String::new()).await;
    let err = client(ClientConfig::default())
        .get(&url(closes, "/"), &[])
        .await
        .unwrap_err();
    assert!(err.is_unusable_target(), "{err}");
    assert_eq!(
        err.to_string(),
        "The server closed the connection without answering the request."
    );
}

#[tokio::test]
async fn tls_to_a_server_that_does_not_speak_tls_quotes_its_answer() {
    let (listener, tls_addr) = listen().await;
    // Answers the ClientHello with plain HTTP, as an http:// server on the port would.
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut hello = [0u8; 512];
            let _ = stream.read(&mut hello).await;
            let _ = stream
                .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                .await;
        }
    });
    let https = Url::parse(&format!("https://{tls_addr}/")).unwrap();
    let err = client(ClientConfig::default())
        .get(&https, &[])
        .await
        .unwrap_err();
    let ClientError::Tls { kind, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(*kind, TlsFailure::NotTls);
    assert!(err.is_unusable_target());
    let text = err.to_string();
    assert!(
        text.contains("the server does not speak TLS: it answered the handshake with \"HTTP/1.1 400 Bad Request\\r\\n"),
        "{text}"
    );
    assert!(text.contains("use http:// or ws://"), "{text}");
    // The raw connection of a wss:// probe says the same.
    let wss = Url::parse(&format!("wss://{tls_addr}/")).unwrap();
    let err = client(ClientConfig::default())
        .connect_raw(&wss)
        .await
        .unwrap_err();
    assert!(err.is_unusable_target(), "{err}");
}

#[tokio::test]
async fn the_overall_deadline_cuts_every_phase_short_and_says_so() {
    // Accepts and never answers.
    let (listener, addr) = listen().await;
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let started = std::time::Instant::now();
    let silent = client(ClientConfig {
        response_timeout: Duration::from_secs(30),
        deadline: Some(started + Duration::from_millis(400)),
        ..ClientConfig::default()
    });
    let err = silent.get(&url(addr, "/"), &[]).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    assert!(
        matches!(
            err,
            ClientError::Deadline {
                phase: Phase::ResponseHead,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("The overall deadline passed after ")
            && err
                .to_string()
                .contains("waiting for the response headers from")
            && err.to_string().ends_with("(--deadline)."),
        "{err}"
    );
    // A raw request is bounded the same way; so is one begun after the deadline.
    let err = silent
        .request_head_raw(&url(addr, "/"), b"GET / HTTP/1.1\r\n\r\n")
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Deadline { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
}
