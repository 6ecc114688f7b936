//! Bearer-token authentication: every handler that takes [`AccountId`] is scoped to the
//! token's account, so one account can never name another's data.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};
use uuid::Uuid;

use crate::ApiState;
use crate::error::ApiError;

/// The account the request's admin token belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountId(pub Uuid);

impl FromRequest for AccountId {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.split_once(' ')?;
                scheme
                    .eq_ignore_ascii_case("bearer")
                    .then(|| token.trim().to_owned())
            });
        let state = req.app_data::<web::Data<ApiState>>().cloned();
        let client = req.peer_addr().map(|a| a.ip());
        let span = req
            .extensions()
            .get::<tracing_actix_web::RootSpan>()
            .map(|root| (*root).clone());
        Box::pin(async move {
            let Some(state) = state else {
                return Err(ApiError::unauthorized());
            };
            if let Some(wait) = state.throttle.waiting(client) {
                return Err(ApiError::too_many_attempts(wait));
            }
            let Some(token) = token.filter(|t| !t.is_empty()) else {
                return Err(refused(&state, client));
            };
            let mut conn = state.db.conn().await?;
            match sklad_db::accounts::authenticate_admin(&mut conn, &token).await? {
                Some(account) => {
                    if let Some(span) = span {
                        span.record("account_id", tracing::field::display(account));
                    }
                    Ok(AccountId(account))
                }
                None => Err(refused(&state, client)),
            }
        })
    }
}

/// A failed attempt: 401, or 429 once the address has spent its allowance.
fn refused(state: &ApiState, client: Option<std::net::IpAddr>) -> ApiError {
    match state.throttle.failed(client) {
        Some(wait) => ApiError::too_many_attempts(wait),
        None => ApiError::unauthorized(),
    }
}
