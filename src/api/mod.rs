//! The API as both sides see it: wire messages generated from `proto/` (JSON + proto), the Connect codec and errors, conversions to the
//! domain model, and the reqwest client every front end (CLI, TUI, benches) talks through.

pub mod access;
pub mod client;
pub mod codec;
pub mod convert;
pub mod error;
pub mod wire;
pub mod wkt;

pub use client::{Capabilities, Client, ClientOptions, Credentials, Jwt, ListQuery};
pub use codec::Codec;
pub use error::{Code, ConnectError};
