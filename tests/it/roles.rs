//! Namespace roles over real HTTP: a service account calling the admin API with its own token can do what the
//! roles of its user id allow (viewer, manager, admin; granted on a namespace, inherited below it, directly or
//! through a directory group) in its subtree — never in a sibling or an ancestor — and no caller grants or
//! creates anything that outranks it. Every write records who did it; roles never change `/verify`.

use prost::Message;
use sacon::api::wire::{self, paths};
use sacon::api::{Client, ClientOptions, Code, ConnectError, Credentials, ListQuery};
use sacon::model::DirectoryUser;
use zeroize::Zeroizing;

use crate::support::TestServer;

/// Global › Engineering › API, and Global › Ops.
struct Tree {
    global: String,
    eng: String,
    api: String,
    ops: String,
}

async fn tree(s: &TestServer) -> Tree {
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

fn account(ns: &str, user_id: &str) -> wire::ServiceAccount {
    wire::ServiceAccount {
        namespace_id: Some(ns.to_string()),
        user_id: Some(user_id.to_string()),
        ..Default::default()
    }
}

/// A client calling as a new service account acting as `user_id` (made by root in `ns`), and the account's id.
async fn caller(s: &TestServer, ns: &str, user_id: &str) -> (Client, String) {
    let (sa, jwt) = s.client.create_account(account(ns, user_id)).await.unwrap();
    let client = Client::new(
        &s.url,
        Credentials::Token(Zeroizing::new(jwt.to_string())),
        ClientOptions::default(),
    )
    .unwrap();
    (client, sa.id)
}

/// A role for `user_id` on `ns`, granted by root.
async fn grant(s: &TestServer, ns: &str, user_id: &str, role: &str) -> wire::NamespacePermission {
    s.client.grant(ns, "user", user_id, role).await.unwrap()
}

/// Asserts `permission_denied` whose message names the role needed and the namespace.
fn denied<T: std::fmt::Debug>(r: Result<T, ConnectError>, role: &str, namespace: &str) {
    let e = r.expect_err("the call should be refused");
    assert_eq!(e.code, Code::PermissionDenied, "{e:?}");
    assert!(
        e.message.contains(role) && e.message.contains(namespace),
        "{:?} should name the role {role:?} and the namespace {namespace:?}",
        e.message
    );
}

fn ids(namespaces: &[sacon::model::Namespace]) -> Vec<&str> {
    namespaces.iter().map(|n| n.name.as_str()).collect()
}

async fn account_namespaces(c: &Client) -> Vec<String> {
    let (accounts, _) = c.list_accounts(&ListQuery::default()).await.unwrap();
    let mut out: Vec<String> = accounts.into_iter().map(|a| a.namespace_id).collect();
    out.sort();
    out.dedup();
    out
}

#[tokio::test]
async fn a_viewer_reads_its_subtree_and_changes_nothing() {
    let s = TestServer::start().await;
    let t = tree(&s).await;
    let (ops_account, _) = s
        .client
        .create_account(account(&t.ops, "ops-bot"))
        .await
        .unwrap();
    let (api_account, _) = s
        .client
        .create_account(account(&t.api, "api-bot"))
        .await
        .unwrap();
    let (viewer, _) = caller(&s, &t.eng, "eng-viewer").await;
    grant(&s, &t.eng, "eng-viewer", "viewer").await;

    // The tree: its subtree, with the root as path context; never the sibling.
    let seen = viewer.list_namespaces().await.unwrap();
    assert_eq!(ids(&seen), vec!["Global", "Engineering", "API"]);
    // Accounts: only those below Engineering.
    assert_eq!(account_namespaces(&viewer).await, {
        let mut v = vec![t.eng.clone(), t.api.clone()];
        v.sort();
        v
    });
    assert_eq!(
        viewer.get_account(&api_account.id).await.unwrap().user_id,
        "api-bot"
    );
    denied(viewer.get_account(&ops_account.id).await, "viewer", "Ops");
    // Writes of every kind are refused, naming the role needed.
    denied(
        viewer.create_account(account(&t.api, "new-bot")).await,
        "manager",
        "API",
    );
    denied(
        viewer.rotate_account(&api_account.id).await,
        "manager",
        "API",
    );
    denied(
        viewer.delete_account(&api_account.id).await,
        "manager",
        "API",
    );
    denied(
        viewer.set_namespace("", &t.eng, "Child").await,
        "admin",
        "Engineering",
    );
    denied(
        viewer.grant(&t.eng, "user", "api-bot", "viewer").await,
        "admin",
        "Engineering",
    );
    // The ancestor is context, not a place it may read.
    denied(
        viewer
            .list_activity(wire::ListActivityLogEntriesRequest {
                namespace_id: Some(t.global.clone()),
                ..Default::default()
            })
            .await,
        "viewer",
        "Global",
    );
    // Without a namespace, activity is what it may read: nothing from Ops or the root.
    let (entries, _) = viewer
        .list_activity(wire::ListActivityLogEntriesRequest::default())
        .await
        .unwrap();
    assert!(!entries.is_empty());
    assert!(
        entries
            .iter()
            .all(|e| e.namespace_id == t.eng || e.namespace_id == t.api),
        "{entries:?}"
    );
    // Directory look-ups are for every role; replacing the directory is root's.
    viewer.query_users("a", 0, 10).await.unwrap();
    let e = viewer
        .import_users(&[DirectoryUser {
            id: "x".into(),
            name: "X".into(),
            email: "x@example.com".into(),
            groups: vec![],
        }])
        .await
        .unwrap_err();
    assert_eq!(e.code, Code::PermissionDenied, "{e:?}");
    // Who it is: its user id, with the role it holds.
    let me = viewer.whoami().await.unwrap();
    assert_eq!(me.id, "eng-viewer");
    assert_eq!(
        me.namespace_roles.get(&t.eng).map(String::as_str),
        Some("viewer")
    );
    assert_eq!(me.namespace_roles.len(), 1);
}

#[tokio::test]
async fn a_manager_manages_accounts_in_its_subtree_only() {
    let s = TestServer::start().await;
    let t = tree(&s).await;
    let (ops_account, _) = s
        .client
        .create_account(account(&t.ops, "ops-bot"))
        .await
        .unwrap();
    let (manager, _) = caller(&s, &t.eng, "eng-manager").await;
    grant(&s, &t.eng, "eng-manager", "manager").await;

    let (made, jwt) = manager
        .create_account(account(&t.api, "made-by-manager"))
        .await
        .unwrap();
    assert!(!jwt.is_empty());
    let (rotated, _) = manager.rotate_account(&made.id).await.unwrap();
    assert_eq!(rotated.id, made.id);
    manager
        .update_account(
            wire::ServiceAccount {
                id: Some(made.id.clone()),
                description: Some("edited".into()),
                ..Default::default()
            },
            Some(&["description"]),
        )
        .await
        .unwrap();
    // Moving it within the subtree is fine; out of it, not.
    manager
        .update_account(
            wire::ServiceAccount {
                id: Some(made.id.clone()),
                namespace_id: Some(t.eng.clone()),
                ..Default::default()
            },
            Some(&["namespace_id"]),
        )
        .await
        .unwrap();
    denied(
        manager
            .update_account(
                wire::ServiceAccount {
                    id: Some(made.id.clone()),
                    namespace_id: Some(t.ops.clone()),
                    ..Default::default()
                },
                Some(&["namespace_id"]),
            )
            .await,
        "manager",
        "Ops",
    );
    // A sibling and an ancestor are out of reach.
    denied(
        manager.create_account(account(&t.ops, "x")).await,
        "manager",
        "Ops",
    );
    denied(
        manager.create_account(account(&t.global, "x")).await,
        "manager",
        "Global",
    );
    denied(
        manager.delete_account(&ops_account.id).await,
        "manager",
        "Ops",
    );
    // Namespaces and permissions are an admin's.
    denied(
        manager.set_namespace("", &t.eng, "Child").await,
        "admin",
        "Engineering",
    );
    denied(
        manager
            .grant(&t.api, "user", "made-by-manager", "viewer")
            .await,
        "admin",
        "API",
    );
    manager.delete_account(&made.id).await.unwrap();
    assert!(s.client.get_account(&made.id).await.is_err());
}

#[tokio::test]
async fn an_admin_administers_below_its_grant_and_nothing_above() {
    let s = TestServer::start().await;
    let t = tree(&s).await;
    let (admin, _) = caller(&s, &t.eng, "eng-admin").await;
    grant(&s, &t.eng, "eng-admin", "admin").await;

    // Child namespaces of its subtree: create, rename, delete.
    let child = admin.set_namespace("", &t.eng, "Child").await.unwrap();
    let renamed = admin.set_namespace(&child.id, "", "Renamed").await.unwrap();
    assert_eq!(renamed.name, "Renamed");
    admin.set_namespace(&t.api, "", "Public API").await.unwrap();
    admin.delete_namespace(&child.id).await.unwrap();
    // Where its grant hangs is its parent's to name: it may not rename or move the namespace it was granted.
    denied(
        admin.set_namespace(&t.eng, "", "Mine now").await,
        "admin",
        "Global",
    );
    // Nor carry a namespace out from under its scope, or into a sibling.
    denied(
        admin.set_namespace(&t.api, &t.ops, "Public API").await,
        "admin",
        "Ops",
    );
    denied(
        admin.set_namespace(&t.api, &t.global, "Public API").await,
        "admin",
        "Global",
    );
    denied(
        admin.set_namespace("", &t.ops, "Mine").await,
        "admin",
        "Ops",
    );
    denied(admin.delete_namespace(&t.ops).await, "admin", "Global");

    // Permissions in its subtree, up to its own role.
    let (_, _) = caller(&s, &t.api, "api-helper").await;
    let p = admin
        .grant(&t.api, "user", "api-helper", "manager")
        .await
        .unwrap();
    assert_eq!(
        (p.role.as_str(), p.namespace_name.as_str()),
        ("manager", "Public API")
    );
    let p = admin
        .grant(&t.api, "user", "api-helper", "admin")
        .await
        .unwrap();
    assert_eq!(p.role, "admin");
    admin.revoke(&p.id).await.unwrap();
    denied(
        admin.grant(&t.ops, "user", "api-helper", "viewer").await,
        "admin",
        "Ops",
    );
    denied(
        admin.grant(&t.global, "user", "api-helper", "viewer").await,
        "admin",
        "Global",
    );
    // It cannot create an account and lift it above itself either.
    let (made, _) = admin
        .create_account(account(&t.eng, "lifted"))
        .await
        .unwrap();
    denied(
        admin.grant(&t.global, "user", &made.user_id, "admin").await,
        "admin",
        "Global",
    );
    // Nor revoke a grant made above it.
    let ops_grant = grant(&s, &t.ops, "lifted", "viewer").await;
    denied(admin.revoke(&ops_grant.id).await, "admin", "Ops");
    // Its own grant was made on Engineering by root; bad roles and subject types are invalid, never ignored.
    for (kind, role) in [("user", "owner"), ("robot", "viewer"), ("user", "Admin")] {
        let e = admin.grant(&t.eng, kind, "lifted", role).await.unwrap_err();
        assert_eq!(e.code, Code::InvalidArgument, "{kind} {role}: {e:?}");
    }
    let e = admin
        .grant(&t.eng, "user", "nobody-at-all", "viewer")
        .await
        .unwrap_err();
    assert_eq!(e.code, Code::InvalidArgument, "{e:?}");
}

#[tokio::test]
async fn nobody_makes_an_account_that_outranks_them() {
    let s = TestServer::start().await;
    let t = tree(&s).await;
    let (manager, _) = caller(&s, &t.eng, "eng-manager").await;
    grant(&s, &t.eng, "eng-manager", "manager").await;
    // Someone who holds admin on Engineering: an account acting as them would carry admin.
    let (_, _) = caller(&s, &t.eng, "eng-boss").await;
    grant(&s, &t.eng, "eng-boss", "admin").await;
    let e = manager
        .create_account(account(&t.api, "eng-boss"))
        .await
        .unwrap_err();
    assert_eq!(e.code, Code::PermissionDenied, "{e:?}");
    assert!(
        e.message.contains("admin") && e.message.contains("eng-boss"),
        "{}",
        e.message
    );
    // Nor by retargeting an account it manages.
    let (mine, _) = manager
        .create_account(account(&t.api, "plain"))
        .await
        .unwrap();
    let e = manager
        .update_account(
            wire::ServiceAccount {
                id: Some(mine.id.clone()),
                user_id: Some("eng-boss".into()),
                ..Default::default()
            },
            Some(&["user_id"]),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, Code::PermissionDenied, "{e:?}");
    // Acting as someone at or below its own role is fine.
    let (_, _) = caller(&s, &t.eng, "eng-reader").await;
    grant(&s, &t.eng, "eng-reader", "viewer").await;
    manager
        .create_account(account(&t.api, "eng-reader"))
        .await
        .unwrap();
    manager
        .create_account(account(&t.api, "eng-manager"))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_group_role_reaches_its_members() {
    let s = TestServer::start().await;
    let t = tree(&s).await;
    s.client
        .import_users(&[
            DirectoryUser {
                id: "alice".into(),
                name: "Alice".into(),
                email: "alice@example.com".into(),
                groups: vec!["sre".into(), "staff".into()],
            },
            DirectoryUser {
                id: "bob".into(),
                name: "Bob".into(),
                email: "bob@example.com".into(),
                groups: vec!["staff".into()],
            },
        ])
        .await
        .unwrap();
    s.client
        .grant(&t.ops, "group", "sre", "manager")
        .await
        .unwrap();
    let e = s
        .client
        .grant(&t.ops, "group", "no-such-group", "viewer")
        .await
        .unwrap_err();
    assert_eq!(e.code, Code::InvalidArgument, "{e:?}");

    // An impersonated account acts as alice, and so holds what the sre group holds.
    let (alice, _) = caller(&s, &t.global, "alice").await;
    alice
        .create_account(account(&t.ops, "ops-bot"))
        .await
        .unwrap();
    denied(
        alice.create_account(account(&t.eng, "x")).await,
        "manager",
        "Engineering",
    );
    let me = alice.whoami().await.unwrap();
    assert_eq!(
        (me.name.as_str(), me.email.as_str()),
        ("Alice", "alice@example.com")
    );
    assert_eq!(
        me.namespace_roles.get(&t.ops).map(String::as_str),
        Some("manager")
    );
    // Bob is not in the group: his account holds nothing and is told so.
    let (bob, _) = caller(&s, &t.global, "bob").await;
    let e = bob.list_namespaces().await.unwrap_err();
    assert_eq!(e.code, Code::PermissionDenied, "{e:?}");
    assert!(e.message.contains("holds no role"), "{}", e.message);
    // The namespace's user listing shows alice's way in: the group.
    let (users, groups) = s.client.namespace_permissions(&t.ops).await.unwrap();
    assert!(users.is_empty());
    assert_eq!(groups.len(), 1);
    assert_eq!(
        (groups[0].group_id.as_str(), groups[0].role.as_str()),
        ("sre", "manager")
    );
}

#[tokio::test]
async fn inherited_bindings_are_listed_nearest_first_with_where_they_were_granted() {
    let s = TestServer::start().await;
    let t = tree(&s).await;
    let (_, _) = caller(&s, &t.eng, "reader").await;
    let (_, _) = caller(&s, &t.eng, "writer").await;
    grant(&s, &t.global, "reader", "viewer").await;
    grant(&s, &t.api, "writer", "manager").await;
    let (users, _) = s.client.namespace_permissions(&t.api).await.unwrap();
    let seen: Vec<(&str, &str, &str)> = users
        .iter()
        .map(|u| {
            (
                u.user_id.as_str(),
                u.role.as_str(),
                u.namespace_name.as_str(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![("writer", "manager", "API"), ("reader", "viewer", "Global")]
    );
    let (users, _) = s.client.namespace_permissions(&t.ops).await.unwrap();
    assert_eq!(users.len(), 1, "Ops inherits only the root's binding");
    // A namespace with a binding is not deleted until it is revoked.
    let e = s.client.delete_namespace(&t.api).await.unwrap_err();
    assert_eq!(e.code, Code::FailedPrecondition, "{e:?}");
    assert!(e.message.contains("permission"), "{}", e.message);
}

#[tokio::test]
async fn every_write_records_its_actor() {
    let s = TestServer::start().await;
    let t = tree(&s).await;
    let (manager, manager_id) = caller(&s, &t.eng, "eng-manager").await;
    grant(&s, &t.eng, "eng-manager", "manager").await;
    let (made, _) = manager
        .create_account(account(&t.eng, "by-sa"))
        .await
        .unwrap();
    // The originator of an account made by a service account is that account's user.
    assert_eq!(made.originator_id, "eng-manager");
    let (entries, _) = s
        .client
        .list_activity(wire::ListActivityLogEntriesRequest::default())
        .await
        .unwrap();
    let by_sa = entries
        .iter()
        .find(|e| e.entity_id == made.id && e.activity_type == "create")
        .unwrap();
    assert_eq!(by_sa.user_id, "eng-manager");
    assert_eq!(by_sa.service_account_id, manager_id);
    let by_root = entries
        .iter()
        .find(|e| e.entity_type == "namespace_permission")
        .unwrap();
    assert_eq!(
        (
            by_root.user_id.as_str(),
            by_root.service_account_id.as_str()
        ),
        ("root", "")
    );
    // Filtering by actor finds the service account's writes.
    let (mine, total) = s
        .client
        .list_activity(wire::ListActivityLogEntriesRequest {
            user_id: Some("eng-manager".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(total, 1);
    assert_eq!(mine[0].entity_id, made.id);
}

#[tokio::test]
async fn the_local_console_records_the_operating_system_user() {
    let dir = tempfile::tempdir().unwrap();
    let options = sacon::embedded::ConnectOptions {
        api_url: None,
        token_file: None,
        token: None,
        shared_secret_file: None,
        data_dir: Some(dir.path().join("data")),
        ca_file: None,
        no_demo: true,
        timeout: None,
    };
    let conn = sacon::embedded::connect(&options).await.unwrap();
    let root = conn.client.list_namespaces().await.unwrap()[0].id.clone();
    let (made, _) = conn
        .client
        .create_account(account(&root, "local-bot"))
        .await
        .unwrap();
    let expected = sacon::server::local_actor();
    assert!(expected.starts_with("local:"), "{expected}");
    assert_eq!(made.originator_id, expected);
    let (entries, _) = conn
        .client
        .list_activity(wire::ListActivityLogEntriesRequest::default())
        .await
        .unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e.entity_id == made.id && e.user_id == expected)
    );
    conn.close().await;
}

#[tokio::test]
async fn permission_changes_are_in_the_activity_log_with_the_role_before_and_after() {
    let s = TestServer::start().await;
    let t = tree(&s).await;
    let (_, _) = caller(&s, &t.eng, "bot").await;
    let p = grant(&s, &t.eng, "bot", "viewer").await;
    grant(&s, &t.eng, "bot", "manager").await;
    s.client.revoke(&p.id).await.unwrap();
    s.client
        .set_namespace(&t.api, "", "Public API")
        .await
        .unwrap();
    let (entries, _) = s
        .client
        .list_activity(wire::ListActivityLogEntriesRequest {
            entity_type: Some("namespace_permission".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.activity_type.as_str()).collect();
    assert_eq!(actions, vec!["delete", "update", "create"]);
    assert!(
        entries
            .iter()
            .all(|e| e.entity_id == p.id && e.namespace_id == t.eng)
    );
    let update: serde_json::Value = serde_json::from_str(&entries[1].entity_data).unwrap();
    assert_eq!(update["before"]["role"], "viewer");
    assert_eq!(update["after"]["role"], "manager");
    let diff = entries[1].diff_summary.unwrap();
    assert_eq!((diff.added, diff.removed), (1, 1));
    // A rename records the name before and after.
    let (renames, _) = s
        .client
        .list_activity(wire::ListActivityLogEntriesRequest {
            entity_type: Some("namespace".into()),
            activity_type: Some("update".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let detail: serde_json::Value = serde_json::from_str(&renames[0].entity_data).unwrap();
    assert_eq!(detail["before"]["name"], "API");
    assert_eq!(detail["after"]["name"], "Public API");
}

#[tokio::test]
async fn roles_never_change_what_verify_answers() {
    let s = TestServer::start().await;
    let t = tree(&s).await;
    let (sa, jwt) = s
        .client
        .create_account(account(&t.eng, "plain-bot"))
        .await
        .unwrap();
    let bearer = format!("Bearer Pomerium-{}", jwt.as_str());
    let before = s.verify(&[("Authorization", &bearer)], "").await.0;
    // No role: the API refuses it, but it is a valid token for the proxies.
    let client = Client::new(
        &s.url,
        Credentials::Token(Zeroizing::new(jwt.to_string())),
        ClientOptions::default(),
    )
    .unwrap();
    let e = client.list_namespaces().await.unwrap_err();
    assert_eq!(e.code, Code::PermissionDenied);
    grant(&s, &t.eng, &sa.user_id, "admin").await;
    client.list_namespaces().await.unwrap();
    let after = s.verify(&[("Authorization", &bearer)], "").await.0;
    assert_eq!((before, after), (200, 200));
    // The scope rule stays the token's namespace, whatever role it holds.
    let q = format!("?namespace={}", t.ops);
    assert_eq!(s.verify(&[("Authorization", &bearer)], &q).await.0, 403);
}

#[tokio::test]
async fn an_expired_service_account_token_says_so_and_names_the_fix() {
    let s = TestServer::start_manual().await;
    let t = tree(&s).await;
    let (sa, jwt) = s
        .client
        .create_account(wire::ServiceAccount {
            expires_at: Some(sacon::api::convert::chrono_to_timestamp(
                s.now() + chrono::Duration::hours(1),
            )),
            ..account(&t.eng, "short-lived")
        })
        .await
        .unwrap();
    grant(&s, &t.eng, "short-lived", "viewer").await;
    let client = Client::new(
        &s.url,
        Credentials::Token(Zeroizing::new(jwt.to_string())),
        ClientOptions::default(),
    )
    .unwrap();
    client.list_namespaces().await.unwrap();
    s.advance(chrono::Duration::hours(2));
    let e = client.list_namespaces().await.unwrap_err();
    assert_eq!(e.code, Code::Unauthenticated, "{e:?}");
    assert!(e.message.contains("your token expired"), "{}", e.message);
    assert!(e.message.contains(&sa.id), "{}", e.message);
}

#[tokio::test]
async fn the_permission_service_answers_alike_in_both_codecs() {
    let s = TestServer::start().await;
    let t = tree(&s).await;
    let (_, _) = caller(&s, &t.eng, "bot").await;
    grant(&s, &t.eng, "bot", "manager").await;
    let req = wire::ListNamespacePermissionUsersRequest {
        namespace_id: t.api.clone(),
    };
    let json = s
        .post(
            paths::LIST_NAMESPACE_PERMISSION_USERS,
            "application/json",
            serde_json::to_vec(&req).unwrap(),
        )
        .await;
    assert_eq!(json.status(), 200);
    let body: serde_json::Value = serde_json::from_slice(&json.bytes().await.unwrap()).unwrap();
    assert_eq!(body["users"][0]["userId"], "bot");
    assert_eq!(body["users"][0]["role"], "manager");
    assert_eq!(body["users"][0]["namespaceId"], t.eng);
    let proto = s
        .post(
            paths::LIST_NAMESPACE_PERMISSION_USERS,
            "application/proto",
            req.encode_to_vec(),
        )
        .await;
    assert_eq!(proto.status(), 200);
    let decoded =
        wire::ListNamespacePermissionUsersResponse::decode(proto.bytes().await.unwrap()).unwrap();
    let from_json: wire::ListNamespacePermissionUsersResponse =
        serde_json::from_value(body).unwrap();
    assert_eq!(decoded, from_json);
    // A bad role by raw JSON is invalid_argument naming the field's value.
    let (status, err) = s
        .json(
            paths::SET_NAMESPACE_PERMISSION,
            serde_json::json!({"namespacePermission": {"namespaceId": t.eng, "subjectType": "user",
                "subjectId": "bot", "role": "superuser"}}),
        )
        .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (400, Some("invalid_argument"))
    );
    assert!(err["message"].as_str().unwrap().contains("superuser"));
}
