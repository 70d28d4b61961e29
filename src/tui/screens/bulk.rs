//! One question before a change to every marked account (`d`, `D` with marks): it names the action and how
//! many, lists them (user id, the person, namespace), and on `y` sends one request per account; the answer
//! unmarks what was done and keeps the refusals marked, naming the first. State, keys and render together.

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
use crate::tui::state::{Model, Overlay, Status};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkAction {
    Delete,
    Disable,
    Enable,
}

impl BulkAction {
    fn verb(self) -> &'static str {
        match self {
            BulkAction::Delete => "delete",
            BulkAction::Disable => "disable",
            BulkAction::Enable => "enable",
        }
    }

    fn done(self) -> &'static str {
        match self {
            BulkAction::Delete => "deleted",
            BulkAction::Disable => "disabled",
            BulkAction::Enable => "enabled",
        }
    }

    fn consequence(self) -> &'static str {
        match self {
            BulkAction::Delete => "Their tokens stop working at once. This cannot be undone.",
            BulkAction::Disable => {
                "/verify refuses their tokens until they are enabled again; the tokens are kept."
            }
            BulkAction::Enable => "Their tokens verify again (those not expired or superseded).",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct BulkConfirm {
    pub action: BulkAction,
    /// The accounts it changes, by user id.
    pub accounts: Vec<ServiceAccount>,
    /// The requests in flight after `y`.
    pub busy: Option<u64>,
}

/// `d` with marks: delete them all, after the question.
pub fn delete(model: &mut Model) {
    let accounts: Vec<ServiceAccount> = model.accounts.marked.values().cloned().collect();
    ask(model, BulkAction::Delete, accounts);
}

/// `D` with marks: disable the enabled ones, or, when every marked one is disabled, enable them all.
pub fn toggle_disabled(model: &mut Model) {
    let marked: Vec<ServiceAccount> = model.accounts.marked.values().cloned().collect();
    if marked.iter().all(|a| a.disabled) {
        ask(model, BulkAction::Enable, marked);
    } else {
        let enabled = marked.into_iter().filter(|a| !a.disabled).collect();
        ask(model, BulkAction::Disable, enabled);
    }
}

fn ask(model: &mut Model, action: BulkAction, mut accounts: Vec<ServiceAccount>) {
    if accounts.is_empty() {
        model.status = Status::Info("no account marked (Space marks one)".into());
        return;
    }
    accounts.sort_by(|a, b| a.user_id.cmp(&b.user_id).then(a.id.cmp(&b.id)));
    model.overlay = Some(Overlay::Bulk(Box::new(BulkConfirm {
        action,
        accounts,
        busy: None,
    })));
}

/// `y` sends the requests (once); `n`/Esc cancel unless they are in flight.
pub fn on_key(model: &mut Model, mut bulk: BulkConfirm, command: Option<Command>) -> Vec<Effect> {
    let mut effects = Vec::new();
    match command {
        Some(Command::Yes) if bulk.busy.is_none() => {
            let seq = model.seq();
            bulk.busy = Some(seq);
            effects.push(Effect::Bulk {
                seq,
                action: bulk.action,
                ids: bulk.accounts.iter().map(|a| a.id.clone()).collect(),
            });
        }
        Some(Command::No) if bulk.busy.is_some() => {
            model.status = Status::Busy("waiting for the server".into());
        }
        Some(Command::No) => return effects,
        _ => {}
    }
    model.overlay = Some(Overlay::Bulk(Box::new(bulk)));
    effects
}

/// The answers: what was done is unmarked, refusals stay marked and the first is named.
pub fn on_done(
    model: &mut Model,
    seq: u64,
    results: Vec<(String, Result<(), ConnectError>)>,
) -> Vec<Effect> {
    let Some(Overlay::Bulk(bulk)) = &model.overlay else {
        return Vec::new();
    };
    if bulk.busy != Some(seq) {
        return Vec::new();
    }
    let action = bulk.action;
    model.overlay = None;
    let total = results.len();
    let mut refused = Vec::new();
    for (id, result) in results {
        match result {
            Ok(()) => {
                model.accounts.marked.remove(&id);
            }
            Err(e) => refused.push((id, e)),
        }
    }
    let done = total - refused.len();
    let plural = |n: usize| if n == 1 { "account" } else { "accounts" };
    model.status = match refused.first() {
        None => Status::Info(format!("{} {done} {}", action.done(), plural(done))),
        Some((id, e)) => Status::Error {
            text: format!(
                "{} {done} of {total}; {} refused (still marked), first {}: {}",
                action.done(),
                refused.len(),
                sanitize(id),
                sanitize(&e.message)
            ),
            retry: false,
        },
    };
    accounts::reload(model, true)
}

pub fn render(model: &Model, bulk: &BulkConfirm, area: Rect, buf: &mut Buffer) {
    let theme = model.theme;
    let n = bulk.accounts.len();
    let s = if n == 1 { "" } else { "s" };
    let title = format!("{} {n} account{s}", capitalize(bulk.action.verb()));
    let wanted = u16::try_from(n)
        .unwrap_or(u16::MAX)
        .saturating_add(7)
        .min(20);
    let inner = modal(centered(area, 76, wanted), &title, theme, buf);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let w = usize::from(inner.width);
    let question = format!("{} these {n} account{s}?", capitalize(bulk.action.verb()));
    Paragraph::new(Line::styled(fit(&question, w), theme.title())).render(row(inner, 0), buf);
    // Rows left for the list: the question, the consequence (two lines), the keys.
    let room = usize::from(inner.height.saturating_sub(4));
    let shown = if n > room { room.saturating_sub(1) } else { n };
    for (i, a) in bulk.accounts.iter().take(shown).enumerate() {
        let y = u16::try_from(i + 1).unwrap_or(u16::MAX);
        let person = model
            .people
            .get(&a.user_id)
            .map(|u| format!("  {}", sanitize(&u.name)))
            .unwrap_or_default();
        let ns = format!("  {}", model.namespace_name(&a.namespace_id));
        let mark = if a.disabled {
            crate::display::DISABLED_SYMBOL
        } else {
            "•"
        };
        Paragraph::new(Line::from(vec![
            Span::styled(format!("{mark} "), theme.dim()),
            Span::raw(fit(
                &sanitize(&a.user_id),
                w.saturating_sub(2 + ns.len().min(20)),
            )),
            Span::styled(fit(&person, 24), theme.dim()),
            Span::styled(fit(&ns, 20), theme.dim()),
        ]))
        .render(row(inner, y), buf);
    }
    let mut next = u16::try_from(shown + 1).unwrap_or(u16::MAX);
    if shown < n {
        Paragraph::new(Line::styled(
            format!("… and {} more", n - shown),
            theme.dim(),
        ))
        .render(row(inner, next), buf);
        next = next.saturating_add(1);
    }
    let body = match bulk.busy {
        Some(_) => Line::styled("working…", theme.dim()),
        None => Line::styled(bulk.action.consequence(), theme.warning()),
    };
    let rest = Rect {
        y: inner.y + next.min(inner.height),
        height: inner.height.saturating_sub(next + 1),
        ..inner
    };
    Paragraph::new(body)
        .wrap(Wrap { trim: true })
        .render(rest, buf);
    Paragraph::new(Line::from(vec![
        Span::styled("y", theme.key()),
        Span::raw(" yes   "),
        Span::styled("n/Esc", theme.key()),
        Span::raw(" no"),
    ]))
    .render(row(inner, inner.height.saturating_sub(1)), buf);
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}
