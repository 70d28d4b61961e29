//! The permissions screen of one namespace: who holds which role there — bound on it, or inherited from an
//! ancestor (the FROM column says where) — and, for an admin, granting (`g`: a prompt taking `ID role` or
//! `group:NAME role`) and revoking a binding of this namespace (`d`, asked first). State, keys and render
//! together; every string from the server is sanitized before it is drawn.

use crossterm::event::KeyEvent;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row, Table, Widget};
use ratatui_textarea::TextArea;

use super::frame::body_area;
use super::namespaces::effective_offset;
use super::{field_input, field_text, list_move, row, set_field_focus, text_field};
use crate::access::Role;
use crate::api::{ConnectError, wire};
use crate::model::sanitize;
use crate::tui::format::fit;
use crate::tui::keymap::Command;
use crate::tui::msg::Effect;
use crate::tui::state::{Load, Model, Screen, Status};

/// One binding that applies in the namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleRow {
    /// The binding's id (what revoking names).
    pub id: String,
    /// `user` or `group`.
    pub subject_type: String,
    pub subject_id: String,
    /// A directory user's name and e-mail, when the subject is one.
    pub person: String,
    pub role: String,
    /// The namespace the binding was made on: this one, or an ancestor.
    pub granted_on: String,
}

impl RoleRow {
    /// The rows of a `ListNamespacePermissionUsers` and `…Groups` answer, nearest binding first.
    pub fn from_wire(
        users: Vec<wire::NamespacePermissionUser>,
        groups: Vec<wire::NamespacePermissionGroup>,
    ) -> Vec<RoleRow> {
        let mut rows: Vec<RoleRow> = users
            .into_iter()
            .map(|u| RoleRow {
                person: match (u.user_name.is_empty(), u.user_email.is_empty()) {
                    (true, true) => String::new(),
                    (false, true) => u.user_name,
                    (true, false) => format!("<{}>", u.user_email),
                    (false, false) => format!("{} <{}>", u.user_name, u.user_email),
                },
                id: u.id,
                subject_type: "user".into(),
                subject_id: u.user_id,
                role: u.role,
                granted_on: u.namespace_id,
            })
            .collect();
        rows.extend(groups.into_iter().map(|g| RoleRow {
            id: g.id,
            subject_type: "group".into(),
            subject_id: g.group_id,
            person: String::new(),
            role: g.role,
            granted_on: g.namespace_id,
        }));
        rows
    }
}

/// A grant typed into the prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub subject_type: &'static str,
    pub subject_id: String,
    pub role: Role,
}

/// Reads `alice manager`, `user:alice admin`, `group:sre viewer`; the role defaults to viewer.
pub fn parse_grant(text: &str) -> Result<Grant, String> {
    let mut parts = text.split_whitespace();
    let Some(subject) = parts.next() else {
        return Err("type a user id (or group:NAME) and a role".into());
    };
    let role = match parts.next() {
        None => Role::Viewer,
        Some(r) => Role::parse(&r.to_ascii_lowercase())
            .ok_or_else(|| format!("{r:?} is not a role: viewer, manager or admin"))?,
    };
    if parts.next().is_some() {
        return Err(
            "one subject and one role: e.g. `ci-deployer manager` or `group:sre viewer`".into(),
        );
    }
    let (subject_type, subject_id) = match subject.split_once(':') {
        Some(("group", id)) => ("group", id),
        Some(("user", id)) => ("user", id),
        _ => ("user", subject),
    };
    if subject_id.is_empty() {
        return Err("the subject is empty".into());
    }
    Ok(Grant {
        subject_type,
        subject_id: subject_id.to_string(),
        role,
    })
}

#[derive(Debug)]
pub struct RolesView {
    pub namespace_id: String,
    /// Where Esc goes.
    pub back: Option<Screen>,
    pub rows: Vec<RoleRow>,
    pub load: Load<()>,
    pub cursor: usize,
    pub offset: usize,
    /// The grant prompt while it is being typed.
    pub grant_input: Option<TextArea<'static>>,
    /// The row whose revoke is being asked about.
    pub revoking: Option<usize>,
    /// The grant or revoke in flight.
    pub pending: Option<u64>,
}

impl Default for RolesView {
    fn default() -> Self {
        RolesView {
            namespace_id: String::new(),
            back: None,
            rows: Vec::new(),
            load: Load::Idle,
            cursor: 0,
            offset: 0,
            grant_input: None,
            revoking: None,
            pending: None,
        }
    }
}

impl RolesView {
    pub fn selected(&self) -> Option<&RoleRow> {
        self.rows.get(self.cursor)
    }
}

/// Rows of bindings that fit in the body (title, column header and the prompt line take three).
pub fn viewport(body_height: u16) -> usize {
    usize::from(body_height.saturating_sub(3)).max(1)
}

fn rows_on_screen(model: &Model) -> usize {
    viewport(body_area(model.size).height)
}

/// Opens the screen on `namespace_id`, coming from `back`.
pub fn open(model: &mut Model, namespace_id: String, back: Screen) -> Vec<Effect> {
    model.roles = RolesView {
        namespace_id,
        back: Some(back),
        ..RolesView::default()
    };
    model.overlay = None;
    model.screen = Screen::Roles;
    model.status = Status::Empty;
    reload(model)
}

fn reload(model: &mut Model) -> Vec<Effect> {
    let seq = model.seq();
    model.roles.load = Load::Loading(seq);
    vec![Effect::LoadRoles {
        seq,
        namespace_id: model.roles.namespace_id.clone(),
    }]
}

pub fn on_loaded(model: &mut Model, seq: u64, result: Result<Vec<RoleRow>, ConnectError>) {
    if model.roles.load != Load::Loading(seq) {
        return;
    }
    match result {
        Ok(rows) => {
            model.roles.rows = rows;
            model.roles.load = Load::Loaded(());
            let last = model.roles.rows.len().saturating_sub(1);
            model.roles.cursor = model.roles.cursor.min(last);
        }
        Err(e) => {
            model.status = Status::from_error("cannot load the permissions", &e, true);
            model.roles.load = Load::Failed(e);
        }
    }
}

/// A grant or revoke answered: say what happened and show the bindings as they are now.
pub fn on_changed(
    model: &mut Model,
    seq: u64,
    result: Result<String, ConnectError>,
) -> Vec<Effect> {
    if model.roles.pending != Some(seq) {
        return Vec::new();
    }
    model.roles.pending = None;
    match result {
        Ok(done) => {
            model.status = Status::Info(done);
            reload(model)
        }
        Err(e) => {
            model.status = Status::from_error("the change was refused", &e, false);
            Vec::new()
        }
    }
}

pub fn on_key(model: &mut Model, command: Option<Command>) -> Vec<Effect> {
    let Some(command) = command else {
        return Vec::new();
    };
    let vp = rows_on_screen(model);
    let view = &mut model.roles;
    if let Some(to) = list_move(command, view.cursor, view.rows.len(), vp) {
        view.cursor = to;
        view.offset = effective_offset(view.cursor, view.offset, vp, view.rows.len());
        return Vec::new();
    }
    match command {
        Command::Grant => {
            let mut ta = text_field("");
            set_field_focus(&mut ta, true);
            ta.set_placeholder_text("user-id role, or group:NAME role (viewer, manager, admin)");
            view.grant_input = Some(ta);
        }
        Command::Revoke => match view.selected().map(|r| r.granted_on.clone()) {
            Some(on) if on == view.namespace_id => view.revoking = Some(view.cursor),
            Some(on) => {
                let from = model.path_of(&on);
                model.status = Status::Info(format!("inherited from {from}: revoke it there"));
            }
            None => {}
        },
        Command::Refresh => {
            model.status = Status::Empty;
            return reload(model);
        }
        Command::Close => {
            model.screen = view.back.unwrap_or(Screen::Namespaces);
            model.status = Status::Empty;
        }
        _ => {}
    }
    Vec::new()
}

/// The grant prompt: Enter grants what was typed, Esc cancels.
pub fn on_prompt_key(model: &mut Model, command: Option<Command>, key: KeyEvent) -> Vec<Effect> {
    match command {
        Some(Command::ApplyFilter) => {
            let Some(ta) = model.roles.grant_input.as_ref() else {
                return Vec::new();
            };
            match parse_grant(&field_text(ta)) {
                Err(why) => model.status = Status::Info(why),
                Ok(grant) => {
                    model.roles.grant_input = None;
                    let seq = model.seq();
                    model.roles.pending = Some(seq);
                    model.status = Status::Busy("granting".into());
                    return vec![Effect::Grant {
                        seq,
                        namespace_id: model.roles.namespace_id.clone(),
                        grant,
                    }];
                }
            }
        }
        Some(Command::Close) => model.roles.grant_input = None,
        _ => {
            if let Some(ta) = model.roles.grant_input.as_mut() {
                field_input(ta, key);
            }
        }
    }
    Vec::new()
}

/// The revoke question: y revokes, n or Esc keeps the binding.
pub fn on_confirm_key(model: &mut Model, command: Option<Command>) -> Vec<Effect> {
    let Some(index) = model.roles.revoking else {
        return Vec::new();
    };
    match command {
        Some(Command::Yes) => {
            model.roles.revoking = None;
            let Some(row) = model.roles.rows.get(index).cloned() else {
                return Vec::new();
            };
            let seq = model.seq();
            model.roles.pending = Some(seq);
            model.status = Status::Busy("revoking".into());
            vec![Effect::Revoke {
                seq,
                id: row.id.clone(),
                what: format!(
                    "revoked {} from {} {}",
                    row.role, row.subject_type, row.subject_id
                ),
            }]
        }
        Some(Command::No | Command::Close) => {
            model.roles.revoking = None;
            Vec::new()
        }
        _ => Vec::new(),
    }
}

pub fn render(model: &Model, area: Rect, buf: &mut Buffer) {
    let theme = model.theme;
    let view = &model.roles;
    let w = usize::from(area.width);
    let title = format!(
        "Permissions of {} (own and inherited)",
        model.path_of(&view.namespace_id)
    );
    Paragraph::new(Line::styled(fit(&title, w), theme.title())).render(row(area, 0), buf);
    let prompt_row = row(area, area.height.saturating_sub(1));
    let list = Rect::new(
        area.x,
        area.y + 1,
        area.width,
        area.height.saturating_sub(2),
    );
    match &view.load {
        Load::Loading(_) if view.rows.is_empty() => {
            Paragraph::new(Line::styled("loading…", theme.dim())).render(row(list, 0), buf);
        }
        Load::Failed(e) if view.rows.is_empty() => {
            let text = fit(&format!("cannot load: {}", sanitize(&e.message)), w);
            Paragraph::new(Line::styled(text, theme.error())).render(row(list, 0), buf);
        }
        _ if view.rows.is_empty() => {
            Paragraph::new(Line::styled(
                fit(
                    "no role is granted here or above: only the shared secret (root) can act",
                    w,
                ),
                theme.dim(),
            ))
            .render(row(list, 0), buf);
        }
        _ => render_table(model, list, buf),
    }
    let prompt = if let Some(ta) = &view.grant_input {
        let label = "grant: ";
        Paragraph::new(Line::styled(label, theme.key())).render(prompt_row, buf);
        let field = Rect::new(
            prompt_row.x + label.len() as u16,
            prompt_row.y,
            prompt_row.width.saturating_sub(label.len() as u16),
            prompt_row.height,
        );
        ta.render(field, buf);
        return;
    } else if let Some(r) = view.revoking.and_then(|i| view.rows.get(i)) {
        Line::styled(
            fit(
                &format!(
                    "revoke {} from {} {}? y/n",
                    sanitize(&r.role),
                    r.subject_type,
                    sanitize(&r.subject_id)
                ),
                w,
            ),
            theme.warning(),
        )
    } else {
        Line::raw("")
    };
    Paragraph::new(prompt).render(prompt_row, buf);
}

fn render_table(model: &Model, area: Rect, buf: &mut Buffer) {
    let theme = model.theme;
    let view = &model.roles;
    let wide = area.width >= 60;
    let vp = usize::from(area.height.saturating_sub(1)).max(1);
    let offset = effective_offset(view.cursor, view.offset, vp, view.rows.len());
    let rows = view
        .rows
        .iter()
        .enumerate()
        .skip(offset)
        .take(vp)
        .map(|(i, r)| {
            let subject = if r.person.is_empty() {
                sanitize(&r.subject_id)
            } else {
                format!("{} ({})", sanitize(&r.subject_id), sanitize(&r.person))
            };
            let from = if r.granted_on == view.namespace_id {
                "own".to_string()
            } else {
                format!("from {}", model.namespace_name(&r.granted_on))
            };
            let mut cells = vec![
                Cell::from(sanitize(&r.role)),
                Cell::from(if r.subject_type == "group" {
                    "group"
                } else {
                    "user"
                }),
                Cell::from(subject),
            ];
            if wide {
                cells.push(Cell::from(from));
            }
            let row = Row::new(cells);
            if i == view.cursor {
                row.style(theme.selected())
            } else if r.granted_on != view.namespace_id {
                row.style(theme.dim())
            } else {
                row
            }
        });
    let mut header = vec!["ROLE", "TYPE", "SUBJECT"];
    let mut widths = vec![
        Constraint::Length(8),
        Constraint::Length(6),
        Constraint::Fill(1),
    ];
    if wide {
        header.push("FROM");
        widths.push(Constraint::Length(24));
    }
    Table::new(rows, widths)
        .header(Row::new(header).style(theme.column_header()))
        .column_spacing(1)
        .render(area, buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_parse_from_the_prompt() {
        assert_eq!(
            parse_grant("ci-deployer manager"),
            Ok(Grant {
                subject_type: "user",
                subject_id: "ci-deployer".into(),
                role: Role::Manager
            })
        );
        assert_eq!(parse_grant("group:sre").unwrap().subject_type, "group");
        assert_eq!(parse_grant("group:sre").unwrap().role, Role::Viewer);
        assert_eq!(parse_grant("user:a ADMIN").unwrap().role, Role::Admin);
        assert!(parse_grant("").is_err());
        assert!(parse_grant("a owner").unwrap_err().contains("not a role"));
        assert!(parse_grant("a viewer extra").is_err());
        assert!(parse_grant("group: viewer").is_err());
    }
}
