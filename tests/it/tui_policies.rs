//! The console's access step (issue 11), driven through `update` with the server's answers played back: the
//! policies screen (`p`) with its routes, allowed users and dangling entries; the builder with the lookahead
//! and the PPL it shows and saves; the token view's "grant access" (`g`) that never loses the token; what an
//! account reaches in its detail and the no-grant mark in the list; and the delete question's offer to take a
//! deleted account's user id out of the policies naming it.

use std::collections::HashMap;

use crate::support::tui::*;
use crossterm::event::KeyCode;
use sacon::api::{Code, ConnectError, wire};
use sacon::tui::msg::{Effect, Msg};
use sacon::tui::screens::add_modal::DEBOUNCE;
use sacon::tui::screens::policies::AccessData;
use sacon::tui::state::{Overlay, Screen};
use sacon::tui::{Model, update};

fn policy(id: &str, name: &str, users: &[&str], routes: &[(&str, &str)]) -> wire::Policy {
    wire::Policy {
        id: id.into(),
        name: name.into(),
        namespace_id: "ns-platform".into(),
        allowed_users: users.iter().map(|u| u.to_string()).collect(),
        routes: routes
            .iter()
            .map(|(i, n)| (i.to_string(), n.to_string()))
            .collect::<HashMap<_, _>>(),
        ..Default::default()
    }
}

fn route(id: &str, name: &str, ns: &str, from: &str) -> wire::Route {
    wire::Route {
        id: id.into(),
        name: name.into(),
        namespace_id: ns.into(),
        from: from.into(),
        ..Default::default()
    }
}

fn data() -> AccessData {
    let mut enforced = policy("pol-audit", "audit-all", &[], &[]);
    enforced.enforced = true;
    enforced.ppl = r#"{"allow":{"or":[{"groups":{"has":"auditors"}}]}}"#.into();
    AccessData {
        policies: vec![
            enforced,
            policy(
                "pol-reports",
                "reports-readers",
                &["svc-001", "gone-bot"],
                &[("rt-reports", "reports")],
            ),
        ],
        routes: vec![
            route(
                "rt-reports",
                "reports",
                "ns-platform",
                "https://reports.example.com",
            ),
            route(
                "rt-billing",
                "billing",
                "ns-fin",
                "https://billing.example.com",
            ),
        ],
        dangling: vec![wire::Dangling {
            policy_id: "pol-reports".into(),
            policy_name: "reports-readers".into(),
            namespace_id: "ns-platform".into(),
            user: "gone-bot".into(),
            kind: "deleted_account".into(),
            ..Default::default()
        }],
    }
}

/// The one `LoadAccess` in `effects`: its sequence and namespace.
fn load_access(effects: &[Effect]) -> (u64, String) {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::LoadAccess { seq, namespace_id } => Some((*seq, namespace_id.clone())),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no LoadAccess in {effects:?}"))
}

fn on_policies(clock: &Clock) -> Model {
    let mut model = on_accounts(3, clock);
    let (seq, ns) = load_access(&update(&mut model, key('p'), clock.now));
    assert_eq!(ns, "ns-platform");
    assert_eq!(model.screen, Screen::Policies);
    update(
        &mut model,
        Msg::Access {
            seq,
            result: Ok(data()),
        },
        clock.now,
    );
    model
}

#[test]
fn the_policies_screen_lists_what_each_policy_allows_and_guards() {
    let clock = Clock::new();
    let mut model = on_policies(&clock);
    let screen = screen_text(&mut model, 100, 24);
    assert!(
        screen.contains("Policies of Global › Engineering › Platform · 2"),
        "{screen}"
    );
    let audit = screen.lines().find(|l| l.contains("audit-all")).unwrap();
    assert!(audit.contains('⚑'), "enforced is marked: {audit}");
    let reports = screen
        .lines()
        .find(|l| l.contains("reports-readers"))
        .unwrap();
    assert!(
        reports.contains("svc-001") && reports.contains("reports"),
        "{reports}"
    );
    assert!(
        reports.contains("⚠ 1"),
        "the dangling entry is counted: {reports}"
    );
    // The selected policy in full: the enforced one guards every route below.
    assert!(
        screen.contains("every route here and below (enforced)"),
        "{screen}"
    );
    update(&mut model, code(KeyCode::Down), clock.now);
    let screen = screen_text(&mut model, 100, 24);
    assert!(screen.contains("gone-bot ⚠ deleted account"), "{screen}");
    let both = [(80u16, 24u16), (40, 12)]
        .iter()
        .map(|(w, h)| format!("{w}x{h}\n{}", screen_text(&mut model, *w, *h)))
        .collect::<Vec<_>>()
        .join("\n\n");
    insta::assert_snapshot!("policies_screen", both);
    // Esc goes back to the account list, which asks again (what accounts reach may have changed).
    let effects = update(&mut model, code(KeyCode::Esc), clock.now);
    assert_eq!(model.screen, Screen::Accounts);
    assert!(effects.iter().any(|e| matches!(e, Effect::LoadPage { .. })));
}

#[test]
fn the_builder_finds_users_shows_the_ppl_and_saves_lists_and_groups() {
    let mut clock = Clock::new();
    let mut model = on_policies(&clock);
    update(&mut model, key('a'), clock.now);
    assert!(matches!(model.overlay, Some(Overlay::PolicyForm(_))));
    type_text(&mut model, "readers", clock.now);
    update(&mut model, code(KeyCode::Tab), clock.now);
    update(&mut model, code(KeyCode::Tab), clock.now);
    // The user being typed is looked up once typing pauses.
    type_text(&mut model, "svc-001, car", clock.now);
    let t = clock.advance(DEBOUNCE.as_millis() as u64 + 5);
    let effects = update(&mut model, Msg::Tick, t);
    let Some(Effect::SearchUsers { seq, query }) = effects.first().cloned() else {
        panic!("{effects:?}")
    };
    assert_eq!(query, "car", "only the one being typed");
    update(
        &mut model,
        Msg::Search {
            seq,
            result: Ok((vec![user("u-4f2c9a", "Carol García")], 1)),
        },
        t,
    );
    let screen = screen_text(&mut model, 100, 30);
    assert!(
        screen.contains("Carol García <u-4f2c9a@example.com> · u-4f2c9a"),
        "{screen}"
    );
    update(&mut model, code(KeyCode::Enter), t);
    update(&mut model, code(KeyCode::Tab), t);
    type_text(&mut model, "@example.com", t);
    update(&mut model, code(KeyCode::Tab), t);
    type_text(&mut model, "sre", t);
    let screen = screen_text(&mut model, 100, 30);
    assert!(
        screen.contains(r#"{"user":{"is":"u-4f2c9a"}}"#),
        "the PPL shown:\n{screen}"
    );
    assert!(screen.contains(r#"{"groups":{"has":"sre"}}"#), "{screen}");
    insta::assert_snapshot!("policy_builder", screen);
    let effects = update(&mut model, ctrl('s'), t);
    let Some(Effect::SavePolicy {
        seq,
        policy,
        attach_route: None,
    }) = effects.first().cloned()
    else {
        panic!("{effects:?}")
    };
    assert_eq!(policy.name, "readers");
    assert_eq!(policy.namespace_id, "ns-platform");
    assert_eq!(policy.allowed_users, vec!["svc-001", "u-4f2c9a"]);
    assert_eq!(policy.allowed_domains, vec!["example.com"]);
    assert_eq!(policy.ppl, r#"{"allow":{"or":[{"groups":{"has":"sre"}}]}}"#);
    // Refused: the error stays in the builder, nothing is lost.
    update(
        &mut model,
        Msg::PolicyChanged {
            seq,
            result: Err(ConnectError::new(Code::InvalidArgument, "name taken")),
        },
        t,
    );
    assert!(screen_text(&mut model, 100, 30).contains("✗ name taken"));
    let effects = update(&mut model, ctrl('s'), t);
    let Some(Effect::SavePolicy { seq, .. }) = effects.first().cloned() else {
        panic!("{effects:?}")
    };
    let effects = update(
        &mut model,
        Msg::PolicyChanged {
            seq,
            result: Ok("created policy readers".into()),
        },
        t,
    );
    assert!(model.overlay.is_none());
    load_access(&effects);
}

#[test]
fn a_policy_the_builder_cannot_express_keeps_its_ppl() {
    let clock = Clock::new();
    let mut model = on_policies(&clock);
    let custom = r#"{"deny":{"or":[{"email":{"ends_with":"@evil.example"}}]}}"#;
    if let Some(p) = model.policies.data.loaded().cloned().map(|mut d| {
        d.policies[1].ppl = custom.into();
        d
    }) {
        model.policies.data = sacon::tui::state::Load::Loaded(p);
    }
    update(&mut model, code(KeyCode::Down), clock.now);
    update(&mut model, code(KeyCode::Enter), clock.now);
    let screen = screen_text(&mut model, 100, 30);
    assert!(screen.contains("(custom PPL, kept as it is)"), "{screen}");
    let effects = update(&mut model, ctrl('s'), clock.now);
    let Some(Effect::SavePolicy { policy, .. }) = effects.first().cloned() else {
        panic!("{effects:?}")
    };
    assert_eq!(policy.id, "pol-reports");
    assert_eq!(policy.ppl, custom);
    assert_eq!(policy.allowed_users, vec!["svc-001", "gone-bot"]);
}

#[test]
fn deleting_a_policy_is_asked_first() {
    let clock = Clock::new();
    let mut model = on_policies(&clock);
    update(&mut model, code(KeyCode::Down), clock.now);
    assert!(update(&mut model, key('d'), clock.now).is_empty());
    let screen = screen_text(&mut model, 100, 24);
    assert!(
        screen.contains("delete policy reports-readers and take it off its 1 route? y/n"),
        "{screen}"
    );
    assert!(update(&mut model, key('n'), clock.now).is_empty());
    update(&mut model, key('d'), clock.now);
    let effects = update(&mut model, key('y'), clock.now);
    assert!(matches!(
        effects.as_slice(),
        [Effect::DeletePolicy { id, .. }] if id == "pol-reports"
    ));
}

/// The token view of a new account in Platform.
fn token_view(clock: &Clock) -> Model {
    let mut model = on_accounts(1, clock);
    update(&mut model, key('r'), clock.now);
    let effects = update(&mut model, key('y'), clock.now);
    let [Effect::Rotate { seq, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    update(
        &mut model,
        Msg::Rotated {
            seq: *seq,
            result: Ok((account(0, "ns-platform"), token())),
        },
        clock.now,
    );
    model
}

#[test]
fn the_token_view_grants_access_without_losing_the_token() {
    let clock = Clock::new();
    let mut model = token_view(&clock);
    let (seq, ns) = load_access(&update(&mut model, key('g'), clock.now));
    assert_eq!(ns, "ns-platform");
    update(
        &mut model,
        Msg::Access {
            seq,
            result: Ok(data()),
        },
        clock.now,
    );
    let screen = screen_text(&mut model, 100, 30);
    assert!(screen.contains("Grant access to svc-000"), "{screen}");
    assert!(screen.contains("add to policy reports-readers"), "{screen}");
    assert!(screen.contains("new policy on route reports"), "{screen}");
    assert!(
        !screen.contains("billing"),
        "a route outside its subtree is no choice:\n{screen}"
    );
    insta::assert_snapshot!("grant_picker", screen);
    // The second policy: the user id is added to it.
    update(&mut model, code(KeyCode::Down), clock.now);
    let effects = update(&mut model, code(KeyCode::Enter), clock.now);
    let [
        Effect::GrantUser {
            seq,
            policy_id,
            user_id,
        },
    ] = effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    assert_eq!(
        (policy_id.as_str(), user_id.as_str()),
        ("pol-reports", "svc-000")
    );
    update(
        &mut model,
        Msg::PolicyChanged {
            seq: *seq,
            result: Ok("svc-000 may now use what policy reports-readers guards".into()),
        },
        clock.now,
    );
    let view = secret(&model);
    assert!(view.grant.is_none(), "back on the token");
    assert!(!view.kept(), "granting is not keeping the token");
    assert!(
        screen_text(&mut model, 100, 30).contains("may now use what policy reports-readers guards")
    );
    // A new policy on a route.
    let (seq, _) = load_access(&update(&mut model, key('g'), clock.now));
    update(
        &mut model,
        Msg::Access {
            seq,
            result: Ok(data()),
        },
        clock.now,
    );
    update(&mut model, key('G'), clock.now);
    update(&mut model, code(KeyCode::End), clock.now);
    for _ in 0..3 {
        update(&mut model, code(KeyCode::Down), clock.now);
    }
    let effects = update(&mut model, code(KeyCode::Enter), clock.now);
    let [
        Effect::SavePolicy {
            policy,
            attach_route: Some(route),
            ..
        },
    ] = effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    assert_eq!(route, "rt-reports");
    assert_eq!(policy.allowed_users, vec!["svc-000"]);
    assert_eq!(policy.name, "svc-000-access");
    // Esc in the picker goes back to the token, not away from it.
    let mut model = token_view(&clock);
    update(&mut model, key('g'), clock.now);
    update(&mut model, code(KeyCode::Esc), clock.now);
    assert!(secret(&model).grant.is_none());
}

fn reach(id: &str, routes: Vec<wire::Reach>) -> Msg {
    Msg::Reach {
        result: Some(vec![wire::AccountReach {
            service_account_id: id.into(),
            routes,
        }]),
        ids: vec![id.into()],
    }
}

#[test]
fn the_detail_says_what_the_account_reaches_and_the_list_marks_no_grant() {
    let clock = Clock::new();
    let mut model = on_accounts(3, &clock);
    let ids: Vec<String> = (0..3)
        .map(|i| model.accounts.get(i).unwrap().id.clone())
        .collect();
    let through = wire::Reach {
        route_id: "rt-reports".into(),
        route_name: "reports".into(),
        from: "https://reports.example.com".into(),
        allowed: true,
        policy_id: "pol-reports".into(),
        policy_name: "reports-readers".into(),
        ..Default::default()
    };
    let refused = wire::Reach {
        allowed: false,
        policy_id: String::new(),
        policy_name: String::new(),
        ..through.clone()
    };
    update(&mut model, reach(&ids[0], vec![through.clone()]), clock.now);
    update(&mut model, reach(&ids[1], vec![refused]), clock.now);
    update(&mut model, reach(&ids[2], Vec::new()), clock.now);
    let screen = screen_text(&mut model, 100, 24);
    let row = |user: &str| {
        screen
            .lines()
            .find(|l| l.contains(user))
            .unwrap()
            .to_string()
    };
    assert!(!row("svc-000").contains('◌'), "{screen}");
    assert!(
        row("svc-001").contains('◌'),
        "no policy lets it through:\n{screen}"
    );
    assert!(
        !row("svc-002").contains('◌'),
        "no route to use: nothing to flag"
    );
    assert!(
        screen.contains("◌ no grant"),
        "the legend names it:\n{screen}"
    );
    // The detail asks afresh and says through which policy.
    let effects = update(&mut model, code(KeyCode::Enter), clock.now);
    assert!(
        effects.iter().any(
            |e| matches!(e, Effect::LoadReach { ids: asked } if *asked == vec![ids[0].clone()])
        )
    );
    update(&mut model, reach(&ids[0], vec![through]), clock.now);
    let screen = screen_text(&mut model, 100, 30);
    assert!(
        screen.contains("reports (https://reports.example.com) via reports-readers"),
        "{screen}"
    );
}

#[test]
fn deleting_an_account_offers_to_take_it_out_of_its_policies() {
    let clock = Clock::new();
    let mut model = on_accounts(3, &clock);
    let effects = update(&mut model, key('d'), clock.now);
    let [Effect::LoadNaming { seq, user_id }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(user_id, "svc-000");
    update(
        &mut model,
        Msg::Naming {
            seq: *seq,
            result: Ok(vec!["reports-readers".into()]),
        },
        clock.now,
    );
    let screen = screen_text(&mut model, 100, 24);
    assert!(
        screen.contains("also take it out of reports-readers: yes"),
        "a unique id: on\n{screen}"
    );
    update(&mut model, key('p'), clock.now);
    assert!(screen_text(&mut model, 100, 24).contains("reports-readers: no"));
    update(&mut model, key('p'), clock.now);
    let effects = update(&mut model, key('y'), clock.now);
    let [Effect::Delete { seq, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    let effects = update(
        &mut model,
        Msg::Deleted {
            seq: *seq,
            result: Ok(()),
        },
        clock.now,
    );
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Unname { user_id } if user_id == "svc-000")),
        "{effects:?}"
    );
    update(
        &mut model,
        Msg::Unnamed {
            user_id: "svc-000".into(),
            result: Ok(vec!["reports-readers".into()]),
        },
        clock.now,
    );
    assert!(
        screen_text(&mut model, 120, 24).contains("took svc-000 out of 1 policy: reports-readers")
    );
}

#[test]
fn the_account_list_counts_dangling_policy_entries() {
    let clock = Clock::new();
    let mut model = on_accounts(3, &clock);
    update(
        &mut model,
        Msg::Dangling {
            namespace_id: "ns-platform".into(),
            count: Some(2),
        },
        clock.now,
    );
    let screen = screen_text(&mut model, 100, 24);
    assert!(screen.contains("⚠ 2 dangling in policies (p)"), "{screen}");
    // For another namespace, or none at all: nothing said.
    update(
        &mut model,
        Msg::Dangling {
            namespace_id: "ns-platform".into(),
            count: Some(0),
        },
        clock.now,
    );
    assert!(!screen_text(&mut model, 100, 24).contains("dangling"));
    // R asks again.
    let effects = update(&mut model, key('R'), clock.now);
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::LoadDangling { .. }))
    );
}

#[test]
fn a_viewer_sees_policies_but_changes_none() {
    let clock = Clock::new();
    let mut model = on_policies(&clock);
    model.read_only = true;
    assert!(update(&mut model, key('a'), clock.now).is_empty());
    assert!(model.overlay.is_none());
    let screen = screen_text(&mut model, 100, 24);
    let footer = screen.lines().last().unwrap();
    assert!(
        !footer.contains("a new") && footer.contains("back"),
        "{footer}"
    );
}

#[test]
fn lookups_nobody_answers_are_not_waited_for_and_failures_say_why() {
    let clock = Clock::new();
    let mut model = on_accounts(2, &clock);
    let id = model.accounts.get(0).unwrap().id.clone();
    // The server answered, but not for this account (gone meanwhile, or not the caller's).
    update(
        &mut model,
        Msg::Reach {
            result: Some(Vec::new()),
            ids: vec![id.clone()],
        },
        clock.now,
    );
    assert!(
        matches!(
            model.reach.get(&id),
            Some(sacon::tui::state::Load::Failed(_))
        ),
        "{:?}",
        model.reach.get(&id)
    );
    assert!(!screen_text(&mut model, 100, 24).contains('◌'));

    // The grant step names why it cannot offer anything.
    let mut model = token_view(&clock);
    let (seq, _) = load_access(&update(&mut model, key('g'), clock.now));
    update(
        &mut model,
        Msg::Access {
            seq,
            result: Err(ConnectError::new(
                Code::Unimplemented,
                "no PolicyService here",
            )),
        },
        clock.now,
    );
    let screen = screen_text(&mut model, 100, 30);
    assert!(
        screen.contains("Cannot load the policies and routes: no PolicyService here"),
        "{screen}"
    );
}

#[test]
fn without_a_directory_the_builder_does_not_search() {
    let clock = Clock::new();
    let mut model = on_policies(&clock);
    model.capabilities.directory = false;
    update(&mut model, key('a'), clock.now);
    update(&mut model, code(KeyCode::Tab), clock.now);
    update(&mut model, code(KeyCode::Tab), clock.now);
    type_text(&mut model, "ci-bot", clock.now);
    assert_eq!(model.next_deadline(), None, "nothing to search");
}
