//! `sacon report`: one row per account with its marks, in three formats, and `--check` exit codes for cron
//! (0 when every account is in order, 3 when any needs attention, with a summary on stderr).

use crate::support::cli::*;

#[test]
fn the_report_marks_accounts_and_check_exits_3_when_any_needs_attention() {
    let s = Scratch::new();
    s.embedded(&[
        "accounts",
        "create",
        "--user-id",
        "short-lived",
        "--expires",
        "7d",
    ])
    .ok();
    s.embedded(&[
        "accounts",
        "create",
        "--user-id",
        "forever",
        "--description",
        "no expiry",
    ])
    .ok();

    // Expiring within the default 30 days: attention, exit 3, and the summary says why.
    let out = s.embedded(&["report", "--check"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("1 of 2 accounts need attention: 1 expiring"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.starts_with("NAMESPACE"), "{}", out.stdout);
    // With a shorter window, all in order.
    let out = s
        .embedded(&["report", "--check", "--expiring-within", "1d"])
        .ok();
    assert!(
        out.stderr.contains("all 2 accounts are in order"),
        "{}",
        out.stderr
    );
    // Unused for a window of zero: both are unused, never used.
    let out = s.embedded(&[
        "report",
        "--check",
        "--expiring-within",
        "1d",
        "--unused-for",
        "0s",
        "--output",
        "json",
    ]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    let report = out.json();
    assert_eq!(report["accounts"], 2);
    assert_eq!(report["needingAttention"], 2);
    let forever = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["userId"] == "forever")
        .unwrap();
    assert_eq!(
        forever["marks"],
        serde_json::json!(["never-expires", "unused", "never-used"])
    );
    assert_eq!(forever["createdBy"], "local:tester");
    assert_eq!(forever["kind"], "unique");
    // CSV for spreadsheets; --attention-only narrows the rows.
    let csv = s
        .embedded(&["report", "--output", "csv", "--attention-only"])
        .ok();
    let lines: Vec<&str> = csv.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", csv.stdout);
    assert!(lines[0].starts_with("NAMESPACE,USER ID,KIND,PERSON,CREATED,CREATED BY,EXPIRES"));
    assert!(
        lines[1].contains("short-lived") && lines[1].contains("expiring"),
        "{}",
        lines[1]
    );
}

/// The `marks` of the report row whose user id is `user`.
fn marks_of(report: &serde_json::Value, user: &str) -> Vec<String> {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["userId"] == user)
        .unwrap_or_else(|| panic!("no row for {user}: {report}"))["marks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_report_audits_access_from_both_ends() {
    let s = Scratch::new();
    let never = ["--expiring-within", "1d", "--unused-for", "1000d"];
    let report = |extra: &[&str]| {
        let mut args = vec!["report", "--check", "--output", "json"];
        args.extend_from_slice(&never);
        args.extend_from_slice(extra);
        s.embedded(&args)
    };
    for user in ["granted-bot", "idle-bot", "gone-bot"] {
        s.embedded(&["accounts", "create", "--user-id", user]).ok();
    }
    // No route yet: no account is short of a grant, and all is in order.
    let out = report(&[]).ok();
    assert!(!marks_of(&out.json(), "idle-bot").contains(&"no-grant".to_string()));

    let p = s
        .embedded(&[
            "policies",
            "set",
            "--namespace",
            "Global",
            "--name",
            "reports",
            "--allow-user",
            "granted-bot",
            "--allow-user",
            "gone-bot",
        ])
        .ok()
        .single_line()
        .to_string();
    s.embedded(&[
        "routes",
        "create",
        "--namespace",
        "Global",
        "--name",
        "reports",
        "--from",
        "https://reports.example.com",
        "--policy",
        &p,
    ])
    .ok();
    // With a route: the account no policy grants anything is marked, which alone is not attention.
    let out = report(&[]).ok();
    let json = out.json();
    assert_eq!(
        marks_of(&json, "idle-bot"),
        ["never-expires", "never-used", "no-grant"]
    );
    assert!(!marks_of(&json, "granted-bot").contains(&"no-grant".to_string()));
    assert_eq!(json["dangling"].as_array().unwrap().len(), 0);

    // Deleting an account its policy still names leaves a dangling entry: --check exits 3.
    let list = s
        .embedded(&["accounts", "list", "--output", "json"])
        .ok()
        .json();
    let gone = list
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["user_id"] == "gone-bot")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    s.embedded(&["accounts", "delete", &gone]).ok();
    let out = report(&[]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("1 policy entries name no live account or directory user"),
        "{}",
        out.stderr
    );
    let json = out.json();
    let d = &json["dangling"][0];
    assert_eq!(
        (d["policy"].as_str(), d["user"].as_str(), d["kind"].as_str()),
        (Some("reports"), Some("gone-bot"), Some("deleted_account"))
    );
    assert_eq!(d["namespace"], "Global");
    assert_eq!(d["routes"].as_object().unwrap().len(), 1);
    // The table has its own section for them, after the accounts.
    let mut args = vec!["report"];
    args.extend_from_slice(&never);
    let table = s.embedded(&args).ok().stdout;
    let section = table
        .split("Dangling policy entries")
        .nth(1)
        .unwrap_or_else(|| panic!("no dangling section: {table}"));
    assert!(
        section.lines().any(|l| l.contains("reports")
            && l.contains("gone-bot")
            && l.contains("deleted_account")),
        "{section}"
    );
    // CSV stays one table of accounts, and says on stderr where the entries are.
    let mut args = vec!["report", "--output", "csv"];
    args.extend_from_slice(&never);
    let csv = s.embedded(&args).ok();
    assert!(!csv.stdout.contains("gone-bot"), "{}", csv.stdout);
    assert!(
        csv.stderr.contains("1 dangling policy entries"),
        "{}",
        csv.stderr
    );
    // Taken out of the policy, the report is in order again.
    s.embedded(&["policies", "revoke", "reports", "gone-bot"])
        .ok();
    report(&[]).ok();
}
