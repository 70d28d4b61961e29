//! The server against abusive clients, over real sockets: idle and slowloris connections at a low open-file
//! limit, a log that stays bounded under oversized requests, one `/verify` scope, refusals on a keep-alive
//! connection, TLS and the plaintext refusal, throttled guessing of admin credentials, and private data files.

use std::io::BufReader;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::support::TestServer;
use sacon::api::{Client, ClientOptions, Credentials};
use sacon::token::SharedSecret;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A `sacon serve` child; killed when dropped.
struct Serve {
    child: Child,
    url: String,
    dir: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serve {
    fn secret(&self) -> SharedSecret {
        SharedSecret::load(&sacon::config::secret_path(&self.dir)).unwrap()
    }

    fn client(&self) -> Client {
        Client::new(
            &self.url,
            Credentials::SharedSecret(self.secret()),
            ClientOptions::default(),
        )
        .unwrap()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(sacon::config::log_path(&self.dir)).unwrap_or_default()
    }
}

fn serve_command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sacon"));
    cmd.arg("serve");
    if !args.contains(&"--listen") {
        cmd.args(["--listen", "127.0.0.1:0"]);
    }
    cmd.arg("--data-dir")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Starts `sacon serve` and waits (bounded) for its `listening on` line.
fn start_serve(args: &[&str], nofile: Option<(u64, u64)>, env: &[(&str, &str)]) -> Serve {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut cmd = serve_command(&dir, args);
    cmd.envs(env.iter().copied());
    if let Some((soft, hard)) = nofile {
        use std::os::unix::process::CommandExt;
        // SAFETY: setrlimit is async-signal-safe and touches only the child's own limits.
        unsafe {
            cmd.pre_exec(move || rlimit::setrlimit(rlimit::Resource::NOFILE, soft, hard));
        }
    }
    let mut child = cmd.spawn().unwrap();
    let (url, _rest) = crate::support::serve::listening_url(&mut child);
    Serve {
        child,
        url,
        dir,
        _tmp: tmp,
    }
}

/// Runs `sacon serve` that is expected to refuse to start; returns its stderr.
fn refused_serve(dir: &Path, args: &[&str]) -> String {
    let mut child = serve_command(dir, args).spawn().unwrap();
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut text);
        let _ = tx.send(text);
    });
    let text = rx
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("sacon serve did not exit")
        });
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "stderr: {text}");
    text
}

fn raise_own_file_limit() {
    rlimit::increase_nofile_limit(u64::MAX).unwrap();
}

async fn make_account(client: &Client, user: &str) -> String {
    let (_, jwt) = client
        .create_account(sacon::api::wire::ServiceAccount {
            user_id: Some(user.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    jwt.to_string()
}

/// A slowloris client: a request head trickled a byte a second. Returns when the server closes the connection.
async fn slowloris(addr: String) -> bool {
    let Ok(mut s) = tokio::net::TcpStream::connect(&addr).await else {
        return false;
    };
    if s.write_all(b"GET /verify HTTP/1.1\r\nHost: x\r\n")
        .await
        .is_err()
    {
        return true;
    }
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut buf = [0u8; 512];
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if s.write_all(b"X").await.is_err() {
                    return true;
                }
            }
            n = s.read(&mut buf) => {
                if matches!(n, Ok(0) | Err(_)) {
                    return true;
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_slowloris_connections_do_not_lock_out_clients() {
    raise_own_file_limit();
    // soft = hard = 1024: the server cannot raise its limit and must make do.
    let serve = start_serve(
        &["--header-timeout", "4s", "--idle-timeout", "30s"],
        Some((1024, 1024)),
        &[],
    );
    let addr = serve.url.trim_start_matches("http://").to_string();
    let client = serve.client();
    let jwt = make_account(&client, "under-attack").await;

    let mut idle = Vec::new();
    for _ in 0..1100 {
        if let Ok(s) = tokio::net::TcpStream::connect(&addr).await {
            idle.push(s);
        }
    }
    let lorises: Vec<_> = (0..300)
        .map(|_| tokio::spawn(slowloris(addr.clone())))
        .collect();

    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    for i in 0..20 {
        let resp = http
            .get(format!("{}/verify", serve.url))
            .header("X-Pomerium-Authorization", &jwt)
            .send()
            .await
            .unwrap_or_else(|e| panic!("verify {i} while under attack: {e}"));
        assert_eq!(resp.status(), 200, "verify {i}");
        let listed = client.list_accounts(&Default::default()).await;
        assert!(
            listed.is_ok(),
            "API call {i} while under attack: {listed:?}"
        );
    }

    // The header timeout ends every slowloris connection, however steadily it trickles.
    for l in lorises {
        let closed = tokio::time::timeout(Duration::from_secs(60), l).await;
        assert!(
            matches!(closed, Ok(Ok(true))),
            "a slowloris connection was closed"
        );
    }
    drop(idle);
    let log = serve.log();
    assert!(
        log.contains("open-file limit") && log.contains("after=1024"),
        "the limit is logged: {log}"
    );
}

#[tokio::test]
async fn the_soft_open_file_limit_is_raised_to_the_hard_one() {
    let serve = start_serve(&[], Some((1024, 4096)), &[]);
    serve.client().server_info().await.unwrap();
    let log = serve.log();
    assert!(
        log.contains("before=1024") && log.contains("after=4096"),
        "{log}"
    );
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed() {
    let serve = start_serve(&["--idle-timeout", "1s"], None, &[]);
    let addr = serve.url.trim_start_matches("http://").to_string();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    s.write_all(
        b"POST /pomerium.config.ConfigService/GetServerInfo HTTP/1.1\r\nHost: x\r\n\
          Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
    )
    .await
    .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    // The answer, then end of stream once the connection has been idle too long.
    let closed = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the idle connection was closed");
    assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn the_log_stays_bounded_under_oversized_requests() {
    let serve = start_serve(&[], None, &[("RUST_LOG", "debug")]);
    let client = serve.client();
    let jwt = make_account(&client, "log-bound").await;
    let http = reqwest::Client::new();
    let long_path = format!("/{}", "a".repeat(60_000));
    let long_ns = "N".repeat(8_000);
    let mid_ns = "N".repeat(1_000);
    let flood = std::time::Instant::now();
    for i in 0..200 {
        let resp = match i % 4 {
            0 => http.post(format!("{}{long_path}", serve.url)).send().await,
            1 => {
                http.get(format!("{}/verify", serve.url))
                    .header("X-Pomerium-Authorization", &jwt)
                    .header("X-Sacon-Namespace", &long_ns)
                    .send()
                    .await
            }
            2 => {
                http.get(format!("{}/verify", serve.url))
                    .header("X-Pomerium-Authorization", &jwt)
                    .header("X-Sacon-Namespace", &mid_ns)
                    .send()
                    .await
            }
            _ => {
                http.get(format!("{}/verify", serve.url))
                    .header("X-Forwarded-Authorization", format!("Bearer {jwt}"))
                    .header("User-Agent", "U".repeat(10_000))
                    .send()
                    .await
            }
        };
        let status = resp.unwrap().status().as_u16();
        assert!(
            matches!(status, 400 | 401 | 403 | 404),
            "request {i}: {status}"
        );
    }
    let elapsed = flood.elapsed().as_secs_f64();
    let log = serve.log();
    // Debug logs one bounded line per request; info-level lines are rate-limited per kind of refusal (a burst of
    // 20, then 5 a second), whatever the machine's speed.
    let request_lines: Vec<&str> = log.lines().filter(|l| !l.contains("sqlx::")).collect();
    let longest = request_lines.iter().map(|l| l.len()).max().unwrap_or(0);
    assert!(longest < 800, "a {longest}-byte log line");
    let info = request_lines
        .iter()
        .filter(|l| l.contains(" INFO ") && l.contains("kind="))
        .count();
    let kinds = [
        "api_refused_request",
        "verify_refused_request",
        "verify_refused",
        "verify_bad_scope",
    ];
    let budget = kinds.len() as f64 * (20.0 + 5.0 * (elapsed + 1.0));
    assert!(
        (info as f64) <= budget,
        "{info} refusal lines in {elapsed:.1} s (budget {budget:.0})"
    );
    assert!(info < 200 * 2, "fewer lines than refusals");
    assert!(!log.contains(&"a".repeat(300)), "a whole path was logged");
    assert!(
        !log.contains(&"N".repeat(300)),
        "a whole namespace was logged"
    );
    assert!(!log.contains(&"U".repeat(300)), "a whole header was logged");
    let signature = jwt.rsplit('.').next().unwrap();
    assert!(!log.contains(signature), "a forwarded JWT reached the log");
    assert!(log.contains("[cut, "), "cut values are marked: {log}");
    assert!(
        log.contains("kind=\"verify_refused\" total="),
        "refusals are counted: {log}"
    );
    assert!(
        log.contains("suppressed"),
        "left-out lines are counted: {log}"
    );
}

#[tokio::test]
async fn rotated_logs_stay_within_their_bound() {
    let serve = start_serve(&[], None, &[("SACON_LOG_MAX_BYTES", "4096")]);
    let http = reqwest::Client::new();
    for _ in 0..400 {
        let resp = http
            .post(format!(
                "{}/pomerium.config.ConfigService/GetServerInfo",
                serve.url
            ))
            .header("Content-Type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
    let log_path = sacon::config::log_path(&serve.dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&serve.dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("sacon.log")
        })
        .collect();
    files.sort();
    assert!(files.len() > 1, "the log was rotated: {files:?}");
    assert!(
        files.len() <= sacon::logging::KEPT_LOGS + 1,
        "old logs are removed: {files:?}"
    );
    for f in &files {
        let meta = std::fs::metadata(f).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{f:?}");
        assert!(meta.len() < 2 * 4096, "{f:?} is {} bytes", meta.len());
    }
    assert!(files.contains(&log_path));
}

#[tokio::test]
async fn the_verify_scope_is_one_value() {
    let s = TestServer::start().await;
    let root = s.root_id().await;
    let ops = s
        .client
        .set_namespace("", &root, "Operations")
        .await
        .unwrap();
    let _eng = s
        .client
        .set_namespace("", &root, "Engineering")
        .await
        .unwrap();
    let (_, jwt) = s
        .client
        .create_account(sacon::api::wire::ServiceAccount {
            user_id: Some("ops-bot".into()),
            namespace_id: Some(ops.id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    let tok = ("X-Pomerium-Authorization", jwt.as_str());
    let q_eng = "?namespace=Global/Engineering";
    assert_eq!(
        s.verify(&[tok], q_eng).await.0,
        403,
        "outside its namespace"
    );
    assert_eq!(
        s.verify(&[tok, ("X-Sacon-Namespace", "Global/Operations")], q_eng)
            .await
            .0,
        400,
        "a header may not override the query's scope"
    );
    assert_eq!(
        s.verify(&[tok, ("X-Sacon-Namespace", "")], "").await.0,
        400,
        "an empty scope is refused, not ignored"
    );
    assert_eq!(s.verify(&[tok], "?namespace=").await.0, 400);
    assert_eq!(s.verify(&[tok], "?namespace=%20").await.0, 400);
    assert_eq!(
        s.verify(
            &[tok],
            "?namespace=Global/Operations&namespace=Global/Engineering"
        )
        .await
        .0,
        400
    );
    assert_eq!(
        s.verify(
            &[
                tok,
                ("X-Sacon-Namespace", "Global/Operations"),
                ("X-Sacon-Namespace", "Global/Engineering")
            ],
            ""
        )
        .await
        .0,
        400
    );
    assert_eq!(
        s.verify(
            &[tok, ("X-Sacon-Namespace", "Global/Operations")],
            "?namespace=Global/Operations"
        )
        .await
        .0,
        200,
        "the same scope twice is one scope"
    );
    assert_eq!(
        s.verify(&[tok, ("X-Sacon-Namespace", &ops.id)], "").await.0,
        200
    );
}

/// Sends two requests on one keep-alive connection and returns both statuses and the first's headers.
async fn two_on_one_connection(
    url: &str,
    first: hyper::Request<String>,
) -> (u16, hyper::HeaderMap, Result<u16, String>) {
    let addr = url.trim_start_matches("http://");
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let resp = sender.send_request(first).await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    let err: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(err["code"].is_string(), "a Connect error body: {err}");
    let second = async {
        sender.ready().await.map_err(|e| e.to_string())?;
        let req = hyper::Request::post("/pomerium.config.ConfigService/GetServerInfo")
            .header("host", "x")
            .header("content-type", "application/json")
            .body("{}".to_string())
            .unwrap();
        let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
        Ok(resp.status().as_u16())
    }
    .await;
    (status, headers, second)
}

#[tokio::test]
async fn refusals_leave_a_keep_alive_connection_usable() {
    let s = TestServer::start().await;
    let body = format!(r#"{{"pad":"{}"}}"#, "x".repeat(256 * 1024));
    let post = |path: &str| {
        hyper::Request::post(path)
            .header("host", "x")
            .header("content-type", "application/json")
            .body(body.clone())
            .unwrap()
    };
    for (path, want) in [
        ("/no.such.Service/Method", 404),
        ("/pomerium.config.ConfigService/ListServiceAccounts", 401),
    ] {
        let (status, _, second) = two_on_one_connection(&s.url, post(path)).await;
        assert_eq!(status, want, "{path}");
        assert_eq!(
            second,
            Ok(200),
            "the next call on the connection after {path}"
        );
    }
    // Too large to read: the answer says the connection closes.
    let huge = hyper::Request::post("/pomerium.config.ConfigService/ListServiceAccounts")
        .header("host", "x")
        .header("content-type", "application/json")
        .body("y".repeat(2 * 1024 * 1024))
        .unwrap();
    let (status, headers, _) = two_on_one_connection(&s.url, huge).await;
    assert_eq!(status, 401);
    assert_eq!(headers.get("connection").unwrap(), "close");
}

#[tokio::test]
async fn failed_admin_authentication_is_slowed_but_a_good_one_is_not() {
    let s = TestServer::start_manual().await;
    let bad = |n: u32| {
        let http = s.http.clone();
        let url = format!(
            "{}/pomerium.config.ConfigService/ListServiceAccounts",
            s.url
        );
        async move {
            http.post(url)
                .header("Content-Type", "application/json")
                .header("Authorization", format!("Pomerium not-a-token-{n}"))
                .body("{}")
                .send()
                .await
                .unwrap()
        }
    };
    for n in 0..sacon::server::throttle::BURST as u32 {
        assert_eq!(
            bad(n).await.status(),
            401,
            "attempt {n} is within the burst"
        );
    }
    let limited = bad(99).await;
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().get("retry-after").is_some());
    let body: serde_json::Value = serde_json::from_slice(&limited.bytes().await.unwrap()).unwrap();
    assert_eq!(body["code"], "resource_exhausted");
    // A valid credential from the same address is never held back.
    let (status, _) = s
        .json(
            "/pomerium.config.ConfigService/ListServiceAccounts",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(status, 200);
    s.advance(chrono::Duration::seconds(3));
    assert_eq!(bad(100).await.status(), 401, "forgiven as time passes");
}

fn test_ca(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    let cert = params.signed_by(&key, &ca).unwrap();
    let (ca_path, cert_path, key_path) = (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    );
    std::fs::write(&ca_path, ca.pem()).unwrap();
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    std::fs::set_permissions(&key_path, PermissionsExt::from_mode(0o600)).unwrap();
    (ca_path, cert_path, key_path)
}

#[tokio::test]
async fn tls_with_a_private_ca() {
    let tmp = tempfile::tempdir().unwrap();
    let (ca, cert, key) = test_ca(tmp.path());
    let serve = start_serve(
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
        None,
        &[],
    );
    assert!(serve.url.starts_with("https://127.0.0.1:"), "{}", serve.url);
    let client = Client::new(
        &serve.url,
        Credentials::SharedSecret(serve.secret()),
        ClientOptions {
            ca_file: Some(ca.clone()),
            ..ClientOptions::default()
        },
    )
    .unwrap();
    let jwt = make_account(&client, "over-tls").await;
    assert!(!jwt.is_empty());
    // The CLI's --ca-file works against it.
    let out = Command::new(env!("CARGO_BIN_EXE_sacon"))
        .args(["--api-url", &serve.url, "--ca-file"])
        .arg(&ca)
        .arg("--shared-secret-file")
        .arg(sacon::config::secret_path(&serve.dir))
        .args(["accounts", "list", "--output", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("over-tls"));
    // Without the CA the certificate is not trusted.
    let untrusted = Client::new(
        &serve.url,
        Credentials::SharedSecret(serve.secret()),
        ClientOptions::default(),
    )
    .unwrap();
    assert!(untrusted.server_info().await.is_err());
    // Plain HTTP to the TLS port gets no answer in the clear.
    let plain = reqwest::get(serve.url.replace("https://", "http://")).await;
    assert!(plain.is_err() || plain.unwrap().status() != 200);

    // A key that others can read is refused.
    std::fs::set_permissions(&key, PermissionsExt::from_mode(0o644)).unwrap();
    let dir = tmp.path().join("data2");
    let err = refused_serve(
        &dir,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    assert!(
        err.contains("chmod 600") && err.contains("server.key"),
        "{err}"
    );
}

#[test]
fn plaintext_off_loopback_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sacon"));
    cmd.args(["serve", "--listen", "0.0.0.0:0", "--data-dir"])
        .arg(&dir)
        .stdin(Stdio::null());
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "never listening");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--insecure-plaintext") && err.contains("--tls-cert"),
        "{err}"
    );
}

#[tokio::test]
async fn insecure_plaintext_is_served_when_asked() {
    // Bound to every address, but only ever reached over loopback here.
    let serve = start_serve(
        &["--listen", "0.0.0.0:0", "--insecure-plaintext"],
        None,
        &[],
    );
    let port = serve.url.rsplit(':').next().unwrap();
    let client = Client::new(
        &format!("http://127.0.0.1:{port}"),
        Credentials::SharedSecret(serve.secret()),
        ClientOptions::default(),
    )
    .unwrap();
    client.server_info().await.unwrap();
    assert!(serve.log().contains("--insecure-plaintext"));
}

#[test]
fn loose_permissions_are_refused_with_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    // A first start makes the directory and its files.
    drop(start_serve_in(&dir));

    std::fs::set_permissions(&dir, PermissionsExt::from_mode(0o755)).unwrap();
    let err = refused_serve(&dir, &[]);
    assert!(
        err.contains(&format!("chmod 700 {}", dir.display())),
        "{err}"
    );
    // The embedded console refuses the same directory.
    let out = Command::new(env!("CARGO_BIN_EXE_sacon"))
        .arg("--data-dir")
        .arg(&dir)
        .args(["namespaces", "list"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("chmod 700"));
    std::fs::set_permissions(&dir, PermissionsExt::from_mode(0o700)).unwrap();

    for file in [
        sacon::config::secret_path(&dir),
        sacon::config::database_path(&dir),
    ] {
        std::fs::set_permissions(&file, PermissionsExt::from_mode(0o644)).unwrap();
        let err = refused_serve(&dir, &[]);
        assert!(
            err.contains(&format!("chmod 600 {}", file.display())),
            "{err}"
        );
        std::fs::set_permissions(&file, PermissionsExt::from_mode(0o600)).unwrap();
    }
    drop(start_serve_in(&dir));

    // A client refuses a shared-secret file that others can read, too.
    let loose = tmp.path().join("secret-copy");
    std::fs::copy(sacon::config::secret_path(&dir), &loose).unwrap();
    std::fs::set_permissions(&loose, PermissionsExt::from_mode(0o644)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sacon"))
        .args(["--api-url", "http://127.0.0.1:9", "--shared-secret-file"])
        .arg(&loose)
        .args(["namespaces", "list"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("chmod 600 {}", loose.display())),
        "{err}"
    );
}

/// Starts `sacon serve` on an existing data directory and waits for its first line.
fn start_serve_in(dir: &Path) -> Child {
    let mut child = serve_command(dir, &[]).spawn().unwrap();
    let (url, _rest) = crate::support::serve::listening_url(&mut child);
    assert!(url.starts_with("http://"), "{url}");
    let _ = child.kill();
    let _ = child.wait();
    child
}
