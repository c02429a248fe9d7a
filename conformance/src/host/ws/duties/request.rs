//! The client's opening request (RFC 6455 §4.1): one check per requirement,
//! judged from the head the host read, then the connection answered with a
//! correct 101 and closed normally.

use crate::check::{CheckInfo, Level, Outcome, Source};
use crate::registry::{Check, CheckFuture};

use super::super::session::{ClientSession, RequestHead};
use super::{already_played, take};

/// What a request rule found.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Judgement {
    /// The requirement is met: what was seen.
    Met(String),
    /// It is not: what the rule calls for, and what was sent.
    Broken { expected: String, actual: String },
}

fn broken(expected: impl Into<String>, actual: impl Into<String>) -> Judgement {
    Judgement::Broken {
        expected: expected.into(),
        actual: actual.into(),
    }
}

/// One requirement of the request, judged from its head alone.
struct RequestRule {
    info: CheckInfo,
    judge: fn(&RequestHead) -> Judgement,
}

const fn rule(
    id: &'static str,
    title: &'static str,
    requirement: &'static str,
    judge: fn(&RequestHead) -> Judgement,
) -> RequestRule {
    RequestRule {
        info: CheckInfo {
            id,
            aliases: &[],
            title,
            source: Source::Rfc(6455, "4.1"),
            requirement,
            level: Level::Must,
        },
        judge,
    }
}

const GET_AND_HTTP_11: &str =
    "The method of the request MUST be GET, and the HTTP version MUST be at least 1.1.";

const RULES: &[RequestRule] = &[
    rule(
        "ws-client/request/method-get",
        "The opening request is a GET",
        GET_AND_HTTP_11,
        method_get,
    ),
    rule(
        "ws-client/request/http-version",
        "The opening request is HTTP/1.1",
        GET_AND_HTTP_11,
        http_version,
    ),
    rule(
        "ws-client/request/host",
        "The opening request has a Host",
        "The request MUST contain a |Host| header field whose value contains /host/ plus optionally \":\" followed by /port/ (when not using the default port).",
        host,
    ),
    rule(
        "ws-client/request/upgrade",
        "The opening request has Upgrade: websocket",
        "The request MUST contain an |Upgrade| header field whose value MUST include the \"websocket\" keyword.",
        upgrade,
    ),
    rule(
        "ws-client/request/connection",
        "The opening request has Connection: Upgrade",
        "The request MUST contain a |Connection| header field whose value MUST include the \"Upgrade\" token.",
        connection,
    ),
    rule(
        "ws-client/request/version-13",
        "The opening request has Sec-WebSocket-Version: 13",
        "The request MUST include a header field with the name |Sec-WebSocket-Version|. The value of this header field MUST be 13.",
        version_13,
    ),
    rule(
        "ws-client/request/key-16-bytes",
        "The key is 16 bytes in base64",
        "The request MUST include a header field with the name |Sec-WebSocket-Key|. The value of this header field MUST be a nonce consisting of a randomly selected 16-byte value that has been base64-encoded (see Section 4 of [RFC4648]).",
        key_16_bytes,
    ),
];

/// The key check, which needs the agent's history beside the head. The
/// session's [`AgentHistory`](super::super::session::AgentHistory) must hold
/// the keys of the agent's *earlier* connections only: the host remembers a
/// connection's key once its check has it (after building the session), or
/// this check would find every key repeated.
const KEY_FRESH: CheckInfo = CheckInfo {
    id: "ws-client/request/key-fresh",
    aliases: &[],
    title: "The key differs from every earlier connection's",
    source: Source::Rfc(6455, "4.1"),
    requirement: "The nonce MUST be selected randomly for each connection. (A key equal to one of the agent's earlier connections, control connections included, shows it was not.)",
    level: Level::Must,
};

/// The request checks, in order.
pub(super) fn checks() -> Vec<Check<ClientSession>> {
    let mut checks: Vec<Check<ClientSession>> = RULES
        .iter()
        .map(|r| Check {
            info: r.info,
            run: run_rule,
        })
        .collect();
    checks.push(Check {
        info: KEY_FRESH,
        run: run_key_fresh,
    });
    checks
}

fn run_rule<'a>(session: &'a ClientSession, info: &'a CheckInfo) -> CheckFuture<'a> {
    Box::pin(judge_and_answer(session, info))
}

fn run_key_fresh<'a>(session: &'a ClientSession, _: &'a CheckInfo) -> CheckFuture<'a> {
    Box::pin(key_fresh(session))
}

/// Judges the request by the rule of `info`, then answers 101 and closes.
async fn judge_and_answer(session: &ClientSession, info: &CheckInfo) -> Outcome {
    let Some(rule) = RULES.iter().find(|r| r.info.id == info.id) else {
        return Outcome::error(
            format!("no request rule is named {}", info.id),
            Default::default(),
        );
    };
    let Some(mut wire) = take(session) else {
        return already_played();
    };
    let judgement = (rule.judge)(&wire.request);
    let outcome = match judgement {
        Judgement::Met(seen) => Outcome::pass(seen),
        Judgement::Broken { expected, actual } => {
            wire.note(format!("the request breaks RFC 6455 §4.1: {actual}"));
            Outcome::fail(actual.clone(), wire.evidence(expected, actual))
        }
    };
    answer_and_close(&mut wire).await;
    outcome
}

/// Answers the request with a correct 101 and closes the connection normally.
async fn answer_and_close(wire: &mut super::ClientWire) {
    let head = wire.correct_101();
    if wire.send(&head).await.is_ok() {
        wire.close_normally().await;
    }
}

async fn key_fresh(session: &ClientSession) -> Outcome {
    let Some(mut wire) = take(session) else {
        return already_played();
    };
    let key = wire.key();
    let earlier = session.history.keys();
    let outcome = if key.is_empty() {
        Outcome::fail(
            "the request has no Sec-WebSocket-Key",
            wire.evidence("a Sec-WebSocket-Key not used before", "no key"),
        )
    } else if earlier.is_empty() {
        Outcome::skipped("first connection of this agent: no earlier key to compare with")
    } else if let Some(i) = earlier.iter().position(|k| k.trim() == key) {
        let ago = earlier.len() - i;
        let actual = format!(
            "the key {key} was already sent {ago} connection(s) earlier (of the {} remembered)",
            earlier.len()
        );
        wire.note(actual.clone());
        Outcome::fail(
            actual.clone(),
            wire.evidence(
                "a key not sent on any earlier connection of this agent",
                actual,
            ),
        )
    } else {
        Outcome::pass(format!(
            "the key differs from the {} earlier key(s) of this agent",
            earlier.len()
        ))
    };
    answer_and_close(&mut wire).await;
    outcome
}

/// The elements of a comma-separated header list, over every instance of the
/// header, trimmed (empty ones dropped).
fn list<'h>(head: &'h RequestHead, name: &'h str) -> impl Iterator<Item = &'h str> + 'h {
    head.headers_named(name)
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// How a header was sent, for messages: `Name: value` per instance, or "no
/// Name header".
fn shown(head: &RequestHead, name: &str, display: &str) -> String {
    let values: Vec<String> = head
        .headers_named(name)
        .map(|v| format!("{display}: {v}"))
        .collect();
    if values.is_empty() {
        format!("no {display} header")
    } else {
        values.join(", ")
    }
}

fn method_get(head: &RequestHead) -> Judgement {
    if head.method == "GET" {
        Judgement::Met("the method is GET".into())
    } else {
        broken("the method GET", format!("the method {:?}", head.method))
    }
}

fn http_version(head: &RequestHead) -> Judgement {
    if head.version >= 1 {
        Judgement::Met(format!("HTTP/1.{}", head.version))
    } else {
        broken("HTTP/1.1", format!("HTTP/1.{}", head.version))
    }
}

fn host(head: &RequestHead) -> Judgement {
    let hosts: Vec<&str> = head.headers_named("host").collect();
    match hosts.as_slice() {
        [] => broken("a Host header", "no Host header"),
        [one] if one.trim().is_empty() => broken("a Host header naming the host", "an empty Host"),
        [one] => Judgement::Met(format!("Host: {one}")),
        many => broken(
            "one Host header (RFC 7230 §5.4: a request with more is invalid)",
            format!("{} Host headers", many.len()),
        ),
    }
}

fn upgrade(head: &RequestHead) -> Judgement {
    let shown = shown(head, "upgrade", "Upgrade");
    if list(head, "upgrade").any(|t| t.eq_ignore_ascii_case("websocket")) {
        Judgement::Met(shown)
    } else {
        broken("Upgrade: websocket", shown)
    }
}

fn connection(head: &RequestHead) -> Judgement {
    let shown = shown(head, "connection", "Connection");
    if list(head, "connection").any(|t| t.eq_ignore_ascii_case("upgrade")) {
        Judgement::Met(shown)
    } else {
        broken("a Connection header with the Upgrade token", shown)
    }
}

fn version_13(head: &RequestHead) -> Judgement {
    let values: Vec<&str> = head.headers_named("sec-websocket-version").collect();
    match values.as_slice() {
        [v] if v.trim() == "13" => Judgement::Met("Sec-WebSocket-Version: 13".into()),
        _ => broken(
            "one Sec-WebSocket-Version: 13",
            shown(head, "sec-websocket-version", "Sec-WebSocket-Version"),
        ),
    }
}

fn key_16_bytes(head: &RequestHead) -> Judgement {
    let keys: Vec<&str> = head.headers_named("sec-websocket-key").collect();
    let expected = "one Sec-WebSocket-Key: the base64 of 16 bytes (24 characters, ending \"==\")";
    match keys.as_slice() {
        [] => broken(expected, "no Sec-WebSocket-Key header"),
        [key] => match key_shape(key.trim()) {
            Ok(()) => Judgement::Met(format!("Sec-WebSocket-Key: {key}")),
            Err(why) => broken(expected, format!("Sec-WebSocket-Key: {key} ({why})")),
        },
        many => broken(
            expected,
            format!(
                "{} Sec-WebSocket-Key headers (RFC 6455 §11.3.1: it MUST NOT appear more than once)",
                many.len()
            ),
        ),
    }
}

fn is_base64_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'+' || c == b'/'
}

/// Whether `key` is the base64 (RFC 4648 §4, padded) of exactly 16 bytes:
/// 22 characters of the alphabet then "==" (the last character's four unused
/// bits may be anything, as in RFC 6455's own example key). The error says
/// what it is instead.
fn key_shape(key: &str) -> Result<(), String> {
    let data = key.trim_end_matches('=');
    let padding = key.len() - data.len();
    if !data.bytes().all(is_base64_char) {
        return Err("not base64".into());
    }
    let (len, bad_length) = (data.len(), data.len() % 4 == 1);
    if bad_length || padding > 2 || (padding > 0 && !(len + padding).is_multiple_of(4)) {
        return Err("not valid base64".into());
    }
    let bytes = len * 3 / 4;
    if bytes != 16 {
        return Err(format!("the base64 of {bytes} bytes"));
    }
    if padding != 2 {
        return Err("the base64 of 16 bytes without its \"==\" padding".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(method: &str, version: u8, headers: &[(&str, &str)]) -> RequestHead {
        RequestHead {
            method: method.into(),
            target: "/".into(),
            version,
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            raw: Vec::new(),
        }
    }

    fn met(j: &Judgement) -> bool {
        matches!(j, Judgement::Met(_))
    }

    #[test]
    fn rfc6455_4_1_keys_are_16_bytes_in_padded_base64() {
        // RFC 6455 §4.1's example key (its last character has unused bits set).
        assert_eq!(key_shape("AQIDBAUGBwgJCgsMDQ4PEC=="), Ok(()));
        assert_eq!(key_shape("dGhlIHNhbXBsZSBub25jZQ=="), Ok(()));
        assert_eq!(
            key_shape("AAAAAAAAAAAAAAAA").unwrap_err(),
            "the base64 of 12 bytes"
        );
        assert_eq!(
            key_shape("dGhlIHNhbXBsZSBub25jZQ").unwrap_err(),
            "the base64 of 16 bytes without its \"==\" padding"
        );
        assert_eq!(key_shape("not a key!").unwrap_err(), "not base64");
        assert_eq!(key_shape("").unwrap_err(), "the base64 of 0 bytes");
        assert_eq!(
            key_shape("dGhlIHNhbXBsZSBub25jZQ===").unwrap_err(),
            "not valid base64"
        );
    }

    #[test]
    fn tokens_are_case_insensitive_within_lists_and_repeated_headers() {
        let h = head(
            "GET",
            1,
            &[
                ("upgrade", "WebSocket"),
                ("connection", "keep-alive, UPGRADE"),
            ],
        );
        assert!(met(&upgrade(&h)));
        assert!(met(&connection(&h)));
        let h = head(
            "GET",
            1,
            &[("connection", "keep-alive"), ("connection", "Upgrade")],
        );
        assert!(met(&connection(&h)));
        let h = head(
            "GET",
            1,
            &[("connection", "keep-alive"), ("upgrade", "h2c")],
        );
        assert_eq!(
            connection(&h),
            broken(
                "a Connection header with the Upgrade token",
                "Connection: keep-alive"
            )
        );
        assert_eq!(upgrade(&h), broken("Upgrade: websocket", "Upgrade: h2c"));
    }

    #[test]
    fn method_version_host_and_websocket_version_are_judged_exactly() {
        assert!(!met(&method_get(&head("get", 1, &[]))));
        assert!(!met(&http_version(&head("GET", 0, &[]))));
        assert!(met(&http_version(&head("GET", 1, &[]))));
        assert!(!met(&host(&head("GET", 1, &[]))));
        assert!(!met(&host(&head(
            "GET",
            1,
            &[("host", "a"), ("host", "b")]
        ))));
        assert!(met(&host(&head("GET", 1, &[("host", "127.0.0.1:9001")]))));
        assert!(met(&version_13(&head(
            "GET",
            1,
            &[("sec-websocket-version", " 13 ")]
        ))));
        assert!(!met(&version_13(&head(
            "GET",
            1,
            &[("sec-websocket-version", "8")]
        ))));
        assert!(!met(&version_13(&head(
            "GET",
            1,
            &[
                ("sec-websocket-version", "13"),
                ("sec-websocket-version", "13")
            ]
        ))));
    }

    #[test]
    fn every_rule_is_a_check() {
        let ids: Vec<&str> = checks().iter().map(|c| c.info.id).collect();
        assert_eq!(ids.len(), RULES.len() + 1);
        assert!(ids.contains(&KEY_FRESH.id));
    }
}
