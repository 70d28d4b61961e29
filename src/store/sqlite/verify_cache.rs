//! `/verify`'s account records kept between checks, never trusted beyond what the database says now. A kept
//! record is used again in one of two ways:
//!
//! - **Nothing committed since it was checked.** Every commit to a WAL database, by any connection of any process,
//!   rewrites the WAL-index header at the start of the `-shm` file (the commit counter, the last frame, the
//!   checksums) before the commit returns. The header is read here and compared, byte for byte,
//!   with the one read just before the record was last checked against SQLite: equal means no transaction has
//!   committed since, so the record, its `accessed_at` and the access version are still what SQLite would say.
//!   A header that is being rewritten, an unknown layout, or a database not in WAL mode reads as "changed". The
//!   header is read from a read-only shared mapping of the file's first page — the memory SQLite's own
//!   connections read it from — so a check makes no system call for it.
//! - **No account changed since it was read.** Otherwise the check reads, in one statement on the account's own
//!   row, its `accessed_at`, the access version and the account change counter (`accounts_version`, moved by
//!   triggers on every insert, delete and update of an account but its last-used time, migration 0011): while the
//!   counter reads what it read with the record, the record stands.
//!
//! Anything else reads the whole row afresh (counter and header included), so a delete, rotation, disable or
//! move made by any process is in force at the next check. A connection kept open for the store's life holds the
//! `-shm` file open, so no process can remove or truncate it while it is read here.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, RwLock};

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::accounts::{self, VerifyRead};
use super::opt_from_micros;
use crate::store::{AccountRecord, StoreResult};

/// More accounts than this in use at once and the cache starts over: a bound on memory, not a working set.
const MAX_ENTRIES: usize = 10_000;

/// The account's last-used time and both counters, from its own row: no row, no account.
const CHECK_SQL: &str = "SELECT accessed_at, \
                         (SELECT version FROM accounts_version WHERE id = 1), \
                         (SELECT version FROM access_version WHERE id = 1) \
                         FROM service_accounts WHERE id = ?1";

/// One copy of the WAL-index header (SQLite's `WalIndexHdr`, https://www.sqlite.org/walformat.html): 48 bytes,
/// stored twice at the start of the `-shm` file; a writer rewrites the second copy, then the first.
const HEADER: usize = 48;
/// The layout this reading knows (`iVersion`, the first field).
const WALINDEX_VERSION: u32 = 3_007_000;
/// Offset of `isInit` (1 once the header is valid).
const IS_INIT: usize = 12;

/// A WAL-index header as read: equal headers, no commit between the two reads.
type Stamp = [u8; HEADER];

#[derive(Debug)]
pub(super) struct VerifyCache {
    entries: Mutex<HashMap<String, Entry>>,
    /// `None` when the header cannot be read (not a WAL database, an unknown layout): every check asks SQLite.
    watch: Option<ShmWatch>,
}

#[derive(Debug)]
struct Entry {
    /// The header read just before the record was last checked against SQLite, if it read whole.
    stamp: Option<Stamp>,
    /// The account change counter and the access version at that check.
    accounts_version: i64,
    access_version: i64,
    record: Arc<AccountRecord>,
}

/// The `-shm` file's first page, mapped read-only, and the connection that keeps it in place.
struct ShmWatch {
    /// `None` once closed. Read-locked while the header is read, so `close` never unmaps under a reader.
    map: RwLock<Option<ShmMap>>,
    /// Never used after opening; holding it holds SQLite's shared lock on the `-shm` file, so no connection of
    /// any process truncates it (SQLite truncates it only when it opens a database nobody has open). Dropped by
    /// `close`, after the mapping.
    keeper: Mutex<Option<Connection>>,
}

/// A read-only `MAP_SHARED` mapping of the start of a file.
struct ShmMap {
    ptr: std::ptr::NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is only read (with volatile reads, as other processes write it), and unmapped once, by
// `drop`, when nothing borrows it.
unsafe impl Send for ShmMap {}
unsafe impl Sync for ShmMap {}

impl ShmMap {
    fn open(file: &File, len: usize) -> Option<ShmMap> {
        if file.metadata().ok()?.len() < len as u64 {
            return None;
        }
        // SAFETY: a fresh read-only shared mapping of `len` bytes the file is known to hold; the result is
        // checked before use.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                std::os::fd::AsRawFd::as_raw_fd(file),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return None;
        }
        Some(ShmMap {
            ptr: std::ptr::NonNull::new(ptr.cast())?,
            len,
        })
    }

    /// Both copies of the header, the first read before the second (SQLite writes the second first).
    fn headers(&self) -> [u8; 2 * HEADER] {
        let mut both = [0u8; 2 * HEADER];
        for (i, b) in both.iter_mut().enumerate() {
            if i == HEADER {
                std::sync::atomic::fence(Ordering::Acquire);
            }
            // SAFETY: `i < 2 * HEADER <= len`, inside the mapping, which lives as long as `self`.
            *b = unsafe { std::ptr::read_volatile(self.ptr.as_ptr().add(i)) };
        }
        both
    }
}

impl Drop for ShmMap {
    fn drop(&mut self) {
        // SAFETY: the mapping made by `open`, unmapped once.
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.len);
        }
    }
}

impl std::fmt::Debug for ShmWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShmWatch").finish_non_exhaustive()
    }
}

impl ShmWatch {
    fn open(db: &Path) -> Option<ShmWatch> {
        let keeper = Connection::open_with_flags(
            db,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .ok()?;
        keeper.pragma_update(None, "query_only", true).ok()?;
        let wal: String = keeper
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .ok()?;
        if !wal.eq_ignore_ascii_case("wal") {
            return None;
        }
        // A read maps the WAL index, which opens (or creates) the -shm file and takes the shared lock that keeps
        // it from being removed or truncated while this connection lives.
        keeper
            .query_row("SELECT version FROM access_version WHERE id = 1", [], |r| {
                r.get::<_, i64>(0)
            })
            .ok()?;
        let mut name = db.as_os_str().to_owned();
        name.push("-shm");
        let map = ShmMap::open(&File::open(Path::new(&name)).ok()?, 2 * HEADER)?;
        let watch = ShmWatch {
            map: RwLock::new(Some(map)),
            keeper: Mutex::new(Some(keeper)),
        };
        watch.stamp().is_some().then_some(watch)
    }

    /// The header now, or `None` when it does not read whole and valid (being rewritten, not initialised, a
    /// layout this code does not know) or the watch is closed.
    fn stamp(&self) -> Option<Stamp> {
        let map = self.map.read().unwrap_or_else(|p| p.into_inner());
        stamp_of(&map.as_ref()?.headers())
    }

    /// Unmaps the header, then lets go of the file.
    fn close(&self) {
        self.map.write().unwrap_or_else(|p| p.into_inner()).take();
        self.keeper.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
}

/// The header in the first `2 * HEADER` bytes of a `-shm` file, when both copies agree and say it is valid.
fn stamp_of(both: &[u8; 2 * HEADER]) -> Option<Stamp> {
    let (first, second) = both.split_at(HEADER);
    let version = u32::from_ne_bytes(first[..4].try_into().ok()?);
    if first != second || first[IS_INIT] != 1 || version != WALINDEX_VERSION {
        return None;
    }
    first.try_into().ok()
}

impl VerifyCache {
    /// A cache for the database at `db`; without the header fast path when it cannot be read there.
    pub(super) fn open(db: &Path) -> VerifyCache {
        VerifyCache {
            entries: Mutex::default(),
            watch: ShmWatch::open(db),
        }
    }

    /// Stops reading the header and lets go of the `-shm` file, so the store's last connection to close is one
    /// of its pools' (which checkpoints the WAL).
    pub(super) fn close(&self) {
        if let Some(w) = &self.watch {
            w.close();
        }
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn stamp(&self) -> Option<Stamp> {
        self.watch.as_ref().and_then(ShmWatch::stamp)
    }

    /// `/verify`'s read of `id` without SQLite: the kept record (shared) and the access version when nothing
    /// has committed since it was last checked; `None` when SQLite has to be asked.
    pub(super) fn unchanged(&self, id: &str) -> Option<(Arc<AccountRecord>, i64)> {
        let now = self.stamp()?;
        let map = self.lock();
        let e = map.get(id).filter(|e| e.stamp == Some(now))?;
        Some((e.record.clone(), e.access_version))
    }

    /// `/verify`'s read of `id` (no namespaces) on an inline connection: the kept record when no account changed
    /// since it was read, else the row read afresh (and kept). Errors as `accounts::get_for_verify_inline`'s.
    pub(super) fn read(
        &self,
        conn: &Connection,
        id: &str,
    ) -> rusqlite::Result<StoreResult<VerifyRead>> {
        // Read before SQLite is: a commit after this moves the header and the next check looks again.
        let stamp = self.stamp();
        let kept = self
            .lock()
            .get(id)
            .map(|e| (e.accounts_version, e.record.clone()));
        if let Some((version, record)) = kept {
            let now = conn
                .prepare_cached(CHECK_SQL)?
                .query_row([id], |r| {
                    Ok((
                        r.get::<_, Option<i64>>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                })
                .optional()?;
            match now {
                None => {
                    self.lock().remove(id);
                    return Ok(Ok((None, Vec::new(), 0)));
                }
                Some((accessed_at, accounts_version, access_version))
                    if accounts_version == version =>
                {
                    let accessed_at = match opt_from_micros(accessed_at) {
                        Ok(t) => t,
                        Err(e) => return Ok(Err(e)),
                    };
                    let mut record = AccountRecord::clone(&record);
                    record.account.accessed_at = accessed_at;
                    self.keep(id, stamp, accounts_version, access_version, &record);
                    return Ok(Ok((Some(record), Vec::new(), access_version)));
                }
                // Some account changed since: read this one afresh.
                Some(_) => {}
            }
        }
        let ((record, namespaces, access_version), accounts_version) =
            match accounts::get_versioned_inline(conn, id)? {
                Ok(r) => r,
                Err(e) => return Ok(Err(e)),
            };
        match &record {
            Some(r) => self.keep(id, stamp, accounts_version, access_version, r),
            None => {
                self.lock().remove(id);
            }
        }
        Ok(Ok((record, namespaces, access_version)))
    }

    fn keep(
        &self,
        id: &str,
        stamp: Option<Stamp>,
        accounts_version: i64,
        access_version: i64,
        record: &AccountRecord,
    ) {
        let entry = Entry {
            stamp,
            accounts_version,
            access_version,
            record: Arc::new(record.clone()),
        };
        let mut map = self.lock();
        if map.len() >= MAX_ENTRIES && !map.contains_key(id) {
            map.clear();
        }
        map.insert(id.to_string(), entry);
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::model::ServiceAccount;
    use crate::store::{AccountPatch, Change, SqliteStore, Store};

    #[test]
    fn a_header_reads_only_whole_and_valid() {
        let mut header = [0u8; HEADER];
        header[..4].copy_from_slice(&WALINDEX_VERSION.to_ne_bytes());
        header[IS_INIT] = 1;
        header[16] = 7;
        let both = |a: &[u8; HEADER], b: &[u8; HEADER]| {
            let mut out = [0u8; 2 * HEADER];
            out[..HEADER].copy_from_slice(a);
            out[HEADER..].copy_from_slice(b);
            out
        };
        assert_eq!(stamp_of(&both(&header, &header)), Some(header));
        // Half rewritten: the copies differ.
        let mut newer = header;
        newer[16] = 8;
        assert_eq!(stamp_of(&both(&newer, &header)), None);
        let mut uninit = header;
        uninit[IS_INIT] = 0;
        assert_eq!(stamp_of(&both(&uninit, &uninit)), None);
        let mut other = header;
        other[..4].copy_from_slice(&3_007_001u32.to_ne_bytes());
        assert_eq!(stamp_of(&both(&other, &other)), None);
    }

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

    /// The kept record is used without SQLite only until anything commits, whichever store (process) commits it;
    /// then SQLite is asked again, and what another store changed is what the next read says.
    #[tokio::test]
    async fn any_commit_ends_the_read_without_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sacon.db");
        let store = SqliteStore::open(&path).await.unwrap();
        let other = SqliteStore::open(&path).await.unwrap();
        let cache = &store.inner.verify_cache;
        assert!(cache.watch.is_some(), "a WAL database's header is readable");
        let change = Change::by("test", Utc::now());
        let root = store.list_namespaces().await.unwrap()[0].id.clone();
        for id in ["a", "b"] {
            store
                .create_account(&account(id, &root), Utc::now(), &change)
                .await
                .unwrap();
        }
        let unchanged = |id: &str| {
            cache
                .unchanged(id)
                .map(|(r, v)| (Some(AccountRecord::clone(&r)), Vec::new(), v))
        };
        assert_eq!(unchanged("a"), None, "nothing kept yet");
        let read = store
            .get_account_for_verify_versioned("a", false)
            .await
            .unwrap();
        assert_eq!(unchanged("a"), Some(read.clone()));
        let (shared, version) = store.get_account_for_verify_shared("a").await.unwrap();
        assert_eq!(
            (shared.map(|r| AccountRecord::clone(&r)), version),
            (read.0.clone(), read.2),
            "the shared read says what the versioned one does"
        );
        assert_eq!(unchanged("b"), None, "only what was read is kept");

        // An unrelated commit elsewhere (b's use): SQLite is asked, and a's record stands.
        other.touch_accessed("b", Utc::now()).await.unwrap();
        assert_eq!(unchanged("a"), None);
        assert_eq!(
            store
                .get_account_for_verify_versioned("a", false)
                .await
                .unwrap(),
            read
        );
        assert_eq!(unchanged("a"), Some(read.clone()), "checked again");

        // A's own change elsewhere is read afresh.
        let disable = AccountPatch {
            disabled: Some(true),
            ..AccountPatch::default()
        };
        other
            .update_account("a", &disable, None, &change)
            .await
            .unwrap();
        assert_eq!(unchanged("a"), None);
        let (record, _, _) = store
            .get_account_for_verify_versioned("a", false)
            .await
            .unwrap();
        assert!(record.unwrap().account.disabled);
        // Its use elsewhere (no counter move) shows in the kept record too.
        let used = Utc::now() + chrono::Duration::minutes(1);
        other.touch_accessed("a", used).await.unwrap();
        let (record, _, _) = store
            .get_account_for_verify_versioned("a", false)
            .await
            .unwrap();
        assert_eq!(
            record
                .unwrap()
                .account
                .accessed_at
                .map(|t| t.timestamp_micros()),
            Some(used.timestamp_micros())
        );

        other.delete_account("a", &change).await.unwrap();
        assert_eq!(unchanged("a"), None);
        let (gone, _, _) = store
            .get_account_for_verify_versioned("a", false)
            .await
            .unwrap();
        assert!(gone.is_none());
        assert_eq!(unchanged("a"), None);

        store.close().await;
        assert_eq!(
            unchanged("b"),
            None,
            "a closed store reads SQLite (and fails)"
        );
        other.close().await;
    }
}
