//! `sklad-bench production`: how many can be made, over a 3-level catalogue, against a plain
//! balance read; and the work a component's balance change causes (the products sold from
//! components it marks, found through the reverse BOM index) at two catalogue sizes, so the
//! cost is seen to follow the products using the component, not the catalogue.

use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use sklad_app::movements::{LineRef, ManualMovement};
use sklad_app::production::ComponentRef;
use sklad_db::products::{ManualProduct, ProductChange};
use sklad_domain::stock::{ManualKind, Places};
use sklad_tests::TestApp;
use uuid::Uuid;

pub struct Plan {
    /// Finished products (the top level).
    pub finished: usize,
    /// Raw components (the bottom level); a quarter as many sub-assemblies sit between.
    pub components: usize,
    /// Repetitions of each timed query.
    pub repeat: usize,
}

/// Products sold from components that use the one "rare" component.
const RARE_USERS: usize = 10;

pub async fn run(plan: Plan) -> anyhow::Result<()> {
    let app = TestApp::spawn().await;
    let account = app.account.id;
    let mut conn = app.db().conn().await?;
    let warehouse =
        sklad_db::warehouses::create(&mut conn, account, "Bench", false, Decimal::ZERO).await?;
    let product = |sku: String| ManualProduct {
        name: sku.clone(),
        sku,
        price: None,
        unit: None,
        properties: serde_json::json!([]),
        unit_cost: None,
        barcode: None,
        tracks_stock: true,
    };
    let started = Instant::now();
    let mut raw = Vec::new();
    for i in 0..plan.components {
        raw.push(
            sklad_db::products::create_manual(&mut conn, account, &product(format!("RAW-{i}")))
                .await?
                .fields
                .id,
        );
    }
    let rare = sklad_db::products::create_manual(&mut conn, account, &product("RARE".into()))
        .await?
        .fields
        .id;
    sklad_app::movements::record(
        &mut conn,
        account,
        ManualMovement {
            kind: ManualKind::Receipt,
            places: Places::one(warehouse.id),
            lines: raw
                .iter()
                .chain([&rare])
                .map(|id| LineRef {
                    product_id: Some(*id),
                    sku: None,
                    quantity: Decimal::from(1000),
                })
                .collect(),
            note: None,
            idempotency_key: None,
        },
    )
    .await?;
    let component = |id: Uuid, quantity: i64| ComponentRef {
        product_id: Some(id),
        sku: None,
        quantity: Decimal::from(quantity),
        note: None,
    };
    let subs_count = (plan.components / 4).max(1);
    let mut subs = Vec::new();
    for i in 0..subs_count {
        let id =
            sklad_db::products::create_manual(&mut conn, account, &product(format!("SUB-{i}")))
                .await?
                .fields
                .id;
        let parts = (0..4)
            .map(|k| component(raw[(i * 4 + k) % raw.len()], 2))
            .collect();
        let any = &sklad_app::versions::Expected::Any;
        sklad_app::production::save_bom(&mut conn, account, id, Decimal::ONE, None, parts, any)
            .await?;
        subs.push(id);
    }
    let mut finished = Vec::new();
    let make = async |i: usize,
                      conn: &mut diesel_async::AsyncPgConnection|
           -> anyhow::Result<Uuid> {
        let id = sklad_db::products::create_manual(conn, account, &product(format!("FIN-{i}")))
            .await?
            .fields
            .id;
        let mut parts = vec![
            component(subs[i % subs.len()], 1),
            component(subs[(i * 7 + 1) % subs.len()], 1),
            component(raw[i % raw.len()], 3),
            component(raw[(i * 13 + 5) % raw.len()], 1),
        ];
        parts.dedup_by_key(|c| c.product_id);
        if i < RARE_USERS {
            parts.push(component(rare, 1));
        }
        let any = &sklad_app::versions::Expected::Any;
        sklad_app::production::save_bom(conn, account, id, Decimal::ONE, None, parts, any).await?;
        sklad_db::products::update(
            conn,
            account,
            id,
            &ProductChange {
                push_makeable: Some(true),
                ..ProductChange::default()
            },
        )
        .await?;
        Ok(id)
    };
    let quarter = (plan.finished / 4).max(RARE_USERS);
    for i in 0..quarter {
        finished.push(make(i, &mut conn).await?);
    }
    let marked_small = time(plan.repeat, async || {
        sklad_db::boms::makeable_users(&mut conn, account, &[rare]).await
    })
    .await?;
    for i in quarter..plan.finished {
        finished.push(make(i, &mut conn).await?);
    }
    println!(
        "catalogue: {} raw components, {} sub-assemblies, {} finished products (3 levels), built in {:.1}s",
        raw.len() + 1,
        subs.len(),
        finished.len(),
        started.elapsed().as_secs_f64()
    );
    let marked_large = time(plan.repeat, async || {
        sklad_db::boms::makeable_users(&mut conn, account, &[rare]).await
    })
    .await?;
    let common = raw[0];
    let marked_common = time(plan.repeat, async || {
        sklad_db::boms::makeable_users(&mut conn, account, &[common]).await
    })
    .await?;

    // Makeable for every finished product, against reading each one's balance.
    let begin = Instant::now();
    let mut units = Decimal::ZERO;
    for id in &finished {
        units += sklad_db::boms::makeable_in(&mut conn, account, *id, warehouse.id)
            .await?
            .units;
    }
    let makeable = begin.elapsed();
    let begin = Instant::now();
    for id in &finished {
        sklad_db::boms::available(&mut conn, account, warehouse.id, &[*id]).await?;
    }
    let balance_reads = begin.elapsed();

    println!();
    println!(
        "makeable, {} finished products: {:.1} ms ({:.2} ms each, {} units in all); \
         baseline, one balance read each: {:.1} ms; ratio {:.1}x",
        finished.len(),
        ms(makeable),
        ms(makeable) / finished.len() as f64,
        units,
        ms(balance_reads),
        makeable.as_secs_f64() / balance_reads.as_secs_f64()
    );
    println!(
        "a component's change, products marked (reverse BOM index, mean of {}):",
        plan.repeat
    );
    println!(
        "  rare component, catalogue {:>5}: {:>4} products, {:.2} ms",
        quarter,
        marked_small.0,
        ms(marked_small.1)
    );
    println!(
        "  rare component, catalogue {:>5}: {:>4} products, {:.2} ms  (ratio to the small catalogue {:.2}x; catalogue grew {:.1}x)",
        finished.len(),
        marked_large.0,
        ms(marked_large.1),
        marked_large.1.as_secs_f64() / marked_small.1.as_secs_f64(),
        finished.len() as f64 / quarter as f64
    );
    println!(
        "  common component,  catalogue {:>5}: {:>4} products, {:.2} ms",
        finished.len(),
        marked_common.0,
        ms(marked_common.1)
    );
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs `query` `repeat` times: how many it found, and the mean time.
async fn time<F>(repeat: usize, mut query: F) -> anyhow::Result<(usize, Duration)>
where
    F: AsyncFnMut() -> sklad_db::DbResult<Vec<String>>,
{
    let mut found = 0;
    let begin = Instant::now();
    for _ in 0..repeat.max(1) {
        found = query().await?.len();
    }
    Ok((
        found,
        begin.elapsed() / u32::try_from(repeat.max(1)).unwrap_or(1),
    ))
}
