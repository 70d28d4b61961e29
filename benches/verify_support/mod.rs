//! Support for `benches/verify.rs`: the servers under load as child processes (`sacon serve`, nginx, a no-op
//! axum server), the keep-alive load generator, the directory import row, the access-decision load (1,000 routes
//! and policies), the `metric | target | measured` table, and a throw-away PostgreSQL cluster (the tests' own) for
//! the replica rows.

pub mod attack;
pub mod import;
pub mod load;
// The tests' cluster harness; the benchmark uses its durable cluster, not the tests' shared one.
#[allow(dead_code)]
#[path = "../../tests/it/support/pg.rs"]
pub mod pg;
pub mod procs;
pub mod table;
pub mod targets;
