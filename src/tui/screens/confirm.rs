//! Yes/no questions before destructive or token-issuing actions (delete, rotate), naming the account's user id
//! and id, with the request's progress and any error shown in place: state, keys (the grace period, the request
//! on `y`), the delete's answer, render.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::{accounts, centered, modal, row};
use crate::api::ConnectError;
use crate::model::{ServiceAccount, sanitize};
use crate::tui::format::fit;
use crate::tui::keymap::Command;
use crate::tui::msg::Effect;
use crate::tui::state::{Load, Model, Overlay, Status};

#[derive(Debug, Clone, PartialEq)]
pub enum ConfirmAction {
    Delete(ServiceAccount),
    Rotate(ServiceAccount),
    Disable(ServiceAccount),
}

/// How long a rotated-out token keeps working, as the rotate question offers it (`←`/`→`).
pub const GRACE_PRESETS: [(&str, u64); 5] = [
    ("none: stops at once", 0),
    ("5 minutes", 5 * 60),
    ("1 hour", 3600),
    ("1 day", 86_400),
    ("7 days", 7 * 86_400),
];

#[derive(Debug, Clone, PartialEq)]
pub struct Confirm {
    pub action: ConfirmAction,
    /// Index into `GRACE_PRESETS` (rotation only).
    pub grace: usize,
    /// The request in flight after `y`.
    pub busy: Option<u64>,
    pub error: Option<String>,
    /// Delete only: the policies whose allowed users name the account's user id.
    pub naming: Load<Vec<String>>,
    /// Delete only: also take the user id out of those policies (`p` toggles).
    pub unname: bool,
}

impl Confirm {
    pub fn new(action: ConfirmAction) -> Confirm {
        Confirm {
            action,
            grace: 0,
            busy: None,
            error: None,
            naming: Load::Idle,
            unname: false,
        }
    }

    /// The delete question, asking meanwhile which policies name the account's user id.
    pub fn delete(model: &mut Model, account: ServiceAccount) -> (Confirm, Effect) {
        let seq = model.seq();
        let user_id = account.user_id.clone();
        let mut c = Confirm::new(ConfirmAction::Delete(account));
        c.naming = Load::Loading(seq);
        (c, Effect::LoadNaming { seq, user_id })
    }

    /// The grace period chosen for a rotation; `None` when old tokens stop at once.
    pub fn grace(&self) -> Option<std::time::Duration> {
        let secs = GRACE_PRESETS.get(self.grace).map_or(0, |p| p.1);
        (secs > 0).then(|| std::time::Duration::from_secs(secs))
    }

    /// Steps the grace preset left (`-1`) or right (`+1`), wrapping.
    pub fn step_grace(&mut self, by: isize) {
        let n = GRACE_PRESETS.len() as isize;
        self.grace = (self.grace as isize + by).rem_euclid(n) as usize;
    }

    pub fn account(&self) -> &ServiceAccount {
        match &self.action {
            ConfirmAction::Delete(a) | ConfirmAction::Rotate(a) | ConfirmAction::Disable(a) => a,
        }
    }
}

/// `y` sends the request (once), `←`/`→` choose the rotation's grace, `n`/Esc cancel unless a request is in
/// flight.
pub fn on_key(model: &mut Model, mut confirm: Confirm, command: Option<Command>) -> Vec<Effect> {
    let mut effects = Vec::new();
    match command {
        Some(Command::Yes) if confirm.busy.is_none() => {
            let seq = model.seq();
            confirm.busy = Some(seq);
            confirm.error = None;
            let id = confirm.account().id.clone();
            effects.push(match confirm.action {
                ConfirmAction::Delete(_) => Effect::Delete { seq, id },
                ConfirmAction::Disable(_) => Effect::SetDisabled {
                    seq,
                    id,
                    disabled: true,
                },
                ConfirmAction::Rotate(_) => Effect::Rotate {
                    seq,
                    id,
                    grace: confirm.grace(),
                },
            });
        }
        Some(Command::ToggleUnname)
            if confirm.busy.is_none() && confirm.naming.loaded().is_some_and(|n| !n.is_empty()) =>
        {
            confirm.unname = !confirm.unname;
        }
        Some(c @ (Command::Left | Command::Right)) if confirm.busy.is_none() => {
            confirm.step_grace(if c == Command::Left { -1 } else { 1 });
        }
        // A rotation in flight would issue a token nobody sees, so the question stays until it answers.
        Some(Command::No) if confirm.busy.is_some() => {
            model.status = Status::Busy("waiting for the server".into());
        }
        Some(Command::No) => return effects,
        _ => {}
    }
    model.overlay = Some(Overlay::Confirm(Box::new(confirm)));
    effects
}

/// Disabling the account asked first; enabling it again is safe and done at once.
pub fn toggle_disabled(model: &mut Model, account: ServiceAccount) -> Vec<Effect> {
    if !account.disabled {
        model.overlay = Some(Overlay::Confirm(Box::new(Confirm::new(
            ConfirmAction::Disable(account),
        ))));
        return Vec::new();
    }
    let seq = model.seq();
    model.overlay = None;
    model.status = Status::Busy(format!("enabling {}", sanitize(&account.user_id)));
    vec![Effect::SetDisabled {
        seq,
        id: account.id,
        disabled: false,
    }]
}

/// A disable or enable answered: the list refreshed, or the error (in the question when one is open).
pub fn on_disabled(
    model: &mut Model,
    seq: u64,
    result: Result<ServiceAccount, ConnectError>,
) -> Vec<Effect> {
    let asked = matches!(&model.overlay, Some(Overlay::Confirm(c)) if c.busy == Some(seq));
    match result {
        Ok(a) => {
            if asked {
                model.overlay = None;
            }
            let verb = if a.disabled { "disabled" } else { "enabled" };
            model.status = Status::Info(format!(
                "{verb} {} ({})",
                sanitize(&a.user_id),
                sanitize(&a.id)
            ));
            accounts::reload(model, true)
        }
        Err(e) => {
            if let Some(Overlay::Confirm(c)) = &mut model.overlay
                && asked
            {
                c.busy = None;
                c.error = Some(sanitize(&e.message));
            } else {
                model.status = Status::from_error("the change was refused", &e, false);
            }
            Vec::new()
        }
    }
}

/// The delete answered: the list refreshed, or the error in the question.
pub fn on_deleted(model: &mut Model, seq: u64, result: Result<(), ConnectError>) -> Vec<Effect> {
    let Some(Overlay::Confirm(c)) = &mut model.overlay else {
        return Vec::new();
    };
    if c.busy != Some(seq) {
        return Vec::new();
    }
    match result {
        Ok(()) => {
            let a = c.account();
            model.status = Status::Info(format!(
                "deleted {} ({})",
                sanitize(&a.user_id),
                sanitize(&a.id)
            ));
            let unname = (c.unname && c.naming.loaded().is_some_and(|n| !n.is_empty()))
                .then(|| a.user_id.clone());
            model.reach.remove(&a.id);
            model.overlay = None;
            let mut effects = accounts::reload(model, true);
            if let Some(user_id) = unname {
                effects.push(Effect::Unname { user_id });
            }
            effects
        }
        Err(e) => {
            c.busy = None;
            c.error = Some(sanitize(&e.message));
            Vec::new()
        }
    }
}

/// Which policies name the user id of the account about to be deleted. A unique account's user id exists only
/// for it, so taking it out is offered as the default; an impersonated one is a person who may be named for
/// themselves, so it is offered but off.
pub fn on_naming(model: &mut Model, seq: u64, result: Result<Vec<String>, ConnectError>) {
    let impersonated = match &model.overlay {
        Some(Overlay::Confirm(c)) if c.naming == Load::Loading(seq) => {
            model.kind_of(&c.account().user_id) == Some(true)
        }
        _ => return,
    };
    if let Some(Overlay::Confirm(c)) = &mut model.overlay {
        match result {
            Ok(names) => {
                c.unname = !names.is_empty() && !impersonated;
                c.naming = Load::Loaded(names);
            }
            Err(e) => c.naming = Load::Failed(e),
        }
    }
}

/// The deleted account's user id taken out of policies: said on the status line.
pub fn on_unnamed(model: &mut Model, user_id: &str, result: Result<Vec<String>, ConnectError>) {
    model.status = match result {
        Ok(names) => Status::Info(format!(
            "deleted, and took {} out of {} polic{}: {}",
            sanitize(user_id),
            names.len(),
            if names.len() == 1 { "y" } else { "ies" },
            sanitize(&names.join(", "))
        )),
        Err(e) => Status::from_error(
            &format!(
                "deleted, but {} is still named by policies",
                sanitize(user_id)
            ),
            &e,
            false,
        ),
    };
}

pub fn render(model: &Model, confirm: &Confirm, area: Rect, buf: &mut Buffer) {
    let theme = model.theme;
    let a = confirm.account();
    let (title, question, consequence) = match &confirm.action {
        ConfirmAction::Delete(_) => (
            "Delete account",
            "Delete this account?",
            "Its token stops working at once. This cannot be undone.",
        ),
        ConfirmAction::Disable(_) => (
            "Disable account",
            "Disable this account?",
            "/verify refuses its token until it is enabled again (D); the token itself is kept.",
        ),
        ConfirmAction::Rotate(_) => (
            "Rotate token",
            "Issue a new token for this account?",
            if confirm.grace() == Some(std::time::Duration::ZERO) || confirm.grace().is_none() {
                "The new token is shown once; the old one stops working at once."
            } else {
                "The new token is shown once; the old one keeps working for the grace period."
            },
        ),
    };
    let outer = centered(area, 70, 10);
    let inner = modal(outer, title, theme, buf);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let w = usize::from(inner.width);
    Paragraph::new(Line::styled(fit(question, w), theme.title())).render(row(inner, 0), buf);
    Paragraph::new(Line::from(vec![
        Span::styled("User ID ", theme.dim()),
        Span::raw(fit(&sanitize(&a.user_id), w.saturating_sub(8))),
    ]))
    .render(row(inner, 1), buf);
    Paragraph::new(Line::from(vec![
        Span::styled("ID      ", theme.dim()),
        Span::raw(fit(&sanitize(&a.id), w.saturating_sub(8))),
    ]))
    .render(row(inner, 2), buf);
    let mut body_top = 3;
    if let Some(names) = confirm.naming.loaded().filter(|n| !n.is_empty()) {
        let answer = if confirm.unname { "yes" } else { "no" };
        Paragraph::new(Line::from(vec![
            Span::styled("Policies ", theme.dim()),
            Span::raw(fit(
                &format!(
                    "also take it out of {}: {answer} ",
                    sanitize(&names.join(", "))
                ),
                w.saturating_sub(18),
            )),
            Span::styled("(p)", theme.key()),
        ]))
        .render(row(inner, 3), buf);
        body_top = 4;
    }
    if matches!(confirm.action, ConfirmAction::Rotate(_)) {
        let label = GRACE_PRESETS.get(confirm.grace).map_or("", |p| p.0);
        Paragraph::new(Line::from(vec![
            Span::styled("Old token ", theme.dim()),
            Span::styled("◂ ", theme.key()),
            Span::raw(fit(label, w.saturating_sub(14))),
            Span::styled(" ▸", theme.key()),
        ]))
        .render(row(inner, 3), buf);
        body_top = 4;
    }
    let rest = Rect {
        y: inner.y + body_top.min(inner.height),
        height: inner.height.saturating_sub(body_top + 1),
        ..inner
    };
    let body = match (&confirm.error, confirm.busy) {
        (Some(e), _) => Line::styled(format!("✗ {}", sanitize(e)), theme.error()),
        (None, Some(_)) => Line::styled("working…", theme.dim()),
        (None, None) => Line::styled(consequence, theme.warning()),
    };
    Paragraph::new(body)
        .wrap(Wrap { trim: true })
        .render(rest, buf);
    let last = row(inner, inner.height.saturating_sub(1).max(3));
    Paragraph::new(Line::from(vec![
        Span::styled("y", theme.key()),
        Span::raw(" yes   "),
        Span::styled("n/Esc", theme.key()),
        Span::raw(" no"),
    ]))
    .render(last, buf);
}
