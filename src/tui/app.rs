//! The driver: sets up the terminal (alternate screen, raw mode, bracketed paste) and restores it on every exit
//! path and on panic; waits on terminal events, effect results and the next deadline; feeds them to `update`;
//! runs the effects it returns; draws once after each batch, and only when something arrived. With nothing
//! pending it sleeps in `select!` without a timer, so an idle console uses no CPU. SIGTERM and SIGHUP quit.

use std::io::{Stdout, Write};
use std::path::PathBuf;
use std::sync::Once;

use crossterm::event::{DisableBracketedPaste, EnableBracketedPaste, Event, KeyEventKind};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use super::effects::Effects;
use super::msg::{Effect, Msg, Now};
use super::screens::contexts::ContextEntry;
use super::screens::frame;
use super::state::Model;
use super::theme::Theme;
use super::{StartOptions, clipboard, update};
use crate::embedded::Connection;

/// Puts the terminal back as it was; safe to call more than once.
pub fn restore_terminal() {
    let _ = disable_raw_mode();
    let mut out = std::io::stdout();
    let _ = execute!(
        out,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let _ = out.flush();
}

/// Restores the terminal when dropped: on return, on `?`, and while unwinding.
struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Restores the terminal before the default panic message is printed, so the message is readable and the
/// shell is usable. Installed once per process.
fn install_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore_terminal();
            previous(info);
        }));
    });
}

fn setup_terminal() -> anyhow::Result<(TerminalGuard, Terminal<CrosstermBackend<Stdout>>)> {
    install_panic_hook();
    enable_raw_mode()?;
    let guard = TerminalGuard;
    let mut out = std::io::stdout();
    execute!(out, EnterAlternateScreen, EnableBracketedPaste)?;
    let mut terminal = Terminal::new(CrosstermBackend::new(out))?;
    terminal.hide_cursor()?;
    terminal.clear()?;
    Ok((guard, terminal))
}

/// A fresh model for a session on `connection`, opened as `start` says, and its first effects.
fn session(
    connection: &Connection,
    start: &StartOptions,
    terminal: &Terminal<CrosstermBackend<Stdout>>,
) -> anyhow::Result<(Model, Vec<Effect>)> {
    let now = Now::system();
    let remembered = super::state_file(connection)
        .as_deref()
        .and_then(super::effects::remembered);
    let mut model = Model::new(
        connection.target.clone(),
        remembered,
        Theme::from_env(),
        now.wall,
    );
    model.read_only = start.read_only;
    model.context_name = start.context.clone();
    model.start_namespace = start.namespace.clone();
    model.cwd = std::env::current_dir().ok();
    model.contexts = start
        .contexts
        .iter()
        .map(|c| ContextEntry {
            name: c.name.clone(),
            target: c.target.clone(),
            read_only: c.read_only,
        })
        .collect();
    let size = terminal.size()?;
    update::update(&mut model, Msg::Resize(size.width, size.height), now);
    let first = update::init(&mut model);
    Ok((model, first))
}

/// Runs the console on `connection` until the admin quits. A context switch connects in the background; when
/// the new connection answers, the old one is closed and the console starts afresh on the new one.
pub async fn run(
    mut connection: Connection,
    state_file: Option<PathBuf>,
    mut start: StartOptions,
) -> anyhow::Result<()> {
    let (_guard, mut terminal) = setup_terminal()?;
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    let mut effects = Effects::new(connection.client.clone(), tx.clone(), state_file);
    let (mut model, first) = session(&connection, &start, &terminal)?;
    let mut switching: Option<(usize, tokio::task::JoinHandle<anyhow::Result<Connection>>)> = None;
    if let Some(index) = perform(&mut effects, &mut terminal, first) {
        switching = begin_switch(&start, index);
    }

    let mut events = spawn_terminal_reader();
    // SIGTERM and SIGHUP (a closed SSH session) end the console the way `q` does, restoring the terminal.
    let mut term = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let mut dirty = true;
    loop {
        if dirty {
            terminal.draw(|f| frame::render(&model, f.buffer_mut()))?;
            dirty = false;
        }
        if model.quit {
            break;
        }
        let deadline = model.next_deadline().map(tokio::time::Instant::from_std);
        let mut batch: Vec<Msg> = Vec::new();
        tokio::select! {
            event = events.recv() => match event {
                Some(Ok(e)) => batch.extend(to_msg(e)),
                Some(Err(e)) => return Err(anyhow::anyhow!("reading the terminal: {e}")),
                None => break,
            },
            Some(msg) = rx.recv() => batch.push(msg),
            () = sleep_until(deadline), if deadline.is_some() => batch.push(Msg::Tick),
            joined = async { (&mut switching.as_mut().expect("guarded").1).await }, if switching.is_some() => {
                let (index, _) = switching.take().expect("guarded");
                let name = start.contexts.get(index).map(|c| c.name.clone()).unwrap_or_default();
                match joined {
                    Ok(Ok(new)) => {
                        let old = std::mem::replace(&mut connection, new);
                        old.close().await;
                        let chosen = &start.contexts[index];
                        start.context = Some(chosen.name.clone());
                        start.namespace = chosen.namespace.clone();
                        // A session opened --read-only stays so in every context it switches to.
                        start.read_only = start.read_only_flag || chosen.read_only;
                        effects = Effects::new(
                            connection.client.clone(),
                            tx.clone(),
                            super::state_file(&connection),
                        );
                        let (fresh, first) = session(&connection, &start, &terminal)?;
                        model = fresh;
                        if let Some(index) = perform(&mut effects, &mut terminal, first) {
                            switching = begin_switch(&start, index);
                        }
                        dirty = true;
                        continue;
                    }
                    Ok(Err(e)) => batch.push(Msg::SwitchFailed { name, error: format!("{e:#}") }),
                    Err(e) => batch.push(Msg::SwitchFailed { name, error: e.to_string() }),
                }
            }
            _ = term.recv() => break,
            _ = hangup.recv() => break,
        }
        // Take everything else that is already waiting, so a burst of keys or results draws once.
        while let Ok(Ok(e)) = events.try_recv() {
            batch.extend(to_msg(e));
        }
        while let Ok(msg) = rx.try_recv() {
            batch.push(msg);
        }
        for msg in batch {
            let out = update::update(&mut model, msg, Now::system());
            if let Some(index) = perform(&mut effects, &mut terminal, out) {
                switching = begin_switch(&start, index);
            }
            dirty = true;
            if model.quit {
                break;
            }
        }
    }
    drop(effects);
    connection.close().await;
    Ok(())
}

/// Reads terminal events on a thread of their own and hands them over a channel. crossterm's reader can spin
/// inside one call once the terminal is gone (a read of a hung-up tty returns nothing, again and again); on its
/// own thread that cannot stop the driver from seeing SIGHUP and quitting, and the process ends with it.
fn spawn_terminal_reader() -> mpsc::UnboundedReceiver<std::io::Result<Event>> {
    let (tx, rx) = mpsc::unbounded_channel();
    let spawned = std::thread::Builder::new()
        .name("terminal-events".into())
        .spawn(move || {
            loop {
                let event = crossterm::event::read();
                let failed = event.is_err();
                if tx.send(event).is_err() || failed {
                    return;
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the terminal reader");
    }
    rx
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

fn to_msg(event: Event) -> Option<Msg> {
    match event {
        Event::Key(k) if k.kind != KeyEventKind::Release => Some(Msg::Key(k)),
        Event::Paste(text) => Some(Msg::Paste(text)),
        Event::Resize(w, h) => Some(Msg::Resize(w, h)),
        _ => None,
    }
}

/// Starts connecting to context `index` in the background.
fn begin_switch(
    start: &StartOptions,
    index: usize,
) -> Option<(usize, tokio::task::JoinHandle<anyhow::Result<Connection>>)> {
    let options = start.contexts.get(index)?.options.clone();
    Some((
        index,
        tokio::spawn(async move { crate::embedded::connect(&options).await }),
    ))
}

/// Runs `list`; returns the context a `SwitchContext` asked for (the driver connects, owning the connection).
fn perform(
    effects: &mut Effects,
    terminal: &mut Terminal<CrosstermBackend<Stdout>>,
    list: Vec<Effect>,
) -> Option<usize> {
    let mut switch = None;
    for effect in list {
        if let Effect::SwitchContext { index } = effect {
            switch = Some(index);
            continue;
        }
        // The OSC 52 sequence must go to the terminal between frames, so the driver writes it.
        let osc52 = match &effect {
            Effect::Copy { token, .. } => {
                clipboard::write_osc52(terminal.backend_mut(), token.as_str()).is_ok()
            }
            _ => false,
        };
        effects.run(effect, osc52);
    }
    switch
}
