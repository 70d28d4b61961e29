//! Two `sacon serve` replicas on one PostgreSQL database with one shared secret: a delete or rotation answered by
//! one is refused by the other at its next `/verify`, the same account id created on both at once succeeds on
//! exactly one, and use is recorded once per account per window whichever replica sees it. Runs in the
//! PostgreSQL pass of the suite (`SACON_TEST_STORE=postgres`); SQLite serves one process only.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use sacon::api::{Client, ClientOptions, Code, Credentials, wire};
use sacon::token::{SharedSecret, write_private_file};

use crate::support::pg;

/// One `sacon serve` on the shared database; killed when dropped.
pub struct Replica {
    pub child: Child,
    pub url: String,
    pub http: reqwest::Client,
    secret: SharedSecret,
    _dir: tempfile::TempDir,
}

impl Replica {
    /// A replica of the database at `database_url`, checking and signing with the secret in `secret_file`.
    pub fn start(database_url: &str, secret_file: &std::path::Path) -> Replica {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_sacon"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path().join("data"))
            .arg("--shared-secret-file")
            .arg(secret_file)
            .env("SACON_DATABASE_URL", database_url)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let (url, _rest) = crate::support::serve::listening_url(&mut child);
        Replica {
            child,
            url,
            http: reqwest::Client::new(),
            secret: SharedSecret::load(secret_file).unwrap(),
            _dir: dir,
        }
    }

    pub fn client(&self) -> Client {
        Client::new(
            &self.url,
            Credentials::SharedSecret(self.secret.clone()),
            ClientOptions::default(),
        )
        .unwrap()
    }

    pub async fn verify(&self, jwt: &str) -> u16 {
        self.http
            .get(format!("{}/verify", self.url))
            .header("Authorization", format!("Bearer Pomerium-{jwt}"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A private directory with a fresh shared secret in it, for replicas to share.
pub fn shared_secret() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("shared_secret");
    write_private_file(&file, SharedSecret::generate().to_base64().as_bytes()).unwrap();
    (dir, file)
}

fn account(id: Option<&str>, user: &str) -> wire::ServiceAccount {
    wire::ServiceAccount {
        id: id.map(str::to_string),
        user_id: Some(user.into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn replicas_share_revocation_creates_and_use() {
    if !pg::enabled() {
        eprintln!("replicas: runs in the PostgreSQL pass (SACON_TEST_STORE=postgres)");
        return;
    }
    let url = pg::fresh_database_url().await;
    let (_secret_dir, secret) = shared_secret();
    let a = Replica::start(&url, &secret);
    let b = Replica::start(&url, &secret);
    let (ca, cb) = (a.client(), b.client());

    // A token issued by one replica verifies on the other; its delete on one is refused by the other at once.
    let (gone, jwt) = ca.create_account(account(None, "ci-bot")).await.unwrap();
    assert_eq!(b.verify(&jwt).await, 200);
    ca.delete_account(&gone.id).await.unwrap();
    assert_eq!(b.verify(&jwt).await, 401, "a delete on A is in force on B");
    assert_eq!(a.verify(&jwt).await, 401);

    // A rotation on B supersedes the token everywhere; the new one verifies on A.
    let (rotated, old) = ca.create_account(account(None, "deploy")).await.unwrap();
    assert_eq!(a.verify(&old).await, 200);
    let (_, new) = cb.rotate_account(&rotated.id).await.unwrap();
    assert_eq!(
        a.verify(&old).await,
        401,
        "a rotation on B is in force on A"
    );
    assert_eq!(a.verify(&new).await, 200);
    assert_eq!(b.verify(&new).await, 200);

    // Disabling on A refuses on B; enabling brings the same token back.
    cb.set_disabled(&rotated.id, true).await.unwrap();
    assert_ne!(a.verify(&new).await, 200, "a disable on B is in force on A");
    ca.set_disabled(&rotated.id, false).await.unwrap();
    assert_eq!(b.verify(&new).await, 200);

    // The same id created on both at once: exactly one success, the other already_exists.
    for i in 0..20 {
        let id = format!("race-{i}");
        let (ra, rb) = tokio::join!(
            ca.create_account(account(Some(&id), "racer")),
            cb.create_account(account(Some(&id), "racer"))
        );
        let codes: Vec<Option<Code>> = [&ra, &rb]
            .iter()
            .map(|r| r.as_ref().err().map(|e| e.code))
            .collect();
        let ok = codes.iter().filter(|c| c.is_none()).count();
        assert_eq!(ok, 1, "{id}: {codes:?}");
        assert!(
            codes.contains(&Some(Code::AlreadyExists)),
            "{id}: {codes:?}"
        );
    }
    let (_, total) = ca
        .list_accounts(&sacon::api::ListQuery {
            filter: Some(serde_json::json!({"user_id": "racer"})),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(total, 20);

    // Use is written once per account per window, by whichever replica sees it first.
    let (used, jwt) = ca.create_account(account(None, "reader")).await.unwrap();
    assert_eq!(a.verify(&jwt).await, 200);
    let first = ca.get_account(&used.id).await.unwrap().accessed_at;
    assert!(first.is_some(), "the first use is recorded");
    assert_eq!(b.verify(&jwt).await, 200);
    assert_eq!(a.verify(&jwt).await, 200);
    let after = cb.get_account(&used.id).await.unwrap().accessed_at;
    assert_eq!(
        after, first,
        "B's first sight of the account within the window writes nothing"
    );

    // A replica given another secret would refuse the others' tokens (and they its): it does not start.
    let (_other_dir, other) = shared_secret();
    let scratch = crate::support::cli::Scratch::new();
    let data = scratch.path("data");
    let out = scratch.run_with_env(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().unwrap(),
            "--shared-secret-file",
            other.to_str().unwrap(),
        ],
        &[("SACON_DATABASE_URL", &url)],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("another shared secret"),
        "{}",
        out.stderr
    );
    assert_eq!(a.verify(&jwt).await, 200, "the others serve on");
}

#[test]
fn serve_refuses_a_shared_secret_file_others_can_read_or_that_is_missing() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, secret) = shared_secret();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let scratch = crate::support::cli::Scratch::new();
    let data = dir.path().join("data");
    // A bounded run: a server that started anyway would fail the test, not hang it.
    let serve = |file: &std::path::Path| {
        let out = scratch.run(&[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().unwrap(),
            "--shared-secret-file",
            file.to_str().unwrap(),
        ]);
        (Some(out.code), out.stderr)
    };
    let (code, stderr) = serve(&secret);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("chmod 600"), "{stderr}");
    let (code, stderr) = serve(&dir.path().join("absent"));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("absent"), "{stderr}");
}
