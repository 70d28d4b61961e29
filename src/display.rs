//! How account facts read to a person, the same in the console and the CLI: spans (`45s`, `5m`, `3h`, `12d`,
//! `2y`), relative times (`in 12d`, `expired 3d ago`, `never`, `just now`), the audit marks and state of an
//! account, and cutting text to a number of terminal cells. Pure functions of their inputs and `now`.

use chrono::{DateTime, Duration, Utc};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::model::ServiceAccount;

/// How far ahead an expiry counts as "soon".
pub const EXPIRING_WITHIN: Duration = Duration::days(7);
/// How long without use makes an account stale.
pub const UNUSED_FOR: Duration = Duration::days(90);

/// A length of time in its largest sensible unit, rounded to the nearest: `45s`, `5m`, `3h`, `12d`, `2y`.
/// Rounded, not floored, so an account made to expire in 30 days reads `in 30d` a second later.
pub fn span(d: Duration) -> String {
    let secs = d.num_seconds().unsigned_abs();
    let round = |unit: u64| (secs + unit / 2) / unit;
    if secs < 60 {
        format!("{secs}s")
    } else if round(60) < 60 {
        format!("{}m", round(60))
    } else if round(3600) < 24 {
        format!("{}h", round(3600))
    } else if round(86_400) < 365 {
        format!("{}d", round(86_400))
    } else {
        format!("{}y", round(86_400) / 365)
    }
}

/// A past instant: `3d ago`; under a minute (or a clock a little ahead), `just now`.
pub fn ago(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    if now - t < Duration::seconds(60) {
        "just now".into()
    } else {
        format!("{} ago", span(now - t))
    }
}

/// An expiry: `never`, `in 12d`, `expired 3d ago`.
pub fn expires(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    match at {
        None => "never".into(),
        Some(t) if t <= now => format!("expired {}", ago(t, now)),
        Some(t) => format!("in {}", span(t - now)),
    }
}

/// Last use: `never` when unused, else `3h ago`.
pub fn last_used(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    match at {
        None => "never".into(),
        Some(t) => ago(t, now),
    }
}

/// What an audit looks for in an account's expiry.
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
    /// One cell wide, so a marker column lines up in every terminal.
    pub fn symbol(self) -> &'static str {
        match self {
            ExpiryMark::Expired => "✗",
            ExpiryMark::Soon => "!",
            ExpiryMark::Never => "∞",
            ExpiryMark::Fine => " ",
        }
    }

    /// A word for machine-readable output.
    pub fn word(self) -> &'static str {
        match self {
            ExpiryMark::Expired => "expired",
            ExpiryMark::Soon => "expiring",
            ExpiryMark::Never => "never-expires",
            ExpiryMark::Fine => "",
        }
    }
}

/// The symbol for an account unused for 90 days.
pub const UNUSED_SYMBOL: &str = "z";

/// What the marks mean, for a legend.
pub const LEGEND: &str = "✗ expired  ! expires ≤7d  ∞ never expires  z unused 90d";

/// The symbol for a disabled account, one cell wide like the others.
pub const DISABLED_SYMBOL: &str = "⊘";

/// The legend entry for [`DISABLED_SYMBOL`].
pub const DISABLED_LEGEND: &str = "⊘ disabled";

/// The symbol for an account that no policy lets through any route it could use ("no grant").
pub const NO_GRANT_SYMBOL: &str = "◌";

/// The legend entry for [`NO_GRANT_SYMBOL`].
pub const NO_GRANT_LEGEND: &str = "◌ no grant";

/// An account's state in one word: `disabled` (an admin's choice, reversible, so it comes first), `expired`, or
/// `active`.
pub fn state(a: &ServiceAccount, now: DateTime<Utc>) -> &'static str {
    if a.disabled {
        "disabled"
    } else if a.is_expired(now) {
        "expired"
    } else {
        "active"
    }
}

/// Cuts `text` to at most `width` terminal cells, ending with `…` when something was cut.
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
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn spans_round_to_the_largest_unit() {
        assert_eq!(span(Duration::seconds(45)), "45s");
        assert_eq!(span(Duration::seconds(5 * 60 + 20)), "5m");
        assert_eq!(span(Duration::hours(3)), "3h");
        assert_eq!(span(Duration::days(30) - Duration::seconds(3)), "30d");
        assert_eq!(span(Duration::days(365) - Duration::seconds(1)), "1y");
        assert_eq!(span(Duration::days(800)), "2y");
        assert_eq!(span(Duration::seconds(-90)), "2m");
    }

    #[test]
    fn relative_times() {
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
        assert_eq!(expires(None, now), "never");
        assert_eq!(expires(Some(now + Duration::days(12)), now), "in 12d");
        assert_eq!(
            expires(Some(now - Duration::days(3)), now),
            "expired 3d ago"
        );
        assert_eq!(expires(Some(now), now), "expired just now");
        assert_eq!(last_used(None, now), "never");
        assert_eq!(last_used(Some(now - Duration::hours(5)), now), "5h ago");
        assert_eq!(last_used(Some(now + Duration::seconds(2)), now), "just now");
    }

    #[test]
    fn state_puts_disabled_first() {
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
        let mut a = ServiceAccount {
            id: "a".into(),
            namespace_id: "g".into(),
            originator_id: String::new(),
            description: String::new(),
            user_id: "u".into(),
            expires_at: None,
            created_at: now,
            modified_at: now,
            accessed_at: None,
            disabled: false,
        };
        assert_eq!(state(&a, now), "active");
        a.expires_at = Some(now);
        assert_eq!(state(&a, now), "expired");
        a.disabled = true;
        assert_eq!(state(&a, now), "disabled");
        a.expires_at = None;
        assert_eq!(state(&a, now), "disabled");
        assert_eq!(DISABLED_SYMBOL.width(), 1);
        assert!(DISABLED_LEGEND.starts_with(DISABLED_SYMBOL));
    }

    #[test]
    fn fit_counts_cells() {
        assert_eq!(fit("abcdef", 6), "abcdef");
        assert_eq!(fit("abcdefg", 6), "abcde…");
        assert_eq!(fit("日本語テキスト", 7), "日本語…");
        assert_eq!(fit("abc", 0), "");
    }
}
