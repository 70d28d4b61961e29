//! Fixtures for the route and policy tests: raw JSON calls (as root or with a service account's token), a small
//! namespace tree, directory users, and accounts with their tokens.

use sacon::api::wire::paths;
use sacon::model::DirectoryUser;
use serde_json::{Value, json};

use super::TestServer;

/// A directory user named as its id.
pub fn person(id: &str, email: &str, groups: &[&str]) -> DirectoryUser {
    DirectoryUser {
        id: id.into(),
        name: id.into(),
        email: email.into(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
    }
}

/// Global › Engineering › API, and Global › Ops.
pub struct Tree {
    pub global: String,
    pub eng: String,
    pub api: String,
    pub ops: String,
}

pub async fn tree(s: &TestServer) -> Tree {
    let global = s.root_id().await;
    let eng = s
        .client
        .set_namespace("", &global, "Engineering")
        .await
        .unwrap()
        .id;
    let api = s.client.set_namespace("", &eng, "API").await.unwrap().id;
    let ops = s.client.set_namespace("", &global, "Ops").await.unwrap().id;
    Tree {
        global,
        eng,
        api,
        ops,
    }
}

/// A JSON call with a service account's token; status and body.
pub async fn json_as(s: &TestServer, jwt: &str, method: &str, body: Value) -> (u16, Value) {
    let resp = s
        .http
        .post(format!("{}{method}", s.url))
        .header("Content-Type", "application/json")
        .header("Authorization", format!("Pomerium {jwt}"))
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// A service account in `ns` acting as `user_id`, made by root: its id and token.
pub async fn account(s: &TestServer, ns: &str, user_id: &str) -> (String, String) {
    let (sa, jwt) = s
        .client
        .create_account(sacon::api::wire::ServiceAccount {
            namespace_id: Some(ns.to_string()),
            user_id: Some(user_id.to_string()),
            ..Default::default()
        })
        .await
        .unwrap();
    (sa.id, jwt.to_string())
}

/// Creates (or with an `id`, replaces) a policy as root; the saved policy.
pub async fn set_policy(s: &TestServer, policy: Value) -> Value {
    let (status, body) = s.json(paths::SET_POLICY, json!({ "policy": policy })).await;
    assert_eq!(status, 200, "SetPolicy {policy}: {body}");
    body["policy"].clone()
}

/// Creates (or replaces) a route as root; the saved route.
pub async fn set_route(s: &TestServer, route: Value) -> Value {
    let (status, body) = s.json(paths::SET_ROUTE, json!({ "route": route })).await;
    assert_eq!(status, 200, "SetRoute {route}: {body}");
    body["route"].clone()
}

/// The `id` of a saved policy or route.
pub fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}
