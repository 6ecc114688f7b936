//! Secret webhook links: one active token per account; rotation revokes the old one at once.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use secrecy::SecretString;
use uuid::Uuid;

use crate::crypto::{self, Purpose, SecretBox};
use crate::schema::{keycrm_integrations, webhook_tokens};
use crate::{DbError, DbResult};

/// Where a webhook token leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookTarget {
    pub account_id: Uuid,
    /// The account's "Enable integration" switch.
    pub integration_enabled: bool,
}

/// Revokes the account's active token (if any) and issues a new one; returns it.
///
/// Runs in its own transaction (or joins the caller's), so there is never a moment with two
/// active tokens or none.
pub async fn issue(
    conn: &mut AsyncPgConnection,
    secrets: &SecretBox,
    account_id: Uuid,
) -> DbResult<String> {
    let token = crypto::generate_token();
    let hash = crypto::token_hash(&token);
    let ciphertext = secrets.encrypt(account_id, Purpose::WebhookToken, &token);
    conn.transaction::<_, DbError, _>(async move |conn| {
        diesel::update(webhook_tokens::table)
            .filter(webhook_tokens::account_id.eq(account_id))
            .filter(webhook_tokens::revoked_at.is_null())
            .set(webhook_tokens::revoked_at.eq(diesel::dsl::now))
            .execute(conn)
            .await?;
        diesel::insert_into(webhook_tokens::table)
            .values((
                webhook_tokens::id.eq(Uuid::now_v7()),
                webhook_tokens::account_id.eq(account_id),
                webhook_tokens::token_hash.eq(hash),
                webhook_tokens::token_ciphertext.eq(ciphertext),
            ))
            .execute(conn)
            .await?;
        Ok(())
    })
    .await?;
    Ok(token)
}

/// The account's active token, decrypted (for showing the link in settings).
pub async fn current(
    conn: &mut AsyncPgConnection,
    secrets: &SecretBox,
    account_id: Uuid,
) -> DbResult<Option<SecretString>> {
    let stored: Option<Vec<u8>> = webhook_tokens::table
        .filter(webhook_tokens::account_id.eq(account_id))
        .filter(webhook_tokens::revoked_at.is_null())
        .select(webhook_tokens::token_ciphertext)
        .first(conn)
        .await
        .optional()?;
    stored
        .map(|c| secrets.decrypt(account_id, Purpose::WebhookToken, &c))
        .transpose()
        .map_err(DbError::from)
}

/// Finds the account behind an active token. Unknown and revoked tokens give `None`.
pub async fn resolve(conn: &mut AsyncPgConnection, token: &str) -> DbResult<Option<WebhookTarget>> {
    let hash = crypto::token_hash(token);
    let row: Option<(Uuid, Vec<u8>, bool)> = webhook_tokens::table
        .inner_join(
            keycrm_integrations::table
                .on(keycrm_integrations::account_id.eq(webhook_tokens::account_id)),
        )
        .filter(webhook_tokens::token_hash.eq(&hash))
        .filter(webhook_tokens::revoked_at.is_null())
        .select((
            webhook_tokens::account_id,
            webhook_tokens::token_hash,
            keycrm_integrations::enabled,
        ))
        .first(conn)
        .await
        .optional()?;
    Ok(row.and_then(|(account_id, stored, integration_enabled)| {
        crypto::hashes_equal(&stored, &hash).then_some(WebhookTarget {
            account_id,
            integration_enabled,
        })
    }))
}
