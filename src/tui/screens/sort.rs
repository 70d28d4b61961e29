//! The sort chooser (`s` on the account list): every column the server sorts by with its key, the current one
//! marked with its direction; a column's key (or Enter on it) sorts by it at once, the current column again
//! reverses it, Esc closes. State, keys and render together.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::accounts::{self, SortKey};
use super::{centered, list_move, modal, row};
use crate::tui::format::fit;
use crate::tui::keymap::{BINDINGS, Command, Context};
use crate::tui::msg::Effect;
use crate::tui::state::{Model, Overlay};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SortChooser {
    /// Index into `SortKey::CYCLE`.
    pub cursor: usize,
}

/// Opens the chooser on the column the list is sorted by.
pub fn open(model: &mut Model) {
    let cursor = SortKey::CYCLE
        .iter()
        .position(|k| *k == model.accounts.sort)
        .unwrap_or(0);
    model.overlay = Some(Overlay::Sort(SortChooser { cursor }));
}

/// Sorts the list by `key`; the column it is already sorted by is reversed instead.
pub fn sort_by(model: &mut Model, key: SortKey) -> Vec<Effect> {
    let list = &mut model.accounts;
    if list.sort == key {
        list.descending = !list.descending;
    } else {
        list.sort = key;
        // Times read best newest first; names alphabetically.
        list.descending = matches!(key, SortKey::Created | SortKey::LastUsed);
    }
    accounts::reload(model, false)
}

pub fn on_key(
    model: &mut Model,
    mut chooser: SortChooser,
    command: Option<Command>,
) -> Vec<Effect> {
    let n = SortKey::CYCLE.len();
    match command {
        Some(Command::Close) => return Vec::new(),
        Some(Command::SortColumn(key)) => return sort_by(model, key),
        Some(Command::Select) => {
            let key = SortKey::CYCLE[chooser.cursor.min(n - 1)];
            return sort_by(model, key);
        }
        Some(c) => {
            if let Some(to) = list_move(c, chooser.cursor, n, n) {
                chooser.cursor = to;
            }
        }
        None => {}
    }
    model.overlay = Some(Overlay::Sort(chooser));
    Vec::new()
}

/// The key the table binds to sort by `key` (`u`, `d`…).
fn key_of(key: SortKey) -> String {
    BINDINGS
        .iter()
        .find(|b| b.context == Context::Sort && b.command == Command::SortColumn(key))
        .map(|b| b.keys_label())
        .unwrap_or_default()
}

pub fn render(model: &Model, chooser: &SortChooser, area: Rect, buf: &mut Buffer) {
    let theme = model.theme;
    let list = &model.accounts;
    let height = (SortKey::CYCLE.len() as u16 + 3).min(area.height);
    let inner = modal(centered(area, 40, height), "Sort by", theme, buf);
    let w = usize::from(inner.width);
    for (i, key) in SortKey::CYCLE.iter().enumerate() {
        let Ok(y) = u16::try_from(i) else { break };
        if y >= inner.height.saturating_sub(1) {
            break;
        }
        let current = if *key == list.sort {
            if list.descending {
                " ↓ (again: ↑)"
            } else {
                " ↑ (again: ↓)"
            }
        } else {
            ""
        };
        let mut line = Line::from(vec![
            Span::styled(format!(" {} ", key_of(*key)), theme.key()),
            Span::raw(fit(key.label(), w.saturating_sub(18))),
            Span::styled(current, theme.dim()),
        ]);
        if i == chooser.cursor {
            line = line.style(theme.selected());
        }
        Paragraph::new(line).render(row(inner, y), buf);
    }
    Paragraph::new(Line::styled(
        fit("key or Enter sorts  Esc close", w),
        theme.dim(),
    ))
    .render(row(inner, inner.height.saturating_sub(1)), buf);
}
