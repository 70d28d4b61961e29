//! The console's whole state (`Model`): where it points, what the server offers and what the session may change,
//! the namespace tree, the screen and overlay on top, the status line. Screens own their own parts; this file
//! ties them together and answers the questions every part asks (which keymap context is active, when the next
//! deadline is).

use std::collections::HashMap;
use std::time::Instant;

use chrono::{DateTime, Utc};
use ratatui_textarea::TextArea;

use super::keymap::Context;
use super::permissions::{Permissions, Role};
use super::screens::accounts::AccountList;
use super::screens::activity::{ActivityLog, EntryView};
use super::screens::add_modal::AccountForm;
use super::screens::confirm::Confirm;
use super::screens::contexts::{ContextEntry, ContextPicker};
use super::screens::detail::AccountDetail;
use super::screens::help::HelpView;
use super::screens::namespaces::NamespacePicker;
use super::screens::roles::RolesView;
use super::screens::secret::{SecretPrompt, SecretView};
use super::theme::Theme;
use crate::access::Grants;
use crate::api::{Capabilities, ConnectError};
use crate::model::{DirectoryUser, NamespaceTree, ServiceAccount, sanitize};

/// Something fetched: never a set of booleans.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Load<T> {
    #[default]
    Idle,
    /// Waiting for the reply to the request with this sequence number.
    Loading(u64),
    Loaded(T),
    Failed(ConnectError),
}

impl<T> Load<T> {
    pub fn loaded(&self) -> Option<&T> {
        match self {
            Load::Loaded(t) => Some(t),
            _ => None,
        }
    }

    pub fn is_loading(&self) -> bool {
        matches!(self, Load::Loading(_))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Namespaces,
    Accounts,
    /// The activity log of a namespace's subtree (or of one entity).
    Activity,
    /// Who holds which role in a namespace.
    Roles,
    /// The policies of a namespace.
    Policies,
}

/// What sits on top of the current screen; at most one, so `Esc` always has one obvious meaning.
#[derive(Debug)]
pub enum Overlay {
    Detail(Box<AccountDetail>),
    /// One change of the activity screen, in full.
    Entry(EntryView),
    Form(Box<AccountForm>),
    Secret(Box<SecretView>),
    Confirm(Box<Confirm>),
    /// The context switcher.
    Contexts(ContextPicker),
    /// The command palette.
    Palette(Box<super::screens::palette::Palette>),
    /// The sort chooser of the account list.
    Sort(super::screens::sort::SortChooser),
    /// One question before a change to every marked account.
    Bulk(Box<super::screens::bulk::BulkConfirm>),
    /// The policy builder.
    PolicyForm(Box<super::screens::policy_form::PolicyForm>),
}

/// The one-line status area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Empty,
    Info(String),
    Busy(String),
    /// `retry` says the refresh key retries what failed.
    Error {
        text: String,
        retry: bool,
    },
}

impl Status {
    /// An error from the server or the network, its message made safe for the terminal.
    pub fn from_error(what: &str, e: &ConnectError, retry: bool) -> Status {
        Status::Error {
            text: format!("{what}: {}", sanitize(&e.message)),
            retry,
        }
    }
}

/// Everything the console knows. `render` reads it; only `update` changes it.
#[derive(Debug)]
pub struct Model {
    /// Where the console points: a data directory or an API URL (for the header).
    pub target: String,
    /// The name of the context the session was opened in, shown in the header instead of `target` when set.
    pub context_name: Option<String>,
    /// `--read-only`: no change is offered, whatever the role.
    pub read_only: bool,
    /// The caller's roles by the namespace each was granted on (`GetUserInfo`'s `namespaceRoles`); `None` when
    /// the server does not say (then the console offers everything and the server judges).
    pub grants: Option<Grants>,
    pub theme: Theme,
    /// Terminal size in cells.
    pub size: (u16, u16),
    /// The wall clock as of the last message; relative dates are drawn against it.
    pub wall: DateTime<Utc>,
    next_seq: u64,
    pub boot: Load<()>,
    pub capabilities: Capabilities,
    pub tree: NamespaceTree,
    /// The namespace whose accounts are listed; `None` before one is picked, or when the server has no
    /// namespaces (then every account is listed, as one implicit namespace).
    pub current: Option<String>,
    /// The namespace used last time (from the data directory), tried at start.
    pub remembered: Option<String>,
    /// The context's default namespace (a path or an id), tried at start before `remembered`.
    pub start_namespace: Option<String>,
    /// The contexts the switcher offers (`embedded` first).
    pub contexts: Vec<ContextEntry>,
    /// The working directory, where a token is saved unless told otherwise (shown absolute).
    pub cwd: Option<std::path::PathBuf>,
    /// The export prompt of the account list (`x`), while it is open.
    pub export: Option<TextArea<'static>>,
    /// When the account list next refreshes itself (set after each page, idle only then).
    pub refresh_at: Option<Instant>,
    /// A namespace being created, renamed or deleted from the picker.
    pub ns_edit: Option<super::screens::namespace_edit::NamespaceEdit>,
    pub screen: Screen,
    pub picker: NamespacePicker,
    pub accounts: AccountList,
    pub activity: ActivityLog,
    pub roles: RolesView,
    pub policies: super::screens::policies::PoliciesView,
    /// What each account (by id) can reach, as the server judged it; fetched for the rows on screen.
    pub reach: HashMap<String, Load<Vec<crate::api::wire::Reach>>>,
    /// Whether a user id names a directory user (impersonated) or not (unique).
    pub kinds: HashMap<String, Load<bool>>,
    /// The directory user an impersonated account acts as, by user id (name and e-mail for the list and
    /// detail); filled by the same lookup as `kinds`.
    pub people: HashMap<String, DirectoryUser>,
    pub overlay: Option<Overlay>,
    pub help: Option<HelpView>,
    pub status: Status,
    pub quit: bool,
}

impl Model {
    pub fn new(
        target: String,
        remembered: Option<String>,
        theme: Theme,
        wall: DateTime<Utc>,
    ) -> Model {
        Model {
            target,
            context_name: None,
            read_only: false,
            grants: None,
            theme,
            size: (80, 24),
            wall,
            next_seq: 0,
            boot: Load::Idle,
            capabilities: Capabilities {
                namespaces: true,
                directory: true,
            },
            tree: NamespaceTree::default(),
            current: None,
            remembered,
            screen: Screen::Namespaces,
            picker: NamespacePicker::default(),
            accounts: AccountList::default(),
            activity: ActivityLog::default(),
            roles: RolesView::default(),
            policies: Default::default(),
            reach: HashMap::new(),
            start_namespace: None,
            contexts: Vec::new(),
            cwd: None,
            ns_edit: None,
            refresh_at: None,
            export: None,
            kinds: HashMap::new(),
            people: HashMap::new(),
            overlay: None,
            help: None,
            status: Status::Empty,
            quit: false,
        }
    }

    /// A fresh request sequence number; replies carry it back so stale ones can be told apart.
    pub fn seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    /// The keymap context of whatever has the focus.
    pub fn context(&self) -> Context {
        if self.help.is_some() {
            return Context::Help;
        }
        match &self.overlay {
            Some(Overlay::Secret(s)) if s.grant.is_some() => Context::Grant,
            Some(Overlay::Secret(s)) => match s.prompt {
                SecretPrompt::None => Context::Secret,
                SecretPrompt::SavePath(_) => Context::SavePrompt,
                SecretPrompt::Overwrite(_)
                | SecretPrompt::ConfirmClose
                | SecretPrompt::ConfirmQuit => Context::Confirm,
            },
            Some(Overlay::Confirm(_)) => Context::Confirm,
            Some(Overlay::Form(_)) => Context::Form,
            Some(Overlay::Detail(_)) => Context::Detail,
            Some(Overlay::Entry(_)) => Context::Entry,
            Some(Overlay::Contexts(_)) => Context::Contexts,
            Some(Overlay::Palette(_)) => Context::Palette,
            Some(Overlay::Sort(_)) => Context::Sort,
            Some(Overlay::Bulk(_)) => Context::Confirm,
            Some(Overlay::PolicyForm(_)) => Context::PolicyForm,
            None => match self.screen {
                Screen::Namespaces if self.ns_edit.as_ref().is_some_and(|e| e.typing()) => {
                    Context::FilterInput
                }
                Screen::Namespaces
                    if matches!(
                        self.ns_edit,
                        Some(super::screens::namespace_edit::NamespaceEdit::Delete { .. })
                    ) =>
                {
                    Context::Confirm
                }
                Screen::Namespaces if self.picker.filter_input.is_some() => Context::FilterInput,
                Screen::Namespaces => Context::Namespaces,
                Screen::Accounts if self.export.is_some() => Context::FilterInput,
                Screen::Accounts if self.accounts.filter_input.is_some() => Context::FilterInput,
                Screen::Accounts => Context::Accounts,
                Screen::Activity if self.activity.actor_input.is_some() => Context::FilterInput,
                Screen::Activity => Context::Activity,
                Screen::Roles if self.roles.grant_input.is_some() => Context::FilterInput,
                Screen::Roles if self.roles.revoking.is_some() => Context::Confirm,
                Screen::Roles => Context::Roles,
                Screen::Policies if self.policies.deleting.is_some() => Context::Confirm,
                Screen::Policies => Context::Policies,
            },
        }
    }

    /// The earliest pending deadline (a debounced search or check). The driver sleeps until then and sends
    /// `Msg::Tick`; with none pending it waits for input only, so an idle console does no work.
    pub fn next_deadline(&self) -> Option<Instant> {
        match &self.overlay {
            Some(Overlay::Form(f)) => f.next_deadline(),
            Some(Overlay::PolicyForm(f)) => f.next_deadline(),
            Some(_) => None,
            // A typed filter is due first; the account list also refreshes itself now and then, so accounts
            // made elsewhere show up.
            None if self.screen == Screen::Accounts => self.accounts.filter_due.or(self.refresh_at),
            None => None,
        }
    }

    /// The caller's role in `namespace_id`: what its grants give there (`None`: none, the namespace is only path
    /// context), or admin when the server did not say.
    pub fn role_in(&self, namespace_id: &str) -> Option<Role> {
        match &self.grants {
            None => Some(Role::Admin),
            Some(g) => g.effective(&self.tree, namespace_id),
        }
    }

    /// Which changes the session offers where it is: the role in the current namespace (or the highest held,
    /// before one is picked), none at all when `--read-only`.
    pub fn permissions(&self) -> Permissions {
        // In the picker, the namespace under the cursor is the one at hand.
        let here = match self.screen {
            Screen::Namespaces => self.picker.selected_id(&self.tree).or(self.current.clone()),
            _ => self.current.clone(),
        };
        let role = match (&self.grants, &here) {
            (None, _) => Some(Role::Admin),
            (Some(_), Some(ns)) => self.role_in(ns),
            (Some(g), None) => g.highest(),
        };
        Permissions {
            role: role.unwrap_or(Role::Viewer),
            read_only: self.read_only,
        }
    }

    /// `Global › Engineering › Platform`, or what stands for it without namespaces.
    pub fn namespace_path(&self) -> String {
        match &self.current {
            Some(id) => self.path_of(id),
            None if !self.capabilities.namespaces => "all accounts".into(),
            None => "no namespace".into(),
        }
    }

    /// The sanitized path of a namespace id (the id itself when unknown).
    pub fn path_of(&self, id: &str) -> String {
        if self.tree.get(id).is_some() {
            sanitize(&self.tree.display_path(id))
        } else {
            sanitize(id)
        }
    }

    /// What the header names the session by: its context, else the data directory or URL (sanitized).
    pub fn session_label(&self) -> String {
        sanitize(self.context_name.as_deref().unwrap_or(&self.target))
    }

    /// The sanitized name of a namespace id (the id itself when unknown).
    pub fn namespace_name(&self, id: &str) -> String {
        sanitize(self.tree.get(id).map(|n| n.name.as_str()).unwrap_or(id))
    }

    /// The account under the cursor, when its page is loaded.
    pub fn selected_account(&self) -> Option<&ServiceAccount> {
        self.accounts.selected()
    }

    /// The kind of a user id as far as it is known: `Some(true)` impersonated, `Some(false)` unique.
    pub fn kind_of(&self, user_id: &str) -> Option<bool> {
        if !self.capabilities.directory {
            return Some(false);
        }
        match self.kinds.get(user_id) {
            Some(Load::Loaded(k)) => Some(*k),
            _ => None,
        }
    }
}
