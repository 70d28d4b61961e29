//! The account list's filter line: typed on a row of its own, applied as you type once the typing pauses
//! (`FILTER_DEBOUNCE`, one query per burst), kept with Enter, cleared with Esc.

use crossterm::event::KeyEvent;

use super::{FILTER_DEBOUNCE, on_resize, reload};
use crate::tui::keymap::Command;
use crate::tui::msg::Effect;
use crate::tui::screens::{field_input, field_paste, field_text};
use crate::tui::state::Model;

/// The filter line applies as you type, `FILTER_DEBOUNCE` after the last keystroke (one query for a burst);
/// Enter applies at once and closes the line, Esc clears the filter.
pub fn on_filter_key(
    model: &mut Model,
    command: Option<Command>,
    key: KeyEvent,
    now: std::time::Instant,
) -> Vec<Effect> {
    match command {
        Some(Command::ApplyFilter) => {
            if let Some(ta) = model.accounts.filter_input.take() {
                model.accounts.filter_due = None;
                let typed = field_text(&ta).trim().to_string();
                if typed != model.accounts.filter {
                    model.accounts.filter = typed;
                    return reload(model, false);
                }
                // The line gave its row back to the list.
                return on_resize(model);
            }
        }
        Some(Command::Close) => {
            model.accounts.filter_input = None;
            model.accounts.filter_due = None;
            if !model.accounts.filter.is_empty() {
                model.accounts.filter.clear();
                return reload(model, false);
            }
            return on_resize(model);
        }
        _ => {
            if let Some(ta) = model.accounts.filter_input.as_mut()
                && field_input(ta, key)
            {
                model.accounts.filter_due = Some(now + FILTER_DEBOUNCE);
            }
        }
    }
    Vec::new()
}

/// A pasted filter applies like a typed one.
pub fn on_filter_paste(model: &mut Model, text: &str, now: std::time::Instant) {
    if let Some(ta) = model.accounts.filter_input.as_mut()
        && field_paste(ta, text)
    {
        model.accounts.filter_due = Some(now + FILTER_DEBOUNCE);
    }
}

/// On a tick: applies the typed filter once it is due.
pub fn on_tick(model: &mut Model, now: std::time::Instant) -> Vec<Effect> {
    if model.accounts.filter_due.is_none_or(|due| due > now) {
        return Vec::new();
    }
    model.accounts.filter_due = None;
    let Some(ta) = &model.accounts.filter_input else {
        return Vec::new();
    };
    let typed = field_text(ta).trim().to_string();
    if typed == model.accounts.filter {
        return Vec::new();
    }
    model.accounts.filter = typed;
    reload(model, false)
}
