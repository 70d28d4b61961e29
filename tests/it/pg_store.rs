//! The PostgreSQL store against a throw-away database: every `Store` method held to the expectations of the
//! SQLite store's tests (`store.rs`, whose assertions most of these repeat), and what only a shared database
//! asks of it: several processes (stores) writing at once, the schema's own guards, and the counters. Runs only
//! when `SACON_TEST_PG_URL` names a server (each test creates a database of its own there and drops it after);
//! otherwise each test says so and passes.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;

use sacon::access::{Role, SubjectType};
use sacon::model::{DirectoryUser, ServiceAccount};
use sacon::policy::model::{Policy, Route};
use sacon::store::filter::{parse_filter, parse_order_by};
use sacon::store::{
    AccountPatch, AccountQuery, ActivityQuery, AuditEntry, Change, DateOp, PermissionGrant,
    PgStore, Reissue, Store, StoreError,
};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
}

fn at(days: i64) -> DateTime<Utc> {
    t0() + Duration::days(days)
}

fn change(days: i64) -> Change {
    Change::by("test", at(days))
}

/// A fresh database on the test server and a store open on it.
struct Db {
    store: PgStore,
    url: String,
    server: String,
    name: String,
}

impl Db {
    /// Another store on the same database: another replica.
    async fn replica(&self) -> PgStore {
        PgStore::open(&self.url).await.unwrap()
    }

    async fn done(self) {
        self.store.close().await;
        let admin = sqlx::PgPool::connect(&self.server).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE {} WITH (FORCE)",
            self.name
        )))
        .execute(&admin)
        .await
        .unwrap();
        admin.close().await;
    }
}

/// A new, empty database's URL, or `None` when no server is configured.
async fn fresh_database() -> Option<(String, String, String)> {
    let Ok(server) = std::env::var("SACON_TEST_PG_URL") else {
        eprintln!("SACON_TEST_PG_URL is not set; skipping the PostgreSQL store test");
        return None;
    };
    let name = format!("sacon_test_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect(&server).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let mut url = url::Url::parse(&server).unwrap();
    url.set_path(&name);
    Some((url.to_string(), server, name))
}

async fn open() -> Option<Db> {
    let (url, server, name) = fresh_database().await?;
    let store = PgStore::open(&url).await.unwrap();
    Some(Db {
        store,
        url,
        server,
        name,
    })
}

async fn root_id(store: &PgStore) -> String {
    let all = store.list_namespaces().await.unwrap();
    all.into_iter().find(|n| n.parent_id.is_empty()).unwrap().id
}

fn account(id: &str, ns: &str, user: &str, expires: Option<DateTime<Utc>>) -> ServiceAccount {
    ServiceAccount {
        id: id.into(),
        namespace_id: ns.into(),
        originator_id: String::new(),
        description: format!("account {id}"),
        user_id: user.into(),
        expires_at: expires,
        created_at: t0(),
        modified_at: t0(),
        accessed_at: None,
        disabled: false,
    }
}

fn user(id: &str, name: &str, email: &str, groups: &[&str]) -> DirectoryUser {
    DirectoryUser {
        id: id.into(),
        name: name.into(),
        email: email.into(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
    }
}

fn query(filter: serde_json::Value, order: &str) -> AccountQuery {
    AccountQuery {
        filter: Some(parse_filter(&filter).unwrap()),
        order: parse_order_by(order).unwrap(),
        offset: 0,
        limit: 100,
    }
}

async fn ids(store: &PgStore, filter: serde_json::Value, order: &str) -> Vec<String> {
    let page = store.list_accounts(&query(filter, order)).await.unwrap();
    page.items.into_iter().map(|a| a.id).collect()
}

#[tokio::test]
async fn open_creates_one_root_however_many_open_it() {
    let Some((url, server, name)) = fresh_database().await else {
        return;
    };
    // Replicas starting together on a new database: one migration, one root.
    let opens: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { PgStore::open(&url).await.unwrap() })
        })
        .collect();
    let mut stores = Vec::new();
    for o in opens {
        stores.push(o.await.unwrap());
    }
    let store = stores.pop().unwrap();
    for s in stores {
        s.close().await;
    }
    let all = store.list_namespaces().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].name, "Global");
    assert_eq!(all[0].parent_id, "");
    let audit = store.list_audit(10).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].actor, "system");
    assert_eq!(audit[0].target_kind, "namespace");
    store.close().await;
    let again = PgStore::open(&url).await.unwrap();
    assert_eq!(again.list_namespaces().await.unwrap().len(), 1);
    Db {
        store: again,
        url,
        server,
        name,
    }
    .done()
    .await;
}

#[tokio::test]
async fn namespace_crud_and_rules() {
    let Some(db) = open().await else { return };
    let store = db.store.clone();
    let root = root_id(&store).await;
    let eng = store
        .create_namespace(&root, "Engineering", "me", &change(0))
        .await
        .unwrap();
    assert_eq!(eng.parent_id, root);
    assert_eq!(eng.originator_id, "me");
    let platform = store
        .create_namespace(&eng.id, "Platform", "", &change(0))
        .await
        .unwrap();
    assert_eq!(
        store.get_namespace(&platform.id).await.unwrap().unwrap(),
        platform
    );
    assert_eq!(store.get_namespace("nope").await.unwrap(), None);

    // Sibling names are unique case-insensitively, also beyond ASCII; cousins may share a name.
    let err = store
        .create_namespace(&root, "ENGINEERING", "", &change(0))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists(_)), "{err:?}");
    store
        .create_namespace(&root, "Ärger", "", &change(0))
        .await
        .unwrap();
    assert!(matches!(
        store.create_namespace(&root, "ärger", "", &change(0)).await,
        Err(StoreError::AlreadyExists(_))
    ));
    store
        .create_namespace(&eng.id, "Engineering", "", &change(0))
        .await
        .unwrap();

    // Bad parents and names.
    assert!(matches!(
        store.create_namespace("missing", "X", "", &change(0)).await,
        Err(StoreError::InvalidArgument(m)) if m.contains("parentId")
    ));
    assert!(matches!(
        store.create_namespace("", "Second root", "", &change(0)).await,
        Err(StoreError::InvalidArgument(m)) if m.contains("parentId")
    ));
    assert!(matches!(
        store.create_namespace(&root, "  ", "", &change(0)).await,
        Err(StoreError::InvalidArgument(m)) if m.contains("name")
    ));
    assert!(matches!(
        store
            .create_namespace(&root, "a\u{1b}[31m", "", &change(0))
            .await,
        Err(StoreError::InvalidArgument(_))
    ));

    // Rename and move; cycles and clashes refused.
    let renamed = store
        .update_namespace(&platform.id, "Platform Team", "", &change(1))
        .await
        .unwrap();
    assert_eq!(renamed.name, "Platform Team");
    assert_eq!(renamed.parent_id, eng.id);
    assert_eq!(renamed.modified_at, at(1));
    assert_eq!(renamed.created_at, at(0));
    let moved = store
        .update_namespace(&platform.id, "Platform Team", &root, &change(2))
        .await
        .unwrap();
    assert_eq!(moved.parent_id, root);
    store
        .update_namespace(&platform.id, "Platform", &eng.id, &change(2))
        .await
        .unwrap();
    assert!(matches!(
        store.update_namespace(&eng.id, "Engineering", &platform.id, &change(3)).await,
        Err(StoreError::InvalidArgument(m)) if m.contains("cycle")
    ));
    assert!(matches!(
        store.update_namespace(&eng.id, "Engineering", &eng.id, &change(3)).await,
        Err(StoreError::InvalidArgument(m)) if m.contains("cycle")
    ));
    assert!(matches!(
        store
            .update_namespace(&platform.id, "engineering", &root, &change(3))
            .await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert!(matches!(
        store
            .update_namespace(&root, "Global", &eng.id, &change(3))
            .await,
        Err(StoreError::InvalidArgument(_))
    ));
    assert!(matches!(
        store.update_namespace("nope", "x", "", &change(3)).await,
        Err(StoreError::NotFound(_))
    ));
    // Renaming to its own name in another case is not a clash with itself.
    store
        .update_namespace(&eng.id, "ENGINEERING", "", &change(3))
        .await
        .unwrap();

    // Delete preconditions.
    assert!(matches!(
        store.delete_namespace(&eng.id, &change(4)).await,
        Err(StoreError::FailedPrecondition(m)) if m.contains("child")
    ));
    store
        .create_account(
            &account("sa1", &platform.id, "bot", None),
            at(4),
            &change(4),
        )
        .await
        .unwrap();
    assert!(matches!(
        store.delete_namespace(&platform.id, &change(4)).await,
        Err(StoreError::FailedPrecondition(m)) if m.contains("service account")
    ));
    assert!(matches!(
        store.delete_namespace(&root, &change(4)).await,
        Err(StoreError::FailedPrecondition(_))
    ));
    assert!(matches!(
        store.delete_namespace("nope", &change(4)).await,
        Err(StoreError::NotFound(_))
    ));
    store.delete_account("sa1", &change(5)).await.unwrap();
    store
        .delete_namespace(&platform.id, &change(5))
        .await
        .unwrap();
    assert_eq!(store.get_namespace(&platform.id).await.unwrap(), None);

    let audit = store.list_audit(100).await.unwrap();
    let actions: Vec<(&str, &str)> = audit
        .iter()
        .filter(|e| e.target_kind == "namespace")
        .map(|e| (e.action.as_str(), e.target_id.as_str()))
        .collect();
    assert!(actions.contains(&("delete", platform.id.as_str())));
    assert!(actions.contains(&("update", eng.id.as_str())));
    assert!(actions.contains(&("create", eng.id.as_str())));
    db.done().await;
}

#[tokio::test]
async fn account_crud_rotation_and_audit() {
    let Some(db) = open().await else { return };
    let store = db.store.clone();
    let root = root_id(&store).await;
    let other = store
        .create_namespace(&root, "Other", "", &change(0))
        .await
        .unwrap();
    let a = account("sa-1", &root, "alice", Some(at(30)));
    let rec = store.create_account(&a, at(0), &change(0)).await.unwrap();
    assert_eq!(rec.account.created_at, at(0));
    assert_eq!(rec.account.modified_at, at(0));
    assert_eq!(rec.account.expires_at, Some(at(30)));
    assert_eq!(rec.issued_at, at(0));
    assert_eq!(rec.grace_until, None);
    assert_eq!(store.get_account("sa-1").await.unwrap().unwrap(), rec);
    assert_eq!(store.get_account("nope").await.unwrap(), None);

    assert!(matches!(
        store.create_account(&a, at(0), &change(0)).await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert!(matches!(
        store.create_account(&account("sa-2", "missing", "x", None), at(0), &change(0)).await,
        Err(StoreError::InvalidArgument(m)) if m.contains("namespaceId")
    ));

    // Update without reissue keeps the token state.
    let patch = AccountPatch {
        description: Some("new words".into()),
        expires_at: Some(None),
        namespace_id: Some(other.id.clone()),
        user_id: None,
        disabled: None,
    };
    let up = store
        .update_account("sa-1", &patch, None, &change(1))
        .await
        .unwrap();
    assert_eq!(up.account.description, "new words");
    assert_eq!(up.account.expires_at, None);
    assert_eq!(up.account.namespace_id, other.id);
    assert_eq!(up.account.user_id, "alice");
    assert_eq!(up.account.modified_at, at(1));
    assert_eq!(up.account.created_at, at(0));
    assert_eq!(up.issued_at, at(0));

    // Rotation records the new issue time and the grace period.
    let reissue = Reissue {
        issued_at: at(2),
        grace_from: Some(at(0)),
        grace_until: Some(at(3)),
    };
    let rot = store
        .update_account("sa-1", &AccountPatch::default(), Some(reissue), &change(2))
        .await
        .unwrap();
    assert_eq!(rot.issued_at, at(2));
    assert_eq!(rot.grace_until, Some(at(3)));
    assert_eq!(rot.grace_from, Some(at(0)));
    assert_eq!(rot.account.description, "new words");

    assert!(matches!(
        store
            .update_account("nope", &AccountPatch::default(), None, &change(2))
            .await,
        Err(StoreError::NotFound(_))
    ));
    let bad_ns = AccountPatch {
        namespace_id: Some("missing".into()),
        ..AccountPatch::default()
    };
    assert!(matches!(
        store.update_account("sa-1", &bad_ns, None, &change(2)).await,
        Err(StoreError::InvalidArgument(m)) if m.contains("namespaceId")
    ));

    // Use is recorded, only ever forward, and is not audited.
    let audit_before = store.list_audit(1000).await.unwrap().len();
    store.touch_accessed("sa-1", at(5)).await.unwrap();
    store.touch_accessed("sa-1", at(4)).await.unwrap();
    store.touch_accessed("unknown", at(4)).await.unwrap();
    let got = store.get_account("sa-1").await.unwrap().unwrap();
    assert_eq!(got.account.accessed_at, Some(at(5)));
    assert_eq!(store.list_audit(1000).await.unwrap().len(), audit_before);

    assert!(store.delete_account("sa-1", &change(6)).await.unwrap());
    assert!(!store.delete_account("sa-1", &change(6)).await.unwrap());
    assert_eq!(store.get_account("sa-1").await.unwrap(), None);

    let audit = store.list_audit(100).await.unwrap();
    let account_actions: Vec<&str> = audit
        .iter()
        .filter(|e| e.target_kind == "service_account")
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(account_actions, ["delete", "rotate", "update", "create"]);
    assert!(audit.windows(2).all(|w| w[0].seq > w[1].seq));
    let create = audit
        .iter()
        .find(|e| e.action == "create" && e.target_id == "sa-1")
        .unwrap();
    assert_eq!(create.actor, "test");
    assert_eq!(create.at, at(0));
    assert!(create.detail.contains("alice"));
    for e in &audit {
        assert!(
            !e.detail.contains("eyJ"),
            "token-like text in audit: {}",
            e.detail
        );
    }
    db.done().await;
}

#[tokio::test]
async fn failed_write_leaves_no_audit_row() {
    let Some(db) = open().await else { return };
    let store = db.store.clone();
    let root = root_id(&store).await;
    store
        .create_account(&account("dup", &root, "u", None), at(0), &change(0))
        .await
        .unwrap();
    let before = store.list_audit(100).await.unwrap();
    assert!(
        store
            .create_account(&account("dup", &root, "u", None), at(0), &change(0))
            .await
            .is_err()
    );
    assert!(
        store
            .create_namespace(&root, "", "", &change(0))
            .await
            .is_err()
    );
    assert_eq!(store.list_audit(100).await.unwrap(), before);
    db.done().await;
}

/// Six accounts in two namespaces with varied times, for filter and order tests.
async fn fixture(store: &PgStore) -> (String, String) {
    let root = root_id(store).await;
    let ns = store
        .create_namespace(&root, "Team", "", &change(0))
        .await
        .unwrap();
    let rows = [
        ("a", &root, "alice", Some(at(10)), "Deploy bot 50%_off"),
        ("b", &root, "bob", None, "backup"),
        ("c", &ns.id, "carol", Some(at(-1)), "CI runner"),
        ("d", &ns.id, "dave", Some(at(400)), ""),
        ("e", &ns.id, "alice", None, "deploy"),
        ("f", &root, "frank", Some(at(10)), "reports"),
    ];
    for (i, (id, nsid, user, exp, desc)) in rows.into_iter().enumerate() {
        let mut a = account(id, nsid, user, exp);
        a.description = desc.into();
        store
            .create_account(&a, at(0), &change(i as i64))
            .await
            .unwrap();
    }
    store.touch_accessed("a", at(-100)).await.unwrap();
    store.touch_accessed("c", at(5)).await.unwrap();
    store.touch_accessed("d", at(1)).await.unwrap();
    (root, ns.id)
}

#[tokio::test]
async fn every_filter_operator() {
    let Some(db) = open().await else { return };
    let store = db.store.clone();
    let (root, ns) = fixture(&store).await;
    let s = &store;
    let cases: Vec<(serde_json::Value, Vec<&str>)> = vec![
        (json!({}), vec!["a", "b", "c", "d", "e", "f"]),
        (json!({"namespace_id": ns}), vec!["c", "d", "e"]),
        (json!({"namespaceId": [root, "zzz"]}), vec!["a", "b", "f"]),
        (json!({"user_id": {"$eq": "alice"}}), vec!["a", "e"]),
        (
            json!({"user_id": {"$isAnyOf": ["bob", "dave"]}}),
            vec!["b", "d"],
        ),
        (json!({"id": {"$isAnyOf": []}}), vec![]),
        (
            json!({"description": {"$contains": "DEPLOY"}}),
            vec!["a", "e"],
        ),
        (json!({"description": {"$contains": "50%_"}}), vec!["a"]),
        (json!({"description": {"$contains": "%"}}), vec!["a"]),
        (json!({"description": {"$contains": "_"}}), vec!["a"]),
        (json!({"description": {"$startsWith": "ci "}}), vec!["c"]),
        (json!({"description": {"$startsWith": "r"}}), vec!["f"]),
        (json!({"description": {"$isEmpty": true}}), vec!["d"]),
        (json!({"description": ""}), vec!["d"]),
        (
            json!({"description": {"$isNotEmpty": true}}),
            vec!["a", "b", "c", "e", "f"],
        ),
        (json!({"expires_at": null}), vec!["b", "e"]),
        (json!({"expiresAt": {"$isEmpty": true}}), vec!["b", "e"]),
        (
            json!({"expires_at": {"$isNotEmpty": true}}),
            vec!["a", "c", "d", "f"],
        ),
        (
            json!({"expires_at": {"$before": at(10).to_rfc3339()}}),
            vec!["c"],
        ),
        (
            json!({"expires_at": {"$onOrBefore": at(10).to_rfc3339()}}),
            vec!["a", "c", "f"],
        ),
        (
            json!({"expires_at": {"$after": at(10).to_rfc3339()}}),
            vec!["d"],
        ),
        (
            json!({"expires_at": {"$onOrAfter": at(10).to_rfc3339()}}),
            vec!["a", "d", "f"],
        ),
        (
            json!({"expires_at": {"$onOrAfter": "2026-06-01", "$before": "2026-06-12"}}),
            vec!["a", "f"],
        ),
        (json!({"expires_at": at(10).to_rfc3339()}), vec!["a", "f"]),
        (
            json!({"expires_at": [at(-1).to_rfc3339(), null]}),
            vec!["b", "c", "e"],
        ),
        (
            json!({"accessed_at": {"$isEmpty": true}}),
            vec!["b", "e", "f"],
        ),
        (json!({"accessed_at": {"$before": "2026-06-01"}}), vec!["a"]),
        (
            json!({"issued_at": at(0).to_rfc3339()}),
            vec!["a", "b", "c", "d", "e", "f"],
        ),
        (
            json!({"created_at": {"$onOrAfter": at(4).to_rfc3339()}}),
            vec!["e", "f"],
        ),
        (
            json!({"modified_at": {"$before": at(1).to_rfc3339()}}),
            vec!["a"],
        ),
        (
            json!({"originator_id": {"$isEmpty": true}}),
            vec!["a", "b", "c", "d", "e", "f"],
        ),
        (
            json!({"$or": [{"user_id": "bob"}, {"id": "c"}]}),
            vec!["b", "c"],
        ),
        (
            json!({"$and": [{"user_id": "alice"}, {"namespace_id": ns}]}),
            vec!["e"],
        ),
        (json!({"$or": []}), vec![]),
        (json!({"$and": []}), vec!["a", "b", "c", "d", "e", "f"]),
        (
            json!({"$not": {"user_id": "alice"}}),
            vec!["b", "c", "d", "f"],
        ),
        // NOT is an exact complement even over empty (NULL) times.
        (
            json!({"$not": {"expires_at": {"$before": "2027-01-01"}}}),
            vec!["b", "d", "e"],
        ),
        (
            json!({"$not": {"$or": [{"id": "a"}, {"$and": [{"id": "b"}, {"user_id": "bob"}]}]}}),
            vec!["c", "d", "e", "f"],
        ),
    ];
    for (filter, want) in cases {
        assert_eq!(ids(s, filter.clone(), "id").await, want, "filter {filter}");
    }
    db.done().await;
}

#[tokio::test]
async fn ordering_and_null_placement() {
    let Some(db) = open().await else { return };
    let store = db.store.clone();
    fixture(&store).await;
    let s = &store;
    // Never-expiring (b, e) sort as the far future; ties (a, f) broken by id.
    assert_eq!(
        ids(s, json!({}), "expires_at").await,
        ["c", "a", "f", "d", "b", "e"]
    );
    assert_eq!(
        ids(s, json!({}), "-expiresAt").await,
        ["e", "b", "d", "f", "a", "c"]
    );
    // Never-used (b, e, f) sort as the far past.
    assert_eq!(
        ids(s, json!({}), "accessed_at").await,
        ["b", "e", "f", "a", "d", "c"]
    );
    assert_eq!(
        ids(s, json!({}), "-accessed_at").await,
        ["c", "d", "a", "f", "e", "b"]
    );
    assert_eq!(
        ids(s, json!({}), "user_id,-id").await,
        ["e", "a", "b", "c", "d", "f"]
    );
    assert_eq!(
        ids(s, json!({}), "-user_id").await,
        ["f", "d", "c", "b", "e", "a"]
    );
    // Default: creation order.
    assert_eq!(ids(s, json!({}), "").await, ["a", "b", "c", "d", "e", "f"]);
    assert_eq!(
        ids(s, json!({}), "-created_at").await,
        ["f", "e", "d", "c", "b", "a"]
    );
    db.done().await;
}

#[tokio::test]
async fn paging_with_totals() {
    let Some(db) = open().await else { return };
    let store = db.store.clone();
    let root = root_id(&store).await;
    for i in 0..25 {
        store
            .create_account(
                &account(&format!("p{i:02}"), &root, "u", None),
                at(0),
                &change(i),
            )
            .await
            .unwrap();
    }
    let mut q = query(json!({"user_id": "u"}), "-id");
    q.limit = 10;
    let mut seen = Vec::new();
    for offset in [0, 10, 20] {
        q.offset = offset;
        let page = store.list_accounts(&q).await.unwrap();
        assert_eq!(page.total, 25);
        seen.extend(page.items.into_iter().map(|a| a.id));
    }
    let want: Vec<String> = (0..25).rev().map(|i| format!("p{i:02}")).collect();
    assert_eq!(seen, want);
    q.offset = 25;
    let past = store.list_accounts(&q).await.unwrap();
    assert!(past.items.is_empty());
    assert_eq!(past.total, 25);
    q.offset = u64::MAX;
    q.limit = u64::MAX;
    assert!(store.list_accounts(&q).await.unwrap().items.is_empty());
    let none = store
        .list_accounts(&query(json!({"user_id": "nobody"}), ""))
        .await
        .unwrap();
    assert_eq!((none.items.len(), none.total), (0, 0));
    let all = store
        .list_accounts(&AccountQuery {
            limit: 5,
            ..AccountQuery::default()
        })
        .await
        .unwrap();
    assert_eq!((all.items.len(), all.total), (5, 25));
    db.done().await;
}

fn ids_of(page: sacon::store::Page<DirectoryUser>) -> Vec<String> {
    page.items.into_iter().map(|u| u.id).collect()
}

fn directory() -> Vec<DirectoryUser> {
    vec![
        user(
            "alice.nguyen",
            "Alice Nguyen",
            "alice.nguyen@example.com",
            &["engineering", "sre"],
        ),
        user("u-7f3a", "Malice Carter", "mc@example.com", &["finance"]),
        user("bob", "Bob Stone", "bob@example.com", &["admins"]),
        user("zoe", "Zoë Ålander", "zoe@example.com", &["Sales"]),
        user("carl", "Carl Jones", "carl@example.com", &["ali-team"]),
        user("dan", "Dan Palin", "dan@example.com", &[]),
    ]
}

async fn search(store: &PgStore, q: &str) -> (Vec<String>, u64) {
    let page = store.query_users(q, 0, 50).await.unwrap();
    (page.items.into_iter().map(|u| u.id).collect(), page.total)
}

#[tokio::test]
async fn users_upsert_and_ranked_query() {
    let Some(db) = open().await else { return };
    let store = db.store.clone();
    let counts = store.upsert_users(&directory(), &change(0)).await.unwrap();
    assert_eq!((counts.inserted, counts.updated), (6, 0));
    assert_eq!(
        store.get_user("zoe").await.unwrap().unwrap(),
        directory()[3]
    );
    assert_eq!(store.get_user("nobody").await.unwrap(), None);

    // Prefix matches (name word "Alice", group "ali-team") before substring ones ("Malice", "Palin"), then by name.
    let (ids, total) = search(&store, "ALI").await;
    assert_eq!(ids, ["alice.nguyen", "carl", "dan", "u-7f3a"]);
    assert_eq!(total, 4);
    // Case-insensitive beyond ASCII, through the trigram index.
    assert_eq!(search(&store, "ÅLA").await.0, ["zoe"]);
    assert_eq!(search(&store, "zoë å").await.0, ["zoe"]);
    // Groups, e-mails, ids.
    assert_eq!(search(&store, "finance").await.0, ["u-7f3a"]);
    assert_eq!(search(&store, "bob@ex").await.0, ["bob"]);
    assert_eq!(search(&store, "7f3a").await.0, ["u-7f3a"]);
    // Short queries: prefix matches only, from the index.
    assert_eq!(search(&store, "s").await.0, ["alice.nguyen", "bob", "zoe"]);
    assert_eq!(search(&store, "ng").await.0, ["alice.nguyen"]);
    // Quotes and LIKE wildcards are literal.
    assert_eq!(search(&store, "\"x\"").await.1, 0);
    assert_eq!(search(&store, "%%%").await.1, 0);
    // Empty: everyone by name.
    let (all, total) = search(&store, "").await;
    assert_eq!(all, ["alice.nguyen", "bob", "carl", "dan", "u-7f3a", "zoe"]);
    assert_eq!(total, 6);
    let page = store.query_users("", 4, 10).await.unwrap();
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.total, 6);

    // Update replaces the searchable text.
    let mut changed = directory()[1].clone();
    changed.name = "Mary Carter".into();
    let again = [
        changed.clone(),
        changed.clone(),
        user("new", "New Person", "", &[]),
    ];
    let counts = store.upsert_users(&again, &change(1)).await.unwrap();
    assert_eq!((counts.inserted, counts.updated), (1, 1));
    assert_eq!(search(&store, "malice").await.1, 0);
    assert_eq!(search(&store, "mary").await.0, ["u-7f3a"]);
    assert_eq!(store.get_user("u-7f3a").await.unwrap().unwrap(), changed);

    let imports: Vec<String> = store
        .list_audit(10)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "import")
        .map(|e| e.detail)
        .collect();
    assert_eq!(imports.len(), 2);
    assert!(imports[0].contains("\"inserted\":1") && imports[0].contains("\"updated\":1"));
    db.done().await;
}

#[tokio::test]
async fn upsert_is_all_or_nothing() {
    let Some(db) = open().await else { return };
    let store = db.store.clone();
    store.upsert_users(&directory(), &change(0)).await.unwrap();
    let audit_before = store.list_audit(100).await.unwrap();
    let mut batch = vec![
        user("fresh", "Fresh User", "f@example.com", &[]),
        user("bob", "Robert Renamed", "bob@example.com", &[]),
    ];
    batch.push(user("bad\u{7}id", "Bad", "", &[]));
    let err = store.upsert_users(&batch, &change(1)).await.unwrap_err();
    match err {
        StoreError::InvalidArgument(m) => {
            assert!(m.contains("users[2]") && m.contains("bad"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    for bad in [
        user("", "Empty", "", &[]),
        user(&"x".repeat(257), "Long", "", &[]),
        user("ok", "Name\nbreak", "", &[]),
    ] {
        let batch = vec![user("fresh", "Fresh", "", &[]), bad];
        assert!(matches!(
            store.upsert_users(&batch, &change(1)).await,
            Err(StoreError::InvalidArgument(m)) if m.contains("users[1]")
        ));
    }
    assert_eq!(store.get_user("fresh").await.unwrap(), None);
    assert_eq!(
        store.get_user("bob").await.unwrap().unwrap().name,
        "Bob Stone"
    );
    assert_eq!(search(&store, "robert").await.1, 0);
    assert_eq!(store.list_audit(100).await.unwrap(), audit_before);
    db.done().await;
}

#[tokio::test]
async fn concurrent_creates_all_land() {
    let Some(db) = open().await else { return };
    let store = db.store.clone();
    let root = root_id(&store).await;
    let mut tasks = Vec::new();
    for w in 0..4 {
        let store = store.clone();
        let root = root.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                let a = account(&format!("w{w}-{i}"), &root, "bot", None);
                store.create_account(&a, at(0), &change(0)).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let page = store
        .list_accounts(&AccountQuery {
            limit: 1,
            ..AccountQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total, 100);
    let creates = store
        .list_audit(1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "create" && e.target_kind == "service_account")
        .count();
    assert_eq!(creates, 100);
    db.done().await;
}

#[tokio::test]
async fn demo_seed_shows_every_marker() {
    let Some(db) = open().await else { return };
    let store = db.store.clone();
    let now = t0();
    let summary = sacon::demo::seed_demo(&store, now).await.unwrap();
    assert_eq!(summary.namespaces, 10);
    assert!(summary.users >= 250, "{summary:?}");
    assert_eq!(summary.accounts, 12);

    let tree = sacon::model::NamespaceTree::new(store.list_namespaces().await.unwrap());
    assert_eq!(tree.len(), 11);
    let platform = tree.resolve("Global/Engineering/Platform").unwrap();
    assert!(tree.resolve("Operations/SRE").is_some());

    let count = |filter: serde_json::Value| {
        let store = store.clone();
        async move {
            let q = query(
                json!({"$and": [filter, {"description": {"$startsWith": "demo:"}}]}),
                "",
            );
            store.list_accounts(&q).await.unwrap().total
        }
    };
    let iso = |d: i64| (now + Duration::days(d)).to_rfc3339();
    assert_eq!(count(json!({})).await, 12);
    assert!(
        count(json!({"expires_at": {"$before": iso(0)}})).await >= 1,
        "expired"
    );
    assert!(
        count(json!({"expires_at": {"$onOrAfter": iso(0), "$before": iso(7)}})).await >= 1,
        "expiring within 7 days"
    );
    assert!(
        count(json!({"expires_at": null})).await >= 1,
        "never expires"
    );
    assert!(
        count(json!({"expires_at": {"$after": iso(300)}})).await >= 1,
        "a year's expiry"
    );
    assert!(
        count(json!({"accessed_at": {"$before": iso(-90)}})).await >= 1,
        "stale"
    );
    assert!(count(json!({"accessed_at": null})).await >= 1, "never used");
    assert!(count(json!({"namespace_id": platform.id})).await >= 2);

    let all = store
        .list_accounts(&query(json!({}), ""))
        .await
        .unwrap()
        .items;
    let mut impersonated = 0;
    for a in &all {
        assert!(a.description.starts_with("demo:"));
        if store.get_user(&a.user_id).await.unwrap().is_some() {
            impersonated += 1;
        }
    }
    assert!(
        impersonated >= 2 && impersonated <= all.len() - 2,
        "{impersonated}"
    );
    // A few users from the directory, including non-ASCII names, found by the lookahead.
    assert!(store.query_users("müll", 0, 10).await.unwrap().total >= 1);
    assert!(store.query_users("sre", 0, 10).await.unwrap().total >= 5);
    let audit = store.list_audit(1000).await.unwrap();
    assert!(audit.iter().filter(|e| e.actor == "demo").count() >= 23);

    // Seeding again adds nothing new.
    let again = sacon::demo::seed_demo(&store, now).await.unwrap();
    assert_eq!((again.namespaces, again.accounts), (0, 0));
    assert_eq!(store.list_namespaces().await.unwrap().len(), 11);
    db.done().await;
}

#[tokio::test]
async fn lookahead_pages_agree_with_the_ranking_by_hand() {
    let Some(db) = open().await else { return };
    let store = db.store.clone();
    store.upsert_users(&directory(), &change(0)).await.unwrap();
    let many: Vec<DirectoryUser> = (0..3000)
        .map(|i| {
            let name = match i % 3 {
                0 => format!("Alina Person{i}"),
                1 => format!("Bert Kalin{i}"),
                _ => format!("Bert Other{i}"),
            };
            user(&format!("u{i}"), &name, "", &["staff"])
        })
        .collect();
    store.upsert_users(&many, &change(1)).await.unwrap();
    assert_eq!(
        ids_of(store.query_users("7f3a", 0, 50).await.unwrap()),
        ["u-7f3a"]
    );
    let late: Vec<DirectoryUser> = (0..300)
        .map(|i| user(&format!("z{i:03}"), &format!("Zyx Late{i:03}"), "", &[]))
        .collect();
    store.upsert_users(&late, &change(2)).await.unwrap();
    let page = store.query_users("zyx", 10, 5).await.unwrap();
    assert_eq!(page.total, 300);
    assert_eq!(ids_of(page), ["z010", "z011", "z012", "z013", "z014"]);
    let few = [
        user("q1", "Quinn Alpha", "", &[]),
        user("q2", "Bob Quist", "", &[]),
        user("q3", "Xavier Q", "quinn.x@example.com", &[]),
        user("q4", "Someone Else", "", &["aquila"]),
    ];
    store.upsert_users(&few, &change(3)).await.unwrap();
    let page = store.query_users("qui", 0, 10).await.unwrap();
    assert_eq!(page.total, 4);
    assert_eq!(ids_of(page), ["q2", "q1", "q3", "q4"]);
    assert_eq!(
        ids_of(store.query_users("QUI", 1, 2).await.unwrap()),
        ["q1", "q3"]
    );

    let mut all = directory();
    all.extend(many);
    all.extend(few);
    let rank = |u: &DirectoryUser| {
        let lower = |s: &str| s.to_lowercase();
        let prefix = lower(&u.id).starts_with("ali")
            || lower(&u.email).starts_with("ali")
            || lower(&u.name).split(' ').any(|w| w.starts_with("ali"))
            || u.groups.iter().any(|g| lower(g).starts_with("ali"));
        (!prefix, lower(&u.name), u.id.clone())
    };
    let mut want: Vec<&DirectoryUser> = all
        .iter()
        .filter(|u| {
            let doc = format!("{} {} {} {}", u.id, u.name, u.email, u.groups.join(" "));
            doc.to_lowercase().contains("ali")
        })
        .collect();
    want.sort_by_key(|u| rank(u));
    let want: Vec<&str> = want.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(want.len(), 2004);
    let mut got = Vec::new();
    for offset in (0..want.len() as u64 + 40).step_by(97) {
        let page = store.query_users("ALI", offset, 97).await.unwrap();
        assert_eq!(page.total, 2004);
        got.extend(ids_of(page));
    }
    assert!(
        got == want,
        "paged lookahead differs from the ranking by hand"
    );
    // Short queries are prefix matches only, paged the same way.
    let page = store.query_users("be", 1000, 3).await.unwrap();
    assert_eq!(page.total, 2000);
    assert_eq!(page.items.len(), 3);
    db.done().await;
}

#[tokio::test]
async fn groups_are_searched_and_found() {
    let Some(db) = open().await else { return };
    let store = db.store.clone();
    store.upsert_users(&directory(), &change(0)).await.unwrap();
    store
        .upsert_users(
            &[user("x", "X", "", &["Sales-EU", "ops", "Ärger"])],
            &change(1),
        )
        .await
        .unwrap();
    let page = store.query_groups("sal", 0, 10).await.unwrap();
    assert_eq!(page.items, ["Sales", "Sales-EU"]);
    assert_eq!(page.total, 2);
    // Prefix matches first ("ali-team"), then by name.
    let page = store.query_groups("e", 0, 10).await.unwrap();
    assert_eq!(page.items[0], "engineering");
    assert_eq!(page.total, 7, "{:?}", page.items);
    assert_eq!(store.query_groups("e", 6, 10).await.unwrap().items.len(), 1);
    assert_eq!(store.query_groups("%", 0, 10).await.unwrap().total, 0);
    assert_eq!(store.query_groups("", 0, 100).await.unwrap().total, 9);
    assert!(store.group_exists("sre").await.unwrap());
    assert!(store.group_exists("Ärger").await.unwrap());
    assert!(!store.group_exists("SRE").await.unwrap());
    assert!(!store.group_exists("nope").await.unwrap());
    db.done().await;
}

#[tokio::test]
async fn the_same_id_created_by_two_replicas_exists_once() {
    let Some(db) = open().await else { return };
    let other = db.replica().await;
    let root = root_id(&db.store).await;
    for round in 0..20 {
        let id = format!("race-{round}");
        let (a, b) = (db.store.clone(), other.clone());
        let (acc_a, acc_b) = (
            account(&id, &root, "u", None),
            account(&id, &root, "v", None),
        );
        let (ra, rb) = tokio::join!(
            async move { a.create_account(&acc_a, at(0), &change(0)).await },
            async move { b.create_account(&acc_b, at(0), &change(0)).await },
        );
        let oks = [&ra, &rb].iter().filter(|r| r.is_ok()).count();
        assert_eq!(oks, 1, "{ra:?} {rb:?}");
        for r in [ra, rb] {
            if let Err(e) = r {
                assert!(matches!(e, StoreError::AlreadyExists(_)), "{e:?}");
            }
        }
    }
    let creates = db
        .store
        .list_audit_for("service_account", "race-3", 10)
        .await
        .unwrap();
    assert_eq!(creates.len(), 1);
    other.close().await;
    db.done().await;
}

#[tokio::test]
async fn a_create_racing_a_delete_issues_after_the_deleted_token() {
    let Some(db) = open().await else { return };
    let other = db.replica().await;
    let root = root_id(&db.store).await;
    let newest = at(0) + Duration::milliseconds(1500);
    for round in 0..20 {
        let id = format!("again-{round}");
        db.store
            .create_account(&account(&id, &root, "u", None), at(0), &change(0))
            .await
            .unwrap();
        let rotate = Reissue {
            issued_at: newest,
            grace_from: None,
            grace_until: None,
        };
        db.store
            .update_account(&id, &AccountPatch::default(), Some(rotate), &change(0))
            .await
            .unwrap();
        let (a, b) = (db.store.clone(), other.clone());
        let (gone, again) =
            tokio::join!(async { a.delete_account(&id, &change(1)).await }, async {
                b.create_account(&account(&id, &root, "v", None), at(0), &change(1))
                    .await
            },);
        assert!(gone.unwrap(), "{round}");
        match again {
            Ok(rec) => assert!(rec.issued_at > newest, "{round}: {:?}", rec.issued_at),
            Err(e) => assert!(matches!(e, StoreError::AlreadyExists(_)), "{round}: {e:?}"),
        }
    }
    other.close().await;
    db.done().await;
}

#[tokio::test]
async fn many_concurrent_writers_on_two_replicas() {
    let Some(db) = open().await else { return };
    let other = db.replica().await;
    let root = root_id(&db.store).await;
    let mut tasks = Vec::new();
    for w in 0..16 {
        let store = if w % 2 == 0 {
            db.store.clone()
        } else {
            other.clone()
        };
        let root = root.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..40 {
                let a = account(&format!("w{w}-{i}"), &root, "bot", None);
                store.create_account(&a, at(0), &change(0)).await.unwrap();
                if i % 10 == 0 {
                    // Namespace writes take the access lock; they interleave with the creates.
                    store
                        .create_namespace(&root, &format!("ns-{w}-{i}"), "", &change(0))
                        .await
                        .unwrap();
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let page = db
        .store
        .list_accounts(&AccountQuery {
            limit: 1,
            ..AccountQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total, 640);
    let q = ActivityQuery {
        actor: Some("test".into()),
        ..Default::default()
    };
    // The counters (folded by now: more than 256 writes) agree with the rows.
    let counted = db.store.list_activity(&q).await.unwrap().total;
    let dated = ActivityQuery {
        date: Some((DateOp::OnOrAfter, DateTime::<Utc>::UNIX_EPOCH)),
        ..q
    };
    assert_eq!(counted, 640 + 64);
    assert_eq!(db.store.list_activity(&dated).await.unwrap().total, counted);
    assert_eq!(db.store.list_namespaces().await.unwrap().len(), 65);
    other.close().await;
    db.done().await;
}

#[tokio::test]
async fn tombstones_reserved_ids_disabled_and_nanoseconds() {
    let Some(db) = open().await else { return };
    let store = db.store.clone();
    let root = root_id(&store).await;
    // The bootstrap identity never names an account.
    for (id, user) in [
        ("014E587B-3F4B-4FCF-90A9-F6ECDF8154AF", "u"),
        (
            "ok",
            "bootstrap-014e587b-3f4b-4fcf-90a9-f6ecdf8154af.pomerium",
        ),
    ] {
        let err = store
            .create_account(&account(id, &root, user, None), at(0), &change(0))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::InvalidArgument(m) if m.contains("bootstrap")));
    }
    store
        .create_account(&account("sa", &root, "u", None), at(0), &change(0))
        .await
        .unwrap();
    let reserved = AccountPatch {
        user_id: Some("014e587b-3f4b-4fcf-90a9-f6ecdf8154af".into()),
        ..AccountPatch::default()
    };
    assert!(matches!(
        store
            .update_account("sa", &reserved, None, &change(1))
            .await,
        Err(StoreError::InvalidArgument(_))
    ));
    // The schema refuses it too, whoever writes.
    let raw = sqlx::PgPool::connect(&db.url).await.unwrap();
    let err =
        sqlx::query("UPDATE service_accounts SET user_id = '014e587b-3f4b-4fcf-90a9-f6ecdf8154af'")
            .execute(&raw)
            .await
            .unwrap_err();
    assert!(err.to_string().contains("reserved"), "{err}");
    // The audit log is append-only.
    for sql in [
        "UPDATE audit_log SET actor = 'x'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ] {
        let err = sqlx::query(sql).execute(&raw).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }

    // Disabled, and back.
    let disable = AccountPatch {
        disabled: Some(true),
        ..AccountPatch::default()
    };
    let rec = store
        .update_account("sa", &disable, None, &change(1))
        .await
        .unwrap();
    assert!(rec.account.disabled);
    let enable = AccountPatch {
        disabled: Some(false),
        ..AccountPatch::default()
    };
    store
        .update_account("sa", &enable, None, &change(2))
        .await
        .unwrap();
    let actions: Vec<String> = store
        .list_audit_for("service_account", "sa", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(actions, ["enable", "disable", "create"]);
    assert_eq!(ids(&store, json!({"disabled": false}), "").await, ["sa"]);

    // A rotation that lost a race is refused.
    let stale = Reissue {
        issued_at: at(0),
        grace_from: None,
        grace_until: None,
    };
    assert!(matches!(
        store
            .update_account("sa", &AccountPatch::default(), Some(stale), &change(3))
            .await,
        Err(StoreError::Unavailable(_))
    ));

    // Expiry keeps its nanoseconds.
    let exact = at(30) + Duration::nanoseconds(123_456_789);
    let rec = store
        .create_account(&account("ns", &root, "u", Some(exact)), at(0), &change(0))
        .await
        .unwrap();
    assert_eq!(rec.account.expires_at, Some(exact));
    let got = store.get_account("ns").await.unwrap().unwrap();
    assert_eq!(got.account.expires_at, Some(exact));

    // A re-created id issues after the deleted account's newest token: the whole second after it.
    let issued = at(0) + Duration::milliseconds(1500);
    let rotate = Reissue {
        issued_at: issued,
        grace_from: None,
        grace_until: None,
    };
    store
        .update_account("sa", &AccountPatch::default(), Some(rotate), &change(3))
        .await
        .unwrap();
    assert!(store.delete_account("sa", &change(3)).await.unwrap());
    let again = store
        .create_account(&account("sa", &root, "u", None), at(0), &change(4))
        .await
        .unwrap();
    assert_eq!(again.issued_at, at(0) + Duration::seconds(2));
    assert!(store.delete_account("sa", &change(4)).await.unwrap());
    // More than MAX_ISSUE_AHEAD later than asked: refused for now.
    let err = store
        .create_account(&account("sa", &root, "u", None), at(-1), &change(5))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    // The schema holds the tombstone against other writers.
    let err = sqlx::query(
        "INSERT INTO service_accounts (id, namespace_id, user_id, created_at, modified_at, issued_at) \
         VALUES ('sa', $1, 'u', 0, 0, 0)",
    )
    .bind(&root)
    .execute(&raw)
    .await
    .unwrap_err();
    assert!(err.to_string().contains("deleted"), "{err}");
    raw.close().await;
    db.done().await;
}

#[tokio::test]
async fn use_is_written_once_per_interval() {
    let Some(db) = open().await else { return };
    let store = db.store.clone();
    let root = root_id(&store).await;
    store
        .create_account(&account("sa", &root, "u", None), at(0), &change(0))
        .await
        .unwrap();
    let accessed = |store: PgStore| async move {
        store
            .get_account("sa")
            .await
            .unwrap()
            .unwrap()
            .account
            .accessed_at
    };
    let t = at(1);
    store.touch_accessed("sa", t).await.unwrap();
    assert_eq!(accessed(store.clone()).await, Some(t));
    // Within the interval (from any replica): not written again; never backwards.
    let other = db.replica().await;
    other
        .touch_accessed("sa", t + Duration::seconds(3))
        .await
        .unwrap();
    store
        .touch_accessed("sa", t - Duration::seconds(30))
        .await
        .unwrap();
    assert_eq!(accessed(store.clone()).await, Some(t));
    let later = t + sacon::server::verify::ACCESS_WRITE_INTERVAL + Duration::seconds(1);
    other.touch_accessed("sa", later).await.unwrap();
    assert_eq!(accessed(store.clone()).await, Some(later));
    other.close().await;
    db.done().await;
}

fn policy(id: &str, ns: &str, name: &str) -> Policy {
    Policy {
        id: id.into(),
        namespace_id: ns.into(),
        name: name.into(),
        description: String::new(),
        allowed_users: vec!["alice".into()],
        allowed_domains: vec![],
        ppl: String::new(),
        enforced: false,
        originator_id: "me".into(),
        created_at: t0(),
        modified_at: t0(),
    }
}

fn route(id: &str, ns: &str, policies: &[&str]) -> Route {
    Route {
        id: id.into(),
        namespace_id: ns.into(),
        name: format!("route {id}"),
        description: None,
        from: format!("https://{id}.example.com"),
        prefix: Some("/api".into()),
        policy_ids: policies.iter().map(|p| p.to_string()).collect(),
        originator_id: "me".into(),
        created_at: t0(),
        modified_at: t0(),
    }
}

#[tokio::test]
async fn routes_policies_and_the_access_version() {
    let Some(db) = open().await else { return };
    let store = db.store.clone();
    let root = root_id(&store).await;
    let v0 = store.access_version().await.unwrap();
    assert!(v0 >= 1, "the root's creation counts");
    // Account writes leave the access version alone.
    store
        .create_account(&account("sa", &root, "u", None), at(0), &change(0))
        .await
        .unwrap();
    assert_eq!(store.access_version().await.unwrap(), v0);
    let (rec, namespaces, version) = store
        .get_account_for_verify_versioned("sa", true)
        .await
        .unwrap();
    assert_eq!(rec.unwrap().account.user_id, "u");
    assert_eq!(namespaces.len(), 1);
    assert_eq!(namespaces[0].id, root);
    assert_eq!(version, v0);
    let (rec, namespaces, _) = store
        .get_account_for_verify_versioned("sa", false)
        .await
        .unwrap();
    assert!(rec.is_some() && namespaces.is_empty());
    assert_eq!(
        store
            .get_account_for_verify_versioned("nobody", true)
            .await
            .unwrap(),
        (None, Vec::new(), 0)
    );

    let p = store
        .put_policy(&policy("p1", &root, "Alice only"), &change(1))
        .await
        .unwrap();
    assert_eq!(p.created_at, at(1));
    let v1 = store.access_version().await.unwrap();
    assert!(v1 > v0);
    // Unchanged: nothing written, the version stays.
    assert_eq!(
        store
            .put_policy(&policy("p1", &root, "Alice only"), &change(2))
            .await
            .unwrap(),
        p
    );
    assert_eq!(store.access_version().await.unwrap(), v1);
    assert!(matches!(
        store
            .put_policy(&policy("p2", "nope", "x"), &change(2))
            .await,
        Err(StoreError::InvalidArgument(_))
    ));
    store
        .put_policy(&policy("p2", &root, "Second"), &change(2))
        .await
        .unwrap();
    assert!(matches!(
        store.put_route(&route("r1", &root, &["p1", "missing"]), &change(2)).await,
        Err(StoreError::InvalidArgument(m)) if m.contains("missing")
    ));
    let r = store
        .put_route(&route("r1", &root, &["p2", "p1"]), &change(3))
        .await
        .unwrap();
    assert_eq!(store.get_route("r1").await.unwrap().unwrap(), r);
    assert_eq!(r.policy_ids, ["p2", "p1"]);
    store
        .put_route(&route("r0", &root, &["p1"]), &change(3))
        .await
        .unwrap();
    assert_eq!(
        store.routes_of_policy("p1").await.unwrap(),
        [
            ("r0".to_string(), "route r0".to_string()),
            ("r1".to_string(), "route r1".to_string())
        ]
    );
    let mut renamed = route("r1", &root, &["p1"]);
    renamed.name = "renamed".into();
    let up = store.put_route(&renamed, &change(4)).await.unwrap();
    assert_eq!(up.created_at, at(3));
    assert_eq!(up.modified_at, at(4));
    assert_eq!(up.policy_ids, ["p1"]);
    let detail = &store.list_audit_for("route", "r1", 1).await.unwrap()[0].detail;
    assert!(
        detail.contains("renamed") && detail.contains("policyIds"),
        "{detail}"
    );

    // A namespace with routes or policies stays.
    assert!(matches!(
        store.delete_namespace(&root, &change(5)).await,
        Err(StoreError::FailedPrecondition(_))
    ));
    let team = store
        .create_namespace(&root, "Team", "", &change(5))
        .await
        .unwrap();
    store
        .put_policy(&policy("p3", &team.id, "Team"), &change(5))
        .await
        .unwrap();
    assert!(matches!(
        store.delete_namespace(&team.id, &change(5)).await,
        Err(StoreError::FailedPrecondition(m)) if m.contains("policy")
    ));
    assert_eq!(
        store
            .get_namespace(&team.id)
            .await
            .unwrap()
            .unwrap()
            .policy_count,
        1
    );

    assert!(matches!(
        store.delete_policy("p1", false, &change(6)).await,
        Err(StoreError::FailedPrecondition(m)) if m.contains("2 route")
    ));
    let before = store.access_version().await.unwrap();
    let gone = store.delete_policy("p1", true, &change(6)).await.unwrap();
    assert_eq!(gone.unwrap().id, "p1");
    assert!(store.access_version().await.unwrap() > before);
    assert!(
        store
            .get_route("r0")
            .await
            .unwrap()
            .unwrap()
            .policy_ids
            .is_empty()
    );
    assert_eq!(
        store.delete_policy("p1", false, &change(6)).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .delete_route("r0", &change(7))
            .await
            .unwrap()
            .unwrap()
            .id,
        "r0"
    );
    assert_eq!(store.delete_route("r0", &change(7)).await.unwrap(), None);

    let snapshot = store.access_snapshot().await.unwrap();
    assert_eq!(snapshot.version, store.access_version().await.unwrap());
    assert_eq!(snapshot.routes, store.list_routes().await.unwrap());
    assert_eq!(snapshot.policies, store.list_policies().await.unwrap());
    assert_eq!(snapshot.namespaces, store.list_namespaces().await.unwrap());
    let policy_ids: Vec<String> = snapshot.policies.iter().map(|p| p.id.clone()).collect();
    assert_eq!(policy_ids, ["p2", "p3"]);
    // Another replica's write moves the version this one reads.
    let other = db.replica().await;
    other
        .create_namespace(&root, "Elsewhere", "", &change(8))
        .await
        .unwrap();
    assert!(store.access_version().await.unwrap() > snapshot.version);
    other.close().await;
    db.done().await;
}

#[tokio::test]
async fn permissions_are_granted_rerolled_and_revoked() {
    let Some(db) = open().await else { return };
    let store = db.store.clone();
    let root = root_id(&store).await;
    let team = store
        .create_namespace(&root, "Team", "", &change(0))
        .await
        .unwrap();
    let grant = |role: Role, id: Option<String>| PermissionGrant {
        id,
        namespace_id: team.id.clone(),
        subject_type: SubjectType::User,
        subject_id: "alice".into(),
        role,
        originator_id: "me".into(),
    };
    // Two grants to one subject at once, from two replicas: one binding.
    let other = db.replica().await;
    let (g, c) = (grant(Role::Viewer, None), change(1));
    let (a, b) = tokio::join!(store.set_permission(&g, &c), other.set_permission(&g, &c));
    let p = a.unwrap();
    assert_eq!(b.unwrap().id, p.id);
    assert_eq!(
        store.list_permissions().await.unwrap(),
        std::slice::from_ref(&p)
    );
    assert_eq!(store.get_permission(&p.id).await.unwrap().unwrap(), p);
    let up = store
        .set_permission(&grant(Role::Admin, Some(p.id.clone())), &change(2))
        .await
        .unwrap();
    assert_eq!(
        (up.role, up.modified_at, up.created_at),
        (Role::Admin, at(2), at(1))
    );
    let audit = store
        .list_audit_for("namespace_permission", &p.id, 10)
        .await
        .unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["update", "create"]);
    assert!(audit[0].detail.contains("\"before\":{\"role\":\"viewer\"}"));
    assert!(matches!(
        store
            .set_permission(&grant(Role::Admin, Some("nope".into())), &change(2))
            .await,
        Err(StoreError::NotFound(_))
    ));
    let mut elsewhere = grant(Role::Admin, None);
    elsewhere.namespace_id = "nope".into();
    assert!(matches!(
        store.set_permission(&elsewhere, &change(2)).await,
        Err(StoreError::InvalidArgument(_))
    ));
    assert!(matches!(
        store.delete_namespace(&team.id, &change(3)).await,
        Err(StoreError::FailedPrecondition(m)) if m.contains("permission")
    ));
    assert_eq!(
        store
            .delete_permission(&p.id, &change(3))
            .await
            .unwrap()
            .unwrap()
            .id,
        p.id
    );
    assert_eq!(
        store.delete_permission(&p.id, &change(3)).await.unwrap(),
        None
    );
    store.delete_namespace(&team.id, &change(4)).await.unwrap();
    other.close().await;
    db.done().await;
}

/// Namespaces `a`, `a/b`, `a/b/c`, `a/d`, `e` under the root and 150 account creations over them by three actors,
/// plus a namespace created and deleted again, as the SQLite activity test seeds them.
async fn activity_seed(
    store: &PgStore,
) -> (HashMap<&'static str, String>, HashMap<String, String>) {
    let t = Utc::now() - Duration::days(1);
    let root = root_id(store).await;
    let by = |actor: &str| Change::by(actor, t);
    let mut ids: HashMap<&'static str, String> = HashMap::new();
    for (name, parent) in [("a", ""), ("b", "a"), ("c", "b"), ("d", "a"), ("e", "")] {
        let parent_id = if parent.is_empty() {
            root.clone()
        } else {
            ids[parent].clone()
        };
        let ns = store
            .create_namespace(&parent_id, name, "", &by("alice"))
            .await
            .unwrap();
        ids.insert(name, ns.id);
    }
    let gone = store
        .create_namespace(&ids["e"], "gone", "", &by("bob"))
        .await
        .unwrap();
    store.delete_namespace(&gone.id, &by("bob")).await.unwrap();
    ids.insert("gone", gone.id);
    let homes = ["c", "c", "c", "e", "e", "a", "b", "d"];
    let actors = ["alice", "bob", "ci", "ci"];
    for i in 0..150usize {
        let at = t + Duration::seconds(i as i64);
        let mut a = account(
            &format!("acc-{i}"),
            &ids[homes[i % homes.len()]],
            &format!("bot-{i}"),
            None,
        );
        a.description = String::new();
        store
            .create_account(&a, at, &Change::by(actors[i % actors.len()], at))
            .await
            .unwrap();
    }
    let parents = store
        .list_namespaces()
        .await
        .unwrap()
        .into_iter()
        .map(|n| (n.id, n.parent_id))
        .collect();
    (ids, parents)
}

fn seqs(entries: &[AuditEntry]) -> Vec<i64> {
    entries.iter().map(|e| e.seq).collect()
}

fn subtree(id: &str, parents: &HashMap<String, String>) -> HashSet<String> {
    let mut set: HashSet<String> = [id.to_string()].into();
    loop {
        let more: Vec<String> = parents
            .iter()
            .filter(|(child, parent)| set.contains(*parent) && !set.contains(*child))
            .map(|(child, _)| child.clone())
            .collect();
        if more.is_empty() {
            return set;
        }
        set.extend(more);
    }
}

#[tokio::test]
async fn activity_pages_and_totals_agree_with_filtering_the_whole_log() {
    let Some(db) = open().await else { return };
    let store = db.store.clone();
    let (ids, parents) = activity_seed(&store).await;
    let everything = store
        .list_activity(&ActivityQuery::default())
        .await
        .unwrap();
    assert_eq!(everything.total, everything.items.len() as u64);
    assert!(everything.total > 150, "{}", everything.total);
    for name in ["a", "b", "c", "d", "e", "gone"] {
        for recursive in [false, true] {
            for actor in [None, Some("ci"), Some("bob"), Some("nobody")] {
                let members = if recursive {
                    subtree(&ids[name], &parents)
                } else {
                    [ids[name].clone()].into()
                };
                let want: Vec<i64> = everything
                    .items
                    .iter()
                    .filter(|e| members.contains(&e.namespace_id))
                    .filter(|e| actor.is_none_or(|a| e.actor == a))
                    .map(|e| e.seq)
                    .collect();
                let q = ActivityQuery {
                    namespace_id: Some(ids[name].clone()),
                    recursive,
                    actor: actor.map(String::from),
                    ..Default::default()
                };
                let label = format!("{name} recursive={recursive} actor={actor:?}");
                let all = store.list_activity(&q).await.unwrap();
                assert_eq!(seqs(&all.items), want, "{label}");
                assert_eq!(all.total, want.len() as u64, "{label}: the counted total");
                let dated = ActivityQuery {
                    date: Some((DateOp::OnOrAfter, DateTime::<Utc>::UNIX_EPOCH)),
                    ..q.clone()
                };
                assert_eq!(
                    store.list_activity(&dated).await.unwrap().total,
                    all.total,
                    "{label}"
                );
                let page = ActivityQuery {
                    offset: 7,
                    limit: Some(5),
                    ..q.clone()
                };
                let page = store.list_activity(&page).await.unwrap();
                let slice: Vec<i64> = want.iter().skip(7).take(5).copied().collect();
                assert_eq!(seqs(&page.items), slice, "{label}: offset 7, limit 5");
                assert_eq!(page.total, all.total, "{label}");
            }
        }
    }
    for actor in ["alice", "bob", "ci", "system", "nobody"] {
        let q = ActivityQuery {
            actor: Some(actor.into()),
            ..Default::default()
        };
        let n = everything.items.iter().filter(|e| e.actor == actor).count() as u64;
        assert_eq!(store.list_activity(&q).await.unwrap().total, n, "{actor}");
    }
    // The other filters, each against the whole log filtered here.
    let c = &ids["c"];
    let e0 = &everything.items[10];
    type Keep<'a> = Box<dyn Fn(&AuditEntry) -> bool + 'a>;
    let cases: Vec<(ActivityQuery, Keep)> = vec![
        (
            ActivityQuery {
                within: Some(vec![c.clone()]),
                ..Default::default()
            },
            Box::new(|e| e.namespace_id == *c),
        ),
        (
            ActivityQuery {
                within: Some(vec![]),
                ..Default::default()
            },
            Box::new(|_| false),
        ),
        (
            ActivityQuery {
                action: Some("delete".into()),
                ..Default::default()
            },
            Box::new(|e| e.action == "delete"),
        ),
        (
            ActivityQuery {
                target_kind: Some("namespace".into()),
                ..Default::default()
            },
            Box::new(|e| e.target_kind == "namespace"),
        ),
        (
            ActivityQuery {
                target_id: Some("acc-7".into()),
                ..Default::default()
            },
            Box::new(|e| e.target_id == "acc-7"),
        ),
        (
            ActivityQuery {
                entities: vec![
                    ("service_account".into(), "acc-1".into()),
                    ("namespace".into(), String::new()),
                ],
                ..Default::default()
            },
            Box::new(|e| {
                (e.target_kind == "service_account" && e.target_id == "acc-1")
                    || e.target_kind == "namespace"
            }),
        ),
        (
            ActivityQuery {
                date: Some((DateOp::Before, e0.at)),
                ..Default::default()
            },
            Box::new(|e| e.at < e0.at),
        ),
        (
            ActivityQuery {
                date: Some((DateOp::Eq, e0.at)),
                ..Default::default()
            },
            Box::new(|e| e.at == e0.at),
        ),
        (
            ActivityQuery {
                date: Some((DateOp::Ne, e0.at)),
                ..Default::default()
            },
            Box::new(|e| e.at != e0.at),
        ),
        (
            ActivityQuery {
                namespace_id: Some(ids["a"].clone()),
                recursive: true,
                action: Some("create".into()),
                ..Default::default()
            },
            Box::new(|e| {
                subtree(&ids["a"], &parents).contains(&e.namespace_id) && e.action == "create"
            }),
        ),
    ];
    for (q, keep) in cases {
        let want: Vec<i64> = everything
            .items
            .iter()
            .filter(|e| keep(e))
            .map(|e| e.seq)
            .collect();
        let got = store.list_activity(&q).await.unwrap();
        assert_eq!(seqs(&got.items), want, "{q:?}");
        assert_eq!(got.total, want.len() as u64, "{q:?}");
    }
    assert!(
        store
            .list_activity(&ActivityQuery {
                limit: Some(0),
                ..Default::default()
            })
            .await
            .unwrap()
            .items
            .is_empty()
    );

    // Neighbours in write order, and the kinds.
    let mid = &everything.items[5];
    let n = store.get_activity(mid.seq).await.unwrap().unwrap();
    assert_eq!(&n.entry, mid);
    assert_eq!(n.next, Some(everything.items[4].seq));
    assert_eq!(n.previous, Some(everything.items[6].seq));
    let first = everything.items.last().unwrap();
    assert_eq!(
        store
            .get_activity(first.seq)
            .await
            .unwrap()
            .unwrap()
            .previous,
        None
    );
    assert_eq!(
        store
            .get_activity(everything.items[0].seq)
            .await
            .unwrap()
            .unwrap()
            .next,
        None
    );
    assert_eq!(store.get_activity(-1).await.unwrap(), None);
    assert_eq!(
        store.list_activity_kinds().await.unwrap(),
        ["namespace", "service_account"]
    );
    db.done().await;
}

/// Which users a query matches, worked out here: substrings of the fields for three characters or more, prefixes
/// of the id, e-mail, name, a word of the name or a group for fewer.
fn matches_by_hand(users: &[DirectoryUser], q: &str) -> u64 {
    let q = q.trim().to_lowercase();
    users
        .iter()
        .filter(|u| {
            let lower = |s: &str| s.to_lowercase();
            if q.chars().count() >= 3 {
                let doc = format!("{}\n{}\n{}\n{}", u.id, u.name, u.email, u.groups.join("\n"));
                lower(&doc).contains(&q)
            } else {
                let name = lower(&u.name);
                let mut terms = vec![lower(&u.id), lower(&u.email), name.clone()];
                terms.extend(name.split(|c: char| !c.is_alphanumeric()).map(String::from));
                terms.extend(u.groups.iter().map(|g| lower(g)));
                terms.iter().any(|t| !t.is_empty() && t.starts_with(&q))
            }
        })
        .count() as u64
}

#[tokio::test]
async fn short_query_totals_follow_every_import() {
    let Some(db) = open().await else { return };
    let store = db.store.clone();
    let mut users: HashMap<String, DirectoryUser> = HashMap::new();
    let mut import = |batch: Vec<DirectoryUser>| {
        for u in &batch {
            users.insert(u.id.clone(), u.clone());
        }
        batch
    };
    store
        .upsert_users(&import(directory()), &change(0))
        .await
        .unwrap();
    let many: Vec<DirectoryUser> = (0..500)
        .map(|i| {
            user(
                &format!("u{i}"),
                &format!("Bert Kälin{i}"),
                &format!("b{i}@ex.org"),
                &["staff", "Ops"],
            )
        })
        .collect();
    store.upsert_users(&import(many), &change(1)).await.unwrap();
    // Renames, a user named twice in one batch, new users.
    let changed: Vec<DirectoryUser> = (0..200)
        .map(|i| user(&format!("u{i}"), &format!("Alma Berg{i}"), "", &["Ops"]))
        .chain([
            user("bob", "Robert Stone", "rs@example.com", &[]),
            user("bob", "Bobby Stone", "bob@example.com", &["ali"]),
            user("n1", "Zoë Kälin", "", &[]),
        ])
        .collect();
    store
        .upsert_users(&import(changed), &change(2))
        .await
        .unwrap();
    let all: Vec<DirectoryUser> = users.into_values().collect();
    for q in [
        "a", "al", "ali", "alm", "b", "be", "ber", "bert", "bo", "bob", "k", "kä", "käl", "zoë",
        "ö", "ops", "op", "st", "sta", "ex.", "@ex", "n k", "1", "19", "199", "x", "rob", "u1",
        "u12", "%", "_", "\\", "ali-", "berg1",
    ] {
        let page = store.query_users(q, 0, 10).await.unwrap();
        assert_eq!(page.total, matches_by_hand(&all, q), "{q:?}");
        assert_eq!(page.items.len() as u64, page.total.min(10), "{q:?}");
    }
    db.done().await;
}
