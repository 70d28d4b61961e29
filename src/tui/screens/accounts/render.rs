//! The account list's render: the title (scope, filters, sort) with the position (`12/340`), the columns that
//! fit the width (the namespace of each row when the list spans several, the person an impersonated account
//! acts as when wide), audit marks per row, a placeholder for rows still loading, a scrollbar when the list is
//! longer than the screen, and the legend. A pure function of the model.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Cell, Paragraph, Row, Scrollbar, ScrollbarOrientation, ScrollbarState, Table, Widget,
};

use super::{PAGE, SortKey};
use crate::model::{ServiceAccount, sanitize};
use crate::tui::format::{self, ExpiryMark, LEGEND, UNUSED_SYMBOL, fit};
use crate::tui::keymap::Command;
use crate::tui::screens::namespaces::effective_offset;
use crate::tui::screens::row;
use crate::tui::state::{Load, Model};

/// Before a marked row (Space), in the marker column.
pub const MARK_SYMBOL: &str = "*";

/// Which columns fit at this width.
#[derive(Debug, Clone, Copy)]
struct Columns {
    kind: bool,
    description: bool,
    created: bool,
    last_used: bool,
    namespace: bool,
    /// The Kind column names the person an impersonated account acts as.
    person: bool,
}

/// Width from which the Kind column names the person.
const PERSON_WIDTH: u16 = 110;

fn columns(width: u16, mixed: bool) -> Columns {
    // Where an account comes from matters more in a view over several namespaces than when it was created.
    Columns {
        kind: width >= 60,
        description: width >= 72,
        created: width >= if mixed { 100 } else { 80 },
        last_used: width >= 50,
        namespace: mixed && width >= 66,
        person: width >= PERSON_WIDTH,
    }
}

/// `12/340`: the cursor's row and the matches, once the total is known.
pub fn position(model: &Model) -> Option<String> {
    let list = &model.accounts;
    match list.total? {
        0 => Some("0/0".into()),
        total => Some(format!("{}/{total}", list.cursor + 1)),
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
    // Marks first: they are what the next d or D acts on, so they must show at any width.
    if !list.marked.is_empty() {
        title.push(Span::styled(
            format!(" · {} marked", list.marked.len()),
            theme.key(),
        ));
    }
    if list.marking.is_some() {
        title.push(Span::styled(" · marking…", theme.dim()));
    }
    if let Some((_, Some(n))) = list
        .dangling
        .as_ref()
        .filter(|(_, n)| n.is_some_and(|n| n > 0))
    {
        title.push(Span::styled(
            format!(
                " · {} {n} dangling in policies (p)",
                crate::tui::screens::policies::DANGLING_SYMBOL
            ),
            theme.warning(),
        ));
    }
    if list.inherited {
        title.push(Span::styled(" +inherited", theme.warning()));
    }
    if list.subtree {
        title.push(Span::styled(" +subtree", theme.warning()));
    }
    if !list.filter.is_empty() {
        title.push(Span::raw(format!(
            " · filter “{}”",
            fit(&sanitize(&list.filter), 24)
        )));
    }
    if !list.states.is_empty() {
        title.push(Span::styled(
            format!(" · {}", list.states.label()),
            theme.warning(),
        ));
    }
    title.push(Span::styled(format!(" · {sort}"), theme.dim()));
    let title_row = row(area, 0);
    let mut title_area = title_row;
    if let Some(pos) = position(model) {
        let w = u16::try_from(pos.chars().count()).unwrap_or(u16::MAX);
        if title_row.width > w + 12 {
            title_area.width = title_row.width - w - 1;
            Paragraph::new(Line::styled(pos, theme.dim()))
                .alignment(ratatui::layout::Alignment::Right)
                .render(title_row, buf);
        }
    }
    Paragraph::new(Line::from(title)).render(title_area, buf);

    let mut table_area = Rect {
        y: area.y.saturating_add(1),
        height: area.height.saturating_sub(1),
        ..area
    };
    // The filter line has a row of its own under the title; the list applies it as it is typed.
    if let Some(ta) = &list.filter_input {
        let r = row(area, 1);
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
        table_area.y = table_area.y.saturating_add(1);
        table_area.height = table_area.height.saturating_sub(1);
    }
    if area.height >= 12 {
        let legend = row(area, area.height - 1);
        let grants = if model.reach.values().any(|r| matches!(r, Load::Loaded(_))) {
            format!("  {}", crate::display::NO_GRANT_LEGEND)
        } else {
            String::new()
        };
        let text = format!("{LEGEND}  {}{grants}", crate::display::DISABLED_LEGEND);
        Paragraph::new(Line::styled(fit(&text, legend.width.into()), theme.dim()))
            .render(legend, buf);
        table_area.height = table_area.height.saturating_sub(1);
    }

    if list.total == Some(0) {
        let text = if !list.filter.is_empty() || !list.states.is_empty() {
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
    let mut widths = vec![Constraint::Length(4), Constraint::Fill(2)];
    if cols.kind && cols.person {
        cells.push(label(None, "Kind / acts as"));
        widths.push(Constraint::Length(20));
    } else if cols.kind {
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
        cells.push(label(None, if list.subtree { "Namespace" } else { "From" }));
        widths.push(Constraint::Length(12));
    }
    (cells, widths)
}

fn render_header(model: &Model, area: Rect, buf: &mut Buffer) {
    let cols = columns(area.width, model.accounts.mixed());
    let (cells, widths) = header_cells(model, cols);
    Table::new(Vec::<Row>::new(), widths)
        .header(Row::new(cells))
        .column_spacing(1)
        .render(area, buf);
}

fn render_table(model: &Model, area: Rect, buf: &mut Buffer) {
    let theme = model.theme;
    let list = &model.accounts;
    let height = usize::from(area.height.saturating_sub(1));
    let offset = effective_offset(list.cursor, list.offset, height, list.len());
    // A one-column scrollbar at the right when the rows do not all fit.
    let mut area = area;
    if list.len() > height && area.width > 20 && height > 0 {
        let bar = Rect {
            x: area.x + area.width - 1,
            y: area.y + 1,
            width: 1,
            height: area.height - 1,
        };
        let mut state = ScrollbarState::new(list.len().saturating_sub(height))
            .position(offset)
            .viewport_content_length(height);
        let bar_widget = Scrollbar::new(ScrollbarOrientation::VerticalRight)
            .symbols(ratatui::symbols::scrollbar::VERTICAL)
            .begin_symbol(None)
            .end_symbol(None)
            .thumb_style(theme.dim())
            .track_style(theme.dim());
        ratatui::widgets::StatefulWidget::render(bar_widget, bar, buf, &mut state);
        // The selected row stays marked across the whole width, the bar's cell included.
        if let Some(i) = list.cursor.checked_sub(offset).filter(|i| *i < height) {
            let y = bar.y + u16::try_from(i).unwrap_or(0);
            buf.set_style(
                Rect {
                    y,
                    height: 1,
                    ..bar
                },
                theme.selected(),
            );
        }
        area.width -= 1;
    }
    let cols = columns(area.width, list.mixed());
    let (cells, widths) = header_cells(model, cols);
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

/// Routes exist where the account could use them, and no policy lets it through any of them.
fn no_grant(model: &Model, a: &ServiceAccount) -> bool {
    matches!(model.reach.get(&a.id), Some(Load::Loaded(routes)) if !routes.is_empty() && !routes.iter().any(|r| r.allowed))
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
    let marked = model.accounts.marked.contains_key(&a.id);
    let marker = Line::from(vec![
        if marked {
            Span::styled(MARK_SYMBOL, theme.key())
        } else {
            Span::raw(" ")
        },
        Span::styled(expiry_symbol, expiry_style),
        if marks.unused {
            Span::styled(UNUSED_SYMBOL, theme.unused())
        } else {
            Span::raw(" ")
        },
        if no_grant(model, a) {
            Span::styled(crate::display::NO_GRANT_SYMBOL, theme.warning())
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
            Some(true) if cols.person => model
                .people
                .get(&a.user_id)
                .map(|u| sanitize(&u.name))
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| "impersonated".into()),
            Some(true) => "impers.".into(),
            Some(false) => "unique".into(),
            None => "…".into(),
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
