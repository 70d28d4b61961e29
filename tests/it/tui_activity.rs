//! State tests of the console's audit features: the history in the account detail, the activity screen (paging,
//! filters, the entry detail) and sessions that offer no change (`--read-only`, or a viewer's role) — `update`
//! driven by messages with an explicit clock, checking the effects it asks for and the state it ends in.

use crate::support::tui::*;
use crossterm::event::KeyCode;
use sacon::access::Grants;
use sacon::api::{Code, ConnectError};
use sacon::tui::keymap::{self, Context};
use sacon::tui::msg::{Effect, Msg};
use sacon::tui::permissions::{Permissions, Role};
use sacon::tui::screens::activity::PAGE;
use sacon::tui::screens::detail::HISTORY;
use sacon::tui::state::{Load, Overlay, Screen, Status};
use sacon::tui::update;

fn history_state(
    model: &sacon::tui::Model,
) -> &Load<(Vec<sacon::tui::screens::activity::Entry>, u64)> {
    match &model.overlay {
        Some(Overlay::Detail(d)) => &d.history,
        other => panic!("expected the detail, got {other:?}"),
    }
}

#[test]
fn the_detail_loads_the_history_in_the_background() {
    let clock = Clock::new();
    let mut model = on_accounts(3, &clock);
    update(&mut model, key('j'), clock.now);
    let effects = update(&mut model, code(KeyCode::Enter), clock.now);
    let (seq, request) = history_request(&effects).expect("the history is asked for");
    assert_eq!(request.entity_type.as_deref(), Some("service_account"));
    assert_eq!(
        request.entity_id.as_deref(),
        Some(account(1, "ns-platform").id.as_str())
    );
    assert_eq!((request.offset, request.limit), (Some(0), Some(HISTORY)));
    assert_eq!(history_state(&model), &Load::Loading(seq));

    // The detail works while it loads: the history scrolls (nothing to scroll yet), and a stale answer is dropped.
    update(&mut model, key('j'), clock.now);
    update(
        &mut model,
        Msg::History {
            seq: seq - 1,
            result: Ok((account_history("old"), 4)),
        },
        clock.now,
    );
    assert_eq!(history_state(&model), &Load::Loading(seq));
    update(
        &mut model,
        Msg::History {
            seq,
            result: Err(ConnectError::new(Code::Unavailable, "connection reset")),
        },
        clock.now,
    );
    assert!(matches!(history_state(&model), Load::Failed(_)));

    // R retries; the answer is taken.
    let effects = update(&mut model, key('R'), clock.now);
    let (seq, _) = history_request(&effects).expect("R asks again");
    let history = account_history("svc-001");
    update(
        &mut model,
        Msg::History {
            seq,
            result: Ok((history.clone(), 4)),
        },
        clock.now,
    );
    assert_eq!(history_state(&model), &Load::Loaded((history.clone(), 4)));
    assert_eq!(
        history[0].summary(),
        r#"description: "nightly job" → "nightly job (edited)""#
    );
    update(&mut model, key('j'), clock.now);
    let Some(Overlay::Detail(d)) = &model.overlay else {
        panic!()
    };
    assert_eq!(d.scroll, 1, "↓ scrolls the history");

    // A late answer after the detail closed changes nothing.
    update(&mut model, code(KeyCode::Esc), clock.now);
    update(
        &mut model,
        Msg::History {
            seq,
            result: Ok((Vec::new(), 0)),
        },
        clock.now,
    );
    assert!(model.overlay.is_none());
}

#[test]
fn the_activity_screen_lists_the_subtree_and_loads_more_as_it_scrolls() {
    let clock = Clock::new();
    let mut model = on_accounts(3, &clock);
    let effects = update(&mut model, key('L'), clock.now);
    assert_eq!(model.screen, Screen::Activity);
    let (seq, request) = activity_request(&effects).expect("the first page");
    assert_eq!(request.namespace_id.as_deref(), Some("ns-platform"));
    assert_eq!(
        request.recurse_namespace,
        Some(true),
        "and every namespace below"
    );
    assert_eq!((request.offset, request.limit), (Some(0), Some(PAGE)));
    assert_eq!(
        (request.user_id.clone(), request.activity_type.clone()),
        (None, None)
    );

    let effects = update(
        &mut model,
        Msg::Activity {
            seq,
            result: Ok((changes(1000, 50), 120)),
        },
        clock.now,
    );
    assert!(effects.is_empty(), "the top of the list needs nothing more");
    assert_eq!(model.activity.len(), 50);
    assert_eq!(model.activity.total, Some(120));

    // PgDn toward the end of what is loaded asks for the next page, once.
    let mut asked = Vec::new();
    for _ in 0..3 {
        asked.extend(update(&mut model, code(KeyCode::PageDown), clock.now));
    }
    let (seq, request) = activity_request(&asked).expect("the next page");
    assert_eq!(request.offset, Some(50));
    assert_eq!(
        asked
            .iter()
            .filter(|e| matches!(e, Effect::LoadActivity { .. }))
            .count(),
        1,
        "never two pages in flight"
    );
    // Two changes happened meanwhile: the new page repeats two rows, which are not shown twice.
    let effects = update(
        &mut model,
        Msg::Activity {
            seq,
            result: Ok((changes(952, 50), 122)),
        },
        clock.now,
    );
    assert_eq!(model.activity.len(), 98);
    assert_eq!(model.activity.next_offset, 100);
    // G goes to the last loaded row, which asks for the rest.
    let mut effects = effects;
    effects.extend(update(&mut model, key('G'), clock.now));
    let (seq, request) = activity_request(&effects).expect("the last page");
    assert_eq!(request.offset, Some(100));
    update(
        &mut model,
        Msg::Activity {
            seq,
            result: Ok((changes(902, 22), 122)),
        },
        clock.now,
    );
    assert!(!model.activity.has_more());
    assert!(activity_request(&update(&mut model, key('G'), clock.now)).is_none());

    // Esc goes back where L came from.
    update(&mut model, code(KeyCode::Esc), clock.now);
    assert_eq!(model.screen, Screen::Accounts);
}

#[test]
fn the_activity_filters_by_actor_and_by_action() {
    let clock = Clock::new();
    let mut model = on_activity(changes(1000, 10), 10, &clock);
    update(&mut model, key('j'), clock.now);
    // w opens the actor prompt on the actor of the change under the cursor.
    update(&mut model, key('w'), clock.now);
    let ta = model.activity.actor_input.as_ref().expect("the prompt");
    assert_eq!(sacon::tui::screens::field_text(ta), "root");
    let effects = update(&mut model, code(KeyCode::Enter), clock.now);
    let (old, request) = activity_request(&effects).expect("reloads");
    assert_eq!(request.user_id.as_deref(), Some("root"));
    assert_eq!(request.offset, Some(0));

    // t cycles the action; the page for the superseded query is dropped.
    let effects = update(&mut model, key('t'), clock.now);
    let (seq, request) = activity_request(&effects).unwrap();
    assert_eq!(request.activity_type.as_deref(), Some("create"));
    assert_eq!(request.user_id.as_deref(), Some("root"), "filters combine");
    update(
        &mut model,
        Msg::Activity {
            seq: old,
            result: Ok((changes(1000, 10), 10)),
        },
        clock.now,
    );
    assert!(model.activity.is_empty(), "stale page dropped");
    update(
        &mut model,
        Msg::Activity {
            seq,
            result: Ok((changes(500, 2), 2)),
        },
        clock.now,
    );
    assert_eq!(model.activity.len(), 2);
    let effects = update(&mut model, key('t'), clock.now);
    assert_eq!(
        activity_request(&effects)
            .unwrap()
            .1
            .activity_type
            .as_deref(),
        Some("update")
    );

    // x clears both; an empty answer says so.
    let effects = update(&mut model, key('x'), clock.now);
    let (seq, request) = activity_request(&effects).unwrap();
    assert_eq!((request.user_id, request.activity_type), (None, None));
    update(
        &mut model,
        Msg::Activity {
            seq,
            result: Ok((Vec::new(), 0)),
        },
        clock.now,
    );
    assert_eq!(model.activity.total, Some(0));

    // Esc in the prompt clears the actor filter.
    update(&mut model, key('w'), clock.now);
    type_text(&mut model, "local:alice", clock.now);
    update(&mut model, code(KeyCode::Enter), clock.now);
    assert_eq!(model.activity.actor, "local:alice");
    update(&mut model, key('w'), clock.now);
    let effects = update(&mut model, code(KeyCode::Esc), clock.now);
    assert!(model.activity.actor.is_empty());
    assert!(activity_request(&effects).is_some());
}

#[test]
fn an_entry_opens_in_full_and_steps_through_the_list() {
    let clock = Clock::new();
    let mut model = on_activity(changes(1000, 50), 51, &clock);
    update(&mut model, code(KeyCode::Enter), clock.now);
    assert!(matches!(model.overlay, Some(Overlay::Entry(_))));
    // → is the next (older) change, ← the newer one.
    update(&mut model, code(KeyCode::Right), clock.now);
    update(&mut model, key('n'), clock.now);
    assert_eq!(model.activity.cursor, 2);
    update(&mut model, code(KeyCode::Left), clock.now);
    assert_eq!(
        model.activity.selected().map(|e| e.id.as_str()),
        Some("999")
    );
    update(&mut model, code(KeyCode::Down), clock.now);
    let Some(Overlay::Entry(view)) = &model.overlay else {
        panic!()
    };
    assert_eq!(view.scroll, 1, "↓ scrolls the entry");
    // Stepping down the list asks for the next page when the end nears.
    let mut effects = Vec::new();
    for _ in 0..48 {
        effects.extend(update(&mut model, code(KeyCode::Right), clock.now));
    }
    assert_eq!(model.activity.cursor, 49, "the last loaded change");
    let (seq, request) = activity_request(&effects).expect("the next page");
    assert_eq!(request.offset, Some(50));
    update(
        &mut model,
        Msg::Activity {
            seq,
            result: Ok((changes(950, 1), 51)),
        },
        clock.now,
    );
    update(&mut model, code(KeyCode::Right), clock.now);
    assert_eq!(
        model.activity.selected().map(|e| e.id.as_str()),
        Some("950")
    );
    update(&mut model, code(KeyCode::Esc), clock.now);
    assert!(model.overlay.is_none());
    assert_eq!(model.screen, Screen::Activity, "Esc closes the entry first");
}

#[test]
fn the_picker_opens_the_activity_of_the_namespace_under_the_cursor() {
    let clock = Clock::new();
    let (mut model, _) = booted(None, &clock);
    update(&mut model, key('j'), clock.now); // Engineering
    let effects = update(&mut model, key('L'), clock.now);
    let (_, request) = activity_request(&effects).unwrap();
    assert_eq!(request.namespace_id.as_deref(), Some("ns-eng"));
    update(&mut model, code(KeyCode::Esc), clock.now);
    assert_eq!(model.screen, Screen::Namespaces);
}

#[test]
fn the_detail_opens_the_whole_activity_of_its_account() {
    let clock = Clock::new();
    let mut model = on_detail(account_history("svc-001"), &clock);
    let effects = update(&mut model, key('L'), clock.now);
    let (_, request) = activity_request(&effects).unwrap();
    assert_eq!(request.entity_type.as_deref(), Some("service_account"));
    assert_eq!(
        request.entity_id.as_deref(),
        Some(account(1, "ns-platform").id.as_str())
    );
    assert_eq!(request.namespace_id, None, "wherever the account was");
    assert!(model.overlay.is_none());
    assert_eq!(model.screen, Screen::Activity);
}

#[test]
fn a_server_without_an_activity_log_says_so() {
    let clock = Clock::new();
    let mut model = on_accounts(1, &clock);
    let effects = update(&mut model, key('L'), clock.now);
    let (seq, _) = activity_request(&effects).unwrap();
    update(
        &mut model,
        Msg::Activity {
            seq,
            result: Err(ConnectError::new(Code::Unimplemented, "no such method")),
        },
        clock.now,
    );
    assert!(matches!(&model.status, Status::Info(t) if t.contains("no activity log")));
    // Keys keep working, and nothing is asked for again on its own.
    assert!(update(&mut model, key('j'), clock.now).is_empty());
}

fn read_only(n: usize, clock: &Clock) -> sacon::tui::Model {
    let mut model = on_accounts(n, clock);
    model.read_only = true;
    model
}

#[test]
fn a_read_only_session_offers_and_makes_no_change() {
    let clock = Clock::new();
    let mut model = read_only(3, &clock);
    for k in ['a', 'e', 'r', 'd'] {
        let effects = update(&mut model, key(k), clock.now);
        assert!(effects.is_empty(), "{k}: {effects:?}");
        assert!(model.overlay.is_none(), "{k} opened {:?}", model.overlay);
        assert!(
            matches!(&model.status, Status::Info(t) if t.starts_with("read-only session")),
            "{k}: {:?}",
            model.status
        );
    }
    // The detail opens, with its history, but its change keys do nothing either.
    let effects = update(&mut model, code(KeyCode::Enter), clock.now);
    assert!(history_request(&effects).is_some());
    for k in ['e', 'r', 'd'] {
        update(&mut model, key(k), clock.now);
        assert!(matches!(model.overlay, Some(Overlay::Detail(_))), "{k}");
    }
    update(&mut model, code(KeyCode::Esc), clock.now);
    // Looking around still works: the activity screen, the namespaces, the filter.
    assert!(activity_request(&update(&mut model, key('L'), clock.now)).is_some());
    update(&mut model, code(KeyCode::Esc), clock.now);
    update(&mut model, key('/'), clock.now);
    assert!(model.accounts.filter_input.is_some());

    // Footer and help leave the changes out.
    let perms = model.permissions();
    for ctx in [Context::Accounts, Context::Detail] {
        let footer = keymap::footer(ctx, perms);
        for (keys, _) in &footer {
            assert!(
                !["a", "e", "r", "d"].contains(&keys.as_str()),
                "{ctx:?}: {footer:?}"
            );
        }
    }
    update(&mut model, code(KeyCode::Esc), clock.now);
    update(&mut model, key('?'), clock.now);
    let lines = model.help.as_ref().unwrap().lines();
    assert!(!lines.iter().any(|l| l.2 == "add an account" || l.1 == "a"));
    assert!(lines.iter().any(|l| l.2.contains("activity log")));
}

#[test]
fn roles_narrow_what_is_offered_as_read_only_does() {
    let clock = Clock::new();
    let mut model = on_accounts(2, &clock);
    let here = model.current.clone().unwrap();
    model.grants = Some(Grants::from_roles([(here.as_str(), "viewer")]));
    assert_eq!(model.permissions(), Permissions::for_role(Role::Viewer));
    update(&mut model, key('a'), clock.now);
    assert!(model.overlay.is_none());
    assert!(matches!(&model.status, Status::Info(t) if t.contains("viewer")));
    model.grants = Some(Grants::from_roles([(here.as_str(), "manager")]));
    update(&mut model, key('a'), clock.now);
    assert!(
        matches!(model.overlay, Some(Overlay::Form(_))),
        "a manager adds accounts"
    );
    assert!(!model.permissions().writes_nothing());
}
