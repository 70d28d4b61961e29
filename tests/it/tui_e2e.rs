//! End-to-end: the real `sacon` binary in tmux against a temporary embedded data directory. Keys go in with
//! `send-keys`, the screen comes out with `capture-pane`; every wait is on a screen condition with a deadline.
//! Checks a unique account created and saved from the console (file mode, JWT signature and claims, the
//! account as the API lists it), an impersonated one picked through the lookahead search, an edit seen in the
//! account's history, a change made by the CLI seen on the activity screen, and a `--read-only` session.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use sacon::api::{Client, ClientOptions, Credentials, ListQuery};
use sacon::model::ServiceAccount;
use sacon::server::{self, ServerConfig};
use sacon::token::{SharedSecret, verify_service_account};
use serde_json::json;

use crate::support::tmux::{Console, footer, open_platform};

/// The accounts of `user_id`, as the API lists them (a server of our own on the same data directory).
async fn listed(data_dir: &Path, user_id: &str) -> (Vec<ServiceAccount>, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let handle = server::start(ServerConfig::new(data_dir), listener)
        .await
        .unwrap();
    let secret = SharedSecret::load(&data_dir.join("shared_secret")).unwrap();
    let client = Client::new(
        &handle.url(),
        Credentials::SharedSecret(secret),
        ClientOptions::default(),
    )
    .unwrap();
    let (accounts, _) = client
        .list_accounts(&ListQuery {
            filter: Some(json!({ "user_id": user_id })),
            order_by: String::new(),
            offset: 0,
            limit: Some(10),
        })
        .await
        .unwrap();
    let namespaces = client.list_namespaces().await.unwrap();
    let platform = namespaces
        .iter()
        .find(|n| n.name == "Platform")
        .map(|n| n.id.clone())
        .unwrap();
    handle.shutdown().await;
    (accounts, platform)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_save_and_impersonate_through_the_console() {
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let work: PathBuf = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let socket = format!("sacon-e2e-{}", std::process::id());

    // First start: the namespace picker. Filter to Platform, go to it, open it.
    let console = Console::start(&socket, &data_dir, &work);
    console.wait("the namespace picker with counts", |s| {
        s.contains("Namespaces (") && s.contains("accounts")
    });
    console.keys(&["/"]);
    console.text("Platform");
    console.keys(&["Enter"]);
    console.keys(&["G", "Enter"]);
    console.wait_for("Global › Engineering › Platform");

    // A unique account: the id is checked as it is typed, then created.
    let screen = console.create_unique("e2e-bot", "made by the e2e test");
    assert!(screen.contains("••••"), "the token is masked:\n{screen}");

    // Save it with s: the prompt is prefilled with <working directory>/<user-id>.jwt, absolute.
    let target = work.join("e2e-bot.jwt").display().to_string();
    console.keys(&["s"]);
    console.wait_for(&format!("Save to {target}"));
    console.keys(&["Enter"]);
    console.wait_for(&format!("Saved to {target} (mode 0600)"));
    console.keys(&["Escape"]);
    console.wait_for("token view closed");
    console.wait("the new row", |s| {
        s.lines().any(|l| {
            l.contains("e2e-bot") && l.contains("made by the e2e test") && l.contains("in 90d")
        })
    });
    console.keys(&["q"]);
    console.wait_exit();

    let file = work.join("e2e-bot.jwt");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let jwt = std::fs::read_to_string(&file).unwrap();
    let secret = SharedSecret::load(&data_dir.join("shared_secret")).unwrap();
    let claims = verify_service_account(
        &secret,
        jwt.trim(),
        chrono::Utc::now(),
        chrono::Duration::seconds(60),
    )
    .expect("the saved JWT verifies with the data directory's secret");
    assert_eq!(claims.sub, "e2e-bot");
    let lifetime = claims.exp.expect("90 days by default") - claims.iat;
    assert!((lifetime - 90 * 86_400).abs() < 120, "lifetime {lifetime}s");

    let (accounts, platform) = listed(&data_dir, "e2e-bot").await;
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].id, claims.jti);
    assert_eq!(accounts[0].namespace_id, platform);
    assert_eq!(accounts[0].description, "made by the e2e test");
    drop(console);

    // Second start: the remembered namespace opens directly. An impersonated account via the search.
    let console = Console::start(&socket, &data_dir, &work);
    console.wait("the remembered namespace", |s| {
        s.contains("Global › Engineering › Platform") && s.contains("e2e-bot")
    });
    console.keys(&["a"]);
    console.wait_for("Add an account to");
    console.keys(&["C-t"]);
    console.wait_for("Search");
    console.text("Carol Gar");
    console.wait_for("Carol García <carol.garcia@example.com> · u-4f2c9a");
    console.keys(&["Enter"]);
    console.wait_for("✓ Carol García");
    console.keys(&["C-s"]);
    console.wait_for("Account created");
    // Closing without copying or saving asks first.
    console.keys(&["Escape"]);
    console.wait_for("This token cannot be shown again. Close anyway? (y/N)");
    console.keys(&["y"]);
    console.wait_for("token view closed");
    console.keys(&["q"]);
    console.wait_exit();

    let (accounts, platform) = listed(&data_dir, "u-4f2c9a").await;
    let here: Vec<_> = accounts
        .iter()
        .filter(|a| a.namespace_id == platform)
        .collect();
    assert_eq!(
        here.len(),
        1,
        "one account in Platform impersonating Carol García"
    );

    // SIGTERM ends the console like q does: exit status 0, and the terminal left as it was (the pane,
    // kept after exit, shows the normal screen, not the console's alternate one).
    let console = Console::start(&socket, &data_dir, &work);
    console.wait_for("Global › Engineering › Platform");
    assert!(
        console
            .tmux(&["set-option", "-t", "console", "remain-on-exit", "on"])
            .status
            .success()
    );
    let pid = console.console_pid();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    assert_eq!(
        console.wait_exit(),
        Some(0),
        "exited cleanly, not killed by the signal"
    );
    let screen = console.screen();
    assert!(
        !screen.contains("Accounts"),
        "alternate screen left:\n{screen}"
    );
}

/// A closed terminal (an SSH session dropped, a tmux server killed) ends the console instead of leaving it
/// running, and never leaves it spinning on the dead terminal.
#[test]
fn a_closed_terminal_ends_the_console() {
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let socket = format!("sacon-e2e-hup-{}", std::process::id());
    let console = Console::start(&socket, &data_dir, tmp.path());
    console.wait_for("Namespaces");
    let pid = console.console_pid();
    assert!(Path::new(&format!("/proc/{pid}")).exists(), "pid {pid:?}");
    // Killing the tmux server closes the pane's terminal under the console (and its wrapper shell).
    let _ = console.tmux(&["kill-server"]);
    // The FIFO reaches end-of-file only once the console has let go of it, i.e. has exited.
    console.wait_exit();
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    assert!(
        state.is_empty() || state.split_whitespace().nth(2) == Some("Z"),
        "the console outlived its terminal: {state}"
    );
}

#[test]
fn a_read_only_session_offers_no_change() {
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let socket = format!("sacon-e2e-ro-{}", std::process::id());
    let console = Console::start_with(&socket, &data_dir, tmp.path(), "--read-only");
    let screen = console.wait_for("READ-ONLY");
    assert!(
        screen.lines().next().unwrap().contains("READ-ONLY"),
        "the marker is in the title bar:\n{screen}"
    );
    open_platform(&console);
    let screen = console.wait("the demo accounts", |s| s.contains("svc-ci-deployer"));
    let keys = footer(&screen);
    assert!(
        !keys.contains("a add") && !keys.contains("e edit"),
        "{keys}"
    );
    assert!(keys.contains("L activity"), "{keys}");

    // The add key opens nothing; the status line says why.
    console.keys(&["a"]);
    let screen = console.wait_for("read-only session");
    assert!(!screen.contains("Add an account"), "{screen}");
    // The detail opens (with its history), and its change keys do nothing either: had e or d opened the edit
    // form or the delete question, L would not reach the detail and open the account's activity.
    console.keys(&["Enter"]);
    console.wait_for("History");
    console.keys(&["e", "d", "L"]);
    let screen = console.wait_for("Activity · account");
    assert!(!screen.contains("Delete this account"), "{screen}");
    console.keys(&["Escape"]);
    console.wait("the account list", |s| s.contains("Accounts ·"));
    // Help has no change to offer either.
    console.keys(&["?"]);
    console.wait_for("Filter:");
    console.text("add an");
    console.wait_for("No key matches.");
    console.keys(&["Escape"]);
    console.wait("help closed", |s| !s.contains("Filter:"));
    console.keys(&["q"]);
    console.wait_exit();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_shows_in_the_account_history() {
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let socket = format!("sacon-e2e-hist-{}", std::process::id());
    let console = Console::start(&socket, &data_dir, tmp.path());
    open_platform(&console);

    // A new account described as "one"…
    console.create_unique("hist-bot", "one");
    console.keys(&["Escape"]);
    console.wait_for("Close anyway?");
    console.keys(&["y"]);
    console.wait_for("token view closed");
    // … found with the filter, edited to "two".
    console.keys(&["/"]);
    console.text("hist-bot");
    console.keys(&["Enter"]);
    console.wait_for("filter “hist-bot”");
    console.wait("the one row", |s| {
        s.contains("hist-bot") && s.contains("1 account")
    });
    console.keys(&["e"]);
    console.wait_for("Edit hist-bot");
    console.keys(&["BSpace", "BSpace", "BSpace"]);
    console.text("two");
    console.keys(&["C-s"]);
    // A description edit never touches the live token: no token view, only the status line.
    console.wait_for("updated hist-bot");
    assert!(!console.screen().contains("Account updated"));
    // The list reloads after the edit; the detail opens on the row once it is back.
    console.wait("the edited row", |s| {
        s.lines()
            .any(|l| l.contains("hist-bot") && l.contains("two"))
    });

    // The detail's history names the edit, its author and the field before → after, above the creation.
    console.keys(&["Enter"]);
    let screen = console.wait_for(r#"description: "one" → "two""#);
    let update = screen
        .lines()
        .find(|l| l.contains(r#"description: "one" → "two""#))
        .unwrap();
    assert!(update.contains("update"), "{update}");
    let actor = sacon::display::fit(&sacon::server::local_actor(), 12);
    assert!(
        update.contains(actor.trim_end_matches('…')),
        "by {actor}: {update}"
    );
    let created = screen
        .lines()
        .position(|l| l.contains(" create "))
        .expect("the creation");
    let edited = screen.lines().position(|l| l.contains(" update ")).unwrap();
    assert!(edited < created, "newest first:\n{screen}");
    assert!(screen.contains("History · 2 changes"), "{screen}");
    console.keys(&["Escape"]);
    console.wait("the detail closed", |s| !s.contains("History ·"));
    console.keys(&["q"]);
    console.wait_exit();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_activity_screen_lists_a_change_made_through_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let socket = format!("sacon-e2e-act-{}", std::process::id());
    let console = Console::start(&socket, &data_dir, tmp.path());
    console.wait("the namespace picker with counts", |s| {
        s.contains("Namespaces (") && s.contains("accounts")
    });

    // While the console runs, the CLI creates an account on the same data directory.
    let out = Command::new(env!("CARGO_BIN_EXE_sacon"))
        .arg("--data-dir")
        .arg(&data_dir)
        .args([
            "accounts",
            "create",
            "--namespace",
            "Global/Engineering/Platform",
        ])
        .args([
            "--user-id",
            "cli-made",
            "--description",
            "from the CLI",
            "--expires",
            "30d",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // L on Global: the change is the newest of the whole tree.
    console.keys(&["L"]);
    let screen = console.wait("the CLI's change", |s| {
        s.contains("Activity · Global and below") && s.contains("cli-made")
    });
    let row = screen.lines().find(|l| l.contains("cli-made")).unwrap();
    assert!(row.contains("create") && row.contains("Platform"), "{row}");
    assert!(row.contains("local:"), "the CLI's actor: {row}");
    let first = screen
        .lines()
        .position(|l| l.contains("When (UTC)"))
        .map(|i| screen.lines().nth(i + 1).unwrap_or(""))
        .unwrap();
    assert!(first.contains("cli-made"), "newest first:\n{screen}");

    // Filtered to updates it goes away; back to any action (t cycles round) it is there again.
    console.keys(&["t", "t"]);
    console.wait("updates only", |s| {
        s.contains("action update") && !s.contains("cli-made")
    });
    console.keys(&["x"]);
    console.wait("no filter", |s| {
        !s.contains("action update") && s.contains("cli-made")
    });
    // Enter: the change in full.
    console.keys(&["g", "Enter"]);
    let screen = console.wait_for("Change #");
    assert!(screen.contains("account cli-made"), "{screen}");
    assert!(
        screen.contains("Global › Engineering › Platform"),
        "{screen}"
    );
    // One Escape at a time: an Escape followed at once by another key reads as Alt and that key.
    console.keys(&["Escape"]);
    console.wait("the entry closed", |s| !s.contains("Change #"));
    console.keys(&["Escape"]);
    console.wait_for("Namespaces (");
    console.keys(&["q"]);
    console.wait_exit();
}

/// A service account holding only `viewer` on Engineering opens the console against `sacon serve`'s API with its
/// own token: the root is path context, the title bar says what it may do, no change is offered, and the
/// permissions screen shows its binding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_session_sees_its_subtree_and_offers_no_change() {
    let s = crate::support::TestServer::start_with(None, true).await;
    let tree = sacon::model::NamespaceTree::new(s.client.list_namespaces().await.unwrap());
    let eng = tree.resolve("Global/Engineering").unwrap().id.clone();
    let (_, jwt) = s
        .client
        .create_account(sacon::api::wire::ServiceAccount {
            user_id: Some("auditor".into()),
            namespace_id: Some(eng.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    s.client
        .grant(&eng, "user", "auditor", "viewer")
        .await
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let token = tmp.path().join("auditor.jwt");
    sacon::token::write_private_file(&token, jwt.as_bytes()).unwrap();
    let socket = format!("sacon-e2e-viewer-{}", std::process::id());
    let flags = format!("--api-url '{}' --token-file '{}'", s.url, token.display());
    let console = Console::start_with(&socket, &tmp.path().join("unused"), tmp.path(), &flags);
    let screen = console.wait_for("no role · path only");
    assert!(
        screen
            .lines()
            .next()
            .unwrap()
            .contains("READ-ONLY · viewer"),
        "{screen}"
    );
    let global = screen.lines().find(|l| l.contains("Global")).unwrap();
    assert!(global.contains("no role · path only"), "{global}");
    assert!(
        !screen.contains("Finance"),
        "a sibling subtree is not listed:\n{screen}"
    );
    // The cursor starts on Engineering, which opens; nothing in it can be changed.
    console.keys(&["Enter"]);
    let screen = console.wait_for("Accounts ·");
    let keys = footer(&screen);
    assert!(
        !keys.contains("a add") && !keys.contains("d delete"),
        "{keys}"
    );
    console.keys(&["a"]);
    let screen = console.wait_for("viewer role cannot change service accounts");
    assert!(!screen.contains("Add an account"), "{screen}");
    // Its binding, on the permissions screen; granting is not offered either.
    console.keys(&["P"]);
    let screen = console.wait("the permissions of Engineering", |s| {
        s.contains("Permissions of Global › Engineering") && s.contains("auditor")
    });
    let row = screen.lines().find(|l| l.contains("auditor")).unwrap();
    assert!(row.contains("viewer") && row.contains("own"), "{row}");
    assert!(!footer(&screen).contains("a grant"), "{screen}");
    console.keys(&["q"]);
    console.wait_exit();
}

/// Two contexts in `config.toml`: the console opens in one (named in the title bar), `C` lists both, and
/// switching connects to the other — a remote, read-only context with a default namespace — and starts there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_context_switcher_moves_the_console_to_another_server() {
    let remote = crate::support::TestServer::start_with(None, true).await;
    let tmp = tempfile::tempdir().unwrap();
    let local_dir = tmp.path().join("local");
    let config = tmp.path().join("config/sacon");
    std::fs::create_dir_all(&config).unwrap();
    let secret = sacon::config::secret_path(&remote.data_dir());
    std::fs::write(
        config.join("config.toml"),
        format!(
            "[contexts.local]\ndata-dir = '{}'\n\n[contexts.prod]\napi-url = '{}'\nshared-secret-file = '{}'\n\
             read-only = true\nnamespace = 'Global/Engineering'\n",
            local_dir.display(),
            remote.url,
            secret.display()
        ),
    )
    .unwrap();
    let socket = format!("sacon-e2e-ctx-{}", std::process::id());
    let console = Console::start_with(&socket, &local_dir, tmp.path(), "--context local --no-demo");
    let screen = console.wait_for("Namespaces (");
    let title = screen.lines().next().unwrap();
    assert!(
        title.contains("sacon · local") && !title.contains("READ-ONLY"),
        "{title}"
    );
    console.keys(&["C"]);
    let screen = console.wait_for("Switch context");
    assert!(
        screen.contains("prod") && screen.contains(&remote.url),
        "{screen}"
    );
    console.keys(&["j", "Enter"]);
    // The remote's demo tree, opened on the context's namespace, read-only as the context says.
    let screen = console.wait("the prod context", |s| {
        s.lines().next().is_some_and(|l| l.contains("sacon · prod"))
            && s.contains("Global › Engineering")
    });
    assert!(
        screen.lines().next().unwrap().contains("READ-ONLY"),
        "{screen}"
    );
    console.keys(&["a"]);
    console.wait_for("read-only session");
    console.keys(&["q"]);
    console.wait_exit();
}

/// An empty start (`--no-demo`) can grow its tree from the picker.
#[test]
fn an_empty_start_creates_a_namespace_from_the_picker() {
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let socket = format!("sacon-e2e-ns-{}", std::process::id());
    let console = Console::start_with(&socket, &data_dir, tmp.path(), "--no-demo");
    console.wait_for("Namespaces (1)");
    console.keys(&["a"]);
    console.wait_for("new namespace in Global:");
    console.text("Payments");
    console.keys(&["Enter"]);
    let screen = console.wait_for("Namespaces (2)");
    assert!(screen.contains("created namespace Payments"), "{screen}");
    console.wait_for("Payments");
    console.keys(&["q"]);
    console.wait_exit();
}

/// `x` on the account list writes what it shows to a private file, read back here.
#[test]
fn the_account_list_exports_to_a_private_file() {
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let socket = format!("sacon-e2e-export-{}", std::process::id());
    let console = Console::start(&socket, &data_dir, &work);
    open_platform(&console);
    console.wait("the demo accounts", |s| s.contains("svc-ci-deployer"));
    console.keys(&["x"]);
    let file = work.join("accounts-Platform.csv");
    console.wait_for(&format!("Export to {}", file.display()));
    console.keys(&["Enter"]);
    let screen = console.wait_for("(mode 0600)");
    let said = screen
        .lines()
        .find(|l| l.contains("exported "))
        .unwrap_or_else(|| panic!("{screen}"));
    let n: usize = said
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{said}"));
    console.keys(&["q"]);
    console.wait_exit();
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("id,user_id,namespace,"), "{text}");
    assert_eq!(
        text.lines().count(),
        n + 1,
        "a header and one row per account"
    );
    assert!(text.contains("svc-ci-deployer"));
}
