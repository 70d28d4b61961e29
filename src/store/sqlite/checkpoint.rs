//! The WAL checkpointed off the writer's path: the writer connection never checkpoints by itself
//! (`wal_autocheckpoint = 0`), so a commit waits for its own fsync only, never for copying the WAL into the
//! database and syncing that. After each commit the writer pokes a thread of this module's, which runs a
//! PASSIVE checkpoint on a connection of its own — at once after a quiet spell, and at most once per
//! [`INTERVAL`] while commits keep coming, so one checkpoint copies a page that many commits rewrote only once.
//! A PASSIVE checkpoint never waits for the writer, which keeps appending meanwhile; SQLite starts the WAL over
//! only when a transaction begins after a checkpoint that copied all of it, which a busy writer never lets
//! happen. So once the WAL has passed [`MAX_WAL_FRAMES`], the thread syncs the database file and catches up
//! again (see [`checkpoint`]) and then asks the writer, which runs [`restart`] before its next batch: it copies
//! the few frames left and starts the WAL over, holding writes for 16–100 ms (measured with 16 clients creating
//! on a data set of 1,000,000 accounts; it was 0.4–2 s when the restart had to sync the file itself). Nothing
//! here changes what a transaction sees or when it is durable: it only decides when the database file catches
//! up with the WAL.

use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

/// While commits keep coming, one checkpoint per this long. A longer wait copies a page rewritten meanwhile
/// once instead of many times (with 100 ms the thread copied about as many pages as were committed).
pub const INTERVAL: Duration = Duration::from_secs(1);
/// The WAL (in 4 KiB pages: 256 MiB) past which it is started over. Each restart pauses writers (see above), so
/// the bound trades disk for fewer pauses.
pub const MAX_WAL_FRAMES: i64 = 65_536;
/// Before a RESTART: at most this many rounds of syncing the database file and copying what was committed
/// meanwhile, stopping once a round copied at most [`SMALL_CATCH_UP`] frames.
const CATCH_UP_ROUNDS: usize = 4;
/// Frames (4 KiB pages) a RESTART can copy and sync while writers wait, in a few milliseconds.
const SMALL_CATCH_UP: i64 = 2_000;
/// How long a restart waits for readers to leave the WAL (it holds writers off meanwhile).
const RESTART_WAIT: Duration = Duration::from_millis(20);

/// The checkpoint thread and its doorbell. Dropping it (or `close`) stops the thread after its current
/// checkpoint; the last connection to close checkpoints whatever is left.
#[derive(Debug)]
pub(super) struct Checkpointer {
    poke: Mutex<Option<SyncSender<()>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// Set by the thread once the database file has caught up with nearly all of a WAL past the bound: the
    /// writer starts the WAL over before its next batch ([`Checkpointer::restart_due`], [`restart`]).
    restart: Arc<AtomicBool>,
}

impl Checkpointer {
    /// Starts the thread on its own connection to the (migrated, WAL-mode) database at `path`.
    pub(super) fn start(path: &Path) -> rusqlite::Result<Checkpointer> {
        Checkpointer::start_with(path, MAX_WAL_FRAMES)
    }

    /// [`Checkpointer::start`] with another bound on the WAL.
    pub(super) fn start_with(path: &Path, max_frames: i64) -> rusqlite::Result<Checkpointer> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // A checkpoint never waits for a lock: what it cannot copy now it copies next time.
        conn.busy_timeout(Duration::ZERO)?;
        // The database file, to sync what the PASSIVE checkpoints copied before the WAL restarts (see `checkpoint`).
        let db = File::open(path).map_err(|e| {
            rusqlite::Error::ToSqlConversionFailure(Box::new(std::io::Error::new(
                e.kind(),
                format!(
                    "cannot open {} for the checkpoint thread: {e}",
                    path.display()
                ),
            )))
        })?;
        // One poke waiting is as good as many.
        let (poke, pokes) = mpsc::sync_channel(1);
        let restart = Arc::new(AtomicBool::new(false));
        let due = restart.clone();
        let thread = std::thread::Builder::new()
            .name("sacon-checkpoint".into())
            .spawn(move || run(&conn, &db, &pokes, &due, max_frames))
            .map_err(|e| {
                rusqlite::Error::ToSqlConversionFailure(Box::new(std::io::Error::other(format!(
                    "cannot start the checkpoint thread: {e}"
                ))))
            })?;
        Ok(Checkpointer {
            poke: Mutex::new(Some(poke)),
            thread: Mutex::new(Some(thread)),
            restart,
        })
    }

    /// Whether the writer should start the WAL over now (see [`restart`]); answers yes once per request.
    pub(super) fn restart_due(&self) -> bool {
        self.restart.swap(false, Ordering::AcqRel)
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
fn run(conn: &Connection, db: &File, pokes: &Receiver<()>, restart: &AtomicBool, max_frames: i64) {
    lower_io_priority();
    while pokes.recv().is_ok() {
        let started = Instant::now();
        let next = if checkpoint(conn, db, max_frames) {
            restart.store(true, Ordering::Release);
            // A whole round for the writer to restart the WAL before this thread checkpoints again (a
            // checkpoint in progress makes the restart give up).
            Instant::now() + INTERVAL
        } else {
            started + INTERVAL
        };
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

/// This thread's disk writes (the copies into the database file and their sync) go to the disk after any
/// other's, so they do not delay the WAL syncs that writes wait for (the kernel's I/O schedulers age them, so
/// they are never starved). Best effort: without it (another OS, a refused call) they only compete as equals.
fn lower_io_priority() {
    // ioprio_set(IOPRIO_WHO_PROCESS, this thread, IOPRIO_PRIO_VALUE(IOPRIO_CLASS_IDLE, 0)).
    #[cfg(target_os = "linux")]
    // SAFETY: a plain system call on integers; it reads and writes no memory of ours.
    let set = unsafe { libc::syscall(libc::SYS_ioprio_set, 1, 0, 3 << 13) };
    #[cfg(target_os = "linux")]
    if set != 0 {
        tracing::debug!(error = %std::io::Error::last_os_error(), "cannot lower the checkpoint thread's I/O priority");
    }
}

/// A PASSIVE checkpoint; past `max_frames` of WAL, a catch-up for a restart. Returns whether the WAL is ready
/// to start over. Failures are logged and left for the next round: the WAL still holds every commit.
///
/// SQLite syncs the database file only at the end of a checkpoint that caught up with the whole WAL, which a
/// busy writer never lets a PASSIVE one do. So the pages the PASSIVE rounds copy sit in the OS page cache
/// until the restart, written there once however many rounds copied them. Left to the restart, that sync
/// flushed hundreds of megabytes while writers were held off (measured: 0.4–2 s). Instead this thread syncs
/// the file itself, holding no lock, and catches up again with what was committed meanwhile, until what is
/// left for the restart to copy and sync is small.
///
/// The restart itself is the writer's ([`restart`], between two batches): it must hold the write lock, and a
/// busy writer takes that again the moment it lets it go, so a RESTART from here (which cannot wait for the
/// lock without holding writers off while it waits) almost never got it.
fn checkpoint(conn: &Connection, db: &File, max_frames: i64) -> bool {
    let (log, mut copied) = match wal_checkpoint(conn, "PASSIVE") {
        Ok((_, log, copied)) => (log, copied),
        Err(e) => {
            tracing::warn!(error = %e, "WAL checkpoint failed");
            return false;
        }
    };
    if log <= max_frames {
        return false;
    }
    for _ in 0..CATCH_UP_ROUNDS {
        if let Err(e) = db.sync_data() {
            tracing::warn!(error = %e, "syncing the database file before a WAL restart failed");
            return false;
        }
        let before = copied;
        copied = match wal_checkpoint(conn, "PASSIVE") {
            Ok((_, _, copied)) => copied,
            Err(e) => {
                tracing::warn!(error = %e, "WAL checkpoint failed");
                return false;
            }
        };
        if copied - before <= SMALL_CATCH_UP {
            break;
        }
    }
    true
}

/// On the writer connection, between two transactions: copies the little the checkpoint thread left (see
/// [`checkpoint`]) and starts the WAL over, waiting at most [`RESTART_WAIT`] for readers on old snapshots.
/// Returns whether it did; if not, the thread asks again after its next round.
pub(super) fn restart(writer: &Connection) -> rusqlite::Result<bool> {
    writer.busy_timeout(RESTART_WAIT)?;
    let restarted = wal_checkpoint(writer, "RESTART");
    writer.busy_timeout(super::BUSY_TIMEOUT)?;
    Ok(restarted?.0 == 0)
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

    /// A database in WAL mode whose writer (returned) never checkpoints, with a table `t (x BLOB)` filled by
    /// `fill`, which so far lives in the WAL only.
    fn wal_database(fill: &str) -> (tempfile::TempDir, std::path::PathBuf, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch(&format!(
                "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; CREATE TABLE t (x BLOB); {fill};"
            ))
            .unwrap();
        (dir, path, writer)
    }

    /// A writer that never checkpoints leaves the WAL to this thread, which copies it into the database file
    /// and, past the bound, asks the writer to start it over; the writer's restart then lets the next commit
    /// write from the WAL's start.
    #[test]
    fn the_thread_catches_up_and_asks_the_writer_to_restart_the_wal() {
        let (dir, path, writer) = wal_database(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) \
             INSERT INTO t SELECT randomblob(4000) FROM n",
        );
        // Past the bound, and nothing copied yet (4 KiB pages, 24-byte frame headers).
        let max = 10_000;
        let wal = std::fs::metadata(dir.path().join("c.db-wal"))
            .unwrap()
            .len() as i64;
        assert!(wal / (4096 + 24) > max, "{wal} bytes");
        let c = Checkpointer::start_with(&path, max).unwrap();
        assert!(!c.restart_due(), "nothing asked before a commit");
        c.committed();
        // Closing waits for the round the poke started.
        c.close();
        assert!(
            c.restart_due(),
            "past the bound, the thread asks for a restart"
        );
        assert!(!c.restart_due(), "once per request");
        let copied = std::fs::metadata(&path).unwrap().len();
        assert!(
            copied > 20_000 * 4000,
            "the database file holds {copied} bytes"
        );
        assert!(restart(&writer).unwrap());
        let reader = Connection::open(&path).unwrap();
        writer.execute("INSERT INTO t VALUES (x'00')", []).unwrap();
        let after = wal_frames(&reader);
        assert!(after < 10, "the WAL holds {after} frames after the restart");
        let rows: i64 = reader
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 20_001);
    }

    /// Under the bound the thread only copies: no restart is asked for.
    #[test]
    fn a_small_wal_is_copied_and_left_to_grow() {
        let (_dir, path, _writer) = wal_database("INSERT INTO t VALUES (randomblob(40000))");
        let c = Checkpointer::start(&path).unwrap();
        c.committed();
        c.close();
        assert!(!c.restart_due());
        let copied = std::fs::metadata(&path).unwrap().len();
        assert!(copied > 40_000, "the database file holds {copied} bytes");
    }

    /// A reader on an old snapshot makes the writer's restart give up instead of holding writers off while it
    /// waits; once the reader is done, the restart succeeds. The writer's own lock wait is put back either way.
    #[test]
    fn a_restart_gives_up_on_a_reader_of_an_old_snapshot() {
        let (_dir, path, writer) = wal_database("INSERT INTO t VALUES (randomblob(40000))");
        let reader = Connection::open(&path).unwrap();
        reader.execute_batch("BEGIN").unwrap();
        let seen: i64 = reader
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(seen, 1);
        writer
            .execute("INSERT INTO t VALUES (randomblob(40000))", [])
            .unwrap();
        assert!(
            !restart(&writer).unwrap(),
            "restarted under a reader's snapshot"
        );
        let wait: i64 = writer
            .query_row("PRAGMA busy_timeout", [], |r| r.get(0))
            .unwrap();
        assert_eq!(wait, super::super::BUSY_TIMEOUT.as_millis() as i64);
        reader.execute_batch("COMMIT").unwrap();
        assert!(restart(&writer).unwrap());
        writer.execute("INSERT INTO t VALUES (x'00')", []).unwrap();
        assert!(wal_frames(&reader) < 5);
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
