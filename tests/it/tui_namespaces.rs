//! Changing the namespace tree from the console's picker: `a` creates a child of the namespace under the
//! cursor, `e` renames it, `d` deletes it after a question; each refused up front without the admin role where
//! the server would judge it; and a name filter's Enter lands on the match, not on its ancestor.

use crate::support::tui::*;
use crossterm::event::KeyCode;
use sacon::api::{Capabilities, Code, ConnectError};
use sacon::tui::keymap::Context;
use sacon::tui::msg::{Effect, Msg};
use sacon::tui::state::{Screen, Status};
use sacon::tui::{Model, update};

const FULL: Capabilities = Capabilities {
    namespaces: true,
    directory: true,
};

/// The picker with the cursor on `id`.
fn picker_on(id: &str, roles: Option<&[(&str, &str)]>, clock: &Clock) -> Model {
    let (mut model, _) = booted_as(None, clock, FULL, (80, 24), roles);
    assert_eq!(model.screen, Screen::Namespaces);
    let vp = 20;
    model.picker.reveal(&model.tree, id, vp);
    assert_eq!(model.picker.selected_id(&model.tree).as_deref(), Some(id));
    model
}

fn changed(
    model: &mut Model,
    effects: &[Effect],
    result: Result<String, ConnectError>,
) -> Vec<Effect> {
    let seq = match effects {
        [Effect::SetNamespace { seq, .. } | Effect::DeleteNamespace { seq, .. }] => *seq,
        other => panic!("{other:?}"),
    };
    update(
        model,
        Msg::NamespaceChanged { seq, result },
        Clock::new().now,
    )
}

#[test]
fn a_creates_a_child_and_the_tree_reloads() {
    let clock = Clock::new();
    let mut model = picker_on("ns-global", None, &clock);
    update(&mut model, key('a'), clock.now);
    assert_eq!(model.context(), Context::FilterInput);
    assert!(screen_text(&mut model, 80, 24).contains("new namespace in Global:"));
    // An empty name is not sent.
    assert!(update(&mut model, code(KeyCode::Enter), clock.now).is_empty());
    type_text(&mut model, "Payments", clock.now);
    let effects = update(&mut model, code(KeyCode::Enter), clock.now);
    assert!(
        matches!(effects.as_slice(), [Effect::SetNamespace { id, parent, name, .. }]
            if id.is_empty() && parent == "ns-global" && name == "Payments"),
        "{effects:?}"
    );
    let after = changed(
        &mut model,
        &effects,
        Ok("created namespace Payments".into()),
    );
    assert!(
        after.iter().any(|e| matches!(e, Effect::Boot { .. })),
        "{after:?}"
    );
    assert!(matches!(&model.status, Status::Info(t) if t == "created namespace Payments"));
    assert!(model.ns_edit.is_none());
}

#[test]
fn e_renames_and_d_deletes_after_a_question_and_refusals_are_shown() {
    let clock = Clock::new();
    let mut model = picker_on("ns-eng", None, &clock);
    update(&mut model, key('e'), clock.now);
    assert!(screen_text(&mut model, 80, 24).contains("rename Engineering to:"));
    for _ in 0.."Engineering".len() {
        update(&mut model, code(KeyCode::Backspace), clock.now);
    }
    type_text(&mut model, "R&D", clock.now);
    let effects = update(&mut model, code(KeyCode::Enter), clock.now);
    assert!(
        matches!(effects.as_slice(), [Effect::SetNamespace { id, name, .. }] if id == "ns-eng" && name == "R&D"),
        "{effects:?}"
    );
    changed(&mut model, &effects, Ok("renamed".into()));

    // Delete asks; the server's refusal (it still has accounts) is shown, nothing else changes.
    update(&mut model, key('d'), clock.now);
    assert_eq!(model.context(), Context::Confirm);
    assert!(screen_text(&mut model, 80, 24).contains("delete Global › Engineering? y/n"));
    update(&mut model, key('n'), clock.now);
    assert!(model.ns_edit.is_none());
    update(&mut model, key('d'), clock.now);
    let effects = update(&mut model, key('y'), clock.now);
    changed(
        &mut model,
        &effects,
        Err(ConnectError::new(
            Code::FailedPrecondition,
            "namespace \"Engineering\" has 2 child namespace(s); delete or move them first",
        )),
    );
    assert!(
        matches!(&model.status, Status::Error { text, .. } if text.contains("2 child namespace")),
        "{:?}",
        model.status
    );
    // The root is never deleted.
    let mut model = picker_on("ns-global", None, &clock);
    update(&mut model, key('d'), clock.now);
    assert!(model.ns_edit.is_none());
    assert!(
        matches!(&model.status, Status::Info(t) if t.contains("root namespace cannot be deleted"))
    );
}

#[test]
fn the_admin_role_is_asked_for_where_the_server_will_judge() {
    let clock = Clock::new();
    // Admin of Engineering: a child of it, yes; renaming Engineering itself (its parent's business), no.
    let roles: &[(&str, &str)] = &[("ns-eng", "admin")];
    let mut model = picker_on("ns-eng", Some(roles), &clock);
    update(&mut model, key('a'), clock.now);
    assert!(model.ns_edit.is_some());
    update(&mut model, code(KeyCode::Esc), clock.now);
    update(&mut model, key('e'), clock.now);
    assert!(model.ns_edit.is_none());
    assert!(
        matches!(&model.status, Status::Info(t) if t.contains("needs the admin role in Global")),
        "{:?}",
        model.status
    );
    // Platform below it may be renamed.
    let mut model = picker_on("ns-platform", Some(roles), &clock);
    update(&mut model, key('e'), clock.now);
    assert!(model.ns_edit.is_some());
    // A viewer is offered none of it.
    let mut model = picker_on("ns-eng", Some(&[("ns-eng", "viewer")]), &clock);
    update(&mut model, key('a'), clock.now);
    assert!(model.ns_edit.is_none());
    assert!(
        matches!(&model.status, Status::Info(t) if t.contains("viewer role cannot change namespaces"))
    );
}

#[test]
fn enter_after_a_filter_lands_on_the_match() {
    let clock = Clock::new();
    let mut model = picker_on("ns-global", None, &clock);
    update(&mut model, key('/'), clock.now);
    type_text(&mut model, "platf", clock.now);
    update(&mut model, code(KeyCode::Enter), clock.now);
    assert_eq!(
        model.picker.selected_id(&model.tree).as_deref(),
        Some("ns-platform")
    );
    // And Enter again opens it.
    update(&mut model, code(KeyCode::Enter), clock.now);
    assert_eq!(model.current.as_deref(), Some("ns-platform"));
}

#[test]
fn the_prompts_render_at_both_sizes() {
    let clock = Clock::new();
    let mut shots = Vec::new();
    for (w, h) in [(80, 24), (40, 12)] {
        let mut model = picker_on("ns-eng", None, &clock);
        update(&mut model, key('a'), clock.now);
        type_text(&mut model, "Payments", clock.now);
        shots.push(format!("create {w}x{h}\n{}", screen_text(&mut model, w, h)));
        let mut model = picker_on("ns-fin", None, &clock);
        update(&mut model, key('d'), clock.now);
        shots.push(format!("delete {w}x{h}\n{}", screen_text(&mut model, w, h)));
    }
    insta::assert_snapshot!("namespace_prompts", shots.join("\n\n"));
}
