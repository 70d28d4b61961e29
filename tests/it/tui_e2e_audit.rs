//! End-to-end audits through the real console in tmux, with the CLI (`token inspect`, judged as `/verify`
//! judges) on the same data directory: a description edit keeps the saved token verifying, a later expiry
//! warns before submit, disable makes the token refused with `disabled` and enable brings it back, three
//! marked accounts are deleted after one question, and Ctrl-C over an unsaved token asks first.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::tmux::{Console, open_platform};

/// What `sacon token inspect` says of `jwt` on `data_dir`: its exit code and verdict.
fn inspect(data_dir: &Path, jwt: &str) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sacon"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(["token", "inspect", "-o", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(jwt.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (
        out.status.code().unwrap_or(-1),
        json["verdict"].as_str().unwrap_or_default().to_string(),
    )
}

/// The number of accounts in Platform, through the CLI.
fn platform_count(data_dir: &Path) -> usize {
    let out = Command::new(env!("CARGO_BIN_EXE_sacon"))
        .arg("--data-dir")
        .arg(data_dir)
        .args([
            "accounts",
            "list",
            "--namespace",
            "Global/Engineering/Platform",
        ])
        .args(["-o", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    json.as_array().map_or(0, Vec::len)
}

#[test]
fn an_audit_session_edits_disables_and_deletes_without_losing_a_token() {
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let socket = format!("sacon-e2e-audit-{}", std::process::id());
    let console = Console::start(&socket, &data_dir, &work);
    open_platform(&console);
    console.wait("the demo accounts", |s| s.contains("svc-ci-deployer"));

    // A new account, its token saved.
    console.create_unique("keep-bot", "one");
    console.keys(&["s"]);
    console.wait_for("Save to");
    console.keys(&["Enter"]);
    console.wait_for("(mode 0600)");
    console.keys(&["Escape"]);
    console.wait_for("token view closed");
    let jwt = std::fs::read_to_string(work.join("keep-bot.jwt")).unwrap();
    assert_eq!(inspect(&data_dir, jwt.trim()), (0, "valid".into()));

    // The filter applies as it is typed (no Enter): the list narrows to the one account.
    console.keys(&["/"]);
    console.text("keep-bot");
    console.wait("the one row", |s| {
        s.contains("1/1") && s.contains("keep-bot")
    });
    console.keys(&["Enter"]);
    console.wait_for("filter “keep-bot”");

    // Editing the description issues no token, and the saved one still verifies.
    console.keys(&["e"]);
    console.wait_for("Edit keep-bot");
    console.keys(&["C-u"]);
    console.text("two");
    console.keys(&["C-s"]);
    console.wait_for("updated keep-bot");
    assert!(!console.screen().contains("Account updated"));
    console.wait("the edited row", |s| {
        s.lines()
            .any(|l| l.contains("keep-bot") && l.contains("two"))
    });
    assert_eq!(
        inspect(&data_dir, jwt.trim()),
        (0, "valid".into()),
        "a description edit never touches the live token"
    );

    // A later expiry warns before submit that it needs a new token; cancelled here.
    console.keys(&["e"]);
    console.wait_for("Edit keep-bot");
    console.keys(&["Tab"]);
    console.keys(&["Right"]);
    console.wait_for("A later expiry needs a new token");
    console.keys(&["Escape"]);
    console.wait("the form closed", |s| !s.contains("Edit keep-bot"));

    // Disable: asked, then /verify's judgement is `disabled`; enable brings the very token back.
    console.keys(&["D"]);
    console.wait_for("Disable this account?");
    console.keys(&["y"]);
    console.wait_for("disabled keep-bot");
    console.wait("the disabled mark", |s| {
        s.lines().any(|l| l.contains("keep-bot") && l.contains('⊘'))
    });
    assert_eq!(inspect(&data_dir, jwt.trim()), (3, "disabled".into()));
    console.keys(&["D"]);
    console.wait_for("enabled keep-bot");
    assert_eq!(inspect(&data_dir, jwt.trim()), (0, "valid".into()));

    // Three marked accounts deleted after one question naming them.
    console.keys(&["Escape"]);
    console.wait("the whole list", |s| !s.contains("filter “keep-bot”"));
    let before = platform_count(&data_dir);
    console.keys(&["g", "Space", "Space", "Space"]);
    console.wait_for("3 marked");
    console.keys(&["d"]);
    console.wait_for("Delete these 3 accounts?");
    console.keys(&["y"]);
    console.wait_for("deleted 3 accounts");
    assert_eq!(platform_count(&data_dir), before - 3);

    // Ctrl-C over an unsaved token asks like Esc; n stays on the token.
    console.create_unique("lost-bot", "");
    console.keys(&["C-c"]);
    console.wait_for("Quit anyway? (y/N)");
    console.keys(&["n"]);
    console.wait("the token view again", |s| {
        !s.contains("Quit anyway?") && s.contains("v reveal")
    });
    console.keys(&["C-c"]);
    console.wait_for("Quit anyway? (y/N)");
    console.keys(&["y"]);
    console.wait_exit();
}
