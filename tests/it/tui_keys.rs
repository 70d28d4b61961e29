//! Keys that behave as a terminal user expects: `?` and `q` close help until a filter is typed (then they are
//! letters), and Ctrl-U clears a text field to the start of the line, as a shell does.

use crate::support::tui::*;
use crossterm::event::KeyCode;
use sacon::tui::screens::field_text;
use sacon::tui::update;

#[test]
fn question_mark_and_q_close_help_until_a_filter_is_typed() {
    let clock = Clock::new();
    let mut model = on_accounts(1, &clock);
    update(&mut model, key('?'), clock.now);
    assert!(model.help.is_some());
    update(&mut model, key('?'), clock.now);
    assert!(model.help.is_none(), "? toggles help");
    update(&mut model, key('?'), clock.now);
    update(&mut model, key('q'), clock.now);
    assert!(
        model.help.is_none() && !model.quit,
        "q closes help, it does not quit"
    );
    // Typing a filter: now they are letters.
    update(&mut model, key('?'), clock.now);
    type_text(&mut model, "re", clock.now);
    update(&mut model, key('q'), clock.now);
    update(&mut model, key('?'), clock.now);
    let help = model.help.as_ref().expect("help stays open while typing");
    assert_eq!(field_text(&help.filter), "req?");
    update(&mut model, code(KeyCode::Esc), clock.now);
    assert!(model.help.is_none());
}

#[test]
fn ctrl_u_clears_the_line_instead_of_undoing() {
    let clock = Clock::new();
    let mut model = on_accounts(1, &clock);
    update(&mut model, key('/'), clock.now);
    type_text(&mut model, "svc-0", clock.now);
    update(&mut model, ctrl('u'), clock.now);
    let ta = model.accounts.filter_input.as_ref().unwrap();
    assert_eq!(field_text(ta), "");
}

#[test]
fn an_idle_account_list_notices_accounts_made_elsewhere() {
    use sacon::tui::msg::{Effect, Msg};
    let clock = Clock::new();
    let mut model = on_accounts(3, &clock);
    let at = model
        .next_deadline()
        .expect("an idle list wakes up to look again");
    assert!(at > clock.now.mono, "not at once");
    let later = sacon::tui::msg::Now {
        mono: at,
        wall: clock.now.wall,
    };
    let effects = update(&mut model, Msg::Tick, later);
    let [Effect::CheckTotal { generation, query }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(query.limit, Some(0), "only a count");
    let generation = *generation;
    // Unchanged: nothing reloads (no flicker).
    let same = update(
        &mut model,
        Msg::TotalChecked {
            generation,
            total: Some(3),
        },
        later,
    );
    assert!(same.is_empty(), "{same:?}");
    // One more account elsewhere: the list reloads, keeping the cursor.
    let more = update(
        &mut model,
        Msg::TotalChecked {
            generation,
            total: Some(4),
        },
        later,
    );
    assert!(
        more.iter().any(|e| matches!(e, Effect::LoadPage { .. })),
        "{more:?}"
    );
}
