//! The `Sec-WebSocket-Extensions` header and the four parameters of permessage-deflate.
//!
//! RFC 6455 §9.1 gives the header's grammar (`extension-list = 1#extension`,
//! `extension = extension-token *( ";" extension-param )`,
//! `extension-param = token [ "=" (token | quoted-string) ]`, with implied linear white
//! space); RFC 7692 §7.1 the meaning of each permessage-deflate parameter. Names are
//! matched exactly, as RFC 7692 spells them.

use core::fmt;
use std::borrow::Cow;

/// The extension token of permessage-deflate (RFC 7692 §7).
pub const PERMESSAGE_DEFLATE: &str = "permessage-deflate";

/// An LZ77 window size as a base-2 logarithm, `8..=15` (RFC 7692 §7.1.2).
///
/// ```
/// use pulsecheck_ws::deflate::WindowBits;
///
/// assert_eq!(WindowBits::new(10).map(WindowBits::get), Some(10));
/// assert_eq!(WindowBits::new(16), None);
/// assert_eq!(WindowBits::MAX.window_size(), 32_768);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct WindowBits(u8);

impl WindowBits {
    /// The smallest window, 256 bytes. zlib cannot compress with it (see
    /// [`WindowBits::for_zlib`]).
    pub const MIN: Self = Self(8);
    /// The largest window, 32 KiB, assumed when a parameter is absent (RFC 7692 §7.1.2).
    pub const MAX: Self = Self(15);

    /// `bits` if it lies in `8..=15`.
    #[must_use]
    pub const fn new(bits: u8) -> Option<Self> {
        if bits >= 8 && bits <= 15 {
            Some(Self(bits))
        } else {
            None
        }
    }

    /// The base-2 logarithm, `8..=15`.
    #[must_use]
    pub const fn get(self) -> u8 {
        self.0
    }

    /// The window size in bytes, `256..=32768`.
    #[must_use]
    pub const fn window_size(self) -> usize {
        1 << self.0
    }

    /// The window bits handed to zlib: `9` for `8`, the value itself otherwise.
    ///
    /// zlib (and zlib-rs, and flate2's API) refuse a raw-deflate window of 8 bits. Asking
    /// zlib for 9 is safe for both directions: zlib's compressor never emits a match
    /// farther back than the window size less its 262-byte lookahead, 250 bytes for a
    /// 512-byte window, so its output fits the 256-byte window a peer agreed to; and
    /// inflating with a 512-byte window accepts everything a 256-byte window allows.
    #[must_use]
    pub const fn for_zlib(self) -> u8 {
        if self.0 < 9 { 9 } else { self.0 }
    }
}

impl fmt::Display for WindowBits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A parameter of permessage-deflate, by name (RFC 7692 §7.1).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Parameter {
    /// `server_no_context_takeover` (RFC 7692 §7.1.1.1).
    ServerNoContextTakeover,
    /// `client_no_context_takeover` (RFC 7692 §7.1.1.2).
    ClientNoContextTakeover,
    /// `server_max_window_bits` (RFC 7692 §7.1.2.1).
    ServerMaxWindowBits,
    /// `client_max_window_bits` (RFC 7692 §7.1.2.2).
    ClientMaxWindowBits,
}

impl Parameter {
    /// Every parameter, in the order RFC 7692 §7.1 defines them.
    pub const ALL: [Self; 4] = [
        Self::ServerNoContextTakeover,
        Self::ClientNoContextTakeover,
        Self::ServerMaxWindowBits,
        Self::ClientMaxWindowBits,
    ];

    /// The name as it appears in the header.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::ServerNoContextTakeover => "server_no_context_takeover",
            Self::ClientNoContextTakeover => "client_no_context_takeover",
            Self::ServerMaxWindowBits => "server_max_window_bits",
            Self::ClientMaxWindowBits => "client_max_window_bits",
        }
    }

    /// The parameter named exactly `name`.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Parameter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The `Sec-WebSocket-Extensions` value broke the grammar of RFC 6455 §9.1.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderSyntaxError {
    /// An extension name or a parameter name is not a `token` (RFC 7230 §3.2.6), for
    /// example an empty name or one with a space or a `"` in it.
    #[error("byte {offset}: expected a token (RFC 6455 §9.1, RFC 7230 §3.2.6)")]
    ExpectedToken {
        /// Offset of the offending byte in the header value.
        offset: usize,
    },
    /// A parameter value is neither a `token` nor a `quoted-string`.
    #[error("byte {offset}: expected a token or a quoted-string after '=' (RFC 6455 §9.1)")]
    ExpectedValue {
        /// Offset of the offending byte.
        offset: usize,
    },
    /// A quoted string has no closing quote, or ends in a lone backslash.
    #[error("byte {offset}: unterminated quoted-string (RFC 7230 §3.2.6)")]
    UnterminatedQuotedString {
        /// Offset of the opening quote.
        offset: usize,
    },
    /// After an extension or a parameter came something other than `;`, `,` or the end.
    #[error("byte {offset}: expected ';' or ',' (RFC 6455 §9.1)")]
    ExpectedSeparator {
        /// Offset of the offending byte.
        offset: usize,
    },
}

/// One element of a `Sec-WebSocket-Extensions` list: a name and its parameters, values
/// unquoted.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ExtensionItem<'a> {
    /// The extension token, e.g. `permessage-deflate`.
    pub name: &'a str,
    /// `(name, value)` in the order sent; a value is `None` when no `=` followed the name.
    pub params: Vec<(&'a str, Option<Cow<'a, str>>)>,
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Whether `s` is an RFC 7230 `token`: one or more `tchar`.
#[must_use]
pub fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_ows(&mut self) {
        while self.peek().is_some_and(is_ows) {
            self.pos += 1;
        }
    }

    fn token(&mut self) -> Result<&'a str, HeaderSyntaxError> {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(HeaderSyntaxError::ExpectedToken { offset: start });
        }
        Ok(&self.text[start..self.pos])
    }

    fn quoted_string(&mut self) -> Result<Cow<'a, str>, HeaderSyntaxError> {
        let open = self.pos;
        self.pos += 1;
        let start = self.pos;
        let mut unescaped: Option<String> = None;
        loop {
            match self.peek() {
                None => return Err(HeaderSyntaxError::UnterminatedQuotedString { offset: open }),
                Some(b'"') => {
                    let raw = &self.text[start..self.pos];
                    self.pos += 1;
                    return Ok(unescaped.map_or(Cow::Borrowed(raw), Cow::Owned));
                }
                Some(b'\\') => {
                    let owned = unescaped.get_or_insert_with(|| self.text[start..self.pos].into());
                    self.pos += 1;
                    let Some(c) = self.text[self.pos..].chars().next() else {
                        return Err(HeaderSyntaxError::UnterminatedQuotedString { offset: open });
                    };
                    owned.push(c);
                    self.pos += c.len_utf8();
                }
                Some(_) => {
                    let c = self.text[self.pos..].chars().next().unwrap_or('\0');
                    if let Some(owned) = unescaped.as_mut() {
                        owned.push(c);
                    }
                    self.pos += c.len_utf8();
                }
            }
        }
    }
}

/// Parses one or more `Sec-WebSocket-Extensions` header values (several header lines are
/// one comma-separated list, RFC 7230 §3.2.2) into their elements, in order.
///
/// Empty list elements are skipped, as RFC 7230 §7 asks of a recipient.
///
/// # Errors
/// The first place where a value breaks the grammar of RFC 6455 §9.1.
///
/// ```
/// use pulsecheck_ws::deflate::parse_extensions;
///
/// let items = parse_extensions(["permessage-deflate; client_max_window_bits=\"10\", x-foo"])?;
/// assert_eq!(items[0].name, "permessage-deflate");
/// assert_eq!(items[0].params[0].1.as_deref(), Some("10"));
/// assert_eq!(items[1].name, "x-foo");
/// # Ok::<(), pulsecheck_ws::deflate::HeaderSyntaxError>(())
/// ```
pub fn parse_extensions<'a>(
    values: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<ExtensionItem<'a>>, HeaderSyntaxError> {
    let mut items = Vec::new();
    for value in values {
        parse_one_value(value, &mut items)?;
    }
    Ok(items)
}

fn parse_one_value<'a>(
    text: &'a str,
    items: &mut Vec<ExtensionItem<'a>>,
) -> Result<(), HeaderSyntaxError> {
    let mut cur = Cursor { text, pos: 0 };
    loop {
        cur.skip_ows();
        match cur.peek() {
            None => return Ok(()),
            Some(b',') => {
                cur.pos += 1;
                continue;
            }
            Some(_) => {}
        }
        let name = cur.token()?;
        let mut params = Vec::new();
        loop {
            cur.skip_ows();
            match cur.peek() {
                None => {
                    items.push(ExtensionItem { name, params });
                    return Ok(());
                }
                Some(b',') => {
                    cur.pos += 1;
                    break;
                }
                Some(b';') => {
                    cur.pos += 1;
                    cur.skip_ows();
                    let param = cur.token()?;
                    cur.skip_ows();
                    let value = if cur.peek() == Some(b'=') {
                        cur.pos += 1;
                        cur.skip_ows();
                        Some(match cur.peek() {
                            Some(b'"') => cur.quoted_string()?,
                            Some(b) if is_tchar(b) => Cow::Borrowed(cur.token()?),
                            _ => return Err(HeaderSyntaxError::ExpectedValue { offset: cur.pos }),
                        })
                    } else {
                        None
                    };
                    params.push((param, value));
                }
                Some(_) => return Err(HeaderSyntaxError::ExpectedSeparator { offset: cur.pos }),
            }
        }
        items.push(ExtensionItem { name, params });
    }
}

/// A permessage-deflate parameter list broke a rule of RFC 7692 §7 and §7.1.
///
/// RFC 7692 §7: "A server MUST decline an extension negotiation offer for this extension
/// if any of the following conditions are met" and "A client MUST _Fail the WebSocket
/// Connection_ if the peer server accepted an extension negotiation offer for this
/// extension with an extension negotiation response meeting any of the following
/// conditions": a parameter not defined, an invalid value, or a repeated name.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParamError {
    /// A parameter RFC 7692 does not define. RFC 7692 §7: "The negotiation offer contains
    /// an extension parameter not defined for use in an offer."
    #[error("unknown parameter {0:?} (RFC 7692 §7)")]
    Unknown(String),
    /// The same parameter twice. RFC 7692 §7: "The negotiation offer contains multiple
    /// extension parameters with the same name."
    #[error("parameter {0} appears twice (RFC 7692 §7)")]
    Duplicate(Parameter),
    /// A `*_no_context_takeover` parameter with a value: RFC 7692 §7.1.1.1 and §7.1.1.2
    /// define both without one.
    #[error("{0} must not have a value (RFC 7692 §7.1.1)")]
    UnexpectedValue(Parameter),
    /// `server_max_window_bits` without a value (RFC 7692 §7.1.2.1 gives it the ABNF
    /// `1*DIGIT`), or `client_max_window_bits` without a value in a response (RFC 7692
    /// §7.1.2.2 allows a bare `client_max_window_bits` only in an offer).
    #[error("{0} needs a value here (RFC 7692 §7.1.2)")]
    MissingValue(Parameter),
    /// A window-bits value that is not "a decimal integer value without leading zeroes
    /// between 8 to 15, inclusive" (RFC 7692 §7.1.2.1, §7.1.2.2; ABNF `1*DIGIT`, quoted
    /// values unquoted first as RFC 6455 §9.1 allows).
    #[error("{param} has value {value:?}; expected 8..15 without leading zeros (RFC 7692 §7.1.2)")]
    InvalidWindowBits {
        /// Which parameter.
        param: Parameter,
        /// The value as sent, unquoted.
        value: String,
    },
}

fn parse_window_bits(param: Parameter, value: &str) -> Result<WindowBits, ParamError> {
    let invalid = || ParamError::InvalidWindowBits {
        param,
        value: value.to_owned(),
    };
    let ok_digits = !value.is_empty()
        && value.bytes().all(|b| b.is_ascii_digit())
        && !value.starts_with('0')
        && value.len() <= 2;
    if !ok_digits {
        return Err(invalid());
    }
    value
        .parse::<u8>()
        .ok()
        .and_then(WindowBits::new)
        .ok_or_else(invalid)
}

/// What an offer says about `client_max_window_bits` (RFC 7692 §7.1.2.2).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum ClientWindowOffer {
    /// Absent: the server must not send `client_max_window_bits` in its response.
    #[default]
    NotOffered,
    /// Present without a value: the client supports the parameter, any value.
    Supported,
    /// Present with a value: the client will use at most this window; the server may ask
    /// for a smaller one.
    Limit(WindowBits),
}

/// One permessage-deflate offer of a client (RFC 7692 §5, §7.1).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct DeflateOffer {
    /// Asks the server not to keep its compression context across messages.
    pub server_no_context_takeover: bool,
    /// Announces that the client will not keep its compression context.
    pub client_no_context_takeover: bool,
    /// The largest window the server may compress with; `None`: up to 15.
    pub server_max_window_bits: Option<WindowBits>,
    /// Whether and how the client offers `client_max_window_bits`.
    pub client_max_window_bits: ClientWindowOffer,
}

/// A server's acceptance of an offer: the parameters of its response (RFC 7692 §5, §7.1).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct DeflateResponse {
    /// The server will not keep its compression context.
    pub server_no_context_takeover: bool,
    /// The client must not keep its compression context.
    pub client_no_context_takeover: bool,
    /// The largest window the server will compress with; `None`: 15.
    pub server_max_window_bits: Option<WindowBits>,
    /// The largest window the client may compress with; `None`: 15.
    pub client_max_window_bits: Option<WindowBits>,
}

/// A parameter list with duplicates and unknown names removed and values kept raw.
struct Seen<'p> {
    values: [Option<Option<&'p str>>; 4],
}

fn collect<'p>(params: &'p [(&str, Option<Cow<'_, str>>)]) -> Result<Seen<'p>, ParamError> {
    let mut seen = Seen { values: [None; 4] };
    for (name, value) in params {
        let param =
            Parameter::from_name(name).ok_or_else(|| ParamError::Unknown((*name).into()))?;
        let slot = &mut seen.values[param.index()];
        if slot.is_some() {
            return Err(ParamError::Duplicate(param));
        }
        *slot = Some(value.as_deref());
    }
    Ok(seen)
}

impl Seen<'_> {
    fn flag(&self, param: Parameter) -> Result<bool, ParamError> {
        match self.values[param.index()] {
            None => Ok(false),
            Some(None) => Ok(true),
            Some(Some(_)) => Err(ParamError::UnexpectedValue(param)),
        }
    }

    fn bits(
        &self,
        param: Parameter,
        value_required: bool,
    ) -> Result<Option<Option<WindowBits>>, ParamError> {
        match self.values[param.index()] {
            None => Ok(None),
            Some(None) if value_required => Err(ParamError::MissingValue(param)),
            Some(None) => Ok(Some(None)),
            Some(Some(v)) => parse_window_bits(param, v).map(|b| Some(Some(b))),
        }
    }
}

impl DeflateOffer {
    /// Reads an offer's parameters (the `params` of an [`ExtensionItem`] named
    /// [`PERMESSAGE_DEFLATE`]).
    ///
    /// # Errors
    /// The rule of RFC 7692 §7 the offer breaks; a server declines such an offer.
    pub fn from_params(params: &[(&str, Option<Cow<'_, str>>)]) -> Result<Self, ParamError> {
        let seen = collect(params)?;
        Ok(Self {
            server_no_context_takeover: seen.flag(Parameter::ServerNoContextTakeover)?,
            client_no_context_takeover: seen.flag(Parameter::ClientNoContextTakeover)?,
            server_max_window_bits: seen.bits(Parameter::ServerMaxWindowBits, true)?.flatten(),
            client_max_window_bits: match seen.bits(Parameter::ClientMaxWindowBits, false)? {
                None => ClientWindowOffer::NotOffered,
                Some(None) => ClientWindowOffer::Supported,
                Some(Some(bits)) => ClientWindowOffer::Limit(bits),
            },
        })
    }
}

impl DeflateResponse {
    /// Reads a response's parameters.
    ///
    /// # Errors
    /// The rule of RFC 7692 §7 the response breaks; a client fails the connection.
    pub fn from_params(params: &[(&str, Option<Cow<'_, str>>)]) -> Result<Self, ParamError> {
        let seen = collect(params)?;
        Ok(Self {
            server_no_context_takeover: seen.flag(Parameter::ServerNoContextTakeover)?,
            client_no_context_takeover: seen.flag(Parameter::ClientNoContextTakeover)?,
            server_max_window_bits: seen.bits(Parameter::ServerMaxWindowBits, true)?.flatten(),
            client_max_window_bits: seen.bits(Parameter::ClientMaxWindowBits, true)?.flatten(),
        })
    }
}

/// Writes `permessage-deflate` and the parameters, as a header value element.
impl fmt::Display for DeflateOffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PERMESSAGE_DEFLATE)?;
        if self.server_no_context_takeover {
            write!(f, "; {}", Parameter::ServerNoContextTakeover)?;
        }
        if self.client_no_context_takeover {
            write!(f, "; {}", Parameter::ClientNoContextTakeover)?;
        }
        if let Some(bits) = self.server_max_window_bits {
            write!(f, "; {}={bits}", Parameter::ServerMaxWindowBits)?;
        }
        match self.client_max_window_bits {
            ClientWindowOffer::NotOffered => Ok(()),
            ClientWindowOffer::Supported => write!(f, "; {}", Parameter::ClientMaxWindowBits),
            ClientWindowOffer::Limit(bits) => {
                write!(f, "; {}={bits}", Parameter::ClientMaxWindowBits)
            }
        }
    }
}

/// Writes `permessage-deflate` and the parameters, as a header value.
impl fmt::Display for DeflateResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PERMESSAGE_DEFLATE)?;
        if self.server_no_context_takeover {
            write!(f, "; {}", Parameter::ServerNoContextTakeover)?;
        }
        if self.client_no_context_takeover {
            write!(f, "; {}", Parameter::ClientNoContextTakeover)?;
        }
        if let Some(bits) = self.server_max_window_bits {
            write!(f, "; {}={bits}", Parameter::ServerMaxWindowBits)?;
        }
        if let Some(bits) = self.client_max_window_bits {
            write!(f, "; {}={bits}", Parameter::ClientMaxWindowBits)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(text: &str) -> Result<DeflateOffer, ParamError> {
        let items = parse_extensions([text]).expect("syntax");
        DeflateOffer::from_params(&items[0].params)
    }

    fn bits(b: u8) -> WindowBits {
        WindowBits::new(b).unwrap()
    }

    #[test]
    fn header_grammar() {
        let items = parse_extensions([
            "permessage-deflate ; client_max_window_bits ; server_max_window_bits = 10 ,, foo",
            "bar; x=\"a\\\"b\"",
        ])
        .unwrap();
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].params.len(), 2);
        assert_eq!(items[0].params[1].1.as_deref(), Some("10"));
        assert_eq!(items[1].name, "foo");
        assert_eq!(items[2].params[0].1.as_deref(), Some("a\"b"));
        assert_eq!(parse_extensions([""]).unwrap(), vec![]);
    }

    #[test]
    fn header_syntax_errors_name_the_offset() {
        use HeaderSyntaxError::*;
        let cases: &[(&str, HeaderSyntaxError)] = &[
            ("permessage-deflate; ", ExpectedToken { offset: 20 }),
            ("; x", ExpectedToken { offset: 0 }),
            ("a; b=", ExpectedValue { offset: 5 }),
            ("a; b=,", ExpectedValue { offset: 5 }),
            ("a; b=\"10", UnterminatedQuotedString { offset: 5 }),
            ("a; b=\"1\\", UnterminatedQuotedString { offset: 5 }),
            ("a b", ExpectedSeparator { offset: 2 }),
            ("a; b=1 2", ExpectedSeparator { offset: 7 }),
        ];
        for (text, want) in cases {
            assert_eq!(parse_extensions([*text]), Err(*want), "{text}");
        }
    }

    #[test]
    fn offer_table() {
        use ClientWindowOffer::*;
        let ok: &[(&str, DeflateOffer)] = &[
            ("permessage-deflate", DeflateOffer::default()),
            (
                "permessage-deflate; client_max_window_bits",
                DeflateOffer {
                    client_max_window_bits: Supported,
                    ..Default::default()
                },
            ),
            (
                "permessage-deflate; client_max_window_bits=8; server_max_window_bits=\"15\"",
                DeflateOffer {
                    client_max_window_bits: Limit(bits(8)),
                    server_max_window_bits: Some(bits(15)),
                    ..Default::default()
                },
            ),
            (
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
                DeflateOffer {
                    server_no_context_takeover: true,
                    client_no_context_takeover: true,
                    ..Default::default()
                },
            ),
        ];
        for (text, want) in ok {
            assert_eq!(offer(text).as_ref(), Ok(want), "{text}");
            // Display round-trips.
            assert_eq!(offer(&want.to_string()).as_ref(), Ok(want));
        }
        let invalid = |param, value: &str| ParamError::InvalidWindowBits {
            param,
            value: value.into(),
        };
        use Parameter::*;
        let bad: &[(&str, ParamError)] = &[
            ("permessage-deflate; foo", ParamError::Unknown("foo".into())),
            (
                "permessage-deflate; Server_No_Context_Takeover",
                ParamError::Unknown("Server_No_Context_Takeover".into()),
            ),
            (
                "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
                ParamError::Duplicate(ServerNoContextTakeover),
            ),
            (
                "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
                ParamError::Duplicate(ClientMaxWindowBits),
            ),
            (
                "permessage-deflate; server_no_context_takeover=1",
                ParamError::UnexpectedValue(ServerNoContextTakeover),
            ),
            (
                "permessage-deflate; client_no_context_takeover=\"\"",
                ParamError::UnexpectedValue(ClientNoContextTakeover),
            ),
            (
                "permessage-deflate; server_max_window_bits",
                ParamError::MissingValue(ServerMaxWindowBits),
            ),
            (
                "permessage-deflate; server_max_window_bits=7",
                invalid(ServerMaxWindowBits, "7"),
            ),
            (
                "permessage-deflate; server_max_window_bits=16",
                invalid(ServerMaxWindowBits, "16"),
            ),
            (
                "permessage-deflate; server_max_window_bits=010",
                invalid(ServerMaxWindowBits, "010"),
            ),
            (
                "permessage-deflate; client_max_window_bits=09",
                invalid(ClientMaxWindowBits, "09"),
            ),
            (
                "permessage-deflate; client_max_window_bits=\"\"",
                invalid(ClientMaxWindowBits, ""),
            ),
            (
                "permessage-deflate; client_max_window_bits=\"1 0\"",
                invalid(ClientMaxWindowBits, "1 0"),
            ),
            (
                "permessage-deflate; client_max_window_bits=+9",
                invalid(ClientMaxWindowBits, "+9"),
            ),
            (
                "permessage-deflate; client_max_window_bits=0x9",
                invalid(ClientMaxWindowBits, "0x9"),
            ),
            (
                "permessage-deflate; client_max_window_bits=100000000000",
                invalid(ClientMaxWindowBits, "100000000000"),
            ),
        ];
        for (text, want) in bad {
            assert_eq!(offer(text).as_ref(), Err(want), "{text}");
        }
    }

    #[test]
    fn response_requires_client_window_value() {
        let items = parse_extensions(["permessage-deflate; client_max_window_bits"]).unwrap();
        assert_eq!(
            DeflateResponse::from_params(&items[0].params),
            Err(ParamError::MissingValue(Parameter::ClientMaxWindowBits))
        );
        let items = parse_extensions(["permessage-deflate; client_max_window_bits=9"]).unwrap();
        let response = DeflateResponse::from_params(&items[0].params).unwrap();
        assert_eq!(response.client_max_window_bits, Some(bits(9)));
        assert_eq!(
            response.to_string(),
            "permessage-deflate; client_max_window_bits=9"
        );
    }

    #[test]
    fn window_bits_bounds() {
        assert_eq!(WindowBits::new(7), None);
        assert_eq!(WindowBits::new(8).map(WindowBits::for_zlib), Some(9));
        assert_eq!(WindowBits::new(12).map(WindowBits::for_zlib), Some(12));
    }
}
