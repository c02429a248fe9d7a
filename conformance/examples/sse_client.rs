//! A small SSE client for the self-tests of `pulsecheck host sse`: correct by
//! default, and wrong in one named way with `--fault NAME`, so that each case
//! is proven to fail against the fault it exists for. It reads
//! `PULSECHECK_URL`, follows the driver contract (events as JSON lines on
//! stdout) and runs until killed or its stream is failed.
//!
//! Faults: ignores-retry, lax-retry, retry-only-with-data, empty-last-event-id,
//! forgets-id-only, keeps-partial-id, accepts-nul-id, bare-id-kept,
//! empty-id-kept, retries-after-status, no-content-type-check, storm,
//! splits-crlf, keeps-bom, no-redirects, no-accept, no-cache-control,
//! type-not-reset, strips-all-spaces, no-reconnect, ignores-empty-data,
//! lf-only, chunk-ends-line, strict-utf8, comments-as-data,
//! case-insensitive-fields, drops-nul, joins-data-with-space, max-1mb,
//! no-event-id, post, sends-initial-id, latin1-id, ignores-retry-short.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// The default reconnection time, in ms.
const DEFAULT_RETRY_MS: u64 = 3000;

#[derive(Default)]
struct Parser {
    faults: Vec<String>,
    line: Vec<u8>,
    pending_cr: bool,
    bom_checked: bool,
    head: Vec<u8>,
    data: String,
    event_type: String,
    id_buffer: String,
    last_event_id: String,
    retry_ms: u64,
    retry_in_block: Option<u64>,
    block_has_id: bool,
    had_id: bool,
}

impl Parser {
    fn fault(&self, name: &str) -> bool {
        self.faults.iter().any(|f| f == name)
    }

    fn feed(&mut self, chunk: &[u8]) {
        let mut bytes: Vec<u8> = chunk.to_vec();
        if !self.bom_checked {
            self.head.extend_from_slice(&bytes);
            if self.head.len() < 3 && b"\xEF\xBB\xBF".starts_with(&self.head) {
                return;
            }
            self.bom_checked = true;
            bytes = std::mem::take(&mut self.head);
            if !self.fault("keeps-bom") && bytes.starts_with(b"\xEF\xBB\xBF") {
                bytes.drain(..3);
            }
        }
        for b in bytes {
            if self.pending_cr {
                self.pending_cr = false;
                if b == b'\n' {
                    continue;
                }
            }
            match b {
                b'\r' if self.fault("lf-only") => self.line.push(b),
                b'\r' => {
                    self.end_line();
                    self.pending_cr = true;
                }
                b'\n' => self.end_line(),
                _ => self.line.push(b),
            }
        }
        if self.fault("chunk-ends-line") && !self.line.is_empty() {
            self.end_line();
        }
        if self.fault("splits-crlf") {
            self.pending_cr = false;
        }
    }

    fn end_line(&mut self) {
        let raw = std::mem::take(&mut self.line);
        if self.fault("strict-utf8") && std::str::from_utf8(&raw).is_err() {
            return;
        }
        let line = String::from_utf8_lossy(&raw).into_owned();
        if line.is_empty() {
            self.dispatch();
            return;
        }
        if line.starts_with(':') && !self.fault("comments-as-data") {
            return;
        }
        let (name, value) = match line.split_once(':') {
            Some((n, v)) if self.fault("strips-all-spaces") => {
                (n.to_owned(), v.trim_start().to_owned())
            }
            Some((n, v)) => (n.to_owned(), v.strip_prefix(' ').unwrap_or(v).to_owned()),
            None => (line.clone(), String::new()),
        };
        let name = if self.fault("case-insensitive-fields") {
            name.to_ascii_lowercase()
        } else {
            name
        };
        let name = if self.fault("comments-as-data") && name.is_empty() {
            "data".to_owned()
        } else {
            name
        };
        let value = if self.fault("drops-nul") {
            value.replace('\0', "")
        } else {
            value
        };
        match name.as_str() {
            "event" => self.event_type = value,
            "data" => {
                self.data.push_str(&value);
                self.data.push(if self.fault("joins-data-with-space") {
                    ' '
                } else {
                    '\n'
                });
            }
            "id" => {
                if value.contains('\0') && !self.fault("accepts-nul-id") {
                    return;
                }
                if value.is_empty() && line == "id" && self.fault("bare-id-kept") {
                    return;
                }
                if value.is_empty() && line != "id" && self.fault("empty-id-kept") {
                    return;
                }
                self.id_buffer = value;
                self.block_has_id = true;
            }
            "retry" => {
                let parsed = if self.fault("lax-retry") {
                    value
                        .trim()
                        .trim_start_matches('+')
                        .split(|c: char| !c.is_ascii_digit())
                        .next()
                        .and_then(|d| d.parse().ok())
                } else if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
                    value.parse().ok()
                } else {
                    None
                };
                if let Some(ms) = parsed {
                    if self.fault("retry-only-with-data") {
                        self.retry_in_block = Some(ms);
                    } else {
                        self.retry_ms = ms;
                    }
                }
            }
            _ => {}
        }
    }

    fn dispatch(&mut self) {
        let has_data = !self.data.is_empty();
        if !self.fault("forgets-id-only") || has_data {
            self.last_event_id = self.id_buffer.clone();
        }
        self.had_id |= !self.last_event_id.is_empty();
        let has_data = has_data && !(self.fault("ignores-empty-data") && self.data == "\n");
        if has_data && let Some(ms) = self.retry_in_block.take() {
            self.retry_ms = ms;
        }
        self.retry_in_block = None;
        self.block_has_id = false;
        if !has_data {
            self.event_type.clear();
            return;
        }
        let mut data = std::mem::take(&mut self.data);
        data.pop();
        if self.fault("max-1mb") && data.len() > 1_000_000 {
            self.event_type.clear();
            return;
        }
        let shown_id = if self.fault("no-event-id") {
            String::new()
        } else {
            self.last_event_id.clone()
        };
        let event_type = if self.event_type.is_empty() {
            "message".to_owned()
        } else {
            self.event_type.clone()
        };
        if !self.fault("type-not-reset") {
            self.event_type.clear();
        }
        let line = serde_json::json!({"kind": "event", "type": event_type, "data": data, "last_event_id": shown_id});
        println!("{line}");
        let _ = std::io::stdout().flush();
    }

    /// The body ended: a partial event is discarded.
    fn end_of_body(&mut self) {
        if self.fault("keeps-partial-id") && self.block_has_id {
            self.last_event_id = self.id_buffer.clone();
        }
        self.id_buffer = self.last_event_id.clone();
        self.data.clear();
        self.event_type.clear();
        self.line.clear();
        self.pending_cr = false;
        self.bom_checked = false;
        self.head.clear();
        self.block_has_id = false;
    }
}

fn error(text: &str) {
    println!("{}", serde_json::json!({"kind": "error", "error": text}));
    let _ = std::io::stdout().flush();
}

/// What one request came to.
enum Ended {
    /// Reconnect after the reconnection time.
    Reconnect,
    /// Follow a redirect now.
    Redirect(String),
    /// The stream was failed for good.
    Failed,
}

fn request(parser: &mut Parser, host: &str, path: &str) -> std::io::Result<Ended> {
    let mut stream = TcpStream::connect(host)?;
    let method = if parser.fault("post") { "POST" } else { "GET" };
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\n");
    if parser.fault("sends-initial-id") && !parser.had_id {
        head.push_str("Last-Event-ID: 0\r\n");
    }
    if !parser.fault("no-accept") {
        head.push_str("Accept: text/event-stream\r\n");
    }
    if !parser.fault("no-cache-control") {
        head.push_str("Cache-Control: no-cache\r\n");
    }
    let mut bytes = head.into_bytes();
    if !parser.last_event_id.is_empty() || (parser.fault("empty-last-event-id") && parser.had_id) {
        bytes.extend_from_slice(b"Last-Event-ID: ");
        if parser.fault("latin1-id") {
            bytes.extend(
                parser
                    .last_event_id
                    .chars()
                    .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')),
            );
        } else {
            bytes.extend_from_slice(parser.last_event_id.as_bytes());
        }
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(b"\r\n");
    stream.write_all(&bytes)?;
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line)?;
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (mut content_type, mut location, mut chunked) = (String::new(), None, false);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.trim_end().split_once(':') {
            let value = value.trim().to_owned();
            match name.to_ascii_lowercase().as_str() {
                "content-type" => content_type = value,
                "location" => location = Some(value),
                "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
                _ => {}
            }
        }
    }
    if (300..400).contains(&status)
        && !parser.fault("no-redirects")
        && let Some(location) = location
    {
        let base = path.rsplit_once('/').map_or("", |(dir, _)| dir);
        return Ok(Ended::Redirect(if location.starts_with('/') {
            location
        } else {
            format!("{base}/{location}")
        }));
    }
    let is_stream = content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("text/event-stream"));
    if status != 200 || (!is_stream && !parser.fault("no-content-type-check")) {
        error(&format!("HTTP {status} {content_type}"));
        return Ok(if parser.fault("retries-after-status") {
            Ended::Reconnect
        } else {
            Ended::Failed
        });
    }
    if !chunked {
        let mut buf = [0_u8; 8192];
        loop {
            let n = reader.read(&mut buf)?;
            if n == 0 {
                break;
            }
            parser.feed(&buf[..n]);
        }
    } else {
        loop {
            let mut size = String::new();
            if reader.read_line(&mut size)? == 0 {
                error("connection dropped");
                break;
            }
            let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if size == 0 {
                break;
            }
            let mut chunk = vec![0_u8; size + 2];
            reader.read_exact(&mut chunk)?;
            parser.feed(&chunk[..size]);
        }
    }
    parser.end_of_body();
    Ok(Ended::Reconnect)
}

fn main() {
    let mut faults = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--fault" {
            faults.extend(args.next());
        }
    }
    let Ok(url) = std::env::var("PULSECHECK_URL") else {
        eprintln!("PULSECHECK_URL is not set");
        std::process::exit(2);
    };
    let rest = url.strip_prefix("http://").unwrap_or(&url);
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut parser = Parser {
        faults,
        retry_ms: DEFAULT_RETRY_MS,
        ..Parser::default()
    };
    if parser.fault("ignores-retry") {
        parser.retry_ms = DEFAULT_RETRY_MS;
    }
    let mut path = path;
    loop {
        let ended = request(&mut parser, host, &path);
        match ended {
            Ok(Ended::Redirect(to)) => {
                path = to;
                continue;
            }
            Ok(Ended::Failed) => std::thread::sleep(Duration::from_secs(3600)),
            Ok(Ended::Reconnect) | Err(_) => {}
        }
        if parser.fault("no-reconnect") {
            std::thread::sleep(Duration::from_secs(3600));
        }
        let wait = if parser.fault("storm") {
            0
        } else if parser.fault("ignores-retry") {
            DEFAULT_RETRY_MS
        } else if parser.fault("ignores-retry-short") {
            1000
        } else {
            parser.retry_ms
        };
        std::thread::sleep(Duration::from_millis(wait));
    }
}
