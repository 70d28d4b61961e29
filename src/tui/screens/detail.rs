//! The account detail: every field of one account (kind, namespace path, dates absolute and relative, markers)
//! and its history — the newest changes made to it, who made them and, for an update, each field before →
//! after — loaded in the background when the detail opens. State, keys, the history's answer, render.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};
use unicode_width::UnicodeWidthStr;

use super::activity::{self, EntityFilter, Entry};
use super::{accounts, centered, modal, row};
use crate::api::{Code, wire};
use crate::model::{ServiceAccount, sanitize};
use crate::tui::format::{self, ExpiryMark, fit};
use crate::tui::keymap::Command;
use crate::tui::msg::{ActivityPage, Effect};
use crate::tui::state::{Load, Model, Overlay, Screen};

/// The newest changes asked for; the activity screen (`L`) has them all.
pub const HISTORY: i64 = 50;

/// The entity type of a service account in the activity log.
pub const ACCOUNT_ENTITY: &str = "service_account";

#[derive(Debug)]
pub struct AccountDetail {
    pub account: ServiceAccount,
    /// The newest changes and how many there are in all.
    pub history: Load<(Vec<Entry>, u64)>,
    /// The first history row shown.
    pub scroll: usize,
}

/// The request for an account's newest changes.
pub fn history_request(account_id: &str) -> wire::ListActivityLogEntriesRequest {
    wire::ListActivityLogEntriesRequest {
        entity_type: Some(ACCOUNT_ENTITY.into()),
        entity_id: Some(account_id.into()),
        offset: Some(0),
        limit: Some(HISTORY),
        ..Default::default()
    }
}

/// Opens the detail of `account` and asks for its history.
pub fn open(model: &mut Model, account: ServiceAccount) -> Vec<Effect> {
    let mut detail = AccountDetail {
        account,
        history: Load::Idle,
        scroll: 0,
    };
    let mut effects = load(model, &mut detail);
    // What it can reach, asked afresh: a policy may have changed since the list asked.
    let id = detail.account.id.clone();
    if !matches!(model.reach.get(&id), Some(Load::Failed(_))) {
        model.reach.insert(id.clone(), Load::Loading(0));
        effects.push(Effect::LoadReach { ids: vec![id] });
    }
    model.overlay = Some(Overlay::Detail(Box::new(detail)));
    effects
}

fn load(model: &mut Model, detail: &mut AccountDetail) -> Vec<Effect> {
    let seq = model.seq();
    detail.history = Load::Loading(seq);
    vec![Effect::LoadHistory {
        seq,
        request: history_request(&detail.account.id),
    }]
}

/// Takes the history if it answers the request the open detail is waiting for.
pub fn on_history(model: &mut Model, seq: u64, result: ActivityPage) {
    if let Some(Overlay::Detail(d)) = &mut model.overlay
        && d.history == Load::Loading(seq)
    {
        d.history = match result {
            Ok(page) => Load::Loaded(page),
            Err(e) => Load::Failed(e),
        };
        d.scroll = 0;
    }
}

pub fn on_key(
    model: &mut Model,
    mut detail: AccountDetail,
    command: Option<Command>,
) -> Vec<Effect> {
    let mut effects = Vec::new();
    let rows = detail.history.loaded().map_or(0, |(e, _)| e.len());
    match command {
        Some(Command::Close) => return effects,
        Some(c @ (Command::Edit | Command::Rotate | Command::Delete)) => {
            return accounts::open_action(model, c, detail.account);
        }
        Some(Command::ToggleDisabled) => {
            return super::confirm::toggle_disabled(model, detail.account);
        }
        Some(Command::Activity) => {
            let entity = EntityFilter {
                kind: ACCOUNT_ENTITY.into(),
                id: detail.account.id.clone(),
                name: detail.account.user_id.clone(),
            };
            return activity::open(model, None, Some(entity), Screen::Accounts);
        }
        Some(Command::Up) => detail.scroll = detail.scroll.saturating_sub(1),
        Some(Command::Down) => detail.scroll = (detail.scroll + 1).min(rows.saturating_sub(1)),
        Some(Command::Refresh) => effects = load(model, &mut detail),
        _ => {}
    }
    model.overlay = Some(Overlay::Detail(Box::new(detail)));
    effects
}

/// The account's fields, most telling first: on a short terminal the last ones give way to the history.
fn fields(model: &Model, a: &ServiceAccount) -> Vec<(&'static str, String)> {
    let now = model.wall;
    let kind = match model.kind_of(&a.user_id) {
        Some(true) => "impersonated (a directory user)",
        Some(false) => "unique",
        None => "…",
    };
    let namespace = model.path_of(&a.namespace_id);
    let inherited = model
        .current
        .as_deref()
        .is_some_and(|c| c != a.namespace_id);
    let marks = format::marks(a, now);
    let expires = match a.expires_at {
        Some(t) => format!(
            "{} ({})",
            format::datetime(t),
            format::expires(Some(t), now)
        ),
        None => "never".into(),
    };
    let last_used = match a.accessed_at {
        Some(t) => format!("{} ({})", format::datetime(t), format::ago(t, now)),
        None => "never".into(),
    };
    let mut flags = Vec::new();
    match marks.expiry {
        ExpiryMark::Expired => flags.push("✗ expired"),
        ExpiryMark::Soon => flags.push("! expires within 7 days"),
        ExpiryMark::Never => flags.push("∞ never expires"),
        ExpiryMark::Fine => {}
    }
    if marks.unused {
        flags.push("z unused for 90 days");
    }
    if a.disabled {
        flags.insert(0, "⊘ disabled: /verify refuses its token (D enables)");
    }
    let mut rows: Vec<(&str, String)> = vec![
        ("User ID", sanitize(&a.user_id)),
        ("Kind", kind.to_string()),
    ];
    if let Some(person) = acts_as(model, a) {
        rows.push(("Acts as", person));
    }
    rows.extend([
        (
            "Namespace",
            if inherited {
                format!("{namespace} (inherited)")
            } else {
                namespace
            },
        ),
        ("Description", sanitize(&a.description)),
        ("Expires", expires),
        ("Last used", last_used),
    ]);
    if !flags.is_empty() {
        rows.push(("Audit", flags.join(", ")));
    }
    if let Some(reach) = reach_text(model, a) {
        rows.push(("Reaches", reach));
    }
    rows.push(("ID", sanitize(&a.id)));
    rows.push(("Created", format::datetime(a.created_at)));
    rows.push(("Modified", format::datetime(a.modified_at)));
    if !a.originator_id.is_empty() {
        rows.push(("Created by", sanitize(&a.originator_id)));
    }
    rows
}

/// What the account can reach, as the server judged it: the routes it is let through, with the policy that
/// lets it; `None` from a server without the access calls.
pub fn reach_text(model: &Model, a: &ServiceAccount) -> Option<String> {
    match model.reach.get(&a.id)? {
        Load::Idle | Load::Loading(_) => Some("…".into()),
        Load::Failed(_) => None,
        Load::Loaded(routes) if routes.is_empty() => {
            Some("no route in its namespace or below yet (p: policies)".into())
        }
        Load::Loaded(routes) => {
            let allowed: Vec<String> = routes
                .iter()
                .filter(|r| r.allowed)
                .map(|r| {
                    format!(
                        "{} ({}{}) via {}",
                        sanitize(&r.route_name),
                        sanitize(&r.from),
                        sanitize(&r.prefix),
                        sanitize(&r.policy_name)
                    )
                })
                .collect();
            Some(if allowed.is_empty() {
                format!(
                    "{} nothing: no policy lets it through any of the {} route{} it could use",
                    crate::display::NO_GRANT_SYMBOL,
                    routes.len(),
                    if routes.len() == 1 { "" } else { "s" }
                )
            } else {
                allowed.join("; ")
            })
        }
    }
}

/// When the account's current token was issued and until when the one before it keeps working, read from the
/// history: its newest creation, rotation or token-issuing update (one carrying `graceUntil`). Nothing until the
/// history is in, or when the newest of them is older than the history shown.
fn token_rows(model: &Model, detail: &AccountDetail) -> Vec<(&'static str, String)> {
    let now = model.wall;
    let Some((entries, _)) = detail.history.loaded() else {
        return Vec::new();
    };
    let issued = entries.iter().find(|e| {
        matches!(e.action.as_str(), "create" | "rotate")
            || (e.action == "update" && e.data.get("graceUntil").is_some())
    });
    let Some(e) = issued else {
        return Vec::new();
    };
    let mut rows = Vec::new();
    if let Some(at) = e.at {
        let how = if e.action == "create" {
            "at creation"
        } else {
            "reissued"
        };
        rows.push((
            "Token issued",
            format!("{} ({}, {how})", format::datetime(at), format::ago(at, now)),
        ));
    }
    let grace = e
        .data
        .get("graceUntil")
        .and_then(serde_json::Value::as_str)
        .and_then(crate::filter::parse_time);
    if let Some(until) = grace.filter(|t| *t > now) {
        rows.push((
            "Grace",
            format!(
                "the old token works until {} (ends in {})",
                format::datetime(until),
                format::span(until - now)
            ),
        ));
    }
    rows
}

/// `Ann Example <ann@example.com>`: the directory user an impersonated account acts as, once looked up.
pub fn acts_as(model: &Model, a: &ServiceAccount) -> Option<String> {
    if model.kind_of(&a.user_id) != Some(true) {
        return None;
    }
    let user = model.people.get(&a.user_id)?;
    let name = sanitize(user.name.trim());
    let email = sanitize(user.email.trim());
    Some(match (name.is_empty(), email.is_empty()) {
        (false, false) => format!("{name} <{email}>"),
        (false, true) => name,
        (true, false) => format!("<{email}>"),
        (true, true) => return None,
    })
}

/// The history's heading and the lines under it (one per change, or one saying why there are none).
fn history_lines(
    model: &Model,
    detail: &AccountDetail,
    width: usize,
) -> (String, Vec<Line<'static>>) {
    let theme = model.theme;
    let note = |text: &str, style| vec![Line::styled(fit(text, width), style)];
    match &detail.history {
        Load::Idle | Load::Loading(_) => ("History".into(), note("loading…", theme.dim())),
        Load::Failed(e) if e.code == Code::Unimplemented => (
            "History".into(),
            note("this server keeps no activity log", theme.dim()),
        ),
        Load::Failed(e) => (
            "History".into(),
            note(
                &format!("could not load: {} (R to retry)", sanitize(&e.message)),
                theme.error(),
            ),
        ),
        Load::Loaded((entries, total)) => {
            let heading = match (*total, entries.len()) {
                (0, _) => "History · none recorded".to_string(),
                (1, _) => "History · 1 change".to_string(),
                (t, n) if t as usize > n => format!("History · newest {n} of {t} changes"),
                (t, _) => format!("History · {t} changes"),
            };
            let lines = entries
                .iter()
                .skip(detail.scroll)
                .flat_map(|e| history_line(model, e, width))
                .collect();
            (heading, lines)
        }
    }
}

/// Lines a change's summary may take when the detail is wide; narrow, it is cut to one.
const SUMMARY_LINES: usize = 3;

/// `2026-06-01 11:58 local:alice  update description: "old" → "new"`; a long summary continues under itself.
fn history_line(model: &Model, e: &Entry, width: usize) -> Vec<Line<'static>> {
    let theme = model.theme;
    let wide = width >= 60;
    let when = activity::when(e.at, wide);
    let actor = pad(&sanitize(&e.actor), if wide { 12 } else { 9 });
    let action = pad(&sanitize(&e.action), 6);
    let used = when.width() + 1 + actor.width() + 1 + action.width() + 1;
    let room = width.saturating_sub(used);
    let summary = e.summary();
    let mut pieces = if wide {
        wrap(&summary, room)
    } else {
        vec![fit(&summary, room)]
    };
    if pieces.len() > SUMMARY_LINES {
        pieces.truncate(SUMMARY_LINES);
        if let Some(last) = pieces.last_mut() {
            *last = fit(&format!("{last}…"), room);
        }
    }
    let mut pieces = pieces.into_iter();
    let mut out = vec![Line::from(vec![
        Span::styled(format!("{when} "), theme.dim()),
        Span::raw(format!("{actor} ")),
        Span::styled(format!("{action} "), theme.key()),
        Span::raw(pieces.next().unwrap_or_default()),
    ])];
    out.extend(pieces.map(|p| Line::raw(format!("{}{p}", " ".repeat(used)))));
    out
}

/// `text` in lines of at most `cells` terminal cells, broken at spaces where it can be.
fn wrap(text: &str, cells: usize) -> Vec<String> {
    let cells = cells.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let joined = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if joined.width() <= cells {
            line = joined;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        // A word wider than the line is cut into pieces.
        let mut rest = word.to_string();
        while rest.width() > cells {
            let mut piece = String::new();
            for c in rest.chars() {
                if (piece.clone() + &c.to_string()).width() > cells {
                    break;
                }
                piece.push(c);
            }
            if piece.is_empty() {
                break;
            }
            rest = rest[piece.len()..].to_string();
            lines.push(piece);
        }
        line = rest;
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// `text` cut or padded to exactly `cells` terminal cells.
fn pad(text: &str, cells: usize) -> String {
    let cut = fit(text, cells);
    let room = cells.saturating_sub(cut.width());
    format!("{cut}{}", " ".repeat(room))
}

pub fn render(model: &Model, detail: &AccountDetail, area: Rect, buf: &mut Buffer) {
    let theme = model.theme;
    let mut rows = fields(model, &detail.account);
    // After the audit flags (or Last used): what an auditor asks next.
    let at = rows
        .iter()
        .position(|(l, _)| *l == "ID")
        .unwrap_or(rows.len());
    rows.splice(at..at, token_rows(model, detail));
    let history_rows = detail
        .history
        .loaded()
        .map_or(1, |(e, _)| e.len().max(1) * 2)
        .min(usize::from(area.height));
    let wanted = rows.len() + 1 + history_rows + 2;
    let outer = centered(area, 78, u16::try_from(wanted).unwrap_or(u16::MAX));
    let inner = modal(outer, "Account", theme, buf);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let w = usize::from(inner.width);
    let height = usize::from(inner.height);
    // The history keeps its heading and a couple of changes; the fields take the rest, most telling first.
    let history_room = (1 + history_rows).min(3);
    let shown_fields = if height > history_room + 1 {
        rows.len().min(height - history_room)
    } else {
        rows.len().min(height)
    };
    let label_w = 13usize;
    for (i, (label, value)) in rows.iter().take(shown_fields).enumerate() {
        Paragraph::new(Line::from(vec![
            Span::styled(fit(&format!("{label:<label_w$}"), w), theme.dim()),
            Span::raw(fit(value, w.saturating_sub(label_w))),
        ]))
        .render(row(inner, i as u16), buf);
    }
    let top = shown_fields;
    if top >= height {
        return;
    }
    let (heading, lines) = history_lines(model, detail, w);
    Paragraph::new(Line::styled(fit(&heading, w), theme.title()))
        .render(row(inner, top as u16), buf);
    for (i, line) in lines.into_iter().take(height - top - 1).enumerate() {
        Paragraph::new(line).render(row(inner, (top + 1 + i) as u16), buf);
    }
}
