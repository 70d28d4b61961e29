//! One change in full, over the activity screen: when, who, what, the entity and its namespace, each changed
//! field before → after, and the whole detail the server recorded. `←`/`→` step to the newer / older change of
//! the list under it (asking for the next page at the end of what is loaded); the arrows scroll. State, keys,
//! render.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::{Entry, more, rows_on_screen};
use crate::model::sanitize;
use crate::tui::format::{self, fit};
use crate::tui::keymap::Command;
use crate::tui::msg::Effect;
use crate::tui::screens::frame::body_area;
use crate::tui::screens::{centered, modal};
use crate::tui::state::{Model, Overlay};

/// The entry shown is the activity list's cursor; this holds only how far the text is scrolled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EntryView {
    pub scroll: usize,
}

pub fn on_entry_key(
    model: &mut Model,
    mut view: EntryView,
    command: Option<Command>,
) -> Vec<Effect> {
    let page = usize::from(body_area(model.size).height.saturating_sub(4)).max(1);
    let lines = model
        .activity
        .selected()
        .map_or(0, |e| lines(model, e).len());
    let mut effects = Vec::new();
    match command {
        Some(Command::Close) => return effects,
        Some(c @ (Command::PrevEntry | Command::NextEntry)) => {
            let log = &mut model.activity;
            let to = if c == Command::PrevEntry {
                log.cursor.saturating_sub(1)
            } else {
                log.cursor + 1
            };
            if to != log.cursor && to < log.len() {
                view.scroll = 0;
                let vp = rows_on_screen(model);
                model.activity.move_to(to, vp);
                effects = more(model);
            }
        }
        Some(Command::Up) => view.scroll = view.scroll.saturating_sub(1),
        Some(Command::Down) => view.scroll = (view.scroll + 1).min(lines.saturating_sub(1)),
        Some(Command::PageUp) => view.scroll = view.scroll.saturating_sub(page),
        Some(Command::PageDown) => {
            view.scroll = (view.scroll + page).min(lines.saturating_sub(1));
        }
        _ => {}
    }
    model.overlay = Some(Overlay::Entry(view));
    effects
}

/// The text of an entry, a line per fact; long lines wrap when drawn.
fn lines(model: &Model, e: &Entry) -> Vec<Line<'static>> {
    let theme = model.theme;
    let label = |l: &str| Span::styled(format!("{l:<11}"), theme.dim());
    let when = match e.at {
        Some(t) => format!(
            "{} ({})",
            t.format("%Y-%m-%d %H:%M:%S UTC"),
            format::ago(t, model.wall)
        ),
        None => "unknown".into(),
    };
    let mut entity = format!("{} {}", e.kind_word(), sanitize(&e.name));
    if !e.entity_id.is_empty() && e.entity_id != e.name {
        entity.push_str(&format!(" ({})", sanitize(&e.entity_id)));
    }
    let namespace = if e.namespace_id.is_empty() {
        "none".to_string()
    } else if model.tree.get(&e.namespace_id).is_some() {
        model.path_of(&e.namespace_id)
    } else if !e.namespace_name.is_empty() {
        format!("{} (deleted)", sanitize(&e.namespace_name))
    } else {
        sanitize(&e.namespace_id)
    };
    let mut out = vec![
        Line::from(vec![label("When"), Span::raw(when)]),
        Line::from(vec![label("Who"), Span::raw(e.actor_text())]),
        Line::from(vec![
            label("Action"),
            Span::styled(sanitize(&e.action), theme.key()),
        ]),
        Line::from(vec![label("Entity"), Span::raw(entity.trim().to_string())]),
        Line::from(vec![label("Namespace"), Span::raw(namespace)]),
    ];
    let changes = e.changes();
    if changes.is_empty() {
        let summary = e.summary();
        if !summary.is_empty() {
            out.push(Line::from(vec![label("Summary"), Span::raw(summary)]));
        }
    } else {
        for (i, c) in changes.iter().enumerate() {
            out.push(Line::from(vec![
                label(if i == 0 { "Changes" } else { "" }),
                Span::styled(format!("{}: ", sanitize(&c.field)), theme.title()),
                Span::styled(sanitize(&c.before), theme.expired()),
                Span::raw(" → "),
                Span::styled(sanitize(&c.after), theme.ok()),
            ]));
        }
    }
    out.push(Line::styled("Recorded detail", theme.dim()));
    out.extend(
        e.data_lines()
            .into_iter()
            .map(|l| Line::raw(format!("  {l}"))),
    );
    out
}

pub fn render(model: &Model, view: &EntryView, area: Rect, buf: &mut Buffer) {
    let theme = model.theme;
    let log = &model.activity;
    let title = match log.selected() {
        Some(e) => format!(
            "Change #{} · {} of {}",
            fit(&sanitize(&e.id), 12),
            log.cursor + 1,
            log.total
                .map_or(log.len() as u64, |t| t.max(log.len() as u64))
        ),
        None => "Change".into(),
    };
    let outer = centered(area, 90, area.height);
    let inner = modal(outer, &title, theme, buf);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let Some(e) = log.selected() else {
        Paragraph::new(Line::styled("loading…", theme.dim())).render(inner, buf);
        return;
    };
    let scroll = u16::try_from(view.scroll).unwrap_or(u16::MAX);
    Paragraph::new(lines(model, e))
        .wrap(Wrap { trim: false })
        .scroll((scroll, 0))
        .render(inner, buf);
}
