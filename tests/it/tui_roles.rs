//! The console under namespace roles: what a viewer, a manager and an admin are offered where (the picker's
//! path-only ancestors, the title bar's marker, the footer, the keys), and the permissions screen — its rows,
//! a grant typed into its prompt, a revoke asked first — as state tests, and snapshots at 80×24 and 40×12.

use crate::support::tui::*;
use crossterm::event::KeyCode;
use sacon::access::Role;
use sacon::api::Capabilities;
use sacon::tui::keymap::{self, Context};
use sacon::tui::msg::{Effect, Msg};
use sacon::tui::screens::roles::RoleRow;
use sacon::tui::state::{Screen, Status};
use sacon::tui::{Model, update};

const FULL: Capabilities = Capabilities {
    namespaces: true,
    directory: true,
};

/// A caller holding `roles`, booted without a remembered namespace.
fn as_caller(roles: &[(&str, &str)], clock: &Clock) -> (Model, Vec<Effect>) {
    booted_as(None, clock, FULL, (80, 24), Some(roles))
}

fn rows() -> Vec<RoleRow> {
    let row = |id: &str, kind: &str, who: &str, role: &str, on: &str| RoleRow {
        id: id.into(),
        subject_type: kind.into(),
        subject_id: who.into(),
        person: if kind == "user" && who == "00u1" {
            "Ann Example <ann@example.com>".into()
        } else {
            String::new()
        },
        role: role.into(),
        granted_on: on.into(),
    };
    vec![
        row("p1", "user", "ci-deployer", "manager", "ns-eng"),
        row("p2", "group", "sre", "admin", "ns-eng"),
        row("p3", "user", "00u1", "viewer", "ns-global"),
    ]
}

/// The permissions screen of Engineering, answered with `rows()`, for a caller holding `roles`.
fn on_roles(roles: &[(&str, &str)], clock: &Clock) -> Model {
    let (mut model, _) = as_caller(roles, clock);
    let effects = sacon::tui::screens::roles::open(&mut model, "ns-eng".into(), Screen::Namespaces);
    let seq = match effects.as_slice() {
        [Effect::LoadRoles { seq, namespace_id }] if namespace_id == "ns-eng" => *seq,
        other => panic!("{other:?}"),
    };
    update(
        &mut model,
        Msg::Roles {
            seq,
            result: Ok(rows()),
        },
        clock.now,
    );
    model
}

#[test]
fn a_viewer_starts_on_its_namespace_and_ancestors_are_path_only() {
    let clock = Clock::new();
    let (mut model, effects) = as_caller(&[("ns-eng", "viewer")], &clock);
    assert_eq!(model.screen, Screen::Namespaces);
    // The cursor is on the first namespace it may open, not on the root it cannot.
    assert_eq!(
        model.picker.selected_id(&model.tree).as_deref(),
        Some("ns-eng")
    );
    // No counts are asked for where it holds no role.
    let counted: Vec<String> = effects
        .iter()
        .flat_map(|e| match e {
            Effect::LoadRollups { items, .. } => {
                items.iter().map(|i| i.namespace_id.clone()).collect()
            }
            _ => Vec::new(),
        })
        .collect();
    assert!(!counted.contains(&"ns-global".to_string()), "{counted:?}");
    assert!(counted.contains(&"ns-platform".to_string()), "{counted:?}");
    // The root is shown as path context and cannot be opened.
    update(&mut model, key('g'), clock.now);
    assert_eq!(
        model.picker.selected_id(&model.tree).as_deref(),
        Some("ns-global")
    );
    assert!(update(&mut model, code(KeyCode::Enter), clock.now).is_empty());
    assert_eq!(model.screen, Screen::Namespaces);
    assert!(
        matches!(&model.status, Status::Info(t) if t.contains("no role")),
        "{:?}",
        model.status
    );
    let screen = screen_text(&mut model, 80, 24);
    let global = screen.lines().find(|l| l.contains("Global")).unwrap();
    assert!(global.contains("no role · path only"), "{global}");
    assert!(
        screen
            .lines()
            .next()
            .unwrap()
            .contains("READ-ONLY · viewer"),
        "{screen}"
    );
    // Its own namespace opens, and offers no change.
    update(&mut model, key('j'), clock.now);
    update(&mut model, code(KeyCode::Enter), clock.now);
    assert_eq!(model.screen, Screen::Accounts);
    assert_eq!(model.permissions().role, Role::Viewer);
    update(&mut model, key('a'), clock.now);
    assert!(model.overlay.is_none());
    assert!(matches!(&model.status, Status::Info(t) if t.contains("viewer role cannot")));
    let footer = keymap::footer(Context::Accounts, model.permissions());
    assert!(
        !footer
            .iter()
            .any(|(k, _)| k == "a" || k == "e" || k == "d" || k == "r"),
        "{footer:?}"
    );
}

#[test]
fn the_role_follows_the_namespace_at_hand() {
    let clock = Clock::new();
    // Viewer on Engineering, manager on Platform below it.
    let (mut model, _) = as_caller(&[("ns-eng", "viewer"), ("ns-platform", "manager")], &clock);
    // On the account list the namespace open is the one at hand (in the picker, the one under the cursor).
    model.screen = Screen::Accounts;
    model.current = Some("ns-eng".into());
    assert_eq!(model.permissions().role, Role::Viewer);
    model.current = Some("ns-platform".into());
    assert_eq!(model.permissions().role, Role::Manager);
    assert_eq!(model.permissions().marker(), Some("manager".into()));
    model.current = Some("ns-data".into());
    assert_eq!(
        model.permissions().role,
        Role::Viewer,
        "inherited from Engineering"
    );
    // The shared secret's holder is admin of the root: everything, everywhere, no marker.
    let (mut root, _) = as_caller(&[("ns-global", "admin")], &clock);
    root.screen = Screen::Accounts;
    root.current = Some("ns-data".into());
    assert_eq!(root.permissions().marker(), None);
    assert!(
        root.permissions()
            .offers(sacon::tui::keymap::Command::Grant)
    );
}

#[test]
fn the_permissions_screen_lists_own_and_inherited_bindings() {
    let clock = Clock::new();
    let mut model = on_roles(&[("ns-global", "admin")], &clock);
    let screen = screen_text(&mut model, 80, 24);
    assert!(
        screen.contains("Permissions of Global › Engineering"),
        "{screen}"
    );
    let deployer = screen.lines().find(|l| l.contains("ci-deployer")).unwrap();
    assert!(
        deployer.contains("manager") && deployer.contains("own"),
        "{deployer}"
    );
    let ann = screen.lines().find(|l| l.contains("00u1")).unwrap();
    assert!(
        ann.contains("Ann Example") && ann.contains("from Global"),
        "{ann}"
    );
    assert!(
        screen.lines().last().unwrap().contains("a grant"),
        "{screen}"
    );
}

#[test]
fn an_admin_grants_through_the_prompt_and_revokes_after_a_question() {
    let clock = Clock::new();
    let mut model = on_roles(&[("ns-global", "admin")], &clock);
    update(&mut model, key('a'), clock.now);
    assert!(model.roles.grant_input.is_some());
    // A bad role is caught before anything is sent.
    type_text(&mut model, "bot owner", clock.now);
    assert!(update(&mut model, code(KeyCode::Enter), clock.now).is_empty());
    assert!(matches!(&model.status, Status::Info(t) if t.contains("not a role")));
    for _ in 0..5 {
        update(&mut model, code(KeyCode::Backspace), clock.now);
    }
    type_text(&mut model, "manager", clock.now);
    let effects = update(&mut model, code(KeyCode::Enter), clock.now);
    let seq = match effects.as_slice() {
        [
            Effect::Grant {
                seq,
                namespace_id,
                grant,
            },
        ] => {
            assert_eq!(namespace_id, "ns-eng");
            assert_eq!(
                (grant.subject_type, grant.subject_id.as_str(), grant.role),
                ("user", "bot", Role::Manager)
            );
            *seq
        }
        other => panic!("{other:?}"),
    };
    let effects = update(
        &mut model,
        Msg::RoleChanged {
            seq,
            result: Ok("granted manager to user bot".into()),
        },
        clock.now,
    );
    assert!(
        matches!(effects.as_slice(), [Effect::LoadRoles { .. }]),
        "{effects:?}"
    );
    assert!(matches!(&model.status, Status::Info(t) if t == "granted manager to user bot"));

    // Revoking an inherited binding points to where it was made.
    update(&mut model, key('G'), clock.now);
    assert!(update(&mut model, key('d'), clock.now).is_empty());
    assert!(matches!(&model.status, Status::Info(t) if t.contains("inherited from Global")));
    // Its own binding is asked about first; n keeps it, y revokes it.
    update(&mut model, key('k'), clock.now);
    update(&mut model, key('k'), clock.now);
    update(&mut model, key('d'), clock.now);
    assert_eq!(model.context(), Context::Confirm);
    assert!(screen_text(&mut model, 80, 24).contains("revoke manager from user ci-deployer? y/n"));
    update(&mut model, key('n'), clock.now);
    assert!(model.roles.revoking.is_none());
    update(&mut model, key('d'), clock.now);
    let effects = update(&mut model, key('y'), clock.now);
    assert!(
        matches!(effects.as_slice(), [Effect::Revoke { id, .. }] if id == "p1"),
        "{effects:?}"
    );
    // Esc goes back where it came from.
    update(&mut model, code(KeyCode::Esc), clock.now);
    assert_eq!(model.screen, Screen::Namespaces);
}

#[test]
fn a_manager_sees_the_permissions_but_cannot_change_them() {
    let clock = Clock::new();
    let mut model = on_roles(&[("ns-eng", "manager")], &clock);
    model.current = Some("ns-eng".into());
    assert_eq!(model.screen, Screen::Roles);
    update(&mut model, key('a'), clock.now);
    assert!(model.roles.grant_input.is_none());
    assert!(matches!(&model.status, Status::Info(t) if t.contains("cannot change permissions")));
    update(&mut model, key('d'), clock.now);
    assert!(model.roles.revoking.is_none());
    let footer = keymap::footer(Context::Roles, model.permissions());
    assert!(
        !footer.iter().any(|(k, _)| k == "a" || k == "d"),
        "{footer:?}"
    );
}

#[test]
fn viewer_and_permissions_screens_render_at_both_sizes() {
    let clock = Clock::new();
    let mut shots = Vec::new();
    for (w, h) in [(80, 24), (40, 12)] {
        let (mut viewer, _) = as_caller(&[("ns-eng", "viewer")], &clock);
        shots.push(format!(
            "viewer picker {w}x{h}\n{}",
            screen_text(&mut viewer, w, h)
        ));
        let mut admin = on_roles(&[("ns-global", "admin")], &clock);
        shots.push(format!(
            "permissions {w}x{h}\n{}",
            screen_text(&mut admin, w, h)
        ));
        update(&mut admin, key('a'), clock.now);
        shots.push(format!(
            "grant prompt {w}x{h}\n{}",
            screen_text(&mut admin, w, h)
        ));
    }
    // Nothing is drawn past the terminal at the small size, and the marker survives it.
    assert!(
        shots[3].lines().nth(1).unwrap().contains("READ-ONLY"),
        "{}",
        shots[3]
    );
    insta::assert_snapshot!("roles_screens", shots.join("\n\n"));
}
