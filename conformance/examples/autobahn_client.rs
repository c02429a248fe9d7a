//! The Autobahn|Testsuite client loop with tokio-tungstenite, the way
//! tungstenite's own `autobahn-client` example drives Autobahn's fuzzingserver,
//! pointed at `pulsecheck host ws` instead:
//!
//! 1. `/getCaseCount`: one text message, the number of cases;
//! 2. `/runCase?case=N&agent=A` for N in 1..=count: every text and binary
//!    message is sent back as it came until the connection ends (tungstenite
//!    answers pings and the Close itself);
//! 3. `/updateReports?agent=A`: the host writes its reports.
//!
//! A case that ends in an error is reported on stderr and the loop goes on:
//! failing the connection is what many cases expect of a client.
//!
//! ```text
//! cargo build -p pulsecheck --example autobahn_client
//! pulsecheck host ws --addr 127.0.0.1:0 -- target/debug/examples/autobahn_client
//! ```
//!
//! It reads the host's base URL from `PULSECHECK_URL` (as `host ws -- CMD`
//! sets it; default `ws://127.0.0.1:9001`, fuzzingserver's port) and the agent
//! name from `PULSECHECK_AGENT` (default `tokio-tungstenite`). Messages and
//! frames of up to 64 MiB are accepted: the largest case sends 16 MiB.

use std::process::ExitCode;

use futures::{SinkExt as _, StreamExt as _};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async_with_config};

/// The largest message and frame the client accepts.
const MAX_SIZE: usize = 64 << 20;

/// One connection of the client under test.
type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// Where the host is, and who the client says it is.
struct Host {
    base: String,
    agent: String,
}

impl Host {
    fn from_env() -> Host {
        let base = std::env::var("PULSECHECK_URL")
            .unwrap_or_else(|_| "ws://127.0.0.1:9001".to_owned())
            .trim_end_matches('/')
            .to_owned();
        let agent = std::env::var("PULSECHECK_AGENT")
            .ok()
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| "tokio-tungstenite".to_owned());
        Host { base, agent }
    }

    /// Opens a WebSocket connection to `path` on the host.
    async fn connect(&self, path: &str) -> Result<Socket, Error> {
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_SIZE))
            .max_frame_size(Some(MAX_SIZE));
        let url = format!("{}{path}", self.base);
        let (socket, _response) = connect_async_with_config(url, Some(config), false).await?;
        Ok(socket)
    }

    /// The agent name as a query value (percent-encoded).
    fn agent_query(&self) -> String {
        url::form_urlencoded::byte_serialize(self.agent.as_bytes()).collect()
    }

    async fn case_count(&self) -> Result<u32, String> {
        let mut socket = self
            .connect("/getCaseCount")
            .await
            .map_err(|e| format!("/getCaseCount: {e}"))?;
        let count = match socket.next().await {
            Some(Ok(Message::Text(text))) => text
                .trim()
                .parse::<u32>()
                .map_err(|_| format!("/getCaseCount sent {text:?}, not a number"))?,
            other => return Err(format!("/getCaseCount sent no count: {other:?}")),
        };
        let _ = socket.close(None).await;
        Ok(count)
    }

    /// Plays case `number`: echoes every text and binary message.
    async fn run_case(&self, number: u32) -> Result<(), Error> {
        let path = format!("/runCase?case={number}&agent={}", self.agent_query());
        let mut socket = self.connect(&path).await?;
        while let Some(message) = socket.next().await {
            let message = message?;
            if message.is_text() || message.is_binary() {
                socket.send(message).await?;
            }
        }
        Ok(())
    }

    async fn update_reports(&self) -> Result<(), Error> {
        let path = format!("/updateReports?agent={}", self.agent_query());
        let mut socket = self.connect(&path).await?;
        // The host closes once the reports are written; wait for that.
        while let Some(Ok(_)) = socket.next().await {}
        Ok(())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let host = Host::from_env();
    let total = match host.case_count().await {
        Ok(total) => total,
        Err(e) => {
            eprintln!("autobahn_client: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut errors = 0;
    for number in 1..=total {
        if let Err(e) = host.run_case(number).await {
            errors += 1;
            eprintln!("autobahn_client: case {number}/{total}: {e}");
        }
    }
    eprintln!(
        "autobahn_client: ran {total} cases as {:?} ({errors} ended in an error on the client's side)",
        host.agent
    );
    if let Err(e) = host.update_reports().await {
        eprintln!("autobahn_client: /updateReports: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
