//! `sse/http1/…`

use super::*;

/// The `sse/http1` checks, in catalogue order.
pub(super) const CHECKS: &[Check<SseProbe>] = &[check!(
    "sse/http1/framing",
    "The body is framed as HTTP/1.1 requires",
    Source::Rfc(9112, "6.3, 7.1"),
    Must,
    "A sender MUST NOT generate protocol elements that do not match the grammar defined by the corresponding ABNF rules (RFC 9110 §2.2): every chunk is chunk-size [ chunk-ext ] CRLF chunk-data CRLF, and a Content-Length body carries every octet it announces; a client treats anything else as a network error and loses the stream.",
    framing
)];

async fn framing(probe: &SseProbe) -> Outcome {
    let c = match probe.main().await {
        Ok(c) => c,
        Err(e) => return unavailable(&e.to_string()),
    };
    judge_framing(c)
}

/// The judgement, on a capture: a body the client found malformed fails.
fn judge_framing(c: &Capture) -> Outcome {
    if let BodyEnd::Malformed(why) = &c.end {
        let why = why.strip_suffix('.').unwrap_or(why);
        return Outcome::fail(
            lower_first(why),
            evidence(
                c,
                "chunks of chunk-size [ chunk-ext ] CRLF chunk-data CRLF (RFC 9112 §7.1), or as many octets as Content-Length says (§6.3)",
                why,
                Some(c.body_bytes),
            ),
        );
    }
    if c.version.contains('2') {
        return Outcome::skipped(format!(
            "the server answered over {}, which frames the body in DATA frames, not as HTTP/1.1 does",
            c.version
        ));
    }
    let how = match (c.header("transfer-encoding"), c.header("content-length")) {
        (Some(te), _) if te.to_ascii_lowercase().contains("chunked") => "chunked".to_owned(),
        (Some(te), _) => format!("Transfer-Encoding: {te}, delimited by the close"),
        (None, Some(length)) => format!("Content-Length: {length}"),
        (None, None) => "delimited by the close".to_owned(),
    };
    Outcome::pass(format!(
        "{} bytes of the body read without a framing error ({how})",
        c.body_bytes
    ))
}

fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Verdict;

    fn capture(headers: &[(&str, &str)], version: &str, end: BodyEnd) -> Capture {
        let headers = headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        let mut c = Capture::new(200, version, headers, Duration::from_millis(1));
        c.push(Duration::from_millis(2), b"data: a\n\n");
        c.finish(end, Duration::from_secs(1));
        c
    }

    #[test]
    fn a_malformed_body_fails_with_the_located_problem() {
        let why = "The chunked body is malformed at byte 57: the chunk size line does not begin with a hexadecimal digit (RFC 9112 §7.1); the server sent \"zz\\r\\n\".";
        let c = capture(
            &[("transfer-encoding", "chunked")],
            "HTTP/1.1",
            BodyEnd::Malformed(why.into()),
        );
        let outcome = judge_framing(&c);
        assert_eq!(outcome.verdict, Verdict::Fail);
        assert!(
            outcome
                .message
                .starts_with("the chunked body is malformed at byte 57"),
            "{}",
            outcome.message
        );
        let evidence = outcome.evidence.expect("evidence");
        assert!(evidence.actual.contains("zz\\r\\n"));
    }

    #[test]
    fn well_framed_bodies_pass_and_http2_is_skipped() {
        let chunked = capture(
            &[("transfer-encoding", "chunked")],
            "HTTP/1.1",
            BodyEnd::WindowOver,
        );
        let outcome = judge_framing(&chunked);
        assert_eq!(outcome.verdict, Verdict::Pass);
        assert_eq!(
            outcome.message,
            "9 bytes of the body read without a framing error (chunked)"
        );
        let closed = capture(&[], "HTTP/1.1", BodyEnd::Closed);
        assert!(
            judge_framing(&closed)
                .message
                .contains("delimited by the close")
        );
        // A reset is not a framing error.
        let reset = capture(&[], "HTTP/1.1", BodyEnd::Failed("reset".into()));
        assert_eq!(judge_framing(&reset).verdict, Verdict::Pass);
        let h2 = capture(&[], "HTTP/2.0", BodyEnd::WindowOver);
        assert_eq!(judge_framing(&h2).verdict, Verdict::Skipped);
    }
}
