//! Optimistic concurrency for edits: every editable resource has a version, a short hash of
//! what an edit can change. A client sends back the version it read; the edit is checked
//! against the current version inside the writing transaction, with the row locked, so of
//! two admins (or the console and the CLI) editing from the same state, the second is told
//! instead of silently overwriting the first.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// The version of a resource's editable state: 16 hex digits of its JSON's SHA-256.
pub fn of(value: &impl Serialize) -> String {
    let json = serde_json::to_vec(value).unwrap_or_default();
    let digest = Sha256::digest(&json);
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// What the client believes the current version is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// Whatever is there (`If-Match: *`): a deliberate overwrite.
    Any,
    /// One of these versions.
    OneOf(Vec<String>),
}

/// The resource changed since the client read it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "it was changed by someone else since you read it (its version is now {current}): \
     read it again and make your change on the new state"
)]
pub struct Stale {
    pub current: String,
}

impl Expected {
    /// Passes when the client's version is the current one.
    pub fn check(&self, current: &str) -> Result<(), Stale> {
        match self {
            Self::Any => Ok(()),
            Self::OneOf(versions) if versions.iter().any(|v| v == current) => Ok(()),
            Self::OneOf(_) => Err(Stale {
                current: current.to_owned(),
            }),
        }
    }
}

/// A product's version: its row changes `updated_at` with every edit and import.
pub fn product(product: &sklad_db::products::Product) -> String {
    of(&(product.fields.id, product.updated_at))
}

/// A warehouse's version: every change (an edit, its mapping) stamps `updated_at`.
pub fn warehouse(warehouse: &sklad_db::warehouses::Warehouse) -> String {
    of(&(warehouse.id, warehouse.updated_at))
}

/// The warehouse mapping's version: which keyCRM warehouse each warehouse sends to.
pub fn mapping<'a>(warehouses: impl IntoIterator<Item = (uuid::Uuid, Option<i64>)> + 'a) -> String {
    let mut pairs: Vec<_> = warehouses.into_iter().collect();
    pairs.sort_unstable();
    of(&pairs)
}

/// The integration settings' version: the settings and which key is saved (not the flags
/// and counters the workers keep on the same row).
pub fn settings(integration: &sklad_db::integrations::Integration) -> String {
    of(&(&integration.settings, &integration.api_key_fingerprint))
}

/// A product's BOM's version: which BOM version is current (each save makes a new one).
pub fn bom(current: Option<uuid::Uuid>) -> String {
    of(&current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_follows_the_content() {
        let a = of(&("Склад 1", true));
        assert_eq!(a.len(), 16);
        assert_eq!(a, of(&("Склад 1", true)));
        assert_ne!(a, of(&("Склад 1", false)));
    }

    #[test]
    fn only_the_current_version_or_any_passes() {
        let current = of(&1);
        assert!(Expected::Any.check(&current).is_ok());
        assert!(
            Expected::OneOf(vec!["x".into(), current.clone()])
                .check(&current)
                .is_ok()
        );
        assert_eq!(
            Expected::OneOf(vec![of(&2)]).check(&current),
            Err(Stale {
                current: current.clone()
            })
        );
    }
}
