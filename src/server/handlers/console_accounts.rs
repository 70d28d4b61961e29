//! pomerium.dashboard.PomeriumServiceAccountService, the Enterprise Console's own service-account API: a second
//! view of the accounts ConfigService serves. Every write goes through the ConfigService handlers, so both views
//! share one set of rules, one store and one audit trail.

use super::accounts;
use crate::access::Role;
use crate::api::convert::{chrono_to_timestamp, opt_ts};
use crate::api::{ConnectError, wire};
use crate::filter::{Expr, Field};
use crate::server::authz::Scope;
use crate::server::{AppState, Caller};
use crate::store::{AccountQuery, AccountRecord, Store};

fn console_view(record: &AccountRecord) -> wire::PomeriumServiceAccount {
    let a = &record.account;
    wire::PomeriumServiceAccount {
        id: a.id.clone(),
        namespace_id: Some(a.namespace_id.clone()),
        description: (!a.description.is_empty()).then(|| a.description.clone()),
        user_id: a.user_id.clone(),
        accessed_at: opt_ts(a.accessed_at),
        expires_at: opt_ts(a.expires_at),
        issued_at: Some(chrono_to_timestamp(record.issued_at)),
        originator_id: (!a.originator_id.is_empty()).then(|| a.originator_id.clone()),
        disabled: a.disabled.then_some(true),
    }
}

async fn record<S: Store>(state: &AppState<S>, id: &str) -> Result<AccountRecord, ConnectError> {
    state
        .store
        .get_account(id)
        .await?
        .ok_or_else(|| ConnectError::not_found(format!("no service account with id {id:?}")))
}

fn required(
    sa: Option<wire::PomeriumServiceAccount>,
) -> Result<wire::PomeriumServiceAccount, ConnectError> {
    sa.ok_or_else(|| ConnectError::invalid("serviceAccount is required"))
}

pub async fn add<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    req: wire::AddPomeriumServiceAccountRequest,
) -> Result<wire::AddPomeriumServiceAccountResponse, ConnectError> {
    let sa = required(req.service_account)?;
    let created = accounts::create(
        state,
        caller,
        wire::CreateServiceAccountRequest {
            service_account: Some(wire::ServiceAccount {
                id: (!sa.id.is_empty()).then(|| sa.id.clone()),
                namespace_id: sa.namespace_id.clone(),
                originator_id: sa.originator_id.clone(),
                description: sa.description.clone(),
                user_id: Some(sa.user_id.clone()),
                expires_at: sa.expires_at,
                disabled: sa.disabled,
                ..Default::default()
            }),
        },
    )
    .await?;
    let id = created
        .service_account
        .as_ref()
        .and_then(|a| a.id.clone())
        .unwrap_or_default();
    Ok(wire::AddPomeriumServiceAccountResponse {
        service_account: Some(console_view(&record(state, &id).await?)),
        jwt: created.jwt.clone(),
    })
}

pub async fn get<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    req: wire::GetPomeriumServiceAccountRequest,
) -> Result<wire::GetPomeriumServiceAccountResponse, ConnectError> {
    if req.id.is_empty() {
        return Err(ConnectError::invalid("id is required"));
    }
    Ok(wire::GetPomeriumServiceAccountResponse {
        service_account: Some(console_view(
            &accounts::readable(state, caller, &req.id).await?,
        )),
    })
}

/// The accounts created in one namespace (`namespace`, an id), or every account when it is empty.
pub async fn list<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    req: wire::ListPomeriumServiceAccountsRequest,
) -> Result<wire::ListPomeriumServiceAccountsResponse, ConnectError> {
    let scope = Scope::load(state, caller).await?;
    let filter = if req.namespace.is_empty() {
        None
    } else {
        if state.store.get_namespace(&req.namespace).await?.is_none() {
            return Err(ConnectError::not_found(format!(
                "no namespace with id {:?}",
                req.namespace
            )));
        }
        scope.require(&req.namespace, Role::Viewer)?;
        Some(Expr::field(Field::NamespaceId).eq(req.namespace.clone()))
    };
    let Some(filter) = accounts::within_scope(&scope, filter) else {
        return Ok(wire::ListPomeriumServiceAccountsResponse::default());
    };
    let page = state
        .store
        .list_accounts(&AccountQuery {
            filter,
            order: Vec::new(),
            offset: 0,
            limit: u64::MAX,
        })
        .await?;
    let mut service_accounts = Vec::with_capacity(page.items.len());
    for a in page.items {
        // The listing carries no issue state; read each record for its `issuedAt`.
        service_accounts.push(console_view(&record(state, &a.id).await?));
    }
    Ok(wire::ListPomeriumServiceAccountsResponse { service_accounts })
}

/// Changes the fields the request sets (description, namespace, user id, expiry, disabled) and answers with a token. Only a
/// new user id supersedes the account's tokens (theirs would no longer match); other edits leave them working.
pub async fn set<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    req: wire::SetPomeriumServiceAccountRequest,
) -> Result<wire::SetPomeriumServiceAccountResponse, ConnectError> {
    let sa = required(req.service_account)?;
    if sa.id.is_empty() {
        return Err(ConnectError::invalid("serviceAccount.id is required"));
    }
    let mut paths = Vec::new();
    if sa.description.is_some() {
        paths.push("description".to_string());
    }
    if sa.namespace_id.is_some() {
        paths.push("namespace_id".to_string());
    }
    if !sa.user_id.is_empty() {
        paths.push("user_id".to_string());
    }
    if sa.expires_at.is_some() {
        paths.push("expires_at".to_string());
    }
    if sa.disabled.is_some() {
        paths.push("disabled".to_string());
    }
    let current = record(state, &sa.id).await?;
    let rotate = !sa.user_id.is_empty() && sa.user_id != current.account.user_id;
    let updated = accounts::update(
        state,
        caller,
        wire::UpdateServiceAccountRequest {
            service_account: Some(wire::ServiceAccount {
                id: Some(sa.id.clone()),
                namespace_id: sa.namespace_id.clone(),
                description: sa.description.clone(),
                user_id: (!sa.user_id.is_empty()).then(|| sa.user_id.clone()),
                expires_at: sa.expires_at,
                disabled: sa.disabled,
                ..Default::default()
            }),
            update_mask: Some(crate::api::wkt::FieldMask { paths }),
            grace_period: None,
            rotate,
        },
    )
    .await?;
    Ok(wire::SetPomeriumServiceAccountResponse {
        service_account: Some(console_view(&record(state, &sa.id).await?)),
        jwt: updated.jwt.clone(),
    })
}

pub async fn delete<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    req: wire::DeletePomeriumServiceAccountRequest,
) -> Result<wire::DeletePomeriumServiceAccountResponse, ConnectError> {
    accounts::delete(
        state,
        caller,
        wire::DeleteServiceAccountRequest { id: req.id },
    )
    .await?;
    Ok(wire::DeletePomeriumServiceAccountResponse {})
}
