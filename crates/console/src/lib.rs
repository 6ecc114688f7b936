//! The web console: the screens a shop owner uses, server-rendered from askama templates
//! (checked at compile time) with a vendored htmx for live parts. It is a second face of
//! the same operations the REST API runs: each screen calls the functions the API's
//! handlers call, scoped to the signed-in account exactly like a bearer token.
//!
//! Sign-in takes an admin token (`sklad account token create` prints one) and opens a
//! session: a random id in an HttpOnly, SameSite=Strict cookie (Secure over https), stored
//! hashed and tied to that token, so revoking the token signs its browsers out at once.
//! Every form carries the session's CSRF token. Text comes from [`i18n`] (English and
//! Ukrainian), never from the templates.

mod account;
mod errors;
mod form;
mod i18n;
mod integration;
mod moving_in;
mod orders;
mod production;
mod products;
mod section;
mod session;
mod status;
mod stock;
mod stock_keycrm;
mod sync;
mod today;
mod views;
mod warehouses;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError, web};
use askama::Template;

pub use i18n::{Lang, Text};
pub use section::Section;
pub use session::Console;

use sklad_api::ApiState;
use sklad_api::error::ApiError;

/// What every page shows around its content.
pub struct Frame {
    pub t: &'static Text,
    pub lang: Lang,
    /// Echoed by every form of the page.
    pub csrf: String,
    /// The screen, for the menu.
    pub section: Section,
    /// This page's path and query: the language switch comes back here.
    pub here: String,
    pub notice: Option<Notice>,
    /// The account's time zone and currency.
    pub shown: session::Shown,
}

impl Frame {
    /// A moment in the account's time zone, the zone named (`2026-12-07 09:12 EET`).
    pub fn at(&self, at: &chrono::DateTime<chrono::Utc>) -> String {
        at.with_timezone(&self.shown.zone)
            .format("%Y-%m-%d %H:%M %Z")
            .to_string()
    }

    /// An amount of money with two decimals and the account's currency (`1250.50 UAH`).
    pub fn money(&self, amount: &rust_decimal::Decimal) -> String {
        format!("{} {}", money_text(*amount), self.shown.currency)
    }

    /// The menu's groups.
    pub fn groups(&self) -> Vec<section::MenuItem> {
        section::groups(self.t, self.section)
    }

    /// The screens of the current group.
    pub fn tabs(&self) -> Vec<section::MenuItem> {
        section::tabs(self.t, self.section)
    }

    /// The language switch's target: the other language, coming back here (or, after a
    /// form, to the section's screen).
    pub fn switch_href(&self) -> String {
        let other = match self.lang {
            Lang::En => Lang::Uk,
            Lang::Uk => Lang::En,
        };
        let back = if self.here.is_empty() {
            self.section.path()
        } else {
            &self.here
        };
        format!(
            "/lang/{}?back={}",
            other.code(),
            url::form_urlencoded::byte_serialize(back.as_bytes()).collect::<String>()
        )
    }
}

/// An amount with two decimals (more when it has them: a price of 0.125 stays exact).
pub fn money_text(amount: rust_decimal::Decimal) -> String {
    let normal = amount.normalize();
    if normal.scale() <= 2 {
        format!("{:.2}", normal)
    } else {
        normal.to_string()
    }
}

/// A message at the top of a page: what just happened, or why it did not.
pub enum Notice {
    Done(String),
    Failed(String),
    /// A refused form: why, and the field it is about (the page's script shows the reason
    /// next to that field too).
    Refused {
        text: String,
        field: Option<String>,
    },
}

impl Notice {
    pub fn is_error(&self) -> bool {
        !matches!(self, Notice::Done(_))
    }

    pub fn text(&self) -> &str {
        match self {
            Notice::Done(text) | Notice::Failed(text) | Notice::Refused { text, .. } => text,
        }
    }

    /// The form field a refusal is about (its API name: `name`, `price`, `lines[2].quantity`).
    pub fn field(&self) -> &str {
        match self {
            Notice::Refused {
                field: Some(field), ..
            } => field,
            _ => "",
        }
    }
}

/// An error while serving a screen: shown as a page, never as internals.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No live session: off to the sign-in page.
    #[error("sign in first")]
    SignIn {
        htmx: bool,
        /// The page asked for, where sign-in will lead.
        next: String,
    },
    /// A form without the session's CSRF token.
    #[error("the form is stale or was not sent by this console")]
    Csrf { lang: Lang },
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("template: {0}")]
    Render(#[from] askama::Error),
}

impl From<sklad_db::DbError> for ConsoleError {
    fn from(err: sklad_db::DbError) -> Self {
        ConsoleError::Api(err.into())
    }
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            ConsoleError::SignIn { .. } => StatusCode::SEE_OTHER,
            ConsoleError::Csrf { .. } => StatusCode::FORBIDDEN,
            ConsoleError::Api(err) => err.status,
            ConsoleError::Render(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ConsoleError::SignIn { htmx: true, .. } => HttpResponse::Unauthorized()
                .insert_header(("HX-Redirect", "/sign-in"))
                .finish(),
            ConsoleError::SignIn { htmx: false, next } => {
                let to = if next.is_empty() || next == "/" || !session::is_local_path(next) {
                    "/sign-in".to_owned()
                } else {
                    format!(
                        "/sign-in?next={}",
                        url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
                    )
                };
                HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, to))
                    .finish()
            }
            ConsoleError::Csrf { lang } => {
                let t = lang.text();
                bare_page(StatusCode::FORBIDDEN, *lang, t.csrf_refused)
            }
            ConsoleError::Api(err) => failure(err.clone()),
            ConsoleError::Render(err) => {
                tracing::error!(error = %err, "console template failed");
                failure(ApiError::internal())
            }
        }
    }
}

/// An error answer whose page [`localize_failures`] renders in the request's language (an
/// error knows its code, not who asked).
struct Failure(ApiError);

fn failure(err: ApiError) -> HttpResponse {
    let mut response = bare_page(err.status, Lang::En, &errors::say(Lang::En.text(), &err));
    response.extensions_mut().insert(Failure(err));
    response
}

/// Renders the console's error pages in the language of the request they answer.
async fn localize_failures(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let lang = session::language(req.request());
    let response = next.call(req).await?.map_into_boxed_body();
    let signed_out = response
        .response()
        .error()
        .and_then(|e| e.as_error::<ConsoleError>())
        .is_some_and(|e| matches!(e, ConsoleError::SignIn { .. }));
    if signed_out {
        // Not a failure: someone not signed in is sent to sign in. Answered without the
        // error attached, so the request log records a redirect, not an error.
        tracing::info!(path = %response.request().path(), "not signed in: sent to sign in");
        let mut plain = HttpResponse::build(response.status()).finish();
        for (name, value) in response.headers() {
            plain.headers_mut().append(name.clone(), value.clone());
        }
        return Ok(response.into_response(plain));
    }
    let message = response
        .response()
        .extensions()
        .get::<Failure>()
        .map(|f| errors::say(lang.text(), &f.0));
    let Some(message) = message else {
        return Ok(response);
    };
    let status = response.status();
    Ok(response.into_response(bare_page(status, lang, &message)))
}

/// A console query or path that does not parse: an error page, not the API's JSON.
fn console_query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _| {
        ConsoleError::Api(ApiError::bad_request(format!("invalid query: {err}"))).into()
    })
}

fn console_path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, _| {
        ConsoleError::Api(ApiError::not_found(format!("invalid path: {err}"))).into()
    })
}

#[derive(Template)]
#[template(path = "bare.html")]
struct Bare<'a> {
    t: &'static Text,
    lang: Lang,
    message: &'a str,
}

/// A page with only a message and a way back in (errors outside a screen).
fn bare_page(status: StatusCode, lang: Lang, message: &str) -> HttpResponse {
    let page = Bare {
        t: lang.text(),
        lang,
        message,
    };
    match page.render() {
        Ok(body) => html(status, body),
        Err(_) => HttpResponse::build(status).body(message.to_owned()),
    }
}

/// A rendered page with the console's headers: no caching (pages carry the CSRF token and
/// the webhook link), no framing, no referrer (links must not leak the webhook secret),
/// scripts and styles only from the console itself.
pub fn html(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .body(body)
}

/// Renders `page` as a 200, or as `status` when a form failed.
pub fn render(page: &impl Template, status: StatusCode) -> Result<HttpResponse, ConsoleError> {
    Ok(html(status, page.render()?))
}

/// 303 to a screen after a form succeeded; `done` names the message to show there.
pub fn see_other(path: &str, done: Option<&str>) -> HttpResponse {
    let location = match done {
        Some(done) => {
            let joiner = if path.contains('?') { '&' } else { '?' };
            format!("{path}{joiner}done={done}")
        }
        None => path.to_owned(),
    };
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// The largest refused page kept for Post/Redirect/Get (a bigger one is answered directly).
const REFUSED_PAGE_LIMIT: usize = 4 * 1024 * 1024;

/// Post/Redirect/Get for refused forms too: a form a signed-in browser posted that comes back
/// refused (a 4xx page: the form as typed, with the reasons) is kept for that session and
/// shown after a redirect, so Back and reload never post it again. htmx requests, sign-in
/// and the CSRF refusal are answered as they are.
async fn refusals_after_redirect(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    // The keyCRM settings page shows the live webhook link, a secret stored only encrypted:
    // its refusals are answered directly, never kept.
    let candidate = req.method() == actix_web::http::Method::POST
        && !req.headers().contains_key("HX-Request")
        && !req.path().starts_with("/sign-")
        && !req.path().starts_with("/settings/keycrm");
    let cookie = req
        .cookie(session::SESSION_COOKIE)
        .map(|c| c.value().to_owned());
    let state = req.app_data::<web::Data<ApiState>>().cloned();
    let response = next.call(req).await?.map_into_boxed_body();
    let status = response.status();
    let is_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let (Some(cookie), Some(state)) = (cookie, state) else {
        return Ok(response);
    };
    if !candidate
        || !is_page
        || !status.is_client_error()
        || matches!(status, StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED)
    {
        return Ok(response);
    }
    let (request, answer) = response.into_parts();
    let page = match actix_web::body::to_bytes_limited(answer.into_body(), REFUSED_PAGE_LIMIT).await
    {
        Ok(Ok(page)) => page,
        _ => {
            let too_big = ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the form is too large to show again; send fewer lines at a time",
            );
            return Ok(actix_web::dev::ServiceResponse::new(
                request,
                failure(too_big),
            ));
        }
    };
    let text = String::from_utf8_lossy(&page).into_owned();
    let kept = async {
        let mut conn = state.db.conn().await?;
        sklad_db::console_sessions::keep_refusal(&mut conn, &cookie, status.as_u16(), &text).await
    }
    .await;
    let answer = match kept {
        Ok(Some(id)) => see_other(&format!("/refused/{id}"), None),
        // No session to keep it for, or no database: the page itself.
        _ => html(status, text),
    };
    Ok(actix_web::dev::ServiceResponse::new(request, answer))
}

/// A refused form's page, for the session that posted it (another gets 404).
async fn refused_page(
    req: actix_web::HttpRequest,
    state: web::Data<ApiState>,
    _console: Console,
    id: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let cookie = req
        .cookie(session::SESSION_COOKIE)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    let mut conn = state.db.conn().await?;
    let (status, page) = sklad_db::console_sessions::refusal(&mut conn, &cookie, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("this page is gone; fill the form again"))?;
    Ok(html(
        StatusCode::from_u16(status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY),
        page,
    ))
}

/// The console's headers on every answer under it.
fn security_headers() -> actix_web::middleware::DefaultHeaders {
    actix_web::middleware::DefaultHeaders::new()
        .add((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
}

/// Mounts every console route (everything outside `/api/v1`, `/health` and `/metrics`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("")
            .wrap(actix_web::middleware::from_fn(localize_failures))
            .wrap(actix_web::middleware::from_fn(refusals_after_redirect))
            .wrap(security_headers())
            .app_data(console_query_config())
            .app_data(console_path_config())
            .route("/", web::get().to(today::page))
            .route("/assets/{name}", web::get().to(asset))
            .route("/refused/{id}", web::get().to(refused_page))
            .route("/lang/{code}", web::get().to(session::switch_language))
            .route("/sign-in", web::get().to(session::sign_in_page))
            .route("/sign-in", web::post().to(session::sign_in))
            .route("/sign-out", web::post().to(session::sign_out))
            .configure(integration::configure)
            .configure(account::configure)
            .configure(sync::configure)
            .configure(orders::configure)
            .configure(stock::configure)
            .configure(warehouses::configure)
            .configure(moving_in::configure)
            .configure(products::configure)
            .configure(production::configure)
            .configure(status::configure)
            .configure(stock_keycrm::configure)
            .configure(views::configure),
    );
}

/// The vendored script and the stylesheet, compiled in: the console needs no files at run
/// time and no build step.
async fn asset(name: web::Path<String>) -> HttpResponse {
    let (body, kind): (&'static [u8], &str) = match name.as_str() {
        "htmx.min.js" => (include_bytes!("../assets/htmx.min.js"), "text/javascript"),
        "console.js" => (include_bytes!("../assets/console.js"), "text/javascript"),
        "console.css" => (include_bytes!("../assets/console.css"), "text/css"),
        _ => return HttpResponse::NotFound().finish(),
    };
    HttpResponse::Ok()
        .content_type(kind)
        .insert_header((
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=3600"),
        ))
        .body(body)
}
