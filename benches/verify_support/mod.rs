//! Support for `benches/verify.rs`: the servers under load as child processes (`sacon serve`, nginx, a no-op
//! axum server), the keep-alive load generator, the directory import row, the access-decision load (1,000 routes
//! and policies), and the `metric | target | measured` table.

pub mod attack;
pub mod import;
pub mod load;
pub mod procs;
pub mod table;
pub mod targets;
