//! The policy builder: name, description, allowed users (comma-separated, with the add modal's lookahead on
//! the one being typed), e-mail domains, directory groups, and whether it is enforced down the tree; it shows
//! the PPL the policy amounts to and saves users and domains as the policy's lists and the groups as its PPL.
//! A policy whose PPL the builder cannot express keeps it as it is. State, keys and render together.

use crossterm::event::KeyEvent;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};
use ratatui_textarea::TextArea;
use serde_json::{Value, json};

use super::add_modal::Debounced;
use super::{centered, field_input, field_text, modal, row, set_field_focus, text_field};
use crate::api::{ConnectError, wire};
use crate::model::{DirectoryUser, sanitize};
use crate::tui::format::fit;
use crate::tui::keymap::Command;
use crate::tui::msg::{Effect, Now};
use crate::tui::state::{Model, Overlay};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PField {
    Name,
    Description,
    Users,
    Domains,
    Groups,
    Enforced,
}

const ORDER: [PField; 6] = [
    PField::Name,
    PField::Description,
    PField::Users,
    PField::Domains,
    PField::Groups,
    PField::Enforced,
];

/// How many lookahead results are shown under the users field.
const RESULTS: usize = 4;

#[derive(Debug)]
pub struct PolicyForm {
    /// The policy being edited (its id and the fields the builder does not show); `None` for a new one.
    pub original: Option<wire::Policy>,
    pub namespace_id: String,
    pub name: TextArea<'static>,
    pub description: TextArea<'static>,
    pub users: TextArea<'static>,
    pub domains: TextArea<'static>,
    pub groups: TextArea<'static>,
    pub enforced: bool,
    pub focus: PField,
    /// A PPL document the builder cannot express, kept as it is (the groups field is then read-only).
    pub custom_ppl: Option<String>,
    pub lookahead: Debounced<(Vec<DirectoryUser>, u64)>,
    /// The server has a directory to search (else users are typed ids only).
    pub directory: bool,
    pub result_cursor: usize,
    pub error: Option<String>,
    pub submitting: Option<u64>,
}

fn list(text: &str) -> Vec<String> {
    text.split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The groups of a PPL document the builder wrote (`allow: or: [groups has …]`), or `None` when it is
/// anything else.
fn groups_of(ppl: &str) -> Option<Vec<String>> {
    if ppl.trim().is_empty() {
        return Some(Vec::new());
    }
    let v: Value = serde_json::from_str(ppl).ok()?;
    let rules = v.get("allow")?.get("or")?.as_array()?;
    if v.as_object()?.len() != 1 || v["allow"].as_object()?.len() != 1 {
        return None;
    }
    rules
        .iter()
        .map(|r| {
            let has = r.get("groups")?.get("has")?.as_str()?;
            (r.as_object()?.len() == 1).then(|| has.to_string())
        })
        .collect()
}

/// The PPL for `groups` (empty when there are none).
pub fn groups_ppl(groups: &[String]) -> String {
    if groups.is_empty() {
        return String::new();
    }
    let rules: Vec<Value> = groups
        .iter()
        .map(|g| json!({"groups": {"has": g}}))
        .collect();
    json!({"allow": {"or": rules}}).to_string()
}

impl PolicyForm {
    fn blank(namespace_id: String) -> PolicyForm {
        let mut form = PolicyForm {
            original: None,
            namespace_id,
            name: text_field(""),
            description: text_field(""),
            users: text_field(""),
            domains: text_field(""),
            groups: text_field(""),
            enforced: false,
            focus: PField::Name,
            custom_ppl: None,
            lookahead: Debounced::default(),
            directory: true,
            result_cursor: 0,
            error: None,
            submitting: None,
        };
        form.name.set_placeholder_text("e.g. reports-readers");
        form.users
            .set_placeholder_text("user ids or e-mails, comma-separated (type to search)");
        form.domains.set_placeholder_text("e.g. example.com");
        form.groups
            .set_placeholder_text("directory groups, e.g. sre");
        form.focus_on(PField::Name);
        form
    }

    pub fn create(namespace_id: String) -> PolicyForm {
        PolicyForm::blank(namespace_id)
    }

    pub fn edit(policy: wire::Policy) -> PolicyForm {
        let mut form = PolicyForm::blank(policy.namespace_id.clone());
        form.name = text_field(&policy.name);
        form.description = text_field(&policy.description);
        form.users = text_field(&policy.allowed_users.join(", "));
        form.domains = text_field(&policy.allowed_domains.join(", "));
        match groups_of(&policy.ppl) {
            Some(groups) => form.groups = text_field(&groups.join(", ")),
            None => form.custom_ppl = Some(policy.ppl.clone()),
        }
        form.enforced = policy.enforced;
        form.original = Some(policy);
        form.focus_on(PField::Name);
        form
    }

    fn field_mut(&mut self, f: PField) -> Option<&mut TextArea<'static>> {
        match f {
            PField::Name => Some(&mut self.name),
            PField::Description => Some(&mut self.description),
            PField::Users => Some(&mut self.users),
            PField::Domains => Some(&mut self.domains),
            PField::Groups if self.custom_ppl.is_none() => Some(&mut self.groups),
            PField::Groups | PField::Enforced => None,
        }
    }

    pub fn focus_on(&mut self, f: PField) {
        for other in ORDER {
            let focused = other == f;
            if let Some(ta) = self.field_mut(other) {
                set_field_focus(ta, focused);
            }
        }
        self.focus = f;
    }

    fn step(&mut self, by: isize) {
        let i = ORDER.iter().position(|f| *f == self.focus).unwrap_or(0) as isize;
        let n = ORDER.len() as isize;
        self.focus_on(ORDER[(i + by).rem_euclid(n) as usize]);
    }

    /// The user being typed: the text after the last comma.
    fn typed_user(&self) -> String {
        let text = field_text(&self.users);
        text.rsplit(',').next().unwrap_or("").trim().to_string()
    }

    pub fn results(&self) -> &[DirectoryUser] {
        match self.lookahead.state.loaded() {
            Some((users, _)) if self.focus == PField::Users => &users[..users.len().min(RESULTS)],
            _ => &[],
        }
    }

    /// Replaces the user being typed with the highlighted result's id.
    fn pick(&mut self) -> bool {
        let Some(id) = self.results().get(self.result_cursor).map(|u| u.id.clone()) else {
            return false;
        };
        let text = field_text(&self.users);
        // The users before the one being typed stay; the pick replaces it, ready for the next.
        let joined = match text.rsplit_once(',').map(|(head, _)| head.trim_end()) {
            Some(head) if !head.is_empty() => format!("{head}, {id}, "),
            _ => format!("{id}, "),
        };
        self.users = text_field(&joined);
        set_field_focus(&mut self.users, true);
        self.lookahead.clear();
        self.result_cursor = 0;
        true
    }

    /// The PPL the whole policy amounts to (users, domains and groups as one `allow: or`), for the preview.
    pub fn preview(&self) -> String {
        let mut rules: Vec<Value> = list(&field_text(&self.users))
            .into_iter()
            .map(|u| {
                if u.contains('@') {
                    json!({"email": {"is": u}})
                } else {
                    json!({"user": {"is": u}})
                }
            })
            .collect();
        rules.extend(
            list(&field_text(&self.domains)).into_iter().map(
                |d| json!({"email": {"ends_with": format!("@{}", d.trim_start_matches('@'))}}),
            ),
        );
        if let Some(custom) = &self.custom_ppl {
            return format!(
                "{} + custom PPL kept: {}",
                json!({"allow": {"or": rules}}),
                custom.split_whitespace().collect::<Vec<_>>().join(" ")
            );
        }
        rules.extend(
            list(&field_text(&self.groups))
                .into_iter()
                .map(|g| json!({"groups": {"has": g}})),
        );
        if rules.is_empty() {
            return "(allows no one yet)".into();
        }
        json!({"allow": {"or": rules}}).to_string()
    }

    /// What to send, or why not.
    fn policy(&self) -> Result<wire::Policy, String> {
        let name = field_text(&self.name).trim().to_string();
        if name.is_empty() {
            return Err("a policy needs a name".into());
        }
        let mut p = self.original.clone().unwrap_or_default();
        p.name = name;
        p.namespace_id = self.namespace_id.clone();
        p.description = field_text(&self.description).trim().to_string();
        p.allowed_users = list(&field_text(&self.users));
        p.allowed_domains = list(&field_text(&self.domains))
            .into_iter()
            .map(|d| d.trim_start_matches('@').to_string())
            .collect();
        p.ppl = match &self.custom_ppl {
            Some(custom) => custom.clone(),
            None => groups_ppl(&list(&field_text(&self.groups))),
        };
        p.enforced = self.enforced;
        Ok(p)
    }

    /// Pastes into the focused field (a pasted user starts the lookahead like a typed one).
    pub fn paste(&mut self, text: &str, now: std::time::Instant) {
        let focus = self.focus;
        if let Some(ta) = self.field_mut(focus)
            && super::field_paste(ta, text)
            && focus == PField::Users
            && self.directory
        {
            self.lookahead.touch(now);
        }
    }

    pub fn next_deadline(&self) -> Option<std::time::Instant> {
        self.lookahead.deadline
    }
}

pub fn on_key(
    model: &mut Model,
    mut form: Box<PolicyForm>,
    command: Option<Command>,
    key: KeyEvent,
    now: Now,
) -> Vec<Effect> {
    let mut effects = Vec::new();
    match command {
        Some(Command::Close) if form.submitting.is_none() => return effects,
        Some(Command::NextField) => form.step(1),
        Some(Command::PrevField) => form.step(-1),
        Some(Command::Up) if !form.results().is_empty() => {
            form.result_cursor = form.result_cursor.saturating_sub(1);
        }
        Some(Command::Down) if !form.results().is_empty() => {
            form.result_cursor = (form.result_cursor + 1).min(form.results().len() - 1);
        }
        Some(Command::Up) => form.step(-1),
        Some(Command::Down) => form.step(1),
        Some(Command::Activate) => {
            if form.focus == PField::Enforced {
                form.enforced = !form.enforced;
            } else if !(form.focus == PField::Users && form.pick()) {
                form.step(1);
            }
        }
        Some(Command::Left | Command::Right) if form.focus == PField::Enforced => {
            form.enforced = !form.enforced;
        }
        Some(Command::Submit) if form.submitting.is_none() => match form.policy() {
            Ok(policy) => {
                let seq = model.seq();
                form.submitting = Some(seq);
                form.error = None;
                effects.push(Effect::SavePolicy {
                    seq,
                    policy,
                    attach_route: None,
                });
            }
            Err(why) => form.error = Some(why),
        },
        _ => {
            let focus = form.focus;
            if let Some(ta) = form.field_mut(focus)
                && field_input(ta, key)
                && focus == PField::Users
            {
                if form.typed_user().is_empty() || !form.directory {
                    form.lookahead.clear();
                } else {
                    form.lookahead.touch(now.mono);
                }
            }
        }
    }
    model.overlay = Some(Overlay::PolicyForm(form));
    effects
}

/// On a tick: the lookahead search once typing paused.
pub fn on_tick(model: &mut Model, now: Now) -> Vec<Effect> {
    let seq = model.seq();
    if let Some(Overlay::PolicyForm(form)) = &mut model.overlay
        && form.lookahead.due(now.mono, seq)
    {
        return vec![Effect::SearchUsers {
            seq,
            query: form.typed_user(),
        }];
    }
    Vec::new()
}

pub fn on_search(
    model: &mut Model,
    seq: u64,
    result: Result<(Vec<DirectoryUser>, u64), ConnectError>,
) {
    if let Some(Overlay::PolicyForm(f)) = &mut model.overlay
        && f.lookahead.answer(seq, result)
    {
        f.result_cursor = 0;
    }
}

pub fn render(model: &Model, form: &PolicyForm, area: Rect, buf: &mut Buffer) {
    let theme = model.theme;
    let title = match &form.original {
        Some(p) => format!("Edit policy {}", sanitize(&p.name)),
        None => format!("New policy in {}", model.path_of(&form.namespace_id)),
    };
    let inner = modal(centered(area, 84, 20), &title, theme, buf);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let w = usize::from(inner.width);
    let label_w: u16 = if inner.width >= 50 { 13 } else { 9 };
    let mut y = 0u16;
    // The label of field `f` on row `y`, and the rest of the row for the field.
    let label_row = |y: u16, label: &str, f: PField, buf: &mut Buffer| -> Rect {
        let r = row(inner, y);
        let (style, marker) = if form.focus == f {
            (theme.key(), "›")
        } else {
            (theme.dim(), " ")
        };
        Paragraph::new(Line::styled(
            fit(&format!("{marker}{label}"), usize::from(label_w)),
            style,
        ))
        .render(r, buf);
        Rect {
            x: r.x + label_w.min(r.width),
            width: r.width.saturating_sub(label_w),
            ..r
        }
    };
    let r = label_row(y, "Name", PField::Name, buf);
    form.name.render(r, buf);
    y += 1;
    let r = label_row(y, "Description", PField::Description, buf);
    form.description.render(r, buf);
    y += 1;
    let r = label_row(y, "Users", PField::Users, buf);
    form.users.render(r, buf);
    y += 1;
    for (i, u) in form.results().iter().enumerate() {
        let r = row(inner, y);
        let text = format!(
            "{} {} <{}> · {}",
            if i == form.result_cursor { "›" } else { " " },
            sanitize(&u.name),
            sanitize(&u.email),
            sanitize(&u.id)
        );
        let style = if i == form.result_cursor {
            theme.selected()
        } else {
            theme.dim()
        };
        Paragraph::new(Line::styled(
            fit(&text, w.saturating_sub(usize::from(label_w))),
            style,
        ))
        .render(
            Rect {
                x: r.x + label_w.min(r.width),
                width: r.width.saturating_sub(label_w),
                ..r
            },
            buf,
        );
        y += 1;
    }
    let r = label_row(y, "Domains", PField::Domains, buf);
    form.domains.render(r, buf);
    y += 1;
    let r = label_row(y, "Groups", PField::Groups, buf);
    match &form.custom_ppl {
        Some(_) => {
            Paragraph::new(Line::styled("(custom PPL, kept as it is)", theme.dim())).render(r, buf)
        }
        None => form.groups.render(r, buf),
    }
    y += 1;
    let r = label_row(y, "Enforced", PField::Enforced, buf);
    let text = if form.enforced {
        "◂ yes: every route here and below ▸"
    } else {
        "◂ no: only the routes that name it ▸"
    };
    Paragraph::new(Line::raw(text)).render(r, buf);
    y += 1;
    y += 1;
    Paragraph::new(Line::styled("Amounts to (PPL):", theme.dim())).render(row(inner, y), buf);
    y += 1;
    let preview_rows = inner.height.saturating_sub(y + 2);
    Paragraph::new(Line::raw(sanitize(&form.preview())))
        .wrap(Wrap { trim: false })
        .render(
            Rect {
                y: inner.y + y.min(inner.height),
                height: preview_rows,
                ..inner
            },
            buf,
        );
    let status = match (&form.error, form.submitting) {
        (Some(e), _) => Line::styled(fit(&format!("✗ {}", sanitize(e)), w), theme.error()),
        (None, Some(_)) => Line::styled("saving…", theme.dim()),
        (None, None) => Line::from(vec![
            Span::styled("Ctrl-S", theme.key()),
            Span::raw(" save  "),
            Span::styled("Tab", theme.key()),
            Span::raw(" next  "),
            Span::styled("Esc", theme.key()),
            Span::raw(" cancel"),
        ]),
    };
    Paragraph::new(status).render(row(inner, inner.height.saturating_sub(1)), buf);
}
