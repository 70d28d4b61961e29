//! Input that would harm later, refused at the API or defused on the way out: descriptions and namespace names
//! with control or bidi characters, namespace names with the path separator, updates that set a past expiry, and
//! the CLI's table, CSV and JSON output of hostile data already in the store (written straight into SQLite, as
//! data from before these checks would be).

use std::process::Stdio;

use chrono::Duration;
use serde_json::{Value, json};

use crate::support::TestServer;
use sacon::api::wire::paths;

/// Each of these, inside a description, steers a terminal or reorders the text around it.
const STEERING: [&str; 12] = [
    "\u{1b}[2J",
    "\u{7}",
    "\r",
    "\u{9b}31m",
    "\u{202A}",
    "\u{202E}",
    "\u{2066}",
    "\u{2069}",
    "\u{200E}",
    "\u{200F}",
    "\u{061C}",
    "\u{0}",
];

/// Everything the CLI must never pass through to a terminal.
const HOSTILE: &str =
    "ops\u{1b}]0;owned\u{7}\u{1b}[2J\u{9b}31m\u{202E}txt.exe\u{2066}\u{200F}\u{061C}end";

fn code(body: &Value) -> &str {
    body["code"].as_str().unwrap_or("")
}

fn message(body: &Value) -> &str {
    body["message"].as_str().unwrap_or("")
}

async fn create(s: &TestServer, account: Value) -> (u16, Value) {
    s.json(
        paths::CREATE_SERVICE_ACCOUNT,
        json!({ "serviceAccount": account }),
    )
    .await
}

async fn update(s: &TestServer, account: Value, mask: Option<&str>) -> (u16, Value) {
    let mut body = json!({ "serviceAccount": account });
    if let Some(m) = mask {
        body["updateMask"] = json!(m);
    }
    s.json(paths::UPDATE_SERVICE_ACCOUNT, body).await
}

#[tokio::test]
async fn descriptions_refuse_control_and_bidi_characters_but_keep_tabs_and_newlines() {
    let s = TestServer::start().await;
    for bad in STEERING {
        let description = format!("deploys{bad}prod");
        let (status, body) =
            create(&s, json!({"userId": "ci-bot", "description": description})).await;
        assert_eq!(
            (status, code(&body)),
            (400, "invalid_argument"),
            "{bad:?}: {body}"
        );
        assert!(message(&body).contains("description"), "{bad:?}: {body}");
    }

    let multi_line = "deploys to prod\n\tevery night";
    let (status, body) = create(&s, json!({"userId": "ci-bot", "description": multi_line})).await;
    assert_eq!(status, 200, "{body}");
    let id = body["serviceAccount"]["id"].as_str().unwrap().to_string();
    assert_eq!(body["serviceAccount"]["description"], multi_line);

    for bad in STEERING {
        let description = format!("now{bad}this");
        for mask in [Some("description"), None] {
            let account = json!({"id": id, "userId": "ci-bot", "description": description});
            let (status, body) = update(&s, account, mask).await;
            assert_eq!(
                (status, code(&body)),
                (400, "invalid_argument"),
                "{bad:?} {mask:?}: {body}"
            );
            assert!(message(&body).contains("description"), "{bad:?}: {body}");
        }
    }
    let stored = s.client.get_account(&id).await.unwrap();
    assert_eq!(stored.description, multi_line);

    let (status, body) = update(
        &s,
        json!({"id": id, "description": "one\ttwo\nthree"}),
        Some("description"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["serviceAccount"]["description"], "one\ttwo\nthree");
}

#[tokio::test]
async fn update_refuses_an_expiry_in_the_past_only_when_it_sets_the_expiry() {
    let s = TestServer::start().await;
    // Whole seconds: the store keeps microseconds.
    let whole = |d: Duration| {
        let t = s.now() + d;
        sacon::api::convert::format_time(
            t - Duration::nanoseconds(i64::from(t.timestamp_subsec_nanos())),
        )
    };
    let future = whole(Duration::days(30));
    let (status, body) = create(&s, json!({"userId": "ci-bot", "expiresAt": future})).await;
    assert_eq!(status, 200, "{body}");
    let id = body["serviceAccount"]["id"].as_str().unwrap().to_string();

    let past = whole(Duration::days(-1));
    for mask in [Some("expiresAt"), Some("description,expires_at"), None] {
        let account = json!({"id": id, "userId": "ci-bot", "expiresAt": past});
        let (status, body) = update(&s, account, mask).await;
        assert_eq!(
            (status, code(&body)),
            (400, "invalid_argument"),
            "{mask:?}: {body}"
        );
        assert_eq!(
            message(&body),
            format!("expiresAt {past} is not in the future"),
            "{mask:?}"
        );
    }
    assert_eq!(
        s.client
            .get_account(&id)
            .await
            .unwrap()
            .expires_at
            .map(sacon::api::convert::format_time),
        Some(future.clone())
    );

    // A mask that leaves the expiry alone ignores whatever the message says about it.
    let account = json!({"id": id, "description": "renamed", "expiresAt": past});
    let (status, body) = update(&s, account, Some("description")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["serviceAccount"]["expiresAt"], future);
    assert_eq!(body["serviceAccount"]["description"], "renamed");

    // A future expiry, and clearing it, still work.
    let later = whole(Duration::days(60));
    let (status, body) = update(&s, json!({"id": id, "expiresAt": later}), Some("expiresAt")).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = update(&s, json!({"id": id}), Some("expiresAt")).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["serviceAccount"].get("expiresAt").is_none(), "{body}");
}

async fn set_namespace(s: &TestServer, ns: Value) -> (u16, Value) {
    s.json(paths::SET_NAMESPACE, json!({ "namespace": ns }))
        .await
}

#[tokio::test]
async fn namespace_names_refuse_path_separators_and_steering_characters_and_are_trimmed() {
    let s = TestServer::start().await;
    let root = s.root_id().await;
    let mut bad: Vec<String> = vec![
        "Eng/Ops".into(),
        "/Ops".into(),
        "Ops/".into(),
        "Eng › Ops".into(),
        "   ".into(),
        "\t\n".into(),
    ];
    bad.extend(STEERING.iter().map(|c| format!("Op{c}s")));
    for name in &bad {
        let (status, body) = set_namespace(&s, json!({"parentId": root, "name": name})).await;
        assert_eq!(
            (status, code(&body)),
            (400, "invalid_argument"),
            "{name:?}: {body}"
        );
        assert!(message(&body).contains("name"), "{name:?}: {body}");
    }

    let (status, body) =
        set_namespace(&s, json!({"parentId": root, "name": "  Platform \t"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["namespace"]["name"], "Platform");
    let id = body["namespace"]["id"].as_str().unwrap().to_string();

    // Renames obey the same rules.
    for name in &bad {
        let (status, body) = set_namespace(&s, json!({"id": id, "name": name})).await;
        assert_eq!(
            (status, code(&body)),
            (400, "invalid_argument"),
            "{name:?}: {body}"
        );
    }
    let (status, body) = set_namespace(&s, json!({"id": id, "name": " Platform Team "})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["namespace"]["name"], "Platform Team");

    // Every name the server kept is reachable by its path.
    let tree = sacon::model::NamespaceTree::new(s.client.list_namespaces().await.unwrap());
    assert_eq!(tree.len(), 2);
    assert_eq!(tree.resolve("Global/Platform Team").unwrap().id, id);

    // The CLI says why, and a padded name arrives trimmed.
    let out = cli(&s, &["namespaces", "create", "Eng/Ops"]).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("invalid_argument"), "{}", out.stderr);
    assert!(out.stderr.contains("name"), "{}", out.stderr);
    let out = cli(&s, &["namespaces", "create", "  Finance  "]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("created namespace Global/Finance\n"),
        "{}",
        out.stderr
    );
}

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

/// The built binary against the test server, authenticated with its shared secret file.
async fn cli(s: &TestServer, args: &[&str]) -> Output {
    let secret = sacon::config::secret_path(&s.data_dir());
    let home = s.dir.path().join("home");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_sacon"))
        .args(["--api-url", &s.url, "--shared-secret-file"])
        .arg(&secret)
        .args(args)
        .env_remove("SACON_TOKEN")
        .env("HOME", &home)
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// The characters a terminal would act on or reorder, in what the CLI wrote.
fn steering_in(text: &str) -> Vec<char> {
    text.chars()
        .filter(|c| *c != '\n' && sacon::model::is_unsafe_char(*c))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_cli_output_format_is_safe_for_a_terminal_and_json_keeps_the_value() {
    // SQLite whichever store the run tests: hostile rows are written below the store, in SQL.
    let s = TestServer::start_sqlite().await;
    let root = s.root_id().await;
    let ops = s.client.set_namespace("", &root, "Ops").await.unwrap().id;
    let (account, _jwt) = s
        .client
        .create_account(sacon::api::wire::ServiceAccount {
            user_id: Some("u-eve".into()),
            namespace_id: Some(ops.clone()),
            description: Some("harmless".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    s.client
        .import_users(&[sacon::model::DirectoryUser {
            id: "u-eve".into(),
            name: "Eve".into(),
            email: "eve@example.com".into(),
            groups: vec!["eng".into()],
        }])
        .await
        .unwrap();

    // Data stored before the checks existed (or by another writer) is not checked again on the way in.
    let db = rusqlite::Connection::open(sacon::config::database_path(&s.data_dir())).unwrap();
    db.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    db.execute(
        "UPDATE service_accounts SET description = ?1, originator_id = ?1 WHERE id = ?2",
        (HOSTILE, &account.id),
    )
    .unwrap();
    db.execute(
        "UPDATE namespaces SET name = ?1, name_key = lower(?1) WHERE id = ?2",
        (format!("Ops{HOSTILE}"), &ops),
    )
    .unwrap();
    db.execute(
        "UPDATE users SET name = ?1, email = ?1, groups = ?2 WHERE id = 'u-eve'",
        (HOSTILE, json!([HOSTILE]).to_string()),
    )
    .unwrap();
    drop(db);

    let runs: [&[&str]; 9] = [
        &["accounts", "list"],
        &["accounts", "list", "-o", "csv"],
        &["accounts", "list", "-o", "json"],
        &["accounts", "show", &account.id],
        &["accounts", "show", &account.id, "-o", "json"],
        &["namespaces", "list"],
        &["namespaces", "list", "-o", "json"],
        &["directory", "search", "u-eve"],
        &["directory", "search", "u-eve", "-o", "json"],
    ];
    for args in runs {
        let out = cli(&s, args).await;
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        assert!(out.stdout.contains("ops"), "{args:?}: {}", out.stdout);
        assert_eq!(
            steering_in(&out.stdout),
            Vec::<char>::new(),
            "{args:?}: {:?}",
            out.stdout
        );
        assert_eq!(
            steering_in(&out.stderr),
            Vec::<char>::new(),
            "{args:?}: {:?}",
            out.stderr
        );
        if args.contains(&"json") {
            // Escaped, not dropped: a program reading the JSON gets exactly what is stored.
            let v: Value = serde_json::from_str(&out.stdout)
                .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}", out.stdout));
            let first = if v.is_array() {
                v[0].clone()
            } else {
                v.clone()
            };
            match args[0] {
                "accounts" => {
                    assert_eq!(first["description"], HOSTILE, "{args:?}");
                    assert_eq!(first["originator_id"], HOSTILE, "{args:?}");
                }
                "namespaces" => {
                    let names: Vec<&str> = v
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter_map(|n| n["name"].as_str())
                        .collect();
                    assert!(
                        names.contains(&format!("Ops{HOSTILE}").as_str()),
                        "{names:?}"
                    );
                }
                _ => {
                    assert_eq!(first["name"], HOSTILE, "{args:?}");
                    assert_eq!(first["groups"], json!([HOSTILE]), "{args:?}");
                }
            }
            assert!(out.stdout.contains("\\u202e"), "{}", out.stdout);
        }
    }
}
