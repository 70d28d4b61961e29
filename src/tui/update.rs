//! Routing: `update(model, msg, now)` hands each message to the screen that owns it and returns the effects to
//! perform. Keys are looked up once in the keymap, refused here when the session's `Permissions` do not offer
//! them, and handled by the screen or overlay with the focus (screens/*); results go to the part that asked,
//! which drops a stale one by its sequence. What spans screens lives here: start-up and a token being issued.
//! No I/O and no clock reads happen here; time comes in as `now`.

use crossterm::event::{KeyEvent, KeyEventKind};

use super::keymap::{Command, Context, lookup};
use super::msg::{Boot, Effect, Issued, Msg, Now};
use super::permissions;
use super::screens::help::HelpView;
use super::screens::secret::{SecretPrompt, SecretView};
use super::screens::{
    accounts, activity, add_modal, bulk, confirm, contexts, detail, export, field_paste, help,
    namespace_edit, namespaces, palette, policies, policy_form, roles, secret, sort,
};
use super::state::{Load, Model, Overlay, Screen, Status};
use crate::api::{Code, ConnectError};
use crate::model::{NamespaceTree, sanitize};

/// How often an idle account list asks the server again, so accounts made elsewhere (the CLI, another admin)
/// appear without `R`. One small request per interval: an idle console stays idle.
pub const AUTO_REFRESH: std::time::Duration = std::time::Duration::from_secs(15);

/// The effects to run when the console starts.
pub fn init(model: &mut Model) -> Vec<Effect> {
    boot(model)
}

pub fn update(model: &mut Model, msg: Msg, now: Now) -> Vec<Effect> {
    model.wall = now.wall;
    match msg {
        Msg::Key(key) => on_key(model, key, now),
        Msg::Paste(text) => on_paste(model, &text, now),
        Msg::Resize(w, h) => {
            model.size = (w, h);
            namespaces::clamp(model);
            let mut effects = accounts::on_resize(model);
            effects.extend(activity::on_resize(model));
            effects
        }
        Msg::Tick => {
            if model.accounts.filter_due.is_some() {
                return accounts::on_tick(model, now.mono);
            }
            if model.overlay.is_none()
                && model.screen == Screen::Accounts
                && model.refresh_at.is_some_and(|at| at <= now.mono)
                && model.accounts.filter_input.is_none()
            {
                model.refresh_at = None;
                // Only a count: the list reloads when it changed, so an idle screen never flickers.
                let mut query = model
                    .accounts
                    .query(model.current.as_deref(), &model.tree, 0);
                query.offset = 0;
                query.limit = Some(0);
                return vec![Effect::CheckTotal {
                    generation: model.accounts.generation,
                    query,
                }];
            }
            let mut effects = add_modal::on_tick(model, now);
            effects.extend(policy_form::on_tick(model, now));
            effects
        }
        Msg::Booted { seq, result } => on_booted(model, seq, result),
        Msg::Page {
            generation,
            page,
            result,
        } => {
            model.refresh_at = Some(now.mono + AUTO_REFRESH);
            accounts::on_page(model, generation, page, result)
        }
        Msg::Rollup {
            seq,
            namespace_id,
            result,
        } => {
            namespaces::on_rollup(model, seq, namespace_id, result);
            Vec::new()
        }
        Msg::Kinds(kinds) => {
            accounts::on_kinds(model, kinds);
            Vec::new()
        }
        Msg::People(people) => {
            accounts::on_people(model, people);
            Vec::new()
        }
        Msg::Search { seq, result } => {
            if matches!(model.overlay, Some(Overlay::PolicyForm(_))) {
                policy_form::on_search(model, seq, result);
            } else {
                add_modal::on_search(model, seq, result);
            }
            Vec::new()
        }
        Msg::UniqueChecked { seq, result } => {
            add_modal::on_unique_checked(model, seq, result);
            Vec::new()
        }
        Msg::Created { seq, result } => on_issued(model, seq, result, IssuedBy::Create),
        Msg::Updated { seq, result } => on_issued(model, seq, result, IssuedBy::Update),
        Msg::Rotated { seq, result } => on_issued(model, seq, result, IssuedBy::Rotate),
        Msg::Deleted { seq, result } => confirm::on_deleted(model, seq, result),
        Msg::Copied { seq, report } => {
            secret::on_copied(model, seq, report);
            Vec::new()
        }
        Msg::Saved { seq, result } => {
            secret::on_saved(model, seq, result);
            Vec::new()
        }
        Msg::History { seq, result } => {
            detail::on_history(model, seq, result);
            Vec::new()
        }
        Msg::Activity { seq, result } => activity::on_page(model, seq, result),
        Msg::Roles { seq, result } => {
            roles::on_loaded(model, seq, result);
            Vec::new()
        }
        Msg::RoleChanged { seq, result } => roles::on_changed(model, seq, result),
        Msg::DisabledSet { seq, result } => confirm::on_disabled(model, seq, result),
        Msg::BulkDone { seq, results } => bulk::on_done(model, seq, results),
        Msg::Access { seq, result } => {
            policies::on_access(model, seq, result);
            Vec::new()
        }
        Msg::PolicyChanged { seq, result } => policies::on_changed(model, seq, result),
        Msg::Reach { result, ids } => {
            accounts::on_reach(model, ids, result);
            Vec::new()
        }
        Msg::Dangling {
            namespace_id,
            count,
        } => {
            accounts::on_dangling(model, namespace_id, count);
            Vec::new()
        }
        Msg::Naming { seq, result } => {
            confirm::on_naming(model, seq, result);
            Vec::new()
        }
        Msg::Unnamed { user_id, result } => {
            confirm::on_unnamed(model, &user_id, result);
            Vec::new()
        }
        Msg::Marked { generation, result } => {
            accounts::on_marked(model, generation, result);
            Vec::new()
        }
        Msg::Exported { result } => {
            export::on_exported(model, result);
            Vec::new()
        }
        Msg::TotalChecked { generation, total } => {
            model.refresh_at = Some(now.mono + AUTO_REFRESH);
            let changed = generation == model.accounts.generation
                && total.is_some()
                && total != model.accounts.total;
            if changed && model.overlay.is_none() {
                return accounts::reload(model, true);
            }
            Vec::new()
        }
        Msg::NamespaceChanged { seq, result } => namespace_edit::on_changed(model, seq, result),
        Msg::SwitchFailed { name, error } => {
            model.status = Status::Error {
                text: format!(
                    "cannot switch to context {}: {}",
                    sanitize(&name),
                    sanitize(&error)
                ),
                retry: false,
            };
            Vec::new()
        }
    }
}

/// Asks for the server's capabilities and namespaces (again, on a retry).
pub(crate) fn boot(model: &mut Model) -> Vec<Effect> {
    let seq = model.seq();
    model.boot = Load::Loading(seq);
    model.status = Status::Busy("connecting".into());
    vec![Effect::Boot { seq }]
}

fn on_booted(model: &mut Model, seq: u64, result: Result<Boot, ConnectError>) -> Vec<Effect> {
    if model.boot != Load::Loading(seq) {
        return Vec::new();
    }
    let boot = match result {
        Ok(b) => b,
        Err(e) => {
            model.status = Status::from_error("cannot reach the server", &e, true);
            model.boot = Load::Failed(e);
            return Vec::new();
        }
    };
    model.boot = Load::Loaded(());
    // "connecting" is done; a note set meanwhile (what a change just did) stays.
    if matches!(model.status, Status::Busy(_) | Status::Error { .. }) {
        model.status = Status::Empty;
    }
    model.capabilities = boot.capabilities;
    model.tree = NamespaceTree::new(boot.namespaces);
    model.grants = boot.grants;
    let mut effects = Vec::new();
    if !model.capabilities.namespaces {
        model.current = None;
        if model.screen == Screen::Namespaces {
            model.screen = Screen::Accounts;
        }
        model.status = Status::Info("this server has no namespaces: listing every account".into());
        effects.extend(accounts::reload(model, false));
        return effects;
    }
    let still_there = model
        .current
        .as_ref()
        .is_some_and(|c| model.tree.get(c).is_some() && model.role_in(c).is_some());
    if still_there {
        effects.extend(accounts::reload(model, true));
        if model.screen == Screen::Namespaces {
            effects.extend(namespaces::load_rollups(model));
        }
        return effects;
    }
    // The context's default namespace first (once), then the one used last time.
    let wanted = model
        .start_namespace
        .take()
        .and_then(|n| model.tree.resolve(&n).map(|ns| ns.id.clone()));
    let remembered = wanted
        .into_iter()
        .chain(model.remembered.clone())
        .find(|r| model.tree.get(r).is_some() && model.role_in(r).is_some());
    match remembered {
        Some(id) => {
            let vp = namespaces::rows_on_screen(model);
            model.picker.reveal(&model.tree, &id, vp);
            model.current = Some(id);
            model.screen = Screen::Accounts;
            effects.extend(accounts::reload(model, false));
        }
        None => {
            model.current = None;
            model.screen = Screen::Namespaces;
            for root in model.tree.roots().to_vec() {
                model.picker.expanded.insert(root);
            }
            model.picker.cursor = 0;
            // A caller with roles below the root starts on the first namespace it may open.
            let first = model
                .tree
                .roots()
                .to_vec()
                .iter()
                .flat_map(|r| model.tree.subtree(r))
                .find(|id| model.role_in(id).is_some());
            if let Some(id) = first {
                let vp = namespaces::rows_on_screen(model);
                model.picker.reveal(&model.tree, &id, vp);
            }
            effects.extend(namespaces::load_rollups(model));
        }
    }
    effects
}

fn on_key(model: &mut Model, key: KeyEvent, now: Now) -> Vec<Effect> {
    if key.kind == KeyEventKind::Release {
        return Vec::new();
    }
    let context = model.context();
    let command = lookup(context, &key);
    if command == Some(Command::ForceQuit) {
        // A token that went nowhere is lost for good on quit: ask, as Esc does.
        if let Some(Overlay::Secret(view)) = &mut model.overlay
            && !view.kept()
            && !matches!(view.prompt, SecretPrompt::ConfirmQuit)
        {
            view.prompt = SecretPrompt::ConfirmQuit;
            return Vec::new();
        }
        model.quit = true;
        return Vec::new();
    }
    // The one check: a change the session does not offer is neither shown (footer, help) nor made.
    if let Some(write) = command.and_then(permissions::needs)
        && !model.permissions().allows(write)
    {
        model.status = Status::Info(model.permissions().refusal(write));
        return Vec::new();
    }
    if model.help.is_some() {
        help::on_key(model, command, key);
        return Vec::new();
    }
    match model.overlay.take() {
        Some(Overlay::Secret(view)) => secret::on_key(model, *view, command, key),
        Some(Overlay::Confirm(c)) => confirm::on_key(model, *c, command),
        Some(Overlay::Form(f)) => add_modal::on_key(model, f, command, key, now),
        Some(Overlay::Detail(d)) => detail::on_key(model, *d, command),
        Some(Overlay::Entry(view)) => activity::on_entry_key(model, view, command),
        Some(Overlay::Contexts(picker)) => contexts::on_key(model, picker, command),
        Some(Overlay::Sort(chooser)) => sort::on_key(model, chooser, command),
        Some(Overlay::Bulk(b)) => bulk::on_key(model, *b, command),
        Some(Overlay::PolicyForm(f)) => policy_form::on_key(model, f, command, key, now),
        Some(Overlay::Palette(palette)) => match palette::on_key(model, *palette, command, key) {
            // The chosen command runs as its own key would, on the screen the palette was opened on.
            Some(chosen) => on_key(model, chosen, now),
            None => Vec::new(),
        },
        None => match (command, model.screen, context) {
            // Only the lists bind these, and every screen is a list.
            (Some(Command::Help), _, _) => {
                model.help = Some(HelpView::new(model.permissions()));
                Vec::new()
            }
            (Some(Command::Quit), _, _) => {
                model.quit = true;
                Vec::new()
            }
            (Some(Command::Export), Screen::Accounts, _) => {
                export::open(model);
                Vec::new()
            }
            (Some(Command::Palette), _, _) => {
                model.overlay = Some(Overlay::Palette(Box::new(palette::Palette::new(context))));
                Vec::new()
            }
            (Some(Command::SwitchContext), _, _) => {
                contexts::open(model);
                Vec::new()
            }
            (_, Screen::Namespaces, Context::FilterInput) if model.ns_edit.is_some() => {
                namespace_edit::on_prompt_key(model, command, key)
            }
            (_, Screen::Namespaces, Context::Confirm) => {
                namespace_edit::on_confirm_key(model, command)
            }
            (_, Screen::Namespaces, Context::FilterInput) => {
                namespaces::on_filter_key(model, command, key)
            }
            (_, Screen::Namespaces, _) => namespaces::on_key(model, command),
            (_, Screen::Accounts, Context::FilterInput) if model.export.is_some() => {
                export::on_key(model, command, key)
            }
            (_, Screen::Accounts, Context::FilterInput) => {
                accounts::on_filter_key(model, command, key, now.mono)
            }
            (_, Screen::Accounts, _) => accounts::on_key(model, command),
            (_, Screen::Activity, Context::FilterInput) => {
                activity::on_filter_key(model, command, key)
            }
            (_, Screen::Activity, _) => activity::on_key(model, command),
            (_, Screen::Roles, Context::FilterInput) => roles::on_prompt_key(model, command, key),
            (_, Screen::Roles, Context::Confirm) => roles::on_confirm_key(model, command),
            (_, Screen::Roles, _) => roles::on_key(model, command),
            (_, Screen::Policies, Context::Confirm) => policies::on_confirm_key(model, command),
            (_, Screen::Policies, _) => policies::on_key(model, command),
        },
    }
}

fn on_paste(model: &mut Model, text: &str, now: Now) -> Vec<Effect> {
    if let Some(help) = model.help.as_mut() {
        field_paste(&mut help.filter, text);
        help.scroll = 0;
        return Vec::new();
    }
    match &mut model.overlay {
        Some(Overlay::Form(form)) => {
            if let Some(ta) = form.text_mut()
                && field_paste(ta, text)
            {
                form.text_changed(now.mono);
            }
        }
        Some(Overlay::Secret(view)) => {
            if let SecretPrompt::SavePath(ta) = &mut view.prompt {
                field_paste(ta, text);
            }
        }
        Some(Overlay::Palette(p)) => {
            if field_paste(&mut p.filter, text) {
                p.cursor = 0;
            }
        }
        Some(Overlay::PolicyForm(f)) => f.paste(text, now.mono),
        Some(_) => {}
        None => {
            let input = match model.screen {
                Screen::Namespaces => match &mut model.ns_edit {
                    Some(
                        namespace_edit::NamespaceEdit::Create { input, .. }
                        | namespace_edit::NamespaceEdit::Rename { input, .. },
                    ) => Some(input),
                    _ => model.picker.filter_input.as_mut(),
                },
                Screen::Accounts => match model.export.as_mut() {
                    Some(ta) => Some(ta),
                    None => {
                        accounts::on_filter_paste(model, text, now.mono);
                        None
                    }
                },
                Screen::Activity => model.activity.actor_input.as_mut(),
                Screen::Roles => model.roles.grant_input.as_mut(),
                Screen::Policies => None,
            };
            if let Some(ta) = input {
                field_paste(ta, text);
            }
        }
    }
    Vec::new()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IssuedBy {
    Create,
    Update,
    Rotate,
}

/// A create, update or rotation answered: the token view (if a token came), a refreshed list; or the error
/// shown where the request was made.
fn on_issued(model: &mut Model, seq: u64, result: Issued, by: IssuedBy) -> Vec<Effect> {
    let ours = match &model.overlay {
        Some(Overlay::Form(f)) => f.submitting == Some(seq),
        Some(Overlay::Confirm(c)) => c.busy == Some(seq),
        _ => false,
    };
    match result {
        Ok((account, token)) => {
            // A token is never dropped unseen, even if the form somehow went away meanwhile.
            let heading = match by {
                IssuedBy::Create => "Account created",
                IssuedBy::Update => {
                    "Account updated: its later expiry needs this new token (the old one works until its own)"
                }
                IssuedBy::Rotate => "Token rotated",
            };
            let verb = match by {
                IssuedBy::Create => "created",
                IssuedBy::Update => "updated",
                IssuedBy::Rotate => "rotated",
            };
            model.status = Status::Info(format!("{verb} {}", sanitize(&account.user_id)));
            if token.as_str().is_empty() {
                model.overlay = None;
            } else {
                model.overlay = Some(Overlay::Secret(Box::new(SecretView::new(
                    token, account, heading,
                ))));
            }
            accounts::reload(model, true)
        }
        Err(e) => {
            if !ours {
                model.status = Status::from_error("request failed", &e, false);
                return Vec::new();
            }
            model.status = Status::Empty;
            let message = sanitize(&e.message);
            match &mut model.overlay {
                Some(Overlay::Form(f)) => {
                    f.submitting = None;
                    if e.code == Code::AlreadyExists {
                        f.errors.user = Some(message);
                        f.focus_on(add_modal::Field::User);
                    } else {
                        f.errors.form = Some(message);
                    }
                }
                Some(Overlay::Confirm(c)) => {
                    c.busy = None;
                    c.error = Some(message);
                }
                _ => {}
            }
            Vec::new()
        }
    }
}
