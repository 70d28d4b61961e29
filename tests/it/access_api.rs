//! sacon.access.AccessService over real HTTP: `CheckAccess` answers what `/verify` answers for the same token and
//! URL (status, route, deciding policy, reason) without counting as a use and only about accounts and routes the
//! caller may read; `ListAccountReach` judges every route of an account's namespace and below, most specific
//! first, for the accounts the caller may read; `ListDangling` names the allowed-users entries of deleted and
//! disabled accounts and unknown users with the routes their policies guard; and a server without routes ignores
//! a target while one with routes refuses a host none covers.

use sacon::api::{Client, ClientOptions, Code, Credentials};
use sacon::model::DirectoryUser;
use serde_json::json;
use zeroize::Zeroizing;

use crate::support::TestServer;
use crate::support::access::{account, id, person, set_policy, set_route, tree};

fn client_for(s: &TestServer, jwt: &str) -> Client {
    Client::new(
        &s.url,
        Credentials::Token(Zeroizing::new(jwt.to_string())),
        ClientOptions::default(),
    )
    .unwrap()
}

/// `/verify` for `url` as nginx asks it: status and the deciding policy.
async fn verify_at(s: &TestServer, jwt: &str, url: &str) -> (u16, String) {
    let auth = format!("Pomerium {jwt}");
    let (status, headers, _) = s
        .verify(&[("Authorization", &auth), ("X-Original-URL", url)], "")
        .await;
    let policy = headers
        .get("x-sacon-policy")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, policy)
}

#[tokio::test]
async fn check_access_answers_what_verify_answers_without_counting_a_use() {
    let s = TestServer::start().await;
    let t = tree(&s).await;
    let (sa, jwt) = account(&s, &t.eng, "svc-reports").await;
    let reports = id(&set_policy(
        &s,
        json!({"namespaceId": t.eng, "name": "reports readers", "allowedUsers": ["svc-reports"]}),
    )
    .await);
    let billing = id(&set_policy(
        &s,
        json!({"namespaceId": t.eng, "name": "billing", "ppl": r#"{"deny": {"or": [{"user": {"is": "svc-reports"}}]}}"#}),
    )
    .await);
    let r1 = id(&set_route(&s, json!({"namespaceId": t.eng, "name": "reports", "from": "https://reports.example.com", "policyIds": [reports]})).await);
    let r2 = id(&set_route(&s, json!({"namespaceId": t.api, "name": "billing", "from": "https://billing.example.com", "prefix": "/v1", "policyIds": [billing]})).await);

    let ok = s
        .client
        .check_access(&jwt, "https://reports.example.com/daily?x=1")
        .await
        .unwrap();
    assert_eq!(ok.status, 200);
    assert_eq!(ok.verdict, "valid");
    assert_eq!(
        (ok.route_id.as_str(), ok.route_name.as_str()),
        (r1.as_str(), "reports")
    );
    assert_eq!(
        (ok.policy_id.as_str(), ok.policy_name.as_str()),
        (reports.as_str(), "reports readers")
    );
    assert_eq!(ok.service_account_id, sa);
    assert!(ok.reason.contains("allowed by policy"), "{}", ok.reason);
    assert!(
        s.client
            .get_account(&sa)
            .await
            .unwrap()
            .accessed_at
            .is_none(),
        "CheckAccess is not a use"
    );

    let denied = s
        .client
        .check_access(&jwt, "https://billing.example.com/v1/invoices")
        .await
        .unwrap();
    assert_eq!(denied.status, 403);
    assert_eq!(denied.verdict, "valid");
    assert_eq!(denied.route_id, r2);
    assert_eq!(denied.policy_id, billing);
    assert!(
        denied.reason.contains("denied by policy"),
        "{}",
        denied.reason
    );

    let nothing = s
        .client
        .check_access(&jwt, "https://billing.example.com/v2")
        .await
        .unwrap();
    assert_eq!(nothing.status, 403);
    assert_eq!(nothing.route_id, "");
    assert!(
        nothing.reason.contains("no route for billing.example.com"),
        "{}",
        nothing.reason
    );

    // The same answers /verify gives.
    for (url, answer) in [
        ("https://reports.example.com/daily?x=1", &ok),
        ("https://billing.example.com/v1/invoices", &denied),
        ("https://billing.example.com/v2", &nothing),
    ] {
        assert_eq!(
            verify_at(&s, &jwt, url).await,
            (answer.status as u16, answer.policy_id.clone()),
            "{url}"
        );
    }

    // A token that does not verify: its verdict, and no route judged.
    let bad = s
        .client
        .check_access(&format!("{jwt}x"), "https://reports.example.com/")
        .await
        .unwrap();
    assert_eq!((bad.status, bad.verdict.as_str()), (401, "bad_signature"));
    assert_eq!(bad.route_id, "");
    s.client.set_disabled(&sa, true).await.unwrap();
    let off = s
        .client
        .check_access(&jwt, "https://reports.example.com/")
        .await
        .unwrap();
    assert_eq!((off.status, off.verdict.as_str()), (401, "disabled"));

    for (jwt, url) in [
        ("", "https://reports.example.com/"),
        (jwt.as_str(), ""),
        (jwt.as_str(), "/relative"),
        (jwt.as_str(), "ftp://reports.example.com/"),
    ] {
        let e = s.client.check_access(jwt, url).await.unwrap_err();
        assert_eq!(e.code, Code::InvalidArgument, "{url:?}: {e:?}");
    }
}

#[tokio::test]
async fn check_access_keeps_to_the_callers_scope() {
    let s = TestServer::start().await;
    let t = tree(&s).await;
    let (_, viewer_jwt) = account(&s, &t.eng, "eng-auditor").await;
    s.client
        .grant(&t.eng, "user", "eng-auditor", "viewer")
        .await
        .unwrap();
    let viewer = client_for(&s, &viewer_jwt);
    let (_, eng_jwt) = account(&s, &t.api, "svc-api").await;
    let (_, ops_jwt) = account(&s, &t.ops, "svc-ops").await;
    let ops = id(&set_policy(
        &s,
        json!({"namespaceId": t.ops, "name": "ops secret policy", "allowedUsers": ["svc-ops"]}),
    )
    .await);
    set_route(&s, json!({"namespaceId": t.ops, "name": "ops secret route", "from": "https://ops.example.com", "policyIds": [ops]})).await;

    // An account outside the caller's namespaces is not described.
    let e = viewer
        .check_access(&ops_jwt, "https://ops.example.com/")
        .await
        .unwrap_err();
    assert_eq!(e.code, Code::PermissionDenied, "{e:?}");
    // One inside is, but a route outside the caller's namespaces is not named.
    let out = viewer
        .check_access(&eng_jwt, "https://ops.example.com/")
        .await
        .unwrap();
    assert_eq!(out.status, 403);
    assert_eq!((out.route_id.as_str(), out.route_name.as_str()), ("", ""));
    assert!(!out.reason.contains("ops secret"), "{}", out.reason);
    // A caller without any role may not ask.
    let nobody = client_for(&s, &eng_jwt);
    let e = nobody
        .check_access(&eng_jwt, "https://ops.example.com/")
        .await
        .unwrap_err();
    assert_eq!(e.code, Code::PermissionDenied, "{e:?}");
}

#[tokio::test]
async fn a_server_without_routes_ignores_the_target_and_one_with_routes_refuses_a_host_none_covers()
{
    let s = TestServer::start().await;
    let t = tree(&s).await;
    let (sa, jwt) = account(&s, &t.eng, "svc-caddy").await;
    let forwarded = |host: &'static str| {
        [
            ("X-Forwarded-Proto", "https"),
            ("X-Forwarded-Host", host),
            ("X-Forwarded-Uri", "/x"),
            ("X-Pomerium-Authorization", jwt.as_str()),
        ]
    };
    // No routes at all: the target is not judged, exactly as without one — the scope rule included.
    let (status, headers, _) = s.verify(&forwarded("app.example.com"), "").await;
    assert_eq!(status, 200);
    assert!(headers.get("x-sacon-policy").is_none());
    assert_eq!(headers["x-sacon-user"], "svc-caddy");
    let (status, _, _) = s
        .verify(
            &forwarded("app.example.com"),
            &format!("?namespace={}", t.ops),
        )
        .await;
    assert_eq!(status, 403, "outside its namespace");
    let (status, _, _) = s
        .verify(
            &[
                ("X-Forwarded-Host", "app.example.com"),
                ("X-Pomerium-Authorization", &jwt),
            ],
            "",
        )
        .await;
    assert_eq!(status, 200, "even an incomplete target is ignored");
    let (status, _, _) = s.verify(&forwarded("app.example.com")[..3], "").await;
    assert_eq!(status, 401, "a token is still needed");
    let answer = s
        .client
        .check_access(&jwt, "https://app.example.com/x")
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    assert!(answer.reason.contains("no routes"), "{}", answer.reason);
    assert_eq!(answer.service_account_id, sa);

    // The first route (anywhere) makes every target count: a host no route covers is refused.
    let p = id(&set_policy(
        &s,
        json!({"namespaceId": t.ops, "name": "ops", "allowedUsers": ["someone"]}),
    )
    .await);
    set_route(&s, json!({"namespaceId": t.ops, "name": "ops", "from": "https://ops.example.com", "policyIds": [p]})).await;
    let (status, _, _) = s.verify(&forwarded("app.example.com"), "").await;
    assert_eq!(status, 403);
    let (status, _, _) = s
        .verify(
            &[
                ("X-Forwarded-Host", "app.example.com"),
                ("X-Pomerium-Authorization", &jwt),
            ],
            "",
        )
        .await;
    assert_eq!(status, 400, "a bad target counts again");
    let answer = s
        .client
        .check_access(&jwt, "https://app.example.com/x")
        .await
        .unwrap();
    assert_eq!(answer.status, 403);
    assert!(
        answer.reason.contains("no route for app.example.com"),
        "{}",
        answer.reason
    );
    // Without a target, nothing changed.
    let (status, _, _) = s.verify(&forwarded("app.example.com")[3..], "").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn account_reach_judges_every_route_of_the_namespace_and_below() {
    let s = TestServer::start().await;
    let t = tree(&s).await;
    let (sa, _) = account(&s, &t.eng, "svc-ci").await;
    let (ops_sa, _) = account(&s, &t.ops, "svc-ops").await;
    let (_, viewer_jwt) = account(&s, &t.eng, "eng-auditor").await;
    s.client
        .grant(&t.eng, "user", "eng-auditor", "viewer")
        .await
        .unwrap();
    let ci = id(&set_policy(
        &s,
        json!({"namespaceId": t.eng, "name": "ci", "allowedUsers": ["svc-ci"]}),
    )
    .await);
    let other = id(&set_policy(
        &s,
        json!({"namespaceId": t.global, "name": "other", "allowedUsers": ["x"]}),
    )
    .await);
    let root_route = id(&set_route(&s, json!({"namespaceId": t.global, "name": "root", "from": "https://root.example.com", "policyIds": [other]})).await);
    let wide = id(&set_route(&s, json!({"namespaceId": t.eng, "name": "ci all", "from": "https://ci.example.com", "policyIds": [ci]})).await);
    let narrow = id(&set_route(&s, json!({"namespaceId": t.api, "name": "ci api", "from": "https://ci.example.com", "prefix": "/api", "policyIds": [other]})).await);
    let wild = id(&set_route(&s, json!({"namespaceId": t.api, "name": "any", "from": "https://*.example.com", "policyIds": [ci]})).await);
    let ops_route = id(&set_route(&s, json!({"namespaceId": t.ops, "name": "ops", "from": "https://ops.example.com", "policyIds": [other]})).await);

    let all = s
        .client
        .account_reach(&[sa.clone(), "no-such-account".into(), ops_sa.clone()])
        .await
        .unwrap();
    assert_eq!(all.len(), 2, "an unknown id is left out");
    assert_eq!(all[0].service_account_id, sa);
    let rows: Vec<(&str, bool, &str)> = all[0]
        .routes
        .iter()
        .map(|r| (r.route_id.as_str(), r.allowed, r.policy_id.as_str()))
        .collect();
    // Exact hosts before the wildcard, the longer prefix first; the root route is above the account.
    assert_eq!(
        rows,
        vec![
            (narrow.as_str(), false, ""),
            (wide.as_str(), true, ci.as_str()),
            (wild.as_str(), true, ci.as_str()),
        ]
    );
    assert!(!rows.iter().any(|r| r.0 == root_route));
    let first = &all[0].routes[1];
    assert_eq!(
        (
            first.route_name.as_str(),
            first.from.as_str(),
            first.policy_name.as_str()
        ),
        ("ci all", "https://ci.example.com", "ci")
    );
    assert_eq!(all[0].routes[0].prefix, "/api");
    assert_eq!(all[1].service_account_id, ops_sa);
    assert_eq!(all[1].routes.len(), 1);
    assert_eq!(
        (all[1].routes[0].route_id.as_str(), all[1].routes[0].allowed),
        (ops_route.as_str(), false)
    );

    // A viewer of Engineering learns nothing of the Ops account.
    let viewer = client_for(&s, &viewer_jwt);
    let seen = viewer
        .account_reach(&[ops_sa.clone(), sa.clone()])
        .await
        .unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].service_account_id, sa);

    let too_many: Vec<String> = (0..1001).map(|i| format!("id-{i}")).collect();
    let e = s.client.account_reach(&too_many).await.unwrap_err();
    assert_eq!(e.code, Code::InvalidArgument, "{e:?}");
}

/// Reach through policies that look at the directory: each impersonated account is judged with its own user's
/// e-mail and groups (the users read together), a unique account with none, and an account asked for twice is
/// answered twice.
#[tokio::test]
async fn account_reach_judges_directory_policies_with_each_accounts_own_user() {
    let s = TestServer::start().await;
    let t = tree(&s).await;
    s.client
        .import_users(&[
            person("ann", "ann@corp.example", &[]),
            person("bo", "bo@elsewhere.example", &["sre"]),
            person("cy", "cy@elsewhere.example", &[]),
        ])
        .await
        .unwrap();
    let (ann, _) = account(&s, &t.eng, "ann").await;
    let (bo, _) = account(&s, &t.eng, "bo").await;
    let (cy, _) = account(&s, &t.eng, "cy").await;
    let (bot, _) = account(&s, &t.eng, "svc-unique").await;
    let corp = id(&set_policy(
        &s,
        json!({"namespaceId": t.eng, "name": "corp", "allowedDomains": ["corp.example"]}),
    )
    .await);
    let sre = id(&set_policy(
        &s,
        json!({"namespaceId": t.eng, "name": "sre", "ppl": r#"{"allow": {"or": [{"groups": "sre"}]}}"#}),
    )
    .await);
    let route = id(&set_route(&s, json!({"namespaceId": t.eng, "name": "app", "from": "https://app.example.com", "policyIds": [corp, sre]})).await);

    let all = s
        .client
        .account_reach(&[
            ann.clone(),
            bo.clone(),
            cy.clone(),
            bot.clone(),
            ann.clone(),
        ])
        .await
        .unwrap();
    let verdicts: Vec<(&str, bool, &str)> = all
        .iter()
        .map(|a| {
            assert_eq!(a.routes.len(), 1);
            assert_eq!(a.routes[0].route_id, route);
            (
                a.service_account_id.as_str(),
                a.routes[0].allowed,
                a.routes[0].policy_id.as_str(),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        vec![
            (ann.as_str(), true, corp.as_str()),
            (bo.as_str(), true, sre.as_str()),
            (cy.as_str(), false, ""),
            (bot.as_str(), false, ""),
            (ann.as_str(), true, corp.as_str()),
        ]
    );
}

#[tokio::test]
async fn dangling_entries_name_deleted_and_disabled_accounts_and_unknown_users() {
    let s = TestServer::start().await;
    let t = tree(&s).await;
    s.client
        .import_users(&[DirectoryUser {
            id: "ann".into(),
            name: "Ann".into(),
            email: "ann@example.com".into(),
            groups: vec![],
        }])
        .await
        .unwrap();
    account(&s, &t.eng, "live-bot").await;
    let (gone, _) = account(&s, &t.eng, "gone-bot").await;
    s.client.delete_account(&gone).await.unwrap();
    let (off, _) = account(&s, &t.eng, "off-bot").await;
    s.client.set_disabled(&off, true).await.unwrap();
    // One of two accounts of a user disabled: it still answers.
    account(&s, &t.eng, "half-bot").await;
    let (half, _) = account(&s, &t.api, "half-bot").await;
    s.client.set_disabled(&half, true).await.unwrap();
    let p = id(&set_policy(
        &s,
        json!({"namespaceId": t.eng, "name": "eng", "allowedUsers":
            ["live-bot", "gone-bot", "off-bot", "half-bot", "nobody", "ann", "ANN@example.com"]}),
    )
    .await);
    let route = id(&set_route(&s, json!({"namespaceId": t.api, "name": "api", "from": "https://api.example.com", "policyIds": [p]})).await);
    let ops = id(&set_policy(
        &s,
        json!({"namespaceId": t.ops, "name": "ops", "enforced": true, "allowedUsers": ["ghost"]}),
    )
    .await);
    let ops_route = id(&set_route(
        &s,
        json!({"namespaceId": t.ops, "name": "ops", "from": "https://ops.example.com"}),
    )
    .await);

    let all = s.client.list_dangling("").await.unwrap();
    let rows: Vec<(&str, &str, &str)> = all
        .iter()
        .map(|d| (d.policy_name.as_str(), d.user.as_str(), d.kind.as_str()))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("eng", "gone-bot", "deleted_account"),
            ("eng", "off-bot", "disabled_account"),
            ("eng", "nobody", "unknown_user"),
            ("ops", "ghost", "unknown_user"),
        ]
    );
    assert_eq!(all[0].policy_id, p);
    assert_eq!(all[0].namespace_id, t.eng);
    assert_eq!(all[0].routes.get(&route).map(String::as_str), Some("api"));
    assert_eq!(all[3].policy_id, ops);
    assert_eq!(
        all[3].routes.get(&ops_route).map(String::as_str),
        Some("ops"),
        "an enforced policy guards every route below it"
    );

    // By namespace (an id or a path), and within the caller's namespaces only.
    let eng = s.client.list_dangling("Global/Engineering").await.unwrap();
    assert_eq!(eng.len(), 3);
    assert_eq!(s.client.list_dangling(&t.ops).await.unwrap().len(), 1);
    let e = s.client.list_dangling("Global/Nowhere").await.unwrap_err();
    assert_eq!(e.code, Code::NotFound, "{e:?}");
    let (_, viewer_jwt) = account(&s, &t.api, "api-auditor").await;
    s.client
        .grant(&t.api, "user", "api-auditor", "viewer")
        .await
        .unwrap();
    let viewer = client_for(&s, &viewer_jwt);
    assert!(viewer.list_dangling("").await.unwrap().is_empty());
    let e = viewer.list_dangling(&t.eng).await.unwrap_err();
    assert_eq!(e.code, Code::PermissionDenied, "{e:?}");
}

#[tokio::test]
async fn a_namespace_move_is_in_force_at_the_next_request() {
    let s = TestServer::start().await;
    let t = tree(&s).await;
    let (_, jwt) = account(&s, &t.ops, "svc-ops").await;
    let p = id(&set_policy(
        &s,
        json!({"namespaceId": t.global, "name": "ops", "allowedUsers": ["svc-ops"]}),
    )
    .await);
    set_route(&s, json!({"namespaceId": t.api, "name": "api", "from": "https://api.example.com", "policyIds": [p]})).await;
    assert_eq!(verify_at(&s, &jwt, "https://api.example.com/").await.0, 403);
    // Engineering (with API below it) moves under Ops: the Ops account now reaches the API route.
    s.client
        .set_namespace(&t.eng, &t.ops, "Engineering")
        .await
        .unwrap();
    assert_eq!(
        verify_at(&s, &jwt, "https://api.example.com/").await,
        (200, p.clone())
    );
    s.client
        .set_namespace(&t.eng, &t.global, "Engineering")
        .await
        .unwrap();
    assert_eq!(verify_at(&s, &jwt, "https://api.example.com/").await.0, 403);
}
