//! Signing in and out, the session extractor every screen takes, and the language switch.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, dev::Payload, web};
use askama::Template;
use serde::Deserialize;

use super::form::Posted;
use super::i18n::{Lang, Text};
use super::{ConsoleError, Frame, Notice, Section, render, see_other};
use sklad_api::ApiState;
use sklad_api::auth::AccountId;

/// The session cookie: a random id, only its hash is stored.
pub const SESSION_COOKIE: &str = "sklad_session";
/// The sign-in form's own CSRF token (double submit): there is no session to hold it yet.
const SIGN_IN_COOKIE: &str = "sklad_sign_in";
/// The chosen language, when the owner switched it.
pub const LANG_COOKIE: &str = "sklad_lang";

/// A signed-in browser: its account (every query is scoped to it), the CSRF token its forms
/// echo, and the language it reads.
#[derive(Debug, Clone)]
pub struct Console {
    pub account: AccountId,
    pub csrf: String,
    pub lang: Lang,
    /// The request's path and query, for links that come back here; empty after a form
    /// (its POST path has no page), where the section's screen stands in.
    pub here: String,
    /// How the account's times and money are shown.
    pub shown: Shown,
}

/// The account's time zone and currency, as pages show times and amounts.
#[derive(Debug, Clone)]
pub struct Shown {
    pub zone: chrono_tz::Tz,
    pub currency: String,
}

impl Shown {
    fn of(display: Option<sklad_db::accounts::Display>) -> Self {
        let (zone, currency) = display.map_or_else(
            || (String::new(), "UAH".to_owned()),
            |d| (d.time_zone, d.currency),
        );
        Self {
            zone: zone.parse().unwrap_or(chrono_tz::Europe::Kyiv),
            currency,
        }
    }
}

impl Console {
    pub fn t(&self) -> &'static Text {
        self.lang.text()
    }

    /// The frame of a page in `section`, with `notice` on top.
    pub fn frame(&self, section: Section, notice: Option<Notice>) -> Frame {
        Frame {
            t: self.t(),
            lang: self.lang,
            csrf: self.csrf.clone(),
            section,
            here: self.here.clone(),
            notice,
            shown: self.shown.clone(),
        }
    }

    /// The frame with the message a redirect named (`?done=…`), if it is one we know.
    pub fn frame_done(&self, section: Section, done: Option<&str>) -> Frame {
        let notice = done
            .and_then(|key| self.t().done(key))
            .map(|text| Notice::Done(text.to_owned()));
        self.frame(section, notice)
    }
}

/// The request's language: the switch's cookie, else the browser's Accept-Language.
pub fn language(req: &HttpRequest) -> Lang {
    if let Some(lang) = req
        .cookie(LANG_COOKIE)
        .and_then(|c| Lang::from_code(c.value()))
    {
        return lang;
    }
    let accept = req
        .headers()
        .get(actix_web::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    Lang::negotiate(accept)
}

impl FromRequest for Console {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let cookie = req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned());
        let htmx = req.headers().contains_key("HX-Request");
        let state = req.app_data::<web::Data<ApiState>>().cloned();
        let lang = language(req);
        // A form's answer comes back on its POST path, which has no page to return to:
        // the language switch then goes to the screen's own address.
        let here = if req.method() != actix_web::http::Method::GET {
            String::new()
        } else {
            match req.query_string() {
                "" => req.path().to_owned(),
                query => format!("{}?{query}", req.path()),
            }
        };
        let span = req
            .extensions()
            .get::<tracing_actix_web::RootSpan>()
            .map(|root| (*root).clone());
        Box::pin(async move {
            let signed_out = || ConsoleError::SignIn {
                htmx,
                next: here.clone(),
            };
            let (Some(cookie), Some(state)) = (cookie, state) else {
                return Err(signed_out());
            };
            let mut conn = state.db.conn().await?;
            let Some(session) = sklad_db::console_sessions::find(&mut conn, &cookie).await? else {
                return Err(signed_out());
            };
            if let Some(span) = span {
                span.record("account_id", tracing::field::display(session.account_id));
            }
            let display = sklad_db::accounts::display(&mut conn, session.account_id).await?;
            Ok(Console {
                account: AccountId(session.account_id),
                csrf: session.csrf_token,
                lang,
                here,
                shown: Shown::of(display),
            })
        })
    }
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    t: &'static Text,
    lang: Lang,
    csrf: String,
    error: Option<&'static str>,
    /// The page asked for before signing in, where sign-in leads.
    next: String,
}

fn sign_in_cookie(value: &str, secure: bool) -> Cookie<'static> {
    Cookie::build(SIGN_IN_COOKIE, value.to_owned())
        .path("/sign-in")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .finish()
}

/// Whether cookies must be `Secure`: the operator says so, or the request came over https
/// (directly or, per `X-Forwarded-Proto`/`Forwarded`, through a proxy).
fn secure(req: &HttpRequest) -> bool {
    req.app_data::<web::Data<ApiState>>()
        .is_some_and(|state| state.console_secure_cookies)
        || req.connection_info().scheme() == "https"
}

fn sign_in_form(
    req: &HttpRequest,
    status: StatusCode,
    error: Option<&'static str>,
    next: &str,
) -> Result<HttpResponse, ConsoleError> {
    let lang = language(req);
    let csrf = sklad_db::crypto::generate_token();
    let mut response = render(
        &SignInPage {
            t: lang.text(),
            lang,
            csrf: csrf.clone(),
            error,
            next: Some(next)
                .filter(|n| is_local_path(n))
                .unwrap_or("/")
                .to_owned(),
        },
        status,
    )?;
    response
        .add_cookie(&sign_in_cookie(&csrf, secure(req)))
        .map_err(|_| ConsoleError::Api(sklad_api::error::ApiError::internal()))?;
    Ok(response)
}

/// Where sign-in leads: the page asked for (`?next=`), or Today.
#[derive(Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// The sign-in form.
pub async fn sign_in_page(
    req: HttpRequest,
    next: web::Query<Next>,
) -> Result<HttpResponse, ConsoleError> {
    sign_in_form(
        &req,
        StatusCode::OK,
        None,
        next.next.as_deref().unwrap_or("/"),
    )
}

#[derive(Deserialize)]
pub struct SignInForm {
    token: String,
    csrf: String,
    next: Option<String>,
}

/// Opens a session for a working admin token.
/// The sign-in form again, 429 with `Retry-After`: this address failed too often.
fn throttled(
    req: &HttpRequest,
    form: &SignInForm,
    wait: std::time::Duration,
) -> Result<HttpResponse, ConsoleError> {
    let t = language(req).text();
    let next = form.next.as_deref().unwrap_or("/");
    let mut page = sign_in_form(
        req,
        StatusCode::TOO_MANY_REQUESTS,
        Some(t.sign_in_throttled),
        next,
    )?;
    if let Ok(value) =
        actix_web::http::header::HeaderValue::from_str(&wait.as_secs().max(1).to_string())
    {
        page.headers_mut()
            .insert(actix_web::http::header::RETRY_AFTER, value);
    }
    Ok(page)
}

pub async fn sign_in(
    req: HttpRequest,
    state: web::Data<ApiState>,
    form: web::Form<SignInForm>,
) -> Result<HttpResponse, ConsoleError> {
    let expected = req.cookie(SIGN_IN_COOKIE).map(|c| c.value().to_owned());
    if !expected.is_some_and(|e| super::form::same_token(&e, &form.csrf)) {
        return Err(ConsoleError::Csrf {
            lang: language(&req),
        });
    }
    let client = req.peer_addr().map(|a| a.ip());
    if let Some(wait) = state.throttle.waiting(client) {
        return throttled(&req, &form, wait);
    }
    let token = form.token.trim();
    let opened = if sklad_domain::webhook::is_token_shaped(token) {
        let mut conn = state.db.conn().await?;
        let lifetime = sklad_runtime::settings::delta(state.console_session_ttl);
        sklad_db::console_sessions::open(&mut conn, token, lifetime).await?
    } else {
        None
    };
    let Some(opened) = opened else {
        if let Some(wait) = state.throttle.failed(client) {
            return throttled(&req, &form, wait);
        }
        let t = language(&req).text();
        let next = form.next.as_deref().unwrap_or("/");
        return sign_in_form(&req, StatusCode::UNAUTHORIZED, Some(t.sign_in_failed), next);
    };
    tracing::info!(account_id = %opened.session.account_id, "console session opened");
    let max_age = (opened.session.expires_at - chrono::Utc::now())
        .num_seconds()
        .max(0);
    let session = Cookie::build(SESSION_COOKIE, opened.cookie)
        .path("/")
        .http_only(true)
        .secure(secure(&req))
        .same_site(SameSite::Strict)
        .max_age(time::Duration::seconds(max_age))
        .finish();
    let mut spent = sign_in_cookie("", secure(&req));
    spent.make_removal();
    let next = form
        .next
        .as_deref()
        .filter(|n| is_local_path(n) && !n.starts_with("/sign-"))
        .unwrap_or("/");
    Ok(HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, next))
        .cookie(session)
        .cookie(spent)
        .finish())
}

/// Ends the session (its row goes; the cookie is cleared).
pub async fn sign_out(
    req: HttpRequest,
    state: web::Data<ApiState>,
    posted: Posted,
) -> Result<HttpResponse, ConsoleError> {
    if let Some(cookie) = req.cookie(SESSION_COOKIE) {
        let mut conn = state.db.conn().await?;
        sklad_db::console_sessions::close(&mut conn, cookie.value()).await?;
    }
    tracing::info!(account_id = %posted.console.account.0, "console session closed");
    let mut gone = Cookie::build(SESSION_COOKIE, "").path("/").finish();
    gone.make_removal();
    Ok(HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, "/sign-in"))
        .cookie(gone)
        .finish())
}

#[derive(Deserialize)]
pub struct Back {
    back: Option<String>,
}

/// A path of this site a redirect may go to: it starts with one `/` and holds only
/// characters a path and query need (no control characters, spaces or backslashes, which
/// browsers strip or reinterpret into another host).
pub fn is_local_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && path.len() <= 2000
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_-.?=&%+~".contains(&b))
}

/// Switches the language and comes back to the page it was chosen on (a path of this site
/// only: never an open redirect).
pub async fn switch_language(code: web::Path<String>, back: web::Query<Back>) -> HttpResponse {
    let Some(lang) = Lang::from_code(&code) else {
        return see_other("/", None);
    };
    let back = back
        .into_inner()
        .back
        .filter(|b| is_local_path(b))
        .unwrap_or_else(|| "/".to_owned());
    let cookie = Cookie::build(LANG_COOKIE, lang.code())
        .path("/")
        .same_site(SameSite::Lax)
        .max_age(time::Duration::days(365))
        .finish();
    HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, back))
        .cookie(cookie)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::is_local_path;

    #[test]
    fn only_paths_of_this_site_are_redirect_targets() {
        assert!(is_local_path("/orders?q=5&show=all"));
        assert!(is_local_path("/"));
        for bad in [
            "//evil.example",
            "/\t/evil.example",
            "/\\evil.example",
            "https://evil.example",
            "/\n",
            "/a b",
            "orders",
            "",
        ] {
            assert!(!is_local_path(bad), "{bad:?}");
        }
    }
}
