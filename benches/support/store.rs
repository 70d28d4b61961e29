//! Which store a benchmark's `sacon serve` runs on (`SACON_BENCH_STORE=sqlite|postgres`, SQLite by default). For
//! PostgreSQL: a cluster of the benchmark's own with PostgreSQL's durable defaults, and the SQLite data set copied
//! into a fresh database of it by `sacon migrate`'s own code (timed), so both stores serve the same rows.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

#[allow(dead_code)]
#[path = "../../tests/it/support/pg.rs"]
mod pg;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenchStore {
    Sqlite,
    Postgres,
}

impl BenchStore {
    pub fn from_env() -> anyhow::Result<BenchStore> {
        match std::env::var("SACON_BENCH_STORE").as_deref() {
            Ok("sqlite") | Err(_) => Ok(BenchStore::Sqlite),
            Ok("postgres") => Ok(BenchStore::Postgres),
            Ok(other) => bail!("SACON_BENCH_STORE={other:?}: use sqlite or postgres"),
        }
    }

    /// The name the result rows carry.
    pub fn name(self) -> &'static str {
        match self {
            BenchStore::Sqlite => "SQLite",
            BenchStore::Postgres => "PostgreSQL",
        }
    }
}

/// Where a run's server keeps its data: the SQLite file of its data directory, or a PostgreSQL database (with the
/// cluster, stopped when this is dropped).
pub struct Placed {
    pub database_url: Option<String>,
    /// How long copying the data set into PostgreSQL took.
    pub copied_in: Option<Duration>,
    _cluster: Option<pg::Cluster>,
}

/// Puts the data set in `run_dir` where `store` keeps it.
pub fn place(
    store: BenchStore,
    run_dir: &Path,
    rt: &tokio::runtime::Runtime,
) -> anyhow::Result<Placed> {
    if store == BenchStore::Sqlite {
        return Ok(Placed {
            database_url: None,
            copied_in: None,
            _cluster: None,
        });
    }
    let cluster = pg::Cluster::durable().map_err(anyhow::Error::msg)?;
    let url = rt.block_on(cluster.fresh_database());
    let started = Instant::now();
    let counts = rt
        .block_on(async {
            let source =
                sacon::store::SqliteStore::open(&sacon::config::database_path(run_dir)).await?;
            let dump = source.dump().await;
            source.close().await;
            let secret = sacon::token::SharedSecret::load(&sacon::config::secret_path(run_dir))?;
            let counts =
                sacon::store::postgres::copy::load_dump(&url, &dump?, &secret.fingerprint())
                    .await?;
            anyhow::Ok(counts)
        })
        .context("copying the data set into PostgreSQL")?;
    let copied_in = started.elapsed();
    eprintln!(
        "bench: copied {counts} into PostgreSQL in {:.1} s",
        copied_in.as_secs_f64()
    );
    // A server that has run a while has had its tables vacuumed and its pages written out; right after the
    // copy, autovacuum would do the one (a VACUUM ANALYZE of every copied table) and the checkpointer the other
    // (a gigabyte of dirty pages, synced at the checkpoint's end) while the benchmark measures. Done here,
    // untimed.
    let settled = Instant::now();
    rt.block_on(async {
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&url).await?;
        sqlx::raw_sql("VACUUM (ANALYZE)").execute(&mut conn).await?;
        sqlx::raw_sql("CHECKPOINT").execute(&mut conn).await
    })
    .context("vacuuming the copied data set")?;
    eprintln!(
        "bench: vacuumed and checkpointed the copy in {:.1} s",
        settled.elapsed().as_secs_f64()
    );
    Ok(Placed {
        database_url: Some(url),
        copied_in: Some(copied_in),
        _cluster: Some(cluster),
    })
}
