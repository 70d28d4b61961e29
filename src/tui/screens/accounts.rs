//! The account list: a server-side sorted and filtered query, loaded a page at a time around the cursor (a
//! namespace with 100,000 accounts never loads them all), with audit markers per row. State, paging, render.

use std::collections::BTreeMap;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Widget};
use ratatui_textarea::TextArea;

use super::row;
use crate::api::ListQuery;
use crate::filter::{Expr, Field};
use crate::model::{NamespaceTree, ServiceAccount, sanitize};
use crate::tui::format::{self, ExpiryMark, LEGEND, UNUSED_SYMBOL, fit};
use crate::tui::state::{Load, Model};

/// Rows per request.
pub const PAGE: u64 = 100;
/// Pages kept in memory around the cursor; farther ones are dropped and fetched again when needed.
pub const KEEP_PAGES: u64 = 4;

/// The columns the server can sort by, in the order `s` cycles through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

    pub fn next(self) -> SortKey {
        let i = SortKey::CYCLE.iter().position(|k| *k == self).unwrap_or(0);
        SortKey::CYCLE[(i + 1) % SortKey::CYCLE.len()]
    }
}

#[derive(Debug)]
pub struct AccountList {
    pub sort: SortKey,
    pub descending: bool,
    /// The applied filter (user id, description or id contains it).
    pub filter: String,
    /// The filter line while it is being typed; applied with Enter.
    pub filter_input: Option<TextArea<'static>>,
    /// Also list the accounts of ancestor namespaces (usable here too).
    pub inherited: bool,
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
            inherited: false,
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

    /// The filter for the list query: the namespace (and its ancestors when inherited accounts are shown) and the
    /// text filter. `namespace` is `None` when the server has no namespaces.
    pub fn filter_expr(&self, namespace: Option<&str>, tree: &NamespaceTree) -> Option<Expr> {
        let mut parts = Vec::new();
        if let Some(ns) = namespace {
            if self.inherited {
                let ids = tree.ancestors_and_self(ns);
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

/// Which columns fit at this width.
#[derive(Debug, Clone, Copy)]
struct Columns {
    kind: bool,
    description: bool,
    created: bool,
    last_used: bool,
    namespace: bool,
}

fn columns(width: u16, inherited: bool) -> Columns {
    // Where an inherited account comes from matters more in that view than when it was created.
    Columns {
        kind: width >= 60,
        description: width >= 72,
        created: width >= if inherited { 100 } else { 80 },
        last_used: width >= 50,
        namespace: inherited && width >= 66,
    }
}

pub fn render(model: &Model, area: Rect, buf: &mut Buffer) {
    let theme = model.theme;
    let list = &model.accounts;
    let sort = format!(
        "sorted by {} {}",
        list.sort.label(),
        if list.descending { "↓" } else { "↑" }
    );
    let mut title = vec![Span::styled("Accounts", theme.title())];
    if list.inherited {
        title.push(Span::styled(" +inherited", theme.warning()));
    }
    if !list.filter.is_empty() && list.filter_input.is_none() {
        title.push(Span::raw(format!(
            " · filter “{}”",
            fit(&sanitize(&list.filter), 24)
        )));
    }
    title.push(Span::styled(format!(" · {sort}"), theme.dim()));
    Paragraph::new(Line::from(title)).render(row(area, 0), buf);

    let mut table_area = Rect {
        y: area.y.saturating_add(1),
        height: area.height.saturating_sub(1),
        ..area
    };
    if let Some(ta) = &list.filter_input {
        let r = row(area, 0);
        Paragraph::new(Line::styled("/ ", theme.key())).render(r, buf);
        Widget::render(
            ta,
            Rect {
                x: r.x.saturating_add(2).min(r.x + r.width),
                width: r.width.saturating_sub(2),
                ..r
            },
            buf,
        );
    }
    if area.height >= 12 {
        let legend = row(area, area.height - 1);
        Paragraph::new(Line::styled(fit(LEGEND, legend.width.into()), theme.dim()))
            .render(legend, buf);
        table_area.height = table_area.height.saturating_sub(1);
    }

    if list.total == Some(0) {
        let text = if list.filter.is_empty() {
            "No accounts here yet. Press a to add one."
        } else {
            "No account matches the filter."
        };
        Paragraph::new(Line::styled(fit(text, area.width.into()), theme.dim()))
            .render(row(table_area, 1), buf);
        render_header(model, table_area, buf);
        return;
    }
    if list.total.is_none() {
        let text = match list.pages.get(&(list.offset as u64 / PAGE)) {
            Some(Load::Failed(_)) => "Could not load the accounts (R to retry).",
            _ if model.current.is_none() && model.capabilities.namespaces => {
                "Pick a namespace with n."
            }
            _ => "Loading…",
        };
        Paragraph::new(Line::styled(text, theme.dim())).render(row(table_area, 1), buf);
        render_header(model, table_area, buf);
        return;
    }
    render_table(model, table_area, buf);
}

fn header_cells(model: &Model, cols: Columns) -> (Vec<Cell<'static>>, Vec<Constraint>) {
    let theme = model.theme;
    let list = &model.accounts;
    let arrow = if list.descending { "↓" } else { "↑" };
    let label = |key: Option<super::accounts::SortKey>, text: &str| -> Cell<'static> {
        let mut t = text.to_string();
        if key == Some(list.sort) {
            t.push_str(arrow);
        }
        Cell::from(Span::styled(t, theme.column_header()))
    };
    let mut cells = vec![Cell::from(""), label(Some(SortKey::UserId), "User ID")];
    let mut widths = vec![Constraint::Length(2), Constraint::Fill(2)];
    if cols.kind {
        cells.push(label(None, "Kind"));
        widths.push(Constraint::Length(7));
    }
    if cols.description {
        cells.push(label(Some(SortKey::Description), "Description"));
        widths.push(Constraint::Fill(3));
    }
    if cols.created {
        cells.push(label(Some(SortKey::Created), "Created"));
        widths.push(Constraint::Length(10));
    }
    cells.push(label(Some(SortKey::Expires), "Expires"));
    widths.push(Constraint::Length(16));
    if cols.last_used {
        cells.push(label(Some(SortKey::LastUsed), "Last used"));
        widths.push(Constraint::Length(9));
    }
    if cols.namespace {
        cells.push(label(None, "From"));
        widths.push(Constraint::Length(12));
    }
    (cells, widths)
}

fn render_header(model: &Model, area: Rect, buf: &mut Buffer) {
    let cols = columns(area.width, model.accounts.inherited);
    let (cells, widths) = header_cells(model, cols);
    Table::new(Vec::<Row>::new(), widths)
        .header(Row::new(cells))
        .column_spacing(1)
        .render(area, buf);
}

fn render_table(model: &Model, area: Rect, buf: &mut Buffer) {
    let theme = model.theme;
    let list = &model.accounts;
    let cols = columns(area.width, list.inherited);
    let (cells, widths) = header_cells(model, cols);
    let height = usize::from(area.height.saturating_sub(1));
    let offset = super::namespaces::effective_offset(list.cursor, list.offset, height, list.len());
    let end = (offset + height).min(list.len());
    let mut rows = Vec::with_capacity(end.saturating_sub(offset));
    for i in offset..end {
        let selected = i == list.cursor;
        let row = match list.get(i) {
            Some(a) => account_row(model, a, cols),
            None => {
                let text = match list.pages.get(&(i as u64 / PAGE)) {
                    Some(Load::Failed(_)) => "could not load (R to retry)",
                    _ => "loading…",
                };
                Row::new(vec![
                    Cell::from(""),
                    Cell::from(Span::styled(text, theme.dim())),
                ])
            }
        };
        rows.push(if selected {
            row.style(theme.selected())
        } else {
            row
        });
    }
    Table::new(rows, widths)
        .header(Row::new(cells))
        .column_spacing(1)
        .render(area, buf);
}

fn account_row(model: &Model, a: &ServiceAccount, cols: Columns) -> Row<'static> {
    let theme = model.theme;
    let now = model.wall;
    let marks = format::marks(a, now);
    let (expiry_style, expiry_symbol) = match marks.expiry {
        ExpiryMark::Expired => (theme.expired(), marks.expiry.symbol()),
        ExpiryMark::Soon => (theme.expiring(), marks.expiry.symbol()),
        ExpiryMark::Never => (theme.never_expires(), marks.expiry.symbol()),
        ExpiryMark::Fine => (Style::new(), marks.expiry.symbol()),
    };
    let marker = Line::from(vec![
        Span::styled(expiry_symbol, expiry_style),
        if marks.unused {
            Span::styled(UNUSED_SYMBOL, theme.unused())
        } else {
            Span::raw(" ")
        },
    ]);
    let mut cells = vec![Cell::from(marker), Cell::from(sanitize(&a.user_id))];
    if cols.kind {
        let kind = match model.kind_of(&a.user_id) {
            Some(true) => "impers.",
            Some(false) => "unique",
            None => "…",
        };
        cells.push(Cell::from(kind));
    }
    if cols.description {
        cells.push(Cell::from(sanitize(&a.description)));
    }
    if cols.created {
        cells.push(Cell::from(a.created_at.format("%Y-%m-%d").to_string()));
    }
    cells.push(Cell::from(Span::styled(
        format::expires(a.expires_at, now),
        expiry_style,
    )));
    if cols.last_used {
        cells.push(Cell::from(Span::styled(
            format::last_used(a.accessed_at, now),
            if marks.unused {
                theme.unused()
            } else {
                Style::new()
            },
        )));
    }
    if cols.namespace {
        let from = if model.current.as_deref() == Some(a.namespace_id.as_str()) {
            "here".to_string()
        } else {
            model.namespace_name(&a.namespace_id)
        };
        cells.push(Cell::from(from));
    }
    Row::new(cells)
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
        l.sort = l.sort.next();
        assert_eq!(l.order_by(), "-description");
    }
}
