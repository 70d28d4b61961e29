//! The terminal console: connects as the CLI does, runs the app until the admin quits, always restores the terminal.
//! Elm-style: `state::Model` + `msg::Msg` → `update::update` → `msg::Effect`s, performed by `effects`, driven by
//! `app`, drawn by `screens::frame::render` from borrowed state.

pub mod format;
pub mod keymap;
pub mod msg;
pub mod screens;
pub mod state;
pub mod theme;
pub mod update;

pub use msg::{Effect, Msg, Now};
pub use state::Model;
pub use update::{init, update};

use crate::embedded::ConnectOptions;

/// Opens the console.
pub async fn run(options: &ConnectOptions) -> anyhow::Result<()> {
    let _ = options;
    anyhow::bail!("the console is not built yet")
}
