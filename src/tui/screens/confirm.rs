//! Yes/no questions before destructive or token-issuing actions (delete, rotate), naming the account's user id
//! and id, with the request's progress and any error shown in place.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::{centered, modal, row};
use crate::model::{ServiceAccount, sanitize};
use crate::tui::format::fit;
use crate::tui::state::Model;

#[derive(Debug, Clone, PartialEq)]
pub enum ConfirmAction {
    Delete(ServiceAccount),
    Rotate(ServiceAccount),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Confirm {
    pub action: ConfirmAction,
    /// The request in flight after `y`.
    pub busy: Option<u64>,
    pub error: Option<String>,
}

impl Confirm {
    pub fn new(action: ConfirmAction) -> Confirm {
        Confirm {
            action,
            busy: None,
            error: None,
        }
    }

    pub fn account(&self) -> &ServiceAccount {
        match &self.action {
            ConfirmAction::Delete(a) | ConfirmAction::Rotate(a) => a,
        }
    }
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
        ConfirmAction::Rotate(_) => (
            "Rotate token",
            "Issue a new token for this account?",
            "The new token is shown once; the old one stops working.",
        ),
    };
    let outer = centered(area, 70, 9);
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
    let rest = Rect {
        y: inner.y + 3.min(inner.height),
        height: inner.height.saturating_sub(4),
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
