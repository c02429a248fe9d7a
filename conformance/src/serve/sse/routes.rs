//! The HTTP side: routes, response heads (clean and faulty), and the response
//! body that carries a stream.

use core::convert::Infallible;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::sync::Arc;

use bytes::Bytes;
use http::header::{
    ACCEPT_ENCODING, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_MAX_AGE, ALLOW, CACHE_CONTROL, CONTENT_ENCODING,
    CONTENT_TYPE, HeaderName, HeaderValue, ORIGIN, RETRY_AFTER, VARY,
};
use http::{Method, Request, Response, StatusCode};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use tokio::sync::mpsc;

use super::Shared;
use super::fault::{Fault, REFUSE_FOR};
use super::stream::{self, Encoding, Out, Plan};
use crate::serve::TaskToken;

/// The path of the event stream.
pub(crate) const EVENTS_PATH: &str = "/events";

/// Body frames a stream may have queued before its writer waits for the client.
const QUEUED_FRAMES: usize = 4;

/// The request headers a preflight allows: what EventSource and fetch-based
/// clients send (WHATWG §9.2.4: `Last-Event-ID`; `Cache-Control: no-cache`).
const ALLOWED_HEADERS: &str = "last-event-id, cache-control, accept, authorization, content-type";

/// The headers [`Fault::PreflightWithoutLastEventId`]'s preflight allows: the
/// clean list without `last-event-id`.
const ALLOWED_HEADERS_BUT_LAST_EVENT_ID: &str =
    "cache-control, accept, authorization, content-type";

const X_ACCEL_BUFFERING: HeaderName = HeaderName::from_static("x-accel-buffering");

/// A response body: a fixed text, or a stream fed by its writer task.
#[derive(Debug)]
pub(crate) enum ResponseBody {
    /// A whole body, sent once.
    Full(Option<Bytes>),
    /// An event stream: optionally a first chunk already taken off the channel,
    /// then every chunk the writer sends, one body frame each.
    Stream {
        /// A chunk to send before reading the channel.
        first: Option<Bytes>,
        /// The writer's chunks; the body ends when the writer has finished.
        rx: mpsc::Receiver<Bytes>,
    },
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            ResponseBody::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            ResponseBody::Stream { first, rx } => {
                if let Some(bytes) = first.take() {
                    return Poll::Ready(Some(Ok(Frame::data(bytes))));
                }
                rx.poll_recv(cx)
                    .map(|chunk| chunk.map(|b| Ok(Frame::data(b))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, ResponseBody::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ResponseBody::Full(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            ResponseBody::Stream { .. } => SizeHint::default(),
        }
    }
}

/// A short plain-text response.
fn text(status: StatusCode, body: &'static str) -> Response<ResponseBody> {
    let mut response = Response::new(ResponseBody::Full(Some(Bytes::from_static(
        body.as_bytes(),
    ))));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// Answers one request. Never fails: every problem with a request is an HTTP
/// status.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    token: TaskToken,
    request: Request<Incoming>,
) -> Result<Response<ResponseBody>, Infallible> {
    if request.uri().path() != EVENTS_PATH {
        return Ok(text(StatusCode::NOT_FOUND, "not found\n"));
    }
    let method = request.method().clone();
    Ok(match method {
        Method::GET => events(shared, token, request).await,
        Method::OPTIONS => preflight(shared.config.fault, &request),
        _ => {
            let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, OPTIONS"));
            response
        }
    })
}

/// The answer to a CORS preflight for the event stream.
fn preflight<B>(fault: Option<Fault>, request: &Request<B>) -> Response<ResponseBody> {
    if fault == Some(Fault::NoCors) {
        let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET"));
        return response;
    }
    let mut response = Response::new(ResponseBody::Full(None));
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    let origin = request
        .headers()
        .get(ORIGIN)
        .cloned()
        .unwrap_or(HeaderValue::from_static("*"));
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(
        ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, OPTIONS"),
    );
    headers.insert(
        ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(if fault == Some(Fault::PreflightWithoutLastEventId) {
            ALLOWED_HEADERS_BUT_LAST_EVENT_ID
        } else {
            ALLOWED_HEADERS
        }),
    );
    headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    headers.insert(VARY, HeaderValue::from_static("origin"));
    response
}

/// A decimal number of ASCII digits only (no sign, no space), if it fits.
pub(crate) fn decimal(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() {
        return None;
    }
    bytes.iter().try_fold(0u64, |n, &b| {
        if b.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

/// The `limit` query parameter: `Ok(None)` when absent, `Err` when not a number.
fn limit(query: Option<&str>) -> Result<Option<u64>, ()> {
    for pair in query.unwrap_or_default().split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key == "limit" {
            return decimal(value.as_bytes()).map(Some).ok_or(());
        }
    }
    Ok(None)
}

/// Whether the request accepts a gzip-coded response (`gzip` listed without
/// `q=0`).
fn accepts_gzip<B>(request: &Request<B>) -> bool {
    request
        .headers()
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or_default().trim();
            coding.eq_ignore_ascii_case("gzip")
                && !parts.any(|param| {
                    param
                        .trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.trim().parse::<f32>().ok())
                        == Some(0.0)
                })
        })
}

/// `GET /events`: the event stream.
async fn events<B>(
    shared: Arc<Shared>,
    token: TaskToken,
    request: Request<B>,
) -> Response<ResponseBody> {
    let fault = shared.config.fault;
    if fault == Some(Fault::ReconnectRefused) && shared.refusing() {
        let mut response = text(StatusCode::SERVICE_UNAVAILABLE, "try again later\n");
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(REFUSE_FOR.as_secs()));
        return response;
    }
    let Ok(limit) = limit(request.uri().query()) else {
        return text(
            StatusCode::BAD_REQUEST,
            "limit must be a decimal number of events\n",
        );
    };
    let last_id = request
        .headers()
        .get("last-event-id")
        .map(HeaderValue::as_bytes);
    if fault == Some(Fault::ErrorOnEmptyId) && last_id.is_some_and(<[u8]>::is_empty) {
        return text(StatusCode::INTERNAL_SERVER_ERROR, "internal server error\n");
    }
    let Some(guard) = shared.admit() else {
        let mut response = text(StatusCode::SERVICE_UNAVAILABLE, "too many streams\n");
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static("1"));
        return response;
    };
    let wanted = match fault {
        Some(Fault::IgnoresLastEventId) => None,
        _ => last_id.and_then(decimal),
    };
    let subscription = match last_id {
        Some(id) if fault == Some(Fault::IdsComparedAsStrings) && !id.is_empty() => {
            shared.events.subscribe_comparing_as_strings(id)
        }
        _ => shared
            .events
            .subscribe(wanted, fault == Some(Fault::ReplayDuplicates)),
    };
    if fault == Some(Fault::ErrorOnUnknownId)
        && !subscription.found
        && last_id.is_some_and(|id| !id.is_empty())
    {
        return text(StatusCode::INTERNAL_SERVER_ERROR, "internal server error\n");
    }
    let skip_id = match (fault, wanted) {
        (Some(Fault::ReplayGap), Some(id)) if subscription.found => Some(id.saturating_add(1)),
        _ => None,
    };
    let gzip = fault == Some(Fault::GzipBuffered) && accepts_gzip(&request);
    let origin = request.headers().get(ORIGIN).cloned();
    drop(request);
    let encoding = match fault {
        _ if gzip => Encoding::Gzip,
        Some(Fault::Buffered) => Encoding::Buffered,
        Some(Fault::HeldUntilNext) => Encoding::HeldUntilNext,
        _ => Encoding::Plain,
    };
    let plan = Plan {
        fault,
        retry_ms: shared.config.retry_ms,
        heartbeat: shared.config.heartbeat_interval,
        limit,
        skip_id,
        subscription,
    };
    let (tx, mut rx) = mpsc::channel(QUEUED_FRAMES);
    let writer_shared = Arc::clone(&shared);
    tokio::spawn(async move {
        let _token = token;
        let result = stream::run(Arc::clone(&writer_shared), plan, Out::new(tx, encoding)).await;
        if result.is_err() {
            writer_shared.client_dropped();
        }
        // Released only now, after `client_dropped`: a caller that sees the count
        // fall also sees what the drop caused.
        drop(guard);
    });
    // Buffering as a proxy does: nothing, not even the head, until the first
    // batch is out (or the stream has ended).
    let first = if encoding == Encoding::Buffered {
        rx.recv().await
    } else {
        None
    };
    let mut response = Response::new(ResponseBody::Stream { first, rx });
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(match fault {
            Some(Fault::WrongContentType) => "text/plain; charset=utf-8",
            Some(Fault::CharsetLatin1) => "text/event-stream; charset=iso-8859-1",
            _ => "text/event-stream; charset=utf-8",
        }),
    );
    if fault != Some(Fault::NoCacheControl) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    // Proxies that buffer do not pass the header on (nginx hides X-Accel-*).
    if !matches!(fault, Some(Fault::Buffered | Fault::HeldUntilNext)) {
        headers.insert(X_ACCEL_BUFFERING, HeaderValue::from_static("no"));
    }
    if let Some(origin) = origin
        && fault != Some(Fault::NoCors)
    {
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.append(VARY, HeaderValue::from_static("origin"));
    }
    if gzip {
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        headers.append(VARY, HeaderValue::from_static("accept-encoding"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_digits_only_and_fit() {
        assert_eq!(decimal(b"0042"), Some(42));
        assert_eq!(decimal(b"18446744073709551615"), Some(u64::MAX));
        for bad in [
            &b""[..],
            b"+1",
            b"-1",
            b" 1",
            b"1 ",
            b"1e3",
            b"18446744073709551616",
        ] {
            assert_eq!(decimal(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn limit_is_read_from_the_query() {
        assert_eq!(limit(None), Ok(None));
        assert_eq!(limit(Some("a=1&limit=5")), Ok(Some(5)));
        assert_eq!(limit(Some("limit")), Err(()));
        assert_eq!(limit(Some("limit=x")), Err(()));
        assert_eq!(limit(Some("limits=3")), Ok(None));
    }

    #[test]
    fn gzip_is_accepted_unless_refused() {
        let with = |value: &'static str| {
            let request = Request::builder()
                .header(ACCEPT_ENCODING, value)
                .body(())
                .unwrap();
            accepts_gzip(&request)
        };
        assert!(with("gzip"));
        assert!(with("br, GZIP;q=0.5"));
        assert!(!with("br"));
        assert!(!with("gzip;q=0"));
        assert!(!with("x-gzip"));
    }
}
