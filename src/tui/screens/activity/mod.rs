//! The activity screen: the changes made in a namespace and all the namespaces below it (or to one entity),
//! newest first, a page at a time as the cursor nears the end of what is loaded, filtered by actor (`w`, a
//! prompt) and by action (`t`, cycling). State, paging, its keys and the entry detail's (here); the list's
//! render (render.rs), the entry detail (detail.rs), one entry and its before → after (entry.rs).

mod detail;
mod entry;
mod render;

pub use detail::{EntryView, on_entry_key, render as render_entry};
pub use entry::{Entry, FieldChange, value_text};
pub use render::{render, viewport, when};

use std::collections::HashSet;

use crossterm::event::KeyEvent;
use ratatui_textarea::TextArea;

use super::frame::body_area;
use super::{field_input, field_text, list_move, set_field_focus, text_field};
use crate::api::{Code, wire};
use crate::tui::keymap::Command;
use crate::tui::msg::{ActivityPage, Effect};
use crate::tui::state::{Load, Model, Overlay, Screen, Status};

/// Entries per request.
pub const PAGE: i64 = 50;
/// The actions `t` cycles through, after "any".
pub const ACTIONS: [&str; 7] = [
    "create", "update", "rotate", "disable", "enable", "delete", "import",
];
/// How near the end of what is loaded the viewport may come before the next page is asked for.
const MARGIN: usize = 10;

/// The activity of one entity instead of a namespace's subtree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityFilter {
    /// `service_account`, `namespace`, …
    pub kind: String,
    pub id: String,
    /// What to call it in the title.
    pub name: String,
}

#[derive(Debug)]
pub struct ActivityLog {
    /// The subtree's root; `None`: every namespace (a server without namespaces, or an entity's activity).
    pub namespace_id: Option<String>,
    pub entity: Option<EntityFilter>,
    /// Where Esc goes.
    pub back: Screen,
    /// The applied actor filter (exact); empty: anyone.
    pub actor: String,
    /// The applied action filter; `None`: any.
    pub action: Option<&'static str>,
    /// The actor prompt while it is being typed; applied with Enter.
    pub actor_input: Option<TextArea<'static>>,
    /// What is loaded, newest first, each entry once.
    pub entries: Vec<Entry>,
    ids: HashSet<String>,
    /// Matches of the current filters; `None` until the first page answers.
    pub total: Option<u64>,
    /// The server offset of the next page (ahead of `entries.len()` when new changes pushed some rows down).
    pub next_offset: u64,
    /// The page in flight, or why the last one failed.
    pub fetch: Load<()>,
    pub cursor: usize,
    pub offset: usize,
}

impl Default for ActivityLog {
    fn default() -> Self {
        ActivityLog {
            namespace_id: None,
            entity: None,
            back: Screen::Accounts,
            actor: String::new(),
            action: None,
            actor_input: None,
            entries: Vec::new(),
            ids: HashSet::new(),
            total: None,
            next_offset: 0,
            fetch: Load::Idle,
            cursor: 0,
            offset: 0,
        }
    }
}

impl ActivityLog {
    /// The request for the page at server offset `offset`.
    pub fn request(&self, offset: u64) -> wire::ListActivityLogEntriesRequest {
        let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_string());
        wire::ListActivityLogEntriesRequest {
            namespace_id: self.namespace_id.clone(),
            recurse_namespace: self.namespace_id.is_some().then_some(true),
            user_id: non_empty(self.actor.trim()),
            activity_type: self.action.map(String::from),
            entity_type: self.entity.as_ref().map(|e| e.kind.clone()),
            entity_id: self.entity.as_ref().map(|e| e.id.clone()),
            offset: Some(i64::try_from(offset).unwrap_or(i64::MAX)),
            limit: Some(PAGE),
            ..Default::default()
        }
    }

    /// Whether the actor or action filter narrows the list.
    pub fn filtered(&self) -> bool {
        !self.actor.trim().is_empty() || self.action.is_some()
    }

    /// Forgets every entry; the caller then asks for the first page.
    pub fn reset(&mut self) {
        self.entries.clear();
        self.ids.clear();
        self.total = None;
        self.next_offset = 0;
        self.cursor = 0;
        self.offset = 0;
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn selected(&self) -> Option<&Entry> {
        self.entries.get(self.cursor)
    }

    /// More entries match than are loaded.
    pub fn has_more(&self) -> bool {
        self.total.is_some_and(|t| self.next_offset < t)
    }

    /// The next page should be asked for: there is one, nothing is in flight or failed, and the viewport of
    /// `viewport` rows is near the end of what is loaded.
    pub fn wants_more(&self, viewport: usize) -> bool {
        self.has_more()
            && matches!(self.fetch, Load::Loaded(()))
            && self.offset + viewport + MARGIN >= self.entries.len()
    }

    /// Appends a page, skipping entries already held (new changes push older ones to later offsets).
    pub fn append(&mut self, rows: Vec<Entry>, total: u64) {
        if rows.is_empty() {
            // Past the end: what is loaded is all there is, whatever the total says.
            self.total = Some(self.next_offset);
            return;
        }
        self.next_offset += rows.len() as u64;
        self.total = Some(total.max(self.next_offset));
        for e in rows {
            if self.ids.insert(e.id.clone()) {
                self.entries.push(e);
            }
        }
    }

    /// Moves the cursor to `index` (clamped) and scrolls so it is visible in `viewport` rows.
    pub fn move_to(&mut self, index: usize, viewport: usize) {
        let len = self.len();
        self.cursor = if len == 0 { 0 } else { index.min(len - 1) };
        let viewport = viewport.max(1);
        if self.cursor < self.offset {
            self.offset = self.cursor;
        } else if self.cursor >= self.offset + viewport {
            self.offset = self.cursor + 1 - viewport;
        }
        self.offset = self.offset.min(len.saturating_sub(viewport));
    }

    /// The next action filter: any, then each of `ACTIONS`, then any again.
    pub fn next_action(&self) -> Option<&'static str> {
        match self.action {
            None => Some(ACTIONS[0]),
            Some(a) => {
                let i = ACTIONS
                    .iter()
                    .position(|x| *x == a)
                    .unwrap_or(ACTIONS.len());
                ACTIONS.get(i + 1).copied()
            }
        }
    }
}

/// Rows of entries on the terminal now.
pub fn rows_on_screen(model: &Model) -> usize {
    viewport(body_area(model.size).height)
}

/// Opens the activity screen on the subtree of `namespace_id` (or on `entity`), coming from `back`.
pub fn open(
    model: &mut Model,
    namespace_id: Option<String>,
    entity: Option<EntityFilter>,
    back: Screen,
) -> Vec<Effect> {
    let namespace_id = namespace_id.filter(|_| model.capabilities.namespaces && entity.is_none());
    model.activity = ActivityLog {
        namespace_id,
        entity,
        back,
        ..ActivityLog::default()
    };
    model.overlay = None;
    model.screen = Screen::Activity;
    model.status = Status::Empty;
    reload(model)
}

/// Starts again from the newest change with the current filters.
pub fn reload(model: &mut Model) -> Vec<Effect> {
    model.activity.reset();
    fetch(model, 0)
}

fn fetch(model: &mut Model, offset: u64) -> Vec<Effect> {
    let seq = model.seq();
    model.activity.fetch = Load::Loading(seq);
    vec![Effect::LoadActivity {
        seq,
        request: model.activity.request(offset),
    }]
}

/// Asks for the next page when the viewport nears the end of what is loaded.
fn more(model: &mut Model) -> Vec<Effect> {
    if model.screen != Screen::Activity || !model.activity.wants_more(rows_on_screen(model)) {
        return Vec::new();
    }
    let offset = model.activity.next_offset;
    fetch(model, offset)
}

pub fn on_page(model: &mut Model, seq: u64, result: ActivityPage) -> Vec<Effect> {
    if model.activity.fetch != Load::Loading(seq) {
        return Vec::new();
    }
    match result {
        Ok((rows, total)) => {
            model.activity.fetch = Load::Loaded(());
            model.activity.append(rows, total);
            if matches!(model.status, Status::Error { .. }) {
                model.status = Status::Empty;
            }
            on_resize(model)
        }
        Err(e) => {
            model.status = if e.code == Code::Unimplemented {
                Status::Info("this server keeps no activity log".into())
            } else {
                Status::from_error("cannot load the activity log", &e, true)
            };
            model.activity.fetch = Load::Failed(e);
            Vec::new()
        }
    }
}

/// Keeps the cursor on screen and loads what the viewport now needs.
pub fn on_resize(model: &mut Model) -> Vec<Effect> {
    let vp = rows_on_screen(model);
    let cursor = model.activity.cursor;
    model.activity.move_to(cursor, vp);
    more(model)
}

pub fn on_key(model: &mut Model, command: Option<Command>) -> Vec<Effect> {
    let Some(command) = command else {
        return Vec::new();
    };
    let vp = rows_on_screen(model);
    let log = &mut model.activity;
    if let Some(to) = list_move(command, log.cursor, log.len(), vp) {
        log.move_to(to, vp);
        return more(model);
    }
    match command {
        Command::Detail if log.selected().is_some() => {
            model.overlay = Some(Overlay::Entry(EntryView::default()));
        }
        Command::ActorFilter => {
            // Start from the filter in force, else from the actor of the change under the cursor.
            let start = if log.actor.is_empty() {
                log.selected().map(|e| e.actor.clone()).unwrap_or_default()
            } else {
                log.actor.clone()
            };
            let mut ta = text_field(&start);
            set_field_focus(&mut ta, true);
            ta.set_placeholder_text("actor, e.g. root or local:alice (exact)");
            log.actor_input = Some(ta);
        }
        Command::CycleAction => {
            log.action = log.next_action();
            return reload(model);
        }
        Command::ClearFilters if log.filtered() => {
            log.actor.clear();
            log.action = None;
            return reload(model);
        }
        Command::Refresh => {
            model.status = Status::Empty;
            return reload(model);
        }
        Command::Close => {
            model.screen = log.back;
            model.status = Status::Empty;
        }
        _ => {}
    }
    Vec::new()
}

/// The actor prompt: Enter applies what was typed (empty: anyone), Esc clears the actor filter.
pub fn on_filter_key(model: &mut Model, command: Option<Command>, key: KeyEvent) -> Vec<Effect> {
    let log = &mut model.activity;
    match command {
        Some(Command::ApplyFilter) => {
            if let Some(ta) = log.actor_input.take() {
                log.actor = field_text(&ta).trim().to_string();
                return reload(model);
            }
        }
        Some(Command::Close) => {
            log.actor_input = None;
            if !log.actor.is_empty() {
                log.actor.clear();
                return reload(model);
            }
        }
        _ => {
            if let Some(ta) = log.actor_input.as_mut() {
                field_input(ta, key);
            }
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: u32) -> Entry {
        Entry::from_wire(&wire::ActivityLogEntry {
            id: id.to_string(),
            ..Default::default()
        })
    }

    #[test]
    fn pages_append_once_each_even_when_new_changes_shift_them() {
        let mut log = ActivityLog {
            fetch: Load::Loaded(()),
            ..ActivityLog::default()
        };
        log.append((0..50).rev().map(|i| entry(i + 100)).collect(), 150);
        assert!(
            log.has_more() && !log.wants_more(20),
            "the top is far from the end"
        );
        log.move_to(40, 20);
        assert!(log.wants_more(20));
        // Two new changes arrived: the next page starts with the last two already held.
        log.append((0..50).rev().map(|i| entry(i + 52)).collect(), 152);
        assert_eq!(log.len(), 98);
        assert_eq!(log.next_offset, 100);
        log.move_to(0, 20);
        assert!(!log.wants_more(20), "the viewport is far from the end");
        log.move_to(97, 20);
        assert!(log.wants_more(20));
        log.append(Vec::new(), 152);
        assert!(!log.has_more(), "an empty page ends the list");
    }

    #[test]
    fn the_action_filter_cycles_back_to_any() {
        let mut log = ActivityLog::default();
        let mut seen = Vec::new();
        for _ in 0..=ACTIONS.len() {
            log.action = log.next_action();
            seen.push(log.action);
        }
        assert_eq!(seen.first(), Some(&Some("create")));
        assert_eq!(seen.last(), Some(&None));
        let r = log.request(100);
        assert_eq!(
            (r.offset, r.limit, r.activity_type),
            (Some(100), Some(PAGE), None)
        );
    }
}
