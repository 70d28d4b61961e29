//! `kill -9` of `sacon serve` while clients create accounts loses no acknowledged account and leaves none
//! half-written: after a restart on the same store every acknowledged create is there with its audit entry. Runs
//! on SQLite, and on PostgreSQL in that pass of the suite.

use std::process::{Child, Command, Stdio};

use sacon::api::{Client, ClientOptions, Credentials, wire};
use sacon::token::SharedSecret;
use tokio::sync::mpsc;

/// Acknowledged creates to wait for before the kill.
const BEFORE_KILL: usize = 150;
const CLIENTS: usize = 8;

fn serve(data: &std::path::Path, env: &[(&'static str, String)]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sacon"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .envs(env.iter().cloned())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (url, _rest) = crate::support::serve::listening_url(&mut child);
    (child, url)
}

fn client(url: &str, data: &std::path::Path) -> Client {
    let secret = SharedSecret::load(&sacon::config::secret_path(data)).unwrap();
    Client::new(
        url,
        Credentials::SharedSecret(secret),
        ClientOptions::default(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_creates_loses_no_acknowledged_account() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let env = crate::support::pg::serve_env();
    let (mut child, url) = serve(&data, &env);

    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let client = client(&url, &data);
        let tx = tx.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0.. {
                let account = wire::ServiceAccount {
                    id: Some(format!("acked-{c}-{i}")),
                    user_id: Some(format!("writer-{c}")),
                    ..Default::default()
                };
                // The first failure is the kill: stop there.
                match client.create_account(account).await {
                    Ok((a, _jwt)) => {
                        if tx.send(a.id).is_err() {
                            return;
                        }
                    }
                    Err(_) => return,
                }
            }
        }));
    }
    drop(tx);
    let mut acked = Vec::new();
    while acked.len() < BEFORE_KILL {
        acked.push(
            rx.recv()
                .await
                .expect("the creates stopped before the kill"),
        );
    }
    // SIGKILL, while the other clients' creates are in flight.
    child.kill().unwrap();
    child.wait().unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    while let Some(id) = rx.recv().await {
        acked.push(id);
    }

    let (mut restarted, url) = serve(&data, &env);
    let c = client(&url, &data);
    let stored = c.list_all_accounts(None, "").await.unwrap();
    let ids: std::collections::HashSet<&str> = stored.iter().map(|a| a.id.as_str()).collect();
    let lost: Vec<&String> = acked
        .iter()
        .filter(|id| !ids.contains(id.as_str()))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged creates were lost: {lost:?}",
        lost.len(),
        acked.len()
    );
    // Nothing half-written: the log holds one create per stored account, no more, no less.
    let (_, creates) = c
        .list_activity(wire::ListActivityLogEntriesRequest {
            activity_type: Some("create".into()),
            entity_type: Some("service_account".into()),
            limit: Some(1),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(creates as usize, stored.len());
    let _ = restarted.kill();
    let _ = restarted.wait();
}
