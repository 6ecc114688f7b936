//! Changing an account's keyCRM integration settings: the API's `PUT` and the CLI's
//! `sklad integration set` both come here, so a setting behaves the same wherever it is set.

use diesel_async::AsyncConnection;
use secrecy::SecretString;
use serde_json::{Map, Value};
use sklad_db::DbError;
use sklad_db::integrations::{Integration, IntegrationSettings};
use sklad_keycrm::{Clients, KeycrmError};
use uuid::Uuid;

use crate::versions::{self, Expected, Stale};

/// Why a change was not saved; nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The change is not shaped like the settings (unknown field, wrong type).
    #[error("{0}")]
    Malformed(String),
    /// A value breaks a rule.
    #[error("{0}")]
    Invalid(String),
    /// Switching sending on would replace keyCRM quantities sklad never counted.
    #[error(
        "keyCRM holds {uncounted} SKUs sklad has never counted; take keyCRM's quantities over first (POST /stock/take-over), or confirm with overwrite_uncounted: true that sklad's quantities, zeros included, should replace them"
    )]
    NotTakenOver { uncounted: usize },
    /// Someone else saved the settings since the client read them.
    #[error(transparent)]
    Stale(#[from] Stale),
    /// keyCRM rejected the key, or could not be asked.
    #[error(transparent)]
    Keycrm(#[from] KeycrmError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for SettingsError {
    fn from(err: diesel::result::Error) -> Self {
        Self::Db(err.into())
    }
}

/// Applies `change` (any subset of [`IntegrationSettings`]' fields, plus `api_key` and the
/// one-request confirmation `overwrite_uncounted`) to the account's settings. A new key is
/// checked with keyCRM before it is saved; switching "send stock balances" on marks every
/// mapped SKU to be pushed, and is refused while keyCRM holds SKUs sklad never counted
/// (unless a take-over was done or `overwrite_uncounted` confirms it).
///
/// `expected` is the settings' version the change was made from ([`versions::settings`]);
/// with [`Expected::Any`] it is the version read here. Either way the save is refused when
/// someone else saved meanwhile (keyCRM is asked in between), so no save is lost.
pub async fn update(
    clients: &Clients,
    account: Uuid,
    mut change: Map<String, Value>,
    expected: &Expected,
) -> Result<Integration, SettingsError> {
    let api_key = match change.remove("api_key") {
        None | Some(Value::Null) => None,
        Some(Value::String(key)) => Some(checked_key(&key)?),
        Some(_) => return Err(SettingsError::Malformed("api_key must be a string".into())),
    };
    let overwrite_uncounted = match change.remove("overwrite_uncounted") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(yes)) => yes,
        Some(_) => {
            return Err(SettingsError::Malformed(
                "overwrite_uncounted must be true or false".into(),
            ));
        }
    };
    let mut conn = clients.db().conn().await?;
    let current = sklad_db::integrations::get(&mut conn, account).await?;
    let read = versions::settings(&current);
    expected.check(&read)?;
    let settings = merged(&current.settings, change)?;
    if !clients.allows(&settings.base_url) {
        return Err(SettingsError::Invalid(format!(
            "base_url {} is not a keyCRM URL this sklad allows; ask its operator (keycrm.allowed_base_urls)",
            settings.base_url
        )));
    }
    if settings.base_url != current.settings.base_url && api_key.is_none() && current.has_api_key()
    {
        // The saved key goes only where it was verified: a new URL needs the key again.
        return Err(SettingsError::Invalid(
            "a new base_url needs the api_key in the same request: it is verified against the new URL".into(),
        ));
    }
    for warehouse in settings.warehouses() {
        if sklad_db::warehouses::get(&mut conn, account, warehouse)
            .await?
            .is_none()
        {
            return Err(SettingsError::Invalid(format!(
                "warehouse {warehouse} (ship_warehouse_id, ship_source_rules) is not a warehouse of this account"
            )));
        }
    }
    if settings.enabled && api_key.is_none() && !current.has_api_key() {
        return Err(SettingsError::Invalid(
            "save a keyCRM API key before enabling the integration".into(),
        ));
    }
    if let Some(key) = &api_key {
        clients
            .verify(&settings.base_url, key, settings.requests_per_minute)
            .await?;
    }
    if settings.stock_push_enabled
        && !current.settings.stock_push_enabled
        && !overwrite_uncounted
        && current.stock_taken_over_at.is_none()
    {
        let client = match &api_key {
            Some(key) => {
                Some(clients.for_key(&settings.base_url, key, settings.requests_per_minute)?)
            }
            None => match clients.for_account(account).await {
                Ok(keycrm) => Some(keycrm.client),
                Err(sklad_keycrm::AccountError::Db(db)) => return Err(SettingsError::Db(db)),
                // No key: nothing can be read from keyCRM, nor sent to it.
                Err(_) => None,
            },
        };
        if let Some(client) = client {
            drop(conn);
            let uncounted = crate::takeover::uncounted(clients.db(), &client, account)
                .await
                .map_err(|e| match e {
                    crate::takeover::TakeOverError::Keycrm(k) => SettingsError::Keycrm(k),
                    crate::takeover::TakeOverError::Db(db) => SettingsError::Db(db),
                    other => SettingsError::Invalid(other.to_string()),
                })?;
            if !uncounted.is_empty() {
                return Err(SettingsError::NotTakenOver {
                    uncounted: uncounted.len(),
                });
            }
            conn = clients.db().conn().await?;
        }
    }
    let secrets = clients.secrets();
    let saved = conn
        .transaction::<_, SettingsError, _>(async |conn| {
            let now = sklad_db::integrations::lock(conn, account).await?;
            Expected::OneOf(vec![read]).check(&versions::settings(&now))?;
            Ok(
                sklad_db::integrations::save(conn, secrets, account, &settings, api_key.as_ref())
                    .await?,
            )
        })
        .await?;
    if saved.settings.stock_push_enabled && !current.settings.stock_push_enabled {
        // Switched on: every mapped SKU's sum goes to keyCRM.
        sklad_db::stock_sync::mark_all_mapped(&mut conn, account, false).await?;
    } else if saved.settings.push_quantity != current.settings.push_quantity {
        // The reserved SKUs' sums change with the policy; the others do not.
        sklad_db::order_stock::mark_reserved(&mut conn, account).await?;
    }
    if saved.settings.enabled != current.settings.enabled {
        drop(conn);
        // Switched off means no webhook is taken from the answer on, in every ingress.
        sklad_db::token_acks::wait_applied(clients.db(), std::time::Duration::from_secs(3)).await?;
    }
    tracing::info!(account_id = %account, "keyCRM integration settings changed");
    Ok(saved)
}

/// The settings with `change` laid over them, normalised and checked.
pub fn merged(
    current: &IntegrationSettings,
    change: Map<String, Value>,
) -> Result<IntegrationSettings, SettingsError> {
    let Ok(Value::Object(mut fields)) = serde_json::to_value(current) else {
        return Err(SettingsError::Malformed(
            "settings are not an object".into(),
        ));
    };
    if let Some(unknown) = change.keys().find(|key| !fields.contains_key(*key)) {
        return Err(SettingsError::Malformed(format!(
            "unknown setting `{unknown}`; the settings are: {}",
            fields.keys().cloned().collect::<Vec<_>>().join(", ")
        )));
    }
    fields.extend(change);
    let mut settings: IntegrationSettings = serde_json::from_value(Value::Object(fields))
        .map_err(|e| SettingsError::Malformed(e.to_string()))?;
    // The rules hold for what was sent (as the API's schema says), then it is tidied.
    settings.validate().map_err(SettingsError::Invalid)?;
    settings.normalise();
    Ok(settings)
}

/// Visible ASCII (it travels in an HTTP header), at most 512 characters with the white
/// space around it, which is dropped.
fn checked_key(raw: &str) -> Result<SecretString, SettingsError> {
    let key = raw.trim();
    if key.is_empty() || raw.chars().count() > 512 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(SettingsError::Invalid(
            "api_key must be 1–512 visible ASCII characters (white space only around it)".into(),
        ));
    }
    Ok(SecretString::from(key.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn current() -> IntegrationSettings {
        IntegrationSettings::default()
    }

    fn change(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn a_change_touches_only_the_fields_it_names() {
        let merged = merged(
            &current(),
            change(json!({"receive_payments": true, "archive_status_ids": [6, 5, 6], "base_url": "http://h/v1/"})),
        )
        .unwrap();
        assert!(merged.receive_payments);
        assert_eq!(merged.archive_status_ids, vec![5, 6]);
        assert_eq!(merged.base_url, "http://h/v1");
        assert_eq!(merged.requests_per_minute, 60);
    }

    #[test]
    fn shapes_and_rules_are_told_apart() {
        assert!(matches!(
            merged(&current(), change(json!({"enabeld": true}))),
            Err(SettingsError::Malformed(_))
        ));
        assert!(matches!(
            merged(&current(), change(json!({"enabled": "yes"}))),
            Err(SettingsError::Malformed(_))
        ));
        assert!(matches!(
            merged(&current(), change(json!({"requests_per_minute": 0}))),
            Err(SettingsError::Invalid(_))
        ));
        assert!(matches!(
            merged(&current(), change(json!({"base_url": "ftp://x"}))),
            Err(SettingsError::Invalid(_))
        ));
        assert!(
            matches!(
                merged(&current(), change(json!({"ship_status_ids": [4]}))),
                Err(SettingsError::Invalid(why)) if why.contains("ship_warehouse_id")
            ),
            "shipping needs a warehouse to ship from"
        );
        assert!(checked_key("has space").is_err());
        assert!(checked_key("").is_err());
        assert!(checked_key(" abc ").is_ok());
    }
}
