//! Admin authentication for the API: a bootstrap JWT in `Authorization: Pomerium <jwt>` or an exp-only JWT in a
//! `jwt` header, both HS256 over the shared secret. Service-account JWTs are never API credentials, by structure:
//! the bootstrap form needs `jti` = the bootstrap id, which no account id can be, and the exp-only form needs
//! `exp` alone, while an account's token always carries `jti`, `sub`, `iat` and `nbf` (see `token`).

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};

use crate::api::ConnectError;
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
