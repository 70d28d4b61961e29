//! Disabling and enabling an account from the console: the ⊘ mark in the list and the detail, `D` asking
//! before it disables and enabling at once, the answer refreshing the list, and read-only sessions refusing it.

use crate::support::tui::*;
use crossterm::event::KeyCode;
use sacon::tui::msg::{Effect, Msg};
use sacon::tui::screens::confirm::ConfirmAction;
use sacon::tui::state::{Overlay, Status};
use sacon::tui::update;

#[test]
fn d_asks_before_disabling_and_the_answer_marks_the_row() {
    let clock = Clock::new();
    let mut model = on_accounts(3, &clock);
    let first = model.selected_account().unwrap().clone();
    assert!(!first.disabled);
    assert!(update(&mut model, key('D'), clock.now).is_empty());
    assert!(
        matches!(&model.overlay, Some(Overlay::Confirm(c)) if matches!(c.action, ConfirmAction::Disable(_))),
        "{:?}",
        model.overlay
    );
    let screen = screen_text(&mut model, 80, 24);
    assert!(screen.contains("Disable this account?"), "{screen}");
    assert!(screen.contains("/verify refuses"), "{screen}");
    let effects = update(&mut model, key('y'), clock.now);
    let seq = match effects.as_slice() {
        [
            Effect::SetDisabled {
                seq,
                id,
                disabled: true,
            },
        ] if *id == first.id => *seq,
        other => panic!("{other:?}"),
    };
    let mut now_disabled = first.clone();
    now_disabled.disabled = true;
    let effects = update(
        &mut model,
        Msg::DisabledSet {
            seq,
            result: Ok(now_disabled.clone()),
        },
        clock.now,
    );
    assert!(model.overlay.is_none());
    assert!(matches!(&model.status, Status::Info(t) if t.starts_with("disabled ")));
    assert!(
        effects.iter().any(|e| matches!(e, Effect::LoadPage { .. })),
        "{effects:?}"
    );
    // The reloaded page carries the mark.
    let all: Vec<_> = (0..3)
        .map(|i| {
            let mut a = account(i, "ns-platform");
            a.disabled = i == 0;
            a
        })
        .collect();
    answer_pages(&mut model, effects, &all, clock.now);
    let screen = screen_text(&mut model, 80, 24);
    let row = screen
        .lines()
        .find(|l| l.contains(&all[0].user_id))
        .unwrap();
    assert!(row.trim_start().starts_with('⊘'), "{row}");
    assert!(
        screen.contains("⊘ disabled"),
        "the legend names it:\n{screen}"
    );
    // Enabling is safe: no question.
    let effects = update(&mut model, key('D'), clock.now);
    assert!(
        matches!(
            effects.as_slice(),
            [Effect::SetDisabled {
                disabled: false,
                ..
            }]
        ),
        "{effects:?}"
    );
    assert!(model.overlay.is_none());
    // The detail says what it means.
    update(&mut model, code(KeyCode::Enter), clock.now);
    let screen = screen_text(&mut model, 80, 24);
    assert!(
        screen.contains("⊘ disabled: /verify refuses its token"),
        "{screen}"
    );
}

#[test]
fn a_refused_disable_stays_in_the_question_and_read_only_never_asks() {
    let clock = Clock::new();
    let mut model = on_accounts(2, &clock);
    update(&mut model, key('D'), clock.now);
    let effects = update(&mut model, key('y'), clock.now);
    let [Effect::SetDisabled { seq, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    update(
        &mut model,
        Msg::DisabledSet {
            seq: *seq,
            result: Err(sacon::api::ConnectError::new(
                sacon::api::Code::PermissionDenied,
                "the manager role is needed",
            )),
        },
        clock.now,
    );
    assert!(
        matches!(&model.overlay, Some(Overlay::Confirm(c)) if c.error.as_deref() == Some("the manager role is needed"))
    );
    update(&mut model, key('n'), clock.now);
    model.read_only = true;
    assert!(update(&mut model, key('D'), clock.now).is_empty());
    assert!(model.overlay.is_none());
    assert!(matches!(&model.status, Status::Info(t) if t.starts_with("read-only session")));
}
