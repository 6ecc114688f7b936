//! The OpenAPI document, served at `/api/v1/openapi.json`. Paths and schemas are collected
//! from the routes as they are mounted (`utoipa-actix-web`), so a handler cannot be served
//! without being documented; this module adds what routes cannot say.

use std::borrow::Cow;

use sklad_db::integrations::IntegrationSettings;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

#[derive(OpenApi)]
#[openapi(
    info(title = "sklad admin API", description = "Stock and production service with a two-way keyCRM integration."),
    servers((url = "/api/v1")),
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

/// A change to the integration settings: any of [`IntegrationSettings`]' fields (the same
/// schema with nothing required), plus a write-only `api_key`. Derived from the settings
/// so the two cannot disagree.
pub struct IntegrationUpdate;

impl PartialSchema for IntegrationUpdate {
    fn schema() -> RefOr<Schema> {
        let mut schema = IntegrationSettings::schema();
        if let RefOr::T(Schema::Object(object)) = &mut schema {
            object.required.clear();
            object.description = Some(
                "Any of the settings (omitted ones stay as they are), and optionally a new `api_key`, checked with keyCRM before it is saved.".into(),
            );
            object.properties.insert(
                "api_key".into(),
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length(Some(1))
                    .max_length(Some(512))
                    .pattern(Some(r"^\s*\S+\s*$"))
                    .description(Some("A new keyCRM API key (write-only)."))
                    .into(),
            );
        }
        schema
    }
}

impl ToSchema for IntegrationUpdate {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("IntegrationUpdate")
    }
}
