//! Connect unary over HTTP: routes `POST /<package>.<Service>/<Method>` (and Connect GET, for methods without
//! side effects) through the dispatch table in `methods.rs`, and enforces the protocol's rules (405,
//! 404/unimplemented, 415 with Accept-Post, version header, timeout header, body limit, errors as JSON whatever
//! the request codec). A refusal made before the body was read still reads (a bounded amount of)
//! it, or closes the connection, so a keep-alive client sees the error and its next call works. Failed admin
//! authentications are slowed per source address.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::listen::BodyTimeout;
use super::methods::{self, Access, Spec};
use super::{AppState, Caller, auth};
use crate::api::{Code, Codec, ConnectError, codec};
use crate::store::Store;

/// The most of an unread body a refusal reads before answering; a longer one closes the connection instead.
pub const MAX_DRAIN: usize = 1024 * 1024;
/// How long a refusal waits for the rest of a body it drains.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// The body-read bound when the listener set none (a server driven without `listen::serve`).
const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(60);

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
    let Some(spec) = methods::spec(path) else {
        let resp = error_with_status(
            &ConnectError::new(
                Code::Unimplemented,
                format!("no method at {}", super::log::bounded(path)),
            ),
            StatusCode::NOT_FOUND,
        );
        return drained(resp, &parts.headers, body).await;
    };
    let get = parts.method == Method::GET && spec.gettable();
    if parts.method != Method::POST && !get {
        let allow = if spec.gettable() { "GET, POST" } else { "POST" };
        let mut resp = error_with_status(
            &ConnectError::new(
                Code::Unimplemented,
                format!("{} is not allowed; this method takes {allow}", parts.method),
            ),
            StatusCode::METHOD_NOT_ALLOWED,
        );
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(allow));
        return drained(resp, &parts.headers, body).await;
    }
    let request = if get {
        get_request(parts.uri.query().unwrap_or(""))
    } else {
        post_codec(&parts.headers).map(|codec| (codec, None))
    };
    let (codec, get_message) = match request {
        Ok(r) => r,
        Err(resp) => return drained(*resp, &parts.headers, body).await,
    };
    let (timeout, caller) = match prepare(&state, &parts.headers, spec, peer).await {
        Ok(prepared) => prepared,
        Err(resp) => return drained(*resp, &parts.headers, body).await,
    };
    let body = match get_message {
        Some(message) => message,
        None => match read_body(&parts.headers, body, spec.body_limit, body_timeout).await {
            Ok(b) => b,
            Err(resp) => return resp,
        },
    };
    let call = methods::call(&state, spec, codec, body, caller);
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
                tracing::error!(method = spec.path, error = %e, "call failed");
            }
            error_response(&e)
        }
    }
}

/// Reads and discards what is left of a request body before `resp` is sent, so the client (which may still be
/// writing it) reads the answer and can reuse the connection. A body larger than `MAX_DRAIN`, or one that does
/// not arrive in time, is left unread and the connection is closed after the answer instead.
pub async fn drained(mut resp: Response, headers: &HeaderMap, body: Body) -> Response {
    use axum::body::HttpBody;
    use http_body_util::BodyExt;
    // Nothing left to read (a GET without a body): no timer to arm.
    if body.is_end_stream() {
        return resp;
    }
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

/// The codec a POST's `Content-Type` names, or 415 with `Accept-Post`.
fn post_codec(headers: &HeaderMap) -> Result<Codec, Box<Response>> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    Codec::from_content_type(content_type).ok_or_else(|| {
        let mut resp = error_with_status(
            &ConnectError::invalid(format!(
                "content type {:?} is not supported; use application/json or application/proto",
                super::log::bounded(content_type)
            )),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        );
        resp.headers_mut()
            .insert("accept-post", HeaderValue::from_static(codec::ACCEPT_POST));
        Box::new(resp)
    })
}

/// A Connect GET: `?connect=v1&encoding=json|proto&message=…[&base64=1]`, the message in the query string.
fn get_request(query: &str) -> Result<(Codec, Option<Bytes>), Box<Response>> {
    use base64::Engine;
    let invalid = |msg: String| Box::new(error_response(&ConnectError::invalid(msg)));
    let mut encoding = None;
    let mut message = None;
    let mut base64 = false;
    for (key, value) in form_pairs(query) {
        match key.as_str() {
            "connect" if value != "v1" => {
                return Err(invalid(format!(
                    "connect={:?} is not supported; send connect=v1",
                    super::log::bounded(&value)
                )));
            }
            "encoding" => encoding = Some(value),
            "message" => message = Some(value),
            "base64" => base64 = value == "1",
            "compression" if value != "identity" => {
                return Err(Box::new(error_response(&ConnectError::new(
                    Code::Unimplemented,
                    format!(
                        "compression {:?} is not supported",
                        super::log::bounded(&value)
                    ),
                ))));
            }
            _ => {}
        }
    }
    let codec = match encoding.as_deref() {
        Some("json") => Codec::Json,
        Some("proto") => Codec::Proto,
        Some(other) => {
            let mut resp = error_with_status(
                &ConnectError::invalid(format!(
                    "encoding {:?} is not supported; use json or proto",
                    super::log::bounded(other)
                )),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
            );
            resp.headers_mut()
                .insert("accept-post", HeaderValue::from_static(codec::ACCEPT_POST));
            return Err(Box::new(resp));
        }
        None => {
            return Err(invalid(
                "a Connect GET needs encoding=json or encoding=proto".into(),
            ));
        }
    };
    let message = message.unwrap_or_default();
    let bytes = if base64 {
        let trimmed = message.trim_end_matches('=');
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(trimmed)
            .map_err(|_| invalid("message is not URL-safe base64".into()))?
    } else {
        message.into_bytes()
    };
    if bytes.len() > methods::MAX_BODY {
        return Err(invalid(format!(
            "the message exceeds {} bytes",
            methods::MAX_BODY
        )));
    }
    Ok((codec, Some(Bytes::from(bytes))))
}

/// `application/x-www-form-urlencoded` pairs of a query string.
fn form_pairs(query: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query).unwrap_or_default()
}

/// Checks protocol version, timeout and credentials before any body is read.
async fn prepare<S: Store>(
    state: &AppState<S>,
    headers: &HeaderMap,
    spec: &Spec,
    peer: IpAddr,
) -> Result<(Option<Duration>, Caller), Box<Response>> {
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
    let caller = match spec.access {
        Access::Open => Caller {
            actor: "anonymous".into(),
            account_id: String::new(),
            principal: super::authz::Principal::Anonymous,
            now,
        },
        // Both root credentials are made from the shared secret; failing those, a service account's own token.
        Access::Admin => match auth::authenticate(headers, &state.secret, now) {
            Ok(_) => Caller::root(state.root_actor.to_string(), now),
            Err(root_refusal) => match auth::account_caller(state, headers, now).await {
                Ok(auth::AccountAuth::Caller(caller)) => caller,
                Ok(auth::AccountAuth::NotAnAccountToken) => {
                    return Err(Box::new(auth_refusal(state, peer, &root_refusal)));
                }
                Ok(auth::AccountAuth::Refused(e)) => {
                    return Err(Box::new(auth_refusal(state, peer, &e)));
                }
                // A genuine, current token: not a guess to slow down, just a caller without a role.
                Ok(auth::AccountAuth::Denied(e)) => return Err(Box::new(error_response(&e))),
                Err(e) => {
                    tracing::error!(error = %e, "authenticating a service account failed");
                    return Err(Box::new(error_response(&e)));
                }
            },
        },
    };
    Ok((timeout, caller))
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
