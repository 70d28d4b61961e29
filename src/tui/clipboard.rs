//! Copying a token: an OSC 52 sequence to the terminal first (it reaches the admin's own machine over SSH, and
//! through tmux when `set-clipboard` allows), then the system clipboard through arboard when a display exists.
//! When neither works the view says so and offers saving to a file instead.

use std::io::Write;
use std::sync::{Mutex, OnceLock};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

/// The OSC 52 "set clipboard" sequence for `text`, terminated with BEL (understood by xterm, tmux, kitty,
/// iTerm2, WezTerm, Windows Terminal). Zeroized on drop: it is the token in base64.
pub fn osc52(text: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::from("\x1b]52;c;"));
    out.push_str(&STANDARD.encode(text.as_bytes()));
    out.push('\x07');
    out
}

/// Writes the OSC 52 sequence to the terminal. Whether the terminal acts on it cannot be known.
pub fn write_osc52(out: &mut impl Write, text: &str) -> std::io::Result<()> {
    out.write_all(osc52(text).as_bytes())?;
    out.flush()
}

/// A display server the system clipboard could use.
pub fn has_display() -> bool {
    if cfg!(target_os = "macos") || cfg!(windows) {
        return true;
    }
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
}

/// The clipboard handle stays alive for the whole run: on X11 the copied text is served by this process and
/// would vanish with the handle.
fn handle() -> &'static Mutex<Option<arboard::Clipboard>> {
    static CLIPBOARD: OnceLock<Mutex<Option<arboard::Clipboard>>> = OnceLock::new();
    CLIPBOARD.get_or_init(|| Mutex::new(None))
}

/// Puts `text` on the system clipboard. Blocking (it may talk to a display server): run it off the UI task.
pub fn system_copy(text: &str) -> Result<(), String> {
    if !has_display() {
        return Err("none (no display)".into());
    }
    let mut guard = handle()
        .lock()
        .map_err(|_| "the clipboard is unavailable".to_string())?;
    if guard.is_none() {
        *guard = Some(arboard::Clipboard::new().map_err(|e| e.to_string())?);
    }
    match guard.as_mut() {
        Some(clipboard) => clipboard
            .set_text(text.to_string())
            .map_err(|e| e.to_string()),
        None => Err("the clipboard is unavailable".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osc52_is_base64_between_the_markers() {
        let seq = osc52("abc.def");
        assert_eq!(seq.as_str(), "\x1b]52;c;YWJjLmRlZg==\x07");
        let mut out = Vec::new();
        write_osc52(&mut out, "abc.def").unwrap();
        assert_eq!(out, seq.as_bytes());
    }
}
