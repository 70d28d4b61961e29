//! Messages into `update` (keys, resizes, timer ticks and the results of effects, each result tagged with the
//! request sequence or list generation it answers) and the effects `update` asks the driver to perform.

use std::path::PathBuf;
use std::time::Instant;

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;
use zeroize::Zeroizing;

use super::screens::activity::Entry;
use crate::api::{Capabilities, ConnectError, ListQuery, wire};
use crate::model::{DirectoryUser, Namespace, ServiceAccount};

/// A one-time JWT in transit between the effects and the token view; zeroized on drop, never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(pub Zeroizing<String>);

impl Token {
    pub fn new(jwt: Zeroizing<String>) -> Token {
        Token(jwt)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

/// The two clocks `update` reads: a monotonic one for deadlines and the wall clock for relative dates.
/// Passed in, so tests choose the time.
#[derive(Debug, Clone, Copy)]
pub struct Now {
    pub mono: Instant,
    pub wall: DateTime<Utc>,
}

impl Now {
    pub fn system() -> Now {
        Now {
            mono: Instant::now(),
            wall: Utc::now(),
        }
    }

    /// The same instant, `d` later on both clocks.
    pub fn after(self, d: std::time::Duration) -> Now {
        Now {
            mono: self.mono + d,
            wall: self.wall + chrono::Duration::from_std(d).unwrap_or_default(),
        }
    }
}

/// What the first round trip learns: what the server offers and its namespaces.
#[derive(Debug, Clone, PartialEq)]
pub struct Boot {
    pub capabilities: Capabilities,
    pub namespaces: Vec<Namespace>,
    /// The caller's roles (`GetUserInfo` without a user id); `None` when the server does not say.
    pub grants: Option<crate::access::Grants>,
}

/// Per namespace: its own accounts, and the expired / expiring-within-7-days accounts of its whole subtree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rollup {
    pub own: u64,
    /// Every account of the subtree, its own included (what the expired / expiring marks count among).
    pub subtree: u64,
    pub expired: u64,
    pub expiring: u64,
}

/// What is known about a user id typed for a unique account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniqueInfo {
    pub directory_user: Option<DirectoryUser>,
    pub accounts: u64,
}

/// What `c` managed to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyReport {
    /// The OSC 52 sequence was written to the terminal (whether the terminal honours it cannot be known).
    pub osc52: bool,
    /// `Ok` when the system clipboard took it; `Err` says why not (no display, clipboard error).
    pub system: Result<(), String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaveError {
    /// The file exists; saving again needs the admin's confirmation.
    Exists(PathBuf),
    Failed(String),
}

/// Result of a call that issues a token (create, update, rotate).
pub type Issued = Result<(ServiceAccount, Token), ConnectError>;

/// A page of the activity log, newest first, and how many entries match.
pub type ActivityPage = Result<(Vec<Entry>, u64), ConnectError>;

#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Paste(String),
    Resize(u16, u16),
    /// A deadline `Model::next_deadline` named may have passed.
    Tick,
    Booted {
        seq: u64,
        result: Result<Boot, ConnectError>,
    },
    Page {
        generation: u64,
        page: u64,
        result: Result<(Vec<ServiceAccount>, u64), ConnectError>,
    },
    Rollup {
        seq: u64,
        namespace_id: String,
        result: Result<Rollup, ConnectError>,
    },
    /// Whether each user id is a directory user (`None`: the lookup failed).
    Kinds(Vec<(String, Option<bool>)>),
    /// The directory users those lookups found (the people impersonated accounts act as).
    People(Vec<DirectoryUser>),
    Search {
        seq: u64,
        result: Result<(Vec<DirectoryUser>, u64), ConnectError>,
    },
    UniqueChecked {
        seq: u64,
        result: Result<UniqueInfo, ConnectError>,
    },
    Created {
        seq: u64,
        result: Issued,
    },
    Updated {
        seq: u64,
        result: Issued,
    },
    Rotated {
        seq: u64,
        result: Issued,
    },
    Deleted {
        seq: u64,
        result: Result<(), ConnectError>,
    },
    Copied {
        seq: u64,
        report: CopyReport,
    },
    Saved {
        seq: u64,
        result: Result<PathBuf, SaveError>,
    },
    /// The newest changes of the account in the detail view.
    History {
        seq: u64,
        result: ActivityPage,
    },
    /// A page of the activity screen.
    Activity {
        seq: u64,
        result: ActivityPage,
    },
    /// The bindings that apply in the permissions screen's namespace.
    Roles {
        seq: u64,
        result: Result<Vec<crate::tui::screens::roles::RoleRow>, ConnectError>,
    },
    /// A grant or revoke answered: what was done.
    RoleChanged {
        seq: u64,
        result: Result<String, ConnectError>,
    },
    /// An export written (its absolute path and how many accounts), or why not.
    Exported {
        result: Result<(std::path::PathBuf, usize), String>,
    },
    /// How many accounts the list's query matches now (`None`: the count failed; nothing changes then).
    TotalChecked {
        generation: u64,
        total: Option<u64>,
    },
    /// A namespace create, rename or delete answered: what was done.
    NamespaceChanged {
        seq: u64,
        result: Result<String, ConnectError>,
    },
    /// A disable or enable answered.
    DisabledSet {
        seq: u64,
        result: Result<ServiceAccount, ConnectError>,
    },
    /// The accounts "mark all shown" asked for: every match of the list's query, up to `MAX_MARKS`, and the
    /// total.
    Marked {
        generation: u64,
        result: Result<(Vec<ServiceAccount>, u64), ConnectError>,
    },
    /// A change to the marked accounts answered, one result per account id, in order.
    BulkDone {
        seq: u64,
        results: Vec<(String, Result<(), ConnectError>)>,
    },
    /// The policies, routes and dangling entries of a namespace (the policies screen, the grant step).
    Access {
        seq: u64,
        result: Result<crate::tui::screens::policies::AccessData, ConnectError>,
    },
    /// A policy saved, deleted or granted: what was done.
    PolicyChanged {
        seq: u64,
        result: Result<String, ConnectError>,
    },
    /// What accounts can reach (`None` for a server without the access calls).
    Reach {
        result: Option<Vec<wire::AccountReach>>,
        ids: Vec<String>,
    },
    /// How many dangling policy entries a namespace has (`None`: unknown).
    Dangling {
        namespace_id: String,
        count: Option<usize>,
    },
    /// The names of the policies whose allowed users name a user id (the delete question's offer).
    Naming {
        seq: u64,
        result: Result<Vec<String>, ConnectError>,
    },
    /// A deleted account's user id taken out of policies: their names, or why not.
    Unnamed {
        user_id: String,
        result: Result<Vec<String>, ConnectError>,
    },
    /// Connecting to another context failed; the console stays where it was.
    SwitchFailed {
        name: String,
        error: String,
    },
}

/// I/O for the driver. `update` never performs any of it.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Probe capabilities and list namespaces.
    Boot {
        seq: u64,
    },
    LoadPage {
        generation: u64,
        page: u64,
        query: ListQuery,
    },
    /// Count accounts per namespace (`own`) and in each subtree (`expired`, `expiring`), as of `now`.
    LoadRollups {
        seq: u64,
        now: DateTime<Utc>,
        items: Vec<RollupRequest>,
    },
    LookupKinds {
        user_ids: Vec<String>,
    },
    /// Supersedes any search still running.
    SearchUsers {
        seq: u64,
        query: String,
    },
    /// Supersedes any check still running.
    CheckUnique {
        seq: u64,
        user_id: String,
    },
    Create {
        seq: u64,
        account: wire::ServiceAccount,
    },
    Update {
        seq: u64,
        account: wire::ServiceAccount,
        mask: Vec<&'static str>,
    },
    Rotate {
        seq: u64,
        id: String,
        /// How long the old token keeps working; `None`: it stops at once.
        grace: Option<std::time::Duration>,
    },
    Delete {
        seq: u64,
        id: String,
    },
    Copy {
        seq: u64,
        token: Token,
    },
    Save {
        seq: u64,
        path: PathBuf,
        token: Token,
        overwrite: bool,
    },
    /// Remember the namespace for the next start.
    Remember {
        namespace_id: String,
    },
    /// The history of one account (answered with `Msg::History`).
    LoadHistory {
        seq: u64,
        request: wire::ListActivityLogEntriesRequest,
    },
    /// A page of the activity screen (answered with `Msg::Activity`); supersedes any page still loading.
    LoadActivity {
        seq: u64,
        request: wire::ListActivityLogEntriesRequest,
    },
    /// The bindings that apply in a namespace (answered with `Msg::Roles`).
    LoadRoles {
        seq: u64,
        namespace_id: String,
    },
    /// Grants a role (answered with `Msg::RoleChanged`).
    Grant {
        seq: u64,
        namespace_id: String,
        grant: crate::tui::screens::roles::Grant,
    },
    /// Revokes a binding; `what` is the status line when it is done.
    Revoke {
        seq: u64,
        id: String,
        what: String,
    },
    /// Creates (`id` empty, under `parent`) or renames a namespace (answered with `Msg::NamespaceChanged`).
    SetNamespace {
        seq: u64,
        id: String,
        parent: String,
        name: String,
    },
    /// Deletes a namespace (answered with `Msg::NamespaceChanged`).
    DeleteNamespace {
        seq: u64,
        id: String,
    },
    /// Writes every account `query` matches to `path` (answered with `Msg::Exported`).
    Export {
        path: std::path::PathBuf,
        query: ListQuery,
        /// Namespace display paths by id.
        paths: std::collections::HashMap<String, String>,
    },
    /// Counts what the account list's query matches (answered with `Msg::TotalChecked`).
    CheckTotal {
        generation: u64,
        query: ListQuery,
    },
    /// Every account of the list's query up to `query.limit`, for "mark all shown" (answered with
    /// `Msg::Marked`).
    LoadMarks {
        generation: u64,
        query: ListQuery,
    },
    /// Deletes, disables or enables each account, one request after the other (answered once, with
    /// `Msg::BulkDone`).
    Bulk {
        seq: u64,
        action: crate::tui::screens::bulk::BulkAction,
        ids: Vec<String>,
    },
    /// The policies, routes and dangling entries for a namespace (answered with `Msg::Access`).
    LoadAccess {
        seq: u64,
        namespace_id: String,
    },
    /// Creates or replaces a policy, then, with `attach_route`, puts it on that route (`Msg::PolicyChanged`).
    SavePolicy {
        seq: u64,
        policy: wire::Policy,
        attach_route: Option<String>,
    },
    /// Deletes a policy, taking it off its routes (`Msg::PolicyChanged`).
    DeletePolicy {
        seq: u64,
        id: String,
    },
    /// Adds a user id to a policy's allowed users (`Msg::PolicyChanged`).
    GrantUser {
        seq: u64,
        policy_id: String,
        user_id: String,
    },
    /// What these accounts can reach (`Msg::Reach`).
    LoadReach {
        ids: Vec<String>,
    },
    /// How many dangling entries the namespace's policies have (`Msg::Dangling`).
    LoadDangling {
        namespace_id: String,
    },
    /// Which policies name a user id (`Msg::Naming`).
    LoadNaming {
        seq: u64,
        user_id: String,
    },
    /// Takes a user id out of every policy naming it (`Msg::Unnamed`).
    Unname {
        user_id: String,
    },
    /// Disables or enables an account (answered with `Msg::DisabledSet`).
    SetDisabled {
        seq: u64,
        id: String,
        disabled: bool,
    },
    /// Connects to `model.contexts[index]` and starts the console afresh there (the driver does it: it owns
    /// the connection).
    SwitchContext {
        index: usize,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollupRequest {
    pub namespace_id: String,
    /// The namespace and all its descendants.
    pub subtree: Vec<String>,
}
