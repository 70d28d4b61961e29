//! The console's context switcher as state and render: `C` lists the contexts (the current one marked), moves,
//! and asks the driver to switch; with one context it says where to name more; the title bar names the
//! context at 80×24 and 40×12.

use crate::support::tui::*;
use crossterm::event::KeyCode;
use sacon::tui::keymap::Context;
use sacon::tui::msg::{Effect, Msg};
use sacon::tui::screens::contexts::ContextEntry;
use sacon::tui::state::{Overlay, Status};
use sacon::tui::{Model, update};

fn with_contexts(clock: &Clock) -> Model {
    let mut model = on_accounts(3, clock);
    model.context_name = Some("local".into());
    model.contexts = vec![
        ContextEntry {
            name: "local".into(),
            target: "embedded".into(),
            read_only: false,
        },
        ContextEntry {
            name: "prod".into(),
            target: "https://sacon.example.com".into(),
            read_only: true,
        },
    ];
    model
}

#[test]
fn the_switcher_lists_contexts_and_asks_for_the_chosen_one() {
    let clock = Clock::new();
    let mut model = with_contexts(&clock);
    assert!(
        screen_text(&mut model, 80, 24)
            .lines()
            .next()
            .unwrap()
            .contains("sacon · local")
    );
    update(&mut model, key('C'), clock.now);
    assert_eq!(model.context(), Context::Contexts);
    assert!(matches!(&model.overlay, Some(Overlay::Contexts(p)) if p.cursor == 0));
    // Enter on the current one does nothing but say so.
    assert!(update(&mut model, code(KeyCode::Enter), clock.now).is_empty());
    assert!(matches!(&model.status, Status::Info(t) if t.contains("already in context local")));
    update(&mut model, key('C'), clock.now);
    update(&mut model, key('j'), clock.now);
    let effects = update(&mut model, code(KeyCode::Enter), clock.now);
    assert!(
        matches!(effects.as_slice(), [Effect::SwitchContext { index: 1 }]),
        "{effects:?}"
    );
    assert!(matches!(&model.status, Status::Busy(t) if t.contains("connecting to prod")));
    // A failed switch leaves the console where it was, and says why.
    update(
        &mut model,
        Msg::SwitchFailed {
            name: "prod".into(),
            error: "connection refused".into(),
        },
        clock.now,
    );
    assert!(
        matches!(&model.status, Status::Error { text, .. } if text.contains("cannot switch to context prod"))
    );
    assert_eq!(model.context_name.as_deref(), Some("local"));
    // Esc closes the switcher without switching.
    update(&mut model, key('C'), clock.now);
    assert!(update(&mut model, code(KeyCode::Esc), clock.now).is_empty());
    assert!(model.overlay.is_none());
}

#[test]
fn one_context_says_where_to_name_more() {
    let clock = Clock::new();
    let mut model = on_accounts(1, &clock);
    update(&mut model, key('C'), clock.now);
    assert!(model.overlay.is_none());
    assert!(matches!(&model.status, Status::Info(t) if t.contains("config.toml")));
}

#[test]
fn the_switcher_renders_at_both_sizes() {
    let clock = Clock::new();
    let mut shots = Vec::new();
    for (w, h) in [(80, 24), (40, 12)] {
        let mut model = with_contexts(&clock);
        update(&mut model, key('C'), clock.now);
        update(&mut model, key('j'), clock.now);
        let screen = screen_text(&mut model, w, h);
        assert!(screen.contains("Switch context"), "{screen}");
        shots.push(format!("{w}x{h}\n{screen}"));
    }
    assert!(shots[0].contains("● local") && shots[0].contains("read-only"));
    insta::assert_snapshot!("context_switcher", shots.join("\n\n"));
}
