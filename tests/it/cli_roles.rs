//! `sacon permissions list|grant|revoke` and a service account's token as the CLI's credential, against
//! `sacon serve` in a child process: what the token may do follows the roles granted to its user id.

use crate::support::cli::*;

/// Creates an account acting as `user_id` in `namespace` through the CLI and saves its token to a 0600 file.
fn account_token(served: &Served, namespace: &str, user_id: &str) -> std::path::PathBuf {
    let out = served
        .remote(&[
            "accounts",
            "create",
            "--user-id",
            user_id,
            "--namespace",
            namespace,
        ])
        .ok();
    let jwt = out.single_line().to_string();
    let path = served.scratch.path(&format!("{user_id}.token"));
    sacon::token::write_private_file(&path, jwt.as_bytes()).unwrap();
    path
}

/// Runs a command with the account token in `token` as the credential.
fn as_account(served: &Served, token: &std::path::Path, args: &[&str]) -> Output {
    let mut all = vec![
        "--api-url",
        &served.url,
        "--token-file",
        token.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    served.scratch.run(&all)
}

#[test]
fn roles_granted_on_the_command_line_govern_an_account_token() {
    let served = Served::start();
    served.remote(&["namespaces", "create", "Engineering"]).ok();
    served
        .remote(&[
            "namespaces",
            "create",
            "API",
            "--parent",
            "Global/Engineering",
        ])
        .ok();
    served.remote(&["namespaces", "create", "Ops"]).ok();
    let token = account_token(&served, "Global/Engineering", "ci-deployer");

    // No role yet: the token is known but may do nothing, and says how to fix it.
    let none = as_account(&served, &token, &["whoami"]);
    assert_eq!(none.code, 1, "{}", none.stderr);
    assert!(
        none.error().contains("permission_denied"),
        "{}",
        none.stderr
    );
    assert!(
        none.stderr.contains("sacon permissions grant"),
        "{}",
        none.stderr
    );

    let granted = served
        .remote(&[
            "permissions",
            "grant",
            "Global/Engineering",
            "--user",
            "ci-deployer",
            "--role",
            "manager",
        ])
        .ok();
    assert!(
        granted
            .stdout
            .starts_with("granted manager to user ci-deployer on Global/Engineering"),
        "{}",
        granted.stdout
    );

    let me = as_account(&served, &token, &["whoami", "--output", "json"])
        .ok()
        .json();
    assert_eq!(me["id"], "ci-deployer");
    assert_eq!(me["roles"][0]["role"], "manager");
    // In its subtree it manages accounts; in a sibling it is refused, naming the namespace and role needed.
    as_account(
        &served,
        &token,
        &[
            "accounts",
            "create",
            "--user-id",
            "api-bot",
            "--namespace",
            "Global/Engineering/API",
        ],
    )
    .ok();
    let refused = as_account(
        &served,
        &token,
        &[
            "accounts",
            "create",
            "--user-id",
            "ops-bot",
            "--namespace",
            "Global/Ops",
        ],
    );
    assert_eq!(refused.code, 1);
    let line = refused.error();
    assert!(line.contains("holds no role in it"), "{line}");
    // In the root namespace, which it sees as path context, the server refuses, naming the role needed.
    let refused = as_account(
        &served,
        &token,
        &[
            "accounts",
            "create",
            "--user-id",
            "root-bot",
            "--namespace",
            "Global",
        ],
    );
    assert_eq!(refused.code, 1);
    let line = refused.error();
    assert!(
        line.contains("permission_denied") && line.contains("manager") && line.contains("Global"),
        "{line}"
    );
    // It sees only its subtree (and the root as context).
    let namespaces = as_account(&served, &token, &["namespaces", "list", "--output", "json"])
        .ok()
        .json();
    let names: Vec<&str> = namespaces
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"Ops"), "{names:?}");
    assert!(names.contains(&"API"), "{names:?}");
    // Its writes are recorded as its user.
    let log = served
        .remote(&[
            "activity",
            "list",
            "--actor",
            "ci-deployer",
            "--output",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(log["total"], 1, "{log}");
    assert_eq!(log["entries"][0]["name"], "api-bot");

    // The listing of a namespace shows the inherited binding and where it comes from.
    let listed = served
        .remote(&[
            "permissions",
            "list",
            "--namespace",
            "Global/Engineering/API",
            "--output",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(listed[0]["subject"], "ci-deployer");
    assert_eq!(listed[0]["from"], "inherited from Global/Engineering");
    let csv = served
        .remote(&["permissions", "list", "--output", "csv"])
        .ok();
    assert!(
        csv.stdout.starts_with(
            "NAMESPACE,TYPE,SUBJECT,ROLE,FROM,ID\nGlobal/Engineering,user,ci-deployer,manager,own,"
        ),
        "{}",
        csv.stdout
    );

    // Bad roles are usage errors; revoking by namespace and subject takes the role away at once.
    let bad = served.remote(&[
        "permissions",
        "grant",
        "Global",
        "--user",
        "ci-deployer",
        "--role",
        "owner",
    ]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    served
        .remote(&[
            "permissions",
            "revoke",
            "Global/Engineering",
            "--user",
            "ci-deployer",
        ])
        .ok();
    let after = as_account(&served, &token, &["accounts", "list"]);
    assert_eq!(after.code, 1);
    assert!(after.error().contains("holds no role"), "{}", after.stderr);
    let missing = served.remote(&[
        "permissions",
        "revoke",
        "Global/Engineering",
        "--user",
        "ci-deployer",
    ]);
    assert_eq!(missing.code, 1);
    assert!(missing.error().contains("not_found"), "{}", missing.stderr);
}
