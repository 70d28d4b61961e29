//! The namespace picker: the tree with expand/collapse, a live name filter, and per namespace its own account
//! count plus the expired / expiring roll-up of its subtree. State, pure moves over the visible rows, its keys
//! (choosing a namespace, asking for the roll-ups), render.

use std::collections::{HashMap, HashSet};

use crossterm::event::KeyEvent;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};
use ratatui_textarea::TextArea;
use unicode_width::UnicodeWidthStr;

use super::frame::body_area;
use super::{
    accounts, activity, field_input, field_text, list_move, row, set_field_focus, text_field,
};
use crate::api::ConnectError;
use crate::model::{NamespaceTree, sanitize};
use crate::tui::format::fit;
use crate::tui::keymap::Command;
use crate::tui::msg::{Effect, Rollup, RollupRequest};
use crate::tui::state::{Load, Model, Screen, Status};
use crate::tui::update::boot;

#[derive(Debug, Default)]
pub struct NamespacePicker {
    pub expanded: HashSet<String>,
    /// Index into the visible rows.
    pub cursor: usize,
    /// First visible row.
    pub offset: usize,
    /// The applied name filter.
    pub filter: String,
    /// The filter line while it is being typed (it filters live).
    pub filter_input: Option<TextArea<'static>>,
    pub rollups: HashMap<String, Load<Rollup>>,
    pub rollup_seq: u64,
}

/// A visible line of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub id: String,
    pub depth: usize,
    pub has_children: bool,
    pub expanded: bool,
}

impl NamespacePicker {
    /// The filter in force: what is being typed, else what was applied.
    pub fn active_filter(&self) -> String {
        match &self.filter_input {
            Some(ta) => field_text(ta),
            None => self.filter.clone(),
        }
    }

    /// The rows on screen: the tree walked through expanded nodes, or, with a filter, every match with its
    /// ancestors (shown expanded).
    pub fn rows(&self, tree: &NamespaceTree) -> Vec<Row> {
        let filter = self.active_filter().trim().to_lowercase();
        let include: Option<HashSet<String>> = (!filter.is_empty()).then(|| {
            let mut keep = HashSet::new();
            for root in tree.roots() {
                for id in tree.subtree(root) {
                    let matches = tree
                        .get(&id)
                        .is_some_and(|n| n.name.to_lowercase().contains(&filter));
                    if matches {
                        keep.extend(tree.ancestors_and_self(&id));
                    }
                }
            }
            keep
        });
        let mut out = Vec::new();
        let mut stack: Vec<(String, usize)> =
            tree.roots().iter().rev().map(|r| (r.clone(), 0)).collect();
        let mut seen = HashSet::new();
        while let Some((id, depth)) = stack.pop() {
            if !seen.insert(id.clone()) {
                continue;
            }
            if let Some(keep) = &include
                && !keep.contains(&id)
            {
                continue;
            }
            let children = tree.children(&id);
            let expanded = include.is_some() || self.expanded.contains(&id);
            out.push(Row {
                id: id.clone(),
                depth,
                has_children: !children.is_empty(),
                expanded: expanded && !children.is_empty(),
            });
            if expanded {
                stack.extend(children.iter().rev().map(|c| (c.clone(), depth + 1)));
            }
        }
        out
    }

    pub fn selected_id(&self, tree: &NamespaceTree) -> Option<String> {
        self.rows(tree).get(self.cursor).map(|r| r.id.clone())
    }

    /// Puts the cursor on `id`, expanding its ancestors so it is visible.
    pub fn reveal(&mut self, tree: &NamespaceTree, id: &str, viewport: usize) {
        for ancestor in tree.ancestors_and_self(id).into_iter().skip(1) {
            self.expanded.insert(ancestor);
        }
        if let Some(i) = self.rows(tree).iter().position(|r| r.id == id) {
            self.cursor = i;
        }
        self.scroll_into_view(viewport);
    }

    /// Moves the cursor by `delta` rows (clamped), keeping it on screen.
    pub fn move_by(&mut self, tree: &NamespaceTree, delta: isize, viewport: usize) {
        let len = self.rows(tree).len();
        self.cursor = if len == 0 {
            0
        } else {
            self.cursor.saturating_add_signed(delta).min(len - 1)
        };
        self.scroll_into_view(viewport);
    }

    pub fn clamp(&mut self, tree: &NamespaceTree, viewport: usize) {
        self.move_by(tree, 0, viewport);
    }

    fn scroll_into_view(&mut self, viewport: usize) {
        let viewport = viewport.max(1);
        if self.cursor < self.offset {
            self.offset = self.cursor;
        } else if self.cursor >= self.offset + viewport {
            self.offset = self.cursor + 1 - viewport;
        }
    }

    /// `→`/`l`: expands, or steps onto the first child when already expanded.
    pub fn expand(&mut self, tree: &NamespaceTree, viewport: usize) {
        let rows = self.rows(tree);
        let Some(row) = rows.get(self.cursor) else {
            return;
        };
        if !row.has_children {
            return;
        }
        if row.expanded {
            self.move_by(tree, 1, viewport);
        } else {
            self.expanded.insert(row.id.clone());
        }
    }

    /// `←`/`h`: collapses, or steps to the parent when already collapsed.
    pub fn collapse(&mut self, tree: &NamespaceTree, viewport: usize) {
        let rows = self.rows(tree);
        let Some(row) = rows.get(self.cursor) else {
            return;
        };
        if row.expanded && self.active_filter().trim().is_empty() {
            self.expanded.remove(&row.id);
            self.clamp(tree, viewport);
            return;
        }
        let parent = tree.get(&row.id).map(|n| n.parent_id.clone());
        if let Some(i) = parent.and_then(|p| rows.iter().position(|r| r.id == p)) {
            self.cursor = i;
            self.scroll_into_view(viewport);
        }
    }
}

/// Rows available to the tree in a body of `height` rows (title and filter line take two).
pub fn viewport(body_height: u16) -> usize {
    usize::from(body_height.saturating_sub(2)).max(1)
}

/// Rows the tree has on the terminal now.
pub fn rows_on_screen(model: &Model) -> usize {
    viewport(body_area(model.size).height)
}

/// Keeps the cursor on a row and on screen (after a resize).
pub fn clamp(model: &mut Model) {
    let vp = rows_on_screen(model);
    model.picker.clamp(&model.tree, vp);
}

/// Asks for the account counts of every namespace and the expired / expiring counts of its subtree.
pub fn load_rollups(model: &mut Model) -> Vec<Effect> {
    if !model.capabilities.namespaces || model.tree.is_empty() {
        return Vec::new();
    }
    let seq = model.seq();
    model.picker.rollup_seq = seq;
    let mut items = Vec::new();
    for root in model.tree.roots().to_vec() {
        for id in model.tree.subtree(&root) {
            // A namespace shown only as path context has no accounts the caller may count.
            if model.role_in(&id).is_none() {
                model.picker.rollups.remove(&id);
                continue;
            }
            model.picker.rollups.insert(id.clone(), Load::Loading(seq));
            items.push(RollupRequest {
                subtree: model.tree.subtree(&id),
                namespace_id: id,
            });
        }
    }
    vec![Effect::LoadRollups {
        seq,
        now: model.wall,
        items,
    }]
}

pub fn on_rollup(
    model: &mut Model,
    seq: u64,
    namespace_id: String,
    result: Result<Rollup, ConnectError>,
) {
    if seq == model.picker.rollup_seq {
        let slot = match result {
            Ok(r) => Load::Loaded(r),
            Err(e) => Load::Failed(e),
        };
        model.picker.rollups.insert(namespace_id, slot);
    }
}

/// Opens the account list of `id`, remembering it for the next start.
pub fn select(model: &mut Model, id: String) -> Vec<Effect> {
    let changed = model.current.as_deref() != Some(id.as_str());
    model.current = Some(id.clone());
    model.screen = Screen::Accounts;
    model.status = Status::Empty;
    let mut effects = vec![Effect::Remember { namespace_id: id }];
    if changed {
        model.accounts.marked.clear();
    }
    if changed || model.accounts.total.is_none() {
        model.accounts.filter.clear();
        effects.extend(accounts::reload(model, false));
    }
    effects
}

/// Shows the picker, on the current namespace, with fresh counts.
pub fn show(model: &mut Model) -> Vec<Effect> {
    if !model.capabilities.namespaces {
        model.status = Status::Info("this server has no namespaces".into());
        return Vec::new();
    }
    model.screen = Screen::Namespaces;
    if !matches!(model.boot, Load::Loaded(())) {
        return Vec::new();
    }
    if let Some(id) = model.current.clone() {
        let vp = rows_on_screen(model);
        model.picker.reveal(&model.tree, &id, vp);
    }
    load_rollups(model)
}

pub fn on_key(model: &mut Model, command: Option<Command>) -> Vec<Effect> {
    let Some(command) = command else {
        return Vec::new();
    };
    let vp = rows_on_screen(model);
    let len = model.picker.rows(&model.tree).len();
    if let Some(to) = list_move(command, model.picker.cursor, len, vp) {
        let delta = to as isize - model.picker.cursor as isize;
        model.picker.move_by(&model.tree, delta, vp);
        return Vec::new();
    }
    match command {
        Command::Expand => model.picker.expand(&model.tree, vp),
        Command::Collapse => model.picker.collapse(&model.tree, vp),
        Command::Filter => {
            let mut ta = text_field(&model.picker.filter);
            set_field_focus(&mut ta, true);
            model.picker.filter_input = Some(ta);
        }
        Command::Select => {
            if let Some(id) = model.picker.selected_id(&model.tree) {
                if model.role_in(&id).is_none() {
                    model.status = Status::Info(format!(
                        "you hold no role in {}: it is shown as the path to the namespaces below it",
                        model.path_of(&id)
                    ));
                    return Vec::new();
                }
                return select(model, id);
            }
        }
        Command::Activity => {
            if let Some(id) = model.picker.selected_id(&model.tree) {
                return activity::open(model, Some(id), None, Screen::Namespaces);
            }
        }
        Command::NewNamespace | Command::RenameNamespace | Command::DeleteNamespace => {
            super::namespace_edit::start(model, command);
        }
        Command::Policies => {
            if let Some(id) = model.picker.selected_id(&model.tree) {
                if model.role_in(&id).is_none() {
                    model.status =
                        Status::Info(format!("you hold no role in {}", model.path_of(&id)));
                    return Vec::new();
                }
                return super::policies::open(model, id, Screen::Namespaces);
            }
        }
        Command::Permissions => {
            if let Some(id) = model.picker.selected_id(&model.tree) {
                if model.role_in(&id).is_none() {
                    model.status =
                        Status::Info(format!("you hold no role in {}", model.path_of(&id)));
                    return Vec::new();
                }
                return super::roles::open(model, id, Screen::Namespaces);
            }
        }
        Command::Refresh => {
            if matches!(model.boot, Load::Loaded(())) {
                let mut effects = boot(model);
                effects.extend(load_rollups(model));
                return effects;
            }
            return boot(model);
        }
        Command::Close if model.current.is_some() => model.screen = Screen::Accounts,
        _ => {}
    }
    Vec::new()
}

/// The filter line filters live; Enter keeps it, Esc clears it.
pub fn on_filter_key(model: &mut Model, command: Option<Command>, key: KeyEvent) -> Vec<Effect> {
    match command {
        Some(Command::ApplyFilter) => {
            if let Some(ta) = model.picker.filter_input.take() {
                model.picker.filter = field_text(&ta).trim().to_string();
                // Enter goes to the first namespace the filter matched, not an ancestor shown as its path.
                let wanted = model.picker.filter.to_lowercase();
                let first = model.picker.rows(&model.tree).iter().position(|r| {
                    model
                        .tree
                        .get(&r.id)
                        .is_some_and(|n| n.name.to_lowercase().contains(&wanted))
                });
                if let Some(i) = first {
                    model.picker.cursor = i;
                }
            }
        }
        Some(Command::Close) => {
            model.picker.filter_input = None;
            model.picker.filter.clear();
        }
        _ => {
            if let Some(ta) = model.picker.filter_input.as_mut()
                && field_input(ta, key)
            {
                model.picker.cursor = 0;
                model.picker.offset = 0;
            }
        }
    }
    clamp(model);
    Vec::new()
}

pub fn render(model: &Model, area: Rect, buf: &mut Buffer) {
    let theme = model.theme;
    let picker = &model.picker;
    let title = match &model.boot {
        Load::Loading(_) | Load::Idle => "Namespaces — loading…".to_string(),
        Load::Failed(_) => "Namespaces — could not load (R to retry)".to_string(),
        Load::Loaded(()) => format!("Namespaces ({})", model.tree.len()),
    };
    Paragraph::new(Line::styled(fit(&title, area.width.into()), theme.title()))
        .render(row(area, 0), buf);

    let filter_line = match &picker.filter_input {
        Some(ta) => {
            let label = Span::styled("/ ", theme.key());
            let r = row(area, 1);
            Paragraph::new(Line::from(label)).render(r, buf);
            let field = Rect {
                x: r.x.saturating_add(2).min(r.x + r.width),
                width: r.width.saturating_sub(2),
                ..r
            };
            ta.render(field, buf);
            None
        }
        None if !picker.filter.is_empty() => Some(Line::from(vec![
            Span::styled("filter: ", theme.dim()),
            Span::raw(sanitize(&picker.filter)),
            Span::styled("  (/ to change, Esc in the filter clears)", theme.dim()),
        ])),
        None => None,
    };
    if let Some(line) = filter_line {
        Paragraph::new(line).render(row(area, 1), buf);
    }

    // A namespace being created, renamed or deleted asks on the last row.
    let editing = model.ns_edit.is_some() && area.height > 3;
    if editing {
        super::namespace_edit::render(model, row(area, area.height - 1), buf);
    }
    let list = Rect {
        y: area.y.saturating_add(2),
        height: area
            .height
            .saturating_sub(2)
            .saturating_sub(u16::from(editing)),
        ..area
    };
    let rows = picker.rows(&model.tree);
    if rows.is_empty() && matches!(model.boot, Load::Loaded(())) {
        let text = if picker.active_filter().trim().is_empty() {
            "No namespaces."
        } else {
            "No namespace matches the filter."
        };
        Paragraph::new(Line::styled(text, theme.dim())).render(row(list, 0), buf);
        return;
    }
    let height = usize::from(list.height);
    let offset = effective_offset(picker.cursor, picker.offset, height, rows.len());
    let width = usize::from(list.width);
    for (i, r) in rows.iter().enumerate().skip(offset).take(height) {
        let line_area = row(list, (i - offset) as u16);
        let selected = i == picker.cursor;
        let line = tree_line(model, r, width);
        let mut p = Paragraph::new(line);
        if selected {
            p = p.style(theme.selected());
        }
        p.render(line_area, buf);
    }
}

/// The offset that keeps the cursor visible in a viewport of `height`, whatever size it was computed for.
pub fn effective_offset(cursor: usize, offset: usize, height: usize, len: usize) -> usize {
    if height == 0 || len == 0 {
        return 0;
    }
    let mut off = offset.min(len.saturating_sub(1));
    if cursor < off {
        off = cursor;
    } else if cursor >= off + height {
        off = cursor + 1 - height;
    }
    off
}

fn tree_line(model: &Model, r: &Row, width: usize) -> Line<'static> {
    let theme = model.theme;
    let indent = "  ".repeat(r.depth.min(12));
    let arrow = match (r.has_children, r.expanded) {
        (false, _) => "  ",
        (true, true) => "▾ ",
        (true, false) => "▸ ",
    };
    let current = model.current.as_deref() == Some(r.id.as_str());
    let name = model.namespace_name(&r.id);
    let mut right: Vec<Span<'static>> = Vec::new();
    match model.picker.rollups.get(&r.id) {
        Some(Load::Loaded(roll)) => {
            let mut own = if roll.own == 1 {
                "1 account".to_string()
            } else {
                format!("{} accounts", roll.own)
            };
            // The marks count the whole subtree, so the subtree's total is shown beside them.
            if roll.subtree > roll.own {
                own.push_str(&format!(" ({} in subtree)", roll.subtree));
            }
            right.push(Span::styled(own, theme.text()));
            if width >= 50 {
                if roll.expired > 0 {
                    right.push(Span::raw("  "));
                    right.push(Span::styled(
                        format!("✗ {} expired", roll.expired),
                        theme.expired(),
                    ));
                }
                if roll.expiring > 0 {
                    right.push(Span::raw("  "));
                    right.push(Span::styled(
                        format!("! {} ≤7d", roll.expiring),
                        theme.expiring(),
                    ));
                }
            } else if roll.expired + roll.expiring > 0 {
                right.push(Span::styled(
                    format!(" ✗{} !{}", roll.expired, roll.expiring),
                    theme.warning(),
                ));
            }
        }
        Some(Load::Loading(_)) => right.push(Span::styled("…", theme.dim())),
        Some(Load::Failed(_)) => right.push(Span::styled("count failed", theme.error())),
        Some(Load::Idle) | None => {}
    }
    let reachable = model.role_in(&r.id).is_some();
    if !reachable {
        right.push(Span::styled("no role · path only", theme.dim()));
    }
    let right_width: usize = right.iter().map(|s| s.content.width()).sum();
    let marker = if current { "● " } else { "  " };
    let left_fixed = marker.width() + indent.width() + arrow.width();
    let name_room = width
        .saturating_sub(left_fixed)
        .saturating_sub(right_width + 1);
    let name = fit(&name, name_room.max(1));
    let used = left_fixed + name.width();
    let pad = width.saturating_sub(used + right_width);
    let mut spans = vec![
        Span::styled(marker, theme.ok()),
        Span::raw(indent),
        Span::styled(arrow, theme.dim()),
        Span::styled(
            name,
            if current {
                theme.focused()
            } else if !reachable {
                theme.dim()
            } else {
                Style::new()
            },
        ),
    ];
    if used + right_width < width {
        spans.push(Span::raw(" ".repeat(pad)));
        spans.extend(right);
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Namespace;
    use chrono::{TimeZone, Utc};

    fn tree() -> NamespaceTree {
        let t = Utc.timestamp_opt(0, 0).unwrap();
        let ns = |id: &str, parent: &str, name: &str| Namespace::new(id, parent, name, t);
        NamespaceTree::new(vec![
            ns("g", "", "Global"),
            ns("e", "g", "Engineering"),
            ns("p", "e", "Platform"),
            ns("f", "g", "Finance"),
        ])
    }

    #[test]
    fn expand_collapse_and_filter() {
        let tree = tree();
        let mut p = NamespacePicker::default();
        assert_eq!(p.rows(&tree).len(), 1);
        p.expand(&tree, 10);
        let ids: Vec<_> = p.rows(&tree).into_iter().map(|r| r.id).collect();
        assert_eq!(ids, ["g", "e", "f"]);
        p.expand(&tree, 10); // already expanded: step to the first child
        assert_eq!(p.selected_id(&tree).as_deref(), Some("e"));
        p.collapse(&tree, 10); // collapsed leaf-ish: go to parent
        assert_eq!(p.selected_id(&tree).as_deref(), Some("g"));
        p.filter = "plat".into();
        let ids: Vec<_> = p.rows(&tree).into_iter().map(|r| r.id).collect();
        assert_eq!(ids, ["g", "e", "p"]);
        p.filter.clear();
        p.reveal(&tree, "p", 10);
        assert_eq!(p.selected_id(&tree).as_deref(), Some("p"));
    }
}
