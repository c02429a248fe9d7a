//! Reference servers: what `pulsecheck serve` runs, and what `pulsecheck probe`
//! starts in-process when it is given no URL.
//!
//! Each server is conformant by default and can commit one named fault on request,
//! so that every check of the suite can be shown to pass against the clean server
//! and to fail (or warn) against the fault it exists to catch.

pub mod sse;
pub mod ws;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// A fault name a reference server does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownFault {
    /// The name that was given.
    pub name: String,
    /// The names the server knows.
    pub known: Vec<&'static str>,
}

impl fmt::Display for UnknownFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown fault `{}`; known faults: {}",
            self.name,
            self.known.join(", ")
        )
    }
}

impl std::error::Error for UnknownFault {}

/// The address clients should use: an unspecified listening address (`0.0.0.0`,
/// `::`) becomes loopback.
pub(crate) fn client_address(mut addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        });
    }
    addr
}
