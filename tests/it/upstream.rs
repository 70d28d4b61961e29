//! Pomerium's semantics where they differ from the first cut of sacon, over real HTTP: optional paging fields
//! (absent limit is every match, 0 is none), a present empty update mask, nanosecond timestamps, absent unset
//! fields, Connect GET for methods without side effects, the Console RPCs (namespaces, groups) and the Console's
//! own service-account API as a second view of the same accounts. Also: the dispatch table serves exactly the
//! schema's methods, and README's API table is generated from it.

use crate::support::TestServer;
use base64::Engine;
use prost::Message;
use sacon::api::wire::{self, paths};
use serde_json::{Value, json};

async fn create(s: &TestServer, body: Value) -> Value {
    let (status, resp) = s.json(paths::CREATE_SERVICE_ACCOUNT, body).await;
    assert_eq!(status, 200, "{resp}");
    resp
}

#[tokio::test]
async fn paging_fields_are_optional_as_upstream() {
    let s = TestServer::start().await;
    for i in 0..105 {
        create(
            &s,
            json!({"serviceAccount": {"userId": format!("page-{i:03}")}}),
        )
        .await;
    }
    let (status, all) = s.json(paths::LIST_SERVICE_ACCOUNTS, json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(
        all["serviceAccounts"].as_array().unwrap().len(),
        105,
        "an absent limit is every match"
    );
    assert_eq!(all["totalCount"], "105");
    let (_, none) = s
        .json(paths::LIST_SERVICE_ACCOUNTS, json!({"limit": 0}))
        .await;
    assert!(
        none.get("serviceAccounts").is_none(),
        "limit 0 is none: {none}"
    );
    assert_eq!(none["totalCount"], "105", "with the total");
    let (_, page) = s
        .json(
            paths::LIST_SERVICE_ACCOUNTS,
            json!({"limit": "10", "offset": "100", "orderBy": "user_id"}),
        )
        .await;
    let ids: Vec<&str> = page["serviceAccounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["userId"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["page-100", "page-101", "page-102", "page-103", "page-104"]
    );
}

#[tokio::test]
async fn an_empty_update_mask_changes_nothing_and_unset_fields_stay_absent() {
    let s = TestServer::start().await;
    let created = create(&s, json!({"serviceAccount": {"userId": "masked"}})).await;
    let account = &created["serviceAccount"];
    assert!(
        account.get("description").is_none(),
        "an unset description is absent, not an empty string: {account}"
    );
    let id = account["id"].as_str().unwrap();
    let (status, resp) = s
        .json(
            paths::UPDATE_SERVICE_ACCOUNT,
            json!({"serviceAccount": {"id": id, "description": "ignored"}, "updateMask": ""}),
        )
        .await;
    assert_eq!(status, 200, "{resp}");
    assert!(
        resp["serviceAccount"].get("description").is_none(),
        "{resp}"
    );
    assert_eq!(resp["serviceAccount"]["userId"], "masked");
    // The binary codec: a present FieldMask with no paths.
    let req = wire::UpdateServiceAccountRequest {
        service_account: Some(wire::ServiceAccount {
            id: Some(id.into()),
            description: Some("ignored too".into()),
            ..Default::default()
        }),
        update_mask: Some(Default::default()),
        grace_period: None,
        rotate: false,
    };
    let resp = s
        .post(
            paths::UPDATE_SERVICE_ACCOUNT,
            "application/proto",
            req.encode_to_vec(),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let back = wire::UpdateServiceAccountResponse::decode(resp.bytes().await.unwrap()).unwrap();
    assert_eq!(back.service_account.as_ref().unwrap().description, None);
}

#[tokio::test]
async fn timestamps_keep_their_nanoseconds() {
    let s = TestServer::start().await;
    let at = "2031-01-31T00:00:00.123456789Z";
    let created = create(
        &s,
        json!({"serviceAccount": {"userId": "nanos", "expiresAt": at}}),
    )
    .await;
    assert_eq!(created["serviceAccount"]["expiresAt"], at);
    let id = created["serviceAccount"]["id"].as_str().unwrap();
    let (_, got) = s.json(paths::GET_SERVICE_ACCOUNT, json!({"id": id})).await;
    assert_eq!(
        got["serviceAccount"]["expiresAt"], at,
        "read back from the store"
    );
}

#[tokio::test]
async fn connect_get_for_methods_without_side_effects() {
    let s = TestServer::start().await;
    let created = create(&s, json!({"serviceAccount": {"userId": "by-get"}})).await;
    let id = created["serviceAccount"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let get = |query: String| {
        let req = s
            .http
            .get(format!("{}{}?{query}", s.url, paths::GET_SERVICE_ACCOUNT))
            .header("Authorization", s.bootstrap());
        async move { req.send().await.unwrap() }
    };
    // JSON, percent-encoded.
    let message =
        serde_urlencoded::to_string([("message", json!({"id": id}).to_string())]).unwrap();
    let resp = get(format!("connect=v1&encoding=json&{message}")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let body: Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(body["serviceAccount"]["userId"], "by-get");
    // Binary, base64url.
    let bin = wire::GetServiceAccountRequest { id: id.clone() }.encode_to_vec();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bin);
    let resp = get(format!("connect=v1&encoding=proto&base64=1&message={b64}")).await;
    assert_eq!(resp.status(), 200);
    let back = wire::GetServiceAccountResponse::decode(resp.bytes().await.unwrap()).unwrap();
    assert_eq!(
        back.service_account.unwrap().user_id.as_deref(),
        Some("by-get")
    );
    // GetServerInfo needs no credentials, by GET too.
    let resp = s
        .http
        .get(format!(
            "{}{}?encoding=json&message=%7B%7D",
            s.url,
            paths::GET_SERVER_INFO
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // Refusals: no encoding, a bad encoding, a bad protocol version, a method with side effects.
    for (query, status) in [
        ("message=%7B%7D".to_string(), 400),
        ("encoding=xml&message=%7B%7D".to_string(), 415),
        ("connect=v2&encoding=json&message=%7B%7D".to_string(), 400),
    ] {
        assert_eq!(get(query.clone()).await.status(), status, "{query}");
    }
    let resp = s
        .http
        .get(format!(
            "{}{}?encoding=json&message=%7B%7D",
            s.url,
            paths::DELETE_SERVICE_ACCOUNT
        ))
        .header("Authorization", s.bootstrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
}

#[tokio::test]
async fn console_namespace_and_group_calls() {
    let s = TestServer::start().await;
    let root = s.root_id().await;
    let eng = s
        .client
        .set_namespace("", &root, "Engineering")
        .await
        .unwrap();
    let (status, got) = s.json(paths::GET_NAMESPACE, json!({"id": eng.id})).await;
    assert_eq!(status, 200);
    assert_eq!(got["namespace"]["name"], "Engineering");
    let (status, _) = s.json(paths::GET_NAMESPACE, json!({"id": "nope"})).await;
    assert_eq!(status, 404);
    let created = create(
        &s,
        json!({"serviceAccount": {"userId": "in-eng", "namespaceId": eng.id}}),
    )
    .await;
    let (_, res) = s
        .json(
            paths::LIST_NAMESPACE_RESOURCES,
            json!({"ids": [root, eng.id]}),
        )
        .await;
    let resources = res["resources"].as_array().unwrap();
    assert!(
        resources
            .iter()
            .any(|r| r["type"] == "namespace" && r["id"] == eng.id)
    );
    assert!(resources.iter().any(|r| r["type"] == "service_account"
        && r["id"] == created["serviceAccount"]["id"]
        && r["name"] == "in-eng"));

    s.client
        .import_users(&[
            sacon::model::DirectoryUser {
                id: "u1".into(),
                name: "Ann".into(),
                email: "ann@example.com".into(),
                groups: vec!["platform-admins".into(), "eng".into()],
            },
            sacon::model::DirectoryUser {
                id: "u2".into(),
                name: "Bob".into(),
                email: "bob@example.com".into(),
                groups: vec!["Engineering-all".into(), "eng".into()],
            },
        ])
        .await
        .unwrap();
    let (_, groups) = s.json(paths::QUERY_GROUPS, json!({"query": "eng"})).await;
    let names: Vec<&str> = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["eng", "Engineering-all"],
        "prefix matches, then by name"
    );
    assert_eq!(groups["totalCount"], "2");
    let (status, g) = s
        .json(paths::GET_GROUP_INFO, json!({"groupId": "platform-admins"}))
        .await;
    assert_eq!(
        (status, g["groupInfo"]["id"].as_str()),
        (200, Some("platform-admins"))
    );
    let (status, _) = s
        .json(paths::GET_GROUP_INFO, json!({"groupId": "nobody"}))
        .await;
    assert_eq!(status, 404);
    let (_, user) = s
        .json(
            paths::GET_USER_INFO,
            json!({"userId": "u1", "clusterId": "ignored"}),
        )
        .await;
    assert_eq!(user["userInfo"]["issuer"], "sacon");
    // Without a user id, as upstream: the caller, with its roles.
    let (status, me) = s.json(paths::GET_USER_INFO, json!({})).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["userInfo"]["id"], "root");
    assert_eq!(me["userInfo"]["namespaceRoles"][root.as_str()], "admin");
    let (status, _) = s.json(paths::GET_USER_INFO, json!({"userId": ""})).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn the_console_service_account_api_is_a_second_view() {
    let s = TestServer::start().await;
    let root = s.root_id().await;
    let (status, added) = s
        .json(
            paths::ADD_POMERIUM_SERVICE_ACCOUNT,
            json!({"serviceAccount": {"userId": "console-bot", "description": "via the console API",
                   "namespaceId": root, "expiresAt": "2032-01-01T00:00:00Z"}}),
        )
        .await;
    assert_eq!(status, 200, "{added}");
    let jwt = added["JWT"]
        .as_str()
        .expect("the JWT, in upstream's field name");
    assert_eq!(jwt.split('.').count(), 3);
    let id = added["serviceAccount"]["id"].as_str().unwrap().to_string();
    assert!(added["serviceAccount"]["issuedAt"].is_string());
    // Listed, read and verified through ConfigService and /verify.
    let (_, got) = s.json(paths::GET_SERVICE_ACCOUNT, json!({"id": id})).await;
    assert_eq!(got["serviceAccount"]["description"], "via the console API");
    assert_eq!(
        s.verify(&[("X-Pomerium-Authorization", jwt)], "").await.0,
        200
    );
    // Made through ConfigService, updated and deleted through the console API.
    let other = create(&s, json!({"serviceAccount": {"userId": "config-bot"}})).await;
    let other_id = other["serviceAccount"]["id"].as_str().unwrap().to_string();
    let (_, listed) = s
        .json(
            paths::LIST_POMERIUM_SERVICE_ACCOUNTS,
            json!({"namespace": root}),
        )
        .await;
    let users: Vec<&str> = listed["serviceAccounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["userId"].as_str().unwrap())
        .collect();
    assert!(
        users.contains(&"console-bot") && users.contains(&"config-bot"),
        "{users:?}"
    );
    let (status, set) = s
        .json(
            paths::SET_POMERIUM_SERVICE_ACCOUNT,
            json!({"serviceAccount": {"id": other_id, "description": "renamed"}}),
        )
        .await;
    assert_eq!(status, 200, "{set}");
    assert_eq!(set["serviceAccount"]["userId"], "config-bot");
    assert_eq!(set["serviceAccount"]["description"], "renamed");
    let (_, via_config) = s
        .json(paths::GET_SERVICE_ACCOUNT, json!({"id": other_id}))
        .await;
    assert_eq!(via_config["serviceAccount"]["description"], "renamed");
    let (status, _) = s
        .json(
            paths::DELETE_POMERIUM_SERVICE_ACCOUNT,
            json!({"id": other_id}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = s
        .json(paths::GET_SERVICE_ACCOUNT, json!({"id": other_id}))
        .await;
    assert_eq!(status, 404, "deleted for both views");
    let (status, _) = s
        .json(paths::GET_POMERIUM_SERVICE_ACCOUNT, json!({"id": other_id}))
        .await;
    assert_eq!(status, 404);
}

#[test]
fn the_dispatch_table_serves_exactly_the_schema() {
    use sacon::server::methods::SPECS;
    for (path, ..) in paths::METHODS {
        assert!(
            SPECS.iter().any(|s| s.path == *path),
            "{path} is in the schema but not served"
        );
    }
    for spec in SPECS {
        assert!(
            paths::METHODS.iter().any(|(p, ..)| *p == spec.path),
            "{} is served but not in the schema",
            spec.path
        );
    }
    let mut seen = std::collections::HashSet::new();
    assert!(
        SPECS.iter().all(|s| seen.insert(s.path)),
        "a method is listed twice"
    );
}
