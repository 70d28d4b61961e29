//! The frame around every screen: a header (the session — its context, else where the console points — a
//! `READ-ONLY` marker when it offers no change, the namespace path and a count), the body (current screen, then
//! any overlay, then help), a status line and a footer drawn from the keymap and the session's permissions.
//! A pure function of the model; it draws whatever fits, down to 0×0.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};
use unicode_width::UnicodeWidthStr;

use super::{
    accounts, activity, add_modal, confirm, contexts, detail, help, namespaces, palette, roles,
    row, secret,
};
use crate::tui::format::fit;
use crate::tui::keymap::{self, Context};
use crate::tui::state::{Model, Overlay, Screen, Status};

/// Where the current screen is drawn in a terminal of `size`.
pub fn body_area(size: (u16, u16)) -> Rect {
    let (w, h) = size;
    if h >= 4 {
        Rect::new(0, 1, w, h - 3)
    } else {
        Rect::new(0, 0, w, h)
    }
}

/// Draws the whole console into `buf` (whose area is the terminal).
pub fn render(model: &Model, buf: &mut Buffer) {
    let area = buf.area;
    if area.width == 0 || area.height == 0 {
        return;
    }
    let body = {
        let b = body_area((area.width, area.height));
        Rect::new(area.x + b.x, area.y + b.y, b.width, b.height)
    };
    match model.screen {
        Screen::Namespaces => namespaces::render(model, body, buf),
        Screen::Accounts => accounts::render(model, body, buf),
        Screen::Activity => activity::render(model, body, buf),
        Screen::Roles => roles::render(model, body, buf),
        Screen::Policies => super::policies::render(model, body, buf),
    }
    match &model.overlay {
        Some(Overlay::Detail(a)) => detail::render(model, a, body, buf),
        Some(Overlay::Entry(v)) => activity::render_entry(model, v, body, buf),
        Some(Overlay::Form(f)) => add_modal::render(model, f, body, buf),
        Some(Overlay::Secret(s)) => {
            secret::render(model, s, body, buf);
            if let Some(g) = &s.grant {
                super::grant::render(model, s, g, body, buf);
            }
        }
        Some(Overlay::Confirm(c)) => confirm::render(model, c, body, buf),
        Some(Overlay::Contexts(p)) => contexts::render(model, p, body, buf),
        Some(Overlay::Palette(p)) => palette::render(model, p, body, buf),
        Some(Overlay::Sort(s)) => super::sort::render(model, s, body, buf),
        Some(Overlay::Bulk(b)) => super::bulk::render(model, b, body, buf),
        Some(Overlay::PolicyForm(f)) => super::policy_form::render(model, f, body, buf),
        None => {}
    }
    if let Some(h) = &model.help {
        help::render(model, h, body, buf);
    }
    if area.height >= 4 {
        render_header(model, row(area, 0), buf);
        if model.export.is_some() && model.screen == Screen::Accounts {
            super::export::render(model, row(area, area.height - 2), buf);
        } else {
            render_status(model, row(area, area.height - 2), buf);
        }
        render_footer(model, model.context(), row(area, area.height - 1), buf);
    }
}

/// The marker of a session that offers no change.
pub const READ_ONLY: &str = "READ-ONLY";

fn render_header(model: &Model, area: Rect, buf: &mut Buffer) {
    let theme = model.theme;
    let w = usize::from(area.width);
    let (path, count) = match model.screen {
        Screen::Activity => {
            let log = &model.activity;
            let path = match (&log.entity, &log.namespace_id) {
                (Some(e), _) => crate::model::sanitize(&e.name),
                (None, Some(ns)) => model.path_of(ns),
                (None, None) => "everywhere".into(),
            };
            let count = match log.total {
                Some(1) => "1 change".to_string(),
                Some(n) => format!("{n} changes"),
                None => String::new(),
            };
            (path, count)
        }
        Screen::Roles => {
            let count = match model.roles.rows.len() {
                1 => "1 binding".to_string(),
                n => format!("{n} bindings"),
            };
            (model.path_of(&model.roles.namespace_id), count)
        }
        Screen::Policies => {
            let count = match model.policies.policies().len() {
                1 => "1 policy".to_string(),
                n => format!("{n} policies"),
            };
            (model.path_of(&model.policies.namespace_id), count)
        }
        _ => {
            let count = match model.accounts.total {
                Some(1) => "1 account".to_string(),
                Some(n) => format!("{n} accounts"),
                None => String::new(),
            };
            (model.namespace_path(), count)
        }
    };
    let with_count = |p: &str| {
        if count.is_empty() {
            p.to_string()
        } else {
            format!("{p} · {count}")
        }
    };
    // The marker is never dropped: an auditor must always see that nothing can be changed from here.
    let marker = model
        .permissions()
        .marker()
        .map(|m| format!(" {m} "))
        .unwrap_or_default();
    let mut right = with_count(&path);
    let label = model.session_label();
    let mut left = format!(" sacon · {label} ");
    let room = |left: &str, right: &str| left.width() + marker.width() + right.width() + 2 <= w;
    if !room(&left, &right) {
        left = " sacon ".to_string();
    }
    if !room(&left, &right) {
        // Keep the namespace itself and the count; the ancestors go first.
        let last = path.rsplit(" › ").next().unwrap_or(&path);
        if last != path {
            right = with_count(&format!("… › {last}"));
        }
    }
    let right = fit(&right, w.saturating_sub(left.width() + marker.width() + 2));
    let pad = w.saturating_sub(left.width() + marker.width() + right.width() + 1);
    Paragraph::new(Line::from(vec![
        Span::raw(left),
        Span::styled(marker, theme.read_only()),
        Span::raw(" ".repeat(pad)),
        Span::raw(right),
        Span::raw(" "),
    ]))
    .style(theme.header())
    .render(area, buf);
}

fn render_status(model: &Model, area: Rect, buf: &mut Buffer) {
    let theme = model.theme;
    let w = usize::from(area.width);
    let marks = model.accounts.marked.len();
    let line = match &model.status {
        // With marks and nothing else to say: what the marks are for.
        Status::Empty
            if marks > 0 && model.screen == Screen::Accounts && model.overlay.is_none() =>
        {
            Line::styled(
                fit(
                    &format!(
                        "{marks} marked: d deletes them, D disables (or enables) them, u forgets the marks"
                    ),
                    w,
                ),
                theme.key(),
            )
        }
        Status::Empty => Line::raw(""),
        Status::Info(t) => Line::styled(fit(t, w), theme.ok()),
        Status::Busy(t) => Line::styled(fit(&format!("{t}…"), w), theme.dim()),
        Status::Error { text, retry } => {
            let hint = if *retry { " — R to retry" } else { "" };
            let text = fit(text, w.saturating_sub(hint.width()));
            Line::from(vec![
                Span::styled(text, theme.error()),
                Span::styled(hint, theme.key()),
            ])
        }
    };
    Paragraph::new(line).render(area, buf);
}

fn render_footer(model: &Model, context: Context, area: Rect, buf: &mut Buffer) {
    let theme = model.theme;
    let w = usize::from(area.width);
    let width = |(keys, label): &(String, &str)| keys.width() + 1 + label.width() + 2;
    let mut items = keymap::footer(context, model.permissions());
    // When not everything fits, the help key stays (last): it leads to every other key.
    let help = items.iter().position(|(_, label)| *label == "help");
    // The last item needs no gap after it.
    let pinned = match help {
        Some(i) if items.iter().map(width).sum::<usize>() > w + 2 => Some(items.remove(i)),
        _ => None,
    };
    let tail = pinned.as_ref().map_or(0, width);
    let mut shown = Vec::new();
    let mut used = 0;
    for item in items {
        if used + width(&item) + tail > w + 2 {
            break;
        }
        used += width(&item);
        shown.push(item);
    }
    shown.extend(pinned.filter(|p| width(p) <= w + 2));
    let spans: Vec<Span> = shown
        .into_iter()
        .flat_map(|(keys, label)| {
            [
                Span::styled(keys, theme.key()),
                Span::raw(format!(" {label}  ")),
            ]
        })
        .collect();
    Paragraph::new(Line::from(spans)).render(area, buf);
}
