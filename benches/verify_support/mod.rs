//! Support for `benches/verify.rs`: the servers under load as child processes (`sacon serve`, nginx, a no-op
//! axum server), the keep-alive load generator, and the `metric | target | measured` table.

pub mod attack;
pub mod load;
pub mod procs;
pub mod table;
