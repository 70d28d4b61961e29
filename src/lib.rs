//! sacon: a keyboard-driven console, a scripting CLI and a Pomerium-compatible API server for machine-to-machine
//! service accounts. One crate; every front end reaches the store through `api::Client` and the server.

pub mod access;
pub mod api;
pub mod cli;
pub mod config;
pub mod context;
pub mod demo;
pub mod display;
pub mod embedded;
pub mod filter;
pub mod logging;
pub mod model;
pub mod policy;
pub mod server;
pub mod store;
pub mod token;
pub mod tui;
