//! The policies screen's render: a title naming the namespace and the count, one row per policy (name with
//! `⚑` when enforced, whom it allows, the routes it guards, `⚠ n` dangling entries), and under the table the
//! selected policy in full — every allowed user with what is wrong with it, domains, PPL, routes. A pure
//! function of the model; server strings sanitized.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Widget};

use super::{AccessData, viewport};
use crate::api::wire;
use crate::model::sanitize;
use crate::tui::format::fit;
use crate::tui::screens::namespaces::effective_offset;
use crate::tui::screens::row;
use crate::tui::state::{Load, Model};

/// Before an enforced policy's name.
pub const ENFORCED_SYMBOL: &str = "⚑";
/// Before the count of dangling entries.
pub const DANGLING_SYMBOL: &str = "⚠";

/// `a, b, c +2` in at most `width` columns.
fn names(items: &[String], width: usize) -> String {
    if items.is_empty() {
        return "—".into();
    }
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        let piece = if i == 0 {
            sanitize(item)
        } else {
            format!(", {}", sanitize(item))
        };
        let rest = items.len() - i;
        if out.chars().count() + piece.chars().count() + 4 > width && i > 0 {
            out.push_str(&format!(" +{rest}"));
            return out;
        }
        out.push_str(&piece);
    }
    out
}

fn routes_of(p: &wire::Policy) -> Vec<String> {
    let mut r: Vec<String> = p.routes.values().cloned().collect();
    r.sort();
    r
}

pub fn render(model: &Model, area: Rect, buf: &mut Buffer) {
    let theme = model.theme;
    let view = &model.policies;
    let w = usize::from(area.width);
    let count = match &view.data {
        Load::Loaded(d) => format!(" · {}", d.policies.len()),
        _ => String::new(),
    };
    let title = format!("Policies of {}{count}", model.path_of(&view.namespace_id));
    Paragraph::new(Line::styled(fit(&title, w), theme.title())).render(row(area, 0), buf);
    let question_row = row(area, area.height.saturating_sub(1));
    let body = Rect::new(
        area.x,
        area.y + 1,
        area.width,
        area.height.saturating_sub(2),
    );
    match &view.data {
        Load::Loaded(data) if !data.policies.is_empty() => render_table(model, data, body, buf),
        Load::Loaded(_) => {
            let text =
                "No policy here yet. a adds one; routes name policies to let accounts through.";
            Paragraph::new(Line::styled(fit(text, w), theme.dim())).render(row(body, 0), buf);
        }
        Load::Failed(e) => {
            let text = fit(
                &format!("cannot load: {} (R to retry)", sanitize(&e.message)),
                w,
            );
            Paragraph::new(Line::styled(text, theme.error())).render(row(body, 0), buf);
        }
        _ => {
            Paragraph::new(Line::styled("loading…", theme.dim())).render(row(body, 0), buf);
        }
    }
    if let Some(p) = view.deleting.and_then(|i| view.policies().get(i)) {
        let guards = p.routes.len();
        let text = if guards == 0 {
            format!("delete policy {}? y/n", sanitize(&p.name))
        } else {
            format!(
                "delete policy {} and take it off its {guards} route{}? y/n",
                sanitize(&p.name),
                if guards == 1 { "" } else { "s" }
            )
        };
        Paragraph::new(Line::styled(fit(&text, w), theme.warning())).render(question_row, buf);
    }
}

fn render_table(model: &Model, data: &AccessData, area: Rect, buf: &mut Buffer) {
    let theme = model.theme;
    let view = &model.policies;
    let vp = viewport(area.height + 2);
    let len = data.policies.len();
    let offset = effective_offset(view.cursor, view.offset, vp, len);
    let wide = area.width >= 70;
    let users_w = if wide { 28 } else { 16 };
    let rows: Vec<Row> = data
        .policies
        .iter()
        .enumerate()
        .skip(offset)
        .take(vp)
        .map(|(i, p)| {
            let dangling = data.dangling_of(&p.id).count();
            let name = format!(
                "{}{}",
                if p.enforced { ENFORCED_SYMBOL } else { " " },
                sanitize(&p.name)
            );
            let mut allows = p.allowed_users.clone();
            allows.extend(p.allowed_domains.iter().map(|d| format!("@{d}")));
            if !p.ppl.trim().is_empty() {
                allows.push("PPL".into());
            }
            let mut cells = vec![Cell::from(name), Cell::from(names(&allows, users_w))];
            if wide {
                cells.push(Cell::from(names(&routes_of(p), 22)));
            }
            cells.push(if dangling > 0 {
                Cell::from(Span::styled(
                    format!("{DANGLING_SYMBOL} {dangling}"),
                    theme.warning(),
                ))
            } else {
                Cell::from("")
            });
            let r = Row::new(cells);
            if i == view.cursor {
                r.style(theme.selected())
            } else {
                r
            }
        })
        .collect();
    let mut header = vec!["Policy", "Allows"];
    let mut widths = vec![Constraint::Fill(1), Constraint::Length(users_w as u16)];
    if wide {
        header.push("Guards routes");
        widths.push(Constraint::Length(22));
    }
    header.push("");
    widths.push(Constraint::Length(4));
    let table_area = Rect {
        height: area.height.min(u16::try_from(vp + 1).unwrap_or(u16::MAX)),
        ..area
    };
    Table::new(rows, widths)
        .header(Row::new(header).style(theme.column_header()))
        .column_spacing(1)
        .render(table_area, buf);
    // The selected policy in full, under the table, when there is room.
    let detail = Rect {
        y: table_area.y + table_area.height,
        height: area.height.saturating_sub(table_area.height),
        ..area
    };
    if detail.height >= 4
        && let Some(p) = view.selected()
    {
        render_detail(model, data, p, detail, buf);
    }
}

fn render_detail(model: &Model, data: &AccessData, p: &wire::Policy, area: Rect, buf: &mut Buffer) {
    let theme = model.theme;
    let w = usize::from(area.width);
    let label = |text: &str| Span::styled(format!("{text:<9}"), theme.dim());
    let mut users: Vec<Span> = vec![label("Users")];
    if p.allowed_users.is_empty() {
        users.push(Span::raw("—"));
    }
    for (i, u) in p.allowed_users.iter().enumerate() {
        if i > 0 {
            users.push(Span::raw(", "));
        }
        let wrong = data
            .dangling_of(&p.id)
            .find(|d| &d.user == u)
            .map(|d| d.kind.replace('_', " "));
        match wrong {
            Some(kind) => users.push(Span::styled(
                format!("{} {DANGLING_SYMBOL} {kind}", sanitize(u)),
                theme.warning(),
            )),
            None => users.push(Span::raw(sanitize(u))),
        }
    }
    let domains = if p.allowed_domains.is_empty() {
        "—".to_string()
    } else {
        p.allowed_domains
            .iter()
            .map(|d| sanitize(d))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let ppl = if p.ppl.trim().is_empty() {
        "—".to_string()
    } else {
        sanitize(&p.ppl.split_whitespace().collect::<Vec<_>>().join(" "))
    };
    let mut guards = routes_of(p);
    if p.enforced {
        guards.insert(0, "every route here and below (enforced)".into());
    }
    let lines = [
        Line::from(users),
        Line::from(vec![
            label("Domains"),
            Span::raw(fit(&domains, w.saturating_sub(9))),
        ]),
        Line::from(vec![
            label("PPL"),
            Span::raw(fit(&ppl, w.saturating_sub(9))),
        ]),
        Line::from(vec![
            label("Guards"),
            Span::raw(fit(
                &names(&guards, w.saturating_sub(9)),
                w.saturating_sub(9),
            )),
        ]),
    ];
    // A blank row above the detail when there is room for it.
    let top = usize::from(area.height > 4);
    for (i, line) in lines.into_iter().enumerate() {
        let y = u16::try_from(i + top).unwrap_or(u16::MAX);
        Paragraph::new(line).render(row(area, y), buf);
    }
}
