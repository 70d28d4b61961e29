//! Durability of the writer's commits, off the writer's path. The writer connection commits with
//! `synchronous=NORMAL` — COMMIT writes the transaction's frames to the WAL file and returns without an fsync —
//! and hands the batch's answers here; this thread syncs the WAL file (`fdatasync`) and only then answers them.
//! A write is still acknowledged only once it is on disk (the WAL's checksummed frames, replayed after a power
//! loss up to the last whole commit, hold it), but the writer runs the next batch while the disk syncs, and one
//! sync covers every batch committed meanwhile. A commit is visible to readers from its COMMIT, a little
//! before its writer hears of it; should the sync fail, its writers get the error. Checkpoints keep SQLite's
//! own rule for NORMAL: the WAL is synced before frames are copied and the database after.

use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::writer::Ran;
use crate::store::StoreError;

/// How the WAL is made durable: `fdatasync` of its file in production, anything in tests.
pub(super) type SyncFn = Arc<dyn Fn() -> io::Result<()> + Send + Sync>;

/// The sync thread and its queue of committed batches waiting to be answered.
pub(super) struct Syncer {
    queue: Mutex<Option<Sender<Vec<Ran>>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    sync: SyncFn,
}

impl std::fmt::Debug for Syncer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Syncer").finish_non_exhaustive()
    }
}

impl Syncer {
    /// Syncs the WAL file of the database at `db` (which must be in WAL mode and opened, so the file exists).
    pub(super) fn for_wal(db: &Path) -> io::Result<Syncer> {
        let mut name = db.as_os_str().to_owned();
        name.push("-wal");
        // fdatasync works on a descriptor opened for reading; SQLite keeps this file (the same inode) while any
        // of its connections is open, and the store keeps one open for its whole life.
        let wal = File::open(Path::new(&name))?;
        Syncer::start(Arc::new(move || wal.sync_data()))
    }

    pub(super) fn start(sync: SyncFn) -> io::Result<Syncer> {
        let (queue, batches) = mpsc::channel();
        let thread_sync = sync.clone();
        let thread = std::thread::Builder::new()
            .name("sacon-wal-sync".into())
            .spawn(move || run(&batches, &*thread_sync))?;
        Ok(Syncer {
            queue: Mutex::new(Some(queue)),
            thread: Mutex::new(Some(thread)),
            sync,
        })
    }

    /// Answers `done`, a committed batch's writes, once the WAL holding them is synced. After `close`, syncs
    /// on the caller's thread.
    pub(super) fn deliver(&self, done: Vec<Ran>) {
        let queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        let done = match queue.as_ref() {
            Some(q) => match q.send(done) {
                Ok(()) => return,
                Err(mpsc::SendError(done)) => done,
            },
            None => done,
        };
        drop(queue);
        answer(vec![done], (self.sync)());
    }

    /// Stops the thread once it has answered every batch handed to it.
    pub(super) fn close(&self) {
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).take();
        let thread = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

impl Drop for Syncer {
    fn drop(&mut self) {
        self.close();
    }
}

/// Until the queue closes: take every batch waiting, sync once, answer them all.
fn run(batches: &Receiver<Vec<Ran>>, sync: &(dyn Fn() -> io::Result<()> + Send + Sync)) {
    while let Ok(first) = batches.recv() {
        let mut waiting = vec![first];
        waiting.extend(batches.try_iter());
        answer(waiting, sync());
    }
}

fn answer(batches: Vec<Vec<Ran>>, synced: io::Result<()>) {
    let outcome = synced.err().map(|e| {
        tracing::error!(error = %e, "cannot sync the database's WAL");
        StoreError::Internal(format!(
            "the change is committed but may not survive a power loss: syncing the database's WAL failed: {e}"
        ))
    });
    for ran in batches.into_iter().flatten() {
        (ran.deliver)(outcome.clone());
    }
}
