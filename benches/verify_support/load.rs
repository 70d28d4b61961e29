//! A closed-loop HTTP/1.1 load generator: N keep-alive connections (hyper's client connection, no pool), each
//! sending its next request as soon as the previous answer is read, on a runtime with a chosen number of
//! threads. Every request that starts after the warm-up and ends before the deadline is one exact latency
//! sample; the throughput is their count over the measured window.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HOST, HeaderName, HeaderValue};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;

/// One request of the mix: path with query, and its headers.
#[derive(Clone, Debug)]
pub struct Req {
    pub path: String,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

#[derive(Clone, Copy, Debug)]
pub struct LoadConfig {
    pub connections: usize,
    /// Threads of the client's runtime (1 = a current-thread runtime).
    pub client_threads: usize,
    pub warm_up: Duration,
    pub duration: Duration,
}

#[derive(Debug)]
pub struct LoadResult {
    /// Latencies of the requests in the measured window, sorted ascending.
    pub latencies: Vec<Duration>,
    /// Answers in the window by status.
    pub statuses: BTreeMap<u16, u64>,
    pub window: Duration,
    /// What the probe's CPU clocks advanced by over the window (e.g. server and client CPU time).
    pub cpu: [Duration; 2],
}

impl LoadResult {
    pub fn per_sec(&self) -> f64 {
        self.latencies.len() as f64 / self.window.as_secs_f64()
    }

    /// Answers in the window whose status was not `expected`.
    pub fn unexpected(&self, expected: StatusCode) -> u64 {
        self.statuses
            .iter()
            .filter(|(s, _)| **s != expected.as_u16())
            .map(|(_, n)| n)
            .sum()
    }
}

/// Opens one keep-alive connection and drives it on the current runtime.
pub async fn connect(addr: SocketAddr) -> anyhow::Result<SendRequest<Empty<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true)?;
    let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// Sends `req` on `sender`, reads the whole answer, and returns its status.
pub async fn send(
    sender: &mut SendRequest<Empty<Bytes>>,
    addr: SocketAddr,
    req: &Req,
) -> anyhow::Result<(StatusCode, hyper::HeaderMap)> {
    let mut builder = Request::get(req.path.as_str()).header(HOST, addr.to_string());
    for (name, value) in &req.headers {
        builder = builder.header(name, value);
    }
    sender.ready().await?;
    let resp = sender.send_request(builder.body(Empty::new())?).await?;
    let (parts, body) = resp.into_parts();
    body.collect().await?;
    Ok((parts.status, parts.headers))
}

/// Runs the load: connection `i` walks the mix from position `i`, so the connections spread over it. `probe`
/// is read at the start and the end of the measured window.
pub fn run(
    addr: SocketAddr,
    mix: &[Req],
    config: LoadConfig,
    probe: &dyn Fn() -> [Duration; 2],
) -> anyhow::Result<LoadResult> {
    run_over(&[addr], mix, config, probe)
}

/// [`run`] against several servers (replicas behind no balancer): connection `i` goes to `addrs[i % n]`.
pub fn run_over(
    addrs: &[SocketAddr],
    mix: &[Req],
    config: LoadConfig,
    probe: &dyn Fn() -> [Duration; 2],
) -> anyhow::Result<LoadResult> {
    anyhow::ensure!(!addrs.is_empty(), "no server to load");
    let rt = if config.client_threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.client_threads)
            .enable_all()
            .build()?
    };
    rt.block_on(async {
        let mut senders = Vec::with_capacity(config.connections);
        for i in 0..config.connections {
            let addr = addrs[i % addrs.len()];
            senders.push((addr, connect(addr).await?));
        }
        let start = Instant::now();
        let window_start = start + config.warm_up;
        let window_end = window_start + config.duration;
        let mut tasks = Vec::new();
        for (i, (addr, mut sender)) in senders.into_iter().enumerate() {
            let mix = mix.to_vec();
            tasks.push(tokio::spawn(async move {
                let host = HeaderValue::from_str(&addr.to_string())?;
                let mut latencies = Vec::new();
                let mut statuses = BTreeMap::<u16, u64>::new();
                let mut next = i % mix.len();
                loop {
                    let req = &mix[next];
                    next = (next + 1) % mix.len();
                    let mut builder = Request::get(req.path.as_str()).header(HOST, host.clone());
                    for (name, value) in &req.headers {
                        builder = builder.header(name, value.clone());
                    }
                    let request = builder.body(Empty::new())?;
                    sender.ready().await?;
                    let began = Instant::now();
                    if began >= window_end {
                        break;
                    }
                    let resp = sender.send_request(request).await?;
                    let status = resp.status();
                    resp.into_body().collect().await?;
                    let ended = Instant::now();
                    if began >= window_start && ended <= window_end {
                        latencies.push(ended - began);
                        *statuses.entry(status.as_u16()).or_default() += 1;
                    }
                }
                anyhow::Ok((latencies, statuses))
            }));
        }
        let window = async {
            tokio::time::sleep_until(window_start.into()).await;
            let before = probe();
            tokio::time::sleep_until(window_end.into()).await;
            let after = probe();
            [0, 1].map(|i| after[i].saturating_sub(before[i]))
        };
        let cpu = window.await;
        let mut latencies = Vec::new();
        let mut statuses = BTreeMap::<u16, u64>::new();
        for task in tasks {
            let (l, s) = task.await??;
            latencies.extend(l);
            for (k, v) in s {
                *statuses.entry(k).or_default() += v;
            }
        }
        latencies.sort_unstable();
        Ok(LoadResult {
            latencies,
            statuses,
            window: config.duration,
            cpu,
        })
    })
}
