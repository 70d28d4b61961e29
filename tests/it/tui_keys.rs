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

#[test]
fn the_palette_finds_a_command_and_runs_it_as_its_key_would() {
    use sacon::tui::keymap::Command;
    use sacon::tui::state::Overlay;
    let clock = Clock::new();
    let mut model = on_accounts(2, &clock);
    update(&mut model, key(':'), clock.now);
    let Some(Overlay::Palette(p)) = &model.overlay else {
        panic!("{:?}", model.overlay)
    };
    let all = p.entries(model.permissions());
    assert!(all.iter().any(|b| b.command == Command::Add));
    assert!(
        all.iter().any(|b| b.command == Command::Quit),
        "the List context's too"
    );
    type_text(&mut model, "rot", clock.now);
    let screen = screen_text(&mut model, 80, 24);
    assert!(screen.contains("rotate: issue a new token"), "{screen}");
    update(&mut model, code(KeyCode::Enter), clock.now);
    assert!(
        matches!(&model.overlay, Some(Overlay::Confirm(c))
            if matches!(c.action, sacon::tui::screens::confirm::ConfirmAction::Rotate(_))),
        "{:?}",
        model.overlay
    );
    // A read-only session's palette offers no change at all.
    let mut model = on_accounts(2, &clock);
    model.read_only = true;
    update(&mut model, key(':'), clock.now);
    let Some(Overlay::Palette(p)) = &model.overlay else {
        panic!()
    };
    let offered = p.entries(model.permissions());
    assert!(
        !offered
            .iter()
            .any(|b| matches!(b.command, Command::Add | Command::Delete | Command::Rotate))
    );
    assert!(offered.iter().any(|b| b.command == Command::Activity));
    // Enter with nothing matching keeps the palette open, to mend the filter.
    type_text(&mut model, "zzzz", clock.now);
    assert!(update(&mut model, code(KeyCode::Enter), clock.now).is_empty());
    assert!(matches!(model.overlay, Some(Overlay::Palette(_))));
    // Esc closes it; nothing ran.
    update(&mut model, code(KeyCode::Esc), clock.now);
    assert!(model.overlay.is_none());
    let mut shots = Vec::new();
    for (w, h) in [(80, 24), (40, 12)] {
        let mut model = on_accounts(2, &clock);
        update(&mut model, key(':'), clock.now);
        type_text(&mut model, "d", clock.now);
        shots.push(format!("{w}x{h}\n{}", screen_text(&mut model, w, h)));
    }
    insta::assert_snapshot!("palette", shots.join("\n\n"));
}
