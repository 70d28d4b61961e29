//! The activity screen's render: a title naming the scope and the filters (or the actor prompt), the columns
//! that fit the width (time, actor, action, entity type, entity, namespace), and a line saying how much is
//! loaded. A pure function of the model; every string from the server is sanitized.

use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Widget};

use super::Entry;
use crate::api::Code;
use crate::model::sanitize;
use crate::tui::format::fit;
use crate::tui::screens::namespaces::effective_offset;
use crate::tui::screens::row;
use crate::tui::state::{Load, Model};

/// Rows of entries that fit in a body of `height` (title and column header take two, the paging line one
/// more when there is room).
pub fn viewport(body_height: u16) -> usize {
    let chrome = if body_height >= 6 { 3 } else { 2 };
    usize::from(body_height.saturating_sub(chrome)).max(1)
}

/// A change's time in UTC: `2026-06-01 11:58`, or `06-01 11:58` when `long` is false.
pub fn when(at: Option<DateTime<Utc>>, long: bool) -> String {
    match at {
        Some(t) if long => t.format("%Y-%m-%d %H:%M").to_string(),
        Some(t) => t.format("%m-%d %H:%M").to_string(),
        None if long => format!("{:16}", "?"),
        None => format!("{:11}", "?"),
    }
}

/// Which columns fit at this width.
#[derive(Debug, Clone, Copy)]
struct Columns {
    long_time: bool,
    kind: bool,
    namespace: bool,
}

fn columns(width: u16) -> Columns {
    Columns {
        long_time: width >= 70,
        kind: width >= 70,
        namespace: width >= 56,
    }
}

/// What the list is of: `Engineering and below` (the header has the whole path), or one entity.
fn scope(model: &Model) -> String {
    let log = &model.activity;
    match (&log.entity, &log.namespace_id) {
        (Some(e), _) => {
            let kind = if e.kind == "service_account" {
                "account".to_string()
            } else {
                sanitize(&e.kind)
            };
            format!("{kind} {}", sanitize(&e.name))
        }
        (None, Some(ns)) => format!("{} and below", model.namespace_name(ns)),
        (None, None) => "everywhere".into(),
    }
}

pub fn render(model: &Model, area: Rect, buf: &mut Buffer) {
    let theme = model.theme;
    let log = &model.activity;
    let w = usize::from(area.width);
    let title_row = row(area, 0);
    match &log.actor_input {
        Some(ta) => {
            let label = "who: ";
            Paragraph::new(Line::styled(label, theme.key())).render(title_row, buf);
            let field = Rect {
                x: title_row
                    .x
                    .saturating_add(5)
                    .min(title_row.x + title_row.width),
                width: title_row.width.saturating_sub(5),
                ..title_row
            };
            Widget::render(ta, field, buf);
        }
        None => {
            let mut spans = vec![
                Span::styled("Activity", theme.title()),
                Span::raw(format!(" · {}", fit(&scope(model), w.saturating_sub(11)))),
            ];
            if !log.actor.is_empty() {
                spans.push(Span::styled(" · who ", theme.dim()));
                spans.push(Span::styled(
                    fit(&sanitize(&log.actor), 24),
                    theme.warning(),
                ));
            }
            if let Some(a) = log.action {
                spans.push(Span::styled(" · action ", theme.dim()));
                spans.push(Span::styled(a, theme.warning()));
            }
            Paragraph::new(Line::from(spans)).render(title_row, buf);
        }
    }
    let paging_line = area.height >= 6;
    let table_area = Rect {
        y: area.y.saturating_add(1).min(area.y + area.height),
        height: area.height.saturating_sub(1 + u16::from(paging_line)),
        ..area
    };
    if paging_line {
        let text = paging_text(model);
        Paragraph::new(Line::styled(fit(&text, w), theme.dim()))
            .render(row(area, area.height - 1), buf);
    }
    let cols = columns(area.width);
    if log.is_empty() {
        let text = match (&log.fetch, log.total) {
            (Load::Failed(e), _) if e.code == Code::Unimplemented => {
                "This server keeps no activity log."
            }
            (Load::Failed(_), _) => "Could not load the activity log (R to retry).",
            (_, Some(0)) if log.filtered() => "No change matches the filters (x clears them).",
            (_, Some(0)) => "No changes recorded here yet.",
            _ => "Loading…",
        };
        Paragraph::new(Line::styled(fit(text, w), theme.dim())).render(row(table_area, 1), buf);
        render_table(model, Vec::new(), cols, table_area, buf);
        return;
    }
    let height = usize::from(table_area.height.saturating_sub(1));
    let offset = effective_offset(log.cursor, log.offset, height, log.len());
    let rows = log
        .entries
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, e)| {
            let r = entry_row(model, e, cols);
            if i == log.cursor {
                r.style(theme.selected())
            } else {
                r
            }
        })
        .collect();
    render_table(model, rows, cols, table_area, buf);
}

/// `57 changes`, `50 of 120 changes · loading more…`, or why more did not come.
fn paging_text(model: &Model) -> String {
    let log = &model.activity;
    let Some(total) = log.total else {
        return String::new();
    };
    let count = if total == 1 {
        "1 change".to_string()
    } else if log.has_more() {
        format!("{} of {total} changes", log.len())
    } else {
        format!("{} changes", log.len())
    };
    match &log.fetch {
        Load::Loading(_) => format!("{count} · loading more…"),
        Load::Failed(_) => format!("{count} · could not load more (R to reload)"),
        _ if log.has_more() => format!("{count} · more below"),
        _ => format!("{count} · newest first"),
    }
}

fn render_table(
    model: &Model,
    rows: Vec<Row<'static>>,
    cols: Columns,
    area: Rect,
    buf: &mut Buffer,
) {
    let theme = model.theme;
    let head = |t: &'static str| Cell::from(Span::styled(t, theme.column_header()));
    let mut cells = vec![head("When (UTC)"), head("Actor"), head("Action")];
    let mut widths = vec![
        Constraint::Length(if cols.long_time { 16 } else { 11 }),
        Constraint::Fill(2),
        Constraint::Length(6),
    ];
    if cols.kind {
        cells.push(head("Type"));
        widths.push(Constraint::Length(10));
    }
    cells.push(head("Entity"));
    widths.push(Constraint::Fill(3));
    if cols.namespace {
        cells.push(head("Namespace"));
        widths.push(Constraint::Length(14));
    }
    Table::new(rows, widths)
        .header(Row::new(cells))
        .column_spacing(1)
        .render(area, buf);
}

fn entry_row(model: &Model, e: &Entry, cols: Columns) -> Row<'static> {
    let theme = model.theme;
    let entity = if !e.name.is_empty() {
        sanitize(&e.name)
    } else if !e.entity_id.is_empty() {
        sanitize(&e.entity_id)
    } else {
        e.kind_word()
    };
    let mut cells = vec![
        Cell::from(Span::styled(when(e.at, cols.long_time), theme.dim())),
        Cell::from(sanitize(&e.actor)),
        Cell::from(Span::styled(sanitize(&e.action), theme.key())),
    ];
    if cols.kind {
        cells.push(Cell::from(e.kind_word()));
    }
    cells.push(Cell::from(entity));
    if cols.namespace {
        let ns = match model.tree.get(&e.namespace_id) {
            Some(n) => sanitize(&n.name),
            None if !e.namespace_name.is_empty() => sanitize(&e.namespace_name),
            None => sanitize(&e.namespace_id),
        };
        cells.push(Cell::from(ns));
    }
    Row::new(cells)
}
