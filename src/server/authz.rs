//! What a caller may do: the shared secret (and the embedded console's local user) is root everywhere; a
//! service account calling with its own token holds exactly the roles granted to its user id (directly or
//! through its directory groups), inherited down the tree, and every refusal is `permission_denied` naming the
//! namespace and the role needed. Handlers ask a [`Scope`], loaded once per call.

use std::sync::Arc;

use crate::access::{Grants, Role};
use crate::api::{Code, ConnectError};
use crate::model::{Namespace, NamespaceTree};
use crate::server::{AppState, Caller};
use crate::store::Store;

/// Who authenticated a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The shared secret's holder: every role everywhere.
    Root,
    /// An open method's caller.
    Anonymous,
    /// A service account with its own token, holding what its user's grants give.
    Account {
        account_id: String,
        user_id: String,
        grants: Grants,
    },
}

fn denied(message: String) -> ConnectError {
    ConnectError::new(Code::PermissionDenied, message)
}

/// The namespace tree as one call sees it, with the caller's grants.
pub struct Scope {
    pub tree: Arc<NamespaceTree>,
    principal: Principal,
}

impl Scope {
    /// The tree for a call by `caller`: the compiled access's at the store's current access version (one point
    /// read; namespace writes move the version), built only when the version moved — not a read of every
    /// namespace and a new tree per call.
    pub async fn load<S: Store>(
        state: &AppState<S>,
        caller: &Caller,
    ) -> Result<Scope, ConnectError> {
        let access = state.access_cache.current(&state.store).await?;
        Ok(Scope {
            tree: access.shared_tree(),
            principal: caller.principal.clone(),
        })
    }

    pub fn new(namespaces: Vec<Namespace>, caller: &Caller) -> Scope {
        Scope {
            tree: Arc::new(NamespaceTree::new(namespaces)),
            principal: caller.principal.clone(),
        }
    }

    pub fn is_root(&self) -> bool {
        self.principal == Principal::Root
    }

    /// The caller's role in `namespace_id` (root: admin everywhere).
    pub fn role(&self, namespace_id: &str) -> Option<Role> {
        match &self.principal {
            Principal::Root => Some(Role::Admin),
            Principal::Anonymous => None,
            Principal::Account { grants, .. } => grants.effective(&self.tree, namespace_id),
        }
    }

    /// The highest role the caller holds anywhere.
    pub fn highest(&self) -> Option<Role> {
        match &self.principal {
            Principal::Root => Some(Role::Admin),
            Principal::Anonymous => None,
            Principal::Account { grants, .. } => grants.highest(),
        }
    }

    fn who(&self) -> String {
        match &self.principal {
            Principal::Root => "root".into(),
            Principal::Anonymous => "an anonymous caller".into(),
            Principal::Account {
                account_id,
                user_id,
                ..
            } => format!("service account {account_id} (user {user_id:?})"),
        }
    }

    /// `permission_denied` unless the caller holds at least `needed` in `namespace_id`.
    pub fn require(&self, namespace_id: &str, needed: Role) -> Result<(), ConnectError> {
        let held = self.role(namespace_id);
        if held >= Some(needed) {
            return Ok(());
        }
        let holds = match held {
            Some(r) => format!("holds only {r} there"),
            None => "holds no role there".into(),
        };
        Err(denied(format!(
            "permission denied: the {needed} role is needed in namespace {} ({namespace_id}); {} {holds}",
            self.path(namespace_id),
            self.who(),
        )))
    }

    /// `permission_denied` unless the caller holds at least `needed` somewhere (the directory, which is shared).
    pub fn require_any(&self, needed: Role, what: &str) -> Result<(), ConnectError> {
        if self.highest() >= Some(needed) {
            return Ok(());
        }
        Err(denied(format!(
            "permission denied: {what} needs the {needed} role in some namespace; {} holds none",
            self.who()
        )))
    }

    /// `permission_denied` unless the caller is root.
    pub fn require_root(&self, what: &str) -> Result<(), ConnectError> {
        if self.is_root() {
            return Ok(());
        }
        Err(denied(format!(
            "permission denied: {what} needs the shared-secret (root) credential; {} is not root",
            self.who()
        )))
    }

    /// Whether the caller holds some role in `namespace_id`.
    pub fn can_see(&self, namespace_id: &str) -> bool {
        self.role(namespace_id).is_some()
    }

    /// The namespaces the caller holds a role in; `None` for root (all of them).
    pub fn visible(&self) -> Option<Vec<String>> {
        match &self.principal {
            Principal::Root => None,
            Principal::Anonymous => Some(Vec::new()),
            Principal::Account { grants, .. } => Some(grants.visible(&self.tree)),
        }
    }

    /// `Global › Engineering`, or the quoted id when the tree does not hold it.
    pub fn path(&self, namespace_id: &str) -> String {
        if self.tree.get(namespace_id).is_some() {
            format!("{:?}", self.tree.display_path(namespace_id))
        } else {
            format!("{namespace_id:?}")
        }
    }

    /// `permission_denied` unless every role `grants` hold (a user an account would act as, or a subject being
    /// granted) is within what the caller holds in the same place: nobody hands out more than they have.
    pub fn require_outranks(&self, grants: &Grants, what: &str) -> Result<(), ConnectError> {
        if self.is_root() {
            return Ok(());
        }
        for ns in self.tree.ids() {
            if let Some(theirs) = grants.effective(&self.tree, ns)
                && self.role(ns) < Some(theirs)
            {
                return Err(denied(format!(
                    "permission denied: {what} holds {theirs} in namespace {}, above the caller's role there; \
                     {} cannot give that",
                    self.path(ns),
                    self.who()
                )));
            }
        }
        Ok(())
    }
}
