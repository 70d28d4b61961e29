//! SQLite implementation of `Store`.

#[derive(Clone)]
pub struct SqliteStore {}
