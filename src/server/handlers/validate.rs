//! Field validation shared by the handlers; every error names the field as clients spell it.

use crate::api::ConnectError;

pub const MAX_USER_ID: usize = 256;
pub const MAX_DESCRIPTION: usize = 1024;
pub const MAX_NAME: usize = 256;

/// A required identifier-like string: non-empty, at most `max` characters, no control characters.
pub fn identifier(field: &str, value: Option<&str>, max: usize) -> Result<String, ConnectError> {
    let value = value.unwrap_or("");
    if value.trim().is_empty() {
        return Err(ConnectError::invalid(format!("{field} is required")));
    }
    text(field, value, max)?;
    if value.chars().any(char::is_control) {
        return Err(ConnectError::invalid(format!(
            "{field} must not contain control characters"
        )));
    }
    Ok(value.to_string())
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
