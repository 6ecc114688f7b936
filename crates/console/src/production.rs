//! Production: production orders (plan, release, complete, cancel) and a product's bill of
//! materials with what can be made of it in each warehouse.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::Section;
use super::form::{FormData, Posted};
use super::integration::failed;
use super::views::input;
use super::views::{Choice, Pager, choices, typed_number};
use super::{Console, ConsoleError, Frame, Text, render, see_other};
use sklad_api::ApiState;
use sklad_api::error::ApiError;
use sklad_api::production::{BomView, CompleteRequest, ProductionOrderView};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/production", web::get().to(page))
        .route("/production", web::post().to(plan))
        .route("/production/{id}/release", web::post().to(release))
        .route("/production/{id}/complete", web::post().to(complete))
        .route("/production/{id}/cancel", web::post().to(cancel))
        .route("/products/{id}/bom", web::post().to(save_bom));
}

/// A production order as a row: with its product's SKU and its warehouses' names.
pub struct OrderRow {
    pub order: ProductionOrderView,
    pub sku: String,
    pub state: &'static str,
    pub from: String,
    pub to: String,
}

impl OrderRow {
    pub fn planned(&self) -> bool {
        self.order.state.as_ref() == "planned"
    }

    pub fn released(&self) -> bool {
        self.order.state.as_ref() == "released"
    }

    pub fn left(&self) -> Decimal {
        (self.order.quantity - self.order.made)
            .max(Decimal::ZERO)
            .normalize()
    }
}

#[derive(Template)]
#[template(path = "production.html")]
struct ProductionPage {
    frame: Frame,
    t: &'static Text,
    states: Vec<Choice>,
    rows: Vec<OrderRow>,
    pager: Pager,
    warehouses: Vec<Choice>,
}

#[derive(Deserialize)]
pub struct ListQuery {
    state: Option<String>,
    page: Option<i64>,
    done: Option<String>,
}

const STATES: [&str; 4] = ["planned", "released", "done", "cancelled"];

async fn page(
    state: web::Data<ApiState>,
    console: Console,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let frame = console.frame_done(Section::Production, query.done.as_deref());
    show(&state, &console, frame, &query, StatusCode::OK).await
}

async fn show(
    state: &ApiState,
    console: &Console,
    frame: Frame,
    query: &ListQuery,
    status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let t = console.t();
    let filter = query.state.as_deref().filter(|s| STATES.contains(s));
    let in_state = filter.and_then(|s| s.parse().ok());
    let page = query.page.unwrap_or(1).clamp(1, sklad_api::page::MAX_PAGE);
    let found = sklad_api::production::list(state, console.account, in_state, (page, 50)).await?;
    let (skus, names) = {
        let mut conn = state.db.conn().await?;
        let ids: Vec<Uuid> = found.data.iter().map(|o| o.product_id).collect();
        let skus = sklad_db::products::skus_of(&mut conn, console.account.0, &ids).await?;
        let all = sklad_db::warehouses::list(&mut conn, console.account.0).await?;
        let offered: Vec<(String, String)> = all
            .iter()
            .filter(|w| w.archived_at.is_none())
            .map(|w| (w.id.to_string(), w.name.clone()))
            .collect();
        let names: HashMap<Uuid, String> = all.into_iter().map(|w| (w.id, w.name)).collect();
        (skus, (names, offered))
    };
    let (names, warehouses) = names;
    let name = |id: &Uuid| names.get(id).cloned().unwrap_or_default();
    let rows = found
        .data
        .into_iter()
        .map(|order| OrderRow {
            sku: skus.get(&order.product_id).cloned().unwrap_or_default(),
            state: t.label(order.state.as_ref()),
            from: name(&order.component_warehouse_id),
            to: name(&order.output_warehouse_id),
            order,
        })
        .collect();
    let mut states = vec![Choice {
        value: String::new(),
        label: t.production_all.to_owned(),
        selected: filter.is_none(),
    }];
    states.extend(choices(
        STATES
            .iter()
            .map(|s| ((*s).to_owned(), t.label(s).to_owned())),
        &[filter.unwrap_or_default().to_owned()],
    ));
    let page = ProductionPage {
        frame,
        t,
        states,
        rows,
        pager: Pager::new(
            "/production",
            &[("state", filter.unwrap_or_default())],
            page,
            50,
            found.total,
        ),
        warehouses: choices(warehouses, &[]),
    };
    render(&page, status)
}

/// Shows the production screen with a refused action's reason.
async fn refused(
    state: &ApiState,
    console: &Console,
    err: ApiError,
) -> Result<HttpResponse, ConsoleError> {
    let frame = console.frame(Section::Production, Some(failed(console.t(), &err)));
    let query = ListQuery {
        state: None,
        page: None,
        done: None,
    };
    show(state, console, frame, &query, err.status).await
}

/// A product named by SKU in a form, as its id.
async fn product_of(state: &ApiState, console: &Console, sku: &str) -> Result<Uuid, ApiError> {
    let mut conn = state.db.conn().await?;
    let found =
        sklad_db::products::ids_by_sku(&mut conn, console.account.0, &[sku.to_owned()]).await?;
    found
        .get(sku)
        .copied()
        .ok_or_else(|| ApiError::validation(format!("no product with SKU {sku}")))
}

async fn plan(state: web::Data<ApiState>, posted: Posted) -> Result<HttpResponse, ConsoleError> {
    let console = &posted.console;
    let form = &posted.form;
    let planned = async {
        let product_id = product_of(&state, console, form.get("sku").unwrap_or("")).await?;
        let body = input(json!({
            "product_id": product_id,
            "quantity": typed_number(form.get("quantity").unwrap_or(""))?,
            "component_warehouse_id": form.get("component_warehouse_id"),
            "output_warehouse_id": form.get("output_warehouse_id"),
            "due_date": form.get("due_date"),
            "note": form.get("note"),
        }))?;
        sklad_api::production::plan(&state, console.account, body).await
    }
    .await;
    match planned {
        Ok(_) => Ok(see_other("/production", Some("production_planned"))),
        Err(err) => refused(&state, console, err).await,
    }
}

async fn release(
    state: web::Data<ApiState>,
    posted: Posted,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ConsoleError> {
    let sub = posted.form.checked("plan_sub_assemblies");
    match sklad_api::production::release(&state, posted.console.account, *id, sub).await {
        Ok(_) => Ok(see_other("/production", Some("production_released"))),
        Err(err) => refused(&state, &posted.console, err).await,
    }
}

async fn complete(
    state: web::Data<ApiState>,
    posted: Posted,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ConsoleError> {
    let form = &posted.form;
    let completed = async {
        let quantity = form.get("quantity").map(typed_number).transpose()?;
        let body: CompleteRequest =
            input(json!({"quantity": quantity, "close": form.checked("close")}))?;
        sklad_api::production::complete(&state, posted.console.account, *id, body).await
    }
    .await;
    match completed {
        Ok(done) => Ok(see_other(
            &format!("/movements/{}", done.movement.id),
            Some("movement_recorded"),
        )),
        Err(err) => refused(&state, &posted.console, err).await,
    }
}

async fn cancel(
    state: web::Data<ApiState>,
    posted: Posted,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ConsoleError> {
    match sklad_api::production::cancel(&state, posted.console.account, *id).await {
        Ok(_) => Ok(see_other("/production", Some("production_cancelled"))),
        Err(err) => refused(&state, &posted.console, err).await,
    }
}

/// A product's BOM and what can be made of it now, per warehouse, for the product screen.
pub struct BomPanel {
    pub bom: Option<BomView>,
    /// (warehouse name, whole units makeable there).
    pub makeable: Vec<(String, Decimal)>,
}

impl BomPanel {
    /// The BOM's version as shown, so a save over someone else's new version is refused.
    pub fn version(&self) -> String {
        match &self.bom {
            Some(bom) => sklad_api::production::bom_version(bom),
            None => sklad_app::versions::bom(None),
        }
    }

    pub async fn load(
        state: &ApiState,
        console: &Console,
        product_id: Uuid,
    ) -> Result<Self, ApiError> {
        let bom = match sklad_api::production::current_bom(state, console.account, product_id).await
        {
            Ok(bom) => Some(bom),
            Err(err) if err.status == StatusCode::NOT_FOUND => None,
            Err(err) => return Err(err),
        };
        let mut makeable = Vec::new();
        if bom.is_some() {
            let mut conn = state.db.conn().await?;
            for w in sklad_db::warehouses::list(&mut conn, console.account.0).await? {
                let made =
                    sklad_app::production::makeable(&mut conn, console.account.0, product_id, w.id)
                        .await?;
                makeable.push((w.name, made.units));
            }
        }
        Ok(Self { bom, makeable })
    }
}

/// How many component rows the BOM form offers beyond the current ones.
const SPARE_ROWS: usize = 3;

impl BomPanel {
    /// (sku, quantity) rows for the form: the current components, then blank ones.
    pub fn rows(&self) -> Vec<(String, String)> {
        let mut rows: Vec<(String, String)> = self
            .bom
            .iter()
            .flat_map(|b| &b.components)
            .map(|c| (c.sku.clone(), c.quantity.to_string()))
            .collect();
        rows.extend(std::iter::repeat_n(
            (String::new(), String::new()),
            SPARE_ROWS,
        ));
        rows
    }

    pub fn output_quantity(&self) -> String {
        self.bom
            .as_ref()
            .map_or_else(|| "1".to_owned(), |b| b.output_quantity.to_string())
    }
}

/// The BOM form as the API's `BomRequest` (components named by SKU become product ids).
async fn bom_body(
    state: &ApiState,
    console: &Console,
    form: &FormData,
) -> Result<serde_json::Value, ApiError> {
    let mut components = Vec::new();
    for (sku, quantity) in form.all("sku").into_iter().zip(form.all("quantity")) {
        if sku.is_empty() && quantity.is_empty() {
            continue;
        }
        let product_id = product_of(state, console, sku).await?;
        components.push(json!({"product_id": product_id, "quantity": typed_number(quantity)?}));
    }
    Ok(json!({
        "output_quantity": typed_number(form.get("output_quantity").unwrap_or("1"))?,
        "note": form.get("note"),
        "components": components,
    }))
}

async fn save_bom(
    state: web::Data<ApiState>,
    posted: Posted,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ConsoleError> {
    let console = &posted.console;
    let saved = async {
        let body = input(bom_body(&state, console, &posted.form).await?)?;
        let expected = posted.form.version("bom_version");
        sklad_api::production::save_bom(&state, console.account, *id, body, &expected).await
    }
    .await;
    match saved {
        Ok(_) => Ok(see_other(&format!("/products/{}", *id), Some("bom_saved"))),
        Err(err) => {
            let frame = console.frame(Section::Products, Some(failed(console.t(), &err)));
            super::products::show_product(&state, console, frame, *id, err.status).await
        }
    }
}
