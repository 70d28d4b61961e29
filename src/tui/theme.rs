//! Styles for every element, with and without colour: under `NO_COLOR` the same modifiers (bold, reverse,
//! underline) carry the meaning and no colour is ever emitted. Markers always pair a symbol with the colour.

use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// Colour unless `NO_COLOR` is set to anything non-empty (no-color.org), or the terminal says it has none
    /// (`TERM=dumb`).
    pub fn from_env() -> Theme {
        Theme::for_terminal(
            std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
            std::env::var("TERM").ok().as_deref(),
        )
    }

    /// The theme for a `NO_COLOR` setting and a `TERM` value.
    pub fn for_terminal(no_color: bool, term: Option<&str>) -> Theme {
        let dumb = term.is_some_and(|t| t.trim() == "dumb");
        Theme {
            color: !no_color && !dumb,
        }
    }

    pub fn plain() -> Theme {
        Theme { color: false }
    }

    fn fg(self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    pub fn text(self) -> Style {
        Style::new()
    }

    pub fn dim(self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new().add_modifier(Modifier::DIM)
        }
    }

    pub fn title(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn header(self) -> Style {
        if self.color {
            Style::new().fg(Color::Black).bg(Color::Cyan)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }

    pub fn column_header(self) -> Style {
        self.fg(Color::Cyan)
            .add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
    }

    /// The selected row of a list; reverse video so it shows without colour too.
    pub fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
    }

    pub fn focused(self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    pub fn key(self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    pub fn error(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    pub fn warning(self) -> Style {
        self.fg(Color::Yellow)
    }

    pub fn ok(self) -> Style {
        self.fg(Color::Green)
    }

    pub fn expired(self) -> Style {
        self.fg(Color::Red)
    }

    pub fn expiring(self) -> Style {
        self.fg(Color::Yellow)
    }

    pub fn never_expires(self) -> Style {
        self.fg(Color::Magenta)
    }

    pub fn unused(self) -> Style {
        self.fg(Color::Blue)
    }

    pub fn border(self) -> Style {
        self.fg(Color::Gray)
    }

    pub fn modal_border(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    /// The title bar's `READ-ONLY` marker: bold, and white on red with colour.
    pub fn read_only(self) -> Style {
        if self.color {
            Style::new()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::BOLD)
        }
    }

    pub fn token(self) -> Style {
        self.fg(Color::Green).add_modifier(Modifier::BOLD)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_and_a_dumb_terminal_get_no_colour() {
        assert!(Theme::for_terminal(false, Some("xterm-256color")).color);
        assert!(Theme::for_terminal(false, None).color);
        assert!(!Theme::for_terminal(true, Some("xterm-256color")).color);
        assert!(!Theme::for_terminal(false, Some("dumb")).color);
    }
}
