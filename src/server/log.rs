//! Request logging for the server: method, path, status and time of every request, with the headers that carry
//! credentials or tokens (`authorization`, `x-pomerium-authorization`, `jwt`, cookies) redacted.

use std::time::Instant;

use axum::extract::Request;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;

const REDACTED: [&str; 5] = [
    "authorization",
    "x-pomerium-authorization",
    "jwt",
    "cookie",
    "proxy-authorization",
];

/// The headers as one loggable line, secrets replaced by `[redacted]`.
pub fn redacted_headers(headers: &HeaderMap) -> String {
    headers
        .iter()
        .map(|(name, value)| {
            let shown = if REDACTED.contains(&name.as_str()) {
                "[redacted]".to_string()
            } else {
                crate::model::sanitize(&String::from_utf8_lossy(value.as_bytes()))
            };
            format!("{}: {shown}", name.as_str())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = crate::model::sanitize(request.uri().path());
    if tracing::enabled!(tracing::Level::DEBUG) {
        tracing::debug!(%method, %path, headers = %redacted_headers(request.headers()), "request");
    }
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    // A proxy calls `/verify` once per request it protects: an info line per success would grow the log by
    // megabytes a minute and cost a file write each. Successes are debug; refusals stay info (with their reason,
    // logged by the handler).
    if path == "/verify" && status == 200 {
        tracing::debug!(%method, %path, status, ms, "served");
    } else {
        tracing::info!(%method, %path, status, ms, "served");
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_redacted() {
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            "Pomerium secret.jwt.value".parse().unwrap(),
        );
        h.insert("x-pomerium-authorization", "secret2".parse().unwrap());
        h.insert("jwt", "secret3".parse().unwrap());
        h.insert("content-type", "application/json".parse().unwrap());
        let line = redacted_headers(&h);
        assert!(!line.contains("secret"), "{line}");
        assert!(line.contains("content-type: application/json"));
        assert_eq!(line.matches("[redacted]").count(), 3);
    }
}
