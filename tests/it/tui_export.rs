//! Exporting the account list from the console (`x`): the prompt prefilled with an absolute path, every
//! account the list's filters match asked for (not just the loaded pages), the file's two formats sanitized.

use std::collections::HashMap;
use std::path::Path;

use crate::support::tui::*;
use crossterm::event::KeyCode;
use sacon::tui::msg::{Effect, Msg};
use sacon::tui::screens::export::{CSV_HEADER, render_file};
use sacon::tui::state::Status;
use sacon::tui::update;

#[test]
fn x_asks_where_and_exports_everything_the_filters_match() {
    let clock = Clock::new();
    let mut model = on_accounts(3, &clock);
    model.cwd = Some("/home/audit".into());
    update(&mut model, key('x'), clock.now);
    let ta = model.export.as_ref().expect("the prompt");
    assert_eq!(
        sacon::tui::screens::field_text(ta),
        "/home/audit/accounts-Platform.csv"
    );
    assert!(
        screen_text(&mut model, 80, 24).contains("Export to /home/audit/accounts-Platform.csv")
    );
    let effects = update(&mut model, code(KeyCode::Enter), clock.now);
    let [Effect::Export { path, query, paths }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(path, Path::new("/home/audit/accounts-Platform.csv"));
    assert_eq!(
        (query.offset, query.limit),
        (0, None),
        "every match, not a page"
    );
    assert!(
        query
            .filter
            .as_ref()
            .unwrap()
            .to_string()
            .contains("ns-platform"),
        "{:?}",
        query.filter
    );
    assert_eq!(
        paths.get("ns-platform").map(String::as_str),
        Some("Global › Engineering › Platform")
    );
    update(
        &mut model,
        Msg::Exported {
            result: Ok(("/home/audit/accounts-Platform.csv".into(), 3)),
        },
        clock.now,
    );
    assert!(
        matches!(&model.status, Status::Info(t) if t == "exported 3 accounts to /home/audit/accounts-Platform.csv (mode 0600)")
    );
    // Esc cancels without exporting.
    update(&mut model, key('x'), clock.now);
    assert!(update(&mut model, code(KeyCode::Esc), clock.now).is_empty());
    assert!(model.export.is_none());
}

#[test]
fn the_file_is_csv_or_json_and_carries_no_escape_sequences() {
    let mut a = account(0, "ns-platform");
    a.description = "evil \u{1b}[31mred\u{202e}".into();
    let paths = HashMap::from([("ns-platform".to_string(), "Global › Platform".to_string())]);
    let csv =
        String::from_utf8(render_file(Path::new("x.csv"), &[a.clone()], &paths).unwrap()).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next().unwrap(), CSV_HEADER.join(","));
    let row = lines.next().unwrap();
    assert!(
        row.contains("Global › Platform") && row.contains("svc-000"),
        "{row}"
    );
    assert!(
        !csv.contains('\u{1b}') && !csv.contains('\u{202e}'),
        "{csv:?}"
    );
    let json = render_file(Path::new("x.JSON"), &[a], &paths).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(v[0]["userId"], "svc-000");
    assert_eq!(v[0]["disabled"], false);
    assert!(!v.to_string().contains("\\u001b"));
}
