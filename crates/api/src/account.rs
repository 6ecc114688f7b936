//! How the account's times and money are shown (the console's dates and amounts): its time
//! zone, an IANA name from the tz database, and its currency, an ISO 4217 code.

use std::borrow::Cow;

use actix_web::{HttpResponse, get, patch, web};
use serde::{Deserialize, Deserializer, Serialize};
use sklad_db::accounts::Display;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

use crate::ApiState;
use crate::auth::AccountId;
use crate::error::{ApiError, ErrorBody};
use crate::json::Json;

/// A time zone of the tz database, by its IANA name (`Europe/Kyiv`).
#[derive(Debug, Clone, Copy)]
pub struct TimeZone(pub chrono_tz::Tz);

impl<'de> Deserialize<'de> for TimeZone {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse::<chrono_tz::Tz>().map(TimeZone).map_err(|_| {
            serde::de::Error::custom("time_zone must be a time zone name such as Europe/Kyiv")
        })
    }
}

impl PartialSchema for TimeZone {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())))
            .description(Some("A time zone of the tz database, by its IANA name."))
            .into()
    }
}

impl ToSchema for TimeZone {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("TimeZone")
    }
}

/// An ISO 4217 currency code: three capital letters (`UAH`).
#[derive(Debug, Clone)]
pub struct Currency(String);

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Currency(code))
        } else {
            Err(serde::de::Error::custom(
                "currency must be three capital letters such as UAH",
            ))
        }
    }
}

impl PartialSchema for Currency {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^[A-Z]{3}$"))
            .description(Some("An ISO 4217 currency code: three capital letters."))
            .into()
    }
}

impl ToSchema for Currency {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Currency")
    }
}

/// How the account's times and money are shown.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DisplayView {
    #[schema(example = "Europe/Kyiv")]
    pub time_zone: String,
    #[schema(example = "UAH")]
    pub currency: String,
}

impl From<Display> for DisplayView {
    fn from(d: Display) -> Self {
        Self {
            time_zone: d.time_zone,
            currency: d.currency,
        }
    }
}

/// A change to how times and money are shown; omitted fields stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisplayChange {
    pub time_zone: Option<TimeZone>,
    pub currency: Option<Currency>,
}

/// The account's time zone and currency.
#[utoipa::path(tag = "Account", responses((status = 200, body = DisplayView), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
#[get("/account/display")]
pub async fn get_display(
    state: web::Data<ApiState>,
    account: AccountId,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.conn().await?;
    let found = sklad_db::accounts::display(&mut conn, account.0)
        .await?
        .ok_or_else(|| ApiError::not_found("no such account"))?;
    Ok(HttpResponse::Ok().json(DisplayView::from(found)))
}

/// Changes the account's time zone or currency (what the console shows times and money in).
#[utoipa::path(tag = "Account", request_body = DisplayChange,
    responses((status = 200, body = DisplayView), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
#[patch("/account/display")]
pub async fn patch_display(
    state: web::Data<ApiState>,
    account: AccountId,
    body: Json<DisplayChange>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(change(&state, account, body.into_inner()).await?))
}

/// Changes the display (the API's and the console's one way).
pub async fn change(
    state: &ApiState,
    account: AccountId,
    change: DisplayChange,
) -> Result<DisplayView, ApiError> {
    let mut conn = state.db.conn().await?;
    let current = sklad_db::accounts::display(&mut conn, account.0)
        .await?
        .ok_or_else(|| ApiError::not_found("no such account"))?;
    let wanted = Display {
        time_zone: change
            .time_zone
            .map_or(current.time_zone, |tz| tz.0.name().to_owned()),
        currency: change.currency.map_or(current.currency, |c| c.0),
    };
    let saved = sklad_db::accounts::set_display(&mut conn, account.0, &wanted)
        .await?
        .ok_or_else(|| ApiError::not_found("no such account"))?;
    Ok(DisplayView::from(saved))
}
