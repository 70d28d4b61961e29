//! `sacon accounts update|show|disable|enable|delete` as an admin would type them: ids by unique prefix, edits
//! that never print or break a token unless the new expiry needs one, a disable that refuses the token until an
//! enable brings it back (and shows in list, show and report), and refusals with the exit codes the CLI promises.

use crate::support::cli::*;

fn create(s: &Scratch, user_id: &str, expires: &str) -> (String, String) {
    let out = s
        .embedded(&[
            "accounts",
            "create",
            "--user-id",
            user_id,
            "--expires",
            expires,
        ])
        .ok();
    (created_id(&out.stderr), out.single_line().to_string())
}

fn inspect(s: &Scratch, jwt: &str) -> i32 {
    s.embedded_with_stdin(&["token", "inspect"], jwt).code
}

#[test]
fn update_changes_fields_and_prints_a_token_only_when_one_is_needed() {
    let s = Scratch::new();
    let (id, jwt) = create(&s, "edit-bot", "30d");
    // The description: no token on stdout, and the saved token still verifies.
    let out = s
        .embedded(&[
            "accounts",
            "update",
            &id[..8],
            "--description",
            "nightly sync",
        ])
        .ok();
    assert_eq!(out.stdout, "", "no token for an edit that needs none");
    assert!(
        out.stderr.contains("its token is unchanged"),
        "{}",
        out.stderr
    );
    assert_eq!(inspect(&s, &jwt), 0);
    let shown = s
        .embedded(&["accounts", "show", &id[..8], "--output", "json"])
        .ok()
        .json();
    assert_eq!(shown["description"], "nightly sync");
    // A closer expiry: still no token.
    let out = s
        .embedded(&["accounts", "update", &id, "--expires", "7d"])
        .ok();
    assert_eq!(out.stdout, "");
    assert_eq!(inspect(&s, &jwt), 0);
    // A later one: the new token alone on stdout, and the old one keeps working (until its own expiry).
    let out = s
        .embedded(&["accounts", "update", &id, "--expires", "1y"])
        .ok();
    let new = out.single_line().to_string();
    assert_ne!(new, jwt);
    assert!(
        out.stderr.contains("old token keeps working"),
        "{}",
        out.stderr
    );
    assert_eq!((inspect(&s, &jwt), inspect(&s, &new)), (0, 0));
    // Nothing to change is a usage error.
    assert_eq!(s.embedded(&["accounts", "update", &id]).code, 2);
}

#[test]
fn ids_are_resolved_by_unique_prefix_and_unknown_ones_are_errors() {
    let s = Scratch::new();
    let (id, _) = create(&s, "prefix-bot", "never");
    // An unknown id is not_found (exit 1), never "deleted".
    let out = s.embedded(&["accounts", "delete", "not-a-uuid"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.error().contains("not_found"), "{}", out.stderr);
    assert!(!out.stderr.contains("deleted"), "{}", out.stderr);
    // Too short a prefix names nothing.
    assert_eq!(s.embedded(&["accounts", "show", &id[..3]]).code, 1);
    // Two accounts sharing a prefix (made with chosen ids through the API): ask for more of it (exit 2).
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let conn = sacon::embedded::connect(&sacon::embedded::ConnectOptions {
            api_url: None,
            token_file: None,
            token: None,
            shared_secret_file: None,
            data_dir: Some(s.data_dir()),
            ca_file: None,
            no_demo: true,
            timeout: None,
        })
        .await
        .unwrap();
        for (id, user) in [("abcd-1111", "twin-a"), ("abcd-2222", "twin-b")] {
            conn.client
                .create_account(sacon::api::wire::ServiceAccount {
                    id: Some(id.into()),
                    user_id: Some(user.into()),
                    ..Default::default()
                })
                .await
                .unwrap();
        }
        conn.close().await;
    });
    let out = s.embedded(&["accounts", "show", "abcd"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("2 service accounts have an id starting with"),
        "{}",
        out.stderr
    );
    let out = s
        .embedded(&["accounts", "show", "abcd-2", "--output", "json"])
        .ok();
    assert_eq!(out.json()["user_id"], "twin-b");
    let out = s.embedded(&["accounts", "delete", &id[..12]]).ok();
    assert!(
        out.stderr
            .contains(&format!("deleted service account {id} (user prefix-bot)")),
        "{}",
        out.stderr
    );
    assert_eq!(s.embedded(&["accounts", "show", &id]).code, 1);
    // An empty user id is a usage error (exit 2), like every other bad flag.
    let out = s.embedded(&["accounts", "create", "--user-id", " "]);
    assert_eq!(out.code, 2, "{}", out.stderr);
}

#[test]
fn impersonated_accounts_show_the_person_they_act_as() {
    let s = Scratch::new();
    let users = s.write(
        "users.csv",
        "id,name,email,groups\n00u8k2ld9x0PQr7,Ann Example,ann@example.com,sre\n",
    );
    s.embedded(&["directory", "import", users.to_str().unwrap()])
        .ok();
    let (id, _) = create(&s, "00u8k2ld9x0PQr7", "never");
    let shown = s.embedded(&["accounts", "show", &id]).ok();
    assert!(
        shown.stdout.contains("Ann Example <ann@example.com>"),
        "{}",
        shown.stdout
    );
    let listed = s
        .embedded(&["accounts", "list", "--output", "json"])
        .ok()
        .json();
    assert_eq!(listed[0]["person"]["name"], "Ann Example");
    assert_eq!(listed[0]["kind"], "impersonated");
    let table = s.embedded(&["accounts", "list"]).ok();
    assert!(table.stdout.contains("Ann Example"), "{}", table.stdout);
}

#[test]
fn disable_and_enable_refuse_and_restore_the_token_and_every_listing_shows_the_state() {
    let s = Scratch::new();
    let (id, jwt) = create(&s, "paused-bot", "never");
    let (other, _) = create(&s, "busy-bot", "never");

    // By prefix; one line on stderr, nothing on stdout.
    let out = s.embedded(&["accounts", "disable", &id[..8]]).ok();
    assert_eq!(out.stdout, "");
    let said = out.stderr.lines().last().unwrap_or("");
    assert!(
        said.starts_with(&format!("disabled service account {id} (user paused-bot)")),
        "{}",
        out.stderr
    );
    assert!(
        said.contains(&format!("sacon accounts enable {id}")),
        "{said}"
    );
    assert_eq!(
        inspect(&s, &jwt),
        3,
        "a disabled account's token would not verify"
    );
    let inspected = s
        .embedded_with_stdin(&["token", "inspect", "--output", "json"], &jwt)
        .json();
    assert_eq!(inspected["verdict"], "disabled");
    assert_eq!(inspected["account"]["disabled"], true);
    // Again: nothing to do, and it says so.
    let again = s.embedded(&["accounts", "disable", &id]).ok();
    assert!(
        again.stderr.contains("is already disabled"),
        "{}",
        again.stderr
    );

    // The table's STATE column, JSON's and CSV's `disabled`, and the filter flags.
    let table = s.embedded(&["accounts", "list"]).ok().stdout;
    assert!(table.lines().next().unwrap().contains("STATE"), "{table}");
    let line_of = |id: &str| {
        table
            .lines()
            .find(|l| l.starts_with(id))
            .unwrap()
            .to_string()
    };
    assert!(line_of(&id).contains(" disabled "), "{table}");
    assert!(line_of(&other).contains(" active "), "{table}");
    let listed = s.embedded(&["accounts", "list", "-o", "json"]).ok().json();
    for a in listed.as_array().unwrap() {
        assert_eq!(a["disabled"], a["id"] == id.as_str(), "{a}");
    }
    let csv = s.embedded(&["accounts", "list", "-o", "csv"]).ok().stdout;
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let col = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "disabled")
        .expect("a disabled column");
    for row in reader.records().map(Result::unwrap) {
        let want = if row[0] == *id { "true" } else { "false" };
        assert_eq!(&row[col], want, "{row:?}");
    }
    let only = |flag: &str| {
        s.embedded(&["accounts", "list", flag, "-o", "json"])
            .ok()
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(only("--disabled"), vec![id.clone()]);
    assert_eq!(only("--enabled"), vec![other.clone()]);
    assert_eq!(
        s.embedded(&["accounts", "list", "--disabled", "--enabled"])
            .code,
        2
    );

    // `show` says so and how to undo it.
    let shown = s.embedded(&["accounts", "show", &id]).ok().stdout;
    let state = shown.lines().find(|l| l.starts_with("State")).unwrap_or("");
    assert!(
        state.contains("disabled") && state.contains(&format!("sacon accounts enable {id}")),
        "{shown}"
    );
    let shown = s
        .embedded(&["accounts", "show", &id, "-o", "json"])
        .ok()
        .json();
    assert_eq!(shown["disabled"], true);

    // The report: state and mark `disabled`, which alone needs no attention.
    let report = s.embedded(&["report", "--check", "-o", "json"]).ok().json();
    let rows = report["rows"].as_array().unwrap();
    let row = |id: &str| rows.iter().find(|r| r["id"] == id).unwrap().clone();
    assert_eq!(row(&id)["state"], "disabled");
    assert!(
        row(&id)["marks"]
            .as_array()
            .unwrap()
            .contains(&"disabled".into())
    );
    assert_eq!(row(&other)["state"], "active");
    assert!(
        !row(&other)["marks"]
            .as_array()
            .unwrap()
            .contains(&"disabled".into())
    );
    assert_eq!(report["needingAttention"], 0);
    let table = s.embedded(&["report"]).ok().stdout;
    let line = table.lines().find(|l| l.contains("paused-bot")).unwrap();
    assert!(line.contains(" disabled "), "{table}");

    // Enabled: the same token verifies again.
    let out = s.embedded(&["accounts", "enable", &id[..8]]).ok();
    assert!(
        out.stderr
            .contains(&format!("enabled service account {id} (user paused-bot)")),
        "{}",
        out.stderr
    );
    assert_eq!(inspect(&s, &jwt), 0);
    let shown = s
        .embedded(&["accounts", "show", &id, "-o", "json"])
        .ok()
        .json();
    assert_eq!(shown["disabled"], false);
    // An unknown id is an error (exit 1), as for every other account command.
    assert_eq!(
        s.embedded(&["accounts", "enable", "not-an-account"]).code,
        1
    );
}

#[test]
fn a_read_only_session_refuses_every_change_and_still_reads() {
    let s = Scratch::new();
    let (id, _) = create(&s, "kept-bot", "never");
    for args in [
        vec!["--read-only", "accounts", "create", "--user-id", "x"],
        vec!["--read-only", "accounts", "delete", id.as_str()],
        vec!["--read-only", "accounts", "rotate", id.as_str()],
        vec!["--read-only", "namespaces", "create", "Nope"],
        vec![
            "--read-only",
            "permissions",
            "grant",
            "Global",
            "--user",
            "kept-bot",
            "--role",
            "viewer",
        ],
    ] {
        let out = s.embedded(&args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.error().contains("read-only"), "{}", out.stderr);
    }
    s.embedded(&["--read-only", "accounts", "show", &id]).ok();
    s.embedded(&["--read-only", "report"]).ok();
    // A context saying read-only = true does the same, and no flag makes it writable.
    let config = s.path("home/.config/sacon");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("config.toml"),
        format!(
            "[contexts.audit]\ndata-dir = '{}'\nread-only = true\n",
            s.data_dir().display()
        ),
    )
    .unwrap();
    let out = s.run(&["--context", "audit", "accounts", "delete", &id]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.error().contains("the context says read-only"),
        "{}",
        out.stderr
    );
    let listed = s
        .run(&["--context", "audit", "accounts", "list", "--output", "json"])
        .ok()
        .json();
    assert_eq!(listed.as_array().unwrap().len(), 1, "nothing was deleted");
}
