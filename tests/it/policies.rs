//! PolicyService and RouteService over real HTTP (JSON): create, replace, read, list and delete; what is refused
//! on write (a PPL criterion sacon does not know, a `from` that is not a scheme and a host, empty names, control
//! and bidi characters, policies out of the route's reach); the roles each call needs; the activity log; and a
//! namespace that still holds routes or policies is not deleted.

use sacon::api::wire::paths;
use serde_json::{Value, json};

use crate::support::TestServer;
use crate::support::access::{account, id, json_as, set_policy, set_route, tree};

fn refused(status: u16, body: &Value, code: &str, names: &str) {
    assert_eq!(body["code"], code, "{status} {body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.contains(names), "{message:?} should name {names:?}");
}

#[tokio::test]
async fn policies_are_created_replaced_listed_and_deleted() {
    let s = TestServer::start().await;
    let t = tree(&s).await;
    let p = set_policy(
        &s,
        json!({
            "namespaceId": t.eng, "name": "ci deployers", "description": "who deploys",
            "allowedUsers": ["svc-ci", "svc-ci"], "allowedDomains": ["Example.COM"],
            "ppl": "allow:\n  or:\n    - groups:\n        has: deployers\n",
        }),
    )
    .await;
    let pid = id(&p);
    assert_eq!(p["namespaceName"], "Engineering");
    // Duplicates dropped, domains lowercased; the PPL kept as written.
    assert_eq!(p["allowedUsers"], json!(["svc-ci"]));
    assert_eq!(p["allowedDomains"], json!(["example.com"]));
    assert!(p["ppl"].as_str().unwrap().starts_with("allow:"));
    assert_eq!(p["originatorId"], "root");
    assert!(p.get("enforced").is_none(), "false is left out: {p}");

    let r = set_route(
        &s,
        json!({"namespaceId": t.api, "name": "deploy API", "from": "HTTPS://Deploy.Example.com/",
               "prefix": "/v1", "policyIds": [pid]}),
    )
    .await;
    let rid = id(&r);
    assert_eq!(r["from"], "https://deploy.example.com");
    assert_eq!(r["prefix"], "/v1");
    assert_eq!(r["policyNames"], json!(["ci deployers"]));
    assert_eq!(r["namespaceName"], "API");

    // The policy names the routes that use it.
    let (_, got) = s.json(paths::GET_POLICY, json!({"id": pid})).await;
    assert_eq!(
        got["policy"]["routes"],
        json!({ rid.clone(): "deploy API" })
    );

    // Replacing: every field as sent; enforced shows on the route.
    let p2 = set_policy(
        &s,
        json!({"id": pid, "namespaceId": t.eng, "name": "deployers", "enforced": true,
               "ppl": r#"{"allow": {"or": [{"user": {"is": "svc-cd"}}]}}"#}),
    )
    .await;
    assert_eq!(p2["name"], "deployers");
    assert!(p2.get("allowedUsers").is_none());
    assert_eq!(p2["enforced"], true);
    assert_eq!(p2["createdAt"], p["createdAt"]);
    let (_, got) = s.json(paths::GET_ROUTE, json!({"id": rid})).await;
    assert_eq!(got["route"]["enforcedPolicyIds"], json!([pid]));
    assert_eq!(got["route"]["enforcedPolicyNames"], json!(["deployers"]));

    // Listing: by namespace, by query, paged.
    set_policy(&s, json!({"namespaceId": t.eng, "name": "auditors"})).await;
    set_policy(&s, json!({"namespaceId": t.ops, "name": "ops"})).await;
    let (_, list) = s
        .json(paths::LIST_POLICIES, json!({"namespace": t.eng}))
        .await;
    let names: Vec<&str> = list["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["auditors", "deployers"]);
    assert_eq!(list["totalCount"], "2");
    let (_, list) = s
        .json(paths::LIST_POLICIES, json!({"query": "OP", "limit": 5}))
        .await;
    assert_eq!(list["totalCount"], "1", "{list}");
    // A namespace's own policies only: none are Global's.
    let (_, list) = s
        .json(paths::LIST_POLICIES, json!({"namespace": t.global}))
        .await;
    assert!(list.get("totalCount").is_none(), "{list}");
    let (_, list) = s
        .json(paths::LIST_POLICIES, json!({"offset": 1, "limit": 1}))
        .await;
    assert_eq!(list["policies"].as_array().unwrap().len(), 1);
    assert_eq!(list["totalCount"], "3");
    let (status, body) = s
        .json(paths::LIST_POLICIES, json!({"orderBy": "size"}))
        .await;
    refused(status, &body, "invalid_argument", "size");
    let (_, routes) = s
        .json(
            paths::LIST_ROUTES,
            json!({"namespace": t.api, "query": "deploy.example"}),
        )
        .await;
    assert_eq!(routes["totalCount"], "1", "{routes}");

    // A policy a route names is not deleted unless asked to leave the routes too.
    let (status, body) = s.json(paths::DELETE_POLICY, json!({"id": pid})).await;
    refused(status, &body, "failed_precondition", "deploy API");
    let (status, _) = s
        .json(
            paths::DELETE_POLICY,
            json!({"id": pid, "removeFromAnyAssignedRoutes": true}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, got) = s.json(paths::GET_ROUTE, json!({"id": rid})).await;
    assert!(got["route"].get("policyIds").is_none(), "{got}");
    let (status, body) = s.json(paths::GET_POLICY, json!({"id": pid})).await;
    refused(status, &body, "not_found", &pid);
    let (status, _) = s.json(paths::DELETE_ROUTE, json!({"id": rid})).await;
    assert_eq!(status, 200);
    let (status, _) = s.json(paths::GET_ROUTE, json!({"id": rid})).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn bad_writes_are_refused_naming_what_is_wrong() {
    let s = TestServer::start().await;
    let t = tree(&s).await;
    let policy = |p: Value| json!({ "policy": p });
    let cases = [
        (
            json!({"namespaceId": t.eng, "name": "p", "ppl": r#"{"allow": {"and": [{"claim/groups": "x"}]}}"#}),
            "claim",
        ),
        (
            json!({"namespaceId": t.eng, "name": "p", "ppl": "allow:\n  or:\n    - email:\n        contains: x\n"}),
            "contains",
        ),
        (
            json!({"namespaceId": t.eng, "name": "p", "ppl": r#"{"allow": {"xor": []}}"#}),
            "xor",
        ),
        (json!({"namespaceId": t.eng, "name": "  "}), "name"),
        (json!({"namespaceId": t.eng, "name": "a\u{202e}b"}), "name"),
        (
            json!({"namespaceId": t.eng, "name": "p", "description": "x\u{1b}[2J"}),
            "description",
        ),
        (
            json!({"namespaceId": t.eng, "name": "p", "allowedUsers": ["svc\u{0007}"]}),
            "allowedUsers[0]",
        ),
        (
            json!({"namespaceId": t.eng, "name": "p", "allowedDomains": ["ann@example.com"]}),
            "allowedDomains[0]",
        ),
        (json!({"namespaceId": "nope", "name": "p"}), "namespaceId"),
    ];
    for (p, names) in cases {
        let (status, body) = s.json(paths::SET_POLICY, policy(p.clone())).await;
        assert_eq!(status, 400, "{p}: {body}");
        refused(status, &body, "invalid_argument", names);
    }
    let (status, body) = s
        .json(
            paths::SET_POLICY,
            json!({"policy": {"id": "missing", "namespaceId": t.eng, "name": "p"}}),
        )
        .await;
    refused(status, &body, "not_found", "missing");

    let ops_policy = id(&set_policy(&s, json!({"namespaceId": t.ops, "name": "ops only"})).await);
    let eng_policy = id(&set_policy(&s, json!({"namespaceId": t.eng, "name": "eng"})).await);
    let route = |r: Value| json!({ "route": r });
    let cases = [
        (
            json!({"namespaceId": t.api, "name": "r", "from": "deploy.example.com"}),
            "from",
        ),
        (
            json!({"namespaceId": t.api, "name": "r", "from": "ftp://deploy.example.com"}),
            "ftp",
        ),
        (
            json!({"namespaceId": t.api, "name": "r", "from": "https://deploy.example.com/api"}),
            "prefix",
        ),
        (
            json!({"namespaceId": t.api, "name": "r", "from": "https://x.io", "prefix": "api"}),
            "prefix",
        ),
        (
            json!({"namespaceId": t.api, "name": "r", "from": "https://x.io", "prefix": "/a/../b"}),
            "prefix",
        ),
        (
            json!({"namespaceId": t.api, "name": "", "from": "https://x.io"}),
            "name",
        ),
        (
            json!({"namespaceId": t.api, "name": "r\u{200f}", "from": "https://x.io"}),
            "name",
        ),
        (
            json!({"namespaceId": t.api, "name": "r", "from": "https://x.io", "policyIds": [ops_policy]}),
            "ops only",
        ),
        (
            json!({"namespaceId": t.api, "name": "r", "from": "https://x.io", "policyIds": ["ghost"]}),
            "ghost",
        ),
        (
            json!({"namespaceId": t.api, "name": "r", "from": "https://x.io", "policyIds": [eng_policy, eng_policy]}),
            "twice",
        ),
    ];
    for (r, names) in cases {
        let (status, body) = s.json(paths::SET_ROUTE, route(r.clone())).await;
        refused(status, &body, "invalid_argument", names);
    }
    // A field sacon would ignore is not accepted silently.
    let (status, body) = s
        .json(
            paths::SET_ROUTE,
            route(json!({"namespaceId": t.api, "name": "r", "from": "https://x.io", "to": ["https://up"]})),
        )
        .await;
    assert_eq!(status, 400, "{body}");

    // A policy does not move away from a route that names it.
    let r = set_route(
        &s,
        json!({"namespaceId": t.api, "name": "r", "from": "https://x.io", "policyIds": [eng_policy]}),
    )
    .await;
    let (status, body) = s
        .json(
            paths::SET_POLICY,
            policy(json!({"id": eng_policy, "namespaceId": t.ops, "name": "eng"})),
        )
        .await;
    refused(status, &body, "failed_precondition", "\"r\"");
    // Nor does a namespace holding routes or policies go.
    let (status, body) = s.json(paths::DELETE_NAMESPACE, json!({"id": t.ops})).await;
    refused(status, &body, "failed_precondition", "polic");
    s.json(paths::DELETE_ROUTE, json!({"id": id(&r)})).await;
}

#[tokio::test]
async fn writes_need_manager_reads_need_viewer_and_are_audited() {
    let s = TestServer::start().await;
    let t = tree(&s).await;
    let (manager_id, manager) = account(&s, &t.eng, "eng-manager").await;
    let (_, viewer) = account(&s, &t.eng, "eng-viewer").await;
    s.client
        .grant(&t.eng, "user", "eng-manager", "manager")
        .await
        .unwrap();
    s.client
        .grant(&t.eng, "user", "eng-viewer", "viewer")
        .await
        .unwrap();

    let body = json!({"policy": {"namespaceId": t.api, "name": "api callers", "allowedUsers": ["svc-ci"]}});
    let (status, out) = json_as(&s, &viewer, paths::SET_POLICY, body.clone()).await;
    refused(status, &out, "permission_denied", "manager");
    let (status, out) = json_as(&s, &manager, paths::SET_POLICY, body).await;
    assert_eq!(status, 200, "{out}");
    let pid = id(&out["policy"]);
    assert_eq!(out["policy"]["originatorId"], "eng-manager");
    // Not in a sibling.
    let (status, out) = json_as(
        &s,
        &manager,
        paths::SET_ROUTE,
        json!({"route": {"namespaceId": t.ops, "name": "ops", "from": "https://ops.example.com"}}),
    )
    .await;
    refused(status, &out, "permission_denied", "Ops");
    let (status, out) = json_as(
        &s,
        &manager,
        paths::SET_ROUTE,
        json!({"route": {"namespaceId": t.api, "name": "api", "from": "https://api.example.com", "policyIds": [pid]}}),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    let rid = id(&out["route"]);

    // The viewer reads, and lists only what it may see.
    let (status, _) = json_as(&s, &viewer, paths::GET_ROUTE, json!({"id": rid})).await;
    assert_eq!(status, 200);
    set_policy(&s, json!({"namespaceId": t.ops, "name": "ops secret"})).await;
    let (_, list) = json_as(&s, &viewer, paths::LIST_POLICIES, json!({})).await;
    assert_eq!(list["totalCount"], "1", "{list}");
    let (status, out) = json_as(
        &s,
        &viewer,
        paths::LIST_POLICIES,
        json!({"namespace": t.ops}),
    )
    .await;
    refused(status, &out, "permission_denied", "viewer");
    let (status, out) = json_as(&s, &viewer, paths::DELETE_ROUTE, json!({"id": rid})).await;
    refused(status, &out, "permission_denied", "manager");
    let (status, _) = json_as(&s, &manager, paths::DELETE_ROUTE, json!({"id": rid})).await;
    assert_eq!(status, 200);

    // The activity log has each change, with who made it.
    let (_, log) = s
        .json(
            paths::LIST_ACTIVITY_LOG_ENTRIES,
            json!({"namespaceId": t.api}),
        )
        .await;
    let entries: Vec<(String, String, String, String)> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let f = |k: &str| e[k].as_str().unwrap_or_default().to_string();
            (
                f("activityType"),
                f("entityType"),
                f("entityId"),
                f("serviceAccountId"),
            )
        })
        .collect();
    for (action, kind, entity) in [
        ("create", "policy", &pid),
        ("create", "route", &rid),
        ("delete", "route", &rid),
    ] {
        assert!(
            entries
                .iter()
                .any(|(a, k, e, sa)| a == action && k == kind && e == entity && *sa == manager_id),
            "no {action} {kind} {entity} by {manager_id} in {entries:?}"
        );
    }
}
