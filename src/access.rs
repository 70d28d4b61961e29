//! Namespace roles, shared by the server (which enforces them) and the clients (which offer only what they
//! allow): the `viewer` < `manager` < `admin` ladder, permissions binding a user or group to a role on a
//! namespace, and the effective role a caller's grants give in a namespace — the highest grant on it or on any
//! of its ancestors.

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::NamespaceTree;

/// What a role lets its holder do in a namespace and all of its descendants. Ordered: each includes the one
/// before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read accounts, namespaces, permissions, directory look-ups and activity.
    Viewer,
    /// Viewer, plus create, edit, rotate and delete service accounts.
    Manager,
    /// Manager, plus child namespaces and permissions.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Manager, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }

    /// Exactly `viewer`, `manager` or `admin`.
    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who a permission is granted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubjectType {
    /// A directory user, or the user id of a service account.
    User,
    /// A directory group: every member holds the role.
    Group,
}

impl SubjectType {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectType::User => "user",
            SubjectType::Group => "group",
        }
    }

    /// Exactly `user` or `group`.
    pub fn parse(text: &str) -> Option<SubjectType> {
        match text {
            "user" => Some(SubjectType::User),
            "group" => Some(SubjectType::Group),
            _ => None,
        }
    }
}

/// One role binding on one namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permission {
    pub id: String,
    pub namespace_id: String,
    pub subject_type: SubjectType,
    pub subject_id: String,
    pub role: Role,
    pub originator_id: String,
    pub created_at: DateTime<Utc>,
    pub modified_at: DateTime<Utc>,
}

impl Permission {
    /// Whether this binding applies to a user with these groups.
    pub fn applies_to(&self, user_id: &str, groups: &[String]) -> bool {
        match self.subject_type {
            SubjectType::User => self.subject_id == user_id,
            SubjectType::Group => groups.contains(&self.subject_id),
        }
    }
}

/// The roles one caller holds, by the namespace each was granted on (the highest when several apply).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    by_namespace: HashMap<String, Role>,
}

impl Grants {
    /// The grants among `permissions` that apply to `user_id` (directly or through one of `groups`).
    pub fn for_user<'a>(
        permissions: impl IntoIterator<Item = &'a Permission>,
        user_id: &str,
        groups: &[String],
    ) -> Grants {
        let mut grants = Grants::default();
        for p in permissions {
            if p.applies_to(user_id, groups) {
                grants.grant(&p.namespace_id, p.role);
            }
        }
        grants
    }

    /// Grants from `(namespace id, role)` pairs, as `UserInfo.namespaceRoles` carries them; unknown role names
    /// are skipped.
    pub fn from_roles<'a>(roles: impl IntoIterator<Item = (&'a str, &'a str)>) -> Grants {
        let mut grants = Grants::default();
        for (ns, role) in roles {
            if let Some(role) = Role::parse(role) {
                grants.grant(ns, role);
            }
        }
        grants
    }

    pub fn grant(&mut self, namespace_id: &str, role: Role) {
        let held = self
            .by_namespace
            .entry(namespace_id.to_string())
            .or_insert(role);
        *held = (*held).max(role);
    }

    pub fn is_empty(&self) -> bool {
        self.by_namespace.is_empty()
    }

    /// The namespaces granted on, with their role, sorted by namespace id.
    pub fn direct(&self) -> Vec<(&str, Role)> {
        let mut out: Vec<(&str, Role)> = self
            .by_namespace
            .iter()
            .map(|(ns, r)| (ns.as_str(), *r))
            .collect();
        out.sort();
        out
    }

    /// The role in `namespace_id`: the highest granted on it or on one of its ancestors.
    pub fn effective(&self, tree: &NamespaceTree, namespace_id: &str) -> Option<Role> {
        tree.ancestors_and_self(namespace_id)
            .iter()
            .filter_map(|ns| self.by_namespace.get(ns).copied())
            .max()
    }

    /// The highest role held anywhere.
    pub fn highest(&self) -> Option<Role> {
        self.by_namespace.values().copied().max()
    }

    /// Every namespace of `tree` in which some role is held (granted there or inherited).
    pub fn visible(&self, tree: &NamespaceTree) -> Vec<String> {
        let mut out = Vec::new();
        for ns in self.by_namespace.keys() {
            if tree.get(ns).is_some() {
                out.extend(tree.subtree(ns));
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Namespace;

    fn tree() -> NamespaceTree {
        let at = DateTime::<Utc>::UNIX_EPOCH;
        NamespaceTree::new(vec![
            Namespace::new("root", "", "Global", at),
            Namespace::new("eng", "root", "Engineering", at),
            Namespace::new("api", "eng", "API", at),
            Namespace::new("ops", "root", "Ops", at),
        ])
    }

    #[test]
    fn roles_are_ordered_and_parse_exactly() {
        assert!(Role::Viewer < Role::Manager && Role::Manager < Role::Admin);
        assert_eq!(Role::parse("manager"), Some(Role::Manager));
        assert_eq!(Role::parse("Manager"), None);
        assert_eq!(Role::parse("owner"), None);
        assert_eq!(SubjectType::parse("group"), Some(SubjectType::Group));
        assert_eq!(SubjectType::parse("users"), None);
    }

    #[test]
    fn the_effective_role_is_the_highest_on_the_path_from_the_root() {
        let t = tree();
        let mut g = Grants::default();
        g.grant("eng", Role::Viewer);
        g.grant("api", Role::Manager);
        assert_eq!(g.effective(&t, "api"), Some(Role::Manager));
        assert_eq!(g.effective(&t, "eng"), Some(Role::Viewer));
        assert_eq!(g.effective(&t, "ops"), None);
        assert_eq!(g.effective(&t, "root"), None);
        g.grant("root", Role::Admin);
        assert_eq!(g.effective(&t, "api"), Some(Role::Admin));
        assert_eq!(g.highest(), Some(Role::Admin));
    }

    #[test]
    fn a_group_grant_reaches_its_members_only() {
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let p = Permission {
            id: "p".into(),
            namespace_id: "eng".into(),
            subject_type: SubjectType::Group,
            subject_id: "sre".into(),
            role: Role::Manager,
            originator_id: String::new(),
            created_at: at,
            modified_at: at,
        };
        let member = Grants::for_user([&p], "u1", &["dev".into(), "sre".into()]);
        assert_eq!(member.effective(&tree(), "api"), Some(Role::Manager));
        let other = Grants::for_user([&p], "sre", &[]);
        assert!(
            other.is_empty(),
            "a user id equal to the group name is not a member"
        );
        assert_eq!(member.visible(&tree()), vec!["api", "eng"]);
    }
}
