//! The opening handshake (RFC 6455 §4): build and validate both sides.
//!
//! The client builds a request with [`ClientRequest`] and checks the answer with
//! [`validate_server_response`]; the server checks a request with
//! [`validate_client_request`] and answers with [`ServerResponse`] or [`write_rejection`].
//! HTTP is parsed with httparse, in its style: `Status::Partial` until the blank line that
//! ends the head has arrived, then the parsed head and its length in bytes (anything after
//! it is the first WebSocket bytes). Nothing here does I/O or chooses a random key: the
//! caller passes the 16 random bytes.
//!
//! ```
//! use pulsecheck_ws::handshake::{
//!     validate_client_request, validate_server_response, ClientRequest, ServerResponse,
//! };
//! use pulsecheck_ws::Status;
//!
//! let mut request = ClientRequest::new("example.com", "/chat", *b"the sample nonce");
//! request.protocols = vec!["chat", "superchat"];
//! let mut wire = Vec::new();
//! request.write(&mut wire);
//!
//! // Server side.
//! let Status::Complete((client, used)) = validate_client_request(&wire)? else { panic!() };
//! assert_eq!(used, wire.len());
//! assert_eq!(client.key, "dGhlIHNhbXBsZSBub25jZQ==");
//! let response = ServerResponse::accept(&client, &["superchat"]);
//! let mut answer = Vec::new();
//! response.write(&mut answer);
//!
//! // Client side.
//! let Status::Complete((server, _)) = validate_server_response(&answer, &request)? else {
//!     panic!()
//! };
//! assert_eq!(server.protocol, Some("superchat"));
//! # Ok::<(), pulsecheck_ws::handshake::HandshakeError>(())
//! ```

use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use sha1::{Digest, Sha1};

use crate::Status;

/// The GUID of RFC 6455 §1.3 and §4.2.2, appended to the key before hashing.
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The protocol version of RFC 6455: "The value of this header field MUST be 13."
pub const VERSION: &str = "13";

/// The most header fields a handshake may carry (httparse needs the storage up front).
pub const MAX_HEADERS: usize = 64;

/// Decodes keys: standard alphabet, canonical padding, non-zero trailing bits allowed
/// (RFC 6455 §4.1's own example key "AQIDBAUGBwgJCgsMDQ4PEC==" has them).
const KEY_ENGINE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key` value.
///
/// RFC 6455 §4.2.2: "The value of this header field is constructed by concatenating /key/
/// ... with the string "258EAFA5-E914-47DA-95CA-C5AB0DC85B11", taking the SHA-1 hash of this
/// concatenated value to obtain a 20-byte value and base64-encoding ... this 20-byte hash."
///
/// ```
/// use pulsecheck_ws::handshake::accept_key;
///
/// assert_eq!(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// ```
#[must_use]
pub fn accept_key(key: &str) -> String {
    let mut sha1 = Sha1::new();
    sha1.update(key.as_bytes());
    sha1.update(GUID.as_bytes());
    STANDARD.encode(sha1.finalize())
}

/// The `Sec-WebSocket-Key` value for 16 random bytes chosen by the caller.
///
/// RFC 6455 §4.1: "The value of this header field MUST be a nonce consisting of a randomly
/// selected 16-byte value that has been base64-encoded".
#[must_use]
pub fn encode_key(nonce: [u8; 16]) -> String {
    STANDARD.encode(nonce)
}

/// What is wrong with a handshake, on either side.
#[non_exhaustive]
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, thiserror::Error)]
pub enum HandshakeError {
    /// The bytes are not an HTTP/1.x message head (RFC 6455 §4.1: "The handshake MUST be a
    /// valid HTTP request"). Likely cause: not HTTP at all, or a TLS client on a plain port.
    #[error("malformed HTTP: {reason}")]
    MalformedHttp {
        /// What httparse found wrong.
        reason: &'static str,
    },
    /// More than [`MAX_HEADERS`] header fields.
    #[error("more than {MAX_HEADERS} header fields")]
    TooManyHeaders,
    /// The request method is not GET (RFC 6455 §4.1: "The method of the request MUST be
    /// GET"). Likely cause: a POST from a misconfigured client or proxy.
    #[error("request method is not GET")]
    MethodNotGet,
    /// HTTP/1.0 (RFC 6455 §4.1: "the HTTP version MUST be at least 1.1").
    #[error("HTTP version is older than 1.1")]
    HttpVersionTooOld,
    /// No Host header (RFC 6455 §4.1: "The request MUST contain a |Host| header field").
    #[error("no Host header")]
    MissingHost,
    /// A header that may appear once appeared more than once (RFC 6455 §11.3: e.g. "The
    /// |Sec-WebSocket-Key| header field MUST NOT appear more than once in an HTTP
    /// request.").
    #[error("header {name} appears more than once")]
    DuplicateHeader {
        /// The header's name.
        name: &'static str,
    },
    /// No `Upgrade: websocket` (RFC 6455 §4.2.1: "An |Upgrade| header field containing the
    /// value "websocket", treated as an ASCII case-insensitive value."; §4.1 for responses:
    /// an "ASCII case-insensitive match for the value "websocket""). Likely cause: a proxy
    /// that strips hop-by-hop headers.
    #[error("no Upgrade: websocket")]
    MissingUpgrade,
    /// No `Upgrade` token in `Connection` (RFC 6455 §4.2.1: "A |Connection| header field
    /// that includes the token "Upgrade", treated as an ASCII case-insensitive value.").
    /// Likely cause: a proxy that rewrites Connection to keep-alive.
    #[error("no Connection: Upgrade")]
    MissingConnectionUpgrade,
    /// No `Sec-WebSocket-Key` (RFC 6455 §4.1: "The request MUST include a header field with
    /// the name |Sec-WebSocket-Key|.").
    #[error("no Sec-WebSocket-Key")]
    MissingKey,
    /// The key is not the base64 encoding of 16 bytes (RFC 6455 §4.2.1: "a base64-encoded
    /// ... value that, when decoded, is 16 bytes in length").
    #[error("Sec-WebSocket-Key is not the base64 encoding of 16 bytes")]
    InvalidKey,
    /// No `Sec-WebSocket-Version` (RFC 6455 §4.1: "The request MUST include a header field
    /// with the name |Sec-WebSocket-Version|."). Answered with 426 and the version we speak.
    #[error("no Sec-WebSocket-Version")]
    MissingVersion,
    /// A version other than 13 (RFC 6455 §4.2.2: "If this version does not match a version
    /// understood by the server, the server MUST abort the WebSocket handshake ... and
    /// instead send an appropriate HTTP error code (such as 426 Upgrade Required) and a
    /// |Sec-WebSocket-Version| header field indicating the version(s) the server is capable
    /// of understanding.").
    #[error("Sec-WebSocket-Version is not 13")]
    UnsupportedVersion,
    /// The offered subprotocols are not unique tokens (RFC 6455 §4.1: "MUST be non-empty
    /// strings with characters in the range U+0021 to U+007E not including separator
    /// characters ... and MUST all be unique strings.").
    #[error("Sec-WebSocket-Protocol is not a list of unique tokens")]
    InvalidSubprotocolList,
    /// A `Sec-WebSocket-Extensions` value does not follow the ABNF of RFC 6455 §9.1 ("the
    /// recipient of such malformed data MUST immediately _Fail the WebSocket
    /// Connection_").
    #[error("Sec-WebSocket-Extensions does not follow the RFC 6455 §9.1 grammar")]
    InvalidExtensionList,
    /// The server answered with another status than 101 (RFC 6455 §4.1: "If the status
    /// code received from the server is not 101, the client handles the response per HTTP
    /// procedures."). Likely cause: authentication (401), a redirect, or no WebSocket
    /// endpoint there (404).
    #[error("status {status}, not 101 Switching Protocols")]
    NotSwitchingProtocols {
        /// The status received.
        status: u16,
    },
    /// No `Sec-WebSocket-Accept` in the response (RFC 6455 §4.1).
    #[error("no Sec-WebSocket-Accept")]
    MissingAccept,
    /// `Sec-WebSocket-Accept` is not base64(SHA-1(key + GUID)) (RFC 6455 §4.1: "the client
    /// MUST _Fail the WebSocket Connection_"). Likely cause: the server hashed the decoded
    /// key, or forgot the GUID.
    #[error("Sec-WebSocket-Accept does not match the key")]
    AcceptMismatch,
    /// The server selected a subprotocol the client did not offer, or sent something that
    /// is not a single token (RFC 6455 §4.1: "the server has indicated a subprotocol not
    /// requested by the client").
    #[error("server selected a subprotocol that was not offered")]
    UnrequestedSubprotocol,
    /// The server accepted an extension the client did not offer (RFC 6455 §9: "A server
    /// MUST NOT respond with any extension not requested by the client.").
    #[error("server accepted an extension that was not offered")]
    UnrequestedExtension,
}

impl HandshakeError {
    /// The HTTP status a server answers a request having this problem with: 426 for a
    /// missing or unsupported version, 400 for the other request problems, `None` for
    /// problems of a server's response (the client just fails the connection).
    #[must_use]
    pub const fn http_status(self) -> Option<u16> {
        match self {
            Self::MissingVersion | Self::UnsupportedVersion => Some(426),
            Self::NotSwitchingProtocols { .. }
            | Self::MissingAccept
            | Self::AcceptMismatch
            | Self::UnrequestedSubprotocol
            | Self::UnrequestedExtension => None,
            _ => Some(400),
        }
    }
}

fn http_error(e: httparse::Error) -> HandshakeError {
    let reason = match e {
        httparse::Error::TooManyHeaders => return HandshakeError::TooManyHeaders,
        httparse::Error::HeaderName => "invalid byte in header name",
        httparse::Error::HeaderValue => "invalid byte in header value",
        httparse::Error::NewLine => "invalid byte in new line",
        httparse::Error::Status => "invalid byte in status",
        httparse::Error::Token => "invalid byte where a token is required",
        httparse::Error::Version => "invalid HTTP version",
    };
    HandshakeError::MalformedHttp { reason }
}

/// Optional whitespace of RFC 7230 §3.2.3: spaces and horizontal tabs.
fn trim_ows(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t'))
        .map_or(start, |i| i + 1);
    s.get(start..end).unwrap_or_default()
}

fn values<'h, 'b>(
    headers: &'h [httparse::Header<'b>],
    name: &'h str,
) -> impl Iterator<Item = &'b [u8]> + 'h {
    headers
        .iter()
        .filter(move |h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value)
}

/// The value of a header that may appear at most once.
fn single<'b>(
    headers: &[httparse::Header<'b>],
    name: &'static str,
) -> Result<Option<&'b [u8]>, HandshakeError> {
    let mut found = values(headers, name);
    let first = found.next();
    if found.next().is_some() {
        return Err(HandshakeError::DuplicateHeader { name });
    }
    Ok(first.map(trim_ows))
}

/// The elements of a comma-separated list (RFC 7230 §7 `#rule`), over every instance of a
/// header, trimmed, empty elements skipped. Commas inside quoted strings do not split.
fn list_elements<'b>(values: impl Iterator<Item = &'b [u8]>) -> Vec<&'b [u8]> {
    let mut out = Vec::new();
    for value in values {
        let mut start = 0;
        let mut quoted = false;
        let mut escaped = false;
        for (i, &b) in value.iter().enumerate() {
            if quoted {
                match (escaped, b) {
                    (true, _) => escaped = false,
                    (false, b'\\') => escaped = true,
                    (false, b'"') => quoted = false,
                    _ => {}
                }
            } else if b == b'"' {
                quoted = true;
            } else if b == b',' {
                out.push(trim_ows(value.get(start..i).unwrap_or_default()));
                start = i + 1;
            }
        }
        out.push(trim_ows(value.get(start..).unwrap_or_default()));
    }
    out.retain(|e| !e.is_empty());
    out
}

fn has_token(headers: &[httparse::Header<'_>], name: &str, token: &str) -> bool {
    list_elements(values(headers, name))
        .iter()
        .any(|t| t.eq_ignore_ascii_case(token.as_bytes()))
}

/// RFC 2616 §2.2: `token = 1*<any CHAR except CTLs or separators>`.
fn is_token(s: &[u8]) -> bool {
    !s.is_empty()
        && s.iter()
            .all(|&b| (0x21..=0x7E).contains(&b) && !b"()<>@,;:\\\"/[]?={} \t".contains(&b))
}

/// RFC 2616 §2.2: `quoted-string = ( <"> *(qdtext | quoted-pair ) <"> )`; returns the
/// unescaped content.
fn unquote(s: &[u8]) -> Option<Vec<u8>> {
    let inner = s.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    let mut out = Vec::with_capacity(inner.len());
    let mut bytes = inner.iter();
    while let Some(&b) = bytes.next() {
        match b {
            b'\\' => out.push(*bytes.next()?),
            b'"' => return None,
            _ => out.push(b),
        }
    }
    Some(out)
}

/// The extension name of one `extension` element, if the element follows RFC 6455 §9.1:
/// `extension = extension-token *( ";" extension-param )`,
/// `extension-param = token [ "=" (token | quoted-string) ]`, and a quoted value "MUST
/// conform to the 'token' ABNF" once unescaped.
fn extension_name(element: &[u8]) -> Option<&[u8]> {
    let mut parts = element.split(|&b| b == b';').map(trim_ows);
    let name = parts.next().filter(|n| is_token(n))?;
    for param in parts {
        let (key, value) = match param.iter().position(|&b| b == b'=') {
            Some(eq) => (
                trim_ows(param.get(..eq)?),
                Some(trim_ows(param.get(eq + 1..)?)),
            ),
            None => (param, None),
        };
        if !is_token(key) {
            return None;
        }
        if let Some(value) = value {
            let ok = is_token(value) || unquote(value).is_some_and(|v| is_token(&v));
            if !ok {
                return None;
            }
        }
    }
    Some(name)
}

fn to_str(bytes: &[u8]) -> Option<&str> {
    core::str::from_utf8(bytes).ok()
}

/// The client's opening handshake: what to send, field by field.
///
/// Fields are public and written verbatim, so a probe can send a wrong version, a bad key
/// or extra headers; [`ClientRequest::new`] fills in a correct request.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ClientRequest<'a> {
    /// The request target, e.g. `/chat`.
    pub resource: &'a str,
    /// The `Host` value: host, and `:port` unless it is the default.
    pub host: &'a str,
    /// The `Sec-WebSocket-Key` value.
    pub key: String,
    /// The `Sec-WebSocket-Version` value, [`VERSION`] by default.
    pub version: &'a str,
    /// Subprotocols offered, in order of preference (`Sec-WebSocket-Protocol`).
    pub protocols: Vec<&'a str>,
    /// Extensions offered, each an RFC 6455 §9.1 `extension` such as
    /// `permessage-deflate; client_max_window_bits` (`Sec-WebSocket-Extensions`).
    pub extensions: Vec<&'a str>,
    /// The `Origin` value, if any.
    pub origin: Option<&'a str>,
    /// More header fields, written after the others.
    pub headers: Vec<(&'a str, &'a str)>,
}

impl<'a> ClientRequest<'a> {
    /// A correct request for `resource` on `host`, with the key made from `nonce`: 16 bytes
    /// the caller drew from a strong random source (RFC 6455 §4.1: "The nonce MUST be
    /// selected randomly for each connection.").
    #[must_use]
    pub fn new(host: &'a str, resource: &'a str, nonce: [u8; 16]) -> Self {
        Self {
            resource,
            host,
            key: encode_key(nonce),
            version: VERSION,
            protocols: Vec::new(),
            extensions: Vec::new(),
            origin: None,
            headers: Vec::new(),
        }
    }

    /// The `Sec-WebSocket-Accept` value a server must answer with.
    #[must_use]
    pub fn expected_accept(&self) -> String {
        accept_key(&self.key)
    }

    /// Appends the request head to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        // RFC 6455 §4.1: "The method of the request MUST be GET, and the HTTP version MUST
        // be at least 1.1."
        push_line(out, &["GET ", self.resource, " HTTP/1.1"]);
        push_line(out, &["Host: ", self.host]);
        push_line(out, &["Upgrade: websocket"]);
        push_line(out, &["Connection: Upgrade"]);
        push_line(out, &["Sec-WebSocket-Key: ", &self.key]);
        push_line(out, &["Sec-WebSocket-Version: ", self.version]);
        if !self.protocols.is_empty() {
            push_line(
                out,
                &["Sec-WebSocket-Protocol: ", &self.protocols.join(", ")],
            );
        }
        if !self.extensions.is_empty() {
            push_line(
                out,
                &["Sec-WebSocket-Extensions: ", &self.extensions.join(", ")],
            );
        }
        if let Some(origin) = self.origin {
            push_line(out, &["Origin: ", origin]);
        }
        for (name, value) in &self.headers {
            push_line(out, &[name, ": ", value]);
        }
        out.extend_from_slice(b"\r\n");
    }
}

fn push_line(out: &mut Vec<u8>, parts: &[&str]) {
    for part in parts {
        out.extend_from_slice(part.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}

/// A valid client opening handshake, as the server read it. Borrows the request bytes.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ClientHandshake<'b> {
    /// The request target.
    pub resource: &'b str,
    /// The `Host` value.
    pub host: &'b str,
    /// The `Sec-WebSocket-Key` value (trimmed).
    pub key: &'b str,
    /// The `Origin` value, if any.
    pub origin: Option<&'b str>,
    /// Subprotocols offered, in the client's order of preference.
    pub protocols: Vec<&'b str>,
    /// Extensions offered, each a whole `extension` element with its parameters.
    pub extensions: Vec<&'b str>,
}

impl<'b> ClientHandshake<'b> {
    /// The first subprotocol the client offered that the server supports.
    ///
    /// RFC 6455 §4.2.2: "The value chosen MUST be derived from the client's handshake,
    /// specifically by selecting one of the values from the |Sec-WebSocket-Protocol| field
    /// that the server is willing to use for this connection (if any)."
    #[must_use]
    pub fn select_protocol(&self, supported: &[&str]) -> Option<&'b str> {
        self.protocols
            .iter()
            .copied()
            .find(|offered| supported.contains(offered))
    }

    /// The extension names the client offered.
    pub fn extension_names(&self) -> impl Iterator<Item = &'b str> + '_ {
        self.extensions
            .iter()
            .filter_map(|e| extension_name(e.as_bytes()).and_then(to_str))
    }
}

/// Validates a client's opening handshake (RFC 6455 §4.2.1), on the server side.
///
/// Checks, in this order: valid HTTP; GET; HTTP/1.1; `Host`; `Upgrade` containing
/// `websocket`; `Connection` containing `Upgrade` (tokens case-insensitive, comma lists and
/// repeated headers allowed); exactly one `Sec-WebSocket-Key` that is base64 of 16 bytes;
/// exactly one `Sec-WebSocket-Version`, equal to 13; subprotocols unique tokens; extensions
/// following RFC 6455 §9.1.
///
/// # Errors
///
/// The first problem found; [`write_rejection`] writes the answer.
pub fn validate_client_request(
    buf: &[u8],
) -> Result<Status<(ClientHandshake<'_>, usize)>, HandshakeError> {
    let mut storage = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut storage);
    let used = match request.parse(buf).map_err(http_error)? {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => return Ok(Status::Partial),
    };
    // RFC 6455 §4.1: "The method of the request MUST be GET, and the HTTP version MUST be
    // at least 1.1."
    if request.method != Some("GET") {
        return Err(HandshakeError::MethodNotGet);
    }
    if request.version != Some(1) {
        return Err(HandshakeError::HttpVersionTooOld);
    }
    let resource = request.path.unwrap_or_default();
    let headers = request.headers;
    // RFC 6455 §4.1: "The request MUST contain a |Host| header field".
    let host = single(headers, "Host")?
        .and_then(to_str)
        .ok_or(HandshakeError::MissingHost)?;
    // RFC 6455 §4.2.1: "An |Upgrade| header field containing the value "websocket", treated
    // as an ASCII case-insensitive value."
    if !has_token(headers, "Upgrade", "websocket") {
        return Err(HandshakeError::MissingUpgrade);
    }
    // RFC 6455 §4.2.1: "A |Connection| header field that includes the token "Upgrade",
    // treated as an ASCII case-insensitive value."
    if !has_token(headers, "Connection", "Upgrade") {
        return Err(HandshakeError::MissingConnectionUpgrade);
    }
    // RFC 6455 §11.3.1: "The |Sec-WebSocket-Key| header field MUST NOT appear more than
    // once in an HTTP request."
    let key = single(headers, "Sec-WebSocket-Key")?.ok_or(HandshakeError::MissingKey)?;
    // RFC 6455 §4.2.1: "A |Sec-WebSocket-Key| header field with a base64-encoded ... value
    // that, when decoded, is 16 bytes in length."
    let decoded_len = KEY_ENGINE.decode(key).map(|k| k.len());
    let key = match (decoded_len, to_str(key)) {
        (Ok(16), Some(key)) => key,
        _ => return Err(HandshakeError::InvalidKey),
    };
    // RFC 6455 §11.3.5: "the |Sec-WebSocket-Version| header field MUST NOT appear more than
    // once in an HTTP request."
    let version =
        single(headers, "Sec-WebSocket-Version")?.ok_or(HandshakeError::MissingVersion)?;
    // RFC 6455 §4.2.1: "A |Sec-WebSocket-Version| header field, with a value of 13."
    if version != VERSION.as_bytes() {
        return Err(HandshakeError::UnsupportedVersion);
    }
    // RFC 6455 §4.1: subprotocols "MUST be non-empty strings with characters in the range
    // U+0021 to U+007E not including separator characters ... and MUST all be unique".
    let mut protocols: Vec<&str> = Vec::new();
    for p in list_elements(values(headers, "Sec-WebSocket-Protocol")) {
        let p = to_str(p)
            .filter(|p| is_token(p.as_bytes()) && !protocols.contains(p))
            .ok_or(HandshakeError::InvalidSubprotocolList)?;
        protocols.push(p);
    }
    // RFC 6455 §9.1: "If a value is received by either the client or the server during
    // negotiation that does not conform to the ABNF below, the recipient of such malformed
    // data MUST immediately _Fail the WebSocket Connection_."
    let mut extensions = Vec::new();
    for e in list_elements(values(headers, "Sec-WebSocket-Extensions")) {
        let e = to_str(e)
            .filter(|e| extension_name(e.as_bytes()).is_some())
            .ok_or(HandshakeError::InvalidExtensionList)?;
        extensions.push(e);
    }
    let origin = single(headers, "Origin").ok().flatten().and_then(to_str);
    Ok(Status::Complete((
        ClientHandshake {
            resource,
            host,
            key,
            origin,
            protocols,
            extensions,
        },
        used,
    )))
}

/// The server's `101 Switching Protocols` answer, field by field.
///
/// Public fields, written verbatim: a misbehaving reference server can put anything there.
/// [`ServerResponse::accept`] builds the correct answer.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ServerResponse<'a> {
    /// The `Sec-WebSocket-Accept` value.
    pub accept: String,
    /// The selected subprotocol, if any.
    pub protocol: Option<&'a str>,
    /// The `Sec-WebSocket-Extensions` value, if any extension is accepted.
    pub extensions: Option<&'a str>,
    /// More header fields, written after the others.
    pub headers: Vec<(&'a str, &'a str)>,
}

impl<'a> ServerResponse<'a> {
    /// The correct answer to `request`: the accept value for its key, and the first
    /// subprotocol it offered that is in `supported` (at most one, and only one offered).
    /// No extension is accepted.
    #[must_use]
    pub fn accept(request: &ClientHandshake<'a>, supported: &[&str]) -> Self {
        Self {
            accept: accept_key(request.key),
            protocol: request.select_protocol(supported),
            extensions: None,
            headers: Vec::new(),
        }
    }

    /// Appends the response head to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        // RFC 6455 §4.2.2: "A Status-Line with a 101 response code", "An |Upgrade| header
        // field with value "websocket"", "A |Connection| header field with value
        // "Upgrade"", "A |Sec-WebSocket-Accept| header field."
        push_line(out, &["HTTP/1.1 101 Switching Protocols"]);
        push_line(out, &["Upgrade: websocket"]);
        push_line(out, &["Connection: Upgrade"]);
        push_line(out, &["Sec-WebSocket-Accept: ", &self.accept]);
        if let Some(protocol) = self.protocol {
            push_line(out, &["Sec-WebSocket-Protocol: ", protocol]);
        }
        if let Some(extensions) = self.extensions {
            push_line(out, &["Sec-WebSocket-Extensions: ", extensions]);
        }
        for (name, value) in &self.headers {
            push_line(out, &[name, ": ", value]);
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// Appends the answer to a rejected request: `426 Upgrade Required` with
/// `Sec-WebSocket-Version: 13` for a missing or unsupported version (RFC 6455 §4.2.2, §4.4),
/// `400 Bad Request` otherwise (RFC 6455 §4.2.1: "return an HTTP response with an
/// appropriate error code (such as 400 Bad Request)").
pub fn write_rejection(error: HandshakeError, out: &mut Vec<u8>) {
    if error.http_status() == Some(426) {
        push_line(out, &["HTTP/1.1 426 Upgrade Required"]);
        push_line(out, &["Sec-WebSocket-Version: ", VERSION]);
    } else {
        push_line(out, &["HTTP/1.1 400 Bad Request"]);
    }
    push_line(out, &["Connection: close"]);
    push_line(out, &["Content-Length: 0"]);
    out.extend_from_slice(b"\r\n");
}

/// A valid server opening handshake, as the client read it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ServerHandshake<'b> {
    /// The subprotocol in use, if the server selected one.
    pub protocol: Option<&'b str>,
    /// The extensions in use, each a whole `extension` element with its parameters.
    pub extensions: Vec<&'b str>,
}

/// Validates a server's answer to `request` (RFC 6455 §4.1), on the client side.
///
/// Checks, in this order: valid HTTP; status 101; HTTP/1.1; `Upgrade` is `websocket`
/// (case-insensitive); `Connection` contains `Upgrade`; exactly one `Sec-WebSocket-Accept`,
/// equal to [`ClientRequest::expected_accept`] once trimmed; every extension follows RFC
/// 6455 §9.1 and was offered; at most one `Sec-WebSocket-Protocol`, a single token that
/// was offered.
///
/// # Errors
///
/// The first problem found; the client must then fail the connection.
pub fn validate_server_response<'b>(
    buf: &'b [u8],
    request: &ClientRequest<'_>,
) -> Result<Status<(ServerHandshake<'b>, usize)>, HandshakeError> {
    let mut storage = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut storage);
    let used = match response.parse(buf).map_err(http_error)? {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => return Ok(Status::Partial),
    };
    // RFC 6455 §4.1: "If the status code received from the server is not 101, the client
    // handles the response per HTTP [RFC2616] procedures."
    let status = response.code.unwrap_or(0);
    if status != 101 {
        return Err(HandshakeError::NotSwitchingProtocols { status });
    }
    if response.version != Some(1) {
        return Err(HandshakeError::HttpVersionTooOld);
    }
    let headers = response.headers;
    // RFC 6455 §4.1: "If the response lacks an |Upgrade| header field or the |Upgrade|
    // header field contains a value that is not an ASCII case-insensitive match for the
    // value "websocket", the client MUST _Fail the WebSocket Connection_."
    let upgrade = list_elements(values(headers, "Upgrade"));
    if !matches!(upgrade.as_slice(), [only] if only.eq_ignore_ascii_case(b"websocket")) {
        return Err(HandshakeError::MissingUpgrade);
    }
    // RFC 6455 §4.1: "If the response lacks a |Connection| header field or the |Connection|
    // header field doesn't contain a token that is an ASCII case-insensitive match for the
    // value "Upgrade", the client MUST _Fail the WebSocket Connection_."
    if !has_token(headers, "Connection", "Upgrade") {
        return Err(HandshakeError::MissingConnectionUpgrade);
    }
    // RFC 6455 §11.3.3: "The |Sec-WebSocket-Accept| header MUST NOT appear more than once in
    // an HTTP response." §4.1: a value other than the expected one "but ignoring any leading
    // and trailing whitespace" fails.
    let accept = single(headers, "Sec-WebSocket-Accept")?.ok_or(HandshakeError::MissingAccept)?;
    if accept != request.expected_accept().as_bytes() {
        return Err(HandshakeError::AcceptMismatch);
    }
    // RFC 6455 §4.1: "If the response includes a |Sec-WebSocket-Extensions| header field and
    // this header field indicates the use of an extension that was not present in the
    // client's handshake ... the client MUST _Fail the WebSocket Connection_."
    let offered: Vec<&[u8]> = request
        .extensions
        .iter()
        .filter_map(|e| extension_name(e.as_bytes()))
        .collect();
    let mut extensions = Vec::new();
    for e in list_elements(values(headers, "Sec-WebSocket-Extensions")) {
        let name = extension_name(e).ok_or(HandshakeError::InvalidExtensionList)?;
        if !offered.iter().any(|o| o.eq_ignore_ascii_case(name)) {
            return Err(HandshakeError::UnrequestedExtension);
        }
        extensions.push(to_str(e).ok_or(HandshakeError::InvalidExtensionList)?);
    }
    // RFC 6455 §11.3.4: "the |Sec-WebSocket-Protocol| header field MUST NOT appear more than
    // once in an HTTP response." §4.1: a subprotocol "not present in the client's
    // handshake" fails the connection; the server's value is a single `token` (§4.3).
    let protocol = match single(headers, "Sec-WebSocket-Protocol")? {
        None => None,
        Some(p) => {
            let p = to_str(p)
                .filter(|p| is_token(p.as_bytes()) && request.protocols.contains(p))
                .ok_or(HandshakeError::UnrequestedSubprotocol)?;
            Some(p)
        }
    };
    Ok(Status::Complete((
        ServerHandshake {
            protocol,
            extensions,
        },
        used,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_REQUEST: &str = "GET /chat HTTP/1.1\r\n\
        Host: server.example.com\r\n\
        Upgrade: websocket\r\n\
        Connection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Origin: http://example.com\r\n\
        Sec-WebSocket-Protocol: chat, superchat\r\n\
        Sec-WebSocket-Version: 13\r\n\r\n";

    fn request(text: &str) -> Result<ClientHandshake<'_>, HandshakeError> {
        match validate_client_request(text.as_bytes())? {
            Status::Complete((h, n)) => {
                assert_eq!(n, text.len());
                Ok(h)
            }
            Status::Partial => panic!("partial"),
        }
    }

    fn with(header: &str, replacement: &str) -> String {
        let mut out = String::new();
        for line in RFC_REQUEST.split_inclusive("\r\n") {
            if line.starts_with(header) {
                out.push_str(replacement);
            } else {
                out.push_str(line);
            }
        }
        out
    }

    #[test]
    fn rfc6455_4_2_2_accept_of_the_rfc_example_key() {
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        assert_eq!(encode_key(*b"the sample nonce"), "dGhlIHNhbXBsZSBub25jZQ==");
    }

    #[test]
    fn rfc6455_1_2_example_request_is_valid() {
        let h = request(RFC_REQUEST).unwrap();
        assert_eq!(h.resource, "/chat");
        assert_eq!(h.host, "server.example.com");
        assert_eq!(h.key, "dGhlIHNhbXBsZSBub25jZQ==");
        assert_eq!(h.origin, Some("http://example.com"));
        assert_eq!(h.protocols, ["chat", "superchat"]);
        assert_eq!(h.select_protocol(&["superchat", "chat"]), Some("chat"));
        assert_eq!(h.select_protocol(&["other"]), None);
        // Every strict prefix is partial.
        for cut in 0..RFC_REQUEST.len() {
            assert_eq!(
                validate_client_request(&RFC_REQUEST.as_bytes()[..cut]),
                Ok(Status::Partial),
                "{cut}"
            );
        }
    }

    #[test]
    fn rfc6455_4_2_1_tokens_are_case_insensitive_lists() {
        let text = with("Upgrade:", "upgrade: h2c, WebSocket\r\n");
        let text = text.replace("Connection: Upgrade", "connection: keep-alive,UPGRADE");
        assert!(request(&text).is_ok());
        // Split over two Connection headers.
        let text = with(
            "Connection:",
            "Connection: keep-alive\r\nConnection: upgrade\r\n",
        );
        assert!(request(&text).is_ok());
    }

    #[test]
    fn rfc6455_4_2_1_each_missing_or_wrong_field_is_named() {
        let cases = [
            (
                RFC_REQUEST.replace("GET", "POST"),
                HandshakeError::MethodNotGet,
            ),
            (
                RFC_REQUEST.replace("HTTP/1.1", "HTTP/1.0"),
                HandshakeError::HttpVersionTooOld,
            ),
            (with("Host:", ""), HandshakeError::MissingHost),
            (
                with("Upgrade:", "Upgrade: h2c\r\n"),
                HandshakeError::MissingUpgrade,
            ),
            (
                with("Connection:", "Connection: keep-alive\r\n"),
                HandshakeError::MissingConnectionUpgrade,
            ),
            (with("Sec-WebSocket-Key:", ""), HandshakeError::MissingKey),
            // 15 bytes, 17 bytes, not base64, no padding.
            (
                with(
                    "Sec-WebSocket-Key:",
                    "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA\r\n",
                ),
                HandshakeError::InvalidKey,
            ),
            (
                with(
                    "Sec-WebSocket-Key:",
                    "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA=\r\n",
                ),
                HandshakeError::InvalidKey,
            ),
            (
                with(
                    "Sec-WebSocket-Key:",
                    "Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!==\r\n",
                ),
                HandshakeError::InvalidKey,
            ),
            (
                with(
                    "Sec-WebSocket-Key:",
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ\r\n",
                ),
                HandshakeError::InvalidKey,
            ),
            (
                with(
                    "Sec-WebSocket-Key:",
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
                ),
                HandshakeError::DuplicateHeader {
                    name: "Sec-WebSocket-Key",
                },
            ),
            (
                with("Sec-WebSocket-Version:", ""),
                HandshakeError::MissingVersion,
            ),
            (
                with("Sec-WebSocket-Version:", "Sec-WebSocket-Version: 8\r\n"),
                HandshakeError::UnsupportedVersion,
            ),
            (
                with(
                    "Sec-WebSocket-Protocol:",
                    "Sec-WebSocket-Protocol: chat, chat\r\n",
                ),
                HandshakeError::InvalidSubprotocolList,
            ),
            (
                with("Sec-WebSocket-Protocol:", "Sec-WebSocket-Protocol: a/b\r\n"),
                HandshakeError::InvalidSubprotocolList,
            ),
            (
                with("Origin:", "Sec-WebSocket-Extensions: foo; bar=\"a b\"\r\n"),
                HandshakeError::InvalidExtensionList,
            ),
            (
                "GARBAGE\r\n\r\n".to_owned(),
                HandshakeError::MalformedHttp {
                    reason: "invalid byte where a token is required",
                },
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(request(&text).unwrap_err(), expected, "{text}");
        }
    }

    #[test]
    fn rfc6455_4_1_the_rfc_example_key_with_trailing_bits_is_accepted() {
        // "AQIDBAUGBwgJCgsMDQ4PEC==": the RFC's example, whose last character carries
        // non-zero padding bits.
        let text = with(
            "Sec-WebSocket-Key:",
            "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEC==\r\n",
        );
        assert!(request(&text).is_ok());
    }

    #[test]
    fn rfc6455_4_2_2_version_mismatch_is_answered_426_with_version_13() {
        let err = request(&with(
            "Sec-WebSocket-Version:",
            "Sec-WebSocket-Version: 25\r\n",
        ))
        .unwrap_err();
        assert_eq!(err.http_status(), Some(426));
        let mut out = Vec::new();
        write_rejection(err, &mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 426 Upgrade Required\r\n"));
        assert!(text.contains("\r\nSec-WebSocket-Version: 13\r\n"));
        let mut out = Vec::new();
        write_rejection(HandshakeError::MissingHost, &mut out);
        assert!(out.starts_with(b"HTTP/1.1 400 Bad Request\r\n"));
        assert!(
            !String::from_utf8(out)
                .unwrap()
                .contains("Sec-WebSocket-Version")
        );
    }

    #[test]
    fn rfc6455_4_2_2_server_response_is_exact() {
        let h = request(RFC_REQUEST).unwrap();
        let mut out = Vec::new();
        ServerResponse::accept(&h, &["chat"]).write(&mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "HTTP/1.1 101 Switching Protocols\r\n\
             Upgrade: websocket\r\n\
             Connection: Upgrade\r\n\
             Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
             Sec-WebSocket-Protocol: chat\r\n\r\n"
        );
        // Nothing offered that we support: no Sec-WebSocket-Protocol at all.
        let mut out = Vec::new();
        ServerResponse::accept(&h, &["mqtt"]).write(&mut out);
        assert!(
            !String::from_utf8(out)
                .unwrap()
                .contains("Sec-WebSocket-Protocol")
        );
    }

    fn client() -> ClientRequest<'static> {
        let mut r = ClientRequest::new("server.example.com", "/chat", *b"the sample nonce");
        r.protocols = vec!["chat", "superchat"];
        r.extensions = vec!["permessage-deflate; client_max_window_bits"];
        r
    }

    fn response(lines: &[&str]) -> String {
        let mut s = String::from("HTTP/1.1 101 Switching Protocols\r\n");
        for l in lines {
            s.push_str(l);
            s.push_str("\r\n");
        }
        s.push_str("\r\n");
        s
    }

    const GOOD: [&str; 3] = [
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
    ];

    fn validate(text: &str) -> Result<ServerHandshake<'_>, HandshakeError> {
        match validate_server_response(text.as_bytes(), &client())? {
            Status::Complete((h, _)) => Ok(h),
            Status::Partial => panic!("partial"),
        }
    }

    #[test]
    fn rfc6455_4_1_client_request_round_trips_through_the_server_check() {
        let mut out = Vec::new();
        client().write(&mut out);
        let Ok(Status::Complete((h, _))) = validate_client_request(&out) else {
            panic!()
        };
        assert_eq!(
            h.extension_names().collect::<Vec<_>>(),
            ["permessage-deflate"]
        );
        assert_eq!(h.key, "dGhlIHNhbXBsZSBub25jZQ==");
    }

    #[test]
    fn rfc6455_4_1_client_validates_the_response() {
        assert_eq!(validate(&response(&GOOD)).unwrap().protocol, None);
        let accepted = [
            GOOD[0],
            GOOD[1],
            "Sec-WebSocket-Accept:  s3pPLMBiTxaQ9kYGzzhZRbK+xOo=  ",
            "Sec-WebSocket-Protocol: superchat",
            "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover",
        ];
        let text = response(&accepted);
        let h = validate(&text).unwrap();
        assert_eq!(h.protocol, Some("superchat"));
        assert_eq!(
            h.extensions,
            ["permessage-deflate; server_no_context_takeover"]
        );

        let cases: [(String, HandshakeError); 9] = [
            (
                "HTTP/1.1 401 Unauthorized\r\n\r\n".to_owned(),
                HandshakeError::NotSwitchingProtocols { status: 401 },
            ),
            (response(&GOOD[1..]), HandshakeError::MissingUpgrade),
            (
                response(&["Upgrade: websocket, h2c", GOOD[1], GOOD[2]]),
                HandshakeError::MissingUpgrade,
            ),
            (
                response(&[GOOD[0], GOOD[2]]),
                HandshakeError::MissingConnectionUpgrade,
            ),
            (response(&GOOD[..2]), HandshakeError::MissingAccept),
            (
                response(&[
                    GOOD[0],
                    GOOD[1],
                    "Sec-WebSocket-Accept: dGhlIHNhbXBsZSBub25jZQ==",
                ]),
                HandshakeError::AcceptMismatch,
            ),
            (
                response(&[GOOD[0], GOOD[1], GOOD[2], "Sec-WebSocket-Protocol: mqtt"]),
                HandshakeError::UnrequestedSubprotocol,
            ),
            (
                response(&[
                    GOOD[0],
                    GOOD[1],
                    GOOD[2],
                    "Sec-WebSocket-Protocol: chat, superchat",
                ]),
                HandshakeError::UnrequestedSubprotocol,
            ),
            (
                response(&[
                    GOOD[0],
                    GOOD[1],
                    GOOD[2],
                    "Sec-WebSocket-Extensions: x-webkit-deflate-frame",
                ]),
                HandshakeError::UnrequestedExtension,
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(validate(&text).unwrap_err(), expected, "{text}");
        }
        let twice = response(&[GOOD[0], GOOD[1], GOOD[2], GOOD[2]]);
        assert_eq!(
            validate(&twice).unwrap_err(),
            HandshakeError::DuplicateHeader {
                name: "Sec-WebSocket-Accept"
            }
        );
    }

    #[test]
    fn rfc6455_9_1_extension_grammar() {
        for good in [
            &b"foo"[..],
            b"foo; bar",
            b"foo;bar=1",
            b"foo; bar=\"baz\"",
            b"mux; max-channels=4; flow-control",
        ] {
            assert!(
                extension_name(good).is_some(),
                "{}",
                String::from_utf8_lossy(good)
            );
        }
        for bad in [
            &b""[..],
            b"; bar",
            b"foo; =1",
            b"foo; bar=\"a b\"",
            b"foo; bar=a b",
            b"f/o",
        ] {
            assert!(
                extension_name(bad).is_none(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let elements = list_elements([&b"a; x=\"1,2\" , b,, c"[..]].into_iter());
        assert_eq!(elements, [&b"a; x=\"1,2\""[..], b"b", b"c"]);
    }
}
