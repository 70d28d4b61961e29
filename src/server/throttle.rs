//! Failed admin authentications per source address: a small burst is answered `unauthenticated`, more within a
//! short time `resource_exhausted` with a retry delay. Only failures are counted and only failures are slowed, so a
//! valid credential is never delayed, whatever its address did before.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

/// Failures an address may make at once before it is slowed.
pub const BURST: f64 = 10.0;
/// Failures an address is forgiven per second after that.
pub const REFILL_PER_SECOND: f64 = 1.0;
/// Addresses remembered at most; past this, those whose bucket is full again are forgotten.
const MAX_TRACKED: usize = 50_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: DateTime<Utc>,
}

impl Bucket {
    fn refilled(self, now: DateTime<Utc>) -> f64 {
        let secs = (now - self.at).num_milliseconds().max(0) as f64 / 1000.0;
        (self.tokens + secs * REFILL_PER_SECOND).min(BURST)
    }
}

#[derive(Debug, Default)]
pub struct AuthFailures(Mutex<HashMap<IpAddr, Bucket>>);

impl AuthFailures {
    /// Records a failed authentication from `ip`. `None` while within the burst; otherwise how long the address
    /// should wait before its next attempt.
    pub fn fail(&self, ip: IpAddr, now: DateTime<Utc>) -> Option<Duration> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_TRACKED && !map.contains_key(&ip) {
            map.retain(|_, b| b.refilled(now) < BURST);
        }
        let bucket = map.entry(ip).or_insert(Bucket {
            tokens: BURST,
            at: now,
        });
        let tokens = bucket.refilled(now);
        if tokens >= 1.0 {
            *bucket = Bucket {
                tokens: tokens - 1.0,
                at: now,
            };
            return None;
        }
        *bucket = Bucket { tokens, at: now };
        let wait = ((1.0 - tokens) / REFILL_PER_SECOND).max(0.0);
        Some(Duration::milliseconds((wait * 1000.0).ceil() as i64).max(Duration::seconds(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_slowed_then_forgiven() {
        let f = AuthFailures::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        let t = Utc::now();
        for _ in 0..BURST as usize {
            assert_eq!(f.fail(ip, t), None);
        }
        assert!(f.fail(ip, t).is_some_and(|d| d >= Duration::seconds(1)));
        assert_eq!(f.fail(other, t), None, "another address is not slowed");
        assert_eq!(
            f.fail(ip, t + Duration::seconds(2)),
            None,
            "a second later one more is forgiven"
        );
    }
}
