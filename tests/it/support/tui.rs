//! Fixtures shared by the console's state and render tests: a fixed clock, a small namespace tree, accounts
//! with every audit mark, key helpers, and a model driven to a given screen through `update` itself.

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use sacon::api::Capabilities;
use sacon::model::{DirectoryUser, Namespace, ServiceAccount};
use sacon::tui::msg::{Boot, Effect, Msg, Now};
use sacon::tui::theme::Theme;
use sacon::tui::{Model, init, update};

pub fn wall() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
}

/// A clock the test moves by hand.
pub struct Clock {
    pub now: Now,
}

impl Clock {
    pub fn new() -> Clock {
        Clock {
            now: Now {
                mono: Instant::now(),
                wall: wall(),
            },
        }
    }

    pub fn advance(&mut self, ms: u64) -> Now {
        self.now = self.now.after(Duration::from_millis(ms));
        self.now
    }
}

pub fn ns(id: &str, parent: &str, name: &str) -> Namespace {
    Namespace::new(id, parent, name, wall())
}

pub fn namespaces() -> Vec<Namespace> {
    vec![
        ns("ns-global", "", "Global"),
        ns("ns-eng", "ns-global", "Engineering"),
        ns("ns-platform", "ns-eng", "Platform"),
        ns("ns-data", "ns-eng", "Data"),
        ns("ns-fin", "ns-global", "Finance"),
    ]
}

pub fn account(i: usize, namespace: &str) -> ServiceAccount {
    let w = wall();
    let days = chrono::Duration::days;
    // Cycle through the audit cases so every marker appears.
    let (expires, accessed) = match i % 5 {
        0 => (Some(w + days(40)), Some(w - days(1))),
        1 => (Some(w - days(3)), Some(w - days(10))),
        2 => (Some(w + days(5)), None),
        3 => (None, Some(w - days(120))),
        _ => (Some(w + days(365)), Some(w - chrono::Duration::hours(2))),
    };
    ServiceAccount {
        id: format!("3f2c9a1e-0000-4000-8000-{i:012}"),
        namespace_id: namespace.into(),
        originator_id: String::new(),
        description: format!("account number {i} for the nightly job"),
        user_id: format!("svc-{i:03}"),
        expires_at: expires,
        created_at: w - days(200),
        modified_at: w - days(200),
        accessed_at: accessed,
        disabled: false,
    }
}

pub fn user(id: &str, name: &str) -> DirectoryUser {
    DirectoryUser {
        id: id.into(),
        name: name.into(),
        email: format!("{}@example.com", id),
        groups: vec!["engineering".into()],
    }
}

pub fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

pub fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

pub fn ctrl(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

/// Types `text` one key at a time, all at the same instant.
pub fn type_text(model: &mut Model, text: &str, now: Now) -> Vec<Effect> {
    let mut effects = Vec::new();
    for c in text.chars() {
        effects.extend(update(model, key(c), now));
    }
    effects
}

/// A model whose boot has answered with the fixture namespaces (full capabilities).
pub fn booted(remembered: Option<&str>, clock: &Clock) -> (Model, Vec<Effect>) {
    booted_with(
        remembered,
        clock,
        Capabilities {
            namespaces: true,
            directory: true,
        },
        (80, 24),
    )
}

pub fn booted_with(
    remembered: Option<&str>,
    clock: &Clock,
    capabilities: Capabilities,
    size: (u16, u16),
) -> (Model, Vec<Effect>) {
    booted_as(remembered, clock, capabilities, size, None)
}

/// As `booted_with`, the server naming the caller's roles (`(namespace id, role)` pairs) when `roles` is given.
pub fn booted_as(
    remembered: Option<&str>,
    clock: &Clock,
    capabilities: Capabilities,
    size: (u16, u16),
    roles: Option<&[(&str, &str)]>,
) -> (Model, Vec<Effect>) {
    let mut model = Model::new(
        "~/.local/share/sacon".into(),
        remembered.map(String::from),
        Theme::plain(),
        clock.now.wall,
    );
    update(&mut model, Msg::Resize(size.0, size.1), clock.now);
    let effects = init(&mut model);
    let seq = match effects.as_slice() {
        [Effect::Boot { seq }] => *seq,
        other => panic!("boot effects: {other:?}"),
    };
    let effects = update(
        &mut model,
        Msg::Booted {
            seq,
            result: Ok(Boot {
                capabilities,
                namespaces: if capabilities.namespaces {
                    namespaces()
                } else {
                    Vec::new()
                },
                grants: roles.map(|r| sacon::access::Grants::from_roles(r.iter().copied())),
            }),
        },
        clock.now,
    );
    (model, effects)
}

/// Answers every `LoadPage` in `effects` from `all` (already filtered and sorted), as the server would.
pub fn answer_pages(
    model: &mut Model,
    effects: Vec<Effect>,
    all: &[ServiceAccount],
    now: Now,
) -> Vec<Effect> {
    let mut rest = Vec::new();
    for e in effects {
        match e {
            Effect::LoadPage {
                generation,
                page,
                query,
            } => {
                let start = (query.offset as usize).min(all.len());
                let end = (start + query.limit.map_or(all.len(), |l| l as usize)).min(all.len());
                rest.extend(update(
                    model,
                    Msg::Page {
                        generation,
                        page,
                        result: Ok((all[start..end].to_vec(), all.len() as u64)),
                    },
                    now,
                ));
            }
            other => rest.push(other),
        }
    }
    rest
}

/// A model on the account list of Platform with `n` accounts loaded around the top.
pub fn on_accounts(n: usize, clock: &Clock) -> Model {
    let (mut model, effects) = booted(Some("ns-platform"), clock);
    let all: Vec<ServiceAccount> = (0..n).map(|i| account(i, "ns-platform")).collect();
    let rest = answer_pages(&mut model, effects, &all, clock.now);
    // Kinds: odd accounts act as directory users.
    for e in rest {
        if let Effect::LookupKinds { user_ids } = e {
            let kinds = user_ids
                .into_iter()
                .enumerate()
                .map(|(i, id)| (id, Some(i % 2 == 1)))
                .collect();
            update(&mut model, Msg::Kinds(kinds), clock.now);
        }
    }
    model
}

/// One change of the activity log, as the server would send it (newer changes have higher ids).
pub fn change(
    id: u64,
    action: &str,
    actor: &str,
    name: &str,
    detail: serde_json::Value,
) -> sacon::tui::screens::activity::Entry {
    let at = wall() - chrono::Duration::minutes(10 * (1000 - id as i64).max(0));
    sacon::tui::screens::activity::Entry::from_wire(&sacon::api::wire::ActivityLogEntry {
        id: id.to_string(),
        created_at: Some(sacon::api::wkt::Timestamp::from_chrono(at)),
        activity_type: action.into(),
        namespace_id: "ns-platform".into(),
        namespace_name: "Platform".into(),
        user_id: actor.into(),
        entity_type: "service_account".into(),
        entity_id: format!("3f2c9a1e-0000-4000-8000-{id:012}"),
        name: name.into(),
        entity_data: detail.to_string(),
        ..Default::default()
    })
}

/// The life of one account, newest first: two edits, a rotation, its creation.
pub fn account_history(user_id: &str) -> Vec<sacon::tui::screens::activity::Entry> {
    use serde_json::json;
    vec![
        change(
            904,
            "update",
            "local:alice",
            user_id,
            json!({"changed": ["description"], "before": {"description": "nightly job"},
                   "after": {"description": "nightly job (edited)"}}),
        ),
        change(
            903,
            "update",
            "root",
            user_id,
            json!({"changed": ["expiresAt"], "before": {"expiresAt": "never"},
                   "after": {"expiresAt": "2026-09-01T00:00:00Z"}}),
        ),
        change(
            902,
            "rotate",
            "local:bob",
            user_id,
            json!({"graceUntil": "2026-05-20T10:05:00Z"}),
        ),
        change(
            901,
            "create",
            "local:alice",
            user_id,
            json!({"userId": user_id, "expiresAt": "never"}),
        ),
    ]
}

/// The `Effect::LoadActivity` in `effects`: its sequence and request.
pub fn activity_request(
    effects: &[Effect],
) -> Option<(u64, sacon::api::wire::ListActivityLogEntriesRequest)> {
    effects.iter().find_map(|e| match e {
        Effect::LoadActivity { seq, request } => Some((*seq, request.clone())),
        _ => None,
    })
}

/// The `Effect::LoadHistory` in `effects`: its sequence and request.
pub fn history_request(
    effects: &[Effect],
) -> Option<(u64, sacon::api::wire::ListActivityLogEntriesRequest)> {
    effects.iter().find_map(|e| match e {
        Effect::LoadHistory { seq, request } => Some((*seq, request.clone())),
        _ => None,
    })
}

/// `n` changes by a few actors, newest first, starting below id `top`.
pub fn changes(top: u64, n: usize) -> Vec<sacon::tui::screens::activity::Entry> {
    let actors = ["local:alice", "root", "local:bob"];
    let actions = ["update", "create", "rotate", "delete"];
    (0..n)
        .map(|i| {
            let id = top - i as u64;
            change(
                id,
                actions[i % actions.len()],
                actors[i % actors.len()],
                &format!("svc-{:03}", i % 7),
                serde_json::json!({"changed": ["description"], "before": {"description": "a"},
                                   "after": {"description": "b"}}),
            )
        })
        .collect()
}

/// A model on the activity screen of Platform (opened with `L` from its account list) with `page` answered.
pub fn on_activity(
    page: Vec<sacon::tui::screens::activity::Entry>,
    total: u64,
    clock: &Clock,
) -> Model {
    let mut model = on_accounts(3, clock);
    let effects = update(&mut model, key('L'), clock.now);
    let (seq, _) = activity_request(&effects).expect("L asks for the activity");
    update(
        &mut model,
        Msg::Activity {
            seq,
            result: Ok((page, total)),
        },
        clock.now,
    );
    model
}

/// A model on the detail of the second account of Platform with `history` answered.
pub fn on_detail(history: Vec<sacon::tui::screens::activity::Entry>, clock: &Clock) -> Model {
    let mut model = on_accounts(3, clock);
    update(&mut model, key('j'), clock.now);
    let effects = update(&mut model, code(KeyCode::Enter), clock.now);
    let (seq, _) = history_request(&effects).expect("the detail asks for the history");
    let total = history.len() as u64;
    update(
        &mut model,
        Msg::History {
            seq,
            result: Ok((history, total)),
        },
        clock.now,
    );
    model
}

/// The console drawn at `w`×`h` (after a resize to it), as text: one line per row, trailing blanks cut.
pub fn screen_text(model: &mut Model, w: u16, h: u16) -> String {
    update(model, Msg::Resize(w, h), Clock::new().now);
    let mut terminal =
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).expect("a test terminal");
    terminal
        .draw(|f| sacon::tui::screens::frame::render(model, f.buffer_mut()))
        .expect("drawing into a test backend");
    let buf = terminal.backend().buffer().clone();
    (0..h)
        .map(|y| {
            (0..w)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The token view that is open.
pub fn secret(model: &Model) -> &sacon::tui::screens::secret::SecretView {
    match &model.overlay {
        Some(sacon::tui::state::Overlay::Secret(s)) => s,
        other => panic!("expected the token view, got {other:?}"),
    }
}

/// A token as the server would issue one.
pub fn token() -> sacon::tui::msg::Token {
    sacon::tui::msg::Token::new(zeroize::Zeroizing::new(
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXNpZ25hdHVyZQ".into(),
    ))
}
