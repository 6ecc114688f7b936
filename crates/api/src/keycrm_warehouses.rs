//! keyCRM warehouses (learned from stocks or entered by hand) and the mapping of sklad
//! warehouses to them.

use actix_web::{HttpResponse, get, post, put, web};
use serde::{Deserialize, Serialize};
use sklad_app::mapping::MappingError;
use sklad_app::versions::Expected;
use sklad_db::warehouses::KeycrmWarehouse;
use sklad_domain::stock::KeycrmWarehouseSource;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::ApiState;
use crate::auth::AccountId;
use crate::error::{ApiError, ErrorBody};
use crate::input::Name;
use crate::json::Json;
use crate::page::Page;
use crate::versions::{IF_MATCH_DOC, IfMatch, tagged};
use sklad_domain::orders::{KeycrmId, is_keycrm_id};

/// A keyCRM warehouse sklad knows of.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct KeycrmWarehouseView {
    pub id: i64,
    pub name: String,
    pub source: KeycrmWarehouseSource,
}

impl From<KeycrmWarehouse> for KeycrmWarehouseView {
    fn from(w: KeycrmWarehouse) -> Self {
        Self {
            id: w.keycrm_id,
            name: w.name,
            source: w.source,
        }
    }
}

/// A keyCRM warehouse entered by hand.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKeycrmWarehouse {
    /// keyCRM's id of the warehouse.
    #[schema(value_type = KeycrmId)]
    pub id: i64,
    pub name: Name,
}

async fn known(state: &ApiState, account: Uuid) -> Result<Page<KeycrmWarehouseView>, ApiError> {
    let mut conn = state.db.conn().await?;
    let rows = sklad_db::warehouses::list_keycrm(&mut conn, account).await?;
    Ok(Page::whole(rows))
}

/// keyCRM warehouses sklad knows of (from refresh or entered by hand).
#[utoipa::path(tag = "keyCRM warehouses", responses((status = 200, body = Page<KeycrmWarehouseView>)), security(("bearer" = [])))]
#[get("/keycrm/warehouses")]
pub async fn list_keycrm_warehouses(
    state: web::Data<ApiState>,
    account: AccountId,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(known(&state, account.0).await?))
}

/// Adds a keyCRM warehouse by hand (keyCRM has no warehouse list endpoint).
#[utoipa::path(tag = "keyCRM warehouses", request_body = NewKeycrmWarehouse,
    responses((status = 201, body = Page<KeycrmWarehouseView>), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
#[post("/keycrm/warehouses")]
pub async fn add_keycrm_warehouse(
    state: web::Data<ApiState>,
    account: AccountId,
    body: Json<NewKeycrmWarehouse>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Created().json(add(&state, account, body.into_inner()).await?))
}

/// Adds (or renames) a keyCRM warehouse by hand (the API's and the console's one way).
pub async fn add(
    state: &ApiState,
    account: AccountId,
    body: NewKeycrmWarehouse,
) -> Result<Page<KeycrmWarehouseView>, ApiError> {
    if !is_keycrm_id(body.id) {
        return Err(ApiError::validation(
            "id must be a keyCRM warehouse id (1 to 2147483647)",
        ));
    }
    {
        let mut conn = state.db.conn().await?;
        sklad_db::warehouses::upsert_keycrm(
            &mut conn,
            account.0,
            &[(body.id, body.name.as_ref().to_owned())],
            KeycrmWarehouseSource::Manual,
        )
        .await?;
    }
    known(state, account.0).await
}

/// "Update the list": collects keyCRM warehouse ids and names from
/// `GET /offers/stocks?filter[details]=true` (every page).
#[utoipa::path(tag = "keyCRM warehouses", responses((status = 200, body = Page<KeycrmWarehouseView>), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, description = "The keyCRM request budget of this API key is spent for now; `Retry-After` says when to come back", body = ErrorBody), (status = 502, body = ErrorBody)), security(("bearer" = [])))]
#[post("/keycrm/warehouses/refresh")]
pub async fn refresh_keycrm_warehouses(
    state: web::Data<ApiState>,
    account: AccountId,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(refresh(&state, account).await?))
}

/// "Update the list" (the API's and the console's one way).
pub async fn refresh(
    state: &ApiState,
    account: AccountId,
) -> Result<Page<KeycrmWarehouseView>, ApiError> {
    let keycrm = state.client(account).await?;
    sklad_app::maintenance::refresh_keycrm_warehouses(&state.db, &keycrm.client, account.0).await?;
    known(state, account.0).await
}

/// One sklad warehouse's mapping.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MappingEntry {
    pub warehouse_id: Uuid,
    /// The keyCRM warehouse, or `null` to unmap.
    #[schema(value_type = Option<KeycrmId>)]
    pub keycrm_warehouse_id: Option<i64>,
}

/// The mapping to apply, or the whole mapping.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    #[schema(max_items = 1000)]
    #[serde(deserialize_with = "crate::input::objects")]
    pub mapping: Vec<MappingEntry>,
}

/// The most warehouses one mapping change may name.
const MAX_MAPPING: usize = 1000;

/// The whole mapping and its version.
pub async fn mapping(state: &ApiState, account: Uuid) -> Result<(Mapping, String), ApiError> {
    let mut conn = state.db.conn().await?;
    let warehouses = sklad_db::warehouses::list(&mut conn, account).await?;
    let version = sklad_app::mapping::version(&warehouses);
    let mapping = Mapping {
        mapping: warehouses
            .into_iter()
            .map(|w| MappingEntry {
                warehouse_id: w.id,
                keycrm_warehouse_id: w.keycrm_warehouse_id,
            })
            .collect(),
    };
    Ok((mapping, version))
}

/// The warehouse mapping; its `ETag` is what a change sends back as `If-Match`.
#[utoipa::path(tag = "keyCRM warehouses",
    responses((status = 200, body = Mapping, headers(("ETag" = String, description = "the mapping's version")))),
    security(("bearer" = [])))]
#[get("/integrations/keycrm/warehouse-mapping")]
pub async fn get_mapping(
    state: web::Data<ApiState>,
    account: AccountId,
) -> Result<HttpResponse, ApiError> {
    let (mapping, version) = mapping(&state, account.0).await?;
    Ok(tagged(HttpResponse::Ok(), &version).json(mapping))
}

/// Maps each listed sklad warehouse to at most one keyCRM warehouse (several may share one:
/// their balances are summed), if the mapping is still the version `If-Match` names. SKUs
/// whose sums change are marked to be pushed.
#[utoipa::path(tag = "keyCRM warehouses", request_body = Mapping,
    params(("If-Match" = String, Header, description = IF_MATCH_DOC)),
    responses(
        (status = 200, body = Mapping, headers(("ETag" = String, description = "the new version"))),
        (status = 404, body = ErrorBody),
        (status = 412, description = "Changed by someone else since that version (`edited_meanwhile`)", body = ErrorBody),
        (status = 422, body = ErrorBody),
        (status = 428, description = "No If-Match", body = ErrorBody)),
    security(("bearer" = [])))]
#[put("/integrations/keycrm/warehouse-mapping")]
pub async fn put_mapping(
    state: web::Data<ApiState>,
    account: AccountId,
    if_match: IfMatch,
    body: Json<Mapping>,
) -> Result<HttpResponse, ApiError> {
    let (mapping, version) = set_mapping(&state, account, body.into_inner(), &if_match.0).await?;
    Ok(tagged(HttpResponse::Ok(), &version).json(mapping))
}

/// Applies a mapping change made from the `expected` version and returns the whole mapping
/// and its new version (the API's and the console's one way).
pub async fn set_mapping(
    state: &ApiState,
    account: AccountId,
    change: Mapping,
    expected: &Expected,
) -> Result<(Mapping, String), ApiError> {
    if change.mapping.len() > MAX_MAPPING {
        return Err(ApiError::validation(format!(
            "a mapping change names at most {MAX_MAPPING} warehouses"
        )));
    }
    let entries = change
        .mapping
        .into_iter()
        .map(|m| (m.warehouse_id, m.keycrm_warehouse_id))
        .collect();
    {
        let mut conn = state.db.conn().await?;
        sklad_app::mapping::set(&mut conn, account.0, entries, expected)
            .await
            .map_err(|err| {
                let err = match err {
                    MappingError::Stale(stale) => return ApiError::from(stale),
                    MappingError::Db(db) => db,
                };
                if err.is_foreign_key_violation() {
                    ApiError::not_found(
                        "no such keyCRM warehouse: refresh the list or add it first",
                    )
                } else if err.is_not_found() {
                    ApiError::not_found("no such warehouse")
                } else {
                    ApiError::from(err)
                }
            })?;
    }
    mapping(state, account.0).await
}
