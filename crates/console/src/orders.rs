//! Customer Orders: the list (status, archive, search by keyCRM id or buyer) and one order
//! with its lines, payments, shipment and the keyCRM document on demand.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::Section;
use super::views::{Choice, Pager, choices, properties_text};
use super::{Console, ConsoleError, Frame, Text, render};
use sklad_api::ApiState;
use sklad_api::orders::{OrderDetailView, OrderQuery, OrderView};
use sklad_app::movements::ShortLine;
use sklad_db::orders::OrderRef;
use sklad_domain::orders::ShipmentState;
use strum::VariantNames;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/orders", web::get().to(list))
        .route("/orders/waiting", web::get().to(waiting))
        .route("/orders/{id}", web::get().to(detail))
        .route("/orders/{id}/ship", web::post().to(ship))
        .route("/orders/{id}/keycrm", web::get().to(document));
}

#[derive(Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    /// `active` (default), `archived` or `all`.
    show: Option<String>,
    /// A keyCRM status id; empty for every status.
    status: Option<String>,
    /// A shipment state (`waiting`...); empty for every state.
    shipment: Option<String>,
    page: Option<i64>,
}

#[derive(Template)]
#[template(path = "orders.html")]
struct OrdersPage {
    frame: Frame,
    t: &'static Text,
    q: String,
    show: Vec<Choice>,
    statuses: Vec<Choice>,
    shipments: Vec<Choice>,
    orders: Vec<OrderView>,
    pager: Pager,
    /// No order at all yet (not merely none matching): say how orders arrive.
    empty_account: bool,
}

impl OrdersPage {
    fn shipment(&self, order: &OrderView) -> &'static str {
        self.t.label(order.shipment.state.as_ref())
    }
}

async fn list(
    state: web::Data<ApiState>,
    console: Console,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let query = query.into_inner();
    let t = console.t();
    let show = query.show.as_deref().unwrap_or("active");
    let archived = match show {
        "archived" => Some(true),
        "all" => None,
        _ => Some(false),
    };
    let q = query.q.unwrap_or_default();
    let status = query.status.unwrap_or_default();
    let status_id = status.parse::<i64>().ok();
    let shipment_text = query.shipment.unwrap_or_default();
    let shipment = shipment_text.parse::<ShipmentState>().ok();
    let page = query.page.unwrap_or(1).clamp(1, sklad_api::page::MAX_PAGE);
    let found = sklad_api::orders::list(
        &state,
        console.account,
        OrderQuery {
            archived,
            q: Some(q.clone()).filter(|q| !q.trim().is_empty()),
            status_id,
            shipment,
            ..OrderQuery::default()
        },
        (page, 50),
    )
    .await?;
    let empty_account = found.total == 0
        && q.trim().is_empty()
        && status_id.is_none()
        && shipment.is_none()
        && sklad_api::orders::list(&state, console.account, OrderQuery::default(), (1, 1))
            .await?
            .total
            == 0;
    let pager = Pager::new(
        "/orders",
        &[
            ("q", &q),
            ("show", show),
            ("status", &status),
            ("shipment", &shipment_text),
        ],
        page,
        found.per_page,
        found.total,
    );
    let in_use = {
        let mut conn = state.db.conn().await?;
        sklad_db::orders::statuses_in_use(&mut conn, console.account.0).await?
    };
    let mut statuses = vec![Choice {
        value: String::new(),
        label: t.orders_any_status.to_owned(),
        selected: status_id.is_none(),
    }];
    statuses.extend(choices(
        in_use
            .into_iter()
            .map(|(id, name)| (id.to_string(), name.unwrap_or_else(|| format!("#{id}")))),
        &[status_id.map(|id| id.to_string()).unwrap_or_default()],
    ));
    let mut shipments = vec![Choice {
        value: String::new(),
        label: t.orders_any_shipment.to_owned(),
        selected: shipment.is_none(),
    }];
    shipments.extend(choices(
        ShipmentState::VARIANTS
            .iter()
            .map(|s| ((*s).to_owned(), t.label(s).to_owned())),
        &[shipment.map(|s| s.as_ref().to_owned()).unwrap_or_default()],
    ));
    let page = OrdersPage {
        statuses,
        shipments,
        frame: console.frame(Section::Orders, None),
        t,
        show: choices(
            [
                ("active".to_owned(), t.orders_active.to_owned()),
                ("archived".to_owned(), t.orders_archived.to_owned()),
                ("all".to_owned(), t.orders_all.to_owned()),
            ],
            &[show.to_owned()],
        ),
        q,
        orders: found.data,
        pager,
        empty_account,
    };
    render(&page, StatusCode::OK)
}

#[derive(Template)]
#[template(path = "order.html")]
struct OrderPage {
    frame: Frame,
    t: &'static Text,
    order: OrderDetailView,
    shipment: &'static str,
    /// What the order lacks in its ship warehouse, every line named (empty: nothing).
    short: Vec<ShortLine>,
    short_warehouse: String,
    /// "Ship now": the warehouses, its ship warehouse chosen (empty once shipped).
    ship_from: Vec<Choice>,
}

impl OrderPage {
    fn properties(&self, line: &sklad_api::orders::LineView) -> String {
        properties_text(&line.properties)
    }

    /// A payment in its own currency when keyCRM names one, else the account's.
    fn payment_amount(&self, amount: &rust_decimal::Decimal, currency: &Option<String>) -> String {
        match currency {
            Some(code) => format!("{} {code}", super::money_text(*amount)),
            None => self.frame.money(amount),
        }
    }

    fn production_state(&self, state: &str) -> &'static str {
        self.t.label(state)
    }
}

#[derive(Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

async fn detail(
    state: web::Data<ApiState>,
    console: Console,
    id: web::Path<String>,
    query: web::Query<DoneQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let frame = console.frame_done(Section::Orders, query.done.as_deref());
    show_order(&state, &console, frame, &id, StatusCode::OK).await
}

async fn show_order(
    state: &ApiState,
    console: &Console,
    frame: Frame,
    id: &str,
    status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let order = sklad_api::orders::detail(state, console.account, id).await?;
    let t = console.t();
    let (short_warehouse, short, ship_from) = {
        let mut conn = state.db.conn().await?;
        let facts = sklad_db::order_stock::shipment_facts(
            &mut conn,
            console.account.0,
            OrderRef::Id(order.order.id),
        )
        .await?;
        match facts.filter(|f| f.shipped_movement_id.is_none()) {
            Some(facts) => {
                let settings = sklad_db::integrations::get(&mut conn, console.account.0)
                    .await?
                    .settings;
                let found = sklad_app::movements::order_shortage(
                    &mut conn,
                    console.account.0,
                    &settings,
                    &facts,
                )
                .await?;
                let warehouses =
                    sklad_db::warehouses::list_active(&mut conn, console.account.0).await?;
                let chosen = found
                    .as_ref()
                    .map(|(w, _, _)| w.to_string())
                    .unwrap_or_default();
                let ship_from = choices(
                    warehouses
                        .iter()
                        .map(|w| (w.id.to_string(), w.name.clone())),
                    &[chosen],
                );
                let (name, short) = found.map(|(_, n, s)| (n, s)).unwrap_or_default();
                (name, short, ship_from)
            }
            None => (String::new(), Vec::new(), Vec::new()),
        }
    };
    let page = OrderPage {
        frame,
        t,
        shipment: t.label(order.order.shipment.state.as_ref()),
        order,
        short,
        short_warehouse,
        ship_from,
    };
    render(&page, status)
}

/// "Ship now": the manual shipment the API has (`POST /orders/{id}/ship`), with the
/// negative-balance rule; a refusal names every short line.
async fn ship(
    state: web::Data<ApiState>,
    posted: super::form::Posted,
    id: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let console = &posted.console;
    let shipped = async {
        let reference = sklad_api::orders::order_ref(&id)?;
        let warehouse = posted
            .form
            .get("warehouse_id")
            .and_then(|w| uuid::Uuid::parse_str(w).ok())
            .ok_or(sklad_domain::stock::MovementError::MissingWarehouse(
                "warehouse_id",
            ))?;
        let mut conn = state.db.conn().await?;
        sklad_app::movements::ship(&mut conn, console.account.0, reference, warehouse)
            .await
            .map_err(sklad_api::error::ApiError::from)
    }
    .await;
    match shipped {
        Ok(_) => Ok(super::see_other(
            &format!("/orders/{id}"),
            Some("order_shipped"),
        )),
        Err(err) => {
            let frame = console.frame(
                Section::Orders,
                Some(super::integration::failed(console.t(), &err)),
            );
            show_order(&state, console, frame, &id, err.status).await
        }
    }
}

/// One order waiting for stock, with every line it lacks.
pub struct WaitingRow {
    pub order: OrderView,
    pub warehouse: String,
    pub short: Vec<ShortLine>,
}

#[derive(Template)]
#[template(path = "waiting.html")]
struct WaitingPage {
    frame: Frame,
    t: &'static Text,
    rows: Vec<WaitingRow>,
    pager: Pager,
}

#[derive(Deserialize)]
pub struct WaitingQuery {
    page: Option<i64>,
}

/// Orders in a ship status that their warehouse cannot cover yet, oldest wait first
/// being the list's order, each with every short line (read now, not when it began to wait).
async fn waiting(
    state: web::Data<ApiState>,
    console: Console,
    query: web::Query<WaitingQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let page = query.page.unwrap_or(1).clamp(1, sklad_api::page::MAX_PAGE);
    let found = sklad_api::orders::list(
        &state,
        console.account,
        OrderQuery {
            shipment: Some(ShipmentState::Waiting),
            ..OrderQuery::default()
        },
        (page, 50),
    )
    .await?;
    let pager = Pager::new("/orders/waiting", &[], page, found.per_page, found.total);
    let mut rows = Vec::with_capacity(found.data.len());
    let mut conn = state.db.conn().await?;
    // One read of the settings for the whole page, not one per order.
    let settings = sklad_db::integrations::get(&mut conn, console.account.0)
        .await?
        .settings;
    for order in found.data {
        let facts = sklad_db::order_stock::shipment_facts(
            &mut conn,
            console.account.0,
            OrderRef::Id(order.id),
        )
        .await?;
        let (warehouse, short) = match facts {
            Some(facts) => sklad_app::movements::order_shortage(
                &mut conn,
                console.account.0,
                &settings,
                &facts,
            )
            .await?
            .map(|(_, name, short)| (name, short))
            .unwrap_or_default(),
            None => Default::default(),
        };
        rows.push(WaitingRow {
            order,
            warehouse,
            short,
        });
    }
    let page = WaitingPage {
        frame: console.frame(Section::Waiting, None),
        t: console.t(),
        rows,
        pager,
    };
    render(&page, StatusCode::OK)
}

#[derive(Template)]
#[template(path = "order_document.html")]
struct DocumentFragment {
    document: String,
}

/// The keyCRM document as stored, pretty-printed (loaded when asked for).
async fn document(
    state: web::Data<ApiState>,
    console: Console,
    id: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let order = sklad_api::orders::detail(&state, console.account, &id).await?;
    let document = serde_json::to_string_pretty(&order.keycrm_document)
        .unwrap_or_else(|_| order.keycrm_document.to_string());
    render(&DocumentFragment { document }, StatusCode::OK)
}
