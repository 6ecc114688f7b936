//! `sklad account ...`

use clap::{Args, Subcommand};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use sklad_app::versions::Expected;
use sklad_db::accounts::IntegrationDefaults;
use sklad_db::{Db, SecretBox};
use sklad_keycrm::Clients;
use sklad_runtime::Settings;
use uuid::Uuid;

/// How a command prints what it made.
#[derive(Clone, Copy, Debug, Default, clap::ValueEnum)]
pub enum Format {
    /// Aligned text for people.
    #[default]
    Text,
    /// One JSON object.
    Json,
    /// `KEY=value` lines a shell can `source`.
    Env,
}

fn print(format: Format, fields: &[(&str, String)]) {
    match format {
        Format::Text => {
            for (key, value) in fields {
                println!("{:<13} {value}", format!("{}:", key.replace('_', " ")));
            }
        }
        Format::Json => {
            let map: serde_json::Map<String, serde_json::Value> = fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), serde_json::Value::String(v.clone())))
                .collect();
            println!("{}", serde_json::Value::Object(map));
        }
        Format::Env => {
            for (key, value) in fields {
                println!("SKLAD_{}='{}'", key.to_uppercase(), value.replace('\'', ""));
            }
        }
    }
}

#[derive(Subcommand)]
pub enum AccountCommand {
    /// Create an account; prints its id, admin token and webhook link (shown only now).
    Create(CreateArgs),
    /// An account's admin tokens: create (shown only now), list, revoke.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Show an account and its webhook link.
    Show {
        #[arg(long)]
        account: Uuid,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Issue another admin token (shown only now).
    Create {
        /// Account id.
        #[arg(long)]
        account: Uuid,
        /// What the token is for.
        #[arg(long, default_value = "issued by sklad account token create")]
        label: String,
        /// Days until it expires (default: never).
        #[arg(long, value_parser = clap::value_parser!(i64).range(1..=3650))]
        expires_in_days: Option<i64>,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// List the account's tokens: id, label, created, last used, expiry, revocation.
    List {
        #[arg(long)]
        account: Uuid,
    },
    /// Revoke a token at once (the last working one cannot be).
    Revoke {
        #[arg(long)]
        account: Uuid,
        /// The token's id (from `list`).
        #[arg(long)]
        id: Uuid,
    },
}

#[derive(Args)]
pub struct CreateArgs {
    /// Shop name.
    #[arg(long)]
    name: String,
    /// keyCRM API key to save (checked against keyCRM first).
    #[arg(long, env = "SKLAD_KEYCRM_API_KEY", hide_env_values = true)]
    keycrm_api_key: Option<String>,
    /// keyCRM API base URL (default: `keycrm.default_base_url`).
    #[arg(long)]
    keycrm_base_url: Option<String>,
    /// Switch the integration on (needs an API key).
    #[arg(long)]
    enable: bool,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

pub async fn run(settings: &Settings, command: AccountCommand) -> anyhow::Result<()> {
    let db = Db::new(&settings.database)?;
    let secrets = SecretBox::from_master_key(settings.security.master_key.as_ref())?;
    let mut conn = db.conn().await?;
    match command {
        AccountCommand::Create(args) => {
            anyhow::ensure!(
                !args.enable || args.keycrm_api_key.is_some(),
                "--enable needs --keycrm-api-key"
            );
            let base_url = args
                .keycrm_base_url
                .clone()
                .unwrap_or_else(|| settings.keycrm.default_base_url.clone());
            let defaults = IntegrationDefaults {
                base_url: base_url.clone(),
                requests_per_minute: i32::try_from(settings.keycrm.default_requests_per_minute)
                    .unwrap_or(i32::MAX),
            };
            let clients = Clients::new(&settings.keycrm, db.clone(), secrets.clone());
            if let Some(key) = &args.keycrm_api_key {
                // Refuse a key keyCRM rejects before anything is created.
                clients
                    .verify(
                        &base_url,
                        &SecretString::from(key.clone()),
                        defaults.requests_per_minute,
                    )
                    .await
                    .map_err(|e| anyhow::anyhow!("keyCRM did not accept the API key: {e}"))?;
            }
            let created =
                sklad_db::accounts::create(&mut conn, &secrets, &args.name, &defaults).await?;
            if let Some(key) = args.keycrm_api_key {
                let mut change = Map::new();
                change.insert("api_key".into(), Value::String(key));
                change.insert("enabled".into(), Value::Bool(args.enable));
                sklad_app::integration::update(
                    &clients,
                    created.account.id,
                    change,
                    &Expected::Any,
                )
                .await?;
            }
            print(
                args.format,
                &[
                    ("account_id", created.account.id.to_string()),
                    ("name", created.account.name),
                    ("admin_token", created.admin_token),
                    ("webhook_url", webhook_url(settings, &created.webhook_token)),
                ],
            );
            shown_once(args.format);
            Ok(())
        }
        AccountCommand::Token(TokenCommand::Create {
            account,
            label,
            expires_in_days,
            format,
        }) => {
            sklad_db::accounts::get(&mut conn, account).await?;
            let expires = expires_in_days.map(|d| chrono::Utc::now() + chrono::TimeDelta::days(d));
            let (info, token) =
                sklad_db::accounts::issue_admin_token(&mut conn, account, &label, expires).await?;
            print(
                format,
                &[
                    ("account_id", account.to_string()),
                    ("token_id", info.id.to_string()),
                    ("admin_token", token),
                    (
                        "expires_at",
                        info.expires_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                    ),
                ],
            );
            shown_once(format);
            Ok(())
        }
        AccountCommand::Token(TokenCommand::List { account }) => {
            let tokens = sklad_db::accounts::admin_tokens(&mut conn, account).await?;
            println!(
                "{:<36}  {:<24} {:<20} {:<20} {:<20} revoked",
                "id", "label", "created", "last used", "expires"
            );
            let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
                t.map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_else(|| "-".to_owned())
            };
            for t in tokens {
                println!(
                    "{:<36}  {:<24} {:<20} {:<20} {:<20} {}",
                    t.id,
                    t.label.chars().take(24).collect::<String>(),
                    when(Some(t.created_at)),
                    when(t.last_used_at),
                    when(t.expires_at),
                    when(t.revoked_at)
                );
            }
            Ok(())
        }
        AccountCommand::Token(TokenCommand::Revoke { account, id }) => {
            let revoked = sklad_db::accounts::revoke_admin_token(&mut conn, account, id).await?;
            println!("admin token {} revoked", revoked.id);
            Ok(())
        }
        AccountCommand::Show { account, format } => {
            let found = sklad_db::accounts::get(&mut conn, account).await?;
            let integration = sklad_db::integrations::get(&mut conn, account).await?;
            let token = sklad_db::webhook_tokens::current(&mut conn, &secrets, account).await?;
            let link = token.map(|t| webhook_url(settings, t.expose_secret()));
            print(
                format,
                &[
                    ("account_id", found.id.to_string()),
                    ("name", found.name),
                    ("webhook_url", link.unwrap_or_default()),
                    ("keycrm_enabled", integration.settings.enabled.to_string()),
                    ("keycrm_base_url", integration.settings.base_url),
                    ("api_key", integration.api_key_mask.unwrap_or_default()),
                ],
            );
            Ok(())
        }
    }
}

fn shown_once(format: Format) {
    if matches!(format, Format::Text) {
        println!("(the admin token is shown only now: only its hash is stored)");
    }
}

fn webhook_url(settings: &Settings, token: &str) -> String {
    format!(
        "{}/webhooks/keycrm/{token}",
        settings.ingress.public_url.trim_end_matches('/')
    )
}
