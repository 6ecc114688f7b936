//! Stock balances: the warehouses with their balances, created, renamed and archived.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::Section;
use super::form::Posted;
use super::integration::failed;
use super::views::input;
use super::{Console, ConsoleError, Frame, Text, render, see_other};
use sklad_api::ApiState;
use sklad_api::movements::BalanceView;
use sklad_api::warehouses::WarehouseView;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/warehouses", web::get().to(warehouses))
        .route("/warehouses", web::post().to(create_warehouse))
        .route("/warehouses/{id}", web::post().to(edit_warehouse))
        .route(
            "/warehouses/{id}/archive",
            web::post().to(archive_warehouse),
        );
}

#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
    warehouse: Option<Uuid>,
}

#[derive(Template)]
#[template(path = "warehouses.html")]
struct WarehousesPage {
    frame: Frame,
    t: &'static Text,
    warehouses: Vec<WarehouseView>,
    selected: Option<Uuid>,
    balances: Vec<BalanceView>,
}

impl WarehousesPage {
    fn current(&self) -> Option<&WarehouseView> {
        self.warehouses.iter().find(|w| Some(w.id) == self.selected)
    }

    fn tab(&self, id: &Uuid) -> &'static str {
        if self.selected == Some(*id) {
            "active"
        } else {
            ""
        }
    }
}

async fn warehouses(
    state: web::Data<ApiState>,
    console: Console,
    query: web::Query<Done>,
) -> Result<HttpResponse, ConsoleError> {
    let frame = console.frame_done(Section::Warehouses, query.done.as_deref());
    show_warehouses(&state, &console, frame, query.warehouse, StatusCode::OK).await
}

async fn show_warehouses(
    state: &ApiState,
    console: &Console,
    frame: Frame,
    selected: Option<Uuid>,
    status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let mut conn = state.db.conn().await?;
    let warehouses: Vec<WarehouseView> = sklad_db::warehouses::list(&mut conn, console.account.0)
        .await?
        .into_iter()
        .map(WarehouseView::from)
        .collect();
    let selected = selected
        .filter(|id| warehouses.iter().any(|w| w.id == *id))
        .or_else(|| warehouses.first().map(|w| w.id));
    let balances = match selected {
        Some(id) => sklad_db::stock::balances(&mut conn, console.account.0, Some(id), None)
            .await?
            .into_iter()
            .map(BalanceView::from)
            .collect(),
        None => Vec::new(),
    };
    let page = WarehousesPage {
        frame,
        t: console.t(),
        warehouses,
        selected,
        balances,
    };
    render(&page, status)
}

async fn create_warehouse(
    state: web::Data<ApiState>,
    posted: Posted,
) -> Result<HttpResponse, ConsoleError> {
    let form = &posted.form;
    let created = async {
        let body = input(json!({
            "name": form.get("name").unwrap_or(""),
            "allow_negative": form.checked("allow_negative"),
        }))?;
        sklad_api::warehouses::create(&state, posted.console.account, body).await
    }
    .await;
    match created {
        Ok(w) => Ok(see_other(
            &format!("/warehouses?warehouse={}", w.id),
            Some("warehouse_created"),
        )),
        Err(err) => {
            let console = &posted.console;
            let frame = console.frame(Section::Warehouses, Some(failed(console.t(), &err)));
            show_warehouses(&state, console, frame, None, err.status).await
        }
    }
}

/// Renames a warehouse or changes its negative-balance rule.
async fn edit_warehouse(
    state: web::Data<ApiState>,
    posted: Posted,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ConsoleError> {
    let form = &posted.form;
    let change = json!({
        "name": form.get("name").unwrap_or(""),
        "allow_negative": form.checked("allow_negative"),
    });
    change_warehouse(&state, &posted, id.into_inner(), change, "warehouse_saved").await
}

/// Archives a warehouse (empty, no order ships from it) or brings it back.
async fn archive_warehouse(
    state: web::Data<ApiState>,
    posted: Posted,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ConsoleError> {
    let archived = posted.form.get("archived") == Some("true");
    let done = if archived {
        "warehouse_archived"
    } else {
        "warehouse_saved"
    };
    let change = json!({ "archived": archived });
    change_warehouse(&state, &posted, id.into_inner(), change, done).await
}

async fn change_warehouse(
    state: &ApiState,
    posted: &Posted,
    id: Uuid,
    change: Value,
    done: &str,
) -> Result<HttpResponse, ConsoleError> {
    let changed = async {
        let body = input(change)?;
        let expected = posted.form.version("version");
        sklad_api::warehouses::update(state, posted.console.account, id, body, &expected).await
    }
    .await;
    match changed {
        Ok(w) => Ok(see_other(
            &format!("/warehouses?warehouse={}", w.id),
            Some(done),
        )),
        Err(err) => {
            let console = &posted.console;
            let frame = console.frame(Section::Warehouses, Some(failed(console.t(), &err)));
            show_warehouses(state, console, frame, Some(id), err.status).await
        }
    }
}
