//! WebSocket (RFC 6455) framing: work in progress, see the framing issue.
