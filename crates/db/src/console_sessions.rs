//! Web console sessions: opened with an admin token, ended by sign-out, by their absolute
//! expiry, or at once when that admin token is revoked or expires.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::DbResult;
use crate::crypto;
use crate::schema::{admin_tokens, console_refusals, console_sessions};

/// A signed-in browser: whose it is and the token its forms must echo.
#[derive(Debug, Clone)]
pub struct Session {
    pub account_id: Uuid,
    /// Every form carries this; a POST without it is refused (CSRF).
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// A session just opened: the cookie value is shown here once; only its hash is stored.
#[derive(Debug)]
pub struct Opened {
    pub cookie: String,
    pub session: Session,
}

/// Opens a session for a working admin token, or `None` when the token is unknown, revoked
/// or expired. The session never outlives the token's own expiry.
pub async fn open(
    conn: &mut AsyncPgConnection,
    admin_token: &str,
    lifetime: chrono::Duration,
) -> DbResult<Option<Opened>> {
    let Some((token_id, account_id)) =
        crate::accounts::authenticate_admin_token(conn, admin_token).await?
    else {
        return Ok(None);
    };
    let token_expiry: Option<DateTime<Utc>> = admin_tokens::table
        .find(token_id)
        .select(admin_tokens::expires_at)
        .first(conn)
        .await?;
    // A lifetime too long to add (a setting of centuries) lasts as long as time does here.
    let mut expires_at = Utc::now()
        .checked_add_signed(lifetime)
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    if let Some(limit) = token_expiry {
        expires_at = expires_at.min(limit);
    }
    let cookie = crypto::generate_token();
    let csrf_token = crypto::generate_token();
    diesel::insert_into(console_sessions::table)
        .values((
            console_sessions::id_hash.eq(crypto::token_hash(&cookie)),
            console_sessions::account_id.eq(account_id),
            console_sessions::admin_token_id.eq(token_id),
            console_sessions::csrf_token.eq(&csrf_token),
            console_sessions::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .await?;
    Ok(Some(Opened {
        cookie,
        session: Session {
            account_id,
            csrf_token,
            expires_at,
        },
    }))
}

/// The live session a cookie names: not expired, its admin token neither revoked nor
/// expired.
pub async fn find(conn: &mut AsyncPgConnection, cookie: &str) -> DbResult<Option<Session>> {
    let hash = crypto::token_hash(cookie);
    let row: Option<(Vec<u8>, Uuid, String, DateTime<Utc>)> = console_sessions::table
        .inner_join(admin_tokens::table)
        .filter(console_sessions::id_hash.eq(&hash))
        .filter(console_sessions::expires_at.gt(diesel::dsl::now))
        .filter(admin_tokens::revoked_at.is_null())
        .filter(
            admin_tokens::expires_at
                .is_null()
                .or(admin_tokens::expires_at.gt(diesel::dsl::now)),
        )
        .select((
            console_sessions::id_hash,
            console_sessions::account_id,
            console_sessions::csrf_token,
            console_sessions::expires_at,
        ))
        .first(conn)
        .await
        .optional()?;
    Ok(row
        .filter(|(stored, ..)| crypto::hashes_equal(stored, &hash))
        .map(|(_, account_id, csrf_token, expires_at)| Session {
            account_id,
            csrf_token,
            expires_at,
        }))
}

/// Ends the session a cookie names (nothing happens for an unknown one).
pub async fn close(conn: &mut AsyncPgConnection, cookie: &str) -> DbResult<()> {
    diesel::delete(console_sessions::table.find(crypto::token_hash(cookie)))
        .execute(conn)
        .await?;
    Ok(())
}

/// Keeps a refused form's page for the session `cookie` names; returns the id it is shown
/// under (random; stored hashed). `None` when the session is gone.
pub async fn keep_refusal(
    conn: &mut AsyncPgConnection,
    cookie: &str,
    status: u16,
    page: &str,
) -> DbResult<Option<String>> {
    let id = crypto::generate_token();
    let kept = diesel::insert_into(console_refusals::table)
        .values((
            console_refusals::id_hash.eq(crypto::token_hash(&id)),
            console_refusals::session_hash.eq(crypto::token_hash(cookie)),
            console_refusals::status.eq(i16::try_from(status).unwrap_or(400)),
            console_refusals::page.eq(page),
        ))
        .execute(conn)
        .await;
    match kept {
        Ok(_) => {
            // A session keeps its latest few refusals (Back reaches no further in practice).
            diesel::sql_query(
                "DELETE FROM console_refusals WHERE session_hash = $1 AND id_hash NOT IN \
                 (SELECT id_hash FROM console_refusals WHERE session_hash = $1 \
                  ORDER BY created_at DESC LIMIT 20)",
            )
            .bind::<diesel::sql_types::Bytea, _>(crypto::token_hash(cookie))
            .execute(conn)
            .await?;
            Ok(Some(id))
        }
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::ForeignKeyViolation,
            _,
        )) => Ok(None),
        Err(err) => Err(err.into()),
    }
}

/// A refused form's page kept for the session `cookie` names: its status and the page.
pub async fn refusal(
    conn: &mut AsyncPgConnection,
    cookie: &str,
    id: &str,
) -> DbResult<Option<(u16, String)>> {
    let found: Option<(i16, String)> = console_refusals::table
        .filter(console_refusals::id_hash.eq(crypto::token_hash(id)))
        .filter(console_refusals::session_hash.eq(crypto::token_hash(cookie)))
        .select((console_refusals::status, console_refusals::page))
        .first(conn)
        .await
        .optional()?;
    Ok(found.map(|(status, page)| (u16::try_from(status).unwrap_or(400), page)))
}
