//! The CLI as a test drives it: the built `sacon` binary in a scratch home (embedded on a temporary data
//! directory), or against `sacon serve --listen 127.0.0.1:0` in a child process, with its exit code and output.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use chrono::{Duration, Utc};
use sacon::token::{Claims, SharedSecret, verify_service_account};
use serde_json::Value;

/// How long one CLI command may take in a test.
pub const RUN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn ok(self) -> Output {
        assert_eq!(
            self.code, 0,
            "expected success; stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }

    /// The last stderr line, where a failure is reported (after any note about a new data directory).
    pub fn error(&self) -> &str {
        assert_eq!(
            self.stderr
                .lines()
                .filter(|l| l.starts_with("error: "))
                .count(),
            1,
            "one error line: {}",
            self.stderr
        );
        self.stderr.lines().last().unwrap_or("")
    }

    /// The one line a token command prints.
    pub fn single_line(&self) -> &str {
        let lines: Vec<&str> = self.stdout.lines().collect();
        assert_eq!(lines.len(), 1, "stdout must be one line: {:?}", self.stdout);
        assert!(self.stdout.ends_with('\n'));
        lines[0]
    }
}

/// A scratch area: `home` stands in for $HOME and $XDG_DATA_HOME so nothing touches the real ones.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.path("data")
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sacon"));
        cmd.args(args)
            .env_remove("SACON_TOKEN")
            .env_remove("SACON_CONTEXT")
            .env("HOME", self.path("home"))
            .env("XDG_CONFIG_HOME", self.path("home/.config"))
            .env("XDG_DATA_HOME", self.path("home/.local/share"))
            .env("NO_COLOR", "1")
            .env("USER", "tester")
            .stdin(Stdio::null());
        cmd
    }

    /// Runs the command to its end, or kills it after [`RUN_TIMEOUT`] and fails the test.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with_env(args, &[])
    }

    /// [`run`](Self::run) with these environment variables set.
    pub fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let child = self
            .command(args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        finish(child, args, None)
    }

    /// Runs against the embedded console in this scratch's data directory, without the demo directory.
    pub fn embedded(&self, args: &[&str]) -> Output {
        let dir = self.data_dir();
        let mut all = vec!["--data-dir", dir.to_str().unwrap(), "--no-demo"];
        all.extend_from_slice(args);
        self.run(&all)
    }

    pub fn secret(&self) -> SharedSecret {
        SharedSecret::load(&sacon::config::secret_path(&self.data_dir())).unwrap()
    }

    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, contents).unwrap();
        path
    }
}

/// `sacon serve` in a child process; killed when dropped.
pub struct Served {
    pub scratch: Scratch,
    pub child: Child,
    pub url: String,
}

impl Served {
    pub fn start() -> Served {
        let scratch = Scratch::new();
        let data = scratch.data_dir();
        let mut child = scratch
            .command(&[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--data-dir",
                data.to_str().unwrap(),
            ])
            .envs(crate::support::pg::serve_env())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let (url, _rest) = crate::support::serve::listening_url(&mut child);
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        Served {
            scratch,
            child,
            url,
        }
    }

    /// Runs a command against the server, authenticated with its shared secret file.
    pub fn remote(&self, args: &[&str]) -> Output {
        let secret = sacon::config::secret_path(&self.scratch.data_dir());
        let mut all = vec![
            "--api-url",
            &self.url,
            "--shared-secret-file",
            secret.to_str().unwrap(),
        ];
        all.extend_from_slice(args);
        self.scratch.run(&all)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn verify(secret: &SharedSecret, jwt: &str) -> Claims {
    verify_service_account(secret, jwt, Utc::now(), Duration::seconds(5))
        .unwrap_or_else(|e| panic!("the printed JWT does not verify: {e}"))
}

/// The account id in `created service account <id> (…)` on stderr.
pub fn created_id(stderr: &str) -> String {
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("created service account "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no account id on stderr: {stderr}"))
        .to_string()
}

pub fn ids(list: &Value) -> Vec<String> {
    let mut ids: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

pub fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

impl Scratch {
    /// Runs an embedded command with `input` on standard input.
    pub fn embedded_with_stdin(&self, args: &[&str], input: &str) -> Output {
        let dir = self.data_dir();
        let mut all = vec!["--data-dir", dir.to_str().unwrap(), "--no-demo"];
        all.extend_from_slice(args);
        let child = self
            .command(&all)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        finish(child, &all, Some(input))
    }
}

/// Waits for `child` (writing `input` to its standard input first, from a thread of its own, so a child that
/// writes before it reads cannot block us), or kills it after [`RUN_TIMEOUT`] and fails the test.
fn finish(mut child: Child, args: &[&str], input: Option<&str>) -> Output {
    if let Some(input) = input {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        let input = input.to_string();
        std::thread::spawn(move || {
            let _ = stdin.write_all(input.as_bytes());
        });
    }
    let pid = child.id() as i32;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(RUN_TIMEOUT) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            // SAFETY: signalling our own child, which has not been reaped (its waiter is still waiting).
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("sacon {args:?} did not finish within {RUN_TIMEOUT:?}");
        }
    };
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}
