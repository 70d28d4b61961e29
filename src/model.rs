//! Domain types shared by every part of sacon (server, store, client, CLI, TUI): namespaces and their tree, directory users, service accounts, expiry presets.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// The name of the one root namespace every tree starts from.
pub const ROOT_NAMESPACE_NAME: &str = "Global";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Namespace {
    pub id: String,
    /// Empty for the root.
    pub parent_id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub modified_at: DateTime<Utc>,
    pub originator_id: String,
    pub route_count: i64,
    pub policy_count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryUser {
    pub id: String,
    pub name: String,
    pub email: String,
    pub groups: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceAccount {
    pub id: String,
    pub namespace_id: String,
    pub originator_id: String,
    pub description: String,
    pub user_id: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub modified_at: DateTime<Utc>,
    pub accessed_at: Option<DateTime<Utc>>,
    /// Refused by `/verify` and the admin API until enabled again; the token is kept (a sacon extension).
    #[serde(default)]
    pub disabled: bool,
}

impl Namespace {
    /// A namespace created at `at`, with no originator, routes or policies.
    pub fn new(
        id: impl Into<String>,
        parent_id: impl Into<String>,
        name: impl Into<String>,
        at: DateTime<Utc>,
    ) -> Namespace {
        Namespace {
            id: id.into(),
            parent_id: parent_id.into(),
            name: name.into(),
            created_at: at,
            modified_at: at,
            originator_id: String::new(),
            route_count: 0,
            policy_count: 0,
        }
    }
}

impl ServiceAccount {
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|e| e <= now)
    }
}

/// Unique accounts have a user ID that exists only for the console; impersonated ones act as a directory user.
/// Not stored: derived from whether `user_id` names a directory user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountKind {
    Unique,
    Impersonated,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Unique => "unique",
            AccountKind::Impersonated => "impersonated",
        }
    }
}

/// When a new account expires, as an admin picks it: a preset or a calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    Never,
    Days(u32),
    Years(u32),
    /// End of the given day is not implied: the account expires at 00:00 UTC of that date.
    On(NaiveDate),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpiryError {
    #[error(
        "expiry {0:?} is not `never`, a number of days like `30d`, years like `1y`, or a date YYYY-MM-DD"
    )]
    Unparsable(String),
    #[error("expiry {0} is not in the future")]
    InPast(NaiveDate),
}

impl Expiry {
    /// The console's presets, in the order the add modal cycles through them.
    pub const PRESETS: [Expiry; 5] = [
        Expiry::Never,
        Expiry::Days(7),
        Expiry::Days(30),
        Expiry::Days(90),
        Expiry::Years(1),
    ];

    /// Parses `never`, `7d`, `30d`, `90d`, `1y` (any count of days or years) or `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Result<Expiry, ExpiryError> {
        let t = text.trim();
        let bad = || ExpiryError::Unparsable(text.to_string());
        if t.eq_ignore_ascii_case("never") {
            return Ok(Expiry::Never);
        }
        if let Some(n) = t.strip_suffix('d') {
            return n
                .parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .map(Expiry::Days)
                .ok_or_else(bad);
        }
        if let Some(n) = t.strip_suffix('y') {
            return n
                .parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .map(Expiry::Years)
                .ok_or_else(bad);
        }
        NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .map(Expiry::On)
            .map_err(|_| bad())
    }

    /// The instant this expiry means when chosen at `now`; `None` for never.
    pub fn resolve(self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, ExpiryError> {
        match self {
            Expiry::Never => Ok(None),
            Expiry::Days(d) => Ok(Some(now + Duration::days(i64::from(d)))),
            Expiry::Years(y) => Ok(Some(
                now.checked_add_months(chrono::Months::new(12 * y))
                    .unwrap_or(now + Duration::days(365 * i64::from(y))),
            )),
            Expiry::On(date) => {
                let at = Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).unwrap_or_default());
                if at <= now {
                    Err(ExpiryError::InPast(date))
                } else {
                    Ok(Some(at))
                }
            }
        }
    }

    pub fn label(self) -> String {
        match self {
            Expiry::Never => "Never".into(),
            Expiry::Days(d) => format!("{d} days"),
            Expiry::Years(1) => "1 year".into(),
            Expiry::Years(y) => format!("{y} years"),
            Expiry::On(date) => date.format("%Y-%m-%d").to_string(),
        }
    }
}

/// The namespace tree built from a flat list (as ListNamespaces returns it).
#[derive(Debug, Clone, Default)]
pub struct NamespaceTree {
    by_id: HashMap<String, Namespace>,
    children: HashMap<String, Vec<String>>,
    roots: Vec<String>,
}

impl NamespaceTree {
    pub fn new(namespaces: Vec<Namespace>) -> NamespaceTree {
        let mut by_id: HashMap<String, Namespace> = HashMap::new();
        for ns in namespaces {
            by_id.insert(ns.id.clone(), ns);
        }
        let mut children: HashMap<String, Vec<String>> = HashMap::new();
        let mut roots = Vec::new();
        for ns in by_id.values() {
            if ns.parent_id.is_empty() || !by_id.contains_key(&ns.parent_id) {
                roots.push(ns.id.clone());
            } else {
                children
                    .entry(ns.parent_id.clone())
                    .or_default()
                    .push(ns.id.clone());
            }
        }
        // Each name lowercased once, not once per comparison.
        let name_order = |by_id: &HashMap<String, Namespace>, ids: &mut Vec<String>| {
            ids.sort_by_cached_key(|id| (by_id[id].name.to_lowercase(), id.clone()));
        };
        name_order(&by_id, &mut roots);
        for ids in children.values_mut() {
            name_order(&by_id, ids);
        }
        NamespaceTree {
            by_id,
            children,
            roots,
        }
    }

    pub fn get(&self, id: &str) -> Option<&Namespace> {
        self.by_id.get(id)
    }

    /// Every namespace id, in no particular order.
    pub fn ids(&self) -> impl Iterator<Item = &String> {
        self.by_id.keys()
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    pub fn roots(&self) -> &[String] {
        &self.roots
    }

    pub fn children(&self, id: &str) -> &[String] {
        self.children.get(id).map(Vec::as_slice).unwrap_or(&[])
    }

    /// `id` and its ancestors, nearest first. Stops at a cycle or a missing parent.
    pub fn ancestors_and_self(&self, id: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut cur = self.by_id.get(id);
        while let Some(ns) = cur {
            if out.contains(&ns.id) {
                break;
            }
            out.push(ns.id.clone());
            cur = self.by_id.get(&ns.parent_id);
        }
        out
    }

    /// Whether `ancestor` is `id` or one of its ancestors; what `ancestors_and_self(id).contains(ancestor)` says,
    /// without collecting them.
    pub fn is_within(&self, id: &str, ancestor: &str) -> bool {
        let mut cur = self.by_id.get(id);
        // A cycle (never stored, but not trusted either) ends the walk after as many steps as there are namespaces.
        for _ in 0..=self.by_id.len() {
            let Some(ns) = cur else {
                return false;
            };
            if ns.id == ancestor {
                return true;
            }
            cur = self.by_id.get(&ns.parent_id);
        }
        false
    }

    /// `id` and all its descendants, depth first.
    pub fn subtree(&self, id: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![id.to_string()];
        while let Some(cur) = stack.pop() {
            if out.contains(&cur) || !self.by_id.contains_key(&cur) {
                continue;
            }
            stack.extend(self.children(&cur).iter().rev().cloned());
            out.push(cur);
        }
        out
    }

    /// Names from the root down, e.g. `["Global", "Engineering", "Platform"]`.
    pub fn path_names(&self, id: &str) -> Vec<String> {
        let mut ids = self.ancestors_and_self(id);
        ids.reverse();
        ids.iter().map(|i| self.by_id[i].name.clone()).collect()
    }

    /// The display path `Global › Engineering › Platform`.
    pub fn display_path(&self, id: &str) -> String {
        self.path_names(id).join(" › ")
    }

    /// Resolves an id, or a `/`-separated path of names from the root (`Global/Engineering/Platform`,
    /// matched case-insensitively; a leading root name may be left out).
    pub fn resolve<'a>(&'a self, id_or_path: &str) -> Option<&'a Namespace> {
        if let Some(ns) = self.by_id.get(id_or_path) {
            return Some(ns);
        }
        let parts: Vec<&str> = id_or_path
            .split(NAMESPACE_PATH_SEPARATORS)
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        if parts.is_empty() {
            return None;
        }
        let find = |level: &'a [String], name: &str| -> Option<&'a String> {
            level
                .iter()
                .find(|i| self.by_id[*i].name.eq_ignore_ascii_case(name))
        };
        let down = |mut cur: &'a String| -> Option<&'a String> {
            for part in &parts[1..] {
                cur = find(self.children(cur), part)?;
            }
            Some(cur)
        };
        let found = find(&self.roots, parts[0]).and_then(down).or_else(|| {
            // "Engineering/Platform" without the root name.
            let first = self
                .roots
                .iter()
                .flat_map(|r| self.children(r))
                .find(|i| self.by_id[*i].name.eq_ignore_ascii_case(parts[0]))?;
            down(first)
        })?;
        self.by_id.get(found)
    }

    /// Depth of `id` below its root (the root is 0).
    pub fn depth(&self, id: &str) -> usize {
        self.ancestors_and_self(id).len().saturating_sub(1)
    }
}

/// A new id for anything sacon creates (accounts, namespaces, policies, routes, role bindings): a random UUID
/// (version 4). Not time-ordered on purpose: the CLI and console take an id's first few characters, which
/// would be shared by everything made in the same minute if the id started with the time.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Strips characters that could steer a terminal: C0/C1 controls (escape sequences), bidi overrides and
/// isolates, zero-width and other invisible formatting characters. Applied to every piece of untrusted text
/// (names, descriptions, e-mails, server messages) before it is rendered.
pub fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c == '\t' || c == '\n' || c == '\r' {
                ' '
            } else {
                c
            }
        })
        .filter(|c| !is_unsafe_char(*c))
        .collect()
}

/// Whether `c` may steer a terminal or hide text: what [`sanitize`] removes.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || is_bidi_control(c)
        || matches!(c,
            '\u{00AD}'              // soft hyphen
            | '\u{180E}'
            | '\u{200B}'..='\u{200D}' // zero-width space, non-joiner, joiner
            | '\u{2060}'..='\u{2064}'
            | '\u{206A}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}')
}

/// Bidi embeddings, overrides, isolates and marks: they reorder the text around them on screen, so a name can
/// show as something else than it is.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c,
        '\u{061C}'                // arabic letter mark
        | '\u{200E}' | '\u{200F}' // LRM, RLM
        | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
        | '\u{2066}'..='\u{2069}') // bidi isolates
}

/// What free text (a description) may not contain: control characters other than tab and newline, and bidi
/// controls. Zero-width joiners stay allowed there, since emoji sequences are made of them.
pub fn is_forbidden_in_text(c: char) -> bool {
    (c.is_control() && c != '\t' && c != '\n') || is_bidi_control(c)
}

/// Characters a namespace name may not contain: they separate the names of a namespace path
/// (`Global/Engineering`, `Global › Engineering`), so a name holding one could not be reached by its path.
pub const NAMESPACE_PATH_SEPARATORS: [char; 2] = ['/', '›'];

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(id: &str, parent: &str, name: &str) -> Namespace {
        Namespace::new(id, parent, name, Utc.timestamp_opt(0, 0).unwrap())
    }

    #[test]
    fn tree_paths_and_resolution() {
        let tree = NamespaceTree::new(vec![
            ns("g", "", "Global"),
            ns("e", "g", "Engineering"),
            ns("p", "e", "Platform"),
            ns("f", "g", "Finance"),
        ]);
        assert_eq!(tree.display_path("p"), "Global › Engineering › Platform");
        assert_eq!(tree.resolve("Global/Engineering/Platform").unwrap().id, "p");
        assert_eq!(tree.resolve("engineering/platform").unwrap().id, "p");
        assert_eq!(tree.resolve("f").unwrap().id, "f");
        assert!(tree.resolve("Global/Nope").is_none());
        assert_eq!(tree.ancestors_and_self("p"), vec!["p", "e", "g"]);
        assert_eq!(tree.subtree("g"), vec!["g", "e", "p", "f"]);
        assert_eq!(tree.children("g"), &["e".to_string(), "f".to_string()]);
    }

    #[test]
    fn expiry_parsing() {
        let now = Utc.with_ymd_and_hms(2026, 1, 31, 12, 0, 0).unwrap();
        assert_eq!(Expiry::parse("never").unwrap().resolve(now).unwrap(), None);
        assert_eq!(
            Expiry::parse("7d").unwrap().resolve(now).unwrap(),
            Some(Utc.with_ymd_and_hms(2026, 2, 7, 12, 0, 0).unwrap())
        );
        assert_eq!(
            Expiry::parse("1y").unwrap().resolve(now).unwrap(),
            Some(Utc.with_ymd_and_hms(2027, 1, 31, 12, 0, 0).unwrap())
        );
        assert!(Expiry::parse("2026-02-30").is_err());
        assert!(Expiry::parse("0d").is_err());
        assert!(matches!(
            Expiry::parse("2020-01-01").unwrap().resolve(now),
            Err(ExpiryError::InPast(_))
        ));
    }

    #[test]
    fn sanitize_strips_escapes_and_bidi() {
        assert_eq!(
            sanitize("a\u{1b}[31mb\u{202E}c\u{200B}d\u{9b}e"),
            "a[31mbcde"
        );
        assert_eq!(sanitize("tab\there"), "tab here");
    }
}
