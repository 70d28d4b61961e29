//! What this session offers: which kinds of change the console's keys may make. The one place that decides it;
//! key dispatch, the footer and the help all ask here, so a key that may not be used is neither shown nor acted
//! on. The rights are the caller's role in the namespace at hand (viewer, manager, admin: what the server's
//! `namespaceRoles` grant there or on an ancestor; the shared secret is admin everywhere), and none at all in a
//! `--read-only` session.

use super::keymap::{Command, Context};

/// A caller's role on a namespace, as the server ranks them: each includes the ones before it.
pub use crate::access::Role;

/// A kind of change a key can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Write {
    /// Add, edit, rotate or delete a service account.
    Accounts,
    /// Create, rename, move or delete a namespace.
    Namespaces,
    /// Grant or revoke a namespace role.
    Permissions,
    /// Create, change or delete a policy or route, or grant an account access.
    Access,
}

impl Write {
    /// The least role that may make this kind of change.
    pub fn least_role(self) -> Role {
        match self {
            Write::Accounts | Write::Access => Role::Manager,
            Write::Namespaces | Write::Permissions => Role::Admin,
        }
    }

    fn what(self) -> &'static str {
        match self {
            Write::Accounts => "change service accounts",
            Write::Namespaces => "change namespaces",
            Write::Permissions => "change permissions",
            Write::Access => "change policies",
        }
    }
}

/// The change `command` makes, if any. Every command that writes is named here and nowhere else.
pub fn needs(command: Command) -> Option<Write> {
    match command {
        Command::Add
        | Command::Edit
        | Command::Rotate
        | Command::Delete
        | Command::ToggleDisabled
        // Marks only serve the bulk changes.
        | Command::Mark
        | Command::MarkAll
        | Command::Unmark => Some(Write::Accounts),
        Command::Grant | Command::Revoke => Some(Write::Permissions),
        Command::NewPolicy
        | Command::EditPolicy
        | Command::DeletePolicy
        | Command::GrantAccess => Some(Write::Access),
        Command::NewNamespace | Command::RenameNamespace | Command::DeleteNamespace => {
            Some(Write::Namespaces)
        }
        _ => None,
    }
}

/// The change a context can only be reached through: the add / edit form, the token view (shown after a token
/// is issued), its save prompt and the yes/no questions exist only for changes to accounts.
pub fn context_needs(context: Context) -> Option<Write> {
    match context {
        Context::Form | Context::Secret | Context::SavePrompt | Context::Confirm => {
            Some(Write::Accounts)
        }
        Context::PolicyForm | Context::Grant => Some(Write::Access),
        _ => None,
    }
}

/// Which changes the session offers: the caller's role, overridden by `--read-only`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Permissions {
    pub role: Role,
    /// The session was opened with `--read-only` (for audits): no change is offered, whatever the role.
    pub read_only: bool,
}

impl Default for Permissions {
    fn default() -> Self {
        Permissions::FULL
    }
}

impl Permissions {
    /// What the shared-secret credentials hold: everything.
    pub const FULL: Permissions = Permissions {
        role: Role::Admin,
        read_only: false,
    };

    /// Full rights unless `read_only`.
    pub fn new(read_only: bool) -> Permissions {
        Permissions {
            read_only,
            ..Permissions::FULL
        }
    }

    pub fn for_role(role: Role) -> Permissions {
        Permissions {
            role,
            read_only: false,
        }
    }

    pub fn allows(self, write: Write) -> bool {
        !self.read_only && self.role >= write.least_role()
    }

    /// Whether the console offers `command`: shows it in the footer and help, and acts on it.
    pub fn offers(self, command: Command) -> bool {
        needs(command).is_none_or(|w| self.allows(w))
    }

    /// Whether the session can reach `context` at all (help lists only those).
    pub fn reaches(self, context: Context) -> bool {
        context_needs(context).is_none_or(|w| self.allows(w))
    }

    /// The one-line notice for a key whose change is not offered.
    pub fn refusal(self, write: Write) -> String {
        if self.read_only {
            "read-only session: nothing can be changed from here".into()
        } else {
            format!(
                "the {} role cannot {} (that needs {})",
                self.role.as_str(),
                write.what(),
                write.least_role().as_str()
            )
        }
    }

    /// What the title bar says about the session's rights: `READ-ONLY` for `--read-only`, the role when it is
    /// less than admin (`READ-ONLY · viewer` when it changes nothing); nothing for an admin.
    pub fn marker(self) -> Option<String> {
        if self.read_only {
            return Some(super::screens::frame::READ_ONLY.into());
        }
        match self.role {
            Role::Admin => None,
            Role::Manager => Some(self.role.as_str().into()),
            Role::Viewer => Some(format!(
                "{} · {}",
                super::screens::frame::READ_ONLY,
                self.role.as_str()
            )),
        }
    }

    /// Whether any change is offered at all (the title bar marks a session that offers none).
    pub fn writes_nothing(self) -> bool {
        [Write::Accounts, Write::Namespaces, Write::Permissions]
            .iter()
            .all(|w| !self.allows(*w))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_nest_and_read_only_overrides_them() {
        let viewer = Permissions::for_role(Role::Viewer);
        let manager = Permissions::for_role(Role::Manager);
        let admin = Permissions::for_role(Role::Admin);
        assert!(!viewer.allows(Write::Accounts) && viewer.writes_nothing());
        assert!(manager.allows(Write::Accounts) && !manager.allows(Write::Namespaces));
        assert!(admin.allows(Write::Permissions) && admin.allows(Write::Accounts));
        let audit = Permissions {
            read_only: true,
            ..admin
        };
        assert!(audit.writes_nothing());
        assert!(!audit.offers(Command::Add) && audit.offers(Command::Detail));
        assert!(!audit.reaches(Context::Form) && audit.reaches(Context::Activity));
        assert!(
            audit
                .refusal(Write::Accounts)
                .starts_with("read-only session")
        );
        assert!(viewer.refusal(Write::Accounts).contains("viewer"));
        assert_eq!(manager.marker(), Some("manager".into()));
        assert_eq!(viewer.marker(), Some("READ-ONLY · viewer".into()));
        assert_eq!(audit.marker(), Some("READ-ONLY".into()));
        assert_eq!(admin.marker(), None);
    }
}
