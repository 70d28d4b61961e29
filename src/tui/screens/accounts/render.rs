//! The account list's render: the title (sort, filter, inherited), the columns that fit the width, audit marks
//! per row, a placeholder for rows still loading, and the legend. A pure function of the model.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Widget};

use super::{PAGE, SortKey};
use crate::model::{ServiceAccount, sanitize};
use crate::tui::format::{self, ExpiryMark, LEGEND, UNUSED_SYMBOL, fit};
use crate::tui::keymap::Command;
use crate::tui::screens::namespaces::effective_offset;
use crate::tui::screens::row;
use crate::tui::state::{Load, Model};

/// Which columns fit at this width.
#[derive(Debug, Clone, Copy)]
struct Columns {
    kind: bool,
    description: bool,
    created: bool,
    last_used: bool,
    namespace: bool,
}

fn columns(width: u16, inherited: bool) -> Columns {
    // Where an inherited account comes from matters more in that view than when it was created.
    Columns {
        kind: width >= 60,
        description: width >= 72,
        created: width >= if inherited { 100 } else { 80 },
        last_used: width >= 50,
        namespace: inherited && width >= 66,
    }
}

pub fn render(model: &Model, area: Rect, buf: &mut Buffer) {
    let theme = model.theme;
    let list = &model.accounts;
    let sort = format!(
        "sorted by {} {}",
        list.sort.label(),
        if list.descending { "↓" } else { "↑" }
    );
    let mut title = vec![Span::styled("Accounts", theme.title())];
    if list.inherited {
        title.push(Span::styled(" +inherited", theme.warning()));
    }
    if !list.filter.is_empty() && list.filter_input.is_none() {
        title.push(Span::raw(format!(
            " · filter “{}”",
            fit(&sanitize(&list.filter), 24)
        )));
    }
    title.push(Span::styled(format!(" · {sort}"), theme.dim()));
    Paragraph::new(Line::from(title)).render(row(area, 0), buf);

    let mut table_area = Rect {
        y: area.y.saturating_add(1),
        height: area.height.saturating_sub(1),
        ..area
    };
    if let Some(ta) = &list.filter_input {
        let r = row(area, 0);
        Paragraph::new(Line::styled("/ ", theme.key())).render(r, buf);
        Widget::render(
            ta,
            Rect {
                x: r.x.saturating_add(2).min(r.x + r.width),
                width: r.width.saturating_sub(2),
                ..r
            },
            buf,
        );
    }
    if area.height >= 12 {
        let legend = row(area, area.height - 1);
        let text = format!("{LEGEND}  {}", crate::display::DISABLED_LEGEND);
        Paragraph::new(Line::styled(fit(&text, legend.width.into()), theme.dim()))
            .render(legend, buf);
        table_area.height = table_area.height.saturating_sub(1);
    }

    if list.total == Some(0) {
        let text = if !list.filter.is_empty() {
            "No account matches the filter."
        } else if model.permissions().offers(Command::Add) {
            "No accounts here yet. Press a to add one."
        } else {
            "No accounts here yet."
        };
        Paragraph::new(Line::styled(fit(text, area.width.into()), theme.dim()))
            .render(row(table_area, 1), buf);
        render_header(model, table_area, buf);
        return;
    }
    if list.total.is_none() {
        let text = match list.pages.get(&(list.offset as u64 / PAGE)) {
            Some(Load::Failed(_)) => "Could not load the accounts (R to retry).",
            _ if model.current.is_none() && model.capabilities.namespaces => {
                "Pick a namespace with n."
            }
            _ => "Loading…",
        };
        Paragraph::new(Line::styled(text, theme.dim())).render(row(table_area, 1), buf);
        render_header(model, table_area, buf);
        return;
    }
    render_table(model, table_area, buf);
}

fn header_cells(model: &Model, cols: Columns) -> (Vec<Cell<'static>>, Vec<Constraint>) {
    let theme = model.theme;
    let list = &model.accounts;
    let arrow = if list.descending { "↓" } else { "↑" };
    let label = |key: Option<SortKey>, text: &str| -> Cell<'static> {
        let mut t = text.to_string();
        if key == Some(list.sort) {
            t.push_str(arrow);
        }
        Cell::from(Span::styled(t, theme.column_header()))
    };
    let mut cells = vec![Cell::from(""), label(Some(SortKey::UserId), "User ID")];
    let mut widths = vec![Constraint::Length(2), Constraint::Fill(2)];
    if cols.kind {
        cells.push(label(None, "Kind"));
        widths.push(Constraint::Length(7));
    }
    if cols.description {
        cells.push(label(Some(SortKey::Description), "Description"));
        widths.push(Constraint::Fill(3));
    }
    if cols.created {
        cells.push(label(Some(SortKey::Created), "Created"));
        widths.push(Constraint::Length(10));
    }
    cells.push(label(Some(SortKey::Expires), "Expires"));
    widths.push(Constraint::Length(16));
    if cols.last_used {
        cells.push(label(Some(SortKey::LastUsed), "Last used"));
        widths.push(Constraint::Length(9));
    }
    if cols.namespace {
        cells.push(label(None, "From"));
        widths.push(Constraint::Length(12));
    }
    (cells, widths)
}

fn render_header(model: &Model, area: Rect, buf: &mut Buffer) {
    let cols = columns(area.width, model.accounts.inherited);
    let (cells, widths) = header_cells(model, cols);
    Table::new(Vec::<Row>::new(), widths)
        .header(Row::new(cells))
        .column_spacing(1)
        .render(area, buf);
}

fn render_table(model: &Model, area: Rect, buf: &mut Buffer) {
    let theme = model.theme;
    let list = &model.accounts;
    let cols = columns(area.width, list.inherited);
    let (cells, widths) = header_cells(model, cols);
    let height = usize::from(area.height.saturating_sub(1));
    let offset = effective_offset(list.cursor, list.offset, height, list.len());
    let end = (offset + height).min(list.len());
    let mut rows = Vec::with_capacity(end.saturating_sub(offset));
    for i in offset..end {
        let selected = i == list.cursor;
        let row = match list.get(i) {
            Some(a) => account_row(model, a, cols),
            None => {
                let text = match list.pages.get(&(i as u64 / PAGE)) {
                    Some(Load::Failed(_)) => "could not load (R to retry)",
                    _ => "loading…",
                };
                Row::new(vec![
                    Cell::from(""),
                    Cell::from(Span::styled(text, theme.dim())),
                ])
            }
        };
        rows.push(if selected {
            row.style(theme.selected())
        } else {
            row
        });
    }
    Table::new(rows, widths)
        .header(Row::new(cells))
        .column_spacing(1)
        .render(area, buf);
}

fn account_row(model: &Model, a: &ServiceAccount, cols: Columns) -> Row<'static> {
    let theme = model.theme;
    let now = model.wall;
    let marks = format::marks(a, now);
    let (expiry_style, expiry_symbol) = match marks.expiry {
        ExpiryMark::Expired => (theme.expired(), marks.expiry.symbol()),
        ExpiryMark::Soon => (theme.expiring(), marks.expiry.symbol()),
        ExpiryMark::Never => (theme.never_expires(), marks.expiry.symbol()),
        ExpiryMark::Fine => (Style::new(), marks.expiry.symbol()),
    };
    // Disabled outranks every expiry mark: nothing verifies until it is enabled.
    let (expiry_symbol, expiry_style) = if a.disabled {
        (crate::display::DISABLED_SYMBOL, theme.warning())
    } else {
        (expiry_symbol, expiry_style)
    };
    let marker = Line::from(vec![
        Span::styled(expiry_symbol, expiry_style),
        if marks.unused {
            Span::styled(UNUSED_SYMBOL, theme.unused())
        } else {
            Span::raw(" ")
        },
    ]);
    let user = if a.disabled {
        Cell::from(Span::styled(sanitize(&a.user_id), theme.dim()))
    } else {
        Cell::from(sanitize(&a.user_id))
    };
    let mut cells = vec![Cell::from(marker), user];
    if cols.kind {
        let kind = match model.kind_of(&a.user_id) {
            Some(true) => "impers.",
            Some(false) => "unique",
            None => "…",
        };
        cells.push(Cell::from(kind));
    }
    if cols.description {
        cells.push(Cell::from(sanitize(&a.description)));
    }
    if cols.created {
        cells.push(Cell::from(a.created_at.format("%Y-%m-%d").to_string()));
    }
    cells.push(Cell::from(Span::styled(
        format::expires(a.expires_at, now),
        expiry_style,
    )));
    if cols.last_used {
        cells.push(Cell::from(Span::styled(
            format::last_used(a.accessed_at, now),
            if marks.unused {
                theme.unused()
            } else {
                Style::new()
            },
        )));
    }
    if cols.namespace {
        let from = if model.current.as_deref() == Some(a.namespace_id.as_str()) {
            "here".to_string()
        } else {
            model.namespace_name(&a.namespace_id)
        };
        cells.push(Cell::from(from));
    }
    Row::new(cells)
}
