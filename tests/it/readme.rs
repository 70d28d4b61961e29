//! README.md stays true: its keymap is the console's keymap table, its API table the server's dispatch table, and
//! it shows the two set-up commands.

const README: &str = include_str!("../../README.md");

fn between<'a>(text: &'a str, begin: &str, end: &str) -> &'a str {
    let start = text
        .find(begin)
        .unwrap_or_else(|| panic!("README.md lacks {begin}"))
        + begin.len();
    let stop = text[start..]
        .find(end)
        .unwrap_or_else(|| panic!("README.md lacks {end}"))
        + start;
    &text[start..stop]
}

#[test]
fn the_keymap_in_the_readme_is_the_keymap_table() {
    let ours = between(README, "<!-- keymap:begin -->\n", "<!-- keymap:end -->");
    let table = sacon::tui::keymap::markdown();
    if ours != table {
        // Print the current table so fixing the README is a copy and paste.
        println!("<<<KEYMAP\n{table}KEYMAP>>>");
        panic!(
            "README.md's keymap differs from src/tui/keymap.rs; the current table is printed above"
        );
    }
}

#[test]
fn the_readme_starts_with_the_two_commands_and_ci_runs_the_second() {
    let head: String = README.lines().take(20).collect::<Vec<_>>().join("\n");
    assert!(head.contains("cargo run --release") && head.contains("\nscripts/test "));
    let ci = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/run")).unwrap();
    assert!(ci.lines().any(|l| l.trim() == "bash scripts/test"), "{ci}");
    let script =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/test")).unwrap();
    // The whole suite on SQLite, then the store-facing tests again on PostgreSQL; either failing fails the run.
    assert!(script.contains("set -euo pipefail"), "{script}");
    assert!(
        script
            .lines()
            .any(|l| l.trim() == r#"cargo test --locked "$@""#),
        "{script}"
    );
    assert!(
        script.contains("SACON_TEST_STORE=postgres cargo test --locked --test it"),
        "{script}"
    );
}

#[test]
fn the_api_table_in_the_readme_is_the_dispatch_table() {
    let ours = between(README, "<!-- api:begin -->\n", "<!-- api:end -->");
    let table = sacon::server::methods::markdown();
    if ours != table {
        println!("<<<API\n{table}API>>>");
        panic!(
            "README.md's API table differs from src/server/methods.rs; the current table is printed above"
        );
    }
}
