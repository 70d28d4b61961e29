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
