//! The context switcher (`C`, k9s-style): the contexts of `config.toml` (and `embedded`), where each points and
//! whether it is read-only, the current one marked; Enter asks the driver to connect to the chosen one (the
//! console starts afresh there, the old connection kept until the new one answers), Esc closes. State, keys and
//! render together.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{centered, list_move, modal, row};
use crate::model::sanitize;
use crate::tui::format::fit;
use crate::tui::keymap::Command;
use crate::tui::msg::Effect;
use crate::tui::state::{Model, Overlay, Status};

/// What the switcher shows of a context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextEntry {
    pub name: String,
    /// `embedded` or the API URL.
    pub target: String,
    pub read_only: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContextPicker {
    pub cursor: usize,
}

/// Opens the switcher on the current context.
pub fn open(model: &mut Model) {
    if model.contexts.len() < 2 {
        model.status = Status::Info(
            "one context only: name more in $XDG_CONFIG_HOME/sacon/config.toml (sacon context list)".into(),
        );
        return;
    }
    let cursor = model
        .contexts
        .iter()
        .position(|c| Some(&c.name) == model.context_name.as_ref())
        .unwrap_or(0);
    model.overlay = Some(Overlay::Contexts(ContextPicker { cursor }));
}

pub fn on_key(
    model: &mut Model,
    mut picker: ContextPicker,
    command: Option<Command>,
) -> Vec<Effect> {
    let len = model.contexts.len();
    match command {
        Some(Command::Close) => return Vec::new(),
        Some(Command::Select) => {
            let Some(chosen) = model.contexts.get(picker.cursor) else {
                return Vec::new();
            };
            if Some(&chosen.name) == model.context_name.as_ref() {
                model.status =
                    Status::Info(format!("already in context {}", sanitize(&chosen.name)));
                return Vec::new();
            }
            model.status = Status::Busy(format!("connecting to {}", sanitize(&chosen.name)));
            return vec![Effect::SwitchContext {
                index: picker.cursor,
            }];
        }
        Some(c) => {
            if let Some(to) = list_move(c, picker.cursor, len, len.max(1)) {
                picker.cursor = to;
            }
        }
        None => {}
    }
    model.overlay = Some(Overlay::Contexts(picker));
    Vec::new()
}

pub fn render(model: &Model, picker: &ContextPicker, area: Rect, buf: &mut Buffer) {
    let theme = model.theme;
    let height = (model.contexts.len() as u16)
        .saturating_add(3)
        .min(area.height);
    let width = area.width.min(72);
    let inner = modal(centered(area, width, height), "Switch context", theme, buf);
    let w = usize::from(inner.width);
    for (i, c) in model.contexts.iter().enumerate() {
        let Ok(y) = u16::try_from(i) else { break };
        if y >= inner.height.saturating_sub(1) {
            break;
        }
        let current = Some(&c.name) == model.context_name.as_ref();
        let mark = if current { "● " } else { "  " };
        let ro = if c.read_only { "  read-only" } else { "" };
        let name = sanitize(&c.name);
        let target = fit(
            &sanitize(&c.target),
            w.saturating_sub(name.chars().count() + ro.len() + 5),
        );
        let mut line = Line::from(vec![
            Span::styled(mark, theme.ok()),
            Span::raw(name),
            Span::styled(format!("  {target}"), theme.dim()),
            Span::styled(ro, theme.warning()),
        ]);
        if i == picker.cursor {
            line = line.style(theme.selected());
        }
        Paragraph::new(line).render(row(inner, y), buf);
    }
    let hint = fit("Enter switch  Esc close", w);
    Paragraph::new(Line::styled(hint, theme.dim()))
        .render(row(inner, inner.height.saturating_sub(1)), buf);
}
