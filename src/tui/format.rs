//! Text the console shows in cells: the masked token and dates, plus (re-exported from `crate::display`, shared
//! with the CLI) relative times, the audit marks of an account and width-aware truncation.

use chrono::{DateTime, Utc};

pub use crate::display::{
    EXPIRING_WITHIN, ExpiryMark, LEGEND, Marks, UNUSED_FOR, UNUSED_SYMBOL, ago, expires, fit,
    last_used, marks, span,
};

/// `eyJhbGci…Qx8s` with the middle hidden: enough to recognise the token, not enough to use it.
pub fn mask(token: &str) -> String {
    let chars: Vec<char> = token.chars().collect();
    if chars.len() <= 16 {
        return "•".repeat(chars.len().min(8));
    }
    let head: String = chars[..8].iter().collect();
    let tail: String = chars[chars.len() - 6..].iter().collect();
    format!("{head}{}{tail}", "•".repeat(12))
}

/// A date as the detail panel shows it: `2027-01-31 00:00 UTC`.
pub fn datetime(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ServiceAccount;
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
    }

    #[test]
    fn relative_times() {
        let n = now();
        assert_eq!(expires(None, n), "never");
        assert_eq!(expires(Some(n + Duration::days(12)), n), "in 12d");
        assert_eq!(expires(Some(n - Duration::days(3)), n), "expired 3d ago");
        assert_eq!(expires(Some(n + Duration::days(400)), n), "in 1y");
        assert_eq!(expires(Some(n + Duration::days(90)), n), "in 90d");
        assert_eq!(last_used(None, n), "never");
        assert_eq!(last_used(Some(n - Duration::hours(5)), n), "5h ago");
        assert_eq!(last_used(Some(n), n), "just now");
    }

    #[test]
    fn audit_marks() {
        let n = now();
        let mut a = ServiceAccount {
            id: "x".into(),
            namespace_id: "g".into(),
            originator_id: String::new(),
            description: String::new(),
            user_id: "u".into(),
            expires_at: Some(n - Duration::days(1)),
            created_at: n - Duration::days(100),
            modified_at: n,
            accessed_at: None,
            disabled: false,
        };
        assert_eq!(
            marks(&a, n),
            Marks {
                expiry: ExpiryMark::Expired,
                unused: true
            }
        );
        a.expires_at = Some(n + Duration::days(7));
        a.accessed_at = Some(n - Duration::days(1));
        assert_eq!(
            marks(&a, n),
            Marks {
                expiry: ExpiryMark::Soon,
                unused: false
            }
        );
        a.expires_at = None;
        assert_eq!(marks(&a, n).expiry, ExpiryMark::Never);
    }

    #[test]
    fn masking_and_fitting() {
        let t = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
        let m = mask(t);
        assert!(m.starts_with("eyJhbGci"));
        assert!(m.ends_with("dXJl"));
        assert!(!m.contains("eyJzdWIi"));
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abc", 4), "abc");
        assert_eq!(fit("abc", 0), "");
    }
}
