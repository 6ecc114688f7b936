//! The OpenAPI document, served at `/api/v1/openapi.json`. Paths and schemas are collected
//! from the routes as they are mounted (`utoipa-actix-web`), so a handler cannot be served
//! without being documented; this module adds what routes cannot say: the answers every
//! operation can give (bad JSON, no token, database down...), that no text holds NUL,
//! which keyCRM URLs this deployment allows, and which methods a known path takes.

use std::borrow::Cow;

use sklad_db::integrations::IntegrationSettings;
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayItems, ObjectBuilder, Schema, SchemaType, Type,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

use crate::input::{NO_NUL, api_key_pattern};

#[derive(OpenApi)]
#[openapi(
    info(title = "sklad admin API", description = "Stock and production service with a two-way keyCRM integration."),
    servers((url = "/api/v1")),
    // Used only by a query parameter, which refers to it without adding it.
    components(schemas(sklad_domain::spreadsheet::SheetFormat)),
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

/// What the mounted routes' document does not know on its own; applied by
/// [`crate::openapi`].
pub struct Deployment<'a> {
    /// `keycrm.allowed_base_urls`: the only values `base_url` may take.
    pub allowed_base_urls: &'a [String],
}

/// Where one answer's id goes next: (operation, status, link name, target operation,
/// where the id is in the answer). Clients and the contract test's stateful phase follow
/// them.
const LINKS: &[(&str, &str, &str, &str, &str)] = &[
    (
        "create_warehouse",
        "201",
        "UpdateWarehouse",
        "update_warehouse",
        "$response.body#/id",
    ),
    (
        "list_warehouses",
        "200",
        "UpdateWarehouse",
        "update_warehouse",
        "$response.body#/data/0/id",
    ),
    (
        "create_product",
        "201",
        "UpdateProduct",
        "update_product",
        "$response.body#/id",
    ),
    (
        "list_products",
        "200",
        "UpdateProduct",
        "update_product",
        "$response.body#/data/0/id",
    ),
    (
        "create_movement",
        "201",
        "GetMovement",
        "get_movement",
        "$response.body#/id",
    ),
    (
        "list_movements",
        "200",
        "GetMovement",
        "get_movement",
        "$response.body#/data/0/id",
    ),
    (
        "create_movement",
        "201",
        "ReverseMovement",
        "reverse_movement",
        "$response.body#/id",
    ),
    (
        "list_orders",
        "200",
        "GetOrder",
        "get_order",
        "$response.body#/data/0/id",
    ),
    (
        "list_orders",
        "200",
        "ShipOrder",
        "ship_order",
        "$response.body#/data/0/id",
    ),
    (
        "start_sync_job",
        "202",
        "GetSyncJob",
        "get_sync_job",
        "$response.body#/id",
    ),
    (
        "start_sync_job",
        "202",
        "CancelSyncJob",
        "cancel_sync_job",
        "$response.body#/id",
    ),
    (
        "list_sync_jobs",
        "200",
        "GetSyncJob",
        "get_sync_job",
        "$response.body#/data/0/id",
    ),
    (
        "start_catalogue_import",
        "202",
        "GetCatalogueImport",
        "get_catalogue_import",
        "$response.body#/id",
    ),
    (
        "start_catalogue_import",
        "202",
        "CancelCatalogueImport",
        "cancel_catalogue_import",
        "$response.body#/id",
    ),
    (
        "issue_admin_token",
        "201",
        "RevokeAdminToken",
        "revoke_admin_token",
        "$response.body#/id",
    ),
    (
        "create_production_order",
        "201",
        "GetProductionOrder",
        "get_production_order",
        "$response.body#/id",
    ),
    (
        "create_production_order",
        "201",
        "ReleaseProductionOrder",
        "release_production_order",
        "$response.body#/id",
    ),
    (
        "create_production_order",
        "201",
        "CompleteProductionOrder",
        "complete_production_order",
        "$response.body#/id",
    ),
    (
        "create_production_order",
        "201",
        "CancelProductionOrder",
        "cancel_production_order",
        "$response.body#/id",
    ),
    (
        "list_production_orders",
        "200",
        "GetProductionOrder",
        "get_production_order",
        "$response.body#/data/0/id",
    ),
    (
        "list_production_orders",
        "200",
        "ReleaseProductionOrder",
        "release_production_order",
        "$response.body#/data/0/id",
    ),
    (
        "list_production_orders",
        "200",
        "CompleteProductionOrder",
        "complete_production_order",
        "$response.body#/data/0/id",
    ),
    (
        "list_products",
        "200",
        "GetBom",
        "get_bom",
        "$response.body#/data/0/id",
    ),
    (
        "list_products",
        "200",
        "Makeable",
        "makeable",
        "$response.body#/data/0/id",
    ),
];

/// The document as served. utoipa 5 writes a link's fields in snake case
/// (`operation_id`, `request_body`); OpenAPI spells them `operationId`, `requestBody`.
pub fn to_json(doc: &utoipa::openapi::OpenApi) -> serde_json::Result<String> {
    let mut value = serde_json::to_value(doc)?;
    if let Some(paths) = value.get_mut("paths").and_then(|p| p.as_object_mut()) {
        let links = paths
            .values_mut()
            .filter_map(|item| item.as_object_mut())
            .flat_map(|item| item.values_mut())
            .filter_map(|operation| operation.get_mut("responses")?.as_object_mut())
            .flat_map(|answers| answers.values_mut())
            .filter_map(|answer| answer.get_mut("links")?.as_object_mut())
            .flat_map(|links| links.values_mut())
            .filter_map(|link| link.as_object_mut());
        for link in links {
            for (snake, camel) in [
                ("operation_id", "operationId"),
                ("operation_ref", "operationRef"),
                ("request_body", "requestBody"),
            ] {
                if let Some(v) = link.remove(snake) {
                    link.insert(camel.to_owned(), v);
                }
            }
        }
    }
    serde_json::to_string_pretty(&value)
}

fn add_links(operation: &mut Operation) {
    let Some(id) = operation.operation_id.clone() else {
        return;
    };
    for (from, status, name, to, id_at) in LINKS.iter().filter(|link| link.0 == id) {
        debug_assert_eq!(*from, id);
        if let Some(RefOr::T(answer)) = operation.responses.responses.get_mut(*status) {
            answer.links.insert(
                (*name).to_owned(),
                LinkBuilder::new()
                    .operation_id(*to)
                    .parameter("id", *id_at)
                    .build()
                    .into(),
            );
        }
    }
}

impl Modify for Deployment<'_> {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for operation in operations(item).into_iter().flatten() {
                add_common_answers(operation);
                add_links(operation);
                crate::examples::add(operation);
                for parameter in operation.parameters.iter_mut().flatten() {
                    if let Some(RefOr::T(schema)) = &mut parameter.schema {
                        // A query or path value is text or absent, never JSON `null`.
                        not_null(schema);
                        no_nul(schema);
                    }
                }
            }
        }
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        for schema in components.schemas.values_mut() {
            if let RefOr::T(schema) = schema {
                no_nul(schema);
            }
        }
        // utoipa leaves serde's `deny_unknown_fields` off the variants of a tagged enum; the
        // server refuses unknown fields there as everywhere.
        if let Some(RefOr::T(Schema::OneOf(kinds))) = components.schemas.get_mut("NewMovement") {
            for kind in &mut kinds.items {
                if let RefOr::T(Schema::Object(kind)) = kind {
                    kind.additional_properties =
                        Some(Box::new(AdditionalProperties::FreeForm(false)));
                }
            }
        }
        if let Some(RefOr::T(Schema::Object(update))) = components
            .schemas
            .get_mut(IntegrationUpdate::name().as_ref())
            && let Some(RefOr::T(Schema::Object(base_url))) = update.properties.get_mut("base_url")
        {
            base_url.pattern = None;
            base_url.enum_values = Some(
                self.allowed_base_urls
                    .iter()
                    .map(|url| url.trim().trim_end_matches('/').into())
                    .collect(),
            );
        }
    }
}

fn operations(item: &mut PathItem) -> [Option<&mut Operation>; 8] {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.options.as_mut(),
        item.head.as_mut(),
        item.patch.as_mut(),
        item.trace.as_mut(),
    ]
}

/// The answers sklad's extractors and error mapping give any operation that has what they
/// look at; an operation's own description of a status wins.
fn add_common_answers(operation: &mut Operation) {
    let has = |place: ParameterIn| {
        operation
            .parameters
            .iter()
            .flatten()
            .any(|p| p.parameter_in == place)
    };
    let (path, query) = (has(ParameterIn::Path), has(ParameterIn::Query));
    let body = operation.request_body.is_some();
    let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
    let answers = [
        (
            body || path || query,
            "400",
            "The request cannot be read: malformed JSON, or a parameter of the wrong type.",
        ),
        (
            secured,
            "401",
            "No valid admin token: send `Authorization: Bearer <token>`.",
        ),
        (path, "404", "Nothing of that id in this account."),
        (body, "413", "The body is larger than 1 MiB."),
        (body, "415", "The body is not `application/json`."),
        (
            body || query,
            "422",
            "A value breaks a rule of the schema; `error.message` names it.",
        ),
        (
            secured,
            "429",
            "Too many failed authentications from this address (`too_many_attempts`), or for operations that ask keyCRM, its request budget spent (`keycrm_budget_spent`); `Retry-After` says when to come back.",
        ),
        (true, "503", "The database is unavailable; retry later."),
    ];
    for (applies, status, description) in answers {
        if applies {
            operation
                .responses
                .responses
                .entry(status.to_owned())
                .or_insert_with(|| error_answer(description));
        }
    }
}

fn error_answer(description: &str) -> RefOr<utoipa::openapi::Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
        .into()
}

fn not_null(schema: &mut Schema) {
    if let Schema::Object(object) = schema
        && let SchemaType::Array(types) = &object.schema_type
        && let [only] = types
            .iter()
            .filter(|t| **t != Type::Null)
            .collect::<Vec<_>>()[..]
    {
        object.schema_type = SchemaType::Type(only.clone());
    }
}

/// Every text without its own format, pattern or set of values says it holds no NUL
/// (PostgreSQL cannot store one; the API refuses it with 422).
fn no_nul(schema: &mut Schema) {
    match schema {
        Schema::Object(object) => {
            let text = match &object.schema_type {
                SchemaType::Type(t) => *t == Type::String,
                SchemaType::Array(types) => types.contains(&Type::String),
                SchemaType::AnyValue => false,
            };
            if text
                && object.format.is_none()
                && object.pattern.is_none()
                && object.enum_values.is_none()
            {
                object.pattern = Some(NO_NUL.into());
            }
            for property in object.properties.values_mut() {
                if let RefOr::T(property) = property {
                    no_nul(property);
                }
            }
        }
        Schema::Array(array) => {
            if let ArrayItems::RefOrSchema(items) = &mut array.items
                && let RefOr::T(items) = items.as_mut()
            {
                no_nul(items);
            }
        }
        Schema::OneOf(one_of) => one_of.items.iter_mut().for_each(inline_no_nul),
        Schema::AllOf(all_of) => all_of.items.iter_mut().for_each(inline_no_nul),
        Schema::AnyOf(any_of) => any_of.items.iter_mut().for_each(inline_no_nul),
        _ => {}
    }
}

fn inline_no_nul(schema: &mut RefOr<Schema>) {
    if let RefOr::T(schema) = schema {
        no_nul(schema);
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
            object.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
            object.description = Some(
                "Any of the settings (omitted ones stay as they are), and optionally a new `api_key`, checked with keyCRM before it is saved.".into(),
            );
            object.properties.insert(
                "api_key".into(),
                ObjectBuilder::new()
                    .schema_type(SchemaType::Array(vec![Type::String, Type::Null]))
                    .max_length(Some(512))
                    .pattern(Some(api_key_pattern()))
                    .description(Some(
                        "A new keyCRM API key (write-only): visible ASCII, at most 512 characters with the white space around it, which is dropped. `null`: keep the saved key.",
                    ))
                    .into(),
            );
            object.properties.insert(
                "overwrite_uncounted".into(),
                ObjectBuilder::new()
                    .schema_type(SchemaType::Array(vec![Type::Boolean, Type::Null]))
                    .description(Some(
                        "A confirmation for this request only (never stored): switching `stock_push_enabled` on sends sklad's quantities, zeros included, even for SKUs keyCRM holds that sklad never counted. Without it (and without a take-over) that switch answers 409 `stock_not_taken_over`.",
                    ))
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

/// The methods each documented path takes, to answer 405 (with `Allow`) instead of 404
/// when a known path is called with another method.
#[derive(Debug, Clone, Default)]
pub struct KnownPaths {
    paths: Vec<(Vec<String>, Vec<&'static str>)>,
}

impl KnownPaths {
    /// The paths of `doc`, under `base`.
    pub fn of(doc: &utoipa::openapi::OpenApi, base: &str) -> Self {
        let paths = doc
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let segments = format!("{base}{path}")
                    .split('/')
                    .map(str::to_owned)
                    .collect();
                let methods = [
                    ("GET", item.get.is_some()),
                    ("PUT", item.put.is_some()),
                    ("POST", item.post.is_some()),
                    ("DELETE", item.delete.is_some()),
                    ("PATCH", item.patch.is_some()),
                ]
                .into_iter()
                .filter_map(|(method, present)| present.then_some(method))
                .collect();
                (segments, methods)
            })
            .collect();
        Self { paths }
    }

    /// The methods `path` takes, if it is a documented path (`{id}` matches any segment).
    pub fn methods(&self, path: &str) -> Option<Vec<&'static str>> {
        let asked: Vec<&str> = path.split('/').collect();
        let mut methods: Vec<&'static str> = self
            .paths
            .iter()
            .filter(|(segments, _)| {
                segments.len() == asked.len()
                    && segments.iter().zip(&asked).all(|(known, asked)| {
                        known == asked || (known.starts_with('{') && !asked.is_empty())
                    })
            })
            .flat_map(|(_, methods)| methods.iter().copied())
            .collect();
        methods.sort_unstable();
        methods.dedup();
        (!methods.is_empty()).then_some(methods)
    }
}
