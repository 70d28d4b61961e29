//! The servers under load, each a child process so client and server never share a runtime: the real
//! `sacon serve`, nginx answering `return 200;`, and this benchmark binary re-run as an axum server whose only
//! handler does nothing. Guards stop them on drop (also when the benchmark panics), and report their CPU time.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// Set in the environment of the re-run benchmark binary to make it the no-op server.
pub const NOOP_ENV: &str = "SACON_VERIFY_BENCH_NOOP";

/// Linux reports `utime`/`stime` in USER_HZ ticks, which is 100 on every architecture Linux supports.
const TICKS_PER_SEC: f64 = 100.0;

pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    /// Held open: sacon serve never writes into a closed pipe, and the no-op server exits when it closes.
    _stdout: Option<BufReader<ChildStdout>>,
    _dir: Option<tempfile::TempDir>,
}

impl Server {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// User plus system CPU time of the process, its threads and its live child processes (nginx workers).
    pub fn cpu_time(&self) -> Duration {
        Duration::from_secs_f64(tree_ticks(self.child.id()) as f64 / TICKS_PER_SEC)
    }

    /// SIGTERM (graceful; nginx's master also stops its workers), then SIGKILL after a few seconds.
    fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let termed = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .is_ok_and(|s| s.success());
        if termed {
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if matches!(self.child.try_wait(), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Ticks of `pid` (all its threads) and, recursively, of its children.
fn tree_ticks(pid: u32) -> u64 {
    let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|c| c.parse::<u32>().ok())
        .map(tree_ticks)
        .sum::<u64>();
    process_ticks(pid) + children
}

/// Ticks of `pid` alone (all its threads).
fn process_ticks(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            // Fields after the parenthesised command name; utime and stime are fields 14 and 15 of the line.
            let rest = &stat[stat.rfind(')')? + 2..];
            let fields: Vec<&str> = rest.split(' ').collect();
            Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
        })
        .unwrap_or(0)
}

/// CPU time of this process alone (the load generator; the servers are its children), for the cost per
/// request on the client side.
pub fn own_cpu_time() -> Duration {
    Duration::from_secs_f64(process_ticks(std::process::id()) as f64 / TICKS_PER_SEC)
}

fn with_listening_line(mut child: Child, what: &str) -> anyhow::Result<Server> {
    let Some(stdout) = child.stdout.take() else {
        let _ = child.kill();
        bail!("{what} has no stdout pipe");
    };
    // The guard first, so a failure below still stops the child.
    let mut guard = Server {
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        _stdout: Some(BufReader::new(stdout)),
        _dir: None,
    };
    let mut line = String::new();
    if let Some(out) = guard._stdout.as_mut() {
        out.read_line(&mut line)
            .with_context(|| format!("reading the first line of {what}"))?;
    }
    let Some(url) = line.trim().strip_prefix("listening on http://") else {
        bail!("{what} printed {line:?} instead of `listening on http://ADDR`");
    };
    guard.addr = url
        .trim_end_matches('/')
        .parse()
        .with_context(|| format!("{what} listens on {url:?}, not an address"))?;
    Ok(guard)
}

/// `sacon serve --listen 127.0.0.1:0 --data-dir DIR`, ready once it has printed its address. `binary` replaces
/// the one built with this benchmark (to compare builds of other commits).
pub fn start_sacon(data_dir: &Path, binary: Option<&Path>) -> anyhow::Result<Server> {
    // sacon refuses a data directory that others can reach; a fresh temporary directory may be 0755.
    std::fs::set_permissions(
        data_dir,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )?;
    let exe = binary.unwrap_or(Path::new(env!("CARGO_BIN_EXE_sacon")));
    let child = Command::new(exe)
        .arg("serve")
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--data-dir")
        .arg(data_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot start {} serve", exe.display()))?;
    with_listening_line(child, "sacon serve")
}

/// A replica: `sacon serve` on the PostgreSQL database at `database_url`, checking and signing with the secret in
/// `secret_file`, its own data directory (for its log) in `data_dir`.
pub fn start_replica(
    data_dir: &Path,
    binary: Option<&Path>,
    database_url: &str,
    secret_file: &Path,
) -> anyhow::Result<Server> {
    let exe = binary.unwrap_or(Path::new(env!("CARGO_BIN_EXE_sacon")));
    let child = Command::new(exe)
        .arg("serve")
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--shared-secret-file")
        .arg(secret_file)
        .env("SACON_DATABASE_URL", database_url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot start {} serve", exe.display()))?;
    with_listening_line(child, "sacon serve (replica)")
}

/// User plus system CPU time of process `pid` and its live children (a PostgreSQL server and its backends).
pub fn process_tree_cpu(pid: u32) -> Duration {
    Duration::from_secs_f64(tree_ticks(pid) as f64 / TICKS_PER_SEC)
}

/// This benchmark binary again, as the no-op axum server (see [`serve_noop`]).
pub fn start_noop() -> anyhow::Result<Server> {
    let exe = std::env::current_exe().context("cannot find the benchmark binary")?;
    let child = Command::new(exe)
        .env(NOOP_ENV, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot start the no-op server")?;
    with_listening_line(child, "the no-op server")
}

/// The no-op server's whole life: tokio's default multi-thread runtime (one worker per core, as in
/// `sacon serve`), axum with one handler that answers 200 with no body, until standard input closes.
pub fn serve_noop() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        println!("listening on http://{}", listener.local_addr()?);
        let app = axum::Router::new().fallback(|| async {});
        let stdin_closed = async {
            // The parent holds our stdin; EOF means it is gone, so never outlive it.
            let _ = tokio::task::spawn_blocking(|| std::io::stdin().lines().count()).await;
        };
        axum::serve(listener, app)
            .with_graceful_shutdown(stdin_closed)
            .await?;
        anyhow::Ok(())
    })
}

/// nginx with two workers (one per core, like tokio's default in `sacon serve`) answering `return 200;`,
/// or `None` when nginx is not installed.
pub fn start_nginx() -> anyhow::Result<Option<Server>> {
    let Some(binary) = ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| Path::new(p).exists())
    else {
        return Ok(None);
    };
    let dir = tempfile::tempdir()?;
    let d = dir.path().display();
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let config = format!(
        "daemon off;
        worker_processes 2;
        pid {d}/nginx.pid;
        error_log {d}/error.log warn;
        events {{ worker_connections 1024; }}
        http {{
            access_log off;
            keepalive_requests 100000000;
            keepalive_timeout 600s;
            client_body_temp_path {d}/body;
            proxy_temp_path {d}/proxy;
            fastcgi_temp_path {d}/fastcgi;
            uwsgi_temp_path {d}/uwsgi;
            scgi_temp_path {d}/scgi;
            server {{
                listen 127.0.0.1:{port};
                location / {{ return 200; }}
            }}
        }}"
    );
    std::fs::write(dir.path().join("nginx.conf"), config)?;
    let child = Command::new(binary)
        .arg("-p")
        .arg(dir.path())
        .arg("-e")
        .arg(dir.path().join("error.log"))
        .arg("-c")
        .arg(dir.path().join("nginx.conf"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot start nginx")?;
    let server = Server {
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        _stdout: None,
        _dir: Some(dir),
    };
    // Ready when it accepts connections; bounded so a broken nginx fails instead of hanging.
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(server.addr).is_err() {
        if Instant::now() > deadline {
            bail!("nginx did not start listening on {}", server.addr);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(Some(server))
}
