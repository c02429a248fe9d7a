//! An in-process host for tests that play client cases against a real client
//! without the fuzzingserver protocol: each case on its own connection, the
//! request path naming the case number (`ws://ADDR/9.1.1`), each outcome sent
//! back with the number.

use std::sync::Arc;

use pulsecheck::check::Outcome;
use pulsecheck::host::ws::head::{HeadRead, read_head};
use pulsecheck::host::ws::session::{AgentHistory, ClientSession, Upgrade};
use pulsecheck::registry::Check;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// Serves `cases` to `agent`: a connection whose path is no case number (or
/// whose request head is not read whole) is dropped. Returns the base URL and
/// the outcomes, by case number, as the cases end.
pub(crate) async fn serve_cases(
    cases: Arc<Vec<Check<ClientSession>>>,
    agent: &'static str,
) -> (String, mpsc::Receiver<(String, Outcome)>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel(512);
    tokio::spawn(async move {
        let history = Arc::new(AgentHistory::default());
        while let Ok((mut tcp, _)) = listener.accept().await {
            let cases = Arc::clone(&cases);
            let history = Arc::clone(&history);
            let tx = tx.clone();
            tokio::spawn(async move {
                let HeadRead::Complete {
                    head: request,
                    leftover,
                    ..
                } = read_head(&mut tcp).await
                else {
                    return;
                };
                let number = request.target.trim_start_matches('/').to_owned();
                let Some(check) = cases
                    .iter()
                    .find(|c| c.info.aliases.contains(&number.as_str()))
                else {
                    return;
                };
                let upgrade = Upgrade {
                    io: Box::new(tcp),
                    request,
                    leftover,
                    received_at: tokio::time::Instant::now().into_std(),
                };
                let session = ClientSession::new(agent, history, upgrade);
                let outcome = (check.run)(&session, &check.info).await;
                let _ = tx.send((number, outcome)).await;
            });
        }
    });
    (format!("ws://{addr}"), rx)
}

/// `behavior` and `behaviorClose` of an outcome, in Autobahn's words (empty
/// when it has no grades).
pub(crate) fn grade_words(outcome: &Outcome) -> (String, String) {
    outcome.grades.map_or_else(Default::default, |g| {
        (g.behavior.to_string(), g.behavior_close.to_string())
    })
}
