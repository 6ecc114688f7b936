//! Failed authentication, per client address: a burst of wrong admin tokens (API) or
//! sign-in attempts (console) earns that address 429 with `Retry-After` until the burst
//! drains, checked before any database query, and one log line per burst instead of one per
//! miss. The client is the peer address of the connection (behind a proxy, the proxy's).

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// How fast an address's allowance comes back: one failure every 3 s.
pub const REFILL: Duration = Duration::from_secs(3);

/// The most addresses remembered as throttled (the oldest are dropped beyond it).
const MAX_BLOCKED: usize = 100_000;

/// Counts failures and remembers which addresses must wait.
pub struct Throttle {
    failures: DefaultKeyedRateLimiter<IpAddr>,
    blocked: Mutex<HashMap<IpAddr, Instant>>,
    burst: u32,
}

impl Throttle {
    /// `burst` failures at once per address (`security.failed_auth_burst`).
    pub fn new(burst: u32) -> Self {
        let burst = burst.max(1);
        let quota = Quota::with_period(REFILL)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN));
        Self {
            failures: RateLimiter::keyed(quota),
            blocked: Mutex::new(HashMap::new()),
            burst,
        }
    }
}

impl Throttle {
    /// How long `client` must still wait, if it must.
    pub fn waiting(&self, client: Option<IpAddr>) -> Option<Duration> {
        let client = client?;
        let now = Instant::now();
        let mut blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        match blocked.get(&client) {
            Some(until) if *until > now => Some(*until - now),
            Some(_) => {
                blocked.remove(&client);
                None
            }
            None => None,
        }
    }

    /// Records a failed attempt from `client`; returns how long it must now wait when this
    /// failure ends its allowance (logged once for the burst).
    pub fn failed(&self, client: Option<IpAddr>) -> Option<Duration> {
        let client = client?;
        let not_until = self.failures.check_key(&client).err()?;
        let wait = not_until
            .wait_time_from(DefaultClock::default().now())
            .max(Duration::from_secs(1));
        let mut blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        if blocked.len() >= MAX_BLOCKED {
            let now = Instant::now();
            blocked.retain(|_, until| *until > now);
        }
        if blocked.len() < MAX_BLOCKED {
            blocked.insert(client, Instant::now() + wait);
        }
        tracing::warn!(
            client = %client,
            burst = self.burst,
            wait_seconds = wait.as_secs(),
            "repeated failed authentication from one address: it waits"
        );
        self.failures.retain_recent();
        Some(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_waits_after_a_burst_of_failures_and_others_do_not() {
        let throttle = Throttle::new(20);
        let one: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..20 {
            assert_eq!(throttle.failed(Some(one)), None);
        }
        assert_eq!(throttle.waiting(Some(one)), None);
        let wait = throttle.failed(Some(one)).expect("the burst is spent");
        assert!(wait >= Duration::from_secs(1) && wait <= REFILL, "{wait:?}");
        assert!(throttle.waiting(Some(one)).is_some());
        assert_eq!(throttle.waiting(Some(other)), None);
        assert_eq!(throttle.failed(None), None, "no address, nothing to count");
    }
}
