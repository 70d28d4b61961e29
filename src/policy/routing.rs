//! Which route a request is for: a route's `from` is a scheme and a host (`https://app.example.com`, or a wildcard
//! `https://*.example.com`) with an optional path prefix; a target URL (as a proxy forwards it) is normalised —
//! host lowercased, default port dropped, path percent-decoded with `.`/`..` segments resolved and slashes
//! merged, query dropped — and matched to the most specific route: an exact host before a wildcard (the longer
//! the suffix the better), then the longest prefix.

use std::collections::HashMap;

/// The scheme and host a route or target names, normalised: `https://app.example.com:8443`.
fn origin(scheme: &str, authority: &str) -> Result<(String, String), String> {
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(format!("scheme {scheme:?} is not http or https"));
    }
    if authority.is_empty() {
        return Err("the host is empty".into());
    }
    if authority.contains(['/', '?', '#', '@', '\\']) || authority.chars().any(char::is_whitespace)
    {
        return Err(format!("host {authority:?} is not a host name"));
    }
    if let Some(host) = plain_host(&scheme, authority) {
        return Ok((scheme, host));
    }
    // A wildcard label is not a valid host for the URL parser; check the rest and put it back.
    let (wild, rest) = match authority.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, authority),
    };
    let url = url::Url::parse(&format!("{scheme}://{rest}"))
        .map_err(|e| format!("host {authority:?} is not a host name: {e}"))?;
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| format!("host {authority:?} is not a host name"))?;
    if host.contains('*') {
        return Err(format!(
            "host {authority:?}: a wildcard may only be the whole first label (*.example.com)"
        ));
    }
    let mut host = if wild {
        format!("*.{host}")
    } else {
        host.to_string()
    };
    if let Some(port) = url.port() {
        host = format!("{host}:{port}");
    }
    Ok((scheme, host))
}

/// The common case without the URL parser (it runs for every `/verify` with a target): an ASCII name of
/// letters, digits, `-` and `.` (not starting or ending with `.` or `-`, no empty label), with an optional
/// decimal port; lowercased, the scheme's default port dropped. `None` hands anything else (IP literals,
/// international names, odd ports) to the parser.
fn plain_host(scheme: &str, authority: &str) -> Option<String> {
    let (name, port) = match authority.rsplit_once(':') {
        Some((n, p)) => (n, Some(p)),
        None => (authority, None),
    };
    let labels_ok = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        // An all-numeric last label would be read as an IPv4 address by the parser: leave it to it.
        && name
            .rsplit('.')
            .next()
            .is_some_and(|l| !l.bytes().all(|b| b.is_ascii_digit()))
        // Punycode labels are checked by the parser.
        && !name.split('.').any(|l| l.len() >= 4 && l[..4].eq_ignore_ascii_case("xn--"));
    if !labels_ok {
        return None;
    }
    let mut host = name.to_ascii_lowercase();
    if let Some(port) = port {
        if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: u32 = port.parse().ok()?;
        if n > 65535 {
            return None;
        }
        let default = if scheme == "https" { 443 } else { 80 };
        if n != default {
            host.push(':');
            host.push_str(&n.to_string());
        }
    }
    Some(host)
}

/// A route's `from`, normalised (`https://App.Example.com:443/` -> `https://app.example.com`); refused unless
/// it is exactly a scheme and a host.
pub fn normalize_from(from: &str) -> Result<String, String> {
    let (scheme, rest) = from
        .split_once("://")
        .ok_or_else(|| format!("{from:?} is not scheme://host"))?;
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.contains(['/', '?', '#']) {
        return Err(format!(
            "{from:?} has a path, query or fragment; from is a scheme and a host only (put a path in prefix)"
        ));
    }
    let (scheme, host) = origin(scheme, authority)?;
    Ok(format!("{scheme}://{host}"))
}

/// A route's path prefix: empty (everything), or starting with `/`, without query or fragment.
pub fn check_prefix(prefix: &str) -> Result<(), String> {
    if prefix.is_empty() {
        return Ok(());
    }
    if !prefix.starts_with('/') {
        return Err(format!("prefix {prefix:?} must start with /"));
    }
    if prefix.contains(['?', '#']) || prefix.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "prefix {prefix:?} must be a plain path (no query, fragment, spaces or control characters)"
        ));
    }
    if normalize_path(prefix) != prefix {
        return Err(format!(
            "prefix {prefix:?} is not in normal form (no //, . or .. segments, no percent escapes): {:?}",
            normalize_path(prefix)
        ));
    }
    Ok(())
}

/// The request a proxy asks about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub scheme: String,
    /// Lowercased, with a port only when it is not the scheme's default.
    pub host: String,
    /// Normalised, without query.
    pub path: String,
}

impl Target {
    /// From a whole URL (nginx `X-Original-URL`).
    pub fn from_url(url: &str) -> Result<Target, String> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("{url:?} is not an absolute URL"))?;
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(i) => rest.split_at(i),
            None => (rest, "/"),
        };
        Target::from_parts(scheme, authority, path)
    }

    /// From `X-Forwarded-Proto`, `-Host` and `-Uri` (the path and query as the client sent them).
    pub fn from_parts(scheme: &str, host: &str, uri: &str) -> Result<Target, String> {
        let (scheme, host) = origin(scheme.trim(), host.trim())?;
        if host.starts_with("*.") {
            return Err(format!("host {host:?} is a wildcard, not a request's host"));
        }
        let uri = uri.trim();
        let path = uri.split(['?', '#']).next().unwrap_or("");
        if !path.is_empty() && !path.starts_with('/') {
            return Err(format!("the path {path:?} does not start with /"));
        }
        Ok(Target {
            scheme,
            host,
            path: normalize_path(path),
        })
    }

    pub fn url(&self) -> String {
        format!("{}://{}{}", self.scheme, self.host, self.path)
    }
}

/// Percent-decoded, slashes merged, `.` and `..` resolved (never above the root); always starts with `/`.
pub fn normalize_path(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            decoded.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        decoded.push(bytes[i]);
        i += 1;
    }
    let text = String::from_utf8_lossy(&decoded);
    let mut segments: Vec<&str> = Vec::new();
    for seg in text.split(['/', '\\']) {
        match seg {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let trailing = text.ends_with('/') && !segments.is_empty();
    let mut out = String::with_capacity(text.len() + 1);
    for s in &segments {
        out.push('/');
        out.push_str(s);
    }
    if out.is_empty() || trailing {
        out.push('/');
    }
    out
}

/// What the table needs of a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteEntry {
    pub id: String,
    pub name: String,
    pub namespace_id: String,
    /// Normalised (`normalize_from`).
    pub from: String,
    pub prefix: String,
    pub policy_ids: Vec<String>,
}

/// Routes indexed by origin for the most-specific match.
#[derive(Debug, Default)]
pub struct RouteTable {
    routes: Vec<RouteEntry>,
    /// `scheme://host` -> routes, longest prefix first.
    exact: HashMap<String, Vec<usize>>,
    /// `(scheme, .suffix)` -> routes, longest suffix first, then longest prefix.
    wildcard: Vec<(String, String, usize)>,
}

impl RouteTable {
    /// Routes whose `from` does not normalise are left out (the API refuses them on write).
    pub fn new(mut routes: Vec<RouteEntry>) -> RouteTable {
        routes.sort_by(|a, b| a.id.cmp(&b.id));
        let mut table = RouteTable::default();
        for (i, r) in routes.iter().enumerate() {
            let Ok(from) = normalize_from(&r.from) else {
                continue;
            };
            let Some((scheme, host)) = from.split_once("://") else {
                continue;
            };
            match host.strip_prefix('*') {
                Some(suffix) => table
                    .wildcard
                    .push((scheme.to_string(), suffix.to_string(), i)),
                None => table.exact.entry(from.clone()).or_default().push(i),
            }
        }
        let prefix_len = |i: &usize| std::cmp::Reverse(routes[*i].prefix.len());
        for list in table.exact.values_mut() {
            list.sort_by_key(prefix_len);
        }
        table.wildcard.sort_by_key(|(_, suffix, i)| {
            (
                std::cmp::Reverse(suffix.len()),
                std::cmp::Reverse(routes[*i].prefix.len()),
            )
        });
        table.routes = routes;
        table
    }

    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// Every route, by id.
    pub fn routes(&self) -> &[RouteEntry] {
        &self.routes
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// The most specific route for `target`.
    pub fn best(&self, target: &Target) -> Option<&RouteEntry> {
        let covers = |i: &usize| target.path.starts_with(self.routes[*i].prefix.as_str());
        let key = format!("{}://{}", target.scheme, target.host);
        if let Some(i) = self
            .exact
            .get(&key)
            .and_then(|l| l.iter().find(|i| covers(i)))
        {
            return Some(&self.routes[*i]);
        }
        self.wildcard
            .iter()
            .find(|(scheme, suffix, i)| {
                *scheme == target.scheme
                    && target.host.ends_with(suffix.as_str())
                    && target.host.len() > suffix.len()
                    && !target.host[..target.host.len() - suffix.len()].contains('.')
                    && covers(i)
            })
            .map(|(_, _, i)| &self.routes[*i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plain_host_path_agrees_with_the_url_parser() {
        for (scheme, authority) in [
            ("https", "App.Example.com"),
            ("https", "app.example.com:443"),
            ("http", "app.example.com:80"),
            ("http", "app.example.com:8080"),
            ("https", "a-b.c-d.example"),
            ("https", "reports.test:08443"),
            ("https", "localhost"),
        ] {
            let via_parser = url::Url::parse(&format!("{scheme}://{authority}")).unwrap();
            let mut expected = via_parser.host_str().unwrap().to_string();
            if let Some(p) = via_parser.port() {
                expected = format!("{expected}:{p}");
            }
            assert_eq!(plain_host(scheme, authority), Some(expected), "{authority}");
        }
        for odd in [
            "1.2.3.4",
            "[::1]:80",
            "xn--bcher-kva.example",
            "a..b",
            "-a.example",
            "a.example:99999",
            "a.example:",
        ] {
            assert_eq!(plain_host("https", odd), None, "{odd} goes to the parser");
        }
    }

    fn route(id: &str, from: &str, prefix: &str) -> RouteEntry {
        RouteEntry {
            id: id.into(),
            name: id.into(),
            namespace_id: "ns".into(),
            from: from.into(),
            prefix: prefix.into(),
            policy_ids: vec![],
        }
    }

    #[test]
    fn from_is_normalised_and_must_be_scheme_and_host() {
        assert_eq!(
            normalize_from("HTTPS://App.Example.com:443/").unwrap(),
            "https://app.example.com"
        );
        assert_eq!(
            normalize_from("http://app.example.com:8080").unwrap(),
            "http://app.example.com:8080"
        );
        assert_eq!(
            normalize_from("https://*.Example.com").unwrap(),
            "https://*.example.com"
        );
        for bad in [
            "app.example.com",
            "ftp://app.example.com",
            "https://app.example.com/api",
            "https://app.example.com?x=1",
            "https://user@app.example.com",
            "https://",
            "https://a*.example.com",
            "https://app .example.com",
        ] {
            assert!(normalize_from(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn paths_are_normalised_before_matching() {
        assert_eq!(normalize_path(""), "/");
        assert_eq!(normalize_path("/a//b/./c/"), "/a/b/c/");
        assert_eq!(normalize_path("/public/../admin"), "/admin");
        assert_eq!(normalize_path("/public/%2e%2e/admin"), "/admin");
        assert_eq!(normalize_path("/../../etc"), "/etc");
        assert_eq!(normalize_path("/a%2Fb"), "/a/b");
        assert_eq!(normalize_path("/a%"), "/a%");
        let t = Target::from_url("https://APP.example.com:443/x/../api/v1?token=1").unwrap();
        assert_eq!(t.url(), "https://app.example.com/api/v1");
        let t = Target::from_parts("http", "app.example.com:8080", "/").unwrap();
        assert_eq!(t.host, "app.example.com:8080");
        assert!(Target::from_parts("https", "", "/").is_err());
        assert!(Target::from_parts("gopher", "a", "/").is_err());
        assert!(Target::from_parts("https", "a", "relative").is_err());
        assert!(Target::from_url("/just/a/path").is_err());
    }

    #[test]
    fn prefixes_must_be_plain_paths() {
        for good in ["", "/", "/api", "/api/"] {
            assert!(check_prefix(good).is_ok(), "{good}");
        }
        for bad in ["api", "/api?x", "/a/../b", "/a//b", "/a%2e", "/a b"] {
            assert!(check_prefix(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_most_specific_route_wins() {
        let table = RouteTable::new(vec![
            route("root", "https://app.example.com", ""),
            route("api", "https://app.example.com", "/api"),
            route("api-v2", "https://app.example.com", "/api/v2"),
            route("wild", "https://*.example.com", ""),
            route("wild-deep", "https://*.eu.example.com", ""),
            route("plain-http", "http://app.example.com", "/"),
        ]);
        let best = |url: &str| {
            table
                .best(&Target::from_url(url).unwrap())
                .map(|r| r.id.as_str())
        };
        assert_eq!(best("https://app.example.com/"), Some("root"));
        assert_eq!(best("https://app.example.com/api/v1"), Some("api"));
        assert_eq!(best("https://app.example.com/api/v2/x"), Some("api-v2"));
        assert_eq!(best("https://app.example.com/api/v2/../v1"), Some("api"));
        assert_eq!(best("https://other.example.com/api"), Some("wild"));
        assert_eq!(best("https://x.eu.example.com/"), Some("wild-deep"));
        // A wildcard covers one label only.
        assert_eq!(best("https://a.b.example.com/"), None);
        assert_eq!(best("https://example.com/"), None);
        assert_eq!(best("http://app.example.com/"), Some("plain-http"));
        assert_eq!(best("https://app.example.com:8443/"), None);
        assert_eq!(best("https://app.example.org/"), None);
    }
}
