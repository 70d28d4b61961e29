//! `sacon migrate --from DIR --to postgres://…`: a SQLite data directory with every kind of row (a namespace
//! tree, directory users, live, impersonated, expiring, rotated-in-grace, disabled and deleted accounts, a role, a
//! policy on a route, the audit log) is copied into an empty PostgreSQL database; a replica on it with the
//! directory's shared secret answers every token exactly as the SQLite server did, the counts and the log match,
//! and a second copy into the now non-empty database is refused. Runs in the PostgreSQL pass of the suite.

use chrono::Duration;
use sacon::api::convert::chrono_to_timestamp;
use sacon::api::{Client, ListQuery, wire};
use sacon::model::DirectoryUser;
use serde_json::json;

use crate::replicas::Replica;
use crate::support::access::{set_policy, set_route, tree};
use crate::support::cli::Scratch;
use crate::support::{TestServer, pg};

/// Everything the API says about a store, to compare before and after the copy.
#[derive(Debug, PartialEq)]
struct Seen {
    namespaces: Vec<(String, String, String)>,
    accounts: Vec<(String, String, String, bool)>,
    permissions: usize,
    activity: Vec<(String, String, String)>,
    activity_total: u64,
}

async fn seen(c: &Client) -> Seen {
    let mut namespaces: Vec<_> = c
        .list_namespaces()
        .await
        .unwrap()
        .into_iter()
        .map(|n| (n.id, n.parent_id, n.name))
        .collect();
    namespaces.sort();
    let accounts = c
        .list_all_accounts(None, "")
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.id, a.user_id, a.namespace_id, a.disabled))
        .collect();
    let (entries, activity_total) = c
        .list_activity(wire::ListActivityLogEntriesRequest {
            limit: Some(1000),
            ..Default::default()
        })
        .await
        .unwrap();
    Seen {
        namespaces,
        accounts,
        permissions: c.list_permissions().await.unwrap().len(),
        activity: entries
            .into_iter()
            .map(|e| (e.id, e.activity_type, e.entity_id))
            .collect(),
        activity_total,
    }
}

async fn status(http: &reqwest::Client, base: &str, jwt: &str, target: Option<&str>) -> u16 {
    let mut req = http
        .get(format!("{base}/verify"))
        .header("Authorization", format!("Bearer Pomerium-{jwt}"));
    if let Some(t) = target {
        req = req.header("X-Original-URL", t);
    }
    req.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn a_sqlite_directory_moves_to_postgres_and_its_tokens_still_verify() {
    if !pg::enabled() {
        eprintln!("migrate: runs in the PostgreSQL pass (SACON_TEST_STORE=postgres)");
        return;
    }
    let mut s = TestServer::start_sqlite().await;
    let t = tree(&s).await;
    s.client
        .import_users(&[
            DirectoryUser {
                id: "ann".into(),
                name: "Ann Lee".into(),
                email: "ann@example.com".into(),
                groups: vec!["sre".into()],
            },
            DirectoryUser {
                id: "bob".into(),
                name: "Bob Roe".into(),
                email: "bob@example.com".into(),
                groups: vec![],
            },
        ])
        .await
        .unwrap();
    let create = |user: &str, ns: &str, expires: Option<Duration>| {
        let account = wire::ServiceAccount {
            user_id: Some(user.into()),
            namespace_id: Some(ns.into()),
            description: Some(format!("the {user} account")),
            expires_at: expires.map(|d| chrono_to_timestamp(chrono::Utc::now() + d)),
            ..Default::default()
        };
        let client = s.client.clone();
        async move {
            let (a, jwt) = client.create_account(account).await.unwrap();
            (a.id, jwt.to_string())
        }
    };
    let (_, unique) = create("ci-bot", &t.eng, None).await;
    let (_, impersonated) = create("ann", &t.eng, None).await;
    let (_, expiring) = create("nightly", &t.ops, Some(Duration::days(1))).await;
    let (rotated, before_rotation) = create("deploy", &t.eng, None).await;
    let (_, after_rotation) = s
        .client
        .rotate_account_with_grace(&rotated, Some(std::time::Duration::from_secs(3600)))
        .await
        .unwrap();
    let after_rotation = after_rotation.to_string();
    let (disabled, disabled_jwt) = create("paused", &t.eng, None).await;
    s.client.set_disabled(&disabled, true).await.unwrap();
    let (deleted, deleted_jwt) = create("gone", &t.eng, None).await;
    s.client.delete_account(&deleted).await.unwrap();
    s.client
        .grant(&t.eng, "user", "bob", "viewer")
        .await
        .unwrap();
    let ann_only = set_policy(
        &s,
        json!({"namespaceId": t.eng, "name": "ann", "allowedUsers": ["ann"]}),
    )
    .await;
    set_route(
        &s,
        json!({"namespaceId": t.eng, "name": "app", "from": "https://app.example.com",
               "policyIds": [ann_only["id"]]}),
    )
    .await;

    let tokens = [
        &unique,
        &impersonated,
        &expiring,
        &before_rotation,
        &after_rotation,
        &disabled_jwt,
        &deleted_jwt,
    ];
    let target = Some("https://app.example.com/");
    let mut answers = Vec::new();
    for jwt in tokens {
        answers.push((
            status(&s.http, &s.url, jwt, None).await,
            status(&s.http, &s.url, jwt, target).await,
        ));
    }
    assert_eq!(answers[1], (200, 200), "ann's account may use the route");
    assert_eq!(answers[0], (200, 403), "ci-bot may not");
    assert_eq!(answers[3].0, 200, "the old token is in its grace period");
    assert_eq!(answers[6].0, 401, "the deleted account's token is dead");
    let before = seen(&s.client).await;
    let data = s.data_dir();
    s.handle.take().unwrap().shutdown().await;

    let url = pg::fresh_database_url().await;
    let scratch = Scratch::new();
    let out = scratch
        .run(&["migrate", "--from", data.to_str().unwrap(), "--to", &url])
        .ok();
    assert!(
        out.stderr
            .contains("copied 4 namespaces, 2 users, 5 service accounts, 1 tombstones"),
        "{}",
        out.stderr
    );
    // The copied log's activity counters are folded, one row per key, not a delta per entry.
    let mut db = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    let (entries, deltas, folded): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM audit_log), \
                (SELECT count(*) FROM audit_log_namespace_counts WHERE NOT compacted) \
                  + (SELECT count(*) FROM audit_log_actor_counts WHERE NOT compacted), \
                (SELECT sum(n)::bigint FROM audit_log_namespace_counts)",
    )
    .fetch_one(&mut db)
    .await
    .unwrap();
    assert_eq!(deltas, 0, "unfolded activity deltas after the copy");
    assert_eq!(folded, entries, "the folded counts cover every entry");
    // Written once, not as a delta per entry folded afterwards: the folded rows would sit behind as many dead
    // ones, which every total scans. Rows written once fill the first line pointers of the first page.
    for table in ["audit_log_namespace_counts", "audit_log_actor_counts"] {
        let (rows, last): (i64, String) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT count(*), max(ctid)::text FROM {table}"
        )))
        .fetch_one(&mut db)
        .await
        .unwrap();
        assert_eq!(
            last,
            format!("(0,{rows})"),
            "{table} was written more than once"
        );
    }

    let replica = Replica::start(&url, &sacon::config::secret_path(&data));
    let mut after = Vec::new();
    for jwt in tokens {
        after.push((
            status(&replica.http, &replica.url, jwt, None).await,
            status(&replica.http, &replica.url, jwt, target).await,
        ));
    }
    assert_eq!(after, answers, "every token is answered as before the copy");
    assert_eq!(seen(&replica.client()).await, before);

    // The tombstone came along: the deleted id made again issues a token after the old one, which stays dead.
    let (_, fresh) = replica
        .client()
        .create_account(wire::ServiceAccount {
            id: Some(deleted.clone()),
            user_id: Some("gone".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(replica.verify(&fresh).await, 200);
    assert_eq!(replica.verify(&deleted_jwt).await, 401);
    let (_, total) = replica
        .client()
        .list_accounts(&ListQuery::default())
        .await
        .unwrap();
    assert_eq!(total, 6);

    // A database that holds anything is refused, and left as it was.
    let again = scratch.run(&["migrate", "--from", data.to_str().unwrap(), "--to", &url]);
    assert_eq!(again.code, 1, "{}", again.stderr);
    assert!(again.error().contains("not empty"), "{}", again.stderr);
    let (_, total) = replica
        .client()
        .list_accounts(&ListQuery::default())
        .await
        .unwrap();
    assert_eq!(total, 6);
}

#[test]
fn a_missing_source_or_a_url_that_is_not_postgres_is_refused_with_nothing_done() {
    let scratch = Scratch::new();
    let missing = scratch.path("nowhere");
    let out = scratch.run(&[
        "migrate",
        "--from",
        missing.to_str().unwrap(),
        "--to",
        "postgres://sacon@127.0.0.1:1/sacon",
    ]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.error().contains("nowhere"), "{}", out.stderr);
    assert!(!missing.exists(), "a missing source is not created");

    let out = scratch.run(&[
        "migrate",
        "--from",
        scratch.path("data").to_str().unwrap(),
        "--to",
        "mysql://root:hunter2@db/sacon",
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.error().contains("postgres://"), "{}", out.stderr);
    assert!(
        !out.stderr.contains("hunter2"),
        "the password is never printed: {}",
        out.stderr
    );
}
