//! Settings → Time and money: the account's time zone and currency, which every page shows
//! times and amounts in (the same operation as `PATCH /account/display`).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde_json::json;

use super::form::Posted;
use super::integration::failed;
use super::views::input;
use super::views::{Choice, DoneQuery, choices};
use super::{Console, ConsoleError, Frame, Section, Text, render, see_other};
use sklad_api::ApiState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/settings/account", web::get().to(page))
        .route("/settings/account", web::post().to(save));
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    frame: Frame,
    t: &'static Text,
    zones: Vec<Choice>,
    currency: String,
    /// Now, as pages will show it.
    example: String,
}

async fn page(console: Console, done: web::Query<DoneQuery>) -> Result<HttpResponse, ConsoleError> {
    let frame = console.frame_done(Section::Account, done.done.as_deref());
    show(&console, frame, StatusCode::OK)
}

fn show(console: &Console, frame: Frame, status: StatusCode) -> Result<HttpResponse, ConsoleError> {
    let zone = console.shown.zone.name().to_owned();
    let example = format!(
        "{} · {}",
        frame.at(&chrono::Utc::now()),
        frame.money(&rust_decimal::Decimal::new(125050, 2))
    );
    let page = AccountPage {
        t: console.t(),
        zones: choices(
            chrono_tz::TZ_VARIANTS
                .iter()
                .map(|tz| (tz.name().to_owned(), tz.name().to_owned())),
            &[zone],
        ),
        currency: console.shown.currency.clone(),
        example,
        frame,
    };
    render(&page, status)
}

async fn save(state: web::Data<ApiState>, posted: Posted) -> Result<HttpResponse, ConsoleError> {
    let form = &posted.form;
    let saved = async {
        let body = input(json!({
            "time_zone": form.get("time_zone").unwrap_or(""),
            "currency": form.get("currency").unwrap_or("").to_uppercase(),
        }))?;
        sklad_api::account::change(&state, posted.console.account, body).await
    }
    .await;
    match saved {
        Ok(_) => Ok(see_other("/settings/account", Some("saved"))),
        Err(err) => {
            let console = &posted.console;
            let frame = console.frame(Section::Account, Some(failed(console.t(), &err)));
            show(console, frame, err.status)
        }
    }
}
