//! Pure state transitions: `update(model, msg, now)` changes the model and returns the effects to perform.
//! No I/O and no clock reads happen here; time comes in as `now`, results come back as messages tagged with
//! the sequence (or list generation) of their request, and stale ones are dropped.

use crossterm::event::{KeyEvent, KeyEventKind};

use super::keymap::{Command, Context, lookup};
use super::msg::{CopyReport, Effect, Issued, Msg, Now, RollupRequest, SaveError};
use super::screens::accounts;
use super::screens::add_modal::{AccountForm, Field, Submission, Tab};
use super::screens::confirm::{Confirm, ConfirmAction};
use super::screens::frame::body_area;
use super::screens::help::HelpView;
use super::screens::namespaces;
use super::screens::secret::{SecretPrompt, SecretView};
use super::screens::{field_input, field_paste, field_text, text_field};
use super::state::{Load, Model, Overlay, Screen, Status};
use crate::api::{Code, ConnectError};
use crate::model::{NamespaceTree, ServiceAccount, sanitize};

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
            let vp = ns_viewport(model);
            model.picker.clamp(&model.tree, vp);
            let vp = list_viewport(model);
            let cursor = model.accounts.cursor;
            model.accounts.move_to(cursor, vp);
            claim_pages(model)
        }
        Msg::Tick => on_tick(model, now),
        Msg::Booted { seq, result } => on_booted(model, seq, result),
        Msg::Page {
            generation,
            page,
            result,
        } => on_page(model, generation, page, result),
        Msg::Rollup {
            seq,
            namespace_id,
            result,
        } => {
            if seq == model.picker.rollup_seq {
                let slot = match result {
                    Ok(r) => Load::Loaded(r),
                    Err(e) => Load::Failed(e),
                };
                model.picker.rollups.insert(namespace_id, slot);
            }
            Vec::new()
        }
        Msg::Kinds(kinds) => {
            for (user_id, kind) in kinds {
                let slot = match kind {
                    Some(k) => Load::Loaded(k),
                    None => Load::Failed(ConnectError::new(Code::Unknown, "lookup failed")),
                };
                model.kinds.insert(user_id, slot);
            }
            Vec::new()
        }
        Msg::Search { seq, result } => {
            if let Some(Overlay::Form(f)) = &mut model.overlay
                && f.lookahead.answer(seq, result)
            {
                f.result_cursor = 0;
            }
            Vec::new()
        }
        Msg::UniqueChecked { seq, result } => {
            if let Some(Overlay::Form(f)) = &mut model.overlay {
                f.unique.answer(seq, result);
            }
            Vec::new()
        }
        Msg::Created { seq, result } => on_issued(model, seq, result, IssuedBy::Create),
        Msg::Updated { seq, result } => on_issued(model, seq, result, IssuedBy::Update),
        Msg::Rotated { seq, result } => on_issued(model, seq, result, IssuedBy::Rotate),
        Msg::Deleted { seq, result } => on_deleted(model, seq, result),
        Msg::Copied { seq, report } => {
            on_copied(model, seq, report);
            Vec::new()
        }
        Msg::Saved { seq, result } => {
            on_saved(model, seq, result);
            Vec::new()
        }
    }
}

fn ns_viewport(model: &Model) -> usize {
    namespaces::viewport(body_area(model.size).height)
}

fn list_viewport(model: &Model) -> usize {
    accounts::viewport(body_area(model.size).height)
}

fn boot(model: &mut Model) -> Vec<Effect> {
    let seq = model.seq();
    model.boot = Load::Loading(seq);
    model.status = Status::Busy("connecting".into());
    vec![Effect::Boot { seq }]
}

fn on_booted(
    model: &mut Model,
    seq: u64,
    result: Result<super::msg::Boot, ConnectError>,
) -> Vec<Effect> {
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
    model.status = Status::Empty;
    model.capabilities = boot.capabilities;
    model.tree = NamespaceTree::new(boot.namespaces);
    let mut effects = Vec::new();
    if !model.capabilities.namespaces {
        model.current = None;
        model.screen = Screen::Accounts;
        model.status = Status::Info("this server has no namespaces: listing every account".into());
        effects.extend(reload_accounts(model, false));
        return effects;
    }
    let still_there = model
        .current
        .as_ref()
        .is_some_and(|c| model.tree.get(c).is_some());
    if still_there {
        effects.extend(reload_accounts(model, true));
        if model.screen == Screen::Namespaces {
            effects.extend(load_rollups(model));
        }
        return effects;
    }
    let remembered = model
        .remembered
        .clone()
        .filter(|r| model.tree.get(r).is_some());
    match remembered {
        Some(id) => {
            let vp = ns_viewport(model);
            model.picker.reveal(&model.tree, &id, vp);
            model.current = Some(id);
            model.screen = Screen::Accounts;
            effects.extend(reload_accounts(model, false));
        }
        None => {
            model.current = None;
            model.screen = Screen::Namespaces;
            for root in model.tree.roots().to_vec() {
                model.picker.expanded.insert(root);
            }
            model.picker.cursor = 0;
            effects.extend(load_rollups(model));
        }
    }
    effects
}

/// Starts a new list generation and asks for the pages under the cursor. `keep_cursor` keeps the position
/// (a refresh), otherwise the list starts at the top.
fn reload_accounts(model: &mut Model, keep_cursor: bool) -> Vec<Effect> {
    if model.current.is_none() && model.capabilities.namespaces {
        return Vec::new();
    }
    let (cursor, offset) = (model.accounts.cursor, model.accounts.offset);
    model.accounts.reset();
    if keep_cursor {
        model.accounts.cursor = cursor;
        model.accounts.offset = offset;
    }
    claim_pages(model)
}

fn claim_pages(model: &mut Model) -> Vec<Effect> {
    if model.current.is_none() && model.capabilities.namespaces {
        return Vec::new();
    }
    let vp = list_viewport(model);
    let missing = model.accounts.claim_missing(vp);
    let namespace = model.current.clone();
    missing
        .into_iter()
        .map(|page| Effect::LoadPage {
            generation: model.accounts.generation,
            page,
            query: model
                .accounts
                .query(namespace.as_deref(), &model.tree, page),
        })
        .collect()
}

fn on_page(
    model: &mut Model,
    generation: u64,
    page: u64,
    result: Result<(Vec<ServiceAccount>, u64), ConnectError>,
) -> Vec<Effect> {
    match result {
        Ok((rows, total)) => {
            let user_ids: Vec<String> = rows.iter().map(|a| a.user_id.clone()).collect();
            if !model.accounts.accept(generation, page, rows, total) {
                return Vec::new();
            }
            if matches!(model.status, Status::Error { .. }) {
                model.status = Status::Empty;
            }
            let vp = list_viewport(model);
            let cursor = model.accounts.cursor;
            model.accounts.move_to(cursor, vp);
            let mut effects = claim_pages(model);
            effects.extend(lookup_kinds(model, user_ids));
            effects
        }
        Err(e) => {
            let list = &mut model.accounts;
            if generation == list.generation && list.pages.get(&page).is_some_and(Load::is_loading)
            {
                model.status = Status::from_error("cannot load accounts", &e, true);
                list.pages.insert(page, Load::Failed(e));
            }
            Vec::new()
        }
    }
}

/// Asks which of these user ids are directory users, once per id.
fn lookup_kinds(model: &mut Model, user_ids: Vec<String>) -> Vec<Effect> {
    if !model.capabilities.directory {
        return Vec::new();
    }
    let mut unknown = Vec::new();
    for id in user_ids {
        if !model.kinds.contains_key(&id) {
            model.kinds.insert(id.clone(), Load::Loading(0));
            unknown.push(id);
        }
    }
    if unknown.is_empty() {
        Vec::new()
    } else {
        vec![Effect::LookupKinds { user_ids: unknown }]
    }
}

fn load_rollups(model: &mut Model) -> Vec<Effect> {
    if !model.capabilities.namespaces || model.tree.is_empty() {
        return Vec::new();
    }
    let seq = model.seq();
    model.picker.rollup_seq = seq;
    let mut items = Vec::new();
    for root in model.tree.roots().to_vec() {
        for id in model.tree.subtree(&root) {
            model.picker.rollups.insert(id.clone(), Load::Loading(seq));
            items.push(RollupRequest {
                subtree: model.tree.subtree(&id),
                namespace_id: id,
            });
        }
    }
    vec![Effect::LoadRollups {
        seq,
        now: model.wall,
        items,
    }]
}

fn select_namespace(model: &mut Model, id: String) -> Vec<Effect> {
    let changed = model.current.as_deref() != Some(id.as_str());
    model.current = Some(id.clone());
    model.screen = Screen::Accounts;
    model.status = Status::Empty;
    let mut effects = vec![Effect::Remember { namespace_id: id }];
    if changed || model.accounts.total.is_none() {
        model.accounts.filter.clear();
        effects.extend(reload_accounts(model, false));
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
        model.quit = true;
        return Vec::new();
    }
    if model.help.is_some() {
        on_help_key(model, command, key);
        return Vec::new();
    }
    match model.overlay.take() {
        Some(Overlay::Secret(view)) => on_secret_key(model, *view, command, key),
        Some(Overlay::Confirm(c)) => on_confirm_key(model, *c, command, key),
        Some(Overlay::Form(f)) => on_form_key(model, f, command, key, now),
        Some(Overlay::Detail(a)) => on_detail_key(model, *a, command),
        None => match (model.screen, context) {
            (Screen::Namespaces, Context::FilterInput) => on_ns_filter_key(model, command, key),
            (Screen::Namespaces, _) => on_namespaces_key(model, command),
            (Screen::Accounts, Context::FilterInput) => on_list_filter_key(model, command, key),
            (Screen::Accounts, _) => on_accounts_key(model, command),
        },
    }
}

fn on_help_key(model: &mut Model, command: Option<Command>, key: KeyEvent) {
    let page = list_viewport(model) as isize;
    let Some(help) = model.help.as_mut() else {
        return;
    };
    match command {
        Some(Command::Close) => model.help = None,
        Some(Command::Up) => help.scroll_by(-1),
        Some(Command::Down) => help.scroll_by(1),
        Some(Command::PageUp) => help.scroll_by(-page),
        Some(Command::PageDown) => help.scroll_by(page),
        _ => {
            if field_input(&mut help.filter, key) {
                help.scroll = 0;
            }
        }
    }
}

/// Movement shared by both lists: the new cursor for a command, or `None` when it is not a move.
fn list_move(command: Command, cursor: usize, len: usize, page: usize) -> Option<usize> {
    let last = len.saturating_sub(1);
    Some(match command {
        Command::Up => cursor.saturating_sub(1),
        Command::Down => (cursor + 1).min(last),
        Command::PageUp => cursor.saturating_sub(page.max(1)),
        Command::PageDown => (cursor + page.max(1)).min(last),
        Command::Top => 0,
        Command::Bottom => last,
        _ => return None,
    })
}

fn on_namespaces_key(model: &mut Model, command: Option<Command>) -> Vec<Effect> {
    let Some(command) = command else {
        return Vec::new();
    };
    let vp = ns_viewport(model);
    let len = model.picker.rows(&model.tree).len();
    if let Some(to) = list_move(command, model.picker.cursor, len, vp) {
        let delta = to as isize - model.picker.cursor as isize;
        model.picker.move_by(&model.tree, delta, vp);
        return Vec::new();
    }
    match command {
        Command::Expand => model.picker.expand(&model.tree, vp),
        Command::Collapse => model.picker.collapse(&model.tree, vp),
        Command::Filter => {
            let mut ta = text_field(&model.picker.filter);
            super::screens::set_field_focus(&mut ta, true);
            model.picker.filter_input = Some(ta);
        }
        Command::Select => {
            if let Some(id) = model.picker.selected_id(&model.tree) {
                return select_namespace(model, id);
            }
        }
        Command::Refresh => {
            if matches!(model.boot, Load::Loaded(())) {
                let mut effects = boot(model);
                effects.extend(load_rollups(model));
                return effects;
            }
            return boot(model);
        }
        Command::Close if model.current.is_some() => model.screen = Screen::Accounts,
        Command::Help => model.help = Some(HelpView::default()),
        Command::Quit => model.quit = true,
        _ => {}
    }
    Vec::new()
}

fn on_ns_filter_key(model: &mut Model, command: Option<Command>, key: KeyEvent) -> Vec<Effect> {
    let vp = ns_viewport(model);
    match command {
        Some(Command::ApplyFilter) => {
            if let Some(ta) = model.picker.filter_input.take() {
                model.picker.filter = field_text(&ta).trim().to_string();
            }
        }
        Some(Command::Close) => {
            model.picker.filter_input = None;
            model.picker.filter.clear();
        }
        _ => {
            if let Some(ta) = model.picker.filter_input.as_mut()
                && field_input(ta, key)
            {
                model.picker.cursor = 0;
                model.picker.offset = 0;
            }
        }
    }
    model.picker.clamp(&model.tree, vp);
    Vec::new()
}

fn on_list_filter_key(model: &mut Model, command: Option<Command>, key: KeyEvent) -> Vec<Effect> {
    match command {
        Some(Command::ApplyFilter) => {
            if let Some(ta) = model.accounts.filter_input.take() {
                model.accounts.filter = field_text(&ta).trim().to_string();
                return reload_accounts(model, false);
            }
        }
        Some(Command::Close) => {
            model.accounts.filter_input = None;
            if !model.accounts.filter.is_empty() {
                model.accounts.filter.clear();
                return reload_accounts(model, false);
            }
        }
        _ => {
            if let Some(ta) = model.accounts.filter_input.as_mut() {
                field_input(ta, key);
            }
        }
    }
    Vec::new()
}

fn on_accounts_key(model: &mut Model, command: Option<Command>) -> Vec<Effect> {
    let Some(command) = command else {
        return Vec::new();
    };
    let vp = list_viewport(model);
    if let Some(to) = list_move(command, model.accounts.cursor, model.accounts.len(), vp) {
        model.accounts.move_to(to, vp);
        return claim_pages(model);
    }
    let needs_namespace = model.current.is_none() && model.capabilities.namespaces;
    match command {
        Command::Add => {
            if needs_namespace {
                model.status = Status::Info("pick a namespace first (n)".into());
            } else {
                model.overlay = Some(Overlay::Form(Box::new(AccountForm::create(
                    model.current.clone(),
                    model.capabilities.directory,
                ))));
            }
        }
        Command::Detail => {
            if let Some(a) = model.selected_account().cloned() {
                model.overlay = Some(Overlay::Detail(Box::new(a)));
            }
        }
        Command::Namespaces => {
            if !model.capabilities.namespaces {
                model.status = Status::Info("this server has no namespaces".into());
            } else if matches!(model.boot, Load::Loaded(())) {
                model.screen = Screen::Namespaces;
                if let Some(id) = model.current.clone() {
                    let vp = ns_viewport(model);
                    model.picker.reveal(&model.tree, &id, vp);
                }
                return load_rollups(model);
            } else {
                model.screen = Screen::Namespaces;
            }
        }
        Command::Edit | Command::Rotate | Command::Delete => {
            match model.selected_account().cloned() {
                Some(a) => open_action(model, command, a),
                None => model.status = Status::Info("no account selected".into()),
            }
        }
        Command::Filter => {
            let mut ta = text_field(&model.accounts.filter);
            super::screens::set_field_focus(&mut ta, true);
            ta.set_placeholder_text("user id, description or id contains…");
            model.accounts.filter_input = Some(ta);
        }
        Command::SortNext => {
            model.accounts.sort = model.accounts.sort.next();
            return reload_accounts(model, false);
        }
        Command::SortReverse => {
            model.accounts.descending = !model.accounts.descending;
            return reload_accounts(model, false);
        }
        Command::ToggleInherited if model.capabilities.namespaces => {
            model.accounts.inherited = !model.accounts.inherited;
            return reload_accounts(model, false);
        }
        Command::Refresh => {
            if !matches!(model.boot, Load::Loaded(())) {
                return boot(model);
            }
            model.status = Status::Empty;
            return reload_accounts(model, true);
        }
        Command::Close if !model.accounts.filter.is_empty() => {
            model.accounts.filter.clear();
            return reload_accounts(model, false);
        }
        Command::Help => model.help = Some(HelpView::default()),
        Command::Quit => model.quit = true,
        _ => {}
    }
    Vec::new()
}

fn open_action(model: &mut Model, command: Command, account: ServiceAccount) {
    model.overlay = Some(match command {
        Command::Edit => Overlay::Form(Box::new(AccountForm::edit(account))),
        Command::Rotate => Overlay::Confirm(Box::new(Confirm::new(ConfirmAction::Rotate(account)))),
        _ => Overlay::Confirm(Box::new(Confirm::new(ConfirmAction::Delete(account)))),
    });
}

fn on_detail_key(
    model: &mut Model,
    account: ServiceAccount,
    command: Option<Command>,
) -> Vec<Effect> {
    match command {
        Some(Command::Close) => {}
        Some(c @ (Command::Edit | Command::Rotate | Command::Delete)) => {
            open_action(model, c, account)
        }
        _ => model.overlay = Some(Overlay::Detail(Box::new(account))),
    }
    Vec::new()
}

fn key_is_left(key: KeyEvent) -> bool {
    key.code == crossterm::event::KeyCode::Left
}

fn on_confirm_key(
    model: &mut Model,
    mut confirm: Confirm,
    command: Option<Command>,
    key: KeyEvent,
) -> Vec<Effect> {
    let mut effects = Vec::new();
    match command {
        Some(Command::Yes) if confirm.busy.is_none() => {
            let seq = model.seq();
            confirm.busy = Some(seq);
            confirm.error = None;
            let id = confirm.account().id.clone();
            effects.push(match confirm.action {
                ConfirmAction::Delete(_) => Effect::Delete { seq, id },
                ConfirmAction::Rotate(_) => Effect::Rotate {
                    seq,
                    id,
                    grace: confirm.grace(),
                },
            });
        }
        Some(Command::Right) if confirm.busy.is_none() => {
            let by = if key_is_left(key) { -1 } else { 1 };
            confirm.step_grace(by);
        }
        // A rotation in flight would issue a token nobody sees, so the question stays until it answers.
        Some(Command::No) if confirm.busy.is_some() => {
            model.status = Status::Busy("waiting for the server".into());
        }
        Some(Command::No) => return effects,
        _ => {}
    }
    model.overlay = Some(Overlay::Confirm(Box::new(confirm)));
    effects
}

fn on_secret_key(
    model: &mut Model,
    mut view: SecretView,
    command: Option<Command>,
    key: KeyEvent,
) -> Vec<Effect> {
    let mut effects = Vec::new();
    match std::mem::replace(&mut view.prompt, SecretPrompt::None) {
        SecretPrompt::SavePath(mut ta) => match command {
            Some(Command::Submit) => {
                let path = field_text(&ta).trim().to_string();
                if path.is_empty() {
                    view.note = Some((true, "Type a path to save to.".into()));
                } else if view.saving.is_none() {
                    let seq = model.seq();
                    view.saving = Some(seq);
                    effects.push(Effect::Save {
                        seq,
                        path: path.into(),
                        token: view.token.clone(),
                        overwrite: false,
                    });
                }
                view.prompt = SecretPrompt::SavePath(ta);
            }
            Some(Command::Close) => {}
            _ => {
                field_input(&mut ta, key);
                view.prompt = SecretPrompt::SavePath(ta);
            }
        },
        SecretPrompt::Overwrite(path) => match command {
            Some(Command::Yes) => {
                let seq = model.seq();
                view.saving = Some(seq);
                effects.push(Effect::Save {
                    seq,
                    path,
                    token: view.token.clone(),
                    overwrite: true,
                });
            }
            Some(Command::No) => view.note = Some((false, "Not saved.".into())),
            _ => view.prompt = SecretPrompt::Overwrite(path),
        },
        SecretPrompt::ConfirmClose => match command {
            Some(Command::Yes) => {
                model.status = Status::Info("token view closed; the token was not kept".into());
                return effects;
            }
            Some(Command::No) => {}
            _ => view.prompt = SecretPrompt::ConfirmClose,
        },
        SecretPrompt::None => match command {
            Some(Command::Reveal) => view.revealed = !view.revealed,
            Some(Command::Copy) => {
                let seq = model.seq();
                view.copying = Some(seq);
                effects.push(Effect::Copy {
                    seq,
                    token: view.token.clone(),
                });
            }
            Some(Command::Save) => view.open_save_prompt(),
            Some(Command::CurlLines) => view.curl = !view.curl,
            Some(Command::Close) => {
                if view.kept() {
                    model.status = Status::Info("token view closed".into());
                    return effects;
                }
                view.prompt = SecretPrompt::ConfirmClose;
            }
            _ => {}
        },
    }
    model.overlay = Some(Overlay::Secret(Box::new(view)));
    effects
}

fn on_form_key(
    model: &mut Model,
    mut form: Box<AccountForm>,
    command: Option<Command>,
    key: KeyEvent,
    now: Now,
) -> Vec<Effect> {
    let mut effects = Vec::new();
    let on_text = form.text_mut().is_some();
    let searching =
        form.focus == Field::User && form.tab == Tab::Impersonated && !form.results().is_empty();
    let mut type_it = false;
    match command {
        Some(Command::Close) => {
            if form.submitting.is_none() {
                return effects;
            }
            model.status = Status::Busy("waiting for the server".into());
        }
        Some(Command::Submit) => effects.extend(submit(model, &mut form, now)),
        Some(Command::SwitchTab) => form.switch_tab(),
        Some(Command::NextField) => form.focus_step(true),
        Some(Command::PrevField) => form.focus_step(false),
        Some(c @ (Command::Left | Command::Right)) => match form.focus {
            Field::Tabs => form.switch_tab(),
            Field::Expires => form.step_choice(c == Command::Right),
            _ if on_text => type_it = true,
            _ => {}
        },
        Some(c @ (Command::Up | Command::Down)) => {
            if searching {
                let last = form.results().len() - 1;
                form.result_cursor = if c == Command::Up {
                    form.result_cursor.saturating_sub(1)
                } else {
                    (form.result_cursor + 1).min(last)
                };
            } else {
                form.focus_step(c == Command::Down);
            }
        }
        Some(Command::Activate) => match form.focus {
            Field::Submit => effects.extend(submit(model, &mut form, now)),
            Field::User if searching => {
                form.pick();
                form.focus_step(true);
            }
            _ => form.focus_step(true),
        },
        _ => type_it = on_text,
    }
    if type_it
        && let Some(ta) = form.text_mut()
        && field_input(ta, key)
    {
        form.text_changed(now.mono);
    }
    form.sync_focus();
    model.overlay = Some(Overlay::Form(form));
    effects
}

fn submit(model: &mut Model, form: &mut AccountForm, now: Now) -> Vec<Effect> {
    if form.submitting.is_some() {
        return Vec::new();
    }
    let Some(submission) = form.validate(now.wall) else {
        return Vec::new();
    };
    let seq = model.seq();
    form.submitting = Some(seq);
    match submission {
        Submission::Create(account) => {
            model.status = Status::Busy("creating the account".into());
            vec![Effect::Create { seq, account }]
        }
        Submission::Update { account, mask } => {
            model.status = Status::Busy("saving".into());
            vec![Effect::Update { seq, account, mask }]
        }
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
        Some(_) => {}
        None => {
            let input = match model.screen {
                Screen::Namespaces => model.picker.filter_input.as_mut(),
                Screen::Accounts => model.accounts.filter_input.as_mut(),
            };
            if let Some(ta) = input {
                field_paste(ta, text);
            }
        }
    }
    Vec::new()
}

fn on_tick(model: &mut Model, now: Now) -> Vec<Effect> {
    let search_seq = model.seq();
    let check_seq = model.seq();
    let mut effects = Vec::new();
    if let Some(Overlay::Form(form)) = &mut model.overlay {
        if form.lookahead.due(now.mono, search_seq) {
            effects.push(Effect::SearchUsers {
                seq: search_seq,
                query: field_text(&form.search).trim().to_string(),
            });
        }
        if form.unique.due(now.mono, check_seq) {
            effects.push(Effect::CheckUnique {
                seq: check_seq,
                user_id: field_text(&form.user).trim().to_string(),
            });
        }
    }
    effects
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IssuedBy {
    Create,
    Update,
    Rotate,
}

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
                IssuedBy::Update => "Account updated: a new token was issued",
                IssuedBy::Rotate => "Token rotated",
            };
            model.status = Status::Info(match by {
                IssuedBy::Create => format!("created {}", sanitize(&account.user_id)),
                IssuedBy::Update => format!("updated {}", sanitize(&account.user_id)),
                IssuedBy::Rotate => format!("rotated {}", sanitize(&account.user_id)),
            });
            if token.as_str().is_empty() {
                model.overlay = None;
            } else {
                model.overlay = Some(Overlay::Secret(Box::new(SecretView::new(
                    token, account, heading,
                ))));
            }
            reload_accounts(model, true)
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
                        f.focus_on(Field::User);
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

fn on_deleted(model: &mut Model, seq: u64, result: Result<(), ConnectError>) -> Vec<Effect> {
    let Some(Overlay::Confirm(c)) = &mut model.overlay else {
        return Vec::new();
    };
    if c.busy != Some(seq) {
        return Vec::new();
    }
    match result {
        Ok(()) => {
            let a = c.account();
            model.status = Status::Info(format!(
                "deleted {} ({})",
                sanitize(&a.user_id),
                sanitize(&a.id)
            ));
            model.overlay = None;
            reload_accounts(model, true)
        }
        Err(e) => {
            c.busy = None;
            c.error = Some(sanitize(&e.message));
            Vec::new()
        }
    }
}

fn on_copied(model: &mut Model, seq: u64, report: CopyReport) {
    let Some(Overlay::Secret(view)) = &mut model.overlay else {
        return;
    };
    if view.copying != Some(seq) {
        return;
    }
    view.copying = None;
    let system_ok = report.system.is_ok();
    view.copied = view.copied || report.osc52 || system_ok;
    let why = report
        .system
        .err()
        .map(|e| sanitize(&e))
        .unwrap_or_default();
    let note: (bool, String) = match (report.osc52, system_ok) {
        (true, true) => (
            false,
            "Sent to the terminal clipboard (OSC 52) and the system clipboard.".into(),
        ),
        (true, false) => (
            false,
            format!(
                "Sent to the terminal clipboard (OSC 52) if it allows it; system clipboard: {why}."
            ),
        ),
        (false, true) => (false, "Copied to the system clipboard.".into()),
        (false, false) => (
            true,
            format!("Could not copy ({why}). Save it with s instead."),
        ),
    };
    model.status = if note.0 {
        Status::Error {
            text: note.1.clone(),
            retry: false,
        }
    } else {
        Status::Info(note.1.clone())
    };
    view.note = Some(note);
}

fn on_saved(model: &mut Model, seq: u64, result: Result<std::path::PathBuf, SaveError>) {
    let Some(Overlay::Secret(view)) = &mut model.overlay else {
        return;
    };
    if view.saving != Some(seq) {
        return;
    }
    view.saving = None;
    match result {
        Ok(path) => {
            view.note = Some((
                false,
                format!(
                    "Saved to {} (mode 0600).",
                    sanitize(&path.display().to_string())
                ),
            ));
            view.saved = Some(path);
            view.prompt = SecretPrompt::None;
        }
        Err(SaveError::Exists(path)) => {
            view.prompt = SecretPrompt::Overwrite(path);
        }
        Err(SaveError::Failed(message)) => {
            view.note = Some((true, format!("Not saved: {}", sanitize(&message))));
        }
    }
}
