//! The add and edit form's keys (fields, tabs, presets, the lookahead's results, submit), the debounced
//! requests it sends when typing pauses, and their answers.

use crossterm::event::KeyEvent;

use super::{AccountForm, Field, Submission, Tab, UniqueInfo};
use crate::api::ConnectError;
use crate::model::DirectoryUser;
use crate::tui::keymap::Command;
use crate::tui::msg::{Effect, Now};
use crate::tui::screens::{field_input, field_text};
use crate::tui::state::{Model, Overlay, Status};

pub fn on_key(
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

/// A deadline passed: sends the search or the unique-id check whose typing pause is over.
pub fn on_tick(model: &mut Model, now: Now) -> Vec<Effect> {
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

pub fn on_search(
    model: &mut Model,
    seq: u64,
    result: Result<(Vec<DirectoryUser>, u64), ConnectError>,
) {
    if let Some(Overlay::Form(f)) = &mut model.overlay
        && f.lookahead.answer(seq, result)
    {
        f.result_cursor = 0;
        // A pasted exact id that is the only match is the user meant: picked, so submit needs no extra Enter.
        let typed = field_text(&f.search).trim().to_string();
        if let [only] = f.results()
            && only.id == typed
            && f.picked.is_none()
        {
            f.pick();
        }
    }
}

pub fn on_unique_checked(model: &mut Model, seq: u64, result: Result<UniqueInfo, ConnectError>) {
    if let Some(Overlay::Form(f)) = &mut model.overlay {
        f.unique.answer(seq, result);
    }
}
