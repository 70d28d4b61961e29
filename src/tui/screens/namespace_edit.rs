//! Changing the namespace tree from the picker: `a` creates a child of the namespace under the cursor, `e`
//! renames it, `d` deletes it (asked first; the server refuses one that still holds accounts, children or
//! permissions, and says so). Each needs the admin role where the server will judge it — on the namespace for a
//! child, on its parent for a rename or delete — and is refused here first with the same words. State, keys
//! and the prompt line's render.

use crossterm::event::KeyEvent;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};
use ratatui_textarea::TextArea;

use super::{field_input, field_text, set_field_focus, text_field};
use crate::access::Role;
use crate::api::ConnectError;
use crate::model::sanitize;
use crate::tui::format::fit;
use crate::tui::keymap::Command;
use crate::tui::msg::Effect;
use crate::tui::state::{Model, Status};
use crate::tui::update::boot;

/// The change being typed or asked about.
#[derive(Debug)]
pub enum NamespaceEdit {
    /// A new child of `parent`, its name being typed.
    Create {
        parent: String,
        input: TextArea<'static>,
    },
    /// A new name for `id`.
    Rename {
        id: String,
        input: TextArea<'static>,
    },
    /// Delete `id`? (y/n)
    Delete { id: String },
    /// The request in flight.
    Pending { seq: u64 },
}

impl NamespaceEdit {
    /// Whether a name is being typed (the prompt takes the keys).
    pub fn typing(&self) -> bool {
        matches!(
            self,
            NamespaceEdit::Create { .. } | NamespaceEdit::Rename { .. }
        )
    }
}

/// Where the admin role is needed to change `id` itself: its parent (the root, having none, is its own).
fn place_of(model: &Model, id: &str) -> String {
    match model.tree.get(id) {
        Some(ns) if !ns.parent_id.is_empty() => ns.parent_id.clone(),
        _ => id.to_string(),
    }
}

/// `None` when the caller is admin in `place`, else the refusal to show.
fn refusal(model: &Model, place: &str, what: &str) -> Option<String> {
    if model.role_in(place) >= Some(Role::Admin) {
        return None;
    }
    Some(format!(
        "{what} needs the admin role in {}",
        model.path_of(place)
    ))
}

fn prompt(initial: &str, placeholder: &str) -> TextArea<'static> {
    let mut ta = text_field(initial);
    set_field_focus(&mut ta, true);
    ta.set_placeholder_text(placeholder);
    ta
}

/// `a`, `e` or `d` on the namespace under the cursor.
pub fn start(model: &mut Model, command: Command) {
    let Some(id) = model.picker.selected_id(&model.tree) else {
        return;
    };
    let (place, what) = match command {
        Command::NewNamespace => (id.clone(), "creating a namespace here"),
        Command::RenameNamespace => (place_of(model, &id), "renaming this namespace"),
        _ => (place_of(model, &id), "deleting this namespace"),
    };
    if let Some(why) = refusal(model, &place, what) {
        model.status = Status::Info(why);
        return;
    }
    model.ns_edit = Some(match command {
        Command::NewNamespace => NamespaceEdit::Create {
            parent: id,
            input: prompt("", "name of the new namespace"),
        },
        Command::RenameNamespace => {
            let name = model
                .tree
                .get(&id)
                .map(|n| n.name.clone())
                .unwrap_or_default();
            NamespaceEdit::Rename {
                id,
                input: prompt(&name, "new name"),
            }
        }
        _ => {
            if model.tree.get(&id).is_some_and(|n| n.parent_id.is_empty()) {
                model.status = Status::Info("the root namespace cannot be deleted".into());
                return;
            }
            NamespaceEdit::Delete { id }
        }
    });
}

/// The name prompt: Enter sends it, Esc cancels.
pub fn on_prompt_key(model: &mut Model, command: Option<Command>, key: KeyEvent) -> Vec<Effect> {
    let Some(edit) = model.ns_edit.as_mut() else {
        return Vec::new();
    };
    match command {
        Some(Command::Close) => model.ns_edit = None,
        Some(Command::ApplyFilter) => {
            let (id, parent, name) = match edit {
                NamespaceEdit::Create { parent, input } => {
                    (String::new(), parent.clone(), field_text(input))
                }
                NamespaceEdit::Rename { id, input } => {
                    (id.clone(), String::new(), field_text(input))
                }
                _ => return Vec::new(),
            };
            let name = name.trim().to_string();
            if name.is_empty() {
                model.status = Status::Info("type a name (Esc cancels)".into());
                return Vec::new();
            }
            let seq = model.seq();
            model.ns_edit = Some(NamespaceEdit::Pending { seq });
            model.status = Status::Busy(if id.is_empty() {
                format!("creating {}", sanitize(&name))
            } else {
                format!("renaming to {}", sanitize(&name))
            });
            return vec![Effect::SetNamespace {
                seq,
                id,
                parent,
                name,
            }];
        }
        _ => {
            if let NamespaceEdit::Create { input, .. } | NamespaceEdit::Rename { input, .. } = edit
            {
                field_input(input, key);
            }
        }
    }
    Vec::new()
}

/// The delete question: y deletes, n or Esc keeps it.
pub fn on_confirm_key(model: &mut Model, command: Option<Command>) -> Vec<Effect> {
    let Some(NamespaceEdit::Delete { id }) = &model.ns_edit else {
        return Vec::new();
    };
    match command {
        Some(Command::Yes) => {
            let id = id.clone();
            let seq = model.seq();
            model.ns_edit = Some(NamespaceEdit::Pending { seq });
            model.status = Status::Busy(format!("deleting {}", model.path_of(&id)));
            vec![Effect::DeleteNamespace { seq, id }]
        }
        Some(Command::No | Command::Close) => {
            model.ns_edit = None;
            Vec::new()
        }
        _ => Vec::new(),
    }
}

/// A create, rename or delete answered: the tree reloaded, or the server's reason on the status line.
pub fn on_changed(
    model: &mut Model,
    seq: u64,
    result: Result<String, ConnectError>,
) -> Vec<Effect> {
    if !matches!(model.ns_edit, Some(NamespaceEdit::Pending { seq: s }) if s == seq) {
        return Vec::new();
    }
    model.ns_edit = None;
    match result {
        Ok(done) => {
            let mut effects = boot(model);
            model.status = Status::Info(done);
            effects.extend(super::namespaces::load_rollups(model));
            effects
        }
        Err(e) => {
            model.status = Status::from_error("the namespace was not changed", &e, false);
            Vec::new()
        }
    }
}

/// The prompt or question, on the picker's last row.
pub fn render(model: &Model, area: Rect, buf: &mut Buffer) {
    let Some(edit) = &model.ns_edit else {
        return;
    };
    let theme = model.theme;
    let w = usize::from(area.width);
    let (label, input) = match edit {
        NamespaceEdit::Create { parent, input } => (
            format!("new namespace in {}: ", model.namespace_name(parent)),
            Some(input),
        ),
        NamespaceEdit::Rename { id, input } => (
            format!("rename {} to: ", model.namespace_name(id)),
            Some(input),
        ),
        NamespaceEdit::Delete { id } => (format!("delete {}? y/n", model.path_of(id)), None),
        NamespaceEdit::Pending { .. } => return,
    };
    let label = fit(&label, w.saturating_sub(8).max(1));
    let used = u16::try_from(unicode_width::UnicodeWidthStr::width(label.as_str())).unwrap_or(0);
    let style = if input.is_some() {
        theme.key()
    } else {
        theme.warning()
    };
    Paragraph::new(Line::from(Span::styled(label, style))).render(area, buf);
    if let Some(ta) = input {
        let field = Rect {
            x: area.x.saturating_add(used).min(area.x + area.width),
            width: area.width.saturating_sub(used),
            ..area
        };
        ta.render(field, buf);
    }
}
