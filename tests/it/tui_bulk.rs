//! Marks and bulk changes on the account list (Space, `*`, `u`; `d`/`D` then act on every marked account after
//! one question that names how many and lists them), the sort chooser (`s` then a column's key), and the text
//! filter that applies as it is typed on a line of its own.

use crate::support::tui::*;
use crossterm::event::KeyCode;
use sacon::api::{Code, ConnectError};
use sacon::model::ServiceAccount;
use sacon::tui::msg::{Effect, Msg};
use sacon::tui::screens::accounts::{FILTER_DEBOUNCE, MAX_MARKS};
use sacon::tui::screens::bulk::BulkAction;
use sacon::tui::state::Overlay;
use sacon::tui::update;

fn bulk_effect(effects: &[Effect]) -> (u64, BulkAction, Vec<String>) {
    match effects {
        [Effect::Bulk { seq, action, ids }] => (*seq, *action, ids.clone()),
        other => panic!("expected one bulk request, got {other:?}"),
    }
}

#[test]
fn three_marked_accounts_are_deleted_after_one_question() {
    let clock = Clock::new();
    let mut model = on_accounts(12, &clock);
    // Space marks and moves down: rows 0, 1, then skip 2, mark 3.
    update(&mut model, key(' '), clock.now);
    update(&mut model, key(' '), clock.now);
    update(&mut model, code(KeyCode::Down), clock.now);
    update(&mut model, key(' '), clock.now);
    assert_eq!(model.accounts.marked.len(), 3);
    assert_eq!(model.accounts.cursor, 4);
    let screen = screen_text(&mut model, 80, 24);
    assert!(screen.contains("· 3 marked"), "{screen}");
    let marked_rows: Vec<&str> = screen.lines().filter(|l| l.starts_with('*')).collect();
    assert_eq!(marked_rows.len(), 3, "{screen}");
    assert!(marked_rows[2].contains("svc-003"), "{screen}");

    // d asks once, naming how many and listing them.
    assert!(update(&mut model, key('d'), clock.now).is_empty());
    let screen = screen_text(&mut model, 80, 24);
    assert!(screen.contains("Delete 3 accounts"), "{screen}");
    assert!(screen.contains("Delete these 3 accounts?"), "{screen}");
    for id in ["svc-000", "svc-001", "svc-003"] {
        assert!(screen.contains(id), "{id} listed:\n{screen}");
    }
    assert_eq!(
        screen.matches("• svc-").count(),
        3,
        "only the marked:\n{screen}"
    );
    let (seq, action, ids) = bulk_effect(&update(&mut model, key('y'), clock.now));
    assert_eq!(action, BulkAction::Delete);
    assert_eq!(ids.len(), 3);
    // A second y while it works sends nothing more.
    assert!(update(&mut model, key('y'), clock.now).is_empty());
    // One is refused: it stays marked and the status names it.
    let refused = ids[1].clone();
    let results = ids
        .iter()
        .map(|id| {
            let r = if *id == refused {
                Err(ConnectError::new(Code::PermissionDenied, "no role here"))
            } else {
                Ok(())
            };
            (id.clone(), r)
        })
        .collect();
    let effects = update(&mut model, Msg::BulkDone { seq, results }, clock.now);
    assert!(model.overlay.is_none());
    assert!(
        effects.iter().any(|e| matches!(e, Effect::LoadPage { .. })),
        "the list reloads"
    );
    assert_eq!(
        model.accounts.marked.keys().cloned().collect::<Vec<_>>(),
        vec![refused.clone()]
    );
    let screen = screen_text(&mut model, 120, 24);
    assert!(screen.contains("deleted 2 of 3; 1 refused"), "{screen}");
    assert!(screen.contains(&refused), "{screen}");
}

#[test]
fn marked_disabled_accounts_are_enabled_and_others_disabled() {
    let clock = Clock::new();
    let (mut model, effects) = booted(Some("ns-platform"), &clock);
    let all: Vec<ServiceAccount> = (0..4)
        .map(|i| {
            let mut a = account(i, "ns-platform");
            a.disabled = i < 2;
            a
        })
        .collect();
    answer_pages(&mut model, effects, &all, clock.now);
    // Both disabled ones marked: D enables them.
    update(&mut model, key(' '), clock.now);
    update(&mut model, key(' '), clock.now);
    update(&mut model, key('D'), clock.now);
    assert!(screen_text(&mut model, 80, 24).contains("Enable these 2 accounts?"));
    let (_, action, ids) = bulk_effect(&update(&mut model, key('y'), clock.now));
    assert_eq!(action, BulkAction::Enable);
    assert_eq!(ids, vec![all[0].id.clone(), all[1].id.clone()]);

    // With an enabled one among the marks, D disables only the enabled.
    let mut model = {
        let (mut m, effects) = booted(Some("ns-platform"), &clock);
        answer_pages(&mut m, effects, &all, clock.now);
        m
    };
    update(&mut model, code(KeyCode::Down), clock.now);
    update(&mut model, key(' '), clock.now);
    update(&mut model, key(' '), clock.now);
    update(&mut model, key('D'), clock.now);
    let screen = screen_text(&mut model, 80, 24);
    assert!(screen.contains("Disable 1 account"), "{screen}");
    // n cancels: nothing sent, marks kept.
    assert!(update(&mut model, key('n'), clock.now).is_empty());
    assert!(model.overlay.is_none());
    assert_eq!(model.accounts.marked.len(), 2);
    // u forgets them.
    update(&mut model, key('u'), clock.now);
    assert!(model.accounts.marked.is_empty());
    // Without marks, d is the single delete question again.
    update(&mut model, key('d'), clock.now);
    assert!(matches!(model.overlay, Some(Overlay::Confirm(_))));
}

#[test]
fn mark_all_marks_what_the_filters_show() {
    let clock = Clock::new();
    // Everything in memory: marked at once, and `*` again unmarks.
    let mut model = on_accounts(12, &clock);
    assert!(update(&mut model, key('*'), clock.now).is_empty());
    assert_eq!(model.accounts.marked.len(), 12);
    update(&mut model, key('*'), clock.now);
    assert!(model.accounts.marked.is_empty());

    // More rows than are loaded: the matches are asked for, up to the cap, with the list's filter.
    let (mut model, effects) = booted(Some("ns-platform"), &clock);
    let all: Vec<ServiceAccount> = (0..1500).map(|i| account(i, "ns-platform")).collect();
    answer_pages(&mut model, effects, &all, clock.now);
    let effects = update(&mut model, key('1'), clock.now);
    answer_pages(&mut model, effects, &all, clock.now);
    let effects = update(&mut model, key('*'), clock.now);
    let (generation, query) = match effects.as_slice() {
        [Effect::LoadMarks { generation, query }] => (*generation, query.clone()),
        other => panic!("{other:?}"),
    };
    assert_eq!(query.limit, Some(MAX_MARKS));
    assert!(
        query
            .filter
            .as_ref()
            .unwrap()
            .to_string()
            .contains("expires_at"),
        "the state filter applies: {query:?}"
    );
    // (The list reloaded for `1`; answer the marks for the generation asked.)
    let rows = all[..MAX_MARKS as usize].to_vec();
    update(
        &mut model,
        Msg::Marked {
            generation,
            result: Ok((rows, 1500)),
        },
        clock.now,
    );
    assert_eq!(model.accounts.marked.len(), MAX_MARKS as usize);
    let screen = screen_text(&mut model, 100, 24);
    assert!(screen.contains("marked the first 1000 of 1500"), "{screen}");
}

#[test]
fn s_then_a_column_key_sorts_by_it_and_again_reverses() {
    let clock = Clock::new();
    let mut model = on_accounts(3, &clock);
    assert!(update(&mut model, key('s'), clock.now).is_empty());
    let chooser = screen_text(&mut model, 80, 24);
    for label in [
        "Sort by",
        "User ID",
        "Description",
        "Created",
        "Expires",
        "Last used",
    ] {
        assert!(chooser.contains(label), "{label}:\n{chooser}");
    }
    let order = |effects: &[Effect]| match effects.first() {
        Some(Effect::LoadPage { query, .. }) => query.order_by.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        order(&update(&mut model, key('e'), clock.now)),
        "expires_at"
    );
    assert!(model.overlay.is_none(), "the chooser closes");
    update(&mut model, key('s'), clock.now);
    assert_eq!(
        order(&update(&mut model, key('e'), clock.now)),
        "-expires_at"
    );
    // Times start newest first; ↓ and Enter choose too.
    update(&mut model, key('s'), clock.now);
    assert_eq!(
        order(&update(&mut model, key('l'), clock.now)),
        "-accessed_at"
    );
    update(&mut model, key('s'), clock.now);
    update(&mut model, code(KeyCode::Up), clock.now);
    assert_eq!(
        order(&update(&mut model, code(KeyCode::Enter), clock.now)),
        "expires_at"
    );
    // Esc closes without a request.
    update(&mut model, key('s'), clock.now);
    assert!(update(&mut model, code(KeyCode::Esc), clock.now).is_empty());
    assert!(model.overlay.is_none());
}

#[test]
fn the_filter_applies_as_typed_on_its_own_line() {
    let mut clock = Clock::new();
    let mut model = on_accounts(12, &clock);
    update(&mut model, key('/'), clock.now);
    // Typing sends nothing until the typing pauses.
    assert!(type_text(&mut model, "svc-00", clock.now).is_empty());
    assert_eq!(
        model.next_deadline(),
        Some(clock.now.mono + FILTER_DEBOUNCE)
    );
    let screen = screen_text(&mut model, 80, 24);
    let lines: Vec<&str> = screen.lines().collect();
    assert!(
        lines[1].starts_with("Accounts"),
        "the title keeps its line:\n{screen}"
    );
    assert!(
        lines[2].starts_with("/ svc-00"),
        "the prompt has its own:\n{screen}"
    );
    assert!(
        lines[1].contains("2/12") || lines[1].contains("/12"),
        "{screen}"
    );
    let early = clock.advance(50);
    assert!(update(&mut model, Msg::Tick, early).is_empty(), "not yet");
    let due = clock.advance(200);
    let effects = update(&mut model, Msg::Tick, due);
    let Some(Effect::LoadPage { query, .. }) = effects.first() else {
        panic!("{effects:?}")
    };
    assert!(
        query
            .filter
            .as_ref()
            .unwrap()
            .to_string()
            .contains("svc-00")
    );
    assert!(model.accounts.filter_input.is_some(), "the line stays open");
    // Enter with nothing new keeps the list and closes the line; Esc later clears it.
    assert!(
        !update(&mut model, code(KeyCode::Enter), due)
            .iter()
            .any(|e| matches!(e, Effect::LoadPage { page: 0, .. })),
        "applied already"
    );
    assert!(model.accounts.filter_input.is_none());
    assert_eq!(model.accounts.filter, "svc-00");
    update(&mut model, key('/'), due);
    update(&mut model, ctrl('u'), due);
    let later = clock.advance(FILTER_DEBOUNCE.as_millis() as u64 + 1);
    let effects = update(&mut model, Msg::Tick, later);
    assert!(
        matches!(effects.first(), Some(Effect::LoadPage { query, .. }) if !query.filter.as_ref().unwrap().to_string().contains("svc-00")),
        "Ctrl-U cleared it: {effects:?}"
    );
}

#[test]
fn help_lists_the_text_editing_keys() {
    let clock = Clock::new();
    let mut model = on_accounts(3, &clock);
    update(&mut model, key('?'), clock.now);
    type_text(&mut model, "word", clock.now);
    let screen = screen_text(&mut model, 100, 30);
    assert!(screen.contains("Text fields"), "{screen}");
    assert!(screen.contains("Ctrl-W"), "{screen}");
    assert!(
        screen.contains("delete the word before the cursor"),
        "{screen}"
    );
}

/// `screen_text` at 80×24 and 40×12, joined for one snapshot.
fn both(make: impl Fn() -> sacon::tui::Model) -> String {
    [(80u16, 24u16), (40, 12)]
        .iter()
        .map(|(w, h)| format!("{w}x{h}\n{}", screen_text(&mut make(), *w, *h)))
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[test]
fn snapshots_of_marks_the_bulk_question_the_sort_chooser_and_the_filter_line() {
    let clock = Clock::new();
    let marked = || {
        let mut m = on_accounts(12, &clock);
        for k in [' ', ' ', 'j', ' '] {
            update(&mut m, key(k), clock.now);
        }
        m
    };
    let shot = both(marked);
    assert!(shot.contains("3 marked"), "{shot}");
    insta::assert_snapshot!("bulk_marked", shot);
    let shot = both(|| {
        let mut m = marked();
        update(&mut m, key('d'), clock.now);
        m
    });
    assert!(shot.contains("Delete 3 accounts"), "{shot}");
    insta::assert_snapshot!("bulk_delete_question", shot);
    let shot = both(|| {
        let mut m = on_accounts(12, &clock);
        update(&mut m, key('s'), clock.now);
        m
    });
    assert!(shot.contains("Sort by"), "{shot}");
    insta::assert_snapshot!("sort_chooser", shot);
    let shot = both(|| {
        let mut m = on_accounts(12, &clock);
        update(&mut m, key('/'), clock.now);
        type_text(&mut m, "svc-01", clock.now);
        m
    });
    assert!(shot.contains("/ svc-01"), "{shot}");
    insta::assert_snapshot!("filter_line", shot);
}
