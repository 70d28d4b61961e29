//! The access-decision load of `benches/verify.rs`: 1,000 policies (one of them enforced from the root) and 1,000
//! routes over two leaf namespaces, and the benchmark's request mix again with an `X-Original-URL` on every
//! request naming a route whose policy allows that request's account — so every answer is still a 200, now
//! decided by a route's policies.

use anyhow::{Context, ensure};
use hyper::header::{HeaderName, HeaderValue};
use sacon::api::{Client, wire};

use super::load::Req;

pub const ROUTES: usize = 1000;
pub const POLICIES: usize = 1000;

/// The namespaces routes live in and where the accounts are, as `benches/verify.rs` builds them.
pub struct Places<'a> {
    pub global: &'a str,
    pub platform: &'a str,
    pub finance: &'a str,
    /// Each account's namespace, by account index.
    pub homes: Vec<&'a str>,
    /// How many requests of the mix each account has, in order.
    pub requests_per_account: usize,
}

/// The policy (1..POLICIES) guarding route `r`; policy 0 is the enforced one.
fn policy_of(r: usize) -> usize {
    r % (POLICIES - 1) + 1
}

/// Makes the policies and routes; returns the routes' (host, prefix, namespace, allowed account) in order.
pub async fn build(
    admin: &Client,
    places: &Places<'_>,
    accounts: usize,
) -> anyhow::Result<Vec<(String, String, String, usize)>> {
    let mut policy_ids = Vec::with_capacity(POLICIES);
    for p in 0..POLICIES {
        let policy = if p == 0 {
            wire::Policy {
                namespace_id: places.global.to_string(),
                name: "bench enforced".into(),
                enforced: true,
                ppl: r#"{"deny": {"or": [{"user": {"is": "blocked-bot"}}]}}"#.into(),
                ..Default::default()
            }
        } else {
            wire::Policy {
                namespace_id: places.global.to_string(),
                name: format!("bench policy {p}"),
                allowed_users: vec![
                    format!("bench-bot-{}", p % accounts),
                    format!("someone-else-{p}"),
                ],
                ..Default::default()
            }
        };
        policy_ids.push(admin.set_policy(policy).await?.id);
    }
    let mut routes = Vec::with_capacity(ROUTES);
    for r in 0..ROUTES {
        // Independent of which account the route's policy allows (that follows r modulo the account count).
        let ns = if (r / accounts).is_multiple_of(2) {
            places.platform
        } else {
            places.finance
        };
        let host = format!("svc-{r}.bench.example.com");
        let prefix = if r % 3 == 0 { "/api" } else { "" };
        admin
            .set_route(wire::Route {
                namespace_id: ns.to_string(),
                name: format!("bench route {r}"),
                from: format!("https://{host}"),
                prefix: (!prefix.is_empty()).then(|| prefix.to_string()),
                policy_ids: vec![policy_ids[policy_of(r)].clone()],
                ..Default::default()
            })
            .await?;
        routes.push((
            host,
            prefix.to_string(),
            ns.to_string(),
            policy_of(r) % accounts,
        ));
    }
    Ok(routes)
}

/// `mix` with a target on every request: a route in the account's namespace subtree whose policy allows it,
/// a different one for each request of the account.
pub fn with_targets(
    mix: &[Req],
    places: &Places<'_>,
    routes: &[(String, String, String, usize)],
) -> anyhow::Result<Vec<Req>> {
    let original = HeaderName::from_static("x-original-url");
    let mut out = Vec::with_capacity(mix.len());
    for (i, req) in mix.iter().enumerate() {
        let account = i / places.requests_per_account;
        let home = places
            .homes
            .get(account)
            .context("the mix has more accounts than homes")?;
        let reachable = |ns: &str| {
            *home == places.global
                || ns == *home
                || (ns == places.platform && *home != places.finance)
        };
        let fits: Vec<&(String, String, String, usize)> = routes
            .iter()
            .filter(|(_, _, ns, allowed)| *allowed == account && reachable(ns))
            .collect();
        ensure!(!fits.is_empty(), "no route lets account {account} through");
        let (host, prefix, _, _) = fits[i % fits.len()];
        let mut req = req.clone();
        req.headers.push((
            original.clone(),
            HeaderValue::from_str(&format!("https://{host}{prefix}/items/{i}?page=2"))?,
        ));
        out.push(req);
    }
    Ok(out)
}
