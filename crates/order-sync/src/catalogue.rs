//! Catalogue imports: every page of `GET /offers?include=product` becomes products, one per
//! offer, in one transaction with the job's progress, so a page is counted exactly once even
//! when a worker dies halfway.

use diesel::result::Error;
use diesel_async::AsyncConnection;
use futures::TryStreamExt;
use serde_json::json;
use sklad_db::DbError;
use sklad_db::product_imports::CatalogueItem;
use sklad_db::sync_jobs::{PageDone, SyncJob};
use sklad_domain::nomenclature::{self, LineFacts, Property};
use sklad_keycrm::models::Offer;
use sklad_keycrm::{AccountClient, Priority};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::context::Context;
use crate::jobs::{lease, page_failed};

/// Reads pages from the job's next one until the last, the job is cancelled or `cancel` fires.
pub(crate) async fn run(
    ctx: &Context,
    owner: Uuid,
    job: &SyncJob,
    keycrm: AccountClient,
    cancel: &CancellationToken,
) -> anyhow::Result<()> {
    let keep_info = keycrm.integration.settings.keep_product_info;
    let first = u32::try_from(job.next_page.max(1)).unwrap_or(1);
    let mut pages = std::pin::pin!(keycrm.client.offer_pages(first, Priority::Bulk));
    let mut number = job.next_page.max(1);
    while !cancel.is_cancelled() {
        let current = match pages.try_next().await {
            Ok(Some(current)) => current,
            Ok(None) => return Ok(()),
            Err(err) => return Err(page_failed(ctx, owner, job, err).await),
        };
        let mut items = Vec::with_capacity(current.data.len());
        for row in &current.data {
            match row.as_ref().map(item) {
                Ok(Some(item)) => items.push(item),
                Ok(None) => tracing::warn!(job = %job.id, "an offer without an id was skipped"),
                Err(reason) => {
                    tracing::warn!(job = %job.id, %reason, "an unreadable offer was skipped")
                }
            }
        }
        let last_page = !current.has_next() || current.data.is_empty();
        let pages_total = current.page_count().and_then(|p| i32::try_from(p).ok());
        let total = current.total.and_then(|t| i32::try_from(t).ok());
        let (account, id) = (job.account_id, job.id);
        let lease = lease(ctx);
        let mut conn = ctx.db.conn().await?;
        let step = conn
            .transaction::<_, DbError, _>(async move |conn| {
                let done =
                    sklad_db::product_imports::import_catalogue(conn, account, &items, keep_info)
                        .await?;
                let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
                let page = PageDone {
                    page: number,
                    orders: count(items.len()),
                    pages_total,
                    orders_total: total,
                    requests: 1,
                    last_page,
                    created: count(done.created),
                    updated: count(done.updated),
                    unchanged: count(done.unchanged),
                };
                if sklad_db::sync_jobs::record_page(conn, id, owner, page, lease).await? {
                    Ok(())
                } else {
                    // Cancelled or taken over: what this page wrote is undone with it.
                    Err(DbError::Query(Error::RollbackTransaction))
                }
            })
            .await;
        match step {
            Ok(()) if last_page => {
                tracing::info!(job = %job.id, pages = number, "catalogue import done");
                return Ok(());
            }
            Ok(()) => number += 1,
            Err(DbError::Query(Error::RollbackTransaction)) => {
                tracing::info!(job = %job.id, "catalogue import cancelled or taken over; stopping");
                return Ok(());
            }
            Err(err) => return Err(err.into()),
        }
    }
    Ok(())
}

/// The product one offer makes: named like products from order lines ("Shirt, white, M"),
/// SKU the offer's or `KC-O<offer id>`. `None` for an offer without an id.
pub(crate) fn item(offer: &Offer) -> Option<CatalogueItem> {
    let id = offer.id?;
    let product = offer.product.as_ref();
    let properties: Vec<Property> = offer
        .properties
        .iter()
        .map(|p| Property {
            name: p.name.clone().unwrap_or_default(),
            value: p.value.clone().unwrap_or_default(),
        })
        .collect();
    let identity = nomenclature::identify(&LineFacts {
        line_name: product.and_then(|p| p.name.as_deref()),
        line_sku: None,
        offer_id: Some(id),
        offer_sku: offer.sku.as_deref(),
        has_offer: true,
        offer_properties: properties,
    });
    let text = |s: &Option<String>| {
        s.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    Some(CatalogueItem {
        sku: identity.sku,
        name: identity.name,
        base_name: identity.base_name,
        properties: json!(identity.properties),
        price: offer.price,
        unit_cost: offer.purchased_price.filter(|c| !c.is_zero()),
        unit: product.and_then(|p| text(&p.unit_type)),
        barcode: text(&offer.barcode),
        keycrm_offer_id: Some(id),
        keycrm_product_id: offer.product_id.or(product.and_then(|p| p.id)),
        archived: offer.archived(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(value: serde_json::Value) -> Offer {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn an_offer_becomes_a_product_named_with_its_property_values() {
        let got = item(&offer(json!({
            "id": 7, "product_id": 3, "sku": " 503-W-L ", "barcode": "482000",
            "price": "450.00", "purchased_price": 200, "properties": [
                {"name": "Колір", "value": "білий"}, {"name": "Розмір", "value": "L"}],
            "product": {"id": 3, "name": "Сорочка", "unit_type": "шт", "is_archived": true}
        })))
        .unwrap();
        assert_eq!(got.sku, "503-W-L");
        assert_eq!(got.name, "Сорочка, білий, L");
        assert_eq!(got.unit.as_deref(), Some("шт"));
        assert_eq!(got.barcode.as_deref(), Some("482000"));
        assert_eq!(got.unit_cost, Some(rust_decimal::Decimal::from(200)));
        assert_eq!(got.keycrm_product_id, Some(3));
        assert!(got.archived);
    }

    #[test]
    fn an_offer_without_a_sku_gets_one_from_its_id_and_without_an_id_is_skipped() {
        let got = item(&offer(json!({"id": 9, "sku": "", "purchased_price": 0}))).unwrap();
        assert_eq!(got.sku, "KC-O9");
        assert_eq!(got.unit_cost, None);
        assert!(!got.archived);
        assert!(item(&offer(json!({"sku": "X"}))).is_none());
    }
}
