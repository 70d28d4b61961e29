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
