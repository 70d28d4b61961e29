//! The command palette (`:`): every command of the screen it was opened on, read from the keymap table (so it
//! lists exactly what the footer and help list, and only what the session's permissions offer), filtered as
//! you type by a loose match on the description and keys; Enter runs the chosen one as its key would. State,
//! keys and render together.

use crossterm::event::{KeyEvent, KeyModifiers};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};
use ratatui_textarea::TextArea;

use super::{centered, field_input, field_text, modal, row, set_field_focus, text_field};
use crate::tui::format::fit;
use crate::tui::keymap::{BINDINGS, Binding, Command, Context};
use crate::tui::permissions::Permissions;
use crate::tui::state::{Model, Overlay};

#[derive(Debug)]
pub struct Palette {
    /// The context the palette runs commands in.
    pub origin: Context,
    pub filter: TextArea<'static>,
    pub cursor: usize,
}

impl Palette {
    pub fn new(origin: Context) -> Palette {
        let mut filter = text_field("");
        set_field_focus(&mut filter, true);
        filter.set_placeholder_text("type to find a command");
        Palette {
            origin,
            filter,
            cursor: 0,
        }
    }

    /// The commands on offer in the origin's context chain, each once, matching the filter.
    pub fn entries(&self, permissions: Permissions) -> Vec<&'static Binding> {
        let query = field_text(&self.filter).to_lowercase();
        let mut seen: Vec<Command> = Vec::new();
        let mut out = Vec::new();
        for ctx in self.origin.chain() {
            for b in BINDINGS.iter().filter(|b| b.context == *ctx) {
                // The palette itself, quitting at once and plain movement are not commands worth finding.
                if matches!(
                    b.command,
                    Command::Palette | Command::ForceQuit | Command::Up | Command::Down
                ) || seen.contains(&b.command)
                    || !permissions.offers(b.command)
                {
                    continue;
                }
                seen.push(b.command);
                let haystack = format!("{} {}", b.description, b.keys_label()).to_lowercase();
                if let Some(rank) = rank(&haystack, &query) {
                    out.push((rank, b));
                }
            }
        }
        // The closest matches first; the table's order among equals.
        out.sort_by_key(|(rank, _)| *rank);
        out.into_iter().map(|(_, b)| b).collect()
    }
}

/// How well `text` matches `query`, best lowest: it starts with it, holds it, has words starting with each of
/// its words, or holds its characters in order; `None` for no match.
fn rank(text: &str, query: &str) -> Option<u8> {
    let query = query.trim();
    if query.is_empty() || text.starts_with(query) {
        return Some(0);
    }
    if text.contains(query) {
        return Some(1);
    }
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    if query
        .split_whitespace()
        .all(|q| words.iter().any(|w| w.starts_with(q)))
    {
        return Some(2);
    }
    loosely_matches(text, query).then_some(3)
}

/// Every character of `query` (spaces aside) appears in `text` in order: `rot` finds "rotate: issue a new
/// token", `dis en` finds "disable / enable".
fn loosely_matches(text: &str, query: &str) -> bool {
    let mut chars = text.chars();
    query
        .chars()
        .filter(|c| !c.is_whitespace())
        .all(|q| chars.any(|c| c == q))
}

/// What a key in the palette does: move, type, close, or the key event of the chosen command to run.
pub fn on_key(
    model: &mut Model,
    mut palette: Palette,
    command: Option<Command>,
    key: KeyEvent,
) -> Option<KeyEvent> {
    let entries = palette.entries(model.permissions());
    match command {
        Some(Command::Close) => return None,
        Some(Command::Up) => palette.cursor = palette.cursor.saturating_sub(1),
        Some(Command::Down) => {
            palette.cursor = (palette.cursor + 1).min(entries.len().saturating_sub(1));
        }
        // With nothing matching, Enter leaves the palette open so the filter can be mended.
        Some(Command::Select) => {
            if let Some(first) = entries.get(palette.cursor).and_then(|b| b.keys.first()) {
                let mut mods = first.mods;
                if let crossterm::event::KeyCode::Char(c) = first.code
                    && c.is_ascii_uppercase()
                {
                    mods |= KeyModifiers::SHIFT;
                }
                return Some(KeyEvent::new(first.code, mods));
            }
        }
        _ => {
            if field_input(&mut palette.filter, key) {
                palette.cursor = 0;
            }
        }
    }
    model.overlay = Some(Overlay::Palette(Box::new(palette)));
    None
}

pub fn render(model: &Model, palette: &Palette, area: Rect, buf: &mut Buffer) {
    let theme = model.theme;
    let entries = palette.entries(model.permissions());
    let height = (entries.len() as u16)
        .saturating_add(4)
        .min(area.height)
        .max(4);
    let outer = centered(area, 70, height);
    let inner = modal(outer, "Commands", theme, buf);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let w = usize::from(inner.width);
    let filter_row = row(inner, 0);
    Paragraph::new(Line::styled(": ", theme.key())).render(filter_row, buf);
    palette.filter.render(
        Rect {
            x: filter_row.x + 2.min(filter_row.width),
            width: filter_row.width.saturating_sub(2),
            ..filter_row
        },
        buf,
    );
    let list_rows = usize::from(inner.height.saturating_sub(1));
    if entries.is_empty() {
        Paragraph::new(Line::styled("No command matches.", theme.dim())).render(row(inner, 1), buf);
        return;
    }
    let first = palette.cursor.saturating_sub(list_rows.saturating_sub(1));
    for (i, b) in entries.iter().enumerate().skip(first).take(list_rows) {
        let y = u16::try_from(i - first + 1).unwrap_or(u16::MAX);
        let keys = format!("{:<12}", b.keys_label());
        let mut line = Line::from(vec![
            Span::styled(keys, theme.key()),
            Span::raw(fit(b.description, w.saturating_sub(13))),
        ]);
        if i == palette.cursor {
            line = line.style(theme.selected());
        }
        Paragraph::new(line).render(row(inner, y), buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_match_is_loose_but_in_order() {
        assert!(loosely_matches("rotate: issue a new token", "rot"));
        assert!(loosely_matches("disable / enable", "dis en"));
        assert!(!loosely_matches("delete the account", "tod"));
        assert!(loosely_matches("anything", ""));
        assert!(rank("rotate: issue", "rot") < rank("detail and history of the account", "rot"));
    }
}
