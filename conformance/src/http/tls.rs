//! The rustls client configuration (roots, `--cacert`, `--insecure`, ALPN) and the
//! translation of handshake failures into [`ClientError::Tls`] with a useful hint.

use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::wire::{WireLog, quote};
use super::{ClientConfig, ClientError, TlsFailure};

/// The ALPN protocol id of HTTP/2.
pub(crate) const ALPN_H2: &[u8] = b"h2";
/// The ALPN protocol id of HTTP/1.1.
pub(crate) const ALPN_HTTP11: &[u8] = b"http/1.1";

/// Builds the TLS configuration once per [`Client`](super::Client): webpki-roots plus
/// every certificate of every `ca_certs` file, or no verification at all with
/// `insecure`. ALPN offers h2 first, then http/1.1.
pub(crate) fn client_config(
    config: &ClientConfig,
) -> Result<Arc<rustls::ClientConfig>, ClientError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|err| ClientError::TlsSetup {
            reason: err.to_string(),
        })?;
    let mut tls = if config.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate {
                algorithms: provider.signature_verification_algorithms,
            }))
            .with_no_client_auth()
    } else {
        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        for path in &config.ca_certs {
            add_pem_file(&mut roots, path)?;
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    tls.alpn_protocols = vec![ALPN_H2.to_vec(), ALPN_HTTP11.to_vec()];
    Ok(Arc::new(tls))
}

/// Adds every `CERTIFICATE` block of a PEM file to the roots. A file without one, or
/// with one that is not a usable trust anchor, is an error: a typo in `--cacert` must
/// not silently fall back to the default roots.
fn add_pem_file(roots: &mut RootCertStore, path: &Path) -> Result<(), ClientError> {
    let fail = |reason: String| ClientError::CaCerts {
        path: path.to_path_buf(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|err| fail(err.to_string()))?;
    let mut added = 0usize;
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|err| fail(format!("the PEM data is malformed ({err})")))?;
        roots.add(cert).map_err(|err| {
            fail(format!(
                "a certificate is not a usable trust anchor ({err})"
            ))
        })?;
        added += 1;
    }
    if added == 0 {
        return Err(fail("the file holds no PEM CERTIFICATE block".into()));
    }
    Ok(())
}

/// The server name to verify and send as SNI: the URL's host (a DNS name, or an IP
/// address checked against the certificate's IP SANs).
pub(crate) fn server_name(host: &url::Host<&str>) -> Result<ServerName<'static>, String> {
    match host {
        url::Host::Domain(name) => ServerName::try_from(name.to_string())
            .map_err(|err| format!("{name} is not a valid TLS server name ({err})")),
        url::Host::Ipv4(ip) => Ok(ServerName::IpAddress(std::net::IpAddr::V4(*ip).into())),
        url::Host::Ipv6(ip) => Ok(ServerName::IpAddress(std::net::IpAddr::V6(*ip).into())),
    }
}

/// Turns the io error of a failed handshake into [`ClientError::Tls`]. tokio-rustls
/// wraps rustls errors in an `io::Error` of kind `InvalidData`; anything else is the
/// socket failing during the handshake. `wire` is the tap under TLS: when the server
/// answered with bytes that are not TLS records, or with nothing, the error says so
/// and quotes them.
pub(crate) fn handshake_error(host: &str, err: io::Error, wire: &WireLog) -> ClientError {
    let rustls_error = err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .cloned();
    let (first, received) = wire.first_bytes();
    let (kind, reason) = match rustls_error {
        Some(rustls::Error::InvalidCertificate(cert)) => classify_certificate(host, &cert),
        _ if received > 0 && !is_tls_record(&first) => (TlsFailure::NotTls, not_tls(&first)),
        Some(other) => (TlsFailure::Handshake, other.to_string()),
        None if received == 0 => (
            TlsFailure::NotTls,
            format!("the server closed the connection without answering the TLS handshake ({err})"),
        ),
        None => (
            TlsFailure::Handshake,
            format!("the connection failed during the handshake ({err})"),
        ),
    };
    ClientError::Tls {
        host: host.to_string(),
        kind,
        reason,
        source: err,
    }
}

/// Whether `bytes` begin like a TLS record: a content type from 20 (change cipher
/// spec) to 24 (heartbeat), then major version 3 (RFC 8446 §5.1).
fn is_tls_record(bytes: &[u8]) -> bool {
    match bytes {
        [] => true,
        [kind] => (20..=24).contains(kind),
        [kind, major, ..] => (20..=24).contains(kind) && *major == 3,
    }
}

/// The reason for [`TlsFailure::NotTls`], quoting what the server sent.
fn not_tls(first: &[u8]) -> String {
    let hint = if first.starts_with(b"HTTP/") {
        "; it answers in plain HTTP: use http:// or ws:// for it"
    } else {
        ""
    };
    format!(
        "the server does not speak TLS: it answered the handshake with \"{}\", which is not a TLS record (RFC 8446 §5.1){hint}",
        quote(first, 48)
    )
}

fn classify_certificate(host: &str, cert: &CertificateError) -> (TlsFailure, String) {
    const INSECURE: &str = "if you trust this server anyway, skip verification with --insecure";
    match cert {
        CertificateError::UnknownIssuer => (
            TlsFailure::UnknownIssuer,
            format!(
                "the server's certificate is not signed by a trusted certificate authority \
                 (unknown issuer); pass the CA's PEM file with --cacert FILE, or {INSECURE}"
            ),
        ),
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => (
            TlsFailure::NameMismatch,
            format!("the server's certificate is not valid for {host} ({cert}); {INSECURE}"),
        ),
        CertificateError::Expired
        | CertificateError::ExpiredContext { .. }
        | CertificateError::NotValidYet
        | CertificateError::NotValidYetContext { .. } => (
            TlsFailure::Expired,
            format!("the server's certificate is outside its validity period ({cert}); {INSECURE}"),
        ),
        other => (
            TlsFailure::BadCertificate,
            format!("the server's certificate was rejected ({other}); {INSECURE}"),
        ),
    }
}

/// `--insecure`: accepts any certificate chain for any name, but still checks that the
/// server holds the key of the certificate it sent (the handshake signature), so the
/// connection is at least consistent.
#[derive(Debug)]
struct AcceptAnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
