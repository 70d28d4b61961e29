//! Render tests: every screen and modal drawn through ratatui's `TestBackend` at 80×24 and 40×12 and kept as
//! insta snapshots, plus assertions on the cells that matter (the selected row, inline errors, the masked
//! token), every size down to 0×0 without a panic, and no colour at all under `NO_COLOR`.

use crate::support::tui::*;
use crossterm::event::KeyCode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};
use sacon::api::{Code, ConnectError};
use sacon::tui::msg::{Effect, Msg, Rollup, Token, UniqueInfo};
use sacon::tui::screens::frame;
use sacon::tui::theme::Theme;
use sacon::tui::{Model, update};
use zeroize::Zeroizing;

const TOKEN: &str =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJqdGkiOiJhYmMiLCJzdWIiOiJzdmMifQ.c2lnbmF0dXJlLXh5eg";

fn draw(model: &mut Model, w: u16, h: u16) -> (String, Buffer) {
    update(model, Msg::Resize(w, h), Clock::new().now);
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal
        .draw(|f| frame::render(model, f.buffer_mut()))
        .unwrap();
    let buf = terminal.backend().buffer().clone();
    let text = (0..h)
        .map(|y| {
            (0..w)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n");
    (text, buf)
}

/// Both sizes in one snapshot.
fn snapshot_both(name: &str, mut make: impl FnMut() -> Model) -> Vec<(String, Buffer)> {
    let mut shots = Vec::new();
    let mut joined = Vec::new();
    for (w, h) in [(80, 24), (40, 12)] {
        let mut model = make();
        let (text, buf) = draw(&mut model, w, h);
        joined.push(format!("{w}x{h}\n{text}"));
        shots.push((text, buf));
    }
    insta::assert_snapshot!(name, joined.join("\n\n"));
    shots
}

fn row_of(text: &str, needle: &str) -> Option<u16> {
    text.lines()
        .position(|l| l.contains(needle))
        .map(|y| y as u16)
}

fn picker() -> Model {
    let clock = Clock::new();
    let (mut model, effects) = booted(None, &clock);
    for e in effects {
        if let Effect::LoadRollups { seq, items, .. } = e {
            for (i, item) in items.into_iter().enumerate() {
                update(
                    &mut model,
                    Msg::Rollup {
                        seq,
                        namespace_id: item.namespace_id,
                        result: Ok(Rollup {
                            own: i as u64 * 3,
                            // The root holds everything below it.
                            subtree: if i == 0 { 12 } else { i as u64 * 3 },
                            expired: (i % 2) as u64,
                            expiring: (i % 3) as u64,
                        }),
                    },
                    clock.now,
                );
            }
        }
    }
    model
}

#[test]
fn namespace_picker() {
    let shots = snapshot_both("namespace_picker", picker);
    let (text, buf) = &shots[0];
    assert!(text.contains("Engineering"));
    let y = row_of(text, "Global").unwrap();
    assert!(
        buf[(2, y)].modifier.contains(Modifier::REVERSED),
        "cursor row"
    );
    // A live filter keeps the matches and their ancestors.
    snapshot_both("namespace_picker_filter", || {
        let mut model = picker();
        update(&mut model, key('/'), Clock::new().now);
        type_text(&mut model, "plat", Clock::new().now);
        model
    });
}

#[test]
fn account_list() {
    let shots = snapshot_both("account_list", || {
        let clock = Clock::new();
        let mut m = on_accounts(12, &clock);
        update(&mut m, key('j'), clock.now);
        m
    });
    for (text, buf) in &shots {
        let y = row_of(text, "svc-001").expect("second row shown");
        assert!(
            (0..buf.area.width).all(|x| buf[(x, y)].modifier.contains(Modifier::REVERSED)),
            "the selected row is reversed across the width"
        );
        let other = row_of(text, "svc-002").unwrap();
        assert!(!buf[(2, other)].modifier.contains(Modifier::REVERSED));
        assert!(text.contains("expired 3d ago"));
        assert!(text.contains("Platform"), "namespace path in the header");
    }
    let (text, _) = &shots[0];
    assert!(text.contains("12 accounts"));
    assert!(text.contains("✗ expired"), "legend");
    assert!(
        text.contains("impers.") && text.contains("unique"),
        "kind column"
    );
}

#[test]
fn account_list_empty_and_failed() {
    snapshot_both("account_list_empty", || on_accounts(0, &Clock::new()));
    let shots = snapshot_both("account_list_failed", || {
        let clock = Clock::new();
        let (mut model, effects) = booted(Some("ns-platform"), &clock);
        for e in effects {
            if let Effect::LoadPage {
                generation, page, ..
            } = e
            {
                update(
                    &mut model,
                    Msg::Page {
                        generation,
                        page,
                        result: Err(ConnectError::new(
                            Code::DeadlineExceeded,
                            "no answer in 10s",
                        )),
                    },
                    clock.now,
                );
            }
        }
        model
    });
    assert!(shots[0].0.contains("R to retry"));
}

#[test]
fn detail_panel() {
    let shots = snapshot_both("detail", || {
        let clock = Clock::new();
        let mut m = on_accounts(3, &clock);
        update(&mut m, key('j'), clock.now);
        update(&mut m, code(KeyCode::Enter), clock.now);
        m
    });
    assert!(shots[0].0.contains("3f2c9a1e-0000-4000-8000-000000000001"));
    assert!(shots[0].0.contains("impersonated"));
}

#[test]
fn add_modal_unique_with_warning() {
    let shots = snapshot_both("add_unique_warning", || {
        let mut clock = Clock::new();
        let mut m = on_accounts(2, &clock);
        update(&mut m, key('a'), clock.now);
        type_text(&mut m, "svc-001", clock.now);
        let t = clock.advance(150);
        let effects = update(&mut m, Msg::Tick, t);
        let Some(Effect::CheckUnique { seq, .. }) = effects.into_iter().next() else {
            panic!("check")
        };
        update(
            &mut m,
            Msg::UniqueChecked {
                seq,
                result: Ok(UniqueInfo {
                    directory_user: None,
                    accounts: 1,
                }),
            },
            t,
        );
        m
    });
    assert!(shots[0].0.contains("already has 1 account"));
}

#[test]
fn add_modal_impersonated_search() {
    let searching = snapshot_both("add_impersonated_searching", || {
        let mut clock = Clock::new();
        let mut m = on_accounts(2, &clock);
        update(&mut m, key('a'), clock.now);
        update(&mut m, ctrl('t'), clock.now);
        type_text(&mut m, "ali", clock.now);
        let t = clock.advance(150);
        update(&mut m, Msg::Tick, t);
        m
    });
    assert!(searching[0].0.contains("searching…"));
    let shots = snapshot_both("add_impersonated_results", || {
        let mut clock = Clock::new();
        let mut m = on_accounts(2, &clock);
        update(&mut m, key('a'), clock.now);
        update(&mut m, ctrl('t'), clock.now);
        type_text(&mut m, "ali", clock.now);
        let t = clock.advance(150);
        let effects = update(&mut m, Msg::Tick, t);
        let Some(Effect::SearchUsers { seq, .. }) = effects.into_iter().next() else {
            panic!("search")
        };
        update(
            &mut m,
            Msg::Search {
                seq,
                result: Ok((
                    vec![
                        user("alice", "Alice Liddell"),
                        user("alicia", "Alicia Keys"),
                        user("malik", "Malik \u{202E}Evil\u{1b}[31m"),
                    ],
                    3,
                )),
            },
            t,
        );
        update(&mut m, code(KeyCode::Down), t);
        m
    });
    let (text, buf) = &shots[0];
    assert!(text.contains("Alicia Keys"));
    assert!(!text.contains('\u{202E}'), "bidi override stripped");
    let y = row_of(text, "Alicia Keys").unwrap();
    let x = text
        .lines()
        .nth(y as usize)
        .unwrap()
        .find("›")
        .map(|b| text.lines().nth(y as usize).unwrap()[..b].chars().count() as u16);
    assert!(
        buf[(x.unwrap(), y)].modifier.contains(Modifier::REVERSED),
        "highlighted result"
    );
    let none = snapshot_both("add_impersonated_no_match", || {
        let mut clock = Clock::new();
        let mut m = on_accounts(2, &clock);
        update(&mut m, key('a'), clock.now);
        update(&mut m, ctrl('t'), clock.now);
        type_text(&mut m, "zzz", clock.now);
        let t = clock.advance(150);
        let effects = update(&mut m, Msg::Tick, t);
        let Some(Effect::SearchUsers { seq, .. }) = effects.into_iter().next() else {
            panic!("search")
        };
        update(
            &mut m,
            Msg::Search {
                seq,
                result: Ok((vec![], 0)),
            },
            t,
        );
        m
    });
    assert!(none[1].0.contains("no match"));
}

#[test]
fn add_modal_errors_inline() {
    let shots = snapshot_both("add_errors", || {
        let clock = Clock::new();
        let mut m = on_accounts(2, &clock);
        update(&mut m, key('a'), clock.now);
        update(&mut m, code(KeyCode::Tab), clock.now);
        type_text(&mut m, "backup job", clock.now);
        update(&mut m, code(KeyCode::Tab), clock.now);
        update(&mut m, code(KeyCode::Left), clock.now);
        update(&mut m, code(KeyCode::Left), clock.now);
        update(&mut m, code(KeyCode::Left), clock.now);
        update(&mut m, code(KeyCode::Left), clock.now);
        update(&mut m, code(KeyCode::Tab), clock.now);
        type_text(&mut m, "2026-13-01", clock.now);
        update(&mut m, ctrl('s'), clock.now);
        m
    });
    for (text, buf) in &shots {
        let y = row_of(text, "✗ “").expect("an inline error");
        assert!(text.contains("backup job"), "typed text kept");
        let x = text
            .lines()
            .nth(y as usize)
            .unwrap()
            .chars()
            .position(|c| c == '✗')
            .unwrap();
        assert!(
            buf[(x as u16, y)].modifier.contains(Modifier::BOLD),
            "error style"
        );
    }
    assert!(shots[0].0.contains("not a date"));
}

#[test]
fn edit_form() {
    snapshot_both("edit", || {
        let clock = Clock::new();
        let mut m = on_accounts(2, &clock);
        update(&mut m, key('e'), clock.now);
        m
    });
}

fn with_token(action: impl Fn(&mut Model)) -> impl FnMut() -> Model {
    move || {
        let clock = Clock::new();
        let mut m = on_accounts(2, &clock);
        update(&mut m, key('r'), clock.now);
        let effects = update(&mut m, key('y'), clock.now);
        let Some(Effect::Rotate { seq, .. }) = effects.into_iter().next() else {
            panic!("rotate")
        };
        update(
            &mut m,
            Msg::Rotated {
                seq,
                result: Ok((
                    account(0, "ns-platform"),
                    Token::new(Zeroizing::new(TOKEN.into())),
                )),
            },
            clock.now,
        );
        action(&mut m);
        m
    }
}

#[test]
fn token_view() {
    let masked = snapshot_both("token_masked", with_token(|_| {}));
    for (text, _) in &masked {
        assert!(!text.contains(TOKEN), "masked until v");
        assert!(!text.contains("eyJqdGki"), "the claims part is hidden");
    }
    assert!(masked[0].0.contains("eyJhbGci••••"));
    let revealed = snapshot_both(
        "token_revealed_curl",
        with_token(|m| {
            update(m, key('v'), Clock::new().now);
            update(m, key('h'), Clock::new().now);
        }),
    );
    let flat: String = revealed[0]
        .0
        .lines()
        .map(|l| l.trim_end().trim_end_matches('│').trim_start_matches('│'))
        .collect();
    assert!(flat.contains(TOKEN), "revealed with v");
    assert!(revealed[0].0.contains("X-Pomerium-Authorization"));
    let closing = snapshot_both(
        "token_confirm_close",
        with_token(|m| {
            update(m, code(KeyCode::Esc), Clock::new().now);
        }),
    );
    assert!(closing[1].0.contains("cannot be shown again") || closing[1].0.contains("cannot be"));
    snapshot_both(
        "token_save_prompt",
        with_token(|m| {
            update(m, key('s'), Clock::new().now);
        }),
    );
}

#[test]
fn confirmations() {
    let shots = snapshot_both("confirm_delete", || {
        let clock = Clock::new();
        let mut m = on_accounts(2, &clock);
        update(&mut m, key('d'), clock.now);
        m
    });
    assert!(shots[0].0.contains("svc-000"));
    assert!(shots[0].0.contains("3f2c9a1e-0000-4000-8000-000000000000"));
    let failed = snapshot_both("confirm_rotate_failed", || {
        let clock = Clock::new();
        let mut m = on_accounts(2, &clock);
        update(&mut m, key('r'), clock.now);
        let effects = update(&mut m, key('y'), clock.now);
        let Some(Effect::Rotate { seq, .. }) = effects.into_iter().next() else {
            panic!()
        };
        update(
            &mut m,
            Msg::Rotated {
                seq,
                result: Err(ConnectError::new(Code::PermissionDenied, "not allowed")),
            },
            clock.now,
        );
        m
    });
    assert!(failed[0].0.contains("not allowed"));
}

#[test]
fn help_overlay() {
    let all = snapshot_both("help", || {
        let clock = Clock::new();
        let mut m = on_accounts(2, &clock);
        update(&mut m, key('?'), clock.now);
        m
    });
    assert!(all[0].0.contains("Ctrl-C"));
    let filtered = snapshot_both("help_filtered", || {
        let clock = Clock::new();
        let mut m = on_accounts(2, &clock);
        update(&mut m, key('?'), clock.now);
        type_text(&mut m, "token", clock.now);
        m
    });
    assert!(!filtered[0].0.contains("move down"));
}

#[test]
fn dead_server() {
    let shots = snapshot_both("dead_server", || {
        let clock = Clock::new();
        let mut model = Model::new(
            "http://127.0.0.1:9".into(),
            None,
            Theme::plain(),
            clock.now.wall,
        );
        let effects = sacon::tui::init(&mut model);
        let Some(Effect::Boot { seq }) = effects.into_iter().next() else {
            panic!()
        };
        update(
            &mut model,
            Msg::Booted {
                seq,
                result: Err(ConnectError::new(
                    Code::Unavailable,
                    "cannot reach http://127.0.0.1:9: Connection refused",
                )),
            },
            clock.now,
        );
        model
    });
    assert!(shots[0].0.contains("R to retry"));
}

/// Every screen model the tests above draw.
fn all_models() -> Vec<Model> {
    let clock = Clock::new();
    let mut out = vec![picker(), on_accounts(30, &clock), on_accounts(0, &clock)];
    for keys in [
        vec![code(KeyCode::Enter)],
        vec![key('a')],
        vec![key('a'), ctrl('t')],
        vec![key('e')],
        vec![key('d')],
        vec![key('?')],
        vec![key('/')],
    ] {
        let mut m = on_accounts(5, &clock);
        for k in keys {
            update(&mut m, k, clock.now);
        }
        out.push(m);
    }
    out.push(on_activity(hostile_changes(), 120, &clock));
    let mut entry = on_activity(hostile_changes(), 120, &clock);
    update(&mut entry, code(KeyCode::Enter), clock.now);
    out.push(entry);
    let mut prompt = on_activity(hostile_changes(), 120, &clock);
    update(&mut prompt, key('w'), clock.now);
    out.push(prompt);
    out.push(on_detail(account_history("svc-001"), &clock));
    out.push(read_only_model(3));
    out.push(with_token(|_| {})());
    out.push(with_token(|m| {
        update(m, key('v'), Clock::new().now);
        update(m, key('h'), Clock::new().now);
    })());
    out
}

#[test]
fn no_panic_at_any_size() {
    for mut model in all_models() {
        for (w, h) in [
            (0, 0),
            (1, 1),
            (2, 1),
            (1, 5),
            (10, 3),
            (20, 5),
            (39, 11),
            (40, 12),
            (80, 24),
            (200, 60),
        ] {
            draw(&mut model, w, h);
        }
    }
}

#[test]
fn no_colour_under_no_color_and_colour_otherwise() {
    for mut model in all_models() {
        let (_, buf) = draw(&mut model, 80, 24);
        for cell in buf.content() {
            assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset));
        }
    }
    let clock = Clock::new();
    let mut m = on_accounts(5, &clock);
    m.theme = Theme { color: true };
    let (text, buf) = draw(&mut m, 80, 24);
    let y = row_of(&text, "expired 3d ago").unwrap();
    let x = text
        .lines()
        .nth(y as usize)
        .unwrap()
        .chars()
        .position(|c| c == '✗')
        .unwrap();
    assert_eq!(
        buf[(x as u16, y)].fg,
        Color::Red,
        "expired: symbol and colour"
    );
}

#[test]
fn inherited_accounts_name_their_namespace() {
    let shots = snapshot_both("account_list_inherited", || {
        let clock = Clock::new();
        let mut m = on_accounts(2, &clock);
        let effects = update(&mut m, key('i'), clock.now);
        let all = vec![
            account(0, "ns-platform"),
            account(1, "ns-eng"),
            account(2, "ns-global"),
        ];
        answer_pages(&mut m, effects, &all, clock.now);
        m
    });
    let (text, _) = &shots[0];
    assert!(text.contains("+inherited"));
    let eng = text.lines().find(|l| l.contains("svc-001")).unwrap();
    assert!(eng.trim_end().ends_with("Engineering"), "{eng}");
    let here = text.lines().find(|l| l.contains("svc-000")).unwrap();
    assert!(here.trim_end().ends_with("here"), "{here}");
}

/// A page of changes with a hostile actor and entity name among them.
fn hostile_changes() -> Vec<sacon::tui::screens::activity::Entry> {
    let mut page = changes(1000, 30);
    page[2] = change(
        998,
        "update",
        "local:\u{202E}eve\u{1b}[31m",
        "svc-\u{1b}]0;pwned\u{7}x",
        serde_json::json!({"changed": ["description"], "before": {"description": "old \u{202E}one"},
                           "after": {"description": "new\u{1b}[2J"}}),
    );
    page
}

fn assert_clean(text: &str) {
    assert!(!text.contains('\u{202E}'), "bidi override stripped");
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "controls stripped"
    );
}

#[test]
fn activity_screen() {
    let shots = snapshot_both("activity", || {
        let clock = Clock::new();
        let mut m = on_activity(hostile_changes(), 120, &clock);
        update(&mut m, key('j'), clock.now);
        m
    });
    for (text, buf) in &shots {
        assert_clean(text);
        assert!(text.contains("Activity · "), "{text}");
        let y = row_of(text, "root").expect("the selected change");
        assert!(
            (0..buf.area.width).all(|x| buf[(x, y)].modifier.contains(Modifier::REVERSED)),
            "the selected row is reversed across the width"
        );
        assert!(
            text.contains("local:ev"),
            "the hostile actor, defused: {text}"
        );
        assert!(text.lines().last().unwrap().contains("? help"), "{text}");
    }
    let (text, _) = &shots[0];
    assert!(text.contains("When (UTC)") && text.contains("Namespace") && text.contains("Type"));
    assert!(text.contains("Platform and below"), "the scope");
    assert!(text.contains("30 of 120 changes"));
    assert!(
        text.contains("w actor") && text.contains("t action"),
        "filters in the footer"
    );
}

#[test]
fn activity_filtered_empty_and_failed() {
    let shots = snapshot_both("activity_filtered", || {
        let clock = Clock::new();
        let mut m = on_activity(changes(1000, 5), 5, &clock);
        update(&mut m, key('w'), clock.now);
        let effects = update(&mut m, code(KeyCode::Enter), clock.now);
        let (seq, _) = activity_request(&effects).unwrap();
        update(
            &mut m,
            Msg::Activity {
                seq,
                result: Ok((vec![changes(1000, 1).remove(0)], 1)),
            },
            clock.now,
        );
        let effects = update(&mut m, key('t'), clock.now);
        let (seq, _) = activity_request(&effects).unwrap();
        update(
            &mut m,
            Msg::Activity {
                seq,
                result: Ok((Vec::new(), 0)),
            },
            clock.now,
        );
        m
    });
    assert!(shots[0].0.contains("who local:alice · action create"));
    assert!(shots[0].0.contains("No change matches the filters"));
    let failed = snapshot_both("activity_failed", || {
        let clock = Clock::new();
        let mut m = on_accounts(2, &clock);
        let effects = update(&mut m, key('L'), clock.now);
        let (seq, _) = activity_request(&effects).unwrap();
        update(
            &mut m,
            Msg::Activity {
                seq,
                result: Err(ConnectError::new(Code::Unavailable, "connection refused")),
            },
            clock.now,
        );
        m
    });
    assert!(failed[0].0.contains("R to retry"));
}

#[test]
fn activity_entry() {
    let shots = snapshot_both("activity_entry", || {
        let clock = Clock::new();
        let mut m = on_activity(hostile_changes(), 120, &clock);
        update(&mut m, key('j'), clock.now);
        update(&mut m, key('j'), clock.now);
        update(&mut m, code(KeyCode::Enter), clock.now);
        m
    });
    for (text, _) in &shots {
        assert_clean(text);
        assert!(text.contains("Change #998 · 3 of 120"), "{text}");
        assert!(text.lines().last().unwrap().contains("←/p newer"), "{text}");
    }
    let (text, _) = &shots[0];
    assert!(
        text.contains(r#"description: "old one" → "new\u001b[2J""#),
        "{text}"
    );
    assert!(text.contains("Recorded detail"));
}

#[test]
fn detail_with_history() {
    let shots = snapshot_both("detail_history", || {
        on_detail(account_history("svc-001"), &Clock::new())
    });
    for (text, _) in &shots {
        assert!(text.contains("History · 4 changes"), "{text}");
        assert!(text.contains("local:al"), "who: {text}");
    }
    let (text, _) = &shots[0];
    assert!(text.contains("History · 4 changes"));
    // Each changed field before → after, a long one continued on the next line.
    let flat: String = text
        .lines()
        .filter_map(|l| l.split('│').nth(1))
        .map(|l| l.trim())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        flat.contains(r#"description: "nightly job" → "nightly job (edited)""#),
        "{flat}"
    );
    assert!(flat.contains(r#"expiresAt: "never" → "2026-09-01T00:00:00Z""#));
    assert!(flat.contains("new token; the old one works until 2026-05-20T10:05:00Z"));
    assert!(
        text.contains("3f2c9a1e-0000-4000-8000-000000000001"),
        "every field at 80×24"
    );
    // Loading and a server without the log are states of the same place.
    let none = snapshot_both("detail_history_unavailable", || {
        let clock = Clock::new();
        let mut m = on_accounts(3, &clock);
        let effects = update(&mut m, code(KeyCode::Enter), clock.now);
        let (seq, _) = history_request(&effects).unwrap();
        update(
            &mut m,
            Msg::History {
                seq,
                result: Err(ConnectError::new(Code::Unimplemented, "unknown method")),
            },
            clock.now,
        );
        m
    });
    assert!(none[0].0.contains("this server keeps no activity log"));
}

fn read_only_model(n: usize) -> Model {
    let mut m = on_accounts(n, &Clock::new());
    m.read_only = true;
    m
}

#[test]
fn read_only_session() {
    let shots = snapshot_both("read_only", || read_only_model(5));
    let empty = snapshot_both("read_only_empty", || read_only_model(0));
    for (text, buf) in shots.iter().chain(&empty) {
        let header = text.lines().next().unwrap();
        assert!(header.contains("READ-ONLY"), "{header}");
        let x = header.find("READ-ONLY").unwrap();
        let x = header[..x].chars().count() as u16;
        assert!(
            buf[(x, 0)].modifier.contains(Modifier::BOLD),
            "the marker stands out"
        );
        let footer = text.lines().last().unwrap();
        for change in ["a add", "e edit", "r rotate", "d delete"] {
            assert!(!footer.contains(change), "{footer}");
        }
        assert!(
            !text.contains("Press a"),
            "no hint at a key that is not offered"
        );
    }
    assert!(shots[0].0.lines().last().unwrap().contains("L activity"));
    // Neither the detail nor help offers a change.
    for keys in [vec![code(KeyCode::Enter)], vec![key('?')]] {
        let mut m = read_only_model(3);
        for k in keys {
            update(&mut m, k, Clock::new().now);
        }
        for (w, h) in [(80, 24), (40, 12)] {
            let (text, _) = draw(&mut m, w, h);
            assert!(text.lines().next().unwrap().contains("READ-ONLY"));
            assert!(
                !text.contains("add an account") && !text.contains("e edit"),
                "{text}"
            );
        }
    }
    // A full session shows no marker.
    let (text, _) = draw(&mut on_accounts(1, &Clock::new()), 80, 24);
    assert!(!text.contains("READ-ONLY"));
}
