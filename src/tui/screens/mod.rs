//! The screens and overlays, each owning its state, its key handling (returning effects) and a pure render over
//! borrowed state, plus the small pieces they share: list movement, single-line text fields (ratatui-textarea)
//! and modal frames.

pub mod accounts;
pub mod activity;
pub mod add_modal;
pub mod bulk;
pub mod confirm;
pub mod contexts;
pub mod detail;
pub mod export;
pub mod frame;
pub mod grant;
pub mod help;
pub mod namespace_edit;
pub mod namespaces;
pub mod palette;
pub mod policies;
pub mod policy_form;
pub mod roles;
pub mod secret;
pub mod sort;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Widget};
use ratatui_textarea::TextArea;

use super::keymap::{Command, TextOp};
use super::theme::Theme;
use crate::model::is_unsafe_char;

/// Movement shared by the lists: the new cursor for a command, or `None` when it is not a move.
pub fn list_move(command: Command, cursor: usize, len: usize, page: usize) -> Option<usize> {
    let last = len.saturating_sub(1);
    Some(match command {
        Command::Up => cursor.saturating_sub(1),
        Command::Down => (cursor + 1).min(last),
        Command::PageUp => cursor.saturating_sub(page.max(1)),
        Command::PageDown => (cursor + page.max(1)).min(last),
        Command::Top => 0,
        Command::Bottom => last,
        _ => return None,
    })
}

/// A one-line text field holding `initial`, cursor at the end.
pub fn text_field(initial: &str) -> TextArea<'static> {
    let mut ta = TextArea::new(vec![clean(initial)]);
    ta.move_cursor(ratatui_textarea::CursorMove::End);
    ta.set_cursor_line_style(Style::new());
    ta.set_placeholder_style(Style::new().add_modifier(ratatui::style::Modifier::DIM));
    ta
}

/// The field's text (one line).
pub fn field_text(ta: &TextArea<'_>) -> String {
    ta.lines().join("")
}

/// Replaces the field's text, cursor at the end.
pub fn set_field_text(ta: &mut TextArea<'static>, text: &str) {
    let cursor_style = ta.cursor_style();
    let placeholder = ta.placeholder_text().to_string();
    *ta = text_field(text);
    ta.set_cursor_style(cursor_style);
    if !placeholder.is_empty() {
        ta.set_placeholder_text(placeholder);
    }
}

/// Feeds a key to a one-line field: an editing key of the keymap table (`Context::Text`) edits, a printable
/// character is typed, anything else is ignored (so no unlisted binding of the text area ever acts). Returns
/// whether the text changed.
pub fn field_input(ta: &mut TextArea<'static>, key: KeyEvent) -> bool {
    use ratatui_textarea::CursorMove;
    let before = field_text(ta);
    if let Some(op) = super::keymap::text_op(&key) {
        match op {
            TextOp::CharLeft => ta.move_cursor(CursorMove::Back),
            TextOp::CharRight => ta.move_cursor(CursorMove::Forward),
            TextOp::WordLeft => ta.move_cursor(CursorMove::WordBack),
            TextOp::WordRight => ta.move_cursor(CursorMove::WordForward),
            TextOp::Start => ta.move_cursor(CursorMove::Head),
            TextOp::End => ta.move_cursor(CursorMove::End),
            TextOp::DeleteBack => {
                ta.delete_char();
            }
            TextOp::DeleteForward => {
                ta.delete_next_char();
            }
            TextOp::DeleteWordBack => {
                ta.delete_word();
            }
            TextOp::DeleteWordForward => {
                ta.delete_next_word();
            }
            TextOp::DeleteToStart => {
                ta.delete_line_by_head();
            }
            TextOp::DeleteToEnd => {
                ta.delete_line_by_end();
            }
        }
        return field_text(ta) != before;
    }
    if let KeyCode::Char(c) = key.code
        && !key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
        && !is_unsafe_char(c)
    {
        ta.insert_char(c);
    }
    field_text(ta) != before
}

/// Pastes text into a one-line field, line breaks becoming spaces and unsafe characters dropped.
pub fn field_paste(ta: &mut TextArea<'static>, text: &str) -> bool {
    let cleaned = clean(text);
    !cleaned.is_empty() && ta.insert_str(cleaned)
}

fn clean(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c == '\n' || c == '\r' || c == '\t' {
                ' '
            } else {
                c
            }
        })
        .filter(|c| !is_unsafe_char(*c))
        .collect()
}

/// Shows or hides the field's cursor.
pub fn set_field_focus(ta: &mut TextArea<'static>, focused: bool) {
    ta.set_cursor_style(if focused {
        Style::new().add_modifier(ratatui::style::Modifier::REVERSED)
    } else {
        Style::new()
    });
}

/// A rectangle of at most `width`×`height` centred in `area`.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// Clears `area`, draws a bordered box titled `title` and returns the inside.
pub fn modal(area: Rect, title: &str, theme: Theme, buf: &mut Buffer) -> Rect {
    Clear.render(area, buf);
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(theme.modal_border())
        .title(Line::styled(format!(" {title} "), theme.title()));
    let inner = block.inner(area);
    block.render(area, buf);
    inner
}

/// The rows of `area` one by one (row `i`, or an empty rect past the end), so layouts never index out.
pub fn row(area: Rect, i: u16) -> Rect {
    if i >= area.height {
        return Rect::new(area.x, area.y, 0, 0);
    }
    Rect::new(area.x, area.y + i, area.width, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_stay_on_one_line() {
        let mut ta = text_field("ab");
        assert!(!field_input(
            &mut ta,
            KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)
        ));
        assert!(!field_input(
            &mut ta,
            KeyEvent::new(KeyCode::Char('m'), KeyModifiers::CONTROL)
        ));
        assert!(field_input(
            &mut ta,
            KeyEvent::new(KeyCode::Char('c'), KeyModifiers::NONE)
        ));
        assert!(field_paste(&mut ta, "d\ne\u{1b}[31m"));
        assert_eq!(field_text(&ta), "abcd e[31m");
        assert_eq!(ta.lines().len(), 1);
        let ctrl = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL);
        set_field_text(&mut ta, "hello world");
        assert!(field_input(&mut ta, ctrl('w')), "Ctrl-W deletes a word");
        assert_eq!(field_text(&ta), "hello ");
        assert!(
            !field_input(&mut ta, ctrl('n')),
            "an unlisted key does nothing"
        );
        assert!(!field_input(&mut ta, ctrl('a')), "moving changes no text");
        assert!(field_input(&mut ta, ctrl('k')), "Ctrl-K deletes to the end");
        assert_eq!(field_text(&ta), "");
    }
}
