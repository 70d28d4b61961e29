//! Abusive clients held open beside the load: connections that send nothing, and slowloris connections that
//! trickle a request head a byte every 3 s (re-opened when the server closes them, so the count holds for the
//! whole window). They run on their own thread and runtime and stop when dropped.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

pub struct Attack {
    stop: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Slowloris connections the server closed (and that were opened again).
    pub closed_by_server: Arc<AtomicU64>,
}

impl Drop for Attack {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Opens `idle` silent connections and `slowloris` trickling ones to `addr`; returns once all are open.
pub fn start(addr: SocketAddr, idle: usize, slowloris: usize) -> anyhow::Result<Attack> {
    let (stop, stop_rx) = watch::channel(false);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<anyhow::Result<()>>();
    let closed = Arc::new(AtomicU64::new(0));
    let closed_in = closed.clone();
    let thread = std::thread::spawn(move || {
        let rt = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                let _ = ready_tx.send(Err(e.into()));
                return;
            }
        };
        rt.block_on(async move {
            let mut held = Vec::with_capacity(idle);
            for _ in 0..idle {
                match tokio::net::TcpStream::connect(addr).await {
                    Ok(s) => held.push(s),
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.into()));
                        return;
                    }
                }
            }
            let tasks: Vec<_> = (0..slowloris)
                .map(|_| tokio::spawn(trickle(addr, stop_rx.clone(), closed_in.clone())))
                .collect();
            let _ = ready_tx.send(Ok(()));
            let mut stop_rx = stop_rx;
            let _ = stop_rx.changed().await;
            for t in tasks {
                let _ = t.await;
            }
            drop(held);
        });
    });
    ready_rx.recv()??;
    Ok(Attack {
        stop,
        thread: Some(thread),
        closed_by_server: closed,
    })
}

async fn trickle(addr: SocketAddr, mut stop: watch::Receiver<bool>, closed: Arc<AtomicU64>) {
    let mut buf = [0u8; 256];
    loop {
        let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else {
            return;
        };
        if s.write_all(b"GET /verify HTTP/1.1\r\nHost: x\r\n")
            .await
            .is_err()
        {
            continue;
        }
        let mut tick = tokio::time::interval(Duration::from_secs(3));
        tick.tick().await;
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                _ = tick.tick() => {
                    if s.write_all(b"X").await.is_err() {
                        break;
                    }
                }
                n = s.read(&mut buf) => {
                    if matches!(n, Ok(0) | Err(_)) {
                        break;
                    }
                }
            }
        }
        closed.fetch_add(1, Ordering::Relaxed);
    }
}
