//! Persistence behind one `Store` trait (SQLite, and PostgreSQL for replicas sharing state): the
//! namespace tree, the directory, service accounts with their token issue state, and an append-only audit log.
//! The store never sees a JWT.

pub mod any;
pub mod dump;
pub mod postgres;
mod rules;
pub mod sql;
pub mod sqlite;

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::access::{Permission, Role, SubjectType};
use crate::model::{DirectoryUser, Namespace, ServiceAccount};
use crate::policy::model::{AccessSnapshot, Policy, Route};

// The grammar lives beside the API so clients share it; it stays reachable as `store::filter` for callers that
// query the store directly (tests, benches).
pub use crate::filter::{self, Expr, Field, Op, OrderKey};
pub use any::AnyStore;
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    FailedPrecondition(String),
    #[error("{0}")]
    InvalidArgument(String),
    /// Refused for now; the same request succeeds later (the message says when).
    #[error("{0}")]
    Unavailable(String),
    #[error("storage error: {0}")]
    Internal(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Internal(e.to_string())
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Internal(e.to_string())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// One page of results and how many matched before paging.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
}

/// A filtered, ordered page of accounts. `order` is applied as given, then by `id` so pages are stable.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccountQuery {
    pub filter: Option<Expr>,
    pub order: Vec<OrderKey>,
    pub offset: u64,
    pub limit: u64,
}

/// A stored account with the state needed to tell its current token from superseded ones.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountRecord {
    pub account: ServiceAccount,
    /// Issue time (`iat`) of the account's current token.
    pub issued_at: DateTime<Utc>,
    /// Tokens issued at or after `grace_from` (and before `issued_at`) keep verifying until `grace_until`: a
    /// rotation's grace period. Older tokens never do.
    pub grace_from: Option<DateTime<Utc>>,
    pub grace_until: Option<DateTime<Utc>>,
}

/// At most one write of an account's use (`accessedAt`) in this interval, however many processes share the
/// store: `touch_accessed` writes only when the stored time is at least this much older.
pub const ACCESS_WRITE_INTERVAL: Duration = Duration::seconds(5);

/// How far ahead of the requested issue time a create may move a token's `iat` to clear a deleted account's
/// tombstone: within `/verify`'s leeway, so the new token verifies at once.
pub const MAX_ISSUE_AHEAD: Duration = Duration::seconds(5);

/// Which editable fields an update replaces.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccountPatch {
    pub description: Option<String>,
    pub user_id: Option<String>,
    pub namespace_id: Option<String>,
    /// `Some(None)` clears the expiry.
    pub expires_at: Option<Option<DateTime<Utc>>>,
    /// Disables or enables the account; its token state is left as it is.
    pub disabled: Option<bool>,
}

/// What an update does to the account's token.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reissue {
    pub issued_at: DateTime<Utc>,
    pub grace_from: Option<DateTime<Utc>>,
    pub grace_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImportCounts {
    pub inserted: u64,
    pub updated: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: DateTime<Utc>,
    /// Who acted: `bootstrap`, `admin`, `cli`, … (never a credential).
    pub actor: String,
    /// `create`, `update`, `rotate`, `disable`, `enable`, `delete`, `import`.
    pub action: String,
    /// `service_account`, `namespace`, `directory`.
    pub target_kind: String,
    pub target_id: String,
    /// Non-secret detail, e.g. the user id and namespace of an account.
    pub detail: String,
    /// The namespace the change happened in; empty for rows without one (the directory, rows older than the
    /// column).
    pub namespace_id: String,
    /// What the target was called when written (an account's user id, a namespace's name); may be empty.
    pub entity_name: String,
    /// The service account that acted when a service account called the API (`actor` is its user id); empty
    /// otherwise.
    pub actor_account_id: String,
}

/// How an activity listing compares entry times with a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateOp {
    Eq,
    Ne,
    Before,
    OnOrBefore,
    After,
    OnOrAfter,
}

/// A filtered page of the audit log, newest first. Every `Some` filter must hold; `entities` matches any of its
/// `(kind, id)` pairs (an empty id: any entity of the kind).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActivityQuery {
    /// Only entries of these namespaces (what a caller may read); `None`: no such bound.
    pub within: Option<Vec<String>>,
    pub namespace_id: Option<String>,
    /// With `namespace_id`: that namespace and all its current descendants.
    pub recursive: bool,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub entities: Vec<(String, String)>,
    pub date: Option<(DateOp, DateTime<Utc>)>,
    pub offset: u64,
    /// `None`: every entry from `offset` on.
    pub limit: Option<u64>,
}

/// One audit entry and its neighbours in write order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditNeighbours {
    pub entry: AuditEntry,
    /// The seq of the entry written just before, and just after, if any.
    pub previous: Option<i64>,
    pub next: Option<i64>,
}

/// A role to grant: on `id` when given (its namespace and subject must match), otherwise on the binding of the
/// subject in the namespace, created when there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionGrant {
    pub id: Option<String>,
    pub namespace_id: String,
    pub subject_type: SubjectType,
    pub subject_id: String,
    pub role: Role,
    pub originator_id: String,
}

/// Who performs a write and when; recorded in the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub actor: String,
    /// The service account acting (`actor` is then its user id); empty for the shared secret and local users.
    pub account_id: String,
    pub at: DateTime<Utc>,
}

impl Change {
    /// A change by `actor` (not a service account) at `at`.
    pub fn by(actor: impl Into<String>, at: DateTime<Utc>) -> Change {
        Change {
            actor: actor.into(),
            account_id: String::new(),
            at,
        }
    }
}

pub trait Store: Clone + Send + Sync + 'static {
    // ---- namespaces ----
    fn list_namespaces(&self) -> impl Future<Output = StoreResult<Vec<Namespace>>> + Send;
    fn get_namespace(
        &self,
        id: &str,
    ) -> impl Future<Output = StoreResult<Option<Namespace>>> + Send;
    /// Creates a namespace under `parent_id` (empty only for the first, root namespace). Names are unique among
    /// siblings, case-insensitively (`AlreadyExists`); the parent must exist (`InvalidArgument`).
    fn create_namespace(
        &self,
        parent_id: &str,
        name: &str,
        originator_id: &str,
        change: &Change,
    ) -> impl Future<Output = StoreResult<Namespace>> + Send;
    /// Renames (and optionally re-parents) a namespace; an empty `parent_id` keeps the current parent. Refuses to
    /// make a cycle, to move the root, and a name taken by a sibling (`AlreadyExists`).
    fn update_namespace(
        &self,
        id: &str,
        name: &str,
        parent_id: &str,
        change: &Change,
    ) -> impl Future<Output = StoreResult<Namespace>> + Send;
    /// Refused with `FailedPrecondition` while it has children, accounts or permissions; `NotFound` for an unknown
    /// id.
    fn delete_namespace(
        &self,
        id: &str,
        change: &Change,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    // ---- namespace permissions ----
    /// Every role binding, by namespace and subject.
    fn list_permissions(&self) -> impl Future<Output = StoreResult<Vec<Permission>>> + Send;
    fn get_permission(
        &self,
        id: &str,
    ) -> impl Future<Output = StoreResult<Option<Permission>>> + Send;
    /// Creates the binding or changes its role (audited as `create` or `update` with the role before and after;
    /// an unchanged role writes nothing). `NotFound` for an unknown id, `InvalidArgument` for an unknown
    /// namespace or an id whose namespace or subject differ.
    fn set_permission(
        &self,
        grant: &PermissionGrant,
        change: &Change,
    ) -> impl Future<Output = StoreResult<Permission>> + Send;
    /// Removes a binding and returns it; `None` for an unknown id.
    fn delete_permission(
        &self,
        id: &str,
        change: &Change,
    ) -> impl Future<Output = StoreResult<Option<Permission>>> + Send;

    // ---- directory ----
    /// Case-insensitive match against id, name, email and groups; prefix matches rank before substring
    /// matches, then by name and id.
    fn query_users(
        &self,
        query: &str,
        offset: u64,
        limit: u64,
    ) -> impl Future<Output = StoreResult<Page<DirectoryUser>>> + Send;
    fn get_user(&self, id: &str)
    -> impl Future<Output = StoreResult<Option<DirectoryUser>>> + Send;
    /// The directory users of `ids` that exist, in no particular order, read together.
    fn get_users(
        &self,
        ids: &[String],
    ) -> impl Future<Output = StoreResult<Vec<DirectoryUser>>> + Send;
    /// The groups directory users belong to whose name contains `query` (case-insensitively), prefix matches
    /// first, then by name.
    fn query_groups(
        &self,
        query: &str,
        offset: u64,
        limit: u64,
    ) -> impl Future<Output = StoreResult<Page<String>>> + Send;
    /// Whether some directory user belongs to the group `name`.
    fn group_exists(&self, name: &str) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Inserts or replaces users by id, all in one transaction.
    fn upsert_users(
        &self,
        users: &[DirectoryUser],
        change: &Change,
    ) -> impl Future<Output = StoreResult<ImportCounts>> + Send;

    // ---- service accounts ----
    /// `AlreadyExists` when the id is taken; `InvalidArgument` when the namespace does not exist or the id or
    /// user id is the bootstrap identity. `issued_at` is the earliest issue time: when an account with this id
    /// was deleted, the token is issued the second after the deleted one's newest (the returned record says
    /// when), so no token of the deleted account verifies again; `Unavailable` when that is more than
    /// [`MAX_ISSUE_AHEAD`] later.
    fn create_account(
        &self,
        account: &ServiceAccount,
        issued_at: DateTime<Utc>,
        change: &Change,
    ) -> impl Future<Output = StoreResult<AccountRecord>> + Send;
    fn get_account(
        &self,
        id: &str,
    ) -> impl Future<Output = StoreResult<Option<AccountRecord>>> + Send;
    /// The accounts of `ids` that exist, in no particular order, read together.
    fn get_accounts(
        &self,
        ids: &[String],
    ) -> impl Future<Output = StoreResult<Vec<AccountRecord>>> + Send;
    /// What `/verify` needs: the account and, when `with_namespaces` (a namespace-scoped check) and the account
    /// exists, every namespace. Stores that can should answer in one read; the default makes two.
    fn get_account_for_verify(
        &self,
        id: &str,
        with_namespaces: bool,
    ) -> impl Future<Output = StoreResult<(Option<AccountRecord>, Vec<Namespace>)>> + Send {
        async move {
            let Some(record) = self.get_account(id).await? else {
                return Ok((None, Vec::new()));
            };
            let namespaces = if with_namespaces {
                self.list_namespaces().await?
            } else {
                Vec::new()
            };
            Ok((Some(record), namespaces))
        }
    }
    /// `/verify`'s read with the access version (routes and policies) it is judged by, from the same snapshot
    /// where the store can (0 when the account does not exist). The default makes a second read.
    fn get_account_for_verify_versioned(
        &self,
        id: &str,
        with_namespaces: bool,
    ) -> impl Future<Output = StoreResult<(Option<AccountRecord>, Vec<Namespace>, i64)>> + Send
    {
        async move {
            let (record, namespaces) = self.get_account_for_verify(id, with_namespaces).await?;
            let version = if record.is_some() {
                self.access_version().await?
            } else {
                0
            };
            Ok((record, namespaces, version))
        }
    }
    /// `/verify`'s read without namespaces — the account, shared (a store that keeps account records hands out
    /// its own copy, once it has made sure it is current), and the access version — as
    /// [`Store::get_account_for_verify_versioned`] reads them; the default wraps that.
    fn get_account_for_verify_shared(
        &self,
        id: &str,
    ) -> impl Future<Output = StoreResult<(Option<Arc<AccountRecord>>, i64)>> + Send {
        async move {
            let (record, _, version) = self.get_account_for_verify_versioned(id, false).await?;
            Ok((record.map(Arc::new), version))
        }
    }
    fn list_accounts(
        &self,
        query: &AccountQuery,
    ) -> impl Future<Output = StoreResult<Page<ServiceAccount>>> + Send;
    /// Applies `patch`, sets `modified_at`, and when `reissue` is given records the new token's issue state.
    /// Audited as `disable` or `enable` when that is the only change (no reissue), as `rotate` when only the
    /// token changed, otherwise as `update`. `NotFound` for an unknown id;
    /// `InvalidArgument` for the bootstrap identity as user id; `Unavailable` when `reissue` is not later than
    /// the current token (a concurrent rotation won).
    fn update_account(
        &self,
        id: &str,
        patch: &AccountPatch,
        reissue: Option<Reissue>,
        change: &Change,
    ) -> impl Future<Output = StoreResult<AccountRecord>> + Send;
    /// Returns whether an account was deleted; an unknown id is not an error. Leaves a tombstone with the
    /// deleted account's newest issue time, in the same transaction.
    fn delete_account(
        &self,
        id: &str,
        change: &Change,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Records use of an account at `at` (not audited): only when the stored time is unset or at least
    /// [`ACCESS_WRITE_INTERVAL`] before `at`, decided by the write's own condition, so several processes sharing
    /// the store write an account's use at most once per interval. Never moves the time back; an unknown id is not
    /// an error.
    fn touch_accessed(
        &self,
        id: &str,
        at: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    // ---- access: routes and policies ----
    /// Every policy, by id.
    fn list_policies(&self) -> impl Future<Output = StoreResult<Vec<Policy>>> + Send;
    fn get_policy(&self, id: &str) -> impl Future<Output = StoreResult<Option<Policy>>> + Send;
    /// The routes that name a policy, as `(id, name)` by name.
    fn routes_of_policy(
        &self,
        policy_id: &str,
    ) -> impl Future<Output = StoreResult<Vec<(String, String)>>> + Send;
    /// Creates the policy when its id is new, otherwise replaces that policy's fields (its `created_at` and
    /// `originator_id` stay); audited as `create` or `update` (the changed fields before and after). An unknown
    /// namespace is `InvalidArgument`.
    fn put_policy(
        &self,
        policy: &Policy,
        change: &Change,
    ) -> impl Future<Output = StoreResult<Policy>> + Send;
    /// Deletes a policy and returns it; `None` for an unknown id. `FailedPrecondition` while routes name it,
    /// unless `detach`, which removes it from them in the same transaction.
    fn delete_policy(
        &self,
        id: &str,
        detach: bool,
        change: &Change,
    ) -> impl Future<Output = StoreResult<Option<Policy>>> + Send;
    /// Every route, by id.
    fn list_routes(&self) -> impl Future<Output = StoreResult<Vec<Route>>> + Send;
    fn get_route(&self, id: &str) -> impl Future<Output = StoreResult<Option<Route>>> + Send;
    /// As `put_policy`, for a route and its policy list (each id must name a policy: `InvalidArgument`).
    fn put_route(
        &self,
        route: &Route,
        change: &Change,
    ) -> impl Future<Output = StoreResult<Route>> + Send;
    fn delete_route(
        &self,
        id: &str,
        change: &Change,
    ) -> impl Future<Output = StoreResult<Option<Route>>> + Send;
    /// The access change counter: it grows with every committed write to routes, policies or namespaces,
    /// whichever process made it.
    fn access_version(&self) -> impl Future<Output = StoreResult<i64>> + Send;
    /// Every route, policy and namespace with the version they were read at, from one snapshot.
    fn access_snapshot(&self) -> impl Future<Output = StoreResult<AccessSnapshot>> + Send;

    // ---- audit ----
    /// Newest first.
    fn list_audit(&self, limit: u64) -> impl Future<Output = StoreResult<Vec<AuditEntry>>> + Send;
    /// The entries about one target (`service_account`, `namespace`, …), newest first.
    fn list_audit_for(
        &self,
        target_kind: &str,
        target_id: &str,
        limit: u64,
    ) -> impl Future<Output = StoreResult<Vec<AuditEntry>>> + Send;
    /// The entries matching `query`, newest first, and how many matched before paging.
    fn list_activity(
        &self,
        query: &ActivityQuery,
    ) -> impl Future<Output = StoreResult<Page<AuditEntry>>> + Send;
    /// The entry with this seq and its neighbours; `None` when there is none.
    fn get_activity(
        &self,
        seq: i64,
    ) -> impl Future<Output = StoreResult<Option<AuditNeighbours>>> + Send;
    /// The distinct target kinds the log holds, sorted.
    fn list_activity_kinds(&self) -> impl Future<Output = StoreResult<Vec<String>>> + Send;
}
