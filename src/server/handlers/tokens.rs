//! sacon.tokens.TokenService: judges a service-account JWT exactly as `/verify` would (without counting it as
//! use) and says why, for "whose token is this?" during an incident. Admin-only, like every other call.

use crate::access::Role;
use crate::api::ConnectError;
use crate::api::wire;
use crate::server::authz::Scope;
use crate::server::verify::{self, VerdictKind};
use crate::server::{AppState, Caller};
use crate::store::Store;
use crate::token;

pub async fn inspect<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    req: wire::InspectTokenRequest,
) -> Result<wire::InspectTokenResponse, ConnectError> {
    let jwt = req.jwt.trim();
    if jwt.is_empty() {
        return Err(ConnectError::invalid("jwt is required"));
    }
    let namespace = Some(req.namespace.as_str()).filter(|n| !n.trim().is_empty());
    let scope = Scope::load(state, caller).await?;
    scope.require_any(Role::Viewer, "inspecting a token")?;
    let verdict = verify::check(state, jwt, namespace, caller.now).await?;
    // Whose token it is, only to a caller that may read that account.
    if let Some(record) = &verdict.record {
        scope.require(&record.account.namespace_id, Role::Viewer)?;
    }
    let mut kind = verdict.kind.as_str().to_string();
    let mut reason = verdict.reason;
    if verdict.kind == VerdictKind::UnknownAccount
        && let Ok((_, claims)) = token::decode_unverified(jwt)
        && let Some(jti) = claims.get("jti").and_then(|j| j.as_str())
    {
        let history = state
            .store
            .list_audit_for("service_account", jti, 50)
            .await?;
        if let Some(deleted) = history
            .iter()
            .find(|e| e.action == "delete" && (scope.is_root() || scope.can_see(&e.namespace_id)))
        {
            kind = "deleted".into();
            reason = format!(
                "account {jti} was deleted at {} by {}",
                crate::api::convert::format_time(deleted.at),
                deleted.actor
            );
        }
    }
    Ok(wire::InspectTokenResponse {
        verdict: kind,
        reason,
        service_account: verdict.record.as_ref().map(|r| (&r.account).into()),
    })
}
