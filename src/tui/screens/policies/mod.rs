//! The policies screen of one namespace (`p`): its policies with the routes each guards, the users (accounts)
//! each allows, its e-mail domains and groups, and the entries that answer to nothing any more (dangling:
//! a deleted or disabled account, an unknown user). A manager adds (`a`) and edits (`Enter`/`e`) a policy in
//! the builder (policy_form.rs) and deletes one (`d`, asked first, taken off its routes). State and keys here;
//! the render in render.rs.

mod render;

pub use render::{DANGLING_SYMBOL, render};

use super::frame::body_area;
use super::list_move;
use super::namespaces::effective_offset;
use super::policy_form::PolicyForm;
use crate::api::{ConnectError, wire};
use crate::model::sanitize;
use crate::tui::keymap::Command;
use crate::tui::msg::Effect;
use crate::tui::state::{Load, Model, Overlay, Screen, Status};

/// What the console knows of access: the namespace's policies, every route the caller may read, and the
/// dangling entries of the namespace's policies.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccessData {
    pub policies: Vec<wire::Policy>,
    pub routes: Vec<wire::Route>,
    pub dangling: Vec<wire::Dangling>,
}

impl AccessData {
    /// The dangling entries of one policy.
    pub fn dangling_of<'a>(
        &'a self,
        policy_id: &'a str,
    ) -> impl Iterator<Item = &'a wire::Dangling> {
        self.dangling
            .iter()
            .filter(move |d| d.policy_id == policy_id)
    }
}

#[derive(Debug, Default)]
pub struct PoliciesView {
    pub namespace_id: String,
    /// Where Esc goes.
    pub back: Option<Screen>,
    pub data: Load<AccessData>,
    pub cursor: usize,
    pub offset: usize,
    /// The policy whose delete is being asked about.
    pub deleting: Option<usize>,
    /// The delete in flight.
    pub pending: Option<u64>,
}

impl PoliciesView {
    pub fn policies(&self) -> &[wire::Policy] {
        self.data.loaded().map_or(&[], |d| d.policies.as_slice())
    }

    pub fn selected(&self) -> Option<&wire::Policy> {
        self.policies().get(self.cursor)
    }
}

/// Rows of policies that fit in a body of `height`: the title, the header and the selected policy's detail
/// (four rows when there is room) take the rest.
pub fn viewport(body_height: u16) -> usize {
    let chrome = if body_height >= 14 { 7 } else { 2 };
    usize::from(body_height.saturating_sub(chrome)).max(1)
}

fn rows_on_screen(model: &Model) -> usize {
    viewport(body_area(model.size).height)
}

/// Opens the screen on `namespace_id`, coming from `back`.
pub fn open(model: &mut Model, namespace_id: String, back: Screen) -> Vec<Effect> {
    model.policies = PoliciesView {
        namespace_id,
        back: Some(back),
        ..PoliciesView::default()
    };
    model.overlay = None;
    model.screen = Screen::Policies;
    model.status = Status::Empty;
    reload(model)
}

pub fn reload(model: &mut Model) -> Vec<Effect> {
    let seq = model.seq();
    model.policies.data = Load::Loading(seq);
    vec![Effect::LoadAccess {
        seq,
        namespace_id: model.policies.namespace_id.clone(),
    }]
}

/// The policies, routes and dangling entries answered (for this screen, or for the token view's grant step).
pub fn on_access(model: &mut Model, seq: u64, result: Result<AccessData, ConnectError>) {
    if model.policies.data == Load::Loading(seq) {
        model.policies.data = match result {
            Ok(data) => {
                let last = data.policies.len().saturating_sub(1);
                model.policies.cursor = model.policies.cursor.min(last);
                Load::Loaded(data)
            }
            Err(e) => {
                model.status = Status::from_error("cannot load the policies", &e, true);
                Load::Failed(e)
            }
        };
        return;
    }
    super::grant::on_access(model, seq, result);
}

/// A policy saved, deleted or granted: the status says what; this screen reloads when it is open.
pub fn on_changed(
    model: &mut Model,
    seq: u64,
    result: Result<String, ConnectError>,
) -> Vec<Effect> {
    if result.is_ok() {
        // What accounts reach (and what policies name) may have changed: asked again.
        model.reach.clear();
        model.accounts.dangling = None;
    }
    if model.policies.pending == Some(seq) {
        model.policies.pending = None;
        model.policies.deleting = None;
    }
    if let Some(Overlay::PolicyForm(form)) = &mut model.overlay
        && form.submitting == Some(seq)
    {
        match result {
            Ok(done) => {
                model.overlay = None;
                model.status = Status::Info(done);
            }
            Err(e) => {
                form.submitting = None;
                form.error = Some(sanitize(&e.message));
                return Vec::new();
            }
        }
        return reload_if_open(model);
    }
    if super::grant::on_changed(model, seq, &result) {
        // The list under the token view marks what its accounts reach: fresh marks.
        return if result.is_ok() {
            super::accounts::reload(model, true)
        } else {
            Vec::new()
        };
    }
    match result {
        Ok(done) => model.status = Status::Info(done),
        Err(e) => model.status = Status::from_error("the change was refused", &e, false),
    }
    reload_if_open(model)
}

fn reload_if_open(model: &mut Model) -> Vec<Effect> {
    if model.screen == Screen::Policies {
        reload(model)
    } else {
        Vec::new()
    }
}

pub fn on_key(model: &mut Model, command: Option<Command>) -> Vec<Effect> {
    let Some(command) = command else {
        return Vec::new();
    };
    let vp = rows_on_screen(model);
    let len = model.policies.policies().len();
    let view = &mut model.policies;
    if let Some(to) = list_move(command, view.cursor, len, vp) {
        view.cursor = to;
        view.offset = effective_offset(view.cursor, view.offset, vp, len);
        return Vec::new();
    }
    match command {
        Command::NewPolicy => {
            let mut form = PolicyForm::create(view.namespace_id.clone());
            form.directory = model.capabilities.directory;
            model.overlay = Some(Overlay::PolicyForm(Box::new(form)));
        }
        Command::EditPolicy | Command::Detail => match view.selected().cloned() {
            Some(p) => {
                let mut form = PolicyForm::edit(p);
                form.directory = model.capabilities.directory;
                model.overlay = Some(Overlay::PolicyForm(Box::new(form)));
            }
            None => model.status = Status::Info("no policy here yet: a adds one".into()),
        },
        Command::DeletePolicy if view.selected().is_some() => view.deleting = Some(view.cursor),
        Command::Refresh => {
            model.status = Status::Empty;
            return reload(model);
        }
        Command::Close => {
            model.screen = view.back.unwrap_or(Screen::Accounts);
            model.status = Status::Empty;
            if model.screen == Screen::Accounts {
                return super::accounts::reload(model, true);
            }
        }
        _ => {}
    }
    Vec::new()
}

/// The delete question: `y` deletes the policy (taking it off its routes), anything else keeps it.
pub fn on_confirm_key(model: &mut Model, command: Option<Command>) -> Vec<Effect> {
    let view = &mut model.policies;
    if view.pending.is_some() {
        model.status = Status::Busy("waiting for the server".into());
        return Vec::new();
    }
    let Some(index) = view.deleting else {
        return Vec::new();
    };
    match command {
        Some(Command::Yes) => {
            let Some(id) = view.policies().get(index).map(|p| p.id.clone()) else {
                view.deleting = None;
                return Vec::new();
            };
            let seq = model.seq();
            model.policies.pending = Some(seq);
            vec![Effect::DeletePolicy { seq, id }]
        }
        Some(Command::No) => {
            view.deleting = None;
            Vec::new()
        }
        _ => Vec::new(),
    }
}
