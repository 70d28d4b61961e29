//! The account list: a server-side sorted and filtered query, loaded a page at a time around the cursor (a
//! namespace with 100,000 accounts never loads them all), with audit markers per row. State and paging, the
//! list's keys and the requests they make (here); the render (render.rs).

mod filter_line;
mod marks;
mod render;
mod states;

pub use filter_line::{on_filter_key, on_filter_paste, on_tick};
pub use marks::on_marked;
pub use render::render;
pub use states::{StateFilter, States};

use std::collections::BTreeMap;

use ratatui_textarea::TextArea;

use super::add_modal::AccountForm;
use super::confirm::{Confirm, ConfirmAction};
use super::frame::body_area;
use super::{activity, detail, list_move, namespaces, set_field_focus, text_field};
use crate::api::{Code, ConnectError, ListQuery};
use crate::filter::{Expr, Field};
use crate::model::{DirectoryUser, NamespaceTree, ServiceAccount};
use crate::tui::keymap::Command;
use crate::tui::msg::Effect;
use crate::tui::state::{Load, Model, Overlay, Screen, Status};
use crate::tui::update::boot;

/// Rows per request.
pub const PAGE: u64 = 100;
/// Pages kept in memory around the cursor; farther ones are dropped and fetched again when needed.
pub const KEEP_PAGES: u64 = 4;
/// The most accounts "mark all shown" marks at once (a bulk change is one request per account).
pub const MAX_MARKS: u64 = 1000;
/// How long the filter line waits after a keystroke before it asks the server (typing fast sends one query).
pub const FILTER_DEBOUNCE: std::time::Duration = std::time::Duration::from_millis(150);

/// The columns the server can sort by, in the order `s` cycles through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortKey {
    UserId,
    Description,
    Created,
    Expires,
    LastUsed,
}

impl SortKey {
    pub const CYCLE: [SortKey; 5] = [
        SortKey::UserId,
        SortKey::Description,
        SortKey::Created,
        SortKey::Expires,
        SortKey::LastUsed,
    ];

    pub fn field(self) -> &'static str {
        match self {
            SortKey::UserId => "user_id",
            SortKey::Description => "description",
            SortKey::Created => "created_at",
            SortKey::Expires => "expires_at",
            SortKey::LastUsed => "accessed_at",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SortKey::UserId => "User ID",
            SortKey::Description => "Description",
            SortKey::Created => "Created",
            SortKey::Expires => "Expires",
            SortKey::LastUsed => "Last used",
        }
    }
}

#[derive(Debug)]
pub struct AccountList {
    pub sort: SortKey,
    pub descending: bool,
    /// The applied filter (user id, description or id contains it).
    pub filter: String,
    /// The filter line while it is being typed; it applies as you type (after `FILTER_DEBOUNCE`).
    pub filter_input: Option<TextArea<'static>>,
    /// When the typed filter is due to be applied.
    pub filter_due: Option<std::time::Instant>,
    /// The marked accounts by id, kept across filters and sorts (a bulk change lists them all before it
    /// acts); forgotten when another namespace opens.
    pub marked: BTreeMap<String, ServiceAccount>,
    /// The list generation a "mark all shown" was asked for, while it is answered.
    pub marking: Option<u64>,
    /// How many allowed-users entries of the namespace's policies (and below) answer to nothing, for the
    /// namespace it was asked for; `None` until asked (or from a server without the access calls).
    pub dangling: Option<(String, Option<usize>)>,
    /// Also list the accounts of ancestor namespaces (usable here too).
    pub inherited: bool,
    /// List every account of the namespace and all its descendants (an audit of a subtree); excludes
    /// `inherited`.
    pub subtree: bool,
    /// The state filters (expired, never used, disabled…) that are on.
    pub states: States,
    /// Bumped whenever the query changes; replies for older generations are dropped.
    pub generation: u64,
    /// Matches of the current query; `None` until the first page answers.
    pub total: Option<u64>,
    pub pages: BTreeMap<u64, Load<Vec<ServiceAccount>>>,
    pub cursor: usize,
    pub offset: usize,
}

impl Default for AccountList {
    fn default() -> Self {
        AccountList {
            sort: SortKey::UserId,
            descending: false,
            filter: String::new(),
            filter_input: None,
            filter_due: None,
            marked: BTreeMap::new(),
            marking: None,
            dangling: None,
            inherited: false,
            subtree: false,
            states: States::default(),
            generation: 0,
            total: None,
            pages: BTreeMap::new(),
            cursor: 0,
            offset: 0,
        }
    }
}

impl AccountList {
    pub fn order_by(&self) -> String {
        let field = self.sort.field();
        if self.descending {
            format!("-{field}")
        } else {
            field.to_string()
        }
    }

    /// Whether rows may come from other namespaces than the current one (then a column names it).
    pub fn mixed(&self) -> bool {
        self.inherited || self.subtree
    }

    /// The filter for the list query: the namespace (its ancestors too when inherited accounts are shown, its
    /// descendants in the subtree view), the text filter and the state filters. `namespace` is `None` when the
    /// server has no namespaces.
    pub fn filter_expr(&self, namespace: Option<&str>, tree: &NamespaceTree) -> Option<Expr> {
        let mut parts = Vec::new();
        if let Some(ns) = namespace {
            if self.inherited || self.subtree {
                let ids = if self.subtree {
                    tree.subtree(ns)
                } else {
                    tree.ancestors_and_self(ns)
                };
                let ids = if ids.is_empty() {
                    vec![ns.to_string()]
                } else {
                    ids
                };
                parts.push(Expr::field(Field::NamespaceId).is_any_of(ids));
            } else {
                parts.push(Expr::field(Field::NamespaceId).eq(ns));
            }
        }
        let text = self.filter.trim();
        if !text.is_empty() {
            parts.push(Expr::or(
                [Field::UserId, Field::Description, Field::Id]
                    .map(|field| Expr::field(field).contains(text)),
            ));
        }
        parts.extend(self.states.exprs());
        match parts.len() {
            0 => None,
            1 => parts.pop(),
            _ => Some(Expr::and(parts)),
        }
    }

    pub fn query(&self, namespace: Option<&str>, tree: &NamespaceTree, page: u64) -> ListQuery {
        ListQuery {
            filter: self.filter_expr(namespace, tree).map(|e| e.to_json()),
            order_by: self.order_by(),
            offset: page * PAGE,
            limit: Some(PAGE),
        }
    }

    /// Forgets every row and starts a new generation; the caller then asks for pages.
    pub fn reset(&mut self) {
        self.generation += 1;
        self.total = None;
        self.pages.clear();
        self.cursor = 0;
        self.offset = 0;
    }

    /// Number of rows the cursor can move over.
    pub fn len(&self) -> usize {
        self.total.map(|t| t as usize).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, index: usize) -> Option<&ServiceAccount> {
        let page = index as u64 / PAGE;
        let within = index % PAGE as usize;
        match self.pages.get(&page) {
            Some(Load::Loaded(rows)) => rows.get(within),
            _ => None,
        }
    }

    pub fn selected(&self) -> Option<&ServiceAccount> {
        self.get(self.cursor)
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

    pub fn move_by(&mut self, delta: isize, viewport: usize) {
        self.move_to(self.cursor.saturating_add_signed(delta), viewport);
    }

    /// Pages that should be in memory: those under the viewport plus half a page either side, so scrolling
    /// seldom meets an unloaded row. Before the total is known, only the first page.
    pub fn wanted_pages(&self, viewport: usize) -> Vec<u64> {
        let Some(total) = self.total else {
            return vec![self.offset as u64 / PAGE];
        };
        if total == 0 {
            return Vec::new();
        }
        let margin = PAGE / 2;
        let lo = (self.offset as u64).saturating_sub(margin);
        let hi = (self.offset as u64 + viewport as u64 + margin).min(total - 1);
        (lo / PAGE..=hi / PAGE).collect()
    }

    /// Marks the wanted pages that are not in memory as loading (with `seq`) and returns them; drops pages
    /// far from the cursor so memory stays bounded.
    pub fn claim_missing(&mut self, viewport: usize) -> Vec<u64> {
        let wanted = self.wanted_pages(viewport);
        let center = self.cursor as u64 / PAGE;
        self.pages.retain(|p, slot| {
            wanted.contains(p) || (p.abs_diff(center) < KEEP_PAGES && !slot.is_loading())
        });
        let missing: Vec<u64> = wanted
            .into_iter()
            .filter(|p| !self.pages.contains_key(p))
            .collect();
        for p in &missing {
            self.pages.insert(*p, Load::Loading(self.generation));
        }
        missing
    }

    /// Stores a page answer for the current generation. Returns false when it was stale or no longer wanted.
    pub fn accept(
        &mut self,
        generation: u64,
        page: u64,
        rows: Vec<ServiceAccount>,
        total: u64,
    ) -> bool {
        if generation != self.generation || !self.pages.get(&page).is_some_and(Load::is_loading) {
            return false;
        }
        self.total = Some(total);
        self.pages.insert(page, Load::Loaded(rows));
        true
    }
}

/// Rows of accounts that fit in a body of `height` (title, column header and legend take three).
pub fn viewport(body_height: u16) -> usize {
    let chrome = if body_height >= 12 { 3 } else { 2 };
    usize::from(body_height.saturating_sub(chrome)).max(1)
}

/// Rows of accounts on the terminal now (the filter line, while typed, takes one of them).
pub fn rows_on_screen(model: &Model) -> usize {
    let rows = viewport(body_area(model.size).height);
    if model.accounts.filter_input.is_some() {
        rows.saturating_sub(1).max(1)
    } else {
        rows
    }
}

/// Whether there is a list to load: a namespace is chosen, or the server has none (one implicit namespace).
fn has_list(model: &Model) -> bool {
    model.current.is_some() || !model.capabilities.namespaces
}

/// Starts a new list generation and asks for the pages under the cursor. `keep_cursor` keeps the position
/// (a refresh), otherwise the list starts at the top.
pub fn reload(model: &mut Model, keep_cursor: bool) -> Vec<Effect> {
    if !has_list(model) {
        return Vec::new();
    }
    let (cursor, offset) = (model.accounts.cursor, model.accounts.offset);
    model.accounts.reset();
    if keep_cursor {
        model.accounts.cursor = cursor;
        model.accounts.offset = offset;
    }
    let mut effects = claim_pages(model);
    // Dangling policy entries, asked once per namespace opened (and again on R or a policy change).
    if let Some(ns) = model.current.clone()
        && model.accounts.dangling.as_ref().map(|(n, _)| n) != Some(&ns)
    {
        model.accounts.dangling = Some((ns.clone(), None));
        effects.push(Effect::LoadDangling { namespace_id: ns });
    }
    effects
}

/// How many dangling entries the policies of `namespace_id` and below have (`None`: unknown).
pub fn on_dangling(model: &mut Model, namespace_id: String, count: Option<usize>) {
    if let Some((ns, slot)) = model.accounts.dangling.as_mut()
        && *ns == namespace_id
    {
        *slot = count;
    }
}

/// Asks for the pages the viewport needs that are not in memory.
pub fn claim_pages(model: &mut Model) -> Vec<Effect> {
    if !has_list(model) {
        return Vec::new();
    }
    let vp = rows_on_screen(model);
    let missing = model.accounts.claim_missing(vp);
    let namespace = model.current.clone();
    missing
        .into_iter()
        .map(|page| Effect::LoadPage {
            generation: model.accounts.generation,
            page,
            query: model
                .accounts
                .query(namespace.as_deref(), &model.tree, page),
        })
        .collect()
}

pub fn on_resize(model: &mut Model) -> Vec<Effect> {
    let vp = rows_on_screen(model);
    let cursor = model.accounts.cursor;
    model.accounts.move_to(cursor, vp);
    claim_pages(model)
}

pub fn on_page(
    model: &mut Model,
    generation: u64,
    page: u64,
    result: Result<(Vec<ServiceAccount>, u64), ConnectError>,
) -> Vec<Effect> {
    match result {
        Ok((rows, total)) => {
            let user_ids: Vec<String> = rows.iter().map(|a| a.user_id.clone()).collect();
            let account_ids: Vec<String> = rows.iter().map(|a| a.id.clone()).collect();
            if !model.accounts.accept(generation, page, rows, total) {
                return Vec::new();
            }
            if matches!(model.status, Status::Error { .. }) {
                model.status = Status::Empty;
            }
            let mut effects = on_resize(model);
            prune_lookups(model);
            effects.extend(lookup_kinds(model, user_ids));
            effects.extend(lookup_reach(model, account_ids));
            effects
        }
        Err(e) => {
            let list = &mut model.accounts;
            if generation == list.generation && list.pages.get(&page).is_some_and(Load::is_loading)
            {
                model.status = Status::from_error("cannot load accounts", &e, true);
                list.pages.insert(page, Load::Failed(e));
            }
            Vec::new()
        }
    }
}

/// Asks which of these user ids are directory users, once per id.
fn lookup_kinds(model: &mut Model, user_ids: Vec<String>) -> Vec<Effect> {
    if !model.capabilities.directory {
        return Vec::new();
    }
    let mut unknown = Vec::new();
    for id in user_ids {
        if !model.kinds.contains_key(&id) {
            model.kinds.insert(id.clone(), Load::Loading(0));
            unknown.push(id);
        }
    }
    if unknown.is_empty() {
        Vec::new()
    } else {
        vec![Effect::LookupKinds { user_ids: unknown }]
    }
}

/// Entries the per-row lookups (kinds, people, reach) may hold before those of rows no longer in memory are
/// dropped, so a long scroll through 100,000 accounts keeps memory flat.
pub const LOOKUPS_KEPT: usize = 4 * (PAGE as usize) * (KEEP_PAGES as usize);

/// Drops the lookups of rows that are no longer in memory once there are more than `LOOKUPS_KEPT` (marked
/// accounts keep theirs; a dropped one is asked again if its row comes back).
fn prune_lookups(model: &mut Model) {
    if model.kinds.len() <= LOOKUPS_KEPT && model.reach.len() <= LOOKUPS_KEPT {
        return;
    }
    let mut users = std::collections::HashSet::new();
    let mut ids = std::collections::HashSet::new();
    let loaded = model.accounts.pages.values().filter_map(|p| p.loaded());
    for a in loaded.flatten().chain(model.accounts.marked.values()) {
        users.insert(a.user_id.clone());
        ids.insert(a.id.clone());
    }
    if let Some(Overlay::Detail(d)) = &model.overlay {
        users.insert(d.account.user_id.clone());
        ids.insert(d.account.id.clone());
    }
    model
        .kinds
        .retain(|u, slot| users.contains(u) || slot.is_loading());
    model.people.retain(|u, _| users.contains(u));
    model
        .reach
        .retain(|id, slot| ids.contains(id) || slot.is_loading());
}

/// Asks what these accounts can reach, once per account (until a change makes it stale).
fn lookup_reach(model: &mut Model, ids: Vec<String>) -> Vec<Effect> {
    let unknown: Vec<String> = ids
        .into_iter()
        .filter(|id| !model.reach.contains_key(id))
        .collect();
    if unknown.is_empty() {
        return Vec::new();
    }
    for id in &unknown {
        model.reach.insert(id.clone(), Load::Loading(0));
    }
    vec![Effect::LoadReach { ids: unknown }]
}

/// What accounts can reach; `None` (a server without the access calls) leaves them unknown for good.
pub fn on_reach(
    model: &mut Model,
    ids: Vec<String>,
    result: Option<Vec<crate::api::wire::AccountReach>>,
) {
    match result {
        Some(accounts) => {
            let mut unanswered: std::collections::HashSet<String> = ids.into_iter().collect();
            for a in accounts {
                unanswered.remove(&a.service_account_id);
                model
                    .reach
                    .insert(a.service_account_id.clone(), Load::Loaded(a.routes));
            }
            // Gone meanwhile, or not the caller's to read: unknown, never waited for again.
            for id in unanswered {
                model.reach.insert(
                    id,
                    Load::Failed(ConnectError::new(Code::NotFound, "not answered")),
                );
            }
        }
        None => {
            for id in ids {
                model.reach.insert(
                    id,
                    Load::Failed(ConnectError::new(Code::Unimplemented, "no access calls")),
                );
            }
        }
    }
}

/// Whether each user id is a directory user (`None`: the lookup failed).
pub fn on_kinds(model: &mut Model, kinds: Vec<(String, Option<bool>)>) {
    for (user_id, kind) in kinds {
        let slot = match kind {
            Some(k) => Load::Loaded(k),
            None => Load::Failed(ConnectError::new(Code::Unknown, "lookup failed")),
        };
        model.kinds.insert(user_id, slot);
    }
}

/// The directory users impersonated accounts act as, kept by user id.
pub fn on_people(model: &mut Model, people: Vec<DirectoryUser>) {
    for user in people {
        model.people.insert(user.id.clone(), user);
    }
}

pub fn on_key(model: &mut Model, command: Option<Command>) -> Vec<Effect> {
    let Some(command) = command else {
        return Vec::new();
    };
    let vp = rows_on_screen(model);
    if let Some(to) = list_move(command, model.accounts.cursor, model.accounts.len(), vp) {
        model.accounts.move_to(to, vp);
        return claim_pages(model);
    }
    match command {
        Command::Add => {
            if !has_list(model) {
                model.status = Status::Info("pick a namespace first (n)".into());
            } else {
                model.overlay = Some(Overlay::Form(Box::new(AccountForm::create(
                    model.current.clone(),
                    model.capabilities.directory,
                ))));
            }
        }
        Command::Detail => {
            if let Some(a) = model.selected_account().cloned() {
                return detail::open(model, a);
            }
        }
        Command::Namespaces => return namespaces::show(model),
        Command::Activity => {
            let namespace = model.current.clone();
            return activity::open(model, namespace, None, Screen::Accounts);
        }
        Command::Policies => match model.current.clone() {
            Some(ns) => {
                return crate::tui::screens::policies::open(model, ns, Screen::Accounts);
            }
            None => {
                model.status = Status::Info("this server has no namespaces, so no policies".into());
            }
        },
        Command::Permissions => match model.current.clone() {
            Some(ns) => return crate::tui::screens::roles::open(model, ns, Screen::Accounts),
            None => {
                model.status = Status::Info("this server has no namespaces, so no roles".into());
            }
        },
        Command::Delete if !model.accounts.marked.is_empty() => super::bulk::delete(model),
        Command::ToggleDisabled if !model.accounts.marked.is_empty() => {
            super::bulk::toggle_disabled(model);
        }
        Command::Mark => match model.selected_account().cloned() {
            Some(a) => {
                if model.accounts.marked.remove(&a.id).is_none() {
                    model.accounts.marked.insert(a.id.clone(), a);
                }
                let cursor = model.accounts.cursor;
                model.accounts.move_to(cursor + 1, vp);
                return claim_pages(model);
            }
            None => model.status = Status::Info("no account selected".into()),
        },
        Command::MarkAll => return marks::mark_all(model),
        Command::Unmark => {
            let n = model.accounts.marked.len();
            model.accounts.marked.clear();
            model.status =
                Status::Info(format!("forgot {n} mark{}", if n == 1 { "" } else { "s" }));
        }
        Command::Edit | Command::Rotate | Command::Delete => {
            match model.selected_account().cloned() {
                Some(a) => return open_action(model, command, a),
                None => model.status = Status::Info("no account selected".into()),
            }
        }
        Command::ToggleDisabled => match model.selected_account().cloned() {
            Some(a) => return super::confirm::toggle_disabled(model, a),
            None => model.status = Status::Info("no account selected".into()),
        },
        Command::Filter => {
            let mut ta = text_field(&model.accounts.filter);
            set_field_focus(&mut ta, true);
            ta.set_placeholder_text("user id, description or id contains…");
            model.accounts.filter_input = Some(ta);
            // The line takes a row of the list.
            return on_resize(model);
        }
        Command::SortBy => super::sort::open(model),
        Command::SortReverse => {
            model.accounts.descending = !model.accounts.descending;
            return reload(model, false);
        }
        Command::ToggleInherited if model.capabilities.namespaces => {
            model.accounts.inherited = !model.accounts.inherited;
            model.accounts.subtree = false;
            return reload(model, false);
        }
        Command::ToggleSubtree if model.capabilities.namespaces => {
            model.accounts.subtree = !model.accounts.subtree;
            model.accounts.inherited = false;
            return reload(model, false);
        }
        Command::State(filter) => {
            model.accounts.states.toggle(filter, model.wall);
            return reload(model, false);
        }
        Command::ClearStates if model.accounts.states.clear() => {
            return reload(model, false);
        }
        Command::Refresh => {
            if !matches!(model.boot, Load::Loaded(())) {
                return boot(model);
            }
            model.status = Status::Empty;
            model.accounts.states.refresh(model.wall);
            model.accounts.dangling = None;
            model.reach.clear();
            return reload(model, true);
        }
        Command::Close if !model.accounts.marked.is_empty() && model.accounts.filter.is_empty() => {
            let n = model.accounts.marked.len();
            model.accounts.marked.clear();
            model.status =
                Status::Info(format!("forgot {n} mark{}", if n == 1 { "" } else { "s" }));
        }
        Command::Close if !model.accounts.filter.is_empty() => {
            model.accounts.filter.clear();
            return reload(model, false);
        }
        _ => {}
    }
    Vec::new()
}

/// Opens the edit form, or the rotate or delete question, for `account` (the delete question asks which
/// policies name it).
pub fn open_action(model: &mut Model, command: Command, account: ServiceAccount) -> Vec<Effect> {
    let (overlay, effects) = match command {
        Command::Edit => (
            Overlay::Form(Box::new(AccountForm::edit(account))),
            Vec::new(),
        ),
        Command::Rotate => (
            Overlay::Confirm(Box::new(Confirm::new(ConfirmAction::Rotate(account)))),
            Vec::new(),
        ),
        _ => {
            let (c, effect) = Confirm::delete(model, account);
            (Overlay::Confirm(Box::new(c)), vec![effect])
        }
    };
    model.overlay = Some(overlay);
    effects
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(n: usize) -> Vec<ServiceAccount> {
        (0..n)
            .map(|i| ServiceAccount {
                id: format!("id{i}"),
                namespace_id: "g".into(),
                originator_id: String::new(),
                description: String::new(),
                user_id: format!("u{i}"),
                expires_at: None,
                created_at: chrono::DateTime::UNIX_EPOCH,
                modified_at: chrono::DateTime::UNIX_EPOCH,
                accessed_at: None,
                disabled: false,
            })
            .collect()
    }

    #[test]
    fn pages_follow_the_cursor_and_memory_stays_bounded() {
        let mut l = AccountList::default();
        l.reset();
        assert_eq!(l.claim_missing(20), vec![0]);
        assert!(l.accept(l.generation, 0, page(100), 100_000));
        assert!(l.claim_missing(20).is_empty(), "page 0 covers the top");
        l.move_to(60, 20);
        assert_eq!(l.claim_missing(20), vec![1], "half a page of margin ahead");
        l.move_to(99_999, 20);
        let missing = l.claim_missing(20);
        assert_eq!(missing, vec![999]);
        assert!(l.pages.len() <= 2 + KEEP_PAGES as usize);
        assert!(
            !l.accept(l.generation + 1, 999, page(100), 100_000),
            "stale"
        );
        assert!(
            !l.accept(l.generation, 5, page(100), 100_000),
            "not asked for"
        );
    }

    #[test]
    fn filter_combines_namespace_and_text() {
        let mut l = AccountList::default();
        let tree = NamespaceTree::default();
        let ns = Expr::field(Field::NamespaceId).eq("ns");
        assert_eq!(l.filter_expr(Some("ns"), &tree), Some(ns.clone()));
        l.filter = "bot".into();
        let text = Expr::or([
            Expr::field(Field::UserId).contains("bot"),
            Expr::field(Field::Description).contains("bot"),
            Expr::field(Field::Id).contains("bot"),
        ]);
        assert_eq!(
            l.filter_expr(Some("ns"), &tree),
            Some(Expr::and([ns, text.clone()]))
        );
        assert_eq!(l.filter_expr(None, &tree), Some(text));
        l.descending = true;
        l.sort = SortKey::Description;
        assert_eq!(l.order_by(), "-description");
    }
}
