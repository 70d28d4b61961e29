//! `/verify`'s point read on the caller's thread: a few rusqlite connections to the same database file
//! (query-only; the same SQLite library sqlx links), each behind a mutex held only for one synchronous read, so a
//! check costs no hand-off to a connection's worker thread and back. Never waits: when every connection is in
//! use, SQLite reports busy, or the readers are closed, the caller takes the pooled path, which waits properly
//! and reports errors. Nothing is cached: every read starts its own snapshot.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// More connections than the runtime has worker threads would sit idle: a read holds one only while it runs.
const CONNECTIONS: usize = 4;

pub(super) struct InlineReaders(Vec<Mutex<Option<Connection>>>);

impl std::fmt::Debug for InlineReaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InlineReaders")
            .field("connections", &self.0.len())
            .finish()
    }
}

impl InlineReaders {
    /// Opens the connections to an existing (migrated) database, with a page cache of `cache_kib` each.
    pub(super) fn open(path: &Path, cache_kib: i64) -> rusqlite::Result<InlineReaders> {
        (0..CONNECTIONS)
            .map(|_| {
                let conn = Connection::open_with_flags(
                    path,
                    OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                conn.pragma_update(None, "query_only", true)?;
                conn.pragma_update(None, "cache_size", -cache_kib)?;
                // No busy handler: a reader never sleeps on the caller's (async runtime) thread.
                conn.busy_timeout(Duration::ZERO)?;
                Ok(Mutex::new(Some(conn)))
            })
            .collect::<rusqlite::Result<Vec<_>>>()
            .map(InlineReaders)
    }

    /// Runs `read` on a free connection, or `None` (the caller falls back) when there is none or SQLite fails.
    pub(super) fn try_read<T>(
        &self,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Option<T> {
        let mut slot = self.0.iter().find_map(|m| m.try_lock().ok())?;
        let conn = slot.as_ref()?;
        match read(conn) {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::debug!(error = %e, "inline read failed; reading through the pool");
                // A failed statement may leave the connection mid-transaction only on a bug; drop it rather
                // than risk reading an old snapshot later.
                if !conn.is_autocommit() {
                    *slot = None;
                }
                None
            }
        }
    }

    /// Closes every connection (waiting for a read in progress), so the pools' close is the last one.
    pub(super) fn close(&self) {
        for m in &self.0 {
            let mut slot = m.lock().unwrap_or_else(|p| p.into_inner());
            *slot = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use crate::model::ServiceAccount;
    use crate::store::{Change, SqliteStore, Store};

    fn account(id: &str, ns: &str) -> ServiceAccount {
        ServiceAccount {
            id: id.into(),
            namespace_id: ns.into(),
            originator_id: String::new(),
            description: String::new(),
            user_id: format!("user-{id}"),
            expires_at: None,
            created_at: Utc::now(),
            modified_at: Utc::now(),
            accessed_at: None,
            disabled: false,
        }
    }

    async fn root(store: &SqliteStore) -> String {
        store
            .list_namespaces()
            .await
            .unwrap()
            .into_iter()
            .find(|n| n.parent_id.is_empty())
            .unwrap()
            .id
    }

    /// The inline path and the pooled fallback read the same thing, and both see a delete made through another
    /// store on the same file (another process) as soon as it has returned.
    #[tokio::test]
    async fn inline_and_pooled_reads_agree_and_see_other_writers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sacon.db");
        let store = SqliteStore::open(&path).await.unwrap();
        let other = SqliteStore::open(&path).await.unwrap();
        let change = Change::by("test", Utc::now());
        let ns = root(&store).await;
        store
            .create_account(&account("a1", &ns), Utc::now(), &change)
            .await
            .unwrap();

        let inline = store
            .inner
            .inline
            .try_read(|c| super::super::accounts::get_for_verify_inline(c, "a1", true))
            .expect("a free inline connection")
            .unwrap();
        let (record, namespaces, version) = inline.clone();
        assert_eq!(record.unwrap().account.user_id, "user-a1");
        assert_eq!(namespaces.len(), 1);
        assert_eq!(
            version,
            store.access_version().await.unwrap(),
            "the access version rides along"
        );

        // The inline connections are query-only: a write fails (and falls back), and changes nothing.
        assert!(
            store
                .inner
                .inline
                .try_read(|c| c.execute("DELETE FROM service_accounts", []))
                .is_none()
        );
        assert!(store.get_account("a1").await.unwrap().is_some());

        // Every inline connection busy: the same answer through the pool.
        let held: Vec<_> = store
            .inner
            .inline
            .0
            .iter()
            .map(|m| m.lock().unwrap())
            .collect();
        assert!(store.inner.inline.try_read(|_| Ok(())).is_none());
        let pooled = store
            .get_account_for_verify_versioned("a1", true)
            .await
            .unwrap();
        assert_eq!(pooled, inline);
        drop(held);

        other.delete_account("a1", &change).await.unwrap();
        let (gone, namespaces) = store.get_account_for_verify("a1", true).await.unwrap();
        assert!(gone.is_none());
        assert!(namespaces.is_empty());
        let held: Vec<_> = store
            .inner
            .inline
            .0
            .iter()
            .map(|m| m.lock().unwrap())
            .collect();
        assert!(
            store
                .get_account_for_verify("a1", false)
                .await
                .unwrap()
                .0
                .is_none()
        );
        drop(held);

        // Closed inline readers fall back too.
        store.inner.inline.close();
        assert!(store.inner.inline.try_read(|_| Ok(())).is_none());
        other.close().await;
        store.close().await;
    }
}
