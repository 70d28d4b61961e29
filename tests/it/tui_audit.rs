//! Audits from the account list: the state filters (1–7, 0) become server-side conditions that combine with
//! each other and the text filter, `t` lists the whole subtree with a namespace column, the title shows the
//! position and a scrollbar the rest, and an impersonated account names its person; the detail shows when the
//! token was issued and the grace of the old one.

use crate::support::tui::*;
use crossterm::event::KeyCode;
use sacon::filter::{Expr, Field};
use sacon::model::ServiceAccount;
use sacon::tui::msg::{Effect, Msg};
use sacon::tui::{Model, update};
use serde_json::Value;

/// The filter of the (single) first-page request in `effects`.
fn first_filter(effects: &[Effect]) -> Value {
    let queries: Vec<_> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::LoadPage { page: 0, query, .. } => Some(query.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(queries.len(), 1, "{effects:?}");
    assert_eq!(queries[0].offset, 0, "a new filter starts at the top");
    queries[0].filter.clone().expect("a filter")
}

fn platform() -> Expr {
    Expr::field(Field::NamespaceId).eq("ns-platform")
}

#[test]
fn each_state_key_sends_its_condition() {
    let clock = Clock::new();
    let now = clock.now.wall;
    let days = chrono::Duration::days;
    let expires = || Expr::field(Field::ExpiresAt);
    let cases = [
        ('1', expires().on_or_before(now)),
        (
            '2',
            Expr::and([expires().after(now), expires().on_or_before(now + days(7))]),
        ),
        (
            '3',
            Expr::and([expires().after(now), expires().on_or_before(now + days(30))]),
        ),
        ('4', expires().is_empty()),
        (
            '5',
            Expr::or([
                Expr::field(Field::AccessedAt).on_or_before(now - days(90)),
                Expr::and([
                    Expr::field(Field::AccessedAt).is_empty(),
                    Expr::field(Field::CreatedAt).on_or_before(now - days(90)),
                ]),
            ]),
        ),
        ('6', Expr::field(Field::AccessedAt).is_empty()),
        ('7', Expr::field(Field::Disabled).eq(true)),
    ];
    for (k, expected) in cases {
        let mut model = on_accounts(3, &clock);
        let effects = update(&mut model, key(k), clock.now);
        assert_eq!(
            first_filter(&effects),
            Expr::and([platform(), expected]).to_json(),
            "key {k}"
        );
        // The same key again turns it off.
        let effects = update(&mut model, key(k), clock.now);
        assert_eq!(first_filter(&effects), platform().to_json(), "key {k} off");
    }
}

#[test]
fn states_combine_one_per_group_and_with_the_text_filter() {
    let clock = Clock::new();
    let now = clock.now.wall;
    let mut model = on_accounts(3, &clock);
    update(&mut model, key('1'), clock.now);
    // 3 replaces 1 (both expiry states); 6 and 7 add to it.
    update(&mut model, key('3'), clock.now);
    update(&mut model, key('6'), clock.now);
    update(&mut model, key('7'), clock.now);
    update(&mut model, key('/'), clock.now);
    type_text(&mut model, "bot", clock.now);
    let effects = update(&mut model, code(KeyCode::Enter), clock.now);
    let expires = || Expr::field(Field::ExpiresAt);
    let text = Expr::or(
        [Field::UserId, Field::Description, Field::Id].map(|f| Expr::field(f).contains("bot")),
    );
    let expected = Expr::and([
        platform(),
        text,
        Expr::and([
            expires().after(now),
            expires().on_or_before(now + chrono::Duration::days(30)),
        ]),
        Expr::field(Field::AccessedAt).is_empty(),
        Expr::field(Field::Disabled).eq(true),
    ]);
    assert_eq!(first_filter(&effects), expected.to_json());
    let screen = screen_text(&mut model, 100, 24);
    let title = screen.lines().nth(1).unwrap();
    assert!(
        title.contains("expiring ≤30d + never used + disabled"),
        "{title}"
    );
    assert!(title.contains("filter “bot”"), "{title}");
    // 0 clears the states and keeps the text filter.
    let effects = update(&mut model, key('0'), clock.now);
    let only_text = Expr::and([
        platform(),
        Expr::or(
            [Field::UserId, Field::Description, Field::Id].map(|f| Expr::field(f).contains("bot")),
        ),
    ]);
    assert_eq!(first_filter(&effects), only_text.to_json());
    assert!(
        update(&mut model, key('0'), clock.now).is_empty(),
        "nothing to clear"
    );
}

/// A model on Engineering with `t` pressed and accounts from its three namespaces answered.
fn on_subtree(clock: &Clock) -> (Model, Vec<Effect>) {
    let (mut model, effects) = booted(Some("ns-eng"), clock);
    answer_pages(&mut model, effects, &[account(0, "ns-eng")], clock.now);
    let effects = update(&mut model, key('t'), clock.now);
    (model, effects)
}

fn subtree_accounts() -> Vec<ServiceAccount> {
    ["ns-eng", "ns-platform", "ns-data", "ns-platform", "ns-data"]
        .iter()
        .enumerate()
        .map(|(i, ns)| account(i, ns))
        .collect()
}

#[test]
fn t_lists_the_whole_subtree_with_its_namespaces() {
    let clock = Clock::new();
    let (mut model, effects) = on_subtree(&clock);
    assert_eq!(
        first_filter(&effects),
        Expr::field(Field::NamespaceId)
            .is_any_of(["ns-eng", "ns-data", "ns-platform"])
            .to_json()
    );
    answer_pages(&mut model, effects, &subtree_accounts(), clock.now);
    let screen = screen_text(&mut model, 80, 24);
    assert!(screen.contains("Accounts +subtree"), "{screen}");
    assert!(screen.contains("Namespace"), "the column:\n{screen}");
    let row = |needle: &str| screen.lines().find(|l| l.contains(needle)).unwrap();
    assert!(row("svc-001").contains("Platform"), "{screen}");
    assert!(row("svc-002").contains("Data"), "{screen}");
    assert!(row("svc-000").contains("here"), "{screen}");
    // i and t exclude each other; t again is back to the namespace alone.
    let effects = update(&mut model, key('i'), clock.now);
    assert!(!model.accounts.subtree && model.accounts.inherited);
    assert_eq!(
        first_filter(&effects),
        Expr::field(Field::NamespaceId)
            .is_any_of(["ns-eng", "ns-global"])
            .to_json()
    );
    update(&mut model, key('t'), clock.now);
    let effects = update(&mut model, key('t'), clock.now);
    assert_eq!(
        first_filter(&effects),
        Expr::field(Field::NamespaceId).eq("ns-eng").to_json()
    );
}

#[test]
fn the_title_shows_the_position_and_a_scrollbar_the_rest() {
    let clock = Clock::new();
    let mut model = on_accounts(40, &clock);
    for _ in 0..11 {
        update(&mut model, key('j'), clock.now);
    }
    let screen = screen_text(&mut model, 80, 24);
    let title = screen.lines().nth(1).unwrap();
    assert!(title.ends_with("12/40"), "{title}");
    assert!(screen.contains('█'), "a scrollbar thumb:\n{screen}");
    let small = screen_text(&mut model, 40, 12);
    assert!(small.lines().nth(1).unwrap().ends_with("12/40"), "{small}");
    // All rows on screen: no scrollbar.
    let mut few = on_accounts(3, &clock);
    let screen = screen_text(&mut few, 80, 24);
    assert!(screen.lines().nth(1).unwrap().ends_with("1/3"), "{screen}");
    assert!(!screen.contains('█') && !screen.contains('│'), "{screen}");
}

#[test]
fn an_impersonated_account_names_its_person() {
    let clock = Clock::new();
    let mut model = on_detail(account_history("svc-001"), &clock);
    update(
        &mut model,
        Msg::People(vec![user("svc-001", "Ann Example\u{1b}[31m")]),
        clock.now,
    );
    let screen = screen_text(&mut model, 80, 24);
    assert!(
        screen.contains("Acts as      Ann Example[31m <svc-001@example.com>"),
        "sanitized:\n{screen}"
    );
    assert!(!screen.contains('\u{1b}'));
    assert!(
        screen.contains("Token issued 2026-"),
        "from the history:\n{screen}"
    );
    assert!(screen.contains("reissued"), "{screen}");
    update(&mut model, code(KeyCode::Esc), clock.now);
    let wide = screen_text(&mut model, 120, 24);
    let row = wide.lines().find(|l| l.contains("svc-001")).unwrap();
    assert!(row.contains("Ann Example"), "{wide}");
    let narrow = screen_text(&mut model, 80, 24);
    let row = narrow.lines().find(|l| l.contains("svc-001")).unwrap();
    assert!(row.contains("impers."), "{narrow}");
}

#[test]
fn the_detail_counts_down_the_grace_of_the_old_token() {
    let clock = Clock::new();
    let until = (wall() + chrono::Duration::hours(3)).to_rfc3339();
    let history = vec![change(
        950,
        "rotate",
        "local:bob",
        "svc-001",
        serde_json::json!({ "graceUntil": until }),
    )];
    let mut model = on_detail(history, &clock);
    let screen = screen_text(&mut model, 80, 24);
    assert!(
        screen.contains("Grace        the old token works until 2026-06-01 15:00 UTC (ends in 3h)"),
        "{screen}"
    );
}

#[test]
fn snapshots_of_a_filtered_list_and_the_subtree() {
    let clock = Clock::new();
    let filtered = || {
        let mut model = on_accounts(12, &clock);
        let effects = update(&mut model, key('1'), clock.now);
        let expired: Vec<_> = (0..12)
            .map(|i| account(i, "ns-platform"))
            .filter(|a| a.is_expired(wall()))
            .collect();
        answer_pages(&mut model, effects, &expired, clock.now);
        model
    };
    let subtree = || {
        let (mut model, effects) = on_subtree(&clock);
        for e in answer_pages(&mut model, effects, &subtree_accounts(), clock.now) {
            if let Effect::LookupKinds { user_ids } = e {
                let kinds = user_ids.into_iter().map(|id| (id, Some(false))).collect();
                update(&mut model, Msg::Kinds(kinds), clock.now);
            }
        }
        model
    };
    for (name, make) in [
        ("audit_filtered", &filtered as &dyn Fn() -> Model),
        ("audit_subtree", &subtree),
    ] {
        let shots: Vec<String> = [(80, 24), (40, 12)]
            .into_iter()
            .map(|(w, h)| format!("{w}x{h}\n{}", screen_text(&mut make(), w, h)))
            .collect();
        insta::assert_snapshot!(name, shots.join("\n\n"));
    }
}
