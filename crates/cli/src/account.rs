//! `sklad account ...`

use clap::{Args, Subcommand};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use sklad_db::accounts::IntegrationDefaults;
use sklad_db::integrations::{IntegrationChange, KeycrmCredentials};
use sklad_db::{Db, SecretBox};
use sklad_keycrm::{Budget, KeycrmClient, Priority, RetryPolicy};
use sklad_runtime::Settings;
use uuid::Uuid;

#[derive(Subcommand)]
pub enum AccountCommand {
    /// Create an account; prints its id, admin token and webhook link (shown only now).
    Create(CreateArgs),
    /// Issue another admin token for an account (shown only now).
    Token {
        /// Account id.
        #[arg(long)]
        account: Uuid,
        /// What the token is for.
        #[arg(long, default_value = "issued by sklad account token")]
        label: String,
        #[arg(long)]
        json: bool,
    },
    /// Show an account and its webhook link.
    Show {
        #[arg(long)]
        account: Uuid,
        #[arg(long)]
        json: bool,
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
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
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
            if let Some(key) = &args.keycrm_api_key {
                verify_key(settings, &db, &secrets, &base_url, key).await?;
            }
            let defaults = IntegrationDefaults {
                base_url: base_url.clone(),
                requests_per_minute: i32::try_from(settings.keycrm.default_requests_per_minute)
                    .unwrap_or(60),
            };
            let created =
                sklad_db::accounts::create(&mut conn, &secrets, &args.name, &defaults).await?;
            if let Some(key) = args.keycrm_api_key {
                sklad_db::integrations::update(
                    &mut conn,
                    &secrets,
                    created.account.id,
                    IntegrationChange {
                        api_key: Some(SecretString::from(key)),
                        enabled: Some(args.enable),
                        ..IntegrationChange::default()
                    },
                )
                .await?;
            }
            let webhook_url = webhook_url(settings, &created.webhook_token);
            if args.json {
                println!(
                    "{}",
                    json!({
                        "account_id": created.account.id,
                        "name": created.account.name,
                        "admin_token": created.admin_token,
                        "webhook_url": webhook_url,
                    })
                );
            } else {
                println!("account id:   {}", created.account.id);
                println!(
                    "admin token:  {}  (shown once; keep it)",
                    created.admin_token
                );
                println!("webhook link: {webhook_url}");
            }
            Ok(())
        }
        AccountCommand::Token {
            account,
            label,
            json,
        } => {
            sklad_db::accounts::get(&mut conn, account).await?;
            let token = sklad_db::accounts::issue_admin_token(&mut conn, account, &label).await?;
            if json {
                println!("{}", json!({"account_id": account, "admin_token": token}));
            } else {
                println!("admin token: {token}  (shown once; keep it)");
            }
            Ok(())
        }
        AccountCommand::Show { account, json } => {
            let found = sklad_db::accounts::get(&mut conn, account).await?;
            let integration = sklad_db::integrations::get(&mut conn, account).await?;
            let token = sklad_db::webhook_tokens::current(&mut conn, &secrets, account).await?;
            let link = token.map(|t| webhook_url(settings, t.expose_secret()));
            if json {
                println!(
                    "{}",
                    json!({
                        "account_id": found.id,
                        "name": found.name,
                        "webhook_url": link,
                        "keycrm_enabled": integration.enabled,
                        "keycrm_base_url": integration.base_url,
                        "api_key": integration.api_key_mask,
                    })
                );
            } else {
                println!("account id:   {}", found.id);
                println!("name:         {}", found.name);
                println!("webhook link: {}", link.unwrap_or_else(|| "-".into()));
                println!(
                    "keyCRM:       {} ({}, key {})",
                    if integration.enabled {
                        "enabled"
                    } else {
                        "disabled"
                    },
                    integration.base_url,
                    integration.api_key_mask.unwrap_or_else(|| "not set".into())
                );
            }
            Ok(())
        }
    }
}

fn webhook_url(settings: &Settings, token: &str) -> String {
    format!(
        "{}/webhooks/keycrm/{token}",
        settings.ingress.public_url.trim_end_matches('/')
    )
}

/// Asks keyCRM whether the key works before it is saved.
async fn verify_key(
    settings: &Settings,
    db: &Db,
    secrets: &SecretBox,
    base_url: &str,
    key: &str,
) -> anyhow::Result<()> {
    let credentials = KeycrmCredentials {
        base_url: base_url.to_owned(),
        api_key: SecretString::from(key.to_owned()),
        fingerprint: secrets.fingerprint(key),
        requests_per_minute: settings.keycrm.default_requests_per_minute,
    };
    let client = KeycrmClient::new(
        sklad_keycrm::http_client(&settings.keycrm),
        Budget::new(db.clone()),
        &credentials,
        RetryPolicy::interactive(),
    );
    client
        .order_statuses_page(1, 1, Priority::Normal)
        .await
        .map_err(|e| anyhow::anyhow!("keyCRM did not accept the API key: {e}"))?;
    Ok(())
}
