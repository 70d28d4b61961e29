//! The real `sacon serve` as a child process on 127.0.0.1:0, so every HTTP measurement (and the RSS read from
//! `/proc/<pid>/status`) is the server's alone. The guard stops it on drop, also when the benchmark panics.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

pub struct ServerProcess {
    child: Child,
    pub url: String,
    /// Held open so the server never writes into a closed pipe.
    _stdout: BufReader<ChildStdout>,
}

impl ServerProcess {
    /// Starts `sacon serve --listen 127.0.0.1:0 --data-dir DIR` (storing in the PostgreSQL database at
    /// `database_url` when given) and waits for its `listening on URL` line.
    pub fn start(data_dir: &Path, database_url: Option<&str>) -> anyhow::Result<ServerProcess> {
        // sacon refuses a data directory that others can reach.
        std::fs::set_permissions(
            data_dir,
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )?;
        let mut child = Command::new(env!("CARGO_BIN_EXE_sacon"))
            .arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(data_dir)
            .envs(database_url.map(|url| ("SACON_DATABASE_URL", url)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start sacon serve")?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            bail!("sacon serve has no stdout pipe");
        };
        // Build the guard first, so a failure below still stops the child.
        let mut guard = ServerProcess {
            child,
            url: String::new(),
            _stdout: BufReader::new(stdout),
        };
        let mut line = String::new();
        guard
            ._stdout
            .read_line(&mut line)
            .context("reading the first line of sacon serve")?;
        let Some(url) = line.trim().strip_prefix("listening on ") else {
            bail!("sacon serve printed {line:?} instead of `listening on URL`");
        };
        guard.url = url.to_string();
        Ok(guard)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `(VmRSS, VmHWM)` in bytes: the resident set now and at its peak.
    pub fn memory(&self) -> anyhow::Result<(u64, u64)> {
        let path = format!("/proc/{}/status", self.pid());
        let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
        let field = |name: &str| -> anyhow::Result<u64> {
            let line = status
                .lines()
                .find(|l| l.starts_with(name))
                .with_context(|| format!("{path} has no {name}"))?;
            let kib: u64 = line
                .trim_start_matches(name)
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .with_context(|| format!("unreadable {line:?}"))?;
            Ok(kib * 1024)
        };
        Ok((field("VmRSS:")?, field("VmHWM:")?))
    }

    /// SIGTERM (a graceful shutdown), then SIGKILL if it has not exited within a few seconds.
    fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let termed = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
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

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}
