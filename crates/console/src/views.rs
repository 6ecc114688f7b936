//! Pieces every screen uses: choices for selects, paging links, the "done" message of a
//! redirect, numbers as people type them.

use actix_web::web;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sklad_domain::nomenclature::Property;

use sklad_api::error::ApiError;

/// `?done=…`: the message a redirect after a form names (see `Text::done`).
#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    pub done: Option<String>,
}

/// A number as a person types it ("2,5" or "2.5") as JSON for the API's request types,
/// which then check it like any API input.
pub fn typed_number(text: &str) -> Result<serde_json::Value, ApiError> {
    let text = text.trim().replace(',', ".");
    // A person writes 2,5 or 2.5; "1e3" is a typo more often than a thousand.
    let plain = text
        .char_indices()
        .all(|(i, c)| c.is_ascii_digit() || c == '.' || (i == 0 && c == '-'));
    let parsed: Option<Decimal> = if plain { text.parse().ok() } else { None };
    let parsed = parsed.ok_or_else(|| {
        ApiError::new(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_number",
            format!("{text} is not a number"),
        )
        .with("value", &text)
    })?;
    Ok(serde_json::json!(parsed))
}

#[cfg(test)]
mod tests {
    use super::typed_number;

    #[test]
    fn numbers_are_read_as_people_write_them() {
        assert_eq!(typed_number("2,5").unwrap(), serde_json::json!("2.5"));
        assert_eq!(typed_number(" 2.5 ").unwrap(), serde_json::json!("2.5"));
        assert_eq!(typed_number("7").unwrap(), serde_json::json!("7"));
        for odd in ["1e3", "1E3", "abc", "", "2,5,1", "+3", "0x10", "١٢"] {
            let err = typed_number(odd).unwrap_err();
            assert_eq!(err.code, "invalid_number", "{odd}");
        }
    }
}

/// The API's request body from a form's JSON: the same types, so the same checks (a wrong
/// value is a 422 with the API's message).
pub fn input<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(ApiError::invalid_body)
}

/// Properties as one line: "Colour: white, Size: M".
pub fn properties_text(properties: &[Property]) -> String {
    properties
        .iter()
        .map(|p| format!("{}: {}", p.name, p.value))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A select of the account's warehouses led by "none".
pub fn warehouse_choices(
    none: &str,
    warehouses: &[sklad_db::warehouses::Warehouse],
    selected: &str,
) -> Vec<Choice> {
    std::iter::once(Choice {
        value: String::new(),
        label: none.to_owned(),
        selected: selected.is_empty(),
    })
    .chain(choices(
        warehouses
            .iter()
            .map(|w| (w.id.to_string(), w.name.clone())),
        &[selected.to_owned()],
    ))
    .collect()
}

/// One option of a select or one checkbox of a list.
#[derive(Debug, Clone)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// `(value, label)` pairs as choices, those in `selected` ticked.
pub fn choices(
    items: impl IntoIterator<Item = (String, String)>,
    selected: &[String],
) -> Vec<Choice> {
    items
        .into_iter()
        .map(|(value, label)| Choice {
            selected: selected.contains(&value),
            value,
            label,
        })
        .collect()
}

/// "Previous" and "next" links of a list, keeping its filters.
pub struct Pager {
    pub page: i64,
    pub pages: i64,
    pub total: i64,
    pub previous: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    pub fn new(path: &str, filters: &[(&str, &str)], page: i64, per_page: i64, total: i64) -> Self {
        let pages = ((total + per_page - 1) / per_page.max(1)).max(1);
        let link = |to: i64| {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            for (name, value) in filters.iter().filter(|(_, v)| !v.is_empty()) {
                query.append_pair(name, value);
            }
            query.append_pair("page", &to.to_string());
            format!("{path}?{}", query.finish())
        };
        Self {
            page,
            pages,
            total,
            previous: (page > 1).then(|| link(page - 1)),
            next: (page < pages).then(|| link(page + 1)),
        }
    }
}

pub fn configure(_cfg: &mut web::ServiceConfig) {}
