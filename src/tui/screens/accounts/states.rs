//! The account list's state filters for audits: expiry (expired, expiring within 7 or 30 days, never expires),
//! use (unused 90 days, never used) and disabled, each on one key. Within a group one is on at a time (pressing
//! another replaces it, pressing it again turns it off); the groups, the text filter and the scope combine with
//! AND. They become server-side conditions, so paging and totals stay right; times are taken once, when a filter
//! changes or the list is refreshed, so every page of one query asks the same question.

use chrono::{DateTime, Duration, Utc};

use crate::display::{EXPIRING_WITHIN, UNUSED_FOR};
use crate::filter::{Expr, Field};

/// One state filter: what a digit key in the account list toggles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StateFilter {
    /// Expired (expires at or before now).
    Expired,
    /// Not expired, expires within 7 days.
    Expiring7,
    /// Not expired, expires within 30 days.
    Expiring30,
    /// No expiry at all.
    NeverExpires,
    /// Not used for 90 days (counting from creation when never used), as the `z` mark.
    Unused,
    /// Never used.
    NeverUsed,
    /// Disabled.
    Disabled,
}

/// The longer expiry window.
pub const EXPIRING_LONG: Duration = Duration::days(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Group {
    Expiry,
    Use,
    Disabled,
}

impl StateFilter {
    fn group(self) -> Group {
        match self {
            StateFilter::Expired
            | StateFilter::Expiring7
            | StateFilter::Expiring30
            | StateFilter::NeverExpires => Group::Expiry,
            StateFilter::Unused | StateFilter::NeverUsed => Group::Use,
            StateFilter::Disabled => Group::Disabled,
        }
    }

    /// How the title names it.
    pub fn label(self) -> &'static str {
        match self {
            StateFilter::Expired => "expired",
            StateFilter::Expiring7 => "expiring ≤7d",
            StateFilter::Expiring30 => "expiring ≤30d",
            StateFilter::NeverExpires => "never expires",
            StateFilter::Unused => "unused 90d",
            StateFilter::NeverUsed => "never used",
            StateFilter::Disabled => "disabled",
        }
    }

    /// The server-side condition, as of `now`.
    pub fn expr(self, now: DateTime<Utc>) -> Expr {
        let expires = || Expr::field(Field::ExpiresAt);
        match self {
            StateFilter::Expired => expires().on_or_before(now),
            StateFilter::Expiring7 => Expr::and([
                expires().after(now),
                expires().on_or_before(now + EXPIRING_WITHIN),
            ]),
            StateFilter::Expiring30 => Expr::and([
                expires().after(now),
                expires().on_or_before(now + EXPIRING_LONG),
            ]),
            StateFilter::NeverExpires => expires().is_empty(),
            StateFilter::Unused => {
                let since = now - UNUSED_FOR;
                Expr::or([
                    Expr::field(Field::AccessedAt).on_or_before(since),
                    Expr::and([
                        Expr::field(Field::AccessedAt).is_empty(),
                        Expr::field(Field::CreatedAt).on_or_before(since),
                    ]),
                ])
            }
            StateFilter::NeverUsed => Expr::field(Field::AccessedAt).is_empty(),
            StateFilter::Disabled => Expr::field(Field::Disabled).eq(true),
        }
    }
}

/// The state filters that are on (at most one per group) and the time they are judged against.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct States {
    on: Vec<StateFilter>,
    /// When the filters were last changed or refreshed; `None` until then.
    pub as_of: Option<DateTime<Utc>>,
}

impl States {
    /// Turns `filter` on (replacing another of its group) or, when it is on, off; judged as of `now`.
    pub fn toggle(&mut self, filter: StateFilter, now: DateTime<Utc>) {
        if self.on.contains(&filter) {
            self.on.retain(|f| *f != filter);
        } else {
            self.on.retain(|f| f.group() != filter.group());
            self.on.push(filter);
            self.on.sort_by_key(|f| *f as u8);
        }
        self.as_of = Some(now);
    }

    /// Turns every state filter off. Returns whether any was on.
    pub fn clear(&mut self) -> bool {
        let any = !self.on.is_empty();
        self.on.clear();
        any
    }

    pub fn is_empty(&self) -> bool {
        self.on.is_empty()
    }

    pub fn contains(&self, filter: StateFilter) -> bool {
        self.on.contains(&filter)
    }

    /// Those on, in key order.
    pub fn active(&self) -> &[StateFilter] {
        &self.on
    }

    /// `expired + never used`, for the title.
    pub fn label(&self) -> String {
        self.on
            .iter()
            .map(|f| f.label())
            .collect::<Vec<_>>()
            .join(" + ")
    }

    /// Judges the filters that are on as of `now` (a refresh).
    pub fn refresh(&mut self, now: DateTime<Utc>) {
        if !self.on.is_empty() {
            self.as_of = Some(now);
        }
    }

    /// The conditions of those on, as of `as_of` (set whenever one is turned on).
    pub fn exprs(&self) -> Vec<Expr> {
        let Some(at) = self.as_of else {
            return Vec::new();
        };
        self.on.iter().map(|f| f.expr(at)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_per_group_and_groups_combine() {
        let now = DateTime::UNIX_EPOCH;
        let mut s = States::default();
        s.toggle(StateFilter::Expiring7, now);
        s.toggle(StateFilter::NeverUsed, now);
        s.toggle(StateFilter::Expired, now);
        assert_eq!(s.active(), [StateFilter::Expired, StateFilter::NeverUsed]);
        s.toggle(StateFilter::Disabled, now);
        assert_eq!(s.label(), "expired + never used + disabled");
        s.toggle(StateFilter::Expired, now);
        assert_eq!(s.active(), [StateFilter::NeverUsed, StateFilter::Disabled]);
        assert!(s.clear());
        assert!(!s.clear());
    }
}
