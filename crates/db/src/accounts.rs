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
        let admin_token = issue_admin_token(conn, account.id, "created with account").await?;
        let webhook_token = webhook_tokens::issue(conn, &secrets, account.id).await?;
        Ok(NewAccount {
            account,
            admin_token,
            webhook_token,
        })
    })
    .await
}

/// Issues another admin token for an account; returns the token (shown once).
pub async fn issue_admin_token(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    label: &str,
) -> DbResult<String> {
    let token = crypto::generate_token();
    diesel::insert_into(admin_tokens::table)
        .values((
            admin_tokens::id.eq(Uuid::now_v7()),
            admin_tokens::account_id.eq(account_id),
            admin_tokens::token_hash.eq(crypto::token_hash(&token)),
            admin_tokens::label.eq(label),
        ))
        .execute(conn)
        .await?;
    Ok(token)
}

/// The account an admin bearer token belongs to, if the token is known and not revoked.
pub async fn authenticate_admin(
    conn: &mut AsyncPgConnection,
    token: &str,
) -> DbResult<Option<Uuid>> {
    let hash = crypto::token_hash(token);
    let row: Option<(Uuid, Vec<u8>)> = admin_tokens::table
        .filter(admin_tokens::token_hash.eq(&hash))
        .filter(admin_tokens::revoked_at.is_null())
        .select((admin_tokens::account_id, admin_tokens::token_hash))
        .first(conn)
        .await
        .optional()?;
    Ok(row.and_then(|(account, stored)| crypto::hashes_equal(&stored, &hash).then_some(account)))
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
