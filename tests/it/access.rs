//! `/verify` deciding access over real HTTP: with a target (`X-Original-URL` or `X-Forwarded-*`) the most
//! specific route's policies and the enforced ones above it judge the token's user — each PPL criterion and
//! operator, allowed users and domains, deny over allow, no allow a deny, the deciding policy in
//! `X-Sacon-Policy` — only inside the account's namespace subtree; a change to a policy, by this server or
//! another process, is in force at the next request; and without a target `/verify` answers as before.

use chrono::Duration;
use sacon::api::wire::paths;
use sacon::store::{Change, Store};
use serde_json::{Value, json};

use crate::support::TestServer;
use crate::support::access::{Tree, account, id, person, set_policy, set_route, tree};

/// `/verify` for `url` as nginx `auth_request` asks it: status and the deciding policy.
async fn check(s: &TestServer, jwt: &str, url: &str) -> (u16, Option<String>) {
    let auth = format!("Pomerium {jwt}");
    let (status, headers, _) = s
        .verify(&[("Authorization", &auth), ("X-Original-URL", url)], "")
        .await;
    let policy = headers
        .get("x-sacon-policy")
        .map(|v| v.to_str().unwrap().to_string());
    (status, policy)
}

/// As Traefik and Caddy ask it, with the token in `X-Pomerium-Authorization`.
async fn check_forwarded(s: &TestServer, jwt: &str, proto: &str, host: &str, uri: &str) -> u16 {
    let (status, _, _) = s
        .verify(
            &[
                ("X-Pomerium-Authorization", jwt),
                ("X-Forwarded-Proto", proto),
                ("X-Forwarded-Host", host),
                ("X-Forwarded-Uri", uri),
            ],
            "",
        )
        .await;
    status
}

async fn directory(s: &TestServer) {
    s.client
        .import_users(&[
            person("ann", "ann@example.com", &["deployers", "sre"]),
            person("bob", "bob@example.org", &["sre"]),
        ])
        .await
        .unwrap();
}

/// A route for `https://<host>` in `ns` guarded by one new policy whose PPL is `ppl`; the policy id.
async fn guarded(s: &TestServer, ns: &str, host: &str, ppl: &str) -> String {
    let p = id(&set_policy(s, json!({"namespaceId": ns, "name": host, "ppl": ppl})).await);
    set_route(
        s,
        json!({"namespaceId": ns, "name": host, "from": format!("https://{host}"), "policyIds": [p]}),
    )
    .await;
    p
}

struct Accounts {
    /// Impersonates ann (ann@example.com, deployers + sre).
    ann: String,
    /// Impersonates bob (bob@example.org, sre).
    bob: String,
    /// A unique account: no e-mail, no groups.
    svc: String,
}

async fn accounts(s: &TestServer, t: &Tree) -> Accounts {
    directory(s).await;
    Accounts {
        ann: account(s, &t.eng, "ann").await.1,
        bob: account(s, &t.eng, "bob").await.1,
        svc: account(s, &t.eng, "svc-ci").await.1,
    }
}

#[tokio::test]
async fn each_criterion_and_operator_decides_through_verify() {
    let s = TestServer::start().await;
    let t = tree(&s).await;
    let a = accounts(&s, &t).await;
    let cases: [(&str, &str, [u16; 3]); 12] = [
        (
            "user",
            r#"{"allow": {"or": [{"user": {"is": "svc-ci"}}]}}"#,
            [403, 403, 200],
        ),
        (
            "email-is",
            r#"{"allow": {"or": [{"email": {"is": "ann@example.com"}}]}}"#,
            [200, 403, 403],
        ),
        (
            "email-ends",
            "allow:\n  or:\n    - email:\n        ends_with: \"@example.org\"\n",
            [403, 200, 403],
        ),
        (
            "groups",
            r#"{"allow": {"or": [{"groups": {"has": "deployers"}}]}}"#,
            [200, 403, 403],
        ),
        (
            "accept",
            r#"{"allow": {"or": [{"accept": true}]}}"#,
            [200, 200, 200],
        ),
        (
            "reject",
            r#"{"allow": {"or": [{"reject": true}]}}"#,
            [403, 403, 403],
        ),
        (
            "and",
            r#"{"allow": {"and": [{"groups": "sre"}, {"email": {"ends_with": "@example.com"}}]}}"#,
            [200, 403, 403],
        ),
        (
            "or",
            r#"{"allow": {"or": [{"user": "svc-ci"}, {"groups": "deployers"}]}}"#,
            [200, 403, 200],
        ),
        // `not`: none holds; `nor`: at least one does not.
        (
            "not",
            r#"{"allow": {"not": [{"groups": "sre"}, {"user": "bob"}]}}"#,
            [403, 403, 200],
        ),
        (
            "nor",
            r#"{"allow": {"nor": [{"groups": "sre"}, {"groups": "deployers"}]}}"#,
            [403, 200, 200],
        ),
        (
            "date",
            r#"{"allow": {"and": [{"date": {"after": "2020-01-01T00:00:00Z"}}]}}"#,
            [200, 200, 200],
        ),
        (
            "time",
            r#"{"allow": {"and": [{"time_of_day": {"after": "00:00", "before": "00:00:00"}}]}}"#,
            [403, 403, 403],
        ),
    ];
    for (name, ppl, _) in &cases {
        guarded(&s, &t.eng, &format!("{name}.example.com"), ppl).await;
    }
    for (name, _, want) in &cases {
        let url = format!("https://{name}.example.com/x");
        for (who, jwt, want) in [
            ("ann", &a.ann, want[0]),
            ("bob", &a.bob, want[1]),
            ("svc", &a.svc, want[2]),
        ] {
            assert_eq!(check(&s, jwt, &url).await.0, want, "{name} for {who}");
        }
    }
    // Allowed users (by id or e-mail) and allowed domains.
    let p = id(&set_policy(
        &s,
        json!({"namespaceId": t.eng, "name": "lists", "allowedUsers": ["svc-ci", "bob@example.org"],
               "allowedDomains": ["EXAMPLE.com"]}),
    )
    .await);
    set_route(&s, json!({"namespaceId": t.eng, "name": "lists", "from": "https://lists.example.com", "policyIds": [p]})).await;
    for jwt in [&a.ann, &a.bob, &a.svc] {
        assert_eq!(
            check(&s, jwt, "https://lists.example.com/").await,
            (200, Some(p.clone()))
        );
    }
}

#[tokio::test]
async fn deny_wins_no_allow_denies_and_the_deciding_policy_is_named() {
    let s = TestServer::start().await;
    let t = tree(&s).await;
    let a = accounts(&s, &t).await;
    let allow = id(&set_policy(&s, json!({"namespaceId": t.eng, "name": "sre", "ppl": r#"{"allow": {"or": [{"groups": "sre"}]}}"#})).await);
    let deny = id(&set_policy(&s, json!({"namespaceId": t.eng, "name": "not bob", "ppl": r#"{"deny": {"or": [{"user": "bob"}]}}"#})).await);
    set_route(&s, json!({"namespaceId": t.api, "name": "app", "from": "https://app.example.com", "policyIds": [allow, deny]})).await;
    assert_eq!(
        check(&s, &a.ann, "https://app.example.com/").await,
        (200, Some(allow.clone()))
    );
    assert_eq!(
        check(&s, &a.bob, "https://app.example.com/").await,
        (403, Some(deny.clone()))
    );
    // No policy allows svc-ci: a deny that names no policy.
    assert_eq!(
        check(&s, &a.svc, "https://app.example.com/").await,
        (403, None)
    );
    // No route at all for the target.
    assert_eq!(
        check(&s, &a.ann, "https://nowhere.example.com/").await,
        (403, None)
    );
    // A route without policies allows nobody.
    set_route(
        &s,
        json!({"namespaceId": t.api, "name": "bare", "from": "https://bare.example.com"}),
    )
    .await;
    assert_eq!(check(&s, &a.ann, "https://bare.example.com/").await.0, 403);
    // An unknown criterion never reaches /verify: it is refused on write.
    let (status, body) = s
        .json(paths::SET_POLICY, json!({"policy": {"namespaceId": t.eng, "name": "x", "ppl": r#"{"allow": {"or": [{"device": {"is": "x"}}]}}"#}}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_argument")),
        "{body}"
    );
    assert!(
        body["message"].as_str().unwrap().contains("\"device\""),
        "{body}"
    );
}

#[tokio::test]
async fn enforced_policies_apply_down_the_tree_and_the_most_specific_route_decides() {
    let s = TestServer::start().await;
    let t = tree(&s).await;
    let a = accounts(&s, &t).await;
    let everyone = id(&set_policy(&s, json!({"namespaceId": t.eng, "name": "everyone", "ppl": r#"{"allow": {"or": [{"accept": true}]}}"#})).await);
    let ann_only = id(&set_policy(
        &s,
        json!({"namespaceId": t.api, "name": "ann", "allowedUsers": ["ann"]}),
    )
    .await);
    set_route(&s, json!({"namespaceId": t.api, "name": "site", "from": "https://app.example.com", "policyIds": [everyone]})).await;
    set_route(&s, json!({"namespaceId": t.api, "name": "admin", "from": "https://app.example.com", "prefix": "/admin", "policyIds": [ann_only]})).await;
    set_route(&s, json!({"namespaceId": t.api, "name": "any", "from": "https://*.example.com", "policyIds": [ann_only]})).await;
    assert_eq!(
        check(&s, &a.bob, "https://app.example.com/docs").await.0,
        200
    );
    assert_eq!(
        check(&s, &a.bob, "https://app.example.com/admin/users")
            .await
            .0,
        403
    );
    assert_eq!(
        check(&s, &a.ann, "https://app.example.com/admin/users")
            .await
            .0,
        200
    );
    // The path is judged as the upstream will see it.
    assert_eq!(
        check(&s, &a.bob, "https://app.example.com/docs/../admin/")
            .await
            .0,
        403
    );
    assert_eq!(
        check(&s, &a.bob, "https://app.example.com/%61dmin").await.0,
        403,
        "a percent escape is decoded"
    );
    assert_eq!(
        check(&s, &a.bob, "https://APP.example.com:443/admin")
            .await
            .0,
        403
    );
    // The wildcard takes the hosts no exact route names.
    assert_eq!(check(&s, &a.bob, "https://other.example.com/").await.0, 403);
    assert_eq!(check(&s, &a.ann, "https://other.example.com/").await.0, 200);

    // An enforced deny in Global reaches a route in Engineering › API ...
    let no_bob = id(&set_policy(&s, json!({"namespaceId": t.global, "name": "no bob", "enforced": true, "ppl": r#"{"deny": {"or": [{"user": "bob"}]}}"#})).await);
    assert_eq!(
        check(&s, &a.bob, "https://app.example.com/docs").await,
        (403, Some(no_bob.clone()))
    );
    // ... an enforced allow in Engineering lets everyone through a route that names nobody ...
    set_policy(
        &s,
        json!({"id": ann_only, "namespaceId": t.api, "name": "ann", "allowedUsers": []}),
    )
    .await;
    assert_eq!(
        check(&s, &a.ann, "https://app.example.com/admin").await.0,
        403
    );
    let eng_allow = id(&set_policy(&s, json!({"namespaceId": t.eng, "name": "eng sre", "enforced": true, "ppl": r#"{"allow": {"or": [{"groups": "sre"}]}}"#})).await);
    assert_eq!(
        check(&s, &a.ann, "https://app.example.com/admin").await,
        (200, Some(eng_allow))
    );
    // ... and one in a sibling (Ops) reaches nothing here.
    set_policy(&s, json!({"namespaceId": t.ops, "name": "ops deny all", "enforced": true, "ppl": r#"{"deny": {"or": [{"accept": true}]}}"#})).await;
    assert_eq!(
        check(&s, &a.ann, "https://app.example.com/admin").await.0,
        200
    );
}

#[tokio::test]
async fn a_token_only_reaches_routes_of_its_namespace_subtree() {
    let s = TestServer::start().await;
    let t = tree(&s).await;
    directory(&s).await;
    let ppl = r#"{"allow": {"or": [{"user": "ann"}]}}"#;
    let policy = id(&set_policy(
        &s,
        json!({"namespaceId": t.global, "name": "ann", "ppl": ppl}),
    )
    .await);
    for (ns, host) in [(&t.api, "api"), (&t.ops, "ops"), (&t.global, "root")] {
        set_route(&s, json!({"namespaceId": ns, "name": host, "from": format!("https://{host}.example.com"), "policyIds": [policy]})).await;
    }
    let (_, in_eng) = account(&s, &t.eng, "ann").await;
    // Its own subtree: yes. A sibling, or an ancestor's route: no, though the policy names its user.
    assert_eq!(check(&s, &in_eng, "https://api.example.com/").await.0, 200);
    assert_eq!(check(&s, &in_eng, "https://ops.example.com/").await.0, 403);
    assert_eq!(check(&s, &in_eng, "https://root.example.com/").await.0, 403);
    let (_, in_global) = account(&s, &t.global, "ann").await;
    assert_eq!(
        check(&s, &in_global, "https://ops.example.com/").await.0,
        200
    );
    // The namespace scope still applies on top.
    let auth = format!("Pomerium {in_global}");
    let (status, _, _) = s
        .verify(
            &[
                ("Authorization", &auth),
                ("X-Original-URL", "https://ops.example.com/"),
                ("X-Sacon-Namespace", &t.api),
            ],
            "",
        )
        .await;
    assert_eq!(status, 200, "Global's account is usable in API");
    let auth = format!("Pomerium {in_eng}");
    let (status, _, _) = s
        .verify(
            &[
                ("Authorization", &auth),
                ("X-Original-URL", "https://api.example.com/"),
                ("X-Sacon-Namespace", &t.ops),
            ],
            "",
        )
        .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn a_change_is_in_force_at_the_next_request_from_any_process() {
    let s = TestServer::start().await;
    let t = tree(&s).await;
    let (_, jwt) = account(&s, &t.eng, "svc-ci").await;
    let p = set_policy(
        &s,
        json!({"namespaceId": t.eng, "name": "ci", "allowedUsers": ["svc-ci", "svc-cd"]}),
    )
    .await;
    let pid = id(&p);
    set_route(&s, json!({"namespaceId": t.eng, "name": "ci", "from": "https://ci.example.com", "policyIds": [pid]})).await;
    assert_eq!(check(&s, &jwt, "https://ci.example.com/").await.0, 200);
    // Removed from the policy through the API: refused at once.
    set_policy(
        &s,
        json!({"id": pid, "namespaceId": t.eng, "name": "ci", "allowedUsers": ["svc-cd"]}),
    )
    .await;
    assert_eq!(check(&s, &jwt, "https://ci.example.com/").await.0, 403);
    // Put back by another process writing the same database: in force at once too.
    let other = s.other_store().await;
    let mut policy = other.get_policy(&pid).await.unwrap().unwrap();
    policy.allowed_users.push("svc-ci".into());
    other
        .put_policy(&policy, &Change::by("other-process", s.now()))
        .await
        .unwrap();
    assert_eq!(check(&s, &jwt, "https://ci.example.com/").await.0, 200);
    other
        .delete_policy(&pid, true, &Change::by("other-process", s.now()))
        .await
        .unwrap();
    assert_eq!(check(&s, &jwt, "https://ci.example.com/").await.0, 403);
    other.close().await;
}

#[tokio::test]
async fn every_header_form_names_the_target_and_a_bad_target_is_refused() {
    let s = TestServer::start_manual().await;
    let t = tree(&s).await;
    let (_, jwt) = account(&s, &t.eng, "svc-ci").await;
    let p = id(&set_policy(
        &s,
        json!({"namespaceId": t.eng, "name": "ci", "allowedUsers": ["svc-ci"]}),
    )
    .await);
    set_route(&s, json!({"namespaceId": t.eng, "name": "ci", "from": "https://ci.example.com", "prefix": "/ci", "policyIds": [p]})).await;
    assert_eq!(
        check_forwarded(&s, &jwt, "https", "ci.example.com", "/ci/build?x=1").await,
        200
    );
    assert_eq!(
        check_forwarded(&s, &jwt, "https", "ci.example.com", "/other").await,
        403
    );
    assert_eq!(
        check_forwarded(&s, &jwt, "http", "ci.example.com", "/ci").await,
        403
    );
    let bearer = format!("Bearer Pomerium-{jwt}");
    let (status, headers, _) = s
        .verify(
            &[
                ("Authorization", &bearer),
                ("X-Original-URL", "https://ci.example.com/ci"),
            ],
            "",
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-sacon-policy"], p.as_str());
    assert_eq!(headers["x-sacon-user"], "svc-ci");
    for bad in [
        vec![("X-Forwarded-Host", "ci.example.com")],
        vec![("X-Forwarded-Uri", "/ci")],
        vec![("X-Original-URL", "/ci")],
        vec![("X-Original-URL", "")],
        vec![
            ("X-Original-URL", "https://ci.example.com/ci"),
            ("X-Forwarded-Proto", "https"),
            ("X-Forwarded-Host", "evil.example.com"),
        ],
    ] {
        let mut headers: Vec<(&str, &str)> = vec![("X-Pomerium-Authorization", &jwt)];
        headers.extend(bad.iter().copied());
        let (status, _, _) = s.verify(&headers, "").await;
        assert_eq!(status, 400, "{bad:?}");
    }
    // Token problems still answer 401 before any route is looked at.
    let (status, _, _) = s
        .verify(&[("X-Original-URL", "https://ci.example.com/ci")], "")
        .await;
    assert_eq!(status, 401);
    s.advance(Duration::days(1));
    assert_eq!(check(&s, &jwt, "https://ci.example.com/ci").await.0, 200);
}

#[tokio::test]
async fn without_a_target_verify_answers_as_before() {
    let s = TestServer::start().await;
    let t = tree(&s).await;
    let (_, jwt) = account(&s, &t.api, "svc-ci").await;
    // Routes and a policy that would refuse this account exist; without a target they are not asked.
    let deny: Value = set_policy(&s, json!({"namespaceId": t.global, "name": "deny all", "enforced": true, "ppl": r#"{"deny": {"or": [{"accept": true}]}}"#})).await;
    set_route(&s, json!({"namespaceId": t.api, "name": "r", "from": "https://r.example.com", "policyIds": [id(&deny)]})).await;
    let auth = format!("Pomerium {jwt}");
    let (status, headers, body) = s.verify(&[("Authorization", &auth)], "").await;
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    assert!(headers.get("x-sacon-policy").is_none());
    assert_eq!(headers["x-sacon-user"], "svc-ci");
    // A scheme alone names no target either.
    let (status, _, _) = s
        .verify(
            &[("Authorization", &auth), ("X-Forwarded-Proto", "https")],
            "",
        )
        .await;
    assert_eq!(status, 200);
    let (status, _, _) = s
        .verify(
            &[("Authorization", &auth)],
            &format!("?namespace={}", t.eng),
        )
        .await;
    assert_eq!(status, 403, "the scope rule is unchanged");
    let (status, _, _) = s
        .verify(
            &[("Authorization", &auth), ("X-Sacon-Namespace", &t.api)],
            "",
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(check(&s, &jwt, "https://r.example.com/").await.0, 403);
}
