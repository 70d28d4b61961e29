//! Support for `benches/verify.rs`: the servers under load as child processes (`sacon serve`, nginx, a no-op
//! axum server), the keep-alive load generator, the directory import row, and the `metric | target | measured` table.

pub mod attack;
pub mod import;
pub mod load;
pub mod procs;
pub mod table;
