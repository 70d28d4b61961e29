//! `/verify`'s account records kept between checks, each trusted only while the account change counter
//! (`accounts_version`, moved by triggers on every insert, delete and update of an account but its last-used time,
//! migration 0011) still reads what it read when the record was read. Every check reads the counter — with the
//! account's `accessed_at` and the access version, in one statement on the account's own row — so a delete,
//! rotation, disable or move is in force at the next check whichever process made it; what the cache saves is
//! decoding the whole row. A check for an account it does not hold reads the row as before, counter included.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rusqlite::OptionalExtension;

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

#[derive(Debug, Default)]
pub(super) struct VerifyCache(Mutex<HashMap<String, Entry>>);

#[derive(Debug)]
struct Entry {
    /// The account change counter the record was read at.
    version: i64,
    record: Arc<AccountRecord>,
}

impl VerifyCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `/verify`'s read of `id` on an inline connection (no namespaces): the kept record when the counter has
    /// not moved since it was read, else the row read afresh (and kept). Errors as
    /// `accounts::get_for_verify_inline`'s.
    pub(super) fn read(
        &self,
        conn: &rusqlite::Connection,
        id: &str,
    ) -> rusqlite::Result<StoreResult<VerifyRead>> {
        let kept = self.lock().get(id).map(|e| (e.version, e.record.clone()));
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
                Some((accessed_at, accounts, access)) if accounts == version => {
                    let mut record = AccountRecord::clone(&record);
                    record.account.accessed_at = match opt_from_micros(accessed_at) {
                        Ok(t) => t,
                        Err(e) => return Ok(Err(e)),
                    };
                    return Ok(Ok((Some(record), Vec::new(), access)));
                }
                // Some account changed since: read this one afresh.
                Some(_) => {}
            }
        }
        let (read, version) = match accounts::get_versioned_inline(conn, id)? {
            Ok(r) => r,
            Err(e) => return Ok(Err(e)),
        };
        let mut map = self.lock();
        match &read.0 {
            Some(record) => {
                if map.len() >= MAX_ENTRIES && !map.contains_key(id) {
                    map.clear();
                }
                map.insert(
                    id.to_string(),
                    Entry {
                        version,
                        record: Arc::new(record.clone()),
                    },
                );
            }
            None => {
                map.remove(id);
            }
        }
        Ok(Ok(read))
    }
}
