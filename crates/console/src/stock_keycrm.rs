//! Stock balances → keyCRM: the "Send stock balances to keyCRM" switch, "update the list"
//! of keyCRM warehouses, the mapping, the push log, resync, reconcile and the preview.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::Section;
use super::form::{FormData, Posted};
use super::integration::failed;
use super::views::input;
use super::views::{Choice, DoneQuery, choices};
use super::{Console, ConsoleError, Frame, Text, render, see_other};
use sklad_api::ApiState;
use sklad_api::error::ApiError;
use sklad_api::keycrm_warehouses::{KeycrmWarehouseView, Mapping, MappingEntry};
use sklad_api::stock_pushes::{Preview, PreviewQuery, PushView, ReconcileReport};
use sklad_api::warehouses::WarehouseView;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/stock/keycrm", web::get().to(page))
        .route("/stock/keycrm/settings", web::post().to(save))
        .route("/stock/keycrm/refresh", web::post().to(refresh))
        .route("/stock/keycrm/warehouses", web::post().to(add))
        .route("/stock/keycrm/resync", web::post().to(resync))
        .route("/stock/keycrm/reconcile", web::post().to(reconcile))
        .route("/stock/keycrm/preview", web::get().to(preview))
        .route("/stock/keycrm/pending", web::get().to(pending));
}

/// One sklad warehouse's row of the mapping.
pub struct MappingRow {
    pub warehouse: WarehouseView,
    pub targets: Vec<Choice>,
}

#[derive(Template)]
#[template(path = "stock_keycrm.html")]
struct StockPage {
    frame: Frame,
    t: &'static Text,
    push_enabled: bool,
    has_key: bool,
    keycrm_warehouses: Vec<KeycrmWarehouseView>,
    rows: Vec<MappingRow>,
    pushes: Vec<PushView>,
    pending: Pending,
    /// Sending was refused: keyCRM holds this many SKUs sklad never counted.
    uncounted: Option<String>,
    /// The mapping's version as shown, so a save over someone else's change is refused.
    mapping_version: String,
}

/// What still waits to be sent to keyCRM: the screen refreshes it every few seconds, so a
/// resync or a burst of movements can be watched draining.
#[derive(Template)]
#[template(path = "stock_pending.html")]
pub struct Pending {
    t: &'static Text,
    skus: i64,
}

impl Pending {
    async fn load(state: &ApiState, console: &Console) -> Result<Self, ApiError> {
        let mut conn = state.db.conn().await?;
        let (skus, _) =
            sklad_db::push_waiting::dirty_stats(&mut conn, Some(console.account.0)).await?;
        Ok(Self {
            t: console.t(),
            skus,
        })
    }
}

async fn pending(
    state: web::Data<ApiState>,
    console: Console,
) -> Result<HttpResponse, ConsoleError> {
    render(&Pending::load(&state, &console).await?, StatusCode::OK)
}

impl StockPage {
    /// The sklad warehouses summed into one keyCRM warehouse, for the explanation.
    fn summed_into(&self, keycrm_id: &i64) -> String {
        self.rows
            .iter()
            .filter(|r| r.warehouse.keycrm_warehouse_id == Some(*keycrm_id))
            .map(|r| r.warehouse.name.as_str())
            .collect::<Vec<_>>()
            .join(" + ")
    }

    fn outcome(&self, push: &PushView) -> &'static str {
        self.t.label(push.outcome.as_ref())
    }
}

async fn page(
    state: web::Data<ApiState>,
    console: Console,
    done: web::Query<DoneQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let frame = console.frame_done(Section::StockKeycrm, done.done.as_deref());
    show(&state, &console, frame, StatusCode::OK).await
}

async fn show(
    state: &ApiState,
    console: &Console,
    frame: Frame,
    status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    show_with(state, console, frame, status, None).await
}

/// The panel; `uncounted`: sending was just refused because keyCRM holds that many SKUs
/// sklad never counted, so the panel offers the two ways on.
async fn show_with(
    state: &ApiState,
    console: &Console,
    frame: Frame,
    status: StatusCode,
    uncounted: Option<String>,
) -> Result<HttpResponse, ConsoleError> {
    let account = console.account.0;
    let mut conn = state.db.conn().await?;
    let integration = sklad_db::integrations::get(&mut conn, account).await?;
    let keycrm_warehouses: Vec<KeycrmWarehouseView> =
        sklad_db::warehouses::list_keycrm(&mut conn, account)
            .await?
            .into_iter()
            .map(KeycrmWarehouseView::from)
            .collect();
    // One read: the mapping's version covers every warehouse, the panel shows those in use.
    let all = sklad_db::warehouses::list(&mut conn, account).await?;
    let mapping_version = sklad_app::mapping::version(&all);
    let warehouses: Vec<_> = all
        .into_iter()
        .filter(|w| w.archived_at.is_none())
        .collect();
    let (pushes, _) = sklad_db::push_log::pushes(&mut conn, account, None, 1, 20).await?;
    drop(conn);
    let pending = Pending::load(state, console).await?;
    let t = console.t();
    let rows = warehouses
        .into_iter()
        .map(WarehouseView::from)
        .map(|warehouse| {
            let mut targets = vec![Choice {
                value: String::new(),
                label: t.not_mapped.to_owned(),
                selected: warehouse.keycrm_warehouse_id.is_none(),
            }];
            targets.extend(choices(
                keycrm_warehouses
                    .iter()
                    .map(|k| (k.id.to_string(), format!("{} (#{})", k.name, k.id))),
                &[warehouse
                    .keycrm_warehouse_id
                    .map(|id| id.to_string())
                    .unwrap_or_default()],
            ));
            MappingRow { warehouse, targets }
        })
        .collect();
    let page = StockPage {
        frame,
        t,
        mapping_version,
        push_enabled: integration.settings.stock_push_enabled,
        has_key: integration.has_api_key(),
        keycrm_warehouses,
        rows,
        pushes: pushes.into_iter().map(PushView::from).collect(),
        pending,
        uncounted,
    };
    render(&page, status)
}

/// Renders the screen with a refused action's reason.
pub(super) async fn refused(
    state: &ApiState,
    console: &Console,
    err: ApiError,
) -> Result<HttpResponse, ConsoleError> {
    let frame = console.frame(Section::StockKeycrm, Some(failed(console.t(), &err)));
    let uncounted = (err.code == "stock_not_taken_over")
        .then(|| err.param("uncounted").unwrap_or("?").to_owned());
    show_with(state, console, frame, err.status, uncounted).await
}

/// The panel's one "Update": "Send stock balances to keyCRM" and the mapping, both as
/// shown, so no change on the panel is left unsaved. Switching off goes first (a mapping
/// change then sends nothing); switching on goes last (it sends every mapped SKU's sum
/// under the new mapping). A refusal shows the panel as it is now, with the reason.
async fn save(state: web::Data<ApiState>, posted: Posted) -> Result<HttpResponse, ConsoleError> {
    let account = posted.console.account;
    let on = posted.form.checked("stock_push_enabled");
    let keycrm = &state.keycrm;
    // The switch is stated outright (the mapping below carries the page's version).
    let any = &sklad_app::versions::Expected::Any;
    let switch = |on: bool| {
        let mut change = serde_json::Map::new();
        change.insert("stock_push_enabled".into(), json!(on));
        sklad_app::integration::update(keycrm, account.0, change, any)
    };
    let saved = async {
        let mapping = mapping_of(&posted.form)?;
        if !on {
            switch(false).await?;
        }
        if !mapping.is_empty() {
            let expected = posted.form.version("mapping_version");
            sklad_api::keycrm_warehouses::set_mapping(
                &state,
                account,
                Mapping { mapping },
                &expected,
            )
            .await?;
        }
        if on {
            switch(true).await?;
        }
        Ok::<_, ApiError>(())
    }
    .await;
    match saved {
        Ok(()) => Ok(see_other("/stock/keycrm", Some("stock_saved"))),
        Err(err) => refused(&state, &posted.console, err).await,
    }
}

/// "Update the list" of keyCRM warehouses.
async fn refresh(state: web::Data<ApiState>, posted: Posted) -> Result<HttpResponse, ConsoleError> {
    match sklad_api::keycrm_warehouses::refresh(&state, posted.console.account).await {
        Ok(_) => Ok(see_other("/stock/keycrm", Some("list_updated"))),
        Err(err) => refused(&state, &posted.console, err).await,
    }
}

/// A keyCRM warehouse entered by hand (keyCRM lists only those holding stock).
async fn add(state: web::Data<ApiState>, posted: Posted) -> Result<HttpResponse, ConsoleError> {
    let added = async {
        let id: i64 = posted
            .form
            .get("id")
            .unwrap_or("")
            .parse()
            .map_err(|_| ApiError::validation("the keyCRM warehouse id is a number"))?;
        let body = input(json!({"id": id, "name": posted.form.get("name").unwrap_or("")}))?;
        sklad_api::keycrm_warehouses::add(&state, posted.console.account, body).await
    }
    .await;
    match added {
        Ok(_) => Ok(see_other("/stock/keycrm", Some("saved"))),
        Err(err) => refused(&state, &posted.console, err).await,
    }
}

/// The mapping the panel shows: each sklad warehouse to one keyCRM warehouse or none.
fn mapping_of(form: &FormData) -> Result<Vec<MappingEntry>, ApiError> {
    let mut mapping = Vec::new();
    for (warehouse, target) in form
        .all("warehouse_id")
        .into_iter()
        .zip(form.all("keycrm_warehouse_id"))
    {
        let warehouse_id = Uuid::parse_str(warehouse)
            .map_err(|_| ApiError::validation("unknown warehouse in the form"))?;
        let keycrm_warehouse_id = match target {
            "" => None,
            id => Some(
                id.parse::<i64>()
                    .map_err(|_| ApiError::validation("unknown keyCRM warehouse"))?,
            ),
        };
        mapping.push(MappingEntry {
            warehouse_id,
            keycrm_warehouse_id,
        });
    }
    Ok(mapping)
}

async fn resync(state: web::Data<ApiState>, posted: Posted) -> Result<HttpResponse, ConsoleError> {
    sklad_app::maintenance::resync(&state.db, posted.console.account.0).await?;
    Ok(see_other("/stock/keycrm", Some("resync_started")))
}

#[derive(Template)]
#[template(path = "reconcile_run.html")]
struct ReconcileRun {
    frame: Frame,
    t: &'static Text,
}

#[derive(Template)]
#[template(path = "reconcile_line.html")]
struct ReconcileLine {
    t: &'static Text,
    done: u32,
    total: Option<u32>,
}

#[derive(Template)]
#[template(path = "reconcile_result.html")]
struct ReconcileResult {
    t: &'static Text,
    outcome: Result<ReconcileReport, String>,
}

/// Reconcile now: reads keyCRM's quantities (a page per 50 SKUs), re-sends what differs and
/// shows the report. The page is streamed: its top at once, a line per keyCRM page read as
/// it is read, then the report, so a long pass shows its progress in any browser.
async fn reconcile(
    state: web::Data<ApiState>,
    posted: Posted,
) -> Result<HttpResponse, ConsoleError> {
    let console = posted.console;
    let keycrm = match state.client(console.account).await {
        Ok(keycrm) => keycrm,
        Err(err) => return refused(&state, &console, err).await,
    };
    let t = console.t();
    let page = ReconcileRun {
        frame: console.frame(Section::StockKeycrm, None),
        t,
    }
    .render()?;
    let (top, rest) = page.split_once("<!--progress-->").unwrap_or((&page, ""));
    let (middle, bottom) = rest.split_once("<!--result-->").unwrap_or((rest, ""));
    let (top, middle, bottom) = (top.to_owned(), middle.to_owned(), bottom.to_owned());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let _ = tx.send(top);
    let db = state.db.clone();
    let account = console.account.0;
    tokio::spawn(async move {
        let lines = tx.clone();
        let outcome =
            sklad_app::maintenance::reconcile(&db, &keycrm.client, account, |done, total| {
                if let Ok(line) = (ReconcileLine { t, done, total }).render() {
                    let _ = lines.send(line);
                }
            })
            .await
            .map(ReconcileReport::from)
            .map_err(|err| super::errors::say(t, &ApiError::from(err)));
        let result = ReconcileResult { t, outcome }.render().unwrap_or_default();
        for part in [middle, result, bottom] {
            let _ = tx.send(part);
        }
    });
    let body = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|part| {
            (
                Ok::<_, actix_web::Error>(actix_web::web::Bytes::from(part)),
                rx,
            )
        })
    });
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((
            actix_web::http::header::CACHE_CONTROL,
            actix_web::http::header::HeaderValue::from_static("no-store"),
        ))
        .streaming(body))
}

#[derive(Template)]
#[template(path = "stock_preview.html")]
struct PreviewPage {
    frame: Frame,
    t: &'static Text,
    preview: Preview,
    read_back: bool,
}

#[derive(Deserialize)]
pub struct PreviewForm {
    #[serde(default)]
    read_back: bool,
}

/// What the next push would send, optionally read back from keyCRM.
async fn preview(
    state: web::Data<ApiState>,
    console: Console,
    query: web::Query<PreviewForm>,
) -> Result<HttpResponse, ConsoleError> {
    let read_back = query.read_back;
    let preview = sklad_api::stock_pushes::run_preview(
        &state,
        console.account,
        PreviewQuery {
            read_back,
            resync: false,
        },
    )
    .await?;
    let page = PreviewPage {
        frame: console.frame(Section::StockKeycrm, None),
        t: console.t(),
        preview,
        read_back,
    };
    render(&page, StatusCode::OK)
}
