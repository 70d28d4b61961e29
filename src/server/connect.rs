//! Connect unary over HTTP: routes `POST /<package>.<Service>/<Method>` to handlers and enforces the protocol's
//! rules (405, 404/unimplemented, 415 with Accept-Post, version header, timeout header, body limit, errors as
//! JSON whatever the request codec). A refusal made before the body was read still reads (a bounded amount of)
//! it, or closes the connection, so a keep-alive client sees the error and its next call works. Failed admin
//! authentications are slowed per source address.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use prost::Message;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::listen::BodyTimeout;
use super::{AppState, Caller, auth, handlers};
use crate::api::wire::paths;
use crate::api::{Code, Codec, ConnectError, codec};
use crate::store::Store;

/// Request bodies above this are refused with 413.
pub const MAX_BODY: usize = 64 * 1024;
/// Directory imports are one atomic request, so they may be larger.
pub const MAX_IMPORT_BODY: usize = 16 * 1024 * 1024;
/// The most of an unread body a refusal reads before answering; a longer one closes the connection instead.
pub const MAX_DRAIN: usize = 1024 * 1024;
/// How long a refusal waits for the rest of a body it drains.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// The body-read bound when the listener set none (a server driven without `listen::serve`).
const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(60);

const METHODS: &[&str] = &[
    paths::GET_SERVER_INFO,
    paths::CREATE_SERVICE_ACCOUNT,
    paths::LIST_SERVICE_ACCOUNTS,
    paths::GET_SERVICE_ACCOUNT,
    paths::UPDATE_SERVICE_ACCOUNT,
    paths::DELETE_SERVICE_ACCOUNT,
    paths::LIST_NAMESPACES,
    paths::SET_NAMESPACE,
    paths::DELETE_NAMESPACE,
    paths::QUERY_USERS,
    paths::GET_USER_INFO,
    paths::IMPORT_USERS,
    paths::INSPECT_TOKEN,
];

/// A Connect error as an HTTP response: the code's status, JSON body.
pub fn error_response(err: &ConnectError) -> Response {
    error_with_status(
        err,
        StatusCode::from_u16(err.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
    )
}

fn error_with_status(err: &ConnectError, status: StatusCode) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(codec::JSON))],
        err.to_json(),
    )
        .into_response()
}

/// Handles every request that is not another route: the Connect methods and the protocol's refusals.
pub async fn dispatch<S: Store>(
    State(state): State<AppState<S>>,
    request: Request<Body>,
) -> Response {
    let (parts, body) = request.into_parts();
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    let body_timeout = parts
        .extensions
        .get::<BodyTimeout>()
        .map_or(DEFAULT_BODY_TIMEOUT, |t| t.0);
    let path = parts.uri.path();
    let Some(&method_path) = METHODS.iter().find(|m| **m == path) else {
        let resp = error_with_status(
            &ConnectError::new(
                Code::Unimplemented,
                format!("no method at {}", super::log::bounded(path)),
            ),
            StatusCode::NOT_FOUND,
        );
        return drained(resp, &parts.headers, body).await;
    };
    if parts.method != Method::POST {
        let mut resp = error_with_status(
            &ConnectError::new(
                Code::Unimplemented,
                format!(
                    "{} is not allowed; Connect unary calls use POST",
                    parts.method
                ),
            ),
            StatusCode::METHOD_NOT_ALLOWED,
        );
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return drained(resp, &parts.headers, body).await;
    }
    let (codec, timeout, caller) = match prepare(&state, &parts.headers, method_path, peer) {
        Ok(prepared) => prepared,
        Err(resp) => return drained(*resp, &parts.headers, body).await,
    };
    let limit = if method_path == paths::IMPORT_USERS {
        MAX_IMPORT_BODY
    } else {
        MAX_BODY
    };
    let body = match read_body(&parts.headers, body, limit, body_timeout).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let call = route(&state, method_path, codec, body, caller);
    let result = match timeout {
        // A deadline of zero has passed before the call could start.
        Some(t) if t.is_zero() => Err(ConnectError::new(
            Code::DeadlineExceeded,
            "the call's deadline (0 ms) has passed",
        )),
        Some(t) => tokio::time::timeout(t, call).await.unwrap_or_else(|_| {
            Err(ConnectError::new(
                Code::DeadlineExceeded,
                format!("the call took longer than {} ms", t.as_millis()),
            ))
        }),
        None => call.await,
    };
    match result {
        Ok(bytes) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(codec.content_type()),
            )],
            bytes,
        )
            .into_response(),
        Err(e) => {
            if matches!(e.code, Code::Internal | Code::Unknown | Code::DataLoss) {
                tracing::error!(method = method_path, error = %e, "call failed");
            }
            error_response(&e)
        }
    }
}

/// Reads and discards what is left of a request body before `resp` is sent, so the client (which may still be
/// writing it) reads the answer and can reuse the connection. A body larger than `MAX_DRAIN`, or one that does
/// not arrive in time, is left unread and the connection is closed after the answer instead.
pub async fn drained(mut resp: Response, headers: &HeaderMap, body: Body) -> Response {
    use http_body_util::BodyExt;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let complete = if declared.is_some_and(|n| n > MAX_DRAIN as u64) {
        false
    } else {
        let mut body = body;
        let mut read = 0usize;
        let drain = async {
            while let Some(frame) = body.frame().await {
                match frame {
                    Ok(f) => {
                        read += f.data_ref().map_or(0, |d| d.len());
                        if read > MAX_DRAIN {
                            return false;
                        }
                    }
                    Err(_) => return false,
                }
            }
            true
        };
        tokio::time::timeout(DRAIN_TIMEOUT, drain)
            .await
            .unwrap_or(false)
    };
    if !complete {
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}

/// Checks content type, protocol version, timeout and credentials before any body is read.
fn prepare<S: Store>(
    state: &AppState<S>,
    headers: &HeaderMap,
    method_path: &str,
    peer: IpAddr,
) -> Result<(Codec, Option<Duration>, Caller), Box<Response>> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(codec) = Codec::from_content_type(content_type) else {
        let mut resp = error_with_status(
            &ConnectError::invalid(format!(
                "content type {content_type:?} is not supported; use application/json or application/proto"
            )),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        );
        resp.headers_mut()
            .insert("accept-post", HeaderValue::from_static(codec::ACCEPT_POST));
        return Err(Box::new(resp));
    };
    if let Some(v) = headers.get("connect-protocol-version")
        && v.as_bytes() != b"1"
    {
        return Err(Box::new(error_response(&ConnectError::invalid(format!(
            "Connect-Protocol-Version {:?} is not supported; send 1",
            String::from_utf8_lossy(v.as_bytes())
        )))));
    }
    let timeout = match headers.get("connect-timeout-ms") {
        None => None,
        Some(v) => {
            let text = v.to_str().unwrap_or("");
            if text.is_empty() || text.len() > 10 || !text.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Box::new(error_response(&ConnectError::invalid(format!(
                    "Connect-Timeout-Ms {text:?} is not 1 to 10 digits"
                )))));
            }
            Some(Duration::from_millis(text.parse().unwrap_or(u64::MAX)))
        }
    };
    let now = state.clock.now();
    let caller = if method_path == paths::GET_SERVER_INFO {
        Caller {
            actor: "anonymous",
            now,
        }
    } else {
        let actor = auth::authenticate(headers, &state.secret, now)
            .map_err(|e| Box::new(auth_refusal(state, peer, &e)))?;
        Caller { actor, now }
    };
    Ok((codec, timeout, caller))
}

/// 401 for a failed admin authentication, or 429 with `Retry-After` once the address has failed too often.
fn auth_refusal<S: Store>(state: &AppState<S>, peer: IpAddr, err: &ConnectError) -> Response {
    match state.auth_failures.fail(peer, state.clock.now()) {
        None => {
            crate::log_refusal!(state.refusals, "auth_failed", %peer, reason = %err.message, "admin authentication failed");
            error_response(err)
        }
        Some(wait) => {
            let secs = wait.num_seconds().max(1);
            crate::log_refusal!(state.refusals, "auth_throttled", %peer, retry_after_s = secs, "admin authentication throttled");
            let mut resp = error_response(&ConnectError::new(
                Code::ResourceExhausted,
                format!("too many failed authentications from this address; retry in {secs} s"),
            ));
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            resp
        }
    }
}

async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, Response> {
    let too_large = || {
        let mut resp = error_with_status(
            &ConnectError::new(
                Code::ResourceExhausted,
                format!("request body exceeds {limit} bytes"),
            ),
            StatusCode::PAYLOAD_TOO_LARGE,
        );
        // The rest of the body stays unread: the connection cannot be reused.
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        resp
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let read = tokio::time::timeout(timeout, axum::body::to_bytes(body, limit)).await;
    let Ok(read) = read else {
        let mut resp = error_response(&ConnectError::new(
            Code::DeadlineExceeded,
            format!(
                "the request body did not arrive within {} s",
                timeout.as_secs()
            ),
        ));
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return Err(resp);
    };
    read.map_err(|e| {
        let mut cur: &(dyn std::error::Error + 'static) = &e;
        loop {
            if cur.is::<http_body_util::LengthLimitError>() {
                return too_large();
            }
            match cur.source() {
                Some(next) => cur = next,
                None => break,
            }
        }
        error_response(&ConnectError::new(
            Code::Canceled,
            format!("could not read the request body: {e}"),
        ))
    })
}

async fn unary<Req, Resp, F, Fut>(
    codec: Codec,
    body: Bytes,
    handler: F,
) -> Result<Vec<u8>, ConnectError>
where
    Req: Message + Default + DeserializeOwned,
    Resp: Message + Serialize,
    F: FnOnce(Req) -> Fut,
    Fut: Future<Output = Result<Resp, ConnectError>>,
{
    let request: Req = codec.decode(&body)?;
    let response = handler(request).await?;
    Ok(codec.encode(&response))
}

async fn route<S: Store>(
    state: &AppState<S>,
    method_path: &str,
    codec: Codec,
    body: Bytes,
    caller: Caller,
) -> Result<Vec<u8>, ConnectError> {
    use handlers::{accounts, directory, namespaces, tokens};
    let (s, c) = (state, &caller);
    match method_path {
        paths::GET_SERVER_INFO => unary(codec, body, |r| accounts::server_info(s, r)).await,
        paths::CREATE_SERVICE_ACCOUNT => unary(codec, body, |r| accounts::create(s, c, r)).await,
        paths::LIST_SERVICE_ACCOUNTS => unary(codec, body, |r| accounts::list(s, r)).await,
        paths::GET_SERVICE_ACCOUNT => unary(codec, body, |r| accounts::get(s, r)).await,
        paths::UPDATE_SERVICE_ACCOUNT => unary(codec, body, |r| accounts::update(s, c, r)).await,
        paths::DELETE_SERVICE_ACCOUNT => unary(codec, body, |r| accounts::delete(s, c, r)).await,
        paths::LIST_NAMESPACES => unary(codec, body, |r| namespaces::list(s, r)).await,
        paths::SET_NAMESPACE => unary(codec, body, |r| namespaces::set(s, c, r)).await,
        paths::DELETE_NAMESPACE => unary(codec, body, |r| namespaces::delete(s, c, r)).await,
        paths::QUERY_USERS => unary(codec, body, |r| directory::query(s, r)).await,
        paths::GET_USER_INFO => unary(codec, body, |r| directory::get(s, r)).await,
        paths::IMPORT_USERS => unary(codec, body, |r| directory::import(s, c, r)).await,
        paths::INSPECT_TOKEN => unary(codec, body, |r| tokens::inspect(s, c, r)).await,
        other => Err(ConnectError::new(
            Code::Unimplemented,
            format!("no method at {other}"),
        )),
    }
}
