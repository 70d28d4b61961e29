//! A throw-away PostgreSQL cluster for the tests and benchmarks that run against PostgreSQL: `initdb` in a
//! temporary directory (as the `postgres` OS user when run as root, since PostgreSQL refuses root), one `postgres`
//! on a free port of 127.0.0.1, and a fresh database per caller. The tests' cluster starts on first use, once per
//! process, skips fsync, and is stopped and removed when the process exits (an `atexit` hook; the server also
//! dies with the process if it is killed); `SACON_TEST_STORE=postgres` points every `TestServer` and `sacon
//! serve` child at it. A benchmark starts its own with PostgreSQL's durable defaults (`Cluster::durable`), stopped
//! when dropped. (The benchmarks include this file with `#[path]`.)

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use sqlx::Connection;

/// How long `initdb` plus the server's start may take.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// Whether this run's servers store in PostgreSQL (`SACON_TEST_STORE=postgres`).
pub fn enabled() -> bool {
    std::env::var("SACON_TEST_STORE").is_ok_and(|v| v == "postgres")
}

/// Where PostgreSQL's server programs are: `SACON_PG_BIN`, else the newest `/usr/lib/postgresql/*/bin`, else
/// the PATH.
pub fn bin_dir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("SACON_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

pub struct Cluster {
    pub port: u16,
    /// The superuser every database is made with and connected as (trust authentication on loopback only).
    pub user: String,
    dir: PathBuf,
    pid: u32,
}

impl Cluster {
    /// The process's cluster, started on first use.
    pub fn shared() -> &'static Cluster {
        static CLUSTER: OnceLock<Cluster> = OnceLock::new();
        CLUSTER.get_or_init(|| {
            // The server is started from a thread that lives as long as the process: it dies with its parent
            // thread (PR_SET_PDEATHSIG), and a test's own thread ends with the test.
            let (tx, rx) = mpsc::channel();
            std::thread::Builder::new()
                .name("postgres-cluster".into())
                .spawn(move || {
                    let _ = tx.send(start(false));
                    loop {
                        std::thread::park();
                    }
                })
                .expect("spawning the cluster thread");
            let cluster = rx
                .recv_timeout(START_TIMEOUT)
                .expect("the PostgreSQL cluster did not start in time")
                .unwrap_or_else(|e| panic!("cannot start a PostgreSQL cluster: {e}"));
            register_cleanup(&cluster);
            cluster
        })
    }

    /// A cluster of this process's own with PostgreSQL's durable defaults (fsync on every commit), started from
    /// the calling thread (which it must not outlive: it dies with it) and removed when dropped.
    #[allow(dead_code)] // The benchmarks' (the tests share one cluster).
    pub fn durable() -> Result<Cluster, String> {
        start(true)
    }

    /// The server's process id (its backends are its children).
    #[allow(dead_code)] // The benchmarks'.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// `postgres://…/<database>` on this cluster.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{}@127.0.0.1:{}/{database}",
            self.user, self.port
        )
    }

    /// A new, empty database and its URL.
    pub async fn fresh_database(&self) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "t{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = sqlx::PgConnection::connect(&self.url("postgres"))
            .await
            .expect("connecting to the test cluster");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("creating a test database");
        let _ = admin.close().await;
        self.url(&name)
    }
}

/// A fresh database on the shared cluster.
pub async fn fresh_database_url() -> String {
    Cluster::shared().fresh_database().await
}

/// The environment that points a `sacon serve` child at a fresh database of the shared cluster when this run
/// stores in PostgreSQL; empty otherwise.
pub fn serve_env() -> Vec<(&'static str, String)> {
    if !enabled() {
        return Vec::new();
    }
    let url = std::thread::spawn(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(fresh_database_url())
    })
    .join()
    .expect("creating a test database");
    vec![("SACON_DATABASE_URL", url)]
}

/// The OS user the cluster runs as: `postgres` (uid, gid) when this process is root, else this process's own.
fn run_as() -> Result<Option<(u32, u32)>, String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let name = c"postgres";
    // SAFETY: getpwnam reads a static buffer; the fields are copied out at once, before any other call.
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    if pw.is_null() {
        return Err("running as root and there is no `postgres` user to run the cluster as (install postgresql)".into());
    }
    // SAFETY: pw is non-null and points to getpwnam's result.
    let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
    Ok(Some((uid, gid)))
}

fn command(bin: &Path, program: &str, user: Option<(u32, u32)>) -> Command {
    let mut cmd = Command::new(bin.join(program));
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if let Some((uid, gid)) = user
                && (libc::setgid(gid) != 0 || libc::setuid(uid) != 0)
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd
}

fn start(durable: bool) -> Result<Cluster, String> {
    let bin = bin_dir().ok_or(
        "PostgreSQL's server programs are not installed (initdb not found): scripts/test installs them",
    )?;
    let user = run_as()?;
    let dir = tempfile::Builder::new()
        .prefix("sacon-pg-")
        .tempdir()
        .map_err(|e| e.to_string())?
        .keep();
    if let Some((uid, gid)) = user {
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).map_err(|e| e.to_string())?;
    }
    let data = dir.join("data");
    let out = command(&bin, "initdb", user)
        .args([
            "-A",
            "trust",
            "-U",
            "sacon",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale",
            "C",
            "-D",
        ])
        .arg(&data)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running initdb: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let port = free_port();
    // Durability is not under test in the tests (the processes they kill are sacon's, not PostgreSQL), so their
    // cluster skips fsync; a benchmark's keeps PostgreSQL's defaults, so its commits cost what they would.
    let mut settings = vec![
        "listen_addresses=127.0.0.1",
        "max_connections=400",
        "logging_collector=off",
    ];
    if durable {
        settings.push("shared_buffers=512MB");
    } else {
        settings.extend([
            "fsync=off",
            "synchronous_commit=off",
            "full_page_writes=off",
            "shared_buffers=64MB",
        ]);
    }
    let mut child = command(&bin, "postgres", user)
        .arg("-D")
        .arg(&data)
        .args(["-p", &port.to_string(), "-k"])
        .arg(&dir)
        .args(settings.iter().flat_map(|s| ["-c", *s]))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting postgres: {e}"))?;
    let stderr = child.stderr.take().expect("piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut ready = Some(tx);
        let mut log = Vec::new();
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if line.contains("ready to accept connections") {
                if let Some(tx) = ready.take() {
                    let _ = tx.send(Ok(()));
                }
            } else if ready.is_some() {
                log.push(line);
            }
        }
        if let Some(tx) = ready {
            let _ = tx.send(Err(log.join("\n")));
        }
    });
    match rx.recv_timeout(START_TIMEOUT) {
        Ok(Ok(())) => {}
        Ok(Err(log)) => return Err(format!("postgres exited before it was ready:\n{log}")),
        Err(_) => {
            let _ = child.kill();
            return Err("postgres was not ready in time".into());
        }
    }
    Ok(Cluster {
        port,
        user: "sacon".into(),
        dir,
        pid: child.id(),
    })
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("binding a free port")
}

impl Drop for Cluster {
    /// Only clusters of [`Cluster::durable`] are dropped (the shared one is a static, stopped at exit).
    fn drop(&mut self) {
        stop(self.pid, &self.dir);
    }
}

/// Stops the server at once and removes its directory.
fn stop(pid: u32, dir: &Path) {
    // SIGQUIT: immediate shutdown; the directory goes next, so nothing needs to be kept.
    // SAFETY: kill and waitpid on our own child.
    unsafe {
        libc::kill(pid as i32, libc::SIGQUIT);
        let mut status = 0;
        libc::waitpid(pid as i32, &mut status, 0);
    }
    let _ = std::fs::remove_dir_all(dir);
}

static CLEANUP: OnceLock<(u32, PathBuf)> = OnceLock::new();

extern "C" fn stop_cluster() {
    if let Some((pid, dir)) = CLEANUP.get() {
        stop(*pid, dir);
    }
}

fn register_cleanup(cluster: &Cluster) {
    if CLEANUP.set((cluster.pid, cluster.dir.clone())).is_ok() {
        // SAFETY: registering a plain extern "C" function.
        unsafe {
            libc::atexit(stop_cluster);
        }
    }
}
