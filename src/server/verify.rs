//! `GET|POST /verify`: forward authentication for reverse proxies (nginx `auth_request`, Traefik ForwardAuth,
//! Envoy ext_authz). Accepts a service-account JWT only when its signature, times, account, expiry, rotation
//! state, the account's being enabled and namespace all check out; answers 200 with identity headers, 401 or 403 with a uniform body, and
//! logs the reason (never the token) at a bounded rate. A successful check records use of the account, throttled.
//! The namespace scope comes from `X-Sacon-Namespace` or `?namespace=`; a scope that is present but empty, or
//! given more than once with different values, is refused with 400 — never ignored — and is judged in the
//! namespace tree of the compiled access (`access_decision`) at the access version read with the account, so a
//! check costs one point read scoped or not. A request naming its target (`X-Original-URL`, `X-Forwarded-*`) is
//! also judged by the route's policies: 403 when they refuse, and the deciding policy in `X-Sacon-Policy` either
//! way.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, HeaderName};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};

use super::AppState;
use super::access_decision::{self, CompiledAccess, Judgement, Judging};
use crate::policy::routing::Target;
use crate::store::{AccountRecord, Store, StoreError};
use crate::token::{self, TokenError};
use std::sync::Arc;

/// Clock skew tolerated on `iat`, `nbf` and `exp`.
pub const LEEWAY: Duration = Duration::seconds(5);
/// At most one `accessedAt` write per account in this interval: this process's throttle filters first, the
/// store's conditional write (shared by every process on the database) second.
pub use crate::store::ACCESS_WRITE_INTERVAL;

/// When each account's use was last written, so a busy client does not turn every request into a write.
#[derive(Debug, Default)]
pub struct AccessThrottle(Mutex<HashMap<String, DateTime<Utc>>>);

impl AccessThrottle {
    /// True when a write for `id` at `now` is due, and then remembers it.
    fn due(&self, id: &str, now: DateTime<Utc>) -> bool {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map
            .get(id)
            .is_some_and(|last| now - *last < ACCESS_WRITE_INTERVAL && now >= *last)
        {
            return false;
        }
        if map.len() >= 100_000 {
            map.retain(|_, last| now - *last < ACCESS_WRITE_INTERVAL);
        }
        map.insert(id.to_string(), now);
        true
    }
}

/// The longest namespace id or path a scope may name.
pub const MAX_SCOPE: usize = 1024;

/// The request's namespace scope: every `X-Sacon-Namespace` header and `namespace` query value must agree.
pub fn scope(
    headers: &HeaderMap,
    query: &[(String, String)],
) -> Result<Option<String>, &'static str> {
    let mut values = Vec::new();
    for v in headers.get_all(&X_SACON_NAMESPACE) {
        values.push(
            v.to_str()
                .map_err(|_| "X-Sacon-Namespace is not visible ASCII")?
                .trim(),
        );
    }
    values.extend(
        query
            .iter()
            .filter(|(k, _)| k == "namespace")
            .map(|(_, v)| v.trim()),
    );
    let Some(first) = values.first() else {
        return Ok(None);
    };
    if values.iter().any(|v| v.is_empty()) {
        return Err("the namespace scope is present but empty");
    }
    if values.iter().any(|v| v != first) {
        return Err("the namespace scope is given more than once with different values");
    }
    if first.len() > MAX_SCOPE {
        return Err("the namespace scope is longer than 1024 bytes");
    }
    Ok(Some(first.to_string()))
}

/// What the check concluded about a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerdictKind {
    Valid,
    Malformed,
    BadSignature,
    NotYetValid,
    TokenExpired,
    UnknownAccount,
    SubjectMismatch,
    AccountExpired,
    /// The token is the account's own and current, but an admin disabled the account (reversibly).
    Disabled,
    Superseded,
    UnknownNamespace,
    OutsideNamespace,
    /// `iat` beyond the leeway ahead of now.
    IssuedInFuture,
    /// Signed with the secret, but naming the bootstrap admin identity: an admin token, never an account's.
    ReservedIdentity,
    /// `iat` after the account's recorded issue time: no token of this server carries it.
    NotIssuedHere,
}

impl VerdictKind {
    /// The stable name used on the wire and in the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictKind::Valid => "valid",
            VerdictKind::Malformed => "malformed",
            VerdictKind::BadSignature => "bad_signature",
            VerdictKind::NotYetValid => "not_yet_valid",
            VerdictKind::TokenExpired => "token_expired",
            VerdictKind::UnknownAccount => "unknown_account",
            VerdictKind::SubjectMismatch => "subject_mismatch",
            VerdictKind::AccountExpired => "account_expired",
            VerdictKind::Disabled => "disabled",
            VerdictKind::Superseded => "superseded",
            VerdictKind::UnknownNamespace => "unknown_namespace",
            VerdictKind::OutsideNamespace => "outside_namespace",
            VerdictKind::IssuedInFuture => "issued_in_future",
            VerdictKind::ReservedIdentity => "reserved_identity",
            VerdictKind::NotIssuedHere => "not_issued_here",
        }
    }

    /// What `/verify` answers: 200, 403 for a valid token used outside its namespace, else 401 — a disabled
    /// account's token too, like an expired account's: the account, not the scope, refuses it.
    pub fn status(self) -> StatusCode {
        match self {
            VerdictKind::Valid => StatusCode::OK,
            VerdictKind::UnknownNamespace | VerdictKind::OutsideNamespace => StatusCode::FORBIDDEN,
            _ => StatusCode::UNAUTHORIZED,
        }
    }
}

/// The check's conclusion, the reason in words (for logs and `token inspect`, never for `/verify` callers),
/// and the account when the token named one that exists.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub kind: VerdictKind,
    pub reason: String,
    /// Shared with the store's own cache where it keeps one: a check copies no record.
    pub record: Option<Arc<AccountRecord>>,
    /// The access version read with the account (0 when none was read): what a target is judged by.
    pub access_version: i64,
}

impl Verdict {
    fn no(
        kind: VerdictKind,
        reason: impl Into<String>,
        record: Option<Arc<AccountRecord>>,
    ) -> Verdict {
        Verdict {
            kind,
            reason: reason.into(),
            record,
            access_version: 0,
        }
    }
}

pub async fn verify<S: Store>(State(state): State<AppState<S>>, request: Request) -> Response {
    serve(&state, request).await
}

/// The whole of `/verify` for one request: what the route runs, and what the listener runs for `/verify`
/// before the router (without copying the state or routing).
pub async fn serve<S: Store>(state: &AppState<S>, request: Request) -> Response {
    // The request taken apart, not extracted: the header map is read where it lies instead of copied.
    let (parts, body) = request.into_parts();
    let query: Vec<(String, String)> = match parts.uri.query() {
        None => Vec::new(),
        Some(q) => serde_urlencoded::from_str(q).unwrap_or_default(),
    };
    let resp = decide(state, &query, &parts.headers).await;
    super::connect::drained(resp, &parts.headers, body).await
}

async fn decide<S: Store>(
    state: &AppState<S>,
    query: &[(String, String)],
    headers: &HeaderMap,
) -> Response {
    let now = state.clock.now();
    let namespace = match scope(headers, query) {
        Ok(n) => n,
        Err(reason) => {
            crate::log_refusal!(state.refusals, "verify_bad_scope", reason, "verify refused");
            return uniform(StatusCode::BAD_REQUEST);
        }
    };
    // A malformed target is refused before the token is read — by a server that has routes; one without any
    // ignores the target (see `access_decision::ignored`).
    let target = match access_decision::target(headers) {
        Ok(t) => t,
        Err(reason) => match Box::pin(access_decision::ignored(state)).await {
            Ok(true) => None,
            Ok(false) => {
                let reason = crate::server::log::bounded_to(&reason, 256);
                crate::log_refusal!(state.refusals, "verify_bad_target", %reason, "verify refused");
                return uniform(StatusCode::BAD_REQUEST);
            }
            Err(e) => {
                tracing::error!(error = %e, "verify failed");
                return uniform(StatusCode::SERVICE_UNAVAILABLE);
            }
        },
    };
    // The two names `token_from_headers` asks for, as names made once.
    let get = |name: &str| {
        match name {
            "x-pomerium-authorization" => headers.get(&X_POMERIUM_AUTHORIZATION),
            "authorization" => headers.get(AUTHORIZATION),
            other => headers.get(other),
        }
        .and_then(|v| v.to_str().ok())
    };
    let Some((form, jwt)) = token::token_from_headers(get) else {
        crate::log_refusal!(
            state.refusals,
            "verify_refused",
            reason = "no token",
            "verify refused"
        );
        return uniform(StatusCode::UNAUTHORIZED);
    };
    let answer = match answer(state, jwt, namespace.as_deref(), target.as_ref(), now).await {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, "verify failed");
            return uniform(StatusCode::SERVICE_UNAVAILABLE);
        }
    };
    let status = answer.status();
    let Answer {
        verdict, judgement, ..
    } = answer;
    let policy_header = |resp: &mut Response| {
        if let Some(v) = judgement
            .as_ref()
            .and_then(|j| j.policy_id())
            .and_then(|p| HeaderValue::from_str(p).ok())
        {
            resp.headers_mut().insert(X_SACON_POLICY, v);
        }
    };
    let account = verdict.record.as_ref().map(|r| &r.account);
    if status != StatusCode::OK {
        let (kind, reason) = match &judgement {
            Some(j) if verdict.kind == VerdictKind::Valid => ("access_denied", j.reason()),
            _ => (verdict.kind.as_str(), verdict.reason.clone()),
        };
        let reason = crate::server::log::bounded_to(&reason, 256);
        crate::log_refusal!(
            state.refusals,
            "verify_refused",
            verdict = kind,
            %reason,
            account = %crate::server::log::bounded(account.map_or("-", |a| a.id.as_str())),
            "verify refused"
        );
        let mut resp = uniform(status);
        policy_header(&mut resp);
        return resp;
    }
    let Some(account) = account else {
        return uniform(StatusCode::SERVICE_UNAVAILABLE);
    };
    // Boxed, as the other rare paths: the write's state is not carried in every check's future.
    if state.access.due(&account.id, now)
        && let Err(e) = Box::pin(state.store.touch_accessed(&account.id, now)).await
    {
        tracing::warn!(account = %account.id, error = %e, "could not record use");
    }
    match &judgement {
        Some(j) => {
            tracing::debug!(account = %account.id, form = ?form, reason = %j.reason(), "verify accepted")
        }
        None => tracing::debug!(account = %account.id, form = ?form, "verify accepted"),
    }
    let mut resp = uniform(StatusCode::OK);
    policy_header(&mut resp);
    let h = resp.headers_mut();
    for (name, value) in [
        (X_SACON_USER, &account.user_id),
        (X_SACON_ACCOUNT, &account.id),
        (X_SACON_NAMESPACE, &account.namespace_id),
    ] {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    }
    resp
}

/// What `/verify` answers for a token, a scope and a target, and why: the token's verdict and, for a valid token
/// with a target on a server that has routes, the access decision. `/verify` and `CheckAccess` both ask this, so
/// they never disagree.
#[derive(Debug, Clone)]
pub struct Answer {
    pub verdict: Verdict,
    pub judgement: Option<Judgement>,
    /// The compiled access the target was judged by, when it was.
    pub access: Option<Arc<CompiledAccess>>,
}

impl Answer {
    /// 200, or the refusal's status: the token's first, then the access decision's 403.
    pub fn status(&self) -> StatusCode {
        if self.verdict.kind != VerdictKind::Valid {
            return self.verdict.kind.status();
        }
        match &self.judgement {
            Some(j) if !j.allowed => StatusCode::FORBIDDEN,
            _ => StatusCode::OK,
        }
    }
}

/// The whole answer, without its side effects (recording use is `/verify`'s). The access version comes from
/// the account's own read, so a valid check with a target reads the store once.
pub async fn answer<S: Store>(
    state: &AppState<S>,
    jwt: &str,
    namespace: Option<&str>,
    target: Option<&Target>,
    now: DateTime<Utc>,
) -> Result<Answer, StoreError> {
    let verdict = check(state, jwt, namespace, now).await?;
    let (judgement, access) = match (&verdict, target) {
        (
            Verdict {
                kind: VerdictKind::Valid,
                record: Some(record),
                access_version,
                ..
            },
            Some(target),
        ) => {
            let access = state.access_cache.at(*access_version, &state.store).await?;
            if access.is_empty() {
                (None, None)
            } else {
                let judging = Judging {
                    target: target.clone(),
                    access,
                };
                // Boxed: a judgement's state (directory reads) is not carried in every check's future.
                let j = Box::pin(access_decision::judge(state, &judging, record, now)).await?;
                (Some(j), Some(judging.access))
            }
        }
        _ => (None, None),
    };
    Ok(Answer {
        verdict,
        judgement,
        access,
    })
}

/// The answer's body and headers, the same for every request with that status: built from constants, with no
/// header name parsed.
fn uniform(status: StatusCode) -> Response {
    let body = match status {
        StatusCode::OK => "ok\n",
        StatusCode::UNAUTHORIZED => "unauthorized\n",
        StatusCode::FORBIDDEN => "forbidden\n",
        StatusCode::BAD_REQUEST => "bad request\n",
        _ => "unavailable\n",
    };
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.reserve(6);
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

const X_SACON_USER: HeaderName = HeaderName::from_static("x-sacon-user");
const X_SACON_ACCOUNT: HeaderName = HeaderName::from_static("x-sacon-account");
const X_SACON_NAMESPACE: HeaderName = HeaderName::from_static("x-sacon-namespace");
const X_SACON_POLICY: HeaderName = HeaderName::from_static("x-sacon-policy");
const X_POMERIUM_AUTHORIZATION: HeaderName = HeaderName::from_static("x-pomerium-authorization");

/// The whole decision, for `/verify` and `token inspect` alike. Asks the store for the account on every call
/// (the store may answer from records it keeps, but only once the database has said they are current), so a
/// delete, rotation or disable is in force as soon as it has answered, whichever process made it.
pub async fn check<S: Store>(
    state: &AppState<S>,
    jwt: &str,
    namespace: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Verdict, StoreError> {
    let claims = match token::verify_service_account(&state.secret, jwt, now, LEEWAY) {
        Ok(c) => c,
        Err(e) => {
            let kind = match e {
                TokenError::BadSignature => VerdictKind::BadSignature,
                TokenError::NotYetValid(_) => VerdictKind::NotYetValid,
                TokenError::Expired(_) => VerdictKind::TokenExpired,
                TokenError::IssuedInFuture(_) => VerdictKind::IssuedInFuture,
                TokenError::ReservedIdentity => VerdictKind::ReservedIdentity,
                TokenError::Malformed(_) | TokenError::WrongAlgorithm(_) => VerdictKind::Malformed,
            };
            return Ok(Verdict::no(kind, e.to_string(), None));
        }
    };
    let wanted = namespace.map(str::trim).filter(|n| !n.is_empty());
    // One point read for the account and the access version, scoped or not: made on every check, so a delete or
    // rotation that has answered is seen by the next check, whichever process wrote it. A scope is judged in the
    // namespace tree of the compiled access at that version (namespace writes move it).
    let (record, access_version) = state
        .store
        .get_account_for_verify_shared(&claims.jti)
        .await?;
    let Some(record) = record else {
        return Ok(Verdict::no(
            VerdictKind::UnknownAccount,
            format!(
                "no account {:?} (deleted, or never created here)",
                claims.jti
            ),
            None,
        ));
    };
    let account = &record.account;
    if account.user_id != claims.sub {
        let reason = format!(
            "account {} acts as {:?}, the token as {:?}",
            account.id, account.user_id, claims.sub
        );
        return Ok(Verdict::no(
            VerdictKind::SubjectMismatch,
            reason,
            Some(record),
        ));
    }
    if let Some(exp) = account.expires_at
        && now - LEEWAY >= exp
    {
        let reason = format!(
            "account {} expired at {}",
            account.id,
            crate::api::convert::format_time(exp)
        );
        return Ok(Verdict::no(
            VerdictKind::AccountExpired,
            reason,
            Some(record),
        ));
    }
    // Only the recorded issue time is current: a later `iat` was never issued here (a forged or replayed-
    // across-deletion token would otherwise outlive every rotation), an earlier one only inside a running grace.
    let iat = DateTime::from_timestamp(claims.iat, 0).unwrap_or_default();
    match claims.iat.cmp(&record.issued_at.timestamp()) {
        std::cmp::Ordering::Equal => {}
        std::cmp::Ordering::Greater => {
            let reason = format!(
                "token issued {} is newer than the account's current token ({}): not issued by this server",
                crate::api::convert::format_time(iat),
                crate::api::convert::format_time(record.issued_at)
            );
            return Ok(Verdict::no(
                VerdictKind::NotIssuedHere,
                reason,
                Some(record),
            ));
        }
        std::cmp::Ordering::Less => {
            let in_grace = record.grace_from.is_some_and(|from| iat >= from)
                && record.grace_until.is_some_and(|until| now < until);
            if !in_grace {
                let reason = format!(
                    "token issued {} was superseded by a rotation at {}",
                    crate::api::convert::format_time(iat),
                    crate::api::convert::format_time(record.issued_at)
                );
                return Ok(Verdict::no(VerdictKind::Superseded, reason, Some(record)));
            }
        }
    }
    // Checked once the token is known to be the account's own, current and unexpired, so `disabled` means
    // "enabling the account makes this token verify again" (within its namespace).
    if account.disabled {
        let reason = format!("service account {} is disabled", account.id);
        return Ok(Verdict::no(VerdictKind::Disabled, reason, Some(record)));
    }
    if let Some(wanted) = wanted {
        let access = state.access_cache.at(access_version, &state.store).await?;
        let tree = access.tree();
        let Some(ns) = tree.resolve(wanted) else {
            let reason = format!("namespace {wanted:?} does not exist");
            return Ok(Verdict::no(
                VerdictKind::UnknownNamespace,
                reason,
                Some(record),
            ));
        };
        if !tree.is_within(&ns.id, &account.namespace_id) {
            let reason = format!(
                "account {} belongs to {}, which is not {} or one of its ancestors",
                account.id,
                tree.display_path(&account.namespace_id),
                tree.display_path(&ns.id)
            );
            return Ok(Verdict::no(
                VerdictKind::OutsideNamespace,
                reason,
                Some(record),
            ));
        }
    }
    Ok(Verdict {
        kind: VerdictKind::Valid,
        reason: "the token verifies".into(),
        record: Some(record),
        access_version,
    })
}
