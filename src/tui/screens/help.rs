//! The help overlay: every binding of the keymap table the session offers, grouped by context, filtered as the
//! admin types; its keys (scroll, close, type) and its render.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};
use ratatui_textarea::TextArea;

use super::{centered, field_input, field_text, modal, row, set_field_focus, text_field};
use crate::tui::format::fit;
use crate::tui::keymap::{Command, help_sections};
use crate::tui::permissions::Permissions;
use crate::tui::state::Model;

#[derive(Debug)]
pub struct HelpView {
    pub filter: TextArea<'static>,
    /// First line shown.
    pub scroll: usize,
    /// What the session offers: help lists only those keys.
    pub permissions: Permissions,
}

impl Default for HelpView {
    fn default() -> Self {
        HelpView::new(Permissions::FULL)
    }
}

impl HelpView {
    pub fn new(permissions: Permissions) -> HelpView {
        let mut filter = text_field("");
        filter.set_placeholder_text("type to filter");
        set_field_focus(&mut filter, true);
        HelpView {
            filter,
            scroll: 0,
            permissions,
        }
    }

    /// The lines of the overlay for the current filter: section titles and `keys  description` rows.
    pub fn lines(&self) -> Vec<(bool, String, String)> {
        let mut out = Vec::new();
        for (title, rows) in help_sections(&field_text(&self.filter), self.permissions) {
            out.push((true, title.to_string(), String::new()));
            for (keys, desc) in rows {
                out.push((false, keys, desc.to_string()));
            }
        }
        out
    }

    pub fn scroll_by(&mut self, delta: isize) {
        let max = self.lines().len().saturating_sub(1);
        self.scroll = self.scroll.saturating_add_signed(delta).min(max);
    }
}

/// Scrolls, closes, or types into the filter.
pub fn on_key(model: &mut Model, command: Option<Command>, key: KeyEvent) {
    let page = usize::from(crate::tui::screens::frame::body_area(model.size).height) as isize;
    let Some(help) = model.help.as_mut() else {
        return;
    };
    // `?` and `q` close help until a filter is being typed; then they are letters like any other.
    let typed_letter = matches!(key.code, KeyCode::Char(_)) && !field_text(&help.filter).is_empty();
    match command {
        Some(Command::Close) if !typed_letter => model.help = None,
        Some(Command::Up) => help.scroll_by(-1),
        Some(Command::Down) => help.scroll_by(1),
        Some(Command::PageUp) => help.scroll_by(-page),
        Some(Command::PageDown) => help.scroll_by(page),
        _ => {
            if field_input(&mut help.filter, key) {
                help.scroll = 0;
            }
        }
    }
}

pub fn render(model: &Model, help: &HelpView, area: Rect, buf: &mut Buffer) {
    let theme = model.theme;
    let outer = centered(area, 72, area.height);
    let inner = modal(outer, "Keys", theme, buf);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let filter_row = row(inner, 0);
    Paragraph::new(Line::styled("Filter: ", theme.dim())).render(filter_row, buf);
    let field = Rect {
        x: filter_row.x + 8.min(filter_row.width),
        width: filter_row.width.saturating_sub(8),
        ..filter_row
    };
    help.filter.render(field, buf);
    let lines = help.lines();
    let w = usize::from(inner.width);
    let body = inner.height.saturating_sub(1);
    if lines.is_empty() {
        Paragraph::new(Line::styled("No key matches.", theme.dim())).render(row(inner, 1), buf);
        return;
    }
    let scroll = help.scroll.min(lines.len().saturating_sub(1));
    for (i, (is_title, keys, desc)) in lines.iter().skip(scroll).take(body.into()).enumerate() {
        let line = if *is_title {
            Line::styled(fit(keys, w), theme.title())
        } else {
            let kw = (w / 3).clamp(6, 16);
            let keys = format!("  {:<kw$}", fit(keys, kw));
            Line::from(vec![
                Span::styled(keys, theme.key()),
                Span::raw(fit(desc, w.saturating_sub(kw + 2))),
            ])
        };
        Paragraph::new(line).render(row(inner, i as u16 + 1), buf);
    }
}
