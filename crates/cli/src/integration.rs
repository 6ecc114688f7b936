//! `sklad integration show|set`: the keyCRM integration settings from the command line,
//! through the same operation as the API's `PUT /integrations/keycrm`.

use clap::Subcommand;
use serde_json::{Map, Value, json};
use sklad_app::versions::Expected;
use sklad_db::{Db, SecretBox};
use sklad_keycrm::Clients;
use sklad_runtime::Settings;
use uuid::Uuid;

#[derive(Subcommand)]
pub enum IntegrationCommand {
    /// Print the account's settings as JSON (the API key masked).
    Show {
        #[arg(long)]
        account: Uuid,
    },
    /// Change settings: `key=value` pairs, values as JSON where they parse
    /// (`enabled=true archive_status_ids=[5,6] api_key=…`); the rest stay as they are.
    Set {
        #[arg(long)]
        account: Uuid,
        #[arg(required = true, value_parser = parse_pair)]
        changes: Vec<(String, Value)>,
    },
}

fn parse_pair(text: &str) -> Result<(String, Value), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not key=value"))?;
    let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
    Ok((key.trim().to_owned(), value))
}

pub async fn run(settings: &Settings, command: IntegrationCommand) -> anyhow::Result<()> {
    let db = Db::new(&settings.database)?;
    let secrets = SecretBox::from_master_key(settings.security.master_key.as_ref())?;
    let integration = match command {
        IntegrationCommand::Show { account } => {
            let mut conn = db.conn().await?;
            sklad_db::integrations::get(&mut conn, account).await?
        }
        IntegrationCommand::Set { account, changes } => {
            let clients = Clients::new(&settings.keycrm, db.clone(), secrets);
            let change: Map<String, Value> = changes.into_iter().collect();
            // Made from the settings as they are now: a save by someone else while keyCRM
            // checks the key is refused, not overwritten.
            sklad_app::integration::update(&clients, account, change, &Expected::Any).await?
        }
    };
    let mut shown = serde_json::to_value(&integration.settings)?;
    if let Value::Object(map) = &mut shown {
        map.insert("api_key".into(), json!(integration.api_key_mask));
        map.insert("updated_at".into(), json!(integration.updated_at));
    }
    println!("{}", serde_json::to_string_pretty(&shown)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_json_where_they_parse() {
        assert_eq!(
            parse_pair("archive_status_ids=[5,6]").unwrap(),
            ("archive_status_ids".into(), json!([5, 6]))
        );
        assert_eq!(
            parse_pair("enabled=true").unwrap(),
            ("enabled".into(), json!(true))
        );
        assert_eq!(
            parse_pair("api_key=abc=def").unwrap(),
            ("api_key".into(), json!("abc=def"))
        );
        assert!(parse_pair("nothing").is_err());
    }
}
