//! Driving an SSE client through LaunchDarkly's sse-contract-tests protocol:
//! the client's own "test service" (a small REST server each LaunchDarkly SDK
//! ships) is told to open a stream on each case's URL, and reports what its
//! client received to a callback URL on the host (PROTOCOL.md §7):
//!
//! - `GET /` on the service: 200, optionally `{"capabilities": [...]}`;
//! - `POST /` with `{"streamUrl","callbackUrl","tag"}`: 2xx with a `Location`,
//!   the stream's resource;
//! - `POST <Location>` `{"command":"listen","listen":{"type":T}}` for each event
//!   type the cases send, when the service declares `event-type-listeners`;
//! - the service POSTs `{"kind":"event","event":{"type","data","id"}}`,
//!   `{"kind":"comment",…}`, `{"kind":"error",…}` to `callbackUrl/1`, `/2`, …,
//!   which [`super::side`] turns into driver-contract lines for the case;
//! - `DELETE <Location>` when the case is over.
//!
//! The cases are the same; a capability gates the ones it names
//! ([`ServiceLauncher::skip_reason`]: the BOM cases need `bom`). The service's
//! requests are plain HTTP/1.1 on loopback or a LAN ([`exchange`]: one request
//! per connection, answers bounded by [`MAX_ANSWER`]).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use url::Url;

use super::driver::{Launch, Launched};
use super::inbox::Inbox;
use super::page::event_types;

/// The largest answer read from the service.
pub const MAX_ANSWER: usize = 256 * 1024;

/// How long one request to the service may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// One answer of the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// `Location`, if sent.
    pub location: Option<String>,
    /// The body (de-chunked).
    pub body: Vec<u8>,
}

/// Sends one request to `url` (http only) and reads the whole answer.
///
/// # Errors
///
/// The URL is not http, the service cannot be reached, or its answer is not
/// HTTP/1.x, too large or late (the sentence says which).
pub async fn exchange(method: &str, url: &Url, body: Option<&Value>) -> Result<Answer, String> {
    if url.scheme() != "http" {
        return Err(format!("{url}: the test service must be an http:// URL"));
    }
    let host = url.host_str().ok_or_else(|| format!("{url} has no host"))?;
    let port = url.port_or_known_default().unwrap_or(80);
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut path = url.path().to_owned();
    if let Some(query) = url.query() {
        path.push('?');
        path.push_str(query);
    }
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: pulsecheck/{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        env!("CARGO_PKG_VERSION"),
        body.len()
    );
    let talk = async {
        let mut stream = TcpStream::connect((host, port))
            .await
            .map_err(|e| format!("cannot connect to the test service at {url}: {e}"))?;
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("{method} {url}: {e}"))?;
        let mut answer = Vec::new();
        let mut chunk = [0_u8; 8192];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) => break,
                Ok(n) => {
                    answer.extend_from_slice(chunk.get(..n).unwrap_or_default());
                    if answer.len() > MAX_ANSWER {
                        return Err(format!(
                            "{method} {url}: the answer is over {MAX_ANSWER} bytes"
                        ));
                    }
                    if let Some(done) = complete(&answer) {
                        return done;
                    }
                }
                Err(e) => return Err(format!("{method} {url}: {e}")),
            }
        }
        complete(&answer).unwrap_or_else(|| Err(format!("{method} {url}: the answer ended early")))
    };
    tokio::time::timeout(REQUEST_TIMEOUT, talk)
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "{method} {url}: no answer within {} s",
                REQUEST_TIMEOUT.as_secs()
            ))
        })
}

/// The answer in `bytes`, once complete (`Content-Length`, chunked, or no
/// body for 204/304); `None` while more is needed.
fn complete(bytes: &[u8]) -> Option<Result<Answer, String>> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(bytes) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return None,
        Err(e) => {
            return Some(Err(format!(
                "the test service's answer is not HTTP/1.1 ({e})"
            )));
        }
    };
    let status = response.code.unwrap_or(0);
    let header = |name: &str| {
        response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).trim().to_owned())
    };
    let location = header("location");
    let rest = bytes.get(head_len..).unwrap_or_default();
    let body = if status == 204 || status == 304 {
        Vec::new()
    } else if header("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
        dechunk(rest)?
    } else if let Some(length) = header("content-length").and_then(|l| l.parse::<usize>().ok()) {
        if rest.len() < length {
            return None;
        }
        rest.get(..length).unwrap_or_default().to_vec()
    } else {
        // Read to the end of the connection.
        return None;
    };
    Some(Ok(Answer {
        status,
        location,
        body,
    }))
}

/// A chunked body, once its last chunk arrived.
fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = String::from_utf8_lossy(rest.get(..line_end)?).into_owned();
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = rest.get(line_end + 2..)?;
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

/// What the service said of itself at `GET /`.
#[derive(Debug, Clone, Default)]
pub struct ServiceStatus {
    /// Its capabilities.
    pub capabilities: Vec<String>,
    /// Its `name` (LaunchDarkly's SDK services send one), or empty.
    pub name: String,
}

/// Asks the service at `url` for its status (`GET /`).
///
/// # Errors
///
/// It does not answer 200, or its body is not the protocol's JSON.
pub async fn status(url: &Url) -> Result<ServiceStatus, String> {
    let answer = exchange("GET", url, None).await?;
    if answer.status != 200 {
        return Err(format!(
            "GET {url}: the test service answered {}, not 200",
            answer.status
        ));
    }
    if answer.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(ServiceStatus::default());
    }
    let body: Value = serde_json::from_slice(&answer.body)
        .map_err(|e| format!("GET {url}: the status is not JSON ({e})"))?;
    let capabilities = body
        .get("capabilities")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    Ok(ServiceStatus { capabilities, name })
}

/// The [`Launch`] of a run through a test service.
#[derive(Debug)]
pub struct ServiceLauncher {
    service: Url,
    callback_base: String,
    inbox: Arc<Inbox>,
    status: ServiceStatus,
}

/// The stream a case made on the service, for its guard.
#[derive(Debug, Default)]
struct StreamSlot {
    location: Option<Url>,
    over: bool,
}

/// Deletes the case's stream on the service when the case drops it.
struct DeleteStream {
    slot: Arc<Mutex<StreamSlot>>,
    inbox: Arc<Inbox>,
    case: u64,
}

impl Drop for DeleteStream {
    fn drop(&mut self) {
        self.inbox.close(self.case);
        let location = {
            let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
            slot.over = true;
            slot.location.take()
        };
        if let Some(location) = location
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move {
                let _ = exchange("DELETE", &location, None).await;
            });
        }
    }
}

impl ServiceLauncher {
    /// A launcher for the service at `service` (its status already read),
    /// whose callbacks come to `host_base` (`http://ADDR`).
    pub fn new(service: Url, status: ServiceStatus, host_base: &str, inbox: Arc<Inbox>) -> Self {
        ServiceLauncher {
            service,
            callback_base: format!("{}/callback", host_base.trim_end_matches('/')),
            inbox,
            status,
        }
    }

    /// Whether the service declared `capability`.
    pub fn can(&self, capability: &str) -> bool {
        self.status.capabilities.iter().any(|c| c == capability)
    }

    /// Why a case does not apply to this service: the capability it needs is
    /// not declared.
    pub fn skip_reason(&self, case_id: &str) -> Option<String> {
        let needs = if case_id.starts_with("sse-client/stream/bom") {
            "bom"
        } else {
            return None;
        };
        (!self.can(needs))
            .then(|| format!("the test service does not declare the `{needs}` capability"))
    }
}

/// Creates the stream of `case` on the service; sends the `listen` commands.
async fn create(
    service: Url,
    body: Value,
    listen: bool,
    slot: Arc<Mutex<StreamSlot>>,
) -> Result<(), String> {
    let answer = exchange("POST", &service, Some(&body)).await?;
    if !(200..300).contains(&answer.status) {
        return Err(format!(
            "the test service answered {} to POST {service} (create a stream): {}",
            answer.status,
            String::from_utf8_lossy(&answer.body).trim()
        ));
    }
    let location = answer.location.ok_or_else(|| {
        format!("the test service created a stream without a Location (POST {service})")
    })?;
    let location = service
        .join(&location)
        .map_err(|e| format!("the test service's Location {location:?} is not a URL: {e}"))?;
    if listen {
        for event_type in event_types().into_iter().filter(|t| *t != "message") {
            let command = json!({"command": "listen", "listen": {"type": event_type}});
            let answer = exchange("POST", &location, Some(&command)).await?;
            if !(200..300).contains(&answer.status) {
                return Err(format!(
                    "the test service answered {} to the listen command for {event_type:?}",
                    answer.status
                ));
            }
        }
    }
    let over = {
        let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
        slot.location = Some(location.clone());
        slot.over
    };
    if over {
        let _ = exchange("DELETE", &location, None).await;
    }
    Ok(())
}

impl Launch for ServiceLauncher {
    fn launch(&self, url: &str) -> Result<Launched, String> {
        let at = url
            .find("/case/")
            .ok_or_else(|| format!("{url} is not a case URL of the host"))?;
        let path = url.get(at..).unwrap_or_default();
        let case: u64 = path
            .strip_prefix("/case/")
            .and_then(|rest| rest.split('/').next())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("{url} is not a case URL of the host"))?;
        let tag = path.splitn(4, '/').nth(3).unwrap_or_default().to_owned();
        let lines = self.inbox.open(case);
        let slot: Arc<Mutex<StreamSlot>> = Arc::default();
        let body = json!({
            "streamUrl": url,
            "callbackUrl": format!("{}/{case}", self.callback_base),
            "tag": tag,
        });
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| "the test service is driven from a tokio runtime".to_owned())?;
        let created = runtime.spawn(create(
            self.service.clone(),
            body,
            self.can("event-type-listeners"),
            Arc::clone(&slot),
        ));
        // The stream plays once the service has its listen commands.
        let (made, made_signal) = tokio::sync::watch::channel(false);
        // Resolves only when the stream could not be made: the case then ends
        // with the service's words.
        let exit = Box::pin(async move {
            let result = created.await;
            made.send_replace(true);
            match result {
                Ok(Err(e)) => e,
                _ => std::future::pending().await,
            }
        });
        let mut made_signal = made_signal;
        let ready: super::driver::ReadyFuture = Box::pin(async move {
            let _ = made_signal.wait_for(|made| *made).await;
        });
        Ok(Launched {
            lines,
            exit,
            output_tail: Box::new(String::new),
            guard: Box::new(DeleteStream {
                slot,
                inbox: Arc::clone(&self.inbox),
                case,
            }),
            ready: Some(ready),
        })
    }

    fn skip_reason(&self, case_id: &str) -> Option<String> {
        ServiceLauncher::skip_reason(self, case_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_by_length_chunks_or_status() {
        let sized =
            complete(b"HTTP/1.1 201 Created\r\nLocation: /s/1\r\nContent-Length: 2\r\n\r\nok")
                .unwrap()
                .unwrap();
        assert_eq!(
            (sized.status, sized.location.as_deref(), &sized.body[..]),
            (201, Some("/s/1"), &b"ok"[..])
        );
        assert!(complete(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nok").is_none());
        let chunked =
            complete(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
                .unwrap()
                .unwrap();
        assert_eq!(chunked.body, b"{}");
        assert!(complete(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{").is_none());
        let empty = complete(b"HTTP/1.1 204 No Content\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(empty.body.is_empty());
        assert!(complete(b"SSH-2.0\r\n\r\n").unwrap().is_err());
    }

    #[test]
    fn the_bom_cases_need_the_bom_capability() {
        let service = Url::parse("http://127.0.0.1:1/").unwrap();
        let without = ServiceLauncher::new(
            service.clone(),
            ServiceStatus::default(),
            "http://h",
            Arc::default(),
        );
        assert!(without.skip_reason("sse-client/stream/bom-split").is_some());
        assert!(without.skip_reason("sse-client/stream/cr-lines").is_none());
        let with = ServiceLauncher::new(
            service,
            ServiceStatus {
                capabilities: vec!["bom".to_owned()],
                name: String::new(),
            },
            "http://h",
            Arc::default(),
        );
        assert!(with.skip_reason("sse-client/stream/bom").is_none());
    }
}
