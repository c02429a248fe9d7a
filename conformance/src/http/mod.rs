//! The HTTP client that probes talk to servers with.
//!
//! A conformance probe is not a normal HTTP client: it must *see* everything a normal
//! client hides. Which redirects were followed, which address answered, whether TLS
//! chose HTTP/2, when the headers arrived, and when each piece of the body came off
//! the wire — because "events arrive as they are produced" is a claim about timing,
//! and "the server survives clients that vanish" needs a client that can vanish on
//! purpose. This module is that client, on hyper 1.x, tokio and rustls.
//!
//! # What it does
//!
//! - `http://` over HTTP/1.1, or HTTP/2 without TLS (h2c) with
//!   [`ClientConfig::http2_prior_knowledge`]; `https://` with ALPN offering `h2` and
//!   `http/1.1`, speaking whichever the server picks. Other schemes are an error.
//! - Trust: the Mozilla roots of `webpki-roots`, plus the PEM files of
//!   [`ClientConfig::ca_certs`] (`--cacert`), or no verification with
//!   [`ClientConfig::insecure`] (`--insecure`). An untrusted certificate is a
//!   [`ClientError::Tls`] whose message names those two options.
//! - Headers: [`ClientConfig::headers`] (from `-H`, see [`parse_header_arg`]) on every
//!   request, plus the headers each call adds; a header given to the call replaces a
//!   configured header of the same name.
//! - Redirects 301, 302, 303, 307 and 308 are followed up to
//!   [`ClientConfig::max_redirects`], each recorded as a [`Redirect`]; one more is
//!   [`ClientError::TooManyRedirects`]. `Authorization`, `Proxy-Authorization` and
//!   `Cookie` are not sent on to another origin (as curl does).
//! - **One new connection per request**, never pooled: probes need independent
//!   connections, and a [`Response`] owns its connection, so dropping the response
//!   closes it at once.
//! - Every phase is bounded: resolving, connecting and the TLS handshake by
//!   [`ClientConfig::connect_timeout`], the wait for the response head by
//!   [`ClientConfig::response_timeout`], and all of them by the overall
//!   [`ClientConfig::deadline`] when one is set. The body is read by the caller at its own pace,
//!   with [`Response::next_chunk_within`] to bound each wait.
//!
//! Nothing here panics on what a server sends; every failure is a [`ClientError`] whose
//! message is a sentence the CLI prints as it is.
//!
//! # How a probe uses it
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use http::header::{ACCEPT, HeaderValue};
//! use pulsecheck::http::{Client, ClientConfig, Next};
//!
//! # async fn probe() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::new(ClientConfig::default())?;
//! let url = url::Url::parse("https://example.com/events")?;
//! let mut response = client
//!     .get(&url, &[(ACCEPT, HeaderValue::from_static("text/event-stream"))])
//!     .await?;
//! println!(
//!     "{} over {:?} from {}, headers after {:?}",
//!     response.status, response.version, response.remote_addr, response.timing.head_at
//! );
//! // Read until the stream ends or stays silent for 30 s; keep only what the check needs.
//! loop {
//!     match response.next_chunk_within(Duration::from_secs(30)).await? {
//!         Next::Chunk(chunk) => println!("{} bytes at {:?}", chunk.bytes.len(), chunk.at),
//!         Next::End => break,
//!         Next::Idle => {
//!             println!("no byte for 30 s");
//!             break;
//!         }
//!     }
//! }
//! drop(response); // closes the connection now, as a vanished client would
//! # Ok(())
//! # }
//! ```
//!
//! # Not done here
//!
//! No request bodies (probes send GET, HEAD and OPTIONS), no content decoding (a
//! probe that sends `Accept-Encoding` wants to see the encoded bytes and their timing),
//! no cookies, no proxies, no credentials from the URL's user info (pass
//! `Authorization` with `-H`), no connection reuse.

mod connect;
mod error;
mod raw;
mod response;
mod tls;
mod wire;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use http::header::{AUTHORIZATION, COOKIE, HOST, LOCATION, PROXY_AUTHORIZATION, USER_AGENT};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use tokio::time::{Instant, timeout_at};
use url::{Position, Url};

pub use error::{ClientError, HttpStage, Phase, TlsFailure};
pub(crate) use raw::lowercase_headers;
pub use raw::{RawIo, RawReply, RawStream};
pub use response::{Next, Redirect, Response, TimedChunk, Timing};
pub use wire::{Malformation, MalformationKind, quote};

use connect::{RequestBody, Sender};
use wire::{Tap, WireLog};

/// How a [`Client`] connects. `Default` gives verified TLS with the webpki roots, no
/// extra headers, 10 s for connecting, 10 s for the response head, and 5 redirects.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Accept any server certificate (`--insecure`). The handshake signature is still
    /// checked; the chain, the name and the dates are not.
    pub insecure: bool,
    /// PEM files whose certificates are trusted in addition to the webpki roots
    /// (`--cacert`). Every file must hold at least one certificate.
    pub ca_certs: Vec<PathBuf>,
    /// Speak HTTP/2 over plain TCP without negotiation (h2c with prior knowledge,
    /// `--http2-prior-knowledge`). Applies to `http://` only: over TLS the server's ALPN
    /// choice decides.
    pub http2_prior_knowledge: bool,
    /// Headers sent on every request (`-H 'Authorization: Bearer …'`), in order;
    /// a name may repeat.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Limit for resolving the host, connecting, and the TLS handshake, together.
    pub connect_timeout: Duration,
    /// Limit for the response's status line and headers to arrive once connected
    /// (a server that accepts and never answers). The body has no overall limit: read
    /// it with [`Response::next_chunk_within`].
    pub response_timeout: Duration,
    /// How many redirects to follow before giving up with
    /// [`ClientError::TooManyRedirects`]. `0` makes any redirect an error.
    pub max_redirects: usize,
    /// An overall deadline (`--deadline`): no phase waits past it, whatever its own
    /// limit, and a phase it cuts short fails with [`ClientError::Deadline`]. The
    /// body is read at the caller's pace and is not bounded by it.
    pub deadline: Option<std::time::Instant>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            insecure: false,
            ca_certs: Vec::new(),
            http2_prior_knowledge: false,
            headers: Vec::new(),
            connect_timeout: Duration::from_secs(10),
            response_timeout: Duration::from_secs(10),
            max_redirects: 5,
            deadline: None,
        }
    }
}

/// Parses a `-H` argument, `Name: value`, as curl does: the name is everything before
/// the first colon (no surrounding spaces allowed), the value everything after it with
/// surrounding spaces and tabs trimmed. The value may be empty and may hold UTF-8 (sent
/// as its bytes, as `Last-Event-ID` needs); control characters are refused.
pub fn parse_header_arg(arg: &str) -> Result<(HeaderName, HeaderValue), ClientError> {
    let invalid = |reason: &str| ClientError::InvalidHeader {
        input: arg.to_string(),
        reason: reason.to_string(),
    };
    let Some((name, value)) = arg.split_once(':') else {
        return Err(invalid(
            "expected `Name: value`, with a colon after the name",
        ));
    };
    if name.is_empty() {
        return Err(invalid("the header name is empty"));
    }
    let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
        invalid("the header name must be a token (letters, digits and !#$%&'*+-.^_`|~, no spaces)")
    })?;
    let value = value.trim_matches([' ', '\t']);
    let value = HeaderValue::from_bytes(value.as_bytes())
        .map_err(|_| invalid("the header value must not contain control characters"))?;
    Ok((name, value))
}

/// The probe's HTTP client. Cheap to clone (the configuration and TLS setup are
/// shared); every request opens its own connection.
#[derive(Debug, Clone)]
pub struct Client {
    config: Arc<ClientConfig>,
    tls: Arc<rustls::ClientConfig>,
}

/// One request on one connection, before redirects are considered.
struct Hop {
    response: http::Response<hyper::body::Incoming>,
    sender: Sender,
    connection: connect::ConnectionTask,
    remote_addr: std::net::SocketAddr,
    alpn: Option<String>,
    timing: Timing,
    wire: Arc<WireLog>,
}

impl Client {
    /// Builds a client: loads the CA files and prepares TLS. Fails with
    /// [`ClientError::CaCerts`] when a `ca_certs` file is unreadable or holds no
    /// certificate.
    pub fn new(config: ClientConfig) -> Result<Self, ClientError> {
        let tls = tls::client_config(&config)?;
        Ok(Self {
            config: Arc::new(config),
            tls,
        })
    }

    /// The configuration this client was built with.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// `GET url`, with `headers` added to the configured ones (see [`request`](Self::request)).
    pub async fn get(
        &self,
        url: &Url,
        headers: &[(HeaderName, HeaderValue)],
    ) -> Result<Response, ClientError> {
        self.request(Method::GET, url, headers).await
    }

    /// Sends a bodiless request (GET, HEAD, OPTIONS for a CORS preflight…) on a new
    /// connection, follows redirects, and returns once the final response's head has
    /// arrived. The body is left on the connection for the caller to read.
    ///
    /// `headers` are added to [`ClientConfig::headers`]; a name given here replaces the
    /// configured values of that name. `Host` (HTTP/1.1) and `User-Agent:
    /// pulsecheck/<version>` are added unless given.
    ///
    /// A 303, and a 301 or 302 answering a POST, turns the method into GET (HEAD stays
    /// HEAD), as browsers do; other redirects keep the method.
    pub async fn request(
        &self,
        method: Method,
        url: &Url,
        headers: &[(HeaderName, HeaderValue)],
    ) -> Result<Response, ClientError> {
        let started = Instant::now();
        let mut headers = self.merge_headers(headers);
        let mut method = method;
        let mut url = url.clone();
        let mut redirects = Vec::new();
        loop {
            let hop = self
                .exchange(&method, &url, &headers, started)
                .await
                .map_err(|e| self.blame_deadline(e, started))?;
            let status = hop.response.status();
            let location = if is_redirect(status) {
                hop.response.headers().get(LOCATION)
            } else {
                None
            };
            let Some(location) = location else {
                let (head, body) = hop.response.into_parts();
                return Ok(Response::new(response::Parts {
                    url,
                    head,
                    body,
                    redirects,
                    remote_addr: hop.remote_addr,
                    alpn: hop.alpn,
                    timing: hop.timing,
                    started,
                    sender: hop.sender,
                    connection: hop.connection,
                    wire: hop.wire,
                }));
            };
            let location_text = String::from_utf8_lossy(location.as_bytes()).into_owned();
            let next = url
                .join(&location_text)
                .map_err(|err| ClientError::InvalidUrl {
                    url: location_text.clone(),
                    reason: format!(
                        "the {} redirect from {url} has a Location that is not a URL ({err})",
                        status.as_u16()
                    ),
                })?;
            if redirects.len() >= self.config.max_redirects {
                return Err(ClientError::TooManyRedirects {
                    max: self.config.max_redirects,
                    url: url.to_string(),
                    next: next.to_string(),
                    redirects,
                });
            }
            // The redirect's own connection closes here; the next hop opens a new one.
            drop(hop);
            if next.origin() != url.origin() {
                for name in [AUTHORIZATION, PROXY_AUTHORIZATION, COOKIE] {
                    headers.remove(name);
                }
            }
            let to_get = status == StatusCode::SEE_OTHER
                || (method == Method::POST
                    && matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND));
            if to_get && method != Method::HEAD {
                method = Method::GET;
            }
            redirects.push(Redirect {
                status,
                from: std::mem::replace(&mut url, next.clone()),
                location: next,
            });
        }
    }

    /// The configured headers with the call's headers layered on top.
    fn merge_headers(&self, extra: &[(HeaderName, HeaderValue)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in &self.config.headers {
            map.append(name.clone(), value.clone());
        }
        for (name, _) in extra {
            map.remove(name);
        }
        for (name, value) in extra {
            map.append(name.clone(), value.clone());
        }
        map
    }

    /// One request on one new connection.
    async fn exchange(
        &self,
        method: &Method,
        url: &Url,
        headers: &HeaderMap,
        started: Instant,
    ) -> Result<Hop, ClientError> {
        let https = match url.scheme() {
            "http" => false,
            "https" => true,
            other => {
                return Err(ClientError::UnsupportedScheme {
                    url: url.to_string(),
                    scheme: other.to_string(),
                });
            }
        };
        let no_host = || ClientError::InvalidUrl {
            url: url.to_string(),
            reason: "it has no host".into(),
        };
        let host = url.host().ok_or_else(no_host)?;
        let host_text = url.host_str().ok_or_else(no_host)?.to_string();
        let port = url.port_or_known_default().ok_or_else(no_host)?;

        let hop_started_at = started.elapsed();
        let limit = self.config.connect_timeout;
        let deadline = self.phase_deadline(limit);
        let addrs = connect::resolve(&host, port, deadline, limit).await?;
        let (stream, remote_addr) = connect::tcp(&host_text, &addrs, deadline, limit).await?;
        let connected_at = started.elapsed();

        let head_limit = self.config.response_timeout;
        let head_timeout = || ClientError::Timeout {
            phase: Phase::ResponseHead,
            target: url.to_string(),
            after: head_limit,
        };
        // The response to HEAD has no body, whatever its head says (RFC 9112 §6.3).
        let no_body = method == Method::HEAD;
        let (mut sender, connection, alpn, tls_at, wire) = if https {
            let server_name =
                tls::server_name(&host).map_err(|reason| ClientError::InvalidUrl {
                    url: url.to_string(),
                    reason,
                })?;
            let connector = tokio_rustls::TlsConnector::from(self.tls.clone());
            let below = WireLog::raw();
            let tapped = Tap::new(stream, Arc::clone(&below));
            let tls = match timeout_at(deadline, connector.connect(server_name, tapped)).await {
                Err(_elapsed) => {
                    return Err(ClientError::Timeout {
                        phase: Phase::TlsHandshake,
                        target: host_text,
                        after: limit,
                    });
                }
                Ok(Err(err)) => return Err(tls::handshake_error(&host_text, err, &below)),
                Ok(Ok(tls)) => tls,
            };
            let tls_at = started.elapsed();
            let alpn = tls
                .get_ref()
                .1
                .alpn_protocol()
                .map(|p| String::from_utf8_lossy(p).into_owned());
            let http2 = alpn.as_deref() == Some("h2");
            let (sender, connection, wire) = self
                .start_tapped(tls, http2, no_body, url, head_limit)
                .await?;
            (sender, connection, alpn, Some(tls_at), wire)
        } else {
            let http2 = self.config.http2_prior_knowledge;
            let (sender, connection, wire) = self
                .start_tapped(stream, http2, no_body, url, head_limit)
                .await?;
            (sender, connection, None, None, wire)
        };

        let request = build_request(method, url, headers, sender.is_http2())?;
        let head_deadline = self.phase_deadline(head_limit);
        let response = match timeout_at(head_deadline, sender.send(request)).await {
            Err(_elapsed) => return Err(head_timeout()),
            Ok(Err(source)) => return Err(http_error(&wire, HttpStage::Request, url, source)),
            Ok(Ok(response)) => response,
        };
        let head_at = started.elapsed();
        Ok(Hop {
            response,
            sender,
            connection,
            remote_addr,
            alpn,
            timing: Timing {
                hop_started_at,
                connected_at,
                tls_at,
                head_at,
            },
            wire,
        })
    }

    /// `limit` from now, or the overall deadline if that comes first.
    /// Starts HTTP/1.1 or HTTP/2 over `io` (plain TCP or TLS), every byte passing a
    /// tap that locates framing errors, within the response-head time limit.
    async fn start_tapped<IO>(
        &self,
        io: IO,
        http2: bool,
        no_body: bool,
        url: &Url,
        head_limit: Duration,
    ) -> Result<(connect::Sender, connect::ConnectionTask, Arc<WireLog>), ClientError>
    where
        IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let wire = Self::wire_log(http2, no_body);
        let tapped = Tap::new(io, Arc::clone(&wire));
        let (sender, connection) = timeout_at(
            self.phase_deadline(head_limit),
            connect::start_http(tapped, http2),
        )
        .await
        .map_err(|_| ClientError::Timeout {
            phase: Phase::ResponseHead,
            target: url.to_string(),
            after: head_limit,
        })?
        .map_err(|source| http_error(&wire, HttpStage::Handshake, url, source))?;
        Ok((sender, connection, wire))
    }

    pub(crate) fn phase_deadline(&self, limit: Duration) -> Instant {
        let own = Instant::now() + limit;
        match self.config.deadline {
            Some(overall) => own.min(Instant::from_std(overall)),
            None => own,
        }
    }

    /// A timeout that the overall deadline caused, as [`ClientError::Deadline`]
    /// (with the time since `since`); any other error as it is.
    pub(crate) fn blame_deadline(&self, err: ClientError, since: Instant) -> ClientError {
        let passed = self
            .config
            .deadline
            .is_some_and(|d| Instant::now() >= Instant::from_std(d));
        match err {
            ClientError::Timeout { phase, target, .. } if passed => ClientError::Deadline {
                phase,
                target,
                waited: since.elapsed(),
            },
            other => other,
        }
    }

    /// The log a connection's tap keeps: HTTP/1.1 framing followed, or (HTTP/2,
    /// whose framing hyper's h2 reports on itself) only the first bytes.
    fn wire_log(http2: bool, no_body: bool) -> Arc<WireLog> {
        if http2 {
            WireLog::raw()
        } else {
            WireLog::http1(no_body)
        }
    }
}

/// hyper's error as the client reports it: located and quoted when the tap saw which
/// rule the server's bytes broke ([`ClientError::Malformed`]), in hyper's words
/// otherwise ([`ClientError::Http`]).
pub(crate) fn http_error(
    wire: &WireLog,
    stage: HttpStage,
    url: &Url,
    source: hyper::Error,
) -> ClientError {
    match wire.malformation() {
        Some(problem) => ClientError::Malformed {
            url: url.to_string(),
            problem,
            source: Some(source),
        },
        None => ClientError::Http {
            stage,
            url: url.to_string(),
            source,
        },
    }
}

fn is_redirect(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::MOVED_PERMANENTLY
            | StatusCode::FOUND
            | StatusCode::SEE_OTHER
            | StatusCode::TEMPORARY_REDIRECT
            | StatusCode::PERMANENT_REDIRECT
    )
}

/// The request for one hop. HTTP/1.1 gets the origin form (`/path?query`) and a `Host`
/// header; HTTP/2 the absolute form, from which hyper takes `:scheme` and `:authority`.
/// The fragment is never sent, and neither is the URL's user info.
fn build_request(
    method: &Method,
    url: &Url,
    headers: &HeaderMap,
    http2: bool,
) -> Result<http::Request<RequestBody>, ClientError> {
    let invalid = |reason: String| ClientError::InvalidUrl {
        url: url.to_string(),
        reason,
    };
    let host = url.host_str().unwrap_or_default();
    let authority = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    };
    let path_and_query = &url[Position::BeforePath..Position::AfterQuery];
    let path_and_query = if path_and_query.is_empty() {
        "/"
    } else {
        path_and_query
    };
    let target = if http2 {
        format!("{}://{authority}{path_and_query}", url.scheme())
    } else {
        path_and_query.to_string()
    };
    let uri: http::Uri = target
        .parse()
        .map_err(|err| invalid(format!("it cannot be sent as a request target ({err})")))?;

    let mut request = http::Request::new(RequestBody::new());
    *request.method_mut() = method.clone();
    *request.uri_mut() = uri;
    let map = request.headers_mut();
    if !http2 && !headers.contains_key(HOST) {
        let value = HeaderValue::from_str(&authority)
            .map_err(|err| invalid(format!("its host is not a valid Host header ({err})")))?;
        map.insert(HOST, value);
    }
    if !headers.contains_key(USER_AGENT) {
        map.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("pulsecheck/", env!("CARGO_PKG_VERSION"))),
        );
    }
    for (name, value) in headers {
        map.append(name.clone(), value.clone());
    }
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_args() {
        let (name, value) = parse_header_arg("Authorization: Bearer abc").unwrap();
        assert_eq!(name, AUTHORIZATION);
        assert_eq!(value, "Bearer abc");
        let (name, value) = parse_header_arg("X-Empty:").unwrap();
        assert_eq!(name.as_str(), "x-empty");
        assert_eq!(value, "");
        let (_, value) = parse_header_arg("Last-Event-ID: \t é:1 ").unwrap();
        assert_eq!(value.as_bytes(), "é:1".as_bytes());
        for bad in ["NoColon", ": value", "Bad Name: v", "X: a\nb"] {
            let err = parse_header_arg(bad).unwrap_err();
            assert!(
                matches!(err, ClientError::InvalidHeader { .. }),
                "{bad}: {err}"
            );
            assert!(err.to_string().starts_with("The header "), "{err}");
        }
    }

    #[test]
    fn request_forms() {
        let url = Url::parse("http://example.com:8080/a/b?c=d#frag").unwrap();
        let headers = HeaderMap::new();
        let h1 = build_request(&Method::GET, &url, &headers, false).unwrap();
        assert_eq!(h1.uri().to_string(), "/a/b?c=d");
        assert_eq!(h1.headers()[HOST], "example.com:8080");
        let h2 = build_request(&Method::GET, &url, &headers, true).unwrap();
        assert_eq!(h2.uri().to_string(), "http://example.com:8080/a/b?c=d");
        assert!(!h2.headers().contains_key(HOST));

        let url = Url::parse("https://[::1]/").unwrap();
        let h1 = build_request(&Method::OPTIONS, &url, &headers, false).unwrap();
        assert_eq!(h1.headers()[HOST], "[::1]");
        assert_eq!(h1.method(), Method::OPTIONS);
    }

    #[test]
    fn call_headers_replace_configured_ones() {
        let client = Client::new(ClientConfig {
            headers: vec![
                parse_header_arg("Accept: a").unwrap(),
                parse_header_arg("X-Keep: 1").unwrap(),
            ],
            ..ClientConfig::default()
        })
        .unwrap();
        let merged = client.merge_headers(&[parse_header_arg("Accept: b").unwrap()]);
        assert_eq!(merged.get_all("accept").iter().collect::<Vec<_>>(), ["b"]);
        assert_eq!(merged["x-keep"], "1");
    }
}
