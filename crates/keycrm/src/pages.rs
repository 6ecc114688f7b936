//! The one way sklad pages through keyCRM, and how a page's orders are read one by one.

use futures::{Stream, TryStreamExt};
use serde_json::Value;

use crate::client::{MAX_PAGE_SIZE, OrderDocument};
use crate::error::KeycrmError;
use crate::models::{Order, Page};

/// keyCRM stops at this page whatever its envelope says, so a lying `last_page` cannot loop.
const PAGE_LIMIT: u32 = 10_000;

/// An order as a page carries it: readable, or not. One order keyCRM sends in a shape sklad
/// cannot read must not sink the 49 others on its page.
#[derive(Debug, Clone)]
pub enum PageOrder {
    Read(Box<OrderDocument>),
    Unreadable {
        /// keyCRM's id, when even that much could be read.
        id: Option<i64>,
        reason: String,
    },
}

impl PageOrder {
    pub fn id(&self) -> Option<i64> {
        match self {
            PageOrder::Read(doc) => Some(doc.order.id),
            PageOrder::Unreadable { id, .. } => *id,
        }
    }
}

/// The one way sklad pages through keyCRM: fetch page `n`, yield it (numbered, in case the
/// envelope leaves `current_page` out), go on while keyCRM says there is a next page.
pub(crate) fn pages<T, F, Fut>(
    first_page: u32,
    fetch: F,
) -> impl Stream<Item = Result<Page<T>, KeycrmError>>
where
    F: Fn(u32) -> Fut,
    Fut: Future<Output = Result<Page<T>, KeycrmError>>,
{
    futures::stream::try_unfold(Some(first_page.max(1)), move |next| {
        let fetched = next.map(&fetch);
        async move {
            let (Some(number), Some(fetched)) = (next, fetched) else {
                return Ok(None);
            };
            let mut page = fetched.await?;
            page.current_page.get_or_insert(i64::from(number));
            let more = page.has_next() && !page.data.is_empty() && number < PAGE_LIMIT;
            Ok(Some((page, more.then_some(number + 1))))
        }
    })
}

/// Every item of every page.
pub(crate) async fn collect<T>(
    stream: impl Stream<Item = Result<Page<T>, KeycrmError>>,
) -> Result<Vec<T>, KeycrmError> {
    stream
        .try_fold(Vec::new(), |mut items, page| async move {
            items.extend(page.data);
            Ok(items)
        })
        .await
}

pub(crate) fn page_query(page: u32, limit: u32) -> Vec<(&'static str, String)> {
    vec![
        ("page", page.max(1).to_string()),
        ("limit", limit.clamp(1, MAX_PAGE_SIZE).to_string()),
    ]
}

/// Reads an order; NUL characters (which PostgreSQL cannot store) are dropped first, from
/// the document kept as well.
pub(crate) fn order_document(mut raw: Value) -> Result<OrderDocument, KeycrmError> {
    strip_nul(&mut raw);
    let order: Order = serde_json::from_value(raw.clone())
        .map_err(|e| KeycrmError::Decode(format!("order: {e}")))?;
    Ok(OrderDocument { order, raw })
}

fn strip_nul(value: &mut Value) {
    match value {
        Value::String(s) if s.contains('\0') => s.retain(|c| c != '\0'),
        Value::Array(items) => items.iter_mut().for_each(strip_nul),
        Value::Object(map) => {
            if map.keys().any(|k| k.contains('\0')) {
                let cleaned: serde_json::Map<String, Value> = std::mem::take(map)
                    .into_iter()
                    .map(|(k, v)| (k.replace('\0', ""), v))
                    .collect();
                *map = cleaned;
            }
            map.values_mut().for_each(strip_nul);
        }
        _ => {}
    }
}
