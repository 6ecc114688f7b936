//! The keyCRM request budget as a generic cell rate algorithm (GCRA) with priorities.
//!
//! keyCRM allows a fixed number of requests per minute per API key. The budget spaces
//! requests by `interval = 60 s / requests_per_minute` with no burst, which keeps every
//! window of a minute at or under the limit. The only state is the *theoretical arrival
//! time* (`tat`): the earliest instant the next request may be sent. Whoever stores `tat`
//! (PostgreSQL, shared by every process using the key) calls [`decide`] under a row lock.
//!
//! Priorities: a request of priority `p` may book a slot at most `horizon(p)` ahead of now.
//! Stock pushes may queue far ahead; webhook fetches a few slots; bulk pulls only take a slot
//! that is free right now. When pushes are waiting, `tat` runs ahead of now and lower
//! priorities step back, so pushes go first without any cross-process queue.

use chrono::{DateTime, TimeDelta, Utc};

/// Who is asking for a keyCRM request slot, most urgent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// Stock balance pushes (`PUT /offers/stocks`): the user sees stale stock until they land.
    StockPush,
    /// Interactive calls and per-order fetches after a webhook.
    Normal,
    /// Bulk pulls: "Synchronize orders" pages and reconciliation passes.
    Bulk,
}

impl Priority {
    /// How many intervals ahead of now this priority may book a slot.
    pub fn horizon_slots(self) -> i32 {
        match self {
            Priority::StockPush => 60,
            Priority::Normal => 3,
            Priority::Bulk => 0,
        }
    }

    /// Stable name for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::StockPush => "stock_push",
            Priority::Normal => "normal",
            Priority::Bulk => "bulk",
        }
    }
}

/// Spacing between two requests for a rate of `requests_per_minute` (at least 1).
pub fn interval(requests_per_minute: u32) -> TimeDelta {
    let rpm = i64::from(requests_per_minute.max(1));
    TimeDelta::microseconds(60_000_000 / rpm)
}

/// What the caller holding the budget row should do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Send at `send_at`; store `new_tat`.
    Grant {
        send_at: DateTime<Utc>,
        new_tat: DateTime<Utc>,
    },
    /// No slot within this priority's horizon; store nothing and ask again after `retry_in`.
    Defer { retry_in: TimeDelta },
}

/// Decides one request against the stored `tat` (None: the key was never used).
pub fn decide(
    tat: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    interval: TimeDelta,
    priority: Priority,
) -> Decision {
    let slot = tat.map_or(now, |t| t.max(now));
    let wait = slot - now;
    let horizon = interval * priority.horizon_slots();
    if wait <= horizon {
        Decision::Grant {
            send_at: slot,
            new_tat: slot + interval,
        }
    } else {
        // Come back when the queue ahead has shrunk to this priority's horizon, but never
        // sooner than a fraction of an interval, so waiters do not hammer the row.
        let retry_in = (wait - horizon).max(interval / 4);
        Decision::Defer { retry_in }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    #[test]
    fn interval_spreads_a_minute_evenly() {
        assert_eq!(interval(60), TimeDelta::seconds(1));
        assert_eq!(interval(600), TimeDelta::milliseconds(100));
        assert_eq!(interval(0), TimeDelta::seconds(60));
    }

    #[test]
    fn first_request_goes_now_and_books_the_next_slot() {
        let d = decide(None, t0(), interval(60), Priority::Bulk);
        assert_eq!(
            d,
            Decision::Grant {
                send_at: t0(),
                new_tat: t0() + TimeDelta::seconds(1)
            }
        );
    }

    #[test]
    fn a_stale_tat_does_not_allow_a_burst() {
        // tat far in the past: the slot is now, not back then.
        let d = decide(
            Some(t0() - TimeDelta::hours(1)),
            t0(),
            interval(60),
            Priority::Bulk,
        );
        assert_eq!(
            d,
            Decision::Grant {
                send_at: t0(),
                new_tat: t0() + TimeDelta::seconds(1)
            }
        );
    }

    #[test]
    fn consecutive_grants_are_spaced_by_the_interval() {
        let iv = interval(60);
        let mut tat = None;
        let mut sends = Vec::new();
        for _ in 0..120 {
            match decide(tat, t0(), iv, Priority::StockPush) {
                Decision::Grant { send_at, new_tat } => {
                    sends.push(send_at);
                    tat = Some(new_tat);
                }
                Decision::Defer { .. } => break,
            }
        }
        // The horizon is 60 slots: 61 grants (slot 0 ..= slot 60), then deferral.
        assert_eq!(sends.len(), 61);
        for pair in sends.windows(2) {
            assert_eq!(pair[1] - pair[0], iv);
        }
        // No minute holds more than 60 sends.
        let in_first_minute = sends
            .iter()
            .filter(|s| **s < t0() + TimeDelta::minutes(1))
            .count();
        assert_eq!(in_first_minute, 60);
    }

    #[test]
    fn lower_priorities_step_back_while_pushes_are_queued() {
        let iv = interval(60);
        let tat = Some(t0() + iv * 10); // ten push slots booked ahead
        assert!(matches!(
            decide(tat, t0(), iv, Priority::StockPush),
            Decision::Grant { .. }
        ));
        match decide(tat, t0(), iv, Priority::Normal) {
            Decision::Defer { retry_in } => assert_eq!(retry_in, iv * 7),
            other => panic!("normal should defer, got {other:?}"),
        }
        match decide(tat, t0(), iv, Priority::Bulk) {
            Decision::Defer { retry_in } => assert_eq!(retry_in, iv * 10),
            other => panic!("bulk should defer, got {other:?}"),
        }
    }

    #[test]
    fn bulk_takes_only_a_free_slot_and_polls_gently() {
        let iv = interval(60);
        // Slot just booked by someone else: bulk waits at least a quarter interval.
        match decide(
            Some(t0() + TimeDelta::milliseconds(10)),
            t0(),
            iv,
            Priority::Bulk,
        ) {
            Decision::Defer { retry_in } => assert_eq!(retry_in, iv / 4),
            other => panic!("bulk should defer, got {other:?}"),
        }
        assert!(matches!(
            decide(Some(t0()), t0(), iv, Priority::Bulk),
            Decision::Grant { .. }
        ));
    }
}
