//! keyCRM integration settings, one row per account.
//!
//! [`IntegrationSettings`] is the one definition of what a shop owner sets: its fields are
//! the columns, the API's read and write shapes (and their OpenAPI schema), and the CLI's
//! `sklad integration set` keys. For those a new setting is a column, a field here, and (if
//! it has rules) a line in [`IntegrationSettings::validate`]; what acts on it, the console's
//! form and the tests' struct literals need it too (see docs/architecture.md).

use chrono::{DateTime, Utc};
use diesel::deserialize::FromSql;
use diesel::pg::{Pg, PgValue};
use diesel::prelude::*;
use diesel::serialize::{Output, ToSql};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sklad_domain::orders::{KeycrmId, is_keycrm_id};
use sklad_domain::reservation::{PushQuantity, ShipSourceRule};
use sklad_domain::secret::mask_api_key;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::crypto::{Purpose, SecretBox};
use crate::schema::keycrm_integrations;
use crate::{DbError, DbResult};

/// The keyCRM integration's settings as the shop owner sets them.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Queryable,
    Selectable,
    AsChangeset,
    Serialize,
    Deserialize,
    ToSchema,
)]
#[diesel(table_name = keycrm_integrations)]
pub struct IntegrationSettings {
    /// keyCRM API base URL: one of those the operator allows (`keycrm.allowed_base_urls`);
    /// a trailing slash is ignored.
    #[schema(example = "https://openapi.keycrm.app/v1")]
    pub base_url: String,
    /// "Enable integration": webhooks are processed only while this is on (needs a saved key).
    pub enabled: bool,
    /// Store keyCRM order payments as bank transactions.
    pub receive_payments: bool,
    /// keyCRM statuses that move an order to the archive.
    #[schema(value_type = Vec<KeycrmId>, max_items = 1000)]
    pub archive_status_ids: Vec<i64>,
    /// keyCRM statuses whose new orders the reconciliation pass imports: the same statuses
    /// as the keyCRM trigger that calls the webhook.
    #[schema(value_type = Vec<KeycrmId>, max_items = 1000)]
    pub import_status_ids: Vec<i64>,
    /// "Do not change product information" of products sklad already has.
    pub keep_product_info: bool,
    /// "Send stock balances to keyCRM".
    pub stock_push_enabled: bool,
    /// keyCRM requests per minute allowed for this API key (keyCRM's limit is 60), 1–6000.
    #[schema(minimum = 1, maximum = 6000)]
    pub requests_per_minute: i32,
    /// keyCRM statuses in which an order ships by itself: its lines leave
    /// `ship_warehouse_id` as one shipment movement, once per order.
    #[schema(value_type = Vec<KeycrmId>, max_items = 1000)]
    pub ship_status_ids: Vec<i64>,
    /// The sklad warehouse orders ship from; required while `ship_status_ids` is not empty.
    pub ship_warehouse_id: Option<Uuid>,
    /// keyCRM statuses in which a shipped order comes back: what it took returns to the
    /// warehouse it left, once.
    #[schema(value_type = Vec<KeycrmId>, max_items = 1000)]
    pub return_status_ids: Vec<i64>,
    /// keyCRM statuses in which an unshipped order holds its lines in its ship warehouse
    /// (`reserved` in balances) until it ships or leaves them; needs `ship_warehouse_id`.
    #[schema(value_type = Vec<KeycrmId>, max_items = 1000)]
    pub reserve_status_ids: Vec<i64>,
    /// What keyCRM receives per SKU: `on_hand` (the balance) or `available` (less
    /// reservations; for shops that do not reserve in keyCRM, which subtracts its own reserve).
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub push_quantity: PushQuantity,
    /// Orders from these keyCRM sources ship from (and reserve in) their own warehouse
    /// instead of `ship_warehouse_id`; one rule per source.
    #[schema(value_type = Vec<ShipSourceRule>, max_items = 100)]
    pub ship_source_rules: ShipSourceRules,
    /// keyCRM statuses in which an order's lines whose product has a BOM get a planned
    /// production order for what available stock does not cover (once per order and
    /// product; cancelled with the order); needs `ship_warehouse_id`.
    #[schema(value_type = Vec<KeycrmId>, max_items = 1000)]
    pub production_status_ids: Vec<i64>,
    /// Whether products typed in by hand on keyCRM orders (services, gift wrap, engraving)
    /// track stock when sklad first sees them; each product's own `tracks_stock` decides after.
    pub one_time_products_track_stock: bool,
}

/// The settings a new account starts with: the columns' defaults (a test compares them), with
/// keyCRM's own API and keyCRM's own limit. A new setting gets its default here once, so
/// code and tests that build settings need no change.
impl Default for IntegrationSettings {
    fn default() -> Self {
        Self {
            base_url: "https://openapi.keycrm.app/v1".to_owned(),
            enabled: false,
            receive_payments: false,
            archive_status_ids: Vec::new(),
            import_status_ids: Vec::new(),
            keep_product_info: false,
            stock_push_enabled: false,
            requests_per_minute: 60,
            ship_status_ids: Vec::new(),
            ship_warehouse_id: None,
            return_status_ids: Vec::new(),
            reserve_status_ids: Vec::new(),
            push_quantity: PushQuantity::OnHand,
            ship_source_rules: ShipSourceRules::default(),
            production_status_ids: Vec::new(),
            one_time_products_track_stock: false,
        }
    }
}

/// [`IntegrationSettings::ship_source_rules`], stored as jsonb.
#[derive(
    Debug,
    Clone,
    Default,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    diesel::AsExpression,
    diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Jsonb)]
#[serde(transparent)]
pub struct ShipSourceRules(pub Vec<ShipSourceRule>);

impl FromSql<diesel::sql_types::Jsonb, Pg> for ShipSourceRules {
    fn from_sql(bytes: PgValue<'_>) -> diesel::deserialize::Result<Self> {
        let value = <serde_json::Value as FromSql<diesel::sql_types::Jsonb, Pg>>::from_sql(bytes)?;
        Ok(serde_json::from_value(value)?)
    }
}

impl ToSql<diesel::sql_types::Jsonb, Pg> for ShipSourceRules {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> diesel::serialize::Result {
        let value = serde_json::to_value(&self.0)?;
        <serde_json::Value as ToSql<diesel::sql_types::Jsonb, Pg>>::to_sql(
            &value,
            &mut out.reborrow(),
        )
    }
}

impl IntegrationSettings {
    /// Puts values in their canonical form (sorted, deduplicated ids; no trailing slash).
    pub fn normalise(&mut self) {
        for ids in [
            &mut self.archive_status_ids,
            &mut self.import_status_ids,
            &mut self.ship_status_ids,
            &mut self.return_status_ids,
            &mut self.reserve_status_ids,
            &mut self.production_status_ids,
        ] {
            ids.sort_unstable();
            ids.dedup();
        }
        self.ship_source_rules.0.sort_by_key(|r| r.source_id);
        self.base_url = self.base_url.trim().trim_end_matches('/').to_owned();
    }

    /// The rules a setting must follow; the message says which one was broken.
    pub fn validate(&self) -> Result<(), String> {
        let url_ok = url::Url::parse(&self.base_url)
            .map(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .unwrap_or(false);
        if !url_ok || self.base_url.len() > 500 {
            return Err("base_url must be an http(s) URL".into());
        }
        if !(1..=6000).contains(&self.requests_per_minute) {
            return Err("requests_per_minute must be between 1 and 6000".into());
        }
        for (field, ids) in [
            ("archive_status_ids", &self.archive_status_ids),
            ("import_status_ids", &self.import_status_ids),
            ("ship_status_ids", &self.ship_status_ids),
            ("return_status_ids", &self.return_status_ids),
            ("reserve_status_ids", &self.reserve_status_ids),
            ("production_status_ids", &self.production_status_ids),
        ] {
            if !ids.iter().all(|id| is_keycrm_id(*id)) || ids.len() > 1000 {
                return Err(format!(
                    "{field} must be at most 1000 positive keyCRM status ids"
                ));
            }
        }
        if let Some(both) = self
            .ship_status_ids
            .iter()
            .find(|id| self.return_status_ids.contains(id))
        {
            return Err(format!(
                "status {both} cannot both ship and return an order"
            ));
        }
        if !self.ship_status_ids.is_empty() && self.ship_warehouse_id.is_none() {
            return Err(
                "ship_status_ids needs ship_warehouse_id: the warehouse orders ship from".into(),
            );
        }
        if !self.reserve_status_ids.is_empty() && self.ship_warehouse_id.is_none() {
            return Err(
                "reserve_status_ids needs ship_warehouse_id: the warehouse orders reserve in"
                    .into(),
            );
        }
        if !self.production_status_ids.is_empty() && self.ship_warehouse_id.is_none() {
            return Err(
                "production_status_ids needs ship_warehouse_id: the warehouse orders are made in"
                    .into(),
            );
        }
        let rules = &self.ship_source_rules.0;
        if rules.len() > 100 || !rules.iter().all(|r| is_keycrm_id(r.source_id)) {
            return Err("ship_source_rules must be at most 100 rules for keyCRM source ids".into());
        }
        let mut seen = std::collections::HashSet::new();
        if let Some(twice) = rules.iter().find(|r| !seen.insert(r.source_id)) {
            return Err(format!(
                "ship_source_rules names source {} twice",
                twice.source_id
            ));
        }
        Ok(())
    }

    /// Every sklad warehouse the settings name (each must be the account's).
    pub fn warehouses(&self) -> Vec<Uuid> {
        self.ship_warehouse_id
            .into_iter()
            .chain(self.ship_source_rules.0.iter().map(|r| r.warehouse_id))
            .collect()
    }
}

/// The stored row: the settings, and of the API key only whether one is saved, its mask and
/// its fingerprint (the key itself is encrypted and read only by [`api_key`]).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = keycrm_integrations)]
pub struct Integration {
    pub account_id: Uuid,
    pub api_key_fingerprint: Option<Vec<u8>>,
    pub api_key_mask: Option<String>,
    #[diesel(embed)]
    pub settings: IntegrationSettings,
    pub updated_at: DateTime<Utc>,
    /// keyCRM refused the saved key (401/403); keyCRM work waits for new settings.
    pub key_rejected_at: Option<DateTime<Utc>>,
    /// The base URL does not lead to keyCRM's API; keyCRM work waits for new settings.
    pub misconfigured_at: Option<DateTime<Utc>>,
    /// What keyCRM (or whatever answered) said when the integration was flagged.
    pub flag_answer: Option<String>,
    /// When keyCRM's quantities were last taken over into the ledger.
    pub stock_taken_over_at: Option<DateTime<Utc>>,
    /// When keyCRM's automation first reached sklad.
    pub first_webhook_at: Option<DateTime<Utc>>,
}

impl Integration {
    pub fn has_api_key(&self) -> bool {
        self.api_key_fingerprint.is_some()
    }

    /// Flagged: no keyCRM work is done for the account until its settings change.
    pub fn is_flagged(&self) -> bool {
        self.key_rejected_at.is_some() || self.misconfigured_at.is_some()
    }
}

/// Why an integration stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    KeyRejected,
    Misconfigured,
}

/// Flags the integration (keeping the first time it happened); saving settings clears it.
pub async fn flag(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    flag: Flag,
    answer: &str,
) -> DbResult<()> {
    use diesel::dsl::sql;
    let target = keycrm_integrations::table.find(account_id);
    let answer: String = answer.chars().take(1000).collect();
    let since = sql::<diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>>;
    match flag {
        Flag::KeyRejected => {
            diesel::update(target)
                .set((
                    keycrm_integrations::key_rejected_at
                        .eq(since("COALESCE(key_rejected_at, now())")),
                    keycrm_integrations::flag_answer.eq(answer),
                ))
                .execute(conn)
                .await?
        }
        Flag::Misconfigured => {
            diesel::update(target)
                .set((
                    keycrm_integrations::misconfigured_at
                        .eq(since("COALESCE(misconfigured_at, now())")),
                    keycrm_integrations::flag_answer.eq(answer),
                ))
                .execute(conn)
                .await?
        }
    };
    Ok(())
}

/// Accounts whose integration is not flagged: the only ones keyCRM work is claimed for.
#[diesel::dsl::auto_type]
pub(crate) fn unflagged() -> _ {
    keycrm_integrations::table
        .filter(keycrm_integrations::key_rejected_at.is_null())
        .filter(keycrm_integrations::misconfigured_at.is_null())
        .select(keycrm_integrations::account_id)
}

/// Flagged integrations (ops status): account, flag, since, answer.
pub async fn flagged(conn: &mut AsyncPgConnection) -> DbResult<Vec<Integration>> {
    Ok(keycrm_integrations::table
        .filter(
            keycrm_integrations::key_rejected_at
                .is_not_null()
                .or(keycrm_integrations::misconfigured_at.is_not_null()),
        )
        .select(Integration::as_select())
        .load(conn)
        .await?)
}

/// The decrypted API key and its fingerprint.
#[derive(Debug, Clone)]
pub struct StoredKey {
    pub api_key: SecretString,
    /// Names the request budget shared by everyone using this key.
    pub fingerprint: Vec<u8>,
}

/// The account's settings.
pub async fn get(conn: &mut AsyncPgConnection, account_id: Uuid) -> DbResult<Integration> {
    Ok(keycrm_integrations::table
        .find(account_id)
        .select(Integration::as_select())
        .first(conn)
        .await?)
}

/// The account's settings, the row locked for the rest of the transaction (a save checks
/// its version against it).
pub async fn lock(conn: &mut AsyncPgConnection, account_id: Uuid) -> DbResult<Integration> {
    Ok(keycrm_integrations::table
        .find(account_id)
        .select(Integration::as_select())
        .for_update()
        .first(conn)
        .await?)
}

/// Saves `settings` and, when given, a new API key (encrypted for this account,
/// fingerprinted and masked; its plain text is stored nowhere), clears any flag (the owner
/// changed something: keyCRM gets another try) and gives the key's budget the account's
/// rate. Returns the new row.
pub async fn save(
    conn: &mut AsyncPgConnection,
    secrets: &SecretBox,
    account_id: Uuid,
    settings: &IntegrationSettings,
    api_key: Option<&SecretString>,
) -> DbResult<Integration> {
    #[derive(AsChangeset)]
    #[diesel(table_name = keycrm_integrations)]
    struct Key {
        api_key_ciphertext: Vec<u8>,
        api_key_fingerprint: Vec<u8>,
        api_key_mask: String,
    }
    let key = api_key.map(|key| {
        let key = key.expose_secret();
        Key {
            api_key_ciphertext: secrets.encrypt(account_id, Purpose::KeycrmApiKey, key),
            api_key_fingerprint: secrets.fingerprint(key),
            api_key_mask: mask_api_key(key),
        }
    });
    // The settings and the key's budget rate change together or not at all.
    conn.transaction::<_, DbError, _>(async move |conn| {
        let saved: Integration = diesel::update(keycrm_integrations::table.find(account_id))
            .set((
                settings.clone(),
                key,
                keycrm_integrations::updated_at.eq(diesel::dsl::now),
                keycrm_integrations::key_rejected_at.eq(None::<DateTime<Utc>>),
                keycrm_integrations::misconfigured_at.eq(None::<DateTime<Utc>>),
                keycrm_integrations::flag_answer.eq(None::<String>),
            ))
            .returning(Integration::as_returning())
            .get_result(conn)
            .await?;
        if let Some(fingerprint) = &saved.api_key_fingerprint {
            crate::budget::set_rate(conn, fingerprint, saved.settings.requests_per_minute).await?;
        }
        Ok(saved)
    })
    .await
}

/// Records that keyCRM's quantities were taken over (switching sending on needs no
/// confirmation afterwards).
pub async fn mark_taken_over(conn: &mut AsyncPgConnection, account_id: Uuid) -> DbResult<()> {
    diesel::update(keycrm_integrations::table.find(account_id))
        .set(keycrm_integrations::stock_taken_over_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?;
    Ok(())
}

/// Notes the account's first webhook (a no-op, writing nothing, once noted).
pub async fn note_webhook(conn: &mut AsyncPgConnection, account_id: Uuid) -> DbResult<()> {
    diesel::update(
        keycrm_integrations::table
            .find(account_id)
            .filter(keycrm_integrations::first_webhook_at.is_null()),
    )
    .set(keycrm_integrations::first_webhook_at.eq(diesel::dsl::now))
    .execute(conn)
    .await?;
    Ok(())
}

/// The saved API key, decrypted, or `None` when none is saved.
pub async fn api_key(
    conn: &mut AsyncPgConnection,
    secrets: &SecretBox,
    account_id: Uuid,
) -> DbResult<Option<StoredKey>> {
    let row: (Option<Vec<u8>>, Option<Vec<u8>>) = keycrm_integrations::table
        .find(account_id)
        .select((
            keycrm_integrations::api_key_ciphertext,
            keycrm_integrations::api_key_fingerprint,
        ))
        .first(conn)
        .await?;
    let (Some(ciphertext), Some(fingerprint)) = row else {
        return Ok(None);
    };
    let api_key = secrets
        .decrypt(account_id, Purpose::KeycrmApiKey, &ciphertext)
        .map_err(DbError::from)?;
    Ok(Some(StoredKey {
        api_key,
        fingerprint,
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
    conn.transaction::<_, DbError, _>(async move |conn| {
        let due: Option<(Uuid, Option<DateTime<Utc>>)> = keycrm_integrations::table
            .filter(keycrm_integrations::enabled.eq(true))
            .filter(keycrm_integrations::api_key_fingerprint.is_not_null())
            .filter(keycrm_integrations::key_rejected_at.is_null())
            .filter(keycrm_integrations::misconfigured_at.is_null())
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

/// Where the account's reconciliation passes have got to (orders updated since then are
/// pulled next).
pub async fn reconcile_watermark(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
) -> DbResult<Option<DateTime<Utc>>> {
    Ok(keycrm_integrations::table
        .find(account_id)
        .select(keycrm_integrations::reconcile_watermark)
        .first(conn)
        .await?)
}

/// Makes the account's next reconciliation pass due now.
pub async fn request_reconcile(conn: &mut AsyncPgConnection, account_id: Uuid) -> DbResult<()> {
    diesel::update(keycrm_integrations::table.find(account_id))
        .set(keycrm_integrations::reconcile_due_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?;
    Ok(())
}
