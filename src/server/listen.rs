//! The listening socket: accepts TCP (optionally TLS) connections and serves HTTP/1.1 on each, with a header-read
//! timeout, an idle keep-alive timeout, a body-read bound and a cap on open connections. At the cap the
//! connection with no request in progress that finished a request longest ago (or never did) is closed to make
//! room, so idle or slow clients can never lock real ones out, while a proxy's busy keep-alive pool is the last to
//! go; when every connection is busy a newcomer gets a short 503 instead of a hang.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, watch};
use tokio::time::Sleep;
use tower::ServiceExt;

/// File descriptors kept back from the connection cap for the database, the log and the listener itself.
const RESERVED_FDS: u64 = 128;
/// The most connections a server holds open unless told otherwise, whatever the open-file limit.
const DEFAULT_MAX_CONNECTIONS: u64 = 16_384;
/// Newcomers turned away at the same time (each holds a socket for at most `REFUSAL_TIMEOUT`).
const MAX_REFUSALS_IN_FLIGHT: usize = 32;
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a graceful stop waits for in-flight requests before dropping their connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The bounds every connection is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// From a request's first byte to its complete head (and for a TLS handshake).
    pub header_timeout: Duration,
    /// How long a keep-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// How long a handler may take to receive a request body.
    pub body_timeout: Duration,
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(60),
            max_connections: DEFAULT_MAX_CONNECTIONS as usize,
        }
    }
}

impl Limits {
    /// The default limits with a connection cap that leaves room under an open-file limit of `nofile`.
    pub fn for_open_files(nofile: u64) -> Limits {
        let cap = nofile
            .saturating_sub(RESERVED_FDS)
            .clamp(16, DEFAULT_MAX_CONNECTIONS);
        Limits {
            max_connections: cap as usize,
            ..Limits::default()
        }
    }
}

/// Raises the soft open-file limit to the hard one (as nginx and Go do) and returns `(before, after)`.
pub fn raise_open_file_limit() -> io::Result<(u64, u64)> {
    let (soft, _hard) = rlimit::Resource::NOFILE.get()?;
    let after = rlimit::increase_nofile_limit(u64::MAX)?;
    Ok((soft, after))
}

/// The soft open-file limit now in force.
pub fn open_file_limit() -> u64 {
    rlimit::Resource::NOFILE
        .get()
        .map(|(soft, _)| soft)
        .unwrap_or(1024)
}

/// Loads a PEM certificate chain and private key into a TLS acceptor offering HTTP/1.1. The key must not be
/// readable by others (group-readable is allowed, as with Debian's `ssl-cert` group).
pub fn tls_acceptor(cert: &Path, key: &Path) -> anyhow::Result<tokio_rustls::TlsAcceptor> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(key)
        .with_context(|| format!("cannot read the TLS key {}", key.display()))?
        .permissions()
        .mode();
    if mode & 0o007 != 0 {
        anyhow::bail!(
            "the TLS key {} is accessible by others (mode {:04o}); run: chmod 600 {}",
            key.display(),
            mode & 0o7777,
            key.display()
        );
    }
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow::anyhow!("cannot read the TLS certificate {}: {e}", cert.display()))?;
    if certs.is_empty() {
        anyhow::bail!("{} holds no PEM certificate", cert.display());
    }
    let key_der = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| anyhow::anyhow!("cannot read the TLS key {}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .with_context(|| {
            format!(
                "the TLS key {} does not fit the certificate {}",
                key.display(),
                cert.display()
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// What a connection is doing, as eviction and the timeouts see it.
const IDLE: u8 = 0;
const HEAD: u8 = 1;
const BUSY: u8 = 2;

struct Tracked {
    /// When the connection last finished a request (or opened), in milliseconds since the registry began.
    last_done: AtomicU64,
    phase: AtomicU8,
    kill: Notify,
}

struct Registry {
    conns: Mutex<HashMap<u64, Arc<Tracked>>>,
    next: AtomicU64,
    epoch: Instant,
}

impl Default for Registry {
    fn default() -> Registry {
        Registry {
            conns: Mutex::default(),
            next: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Tracked>>> {
        self.conns.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn len(&self) -> usize {
        self.lock().len()
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn insert(&self) -> (u64, Arc<Tracked>) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let tracked = Arc::new(Tracked {
            last_done: AtomicU64::new(self.now_ms()),
            phase: AtomicU8::new(IDLE),
            kill: Notify::new(),
        });
        self.lock().insert(id, tracked.clone());
        (id, tracked)
    }

    fn remove(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// Closes the connection with no request in progress that has been quiet longest; false when every one is
    /// busy.
    fn evict_one(&self) -> bool {
        let mut conns = self.lock();
        let victim = conns
            .iter()
            .filter(|(_, t)| t.phase.load(Ordering::Relaxed) != BUSY)
            .min_by_key(|(id, t)| (t.last_done.load(Ordering::Relaxed), **id))
            .map(|(id, _)| *id);
        match victim.and_then(|id| conns.remove(&id)) {
            Some(t) => {
                t.kill.notify_one();
                true
            }
            None => false,
        }
    }
}

/// Removes a connection from the registry when its task ends, however it ends.
struct Registered(Arc<Registry>, u64);

impl Drop for Registered {
    fn drop(&mut self) {
        self.0.remove(self.1);
    }
}

/// A connection's byte stream with the header and idle timeouts applied to its reads: idle too long reads as a
/// clean end of stream, a request head that does not arrive in time as an error. Both close the connection.
struct Guarded<S> {
    inner: S,
    tracked: Arc<Tracked>,
    limits: Limits,
    /// One timer for the connection's life, re-armed as phases change (cheaper than a new one per phase, twice per
    /// request); `armed` is the phase it is set for, BUSY when it is not in force.
    deadline: Option<Pin<Box<Sleep>>>,
    armed: u8,
}

impl<S> Guarded<S> {
    fn new(inner: S, tracked: Arc<Tracked>, limits: Limits) -> Guarded<S> {
        Guarded {
            inner,
            tracked,
            limits,
            deadline: None,
            armed: BUSY,
        }
    }

    /// The deadline for the current phase, armed when the phase begins.
    fn deadline_for(&mut self, phase: u8) -> Option<&mut Pin<Box<Sleep>>> {
        let limit = match phase {
            IDLE => self.limits.idle_timeout,
            HEAD => self.limits.header_timeout,
            _ => {
                // A busy connection has no deadline here; the timer may still fire once, a spurious wake-up.
                self.armed = BUSY;
                return None;
            }
        };
        if self.armed != phase {
            self.armed = phase;
            let at = tokio::time::Instant::now() + limit;
            match self.deadline.as_mut() {
                Some(sleep) => sleep.as_mut().reset(at),
                None => self.deadline = Some(Box::pin(tokio::time::sleep_until(at))),
            }
        }
        self.deadline.as_mut()
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Guarded<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        let got_bytes = buf.filled().len() > before;
        if got_bytes {
            // The first byte after an idle spell starts a request head (body bytes arrive while busy).
            let _ = this.tracked.phase.compare_exchange(
                IDLE,
                HEAD,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
        let phase = this.tracked.phase.load(Ordering::Relaxed);
        let Some(deadline) = this.deadline_for(phase) else {
            return result;
        };
        let expired = match &result {
            Poll::Pending => deadline.as_mut().poll(cx).is_ready(),
            Poll::Ready(_) => deadline.is_elapsed(),
        };
        if !expired {
            return result;
        }
        if phase == IDLE && !got_bytes {
            // A keep-alive connection that stayed quiet: end it as if the client had closed it.
            return Poll::Ready(Ok(()));
        }
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "request head not received in time",
        )))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// A route answered before (and without) the router: requests for `path` with one of `methods` go straight to
/// `handle` — `/verify`, which a proxy calls once per request it protects, so routing and the middleware stack
/// are not paid for each. Everything else goes through the router as before.
#[derive(Clone)]
pub struct FastRoute {
    pub path: &'static str,
    pub methods: &'static [axum::http::Method],
    pub handle: Arc<
        dyn Fn(
                axum::extract::Request,
            ) -> futures_util::future::BoxFuture<'static, axum::response::Response>
            + Send
            + Sync,
    >,
}

impl FastRoute {
    fn takes<B>(&self, req: &hyper::Request<B>) -> bool {
        req.uri().path() == self.path && self.methods.contains(req.method())
    }
}

/// The body-read bound handlers apply, reachable from a request's extensions.
#[derive(Debug, Clone, Copy)]
pub struct BodyTimeout(pub Duration);

/// Serves `router` on `listener` until `stop` changes, then lets in-flight requests finish (bounded).
pub async fn serve(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    limits: Limits,
    router: Router,
    fast: Option<FastRoute>,
    mut stop: watch::Receiver<bool>,
) {
    let registry = Arc::new(Registry::default());
    let refusals = Arc::new(Semaphore::new(MAX_REFUSALS_IN_FLIGHT));
    // Every connection task holds a sender; when all are gone, every connection has closed.
    let (done_tx, mut done_rx) = tokio::sync::mpsc::channel::<()>(1);
    let mut accept_errors = 0u64;
    loop {
        let accepted = tokio::select! {
            biased;
            _ = stop.changed() => break,
            a = listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors (or another transient failure): make room and back off briefly
                // instead of spinning on the error.
                let exhausted = matches!(e.raw_os_error(), Some(libc::EMFILE) | Some(libc::ENFILE));
                if exhausted {
                    registry.evict_one();
                }
                accept_errors += 1;
                if accept_errors.is_power_of_two() {
                    tracing::warn!(error = %e, count = accept_errors, "cannot accept a connection");
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        if registry.len() >= limits.max_connections && !registry.evict_one() {
            refuse(stream, &refusals);
            continue;
        }
        let (id, tracked) = registry.insert();
        let registered = Registered(registry.clone(), id);
        let conn = Conn {
            router: router.clone(),
            fast: fast.clone(),
            limits,
            peer,
            tracked,
            registry: registry.clone(),
            stop: stop.clone(),
        };
        let tls = tls.clone();
        let done = done_tx.clone();
        tokio::spawn(async move {
            let _registered = registered;
            let _done = done;
            match tls {
                None => conn.run(stream).await,
                Some(acceptor) => {
                    let handshake = tokio::select! {
                        h = tokio::time::timeout(limits.header_timeout, acceptor.accept(stream)) => h,
                        _ = conn.tracked.kill.notified() => return,
                    };
                    match handshake {
                        Ok(Ok(tls_stream)) => conn.run(tls_stream).await,
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
            }
        });
    }
    drop(listener);
    drop(done_tx);
    if tokio::time::timeout(SHUTDOWN_GRACE, done_rx.recv())
        .await
        .is_err()
    {
        tracing::warn!(
            open = registry.len(),
            "connections still open after the grace period; closing them"
        );
    }
}

/// Turns a newcomer away with a 503 when every connection is busy; drops it outright when even that would pile
/// up sockets.
fn refuse(mut stream: TcpStream, refusals: &Arc<Semaphore>) {
    let Ok(permit) = refusals.clone().try_acquire_owned() else {
        return;
    };
    tokio::spawn(async move {
        let _permit = permit;
        let body = r#"{"code":"unavailable","message":"the server has too many open connections; retry shortly"}"#;
        let response = format!(
            "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\n\
             connection: close\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        let _ = tokio::time::timeout(REFUSAL_TIMEOUT, async {
            stream.write_all(response.as_bytes()).await?;
            stream.shutdown().await
        })
        .await;
    });
}

struct Conn {
    router: Router,
    fast: Option<FastRoute>,
    limits: Limits,
    peer: SocketAddr,
    tracked: Arc<Tracked>,
    registry: Arc<Registry>,
    stop: watch::Receiver<bool>,
}

impl Conn {
    async fn run<S>(mut self, io: S)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let guarded = Guarded::new(io, self.tracked.clone(), self.limits);
        let (router, fast, peer, limits, tracked, registry) = (
            self.router.clone(),
            self.fast.clone(),
            self.peer,
            self.limits,
            self.tracked.clone(),
            self.registry.clone(),
        );
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            tracked.phase.store(BUSY, Ordering::Relaxed);
            req.extensions_mut().insert(ConnectInfo(peer));
            req.extensions_mut()
                .insert(BodyTimeout(limits.body_timeout));
            let handle = fast
                .as_ref()
                .filter(|f| f.takes(&req))
                .map(|f| f.handle.clone());
            let (router, tracked, registry) = (router.clone(), tracked.clone(), registry.clone());
            async move {
                let req = req.map(axum::body::Body::new);
                let response = match handle {
                    Some(handle) => Ok(handle(req).await),
                    None => router.oneshot(req).await,
                };
                tracked
                    .last_done
                    .store(registry.now_ms(), Ordering::Relaxed);
                tracked.phase.store(IDLE, Ordering::Relaxed);
                response
            }
        });
        let conn = hyper::server::conn::http1::Builder::new()
            .keep_alive(true)
            .max_buf_size(64 * 1024)
            .serve_connection(TokioIo::new(guarded), service);
        tokio::pin!(conn);
        tokio::select! {
            served = conn.as_mut() => {
                if let Err(e) = served {
                    tracing::debug!(peer = %self.peer, error = %e, "connection ended with an error");
                }
            }
            _ = self.tracked.kill.notified() => {
                tracing::debug!(peer = %self.peer, "idle connection closed to make room");
            }
            _ = self.stop.changed() => {
                conn.as_mut().graceful_shutdown();
                let _ = tokio::time::timeout(SHUTDOWN_GRACE, conn).await;
            }
        }
    }
}
