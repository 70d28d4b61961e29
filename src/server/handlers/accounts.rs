//! pomerium.config.ConfigService: server info and service accounts. Create and Update sign a JWT that goes into
//! the response only; the store keeps just the token's issue time.

use chrono::{DateTime, Duration, DurationRound, Utc};

use super::validate::{self, MAX_DESCRIPTION, MAX_USER_ID};
use crate::access::{Grants, Role};
use crate::api::convert::struct_to_json;
use crate::api::convert::{snake_to_camel, timestamp_to_chrono};
use crate::api::wire::{self, ServerType};
use crate::api::{Code, ConnectError};
use crate::filter;
use crate::filter::{Expr, Field};
use crate::model::ServiceAccount;
use crate::server::authz::Scope;
use crate::server::{AppState, Caller};
use crate::store::{AccountPatch, AccountQuery, AccountRecord, MAX_ISSUE_AHEAD, Reissue, Store};
use crate::token;

pub async fn server_info<S: Store>(
    _state: &AppState<S>,
    _caller: &Caller,
    _req: wire::GetServerInfoRequest,
) -> Result<wire::GetServerInfoResponse, ConnectError> {
    Ok(wire::GetServerInfoResponse {
        server_type: ServerType::Enterprise as i32,
        version: format!("sacon {}", env!("CARGO_PKG_VERSION")),
    })
}

fn time(
    field: &str,
    ts: &Option<crate::api::wkt::Timestamp>,
) -> Result<Option<DateTime<Utc>>, ConnectError> {
    match ts {
        None => Ok(None),
        Some(t) => timestamp_to_chrono(t)
            .map(Some)
            .ok_or_else(|| ConnectError::invalid(format!("{field} is not a valid timestamp"))),
    }
}

/// An expiry as Create and Update take it: absent (never), or after `now`.
fn future_expiry(
    ts: &Option<crate::api::wkt::Timestamp>,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, ConnectError> {
    let expires_at = time("expiresAt", ts)?;
    if let Some(e) = expires_at
        && e <= now
    {
        return Err(ConnectError::invalid(format!(
            "expiresAt {} is not in the future",
            crate::api::convert::format_time(e)
        )));
    }
    Ok(expires_at)
}

/// JWT times are whole seconds; the stored issue time matches the token's `iat` exactly.
fn whole_seconds(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(Duration::seconds(1)).unwrap_or(t)
}

/// The bootstrap id and subject are the admin token's identity: an account named by either (in any case) would
/// blur the line between the two kinds of token.
fn not_reserved(field: &str, value: &str) -> Result<(), ConnectError> {
    if token::is_reserved_identity(value) {
        return Err(ConnectError::invalid(format!(
            "{field} is reserved for the bootstrap admin token and cannot name a service account"
        )));
    }
    Ok(())
}

/// The namespace an account write names (the root when none), looked up in the caller's namespace tree: the one
/// at the access version this call read, so a namespace created or deleted by any process is seen as the store
/// sees it. The store checks again inside the write's transaction.
fn namespace_or_root(
    tree: &crate::model::NamespaceTree,
    namespace_id: Option<&str>,
) -> Result<String, ConnectError> {
    match namespace_id.filter(|id| !id.is_empty()) {
        Some(id) => match tree.get(id) {
            Some(ns) => Ok(ns.id.clone()),
            None => Err(ConnectError::invalid(format!(
                "namespaceId {id:?} names no namespace"
            ))),
        },
        None => tree
            .roots()
            .iter()
            .filter_map(|id| tree.get(id))
            .find(|n| n.parent_id.is_empty())
            .map(|n| n.id.clone())
            .ok_or_else(|| ConnectError::internal("the root namespace is missing")),
    }
}

/// The roles `user_id` holds (directly and through its directory groups): what an account acting as it could do.
pub(super) async fn grants_of<S: Store>(
    state: &AppState<S>,
    user_id: &str,
) -> Result<Grants, ConnectError> {
    let groups = match state.store.get_user(user_id).await? {
        Some(u) => u.groups,
        None => Vec::new(),
    };
    let permissions = state.store.list_permissions().await?;
    Ok(Grants::for_user(&permissions, user_id, &groups))
}

/// Refuses to make an account act as a user who holds more than the caller: its token would outrank them.
async fn require_not_above<S: Store>(
    state: &AppState<S>,
    scope: &Scope,
    user_id: &str,
) -> Result<(), ConnectError> {
    if scope.is_root() {
        return Ok(());
    }
    let grants = grants_of(state, user_id).await?;
    scope.require_outranks(&grants, &format!("user {user_id:?}"))
}

/// Narrows an account filter to the namespaces the caller may read; `None` when it may read none.
pub(super) fn within_scope(scope: &Scope, filter: Option<Expr>) -> Option<Option<Expr>> {
    let Some(visible) = scope.visible() else {
        return Some(filter);
    };
    if visible.is_empty() {
        return None;
    }
    let mine = Expr::field(Field::NamespaceId).is_any_of(visible);
    Some(Some(match filter {
        None => mine,
        Some(f) => Expr::and([mine, f]),
    }))
}

/// The account with this id, when the caller may read it (viewer in its namespace).
pub(super) async fn readable<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    id: &str,
) -> Result<AccountRecord, ConnectError> {
    let record = state
        .store
        .get_account(id)
        .await?
        .ok_or_else(|| ConnectError::not_found(format!("no service account with id {id:?}")))?;
    Scope::load(state, caller)
        .await?
        .require(&record.account.namespace_id, Role::Viewer)?;
    Ok(record)
}

pub async fn create<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    req: wire::CreateServiceAccountRequest,
) -> Result<wire::CreateServiceAccountResponse, ConnectError> {
    let sa = req
        .service_account
        .ok_or_else(|| ConnectError::invalid("serviceAccount is required"))?;
    let user_id = validate::identifier("userId", sa.user_id.as_deref(), MAX_USER_ID)?;
    let description = sa.description.unwrap_or_default();
    validate::display_text("description", &description, MAX_DESCRIPTION)?;
    let id = match sa.id.as_deref() {
        Some(id) => validate::identifier("id", Some(id), MAX_USER_ID)?,
        None => crate::model::new_id(),
    };
    not_reserved("id", &id)?;
    not_reserved("userId", &user_id)?;
    // Who made the account: the caller, unless the request names an originator of its own.
    let originator_id = sa
        .originator_id
        .filter(|o| !o.is_empty())
        .unwrap_or_else(|| caller.actor.clone());
    validate::display_text("originatorId", &originator_id, MAX_USER_ID)?;
    let now = caller.now;
    let expires_at = future_expiry(&sa.expires_at, now)?;
    let scope = Scope::load(state, caller).await?;
    let namespace_id = namespace_or_root(&scope.tree, sa.namespace_id.as_deref())?;
    scope.require(&namespace_id, Role::Manager)?;
    require_not_above(state, &scope, &user_id).await?;
    let account = ServiceAccount {
        id,
        namespace_id,
        originator_id,
        description,
        user_id,
        expires_at,
        created_at: now,
        modified_at: now,
        accessed_at: None,
        disabled: sa.disabled.unwrap_or(false),
    };
    // The store may issue a little later than now, after a deleted account of the same id: sign what it recorded.
    let record = state
        .store
        .create_account(&account, whole_seconds(now), &caller.change())
        .await?;
    let jwt = token::sign_service_account(
        &state.secret,
        &record.account.id,
        &record.account.user_id,
        record.issued_at,
        record.account.expires_at,
    );
    tracing::info!(account = %record.account.id, actor = %caller.actor, "service account created");
    Ok(wire::CreateServiceAccountResponse {
        service_account: Some((&record.account).into()),
        jwt: jwt.to_string(),
    })
}

pub async fn list<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    req: wire::ListServiceAccountsRequest,
) -> Result<wire::ListServiceAccountsResponse, ConnectError> {
    let filter = match &req.filter {
        None => None,
        Some(st) => Some(filter::parse_filter(&struct_to_json(st)).map_err(ConnectError::invalid)?),
    };
    let order = filter::parse_order_by(req.order_by.as_deref().unwrap_or(""))
        .map_err(ConnectError::invalid)?;
    let Some(filter) = within_scope(&Scope::load(state, caller).await?, filter) else {
        return Ok(wire::ListServiceAccountsResponse::default());
    };
    // Upstream semantics: an absent limit is every match, 0 is none (the total still counts them).
    let limit = req.limit.unwrap_or(u64::MAX);
    let page = state
        .store
        .list_accounts(&AccountQuery {
            filter,
            order,
            offset: req.offset.unwrap_or(0),
            limit,
        })
        .await?;
    Ok(wire::ListServiceAccountsResponse {
        service_accounts: page.items.iter().map(Into::into).collect(),
        total_count: page.total,
    })
}

pub async fn get<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    req: wire::GetServiceAccountRequest,
) -> Result<wire::GetServiceAccountResponse, ConnectError> {
    if req.id.is_empty() {
        return Err(ConnectError::invalid("id is required"));
    }
    let record = readable(state, caller, &req.id).await?;
    Ok(wire::GetServiceAccountResponse {
        service_account: Some((&record.account).into()),
    })
}

/// The editable fields, as update masks name them (snake_case). `disabled` is a sacon extension.
const EDITABLE: [&str; 5] = [
    "namespace_id",
    "description",
    "user_id",
    "expires_at",
    "disabled",
];
/// Fields that are set by the server (or once, at creation) and never by an update.
const READ_ONLY: [&str; 5] = [
    "id",
    "created_at",
    "modified_at",
    "accessed_at",
    "originator_id",
];

pub async fn update<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    req: wire::UpdateServiceAccountRequest,
) -> Result<wire::UpdateServiceAccountResponse, ConnectError> {
    let sa = req
        .service_account
        .ok_or_else(|| ConnectError::invalid("serviceAccount is required"))?;
    let id = sa
        .id
        .clone()
        .filter(|id| !id.is_empty())
        .ok_or_else(|| ConnectError::invalid("serviceAccount.id is required"))?;
    // Upstream semantics: no mask replaces every editable field; a present mask, even an empty one, names
    // exactly the fields to change.
    let mask: Option<Vec<String>> = req
        .update_mask
        .as_ref()
        .map(|m| m.paths.iter().filter(|p| !p.is_empty()).cloned().collect());
    let replace_all = mask.is_none();
    let paths = mask.unwrap_or_default();
    for p in &paths {
        if READ_ONLY.contains(&p.as_str()) {
            return Err(ConnectError::invalid(format!(
                "updateMask: {} cannot be updated",
                snake_to_camel(p)
            )));
        }
        if !EDITABLE.contains(&p.as_str()) {
            return Err(ConnectError::invalid(format!(
                "updateMask: unknown field {:?}",
                snake_to_camel(p)
            )));
        }
    }
    let masked = |field: &str| replace_all || paths.iter().any(|p| p == field);
    let existing = state
        .store
        .get_account(&id)
        .await?
        .ok_or_else(|| ConnectError::not_found(format!("no service account with id {id:?}")))?;
    let scope = Scope::load(state, caller).await?;
    scope.require(&existing.account.namespace_id, Role::Manager)?;

    let mut patch = AccountPatch::default();
    if masked("user_id") {
        let user_id = validate::identifier("userId", sa.user_id.as_deref(), MAX_USER_ID)?;
        not_reserved("userId", &user_id)?;
        patch.user_id = Some(user_id);
    }
    if masked("description") {
        let d = sa.description.unwrap_or_default();
        validate::display_text("description", &d, MAX_DESCRIPTION)?;
        patch.description = Some(d);
    }
    if masked("expires_at") {
        patch.expires_at = Some(future_expiry(&sa.expires_at, caller.now)?);
    }
    if masked("disabled") {
        // Absent is false, as an absent description is empty: a replace-all states the whole account.
        patch.disabled = Some(sa.disabled.unwrap_or(false));
    }
    if masked("namespace_id") {
        if let Some(ns) = sa.namespace_id.as_deref().filter(|n| !n.is_empty()) {
            patch.namespace_id = Some(namespace_or_root(&scope.tree, Some(ns))?);
        } else if !replace_all {
            return Err(ConnectError::invalid(
                "namespaceId is required when the update mask names it",
            ));
        }
    }

    if let Some(ns) = &patch.namespace_id {
        scope.require(ns, Role::Manager)?;
    }
    if let Some(user_id) = &patch.user_id
        && *user_id != existing.account.user_id
    {
        require_not_above(state, &scope, user_id).await?;
    }

    // Only a rotation supersedes tokens. A new user id would stop every earlier token (their `sub` no longer
    // matches), so it is a rotation too, and must say so.
    let rotate = req.rotate;
    if !rotate && req.grace_period.is_some() {
        return Err(ConnectError::invalid(
            "gracePeriod applies to a rotation; send rotate: true with it",
        ));
    }
    if !rotate
        && patch
            .user_id
            .as_ref()
            .is_some_and(|u| *u != existing.account.user_id)
    {
        return Err(ConnectError::invalid(
            "changing userId stops every token of the account; send rotate: true to do it",
        ));
    }
    let reissue = if rotate {
        Some(next_issue(&existing, &id, caller.now, req.grace_period)?)
    } else {
        None
    };
    let record = state
        .store
        .update_account(&id, &patch, reissue, &caller.change())
        .await?;
    // Tokens issued before carry their own `exp`: an expiry pushed later (or cleared) needs the new token; one
    // brought closer is enforced by the record on every token.
    let later = |new: Option<DateTime<Utc>>, old: Option<DateTime<Utc>>| match (new, old) {
        (None, Some(_)) => true,
        (Some(n), Some(o)) => n > o,
        _ => false,
    };
    let new_token_required =
        rotate || later(record.account.expires_at, existing.account.expires_at);
    let jwt = token::sign_service_account(
        &state.secret,
        &record.account.id,
        &record.account.user_id,
        record.issued_at,
        record.account.expires_at,
    );
    if record.account.disabled != existing.account.disabled {
        tracing::info!(
            account = %id,
            actor = %caller.actor,
            disabled = record.account.disabled,
            "service account {}",
            if record.account.disabled { "disabled: its tokens are refused" } else { "enabled" }
        );
    }
    if rotate {
        tracing::info!(account = %id, actor = %caller.actor, "service account rotated; earlier tokens superseded");
    } else {
        tracing::info!(account = %id, actor = %caller.actor, new_token_required, "service account updated");
    }
    Ok(wire::UpdateServiceAccountResponse {
        service_account: Some((&record.account).into()),
        jwt: jwt.to_string(),
        new_token_required,
    })
}

/// A rotation's token state: a new whole-second `iat`, told apart from every earlier one and still verifying at
/// once, with the grace it gives the tokens that verified until now.
fn next_issue(
    existing: &AccountRecord,
    id: &str,
    now: DateTime<Utc>,
    grace: Option<pbjson_types::Duration>,
) -> Result<Reissue, ConnectError> {
    let now_secs = whole_seconds(now);
    let mut issued_at = now_secs;
    if issued_at <= existing.issued_at {
        issued_at = existing.issued_at + Duration::seconds(1);
    }
    if issued_at - now_secs > MAX_ISSUE_AHEAD {
        let wait = (issued_at - now_secs - MAX_ISSUE_AHEAD)
            .num_seconds()
            .max(1);
        return Err(ConnectError::new(
            Code::Unavailable,
            format!("service account {id:?} was rotated too often this second; retry in {wait} s"),
        ));
    }
    reissue(existing, issued_at, now, grace)
}

/// The longest grace period a rotation may give old tokens.
pub const MAX_GRACE: Duration = Duration::days(30);

/// The new token state. Without a grace period every older token stops verifying at once; with one, every
/// token that verified until now (the current one, and any still in an earlier grace period) keeps verifying
/// until `now + grace` — never one that was already superseded.
fn reissue(
    existing: &AccountRecord,
    issued_at: DateTime<Utc>,
    now: DateTime<Utc>,
    grace: Option<pbjson_types::Duration>,
) -> Result<Reissue, ConnectError> {
    let grace = match grace {
        None => Duration::zero(),
        Some(g) => {
            let d = Duration::seconds(g.seconds) + Duration::nanoseconds(i64::from(g.nanos));
            if d < Duration::zero() || d > MAX_GRACE {
                return Err(ConnectError::invalid(
                    "gracePeriod must be between 0s and 30 days",
                ));
            }
            d
        }
    };
    if grace.is_zero() {
        return Ok(Reissue {
            issued_at,
            grace_from: None,
            grace_until: None,
        });
    }
    let earlier_grace_running = existing.grace_until.is_some_and(|u| u > now);
    let grace_from = match (earlier_grace_running, existing.grace_from) {
        (true, Some(from)) => from,
        _ => existing.issued_at,
    };
    Ok(Reissue {
        issued_at,
        grace_from: Some(grace_from),
        grace_until: Some(now + grace),
    })
}

pub async fn delete<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    req: wire::DeleteServiceAccountRequest,
) -> Result<wire::DeleteServiceAccountResponse, ConnectError> {
    if req.id.is_empty() {
        return Err(ConnectError::invalid("id is required"));
    }
    if let Some(record) = state.store.get_account(&req.id).await? {
        Scope::load(state, caller)
            .await?
            .require(&record.account.namespace_id, Role::Manager)?;
    }
    if state
        .store
        .delete_account(&req.id, &caller.change())
        .await?
    {
        tracing::info!(account = %req.id, actor = %caller.actor, "service account deleted");
    }
    Ok(wire::DeleteServiceAccountResponse {})
}
