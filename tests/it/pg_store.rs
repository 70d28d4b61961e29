//! What only the PostgreSQL store, a database shared by replicas, asks beyond the tests both stores pass
//! (`store.rs` and `activity.rs` run on PostgreSQL in that pass): several processes (stores) writing at once, one
//! root however many open a new database, the schema's own guards, use written once per interval, the access
//! version, roles, and the lookahead's totals and ranking worked out by hand. Each test makes a database of the
//! suite's cluster and drops it after; the tests run in the PostgreSQL pass (`SACON_TEST_STORE=postgres`).

use std::collections::HashMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;

use sacon::access::{Role, SubjectType};
use sacon::model::{DirectoryUser, ServiceAccount};
use sacon::policy::model::{Policy, Route};
use sacon::store::filter::{parse_filter, parse_order_by};
use sacon::store::{
    AccountPatch, AccountQuery, ActivityQuery, Change, DateOp, PermissionGrant, PgStore, Reissue,
    Store, StoreError,
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

/// A new, empty database of the suite's cluster (its URL, the cluster's maintenance database and the name), or
/// `None` in a run that does not test PostgreSQL.
async fn fresh_database() -> Option<(String, String, String)> {
    if !crate::support::pg::enabled() {
        eprintln!("pg_store: runs in the PostgreSQL pass (SACON_TEST_STORE=postgres)");
        return None;
    }
    let cluster = crate::support::pg::Cluster::shared();
    let url = cluster.fresh_database().await;
    let name = url.rsplit('/').next().unwrap_or_default().to_string();
    Some((url, cluster.url("postgres"), name))
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

/// Starts every create of `burst` (id, namespace) at once and returns the answers in order. On the test's
/// single-threaded runtime all of them are queued before the first committer runs, so they go as one batch.
async fn burst(
    store: &PgStore,
    creates: &[(String, String)],
) -> Vec<Result<sacon::store::AccountRecord, StoreError>> {
    let mut tasks = tokio::task::JoinSet::new();
    for (i, (id, ns)) in creates.iter().enumerate() {
        let (store, a) = (store.clone(), account(id, ns, "u", None));
        tasks.spawn(async move { (i, store.create_account(&a, at(0), &change(0)).await) });
    }
    let mut answers: Vec<_> = tasks.join_all().await;
    answers.sort_by_key(|(i, _)| *i);
    answers.into_iter().map(|(_, r)| r).collect()
}

#[tokio::test]
async fn concurrent_creates_share_a_commit_and_each_is_answered_alone() {
    let Some(db) = open().await else { return };
    let root = root_id(&db.store).await;
    let ids = |v: &[&str]| -> Vec<(String, String)> {
        v.iter().map(|id| (id.to_string(), root.clone())).collect()
    };
    // An id a deleted account had, and one that is taken.
    let old = db
        .store
        .create_account(&account("was-here", &root, "u", None), at(0), &change(0))
        .await
        .unwrap();
    assert!(
        db.store
            .delete_account("was-here", &change(0))
            .await
            .unwrap()
    );
    db.store
        .create_account(&account("taken", &root, "u", None), at(0), &change(0))
        .await
        .unwrap();

    let fresh: Vec<String> = (0..24).map(|i| format!("burst-{i:02}")).collect();
    let mut creates = ids(&["twice", "was-here", "taken", "twice"]);
    creates.extend(fresh.iter().map(|id| (id.clone(), root.clone())));
    let answers = burst(&db.store, &creates).await;

    for (r, id) in answers[4..].iter().zip(&fresh) {
        assert_eq!(r.as_ref().unwrap().account.id, *id);
    }
    let twice = [&answers[0], &answers[3]];
    assert_eq!(twice.iter().filter(|r| r.is_ok()).count(), 1, "{twice:?}");
    assert!(
        twice
            .iter()
            .any(|r| matches!(r, Err(StoreError::AlreadyExists(_))))
    );
    assert!(matches!(answers[2], Err(StoreError::AlreadyExists(_))));
    let again = answers[1].as_ref().unwrap();
    assert!(again.issued_at > old.issued_at, "{again:?} after {old:?}");

    // Each create has its one audit row, the counters cover the log, and the batch shared commits.
    for id in fresh.iter().chain([&"twice".to_string()]) {
        let rows = db
            .store
            .list_audit_for("service_account", id, 10)
            .await
            .unwrap();
        assert_eq!(rows.len(), 1, "{id}: {rows:?}");
    }
    let raw = sqlx::PgPool::connect(&db.url).await.unwrap();
    let (entries, counted, commits): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM audit_log), \
                (SELECT sum(n)::bigint FROM audit_log_namespace_counts), \
                (SELECT count(DISTINCT xmin::text) FROM service_accounts WHERE id LIKE 'burst-%')",
    )
    .fetch_one(&raw)
    .await
    .unwrap();
    assert_eq!(counted, entries);
    assert!(commits < 24, "24 creates in {commits} transactions");
    raw.close().await;
    db.done().await;
}

#[tokio::test]
async fn a_batch_with_an_unknown_namespace_answers_each_create_alone() {
    let Some(db) = open().await else { return };
    let root = root_id(&db.store).await;
    let mut creates: Vec<(String, String)> =
        (0..10).map(|i| (format!("ok-{i}"), root.clone())).collect();
    creates.insert(5, ("lost".into(), "no-such-namespace".into()));
    let answers = burst(&db.store, &creates).await;
    for (r, (id, _)) in answers.iter().zip(&creates) {
        match id.as_str() {
            "lost" => assert!(
                matches!(r, Err(StoreError::InvalidArgument(m)) if m.contains("does not exist")),
                "{r:?}"
            ),
            _ => assert_eq!(r.as_ref().unwrap().account.id, *id),
        }
    }
    assert_eq!(db.store.get_account("lost").await.unwrap(), None);
    assert!(db.store.get_account("ok-9").await.unwrap().is_some());
    db.done().await;
}

/// Keeps `readers` tasks reading `read` on `store` until the returned flag is set: a read always in flight.
fn keep_reading<F, Fut>(
    store: &PgStore,
    readers: usize,
    read: F,
) -> (
    std::sync::Arc<std::sync::atomic::AtomicBool>,
    tokio::task::JoinSet<u32>,
)
where
    F: Fn(PgStore) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut busy = tokio::task::JoinSet::new();
    for _ in 0..readers {
        let (store, stop, read) = (store.clone(), stop.clone(), read.clone());
        busy.spawn(async move {
            let mut reads = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                read(store.clone()).await;
                reads += 1;
            }
            reads
        });
    }
    (stop, busy)
}

/// Reads of the access version share round trips, but each sees every change committed before it was asked,
/// here by another replica, while other reads keep one in flight all the time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_read_sees_every_change_committed_before_it_asked() {
    let Some(db) = open().await else { return };
    let other = db.replica().await;
    let root = root_id(&db.store).await;
    let (stop, busy) = keep_reading(&db.store, 8, |s: PgStore| async move {
        s.access_version().await.unwrap();
    });
    for round in 0..20 {
        other
            .put_policy(&policy(&format!("p{round}"), &root, "any"), &change(0))
            .await
            .unwrap();
        let committed = other.access_version().await.unwrap();
        let mut reads = tokio::task::JoinSet::new();
        for _ in 0..4 {
            let store = db.store.clone();
            reads.spawn(async move { store.access_version().await.unwrap() });
        }
        for seen in reads.join_all().await {
            assert!(
                seen >= committed,
                "round {round}: read {seen}, committed {committed}"
            );
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(busy.join_all().await.iter().all(|&n| n > 0));
    other.close().await;
    db.done().await;
}

/// `/verify`'s reads share statements too, and none misses a rotation or a delete another replica committed
/// before it was asked, while reads of other accounts and of the same one keep a statement in flight.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verify_read_sees_a_delete_committed_before_it_asked() {
    let Some(db) = open().await else { return };
    let other = db.replica().await;
    let root = root_id(&db.store).await;
    for id in ["steady", "victim-0", "victim-1", "victim-2"] {
        db.store
            .create_account(&account(id, &root, "u", None), at(0), &change(0))
            .await
            .unwrap();
    }
    let (stop, busy) = keep_reading(&db.store, 8, |s: PgStore| async move {
        let (steady, version) = s.get_account_for_verify_shared("steady").await.unwrap();
        assert!(steady.is_some() && version > 0);
        for id in ["victim-0", "victim-1", "victim-2"] {
            s.get_account_for_verify_shared(id).await.unwrap();
        }
    });
    for round in 0..3 {
        let id = format!("victim-{round}");
        let rotated = at(0) + Duration::seconds(10 + round);
        let rotate = Reissue {
            issued_at: rotated,
            grace_from: None,
            grace_until: None,
        };
        other
            .update_account(&id, &AccountPatch::default(), Some(rotate), &change(0))
            .await
            .unwrap();
        let (seen, _) = db.store.get_account_for_verify_shared(&id).await.unwrap();
        assert_eq!(
            seen.unwrap().issued_at,
            rotated,
            "{id}: the rotation is seen"
        );
        assert!(other.delete_account(&id, &change(0)).await.unwrap());
        let mut reads = tokio::task::JoinSet::new();
        for _ in 0..4 {
            let (store, id) = (db.store.clone(), id.clone());
            reads.spawn(async move { store.get_account_for_verify_shared(&id).await.unwrap() });
        }
        for (seen, version) in reads.join_all().await {
            assert!(seen.is_none(), "{id}: read after its delete committed");
            assert_eq!(version, 0);
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(busy.join_all().await.iter().all(|&n| n > 0));
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
