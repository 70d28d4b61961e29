//! Test harness: a real sacon server on 127.0.0.1:0 over a temporary data directory, a typed client, and raw HTTP;
//! `sacon serve` children (`serve`) and the console's fixtures (`tui`).

pub mod access;
pub mod cli;
pub mod pg;
pub mod proxy;
pub mod serve;
pub mod tmux;
pub mod tui;

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use sacon::api::{Client, ClientOptions, Credentials};
use sacon::server::{self, Clock, ManualClock, ServerConfig, ServerHandle};
use sacon::store::{AnyStore, PgStore, SqliteStore};
use sacon::token::{self, SharedSecret};

pub struct TestServer {
    pub handle: Option<ServerHandle>,
    pub dir: tempfile::TempDir,
    pub secret: SharedSecret,
    pub client: Client,
    pub url: String,
    pub http: reqwest::Client,
    pub clock: Option<ManualClock>,
    /// The PostgreSQL database the server stores in; `None` for SQLite in its data directory.
    pub database_url: Option<String>,
}

/// A store of the kind this run tests, opened directly: SQLite in `dir`, or a fresh PostgreSQL database.
pub async fn test_store(dir: &std::path::Path) -> AnyStore {
    if pg::enabled() {
        let url = pg::fresh_database_url().await;
        return PgStore::open(&url).await.unwrap().into();
    }
    SqliteStore::open(&dir.join("sacon.db"))
        .await
        .unwrap()
        .into()
}

/// The start of a manual clock: this process's start time in whole seconds, so that credentials the client
/// makes from the real clock are still valid on the server's.
pub fn t0() -> DateTime<Utc> {
    static T0: std::sync::OnceLock<DateTime<Utc>> = std::sync::OnceLock::new();
    *T0.get_or_init(|| Utc.timestamp_opt(Utc::now().timestamp(), 0).unwrap())
}

impl TestServer {
    /// A server on the system clock, without demo data.
    pub async fn start() -> TestServer {
        Self::start_with(None, false).await
    }

    /// A server whose clock starts at `t0()` and moves only when the test says.
    pub async fn start_manual() -> TestServer {
        Self::start_with(Some(ManualClock::new(t0())), false).await
    }

    /// A server on the store this run tests: SQLite in its data directory, or a fresh PostgreSQL database when
    /// `SACON_TEST_STORE=postgres`.
    pub async fn start_with(clock: Option<ManualClock>, seed_demo: bool) -> TestServer {
        let url = match pg::enabled() {
            true => Some(pg::fresh_database_url().await),
            false => None,
        };
        Self::start_on(url, clock, seed_demo).await
    }

    /// A server on SQLite in its data directory, whichever store this run tests.
    pub async fn start_sqlite() -> TestServer {
        Self::start_on(None, None, false).await
    }

    /// A server on the PostgreSQL database at `database_url`, or on SQLite when `None`.
    pub async fn start_on(
        database_url: Option<String>,
        clock: Option<ManualClock>,
        seed_demo: bool,
    ) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("data");
        let mut config = ServerConfig::new(&data_dir);
        config.seed_demo = seed_demo;
        config.database_url = database_url.clone();
        if let Some(c) = &clock {
            config.clock = Arc::new(c.clone()) as Arc<dyn Clock>;
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let handle = server::start(config, listener).await.unwrap();
        let secret = SharedSecret::load(&sacon::config::secret_path(&data_dir)).unwrap();
        let url = handle.url();
        let client = Client::new(
            &url,
            Credentials::SharedSecret(secret.clone()),
            ClientOptions::default(),
        )
        .unwrap();
        TestServer {
            handle: Some(handle),
            dir,
            secret,
            client,
            url,
            http: reqwest::Client::new(),
            clock,
            database_url,
        }
    }

    /// The server's own database opened a second time, as another process sharing it would.
    pub async fn other_store(&self) -> AnyStore {
        AnyStore::open(
            self.database_url.as_deref(),
            &sacon::config::database_path(&self.data_dir()),
        )
        .await
        .unwrap()
    }

    pub fn data_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("data")
    }

    /// Now as the server sees it.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock
            .as_ref()
            .map(|c| c.now())
            .unwrap_or_else(Utc::now)
    }

    pub fn bootstrap(&self) -> String {
        format!(
            "Pomerium {}",
            token::bootstrap_token(&self.secret, self.now()).as_str()
        )
    }

    /// A raw authenticated Connect POST.
    pub async fn post(&self, method: &str, content_type: &str, body: Vec<u8>) -> reqwest::Response {
        self.http
            .post(format!("{}{}", self.url, method))
            .header("Content-Type", content_type)
            .header("Authorization", self.bootstrap())
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// A raw authenticated JSON call; returns status and parsed JSON body.
    pub async fn json(&self, method: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let resp = self
            .post(
                method,
                "application/json",
                serde_json::to_vec(&body).unwrap(),
            )
            .await;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.unwrap();
        let value = if bytes.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (status, value)
    }

    pub async fn root_id(&self) -> String {
        let all = self.client.list_namespaces().await.unwrap();
        all.into_iter().find(|n| n.parent_id.is_empty()).unwrap().id
    }
}

impl TestServer {
    /// A client whose admin credential is made at the server's (possibly hand-set) time.
    pub fn admin(&self) -> Client {
        let token = token::bootstrap_token(&self.secret, self.now());
        Client::new(
            &self.url,
            Credentials::Token(token),
            ClientOptions::default(),
        )
        .unwrap()
    }

    pub fn advance(&self, by: chrono::Duration) {
        self.clock.as_ref().expect("a manual clock").advance(by);
    }

    /// `GET /verify` with the given headers and query string; returns status, response headers and body.
    pub async fn verify(
        &self,
        headers: &[(&str, &str)],
        query: &str,
    ) -> (u16, reqwest::header::HeaderMap, String) {
        let mut req = self.http.get(format!("{}/verify{}", self.url, query));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        (status, headers, resp.text().await.unwrap())
    }
}

/// Signs arbitrary header and claims JSON with HS256 over `key`, for hostile-token tests.
pub fn forge(header: &serde_json::Value, claims: &serde_json::Value, key: &[u8]) -> String {
    use base64::Engine;
    let b64 = |v: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    };
    let message = format!("{}.{}", b64(header), b64(claims));
    let sig = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &jsonwebtoken::EncodingKey::from_secret(key),
        jsonwebtoken::Algorithm::HS256,
    )
    .unwrap();
    format!("{message}.{sig}")
}
