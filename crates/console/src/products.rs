//! Products (the nomenclature): list and search, one product with its balances in every
//! warehouse, create and edit, and SKU suggestions for movement forms.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::Section;
use super::form::{FormData, Posted};
use super::integration::failed;
use super::production::BomPanel;
use super::stock::PageQuery;
use super::views::input;
use super::views::{Pager, properties_text, typed_number};
use super::{Console, ConsoleError, Frame, Text, render, see_other};
use sklad_api::ApiState;
use sklad_api::error::ApiError;
use sklad_api::movements::BalanceView;
use sklad_api::products::{ProductQuery, ProductView};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/products", web::get().to(products))
        .route("/products", web::post().to(create_product))
        .route("/products/skus", web::get().to(sku_options))
        .route("/products/{id}", web::get().to(product))
        .route("/products/{id}", web::post().to(update_product));
}

#[derive(Template)]
#[template(path = "products.html")]
struct ProductsPage {
    frame: Frame,
    t: &'static Text,
    q: String,
    products: Vec<ProductView>,
    pager: Pager,
    /// The keyCRM catalogue and spreadsheet cards.
    cards: String,
}

async fn products(
    state: web::Data<ApiState>,
    console: Console,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let frame = console.frame_done(Section::Products, query.done.as_deref());
    show_products(&state, &console, frame, &query, StatusCode::OK).await
}

pub(super) async fn show_products(
    state: &ApiState,
    console: &Console,
    frame: Frame,
    query: &PageQuery,
    status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let q = query.q.clone().unwrap_or_default();
    let page = query.page.unwrap_or(1).clamp(1, sklad_api::page::MAX_PAGE);
    let found = sklad_api::products::list(
        state,
        console.account,
        ProductQuery {
            q: Some(q.clone()).filter(|q| !q.trim().is_empty()),
            ..ProductQuery::default()
        },
        (page, 50),
    )
    .await?;
    let cards = super::moving_in::products_cards(state, console).await?;
    let page = ProductsPage {
        cards,
        frame,
        t: console.t(),
        pager: Pager::new("/products", &[("q", &q)], page, 50, found.total),
        q,
        products: found.data,
    };
    render(&page, status)
}

/// The product form as the API's body: blank fields are left out.
fn product_body(form: &FormData, with_sku_required: bool) -> Value {
    let mut body = serde_json::Map::new();
    for field in ["sku", "name", "unit"] {
        if let Some(value) = form.get(field) {
            body.insert(field.into(), json!(value));
        } else if with_sku_required && field != "unit" {
            body.insert(field.into(), json!(""));
        }
    }
    if let Some(barcode) = form.get("barcode") {
        body.insert("barcode".into(), json!(barcode));
    } else if form.get("tracks_stock_shown").is_some() {
        // The edit form showed the field and it was emptied: clear it.
        body.insert("barcode".into(), json!(""));
    }
    if form.get("tracks_stock_shown").is_some() {
        body.insert("tracks_stock".into(), json!(form.checked("tracks_stock")));
    }
    for field in ["price", "unit_cost"] {
        if let Some(value) = form.get(field) {
            // Not a number: sent as typed, so the API's own check names the field.
            let value = typed_number(value).unwrap_or_else(|_| json!(value));
            body.insert(field.into(), value);
        }
    }
    Value::Object(body)
}

async fn create_product(
    state: web::Data<ApiState>,
    posted: Posted,
) -> Result<HttpResponse, ConsoleError> {
    let created = async {
        let body = input(product_body(&posted.form, true))?;
        sklad_api::products::create(&state, posted.console.account, body).await
    }
    .await;
    match created {
        Ok(p) => Ok(see_other(
            &format!("/products/{}", p.id),
            Some("product_saved"),
        )),
        Err(err) => {
            let console = &posted.console;
            let frame = console.frame(Section::Products, Some(failed(console.t(), &err)));
            let query = PageQuery {
                page: None,
                q: None,
                done: None,
            };
            show_products(&state, console, frame, &query, err.status).await
        }
    }
}

#[derive(Template)]
#[template(path = "product.html")]
struct ProductPage {
    frame: Frame,
    t: &'static Text,
    product: ProductView,
    balances: Vec<BalanceView>,
    panel: BomPanel,
}

impl ProductPage {
    fn properties(&self) -> String {
        properties_text(&self.product.properties)
    }
}

async fn product(
    state: web::Data<ApiState>,
    console: Console,
    id: web::Path<Uuid>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let frame = console.frame_done(Section::Products, query.done.as_deref());
    show_product(&state, &console, frame, id.into_inner(), StatusCode::OK).await
}

pub(super) async fn show_product(
    state: &ApiState,
    console: &Console,
    frame: Frame,
    id: Uuid,
    status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let mut conn = state.db.conn().await?;
    let product = sklad_db::products::get(&mut conn, console.account.0, id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such product"))?;
    let product = ProductView::from(product);
    let balances =
        sklad_db::stock::balances(&mut conn, console.account.0, None, Some(&product.sku))
            .await?
            .into_iter()
            .map(BalanceView::from)
            .collect();
    drop(conn);
    let panel = BomPanel::load(state, console, id).await?;
    let page = ProductPage {
        frame,
        t: console.t(),
        product,
        balances,
        panel,
    };
    render(&page, status)
}

async fn update_product(
    state: web::Data<ApiState>,
    posted: Posted,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ConsoleError> {
    let id = id.into_inner();
    let updated = async {
        let body = input(product_body(&posted.form, false))?;
        let expected = posted.form.version("version");
        sklad_api::products::update(&state, posted.console.account, id, body, &expected).await
    }
    .await;
    match updated {
        Ok(p) => Ok(see_other(
            &format!("/products/{}", p.id),
            Some("product_saved"),
        )),
        Err(err) => {
            let console = &posted.console;
            let frame = console.frame(Section::Products, Some(failed(console.t(), &err)));
            show_product(&state, console, frame, id, err.status).await
        }
    }
}

#[derive(Template)]
#[template(path = "sku_options.html")]
struct SkuOptions {
    products: Vec<ProductView>,
}

#[derive(Deserialize)]
pub struct SkuQuery {
    sku: Option<String>,
}

/// SKU suggestions for a movement line as the owner types (a datalist's options).
async fn sku_options(
    state: web::Data<ApiState>,
    console: Console,
    query: web::Query<SkuQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let typed = query.sku.clone().unwrap_or_default();
    let products = if typed.trim().is_empty() || typed.chars().count() > sklad_api::page::MAX_SEARCH
    {
        Vec::new()
    } else {
        sklad_api::products::list(
            &state,
            console.account,
            ProductQuery {
                q: Some(typed),
                ..ProductQuery::default()
            },
            (1, 20),
        )
        .await?
        .data
    };
    render(&SkuOptions { products }, StatusCode::OK)
}
