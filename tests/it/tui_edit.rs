//! The edit form says, before it is submitted, what a new expiry does to the live token: a later one (or none)
//! needs a new token, shown once on save, while the old keeps working until its own expiry; an earlier one
//! leaves the live token working until then. Presets name the date they produce.

use crate::support::tui::*;
use crossterm::event::KeyCode;
use sacon::tui::screens::add_modal::AccountForm;
use sacon::tui::state::Overlay;
use sacon::tui::update;

fn form(model: &sacon::tui::Model) -> &AccountForm {
    match &model.overlay {
        Some(Overlay::Form(f)) => f,
        other => panic!("no form: {other:?}"),
    }
}

#[test]
fn the_edit_form_warns_before_a_later_expiry_and_reassures_before_an_earlier_one() {
    let clock = Clock::new();
    // Account 0 of the fixtures expires in 40 days.
    let mut model = on_accounts(1, &clock);
    update(&mut model, key('e'), clock.now);
    update(&mut model, code(KeyCode::Tab), clock.now);
    assert_eq!(form(&model).token_note(clock.now.wall), None, "unchanged");
    // → Never: no exp at all is later than any.
    update(&mut model, code(KeyCode::Right), clock.now);
    assert_eq!(form(&model).token_note(clock.now.wall), Some(true));
    let screen = screen_text(&mut model, 100, 30);
    assert!(
        screen.contains("⚠ A later expiry needs a new token"),
        "{screen}"
    );
    // → 7 days: earlier than the current 40.
    update(&mut model, code(KeyCode::Right), clock.now);
    assert_eq!(form(&model).token_note(clock.now.wall), Some(false));
    let screen = screen_text(&mut model, 100, 30);
    assert!(screen.contains("The live token keeps working"), "{screen}");
    // The preset names the date it produces.
    let week = (clock.now.wall + chrono::Duration::days(7))
        .format("%Y-%m-%d")
        .to_string();
    assert!(screen.contains(&format!("7 days → {week}")), "{screen}");
    // → 1 year, later again.
    for _ in 0..3 {
        update(&mut model, code(KeyCode::Right), clock.now);
    }
    assert_eq!(form(&model).token_note(clock.now.wall), Some(true));
}

#[test]
fn the_user_id_hint_never_calls_an_id_new_that_submit_refuses() {
    let mut clock = Clock::new();
    let mut model = on_accounts(1, &clock);
    update(&mut model, key('a'), clock.now);
    type_text(&mut model, "has space", clock.now);
    let t = clock.advance(121);
    let effects = update(&mut model, sacon::tui::msg::Msg::Tick, t);
    // Even when the server finds no such user, the hint says what submit will say.
    if let [sacon::tui::msg::Effect::CheckUnique { seq, .. }] = effects.as_slice() {
        update(
            &mut model,
            sacon::tui::msg::Msg::UniqueChecked {
                seq: *seq,
                result: Ok(sacon::tui::msg::UniqueInfo {
                    directory_user: None,
                    accounts: 0,
                }),
            },
            t,
        );
    }
    let screen = screen_text(&mut model, 80, 24);
    assert!(screen.contains("✗ A user ID has no spaces."), "{screen}");
    assert!(!screen.contains("✓ new user ID"), "{screen}");
    // A directory user's warning keeps its meaning even in a narrow form.
    let mut model = on_accounts(1, &clock);
    update(&mut model, key('a'), clock.now);
    type_text(&mut model, "alice", clock.now);
    let t = clock.advance(121);
    let effects = update(&mut model, sacon::tui::msg::Msg::Tick, t);
    let [sacon::tui::msg::Effect::CheckUnique { seq, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    update(
        &mut model,
        sacon::tui::msg::Msg::UniqueChecked {
            seq: *seq,
            result: Ok(sacon::tui::msg::UniqueInfo {
                directory_user: Some(sacon::model::DirectoryUser {
                    id: "alice".into(),
                    name: "Alice Liddell-Hargreaves of Wonderland".into(),
                    email: "alice@example.com".into(),
                    groups: vec![],
                }),
                accounts: 0,
            }),
        },
        t,
    );
    let screen = screen_text(&mut model, 40, 12);
    assert!(screen.contains("⚠ would impersonate"), "{screen}");
}

#[test]
fn a_pasted_exact_directory_id_is_picked_so_submit_needs_no_extra_enter() {
    let mut clock = Clock::new();
    let mut model = on_accounts(1, &clock);
    update(&mut model, key('a'), clock.now);
    // Ctrl-T: the Impersonated tab, focus on its search.
    update(&mut model, ctrl('t'), clock.now);
    update(
        &mut model,
        sacon::tui::msg::Msg::Paste("00u8k2ld9x0PQr7".into()),
        clock.now,
    );
    let t = clock.advance(200);
    let effects = update(&mut model, sacon::tui::msg::Msg::Tick, t);
    let seq = effects
        .iter()
        .find_map(|e| match e {
            sacon::tui::msg::Effect::SearchUsers { seq, query } => {
                assert_eq!(query, "00u8k2ld9x0PQr7");
                Some(*seq)
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no search: {effects:?}"));
    let ann = sacon::model::DirectoryUser {
        id: "00u8k2ld9x0PQr7".into(),
        name: "Ann Example".into(),
        email: "ann@example.com".into(),
        groups: vec![],
    };
    update(
        &mut model,
        sacon::tui::msg::Msg::Search {
            seq,
            result: Ok((vec![ann.clone()], 1)),
        },
        t,
    );
    assert_eq!(form(&model).picked.as_ref(), Some(&ann));
    let effects = update(&mut model, ctrl('s'), t);
    assert!(
        matches!(effects.as_slice(), [sacon::tui::msg::Effect::Create { account, .. }]
            if account.user_id.as_deref() == Some("00u8k2ld9x0PQr7")),
        "{effects:?}"
    );
}
