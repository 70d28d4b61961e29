//! `sacon routes`, `sacon policies` and `sacon access check` with the built binary on an embedded data directory:
//! routes and policies made, listed (table, JSON, CSV), shown, changed and deleted from the command line; `access
//! check` reads the token from standard input, never prints it, says what `/verify` would answer and why, and
//! exits 0 when allowed and 3 when refused; `--read-only` refuses every command that changes something.

use crate::support::cli::*;

fn check(scratch: &Scratch, jwt: &str, url: &str) -> Output {
    let out = scratch.embedded_with_stdin(&["access", "check", "--url", url], &format!("{jwt}\n"));
    assert!(!out.stdout.contains(jwt), "the token is never printed");
    assert!(!out.stderr.contains(jwt), "the token is never printed");
    out
}

#[test]
fn routes_and_policies_are_made_and_judged_from_the_command_line() {
    let scratch = Scratch::new();
    scratch
        .embedded(&["namespaces", "create", "Engineering"])
        .ok();
    let jwt = scratch
        .embedded(&[
            "accounts",
            "create",
            "--namespace",
            "Global/Engineering",
            "--user-id",
            "reports-bot",
        ])
        .ok()
        .single_line()
        .to_string();
    let reports = scratch
        .embedded(&[
            "policies",
            "set",
            "--namespace",
            "Global/Engineering",
            "--name",
            "reports",
            "--allow-user",
            "reports-bot",
            "--allow-domain",
            "example.com",
        ])
        .ok()
        .single_line()
        .to_string();
    let ppl = scratch.write(
        "deny.yaml",
        "deny:\n  or:\n    - user:\n        is: reports-bot\n",
    );
    let billing = scratch
        .embedded(&[
            "policies",
            "set",
            "--namespace",
            "Global/Engineering",
            "--name",
            "billing",
            "--ppl-file",
            ppl.to_str().unwrap(),
        ])
        .ok()
        .single_line()
        .to_string();
    let route = scratch
        .embedded(&[
            "routes",
            "create",
            "--namespace",
            "Global/Engineering",
            "--name",
            "reports",
            "--from",
            "https://reports.example.com",
            "--policy",
            "reports",
        ])
        .ok()
        .single_line()
        .to_string();
    scratch
        .embedded(&[
            "routes",
            "create",
            "--namespace",
            "Global/Engineering",
            "--name",
            "billing",
            "--from",
            "https://billing.example.com",
            "--prefix",
            "/v1",
            "--policy",
            &billing[..8],
        ])
        .ok();

    // Listings in three formats.
    let routes = scratch
        .embedded(&["routes", "list", "-o", "json"])
        .ok()
        .json();
    let names: Vec<&str> = routes
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["billing", "reports"]);
    assert_eq!(routes[1]["id"], route.as_str());
    assert_eq!(routes[1]["policyIds"][0], reports.as_str());
    let table = scratch
        .embedded(&["routes", "list", "--namespace", "Global/Engineering"])
        .ok()
        .stdout;
    assert!(table.starts_with("NAMESPACE"), "{table}");
    assert!(
        table.lines().any(|l| l.contains("billing.example.com")
            && l.contains("/v1")
            && l.contains("billing")),
        "{table}"
    );
    let csv = scratch
        .embedded(&["policies", "list", "-o", "csv"])
        .ok()
        .stdout;
    assert!(
        csv.starts_with("NAMESPACE,NAME,ENFORCED,USERS,DOMAINS,ROUTES,ID"),
        "{csv}"
    );
    assert!(csv.contains("reports-bot"), "{csv}");
    let shown = scratch
        .embedded(&["policies", "show", "billing"])
        .ok()
        .stdout;
    assert!(
        shown.contains("routes:") && shown.contains("billing"),
        "{shown}"
    );
    assert!(
        shown.contains("is: reports-bot"),
        "the PPL is shown: {shown}"
    );
    let json = scratch
        .embedded(&["policies", "show", &reports, "-o", "json"])
        .ok()
        .json();
    assert_eq!(json["allowedUsers"][0], "reports-bot");
    assert_eq!(json["allowedDomains"][0], "example.com");

    // access check: what /verify would answer, and why.
    let ok = check(&scratch, &jwt, "https://reports.example.com/daily").ok();
    assert!(ok.stdout.contains("200 allowed"), "{}", ok.stdout);
    assert!(
        ok.stdout.contains(&format!("reports ({reports})")),
        "the deciding policy: {}",
        ok.stdout
    );
    let refused = check(&scratch, &jwt, "https://billing.example.com/v1/x");
    assert_eq!(refused.code, 3, "{}{}", refused.stdout, refused.stderr);
    assert!(
        refused.stdout.contains("403 forbidden"),
        "{}",
        refused.stdout
    );
    assert!(
        refused.stdout.contains("denied by policy"),
        "{}",
        refused.stdout
    );
    let json = scratch.embedded_with_stdin(
        &[
            "access",
            "check",
            "--url",
            "https://reports.example.com/",
            "-o",
            "json",
        ],
        &jwt,
    );
    assert_eq!(json.code, 0, "{}", json.stderr);
    assert_eq!(json.json()["policyId"], reports.as_str());
    let bad = check(&scratch, "not-a-token", "https://reports.example.com/");
    assert_eq!(bad.code, 3);
    assert!(bad.stdout.contains("malformed"), "{}", bad.stdout);
    let e = check(&scratch, &jwt, "reports.example.com");
    assert_eq!(e.code, 1);
    assert!(e.error().contains("invalid_argument"), "{}", e.stderr);

    // Taken out of the policy: refused at once; granted again: allowed.
    scratch
        .embedded(&["policies", "revoke", "reports", "reports-bot"])
        .ok();
    assert_eq!(
        check(&scratch, &jwt, "https://reports.example.com/").code,
        3
    );
    scratch
        .embedded(&["policies", "grant", &reports, "reports-bot"])
        .ok();
    check(&scratch, &jwt, "https://reports.example.com/").ok();

    // A change keeps what is not given.
    scratch
        .embedded(&["policies", "set", "reports", "--enforced"])
        .ok();
    let json = scratch
        .embedded(&["policies", "show", "reports", "-o", "json"])
        .ok()
        .json();
    assert_eq!(json["enforced"], true);
    assert_eq!(json["allowedUsers"][0], "reports-bot");
    let unknown = scratch.write(
        "bad.json",
        r#"{"allow": {"or": [{"device": {"is": "x"}}]}}"#,
    );
    let e = scratch.embedded(&[
        "policies",
        "set",
        "billing",
        "--ppl-file",
        unknown.to_str().unwrap(),
    ]);
    assert_eq!(e.code, 1);
    assert!(
        e.error().contains("invalid_argument") && e.error().contains("device"),
        "{}",
        e.stderr
    );
    let e = scratch.embedded(&["policies", "set", "--name", "half"]);
    assert_eq!(e.code, 2, "a new policy needs its namespace");

    // Deleting: refused while a route names the policy, unless taken off the routes too.
    let e = scratch.embedded(&["policies", "delete", "billing"]);
    assert_eq!(e.code, 1);
    assert!(e.error().contains("failed_precondition"), "{}", e.stderr);
    scratch
        .embedded(&["policies", "delete", "billing", "--from-routes"])
        .ok();
    scratch.embedded(&["routes", "delete", "billing"]).ok();
    let left = scratch
        .embedded(&["routes", "list", "-o", "json"])
        .ok()
        .json();
    assert_eq!(left.as_array().unwrap().len(), 1);
    let e = scratch.embedded(&["routes", "delete", "no-such-route"]);
    assert_eq!(e.code, 1);
    assert!(e.error().contains("not_found"), "{}", e.stderr);
}

#[test]
fn a_read_only_session_refuses_every_change_to_access() {
    let scratch = Scratch::new();
    scratch.embedded(&["namespaces", "list"]).ok();
    for args in [
        &[
            "routes",
            "create",
            "--namespace",
            "Global",
            "--name",
            "r",
            "--from",
            "https://r.example.com",
        ][..],
        &["routes", "delete", "r"],
        &["policies", "set", "--namespace", "Global", "--name", "p"],
        &["policies", "delete", "p"],
        &["policies", "grant", "p", "u"],
        &["policies", "revoke", "p", "u"],
    ] {
        let mut all = vec!["--read-only"];
        all.extend_from_slice(args);
        let out = scratch.embedded(&all);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.error().contains("read-only"), "{}", out.stderr);
    }
    assert_eq!(
        scratch
            .embedded(&["--read-only", "routes", "list"])
            .ok()
            .stdout,
        "no routes\n"
    );
    scratch
        .embedded(&["--read-only", "policies", "list", "-o", "json"])
        .ok();
}

#[test]
fn deleting_an_account_names_the_policies_still_naming_it_or_takes_it_out() {
    let scratch = Scratch::new();
    for user in ["keep-bot", "gone-bot"] {
        scratch
            .embedded(&["accounts", "create", "--user-id", user])
            .ok();
    }
    scratch
        .embedded(&[
            "policies",
            "set",
            "--namespace",
            "Global",
            "--name",
            "readers",
            "--allow-user",
            "keep-bot",
            "--allow-user",
            "gone-bot",
        ])
        .ok();
    let id_of = |user: &str| {
        let out = scratch.embedded(&["accounts", "list", "-o", "json"]).ok();
        let list: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        list.as_array()
            .unwrap()
            .iter()
            .find(|a| a["userId"] == user || a["user_id"] == user)
            .and_then(|a| a["id"].as_str())
            .unwrap_or_else(|| panic!("no {user} in {list}"))
            .to_string()
    };
    // Without the flag: deleted, and the policy still naming it is said.
    let out = scratch
        .embedded(&["accounts", "delete", &id_of("keep-bot")])
        .ok();
    assert!(
        out.stderr
            .contains("note: keep-bot is still named by readers"),
        "{}",
        out.stderr
    );
    // With it: taken out.
    let out = scratch
        .embedded(&["accounts", "delete", &id_of("gone-bot"), "--from-policies"])
        .ok();
    assert!(
        out.stderr
            .contains("took gone-bot out of 1 policy: readers"),
        "{}",
        out.stderr
    );
    let shown = scratch
        .embedded(&["policies", "show", "readers", "-o", "json"])
        .ok();
    assert!(!shown.stdout.contains("gone-bot"), "{}", shown.stdout);
    assert!(shown.stdout.contains("keep-bot"), "{}", shown.stdout);
}
