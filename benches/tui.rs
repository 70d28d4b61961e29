//! `cargo bench --bench tui`: the console's speed and memory targets (issues 3 and 10), measured on the real
//! binary in tmux, driven through one tmux control-mode client (keys in with `send-keys`, the pane's output back
//! as `%output` notifications, timestamped as they arrive), against embedded data directories of 10,000 and
//! 100,000 accounts in one namespace below Global, the latter also through the subtree view of Global (`t`).
//! Rendering is timed in-process. Prints `metric | target | measured | result`.

#[path = "support/stats.rs"]
mod stats;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{Duration as Days, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use sacon::api::Capabilities;
use sacon::model::ServiceAccount;
use sacon::store::{Change, Store};
use sacon::tui::msg::{Boot, Effect, Msg, Now};
use sacon::tui::screens::frame;
use sacon::tui::theme::Theme;
use sacon::tui::{Model, init, update};
use stats::{Table, ms, summarize};

const STARTS: usize = 15;
/// Subtree toggles on Global timed, each from `t` to the first row on screen.
const TOGGLES: usize = 10;
const KEY_SAMPLES: usize = 300;
const RENDER_FRAMES: usize = 2000;
const IDLE: Duration = Duration::from_secs(10);
/// How long without output counts as "the console has settled".
const QUIET: Duration = Duration::from_millis(300);
const WAIT: Duration = Duration::from_secs(30);
const MB: u64 = 1_000_000;

/// A data directory with `n` accounts in one namespace below Global, remembered by the console so it opens on
/// them; and Global's id.
fn build_data_dir(root: &Path, n: usize) -> anyhow::Result<(PathBuf, String)> {
    let dir = root.join(format!("tui-{n}"));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        // The data directory as sacon makes it: private directory, secret and database files.
        let store = sacon::server::open_data_dir(&sacon::server::ServerConfig::new(&dir))
            .await?
            .store
            .into_sqlite()
            .context("a data directory without --database-url is SQLite")?;
        let now = Utc::now();
        let change = Change::by("bench-seed", now - Days::days(200));
        let root_ns = store
            .list_namespaces()
            .await?
            .into_iter()
            .find(|ns| ns.parent_id.is_empty())
            .context("no root namespace")?;
        let ns = store
            .create_namespace(&root_ns.id, "Bench", "", &change)
            .await?;
        for start in (0..n).step_by(5000) {
            let batch: Vec<ServiceAccount> = (start..(start + 5000).min(n))
                .map(|i| ServiceAccount {
                    id: format!("00000000-0000-4000-8000-{i:012}"),
                    namespace_id: ns.id.clone(),
                    originator_id: String::new(),
                    description: format!("bench account {i} for the nightly job"),
                    user_id: format!("bench-{i:06}"),
                    expires_at: match i % 4 {
                        0 => None,
                        1 => Some(now - Days::days(3)),
                        2 => Some(now + Days::days(5)),
                        _ => Some(now + Days::days(200)),
                    },
                    created_at: change.at,
                    modified_at: change.at,
                    accessed_at: (i % 3 == 0).then(|| now - Days::days(1)),
                    disabled: false,
                })
                .collect();
            store.create_accounts(&batch, change.at, &change).await?;
        }
        store.close().await;
        sacon::tui::effects::remember(&dir.join("console.json"), &ns.id)?;
        anyhow::Ok(root_ns.id)
    })
    .map(|global| (dir, global))
}

/// One pane's output as it arrives: `(when, bytes)`.
type Output = Receiver<(Instant, Vec<u8>)>;

/// A tmux server running `sacon` in a 200×60 pane, with a control-mode client attached.
struct Session {
    socket: String,
    control: Child,
    stdin: ChildStdin,
    output: Output,
}

impl Session {
    /// Starts the pane with a shell that waits for a line before exec'ing the console, so the clock can start
    /// when the process does.
    fn new(socket: &str, data_dir: &Path) -> anyhow::Result<Session> {
        // A server of its own per session: a new one on a socket whose old server is still exiting fails.
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let socket = &format!(
            "{socket}-{}",
            N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let command = format!(
            "read _ && exec {} --data-dir {}",
            env!("CARGO_BIN_EXE_sacon"),
            data_dir.display()
        );
        let status = Command::new("tmux")
            .args(["-L", socket, "-f", "/dev/null", "new-session", "-d"])
            .args(["-x", "200", "-y", "60", "-s", "bench", "sh", "-c", &command])
            .env("TERM", "xterm-256color")
            .status()?;
        if !status.success() {
            bail!("tmux new-session failed");
        }
        let mut control = Command::new("tmux")
            .args(["-L", socket, "-C", "attach", "-t", "bench"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdin = control.stdin.take().context("control stdin")?;
        let stdout = control.stdout.take().context("control stdout")?;
        let (tx, output) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).split(b'\n') {
                let Ok(line) = line else { break };
                let at = Instant::now();
                if let Some(rest) = line.strip_prefix(b"%output ") {
                    // `%output %<pane> <data>`, the data with octal escapes.
                    let data = rest
                        .iter()
                        .position(|b| *b == b' ')
                        .map(|i| unescape(&rest[i + 1..]))
                        .unwrap_or_default();
                    if tx.send((at, data)).is_err() {
                        break;
                    }
                }
            }
        });
        let mut session = Session {
            socket: socket.to_string(),
            control,
            stdin,
            output,
        };
        // A control client has no size of its own; keep the pane at 200×60.
        session.command("refresh-client -C 200x60")?;
        Ok(session)
    }

    fn command(&mut self, line: &str) -> anyhow::Result<()> {
        writeln!(self.stdin, "{line}")?;
        self.stdin.flush()?;
        Ok(())
    }

    fn keys(&mut self, keys: &str) -> anyhow::Result<Instant> {
        let at = Instant::now();
        self.command(&format!("send-keys -t bench {keys}"))?;
        Ok(at)
    }

    /// Waits until the output since now contains `needle`; returns when the chunk completing it arrived.
    fn wait_for(&mut self, needle: &str) -> anyhow::Result<Instant> {
        let deadline = Instant::now() + WAIT;
        let mut seen: Vec<u8> = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.output.recv_timeout(left) {
                Ok((at, data)) => {
                    seen.extend_from_slice(&data);
                    if contains(&seen, needle.as_bytes()) {
                        return Ok(at);
                    }
                }
                Err(_) => bail!("timed out waiting for {needle:?}"),
            }
        }
    }

    /// The arrival time of the next output chunk.
    fn next_output(&mut self) -> anyhow::Result<Instant> {
        match self.output.recv_timeout(WAIT) {
            Ok((at, _)) => Ok(at),
            Err(_) => bail!("no output"),
        }
    }

    /// Drains output until none has come for `QUIET`.
    fn settle(&mut self) {
        loop {
            match self.output.recv_timeout(QUIET) {
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    fn pid(&self) -> anyhow::Result<u32> {
        let out = Command::new("tmux")
            .args([
                "-L",
                &self.socket,
                "display",
                "-p",
                "-t",
                "bench",
                "#{pane_pid}",
            ])
            .output()?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().parse()?)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
        let _ = self.control.wait();
    }
}

fn unescape(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i] == b'\\'
            && i + 3 < data.len()
            && data[i + 1..i + 4].iter().all(|b| (b'0'..=b'7').contains(b))
        {
            let v = (data[i + 1] - b'0') * 64 + (data[i + 2] - b'0') * 8 + (data[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(data[i]);
            i += 1;
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// CPU time of every thread of `pid`, from the scheduler's nanosecond counters.
fn cpu_time(pid: u32) -> anyhow::Result<Duration> {
    let mut total = 0u64;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let stat = std::fs::read_to_string(task?.path().join("schedstat"))?;
        total += stat
            .split_whitespace()
            .next()
            .context("schedstat")?
            .parse::<u64>()?;
    }
    Ok(Duration::from_nanos(total))
}

/// `VmRSS` and `VmHWM` (peak) of `pid`, in bytes.
fn memory(pid: u32) -> anyhow::Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> anyhow::Result<u64> {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .context("status field")?;
        let kb: u64 = line
            .split_whitespace()
            .nth(1)
            .context("status value")?
            .parse()?;
        Ok(kb * 1024)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// Key press to the next frame for `n` keys, mostly single rows with page jumps that cross into pages not yet
/// loaded; each key goes in once the previous one's work (page loads, kind lookups) is drawn.
fn scroll_keys(s: &mut Session, n: usize) -> anyhow::Result<Vec<Duration>> {
    let mut keys = Vec::with_capacity(n);
    for i in 0..n {
        let key = if i % 10 == 9 { "PageDown" } else { "j" };
        let t0 = s.keys(key)?;
        let drawn = s.next_output()?;
        keys.push(drawn - t0);
        s.settle();
    }
    Ok(keys)
}

/// Jumps to the last row (waiting until `last` is drawn), pages back up 20 screens and returns to the top, so
/// the server has walked the whole list and the console has held pages far apart; then lets it settle.
fn end_and_back(s: &mut Session, last: &str) -> anyhow::Result<()> {
    s.keys("G")?;
    s.wait_for(last)?;
    for _ in 0..20 {
        s.keys("PageUp")?;
        s.next_output()?;
    }
    s.keys("g")?;
    s.settle();
    Ok(())
}

/// `VmRSS (peak VmHWM)` in MB, and whether the resident size is within 60 MB.
fn resident(pid: u32) -> anyhow::Result<(String, bool)> {
    let (rss, peak) = memory(pid)?;
    Ok((
        format!(
            "{:.1} MB (peak {:.1} MB)",
            rss as f64 / MB as f64,
            peak as f64 / MB as f64
        ),
        rss <= 60 * MB,
    ))
}

/// In-process: the time to draw the whole console (header, account table, footer) into a 200×60 buffer.
fn render_frames() -> Vec<Duration> {
    let wall = Utc::now();
    let now = Now {
        mono: Instant::now(),
        wall,
    };
    let mut model = Model::new("~/.local/share/sacon".into(), None, Theme::from_env(), wall);
    update(&mut model, Msg::Resize(200, 60), now);
    let Some(Effect::Boot { seq }) = init(&mut model).into_iter().next() else {
        return Vec::new();
    };
    let t = wall - Days::days(10);
    let ns = sacon::model::Namespace {
        id: "ns".into(),
        parent_id: String::new(),
        name: "Global".into(),
        created_at: t,
        modified_at: t,
        originator_id: String::new(),
        route_count: 0,
        policy_count: 0,
    };
    model.remembered = Some("ns".into());
    let effects = update(
        &mut model,
        Msg::Booted {
            seq,
            result: Ok(Boot {
                capabilities: Capabilities {
                    namespaces: true,
                    directory: true,
                },
                namespaces: vec![ns],
                grants: None,
            }),
        },
        now,
    );
    for e in effects {
        if let Effect::LoadPage {
            generation, page, ..
        } = e
        {
            let rows = (0..100)
                .map(|i| ServiceAccount {
                    id: format!("00000000-0000-4000-8000-{i:012}"),
                    namespace_id: "ns".into(),
                    originator_id: String::new(),
                    description: format!("bench account {i} for the nightly job"),
                    user_id: format!("bench-{i:06}"),
                    expires_at: (i % 2 == 0).then(|| wall + Days::days(i)),
                    created_at: t,
                    modified_at: t,
                    accessed_at: (i % 3 == 0).then(|| wall - Days::days(1)),
                    disabled: false,
                })
                .collect();
            update(
                &mut model,
                Msg::Page {
                    generation,
                    page,
                    result: Ok((rows, 10_000)),
                },
                now,
            );
        }
    }
    let area = Rect::new(0, 0, 200, 60);
    let mut buf = Buffer::empty(area);
    let mut samples = Vec::with_capacity(RENDER_FRAMES);
    for i in 0..RENDER_FRAMES + 100 {
        // Move the cursor so every frame differs, as when scrolling.
        update(
            &mut model,
            Msg::Key(crossterm::event::KeyEvent::from(
                crossterm::event::KeyCode::Char(if i % 80 < 40 { 'j' } else { 'k' }),
            )),
            now,
        );
        buf.reset();
        let started = Instant::now();
        frame::render(&model, &mut buf);
        let took = started.elapsed();
        if i >= 100 {
            samples.push(took);
        }
    }
    samples
}

fn main() -> anyhow::Result<()> {
    let root = data_root()?;
    eprintln!("tui bench: building data directories in {}", root.display());
    let (small, _) = build_data_dir(&root, 10_000)?;
    let (large, global) = build_data_dir(&root, 100_000)?;
    let socket = format!("sacon-tui-bench-{}", std::process::id());
    let mut table = Table::default();

    // 1. Process start to the first frame showing the account list (10,000 accounts, embedded).
    let mut starts = Vec::with_capacity(STARTS);
    for _ in 0..STARTS {
        let mut s = Session::new(&socket, &small)?;
        s.settle();
        let t0 = s.keys("Enter")?;
        let shown = s.wait_for("bench-000000")?;
        starts.push(shown - t0);
        s.keys("q")?;
        drop(s);
    }
    let start = summarize(starts);
    table.row(
        "start to first account-list frame, 10,000 accounts (median)",
        "≤ 300 ms",
        start.describe(),
        Some(start.median <= Duration::from_millis(300)),
    );

    // 2. Key press to updated frame while scrolling, and 4. CPU over 10 s idle.
    let mut s = Session::new(&socket, &small)?;
    s.settle();
    s.keys("Enter")?;
    s.wait_for("bench-000000")?;
    s.settle();
    let key = summarize(scroll_keys(&mut s, KEY_SAMPLES)?);
    table.row(
        "key press to updated frame while scrolling (p95)",
        "≤ 16 ms",
        format!("{} (median {}, n={})", ms(key.p95), ms(key.median), key.n),
        Some(key.p95 <= Duration::from_millis(16)),
    );
    let pid = s.pid()?;
    s.settle();
    let before = cpu_time(pid)?;
    std::thread::sleep(IDLE);
    let after = cpu_time(pid)?;
    let idle = after - before;
    table.row(
        "CPU used over 10 s idle",
        "≤ 10 ms",
        format!("{} (process total so far {})", ms(idle), ms(after)),
        Some(idle <= Duration::from_millis(10)),
    );
    // The same walk as at 100,000 below, for comparison: what grows with the account count is the difference.
    end_and_back(&mut s, "bench-009999")?;
    let (measured, ok) = resident(pid)?;
    table.row(
        "resident memory, 10,000 accounts (embedded: console + server)",
        "≤ 60 MB",
        measured,
        Some(ok),
    );
    s.keys("q")?;
    drop(s);

    // 3. Rendering the account table at 200×60.
    let render = summarize(render_frames());
    table.row(
        "render the account list at 200×60 (median per frame)",
        "≤ 1 ms",
        render.describe(),
        Some(render.median <= Duration::from_millis(1)),
    );

    // 5. Resident memory with 100,000 accounts, after scrolling to the end and back.
    let mut s = Session::new(&socket, &large)?;
    s.settle();
    s.keys("Enter")?;
    s.wait_for("bench-000000")?;
    s.settle();
    end_and_back(&mut s, "bench-099999")?;
    let (measured, ok) = resident(s.pid()?)?;
    table.row(
        "resident memory, 100,000 accounts (embedded: console + server)",
        "≤ 60 MB",
        measured,
        Some(ok),
    );
    s.keys("q")?;
    drop(s);

    // 6. The subtree view of Global (no accounts of its own) over the 100,000: `t` to the first rows, scrolling
    // in it, and resident memory after walking it end to end. Every page is `namespace_id IN (the subtree)`.
    sacon::tui::effects::remember(&large.join("console.json"), &global)?;
    let mut s = Session::new(&socket, &large)?;
    s.settle();
    s.keys("Enter")?;
    // "No accounts here yet.", drawn over "Loading…": the terminal diff skips the cells the two share.
    s.wait_for("here yet")?;
    s.settle();
    let mut toggles = Vec::with_capacity(TOGGLES);
    for _ in 0..TOGGLES {
        let t0 = s.keys("t")?;
        let shown = s.wait_for("bench-000000")?;
        toggles.push(shown - t0);
        s.settle();
        // Back to Global's own (empty) list for the next toggle.
        s.keys("t")?;
        s.settle();
    }
    let toggle = summarize(toggles);
    table.row(
        "subtree view of Global, 100,000 accounts: t to first rows (median)",
        "≤ 300 ms",
        toggle.describe(),
        Some(toggle.median <= Duration::from_millis(300)),
    );
    s.keys("t")?;
    s.wait_for("bench-000000")?;
    s.settle();
    let key = summarize(scroll_keys(&mut s, KEY_SAMPLES)?);
    table.row(
        "subtree view of Global: key press to updated frame while scrolling (p95)",
        "≤ 16 ms",
        format!("{} (median {}, n={})", ms(key.p95), ms(key.median), key.n),
        Some(key.p95 <= Duration::from_millis(16)),
    );
    end_and_back(&mut s, "bench-099999")?;
    let (measured, ok) = resident(s.pid()?)?;
    table.row(
        "resident memory, 100,000 accounts, after the subtree view of Global",
        "≤ 60 MB",
        measured,
        Some(ok),
    );
    s.keys("q")?;
    drop(s);

    println!("{}", table.render());
    Ok(())
}

/// `target/bench-data`, where the data directories are rebuilt each run.
fn data_root() -> anyhow::Result<PathBuf> {
    let base = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
        .join("bench-data");
    std::fs::create_dir_all(&base)?;
    Ok(base)
}
