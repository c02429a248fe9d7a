//! The page that tests a browser: `GET /` without an upgrade, on the host's one
//! port, serves a self-contained HTML page (`page.html`, no external resource)
//! whose script plays the whole client loop of the fuzzingserver protocol with
//! the browser's own `WebSocket`: `/getCaseCount`, then `/runCase?case=1..=N`
//! echoing every text and binary message (`binaryType = "arraybuffer"`), a
//! `/getCaseStatus` after each case (and `/getCaseInfo` for each case not graded
//! OK), and `/updateReports` last (with `shutdownOnComplete=true` when the page's
//! own query says so). It shows the progress, a tally of grades and the cases
//! not graded OK, and when it is done sets `data-done` on `<body>` and writes a
//! JSON summary into `#result`, for automation (a headless browser).
//!
//! Query parameters of the page: `agent=NAME` (default: the browser's name and
//! major version, e.g. `Chrome 120`) and `shutdownOnComplete=true`.
//!
//! Every other plain HTTP request gets a short plain-text answer: 404 for
//! another path, 405 for another method.

use super::control::plain_answer;
use super::session::RequestHead;

/// The page.
pub const PAGE: &str = include_str!("page.html");

/// The answer to a request that is not a WebSocket upgrade.
pub fn answer(head: &RequestHead) -> Vec<u8> {
    let path = head.target.split('?').next().unwrap_or_default();
    match (head.method.as_str(), path) {
        ("GET" | "HEAD", "/") => {
            let mut answer = format!(
                "HTTP/1.1 200 OK\r\nServer: pulsecheck/{}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
                env!("CARGO_PKG_VERSION"),
                PAGE.len()
            )
            .into_bytes();
            if head.method == "GET" {
                answer.extend_from_slice(PAGE.as_bytes());
            }
            answer
        }
        ("GET" | "HEAD", _) => plain_answer(
            404,
            "Not Found",
            "pulsecheck hosts the WebSocket client suite here: open / in a browser, or connect a WebSocket client to /getCaseCount, /runCase?case=N&agent=NAME, /updateReports?agent=NAME\n",
        ),
        _ => {
            let mut answer = plain_answer(
                405,
                "Method Not Allowed",
                "only GET (the page at /, or a WebSocket upgrade) is served here\n",
            );
            // `Allow` is required on a 405 (RFC 9110 §15.5.6); it goes after the
            // status line.
            let at = answer
                .iter()
                .position(|&b| b == b'\n')
                .map_or(answer.len(), |p| p + 1);
            answer.splice(at..at, b"Allow: GET, HEAD\r\n".iter().copied());
            answer
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(method: &str, target: &str) -> RequestHead {
        RequestHead {
            method: method.to_owned(),
            target: target.to_owned(),
            version: 1,
            ..RequestHead::default()
        }
    }

    fn text(bytes: Vec<u8>) -> String {
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn the_page_is_served_at_the_root_with_any_query() {
        let page = text(answer(&head(
            "GET",
            "/?agent=firefox&shutdownOnComplete=true",
        )));
        assert!(page.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(page.contains(&format!("Content-Length: {}\r\n", PAGE.len())));
        assert!(page.ends_with("</html>\n"));
        let only_head = text(answer(&head("HEAD", "/")));
        assert!(only_head.ends_with("\r\n\r\n"));
    }

    #[test]
    fn the_page_plays_the_whole_protocol() {
        for needle in [
            "/getCaseCount",
            "/runCase?case=",
            "/getCaseStatus?case=",
            "/getCaseInfo?case=",
            "/updateReports?",
            "shutdownOnComplete=true",
            "binaryType = \"arraybuffer\"",
            "ws.send(e.data)",
            "dataset.done",
        ] {
            assert!(PAGE.contains(needle), "the page lacks {needle}");
        }
        // Self-contained: nothing loaded from elsewhere.
        assert!(!PAGE.contains("src=\"http") && !PAGE.contains("href=\"http"));
    }

    #[test]
    fn other_requests_get_plain_answers() {
        let missing = text(answer(&head("GET", "/favicon.ico")));
        assert!(
            missing.starts_with("HTTP/1.1 404 Not Found\r\n"),
            "{missing}"
        );
        let posted = text(answer(&head("POST", "/")));
        assert!(
            posted.starts_with("HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\n"),
            "{posted}"
        );
    }
}
