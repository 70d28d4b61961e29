//! The store against a real database (a SQLite file in a temporary directory; a fresh PostgreSQL database in that
//! pass of the suite): CRUD of every entity, the filter grammar and ordering pushed to SQL, paging totals, atomic
//! imports, namespace rules, the audit log and the demo seed; and SQLite's query plans and connection pragmas.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;
use tempfile::TempDir;

use sacon::model::{DirectoryUser, ServiceAccount};
use sacon::store::filter::{parse_filter, parse_order_by};
use sacon::store::{
    AccountPatch, AccountQuery, AnyStore, Change, PgStore, Reissue, SqliteStore, Store, StoreError,
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

/// The store this run tests.
async fn open() -> (TempDir, AnyStore) {
    if crate::support::pg::enabled() {
        let url = crate::support::pg::fresh_database_url().await;
        let store = PgStore::open(&url).await.unwrap();
        return (tempfile::tempdir().unwrap(), store.into());
    }
    let (dir, store) = open_sqlite().await;
    (dir, store.into())
}

/// SQLite, whichever store this run tests: for its query plans and pragmas.
async fn open_sqlite() -> (TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("sacon.db"))
        .await
        .unwrap();
    (dir, store)
}

async fn root_id(store: &impl Store) -> String {
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

async fn ids(store: &impl Store, filter: serde_json::Value, order: &str) -> Vec<String> {
    let page = store.list_accounts(&query(filter, order)).await.unwrap();
    page.items.into_iter().map(|a| a.id).collect()
}

#[tokio::test]
async fn open_creates_root_and_sets_pragmas() {
    let (dir, store) = open_sqlite().await;
    let all = store.list_namespaces().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].name, "Global");
    assert_eq!(all[0].parent_id, "");
    let audit = store.list_audit(10).await.unwrap();
    assert_eq!(audit[0].actor, "system");
    assert_eq!(audit[0].target_kind, "namespace");

    let [writer, reader] = store.connection_settings().await.unwrap();
    // The writer's COMMIT leaves the fsync to the store, which answers a write only after syncing the WAL.
    assert_eq!(writer.synchronous, 1, "synchronous=NORMAL on the writer");
    assert_eq!(reader.synchronous, 2, "synchronous=FULL elsewhere");
    // Page caches are bounded, in KiB: the writer's larger (it walks every index of each write).
    for (s, max_kib) in [(writer, 32 * 1024), (reader, 16 * 1024)] {
        assert_eq!(s.journal_mode, "wal");
        assert!(s.foreign_keys);
        assert!(s.busy_timeout_ms >= 1000);
        assert!(
            s.cache_size < 0 && s.cache_size >= -max_kib,
            "{}",
            s.cache_size
        );
        // SQLite's memory for the whole process is bounded, not per connection.
        assert_eq!(s.soft_heap_limit, sacon::store::sqlite::HEAP_BUDGET);
    }
    let [writer, reader] = store.connection_settings().await.unwrap();
    assert!(!writer.query_only);
    assert!(reader.query_only);

    // Reopening keeps the one root.
    store.close().await;
    let again = SqliteStore::open(&dir.path().join("sacon.db"))
        .await
        .unwrap();
    assert_eq!(again.list_namespaces().await.unwrap().len(), 1);
}

#[tokio::test]
async fn namespace_crud_and_rules() {
    let (_dir, store) = open().await;
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
}

#[tokio::test]
async fn account_crud_rotation_and_audit() {
    let (_dir, store) = open().await;
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
}

#[tokio::test]
async fn accounts_are_read_together() {
    let (_dir, store) = open().await;
    let root = root_id(&store).await;
    let other = store
        .create_namespace(&root, "Other", "", &change(0))
        .await
        .unwrap();
    let a = store
        .create_account(
            &account("sa-1", &root, "alice", Some(at(30))),
            at(0),
            &change(0),
        )
        .await
        .unwrap();
    let b = store
        .create_account(&account("sa-2", &other.id, "bob", None), at(0), &change(0))
        .await
        .unwrap();
    // The ones that exist, each as read alone.
    let mut many = store
        .get_accounts(&["sa-2".into(), "nope".into(), "sa-1".into()])
        .await
        .unwrap();
    many.sort_by(|x, y| x.account.id.cmp(&y.account.id));
    assert_eq!(many, vec![a, b]);
    assert!(store.get_accounts(&[]).await.unwrap().is_empty());

    let (ann, bo) = (
        user("ann", "Ann", "ann@x.example", &["ops"]),
        user("bo", "Bo", "bo@x.example", &[]),
    );
    store
        .upsert_users(&[ann.clone(), bo.clone()], &change(1))
        .await
        .unwrap();
    let mut users = store
        .get_users(&["bo".into(), "nobody".into(), "ann".into()])
        .await
        .unwrap();
    users.sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(users, vec![ann.clone(), bo]);
    assert_eq!(users[0], store.get_user("ann").await.unwrap().unwrap());
    assert!(store.get_users(&[]).await.unwrap().is_empty());
}

#[tokio::test]
async fn failed_write_leaves_no_audit_row() {
    let (_dir, store) = open().await;
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
}

/// Six accounts in two namespaces with varied times, for filter and order tests.
async fn fixture(store: &impl Store) -> (String, String) {
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
    let (_dir, store) = open().await;
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
}

#[tokio::test]
async fn filter_rejections() {
    for (bad, needle) in [
        (json!({"user_id": {"$foo": "x"}}), "\"$foo\""),
        (json!({"user": "x"}), "\"user\""),
        (json!({"$nor": []}), "\"$nor\""),
        (json!({"user_id": {"$before": "2027-01-01"}}), "\"$before\""),
        (
            json!({"expires_at": {"$startsWith": "2027"}}),
            "\"$startsWith\"",
        ),
        (json!({"expires_at": "soon"}), "\"soon\""),
        (json!({"user_id": 7}), "\"user_id\""),
        (json!({"$and": {"user_id": "x"}}), "\"$and\""),
    ] {
        let err = parse_filter(&bad).unwrap_err();
        assert!(err.contains(needle), "{bad}: {err}");
    }
    for bad in ["nope", "id desc", "-", "id,id"] {
        assert!(parse_order_by(bad).is_err(), "{bad}");
    }
}

#[tokio::test]
async fn ordering_and_null_placement() {
    let (_dir, store) = open().await;
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
}

#[tokio::test]
async fn paging_with_totals() {
    let (_dir, store) = open().await;
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
}

fn plan_text(plan: &[String]) -> String {
    plan.join("\n")
}

#[tokio::test]
async fn namespace_page_plans_use_an_index_without_sorting() {
    let (_dir, store) = open_sqlite().await;
    let root = root_id(&store).await;
    for order in [
        "expires_at",
        "-expires_at",
        "user_id",
        "-user_id",
        "created_at",
        "",
        "-created_at",
        "accessed_at",
        "-accessed_at",
    ] {
        let q = query(json!({"namespace_id": root}), order);
        let plan = plan_text(&store.explain_list_accounts(&q).await.unwrap());
        assert!(plan.contains("USING INDEX accounts_ns_"), "{order}: {plan}");
        assert!(plan.contains("namespace_id=?"), "{order}: {plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{order}: {plan}");
        assert!(!plan.contains("SCAN service_accounts"), "{order}: {plan}");
        let count = plan_text(&store.explain_count_accounts(&q).await.unwrap());
        assert!(
            count.contains("SEARCH service_accounts USING COVERING INDEX"),
            "{count}"
        );
    }
    // With another condition on top, the namespace index still bounds the search.
    let q = query(
        json!({"namespace_id": root, "expires_at": {"$before": "2027-01-01"}}),
        "-expires_at",
    );
    let plan = plan_text(&store.explain_list_accounts(&q).await.unwrap());
    assert!(
        !plan.contains("SCAN service_accounts") && !plan.contains("TEMP B-TREE"),
        "{plan}"
    );
}

/// Plan lines of `query_users`, checked to read only through the search indexes: the trigram index, the
/// prefix-term range, a range of the name-order index, rowid lookups, the sorted keys of one page (subqueries
/// limited to the page), and walks of the name-order index (bounded by a window the store sizes from the match
/// counts). Returns the plan for further checks.
async fn user_plan(store: &SqliteStore, q: &str) -> String {
    let plan = store.explain_query_users(q).await.unwrap();
    for line in &plan {
        let (label, step) = line.split_once(": ").unwrap();
        if step.starts_with("SCAN ") {
            assert!(
                step.starts_with("SCAN users_fts VIRTUAL TABLE INDEX")
                    || step == "SCAN CONSTANT ROW"
                    // The page's sorted keys, already limited to the page.
                    || (label.ends_with("(sort)")
                        && (step == "SCAN p" || step.starts_with("SCAN (subquery-")))
                    || (label.ends_with("(walk)")
                        && (step == "SCAN users USING COVERING INDEX users_by_sort_key"
                            || step == "SCAN w")),
                "{q}: {line}\n{}",
                plan_text(&plan)
            );
        }
    }
    plan_text(&plan)
}

fn ids_of(page: sacon::store::Page<DirectoryUser>) -> Vec<String> {
    page.items.into_iter().map(|u| u.id).collect()
}

#[tokio::test]
async fn user_query_plans_use_the_search_indexes() {
    let (_dir, store) = open_sqlite().await;
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

    // Few matches: fetched through the prefix-term range and the trigram index, then sorted.
    for q in ["7f3a", "malice", "ma"] {
        let plan = user_plan(&store, q).await;
        assert!(plan.contains("matches (sort)"), "{q}: {plan}");
        assert!(!plan.contains("(walk)"), "{q}: {plan}");
        assert!(
            plan.contains("USING PRIMARY KEY (term>? AND term<?)"),
            "{q}: {plan}"
        );
        assert!(
            plan.contains("SEARCH u USING INTEGER PRIMARY KEY"),
            "{q}: {plan}"
        );
        if q.len() >= 3 {
            assert!(
                plan.contains("total: SCAN users_fts VIRTUAL TABLE INDEX"),
                "{q}: {plan}"
            );
        }
    }
    assert_eq!(
        ids_of(store.query_users("7f3a", 0, 50).await.unwrap()),
        ["u-7f3a"]
    );

    // Many matches: walk the name order and stop when the page is full.
    let plan = user_plan(&store, "ali").await;
    assert!(plan.contains("prefix matches (walk)"), "{plan}");
    assert!(!plan.contains("(sort)"), "{plan}");

    // Matches clustered at the end of the name order: the walk's window falls short, so they are sorted.
    let late: Vec<DirectoryUser> = (0..300)
        .map(|i| user(&format!("z{i:03}"), &format!("Zyx Late{i:03}"), "", &[]))
        .collect();
    store.upsert_users(&late, &change(2)).await.unwrap();
    let plan = user_plan(&store, "zyx").await;
    assert!(
        plan.contains("prefix matches (walk)") && plan.contains("prefix matches (sort)"),
        "{plan}"
    );
    let page = store.query_users("zyx", 10, 5).await.unwrap();
    assert_eq!(page.total, 300);
    assert_eq!(ids_of(page), ["z010", "z011", "z012", "z013", "z014"]);

    // Few prefix matches from both sources, merged by name: a name that starts with the query, a later word of
    // a name, an e-mail.
    let few = [
        user("q1", "Quinn Alpha", "", &[]),
        user("q2", "Bob Quist", "", &[]),
        user("q3", "Xavier Q", "quinn.x@example.com", &[]),
        user("q4", "Someone Else", "", &["aquila"]),
    ];
    store.upsert_users(&few, &change(3)).await.unwrap();
    let plan = user_plan(&store, "qui").await;
    assert!(
        plan.contains("prefix matches (sort)") && !plan.contains("(walk)"),
        "{plan}"
    );
    let page = store.query_users("qui", 0, 10).await.unwrap();
    assert_eq!(page.total, 4);
    assert_eq!(ids_of(page), ["q2", "q1", "q3", "q4"]);
    assert_eq!(
        ids_of(store.query_users("QUI", 1, 2).await.unwrap()),
        ["q1", "q3"]
    );

    // Pages across the boundary between prefix and substring matches agree with the ranking done by hand.
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

    // Everyone (the empty query) is the name-order index read from the start; counting them reads it all.
    let plan = plan_text(&store.explain_query_users("").await.unwrap());
    assert!(
        plan.contains("everyone: SCAN u USING INDEX users_by_sort_key")
            && !plan.contains("TEMP B-TREE"),
        "{plan}"
    );
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

async fn search(store: &impl Store, q: &str) -> (Vec<String>, u64) {
    let page = store.query_users(q, 0, 50).await.unwrap();
    (page.items.into_iter().map(|u| u.id).collect(), page.total)
}

#[tokio::test]
async fn users_upsert_and_ranked_query() {
    let (_dir, store) = open().await;
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
}

#[tokio::test]
async fn upsert_is_all_or_nothing() {
    let (_dir, store) = open().await;
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
}

#[tokio::test]
async fn concurrent_creates_all_land() {
    let (_dir, store) = open().await;
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
}

#[tokio::test]
async fn demo_seed_shows_every_marker() {
    let (_dir, store) = open().await;
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
}
