//! The API server: opens the data directory (0700 dir, 0600 shared secret, database with the root namespace; a
//! looser mode refuses to start), serves the Connect API with axum over any `Store` on a guarded listener (plain
//! or TLS), and shuts down gracefully.

pub mod access_decision;
pub mod auth;
pub mod authz;
pub mod clock;
pub mod connect;
pub mod errors;
pub mod handlers;
pub mod listen;
pub mod log;
pub mod methods;
pub mod throttle;
pub mod verify;

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use chrono::{DateTime, Utc};
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use clock::{Clock, ManualClock, SystemClock};

use crate::config;
use crate::store::{AnyStore, SqliteStore, Store};
use crate::token::SharedSecret;

/// What every handler can reach.
pub struct AppState<S: Store> {
    pub store: S,
    pub secret: Arc<SharedSecret>,
    pub clock: Arc<dyn Clock>,
    pub access: Arc<verify::AccessThrottle>,
    /// Compiled routes and policies for `/verify`'s access decisions.
    pub access_cache: Arc<access_decision::AccessCache>,
    /// Failed admin authentications per source address.
    pub auth_failures: Arc<throttle::AuthFailures>,
    /// Refusals logged at a bounded rate, and counted.
    pub refusals: Arc<log::Refusals>,
    /// Who shared-secret callers are recorded as (`ROOT_ACTOR`, or `local:<user>` for an embedded server).
    pub root_actor: Arc<str>,
}

impl<S: Store> AppState<S> {
    pub fn new(store: S, secret: SharedSecret, clock: Arc<dyn Clock>) -> AppState<S> {
        AppState {
            store,
            secret: Arc::new(secret),
            clock,
            access: Arc::default(),
            access_cache: Arc::default(),
            auth_failures: Arc::default(),
            refusals: Arc::default(),
            root_actor: Arc::from(ROOT_ACTOR),
        }
    }
}

impl<S: Store> Clone for AppState<S> {
    fn clone(&self) -> Self {
        AppState {
            store: self.store.clone(),
            secret: self.secret.clone(),
            clock: self.clock.clone(),
            access: self.access.clone(),
            access_cache: self.access_cache.clone(),
            auth_failures: self.auth_failures.clone(),
            refusals: self.refusals.clone(),
            root_actor: self.root_actor.clone(),
        }
    }
}

/// The authenticated caller of one request and the time the request is judged at.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Who the audit log says acted: `root` for the shared secret on `sacon serve`, `local:<user>` for the
    /// embedded console and local CLI, a service account's user id when one calls with its token, `anonymous`
    /// for open methods.
    pub actor: String,
    /// The service account calling, when one is; empty otherwise.
    pub account_id: String,
    /// What the caller may do.
    pub principal: authz::Principal,
    pub now: DateTime<Utc>,
}

impl Caller {
    /// A shared-secret caller recorded as `actor`.
    pub fn root(actor: impl Into<String>, now: DateTime<Utc>) -> Caller {
        Caller {
            actor: actor.into(),
            account_id: String::new(),
            principal: authz::Principal::Root,
            now,
        }
    }

    /// The audit record of a write by this caller.
    pub fn change(&self) -> crate::store::Change {
        crate::store::Change {
            actor: self.actor.clone(),
            account_id: self.account_id.clone(),
            at: self.now,
        }
    }
}

/// The actor recorded for shared-secret callers of `sacon serve`.
pub const ROOT_ACTOR: &str = "root";

/// `local:<operating-system user>`: the actor of the embedded console and the local CLI.
pub fn local_actor() -> String {
    let name = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .map(|n| crate::model::sanitize(n.trim()))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| {
            // SAFETY: geteuid has no preconditions and cannot fail.
            format!("uid{}", unsafe { libc::geteuid() })
        });
    format!("local:{name}")
}

/// The router for a store: the Connect methods, with request logging.
pub fn router<S: Store>(state: AppState<S>) -> Router {
    Router::new()
        .route(
            "/verify",
            axum::routing::get(verify::verify::<S>).post(verify::verify::<S>),
        )
        .fallback(connect::dispatch::<S>)
        .layer(axum::middleware::from_fn_with_state(
            state.refusals.clone(),
            log::log_request,
        ))
        .with_state(state)
}

/// How `sacon serve` (or the embedded console) starts a server.
#[derive(Clone)]
pub struct ServerConfig {
    pub data_dir: PathBuf,
    /// Load the demo directory into a database this start creates.
    pub seed_demo: bool,
    pub clock: Arc<dyn Clock>,
    /// Connection bounds (timeouts and the connection cap).
    pub limits: listen::Limits,
    /// Serve TLS with this acceptor (`--tls-cert`/`--tls-key`).
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    /// Who shared-secret callers are recorded as.
    pub root_actor: String,
    /// Store in this PostgreSQL database (`postgres://…`) instead of SQLite in the data directory.
    pub database_url: Option<String>,
    /// Read the shared secret from this file (0600; it must exist) instead of the data directory's, so replicas
    /// on one database share one secret.
    pub secret_file: Option<PathBuf>,
}

impl ServerConfig {
    pub fn new(data_dir: impl Into<PathBuf>) -> ServerConfig {
        ServerConfig {
            data_dir: data_dir.into(),
            seed_demo: false,
            clock: Arc::new(SystemClock),
            limits: listen::Limits::for_open_files(listen::open_file_limit()),
            tls: None,
            root_actor: ROOT_ACTOR.to_string(),
            database_url: None,
            secret_file: None,
        }
    }
}

/// An opened data directory.
pub struct DataDir {
    pub secret: SharedSecret,
    pub store: AnyStore,
    /// This start created the database (for PostgreSQL: found it without accounts, namespaces but the root, or
    /// users).
    pub created: bool,
    /// This start loaded the demo directory.
    pub seeded: bool,
}

/// Creates the directory (0700), the shared secret (0600) and the database as needed, and opens them. Like ssh
/// with its keys, refuses a directory or file that others can reach, naming the `chmod` that fixes it.
pub async fn open_data_dir(config: &ServerConfig) -> anyhow::Result<DataDir> {
    let dir = &config.data_dir;
    create_private_dir(dir)?;
    config::check_private(dir)?;
    let secret = match &config.secret_file {
        Some(file) => {
            config::check_private_file(file)?;
            SharedSecret::load(file)
                .with_context(|| format!("cannot read the shared secret {}", file.display()))?
        }
        None => SharedSecret::load_or_create(&config::secret_path(dir))?,
    };
    let (store, created) = match &config.database_url {
        Some(url) => {
            let store = crate::store::PgStore::open(url)
                .await
                .with_context(|| format!("cannot open the database {}", redact_url(url)))?;
            store
                .check_secret(&secret.fingerprint())
                .await
                .with_context(|| format!("cannot serve the database {}", redact_url(url)))?;
            let store = AnyStore::Postgres(store);
            let created = is_empty(&store).await?;
            (store, created)
        }
        None => {
            let db_path = config::database_path(dir);
            let created = !db_path.exists();
            if created {
                // SQLite gives its -wal and -shm files the database's mode: make all three private.
                use std::os::unix::fs::OpenOptionsExt;
                std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&db_path)
                    .with_context(|| format!("cannot create the database {}", db_path.display()))?;
            }
            let store = SqliteStore::open(&db_path)
                .await
                .with_context(|| format!("cannot open the database {}", db_path.display()))?;
            (AnyStore::Sqlite(store), created)
        }
    };
    let seeded = created && config.seed_demo;
    if seeded {
        crate::demo::seed_demo(&store, config.clock.now())
            .await
            .context("cannot load the demo directory")?;
    }
    Ok(DataDir {
        secret,
        store,
        created,
        seeded,
    })
}

/// Whether a database holds nothing but the root namespace: what a first start finds (and seeds the demo into).
pub async fn is_empty<S: Store>(store: &S) -> anyhow::Result<bool> {
    let one = crate::store::AccountQuery {
        limit: 1,
        ..Default::default()
    };
    Ok(store.list_namespaces().await?.len() <= 1
        && store.query_users("", 0, 1).await?.total == 0
        && store.list_accounts(&one).await?.total == 0)
}

/// A database URL fit for a log or an error: any password replaced by `***`.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "(an unparsable URL)".to_string(),
    }
}

fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    config::ensure_private_dir(dir)
        .with_context(|| format!("cannot create the data directory {}", dir.display()))
}

/// A running server. `shutdown` stops it gracefully; dropping the handle does the same without waiting.
pub struct ServerHandle {
    pub addr: SocketAddr,
    /// This start created the database (and seeded the demo when asked).
    pub created: bool,
    pub seeded: bool,
    tls: bool,
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl ServerHandle {
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Stops accepting connections, lets in-flight requests finish, closes the store.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Opens the data directory and serves on `listener` in a background task.
pub async fn start(config: ServerConfig, listener: TcpListener) -> anyhow::Result<ServerHandle> {
    let data = open_data_dir(&config).await?;
    let (created, seeded) = (data.created, data.seeded);
    match &config.database_url {
        Some(url) => {
            tracing::info!(store = data.store.kind(), database = %redact_url(url), created, "store opened")
        }
        None => tracing::info!(store = data.store.kind(), created, "store opened"),
    }
    let addr = listener.local_addr()?;
    let tls = config.tls.is_some();
    let mut state = AppState::new(data.store, data.secret, config.clock);
    state.root_actor = Arc::from(config.root_actor.as_str());
    let (stop, task) = spawn(state, listener, config.tls, config.limits);
    Ok(ServerHandle {
        addr,
        created,
        seeded,
        tls,
        stop,
        task: Some(task),
    })
}

/// Serves any store on `listener` until the returned sender fires (or is dropped), then closes the store.
pub fn spawn<S>(
    state: AppState<S>,
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    limits: listen::Limits,
) -> (watch::Sender<bool>, tokio::task::JoinHandle<()>)
where
    S: Store + StoreClose,
{
    let store = state.store.clone();
    // `/verify` (GET or POST, as the route) is answered before the router, with the same log.
    let verify_state = Arc::new(state.clone());
    let fast = listen::FastRoute {
        path: "/verify",
        methods: &[axum::http::Method::GET, axum::http::Method::POST],
        handle: Arc::new(move |request| {
            let state = verify_state.clone();
            Box::pin(async move {
                log::served(&state.refusals, request, |r| verify::serve(&state, r)).await
            })
        }),
    };
    let app = router(state);
    let (stop_tx, stop_rx) = watch::channel(false);
    let task = tokio::spawn(async move {
        listen::serve(listener, tls, limits, app, Some(fast), stop_rx).await;
        store.close().await;
    });
    (stop_tx, task)
}

/// Stores that hold resources to release at shutdown (a connection pool).
pub trait StoreClose {
    fn close(&self) -> impl std::future::Future<Output = ()> + Send;
}

impl StoreClose for SqliteStore {
    fn close(&self) -> impl std::future::Future<Output = ()> + Send {
        SqliteStore::close(self)
    }
}

impl StoreClose for AnyStore {
    fn close(&self) -> impl std::future::Future<Output = ()> + Send {
        AnyStore::close(self)
    }
}

/// `sacon serve`: opens `config.data_dir`, binds `listen`, prints `listening on http://HOST:PORT` (or https) as
/// the first line on stdout, and serves until SIGINT/SIGTERM. Plaintext on an address other than loopback is
/// refused unless `insecure_plaintext` says a TLS-terminating proxy is in front.
pub async fn serve_forever(
    listen: &str,
    config: ServerConfig,
    insecure_plaintext: bool,
) -> anyhow::Result<()> {
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let local = listener.local_addr()?;
    if config.tls.is_none() && !local.ip().is_loopback() && !insecure_plaintext {
        anyhow::bail!(
            "refusing to serve plaintext HTTP on {local}: admin credentials and tokens would cross the network \
             in clear. Give --tls-cert FILE --tls-key FILE, or --insecure-plaintext when a TLS-terminating \
             proxy is in front"
        );
    }
    if config.tls.is_none() && !local.ip().is_loopback() {
        tracing::warn!(addr = %local, "serving plaintext HTTP off loopback (--insecure-plaintext)");
    }
    tracing::info!(
        max_connections = config.limits.max_connections,
        header_timeout_s = config.limits.header_timeout.as_secs_f64(),
        idle_timeout_s = config.limits.idle_timeout.as_secs_f64(),
        "connection limits"
    );
    let handle = start(config, listener).await?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {}", handle.url())?;
        out.flush()?;
    }
    tracing::info!(addr = %handle.addr, "listening");
    shutdown_signal().await;
    tracing::info!("shutting down: finishing in-flight requests");
    handle.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
