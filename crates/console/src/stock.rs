//! Movements: the list, the form (receipt, write-off, transfer, inventory) and one movement
//! with its reversal. Forms become the API's own request bodies, so they pass the same checks.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use serde_json::{Value, json};
use uuid::Uuid;

use super::Section;
use super::form::{FormData, Posted};
use super::integration::failed;
use super::views::{Choice, Pager, choices, input, typed_number};
use super::{Console, ConsoleError, Frame, Text, render, see_other};
use sklad_api::ApiState;
use sklad_api::error::ApiError;
use sklad_api::movements::{BalanceView, MovementView};

use sklad_domain::stock::MovementKind;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/movements", web::get().to(movements))
        .route("/movements/new", web::get().to(new_movement))
        .route("/movements", web::post().to(create_movement))
        .route("/movements/{id}", web::get().to(movement))
        .route("/movements/{id}/reverse", web::get().to(confirm_reverse))
        .route("/movements/{id}/reverse", web::post().to(reverse));
}

#[derive(Template)]
#[template(path = "movements.html")]
struct MovementsPage {
    frame: Frame,
    t: &'static Text,
    movements: Vec<MovementView>,
    warehouse_names: Vec<(Uuid, String)>,
    pager: Pager,
}

impl MovementsPage {
    fn kind(&self, m: &MovementView) -> &'static str {
        self.t.label(m.kind.as_ref())
    }

    fn note(&self, m: &MovementView) -> String {
        note_of(self.t, m)
    }

    fn warehouses_of(&self, m: &MovementView) -> String {
        let mut names: Vec<&str> = Vec::new();
        for line in &m.lines {
            let name = self
                .warehouse_names
                .iter()
                .find(|(id, _)| *id == line.warehouse_id)
                .map_or("?", |(_, n)| n.as_str());
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names.join(" → ")
    }
}

#[derive(Deserialize)]
pub struct PageQuery {
    pub page: Option<i64>,
    pub q: Option<String>,
    pub done: Option<String>,
}

async fn movements(
    state: web::Data<ApiState>,
    console: Console,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let page = query.page.unwrap_or(1).clamp(1, sklad_api::page::MAX_PAGE);
    let mut conn = state.db.conn().await?;
    let filter = sklad_db::stock::MovementFilter {
        warehouse_id: None,
        product_id: None,
        page,
        per_page: 50,
    };
    let (rows, total) = sklad_db::stock::list(&mut conn, console.account.0, &filter).await?;
    let warehouse_names = sklad_db::warehouses::list(&mut conn, console.account.0)
        .await?
        .into_iter()
        .map(|w| (w.id, w.name))
        .collect();
    let page = MovementsPage {
        frame: console.frame_done(Section::Movements, query.done.as_deref()),
        t: console.t(),
        movements: rows.into_iter().map(MovementView::from).collect(),
        warehouse_names,
        pager: Pager::new("/movements", &[], page, 50, total),
    };
    render(&page, StatusCode::OK)
}

/// How many line rows a new movement form offers ("Add a row" and pasting add more).
const FORM_LINES: usize = 5;

#[derive(Template)]
#[template(path = "movement_new.html")]
struct NewMovementPage {
    frame: Frame,
    t: &'static Text,
    kinds: Vec<Choice>,
    kind: String,
    warehouses: Vec<Choice>,
    to_warehouses: Vec<Choice>,
    /// Each row as sent when a form comes back refused, with the refusal of its line.
    rows: Vec<Row>,
    note: String,
    /// The idempotency key of this form: sending it twice records one movement.
    key: String,
}

/// One line row of the movement form.
pub struct Row {
    pub sku: String,
    pub quantity: String,
    /// Why this line was refused, shown under it.
    pub error: Option<String>,
}

const KINDS: [&str; 4] = ["receipt", "write_off", "transfer", "inventory"];

/// The form for `?kind=`; when the kind list changes, htmx asks for it again with what was
/// typed so far (everything but the CSRF token), so the fields fit the kind and nothing typed
/// is lost. The kind is a field of the form that is posted: what is recorded is what it shows.
async fn new_movement(
    state: web::Data<ApiState>,
    console: Console,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, ConsoleError> {
    let sent = FormData::from(query.into_inner());
    let kind = sent
        .get("kind")
        .filter(|k| KINDS.contains(k))
        .unwrap_or("receipt")
        .to_owned();
    let frame = console.frame(Section::Movements, None);
    show_new_movement(&state, &console, frame, &kind, &sent, None, StatusCode::OK).await
}

async fn show_new_movement(
    state: &ApiState,
    console: &Console,
    frame: Frame,
    kind: &str,
    sent: &FormData,
    refused: Option<(usize, String)>,
    status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let t = console.t();
    let warehouses = {
        let mut conn = state.db.conn().await?;
        sklad_db::warehouses::list_active(&mut conn, console.account.0).await?
    };
    let options = |field: &str| {
        choices(
            warehouses
                .iter()
                .map(|w| (w.id.to_string(), w.name.clone())),
            &[sent.get(field).unwrap_or_default().to_owned()],
        )
    };
    let skus = sent.all("sku");
    let quantities = sent.all("quantity");
    // Every row sent comes back (a refused 30-line invoice keeps its 30 lines), and one more.
    let count = (skus.len().max(quantities.len()) + 1).max(FORM_LINES);
    let rows = (0..count)
        .map(|i| Row {
            sku: skus.get(i).copied().unwrap_or_default().to_owned(),
            quantity: quantities.get(i).copied().unwrap_or_default().to_owned(),
            error: refused
                .as_ref()
                .filter(|(row, _)| *row == i)
                .map(|(_, why)| why.clone()),
        })
        .collect();
    let page = NewMovementPage {
        frame,
        t,
        kinds: choices(
            KINDS
                .iter()
                .map(|k| ((*k).to_owned(), t.label(k).to_owned())),
            &[kind.to_owned()],
        ),
        kind: kind.to_owned(),
        warehouses: options("warehouse_id"),
        to_warehouses: options("to_warehouse_id"),
        rows,
        note: sent.get("note").unwrap_or_default().to_owned(),
        key: sent
            .get("idempotency_key")
            .map_or_else(|| Uuid::now_v7().to_string(), str::to_owned),
    };
    render(&page, status)
}

/// The rows of the form that become lines (the others are empty), by row index.
fn line_rows(form: &FormData) -> Vec<usize> {
    form.all("sku")
        .into_iter()
        .zip(form.all("quantity"))
        .enumerate()
        .filter(|(_, (sku, quantity))| !(sku.is_empty() && quantity.is_empty()))
        .map(|(row, _)| row)
        .collect()
}

/// The row a refusal is about: its line (1-based, over the rows that became lines), or the
/// row of the SKU it names.
fn refused_row(form: &FormData, err: &ApiError) -> Option<usize> {
    if let Some(line) = err.param("line").and_then(|l| l.parse::<usize>().ok()) {
        return line_rows(form).get(line.checked_sub(1)?).copied();
    }
    let sku = err.param("sku")?;
    form.all("sku").iter().position(|s| *s == sku)
}

/// The form as the API's `NewMovement`: rows with a SKU become lines.
fn movement_body(form: &FormData) -> Result<Value, ApiError> {
    let kind = form.get("kind").unwrap_or("receipt");
    let mut lines = Vec::new();
    for (sku, quantity) in form.all("sku").into_iter().zip(form.all("quantity")) {
        if sku.is_empty() && quantity.is_empty() {
            continue;
        }
        let quantity = typed_number(quantity).map_err(|err| err.with("line", lines.len() + 1))?;
        lines.push(json!({"sku": sku, "quantity": quantity}));
    }
    if lines.is_empty() {
        return Err(sklad_domain::stock::MovementError::NoLines.into());
    }
    let mut body = json!({
        "kind": kind,
        "lines": lines,
        "note": form.get("note"),
        "idempotency_key": form.get("idempotency_key"),
    });
    if kind == "transfer" {
        body["from_warehouse_id"] = json!(form.get("warehouse_id"));
        body["to_warehouse_id"] = json!(form.get("to_warehouse_id"));
    } else {
        body["warehouse_id"] = json!(form.get("warehouse_id"));
    }
    Ok(body)
}

async fn create_movement(
    state: web::Data<ApiState>,
    posted: Posted,
) -> Result<HttpResponse, ConsoleError> {
    let recorded = async {
        let body = input(movement_body(&posted.form)?)?;
        sklad_api::movements::record(&state, posted.console.account, body).await
    }
    .await;
    match recorded {
        Ok((view, _)) => Ok(see_other(
            &format!("/movements/{}", view.id),
            Some("movement_recorded"),
        )),
        Err(err) => {
            let console = &posted.console;
            let frame = console.frame(Section::Movements, Some(failed(console.t(), &err)));
            let kind = posted.form.get("kind").unwrap_or("receipt").to_owned();
            let refused = refused_row(&posted.form, &err)
                .map(|row| (row, super::errors::say(console.t(), &err)));
            show_new_movement(
                &state,
                console,
                frame,
                &kind,
                &posted.form,
                refused,
                err.status,
            )
            .await
        }
    }
}

#[derive(Template)]
#[template(path = "movement.html")]
struct MovementPage {
    frame: Frame,
    t: &'static Text,
    movement: MovementView,
    kind: &'static str,
    /// The balances of the movement's products in its warehouses now.
    balances: Vec<BalanceView>,
    /// Whether "Reverse" is offered.
    reversible: bool,
    /// The confirmation step of "Reverse".
    confirm: bool,
}

async fn movement(
    state: web::Data<ApiState>,
    console: Console,
    id: web::Path<Uuid>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let movement = load_movement(&state, &console, id.into_inner()).await?;
    let mut conn = state.db.conn().await?;
    let mut balances = Vec::new();
    for line in &movement.lines {
        let now = sklad_db::stock::balances(
            &mut conn,
            console.account.0,
            Some(line.warehouse_id),
            Some(&line.sku),
        )
        .await?;
        balances.extend(now.into_iter().map(BalanceView::from));
    }
    let t = console.t();
    let page = MovementPage {
        frame: console.frame_done(Section::Movements, query.done.as_deref()),
        t,
        kind: t.label(movement.kind.as_ref()),
        reversible: reversible(&movement),
        movement,
        balances,
        confirm: false,
    };
    render(&page, StatusCode::OK)
}

/// A movement's note in the page's language: sklad's own documents (an order's, a
/// production order's) are named from what they belong to, not from the English note
/// stored with them; a person's note is theirs.
fn note_of(t: &Text, m: &MovementView) -> String {
    if m.order_id.is_some() {
        t.note_order.to_owned()
    } else if m.production_order_id.is_some() {
        t.note_production.to_owned()
    } else {
        m.note.clone().unwrap_or_default()
    }
}

impl MovementPage {
    fn note(&self) -> String {
        note_of(self.t, &self.movement)
    }

    /// The confirmation step of "Reverse…" for `movement`.
    fn confirming(console: &Console, frame: Frame, movement: MovementView) -> Self {
        let t = console.t();
        Self {
            frame,
            t,
            kind: t.label(movement.kind.as_ref()),
            reversible: reversible(&movement),
            movement,
            balances: Vec::new(),
            confirm: true,
        }
    }
}

/// One of the signed-in account's movements (404 for another's or none).
async fn load_movement(
    state: &ApiState,
    console: &Console,
    id: Uuid,
) -> Result<MovementView, ApiError> {
    let mut conn = state.db.conn().await?;
    let found = sklad_db::stock::load(&mut conn, console.account.0, id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such movement"))?;
    Ok(MovementView::from(found))
}

/// Whether the console offers "Reverse": a manual document not reversed yet.
fn reversible(movement: &MovementView) -> bool {
    movement.reversed_by.is_none()
        && matches!(
            movement.kind,
            MovementKind::Receipt
                | MovementKind::WriteOff
                | MovementKind::Transfer
                | MovementKind::Inventory
                | MovementKind::Reversal
        )
}

/// "Reverse" asks first: the movement again, with what its reversal will do and a button
/// that posts it (a page, not a script's dialog, so it works anywhere and Back is safe).
async fn confirm_reverse(
    state: web::Data<ApiState>,
    console: Console,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ConsoleError> {
    let movement = load_movement(&state, &console, id.into_inner()).await?;
    if let Some(reversal) = movement.reversed_by {
        return Ok(see_other(&format!("/movements/{reversal}"), None));
    }
    let frame = console.frame(Section::Movements, None);
    render(
        &MovementPage::confirming(&console, frame, movement),
        StatusCode::OK,
    )
}

/// Records the reversal and shows it; a second press (a double click, Back and again) shows
/// the reversal already recorded instead of an error.
async fn reverse(
    state: web::Data<ApiState>,
    posted: Posted,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ConsoleError> {
    let id = id.into_inner();
    match sklad_api::movements::reverse(&state, posted.console.account, id).await {
        Ok(view) => Ok(see_other(
            &format!("/movements/{}", view.id),
            Some("movement_reversed"),
        )),
        Err(err) if err.code == "already_reversed" => {
            Ok(see_other(&format!("/movements/{id}/reverse"), None))
        }
        Err(err) => {
            let console = &posted.console;
            let movement = load_movement(&state, console, id).await?;
            let frame = console.frame(Section::Movements, Some(failed(console.t(), &err)));
            render(
                &MovementPage::confirming(console, frame, movement),
                err.status,
            )
        }
    }
}
