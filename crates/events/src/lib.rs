//! Event contracts shared by every sklad service.
//!
//! The types are generated from `proto/sklad/events/v1/*.proto`; this crate adds the names
//! the broker needs (routing keys, AMQP `type`) so producers and consumers cannot disagree.

/// Version 1 of the event contracts (`sklad.events.v1`).
pub mod v1 {
    #![allow(clippy::all, missing_docs)]
    include!(concat!(env!("OUT_DIR"), "/sklad.events.v1.rs"));
}

pub use prost::Message;

/// Binds a message type to its wire name and routing key.
pub trait Event: prost::Message + Default {
    /// Fully qualified protobuf name; sent as the AMQP `type` property.
    const TYPE: &'static str;
    /// Topic-exchange routing key the event is published under.
    fn routing_key(&self) -> String;
}

impl Event for v1::KeycrmWebhookReceived {
    const TYPE: &'static str = "sklad.events.v1.KeycrmWebhookReceived";
    fn routing_key(&self) -> String {
        routing::KEYCRM_WEBHOOK.to_owned()
    }
}

impl Event for v1::StockMovementRecorded {
    const TYPE: &'static str = "sklad.events.v1.StockMovementRecorded";
    fn routing_key(&self) -> String {
        routing::STOCK_MOVEMENT.to_owned()
    }
}

impl Event for v1::StockReservationChanged {
    const TYPE: &'static str = "sklad.events.v1.StockReservationChanged";
    fn routing_key(&self) -> String {
        routing::STOCK_RESERVATION.to_owned()
    }
}

impl Event for v1::OrderShipmentChanged {
    const TYPE: &'static str = "sklad.events.v1.OrderShipmentChanged";
    fn routing_key(&self) -> String {
        format!("{}.{}", routing::STOCK_ORDER, self.change)
    }
}

impl Event for v1::ProductionOrderReleased {
    const TYPE: &'static str = "sklad.events.v1.ProductionOrderReleased";
    fn routing_key(&self) -> String {
        routing::PRODUCTION_RELEASED.to_owned()
    }
}

impl Event for v1::ProductionOrderCompleted {
    const TYPE: &'static str = "sklad.events.v1.ProductionOrderCompleted";
    fn routing_key(&self) -> String {
        routing::PRODUCTION_COMPLETED.to_owned()
    }
}

/// Routing keys on the events exchange. Everything under `stock.` reaches the
/// stock-publisher's queue, so every stock event is routable even before other consumers
/// bind it.
pub mod routing {
    /// A keyCRM webhook about an order was received.
    pub const KEYCRM_WEBHOOK: &str = "keycrm.webhook.order";
    /// A stock movement was recorded.
    pub const STOCK_MOVEMENT: &str = "stock.movement.recorded";
    /// An order's reservation changed.
    pub const STOCK_RESERVATION: &str = "stock.reservation.changed";
    /// Stock followed an order: `stock.order.{shipped|returned|corrected|waiting}`.
    pub const STOCK_ORDER: &str = "stock.order";
    /// A production order was released.
    pub const PRODUCTION_RELEASED: &str = "stock.production.released";
    /// A production order made something.
    pub const PRODUCTION_COMPLETED: &str = "stock.production.completed";
}

/// Converts a chrono time to the protobuf well-known timestamp.
pub fn timestamp(t: chrono::DateTime<chrono::Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

/// Converts a protobuf timestamp back to chrono; `None` when out of range.
pub fn from_timestamp(t: &prost_types::Timestamp) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_event_round_trips_through_protobuf() {
        let now = chrono::Utc::now();
        let event = v1::KeycrmWebhookReceived {
            webhook_id: "w".into(),
            account_id: "a".into(),
            received_at: Some(timestamp(now)),
            event: "order.change_order_status".into(),
            order_id: 23196,
            status_id: Some(1),
            order_updated_at: None,
            raw_body: b"{\"x\":1}".to_vec(),
        };
        let bytes = event.encode_to_vec();
        let back = v1::KeycrmWebhookReceived::decode(bytes.as_slice()).unwrap();
        assert_eq!(back, event);
        assert_eq!(from_timestamp(&back.received_at.unwrap()), Some(now));
    }
}
