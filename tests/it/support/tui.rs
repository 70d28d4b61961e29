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
