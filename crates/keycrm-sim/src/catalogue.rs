//! A generated catalogue of any size, with stock per warehouse: the moving-in tests and the
//! catalogue bench start from it.

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::loose;
use crate::state::{Offer, Property, State, Warehouse};

/// A generated catalogue: `offers` offers (products of up to six variants), each with a
/// quantity in every listed warehouse; a few have no SKU, a few a barcode, a few archived,
/// as a real shop's catalogue does.
#[derive(Debug, Clone, Deserialize)]
pub struct CatalogueSpec {
    pub offers: usize,
    #[serde(default = "CatalogueSpec::default_warehouses")]
    pub warehouses: Vec<i64>,
    #[serde(default)]
    pub seed: u64,
    /// Quantities are 0..=stock_max.
    #[serde(default = "CatalogueSpec::default_stock_max")]
    pub stock_max: u32,
}

impl CatalogueSpec {
    fn default_warehouses() -> Vec<i64> {
        vec![1]
    }

    fn default_stock_max() -> u32 {
        50
    }
}

impl State {
    /// Adds a generated catalogue (see [`CatalogueSpec`]); returns the offers added.
    pub fn generate_catalogue(&mut self, spec: &CatalogueSpec) -> usize {
        const SIZES: [&str; 3] = ["S", "M", "L"];
        const COLOURS: [(&str, &str); 2] = [("білий", "W"), ("чорний", "B")];
        for w in &spec.warehouses {
            self.warehouses.entry(*w).or_insert_with(|| Warehouse {
                id: *w,
                name: format!("Склад {w}"),
            });
        }
        let mut random = spec.seed ^ 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            random ^= random << 13;
            random ^= random >> 7;
            random ^= random << 17;
            random
        };
        let mut added = 0;
        let mut product_id = 700_000 + self.next_id;
        while added < spec.offers {
            product_id += 1;
            let name = format!("Товар {product_id}");
            for (colour, code) in COLOURS {
                for size in SIZES {
                    if added == spec.offers {
                        break;
                    }
                    let id = self.next_id();
                    let loose = id % 97 == 0;
                    let mut offer = Offer::plain(
                        id,
                        product_id,
                        if loose {
                            String::new()
                        } else {
                            format!("G{product_id}-{code}-{size}")
                        },
                        name.clone(),
                        Decimal::from(100 + next() % 900),
                    );
                    offer.properties = vec![
                        Property {
                            name: "Колір".into(),
                            value: colour.into(),
                        },
                        Property {
                            name: "Розмір".into(),
                            value: size.into(),
                        },
                    ];
                    offer.purchased_price = Decimal::from(50 + next() % 300);
                    offer.barcode = (id % 13 == 0).then(|| format!("482{id:010}"));
                    offer.unit = Some("шт".into());
                    offer.archived = id % 50 == 0;
                    for w in &spec.warehouses {
                        let q = next() % (u64::from(spec.stock_max) + 1);
                        self.stocks.insert((*w, id), Decimal::from(q));
                    }
                    self.offers.insert(id, offer);
                    added += 1;
                }
            }
        }
        added
    }
}

impl Offer {
    /// An offer with only what every seeded offer has.
    pub fn plain(id: i64, product_id: i64, sku: String, name: String, price: Decimal) -> Self {
        Self {
            id,
            product_id,
            sku,
            name,
            price,
            properties: Vec::new(),
            purchased_price: Decimal::ZERO,
            barcode: None,
            unit: None,
            archived: false,
        }
    }

    /// How `GET /offers` shows it (`with_product`: `include=product`).
    pub fn render(&self, quantity: Decimal, with_product: bool) -> Value {
        let mut v = json!({
            "id": self.id, "product_id": self.product_id, "sku": self.sku,
            "barcode": self.barcode,
            "price": loose::decimal(self.id, "price", self.price),
            "purchased_price": loose::decimal(self.id, "purchased_price", self.purchased_price),
            "quantity": loose::decimal(self.id, "quantity", quantity),
            "properties": self.properties,
        });
        if with_product && let Some(obj) = v.as_object_mut() {
            obj.insert(
                "product".into(),
                json!({"id": self.product_id, "name": self.name, "unit_type": self.unit,
                       "is_archived": self.archived, "has_offers": true}),
            );
        }
        v
    }
}
