//! Admin authentication for the API: a bootstrap JWT in `Authorization: Pomerium <jwt>` or an exp-only JWT in a
//! `jwt` header, both HS256 over the shared secret. Service-account JWTs are never API credentials, by structure:
//! the bootstrap form needs `jti` = the bootstrap id, which no account id can be, and the exp-only form needs
//! `exp` alone, while an account's token always carries `jti`, `sub`, `iat` and `nbf` (see `token`).

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};

use crate::api::ConnectError;
use crate::token::{self, SharedSecret};

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
    if let Some(auth) = header("authorization") {
        seen = true;
        if let Some(jwt) = strip_scheme(auth, "Pomerium")
            && token::verify_bootstrap(secret, jwt, now).is_ok()
        {
            return Ok(Credential::Bootstrap);
        }
    }
    if let Some(jwt) = header("jwt") {
        seen = true;
        if token::verify_exp_only(secret, jwt, now).is_ok() {
            return Ok(Credential::ExpOnly);
        }
    }
    Err(ConnectError::unauthenticated(if seen {
        "credentials are not valid for this server"
    } else {
        "missing credentials: send `Authorization: Pomerium <bootstrap JWT>` or a `jwt` header"
    }))
}

fn strip_scheme<'a>(value: &'a str, scheme: &str) -> Option<&'a str> {
    let (s, rest) = value.split_once(' ')?;
    s.eq_ignore_ascii_case(scheme).then(|| rest.trim())
}
