//! The one-time token view after create, update and rotate: masked until revealed, copy, save (path prompt,
//! overwrite confirmation), curl lines for the three header forms, and the "cannot be shown again" question
//! when closing a token that was neither copied nor saved. The token is zeroized when this view is dropped.
//! State, keys (and the copy and save answers), render.

use std::path::PathBuf;

use crossterm::event::KeyEvent;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};
use ratatui_textarea::TextArea;

use super::{centered, field_input, field_text, modal, row, text_field};
use crate::model::{ServiceAccount, sanitize};
use crate::token::HeaderForm;
use crate::tui::format::{fit, mask};
use crate::tui::keymap::Command;
use crate::tui::msg::{CopyReport, Effect, SaveError, Token};
use crate::tui::state::{Model, Overlay, Status};

/// The question or prompt open in the view.
#[derive(Debug)]
pub enum SecretPrompt {
    None,
    SavePath(Box<TextArea<'static>>),
    /// The file exists: overwrite it?
    Overwrite(PathBuf),
    /// Neither copied nor saved: close anyway?
    ConfirmClose,
    /// Neither copied nor saved, and Ctrl-C pressed: quit anyway?
    ConfirmQuit,
}

#[derive(Debug)]
pub struct SecretView {
    pub token: Token,
    pub account: ServiceAccount,
    pub heading: &'static str,
    pub revealed: bool,
    /// The system clipboard took the token (confirmed).
    pub copied: bool,
    /// The OSC 52 sequence went to the terminal, which never says whether it acted on it.
    pub sent_to_terminal: bool,
    pub saved: Option<PathBuf>,
    pub curl: bool,
    pub prompt: SecretPrompt,
    /// The save request in flight.
    pub saving: Option<u64>,
    /// The copy request in flight.
    pub copying: Option<u64>,
    /// The outcome of the last copy, save or grant, `(is_error, text)`.
    pub note: Option<(bool, String)>,
    /// The grant-access step, open over the token.
    pub grant: Option<super::grant::GrantPicker>,
}

impl SecretView {
    pub fn new(token: Token, account: ServiceAccount, heading: &'static str) -> SecretView {
        SecretView {
            token,
            account,
            heading,
            revealed: false,
            copied: false,
            sent_to_terminal: false,
            saved: None,
            curl: false,
            prompt: SecretPrompt::None,
            saving: None,
            copying: None,
            note: None,
            grant: None,
        }
    }

    /// Closing loses the token for good unless it surely went somewhere: saved, or on the system clipboard.
    /// An OSC 52 copy cannot be confirmed (tmux may drop it), so it does not count.
    pub fn kept(&self) -> bool {
        self.copied || self.saved.is_some()
    }

    /// The save prompt's starting text: `<cwd>/<user-id>.jwt` (absolute, so it is plain where the file goes), the
    /// id made safe as a file name; `./<user-id>.jwt` when the working directory is unknown.
    pub fn default_path(&self, cwd: Option<&std::path::Path>) -> String {
        let name: String = sanitize(&self.account.user_id)
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '@') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let name = name.trim_start_matches('.');
        let name = if name.is_empty() { "token" } else { name };
        match cwd {
            Some(dir) => dir.join(format!("{name}.jwt")).display().to_string(),
            None => format!("./{name}.jwt"),
        }
    }

    pub fn open_save_prompt(&mut self, cwd: Option<&std::path::Path>) {
        let mut ta = text_field(&self.default_path(cwd));
        super::set_field_focus(&mut ta, true);
        self.prompt = SecretPrompt::SavePath(Box::new(ta));
    }

    /// What is drawn for the token: masked unless revealed.
    pub fn shown(&self) -> String {
        if self.revealed {
            self.token.as_str().to_string()
        } else {
            mask(self.token.as_str())
        }
    }

    /// `curl` lines for the three header forms, with the token as shown.
    pub fn curl_lines(&self) -> Vec<String> {
        let shown = self.shown();
        HeaderForm::ALL
            .iter()
            .map(|form| {
                let (name, value) = form.header(&shown);
                format!("curl -H '{name}: {value}' \"$URL\"")
            })
            .collect()
    }
}

/// The view's keys, and those of whichever prompt is open in it.
pub fn on_key(
    model: &mut Model,
    mut view: SecretView,
    command: Option<Command>,
    key: KeyEvent,
) -> Vec<Effect> {
    let mut effects = Vec::new();
    if view.grant.is_some() {
        effects.extend(super::grant::on_key(model, &mut view, command));
        model.overlay = Some(Overlay::Secret(Box::new(view)));
        return effects;
    }
    match std::mem::replace(&mut view.prompt, SecretPrompt::None) {
        SecretPrompt::SavePath(mut ta) => match command {
            Some(Command::Submit) => {
                let path = field_text(&ta).trim().to_string();
                if path.is_empty() {
                    view.note = Some((true, "Type a path to save to.".into()));
                } else if view.saving.is_none() {
                    let seq = model.seq();
                    view.saving = Some(seq);
                    effects.push(Effect::Save {
                        seq,
                        path: path.into(),
                        token: view.token.clone(),
                        overwrite: false,
                    });
                }
                view.prompt = SecretPrompt::SavePath(ta);
            }
            Some(Command::Close) => {}
            _ => {
                field_input(&mut ta, key);
                view.prompt = SecretPrompt::SavePath(ta);
            }
        },
        SecretPrompt::Overwrite(path) => match command {
            Some(Command::Yes) => {
                let seq = model.seq();
                view.saving = Some(seq);
                effects.push(Effect::Save {
                    seq,
                    path,
                    token: view.token.clone(),
                    overwrite: true,
                });
            }
            Some(Command::No) => view.note = Some((false, "Not saved.".into())),
            _ => view.prompt = SecretPrompt::Overwrite(path),
        },
        SecretPrompt::ConfirmClose => match command {
            Some(Command::Yes) => {
                model.status = Status::Info("token view closed; the token was not kept".into());
                return effects;
            }
            Some(Command::No) => {}
            _ => view.prompt = SecretPrompt::ConfirmClose,
        },
        SecretPrompt::ConfirmQuit => match command {
            Some(Command::Yes) => {
                model.quit = true;
                return effects;
            }
            Some(Command::No) => {}
            _ => view.prompt = SecretPrompt::ConfirmQuit,
        },
        SecretPrompt::None => match command {
            Some(Command::Reveal) => view.revealed = !view.revealed,
            Some(Command::Copy) => {
                let seq = model.seq();
                view.copying = Some(seq);
                effects.push(Effect::Copy {
                    seq,
                    token: view.token.clone(),
                });
            }
            Some(Command::Save) => view.open_save_prompt(model.cwd.as_deref()),
            Some(Command::CurlLines) => view.curl = !view.curl,
            Some(Command::GrantAccess) => effects.extend(super::grant::open(model, &mut view)),
            Some(Command::Close) => {
                if view.kept() {
                    model.status = Status::Info("token view closed".into());
                    return effects;
                }
                view.prompt = SecretPrompt::ConfirmClose;
            }
            _ => {}
        },
    }
    model.overlay = Some(Overlay::Secret(Box::new(view)));
    effects
}

/// What the copy managed, in the view and the status line.
pub fn on_copied(model: &mut Model, seq: u64, report: CopyReport) {
    let Some(Overlay::Secret(view)) = &mut model.overlay else {
        return;
    };
    if view.copying != Some(seq) {
        return;
    }
    view.copying = None;
    let system_ok = report.system.is_ok();
    view.copied = view.copied || system_ok;
    view.sent_to_terminal = view.sent_to_terminal || report.osc52;
    let why = report
        .system
        .err()
        .map(|e| sanitize(&e))
        .unwrap_or_default();
    let note: (bool, String) = match (report.osc52, system_ok) {
        (true, true) => (
            false,
            "Sent to the terminal clipboard (OSC 52) and the system clipboard.".into(),
        ),
        (true, false) => (
            false,
            format!(
                "Sent to the terminal (OSC 52; cannot be confirmed); system clipboard: {why}. Paste it \
                 somewhere to check, or save it with s."
            ),
        ),
        (false, true) => (false, "Copied to the system clipboard.".into()),
        (false, false) => (
            true,
            format!("Could not copy ({why}). Save it with s instead."),
        ),
    };
    model.status = if note.0 {
        Status::Error {
            text: note.1.clone(),
            retry: false,
        }
    } else {
        Status::Info(note.1.clone())
    };
    view.note = Some(note);
}

/// Saved, or the file exists (ask before overwriting), or failed.
pub fn on_saved(model: &mut Model, seq: u64, result: Result<PathBuf, SaveError>) {
    let Some(Overlay::Secret(view)) = &mut model.overlay else {
        return;
    };
    if view.saving != Some(seq) {
        return;
    }
    view.saving = None;
    match result {
        Ok(path) => {
            view.note = Some((
                false,
                format!(
                    "Saved to {} (mode 0600).",
                    sanitize(&path.display().to_string())
                ),
            ));
            view.saved = Some(path);
            view.prompt = SecretPrompt::None;
        }
        Err(SaveError::Exists(path)) => {
            view.prompt = SecretPrompt::Overwrite(path);
        }
        Err(SaveError::Failed(message)) => {
            view.note = Some((true, format!("Not saved: {}", sanitize(&message))));
        }
    }
}

/// The token view's box: wide enough for the whole token on one line when the terminal is (at least 90
/// columns), never wider than the terminal.
fn box_width(area: Rect, view: &SecretView) -> u16 {
    let wanted = u16::try_from(view.token.as_str().chars().count() + 4).unwrap_or(u16::MAX);
    wanted.max(90).min(area.width)
}

/// Rows `text` takes wrapped at `width` characters.
fn rows_for(text: &str, width: u16) -> u16 {
    u16::try_from(text.chars().count().div_ceil(usize::from(width.max(1)))).unwrap_or(u16::MAX)
}

pub fn render(model: &Model, view: &SecretView, area: Rect, buf: &mut Buffer) {
    let theme = model.theme;
    let outer_width = box_width(area, view);
    // What wraps inside the box: its width less the borders.
    let inner_width = outer_width.saturating_sub(2).max(1);
    let token_rows: u16 = if view.revealed {
        rows_for(view.token.as_str(), inner_width)
    } else {
        1
    };
    let curl_lines = if view.curl {
        view.curl_lines()
    } else {
        Vec::new()
    };
    // Revealed lines wrap so they can be copied whole; masked ones are cut.
    let line_rows = |l: &String| -> u16 {
        if view.revealed {
            rows_for(l, inner_width)
        } else {
            1
        }
    };
    let mut curl_rows: u16 = if view.curl {
        2 + curl_lines.iter().map(line_rows).sum::<u16>()
    } else {
        0
    };
    // Borders, account, warning, state, note and prompt: 7 rows besides the token and the curl lines.
    let fixed = 7u16;
    // What does not fit is said, never silently cut: the curl lines first, then the token itself.
    let curl_fit = fixed + token_rows + curl_rows <= area.height;
    if view.curl && !curl_fit {
        curl_rows = 1;
    }
    // The token itself needs the borders, the account and the warning above it; the state, note and prompt rows
    // give way first (the footer still names the keys).
    let token_fits = 4 + token_rows <= area.height;
    let outer = centered(area, outer_width, fixed + token_rows + curl_rows);
    let inner = modal(outer, view.heading, theme, buf);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let w = usize::from(inner.width);
    let mut y = 0u16;
    let who = format!(
        "{} · {}",
        sanitize(&view.account.user_id),
        sanitize(&view.account.id)
    );
    Paragraph::new(Line::from(vec![
        Span::styled("Account ", theme.dim()),
        Span::raw(fit(&who, w.saturating_sub(8))),
    ]))
    .render(row(inner, y), buf);
    y += 1;
    Paragraph::new(Line::styled(
        fit("This token is shown only now. Copy it or save it.", w),
        theme.warning(),
    ))
    .render(row(inner, y), buf);
    y += 1;
    let token_area = Rect {
        y: inner.y + y.min(inner.height),
        height: token_rows.min(inner.height.saturating_sub(y)),
        ..inner
    };
    if token_fits {
        // Cut at exact widths (a token has no spaces to wrap at), so every character is on screen.
        for (i, piece) in chunks(&view.shown(), w).into_iter().enumerate() {
            let Ok(i) = u16::try_from(i) else { break };
            Paragraph::new(Line::styled(piece, theme.token())).render(row(token_area, i), buf);
        }
    } else {
        Paragraph::new(Line::styled(
            format!(
                "The token does not fit in {}×{}: enlarge the terminal, or save it with s.",
                area.width, area.height
            ),
            theme.error(),
        ))
        .wrap(Wrap { trim: false })
        .render(token_area, buf);
    }
    y += token_rows;
    let copy_state = match (view.copied, view.sent_to_terminal) {
        (true, _) => Some("copied"),
        (false, true) => Some("sent to the terminal (cannot be confirmed)"),
        (false, false) => None,
    };
    let state = match (&view.saved, copy_state) {
        (Some(p), Some(c)) => format!("{c}; saved to {}", sanitize(&p.display().to_string())),
        (Some(p), None) => format!("saved to {}", sanitize(&p.display().to_string())),
        (None, Some(c)) => c.to_string(),
        (None, None) => "not copied or saved yet".to_string(),
    };
    Paragraph::new(Line::styled(fit(&state, w), theme.dim())).render(row(inner, y), buf);
    y += 1;
    if let Some((is_error, text)) = &view.note {
        let style = if *is_error { theme.error() } else { theme.ok() };
        Paragraph::new(Line::styled(fit(text, w), style)).render(row(inner, y), buf);
    }
    y += 1;
    if view.curl && !curl_fit {
        Paragraph::new(Line::styled(
            fit(
                &format!(
                    "The curl lines do not fit in {}×{}: enlarge the terminal, or save the token with s.",
                    area.width, area.height
                ),
                w,
            ),
            theme.error(),
        ))
        .render(row(inner, y), buf);
        y += 1;
    } else if view.curl {
        Paragraph::new(Line::styled(
            fit("Present it with any of (set URL to your route):", w),
            theme.dim(),
        ))
        .render(row(inner, y), buf);
        y += 1;
        for line in &curl_lines {
            let rows = line_rows(line);
            let r = Rect {
                y: inner.y + y.min(inner.height),
                height: rows.min(inner.height.saturating_sub(y)),
                ..inner
            };
            if view.revealed {
                for (i, piece) in chunks(line, w).into_iter().take(rows.into()).enumerate() {
                    Paragraph::new(Line::raw(piece)).render(row(r, i as u16), buf);
                }
            } else {
                Paragraph::new(Line::raw(fit(line, w))).render(r, buf);
            }
            y += rows;
        }
        y += 1;
    }
    let prompt_row = row(inner, inner.height.saturating_sub(1).max(y));
    match &view.prompt {
        SecretPrompt::None => {
            let keys = "v reveal · c copy · s save · h curl · Esc close";
            Paragraph::new(Line::styled(fit(keys, w), theme.dim())).render(prompt_row, buf);
        }
        SecretPrompt::SavePath(ta) => {
            Paragraph::new(Line::styled("Save to ", theme.focused())).render(prompt_row, buf);
            let field = Rect {
                x: prompt_row.x + 8.min(prompt_row.width),
                width: prompt_row.width.saturating_sub(8),
                ..prompt_row
            };
            ta.render(field, buf);
        }
        SecretPrompt::Overwrite(p) => {
            let q = format!(
                "{} exists. Overwrite? (y/N)",
                sanitize(&p.display().to_string())
            );
            Paragraph::new(Line::styled(fit(&q, w), theme.error())).render(prompt_row, buf);
        }
        SecretPrompt::ConfirmClose | SecretPrompt::ConfirmQuit => {
            let what = if matches!(view.prompt, SecretPrompt::ConfirmQuit) {
                "Quit"
            } else {
                "Close"
            };
            let why = if view.sent_to_terminal {
                "The copy went only to the terminal, which cannot confirm it; this token cannot be shown again."
            } else {
                "This token cannot be shown again."
            };
            Paragraph::new(Line::styled(
                fit(&format!("{why} {what} anyway? (y/N)"), w),
                theme.error(),
            ))
            .render(prompt_row, buf);
        }
    }
}

/// `text` cut into pieces of `width` characters (tokens and curl lines have no spaces to wrap at).
fn chunks(text: &str, width: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars
        .chunks(width.max(1))
        .map(|c| c.iter().collect())
        .collect()
}
