//! The add and edit form drawn from its state: tab bar, fields with inline errors and hints, the lookahead
//! results, the expiry presets and the submit row, dropping the least useful lines when the terminal is short.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};
use ratatui_textarea::TextArea;

use super::super::{centered, modal, row};
use crate::model::sanitize;
use crate::tui::format::fit;
use crate::tui::state::{Load, Model};
use crate::tui::theme::Theme;

use super::*;

/// The lines of the form, top to bottom; `render` drops the least useful ones when the terminal is short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item {
    Tabs,
    User,
    Hint,
    Result(usize),
    Description,
    Expires,
    Custom,
    /// Edit only: what the new expiry does to the live token.
    TokenNote,
    Error,
    Spacer,
    Submit,
}

fn layout(form: &AccountForm, height: usize, now: chrono::DateTime<chrono::Utc>) -> Vec<Item> {
    let mut items = Vec::new();
    let hint_empty = user_hint(form, Theme::plain()).width() == 0;
    let results: Vec<usize> = if form.tab == Tab::Impersonated && !form.is_edit() {
        (0..form.results().len().min(RESULTS_SHOWN)).collect()
    } else {
        Vec::new()
    };
    if !form.is_edit() {
        items.push(Item::Tabs);
        items.push(Item::User);
        items.push(Item::Hint);
        items.extend(results.iter().map(|i| Item::Result(*i)));
    }
    items.push(Item::Description);
    items.push(Item::Expires);
    if form.fields().contains(&Field::Custom) {
        items.push(Item::Custom);
    }
    if form.token_note(now).is_some() {
        items.push(Item::TokenNote);
    }
    items.push(Item::Error);
    items.push(Item::Spacer);
    items.push(Item::Submit);
    // Drop in order of least use until it fits: spacing, an empty hint, extra results, an empty error line.
    let has_error = error_text(form).is_some();
    let mut drop_order: Vec<Item> = vec![Item::Spacer];
    if hint_empty {
        drop_order.push(Item::Hint);
    }
    if !has_error {
        drop_order.push(Item::Error);
    }
    for i in (1..results.len()).rev() {
        drop_order.push(Item::Result(i));
    }
    drop_order.push(Item::Tabs);
    for d in drop_order {
        if items.len() <= height {
            break;
        }
        items.retain(|i| *i != d);
    }
    items
}

fn error_text(form: &AccountForm) -> Option<&String> {
    form.errors
        .custom
        .as_ref()
        .or(form.errors.form.as_ref())
        .or(if form.is_edit() {
            None
        } else {
            form.errors.user.as_ref()
        })
}

pub fn render(model: &Model, form: &AccountForm, area: Rect, buf: &mut Buffer) {
    let theme = model.theme;
    let full = layout(form, usize::MAX, model.wall);
    let outer = centered(area, 76, full.len() as u16 + 2);
    let title = match &form.mode {
        FormMode::Create => format!("Add an account to {}", model.namespace_path()),
        FormMode::Edit(a) => format!("Edit {}", sanitize(&a.user_id)),
    };
    let title = fit(&title, usize::from(outer.width.saturating_sub(4)));
    let inner = modal(outer, &title, theme, buf);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let label_w: u16 = if inner.width >= 50 { 13 } else { 9 };
    let items = layout(form, usize::from(inner.height), model.wall);
    let result_shown: Vec<usize> = items
        .iter()
        .filter_map(|i| match i {
            Item::Result(i) => Some(*i),
            _ => None,
        })
        .collect();
    // Keep the highlighted result visible when fewer rows are shown than there are results.
    let result_start = form
        .result_cursor
        .saturating_sub(result_shown.len().saturating_sub(1));
    for (y, item) in items.iter().enumerate() {
        let y = y as u16;
        let r = row(inner, y);
        match item {
            Item::Tabs => {
                let tab_style = |t: Tab| {
                    if form.tab == t {
                        if form.focus == Field::Tabs {
                            theme.selected()
                        } else {
                            theme.focused().add_modifier(Modifier::UNDERLINED)
                        }
                    } else {
                        theme.dim()
                    }
                };
                Paragraph::new(Line::from(vec![
                    marker(form.focus == Field::Tabs, theme),
                    Span::styled(" Unique ", tab_style(Tab::Unique)),
                    Span::raw("  "),
                    Span::styled(" Impersonated ", tab_style(Tab::Impersonated)),
                    Span::styled("   Ctrl-T", theme.dim()),
                ]))
                .render(r, buf);
            }
            Item::User => {
                let (label, ta) = match form.tab {
                    Tab::Unique => ("User ID", &form.user),
                    Tab::Impersonated if form.directory => ("Search", &form.search),
                    Tab::Impersonated => ("User ID", &form.search),
                };
                text_row(r, label, label_w, form.focus == Field::User, ta, theme, buf);
            }
            Item::Hint => {
                Paragraph::new(indent(user_hint(form, theme), label_w)).render(r, buf);
            }
            Item::Result(k) => {
                let i = result_start + *k;
                let Some(u) = form.results().get(i) else {
                    continue;
                };
                let selected = i == form.result_cursor;
                let text = format!(
                    "{} <{}> · {}",
                    sanitize(&u.name),
                    sanitize(&u.email),
                    sanitize(&u.id)
                );
                let w = usize::from(inner.width.saturating_sub(label_w + 2));
                let mut line = Line::from(vec![
                    Span::raw(if selected { "› " } else { "  " }),
                    Span::raw(fit(&text, w)),
                ]);
                if selected && form.focus == Field::User {
                    line = line.style(theme.selected());
                }
                Paragraph::new(indent(line, label_w)).render(r, buf);
            }
            Item::Description => text_row(
                r,
                "Description",
                label_w,
                form.focus == Field::Description,
                &form.description,
                theme,
                buf,
            ),
            Item::Expires => {
                let choice = form
                    .choices
                    .get(form.choice)
                    .map(|c| c.label(&form.mode, model.wall))
                    .unwrap_or_default();
                let focused = form.focus == Field::Expires;
                Paragraph::new(Line::from(vec![
                    marker(focused, theme),
                    Span::styled(pad("Expires", label_w - 1), label_style(focused, theme)),
                    Span::styled("◂ ", theme.dim()),
                    Span::styled(
                        choice,
                        if focused {
                            theme.selected()
                        } else {
                            theme.text()
                        },
                    ),
                    Span::styled(" ▸", theme.dim()),
                    Span::styled(if focused { "  ←/→" } else { "" }, theme.dim()),
                ]))
                .render(r, buf);
            }
            Item::Custom => text_row(
                r,
                "Date",
                label_w,
                form.focus == Field::Custom,
                &form.custom,
                theme,
                buf,
            ),
            Item::TokenNote => {
                let (text, style) = match form.token_note(model.wall) {
                    Some(true) => (
                        "⚠ A later expiry needs a new token, shown once on save; the old one works until its own.",
                        theme.warning(),
                    ),
                    _ => (
                        "The live token keeps working until the new, earlier expiry.",
                        theme.dim(),
                    ),
                };
                Paragraph::new(Line::styled(fit(text, inner.width.into()), style)).render(r, buf);
            }
            Item::Error => {
                if let Some(e) = error_text(form) {
                    Paragraph::new(Line::styled(
                        fit(&format!("✗ {e}"), inner.width.into()),
                        theme.error(),
                    ))
                    .render(r, buf);
                }
            }
            Item::Spacer => {}
            Item::Submit => {
                let button = match (&form.submitting, form.is_edit()) {
                    (Some(_), false) => " Creating… ",
                    (Some(_), true) => " Saving… ",
                    (None, false) => "[ Create ]",
                    (None, true) => "[ Save ]",
                };
                let focused = form.focus == Field::Submit;
                Paragraph::new(Line::from(vec![
                    marker(focused, theme),
                    Span::raw(" ".repeat(usize::from(label_w.saturating_sub(1)))),
                    Span::styled(
                        button,
                        if focused {
                            theme.selected()
                        } else {
                            theme.focused()
                        },
                    ),
                    Span::styled("  Ctrl-S", theme.dim()),
                ]))
                .render(r, buf);
            }
        }
    }
}

fn marker(focused: bool, theme: Theme) -> Span<'static> {
    if focused {
        Span::styled("›", theme.focused())
    } else {
        Span::raw(" ")
    }
}

fn label_style(focused: bool, theme: Theme) -> Style {
    if focused {
        theme.focused()
    } else {
        theme.text()
    }
}

fn pad(label: &str, width: u16) -> String {
    let w = usize::from(width);
    let label = if w < 12 && label == "Description" {
        "Desc."
    } else {
        label
    };
    let mut s = fit(label, w.saturating_sub(1));
    while s.chars().count() < w {
        s.push(' ');
    }
    s
}

fn indent(line: Line<'static>, width: u16) -> Line<'static> {
    let mut spans = vec![Span::raw(" ".repeat(usize::from(width)))];
    let style = line.style;
    spans.extend(line.spans);
    Line::from(spans).style(style)
}

fn text_row(
    r: Rect,
    label: &str,
    label_w: u16,
    focused: bool,
    ta: &TextArea<'static>,
    theme: Theme,
    buf: &mut Buffer,
) {
    if r.height == 0 {
        return;
    }
    Paragraph::new(Line::from(vec![
        marker(focused, theme),
        Span::styled(pad(label, label_w - 1), label_style(focused, theme)),
    ]))
    .render(r, buf);
    let field = Rect {
        x: r.x + label_w.min(r.width),
        width: r.width.saturating_sub(label_w + 1),
        ..r
    };
    if field.width > 0 {
        ta.render(field, buf);
    }
}

/// The line under the user field: warnings for a unique id, search progress or the picked user.
fn user_hint(form: &AccountForm, theme: Theme) -> Line<'static> {
    match form.tab {
        Tab::Unique if form.unique_id_problem().is_some() => Line::styled(
            format!("✗ {}", form.unique_id_problem().unwrap_or_default()),
            theme.error(),
        ),
        Tab::Unique => match &form.unique.state {
            Load::Loaded(info) => {
                if let Some(u) = &info.directory_user {
                    // The meaning first, the name last: a narrow form cuts the name, never the warning.
                    Line::styled(
                        format!("⚠ would impersonate directory user {}", sanitize(&u.name)),
                        theme.warning(),
                    )
                } else if info.accounts > 0 {
                    Line::styled(
                        format!(
                            "⚠ already has {} account{}",
                            info.accounts,
                            if info.accounts == 1 { "" } else { "s" }
                        ),
                        theme.warning(),
                    )
                } else {
                    Line::styled("✓ new user ID", theme.ok())
                }
            }
            Load::Loading(_) => Line::styled("checking…", theme.dim()),
            Load::Failed(e) => Line::styled(
                format!("could not check: {}", sanitize(&e.message)),
                theme.error(),
            ),
            Load::Idle => Line::raw(""),
        },
        Tab::Impersonated if !form.directory => Line::styled(
            "no directory search on this server: type the user ID",
            theme.dim(),
        ),
        Tab::Impersonated => {
            if let Some(u) = &form.picked {
                return Line::styled(
                    format!(
                        "✓ {} <{}> · {}",
                        sanitize(&u.name),
                        sanitize(&u.email),
                        sanitize(&u.id)
                    ),
                    theme.ok(),
                );
            }
            match &form.lookahead.state {
                Load::Loading(_) => Line::styled("searching…", theme.dim()),
                Load::Loaded((users, total)) if users.is_empty() => {
                    let _ = total;
                    Line::styled("no match", theme.warning())
                }
                Load::Loaded((users, total)) => Line::styled(
                    format!(
                        "{} of {} — ↑/↓ choose, Enter picks",
                        users.len(),
                        total.max(&(users.len() as u64))
                    ),
                    theme.dim(),
                ),
                Load::Failed(e) => Line::styled(
                    format!("search failed: {}", sanitize(&e.message)),
                    theme.error(),
                ),
                Load::Idle if form.lookahead.deadline.is_some() => {
                    Line::styled("searching…", theme.dim())
                }
                Load::Idle => Line::raw(""),
            }
        }
    }
}
