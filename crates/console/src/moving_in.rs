//! Moving in from the console: the keyCRM catalogue import (live progress, cancel) and
//! spreadsheets on the Products screen, the take-over of keyCRM's stock (what would change
//! shown before the confirmation), and the choice when sending is switched on before it.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use uuid::Uuid;

use super::form::{FormData, Posted};
use super::integration::failed;
use super::{Console, ConsoleError, Frame, Section, Text, render, see_other};
use sklad_api::ApiState;
use sklad_api::catalogue::CatalogueImportView;
use sklad_api::error::ApiError;
use sklad_api::spreadsheets::{CountsImportReport, ProductsImportReport};
use sklad_api::take_over::{TakeOverReport, TakeOverRequest};
use sklad_domain::orders::JobKind;
use sklad_domain::spreadsheet::SheetFormat;

/// The largest pasted or chosen spreadsheet a form carries.
const SHEET_FORM_BYTES: usize = sklad_api::spreadsheets::MAX_SHEET_BYTES + 64 * 1024;

pub fn configure(cfg: &mut web::ServiceConfig) {
    let big = || web::FormConfig::default().limit(SHEET_FORM_BYTES);
    cfg.route("/products/catalogue-import", web::post().to(start_import))
        .route("/products/catalogue-import/{id}", web::get().to(import_row))
        .route(
            "/products/catalogue-import/{id}/cancel",
            web::post().to(cancel_import),
        )
        .route("/products/export", web::get().to(export))
        .service(
            web::resource("/products/import/preview")
                .app_data(big())
                .route(web::post().to(products_preview)),
        )
        .service(
            web::resource("/products/import")
                .app_data(big())
                .route(web::post().to(products_import)),
        )
        .service(
            web::resource("/stock/counts/preview")
                .app_data(big())
                .route(web::post().to(counts_preview)),
        )
        .service(
            web::resource("/stock/counts")
                .app_data(big())
                .route(web::post().to(counts_import)),
        )
        .route("/stock/take-over", web::get().to(take_over_page))
        .route(
            "/stock/take-over/preview",
            web::post().to(take_over_preview),
        )
        .route("/stock/take-over", web::post().to(take_over))
        .route("/stock/keycrm/send-anyway", web::post().to(send_anyway));
}

/// One catalogue import as the Products screen shows it.
pub struct ImportRow {
    pub job: CatalogueImportView,
    pub running: bool,
    pub percent: i32,
}

impl ImportRow {
    fn of(job: CatalogueImportView) -> Self {
        let running = job.state.is_active();
        let percent = match job.pages_total {
            Some(total) if total > 0 => (job.pages_done * 100 / total).clamp(0, 100),
            _ if running => 0,
            _ => 100,
        };
        Self {
            job,
            running,
            percent,
        }
    }

    pub fn pages_total(&self) -> String {
        self.job
            .pages_total
            .map_or("?".to_owned(), |p| p.to_string())
    }
}

#[derive(Template)]
#[template(path = "catalogue_card.html")]
struct CatalogueCard {
    frame: Frame,
    t: &'static Text,
    has_key: bool,
    rows: Vec<ImportRow>,
}

#[derive(Template)]
#[template(path = "catalogue_row.html")]
struct CatalogueRowFragment {
    frame: Frame,
    t: &'static Text,
    row: ImportRow,
}

/// The catalogue and spreadsheet cards of the Products screen, rendered.
pub async fn products_cards(state: &ApiState, console: &Console) -> Result<String, ApiError> {
    let has_key = {
        let mut conn = state.db.conn().await?;
        sklad_db::integrations::get(&mut conn, console.account.0)
            .await?
            .has_api_key()
    };
    let rows = sklad_api::catalogue::recent(state, console.account, 3)
        .await?
        .into_iter()
        .map(ImportRow::of)
        .collect();
    CatalogueCard {
        frame: console.frame(Section::Products, None),
        t: console.t(),
        has_key,
        rows,
    }
    .render()
    .map_err(|err| {
        tracing::error!(error = %err, "the catalogue card did not render");
        ApiError::internal()
    })
}

async fn products_refused(
    state: &ApiState,
    console: &Console,
    err: ApiError,
) -> Result<HttpResponse, ConsoleError> {
    let frame = console.frame(Section::Products, Some(failed(console.t(), &err)));
    let query = super::stock::PageQuery {
        page: None,
        q: None,
        done: None,
    };
    super::products::show_products(state, console, frame, &query, err.status).await
}

async fn start_import(
    state: web::Data<ApiState>,
    posted: Posted,
) -> Result<HttpResponse, ConsoleError> {
    match sklad_api::catalogue::start(&state, posted.console.account).await {
        Ok(_) => Ok(see_other("/products", Some("catalogue_started"))),
        // A second press while one runs: the running one is what was asked for.
        Err(err) if err.code == "catalogue_import_running" => {
            Ok(see_other("/products", Some("catalogue_started")))
        }
        Err(err) => products_refused(&state, &posted.console, err).await,
    }
}

async fn import_row(
    state: web::Data<ApiState>,
    console: Console,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ConsoleError> {
    let job = {
        let mut conn = state.db.conn().await?;
        sklad_db::sync_jobs::get(
            &mut conn,
            console.account.0,
            JobKind::Catalogue,
            id.into_inner(),
        )
        .await?
    };
    let job = job.ok_or_else(|| ApiError::not_found("no such catalogue import"))?;
    let row = ImportRow::of(CatalogueImportView::from(job));
    if !row.running {
        // Polled only while it ran: it just ended, and the list above has new products.
        return Ok(HttpResponse::Ok()
            .insert_header(("HX-Refresh", "true"))
            .finish());
    }
    render(
        &CatalogueRowFragment {
            frame: console.frame(Section::Products, None),
            t: console.t(),
            row,
        },
        StatusCode::OK,
    )
}

async fn cancel_import(
    state: web::Data<ApiState>,
    posted: Posted,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ConsoleError> {
    let found = {
        let mut conn = state.db.conn().await?;
        sklad_db::sync_jobs::cancel(
            &mut conn,
            posted.console.account.0,
            JobKind::Catalogue,
            id.into_inner(),
        )
        .await?
    };
    found.ok_or_else(|| ApiError::not_found("no such catalogue import"))?;
    Ok(see_other("/products", Some("catalogue_cancelled")))
}

#[derive(Deserialize)]
struct ExportQuery {
    format: Option<SheetFormat>,
}

/// Products as a CSV download (`format=excel` for Ukrainian Excel).
async fn export(
    state: web::Data<ApiState>,
    console: Console,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ConsoleError> {
    Ok(sklad_api::spreadsheets::download(&state, console.account, query.format).await?)
}

/// What a spreadsheet would do, with the confirmation that does it.
#[derive(Template)]
#[template(path = "sheet_preview.html")]
struct SheetPreview {
    frame: Frame,
    t: &'static Text,
    csv: String,
    /// Where the confirmation posts.
    action: &'static str,
    products: Option<ProductsImportReport>,
    counts: Option<CountsImportReport>,
}

/// The two spreadsheets the console takes.
#[derive(Debug, Clone, Copy)]
enum Sheet {
    Products,
    Counts,
}

impl Sheet {
    /// Where its confirmation posts.
    fn action(self) -> &'static str {
        match self {
            Sheet::Products => "/products/import",
            Sheet::Counts => "/stock/counts",
        }
    }
}

/// Checks (`dry_run`: shows what would change, with the confirmation) or saves a pasted or
/// chosen spreadsheet; a refusal names every bad line in the page's language.
async fn sheet(
    state: &ApiState,
    posted: Posted,
    sheet: Sheet,
    dry_run: bool,
) -> Result<HttpResponse, ConsoleError> {
    use sklad_app::spreadsheets::{import_counts, import_products};
    let console = &posted.console;
    let account = console.account.0;
    let csv = posted.form.get("csv").unwrap_or("").to_owned();
    let done = match sheet {
        Sheet::Products => import_products(&state.db, account, &csv, dry_run)
            .await
            .map(|done| (Some(ProductsImportReport::from(done)), None)),
        Sheet::Counts => import_counts(&state.db, account, &csv, dry_run)
            .await
            .map(|done| {
                (
                    None,
                    Some(sklad_api::spreadsheets::counts_report(dry_run, done)),
                )
            }),
    };
    match done {
        Err(err) => products_refused(state, console, sheet_refusal(console.t(), err)).await,
        Ok(_) if !dry_run => Ok(match sheet {
            Sheet::Products => see_other("/products", Some("products_imported")),
            Sheet::Counts => see_other("/movements", Some("counts_recorded")),
        }),
        Ok((products, counts)) => render(
            &SheetPreview {
                frame: console.frame(Section::Products, None),
                t: console.t(),
                csv,
                action: sheet.action(),
                products,
                counts,
            },
            StatusCode::OK,
        ),
    }
}

async fn products_preview(
    state: web::Data<ApiState>,
    posted: Posted,
) -> Result<HttpResponse, ConsoleError> {
    sheet(&state, posted, Sheet::Products, true).await
}

async fn products_import(
    state: web::Data<ApiState>,
    posted: Posted,
) -> Result<HttpResponse, ConsoleError> {
    sheet(&state, posted, Sheet::Products, false).await
}

async fn counts_preview(
    state: web::Data<ApiState>,
    posted: Posted,
) -> Result<HttpResponse, ConsoleError> {
    sheet(&state, posted, Sheet::Counts, true).await
}

async fn counts_import(
    state: web::Data<ApiState>,
    posted: Posted,
) -> Result<HttpResponse, ConsoleError> {
    sheet(&state, posted, Sheet::Counts, false).await
}

/// A keyCRM warehouse the take-over counts into, and the sklad warehouses to choose from
/// when several feed it.
pub struct Target {
    pub keycrm_warehouse_id: i64,
    pub name: String,
    /// (id, name, chosen)
    pub warehouses: Vec<(Uuid, String, bool)>,
}

#[derive(Template)]
#[template(path = "take_over.html")]
struct TakeOverPage {
    frame: Frame,
    t: &'static Text,
    targets: Vec<Target>,
    taken_over_at: Option<chrono::DateTime<chrono::Utc>>,
    has_key: bool,
    preview: Option<TakeOverReport>,
    names: BTreeMap<Uuid, String>,
}

impl TakeOverPage {
    fn name(&self, id: &Uuid) -> String {
        self.names
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_string())
    }

    fn changing(&self, target: &sklad_api::take_over::TakeOverTarget) -> usize {
        target.lines.iter().filter(|l| !l.change.is_zero()).count()
    }

    fn agreeing(&self, target: &sklad_api::take_over::TakeOverTarget) -> usize {
        target.lines.len() - self.changing(target)
    }
}

/// A spreadsheet refusal in the page's language, every bad line named.
fn sheet_refusal(t: &Text, err: sklad_app::spreadsheets::SheetError) -> ApiError {
    use sklad_app::spreadsheets::SheetError;
    match err {
        SheetError::Lines(lines) => {
            let said: Vec<String> = lines
                .iter()
                .map(|l| {
                    let mut text = format!("{} {}", t.sheet_line, l.line);
                    if let Some(column) = &l.column {
                        text.push_str(&format!(", {column}"));
                    }
                    text.push_str(&format!(": {}", t.sheet_problem(l.code)));
                    if let Some(value) = &l.value {
                        let shown = sklad_domain::spreadsheet::quoted(value, 60);
                        text.push_str(&format!(" («{shown}»)"));
                    }
                    text
                })
                .collect();
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "spreadsheet_invalid",
                said.join("; "),
            )
        }
        other => ApiError::from(other),
    }
}

/// The `into` choices a form carries (`into_<keyCRM id>` = warehouse id).
fn into_of(form: &FormData) -> BTreeMap<String, Uuid> {
    form.prefixed("into_")
        .filter_map(|(target, v)| Some((target.to_owned(), Uuid::parse_str(v).ok()?)))
        .collect()
}

async fn show_take_over(
    state: &ApiState,
    console: &Console,
    frame: Frame,
    preview: Option<TakeOverReport>,
    chosen: &BTreeMap<String, Uuid>,
    status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let mut conn = state.db.conn().await?;
    let integration = sklad_db::integrations::get(&mut conn, console.account.0).await?;
    let keycrm: BTreeMap<i64, String> =
        sklad_db::warehouses::list_keycrm(&mut conn, console.account.0)
            .await?
            .into_iter()
            .map(|k| (k.keycrm_id, k.name))
            .collect();
    let warehouses = sklad_db::warehouses::list(&mut conn, console.account.0).await?;
    drop(conn);
    let names: BTreeMap<Uuid, String> = warehouses.iter().map(|w| (w.id, w.name.clone())).collect();
    let mut targets: BTreeMap<i64, Target> = BTreeMap::new();
    for w in &warehouses {
        if let Some(k) = w.keycrm_warehouse_id {
            let target = targets.entry(k).or_insert_with(|| Target {
                keycrm_warehouse_id: k,
                name: keycrm.get(&k).cloned().unwrap_or_else(|| format!("#{k}")),
                warehouses: Vec::new(),
            });
            let picked = chosen.get(&k.to_string()) == Some(&w.id);
            target.warehouses.push((w.id, w.name.clone(), picked));
        }
    }
    render(
        &TakeOverPage {
            frame,
            t: console.t(),
            targets: targets.into_values().collect(),
            taken_over_at: integration.stock_taken_over_at,
            has_key: integration.has_api_key(),
            preview,
            names,
        },
        status,
    )
}

async fn take_over_page(
    state: web::Data<ApiState>,
    console: Console,
    done: web::Query<super::views::DoneQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let frame = console.frame_done(Section::StockKeycrm, done.done.as_deref());
    show_take_over(
        &state,
        &console,
        frame,
        None,
        &BTreeMap::new(),
        StatusCode::OK,
    )
    .await
}

async fn take_over_preview(
    state: web::Data<ApiState>,
    posted: Posted,
) -> Result<HttpResponse, ConsoleError> {
    let console = &posted.console;
    let into = into_of(&posted.form);
    let request = TakeOverRequest {
        into: into.clone(),
        dry_run: true,
    };
    match sklad_api::take_over::run(&state, console.account, request).await {
        Ok(report) => {
            let frame = console.frame(Section::StockKeycrm, None);
            show_take_over(&state, console, frame, Some(report), &into, StatusCode::OK).await
        }
        Err(err) => {
            let frame = console.frame(Section::StockKeycrm, Some(failed(console.t(), &err)));
            show_take_over(&state, console, frame, None, &into, err.status).await
        }
    }
}

async fn take_over(
    state: web::Data<ApiState>,
    posted: Posted,
) -> Result<HttpResponse, ConsoleError> {
    let console = &posted.console;
    let into = into_of(&posted.form);
    let request = TakeOverRequest {
        into: into.clone(),
        dry_run: false,
    };
    match sklad_api::take_over::run(&state, console.account, request).await {
        Ok(_) => Ok(see_other("/stock/take-over", Some("taken_over"))),
        Err(err) => {
            let frame = console.frame(Section::StockKeycrm, Some(failed(console.t(), &err)));
            show_take_over(&state, console, frame, None, &into, err.status).await
        }
    }
}

/// "sklad's quantities are right: send them": switches sending on, confirming that keyCRM's
/// uncounted quantities are replaced.
async fn send_anyway(
    state: web::Data<ApiState>,
    posted: Posted,
) -> Result<HttpResponse, ConsoleError> {
    let mut change = serde_json::Map::new();
    change.insert("stock_push_enabled".into(), serde_json::json!(true));
    change.insert("overwrite_uncounted".into(), serde_json::json!(true));
    // One switch stated outright: nothing read from the page can be stale.
    let any = sklad_app::versions::Expected::Any;
    match sklad_app::integration::update(&state.keycrm, posted.console.account.0, change, &any)
        .await
    {
        Ok(_) => Ok(see_other("/stock/keycrm", Some("stock_saved"))),
        Err(err) => super::stock_keycrm::refused(&state, &posted.console, err.into()).await,
    }
}
