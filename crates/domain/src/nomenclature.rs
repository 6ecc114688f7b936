//! How keyCRM order lines become sklad products.
//!
//! - A line with an offer is that offer's product. Its SKU is the offer's, else the line's;
//!   an offer with neither gets `KC-O<offer id>`, stable because the offer id is.
//! - A line without an offer is a one-time product (typed in by hand in keyCRM). Its SKU is the
//!   line's, else `OT-` and a hash of its normalised name, so the same one-time product
//!   arriving again (or replayed) maps to the same product, never a duplicate.
//! - A product with offer properties (colour, size) is named with their values after commas,
//!   in keyCRM's order: "Shirt, white, M". Line-level properties (e.g. engraving text) belong
//!   to that sale, not the variant: they stay on the order line and never name a product.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A name/value property.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Property {
    pub name: String,
    pub value: String,
}

/// Reads stored properties: a list of `{name, value}` (anything else reads as none, and an
/// object as its entries), so an answer always has the one documented shape.
pub fn stored_properties(value: &serde_json::Value) -> Vec<Property> {
    use serde_json::Value;
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    match value {
        Value::Array(items) => items
            .iter()
            .filter_map(|item| {
                Some(Property {
                    name: text(item.get("name")?),
                    value: item.get("value").map(text).unwrap_or_default(),
                })
            })
            .collect(),
        Value::Object(map) => map
            .iter()
            .map(|(name, value)| Property {
                name: name.clone(),
                value: text(value),
            })
            .collect(),
        _ => Vec::new(),
    }
}

crate::text_enum! {
    /// Where a product came from.
    pub enum Origin {
        /// A keyCRM offer (catalogue variant) on an order line.
        KeycrmOffer,
        /// A product typed in by hand on a keyCRM order line.
        KeycrmOneTime,
        /// Entered in sklad.
        Manual,
    }
}

/// What sklad knows about a keyCRM order line's product.
#[derive(Debug, Clone, Default)]
pub struct LineFacts<'a> {
    pub line_name: Option<&'a str>,
    pub line_sku: Option<&'a str>,
    pub offer_id: Option<i64>,
    pub offer_sku: Option<&'a str>,
    /// `true` when the line carries an offer at all.
    pub has_offer: bool,
    pub offer_properties: Vec<Property>,
}

/// The product a line maps to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductIdentity {
    pub sku: String,
    pub base_name: String,
    pub name: String,
    pub properties: Vec<Property>,
    pub origin: Origin,
}

/// Name for a line that has none.
pub const UNNAMED: &str = "Товар без назви";

/// Maps a keyCRM line to its sklad product (see the module docs for the rules).
pub fn identify(line: &LineFacts<'_>) -> ProductIdentity {
    let base_name = clean(line.line_name).unwrap_or(UNNAMED).to_owned();
    if line.has_offer {
        let properties: Vec<Property> = line
            .offer_properties
            .iter()
            .filter(|p| !p.value.trim().is_empty())
            .map(|p| Property {
                name: p.name.trim().to_owned(),
                value: p.value.trim().to_owned(),
            })
            .collect();
        let sku = clean(line.offer_sku)
            .or(clean(line.line_sku))
            .map(str::to_owned)
            .unwrap_or_else(|| match line.offer_id {
                Some(id) => format!("KC-O{id}"),
                None => one_time_sku(&base_name),
            });
        ProductIdentity {
            name: display_name(&base_name, &properties),
            sku,
            base_name,
            properties,
            origin: Origin::KeycrmOffer,
        }
    } else {
        let sku = clean(line.line_sku)
            .map(str::to_owned)
            .unwrap_or_else(|| one_time_sku(&base_name));
        ProductIdentity {
            name: base_name.clone(),
            sku,
            base_name,
            properties: Vec::new(),
            origin: Origin::KeycrmOneTime,
        }
    }
}

/// "Shirt" + [white, M] → "Shirt, white, M". A name that already ends with exactly those
/// values (some shops type them into the product name) is left as it is.
pub fn display_name(base: &str, properties: &[Property]) -> String {
    let values: Vec<&str> = properties
        .iter()
        .map(|p| p.value.trim())
        .filter(|v| !v.is_empty())
        .collect();
    if values.is_empty() {
        return base.to_owned();
    }
    let suffix = values.join(", ");
    if base.ends_with(&format!(", {suffix}")) {
        base.to_owned()
    } else {
        format!("{base}, {suffix}")
    }
}

/// A stable SKU for a one-time product without one: `OT-` + 10 hex digits of the SHA-256 of
/// its name, lower-cased with spaces collapsed.
pub fn one_time_sku(name: &str) -> String {
    let normalised = name
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    let digest = Sha256::digest(normalised.as_bytes());
    let hex: String = digest.iter().take(5).map(|b| format!("{b:02X}")).collect();
    format!("OT-{hex}")
}

fn clean(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prop(name: &str, value: &str) -> Property {
        Property {
            name: name.into(),
            value: value.into(),
        }
    }

    #[test]
    fn an_offer_product_is_named_with_its_property_values() {
        let id = identify(&LineFacts {
            line_name: Some("Shirt"),
            line_sku: Some("line-sku"),
            offer_id: Some(7),
            offer_sku: Some("SH-W-M"),
            has_offer: true,
            offer_properties: vec![prop("Colour", "white"), prop("Size", "M")],
        });
        assert_eq!(id.sku, "SH-W-M", "the offer's SKU wins");
        assert_eq!(id.name, "Shirt, white, M");
        assert_eq!(id.base_name, "Shirt");
        assert_eq!(id.origin, Origin::KeycrmOffer);
        assert_eq!(id.properties.len(), 2);
    }

    #[test]
    fn offer_sku_then_line_sku_then_offer_id() {
        let mut facts = LineFacts {
            line_name: Some("Mug"),
            line_sku: Some(" L-1 "),
            offer_id: Some(42),
            offer_sku: Some(""),
            has_offer: true,
            offer_properties: vec![],
        };
        assert_eq!(identify(&facts).sku, "L-1");
        facts.line_sku = None;
        assert_eq!(identify(&facts).sku, "KC-O42");
    }

    #[test]
    fn one_time_products_get_a_stable_generated_sku() {
        let a = identify(&LineFacts {
            line_name: Some("Gift  wrap"),
            ..LineFacts::default()
        });
        let b = identify(&LineFacts {
            line_name: Some(" gift wrap "),
            ..LineFacts::default()
        });
        let c = identify(&LineFacts {
            line_name: Some("Gift box"),
            ..LineFacts::default()
        });
        assert_eq!(a.sku, b.sku, "same one-time product, same SKU");
        assert_ne!(a.sku, c.sku);
        assert!(a.sku.starts_with("OT-") && a.sku.len() == 13, "{}", a.sku);
        assert_eq!(a.origin, Origin::KeycrmOneTime);
        assert_eq!(a.name, "Gift  wrap");
    }

    #[test]
    fn a_one_time_line_with_its_own_sku_keeps_it() {
        let id = identify(&LineFacts {
            line_name: Some("Engraving"),
            line_sku: Some("ENG-1"),
            ..LineFacts::default()
        });
        assert_eq!(id.sku, "ENG-1");
    }

    #[test]
    fn names_are_not_doubled_and_empty_values_are_skipped() {
        let props = vec![
            prop("Colour", "white"),
            prop("Size", " "),
            prop("Fit", "slim"),
        ];
        assert_eq!(display_name("Shirt", &props), "Shirt, white, slim");
        assert_eq!(
            display_name("Shirt, white, slim", &props),
            "Shirt, white, slim"
        );
        assert_eq!(display_name("Shirt", &[]), "Shirt");
        let unnamed = identify(&LineFacts::default());
        assert_eq!(unnamed.name, UNNAMED);
    }
}
