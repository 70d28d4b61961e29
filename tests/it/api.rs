//! The Connect API over real HTTP: every method's happy path, every protocol and validation error with its exact
//! status and code, the JSON mapping rules, the binary codec, authentication, and the JWT's layout.

use crate::support::{TestServer, t0};
use chrono::Duration;
use prost::Message;
use sacon::api::wire;
use sacon::api::{Code, ListQuery};
use sacon::token;
use serde_json::json;

const CREATE: &str = wire::paths::CREATE_SERVICE_ACCOUNT;
const LIST: &str = wire::paths::LIST_SERVICE_ACCOUNTS;

fn account(user: &str) -> wire::ServiceAccount {
    wire::ServiceAccount {
        user_id: Some(user.into()),
        ..Default::default()
    }
}

async fn error_of(resp: reqwest::Response) -> (u16, String, String) {
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    assert_eq!(ct, "application/json", "errors are always JSON");
    let body: serde_json::Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    (
        status,
        body["code"].as_str().unwrap_or("").to_string(),
        body["message"].as_str().unwrap_or("").to_string(),
    )
}

#[tokio::test]
async fn server_info_is_open_and_names_enterprise() {
    let s = TestServer::start().await;
    let resp = s
        .http
        .post(format!("{}{}", s.url, wire::paths::GET_SERVER_INFO))
        .header("Content-Type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(body["serverType"], "SERVER_TYPE_ENTERPRISE");
    assert!(body["version"].as_str().unwrap().starts_with("sacon "));
}

#[tokio::test]
async fn account_lifecycle_and_jwt_layout() {
    let s = TestServer::start_manual().await;
    let root = s.root_id().await;
    let expires = t0() + Duration::days(30);
    let (created, jwt) = s
        .client
        .create_account(wire::ServiceAccount {
            user_id: Some("ci-bot".into()),
            description: Some("deploys".into()),
            namespace_id: Some(root.clone()),
            expires_at: Some(sacon::api::convert::chrono_to_timestamp(expires)),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(created.user_id, "ci-bot");
    assert_eq!(created.namespace_id, root);
    assert_eq!(created.created_at, t0());
    assert_eq!(created.accessed_at, None);
    assert!(
        uuid::Uuid::parse_str(&created.id).is_ok(),
        "server makes a UUID: {}",
        created.id
    );

    let (header, claims) = token::decode_unverified(&jwt).unwrap();
    assert_eq!(header, json!({"alg": "HS256", "typ": "JWT"}));
    assert_eq!(
        claims,
        json!({"jti": created.id, "sub": "ci-bot", "iat": t0().timestamp(), "nbf": t0().timestamp(), "exp": expires.timestamp()})
    );
    token::verify_service_account(&s.secret, &jwt, t0(), Duration::seconds(5)).unwrap();

    let got = s.client.get_account(&created.id).await.unwrap();
    assert_eq!(got, created);

    // Update with a mask changes only the named field and leaves the live token alone: the answer carries the
    // same issue time (nothing the token holds changed, so it is the same token).
    s.clock.as_ref().unwrap().advance(Duration::minutes(1));
    let (updated, jwt2) = s
        .client
        .update_account(
            wire::ServiceAccount {
                id: Some(created.id.clone()),
                description: Some("deploys prod".into()),
                user_id: Some("ignored".into()),
                ..Default::default()
            },
            Some(&["description"]),
        )
        .await
        .unwrap();
    assert_eq!(updated.description, "deploys prod");
    assert_eq!(updated.user_id, "ci-bot");
    assert_eq!(updated.expires_at, Some(expires));
    assert_eq!(updated.modified_at, t0() + Duration::minutes(1));
    let c2 =
        token::verify_service_account(&s.secret, &jwt2, s.now(), Duration::seconds(5)).unwrap();
    assert_eq!(c2.iat, t0().timestamp());
    assert_eq!(jwt2.as_str(), jwt.as_str());
    token::verify_service_account(&s.secret, &jwt, s.now(), Duration::seconds(5)).unwrap();

    // Without a mask every editable field is replaced: an absent expiry means never.
    let (replaced, _) = s
        .client
        .update_account(
            wire::ServiceAccount {
                id: Some(created.id.clone()),
                user_id: Some("ci-bot".into()),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(replaced.user_id, "ci-bot");
    assert_eq!(replaced.description, "");
    assert_eq!(replaced.expires_at, None);
    assert_eq!(replaced.namespace_id, root);

    // Rotation twice within one second still yields tokens told apart by iat.
    let (_, r1) = s.client.rotate_account(&created.id).await.unwrap();
    let (_, r2) = s.client.rotate_account(&created.id).await.unwrap();
    let (_, c1) = token::decode_unverified(&r1).unwrap();
    let (_, c2) = token::decode_unverified(&r2).unwrap();
    assert!(c2["iat"].as_i64() > c1["iat"].as_i64());

    s.client.delete_account(&created.id).await.unwrap();
    let err = s.client.get_account(&created.id).await.unwrap_err();
    assert_eq!(err.code, Code::NotFound);
    // Deleting an unknown id succeeds.
    s.client.delete_account(&created.id).await.unwrap();
}

#[tokio::test]
async fn create_with_id_and_duplicate_id() {
    let s = TestServer::start().await;
    let mut a = account("u1");
    a.id = Some("fixed-id".into());
    let (created, _) = s.client.create_account(a.clone()).await.unwrap();
    assert_eq!(created.id, "fixed-id");
    let err = s.client.create_account(a).await.unwrap_err();
    assert_eq!(err.code, Code::AlreadyExists);
    let (status, body) = s
        .json(
            CREATE,
            json!({"serviceAccount": {"id": "fixed-id", "userId": "u2"}}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str().unwrap()),
        (409, "already_exists")
    );
}

#[tokio::test]
async fn validation_names_the_field() {
    let s = TestServer::start_manual().await;
    let cases = [
        (json!({"serviceAccount": {}}), "userId"),
        (
            json!({"serviceAccount": {"userId": "x".repeat(257)}}),
            "userId",
        ),
        (
            json!({"serviceAccount": {"userId": "a\u{1b}[31mb"}}),
            "userId",
        ),
        (
            json!({"serviceAccount": {"userId": "u", "description": "d".repeat(1025)}}),
            "description",
        ),
        (
            json!({"serviceAccount": {"userId": "u", "namespaceId": "nope"}}),
            "namespaceId",
        ),
        (
            json!({"serviceAccount": {"userId": "u", "expiresAt": "2020-01-01T00:00:00Z"}}),
            "expiresAt",
        ),
        (
            json!({"serviceAccount": {"userId": "u", "expiresAt": "tomorrow"}}),
            "timestamp",
        ),
        (json!({}), "serviceAccount"),
    ];
    for (body, field) in cases {
        let (status, resp) = s.json(CREATE, body.clone()).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(resp["code"], "invalid_argument", "{body}");
        assert!(
            resp["message"].as_str().unwrap().contains(field),
            "{body} -> {resp}"
        );
    }
    // 256 characters is still fine, and nothing half-written remains from the failures.
    let (status, _) = s
        .json(
            CREATE,
            json!({"serviceAccount": {"userId": "x".repeat(256)}}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, total) = s.client.list_accounts(&ListQuery::default()).await.unwrap();
    assert_eq!(total, 1);
}

#[tokio::test]
async fn update_mask_rules() {
    let s = TestServer::start().await;
    let (a, _) = s.client.create_account(account("u")).await.unwrap();
    for path in ["id", "createdAt", "modifiedAt", "bogus"] {
        let (status, resp) = s
            .json(
                wire::paths::UPDATE_SERVICE_ACCOUNT,
                json!({"serviceAccount": {"id": a.id, "userId": "u"}, "updateMask": path}),
            )
            .await;
        assert_eq!(
            (status, resp["code"].as_str().unwrap()),
            (400, "invalid_argument"),
            "{path}"
        );
        assert!(resp["message"].as_str().unwrap().contains(path), "{resp}");
    }
    let (status, resp) = s
        .json(
            wire::paths::UPDATE_SERVICE_ACCOUNT,
            json!({"serviceAccount": {"id": "missing", "userId": "u"}}),
        )
        .await;
    assert_eq!((status, resp["code"].as_str().unwrap()), (404, "not_found"));
    // snake_case input and a camelCase mask with two paths.
    let (status, resp) = s
        .json(
            wire::paths::UPDATE_SERVICE_ACCOUNT,
            json!({"service_account": {"id": a.id, "user_id": "v", "description": "d"}, "update_mask": "userId,description", "rotate": true}),
        )
        .await;
    assert_eq!(status, 200, "{resp}");
    assert_eq!(resp["serviceAccount"]["userId"], "v");
    assert!(resp["jwt"].as_str().unwrap().split('.').count() == 3);
}

#[tokio::test]
async fn get_and_delete_rules() {
    let s = TestServer::start().await;
    let (status, resp) = s
        .json(wire::paths::GET_SERVICE_ACCOUNT, json!({"id": "nope"}))
        .await;
    assert_eq!((status, resp["code"].as_str().unwrap()), (404, "not_found"));
    let (status, resp) = s
        .json(wire::paths::DELETE_SERVICE_ACCOUNT, json!({"id": ""}))
        .await;
    assert_eq!(
        (status, resp["code"].as_str().unwrap()),
        (400, "invalid_argument")
    );
    let (status, resp) = s
        .json(wire::paths::DELETE_SERVICE_ACCOUNT, json!({"id": "nope"}))
        .await;
    assert_eq!((status, resp), (200, json!({})));
}

#[tokio::test]
async fn protocol_errors() {
    let s = TestServer::start().await;
    // 415 with Accept-Post.
    let resp = s.post(LIST, "text/plain", b"{}".to_vec()).await;
    assert_eq!(resp.status(), 415);
    assert_eq!(
        resp.headers()["accept-post"],
        "application/json, application/proto"
    );
    // 405 for GET on a method with side effects (the ones without take Connect GET).
    let resp = s
        .http
        .get(format!("{}{}", s.url, CREATE))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()["allow"], "POST");
    // 404 unimplemented for a path naming no method.
    let (status, code, _) = error_of(
        s.post(
            "/pomerium.config.ConfigService/Nope",
            "application/json",
            b"{}".to_vec(),
        )
        .await,
    )
    .await;
    assert_eq!((status, code.as_str()), (404, "unimplemented"));
    let (status, code, _) = error_of(s.http.get(format!("{}/", s.url)).send().await.unwrap()).await;
    assert_eq!((status, code.as_str()), (404, "unimplemented"));
    // Empty JSON body.
    let (status, code, msg) = error_of(s.post(LIST, "application/json", Vec::new()).await).await;
    assert_eq!((status, code.as_str()), (400, "invalid_argument"));
    assert!(msg.contains("{}"), "{msg}");
    // Malformed JSON and malformed proto.
    let (status, code, _) = error_of(
        s.post(LIST, "application/json", b"{\"limit\": [".to_vec())
            .await,
    )
    .await;
    assert_eq!((status, code.as_str()), (400, "invalid_argument"));
    let (status, code, _) = error_of(
        s.post(LIST, "application/proto", vec![0xff, 0xff, 0xff])
            .await,
    )
    .await;
    assert_eq!((status, code.as_str()), (400, "invalid_argument"));
    // Connect-Protocol-Version: absent accepted, 1 accepted, anything else refused.
    let send = |version: Option<&'static str>, timeout: Option<&'static str>| {
        let mut req = s
            .http
            .post(format!("{}{}", s.url, LIST))
            .header("Content-Type", "application/json")
            .header("Authorization", s.bootstrap())
            .body("{}");
        if let Some(v) = version {
            req = req.header("Connect-Protocol-Version", v);
        }
        if let Some(t) = timeout {
            req = req.header("Connect-Timeout-Ms", t);
        }
        req.send()
    };
    assert_eq!(send(None, None).await.unwrap().status(), 200);
    assert_eq!(send(Some("1"), None).await.unwrap().status(), 200);
    let (status, code, _) = error_of(send(Some("2"), None).await.unwrap()).await;
    assert_eq!((status, code.as_str()), (400, "invalid_argument"));
    // Connect-Timeout-Ms: digits only; an already-passed deadline is deadline_exceeded.
    assert_eq!(send(Some("1"), Some("5000")).await.unwrap().status(), 200);
    let (status, code, _) = error_of(send(Some("1"), Some("soon")).await.unwrap()).await;
    assert_eq!((status, code.as_str()), (400, "invalid_argument"));
    let (status, code, _) = error_of(send(Some("1"), Some("0")).await.unwrap()).await;
    assert_eq!((status, code.as_str()), (504, "deadline_exceeded"));
    // Bodies over 64 KiB: 413 as a Connect error.
    let big = serde_json::to_vec(
        &json!({"serviceAccount": {"userId": "u", "description": "d".repeat(70_000)}}),
    )
    .unwrap();
    let resp = s.post(CREATE, "application/json", big).await;
    assert_eq!(resp.status(), 413);
    let body: serde_json::Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(body["code"], "resource_exhausted");
}

#[tokio::test]
async fn authentication() {
    let s = TestServer::start().await;
    let call = |headers: Vec<(&'static str, String)>| {
        let mut req = s
            .http
            .post(format!("{}{}", s.url, LIST))
            .header("Content-Type", "application/json")
            .body("{}");
        for (k, v) in headers {
            req = req.header(k, v);
        }
        req.send()
    };
    let (status, code, _) = error_of(call(vec![]).await.unwrap()).await;
    assert_eq!((status, code.as_str()), (401, "unauthenticated"));
    let other = token::SharedSecret::generate();
    let forged = token::bootstrap_token(&other, chrono::Utc::now());
    let (status, code, _) = error_of(
        call(vec![(
            "Authorization",
            format!("Pomerium {}", forged.as_str()),
        )])
        .await
        .unwrap(),
    )
    .await;
    assert_eq!((status, code.as_str()), (401, "unauthenticated"));
    let (status, _, _) = error_of(call(vec![("jwt", "garbage".into())]).await.unwrap()).await;
    assert_eq!(status, 401);
    // Expired admin tokens are refused.
    let old = token::exp_only_token(&s.secret, chrono::Utc::now() - Duration::hours(1));
    assert_eq!(
        call(vec![("jwt", old.to_string())]).await.unwrap().status(),
        401
    );
    // A service account's own JWT authenticates the account, which may do nothing without a role.
    let (_, sa_jwt) = s.client.create_account(account("u")).await.unwrap();
    assert_eq!(
        call(vec![(
            "Authorization",
            format!("Pomerium {}", sa_jwt.as_str())
        )])
        .await
        .unwrap()
        .status(),
        403
    );
    assert_eq!(
        call(vec![("jwt", sa_jwt.to_string())])
            .await
            .unwrap()
            .status(),
        401
    );
    // Both accepted forms.
    let now = chrono::Utc::now();
    assert_eq!(
        call(vec![(
            "Authorization",
            format!(
                "Pomerium {}",
                token::bootstrap_token(&s.secret, now).as_str()
            )
        )])
        .await
        .unwrap()
        .status(),
        200
    );
    assert_eq!(
        call(vec![(
            "jwt",
            token::exp_only_token(&s.secret, now).to_string()
        )])
        .await
        .unwrap()
        .status(),
        200
    );
}

#[tokio::test]
async fn json_mapping_rules() {
    let s = TestServer::start().await;
    let (status, body) = s.json(LIST, json!({})).await;
    assert_eq!(
        (status, body),
        (200, json!({})),
        "no accounts: every field at its default is absent"
    );
    for u in ["a", "b", "c"] {
        s.client.create_account(account(u)).await.unwrap();
    }
    let (_, body) = s
        .json(LIST, json!({"limit": "2", "order_by": "user_id"}))
        .await;
    assert_eq!(body["totalCount"], "3", "64-bit integers are strings");
    let list = body["serviceAccounts"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    let first = &list[0];
    assert_eq!(first["userId"], "a");
    let created = first["createdAt"].as_str().unwrap();
    assert!(
        created.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(created).is_ok(),
        "{created}"
    );
    assert!(
        first.get("expiresAt").is_none() && first.get("accessedAt").is_none(),
        "unset optionals are absent: {first}"
    );
    assert!(!serde_json::to_string(&body).unwrap().contains("null"));
    // Numbers are accepted for 64-bit fields too, and null means unset.
    let (status, body) = s
        .json(LIST, json!({"limit": 1, "offset": null, "filter": null}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["serviceAccounts"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn binary_proto_round_trip() {
    let s = TestServer::start().await;
    let req = wire::CreateServiceAccountRequest {
        service_account: Some(account("proto-user")),
    };
    let resp = s
        .post(CREATE, "application/proto", req.encode_to_vec())
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/proto");
    let created = wire::CreateServiceAccountResponse::decode(resp.bytes().await.unwrap()).unwrap();
    assert_eq!(
        created.service_account.as_ref().unwrap().user_id.as_deref(),
        Some("proto-user")
    );
    token::verify_service_account(
        &s.secret,
        &created.jwt,
        chrono::Utc::now(),
        Duration::seconds(5),
    )
    .unwrap();

    let get = wire::GetServiceAccountRequest {
        id: created.service_account.clone().unwrap().id.unwrap(),
    };
    let resp = s
        .post(
            wire::paths::GET_SERVICE_ACCOUNT,
            "application/proto",
            get.encode_to_vec(),
        )
        .await;
    let got = wire::GetServiceAccountResponse::decode(resp.bytes().await.unwrap()).unwrap();
    assert_eq!(
        got.service_account.unwrap().user_id.as_deref(),
        Some("proto-user")
    );

    // A proto request's error is still JSON.
    let bad = wire::GetServiceAccountRequest {
        id: "missing".into(),
    };
    let (status, code, _) = error_of(
        s.post(
            wire::paths::GET_SERVICE_ACCOUNT,
            "application/proto",
            bad.encode_to_vec(),
        )
        .await,
    )
    .await;
    assert_eq!((status, code.as_str()), (404, "not_found"));

    // A filter travels as a google.protobuf.Struct.
    let filter = sacon::api::convert::json_to_struct(
        json!({"user_id": {"$startsWith": "proto"}})
            .as_object()
            .unwrap()
            .clone(),
    );
    let list = wire::ListServiceAccountsRequest {
        filter: Some(filter),
        ..Default::default()
    };
    let resp = s
        .post(LIST, "application/proto", list.encode_to_vec())
        .await;
    let page = wire::ListServiceAccountsResponse::decode(resp.bytes().await.unwrap()).unwrap();
    assert_eq!(page.total_count, 1);
}

async fn seed_for_filters(s: &TestServer) -> (String, String, String) {
    let root = s.root_id().await;
    let eng = s
        .client
        .set_namespace("", &root, "Engineering")
        .await
        .unwrap()
        .id;
    let fin = s
        .client
        .set_namespace("", &root, "Finance")
        .await
        .unwrap()
        .id;
    let mk = |user: &str, ns: &str, desc: &str, days: Option<i64>| wire::ServiceAccount {
        user_id: Some(user.into()),
        namespace_id: Some(ns.into()),
        description: Some(desc.into()),
        expires_at: days
            .map(|d| sacon::api::convert::chrono_to_timestamp(t0() + Duration::days(d))),
        ..Default::default()
    };
    for a in [
        mk("alice", &eng, "deploy bot", Some(10)),
        mk("bob", &eng, "metrics", None),
        mk("carol", &fin, "ledger sync", Some(400)),
        mk("dave", &fin, "", Some(2)),
        mk("erin", &root, "root thing", Some(40)),
    ] {
        s.client.create_account(a).await.unwrap();
    }
    (root, eng, fin)
}

async fn users_matching(s: &TestServer, filter: serde_json::Value, order: &str) -> Vec<String> {
    let (items, total) = s
        .client
        .list_accounts(&ListQuery {
            filter: Some(filter.clone()),
            order_by: order.into(),
            offset: 0,
            limit: Some(100),
        })
        .await
        .unwrap_or_else(|e| panic!("{filter}: {e}"));
    assert_eq!(total as usize, items.len());
    items.into_iter().map(|a| a.user_id).collect()
}

#[tokio::test]
async fn filters_and_ordering() {
    let s = TestServer::start_manual().await;
    let (root, eng, fin) = seed_for_filters(&s).await;
    assert_eq!(
        users_matching(&s, json!({"namespace_id": eng}), "user_id").await,
        ["alice", "bob"]
    );
    assert_eq!(
        users_matching(&s, json!({"namespaceId": [eng, root]}), "user_id").await,
        ["alice", "bob", "erin"]
    );
    assert_eq!(
        users_matching(
            &s,
            json!({"user_id": {"$isAnyOf": ["bob", "dave"]}}),
            "-user_id"
        )
        .await,
        ["dave", "bob"]
    );
    assert_eq!(
        users_matching(&s, json!({"description": {"$contains": "SYNC"}}), "").await,
        ["carol"]
    );
    assert_eq!(
        users_matching(&s, json!({"user_id": {"$startsWith": "c"}}), "").await,
        ["carol"]
    );
    assert_eq!(
        users_matching(&s, json!({"description": {"$isEmpty": true}}), "").await,
        ["dave"]
    );
    assert_eq!(
        users_matching(&s, json!({"expires_at": {"$isEmpty": true}}), "").await,
        ["bob"]
    );
    let in_30d = (t0() + Duration::days(30)).to_rfc3339();
    assert_eq!(
        users_matching(&s, json!({"expires_at": {"$before": in_30d}}), "expires_at").await,
        ["dave", "alice"]
    );
    assert_eq!(
        users_matching(&s, json!({"expiresAt": {"$after": in_30d}}), "-expires_at").await,
        ["carol", "erin"]
    );
    assert_eq!(
        users_matching(
            &s,
            json!({"$or": [{"user_id": "alice"}, {"namespace_id": fin}]}),
            "user_id"
        )
        .await,
        ["alice", "carol", "dave"]
    );
    assert_eq!(
        users_matching(
            &s,
            json!({"$and": [{"namespace_id": fin}, {"$not": {"user_id": "carol"}}]}),
            ""
        )
        .await,
        ["dave"]
    );
    // Never-expiring sorts as the far future: first when descending.
    assert_eq!(
        users_matching(&s, json!({}), "-expires_at").await,
        ["bob", "carol", "erin", "alice", "dave"]
    );
    assert_eq!(
        users_matching(&s, json!({}), "expires_at").await,
        ["dave", "alice", "erin", "carol", "bob"]
    );

    for bad in [
        json!({"user_id": {"$regex": "a"}}),
        json!({"colour": "red"}),
        json!({"$or": {"user_id": "a"}}),
        json!({"user_id": {"$before": "2027-01-01T00:00:00Z"}}),
        json!({"expires_at": {"$before": "soon"}}),
    ] {
        let err = s
            .client
            .list_accounts(&ListQuery {
                filter: Some(bad.clone()),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.code, Code::InvalidArgument, "{bad}");
    }
    for bad in ["colour", "user_id desc", "-"] {
        let err = s
            .client
            .list_accounts(&ListQuery {
                order_by: bad.into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.code, Code::InvalidArgument, "{bad}");
    }
}

#[tokio::test]
async fn paging_with_total_count() {
    let s = TestServer::start().await;
    for i in 0..25 {
        s.client
            .create_account(account(&format!("user-{i:02}")))
            .await
            .unwrap();
    }
    let page = |offset, limit| ListQuery {
        order_by: "user_id".into(),
        offset,
        limit: Some(limit),
        ..Default::default()
    };
    let (items, total) = s.client.list_accounts(&page(10, 10)).await.unwrap();
    assert_eq!(total, 25);
    assert_eq!(items.first().unwrap().user_id, "user-10");
    assert_eq!(items.len(), 10);
    let (items, total) = s.client.list_accounts(&page(20, 10)).await.unwrap();
    assert_eq!((items.len(), total), (5, 25));
    let (items, total) = s.client.list_accounts(&page(100, 10)).await.unwrap();
    assert_eq!(
        (items.len(), total),
        (0, 25),
        "offset past the end: empty page"
    );
    let all = s.client.list_all_accounts(None, "-user_id").await.unwrap();
    assert_eq!(all.len(), 25);
    assert_eq!(all[0].user_id, "user-24");
}

#[tokio::test]
async fn namespaces() {
    let s = TestServer::start().await;
    let all = s.client.list_namespaces().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(
        (all[0].name.as_str(), all[0].parent_id.as_str()),
        ("Global", "")
    );
    let root = all[0].id.clone();
    let eng = s
        .client
        .set_namespace("", &root, "Engineering")
        .await
        .unwrap();
    assert_eq!(eng.parent_id, root);
    let platform = s
        .client
        .set_namespace("", &eng.id, "Platform")
        .await
        .unwrap();
    // Sibling names are unique; the same name elsewhere in the tree is fine.
    let err = s
        .client
        .set_namespace("", &root, "engineering")
        .await
        .unwrap_err();
    assert_eq!(err.code, Code::AlreadyExists);
    s.client
        .set_namespace("", &platform.id, "Engineering")
        .await
        .unwrap();
    let err = s.client.set_namespace("", &root, "  ").await.unwrap_err();
    assert_eq!(err.code, Code::InvalidArgument);
    let err = s
        .client
        .set_namespace("", "missing", "X")
        .await
        .unwrap_err();
    assert_eq!(err.code, Code::InvalidArgument);
    // Rename keeps the id.
    let renamed = s.client.set_namespace(&eng.id, "", "Eng").await.unwrap();
    assert_eq!(
        (
            renamed.id.as_str(),
            renamed.name.as_str(),
            renamed.parent_id.as_str()
        ),
        (eng.id.as_str(), "Eng", root.as_str())
    );
    // Delete: refused while it has children or accounts, and for the root.
    let err = s.client.delete_namespace(&eng.id).await.unwrap_err();
    assert_eq!(err.code, Code::FailedPrecondition);
    let err = s.client.delete_namespace(&root).await.unwrap_err();
    assert_eq!(err.code, Code::FailedPrecondition);
    let fin = s.client.set_namespace("", &root, "Finance").await.unwrap();
    let mut a = account("u");
    a.namespace_id = Some(fin.id.clone());
    let (acc, _) = s.client.create_account(a).await.unwrap();
    let (status, resp) = s
        .json(wire::paths::DELETE_NAMESPACE, json!({"id": fin.id}))
        .await;
    assert_eq!(
        (status, resp["code"].as_str().unwrap()),
        (400, "failed_precondition")
    );
    s.client.delete_account(&acc.id).await.unwrap();
    s.client.delete_namespace(&fin.id).await.unwrap();
    let err = s.client.delete_namespace(&fin.id).await.unwrap_err();
    assert_eq!(err.code, Code::NotFound);
    assert_eq!(s.client.list_namespaces().await.unwrap().len(), 4);
}

#[tokio::test]
async fn directory_query_get_and_atomic_import() {
    let s = TestServer::start().await;
    let users = |v: serde_json::Value| -> Vec<sacon::model::DirectoryUser> {
        serde_json::from_value(v).unwrap()
    };
    let (inserted, updated) = s
        .client
        .import_users(&users(json!([
            {"id": "u1", "name": "Ann Smith", "email": "ann@example.com", "groups": ["eng"]},
            {"id": "u2", "name": "Joann Brown", "email": "jb@example.com", "groups": ["finance"]},
            {"id": "u3", "name": "Bob Annandale", "email": "bob@example.com", "groups": ["eng", "sre"]},
        ])))
        .await
        .unwrap();
    assert_eq!((inserted, updated), (3, 0));
    let (found, total) = s.client.query_users("ann", 0, 10).await.unwrap();
    assert_eq!(total, 3);
    assert_eq!(found[0].id, "u1", "a prefix match ranks first: {found:?}");
    let (found, _) = s.client.query_users("SRE", 0, 10).await.unwrap();
    assert_eq!(
        found.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(),
        ["u3"]
    );
    let (found, total) = s.client.query_users("ann", 1, 1).await.unwrap();
    assert_eq!((found.len(), total), (1, 3));
    assert_eq!(
        s.client.get_user("u2").await.unwrap().unwrap().email,
        "jb@example.com"
    );
    assert_eq!(s.client.get_user("nobody").await.unwrap(), None);
    let (status, resp) = s
        .json(wire::paths::GET_USER_INFO, json!({"userId": "nobody"}))
        .await;
    assert_eq!((status, resp["code"].as_str().unwrap()), (404, "not_found"));

    // One bad row: nothing changes.
    let err = s
        .client
        .import_users(&users(json!([
            {"id": "u1", "name": "Changed", "email": "", "groups": []},
            {"id": "", "name": "No Id", "email": "", "groups": []},
        ])))
        .await
        .unwrap_err();
    assert_eq!(err.code, Code::InvalidArgument);
    assert!(err.message.contains("users[1]"), "{}", err.message);
    assert_eq!(
        s.client.get_user("u1").await.unwrap().unwrap().name,
        "Ann Smith"
    );

    let (inserted, updated) = s
        .client
        .import_users(&users(json!([{"id": "u1", "name": "Ann Smith-Jones", "email": "ann@example.com", "groups": []}, {"id": "u4", "name": "New", "email": "", "groups": []}])))
        .await
        .unwrap();
    assert_eq!((inserted, updated), (1, 1));
    assert_eq!(
        s.client.get_user("u1").await.unwrap().unwrap().name,
        "Ann Smith-Jones"
    );
}

#[tokio::test]
async fn data_dir_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let s = TestServer::start().await;
    let mode = |p: std::path::PathBuf| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(s.data_dir()), 0o700);
    let secret_file = sacon::config::secret_path(&s.data_dir());
    assert_eq!(mode(secret_file.clone()), 0o600);
    let text = std::fs::read_to_string(secret_file).unwrap();
    assert_eq!(text.lines().count(), 1);
    assert!(token::SharedSecret::from_base64(&text).is_ok());
}

#[tokio::test]
async fn a_bad_shared_secret_is_refused_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    sacon::config::ensure_private_dir(&dir).unwrap();
    let secret = dir.join("shared_secret");
    std::fs::write(&secret, "c2hvcnQ=\n").unwrap();
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = sacon::server::start(sacon::server::ServerConfig::new(&dir), listener)
        .await
        .err()
        .unwrap();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("32 bytes") && msg.contains("shared_secret"),
        "{msg}"
    );
}

#[tokio::test]
async fn audit_log_records_writes_without_tokens() {
    let s = TestServer::start().await;
    let root = s.root_id().await;
    let ns = s.client.set_namespace("", &root, "Audit").await.unwrap();
    let (a, jwt) = s.client.create_account(account("audited")).await.unwrap();
    s.client
        .update_account(
            wire::ServiceAccount {
                id: Some(a.id.clone()),
                description: Some("x".into()),
                ..Default::default()
            },
            Some(&["description"]),
        )
        .await
        .unwrap();
    s.client.rotate_account(&a.id).await.unwrap();
    s.client.delete_account(&a.id).await.unwrap();
    s.client.delete_namespace(&ns.id).await.unwrap();
    let handle = s.handle.as_ref().unwrap();
    let _ = handle;
    let store = s.other_store().await;
    use sacon::store::Store;
    let entries = store.list_audit(100).await.unwrap();
    let actions: Vec<(String, String)> = entries
        .iter()
        .rev()
        .map(|e| (e.target_kind.clone(), e.action.clone()))
        .collect();
    let want = |k: &str, a: &str| (k.to_string(), a.to_string());
    for w in [
        want("namespace", "create"),
        want("service_account", "create"),
        want("service_account", "update"),
        want("service_account", "rotate"),
        want("service_account", "delete"),
        want("namespace", "delete"),
    ] {
        assert!(actions.contains(&w), "{w:?} missing from {actions:?}");
    }
    let signature = jwt.rsplit('.').next().unwrap();
    assert!(
        entries
            .iter()
            .all(|e| !e.detail.contains(signature) && !e.detail.contains("eyJ"))
    );
    // Every write through the shared secret is recorded as the root's.
    assert!(
        entries
            .iter()
            .all(|e| e.actor == "root" || e.actor == "system"),
        "{:?}",
        entries.iter().map(|e| &e.actor).collect::<Vec<_>>()
    );
    assert!(entries.iter().any(|e| e.actor == "root"));
}

#[tokio::test]
async fn an_expired_admin_token_says_so() {
    let s = TestServer::start_manual().await;
    let old = format!(
        "Pomerium {}",
        token::bootstrap_token(&s.secret, s.now()).as_str()
    );
    s.advance(Duration::minutes(10));
    let resp = s
        .http
        .post(format!("{}{}", s.url, LIST))
        .header("Content-Type", "application/json")
        .header("Authorization", &old)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let body: serde_json::Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("expired at") && message.contains("sacon token bootstrap"),
        "{message}"
    );
    // A token that never verified gets no such hint.
    let resp = s
        .http
        .post(format!("{}{}", s.url, LIST))
        .header("Content-Type", "application/json")
        .header("Authorization", "Pomerium not.a.token")
        .body("{}")
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(body["message"], "credentials are not valid for this server");
}
