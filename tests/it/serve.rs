//! `sacon serve` as the built binary: the first stdout line, private files, a refused bad secret, request logs
//! that never contain credentials, and a graceful stop on SIGTERM.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

fn serve(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sacon"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env("RUST_LOG", "debug")
        .stdin(Stdio::null());
    cmd
}

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn serves_logs_without_credentials_and_stops_gracefully_on_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut child = serve(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (url, rest) = crate::support::serve::listening_url(&mut child);
    assert!(
        url.starts_with("http://127.0.0.1:") && !url.ends_with(":0"),
        "{url}"
    );

    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&sacon::config::secret_path(&dir)), 0o600);
    assert_eq!(mode(&sacon::config::database_path(&dir)), 0o600);

    // Make calls that carry every kind of credential and a service-account JWT.
    let secret = sacon::token::SharedSecret::load(&sacon::config::secret_path(&dir)).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (jwt, bootstrap) = runtime.block_on(async {
        let client = sacon::api::Client::new(
            &url,
            sacon::api::Credentials::SharedSecret(secret.clone()),
            Default::default(),
        )
        .unwrap();
        let (_, jwt) = client
            .create_account(sacon::api::wire::ServiceAccount {
                user_id: Some("logged".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        let http = reqwest::Client::new();
        for (name, value) in [
            ("X-Pomerium-Authorization", jwt.to_string()),
            ("Authorization", format!("Bearer Pomerium-{}", jwt.as_str())),
            ("jwt", jwt.to_string()),
        ] {
            http.get(format!("{url}/verify"))
                .header(name, value)
                .send()
                .await
                .unwrap();
        }
        let bootstrap = sacon::token::bootstrap_token(&secret, chrono::Utc::now()).to_string();
        (jwt.to_string(), bootstrap)
    });

    // SIGTERM: the process finishes what it is doing and exits 0.
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
    let rest: Vec<String> = rest.iter().collect();
    assert!(rest.is_empty(), "nothing else on stdout: {rest:?}");

    let log = std::fs::read_to_string(sacon::config::log_path(&dir)).unwrap();
    assert!(
        log.contains("/verify") && log.contains("other headers not logged"),
        "debug request logs are written: {log}"
    );
    let signature = |t: &str| t.rsplit('.').next().unwrap().to_string();
    assert!(
        !log.contains(&signature(&jwt)),
        "a service-account JWT reached the log"
    );
    assert!(
        !log.contains(&signature(&bootstrap)) && !log.contains("eyJ"),
        "a credential reached the log"
    );
    assert!(!log.contains(secret.to_base64().as_str()));

    // The database is whole after the stop.
    runtime.block_on(async {
        use sacon::store::Store;
        let store = sacon::store::SqliteStore::open(&sacon::config::database_path(&dir))
            .await
            .unwrap();
        let page = store
            .list_accounts(&sacon::store::AccountQuery {
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(page.total, 1);
    });
}

#[test]
fn a_shared_secret_of_the_wrong_size_is_refused_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    sacon::config::ensure_private_dir(&dir).unwrap();
    let secret = dir.join("shared_secret");
    std::fs::write(&secret, "AAAA\n").unwrap();
    std::fs::set_permissions(&secret, PermissionsExt::from_mode(0o600)).unwrap();
    let out = serve(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("shared_secret") && err.contains("exactly 32 bytes"),
        "{err}"
    );
}
