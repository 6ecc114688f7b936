//! keyCRM integration settings, one row per account.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use secrecy::{ExposeSecret, SecretString};
use sklad_domain::secret::mask_api_key;
use uuid::Uuid;

use crate::crypto::{Purpose, SecretBox};
use crate::schema::keycrm_integrations;
use crate::{DbError, DbResult};

/// The stored settings. The API key itself is not here: only whether one is saved, its mask
/// and its fingerprint.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = keycrm_integrations)]
pub struct Integration {
    pub account_id: Uuid,
    pub api_key_fingerprint: Option<Vec<u8>>,
    pub api_key_mask: Option<String>,
    pub base_url: String,
    pub enabled: bool,
    pub receive_payments: bool,
    pub archive_status_ids: Vec<i64>,
    pub keep_product_info: bool,
    pub stock_push_enabled: bool,
    pub requests_per_minute: i32,
    pub updated_at: DateTime<Utc>,
    pub import_status_ids: Vec<i64>,
}

/// A change to the settings; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct IntegrationChange {
    pub api_key: Option<SecretString>,
    pub base_url: Option<String>,
    pub enabled: Option<bool>,
    pub receive_payments: Option<bool>,
    pub archive_status_ids: Option<Vec<i64>>,
    pub keep_product_info: Option<bool>,
    pub stock_push_enabled: Option<bool>,
    pub requests_per_minute: Option<i32>,
    pub import_status_ids: Option<Vec<i64>>,
}

#[derive(AsChangeset, Default)]
#[diesel(table_name = keycrm_integrations)]
struct Changeset {
    api_key_ciphertext: Option<Vec<u8>>,
    api_key_fingerprint: Option<Vec<u8>>,
    api_key_mask: Option<String>,
    base_url: Option<String>,
    enabled: Option<bool>,
    receive_payments: Option<bool>,
    archive_status_ids: Option<Vec<i64>>,
    keep_product_info: Option<bool>,
    stock_push_enabled: Option<bool>,
    requests_per_minute: Option<i32>,
    updated_at: Option<DateTime<Utc>>,
    import_status_ids: Option<Vec<i64>>,
}

/// What a keyCRM client needs to act for an account.
#[derive(Debug, Clone)]
pub struct KeycrmCredentials {
    pub base_url: String,
    pub api_key: SecretString,
    /// Names the request budget shared by everyone using this key.
    pub fingerprint: Vec<u8>,
    pub requests_per_minute: u32,
}

/// The account's settings.
pub async fn get(conn: &mut AsyncPgConnection, account_id: Uuid) -> DbResult<Integration> {
    Ok(keycrm_integrations::table
        .find(account_id)
        .select(Integration::as_select())
        .first(conn)
        .await?)
}

/// Applies `change` and returns the new settings. A new API key is encrypted for this
/// account, fingerprinted and masked; its plain text is stored nowhere.
pub async fn update(
    conn: &mut AsyncPgConnection,
    secrets: &SecretBox,
    account_id: Uuid,
    change: IntegrationChange,
) -> DbResult<Integration> {
    let mut set = Changeset {
        base_url: change.base_url,
        enabled: change.enabled,
        receive_payments: change.receive_payments,
        archive_status_ids: change.archive_status_ids,
        keep_product_info: change.keep_product_info,
        stock_push_enabled: change.stock_push_enabled,
        requests_per_minute: change.requests_per_minute,
        import_status_ids: change.import_status_ids,
        updated_at: Some(Utc::now()),
        ..Changeset::default()
    };
    if let Some(key) = &change.api_key {
        let key = key.expose_secret();
        set.api_key_ciphertext = Some(secrets.encrypt(account_id, Purpose::KeycrmApiKey, key));
        set.api_key_fingerprint = Some(secrets.fingerprint(key));
        set.api_key_mask = Some(mask_api_key(key));
    }
    Ok(diesel::update(keycrm_integrations::table.find(account_id))
        .set(&set)
        .returning(Integration::as_returning())
        .get_result(conn)
        .await?)
}

/// The decrypted credentials, or `None` when no API key is saved.
pub async fn credentials(
    conn: &mut AsyncPgConnection,
    secrets: &SecretBox,
    account_id: Uuid,
) -> DbResult<Option<KeycrmCredentials>> {
    let row: (Option<Vec<u8>>, Option<Vec<u8>>, String, i32) = keycrm_integrations::table
        .find(account_id)
        .select((
            keycrm_integrations::api_key_ciphertext,
            keycrm_integrations::api_key_fingerprint,
            keycrm_integrations::base_url,
            keycrm_integrations::requests_per_minute,
        ))
        .first(conn)
        .await?;
    let (Some(ciphertext), Some(fingerprint), base_url, rpm) = row else {
        return Ok(None);
    };
    let api_key = secrets
        .decrypt(account_id, Purpose::KeycrmApiKey, &ciphertext)
        .map_err(DbError::from)?;
    Ok(Some(KeycrmCredentials {
        base_url,
        api_key,
        fingerprint,
        requests_per_minute: u32::try_from(rpm).unwrap_or(1),
    }))
}

/// An account whose reconciliation pass this process now runs.
#[derive(Debug, Clone)]
pub struct ReconcileClaim {
    pub account_id: Uuid,
    /// Orders updated since then are pulled; `None` before the first pass.
    pub watermark: Option<DateTime<Utc>>,
}

/// Claims the account most overdue for a reconciliation pass (integration on, key saved,
/// due, no live lease) for `lease`.
pub async fn claim_reconcile(
    conn: &mut AsyncPgConnection,
    lease: chrono::TimeDelta,
) -> DbResult<Option<ReconcileClaim>> {
    use diesel_async::AsyncConnection;
    conn.transaction::<_, DbError, _>(async move |conn| {
        let due: Option<(Uuid, Option<DateTime<Utc>>)> = keycrm_integrations::table
            .filter(keycrm_integrations::enabled.eq(true))
            .filter(keycrm_integrations::api_key_fingerprint.is_not_null())
            .filter(
                keycrm_integrations::reconcile_lease_until
                    .is_null()
                    .or(keycrm_integrations::reconcile_lease_until.lt(diesel::dsl::now)),
            )
            .filter(
                keycrm_integrations::reconcile_due_at
                    .is_null()
                    .or(keycrm_integrations::reconcile_due_at.le(diesel::dsl::now)),
            )
            .order(keycrm_integrations::reconcile_due_at.asc().nulls_first())
            .for_update()
            .skip_locked()
            .select((
                keycrm_integrations::account_id,
                keycrm_integrations::reconcile_watermark,
            ))
            .first(conn)
            .await
            .optional()?;
        let Some((account_id, watermark)) = due else {
            return Ok(None);
        };
        diesel::update(keycrm_integrations::table.find(account_id))
            .set(keycrm_integrations::reconcile_lease_until.eq(Utc::now() + lease))
            .execute(conn)
            .await?;
        Ok(Some(ReconcileClaim {
            account_id,
            watermark,
        }))
    })
    .await
}

/// Ends a pass: stores the new watermark (only after success) and when the next is due.
pub async fn finish_reconcile(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    watermark: Option<DateTime<Utc>>,
    next_due: DateTime<Utc>,
) -> DbResult<()> {
    let target = keycrm_integrations::table.find(account_id);
    match watermark {
        Some(mark) => {
            diesel::update(target)
                .set((
                    keycrm_integrations::reconcile_watermark.eq(mark),
                    keycrm_integrations::reconcile_due_at.eq(next_due),
                    keycrm_integrations::reconcile_lease_until.eq(None::<DateTime<Utc>>),
                ))
                .execute(conn)
                .await?
        }
        None => {
            diesel::update(target)
                .set((
                    keycrm_integrations::reconcile_due_at.eq(next_due),
                    keycrm_integrations::reconcile_lease_until.eq(None::<DateTime<Utc>>),
                ))
                .execute(conn)
                .await?
        }
    };
    Ok(())
}

/// Makes the account's next reconciliation pass due now.
pub async fn request_reconcile(conn: &mut AsyncPgConnection, account_id: Uuid) -> DbResult<()> {
    diesel::update(keycrm_integrations::table.find(account_id))
        .set(keycrm_integrations::reconcile_due_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?;
    Ok(())
}
