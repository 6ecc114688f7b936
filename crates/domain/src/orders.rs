//! Rules about customer orders coming from keyCRM.

use chrono::{DateTime, TimeDelta, Utc};

crate::text_enum! {
    /// Where an order's shipment stands.
    pub enum ShipmentState {
        /// Not shipped, and not in a ship status.
        NotShipped,
        /// Not shipped; in a reserve status, its lines are held in its ship warehouse
        /// (counted in `reserved`, not in the ledger).
        Reserved,
        /// Due to ship (or, shipped, to be corrected), but a line is short in the warehouse:
        /// it moves as soon as stock covers it (or by hand).
        Waiting,
        /// Its lines left the warehouse (with corrections, exactly what it holds now).
        Shipped,
        /// It came back: what it took returned to the warehouse.
        Returned,
    }
}

impl ShipmentState {
    /// The state from what is stored about the order.
    pub fn of(shipped: bool, returned: bool, waiting: bool, reserved: bool) -> Self {
        match (shipped, returned, waiting, reserved) {
            (_, true, _, _) => ShipmentState::Returned,
            (_, _, true, _) => ShipmentState::Waiting,
            (true, _, _, _) => ShipmentState::Shipped,
            (_, _, _, true) => ShipmentState::Reserved,
            _ => ShipmentState::NotShipped,
        }
    }
}

/// A shipped order that left the ship statuses without entering a return status keeps its
/// shipment (stock does not move back by itself): this says so, for the order's view.
pub fn kept_shipment_note(
    state: ShipmentState,
    status_id: Option<i64>,
    ship_status_ids: &[i64],
    return_status_ids: &[i64],
) -> Option<&'static str> {
    let listed = |ids: &[i64]| status_id.is_some_and(|s| ids.contains(&s));
    (state == ShipmentState::Shipped && !listed(ship_status_ids) && !listed(return_status_ids))
        .then_some(
            "the order left the ship statuses without entering a return status: \
         stock stays shipped; a return status brings the goods back",
        )
}

crate::text_enum! {
    /// Where a "Synchronize orders" job is.
    pub enum SyncJobState {
        /// Waiting for a worker.
        Queued,
        /// A worker holds its lease and pages through keyCRM.
        Running,
        /// Every page was read.
        Done,
        /// Too many pages failed in a row (or no API key).
        Failed,
        /// Someone cancelled it.
        Cancelled,
    }
}

crate::text_enum! {
    /// What a job reads from keyCRM, page by page.
    pub enum JobKind {
        /// "Synchronize orders": the orders in chosen statuses.
        Orders,
        /// The catalogue: every offer with its product (moving in, then periodically).
        Catalogue,
    }
}

impl SyncJobState {
    /// Queued or running: one such job per account at a time.
    pub fn is_active(self) -> bool {
        matches!(self, SyncJobState::Queued | SyncJobState::Running)
    }
}

/// The largest id sklad takes from a person for a keyCRM object (status, warehouse): keyCRM
/// numbers them with 32-bit integers.
pub const MAX_KEYCRM_ID: i64 = i32::MAX as i64;

/// Whether `id` can name a keyCRM object.
pub fn is_keycrm_id(id: i64) -> bool {
    (1..=MAX_KEYCRM_ID).contains(&id)
}

/// The schema of a keyCRM id a person types in (1 to [`MAX_KEYCRM_ID`]), for fields stored
/// as plain `i64`: `#[schema(value_type = KeycrmId)]`.
pub struct KeycrmId;

impl utoipa::PartialSchema for KeycrmId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .minimum(Some(1))
            .maximum(Some(MAX_KEYCRM_ID))
            .description(Some("A keyCRM id (1 to 2147483647)."))
            .into()
    }
}

impl utoipa::ToSchema for KeycrmId {}

/// An order is in the archive while its keyCRM status is one of the archive statuses.
pub fn is_archived(status_id: Option<i64>, archive_status_ids: &[i64]) -> bool {
    status_id.is_some_and(|s| archive_status_ids.contains(&s))
}

/// A keyCRM document older than what sklad stored must change nothing (out-of-order
/// delivery). Equal timestamps are applied: the content is the same, and a refetch after a
/// switch changed (e.g. payments on) must still take effect.
pub fn is_stale(stored: Option<DateTime<Utc>>, incoming: Option<DateTime<Utc>>) -> bool {
    matches!((stored, incoming), (Some(s), Some(i)) if i < s)
}

/// An event saying "the order changed at `event`" needs no fetch when sklad already stored a
/// strictly newer version. keyCRM's timestamps have whole seconds, so an event in the same
/// second as the stored version may be a second change within that second: it is fetched.
/// Events without a time always need a fetch.
pub fn already_applied(stored: Option<DateTime<Utc>>, event: Option<DateTime<Utc>>) -> bool {
    matches!((stored, event), (Some(s), Some(e)) if s > e)
}

/// The reconciliation pass imports an order sklad does not track only when its status is
/// one the user imports; orders sklad tracks are always refreshed.
pub fn reconcile_takes(tracked: bool, status_id: Option<i64>, import_status_ids: &[i64]) -> bool {
    tracked || status_id.is_some_and(|s| import_status_ids.contains(&s))
}

/// One order waiting to be fetched.
#[derive(Debug, Clone, Copy)]
pub struct Waiting {
    pub requested_at: DateTime<Utc>,
    pub event_updated_at: Option<DateTime<Utc>>,
}

/// How to fetch the orders waiting for one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchPlan {
    /// `GET /order/{id}` for each.
    OneByOne,
    /// Page through `GET /order?filter[updated_between]=from,to` (50 per request) and keep the
    /// waiting ones; whatever the window misses is fetched one by one.
    UpdatedWindow {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
}

/// Clock difference between sklad and keyCRM tolerated at the window's edges.
pub const WINDOW_MARGIN: TimeDelta = TimeDelta::minutes(2);

/// Below `threshold` waiting orders, single fetches are cheaper than a window's pages.
pub fn plan_fetch(waiting: &[Waiting], threshold: usize, now: DateTime<Utc>) -> FetchPlan {
    if waiting.len() < threshold.max(2) {
        return FetchPlan::OneByOne;
    }
    let earliest = waiting
        .iter()
        .map(|w| {
            w.event_updated_at
                .unwrap_or(w.requested_at)
                .min(w.requested_at)
        })
        .min()
        .unwrap_or(now);
    FetchPlan::UpdatedWindow {
        from: earliest - WINDOW_MARGIN,
        to: now + WINDOW_MARGIN,
    }
}

/// Whether paging a window on is still cheaper than fetching the `missing` orders singly,
/// with `pages_left` pages to go.
pub fn keep_paging(pages_left: i64, missing: usize) -> bool {
    missing > 0 && usize::try_from(pages_left).is_ok_and(|p| p < missing)
}

/// Delay before the next fetch attempt after `attempts` failures: 2 s doubling to 5 min.
pub fn fetch_backoff(attempts: i32) -> TimeDelta {
    let exp = u32::try_from(attempts.clamp(0, 8)).unwrap_or(0);
    TimeDelta::seconds((2_i64 << exp).min(300))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
    }

    #[test]
    fn a_shipment_kept_outside_ship_and_return_statuses_says_so() {
        let shipped = ShipmentState::of(true, false, false, false);
        assert_eq!(shipped, ShipmentState::Shipped);
        assert!(kept_shipment_note(shipped, Some(9), &[5], &[7]).is_some());
        assert!(kept_shipment_note(shipped, Some(5), &[5], &[7]).is_none());
        assert!(kept_shipment_note(shipped, Some(7), &[5], &[7]).is_none());
        let reserved = ShipmentState::of(false, false, false, true);
        assert_eq!(reserved, ShipmentState::Reserved);
        assert!(kept_shipment_note(reserved, Some(9), &[5], &[7]).is_none());
        assert_eq!(
            ShipmentState::of(true, false, false, true),
            ShipmentState::Shipped
        );
    }

    #[test]
    fn archive_follows_the_status() {
        assert!(is_archived(Some(5), &[5, 6]));
        assert!(!is_archived(Some(2), &[5, 6]));
        assert!(!is_archived(None, &[5]));
        assert!(!is_archived(Some(5), &[]));
    }

    #[test]
    fn older_documents_are_stale_equal_ones_are_not() {
        assert!(is_stale(Some(t(10)), Some(t(9))));
        assert!(!is_stale(Some(t(10)), Some(t(10))));
        assert!(!is_stale(Some(t(10)), Some(t(11))));
        assert!(!is_stale(None, Some(t(1))));
        assert!(!is_stale(Some(t(1)), None));
    }

    #[test]
    fn events_older_than_the_stored_order_need_no_fetch() {
        assert!(
            !already_applied(Some(t(10)), Some(t(10))),
            "same second: maybe a second change"
        );
        assert!(already_applied(Some(t(10)), Some(t(5))));
        assert!(!already_applied(Some(t(10)), Some(t(11))));
        assert!(!already_applied(Some(t(10)), None));
        assert!(!already_applied(None, Some(t(1))));
    }

    #[test]
    fn reconciliation_refreshes_tracked_and_imports_chosen_statuses() {
        assert!(reconcile_takes(true, Some(9), &[1]));
        assert!(reconcile_takes(false, Some(1), &[1, 2]));
        assert!(!reconcile_takes(false, Some(3), &[1, 2]));
        assert!(!reconcile_takes(false, None, &[1]));
        assert!(!reconcile_takes(false, Some(1), &[]));
    }

    #[test]
    fn few_waiting_orders_are_fetched_one_by_one() {
        let w = Waiting {
            requested_at: t(100),
            event_updated_at: Some(t(90)),
        };
        assert_eq!(plan_fetch(&[w; 4], 5, t(200)), FetchPlan::OneByOne);
        match plan_fetch(&[w; 5], 5, t(200)) {
            FetchPlan::UpdatedWindow { from, to } => {
                assert_eq!(from, t(90) - WINDOW_MARGIN);
                assert_eq!(to, t(200) + WINDOW_MARGIN);
            }
            other => panic!("expected a window, got {other:?}"),
        }
    }

    #[test]
    fn paging_stops_when_single_fetches_get_cheaper() {
        assert!(keep_paging(2, 10));
        assert!(!keep_paging(10, 10));
        assert!(!keep_paging(3, 0));
    }

    #[test]
    fn fetch_backoff_grows_and_caps() {
        assert_eq!(fetch_backoff(0), TimeDelta::seconds(2));
        assert_eq!(fetch_backoff(1), TimeDelta::seconds(4));
        assert_eq!(fetch_backoff(20), TimeDelta::seconds(300));
    }
}
