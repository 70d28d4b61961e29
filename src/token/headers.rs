//! The three header forms a client presents a service-account JWT in, read in Pomerium's order.

/// The three ways a client presents a service-account JWT, in the order Pomerium reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderForm {
    /// `X-Pomerium-Authorization: <jwt>`
    XPomeriumAuthorization,
    /// `Authorization: Pomerium <jwt>`
    AuthorizationPomerium,
    /// `Authorization: Bearer Pomerium-<jwt>`
    BearerPomerium,
}

impl HeaderForm {
    pub const ALL: [HeaderForm; 3] = [
        HeaderForm::BearerPomerium,
        HeaderForm::XPomeriumAuthorization,
        HeaderForm::AuthorizationPomerium,
    ];

    /// `(header name, header value)` presenting `jwt` in this form.
    pub fn header(self, jwt: &str) -> (&'static str, String) {
        match self {
            HeaderForm::XPomeriumAuthorization => ("X-Pomerium-Authorization", jwt.to_string()),
            HeaderForm::AuthorizationPomerium => ("Authorization", format!("Pomerium {jwt}")),
            HeaderForm::BearerPomerium => ("Authorization", format!("Bearer Pomerium-{jwt}")),
        }
    }
}

/// Finds a token in request headers in Pomerium's order; `get` looks a header up case-insensitively.
pub fn token_from_headers<'a>(
    get: impl Fn(&str) -> Option<&'a str>,
) -> Option<(HeaderForm, &'a str)> {
    if let Some(v) = get("x-pomerium-authorization")
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        return Some((HeaderForm::XPomeriumAuthorization, v));
    }
    let auth = get("authorization")?.trim();
    if let Some(rest) = strip_prefix_ci(auth, "Pomerium ") {
        return Some((HeaderForm::AuthorizationPomerium, rest.trim()));
    }
    if let Some(rest) = strip_prefix_ci(auth, "Bearer ")
        && let Some(jwt) = strip_prefix_ci(rest.trim_start(), "Pomerium-")
    {
        return Some((HeaderForm::BearerPomerium, jwt.trim()));
    }
    None
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    (s.len() >= prefix.len()
        && s.is_char_boundary(prefix.len())
        && s[..prefix.len()].eq_ignore_ascii_case(prefix))
    .then(|| &s[prefix.len()..])
}
