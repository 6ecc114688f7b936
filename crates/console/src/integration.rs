//! Settings → Integrations → keyCRM: the key, "Enable integration", the webhook link and
//! every setting, saved through the same operation as `PUT /integrations/keycrm`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde_json::{Map, Value, json};

use super::Section;
use super::form::{FormData, Posted};
use super::views::{Choice, DoneQuery, choices, warehouse_choices};
use super::{Console, ConsoleError, Frame, Notice, Text, render, see_other};
use sklad_api::ApiState;
use sklad_api::error::ApiError;
use sklad_api::integrations::{IntegrationView, KeycrmStatus};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/settings/keycrm", web::get().to(page))
        .route("/settings/keycrm", web::post().to(save))
        .route("/settings/keycrm/rotate", web::get().to(confirm_rotate))
        .route("/settings/keycrm/rotate", web::post().to(rotate));
}

/// A list of keyCRM statuses to choose from, and whether keyCRM could be asked.
pub struct Statuses {
    pub all: Vec<KeycrmStatus>,
    /// Why the list is missing (no key yet, keyCRM refused...), already translated.
    pub unavailable: Option<String>,
}

impl Statuses {
    /// keyCRM's statuses (one request per page of them), or why not.
    pub async fn load(state: &ApiState, console: &Console, has_key: bool) -> Self {
        let t = console.t();
        if !has_key {
            return Self {
                all: Vec::new(),
                unavailable: Some(t.statuses_need_key.to_owned()),
            };
        }
        let loaded = async {
            let keycrm = state.client(console.account).await?;
            Ok::<_, ApiError>(keycrm.client.order_statuses().await?)
        }
        .await;
        match loaded {
            Ok(list) => Self {
                all: list.into_iter().map(KeycrmStatus::from).collect(),
                unavailable: None,
            },
            Err(err) => Self {
                all: Vec::new(),
                unavailable: Some(format!(
                    "{} ({})",
                    t.statuses_unavailable,
                    super::errors::say(t, &err)
                )),
            },
        }
    }

    /// The statuses as options, `selected` ticked; ids keyCRM no longer lists stay visible.
    pub fn options(&self, selected: &[i64]) -> Vec<Choice> {
        let mut options: Vec<Choice> = self
            .all
            .iter()
            .map(|s| Choice {
                value: s.id.to_string(),
                label: s.name.clone().unwrap_or_else(|| format!("#{}", s.id)),
                selected: selected.contains(&s.id),
            })
            .collect();
        for id in selected {
            if !self.all.iter().any(|s| s.id == *id) {
                options.push(Choice {
                    value: id.to_string(),
                    label: format!("#{id}"),
                    selected: true,
                });
            }
        }
        options
    }
}

#[derive(Template)]
#[template(path = "integration.html")]
struct IntegrationPage {
    frame: Frame,
    t: &'static Text,
    view: IntegrationView,
    statuses_unavailable: Option<String>,
    archive: Vec<Choice>,
    import: Vec<Choice>,
    ship: Vec<Choice>,
    return_: Vec<Choice>,
    reserve: Vec<Choice>,
    production: Vec<Choice>,
    base_urls: Vec<Choice>,
    warehouses: Vec<Choice>,
    push_quantity: Vec<Choice>,
    /// keyCRM refused the key just pasted: shown next to the field.
    key_error: Option<String>,
    /// keyCRM warehouses whose stock pushes keep failing.
    failing_pushes: usize,
    /// How many messages this account has parked.
    parked: i64,
    /// Ship warehouse rules by keyCRM source: the saved ones, then blank rows.
    rules: Vec<RuleRow>,
}

/// One "orders from this keyCRM source ship from this warehouse" row.
pub struct RuleRow {
    pub source_id: String,
    pub warehouses: Vec<Choice>,
}

async fn page(
    state: web::Data<ApiState>,
    console: Console,
    done: web::Query<DoneQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let frame = console.frame_done(Section::Settings, done.done.as_deref());
    show(&state, &console, frame, None, StatusCode::OK).await
}

async fn show(
    state: &ApiState,
    console: &Console,
    frame: Frame,
    key_error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let t = console.t();
    let (integration, warehouses, failing_pushes) = {
        let mut conn = state.db.conn().await?;
        let integration = sklad_db::integrations::get(&mut conn, console.account.0).await?;
        let warehouses = sklad_db::warehouses::list_active(&mut conn, console.account.0).await?;
        let failing = sklad_db::push_waiting::failing(&mut conn, Some(console.account.0))
            .await?
            .len();
        (integration, warehouses, failing)
    };
    let view = state.view(console.account, integration).await?;
    let statuses = Statuses::load(state, console, view.api_key_set).await;
    let s = &view.settings;
    let mut base_urls = choices(
        state
            .allowed_base_urls
            .iter()
            .map(|u| (u.clone(), u.clone())),
        std::slice::from_ref(&s.base_url),
    );
    if !state.allowed_base_urls.contains(&s.base_url) {
        base_urls.insert(
            0,
            Choice {
                value: s.base_url.clone(),
                label: s.base_url.clone(),
                selected: true,
            },
        );
    }
    let ship_from = warehouse_choices(
        t.none,
        &warehouses,
        &s.ship_warehouse_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
    );
    let push_quantity = choices(
        [
            ("on_hand".to_owned(), t.push_on_hand.to_owned()),
            ("available".to_owned(), t.push_available.to_owned()),
        ],
        &[s.push_quantity.to_string()],
    );
    let parked = {
        let mut conn = state.db.conn().await?;
        sklad_db::parked::count(&mut conn, Some(console.account.0)).await?
    };
    let rule_row = |source_id: String, warehouse: String| RuleRow {
        source_id,
        warehouses: warehouse_choices(t.none, &warehouses, &warehouse),
    };
    let mut rules: Vec<RuleRow> = s
        .ship_source_rules
        .0
        .iter()
        .map(|r| rule_row(r.source_id.to_string(), r.warehouse_id.to_string()))
        .collect();
    rules.extend((0..2).map(|_| rule_row(String::new(), String::new())));
    let page = IntegrationPage {
        archive: statuses.options(&s.archive_status_ids),
        import: statuses.options(&s.import_status_ids),
        ship: statuses.options(&s.ship_status_ids),
        return_: statuses.options(&s.return_status_ids),
        reserve: statuses.options(&s.reserve_status_ids),
        production: statuses.options(&s.production_status_ids),
        statuses_unavailable: statuses.unavailable,
        base_urls,
        warehouses: ship_from,
        push_quantity,
        frame,
        t,
        view,
        key_error,
        failing_pushes,
        parked,
        rules,
    };
    render(&page, status)
}

/// The form as the JSON change `PUT /integrations/keycrm` takes: a blank key field keeps
/// the saved key.
fn change(form: &FormData) -> Result<Map<String, Value>, ApiError> {
    let mut change = Map::new();
    if let Some(key) = form.get("api_key") {
        change.insert("api_key".into(), json!(key));
    }
    if let Some(base_url) = form.get("base_url") {
        change.insert("base_url".into(), json!(base_url));
    }
    for flag in ["enabled", "receive_payments", "keep_product_info"] {
        change.insert(flag.into(), json!(form.checked(flag)));
    }
    for list in [
        "archive_status_ids",
        "import_status_ids",
        "ship_status_ids",
        "return_status_ids",
        "reserve_status_ids",
        "production_status_ids",
    ] {
        change.insert(list.into(), json!(form.ids(list)?));
    }
    change.insert(
        "ship_warehouse_id".into(),
        form.get("ship_warehouse_id")
            .map_or(Value::Null, |id| json!(id)),
    );
    let mut rules = Vec::new();
    for (source, warehouse) in form
        .all("rule_source_id")
        .into_iter()
        .zip(form.all("rule_warehouse_id"))
    {
        if source.is_empty() && warehouse.is_empty() {
            continue;
        }
        let source_id: i64 = source
            .parse()
            .map_err(|_| ApiError::validation(format!("{source} is not a keyCRM source id")))?;
        rules.push(json!({"source_id": source_id, "warehouse_id": warehouse}));
    }
    change.insert("ship_source_rules".into(), Value::Array(rules));
    if let Some(quantity) = form.get("push_quantity") {
        change.insert("push_quantity".into(), json!(quantity));
    }
    if let Some(rpm) = form.get("requests_per_minute") {
        let rpm: i64 = rpm
            .parse()
            .map_err(|_| ApiError::validation("requests_per_minute must be a whole number"))?;
        change.insert("requests_per_minute".into(), json!(rpm));
    }
    Ok(change)
}

/// "Update": saves the form; a key keyCRM refuses is not saved and is shown by its field.
async fn save(state: web::Data<ApiState>, posted: Posted) -> Result<HttpResponse, ConsoleError> {
    let console = &posted.console;
    let saved = match change(&posted.form) {
        Ok(change) => sklad_app::integration::update(
            &state.keycrm,
            console.account.0,
            change,
            &posted.form.version("version"),
        )
        .await
        .map_err(ApiError::from),
        Err(err) => Err(err),
    };
    match saved {
        Ok(_) => Ok(see_other("/settings/keycrm", Some("saved"))),
        Err(err) if err.code == "keycrm_rejected_key" => {
            let t = console.t();
            let frame = console.frame(
                Section::Settings,
                Some(Notice::Failed(t.not_saved.to_owned())),
            );
            let message = super::errors::say(t, &err);
            show(&state, console, frame, Some(message), err.status).await
        }
        Err(err) => {
            let frame = console.frame(Section::Settings, Some(failed(console.t(), &err)));
            show(&state, console, frame, None, err.status).await
        }
    }
}

/// The message of a refused form: what did not happen, and keyCRM's or sklad's reason.
pub fn failed(t: &Text, err: &ApiError) -> Notice {
    Notice::Refused {
        text: format!("{}: {}", t.not_saved, super::errors::say(t, err)),
        field: err.param("field").map(str::to_owned),
    }
}

#[derive(Template)]
#[template(path = "rotate_confirm.html")]
struct RotateConfirm {
    frame: Frame,
    t: &'static Text,
}

/// "Rotate…" asks first: the old link stops, so keyCRM's trigger needs the new one.
async fn confirm_rotate(console: Console) -> Result<HttpResponse, ConsoleError> {
    let page = RotateConfirm {
        frame: console.frame(Section::Settings, None),
        t: console.t(),
    };
    render(&page, StatusCode::OK)
}

/// "Rotate": a new webhook link; the old one stops at once.
async fn rotate(state: web::Data<ApiState>, posted: Posted) -> Result<HttpResponse, ConsoleError> {
    sklad_api::integrations::rotate(&state, posted.console.account).await?;
    Ok(see_other("/settings/keycrm", Some("rotated")))
}
