//! How the store's errors reach API callers: each kind becomes its Connect code with the store's message, except
//! internal failures, whose details go to the log and never to a caller.

use crate::api::{Code, ConnectError};
use crate::store::StoreError;

impl From<StoreError> for ConnectError {
    fn from(e: StoreError) -> Self {
        let code = match &e {
            StoreError::NotFound(_) => Code::NotFound,
            StoreError::AlreadyExists(_) => Code::AlreadyExists,
            StoreError::FailedPrecondition(_) => Code::FailedPrecondition,
            StoreError::InvalidArgument(_) => Code::InvalidArgument,
            StoreError::Unavailable(_) => Code::Unavailable,
            StoreError::Internal(_) => {
                // A database message can name tables, paths or values; callers learn only that it failed.
                tracing::error!(error = %e, "storage failure");
                return ConnectError::internal("internal storage error");
            }
        };
        ConnectError::new(code, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_details_stay_on_the_server() {
        let e = ConnectError::from(StoreError::Internal("disk I/O error at /srv/db".into()));
        assert_eq!(e.code, Code::Internal);
        assert_eq!(e.message, "internal storage error");
        let e = ConnectError::from(StoreError::NotFound(
            "service account \"a\" not found".into(),
        ));
        assert_eq!(e.code, Code::NotFound);
        assert_eq!(e.message, "service account \"a\" not found");
    }
}
