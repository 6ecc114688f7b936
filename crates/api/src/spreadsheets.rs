//! Spreadsheets: products and stock counts as CSV, in and out. Ukrainian Excel's `;` and
//! decimal commas are read as well as `,` and points; a file with one bad line changes
//! nothing and the answer names every bad line.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sklad_app::spreadsheets::SheetError;
use sklad_domain::spreadsheet::{Dialect, SheetFormat};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::ApiState;
use crate::auth::AccountId;
use crate::error::{ApiError, ErrorBody};

/// The largest spreadsheet taken (20 000 rows of a few hundred characters fit).
pub const MAX_SHEET_BYTES: usize = 8 * 1024 * 1024;

/// `?dry_run=`.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct DryRun {
    /// Check the file and show what would change; record nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// `?format=`.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct ExportQuery {
    /// `plain` (default) or `excel`.
    pub format: Option<SheetFormat>,
}

/// What a products file did (or would do).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProductsImportReport {
    pub dry_run: bool,
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
}

/// One SKU of a count.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CountLineView {
    pub sku: String,
    pub sklad: Decimal,
    pub counted: Decimal,
    pub change: Decimal,
}

/// One warehouse's count.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WarehouseCountView {
    pub warehouse_id: Uuid,
    pub warehouse: String,
    pub lines: Vec<CountLineView>,
    /// The inventory movement recorded (`origin: spreadsheet`); none on a dry run or when
    /// nothing changed.
    pub movement_id: Option<Uuid>,
}

/// What a counts file did (or would do).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CountsImportReport {
    pub dry_run: bool,
    /// Inventory movements recorded.
    pub movements: usize,
    pub data: Vec<WarehouseCountView>,
}

impl From<SheetError> for ApiError {
    fn from(err: SheetError) -> Self {
        match err {
            SheetError::Lines(ref lines) => {
                let first = lines.first().map_or(1, |l| l.line);
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "spreadsheet_invalid",
                    format!("the spreadsheet was not imported: {err}"),
                )
                .with("line", first)
                .with("errors", lines.len())
            }
            SheetError::Refused(refused) => refused.into(),
            SheetError::Db(db) => db.into(),
        }
    }
}

/// Reads a text body of at most [`MAX_SHEET_BYTES`].
async fn text(payload: web::Payload) -> Result<String, ApiError> {
    let body = payload
        .to_bytes_limited(MAX_SHEET_BYTES)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("a spreadsheet is at most {MAX_SHEET_BYTES} bytes"),
            )
        })?
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    String::from_utf8(body.to_vec()).map_err(|_| {
        ApiError::bad_request("the spreadsheet is not UTF-8 text; save it as CSV UTF-8")
    })
}

/// Creates or changes products from a CSV file: `sku,name,unit,price,unit_cost,barcode,
/// tracks_stock` (header on line 1; `sku` and `name` required, the others optional, in any
/// order; an empty cell leaves that field as it is). All or nothing.
#[utoipa::path(
    tag = "Spreadsheets",
    params(DryRun),
    request_body(content = String, content_type = "text/csv", description = "The CSV file (`,` or `;` between cells; `.` or `,` in numbers)"),
    responses(
        (status = 200, body = ProductsImportReport),
        (status = 400, description = "Not UTF-8 text", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 422, description = "`spreadsheet_invalid`: bad lines, each named in the message (`params.line`: the first)", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
#[post("/spreadsheets/products")]
pub async fn import_products(
    state: web::Data<ApiState>,
    account: AccountId,
    query: web::Query<DryRun>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let text = text(body).await?;
    let done = sklad_app::spreadsheets::import_products(&state.db, account.0, &text, query.dry_run)
        .await?;
    Ok(HttpResponse::Ok().json(ProductsImportReport::from(done)))
}

impl From<sklad_app::spreadsheets::ProductsImport> for ProductsImportReport {
    fn from(done: sklad_app::spreadsheets::ProductsImport) -> Self {
        Self {
            dry_run: done.dry_run,
            rows: done.rows,
            created: done.imported.created,
            updated: done.imported.updated,
            unchanged: done.imported.unchanged,
        }
    }
}

/// Every product as a CSV file, by SKU (the same columns the import reads).
#[utoipa::path(
    tag = "Spreadsheets",
    params(ExportQuery),
    responses(
        (status = 200, content_type = "text/csv", body = String),
        (status = 401, body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
#[get("/spreadsheets/products")]
pub async fn export_products(
    state: web::Data<ApiState>,
    account: AccountId,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    download(&state, account, query.format).await
}

/// Every product as a CSV download (the API's and the console's one way).
pub async fn download(
    state: &ApiState,
    account: AccountId,
    format: Option<SheetFormat>,
) -> Result<HttpResponse, ApiError> {
    let dialect = match format {
        Some(SheetFormat::Excel) => Dialect::EXCEL_UK,
        _ => Dialect::PLAIN,
    };
    let csv = sklad_app::spreadsheets::export_products(&state.db, account.0, dialect).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            "attachment; filename=\"products.csv\"",
        ))
        .body(csv))
}

/// Records counted stock from a CSV file: `sku,warehouse,quantity` (the warehouse by its
/// name), one `inventory` movement per warehouse (`origin: spreadsheet`). All or nothing.
#[utoipa::path(
    tag = "Spreadsheets",
    params(DryRun),
    request_body(content = String, content_type = "text/csv", description = "The CSV file (`,` or `;` between cells; `.` or `,` in numbers)"),
    responses(
        (status = 200, body = CountsImportReport),
        (status = 400, description = "Not UTF-8 text", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 422, description = "`spreadsheet_invalid`: bad lines (unknown SKU or warehouse, a product that is not stocked, a bad number), each named in the message", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
#[post("/spreadsheets/counts")]
pub async fn import_counts(
    state: web::Data<ApiState>,
    account: AccountId,
    query: web::Query<DryRun>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let text = text(body).await?;
    let counted =
        sklad_app::spreadsheets::import_counts(&state.db, account.0, &text, query.dry_run).await?;
    Ok(HttpResponse::Ok().json(counts_report(query.dry_run, counted)))
}

/// The report of a counts file (the API's and the console's one shape).
pub fn counts_report(
    dry_run: bool,
    counted: Vec<sklad_app::spreadsheets::WarehouseCount>,
) -> CountsImportReport {
    CountsImportReport {
        dry_run,
        movements: counted.iter().filter(|c| c.movement_id.is_some()).count(),
        data: counted
            .into_iter()
            .map(|c| WarehouseCountView {
                warehouse_id: c.warehouse_id,
                warehouse: c.warehouse,
                movement_id: c.movement_id,
                lines: c
                    .lines
                    .into_iter()
                    .map(|l| CountLineView {
                        sku: l.sku,
                        sklad: l.sklad,
                        counted: l.counted,
                        change: l.change,
                    })
                    .collect(),
            })
            .collect(),
    }
}
