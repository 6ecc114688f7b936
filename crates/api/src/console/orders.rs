//! Customer Orders: the list (status, archive, search by keyCRM id or buyer) and one order
//! with its lines, payments, shipment and the keyCRM document on demand.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::views::{Choice, Pager, choices, properties_text};
use super::{Console, ConsoleError, Frame, Text, render};
use crate::ApiState;
use crate::orders::{OrderDetailView, OrderQuery, OrderView};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/orders", web::get().to(list))
        .route("/orders/{id}", web::get().to(detail))
        .route("/orders/{id}/keycrm", web::get().to(document));
}

#[derive(Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    /// `active` (default), `archived` or `all`.
    show: Option<String>,
    /// A keyCRM status id; empty for every status.
    status: Option<String>,
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
    let page = query.page.unwrap_or(1).clamp(1, crate::page::MAX_PAGE);
    let found = crate::orders::list(
        &state,
        console.account,
        OrderQuery {
            archived,
            q: Some(q.clone()).filter(|q| !q.trim().is_empty()),
            status_id,
            ..OrderQuery::default()
        },
        (page, 50),
    )
    .await?;
    let empty_account = found.total == 0
        && q.trim().is_empty()
        && status_id.is_none()
        && crate::orders::list(&state, console.account, OrderQuery::default(), (1, 1))
            .await?
            .total
            == 0;
    let pager = Pager::new(
        "/orders",
        &[("q", &q), ("show", show), ("status", &status)],
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
    let page = OrdersPage {
        statuses,
        frame: console.frame("orders", None),
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
}

impl OrderPage {
    fn properties(&self, line: &crate::orders::LineView) -> String {
        properties_text(&line.properties)
    }

    fn production_state(&self, state: &str) -> &'static str {
        self.t.label(state)
    }
}

async fn detail(
    state: web::Data<ApiState>,
    console: Console,
    id: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let order = crate::orders::detail(&state, console.account, &id).await?;
    let t = console.t();
    let page = OrderPage {
        frame: console.frame("orders", None),
        t,
        shipment: t.label(order.order.shipment.state.as_ref()),
        order,
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
    let order = crate::orders::detail(&state, console.account, &id).await?;
    let document = serde_json::to_string_pretty(&order.keycrm_document)
        .unwrap_or_else(|_| order.keycrm_document.to_string());
    render(&DocumentFragment { document }, StatusCode::OK)
}
