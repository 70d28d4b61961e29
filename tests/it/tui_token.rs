//! The one-time token view as state: masked until revealed, copied (an OSC 52 copy cannot be confirmed, so
//! closing or Ctrl-C still asks), saved to an absolute path with an overwrite question.

use crate::support::tui::*;
use crossterm::event::KeyCode;
use sacon::tui::msg::{CopyReport, Effect, Msg, SaveError};
use sacon::tui::screens::secret::SecretPrompt;
use sacon::tui::update;

#[test]
fn closing_an_unkept_token_asks_first() {
    let clock = Clock::new();
    let mut model = on_accounts(1, &clock);
    update(&mut model, key('a'), clock.now);
    type_text(&mut model, "ci-deploy", clock.now);
    let effects = update(&mut model, ctrl('s'), clock.now);
    let [Effect::Create { seq, .. }] = effects.as_slice() else {
        panic!()
    };
    let effects = update(
        &mut model,
        Msg::Created {
            seq: *seq,
            result: Ok((account(9, "ns-platform"), token())),
        },
        clock.now,
    );
    assert!(
        effects.iter().any(|e| matches!(e, Effect::LoadPage { .. })),
        "the list reloads"
    );
    let all: Vec<_> = (0..2).map(|i| account(i, "ns-platform")).collect();
    answer_pages(&mut model, effects, &all, clock.now);
    assert!(!secret(&model).revealed);
    // Esc: the question, n: back; Enter: the question again, y: gone.
    update(&mut model, code(KeyCode::Esc), clock.now);
    assert!(matches!(secret(&model).prompt, SecretPrompt::ConfirmClose));
    update(&mut model, key('n'), clock.now);
    assert!(matches!(secret(&model).prompt, SecretPrompt::None));
    update(&mut model, code(KeyCode::Enter), clock.now);
    assert!(matches!(secret(&model).prompt, SecretPrompt::ConfirmClose));
    update(&mut model, key('y'), clock.now);
    assert!(model.overlay.is_none());

    // After a copy the view closes without asking.
    let effects = update(&mut model, key('r'), clock.now);
    assert!(effects.is_empty(), "rotate asks first");
    let effects = update(&mut model, key('y'), clock.now);
    let [Effect::Rotate { seq, id, grace }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(id, &account(0, "ns-platform").id);
    assert_eq!(*grace, None, "by default the old token stops at once");
    update(
        &mut model,
        Msg::Rotated {
            seq: *seq,
            result: Ok((account(0, "ns-platform"), token())),
        },
        clock.now,
    );
    update(&mut model, key('v'), clock.now);
    assert!(secret(&model).revealed);
    let effects = update(&mut model, key('c'), clock.now);
    let [Effect::Copy { seq, token: t }] = effects.as_slice() else {
        panic!()
    };
    assert_eq!(t, &token());
    update(
        &mut model,
        Msg::Copied {
            seq: *seq,
            report: CopyReport {
                osc52: true,
                system: Err("no display".into()),
            },
        },
        clock.now,
    );
    // An OSC 52 copy cannot be confirmed: the view says so, and closing still asks.
    let note = secret(&model).note.clone().unwrap();
    assert!(
        !note.0 && note.1.contains("cannot be confirmed"),
        "{note:?}"
    );
    assert!(!secret(&model).kept());
    update(&mut model, code(KeyCode::Esc), clock.now);
    assert!(matches!(secret(&model).prompt, SecretPrompt::ConfirmClose));
    // Ctrl-C asks too, instead of quitting with the token unkept.
    update(&mut model, key('n'), clock.now);
    update(&mut model, ctrl('c'), clock.now);
    assert!(!model.quit);
    assert!(matches!(secret(&model).prompt, SecretPrompt::ConfirmQuit));
    update(&mut model, key('n'), clock.now);
    assert!(!model.quit && model.overlay.is_some());
    update(&mut model, ctrl('c'), clock.now);
    update(&mut model, key('y'), clock.now);
    assert!(model.quit, "y quits");
}

#[test]
fn saving_prompts_for_a_path_and_confirms_an_overwrite() {
    let clock = Clock::new();
    let mut model = on_accounts(1, &clock);
    update(&mut model, key('r'), clock.now);
    let effects = update(&mut model, key('y'), clock.now);
    let [Effect::Rotate { seq, .. }] = effects.as_slice() else {
        panic!()
    };
    update(
        &mut model,
        Msg::Rotated {
            seq: *seq,
            result: Ok((account(0, "ns-platform"), token())),
        },
        clock.now,
    );
    update(&mut model, key('s'), clock.now);
    match &secret(&model).prompt {
        SecretPrompt::SavePath(ta) => {
            assert_eq!(sacon::tui::screens::field_text(ta), "./svc-000.jwt")
        }
        other => panic!("{other:?}"),
    }
    let effects = update(&mut model, code(KeyCode::Enter), clock.now);
    let [
        Effect::Save {
            seq,
            path,
            overwrite: false,
            ..
        },
    ] = effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    update(
        &mut model,
        Msg::Saved {
            seq: *seq,
            result: Err(SaveError::Exists(path.clone())),
        },
        clock.now,
    );
    assert!(matches!(secret(&model).prompt, SecretPrompt::Overwrite(_)));
    let effects = update(&mut model, key('y'), clock.now);
    let [
        Effect::Save {
            seq,
            overwrite: true,
            ..
        },
    ] = effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    update(
        &mut model,
        Msg::Saved {
            seq: *seq,
            result: Ok("./svc-000.jwt".into()),
        },
        clock.now,
    );
    assert!(secret(&model).kept());
    update(&mut model, code(KeyCode::Enter), clock.now);
    assert!(model.overlay.is_none(), "saved: closes without asking");
}

/// A rotation's token view holding `jwt`, revealed, with the curl lines when `curl`.
fn revealed(jwt: &str, curl: bool) -> sacon::tui::Model {
    let clock = Clock::new();
    let mut model = on_accounts(1, &clock);
    update(&mut model, key('r'), clock.now);
    let effects = update(&mut model, key('y'), clock.now);
    let [Effect::Rotate { seq, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    let token = sacon::tui::msg::Token::new(zeroize::Zeroizing::new(jwt.to_string()));
    update(
        &mut model,
        Msg::Rotated {
            seq: *seq,
            result: Ok((account(0, "ns-platform"), token)),
        },
        clock.now,
    );
    update(&mut model, key('v'), clock.now);
    if curl {
        update(&mut model, key('h'), clock.now);
    }
    model
}

/// A token as long as real ones (about 250 characters), ending in a recognisable tail.
fn long_jwt() -> String {
    format!(
        "eyJhbGciOiJIUzI1NiJ9.{}.TAIL-of-the-signature",
        "x".repeat(200)
    )
}

/// The box's rows joined, borders and padding dropped: what can be selected and copied off the screen.
fn joined(screen: &str) -> String {
    screen
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix('│'))
        .map(|l| l.trim_end().trim_end_matches('│').trim_end())
        .collect()
}

#[test]
fn the_whole_token_is_on_screen_at_every_width() {
    let jwt = long_jwt();
    for w in [40u16, 80, 100, 130, 250] {
        let mut model = revealed(&jwt, false);
        let screen = screen_text(&mut model, w, 30);
        assert!(
            joined(&screen).contains(&jwt),
            "{w} columns: the token is not all there:\n{screen}"
        );
    }
    // At 250 columns it is one line, and its last characters are on screen.
    let mut model = revealed(&jwt, false);
    let screen = screen_text(&mut model, 250, 30);
    assert!(screen.lines().any(|l| l.contains(&jwt)), "{screen}");
    let tail_row = screen
        .lines()
        .find(|l| l.contains("TAIL-of-the-signature"))
        .expect("the token's last characters are on screen");
    assert!(
        tail_row
            .trim_end()
            .trim_end_matches('│')
            .trim_end()
            .ends_with("TAIL-of-the-signature"),
        "nothing after the signature but the border: {tail_row}"
    );
    insta::assert_snapshot!("token_revealed_250x30", screen);
    // The curl lines at 250 columns: each one whole (wrapped where longer than the box).
    let mut model = revealed(&jwt, true);
    let screen = screen_text(&mut model, 250, 30);
    for form in [
        format!("Authorization: Bearer Pomerium-{jwt}"),
        format!("X-Pomerium-Authorization: {jwt}"),
        format!("Authorization: Pomerium {jwt}"),
    ] {
        assert!(joined(&screen).contains(&form), "{form}:\n{screen}");
    }
    insta::assert_snapshot!("token_curl_250x30", screen);
}

#[test]
fn every_curl_line_is_whole_or_the_view_says_it_cannot_fit() {
    let jwt = long_jwt();
    let mut model = revealed(&jwt, true);
    let screen = screen_text(&mut model, 100, 30);
    let text = joined(&screen);
    for form in [
        format!("Authorization: Bearer Pomerium-{jwt}"),
        format!("X-Pomerium-Authorization: {jwt}"),
        format!("Authorization: Pomerium {jwt}"),
    ] {
        assert!(text.contains(&form), "{form} is cut:\n{screen}");
    }
    // Too small for the curl lines: said plainly, and the token itself still whole.
    let mut model = revealed(&jwt, true);
    let screen = screen_text(&mut model, 60, 20);
    assert!(screen.contains("The curl lines do not fit in"), "{screen}");
    assert!(joined(&screen).contains(&jwt), "{screen}");
    // Too small even for the token: said, with the way out.
    let mut model = revealed(&jwt, false);
    let screen = screen_text(&mut model, 40, 9);
    assert!(screen.contains("does not fit"), "{screen}");
}
