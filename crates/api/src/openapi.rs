//! The OpenAPI document, served at `/api/v1/openapi.json`.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::{ErrorBody, ErrorDetail};
use crate::{integrations, orders, stock, sync_jobs};

#[derive(OpenApi)]
#[openapi(
    info(title = "sklad admin API", description = "Stock and production service with a two-way keyCRM integration."),
    servers((url = "/api/v1")),
    paths(
        integrations::get_integration,
        integrations::put_integration,
        integrations::rotate_webhook_token,
        integrations::keycrm_statuses,
        orders::list_orders,
        orders::get_order,
        orders::list_products,
        sync_jobs::start_sync_job,
        sync_jobs::list_sync_jobs,
        sync_jobs::get_sync_job,
        sync_jobs::cancel_sync_job,
        sync_jobs::request_reconcile,
        stock::list_warehouses,
        stock::create_warehouse,
        stock::update_warehouse,
        stock::create_product,
        stock::update_product,
        stock::create_movement,
        stock::list_movements,
        stock::get_movement,
        stock::list_balances,
        stock::ship_order,
        stock::list_keycrm_warehouses,
        stock::add_keycrm_warehouse,
        stock::refresh_keycrm_warehouses,
        stock::get_mapping,
        stock::put_mapping,
        stock::list_pushes,
        stock::resync,
        stock::reconcile,
    ),
    components(schemas(
        ErrorBody,
        ErrorDetail,
        integrations::IntegrationView,
        integrations::IntegrationUpdate,
        integrations::WebhookLink,
        integrations::KeycrmStatus,
        integrations::KeycrmStatuses,
        orders::Buyer,
        orders::OrderView,
        orders::OrderPage,
        orders::LineView,
        orders::PaymentView,
        orders::OrderDetailView,
        orders::ProductView,
        orders::ProductPage,
        sync_jobs::SyncJobRequest,
        sync_jobs::SyncJobView,
        sync_jobs::SyncJobList,
        stock::WarehouseView,
        stock::WarehouseList,
        stock::NewWarehouse,
        stock::WarehouseChange,
        stock::NewProduct,
        stock::ProductUpdate,
        stock::MovementLineInput,
        stock::NewMovement,
        stock::MovementLineView,
        stock::MovementView,
        stock::MovementPage,
        stock::BalanceView,
        stock::BalanceList,
        stock::ShipOrder,
        stock::KeycrmWarehouseView,
        stock::KeycrmWarehouseList,
        stock::NewKeycrmWarehouse,
        stock::MappingEntry,
        stock::MappingUpdate,
        stock::MappingView,
        stock::PushView,
        stock::PushPage,
        stock::Resynced,
        stock::DriftView,
        stock::ReconcileReport,
    )),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}
