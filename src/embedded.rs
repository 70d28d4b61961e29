//! Connecting a front end (CLI or TUI): to a remote server by URL, or to the embedded console, which opens the
//! data directory, starts the server in-process on a loopback port and hands back the same `api::Client`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use zeroize::Zeroizing;

use crate::api::{Client, ClientOptions, Credentials};
use crate::config;
use crate::server::{self, ServerConfig, ServerHandle};
use crate::token::SharedSecret;

/// Connection flags shared by the CLI and the TUI.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    pub api_url: Option<String>,
    pub token_file: Option<PathBuf>,
    /// A token given directly (from `SACON_TOKEN`).
    pub token: Option<String>,
    pub shared_secret_file: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub ca_file: Option<PathBuf>,
    /// Do not seed the demo directory into a new data directory.
    pub no_demo: bool,
    pub timeout: Option<Duration>,
}

impl ConnectOptions {
    /// The data directory these options use: `--data-dir` or the default.
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir
            .clone()
            .unwrap_or_else(config::default_data_dir)
    }

    pub fn is_remote(&self) -> bool {
        self.api_url.is_some()
    }
}

/// A live connection. Keep it alive while the client is used: for the embedded console it owns the server.
pub struct Connection {
    pub client: Client,
    /// Where the console points, for headers: `~/.local/share/sacon` or `https://api.example`.
    pub target: String,
    /// The data directory, when embedded (the TUI remembers its last namespace there).
    pub data_dir: Option<PathBuf>,
    /// True when this start created the data directory's database.
    pub created: bool,
    /// True when this start also loaded the demo directory into it.
    pub seeded: bool,
    pub server: Option<ServerHandle>,
}

impl Connection {
    /// Stops the embedded server, if any, letting in-flight calls finish.
    pub async fn close(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
    }
}

/// Connects as `options` say: remote when `api_url` is set, otherwise the embedded console.
pub async fn connect(options: &ConnectOptions) -> anyhow::Result<Connection> {
    let client_options = ClientOptions {
        timeout: options.timeout.unwrap_or(Duration::from_secs(10)),
        ca_file: options.ca_file.clone(),
        ..ClientOptions::default()
    };
    if let Some(url) = &options.api_url {
        let credentials = remote_credentials(options)?;
        let client = Client::new(url, credentials, client_options)?;
        return Ok(Connection {
            client,
            target: url.trim_end_matches('/').to_string(),
            data_dir: None,
            created: false,
            seeded: false,
            server: None,
        });
    }
    let data_dir = options.data_dir();
    let config = ServerConfig {
        seed_demo: !options.no_demo,
        // The embedded server has one user: whoever runs the console or the local CLI.
        root_actor: server::local_actor(),
        ..ServerConfig::new(&data_dir)
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot open a loopback port for the embedded server")?;
    let handle = server::start(config, listener).await?;
    let secret = SharedSecret::load(&config::secret_path(&data_dir))?;
    let client = Client::new(
        &handle.url(),
        Credentials::SharedSecret(secret),
        client_options,
    )?;
    Ok(Connection {
        client,
        target: display_path(&data_dir),
        data_dir: Some(data_dir),
        created: handle.created,
        seeded: handle.seeded,
        server: Some(handle),
    })
}

/// `--token-file`, then `SACON_TOKEN`, then `--shared-secret-file`, then an explicit `--data-dir`'s secret.
fn remote_credentials(options: &ConnectOptions) -> anyhow::Result<Credentials> {
    if let Some(path) = &options.token_file {
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read token file {}", path.display()))?,
        );
        let token = text.trim();
        anyhow::ensure!(!token.is_empty(), "token file {} is empty", path.display());
        return Ok(Credentials::Token(Zeroizing::new(token.to_string())));
    }
    if let Some(token) = options
        .token
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        return Ok(Credentials::Token(Zeroizing::new(token.to_string())));
    }
    if let Some(path) = &options.shared_secret_file {
        config::check_private_file(path)?;
        return Ok(Credentials::SharedSecret(SharedSecret::load(path)?));
    }
    if let Some(dir) = &options.data_dir {
        let path = config::secret_path(dir);
        if path.exists() {
            return Ok(Credentials::SharedSecret(SharedSecret::load(&path)?));
        }
    }
    Ok(Credentials::None)
}

/// A path for display, with the home directory shown as `~`.
pub fn display_path(path: &Path) -> String {
    if let Some(home) = dirs::home_dir()
        && let Ok(rest) = path.strip_prefix(&home)
    {
        return format!("~/{}", rest.display());
    }
    path.display().to_string()
}
