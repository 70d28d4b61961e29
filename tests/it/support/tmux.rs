//! The real `sacon` binary in tmux against a temporary embedded data directory, for the end-to-end tests: keys
//! go in with `send-keys`, the screen comes out with `capture-pane`; every wait is on a screen condition with a
//! deadline, woken by the pane's output (a tmux control-mode client), never by sleeping.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

pub const WAIT: Duration = Duration::from_secs(40);

/// One tmux server (its own socket) running the console; killed on drop. Waits are driven by events, never by
/// sleeping: a tmux control-mode client reports every burst of output from the pane (each one triggers a fresh
/// look at the screen), and a FIFO held open by the console and its wrapper shell reaches end-of-file only when
/// both are gone, carrying the console's exit status when the shell lived to write it.
pub struct Console {
    socket: String,
    control: Child,
    _control_stdin: ChildStdin,
    output: Receiver<()>,
    exit: Receiver<Option<i32>>,
    _fifo_dir: tempfile::TempDir,
}

impl Console {
    pub fn start(socket: &str, data_dir: &Path, cwd: &Path) -> Console {
        Console::start_with(socket, data_dir, cwd, "")
    }

    /// The console with extra command-line flags (`flags` is pasted into the shell command as it is).
    pub fn start_with(socket: &str, data_dir: &Path, cwd: &Path, flags: &str) -> Console {
        let fifo_dir = tempfile::tempdir().unwrap();
        let fifo = fifo_dir.path().join("exit");
        assert!(
            Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        let (exit_tx, exit) = mpsc::channel();
        let reader_path = fifo.clone();
        std::thread::spawn(move || {
            // Opening blocks until the wrapper opens its end; end-of-file comes when every writer is gone.
            let mut text = String::new();
            if let Ok(mut f) = std::fs::File::open(&reader_path) {
                let _ = f.read_to_string(&mut text);
            }
            let _ = exit_tx.send(text.trim().parse::<i32>().ok());
        });
        // The console inherits fd 3; the shell writes the exit status to it after the console is done.
        let command = format!(
            "exec 3>'{}'; '{}' --data-dir '{}' {flags}; echo $? >&3",
            fifo.display(),
            env!("CARGO_BIN_EXE_sacon"),
            data_dir.display()
        );
        let status = Command::new("tmux")
            .args(["-L", socket, "-f", "/dev/null", "new-session", "-d"])
            .args(["-x", "100", "-y", "30", "-s", "console", "-c"])
            .arg(cwd)
            .arg(command)
            .env("TERM", "xterm-256color")
            // Contexts come from `<cwd>/config/sacon/config.toml`, never from the machine's own.
            .env("XDG_CONFIG_HOME", cwd.join("config"))
            .env_remove("SACON_CONTEXT")
            .env_remove("NO_COLOR")
            .status()
            .expect("tmux must be installed for the end-to-end test");
        assert!(status.success(), "tmux new-session failed");

        let mut control = Command::new("tmux")
            .args(["-L", socket, "-C", "attach", "-t", "console"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("tmux control mode");
        let mut control_stdin = control.stdin.take().unwrap();
        // A control client has no size of its own: keep the pane at 100×30.
        control_stdin
            .write_all(b"refresh-client -C 100x30\n")
            .unwrap();
        let stdout = control.stdout.take().unwrap();
        let (output_tx, output) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).split(b'\n') {
                let Ok(line) = line else { break };
                if line.starts_with(b"%output ") && output_tx.send(()).is_err() {
                    break;
                }
            }
        });
        Console {
            socket: socket.to_string(),
            control,
            _control_stdin: control_stdin,
            output,
            exit,
            _fifo_dir: fifo_dir,
        }
    }

    pub fn tmux(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux runs")
    }

    /// Named keys (`Enter`, `C-s`, `Escape`, `Tab`, `a`).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "console"];
        args.extend_from_slice(keys);
        assert!(self.tmux(&args).status.success());
    }

    /// Literal text, typed.
    pub fn text(&self, text: &str) {
        assert!(
            self.tmux(&["send-keys", "-t", "console", "-l", text])
                .status
                .success()
        );
    }

    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p", "-t", "console"]).stdout)
            .into_owned()
    }

    /// Looks at the screen now and again after every output from the pane, until `pred` holds; fails with
    /// the last screen after the deadline.
    pub fn wait(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let screen = self.screen();
            if pred(&screen) {
                return screen;
            }
            match self
                .output
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                // Coalesce a burst of output into one more look.
                Ok(()) => while self.output.try_recv().is_ok() {},
                Err(_) => {
                    let screen = self.screen();
                    assert!(
                        pred(&screen),
                        "timed out waiting for {what}; the screen was:\n{screen}"
                    );
                    return screen;
                }
            }
        }
    }

    pub fn wait_for(&self, text: &str) -> String {
        self.wait(text, |s| s.contains(text))
    }

    /// Adds a unique account from the account list: `a`, the user id (checked as it is typed), the description
    /// when not empty, Ctrl-S; returns once the whole token view is drawn.
    pub fn create_unique(&self, user_id: &str, description: &str) -> String {
        self.keys(&["a"]);
        self.wait_for("Add an account to");
        self.text(user_id);
        self.wait_for("✓ new user ID");
        if !description.is_empty() {
            self.keys(&["Tab"]);
            self.text(description);
        }
        self.keys(&["C-s"]);
        // The whole view, not a capture taken while it is being drawn.
        self.wait("the token view", |s| {
            s.contains("Account created") && s.contains("v reveal")
        })
    }

    /// Waits until the console process is gone; its exit status when the wrapper shell could report it.
    pub fn wait_exit(&self) -> Option<i32> {
        self.exit
            .recv_timeout(WAIT)
            .unwrap_or_else(|_| panic!("the console did not quit:\n{}", self.screen()))
    }

    /// The console's pid: the only child of the pane's wrapper shell.
    pub fn console_pid(&self) -> String {
        let out = self.tmux(&["display", "-p", "-t", "console", "#{pane_pid}"]);
        let shell = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let children =
            std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).unwrap();
        let kids: Vec<&str> = children.split_whitespace().collect();
        assert_eq!(
            kids.len(),
            1,
            "the wrapper shell runs only the console: {kids:?}"
        );
        kids[0].to_string()
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
        let _ = self.control.kill();
        let _ = self.control.wait();
    }
}

/// Opens Platform from the first start's namespace picker: filter to it, go to it, open it.
pub fn open_platform(console: &Console) {
    console.wait("the namespace picker with counts", |s| {
        s.contains("Namespaces (") && s.contains("accounts")
    });
    console.keys(&["/"]);
    console.text("Platform");
    console.keys(&["Enter"]);
    console.keys(&["G", "Enter"]);
    console.wait_for("Global › Engineering › Platform");
}

/// The footer: the screen's last non-empty line.
pub fn footer(screen: &str) -> &str {
    screen
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
}
