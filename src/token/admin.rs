//! The admin credentials made from the shared secret: the bootstrap JWT in the layout Pomerium's SDK sends, and the
//! exp-only JWT of the `jwt` header; both structurally apart from every service-account token.

use chrono::{DateTime, Utc};
use serde::Serialize;
use zeroize::Zeroizing;

use super::jwt::{ADMIN_LEEWAY, VerifiedClaims, check_times, sign_json};
use super::*;

/// The bootstrap form in Pomerium's layout (`jti`, `sub`, `iat`, `nbf`), plus an `exp` of sacon's own.
#[derive(Serialize)]
struct BootstrapClaims {
    jti: &'static str,
    sub: &'static str,
    iat: i64,
    nbf: i64,
    exp: i64,
}

#[derive(Serialize)]
struct ExpOnlyClaims {
    exp: i64,
}

/// The bootstrap admin JWT (`Authorization: Pomerium <jwt>`) in the layout Pomerium's SDK makes from the shared
/// secret, with a 5-minute `exp` so that a copied token does not stay a root credential for a day.
pub fn bootstrap_token(secret: &SharedSecret, now: DateTime<Utc>) -> Zeroizing<String> {
    let claims = BootstrapClaims {
        jti: BOOTSTRAP_ID,
        sub: BOOTSTRAP_SUBJECT,
        iat: now.timestamp(),
        nbf: now.timestamp(),
        exp: (now + ADMIN_TOKEN_LIFETIME).timestamp(),
    };
    sign_json(secret, &serde_json::to_vec(&claims).unwrap_or_default())
}

/// The exp-only admin JWT sent in a `jwt:` header.
pub fn exp_only_token(secret: &SharedSecret, now: DateTime<Utc>) -> Zeroizing<String> {
    let claims = ExpOnlyClaims {
        exp: (now + ADMIN_TOKEN_LIFETIME).timestamp(),
    };
    sign_json(secret, &serde_json::to_vec(&claims).unwrap_or_default())
}

/// Accepts a bootstrap admin JWT: right signature, `jti` the bootstrap id and `sub` the bootstrap subject
/// (exactly), no claims but `jti`, `sub`, `iat`, `nbf`, `exp`, and in its time window. Pomerium's SDK sends no
/// `exp`: a token is accepted until its `exp` or [`BOOTSTRAP_MAX_AGE`] after its `iat`, whichever is first, and
/// one with neither is refused.
pub fn verify_bootstrap(
    secret: &SharedSecret,
    jwt: &str,
    now: DateTime<Utc>,
) -> Result<(), TokenError> {
    let claims = VerifiedClaims::parse(secret, jwt)?;
    claims.only(&["jti", "sub", "iat", "nbf", "exp"])?;
    if claims.required_string("jti")? != BOOTSTRAP_ID
        || claims.required_string("sub")? != BOOTSTRAP_SUBJECT
    {
        return Err(TokenError::Malformed("not a bootstrap token".into()));
    }
    let iat = claims.time("iat")?;
    // Never longer than the age bound after `iat`, even with a later `exp`: a bootstrap token is a short-lived
    // root credential, and a long-lived one in this layout can only be a leak.
    let latest = iat.map(|iat| iat.saturating_add(BOOTSTRAP_MAX_AGE.num_seconds()));
    let exp = match (claims.time("exp")?, latest) {
        (Some(exp), Some(latest)) => exp.min(latest),
        (Some(exp), None) => exp,
        (None, Some(latest)) => latest,
        (None, None) => {
            return Err(TokenError::Malformed(
                "a bootstrap token needs an exp or an iat".into(),
            ));
        }
    };
    check_times(iat, claims.time("nbf")?, Some(exp), now, ADMIN_LEEWAY)
}

/// Accepts an exp-only admin JWT: right signature, `exp` its only claim, and in the future.
pub fn verify_exp_only(
    secret: &SharedSecret,
    jwt: &str,
    now: DateTime<Utc>,
) -> Result<(), TokenError> {
    let claims = VerifiedClaims::parse(secret, jwt)?;
    claims.only(&["exp"])?;
    let exp = claims.required_time("exp")?;
    check_times(None, None, Some(exp), now, ADMIN_LEEWAY)
}
