//! Accounts and their admin API tokens.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::crypto::{self, SecretBox};
use crate::schema::{accounts, admin_tokens, keycrm_integrations};
use crate::{DbError, DbResult, webhook_tokens};

/// A sklad account (a shop).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = accounts)]
pub struct Account {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// How an account's times and money are shown: an IANA time zone name and an ISO 4217
/// currency code (checked by the caller; the table checks their shape).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, AsChangeset)]
#[diesel(table_name = accounts)]
pub struct Display {
    pub time_zone: String,
    pub currency: String,
}

/// The account's [`Display`] (`None`: no such account).
pub async fn display(conn: &mut AsyncPgConnection, account_id: Uuid) -> DbResult<Option<Display>> {
    Ok(accounts::table
        .find(account_id)
        .select(Display::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Saves the account's [`Display`].
pub async fn set_display(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    display: &Display,
) -> DbResult<Option<Display>> {
    Ok(diesel::update(accounts::table.find(account_id))
        .set(display)
        .returning(Display::as_returning())
        .get_result(conn)
        .await
        .optional()?)
}

/// What creating an account hands out once: these tokens are never shown again
/// (the admin token is stored only as a hash).
#[derive(Debug)]
pub struct NewAccount {
    pub account: Account,
    pub admin_token: String,
    pub webhook_token: String,
}

/// keyCRM defaults for a new account's integration row.
#[derive(Debug, Clone)]
pub struct IntegrationDefaults {
    pub base_url: String,
    pub requests_per_minute: i32,
}

/// Creates an account with an admin token, a webhook link and default keyCRM settings.
pub async fn create(
    conn: &mut AsyncPgConnection,
    secrets: &SecretBox,
    name: &str,
    defaults: &IntegrationDefaults,
) -> DbResult<NewAccount> {
    let account = Account {
        id: Uuid::now_v7(),
        name: name.to_owned(),
        created_at: Utc::now(),
    };
    let secrets = secrets.clone();
    let defaults = defaults.clone();
    conn.transaction::<_, DbError, _>(async move |conn| {
        diesel::insert_into(accounts::table)
            .values(&account)
            .execute(conn)
            .await?;
        diesel::insert_into(keycrm_integrations::table)
            .values((
                keycrm_integrations::account_id.eq(account.id),
                keycrm_integrations::base_url.eq(&defaults.base_url),
                keycrm_integrations::requests_per_minute.eq(defaults.requests_per_minute),
            ))
            .execute(conn)
            .await?;
        let (_, admin_token) =
            issue_admin_token(conn, account.id, "created with account", None).await?;
        let webhook_token = webhook_tokens::issue(conn, &secrets, account.id).await?;
        Ok(NewAccount {
            account,
            admin_token,
            webhook_token,
        })
    })
    .await
}

/// An admin token as listed: never the token itself (only its hash is stored).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = admin_tokens)]
pub struct AdminToken {
    pub id: Uuid,
    pub label: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Why a token was not revoked.
#[derive(Debug, thiserror::Error)]
pub enum RevokeError {
    #[error("no such admin token")]
    NotFound,
    #[error("this is the account's last working admin token; issue another one first")]
    LastToken,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for RevokeError {
    fn from(err: diesel::result::Error) -> Self {
        RevokeError::Db(err.into())
    }
}

/// Issues another admin token for an account, optionally expiring; returns it with the
/// token (shown once).
pub async fn issue_admin_token(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    label: &str,
    expires_at: Option<DateTime<Utc>>,
) -> DbResult<(AdminToken, String)> {
    let token = crypto::generate_token();
    let issued = diesel::insert_into(admin_tokens::table)
        .values((
            admin_tokens::id.eq(Uuid::now_v7()),
            admin_tokens::account_id.eq(account_id),
            admin_tokens::token_hash.eq(crypto::token_hash(&token)),
            admin_tokens::label.eq(label),
            admin_tokens::expires_at.eq(expires_at),
        ))
        .returning(AdminToken::as_returning())
        .get_result(conn)
        .await?;
    Ok((issued, token))
}

/// The account's admin tokens, newest first.
pub async fn admin_tokens(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
) -> DbResult<Vec<AdminToken>> {
    Ok(admin_tokens::table
        .filter(admin_tokens::account_id.eq(account_id))
        .order(admin_tokens::created_at.desc())
        .select(AdminToken::as_select())
        .load(conn)
        .await?)
}

/// Revokes one of the account's tokens at once. The last working one (not revoked, not
/// expired) cannot be revoked: the account would lock itself out.
pub async fn revoke_admin_token(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    id: Uuid,
) -> Result<AdminToken, RevokeError> {
    conn.transaction::<_, RevokeError, _>(async move |conn| {
        // Lock the account's working tokens, so two revocations cannot both pass the check.
        let working: Vec<Uuid> = admin_tokens::table
            .filter(admin_tokens::account_id.eq(account_id))
            .filter(admin_tokens::revoked_at.is_null())
            .filter(
                admin_tokens::expires_at
                    .is_null()
                    .or(admin_tokens::expires_at.gt(diesel::dsl::now)),
            )
            .select(admin_tokens::id)
            .for_update()
            .load(conn)
            .await?;
        let exists: i64 = admin_tokens::table
            .filter(admin_tokens::account_id.eq(account_id))
            .filter(admin_tokens::id.eq(id))
            .count()
            .get_result(conn)
            .await?;
        if exists == 0 {
            return Err(RevokeError::NotFound);
        }
        if working.iter().all(|w| *w == id) {
            return Err(RevokeError::LastToken);
        }
        Ok(diesel::update(admin_tokens::table.find(id))
            .set(admin_tokens::revoked_at.eq(diesel::dsl::sql::<
                diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
            >("COALESCE(revoked_at, now())")))
            .returning(AdminToken::as_returning())
            .get_result(conn)
            .await?)
    })
    .await
}

/// The account an admin bearer token belongs to, if the token is known, not revoked and
/// not expired. Notes when it was used (at most once a minute per token).
pub async fn authenticate_admin(
    conn: &mut AsyncPgConnection,
    token: &str,
) -> DbResult<Option<Uuid>> {
    Ok(authenticate_admin_token(conn, token)
        .await?
        .map(|(_, account)| account))
}

/// [`authenticate_admin`], also naming the token (`(token id, account id)`): a console
/// session is tied to the token it was opened with.
pub async fn authenticate_admin_token(
    conn: &mut AsyncPgConnection,
    token: &str,
) -> DbResult<Option<(Uuid, Uuid)>> {
    let hash = crypto::token_hash(token);
    let row: Option<(Uuid, Uuid, Vec<u8>)> = admin_tokens::table
        .filter(admin_tokens::token_hash.eq(&hash))
        .filter(admin_tokens::revoked_at.is_null())
        .filter(
            admin_tokens::expires_at
                .is_null()
                .or(admin_tokens::expires_at.gt(diesel::dsl::now)),
        )
        .select((
            admin_tokens::id,
            admin_tokens::account_id,
            admin_tokens::token_hash,
        ))
        .first(conn)
        .await
        .optional()?;
    let Some((id, account, stored)) = row else {
        return Ok(None);
    };
    if !crypto::hashes_equal(&stored, &hash) {
        return Ok(None);
    }
    diesel::sql_query(
        "UPDATE admin_tokens SET last_used_at = now() \
         WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')",
    )
    .bind::<diesel::sql_types::Uuid, _>(id)
    .execute(conn)
    .await?;
    Ok(Some((id, account)))
}

/// One account by id.
pub async fn get(conn: &mut AsyncPgConnection, account_id: Uuid) -> DbResult<Account> {
    Ok(accounts::table
        .find(account_id)
        .select(Account::as_select())
        .first(conn)
        .await?)
}

/// Accounts with this exact name (ops: the demo set-up reuses its account).
pub async fn find_by_name(conn: &mut AsyncPgConnection, name: &str) -> DbResult<Vec<Account>> {
    Ok(accounts::table
        .filter(accounts::name.eq(name))
        .order(accounts::created_at.asc())
        .select(Account::as_select())
        .load(conn)
        .await?)
}

/// Number of accounts (ops status).
pub async fn count(conn: &mut AsyncPgConnection) -> DbResult<i64> {
    Ok(accounts::table.count().get_result(conn).await?)
}
