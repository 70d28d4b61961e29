//! The directory import row: 50,000 generated users sent in one `sacon.directory.DirectoryService/ImportUsers`
//! call through `sacon::api::Client` to a fresh `sacon serve` child, timed from request to answer, reported as
//! users per second (target 20,000/s); then the same users again, every one an update.
//!
//! `SACON_BENCH_ONLY=import` makes `cargo bench --bench verify` print this row alone; `SACON_BENCH_IMPORT_USERS`
//! changes the count (at most the server's 100,000 per call).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use sacon::api::{Client, ClientOptions, Credentials};
use sacon::model::DirectoryUser;
use sacon::token::SharedSecret;

use super::procs;
use super::table::{Table, per_sec};

pub const TARGET_PER_SEC: f64 = 20_000.0;
const DEFAULT_USERS: u64 = 50_000;

/// Whether the environment asks for the import row alone.
pub fn only() -> bool {
    std::env::var("SACON_BENCH_ONLY").is_ok_and(|v| v == "import")
}

/// Varied names and groups, so the prefix terms and trigram documents are as many and as long as a real
/// directory's.
fn users(n: u64) -> Vec<DirectoryUser> {
    const FIRST: [&str; 8] = [
        "Alice", "Bruno", "Chen", "Dana", "Émile", "Farah", "Gustav", "Hana",
    ];
    const LAST: [&str; 8] = [
        "Nguyen", "García", "Okafor", "Schmidt", "Tanaka", "Kowalski", "Haddad", "Silva",
    ];
    (0..n)
        .map(|i| {
            let first = FIRST[(i % 8) as usize];
            let last = LAST[((i / 8) % 8) as usize];
            DirectoryUser {
                id: format!("u-{i:06}"),
                name: format!("{first} {last} {i}"),
                email: format!(
                    "{}.{}{i}@example.com",
                    first.to_lowercase(),
                    last.to_lowercase()
                ),
                groups: vec!["staff".into(), format!("team-{}", i % 97)],
            }
        })
        .collect()
}

/// Adds the import rows to `table`, measured against a fresh server (`binary` as for the `/verify` rows).
pub fn add_rows(table: &mut Table, binary: Option<&Path>) -> anyhow::Result<()> {
    let n = match std::env::var("SACON_BENCH_IMPORT_USERS") {
        Ok(v) => v
            .parse()
            .with_context(|| format!("SACON_BENCH_IMPORT_USERS={v:?} is not a number"))?,
        Err(_) => DEFAULT_USERS,
    };
    let dir = tempfile::tempdir()?;
    let server = procs::start_sacon(dir.path(), binary)?;
    let secret = SharedSecret::load(&sacon::config::secret_path(dir.path()))?;
    // An older, slower build must still finish, so the call may take far longer than the default 10 s.
    let options = ClientOptions {
        timeout: Duration::from_secs(600),
        ..ClientOptions::default()
    };
    let client = Client::new(&server.url(), Credentials::SharedSecret(secret), options)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let users = users(n);
    let timed = |expect_new: u64| {
        rt.block_on(async {
            let start = Instant::now();
            let (inserted, updated) = client.import_users(&users).await?;
            let took = start.elapsed();
            ensure!(
                (inserted, updated) == (expect_new, n - expect_new),
                "import of {n} users answered {inserted} new, {updated} updated"
            );
            anyhow::Ok(took)
        })
    };
    let fresh = timed(n)?;
    let again = timed(0)?;
    drop(server);
    let rate = |took: Duration| n as f64 / took.as_secs_f64();
    let missed = |r: f64| {
        if r >= TARGET_PER_SEC {
            ""
        } else {
            "  (MISSED)"
        }
    };
    let fresh_rate = rate(fresh);
    table.row(
        format!("directory import: users per second ({n} new, one call)"),
        format!(">= {TARGET_PER_SEC:.0}/s"),
        format!(
            "{} ({:.2} s){}",
            per_sec(fresh_rate),
            fresh.as_secs_f64(),
            missed(fresh_rate)
        ),
    );
    table.row(
        format!("directory import: users per second ({n} updated, one call)"),
        "-",
        format!("{} ({:.2} s)", per_sec(rate(again)), again.as_secs_f64()),
    );
    Ok(())
}
