//! Authentication for the API. The root credentials: a bootstrap JWT in `Authorization: Pomerium <jwt>` or an
//! exp-only JWT in a `jwt` header, both HS256 over the shared secret. A service-account JWT is never a root
//! credential, by structure (the bootstrap form needs `jti` = the bootstrap id, which no account id can be, and
//! the exp-only form needs `exp` alone, while an account's token always carries `jti`, `sub`, `iat` and `nbf`);
//! it authenticates its account — judged exactly as `/verify` judges it — which may then do what the roles of
//! its user id allow, and nothing when it holds none.

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};

use crate::access::Grants;
use crate::api::{Code, ConnectError};
use crate::server::authz::Principal;
use crate::server::verify::{self, VerdictKind};
use crate::server::{AppState, Caller};
use crate::store::Store;
use crate::token::{self, SharedSecret, TokenError};

/// Which credential authenticated a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// `Authorization: Pomerium <bootstrap JWT>`.
    Bootstrap,
    /// A `jwt` header whose only claim is `exp`.
    ExpOnly,
}

/// The credential a call carries, or `unauthenticated`. Both kinds are made from the shared secret: the root.
pub fn authenticate(
    headers: &HeaderMap,
    secret: &SharedSecret,
    now: DateTime<Utc>,
) -> Result<Credential, ConnectError> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let mut seen = false;
    // A credential that was genuine (its signature verified) but has expired gets a message that says so.
    let mut expired = None;
    let mut note = |r: Result<(), TokenError>| match r {
        Ok(()) => true,
        Err(TokenError::Expired(at)) => {
            expired = Some(at);
            false
        }
        Err(_) => false,
    };
    if let Some(auth) = header("authorization") {
        seen = true;
        if let Some(jwt) = strip_scheme(auth, "Pomerium")
            && note(token::verify_bootstrap(secret, jwt, now))
        {
            return Ok(Credential::Bootstrap);
        }
    }
    if let Some(jwt) = header("jwt") {
        seen = true;
        if note(token::verify_exp_only(secret, jwt, now)) {
            return Ok(Credential::ExpOnly);
        }
    }
    Err(ConnectError::unauthenticated(match (expired, seen) {
        (Some(at), _) => format!(
            "your admin token expired at {}; get a new one with `sacon token bootstrap`",
            crate::api::convert::format_time(at)
        ),
        (None, true) => "credentials are not valid for this server".into(),
        (None, false) => {
            "missing credentials: send `Authorization: Pomerium <bootstrap JWT>` or a `jwt` header"
                .into()
        }
    }))
}

fn strip_scheme<'a>(value: &'a str, scheme: &str) -> Option<&'a str> {
    let (s, rest) = value.split_once(' ')?;
    s.eq_ignore_ascii_case(scheme).then(|| rest.trim())
}

/// How a call presenting a service-account token fared.
pub enum AccountAuth {
    /// No service-account token in the headers (or not one this server signed): judge by the root credential.
    NotAnAccountToken,
    /// A token this server signed that does not authenticate now (expired, superseded, deleted …).
    Refused(ConnectError),
    /// A valid token whose user holds no role: known, but allowed nothing.
    Denied(ConnectError),
    Caller(Caller),
}

/// Authenticates a service account by its own token and loads the roles its user id holds, directly and through
/// its directory groups.
pub async fn account_caller<S: Store>(
    state: &AppState<S>,
    headers: &HeaderMap,
    now: DateTime<Utc>,
) -> Result<AccountAuth, ConnectError> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let Some((_, jwt)) = token::token_from_headers(get) else {
        return Ok(AccountAuth::NotAnAccountToken);
    };
    let verdict = verify::check(state, jwt, None, now).await?;
    let record = match verdict.kind {
        VerdictKind::Valid => verdict.record,
        VerdictKind::BadSignature | VerdictKind::Malformed | VerdictKind::ReservedIdentity => {
            return Ok(AccountAuth::NotAnAccountToken);
        }
        VerdictKind::TokenExpired | VerdictKind::AccountExpired => {
            // The signature verified, so the token's own claims name the account.
            let id = token::decode_unverified(jwt)
                .ok()
                .and_then(|(_, claims)| claims.get("jti")?.as_str().map(str::to_string))
                .unwrap_or_else(|| "ID".into());
            let fix = if verdict.kind == VerdictKind::TokenExpired {
                format!(
                    "get a new one from an admin of its namespace: `sacon accounts rotate {id}`"
                )
            } else {
                format!(
                    "an admin of its namespace can extend it: `sacon accounts update {id} --expires …`"
                )
            };
            return Ok(AccountAuth::Refused(ConnectError::unauthenticated(
                format!(
                    "your token expired: {} (service account {id}); {fix}",
                    verdict.reason
                ),
            )));
        }
        VerdictKind::Disabled => {
            let id = verdict
                .record
                .as_ref()
                .map(|r| r.account.id.clone())
                .unwrap_or_else(|| "ID".into());
            return Ok(AccountAuth::Refused(ConnectError::unauthenticated(
                format!(
                    "service account {id} is disabled, so its token does not authenticate; an admin of its \
                     namespace can enable it: `sacon accounts enable {id}`"
                ),
            )));
        }
        _ => {
            return Ok(AccountAuth::Refused(ConnectError::unauthenticated(
                format!(
                    "this service-account token does not authenticate: {}",
                    verdict.reason
                ),
            )));
        }
    };
    let Some(record) = record else {
        return Ok(AccountAuth::NotAnAccountToken);
    };
    let account = std::sync::Arc::unwrap_or_clone(record).account;
    let groups = match state.store.get_user(&account.user_id).await? {
        Some(user) => user.groups,
        None => Vec::new(),
    };
    let permissions = state.store.list_permissions().await?;
    let grants = Grants::for_user(&permissions, &account.user_id, &groups);
    if grants.is_empty() {
        return Ok(AccountAuth::Denied(ConnectError::new(
            Code::PermissionDenied,
            format!(
                "permission denied: service account {} (user {:?}) holds no role in any namespace; an admin \
                 grants one with `sacon permissions grant NAMESPACE --user {} --role viewer`",
                account.id, account.user_id, account.user_id
            ),
        )));
    }
    Ok(AccountAuth::Caller(Caller {
        actor: account.user_id.clone(),
        account_id: account.id.clone(),
        principal: Principal::Account {
            account_id: account.id,
            user_id: account.user_id,
            grants,
        },
        now,
    }))
}
