//! The host's requests that are not a case's stream: the browser page (`GET
//! /`, `GET /page/next`, `POST /page/lines/<case>`, see [`super::page`]) and
//! the callbacks of an sse-contract-tests test service (`POST
//! /callback/<case>/<k>`, see [`super::service`]). Whatever they carry for a
//! case goes to its [`Inbox`](super::inbox::Inbox) as driver-contract lines. Bodies are read by
//! `Content-Length`, at most [`MAX_BODY`] bytes; one request per connection.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use super::driver::MAX_LINE_BYTES;
use super::page::{PAGE, PageBoard};
use crate::host::ws::session::RequestHead;

/// The largest body taken (a 5 MB event, as a JSON line, fits).
pub const MAX_BODY: usize = MAX_LINE_BYTES + 64 * 1024;

/// How long a body may take to arrive.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether `target` is one of the routes here (not a case).
pub fn is_side_route(target: &str) -> bool {
    let path = target.split('?').next().unwrap_or_default();
    path == "/" || path.starts_with("/page/") || path.starts_with("/callback/")
}

fn plain(status: u16, reason: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn typed(content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut answer = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    answer.extend_from_slice(body);
    answer
}

/// Reads the body the head announces (`Content-Length`), starting with the
/// bytes read past the head. `Err` is the answer to send instead.
async fn read_body(
    stream: &mut TcpStream,
    head: &RequestHead,
    mut body: Vec<u8>,
) -> Result<Vec<u8>, Vec<u8>> {
    if head.header("transfer-encoding").is_some() {
        return Err(plain(
            411,
            "Length Required",
            "send the body with Content-Length\n",
        ));
    }
    let length: usize = match head.header("content-length").map(str::trim) {
        None => 0,
        Some(text) => text
            .parse()
            .map_err(|_| plain(400, "Bad Request", "Content-Length is not a number\n"))?,
    };
    if length > MAX_BODY {
        return Err(plain(
            413,
            "Content Too Large",
            "the body is over the host's limit\n",
        ));
    }
    body.truncate(length);
    let mut chunk = vec![0_u8; 64 * 1024];
    let read = async {
        while body.len() < length {
            let want = (length - body.len()).min(chunk.len());
            match stream.read(chunk.get_mut(..want).unwrap_or_default()).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => body.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            }
        }
        true
    };
    match tokio::time::timeout(BODY_TIMEOUT, read).await {
        Ok(true) => Ok(body),
        _ => Err(plain(400, "Bad Request", "the body ended early\n")),
    }
}

/// The number after `prefix` in `path` (`/page/lines/7` → 7).
fn number_after(path: &str, prefix: &str) -> Option<u64> {
    path.strip_prefix(prefix)?.split('/').next()?.parse().ok()
}

/// An sse-contract-tests callback body as a driver-contract line: `event`
/// (`{"kind":"event","event":{"type","data","id"}}`), `error`, `comment`.
pub fn callback_line(body: &Value) -> Option<Value> {
    match body.get("kind")?.as_str()? {
        "event" => {
            let event = body.get("event")?;
            let text = |key: &str| event.get(key).and_then(Value::as_str).unwrap_or_default();
            let event_type = match text("type") {
                "" => "message",
                t => t,
            };
            Some(json!({
                "kind": "event",
                "type": event_type,
                "data": event.get("data")?.as_str()?,
                "last_event_id": text("id"),
            }))
        }
        "error" => {
            let text = ["error", "comment", "message"]
                .iter()
                .find_map(|k| body.get(*k).and_then(Value::as_str))
                .unwrap_or("error");
            Some(json!({"kind": "error", "error": text}))
        }
        "comment" => Some(json!({"kind": "comment"})),
        _ => None,
    }
}

/// Answers one request that [`is_side_route`] took.
pub async fn answer(
    stream: &mut TcpStream,
    head: &RequestHead,
    leftover: Vec<u8>,
    board: &PageBoard,
) {
    let path = head.target.split('?').next().unwrap_or_default().to_owned();
    let query = head
        .target
        .split_once('?')
        .map(|(_, q)| q)
        .unwrap_or_default();
    let reply = match (head.method.as_str(), path.as_str()) {
        ("GET", "/") => typed("text/html; charset=utf-8", PAGE.as_bytes()),
        ("GET", "/page/next") => {
            let after = query
                .split('&')
                .find_map(|p| p.strip_prefix("after="))
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            let commands = board.next(after).await;
            typed("application/json", commands.to_string().as_bytes())
        }
        ("POST", p) if p.starts_with("/page/lines/") => match number_after(p, "/page/lines/") {
            None => plain(404, "Not Found", "no such case\n"),
            Some(case) => match read_body(stream, head, leftover).await {
                Err(answer) => answer,
                Ok(body) => {
                    for line in body.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                        if !board.inbox().deliver(case, line.to_vec()).await {
                            break;
                        }
                    }
                    plain(200, "OK", "")
                }
            },
        },
        ("POST", p) if p.starts_with("/callback/") => match number_after(p, "/callback/") {
            None => plain(404, "Not Found", "no such stream\n"),
            Some(case) => match read_body(stream, head, leftover).await {
                Err(answer) => answer,
                Ok(body) => match serde_json::from_slice::<Value>(&body)
                    .ok()
                    .as_ref()
                    .and_then(callback_line)
                {
                    Some(line) => {
                        let line = line.to_string().into_bytes();
                        match p.rsplit('/').next().and_then(|n| n.parse().ok()) {
                            Some(number) if p.matches('/').count() == 3 => {
                                board.inbox().deliver_numbered(case, number, line).await
                            }
                            _ => board.inbox().deliver(case, line).await,
                        };
                        plain(200, "OK", "")
                    }
                    None => plain(
                        400,
                        "Bad Request",
                        "not a callback message of the sse-contract-tests protocol\n",
                    ),
                },
            },
        },
        _ => plain(
            404,
            "Not Found",
            "pulsecheck hosts the SSE client suite here: open / in a browser\n",
        ),
    };
    let _ = stream.write_all(&reply).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callbacks_become_contract_lines() {
        let event = json!({"kind": "event", "event": {"type": "put", "data": "x", "id": "7"}});
        assert_eq!(
            callback_line(&event),
            Some(json!({"kind": "event", "type": "put", "data": "x", "last_event_id": "7"}))
        );
        let bare = json!({"kind": "event", "event": {"data": ""}});
        assert_eq!(callback_line(&bare).unwrap()["type"], "message");
        let error = json!({"kind": "error", "comment": "HTTP 204"});
        assert_eq!(callback_line(&error).unwrap()["error"], "HTTP 204");
        assert_eq!(callback_line(&json!({"kind": "what"})), None);
        assert_eq!(callback_line(&json!({"kind": "event", "event": {}})), None);
    }

    #[test]
    fn only_the_side_routes_are_taken() {
        assert!(is_side_route("/"));
        assert!(is_side_route("/?x=1"));
        assert!(is_side_route("/page/next?after=3"));
        assert!(is_side_route("/callback/4/1"));
        assert!(!is_side_route("/case/4/sse-client/x"));
        assert_eq!(number_after("/page/lines/12", "/page/lines/"), Some(12));
        assert_eq!(number_after("/callback/3/9", "/callback/"), Some(3));
    }
}
