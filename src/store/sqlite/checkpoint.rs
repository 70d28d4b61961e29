//! The WAL checkpointed off the writer's path: the writer connection never checkpoints by itself
//! (`wal_autocheckpoint = 0`), so a commit waits for its own fsync only, never for copying the WAL into the
//! database and syncing that. After each commit the writer pokes a thread of this module's, which runs a
//! PASSIVE checkpoint on a connection of its own — at once after a quiet spell, and at most once per
//! [`INTERVAL`] while commits keep coming, so one checkpoint copies a page that many commits rewrote only once.
//! A PASSIVE checkpoint never waits for the writer, which keeps appending meanwhile; SQLite starts the WAL over
//! only when a transaction begins after a checkpoint that copied all of it, which a busy writer never lets
//! happen. So once the WAL has passed [`MAX_WAL_FRAMES`], the thread tries a RESTART checkpoint: without
//! waiting for any lock (a writer mid-transaction or a reader on an old snapshot makes it give up at once, to
//! try again next round), it holds writers off while it copies the frames written since its last pass and
//! then lets the next commit start the WAL from its beginning. That pause is measured at 10–250 ms, once
//! 1.6 s (16 clients creating on a data set of 1,000,000 accounts). Nothing here
//! changes what a transaction sees or when it is durable: it only decides when the database file catches up
//! with the WAL.

use std::path::Path;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

/// While commits keep coming, one checkpoint per this long.
pub const INTERVAL: Duration = Duration::from_millis(100);
/// The WAL (in 4 KiB pages: 256 MiB) past which the thread starts it over (a RESTART checkpoint). Each restart
/// pauses writers (see above), so the bound trades disk for fewer pauses.
pub const MAX_WAL_FRAMES: i64 = 65_536;

/// The checkpoint thread and its doorbell. Dropping it (or `close`) stops the thread after its current
/// checkpoint; the last connection to close checkpoints whatever is left.
#[derive(Debug)]
pub(super) struct Checkpointer {
    poke: Mutex<Option<SyncSender<()>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Checkpointer {
    /// Starts the thread on its own connection to the (migrated, WAL-mode) database at `path`.
    pub(super) fn start(path: &Path) -> rusqlite::Result<Checkpointer> {
        Checkpointer::start_with(path, MAX_WAL_FRAMES)
    }

    /// [`Checkpointer::start`] with another bound on the WAL.
    fn start_with(path: &Path, max_frames: i64) -> rusqlite::Result<Checkpointer> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // A checkpoint never waits for a lock: what it cannot copy now it copies next time.
        conn.busy_timeout(Duration::ZERO)?;
        // One poke waiting is as good as many.
        let (poke, pokes) = mpsc::sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("sacon-checkpoint".into())
            .spawn(move || run(&conn, &pokes, max_frames))
            .map_err(|e| {
                rusqlite::Error::ToSqlConversionFailure(Box::new(std::io::Error::other(format!(
                    "cannot start the checkpoint thread: {e}"
                ))))
            })?;
        Ok(Checkpointer {
            poke: Mutex::new(Some(poke)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// A transaction committed: the WAL grew. Never blocks.
    pub(super) fn committed(&self) {
        let poke = self.poke.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(poke) = poke.as_ref() {
            match poke.try_send(()) {
                Ok(()) | Err(TrySendError::Full(())) | Err(TrySendError::Disconnected(())) => {}
            }
        }
    }

    /// Stops the thread and waits for its checkpoint in progress, if any.
    pub(super) fn close(&self) {
        self.poke.lock().unwrap_or_else(|p| p.into_inner()).take();
        let thread = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.close();
    }
}

/// Until every sender is gone: wait for a commit, checkpoint, then let at least [`INTERVAL`] pass (gathering
/// the pokes meanwhile into one) before the next.
fn run(conn: &Connection, pokes: &Receiver<()>, max_frames: i64) {
    while pokes.recv().is_ok() {
        let started = Instant::now();
        checkpoint(conn, max_frames);
        let next = started + INTERVAL;
        loop {
            let left = next.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match pokes.recv_timeout(left) {
                Ok(()) | Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }
}

/// One PASSIVE checkpoint, then a RESTART one when the WAL has grown past `max_frames`. Failures are logged
/// and left for the next round: the WAL still holds every commit.
fn checkpoint(conn: &Connection, max_frames: i64) {
    match wal_checkpoint(conn, "PASSIVE") {
        Ok((_, log, _)) if log > max_frames => {
            if let Err(e) = wal_checkpoint(conn, "RESTART") {
                tracing::warn!(error = %e, "WAL checkpoint (RESTART) failed");
            }
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
    }
}

/// `PRAGMA wal_checkpoint(MODE)`: (busy, frames in the WAL, frames copied).
fn wal_checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<(i64, i64, i64)> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The frames in the WAL now, without copying any: a PASSIVE checkpoint reports them, and once it has
    /// run there is nothing left for it to copy.
    fn wal_frames(conn: &Connection) -> i64 {
        wal_checkpoint(conn, "PASSIVE").unwrap().1
    }

    /// A writer that never checkpoints leaves the WAL to this thread, which copies it and, past the bound, lets
    /// the next commit start it over.
    #[test]
    fn the_thread_checkpoints_and_bounds_the_wal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; CREATE TABLE t (x BLOB); \
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) \
                 INSERT INTO t SELECT randomblob(4000) FROM n;",
            )
            .unwrap();
        // Past the bound, and nothing copied yet (4 KiB pages, 24-byte frame headers).
        let max = 10_000;
        let wal = std::fs::metadata(dir.path().join("c.db-wal"))
            .unwrap()
            .len() as i64;
        assert!(wal / (4096 + 24) > max, "{wal} bytes");
        let c = Checkpointer::start_with(&path, max).unwrap();
        c.committed();
        // Closing waits for the checkpoint the poke started.
        c.close();
        // Everything was copied and the WAL restarted: the next commit writes from its start.
        writer.execute("INSERT INTO t VALUES (x'00')", []).unwrap();
        let reader = Connection::open(&path).unwrap();
        let after = wal_frames(&reader);
        assert!(after < 10, "the WAL holds {after} frames after the restart");
        let rows: i64 = reader
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 20_001);
    }

    /// A poke after the thread stopped is ignored, not a panic or a hang.
    #[test]
    fn pokes_after_close_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (x);")
            .unwrap();
        let c = Checkpointer::start(&path).unwrap();
        c.close();
        c.committed();
        c.close();
    }
}
