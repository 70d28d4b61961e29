//! The token view's next step, "grant access" (`g`): the policies of the account's namespace (add its user id
//! to one) and the routes of that namespace and below (a new policy named after the account, put on the
//! route). The token view stays open underneath, so the token is never lost to it. State, keys and render.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::policies::AccessData;
use super::secret::SecretView;
use super::{centered, list_move, modal, row};
use crate::api::{ConnectError, wire};
use crate::model::sanitize;
use crate::tui::format::fit;
use crate::tui::keymap::Command;
use crate::tui::msg::Effect;
use crate::tui::state::{Load, Model, Overlay};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantItem {
    /// Add the user id to this policy's allowed users.
    Policy {
        id: String,
        name: String,
        routes: Vec<String>,
    },
    /// A new policy allowing the user id, put on this route.
    NewOnRoute {
        route_id: String,
        name: String,
        from: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct GrantPicker {
    pub items: Load<Vec<GrantItem>>,
    pub cursor: usize,
    /// The grant in flight.
    pub pending: Option<u64>,
    pub error: Option<String>,
}

/// `g` in the token view: asks for the namespace's policies and routes.
pub fn open(model: &mut Model, view: &mut SecretView) -> Vec<Effect> {
    let seq = model.seq();
    view.grant = Some(GrantPicker {
        items: Load::Loading(seq),
        cursor: 0,
        pending: None,
        error: None,
    });
    vec![Effect::LoadAccess {
        seq,
        namespace_id: view.account.namespace_id.clone(),
    }]
}

/// The items for an account of `namespace_id`: its policies, then the routes of its subtree.
fn items(model: &Model, namespace_id: &str, data: AccessData) -> Vec<GrantItem> {
    let mut out: Vec<GrantItem> = data
        .policies
        .into_iter()
        .filter(|p| p.namespace_id == namespace_id)
        .map(|p| {
            let mut routes: Vec<String> = p.routes.values().cloned().collect();
            routes.sort();
            GrantItem::Policy {
                id: p.id,
                name: p.name,
                routes,
            }
        })
        .collect();
    let subtree = model.tree.subtree(namespace_id);
    out.extend(
        data.routes
            .into_iter()
            .filter(|r| subtree.contains(&r.namespace_id) || r.namespace_id == namespace_id)
            .map(|r| GrantItem::NewOnRoute {
                route_id: r.id,
                name: r.name,
                from: format!("{}{}", r.from, r.prefix.unwrap_or_default()),
            }),
    );
    out
}

pub fn on_access(model: &mut Model, seq: u64, result: Result<AccessData, ConnectError>) {
    let namespace_id = match &model.overlay {
        Some(Overlay::Secret(view))
            if view
                .grant
                .as_ref()
                .is_some_and(|g| g.items == Load::Loading(seq)) =>
        {
            view.account.namespace_id.clone()
        }
        _ => return,
    };
    let loaded = match result {
        Ok(data) => Load::Loaded(items(model, &namespace_id, data)),
        Err(e) => Load::Failed(e),
    };
    if let Some(Overlay::Secret(view)) = &mut model.overlay
        && let Some(g) = view.grant.as_mut()
    {
        g.items = loaded;
    }
}

/// A grant answered: back to the token view with what was done, or the error in the picker. True when it
/// was the picker's.
pub fn on_changed(model: &mut Model, seq: u64, result: &Result<String, ConnectError>) -> bool {
    let Some(Overlay::Secret(view)) = &mut model.overlay else {
        return false;
    };
    let Some(g) = view.grant.as_mut().filter(|g| g.pending == Some(seq)) else {
        return false;
    };
    match result {
        Ok(done) => {
            view.note = Some((
                false,
                format!("{done}. The token still needs copying or saving."),
            ));
            view.grant = None;
        }
        Err(e) => {
            g.pending = None;
            g.error = Some(sanitize(&e.message));
        }
    }
    true
}

/// Keys while the picker is open over the token view.
pub fn on_key(model: &mut Model, view: &mut SecretView, command: Option<Command>) -> Vec<Effect> {
    let user_id = view.account.user_id.clone();
    let namespace_id = view.account.namespace_id.clone();
    let Some(g) = view.grant.as_mut() else {
        return Vec::new();
    };
    let len = g.items.loaded().map_or(0, Vec::len);
    match command {
        Some(Command::Close) if g.pending.is_none() => view.grant = None,
        Some(Command::Select) if g.pending.is_none() => {
            let Some(item) = g.items.loaded().and_then(|i| i.get(g.cursor)).cloned() else {
                return Vec::new();
            };
            let seq = model.seq();
            g.pending = Some(seq);
            g.error = None;
            return vec![match item {
                GrantItem::Policy { id, .. } => Effect::GrantUser {
                    seq,
                    policy_id: id,
                    user_id,
                },
                GrantItem::NewOnRoute { route_id, .. } => Effect::SavePolicy {
                    seq,
                    policy: wire::Policy {
                        name: format!("{user_id}-access"),
                        namespace_id,
                        description: format!("made when {user_id}'s token was issued"),
                        allowed_users: vec![user_id],
                        ..Default::default()
                    },
                    attach_route: Some(route_id),
                },
            }];
        }
        Some(c) => {
            if let Some(to) = list_move(c, g.cursor, len, len.max(1)) {
                g.cursor = to;
            }
        }
        None => {}
    }
    Vec::new()
}

pub fn render(model: &Model, view: &SecretView, g: &GrantPicker, area: Rect, buf: &mut Buffer) {
    let theme = model.theme;
    let n = g.items.loaded().map_or(1, Vec::len);
    let height = u16::try_from(n)
        .unwrap_or(u16::MAX)
        .saturating_add(5)
        .min(area.height);
    let title = format!("Grant access to {}", sanitize(&view.account.user_id));
    let inner = modal(centered(area, 80, height), &title, theme, buf);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let w = usize::from(inner.width);
    let first = match &g.items {
        Load::Loaded(items) if items.is_empty() => Some((
            "No policy or route here yet: add them on the policies screen (p) or with sacon routes create.",
            theme.dim(),
        )),
        Load::Loaded(_) => None,
        Load::Failed(_) => None,
        _ => Some(("loading…", theme.dim())),
    };
    if let Some((text, style)) = first {
        Paragraph::new(Line::styled(fit(text, w), style)).render(row(inner, 0), buf);
    }
    if let Load::Failed(e) = &g.items {
        let text = format!(
            "Cannot load the policies and routes: {}",
            sanitize(&e.message)
        );
        Paragraph::new(Line::styled(fit(&text, w), theme.error())).render(row(inner, 0), buf);
    }
    if let Some(items) = g.items.loaded() {
        let room = usize::from(inner.height.saturating_sub(2));
        let top = g.cursor.saturating_sub(room.saturating_sub(1));
        for (i, item) in items.iter().enumerate().skip(top).take(room) {
            let y = u16::try_from(i - top).unwrap_or(u16::MAX);
            let (what, detail) = match item {
                GrantItem::Policy { name, routes, .. } => (
                    format!("add to policy {}", sanitize(name)),
                    if routes.is_empty() {
                        "  (guards no route yet)".to_string()
                    } else {
                        format!("  guards {}", sanitize(&routes.join(", ")))
                    },
                ),
                GrantItem::NewOnRoute { name, from, .. } => (
                    format!("new policy on route {}", sanitize(name)),
                    format!("  {}", sanitize(from)),
                ),
            };
            let mut line = Line::from(vec![
                Span::raw(fit(&what, w.min(44))),
                Span::styled(
                    fit(&detail, w.saturating_sub(what.chars().count())),
                    theme.dim(),
                ),
            ]);
            if i == g.cursor {
                line = line.style(theme.selected());
            }
            Paragraph::new(line).render(row(inner, y), buf);
        }
    }
    let last = match (&g.error, g.pending) {
        (Some(e), _) => Line::styled(fit(&format!("✗ {e}"), w), theme.error()),
        (None, Some(_)) => Line::styled("granting…", theme.dim()),
        (None, None) => Line::styled(fit("Enter grant  Esc back to the token", w), theme.dim()),
    };
    Paragraph::new(last).render(row(inner, inner.height.saturating_sub(1)), buf);
}
