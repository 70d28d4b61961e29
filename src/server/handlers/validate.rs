//! Field validation shared by the handlers; every error names the field as clients spell it. Text that will be
//! shown in a terminal later is refused here when it could steer one (escape sequences, bidi overrides).

use crate::api::ConnectError;
use crate::model::{NAMESPACE_PATH_SEPARATORS, is_forbidden_in_text, is_unsafe_char};

pub const MAX_USER_ID: usize = 256;
pub const MAX_DESCRIPTION: usize = 1024;
pub const MAX_NAME: usize = 256;

/// A required identifier-like string: non-empty, at most `max` characters, no control, bidi or invisible
/// formatting characters.
pub fn identifier(field: &str, value: Option<&str>, max: usize) -> Result<String, ConnectError> {
    let value = value.unwrap_or("");
    if value.trim().is_empty() {
        return Err(ConnectError::invalid(format!("{field} is required")));
    }
    text(field, value, max)?;
    if let Some((at, c)) = first(value, is_unsafe_char) {
        return Err(ConnectError::invalid(format!(
            "{field} must not contain control, bidi or invisible formatting characters \
             (U+{:04X} at character {at})",
            u32::from(c)
        )));
    }
    Ok(value.to_string())
}

/// A namespace name: an identifier once trimmed, without the separators of a namespace path.
pub fn namespace_name(value: &str) -> Result<String, ConnectError> {
    let name = identifier("name", Some(value.trim()), MAX_NAME)?;
    if let Some((at, c)) = first(&name, |c| NAMESPACE_PATH_SEPARATORS.contains(&c)) {
        return Err(ConnectError::invalid(format!(
            "name must not contain {c:?} (character {at}): it separates the names in a namespace path"
        )));
    }
    Ok(name)
}

/// Free text: at most `max` characters.
pub fn text(field: &str, value: &str, max: usize) -> Result<(), ConnectError> {
    let n = value.chars().count();
    if n > max {
        return Err(ConnectError::invalid(format!(
            "{field} is {n} characters long; at most {max} are allowed"
        )));
    }
    Ok(())
}

/// Free text that is stored and shown later: at most `max` characters, tabs and newlines but no other control
/// characters, and no bidi controls.
pub fn display_text(field: &str, value: &str, max: usize) -> Result<(), ConnectError> {
    text(field, value, max)?;
    if let Some((at, c)) = first(value, is_forbidden_in_text) {
        return Err(ConnectError::invalid(format!(
            "{field} must not contain control or bidi characters other than tab and newline \
             (U+{:04X} at character {at})",
            u32::from(c)
        )));
    }
    Ok(())
}

/// The first character matching `bad`, with its 1-based position in characters.
fn first(value: &str, bad: impl Fn(char) -> bool) -> Option<(usize, char)> {
    value
        .chars()
        .enumerate()
        .find(|(_, c)| bad(*c))
        .map(|(i, c)| (i + 1, c))
}
