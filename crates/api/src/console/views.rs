//! Pieces every screen uses: choices for selects, paging links.

use actix_web::web;

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
