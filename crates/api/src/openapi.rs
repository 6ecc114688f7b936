//! The OpenAPI document, served at `/api/v1/openapi.json`.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::{ErrorBody, ErrorDetail};
use crate::{integrations, orders, sync_jobs};

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
