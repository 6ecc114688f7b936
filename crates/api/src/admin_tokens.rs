//! The account's admin tokens: listed (never the token itself), issued (shown once, with an
//! optional expiry) and revoked at once.

use actix_web::{HttpResponse, delete, get, post, web};
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use sklad_db::accounts::{AdminToken, RevokeError};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::ApiState;
use crate::auth::AccountId;
use crate::error::{ApiError, ErrorBody};
use crate::input::Name;
use crate::json::Json;
use crate::page::Page;

/// An admin token, without the token.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AdminTokenView {
    pub id: Uuid,
    pub label: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// After this the token is refused (401); `null`: it does not expire.
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<AdminToken> for AdminTokenView {
    fn from(t: AdminToken) -> Self {
        Self {
            id: t.id,
            label: t.label,
            created_at: t.created_at,
            last_used_at: t.last_used_at,
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
        }
    }
}

/// A token to issue.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAdminToken {
    /// What the token is for.
    pub label: Name,
    /// Days until it expires (1–3650); omitted: it does not expire.
    #[schema(minimum = 1, maximum = 3650)]
    pub expires_in_days: Option<i64>,
}

/// A token just issued: `token` is shown now and never again.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IssuedAdminToken {
    pub token: String,
    #[serde(flatten)]
    pub info: AdminTokenView,
}

/// The account's admin tokens, newest first.
#[utoipa::path(tag = "Admin tokens", responses((status = 200, body = Page<AdminTokenView>), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
#[get("/admin-tokens")]
pub async fn list_admin_tokens(
    state: web::Data<ApiState>,
    account: AccountId,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.conn().await?;
    let tokens = sklad_db::accounts::admin_tokens(&mut conn, account.0).await?;
    Ok(HttpResponse::Ok().json(Page::<AdminTokenView>::whole(tokens)))
}

/// Issues another admin token.
#[utoipa::path(tag = "Admin tokens", request_body = NewAdminToken,
    responses((status = 201, body = IssuedAdminToken), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/admin-tokens")]
pub async fn issue_admin_token(
    state: web::Data<ApiState>,
    account: AccountId,
    body: Json<NewAdminToken>,
) -> Result<HttpResponse, ApiError> {
    let expires_at = match body.expires_in_days {
        None => None,
        Some(days) if (1..=3650).contains(&days) => Some(Utc::now() + TimeDelta::days(days)),
        Some(_) => return Err(ApiError::validation("expires_in_days must be 1–3650")),
    };
    let mut conn = state.db.conn().await?;
    let (info, token) = sklad_db::accounts::issue_admin_token(
        &mut conn,
        account.0,
        body.label.as_ref(),
        expires_at,
    )
    .await?;
    tracing::info!(account_id = %account.0, token_id = %info.id, "admin token issued");
    Ok(HttpResponse::Created().json(IssuedAdminToken {
        token,
        info: info.into(),
    }))
}

/// Revokes a token at once (401 from its next request). The account's last working token
/// cannot be revoked (409 `last_token`).
#[utoipa::path(tag = "Admin tokens", params(("id" = Uuid, Path)),
    responses((status = 200, body = AdminTokenView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
#[delete("/admin-tokens/{id}")]
pub async fn revoke_admin_token(
    state: web::Data<ApiState>,
    account: AccountId,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.conn().await?;
    let revoked = sklad_db::accounts::revoke_admin_token(&mut conn, account.0, id.into_inner())
        .await
        .map_err(|err| match err {
            RevokeError::NotFound => ApiError::not_found("no such admin token"),
            err @ RevokeError::LastToken => ApiError::conflict("last_token", err.to_string()),
            RevokeError::Db(db) => db.into(),
        })?;
    tracing::info!(account_id = %account.0, token_id = %revoked.id, "admin token revoked");
    Ok(HttpResponse::Ok().json(AdminTokenView::from(revoked)))
}
