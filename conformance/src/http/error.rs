//! The one error type of the HTTP client, and the small enums that say where a
//! request went wrong.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::Redirect;
use super::wire::Malformation;

/// Everything that can go wrong between a URL and a response body.
///
/// Each variant's message is a full sentence a command line can print as it is;
/// the underlying error (an [`io::Error`], a [`hyper::Error`]) is also kept as the
/// [`source`](std::error::Error::source) for callers that want to look inside.
///
/// The variants tell "the caller asked for something impossible" (`InvalidUrl`,
/// `UnsupportedScheme`, `InvalidHeader`, `CaCerts`) apart from "the network or the
/// server failed" (everything else): a probe reports the first kind as a usage error
/// and the second as the server's outcome.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The URL cannot be requested: it has no host, or a redirect's `Location` is not a
    /// URL. Fix the URL (or, for a redirect, the server).
    #[error("The URL {url} cannot be requested: {reason}.")]
    InvalidUrl {
        /// The URL as given (or the `Location` value, for a redirect).
        url: String,
        /// Why it cannot be requested.
        reason: String,
    },

    /// The URL's scheme is neither `http` nor `https` (for example `ws://`, `ftp://`).
    #[error("The URL {url} uses the scheme \"{scheme}\"; only http and https are supported.")]
    UnsupportedScheme {
        /// The URL as given (or the redirect target).
        url: String,
        /// Its scheme.
        scheme: String,
    },

    /// A `-H` argument or a header given to the client is not a valid HTTP header.
    #[error("The header {input:?} is not valid: {reason}.")]
    InvalidHeader {
        /// The header as given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A file given in [`ClientConfig::ca_certs`](super::ClientConfig::ca_certs) could not
    /// be read, or holds no usable PEM certificate.
    #[error("Could not load CA certificates from {}: {reason}.", .path.display())]
    CaCerts {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },

    /// The TLS configuration could not be built (the crypto provider rejected the
    /// protocol versions; not expected with the built-in provider).
    #[error("Could not set up TLS: {reason}.")]
    TlsSetup {
        /// What rustls reported.
        reason: String,
    },

    /// The host name could not be resolved to any address (a typo, no DNS, no network).
    #[error("Could not resolve the host name {host}: {}.", chain(.source))]
    Resolve {
        /// The host name.
        host: String,
        /// The resolver's error.
        #[source]
        source: io::Error,
    },

    /// No TCP connection could be opened (refused: nothing listens on that port;
    /// unreachable: a network or firewall problem). When the host has several addresses
    /// this is the error of the last one tried.
    #[error("Could not connect to {host} at {addr}: {}.", chain(.source))]
    Connect {
        /// The host as it appears in the URL.
        host: String,
        /// The address the connection was attempted to.
        addr: SocketAddr,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// The TLS handshake failed. `reason` says why in words and, when the fix is on the
    /// caller's side (an untrusted or mismatched certificate), which option to use.
    #[error("The TLS handshake with {host} failed: {reason}.")]
    Tls {
        /// The server name that was verified (the URL's host).
        host: String,
        /// What kind of failure, for callers that branch on it.
        kind: TlsFailure,
        /// A readable cause, with the `--cacert` / `--insecure` hint where it applies.
        reason: String,
        /// The error from rustls (wrapped in an [`io::Error`]) or from the socket.
        #[source]
        source: io::Error,
    },

    /// A phase did not finish within its time limit.
    #[error("Timed out after {} {phase} {target}.", seconds(*.after))]
    Timeout {
        /// The phase that was in progress.
        phase: Phase,
        /// The host or URL concerned.
        target: String,
        /// The limit that ran out.
        after: Duration,
    },

    /// The overall deadline ([`ClientConfig::deadline`](super::ClientConfig::deadline),
    /// `--deadline`) passed before a phase finished: the run is over, whatever the
    /// phase's own limit.
    #[error(
        "The overall deadline passed after {} {phase} {target} (--deadline).",
        seconds(*.waited)
    )]
    Deadline {
        /// The phase that was in progress.
        phase: Phase,
        /// The host or URL concerned.
        target: String,
        /// How long the request had been under way.
        waited: Duration,
    },

    /// The server broke the HTTP protocol, or closed the connection mid-exchange.
    #[error("{stage} {url} failed: {}.", chain(.source))]
    Http {
        /// What the client was doing.
        stage: HttpStage,
        /// The URL of the request.
        url: String,
        /// hyper's error.
        #[source]
        source: hyper::Error,
    },

    /// The server's bytes are not HTTP/1.1 as RFC 9112 defines it: not HTTP at all, no
    /// answer, a response head that cannot be read, or a body whose framing is broken
    /// (an invalid chunk size, fewer bytes than `Content-Length` announced). `problem`
    /// names the rule, the byte offset, and quotes what the server sent there.
    #[error("{}.", sentence(.problem))]
    Malformed {
        /// The URL of the request.
        url: String,
        /// What was wrong, where, and what the server sent.
        problem: Malformation,
        /// hyper's error, which `problem` explains (none when pulsecheck read the
        /// bytes itself, as for a WebSocket handshake).
        #[source]
        source: Option<hyper::Error>,
    },

    /// The server sent more redirects than
    /// [`ClientConfig::max_redirects`](super::ClientConfig::max_redirects) allows
    /// (usually a redirect loop). `redirects` holds the chain that was followed.
    #[error(
        "Gave up after {max} redirect(s): {url} redirects again (to {next}); this is likely a redirect loop."
    )]
    TooManyRedirects {
        /// The limit.
        max: usize,
        /// The URL whose response was one redirect too many.
        url: String,
        /// Where that response pointed.
        next: String,
        /// The redirects that were followed, in order.
        redirects: Vec<Redirect>,
    },
}

/// What kind of TLS failure a [`ClientError::Tls`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsFailure {
    /// The certificate chain does not lead to a trusted root (self-signed, private CA):
    /// fixed with `--cacert` (the CA's PEM file) or `--insecure`.
    UnknownIssuer,
    /// The certificate is not valid for the host name in the URL.
    NameMismatch,
    /// The certificate has expired or is not valid yet.
    Expired,
    /// The certificate was rejected for another reason (revoked, bad signature, bad
    /// encoding, unsupported algorithm).
    BadCertificate,
    /// The handshake failed before or apart from certificate checks (no common protocol
    /// version or cipher suite, an alert from the server).
    Handshake,
    /// The server does not speak TLS: it answered the handshake with bytes that are not
    /// TLS records (a plain-text server on that port), or closed the connection
    /// without answering.
    NotTls,
}

impl ClientError {
    /// Whether the target does not speak the protocol at all — not TLS where TLS was
    /// asked for, not HTTP, no answer, or a response head that cannot be read — so
    /// that nothing about it can be tested (the CLI's "unusable target", exit 2).
    /// A server that answers late, or whose body is broken, is testable: that is not
    /// this.
    pub fn is_unusable_target(&self) -> bool {
        match self {
            Self::Malformed { problem, .. } => problem.before_the_head(),
            Self::Tls {
                kind: TlsFailure::NotTls,
                ..
            } => true,
            Self::Http {
                stage: HttpStage::Handshake | HttpStage::Request,
                source,
                ..
            } => source.is_parse() || source.is_incomplete_message(),
            _ => false,
        }
    }

    /// Whether the target could not be reached at all: the name does not resolve, no
    /// connection opens, or the TLS handshake fails (a certificate, a protocol
    /// version). The CLI's "cannot reach", exit 2.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            Self::Resolve { .. } | Self::Connect { .. } | Self::Tls { .. }
        ) && !self.is_unusable_target()
    }
}

/// A malformation as a sentence: capitalised, as the other messages are.
fn sentence(problem: &Malformation) -> String {
    let text = problem.to_string();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => text,
    }
}

/// A time limit for people: `300 ms`, `10 s`, `2.5 s`.
fn seconds(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        let text = format!("{:.3}", d.as_secs_f64());
        format!("{} s", text.trim_end_matches('0').trim_end_matches('.'))
    }
}

/// The phase of a request that a [`ClientError::Timeout`] interrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Phase {
    /// Resolving the host name (bounded by `connect_timeout`).
    Resolve,
    /// Opening the TCP connection (bounded by `connect_timeout`).
    Connect,
    /// The TLS handshake (bounded by `connect_timeout`).
    TlsHandshake,
    /// Sending the request and waiting for the status line and headers (bounded by
    /// `response_timeout`).
    ResponseHead,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Resolve => "resolving the host name",
            Self::Connect => "connecting to",
            Self::TlsHandshake => "during the TLS handshake with",
            Self::ResponseHead => "waiting for the response headers from",
        })
    }
}

/// What the client was doing when a [`ClientError::Http`] happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpStage {
    /// Setting up HTTP/1.1 or HTTP/2 on the new connection.
    Handshake,
    /// Sending the request or receiving the response head.
    Request,
    /// Reading the response body.
    Body,
}

impl fmt::Display for HttpStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Handshake => "Setting up the HTTP connection for",
            Self::Request => "The HTTP request to",
            Self::Body => "Reading the response body of",
        })
    }
}

/// An error and its causes as one line, `outer: inner: innermost`, skipping a cause
/// whose text the outer message already contains (io errors that wrap another error
/// print it twice otherwise).
pub(crate) fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut next = err.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_sentences() {
        let err = ClientError::Timeout {
            phase: Phase::Connect,
            target: "example.com:443".into(),
            after: Duration::from_millis(300),
        };
        assert_eq!(
            err.to_string(),
            "Timed out after 300 ms connecting to example.com:443."
        );
        let err = ClientError::UnsupportedScheme {
            url: "ws://a/".into(),
            scheme: "ws".into(),
        };
        assert_eq!(
            err.to_string(),
            "The URL ws://a/ uses the scheme \"ws\"; only http and https are supported."
        );
    }

    #[test]
    fn chain_skips_repeated_causes() {
        let inner = io::Error::other("inner cause");
        let outer = io::Error::new(io::ErrorKind::InvalidData, inner);
        assert_eq!(chain(&outer), "inner cause");
    }
}
