//! State tests of the console: `update` driven by message sequences with an explicit clock, checking the
//! effects it asks for and the state it ends in — no terminal, no server, no sleeping.

use crate::support::tui::*;
use crossterm::event::KeyCode;
use sacon::api::{Capabilities, Code, ConnectError};
use sacon::tui::msg::{Effect, Msg, UniqueInfo};
use sacon::tui::screens::accounts::PAGE;
use sacon::tui::screens::add_modal::{DEBOUNCE, Field, Tab};
use sacon::tui::state::{Load, Overlay, Screen, Status};
use sacon::tui::update;
use serde_json::json;

fn form(model: &sacon::tui::Model) -> &sacon::tui::screens::add_modal::AccountForm {
    match &model.overlay {
        Some(Overlay::Form(f)) => f,
        other => panic!("expected the form, got {other:?}"),
    }
}

#[test]
fn first_start_shows_the_picker_and_enter_selects() {
    let clock = Clock::new();
    let (mut model, effects) = booted(None, &clock);
    assert_eq!(model.screen, Screen::Namespaces);
    let rollups = effects
        .iter()
        .find_map(|e| match e {
            Effect::LoadRollups { items, .. } => Some(items.clone()),
            _ => None,
        })
        .expect("roll-ups are asked for");
    assert_eq!(rollups.len(), 5);
    let eng = rollups.iter().find(|r| r.namespace_id == "ns-eng").unwrap();
    assert_eq!(eng.subtree.len(), 3, "Engineering, Data, Platform");

    // Global is expanded; move to Engineering, expand it, go to Platform.
    update(&mut model, key('j'), clock.now);
    update(&mut model, key('l'), clock.now);
    update(&mut model, code(KeyCode::Down), clock.now);
    update(&mut model, code(KeyCode::Down), clock.now);
    assert_eq!(
        model.picker.selected_id(&model.tree).as_deref(),
        Some("ns-platform")
    );
    let effects = update(&mut model, code(KeyCode::Enter), clock.now);
    assert_eq!(model.screen, Screen::Accounts);
    assert_eq!(model.current.as_deref(), Some("ns-platform"));
    assert!(effects.contains(&Effect::Remember {
        namespace_id: "ns-platform".into()
    }));
    let query = effects
        .iter()
        .find_map(|e| match e {
            Effect::LoadPage { query, page: 0, .. } => Some(query.clone()),
            _ => None,
        })
        .expect("first page");
    assert_eq!(query.filter, Some(json!({"namespace_id": "ns-platform"})));
    assert_eq!((query.offset, query.limit), (0, Some(PAGE)));
    assert_eq!(model.namespace_path(), "Global › Engineering › Platform");
}

#[test]
fn the_remembered_namespace_opens_directly() {
    let clock = Clock::new();
    let (model, effects) = booted(Some("ns-data"), &clock);
    assert_eq!(model.screen, Screen::Accounts);
    assert_eq!(model.current.as_deref(), Some("ns-data"));
    assert!(
        matches!(
            effects.as_slice(),
            [Effect::LoadPage { page: 0, .. }, Effect::LoadDangling { namespace_id }] if namespace_id == "ns-data"
        ),
        "the first page, and what its policies name that is gone: {effects:?}"
    );
    // A remembered namespace that no longer exists falls back to the picker.
    let (model, _) = booted(Some("ns-gone"), &clock);
    assert_eq!(model.screen, Screen::Namespaces);
}

#[test]
fn pages_load_as_the_cursor_moves_and_never_all() {
    let clock = Clock::new();
    let (mut model, effects) = booted(Some("ns-platform"), &clock);
    let total = 100_000usize;
    let page_of = |offset: u64| -> Vec<sacon::model::ServiceAccount> {
        (0..PAGE as usize)
            .map(|i| account(offset as usize + i, "ns-platform"))
            .collect()
    };
    let answer = |model: &mut sacon::tui::Model, effects: Vec<Effect>| -> Vec<u64> {
        let mut pages = Vec::new();
        for e in effects {
            if let Effect::LoadPage {
                generation,
                page,
                query,
            } = e
            {
                pages.push(page);
                update(
                    model,
                    Msg::Page {
                        generation,
                        page,
                        result: Ok((page_of(query.offset), total as u64)),
                    },
                    clock.now,
                );
            }
        }
        pages
    };
    assert_eq!(answer(&mut model, effects), vec![0]);
    assert_eq!(model.accounts.total, Some(total as u64));

    // Scrolling a row at a time stays on page 0 until the margin reaches page 1.
    let mut asked = Vec::new();
    for _ in 0..60 {
        let effects = update(&mut model, key('j'), clock.now);
        asked.extend(answer(&mut model, effects));
    }
    assert_eq!(asked, vec![1]);
    // G jumps to the end: only the last page is fetched.
    let effects = update(&mut model, key('G'), clock.now);
    assert_eq!(answer(&mut model, effects), vec![999]);
    assert_eq!(model.accounts.cursor, total - 1);
    assert_eq!(
        model.selected_account().map(|a| a.user_id.clone()),
        Some(format!("svc-{:03}", total - 1))
    );
    // PgUp a few times: pages come in as needed, and memory stays bounded.
    for _ in 0..30 {
        let effects = update(&mut model, code(KeyCode::PageUp), clock.now);
        answer(&mut model, effects);
    }
    assert!(
        model.accounts.pages.len() <= 8,
        "{} pages held",
        model.accounts.pages.len()
    );
    let held: usize = model
        .accounts
        .pages
        .values()
        .map(|p| p.loaded().map_or(0, Vec::len))
        .sum();
    assert!(held < 1000, "{held} rows held of {total}");
    // g goes back to the top, which was dropped and is fetched again.
    let effects = update(&mut model, key('g'), clock.now);
    assert_eq!(answer(&mut model, effects), vec![0]);
}

#[test]
fn a_reply_for_an_old_query_is_dropped() {
    let clock = Clock::new();
    let (mut model, effects) = booted(Some("ns-platform"), &clock);
    let Some(Effect::LoadPage {
        generation: old, ..
    }) = effects.first().cloned()
    else {
        panic!("no first page");
    };
    // `s d` sorts by description before the first answer arrives.
    assert!(
        update(&mut model, key('s'), clock.now).is_empty(),
        "s opens the chooser"
    );
    let effects = update(&mut model, key('d'), clock.now);
    let Some(Effect::LoadPage {
        generation: new,
        query,
        ..
    }) = effects.first().cloned()
    else {
        panic!("the sort reloads");
    };
    assert_ne!(old, new);
    assert_eq!(query.order_by, "description");
    update(
        &mut model,
        Msg::Page {
            generation: old,
            page: 0,
            result: Ok((vec![account(7, "ns-platform")], 1)),
        },
        clock.now,
    );
    assert_eq!(model.accounts.total, None, "the stale answer was not taken");
    update(
        &mut model,
        Msg::Page {
            generation: new,
            page: 0,
            result: Ok((
                vec![account(1, "ns-platform"), account(2, "ns-platform")],
                2,
            )),
        },
        clock.now,
    );
    assert_eq!(model.accounts.total, Some(2));
    // S reverses, i adds the ancestors, / filters: all on the server.
    let effects = update(&mut model, key('S'), clock.now);
    assert!(
        matches!(&effects[0], Effect::LoadPage { query, .. } if query.order_by == "-description")
    );
    let effects = update(&mut model, key('i'), clock.now);
    let Effect::LoadPage { query, .. } = &effects[0] else {
        panic!()
    };
    assert_eq!(
        query.filter,
        Some(json!({"namespace_id": {"$isAnyOf": ["ns-platform", "ns-eng", "ns-global"]}}))
    );
    update(&mut model, key('/'), clock.now);
    type_text(&mut model, "nightly", clock.now);
    let effects = update(&mut model, code(KeyCode::Enter), clock.now);
    let Effect::LoadPage { query, .. } = &effects[0] else {
        panic!()
    };
    assert_eq!(
        query.filter.as_ref().unwrap()["$and"][1]["$or"][1]["description"]["$contains"],
        "nightly"
    );
}

#[test]
fn the_lookahead_is_debounced_and_the_newest_search_wins() {
    let mut clock = Clock::new();
    let mut model = on_accounts(3, &clock);
    update(&mut model, key('a'), clock.now);
    update(&mut model, ctrl('t'), clock.now);
    assert_eq!(form(&model).tab, Tab::Impersonated);
    assert_eq!(form(&model).focus, Field::User);

    // Typing restarts the wait; nothing is sent while keys keep coming.
    let start = clock.now;
    type_text(&mut model, "al", clock.now);
    let t = clock.advance(100);
    type_text(&mut model, "i", t);
    assert_eq!(model.next_deadline(), Some(t.mono + DEBOUNCE));
    let t = clock.advance(110);
    assert!(update(&mut model, Msg::Tick, t).is_empty(), "still typing");
    assert!(
        t.mono - start.mono > DEBOUNCE,
        "past the first key's deadline"
    );
    let t = clock.advance(15);
    let effects = update(&mut model, Msg::Tick, t);
    let [Effect::SearchUsers { seq: first, query }] = effects.as_slice() else {
        panic!("one search: {effects:?}")
    };
    assert_eq!(query, "ali");
    assert_eq!(
        model.next_deadline(),
        None,
        "no timer while waiting for the reply"
    );
    let first = *first;

    // More typing before the reply: the reply to "ali" must not show.
    type_text(&mut model, "c", clock.now);
    let t = clock.advance(130);
    let effects = update(&mut model, Msg::Tick, t);
    let [Effect::SearchUsers { seq: second, query }] = effects.as_slice() else {
        panic!("second search: {effects:?}")
    };
    assert_eq!(query, "alic");
    let second = *second;
    update(
        &mut model,
        Msg::Search {
            seq: first,
            result: Ok((vec![user("alan", "Alan Turing")], 1)),
        },
        t,
    );
    assert!(form(&model).results().is_empty(), "stale reply dropped");
    assert!(
        form(&model).lookahead.state.is_loading(),
        "still searching…"
    );
    update(
        &mut model,
        Msg::Search {
            seq: second,
            result: Ok((
                vec![
                    user("alice", "Alice Liddell"),
                    user("alicia", "Alicia Keys"),
                ],
                2,
            )),
        },
        t,
    );
    assert_eq!(form(&model).results().len(), 2);
    // ↓ then Enter picks the second result and moves on.
    update(&mut model, code(KeyCode::Down), t);
    update(&mut model, code(KeyCode::Enter), t);
    assert_eq!(
        form(&model).picked.as_ref().map(|u| u.id.as_str()),
        Some("alicia")
    );
    assert_eq!(form(&model).focus, Field::Description);

    // Errors and "no match" are states of the same slot.
    update(&mut model, code(KeyCode::BackTab), t);
    type_text(&mut model, "zz", t);
    assert!(form(&model).picked.is_none(), "typing again un-picks");
    let t = clock.advance(200);
    let effects = update(&mut model, Msg::Tick, t);
    let [Effect::SearchUsers { seq, .. }] = effects.as_slice() else {
        panic!()
    };
    update(
        &mut model,
        Msg::Search {
            seq: *seq,
            result: Err(ConnectError::new(Code::Unavailable, "connection refused")),
        },
        t,
    );
    assert!(matches!(form(&model).lookahead.state, Load::Failed(_)));
}

#[test]
fn a_unique_id_is_checked_after_typing_pauses() {
    let mut clock = Clock::new();
    let mut model = on_accounts(1, &clock);
    update(&mut model, key('a'), clock.now);
    type_text(&mut model, "alice", clock.now);
    let t = clock.advance(121);
    let effects = update(&mut model, Msg::Tick, t);
    let [Effect::CheckUnique { seq, user_id }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(user_id, "alice");
    update(
        &mut model,
        Msg::UniqueChecked {
            seq: *seq,
            result: Ok(UniqueInfo {
                directory_user: Some(user("alice", "Alice Liddell")),
                accounts: 2,
            }),
        },
        t,
    );
    assert!(matches!(form(&model).unique.state, Load::Loaded(ref i) if i.accounts == 2));
}

#[test]
fn the_form_validates_before_sending_and_keeps_what_was_typed() {
    let clock = Clock::new();
    let mut model = on_accounts(1, &clock);
    update(&mut model, key('a'), clock.now);
    // Empty user id: nothing is sent, the error is on the field.
    assert!(update(&mut model, ctrl('s'), clock.now).is_empty());
    assert_eq!(
        form(&model).errors.user.as_deref(),
        Some("Enter a user ID.")
    );
    assert_eq!(form(&model).focus, Field::User);
    type_text(&mut model, "ci deploy", clock.now);
    assert!(update(&mut model, ctrl('s'), clock.now).is_empty());
    assert!(
        form(&model)
            .errors
            .user
            .as_deref()
            .unwrap()
            .contains("no spaces")
    );

    // Fix it, then choose a custom date that is not a date.
    for _ in 0..7 {
        update(&mut model, code(KeyCode::Backspace), clock.now);
    }
    type_text(&mut model, "-deploy", clock.now);
    update(&mut model, code(KeyCode::Tab), clock.now); // Description
    type_text(&mut model, "deploys from CI", clock.now);
    update(&mut model, code(KeyCode::Tab), clock.now); // Expires (90 days)
    update(&mut model, code(KeyCode::Right), clock.now); // 1 year
    update(&mut model, code(KeyCode::Right), clock.now); // Custom
    update(&mut model, code(KeyCode::Tab), clock.now);
    assert_eq!(form(&model).focus, Field::Custom);
    type_text(&mut model, "2026-02-30", clock.now);
    assert!(update(&mut model, ctrl('s'), clock.now).is_empty());
    assert!(
        form(&model)
            .errors
            .custom
            .as_deref()
            .unwrap()
            .contains("not a date")
    );
    // A real date in the past.
    for _ in 0..10 {
        update(&mut model, code(KeyCode::Backspace), clock.now);
    }
    type_text(&mut model, "2026-01-31", clock.now);
    assert!(update(&mut model, ctrl('s'), clock.now).is_empty());
    assert!(
        form(&model)
            .errors
            .custom
            .as_deref()
            .unwrap()
            .contains("not in the future")
    );
    for _ in 0..10 {
        update(&mut model, code(KeyCode::Backspace), clock.now);
    }
    type_text(&mut model, "2027-01-31", clock.now);
    // Enter on Create submits.
    update(&mut model, code(KeyCode::Tab), clock.now);
    assert_eq!(form(&model).focus, Field::Submit);
    let effects = update(&mut model, code(KeyCode::Enter), clock.now);
    let [Effect::Create { seq, account }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(account.user_id.as_deref(), Some("ci-deploy"));
    assert_eq!(account.description.as_deref(), Some("deploys from CI"));
    assert_eq!(account.namespace_id.as_deref(), Some("ns-platform"));
    assert_eq!(
        account.expires_at.as_ref().map(|t| t.seconds),
        Some(1_801_353_600)
    );
    // Submitting twice sends once.
    assert!(update(&mut model, ctrl('s'), clock.now).is_empty());
    // A server error shows in the form and nothing typed is lost.
    update(
        &mut model,
        Msg::Created {
            seq: *seq,
            result: Err(ConnectError::new(
                Code::AlreadyExists,
                "account exists\u{1b}[2J",
            )),
        },
        clock.now,
    );
    let f = form(&model);
    assert_eq!(
        f.errors.user.as_deref(),
        Some("account exists[2J"),
        "sanitized"
    );
    assert_eq!(sacon::tui::screens::field_text(&f.user), "ci-deploy");
    assert_eq!(
        sacon::tui::screens::field_text(&f.description),
        "deploys from CI"
    );
    assert_eq!(sacon::tui::screens::field_text(&f.custom), "2027-01-31");
    assert!(f.submitting.is_none());
}

#[test]
fn impersonated_needs_a_picked_user_unless_there_is_no_directory() {
    let clock = Clock::new();
    let mut model = on_accounts(1, &clock);
    update(&mut model, key('a'), clock.now);
    update(&mut model, ctrl('t'), clock.now);
    type_text(&mut model, "alice", clock.now);
    assert!(update(&mut model, ctrl('s'), clock.now).is_empty());
    assert!(
        form(&model)
            .errors
            .user
            .as_deref()
            .unwrap()
            .contains("Pick a directory user")
    );

    let (mut model, effects) = booted_with(
        None,
        &clock,
        Capabilities {
            namespaces: false,
            directory: false,
        },
        (80, 24),
    );
    assert_eq!(model.screen, Screen::Accounts, "one implicit namespace");
    assert!(matches!(&effects[0], Effect::LoadPage { query, .. } if query.filter.is_none()));
    update(&mut model, key('a'), clock.now);
    update(&mut model, ctrl('t'), clock.now);
    let effects = type_text(&mut model, "alice", clock.now);
    assert!(effects.is_empty());
    assert_eq!(model.next_deadline(), None, "no search without a directory");
    let effects = update(&mut model, ctrl('s'), clock.now);
    let [Effect::Create { account, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(account.user_id.as_deref(), Some("alice"));
    assert_eq!(account.namespace_id, None);
}

#[test]
fn delete_confirms_then_reloads() {
    let clock = Clock::new();
    let mut model = on_accounts(3, &clock);
    update(&mut model, key('j'), clock.now);
    update(&mut model, key('d'), clock.now);
    assert!(matches!(&model.overlay, Some(Overlay::Confirm(_))));
    assert!(update(&mut model, key('n'), clock.now).is_empty());
    assert!(model.overlay.is_none(), "n keeps the account");
    update(&mut model, key('d'), clock.now);
    let effects = update(&mut model, key('y'), clock.now);
    let [Effect::Delete { seq, id }] = effects.as_slice() else {
        panic!()
    };
    assert_eq!(id, &account(1, "ns-platform").id);
    let effects = update(
        &mut model,
        Msg::Deleted {
            seq: *seq,
            result: Ok(()),
        },
        clock.now,
    );
    assert!(matches!(effects.as_slice(), [Effect::LoadPage { .. }]));
    assert!(matches!(&model.status, Status::Info(t) if t.contains("svc-001")));
    assert_eq!(model.accounts.cursor, 1, "a refresh keeps the place");
}

#[test]
fn a_dead_server_shows_in_the_status_line_and_r_retries() {
    let clock = Clock::new();
    let mut model = sacon::tui::Model::new(
        "http://127.0.0.1:9".into(),
        None,
        sacon::tui::theme::Theme::plain(),
        clock.now.wall,
    );
    let [Effect::Boot { seq }] = sacon::tui::init(&mut model)[..] else {
        panic!()
    };
    update(
        &mut model,
        Msg::Booted {
            seq,
            result: Err(ConnectError::new(
                Code::Unavailable,
                "cannot reach http://127.0.0.1:9: connection refused",
            )),
        },
        clock.now,
    );
    assert!(
        matches!(&model.status, Status::Error { retry: true, text } if text.contains("connection refused"))
    );
    // Keys keep working: help opens and closes.
    update(&mut model, key('?'), clock.now);
    assert!(model.help.is_some());
    update(&mut model, code(KeyCode::Esc), clock.now);
    let effects = update(&mut model, key('R'), clock.now);
    assert!(matches!(effects.as_slice(), [Effect::Boot { .. }]));
}

#[test]
fn quitting_keys() {
    let clock = Clock::new();
    let mut model = on_accounts(1, &clock);
    update(&mut model, key('a'), clock.now);
    update(&mut model, key('q'), clock.now);
    assert!(!model.quit, "q types into the form");
    assert_eq!(sacon::tui::screens::field_text(&form(&model).user), "q");
    update(&mut model, ctrl('c'), clock.now);
    assert!(model.quit, "Ctrl-C quits from anywhere");

    let mut model = on_accounts(1, &clock);
    update(&mut model, key('q'), clock.now);
    assert!(model.quit);
}

#[test]
fn help_filters_as_you_type() {
    let clock = Clock::new();
    let mut model = on_accounts(1, &clock);
    update(&mut model, key('?'), clock.now);
    let all = model.help.as_ref().unwrap().lines().len();
    type_text(&mut model, "rotate", clock.now);
    let lines = model.help.as_ref().unwrap().lines();
    assert!(lines.len() < all);
    assert!(
        lines
            .iter()
            .filter(|l| !l.0)
            .all(|l| l.2.contains("rotate"))
    );
    update(&mut model, code(KeyCode::Esc), clock.now);
    assert!(model.help.is_none());
    assert!(!model.quit);
}

#[test]
fn edit_sends_description_and_expiry_with_a_mask() {
    let clock = Clock::new();
    let mut model = on_accounts(1, &clock);
    update(&mut model, key('e'), clock.now);
    assert_eq!(form(&model).focus, Field::Description);
    type_text(&mut model, " (edited)", clock.now);
    let effects = update(&mut model, ctrl('s'), clock.now);
    let [Effect::Update { account, mask, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(mask, &vec!["description"], "expiry unchanged");
    assert_eq!(
        account.description.as_deref(),
        Some("account number 0 for the nightly job (edited)")
    );
    // Choosing Never clears the expiry.
    let mut model = on_accounts(1, &clock);
    update(&mut model, key('e'), clock.now);
    update(&mut model, code(KeyCode::Tab), clock.now);
    update(&mut model, code(KeyCode::Right), clock.now);
    let effects = update(&mut model, ctrl('s'), clock.now);
    let [Effect::Update { account, mask, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(mask, &vec!["description", "expires_at"]);
    assert_eq!(account.expires_at, None);
}

#[test]
fn the_rotate_question_offers_a_grace_period_for_the_old_token() {
    let clock = Clock::new();
    let mut model = on_accounts(3, &clock);
    update(&mut model, key('r'), clock.now);
    // → steps through the presets, ← steps back and wraps.
    update(&mut model, code(KeyCode::Right), clock.now);
    update(&mut model, code(KeyCode::Right), clock.now);
    update(&mut model, code(KeyCode::Left), clock.now);
    let effects = update(&mut model, key('y'), clock.now);
    let [Effect::Rotate { grace, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(*grace, Some(std::time::Duration::from_secs(300)));
    // While the rotation is in flight the choice cannot change.
    update(&mut model, code(KeyCode::Right), clock.now);
    let Some(Overlay::Confirm(c)) = &model.overlay else {
        panic!("the question stays until the server answers")
    };
    assert_eq!(c.grace(), Some(std::time::Duration::from_secs(300)));
}

#[test]
fn a_long_scroll_keeps_the_row_lookups_bounded() {
    use sacon::tui::screens::accounts::LOOKUPS_KEPT;
    let clock = Clock::new();
    let (mut model, mut effects) = booted(Some("ns-platform"), &clock);
    let total = 20_000usize;
    for _ in 0..400 {
        let mut next = Vec::new();
        for e in effects {
            match e {
                Effect::LoadPage {
                    generation,
                    page,
                    query,
                } => {
                    let rows = (0..PAGE as usize)
                        .map(|i| account(query.offset as usize + i, "ns-platform"))
                        .collect();
                    next.extend(update(
                        &mut model,
                        Msg::Page {
                            generation,
                            page,
                            result: Ok((rows, total as u64)),
                        },
                        clock.now,
                    ));
                }
                Effect::LookupKinds { user_ids } => {
                    let kinds = user_ids.into_iter().map(|id| (id, Some(false))).collect();
                    update(&mut model, Msg::Kinds(kinds), clock.now);
                }
                _ => {}
            }
        }
        next.extend(update(&mut model, code(KeyCode::PageDown), clock.now));
        effects = next;
    }
    assert!(
        model.accounts.cursor > 5_000,
        "scrolled far: {}",
        model.accounts.cursor
    );
    assert!(
        model.kinds.len() <= LOOKUPS_KEPT + PAGE as usize,
        "{} kinds kept",
        model.kinds.len()
    );
}
