//! One handler module per service; each handler takes the decoded request and returns the response message or a
//! Connect error. Validation messages name the offending field in its JSON spelling.

pub mod access;
pub mod accounts;
pub mod activity;
pub mod console_accounts;
pub mod directory;
mod listing;
pub mod namespaces;
pub mod permissions;
pub mod policies;
pub mod routes;
pub mod tokens;
mod validate;
