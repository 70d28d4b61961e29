//! Text shown in cells: relative times (`in 12d`, `expired 3d ago`, `never`), the audit markers of an account,
//! the masked token, and width-aware truncation. Pure functions of their inputs and `now`.

use chrono::{DateTime, Duration, Utc};
use unicode_width::UnicodeWidthStr;

use crate::model::ServiceAccount;

/// How far ahead an expiry counts as "soon".
pub const EXPIRING_WITHIN: Duration = Duration::days(7);
/// How long without use makes an account stale.
pub const UNUSED_FOR: Duration = Duration::days(90);

/// `3m`, `5h`, `12d`, `14mo`, `2y`: the largest unit that fits, rounded down.
pub fn span(d: Duration) -> String {
    let secs = d.num_seconds().max(0);
    let (m, h, day) = (60, 3600, 86_400);
    if secs < m {
        format!("{secs}s")
    } else if secs < h {
        format!("{}m", secs / m)
    } else if secs < day {
        format!("{}h", secs / h)
    } else if secs < 100 * day {
        format!("{}d", secs / day)
    } else if secs < 730 * day {
        format!("{}mo", secs / (30 * day))
    } else {
        format!("{}y", secs / (365 * day))
    }
}

/// A past instant: `3d ago`, `just now`.
pub fn ago(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let d = now - t;
    if d < Duration::seconds(60) {
        "just now".into()
    } else {
        format!("{} ago", span(d))
    }
}

/// The Expires column: `in 12d`, `expired 3d ago`, `never`.
pub fn expires(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    match at {
        None => "never".into(),
        Some(t) if t <= now => format!("expired {}", ago(t, now)),
        Some(t) => format!("in {}", span(t - now)),
    }
}

/// The Last used column: `never` when unused.
pub fn last_used(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    match at {
        None => "never".into(),
        Some(t) => ago(t, now),
    }
}

/// What an audit looks for in a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryMark {
    Expired,
    Soon,
    Never,
    Fine,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marks {
    pub expiry: ExpiryMark,
    /// Not used for `UNUSED_FOR` (counting from creation when never used).
    pub unused: bool,
}

pub fn marks(a: &ServiceAccount, now: DateTime<Utc>) -> Marks {
    let expiry = match a.expires_at {
        None => ExpiryMark::Never,
        Some(t) if t <= now => ExpiryMark::Expired,
        Some(t) if t - now <= EXPIRING_WITHIN => ExpiryMark::Soon,
        Some(_) => ExpiryMark::Fine,
    };
    let last = a.accessed_at.unwrap_or(a.created_at);
    Marks {
        expiry,
        unused: now - last >= UNUSED_FOR,
    }
}

impl ExpiryMark {
    /// One cell wide, so the marker column lines up in every terminal.
    pub fn symbol(self) -> &'static str {
        match self {
            ExpiryMark::Expired => "✗",
            ExpiryMark::Soon => "!",
            ExpiryMark::Never => "∞",
            ExpiryMark::Fine => " ",
        }
    }
}

/// The symbol for an account unused for 90 days.
pub const UNUSED_SYMBOL: &str = "z";

/// The legend under the account list.
pub const LEGEND: &str = "✗ expired  ! expires ≤7d  ∞ never expires  z unused 90d";

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

/// Cuts `text` to `width` terminal cells, ending with `…` when something was cut.
pub fn fit(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    out
}

/// A date as the detail panel shows it: `2027-01-31 00:00 UTC`.
pub fn datetime(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
    }

    #[test]
    fn relative_times() {
        let n = now();
        assert_eq!(expires(None, n), "never");
        assert_eq!(expires(Some(n + Duration::days(12)), n), "in 12d");
        assert_eq!(expires(Some(n - Duration::days(3)), n), "expired 3d ago");
        assert_eq!(expires(Some(n + Duration::days(400)), n), "in 13mo");
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
