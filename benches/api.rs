//! `cargo bench --bench api`: issue 2's speed and memory targets, measured over loopback HTTP against the real
//! `sacon serve` (a child process, so its RSS is the server's alone) on a data set of 1,000,000 accounts in
//! 1,000 namespaces and 200,000 directory users, with a load-everything-then-sort server beside the list page.
//! Then issue 9's activity-log rows: the newest 50 entries of a subtree (and of one actor in it) among 1,000,000
//! audit entries, against a second server on its own data set. `cargo bench --bench api -- activity` runs only
//! those. Prints `metric | target | measured | result`; the medians come from the benchmark's own samples, and
//! the two account latencies also run through criterion so its reports exist. `SACON_BENCH_STORE=postgres` runs
//! the same rows with the server on PostgreSQL (a durable cluster of the benchmark's own, the data sets copied in
//! by `sacon migrate`'s code); every row names its store. `cargo bench --bench api -- creates` runs only the create
//! rows (and the RSS after them), for quick before/after runs of the writer.

mod support;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::Utc;
use criterion::{Criterion, SamplingMode, criterion_group};
use sacon::api::{Client, ClientOptions, Credentials, ListQuery, wire};
use sacon::store::{AccountQuery, SqliteStore, filter};
use sacon::token::SharedSecret;
use serde_json::json;
use support::activity;
use support::baseline::BaselineServer;
use support::dataset::{self, Rng};
use support::server::ServerProcess;
use support::stats::{Summary, Table, ms, summarize};
use support::store::{self as bench_store, BenchStore};
use tokio::runtime::Runtime;

/// The console's page of accounts and its order ("expiring last first").
const PAGE: u64 = 50;
const ORDER: &str = "-expires_at";
/// Pages per namespace the samples choose offsets from (each namespace holds 1,000 accounts).
const PAGES_PER_NAMESPACE: u64 = 20;
/// Samples per latency metric (after a warm-up).
const SAMPLES: usize = 400;
const WARM_UP: usize = 50;
/// The console's lookahead page.
const USER_PAGE: u64 = sacon::tui::screens::add_modal::SEARCH_LIMIT;
/// Three-letter lookahead queries: common trigrams (names, groups), rare ones, and one that matches nothing.
const USER_QUERIES: [&str; 12] = [
    "mar", "son", "eng", "ann", "lee", "ber", "gar", "kim", "fin", "xav", "zof", "qzx",
];
/// Concurrent creating clients: enough that the server's group commit shares each fsync among many writes.
const CREATE_CLIENTS: usize = 16;
const CREATE_DURATION: Duration = Duration::from_secs(5);

const TARGET_PAGE: Duration = Duration::from_millis(10);
const TARGET_USERS: Duration = Duration::from_millis(10);
const TARGET_CREATES_PER_SEC: f64 = 2_000.0;
/// Creates per second while every core is kept busy by a spinning thread.
const TARGET_BUSY_CREATES_PER_SEC: f64 = 200.0;
const TARGET_RSS: u64 = 150 * MB;
const TARGET_ACTIVITY: Duration = Duration::from_millis(10);
const MB: u64 = 1_000_000;

/// What the criterion targets (plain `fn(&mut Criterion)`) need.
struct Shared {
    rt: &'static Runtime,
    ours: Client,
    baseline: Client,
    pages: Vec<ListQuery>,
    next: AtomicUsize,
}

static SHARED: OnceLock<Shared> = OnceLock::new();

fn shared() -> &'static Shared {
    SHARED
        .get()
        .expect("the benchmark context is set before criterion runs")
}

fn client(url: &str, secret: &SharedSecret) -> anyhow::Result<Client> {
    Ok(Client::new(
        url,
        Credentials::SharedSecret(secret.clone()),
        ClientOptions::default(),
    )?)
}

/// Pages of random namespaces at random offsets, the same sequence for both servers.
fn page_queries(namespaces: &[String], n: usize) -> Vec<ListQuery> {
    let mut rng = Rng::new(7);
    (0..n)
        .map(|_| ListQuery {
            filter: Some(json!({"namespace_id": rng.pick(namespaces)})),
            order_by: ORDER.into(),
            offset: rng.below(PAGES_PER_NAMESPACE as usize) as u64 * PAGE,
            limit: Some(PAGE),
        })
        .collect()
}

async fn list_page(client: &Client, q: &ListQuery) -> anyhow::Result<Vec<String>> {
    let (items, total) = client.list_accounts(q).await?;
    let expected = PAGE.min(total.saturating_sub(q.offset));
    if items.len() as u64 != expected || total == 0 {
        bail!(
            "page at offset {} has {} accounts of {total}, expected {expected}",
            q.offset,
            items.len()
        );
    }
    Ok(items.into_iter().map(|a| a.id).collect())
}

async fn time_pages(client: &Client, queries: &[ListQuery]) -> anyhow::Result<Vec<Duration>> {
    for q in queries.iter().cycle().take(WARM_UP) {
        list_page(client, q).await?;
    }
    let mut samples = Vec::with_capacity(queries.len());
    for q in queries {
        let t = Instant::now();
        list_page(client, q).await?;
        samples.push(t.elapsed());
    }
    Ok(samples)
}

/// Samples of `USER_QUERIES` in turn, and per query: how many users match and its own latency summary.
async fn time_user_queries(
    client: &Client,
) -> anyhow::Result<(Vec<Duration>, Vec<(&'static str, u64, Summary)>)> {
    let mut totals = Vec::new();
    for q in USER_QUERIES {
        let (users, total) = client.query_users(q, 0, USER_PAGE).await?;
        if users.len() as u64 != USER_PAGE.min(total) {
            bail!("QueryUsers {q:?} returned {} of {total}", users.len());
        }
        totals.push(total);
    }
    let mut per_query = vec![Vec::new(); USER_QUERIES.len()];
    let mut samples = Vec::with_capacity(SAMPLES);
    for i in 0..SAMPLES {
        let q = USER_QUERIES[i % USER_QUERIES.len()];
        let t = Instant::now();
        client.query_users(q, 0, USER_PAGE).await?;
        let d = t.elapsed();
        samples.push(d);
        per_query[i % USER_QUERIES.len()].push(d);
    }
    let breakdown = USER_QUERIES
        .into_iter()
        .zip(totals)
        .zip(per_query)
        .map(|((q, total), s)| (q, total, summarize(s)))
        .collect();
    Ok((samples, breakdown))
}

/// `CREATE_CLIENTS` clients (each with its own connection pool) creating accounts back to back for
/// `CREATE_DURATION`. Returns (created, failed, elapsed, per-request latencies).
async fn sustained_creates(
    url: &str,
    secret: &SharedSecret,
    namespaces: &[String],
) -> anyhow::Result<(usize, usize, Duration, Vec<Duration>)> {
    let started = Instant::now();
    let deadline = started + CREATE_DURATION;
    let mut tasks = Vec::new();
    for c in 0..CREATE_CLIENTS {
        let client = client(url, secret)?;
        let namespaces = namespaces.to_vec();
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng::new(1000 + c as u64);
            let (mut ok, mut failed, mut latencies) = (0usize, 0usize, Vec::new());
            while Instant::now() < deadline {
                let expires = (!rng.chance(25))
                    .then(|| Utc::now() + chrono::Duration::days(1 + rng.below(365) as i64));
                let account = wire::ServiceAccount {
                    namespace_id: Some(rng.pick(&namespaces).clone()),
                    user_id: Some(format!("svc-bench-load-{c}-{}", ok + failed)),
                    description: Some("Created by the API benchmark".into()),
                    expires_at: expires.map(sacon::api::convert::chrono_to_timestamp),
                    ..Default::default()
                };
                let t = Instant::now();
                match client.create_account(account).await {
                    Ok(_) => {
                        ok += 1;
                        latencies.push(t.elapsed());
                    }
                    Err(e) => {
                        failed += 1;
                        if failed <= 3 {
                            eprintln!("create failed: {e}");
                        }
                    }
                }
            }
            (ok, failed, latencies)
        }));
    }
    let (mut ok, mut failed, mut latencies) = (0, 0, Vec::new());
    for t in tasks {
        let (o, f, l) = t.await.context("a create client panicked")?;
        ok += o;
        failed += f;
        latencies.extend(l);
    }
    Ok((ok, failed, started.elapsed(), latencies))
}

fn bench_list_page(c: &mut Criterion) {
    let s = shared();
    let mut group = c.benchmark_group("list_page_50_ns_-expires_at");
    // Flat sampling: the baseline's calls are slow enough that linear sampling overruns the time budget.
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function("sacon", |b| {
        b.to_async(s.rt).iter(|| async {
            let i = s.next.fetch_add(1, Ordering::Relaxed);
            let q = &s.pages[i % s.pages.len()];
            s.ours.list_accounts(q).await.expect("list page (sacon)")
        })
    });
    group.bench_function("load_all_baseline", |b| {
        b.to_async(s.rt).iter(|| async {
            let i = s.next.fetch_add(1, Ordering::Relaxed);
            let q = &s.pages[i % s.pages.len()];
            s.baseline
                .list_accounts(q)
                .await
                .expect("list page (baseline)")
        })
    });
    group.finish();
}

fn bench_query_users(c: &mut Criterion) {
    let s = shared();
    let mut group = c.benchmark_group("query_users_3_letters");
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function("sacon", |b| {
        b.to_async(s.rt).iter(|| async {
            let i = s.next.fetch_add(1, Ordering::Relaxed);
            let q = USER_QUERIES[i % USER_QUERIES.len()];
            s.ours
                .query_users(q, 0, USER_PAGE)
                .await
                .expect("QueryUsers")
        })
    });
    group.finish();
}

criterion_group! {
    name = latency;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench_list_page, bench_query_users
}

/// One thread per core spinning until dropped: a machine busy with other work.
struct Burners {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Burners {
    fn start() -> Burners {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let threads = (0..cores)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut x = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        x = std::hint::black_box(
                            x.wrapping_mul(6364136223846793005).wrapping_add(1),
                        );
                    }
                })
            })
            .collect();
        Burners { stop, threads }
    }
}

impl Drop for Burners {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / MB as f64)
}

fn within(s: &Summary, target: Duration) -> Option<bool> {
    Some(s.median <= target)
}

/// The one-minute load average, for the record: the create rate depends on what else the machine does.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

fn main() -> anyhow::Result<()> {
    // `cargo bench --bench api -- activity`: the filter criterion would get, read here to skip the rest.
    let only = |what: &str| std::env::args().skip(1).any(|a| a == what);
    let (only_activity, only_creates) = (only("activity"), only("creates"));
    let store = BenchStore::from_env()?;
    let mut table = Table::default();
    if !only_activity {
        accounts_rows(&mut table, store, only_creates)?;
    }
    if !only_creates {
        activity_rows(&mut table, store)?;
    }
    println!("\n{}\n", table.render());
    if !only_activity && !only_creates {
        Criterion::default().configure_from_args().final_summary();
    }
    Ok(())
}

/// The slowest query of a breakdown, as an informational row.
fn slowest_row(table: &mut Table, per_query: &[(String, u64, Vec<Duration>)]) {
    let slowest = per_query
        .iter()
        .map(|(label, total, samples)| (label, total, summarize(samples.clone())))
        .max_by_key(|(_, _, s)| s.median);
    if let Some((label, total, s)) = slowest {
        table.row(
            &format!("  slowest: {label} ({total} entries, median)"),
            "-",
            s.describe(),
            None,
        );
    }
}

fn activity_rows(table: &mut Table, store: BenchStore) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let data = rt.block_on(activity::ensure())?;
    let run_dir = data.fresh_run_dir()?;
    let secret = SharedSecret::load(&sacon::config::secret_path(&run_dir))?;
    let placed = bench_store::place(store, &run_dir, &rt)?;
    let server = ServerProcess::start(&run_dir, placed.database_url.as_deref())?;
    let st = store.name();
    eprintln!(
        "bench: sacon serve (pid {}) at {} on the activity set",
        server.pid(),
        server.url
    );
    let client = client(&server.url, &secret)?;
    let namespaces = rt.block_on(client.list_namespaces())?.len();
    let (plain, with_actor) = rt.block_on(activity::queries(&client))?;
    eprintln!("bench: activity, newest 50 of a subtree");
    let (samples, per_plain) = rt.block_on(activity::time(&client, &plain, WARM_UP, SAMPLES))?;
    let subtree = summarize(samples);
    eprintln!("bench: activity, newest 50 of a subtree by one actor");
    let (samples, per_actor) =
        rt.block_on(activity::time(&client, &with_actor, WARM_UP, SAMPLES))?;
    let by_actor = summarize(samples);
    eprintln!("bench: activity per query (entries: median, p95):");
    for (label, total, s) in per_plain.iter().chain(&per_actor) {
        let s = summarize(s.clone());
        eprintln!("  {label:<60} {total:>8}: {} {}", ms(s.median), ms(s.p95));
    }
    let (rss, hwm) = server.memory()?;
    drop(server);
    if let Err(e) = std::fs::remove_dir_all(&run_dir) {
        eprintln!("bench: cannot remove {}: {e}", run_dir.display());
    }
    table.row(
        &format!(
            "[{st}] ListActivityLogEntries newest 50 of a subtree (recurseNamespace), {} entries/{namespaces} namespaces (median)",
            activity::ENTRIES
        ),
        "<= 10 ms",
        subtree.describe(),
        within(&subtree, TARGET_ACTIVITY),
    );
    slowest_row(table, &per_plain);
    table.row(
        &format!("[{st}] ListActivityLogEntries newest 50 of a subtree, one actor (median)"),
        "<= 10 ms",
        by_actor.describe(),
        within(&by_actor, TARGET_ACTIVITY),
    );
    slowest_row(table, &per_actor);
    table.row(
        "  server RSS after the activity queries",
        "-",
        format!("{} now, peak {} (VmRSS/VmHWM)", mb(rss), mb(hwm)),
        None,
    );
    Ok(())
}

fn accounts_rows(table: &mut Table, store: BenchStore, only_creates: bool) -> anyhow::Result<()> {
    let st = store.name();
    // Kept for the whole run: criterion's targets reach it through `SHARED`.
    let rt: &'static Runtime = Box::leak(Box::new(
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?,
    ));
    let data = rt.block_on(dataset::ensure())?;
    let copy_started = Instant::now();
    let run_dir = data.fresh_run_dir()?;
    eprintln!(
        "bench: copied the data set to {} ({:.1} s)",
        run_dir.display(),
        copy_started.elapsed().as_secs_f64()
    );
    let secret = SharedSecret::load(&sacon::config::secret_path(&run_dir))?;
    let placed = bench_store::place(store, &run_dir, rt)?;
    let server = ServerProcess::start(&run_dir, placed.database_url.as_deref())?;
    eprintln!(
        "bench: sacon serve (pid {}) at {} on {st}",
        server.pid(),
        server.url
    );

    let ours = client(&server.url, &secret)?;
    let namespaces: Vec<String> = rt
        .block_on(ours.list_namespaces())?
        .into_iter()
        .filter(|n| !n.parent_id.is_empty())
        .map(|n| n.id)
        .collect();
    if namespaces.len() != dataset::NAMESPACES {
        bail!(
            "the data set has {} namespaces, expected {}",
            namespaces.len(),
            dataset::NAMESPACES
        );
    }
    if let Some(copied) = placed.copied_in {
        table.row(
            "[PostgreSQL] sacon migrate of the data set (1M accounts, 200,000 users, their log)",
            "-",
            format!("{:.1} s", copied.as_secs_f64()),
            None,
        );
    }
    if !only_creates {
        page_rows(table, store, rt, &run_dir, &secret, &ours, &namespaces)?;
    }
    eprintln!(
        "bench: sustained creates ({CREATE_CLIENTS} clients, {} s)",
        CREATE_DURATION.as_secs()
    );
    let (created, failed, elapsed, create_latencies) =
        rt.block_on(sustained_creates(&server.url, &secret, &namespaces))?;
    let rate = created as f64 / elapsed.as_secs_f64();
    let slowest = create_latencies.iter().max().copied().unwrap_or_default();
    let create_latency = summarize(create_latencies);
    eprintln!("bench: sustained creates with every core kept busy");
    let busy = {
        let _burners = Burners::start();
        rt.block_on(sustained_creates(&server.url, &secret, &namespaces))?
    };
    let busy_rate = busy.0 as f64 / busy.2.as_secs_f64();
    let (rss, hwm) = server.memory()?;

    drop(server);
    // The copy is a gigabyte; the next run makes a fresh one anyway.
    if let Err(e) = std::fs::remove_dir_all(&run_dir) {
        eprintln!("bench: cannot remove {}: {e}", run_dir.display());
    }

    table.row(
        &format!("[{st}] CreateServiceAccount sustained, {CREATE_CLIENTS} concurrent clients"),
        &format!(">= {TARGET_CREATES_PER_SEC:.0}/s"),
        format!(
            "{rate:.0}/s ({created} in {:.1} s, {failed} failed, p50 {}, p95 {}, max {}; load average {})",
            elapsed.as_secs_f64(),
            ms(create_latency.median),
            ms(create_latency.p95),
            ms(slowest),
            load_average()
        ),
        Some(rate >= TARGET_CREATES_PER_SEC && failed == 0),
    );
    table.row(
        &format!(
            "[{st}] CreateServiceAccount sustained, {CREATE_CLIENTS} clients, every core busy with a spinning thread"
        ),
        ">= 200/s",
        format!(
            "{busy_rate:.0}/s ({} in {:.1} s, {} failed)",
            busy.0,
            busy.2.as_secs_f64(),
            busy.1
        ),
        Some(busy_rate >= TARGET_BUSY_CREATES_PER_SEC && busy.1 == 0),
    );
    table.row(
        &format!("[{st}] server RSS with 1M accounts, after the load above"),
        "<= 150 MB",
        format!("{} now, peak {} (VmRSS/VmHWM)", mb(rss), mb(hwm)),
        Some(hwm <= TARGET_RSS),
    );
    Ok(())
}

/// The page and lookahead rows: sacon against the load-all baseline, then criterion's latency reports.
fn page_rows(
    table: &mut Table,
    store: BenchStore,
    rt: &'static Runtime,
    run_dir: &std::path::Path,
    secret: &SharedSecret,
    ours: &Client,
    namespaces: &[String],
) -> anyhow::Result<()> {
    let st = store.name();
    // The baseline: a load-everything server in this process, over the same database file.
    let baseline_server = rt.block_on(BaselineServer::start(
        &sacon::config::database_path(run_dir),
        secret.clone(),
    ))?;

    let baseline = client(&baseline_server.url, secret)?;
    let pages = page_queries(namespaces, SAMPLES);

    // Both servers must return the same pages, or the comparison means nothing.
    rt.block_on(async {
        for q in pages.iter().take(25) {
            if list_page(ours, q).await? != list_page(&baseline, q).await? {
                bail!("sacon and the baseline disagree on {q:?}");
            }
        }
        anyhow::Ok(())
    })?;
    let plan = rt.block_on(async {
        if store == BenchStore::Postgres {
            anyhow::bail!("the plans shown are SQLite's");
        }
        let store = SqliteStore::open(&sacon::config::database_path(run_dir)).await?;
        let q = AccountQuery {
            filter: Some(
                filter::parse_filter(&json!({"namespace_id": namespaces[0]}))
                    .map_err(anyhow::Error::msg)?,
            ),
            order: filter::parse_order_by(ORDER).map_err(anyhow::Error::msg)?,
            offset: 0,
            limit: PAGE,
        };
        let mut plan = store.explain_list_accounts(&q).await?;
        plan.extend(store.explain_count_accounts(&q).await?);
        plan.extend(store.explain_query_users("xav").await?);
        store.close().await;
        anyhow::Ok(plan)
    });
    match plan {
        Ok(lines) => eprintln!("bench: query plans:\n  {}", lines.join("\n  ")),
        Err(e) => eprintln!("bench: no query plan: {e}"),
    }

    eprintln!("bench: list pages (sacon)");
    let ours_pages = summarize(rt.block_on(time_pages(ours, &pages))?);
    eprintln!("bench: list pages (load-all baseline)");
    let base_pages = summarize(rt.block_on(time_pages(&baseline, &pages))?);
    eprintln!("bench: QueryUsers");
    let (user_samples, breakdown) = rt.block_on(time_user_queries(ours))?;
    let users = summarize(user_samples);
    eprintln!("bench: QueryUsers per query (matches: median, p95):");
    for (q, total, s) in &breakdown {
        eprintln!("  {q:?} {total:>6}: {} {}", ms(s.median), ms(s.p95));
    }

    let _ = SHARED.set(Shared {
        rt,
        ours: ours.clone(),
        baseline,
        pages,
        next: AtomicUsize::new(0),
    });
    latency();
    rt.block_on(baseline_server.shutdown());

    table.row(
        &format!("[{st}] ListServiceAccounts page of 50, namespace filter, -expires_at, 1M accounts/1,000 namespaces (median)"),
        "<= 10 ms",
        ours_pages.describe(),
        within(&ours_pages, TARGET_PAGE),
    );
    table.row(
        "  same page, load-all-then-sort baseline (median)",
        "-",
        base_pages.describe(),
        None,
    );
    let ratio = ours_pages.median.as_secs_f64() / base_pages.median.as_secs_f64();
    table.row(
        "  ratio sacon/baseline (median)",
        "< 1",
        format!("{ratio:.3} ({:.1}x faster)", 1.0 / ratio),
        Some(ratio < 1.0),
    );
    table.row(
        &format!("[{st}] QueryUsers 3-letter query, 200,000 users, page of 20 (median)"),
        "<= 10 ms",
        users.describe(),
        within(&users, TARGET_USERS),
    );
    if let Some((q, total, s)) = breakdown.iter().max_by_key(|(_, _, s)| s.median) {
        table.row(
            &format!("  slowest query {q:?} ({total} matches, median)"),
            "-",
            s.describe(),
            None,
        );
    }
    Ok(())
}
