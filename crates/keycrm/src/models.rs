//! keyCRM's documents as sklad reads them: only the fields sklad uses, each read leniently
//! (see [`crate::lenient`]); unknown fields are ignored and missing ones are fine.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::lenient;

/// keyCRM's paginated envelope (Laravel style). `last_page` is sent by the live API though
/// the spec omits it; without it the page count is derived from `total` and `per_page`.
#[derive(Debug, Clone, Deserialize)]
#[serde(bound(deserialize = "T: serde::de::DeserializeOwned"))]
pub struct Page<T> {
    #[serde(default, deserialize_with = "lenient::int")]
    pub total: Option<i64>,
    #[serde(default, deserialize_with = "lenient::int")]
    pub current_page: Option<i64>,
    #[serde(default, deserialize_with = "lenient::int")]
    pub per_page: Option<i64>,
    #[serde(default, deserialize_with = "lenient::int")]
    pub last_page: Option<i64>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub next_page_url: Option<String>,
    #[serde(default = "Vec::new", deserialize_with = "lenient::list")]
    pub data: Vec<T>,
}

impl<T> Page<T> {
    /// Whether a page after this one exists.
    pub fn has_next(&self) -> bool {
        let current = self.current_page.unwrap_or(1);
        if let Some(last) = self.last_page {
            return current < last;
        }
        if let (Some(total), Some(per_page)) = (self.total, self.per_page)
            && per_page > 0
        {
            return current * per_page < total;
        }
        self.next_page_url.as_deref().is_some_and(|u| !u.is_empty())
    }

    /// The same page with each row turned into something else.
    pub fn map<U>(self, row: impl FnMut(T) -> U) -> Page<U> {
        Page {
            total: self.total,
            current_page: self.current_page,
            per_page: self.per_page,
            last_page: self.last_page,
            next_page_url: self.next_page_url,
            data: self.data.into_iter().map(row).collect(),
        }
    }

    /// Number of pages, when the envelope says.
    pub fn page_count(&self) -> Option<i64> {
        self.last_page.or_else(|| {
            let (total, per_page) = (self.total?, self.per_page?);
            (per_page > 0).then(|| (total + per_page - 1) / per_page)
        })
    }
}

/// An order status (`GET /order/status`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct OrderStatus {
    #[serde(deserialize_with = "lenient_id")]
    pub id: i64,
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub alias: Option<String>,
    #[serde(default, deserialize_with = "lenient::int")]
    pub group_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub is_active: Option<bool>,
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub is_closing_order: Option<bool>,
}

/// A payment method (`GET /order/payment-method`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct PaymentMethod {
    #[serde(deserialize_with = "lenient_id")]
    pub id: i64,
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub alias: Option<String>,
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub is_active: Option<bool>,
}

/// An order with the includes sklad asks for (`products.offer,payments,status,buyer`).
#[derive(Debug, Clone, Deserialize)]
pub struct Order {
    #[serde(deserialize_with = "lenient_id")]
    pub id: i64,
    #[serde(default, deserialize_with = "lenient::string")]
    pub source_uuid: Option<String>,
    #[serde(default, deserialize_with = "lenient::int")]
    pub source_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::int")]
    pub status_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::int")]
    pub status_group_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::decimal")]
    pub grand_total: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient::decimal")]
    pub total_discount: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient::decimal")]
    pub payments_total: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient::decimal")]
    pub shipping_price: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub payment_status: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub buyer_comment: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub manager_comment: Option<String>,
    #[serde(default, deserialize_with = "lenient::datetime")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient::datetime")]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient::datetime")]
    pub ordered_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient::datetime")]
    pub closed_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient::datetime")]
    pub status_changed_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient::object")]
    pub buyer: Option<Buyer>,
    #[serde(default, deserialize_with = "lenient::object")]
    pub status: Option<OrderStatus>,
    #[serde(default = "Vec::new", deserialize_with = "lenient::list")]
    pub products: Vec<OrderLine>,
    #[serde(default = "Vec::new", deserialize_with = "lenient::list")]
    pub payments: Vec<Payment>,
}

/// The order's buyer.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Buyer {
    #[serde(default, deserialize_with = "lenient::int")]
    pub id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub full_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub phone: Option<String>,
}

/// One order line. A one-time product (typed in by hand in keyCRM) has no `offer` and often
/// no `sku`.
#[derive(Debug, Clone, Deserialize)]
pub struct OrderLine {
    #[serde(default, deserialize_with = "lenient::int")]
    pub id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub sku: Option<String>,
    #[serde(default, deserialize_with = "lenient::decimal")]
    pub price: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient::decimal")]
    pub price_sold: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient::decimal")]
    pub purchased_price: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient::decimal")]
    pub discount_percent: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient::decimal")]
    pub discount_amount: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient::decimal")]
    pub total_discount: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient::decimal")]
    pub quantity: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub unit_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub comment: Option<String>,
    /// Line-level properties (e.g. engraving text from the shop), not the offer's.
    #[serde(default = "Vec::new", deserialize_with = "lenient::list")]
    pub properties: Vec<Property>,
    #[serde(default, deserialize_with = "lenient::object")]
    pub offer: Option<Offer>,
    #[serde(default, deserialize_with = "lenient::object")]
    pub warehouse: Option<Warehouse>,
}

/// A product variant ("offer") in keyCRM's catalogue.
#[derive(Debug, Clone, Deserialize)]
pub struct Offer {
    #[serde(default, deserialize_with = "lenient::int")]
    pub id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::int")]
    pub product_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub sku: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub barcode: Option<String>,
    #[serde(default, deserialize_with = "lenient::decimal")]
    pub price: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient::decimal")]
    pub purchased_price: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient::decimal")]
    pub quantity: Option<Decimal>,
    /// Variant properties such as colour and size, in keyCRM's order.
    #[serde(default = "Vec::new", deserialize_with = "lenient::list")]
    pub properties: Vec<Property>,
    /// Not in keyCRM's spec for offers, but sent by some accounts; the product's flag is the
    /// documented one.
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub is_archived: Option<bool>,
    /// The offer's product (`include=product` on `GET /offers`).
    #[serde(default, deserialize_with = "lenient::object")]
    pub product: Option<OfferProduct>,
}

impl Offer {
    /// Archived when keyCRM says so for the offer or its product.
    pub fn archived(&self) -> bool {
        self.is_archived == Some(true)
            || self
                .product
                .as_ref()
                .is_some_and(|p| p.is_archived == Some(true))
    }
}

/// The product an offer belongs to, as `include=product` gives it.
#[derive(Debug, Clone, Deserialize)]
pub struct OfferProduct {
    #[serde(default, deserialize_with = "lenient::int")]
    pub id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: Option<String>,
    /// The unit the product is counted in ("шт", "кг").
    #[serde(default, deserialize_with = "lenient::string")]
    pub unit_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub is_archived: Option<bool>,
}

/// A name/value property (offer or line).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Property {
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub value: Option<String>,
}

/// A keyCRM warehouse as it appears on order lines and stock rows.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Warehouse {
    #[serde(deserialize_with = "lenient_id")]
    pub id: i64,
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: Option<String>,
}

/// A payment on an order.
#[derive(Debug, Clone, Deserialize)]
pub struct Payment {
    #[serde(default, deserialize_with = "lenient::int")]
    pub id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::int")]
    pub payment_method_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::decimal")]
    pub amount: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub actual_currency: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub transaction_uuid: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "lenient::datetime")]
    pub payment_date: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient::datetime")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient::datetime")]
    pub updated_at: Option<DateTime<Utc>>,
}

/// Stock of one offer (`GET /offers/stocks`); with `filter[details]=true` it carries a row
/// per keyCRM warehouse.
#[derive(Debug, Clone, Deserialize)]
pub struct OfferStock {
    #[serde(default, deserialize_with = "lenient::int")]
    pub id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub sku: Option<String>,
    #[serde(default, deserialize_with = "lenient::decimal")]
    pub quantity: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient::decimal")]
    pub reserve: Option<Decimal>,
    #[serde(default = "Vec::new", deserialize_with = "lenient::list")]
    pub warehouse: Vec<WarehouseStock>,
}

/// One warehouse's stock of an offer.
#[derive(Debug, Clone, Deserialize)]
pub struct WarehouseStock {
    #[serde(deserialize_with = "lenient_id")]
    pub id: i64,
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient::decimal")]
    pub quantity: Option<Decimal>,
    #[serde(default, deserialize_with = "lenient::decimal")]
    pub reserve: Option<Decimal>,
}

/// One item of `PUT /offers/stocks`: an absolute quantity for a SKU.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StockItem {
    pub sku: String,
    #[serde(with = "rust_decimal::serde::float")]
    pub quantity: Decimal,
}

/// The body of `PUT /offers/stocks`.
#[derive(Debug, Clone, Serialize)]
pub struct StockUpdate<'a> {
    pub warehouse_id: i64,
    pub stocks: &'a [StockItem],
}

/// The items keyCRM refused in a 422 answer to `PUT /offers/stocks`: (index in `stocks`,
/// reason), from Laravel-style `errors` keys such as `stocks.3.sku`.
pub fn rejected_stock_items(body: &str) -> Vec<(usize, String)> {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(body) else {
        return Vec::new();
    };
    let Some(errors) = value.get("errors").and_then(|e| e.as_object()) else {
        return Vec::new();
    };
    let mut out: Vec<(usize, String)> = errors
        .iter()
        .filter_map(|(key, messages)| {
            let index = key
                .strip_prefix("stocks.")?
                .split('.')
                .next()?
                .parse()
                .ok()?;
            let reason = messages
                .as_array()
                .and_then(|m| m.first())
                .and_then(|m| m.as_str())
                .unwrap_or("rejected")
                .to_owned();
            Some((index, reason))
        })
        .collect();
    out.sort();
    out.dedup_by_key(|(i, _)| *i);
    out
}

fn lenient_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    lenient::int(d)?.ok_or_else(|| serde::de::Error::custom("missing id"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    fn example(name: &str) -> String {
        let path = format!(
            "{}/../../tests/fixtures/keycrm/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn reads_the_spec_order_with_every_include() {
        let order: Order = serde_json::from_str(&example("spec-order-with-includes.json")).unwrap();
        assert_eq!(order.id, 22);
        assert_eq!(order.grand_total, Some(dec!(122.5)));
        assert_eq!(
            order.buyer.as_ref().unwrap().full_name.as_deref(),
            Some("John Doe")
        );
        let line = &order.products[0];
        assert_eq!(line.sku.as_deref(), Some("001-242"));
        let offer = line.offer.as_ref().unwrap();
        assert_eq!(offer.sku.as_deref(), Some("sku001"));
        assert_eq!(offer.properties[0].value.as_deref(), Some("Gol"));
        assert_eq!(order.payments[0].amount, Some(dec!(123.5)));
        assert_eq!(
            order.payments[0].payment_date.unwrap().to_rfc3339(),
            "2021-02-21T14:44:00+00:00"
        );
        assert_eq!(order.status.as_ref().unwrap().group_id, Some(1));
    }

    #[test]
    fn reads_the_real_create_response() {
        let order: Order =
            serde_json::from_str(&example("order-create-response.real.json")).unwrap();
        assert!(order.id > 0);
        assert!(!order.products.is_empty());
        assert!(order.payments.is_empty());
    }

    #[test]
    fn reads_line_and_offer_properties_separately() {
        let order: Order =
            serde_json::from_str(&example("order-line-properties.fixture.json")).unwrap();
        let line = &order.products[0];
        assert_eq!(line.properties.len(), 3);
        let offer = line.offer.as_ref().unwrap();
        let values: Vec<_> = offer
            .properties
            .iter()
            .filter_map(|p| p.value.as_deref())
            .collect();
        assert_eq!(values, ["A5", "Дерев'яна звичайна"]);
    }

    #[test]
    fn reads_status_and_stock_pages() {
        let statuses: Vec<OrderStatus> =
            serde_json::from_str(&example("order-statuses.real-derived.json")).unwrap();
        assert!(statuses.len() > 10);
        let page: Page<OrderStatus> =
            serde_json::from_str(&example("spec-order-status-page.json")).unwrap();
        assert_eq!(page.page_count(), Some(7));
        assert!(page.has_next());
        let stocks: Page<OfferStock> =
            serde_json::from_str(&example("spec-offers-stocks-details-page.json")).unwrap();
        let row = &stocks.data[0];
        assert_eq!(row.warehouse[0].id, 22);
        assert_eq!(row.warehouse[0].quantity, Some(dec!(98)));
    }

    #[test]
    fn a_one_time_line_has_no_offer() {
        let order: Order = serde_json::from_str(
            r#"{"id": "7", "products": [{"name": "Gift wrap", "sku": null, "price": "10.00",
                "quantity": "1", "offer": null, "properties": []}], "buyer": [], "payments": null}"#,
        )
        .unwrap();
        assert_eq!(order.id, 7);
        assert!(order.products[0].offer.is_none());
        assert!(order.buyer.is_none());
        assert!(order.payments.is_empty());
    }

    #[test]
    fn rejected_stock_items_come_from_laravel_error_keys() {
        let body = r#"{"message": "x", "errors": {"stocks.3.sku": ["The selected stocks.3.sku is invalid."],
            "stocks.0.quantity": ["The stocks.0.quantity field is required."], "warehouse_id": ["bad"]}}"#;
        assert_eq!(
            rejected_stock_items(body),
            vec![
                (0, "The stocks.0.quantity field is required.".to_owned()),
                (3, "The selected stocks.3.sku is invalid.".to_owned())
            ]
        );
        assert!(rejected_stock_items("not json").is_empty());
        assert!(rejected_stock_items(r#"{"message": "x"}"#).is_empty());
    }

    #[test]
    fn stock_updates_serialise_quantities_as_numbers() {
        let items = [StockItem {
            sku: "a".into(),
            quantity: dec!(2.5),
        }];
        let body = serde_json::to_value(StockUpdate {
            warehouse_id: 3,
            stocks: &items,
        })
        .unwrap();
        assert_eq!(
            body,
            serde_json::json!({"warehouse_id": 3, "stocks": [{"sku": "a", "quantity": 2.5}]})
        );
    }
}
