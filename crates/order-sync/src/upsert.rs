//! One path from a keyCRM order to sklad: the customer order, its lines, the products they
//! name, payments and the archive, in one transaction.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::json;
use sklad_db::orders::{NewPayment, OrderFields, OrderLine, Upserted};
use sklad_db::products::NewProduct;
use sklad_db::{DbError, DbResult};
use sklad_domain::nomenclature::{self, LineFacts, Origin, Property};
use sklad_domain::orders::is_archived;
use sklad_domain::reservation::{ShipSourceRule, ship_warehouse};
use sklad_keycrm::OrderDocument;
use sklad_keycrm::models::{Order, OrderLine as KeycrmLine};
use uuid::Uuid;

use crate::metrics::ORDERS;

/// The account's switches that shape an upsert (all off by default).
#[derive(Debug, Clone, Default)]
pub struct Switches {
    pub receive_payments: bool,
    pub keep_product_info: bool,
    /// New one-time products track stock.
    pub one_time_products_track_stock: bool,
    pub archive_status_ids: Vec<i64>,
    /// How stock follows the order's status.
    pub stock: StockRules,
}

/// How stock follows an order's status.
#[derive(Debug, Clone, Default)]
pub struct StockRules {
    /// Orders in these statuses ship.
    pub ship_status_ids: Vec<i64>,
    /// A shipped order in one of these statuses comes back.
    pub return_status_ids: Vec<i64>,
    /// An unshipped order in one of these statuses holds its lines.
    pub reserve_status_ids: Vec<i64>,
    /// An order in one of these statuses gets production orders for what stock lacks.
    pub production_status_ids: Vec<i64>,
    /// Where orders ship from (and reserve in): by source, else the default.
    pub ship_warehouse_id: Option<Uuid>,
    pub ship_source_rules: Vec<ShipSourceRule>,
}

impl StockRules {
    /// The warehouse an order from `source_id` ships from.
    pub fn warehouse_for(&self, source_id: Option<i64>) -> Option<Uuid> {
        ship_warehouse(source_id, &self.ship_source_rules, self.ship_warehouse_id)
    }
}

impl From<&sklad_db::integrations::Integration> for Switches {
    fn from(integration: &sklad_db::integrations::Integration) -> Self {
        let settings = &integration.settings;
        Self {
            receive_payments: settings.receive_payments,
            keep_product_info: settings.keep_product_info,
            one_time_products_track_stock: settings.one_time_products_track_stock,
            archive_status_ids: settings.archive_status_ids.clone(),
            stock: StockRules {
                ship_status_ids: settings.ship_status_ids.clone(),
                return_status_ids: settings.return_status_ids.clone(),
                reserve_status_ids: settings.reserve_status_ids.clone(),
                production_status_ids: settings.production_status_ids.clone(),
                ship_warehouse_id: settings.ship_warehouse_id,
                ship_source_rules: settings.ship_source_rules.0.clone(),
            },
        }
    }
}

/// A fetch-queue row this upsert serves (deleted in the same transaction).
#[derive(Debug, Clone, Copy)]
pub struct Serves {
    pub request_seq: i64,
}

/// Writes `doc` for `account` (see the module docs). `source` labels the metrics.
pub async fn apply(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    doc: &OrderDocument,
    switches: &Switches,
    serves: Option<Serves>,
    source: &'static str,
) -> DbResult<Upserted> {
    let doc_id = doc.order.id;
    let doc = doc.clone();
    let switches = switches.clone();
    let outcome = conn
        .transaction::<_, DbError, _>(async move |conn| {
            let order = &doc.order;
            sklad_db::orders::lock_order(conn, account, order.id).await?;
            let archived = is_archived(order.status_id, &switches.archive_status_ids);
            let upserted =
                sklad_db::orders::upsert(conn, account, &order_fields(&doc), archived).await?;
            if !matches!(upserted, Upserted::Stale(_)) {
                let lines = write_products(conn, account, upserted.id(), order, &switches).await?;
                sklad_db::orders::replace_lines(conn, upserted.id(), &lines).await?;
                if switches.receive_payments {
                    sklad_db::orders::upsert_payments(
                        conn,
                        &payments(account, upserted.id(), order),
                    )
                    .await?;
                }
                crate::shipping::follow_status(conn, account, upserted.id(), &switches.stock)
                    .await?;
            }
            if let Some(serves) = serves {
                sklad_db::fetches::complete(conn, account, order.id, serves.request_seq).await?;
            }
            Ok(upserted)
        })
        .await?;
    let label = match outcome {
        Upserted::Created(_) => "created",
        Upserted::Updated(_) => "updated",
        Upserted::Stale(_) => "stale",
    };
    ORDERS.with_label_values(&[source, label]).inc();
    tracing::info!(
        keycrm_order_id = doc_id,
        order_id = %outcome.id(),
        outcome = label,
        source,
        "order stored"
    );
    Ok(outcome)
}

fn order_fields(doc: &OrderDocument) -> OrderFields {
    let order = &doc.order;
    let buyer = order.buyer.as_ref();
    OrderFields {
        keycrm_id: order.id,
        number: order.source_uuid.clone(),
        source_id: order.source_id,
        status_id: order.status_id,
        status_group_id: order
            .status_group_id
            .or(order.status.as_ref().and_then(|s| s.group_id)),
        status_name: order.status.as_ref().and_then(|s| s.name.clone()),
        grand_total: order.grand_total,
        total_discount: order.total_discount,
        payments_total: order.payments_total,
        shipping_price: order.shipping_price,
        payment_status: order.payment_status.clone(),
        buyer_name: buyer.and_then(|b| b.full_name.clone()),
        buyer_phone: buyer.and_then(|b| b.phone.clone()),
        buyer_email: buyer.and_then(|b| b.email.clone()),
        buyer_comment: order.buyer_comment.clone(),
        manager_comment: order.manager_comment.clone(),
        keycrm_created_at: order.created_at,
        keycrm_updated_at: order.updated_at,
        ordered_at: order.ordered_at,
        closed_at: order.closed_at,
        status_changed_at: order.status_changed_at,
        raw: doc.raw.clone(),
    }
}

fn properties(list: &[sklad_keycrm::models::Property]) -> Vec<Property> {
    list.iter()
        .map(|p| Property {
            name: p.name.clone().unwrap_or_default(),
            value: p.value.clone().unwrap_or_default(),
        })
        .collect()
}

fn identify(line: &KeycrmLine) -> nomenclature::ProductIdentity {
    let offer = line.offer.as_ref();
    nomenclature::identify(&LineFacts {
        line_name: line.name.as_deref(),
        line_sku: line.sku.as_deref(),
        offer_id: offer.and_then(|o| o.id),
        offer_sku: offer.and_then(|o| o.sku.as_deref()),
        has_offer: offer.is_some(),
        offer_properties: offer.map(|o| properties(&o.properties)).unwrap_or_default(),
    })
}

/// Upserts each line's product (in SKU order, so concurrent writers lock alike) and builds
/// the lines that point at them.
async fn write_products(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    order_id: Uuid,
    order: &Order,
    switches: &Switches,
) -> DbResult<Vec<OrderLine>> {
    let identities: Vec<_> = order.products.iter().map(identify).collect();
    let mut by_sku: Vec<(&str, usize)> = identities
        .iter()
        .enumerate()
        .map(|(i, id)| (id.sku.as_str(), i))
        .collect();
    by_sku.sort();
    let mut product_ids = vec![Uuid::nil(); identities.len()];
    for (_, i) in by_sku {
        let (identity, line) = (&identities[i], &order.products[i]);
        let offer = line.offer.as_ref();
        let product = NewProduct {
            id: Uuid::now_v7(),
            account_id: account,
            sku: identity.sku.clone(),
            name: identity.name.clone(),
            base_name: identity.base_name.clone(),
            properties: json!(identity.properties),
            price: offer.and_then(|o| o.price).or(line.price),
            unit: line.unit_type.clone(),
            keycrm_offer_id: offer.and_then(|o| o.id),
            keycrm_product_id: offer.and_then(|o| o.product_id),
            origin: identity.origin,
            tracks_stock: identity.origin != Origin::KeycrmOneTime
                || switches.one_time_products_track_stock,
        };
        product_ids[i] =
            sklad_db::products::upsert_from_keycrm(conn, &product, switches.keep_product_info)
                .await?;
    }
    Ok(order
        .products
        .iter()
        .zip(identities)
        .zip(product_ids)
        .enumerate()
        .map(|(position, ((line, identity), product_id))| OrderLine {
            id: Uuid::now_v7(),
            account_id: account,
            order_id,
            position: i32::try_from(position).unwrap_or(i32::MAX),
            product_id,
            keycrm_line_id: line.id,
            name: identity.name,
            sku: identity.sku,
            quantity: line.quantity.unwrap_or(rust_decimal::Decimal::ONE),
            unit: line.unit_type.clone(),
            price: line.price,
            price_sold: line.price_sold,
            discount: line.total_discount.or(line.discount_amount),
            properties: json!(properties(&line.properties)),
        })
        .collect())
}

fn payments(account: Uuid, order_id: Uuid, order: &Order) -> Vec<NewPayment> {
    order
        .payments
        .iter()
        .filter_map(|p| {
            Some(NewPayment {
                id: Uuid::now_v7(),
                account_id: account,
                order_id,
                keycrm_payment_id: p.id?,
                payment_method_id: p.payment_method_id,
                amount: p.amount,
                currency: p.actual_currency.clone(),
                status: p.status.clone(),
                payment_date: p.payment_date,
                transaction_uuid: p.transaction_uuid.clone(),
                description: p.description.clone(),
            })
        })
        .collect()
}
