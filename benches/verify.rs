//! `cargo bench --bench verify`: issue 4's `/verify` target. The real `sacon serve` runs as a child process;
//! a closed-loop client with keep-alive connections hammers `GET /verify` with valid tokens of several accounts
//! in all three header forms (a quarter of them scoped with `?namespace=`, by id or by path), then the same
//! client runs against two ceilings: nginx `return 200;` and an axum server whose handler does nothing (this
//! binary re-run as a child). The same load runs once more while 1,000 idle and 300 slowloris connections are
//! held open, and once with a target (`X-Original-URL`) on every request against 1,000 routes and 1,000 policies,
//! as a ratio to the plain `/verify` of the same run (issue 11); `/verify` as a share of the no-op server is issue
//! 12's target. Prints `metric | target | measured`, then runs criterion on single requests.
//!
//! Knobs (environment): `SACON_BENCH_CONNECTIONS` (default 32), `SACON_BENCH_CLIENT_THREADS` (default 1),
//! `SACON_BENCH_SECONDS` (measured window, default 5), `SACON_BENCH_MIX` (`mixed` by default; `unscoped` or
//! `scoped` load only that part of the mix, to price the namespace check), `SACON_BENCH_BIN` (another build of
//! `sacon` to serve, e.g. an older commit's, for before/after numbers), `SACON_BENCH_ONLY_TABLE=1` (skip
//! criterion), `SACON_BENCH_ONLY=import` (only the directory import rows, see `verify_support/import.rs`),
//! `SACON_BENCH_ONLY=ceiling` (only plain `/verify` and the axum no-op ceiling, with their ratio),
//! `SACON_BENCH_STORE=postgres` (instead of the rows above: `/verify` on two replicas sharing one PostgreSQL
//! database beside one replica on SQLite, each as a share of nginx `return 200;` in the same run).

mod verify_support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use criterion::Criterion;
use hyper::StatusCode;
use hyper::header::{AUTHORIZATION, HeaderName, HeaderValue};
use sacon::api::{Client, ClientOptions, Credentials, wire};
use sacon::token::SharedSecret;
use verify_support::attack;
use verify_support::import;
use verify_support::load::{self, LoadConfig, LoadResult, Req};
use verify_support::procs::{self, Server};
use verify_support::table::{Table, ms, per_sec, percentile};
use verify_support::targets::{self, Places};

const TARGET_PER_SEC: f64 = 20_000.0;
const TARGET_P99: Duration = Duration::from_millis(5);
/// `/verify` p99 while abusive connections are open.
const TARGET_P99_UNDER_ATTACK: Duration = Duration::from_millis(10);
/// `/verify` with a target against 1,000 routes and policies, as a share of plain `/verify`'s requests per second.
const TARGET_ACCESS_RATIO: f64 = 0.8;
/// `/verify` as a share of the axum no-op server measured in the same run (issue 12).
const TARGET_NOOP_RATIO: f64 = 0.6;
const NOOP_NAME: &str = "axum no-op (child process)";
const IDLE_CONNECTIONS: usize = 1000;
const SLOWLORIS_CONNECTIONS: usize = 300;
/// Accounts the load is spread over.
const ACCOUNTS: usize = 12;
/// Three header forms, four requests each.
const REQUESTS_PER_ACCOUNT: usize = 12;
const WARM_UP: Duration = Duration::from_secs(1);

fn env_num(name: &str, default: u64) -> anyhow::Result<u64> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .with_context(|| format!("{name}={v:?} is not a number")),
        Err(_) => Ok(default),
    }
}

/// Namespaces of the benchmark: Global > Engineering > Platform, and Global > Finance.
struct Tree {
    global: String,
    eng: String,
    platform: String,
    finance: String,
}

async fn build_tree(admin: &Client) -> anyhow::Result<Tree> {
    let namespaces = admin.list_namespaces().await?;
    let global = namespaces
        .iter()
        .find(|n| n.parent_id.is_empty())
        .context("the server has no root namespace")?
        .id
        .clone();
    let eng = admin.set_namespace("", &global, "Engineering").await?.id;
    let platform = admin.set_namespace("", &eng, "Platform").await?.id;
    let finance = admin.set_namespace("", &global, "Finance").await?.id;
    Ok(Tree {
        global,
        eng,
        platform,
        finance,
    })
}

/// Creates the accounts and the request mix: every account in each header form, unscoped three times out of
/// four, else scoped to its own namespace (by id) or a descendant (by path). Every request should get a 200.
async fn build_mix(admin: &Client, tree: &Tree) -> anyhow::Result<Vec<Req>> {
    let homes = [
        (&tree.global, "Global/Engineering/Platform"),
        (&tree.eng, "Global/Engineering/Platform"),
        (&tree.platform, "Global/Engineering/Platform"),
        (&tree.finance, "Global/Finance"),
    ];
    let xpa = HeaderName::from_static("x-pomerium-authorization");
    let mut mix = Vec::new();
    for i in 0..ACCOUNTS {
        let (home, below) = homes[i % homes.len()];
        let (account, jwt) = admin
            .create_account(wire::ServiceAccount {
                user_id: Some(format!("bench-bot-{i}")),
                namespace_id: Some(home.clone()),
                description: Some(format!("verify benchmark account {i}")),
                ..Default::default()
            })
            .await?;
        let forms = [
            (xpa.clone(), HeaderValue::from_str(&jwt)?),
            (
                AUTHORIZATION,
                HeaderValue::from_str(&format!("Pomerium {}", &*jwt))?,
            ),
            (
                AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer Pomerium-{}", &*jwt))?,
            ),
        ];
        for (j, header) in forms.into_iter().enumerate() {
            let base = |path: &str| Req {
                path: path.to_string(),
                headers: vec![header.clone()],
            };
            mix.push(base("/verify"));
            mix.push(base("/verify"));
            mix.push(base("/verify"));
            mix.push(if j % 2 == 0 {
                base(&format!("/verify?namespace={}", account.namespace_id))
            } else {
                base(&format!("/verify?namespace={below}"))
            });
        }
    }
    Ok(mix)
}

/// Each request of the mix once, checking the answer is the one the load expects (so the benchmark measures
/// acceptances, not fast refusals), and that a token outside its namespace is still refused.
async fn check_mix(server: &Server, mix: &[Req], tree: &Tree) -> anyhow::Result<()> {
    let mut sender = load::connect(server.addr).await?;
    for req in mix {
        let (status, headers) = load::send(&mut sender, server.addr, req).await?;
        ensure!(status == StatusCode::OK, "{} answered {status}", req.path);
        ensure!(
            headers.contains_key("x-sacon-account"),
            "{} answered without X-Sacon-Account",
            req.path
        );
    }
    // Account 2 lives in Platform, which is not Finance or one of its ancestors.
    let platform_account = &mix[2 * REQUESTS_PER_ACCOUNT];
    let outside = Req {
        path: format!("/verify?namespace={}", tree.finance),
        headers: platform_account.headers.clone(),
    };
    let (status, _) = load::send(&mut sender, server.addr, &outside).await?;
    ensure!(
        status == StatusCode::FORBIDDEN,
        "a Platform token scoped to Finance answered {status}, not 403"
    );
    Ok(())
}

struct Run {
    name: &'static str,
    result: LoadResult,
}

fn measure(
    name: &'static str,
    server: &Server,
    mix: &[Req],
    config: LoadConfig,
) -> anyhow::Result<Run> {
    let probe = || [server.cpu_time(), procs::own_cpu_time()];
    let result = load::run(server.addr, mix, config, &probe)
        .with_context(|| format!("load against {name}"))?;
    let unexpected = result.unexpected(StatusCode::OK);
    if unexpected > 0 {
        bail!(
            "{name}: {unexpected} answers were not 200: {:?}",
            result.statuses
        );
    }
    let run = Run { name, result };
    let r = &run.result;
    println!(
        "{name}: {} requests in {:?}, {}, p50 {}, p99 {}, p99.9 {}, max {}; CPU per request: server {:.1} us, \
         client {:.1} us; server + client used {:.0}% of the machine; load average {}",
        r.latencies.len(),
        r.window,
        per_sec(r.per_sec()),
        ms(percentile(&r.latencies, 50.0)),
        ms(percentile(&r.latencies, 99.0)),
        ms(percentile(&r.latencies, 99.9)),
        ms(percentile(&r.latencies, 100.0)),
        cpu_per_request(&run, 0),
        cpu_per_request(&run, 1),
        machine_share(&run) * 100.0,
        load_average(),
    );
    Ok(run)
}

/// The share of all cores that server and client together used during the window: well under 1 means other
/// processes had the rest (the requests per second then say more about the machine than about the server).
fn machine_share(run: &Run) -> f64 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let used = (run.result.cpu[0] + run.result.cpu[1]).as_secs_f64();
    used / (run.result.window.as_secs_f64() * cores)
}

/// Requests per second all cores would sustain at the measured CPU cost per request (server plus client).
fn cpu_bound_rate(run: &Run) -> f64 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    cores * 1e6 / (cpu_per_request(run, 0) + cpu_per_request(run, 1)).max(f64::EPSILON)
}

/// The one-minute load average, for the record.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// CPU microseconds per request of one side (0 server, 1 client).
fn cpu_per_request(run: &Run, side: usize) -> f64 {
    run.result.cpu[side].as_secs_f64() * 1e6 / run.result.latencies.len().max(1) as f64
}

/// `SACON_BENCH_ONLY=ceiling`: only plain `/verify` and the axum no-op server.
fn ceiling_only() -> bool {
    std::env::var("SACON_BENCH_ONLY").is_ok_and(|v| v == "ceiling")
}

fn main() -> anyhow::Result<()> {
    if std::env::var_os(procs::NOOP_ENV).is_some() {
        return procs::serve_noop();
    }
    let binary = std::env::var_os("SACON_BENCH_BIN").map(std::path::PathBuf::from);
    if import::only() {
        let mut table = Table::default();
        import::add_rows(&mut table, binary.as_deref())?;
        println!("\n{}\n", table.render());
        return Ok(());
    }
    let config = LoadConfig {
        connections: env_num("SACON_BENCH_CONNECTIONS", 32)? as usize,
        client_threads: env_num("SACON_BENCH_CLIENT_THREADS", 1)? as usize,
        warm_up: WARM_UP,
        duration: Duration::from_secs(env_num("SACON_BENCH_SECONDS", 5)?),
    };
    ensure!(
        config.connections > 0,
        "SACON_BENCH_CONNECTIONS must be > 0"
    );
    match std::env::var("SACON_BENCH_STORE").as_deref() {
        Ok("sqlite") | Err(_) => {}
        Ok("postgres") => return replicas_main(config, binary.as_deref()),
        Ok(other) => bail!("SACON_BENCH_STORE={other:?}: use sqlite or postgres"),
    }

    let dir = tempfile::tempdir()?;
    let sacon = procs::start_sacon(dir.path(), binary.as_deref())?;
    let secret = SharedSecret::load(&sacon::config::secret_path(dir.path()))?;
    let admin = Client::new(
        &sacon.url(),
        Credentials::SharedSecret(secret),
        ClientOptions::default(),
    )?;
    let setup = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (mix, tree) = setup.block_on(async {
        let tree = build_tree(&admin).await?;
        let mix = build_mix(&admin, &tree).await?;
        check_mix(&sacon, &mix, &tree).await?;
        anyhow::Ok((mix, tree))
    })?;
    let scoped = |r: &&Req| r.path.contains('?');
    let load_mix: Vec<Req> = match std::env::var("SACON_BENCH_MIX").as_deref() {
        Ok("mixed") | Err(_) => mix.clone(),
        Ok("unscoped") => mix.iter().filter(|r| !scoped(r)).cloned().collect(),
        Ok("scoped") => mix.iter().filter(scoped).cloned().collect(),
        Ok(other) => bail!("SACON_BENCH_MIX={other:?}: use mixed, unscoped or scoped"),
    };
    let plain = vec![Req {
        path: "/".into(),
        headers: Vec::new(),
    }];

    println!(
        "load: {} keep-alive connections on a {}-thread client runtime, {:?} warm-up, {:?} measured; \
         {} cores; mix of {} requests over {ACCOUNTS} accounts",
        config.connections,
        config.client_threads,
        config.warm_up,
        config.duration,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_mix.len(),
    );
    let verify = measure("sacon /verify", &sacon, &load_mix, config)?;
    if ceiling_only() {
        // Only `/verify` against the no-op ceiling, for quick before/after runs.
        let noop_server = procs::start_noop()?;
        let noop = measure(NOOP_NAME, &noop_server, &plain, config)?;
        let mut table = Table::default();
        table.row(
            format!("/verify requests per second ({} conns)", config.connections),
            format!(">= {TARGET_PER_SEC:.0}/s"),
            per_sec(verify.result.per_sec()),
        );
        table.row(
            "/verify CPU per request: server, client",
            "-",
            format!(
                "{:.1} us, {:.1} us",
                cpu_per_request(&verify, 0),
                cpu_per_request(&verify, 1)
            ),
        );
        ceiling_rows(&mut table, &verify, &[&noop]);
        println!("\n{}\n", table.render());
        return Ok(());
    }
    // The same load with a target on every request, decided by 1,000 routes and 1,000 policies.
    let homes = [&tree.global, &tree.eng, &tree.platform, &tree.finance];
    let places = Places {
        global: &tree.global,
        platform: &tree.platform,
        finance: &tree.finance,
        homes: (0..ACCOUNTS)
            .map(|i| homes[i % homes.len()].as_str())
            .collect(),
        requests_per_account: REQUESTS_PER_ACCOUNT,
    };
    let routes = setup.block_on(targets::build(&admin, &places, ACCOUNTS))?;
    let target_mix = targets::with_targets(&mix, &places, &routes)?;
    setup.block_on(async {
        let mut sender = load::connect(sacon.addr).await?;
        for req in &target_mix {
            let (status, headers) = load::send(&mut sender, sacon.addr, req).await?;
            ensure!(
                status == StatusCode::OK,
                "a target request answered {status}"
            );
            ensure!(
                headers.contains_key("x-sacon-policy"),
                "a target request answered without X-Sacon-Policy"
            );
        }
        anyhow::Ok(())
    })?;
    let targeted_mix: Vec<Req> = match std::env::var("SACON_BENCH_MIX").as_deref() {
        Ok("unscoped") => target_mix.iter().filter(|r| !scoped(r)).cloned().collect(),
        Ok("scoped") => target_mix.iter().filter(scoped).cloned().collect(),
        _ => target_mix.clone(),
    };
    let targeted = measure(
        "sacon /verify with a target, 1,000 routes and policies",
        &sacon,
        &targeted_mix,
        config,
    )?;
    // The bench holds well over a thousand sockets itself.
    rlimit::increase_nofile_limit(u64::MAX)?;
    let attack = attack::start(sacon.addr, IDLE_CONNECTIONS, SLOWLORIS_CONNECTIONS)?;
    let under_attack = {
        let probe = || [sacon.cpu_time(), procs::own_cpu_time()];
        load::run(sacon.addr, &load_mix, config, &probe)
    };
    let lorises_closed = attack
        .closed_by_server
        .load(std::sync::atomic::Ordering::Relaxed);
    drop(attack);
    let noop_server = procs::start_noop()?;
    let noop = measure(NOOP_NAME, &noop_server, &plain, config)?;
    let nginx_server = procs::start_nginx()?;
    let nginx = match &nginx_server {
        Some(server) => Some(measure("nginx return 200", server, &plain, config)?),
        None => {
            println!("nginx is not installed: the ceiling is the axum no-op server alone");
            None
        }
    };

    let mut table = Table::default();
    let v = &verify.result;
    let rate = v.per_sec();
    let p99 = percentile(&v.latencies, 99.0);
    let ok = |met: bool| if met { "" } else { "  (MISSED)" };
    table.row(
        format!("/verify requests per second ({} conns)", config.connections),
        format!(">= {TARGET_PER_SEC:.0}/s"),
        format!("{}{}", per_sec(rate), ok(rate >= TARGET_PER_SEC)),
    );
    table.row(
        "/verify p99 latency",
        format!("<= {}", ms(TARGET_P99)),
        format!("{}{}", ms(p99), ok(p99 <= TARGET_P99)),
    );
    let access_ratio = targeted.result.per_sec() / rate;
    table.row(
        format!(
            "/verify with a target, {} routes + {} policies: requests/s as a share of plain /verify",
            targets::ROUTES,
            targets::POLICIES
        ),
        format!(">= {TARGET_ACCESS_RATIO:.2}"),
        format!(
            "{access_ratio:.2}{}",
            ok(access_ratio >= TARGET_ACCESS_RATIO)
        ),
    );
    table.row(
        "/verify with a target: requests per second, p99",
        "-",
        format!(
            "{}, {}",
            per_sec(targeted.result.per_sec()),
            ms(percentile(&targeted.result.latencies, 99.0))
        ),
    );
    table.row(
        "/verify with a target: CPU per request: server, client",
        "-",
        format!(
            "{:.1} us, {:.1} us",
            cpu_per_request(&targeted, 0),
            cpu_per_request(&targeted, 1)
        ),
    );
    match &under_attack {
        Ok(r) => {
            let p99 = percentile(&r.latencies, 99.0);
            table.row(
                format!(
                    "/verify p99, {IDLE_CONNECTIONS} idle + {SLOWLORIS_CONNECTIONS} slowloris conns open"
                ),
                format!("<= {}", ms(TARGET_P99_UNDER_ATTACK)),
                format!("{}{}", ms(p99), ok(p99 <= TARGET_P99_UNDER_ATTACK)),
            );
            let errors = r.unexpected(StatusCode::OK);
            table.row(
                "/verify errors with them open",
                "0",
                format!("{errors}{}", ok(errors == 0)),
            );
            table.row(
                "/verify requests per second with them open",
                "-",
                per_sec(r.per_sec()),
            );
        }
        Err(e) => table.row(
            "/verify with idle + slowloris conns open",
            "0 errors",
            format!("failed: {e:#}  (MISSED)"),
        ),
    }
    table.row(
        "slowloris conns the server closed (header timeout 10 s; 6 s window)",
        "-",
        lorises_closed.to_string(),
    );
    table.row(
        "/verify p50 latency",
        "-",
        ms(percentile(&v.latencies, 50.0)),
    );
    table.row(
        "/verify CPU per request: server, client",
        "-",
        format!(
            "{:.1} us, {:.1} us",
            cpu_per_request(&verify, 0),
            cpu_per_request(&verify, 1)
        ),
    );
    table.row(
        "/verify share of the machine's CPU it got",
        "-",
        format!("{:.0}%", machine_share(&verify) * 100.0),
    );
    table.row(
        "/verify CPU-bound rate (cores / CPU per request)",
        "-",
        per_sec(cpu_bound_rate(&verify)),
    );
    let ceilings: Vec<&Run> = nginx.iter().chain([&noop]).collect();
    ceiling_rows(&mut table, &verify, &ceilings);
    import::add_rows(&mut table, binary.as_deref())?;
    println!("\n{}\n", table.render());

    if std::env::var_os("SACON_BENCH_ONLY_TABLE").is_none() {
        let scoped = mix
            .iter()
            .find(|r| r.path.contains("namespace=Global/"))
            .context("the mix has a request scoped by path")?;
        let mut targets = vec![
            ("verify", sacon.addr, mix[0].clone()),
            ("verify_scoped_by_path", sacon.addr, scoped.clone()),
            ("axum_noop", noop_server.addr, plain[0].clone()),
        ];
        if let Some(server) = &nginx_server {
            targets.push(("nginx_return_200", server.addr, plain[0].clone()));
        }
        run_criterion(&targets)?;
    }
    drop(sacon);
    Ok(())
}

/// Each ceiling's own rows, then `/verify` as a share of each: its requests per second, and the rates the CPU
/// cost per request of each (server plus client) would sustain on all cores.
fn ceiling_rows(table: &mut Table, verify: &Run, ceilings: &[&Run]) {
    let rate = verify.result.per_sec();
    for c in ceilings {
        let r = &c.result;
        table.row(
            format!("ceiling: {} requests per second", c.name),
            "-",
            per_sec(r.per_sec()),
        );
        table.row(
            format!("ceiling: {} p99 latency", c.name),
            "-",
            ms(percentile(&r.latencies, 99.0)),
        );
        table.row(
            format!("ceiling: {} CPU per request: server, client", c.name),
            "-",
            format!(
                "{:.1} us, {:.1} us",
                cpu_per_request(c, 0),
                cpu_per_request(c, 1)
            ),
        );
        table.row(
            format!("ceiling: {} share of the machine's CPU it got", c.name),
            "-",
            format!("{:.0}%", machine_share(c) * 100.0),
        );
    }
    for c in ceilings {
        let target = if c.name == NOOP_NAME {
            format!(">= {TARGET_NOOP_RATIO:.2}")
        } else {
            "-".into()
        };
        let met = |ratio: f64| {
            if c.name == NOOP_NAME && ratio < TARGET_NOOP_RATIO {
                "  (MISSED)"
            } else {
                ""
            }
        };
        let by_rate = rate / c.result.per_sec();
        table.row(
            format!("ratio /verify / {}: requests per second", c.name),
            target.clone(),
            format!("{by_rate:.2}{}", met(by_rate)),
        );
        let by_cpu = cpu_bound_rate(verify) / cpu_bound_rate(c);
        table.row(
            format!("ratio /verify / {}: CPU-bound rates", c.name),
            target,
            format!("{by_cpu:.2}{}", met(by_cpu)),
        );
    }
}

/// One request at a time over one keep-alive connection per target: the round trip of a lone request, whose
/// time on an idle machine is mostly waking the server's thread and the client's.
fn run_criterion(targets: &[(&str, SocketAddr, Req)]) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut c = Criterion::default()
        .configure_from_args()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    let mut group = c.benchmark_group("one_request");
    for (name, addr, req) in targets {
        let mut sender = rt.block_on(load::connect(*addr))?;
        group.bench_function(*name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        let (status, _) = load::send(&mut sender, *addr, req)
                            .await
                            .expect("the server answers");
                        assert_eq!(status, StatusCode::OK);
                    }
                    start.elapsed()
                })
            })
        });
    }
    group.finish();
    c.final_summary();
    Ok(())
}

/// `SACON_BENCH_STORE=postgres`: the same load against one `sacon serve` on SQLite, then spread over two replicas
/// sharing one PostgreSQL database (a cluster of the benchmark's own, PostgreSQL's durable defaults), then nginx
/// `return 200;`, each as a share of nginx in this run. The replicas' CPU includes PostgreSQL's.
fn replicas_main(config: LoadConfig, binary: Option<&std::path::Path>) -> anyhow::Result<()> {
    use verify_support::pg::Cluster;
    let setup = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let prepare = |server: &Server, secret: SharedSecret| -> anyhow::Result<Vec<Req>> {
        let admin = Client::new(
            &server.url(),
            Credentials::SharedSecret(secret),
            ClientOptions::default(),
        )?;
        setup.block_on(async {
            let tree = build_tree(&admin).await?;
            let mix = build_mix(&admin, &tree).await?;
            check_mix(server, &mix, &tree).await?;
            anyhow::Ok(mix)
        })
    };

    let dir = tempfile::tempdir()?;
    let single = procs::start_sacon(dir.path(), binary)?;
    let mix = prepare(
        &single,
        SharedSecret::load(&sacon::config::secret_path(dir.path()))?,
    )?;
    let sqlite = measure("sacon /verify, 1 replica on SQLite", &single, &mix, config)?;
    drop(single);

    let cluster = Cluster::durable().map_err(anyhow::Error::msg)?;
    let url = setup.block_on(cluster.fresh_database());
    let secrets = tempfile::tempdir()?;
    let secret_file = secrets.path().join("shared_secret");
    sacon::token::write_private_file(
        &secret_file,
        SharedSecret::generate().to_base64().as_bytes(),
    )?;
    let (dir_a, dir_b) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let a = procs::start_replica(&dir_a.path().join("data"), binary, &url, &secret_file)?;
    let b = procs::start_replica(&dir_b.path().join("data"), binary, &url, &secret_file)?;
    let mix = prepare(&a, SharedSecret::load(&secret_file)?)?;
    setup.block_on(check_mix(
        &b,
        &mix,
        &build_tree_ids(&a, &secret_file, &setup)?,
    ))?;
    let probe = || {
        [
            a.cpu_time() + b.cpu_time() + procs::process_tree_cpu(cluster.pid()),
            procs::own_cpu_time(),
        ]
    };
    let result = load::run_over(&[a.addr, b.addr], &mix, config, &probe)
        .context("load against the replicas")?;
    let unexpected = result.unexpected(StatusCode::OK);
    ensure!(
        unexpected == 0,
        "replicas: {unexpected} answers were not 200: {:?}",
        result.statuses
    );
    let replicas = Run {
        name: "sacon /verify, 2 replicas on PostgreSQL",
        result,
    };
    println!(
        "{}: {}, p99 {}; CPU per request: servers and PostgreSQL {:.1} us, client {:.1} us; load average {}",
        replicas.name,
        per_sec(replicas.result.per_sec()),
        ms(percentile(&replicas.result.latencies, 99.0)),
        cpu_per_request(&replicas, 0),
        cpu_per_request(&replicas, 1),
        load_average()
    );
    drop((a, b));

    let plain = vec![Req {
        path: "/".into(),
        headers: Vec::new(),
    }];
    let nginx_server =
        procs::start_nginx()?.context("the replica rows need nginx as their ceiling")?;
    let nginx = measure("nginx return 200", &nginx_server, &plain, config)?;
    let ceiling = nginx.result.per_sec();
    let mut table = Table::default();
    for run in [&sqlite, &replicas] {
        table.row(
            format!("{}: requests per second, p99", run.name),
            "-",
            format!(
                "{}, {}",
                per_sec(run.result.per_sec()),
                ms(percentile(&run.result.latencies, 99.0))
            ),
        );
        table.row(
            format!(
                "  as a share of nginx return 200 ({}/s, same run)",
                ceiling.round()
            ),
            "-",
            format!("{:.2}", run.result.per_sec() / ceiling),
        );
        table.row(
            "  CPU per request: server side, client",
            "-",
            format!(
                "{:.1} us, {:.1} us",
                cpu_per_request(run, 0),
                cpu_per_request(run, 1)
            ),
        );
    }
    println!("\n{}\n", table.render());
    Ok(())
}

/// The benchmark's namespace tree as the replica at `server` lists it (made through the other replica).
fn build_tree_ids(
    server: &Server,
    secret_file: &std::path::Path,
    rt: &tokio::runtime::Runtime,
) -> anyhow::Result<Tree> {
    let admin = Client::new(
        &server.url(),
        Credentials::SharedSecret(SharedSecret::load(secret_file)?),
        ClientOptions::default(),
    )?;
    let all = rt.block_on(admin.list_namespaces())?;
    let id = |name: &str| -> anyhow::Result<String> {
        Ok(all
            .iter()
            .find(|n| n.name == name)
            .with_context(|| format!("no namespace {name}"))?
            .id
            .clone())
    };
    Ok(Tree {
        global: all
            .iter()
            .find(|n| n.parent_id.is_empty())
            .context("no root namespace")?
            .id
            .clone(),
        eng: id("Engineering")?,
        platform: id("Platform")?,
        finance: id("Finance")?,
    })
}
