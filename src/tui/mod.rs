//! The terminal console: connects as the CLI does, runs the app until the admin quits, always restores the terminal.
//! Elm-style: `state::Model` + `msg::Msg` → `update::update` → `msg::Effect`s, performed by `effects`, driven by
//! `app`, drawn by `screens::frame::render` from borrowed state.

pub mod app;
pub mod clipboard;
pub mod effects;
pub mod format;
pub mod keymap;
pub mod msg;
pub mod permissions;
pub mod screens;
pub mod state;
pub mod theme;
pub mod update;

pub use msg::{Effect, Msg, Now};
pub use state::Model;
pub use update::{init, update};

use std::io::IsTerminal;
use std::path::PathBuf;

use crate::embedded::{ConnectOptions, Connection};

/// A context the console can switch to (k9s-style): its name, where it points, and how to connect.
#[derive(Debug, Clone)]
pub struct ContextChoice {
    pub name: String,
    /// `embedded` or the API URL, for the switcher.
    pub target: String,
    pub options: ConnectOptions,
    /// The context's own `read-only` (OR-ed with `--read-only`).
    pub read_only: bool,
    /// The context's default namespace.
    pub namespace: Option<String>,
}

/// How the console session is opened, beyond where it connects.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// `--read-only`: offer no change at all (for audits); the server is not told, the console just never asks.
    pub read_only: bool,
    /// The name of the context the session was opened in, for the title bar (`None`: the data directory or
    /// URL is shown).
    pub context: Option<String>,
    /// The context's default namespace (a name path or an id), opened at start instead of the remembered one.
    pub namespace: Option<String>,
    /// Every context of the config file, for the switcher (`C`).
    pub contexts: Vec<ContextChoice>,
    /// `--read-only` itself (`read_only` also holds the context's setting); kept across context switches.
    pub read_only_flag: bool,
}

/// Opens the console: connects (embedded or remote), then runs until the admin quits. The terminal is restored
/// on every exit path.
pub async fn run(options: &ConnectOptions, start: StartOptions) -> anyhow::Result<()> {
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        anyhow::bail!(
            "the console needs a terminal; for scripts use the subcommands (sacon accounts --help)"
        );
    }
    let connection = crate::embedded::connect(options).await?;
    let state_file = state_file(&connection);
    app::run(connection, state_file, start).await
}

/// Where the last namespace is remembered: `<data-dir>/console.json` when embedded; for a remote server a
/// file per URL under the default data directory.
pub fn state_file(connection: &Connection) -> Option<PathBuf> {
    match &connection.data_dir {
        Some(dir) => Some(dir.join("console.json")),
        None => {
            // FNV-1a: a stable, dependency-free name for the URL.
            let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
            for b in connection.client.base_url().bytes() {
                hash ^= u64::from(b);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
            Some(crate::config::default_data_dir().join(format!("console-remote-{hash:016x}.json")))
        }
    }
}
