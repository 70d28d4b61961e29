//! Connect error codes, their HTTP statuses, and the `{"code","message"}` error body shared by server and client.

use serde::{Deserialize, Serialize};

/// The Connect protocol's error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    Canceled,
    Unknown,
    InvalidArgument,
    DeadlineExceeded,
    NotFound,
    AlreadyExists,
    PermissionDenied,
    ResourceExhausted,
    FailedPrecondition,
    Aborted,
    OutOfRange,
    Unimplemented,
    Internal,
    Unavailable,
    DataLoss,
    Unauthenticated,
}

impl Code {
    pub const ALL: [Code; 16] = [
        Code::Canceled,
        Code::Unknown,
        Code::InvalidArgument,
        Code::DeadlineExceeded,
        Code::NotFound,
        Code::AlreadyExists,
        Code::PermissionDenied,
        Code::ResourceExhausted,
        Code::FailedPrecondition,
        Code::Aborted,
        Code::OutOfRange,
        Code::Unimplemented,
        Code::Internal,
        Code::Unavailable,
        Code::DataLoss,
        Code::Unauthenticated,
    ];

    pub fn http_status(self) -> u16 {
        match self {
            Code::Canceled => 499,
            Code::Unknown => 500,
            Code::InvalidArgument => 400,
            Code::DeadlineExceeded => 504,
            Code::NotFound => 404,
            Code::AlreadyExists => 409,
            Code::PermissionDenied => 403,
            Code::ResourceExhausted => 429,
            Code::FailedPrecondition => 400,
            Code::Aborted => 409,
            Code::OutOfRange => 400,
            Code::Unimplemented => 501,
            Code::Internal => 500,
            Code::Unavailable => 503,
            Code::DataLoss => 500,
            Code::Unauthenticated => 401,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Code::Canceled => "canceled",
            Code::Unknown => "unknown",
            Code::InvalidArgument => "invalid_argument",
            Code::DeadlineExceeded => "deadline_exceeded",
            Code::NotFound => "not_found",
            Code::AlreadyExists => "already_exists",
            Code::PermissionDenied => "permission_denied",
            Code::ResourceExhausted => "resource_exhausted",
            Code::FailedPrecondition => "failed_precondition",
            Code::Aborted => "aborted",
            Code::OutOfRange => "out_of_range",
            Code::Unimplemented => "unimplemented",
            Code::Internal => "internal",
            Code::Unavailable => "unavailable",
            Code::DataLoss => "data_loss",
            Code::Unauthenticated => "unauthenticated",
        }
    }

    pub fn parse(s: &str) -> Option<Code> {
        Code::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The code a Connect client infers from an HTTP status when the body carries none.
    pub fn from_http_status(status: u16) -> Code {
        match status {
            400 => Code::Internal,
            401 => Code::Unauthenticated,
            403 => Code::PermissionDenied,
            404 => Code::Unimplemented,
            429 | 502..=504 => Code::Unavailable,
            _ => Code::Unknown,
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A Connect error: a code and a human-readable message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ConnectError {
    pub code: Code,
    pub message: String,
}

impl ConnectError {
    pub fn new(code: Code, message: impl Into<String>) -> ConnectError {
        ConnectError {
            code,
            message: message.into(),
        }
    }
    pub fn invalid(message: impl Into<String>) -> ConnectError {
        ConnectError::new(Code::InvalidArgument, message)
    }
    pub fn not_found(message: impl Into<String>) -> ConnectError {
        ConnectError::new(Code::NotFound, message)
    }
    pub fn internal(message: impl Into<String>) -> ConnectError {
        ConnectError::new(Code::Internal, message)
    }
    pub fn unauthenticated(message: impl Into<String>) -> ConnectError {
        ConnectError::new(Code::Unauthenticated, message)
    }

    /// The JSON error body, `{"code": "...", "message": "..."}`.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(&ErrorBody {
            code: self.code.as_str().to_string(),
            message: Some(self.message.clone()),
        })
        .unwrap_or_default()
    }

    /// Reads an error from an HTTP status and body; a body that is not a Connect error falls back to the status.
    pub fn from_http(status: u16, body: &[u8]) -> ConnectError {
        match serde_json::from_slice::<ErrorBody>(body) {
            Ok(b) => ConnectError {
                code: Code::parse(&b.code).unwrap_or_else(|| Code::from_http_status(status)),
                message: b.message.unwrap_or_default(),
            },
            Err(_) => {
                let text = String::from_utf8_lossy(body);
                let text = text.trim();
                let message = if text.is_empty() {
                    format!("HTTP status {status}")
                } else {
                    format!(
                        "HTTP status {status}: {}",
                        text.chars().take(200).collect::<String>()
                    )
                };
                ConnectError {
                    code: Code::from_http_status(status),
                    message,
                }
            }
        }
    }
}

#[derive(Serialize, Deserialize)]
struct ErrorBody {
    code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_map_to_statuses() {
        for code in Code::ALL {
            assert_eq!(Code::parse(code.as_str()), Some(code));
            let err = ConnectError::new(code, "m");
            assert_eq!(
                ConnectError::from_http(code.http_status(), &err.to_json()),
                err
            );
        }
        assert_eq!(Code::Canceled.http_status(), 499);
        assert_eq!(
            ConnectError::from_http(502, b"<html>").code,
            Code::Unavailable
        );
    }
}
