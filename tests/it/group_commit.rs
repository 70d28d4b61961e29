//! The SQLite store's group commit: concurrent writes share transactions and every one still lands with its audit
//! row; a failing write in a batch fails alone; an acknowledged write is on disk for any other store (process) on
//! the file; the directory import is serialised with batched writes; and the last-used time is written at most
//! once per interval however many stores share the file.

use chrono::{DateTime, Duration, TimeZone, Utc};
use tempfile::TempDir;

use sacon::model::{DirectoryUser, ServiceAccount};
use sacon::store::sqlite::WriterStats;
use sacon::store::{ACCESS_WRITE_INTERVAL, AccountPatch, Change, SqliteStore, Store, StoreError};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
}

fn change() -> Change {
    Change::by("test", t0())
}

async fn open() -> (TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("sacon.db"))
        .await
        .unwrap();
    (dir, store)
}

async fn root_id(store: &SqliteStore) -> String {
    let all = store.list_namespaces().await.unwrap();
    all.into_iter().find(|n| n.parent_id.is_empty()).unwrap().id
}

fn account(id: &str, ns: &str) -> ServiceAccount {
    ServiceAccount {
        id: id.into(),
        namespace_id: ns.into(),
        originator_id: String::new(),
        description: format!("account {id}"),
        user_id: format!("user-{id}"),
        expires_at: None,
        created_at: t0(),
        modified_at: t0(),
        accessed_at: None,
        disabled: false,
    }
}

fn since(before: WriterStats, after: WriterStats) -> WriterStats {
    WriterStats {
        commits: after.commits - before.commits,
        writes: after.writes - before.writes,
    }
}

/// Spawns one create per id, all before any of them runs, and waits for every answer (in id order).
async fn create_all(
    store: &SqliteStore,
    ns: &str,
    ids: &[String],
) -> Vec<Result<sacon::store::AccountRecord, StoreError>> {
    let tasks: Vec<_> = ids
        .iter()
        .map(|id| {
            let (store, a) = (store.clone(), account(id, ns));
            tokio::spawn(async move { store.create_account(&a, t0(), &change()).await })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_concurrent_creates_all_land_each_audited() {
    let (_dir, store) = open().await;
    let root = root_id(&store).await;
    let before = store.writer_stats();
    let ids: Vec<String> = (0..200).map(|i| format!("sa-{i:03}")).collect();
    for r in create_all(&store, &root, &ids).await {
        r.unwrap();
    }
    let stats = since(before, store.writer_stats());
    assert_eq!(stats.writes, 200);
    assert!(
        stats.commits < 200,
        "200 concurrent creates should share transactions: {stats:?}"
    );
    let listed = store
        .list_accounts(&sacon::store::AccountQuery {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.total, 200);
    let audit = store.list_audit(1000).await.unwrap();
    for id in &ids {
        let rows: Vec<_> = audit
            .iter()
            .filter(|e| e.target_kind == "service_account" && &e.target_id == id)
            .collect();
        assert_eq!(rows.len(), 1, "{id} has one audit row");
        assert_eq!(rows[0].action, "create");
    }
}

/// On a current-thread runtime every spawned create queues before the writer's task first runs, so they form one
/// batch; the duplicate in it is refused alone.
#[tokio::test]
async fn a_failing_write_in_a_batch_fails_alone() {
    let (_dir, store) = open().await;
    let root = root_id(&store).await;
    store
        .create_account(&account("taken", &root), t0(), &change())
        .await
        .unwrap();
    let audit_before = store.list_audit(1000).await.unwrap().len();
    let before = store.writer_stats();
    let ids: Vec<String> = ["a", "b", "taken", "c", "d"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let results = create_all(&store, &root, &ids).await;
    assert_eq!(
        since(before, store.writer_stats()),
        WriterStats {
            commits: 1,
            writes: 5
        },
        "the five writes shared one transaction"
    );
    for (id, r) in ids.iter().zip(&results) {
        match id.as_str() {
            "taken" => assert!(
                matches!(r, Err(StoreError::AlreadyExists(_))),
                "{id}: {r:?}"
            ),
            _ => assert_eq!(r.as_ref().unwrap().account.id, *id),
        }
    }
    for id in ["a", "b", "c", "d"] {
        assert!(store.get_account(id).await.unwrap().is_some(), "{id}");
    }
    // One audit row per successful create, none for the refused one.
    assert_eq!(
        store.list_audit(1000).await.unwrap().len(),
        audit_before + 4
    );
    let taken = store.get_account("taken").await.unwrap().unwrap();
    assert_eq!(taken.account.description, "account taken");
}

/// Writes of every kind in one batch, each rolled back alone when it fails: an update of an unknown account, a
/// namespace that cannot be deleted, next to ones that succeed.
#[tokio::test]
async fn failures_of_different_writes_in_one_batch_stay_their_own() {
    let (_dir, store) = open().await;
    let root = root_id(&store).await;
    store
        .create_account(&account("keep", &root), t0(), &change())
        .await
        .unwrap();
    let before = store.writer_stats();
    let patch = AccountPatch {
        description: Some("changed".into()),
        ..AccountPatch::default()
    };
    let (s1, s2, s3, s4) = (store.clone(), store.clone(), store.clone(), store.clone());
    let (p1, p2) = (patch.clone(), patch.clone());
    let root2 = root.clone();
    let tasks = (
        tokio::spawn(async move { s1.update_account("keep", &p1, None, &change()).await }),
        tokio::spawn(async move { s2.update_account("missing", &p2, None, &change()).await }),
        tokio::spawn(async move { s3.delete_namespace(&root2, &change()).await }),
        tokio::spawn(async move { s4.create_namespace(&root, "Team", "", &change()).await }),
    );
    let (updated, missing, root_delete, team) = (
        tasks.0.await.unwrap(),
        tasks.1.await.unwrap(),
        tasks.2.await.unwrap(),
        tasks.3.await.unwrap(),
    );
    assert_eq!(
        since(before, store.writer_stats()),
        WriterStats {
            commits: 1,
            writes: 4
        }
    );
    assert_eq!(updated.unwrap().account.description, "changed");
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
    assert!(root_delete.is_err(), "the root namespace holds an account");
    assert_eq!(team.unwrap().name, "Team");
    assert_eq!(store.list_namespaces().await.unwrap().len(), 2);
}

#[tokio::test]
async fn an_acknowledged_write_is_durable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sacon.db");
    let store = SqliteStore::open(&path).await.unwrap();
    let root = root_id(&store).await;
    let ids: Vec<String> = (0..10).map(|i| format!("d-{i}")).collect();
    for r in create_all(&store, &root, &ids).await {
        r.unwrap();
    }
    // Another process on the file sees every acknowledged write at once …
    let other = SqliteStore::open(&path).await.unwrap();
    for id in &ids {
        assert!(other.get_account(id).await.unwrap().is_some(), "{id}");
    }
    other.close().await;
    store.close().await;
    // … and so does a store opened after both closed.
    let reopened = SqliteStore::open(&path).await.unwrap();
    for id in &ids {
        let got = reopened.get_account(id).await.unwrap().unwrap();
        assert_eq!(got.account.user_id, format!("user-{id}"));
    }
    let audited = reopened
        .list_audit(100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "create" && e.target_kind == "service_account")
        .count();
    assert_eq!(audited, 10);
    reopened.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_directory_import_and_batched_writes_are_serialised() {
    let (_dir, store) = open().await;
    let root = root_id(&store).await;
    let users: Vec<DirectoryUser> = (0..2000)
        .map(|i| DirectoryUser {
            id: format!("u{i}"),
            name: format!("User {i}"),
            email: format!("u{i}@example.com"),
            groups: vec!["staff".into()],
        })
        .collect();
    let importer = store.clone();
    let import =
        tokio::spawn(async move { importer.upsert_users(&users, &change()).await.unwrap() });
    let ids: Vec<String> = (0..50).map(|i| format!("i-{i}")).collect();
    for r in create_all(&store, &root, &ids).await {
        r.unwrap();
    }
    assert_eq!(import.await.unwrap().inserted, 2000);
    assert!(store.get_user("u1999").await.unwrap().is_some());
    for id in &ids {
        assert!(store.get_account(id).await.unwrap().is_some());
    }
}

/// Two stores on one file are two processes: between them, an account's use is written at most once per
/// interval, decided by the stored time.
#[tokio::test]
async fn last_used_is_written_once_per_interval_across_processes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sacon.db");
    let a = SqliteStore::open(&path).await.unwrap();
    let b = SqliteStore::open(&path).await.unwrap();
    let root = root_id(&a).await;
    a.create_account(&account("busy", &root), t0(), &change())
        .await
        .unwrap();
    let accessed = |s: &SqliteStore| {
        let s = s.clone();
        async move {
            s.get_account("busy")
                .await
                .unwrap()
                .unwrap()
                .account
                .accessed_at
        }
    };
    let t = t0() + Duration::minutes(1);
    a.touch_accessed("busy", t).await.unwrap();
    assert_eq!(accessed(&b).await, Some(t));
    // Within the interval, the other process's write changes nothing …
    let soon = t + ACCESS_WRITE_INTERVAL - Duration::milliseconds(1);
    b.touch_accessed("busy", soon).await.unwrap();
    assert_eq!(accessed(&a).await, Some(t));
    // … nor does an earlier time …
    a.touch_accessed("busy", t - Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(accessed(&b).await, Some(t));
    // … and once the interval has passed, one write moves it.
    let later = t + ACCESS_WRITE_INTERVAL;
    b.touch_accessed("busy", later).await.unwrap();
    assert_eq!(accessed(&a).await, Some(later));
    // Not audited, and an unknown account is no error.
    b.touch_accessed("nobody", later).await.unwrap();
    assert!(
        a.list_audit(100)
            .await
            .unwrap()
            .iter()
            .all(|e| e.action != "update")
    );
    a.close().await;
    b.close().await;
}
