//! What the server writes to its log about requests, bounded so no client can flood it: request paths and other
//! client-chosen values are cut to a few hundred bytes (and marked as cut), header *values* appear only for an
//! allow-list of harmless headers, and refusals are logged at a bounded rate per kind with a count of the ones
//! left out — every refusal is still counted.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;

/// Headers whose values may be logged; every other header is counted, never shown.
const LOGGED_HEADERS: [&str; 8] = [
    "user-agent",
    "content-type",
    "content-length",
    "x-forwarded-for",
    "x-real-ip",
    "forwarded",
    "connect-protocol-version",
    "connect-timeout-ms",
];

/// The most bytes of a client-chosen value (path, namespace, id) a log line carries.
pub const MAX_FIELD: usize = 200;

/// `value` without control or bidi characters, cut to `MAX_FIELD` bytes with a note of how long it was.
pub fn bounded(value: &str) -> Cow<'_, str> {
    bounded_to(value, MAX_FIELD)
}

pub fn bounded_to(value: &str, max: usize) -> Cow<'_, str> {
    let clean = value.len() <= max
        && !value
            .chars()
            .any(|c| crate::model::is_unsafe_char(c) || c == '\t' || c == '\n' || c == '\r');
    if clean {
        return Cow::Borrowed(value);
    }
    let clean = crate::model::sanitize(value);
    if clean.len() <= max {
        return Cow::Owned(clean);
    }
    let mut end = max;
    while !clean.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}…[cut, {} bytes]", &clean[..end], value.len()))
}

/// The allow-listed headers as one loggable line, and how many others there were.
pub fn logged_headers(headers: &HeaderMap) -> String {
    let mut shown = Vec::new();
    let mut others = 0usize;
    for (name, value) in headers {
        if LOGGED_HEADERS.contains(&name.as_str()) {
            let text = String::from_utf8_lossy(value.as_bytes());
            shown.push(format!("{}: {}", name.as_str(), bounded(&text)));
        } else {
            others += 1;
        }
    }
    if others > 0 {
        shown.push(format!("({others} other headers not logged)"));
    }
    shown.join(", ")
}

/// Lines of one kind allowed per second, and in a burst.
const LINES_PER_SECOND: f64 = 5.0;
const LINES_BURST: f64 = 20.0;

#[derive(Debug)]
struct KindState {
    tokens: f64,
    at: Instant,
    suppressed: u64,
    total: u64,
}

/// A log-rate budget per kind of refusal, and counts of every refusal.
#[derive(Debug, Default)]
pub struct Refusals(Mutex<HashMap<&'static str, KindState>>);

impl Refusals {
    /// Counts one refusal of `kind`. `Some(n)` when it may be logged now, `n` being how many of this kind were
    /// left out of the log since the last line; `None` when this one should be left out.
    pub fn admit(&self, kind: &'static str) -> Option<u64> {
        let now = Instant::now();
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let st = map.entry(kind).or_insert(KindState {
            tokens: LINES_BURST,
            at: now,
            suppressed: 0,
            total: 0,
        });
        st.total += 1;
        st.tokens = (st.tokens + now.duration_since(st.at).as_secs_f64() * LINES_PER_SECOND)
            .min(LINES_BURST);
        st.at = now;
        if st.tokens >= 1.0 {
            st.tokens -= 1.0;
            Some(std::mem::take(&mut st.suppressed))
        } else {
            st.suppressed += 1;
            None
        }
    }

    /// How many refusals of `kind` there have been since the server started.
    pub fn total(&self, kind: &str) -> u64 {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(kind).map_or(0, |s| s.total)
    }
}

/// Logs a refusal of `kind` at info when the budget allows, with the count of similar lines left out and of all
/// refusals of the kind so far.
#[macro_export]
macro_rules! log_refusal {
    ($refusals:expr, $kind:expr, $($field:tt)+) => {
        if let Some(suppressed) = $refusals.admit($kind) {
            // `total` counts every refusal of the kind since the start, logged or not.
            let total = $refusals.total($kind);
            if suppressed > 0 {
                tracing::info!(kind = $kind, total, suppressed, $($field)+);
            } else {
                tracing::info!(kind = $kind, total, $($field)+);
            }
        }
    };
}

pub async fn log_request(
    State(refusals): State<Arc<Refusals>>,
    request: Request,
    next: Next,
) -> Response {
    served(&refusals, request, |r| next.run(r)).await
}

/// Runs `handle` on `request` and logs it as [`log_request`] does: for the router's middleware, and for a path
/// answered before the router (`/verify`).
pub async fn served<F, Fut>(refusals: &Refusals, request: Request, handle: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: std::future::Future<Output = Response>,
{
    let started = Instant::now();
    let method = request.method().clone();
    let is_verify = request.uri().path() == "/verify";
    // `/verify` is the hot path and its path is known: nothing copied for it.
    let path: Cow<'static, str> = if is_verify {
        Cow::Borrowed("/verify")
    } else {
        Cow::Owned(bounded(request.uri().path()).into_owned())
    };
    if tracing::enabled!(tracing::Level::DEBUG) {
        tracing::debug!(%method, %path, headers = %logged_headers(request.headers()), "request");
    }
    let response = handle(request).await;
    let status = response.status().as_u16();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    // A proxy calls `/verify` once per request it protects: an info line per success would grow the log by
    // megabytes a minute and cost a file write each. Successes are debug; refusals stay info (with their reason,
    // logged by the handler).
    if is_verify && status == 200 {
        tracing::debug!(%method, %path, status, ms, "served");
    } else if status < 400 {
        tracing::info!(%method, %path, status, ms, "served");
    } else {
        let kind = if is_verify {
            "verify_refused_request"
        } else {
            "api_refused_request"
        };
        crate::log_refusal!(refusals, kind, %method, %path, status, ms, "served");
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_allow_listed_values_are_logged() {
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            "Pomerium secret.jwt.value".parse().unwrap(),
        );
        h.insert("x-pomerium-authorization", "secret2".parse().unwrap());
        h.insert("x-forwarded-authorization", "secret3".parse().unwrap());
        h.insert("content-type", "application/json".parse().unwrap());
        let line = logged_headers(&h);
        assert!(!line.contains("secret"), "{line}");
        assert!(line.contains("content-type: application/json"));
        assert!(line.contains("(3 other headers not logged)"), "{line}");
    }

    #[test]
    fn long_values_are_cut_and_marked() {
        let long = "é".repeat(1000);
        let cut = bounded(&long);
        assert!(cut.len() < MAX_FIELD + 40, "{}", cut.len());
        assert!(cut.ends_with("…[cut, 2000 bytes]"), "{cut}");
        assert_eq!(bounded("/ok"), "/ok");
        assert_eq!(bounded("a\u{1b}[2Jb"), "a[2Jb");
    }

    #[test]
    fn refusals_are_rate_limited_and_counted() {
        let r = Refusals::default();
        let admitted = (0..100).filter(|_| r.admit("x").is_some()).count();
        assert_eq!(admitted, LINES_BURST as usize);
        assert_eq!(r.total("x"), 100);
        assert_eq!(r.admit("y"), Some(0), "kinds have their own budgets");
    }
}
